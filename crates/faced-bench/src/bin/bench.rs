//! `bench`: how fast faced is on this machine. A measurement, not a test: it never fails on
//! a slow number.
//!
//! Every figure is timed with `std::time::Instant` around one operation, after a few untimed
//! warm-up runs, and reported as the median and 90th percentile (nearest rank) of the
//! repeated runs. Beside wall time the tables give the median CPU time of the calling thread
//! (`CLOCK_THREAD_CPUTIME_ID`): on a shared machine wall time includes waiting for a CPU, CPU
//! time does not, and the load average at the start and end is recorded. Measured:
//!
//! * **decode**: `faced_engine::decode::decode` of 250×250 LFW JPEGs (from memory) and of the
//!   1920×1080 `cases/size_1920x1080_couple.jpg`;
//! * **detect**: the detector network alone, and `Engine::analyse` with at most one face
//!   (detector + 68 landmarks), on the same pictures (a frame of 400 px or more also gets the
//!   detector's small-face pass);
//! * **embed**: `Engine::embed` per face (alignment + the embedder, twice: face and mirror);
//! * **throughput**: decode + analyse + embed over the LFW sample on 1 and on 2 threads
//!   sharing one `Engine`;
//! * **enrolment end to end**: decode + analyse + embed + `Library::add_face` into a fresh
//!   library in the system temp directory (WAL, `synchronous=FULL`: one fsync per add), with the
//!   library write timed separately, on 1 and 2 threads;
//! * **exact search**: `Library::search` (one group, `max_users` 1, a real 512-d embedding of
//!   an LFW face as the query) over libraries of 10k and 100k faces. The stored faces are
//!   synthetic random unit vectors (5 per user), inserted one `add_face` at a time, so the
//!   insert rate with a per-add fsync is measured too; then the time to reopen the library
//!   (loading the index from SQLite).
//!
//! The Markdown report goes to stdout and is appended as a dated section to
//! `docs/BENCHMARKS.md` (full runs only, unless `--append`/`--no-append`).
//!
//! Usage: `cargo run --release -p faced-bench --bin bench -- [--quick] [--data DIR]
//! [--models DIR] [--images N] [--sizes 10000,100000] [--insert-budget SECS] [--append]
//! [--no-append]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use faced_bench::{
    data_dir, face_token, flag_value, models_dir, normalise, read_labels, repo_root,
    thread_cpu_time, timed, unix_now, utc_now, Machine, ScratchDir, Stats, Timing, DECODE_LIMITS,
};
use faced_engine::detect::{Detector, DetectorConfig, FaceOrder};
use faced_engine::pack::{Role, FACEPLUGIN, FACEPLUGIN_PACKAGE};
use faced_engine::{AnalysedFace, Engine};
use faced_library::{AddFace, AddMode, Library, SearchQuery};
use image::RgbImage;
use rand::{Rng, SeedableRng};

const USAGE: &str =
    "usage: bench [--quick] [--data DIR] [--models DIR] [--images N] [--sizes N,N,...]
             [--insert-budget SECS] [--append | --no-append]

  --quick              a short run: 40 images, one pass, search over 2000 faces
  --data DIR           the shared data folder (default: ../shared/data from the repo root)
  --models DIR         models folder (default: $FACED_MODELS_DIR, else ~/.cache/faced/models)
  --images N           LFW photos in the sample (default 200; quick 40)
  --sizes LIST         library sizes for the search benchmark (default 10000,100000; quick 2000)
  --insert-budget SECS stop inserting synthetic faces after this long (default 1200)
  --append/--no-append append the report to docs/BENCHMARKS.md (default: full runs only)";

struct Options {
    quick: bool,
    data: Option<PathBuf>,
    models: Option<PathBuf>,
    images: usize,
    passes: usize,
    large_reps: usize,
    sizes: Vec<usize>,
    insert_budget: Duration,
    append: bool,
}

fn parse_options() -> Result<Options> {
    let mut quick = false;
    let (mut data, mut models, mut images, mut sizes, mut append) = (None, None, None, None, None);
    let mut insert_budget = Duration::from_secs(1200);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--data" => data = Some(PathBuf::from(flag_value(&mut args, "--data")?)),
            "--models" => models = Some(PathBuf::from(flag_value(&mut args, "--models")?)),
            "--images" => {
                images = Some(
                    flag_value(&mut args, "--images")?
                        .parse::<usize>()
                        .context("--images N")?
                        .max(1),
                );
            }
            "--sizes" => {
                let list = flag_value(&mut args, "--sizes")?;
                let mut parsed = list
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<usize>()
                            .with_context(|| format!("--sizes: bad number {s:?}"))
                    })
                    .collect::<Result<Vec<_>>>()?;
                parsed.retain(|&n| n > 0);
                parsed.sort_unstable();
                parsed.dedup();
                sizes = Some(parsed);
            }
            "--insert-budget" => {
                let secs = flag_value(&mut args, "--insert-budget")?
                    .parse::<u64>()
                    .context("--insert-budget SECS")?;
                insert_budget = Duration::from_secs(secs);
            }
            "--append" => append = Some(true),
            "--no-append" => append = Some(false),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Options {
        quick,
        data,
        models,
        images: images.unwrap_or(if quick { 40 } else { 200 }),
        passes: if quick { 1 } else { 3 },
        large_reps: if quick { 5 } else { 20 },
        sizes: sizes.unwrap_or_else(|| {
            if quick {
                vec![2000]
            } else {
                vec![10_000, 100_000]
            }
        }),
        insert_budget,
        append: append.unwrap_or(!quick),
    })
}

/// Untimed runs before each measurement.
const WARM_UP: usize = 3;
/// Faces stored per synthetic user in the search benchmark.
const FACES_PER_USER: usize = 5;

/// One line of a per-operation table.
struct Row {
    what: String,
    input: String,
    timings: Vec<Timing>,
}

/// Times `f` on each item: `WARM_UP` untimed calls first, then `passes` timed passes.
fn time_each<T>(
    items: &[T],
    passes: usize,
    mut f: impl FnMut(&T) -> Result<()>,
) -> Result<Vec<Timing>> {
    for item in items.iter().cycle().take(WARM_UP.min(items.len() * passes)) {
        f(item)?;
    }
    let mut samples = Vec::with_capacity(items.len() * passes);
    for _ in 0..passes {
        for item in items {
            let (result, timing) = timed(|| f(item));
            result?;
            samples.push(timing);
        }
    }
    Ok(samples)
}

/// A CPU-time figure for a table cell ("–" where the platform gives none).
fn cpu_cell(timings: &[Timing]) -> String {
    Stats::cpu(timings)
        .map(|s| format!("{:.2}", s.median_ms))
        .unwrap_or_else(|| "–".into())
}

fn main() -> Result<()> {
    let options = parse_options()?;
    let command = faced_bench::command_line("bench");
    let machine = Machine::current();
    let date = utc_now();
    let data = data_dir(options.data.as_deref())?;
    let models = models_dir(options.models.as_deref())?;
    let labels = read_labels(&data.join("faces"))?;

    // A deterministic sample spread over the whole list (every k-th deep-funneled photo).
    let funneled: Vec<_> = labels
        .iter()
        .filter(|l| l.file.starts_with("lfw-deepfunneled/"))
        .collect();
    let step = (funneled.len() / options.images).max(1);
    let sample: Vec<(String, Vec<u8>)> = funneled
        .iter()
        .step_by(step)
        .take(options.images)
        .map(|l| {
            let path = data.join("faces").join(&l.file);
            std::fs::read(&path)
                .map(|b| (l.identity.clone(), b))
                .with_context(|| format!("reading {}", path.display()))
        })
        .collect::<Result<_>>()?;
    let large_path = data.join("cases/size_1920x1080_couple.jpg");
    let large =
        std::fs::read(&large_path).with_context(|| format!("reading {}", large_path.display()))?;

    let mut report = String::new();
    let mode = if options.quick { "quick" } else { "full" };
    writeln!(report, "## {date} — {mode} run\n")?;
    writeln!(report, "* Command: `{command}` (from the repository root)")?;
    writeln!(report, "* Machine: {}", machine.describe())?;
    writeln!(report, "* Build: {}", faced_bench::build_profile())?;
    writeln!(
        report,
        "* Load average (1/5/15 min) at the start: {} (anything above 0 means other work shared the CPUs)",
        faced_bench::load_average()
    )?;
    writeln!(
        report,
        "* Pack `{}` ({}@{}), embedder `{}`; sample: {} LFW deep-funneled photos (250×250 JPEG; one in every {} deep-funneled rows of labels.csv), read into memory first",
        FACEPLUGIN.id,
        FACEPLUGIN_PACKAGE.name,
        FACEPLUGIN_PACKAGE.version,
        FACEPLUGIN.embedder_id,
        sample.len(),
        step
    )?;
    writeln!(
        report,
        "* Each figure: median and p90 (nearest rank) of the timed runs after {WARM_UP} untimed warm-up runs; \
         \"CPU\" columns are the calling thread's CPU time (not inflated by waiting for a CPU on a busy machine)\n"
    )?;
    println!("{report}");

    let started = Instant::now();
    let engine = Engine::load(&FACEPLUGIN, &models).with_context(|| {
        format!(
            "loading the {} pack from {}",
            FACEPLUGIN.id,
            models.display()
        )
    })?;
    let engine_load = started.elapsed();
    let detector_path = FACEPLUGIN
        .path_of(&models, Role::Detector)
        .context("the pack has no detector")?;
    let detector = Detector::load(&detector_path, DetectorConfig::default())?;

    // ---- per-stage timings, one thread
    eprintln!("stages…");
    let mut rows = Vec::new();
    let lfw = "250×250 LFW";
    let hd = "1920×1080 couple";
    let decode = |bytes: &Vec<u8>| -> Result<RgbImage> {
        Ok(faced_engine::decode::decode(bytes, &DECODE_LIMITS)?)
    };
    let bytes: Vec<Vec<u8>> = sample.iter().map(|(_, b)| b.clone()).collect();
    let samples = time_each(&bytes, options.passes, |b| decode(b).map(drop))?;
    rows.push(Row {
        what: "decode".into(),
        input: lfw.into(),
        timings: samples,
    });
    let large_list = vec![large.clone(); options.large_reps];
    let samples = time_each(&large_list, 1, |b| decode(b).map(drop))?;
    rows.push(Row {
        what: "decode".into(),
        input: hd.into(),
        timings: samples,
    });

    let images: Vec<RgbImage> = bytes.iter().map(decode).collect::<Result<_>>()?;
    let large_image = decode(&large)?;
    let large_images = vec![large_image; options.large_reps];

    let samples = time_each(&images, options.passes, |img| {
        detector.detect(img).map(drop).map_err(Into::into)
    })?;
    rows.push(Row {
        what: "detector network only".into(),
        input: lfw.into(),
        timings: samples,
    });
    let samples = time_each(&large_images, 1, |img| {
        detector.detect(img).map(drop).map_err(Into::into)
    })?;
    rows.push(Row {
        what: "detector network only".into(),
        input: format!("{hd} (+ small-face pass)"),
        timings: samples,
    });
    let analyse = |img: &RgbImage| -> Result<Vec<AnalysedFace>> {
        Ok(engine.analyse(img, 1, FaceOrder::CentreFirst)?)
    };
    let samples = time_each(&images, options.passes, |img| analyse(img).map(drop))?;
    rows.push(Row {
        what: "detect: `analyse`, max 1 face (detector + landmarks)".into(),
        input: lfw.into(),
        timings: samples,
    });
    let samples = time_each(&large_images, 1, |img| analyse(img).map(drop))?;
    rows.push(Row {
        what: "detect: `analyse`, max 1 face (detector + landmarks)".into(),
        input: format!("{hd} (+ small-face pass)"),
        timings: samples,
    });

    let mut faces: Vec<(usize, AnalysedFace)> = Vec::new();
    for (i, img) in images.iter().enumerate() {
        if let Some(face) = analyse(img)?.into_iter().next() {
            faces.push((i, face));
        }
    }
    if faces.is_empty() {
        bail!("no face found in the sample");
    }
    let samples = time_each(&faces, options.passes, |(i, face)| {
        engine
            .embed(&images[*i], face)
            .map(drop)
            .map_err(Into::into)
    })?;
    rows.push(Row {
        what: "embed per face (align + embedder on face and mirror)".into(),
        input: lfw.into(),
        timings: samples,
    });
    let queries: Vec<Vec<f32>> = faces
        .iter()
        .map(|(i, face)| engine.embed(&images[*i], face))
        .collect::<Result<_, _>>()?;

    let mut section = String::new();
    writeln!(section, "### Per operation, one thread\n")?;
    writeln!(
        section,
        "Engine load (digest check + 3 networks): {:.2} s.\n",
        engine_load.as_secs_f64()
    )?;
    writeln!(
        section,
        "| operation | input | runs | median ms | p90 ms | mean ms | per second | CPU median ms |"
    )?;
    writeln!(section, "|---|---|---|---|---|---|---|---|")?;
    for row in &rows {
        let s = Stats::wall(&row.timings);
        writeln!(
            section,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {} |",
            row.what,
            row.input,
            s.n,
            s.median_ms,
            s.p90_ms,
            s.mean_ms,
            s.per_second(),
            cpu_cell(&row.timings)
        )?;
    }
    writeln!(
        section,
        "\n{} of {} sample photos had a face.\n",
        faces.len(),
        images.len()
    )?;
    print!("{section}");
    report.push_str(&section);

    // ---- throughput of the whole image pipeline, 1 and 2 threads
    eprintln!("pipeline throughput…");
    let mut section = String::new();
    writeln!(
        section,
        "### Image → embedding throughput (decode + analyse + embed)\n"
    )?;
    writeln!(
        section,
        "| threads | images | wall s | images/s | median ms/image | p90 ms/image | CPU median ms/image |"
    )?;
    writeln!(section, "|---|---|---|---|---|---|---|")?;
    for threads in [1, 2] {
        let pipeline = |bytes: &Vec<u8>| -> Result<()> {
            let img = decode(bytes)?;
            if let Some(face) = analyse(&img)?.first() {
                engine.embed(&img, face)?;
            }
            Ok(())
        };
        let (wall, samples) = run_parallel(&bytes, threads, options.passes, pipeline)?;
        let s = Stats::wall(&samples);
        writeln!(
            section,
            "| {threads} | {} | {:.2} | {:.1} | {:.2} | {:.2} | {} |",
            samples.len(),
            wall.as_secs_f64(),
            samples.len() as f64 / wall.as_secs_f64(),
            s.median_ms,
            s.p90_ms,
            cpu_cell(&samples)
        )?;
    }
    writeln!(section)?;
    print!("{section}");
    report.push_str(&section);

    // ---- enrolment end to end into a fresh library
    eprintln!("enrolment…");
    let mut section = String::new();
    writeln!(
        section,
        "### Enrolment end to end (decode + analyse + embed + `Library::add_face`)\n"
    )?;
    writeln!(
        section,
        "A fresh library in the system temp directory (same disk as the repository), WAL with \
         `synchronous=FULL`, one transaction and fsync per face; photos held in memory.\n"
    )?;
    writeln!(
        section,
        "| threads | faces | wall s | faces/s | total median ms | total p90 ms | total CPU median ms | library write median ms | write p90 ms |"
    )?;
    writeln!(section, "|---|---|---|---|---|---|---|---|---|")?;
    for threads in [1, 2] {
        let e = enrol(&engine, &sample, threads)?;
        let (total, write) = (Stats::wall(&e.total), Stats::of(&e.write));
        writeln!(
            section,
            "| {threads} | {} | {:.2} | {:.1} | {:.2} | {:.2} | {} | {:.2} | {:.2} |",
            e.total.len(),
            e.wall.as_secs_f64(),
            e.total.len() as f64 / e.wall.as_secs_f64(),
            total.median_ms,
            total.p90_ms,
            cpu_cell(&e.total),
            write.median_ms,
            write.p90_ms
        )?;
    }
    writeln!(section)?;
    print!("{section}");
    report.push_str(&section);

    // ---- exact search at scale
    eprintln!("search…");
    let section = search_at_scale(&options, &queries)?;
    print!("{section}");
    report.push_str(&section);

    let end = format!(
        "Load average (1/5/15 min) at the end: {}.\n\n",
        faced_bench::load_average()
    );
    print!("{end}");
    report.push_str(&end);

    if options.append {
        let path = repo_root().join("docs/BENCHMARKS.md");
        append_report(&path, &report)?;
        eprintln!("appended to {}", path.display());
    }
    Ok(())
}

/// Runs `f` over `items` (`passes` times) on `threads` threads; returns the wall time and each
/// call's duration.
fn run_parallel<T: Sync>(
    items: &[T],
    threads: usize,
    passes: usize,
    f: impl Fn(&T) -> Result<()> + Sync,
) -> Result<(Duration, Vec<Timing>)> {
    for item in items.iter().take(WARM_UP) {
        f(item)?;
    }
    let total = items.len() * passes;
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let parts: Vec<Result<Vec<Timing>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<Vec<Timing>> {
                    let mut samples = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= total {
                            break;
                        }
                        let (result, timing) = timed(|| f(&items[k % items.len()]));
                        result?;
                        samples.push(timing);
                    }
                    Ok(samples)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow!("a worker panicked")))
            })
            .collect()
    });
    let wall = started.elapsed();
    let mut samples = Vec::with_capacity(total);
    for part in parts {
        samples.extend(part?);
    }
    Ok((wall, samples))
}

struct Enrolment {
    wall: Duration,
    /// Decode + analyse + embed + write, per face.
    total: Vec<Timing>,
    /// The `add_face` call alone (wall time).
    write: Vec<Duration>,
}

/// Enrols every sample photo with a face into a fresh library on `threads` threads.
fn enrol(engine: &Engine, sample: &[(String, Vec<u8>)], threads: usize) -> Result<Enrolment> {
    let scratch = ScratchDir::new("faced-bench-enrol")?;
    let library = Library::open(scratch.path())?;
    let app = library.create_app("faced-bench")?;
    // Warm the library up: the group's creation and the first page writes are not typical.
    library.add_face(add_request(
        &app.app_id,
        "warm-up",
        u64::MAX,
        vec![1.0; FACEPLUGIN.embedding_dim],
    ))?;
    let next = AtomicUsize::new(0);
    let results = Mutex::new((Vec::new(), Vec::new()));
    let started = Instant::now();
    let outcome: Vec<Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some((identity, bytes)) = sample.get(k) else {
                            break;
                        };
                        let (cpu0, t0) = (thread_cpu_time(), Instant::now());
                        let img = faced_engine::decode::decode(bytes, &DECODE_LIMITS)?;
                        let Some(face) = engine
                            .analyse(&img, 1, FaceOrder::CentreFirst)?
                            .into_iter()
                            .next()
                        else {
                            continue;
                        };
                        let embedding = engine.embed(&img, &face)?;
                        let t1 = Instant::now();
                        library.add_face(add_request(
                            &app.app_id,
                            identity,
                            k as u64,
                            embedding,
                        ))?;
                        let (write, wall) = (t1.elapsed(), t0.elapsed());
                        let cpu = thread_cpu_time()
                            .zip(cpu0)
                            .map(|(a, b)| a.saturating_sub(b));
                        let total = Timing { wall, cpu };
                        let mut guard = results
                            .lock()
                            .map_err(|_| anyhow!("results lock poisoned"))?;
                        guard.0.push(total);
                        guard.1.push(write);
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow!("a worker panicked")))
            })
            .collect()
    });
    let wall = started.elapsed();
    outcome.into_iter().collect::<Result<()>>()?;
    let (total, write) = results
        .into_inner()
        .map_err(|_| anyhow!("results lock poisoned"))?;
    Ok(Enrolment { wall, total, write })
}

fn add_request(app_id: &str, user: &str, token: u64, embedding: Vec<f32>) -> AddFace {
    AddFace {
        meta: None,
        app_id: app_id.to_owned(),
        group_id: "bench".into(),
        user_id: user.replace(['-', '.', '\''], "_"),
        user_info: None,
        face_token: face_token(token),
        embedding,
        model_id: FACEPLUGIN.embedder_id.into(),
        crop_jpeg: None,
        mode: AddMode::Append,
        create_group_if_missing: true,
        now: unix_now(),
    }
}

/// A random unit vector (normal components via Box–Muller, normalised): uniform on the sphere.
fn random_unit(rng: &mut impl Rng, dim: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim)
        .map(|_| {
            let u1: f32 = rng.random::<f32>().max(f32::MIN_POSITIVE);
            let u2: f32 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect();
    normalise(&mut v);
    v
}

/// Fills a library with synthetic faces up to each size in turn and times searches at each.
fn search_at_scale(options: &Options, queries: &[Vec<f32>]) -> Result<String> {
    let scratch = ScratchDir::new("faced-bench-search")?;
    let library = Library::open(scratch.path())?;
    let app = library.create_app("faced-bench")?;
    let dim = FACEPLUGIN.embedding_dim;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x00fa_ced0);
    let query = |app_id: &str, k: usize| SearchQuery {
        app_id: app_id.to_owned(),
        group_ids: vec!["bench".into()],
        user_id: None,
        embedding: queries[k % queries.len()].clone(),
        model_id: FACEPLUGIN.embedder_id.into(),
        max_users: 1,
    };

    let mut inserted = 0usize;
    let mut add_times: Vec<Duration> = Vec::new();
    let mut insert_rows = Vec::new();
    let mut search_rows = Vec::new();
    let mut budget_hit = false;
    let insert_start = Instant::now();
    for &size in &options.sizes {
        let segment_start = (Instant::now(), inserted, add_times.len());
        while inserted < size {
            if insert_start.elapsed() > options.insert_budget {
                budget_hit = true;
                break;
            }
            let request = AddFace {
                meta: None,
                app_id: app.app_id.clone(),
                group_id: "bench".into(),
                user_id: format!("u{}", inserted / FACES_PER_USER),
                user_info: None,
                face_token: face_token(inserted as u64),
                embedding: random_unit(&mut rng, dim),
                model_id: FACEPLUGIN.embedder_id.into(),
                crop_jpeg: None,
                mode: AddMode::Append,
                create_group_if_missing: true,
                now: unix_now(),
            };
            let t = Instant::now();
            library.add_face(request)?;
            add_times.push(t.elapsed());
            inserted += 1;
            if inserted.is_multiple_of(10_000) {
                let secs = insert_start.elapsed().as_secs_f64();
                eprintln!(
                    "  {inserted} faces stored, {secs:.0} s, {:.0} faces/s",
                    inserted as f64 / secs
                );
            }
        }
        let segment = Stats::of(&add_times[segment_start.2..]);
        insert_rows.push((
            segment_start.1,
            inserted,
            segment_start.0.elapsed(),
            segment,
        ));

        // Latency, one thread.
        let n_queries = if inserted > 20_000 { 100 } else { 200 };
        for k in 0..WARM_UP {
            library.search(&query(&app.app_id, k))?;
        }
        let mut latencies = Vec::with_capacity(n_queries);
        for k in 0..n_queries {
            let q = query(&app.app_id, k);
            let (hits, timing) = timed(|| library.search(&q));
            let hits = hits?;
            latencies.push(timing);
            if hits.len() != 1 {
                bail!("search over {inserted} faces returned {} hits", hits.len());
            }
        }
        // Throughput, two threads searching at once.
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        let outcome: Vec<Result<()>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| -> Result<()> {
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            if k >= n_queries {
                                return Ok(());
                            }
                            library.search(&query(&app.app_id, k))?;
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(anyhow!("a worker panicked")))
                })
                .collect()
        });
        let two_thread = n_queries as f64 / started.elapsed().as_secs_f64();
        outcome.into_iter().collect::<Result<()>>()?;
        search_rows.push((inserted, n_queries, latencies, two_thread));
        if budget_hit {
            break;
        }
    }
    let insert_wall = insert_start.elapsed();
    drop(library);

    let db = scratch.path().join(faced_library::DB_FILE_NAME);
    let db_bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(db.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    let started = Instant::now();
    let reopened = Library::open(scratch.path())?;
    let reopen = started.elapsed();
    let hits = reopened.search(&query(&app.app_id, 0))?;
    if hits.is_empty() && inserted > 0 {
        bail!("the reopened library finds nothing");
    }

    let mut s = String::new();
    writeln!(
        s,
        "### Exact search (`Library::search`, one group, `max_users` 1)\n"
    )?;
    writeln!(
        s,
        "Stored faces are **synthetic** random 512-d unit vectors ({FACES_PER_USER} per user), inserted through \
         `Library::add_face` one at a time (one transaction + fsync each); queries are real embeddings of \
         {} LFW faces. Search is a full scan, so its cost depends on the number of faces, not on their values.\n",
        queries.len()
    )?;
    writeln!(s, "| stored faces | users | queries | median ms | p90 ms | CPU median ms | queries/s, 1 thread | queries/s, 2 threads |")?;
    writeln!(s, "|---|---|---|---|---|---|---|---|")?;
    for (faces, n, latencies, two) in &search_rows {
        let stats = Stats::wall(latencies);
        writeln!(
            s,
            "| {faces} | {} | {n} | {:.2} | {:.2} | {} | {:.1} | {:.1} |",
            faces.div_ceil(FACES_PER_USER),
            stats.median_ms,
            stats.p90_ms,
            cpu_cell(latencies),
            stats.per_second(),
            two
        )?;
    }
    writeln!(s)?;
    writeln!(
        s,
        "Inserting the synthetic faces (`add_face`, `synchronous=FULL`, one thread):\n"
    )?;
    writeln!(
        s,
        "| faces | wall s | faces/s | add median ms | add p90 ms |"
    )?;
    writeln!(s, "|---|---|---|---|---|")?;
    for (from, to, wall, stats) in &insert_rows {
        writeln!(
            s,
            "| {from} → {to} | {:.1} | {:.0} | {:.2} | {:.2} |",
            wall.as_secs_f64(),
            (to - from) as f64 / wall.as_secs_f64().max(1e-9),
            stats.median_ms,
            stats.p90_ms
        )?;
    }
    writeln!(s)?;
    if budget_hit {
        writeln!(
            s,
            "The insert budget ({} s) ran out at {inserted} faces: the larger sizes were not reached.\n",
            options.insert_budget.as_secs()
        )?;
    }
    writeln!(
        s,
        "{inserted} faces in {:.0} s overall ({:.0} faces/s, search runs included). Database: {:.0} MiB. \
         Reopening the library (loading the index from SQLite): {:.2} s.\n",
        insert_wall.as_secs_f64(),
        inserted as f64 / insert_wall.as_secs_f64().max(1e-9),
        db_bytes as f64 / (1024.0 * 1024.0),
        reopen.as_secs_f64()
    )?;
    Ok(s)
}

fn append_report(path: &Path, report: &str) -> Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let fresh = !path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    if fresh {
        writeln!(
            file,
            "# Benchmarks\n\nSpeed of faced, measured by `faced-bench`'s `bench` \
             (crates/faced-bench/src/bin/bench.rs). Each run appends a dated section; the newest \
             is at the end. Accuracy and the score calibration are in `CALIBRATION.md`.\n"
        )?;
    }
    write!(file, "{report}")?;
    Ok(())
}
