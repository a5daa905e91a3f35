//! The assembled pipeline: one object the service holds, loaded once from a model pack.

use std::io::Cursor;
use std::path::Path;

use image::RgbImage;

use crate::detect::{order_faces, Detection, Detector, DetectorConfig, FaceOrder, SmallFaces};
use crate::embed::Embedder;
use crate::geometry::BBox;
use crate::landmarks::{FivePoints, HeadPose, Landmarker, Landmarks68};
use crate::pack::{PackManifest, Role};
use crate::EngineError;

/// A face found in a picture with everything the cheap stages give.
#[derive(Debug, Clone)]
pub struct AnalysedFace {
    /// Box and score.
    pub detection: Detection,
    /// The 68 points.
    pub landmarks: Landmarks68,
    /// Alignment points derived from them.
    pub five: FivePoints,
    /// Geometric head pose.
    pub pose: HeadPose,
}

/// A JPEG of a face with margin, kept so the library can be re-embedded by another pack.
#[derive(Debug, Clone)]
pub struct FaceCrop {
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
}

/// Detector, landmarks and embedder of one pack, loaded and ready; shared across threads.
pub struct Engine {
    pack: &'static PackManifest,
    detector: Detector,
    landmarker: Landmarker,
    embedder: Embedder,
}

impl Engine {
    /// Verifies the pack's digests and loads its networks from `models_dir`.
    pub fn load(pack: &'static PackManifest, models_dir: &Path) -> Result<Self, EngineError> {
        pack.verify(models_dir)?;
        let path = |role| {
            pack.path_of(models_dir, role)
                .ok_or_else(|| EngineError::MissingModel {
                    path: models_dir.join(format!("{}: no {role:?} model", pack.id)),
                })
        };
        Ok(Self {
            pack,
            detector: Detector::load(&path(Role::Detector)?, DetectorConfig::default())?,
            landmarker: Landmarker::load(&path(Role::Landmarks)?)?,
            embedder: Embedder::load(&path(Role::Embedder)?, pack.embedding_dim, true)?,
        })
    }

    /// The pack in use.
    pub fn pack(&self) -> &'static PackManifest {
        self.pack
    }

    /// Id of the embedder, stored with every embedding.
    pub fn embedder_id(&self) -> &'static str {
        self.pack.embedder_id
    }

    /// Finds up to `max_faces` faces in `order`, with landmarks and pose.
    pub fn analyse(
        &self,
        image: &RgbImage,
        max_faces: usize,
        order: FaceOrder,
    ) -> Result<Vec<AnalysedFace>, EngineError> {
        // One face wanted: the largest or most central one is rarely tiny, so the costly fine
        // tiles only run when several faces are asked for, or when nothing else was found.
        let mut detections = if max_faces > 1 {
            self.detector.detect_with(image, SmallFaces::All)?
        } else {
            match self.detector.detect_with(image, SmallFaces::Coarse)? {
                found if found.is_empty() => self.detector.fine_faces(image)?,
                found => found,
            }
        };
        order_faces(
            &mut detections,
            |d| d.bbox,
            order,
            image.width(),
            image.height(),
        );
        detections.truncate(max_faces);
        detections
            .into_iter()
            .map(|detection| {
                let landmarks = self.landmarker.locate(image, &detection.bbox)?;
                let five = landmarks.five_points();
                let pose = landmarks.head_pose();
                Ok(AnalysedFace {
                    detection,
                    landmarks,
                    five,
                    pose,
                })
            })
            .collect()
    }

    /// The identity embedding of one analysed face (unit length).
    pub fn embed(&self, image: &RgbImage, face: &AnalysedFace) -> Result<Vec<f32>, EngineError> {
        self.embedder.embed(image, &face.five)
    }

    /// The face box grown by `margin` (a fraction of its size on each side), clipped, scaled so
    /// its longer side is at most `max_side`, as JPEG.
    pub fn face_crop(
        &self,
        image: &RgbImage,
        face: &BBox,
        margin: f32,
        max_side: u32,
    ) -> Option<FaceCrop> {
        let (mw, mh) = (face.width() * margin, face.height() * margin);
        let grown = BBox {
            x1: face.x1 - mw,
            y1: face.y1 - mh,
            x2: face.x2 + mw,
            y2: face.y2 + mh,
        }
        .clamp(image.width(), image.height());
        let (x, y) = (grown.x1 as u32, grown.y1 as u32);
        let (w, h) = (
            (grown.width() as u32).max(1),
            (grown.height() as u32).max(1),
        );
        let mut crop = image::imageops::crop_imm(image, x, y, w, h).to_image();
        if w.max(h) > max_side {
            let scale = max_side as f32 / w.max(h) as f32;
            let (nw, nh) = (
                ((w as f32 * scale) as u32).max(1),
                ((h as f32 * scale) as u32).max(1),
            );
            crop = image::imageops::resize(&crop, nw, nh, image::imageops::FilterType::Triangle);
        }
        let mut jpeg = Vec::new();
        let encoder =
            image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), 90);
        crop.write_with_encoder(encoder).ok()?;
        Some(FaceCrop { jpeg })
    }
}
