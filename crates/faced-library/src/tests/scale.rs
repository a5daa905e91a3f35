//! The scale test, ignored by default (several GB of disk and memory, some
//! minutes). Run it with
//!
//! ```text
//! cargo test -p faced-library --release -- --ignored --nocapture scale_one_million
//! ```
//!
//! It registers synthetic 512-dimensional faces (two per user, one group)
//! through [`Library::add_faces_bulk`], and at 100,000 and at 1,000,000
//! faces (`FACED_SCALE_FACES` overrides the total) starts a fresh process
//! that opens the library and reports start-up time, resident memory per
//! face, and search latencies. A fresh process keeps the memory figure free
//! of what the inserting process allocated and freed.

use std::process::Command;
use std::time::{Duration, Instant};

use super::*;

const SCALE_DIM: usize = 512;
const GROUP: &str = "scale";
const FACES_PER_USER: usize = 2;
const BULK: usize = 10_000;
const PROBE_DIR: &str = "FACED_SCALE_PROBE_DIR";
const PROBE_APP: &str = "FACED_SCALE_PROBE_APP";
const PROBE_FACES: &str = "FACED_SCALE_PROBE_FACES";

/// The synthetic embedding of face `n`: reproducible, so the probe can
/// search for stored faces without reading them back.
fn synthetic(n: u64) -> Vec<f32> {
    let mut state = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
    (0..SCALE_DIM)
        .map(|_| {
            // splitmix64
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn token(n: usize) -> String {
    format!("{n:032x}")
}

/// This process's resident set size, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn timed<T>(runs: usize, mut f: impl FnMut(usize) -> T) -> (Vec<Duration>, T) {
    let mut last = None;
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        last = Some(f(i));
        times.push(t.elapsed());
    }
    times.sort();
    (times, last.expect("at least one run"))
}

#[test]
#[ignore = "scale test: GBs of disk and memory, minutes; run with --release -- --ignored"]
fn scale_one_million_faces() {
    let total: usize = std::env::var("FACED_SCALE_FACES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut checkpoints = vec![100_000.min(total), total];
    checkpoints.dedup();

    let dir = TempDir::new("scale");
    let mut lib = Library::open(dir.path()).unwrap();
    let app_id = lib.create_app("scale").unwrap().app_id;
    let mut inserted = 0usize;
    for checkpoint in checkpoints {
        let started = Instant::now();
        let step_start = inserted;
        while inserted < checkpoint {
            let n = BULK.min(checkpoint - inserted);
            let batch: Vec<AddFace> = (inserted..inserted + n)
                .map(|i| AddFace {
                    meta: None,
                    app_id: app_id.clone(),
                    group_id: GROUP.into(),
                    user_id: format!("user_{}", i / FACES_PER_USER),
                    user_info: None,
                    face_token: token(i),
                    embedding: synthetic(i as u64),
                    model_id: MODEL.into(),
                    crop_jpeg: None,
                    mode: AddMode::Append,
                    create_group_if_missing: true,
                    now: NOW,
                })
                .collect();
            lib.add_faces_bulk(batch).unwrap();
            inserted += n;
        }
        let took = started.elapsed();
        println!(
            "SCALE inserted up to {inserted} faces: {:.1} s for this step ({:.0} faces/s)",
            took.as_secs_f64(),
            (inserted - step_start) as f64 / took.as_secs_f64().max(1e-9)
        );
        drop(lib);
        let db_bytes = std::fs::metadata(dir.path().join(DB_FILE_NAME))
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "SCALE database file: {:.2} GiB ({:.0} bytes/face)",
            db_bytes as f64 / (1u64 << 30) as f64,
            db_bytes as f64 / inserted as f64
        );

        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .args([
                "--exact",
                "tests::scale::scale_probe",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROBE_DIR, dir.path())
            .env(PROBE_APP, &app_id)
            .env(PROBE_FACES, inserted.to_string())
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "probe failed");
        lib = Library::open(dir.path()).unwrap();
    }
}

/// Run by [`scale_one_million_faces`] in a child process; does nothing
/// otherwise.
#[test]
#[ignore = "helper of scale_one_million_faces"]
fn scale_probe() {
    let Ok(dir) = std::env::var(PROBE_DIR) else {
        return;
    };
    let app_id = std::env::var(PROBE_APP).unwrap();
    let faces: usize = std::env::var(PROBE_FACES).unwrap().parse().unwrap();

    let rss_before = rss_kib();
    let started = Instant::now();
    let lib = Library::open(Path::new(&dir)).unwrap();
    let startup = started.elapsed();
    let rss_after = rss_kib();
    let stats = lib.stats();
    assert_eq!(stats.faces, faces);
    assert_eq!(stats.users, faces.div_ceil(FACES_PER_USER));
    let per_face = (rss_after - rss_before) as f64 * 1024.0 / faces as f64;
    println!(
        "SCALE {faces} faces: start-up {:.2} s; resident memory +{:.0} MiB = {per_face:.0} bytes/face \
         (the {SCALE_DIM}-d f32 vector alone is {} bytes)",
        startup.as_secs_f64(),
        (rss_after - rss_before) as f64 / 1024.0,
        SCALE_DIM * 4
    );

    // 1:N over the whole group, for stored faces (which must come first).
    let targets: Vec<usize> = (0..25).map(|i| (i * 7919 * 131) % faces).collect();
    let search = |n: usize, user: Option<String>, max_users: usize| {
        lib.search(&SearchQuery {
            app_id: app_id.clone(),
            group_ids: vec![GROUP.into()],
            user_id: user,
            embedding: synthetic(n as u64),
            model_id: MODEL.into(),
            max_users,
        })
        .unwrap()
    };
    for &n in &targets[..3] {
        search(n, None, 1); // warm-up
    }
    let (times, _) = timed(targets.len(), |i| {
        let hits = search(targets[i], None, 5);
        assert_eq!(hits[0].face_token, token(targets[i]));
        assert!(hits[0].similarity > 0.999);
        hits
    });
    println!(
        "SCALE {faces} faces: search (top 5 of 1 group) median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 1.0)
    );
    let (times, _) = timed(targets.len(), |i| {
        search(
            targets[i],
            Some(format!("user_{}", targets[i] / FACES_PER_USER)),
            1,
        )
    });
    println!(
        "SCALE {faces} faces: search with user_id median {:.3} ms",
        percentile(&times, 0.5)
    );
    let multi = MultiSearchQuery {
        app_id: app_id.clone(),
        group_ids: vec![GROUP.into()],
        user_id: None,
        embeddings: targets[..10].iter().map(|&n| synthetic(n as u64)).collect(),
        model_id: MODEL.into(),
        max_users: 5,
    };
    let (times, all) = timed(5, |_| lib.search_many(&multi).unwrap());
    for (hits, &n) in all.iter().zip(&targets) {
        assert_eq!(hits[0].face_token, token(n));
    }
    println!(
        "SCALE {faces} faces: multi-search of 10 faces median {:.1} ms ({:.1} ms per face)",
        percentile(&times, 0.5),
        percentile(&times, 0.5) / 10.0
    );
}
