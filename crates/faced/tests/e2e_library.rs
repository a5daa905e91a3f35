//! End-to-end: managing the face library (users, faces, groups) and M:N search, against the
//! real server with the real models (spec §1.7, §1.10, §6.4–§6.15).
//!
//! Tests that only read or write their own groups share one server (`shared()`), each with
//! group names of its own (`lib_<test>_...`); tests that restart the server or load it hard
//! start their own.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};

/// A photo of an LFW tier-A person: `faces/lfw-deepfunneled/<name>/<name>_<n>.jpg`.
fn lfw(name: &str, n: u32) -> String {
    format!("faces/lfw-deepfunneled/{name}/{name}_{n:04}.jpg")
}

const COUPLE: &str = "cases/size_1920x1080_couple.jpg";
const STRANGER: &str = "faces/lfw-singletons/Frank_Zappa/Frank_Zappa_0001.jpg";

/// One app's view of one server.
struct Api<'a> {
    server: &'a Server,
    token: String,
}

impl Api<'_> {
    fn call(&self, api: &str, body: Value) -> Value {
        call_on(self.server, &self.token, api, body)
    }

    fn code(&self, api: &str, body: Value) -> i64 {
        code(&self.call(api, body))
    }

    /// Calls and asserts success; returns `result`.
    fn ok(&self, api: &str, body: Value) -> Value {
        let answer = self.call(api, body);
        assert_eq!(code(&answer), 0, "{api}: {answer}");
        answer["result"].clone()
    }

    /// Calls an endpoint without payload: asserts success and `"result": null`.
    fn done(&self, api: &str, body: Value) {
        let answer = self.call(api, body);
        assert_eq!(code(&answer), 0, "{api}: {answer}");
        assert!(
            answer.as_object().is_some_and(|o| o.contains_key("result"))
                && answer["result"].is_null(),
            "{api}: result must be null: {answer}"
        );
    }

    /// Registers the centre face of `photo` as `user` in `group`; returns its face_token.
    fn add(&self, group: &str, user: &str, photo: &str, extra: Value) -> String {
        let body = with(
            with(
                image(photo),
                json!({"group_id": group, "user_id": user, "face_sort_type": 1}),
            ),
            extra,
        );
        let result = self.ok("faceset/user/add", body);
        result["face_token"]
            .as_str()
            .expect("face_token")
            .to_string()
    }

    /// The face_tokens `face/getlist` lists, in order.
    fn face_tokens(&self, group: &str, user: &str) -> Vec<String> {
        let result = self.ok(
            "faceset/face/getlist",
            json!({"group_id": group, "user_id": user}),
        );
        result["face_list"]
            .as_array()
            .expect("face_list")
            .iter()
            .map(|f| f["face_token"].as_str().expect("face_token").to_string())
            .collect()
    }

    /// The user ids `group/getusers` lists (default paging).
    fn users(&self, group: &str) -> Value {
        self.ok("faceset/group/getusers", json!({"group_id": group}))["user_id_list"].clone()
    }

    /// Searches `group_list` with `photo`; returns the whole answer.
    fn search(&self, group_list: &str, photo: &str, extra: Value) -> Value {
        self.call(
            "search",
            with(
                with(
                    image(photo),
                    json!({"group_id_list": group_list, "face_sort_type": 1}),
                ),
                extra,
            ),
        )
    }
}

fn shared_api() -> Api<'static> {
    let (server, _, token) = shared();
    Api {
        server,
        token: token.clone(),
    }
}

/// A server of its own over a fresh data directory, with one app.
fn own_server(name: &str, extra: &[&str]) -> (Server, App, String) {
    let data = fresh_data_dir(name);
    let app = create_app(&data, name);
    let server = start_server(&data, extra);
    let token = token(&server, &app);
    (server, app, token)
}

/// `"YYYY-MM-DD HH:MM:SS"`.
fn is_ctime(s: &str) -> bool {
    s.len() == 19
        && s.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == ' ',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        })
}

/// The first `per_person` photos (name order) of the first `people` tier-A identities.
fn tier_a(people: usize, per_person: usize) -> Vec<(String, Vec<String>)> {
    let identities =
        std::fs::read_to_string(shared_data().join("faces/identities.csv")).expect("identities");
    let labels = std::fs::read_to_string(shared_data().join("faces/labels.csv")).expect("labels");
    identities
        .lines()
        .skip(1)
        .filter(|l| l.contains(",multiA,"))
        .map(|l| l.split(',').next().unwrap_or_default().to_string())
        .take(people)
        .map(|person| {
            let mut files: Vec<String> = labels
                .lines()
                .filter(|l| l.ends_with(&format!(",{person}")))
                .map(|l| format!("faces/{}", l.split(',').next().unwrap_or_default()))
                .collect();
            files.sort();
            files.truncate(per_person);
            assert_eq!(files.len(), per_person, "{person} has too few photos");
            (person, files)
        })
        .collect()
}

/// A user id made of an LFW name.
fn uid(person: &str) -> String {
    person.replace('-', "_")
}

#[test]
fn user_get_face_getlist_and_group_getusers() {
    let api = shared_api();
    let (a, b, empty) = ("lib_get_a", "lib_get_b", "lib_get_empty");
    for g in [a, b, empty] {
        api.done("faceset/group/add", json!({"group_id": g}));
    }
    let ann1 = api.add(
        a,
        "get_ann",
        &lfw("Ann_Veneman", 1),
        json!({"user_info": "Ann V"}),
    );
    let ann2 = api.add(a, "get_ann", &lfw("Ann_Veneman", 2), json!({}));
    api.add(a, "get_colin", &lfw("Colin_Powell", 1), json!({}));
    api.add(
        b,
        "get_ann",
        &lfw("Ann_Veneman", 3),
        json!({"user_info": "Ann B"}),
    );
    api.add(a, "get_bush", &lfw("George_W_Bush", 1), json!({}));

    // user/get: one entry per group holding the user, groups in creation order.
    let one = api.ok(
        "faceset/user/get",
        json!({"user_id": "get_ann", "group_id": a}),
    );
    assert_eq!(
        one,
        json!({"user_list": [{"user_info": "Ann V", "group_id": a}]}),
        "user_info kept by a later add without user_info"
    );
    let all = api.ok(
        "faceset/user/get",
        json!({"user_id": "get_ann", "group_id": "@ALL"}),
    );
    assert_eq!(
        all,
        json!({"user_list": [{"user_info": "Ann V", "group_id": a}, {"user_info": "Ann B", "group_id": b}]})
    );
    let colin = api.ok(
        "faceset/user/get",
        json!({"user_id": "get_colin", "group_id": "@ALL"}),
    );
    assert_eq!(
        colin,
        json!({"user_list": [{"user_info": "", "group_id": a}]}),
        "user_info is \"\" when none was stored"
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "get_nobody", "group_id": a})
        ),
        223103
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "get_colin", "group_id": b})
        ),
        223103
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "get_nobody", "group_id": "@ALL"})
        ),
        223103
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "get_ann", "group_id": "lib_get_missing"})
        ),
        223100
    );

    // face/getlist: insertion order, {face_token, ctime}.
    let list = api.ok(
        "faceset/face/getlist",
        json!({"user_id": "get_ann", "group_id": a}),
    );
    let faces = list["face_list"].as_array().expect("face_list");
    assert_eq!(faces.len(), 2, "{list}");
    let mut previous = String::new();
    for (face, token) in faces.iter().zip([&ann1, &ann2]) {
        let keys: BTreeSet<&str> = face
            .as_object()
            .expect("face")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["face_token", "ctime"]), "{face}");
        assert_eq!(face["face_token"], json!(token));
        let ctime = face["ctime"].as_str().expect("ctime");
        assert!(is_ctime(ctime), "ctime {ctime:?}");
        assert!(ctime >= previous.as_str(), "ctime in insertion order");
        previous = ctime.to_string();
    }
    assert_eq!(api.face_tokens(b, "get_ann").len(), 1);
    assert_eq!(
        api.code(
            "faceset/face/getlist",
            json!({"user_id": "get_colin", "group_id": b})
        ),
        223103
    );
    assert_eq!(
        api.code(
            "faceset/face/getlist",
            json!({"user_id": "get_ann", "group_id": "lib_get_missing"})
        ),
        223100
    );

    // group/getusers: insertion order, paging, limits.
    assert_eq!(api.users(a), json!(["get_ann", "get_colin", "get_bush"]));
    assert_eq!(api.users(empty), json!([]));
    let page = |start: Value, length: Value| {
        api.call(
            "faceset/group/getusers",
            json!({"group_id": a, "start": start, "length": length}),
        )
    };
    assert_eq!(
        page(json!(1), json!(1))["result"]["user_id_list"],
        json!(["get_colin"])
    );
    assert_eq!(
        page(json!("1"), json!("5"))["result"]["user_id_list"],
        json!(["get_colin", "get_bush"]),
        "numbers may be strings"
    );
    assert_eq!(
        page(json!(3), json!(10))["result"]["user_id_list"],
        json!([])
    );
    assert_eq!(
        page(json!(0), json!(1000))["result"]["user_id_list"],
        json!(["get_ann", "get_colin", "get_bush"])
    );
    for bad in [json!(0), json!(1001), json!(-1), json!("x"), json!(2.5)] {
        assert_eq!(code(&page(json!(0), bad.clone())), 222003, "length {bad}");
    }
    for bad in [json!(-1), json!("x"), json!(1.5)] {
        assert_eq!(code(&page(bad.clone(), json!(10))), 222002, "start {bad}");
    }
    assert_eq!(
        api.code(
            "faceset/group/getusers",
            json!({"group_id": "lib_get_missing"})
        ),
        223100
    );
}

#[test]
fn user_update_replaces_all_faces() {
    let api = shared_api();
    let g = "lib_upd";
    api.add(g, "u", &lfw("Ann_Veneman", 1), json!({"user_info": "Ann"}));
    api.add(g, "u", &lfw("Ann_Veneman", 2), json!({}));
    api.add(g, "other", &lfw("Tony_Blair", 1), json!({}));
    assert_eq!(api.face_tokens(g, "u").len(), 2);
    let before = api.search(g, &lfw("Ann_Veneman", 1), json!({"match_threshold": 80}));
    assert_eq!(before["result"]["user_list"][0]["user_id"], "u", "{before}");

    let result = api.ok(
        "faceset/user/update",
        with(
            image(&lfw("Colin_Powell", 1)),
            json!({"group_id": g, "user_id": "u", "user_info": "now Colin"}),
        ),
    );
    let token = result["face_token"].as_str().expect("face_token");
    assert_eq!(token.len(), 32, "{result}");
    for key in ["left", "top", "width", "height"] {
        assert!(
            result["location"][key].is_number(),
            "location.{key}: {result}"
        );
    }
    assert!(result["location"]["rotation"].is_i64(), "{result}");
    assert!(result["location"]["width"].as_f64().unwrap_or(0.0) > 0.0);
    assert_eq!(
        api.face_tokens(g, "u"),
        [token],
        "update keeps only the new face"
    );
    assert_eq!(
        api.ok("faceset/user/get", json!({"user_id": "u", "group_id": g})),
        json!({"user_list": [{"user_info": "now Colin", "group_id": g}]})
    );
    let old_face = api.search(g, &lfw("Ann_Veneman", 1), json!({"match_threshold": 80}));
    assert_eq!(code(&old_face), 222207, "Ann's faces are gone: {old_face}");
    let new_face = api.search(g, &lfw("Colin_Powell", 1), json!({"match_threshold": 80}));
    assert_eq!(new_face["result"]["user_list"][0]["user_id"], "u");
    assert_eq!(
        api.face_tokens(g, "other").len(),
        1,
        "other users untouched"
    );

    // UPDATE (the default) needs the user; REPLACE registers it.
    let update = |user: &str, extra: Value| {
        api.code(
            "faceset/user/update",
            with(
                with(
                    image(&lfw("George_W_Bush", 1)),
                    json!({"group_id": g, "user_id": user}),
                ),
                extra,
            ),
        )
    };
    assert_eq!(update("absent", json!({})), 223103);
    assert_eq!(update("absent", json!({"action_type": "UPDATE"})), 223103);
    assert_eq!(
        api.code(
            "faceset/user/update",
            with(
                image(&lfw("George_W_Bush", 1)),
                json!({"group_id": "lib_upd_missing", "user_id": "u"})
            )
        ),
        223100
    );
    assert_eq!(
        update(
            "fresh",
            json!({"action_type": "REPLACE", "user_info": "x".repeat(256)})
        ),
        0,
        "REPLACE registers an absent user (256-byte user_info is allowed)"
    );
    assert_eq!(api.face_tokens(g, "fresh").len(), 1);
    assert_eq!(api.users(g), json!(["u", "other", "fresh"]));
    assert_eq!(
        update("u", json!({"user_info": "é".repeat(129)})),
        222010,
        "258 bytes"
    );
    assert_eq!(update("u", json!({"user_info": "x".repeat(257)})), 222010);
    assert_eq!(update("u", json!({"quality_control": "MAX"})), 222019);
    assert_eq!(
        update("u", json!({"liveness_control": "SOMETIMES"})),
        222020
    );
    assert_eq!(
        api.code(
            "faceset/user/update",
            with(
                image("cases/no_face_landscape.jpg"),
                json!({"group_id": g, "user_id": "u"})
            )
        ),
        222202
    );
    assert_eq!(
        api.face_tokens(g, "u"),
        [token],
        "failed updates change nothing"
    );
}

#[test]
fn face_delete_rules_and_the_last_face_takes_the_user() {
    let api = shared_api();
    let g = "lib_fdel";
    let t1 = api.add(g, "u", &lfw("Ann_Veneman", 1), json!({}));
    let t2 = api.add(g, "u", &lfw("Ann_Veneman", 2), json!({}));
    let tv = api.add(g, "v", &lfw("Colin_Powell", 1), json!({}));
    let delete = |user: &str, group: &str, token: &str| {
        api.call(
            "faceset/face/delete",
            json!({"user_id": user, "group_id": group, "face_token": token}),
        )
    };
    assert_eq!(code(&delete("u", g, &tv)), 223106, "v's face is not u's");
    assert_eq!(
        code(&delete("u", g, "0123456789abcdef0123456789abcdef")),
        223106
    );
    assert_eq!(code(&delete("nobody", g, &t1)), 223103);
    assert_eq!(code(&delete("u", "lib_fdel_missing", &t1)), 223100);
    for bad in [
        "bad-token!".to_string(),
        "a".repeat(65),
        "tok en".to_string(),
    ] {
        assert_eq!(code(&delete("u", g, &bad)), 222025, "face_token {bad:?}");
    }
    assert_eq!(
        code(&delete("u", g, &"a".repeat(64))),
        223106,
        "64 bytes is valid syntax"
    );
    assert_eq!(api.face_tokens(g, "u"), [t1.clone(), t2.clone()]);

    api.done(
        "faceset/face/delete",
        json!({"user_id": "u", "group_id": g, "face_token": t1}),
    );
    assert_eq!(api.face_tokens(g, "u"), std::slice::from_ref(&t2));
    assert_eq!(code(&delete("u", g, &t1)), 223106, "already deleted");
    let gone = api.search(g, &lfw("Ann_Veneman", 1), json!({"user_id": "u"}));
    let best = gone["result"]["user_list"][0]["score"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        best < 99.0,
        "the deleted face no longer matches its own photo: {gone}"
    );

    // The last face takes the user with it.
    api.done(
        "faceset/face/delete",
        json!({"user_id": "u", "group_id": g, "face_token": t2}),
    );
    assert_eq!(
        api.code("faceset/user/get", json!({"user_id": "u", "group_id": g})),
        223103
    );
    assert_eq!(
        api.code(
            "faceset/face/getlist",
            json!({"user_id": "u", "group_id": g})
        ),
        223103
    );
    assert_eq!(api.users(g), json!(["v"]));
    assert_eq!(code(&delete("u", g, &t2)), 223103);
    // The token is free again: the same photo registers anew.
    assert_eq!(api.add(g, "u", &lfw("Ann_Veneman", 2), json!({})), t2);
}

#[test]
fn user_copy_rules() {
    let api = shared_api();
    let (src, d1, d2, d3) = ("lib_cp_src", "lib_cp_d1", "lib_cp_d2", "lib_cp_d3");
    for g in [src, d1, d2, d3] {
        api.done("faceset/group/add", json!({"group_id": g}));
    }
    api.add(
        src,
        "cp_ann",
        &lfw("Ann_Veneman", 1),
        json!({"user_info": "Ann"}),
    );
    api.add(src, "cp_ann", &lfw("Ann_Veneman", 2), json!({}));
    api.add(src, "cp_colin", &lfw("Colin_Powell", 1), json!({}));
    let copy = |user: &str, from: &str, to: &str| {
        api.call(
            "faceset/user/copy",
            json!({"user_id": user, "src_group_id": from, "dst_group_id": to}),
        )
    };

    api.done(
        "faceset/user/copy",
        json!({"user_id": "cp_ann", "src_group_id": src, "dst_group_id": format!("{d1},{d2}")}),
    );
    let original = api.ok(
        "faceset/face/getlist",
        json!({"user_id": "cp_ann", "group_id": src}),
    );
    for dst in [d1, d2] {
        let copied = api.ok(
            "faceset/face/getlist",
            json!({"user_id": "cp_ann", "group_id": dst}),
        );
        assert_eq!(copied, original, "same face_tokens in {dst}");
        assert_eq!(api.users(dst), json!(["cp_ann"]), "only ann is copied");
        let found = api.search(dst, &lfw("Ann_Veneman", 1), json!({"match_threshold": 80}));
        assert_eq!(code(&found), 0, "{found}");
        let top = &found["result"]["user_list"][0];
        assert_eq!(
            (&top["user_id"], &top["group_id"], &top["user_info"]),
            (&json!("cp_ann"), &json!(dst), &json!("Ann")),
            "{found}"
        );
        assert!(top["score"].as_f64().unwrap_or(0.0) >= 80.0);
    }
    assert_eq!(
        api.ok(
            "faceset/user/get",
            json!({"user_id": "cp_ann", "group_id": "@ALL"})
        ),
        json!({"user_list": [
            {"user_info": "Ann", "group_id": src},
            {"user_info": "Ann", "group_id": d1},
            {"user_info": "Ann", "group_id": d2},
        ]})
    );

    assert_eq!(code(&copy("cp_ann", src, d1)), 223102, "already in dst");
    assert_eq!(code(&copy("cp_ann", src, "lib_cp_missing")), 223111);
    assert_eq!(
        code(&copy("cp_colin", src, &format!("{d3},lib_cp_missing"))),
        223111
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "cp_colin", "group_id": d3})
        ),
        223103,
        "a refused copy copies nothing"
    );
    assert_eq!(code(&copy("cp_ann", "lib_cp_nosrc", d3)), 223100);
    assert_eq!(code(&copy("cp_nobody", src, d3)), 223103);
    assert_eq!(
        code(&copy("cp_colin", d1, d3)),
        223103,
        "colin is not in d1"
    );
    assert_eq!(
        code(&copy("cp_colin", src, &format!("{d3},bad id"))),
        222006
    );

    // A copy is independent of its source.
    api.done(
        "faceset/user/delete",
        json!({"user_id": "cp_ann", "group_id": src}),
    );
    assert_eq!(
        api.ok(
            "faceset/face/getlist",
            json!({"user_id": "cp_ann", "group_id": d1})
        ),
        original
    );
}

#[test]
fn user_delete_rules() {
    let api = shared_api();
    let (a, b) = ("lib_udel_a", "lib_udel_b");
    api.add(a, "udel_ann", &lfw("Ann_Veneman", 1), json!({}));
    api.add(a, "udel_colin", &lfw("Colin_Powell", 1), json!({}));
    api.add(b, "udel_ann", &lfw("Ann_Veneman", 1), json!({}));
    let found = api.search(a, &lfw("Ann_Veneman", 1), json!({"match_threshold": 80}));
    assert_eq!(found["result"]["user_list"][0]["user_id"], "udel_ann");

    api.done(
        "faceset/user/delete",
        json!({"group_id": a, "user_id": "udel_ann"}),
    );
    let gone = api.search(a, &lfw("Ann_Veneman", 1), json!({"match_threshold": 80}));
    assert_eq!(code(&gone), 222207, "{gone}");
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "udel_ann", "group_id": a})
        ),
        223103
    );
    assert_eq!(
        api.ok(
            "faceset/user/get",
            json!({"user_id": "udel_ann", "group_id": "@ALL"})
        ),
        json!({"user_list": [{"user_info": "", "group_id": b}]}),
        "only that group"
    );
    assert_eq!(api.users(a), json!(["udel_colin"]));
    let other_group = api.search(b, &lfw("Ann_Veneman", 1), json!({"match_threshold": 80}));
    assert_eq!(other_group["result"]["user_list"][0]["user_id"], "udel_ann");

    assert_eq!(
        api.code(
            "faceset/user/delete",
            json!({"group_id": a, "user_id": "udel_ann"})
        ),
        223103
    );
    assert_eq!(
        api.code(
            "faceset/user/delete",
            json!({"group_id": "lib_udel_missing", "user_id": "udel_ann"})
        ),
        223100
    );

    // @ALL: every group.
    api.add(a, "udel_ann", &lfw("Ann_Veneman", 2), json!({}));
    api.done(
        "faceset/user/delete",
        json!({"group_id": "@ALL", "user_id": "udel_ann"}),
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "udel_ann", "group_id": "@ALL"})
        ),
        223103
    );
    assert_eq!(
        code(&api.search(
            &format!("{a},{b}"),
            &lfw("Ann_Veneman", 1),
            json!({"match_threshold": 80})
        )),
        222207
    );
    assert_eq!(api.users(a), json!(["udel_colin"]));
    assert_eq!(api.users(b), json!([]));
    assert_eq!(
        api.code(
            "faceset/user/delete",
            json!({"group_id": "@ALL", "user_id": "udel_ann"})
        ),
        223103
    );
}

#[test]
fn group_delete_rules() {
    let api = shared_api();
    let g = "lib_gdel";
    api.add(g, "gdel_ann", &lfw("Ann_Veneman", 1), json!({}));
    api.add(g, "gdel_colin", &lfw("Colin_Powell", 1), json!({}));
    api.done("faceset/group/add", json!({"group_id": "lib_gdel_keep"}));
    let listed = |id: &str| {
        let all = api.ok("faceset/group/getlist", json!({"length": 1000}));
        all["group_id_list"]
            .as_array()
            .expect("group_id_list")
            .contains(&json!(id))
    };
    assert!(listed(g));

    api.done("faceset/group/delete", json!({"group_id": g}));
    assert!(!listed(g), "group/getlist no longer lists it");
    assert!(listed("lib_gdel_keep"), "other groups stay");
    assert_eq!(
        code(&api.search(g, &lfw("Ann_Veneman", 1), json!({}))),
        223100
    );
    assert_eq!(
        api.code("faceset/group/getusers", json!({"group_id": g})),
        223100
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "gdel_ann", "group_id": g})
        ),
        223100
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "gdel_ann", "group_id": "@ALL"})
        ),
        223103
    );
    let again = api.code("faceset/group/delete", json!({"group_id": g}));
    assert!(again == 223100 || again == 223128, "second delete: {again}");
    assert_eq!(
        api.code(
            "faceset/group/delete",
            json!({"group_id": "lib_gdel_missing"})
        ),
        223100
    );
    // user/add creates a missing group (§6.5): right after the deletion it either waits for
    // the deletion to finish (223128) or starts a new, empty group.
    let re_add = api.call(
        "faceset/user/add",
        with(
            image(&lfw("Tony_Blair", 1)),
            json!({"group_id": g, "user_id": "gdel_newcomer"}),
        ),
    );
    match code(&re_add) {
        223128 => {}
        0 => {
            assert_eq!(
                api.users(g),
                json!(["gdel_newcomer"]),
                "nothing of the old group"
            );
            assert_eq!(
                code(&api.search(g, &lfw("Ann_Veneman", 1), json!({"match_threshold": 80}))),
                222207
            );
        }
        other => panic!("user/add after group/delete: {other} {re_add}"),
    }
}

#[test]
fn multi_search_finds_each_face_of_a_photo() {
    let api = shared_api();
    let detected = api.ok("detect", with(image(COUPLE), json!({"max_face_num": 2})));
    let mut faces = detected["face_list"].as_array().expect("faces").clone();
    assert_eq!(faces.len(), 2);
    let left_of = |f: &Value| f["location"]["left"].as_f64().expect("left");
    faces.sort_by(|x, y| left_of(x).total_cmp(&left_of(y)));
    let token_of = |f: &Value| f["face_token"].as_str().expect("token").to_string();
    let (left, right) = (token_of(&faces[0]), token_of(&faces[1]));
    let by_token = |group: &str, user: &str, token: &str| {
        let result = api.ok(
            "faceset/user/add",
            json!({"image": token, "image_type": "FACE_TOKEN", "group_id": group, "user_id": user, "user_info": user.to_uppercase()}),
        );
        assert_eq!(result["face_token"], json!(token));
    };
    let g = "lib_ms";
    by_token(g, "left", &left);
    by_token(g, "right", &right);
    let multi = |groups: &str, extra: Value| {
        api.call(
            "multi-search",
            with(with(image(COUPLE), json!({"group_id_list": groups})), extra),
        )
    };

    let answer = multi(g, json!({"max_face_num": 2}));
    assert_eq!(code(&answer), 0, "{answer}");
    let result = &answer["result"];
    assert_eq!(result["face_num"], 2, "{answer}");
    let list = result["face_list"].as_array().expect("face_list");
    assert_eq!(list.len(), 2);
    let mut seen = BTreeSet::new();
    for face in list {
        let token = face["face_token"].as_str().expect("face_token");
        let expected = if token == left {
            "left"
        } else if token == right {
            "right"
        } else {
            panic!("unknown face_token {token}: {answer}")
        };
        seen.insert(expected);
        for key in ["left", "top", "width", "height"] {
            assert!(face["location"][key].is_number(), "{face}");
        }
        assert!(face["location"]["rotation"].is_i64(), "{face}");
        let users = face["user_list"].as_array().expect("user_list");
        assert_eq!(users.len(), 1, "max_user_num defaults to 1: {face}");
        let top = &users[0];
        assert_eq!(
            (&top["group_id"], &top["user_id"], &top["user_info"]),
            (&json!(g), &json!(expected), &json!(expected.to_uppercase())),
            "{face}"
        );
        assert!(top["score"].as_f64().unwrap_or(0.0) >= 80.0, "{face}");
    }
    assert_eq!(seen.len(), 2, "each face once");

    // max_user_num and match_threshold.
    let wide = multi(
        g,
        json!({"max_face_num": "2", "max_user_num": "2", "match_threshold": "0"}),
    );
    assert_eq!(code(&wide), 0, "{wide}");
    for face in wide["result"]["face_list"].as_array().expect("face_list") {
        let users = face["user_list"].as_array().expect("user_list");
        assert_eq!(users.len(), 2, "threshold 0: both users: {face}");
        let expected = if face["face_token"] == json!(left) {
            "left"
        } else {
            "right"
        };
        assert_eq!(users[0]["user_id"], expected);
        assert!(users[0]["score"].as_f64() >= users[1]["score"].as_f64());
    }
    let one = multi(g, json!({}));
    assert_eq!(code(&one), 0, "{one}");
    assert_eq!(one["result"]["face_num"], 1, "max_face_num defaults to 1");

    // A face nobody matches is reported with an empty user_list ...
    let half = "lib_ms_half";
    by_token(half, "left", &left);
    let answer = multi(half, json!({"max_face_num": 2}));
    assert_eq!(code(&answer), 0, "{answer}");
    assert_eq!(answer["result"]["face_num"], 2);
    for face in answer["result"]["face_list"].as_array().expect("face_list") {
        if face["face_token"] == json!(left) {
            assert_eq!(face["user_list"][0]["user_id"], "left");
        } else {
            assert_eq!(face["user_list"], json!([]), "{face}");
        }
    }
    assert_eq!(
        code(&multi(&format!("{half},{g}"), json!({"max_face_num": 2}))),
        0
    );
    // ... and when no face matches at all the answer is 222207.
    let strangers = "lib_ms_strangers";
    api.add(strangers, "zappa", STRANGER, json!({}));
    assert_eq!(code(&multi(strangers, json!({"max_face_num": 2}))), 222207);

    // Parameter errors.
    for bad in [json!(0), json!(11), json!("x")] {
        assert_eq!(
            code(&multi(g, json!({"max_face_num": bad}))),
            222016,
            "max_face_num {bad}"
        );
    }
    assert_eq!(code(&multi(g, json!({"max_face_num": 10}))), 0);
    for bad in [json!(0), json!(21), json!("x")] {
        assert_eq!(
            code(&multi(g, json!({"max_user_num": bad}))),
            222021,
            "max_user_num {bad}"
        );
    }
    assert_eq!(code(&multi(g, json!({"max_user_num": 20}))), 0);
    assert_eq!(code(&multi(g, json!({"match_threshold": 101}))), 222030);
    assert_eq!(code(&multi(g, json!({"quality_control": "MAX"}))), 222019);
    assert_eq!(
        code(&multi(g, json!({"liveness_control": "SOMETIMES"}))),
        222020
    );
    assert_eq!(
        code(&multi(
            g,
            json!({"quality_control": "NONE", "liveness_control": "NONE"})
        )),
        0
    );
    assert_eq!(code(&multi("lib_ms_missing", json!({}))), 223100);
    assert_eq!(code(&multi(&format!("{g},bad id"), json!({}))), 222005);
    let eleven: Vec<String> = (0..11).map(|i| format!("lib_ms_{i}")).collect();
    assert_eq!(code(&multi(&eleven.join(","), json!({}))), 223104);
    assert_eq!(
        api.code("multi-search", image(COUPLE)),
        222001,
        "group_id_list is required"
    );
    assert_eq!(
        api.code(
            "multi-search",
            json!({"image_type": "BASE64", "group_id_list": g})
        ),
        222001
    );
    assert_eq!(
        api.code(
            "multi-search",
            with(
                image("cases/no_face_landscape.jpg"),
                json!({"group_id_list": g})
            )
        ),
        222202
    );
}

/// multi-search takes `image_type=FACE_TOKEN` like every image endpoint (§6.4): the token's
/// one face is searched, whether it is registered or only seen (detect).
#[test]
fn multi_search_accepts_face_tokens() {
    let api = shared_api();
    let g = "lib_ms_tok";
    let registered = api.add(g, "tok_ann", &lfw("Ann_Veneman", 1), json!({}));
    let detected = api.ok("detect", with(image(COUPLE), json!({"max_face_num": 2})));
    let couple: Vec<String> = detected["face_list"]
        .as_array()
        .expect("faces")
        .iter()
        .map(|f| f["face_token"].as_str().expect("token").to_string())
        .collect();
    let enrolled = api.ok(
        "faceset/user/add",
        json!({"image": couple[0], "image_type": "FACE_TOKEN", "group_id": g, "user_id": "tok_couple"}),
    );
    assert_eq!(enrolled["face_token"], json!(couple[0]));
    let seen = api.ok("detect", image(&lfw("Ann_Veneman", 2)))["face_list"][0]["face_token"]
        .as_str()
        .expect("token")
        .to_string();
    let mut wrong = Vec::new();
    for (what, token, user) in [
        ("registered from a photo", &registered, "tok_ann"),
        ("registered by FACE_TOKEN", &couple[0], "tok_couple"),
        ("seen by detect only", &seen, "tok_ann"),
    ] {
        let answer = api.call(
            "multi-search",
            json!({"image": token, "image_type": "FACE_TOKEN", "group_id_list": g, "match_threshold": 0}),
        );
        let face = &answer["result"]["face_list"][0];
        if code(&answer) != 0
            || answer["result"]["face_num"] != 1
            || face["face_token"] != json!(token)
            || face["user_list"][0]["user_id"] != user
        {
            wrong.push(format!("{what}: {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Bad and missing identifiers on every library endpoint.
#[test]
fn identifier_rules_on_every_library_endpoint() {
    let api = shared_api();
    let photo = lfw("Ann_Veneman", 1);
    let token = "0123456789abcdef0123456789abcdef";
    // Each endpoint with a valid body, its group-id fields and its user-id field.
    let endpoints: Vec<(&str, Value, Vec<&str>, Option<&str>)> = vec![
        (
            "faceset/user/update",
            with(image(&photo), json!({"group_id": "g", "user_id": "u"})),
            vec!["group_id"],
            Some("user_id"),
        ),
        (
            "faceset/face/delete",
            json!({"group_id": "g", "user_id": "u", "face_token": token}),
            vec!["group_id"],
            Some("user_id"),
        ),
        (
            "faceset/user/get",
            json!({"group_id": "g", "user_id": "u"}),
            vec!["group_id"],
            Some("user_id"),
        ),
        (
            "faceset/face/getlist",
            json!({"group_id": "g", "user_id": "u"}),
            vec!["group_id"],
            Some("user_id"),
        ),
        (
            "faceset/group/getusers",
            json!({"group_id": "g"}),
            vec!["group_id"],
            None,
        ),
        (
            "faceset/user/copy",
            json!({"user_id": "u", "src_group_id": "g", "dst_group_id": "h"}),
            vec!["src_group_id", "dst_group_id"],
            Some("user_id"),
        ),
        (
            "faceset/user/delete",
            json!({"group_id": "g", "user_id": "u"}),
            vec!["group_id"],
            Some("user_id"),
        ),
        (
            "faceset/group/delete",
            json!({"group_id": "g"}),
            vec!["group_id"],
            None,
        ),
    ];
    let bad_ids = [
        "bad id".to_string(),
        "a-b".to_string(),
        "组".to_string(),
        "x".repeat(49),
    ];
    for (api_name, body, group_keys, user_key) in &endpoints {
        for key in group_keys {
            for bad in &bad_ids {
                let answer = api.call(api_name, with(body.clone(), json!({ *key: bad })));
                assert_eq!(code(&answer), 222006, "{api_name} {key}={bad:?}: {answer}");
            }
        }
        if let Some(key) = user_key {
            for bad in &bad_ids {
                let answer = api.call(api_name, with(body.clone(), json!({ *key: bad })));
                assert_eq!(code(&answer), 222007, "{api_name} {key}={bad:?}: {answer}");
            }
        }
        let required = body.as_object().expect("object").keys();
        for key in required {
            let mut without = body.clone();
            without.as_object_mut().expect("object").remove(key);
            let answer = api.call(api_name, without);
            assert_eq!(code(&answer), 222001, "{api_name} without {key}: {answer}");
        }
        // 48 bytes is a valid id: the group is simply missing.
        let long_group = group_keys.iter().fold(body.clone(), |b, key| {
            with(b, json!({ *key: "g".repeat(48) }))
        });
        let answer = api.call(api_name, long_group);
        assert!(
            [223100, 223111].contains(&code(&answer)),
            "{api_name}, 48-byte group id: {answer}"
        );
    }
    // @ALL is a group id only for user/get and user/delete.
    for (api_name, body) in [
        (
            "faceset/face/getlist",
            json!({"group_id": "@ALL", "user_id": "u"}),
        ),
        (
            "faceset/face/delete",
            json!({"group_id": "@ALL", "user_id": "u", "face_token": token}),
        ),
        ("faceset/group/getusers", json!({"group_id": "@ALL"})),
        ("faceset/group/delete", json!({"group_id": "@ALL"})),
        (
            "faceset/user/update",
            with(image(&photo), json!({"group_id": "@ALL", "user_id": "u"})),
        ),
        (
            "faceset/user/copy",
            json!({"user_id": "u", "src_group_id": "@ALL", "dst_group_id": "h"}),
        ),
    ] {
        assert_eq!(api.code(api_name, body), 222006, "{api_name} with @ALL");
    }
    // user_info over 256 bytes.
    assert_eq!(
        api.code(
            "faceset/user/update",
            with(
                image(&photo),
                json!({"group_id": "g", "user_id": "u", "user_info": "x".repeat(257)})
            )
        ),
        222010
    );
}

#[test]
fn apps_do_not_see_each_others_library() {
    let api = shared_api();
    let (server, _, _) = shared();
    let g = "lib_iso";
    let ann = api.add(
        g,
        "iso_ann",
        &lfw("Ann_Veneman", 1),
        json!({"user_info": "A's"}),
    );
    let app_b = create_app(&server.data, "lib-other");
    let b = Api {
        server,
        token: token(server, &app_b),
    };
    let mine = "lib_iso_b";
    b.add(mine, "iso_colin", &lfw("Colin_Powell", 1), json!({}));

    assert_eq!(
        b.code(
            "faceset/user/get",
            json!({"user_id": "iso_ann", "group_id": g})
        ),
        223100
    );
    assert_eq!(
        b.code(
            "faceset/user/get",
            json!({"user_id": "iso_ann", "group_id": "@ALL"})
        ),
        223103
    );
    assert_eq!(
        b.code(
            "faceset/face/getlist",
            json!({"user_id": "iso_ann", "group_id": g})
        ),
        223100
    );
    assert_eq!(
        b.code("faceset/group/getusers", json!({"group_id": g})),
        223100
    );
    assert_eq!(
        b.code(
            "faceset/user/copy",
            json!({"user_id": "iso_ann", "src_group_id": g, "dst_group_id": mine})
        ),
        223100
    );
    assert_eq!(
        b.code(
            "faceset/user/copy",
            json!({"user_id": "iso_colin", "src_group_id": mine, "dst_group_id": g})
        ),
        223111
    );
    assert_eq!(
        b.code(
            "faceset/face/delete",
            json!({"user_id": "iso_ann", "group_id": g, "face_token": ann})
        ),
        223100
    );
    assert_eq!(
        b.code(
            "faceset/user/delete",
            json!({"user_id": "iso_ann", "group_id": g})
        ),
        223100
    );
    assert_eq!(
        b.code(
            "faceset/user/delete",
            json!({"user_id": "iso_ann", "group_id": "@ALL"})
        ),
        223103
    );
    assert_eq!(
        b.code(
            "faceset/user/update",
            with(
                image(&lfw("Ann_Veneman", 2)),
                json!({"user_id": "iso_ann", "group_id": g})
            )
        ),
        223100
    );
    assert_eq!(
        b.code("faceset/group/delete", json!({"group_id": g})),
        223100
    );
    assert_eq!(
        code(&b.call(
            "multi-search",
            with(image(&lfw("Ann_Veneman", 1)), json!({"group_id_list": g}))
        )),
        223100
    );
    assert_eq!(b.users(mine), json!(["iso_colin"]));

    // The same group id in another app is another group.
    b.done("faceset/group/add", json!({"group_id": g}));
    assert_eq!(b.users(g), json!([]));
    b.done("faceset/group/delete", json!({"group_id": g}));

    // App A still has everything.
    assert_eq!(api.users(g), json!(["iso_ann"]));
    assert_eq!(api.face_tokens(g, "iso_ann"), [ann]);
    assert_eq!(
        api.ok(
            "faceset/user/get",
            json!({"user_id": "iso_ann", "group_id": g})
        ),
        json!({"user_list": [{"user_info": "A's", "group_id": g}]})
    );
    assert_eq!(
        api.code(
            "faceset/user/get",
            json!({"user_id": "iso_colin", "group_id": "@ALL"})
        ),
        223103,
        "B's users are not A's"
    );
}

/// Writes are visible to the next request, survive a restart unchanged, and a deleted face
/// leaves no trace in the database file.
#[test]
fn restart_keeps_results_and_deleted_faces_leave_no_trace() {
    let (server, app, token) = own_server("lib-restart", &[]);
    let api = Api {
        server: &server,
        token,
    };
    let g = "lib_rs";
    let people = tier_a(4, 5);
    let mut tokens: Vec<(String, Vec<String>)> = Vec::new();
    for (person, files) in &people {
        let user = uid(person);
        let mut mine = Vec::new();
        for file in &files[..3] {
            mine.push(api.add(g, &user, file, json!({"user_info": person})));
            // Read your writes: listed at once.
            assert_eq!(api.face_tokens(g, &user), mine);
        }
        tokens.push((user, mine));
    }
    assert_eq!(
        api.users(g),
        json!(tokens.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>())
    );
    let (victim, victim_tokens) = tokens[0].clone();
    let deleted = victim_tokens[1].clone();
    api.done(
        "faceset/face/delete",
        json!({"user_id": victim, "group_id": g, "face_token": deleted}),
    );
    assert_eq!(
        api.face_tokens(g, &victim),
        [victim_tokens[0].clone(), victim_tokens[2].clone()],
        "read your writes: the deleted face is gone at once"
    );

    // Probes: photos never registered (a registered photo would leave its token behind as a
    // transient one), and a stranger.
    let mut probes: Vec<String> = people
        .iter()
        .flat_map(|(_, files)| files[3..].to_vec())
        .collect();
    probes.push(STRANGER.to_string());
    let run = |api: &Api| -> Vec<Value> {
        probes
            .iter()
            .map(|p| {
                let answer = api.search(g, p, json!({"max_user_num": 4, "match_threshold": 0}));
                json!({"code": answer["error_code"], "result": answer["result"]})
            })
            .collect()
    };
    let before = run(&api);
    let found = before
        .iter()
        .filter(|r| {
            r["code"] == 0
                && r["result"]["user_list"]
                    .as_array()
                    .is_some_and(|l| !l.is_empty())
        })
        .count();
    assert_eq!(found, probes.len(), "every probe gets a list: {before:?}");
    let lists_before: Vec<Value> = tokens
        .iter()
        .map(|(user, _)| {
            api.ok(
                "faceset/face/getlist",
                json!({"user_id": user, "group_id": g}),
            )
        })
        .collect();

    drop(api);
    let data = server.data.clone();
    drop(server);
    let server = start_server(&data, &[]);
    let api = Api {
        token: common::token(&server, &app),
        server: &server,
    };
    let after = run(&api);
    assert_eq!(after, before, "same users and scores after a restart");
    let lists_after: Vec<Value> = tokens
        .iter()
        .map(|(user, _)| {
            api.ok(
                "faceset/face/getlist",
                json!({"user_id": user, "group_id": g}),
            )
        })
        .collect();
    assert_eq!(lists_after, lists_before);
    assert_eq!(
        api.code(
            "faceset/face/delete",
            json!({"user_id": victim, "group_id": g, "face_token": deleted})
        ),
        223106,
        "still deleted"
    );
    drop(api);
    drop(server);

    // The database (and its write-ahead log) holds no copy of the deleted face_token.
    let files: Vec<(&str, Vec<u8>)> = ["faced.db", "faced.db-wal", "faced.db-journal"]
        .into_iter()
        .filter_map(|name| std::fs::read(data.join(name)).ok().map(|b| (name, b)))
        .collect();
    let holding = |needle: &str| -> Vec<&str> {
        files
            .iter()
            .filter(|(_, b)| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .map(|(name, _)| *name)
            .collect()
    };
    assert!(
        !holding(&victim_tokens[0]).is_empty(),
        "sanity: live face_tokens are stored as text"
    );
    assert_eq!(
        holding(&deleted),
        Vec::<&str>::new(),
        "the deleted face_token {deleted} is still in these files"
    );
}

/// 50 simultaneous user/add calls for one user: exactly 20 faces fit.
#[test]
fn concurrent_adds_to_one_user_stop_at_twenty() {
    // Room for every request in the inference queue (the default is 16 per worker).
    let data = fresh_data_dir("lib-concurrent");
    let config = data.join("faced.toml");
    std::fs::write(&config, "inference_queue = 256\n").expect("config");
    let app = create_app(&data, "concurrent");
    let server = start_server(&data, &["--config", config.to_str().expect("path")]);
    let token = token(&server, &app);
    assert_eq!(
        code(&call_on(
            &server,
            &token,
            "faceset/group/add",
            json!({"group_id": "lib_conc"})
        )),
        0
    );
    let photos: Vec<String> = tier_a(5, 10)
        .into_iter()
        .flat_map(|(_, files)| files)
        .collect();
    assert_eq!(photos.len(), 50);
    let contents: BTreeSet<Vec<u8>> = photos
        .iter()
        .map(|p| std::fs::read(shared_data().join(p)).expect("photo"))
        .collect();
    assert_eq!(contents.len(), 50, "no two photos are byte-identical");
    let bodies: Vec<Value> = photos
        .iter()
        .map(|p| {
            with(
                image(p),
                json!({"group_id": "lib_conc", "user_id": "crowd", "face_sort_type": 1}),
            )
        })
        .collect();
    let answers: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let (server, token) = (&server, &token);
                s.spawn(move || call_on(server, token, "faceset/user/add", body))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut added = BTreeSet::new();
    for answer in &answers {
        match code(answer) {
            0 => {
                added.insert(
                    answer["result"]["face_token"]
                        .as_str()
                        .expect("token")
                        .to_string(),
                );
            }
            222210 => {}
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    assert_eq!(added.len(), 20, "exactly 20 succeed");
    let api = Api {
        server: &server,
        token,
    };
    let listed: BTreeSet<String> = api.face_tokens("lib_conc", "crowd").into_iter().collect();
    assert_eq!(listed, added, "face/getlist lists exactly the 20 added");
}
