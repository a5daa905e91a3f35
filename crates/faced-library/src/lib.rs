//! `faced-library`: the face library's storage — apps and their credentials,
//! access tokens, call quotas and usage, groups, users, registered faces (as
//! embeddings), transient face_tokens — and the in-memory exact search index.
//!
//! It knows nothing about images, models or HTTP: the engine turns images
//! into embeddings, the service applies Baidu's semantics, and this crate
//! stores and compares `f32` vectors. Keeping it that narrow lets storage
//! backends (SQLite now, PostgreSQL later) change without touching either.
//!
//! # Storage
//!
//! One SQLite file, `<dir>/faced.db` ([`DB_FILE_NAME`]), is the source of
//! truth (module `db`): WAL journal, `synchronous=FULL`, foreign keys on.
//! A write returns only after its transaction committed, so an acknowledged
//! enrolment survives a crash. The schema is versioned with
//! `PRAGMA user_version` and migrated on [`Library::open`].
//!
//! # Concurrency
//!
//! There is one writer: a single connection behind a mutex. Every mutating
//! operation is one transaction done while holding it, and the in-memory
//! index is updated *before* the mutex is released. Hence a face that
//! [`Library::add_face`] accepted is found by the very next
//! [`Library::search`] (read-your-writes), and racing enrolments of one user
//! are serialised, so the [`MAX_FACES_PER_USER`] limit always holds. Reads
//! use a small pool of separate connections (WAL lets them run beside the
//! writer), and searches only read-lock the groups they scan.
//!
//! Deleting a large group would hold the writer for long, so it is marked
//! and emptied in batches by a background thread the library owns; see
//! [`Library::delete_group`]. Dropping the library stops that thread after
//! its current batch, and the next [`Library::open`] resumes the deletion.
//!
//! # Example
//!
//! ```no_run
//! use faced_library::{AddFace, AddMode, Library, SearchQuery};
//! # fn main() -> Result<(), faced_library::LibraryError> {
//! let library = Library::open(std::path::Path::new("/var/lib/faced"))?;
//! let app = library.create_app("front door")?;
//! library.add_face(AddFace {
//!     meta: None,
//!     app_id: app.app_id.clone(),
//!     group_id: "staff".into(),
//!     user_id: "alice".into(),
//!     user_info: Some("Alice".into()),
//!     face_token: "3d44d56f3d2d41190368b2697023d5f2".into(),
//!     embedding: vec![0.6, 0.8],
//!     model_id: "demo-model".into(),
//!     crop_jpeg: None,
//!     mode: AddMode::Append,
//!     create_group_if_missing: true,
//!     now: 1_717_000_000,
//! })?;
//! let hits = library.search(&SearchQuery {
//!     app_id: app.app_id,
//!     group_ids: vec!["staff".into()],
//!     user_id: None,
//!     embedding: vec![0.6, 0.8],
//!     model_id: "demo-model".into(),
//!     max_users: 1,
//! })?;
//! assert_eq!(hits[0].user_id, "alice");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod apps;
pub mod db;
mod deletion;
pub mod error;
pub mod faces;
mod index;
pub mod quotas;
pub mod reembed;
mod sealed;
pub mod search;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::Connection;

pub use apps::{
    AppInfo, NewAppCredentials, SecretCheck, TokenStatus, EXPIRED_TOKEN_RETENTION_SECS,
};
pub use db::{DB_FILE_NAME, SCHEMA_VERSION};
pub use error::LibraryError;
pub use faces::{
    AddFace, AddMode, FaceRecord, GroupScope, LibraryStats, StoredFace, UserRecord, ALL_GROUPS,
    MAX_FACES_PER_USER,
};
pub use quotas::{
    ApiUsage, QuotaChange, QuotaEntry, QuotaKind, QuotaLimits, EVERY_API, USAGE_FILE_NAME,
};
pub use reembed::FaceToReembed;
pub use sealed::KEY_FILE_NAME;
pub use search::{MultiSearchQuery, SearchHit, SearchQuery};

use db::{blob_into_embedding, ReadPool};
use deletion::{Deleter, DELETE_BATCH};
use index::{GroupIndex, Index, SharedGroup};

/// An open face library: the database plus its in-memory index.
///
/// `Library` is `Send + Sync`; open it once and share it (`Arc<Library>`).
/// All methods are synchronous and short (a transaction, or a scan of the
/// groups searched); call them from a blocking-capable thread in async code.
pub struct Library {
    /// The directory holding the database, for diagnostics.
    dir: PathBuf,
    /// The only read-write connection; holding it is holding the write lock.
    /// Shared with the group deletion thread.
    writer: Arc<Mutex<Connection>>,
    /// Read-only connections for queries that need no index.
    readers: ReadPool,
    /// Embeddings and users of every group, mirrored from the database.
    index: Arc<Index>,
    /// The background thread deleting large groups.
    deleter: Deleter,
    /// Seals Secret Keys at rest (see [`sealed`]).
    sealing: sealed::SealingKey,
    /// Call counters and per-second windows (see [`quotas`]).
    meter: quotas::Meter,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// How [`Library::open_with`] sets up a library (tests vary it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenOptions {
    /// Run the group deletion thread; when off, deletions progress only
    /// through [`Library::run_pending_deletions`].
    pub(crate) background_deletion: bool,
    /// Rows per deletion transaction, and the largest group deleted at once.
    pub(crate) deletion_batch: usize,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            background_deletion: true,
            deletion_batch: DELETE_BATCH,
        }
    }
}

impl Library {
    /// Opens (creating if needed) the library in `dir`: creates the
    /// directory and `faced.db`, migrates the schema, loads every group's
    /// faces into the search index, and starts the group deletion thread
    /// (resuming deletions an earlier run left unfinished).
    pub fn open(dir: &Path) -> Result<Library, LibraryError> {
        Library::open_with(dir, OpenOptions::default())
    }

    /// [`open`](Self::open) with explicit options.
    pub(crate) fn open_with(dir: &Path, options: OpenOptions) -> Result<Library, LibraryError> {
        std::fs::create_dir_all(dir).map_err(|source| LibraryError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let sealing = sealed::SealingKey::load_or_create(dir)?;
        let path = dir.join(DB_FILE_NAME);
        let writer = db::open_writer(&path)?;
        let index = Arc::new(load_index(&writer)?);
        let totals = index.totals();
        tracing::info!(
            path = %path.display(),
            groups = totals.groups,
            users = totals.users,
            faces = totals.faces,
            deleting = totals.deleting,
            "opened face library"
        );
        let writer = Arc::new(Mutex::new(writer));
        let deleter = Deleter::start(
            &writer,
            &index,
            options.background_deletion,
            options.deletion_batch,
        )?;
        Ok(Library {
            dir: dir.to_path_buf(),
            writer,
            readers: ReadPool::new(&path),
            index,
            deleter,
            sealing,
            meter: quotas::Meter::open(dir)?,
        })
    }

    /// The directory the library lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Library {
    /// Stops the deletion thread after its current batch (the rest resumes
    /// at the next open).
    fn drop(&mut self) {
        self.deleter.shutdown();
    }
}

/// Rebuilds the index from the database: every live group (empty ones too),
/// its users, and its faces in insertion order; groups marked deleting get
/// only their marker.
fn load_index(conn: &Connection) -> Result<Index, LibraryError> {
    let index = Index::default();
    // group_ref → its index, to route users and faces.
    let mut groups: HashMap<i64, (String, SharedGroup)> = HashMap::new();

    // Sizes first, so that each group's matrix is allocated once.
    let mut sizes: HashMap<i64, (usize, usize)> = HashMap::new();
    let mut stmt = conn.prepare("SELECT group_ref, COUNT(*) FROM faces GROUP BY group_ref")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let count: i64 = row.get(1)?;
        sizes.entry(row.get(0)?).or_default().0 = usize::try_from(count).unwrap_or(0);
    }
    drop(rows);
    drop(stmt);
    let mut stmt = conn.prepare("SELECT group_ref, COUNT(*) FROM users GROUP BY group_ref")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let count: i64 = row.get(1)?;
        sizes.entry(row.get(0)?).or_default().1 = usize::try_from(count).unwrap_or(0);
    }
    drop(rows);
    drop(stmt);

    let mut stmt = conn.prepare(
        "SELECT id, app_id, group_id, embedding_dim, model_id, deleting FROM face_groups ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let group_ref: i64 = row.get(0)?;
        let app_id: String = row.get(1)?;
        let group_id: String = row.get(2)?;
        let dim: Option<i64> = row.get(3)?;
        let model_id: Option<String> = row.get(4)?;
        let deleting: bool = row.get(5)?;
        if deleting {
            index.mark_deleting(&app_id, &group_id);
            continue;
        }
        let dim = usize::try_from(dim.unwrap_or(0)).map_err(|_| {
            LibraryError::Corrupt(format!("negative dimension of group {group_id:?}"))
        })?;
        let mut group = GroupIndex::new(group_ref, dim, model_id);
        if let Some(&(faces, users)) = sizes.get(&group_ref) {
            group.reserve(faces, users);
        }
        let shared = index.insert_group(&app_id, &group_id, group);
        groups.insert(group_ref, (group_id, shared));
    }
    drop(rows);
    drop(stmt);

    let group_of = |group_ref: i64| {
        groups.get(&group_ref).ok_or_else(|| {
            LibraryError::Corrupt(format!("row refers to missing group {group_ref}"))
        })
    };

    // Users, so that slots exist before their faces (and users without
    // faces are still known).
    let mut user_slots: HashMap<i64, u32> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT u.id, u.group_ref, u.user_id, u.user_info
         FROM users AS u JOIN face_groups AS g ON g.id = u.group_ref
         WHERE g.deleting = 0
         ORDER BY u.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let user_ref: i64 = row.get(0)?;
        let (_, group) = group_of(row.get(1)?)?;
        let user_id: String = row.get(2)?;
        let user_info: String = row.get(3)?;
        let slot = group.write().upsert_user(user_ref, &user_id, &user_info);
        user_slots.insert(user_ref, slot);
    }
    drop(rows);
    drop(stmt);

    let mut stmt = conn.prepare(
        "SELECT f.id, f.group_ref, f.user_ref, f.face_token, f.model_id, f.embedding
         FROM faces AS f JOIN face_groups AS g ON g.id = f.group_ref
         WHERE g.deleting = 0
         ORDER BY f.id",
    )?;
    let mut rows = stmt.query([])?;
    let mut embedding: Vec<f32> = Vec::new();
    while let Some(row) = rows.next()? {
        let face_ref: i64 = row.get(0)?;
        let (group_id, group) = group_of(row.get(1)?)?;
        let user_ref: i64 = row.get(2)?;
        let bad = |err: rusqlite::types::FromSqlError| {
            LibraryError::Corrupt(format!("face {face_ref}: {err}"))
        };
        let face_token = row.get_ref(3)?.as_str().map_err(bad)?;
        let model_id = row.get_ref(4)?.as_str().map_err(bad)?;
        blob_into_embedding(row.get_ref(5)?.as_blob().map_err(bad)?, &mut embedding)?;
        let slot = *user_slots.get(&user_ref).ok_or_else(|| {
            LibraryError::Corrupt(format!("face {face_ref} of missing user {user_ref}"))
        })?;
        let mut group = group.write();
        if group.dim() != embedding.len() || group.model_id() != Some(model_id) {
            return Err(LibraryError::Corrupt(format!(
                "face {face_token:?} of group {group_id:?} is a {}-dimensional {model_id:?} \
                 embedding, the group says {}-dimensional {:?}",
                embedding.len(),
                group.dim(),
                group.model_id()
            )));
        }
        group.push_face(slot, face_ref, face_token, model_id, &embedding);
    }
    Ok(index)
}
