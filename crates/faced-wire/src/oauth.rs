//! `GET|POST /oauth/2.0/token`: client-credentials tokens the way Baidu issues them.
//!
//! Parameters are read from the query, a form body or a JSON body (query first). Errors use
//! OAuth's `{"error","error_description"}` body: 401 for bad client credentials, 400 otherwise
//! (every SDK reads the body whatever the status; Java then falls back to signing).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use faced_service::auth::OAuthError;
use serde_json::json;

use crate::envelope::json_response;
use crate::params::{parse_body, Body, Params};
use crate::AppState;

/// The token endpoint.
pub async fn token(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let query_params: Vec<(String, String)> = query
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let body_params = match parse_body(&body) {
        Ok(Body::Object(params)) => params,
        _ => Params::default(),
    };
    let get = |key: &str| {
        query_params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .or_else(|| body_params.text(key))
            .filter(|v| !v.is_empty())
    };
    let grant = state
        .service
        .issue_token(get("grant_type"), get("client_id"), get("client_secret"))
        .await;
    match grant {
        Ok(grant) => json_response(
            StatusCode::OK,
            &serde_json::to_value(grant).unwrap_or_default(),
        ),
        Err(error) => {
            let status = match error {
                OAuthError::UnknownClient | OAuthError::WrongSecret => StatusCode::UNAUTHORIZED,
                OAuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            json_response(
                status,
                &json!({"error": error.error(), "error_description": error.description()}),
            )
        }
    }
}
