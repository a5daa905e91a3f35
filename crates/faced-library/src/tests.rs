//! Behavioural tests of the whole library against a real SQLite file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use rand::Rng;
use rusqlite::params;

use crate::*;

mod admin;
mod quota;
mod scale;

/// A unique scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "faced-library-test-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            name
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const DIM: usize = 64;
const MODEL: &str = "test-model-v1";
const NOW: i64 = 1_717_000_000;

fn random_unit(dim: usize) -> Vec<f32> {
    let mut rng = rand::rng();
    let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    index::normalized(&v).unwrap()
}

/// A unit vector whose cosine with basis vector `e0` is exactly `cos`.
fn at_cosine(cos: f32, dim: usize, axis: usize) -> Vec<f32> {
    let mut v = vec![0.0; dim];
    v[0] = cos;
    v[axis] = (1.0 - cos * cos).sqrt();
    v
}

fn e0(dim: usize) -> Vec<f32> {
    at_cosine(1.0, dim, 1)
}

fn face(app_id: &str, group_id: &str, user_id: &str, token: &str, embedding: Vec<f32>) -> AddFace {
    AddFace {
        meta: None,
        app_id: app_id.to_owned(),
        group_id: group_id.to_owned(),
        user_id: user_id.to_owned(),
        user_info: None,
        face_token: token.to_owned(),
        embedding,
        model_id: MODEL.to_owned(),
        crop_jpeg: None,
        mode: AddMode::Append,
        create_group_if_missing: true,
        now: NOW,
    }
}

fn query(app_id: &str, groups: &[&str], embedding: Vec<f32>, max_users: usize) -> SearchQuery {
    SearchQuery {
        app_id: app_id.to_owned(),
        group_ids: groups.iter().map(|g| (*g).to_owned()).collect(),
        user_id: None,
        embedding,
        model_id: MODEL.to_owned(),
        max_users,
    }
}

fn count(lib: &Library, sql: &str, p: impl rusqlite::Params) -> i64 {
    lib.readers
        .with(|conn| Ok(conn.query_row(sql, p, |row| row.get(0))?))
        .unwrap()
}

fn setup(name: &str) -> (TempDir, Library, String) {
    let dir = TempDir::new(name);
    let lib = Library::open(dir.path()).unwrap();
    let app = lib.create_app("test").unwrap();
    (dir, lib, app.app_id)
}

#[test]
fn library_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Library>();
}

#[test]
fn open_sets_durable_pragmas_and_schema_version() {
    let (_dir, lib, _) = setup("pragmas");
    let conn = lib.writer.lock();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let sync: i64 = conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    let fk: i64 = conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let page_size: i64 = conn
        .pragma_query_value(None, "page_size", |r| r.get(0))
        .unwrap();
    assert_eq!(page_size, 16 * 1024, "new files use 16 KiB pages");
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "synchronous=FULL");
    assert_eq!(fk, 1);
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn refuses_a_database_from_a_newer_version() {
    let dir = TempDir::new("newer");
    drop(Library::open(dir.path()).unwrap());
    {
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    match Library::open(dir.path()) {
        Err(LibraryError::SchemaTooNew { found: 99, .. }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn faces_survive_reopen_and_index_is_rebuilt_identically() {
    let dir = TempDir::new("reopen");
    let (app_id, before, queries) = {
        let lib = Library::open(dir.path()).unwrap();
        let app_id = lib.create_app("durable").unwrap().app_id;
        lib.create_group(&app_id, "empty").unwrap();
        for i in 0..30 {
            let group = if i % 3 == 0 { "g2" } else { "g1" };
            let mut f = face(
                &app_id,
                group,
                &format!("u{}", i % 7),
                &format!("t{i}"),
                random_unit(DIM),
            );
            f.user_info = Some(format!("info {}", i % 7));
            f.crop_jpeg = Some(vec![0xff, 0xd8, i as u8]);
            lib.add_face(f).unwrap();
        }
        // A replace, so the rebuilt index must also reflect deletions.
        let mut f = face(&app_id, "g1", "u1", "replacement", random_unit(DIM));
        f.mode = AddMode::Replace;
        lib.add_face(f).unwrap();

        let queries: Vec<(Vec<f32>, Vec<SearchHit>)> = (0..5)
            .map(|_| {
                let q = random_unit(DIM);
                let hits = lib
                    .search(&query(&app_id, &["g1", "g2", "empty"], q.clone(), 50))
                    .unwrap();
                (q, hits)
            })
            .collect();
        (app_id, lib.index.snapshot(), queries)
    };

    let lib = Library::open(dir.path()).unwrap();
    assert_eq!(lib.index.snapshot(), before);
    assert!(lib.group_exists(&app_id, "empty"));
    for (q, hits) in queries {
        assert_eq!(
            lib.search(&query(&app_id, &["g1", "g2", "empty"], q, 50))
                .unwrap(),
            hits
        );
    }
    let faces = count(&lib, "SELECT COUNT(*) FROM faces", []);
    let indexed = lib.index.totals().faces;
    assert_eq!(faces as usize, indexed);
    // Replaced faces took their crops with them.
    assert_eq!(
        count(&lib, "SELECT COUNT(*) FROM face_crops", []),
        faces - 1
    );
}

#[test]
fn concurrent_appends_never_exceed_the_face_limit() {
    let (_dir, lib, app_id) = setup("limit");
    let lib = Arc::new(lib);
    lib.create_group(&app_id, "g").unwrap();
    let threads = 50;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let lib = Arc::clone(&lib);
            let barrier = Arc::clone(&barrier);
            let app_id = app_id.clone();
            std::thread::spawn(move || {
                barrier.wait();
                lib.add_face(face(
                    &app_id,
                    "g",
                    "crowded",
                    &format!("t{i}"),
                    random_unit(DIM),
                ))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let limited = results
        .iter()
        .filter(|r| matches!(r, Err(LibraryError::UserFaceLimit { limit: 20, .. })))
        .count();
    assert_eq!(ok, MAX_FACES_PER_USER);
    assert_eq!(limited, threads - MAX_FACES_PER_USER);
    assert_eq!(count(&lib, "SELECT COUNT(*) FROM faces", []), 20);
    assert_eq!(lib.index.totals().faces, 20);
    // The same user in another group has its own quota.
    lib.add_face(face(&app_id, "other", "crowded", "t0", random_unit(DIM)))
        .unwrap();
}

#[test]
fn replace_drops_the_users_faces_in_that_group_only() {
    let (_dir, lib, app_id) = setup("replace");
    for i in 0..3 {
        let mut f = face(
            &app_id,
            "g",
            "u",
            &format!("old{i}"),
            at_cosine(0.99, DIM, i + 1),
        );
        f.crop_jpeg = Some(vec![1, 2, 3]);
        lib.add_face(f).unwrap();
    }
    lib.add_face(face(&app_id, "g", "other", "o", at_cosine(0.5, DIM, 9)))
        .unwrap();
    lib.add_face(face(&app_id, "g2", "u", "kept", at_cosine(0.99, DIM, 10)))
        .unwrap();

    let mut f = face(&app_id, "g", "u", "new", at_cosine(0.2, DIM, 5));
    f.mode = AddMode::Replace;
    f.user_info = Some("replaced".into());
    lib.add_face(f).unwrap();

    let user_ref: i64 = count(
        &lib,
        "SELECT u.id FROM users u JOIN face_groups g ON g.id = u.group_ref WHERE g.group_id = 'g' AND u.user_id = 'u'",
        [],
    );
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM faces WHERE user_ref = ?1",
            params![user_ref]
        ),
        1
    );
    assert_eq!(count(&lib, "SELECT COUNT(*) FROM face_crops", []), 0);
    let hits = lib.search(&query(&app_id, &["g"], e0(DIM), 10)).unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].user_id, "other");
    assert_eq!(hits[1].face_token, "new");
    assert_eq!(hits[1].user_info, "replaced");
    // The user's faces in g2 are untouched.
    let hits = lib.search(&query(&app_id, &["g2"], e0(DIM), 10)).unwrap();
    assert_eq!(hits[0].face_token, "kept");
    // Replacing with a token the user itself had is fine.
    let mut f = face(&app_id, "g", "u", "new", at_cosine(0.3, DIM, 5));
    f.mode = AddMode::Replace;
    lib.add_face(f).unwrap();
    // Replace on a full user works (the limit is for appends).
    for i in 0..19 {
        lib.add_face(face(
            &app_id,
            "g",
            "u",
            &format!("fill{i}"),
            random_unit(DIM),
        ))
        .unwrap();
    }
    assert!(matches!(
        lib.add_face(face(&app_id, "g", "u", "21st", random_unit(DIM))),
        Err(LibraryError::UserFaceLimit { .. })
    ));
    let mut f = face(&app_id, "g", "u", "fresh", random_unit(DIM));
    f.mode = AddMode::Replace;
    lib.add_face(f).unwrap();
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM faces WHERE user_ref = ?1",
            params![user_ref]
        ),
        1
    );
}

#[test]
fn a_face_token_is_registered_at_most_once_per_group() {
    let (_dir, lib, app_id) = setup("exists");
    lib.add_face(face(&app_id, "g", "u", "tok", random_unit(DIM)))
        .unwrap();
    for user in ["u", "someone_else"] {
        match lib.add_face(face(&app_id, "g", user, "tok", random_unit(DIM))) {
            Err(LibraryError::FaceExists { face_token }) => assert_eq!(face_token, "tok"),
            other => panic!("expected FaceExists, got {other:?}"),
        }
    }
    // A failed add leaves nothing behind: no user was created.
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM users WHERE user_id = 'someone_else'",
            []
        ),
        0
    );
    let mut f = face(&app_id, "g", "someone_else", "tok", random_unit(DIM));
    f.mode = AddMode::Replace;
    assert!(matches!(
        lib.add_face(f),
        Err(LibraryError::FaceExists { .. })
    ));
    // Another group may hold the same token.
    lib.add_face(face(&app_id, "g2", "u", "tok", random_unit(DIM)))
        .unwrap();
}

#[test]
fn missing_groups_are_reported_by_name() {
    let (_dir, lib, app_id) = setup("missing");
    let mut f = face(&app_id, "nope", "u", "t", random_unit(DIM));
    f.create_group_if_missing = false;
    match lib.add_face(f) {
        Err(LibraryError::GroupNotFound { group_id }) => assert_eq!(group_id, "nope"),
        other => panic!("expected GroupNotFound, got {other:?}"),
    }
    assert!(!lib.group_exists(&app_id, "nope"));
    lib.create_group(&app_id, "g").unwrap();
    match lib.create_group(&app_id, "g") {
        Err(LibraryError::GroupExists { group_id }) => assert_eq!(group_id, "g"),
        other => panic!("expected GroupExists, got {other:?}"),
    }
    match lib.search(&query(&app_id, &["g", "absent"], random_unit(DIM), 1)) {
        Err(LibraryError::GroupNotFound { group_id }) => assert_eq!(group_id, "absent"),
        other => panic!("expected GroupNotFound, got {other:?}"),
    }
    // An empty group is searchable and yields nothing.
    assert!(lib
        .search(&query(&app_id, &["g"], random_unit(DIM), 5))
        .unwrap()
        .is_empty());
}

#[test]
fn apps_are_isolated() {
    let (_dir, lib, a) = setup("isolation");
    let b = lib.create_app("other").unwrap().app_id;
    let v = random_unit(DIM);
    lib.add_face(face(&a, "shared_name", "ua", "tok_a", v.clone()))
        .unwrap();
    lib.remember_transient(&a, "transient_a", &v, MODEL, NOW + 3600, None)
        .unwrap();
    lib.store_token(&a, "token-a", NOW + 100).unwrap();

    // B has no such group until it creates its own.
    assert!(!lib.group_exists(&b, "shared_name"));
    assert!(matches!(
        lib.search(&query(&b, &["shared_name"], v.clone(), 5)),
        Err(LibraryError::GroupNotFound { .. })
    ));
    lib.create_group(&b, "shared_name").unwrap();
    assert!(lib
        .search(&query(&b, &["shared_name"], v.clone(), 5))
        .unwrap()
        .is_empty());
    assert_eq!(
        lib.search(&query(&a, &["shared_name"], v.clone(), 5))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(lib.list_groups(&b, 0, 100).unwrap(), vec!["shared_name"]);

    assert!(lib.lookup_face(&b, "tok_a", NOW).unwrap().is_none());
    assert!(lib.lookup_face(&b, "transient_a", NOW).unwrap().is_none());
    assert!(
        lib.lookup_face(&a, "tok_a", NOW)
            .unwrap()
            .unwrap()
            .registered
    );
    match lib.resolve_token("token-a", NOW).unwrap() {
        TokenStatus::Valid(app) => assert_eq!(app.app_id, a),
        other => panic!("expected Valid, got {other:?}"),
    }
    // A token cannot be issued for an app that does not exist.
    assert!(matches!(
        lib.store_token("00000000", "t", NOW),
        Err(LibraryError::AppNotFound { .. })
    ));
}

#[test]
fn face_tokens_resolve_registered_first_then_unexpired_transients() {
    let (_dir, lib, app_id) = setup("transient");
    let v = random_unit(DIM);
    lib.remember_transient(&app_id, "tt", &v, MODEL, NOW + 3600, None)
        .unwrap();
    let found = lib.lookup_face(&app_id, "tt", NOW).unwrap().unwrap();
    assert!(!found.registered);
    assert_eq!(found.model_id, MODEL);
    assert_eq!(found.embedding, v);
    assert!(lib
        .lookup_face(&app_id, "tt", NOW + 3600)
        .unwrap()
        .is_none());
    assert!(lib.lookup_face(&app_id, "unknown", NOW).unwrap().is_none());

    // Upsert extends the lifetime.
    lib.remember_transient(&app_id, "tt", &v, MODEL, NOW + 7200, None)
        .unwrap();
    assert!(lib
        .lookup_face(&app_id, "tt", NOW + 3600)
        .unwrap()
        .is_some());

    // A registered face wins over a transient entry of the same token.
    let w = random_unit(DIM);
    lib.add_face(face(&app_id, "g", "u", "tt", w.clone()))
        .unwrap();
    let found = lib.lookup_face(&app_id, "tt", NOW).unwrap().unwrap();
    assert!(found.registered);
    assert_eq!(found.embedding, w);

    lib.remember_transient(&app_id, "old", &v, MODEL, NOW - 1, None)
        .unwrap();
    assert_eq!(lib.purge_expired_transients(NOW).unwrap(), 1);
    assert_eq!(count(&lib, "SELECT COUNT(*) FROM transient_faces", []), 1);
    // Durability is back to FULL after the relaxed transient write.
    let sync: i64 = lib
        .writer
        .lock()
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2);
}

#[test]
fn tokens_are_valid_expired_or_unknown() {
    let (_dir, lib, app_id) = setup("tokens");
    lib.store_token(&app_id, "24.abc", NOW + 10).unwrap();
    assert!(
        matches!(lib.resolve_token("24.abc", NOW).unwrap(), TokenStatus::Valid(a) if a.app_id == app_id)
    );
    assert_eq!(
        lib.resolve_token("24.abc", NOW + 10).unwrap(),
        TokenStatus::Expired
    );
    assert_eq!(
        lib.resolve_token("24.other", NOW).unwrap(),
        TokenStatus::Unknown
    );
    // Only the digest is stored.
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM tokens WHERE token_sha256 = '24.abc'",
            []
        ),
        0
    );

    // Expired tokens are kept for 30 days, then purged.
    assert_eq!(
        lib.purge_expired_tokens(NOW + 10 + EXPIRED_TOKEN_RETENTION_SECS)
            .unwrap(),
        0
    );
    assert_eq!(
        lib.resolve_token("24.abc", NOW + 1000).unwrap(),
        TokenStatus::Expired
    );
    assert_eq!(
        lib.purge_expired_tokens(NOW + 11 + EXPIRED_TOKEN_RETENTION_SECS)
            .unwrap(),
        1
    );
    assert_eq!(
        lib.resolve_token("24.abc", NOW + 1000).unwrap(),
        TokenStatus::Unknown
    );
}

#[test]
fn credentials_verify_and_secrets_are_not_stored() {
    let (_dir, lib, _) = setup("secret");
    let creds = lib.create_app("cam").unwrap();
    assert_eq!(creds.app_id.len(), 8);
    assert!(creds.app_id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(creds.api_key.len(), 24);
    assert_eq!(creds.secret_key.len(), 32);
    assert!(creds.secret_key.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(!format!("{creds:?}").contains(&creds.secret_key));

    match lib
        .verify_secret(&creds.api_key, &creds.secret_key)
        .unwrap()
    {
        SecretCheck::Valid(app) => {
            assert_eq!(app.app_id, creds.app_id);
            assert_eq!(app.name, "cam");
            assert_eq!(app.permissions, None);
        }
        other => panic!("expected Valid, got {other:?}"),
    }
    assert_eq!(
        lib.verify_secret(&creds.api_key, "wrong").unwrap(),
        SecretCheck::WrongSecret
    );
    assert_eq!(
        lib.verify_secret("nobody", &creds.secret_key).unwrap(),
        SecretCheck::UnknownClient
    );
    assert_eq!(
        count(
            &lib,
            "SELECT COUNT(*) FROM apps WHERE secret_sha256 = ?1",
            params![creds.secret_key]
        ),
        0
    );

    assert_eq!(
        lib.app_by_api_key(&creds.api_key).unwrap().unwrap().app_id,
        creds.app_id
    );
    assert!(lib.app_by_api_key("nobody").unwrap().is_none());
    let apps = lib.list_apps().unwrap();
    assert_eq!(apps.len(), 2);

    lib.set_permissions(&creds.app_id, Some(vec!["search".into(), "detect".into()]))
        .unwrap();
    let app = lib.app_by_id(&creds.app_id).unwrap().unwrap();
    assert_eq!(
        app.permissions,
        Some(vec!["search".to_owned(), "detect".to_owned()])
    );
    lib.set_permissions(&creds.app_id, Some(vec![])).unwrap();
    assert_eq!(
        lib.app_by_id(&creds.app_id).unwrap().unwrap().permissions,
        Some(vec![])
    );
    lib.set_permissions(&creds.app_id, None).unwrap();
    assert_eq!(
        lib.app_by_id(&creds.app_id).unwrap().unwrap().permissions,
        None
    );
    assert!(matches!(
        lib.set_permissions("00000000", None),
        Err(LibraryError::AppNotFound { .. })
    ));
}

#[test]
fn list_groups_pages_in_creation_order() {
    let (_dir, lib, app_id) = setup("paging");
    let names = ["zeta", "alpha", "m", "b_2", "b_1", "omega", "k"];
    for name in names {
        lib.create_group(&app_id, name).unwrap();
    }
    // Implicitly created groups join the order too.
    lib.add_face(face(&app_id, "auto", "u", "t", random_unit(DIM)))
        .unwrap();
    let all: Vec<&str> = names.iter().copied().chain(["auto"]).collect();
    assert_eq!(lib.list_groups(&app_id, 0, 100).unwrap(), all);
    assert_eq!(lib.list_groups(&app_id, 2, 3).unwrap(), &all[2..5]);
    assert_eq!(lib.list_groups(&app_id, 7, 3).unwrap(), &all[7..]);
    assert!(lib.list_groups(&app_id, 8, 3).unwrap().is_empty());
    assert!(lib
        .list_groups(&app_id, usize::MAX, usize::MAX)
        .unwrap()
        .is_empty());
    assert!(lib.list_groups(&app_id, 0, 0).unwrap().is_empty());
}

#[test]
fn search_keeps_each_users_best_face_and_orders_by_similarity() {
    let (_dir, lib, app_id) = setup("ordering");
    let add = |user: &str, token: &str, cos: f32, axis: usize| {
        let mut f = face(&app_id, "g", user, token, at_cosine(cos, DIM, axis));
        f.user_info = Some(format!("{user} info"));
        lib.add_face(f).unwrap();
    };
    add("a", "a_low", 0.5, 1);
    add("a", "a_high", 0.9, 2);
    add("a", "a_mid", 0.7, 3);
    add("b", "b_only", 0.8, 4);
    add("c", "c_best", 0.95, 5);
    add("c", "c_neg", -0.4, 6);
    add("d", "d_neg", -0.6, 7);

    let hits = lib.search(&query(&app_id, &["g"], e0(DIM), 10)).unwrap();
    let got: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.user_id.as_str(), h.face_token.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("c", "c_best"),
            ("a", "a_high"),
            ("b", "b_only"),
            ("d", "d_neg")
        ]
    );
    let sims: Vec<f32> = hits.iter().map(|h| h.similarity).collect();
    for (got, want) in sims.iter().zip([0.95, 0.9, 0.8, -0.6]) {
        assert!((got - want).abs() < 1e-5, "{sims:?}");
    }
    assert_eq!(hits[0].user_info, "c info");
    assert_eq!(hits[0].group_id, "g");

    let top2 = lib.search(&query(&app_id, &["g"], e0(DIM), 2)).unwrap();
    assert_eq!(top2, hits[..2]);
    assert!(lib
        .search(&query(&app_id, &["g"], e0(DIM), 0))
        .unwrap()
        .is_empty());
    // The query's scale does not matter.
    let scaled: Vec<f32> = e0(DIM).iter().map(|x| x * 7.0).collect();
    assert_eq!(
        lib.search(&query(&app_id, &["g"], scaled, 10)).unwrap(),
        hits
    );
}

#[test]
fn search_with_user_filter_compares_only_that_user() {
    let (_dir, lib, app_id) = setup("filter");
    lib.add_face(face(&app_id, "g1", "a", "a1", at_cosine(0.9, DIM, 1)))
        .unwrap();
    lib.add_face(face(&app_id, "g1", "b", "b1", at_cosine(0.3, DIM, 2)))
        .unwrap();
    lib.add_face(face(&app_id, "g1", "b", "b2", at_cosine(0.4, DIM, 3)))
        .unwrap();
    lib.add_face(face(&app_id, "g2", "b", "b3", at_cosine(0.2, DIM, 4)))
        .unwrap();
    lib.create_group(&app_id, "g3").unwrap();

    let mut q = query(&app_id, &["g1", "g2", "g3"], e0(DIM), 5);
    q.user_id = Some("b".into());
    let hits = lib.search(&q).unwrap();
    let got: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.group_id.as_str(), h.face_token.as_str()))
        .collect();
    assert_eq!(got, [("g1", "b2"), ("g2", "b3")]);

    q.user_id = Some("ghost".into());
    match lib.search(&q) {
        Err(LibraryError::UserNotFound { user_id }) => assert_eq!(user_id, "ghost"),
        other => panic!("expected UserNotFound, got {other:?}"),
    }
    // "a" exists, but not in the groups searched.
    let mut q = query(&app_id, &["g2", "g3"], e0(DIM), 5);
    q.user_id = Some("a".into());
    assert!(matches!(
        lib.search(&q),
        Err(LibraryError::UserNotFound { .. })
    ));
}

#[test]
fn search_merges_several_groups() {
    let (_dir, lib, app_id) = setup("multi");
    lib.add_face(face(
        &app_id,
        "staff",
        "alice",
        "s_alice",
        at_cosine(0.6, DIM, 1),
    ))
    .unwrap();
    lib.add_face(face(
        &app_id,
        "staff",
        "bob",
        "s_bob",
        at_cosine(0.85, DIM, 2),
    ))
    .unwrap();
    lib.add_face(face(
        &app_id,
        "vip",
        "alice",
        "v_alice",
        at_cosine(0.9, DIM, 3),
    ))
    .unwrap();
    lib.add_face(face(
        &app_id,
        "vip",
        "carol",
        "v_carol",
        at_cosine(0.1, DIM, 4),
    ))
    .unwrap();

    let hits = lib
        .search(&query(&app_id, &["staff", "vip", "staff"], e0(DIM), 10))
        .unwrap();
    let got: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.group_id.as_str(), h.user_id.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("vip", "alice"),
            ("staff", "bob"),
            ("staff", "alice"),
            ("vip", "carol")
        ]
    );
    let top = lib
        .search(&query(&app_id, &["staff", "vip"], e0(DIM), 1))
        .unwrap();
    assert_eq!(top[0].face_token, "v_alice");
}

#[test]
fn a_group_holds_one_models_embeddings() {
    let (_dir, lib, app_id) = setup("model");
    lib.add_face(face(&app_id, "g", "u", "t1", random_unit(DIM)))
        .unwrap();
    let mut other = face(&app_id, "g", "v", "t2", random_unit(DIM));
    other.model_id = "other-model".into();
    assert!(matches!(
        lib.add_face(other),
        Err(LibraryError::ModelMismatch { .. })
    ));
    assert!(matches!(
        lib.add_face(face(&app_id, "g", "v", "t3", random_unit(DIM + 1))),
        Err(LibraryError::DimensionMismatch { expected: DIM, found, .. }) if found == DIM + 1
    ));
    let mut q = query(&app_id, &["g"], random_unit(DIM), 1);
    q.model_id = "other-model".into();
    assert!(matches!(
        lib.search(&q),
        Err(LibraryError::ModelMismatch { .. })
    ));
    assert!(matches!(
        lib.search(&query(&app_id, &["g"], random_unit(DIM + 1), 1)),
        Err(LibraryError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        lib.search(&query(&app_id, &["g"], vec![0.0; DIM], 1)),
        Err(LibraryError::InvalidEmbedding(_))
    ));
    // Once the group's only user is replaced, the group adopts the new model.
    let mut f = face(&app_id, "g", "u", "t4", random_unit(DIM + 1));
    f.model_id = "other-model".into();
    f.mode = AddMode::Replace;
    lib.add_face(f).unwrap();
    let mut q = query(&app_id, &["g"], random_unit(DIM + 1), 1);
    q.model_id = "other-model".into();
    assert_eq!(lib.search(&q).unwrap().len(), 1);
}

#[test]
fn every_add_is_visible_to_the_next_search() {
    let (_dir, lib, app_id) = setup("ryw");
    for i in 0..40 {
        let v = random_unit(DIM);
        let token = format!("t{i}");
        lib.add_face(face(&app_id, "g", &format!("u{i}"), &token, v.clone()))
            .unwrap();
        let hits = lib.search(&query(&app_id, &["g"], v, 1)).unwrap();
        assert_eq!(hits[0].face_token, token);
        assert!(hits[0].similarity > 0.999);
        assert!(lib.lookup_face(&app_id, &token, NOW).unwrap().is_some());
    }
}

#[test]
fn user_info_is_kept_unless_given() {
    let (_dir, lib, app_id) = setup("info");
    lib.add_face(face(&app_id, "g", "u", "t1", e0(DIM)))
        .unwrap();
    let hit = |lib: &Library| {
        lib.search(&query(&app_id, &["g"], e0(DIM), 1))
            .unwrap()
            .remove(0)
    };
    assert_eq!(hit(&lib).user_info, "");
    let mut f = face(&app_id, "g", "u", "t2", e0(DIM));
    f.user_info = Some("Alice".into());
    lib.add_face(f).unwrap();
    assert_eq!(hit(&lib).user_info, "Alice");
    lib.add_face(face(&app_id, "g", "u", "t3", e0(DIM)))
        .unwrap();
    assert_eq!(hit(&lib).user_info, "Alice");
}

#[test]
fn reembedding_moves_every_face_to_the_new_model_or_none() {
    let (_dir, lib, app) = setup("reembed");
    for (user, token) in [("alice", "t1"), ("bob", "t2")] {
        let mut req = face(&app, "staff", user, token, random_unit(DIM));
        req.crop_jpeg = Some(vec![0xff, 0xd8, token.len() as u8]);
        lib.add_face(req).unwrap();
    }
    let todo = lib.faces_to_reembed("model-v2").unwrap();
    assert_eq!(todo.len(), 2);
    assert!(todo
        .iter()
        .all(|f| f.crop_jpeg.is_some() && f.group_id == "staff"));
    assert!(lib.faces_to_reembed(MODEL).unwrap().is_empty());
    // Half a library is refused and nothing changes.
    let new_alice = at_cosine(1.0, 32, 1);
    let partial = vec![(todo[0].face_ref, new_alice.clone())];
    assert!(matches!(
        lib.replace_embeddings("model-v2", &partial),
        Err(LibraryError::ModelMismatch { .. })
    ));
    assert_eq!(lib.faces_to_reembed("model-v2").unwrap().len(), 2);
    let all: Vec<(i64, Vec<f32>)> = todo
        .iter()
        .map(|f| {
            (
                f.face_ref,
                if f.user_id == "alice" {
                    new_alice.clone()
                } else {
                    at_cosine(0.0, 32, 2)
                },
            )
        })
        .collect();
    assert_eq!(lib.replace_embeddings("model-v2", &all).unwrap(), 2);
    drop(lib);
    // Reopened, the library searches with the new model only.
    let lib = Library::open(_dir.path()).unwrap();
    let mut q = query(&app, &["staff"], new_alice.clone(), 1);
    assert!(lib.search(&q).is_err(), "the old model is refused");
    q.model_id = "model-v2".into();
    let hits = lib.search(&q).unwrap();
    assert_eq!(hits[0].user_id, "alice");
    assert!(hits[0].similarity > 0.99);
}
