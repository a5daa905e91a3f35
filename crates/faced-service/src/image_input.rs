//! Turning Baidu's `image` + `image_type` into bytes or a stored face.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use faced_errors::ErrorCode;

use crate::limits::{is_valid_face_token, MAX_BASE64_BYTES};

/// The three ways a client hands over an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    /// The file, base64-encoded.
    Base64,
    /// A URL the server downloads.
    Url,
    /// A face_token returned earlier.
    FaceToken,
}

impl ImageType {
    /// Parses the exact spellings Baidu accepts.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "BASE64" => Some(Self::Base64),
            "URL" => Some(Self::Url),
            "FACE_TOKEN" => Some(Self::FaceToken),
            _ => None,
        }
    }
}

/// An image as the client sent it, before any work.
#[derive(Debug, Clone)]
pub struct ImageRef {
    /// The `image` parameter.
    pub data: String,
    /// The `image_type` parameter.
    pub kind: ImageType,
}

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a BASE64 image, tolerating a `data:…;base64,` prefix, whitespace, missing padding
/// and the URL-safe alphabet; `222013` when empty, too long or not base64.
pub fn decode_base64_image(text: &str) -> Result<Vec<u8>, ErrorCode> {
    let body = match text.find(";base64,") {
        Some(i) if text.starts_with("data:") => &text[i + ";base64,".len()..],
        _ => text,
    };
    if body.len() > MAX_BASE64_BYTES {
        return Err(ErrorCode::ParamImageFormatError);
    }
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(ErrorCode::ParamImageFormatError);
    }
    let engine = if compact.contains(['-', '_']) {
        &LENIENT_URL_SAFE
    } else {
        &LENIENT
    };
    engine
        .decode(compact.as_bytes())
        .map_err(|_| ErrorCode::ParamImageFormatError)
}

/// Checks a FACE_TOKEN image's syntax (`222025` otherwise, as for a face_token parameter).
pub fn check_face_token(token: &str) -> Result<&str, ErrorCode> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ErrorCode::ParamImageFormatError);
    }
    if !is_valid_face_token(token) {
        return Err(ErrorCode::ParamFaceTokenFormatError);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_base64() {
        let plain = base64::engine::general_purpose::STANDARD.encode(b"\xff\xd8\xffhello world!");
        assert_eq!(
            decode_base64_image(&plain).ok(),
            Some(b"\xff\xd8\xffhello world!".to_vec())
        );
        let with_prefix = format!("data:image/jpeg;base64,{plain}");
        assert!(decode_base64_image(&with_prefix).is_ok());
        let wrapped: String = plain
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 4 == 3 { vec![c, '\n'] } else { vec![c] })
            .collect();
        assert!(decode_base64_image(&wrapped).is_ok());
        assert!(decode_base64_image(plain.trim_end_matches('=')).is_ok());
        assert_eq!(
            decode_base64_image(""),
            Err(ErrorCode::ParamImageFormatError)
        );
        assert_eq!(
            decode_base64_image("%%%not base64%%%"),
            Err(ErrorCode::ParamImageFormatError)
        );
        assert_eq!(
            decode_base64_image(&"A".repeat(MAX_BASE64_BYTES + 4)),
            Err(ErrorCode::ParamImageFormatError)
        );
    }
}
