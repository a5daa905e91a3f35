//! Tests of the library-management operations: update, face and user
//! deletion, user lookup and listing, copy, group deletion (synchronous and
//! in the background), bulk insertion and multi-search.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::*;
use crate::OpenOptions;

/// Runs `sql` on a fresh connection to the library's file, bypassing the
/// library entirely: what is really stored.
fn db_count(dir: &Path, sql: &str, p: impl rusqlite::Params) -> i64 {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE_NAME)).unwrap();
    conn.query_row(sql, p, |row| row.get(0)).unwrap()
}

/// The `faces.id` of a token in a group, read from the file.
fn face_ref_of(dir: &Path, app_id: &str, group_id: &str, token: &str) -> i64 {
    db_count(
        dir,
        "SELECT f.id FROM faces f JOIN face_groups g ON g.id = f.group_ref
         WHERE g.app_id = ?1 AND g.group_id = ?2 AND f.face_token = ?3",
        params![app_id, group_id, token],
    )
}

/// Asserts that no trace of the token remains in `faces` (in any group of
/// the app) and that `face_crops` has no row for the given face ids nor any
/// orphan.
fn assert_face_gone(dir: &Path, token: &str, face_refs: &[i64]) {
    assert_eq!(
        db_count(
            dir,
            "SELECT COUNT(*) FROM faces WHERE face_token = ?1",
            params![token]
        ),
        0,
        "faces still holds {token}"
    );
    for face_ref in face_refs {
        assert_eq!(
            db_count(
                dir,
                "SELECT COUNT(*) FROM face_crops WHERE face_ref = ?1",
                params![face_ref]
            ),
            0,
            "face_crops still holds the crop of {token}"
        );
    }
    assert_no_orphans(dir);
}

/// Every crop belongs to a face, every face to a user and a live group.
fn assert_no_orphans(dir: &Path) {
    assert_eq!(
        db_count(
            dir,
            "SELECT COUNT(*) FROM face_crops WHERE face_ref NOT IN (SELECT id FROM faces)",
            []
        ),
        0
    );
    assert_eq!(
        db_count(
            dir,
            "SELECT COUNT(*) FROM faces WHERE user_ref NOT IN (SELECT id FROM users)",
            []
        ),
        0
    );
    assert_eq!(
        db_count(
            dir,
            "SELECT COUNT(*) FROM users WHERE group_ref NOT IN (SELECT id FROM face_groups)",
            []
        ),
        0
    );
}

fn with_crop(mut f: AddFace) -> AddFace {
    f.crop_jpeg = Some(vec![0xff, 0xd8, 0xff, f.face_token.len() as u8]);
    f
}

fn tokens(faces: &[FaceRecord]) -> Vec<&str> {
    faces.iter().map(|f| f.face_token.as_str()).collect()
}

fn paused() -> OpenOptions {
    OpenOptions {
        background_deletion: false,
        ..OpenOptions::default()
    }
}

/// Checks that the index rebuilt from the file equals the live one.
fn assert_reopens_identically(lib: Library, dir: &Path) -> Library {
    let before = lib.index.snapshot();
    drop(lib);
    let lib = Library::open(dir).unwrap();
    assert_eq!(lib.index.snapshot(), before);
    lib
}

#[test]
fn update_replaces_an_existing_users_faces_only() {
    let (dir, lib, app_id) = setup("update");
    lib.create_group(&app_id, "g").unwrap();

    // UPDATE of an absent user: nothing is written.
    match lib.update_user_faces(face(&app_id, "g", "ghost", "t0", e0(DIM)), false) {
        Err(LibraryError::UserNotFound { user_id }) => assert_eq!(user_id, "ghost"),
        other => panic!("expected UserNotFound, got {other:?}"),
    }
    let mut f = face(&app_id, "g", "ghost", "t0", e0(DIM));
    f.mode = AddMode::Update;
    assert!(matches!(
        lib.add_face(f),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert_eq!(count(&lib, "SELECT COUNT(*) FROM users", []), 0);
    assert_eq!(count(&lib, "SELECT COUNT(*) FROM faces", []), 0);

    // The group is never created, whatever the flag.
    for create in [false, true] {
        match lib.update_user_faces(face(&app_id, "nope", "u", "t0", e0(DIM)), create) {
            Err(LibraryError::GroupNotFound { group_id }) => assert_eq!(group_id, "nope"),
            other => panic!("expected GroupNotFound, got {other:?}"),
        }
    }
    assert!(!lib.group_exists(&app_id, "nope"));

    // REPLACE registers the absent user.
    lib.update_user_faces(
        with_crop(face(&app_id, "g", "u", "t1", random_unit(DIM))),
        true,
    )
    .unwrap();
    for token in ["t2", "t3"] {
        lib.add_face(with_crop(face(&app_id, "g", "u", token, random_unit(DIM))))
            .unwrap();
    }
    lib.add_face(face(&app_id, "g", "other", "o1", random_unit(DIM)))
        .unwrap();
    assert_eq!(lib.face_count(&app_id, "g", "u").unwrap(), 3);
    let old_refs: Vec<i64> = ["t1", "t2", "t3"]
        .iter()
        .map(|t| face_ref_of(dir.path(), &app_id, "g", t))
        .collect();

    // UPDATE replaces all three with one, and may change user_info.
    let mut f = face(&app_id, "g", "u", "t4", e0(DIM));
    f.user_info = Some("updated".into());
    lib.update_user_faces(f, false).unwrap();
    assert_eq!(lib.face_count(&app_id, "g", "u").unwrap(), 1);
    assert_eq!(tokens(&lib.list_faces(&app_id, "g", "u").unwrap()), ["t4"]);
    for (token, face_ref) in ["t1", "t2", "t3"].iter().zip(&old_refs) {
        assert_face_gone(dir.path(), token, &[*face_ref]);
    }
    assert_eq!(
        lib.get_user(&app_id, &GroupScope::One("g".into()), "u")
            .unwrap()[0]
            .user_info,
        "updated"
    );
    let hits = lib.search(&query(&app_id, &["g"], e0(DIM), 5)).unwrap();
    assert_eq!(hits[0].face_token, "t4");
    assert_eq!(hits[0].user_info, "updated");
    // Another user's faces are untouched.
    assert_eq!(lib.face_count(&app_id, "g", "other").unwrap(), 1);
    // The update's token must still be free in the group.
    assert!(matches!(
        lib.update_user_faces(face(&app_id, "g", "u", "o1", e0(DIM)), false),
        Err(LibraryError::FaceExists { .. })
    ));
    assert_eq!(tokens(&lib.list_faces(&app_id, "g", "u").unwrap()), ["t4"]);
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn delete_face_removes_rows_and_the_last_face_removes_the_user() {
    let (dir, lib, app_id) = setup("delete_face");
    let a1 = random_unit(DIM);
    lib.add_face(with_crop(face(&app_id, "g", "u", "a1", a1.clone())))
        .unwrap();
    lib.add_face(with_crop(face(&app_id, "g", "u", "a2", random_unit(DIM))))
        .unwrap();
    lib.add_face(face(&app_id, "g", "v", "b1", random_unit(DIM)))
        .unwrap();
    lib.add_face(face(&app_id, "g2", "u", "a1", a1.clone()))
        .unwrap();

    let cases: [(&str, &str, &str); 4] = [
        ("nope", "u", "a1"),
        ("g", "ghost", "a1"),
        ("g", "u", "b1"),
        ("g", "u", "zzz"),
    ];
    for (group, user, token) in cases {
        match lib.delete_face(&app_id, group, user, token) {
            Err(LibraryError::GroupNotFound { group_id }) => assert_eq!(group_id, group),
            Err(LibraryError::UserNotFound { user_id }) => assert_eq!(user_id, user),
            Err(LibraryError::FaceNotFound { face_token }) => assert_eq!(face_token, token),
            other => panic!("{group}/{user}/{token}: unexpected {other:?}"),
        }
    }
    assert!(matches!(
        lib.delete_face(&app_id, "g", "ghost", "a1"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert!(matches!(
        lib.delete_face(&app_id, "g", "u", "b1"),
        Err(LibraryError::FaceNotFound { .. })
    ));

    let a1_ref = face_ref_of(dir.path(), &app_id, "g", "a1");
    let a2_ref = face_ref_of(dir.path(), &app_id, "g", "a2");
    lib.delete_face(&app_id, "g", "u", "a1").unwrap();
    // Only g2's copy of the token is left; the crop went with the face.
    assert_eq!(
        db_count(
            dir.path(),
            "SELECT COUNT(*) FROM faces WHERE face_token = 'a1'",
            []
        ),
        1
    );
    assert!(face_ref_of(dir.path(), &app_id, "g2", "a1") > 0);
    assert_eq!(
        db_count(
            dir.path(),
            "SELECT COUNT(*) FROM face_crops WHERE face_ref = ?1",
            params![a1_ref]
        ),
        0
    );
    assert_no_orphans(dir.path());
    assert_eq!(lib.face_count(&app_id, "g", "u").unwrap(), 1);
    let hits = lib.search(&query(&app_id, &["g"], a1.clone(), 10)).unwrap();
    assert!(hits.iter().all(|h| h.face_token != "a1"));
    assert!(matches!(
        lib.delete_face(&app_id, "g", "u", "a1"),
        Err(LibraryError::FaceNotFound { .. })
    ));

    // The last face takes the user with it.
    lib.delete_face(&app_id, "g", "u", "a2").unwrap();
    assert_face_gone(dir.path(), "a2", &[a2_ref]);
    assert!(matches!(
        lib.get_user(&app_id, &GroupScope::One("g".into()), "u"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert!(matches!(
        lib.face_count(&app_id, "g", "u"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert_eq!(
        db_count(
            dir.path(),
            "SELECT COUNT(*) FROM users u JOIN face_groups g ON g.id = u.group_ref
             WHERE g.group_id = 'g' AND u.user_id = 'u'",
            []
        ),
        0
    );
    assert_eq!(lib.list_users(&app_id, "g", 0, 100).unwrap(), ["v"]);
    // g2 keeps its copy.
    assert_eq!(lib.face_count(&app_id, "g2", "u").unwrap(), 1);
    let hits = lib.search(&query(&app_id, &["g", "g2"], a1, 10)).unwrap();
    assert_eq!(
        (hits[0].group_id.as_str(), hits[0].face_token.as_str()),
        ("g2", "a1")
    );
    // The user can come back.
    lib.add_face(face(&app_id, "g", "u", "a3", random_unit(DIM)))
        .unwrap();
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn get_user_lists_the_groups_holding_the_user() {
    let (_dir, lib, app_id) = setup("get_user");
    let mut f = face(&app_id, "staff", "u", "t1", random_unit(DIM));
    f.user_info = Some("Alice".into());
    lib.add_face(f).unwrap();
    lib.create_group(&app_id, "empty").unwrap();
    let mut f = face(&app_id, "vip", "u", "t2", random_unit(DIM));
    f.user_info = Some("Alice V".into());
    lib.add_face(f).unwrap();
    lib.add_face(face(&app_id, "vip", "w", "t3", random_unit(DIM)))
        .unwrap();

    let record = |group: &str, info: &str| UserRecord {
        group_id: group.into(),
        user_info: info.into(),
    };
    assert_eq!(
        lib.get_user(&app_id, &GroupScope::All, "u").unwrap(),
        [record("staff", "Alice"), record("vip", "Alice V")]
    );
    assert_eq!(
        lib.get_user(&app_id, &GroupScope::from_param("@ALL"), "w")
            .unwrap(),
        [record("vip", "")]
    );
    assert_eq!(
        lib.get_user(&app_id, &GroupScope::from_param("vip"), "u")
            .unwrap(),
        [record("vip", "Alice V")]
    );
    assert!(matches!(
        lib.get_user(&app_id, &GroupScope::One("empty".into()), "u"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert!(matches!(
        lib.get_user(&app_id, &GroupScope::One("nope".into()), "u"),
        Err(LibraryError::GroupNotFound { .. })
    ));
    assert!(matches!(
        lib.get_user(&app_id, &GroupScope::All, "ghost"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert_eq!(GroupScope::from_param(ALL_GROUPS), GroupScope::All);
    assert_eq!(GroupScope::from_param("g"), GroupScope::One("g".into()));
}

#[test]
fn list_faces_and_list_users_keep_insertion_order() {
    let (_dir, lib, app_id) = setup("listing");
    for (token, now) in [("t1", NOW), ("t2", NOW + 5), ("t3", NOW + 2)] {
        let mut f = face(&app_id, "g", "u", token, random_unit(DIM));
        f.now = now;
        lib.add_face(f).unwrap();
    }
    let faces = lib.list_faces(&app_id, "g", "u").unwrap();
    assert_eq!(
        faces,
        [("t1", NOW), ("t2", NOW + 5), ("t3", NOW + 2)]
            .iter()
            .map(|(t, c)| FaceRecord {
                face_token: (*t).into(),
                created_at: *c
            })
            .collect::<Vec<_>>()
    );
    lib.delete_face(&app_id, "g", "u", "t2").unwrap();
    assert_eq!(
        tokens(&lib.list_faces(&app_id, "g", "u").unwrap()),
        ["t1", "t3"]
    );
    assert!(matches!(
        lib.list_faces(&app_id, "nope", "u"),
        Err(LibraryError::GroupNotFound { .. })
    ));
    assert!(matches!(
        lib.list_faces(&app_id, "g", "ghost"),
        Err(LibraryError::UserNotFound { .. })
    ));

    for user in ["zed", "amy", "mo", "bo", "al", "amy"] {
        lib.add_face(face(
            &app_id,
            "h",
            user,
            &format!("{user}{}", rand::rng().random::<u32>()),
            random_unit(DIM),
        ))
        .unwrap();
    }
    lib.delete_user(&app_id, &GroupScope::One("h".into()), "mo")
        .unwrap();
    lib.add_face(face(&app_id, "h", "mo", "mo_again", random_unit(DIM)))
        .unwrap();
    let all = ["zed", "amy", "bo", "al", "mo"];
    assert_eq!(lib.list_users(&app_id, "h", 0, 100).unwrap(), all);
    assert_eq!(lib.list_users(&app_id, "h", 1, 2).unwrap(), &all[1..3]);
    assert_eq!(lib.list_users(&app_id, "h", 4, 100).unwrap(), &all[4..]);
    assert!(lib.list_users(&app_id, "h", 5, 100).unwrap().is_empty());
    assert!(lib
        .list_users(&app_id, "h", usize::MAX, usize::MAX)
        .unwrap()
        .is_empty());
    lib.create_group(&app_id, "empty").unwrap();
    assert!(lib.list_users(&app_id, "empty", 0, 100).unwrap().is_empty());
    assert!(matches!(
        lib.list_users(&app_id, "nope", 0, 100),
        Err(LibraryError::GroupNotFound { .. })
    ));
}

#[test]
fn copy_user_duplicates_faces_into_every_destination() {
    let (dir, lib, app_id) = setup("copy");
    let embeddings: Vec<Vec<f32>> = (0..3).map(|_| random_unit(DIM)).collect();
    for (i, e) in embeddings.iter().enumerate() {
        let mut f = with_crop(face(&app_id, "src", "u", &format!("t{i}"), e.clone()));
        f.user_info = Some("U".into());
        f.now = NOW + i as i64;
        lib.add_face(f).unwrap();
    }
    lib.add_face(face(&app_id, "src", "other", "o", random_unit(DIM)))
        .unwrap();
    lib.create_group(&app_id, "dst1").unwrap();
    lib.add_face(face(&app_id, "dst2", "x", "x1", random_unit(DIM)))
        .unwrap();

    lib.copy_user(
        &app_id,
        "u",
        "src",
        &["dst1".into(), "dst2".into(), "dst1".into()],
    )
    .unwrap();
    let src_faces = lib.list_faces(&app_id, "src", "u").unwrap();
    assert_eq!(src_faces.len(), 3);
    for dst in ["dst1", "dst2"] {
        assert_eq!(lib.list_faces(&app_id, dst, "u").unwrap(), src_faces);
        assert_eq!(
            db_count(
                dir.path(),
                "SELECT COUNT(*) FROM face_crops c JOIN faces f ON f.id = c.face_ref
                 JOIN face_groups g ON g.id = f.group_ref WHERE g.group_id = ?1",
                params![dst]
            ),
            3
        );
        // The very same embeddings (byte for byte).
        assert_eq!(
            db_count(
                dir.path(),
                "SELECT COUNT(*) FROM faces d JOIN face_groups dg ON dg.id = d.group_ref
                 JOIN faces s ON s.face_token = d.face_token AND s.embedding = d.embedding
                 JOIN face_groups sg ON sg.id = s.group_ref
                 WHERE dg.group_id = ?1 AND sg.group_id = 'src'",
                params![dst]
            ),
            3
        );
    }
    let records = lib.get_user(&app_id, &GroupScope::All, "u").unwrap();
    let groups: Vec<&str> = records.iter().map(|r| r.group_id.as_str()).collect();
    assert_eq!(groups, ["src", "dst1", "dst2"]);
    assert!(records.iter().all(|r| r.user_info == "U"));
    let hits = lib
        .search(&query(
            &app_id,
            &["dst1", "dst2"],
            embeddings[1].clone(),
            10,
        ))
        .unwrap();
    let found: Vec<(&str, &str, &str)> = hits
        .iter()
        .filter(|h| h.similarity > 0.999)
        .map(|h| {
            (
                h.group_id.as_str(),
                h.user_id.as_str(),
                h.face_token.as_str(),
            )
        })
        .collect();
    assert_eq!(found, [("dst1", "u", "t1"), ("dst2", "u", "t1")]);

    // Errors, each leaving nothing behind.
    let faces_before = count(&lib, "SELECT COUNT(*) FROM faces", []);
    let copy = |user: &str, src: &str, dsts: &[&str]| {
        let dsts: Vec<String> = dsts.iter().map(|d| (*d).to_owned()).collect();
        lib.copy_user(&app_id, user, src, &dsts)
    };
    lib.create_group(&app_id, "dst3").unwrap();
    match copy("u", "nope", &["dst3"]) {
        Err(LibraryError::GroupNotFound { group_id }) => assert_eq!(group_id, "nope"),
        other => panic!("expected GroupNotFound, got {other:?}"),
    }
    match copy("ghost", "src", &["dst3"]) {
        Err(LibraryError::UserNotFound { user_id }) => assert_eq!(user_id, "ghost"),
        other => panic!("expected UserNotFound, got {other:?}"),
    }
    match copy("u", "src", &["dst3", "missing"]) {
        Err(LibraryError::DestGroupNotFound { group_id }) => assert_eq!(group_id, "missing"),
        other => panic!("expected DestGroupNotFound, got {other:?}"),
    }
    match copy("u", "src", &["dst3", "dst1"]) {
        Err(LibraryError::UserExists { user_id }) => assert_eq!(user_id, "u"),
        other => panic!("expected UserExists, got {other:?}"),
    }
    assert!(matches!(
        copy("u", "src", &["src"]),
        Err(LibraryError::UserExists { .. })
    ));
    let mut f = face(&app_id, "alien", "y", "y1", random_unit(DIM));
    f.model_id = "other-model".into();
    lib.add_face(f).unwrap();
    assert!(matches!(
        copy("u", "src", &["dst3", "alien"]),
        Err(LibraryError::ModelMismatch { .. })
    ));
    lib.add_face(face(&app_id, "clash", "y", "t2", random_unit(DIM)))
        .unwrap();
    match copy("u", "src", &["dst3", "clash"]) {
        Err(LibraryError::FaceExists { face_token }) => assert_eq!(face_token, "t2"),
        other => panic!("expected FaceExists, got {other:?}"),
    }
    assert_eq!(
        count(&lib, "SELECT COUNT(*) FROM faces", []),
        faces_before + 2
    );
    assert!(matches!(
        lib.face_count(&app_id, "dst3", "u"),
        Err(LibraryError::UserNotFound { .. })
    ));

    // Copies are independent: deleting one leaves the others.
    lib.delete_face(&app_id, "dst1", "u", "t0").unwrap();
    assert_eq!(lib.face_count(&app_id, "src", "u").unwrap(), 3);
    assert_eq!(lib.face_count(&app_id, "dst2", "u").unwrap(), 3);
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn delete_user_from_one_group_or_all() {
    let (dir, lib, app_id) = setup("delete_user");
    for group in ["g1", "g2", "g3"] {
        for i in 0..2 {
            lib.add_face(with_crop(face(
                &app_id,
                group,
                "u",
                &format!("{group}_u{i}"),
                random_unit(DIM),
            )))
            .unwrap();
        }
    }
    lib.add_face(face(&app_id, "g1", "v", "v1", random_unit(DIM)))
        .unwrap();
    let refs: Vec<i64> = (0..2)
        .map(|i| face_ref_of(dir.path(), &app_id, "g1", &format!("g1_u{i}")))
        .collect();

    lib.delete_user(&app_id, &GroupScope::One("g1".into()), "u")
        .unwrap();
    assert!(matches!(
        lib.face_count(&app_id, "g1", "u"),
        Err(LibraryError::UserNotFound { .. })
    ));
    for (i, face_ref) in refs.iter().enumerate() {
        assert_face_gone(dir.path(), &format!("g1_u{i}"), &[*face_ref]);
    }
    assert_eq!(lib.face_count(&app_id, "g2", "u").unwrap(), 2);
    assert!(matches!(
        lib.delete_user(&app_id, &GroupScope::One("g1".into()), "u"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert!(matches!(
        lib.delete_user(&app_id, &GroupScope::One("nope".into()), "u"),
        Err(LibraryError::GroupNotFound { .. })
    ));
    let hits = lib.search(&query(&app_id, &["g1"], e0(DIM), 10)).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].user_id, "v");

    lib.delete_user(&app_id, &GroupScope::All, "u").unwrap();
    assert_eq!(
        db_count(
            dir.path(),
            "SELECT COUNT(*) FROM users WHERE user_id = 'u'",
            []
        ),
        0
    );
    assert_eq!(
        db_count(
            dir.path(),
            "SELECT COUNT(*) FROM faces WHERE face_token LIKE '%\\_u%' ESCAPE '\\'",
            []
        ),
        0
    );
    assert_eq!(count(&lib, "SELECT COUNT(*) FROM face_crops", []), 0);
    assert_no_orphans(dir.path());
    assert!(matches!(
        lib.delete_user(&app_id, &GroupScope::All, "u"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert!(lib
        .search(&query(&app_id, &["g2", "g3"], e0(DIM), 10))
        .unwrap()
        .is_empty());
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn a_small_group_is_deleted_at_once() {
    let (dir, lib, app_id) = setup("delete_small");
    for i in 0..10 {
        lib.add_face(with_crop(face(
            &app_id,
            "g",
            &format!("u{}", i % 3),
            &format!("t{i}"),
            random_unit(DIM),
        )))
        .unwrap();
    }
    lib.add_face(face(&app_id, "keep", "u0", "k", random_unit(DIM)))
        .unwrap();
    let group_ref = db_count(
        dir.path(),
        "SELECT id FROM face_groups WHERE group_id = 'g'",
        [],
    );
    lib.delete_group(&app_id, "g").unwrap();
    assert!(matches!(
        lib.check_group(&app_id, "g"),
        Err(LibraryError::GroupNotFound { .. })
    ));
    assert!(matches!(
        lib.delete_group(&app_id, "g"),
        Err(LibraryError::GroupNotFound { .. })
    ));
    for (table, column) in [
        ("faces", "group_ref"),
        ("users", "group_ref"),
        ("face_groups", "id"),
    ] {
        assert_eq!(
            db_count(
                dir.path(),
                &format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?1"),
                params![group_ref]
            ),
            0,
            "{table}"
        );
    }
    assert_eq!(count(&lib, "SELECT COUNT(*) FROM face_crops", []), 0);
    assert_no_orphans(dir.path());
    assert_eq!(lib.list_groups(&app_id, 0, 10).unwrap(), ["keep"]);
    assert!(lib.lookup_face(&app_id, "t0", NOW).unwrap().is_none());
    // The id is free again.
    lib.create_group(&app_id, "g").unwrap();
    assert!(lib
        .search(&query(&app_id, &["g"], e0(DIM), 5))
        .unwrap()
        .is_empty());
    assert_reopens_identically(lib, dir.path());
}

/// Registers `faces` synthetic faces in `group`, `per_user` per user, in
/// bulk batches; every tenth face has a crop.
fn fill_group(lib: &Library, app_id: &str, group_id: &str, faces: usize, per_user: usize) {
    let batch = 5_000;
    for start in (0..faces).step_by(batch) {
        let chunk: Vec<AddFace> = (start..(start + batch).min(faces))
            .map(|i| {
                let f = face(
                    app_id,
                    group_id,
                    &format!("u{}", i / per_user),
                    &format!("{group_id}_t{i}"),
                    random_unit(DIM),
                );
                if i % 10 == 0 {
                    with_crop(f)
                } else {
                    f
                }
            })
            .collect();
        lib.add_faces_bulk(chunk).unwrap();
    }
}

/// Asserts that a group id answers `GroupDeleting` to every operation.
fn assert_deleting(lib: &Library, app_id: &str, group: &str) {
    fn check<T: std::fmt::Debug>(what: &str, group: &str, r: Result<T, LibraryError>) {
        match r {
            Err(LibraryError::GroupDeleting { group_id }) => assert_eq!(group_id, group, "{what}"),
            other => panic!("{what}: expected GroupDeleting, got {other:?}"),
        }
    }
    let g = || GroupScope::One(group.to_owned());
    check("check_group", group, lib.check_group(app_id, group));
    check("create_group", group, lib.create_group(app_id, group));
    check("delete_group", group, lib.delete_group(app_id, group));
    check(
        "add_face",
        group,
        lib.add_face(face(app_id, group, "u0", "new", random_unit(DIM))),
    );
    check(
        "add_faces_bulk",
        group,
        lib.add_faces_bulk(vec![face(app_id, group, "u0", "new", random_unit(DIM))]),
    );
    check(
        "update_user_faces",
        group,
        lib.update_user_faces(face(app_id, group, "u0", "new", random_unit(DIM)), true),
    );
    check(
        "search",
        group,
        lib.search(&query(app_id, &["keep", group], random_unit(DIM), 5)),
    );
    check(
        "search_many",
        group,
        lib.search_many(&MultiSearchQuery {
            app_id: app_id.to_owned(),
            group_ids: vec![group.to_owned()],
            user_id: None,
            embeddings: vec![random_unit(DIM)],
            model_id: MODEL.to_owned(),
            max_users: 5,
        }),
    );
    check("list_users", group, lib.list_users(app_id, group, 0, 10));
    check("list_faces", group, lib.list_faces(app_id, group, "u0"));
    check("get_user", group, lib.get_user(app_id, &g(), "u0"));
    check("delete_user", group, lib.delete_user(app_id, &g(), "u0"));
    check(
        "delete_face",
        group,
        lib.delete_face(app_id, group, "u0", &format!("{group}_t0")),
    );
    check("face_count", group, lib.face_count(app_id, group, "u0"));
    check(
        "copy_user from",
        group,
        lib.copy_user(app_id, "u0", group, &["keep".to_owned()]),
    );
    check(
        "copy_user to",
        group,
        lib.copy_user(app_id, "k", "keep", &[group.to_owned()]),
    );
    assert!(!lib.group_exists(app_id, group));
    assert!(!lib
        .list_groups(app_id, 0, 100)
        .unwrap()
        .contains(&group.to_owned()));
    assert!(lib
        .lookup_face(app_id, &format!("{group}_t0"), NOW)
        .unwrap()
        .is_none());
    // @ALL skips it.
    assert!(matches!(
        lib.get_user(app_id, &GroupScope::All, "u0"),
        Err(LibraryError::UserNotFound { .. })
    ));
}

/// Asserts that nothing of the group remains in the file.
fn assert_group_rows_gone(dir: &Path, group_ref: i64) {
    for (table, column) in [
        ("faces", "group_ref"),
        ("users", "group_ref"),
        ("face_groups", "id"),
    ] {
        assert_eq!(
            db_count(
                dir,
                &format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?1"),
                params![group_ref]
            ),
            0,
            "{table} still has rows of the deleted group"
        );
    }
    assert_no_orphans(dir);
}

#[test]
fn a_large_group_is_deleted_in_batches_and_resumes_after_reopen() {
    let dir = TempDir::new("delete_large");
    let lib = Library::open_with(dir.path(), paused()).unwrap();
    let app_id = lib.create_app("big").unwrap().app_id;
    let other_app = lib.create_app("neighbour").unwrap().app_id;
    fill_group(&lib, &app_id, "big", 20_000, 10);
    lib.add_face(face(&app_id, "keep", "k", "k1", random_unit(DIM)))
        .unwrap();
    lib.add_face(face(&other_app, "big", "u0", "big_t0", random_unit(DIM)))
        .unwrap();
    let group_ref = db_count(
        dir.path(),
        "SELECT id FROM face_groups WHERE app_id = ?1 AND group_id = 'big'",
        params![app_id],
    );
    let big_faces = "SELECT COUNT(*) FROM faces WHERE group_ref = ?1";
    assert_eq!(db_count(dir.path(), big_faces, params![group_ref]), 20_000);

    let started = Instant::now();
    lib.delete_group(&app_id, "big").unwrap();
    let took = started.elapsed();
    eprintln!("delete_group of 20,000 faces returned in {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Nothing is deleted yet (no thread runs), but the group is gone for
    // every caller.
    assert_eq!(db_count(dir.path(), big_faces, params![group_ref]), 20_000);
    assert_deleting(&lib, &app_id, "big");
    assert_eq!(lib.stats().deleting_groups, 1);
    assert_eq!(lib.stats().faces, 2);
    // Another app's group of the same name is unaffected.
    assert_eq!(
        lib.search(&query(&other_app, &["big"], random_unit(DIM), 5))
            .unwrap()
            .len(),
        1
    );

    // One batch: 5,000 faces gone, the group still being deleted.
    assert!(!lib.delete_one_batch().unwrap());
    assert_eq!(db_count(dir.path(), big_faces, params![group_ref]), 15_000);
    assert_deleting(&lib, &app_id, "big");
    assert!(!lib.wait_for_deletions(Duration::from_millis(10)));
    drop(lib);

    // Reopened (still without the thread): the mark survived.
    let lib = Library::open_with(dir.path(), paused()).unwrap();
    assert_deleting(&lib, &app_id, "big");
    assert_eq!(db_count(dir.path(), big_faces, params![group_ref]), 15_000);
    drop(lib);

    // Reopened normally: the thread resumes and finishes.
    let lib = Library::open(dir.path()).unwrap();
    assert!(lib.wait_for_deletions(Duration::from_secs(120)));
    match lib.check_group(&app_id, "big") {
        Err(LibraryError::GroupNotFound { group_id }) => assert_eq!(group_id, "big"),
        other => panic!("expected GroupNotFound, got {other:?}"),
    }
    assert!(matches!(
        lib.search(&query(&app_id, &["big"], random_unit(DIM), 5)),
        Err(LibraryError::GroupNotFound { .. })
    ));
    assert_group_rows_gone(dir.path(), group_ref);
    assert_eq!(
        db_count(dir.path(), "SELECT COUNT(*) FROM face_crops", []),
        0
    );
    assert_eq!(lib.stats().deleting_groups, 0);
    assert_eq!(
        lib.search(&query(&other_app, &["big"], random_unit(DIM), 5))
            .unwrap()
            .len(),
        1
    );
    lib.create_group(&app_id, "big").unwrap();
    assert!(lib.list_users(&app_id, "big", 0, 10).unwrap().is_empty());
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn the_background_thread_deletes_a_large_group() {
    let (dir, lib, app_id) = setup("delete_background");
    fill_group(&lib, &app_id, "big", 20_000, 1);
    lib.add_face(face(&app_id, "keep", "k", "k1", random_unit(DIM)))
        .unwrap();
    let group_ref = db_count(
        dir.path(),
        "SELECT id FROM face_groups WHERE group_id = 'big'",
        [],
    );

    let started = Instant::now();
    lib.delete_group(&app_id, "big").unwrap();
    let returned = started.elapsed();
    // 40,000 rows in batches of 5,000: the first answer comes long before
    // the thread is done.
    assert!(matches!(
        lib.check_group(&app_id, "big"),
        Err(LibraryError::GroupDeleting { .. })
    ));
    let mut deleting_seen = 0;
    loop {
        match lib.list_users(&app_id, "big", 0, 1) {
            Err(LibraryError::GroupDeleting { .. }) => deleting_seen += 1,
            Err(LibraryError::GroupNotFound { .. }) => break,
            other => panic!("expected GroupDeleting then GroupNotFound, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "deletion stuck"
        );
        // Other work goes on meanwhile.
        lib.add_face(face(
            &app_id,
            "keep",
            "k",
            &format!("during{deleting_seen}"),
            random_unit(DIM),
        ))
        .or_else(|e| match e {
            LibraryError::UserFaceLimit { .. } => Ok(()),
            e => Err(e),
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let finished = started.elapsed();
    eprintln!("delete_group returned in {returned:?}; background deletion done after {finished:?} ({deleting_seen} GroupDeleting answers)");
    assert!(returned < Duration::from_secs(2), "took {returned:?}");
    assert!(lib.wait_for_deletions(Duration::from_secs(1)));
    assert!(matches!(
        lib.check_group(&app_id, "big"),
        Err(LibraryError::GroupNotFound { .. })
    ));
    assert_group_rows_gone(dir.path(), group_ref);
    assert_eq!(
        db_count(dir.path(), "SELECT COUNT(*) FROM face_crops", []),
        0
    );
    assert!(lib.face_count(&app_id, "keep", "k").unwrap() >= 1);
}

#[test]
fn concurrent_adds_and_deletes_of_one_user_stay_exact() {
    let (dir, lib, app_id) = setup("add_delete_race");
    let lib = Arc::new(lib);
    lib.create_group(&app_id, "g").unwrap();
    const ADDERS: usize = 50;
    const DELETERS: usize = 10;
    const PER_ADDER: usize = 3;
    let adders_done = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(ADDERS + DELETERS + 1));
    let token = |adder: usize, j: usize| format!("a{adder}_{j}");

    let adders: Vec<_> = (0..ADDERS)
        .map(|i| {
            let (lib, barrier, app_id) = (Arc::clone(&lib), Arc::clone(&barrier), app_id.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut ok = 0usize;
                for j in 0..PER_ADDER {
                    match lib.add_face(face(&app_id, "g", "u", &token(i, j), random_unit(DIM))) {
                        Ok(()) => ok += 1,
                        Err(LibraryError::UserFaceLimit { .. }) => {}
                        Err(e) => panic!("add: {e}"),
                    }
                }
                ok
            })
        })
        .collect();
    let deleters: Vec<_> = (0..DELETERS)
        .map(|d| {
            let (lib, barrier, app_id, done) = (
                Arc::clone(&lib),
                Arc::clone(&barrier),
                app_id.clone(),
                Arc::clone(&adders_done),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let mut deleted = 0usize;
                let mut last_round = false;
                loop {
                    if done.load(Ordering::SeqCst) {
                        last_round = true;
                    }
                    for i in (d..ADDERS).step_by(DELETERS) {
                        for j in 0..PER_ADDER {
                            match lib.delete_face(&app_id, "g", "u", &token(i, j)) {
                                Ok(()) => deleted += 1,
                                Err(LibraryError::FaceNotFound { .. })
                                | Err(LibraryError::UserNotFound { .. }) => {}
                                Err(e) => panic!("delete: {e}"),
                            }
                        }
                    }
                    if last_round {
                        return deleted;
                    }
                    // Leave some faces standing at times.
                    if d % 2 == 0 {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let monitor = {
        let (lib, app_id, done) = (Arc::clone(&lib), app_id.clone(), Arc::clone(&adders_done));
        std::thread::spawn(move || {
            let mut max = 0;
            while !done.load(Ordering::SeqCst) {
                let n = match lib.face_count(&app_id, "g", "u") {
                    Ok(n) => n,
                    Err(LibraryError::UserNotFound { .. }) => 0,
                    Err(e) => panic!("count: {e}"),
                };
                let stored = count(
                    &lib,
                    "SELECT COUNT(*) FROM faces f JOIN users u ON u.id = f.user_ref WHERE u.user_id = 'u'",
                    [],
                ) as usize;
                assert!(
                    n <= MAX_FACES_PER_USER && stored <= MAX_FACES_PER_USER,
                    "{n} / {stored}"
                );
                max = max.max(n).max(stored);
            }
            max
        })
    };
    barrier.wait();
    let added: usize = adders.into_iter().map(|h| h.join().unwrap()).sum();
    adders_done.store(true, Ordering::SeqCst);
    let deleted: usize = deleters.into_iter().map(|h| h.join().unwrap()).sum();
    let max_seen = monitor.join().unwrap();
    eprintln!("{added} faces added, {deleted} deleted, at most {max_seen} at once");

    // The deleters' last round ran after every add: all faces are gone, and
    // with the last one the user.
    assert_eq!(added, deleted);
    assert!(added >= MAX_FACES_PER_USER);
    assert!(matches!(
        lib.face_count(&app_id, "g", "u"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert_eq!(db_count(dir.path(), "SELECT COUNT(*) FROM faces", []), 0);
    assert_eq!(db_count(dir.path(), "SELECT COUNT(*) FROM users", []), 0);
    assert_eq!(lib.stats().faces, 0);
    let lib = Arc::try_unwrap(lib).unwrap();
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn concurrent_adds_and_deletes_keep_count_exact_midway() {
    // Deleters that stop early leave a known remainder.
    let (dir, lib, app_id) = setup("add_delete_exact");
    let lib = Arc::new(lib);
    lib.create_group(&app_id, "g").unwrap();
    let barrier = Arc::new(Barrier::new(60));
    let handles: Vec<_> = (0..60)
        .map(|i| {
            let (lib, barrier, app_id) = (Arc::clone(&lib), Arc::clone(&barrier), app_id.clone());
            std::thread::spawn(move || {
                barrier.wait();
                if i < 50 {
                    match lib.add_face(face(&app_id, "g", "u", &format!("t{i}"), random_unit(DIM)))
                    {
                        Ok(()) => 1i64,
                        Err(LibraryError::UserFaceLimit { .. }) => 0,
                        Err(e) => panic!("add: {e}"),
                    }
                } else {
                    let mut deleted = 0;
                    for j in (i - 50..50).step_by(10) {
                        match lib.delete_face(&app_id, "g", "u", &format!("t{j}")) {
                            Ok(()) => deleted -= 1,
                            Err(LibraryError::FaceNotFound { .. })
                            | Err(LibraryError::UserNotFound { .. }) => {}
                            Err(e) => panic!("delete: {e}"),
                        }
                    }
                    deleted
                }
            })
        })
        .collect();
    let net: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let indexed = match lib.face_count(&app_id, "g", "u") {
        Ok(n) => n as i64,
        Err(LibraryError::UserNotFound { .. }) => 0,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(indexed, net);
    assert!(net <= MAX_FACES_PER_USER as i64);
    assert_eq!(db_count(dir.path(), "SELECT COUNT(*) FROM faces", []), net);
    assert_eq!(
        db_count(dir.path(), "SELECT COUNT(*) FROM users", []),
        i64::from(net > 0)
    );
    let lib = Arc::try_unwrap(lib).unwrap();
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn new_operations_respect_app_isolation() {
    let (dir, lib, a) = setup("isolation_ops");
    let b = lib.create_app("other").unwrap().app_id;
    lib.add_face(face(&a, "g", "u", "ta1", random_unit(DIM)))
        .unwrap();
    lib.add_face(face(&a, "g", "u", "ta2", random_unit(DIM)))
        .unwrap();
    lib.create_group(&a, "dst").unwrap();
    let one = |g: &str| GroupScope::One(g.to_owned());

    fn not_found<T: std::fmt::Debug>(what: &str, r: Result<T, LibraryError>) {
        assert!(
            matches!(
                r,
                Err(LibraryError::GroupNotFound { .. }) | Err(LibraryError::UserNotFound { .. })
            ),
            "{what}: {r:?}"
        );
    }
    not_found("list_users", lib.list_users(&b, "g", 0, 10));
    not_found("list_faces", lib.list_faces(&b, "g", "u"));
    not_found("get_user one", lib.get_user(&b, &one("g"), "u"));
    not_found("get_user all", lib.get_user(&b, &GroupScope::All, "u"));
    not_found("delete_face", lib.delete_face(&b, "g", "u", "ta1"));
    not_found("delete_user one", lib.delete_user(&b, &one("g"), "u"));
    not_found(
        "delete_user all",
        lib.delete_user(&b, &GroupScope::All, "u"),
    );
    not_found("copy_user", lib.copy_user(&b, "u", "g", &["dst".into()]));
    not_found("delete_group", lib.delete_group(&b, "g"));
    not_found("face_count", lib.face_count(&b, "g", "u"));
    not_found("check_group", lib.check_group(&b, "g"));
    not_found(
        "update_user_faces",
        lib.update_user_faces(face(&b, "g", "u", "x", random_unit(DIM)), true),
    );
    not_found(
        "search_many",
        lib.search_many(&MultiSearchQuery {
            app_id: b.clone(),
            group_ids: vec!["g".into()],
            user_id: None,
            embeddings: vec![random_unit(DIM)],
            model_id: MODEL.into(),
            max_users: 1,
        }),
    );

    // B builds the same names; operations on B never touch A.
    lib.add_face(face(&b, "g", "u", "tb1", random_unit(DIM)))
        .unwrap();
    lib.create_group(&b, "dst").unwrap();
    lib.copy_user(&b, "u", "g", &["dst".into()]).unwrap();
    assert_eq!(lib.face_count(&a, "dst", "u").ok(), None);
    assert!(matches!(
        lib.delete_face(&b, "g", "u", "ta1"),
        Err(LibraryError::FaceNotFound { .. })
    ));
    lib.delete_user(&b, &GroupScope::All, "u").unwrap();
    lib.delete_group(&b, "g").unwrap();
    assert_eq!(lib.face_count(&a, "g", "u").unwrap(), 2);
    assert_eq!(
        lib.get_user(&a, &GroupScope::All, "u").unwrap(),
        [UserRecord {
            group_id: "g".into(),
            user_info: String::new()
        }]
    );
    assert_eq!(lib.list_users(&a, "g", 0, 10).unwrap(), ["u"]);
    assert_eq!(lib.list_groups(&a, 0, 10).unwrap(), ["g", "dst"]);
    assert_eq!(lib.list_groups(&b, 0, 10).unwrap(), ["dst"]);
    // A's deletions leave B alone too.
    lib.add_face(face(&b, "g", "u", "tb2", random_unit(DIM)))
        .unwrap();
    lib.delete_user(&a, &GroupScope::All, "u").unwrap();
    lib.delete_group(&a, "g").unwrap();
    assert_eq!(lib.face_count(&b, "g", "u").unwrap(), 1);
    assert_eq!(lib.list_faces(&b, "g", "u").unwrap()[0].face_token, "tb2");
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn search_many_equals_one_search_per_embedding() {
    let (_dir, lib, app_id) = setup("multi_search");
    let mut stored = Vec::new();
    for i in 0..120 {
        let group = ["g1", "g2"][i % 2];
        let v = random_unit(DIM);
        if i % 17 == 0 {
            stored.push(v.clone());
        }
        lib.add_face(face(
            &app_id,
            group,
            &format!("u{}", i % 40),
            &format!("t{i}"),
            v,
        ))
        .unwrap();
    }
    let mut embeddings: Vec<Vec<f32>> = (0..5).map(|_| random_unit(DIM)).collect();
    embeddings.extend(stored);
    for user in [None, Some("u3".to_owned())] {
        for max_users in [0, 1, 3, 20, 1000] {
            let multi = MultiSearchQuery {
                app_id: app_id.clone(),
                group_ids: vec!["g1".into(), "g2".into()],
                user_id: user.clone(),
                embeddings: embeddings.clone(),
                model_id: MODEL.into(),
                max_users,
            };
            let all = lib.search_many(&multi).unwrap();
            assert_eq!(all.len(), embeddings.len());
            for (e, hits) in embeddings.iter().zip(&all) {
                let mut q = query(&app_id, &["g1", "g2"], e.clone(), max_users);
                q.user_id = user.clone();
                assert_eq!(&lib.search(&q).unwrap(), hits);
                assert!(hits.len() <= max_users);
            }
        }
    }
    // A stored embedding finds its own face first.
    let multi = MultiSearchQuery {
        app_id: app_id.clone(),
        group_ids: vec!["g1".into(), "g2".into()],
        user_id: None,
        embeddings: embeddings[5..].to_vec(),
        model_id: MODEL.into(),
        max_users: 1,
    };
    for hits in lib.search_many(&multi).unwrap() {
        assert!(hits[0].similarity > 0.999);
    }
    let mut empty = multi.clone();
    empty.embeddings.clear();
    assert!(lib.search_many(&empty).unwrap().is_empty());
    let mut bad = multi.clone();
    bad.embeddings.push(vec![0.0; DIM]);
    assert!(matches!(
        lib.search_many(&bad),
        Err(LibraryError::InvalidEmbedding(_))
    ));
    let mut bad = multi.clone();
    bad.embeddings.push(random_unit(DIM + 1));
    assert!(matches!(
        lib.search_many(&bad),
        Err(LibraryError::DimensionMismatch { .. })
    ));
    let mut bad = multi;
    bad.user_id = Some("ghost".into());
    assert!(matches!(
        lib.search_many(&bad),
        Err(LibraryError::UserNotFound { .. })
    ));
}

#[test]
fn bulk_adds_are_all_or_nothing_with_add_face_checks() {
    let (dir, lib, app_id) = setup("bulk");
    let batch: Vec<AddFace> = (0..30)
        .map(|i| {
            with_crop(face(
                &app_id,
                "g",
                &format!("u{}", i % 4),
                &format!("t{i}"),
                random_unit(DIM),
            ))
        })
        .collect();
    lib.add_faces_bulk(batch).unwrap();
    assert_eq!(lib.face_count(&app_id, "g", "u0").unwrap(), 8);
    let mut replace = face(&app_id, "g", "u1", "r", random_unit(DIM));
    replace.mode = AddMode::Replace;
    lib.add_faces_bulk(vec![
        face(&app_id, "g", "u1", "before", random_unit(DIM)),
        replace,
        face(&app_id, "g", "u1", "after", random_unit(DIM)),
    ])
    .unwrap();
    assert_eq!(
        tokens(&lib.list_faces(&app_id, "g", "u1").unwrap()),
        ["r", "after"]
    );
    let faces = count(&lib, "SELECT COUNT(*) FROM faces", []);

    // A 21st face fails the whole batch.
    let too_many: Vec<AddFace> = (0..13)
        .map(|i| face(&app_id, "g", "u0", &format!("x{i}"), random_unit(DIM)))
        .collect();
    assert!(matches!(
        lib.add_faces_bulk(too_many),
        Err(LibraryError::UserFaceLimit { .. })
    ));
    // So does a token repeated inside the batch.
    assert!(matches!(
        lib.add_faces_bulk(vec![
            face(&app_id, "g", "new", "dup", random_unit(DIM)),
            face(&app_id, "g", "new2", "dup", random_unit(DIM)),
        ]),
        Err(LibraryError::FaceExists { .. })
    ));
    assert!(matches!(
        lib.add_faces_bulk(vec![
            face(&app_id, "g", "new", "ok", random_unit(DIM)),
            face(&app_id, "g", "new", "zero", vec![0.0; DIM]),
        ]),
        Err(LibraryError::InvalidEmbedding(_))
    ));
    assert_eq!(count(&lib, "SELECT COUNT(*) FROM faces", []), faces);
    assert!(matches!(
        lib.face_count(&app_id, "g", "new"),
        Err(LibraryError::UserNotFound { .. })
    ));
    assert_eq!(lib.face_count(&app_id, "g", "u0").unwrap(), 8);
    lib.add_faces_bulk(Vec::new()).unwrap();
    assert_reopens_identically(lib, dir.path());
}

#[test]
fn a_version_1_database_is_migrated() {
    let dir = TempDir::new("migrate_v1");
    std::fs::create_dir_all(dir.path()).unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        conn.execute_batch(db::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO apps (app_id, name, api_key, secret_sha256, created_at)
                 VALUES ('12345678', 'old', 'key', 'digest', 0);
             INSERT INTO face_groups (app_id, group_id, created_at) VALUES ('12345678', 'g', 0);",
        )
        .unwrap();
    }
    let lib = Library::open(dir.path()).unwrap();
    assert!(lib.group_exists("12345678", "g"));
    lib.add_face(face("12345678", "g", "u", "t", random_unit(DIM)))
        .unwrap();
    lib.delete_group("12345678", "g").unwrap();
    assert!(!lib.group_exists("12345678", "g"));
    let version: i64 = lib
        .writer
        .lock()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn search_ties_do_not_depend_on_index_history() {
    // Two users with identical faces: the earlier-created user wins, before
    // and after deletions shuffle the index, and after a reopen.
    let (dir, lib, app_id) = setup("ties");
    let v = e0(DIM);
    for user in ["first", "second", "third"] {
        lib.add_face(face(&app_id, "g", user, &format!("{user}_a"), v.clone()))
            .unwrap();
        lib.add_face(face(&app_id, "g", user, &format!("{user}_b"), v.clone()))
            .unwrap();
    }
    let expect = |lib: &Library| {
        let hits = lib.search(&query(&app_id, &["g"], v.clone(), 2)).unwrap();
        let got: Vec<(&str, &str)> = hits
            .iter()
            .map(|h| (h.user_id.as_str(), h.face_token.as_str()))
            .collect();
        assert_eq!(got, [("first", "first_a"), ("third", "third_a")]);
    };
    lib.delete_user(&app_id, &GroupScope::One("g".into()), "second")
        .unwrap();
    expect(&lib);
    let lib = assert_reopens_identically(lib, dir.path());
    expect(&lib);
}
