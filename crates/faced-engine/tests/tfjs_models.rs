//! The TensorFlow.js loader on the real files of `@vladmandic/human`, run on real photos:
//! BlazeFace finds the faces, FaceMesh lands on them.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::{models_dir, pairs_auc, picture};
use faced_engine::blazeface::BlazeFace;
use faced_engine::detect::FaceOrder;
use faced_engine::dlib_resnet::DlibResNet;
use faced_engine::facemesh::FaceMesh;
use faced_engine::geometry::Point;
use faced_engine::pack::{Role, CLEAN, FACEPLUGIN};
use faced_engine::Engine;

fn model_path(role: Role) -> PathBuf {
    CLEAN
        .path_of(&models_dir(), role)
        .unwrap_or_else(|| panic!("the pack has no {role:?}"))
}

fn blazeface() -> &'static BlazeFace {
    static NET: OnceLock<BlazeFace> = OnceLock::new();
    NET.get_or_init(|| BlazeFace::load(&model_path(Role::BlazeFace)).expect("blazeface loads"))
}

fn facemesh() -> &'static FaceMesh {
    static NET: OnceLock<FaceMesh> = OnceLock::new();
    NET.get_or_init(|| FaceMesh::load(&model_path(Role::FaceMesh)).expect("facemesh loads"))
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::load(&FACEPLUGIN, &models_dir()).expect("engine loads"))
}

fn distance(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

const LFW: [&str; 4] = [
    "faces/lfw-deepfunneled/Abdullah_Gul/Abdullah_Gul_0001.jpg",
    "faces/lfw-deepfunneled/George_Pataki/George_Pataki_0001.jpg",
    "faces/lfw-deepfunneled/Ann_Veneman/Ann_Veneman_0002.jpg",
    "faces/lfw-deepfunneled/Condoleezza_Rice/Condoleezza_Rice_0008.jpg",
];

#[test]
fn blazeface_finds_the_centre_face_with_its_eyes() {
    for rel in LFW {
        let image = picture(rel);
        let found = blazeface().detect(&image).expect("runs");
        let centre = Point::new(125.0, 125.0);
        let face = found
            .iter()
            .min_by(|a, b| {
                distance(a.detection.bbox.centre(), centre)
                    .total_cmp(&distance(b.detection.bbox.centre(), centre))
            })
            .unwrap_or_else(|| panic!("no face in {rel}"));
        assert!(face.detection.score > 0.7, "{rel}: {face:?}");
        assert!(
            distance(face.detection.bbox.centre(), centre) < 30.0,
            "{rel}: {face:?}"
        );
        // The eyes agree with the 68-point model's to a fraction of the eye distance.
        let analysed = engine()
            .analyse(&image, 1, FaceOrder::CentreFirst)
            .expect("analyse");
        let five = analysed[0].five.0;
        let eye_distance = distance(five[0], five[1]);
        for (blaze, reference) in face.keypoints[..2].iter().zip(&five[..2]) {
            assert!(
                distance(*blaze, *reference) < 0.3 * eye_distance,
                "{rel}: {blaze:?} vs {reference:?}"
            );
        }
    }
}

#[test]
fn blazeface_finds_the_people_of_a_group_photo() {
    // 7 people, 4 whole and 3 cut by the frame (the cases' table expects 4–7).
    let image = picture("cases/group_selfie_7_faces.jpg");
    let found = blazeface().detect(&image).expect("runs");
    assert!((4..=7).contains(&found.len()), "{} faces", found.len());
    // 29 people with faces 40–50 px wide in a 1600×720 frame: the tiles find every face the
    // default detector finds (false boxes are for FaceMesh's presence to reject).
    let image = picture("cases/group_solvay_29_faces_1600x720.jpg");
    let found = blazeface().detect(&image).expect("runs");
    let reference = engine()
        .analyse(&image, 120, FaceOrder::LargestFirst)
        .expect("analyse");
    assert!(reference.len() >= 25, "{} reference faces", reference.len());
    let missed = reference
        .iter()
        .filter(|r| {
            !found
                .iter()
                .any(|f| f.detection.bbox.iou(&r.detection.bbox) > 0.3)
        })
        .count();
    assert!(missed <= 1, "{missed} of {} faces missed", reference.len());
}

#[test]
fn facemesh_lands_on_the_face() {
    for rel in LFW {
        let image = picture(rel);
        let analysed = engine()
            .analyse(&image, 1, FaceOrder::CentreFirst)
            .expect("analyse");
        let face = &analysed[0];
        let five = face.five.0;
        let size = face
            .detection
            .bbox
            .width()
            .max(face.detection.bbox.height());
        let mesh = facemesh()
            .locate(
                &image,
                face.detection.bbox.centre(),
                size,
                face.pose.roll.to_radians(),
            )
            .expect("runs");
        assert!(mesh.presence > 0.9, "{rel}: presence {}", mesh.presence);
        assert_eq!(mesh.points.len(), 468);
        let eye_distance = distance(five[0], five[1]);
        for (m, reference) in mesh.five_points().iter().zip(&five) {
            assert!(
                distance(*m, *reference) < 0.25 * eye_distance,
                "{rel}: mesh {m:?} vs 68-point {reference:?}"
            );
        }
    }
    // No face, no presence.
    let image = picture("cases/no_face_landscape.jpg");
    let (w, h) = (image.width() as f32, image.height() as f32);
    let mesh = facemesh()
        .locate(&image, Point::new(w / 2.0, h / 2.0), h / 2.0, 0.0)
        .expect("runs");
    assert!(mesh.presence < 0.5, "presence {}", mesh.presence);
}

#[test]
fn dlib_resnet_separates_people() {
    let net = DlibResNet::load(&model_path(Role::Embedder), true).expect("resnet loads");
    let embed = |rel: &str| {
        let image = picture(&format!("faces/{rel}"));
        let face = engine()
            .analyse(&image, 1, FaceOrder::CentreFirst)
            .expect("analyse")
            .remove(0);
        let size = face
            .detection
            .bbox
            .width()
            .max(face.detection.bbox.height());
        let mesh = facemesh()
            .locate(
                &image,
                face.detection.bbox.centre(),
                size,
                face.pose.roll.to_radians(),
            )
            .expect("mesh");
        let embedding = net.embed(&image, &mesh.five_points()).expect("embeds");
        assert_eq!(embedding.len(), 128);
        embedding
    };
    // Threshold-free: the share of (genuine, impostor) pairs ordered right (the ROC's area).
    let ordered = pairs_auc(40, embed);
    assert!(ordered > 0.95, "AUC {ordered:.3}");
}
