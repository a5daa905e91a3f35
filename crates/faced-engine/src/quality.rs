//! Face quality: how well lit, how sharp, how complete and how occluded a detected face is
//! (Baidu's `quality` object), measured from the pixels and the 68 landmarks only.
//!
//! Nothing here runs unless asked: [`assess`] is a separate call after
//! [`crate::Engine::analyse`], so a request that wants no quality pays nothing for it. It
//! costs well under a millisecond per face (see `docs/ATTRIBUTES.md`).
//!
//! Every measure works on one **quality canvas**: the face warped by the least-squares
//! similarity of its five points onto the ArcFace template, shifted by (16, 8) inside a
//! 144×144 grid so that the forehead, the cheeks and the chin fit (the 112×112 embedding crop
//! cuts the chin). Border pixels are replicated, and a separate mask says which canvas pixels
//! come from inside the image.
//!
//! * **illumination** — mean grey level Y = 0.299 R + 0.587 G + 0.114 B over the inner face
//!   window of the canvas (eyebrows to chin, cheek to cheek), counting only pixels inside the
//!   image; 0–255.
//! * **blur** — the no-reference "blur effect" of Crete et al. (SPIE 6492, 2007), as in
//!   scikit-image's `blur_effect`, on the grey inner face window: the image is re-blurred with
//!   an 11-tap box filter along each axis, and the measure is the share of the neighbouring
//!   pixel differences that the re-blur does *not* remove (a blurred image has little left to
//!   lose); the worse axis counts. It is in [0, 1], 0 sharp, independent of contrast and
//!   brightness, and measured at a fixed face scale, so a small face blown up is as "fuzzy" as
//!   a defocused one. The raw value is remapped linearly by [`BLUR_SHARP`]…[`BLUR_BLURRED`]
//!   (measured on the LFW photos) so that sharp photos sit near 0.
//! * **completeness** — 1 when the face lies inside the image: the detector box did not have
//!   to be clipped at the border (a clipped box touches it), no landmark falls more than a
//!   small tolerance outside the picture, and neither does the average face outline (jaw,
//!   chin, eyebrows: [`CANONICAL_OUTLINE`]) placed by the face's own alignment, which catches
//!   a chin cut off below a box that shrank to what was visible; else 0.
//! * **occlusion** per region — an anomaly score against the appearance of unoccluded faces.
//!   Each region (the two eyes, the nose, the mouth, the two cheeks and the chin, placed from
//!   the landmarks on the canvas) is described by four numbers taken relative to the face
//!   itself, so that lighting, skin tone and sharpness cancel out: its brightness and its two
//!   chroma components against the face's skin reference (the median of five skin patches:
//!   both cheeks, the nose, the chin and the glabella, so one occluded patch cannot move it),
//!   and its texture (mean absolute Laplacian) against the median texture of the seven regions.
//!   [`REGION_STATS`] holds, per region and feature, the median and robust spread (1.4826 ×
//!   MAD) of these numbers over 600 unoccluded LFW faces; the score of a region is the RMS of
//!   its four z-scores, mapped to [0, 1] by a logistic curve ([`OCCLUSION_MID`],
//!   [`OCCLUSION_SCALE`]). A dark, grey, flat or strongly coloured patch moves brightness,
//!   chroma or texture far from normal; a patch that looks like the skin it covers (same
//!   colour, same smoothness, e.g. a skin-coloured occluder on a cheek) does not, and is not
//!   seen. Beards, dark glasses and hard shadows *are* scored as occlusion.
//!
//! Sides follow Baidu's convention: `left` is the **subject's** left, which is the image's
//! right in an unmirrored photo (iBUG points 42–47 are the subject's left eye).

use image::RgbImage;

use crate::embed::ARCFACE_TEMPLATE;
use crate::engine::AnalysedFace;
use crate::geometry::{sample_rgb, Affine, BBox, Border, Point};

/// Side of the square quality canvas.
pub const CANVAS_SIDE: u32 = 144;

/// Where the ArcFace template sits inside the canvas.
const CANVAS_SHIFT: Point = Point::new(16.0, 8.0);

/// The inner face window of the canvas (eyebrows to chin, cheek to cheek) in canvas pixels:
/// where illumination and blur are measured.
pub const INNER_FACE: BBox = BBox {
    x1: 32.0,
    y1: 36.0,
    x2: 112.0,
    y2: 124.0,
};

/// Raw blur effect of a sharp face: the low end of the linear remap (about the 5th
/// percentile of the LFW photos, measured with the `quality_measure` example).
pub const BLUR_SHARP: f32 = 0.30;

/// Raw blur effect that maps to 1 (an LFW face blurred with a Gaussian of σ ≈ 4 px).
pub const BLUR_BLURRED: f32 = 0.80;

/// RMS z-score at which a region's occlusion is 0.5.
pub const OCCLUSION_MID: f32 = 3.5;

/// Width of the logistic curve from RMS z-score to occlusion.
pub const OCCLUSION_SCALE: f32 = 0.6;

/// How far (as a fraction of the box size) a landmark may fall outside the image before the
/// face counts as incomplete.
pub const COMPLETENESS_TOLERANCE: f32 = 0.05;

/// Where the face's outline (jaw points 0, 4, 8, 12, 16 and eyebrow tops 19, 24) falls on
/// the quality canvas on average (600 LFW faces, `quality_measure -- stats`). Mapped back
/// through a face's alignment it says where its chin and jaw should be even when the
/// detector and the landmarks only saw the part inside the picture.
pub const CANONICAL_OUTLINE: [Point; 7] = [
    Point::new(30.3, 61.0),
    Point::new(38.0, 103.9),
    Point::new(72.3, 127.4),
    Point::new(106.4, 103.4),
    Point::new(113.4, 60.4),
    Point::new(51.1, 47.3),
    Point::new(92.5, 47.2),
];

/// A part of the face whose occlusion Baidu reports, in the order of its `occlusion` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// The subject's left eye (image right in an unmirrored photo).
    LeftEye,
    /// The subject's right eye (image left).
    RightEye,
    /// The nose, bridge to nostrils.
    Nose,
    /// The lips.
    Mouth,
    /// The subject's left cheek (image right).
    LeftCheek,
    /// The subject's right cheek (image left).
    RightCheek,
    /// The chin below the lower lip.
    ChinContour,
}

impl Region {
    /// All regions in Baidu's key order.
    pub const ALL: [Region; 7] = [
        Region::LeftEye,
        Region::RightEye,
        Region::Nose,
        Region::Mouth,
        Region::LeftCheek,
        Region::RightCheek,
        Region::ChinContour,
    ];

    /// Baidu's key for the region in `quality.occlusion`.
    pub fn key(self) -> &'static str {
        match self {
            Region::LeftEye => "left_eye",
            Region::RightEye => "right_eye",
            Region::Nose => "nose",
            Region::Mouth => "mouth",
            Region::LeftCheek => "left_cheek",
            Region::RightCheek => "right_cheek",
            Region::ChinContour => "chin_contour",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Occlusion of each region in [0, 1] (1 = fully occluded), indexed like [`Region::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Occlusion(pub [f32; 7]);

impl Occlusion {
    /// The value of one region.
    pub fn get(&self, region: Region) -> f32 {
        self.0[region.index()]
    }
}

/// Baidu's `quality` of one face.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quality {
    /// Per-region occlusion in [0, 1].
    pub occlusion: Occlusion,
    /// 0 sharp … 1 very blurred.
    pub blur: f32,
    /// Mean grey level of the face, 0–255.
    pub illumination: f32,
    /// True when the whole face lies inside the image.
    pub complete: bool,
}

/// The four appearance numbers of one region, relative to the face itself (see the module
/// documentation); public so the calibration example can learn [`REGION_STATS`] from them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RegionFeatures {
    /// ln((Y + 10) / (Y_skin + 10)): brightness against the skin reference.
    pub luma: f32,
    /// Cb − Cb_skin (0–255 scale).
    pub cb: f32,
    /// Cr − Cr_skin (0–255 scale).
    pub cr: f32,
    /// ln((T + 1) / (T_median + 1)), T the mean absolute Laplacian of Y in the region.
    pub texture: f32,
}

impl RegionFeatures {
    /// As an array, in the order of [`REGION_STATS`]' columns.
    pub fn to_array(self) -> [f32; 4] {
        [self.luma, self.cb, self.cr, self.texture]
    }
}

/// Per region (order of [`Region::ALL`]) and feature (order of [`RegionFeatures::to_array`]):
/// the median and the robust spread over unoccluded faces. Measured with
/// `cargo run -p faced-engine --example quality_measure -- stats` on 600 LFW photos (every
/// fourth row of `faces/labels.csv`); see `docs/ATTRIBUTES.md`.
pub const REGION_STATS: [[(f32, f32); 4]; 7] = [
    [
        (-0.283, 0.162),
        (4.789, 3.796),
        (-6.106, 4.190),
        (0.433, 0.273),
    ], // left_eye
    [
        (-0.284, 0.174),
        (4.420, 3.964),
        (-6.112, 3.682),
        (0.446, 0.251),
    ], // right_eye
    [
        (0.000, 0.057),
        (0.053, 1.081),
        (0.015, 1.238),
        (0.000, 0.000),
    ], // nose
    [
        (-0.153, 0.103),
        (3.282, 2.777),
        (-0.241, 3.273),
        (0.245, 0.220),
    ], // mouth
    [
        (0.000, 0.067),
        (-0.350, 1.258),
        (0.000, 1.419),
        (-0.410, 0.248),
    ], // left_cheek
    [
        (0.000, 0.077),
        (-0.047, 1.627),
        (0.000, 1.364),
        (-0.419, 0.276),
    ], // right_cheek
    [
        (0.000, 0.075),
        (1.449, 2.148),
        (-0.648, 2.550),
        (-0.464, 0.292),
    ], // chin_contour
];

/// Smallest spread used per feature: the skin patches *are* the reference, so some medians
/// and spreads come out as exactly 0 (the nose is usually the median texture); a floor keeps
/// ordinary variation from counting as many standard deviations.
pub const SPREAD_FLOOR: [f32; 4] = [0.05, 1.5, 1.5, 0.15];

/// The quality of one analysed face of `image`.
pub fn assess(image: &RgbImage, face: &AnalysedFace) -> Quality {
    let complete = is_complete(image, face);
    let Some(canvas) = Canvas::of(image, face) else {
        // Degenerate landmarks: nothing can be measured, so report the worst.
        return Quality {
            occlusion: Occlusion([1.0; 7]),
            blur: 1.0,
            illumination: 0.0,
            complete,
        };
    };
    let occlusion = match canvas.region_features() {
        Some(features) => Occlusion(std::array::from_fn(|i| {
            occlusion_score(&features[i], &REGION_STATS[i])
        })),
        None => Occlusion([1.0; 7]),
    };
    // Non-finite values (degenerate points) report the worst, never NaN.
    let finite_or = |v: f32, worst: f32| if v.is_finite() { v } else { worst };
    Quality {
        occlusion,
        blur: finite_or(canvas.blur(), 1.0),
        illumination: finite_or(canvas.illumination(), 0.0),
        complete,
    }
}

/// The raw appearance numbers of the seven regions (for calibration tools); `None` when the
/// landmarks are degenerate.
pub fn region_features(image: &RgbImage, face: &AnalysedFace) -> Option<[RegionFeatures; 7]> {
    Canvas::of(image, face)?.region_features()
}

/// The raw blur effect (before the remap) of a face (for calibration tools).
pub fn raw_blur_effect(image: &RgbImage, face: &AnalysedFace) -> Option<f32> {
    Some(Canvas::of(image, face)?.raw_blur())
}

/// Where each region lies in the image: the bounding box of its canvas rectangle mapped back
/// through the alignment (for tools and tests that paint occluders over one region).
pub fn region_boxes(image: &RgbImage, face: &AnalysedFace) -> Option<[BBox; 7]> {
    let canvas = Canvas::of(image, face)?;
    let back = canvas.to_canvas.inverse()?;
    let rects = canvas.regions();
    Some(std::array::from_fn(|i| {
        let r = rects[i];
        let corners = [
            back.apply(Point::new(r.x1, r.y1)),
            back.apply(Point::new(r.x2, r.y1)),
            back.apply(Point::new(r.x1, r.y2)),
            back.apply(Point::new(r.x2, r.y2)),
        ];
        BBox {
            x1: corners.iter().map(|p| p.x).fold(f32::MAX, f32::min),
            y1: corners.iter().map(|p| p.y).fold(f32::MAX, f32::min),
            x2: corners.iter().map(|p| p.x).fold(f32::MIN, f32::max),
            y2: corners.iter().map(|p| p.y).fold(f32::MIN, f32::max),
        }
    }))
}

/// RMS z-score of the region's features against the unoccluded statistics, through the
/// logistic curve.
fn occlusion_score(features: &RegionFeatures, stats: &[(f32, f32); 4]) -> f32 {
    let values = features.to_array();
    let sum: f32 = values
        .iter()
        .zip(stats)
        .zip(SPREAD_FLOOR)
        .map(|((v, (median, spread)), floor)| ((v - median) / spread.max(floor)).powi(2))
        .sum();
    let rms = (sum / values.len() as f32).sqrt();
    let score = 1.0 / (1.0 + (-(rms - OCCLUSION_MID) / OCCLUSION_SCALE).exp());
    if score.is_finite() {
        score.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// True when the box was not clipped by the image border, and every landmark and every point
/// of the [`CANONICAL_OUTLINE`] mapped through the alignment lies inside the image (with
/// [`COMPLETENESS_TOLERANCE`]).
fn is_complete(image: &RgbImage, face: &AnalysedFace) -> bool {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let b = face.detection.bbox;
    // The detector's boxes are clamped to the image: one that reaches the border was cut.
    let edge = 0.5;
    if b.x1 <= edge || b.y1 <= edge || b.x2 >= w - edge || b.y2 >= h - edge {
        return false;
    }
    let tol = COMPLETENESS_TOLERANCE * b.width().max(b.height());
    let inside = |p: &Point| p.x >= -tol && p.y >= -tol && p.x <= w + tol && p.y <= h + tol;
    let Some(back) = canvas_transform(face).and_then(|t| t.inverse()) else {
        return false;
    };
    face.landmarks.0.iter().all(inside) && CANONICAL_OUTLINE.iter().all(|p| inside(&back.apply(*p)))
}

/// The face on the quality canvas: RGB and grey planes, the validity mask and the landmarks
/// in canvas pixels.
struct Canvas {
    to_canvas: Affine,
    rgb: Vec<f32>,
    luma: Vec<f32>,
    inside: Vec<bool>,
    points: Vec<Point>,
}

/// The alignment of a face onto the quality canvas (image → canvas pixels); `None` for
/// degenerate points. Public for the calibration example.
pub fn canvas_transform(face: &AnalysedFace) -> Option<Affine> {
    let template: Vec<Point> = ARCFACE_TEMPLATE
        .iter()
        .map(|p| Point::new(p.x + CANVAS_SHIFT.x, p.y + CANVAS_SHIFT.y))
        .collect();
    Affine::similarity(&face.five.0, &template)
}

impl Canvas {
    fn of(image: &RgbImage, face: &AnalysedFace) -> Option<Canvas> {
        if face.landmarks.0.len() < 68 || image.width() == 0 || image.height() == 0 {
            return None;
        }
        let to_canvas = canvas_transform(face)?;
        let back = to_canvas.inverse()?;
        let side = CANVAS_SIDE;
        let rgb = sample_rgb(image, &to_canvas, side, side, Border::Replicate);
        let luma = rgb
            .chunks_exact(3)
            .map(|p| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])
            .collect();
        let (w, h) = (image.width() as f32, image.height() as f32);
        let inside = (0..side * side)
            .map(|i| {
                let c = Point::new((i % side) as f32 + 0.5, (i / side) as f32 + 0.5);
                let p = back.apply(c);
                p.x >= 0.0 && p.y >= 0.0 && p.x < w && p.y < h
            })
            .collect();
        let points = face
            .landmarks
            .0
            .iter()
            .map(|p| to_canvas.apply(*p))
            .collect();
        Some(Canvas {
            to_canvas,
            rgb,
            luma,
            inside,
            points,
        })
    }

    /// Integer pixel bounds of a canvas rectangle, clipped to the canvas.
    fn bounds(r: &BBox) -> (usize, usize, usize, usize) {
        let side = CANVAS_SIDE as f32;
        let clip = |v: f32| v.clamp(0.0, side) as usize;
        (clip(r.x1), clip(r.y1), clip(r.x2), clip(r.y2))
    }

    fn illumination(&self) -> f32 {
        let (x1, y1, x2, y2) = Self::bounds(&INNER_FACE);
        let side = CANVAS_SIDE as usize;
        let (mut sum, mut n) = (0.0f64, 0usize);
        for y in y1..y2 {
            for x in x1..x2 {
                let i = y * side + x;
                if self.inside[i] {
                    sum += f64::from(self.luma[i]);
                    n += 1;
                }
            }
        }
        if n == 0 {
            0.0
        } else {
            (sum / n as f64) as f32
        }
    }

    fn blur(&self) -> f32 {
        let raw = self.raw_blur();
        ((raw - BLUR_SHARP) / (BLUR_BLURRED - BLUR_SHARP)).clamp(0.0, 1.0)
    }

    /// Crete et al.'s blur effect over the inner face window (the larger of the two axes).
    fn raw_blur(&self) -> f32 {
        const TAPS: usize = 11;
        let (x1, y1, x2, y2) = Self::bounds(&INNER_FACE);
        let (w, h) = (x2 - x1, y2 - y1);
        if w <= TAPS || h <= TAPS {
            return 1.0;
        }
        let side = CANVAS_SIDE as usize;
        let window: Vec<f32> = (y1..y2)
            .flat_map(|y| (x1..x2).map(move |x| (y, x)))
            .map(|(y, x)| self.luma[y * side + x])
            .collect();
        let at = |v: &[f32], x: usize, y: usize| v[y * w + x];
        let mut worst = 0.0f32;
        for horizontal in [true, false] {
            // Box re-blur along the axis (edges replicated).
            let mut blurred = vec![0f32; w * h];
            let half = (TAPS / 2) as isize;
            for y in 0..h {
                for x in 0..w {
                    let mut sum = 0.0;
                    for k in -half..=half {
                        let (xx, yy) = if horizontal {
                            ((x as isize + k).clamp(0, w as isize - 1) as usize, y)
                        } else {
                            (x, (y as isize + k).clamp(0, h as isize - 1) as usize)
                        };
                        sum += at(&window, xx, yy);
                    }
                    blurred[y * w + x] = sum / TAPS as f32;
                }
            }
            // Neighbour differences away from the window's edges.
            let (mut total, mut kept) = (0.0f64, 0.0f64);
            let m = TAPS / 2;
            for y in m..h - m {
                for x in m..w - m {
                    let (d_img, d_blur) = if horizontal {
                        (
                            (at(&window, x, y) - at(&window, x - 1, y)).abs(),
                            (at(&blurred, x, y) - at(&blurred, x - 1, y)).abs(),
                        )
                    } else {
                        (
                            (at(&window, x, y) - at(&window, x, y - 1)).abs(),
                            (at(&blurred, x, y) - at(&blurred, x, y - 1)).abs(),
                        )
                    };
                    total += f64::from(d_img);
                    kept += f64::from((d_img - d_blur).max(0.0));
                }
            }
            let effect = if total <= 0.0 {
                1.0
            } else {
                ((total - kept) / total) as f32
            };
            worst = worst.max(effect);
        }
        worst
    }

    /// The seven region rectangles on the canvas, in [`Region::ALL`] order.
    fn regions(&self) -> [BBox; 7] {
        let p = &self.points;
        let bbox_of = |idx: std::ops::RangeInclusive<usize>| {
            let pts: Vec<Point> = idx.map(|i| p[i]).collect();
            BBox {
                x1: pts.iter().map(|q| q.x).fold(f32::MAX, f32::min),
                y1: pts.iter().map(|q| q.y).fold(f32::MAX, f32::min),
                x2: pts.iter().map(|q| q.x).fold(f32::MIN, f32::max),
                y2: pts.iter().map(|q| q.y).fold(f32::MIN, f32::max),
            }
        };
        let eye = |idx| {
            let b: BBox = bbox_of(idx);
            let c = b.centre();
            let w = b.width().max(6.0);
            BBox {
                x1: c.x - 0.65 * w,
                y1: c.y - 0.45 * w,
                x2: c.x + 0.65 * w,
                y2: c.y + 0.45 * w,
            }
        };
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let mouth = {
            let b = bbox_of(48..=59);
            let (pw, ph) = (0.12 * b.width(), 0.15 * b.height().max(4.0));
            BBox {
                x1: b.x1 - pw,
                y1: b.y1 - ph,
                x2: b.x2 + pw,
                y2: b.y2 + ph,
            }
        };
        let nose = BBox {
            x1: p[31].x - 2.0,
            y1: lerp(p[27].y, p[28].y, 0.5),
            x2: p[35].x + 2.0,
            y2: p[33].y + 2.0,
        };
        // Subject's right cheek: image left, between the jaw and the nose/mouth corner.
        let right_cheek = BBox {
            x1: lerp(p[2].x, p[31].x, 0.2),
            y1: p[40].y.max(p[41].y) + 4.0,
            x2: lerp(p[2].x, p[31].x, 0.85),
            y2: p[48].y,
        };
        let left_cheek = BBox {
            x1: lerp(p[14].x, p[35].x, 0.85),
            y1: p[46].y.max(p[47].y) + 4.0,
            x2: lerp(p[14].x, p[35].x, 0.2),
            y2: p[54].y,
        };
        // The chin is placed by the alignment alone (the average chin of the canvas, from
        // [`CANONICAL_OUTLINE`]), not by the lip and jaw points: those follow whatever covers
        // the mouth, and an occluded mouth would then spill into the chin.
        let chin_tip = CANONICAL_OUTLINE[2];
        let chin = BBox {
            x1: chin_tip.x - 12.0,
            y1: chin_tip.y - 14.0,
            x2: chin_tip.x + 12.0,
            y2: chin_tip.y - 2.0,
        };
        [
            eye(42..=47),
            eye(36..=41),
            nose,
            mouth,
            left_cheek,
            right_cheek,
            chin,
        ]
    }

    /// Mean Y, Cb, Cr and mean absolute Laplacian of Y over a rectangle; `None` when empty.
    fn stats(&self, r: &BBox) -> Option<[f32; 4]> {
        let (x1, y1, x2, y2) = Self::bounds(r);
        let side = CANVAS_SIDE as usize;
        let (x1, y1) = (x1.max(1), y1.max(1));
        let (x2, y2) = (x2.min(side - 1), y2.min(side - 1));
        if x2 <= x1 || y2 <= y1 {
            return None;
        }
        let (mut sy, mut scb, mut scr, mut st) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for y in y1..y2 {
            for x in x1..x2 {
                let i = y * side + x;
                let (r, g, b) = (self.rgb[3 * i], self.rgb[3 * i + 1], self.rgb[3 * i + 2]);
                let luma = self.luma[i];
                sy += f64::from(luma);
                scb += f64::from(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b);
                scr += f64::from(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b);
                let lap = 4.0 * luma
                    - self.luma[i - 1]
                    - self.luma[i + 1]
                    - self.luma[i - side]
                    - self.luma[i + side];
                st += f64::from(lap.abs());
            }
        }
        let n = ((x2 - x1) * (y2 - y1)) as f64;
        Some([
            (sy / n) as f32,
            (scb / n) as f32,
            (scr / n) as f32,
            (st / n) as f32,
        ])
    }

    fn region_features(&self) -> Option<[RegionFeatures; 7]> {
        let rects = self.regions();
        let mut stats = [[0f32; 4]; 7];
        for (s, r) in stats.iter_mut().zip(&rects) {
            *s = self.stats(r)?;
        }
        let p = &self.points;
        let glabella = BBox {
            x1: p[21].x,
            y1: p[21].y.min(p[22].y),
            x2: p[22].x,
            y2: p[27].y,
        };
        let glabella = self.stats(&glabella);
        // Skin reference: per channel, the median of the skin patches.
        let mut skin_patches: Vec<[f32; 4]> = [
            Region::LeftCheek,
            Region::RightCheek,
            Region::Nose,
            Region::ChinContour,
        ]
        .iter()
        .map(|r| stats[r.index()])
        .collect();
        skin_patches.extend(glabella);
        let skin: [f32; 3] = std::array::from_fn(|c| {
            median(&mut skin_patches.iter().map(|s| s[c]).collect::<Vec<_>>())
        });
        let texture_median = median(&mut stats.iter().map(|s| s[3]).collect::<Vec<_>>());
        Some(std::array::from_fn(|i| {
            let s = stats[i];
            RegionFeatures {
                luma: ((s[0] + 10.0) / (skin[0] + 10.0)).ln(),
                cb: s[1] - skin[1],
                cr: s[2] - skin[2],
                texture: ((s[3] + 1.0) / (texture_median + 1.0)).ln(),
            }
        }))
    }
}

/// Median of a small slice (reorders it); 0 when empty.
fn median(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Detection;
    use crate::landmarks::{FivePoints, HeadPose, Landmarks68};

    fn face(points: Vec<Point>, five: [Point; 5]) -> AnalysedFace {
        AnalysedFace {
            detection: Detection {
                bbox: BBox {
                    x1: 10.0,
                    y1: 10.0,
                    x2: 50.0,
                    y2: 50.0,
                },
                score: 0.9,
            },
            landmarks: Landmarks68(points),
            five: FivePoints(five),
            pose: HeadPose::default(),
            mesh: None,
        }
    }

    #[test]
    fn degenerate_faces_report_the_worst_without_panicking() {
        let image = RgbImage::new(64, 64);
        let collapsed = face(vec![Point::default(); 68], [Point::default(); 5]);
        let q = assess(&image, &collapsed);
        assert_eq!(q.blur, 1.0);
        assert_eq!(q.occlusion.0, [1.0; 7]);
        let short = face(vec![Point::new(30.0, 30.0); 3], ARCFACE_TEMPLATE);
        assert_eq!(assess(&image, &short).occlusion.0, [1.0; 7]);
        let nan = face(
            vec![Point::new(f32::NAN, 1.0); 68],
            [Point::new(f32::NAN, 1.0); 5],
        );
        let q = assess(&image, &nan);
        assert!(q.blur.is_finite() && q.illumination.is_finite() && !q.complete);
        assert!(q.occlusion.0.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn a_flat_image_is_dark_and_blurred() {
        let image = RgbImage::from_pixel(120, 120, image::Rgb([30, 30, 30]));
        let five: [Point; 5] = ARCFACE_TEMPLATE;
        let mut points = vec![Point::new(56.0, 70.0); 68];
        for (i, p) in points.iter_mut().enumerate() {
            p.x += (i % 17) as f32 * 2.0 - 16.0;
            p.y += (i / 17) as f32 * 8.0 - 12.0;
        }
        let q = assess(&image, &face(points, five));
        assert!((q.illumination - 30.0).abs() < 0.5, "{}", q.illumination);
        assert_eq!(q.blur, 1.0, "no variation at all reads as fully blurred");
    }
}
