//! End-to-end: a library enrolled with the default pack moves to the clean pack with
//! `faced library reembed`, from the face crops kept at registration, and nobody is lost; the
//! old pack is then refused on it.

mod common;

use common::*;
use serde_json::{json, Value};

/// Enrolled (first photo) and probe (second photo) of three tier-A people.
const PEOPLE: [(&str, &str, &str); 3] = [
    (
        "ann",
        "faces/lfw-deepfunneled/Ann_Veneman/Ann_Veneman_0002.jpg",
        "faces/lfw-deepfunneled/Ann_Veneman/Ann_Veneman_0003.jpg",
    ),
    (
        "abdullah",
        "faces/lfw-deepfunneled/Abdullah_Gul/Abdullah_Gul_0003.jpg",
        "faces/lfw-deepfunneled/Abdullah_Gul/Abdullah_Gul_0006.jpg",
    ),
    (
        "alvaro",
        "faces/lfw-deepfunneled/Alvaro_Uribe/Alvaro_Uribe_0002.jpg",
        "faces/lfw-deepfunneled/Alvaro_Uribe/Alvaro_Uribe_0003.jpg",
    ),
];

fn search(server: &Server, token: &str, probe: &str) -> Value {
    call_on(
        server,
        token,
        "search",
        with(
            image(probe),
            json!({"group_id_list": "staff", "match_threshold": 0, "face_sort_type": 1}),
        ),
    )
}

#[test]
fn a_library_moves_to_the_clean_pack_without_losing_anyone() {
    let data = fresh_data_dir("reembed");
    let app = create_app(&data, "reembed");
    let data_arg = data.to_str().expect("utf-8");
    {
        let server = start_server(&data, &[]);
        let token = token(&server, &app);
        // Not while a server runs on the directory.
        let busy = faced_fails(&["library", "reembed", "--pack", "clean", "--data", data_arg]);
        assert!(busy.contains("stop it first"), "{busy}");
        for (user, enrolled, _) in PEOPLE {
            let added = call_on(
                &server,
                &token,
                "faceset/user/add",
                with(
                    image(enrolled),
                    json!({"group_id": "staff", "user_id": user, "face_sort_type": 1}),
                ),
            );
            assert_eq!(code(&added), 0, "{added}");
        }
    }
    let out = faced(&["library", "reembed", "--pack", "clean", "--data", data_arg]);
    let summary: Value = serde_json::from_str(out.trim()).expect("JSON summary");
    assert_eq!(summary["changed"], 3, "{summary}");
    // Nothing left to do: a second run changes nothing.
    let again: Value = serde_json::from_str(
        faced(&["library", "reembed", "--pack", "clean", "--data", data_arg]).trim(),
    )
    .expect("JSON");
    assert_eq!(again["changed"], 0, "{again}");

    let config = data.join("clean.toml");
    std::fs::write(&config, "pack = \"clean\"\n").expect("config");
    {
        let server = start_server(&data, &["--config", config.to_str().expect("utf-8")]);
        let token = token(&server, &app);
        for (user, _, probe) in PEOPLE {
            let found = search(&server, &token, probe);
            assert_eq!(code(&found), 0, "{found}");
            assert_eq!(found["result"]["user_list"][0]["user_id"], user, "{found}");
        }
    }
    // The default pack may not search a library the clean pack built.
    let server = start_server(&data, &[]);
    let token = token(&server, &app);
    let refused = search(&server, &token, PEOPLE[0].2);
    assert_eq!(code(&refused), 222206, "{refused}");
}
