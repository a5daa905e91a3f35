//! Who is calling: the `access_token` query parameter, checked against the library.

use axum::http::{header, HeaderMap, Method, Uri};
use faced_errors::ErrorCode;
use faced_library::AppInfo;
use faced_service::auth::check_permission;
use faced_service::unix_now;

use crate::signature::{canonical_request, parse_authorization, verify};
use crate::AppState;

/// What identifies a request's caller: the query, or the signature over the request.
pub struct Credentials<'a> {
    /// The method (signed).
    pub method: &'a Method,
    /// Path and query as received.
    pub uri: &'a Uri,
    /// Headers as received.
    pub headers: &'a HeaderMap,
}

impl Credentials<'_> {
    /// Whether the caller is identified by a `bce-auth-v1` signature rather than a token.
    pub fn is_signed(&self) -> bool {
        access_token(self.uri.query()).is_none() && self.headers.contains_key(header::AUTHORIZATION)
    }
}

/// The `access_token` of a query string, cut at the first `?`: the Node SDK appends
/// `?aipSdk=node` after the token, so the parsed value is `T?aipSdk=node`.
pub fn access_token(query: Option<&str>) -> Option<String> {
    let query = query?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.split('?').next().unwrap_or_default().trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Authenticates the caller and checks its permission for `api`: an `access_token` (100
/// without one, 110 unknown, 111 expired) or else a `bce-auth-v1` signature (14 when it does
/// not verify); 6 outside the app's permissions.
pub async fn authorise(
    state: &AppState,
    request: &Credentials<'_>,
    api: &str,
) -> Result<AppInfo, ErrorCode> {
    let authorization = request
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let app = match (access_token(request.uri.query()), authorization) {
        (Some(token), _) => state.service.authenticate(&token).await?,
        (None, Some(value)) => signed_caller(state, request, value).await?,
        (None, None) => return Err(ErrorCode::AccessTokenMissing),
    };
    check_permission(&app, api)?;
    Ok(app)
}

async fn signed_caller(
    state: &AppState,
    request: &Credentials<'_>,
    authorization: &str,
) -> Result<AppInfo, ErrorCode> {
    let auth = parse_authorization(authorization).ok_or(ErrorCode::IamCertificationFailed)?;
    let (app, secret) = state
        .service
        .signing_secret(&auth.access_key)
        .await?
        .ok_or(ErrorCode::IamCertificationFailed)?;
    let canonical = canonical_request(
        request.method,
        request.uri,
        request.headers,
        &auth.signed_headers,
    );
    verify(&secret, &auth, &canonical, unix_now())?;
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_cut_at_the_node_sdks_question_mark() {
        assert_eq!(
            access_token(Some("aipSdk=node&access_token=T1?aipSdk=node")).as_deref(),
            Some("T1")
        );
        assert_eq!(
            access_token(Some("access_token=T2&aipSdk=python&aipVersion=4.15.13")).as_deref(),
            Some("T2")
        );
        assert_eq!(access_token(Some("aipSdk=java")), None);
        assert_eq!(access_token(Some("access_token=")), None);
        assert_eq!(access_token(None), None);
    }
}
