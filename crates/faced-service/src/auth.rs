//! Baidu-style credentials: OAuth client-credentials tokens and per-app API permissions.

use faced_errors::ErrorCode;
use faced_library::{AppInfo, SecretCheck, TokenStatus};
use rand::Rng;
use serde::Serialize;

use crate::limits::ACCESS_TOKEN_SECS;
use crate::service::{unix_now, FaceService};

/// The scopes granted to every token; SDKs only use the token when `brain_all_scope` is there.
pub const TOKEN_SCOPE: &str = "public brain_all_scope vis-faceverify_faceverify vis-faceattribute_faceattribute vis-faceverify_faceverify_v2 vis-faceverify_faceverify_match_v2 vis-faceverify_vis-faceverify-detect wise_adapt lebo_resource_base lightservice_public hetu_basic";

/// A successful token grant, keys in Baidu's order.
#[derive(Debug, Clone, Serialize)]
pub struct TokenGrant {
    /// Not usable for anything; present because clients may expect it.
    pub refresh_token: String,
    /// Seconds of validity (30 days).
    pub expires_in: i64,
    /// Opaque, unused by SDKs.
    pub session_key: String,
    /// The token to pass as `access_token`.
    pub access_token: String,
    /// Space-separated scopes.
    pub scope: &'static str,
    /// Opaque, unused by SDKs.
    pub session_secret: String,
}

/// OAuth failures, answered as `{"error", "error_description"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    /// A required parameter is missing.
    MissingParameter,
    /// `grant_type` is not `client_credentials`.
    UnsupportedGrantType,
    /// No app has this API Key.
    UnknownClient,
    /// The Secret Key is wrong.
    WrongSecret,
    /// The store failed (reported as a server error).
    Internal,
}

impl OAuthError {
    /// The `error` member.
    pub fn error(self) -> &'static str {
        match self {
            Self::MissingParameter => "invalid_request",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnknownClient | Self::WrongSecret => "invalid_client",
            Self::Internal => "server_error",
        }
    }

    /// The `error_description` member.
    pub fn description(self) -> &'static str {
        match self {
            Self::MissingParameter => "The request is missing a required parameter",
            Self::UnsupportedGrantType => "The authorization grant type is not supported",
            Self::UnknownClient => "unknown client id",
            Self::WrongSecret => "Client authentication failed",
            Self::Internal => "The authorization server encountered an unexpected condition",
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

impl FaceService {
    /// `/oauth/2.0/token` with `grant_type=client_credentials`.
    pub async fn issue_token(
        &self,
        grant_type: Option<String>,
        client_id: Option<String>,
        client_secret: Option<String>,
    ) -> Result<TokenGrant, OAuthError> {
        let (Some(grant_type), Some(client_id), Some(client_secret)) =
            (grant_type, client_id, client_secret)
        else {
            return Err(OAuthError::MissingParameter);
        };
        if grant_type != "client_credentials" {
            return Err(OAuthError::UnsupportedGrantType);
        }
        let check = self
            .store(move |lib| lib.verify_secret(&client_id, &client_secret))
            .await;
        let app = match check {
            Ok(SecretCheck::Valid(app)) => app,
            Ok(SecretCheck::UnknownClient) => return Err(OAuthError::UnknownClient),
            Ok(SecretCheck::WrongSecret) => return Err(OAuthError::WrongSecret),
            Err(_) => return Err(OAuthError::Internal),
        };
        let now = unix_now();
        let expires_at = now + ACCESS_TOKEN_SECS;
        let access_token = format!(
            "24.{}.{ACCESS_TOKEN_SECS}.{expires_at}.282335-{}",
            random_hex(16),
            app.app_id
        );
        let stored = access_token.clone();
        let app_id = app.app_id.clone();
        self.store(move |lib| lib.store_token(&app_id, &stored, expires_at))
            .await
            .map_err(|_| OAuthError::Internal)?;
        let ten_years = 315_360_000;
        Ok(TokenGrant {
            refresh_token: format!(
                "25.{}.{ten_years}.{}.282335-{}",
                random_hex(16),
                now + ten_years,
                app.app_id
            ),
            expires_in: ACCESS_TOKEN_SECS,
            session_key: random_hex(24),
            access_token,
            scope: TOKEN_SCOPE,
            session_secret: random_hex(16),
        })
    }

    /// The app of an API Key and its Secret Key, for checking a `bce-auth-v1` signature.
    pub async fn signing_secret(
        &self,
        api_key: &str,
    ) -> Result<Option<(AppInfo, String)>, ErrorCode> {
        let key = api_key.to_string();
        self.store(move |lib| lib.signing_secret(&key)).await
    }

    /// The app an `access_token` belongs to: 110 unknown, 111 expired.
    pub async fn authenticate(&self, token: &str) -> Result<AppInfo, ErrorCode> {
        let token = token.to_string();
        let now = unix_now();
        match self
            .store(move |lib| lib.resolve_token(&token, now))
            .await?
        {
            TokenStatus::Valid(app) => Ok(app),
            TokenStatus::Expired => Err(ErrorCode::AccessTokenExpired),
            TokenStatus::Unknown => Err(ErrorCode::AccessTokenInvalid),
        }
    }
}

/// Whether `app` may call `api` (the endpoint's path after `/face/v3/`); 6 when not.
pub fn check_permission(app: &AppInfo, api: &str) -> Result<(), ErrorCode> {
    match &app.permissions {
        None => Ok(()),
        Some(allowed) if allowed.iter().any(|a| a == api) => Ok(()),
        Some(_) => Err(ErrorCode::NoPermissionToAccessData),
    }
}
