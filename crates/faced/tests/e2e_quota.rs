//! End-to-end tests of call quotas: set with the operator CLI, enforced by the server with
//! Baidu's gateway envelopes (18 per second, 17 per day, 19 in total), counted once per
//! admitted call, and still spent after a restart.

mod common;

use common::*;
use serde_json::{json, Value};

fn gateway_error(code: i64, msg: &str) -> Value {
    json!({"error_code": code, "error_msg": msg})
}

#[test]
fn quotas_refuse_with_17_18_19_and_survive_a_restart() {
    let data = fresh_data_dir("quota");
    let app = create_app(&data, "quota");
    let d = data.to_str().expect("path");
    let set = |extra: &[&str]| {
        let mut args = vec!["app", "set-quota", "--app", &app.app_id, "--data", d];
        args.extend_from_slice(extra);
        faced(&args)
    };
    set(&["--api", "faceset/group/getlist", "--daily", "3"]);
    set(&["--api", "faceset/group/add", "--total", "2"]);
    let shown: Value =
        serde_json::from_str(set(&["--api", "faceset/group/getusers", "--qps", "2"]).trim())
            .expect("set-quota prints JSON");
    assert_eq!(shown["quotas"].as_array().map(Vec::len), Some(3), "{shown}");
    // The CLI refuses what it cannot mean.
    let unknown = faced_fails(&[
        "app",
        "set-quota",
        "--app",
        &app.app_id,
        "--data",
        d,
        "--api",
        "facedetect",
        "--qps",
        "1",
    ]);
    assert!(
        unknown.contains("unknown API") && unknown.contains("faceset/user/add"),
        "{unknown}"
    );
    faced_fails(&[
        "app",
        "set-quota",
        "--app",
        &app.app_id,
        "--data",
        d,
        "--qps",
        "-1",
    ]);
    faced_fails(&["app", "set-quota", "--app", &app.app_id, "--data", d]);
    let permissions = faced_fails(&[
        "app",
        "set-permissions",
        "--app",
        &app.app_id,
        "--data",
        d,
        "--apis",
        "detect,serch",
    ]);
    assert!(
        permissions.contains("unknown API \"serch\""),
        "{permissions}"
    );
    faced_fails(&[
        "app",
        "set-quota",
        "--app",
        "99999999",
        "--data",
        d,
        "--qps",
        "1",
    ]);

    let server = start_server(&data, &[]);
    let token = token(&server, &app);
    let call = |api: &str, body: Value| call_on(&server, &token, api, body);

    // Daily: three calls, then 17.
    for _ in 0..3 {
        assert_eq!(code(&call("faceset/group/getlist", json!({}))), 0);
    }
    let daily = gateway_error(17, "Open api daily request limit reached");
    assert_eq!(call("faceset/group/getlist", json!({})), daily);
    // Total: two calls, then 19; a refused call with bad parameters still counts once
    // admitted (the quota is the gateway's, before the parameters are read).
    assert_eq!(
        code(&call("faceset/group/add", json!({"group_id": "g1"}))),
        0
    );
    assert_eq!(code(&call("faceset/group/add", json!({}))), 222001);
    let total = gateway_error(19, "Open api total request limit reached");
    assert_eq!(call("faceset/group/add", json!({"group_id": "g2"})), total);
    // Per second: a quick burst beyond 2 gets 18; no burst of 12 spans more than 2 seconds.
    let burst: Vec<Value> = (0..12)
        .map(|_| call("faceset/group/getusers", json!({"group_id": "g1"})))
        .collect();
    let qps = gateway_error(18, "Open api qps request limit reached");
    let refused = burst.iter().filter(|a| **a == qps).count();
    let admitted = burst.iter().filter(|a| code(a) == 0).count();
    assert_eq!(refused + admitted, 12, "{burst:?}");
    assert!((2..=6).contains(&admitted) && refused >= 6, "{burst:?}");
    // Other APIs have no limits.
    for _ in 0..5 {
        let body = json!({"group_id": "g1", "user_id": "nobody"});
        assert_eq!(code(&call("faceset/user/get", body)), 223103);
    }

    // A restart keeps the spent quotas spent.
    drop(server);
    let server = start_server(&data, &[]);
    let token = common::token(&server, &app);
    assert_eq!(
        call_on(&server, &token, "faceset/group/getlist", json!({})),
        daily
    );
    assert_eq!(
        call_on(
            &server,
            &token,
            "faceset/group/add",
            json!({"group_id": "g3"})
        ),
        total
    );

    // `app show` reports the usage: only admitted calls were counted.
    let shown: Value =
        serde_json::from_str(faced(&["app", "show", "--app", &app.app_id, "--data", d]).trim())
            .expect("show prints JSON");
    let usage = |api: &str| {
        shown["usage"]
            .as_array()
            .and_then(|all| all.iter().find(|u| u["api"] == api))
            .map(|u| (u["today"].as_u64(), u["total"].as_u64()))
    };
    assert_eq!(
        usage("faceset/group/getlist"),
        Some((Some(3), Some(3))),
        "{shown}"
    );
    assert_eq!(
        usage("faceset/group/add"),
        Some((Some(2), Some(2))),
        "{shown}"
    );
    let getusers = usage("faceset/group/getusers").and_then(|u| u.1);
    assert_eq!(getusers, Some(admitted as u64), "{shown}");

    // Lifting a limit takes effect at once, even on the running server.
    set(&["--api", "faceset/group/getlist", "--daily", "none"]);
    assert_eq!(
        code(&call_on(
            &server,
            &token,
            "faceset/group/getlist",
            json!({})
        )),
        0
    );
}
