//! The use-cases of faced with Baidu's semantics: detect, match, search, enrol, groups, and
//! OAuth-style credentials.
//!
//! This layer sits between the wire (which parses requests and writes envelopes) and the two
//! halves below it: the [`faced_engine`] (pixels → faces) and the [`faced_library`] (stored
//! faces and apps). It owns the Baidu rules that are not about the wire format: limits
//! ([`limits`]), the control levels and their thresholds ([`controls`]), the attributes in
//! Baidu's shapes ([`attributes`]), the score scale
//! ([`score`]), which face of a photo counts, face_tokens, and which error code each failure
//! is. Every fallible call returns a [`faced_errors::ErrorCode`], so the wire only has to
//! write it out.

pub mod attributes;
pub mod auth;
pub mod controls;
pub mod image_input;
pub mod limits;
pub mod pool;
pub mod quota;
pub mod score;
pub mod url_fetch;

mod faces;
mod library_ops;
mod service;

pub use faced_engine::detect::FaceOrder;
pub use faced_library::AddMode;
pub use faces::{
    AddUserRequest, AddUserResult, Angle, DetectRequest, DetectResult, FaceFields, FaceJson,
    Location, MatchImage, MatchResult, MultiSearchFace, MultiSearchRequest, MultiSearchResult,
    SearchRequest, SearchResult, TokenOnly, UserMatch, XY,
};
pub use library_ops::{FaceEntry, FaceList, GroupList, UserIdList, UserInGroup, UserList};
pub use service::{unix_now, unix_now_millis, FaceService, ServiceConfig};
