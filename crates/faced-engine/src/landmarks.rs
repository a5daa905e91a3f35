//! 68-point landmarks in a detected box, and what the pipeline derives from them: the five
//! alignment points, the in-plane rotation and a geometric head-pose estimate.

use std::path::Path;

use image::RgbImage;

use crate::backend::{Network, Tensor4, TractNetwork};
use crate::geometry::{sample_rgb, Affine, BBox, Border, Point};
use crate::EngineError;

const SIDE: u32 = 64;

/// The 68 iBUG-ordered points of one face, in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Landmarks68(pub Vec<Point>);

/// Eye centres, nose tip and mouth corners, image-left first: what alignment uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FivePoints(pub [Point; 5]);

/// Head rotation in degrees (Baidu's `angle`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HeadPose {
    /// Turn left/right; positive when the nose moves towards the image's right.
    pub yaw: f32,
    /// Nod; positive when the face looks down.
    pub pitch: f32,
    /// In-plane tilt; positive clockwise in the image.
    pub roll: f32,
}

/// The loaded landmark network.
pub struct Landmarker {
    net: Box<dyn Network>,
}

impl Landmarker {
    /// Loads `fr_landmark.onnx`.
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        let net =
            TractNetwork::load_onnx("fr_landmark", path, &[1, 1, SIDE as usize, SIDE as usize])?;
        Ok(Self { net: Box::new(net) })
    }

    /// Places the 68 points in one face box.
    ///
    /// The crop is the measured one: a square of side √(w·h) around the box centre, widened by
    /// 5 % on each side and 10 % at the bottom, clamped to the image, resized to 64×64 grey.
    pub fn locate(&self, image: &RgbImage, face: &BBox) -> Result<Landmarks68, EngineError> {
        let crop = landmark_crop(face, image.width(), image.height());
        let rgb = sample_rgb(
            image,
            &Affine::rect_to_grid(&crop, SIDE, SIDE),
            SIDE,
            SIDE,
            Border::Replicate,
        );
        let data: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 256.0)
            .collect();
        let outputs = self.net.run(Tensor4 {
            shape: vec![1, 1, SIDE as usize, SIDE as usize],
            data,
        })?;
        let coords =
            outputs
                .first()
                .filter(|o| o.len() >= 136)
                .ok_or_else(|| EngineError::Inference {
                    model: "fr_landmark",
                    message: "expected 136 values".into(),
                })?;
        let points = coords[..136]
            .chunks_exact(2)
            .map(|xy| {
                Point::new(
                    crop.x1 + xy[0] * crop.width(),
                    crop.y1 + xy[1] * crop.height(),
                )
            })
            .collect();
        Ok(Landmarks68(points))
    }
}

fn landmark_crop(face: &BBox, width: u32, height: u32) -> BBox {
    let side = (face.width() * face.height()).sqrt();
    let c = face.centre();
    let square = BBox {
        x1: c.x - side / 2.0,
        y1: c.y - side / 2.0,
        x2: c.x + side / 2.0,
        y2: c.y + side / 2.0,
    };
    BBox {
        x1: square.x1 - 0.05 * side,
        y1: square.y1,
        x2: square.x2 + 0.05 * side,
        y2: square.y2 + 0.10 * side,
    }
    .clamp(width, height)
}

impl Landmarks68 {
    /// Reduces to the five alignment points (the package's own reduction).
    pub fn five_points(&self) -> FivePoints {
        let p = &self.0;
        let mean = |idx: &[usize]| Point::mean(&idx.iter().map(|&i| p[i]).collect::<Vec<_>>());
        FivePoints([
            mean(&[37, 38, 40, 41]),
            mean(&[43, 44, 46, 47]),
            p[30],
            mean(&[48, 60]),
            mean(&[54, 64]),
        ])
    }

    /// A geometric head-pose estimate from the landmarks.
    ///
    /// Roll is the eye line's angle. Yaw treats the head as a cylinder: the nose tip's offset
    /// from the middle of the jaw contour (points 0 and 16), as a fraction of the half-width,
    /// is sin(yaw). Pitch compares where the nose tip falls between the eye line and the mouth
    /// with its position on a frontal face (0.5), the same way. Good to a few degrees near
    /// frontal, coarse beyond 45°.
    pub fn head_pose(&self) -> HeadPose {
        let p = &self.0;
        let five = self.five_points().0;
        let (left_eye, right_eye, nose) = (five[0], five[1], five[2]);
        let roll = (right_eye.y - left_eye.y)
            .atan2(right_eye.x - left_eye.x)
            .to_degrees();
        let (jaw_l, jaw_r) = (p[0], p[16]);
        let half = ((jaw_r.x - jaw_l.x).powi(2) + (jaw_r.y - jaw_l.y).powi(2)).sqrt() / 2.0;
        let mid = Point::mean(&[jaw_l, jaw_r]);
        let (cos, sin) = (roll.to_radians().cos(), roll.to_radians().sin());
        // Nose offset along the (rotated) horizontal axis of the face.
        let along = (nose.x - mid.x) * cos + (nose.y - mid.y) * sin;
        let yaw = (along / half.max(1.0)).clamp(-1.0, 1.0).asin().to_degrees();
        let eyes = Point::mean(&[left_eye, right_eye]);
        let mouth = Point::mean(&[five[3], five[4]]);
        let span = ((mouth.x - eyes.x) * -sin + (mouth.y - eyes.y) * cos).max(1.0);
        let down = (nose.x - eyes.x) * -sin + (nose.y - eyes.y) * cos;
        let pitch = ((down / span - 0.5) * 2.0)
            .clamp(-1.0, 1.0)
            .asin()
            .to_degrees();
        HeadPose { yaw, pitch, roll }
    }
}
