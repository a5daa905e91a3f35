//! The one error type of the library.
//!
//! Each face-library condition Baidu distinguishes on the wire has its own
//! variant, so the service can map a variant to exactly one Baidu code
//! (`223100`, `223101`, …) without parsing messages. Storage and I/O failures
//! are kept apart from those "business" outcomes: they are server faults, not
//! answers about the library's content.

use std::path::PathBuf;

/// Why a library operation did not happen.
///
/// Variants carry the identifier they are about, so logs and error messages
/// can say *which* group or user was missing (a search naming ten groups fails
/// on one of them). When an operation fails, nothing it would have written is
/// left behind: every write is one transaction.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// A group named by the request does not exist in this app's library
    /// (Baidu `223100 group is not exist`).
    #[error("group {group_id:?} does not exist")]
    GroupNotFound {
        /// The missing group.
        group_id: String,
    },
    /// The group is being deleted (Baidu `223128 group was deleting`).
    /// [`Library::delete_group`](crate::Library::delete_group) removes a
    /// large group in the background; until it is gone, every operation
    /// naming it (creating it again included) gets this answer.
    #[error("group {group_id:?} is being deleted")]
    GroupDeleting {
        /// The group being deleted.
        group_id: String,
    },
    /// `create_group` named a group that already exists
    /// (Baidu `223101 group is already exist`).
    #[error("group {group_id:?} already exists")]
    GroupExists {
        /// The existing group.
        group_id: String,
    },
    /// The user is absent from the group(s) the request named
    /// (Baidu `223103 user is not exist`).
    #[error("user {user_id:?} does not exist")]
    UserNotFound {
        /// The missing user.
        user_id: String,
    },
    /// The user is already present where the request wanted to create it
    /// (Baidu `223102 user is already exist`, e.g. copying a user into a group
    /// that has it).
    #[error("user {user_id:?} already exists")]
    UserExists {
        /// The existing user.
        user_id: String,
    },
    /// The face_token is not registered where the request said
    /// (Baidu `223106 face is not exist`).
    #[error("face {face_token:?} does not exist")]
    FaceNotFound {
        /// The missing face_token.
        face_token: String,
    },
    /// The face_token is already registered in this group; one group holds a
    /// face at most once (Baidu `223105 face is already exist`).
    #[error("face {face_token:?} is already registered in this group")]
    FaceExists {
        /// The duplicate face_token.
        face_token: String,
    },
    /// Appending would give the user more than
    /// [`MAX_FACES_PER_USER`](crate::MAX_FACES_PER_USER) faces in one group
    /// (Baidu `222210`).
    #[error("user {user_id:?} already has the maximum of {limit} faces in this group")]
    UserFaceLimit {
        /// The user that is full.
        user_id: String,
        /// The limit that was reached.
        limit: usize,
    },
    /// The destination group of a copy does not exist
    /// (Baidu `223111 dst group is not exist`).
    #[error("destination group {group_id:?} does not exist")]
    DestGroupNotFound {
        /// The missing destination group.
        group_id: String,
    },
    /// The app an operation names is not registered. The service only passes
    /// app ids it authenticated, so this means the app was removed meanwhile
    /// or a caller bug.
    #[error("app {app_id:?} does not exist")]
    AppNotFound {
        /// The unknown app id.
        app_id: String,
    },
    /// A call quota of the app is spent (Baidu `18` per second, `17` per day, `19` in total);
    /// the call was not counted.
    #[error("{kind:?} call quota reached")]
    QuotaExceeded {
        /// Which quota.
        kind: crate::quotas::QuotaKind,
    },
    /// The embedding was produced by another model than the one the group's
    /// faces come from. Similarities between two models' embeddings mean
    /// nothing, so such a face is neither stored nor compared.
    #[error("group {group_id:?} holds embeddings of model {expected:?}, not {found:?}")]
    ModelMismatch {
        /// The group concerned.
        group_id: String,
        /// The model of the faces already in the group.
        expected: String,
        /// The model of the embedding offered.
        found: String,
    },
    /// The embedding's length differs from the group's dimension (a model
    /// with the same name but another output size, or a caller bug).
    #[error("group {group_id:?} holds {expected}-dimensional embeddings, not {found}")]
    DimensionMismatch {
        /// The group concerned.
        group_id: String,
        /// The dimension of the group's embeddings.
        expected: usize,
        /// The dimension offered.
        found: usize,
    },
    /// The embedding is empty, has a zero norm or holds a NaN/infinity: it
    /// cannot be normalised, so it can be neither stored nor searched with.
    #[error("invalid embedding: {0}")]
    InvalidEmbedding(&'static str),
    /// The database was written by a newer `faced` (its `user_version` is
    /// above what this build knows); opening it could corrupt it.
    #[error("database schema version {found} is newer than the supported {supported}")]
    SchemaTooNew {
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest version this build can migrate to.
        supported: i64,
    },
    /// A stored value breaks an invariant the library relies on (an
    /// embedding blob of the wrong length, …): the file was damaged or edited.
    #[error("corrupt library data: {0}")]
    Corrupt(String),
    /// The library directory could not be created or read.
    #[error("cannot use library directory {path}: {source}")]
    Io {
        /// The directory concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The background thread that deletes groups could not be started.
    #[error("cannot start the group deletion thread: {0}")]
    Thread(#[source] std::io::Error),
    /// SQLite failed (disk full, I/O error, …): a server fault.
    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),
}

impl LibraryError {
    /// Whether this error is a server fault (storage, I/O, corruption) rather
    /// than an answer about the library's content. The service logs faults
    /// and answers them with a generic internal error instead of a
    /// face-library code.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            LibraryError::Storage(_)
                | LibraryError::Io { .. }
                | LibraryError::Thread(_)
                | LibraryError::Corrupt(_)
                | LibraryError::SchemaTooNew { .. }
        )
    }
}

/// True when a SQLite error is a foreign-key violation, which in this schema
/// always means "the app (or group) row it points at does not exist".
pub(crate) fn is_foreign_key_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
    )
}

/// True when a SQLite error is a UNIQUE or PRIMARY KEY violation.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
