//! End-to-end: the Baidu wire conventions, against the real server.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::*;
use serde_json::{json, Value};

#[test]
fn token_endpoint_answers_get_post_and_its_errors() {
    let (server, app, _) = shared();
    let q = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        app.api_key, app.secret_key
    );
    let (status, got) = get(&format!("{}/oauth/2.0/token?{q}", server.base));
    assert_eq!(status, 200);
    let keys: Vec<&String> = got.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "refresh_token",
            "expires_in",
            "session_key",
            "access_token",
            "scope",
            "session_secret"
        ]
    );
    assert_eq!(got["expires_in"], json!(2592000));
    assert!(got["scope"]
        .as_str()
        .expect("scope")
        .split(' ')
        .any(|s| s == "brain_all_scope"));
    let token = got["access_token"].as_str().expect("token");
    assert!(
        token.starts_with("24.") && token.ends_with(&format!("-{}", app.app_id)),
        "{token}"
    );
    let (status, posted) = post_raw(
        &format!("{}/oauth/2.0/token", server.base),
        "application/x-www-form-urlencoded",
        &q,
    );
    assert_eq!(status, 200);
    assert!(posted["access_token"].is_string());
    let (status, json_body) = post_raw(
        &format!("{}/oauth/2.0/token", server.base),
        "application/json",
        &json!({"grant_type": "client_credentials", "client_id": app.api_key, "client_secret": app.secret_key}).to_string(),
    );
    assert_eq!(status, 200, "{json_body}");
    let (status, bad) = get(&format!(
        "{}/oauth/2.0/token?grant_type=client_credentials&client_id=nobody&client_secret=x",
        server.base
    ));
    assert_eq!(
        (status, bad),
        (
            401,
            json!({"error": "invalid_client", "error_description": "unknown client id"})
        )
    );
    let (status, bad) = get(&format!(
        "{}/oauth/2.0/token?grant_type=client_credentials&client_id={}&client_secret=wrong",
        server.base, app.api_key
    ));
    assert_eq!(
        (status, bad),
        (
            401,
            json!({"error": "invalid_client", "error_description": "Client authentication failed"})
        )
    );
    let (status, bad) = get(&format!(
        "{}/oauth/2.0/token?grant_type=client_credentials",
        server.base
    ));
    assert_eq!(status, 400);
    assert_eq!(bad["error"], "invalid_request");
    let (status, bad) = get(&format!(
        "{}/oauth/2.0/token?grant_type=password&client_id={}&client_secret={}",
        server.base, app.api_key, app.secret_key
    ));
    assert_eq!(
        (status, bad["error"].clone()),
        (400, json!("unsupported_grant_type"))
    );
}

#[test]
fn access_token_checks_and_gateway_envelope() {
    let (server, _, token) = shared();
    let url = |q: &str| format!("{}/rest/2.0/face/v3/faceset/group/getlist{q}", server.base);
    let (status, missing) = post_raw(&url(""), "application/json", "{}");
    assert_eq!(
        (status, missing),
        (
            200,
            json!({"error_code": 100, "error_msg": "Invalid parameter"})
        )
    );
    let (_, invalid) = post_raw(&url("?access_token=24.nope"), "application/json", "{}");
    assert_eq!(
        invalid,
        json!({"error_code": 110, "error_msg": "Access token invalid or no longer valid"})
    );
    // The Node SDK's doubled query: the token value ends with "?aipSdk=node".
    let (_, node) = post_raw(
        &url(&format!("?aipSdk=node&access_token={token}?aipSdk=node")),
        "application/x-www-form-urlencoded",
        "{}",
    );
    assert_eq!(code(&node), 0, "{node}");
    let (_, py) = post_raw(
        &url(&format!(
            "?access_token={token}&aipSdk=python&aipVersion=4.15.13"
        )),
        "application/json",
        "{}",
    );
    assert_eq!(code(&py), 0);
}

#[test]
fn envelope_shape_and_unknown_paths() {
    let (server, _, token) = shared();
    let answer = call("faceset/group/getlist", json!({}));
    let keys: Vec<&String> = answer.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "error_code",
            "error_msg",
            "log_id",
            "timestamp",
            "cached",
            "result"
        ]
    );
    assert_eq!(answer["error_msg"], "SUCCESS");
    assert!(answer["log_id"].is_u64() && answer["timestamp"].is_i64());
    let other = call("faceset/group/getlist", json!({}));
    assert_ne!(answer["log_id"], other["log_id"], "log_id is unique");
    let error = call("detect", json!({"image_type": "BASE64"}));
    assert_eq!(
        error,
        json!({"error_code": 222001, "error_msg": "param[] is null", "log_id": error["log_id"], "timestamp": error["timestamp"], "cached": 0, "result": null})
    );
    let (status, unknown) = post_raw(
        &format!(
            "{}/rest/2.0/face/v3/nothing?access_token={token}",
            server.base
        ),
        "application/json",
        "{}",
    );
    assert_eq!((status, unknown["error_code"].clone()), (200, json!(3)));
    let (status, root) = get(&format!("{}/", server.base));
    assert_eq!((status, root["error_code"].clone()), (200, json!(3)));
}

#[test]
fn bodies_are_sniffed_and_numbers_may_be_strings() {
    let (server, _, token) = shared();
    let url = format!(
        "{}/rest/2.0/face/v3/detect?access_token={token}",
        server.base
    );
    let body = json!({"image": photo_b64("cases/size_1920x1080_couple.jpg"), "image_type": "BASE64", "max_face_num": "2"}).to_string();
    let (_, as_form) = post_raw(&url, "application/x-www-form-urlencoded", &body);
    assert_eq!(as_form["result"]["face_num"], 2, "JSON labelled as form");
    let (_, broken) = post_raw(&url, "application/json", "{\"image\": ");
    assert_eq!(code(&broken), 222200);
    let form = format!(
        "image_type=BASE64&max_face_num=2&image={}",
        photo_b64("cases/size_1920x1080_couple.jpg")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let (_, real_form) = post_raw(&url, "application/x-www-form-urlencoded", &form);
    assert_eq!(
        real_form["result"]["face_num"], 2,
        "a real form body: {}",
        real_form["error_code"]
    );
    let data_uri = json!({"image": format!("data:image/jpeg;base64,{}", photo_b64("cases/idphoto_358x441.jpg")), "image_type": "BASE64"});
    assert_eq!(code(&call("detect", data_uri)), 0);
    let unpadded = json!({"image": photo_b64("cases/progressive.jpg").trim_end_matches('=').to_string(), "image_type": "BASE64"});
    assert_eq!(code(&call("detect", unpadded)), 0);
    assert_eq!(
        code(&call(
            "detect",
            json!({"image": "!!!", "image_type": "BASE64"})
        )),
        222013
    );
    let huge = "A".repeat(2 * 1024 * 1024 + 8);
    assert_eq!(
        code(&call(
            "detect",
            json!({"image": huge, "image_type": "BASE64"})
        )),
        222013
    );
}

/// A one-shot HTTP server on loopback answering with `status` and `body`.
fn serve_once(status: &str, body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let status = status.to_string();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}/photo.jpg")
}

#[test]
fn url_images_are_downloaded_with_limits() {
    let photo = std::fs::read(shared_data().join("cases/idphoto_358x441.jpg")).expect("photo");
    let ok = call(
        "detect",
        json!({"image": serve_once("200 OK", photo.clone()), "image_type": "URL"}),
    );
    assert_eq!(code(&ok), 0, "{ok}");
    let missing = call(
        "detect",
        json!({"image": serve_once("404 Not Found", Vec::new()), "image_type": "URL"}),
    );
    assert_eq!(code(&missing), 222204);
    let too_big = call(
        "detect",
        json!({"image": serve_once("200 OK", vec![0u8; 3 * 1024 * 1024]), "image_type": "URL"}),
    );
    assert_eq!(code(&too_big), 222204);
    let nothing_there = call(
        "detect",
        json!({"image": "http://127.0.0.1:9/none.jpg", "image_type": "URL"}),
    );
    assert_eq!(code(&nothing_there), 222204);
    // Without --allow-private-urls, loopback is refused.
    let data = fresh_data_dir("urls");
    let app = create_app(&data, "urls");
    let strict = start_server(&data, &[]);
    let token = token(&strict, &app);
    let refused = call_on(
        &strict,
        &token,
        "detect",
        json!({"image": serve_once("200 OK", photo), "image_type": "URL"}),
    );
    assert_eq!(code(&refused), 222204);
}

#[test]
fn apps_do_not_see_each_other() {
    let (server, _, token_a) = shared();
    let data = &server.data;
    let app_b = create_app(data, "other");
    let token_b = token(server, &app_b);
    let mine = call_on(
        server,
        token_a,
        "detect",
        image("cases/idphoto_358x441.jpg"),
    );
    let face_token = mine["result"]["face_list"][0]["face_token"]
        .as_str()
        .expect("token")
        .to_string();
    let foreign = call_on(
        server,
        &token_b,
        "match",
        json!([{"image": face_token, "image_type": "FACE_TOKEN"}, image("cases/idphoto_358x441.jpg")]),
    );
    assert_eq!(
        code(&foreign),
        222209,
        "app B cannot use app A's face_token"
    );
    let listed: Value = call_on(server, &token_b, "faceset/group/getlist", json!({}));
    assert_eq!(listed["result"]["group_id_list"], json!([]));
}

#[test]
fn cli_lists_apps_without_secrets() {
    let (server, app, _) = shared();
    let listing = faced(&["app", "list", "--data", server.data.to_str().expect("path")]);
    assert!(listing.contains(&app.app_id) && listing.contains(&app.api_key));
    assert!(!listing.contains(&app.secret_key), "secrets never listed");
}

#[test]
fn serve_without_models_explains_and_fails() {
    let dir = std::env::temp_dir().join(format!("faced-nomodels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faced"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            dir.to_str().expect("path"),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("faced models fetch"));
}

#[test]
fn permissions_expired_tokens_and_unknown_users() {
    let data = fresh_data_dir("perm");
    let app = create_app(&data, "perm");
    let server = start_server(&data, &[]);
    let token = token(&server, &app);
    let data_arg = data.to_str().expect("path");
    faced(&[
        "app",
        "set-permissions",
        "--app",
        &app.app_id,
        "--apis",
        "detect,faceset/group/add",
        "--data",
        data_arg,
    ]);
    assert_eq!(
        code(&call_on(
            &server,
            &token,
            "faceset/group/add",
            json!({"group_id": "g"})
        )),
        0
    );
    let refused = call_on(&server, &token, "faceset/group/getlist", json!({}));
    assert_eq!(
        refused,
        json!({"error_code": 6, "error_msg": "no permission to access data"})
    );
    faced(&[
        "app",
        "set-permissions",
        "--app",
        &app.app_id,
        "--all",
        "--data",
        data_arg,
    ]);
    assert_eq!(
        code(&call_on(
            &server,
            &token,
            "faceset/group/getlist",
            json!({})
        )),
        0
    );
    // A token past its 30 days answers 111 (written straight into the store, as time travel).
    let library = faced_library::Library::open(&data).expect("open the same library");
    let expired = "24.0123456789abcdef0123456789abcdef.2592000.1.282335-expired";
    library.store_token(&app.app_id, expired, 1).expect("store");
    let answer = call_on(&server, expired, "faceset/group/getlist", json!({}));
    assert_eq!(
        answer,
        json!({"error_code": 111, "error_msg": "Access token expired"})
    );
    // search restricted to a user who is in none of the groups.
    let answer = call_on(
        &server,
        &token,
        "search",
        with(
            image("cases/idphoto_358x441.jpg"),
            json!({"group_id_list": "g", "user_id": "nobody"}),
        ),
    );
    assert_eq!(code(&answer), 223103, "{answer}");
}

#[test]
fn operator_cli_rotates_revokes_shows_and_deletes() {
    let data = fresh_data_dir("operator");
    let app = create_app(&data, "operator");
    let server = start_server(&data, &[]);
    let d = data.to_str().expect("path");
    let list = call_on_raw(&server, "faceset/group/getlist");
    let first = token(&server, &app);
    let second = token(&server, &app);
    assert_eq!(code(&list(&first)), 0);
    // Revoking one token leaves the other.
    assert!(faced(&["token", "revoke", "--token", &first, "--data", d]).contains("true"));
    assert_eq!(
        list(&first),
        json!({"error_code": 110, "error_msg": "Access token invalid or no longer valid"})
    );
    assert_eq!(code(&list(&second)), 0);
    // `app show` never shows the secret.
    let shown = faced(&["app", "show", "--app", &app.app_id, "--data", d]);
    assert!(
        shown.contains(&app.api_key) && !shown.contains(&app.secret_key),
        "{shown}"
    );
    // Rotating the secret revokes every token and the old secret.
    let rotated: Value = serde_json::from_str(
        faced(&["app", "rotate-secret", "--app", &app.app_id, "--data", d]).trim(),
    )
    .expect("json");
    let new_secret = rotated["secret_key"].as_str().expect("secret").to_string();
    assert_ne!(new_secret, app.secret_key);
    assert_eq!(code(&list(&second)), 110);
    let (status, old) = get(&format!(
        "{}/oauth/2.0/token?grant_type=client_credentials&client_id={}&client_secret={}",
        server.base, app.api_key, app.secret_key
    ));
    assert_eq!(
        (status, old["error_description"].clone()),
        (401, json!("Client authentication failed"))
    );
    let renewed = App {
        secret_key: new_secret,
        ..app.clone()
    };
    let third = token(&server, &renewed);
    assert_eq!(code(&list(&third)), 0);
    // Deleting the app ends its tokens.
    faced(&["app", "delete", "--app", &app.app_id, "--data", d]);
    assert_eq!(code(&list(&third)), 110);
    assert!(!faced(&["app", "list", "--data", d]).contains(&app.app_id));
}

/// A caller of one endpoint with a given token (empty body).
fn call_on_raw<'a>(server: &'a Server, api: &'a str) -> impl Fn(&str) -> Value + 'a {
    move |token: &str| call_on(server, token, api, json!({}))
}

/// One inference worker and room for one waiting request: a burst of slow detects is partly
/// refused at once with Baidu's code 4 (two-key envelope), the rest succeed, nothing else.
#[test]
fn overload_is_shed_with_code_4() {
    let data = fresh_data_dir("overload");
    let app = create_app(&data, "overload");
    let config = data.join("faced.toml");
    std::fs::write(&config, "inference_workers = 1\ninference_queue = 1\n").expect("config");
    let server = start_server(&data, &["--config", config.to_str().expect("path")]);
    let token = token(&server, &app);
    let body = with(
        image("cases/size_1920x1080_couple.jpg"),
        json!({"max_face_num": 10}),
    );
    let answers: Vec<Value> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..8)
            .map(|_| s.spawn(|| call_on(&server, &token, "detect", body.clone())))
            .collect();
        calls
            .into_iter()
            .map(|c| c.join().expect("thread"))
            .collect()
    });
    let shed = answers
        .iter()
        .filter(|a| **a == json!({"error_code": 4, "error_msg": "Open api request limit reached"}))
        .count();
    let served = answers.iter().filter(|a| code(a) == 0).count();
    assert_eq!(
        shed + served,
        answers.len(),
        "only successes and code 4: {answers:?}"
    );
    assert!(shed >= 1 && served >= 1, "{shed} shed, {served} served");
}

/// Signs a request the way the Java SDK does (spec §3.2): no `access_token`, query
/// `aipSdk=java`, an empty signed-header list (so the default set — host, content-length,
/// content-md5, content-type and x-bce-* — is what is signed), `Content-MD5` as lowercase hex,
/// and a timestamp formatted with a 12-hour clock. The signing is written out here, apart
/// from the server's verifier, so that a shared mistake cannot hide.
mod java_signing {
    use hmac::{Hmac, Mac};
    use md5::{Digest, Md5};
    use sha2::Sha256;

    pub fn uri_encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn hmac_hex(key: &[u8], message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `x-bce-date` as Java's `yyyy-MM-dd'T'hh:mm:ss'Z'` writes it: hours 1–12.
    pub fn java_date(unix: i64) -> String {
        let at = time::OffsetDateTime::from_unix_timestamp(unix).expect("time");
        let hour = match at.hour() % 12 {
            0 => 12,
            h => h,
        };
        format!(
            "{:04}-{:02}-{:02}T{hour:02}:{:02}:{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.minute(),
            at.second()
        )
    }

    /// The headers to send (besides what the client adds itself) for `body` to `path`.
    pub fn headers(
        ak: &str,
        sk: &str,
        host: &str,
        path: &str,
        body: &str,
        date: &str,
    ) -> Vec<(String, String)> {
        let md5 = hex::encode(Md5::digest(body.as_bytes()));
        let mut canonical_headers: Vec<String> = [
            ("host", host.to_string()),
            ("content-length", body.len().to_string()),
            ("content-type", "application/json".to_string()),
            ("content-md5", md5.clone()),
            ("x-bce-date", date.to_string()),
        ]
        .iter()
        .map(|(k, v)| format!("{}:{}", uri_encode(k), uri_encode(v)))
        .collect();
        canonical_headers.sort();
        let canonical = format!(
            "POST\n{}\naipSdk=java\n{}",
            path.split('/')
                .map(uri_encode)
                .collect::<Vec<_>>()
                .join("/"),
            canonical_headers.join("\n")
        );
        let prefix = format!("bce-auth-v1/{ak}/{date}/1800");
        let signing_key = hmac_hex(sk.as_bytes(), &prefix);
        let signature = hmac_hex(signing_key.as_bytes(), &canonical);
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("Content-MD5".into(), md5),
            ("x-bce-date".into(), date.into()),
            ("Authorization".into(), format!("{prefix}//{signature}")),
        ]
    }
}

#[test]
fn java_style_signed_requests_are_verified() {
    let data = fresh_data_dir("java-signing");
    let app = create_app(&data, "java");
    let server = start_server(&data, &[]);
    let host = server.base.trim_start_matches("http://").to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let send = |api: &str, body: &str, date: &str, secret: &str| {
        let path = format!("/rest/2.0/face/v3/{api}");
        let mut request = ureq::AgentBuilder::new()
            .build()
            .post(&format!("{}{path}?aipSdk=java", server.base));
        for (k, v) in java_signing::headers(&app.api_key, secret, &host, &path, body, date) {
            request = request.set(&k, &v);
        }
        let text = match request.send_string(body) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r.into_string().expect("body"),
            Err(e) => panic!("transport: {e}"),
        };
        serde_json::from_str::<Value>(&text).expect("json")
    };
    let iam = json!({"error_code": 14, "error_msg": "IAM Certification failed"});
    // Signed now, with the Java clock (12 h early in the afternoon): admitted, and the call
    // acts on the app the key belongs to.
    let date = java_signing::java_date(now);
    let added = send(
        "faceset/group/add",
        r#"{"group_id":"java_g"}"#,
        &date,
        &app.secret_key,
    );
    assert_eq!(code(&added), 0, "{added}");
    let listed = send("faceset/group/getlist", "{}", &date, &app.secret_key);
    assert_eq!(
        listed["result"]["group_id_list"],
        json!(["java_g"]),
        "{listed}"
    );
    // Half a day early is the Java quirk and passes; thirteen hours is not.
    // (Formatted on a 24-hour clock: the Java format applied again would move a morning
    // stamp a whole day back.)
    let rfc3339 = |unix: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(unix)
            .expect("time")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format");
        format!("{}Z", &t[..19])
    };
    let early = rfc3339(now - 12 * 3600 + 60);
    assert_eq!(
        code(&send(
            "faceset/group/getlist",
            "{}",
            &early,
            &app.secret_key
        )),
        0
    );
    let stale = rfc3339(now - 13 * 3600 - 1800);
    assert_eq!(
        send("faceset/group/getlist", "{}", &stale, &app.secret_key),
        iam
    );
    // The wrong secret, or a body other than the one whose MD5 was signed, is refused.
    assert_eq!(
        send("faceset/group/getlist", "{}", &date, "not-the-secret"),
        iam
    );
    let path = "/rest/2.0/face/v3/faceset/group/add";
    let signed_body = r#"{"group_id":"java_h"}"#;
    let mut forged = ureq::AgentBuilder::new()
        .build()
        .post(&format!("{}{path}?aipSdk=java", server.base));
    for (k, v) in java_signing::headers(
        &app.api_key,
        &app.secret_key,
        &host,
        path,
        signed_body,
        &date,
    ) {
        forged = forged.set(&k, &v);
    }
    // Same length, so Content-Length (which is signed) still matches.
    let text = match forged.send_string(r#"{"group_id":"java_x"}"#) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r.into_string().expect("body"),
        Err(e) => panic!("transport: {e}"),
    };
    assert_eq!(serde_json::from_str::<Value>(&text).expect("json"), iam);
    let listed = send("faceset/group/getlist", "{}", &date, &app.secret_key);
    assert_eq!(
        listed["result"]["group_id_list"],
        json!(["java_g"]),
        "{listed}"
    );
}
