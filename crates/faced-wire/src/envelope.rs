//! Baidu's response envelope.
//!
//! `{"error_code":0,"error_msg":"SUCCESS","log_id":…,"timestamp":…,"cached":0,"result":…}` in
//! that key order; gateway errors (auth, quota, overload) carry only `error_code` and
//! `error_msg`. Numbers are written as Baidu does: whole values without a decimal point, others
//! rounded to 2 decimals. The HTTP status is always 200.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use faced_errors::ErrorCode;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Unique, increasing `log_id`s: milliseconds since the epoch in the high bits and a counter in
/// the low 16, so ids stay unique across restarts and never collide within a process.
#[derive(Clone)]
pub struct LogIds(Arc<AtomicU64>);

impl LogIds {
    /// A source starting at the current time.
    pub fn new() -> Self {
        Self(Arc::new(AtomicU64::new(0)))
    }

    /// The next id.
    pub fn next(&self) -> u64 {
        let floor = (faced_service::unix_now_millis() as u64) << 16;
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let next = floor.max(current + 1);
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(actual) => current = actual,
            }
        }
    }
}

impl Default for LogIds {
    fn default() -> Self {
        Self::new()
    }
}

/// What a request is answered with, before it is written.
pub struct Envelope {
    body: Value,
}

impl Envelope {
    /// A success carrying `result` (`null` for endpoints without a payload).
    pub fn success(log_id: u64, timestamp: i64, result: impl Serialize) -> Self {
        let mut result = serde_json::to_value(result).unwrap_or(Value::Null);
        baidu_numbers(&mut result);
        Self::full(0, "SUCCESS", log_id, timestamp, result)
    }

    /// An error in the shape its code calls for.
    pub fn error(code: ErrorCode, log_id: u64, timestamp: i64) -> Self {
        if code.is_gateway() {
            Self {
                body: json!({"error_code": code.code(), "error_msg": code.message()}),
            }
        } else {
            Self::full(code.code(), code.message(), log_id, timestamp, Value::Null)
        }
    }

    fn full(code: u32, msg: &str, log_id: u64, timestamp: i64, result: Value) -> Self {
        let mut body = Map::new();
        body.insert("error_code".into(), json!(code));
        body.insert("error_msg".into(), json!(msg));
        body.insert("log_id".into(), json!(log_id));
        body.insert("timestamp".into(), json!(timestamp));
        body.insert("cached".into(), json!(0));
        body.insert("result".into(), result);
        Self {
            body: Value::Object(body),
        }
    }

    /// The JSON body.
    #[cfg(test)]
    pub fn body(&self) -> &Value {
        &self.body
    }
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, &self.body)
    }
}

/// A JSON response with Baidu's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

/// Rewrites every float as Baidu writes it: whole → integer, otherwise 2 decimals.
pub fn baidu_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                let rounded = (f * 100.0).round() / 100.0;
                *value = if rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
                    json!(rounded as i64)
                } else {
                    json!(rounded)
                };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(baidu_numbers),
        Value::Object(map) => map.values_mut().for_each(baidu_numbers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_keeps_key_order_and_integer_formatting() {
        let e = Envelope::success(
            7,
            1700000000,
            json!({"score": 88.4671, "width": 321.0, "p": 1.0, "neg": -0.004}),
        );
        assert_eq!(
            e.body().to_string(),
            r#"{"error_code":0,"error_msg":"SUCCESS","log_id":7,"timestamp":1700000000,"cached":0,"result":{"score":88.47,"width":321,"p":1,"neg":0}}"#
        );
    }

    #[test]
    fn gateway_errors_have_two_keys_and_others_the_full_envelope() {
        let e = Envelope::error(ErrorCode::AccessTokenInvalid, 1, 2);
        assert_eq!(
            e.body().to_string(),
            r#"{"error_code":110,"error_msg":"Access token invalid or no longer valid"}"#
        );
        let e = Envelope::error(ErrorCode::PicNotHasFace, 1, 2);
        assert_eq!(
            e.body().to_string(),
            r#"{"error_code":222202,"error_msg":"pic not has face","log_id":1,"timestamp":2,"cached":0,"result":null}"#
        );
    }

    #[test]
    fn log_ids_are_unique_and_increasing() {
        let ids = LogIds::new();
        let mut last = 0;
        for _ in 0..10_000 {
            let id = ids.next();
            assert!(id > last);
            last = id;
        }
    }
}
