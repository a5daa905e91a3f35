//! MediaPipe FaceMesh (468 points in 3-D, from `@vladmandic/human`): dense landmarks for
//! alignment, Baidu's `landmark72`/`landmark150`, head pose and eye state.
//!
//! The network sees a 192×192 RGB crop in [0, 1]: a square of 1.5× the face's size around its
//! centre, rotated so the eyes are level. It answers 468 (x, y, z) in crop pixels and a face
//! presence probability; the points are mapped back through the crop's inverse transform.

use std::path::Path;

use image::RgbImage;

use crate::backend::{Network, Tensor4, TractNetwork};
use crate::geometry::{sample_rgb, Affine, Border, Point};
use crate::tfjs::read_graph_model;
use crate::EngineError;

/// Side of the network input.
pub const SIDE: u32 = 192;
/// Number of mesh vertices.
pub const VERTICES: usize = 468;
/// Mesh points (x, y, z) and the presence probability.
const OUTPUTS: [&str; 2] = ["Identity_2", "Identity_1"];
/// The crop's side as a multiple of the face size given.
const CROP_SCALE: f32 = 1.5;

/// Mesh vertices with a fixed meaning, used across the engine.
pub mod vertex {
    /// Outer corner of the image-left eye (the subject's right eye).
    pub const LEFT_EYE_OUTER: usize = 33;
    /// Inner corner of the image-left eye.
    pub const LEFT_EYE_INNER: usize = 133;
    /// Inner corner of the image-right eye (the subject's left eye).
    pub const RIGHT_EYE_INNER: usize = 362;
    /// Outer corner of the image-right eye.
    pub const RIGHT_EYE_OUTER: usize = 263;
    /// Nose tip.
    pub const NOSE_TIP: usize = 4;
    /// Image-left mouth corner.
    pub const MOUTH_LEFT: usize = 61;
    /// Image-right mouth corner.
    pub const MOUTH_RIGHT: usize = 291;
}

/// The mesh vertex standing for each of the 68 iBUG points, measured by running both landmark
/// models on 300 LFW photos (`cargo run -p faced-engine --example mesh_correspondence`): per
/// iBUG point the vertex with the smallest median distance to it (0.03–0.05 of the
/// inter-ocular distance for eyes, nose and mouth, 0.06–0.13 along the jaw and brows, whose
/// points the two models place differently).
pub const IBUG68_FROM_MESH: [usize; 68] = [
    127, 234, 93, 215, 138, 136, 170, 176, 175, 400, 395, 365, 367, 433, 323, 454, 356, 46, 63, 52,
    65, 55, 285, 295, 334, 293, 300, 168, 197, 5, 4, 240, 97, 2, 326, 460, 7, 159, 158, 112, 153,
    144, 341, 385, 386, 249, 373, 380, 61, 39, 37, 11, 267, 269, 291, 321, 314, 17, 84, 181, 78,
    82, 13, 268, 292, 317, 14, 87,
];

/// The 468 points of one face in image pixels (z in the same scale, towards the camera
/// negative) and how sure the network is that a face is there.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    /// Vertices, MediaPipe's order.
    pub points: Vec<[f32; 3]>,
    /// Face presence probability in [0, 1].
    pub presence: f32,
}

impl Mesh {
    /// Vertex `i` projected on the image.
    pub fn xy(&self, i: usize) -> Point {
        let [x, y, _] = self.points.get(i).copied().unwrap_or_default();
        Point::new(x, y)
    }

    /// The 68 iBUG points the rest of the engine (quality, pose) reads, from the mesh.
    pub fn ibug68(&self) -> Vec<Point> {
        IBUG68_FROM_MESH.iter().map(|&v| self.xy(v)).collect()
    }

    /// The bounding box of the face's vertices.
    pub fn bbox(&self) -> crate::geometry::BBox {
        let mut b = crate::geometry::BBox {
            x1: f32::MAX,
            y1: f32::MAX,
            x2: f32::MIN,
            y2: f32::MIN,
        };
        for [x, y, _] in &self.points {
            b.x1 = b.x1.min(*x);
            b.y1 = b.y1.min(*y);
            b.x2 = b.x2.max(*x);
            b.y2 = b.y2.max(*y);
        }
        b
    }

    /// The five alignment points from the mesh: eye centres (mean of the corners), nose tip,
    /// mouth corners, image-left first.
    pub fn five_points(&self) -> [Point; 5] {
        use vertex::*;
        [
            Point::mean(&[self.xy(LEFT_EYE_OUTER), self.xy(LEFT_EYE_INNER)]),
            Point::mean(&[self.xy(RIGHT_EYE_INNER), self.xy(RIGHT_EYE_OUTER)]),
            self.xy(NOSE_TIP),
            self.xy(MOUTH_LEFT),
            self.xy(MOUTH_RIGHT),
        ]
    }
}

/// The loaded FaceMesh network.
pub struct FaceMesh {
    net: Box<dyn Network>,
}

impl FaceMesh {
    /// Loads `facemesh.json` (and its shard beside it).
    pub fn load(json: &Path) -> Result<Self, EngineError> {
        let graph = read_graph_model("facemesh", json)?;
        let side = SIDE as usize;
        let net = TractNetwork::from_graph_def("facemesh", &graph, &[1, side, side, 3], &OUTPUTS)?;
        Ok(Self { net: Box::new(net) })
    }

    /// Places the mesh on a face of `size` pixels centred at `centre` whose eye line is
    /// tilted by `roll` radians (clockwise in the image).
    pub fn locate(
        &self,
        image: &RgbImage,
        centre: Point,
        size: f32,
        roll: f32,
    ) -> Result<Mesh, EngineError> {
        let to_crop = crop_transform(centre, size * CROP_SCALE, roll);
        let rgb = sample_rgb(image, &to_crop, SIDE, SIDE, Border::Replicate);
        let side = SIDE as usize;
        let outputs = self.net.run(Tensor4 {
            shape: vec![1, side, side, 3],
            data: rgb.iter().map(|v| v / 255.0).collect(),
        })?;
        let fail = |message: &str| EngineError::Inference {
            model: "facemesh",
            message: message.into(),
        };
        let [coords, presence] = &outputs[..] else {
            return Err(fail("expected 2 outputs"));
        };
        if coords.len() != VERTICES * 3 || !coords.iter().all(|v| v.is_finite()) {
            return Err(fail("expected 1404 finite coordinates"));
        }
        let to_image = to_crop.inverse().ok_or_else(|| fail("degenerate crop"))?;
        let z_scale = size * CROP_SCALE / SIDE as f32;
        let points = coords
            .chunks_exact(3)
            .map(|c| {
                let p = to_image.apply(Point::new(c[0], c[1]));
                [p.x, p.y, c[2] * z_scale]
            })
            .collect();
        Ok(Mesh {
            points,
            presence: presence.first().copied().unwrap_or(0.0).clamp(0.0, 1.0),
        })
    }
}

/// Image → crop: centre at the crop's middle, eye line level, `side` pixels onto 192.
fn crop_transform(centre: Point, side: f32, roll: f32) -> Affine {
    Affine::upright_square(centre, side, roll, SIDE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_levels_a_tilted_eye_line() {
        let roll = 0.3f32;
        let centre = Point::new(100.0, 80.0);
        let t = crop_transform(centre, 150.0, roll);
        let mid = t.apply(centre);
        assert!((mid.x - 96.0).abs() < 1e-3 && (mid.y - 96.0).abs() < 1e-3);
        // A point along the tilted eye line lands level with the centre.
        let along = Point::new(centre.x + 30.0 * roll.cos(), centre.y + 30.0 * roll.sin());
        let p = t.apply(along);
        assert!((p.y - 96.0).abs() < 1e-3, "{p:?}");
        assert!(p.x > 96.0);
    }
}
