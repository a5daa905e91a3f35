//! Apps, their credentials and permissions, and OAuth access tokens.
//!
//! An app is what a Baidu console "application" is: an AppID that owns one
//! face library, an API Key that names it on the token endpoint, and a Secret
//! Key that proves it. Secrets and tokens are bearer credentials, so only
//! their SHA-256 digests are stored: a leaked database file does not leak a
//! usable credential. The secrets are generated here with the operating
//! system's CSPRNG (via `rand::rng()`), 24/32 alphanumeric characters like
//! Baidu's, so their entropy makes an unsalted digest safe.

use rand::distr::Alphanumeric;
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::unix_now;
use crate::error::{is_foreign_key_violation, is_unique_violation, LibraryError};
use crate::Library;

/// How long an expired token is kept so that it can still be recognised as
/// *expired* (Baidu `111`) rather than *unknown* (`110`): 30 days.
pub const EXPIRED_TOKEN_RETENTION_SECS: i64 = 30 * 24 * 3600;

/// Length of a generated API Key (Baidu's are 24 characters).
const API_KEY_LEN: usize = 24;
/// Length of a generated Secret Key (Baidu's are 32 characters).
const SECRET_KEY_LEN: usize = 32;
/// How many times `create_app` redraws random ids on a collision before
/// giving up (a collision at all is already unlikely).
const CREATE_APP_ATTEMPTS: usize = 16;

/// The credentials of a newly created app. The Secret Key is only ever
/// available here, at creation: the library keeps just its digest.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAppCredentials {
    /// The AppID: 8 decimal digits, the app's library and the suffix of its
    /// access tokens.
    pub app_id: String,
    /// The API Key (`client_id` on the token endpoint).
    pub api_key: String,
    /// The Secret Key (`client_secret` on the token endpoint).
    pub secret_key: String,
}

impl std::fmt::Debug for NewAppCredentials {
    /// Redacts the secret so credentials never end up in logs by accident.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAppCredentials")
            .field("app_id", &self.app_id)
            .field("api_key", &self.api_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// What the server may know about an app at request time; never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// The AppID.
    pub app_id: String,
    /// A human-readable name chosen by the operator.
    pub name: String,
    /// The API Key.
    pub api_key: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// The APIs the app may call: `None` means all of them, `Some` lists the
    /// allowed API names (an empty list allows nothing).
    pub permissions: Option<Vec<String>>,
}

/// The outcome of checking an API Key / Secret Key pair; the token endpoint
/// answers each case with a different OAuth error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretCheck {
    /// No app has this API Key (`invalid_client` / `unknown client id`).
    UnknownClient,
    /// The API Key exists but the secret is wrong
    /// (`invalid_client` / `Client authentication failed`).
    WrongSecret,
    /// The pair is right; here is the app.
    Valid(AppInfo),
}

/// The outcome of resolving an access token; Baidu tells an expired token
/// (`111`) apart from an invalid one (`110`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStatus {
    /// The token is known and not expired; it belongs to this app.
    Valid(AppInfo),
    /// The token was issued but has expired.
    Expired,
    /// The token was never issued (or expired so long ago it was purged, or
    /// its app was deleted).
    Unknown,
}

/// SHA-256 digest, hex-encoded, as stored for secrets and tokens.
fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Compares two byte strings in time independent of where they differ, so a
/// timing side channel cannot reveal how much of a digest matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn random_app_id() -> String {
    rand::rng()
        .random_range(10_000_000u32..100_000_000)
        .to_string()
}

/// Columns of `apps` read into [`AppInfo`], in [`app_from_row`] order.
const APP_COLUMNS: &str = "app_id, name, api_key, created_at, permissions";

fn app_from_row(row: &Row<'_>) -> rusqlite::Result<AppInfo> {
    let permissions: Option<String> = row.get(4)?;
    Ok(AppInfo {
        app_id: row.get(0)?,
        name: row.get(1)?,
        api_key: row.get(2)?,
        created_at: row.get(3)?,
        permissions: permissions.map(|list| decode_permissions(&list)),
    })
}

fn encode_permissions(apis: &[String]) -> String {
    apis.iter()
        .map(|api| api.trim())
        .filter(|api| !api.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_permissions(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|api| !api.is_empty())
        .map(str::to_owned)
        .collect()
}

fn app_by_api_key_in(conn: &Connection, api_key: &str) -> Result<Option<AppInfo>, LibraryError> {
    let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE api_key = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![api_key], app_from_row)
        .optional()?)
}

impl Library {
    /// Registers a new app with fresh random credentials and returns them;
    /// this is the only time the Secret Key is visible.
    pub fn create_app(&self, name: &str) -> Result<NewAppCredentials, LibraryError> {
        let conn = self.writer.lock();
        for _ in 0..CREATE_APP_ATTEMPTS {
            let creds = NewAppCredentials {
                app_id: random_app_id(),
                api_key: random_alnum(API_KEY_LEN),
                secret_key: random_alnum(SECRET_KEY_LEN),
            };
            let inserted = conn.execute(
                "INSERT INTO apps (app_id, name, api_key, secret_sha256, secret_sealed, permissions, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
                params![
                    creds.app_id,
                    name,
                    creds.api_key,
                    sha256_hex(&creds.secret_key),
                    self.sealing.seal(&creds.secret_key),
                    unix_now()
                ],
            );
            match inserted {
                Ok(_) => {
                    tracing::info!(app_id = %creds.app_id, name, "created app");
                    return Ok(creds);
                }
                Err(err) if is_unique_violation(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(LibraryError::Corrupt(
            "could not draw an unused app id / API key".to_owned(),
        ))
    }

    /// The app of an API Key with its Secret Key, for verifying `bce-auth-v1` signatures
    /// (which are HMACs keyed by the secret). `None` for an unknown key, or for an app whose
    /// secret was never sealed (created before schema version 3).
    pub fn signing_secret(&self, api_key: &str) -> Result<Option<(AppInfo, String)>, LibraryError> {
        self.readers.with(|conn| {
            let sql = format!("SELECT {APP_COLUMNS}, secret_sealed FROM apps WHERE api_key = ?1");
            let found = conn
                .prepare_cached(&sql)?
                .query_row(params![api_key], |row| {
                    Ok((app_from_row(row)?, row.get::<_, Option<Vec<u8>>>(5)?))
                })
                .optional()?;
            Ok(found.and_then(|(app, sealed)| {
                let secret = self.sealing.open(sealed.as_deref()?)?;
                Some((app, secret))
            }))
        })
    }

    /// Gives an app a new Secret Key and revokes every token issued with the old one
    /// (`faced app rotate-secret`); returns the new secret, shown this once.
    pub fn rotate_secret(&self, app_id: &str) -> Result<String, LibraryError> {
        let secret = random_alnum(SECRET_KEY_LEN);
        let mut conn = self.writer.lock();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE apps SET secret_sha256 = ?2, secret_sealed = ?3 WHERE app_id = ?1",
            params![app_id, sha256_hex(&secret), self.sealing.seal(&secret)],
        )?;
        if changed == 0 {
            return Err(LibraryError::AppNotFound {
                app_id: app_id.to_owned(),
            });
        }
        tx.execute("DELETE FROM tokens WHERE app_id = ?1", params![app_id])?;
        tx.commit()?;
        tracing::info!(app_id, "rotated secret and revoked its tokens");
        Ok(secret)
    }

    /// Revokes one access token (`faced token revoke`); false when it was not known.
    pub fn revoke_token(&self, token: &str) -> Result<bool, LibraryError> {
        let conn = self.writer.lock();
        let deleted = conn.execute(
            "DELETE FROM tokens WHERE token_sha256 = ?1",
            params![sha256_hex(token)],
        )?;
        Ok(deleted > 0)
    }

    /// Deletes an app with its tokens and its whole face library (`faced app delete`).
    pub fn delete_app(&self, app_id: &str) -> Result<(), LibraryError> {
        let conn = self.writer.lock();
        let groups: Vec<String> = conn
            .prepare("SELECT group_id FROM face_groups WHERE app_id = ?1")?
            .query_map(params![app_id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let deleted = conn.execute("DELETE FROM apps WHERE app_id = ?1", params![app_id])?;
        if deleted == 0 {
            return Err(LibraryError::AppNotFound {
                app_id: app_id.to_owned(),
            });
        }
        for group in &groups {
            self.index.remove_group(app_id, group);
        }
        crate::db::scrub(&conn);
        drop(conn);
        self.forget_usage(app_id)?;
        tracing::info!(app_id, groups = groups.len(), "deleted app");
        Ok(())
    }

    /// All apps, oldest first, without secrets (for the admin CLI).
    pub fn list_apps(&self) -> Result<Vec<AppInfo>, LibraryError> {
        self.readers.with(|conn| {
            let sql = format!("SELECT {APP_COLUMNS} FROM apps ORDER BY created_at, app_id");
            let mut stmt = conn.prepare(&sql)?;
            let apps = stmt
                .query_map([], app_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(apps)
        })
    }

    /// The app with this API Key, if any (bce-auth-v1 requests name the app
    /// by its API Key).
    pub fn app_by_api_key(&self, api_key: &str) -> Result<Option<AppInfo>, LibraryError> {
        self.readers.with(|conn| app_by_api_key_in(conn, api_key))
    }

    /// The app with this AppID, if any.
    pub fn app_by_id(&self, app_id: &str) -> Result<Option<AppInfo>, LibraryError> {
        self.readers.with(|conn| {
            let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE app_id = ?1");
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params![app_id], app_from_row)
                .optional()?)
        })
    }

    /// Checks an API Key / Secret Key pair for the token endpoint. The
    /// digests are compared in constant time.
    pub fn verify_secret(
        &self,
        api_key: &str,
        secret_key: &str,
    ) -> Result<SecretCheck, LibraryError> {
        let found = self.readers.with(|conn| {
            let sql = format!("SELECT {APP_COLUMNS}, secret_sha256 FROM apps WHERE api_key = ?1");
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params![api_key], |row| {
                    Ok((app_from_row(row)?, row.get::<_, String>(5)?))
                })
                .optional()?)
        })?;
        let Some((app, stored_hex)) = found else {
            return Ok(SecretCheck::UnknownClient);
        };
        let offered = Sha256::digest(secret_key.as_bytes());
        let stored = hex::decode(&stored_hex)
            .map_err(|_| LibraryError::Corrupt(format!("secret digest of app {}", app.app_id)))?;
        if constant_time_eq(&offered, &stored) {
            Ok(SecretCheck::Valid(app))
        } else {
            Ok(SecretCheck::WrongSecret)
        }
    }

    /// Restricts the APIs an app may call; `None` allows all of them.
    pub fn set_permissions(
        &self,
        app_id: &str,
        apis: Option<Vec<String>>,
    ) -> Result<(), LibraryError> {
        let encoded = apis.as_deref().map(encode_permissions);
        let conn = self.writer.lock();
        let changed = conn.execute(
            "UPDATE apps SET permissions = ?2 WHERE app_id = ?1",
            params![app_id, encoded],
        )?;
        if changed == 0 {
            return Err(LibraryError::AppNotFound {
                app_id: app_id.to_owned(),
            });
        }
        Ok(())
    }

    /// Records an access token issued to an app, valid until `expires_at`
    /// (Unix seconds). Only the token's digest is stored. Tokens survive
    /// restarts, as SDKs cache them for their whole 30-day life.
    pub fn store_token(
        &self,
        app_id: &str,
        token: &str,
        expires_at: i64,
    ) -> Result<(), LibraryError> {
        let conn = self.writer.lock();
        conn.execute(
            "INSERT OR REPLACE INTO tokens (token_sha256, app_id, expires_at) VALUES (?1, ?2, ?3)",
            params![sha256_hex(token), app_id, expires_at],
        )
        .map_err(|err| {
            if is_foreign_key_violation(&err) {
                LibraryError::AppNotFound {
                    app_id: app_id.to_owned(),
                }
            } else {
                err.into()
            }
        })?;
        Ok(())
    }

    /// Says whether an access token is valid at `now` (Unix seconds), and
    /// for which app. A token is valid while `now < expires_at`.
    pub fn resolve_token(&self, token: &str, now: i64) -> Result<TokenStatus, LibraryError> {
        self.readers.with(|conn| {
            // Same column order as APP_COLUMNS, then the expiry.
            let sql =
                "SELECT a.app_id, a.name, a.api_key, a.created_at, a.permissions, t.expires_at
                       FROM tokens AS t JOIN apps AS a ON a.app_id = t.app_id
                       WHERE t.token_sha256 = ?1";
            let found = conn
                .prepare_cached(sql)?
                .query_row(params![sha256_hex(token)], |row| {
                    Ok((app_from_row(row)?, row.get::<_, i64>(5)?))
                })
                .optional()?;
            Ok(match found {
                None => TokenStatus::Unknown,
                Some((app, expires_at)) if now < expires_at => TokenStatus::Valid(app),
                Some(_) => TokenStatus::Expired,
            })
        })
    }

    /// Deletes tokens that expired more than
    /// [`EXPIRED_TOKEN_RETENTION_SECS`] before `now`; returns how many.
    /// Run it periodically (e.g. daily).
    pub fn purge_expired_tokens(&self, now: i64) -> Result<usize, LibraryError> {
        let conn = self.writer.lock();
        Ok(conn.execute(
            "DELETE FROM tokens WHERE expires_at < ?1",
            params![now.saturating_sub(EXPIRED_TOKEN_RETENTION_SECS)],
        )?)
    }
}
