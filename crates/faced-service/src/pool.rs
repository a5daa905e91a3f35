//! The bounded inference pool: CPU-heavy work runs on at most `workers` threads at once, at
//! most `queue` requests wait for them, and anything beyond is refused at once.
//!
//! Refusing early (Baidu's code 4) keeps the latency of admitted requests bounded instead of
//! letting a queue grow without limit under overload.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

/// Why work was not done.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PoolError {
    /// Every worker is busy and the queue is full.
    #[error("inference queue is full")]
    Overloaded,
    /// The work panicked or was cancelled (a bug; logged by the caller).
    #[error("inference task failed")]
    Failed,
}

/// A pool sized to the machine.
#[derive(Clone)]
pub struct InferencePool {
    workers: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
}

impl InferencePool {
    /// A pool of `workers` threads with room for `queue` waiting requests.
    pub fn new(workers: usize, queue: usize) -> Self {
        Self {
            workers: Arc::new(Semaphore::new(workers.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
        }
    }

    /// Runs `work` on a blocking thread once a worker is free, or refuses at once.
    pub async fn run<T, F>(&self, work: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = match self.workers.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(PoolError::Overloaded);
                }
                let permit = self.workers.clone().acquire_owned().await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                permit.map_err(|_| PoolError::Failed)?
            }
        };
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await;
        result.map_err(|_| PoolError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once() {
        let pool = InferencePool::new(1, 1);
        let slow = |ms| move || std::thread::sleep(Duration::from_millis(ms));
        let busy = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(slow(300)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(slow(1)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.run(slow(1)).await, Err(PoolError::Overloaded));
        assert_eq!(busy.await.ok(), Some(Ok(())));
        assert_eq!(queued.await.ok(), Some(Ok(())));
    }
}
