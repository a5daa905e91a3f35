//! Plane geometry for faces: boxes, points, similarity transforms and bilinear sampling.
//!
//! Every crop the models see (the detector's resized frame, the landmark patch, the aligned
//! 112×112 face) is one affine map from output pixels to image pixels, sampled bilinearly with
//! OpenCV's pixel-centre convention so the models get what they were trained on.

use image::RgbImage;

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Horizontal pixel coordinate (0 = left edge).
    pub x: f32,
    /// Vertical pixel coordinate (0 = top edge).
    pub y: f32,
}

impl Point {
    /// A point from its coordinates.
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// The mean of several points (landmark groups reduce to one point this way).
    pub fn mean(points: &[Point]) -> Point {
        let n = points.len().max(1) as f32;
        let (sx, sy) = points
            .iter()
            .fold((0.0, 0.0), |(sx, sy), p| (sx + p.x, sy + p.y));
        Point::new(sx / n, sy / n)
    }
}

/// An axis-aligned box in image pixels, corners inclusive-exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BBox {
    /// Left edge.
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge.
    pub x2: f32,
    /// Bottom edge.
    pub y2: f32,
}

impl BBox {
    /// Width in pixels.
    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }
    /// Height in pixels.
    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }
    /// Area in square pixels.
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }
    /// Centre point.
    pub fn centre(&self) -> Point {
        Point::new((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }
    /// Intersection over union, the overlap measure of non-maximum suppression.
    pub fn iou(&self, other: &BBox) -> f32 {
        let w = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let h = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
    /// The box clipped to an image of the given size.
    pub fn clamp(&self, width: u32, height: u32) -> BBox {
        let (w, h) = (width as f32, height as f32);
        BBox {
            x1: self.x1.clamp(0.0, w),
            y1: self.y1.clamp(0.0, h),
            x2: self.x2.clamp(0.0, w),
            y2: self.y2.clamp(0.0, h),
        }
    }
}

/// A 2-D affine map `p ↦ (a·x + b·y + c, d·x + e·y + f)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// Row-major coefficients `[a, b, c, d, e, f]`.
    pub m: [f32; 6],
}

impl Affine {
    /// Applies the map to a point.
    pub fn apply(&self, p: Point) -> Point {
        let [a, b, c, d, e, f] = self.m;
        Point::new(a * p.x + b * p.y + c, d * p.x + e * p.y + f)
    }

    /// The inverse map, or `None` when the map collapses the plane.
    pub fn inverse(&self) -> Option<Affine> {
        let [a, b, c, d, e, f] = self.m;
        let det = a * e - b * d;
        if det.abs() < 1e-12 {
            return None;
        }
        let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
        Some(Affine {
            m: [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)],
        })
    }

    /// The map taking the rectangle `rect` of the image onto an `out_w`×`out_h` grid.
    pub fn rect_to_grid(rect: &BBox, out_w: u32, out_h: u32) -> Affine {
        let sx = out_w as f32 / rect.width().max(1e-6);
        let sy = out_h as f32 / rect.height().max(1e-6);
        Affine {
            m: [sx, 0.0, -rect.x1 * sx, 0.0, sy, -rect.y1 * sy],
        }
    }

    /// Image → a square grid of `out` pixels whose middle is `centre`, covering `side` image
    /// pixels, rotated by -`roll` radians so a line tilted by `roll` (clockwise in the image)
    /// comes out level: the crop of a face standing upright.
    pub fn upright_square(centre: Point, side: f32, roll: f32, out: u32) -> Affine {
        let scale = out as f32 / side.max(1.0);
        let (cos, sin) = (roll.cos() * scale, roll.sin() * scale);
        let half = out as f32 / 2.0;
        Affine {
            m: [
                cos,
                sin,
                half - (cos * centre.x + sin * centre.y),
                -sin,
                cos,
                half - (-sin * centre.x + cos * centre.y),
            ],
        }
    }

    /// Least-squares similarity (rotation, uniform scale, translation) taking `from` onto `to`
    /// (Umeyama's closed form in 2-D). Using all points rather than three is what makes the
    /// aligned crops stable (measured: TAR@1e-4 0.80 instead of 0.15).
    pub fn similarity(from: &[Point], to: &[Point]) -> Option<Affine> {
        if from.len() != to.len() || from.len() < 2 {
            return None;
        }
        let (mf, mt) = (Point::mean(from), Point::mean(to));
        let (mut num_a, mut num_b, mut den) = (0.0f32, 0.0f32, 0.0f32);
        for (p, q) in from.iter().zip(to) {
            let (px, py, qx, qy) = (p.x - mf.x, p.y - mf.y, q.x - mt.x, q.y - mt.y);
            num_a += px * qx + py * qy;
            num_b += px * qy - py * qx;
            den += px * px + py * py;
        }
        if den < 1e-9 {
            return None;
        }
        let (a, b) = (num_a / den, num_b / den);
        let tx = mt.x - (a * mf.x - b * mf.y);
        let ty = mt.y - (b * mf.x + a * mf.y);
        Some(Affine {
            m: [a, -b, tx, b, a, ty],
        })
    }
}

/// What to read outside the image when sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black, as OpenCV's `warpAffine` default (used for aligned faces).
    Zero,
    /// The nearest edge pixel, as `cv.resize` behaves.
    Replicate,
}

/// Samples an `out_w`×`out_h` RGB grid through `image_to_grid` (image → output coordinates),
/// returning interleaved RGB floats in 0–255.
pub fn sample_rgb(
    image: &RgbImage,
    image_to_grid: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
) -> Vec<f32> {
    let mut out = vec![0f32; (out_w * out_h * 3) as usize];
    let Some(grid_to_image) = image_to_grid.inverse() else {
        return out;
    };
    let (w, h) = (image.width() as i64, image.height() as i64);
    let raw = image.as_raw();
    let pixel = |x: i64, y: i64| -> [f32; 3] {
        let (x, y) = match border {
            Border::Replicate => (x.clamp(0, w - 1), y.clamp(0, h - 1)),
            Border::Zero if x < 0 || y < 0 || x >= w || y >= h => return [0.0; 3],
            Border::Zero => (x, y),
        };
        let i = ((y * w + x) * 3) as usize;
        [
            f32::from(raw[i]),
            f32::from(raw[i + 1]),
            f32::from(raw[i + 2]),
        ]
    };
    for oy in 0..out_h {
        for ox in 0..out_w {
            // OpenCV convention: the centre of output pixel (ox, oy) is at (ox + 0.5, oy + 0.5).
            let src = grid_to_image.apply(Point::new(ox as f32 + 0.5, oy as f32 + 0.5));
            let (sx, sy) = (src.x - 0.5, src.y - 0.5);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let (p00, p10, p01, p11) = (
                pixel(x0, y0),
                pixel(x0 + 1, y0),
                pixel(x0, y0 + 1),
                pixel(x0 + 1, y0 + 1),
            );
            let base = ((oy * out_w + ox) * 3) as usize;
            for c in 0..3 {
                let top = p00[c] + (p10[c] - p00[c]) * fx;
                let bottom = p01[c] + (p11[c] - p01[c]) * fx;
                out[base + c] = top + (bottom - top) * fy;
            }
        }
    }
    out
}

/// Interleaved RGB (0–255) → planar NCHW with a per-value normalisation, in the channel order
/// the network wants (`bgr` swaps R and B).
pub fn to_planar(
    rgb: &[f32],
    out_w: u32,
    out_h: u32,
    bgr: bool,
    norm: impl Fn(f32) -> f32,
) -> Vec<f32> {
    let plane = (out_w * out_h) as usize;
    let mut out = vec![0f32; plane * 3];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let (r, g, b) = (px[0], px[1], px[2]);
        let (c0, c2) = if bgr { (b, r) } else { (r, b) };
        out[i] = norm(c0);
        out[plane + i] = norm(g);
        out[2 * plane + i] = norm(c2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        let truth = Affine {
            m: [0.8, -0.6, 10.0, 0.6, 0.8, -5.0],
        };
        let from = [
            Point::new(1.0, 2.0),
            Point::new(40.0, 3.0),
            Point::new(20.0, 30.0),
            Point::new(5.0, 50.0),
        ];
        let to: Vec<Point> = from.iter().map(|p| truth.apply(*p)).collect();
        let found = Affine::similarity(&from, &to).expect("solvable");
        for (a, b) in found.m.iter().zip(truth.m) {
            assert!((a - b).abs() < 1e-4, "{found:?}");
        }
        let back = found.inverse().expect("invertible").apply(to[2]);
        assert!((back.x - from[2].x).abs() < 1e-3 && (back.y - from[2].y).abs() < 1e-3);
    }

    #[test]
    fn identity_sampling_reproduces_the_image() {
        let mut image = RgbImage::new(4, 3);
        for (i, p) in image.pixels_mut().enumerate() {
            *p = image::Rgb([i as u8 * 10, 7, 200]);
        }
        let rect = BBox {
            x1: 0.0,
            y1: 0.0,
            x2: 4.0,
            y2: 3.0,
        };
        let out = sample_rgb(
            &image,
            &Affine::rect_to_grid(&rect, 4, 3),
            4,
            3,
            Border::Zero,
        );
        let expected: Vec<f32> = image.as_raw().iter().map(|&v| f32::from(v)).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn iou_of_boxes() {
        let a = BBox {
            x1: 0.0,
            y1: 0.0,
            x2: 2.0,
            y2: 2.0,
        };
        let b = BBox {
            x1: 1.0,
            y1: 0.0,
            x2: 3.0,
            y2: 2.0,
        };
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
    }
}
