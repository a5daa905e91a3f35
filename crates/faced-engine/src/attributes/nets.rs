//! The attribute networks: each takes its own crop of the face and answers probabilities.
//!
//! | network | package | crop | input | output |
//! |---|---|---|---|---|
//! | `faceres` | `@vladmandic/human` | ArcFace 5-point template × 2, 224×224 | RGB 0–255 | male probability (sigmoid), age in years (softmax over 100) |
//! | `emotion` | `@vladmandic/human` | upright square of 1.4× the mesh box, 64×64 | grey (g − 0.5)·2 | 7 probabilities |
//! | `antispoof` | `@vladmandic/human` | upright square of 1.4× the mesh box, 128×128 | RGB [0, 1] | probability the face is real (not edited or synthetic) |
//! | `fr_eye` | `faceplugin-face-recognition-js` | square of 1.6 eye widths per eye, 24×24 | grey / 255 | [closed, open] logits |
//! | `liveness` | `@vladmandic/human` | upright square of 1.4× the mesh box, 32×32 | RGB [0, 1] | [live, fake] probabilities |
//!
//! Crops follow the way each model's own package feeds it (human's face tensor is the mesh
//! crop; faceplugin's demo crops are in `../shared/models.md`).

use std::path::Path;

use image::RgbImage;

use crate::backend::{Network, Tensor4, TractNetwork};
use crate::embed::ARCFACE_TEMPLATE;
use crate::facemesh::Mesh;
use crate::geometry::{sample_rgb, Affine, Border, Point};
use crate::pack::{PackManifest, Role};
use crate::tfjs::read_graph_model;
use crate::EngineError;

/// Side of faceres's input.
const FACERES_SIDE: u32 = 224;
/// Side of the emotion network's input.
const EMOTION_SIDE: u32 = 64;
/// Side of antispoof's input.
const ANTISPOOF_SIDE: u32 = 128;
/// Side of fr_eye's input.
const EYE_SIDE: u32 = 24;
/// Side of human's liveness input.
const HUMAN_LIVENESS_SIDE: u32 = 32;
/// Human's face crop: the mesh box grown 1.4 times (its `face.detector.scale`).
const HUMAN_CROP_SCALE: f32 = 1.4;
/// fr_eye's crop: 1.6 eye widths (faceplugin's demo).
const EYE_CROP_SCALE: f32 = 1.6;

/// The emotion network's classes, in its output order (oarriaga's FER-2013 classes, which
/// are also Baidu's first seven).
pub const EMOTIONS: [&str; 7] = [
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
];

/// What faceres says about a face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeGender {
    /// Probability the face is male.
    pub male: f32,
    /// Expected age in years under the network's distribution.
    pub age: f32,
}

/// The attribute networks of a pack, loaded once.
pub struct AttributeNets {
    faceres: Box<dyn Network>,
    emotion: Box<dyn Network>,
    antispoof: Box<dyn Network>,
    /// fr_eye, when the pack has it (the clean pack leaves it out: its licence is unclear).
    eye: Option<Box<dyn Network>>,
    liveness: Box<dyn Network>,
}

impl AttributeNets {
    /// Loads the five networks the pack lists.
    pub fn load(pack: &PackManifest, models_dir: &Path) -> Result<Self, EngineError> {
        let path = |role| {
            pack.path_of(models_dir, role)
                .ok_or_else(|| EngineError::MissingModel {
                    path: models_dir.join(format!("{}: no {role:?} model", pack.id)),
                })
        };
        let graph = |name: &'static str, role, side: u32, channels: usize, outputs: &[&str]| {
            let graph = read_graph_model(name, &path(role)?)?;
            let side = side as usize;
            let net =
                TractNetwork::from_graph_def(name, &graph, &[1, side, side, channels], outputs)?;
            Ok::<Box<dyn Network>, EngineError>(Box::new(net))
        };
        let onnx = |name: &'static str, role, shape: &[usize]| {
            let net = TractNetwork::load_onnx(name, &path(role)?, shape)?;
            Ok::<Box<dyn Network>, EngineError>(Box::new(net))
        };
        Ok(Self {
            faceres: graph(
                "faceres",
                Role::AgeGender,
                FACERES_SIDE,
                3,
                &["gender_pred/Sigmoid", "age_pred/Softmax"],
            )?,
            emotion: graph("emotion", Role::Emotion, EMOTION_SIDE, 1, &["Identity"])?,
            antispoof: graph(
                "antispoof",
                Role::AntiSpoof,
                ANTISPOOF_SIDE,
                3,
                &["Identity"],
            )?,
            eye: match pack.path_of(models_dir, Role::EyeState) {
                Some(_) => Some(onnx("fr_eye", Role::EyeState, &[1, 1, 24, 24])?),
                None => None,
            },
            liveness: graph(
                "liveness",
                Role::Liveness,
                HUMAN_LIVENESS_SIDE,
                3,
                &["Identity"],
            )?,
        })
    }

    /// Whether the pack has an eye-state network (else eye state is read off the mesh).
    pub fn has_eye_network(&self) -> bool {
        self.eye.is_some()
    }

    /// Age and gender from the face's five alignment points.
    pub fn age_gender(
        &self,
        image: &RgbImage,
        five: &[Point; 5],
    ) -> Result<AgeGender, EngineError> {
        let template: Vec<Point> = ARCFACE_TEMPLATE
            .iter()
            .map(|p| Point::new(p.x * 2.0, p.y * 2.0))
            .collect();
        let to_crop = Affine::similarity(five, &template).ok_or_else(|| degenerate("faceres"))?;
        let rgb = sample_rgb(
            image,
            &to_crop,
            FACERES_SIDE,
            FACERES_SIDE,
            Border::Replicate,
        );
        let side = FACERES_SIDE as usize;
        let outputs = self.faceres.run(Tensor4 {
            shape: vec![1, side, side, 3],
            data: rgb,
        })?;
        let [male, ages] = &outputs[..] else {
            return Err(malformed("faceres", "expected 2 outputs"));
        };
        if ages.len() != 100 || !ages.iter().chain(male.iter()).all(|v| v.is_finite()) {
            return Err(malformed(
                "faceres",
                "expected 100 finite age bins and a gender",
            ));
        }
        let total: f32 = ages.iter().sum();
        let age = ages
            .iter()
            .enumerate()
            .map(|(years, p)| years as f32 * p)
            .sum::<f32>()
            / total.max(f32::EPSILON);
        Ok(AgeGender {
            male: male.first().copied().unwrap_or(0.5).clamp(0.0, 1.0),
            age,
        })
    }

    /// The seven emotion probabilities ([`EMOTIONS`] order).
    pub fn emotions(
        &self,
        image: &RgbImage,
        mesh: &Mesh,
        roll: f32,
    ) -> Result<[f32; 7], EngineError> {
        let rgb = human_crop(image, mesh, roll, EMOTION_SIDE);
        let grey: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| ((0.2989 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255.0 - 0.5) * 2.0)
            .collect();
        let side = EMOTION_SIDE as usize;
        let out = first_output(
            "emotion",
            self.emotion.run(Tensor4 {
                shape: vec![1, side, side, 1],
                data: grey,
            })?,
            7,
        )?;
        Ok(std::array::from_fn(|i| out[i].clamp(0.0, 1.0)))
    }

    /// Probability that the face is a real photograph rather than an edited or synthetic one.
    pub fn real_face(&self, image: &RgbImage, mesh: &Mesh, roll: f32) -> Result<f32, EngineError> {
        let rgb = human_crop(image, mesh, roll, ANTISPOOF_SIDE);
        let side = ANTISPOOF_SIDE as usize;
        let out = first_output(
            "antispoof",
            self.antispoof.run(Tensor4 {
                shape: vec![1, side, side, 3],
                data: rgb.iter().map(|v| v / 255.0).collect(),
            })?,
            1,
        )?;
        Ok(out[0].clamp(0.0, 1.0))
    }

    /// Probability that an eye is open. `eye` is its six iBUG points (corner, two upper
    /// lid points, corner, two lower lid points): faceplugin's demo crops an axis-aligned
    /// square of 1.6 corner distances around the lids' four points.
    /// `None` when the pack has no eye-state network.
    pub fn eye_open(&self, image: &RgbImage, eye: &[Point; 6]) -> Result<Option<f32>, EngineError> {
        let Some(net) = &self.eye else {
            return Ok(None);
        };
        let centre = Point::mean(&[eye[1], eye[2], eye[4], eye[5]]);
        let side = EYE_CROP_SCALE * (eye[3].x - eye[0].x).abs().max(1.0);
        let to_crop = Affine::upright_square(centre, side, 0.0, EYE_SIDE);
        let rgb = sample_rgb(image, &to_crop, EYE_SIDE, EYE_SIDE, Border::Replicate);
        let grey: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255.0)
            .collect();
        let side = EYE_SIDE as usize;
        let logits = first_output(
            "fr_eye",
            net.run(Tensor4 {
                shape: vec![1, 1, side, side],
                data: grey,
            })?,
            2,
        )?;
        Ok(Some(softmax(&logits)[1]))
    }

    /// `@vladmandic/human`'s probability that the face is live (trained on one person's
    /// replayed video), on human's face crop at 32×32.
    pub fn live(&self, image: &RgbImage, mesh: &Mesh, roll: f32) -> Result<f32, EngineError> {
        let rgb = human_crop(image, mesh, roll, HUMAN_LIVENESS_SIDE);
        let side = HUMAN_LIVENESS_SIDE as usize;
        let out = first_output(
            "liveness",
            self.liveness.run(Tensor4 {
                shape: vec![1, side, side, 3],
                data: rgb.iter().map(|v| v / 255.0).collect(),
            })?,
            2,
        )?;
        Ok(out[0].clamp(0.0, 1.0))
    }
}

/// Human's face crop: an upright square of 1.4× the mesh's box, `side` pixels, RGB 0–255.
fn human_crop(image: &RgbImage, mesh: &Mesh, roll: f32, side: u32) -> Vec<f32> {
    let b = mesh.bbox();
    let size = b.width().max(b.height()) * HUMAN_CROP_SCALE;
    let to_crop = Affine::upright_square(b.centre(), size, roll, side);
    sample_rgb(image, &to_crop, side, side, Border::Replicate)
}

/// Probabilities from logits (numerically stable).
pub(crate) fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let exp: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum.max(f32::EPSILON)).collect()
}

fn first_output(
    model: &'static str,
    outputs: Vec<Vec<f32>>,
    len: usize,
) -> Result<Vec<f32>, EngineError> {
    match outputs.into_iter().next() {
        Some(v) if v.len() == len && v.iter().all(|x| x.is_finite()) => Ok(v),
        _ => Err(malformed(model, &format!("expected {len} finite values"))),
    }
}

fn malformed(model: &'static str, message: &str) -> EngineError {
    EngineError::Inference {
        model,
        message: message.into(),
    }
}

fn degenerate(model: &'static str) -> EngineError {
    malformed(model, "degenerate landmarks")
}
