//! The SQLite file: connection settings, the schema and its migrations.
//!
//! The database is the source of truth; the in-memory index is rebuilt from
//! it at start-up. Durability settings are chosen so that a write the library
//! acknowledged survives a crash or power loss: WAL journal with
//! `synchronous=FULL` (each commit fsyncs the WAL). Foreign keys are on, so
//! deleting a group, user or face cascades to its users, faces and crops in
//! the same transaction (the rows are gone, not hidden). A large group is
//! instead marked `deleting` and emptied in batches; see `deletion`.
//!
//! The schema version lives in `PRAGMA user_version`. [`MIGRATIONS`] is an
//! append-only list: entry `i` upgrades a database from version `i` to
//! `i + 1`, inside one transaction together with the version bump, so a
//! crash mid-migration leaves the previous version intact.

use std::path::Path;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, TransactionBehavior};

use crate::error::LibraryError;

/// The database file's name inside the library directory. One file holds
/// everything that matters (apps, tokens, quotas, groups, users, faces, crops,
/// transient tokens), so a backup is one file (plus its `-wal` while the
/// server runs); only the call counters live apart, in `usage.db` (see
/// `quotas`).
pub const DB_FILE_NAME: &str = "faced.db";

/// How long a connection waits for a lock held by another connection before
/// failing with `SQLITE_BUSY`. Only checkpoints and the rare second process
/// (a backup tool) contend, so a few seconds is plenty.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The page size of a new database file. A face row is a little over
/// 2 KiB with a 512-d embedding, so 4 KiB pages (SQLite's default) hold one
/// row each and waste half the file; 16 KiB pages hold seven. An existing
/// file keeps the page size it was created with.
const PAGE_SIZE: i64 = 16 * 1024;

/// How many idle read connections are kept for reuse. Reads (token checks,
/// face_token lookups) are short, so a handful serve any number of threads.
const MAX_IDLE_READERS: usize = 8;

/// Schema migrations, oldest first; see the module documentation.
///
/// Never edit a released entry: databases in the field have already run it.
/// Add a new entry instead.
pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1: the initial schema.
    r#"
    CREATE TABLE apps (
        app_id        TEXT    NOT NULL PRIMARY KEY,
        name          TEXT    NOT NULL,
        api_key       TEXT    NOT NULL UNIQUE,
        secret_sha256 TEXT    NOT NULL,
        -- NULL: every API allowed; otherwise a comma-separated list of API names.
        permissions   TEXT,
        created_at    INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE tokens (
        token_sha256 TEXT    NOT NULL PRIMARY KEY,
        app_id       TEXT    NOT NULL REFERENCES apps (app_id) ON DELETE CASCADE,
        expires_at   INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX tokens_by_app ON tokens (app_id);
    CREATE INDEX tokens_by_expiry ON tokens (expires_at);

    -- `id` is AUTOINCREMENT so ids are never reused: listing by id is
    -- creation order, even after deletions.
    CREATE TABLE face_groups (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id        TEXT    NOT NULL REFERENCES apps (app_id) ON DELETE CASCADE,
        group_id      TEXT    NOT NULL,
        -- Set by the first face; NULL while the group has never held one.
        embedding_dim INTEGER,
        model_id      TEXT,
        created_at    INTEGER NOT NULL,
        UNIQUE (app_id, group_id)
    ) STRICT;

    CREATE TABLE users (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        group_ref  INTEGER NOT NULL REFERENCES face_groups (id) ON DELETE CASCADE,
        user_id    TEXT    NOT NULL,
        user_info  TEXT    NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        UNIQUE (group_ref, user_id),
        -- Target of the composite key in `faces`.
        UNIQUE (id, group_ref)
    ) STRICT;
    CREATE INDEX users_by_user_id ON users (user_id);

    -- `group_ref` duplicates the user's group so that the database itself
    -- enforces "a face_token at most once per group"; the composite foreign
    -- key keeps it equal to the user's group.
    CREATE TABLE faces (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        group_ref  INTEGER NOT NULL REFERENCES face_groups (id) ON DELETE CASCADE,
        user_ref   INTEGER NOT NULL,
        face_token TEXT    NOT NULL,
        model_id   TEXT    NOT NULL,
        -- little-endian f32 values, L2-normalised
        embedding  BLOB    NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (group_ref, face_token),
        FOREIGN KEY (user_ref, group_ref) REFERENCES users (id, group_ref) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX faces_by_user ON faces (user_ref, group_ref);
    CREATE INDEX faces_by_token ON faces (face_token);

    CREATE TABLE face_crops (
        face_ref INTEGER NOT NULL PRIMARY KEY REFERENCES faces (id) ON DELETE CASCADE,
        jpeg     BLOB    NOT NULL
    ) STRICT;

    -- face_tokens handed out by detect/search but not registered: usable as
    -- `image_type=FACE_TOKEN` for one hour.
    CREATE TABLE transient_faces (
        app_id     TEXT    NOT NULL REFERENCES apps (app_id) ON DELETE CASCADE,
        face_token TEXT    NOT NULL,
        model_id   TEXT    NOT NULL,
        embedding  BLOB    NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (app_id, face_token)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX transient_faces_by_expiry ON transient_faces (expires_at);
    "#,
    // Version 2: groups deleted in the background, and paging of a group's
    // users in creation order.
    r#"
    -- 1 while a group's rows are being deleted in batches (`delete_group`);
    -- such a group is invisible to every operation but the deleter.
    ALTER TABLE face_groups ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX face_groups_deleting ON face_groups (id) WHERE deleting = 1;

    -- (group_ref, rowid): a group's users in creation order.
    CREATE INDEX users_by_group ON users (group_ref);
    "#,
    // Version 3: the Secret Key sealed with the install's key file (bce-auth-v1 signatures
    // are keyed by the secret itself); NULL for apps created before, which can use tokens only.
    r#"
    ALTER TABLE apps ADD COLUMN secret_sealed BLOB;
    "#,
    // Version 4: what the engine saw of a face (location, pose, …; JSON, opaque here), so a
    // face_token can stand in for its photo where a result reports the face.
    r#"
    ALTER TABLE faces ADD COLUMN meta TEXT;
    ALTER TABLE transient_faces ADD COLUMN meta TEXT;
    "#,
    // Version 5: call quotas per app and API (see `quotas`); NULL fields have no limit of
    // their own. The counters live in `usage.db`.
    r#"
    CREATE TABLE quotas (
        app_id TEXT    NOT NULL REFERENCES apps (app_id) ON DELETE CASCADE,
        -- an API name such as 'detect' or 'faceset/user/add', or '*' for the app's default
        api    TEXT    NOT NULL,
        qps    INTEGER,
        daily  INTEGER,
        total  INTEGER,
        PRIMARY KEY (app_id, api)
    ) STRICT, WITHOUT ROWID;
    "#,
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens the single read-write connection: durable settings, then migrations.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, LibraryError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Only takes effect while the file is still empty (a new library).
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LibraryError::Corrupt(format!(
            "SQLite refused WAL journal mode (got {mode:?})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Deleted faces must leave no bytes behind: freed pages are zeroed.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens a read-only connection for the read pool. `query_only` makes any
/// accidental write through it fail instead of bypassing the writer lock.
fn open_reader(path: &Path) -> Result<Connection, LibraryError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

/// Brings the schema up to [`SCHEMA_VERSION`], one transaction per step.
fn migrate(conn: &mut Connection) -> Result<(), LibraryError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(LibraryError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let next = version as i64 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", next)?;
        tx.commit()?;
        tracing::info!(version = next, "migrated library schema");
    }
    Ok(())
}

/// A small pool of read connections.
///
/// WAL lets readers run concurrently with the writer, so token checks and
/// face_token lookups never queue behind an enrolment's fsync. Every read
/// starts a fresh read transaction, so it sees everything committed before it
/// began (read-your-writes across connections).
pub(crate) struct ReadPool {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    /// An empty pool for the database at `path`; connections open on demand.
    pub(crate) fn new(path: &Path) -> Self {
        ReadPool {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on an idle read connection (opening one when none is idle).
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, LibraryError>,
    ) -> Result<T, LibraryError> {
        let pooled = self.idle.lock().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

/// Encodes an embedding as the little-endian `f32` blob stored in SQLite.
pub(crate) fn embedding_to_blob(embedding: &[f32]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(embedding.len() * 4);
    for value in embedding {
        blob.extend_from_slice(&value.to_le_bytes());
    }
    blob
}

/// Decodes a blob written by [`embedding_to_blob`].
pub(crate) fn blob_to_embedding(blob: &[u8]) -> Result<Vec<f32>, LibraryError> {
    if !blob.len().is_multiple_of(4) {
        return Err(LibraryError::Corrupt(format!(
            "embedding blob of {} bytes is not a whole number of f32",
            blob.len()
        )));
    }
    Ok(blob
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Decodes a blob written by [`embedding_to_blob`] into `out` (cleared
/// first), so a loop over many rows can reuse one buffer.
pub(crate) fn blob_into_embedding(blob: &[u8], out: &mut Vec<f32>) -> Result<(), LibraryError> {
    if !blob.len().is_multiple_of(4) {
        return Err(LibraryError::Corrupt(format!(
            "embedding blob of {} bytes is not a whole number of f32",
            blob.len()
        )));
    }
    out.clear();
    out.extend(
        blob.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
    Ok(())
}

/// Seconds since the Unix epoch, for `created_at` columns the caller does not
/// supply. A clock before 1970 yields 0 rather than an error.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Converts a count or offset to SQLite's integer, saturating (an offset
/// beyond `i64::MAX` selects nothing either way).
pub(crate) fn to_sql_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// After a deletion: moves the WAL into the database file (whose freed pages
/// `secure_delete` has zeroed) and truncates the WAL, so the deleted faces'
/// old page images do not linger in the log either. Best effort: a reader
/// holding an old snapshot can keep some frames until the next scrub.
pub(crate) fn scrub(conn: &Connection) {
    let outcome = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
        row.get::<_, i64>(0)
    });
    if let Err(err) = outcome {
        tracing::warn!(error = %err, "checkpoint after a deletion failed");
    }
}
