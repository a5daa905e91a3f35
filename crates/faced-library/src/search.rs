//! Exact 1:N and M:N search over the in-memory index.
//!
//! A search read-locks the groups it names (never the writer mutex), so it
//! runs beside enrolments and sees every write acknowledged before it
//! started. Several query embeddings (multi-search: one per detected face)
//! share one pass over each group's matrix.

use crate::error::LibraryError;
use crate::index::normalized;
use crate::Library;

/// A 1:N search request; see [`Library::search`].
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// The app whose library is searched.
    pub app_id: String,
    /// The groups to search (duplicates are ignored); all must exist.
    pub group_ids: Vec<String>,
    /// When set, only this user's faces are compared ("1:N authentication").
    pub user_id: Option<String>,
    /// The query embedding (normalised again here).
    pub embedding: Vec<f32>,
    /// The model that produced `embedding`; groups of another model are
    /// refused rather than compared.
    pub model_id: String,
    /// How many users to return at most.
    pub max_users: usize,
}

/// Several 1:N searches against the same groups (`multi-search`: one per
/// detected face); see [`Library::search_many`].
#[derive(Debug, Clone)]
pub struct MultiSearchQuery {
    /// The app whose library is searched.
    pub app_id: String,
    /// The groups to search (duplicates are ignored); all must exist.
    pub group_ids: Vec<String>,
    /// When set, only this user's faces are compared.
    pub user_id: Option<String>,
    /// The query embeddings (each normalised again here).
    pub embeddings: Vec<Vec<f32>>,
    /// The model that produced the embeddings.
    pub model_id: String,
    /// How many users to return at most, per embedding.
    pub max_users: usize,
}

/// One matching user: the best of its faces in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The group the user was found in (a user in two searched groups can
    /// appear twice, once per group, as with Baidu).
    pub group_id: String,
    /// The user.
    pub user_id: String,
    /// The user's stored info (`""` when none).
    pub user_info: String,
    /// The user's best-matching face.
    pub face_token: String,
    /// Cosine similarity in `[-1, 1]`; the service maps it to a 0–100 score.
    pub similarity: f32,
}

/// A user found in one group, before the groups' results are merged.
struct Candidate {
    similarity: f32,
    /// Position of the group in the request (earlier group wins ties).
    position: usize,
    /// `users.id` (earlier-created user wins ties).
    user_ref: i64,
    slot: u32,
    row: u32,
}

impl Library {
    /// Exact 1:N search (`search`): compares the query with every face of
    /// the listed groups (only `user_id`'s faces when set), keeps each
    /// user's best face per group (ties: the earlier-registered face), and
    /// returns the `max_users` best users by descending similarity (ties:
    /// earlier group, then earlier-created user).
    ///
    /// Errors: `GroupNotFound` / `GroupDeleting` naming the first unusable
    /// group, `UserNotFound` when `user_id` is in none of the groups,
    /// `ModelMismatch`/`DimensionMismatch` when a group holds another
    /// model's faces, `InvalidEmbedding`.
    pub fn search(&self, q: &SearchQuery) -> Result<Vec<SearchHit>, LibraryError> {
        let mut lists = self.search_each(
            &q.app_id,
            &q.group_ids,
            q.user_id.as_deref(),
            std::slice::from_ref(&q.embedding),
            &q.model_id,
            q.max_users,
        )?;
        Ok(lists.pop().unwrap_or_default())
    }

    /// Runs one [`search`](Self::search) per embedding against the same
    /// groups (`multi-search`) with one pass over each group's vectors for
    /// all of them. Returns one hit list per embedding, in order; the
    /// semantics and errors are `search`'s (any failing embedding fails the
    /// whole call).
    pub fn search_many(&self, q: &MultiSearchQuery) -> Result<Vec<Vec<SearchHit>>, LibraryError> {
        self.search_each(
            &q.app_id,
            &q.group_ids,
            q.user_id.as_deref(),
            &q.embeddings,
            &q.model_id,
            q.max_users,
        )
    }

    fn search_each(
        &self,
        app_id: &str,
        group_ids: &[String],
        user_id: Option<&str>,
        embeddings: &[Vec<f32>],
        model_id: &str,
        max_users: usize,
    ) -> Result<Vec<Vec<SearchHit>>, LibraryError> {
        let queries = embeddings
            .iter()
            .map(|e| normalized(e))
            .collect::<Result<Vec<_>, _>>()?;
        let groups = self.index.groups(app_id, group_ids)?;
        let guards: Vec<_> = groups.iter().map(|(_, group)| group.read()).collect();

        for ((group_id, _), group) in groups.iter().zip(&guards) {
            if group.len() == 0 {
                continue;
            }
            if group.model_id() != Some(model_id) {
                return Err(LibraryError::ModelMismatch {
                    group_id: group_id.clone(),
                    expected: group.model_id().unwrap_or_default().to_owned(),
                    found: model_id.to_owned(),
                });
            }
            if let Some(query) = queries.iter().find(|q| q.len() != group.dim()) {
                return Err(LibraryError::DimensionMismatch {
                    group_id: group_id.clone(),
                    expected: group.dim(),
                    found: query.len(),
                });
            }
        }

        let mut candidates: Vec<Vec<Candidate>> = queries.iter().map(|_| Vec::new()).collect();
        let mut user_seen = false;
        for (position, group) in guards.iter().enumerate() {
            let only = match user_id {
                Some(user_id) => match group.user_slot(user_id) {
                    Some(slot) => {
                        user_seen = true;
                        Some(slot)
                    }
                    None => continue,
                },
                None => None,
            };
            let found = group.best_users(&queries, only, max_users);
            for (list, hits) in candidates.iter_mut().zip(found) {
                list.extend(hits.into_iter().map(|best| Candidate {
                    similarity: best.similarity,
                    position,
                    user_ref: group.user(best.slot).user_ref,
                    slot: best.slot,
                    row: best.row,
                }));
            }
        }
        if let (Some(user_id), false) = (user_id, user_seen) {
            return Err(LibraryError::UserNotFound {
                user_id: user_id.to_owned(),
            });
        }

        Ok(candidates
            .into_iter()
            .map(|mut list| {
                list.sort_unstable_by(|a, b| {
                    b.similarity
                        .total_cmp(&a.similarity)
                        .then(a.position.cmp(&b.position))
                        .then(a.user_ref.cmp(&b.user_ref))
                });
                list.truncate(max_users);
                list.into_iter()
                    .map(|c| {
                        let group = &guards[c.position];
                        let user = group.user(c.slot);
                        SearchHit {
                            group_id: groups[c.position].0.clone(),
                            user_id: user.user_id.clone(),
                            user_info: user.user_info.clone(),
                            face_token: group.face_token(c.row).to_owned(),
                            similarity: c.similarity.clamp(-1.0, 1.0),
                        }
                    })
                    .collect()
            })
            .collect())
    }
}
