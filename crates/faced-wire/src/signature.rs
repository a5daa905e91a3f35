//! `bce-auth-v1` request signatures, verified the way Baidu's gateway checks what the SDKs
//! send when they do not use an access token.
//!
//! `Authorization: bce-auth-v1/{AK}/{timestamp}/{expiration}/{signed headers}/{signature}`
//! where signature = HMAC-SHA256(key = hex(HMAC-SHA256(SK, prefix)), canonical request) and
//! the canonical request is `METHOD\nURI\nsorted query\nsorted headers`. The Java SDK sends an
//! empty signed-header list (then a default set is signed) and may date requests 12 hours
//! early (its clock format is 12-hour), so timestamps are accepted within ±12 h plus the
//! stated expiration. Every failure is Baidu's `14 IAM Certification failed`.

use axum::http::{HeaderMap, Method, Uri};
use base64::Engine as _;
use faced_errors::ErrorCode;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Tolerated clock skew (the Java SDK's 12-hour clock).
const SKEW_SECS: i64 = 12 * 3600;

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    /// The API Key.
    pub access_key: String,
    /// `YYYY-MM-DDThh:mm:ssZ` as sent.
    pub timestamp: String,
    /// Seconds the signature is valid for.
    pub expiration: i64,
    /// Lower-case header names that were signed (may be empty).
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

/// Whether a signed request's `Content-MD5`, when it has one, is the digest of the body that
/// arrived. The signature covers the header (the Java SDK signs it by default), so checking
/// it makes the signature cover the body too. The Java SDK writes lowercase hex where the
/// standard says base64; both are accepted.
pub fn body_matches_content_md5(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(value) = headers.get("content-md5") else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let digest = Md5::digest(body);
    let value = value.trim();
    value.eq_ignore_ascii_case(&hex::encode(digest))
        || value == base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Parses `bce-auth-v1/...`; `None` when it is not one.
pub fn parse_authorization(value: &str) -> Option<AuthHeader> {
    let parts: Vec<&str> = value.trim().split('/').collect();
    let [version, access_key, timestamp, expiration, signed, signature] = parts.as_slice() else {
        return None;
    };
    if *version != "bce-auth-v1" || access_key.is_empty() || signature.is_empty() {
        return None;
    }
    Some(AuthHeader {
        access_key: access_key.to_string(),
        timestamp: timestamp.to_string(),
        expiration: expiration.parse().ok()?,
        signed_headers: signed
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
        signature: signature.to_ascii_lowercase(),
    })
}

/// RFC 3986 encoding: unreserved characters kept, everything else `%XX` (upper-case).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The canonical request the client signed.
pub fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed: &[String],
) -> String {
    let path = percent_decode(uri.path());
    let mut query: Vec<String> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| !k.eq_ignore_ascii_case("authorization"))
        .map(|(k, v)| format!("{}={}", uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    query.sort();
    let names: Vec<String> = if signed.is_empty() {
        headers
            .keys()
            .map(|k| k.as_str().to_ascii_lowercase())
            .filter(|k| {
                matches!(
                    k.as_str(),
                    "host" | "content-length" | "content-type" | "content-md5"
                ) || k.starts_with("x-bce-")
            })
            .collect()
    } else {
        signed.to_vec()
    };
    let mut canonical_headers: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let value = headers.get(name.as_str())?.to_str().ok()?.trim();
            (!value.is_empty()).then(|| {
                format!(
                    "{}:{}",
                    uri_encode(name.trim(), false),
                    uri_encode(value, false)
                )
            })
        })
        .collect();
    canonical_headers.sort();
    canonical_headers.dedup();
    format!(
        "{}\n{}\n{}\n{}",
        method.as_str().to_ascii_uppercase(),
        uri_encode(&path, true),
        query.join("&"),
        canonical_headers.join("\n")
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or_default(), 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hmac_hex(key: &[u8], message: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The signature a client holding `secret` computes.
pub fn sign(secret: &str, auth: &AuthHeader, canonical: &str) -> String {
    let prefix = format!(
        "bce-auth-v1/{}/{}/{}",
        auth.access_key, auth.timestamp, auth.expiration
    );
    let signing_key = hmac_hex(secret.as_bytes(), &prefix);
    hmac_hex(signing_key.as_bytes(), canonical)
}

/// Checks the signature and the time window; 14 on any failure.
pub fn verify(secret: &str, auth: &AuthHeader, canonical: &str, now: i64) -> Result<(), ErrorCode> {
    let signed_at = parse_timestamp(&auth.timestamp).ok_or(ErrorCode::IamCertificationFailed)?;
    if signed_at > now + SKEW_SECS || now > signed_at + auth.expiration.max(0) + SKEW_SECS {
        return Err(ErrorCode::IamCertificationFailed);
    }
    let expected = sign(secret, auth, canonical);
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(ErrorCode::IamCertificationFailed)
    }
}

/// `YYYY-MM-DDThh:mm:ssZ` → Unix seconds.
fn parse_timestamp(s: &str) -> Option<i64> {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(s, &format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn parses_headers_including_an_empty_signed_list() {
        let a =
            parse_authorization("bce-auth-v1/AK/2024-05-29T10:00:00Z/1800//abc").expect("parsed");
        assert!(a.signed_headers.is_empty());
        let b = parse_authorization(
            "bce-auth-v1/AK/2024-05-29T10:00:00Z/1800/content-type;host;x-bce-date/ABC",
        )
        .expect("parsed");
        assert_eq!(b.signed_headers, ["content-type", "host", "x-bce-date"]);
        assert_eq!(b.signature, "abc");
        assert!(parse_authorization("Bearer x").is_none());
    }

    #[test]
    fn round_trip_and_window() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(
            "x-bce-date",
            HeaderValue::from_static("2024-05-29T10:00:00Z"),
        );
        let uri: Uri = "/rest/2.0/face/v3/detect?aipSdk=python&aipVersion=4.15.13"
            .parse()
            .expect("uri");
        let mut auth = parse_authorization(
            "bce-auth-v1/AK/2024-05-29T10:00:00Z/1800/content-type;host;x-bce-date/00",
        )
        .expect("p");
        let canonical = canonical_request(&Method::POST, &uri, &headers, &auth.signed_headers);
        assert_eq!(
            canonical,
            "POST\n/rest/2.0/face/v3/detect\naipSdk=python&aipVersion=4.15.13\ncontent-type:application%2Fjson\nhost:127.0.0.1\nx-bce-date:2024-05-29T10%3A00%3A00Z"
        );
        auth.signature = sign("SK", &auth, &canonical);
        let at = parse_timestamp("2024-05-29T10:00:00Z").expect("ts");
        assert_eq!(verify("SK", &auth, &canonical, at + 60), Ok(()));
        assert_eq!(
            verify("SK", &auth, &canonical, at + 11 * 3600),
            Ok(()),
            "Java's 12-hour clock"
        );
        assert_eq!(
            verify("SK", &auth, &canonical, at + 1800 + 13 * 3600),
            Err(ErrorCode::IamCertificationFailed)
        );
        assert_eq!(
            verify("other", &auth, &canonical, at),
            Err(ErrorCode::IamCertificationFailed)
        );
        // An empty signed-header list signs the default set.
        let java = canonical_request(&Method::POST, &uri, &headers, &[]);
        assert!(java.ends_with(
            "content-type:application%2Fjson\nhost:127.0.0.1\nx-bce-date:2024-05-29T10%3A00%3A00Z"
        ));
    }

    #[test]
    fn content_md5_is_checked_in_hex_or_base64() {
        let body = br#"{"group_id":"g"}"#;
        let mut headers = HeaderMap::new();
        assert!(
            body_matches_content_md5(&headers, body),
            "absent: nothing to check"
        );
        let digest = Md5::digest(body);
        headers.insert(
            "content-md5",
            HeaderValue::from_str(&hex::encode(digest)).expect("hex"),
        );
        assert!(body_matches_content_md5(&headers, body));
        assert!(!body_matches_content_md5(&headers, b"{}"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        headers.insert("content-md5", HeaderValue::from_str(&b64).expect("b64"));
        assert!(body_matches_content_md5(&headers, body));
    }
}
