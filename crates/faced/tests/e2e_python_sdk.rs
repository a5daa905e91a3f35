//! The official Baidu Python SDK (`baidu-aip`, installed by the test command from PyPI) against
//! the real server: with access tokens, and signing its requests (bce-auth-v1) when it has none.

mod common;

use common::*;

#[test]
fn the_official_python_sdk_works_against_faced() {
    run_flow("python_sdk_flow.py", "python sdk flow passed");
}

#[test]
fn the_official_python_sdk_signs_requests_when_it_has_no_token() {
    run_flow("python_sdk_signed.py", "python sdk signed flow passed");
}

fn run_flow(script_name: &str, done: &str) {
    let data = fresh_data_dir(script_name.trim_end_matches(".py"));
    let app = create_app(&data, "pysdk");
    let server = start_server(&data, &[]);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script_name);
    let python = std::env::var("FACED_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .arg(script)
        .args([&server.base, &app.app_id, &app.api_key, &app.secret_key])
        .arg(shared_data())
        .output()
        .expect("python3 runs (the test command installs baidu-aip)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script_name} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(done), "{stdout}");
}
