//! Workers over a [`WorkQueue`]: each takes a key, syncs it, and on failure queues it
//! again with backoff — up to [`MAX_RETRIES`] times, then drops it, as upstream's
//! controllers do (the next change to the object queues it afresh).

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use crate::manager::Context;
use crate::workqueue::WorkQueue;

/// Failures after which a key is dropped until its next change.
pub const MAX_RETRIES: u32 = 15;

/// What a successful sync asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Nothing more.
    No,
    /// Look again after this long (e.g. minReadySeconds, a deadline).
    After(Duration),
}

/// Runs `workers` workers syncing keys from `queue` until the manager stops; then the
/// queue is shut down and the workers finish the keys they hold.
pub async fn run_workers<F, Fut, E>(
    controller: &'static str,
    ctx: &Context,
    queue: WorkQueue<String>,
    workers: usize,
    sync: F,
) where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Requeue, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers.max(1) {
        let queue = queue.clone();
        let sync = sync.clone();
        handles.push(tokio::spawn(async move {
            while let Some(key) = queue.get().await {
                match sync(key.clone()).await {
                    Ok(requeue) => {
                        queue.forget(&key);
                        if let Requeue::After(delay) = requeue {
                            queue.add_after(key.clone(), delay);
                        }
                    }
                    Err(error) => {
                        if queue.retries(&key) < MAX_RETRIES {
                            tracing::debug!(controller, %key, %error, "sync failed; retrying");
                            queue.add_rate_limited(key.clone());
                        } else {
                            tracing::warn!(controller, %key, %error, "sync failed; dropped");
                            queue.forget(&key);
                        }
                    }
                }
                queue.done(&key);
            }
        }));
    }
    ctx.stopped().await;
    queue.shut_down();
    for handle in handles {
        let _ = handle.await;
    }
}
