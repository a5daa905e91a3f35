//! The HTTP wire of faced: Baidu Face API v3 as the SDKs speak it.
//!
//! Everything about bytes on the wire lives here and nowhere else: routes, the OAuth token
//! endpoint, access-token checks (with the Node SDK's `?` quirk), body sniffing (JSON or form,
//! whatever the Content-Type claims), typed parameters with the exact Baidu error code per
//! parameter, and the response envelope with its key order, integer formatting, `log_id` and
//! HTTP 200 for every answer. The handlers are thin: they parse, call the
//! [`faced_service::FaceService`], and write the envelope.

mod access;
mod endpoints;
mod envelope;
mod oauth;
mod params;
mod signature;

use axum::routing::{any, post};
use axum::Router;
use faced_service::FaceService;

pub use endpoints::API_NAMES;
pub use envelope::LogIds;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The use-cases.
    pub service: FaceService,
    /// The `log_id` source.
    pub log_ids: LogIds,
}

/// The complete router: face endpoints, OAuth, and Baidu's error 3 for anything else.
pub fn router(service: FaceService) -> Router {
    let state = AppState {
        service,
        log_ids: LogIds::new(),
    };
    Router::new()
        .route("/oauth/2.0/token", any(oauth::token))
        .route("/rest/2.0/face/v3/{*api}", post(endpoints::face_v3))
        .fallback(endpoints::unknown_path)
        .with_state(state)
}
