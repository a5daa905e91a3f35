//! `faced-bench`: measurement tools for faced. They are programs to run by hand (or in a
//! scheduled job), not tests: they need the model pack and the labelled photos of
//! `../shared/data`, take minutes, and report numbers rather than pass or fail.
//!
//! * `eval` (`src/bin/eval.rs`) measures recognition accuracy on the labelled LFW photos and
//!   derives the similarity → score calibration (the cosine at FAR 1e-2, 1e-3 and 1e-4), the
//!   1:N rank-1 rate and the false-positive identification rate at score 80. It writes
//!   `docs/CALIBRATION.md`.
//! * `bench` (`src/bin/bench.rs`) measures speed: decoding, detection, embedding, enrolment
//!   end to end, library writes and exact search over 10k and 100k stored faces. It appends a
//!   dated section to `docs/BENCHMARKS.md`.
//! * `loadtest` (`src/bin/loadtest.rs`) starts the release server on loopback, gives an app a
//!   QPS quota and drives it at ten times that rate: admitted rate, refusals, latency, memory.
//!
//! Run them in release mode from the repository root, e.g.
//! `cargo run --release -p faced-bench --bin eval` and
//! `cargo run --release -p faced-bench --bin bench -- --quick`.
//!
//! This library holds what both share: locating the repository, the data set and the models,
//! reading the data set's CSV files, a fast dot product, timing statistics and a description
//! of the machine for the reports.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use faced_engine::decode::DecodeLimits;

/// Baidu's image limits, as the service applies them.
pub const DECODE_LIMITS: DecodeLimits = DecodeLimits {
    max_long_side: 1920,
    max_short_side: 1080,
    max_alloc: 256 << 20,
};

/// The workspace root (two levels above this crate's manifest).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// A path as reports print it: relative to the repository root (`../shared/data`, `target/…`)
/// when it lies beside or inside it, so committed reports name no machine's paths.
pub fn shown_path(path: &Path) -> String {
    let root = repo_root();
    if let Ok(inside) = path.strip_prefix(&root) {
        return inside.display().to_string();
    }
    match root.parent().map(|up| path.strip_prefix(up)) {
        Some(Ok(beside)) => format!("../{}", beside.display()),
        _ => path.display().to_string(),
    }
}

/// Resolves a path given on the command line: absolute as is, relative to the current
/// directory.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()
        .context("current directory")?
        .join(path))
}

/// The data set folder: `--data DIR`, else `../shared/data` relative to the repository root.
pub fn data_dir(arg: Option<&Path>) -> Result<PathBuf> {
    let dir = match arg {
        Some(dir) => absolute(dir)?,
        None => repo_root().join("../shared/data"),
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    if !dir.join("faces/labels.csv").is_file() {
        bail!(
            "{} does not hold faces/labels.csv; pass --data DIR",
            dir.display()
        );
    }
    Ok(dir)
}

/// The models folder: `--models DIR`, else `$FACED_MODELS_DIR`, else `~/.cache/faced/models`.
pub fn models_dir(arg: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = arg {
        return absolute(dir);
    }
    if let Some(dir) = std::env::var_os("FACED_MODELS_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; pass --models DIR")?;
    Ok(PathBuf::from(home).join(".cache/faced/models"))
}

/// Takes the value following a flag.
pub fn flag_value(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<String> {
    args.next().with_context(|| format!("{flag} needs a value"))
}

/// One row of `faces/labels.csv`.
#[derive(Debug, Clone)]
pub struct Label {
    /// Path relative to `faces/`.
    pub file: String,
    /// The person.
    pub identity: String,
}

/// Which part of the data set an identity belongs to (`faces/identities.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// Tier A: 10 photos each.
    MultiA,
    /// Tier B: 3–9 photos each.
    MultiB,
    /// One photo.
    Singleton,
}

/// One row of `faces/pairs.csv`.
#[derive(Debug, Clone)]
pub struct Pair {
    /// First file, relative to `faces/`.
    pub file1: String,
    /// Second file.
    pub file2: String,
    /// Whether both show the same person.
    pub same: bool,
}

/// Reads a headed CSV without quoting (the data set has none) into rows of fields.
fn read_csv(path: &Path, header: &str) -> Result<Vec<Vec<String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    if first.trim() != header {
        bail!(
            "{}: expected header {header:?}, found {first:?}",
            path.display()
        );
    }
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim_end_matches('\r')
                .split(',')
                .map(str::to_owned)
                .collect()
        })
        .collect())
}

/// `faces/labels.csv`.
pub fn read_labels(faces: &Path) -> Result<Vec<Label>> {
    read_csv(&faces.join("labels.csv"), "file,identity")?
        .into_iter()
        .map(|row| match row.as_slice() {
            [file, identity] => Ok(Label {
                file: file.clone(),
                identity: identity.clone(),
            }),
            _ => bail!("labels.csv: bad row {row:?}"),
        })
        .collect()
}

/// `faces/identities.csv`: identity → subset.
pub fn read_identities(faces: &Path) -> Result<HashMap<String, Subset>> {
    read_csv(
        &faces.join("identities.csv"),
        "identity,images,subset,images_in_full_lfw",
    )?
    .into_iter()
    .map(|row| {
        let subset = match row.get(2).map(String::as_str) {
            Some("multiA") => Subset::MultiA,
            Some("multiB") => Subset::MultiB,
            Some("singleton") => Subset::Singleton,
            _ => bail!("identities.csv: bad row {row:?}"),
        };
        Ok((row[0].clone(), subset))
    })
    .collect()
}

/// `faces/pairs.csv`.
pub fn read_pairs(faces: &Path) -> Result<Vec<Pair>> {
    read_csv(&faces.join("pairs.csv"), "file1,file2,same")?
        .into_iter()
        .map(|row| match row.as_slice() {
            [file1, file2, same] => Ok(Pair {
                file1: file1.clone(),
                file2: file2.clone(),
                same: same == "1",
            }),
            _ => bail!("pairs.csv: bad row {row:?}"),
        })
        .collect()
}

/// Dot product of two equal-length vectors, written so the compiler vectorises it
/// (eight independent accumulators).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Scales a vector to unit length (left alone when zero).
pub fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Summary of repeated timings.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Number of timed runs.
    pub n: usize,
    /// Median, milliseconds.
    pub median_ms: f64,
    /// 90th percentile (nearest rank), milliseconds.
    pub p90_ms: f64,
    /// Mean, milliseconds.
    pub mean_ms: f64,
}

impl Stats {
    /// Summarises durations (any order); all zero when empty.
    pub fn of(samples: &[Duration]) -> Stats {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        if n == 0 {
            return Stats {
                n,
                median_ms: 0.0,
                p90_ms: 0.0,
                mean_ms: 0.0,
            };
        }
        let median_ms = if n % 2 == 1 {
            ms[n / 2]
        } else {
            (ms[n / 2 - 1] + ms[n / 2]) / 2.0
        };
        let p90_ms = ms[(n * 9).div_ceil(10).max(1) - 1];
        let mean_ms = ms.iter().sum::<f64>() / n as f64;
        Stats {
            n,
            median_ms,
            p90_ms,
            mean_ms,
        }
    }

    /// Summarises the wall times of `timings`.
    pub fn wall(timings: &[Timing]) -> Stats {
        Stats::of(&timings.iter().map(|t| t.wall).collect::<Vec<_>>())
    }

    /// Summarises the CPU times of `timings`; `None` when any is missing.
    pub fn cpu(timings: &[Timing]) -> Option<Stats> {
        timings
            .iter()
            .map(|t| t.cpu)
            .collect::<Option<Vec<_>>>()
            .map(|cpu| Stats::of(&cpu))
    }

    /// Operations per second implied by the mean.
    pub fn per_second(&self) -> f64 {
        if self.mean_ms > 0.0 {
            1e3 / self.mean_ms
        } else {
            0.0
        }
    }
}

/// CPU time consumed so far by the calling thread (`CLOCK_THREAD_CPUTIME_ID`), where the
/// platform has it. Unlike wall time it does not grow while other processes hold the CPU, so
/// it stays meaningful on a busy machine.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub fn thread_cpu_time() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec with the C layout of 64-bit Linux, and the
    // call only writes into it.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// CPU time of the calling thread: not available on this platform.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub fn thread_cpu_time() -> Option<Duration> {
    None
}

/// Wall-clock and CPU time of one call.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Elapsed real time.
    pub wall: Duration,
    /// CPU time of the calling thread, if measurable.
    pub cpu: Option<Duration>,
}

/// Runs `f` and times it.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Timing) {
    let cpu_before = thread_cpu_time();
    let started = Instant::now();
    let result = f();
    let wall = started.elapsed();
    let cpu = thread_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    (result, Timing { wall, cpu })
}

/// What the reports say about the machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Logical CPUs available to this process (`nproc`).
    pub cpus: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Total memory from `/proc/meminfo`, GiB.
    pub memory_gib: Option<f64>,
}

impl Machine {
    /// Looks at the current machine.
    pub fn current() -> Machine {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_gib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|kib| kib / (1024.0 * 1024.0))
        });
        Machine {
            cpus,
            cpu_model,
            memory_gib,
        }
    }

    /// One line for a report.
    pub fn describe(&self) -> String {
        let memory = self
            .memory_gib
            .map(|g| format!(", {g:.1} GiB RAM"))
            .unwrap_or_default();
        format!(
            "{} logical CPUs (`nproc`), CPU model \"{}\"{memory}, {} {}",
            self.cpus,
            self.cpu_model,
            std::env::consts::OS,
            std::env::consts::ARCH
        )
    }
}

/// The load average (1, 5, 15 minutes) from `/proc/loadavg`: other work competing for the
/// CPUs makes every timing slower, so the reports record it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The command that reproduces this run, as `cargo run --release -p faced-bench --bin BIN -- …`.
pub fn command_line(bin: &str) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut line = format!("cargo run --release -p faced-bench --bin {bin}");
    if !args.is_empty() {
        line.push_str(" -- ");
        line.push_str(&args.join(" "));
    }
    line
}

/// Whether this binary was built with optimisations (numbers from a debug build mislead).
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug (numbers are not representative)"
    } else {
        "release"
    }
}

/// Current Unix time, seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Current date and time as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    let secs = unix_now();
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A scratch directory that is removed when dropped.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates `<system temp>/<prefix>-<pid>-<n>`, empty.
    pub fn new(prefix: &str) -> Result<ScratchDir> {
        let base = std::env::temp_dir();
        for n in 0..1000 {
            let dir = base.join(format!("{prefix}-{}-{n}", std::process::id()));
            if !dir.exists() {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                return Ok(ScratchDir(dir));
            }
        }
        bail!("no free scratch directory name under {}", base.display())
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Baidu-style 32-hex-digit face token made from a number.
pub fn face_token(n: u64) -> String {
    format!("{n:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_naive_sum() {
        let a: Vec<f32> = (0..515).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..515).map(|i| (i as f32 * 0.11).cos()).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
    }

    #[test]
    fn stats_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        let s = Stats::of(&samples);
        assert_eq!(s.n, 10);
        assert!((s.median_ms - 5.5).abs() < 1e-9);
        assert!((s.p90_ms - 9.0).abs() < 1e-9);
    }

    #[test]
    fn cpu_time_counts_work_not_sleep() {
        let Some(_) = thread_cpu_time() else { return };
        let (_, sleep) = timed(|| std::thread::sleep(Duration::from_millis(30)));
        assert!(sleep.wall >= Duration::from_millis(30));
        assert!(
            sleep.cpu.is_some_and(|c| c < Duration::from_millis(10)),
            "{sleep:?}"
        );
        let (_, spin) = timed(|| {
            let started = Instant::now();
            while started.elapsed() < Duration::from_millis(20) {
                std::hint::spin_loop();
            }
        });
        assert!(
            spin.cpu.is_some_and(|c| c > Duration::from_millis(1)),
            "{spin:?}"
        );
    }

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }
}
