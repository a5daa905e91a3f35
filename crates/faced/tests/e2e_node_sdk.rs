//! The official Baidu Node SDK (`baidu-aip-sdk`, installed from npm by the test command into
//! `$FACED_NODE_SDK_DIR`) against the real server.

mod common;

use std::path::PathBuf;

use common::*;

/// The npm prefix holding `node_modules/baidu-aip-sdk`: `FACED_NODE_SDK_DIR`, else the test
/// command's default, `${FACED_CACHE:-~/.cache/faced}/node-sdk`.
fn node_sdk_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FACED_NODE_SDK_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("FACED_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/faced")
        });
    cache.join("node-sdk")
}

#[test]
fn the_official_node_sdk_works_against_faced() {
    let sdk = node_sdk_dir();
    assert!(
        sdk.join("node_modules/baidu-aip-sdk/package.json").exists(),
        "the Node SDK is not installed in {}: run scripts/test, or \
         npm install --prefix {} baidu-aip-sdk@4.16.16",
        sdk.display(),
        sdk.display()
    );
    let data = fresh_data_dir("nodesdk");
    let app = create_app(&data, "nodesdk");
    let server = start_server(&data, &[]);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/node_sdk_flow.js");
    let node = std::env::var("FACED_TEST_NODE").unwrap_or_else(|_| "node".into());
    let out = std::process::Command::new(node)
        .arg(script)
        .args([&server.base, &app.app_id, &app.api_key, &app.secret_key])
        .arg(shared_data())
        .env("FACED_NODE_SDK_DIR", &sdk)
        .output()
        .expect("node runs (the test command installs npm and the SDK)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node SDK flow failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("node sdk flow passed"), "{stdout}");
}
