//! Deleting groups without blocking the server (`group/delete`).
//!
//! A group of a few thousand rows is deleted at once: one transaction, the
//! cascade does the rest. A larger one would hold the writer lock (and
//! stall every enrolment) for as long as SQLite needs to free its pages, so
//! it is deleted in two phases:
//!
//! 1. [`Library::delete_group`] marks the group `deleting` in one short
//!    transaction and, before releasing the writer lock, replaces it in the
//!    index by a "deleting" marker. From then on the group is never found:
//!    every operation naming it answers [`LibraryError::GroupDeleting`]
//!    (Baidu `223128`), listings skip it, and its vectors are freed.
//! 2. A background thread (started by [`Library::open`]) deletes its faces,
//!    then its users, at most [`DELETE_BATCH`] rows per transaction, taking
//!    the writer lock per batch so other writes interleave; the last batch
//!    deletes the group row and forgets the marker, after which the group id
//!    is simply absent (`GroupNotFound`, and free for `create_group`).
//!
//! The mark is durable, so a deletion interrupted by a shutdown or crash
//! resumes when the library is next opened.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::db::to_sql_int;
use crate::error::LibraryError;
use crate::faces::find_group;
use crate::index::Index;
use crate::Library;

/// Rows (faces, or users once the faces are gone) deleted per transaction,
/// and the size up to which a group is deleted synchronously.
pub(crate) const DELETE_BATCH: usize = 5_000;

/// How long the deletion thread waits after a failed batch (disk full, …)
/// before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// How often [`Library::wait_for_deletions`] re-checks, at most, between
/// wake-ups.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// Wakes the deletion thread, and waiters when a group is gone.
#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    changed: Condvar,
}

#[derive(Default)]
struct SignalState {
    /// A group was marked deleting since the thread last looked.
    wake: bool,
    /// The library is being dropped: finish the current batch and exit.
    stop: bool,
}

/// The background deletion thread, if one runs, and its signal.
pub(crate) struct Deleter {
    signal: Arc<Signal>,
    worker: Option<JoinHandle<()>>,
    /// Rows per transaction.
    batch: usize,
}

impl Deleter {
    /// Starts the thread (when `background`) and wakes it at once, so that
    /// deletions interrupted by the last shutdown resume.
    pub(crate) fn start(
        writer: &Arc<Mutex<Connection>>,
        index: &Arc<Index>,
        background: bool,
        batch: usize,
    ) -> Result<Deleter, LibraryError> {
        let batch = batch.max(1);
        let signal = Arc::new(Signal::default());
        let worker = if background {
            signal.state.lock().wake = true;
            let (writer, index, signal) =
                (Arc::clone(writer), Arc::clone(index), Arc::clone(&signal));
            let handle = std::thread::Builder::new()
                .name("faced-group-delete".into())
                .spawn(move || run_worker(&writer, &index, &signal, batch))
                .map_err(LibraryError::Thread)?;
            Some(handle)
        } else {
            None
        };
        Ok(Deleter {
            signal,
            worker,
            batch,
        })
    }

    /// Tells the thread there is work.
    fn wake(&self) {
        self.signal.state.lock().wake = true;
        self.signal.changed.notify_all();
    }

    /// Stops the thread after its current batch and waits for it; what is
    /// left resumes at the next open.
    pub(crate) fn shutdown(&mut self) {
        self.signal.state.lock().stop = true;
        self.signal.changed.notify_all();
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                tracing::error!("the group deletion thread panicked");
            }
        }
    }
}

/// The deletion thread: sleeps until woken, then deletes batches until no
/// group is marked deleting.
fn run_worker(writer: &Mutex<Connection>, index: &Index, signal: &Signal, batch: usize) {
    loop {
        {
            let mut state = signal.state.lock();
            while !state.wake && !state.stop {
                signal.changed.wait(&mut state);
            }
            if state.stop {
                return;
            }
            state.wake = false;
        }
        loop {
            if signal.state.lock().stop {
                return;
            }
            match delete_batch(writer, index, batch) {
                Ok(Progress::Idle) => break,
                Ok(Progress::Working) => {}
                Ok(Progress::Finished) => {
                    signal.changed.notify_all();
                }
                Err(err) => {
                    tracing::error!(error = %err, "group deletion failed; retrying");
                    let mut state = signal.state.lock();
                    if !state.stop {
                        signal.changed.wait_for(&mut state, RETRY_AFTER);
                    }
                }
            }
        }
        signal.changed.notify_all();
    }
}

/// What one call of [`delete_batch`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// No group is marked deleting.
    Idle,
    /// Deleted some rows of a group; more remain.
    Working,
    /// Deleted a group's last rows and the group itself.
    Finished,
}

/// Deletes up to `batch` rows of the oldest group marked deleting, in one
/// transaction under the writer lock: faces first (their crops cascade),
/// then users, then the group row, which also removes its marker from the
/// index.
fn delete_batch(
    writer: &Mutex<Connection>,
    index: &Index,
    batch: usize,
) -> Result<Progress, LibraryError> {
    let mut conn = writer.lock();
    let target: Option<(i64, String, String)> = conn
        .prepare_cached(
            "SELECT id, app_id, group_id FROM face_groups WHERE deleting = 1 ORDER BY id LIMIT 1",
        )?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((group_ref, app_id, group_id)) = target else {
        return Ok(Progress::Idle);
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let faces = tx
        .prepare_cached(
            "DELETE FROM faces WHERE id IN (SELECT id FROM faces WHERE group_ref = ?1 LIMIT ?2)",
        )?
        .execute(params![group_ref, to_sql_int(batch)])?;
    let mut finished = false;
    if faces < batch {
        let room = batch - faces;
        let users = tx
            .prepare_cached("DELETE FROM users WHERE id IN (SELECT id FROM users WHERE group_ref = ?1 LIMIT ?2)")?
            .execute(params![group_ref, to_sql_int(room)])?;
        if users < room {
            tx.execute("DELETE FROM face_groups WHERE id = ?1", params![group_ref])?;
            finished = true;
        }
    }
    tx.commit()?;
    if finished {
        crate::db::scrub(&conn);
        index.remove_group(&app_id, &group_id);
        tracing::info!(app_id, group_id, "deleted group");
        Ok(Progress::Finished)
    } else {
        Ok(Progress::Working)
    }
}

impl Library {
    /// Deletes a group with all its users, faces and crops
    /// (`group/delete`).
    ///
    /// A group of at most a few thousand rows is deleted before this
    /// returns. A larger one is marked as being deleted and emptied by a
    /// background thread: this returns at once, the group disappears from
    /// searches and listings immediately, every operation naming it answers
    /// `GroupDeleting` until the deletion completes, and `GroupNotFound`
    /// after. See the `deletion` module documentation.
    ///
    /// Errors: `GroupNotFound`, `GroupDeleting` (already being deleted).
    pub fn delete_group(&self, app_id: &str, group_id: &str) -> Result<(), LibraryError> {
        let mut conn = self.writer.lock();
        let group = find_group(&conn, app_id, group_id)?;
        let rows = self.index.group(app_id, group_id).map_or(0, |g| {
            let g = g.read();
            g.len() + g.user_count()
        });
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if rows <= self.deleter.batch {
            // Users, faces and crops cascade.
            tx.execute("DELETE FROM face_groups WHERE id = ?1", params![group.id])?;
            tx.commit()?;
            crate::db::scrub(&conn);
            self.index.remove_group(app_id, group_id);
            return Ok(());
        }
        tx.execute(
            "UPDATE face_groups SET deleting = 1 WHERE id = ?1",
            params![group.id],
        )?;
        tx.commit()?;
        self.index.mark_deleting(app_id, group_id);
        drop(conn);
        tracing::info!(app_id, group_id, rows, "deleting group in the background");
        self.deleter.wake();
        Ok(())
    }

    /// Finishes every pending group deletion on the calling thread, batch
    /// by batch (the background thread may work alongside). Useful for
    /// maintenance tools and tests; the server need not call it.
    pub fn run_pending_deletions(&self) -> Result<(), LibraryError> {
        loop {
            match delete_batch(&self.writer, &self.index, self.deleter.batch)? {
                Progress::Idle => break,
                Progress::Working => {}
                Progress::Finished => {
                    self.deleter.signal.changed.notify_all();
                }
            }
        }
        self.deleter.signal.changed.notify_all();
        Ok(())
    }

    /// Waits until no group is being deleted, or `timeout` has passed;
    /// returns whether all deletions are complete.
    pub fn wait_for_deletions(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.index.deleting_count() == 0 {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let mut state = self.deleter.signal.state.lock();
            self.deleter
                .signal
                .changed
                .wait_for(&mut state, (deadline - now).min(WAIT_POLL));
        }
    }
}

#[cfg(test)]
impl Library {
    /// Deletes one batch of pending deletions; returns whether a group was
    /// finished (tests drive partial deletions with it).
    pub(crate) fn delete_one_batch(&self) -> Result<bool, LibraryError> {
        Ok(delete_batch(&self.writer, &self.index, self.deleter.batch)? == Progress::Finished)
    }
}
