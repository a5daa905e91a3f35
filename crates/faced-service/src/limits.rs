//! Every numeric limit of the Baidu API that faced enforces, in one place.

use faced_engine::decode::DecodeLimits;

/// Largest request body accepted (Baidu: "whole request < 10 MB").
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// Largest `image` parameter, as base64 text (Baidu: ≤ 2 MB after encoding).
pub const MAX_BASE64_BYTES: usize = 2 * 1024 * 1024;

/// Largest image fetched for `image_type=URL` (the decoded size of a 2 MB base64 string).
pub const MAX_URL_IMAGE_BYTES: usize = MAX_BASE64_BYTES / 4 * 3;

/// Seconds allowed for downloading a URL image, connection included.
pub const URL_FETCH_TIMEOUT_SECS: u64 = 10;

/// Redirects followed for a URL image (each hop is checked like the first).
pub const URL_MAX_REDIRECTS: usize = 3;

/// Image size limit: Baidu documents ≤ 1920×1080; we accept either orientation.
pub const IMAGE_LIMITS: DecodeLimits = DecodeLimits {
    max_long_side: 1920,
    max_short_side: 1080,
    max_alloc: 64 * 1024 * 1024,
};

/// `max_face_num` of detect: 1…120 (current documentation).
pub const DETECT_MAX_FACE_NUM: u32 = 120;

/// `max_face_num` of multi-search: 1…10.
pub const MULTI_SEARCH_MAX_FACE_NUM: u32 = 10;

/// `max_user_num` of search: 1…50.
pub const SEARCH_MAX_USER_NUM: u32 = 50;

/// `max_user_num` of multi-search: 1…20.
pub const MULTI_SEARCH_MAX_USER_NUM: u32 = 20;

/// Groups in one `group_id_list`.
pub const MAX_GROUPS_PER_SEARCH: usize = 10;

/// Longest `group_id` / `user_id`, bytes of `[0-9A-Za-z_]`.
pub const MAX_ID_BYTES: usize = 48;

/// Longest `user_info`, bytes.
pub const MAX_USER_INFO_BYTES: usize = 256;

/// Longest `face_token` accepted as a parameter, bytes of `[0-9A-Za-z_]`.
pub const MAX_FACE_TOKEN_BYTES: usize = 64;

/// Faces one user may hold in one group (enforced by the library).
pub const MAX_FACES_PER_USER: usize = faced_library::MAX_FACES_PER_USER;

/// Default and largest `length` of the paging endpoints.
pub const PAGE_DEFAULT_LENGTH: u32 = 100;
/// Largest `length` of the paging endpoints.
pub const PAGE_MAX_LENGTH: u32 = 1000;

/// Life of a face_token that was never registered, seconds.
pub const TRANSIENT_FACE_TOKEN_SECS: i64 = 3600;

/// Life of an OAuth access token, seconds (Baidu: 30 days).
pub const ACCESS_TOKEN_SECS: i64 = 30 * 24 * 3600;

/// True for a `group_id`/`user_id`: 1…48 bytes of `[0-9A-Za-z_]`.
pub fn is_valid_id(id: &str) -> bool {
    is_word(id, MAX_ID_BYTES)
}

/// True for a face_token parameter: 1…64 bytes of `[0-9A-Za-z_]`.
pub fn is_valid_face_token(token: &str) -> bool {
    is_word(token, MAX_FACE_TOKEN_BYTES)
}

fn is_word(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
