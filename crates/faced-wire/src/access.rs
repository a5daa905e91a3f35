//! Who is calling: the `access_token` query parameter, checked against the library.

use faced_errors::ErrorCode;
use faced_library::AppInfo;
use faced_service::auth::check_permission;

use crate::AppState;

/// The `access_token` of a query string, cut at the first `?`: the Node SDK appends
/// `?aipSdk=node` after the token, so the parsed value is `T?aipSdk=node`.
pub fn access_token(query: Option<&str>) -> Option<String> {
    let query = query?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.split('?').next().unwrap_or_default().trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Authenticates the caller and checks its permission for `api`:
/// 100 without a token, 110 unknown, 111 expired, 6 outside the app's permissions.
pub async fn authorise(
    state: &AppState,
    query: Option<&str>,
    api: &str,
) -> Result<AppInfo, ErrorCode> {
    let token = access_token(query).ok_or(ErrorCode::AccessTokenMissing)?;
    let app = state.service.authenticate(&token).await?;
    check_permission(&app, api)?;
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
