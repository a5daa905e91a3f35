//! A real faced server for end-to-end tests: the release-candidate binary, the real models and
//! a fresh data directory, on an ephemeral loopback port.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

/// The shared photos.
pub fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Reads a photo under `shared/data` and base64-encodes it.
pub fn photo_b64(rel: &str) -> String {
    let bytes = std::fs::read(shared_data().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Where the fetched models are: `FACED_MODELS_DIR`, else `~/.cache/faced/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("FACED_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced/models")
        })
}

/// The credentials of one app.
#[derive(Debug, Clone)]
pub struct App {
    pub app_id: String,
    pub api_key: String,
    pub secret_key: String,
}

/// A running server; killed when dropped.
pub struct Server {
    pub base: String,
    pub data: PathBuf,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, empty data directory with the models linked in.
pub fn fresh_data_dir(name: &str) -> PathBuf {
    remove_data_dirs_of_finished_runs();
    let dir = std::env::temp_dir().join(format!("faced-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("data dir");
    std::os::unix::fs::symlink(models_dir(), dir.join("models")).expect("link models");
    dir
}

/// Data directories outlive their test process (a restart test reuses one across servers), so
/// each run removes those left by test processes that have ended.
fn remove_data_dirs_of_finished_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("faced-e2e-")
            .and_then(|rest| rest.rsplit('-').next())
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Runs the `faced` binary with arguments, returning stdout (panics on failure).
pub fn faced(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_faced"))
        .args(args)
        .output()
        .expect("run faced");
    assert!(
        out.status.success(),
        "faced {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the `faced` binary expecting it to fail; returns its stderr.
pub fn faced_fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_faced"))
        .args(args)
        .output()
        .expect("run faced");
    assert!(!out.status.success(), "faced {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Creates an app in `data` with the CLI.
pub fn create_app(data: &Path, name: &str) -> App {
    let line = faced(&[
        "app",
        "create",
        "--name",
        name,
        "--data",
        data.to_str().expect("utf-8 path"),
    ]);
    let v: Value = serde_json::from_str(line.trim()).expect("app create prints JSON");
    App {
        app_id: v["app_id"].as_str().expect("app_id").into(),
        api_key: v["api_key"].as_str().expect("api_key").into(),
        secret_key: v["secret_key"].as_str().expect("secret_key").into(),
    }
}

/// Starts `faced serve` on an ephemeral port over `data` and waits until it is ready.
pub fn start_server(data: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faced"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().expect("utf-8 path"),
        ])
        .args(extra)
        .env("FACED_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn faced serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.split("faced ready on http://").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
            if std::env::var_os("FACED_TEST_SERVER_LOG").is_some() {
                eprintln!("[server] {line}");
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("server did not become ready");
    Server {
        base: format!("http://{addr}"),
        data: data.to_path_buf(),
        child,
    }
}

/// One server with one app, shared by the tests of a test binary.
pub fn shared() -> &'static (Server, App, String) {
    static SHARED: OnceLock<(Server, App, String)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let data = fresh_data_dir("shared");
        let app = create_app(&data, "e2e");
        let server = start_server(&data, &["--allow-private-urls"]);
        let token = token(&server, &app);
        (server, app, token)
    })
}

/// Gets an access token through the OAuth endpoint.
pub fn token(server: &Server, app: &App) -> String {
    let url = format!(
        "{}/oauth/2.0/token?grant_type=client_credentials&client_id={}&client_secret={}",
        server.base, app.api_key, app.secret_key
    );
    let body = get(&url).1;
    body["access_token"].as_str().expect("token").to_string()
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(300))
        .build()
}

fn read(response: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match response {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let text = response.into_string().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

/// GET, returning status and JSON.
pub fn get(url: &str) -> (u16, Value) {
    read(agent().get(url).call())
}

/// POST a raw body with a content type, returning status and JSON.
pub fn post_raw(url: &str, content_type: &str, body: &str) -> (u16, Value) {
    read(
        agent()
            .post(url)
            .set("Content-Type", content_type)
            .send_string(body),
    )
}

/// POST JSON to a v3 endpoint with the shared token; asserts HTTP 200 and returns the body.
pub fn call(api: &str, body: Value) -> Value {
    let (server, _, token) = shared();
    call_on(server, token, api, body)
}

/// POST JSON to a v3 endpoint of `server` with `token`.
pub fn call_on(server: &Server, token: &str, api: &str, body: Value) -> Value {
    let url = format!(
        "{}/rest/2.0/face/v3/{api}?access_token={token}",
        server.base
    );
    let (status, value) = post_raw(&url, "application/json", &body.to_string());
    assert_eq!(status, 200, "{api}: {value}");
    value
}

/// The error code of a response.
pub fn code(v: &Value) -> i64 {
    v["error_code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error_code in {v}"))
}

/// A BASE64 image parameter set.
pub fn image(rel: &str) -> Value {
    json!({"image": photo_b64(rel), "image_type": "BASE64"})
}

/// A photo under `shared/data`, decoded (for tests that make variants of it).
pub fn photo(rel: &str) -> image::RgbImage {
    let bytes = std::fs::read(shared_data().join(rel)).expect("photo");
    image::load_from_memory(&bytes).expect("decodes").to_rgb8()
}

/// Pixels as a BASE64 image parameter: PNG, so no compression blurs a variant, or for a large
/// frame (a PNG would pass Baidu's 2 MB limit) JPEG at quality 95.
pub fn picture(image: &image::RgbImage) -> Value {
    let mut bytes = Vec::new();
    let mut out = std::io::Cursor::new(&mut bytes);
    if image.width() * image.height() > 300_000 {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
        image.write_with_encoder(encoder).expect("jpeg");
    } else {
        image
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
    }
    json!({
        "image": base64::engine::general_purpose::STANDARD.encode(bytes),
        "image_type": "BASE64"
    })
}

/// Merges two JSON objects.
pub fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}
