//! Attributes read off the face's appearance on the quality canvas (the face aligned by its
//! five points, 144×144, see [`crate::quality`]): glasses, mask and photo-or-cartoon.
//!
//! No network obtainable from the package registries detects glasses, masks or cartoons, so
//! these are image statistics compared against the face's own skin, with thresholds fitted
//! on labelled LFW photos and controlled variants (`docs/ATTRIBUTES.md` gives the data, the
//! command and the accuracy):
//!
//! * **glasses** — a frame draws thin horizontal lines across the nose bridge and towards
//!   the ears, where bare skin has none: the strongest row of vertical gradient in four
//!   windows (bridge, above and below the eyes, temples), over the cheeks' texture, feeds a
//!   logistic regression fitted on labelled LFW photos. Dark lenses make the eye windows much
//!   darker than the forehead: the log brightness ratio is the sun-glasses evidence.
//! * **mask** — a mask replaces the lips and chin with one fabric: the lower face's colour
//!   (YCbCr chroma and brightness) moves far from the forehead's skin, and the lips' redness
//!   over the skin disappears.
//! * **face type** — a drawn face is made of flat colour areas: the share of canvas pixels in
//!   the face window whose Laplacian is (almost) zero is far above a photograph's, whose
//!   skin always has fine texture and noise.

use image::RgbImage;

use crate::engine::AnalysedFace;
use crate::geometry::{sample_rgb, BBox, Border};
use crate::quality::{canvas_transform, CANVAS_SIDE, INNER_FACE};

/// A canvas window: x1, y1, x2, y2 in canvas pixels.
const fn window(x1: f32, y1: f32, x2: f32, y2: f32) -> BBox {
    BBox { x1, y1, x2, y2 }
}

/// Between the inner eye corners, where a frame's bridge crosses.
const BRIDGE: BBox = window(66.0, 50.0, 78.0, 62.0);
/// Above each eye, below the brow, where a frame's upper rim runs.
const UPPER_RIMS: [BBox; 2] = [
    window(42.0, 49.0, 66.0, 57.0),
    window(78.0, 49.0, 102.0, 57.0),
];
/// Under each eye, where a frame's lower rim runs.
const RIMS: [BBox; 2] = [
    window(42.0, 66.0, 66.0, 73.0),
    window(78.0, 66.0, 102.0, 73.0),
];
/// Beside each eye towards the ear, where a frame's arm runs.
const TEMPLES: [BBox; 2] = [
    window(30.0, 54.0, 42.0, 66.0),
    window(102.0, 54.0, 114.0, 66.0),
];
/// The eyes and their surroundings, where lenses sit.
const EYES: [BBox; 2] = [
    window(42.0, 52.0, 66.0, 67.0),
    window(78.0, 52.0, 102.0, 67.0),
];
/// Upper cheeks below the rim: the face's own smooth skin.
const CHEEKS: [BBox; 2] = [
    window(42.0, 76.0, 58.0, 90.0),
    window(86.0, 76.0, 102.0, 90.0),
];
/// Glabella and lower forehead: skin a mask does not cover.
const FOREHEAD: BBox = window(60.0, 34.0, 84.0, 50.0);
/// Lips and chin: what a mask covers.
const LOWER_FACE: BBox = window(52.0, 96.0, 92.0, 122.0);
/// The lips alone.
const LIPS: BBox = window(58.0, 96.0, 86.0, 106.0);

/// Every window, for tools that draw them.
pub const WINDOWS: [BBox; 14] = [
    BRIDGE,
    UPPER_RIMS[0],
    UPPER_RIMS[1],
    RIMS[0],
    RIMS[1],
    TEMPLES[0],
    TEMPLES[1],
    EYES[0],
    EYES[1],
    CHEEKS[0],
    CHEEKS[1],
    FOREHEAD,
    LOWER_FACE,
    LIPS,
];

/// The numbers the three estimators decide on, kept for calibration tools.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppearanceFeatures {
    /// The strongest horizontal line (row mean of the vertical gradient, over the cheeks'
    /// mean gradient + 1) in the bridge, the upper rims, the lower rims and the temples:
    /// where a frame's lines run.
    pub frame_edges: [f32; 4],
    /// ln((Y_eyes + 10) / (Y_forehead + 10)) (the forehead, not the cheeks, so a mask does
    /// not make the eyes look dark).
    pub lens_darkness: f32,
    /// Chroma distance of the lower face from the forehead (Cb, Cr units).
    pub lower_chroma_shift: f32,
    /// |ln((Y_lower + 10) / (Y_forehead + 10))|.
    pub lower_brightness_shift: f32,
    /// Cr of the lips minus Cr of the forehead.
    pub lip_redness: f32,
    /// Share of face-window pixels with |Laplacian| < 0.5 grey levels.
    pub flat_share: f32,
}

/// Grey and chroma planes of the canvas.
struct Planes {
    y: Vec<f32>,
    cb: Vec<f32>,
    cr: Vec<f32>,
}

impl Planes {
    fn of(image: &RgbImage, face: &AnalysedFace) -> Option<Planes> {
        let to_canvas = canvas_transform(face)?;
        let rgb = sample_rgb(
            image,
            &to_canvas,
            CANVAS_SIDE,
            CANVAS_SIDE,
            Border::Replicate,
        );
        let mut planes = Planes {
            y: Vec::with_capacity(rgb.len() / 3),
            cb: Vec::with_capacity(rgb.len() / 3),
            cr: Vec::with_capacity(rgb.len() / 3),
        };
        for p in rgb.chunks_exact(3) {
            let (r, g, b) = (p[0], p[1], p[2]);
            planes.y.push(0.299 * r + 0.587 * g + 0.114 * b);
            planes
                .cb
                .push(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b);
            planes
                .cr
                .push(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b);
        }
        Some(planes)
    }

    /// Mean of `f(x, y)` over the interior pixels of a window (one pixel kept from the
    /// canvas edge so that neighbours exist).
    fn mean_over(windows: &[BBox], f: impl Fn(usize, usize) -> f32) -> f32 {
        let side = CANVAS_SIDE as usize;
        let (mut sum, mut n) = (0.0f32, 0usize);
        for w in windows {
            let clip = |v: f32| (v as usize).clamp(1, side - 2);
            for y in clip(w.y1)..clip(w.y2) {
                for x in clip(w.x1)..clip(w.x2) {
                    sum += f(x, y);
                    n += 1;
                }
            }
        }
        if n == 0 {
            0.0
        } else {
            sum / n as f32
        }
    }

    fn at(plane: &[f32], x: usize, y: usize) -> f32 {
        plane[y * CANVAS_SIDE as usize + x]
    }

    fn mean(&self, plane: &[f32], windows: &[BBox]) -> f32 {
        Self::mean_over(windows, |x, y| Self::at(plane, x, y))
    }

    /// How much one row of a window stands out in vertical gradient: the largest row mean of
    /// |∂Y/∂y| over the cheeks' mean gradient + 1. A frame is a thin horizontal line, so one
    /// row carries it; skin and soft shading spread over all rows.
    fn line_strength(&self, w: &BBox, reference: f32) -> f32 {
        let side = CANVAS_SIDE as usize;
        let clip = |v: f32| (v as usize).clamp(1, side - 2);
        let (x1, x2) = (clip(w.x1), clip(w.x2));
        let mut best = 0.0f32;
        for y in clip(w.y1)..clip(w.y2) {
            let row: f32 = (x1..x2)
                .map(|x| (Self::at(&self.y, x, y + 1) - Self::at(&self.y, x, y - 1)).abs() / 2.0)
                .sum::<f32>()
                / (x2 - x1).max(1) as f32;
            best = best.max(row);
        }
        best / (reference + 1.0)
    }

    fn gradient(&self, windows: &[BBox]) -> f32 {
        Self::mean_over(windows, |x, y| {
            let gx = (Self::at(&self.y, x + 1, y) - Self::at(&self.y, x - 1, y)) / 2.0;
            let gy = (Self::at(&self.y, x, y + 1) - Self::at(&self.y, x, y - 1)) / 2.0;
            gx.hypot(gy)
        })
    }

    fn flat_share(&self, windows: &[BBox]) -> f32 {
        Self::mean_over(windows, |x, y| {
            let laplacian = Self::at(&self.y, x + 1, y)
                + Self::at(&self.y, x - 1, y)
                + Self::at(&self.y, x, y + 1)
                + Self::at(&self.y, x, y - 1)
                - 4.0 * Self::at(&self.y, x, y);
            if laplacian.abs() < 0.5 {
                1.0
            } else {
                0.0
            }
        })
    }
}

/// The appearance features of a face; `None` when its points are degenerate.
pub fn appearance_features(image: &RgbImage, face: &AnalysedFace) -> Option<AppearanceFeatures> {
    let p = Planes::of(image, face)?;
    let cheek_texture = p.gradient(&CHEEKS);
    let edges = |windows: &[BBox]| {
        windows
            .iter()
            .map(|w| p.line_strength(w, cheek_texture))
            .sum::<f32>()
            / windows.len() as f32
    };
    let y_forehead = p.mean(&p.y, &[FOREHEAD]);
    let (cb_ref, cr_ref) = (p.mean(&p.cb, &[FOREHEAD]), p.mean(&p.cr, &[FOREHEAD]));
    let (cb_low, cr_low) = (p.mean(&p.cb, &[LOWER_FACE]), p.mean(&p.cr, &[LOWER_FACE]));
    Some(AppearanceFeatures {
        frame_edges: [
            edges(&[BRIDGE]),
            edges(&UPPER_RIMS),
            edges(&RIMS),
            edges(&TEMPLES),
        ],
        lens_darkness: ((p.mean(&p.y, &EYES) + 10.0) / (y_forehead + 10.0)).ln(),
        lower_chroma_shift: (cb_low - cb_ref).hypot(cr_low - cr_ref),
        lower_brightness_shift: ((p.mean(&p.y, &[LOWER_FACE]) + 10.0) / (y_forehead + 10.0))
            .ln()
            .abs(),
        lip_redness: p.mean(&p.cr, &[LIPS]) - cr_ref,
        flat_share: p.flat_share(&[INNER_FACE]),
    })
}

/// Lens darkness below which the glasses are sun-glasses (fitted on the labelled LFW photos).
pub const SUN_LENS_DARKNESS: f32 = -0.85;
/// The frame classifier: logistic regression over the four [`AppearanceFeatures::frame_edges`]
/// (weights, then the bias), fitted on the labelled LFW photos (`attributes_measure -- fit`).
pub const FRAME_WEIGHTS: ([f32; 4], f32) = ([1.2907, -0.9475, -1.1257, 1.6355], -0.4301);
/// Logistic width turning the lens margin into a probability.
const LENS_SCALE: f32 = 0.1;

/// Probability that the face wears a frame (common glasses or sun-glasses).
pub fn frame_probability(f: &AppearanceFeatures) -> f32 {
    let (w, b) = FRAME_WEIGHTS;
    logistic(w.iter().zip(f.frame_edges).map(|(w, x)| w * x).sum::<f32>() + b)
}

/// Baidu's glasses classes.
pub const GLASSES: [&str; 3] = ["none", "common", "sun"];

/// The glasses class (index into [`GLASSES`]) and its probability.
pub fn glasses(f: &AppearanceFeatures) -> (usize, f32) {
    let sun = logistic((SUN_LENS_DARKNESS - f.lens_darkness) / LENS_SCALE);
    let frame = frame_probability(f);
    if sun >= 0.5 {
        (2, sun)
    } else if frame >= 0.5 {
        (1, frame * (1.0 - sun))
    } else {
        (0, (1.0 - frame) * (1.0 - sun))
    }
}

/// Mask evidence at which the probability is 0.5 (fitted on LFW and synthetic masks).
pub const MASK_EVIDENCE_MID: f32 = 1.6;

/// Mask evidence: how far the lower face's colour and brightness moved from the forehead's,
/// and how little of the lips' redness is left, each against its spread on unmasked LFW
/// faces.
pub fn mask_evidence(f: &AppearanceFeatures) -> f32 {
    let chroma = f.lower_chroma_shift / 12.0;
    let brightness = f.lower_brightness_shift / 0.35;
    let no_lips = (4.0 - f.lip_redness).max(0.0) / 6.0;
    (chroma + brightness + no_lips) / 3.0
}

/// Probability that the face wears a mask.
pub fn mask_probability(f: &AppearanceFeatures) -> f32 {
    logistic((mask_evidence(f) - MASK_EVIDENCE_MID) / 0.15)
}

/// Flat share at which a face is as likely drawn as photographed.
pub const CARTOON_FLAT_SHARE: f32 = 0.2;

/// Probability that the face is a drawing (cartoon) rather than a photograph.
pub fn cartoon_probability(f: &AppearanceFeatures) -> f32 {
    logistic((f.flat_share - CARTOON_FLAT_SHARE) / 0.03)
}

fn logistic(x: f32) -> f32 {
    let v = 1.0 / (1.0 + (-x).exp());
    if v.is_finite() {
        v
    } else {
        0.5
    }
}
