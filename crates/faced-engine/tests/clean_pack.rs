//! The clean pack end to end on real photos: BlazeFace boxes confirmed by FaceMesh, dlib's
//! ResNet-29 embeddings.

mod common;

use std::sync::OnceLock;

use common::{models_dir, pairs_auc, picture};
use faced_engine::detect::FaceOrder;
use faced_engine::pack::CLEAN;
use faced_engine::Engine;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::load(&CLEAN, &models_dir()).expect("clean pack loads (faced models fetch --all)")
    })
}

fn count(rel: &str) -> usize {
    engine()
        .analyse(&picture(rel), 120, FaceOrder::LargestFirst)
        .expect("analyse")
        .len()
}

#[test]
fn finds_the_faces_the_cases_table_expects() {
    assert_eq!(count("cases/no_face_landscape.jpg"), 0);
    assert!((4..=7).contains(&count("cases/group_selfie_7_faces.jpg")));
    let solvay = count("cases/group_solvay_29_faces_1600x720.jpg");
    assert!((25..=29).contains(&solvay), "{solvay} faces of 29");
    assert_eq!(count("cases/tiny_face_40x40.jpg"), 1);
    assert_eq!(count("cases/idphoto_358x441.jpg"), 1);
}

#[test]
fn every_face_has_its_mesh_and_landmarks() {
    let image = picture("faces/lfw-deepfunneled/Ann_Veneman/Ann_Veneman_0002.jpg");
    let faces = engine()
        .analyse(&image, 1, FaceOrder::CentreFirst)
        .expect("analyse");
    let face = &faces[0];
    let mesh = face.mesh.as_ref().expect("mesh");
    assert!(mesh.presence > 0.9);
    assert_eq!(face.landmarks.0.len(), 68);
    let b = face.detection.bbox;
    assert!((b.centre().x - 125.0).abs() < 25.0 && (b.centre().y - 125.0).abs() < 30.0);
    assert!(face.pose.roll.abs() < 15.0 && face.pose.yaw.abs() < 30.0);
}

#[test]
fn separates_people_on_labelled_pairs() {
    let embed = |rel: &str| {
        let image = picture(&format!("faces/{rel}"));
        let faces = engine()
            .analyse(&image, 1, FaceOrder::CentreFirst)
            .expect("analyse");
        let face = faces.first().unwrap_or_else(|| panic!("no face in {rel}"));
        engine().embed(&image, face).expect("embed")
    };
    let ordered = pairs_auc(60, embed);
    assert!(ordered > 0.97, "AUC {ordered:.3}");
}
