//! End-to-end: quality_control and face_field=quality on the real server with the real
//! models. Every failing image is a real LFW photo made worse in a controlled way here
//! (blurred, darkened, cut, or with a black patch painted over one face region), so each code
//! is provoked by its real condition. The engine is loaded in the test only to know where a
//! region lies in the photo; the server measures everything itself.

mod common;

#[path = "../../faced-engine/tests/variants/mod.rs"]
mod variants;

use std::sync::OnceLock;

use common::*;
use faced_engine::detect::FaceOrder;
use faced_engine::pack::FACEPLUGIN;
use faced_engine::quality::{self, Region};
use faced_engine::{AnalysedFace, Engine};
use image::RgbImage;
use serde_json::{json, Value};
use variants::Occluder;

/// A sharp, well-lit, frontal LFW photo (measured: every measure well inside NORMAL).
const CLEAN: &str = "faces/lfw-deepfunneled/Abdullah_Gul/Abdullah_Gul_0003.jpg";

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::load(&FACEPLUGIN, &models_dir()).expect("models"))
}

fn faces(image: &RgbImage, max: usize) -> Vec<AnalysedFace> {
    engine()
        .analyse(image, max, FaceOrder::LargestFirst)
        .expect("analyse")
}

/// `image` with a black patch over `region` of `face`.
fn black_over(image: &RgbImage, face: &AnalysedFace, region: Region) -> RgbImage {
    let boxes = quality::region_boxes(image, face).expect("regions");
    variants::occluded(image, &boxes[region as usize], Occluder::Black, [0.0; 3])
}

fn add(group: &str, user: &str, image: Value, level: &str) -> Value {
    call(
        "faceset/user/add",
        with(
            image,
            json!({"group_id": group, "user_id": user, "quality_control": level}),
        ),
    )
}

#[test]
fn detect_measures_quality_only_when_asked() {
    let clean = photo(CLEAN);
    let plain = call("detect", picture(&clean));
    assert_eq!(code(&plain), 0, "{plain}");
    assert!(plain["result"]["face_list"][0].get("quality").is_none());
    let asked = call(
        "detect",
        with(picture(&clean), json!({"face_field": "landmark,quality"})),
    );
    assert_eq!(code(&asked), 0, "{asked}");
    let q = &asked["result"]["face_list"][0]["quality"];
    let keys = [
        "left_eye",
        "right_eye",
        "nose",
        "mouth",
        "left_cheek",
        "right_cheek",
        "chin_contour",
    ];
    let occlusion = q["occlusion"].as_object().expect("occlusion");
    assert_eq!(
        occlusion.keys().collect::<Vec<_>>(),
        keys.iter().collect::<Vec<_>>()
    );
    for key in keys {
        let v = q["occlusion"][key].as_f64().expect("number");
        assert!((0.0..=0.6).contains(&v), "{key}: {q}");
    }
    let blur = q["blur"].as_f64().expect("blur");
    assert!((0.0..0.6).contains(&blur), "{q}");
    let light = q["illumination"].as_f64().expect("illumination");
    assert!((40.0..=255.0).contains(&light), "{q}");
    assert_eq!(q["completeness"], 1, "{q}");
    // The measures follow the picture: darker, blurred.
    let dark = call(
        "detect",
        with(
            picture(&variants::darkened(&clean, 0.5, 1.0)),
            json!({"face_field": "quality"}),
        ),
    );
    let dark_light = dark["result"]["face_list"][0]["quality"]["illumination"]
        .as_f64()
        .expect("illumination");
    assert!(dark_light < light * 0.6, "{light} → {dark_light}");
    let soft = call(
        "detect",
        with(
            picture(&variants::blurred(&clean, 2.5)),
            json!({"face_field": "quality"}),
        ),
    );
    let soft_blur = soft["result"]["face_list"][0]["quality"]["blur"]
        .as_f64()
        .expect("blur");
    assert!(soft_blur > blur + 0.3, "{blur} → {soft_blur}");
}

#[test]
fn each_failing_check_answers_its_code() {
    let clean = photo(CLEAN);
    let face = faces(&clean, 1).remove(0);
    // The clean photo passes NORMAL everywhere: what fails below is the variant.
    assert_eq!(code(&add("q_codes", "clean", picture(&clean), "NORMAL")), 0);

    // Blur, through match.
    let blurred = variants::blurred(&clean, 3.0);
    let m = call(
        "match",
        json!([
            with(picture(&blurred), json!({"quality_control": "NORMAL"})),
            picture(&clean)
        ]),
    );
    assert_eq!(code(&m), 223114, "{m}");
    // NONE (the default) checks nothing.
    let m = call(
        "match",
        json!([
            with(picture(&blurred), json!({"quality_control": "NONE"})),
            picture(&clean)
        ]),
    );
    assert_eq!(code(&m), 0, "{m}");

    // Illumination, through search.
    let dark = variants::darkened(&clean, 0.25, 1.0);
    let s = call(
        "search",
        with(
            picture(&dark),
            json!({"group_id_list": "q_codes", "quality_control": "NORMAL"}),
        ),
    );
    assert_eq!(code(&s), 223115, "{s}");
    let s = call(
        "search",
        with(picture(&dark), json!({"group_id_list": "q_codes"})),
    );
    assert_eq!(
        code(&s),
        0,
        "without a control the dark face is searched: {s}"
    );

    // Completeness (only HIGH asks for it), through user/update.
    let cut = variants::cut_right(&clean, &face.detection.bbox, 0.3);
    let u = call(
        "faceset/user/update",
        with(
            picture(&cut),
            json!({"group_id": "q_codes", "user_id": "clean", "quality_control": "HIGH"}),
        ),
    );
    assert_eq!(code(&u), 223116, "{u}");

    // Occlusion of each region, through user/add.
    for (region, expected) in [
        (Region::LeftEye, 223121),
        (Region::RightEye, 223122),
        (Region::LeftCheek, 223123),
        (Region::RightCheek, 223124),
        (Region::ChinContour, 223125),
        (Region::Nose, 223126),
        (Region::Mouth, 223127),
    ] {
        let covered = black_over(&clean, &face, region);
        let answer = add("q_codes", "covered", picture(&covered), "NORMAL");
        assert_eq!(code(&answer), expected, "{region:?}: {answer}");
    }
    // The whole lower face covered (nose, mouth, cheeks, chin): the aggregate code.
    let boxes = quality::region_boxes(&clean, &face).expect("regions");
    let lower = [
        Region::Nose,
        Region::Mouth,
        Region::LeftCheek,
        Region::RightCheek,
        Region::ChinContour,
    ]
    .iter()
    .fold(boxes[Region::Nose as usize], |b, r| {
        let o = boxes[*r as usize];
        faced_engine::geometry::BBox {
            x1: b.x1.min(o.x1),
            y1: b.y1.min(o.y1),
            x2: b.x2.max(o.x2),
            y2: b.y2.max(o.y2),
        }
    });
    let masked = variants::occluded(&clean, &lower, Occluder::Black, [0.0; 3]);
    let answer = add("q_codes", "covered", picture(&masked), "NORMAL");
    assert_eq!(code(&answer), 223113, "{answer}");
}

#[test]
fn detect_and_multi_search_leave_out_failing_faces() {
    let couple = photo("cases/size_1920x1080_couple.jpg");
    let found = faces(&couple, 10);
    assert_eq!(found.len(), 2);
    let covered = black_over(&couple, &found[1], Region::LeftEye);
    let detect = |level: &str| {
        call(
            "detect",
            with(
                picture(&covered),
                json!({"max_face_num": 10, "quality_control": level, "face_field": "quality"}),
            ),
        )
    };
    let all = detect("NONE");
    assert_eq!(all["result"]["face_num"], 2, "{all}");
    let kept = detect("NORMAL");
    assert_eq!(code(&kept), 0, "{kept}");
    assert_eq!(kept["result"]["face_num"], 1, "{kept}");
    assert!(
        kept["result"]["face_list"][0]["quality"]["occlusion"]["left_eye"]
            .as_f64()
            .expect("left_eye")
            <= 0.6
    );

    assert_eq!(code(&add("q_multi", "larger", picture(&couple), "NONE")), 0);
    let multi = |level: &str| {
        call(
            "multi-search",
            with(
                picture(&covered),
                json!({"group_id_list": "q_multi", "max_face_num": 10, "match_threshold": 0,
                       "quality_control": level}),
            ),
        )
    };
    let both = multi("NONE");
    assert_eq!(both["result"]["face_num"], 2, "{both}");
    let one = multi("NORMAL");
    assert_eq!(one["result"]["face_num"], 1, "{one}");
    // The face kept is the clean, larger one: it finds its own registration.
    assert_eq!(
        one["result"]["face_list"][0]["user_list"][0]["user_id"], "larger",
        "{one}"
    );
}

#[test]
fn face_tokens_carry_the_quality_seen_with_their_photo() {
    let clean = photo(CLEAN);
    let face = faces(&clean, 1).remove(0);
    let covered = black_over(&clean, &face, Region::LeftEye);
    // A registered face always carries its quality, so its token can be checked later.
    let kept = add("q_tokens", "covered", picture(&covered), "NONE");
    assert_eq!(code(&kept), 0, "NONE lets an occluded face through: {kept}");
    let token = kept["result"]["face_token"].as_str().expect("token");
    let as_token = json!({"image": token, "image_type": "FACE_TOKEN"});
    let m = call(
        "match",
        json!([
            with(as_token.clone(), json!({"quality_control": "NORMAL"})),
            picture(&clean)
        ]),
    );
    assert_eq!(code(&m), 223121, "{m}");
    let m = call(
        "match",
        json!([
            with(as_token, json!({"quality_control": "LOW"})),
            picture(&clean)
        ]),
    );
    assert_eq!(code(&m), 223121, "a black eye patch fails LOW too: {m}");
    // A token from a detect that measured nothing cannot be judged: 223118.
    let plain = call("detect", picture(&variants::blurred(&clean, 0.5)));
    let token = plain["result"]["face_list"][0]["face_token"]
        .as_str()
        .expect("token");
    let s = call(
        "search",
        json!({"image": token, "image_type": "FACE_TOKEN", "group_id_list": "q_tokens",
               "quality_control": "NORMAL"}),
    );
    assert_eq!(code(&s), 223118, "{s}");
    // The same token with face_field=quality in detect measured: now it can be judged.
    let measured = call(
        "detect",
        with(
            picture(&variants::blurred(&clean, 0.5)),
            json!({"face_field": "quality"}),
        ),
    );
    let token = measured["result"]["face_list"][0]["face_token"]
        .as_str()
        .expect("token");
    let s = call(
        "search",
        json!({"image": token, "image_type": "FACE_TOKEN", "group_id_list": "q_tokens",
               "quality_control": "NORMAL", "match_threshold": 0}),
    );
    assert_eq!(code(&s), 0, "{s}");
}

#[test]
fn a_bad_level_is_a_parameter_error() {
    let answer = call(
        "detect",
        with(image(CLEAN), json!({"quality_control": "MEDIUM"})),
    );
    assert_eq!(code(&answer), 222019, "{answer}");
}
