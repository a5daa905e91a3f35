//! Call quotas per app and API: calls per second, per day and in total, and the usage
//! counters they are checked against (Baidu's `18`, `17` and `19`).
//!
//! # Limits
//!
//! Limits are operator settings and live beside the apps in `faced.db` (table `quotas`): one
//! row per app and scope, where the scope is an API name (`detect`, `faceset/user/add`, …) or
//! [`EVERY_API`], the app's default. Each API is limited on its own, as Baidu limits each
//! interface: a default of 10 QPS lets the app call `detect` 10 times and `search` 10 times
//! in the same second. Field by field, an API's own limit overrides the default; a field left
//! unset on the API inherits the default, and unset on the default means unlimited.
//!
//! # Counters
//!
//! Every admitted call is counted once, whether or not a limit applies, so that a limit set
//! later sees the day's real usage and the operator can read usage per API. The daily and
//! total counters are persistent and live in their own small database, `usage.db`, written
//! with `synchronous=NORMAL`: a commit reaches the operating system before the call is
//! admitted, so a killed server loses no count, while no call waits for a disk flush (only a
//! power loss can lose the last moments of counts). Keeping them out of `faced.db` means a
//! count never queues behind an enrolment's fsync. The day a daily counter belongs to is
//! chosen by the caller (the local date in the operator's zone), so the counter resets at
//! the first call of a new day. The per-second window is kept in memory only: it is over a
//! second after any restart.
//!
//! Admission is serialised by one mutex around the usage connection, so two racing calls can
//! never both take the last unit of a quota.

use std::collections::HashMap;
use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{is_foreign_key_violation, LibraryError};
use crate::Library;

/// The scope name of an app's default limits, which apply to each API separately.
pub const EVERY_API: &str = "*";

/// The usage database's file name inside the library directory.
pub const USAGE_FILE_NAME: &str = "usage.db";

/// One scope's limits; `None` is "no limit of its own".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaLimits {
    /// Calls admitted per wall-clock second.
    pub qps: Option<u64>,
    /// Calls admitted per day (the caller's day).
    pub daily: Option<u64>,
    /// Calls admitted ever.
    pub total: Option<u64>,
}

impl QuotaLimits {
    /// These limits with every unset field taken from `defaults`.
    fn or(self, defaults: QuotaLimits) -> QuotaLimits {
        QuotaLimits {
            qps: self.qps.or(defaults.qps),
            daily: self.daily.or(defaults.daily),
            total: self.total.or(defaults.total),
        }
    }

    fn is_empty(&self) -> bool {
        self.qps.is_none() && self.daily.is_none() && self.total.is_none()
    }
}

/// A change to one scope's limits: for each field, `None` keeps it, `Some(None)` unsets it and
/// `Some(Some(n))` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaChange {
    /// The new calls-per-second limit.
    pub qps: Option<Option<u64>>,
    /// The new daily limit.
    pub daily: Option<Option<u64>>,
    /// The new total limit.
    pub total: Option<Option<u64>>,
}

/// The limits set on one scope of an app, as the operator CLI shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaEntry {
    /// An API name, or [`EVERY_API`].
    pub api: String,
    /// Its limits.
    #[serde(flatten)]
    pub limits: QuotaLimits,
}

/// How much one API of an app has been called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    /// The API name.
    pub api: String,
    /// Calls admitted on the day asked about (0 when the last call was on another day).
    pub today: u64,
    /// Calls admitted ever.
    pub total: u64,
}

/// Which quota refused a call; each has its own Baidu code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    /// The calls-per-second limit (`18`).
    Qps,
    /// The daily limit (`17`).
    Daily,
    /// The total limit (`19`).
    Total,
}

/// The usage counters and the in-memory per-second windows.
pub(crate) struct Meter {
    state: Mutex<MeterState>,
}

struct MeterState {
    conn: Connection,
    /// (app, api) → (the second of the window, calls admitted in it).
    windows: HashMap<(String, String), (i64, u64)>,
}

impl Meter {
    /// Opens (creating if needed) `usage.db` in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Meter, LibraryError> {
        let conn = Connection::open(dir.join(USAGE_FILE_NAME))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LibraryError::Corrupt(format!(
                "SQLite refused WAL journal mode for {USAGE_FILE_NAME} (got {mode:?})"
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS usage (
                app_id TEXT    NOT NULL,
                api    TEXT    NOT NULL,
                -- the day `daily` counts, as the caller names days (e.g. 2026-12-03)
                day    TEXT    NOT NULL,
                daily  INTEGER NOT NULL,
                total  INTEGER NOT NULL,
                PRIMARY KEY (app_id, api)
            ) STRICT, WITHOUT ROWID;",
        )?;
        Ok(Meter {
            state: Mutex::new(MeterState {
                conn,
                windows: HashMap::new(),
            }),
        })
    }

    /// Checks the limits of (app, api) and counts the call if it is admitted.
    fn admit(
        &self,
        app_id: &str,
        api: &str,
        limits: QuotaLimits,
        day: &str,
        now_secs: i64,
    ) -> Result<(), LibraryError> {
        let mut state = self.state.lock();
        let (daily, total) = counts(&state.conn, app_id, api, day)?;
        let key = (app_id.to_owned(), api.to_owned());
        let this_second = match state.windows.get(&key) {
            Some(&(second, calls)) if second == now_secs => calls,
            _ => 0,
        };
        let refused = if limits.total.is_some_and(|limit| total >= limit) {
            Some(QuotaKind::Total)
        } else if limits.daily.is_some_and(|limit| daily >= limit) {
            Some(QuotaKind::Daily)
        } else if limits.qps.is_some_and(|limit| this_second >= limit) {
            Some(QuotaKind::Qps)
        } else {
            None
        };
        if let Some(kind) = refused {
            return Err(LibraryError::QuotaExceeded { kind });
        }
        state
            .conn
            .prepare_cached(
                "INSERT INTO usage (app_id, api, day, daily, total) VALUES (?1, ?2, ?3, 1, 1)
                 ON CONFLICT (app_id, api) DO UPDATE SET
                     daily = CASE WHEN day = excluded.day THEN daily + 1 ELSE 1 END,
                     day = excluded.day,
                     total = total + 1",
            )?
            .execute(params![app_id, api, day])?;
        state.windows.insert(key, (now_secs, this_second + 1));
        Ok(())
    }

    fn usage(&self, app_id: &str, day: &str) -> Result<Vec<ApiUsage>, LibraryError> {
        let state = self.state.lock();
        let mut stmt = state
            .conn
            .prepare("SELECT api, day, daily, total FROM usage WHERE app_id = ?1 ORDER BY api")?;
        let rows = stmt.query_map(params![app_id], |row| {
            let counted_day: String = row.get(1)?;
            let daily: i64 = row.get(2)?;
            Ok(ApiUsage {
                api: row.get(0)?,
                today: if counted_day == day {
                    to_count(daily)
                } else {
                    0
                },
                total: to_count(row.get(3)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn forget_app(&self, app_id: &str) -> Result<(), LibraryError> {
        let mut state = self.state.lock();
        state
            .conn
            .execute("DELETE FROM usage WHERE app_id = ?1", params![app_id])?;
        state.windows.retain(|(app, _), _| app != app_id);
        Ok(())
    }
}

/// (calls today, calls ever) of (app, api).
fn counts(
    conn: &Connection,
    app_id: &str,
    api: &str,
    day: &str,
) -> Result<(u64, u64), LibraryError> {
    let found = conn
        .prepare_cached("SELECT day, daily, total FROM usage WHERE app_id = ?1 AND api = ?2")?
        .query_row(params![app_id, api], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    Ok(match found {
        None => (0, 0),
        Some((counted_day, daily, total)) => {
            let daily = if counted_day == day {
                to_count(daily)
            } else {
                0
            };
            (daily, to_count(total))
        }
    })
}

fn to_count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_sql(value: Option<u64>) -> Option<i64> {
    value.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn from_sql(value: Option<i64>) -> Option<u64> {
    value.map(to_count)
}

impl Library {
    /// Admits one call of `api` by `app_id` at `now_secs` (Unix seconds) on `day`, or refuses
    /// it with [`LibraryError::QuotaExceeded`] naming the quota that is spent; an admitted call
    /// is counted exactly once, a refused one not at all.
    pub fn admit_call(
        &self,
        app_id: &str,
        api: &str,
        day: &str,
        now_secs: i64,
    ) -> Result<(), LibraryError> {
        let limits = self.effective_limits(app_id, api)?;
        self.meter.admit(app_id, api, limits, day, now_secs)
    }

    /// The limits that apply to `api` for `app_id`: its own, completed by the app's defaults.
    pub fn effective_limits(&self, app_id: &str, api: &str) -> Result<QuotaLimits, LibraryError> {
        self.readers.with(|conn| {
            let mut own = QuotaLimits::default();
            let mut defaults = QuotaLimits::default();
            let mut stmt = conn.prepare_cached(
                "SELECT api, qps, daily, total FROM quotas WHERE app_id = ?1 AND api IN (?2, ?3)",
            )?;
            let mut rows = stmt.query(params![app_id, api, EVERY_API])?;
            while let Some(row) = rows.next()? {
                let scope: String = row.get(0)?;
                let limits = QuotaLimits {
                    qps: from_sql(row.get(1)?),
                    daily: from_sql(row.get(2)?),
                    total: from_sql(row.get(3)?),
                };
                if scope == api {
                    own = limits;
                } else {
                    defaults = limits;
                }
            }
            Ok(own.or(defaults))
        })
    }

    /// Changes the limits of one scope (an API name or [`EVERY_API`]) of an app, and returns
    /// every scope's limits afterwards.
    pub fn set_quota(
        &self,
        app_id: &str,
        api: &str,
        change: QuotaChange,
    ) -> Result<Vec<QuotaEntry>, LibraryError> {
        {
            let mut conn = self.writer.lock();
            let tx = conn.transaction()?;
            let current = tx
                .query_row(
                    "SELECT qps, daily, total FROM quotas WHERE app_id = ?1 AND api = ?2",
                    params![app_id, api],
                    |row| {
                        Ok(QuotaLimits {
                            qps: from_sql(row.get(0)?),
                            daily: from_sql(row.get(1)?),
                            total: from_sql(row.get(2)?),
                        })
                    },
                )
                .optional()?
                .unwrap_or_default();
            let next = QuotaLimits {
                qps: change.qps.unwrap_or(current.qps),
                daily: change.daily.unwrap_or(current.daily),
                total: change.total.unwrap_or(current.total),
            };
            if next.is_empty() {
                tx.execute(
                    "DELETE FROM quotas WHERE app_id = ?1 AND api = ?2",
                    params![app_id, api],
                )?;
                let known: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM apps WHERE app_id = ?1)",
                    params![app_id],
                    |row| row.get(0),
                )?;
                if !known {
                    return Err(LibraryError::AppNotFound {
                        app_id: app_id.to_owned(),
                    });
                }
            } else {
                tx.execute(
                    "INSERT INTO quotas (app_id, api, qps, daily, total) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (app_id, api) DO UPDATE SET
                         qps = excluded.qps, daily = excluded.daily, total = excluded.total",
                    params![
                        app_id,
                        api,
                        to_sql(next.qps),
                        to_sql(next.daily),
                        to_sql(next.total)
                    ],
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
            }
            tx.commit()?;
        }
        tracing::info!(app_id, api, "changed quota");
        self.quotas(app_id)
    }

    /// Every scope's limits of an app, the default ([`EVERY_API`]) first.
    pub fn quotas(&self, app_id: &str) -> Result<Vec<QuotaEntry>, LibraryError> {
        self.readers.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT api, qps, daily, total FROM quotas WHERE app_id = ?1
                 ORDER BY api <> ?2, api",
            )?;
            let rows = stmt.query_map(params![app_id, EVERY_API], |row| {
                Ok(QuotaEntry {
                    api: row.get(0)?,
                    limits: QuotaLimits {
                        qps: from_sql(row.get(1)?),
                        daily: from_sql(row.get(2)?),
                        total: from_sql(row.get(3)?),
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// How much each API of an app was called, today meaning `day`.
    pub fn usage(&self, app_id: &str, day: &str) -> Result<Vec<ApiUsage>, LibraryError> {
        self.meter.usage(app_id, day)
    }

    /// Drops the usage counters of a deleted app.
    pub(crate) fn forget_usage(&self, app_id: &str) -> Result<(), LibraryError> {
        self.meter.forget_app(app_id)
    }
}
