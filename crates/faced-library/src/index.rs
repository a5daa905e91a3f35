//! The in-memory exact search index.
//!
//! Every live group of every app has a [`GroupIndex`]: one contiguous
//! row-major matrix of L2-normalised embeddings, a parallel list saying whose
//! face each row is, and the group's users, each with the rows of its faces.
//! A search is a brute-force scan of dot products (cosine similarity, since
//! rows and queries are unit vectors) over the matrix, which is exact and,
//! with the auto-vectorised kernel in [`dot`], fast enough for the group
//! sizes Baidu recommends. Several queries (multi-search) share one pass over
//! the matrix: each row is compared with every query while it is in cache.
//! Quantised copies or an ANN index with exact re-rank can later sit beside
//! the matrix.
//!
//! Removing a face or a user is O(faces of that user): rows and users are
//! removed by moving the last one into the hole (`swap_remove`), and the few
//! references to the moved element are fixed through the per-user row lists.
//! Row and slot order therefore differ from insertion order; every tie in a
//! search is broken by the SQLite ids (`faces.id`, `users.id`) instead, so
//! results do not depend on the history of the index.
//!
//! Locking: the map of groups is behind one `RwLock` (taken briefly, to find
//! or add a group) and each group behind its own `RwLock`, so a long scan of
//! one group delays only writers of that group, and readers wait only for a
//! writer's in-memory update, never for its SQLite commit (the library
//! commits first, then updates the index, both while holding its writer
//! mutex).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::LibraryError;

/// A group's index, shared between the group map and running searches.
pub(crate) type SharedGroup = Arc<RwLock<GroupIndex>>;

/// Above this many users asked for, a search keeps every user's best face
/// (one array slot per user) instead of a sorted top-k list, whose inserts
/// cost O(k).
const MAX_TOP_K: usize = 256;

/// What the index knows about a group id.
enum Slot {
    /// The group exists and can be used.
    Live(SharedGroup),
    /// The group is being deleted in the background: it is no longer
    /// searchable, and every operation naming it answers `GroupDeleting`.
    Deleting,
}

/// Totals over the whole index, for logging, statistics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Live groups.
    pub(crate) groups: usize,
    /// Groups being deleted.
    pub(crate) deleting: usize,
    /// Users of live groups (a user in two groups counts twice).
    pub(crate) users: usize,
    /// Faces of live groups.
    pub(crate) faces: usize,
}

/// All groups of all apps: `app_id → group_id → slot`.
///
/// Every group that exists in SQLite has an entry (empty groups and groups
/// being deleted included), so the index also answers "does this group
/// exist" without SQL.
#[derive(Default)]
pub(crate) struct Index {
    apps: RwLock<HashMap<String, HashMap<String, Slot>>>,
}

impl Index {
    /// The group, if it exists and is not being deleted.
    pub(crate) fn group(&self, app_id: &str, group_id: &str) -> Option<SharedGroup> {
        match self.apps.read().get(app_id).and_then(|g| g.get(group_id)) {
            Some(Slot::Live(group)) => Some(Arc::clone(group)),
            _ => None,
        }
    }

    /// The group, or `GroupNotFound` / `GroupDeleting`.
    pub(crate) fn live_group(
        &self,
        app_id: &str,
        group_id: &str,
    ) -> Result<SharedGroup, LibraryError> {
        match self.apps.read().get(app_id).and_then(|g| g.get(group_id)) {
            Some(Slot::Live(group)) => Ok(Arc::clone(group)),
            Some(Slot::Deleting) => Err(LibraryError::GroupDeleting {
                group_id: group_id.to_owned(),
            }),
            None => Err(LibraryError::GroupNotFound {
                group_id: group_id.to_owned(),
            }),
        }
    }

    /// The named groups, in order, with duplicates dropped; the first
    /// missing one is reported as `GroupNotFound`, the first one being
    /// deleted as `GroupDeleting`.
    pub(crate) fn groups(
        &self,
        app_id: &str,
        group_ids: &[String],
    ) -> Result<Vec<(String, SharedGroup)>, LibraryError> {
        let apps = self.apps.read();
        let groups = apps.get(app_id);
        let mut found: Vec<(String, SharedGroup)> = Vec::with_capacity(group_ids.len());
        for group_id in group_ids {
            if found.iter().any(|(id, _)| id == group_id) {
                continue;
            }
            match groups.and_then(|g| g.get(group_id.as_str())) {
                Some(Slot::Live(group)) => found.push((group_id.clone(), Arc::clone(group))),
                Some(Slot::Deleting) => {
                    return Err(LibraryError::GroupDeleting {
                        group_id: group_id.clone(),
                    })
                }
                None => {
                    return Err(LibraryError::GroupNotFound {
                        group_id: group_id.clone(),
                    })
                }
            }
        }
        Ok(found)
    }

    /// Adds a group and returns it; an existing live group is returned
    /// unchanged. (A slot marked deleting is replaced; the library never
    /// asks for that, as SQLite still holds the deleting group's row.)
    pub(crate) fn insert_group(
        &self,
        app_id: &str,
        group_id: &str,
        group: GroupIndex,
    ) -> SharedGroup {
        let mut apps = self.apps.write();
        let groups = apps.entry(app_id.to_owned()).or_default();
        if let Some(Slot::Live(existing)) = groups.get(group_id) {
            return Arc::clone(existing);
        }
        let shared = Arc::new(RwLock::new(group));
        groups.insert(group_id.to_owned(), Slot::Live(Arc::clone(&shared)));
        shared
    }

    /// Marks a group as being deleted: it is no longer found, and naming it
    /// yields `GroupDeleting`. Its vectors are freed once the last running
    /// search that holds it finishes.
    pub(crate) fn mark_deleting(&self, app_id: &str, group_id: &str) {
        self.apps
            .write()
            .entry(app_id.to_owned())
            .or_default()
            .insert(group_id.to_owned(), Slot::Deleting);
    }

    /// Forgets a group entirely (its deletion is complete).
    pub(crate) fn remove_group(&self, app_id: &str, group_id: &str) {
        let mut apps = self.apps.write();
        if let Some(groups) = apps.get_mut(app_id) {
            groups.remove(group_id);
            if groups.is_empty() {
                apps.remove(app_id);
            }
        }
    }

    /// How many groups are marked as being deleted.
    pub(crate) fn deleting_count(&self) -> usize {
        self.apps
            .read()
            .values()
            .flat_map(|groups| groups.values())
            .filter(|slot| matches!(slot, Slot::Deleting))
            .count()
    }

    /// Counts of groups, users and faces held.
    pub(crate) fn totals(&self) -> Totals {
        let apps = self.apps.read();
        let mut totals = Totals::default();
        for slot in apps.values().flat_map(|groups| groups.values()) {
            match slot {
                Slot::Live(group) => {
                    let group = group.read();
                    totals.groups += 1;
                    totals.users += group.users.len();
                    totals.faces += group.rows.len();
                }
                Slot::Deleting => totals.deleting += 1,
            }
        }
        totals
    }

    /// A deterministic copy of the whole index, so tests can check that the
    /// index rebuilt from SQLite equals the one maintained incrementally.
    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> Vec<GroupSnapshot> {
        let apps = self.apps.read();
        let mut out = Vec::new();
        for (app_id, groups) in apps.iter() {
            for (group_id, slot) in groups.iter() {
                let Slot::Live(group) = slot else {
                    out.push(GroupSnapshot {
                        app_id: app_id.clone(),
                        group_id: group_id.clone(),
                        deleting: true,
                        ..GroupSnapshot::default()
                    });
                    continue;
                };
                let g = group.read();
                g.check_invariants();
                let mut faces: Vec<(String, String, String, Vec<f32>)> = g
                    .rows
                    .iter()
                    .enumerate()
                    .map(|(i, row)| {
                        let user = &g.users[row.user as usize];
                        (
                            user.user_id.clone(),
                            user.user_info.clone(),
                            row.face_token.clone(),
                            g.row(i).to_vec(),
                        )
                    })
                    .collect();
                faces.sort_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
                let mut users: Vec<String> = g.users.iter().map(|u| u.user_id.clone()).collect();
                users.sort();
                out.push(GroupSnapshot {
                    app_id: app_id.clone(),
                    group_id: group_id.clone(),
                    deleting: false,
                    group_ref: g.group_ref,
                    dim: g.dim,
                    model_id: g.model_id.clone(),
                    users,
                    faces,
                });
            }
        }
        out.sort_by(|a, b| (&a.app_id, &a.group_id).cmp(&(&b.app_id, &b.group_id)));
        out
    }
}

/// A comparable copy of one group's index (tests only).
#[cfg(test)]
#[derive(Debug, Default, PartialEq)]
pub(crate) struct GroupSnapshot {
    pub app_id: String,
    pub group_id: String,
    pub deleting: bool,
    pub group_ref: i64,
    pub dim: usize,
    pub model_id: Option<String>,
    pub users: Vec<String>,
    /// `(user_id, user_info, face_token, embedding)`, sorted.
    pub faces: Vec<(String, String, String, Vec<f32>)>,
}

/// Whose face a matrix row is.
struct FaceRow {
    /// Index into [`GroupIndex::users`].
    user: u32,
    /// The face's `faces.id` in SQLite: identifies the face for deletion and
    /// breaks similarity ties (earlier face first).
    face_ref: i64,
    face_token: String,
}

/// A user of a group, as search results need it.
pub(crate) struct UserSlot {
    /// The user's `users.id` in SQLite: breaks similarity ties between users
    /// (earlier-created user first).
    pub(crate) user_ref: i64,
    pub(crate) user_id: String,
    pub(crate) user_info: String,
    /// The matrix rows of the user's faces (at most
    /// [`MAX_FACES_PER_USER`](crate::MAX_FACES_PER_USER), so short).
    rows: Vec<u32>,
}

/// One user's best face for one query: what a search keeps per user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Best {
    /// The user's slot in the group.
    pub(crate) slot: u32,
    /// The matrix row of the user's best face.
    pub(crate) row: u32,
    /// Cosine similarity of that face with the query.
    pub(crate) similarity: f32,
}

/// One group's vectors and users; see the module documentation.
pub(crate) struct GroupIndex {
    /// The group's `face_groups.id` in SQLite.
    #[cfg_attr(not(test), allow(dead_code))] // compared by the restart tests
    group_ref: i64,
    /// Embedding length; 0 until the group's dimension is known.
    dim: usize,
    /// The model all rows come from; `None` until known.
    model_id: Option<String>,
    /// `rows.len() × dim` values, row-major, each row unit-length.
    matrix: Vec<f32>,
    rows: Vec<FaceRow>,
    users: Vec<UserSlot>,
    user_slots: HashMap<String, u32>,
}

impl GroupIndex {
    /// An empty group; `dim`/`model_id` come from SQLite when known.
    pub(crate) fn new(group_ref: i64, dim: usize, model_id: Option<String>) -> Self {
        GroupIndex {
            group_ref,
            dim,
            model_id,
            matrix: Vec::new(),
            rows: Vec::new(),
            users: Vec::new(),
            user_slots: HashMap::new(),
        }
    }

    /// Reserves room for `faces` more faces and `users` more users, so that
    /// loading a large group does not reallocate (and transiently double)
    /// its matrix.
    pub(crate) fn reserve(&mut self, faces: usize, users: usize) {
        self.matrix.reserve_exact(faces.saturating_mul(self.dim));
        self.rows.reserve_exact(faces);
        self.users.reserve_exact(users);
        self.user_slots.reserve(users);
    }

    /// Number of faces.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Number of users.
    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The model the group's faces come from, if it ever held one.
    pub(crate) fn model_id(&self) -> Option<&str> {
        self.model_id.as_deref()
    }

    /// The group's embedding dimension (0 if it never held a face).
    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// The slot of a user, if the group has it.
    pub(crate) fn user_slot(&self, user_id: &str) -> Option<u32> {
        self.user_slots.get(user_id).copied()
    }

    /// The user in a slot.
    pub(crate) fn user(&self, slot: u32) -> &UserSlot {
        &self.users[slot as usize]
    }

    /// How many faces the user in a slot has.
    pub(crate) fn user_face_count(&self, slot: u32) -> usize {
        self.users[slot as usize].rows.len()
    }

    /// The face_token of a row.
    pub(crate) fn face_token(&self, row: u32) -> &str {
        &self.rows[row as usize].face_token
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.matrix[i * self.dim..(i + 1) * self.dim]
    }

    /// Adds the user or updates its `user_info`; returns its slot.
    pub(crate) fn upsert_user(&mut self, user_ref: i64, user_id: &str, user_info: &str) -> u32 {
        if let Some(&slot) = self.user_slots.get(user_id) {
            let user = &mut self.users[slot as usize];
            if user.user_info != user_info {
                user.user_info = user_info.to_owned();
            }
            return slot;
        }
        let slot = u32::try_from(self.users.len()).unwrap_or(u32::MAX);
        self.users.push(UserSlot {
            user_ref,
            user_id: user_id.to_owned(),
            user_info: user_info.to_owned(),
            rows: Vec::new(),
        });
        self.user_slots.insert(user_id.to_owned(), slot);
        slot
    }

    /// Removes every face of a user (the user stays, without faces).
    pub(crate) fn remove_user_faces(&mut self, slot: u32) {
        while let Some(&row) = self.users[slot as usize].rows.last() {
            self.swap_remove_row(row as usize);
        }
    }

    /// Removes one face of a user, found by its `faces.id`; returns whether
    /// it was there.
    pub(crate) fn remove_face(&mut self, slot: u32, face_ref: i64) -> bool {
        let found = self.users[slot as usize]
            .rows
            .iter()
            .copied()
            .find(|&row| self.rows[row as usize].face_ref == face_ref);
        match found {
            Some(row) => {
                self.swap_remove_row(row as usize);
                true
            }
            None => false,
        }
    }

    /// Removes a user and its faces. The last user moves into the freed
    /// slot, and its rows are renumbered.
    pub(crate) fn remove_user(&mut self, slot: u32) {
        self.remove_user_faces(slot);
        let index = slot as usize;
        let removed = self.users.swap_remove(index);
        self.user_slots.remove(&removed.user_id);
        if let Some(moved) = self.users.get(index) {
            for &row in &moved.rows {
                self.rows[row as usize].user = slot;
            }
            self.user_slots.insert(moved.user_id.clone(), slot);
        }
    }

    /// Removes row `i`, moving the last row into its place and fixing the
    /// row lists of both owners.
    fn swap_remove_row(&mut self, i: usize) {
        let last = self.rows.len() - 1;
        let owner = self.rows[i].user as usize;
        let rows = &mut self.users[owner].rows;
        if let Some(pos) = rows.iter().position(|&r| r as usize == i) {
            rows.swap_remove(pos);
        }
        if i != last {
            let (head, tail) = self.matrix.split_at_mut(last * self.dim);
            head[i * self.dim..(i + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
            let moved_owner = self.rows[last].user as usize;
            for r in &mut self.users[moved_owner].rows {
                if *r as usize == last {
                    *r = i as u32;
                }
            }
        }
        self.matrix.truncate(last * self.dim);
        self.rows.swap_remove(i);
    }

    /// Appends a face. The caller has checked the model and dimension
    /// against SQLite; a group without faces adopts the face's.
    pub(crate) fn push_face(
        &mut self,
        user: u32,
        face_ref: i64,
        face_token: &str,
        model_id: &str,
        embedding: &[f32],
    ) {
        if self.rows.is_empty() {
            self.dim = embedding.len();
            if self.model_id.as_deref() != Some(model_id) {
                self.model_id = Some(model_id.to_owned());
            }
            self.matrix.clear();
        }
        debug_assert_eq!(embedding.len(), self.dim);
        let row = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
        self.matrix.extend_from_slice(embedding);
        self.rows.push(FaceRow {
            user,
            face_ref,
            face_token: face_token.to_owned(),
        });
        self.users[user as usize].rows.push(row);
    }

    /// Whether face `row` (similarity `sim`) beats the current best face
    /// `best_row` (similarity `best_sim`) of the same user.
    fn face_beats(&self, sim: f32, row: usize, best_sim: f32, best_row: usize) -> bool {
        sim > best_sim
            || (sim == best_sim && self.rows[row].face_ref < self.rows[best_row].face_ref)
    }

    /// The search order of two users' best faces: higher similarity first,
    /// then the earlier-created user.
    fn user_order(&self, a: &Best, b: &Best) -> Ordering {
        b.similarity.total_cmp(&a.similarity).then_with(|| {
            self.users[a.slot as usize]
                .user_ref
                .cmp(&self.users[b.slot as usize].user_ref)
        })
    }

    /// For each query, the best face of each of the `k` best users (only of
    /// user `only` when set), in search order: descending similarity, ties
    /// to the earlier-created user; a user's best face is its most similar,
    /// ties to the earlier-registered face. Queries must be unit-length;
    /// ones not of the group's dimension get no results.
    ///
    /// All queries share one pass over the matrix.
    pub(crate) fn best_users(
        &self,
        queries: &[Vec<f32>],
        only: Option<u32>,
        k: usize,
    ) -> Vec<Vec<Best>> {
        let mut out: Vec<Vec<Best>> = vec![Vec::new(); queries.len()];
        if k == 0 || self.rows.is_empty() || self.dim == 0 {
            return out;
        }
        let usable: Vec<usize> = (0..queries.len())
            .filter(|&q| queries[q].len() == self.dim)
            .collect();
        if usable.is_empty() {
            return out;
        }
        let queries: Vec<&[f32]> = usable.iter().map(|&q| queries[q].as_slice()).collect();
        let found = match only {
            Some(slot) => self.best_of_user(&queries, slot),
            None if k >= self.users.len() || k > MAX_TOP_K => self.best_all_users(&queries, k),
            None => self.best_top_k(&queries, k),
        };
        for (q, hits) in usable.into_iter().zip(found) {
            out[q] = hits;
        }
        out
    }

    /// One user's best face per query.
    fn best_of_user(&self, queries: &[&[f32]], slot: u32) -> Vec<Vec<Best>> {
        let rows = &self.users[slot as usize].rows;
        queries
            .iter()
            .map(|query| {
                let mut best: Option<Best> = None;
                for &row in rows {
                    let sim = dot(query, self.row(row as usize));
                    if best.is_none_or(|b| {
                        self.face_beats(sim, row as usize, b.similarity, b.row as usize)
                    }) {
                        best = Some(Best {
                            slot,
                            row,
                            similarity: sim,
                        });
                    }
                }
                best.into_iter().collect()
            })
            .collect()
    }

    /// Every user's best face per query, then the `k` best users: for large
    /// `k` (or a `k` that keeps everyone anyway).
    fn best_all_users(&self, queries: &[&[f32]], k: usize) -> Vec<Vec<Best>> {
        const NO_ROW: u32 = u32::MAX;
        let users = self.users.len();
        if users == 0 {
            return vec![Vec::new(); queries.len()];
        }
        let mut best = vec![(f32::NEG_INFINITY, NO_ROW); users * queries.len()];
        for (i, (vector, row)) in self
            .matrix
            .chunks_exact(self.dim)
            .zip(self.rows.iter())
            .enumerate()
        {
            for (q, query) in queries.iter().enumerate() {
                let sim = dot(query, vector);
                let entry = &mut best[q * users + row.user as usize];
                if sim > entry.0
                    || (sim == entry.0
                        && (entry.1 == NO_ROW
                            || self.face_beats(sim, i, entry.0, entry.1 as usize)))
                {
                    *entry = (sim, i as u32);
                }
            }
        }
        best.chunks_exact(users)
            .map(|per_user| {
                let mut hits: Vec<Best> = per_user
                    .iter()
                    .enumerate()
                    .filter(|(_, &(_, row))| row != NO_ROW)
                    .map(|(slot, &(similarity, row))| Best {
                        slot: slot as u32,
                        row,
                        similarity,
                    })
                    .collect();
                hits.sort_unstable_by(|a, b| self.user_order(a, b));
                hits.truncate(k);
                hits
            })
            .collect()
    }

    /// The `k` best users per query, keeping only a sorted list of `k`
    /// candidates: a row is looked at beyond its dot product only when it
    /// could enter the list. Exact: a user evicted from the list had a best
    /// face no better than the list's floor, which only rises.
    fn best_top_k(&self, queries: &[&[f32]], k: usize) -> Vec<Vec<Best>> {
        let mut lists: Vec<TopUsers> = queries.iter().map(|_| TopUsers::new(k)).collect();
        for (i, (vector, row)) in self
            .matrix
            .chunks_exact(self.dim)
            .zip(self.rows.iter())
            .enumerate()
        {
            for (query, list) in queries.iter().zip(lists.iter_mut()) {
                let sim = dot(query, vector);
                if sim >= list.floor {
                    list.offer(
                        self,
                        Best {
                            slot: row.user,
                            row: i as u32,
                            similarity: sim,
                        },
                    );
                }
            }
        }
        lists.into_iter().map(|list| list.hits).collect()
    }

    /// Checks the cross-references between rows, users and the matrix
    /// (tests only).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert_eq!(self.matrix.len(), self.rows.len() * self.dim);
        assert_eq!(self.users.len(), self.user_slots.len());
        let mut seen = vec![false; self.rows.len()];
        for (slot, user) in self.users.iter().enumerate() {
            assert_eq!(self.user_slots.get(&user.user_id), Some(&(slot as u32)));
            for &row in &user.rows {
                assert_eq!(self.rows[row as usize].user, slot as u32);
                assert!(!seen[row as usize], "row {row} listed twice");
                seen[row as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "a row is listed by no user");
    }
}

/// A query's `k` best users so far, best first; see
/// [`GroupIndex::best_top_k`].
struct TopUsers {
    k: usize,
    hits: Vec<Best>,
    /// The similarity a face needs to possibly enter: the last hit's once the
    /// list is full, −∞ before.
    floor: f32,
}

impl TopUsers {
    fn new(k: usize) -> Self {
        TopUsers {
            k,
            hits: Vec::with_capacity(k.min(MAX_TOP_K) + 1),
            floor: f32::NEG_INFINITY,
        }
    }

    /// Considers one face of a user.
    fn offer(&mut self, group: &GroupIndex, candidate: Best) {
        let better = |a: &Best, b: &Best| group.user_order(a, b) == Ordering::Less;
        if let Some(pos) = self.hits.iter().position(|h| h.slot == candidate.slot) {
            let current = self.hits[pos];
            if !group.face_beats(
                candidate.similarity,
                candidate.row as usize,
                current.similarity,
                current.row as usize,
            ) {
                return;
            }
            self.hits[pos] = candidate;
            let mut p = pos;
            while p > 0 && better(&self.hits[p], &self.hits[p - 1]) {
                self.hits.swap(p, p - 1);
                p -= 1;
            }
        } else {
            if self.hits.len() == self.k {
                match self.hits.last() {
                    Some(last) if better(&candidate, last) => {
                        self.hits.pop();
                    }
                    _ => return,
                }
            }
            let at = self.hits.partition_point(|h| better(h, &candidate));
            self.hits.insert(at, candidate);
        }
        if self.hits.len() == self.k {
            if let Some(last) = self.hits.last() {
                self.floor = last.similarity;
            }
        }
    }
}

/// Dot product written so the compiler vectorises it: eight independent
/// accumulators over fixed-size chunks (no loop-carried dependency on one
/// sum, no bounds checks in the hot loop), then the tail.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Returns the L2-normalised copy of an embedding, rejecting empty,
/// zero-norm and non-finite vectors (they cannot be compared meaningfully).
pub(crate) fn normalized(embedding: &[f32]) -> Result<Vec<f32>, LibraryError> {
    if embedding.is_empty() {
        return Err(LibraryError::InvalidEmbedding("empty"));
    }
    if embedding.iter().any(|v| !v.is_finite()) {
        return Err(LibraryError::InvalidEmbedding("not finite"));
    }
    let norm = embedding
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return Err(LibraryError::InvalidEmbedding("zero norm"));
    }
    Ok(embedding
        .iter()
        .map(|&v| (f64::from(v) / norm) as f32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::Rng;

    #[test]
    fn dot_matches_naive_for_all_tail_lengths() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-4, "n={n}");
        }
    }

    #[test]
    fn normalized_rejects_degenerate_vectors() {
        assert!(normalized(&[]).is_err());
        assert!(normalized(&[0.0, 0.0]).is_err());
        assert!(normalized(&[f32::NAN, 1.0]).is_err());
        let v = normalized(&[3.0, 4.0]).unwrap();
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn swap_remove_keeps_rows_and_matrix_in_step() {
        let mut g = GroupIndex::new(1, 0, None);
        let a = g.upsert_user(10, "a", "");
        let b = g.upsert_user(11, "b", "");
        g.push_face(a, 1, "a1", "m", &[1.0, 0.0]);
        g.push_face(b, 2, "b1", "m", &[0.0, 1.0]);
        g.push_face(a, 3, "a2", "m", &[0.6, 0.8]);
        g.push_face(b, 4, "b2", "m", &[0.8, 0.6]);
        g.remove_user_faces(a);
        g.check_invariants();
        assert_eq!(g.len(), 2);
        for (i, row) in g.rows.iter().enumerate() {
            let expected: &[f32] = match row.face_token.as_str() {
                "b1" => &[0.0, 1.0],
                "b2" => &[0.8, 0.6],
                other => panic!("unexpected row {other}"),
            };
            assert_eq!(g.row(i), expected);
        }
        let hits = g.best_users(&[vec![1.0, 0.0]], None, 10);
        assert_eq!(hits[0].len(), 1);
        assert_eq!(g.face_token(hits[0][0].row), "b2");
    }

    #[test]
    fn removing_faces_and_users_keeps_the_cross_references() {
        let mut g = GroupIndex::new(1, 0, None);
        let mut face_ref = 0;
        for u in 0..6 {
            let slot = g.upsert_user(100 + u, &format!("u{u}"), "");
            for _ in 0..4 {
                face_ref += 1;
                g.push_face(slot, face_ref, &format!("f{face_ref}"), "m", &[1.0, 0.0]);
            }
        }
        assert!(g.remove_face(g.user_slot("u2").unwrap(), 10));
        assert!(!g.remove_face(g.user_slot("u2").unwrap(), 10));
        g.check_invariants();
        g.remove_user(g.user_slot("u0").unwrap());
        g.check_invariants();
        g.remove_user(g.user_slot("u5").unwrap());
        g.check_invariants();
        assert_eq!(g.len(), 4 * 4 - 1);
        assert_eq!(g.user_count(), 4);
        assert!(g.user_slot("u0").is_none());
        assert_eq!(g.user_face_count(g.user_slot("u2").unwrap()), 3);
        let again = g.upsert_user(200, "u0", "back");
        g.push_face(again, 99, "f99", "m", &[0.0, 1.0]);
        g.check_invariants();
    }

    #[test]
    fn top_k_matches_keeping_every_user() {
        let mut rng = rand::rng();
        let dim = 8;
        for round in 0..20 {
            let mut g = GroupIndex::new(1, 0, None);
            let users = rng.random_range(1..60);
            // Users in shuffled creation order, so ties exercise user_ref.
            let mut user_refs: Vec<i64> = (0..users).collect();
            user_refs.shuffle(&mut rng);
            let mut face_ref = 0;
            for (u, &user_ref) in user_refs.iter().enumerate() {
                let slot = g.upsert_user(user_ref, &format!("u{u}"), "");
                for _ in 0..rng.random_range(1..5) {
                    face_ref += 1;
                    // Coarse values make exact ties common.
                    let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-2..3) as f32).collect();
                    let v = normalized(&v).unwrap_or_else(|_| {
                        let mut e = vec![0.0; dim];
                        e[0] = 1.0;
                        e
                    });
                    g.push_face(slot, face_ref, &format!("f{face_ref}"), "m", &v);
                }
            }
            if round % 2 == 0 {
                g.remove_user(0);
            }
            let queries: Vec<Vec<f32>> = (0..3)
                .map(|_| {
                    let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
                    normalized(&v).unwrap()
                })
                .collect();
            let refs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
            for k in [1, 2, 5, 17, 1000] {
                assert_eq!(g.best_top_k(&refs, k), g.best_all_users(&refs, k), "k={k}");
            }
        }
    }
}
