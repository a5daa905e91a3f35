//! Controlled variants of real photos for the quality measures: Gaussian blur, darkening,
//! synthetic occluders over one face region, and crops that cut the face. Shared by the
//! engine's quality tests and the `quality_measure` example (included with `#[path]`).

#![allow(dead_code)]

use faced_engine::geometry::BBox;
use image::{imageops, Rgb, RgbImage};

/// The kinds of synthetic occluder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occluder {
    /// Flat near-black (sunglasses, a black card).
    Black,
    /// Flat mid-grey (a sticker, a grey card).
    Grey,
    /// Flat, in the face's own mean skin colour (the hard case).
    Skin,
    /// A hand-like patch: a warm skin tone different from the face's, with finger grooves,
    /// shading and fine texture.
    Hand,
}

impl Occluder {
    /// Every kind.
    pub const ALL: [Occluder; 4] = [
        Occluder::Black,
        Occluder::Grey,
        Occluder::Skin,
        Occluder::Hand,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Occluder::Black => "black",
            Occluder::Grey => "grey",
            Occluder::Skin => "skin",
            Occluder::Hand => "hand",
        }
    }
}

/// The image blurred by a Gaussian of standard deviation `sigma` pixels.
pub fn blurred(image: &RgbImage, sigma: f32) -> RgbImage {
    if sigma <= 0.0 {
        return image.clone();
    }
    imageops::blur(image, sigma)
}

/// Every channel scaled by `factor` (0 < factor ≤ 1 darkens) after a gamma of `gamma`.
pub fn darkened(image: &RgbImage, factor: f32, gamma: f32) -> RgbImage {
    let mut out = image.clone();
    for p in out.pixels_mut() {
        for c in p.0.iter_mut() {
            let v = (f32::from(*c) / 255.0).powf(gamma) * factor * 255.0;
            *c = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Mean colour of a box of the image.
pub fn mean_colour(image: &RgbImage, b: &BBox) -> [f32; 3] {
    let (x1, y1) = (b.x1.max(0.0) as u32, b.y1.max(0.0) as u32);
    let (x2, y2) = (
        (b.x2.max(0.0) as u32).min(image.width()),
        (b.y2.max(0.0) as u32).min(image.height()),
    );
    let mut sum = [0f64; 3];
    let mut n = 0f64;
    for y in y1..y2 {
        for x in x1..x2 {
            let p = image.get_pixel(x, y);
            for c in 0..3 {
                sum[c] += f64::from(p[c]);
            }
            n += 1.0;
        }
    }
    let n = n.max(1.0);
    [
        (sum[0] / n) as f32,
        (sum[1] / n) as f32,
        (sum[2] / n) as f32,
    ]
}

/// The box grown by `margin` of its size on each side.
pub fn grown(b: &BBox, margin: f32) -> BBox {
    let (mw, mh) = (b.width() * margin, b.height() * margin);
    BBox {
        x1: b.x1 - mw,
        y1: b.y1 - mh,
        x2: b.x2 + mw,
        y2: b.y2 + mh,
    }
}

/// A small deterministic hash noise in [-1, 1] for pixel (x, y).
fn noise(x: u32, y: u32) -> f32 {
    let mut h = x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263);
    h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    ((h ^ (h >> 16)) & 0xffff) as f32 / 32_767.5 - 1.0
}

/// The image with an occluder of `kind` painted over `area`; `skin` is the face's mean skin
/// colour (for [`Occluder::Skin`]).
pub fn occluded(image: &RgbImage, area: &BBox, kind: Occluder, skin: [f32; 3]) -> RgbImage {
    let mut out = image.clone();
    let (x1, y1) = (area.x1.max(0.0) as u32, area.y1.max(0.0) as u32);
    let (x2, y2) = (
        (area.x2.ceil().max(0.0) as u32).min(image.width()),
        (area.y2.ceil().max(0.0) as u32).min(image.height()),
    );
    let (w, h) = ((x2 - x1).max(1) as f32, (y2 - y1).max(1) as f32);
    for y in y1..y2 {
        for x in x1..x2 {
            let colour = match kind {
                Occluder::Black => [12.0, 12.0, 12.0],
                Occluder::Grey => [128.0, 128.0, 128.0],
                Occluder::Skin => skin,
                Occluder::Hand => {
                    let (u, v) = ((x - x1) as f32 / w, (y - y1) as f32 / h);
                    // Four fingers across the patch: dark grooves between them, rounded
                    // shading across each finger, light from the top, fine skin texture.
                    let finger = (u * 4.0).fract();
                    let across = 0.75 + 0.25 * (std::f32::consts::PI * finger).sin();
                    let shade = across * (1.0 - 0.2 * v) + 0.04 * noise(x, y);
                    let base = [214.0, 160.0, 128.0];
                    [base[0] * shade, base[1] * shade, base[2] * shade]
                }
            };
            out.put_pixel(
                x,
                y,
                Rgb(colour.map(|c: f32| c.round().clamp(0.0, 255.0) as u8)),
            );
        }
    }
    out
}

/// The image cropped so that a fraction `cut` of the face box's width is cut off on the
/// right side (the rest of the picture kept).
pub fn cut_right(image: &RgbImage, face: &BBox, cut: f32) -> RgbImage {
    let keep = (face.x2 - cut * face.width()).clamp(1.0, image.width() as f32) as u32;
    imageops::crop_imm(image, 0, 0, keep, image.height()).to_image()
}

/// The image cropped so that a fraction `cut` of the face box's height is cut off at the
/// bottom.
pub fn cut_bottom(image: &RgbImage, face: &BBox, cut: f32) -> RgbImage {
    let keep = (face.y2 - cut * face.height()).clamp(1.0, image.height() as f32) as u32;
    imageops::crop_imm(image, 0, 0, image.width(), keep).to_image()
}

/// The image with a flat-coloured polygon painted over it (even-odd rule): a synthetic mask
/// when `polygon` runs along the lower face outline and across the nose.
pub fn painted_polygon(image: &RgbImage, polygon: &[(f32, f32)], colour: [u8; 3]) -> RgbImage {
    let mut out = image.clone();
    if polygon.len() < 3 {
        return out;
    }
    let (y_min, y_max) = polygon.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let rows = (y_min.max(0.0) as u32)..(y_max.ceil().max(0.0) as u32).min(image.height());
    for y in rows {
        let yc = y as f32 + 0.5;
        let mut crossings: Vec<f32> = Vec::new();
        for (i, a) in polygon.iter().enumerate() {
            let b = polygon[(i + 1) % polygon.len()];
            if (a.1 <= yc) != (b.1 <= yc) {
                crossings.push(a.0 + (yc - a.1) / (b.1 - a.1) * (b.0 - a.0));
            }
        }
        crossings.sort_by(f32::total_cmp);
        for pair in crossings.chunks_exact(2) {
            let from = pair[0].max(0.0) as u32;
            let to = (pair[1].ceil().max(0.0) as u32).min(image.width());
            for x in from..to {
                // Fabric: a faint weave so the mask is not perfectly flat.
                let weave = (6.0 * noise(x, y)) as i16;
                out.put_pixel(
                    x,
                    y,
                    Rgb(colour.map(|c| (i16::from(c) + weave).clamp(0, 255) as u8)),
                );
            }
        }
    }
    out
}

/// Each channel replaced by its median over the (2 `radius` + 1)² window around the pixel
/// (edges replicated): flattens texture, keeps edges.
fn median_filtered(image: &RgbImage, radius: i64) -> RgbImage {
    let (w, h) = image.dimensions();
    let side = (2 * radius + 1) as usize;
    let mut out = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let px = std::array::from_fn(|c| {
                let mut window = Vec::with_capacity(side * side);
                for dy in -radius..=radius {
                    for dx in -radius..=radius {
                        let sx = (x as i64 + dx).clamp(0, w as i64 - 1) as u32;
                        let sy = (y as i64 + dy).clamp(0, h as i64 - 1) as u32;
                        window.push(image.get_pixel(sx, sy).0[c]);
                    }
                }
                window.sort_unstable();
                window[window.len() / 2]
            });
            out.put_pixel(x, y, Rgb(px));
        }
    }
    out
}

/// A drawing-like version of a photo: a 5×5 median filter per channel (flattens texture),
/// then each channel posterised to 4 levels (flat colour areas with hard edges), as a cartoon
/// filter does.
pub fn cartoonised(image: &RgbImage) -> RgbImage {
    let mut out = median_filtered(image, 2);
    for p in out.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (*c / 64) * 64 + 32;
        }
    }
    out
}

/// The photo as a camera sees it shown on a screen: each pixel becomes a 3×3 cell of
/// red, green and blue sub-pixel stripes with dark gaps, the whole 3× larger, then
/// scaled back by `1 / 3` with a slight blur: the sub-pixel grid leaves a fine
/// colour moiré, and contrast drops as a screen's does.
pub fn screen_replay(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let mut big = RgbImage::new(w * 3, h * 3);
    for y in 0..h * 3 {
        for x in 0..w * 3 {
            let p = image.get_pixel(x / 3, y / 3).0;
            let stripe = (x % 3) as usize;
            let gap = if y % 3 == 2 { 0.55 } else { 1.0 };
            let mut out = [0u8; 3];
            out[stripe] = (f32::from(p[stripe]) * gap * 0.9 + 20.0).min(255.0) as u8;
            big.put_pixel(x, y, Rgb(out));
        }
    }
    let small = imageops::resize(&big, w * 3 / 2, h * 3 / 2, imageops::FilterType::Triangle);
    imageops::resize(&small, w, h, imageops::FilterType::Triangle)
}

/// An edited photo: the central square of `donor` (its face, for an LFW photo) pasted over
/// the same place of `image` with hard edges, as a crude face swap does.
pub fn face_swapped(image: &RgbImage, donor: &RgbImage) -> RgbImage {
    let mut out = image.clone();
    let (w, h) = image.dimensions();
    let (x1, y1, x2, y2) = (w * 3 / 10, h * 3 / 10, w * 7 / 10, h * 3 / 4);
    for y in y1..y2.min(donor.height()) {
        for x in x1..x2.min(donor.width()) {
            out.put_pixel(x, y, *donor.get_pixel(x, y));
        }
    }
    out
}

/// A beautified photo: skin smoothed by a 7×7 median filter over the whole picture, as
/// retouching apps do.
pub fn smoothed(image: &RgbImage) -> RgbImage {
    median_filtered(image, 3)
}
