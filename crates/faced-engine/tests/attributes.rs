//! The attributes on real photos with the real networks, against the visual labels of
//! `crates/faced-bench/data/attribute_labels.csv` and controlled variants.

#[path = "variants/mod.rs"]
mod variants;

mod common;

use std::sync::OnceLock;

use common::models_dir;
use faced_engine::attributes::Wanted;
use faced_engine::detect::FaceOrder;
use faced_engine::pack::FACEPLUGIN;
use faced_engine::{landmark_sets, AnalysedFace, Engine};
use image::RgbImage;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::load(&FACEPLUGIN, &models_dir()).expect("pack loads (faced models fetch --all)")
    })
}

/// A photo under `shared/data/faces`.
fn picture(rel: &str) -> RgbImage {
    common::picture(&format!("faces/{rel}"))
}

fn centre_face(image: &RgbImage) -> AnalysedFace {
    engine()
        .analyse(image, 1, FaceOrder::CentreFirst)
        .expect("analyse")
        .into_iter()
        .next()
        .expect("a face")
}

/// (file, gender, glasses, expression, age) of the labelled photos.
fn labels() -> Vec<[String; 5]> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../faced-bench/data/attribute_labels.csv"
    ))
    .expect("labels");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            std::array::from_fn(|i| f[i].to_string())
        })
        .collect()
}

#[test]
fn nothing_runs_unless_asked() {
    let image = picture("lfw-deepfunneled/Ann_Veneman/Ann_Veneman_0002.jpg");
    let mut face = centre_face(&image);
    let none = engine()
        .attributes(&image, &mut face, &Wanted::default())
        .expect("attributes");
    assert_eq!(none, Default::default());
    assert!(face.mesh.is_none(), "not even the mesh is placed");
}

#[test]
fn gender_age_and_sunglasses_agree_with_the_labels() {
    let wanted = Wanted {
        age: true,
        gender: true,
        glasses: true,
        ..Wanted::default()
    };
    let (mut gender_right, mut age_error, mut n) = (0, 0.0f32, 0);
    let mut sun = (0, 0);
    for [file, gender, glasses, _, age] in labels().iter().step_by(3) {
        let image = picture(file);
        let mut face = centre_face(&image);
        let a = engine()
            .attributes(&image, &mut face, &wanted)
            .expect("attributes");
        n += 1;
        gender_right += usize::from(a.gender.map(|g| g.label) == Some(gender.as_str()));
        age_error += (a.age.expect("age") as f32 - age.parse::<f32>().expect("age")).abs();
        if glasses == "sun" {
            sun.0 += 1;
            sun.1 += usize::from(a.glasses.map(|g| g.label) == Some("sun"));
        }
    }
    assert!(gender_right * 100 >= n * 88, "gender {gender_right}/{n}");
    assert!(
        age_error / (n as f32) < 11.0,
        "age MAE {}",
        age_error / n as f32
    );
    assert!(
        sun.0 > 0 && sun.1 * 2 >= sun.0,
        "sun-glasses {}/{}",
        sun.1,
        sun.0
    );
}

#[test]
fn closed_and_open_eyes_and_a_laugh_are_told_apart() {
    let wanted = Wanted {
        eye_status: true,
        expression: true,
        ..Wanted::default()
    };
    let attributes = |rel: &str| {
        let image = picture(rel);
        let mut face = centre_face(&image);
        engine()
            .attributes(&image, &mut face, &wanted)
            .expect("attributes")
    };
    let open = attributes("lfw-deepfunneled/Ann_Veneman/Ann_Veneman_0002.jpg");
    let eyes = open.eye_status.expect("eyes");
    assert!(eyes.left_eye > 0.5 && eyes.right_eye > 0.5, "{eyes:?}");
    // The labelled laughs: most are laughs or smiles, none is "none" with confidence.
    let laughs: Vec<String> = labels()
        .into_iter()
        .filter(|l| l[3] == "laugh")
        .map(|l| l[0].clone())
        .take(8)
        .collect();
    let happy = laughs
        .iter()
        .filter(|f| attributes(f).expression.map(|e| e.label) != Some("none"))
        .count();
    assert!(
        happy >= 6,
        "{happy} of {} laughs seen as happy",
        laughs.len()
    );
}

#[test]
fn landmark_sets_sit_on_the_face() {
    let image = picture("lfw-deepfunneled/Ann_Veneman/Ann_Veneman_0002.jpg");
    let mut face = centre_face(&image);
    engine().add_mesh(&image, &mut face).expect("mesh");
    let mesh = face.mesh.as_ref().expect("mesh");
    let named = landmark_sets::landmark150(mesh);
    let at = |name: &str| {
        named
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("{name}"))
    };
    // Subject's sides: the right eye is on the image's left.
    assert!(at("eye_right_corner_right").x < at("eye_right_corner_left").x);
    assert!(at("eye_right_corner_left").x < at("nose_tip").x);
    assert!(at("nose_tip").x < at("eye_left_corner_right").x);
    assert!(at("eye_left_corner_right").x < at("eye_left_corner_left").x);
    // Top to bottom: brows, eyes, nose tip, mouth, chin.
    assert!(at("eyebrow_right_upper_3").y < at("eye_right_eyelid_upper_4").y);
    assert!(at("eye_right_eyelid_lower_4").y < at("nose_tip").y);
    assert!(at("nose_tip").y < at("mouth_lip_upper_outer_6").y);
    assert!(at("mouth_lip_lower_outer_6").y < at("chin_2").y);
    // The 4-point landmark agrees with the dense sets within a few pixels.
    let l72 = landmark_sets::landmark72(mesh);
    let b = face.detection.bbox;
    for p in &l72 {
        assert!(p.x > b.x1 - 20.0 && p.x < b.x2 + 20.0 && p.y > b.y1 - 30.0 && p.y < b.y2 + 20.0);
    }
}

#[test]
fn masks_and_drawings_are_seen_and_photos_are_neither() {
    let wanted = Wanted {
        mask: true,
        face_type: true,
        ..Wanted::default()
    };
    let (mut photo_flags, mut masked_seen, mut drawn_seen, mut n) = (0, 0, 0, 0);
    for [file, ..] in labels().iter().step_by(20) {
        let image = picture(file);
        let mut face = centre_face(&image);
        let a = engine()
            .attributes(&image, &mut face, &wanted)
            .expect("attributes");
        photo_flags += usize::from(a.mask.is_some_and(|m| m.0))
            + usize::from(a.face_type.is_some_and(|t| t.label == "cartoon"));
        assert!(face.mesh.is_none(), "mask and face_type need no mesh");
        engine().add_mesh(&image, &mut face).expect("mesh");
        let mesh = face.mesh.as_ref().expect("mesh");
        let outline: Vec<(f32, f32)> = [
            234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288,
            361, 323, 454, 357, 197, 128,
        ]
        .iter()
        .map(|&v| (mesh.xy(v).x, mesh.xy(v).y))
        .collect();
        let masked = variants::painted_polygon(&image, &outline, [235, 235, 235]);
        let mut f = face.clone();
        masked_seen += usize::from(
            engine()
                .attributes(&masked, &mut f, &wanted)
                .expect("attributes")
                .mask
                .is_some_and(|m| m.0),
        );
        let drawn = variants::cartoonised(&image);
        let mut f = centre_face(&drawn);
        drawn_seen += usize::from(
            engine()
                .attributes(&drawn, &mut f, &wanted)
                .expect("attributes")
                .face_type
                .is_some_and(|t| t.label == "cartoon"),
        );
        n += 1;
    }
    assert!(photo_flags <= 1, "{photo_flags} false flags on {n} photos");
    assert!(masked_seen * 10 >= n * 8, "{masked_seen}/{n} masks seen");
    assert!(drawn_seen * 10 >= n * 8, "{drawn_seen}/{n} drawings seen");
}
