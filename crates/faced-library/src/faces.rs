//! Groups, users and faces of an app's library, and transient face_tokens.
//!
//! Every operation is scoped by `app_id`: libraries of different apps are
//! fully isolated (spec §1.10), even when they use the same group ids.
//! Mutations run as one SQLite transaction under the library's writer mutex
//! and update the in-memory index before releasing it, so the very next
//! search sees them and concurrent enrolments of one user cannot exceed
//! [`MAX_FACES_PER_USER`]. Reads that need SQL-only data (creation times,
//! insertion order) run on a read connection inside one read transaction,
//! so they see one consistent state.
//!
//! A group being deleted in the background (see
//! [`Library::delete_group`]) is invisible: naming it anywhere answers
//! [`LibraryError::GroupDeleting`], and listings skip it.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::db::{blob_to_embedding, embedding_to_blob, to_sql_int, unix_now};
use crate::error::{is_foreign_key_violation, is_unique_violation, LibraryError};
use crate::index::{normalized, GroupIndex};
use crate::Library;

/// Most faces one user may have in one group (Baidu: the 21st is refused
/// with `222210`; counted separately per group).
pub const MAX_FACES_PER_USER: usize = 20;

/// The `group_id` that `user/get` and `user/delete` accept for "every
/// group" (private-deployment API); see [`GroupScope::from_param`].
pub const ALL_GROUPS: &str = "@ALL";

/// What `add_face` does with the user's existing faces in the group; the
/// variants are Baidu's `action_type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMode {
    /// Keep them and add the new face (`user/add` with `APPEND`), subject to
    /// [`MAX_FACES_PER_USER`]. Creates the user when absent.
    Append,
    /// Delete them (and their crops) and keep only the new face
    /// (`user/add` with `REPLACE`, `user/update` with `REPLACE`). Creates the
    /// user when absent.
    Replace,
    /// Like `Replace`, but the user must already exist in the group
    /// (`user/update` with `UPDATE`): otherwise `UserNotFound`.
    Update,
}

/// A face to register; see [`Library::add_face`].
#[derive(Debug, Clone)]
pub struct AddFace {
    /// The app whose library receives the face.
    pub app_id: String,
    /// The group; see `create_group_if_missing`.
    pub group_id: String,
    /// The user; created when absent (except with [`AddMode::Update`]).
    pub user_id: String,
    /// When `Some`, overwrites the user's stored info; when `None`, a new
    /// user gets `""` and an existing one keeps its info.
    pub user_info: Option<String>,
    /// The face's token, unique within the group.
    pub face_token: String,
    /// The embedding (normalised again here, so any non-zero scale works).
    pub embedding: Vec<f32>,
    /// The model that produced the embedding; a group holds one model's
    /// embeddings only.
    pub model_id: String,
    /// An optional aligned face crop kept beside the face (for re-embedding
    /// after a model change).
    pub crop_jpeg: Option<Vec<u8>>,
    /// Append to, replace or update the user's faces in this group.
    pub mode: AddMode,
    /// Create the group when it does not exist, instead of failing with
    /// [`LibraryError::GroupNotFound`].
    pub create_group_if_missing: bool,
    /// Registration time, Unix seconds (shown by `face/getlist`).
    pub now: i64,
    /// What the engine saw of the face (JSON, opaque to the library), returned by
    /// [`Library::lookup_face`] so a face_token can stand in for its photo.
    pub meta: Option<String>,
}

/// Which groups a user operation covers (`user/get`, `user/delete`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupScope {
    /// One named group; it must exist.
    One(String),
    /// Every group of the app (`group_id=@ALL`), in creation order.
    All,
}

impl GroupScope {
    /// Reads a request's `group_id`: [`ALL_GROUPS`] (`@ALL`) means every
    /// group, anything else names one.
    pub fn from_param(group_id: &str) -> GroupScope {
        if group_id == ALL_GROUPS {
            GroupScope::All
        } else {
            GroupScope::One(group_id.to_owned())
        }
    }
}

/// A user as found in one group (`user/get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The group holding the user.
    pub group_id: String,
    /// The user's info in that group (`""` when none).
    pub user_info: String,
}

/// A registered face of a user (`face/getlist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceRecord {
    /// The face's token.
    pub face_token: String,
    /// Registration time, Unix seconds (the `now` it was added with; copies
    /// keep the original's).
    pub created_at: i64,
}

/// Counts over the whole library, from the in-memory index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LibraryStats {
    /// Groups of all apps (not counting groups being deleted).
    pub groups: usize,
    /// Groups still being deleted in the background.
    pub deleting_groups: usize,
    /// Users over all groups (a user in two groups counts twice).
    pub users: usize,
    /// Registered faces over all groups.
    pub faces: usize,
}

/// An embedding found by its face_token (for `image_type=FACE_TOKEN`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFace {
    /// The token looked up.
    pub face_token: String,
    /// Its L2-normalised embedding.
    pub embedding: Vec<f32>,
    /// The model that produced it.
    pub model_id: String,
    /// Whether it is a registered face (permanent) rather than a transient
    /// token from detect/search (one hour).
    pub registered: bool,
    /// What the engine saw of the face, as stored with it.
    pub meta: Option<String>,
}

/// Maps a foreign-key failure on an app-scoped insert to `AppNotFound`.
fn app_fk(app_id: &str) -> impl FnOnce(rusqlite::Error) -> LibraryError + '_ {
    move |err| {
        if is_foreign_key_violation(&err) {
            LibraryError::AppNotFound {
                app_id: app_id.to_owned(),
            }
        } else {
            err.into()
        }
    }
}

/// A group's row, as the write paths need it.
pub(crate) struct GroupRow {
    /// `face_groups.id`.
    pub(crate) id: i64,
    /// The dimension of its embeddings, once it has held a face.
    dim: Option<i64>,
    /// The model of its embeddings, once it has held a face.
    model_id: Option<String>,
}

/// Finds a usable group: `GroupNotFound` when absent, `GroupDeleting` when
/// it is being deleted.
pub(crate) fn find_group(
    conn: &Connection,
    app_id: &str,
    group_id: &str,
) -> Result<GroupRow, LibraryError> {
    let found: Option<(i64, Option<i64>, Option<String>, bool)> = conn
        .prepare_cached(
            "SELECT id, embedding_dim, model_id, deleting FROM face_groups
             WHERE app_id = ?1 AND group_id = ?2",
        )?
        .query_row(params![app_id, group_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    match found {
        None => Err(LibraryError::GroupNotFound {
            group_id: group_id.to_owned(),
        }),
        Some((_, _, _, true)) => Err(LibraryError::GroupDeleting {
            group_id: group_id.to_owned(),
        }),
        Some((id, dim, model_id, false)) => Ok(GroupRow { id, dim, model_id }),
    }
}

/// Finds a user of a group: its `users.id` and info, or `UserNotFound`.
fn find_user(
    conn: &Connection,
    group_ref: i64,
    user_id: &str,
) -> Result<(i64, String), LibraryError> {
    conn.prepare_cached("SELECT id, user_info FROM users WHERE group_ref = ?1 AND user_id = ?2")?
        .query_row(params![group_ref, user_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?
        .ok_or_else(|| LibraryError::UserNotFound {
            user_id: user_id.to_owned(),
        })
}

/// Whether a group currently holds any face.
fn group_has_faces(conn: &Connection, group_ref: i64) -> Result<bool, LibraryError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM faces WHERE group_ref = ?1)")?
        .query_row(params![group_ref], |row| row.get(0))?)
}

/// Checks that a group may receive an embedding of `model_id` and `dim`:
/// a group with faces keeps its model; an empty one adopts any (and the
/// caller records it with [`adopt_model`]). Returns whether it must adopt.
fn check_model(
    conn: &Connection,
    group: &GroupRow,
    group_id: &str,
    model_id: &str,
    dim: usize,
) -> Result<bool, LibraryError> {
    if !group_has_faces(conn, group.id)? {
        return Ok(
            group.model_id.as_deref() != Some(model_id) || group.dim != Some(to_sql_int(dim))
        );
    }
    match (&group.model_id, group.dim) {
        (Some(expected), _) if expected != model_id => Err(LibraryError::ModelMismatch {
            group_id: group_id.to_owned(),
            expected: expected.clone(),
            found: model_id.to_owned(),
        }),
        (_, Some(expected)) if expected != to_sql_int(dim) => {
            Err(LibraryError::DimensionMismatch {
                group_id: group_id.to_owned(),
                expected: usize::try_from(expected).unwrap_or(0),
                found: dim,
            })
        }
        (Some(_), Some(_)) => Ok(false),
        // Faces but no recorded model: repair the row.
        _ => Ok(true),
    }
}

/// Records the model and dimension an empty group adopts.
fn adopt_model(
    conn: &Connection,
    group_ref: i64,
    model_id: &str,
    dim: usize,
) -> Result<(), LibraryError> {
    conn.prepare_cached("UPDATE face_groups SET embedding_dim = ?2, model_id = ?3 WHERE id = ?1")?
        .execute(params![group_ref, to_sql_int(dim), model_id])?;
    Ok(())
}

/// What a staged (not yet committed) add wrote, for the index update after
/// the commit.
struct StagedAdd {
    group_ref: i64,
    user_ref: i64,
    user_info: String,
    face_ref: i64,
}

/// Writes one face inside an open transaction, with every check of
/// [`Library::add_face`]. Nothing is visible until the caller commits.
fn stage_add(
    conn: &Connection,
    req: &AddFace,
    embedding: &[f32],
) -> Result<StagedAdd, LibraryError> {
    // The group, created on demand (never while it is being deleted).
    let group = match find_group(conn, &req.app_id, &req.group_id) {
        Ok(group) => group,
        Err(LibraryError::GroupNotFound { .. }) if req.create_group_if_missing => {
            conn.prepare_cached(
                "INSERT INTO face_groups (app_id, group_id, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![req.app_id, req.group_id, req.now])
            .map_err(app_fk(&req.app_id))?;
            GroupRow {
                id: conn.last_insert_rowid(),
                dim: None,
                model_id: None,
            }
        }
        Err(err) => return Err(err),
    };

    // The user, created on demand; given user_info overwrites.
    let user = match find_user(conn, group.id, &req.user_id) {
        Ok(found) => Some(found),
        Err(LibraryError::UserNotFound { .. }) => None,
        Err(err) => return Err(err),
    };
    let (user_ref, user_info) = match user {
        Some((user_ref, stored)) => match &req.user_info {
            Some(info) if *info != stored => {
                conn.prepare_cached("UPDATE users SET user_info = ?2 WHERE id = ?1")?
                    .execute(params![user_ref, info])?;
                (user_ref, info.clone())
            }
            _ => (user_ref, stored),
        },
        None if req.mode == AddMode::Update => {
            return Err(LibraryError::UserNotFound {
                user_id: req.user_id.clone(),
            })
        }
        None => {
            let info = req.user_info.clone().unwrap_or_default();
            conn.prepare_cached(
                "INSERT INTO users (group_ref, user_id, user_info, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![group.id, req.user_id, info, req.now])?;
            (conn.last_insert_rowid(), info)
        }
    };

    if req.mode != AddMode::Append {
        // Crops go with their faces (ON DELETE CASCADE).
        conn.prepare_cached("DELETE FROM faces WHERE user_ref = ?1")?
            .execute(params![user_ref])?;
    }

    let token_taken: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM faces WHERE group_ref = ?1 AND face_token = ?2)",
        )?
        .query_row(params![group.id, req.face_token], |row| row.get(0))?;
    if token_taken {
        return Err(LibraryError::FaceExists {
            face_token: req.face_token.clone(),
        });
    }

    if req.mode == AddMode::Append {
        let count: i64 = conn
            .prepare_cached("SELECT COUNT(*) FROM faces WHERE user_ref = ?1")?
            .query_row(params![user_ref], |row| row.get(0))?;
        if count >= to_sql_int(MAX_FACES_PER_USER) {
            return Err(LibraryError::UserFaceLimit {
                user_id: req.user_id.clone(),
                limit: MAX_FACES_PER_USER,
            });
        }
    }

    // One model per group: a group without faces adopts this one's.
    if check_model(conn, &group, &req.group_id, &req.model_id, embedding.len())? {
        adopt_model(conn, group.id, &req.model_id, embedding.len())?;
    }

    conn.prepare_cached(
        "INSERT INTO faces (group_ref, user_ref, face_token, model_id, embedding, created_at, meta)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        group.id,
        user_ref,
        req.face_token,
        req.model_id,
        embedding_to_blob(embedding),
        req.now,
        req.meta
    ])?;
    let face_ref = conn.last_insert_rowid();
    if let Some(jpeg) = &req.crop_jpeg {
        conn.prepare_cached("INSERT INTO face_crops (face_ref, jpeg) VALUES (?1, ?2)")?
            .execute(params![face_ref, jpeg])?;
    }
    Ok(StagedAdd {
        group_ref: group.id,
        user_ref,
        user_info,
        face_ref,
    })
}

impl Library {
    /// Creates an empty group in an app's library (`group/add`).
    ///
    /// Errors: `GroupExists`, `GroupDeleting` (a group of that id is still
    /// being deleted), `AppNotFound`.
    pub fn create_group(&self, app_id: &str, group_id: &str) -> Result<(), LibraryError> {
        let conn = self.writer.lock();
        if let Err(err @ LibraryError::GroupDeleting { .. }) =
            self.index.live_group(app_id, group_id)
        {
            return Err(err);
        }
        let inserted = conn.execute(
            "INSERT INTO face_groups (app_id, group_id, created_at) VALUES (?1, ?2, ?3)",
            params![app_id, group_id, unix_now()],
        );
        match inserted {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                return Err(LibraryError::GroupExists {
                    group_id: group_id.to_owned(),
                })
            }
            Err(err) => return Err(app_fk(app_id)(err)),
        }
        let group_ref = conn.last_insert_rowid();
        self.index
            .insert_group(app_id, group_id, GroupIndex::new(group_ref, 0, None));
        Ok(())
    }

    /// A page of an app's group ids in creation order (`group/getlist`).
    /// Groups being deleted are not listed.
    pub fn list_groups(
        &self,
        app_id: &str,
        start: usize,
        length: usize,
    ) -> Result<Vec<String>, LibraryError> {
        self.readers.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT group_id FROM face_groups WHERE app_id = ?1 AND deleting = 0
                 ORDER BY id LIMIT ?2 OFFSET ?3",
            )?;
            let ids = stmt
                .query_map(
                    params![app_id, to_sql_int(length), to_sql_int(start)],
                    |row| row.get(0),
                )?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    /// Whether the group exists (and is not being deleted) in the app's
    /// library. Answered from memory (the index mirrors every group), so it
    /// is cheap enough for request validation.
    pub fn group_exists(&self, app_id: &str, group_id: &str) -> bool {
        self.index.group(app_id, group_id).is_some()
    }

    /// Like [`group_exists`](Self::group_exists), but says why a group is
    /// unusable: `GroupNotFound` or `GroupDeleting`. From memory.
    pub fn check_group(&self, app_id: &str, group_id: &str) -> Result<(), LibraryError> {
        self.index.live_group(app_id, group_id).map(drop)
    }

    /// Registers a face (`user/add`, `user/update`); see [`AddFace`] for the
    /// fields and [`AddMode`] for append/replace/update. Returns after the
    /// face is durable and searchable.
    ///
    /// Errors: `GroupNotFound` (group absent and not to be created),
    /// `GroupDeleting`, `UserNotFound` (`AddMode::Update` of an absent
    /// user), `FaceExists` (token already in the group), `UserFaceLimit`
    /// (append to a full user), `ModelMismatch`/`DimensionMismatch` (the
    /// group holds another model's faces), `InvalidEmbedding`, `AppNotFound`.
    pub fn add_face(&self, req: AddFace) -> Result<(), LibraryError> {
        let embedding = normalized(&req.embedding)?;
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let staged = stage_add(&tx, &req, &embedding)?;
        tx.commit()?;
        // Durable now; make it searchable before the writer lock is released.
        self.index_add(&req, &embedding, &staged);
        if req.mode != AddMode::Append {
            crate::db::scrub(&conn);
        }
        drop(conn);
        Ok(())
    }

    /// `user/update`: replaces all faces of the user in an existing group
    /// with `req`'s face. With `create_if_missing` (`action_type=REPLACE`) an
    /// absent user is registered; without (`UPDATE`, the default) it is
    /// `UserNotFound`. The group is never created.
    ///
    /// `req.mode` and `req.create_group_if_missing` are ignored (set from
    /// the above); otherwise this is [`add_face`](Self::add_face), with the
    /// same errors.
    pub fn update_user_faces(
        &self,
        mut req: AddFace,
        create_if_missing: bool,
    ) -> Result<(), LibraryError> {
        req.mode = if create_if_missing {
            AddMode::Replace
        } else {
            AddMode::Update
        };
        req.create_group_if_missing = false;
        self.add_face(req)
    }

    /// Registers many faces in one transaction (imports, benchmarks): each
    /// face goes through exactly the checks of [`add_face`](Self::add_face),
    /// in order, and sees the faces before it. Either all are registered or,
    /// on the first error, none.
    ///
    /// The writer lock is held for the whole batch, so keep batches to a few
    /// thousand faces on a live server.
    pub fn add_faces_bulk(&self, faces: Vec<AddFace>) -> Result<(), LibraryError> {
        let embeddings = faces
            .iter()
            .map(|face| normalized(&face.embedding))
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut staged = Vec::with_capacity(faces.len());
        for (req, embedding) in faces.iter().zip(&embeddings) {
            staged.push(stage_add(&tx, req, embedding)?);
        }
        tx.commit()?;
        for ((req, embedding), staged) in faces.iter().zip(&embeddings).zip(&staged) {
            self.index_add(req, embedding, staged);
        }
        drop(conn);
        Ok(())
    }

    /// Mirrors a committed add in the index (writer lock held).
    fn index_add(&self, req: &AddFace, embedding: &[f32], staged: &StagedAdd) {
        let group = match self.index.group(&req.app_id, &req.group_id) {
            Some(group) => group,
            None => self.index.insert_group(
                &req.app_id,
                &req.group_id,
                GroupIndex::new(staged.group_ref, 0, None),
            ),
        };
        let mut group = group.write();
        let slot = group.upsert_user(staged.user_ref, &req.user_id, &staged.user_info);
        if req.mode != AddMode::Append {
            group.remove_user_faces(slot);
        }
        group.push_face(
            slot,
            staged.face_ref,
            &req.face_token,
            &req.model_id,
            embedding,
        );
    }

    /// Deletes one registered face of a user (`face/delete`): its row,
    /// embedding and crop. Deleting the user's last face also deletes the
    /// user.
    ///
    /// Errors: `GroupNotFound`, `GroupDeleting`, `UserNotFound`,
    /// `FaceNotFound` (the token is not one of this user's faces in this
    /// group).
    pub fn delete_face(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
        face_token: &str,
    ) -> Result<(), LibraryError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let group = find_group(&tx, app_id, group_id)?;
        let (user_ref, _) = find_user(&tx, group.id, user_id)?;
        let face_ref: i64 = tx
            .prepare_cached("SELECT id FROM faces WHERE user_ref = ?1 AND face_token = ?2")?
            .query_row(params![user_ref, face_token], |row| row.get(0))
            .optional()?
            .ok_or_else(|| LibraryError::FaceNotFound {
                face_token: face_token.to_owned(),
            })?;
        // The crop goes with the face (ON DELETE CASCADE).
        tx.execute("DELETE FROM faces WHERE id = ?1", params![face_ref])?;
        let user_left: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM faces WHERE user_ref = ?1)")?
            .query_row(params![user_ref], |row| row.get(0))?;
        if !user_left {
            tx.execute("DELETE FROM users WHERE id = ?1", params![user_ref])?;
        }
        tx.commit()?;
        crate::db::scrub(&conn);

        if let Some(group) = self.index.group(app_id, group_id) {
            let mut group = group.write();
            if let Some(slot) = group.user_slot(user_id) {
                group.remove_face(slot, face_ref);
                if !user_left {
                    group.remove_user(slot);
                }
            }
        }
        drop(conn);
        Ok(())
    }

    /// The groups holding a user, with its info in each (`user/get`): one
    /// record per group, in the groups' creation order.
    ///
    /// Errors: `GroupNotFound`/`GroupDeleting` for a named group,
    /// `UserNotFound` when the user is in none of the groups asked.
    pub fn get_user(
        &self,
        app_id: &str,
        scope: &GroupScope,
        user_id: &str,
    ) -> Result<Vec<UserRecord>, LibraryError> {
        let records = self.readers.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            match scope {
                GroupScope::One(group_id) => {
                    let group = find_group(&tx, app_id, group_id)?;
                    match find_user(&tx, group.id, user_id) {
                        Ok((_, user_info)) => Ok(vec![UserRecord {
                            group_id: group_id.clone(),
                            user_info,
                        }]),
                        Err(LibraryError::UserNotFound { .. }) => Ok(Vec::new()),
                        Err(err) => Err(err),
                    }
                }
                GroupScope::All => {
                    let mut stmt = tx.prepare_cached(
                        "SELECT g.group_id, u.user_info
                         FROM users AS u JOIN face_groups AS g ON g.id = u.group_ref
                         WHERE u.user_id = ?2 AND g.app_id = ?1 AND g.deleting = 0
                         ORDER BY g.id",
                    )?;
                    let records = stmt
                        .query_map(params![app_id, user_id], |row| {
                            Ok(UserRecord {
                                group_id: row.get(0)?,
                                user_info: row.get(1)?,
                            })
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(records)
                }
            }
        })?;
        if records.is_empty() {
            return Err(LibraryError::UserNotFound {
                user_id: user_id.to_owned(),
            });
        }
        Ok(records)
    }

    /// A user's faces in a group, in registration order (`face/getlist`).
    ///
    /// Errors: `GroupNotFound`, `GroupDeleting`, `UserNotFound`.
    pub fn list_faces(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
    ) -> Result<Vec<FaceRecord>, LibraryError> {
        self.readers.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            let group = find_group(&tx, app_id, group_id)?;
            let (user_ref, _) = find_user(&tx, group.id, user_id)?;
            let mut stmt = tx.prepare_cached(
                "SELECT face_token, created_at FROM faces WHERE user_ref = ?1 ORDER BY id",
            )?;
            let faces = stmt
                .query_map(params![user_ref], |row| {
                    Ok(FaceRecord {
                        face_token: row.get(0)?,
                        created_at: row.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(faces)
        })
    }

    /// A page of a group's user ids in creation order (`group/getusers`).
    ///
    /// Errors: `GroupNotFound`, `GroupDeleting`.
    pub fn list_users(
        &self,
        app_id: &str,
        group_id: &str,
        start: usize,
        length: usize,
    ) -> Result<Vec<String>, LibraryError> {
        self.readers.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            let group = find_group(&tx, app_id, group_id)?;
            let mut stmt = tx.prepare_cached(
                "SELECT user_id FROM users WHERE group_ref = ?1 ORDER BY id LIMIT ?2 OFFSET ?3",
            )?;
            let ids = stmt
                .query_map(
                    params![group.id, to_sql_int(length), to_sql_int(start)],
                    |row| row.get(0),
                )?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    /// Copies a user — its info and every face, with the same face_tokens,
    /// embeddings, crops and registration times — from `src_group_id` into
    /// each of `dst_group_ids` (`user/copy`; duplicates ignored). All
    /// destinations are checked before anything is written, and all are
    /// written in one transaction: either every copy is made or none.
    ///
    /// Errors: `GroupNotFound` (source), `UserNotFound` (not in the
    /// source), `DestGroupNotFound` (a destination is missing),
    /// `GroupDeleting` (source or destination being deleted), `UserExists`
    /// (already in a destination), `FaceExists` (a destination already holds
    /// one of the tokens, for another user), `ModelMismatch` /
    /// `DimensionMismatch` (a destination holds another model's faces),
    /// `UserFaceLimit`.
    pub fn copy_user(
        &self,
        app_id: &str,
        user_id: &str,
        src_group_id: &str,
        dst_group_ids: &[String],
    ) -> Result<(), LibraryError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let src = find_group(&tx, app_id, src_group_id)?;
        let (src_user_ref, user_info) = find_user(&tx, src.id, user_id)?;
        // (faces.id, face_token, model_id, embedding blob, created_at)
        let faces: Vec<(i64, String, String, Vec<u8>, i64)> = tx
            .prepare_cached(
                "SELECT id, face_token, model_id, embedding, created_at FROM faces
                 WHERE user_ref = ?1 ORDER BY id",
            )?
            .query_map(params![src_user_ref], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let embeddings = faces
            .iter()
            .map(|(_, _, _, blob, _)| blob_to_embedding(blob))
            .collect::<Result<Vec<_>, _>>()?;

        // Resolve and check every destination before writing anything.
        let mut dsts: Vec<(&str, GroupRow)> = Vec::with_capacity(dst_group_ids.len());
        for dst_id in dst_group_ids {
            if dsts.iter().any(|(id, _)| id == dst_id) {
                continue;
            }
            match find_group(&tx, app_id, dst_id) {
                Ok(group) => dsts.push((dst_id, group)),
                Err(LibraryError::GroupNotFound { group_id }) => {
                    return Err(LibraryError::DestGroupNotFound { group_id })
                }
                Err(err) => return Err(err),
            }
        }
        let mut adopt = Vec::with_capacity(dsts.len());
        for (dst_id, dst) in &dsts {
            match find_user(&tx, dst.id, user_id) {
                Ok(_) => {
                    return Err(LibraryError::UserExists {
                        user_id: user_id.to_owned(),
                    })
                }
                Err(LibraryError::UserNotFound { .. }) => {}
                Err(err) => return Err(err),
            }
            if faces.len() > MAX_FACES_PER_USER {
                return Err(LibraryError::UserFaceLimit {
                    user_id: user_id.to_owned(),
                    limit: MAX_FACES_PER_USER,
                });
            }
            let mut taken = tx.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM faces WHERE group_ref = ?1 AND face_token = ?2)",
            )?;
            for (_, token, _, _, _) in &faces {
                if taken.query_row(params![dst.id, token], |row| row.get::<_, bool>(0))? {
                    return Err(LibraryError::FaceExists {
                        face_token: token.clone(),
                    });
                }
            }
            adopt.push(match (faces.first(), embeddings.first()) {
                (Some((_, _, model_id, _, _)), Some(embedding)) => {
                    check_model(&tx, dst, dst_id, model_id, embedding.len())?
                }
                _ => false,
            });
        }

        // Write every copy.
        let now = unix_now();
        // Per destination: (users.id, [faces.id]).
        let mut written: Vec<(i64, Vec<i64>)> = Vec::with_capacity(dsts.len());
        for ((_, dst), adopt) in dsts.iter().zip(adopt) {
            if let (true, Some((_, _, model_id, _, _)), Some(embedding)) =
                (adopt, faces.first(), embeddings.first())
            {
                adopt_model(&tx, dst.id, model_id, embedding.len())?;
            }
            tx.prepare_cached(
                "INSERT INTO users (group_ref, user_id, user_info, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![dst.id, user_id, user_info, now])?;
            let user_ref = tx.last_insert_rowid();
            let mut face_refs = Vec::with_capacity(faces.len());
            for (src_face_ref, token, model_id, blob, created_at) in &faces {
                tx.prepare_cached(
                    "INSERT INTO faces (group_ref, user_ref, face_token, model_id, embedding, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![dst.id, user_ref, token, model_id, blob, created_at])?;
                let face_ref = tx.last_insert_rowid();
                tx.prepare_cached(
                    "UPDATE faces SET meta = (SELECT meta FROM faces WHERE id = ?2) WHERE id = ?1",
                )?
                .execute(params![face_ref, src_face_ref])?;
                tx.prepare_cached(
                    "INSERT INTO face_crops (face_ref, jpeg)
                     SELECT ?1, jpeg FROM face_crops WHERE face_ref = ?2",
                )?
                .execute(params![face_ref, src_face_ref])?;
                face_refs.push(face_ref);
            }
            written.push((user_ref, face_refs));
        }
        tx.commit()?;

        for ((dst_id, dst), (user_ref, face_refs)) in dsts.iter().zip(&written) {
            let group = match self.index.group(app_id, dst_id) {
                Some(group) => group,
                None => self
                    .index
                    .insert_group(app_id, dst_id, GroupIndex::new(dst.id, 0, None)),
            };
            let mut group = group.write();
            let slot = group.upsert_user(*user_ref, user_id, &user_info);
            for ((face_ref, (_, token, model_id, _, _)), embedding) in
                face_refs.iter().zip(&faces).zip(&embeddings)
            {
                group.push_face(slot, *face_ref, token, model_id, embedding);
            }
        }
        drop(conn);
        Ok(())
    }

    /// Deletes a user with its faces and crops (`user/delete`) from one
    /// group, or from every group of the app ([`GroupScope::All`], `@ALL`),
    /// in one transaction.
    ///
    /// Errors: `GroupNotFound`/`GroupDeleting` for a named group,
    /// `UserNotFound` when the user is in none of the groups.
    pub fn delete_user(
        &self,
        app_id: &str,
        scope: &GroupScope,
        user_id: &str,
    ) -> Result<(), LibraryError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // (group_id, users.id)
        let targets: Vec<(String, i64)> = match scope {
            GroupScope::One(group_id) => {
                let group = find_group(&tx, app_id, group_id)?;
                let (user_ref, _) = find_user(&tx, group.id, user_id)?;
                vec![(group_id.clone(), user_ref)]
            }
            GroupScope::All => tx
                .prepare_cached(
                    "SELECT g.group_id, u.id
                     FROM users AS u JOIN face_groups AS g ON g.id = u.group_ref
                     WHERE u.user_id = ?2 AND g.app_id = ?1 AND g.deleting = 0
                     ORDER BY g.id",
                )?
                .query_map(params![app_id, user_id], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?,
        };
        if targets.is_empty() {
            return Err(LibraryError::UserNotFound {
                user_id: user_id.to_owned(),
            });
        }
        for (_, user_ref) in &targets {
            // Faces and crops go with the user (ON DELETE CASCADE).
            tx.execute("DELETE FROM users WHERE id = ?1", params![user_ref])?;
        }
        tx.commit()?;
        crate::db::scrub(&conn);

        for (group_id, _) in &targets {
            if let Some(group) = self.index.group(app_id, group_id) {
                let mut group = group.write();
                if let Some(slot) = group.user_slot(user_id) {
                    group.remove_user(slot);
                }
            }
        }
        drop(conn);
        Ok(())
    }

    /// How many faces a user has in a group (from memory).
    ///
    /// Errors: `GroupNotFound`, `GroupDeleting`, `UserNotFound`.
    pub fn face_count(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
    ) -> Result<usize, LibraryError> {
        let group = self.index.live_group(app_id, group_id)?;
        let group = group.read();
        match group.user_slot(user_id) {
            Some(slot) => Ok(group.user_face_count(slot)),
            None => Err(LibraryError::UserNotFound {
                user_id: user_id.to_owned(),
            }),
        }
    }

    /// Counts of groups, users and faces over all apps (from memory).
    pub fn stats(&self) -> LibraryStats {
        let totals = self.index.totals();
        LibraryStats {
            groups: totals.groups,
            deleting_groups: totals.deleting,
            users: totals.users,
            faces: totals.faces,
        }
    }

    /// Finds the embedding behind a face_token of this app: a registered
    /// face in any of its groups (not being deleted) first, else a transient
    /// token unexpired at `now`. Other apps' tokens are never found.
    pub fn lookup_face(
        &self,
        app_id: &str,
        face_token: &str,
        now: i64,
    ) -> Result<Option<StoredFace>, LibraryError> {
        self.readers.with(|conn| {
            let registered: Option<(String, Vec<u8>, Option<String>)> = conn
                .prepare_cached(
                    "SELECT f.model_id, f.embedding, f.meta
                     FROM faces AS f JOIN face_groups AS g ON g.id = f.group_ref
                     WHERE f.face_token = ?2 AND g.app_id = ?1 AND g.deleting = 0
                     ORDER BY f.id LIMIT 1",
                )?
                .query_row(params![app_id, face_token], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()?;
            let (found, registered) = match registered {
                Some(found) => (Some(found), true),
                None => (
                    conn.prepare_cached(
                        "SELECT model_id, embedding, meta FROM transient_faces
                         WHERE app_id = ?1 AND face_token = ?2 AND expires_at > ?3",
                    )?
                    .query_row(params![app_id, face_token, now], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .optional()?,
                    false,
                ),
            };
            found
                .map(|(model_id, blob, meta)| {
                    Ok(StoredFace {
                        face_token: face_token.to_owned(),
                        embedding: blob_to_embedding(&blob)?,
                        model_id,
                        registered,
                        meta,
                    })
                })
                .transpose()
        })
    }

    /// Remembers the embedding of a face_token handed out by detect/search
    /// until `expires_at` (one hour per spec §1.7), replacing any earlier
    /// entry for the token.
    ///
    /// This runs on every detect/search, so it is written with
    /// `synchronous=NORMAL`: the commit reaches the WAL without waiting for
    /// an fsync (a process crash keeps it; a power cut may lose tokens that
    /// expire within the hour anyway). The next durable commit fsyncs the WAL
    /// and with it these rows.
    pub fn remember_transient(
        &self,
        app_id: &str,
        face_token: &str,
        embedding: &[f32],
        model_id: &str,
        expires_at: i64,
        meta: Option<&str>,
    ) -> Result<(), LibraryError> {
        let embedding = normalized(embedding)?;
        let blob = embedding_to_blob(&embedding);
        let conn = self.writer.lock();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let written = conn
            .prepare_cached(
                "INSERT OR REPLACE INTO transient_faces (app_id, face_token, model_id, embedding, expires_at, meta)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut stmt| stmt.execute(params![app_id, face_token, model_id, blob, expires_at, meta]));
        // Restore durability for every other write, whatever happened.
        let restored = conn.pragma_update(None, "synchronous", "FULL");
        written.map_err(app_fk(app_id))?;
        restored?;
        Ok(())
    }

    /// Deletes transient tokens expired at `now`; returns how many. Run it
    /// periodically (e.g. every few minutes).
    pub fn purge_expired_transients(&self, now: i64) -> Result<usize, LibraryError> {
        let conn = self.writer.lock();
        Ok(conn.execute(
            "DELETE FROM transient_faces WHERE expires_at <= ?1",
            params![now],
        )?)
    }
}
