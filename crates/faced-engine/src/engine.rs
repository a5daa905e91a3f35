//! The assembled pipeline: one object the service holds, loaded once from a model pack.

use std::io::Cursor;
use std::path::Path;

use image::RgbImage;

use crate::attributes::{AttributeNets, Attributes, Wanted};
use crate::blazeface::BlazeFace;
use crate::detect::{order_faces, Detection, Detector, DetectorConfig, FaceOrder, SmallFaces};
use crate::dlib_resnet::DlibResNet;
use crate::embed::Embedder;
use crate::facemesh::{FaceMesh, Mesh};
use crate::geometry::{BBox, Point};
use crate::landmarks::{FivePoints, HeadPose, Landmarker, Landmarks68};
use crate::pack::{PackManifest, Pipeline, Role};
use crate::EngineError;

/// At most this many BlazeFace candidates are checked with FaceMesh (Baidu's own cap on
/// detect's `max_face_num` is 120).
const MAX_CANDIDATES: usize = 160;

/// A face found in a picture with everything the cheap stages give.
#[derive(Debug, Clone)]
pub struct AnalysedFace {
    /// Box and score.
    pub detection: Detection,
    /// The 68 iBUG points (from the 68-point model, or read off the mesh).
    pub landmarks: Landmarks68,
    /// Alignment points derived from them.
    pub five: FivePoints,
    /// Geometric head pose.
    pub pose: HeadPose,
    /// The 468-point mesh, when the pipeline placed it (the clean pack always does; the
    /// default pack on request, see [`Engine::add_mesh`]).
    pub mesh: Option<Mesh>,
}

/// A JPEG of a face with margin, kept so the library can be re-embedded by another pack.
#[derive(Debug, Clone)]
pub struct FaceCrop {
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
}

/// How a pack finds faces and their landmarks.
enum Finder {
    /// Ultra-Light-Fast boxes, then the 68-point model in each.
    Faceplugin {
        detector: Detector,
        landmarker: Landmarker,
    },
    /// BlazeFace boxes, then FaceMesh in each (which also rejects false boxes).
    Clean { detector: BlazeFace },
}

/// How a pack embeds an aligned face.
enum Recogniser {
    /// 512-d ArcFace-style network on the 112×112 ArcFace crop.
    ArcFace(Embedder),
    /// dlib's ResNet-29 on its 150×150 chip.
    Dlib(DlibResNet),
}

/// Below this FaceMesh presence a clean-pack box is not a face.
const MESH_PRESENCE_MIN: f32 = 0.5;
/// A candidate whose mesh features sit further than this share of the box size above or
/// below the box's centre is not a face of its own (on 256 centred LFW faces the offset stays
/// within ±0.133).
const VERTICAL_SHIFT_MAX: f32 = 0.135;
/// BlazeFace's eye keypoints must lie within this share of the mesh's eye distance of the
/// mesh's eyes (on 256 centred LFW faces: median 0.07, 95th percentile 0.15, maximum 0.34).
const EYE_AGREEMENT: f32 = 0.35;
/// Overlap above which two mesh-confirmed faces are one.
const MESH_NMS_IOU: f32 = 0.3;
/// Share of the smaller box covered by the larger one above which two mesh-confirmed faces
/// are one: a false box half a face below a real one (on the collar) overlaps it little by
/// IoU (0.25 on the Solvay photo) but covers 41 % of itself.
const MESH_NMS_COVER: f32 = 0.35;

/// The networks of one pack, loaded and ready; shared across threads.
pub struct Engine {
    pack: &'static PackManifest,
    finder: Finder,
    mesh: FaceMesh,
    recogniser: Recogniser,
    attributes: AttributeNets,
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
        let (finder, recogniser) = match pack.pipeline {
            Pipeline::Faceplugin => (
                Finder::Faceplugin {
                    detector: Detector::load(&path(Role::Detector)?, DetectorConfig::default())?,
                    landmarker: Landmarker::load(&path(Role::Landmarks)?)?,
                },
                Recogniser::ArcFace(Embedder::load(
                    &path(Role::Embedder)?,
                    pack.embedding_dim,
                    true,
                )?),
            ),
            Pipeline::Clean => (
                Finder::Clean {
                    detector: BlazeFace::load(&path(Role::BlazeFace)?)?,
                },
                Recogniser::Dlib(DlibResNet::load(&path(Role::Embedder)?, true)?),
            ),
        };
        Ok(Self {
            pack,
            finder,
            mesh: FaceMesh::load(&path(Role::FaceMesh)?)?,
            recogniser,
            attributes: AttributeNets::load(pack, models_dir)?,
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
        let mut faces = match &self.finder {
            Finder::Faceplugin {
                detector,
                landmarker,
            } => {
                let detections = ulfd_detections(detector, image, max_faces, order)?;
                detections
                    .into_iter()
                    .map(|detection| {
                        let landmarks = landmarker.locate(image, &detection.bbox)?;
                        Ok(face_of(detection, landmarks, None))
                    })
                    .collect::<Result<Vec<_>, EngineError>>()?
            }
            Finder::Clean { detector } => self.clean_faces(detector, image, max_faces)?,
        };
        order_faces(
            &mut faces,
            |f| f.detection.bbox,
            order,
            image.width(),
            image.height(),
        );
        faces.truncate(max_faces);
        Ok(faces)
    }

    /// BlazeFace boxes confirmed and refined by FaceMesh: a box whose mesh presence is low is
    /// dropped, the face's box becomes its mesh's, and duplicates merge.
    fn clean_faces(
        &self,
        detector: &BlazeFace,
        image: &RgbImage,
        max_faces: usize,
    ) -> Result<Vec<AnalysedFace>, EngineError> {
        let mut found = if max_faces > 1 {
            detector.detect(image)?
        } else {
            match detector.detect_whole(image)? {
                found if found.is_empty() => detector.detect(image)?,
                found => found,
            }
        };
        found.truncate(MAX_CANDIDATES);
        let mut faces = Vec::new();
        for candidate in found {
            let [left_eye, right_eye, ..] = candidate.keypoints;
            let roll = (right_eye.y - left_eye.y).atan2(right_eye.x - left_eye.x);
            let b = candidate.detection.bbox;
            let size = b.width().max(b.height());
            let mesh = self.mesh.locate(image, b.centre(), size, roll)?;
            // A box that fired below a face (on a beard and collar) gives a mesh whose
            // features sit high in the box; a real face has them near its middle (yaw moves
            // them sideways, so only the vertical offset counts).
            let centre = Point::mean(&mesh.five_points());
            if (centre.y - b.centre().y).abs() > VERTICAL_SHIFT_MAX * size {
                continue;
            }
            if mesh.presence < MESH_PRESENCE_MIN || !eyes_agree(&candidate.keypoints, &mesh) {
                continue;
            }
            let detection = Detection {
                bbox: mesh.bbox().clamp(image.width(), image.height()),
                score: candidate.detection.score,
            };
            let landmarks = Landmarks68(mesh.ibug68());
            faces.push(face_of(detection, landmarks, Some(mesh)));
        }
        // Mesh boxes of one face found twice overlap closely: keep the strongest.
        faces.sort_by(|a, b| b.detection.score.total_cmp(&a.detection.score));
        let mut kept: Vec<AnalysedFace> = Vec::new();
        for face in faces {
            if kept
                .iter()
                .all(|k| distinct(&k.detection.bbox, &face.detection.bbox))
            {
                kept.push(face);
            }
        }
        Ok(kept)
    }

    /// Places the 468-point mesh on a face that has none yet (default pack), for the
    /// attributes and landmark sets read off it.
    pub fn add_mesh(&self, image: &RgbImage, face: &mut AnalysedFace) -> Result<(), EngineError> {
        if face.mesh.is_none() {
            let b = face.detection.bbox;
            let mesh = self.mesh.locate(
                image,
                b.centre(),
                b.width().max(b.height()),
                face.pose.roll.to_radians(),
            )?;
            face.mesh = Some(mesh);
        }
        Ok(())
    }

    /// The wanted attributes of a face, placing its mesh first when one of them reads it and
    /// the face has none; an empty `wanted` runs nothing.
    pub fn attributes(
        &self,
        image: &RgbImage,
        face: &mut AnalysedFace,
        wanted: &Wanted,
    ) -> Result<Attributes, EngineError> {
        if wanted.is_empty() {
            return Ok(Attributes::default());
        }
        if wanted.needs_mesh(self.attributes.has_eye_network()) {
            self.add_mesh(image, face)?;
        }
        crate::attributes::compute(&self.attributes, image, face, wanted)
    }

    /// The attribute networks themselves (for calibration tools that need one network's raw
    /// output).
    pub fn attribute_nets(&self) -> &AttributeNets {
        &self.attributes
    }

    /// The identity embedding of one analysed face (unit length).
    pub fn embed(&self, image: &RgbImage, face: &AnalysedFace) -> Result<Vec<f32>, EngineError> {
        match &self.recogniser {
            Recogniser::ArcFace(embedder) => embedder.embed(image, &face.five),
            Recogniser::Dlib(net) => net.embed(image, &face.five.0),
        }
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

/// The default pack's boxes: one face wanted, the largest or most central one is rarely tiny,
/// so the costly fine tiles only run when several faces are asked for, or when nothing else
/// was found.
fn ulfd_detections(
    detector: &Detector,
    image: &RgbImage,
    max_faces: usize,
    order: FaceOrder,
) -> Result<Vec<Detection>, EngineError> {
    let mut detections = if max_faces > 1 {
        detector.detect_with(image, SmallFaces::All)?
    } else {
        match detector.detect_with(image, SmallFaces::Coarse)? {
            found if found.is_empty() => detector.fine_faces(image)?,
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
    Ok(detections)
}

/// Whether two mesh boxes are two faces: little overlap by IoU and by cover of the smaller.
fn distinct(a: &BBox, b: &BBox) -> bool {
    let iw = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let ih = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let cover = iw * ih / a.area().min(b.area()).max(1.0);
    a.iou(b) <= MESH_NMS_IOU && cover <= MESH_NMS_COVER
}

/// Whether BlazeFace's eyes lie where the mesh put them: a box
/// that fired on a collar or between two faces has its keypoints somewhere else.
fn eyes_agree(keypoints: &[Point; 6], mesh: &Mesh) -> bool {
    let [left, right, ..] = mesh.five_points();
    let eye_distance = (right.x - left.x).hypot(right.y - left.y).max(1.0);
    let off = |a: Point, b: Point| (a.x - b.x).hypot(a.y - b.y) / eye_distance;
    off(keypoints[0], left) < EYE_AGREEMENT && off(keypoints[1], right) < EYE_AGREEMENT
}

fn face_of(detection: Detection, landmarks: Landmarks68, mesh: Option<Mesh>) -> AnalysedFace {
    let five = match &mesh {
        Some(m) => FivePoints(m.five_points()),
        None => landmarks.five_points(),
    };
    let pose = landmarks.head_pose();
    AnalysedFace {
        detection,
        landmarks,
        five,
        pose,
        mesh,
    }
}
