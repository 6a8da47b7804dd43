//! A rate-limited work queue, as client-go's `workqueue.RateLimitingInterface`: a key is
//! queued at most once, never handed to two workers at once (a key added while it is
//! being processed is queued again when the worker is done), and failures come back
//! after a per-key exponential backoff (5 ms doubling to 1000 s) that `forget` resets.
//! A key may also be told to rest (`rest`): until then it is not handed out, and adds wait.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// First retry delay of a failing key.
pub const BASE_DELAY: Duration = Duration::from_millis(5);
/// Longest retry delay.
pub const MAX_DELAY: Duration = Duration::from_secs(1000);
/// Resting keys remembered before those whose rest is over are dropped.
const RESTING_PRUNE_AT: usize = 1024;

#[derive(Debug)]
struct State<T> {
    queue: VecDeque<T>,
    /// Keys waiting in `queue` or to be re-queued when their worker is done.
    dirty: HashSet<T>,
    /// Keys a worker holds.
    processing: HashSet<T>,
    /// Delayed adds: when → keys.
    waiting: BTreeMap<(Instant, u64), T>,
    /// Earliest delayed add per key (a later one for the same key is dropped).
    waiting_at: HashMap<T, Instant>,
    failures: HashMap<T, u32>,
    /// Keys not to hand out before the given time.
    resting: HashMap<T, Instant>,
    seq: u64,
    shut: bool,
}

/// A cloneable handle on one queue.
#[derive(Debug)]
pub struct WorkQueue<T> {
    state: Arc<Mutex<State<T>>>,
    notify: Arc<Notify>,
}

impl<T> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            notify: self.notify.clone(),
        }
    }
}

impl<T: Clone + Eq + Hash> Default for WorkQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone + Eq + Hash> WorkQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
                waiting: BTreeMap::new(),
                waiting_at: HashMap::new(),
                failures: HashMap::new(),
                resting: HashMap::new(),
                seq: 0,
                shut: false,
            })),
            notify: Arc::new(Notify::new()),
        }
    }

    /// Queues `key` now (a no-op if it is already queued).
    pub fn add(&self, key: T) {
        let mut s = self.state.lock();
        if s.shut || s.dirty.contains(&key) {
            return;
        }
        s.dirty.insert(key.clone());
        if !s.processing.contains(&key) {
            s.queue.push_back(key);
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Queues `key` after `delay` (an earlier pending delayed add wins).
    pub fn add_after(&self, key: T, delay: Duration) {
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let at = Instant::now() + delay;
        let mut s = self.state.lock();
        if s.shut {
            return;
        }
        wait_until(&mut s, key, at);
        drop(s);
        // Wake a worker so it recomputes when to wake next.
        self.notify.notify_one();
    }

    /// Holds `key` back until `until`: it is not handed out before then, however often it
    /// is added (the adds meanwhile make one, at `until`).
    pub fn rest(&self, key: T, until: Instant) {
        let mut s = self.state.lock();
        if s.resting.len() >= RESTING_PRUNE_AT {
            let now = Instant::now();
            s.resting.retain(|_, at| *at > now);
        }
        s.resting.insert(key, until);
    }

    /// Queues `key` after its backoff, and lengthens the backoff.
    pub fn add_rate_limited(&self, key: T) {
        let delay = {
            let mut s = self.state.lock();
            let n = s.failures.entry(key.clone()).or_insert(0);
            let delay = backoff(*n);
            *n = n.saturating_add(1);
            delay
        };
        self.add_after(key, delay);
    }

    /// Resets `key`'s backoff (it succeeded).
    pub fn forget(&self, key: &T) {
        self.state.lock().failures.remove(key);
    }

    /// How many times `key` has failed since it was last forgotten.
    pub fn retries(&self, key: &T) -> u32 {
        self.state.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// The next key to work on; `None` once the queue is shut down. Call [`Self::done`]
    /// with it afterwards.
    pub async fn get(&self) -> Option<T> {
        loop {
            // Registered before looking, so a wake-up between the look and the wait is kept.
            let notified = self.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            let wake_at = {
                let mut s = self.state.lock();
                if s.shut {
                    return None;
                }
                promote_due(&mut s);
                while let Some(key) = s.queue.pop_front() {
                    s.dirty.remove(&key);
                    if let Some(&until) = s.resting.get(&key) {
                        if until > Instant::now() {
                            wait_until(&mut s, key, until);
                            continue;
                        }
                        s.resting.remove(&key);
                    }
                    s.processing.insert(key.clone());
                    // Others may be waiting and more work may be queued.
                    if !s.queue.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(key);
                }
                s.waiting.keys().next().map(|(at, _)| *at)
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Marks `key` processed; if it was added meanwhile, it is queued again.
    pub fn done(&self, key: &T) {
        let mut s = self.state.lock();
        s.processing.remove(key);
        if s.dirty.contains(key) {
            s.queue.push_back(key.clone());
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Stops handing out keys; every `get` returns `None`.
    pub fn shut_down(&self) {
        self.state.lock().shut = true;
        self.notify.notify_waiters();
    }

    /// Keys queued now (not counting delayed ones).
    pub fn len(&self) -> usize {
        self.state.lock().queue.len()
    }

    /// Whether nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Records a delayed add of `key` at `at` (an earlier pending one for the key wins).
fn wait_until<T: Clone + Eq + Hash>(s: &mut State<T>, key: T, at: Instant) {
    if let Some(existing) = s.waiting_at.get(&key) {
        if *existing <= at {
            return;
        }
        let existing = *existing;
        s.waiting
            .retain(|(when, _), k| !(*when == existing && *k == key));
    }
    s.seq += 1;
    let seq = s.seq;
    s.waiting.insert((at, seq), key.clone());
    s.waiting_at.insert(key, at);
}

/// Moves delayed keys whose time has come into the queue.
fn promote_due<T: Clone + Eq + Hash>(s: &mut State<T>) {
    let now = Instant::now();
    while let Some(entry) = s.waiting.first_entry() {
        if entry.key().0 > now {
            break;
        }
        let key = entry.remove();
        s.waiting_at.remove(&key);
        if s.dirty.insert(key.clone()) && !s.processing.contains(&key) {
            s.queue.push_back(key);
        }
    }
}

/// The delay after `failures` failures: 5 ms · 2ⁿ, at most 1000 s.
pub fn backoff(failures: u32) -> Duration {
    let factor = 1u64.checked_shl(failures.min(40)).unwrap_or(u64::MAX);
    BASE_DELAY
        .checked_mul(u32::try_from(factor).unwrap_or(u32::MAX))
        .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        assert_eq!(backoff(0), Duration::from_millis(5));
        assert_eq!(backoff(1), Duration::from_millis(10));
        assert_eq!(backoff(10), Duration::from_millis(5120));
        assert_eq!(backoff(18), MAX_DELAY);
        assert_eq!(backoff(u32::MAX), MAX_DELAY);
    }

    #[tokio::test]
    async fn a_key_is_queued_once_and_never_held_twice() {
        let q = WorkQueue::new();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        let a = q.get().await.unwrap();
        assert_eq!(a, "a");
        // Added while a worker holds it: not handed out again until done.
        q.add("a");
        assert_eq!(q.get().await.unwrap(), "b");
        assert!(q.is_empty());
        q.done(&"a");
        assert_eq!(q.get().await.unwrap(), "a");
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_and_rate_limited_adds() {
        let q = WorkQueue::new();
        q.add_after("late", Duration::from_secs(5));
        q.add_after("late", Duration::from_secs(9));
        let start = Instant::now();
        assert_eq!(q.get().await.unwrap(), "late");
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        q.done(&"late");
        q.add_rate_limited("x");
        q.add_rate_limited("y");
        assert_eq!(q.retries(&"x"), 1);
        assert_eq!(q.get().await.unwrap(), "x");
        q.done(&"x");
        q.add_rate_limited("x");
        let before = Instant::now();
        let _ = q.get().await.unwrap(); // y after 5 ms
        let x = q.get().await.unwrap();
        assert_eq!(x, "x");
        assert_eq!(before.elapsed(), Duration::from_millis(10));
        q.forget(&"x");
        assert_eq!(q.retries(&"x"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_resting_key_waits_out_its_rest_however_often_it_is_added() {
        let q = WorkQueue::new();
        q.add("slow");
        assert_eq!(q.get().await.unwrap(), "slow");
        let start = Instant::now();
        q.rest("slow", start + Duration::from_millis(300));
        // Added while held, and again after: handed out once, when the rest is over.
        q.add("slow");
        q.done(&"slow");
        q.add("slow");
        q.add("quick");
        assert_eq!(q.get().await.unwrap(), "quick");
        assert_eq!(start.elapsed(), Duration::ZERO);
        q.done(&"quick");
        assert_eq!(q.get().await.unwrap(), "slow");
        assert_eq!(start.elapsed(), Duration::from_millis(300));
        q.done(&"slow");
        assert!(q.is_empty());
        // The rest is over: added again, it is handed out at once.
        q.add("slow");
        assert_eq!(q.get().await.unwrap(), "slow");
        assert_eq!(start.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test]
    async fn shut_down_releases_workers() {
        let q: WorkQueue<&str> = WorkQueue::new();
        let worker = tokio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(worker.await.unwrap(), None);
    }
}
