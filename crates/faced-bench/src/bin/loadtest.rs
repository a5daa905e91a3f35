//! `loadtest`: drives a real `faced serve` over loopback at a multiple of an app's QPS quota
//! and reports what the gateway did with the excess.
//!
//! It starts the release `faced` binary on a scratch data directory (models linked from the
//! cache) on `127.0.0.1` only, creates an app, gives one API a QPS quota with
//! `faced app set-quota`, and sends requests open-loop at `factor × qps` for a fixed time:
//! each request has a scheduled send time and its latency counts from that time, so a slow
//! server cannot hide its queueing by slowing the client down. The run is bounded in time
//! (`--seconds`) and in count (`qps × factor × seconds` requests, at most 100,000).
//!
//! It reports the admitted rate against the limit, every refusal's code and whether its
//! envelope is exactly Baidu's two-key gateway error, HTTP 5xx and transport errors, latency
//! percentiles of admitted and refused calls, and the server's resident memory sampled every
//! second. `--append` appends the Markdown report to `docs/BENCHMARKS.md`.
//!
//! `cargo build --release -p faced && cargo run --release -p faced-bench --bin loadtest --
//! [--faced PATH] [--models DIR] [--data DIR] [--qps 20] [--factor 10] [--seconds 30]
//! [--workers 64] [--append]`

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use faced_bench::{
    command_line, data_dir, flag_value, load_average, models_dir, read_labels, repo_root, utc_now,
    Machine, ScratchDir,
};
use serde_json::{json, Value};

/// The API loaded: a detect of one LFW photo, the commonest call of an access gate.
const API: &str = "detect";
/// An upper bound on the requests of one run, whatever the flags say.
const MAX_REQUESTS: u64 = 100_000;

struct Options {
    faced: PathBuf,
    models: PathBuf,
    data: PathBuf,
    qps: u64,
    factor: u64,
    seconds: u64,
    workers: usize,
    append: bool,
}

fn parse_options() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let (mut faced, mut models, mut data) = (None, None, None);
    let (mut qps, mut factor, mut seconds, mut workers, mut append) = (20, 10, 30, 64, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--faced" => faced = Some(PathBuf::from(flag_value(&mut args, &arg)?)),
            "--models" => models = Some(PathBuf::from(flag_value(&mut args, &arg)?)),
            "--data" => data = Some(PathBuf::from(flag_value(&mut args, &arg)?)),
            "--qps" => qps = flag_value(&mut args, &arg)?.parse()?,
            "--factor" => factor = flag_value(&mut args, &arg)?.parse()?,
            "--seconds" => seconds = flag_value(&mut args, &arg)?.parse()?,
            "--workers" => workers = flag_value(&mut args, &arg)?.parse()?,
            "--append" => append = true,
            other => bail!("unknown argument {other:?}; see the module documentation"),
        }
    }
    if qps == 0 || factor == 0 || seconds == 0 || workers == 0 {
        bail!("--qps, --factor, --seconds and --workers must be positive");
    }
    if qps * factor * seconds > MAX_REQUESTS {
        bail!("qps × factor × seconds is above {MAX_REQUESTS} requests");
    }
    let faced = faced.unwrap_or_else(|| repo_root().join("target/release/faced"));
    if !faced.is_file() {
        bail!(
            "{} is missing: cargo build --release -p faced",
            faced.display()
        );
    }
    Ok(Options {
        faced,
        models: models_dir(models.as_deref())?,
        data: data_dir(data.as_deref())?,
        qps,
        factor,
        seconds,
        workers,
        append,
    })
}

/// The server under test; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_faced(faced: &Path, args: &[&str]) -> Result<Value> {
    let out = Command::new(faced)
        .args(args)
        .output()
        .context("run faced")?;
    if !out.status.success() {
        bail!(
            "faced {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Starts `faced serve` on an ephemeral loopback port and waits for its ready line.
fn start_server(faced: &Path, data: &Path) -> Result<Server> {
    let data = data.to_str().context("data path is not UTF-8")?;
    let mut child = Command::new(faced)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .env("FACED_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("start faced serve")?;
    let stderr = child.stderr.take().context("server stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut base = None;
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.split("faced ready on http://").nth(1) {
            let address = rest.split_whitespace().next().unwrap_or_default();
            base = Some(format!("http://{address}"));
            break;
        }
    }
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let base = base.context("the server exited before it was ready")?;
    Ok(Server { child, base })
}

/// What happened to one request.
struct Outcome {
    /// Scheduled send time, from the start of the load.
    scheduled: Duration,
    /// From the scheduled send time to the end of the response.
    latency: Duration,
    /// HTTP status, or 0 for a transport error.
    status: u16,
    /// The `error_code` of the body, when it was JSON with one.
    code: Option<i64>,
    /// For a transport error: its kind, to tell resets from timeouts.
    error: Option<String>,
    /// For a refusal: whether the body is exactly `{"error_code", "error_msg"}` with Baidu's
    /// message for the code.
    well_formed: bool,
}

fn classify(
    scheduled: Duration,
    started: Instant,
    response: Result<ureq::Response, ureq::Error>,
) -> Outcome {
    let (response, error) = match response {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (Some(r), None),
        Err(ureq::Error::Transport(t)) => (None, Some(format!("{:?}", t.kind()))),
    };
    let status = response.as_ref().map_or(0, |r| r.status());
    let body: Option<Value> = response
        .and_then(|r| r.into_string().ok())
        .and_then(|text| serde_json::from_str(&text).ok());
    let latency = started.elapsed();
    let code = body.as_ref().and_then(|b| b["error_code"].as_i64());
    let expected_msg = match code {
        Some(18) => Some("Open api qps request limit reached"),
        Some(4) => Some("Open api request limit reached"),
        _ => None,
    };
    let well_formed = match (&body, expected_msg) {
        (Some(b), Some(msg)) => b.as_object().map(|o| o.len()) == Some(2) && b["error_msg"] == msg,
        _ => false,
    };
    Outcome {
        scheduled,
        latency,
        status,
        code,
        error,
        well_formed,
    }
}

/// Resident set size of a process, KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn main() -> Result<()> {
    let options = parse_options()?;
    let load_before = load_average();
    let scratch = ScratchDir::new("faced-loadtest")?;
    let dir = scratch.path().to_path_buf();
    std::os::unix::fs::symlink(&options.models, dir.join("models")).context("link models")?;
    let d = dir.to_str().context("scratch path is not UTF-8")?;
    let app = run_faced(
        &options.faced,
        &["app", "create", "--name", "loadtest", "--data", d],
    )?;
    let app_id = app["app_id"].as_str().context("app_id")?.to_owned();
    let qps = options.qps.to_string();
    run_faced(
        &options.faced,
        &[
            "app",
            "set-quota",
            "--app",
            &app_id,
            "--api",
            API,
            "--qps",
            &qps,
            "--data",
            d,
        ],
    )?;
    let server = start_server(&options.faced, &dir)?;
    let pid = server.child.id();
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .max_idle_connections_per_host(options.workers)
        .build();
    let token_url = format!(
        "{}/oauth/2.0/token?grant_type=client_credentials&client_id={}&client_secret={}",
        server.base,
        app["api_key"].as_str().context("api_key")?,
        app["secret_key"].as_str().context("secret_key")?
    );
    let grant: Value = serde_json::from_str(&agent.get(&token_url).call()?.into_string()?)?;
    let token = grant["access_token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let url = format!(
        "{}/rest/2.0/face/v3/{API}?access_token={token}",
        server.base
    );

    let labels = read_labels(&options.data.join("faces"))?;
    let photo_rel = &labels.first().context("no labelled photo")?.file;
    let photo = std::fs::read(options.data.join("faces").join(photo_rel))?;
    let body = json!({
        "image": base64::engine::general_purpose::STANDARD.encode(&photo),
        "image_type": "BASE64",
    })
    .to_string();
    // Warm up: the first calls pay for lazy allocations; then let their second pass.
    for _ in 0..3 {
        let _ = agent
            .post(&url)
            .set("Content-Type", "application/json")
            .send_string(&body);
        std::thread::sleep(Duration::from_millis(400));
    }
    std::thread::sleep(Duration::from_millis(1100));

    let rate = options.qps * options.factor;
    let total = rate * options.seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let (jobs, queue) = mpsc::channel::<(Duration, Instant)>();
    let queue = Arc::new(Mutex::new(queue));
    let outcomes = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let body = Arc::new(body);
    let mut workers = Vec::new();
    for _ in 0..options.workers {
        let (queue, outcomes, agent, url, body) = (
            queue.clone(),
            outcomes.clone(),
            agent.clone(),
            url.clone(),
            body.clone(),
        );
        workers.push(std::thread::spawn(move || loop {
            let job = queue.lock().map(|q| q.recv());
            let Ok(Ok((scheduled, at))) = job else { break };
            let response = agent
                .post(&url)
                .set("Content-Type", "application/json")
                .send_string(&body);
            let outcome = classify(scheduled, at, response);
            if let Ok(mut all) = outcomes.lock() {
                all.push(outcome);
            }
        }));
    }
    let memory = Arc::new(Mutex::new(Vec::new()));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (memory, sampling) = (memory.clone(), sampling.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                if let (Some(kib), Ok(mut all)) = (rss_kib(pid), memory.lock()) {
                    all.push((start.elapsed().as_secs_f64(), kib));
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let start = Instant::now() + Duration::from_millis(50);
    for i in 0..total {
        let offset = interval * i as u32;
        let at = start + offset;
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        jobs.send((offset, at)).context("workers gone")?;
    }
    drop(jobs);
    for worker in workers {
        let _ = worker.join();
    }
    let elapsed = start.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.join();
    let outcomes = std::mem::take(&mut *outcomes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let memory = memory
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let report = report(
        &options,
        &outcomes,
        &memory,
        elapsed,
        &load_before,
        photo_rel,
    );
    print!("{report}");
    if options.append {
        let path = repo_root().join("docs/BENCHMARKS.md");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push('\n');
        text.push_str(&report);
        std::fs::write(&path, text)?;
        eprintln!("appended to {}", path.display());
    }
    drop(server);
    Ok(())
}

fn report(
    options: &Options,
    outcomes: &[Outcome],
    memory: &[(f64, u64)],
    elapsed: Duration,
    load_before: &str,
    photo: &str,
) -> String {
    use std::fmt::Write as _;
    let is_refusal = |o: &Outcome| matches!(o.code, Some(18) | Some(4));
    let admitted: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status == 200 && o.code.is_some() && !is_refusal(o))
        .collect();
    let refused: Vec<&Outcome> = outcomes.iter().filter(|o| is_refusal(o)).collect();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for o in outcomes {
        let key = match (o.status, o.code) {
            (0, _) => format!("transport error {}", o.error.as_deref().unwrap_or("?")),
            (200, Some(code)) => format!("code {code}"),
            (status, _) => format!("HTTP {status}"),
        };
        *codes.entry(key).or_default() += 1;
    }
    let server_errors = outcomes.iter().filter(|o| o.status >= 500).count();
    let malformed = refused.iter().filter(|o| !o.well_formed).count();
    // The admitted rate over whole seconds of the schedule.
    let seconds = options.seconds as f64;
    let in_window = admitted
        .iter()
        .filter(|o| o.scheduled.as_secs_f64() < seconds)
        .count();
    let admitted_rate = in_window as f64 / seconds;
    let deviation = (admitted_rate / options.qps as f64 - 1.0) * 100.0;
    let mut admitted_latency: Vec<Duration> = admitted.iter().map(|o| o.latency).collect();
    admitted_latency.sort();
    let mut refused_latency: Vec<Duration> = refused.iter().map(|o| o.latency).collect();
    refused_latency.sort();
    let rss = |kib: u64| kib as f64 / 1024.0;
    let first = memory.first().map_or(0, |m| m.1);
    let last = memory.last().map_or(0, |m| m.1);
    let peak = memory.iter().map(|m| m.1).max().unwrap_or(0);
    // After the first seconds every buffer and worker has been allocated: flat means no growth
    // from there to the end.
    let settled = memory.iter().find(|m| m.0 >= 5.0).map_or(first, |m| m.1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {} — load test: {API} at {}× its QPS quota\n",
        utc_now(),
        options.factor
    );
    let _ = writeln!(
        out,
        "* Command: `cargo build --release -p faced && {}`",
        command_line("loadtest")
    );
    let _ = writeln!(
        out,
        "* Machine: {}; client and server share it (loopback)",
        Machine::current().describe()
    );
    let _ = writeln!(
        out,
        "* Load average (1/5/15 min) at the start: {load_before}"
    );
    let _ = writeln!(
        out,
        "* Setup: release `faced serve` on 127.0.0.1, one app with `faced app set-quota --api {API} --qps {}`; \
         each request a `detect` of `{photo}` (BASE64 JSON); open loop: {} requests scheduled evenly at {} req/s for {} s, \
         {} client threads, latency counted from each request's scheduled time",
        options.qps,
        outcomes.len(),
        options.qps * options.factor,
        options.seconds,
        options.workers
    );
    let _ = writeln!(
        out,
        "* Wall time of the load: {:.1} s\n",
        elapsed.as_secs_f64()
    );
    let _ = writeln!(out, "| measure | value |\n|---|---|");
    let _ = writeln!(
        out,
        "| admitted (answered, not refused) | {} ({admitted_rate:.2}/s over the {} s window; limit {} → {deviation:+.2} %) |",
        admitted.len(),
        options.seconds,
        options.qps
    );
    let _ = writeln!(
        out,
        "| refused with 18 or 4 | {} ({} not exactly Baidu's two-key envelope) |",
        refused.len(),
        malformed
    );
    let _ = writeln!(
        out,
        "| answers by kind | {} |",
        codes
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(out, "| HTTP 5xx | {server_errors} |");
    let _ = writeln!(
        out,
        "| latency of admitted, ms (p50 / p90 / p99 / max) | {:.1} / {:.1} / {:.1} / {:.1} |",
        percentile(&admitted_latency, 50.0),
        percentile(&admitted_latency, 90.0),
        percentile(&admitted_latency, 99.0),
        percentile(&admitted_latency, 100.0)
    );
    let _ = writeln!(
        out,
        "| latency of refusals, ms (p50 / p99) | {:.2} / {:.2} |",
        percentile(&refused_latency, 50.0),
        percentile(&refused_latency, 99.0)
    );
    let _ = writeln!(
        out,
        "| server RSS, MiB (first / at 5 s / peak / last sample; {} samples, 1 s apart) | {:.1} / {:.1} / {:.1} / {:.1} |",
        memory.len(),
        rss(first),
        rss(settled),
        rss(peak),
        rss(last)
    );
    let series: Vec<String> = memory
        .iter()
        .filter(|m| (m.0.round() as u64).is_multiple_of(5))
        .map(|m| format!("{:.0} s: {:.0}", m.0, rss(m.1)))
        .collect();
    let _ = writeln!(out, "| server RSS every 5 s, MiB | {} |", series.join(", "));
    out
}
