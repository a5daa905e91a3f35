//! Moving a library to another embedder: the stored face crops are read out, embedded again
//! by the caller (which owns the models), and every face's embedding and model id are
//! replaced in one transaction, so a library is never left half on one model and half on
//! the other.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::db::{embedding_to_blob, to_sql_int};
use crate::index::normalized;
use crate::{Library, LibraryError};

/// A registered face to embed again.
#[derive(Debug, Clone)]
pub struct FaceToReembed {
    /// The face's row (identifies it in [`Library::replace_embeddings`]).
    pub face_ref: i64,
    /// Its app.
    pub app_id: String,
    /// Its group.
    pub group_id: String,
    /// Its user.
    pub user_id: String,
    /// Its token (kept).
    pub face_token: String,
    /// The crop kept at registration, when crops were stored.
    pub crop_jpeg: Option<Vec<u8>>,
}

impl Library {
    /// Every registered face whose embedding was not made by `model_id`, with its crop.
    pub fn faces_to_reembed(&self, model_id: &str) -> Result<Vec<FaceToReembed>, LibraryError> {
        let conn = self.writer.lock();
        let mut stmt = conn.prepare(
            "SELECT f.id, g.app_id, g.group_id, u.user_id, f.face_token, c.jpeg
             FROM faces f
             JOIN face_groups g ON g.id = f.group_ref
             JOIN users u ON u.id = f.user_ref
             LEFT JOIN face_crops c ON c.face_ref = f.id
             WHERE f.model_id <> ?1 AND g.deleting = 0
             ORDER BY f.id",
        )?;
        let rows = stmt.query_map(params![model_id], |row| {
            Ok(FaceToReembed {
                face_ref: row.get(0)?,
                app_id: row.get(1)?,
                group_id: row.get(2)?,
                user_id: row.get(3)?,
                face_token: row.get(4)?,
                crop_jpeg: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Replaces the embeddings of the given faces by `model_id`'s, and marks every group
    /// holding faces as `model_id`'s, in one transaction: all or nothing. Fails with
    /// `ModelMismatch` (nothing changed) when a face of another model would remain, so a
    /// group never mixes models. Transient face_tokens of other models are dropped (they
    /// could not be compared any more). Run it with the server stopped: the running index
    /// is not updated (it is rebuilt from the database at the next open); `faced library reembed`
    /// enforces that with the data directory's serve lock.
    pub fn replace_embeddings(
        &self,
        model_id: &str,
        embeddings: &[(i64, Vec<f32>)],
    ) -> Result<usize, LibraryError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut dim = None;
        {
            let mut update =
                tx.prepare("UPDATE faces SET embedding = ?2, model_id = ?3 WHERE id = ?1")?;
            for (face_ref, embedding) in embeddings {
                let embedding = normalized(embedding)?;
                if dim.is_some_and(|d| d != embedding.len()) {
                    return Err(LibraryError::DimensionMismatch {
                        group_id: format!("(face row {face_ref})"),
                        expected: dim.unwrap_or_default(),
                        found: embedding.len(),
                    });
                }
                dim = Some(embedding.len());
                update.execute(params![face_ref, embedding_to_blob(&embedding), model_id])?;
            }
        }
        let left: Option<String> = tx
            .query_row(
                "SELECT f.face_token FROM faces f JOIN face_groups g ON g.id = f.group_ref
                 WHERE f.model_id <> ?1 AND g.deleting = 0 LIMIT 1",
                params![model_id],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(token) = left {
            return Err(LibraryError::ModelMismatch {
                group_id: format!("(face {token})"),
                expected: model_id.to_owned(),
                found: "another model".to_owned(),
            });
        }
        if let Some(dim) = dim {
            tx.execute(
                "UPDATE face_groups SET model_id = ?1, embedding_dim = ?2
                 WHERE deleting = 0 AND id IN (SELECT DISTINCT group_ref FROM faces)",
                params![model_id, to_sql_int(dim)],
            )?;
        }
        tx.execute(
            "DELETE FROM transient_faces WHERE model_id <> ?1",
            params![model_id],
        )?;
        tx.commit()?;
        Ok(embeddings.len())
    }
}
