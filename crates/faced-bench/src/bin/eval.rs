//! `eval`: recognition accuracy and the similarity → score calibration, measured on the
//! labelled LFW photos of `../shared/data/faces`.
//!
//! What it does:
//!
//! 1. Loads a model pack (`--pack`, default `faceplugin`) and runs every image of
//!    `faces/labels.csv` through the service's pipeline: decode under Baidu's limits, detect
//!    with at most one face, centre face first (the labelled person of an LFW photo is the
//!    centre face), embed. Images where no face is found are counted; every pair involving one
//!    counts as a reject. Inference runs on `--threads` threads (default 2) and the embeddings
//!    are cached in `target/faced-eval-embeddings.bin`; `--cached` reuses them.
//! 2. 1:1: all same-identity pairs are genuine pairs; *all* cross-identity pairs among the
//!    2555 images (≈3.2 M, singletons included) are impostor pairs. The cosine threshold at a
//!    false-accept rate (FAR) f is the smallest t such that at most a fraction f of the
//!    compared impostor pairs have cosine ≥ t; it is rounded *up* to 4 decimals for the
//!    service's constants. The true-accept rate (TAR) at t is the fraction of all genuine
//!    pairs with cosine ≥ t. The same thresholds are applied to the 2603 + 2603 pairs of
//!    `faces/pairs.csv`, with the accuracy at the best threshold on those pairs.
//! 3. The score mapping of the service, piecewise linear through (0, 0), (t₁ₑ₋₂, 60),
//!    (t₁ₑ₋₃, 70), (t₁ₑ₋₄, 80), (1, 100), rebuilt here from the measured anchors.
//! 4. 1:N with the data set's split, through a real `faced_library::Library`: each tier-A
//!    person enrols the first 5 photos in name order (each face stored separately; a user's
//!    best face counts) and the other 5 are probes; rank-1 is the fraction of probes whose top
//!    user is right. Tier-B photos and singletons are probes with no mate enrolled; the
//!    false-positive identification rate (FPIR) at score s is the fraction whose best score
//!    reaches s.
//!
//! The Markdown report goes to stdout and to `docs/CALIBRATION.md` (unless `--no-write`), a
//! JSON summary to `target/faced-eval-summary.json`.
//!
//! Usage: `cargo run --release -p faced-bench --bin eval -- [--data DIR] [--models DIR]
//! [--threads N] [--cached] [--no-write]`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use faced_bench::{
    data_dir, dot, face_token, flag_value, models_dir, read_identities, read_labels, read_pairs,
    repo_root, unix_now, utc_now, Label, Machine, Pair, ScratchDir, Subset, DECODE_LIMITS,
};
use faced_engine::detect::FaceOrder;
use faced_engine::pack::{pack_by_id, PackManifest, FACEPLUGIN};
use faced_engine::Engine;
use faced_library::{AddFace, AddMode, Library, SearchQuery};

/// Photos enrolled per tier-A person (the data set's README split).
const ENROL_PER_PERSON: usize = 5;
/// The FARs the service's score anchors are tied to, with their scores.
const ANCHORS: [(f64, f32); 3] = [(1e-2, 60.0), (1e-3, 70.0), (1e-4, 80.0)];
/// Print progress every this many images.
const PROGRESS_EVERY: usize = 200;

const USAGE: &str =
    "usage: eval [--pack ID] [--data DIR] [--models DIR] [--threads N] [--cached] [--no-write]

  --pack ID      the model pack: faceplugin (default) or clean
  --mesh-align   experiment: align the embedder's face with FaceMesh's five points instead of
                 the pack's own landmarks (report only; docs are not written)

  --data DIR     the shared data folder holding faces/ (default: ../shared/data from the repo root)
  --models DIR   models folder (default: $FACED_MODELS_DIR, else ~/.cache/faced/models)
  --threads N    inference threads (default 2)
  --cached       reuse target/faced-eval-embeddings.bin instead of running the models
  --no-write     print the report only; do not overwrite docs/CALIBRATION.md";

struct Options {
    data: Option<PathBuf>,
    models: Option<PathBuf>,
    threads: usize,
    cached: bool,
    write_docs: bool,
    pack: &'static PackManifest,
    mesh_align: bool,
}

fn parse_options() -> Result<Options> {
    let mut options = Options {
        data: None,
        models: None,
        threads: 2,
        cached: false,
        write_docs: true,
        pack: &FACEPLUGIN,
        mesh_align: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => options.data = Some(flag_value(&mut args, "--data")?.into()),
            "--models" => options.models = Some(flag_value(&mut args, "--models")?.into()),
            "--threads" => {
                options.threads = flag_value(&mut args, "--threads")?
                    .parse::<usize>()
                    .context("--threads needs a positive number")?
                    .max(1);
            }
            "--cached" => options.cached = true,
            "--mesh-align" => options.mesh_align = true,
            "--pack" => {
                let id = flag_value(&mut args, "--pack")?;
                options.pack = pack_by_id(&id).with_context(|| format!("no pack {id:?}"))?;
            }
            "--no-write" => options.write_docs = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(options)
}

/// What the pipeline made of one image.
#[derive(Debug, Clone)]
enum Outcome {
    /// The centre face's unit embedding.
    Face(Vec<f32>),
    /// Decoded, but no face found.
    NoFace,
    /// Decoding or a model failed (counted like no face).
    Failed(String),
}

/// Embeddings of every labelled image, and how they were obtained.
struct Embedded {
    outcomes: Vec<Outcome>,
    /// Wall time of the inference run that produced them.
    inference: Duration,
    /// Threads it used.
    threads: usize,
    /// Whether they were read from the cache in this run.
    from_cache: bool,
}

fn main() -> Result<()> {
    let options = parse_options()?;
    let command = faced_bench::command_line("eval");
    let machine = Machine::current();
    let data = data_dir(options.data.as_deref())?;
    let faces = data.join("faces");
    let labels = read_labels(&faces)?;
    let identities = read_identities(&faces)?;
    let pairs = read_pairs(&faces)?;
    let pack = options.pack;
    let experiment = if options.mesh_align {
        "+mesh-align"
    } else {
        ""
    };
    let embedder_id = format!("{}{experiment}", pack.embedder_id);
    let embedder_id = embedder_id.as_str();
    let dim = pack.embedding_dim;
    let cache = repo_root().join(format!("{}{experiment}", cache_name(pack)));

    let cached = if options.cached {
        match load_cache(&cache, embedder_id, dim, &labels) {
            Ok(Some(embedded)) => {
                eprintln!("using cached embeddings from {}", cache.display());
                Some(embedded)
            }
            Ok(None) => {
                eprintln!(
                    "{} does not match this data set or embedder; running inference",
                    cache.display()
                );
                None
            }
            Err(e) => {
                eprintln!("cannot read {}: {e:#}; running inference", cache.display());
                None
            }
        }
    } else {
        None
    };
    let embedded = match cached {
        Some(embedded) => embedded,
        None => {
            let models = models_dir(options.models.as_deref())?;
            let engine = Engine::load(pack, &models).with_context(|| {
                format!("loading the {} pack from {}", pack.id, models.display())
            })?;
            if engine.embedder_id() != pack.embedder_id {
                bail!(
                    "engine reports embedder {:?}, pack says {embedder_id:?}",
                    engine.embedder_id()
                );
            }
            let embedded = infer(
                &engine,
                &faces,
                &labels,
                options.threads,
                options.mesh_align,
            )?;
            save_cache(&cache, embedder_id, dim, &labels, &embedded)
                .with_context(|| format!("writing {}", cache.display()))?;
            eprintln!("cached embeddings in {}", cache.display());
            embedded
        }
    };

    let identity_of: Vec<&str> = labels.iter().map(|l| l.identity.as_str()).collect();
    let set = EmbeddingSet::new(&embedded.outcomes, dim)?;

    eprintln!("comparing all pairs…");
    let started = Instant::now();
    let all = all_pairs(&set, &identity_of);
    let pair_time = started.elapsed();
    eprintln!(
        "{} genuine and {} impostor pairs in {:.1} s",
        all.genuine_total(),
        all.impostor_total(),
        pair_time.as_secs_f64()
    );

    let anchors: Vec<Anchor> = ANCHORS
        .iter()
        .map(|&(far, score)| Anchor::measure(far, score, &all))
        .collect();
    let calibration = Calibration {
        cos_far_1e2: anchors[0].constant,
        cos_far_1e3: anchors[1].constant,
        cos_far_1e4: anchors[2].constant,
    };
    let listed = ListedPairs::measure(&pairs, &labels, &set)?;

    eprintln!("1:N: enrolling tier A in a scratch library…");
    let one_to_n = one_to_n(&labels, &identities, &set, &calibration, embedder_id)?;

    let report = Report {
        command: &command,
        machine: &machine,
        date: utc_now(),
        data: &data,
        embedder_id,
        labels: &labels,
        embedded: &embedded,
        set: &set,
        all: &all,
        anchors: &anchors,
        calibration: &calibration,
        listed: &listed,
        one_to_n: &one_to_n,
        pair_time,
        pack,
    };
    let markdown = report.markdown()?;
    println!("{markdown}");
    if options.write_docs && !options.mesh_align {
        let path = repo_root().join(calibration_doc(pack));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, &markdown).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let summary_path = repo_root().join("target/faced-eval-summary.json");
    let summary = serde_json::to_string_pretty(&report.json())?;
    std::fs::write(&summary_path, summary)
        .with_context(|| format!("writing {}", summary_path.display()))?;
    eprintln!("wrote {}", summary_path.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Inference and its cache.

/// Runs decode → analyse (1 face, centre first) → embed over every labelled image.
fn infer(
    engine: &Engine,
    faces: &Path,
    labels: &[Label],
    threads: usize,
    mesh_align: bool,
) -> Result<Embedded> {
    let total = labels.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let started = Instant::now();
    eprintln!("embedding {total} images on {threads} threads…");
    let per_thread: Vec<Result<Vec<(usize, Outcome)>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<Vec<(usize, Outcome)>> {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(label) = labels.get(i) else { break };
                        let path = faces.join(&label.file);
                        let bytes = std::fs::read(&path)
                            .with_context(|| format!("reading {}", path.display()))?;
                        out.push((i, embed_one(engine, &bytes, mesh_align)));
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if n.is_multiple_of(PROGRESS_EVERY) || n == total {
                            let secs = started.elapsed().as_secs_f64();
                            eprintln!(
                                "  {n}/{total} images, {secs:.0} s, {:.1} images/s",
                                n as f64 / secs
                            );
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow!("an inference thread panicked")))
            })
            .collect()
    });
    let mut outcomes = vec![Outcome::Failed("not processed".into()); total];
    for part in per_thread {
        for (i, outcome) in part? {
            outcomes[i] = outcome;
        }
    }
    Ok(Embedded {
        outcomes,
        inference: started.elapsed(),
        threads,
        from_cache: false,
    })
}

fn embed_one(engine: &Engine, bytes: &[u8], mesh_align: bool) -> Outcome {
    let image = match faced_engine::decode::decode(bytes, &DECODE_LIMITS) {
        Ok(image) => image,
        Err(e) => return Outcome::Failed(format!("decode: {e}")),
    };
    let faces = match engine.analyse(&image, 1, FaceOrder::CentreFirst) {
        Ok(faces) => faces,
        Err(e) => return Outcome::Failed(format!("analyse: {e}")),
    };
    let Some(mut face) = faces.into_iter().next() else {
        return Outcome::NoFace;
    };
    if mesh_align {
        if let Err(e) = engine.add_mesh(&image, &mut face) {
            return Outcome::Failed(format!("mesh: {e}"));
        }
        if let Some(mesh) = &face.mesh {
            face.five = faced_engine::landmarks::FivePoints(mesh.five_points());
        }
    }
    match engine.embed(&image, &face) {
        Ok(embedding) => Outcome::Face(embedding),
        Err(e) => Outcome::Failed(format!("embed: {e}")),
    }
}

const CACHE_MAGIC: &[u8; 8] = b"FACEDEMB";
const CACHE_VERSION: u32 = 1;

/// Cache layout (little-endian): magic, version, embedder id, threads, inference seconds (f64),
/// dim, count, then per image: file path, status byte (0 face + dim floats, 1 no face,
/// 2 failed + message). Strings are a u32 length and UTF-8 bytes.
/// The embeddings cache of a pack, under `target/`.
fn cache_name(pack: &PackManifest) -> String {
    match pack.id {
        "faceplugin" => "target/faced-eval-embeddings.bin".into(),
        id => format!("target/faced-eval-embeddings-{id}.bin"),
    }
}

/// The calibration report of a pack, under `docs/`.
fn calibration_doc(pack: &PackManifest) -> String {
    match pack.id {
        "faceplugin" => "docs/CALIBRATION.md".into(),
        id => format!("docs/CALIBRATION-{id}.md"),
    }
}

fn save_cache(
    path: &Path,
    embedder_id: &str,
    dim: usize,
    labels: &[Label],
    embedded: &Embedded,
) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let string = |out: &mut BufWriter<std::fs::File>, s: &str| -> std::io::Result<()> {
        out.write_all(&(s.len() as u32).to_le_bytes())?;
        out.write_all(s.as_bytes())
    };
    out.write_all(CACHE_MAGIC)?;
    out.write_all(&CACHE_VERSION.to_le_bytes())?;
    string(&mut out, embedder_id)?;
    out.write_all(&(embedded.threads as u32).to_le_bytes())?;
    out.write_all(&embedded.inference.as_secs_f64().to_le_bytes())?;
    out.write_all(&(dim as u32).to_le_bytes())?;
    out.write_all(&(labels.len() as u32).to_le_bytes())?;
    for (label, outcome) in labels.iter().zip(&embedded.outcomes) {
        string(&mut out, &label.file)?;
        match outcome {
            Outcome::Face(embedding) => {
                if embedding.len() != dim {
                    bail!("{}: embedding of {} values", label.file, embedding.len());
                }
                out.write_all(&[0])?;
                for v in embedding {
                    out.write_all(&v.to_le_bytes())?;
                }
            }
            Outcome::NoFace => out.write_all(&[1])?,
            Outcome::Failed(message) => {
                out.write_all(&[2])?;
                string(&mut out, message)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Reads the cache; `None` when it was made for another embedder or another file list.
fn load_cache(
    path: &Path,
    embedder_id: &str,
    dim: usize,
    labels: &[Label],
) -> Result<Option<Embedded>> {
    let bytes = std::fs::read(path)?;
    let mut r = Reader {
        bytes: &bytes,
        pos: 0,
    };
    if r.take(8)? != CACHE_MAGIC || r.u32()? != CACHE_VERSION {
        return Ok(None);
    }
    if r.string()? != embedder_id {
        return Ok(None);
    }
    let threads = r.u32()? as usize;
    let secs = f64::from_le_bytes(r.take(8)?.try_into()?);
    let stored_dim = r.u32()? as usize;
    let count = r.u32()? as usize;
    if stored_dim != dim || count != labels.len() {
        return Ok(None);
    }
    let mut outcomes = Vec::with_capacity(count);
    for label in labels {
        if r.string()? != label.file {
            return Ok(None);
        }
        outcomes.push(match r.take(1)?[0] {
            0 => Outcome::Face(
                r.take(dim * 4)?
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            1 => Outcome::NoFace,
            2 => Outcome::Failed(r.string()?),
            other => bail!("bad status byte {other}"),
        });
    }
    Ok(Some(Embedded {
        outcomes,
        inference: Duration::from_secs_f64(secs.max(0.0)),
        threads,
        from_cache: true,
    }))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let slice = self
            .bytes
            .get(self.pos..self.pos + n)
            .context("cache file is truncated")?;
        self.pos += n;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into()?))
    }

    fn string(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        Ok(String::from_utf8(self.take(n)?.to_vec())?)
    }
}

// ---------------------------------------------------------------------------------------------
// Pairs and thresholds.

/// The embeddings as one row-major matrix (rows of images without a face are zero).
struct EmbeddingSet {
    dim: usize,
    matrix: Vec<f32>,
    has_face: Vec<bool>,
    no_face: Vec<usize>,
    failed: Vec<(usize, String)>,
}

impl EmbeddingSet {
    fn new(outcomes: &[Outcome], dim: usize) -> Result<Self> {
        let mut set = EmbeddingSet {
            dim,
            matrix: vec![0.0; outcomes.len() * dim],
            has_face: vec![false; outcomes.len()],
            no_face: Vec::new(),
            failed: Vec::new(),
        };
        for (i, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Outcome::Face(e) if e.len() == dim => {
                    set.matrix[i * dim..(i + 1) * dim].copy_from_slice(e);
                    set.has_face[i] = true;
                }
                Outcome::Face(e) => {
                    bail!("image {i}: embedding of {} values, expected {dim}", e.len())
                }
                Outcome::NoFace => set.no_face.push(i),
                Outcome::Failed(message) => set.failed.push((i, message.clone())),
            }
        }
        Ok(set)
    }

    fn row(&self, i: usize) -> Option<&[f32]> {
        self.has_face[i].then(|| &self.matrix[i * self.dim..(i + 1) * self.dim])
    }

    fn faces(&self) -> usize {
        self.has_face.iter().filter(|&&f| f).count()
    }
}

/// Similarities of every pair of labelled images, sorted from most to least similar.
struct AllPairs {
    genuine: Vec<f32>,
    impostor: Vec<f32>,
    /// Genuine pairs with an image without a face (rejects).
    genuine_unscored: usize,
    /// Impostor pairs with an image without a face (never accepted; not in the FAR).
    impostor_unscored: usize,
}

impl AllPairs {
    fn genuine_total(&self) -> usize {
        self.genuine.len() + self.genuine_unscored
    }

    fn impostor_total(&self) -> usize {
        self.impostor.len() + self.impostor_unscored
    }

    /// TAR at `t` with unscored genuine pairs as rejects.
    fn tar(&self, t: f32) -> f64 {
        count_at_or_above(&self.genuine, t) as f64 / self.genuine_total().max(1) as f64
    }
}

fn all_pairs(set: &EmbeddingSet, identity_of: &[&str]) -> AllPairs {
    let n = identity_of.len();
    let mut all = AllPairs {
        genuine: Vec::new(),
        impostor: Vec::with_capacity(n * n.saturating_sub(1) / 2),
        genuine_unscored: 0,
        impostor_unscored: 0,
    };
    // Identities as small integers: the inner loop then compares numbers, not strings.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let id: Vec<u32> = identity_of
        .iter()
        .map(|name| {
            let next = ids.len() as u32;
            *ids.entry(name).or_insert(next)
        })
        .collect();
    for i in 0..n {
        let a = set.row(i);
        for j in i + 1..n {
            let same = id[i] == id[j];
            match (a, set.row(j)) {
                (Some(a), Some(b)) => {
                    let s = dot(a, b);
                    if same {
                        all.genuine.push(s);
                    } else {
                        all.impostor.push(s);
                    }
                }
                _ if same => all.genuine_unscored += 1,
                _ => all.impostor_unscored += 1,
            }
        }
    }
    all.genuine.sort_unstable_by(|a, b| b.total_cmp(a));
    all.impostor.sort_unstable_by(|a, b| b.total_cmp(a));
    all
}

/// How many of `sorted_desc` are ≥ `t`.
fn count_at_or_above(sorted_desc: &[f32], t: f32) -> usize {
    sorted_desc.partition_point(|&s| s >= t)
}

/// The next representable f32 above `x` (`f32::next_up` needs Rust 1.86).
fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f32::from_bits(1);
    }
    let bits = x.to_bits();
    f32::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

/// The smallest t with at most `far` of the impostors at or above it.
fn threshold_at_far(impostor_desc: &[f32], far: f64) -> f32 {
    let allowed = (far * impostor_desc.len() as f64).floor() as usize;
    match impostor_desc.get(allowed) {
        Some(&s) => next_up(s),
        None => -1.0,
    }
}

/// One calibration anchor, measured.
struct Anchor {
    far: f64,
    score: f32,
    /// The exact threshold on the impostor distribution.
    exact: f32,
    /// Rounded up to 4 decimals: what the service's constant says.
    constant: f32,
    impostors_at_or_above: usize,
    tar: f64,
}

impl Anchor {
    fn measure(far: f64, score: f32, all: &AllPairs) -> Anchor {
        let exact = threshold_at_far(&all.impostor, far);
        let constant = ceil4(exact);
        Anchor {
            far,
            score,
            exact,
            constant,
            impostors_at_or_above: count_at_or_above(&all.impostor, constant),
            tar: all.tar(constant),
        }
    }

    fn measured_far(&self, all: &AllPairs) -> f64 {
        self.impostors_at_or_above as f64 / all.impostor.len().max(1) as f64
    }
}

/// Rounds up to 4 decimals, as the f32 a `0.xxxx` literal parses to. A value already on 4
/// decimals (within f32 precision) stays, so it may lie below `x` by less than one f32 step.
fn ceil4(x: f32) -> f32 {
    let scaled = f64::from(x) * 1e4;
    let nearest = scaled.round();
    let up = if (scaled - nearest).abs() < 1e-3 {
        nearest
    } else {
        scaled.ceil()
    };
    format!("{:.4}", up / 1e4).parse().unwrap_or(x)
}

/// The service's similarity → score mapping (crates/faced-service/src/score.rs), rebuilt.
struct Calibration {
    cos_far_1e2: f32,
    cos_far_1e3: f32,
    cos_far_1e4: f32,
}

impl Calibration {
    /// Piecewise linear through (0,0), (t1e-2,60), (t1e-3,70), (t1e-4,80), (1,100); rounded
    /// to 2 decimals like the service.
    fn score(&self, cosine: f32) -> f32 {
        let anchors = [
            (0.0, 0.0),
            (self.cos_far_1e2, 60.0),
            (self.cos_far_1e3, 70.0),
            (self.cos_far_1e4, 80.0),
            (1.0, 100.0),
        ];
        let c = cosine.clamp(0.0, 1.0);
        let score = anchors
            .windows(2)
            .find(|w| c <= w[1].0)
            .map(|w| {
                let ((c0, s0), (c1, s1)) = (w[0], w[1]);
                s0 + (c - c0) / (c1 - c0).max(1e-6) * (s1 - s0)
            })
            .unwrap_or(100.0);
        (score * 100.0).round() / 100.0
    }
}

/// The pairs of `faces/pairs.csv`, compared.
struct ListedPairs {
    /// Cosine of each genuine pair (`None`: an image without a face).
    genuine: Vec<Option<f32>>,
    impostor: Vec<Option<f32>>,
    best_accuracy: f64,
    best_threshold: f32,
}

impl ListedPairs {
    fn measure(pairs: &[Pair], labels: &[Label], set: &EmbeddingSet) -> Result<ListedPairs> {
        let index: HashMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.file.as_str(), i))
            .collect();
        let lookup = |file: &str| {
            index
                .get(file)
                .copied()
                .with_context(|| format!("pairs.csv names {file}, not in labels.csv"))
        };
        let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
        for pair in pairs {
            let (a, b) = (lookup(&pair.file1)?, lookup(&pair.file2)?);
            let sim = set.row(a).zip(set.row(b)).map(|(a, b)| dot(a, b));
            if pair.same {
                genuine.push(sim);
            } else {
                impostor.push(sim);
            }
        }
        // Best accuracy: accept everything at or above each observed cosine in turn.
        let mut scored: Vec<(f32, bool)> = genuine
            .iter()
            .flatten()
            .map(|&s| (s, true))
            .chain(impostor.iter().flatten().map(|&s| (s, false)))
            .collect();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let total = (genuine.len() + impostor.len()).max(1) as f64;
        let mut correct = impostor.len() as i64; // threshold above everything: all rejected
        let (mut best_correct, mut best_threshold) = (correct, f32::INFINITY);
        for (k, &(s, is_genuine)) in scored.iter().enumerate() {
            correct += if is_genuine { 1 } else { -1 };
            let last_of_value = scored.get(k + 1).is_none_or(|next| next.0 < s);
            if last_of_value && correct > best_correct {
                (best_correct, best_threshold) = (correct, s);
            }
        }
        Ok(ListedPairs {
            genuine,
            impostor,
            best_accuracy: best_correct as f64 / total,
            best_threshold,
        })
    }

    fn rate(pairs: &[Option<f32>], t: f32) -> f64 {
        pairs.iter().filter(|s| s.is_some_and(|s| s >= t)).count() as f64
            / pairs.len().max(1) as f64
    }

    fn unscored(&self) -> usize {
        self.genuine
            .iter()
            .chain(&self.impostor)
            .filter(|s| s.is_none())
            .count()
    }
}

// ---------------------------------------------------------------------------------------------
// 1:N.

#[derive(Default)]
struct OneToN {
    persons: usize,
    enrolled_faces: usize,
    enrol_without_face: usize,
    mated_probes: usize,
    mated_without_face: usize,
    rank1_correct: usize,
    rank1_correct_at_80: usize,
    /// Probe set name → (probes, probes without a face, best score of each probe with a face).
    non_mated: BTreeMap<&'static str, (usize, usize, Vec<f32>)>,
    /// Probes where the library's top user differs from a direct computation.
    library_disagreements: usize,
    enrol_time: Duration,
    search_time: Duration,
    searches: usize,
}

impl OneToN {
    fn fpir(&self, set: &str, score: f32) -> Option<(f64, usize, usize)> {
        self.non_mated.get(set).map(|(probes, _, best)| {
            let hits = best.iter().filter(|&&s| s >= score).count();
            (hits as f64 / (*probes).max(1) as f64, hits, *probes)
        })
    }

    fn fpir_all(&self, score: f32) -> (f64, usize, usize) {
        let (mut hits, mut probes) = (0, 0);
        for (n, _, best) in self.non_mated.values() {
            probes += n;
            hits += best.iter().filter(|&&s| s >= score).count();
        }
        (hits as f64 / probes.max(1) as f64, hits, probes)
    }
}

fn one_to_n(
    labels: &[Label],
    identities: &HashMap<String, Subset>,
    set: &EmbeddingSet,
    calibration: &Calibration,
    embedder_id: &str,
) -> Result<OneToN> {
    let scratch = ScratchDir::new("faced-eval-library")?;
    let library = Library::open(scratch.path())?;
    let app = library.create_app("faced-bench eval")?;
    let group = "lfw_tier_a";
    let subset_of = |identity: &str| identities.get(identity).copied();

    // Files per person in name order.
    let mut by_person: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, label) in labels.iter().enumerate() {
        by_person
            .entry(label.identity.as_str())
            .or_default()
            .push(i);
    }
    for files in by_person.values_mut() {
        files.sort_by(|&a, &b| labels[a].file.cmp(&labels[b].file));
    }

    let mut result = OneToN::default();
    // Enrolled faces for the direct cross-check: (user, image index).
    let mut enrolled: Vec<(String, usize)> = Vec::new();
    let mut mated: Vec<(String, usize)> = Vec::new();
    let now = unix_now();
    let started = Instant::now();
    for (person, files) in &by_person {
        if subset_of(person) != Some(Subset::MultiA) {
            continue;
        }
        result.persons += 1;
        let user_id = format!("p{:04}", result.persons);
        for (k, &i) in files.iter().enumerate() {
            if k >= ENROL_PER_PERSON {
                mated.push((user_id.clone(), i));
                continue;
            }
            let Some(embedding) = set.row(i) else {
                result.enrol_without_face += 1;
                continue;
            };
            library.add_face(AddFace {
                meta: None,
                app_id: app.app_id.clone(),
                group_id: group.into(),
                user_id: user_id.clone(),
                user_info: Some((*person).to_owned()),
                face_token: face_token(i as u64),
                embedding: embedding.to_vec(),
                model_id: embedder_id.into(),
                crop_jpeg: None,
                mode: AddMode::Append,
                create_group_if_missing: true,
                now,
            })?;
            enrolled.push((user_id.clone(), i));
            result.enrolled_faces += 1;
        }
    }
    result.enrol_time = started.elapsed();

    let search = |i: usize, result: &mut OneToN| -> Result<Option<(String, f32)>> {
        let Some(embedding) = set.row(i) else {
            return Ok(None);
        };
        let started = Instant::now();
        let hits = library.search(&SearchQuery {
            app_id: app.app_id.clone(),
            group_ids: vec![group.into()],
            user_id: None,
            embedding: embedding.to_vec(),
            model_id: embedder_id.into(),
            max_users: 1,
        })?;
        result.search_time += started.elapsed();
        result.searches += 1;
        let top = hits.into_iter().next().map(|h| (h.user_id, h.similarity));
        // Cross-check against a direct scan of the enrolled embeddings.
        let direct = enrolled
            .iter()
            .filter_map(|(user, j)| set.row(*j).map(|e| (user, dot(embedding, e))))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let agrees = match (&top, direct) {
            (Some((user, sim)), Some((direct_user, direct_sim))) => {
                user == direct_user || (sim - direct_sim).abs() < 1e-5
            }
            (None, None) => true,
            _ => false,
        };
        if !agrees {
            result.library_disagreements += 1;
        }
        Ok(top)
    };

    for (user_id, i) in &mated {
        result.mated_probes += 1;
        let top = search(*i, &mut result)?;
        if !set.has_face[*i] {
            result.mated_without_face += 1;
        }
        if let Some((_, sim)) = top.filter(|(top, _)| top == user_id) {
            result.rank1_correct += 1;
            if calibration.score(sim) >= 80.0 {
                result.rank1_correct_at_80 += 1;
            }
        }
    }

    for (person, files) in &by_person {
        let name = match subset_of(person) {
            Some(Subset::MultiB) => "tier B (all photos)",
            Some(Subset::Singleton) => "singletons",
            _ => continue,
        };
        for &i in files {
            let top = search(i, &mut result)?;
            let entry = result.non_mated.entry(name).or_default();
            entry.0 += 1;
            match top {
                Some((_, sim)) => entry.2.push(calibration.score(sim)),
                None => entry.1 += 1,
            }
        }
    }
    Ok(result)
}

// ---------------------------------------------------------------------------------------------
// The report.

struct Report<'a> {
    command: &'a str,
    machine: &'a Machine,
    date: String,
    data: &'a Path,
    embedder_id: &'a str,
    labels: &'a [Label],
    embedded: &'a Embedded,
    set: &'a EmbeddingSet,
    all: &'a AllPairs,
    anchors: &'a [Anchor],
    calibration: &'a Calibration,
    listed: &'a ListedPairs,
    one_to_n: &'a OneToN,
    pair_time: Duration,
    pack: &'static PackManifest,
}

fn far_label(far: f64) -> String {
    format!("1e-{}", (-far.log10()).round() as i32)
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

impl Report<'_> {
    fn markdown(&self) -> Result<String> {
        let mut r = String::new();
        let (all, listed, n) = (self.all, self.listed, self.one_to_n);
        let images = self.labels.len();
        writeln!(r, "# Score calibration and accuracy\n")?;
        writeln!(
            r,
            "Measured by `faced-bench`'s `eval` (crates/faced-bench/src/bin/eval.rs) on the labelled \
             LFW photos of `shared/data/faces`. These are regression signals for this code and \
             these models, not accuracy claims (LFW at 250×250 px; see the data set's README).\n"
        )?;
        writeln!(r, "* Date: {}", self.date)?;
        writeln!(
            r,
            "* Command: `{}` (from the repository root)",
            self.command
        )?;
        writeln!(r, "* Machine: {}", self.machine.describe())?;
        writeln!(r, "* Build: {}", faced_bench::build_profile())?;
        writeln!(
            r,
            "* Data: `{}` ({} images, {} identities)",
            faced_bench::shown_path(self.data),
            images,
            {
                let mut ids: Vec<&str> = self.labels.iter().map(|l| l.identity.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                ids.len()
            }
        )?;
        writeln!(
            r,
            "* Pack: `{}` ({}), embedder id `{}`",
            self.pack.id,
            packages_of(self.pack),
            self.embedder_id
        )?;
        let source = if self.embedded.from_cache {
            "read from the cache under `target/`; the run that made it took"
        } else {
            "computed in this run:"
        };
        writeln!(
            r,
            "* Embeddings {source} {:.0} s on {} threads ({:.1} images/s); all-pairs comparison {:.1} s",
            self.embedded.inference.as_secs_f64(),
            self.embedded.threads,
            images as f64 / self.embedded.inference.as_secs_f64().max(1e-9),
            self.pair_time.as_secs_f64()
        )?;

        writeln!(
            r,
            "* Load average (1/5/15 min) when the report was written: {} (other work on the CPUs slows inference; speed figures belong in BENCHMARKS.md)\n",
            faced_bench::load_average()
        )?;

        writeln!(r, "## Faces found\n")?;
        writeln!(
            r,
            "Pipeline per image: decode (limits 1920/1080 px, 256 MiB) → detect, at most 1 face, \
             centre face first → 68 landmarks → 5-point alignment → embedding (with mirror).\n"
        )?;
        writeln!(r, "| images | with a face | no face found | failed |")?;
        writeln!(r, "|---|---|---|---|")?;
        writeln!(
            r,
            "| {images} | {} | {} | {} |\n",
            self.set.faces(),
            self.set.no_face.len(),
            self.set.failed.len()
        )?;
        if !self.set.no_face.is_empty() {
            let names: Vec<String> = self
                .set
                .no_face
                .iter()
                .map(|&i| format!("`{}`", self.labels[i].file))
                .collect();
            writeln!(r, "No face found in: {}.\n", names.join(", "))?;
        }
        for (i, message) in &self.set.failed {
            writeln!(r, "* failed: `{}`: {message}", self.labels[*i].file)?;
        }
        if !self.set.failed.is_empty() {
            writeln!(r)?;
        }

        writeln!(r, "## Thresholds (1:1)\n")?;
        writeln!(
            r,
            "{} genuine pairs (every same-identity pair; {} involve an image without a face and \
             count as rejects) and {} impostor pairs (every cross-identity pair, singletons \
             included; {} involve an image without a face and are left out of the FAR, so {} \
             impostor pairs were compared).\n",
            all.genuine_total(),
            all.genuine_unscored,
            all.impostor_total(),
            all.impostor_unscored,
            all.impostor.len()
        )?;
        writeln!(r, "| FAR | cosine threshold | score | TAR (all pairs) |")?;
        writeln!(r, "|---|---|---|---|")?;
        for a in self.anchors {
            writeln!(
                r,
                "| {} | {:.4} | {} | {:.4} |",
                far_label(a.far),
                a.constant,
                a.score,
                a.tar
            )?;
        }
        writeln!(r)?;
        writeln!(
            r,
            "The cosine threshold is the smallest t with at most FAR × {} impostor pairs at or \
             above it, rounded up to 4 decimals. In detail:\n",
            all.impostor.len()
        )?;
        writeln!(
            r,
            "| target FAR | exact threshold | constant | impostor pairs ≥ constant | measured FAR | TAR all pairs | TAR pairs.csv | FAR pairs.csv |"
        )?;
        writeln!(r, "|---|---|---|---|---|---|---|---|")?;
        for a in self.anchors {
            writeln!(
                r,
                "| {} | {:.6} | {:.4} | {} | {:.2e} | {:.4} | {:.4} | {:.4} |",
                far_label(a.far),
                a.exact,
                a.constant,
                a.impostors_at_or_above,
                a.measured_far(all),
                a.tar,
                ListedPairs::rate(&listed.genuine, a.constant),
                ListedPairs::rate(&listed.impostor, a.constant),
            )?;
        }
        writeln!(r)?;
        let mean = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64;
        writeln!(
            r,
            "Mean cosine: genuine {:.3}, impostor {:.3}. Highest impostor cosine {:.4}; lowest scored genuine {:.4}.\n",
            mean(&all.genuine),
            mean(&all.impostor),
            all.impostor.first().copied().unwrap_or(f32::NAN),
            all.genuine.last().copied().unwrap_or(f32::NAN),
        )?;

        writeln!(r, "### Rust constants\n")?;
        writeln!(r, "For `crates/faced-service/src/score.rs`:\n")?;
        writeln!(r, "```rust")?;
        writeln!(r, "Calibration {{")?;
        writeln!(r, "    embedder_id: \"{}\",", self.embedder_id)?;
        writeln!(r, "    cos_far_1e2: {:.4},", self.calibration.cos_far_1e2)?;
        writeln!(r, "    cos_far_1e3: {:.4},", self.calibration.cos_far_1e3)?;
        writeln!(r, "    cos_far_1e4: {:.4},", self.calibration.cos_far_1e4)?;
        writeln!(r, "}}")?;
        writeln!(r, "```\n")?;
        writeln!(
            r,
            "Score = piecewise linear through (0, 0), ({:.4}, 60), ({:.4}, 70), ({:.4}, 80), (1, 100); 0 at cosine ≤ 0.\n",
            self.calibration.cos_far_1e2, self.calibration.cos_far_1e3, self.calibration.cos_far_1e4
        )?;

        writeln!(r, "## pairs.csv (1:1)\n")?;
        writeln!(
            r,
            "{} genuine and {} impostor pairs ({} pairs involve an image without a face: a genuine one counts as a reject, an impostor one as a correct reject).\n",
            listed.genuine.len(),
            listed.impostor.len(),
            listed.unscored()
        )?;
        writeln!(r, "| threshold | TAR | FAR |")?;
        writeln!(r, "|---|---|---|")?;
        for a in self.anchors {
            writeln!(
                r,
                "| score {} (cosine {:.4}) | {:.4} | {:.4} |",
                a.score,
                a.constant,
                ListedPairs::rate(&listed.genuine, a.constant),
                ListedPairs::rate(&listed.impostor, a.constant)
            )?;
        }
        writeln!(
            r,
            "| best (cosine ≥ {:.4}, score {:.2}) | {:.4} | {:.4} |\n",
            listed.best_threshold,
            self.calibration.score(listed.best_threshold),
            ListedPairs::rate(&listed.genuine, listed.best_threshold),
            ListedPairs::rate(&listed.impostor, listed.best_threshold)
        )?;
        writeln!(
            r,
            "Accuracy at the best threshold: **{}** (threshold chosen on the same pairs, so slightly optimistic).\n",
            pct(listed.best_accuracy)
        )?;

        writeln!(r, "## 1:N search\n")?;
        writeln!(
            r,
            "Split of the data set's README: each of the {} tier-A people enrols the first {} photos in name order \
             ({} faces stored, each separately, in one group of a scratch `faced_library::Library`; {} enrolment photos had no face); \
             the other photos are probes. Search returns the best user (best of their faces), `max_users` 1.\n",
            n.persons, ENROL_PER_PERSON, n.enrolled_faces, n.enrol_without_face
        )?;
        let mated = n.mated_probes.max(1) as f64;
        writeln!(r, "| measure | value |")?;
        writeln!(r, "|---|---|")?;
        writeln!(
            r,
            "| rank-1 (top user right; probes without a face count as misses) | **{}** ({}/{}) |",
            pct(n.rank1_correct as f64 / mated),
            n.rank1_correct,
            n.mated_probes
        )?;
        writeln!(
            r,
            "| rank-1 with score ≥ 80 | {} ({}/{}) |",
            pct(n.rank1_correct_at_80 as f64 / mated),
            n.rank1_correct_at_80,
            n.mated_probes
        )?;
        writeln!(
            r,
            "| mated probes without a face | {} |",
            n.mated_without_face
        )?;
        writeln!(r)?;
        writeln!(
            r,
            "False-positive identification rate: probes with no mate enrolled whose best score reaches the threshold \
             (probes without a face count as correct rejections).\n"
        )?;
        writeln!(
            r,
            "| probes | count | no face | FPIR@60 | FPIR@70 | FPIR@80 |"
        )?;
        writeln!(r, "|---|---|---|---|---|---|")?;
        for (name, (probes, no_face, _)) in &n.non_mated {
            let cell = |score| {
                n.fpir(name, score)
                    .map(|(rate, hits, _)| format!("{} ({hits})", pct(rate)))
                    .unwrap_or_default()
            };
            writeln!(
                r,
                "| {name} | {probes} | {no_face} | {} | {} | {} |",
                cell(60.0),
                cell(70.0),
                cell(80.0)
            )?;
        }
        let cell = |score| {
            let (rate, hits, _) = n.fpir_all(score);
            format!("{} ({hits})", pct(rate))
        };
        let (_, _, probes) = n.fpir_all(80.0);
        let no_face: usize = n.non_mated.values().map(|v| v.1).sum();
        writeln!(
            r,
            "| **all non-mated** | {probes} | {no_face} | {} | {} | **{}** |\n",
            cell(60.0),
            cell(70.0),
            cell(80.0)
        )?;
        let expected = 1.0 - (1.0 - 1e-4f64).powi(n.enrolled_faces as i32);
        writeln!(
            r,
            "A probe is compared with every one of the {} enrolled faces, so FPIR grows with the \
             gallery: a per-comparison FAR of 1e-4 at score 80 predicts FPIR@80 ≈ 1 − (1 − 1e-4)^{} = {} here.\n",
            n.enrolled_faces,
            n.enrolled_faces,
            pct(expected)
        )?;
        writeln!(
            r,
            "Library search cross-checked against a direct scan: {} disagreement(s) in {} searches \
             (mean search {:.3} ms over {} faces; enrolment of {} faces with synchronous=FULL took {:.2} s).\n",
            n.library_disagreements,
            n.searches,
            n.search_time.as_secs_f64() * 1e3 / n.searches.max(1) as f64,
            n.enrolled_faces,
            n.enrolled_faces,
            n.enrol_time.as_secs_f64()
        )?;

        writeln!(r, "## Reproducing\n")?;
        let pack_flag = match self.pack.id {
            "faceplugin" => String::new(),
            id => format!(" --pack {id}"),
        };
        writeln!(
            r,
            "```sh\ncargo run --release -p faced-bench --bin eval --{pack_flag}          # inference + report (writes this file)\n\
             cargo run --release -p faced-bench --bin eval --{pack_flag} --cached # reuse {}\n```\n",
            cache_name(self.pack)
        )?;
        writeln!(
            r,
            "The cache is keyed by embedder id and file list only: delete it after changing the engine's \
             pre-processing without changing the embedder id. A JSON summary is written to `target/faced-eval-summary.json`."
        )?;
        Ok(r)
    }

    fn json(&self) -> serde_json::Value {
        let (all, listed, n) = (self.all, self.listed, self.one_to_n);
        let anchors: Vec<serde_json::Value> = self
            .anchors
            .iter()
            .map(|a| {
                serde_json::json!({
                    "far": a.far,
                    "score": a.score,
                    "exact_threshold": a.exact,
                    "cosine_threshold": a.constant,
                    "impostor_pairs_at_or_above": a.impostors_at_or_above,
                    "measured_far": a.measured_far(all),
                    "tar_all_pairs": a.tar,
                    "tar_pairs_csv": ListedPairs::rate(&listed.genuine, a.constant),
                    "far_pairs_csv": ListedPairs::rate(&listed.impostor, a.constant),
                })
            })
            .collect();
        let (fpir80, _, _) = n.fpir_all(80.0);
        serde_json::json!({
            "date": self.date,
            "command": self.command,
            "machine": self.machine.describe(),
            "embedder_id": self.embedder_id,
            "images": self.labels.len(),
            "faces": self.set.faces(),
            "no_face": self.set.no_face.len(),
            "failed": self.set.failed.len(),
            "genuine_pairs": all.genuine_total(),
            "genuine_unscored": all.genuine_unscored,
            "impostor_pairs": all.impostor_total(),
            "impostor_unscored": all.impostor_unscored,
            "anchors": anchors,
            "pairs_csv_best_accuracy": listed.best_accuracy,
            "pairs_csv_best_threshold": listed.best_threshold,
            "rank1": n.rank1_correct as f64 / n.mated_probes.max(1) as f64,
            "rank1_at_80": n.rank1_correct_at_80 as f64 / n.mated_probes.max(1) as f64,
            "mated_probes": n.mated_probes,
            "fpir_at_80": fpir80,
            "library_disagreements": n.library_disagreements,
        })
    }
}

/// The packages a pack's files come from, as `name@version` joined by commas.
fn packages_of(pack: &PackManifest) -> String {
    let mut names: Vec<String> = Vec::new();
    for file in pack.files {
        let name = format!("{}@{}", file.package.name, file.package.version);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_keeps_the_far_at_or_below_target() {
        let impostor: Vec<f32> = (0..1000).rev().map(|i| i as f32 / 1000.0).collect();
        let t = threshold_at_far(&impostor, 1e-2);
        assert_eq!(count_at_or_above(&impostor, t), 10);
        // With ties at the cut, the threshold moves above them.
        let tied = vec![0.9, 0.5, 0.5, 0.5, 0.1];
        let t = threshold_at_far(&tied, 0.4);
        assert_eq!(count_at_or_above(&tied, t), 1);
    }

    #[test]
    fn score_hits_the_anchors() {
        let c = Calibration {
            cos_far_1e2: 0.25,
            cos_far_1e3: 0.32,
            cos_far_1e4: 0.39,
        };
        assert_eq!(c.score(0.39), 80.0);
        assert_eq!(c.score(0.32), 70.0);
        assert_eq!(c.score(0.25), 60.0);
        assert_eq!(c.score(1.0), 100.0);
        assert_eq!(c.score(-0.2), 0.0);
    }

    #[test]
    fn ceil4_never_rounds_down() {
        assert_eq!(ceil4(0.39241), 0.3925);
        assert_eq!(ceil4(0.3924), 0.3924);
    }
}
