//! Request bodies and typed parameters.
//!
//! The body format is sniffed, not taken from Content-Type: the Node and Java SDKs send JSON
//! labelled as form data. Parameter values may be JSON strings or numbers (`"2"` and `2`), and
//! each parameter has its own Baidu error code when it is malformed.

use faced_errors::ErrorCode;
use serde_json::{Map, Value};

/// A parsed request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A JSON object or a form: named parameters.
    Object(Params),
    /// A JSON array of objects (match, faceverify).
    Array(Vec<Params>),
}

/// Sniffs and parses a body: `{`/`[` → JSON (broken JSON → 222200), empty → no parameters,
/// anything else → `application/x-www-form-urlencoded` (222200 when it is not that either).
pub fn parse_body(bytes: &[u8]) -> Result<Body, ErrorCode> {
    let text = std::str::from_utf8(bytes).map_err(|_| ErrorCode::RequestBodyNotJson)?;
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    match trimmed.chars().next() {
        None => Ok(Body::Object(Params::default())),
        Some('{') | Some('[') => match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(map)) => Ok(Body::Object(Params(map))),
            Ok(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(map) => Ok(Params(map)),
                    _ => Err(ErrorCode::RequestBodyNotJson),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Body::Array),
            _ => Err(ErrorCode::RequestBodyNotJson),
        },
        Some(_) => {
            if !trimmed.contains('=') {
                return Err(ErrorCode::RequestBodyNotJson);
            }
            let map = form_urlencoded::parse(trimmed.trim_end().as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            Ok(Body::Object(Params(map)))
        }
    }
}

/// Named parameters of one request (or of one element of an array body).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// The value as text: strings as they are, numbers and booleans written out; `None` when
    /// absent or null.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// A required parameter: `222001` when absent or empty.
    pub fn required(&self, key: &str) -> Result<String, ErrorCode> {
        self.text(key)
            .filter(|s| !s.trim().is_empty())
            .ok_or(ErrorCode::ParamIsNull)
    }

    /// An optional parameter; empty counts as absent.
    pub fn optional(&self, key: &str) -> Option<String> {
        self.text(key).filter(|s| !s.trim().is_empty())
    }

    /// An optional unsigned integer within `range`, given as a number or a numeric string;
    /// `bad` when it is anything else.
    pub fn uint(
        &self,
        key: &str,
        default: u32,
        range: std::ops::RangeInclusive<u32>,
        bad: ErrorCode,
    ) -> Result<u32, ErrorCode> {
        let Some(raw) = self.optional(key) else {
            return Ok(default);
        };
        let value: f64 = raw.trim().parse().map_err(|_| bad)?;
        if value.fract() != 0.0 || value < 0.0 || value > f64::from(u32::MAX) {
            return Err(bad);
        }
        let value = value as u32;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(bad)
        }
    }

    /// An optional choice among fixed spellings; `bad` for anything else.
    pub fn choice<T: Copy>(
        &self,
        key: &str,
        default: T,
        choices: &[(&str, T)],
        bad: ErrorCode,
    ) -> Result<T, ErrorCode> {
        match self.optional(key) {
            None => Ok(default),
            Some(raw) => choices
                .iter()
                .find(|(name, _)| *name == raw.trim())
                .map(|(_, v)| *v)
                .ok_or(bad),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_json_whatever_the_content_type() {
        let Ok(Body::Object(p)) = parse_body(br#" {"max_face_num":"2","n":3}"#) else {
            panic!("object")
        };
        assert_eq!(
            p.uint(
                "max_face_num",
                1,
                1..=10,
                ErrorCode::ParamMaxFaceNumFormatError
            ),
            Ok(2)
        );
        assert_eq!(
            p.uint("n", 1, 1..=10, ErrorCode::ParamMaxFaceNumFormatError),
            Ok(3)
        );
        assert!(matches!(parse_body(b"[{\"a\":1},{\"b\":2}]"), Ok(Body::Array(v)) if v.len() == 2));
        assert_eq!(parse_body(b"{broken"), Err(ErrorCode::RequestBodyNotJson));
        assert_eq!(parse_body(b"[1,2]"), Err(ErrorCode::RequestBodyNotJson));
        assert_eq!(parse_body(b"just text"), Err(ErrorCode::RequestBodyNotJson));
    }

    #[test]
    fn parses_forms_and_empty_bodies() {
        let Ok(Body::Object(p)) = parse_body(b"group_id=g1&user_info=a%20b") else {
            panic!("form")
        };
        assert_eq!(p.text("group_id").as_deref(), Some("g1"));
        assert_eq!(p.text("user_info").as_deref(), Some("a b"));
        assert_eq!(parse_body(b""), Ok(Body::Object(Params::default())));
    }

    #[test]
    fn numbers_are_checked_by_their_own_code() {
        let Ok(Body::Object(p)) = parse_body(br#"{"a":"x","b":0,"c":2.5,"d":"","e":null}"#) else {
            panic!()
        };
        let bad = ErrorCode::ParamMaxUserNumFormatError;
        assert_eq!(p.uint("a", 1, 1..=50, bad), Err(bad));
        assert_eq!(p.uint("b", 1, 1..=50, bad), Err(bad));
        assert_eq!(p.uint("c", 1, 1..=50, bad), Err(bad));
        assert_eq!(p.uint("d", 7, 1..=50, bad), Ok(7));
        assert_eq!(p.uint("e", 7, 1..=50, bad), Ok(7));
        assert_eq!(p.required("d"), Err(ErrorCode::ParamIsNull));
    }
}
