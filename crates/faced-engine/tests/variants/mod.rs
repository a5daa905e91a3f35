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
