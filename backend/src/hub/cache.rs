//! The hub's memory: one entry per resource, at most one GitLab request in flight per resource
//! (everyone who asks meanwhile waits for that one answer), the last good answer kept for
//! when GitLab fails, and a failure remembered briefly so that many readers of a failing
//! resource cost GitLab one request, not one each.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use crate::gitlab::{GitlabError, Result};
use crate::metrics::Metrics;

type InFlight<V> = Shared<BoxFuture<'static, Result<(V, usize)>>>;

/// How long a failed read is answered from memory: long enough that a crowd of readers costs
/// GitLab one request, short enough that a page reloaded after a blip asks again.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(5);

/// How long a refusal for lack of rights (403) is remembered, unless the project changes: a
/// token's role does not change from one second to the next, and a page asking every few
/// seconds (the runners of a project the token may not list) would cost GitLab a request each.
pub const REFUSAL_MEMORY: Duration = Duration::from_secs(60);

/// How long an answer too large to read is remembered (until the project changes): asking
/// again would read up to [`crate::gitlab::MAX_ANSWER`] from GitLab to learn the same.
pub const TOO_LARGE_MEMORY: Duration = Duration::from_secs(600);

/// What an answer stays good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Until the project changes (the hub bumps its version).
    Project(u64),
    /// Until this pipeline of the project changes.
    Pipeline(u64, u64),
    /// For a while, whatever happens (things that change without a pipeline changing).
    For(Duration),
    /// Until the project changes, and for a while at most (a running job's log grows).
    ProjectFor(u64, Duration),
    /// For good (commits between two shas).
    Forever,
}

/// How much the cache may hold; past either bound, the answers read longest ago go first.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub entries: usize,
    /// Estimated by [`Weigh`].
    pub bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            entries: 20_000,
            bytes: 256 << 20,
        }
    }
}

/// The estimated memory of a cached answer: a log by its bytes, anything else by the length
/// of its `Debug` text (which holds every string and number it carries), counted without
/// building the text.
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl<T: Weigh> Weigh for Arc<T> {
    fn weight(&self) -> usize {
        T::weight(self)
    }
}

/// Counts what would be written.
struct Counter(usize);

impl std::fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Weighs a value by its `Debug` text.
pub fn debug_weight(value: &impl std::fmt::Debug) -> usize {
    let mut counter = Counter(0);
    // Writing to a counter cannot fail.
    let _ = std::fmt::write(&mut counter, format_args!("{value:?}"));
    counter.0
}

struct Entry<V> {
    value: V,
    weight: usize,
    fetched: Instant,
    /// When a reader last had it: what `trim` and eviction go by.
    used: Instant,
    version: u64,
}

struct Failure {
    error: GitlabError,
    at: Instant,
    version: u64,
}

impl Failure {
    fn remembered(&self) -> bool {
        let memory = match self.error {
            GitlabError::TooLarge { .. } => TOO_LARGE_MEMORY,
            GitlabError::Forbidden { .. } => REFUSAL_MEMORY,
            _ => FAILURE_MEMORY,
        };
        self.at.elapsed() < memory
    }
}

struct Slot<V> {
    entry: Option<Entry<V>>,
    /// The last read's failure, while it is recent and nothing changed since.
    failed: Option<Failure>,
    /// The request in flight, the version it was asked at, and whether it has ended.
    loading: Option<(u64, InFlight<V>, Arc<AtomicBool>)>,
}

impl<V: Clone> Slot<V> {
    const EMPTY: Slot<V> = Slot {
        entry: None,
        failed: None,
        loading: None,
    };

    /// The last good answer, when `error` is GitLab failing (an outage) rather than refusing:
    /// what is served instead of the error.
    fn last_good(&self, error: &GitlabError) -> Option<V> {
        let entry = self.entry.as_ref().filter(|_| is_outage(error))?;
        Some(entry.value.clone())
    }

    /// Takes in a finished request whose readers all left before it ended.
    fn settle(&mut self) {
        let Some((version, shared, done)) = &self.loading else {
            return;
        };
        if !done.load(Ordering::SeqCst) {
            return;
        }
        // The task has ended, so its answer is ready without waiting. A newer answer stays.
        if let Some(Ok((value, weight))) = shared.clone().now_or_never()
            && self.entry.as_ref().is_none_or(|e| e.version <= *version)
        {
            self.entry = Some(Entry {
                value,
                weight,
                fetched: Instant::now(),
                used: Instant::now(),
                version: *version,
            });
        }
        self.loading = None;
    }
}

/// The answer of a read and whether GitLab gave it just now.
pub struct Read<T> {
    pub value: T,
    /// GitLab answered just now (rather than the cache).
    pub fetched: bool,
}

/// Answers `V` by key `K` (the hub's [`super::Key`] and [`super::Answer`]).
pub struct Cache<K, V> {
    slots: Mutex<HashMap<K, Slot<V>>>,
    bounds: Bounds,
}

impl<K: Hash + Eq + Clone, V: Clone + Send + Sync + Weigh + 'static> Cache<K, V> {
    pub fn new(bounds: Bounds) -> Self {
        Cache {
            slots: Mutex::new(HashMap::new()),
            bounds,
        }
    }

    /// The cached answer for `key` if still good at `version` (and `max_age`), else one shared
    /// GitLab request. When the request fails and an earlier answer exists, that answer is
    /// served (stale), so a GitLab outage shows the last state rather than an error.
    pub async fn read<Fut>(
        &self,
        key: K,
        version: u64,
        max_age: Option<Duration>,
        metrics: &Metrics,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Read<V>>
    where
        Fut: Future<Output = Result<V>> + Send + 'static,
    {
        let in_flight = {
            let mut slots = self.slots.lock().expect("cache lock");
            let slot = slots.entry(key.clone()).or_insert(Slot::EMPTY);
            slot.settle();
            if let Some(entry) = &mut slot.entry
                && entry.version == version
                && max_age.is_none_or(|age| entry.fetched.elapsed() < age)
            {
                entry.used = Instant::now();
                metrics.cache_read("hit");
                return Ok(Read {
                    value: entry.value.clone(),
                    fetched: false,
                });
            }
            if let Some(failed) = &slot.failed
                && failed.version == version
                && failed.remembered()
            {
                return match slot.last_good(&failed.error) {
                    Some(value) => {
                        metrics.cache_read("stale");
                        Ok(Read { value, fetched: false })
                    }
                    None => {
                        metrics.cache_read("failed");
                        Err(failed.error.clone())
                    }
                };
            }
            match &slot.loading {
                // Only a request asked at this version answers this reader: one asked before a
                // change would bring back what the change made old.
                Some((asked, shared, done)) if *asked == version => {
                    metrics.cache_read("shared");
                    (shared.clone(), done.clone())
                }
                _ => {
                    metrics.cache_read("miss");
                    // Spawned, so the request finishes (and is kept) even if every reader leaves.
                    let done = Arc::new(AtomicBool::new(false));
                    let finished = done.clone();
                    let future = fetch();
                    let task = tokio::spawn(async move {
                        let result = future.await.map(|v| {
                            let weight = v.weight();
                            (v, weight)
                        });
                        finished.store(true, Ordering::SeqCst);
                        result
                    });
                    let shared = async move {
                        task.await.unwrap_or_else(|e| {
                            Err(GitlabError::InvalidResponse {
                                what: "the hub's request".into(),
                                reason: e.to_string(),
                            })
                        })
                    }
                    .boxed()
                    .shared();
                    slot.loading = Some((version, shared.clone(), done.clone()));
                    (shared, done)
                }
            }
        };
        let (in_flight, mine) = in_flight;
        let result = in_flight.await;
        let mut slots = self.slots.lock().expect("cache lock");
        let slot = slots.entry(key).or_insert(Slot::EMPTY);
        // A newer request (asked after a change) may have taken the slot meanwhile: it stays.
        if slot
            .loading
            .as_ref()
            .is_some_and(|(_, _, done)| Arc::ptr_eq(done, &mine))
        {
            slot.loading = None;
        }
        slot.failed = match &result {
            Ok(_) => None,
            Err(error) => Some(Failure {
                error: error.clone(),
                at: Instant::now(),
                version,
            }),
        };
        let answer = match result {
            Ok((value, weight)) => {
                // A newer answer stays; one too heavy for the cache is served, not kept.
                if slot.entry.as_ref().is_none_or(|e| e.version <= version) && weight <= self.bounds.bytes / 10 {
                    slot.entry = Some(Entry {
                        value: value.clone(),
                        weight,
                        fetched: Instant::now(),
                        used: Instant::now(),
                        version,
                    });
                }
                Ok(Read { value, fetched: true })
            }
            Err(e) => match slot.last_good(&e) {
                Some(value) => {
                    metrics.cache_read("stale");
                    Ok(Read { value, fetched: false })
                }
                None => Err(e),
            },
        };
        self.bound(&mut slots, metrics);
        answer
    }

    /// Keeps the cache within its bounds, forgetting the answers read longest ago (never a
    /// request in flight).
    fn bound(&self, slots: &mut HashMap<K, Slot<V>>, metrics: &Metrics) {
        // Requests whose readers all left hold their answer until taken in here; slots with
        // nothing left to say go.
        for slot in slots.values_mut() {
            slot.settle();
        }
        slots.retain(|_, s| {
            s.loading.is_some() || s.entry.is_some() || s.failed.as_ref().is_some_and(Failure::remembered)
        });
        let (mut entries, mut bytes) = slots
            .values()
            .filter_map(|s| s.entry.as_ref())
            .fold((0, 0), |(n, bytes), e| (n + 1, bytes + e.weight));
        let mut evicted = 0;
        if entries > self.bounds.entries || bytes > self.bounds.bytes {
            // Down to nine tenths, so that eviction runs once per many answers, not per answer.
            let (keep_entries, keep_bytes) = (self.bounds.entries / 10 * 9, self.bounds.bytes / 10 * 9);
            let mut by_use: Vec<(Instant, K)> = slots
                .iter()
                .filter(|(_, s)| s.loading.is_none())
                .filter_map(|(k, s)| s.entry.as_ref().map(|e| (e.used, k.clone())))
                .collect();
            by_use.sort_by_key(|(used, _)| *used);
            for (_, key) in by_use {
                if entries <= keep_entries && bytes <= keep_bytes {
                    break;
                }
                if let Some(entry) = slots.remove(&key).and_then(|s| s.entry) {
                    entries -= 1;
                    bytes -= entry.weight;
                    evicted += 1;
                }
            }
        }
        metrics.cache_size(entries, bytes, evicted);
    }

    /// Forgets remembered failures (GitLab answers again: the next reader asks it).
    pub fn forget_failures(&self) {
        let mut slots = self.slots.lock().expect("cache lock");
        for slot in slots.values_mut() {
            slot.failed = None;
        }
    }

    /// Forgets answers nobody has read for `unused` (the next reader asks GitLab again).
    pub fn trim(&self, unused: Duration, metrics: &Metrics) {
        let mut slots = self.slots.lock().expect("cache lock");
        slots.retain(|_, s| s.loading.is_some() || s.entry.as_ref().is_some_and(|e| e.used.elapsed() < unused));
        self.bound(&mut slots, metrics);
    }
}

/// GitLab (or the way to it) failed, rather than refusing this particular request.
pub fn is_outage(e: &GitlabError) -> bool {
    matches!(
        e,
        GitlabError::Unreachable { .. }
            | GitlabError::Server { .. }
            | GitlabError::RateLimited { .. }
            | GitlabError::InvalidResponse { .. }
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    impl Weigh for u32 {
        fn weight(&self) -> usize {
            *self as usize
        }
    }

    /// Reads `key`, whose answer weighs `weight`, counting the GitLab requests in `fetches`.
    async fn weighing(
        cache: &Cache<u32, u32>,
        m: &Metrics,
        fetches: &Arc<AtomicUsize>,
        key: u32,
        weight: u32,
    ) -> Result<Read<u32>> {
        let fetches = fetches.clone();
        cache
            .read(key, 1, None, m, move || async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                Ok(weight)
            })
            .await
    }

    #[tokio::test]
    async fn past_its_bounds_the_cache_forgets_what_was_read_longest_ago() {
        let m = Metrics::new();
        let cache = Cache::<u32, u32>::new(Bounds {
            entries: 10,
            bytes: 1_000,
        });
        let fetches = Arc::new(AtomicUsize::new(0));
        let read = |key: u32, weight: u32| weighing(&cache, &m, &fetches, key, weight);
        for key in 0..10 {
            read(key, 1).await.unwrap();
        }
        // Key 0 is read again, so key 1 is now the one read longest ago.
        read(0, 1).await.unwrap();
        read(10, 1).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 11);
        read(0, 1).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 11, "a recent answer stays");
        read(1, 1).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 12, "the oldest went first");
        assert!(
            m.encode().contains("stageboard_cache_evictions_total 2"),
            "evictions are counted"
        );
    }

    #[tokio::test]
    async fn past_the_bytes_bound_the_oldest_go_and_an_answer_too_heavy_is_not_kept() {
        let m = Metrics::new();
        let cache = Cache::<u32, u32>::new(Bounds {
            entries: 100,
            bytes: 1_000,
        });
        let fetches = Arc::new(AtomicUsize::new(0));
        let read = |key: u32, weight: u32| weighing(&cache, &m, &fetches, key, weight);
        for key in 0..10 {
            read(key, 100).await.unwrap();
        }
        read(0, 100).await.unwrap();
        // 1,100 bytes: the two read longest ago (1 and 2) go, down to 900.
        read(10, 100).await.unwrap();
        for key in [0, 3, 9, 10] {
            read(key, 100).await.unwrap();
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 11, "the recent stay");
        read(1, 100).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 12, "the oldest went");
        assert!(m.encode().contains("stageboard_cache_bytes 1000"), "{}", m.encode());
        // More than a tenth of the bound: served, and not kept to push out everything else.
        assert_eq!(read(99, 101).await.unwrap().value, 101);
        read(99, 101).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 14);
    }

    #[tokio::test]
    async fn a_read_after_a_change_does_not_take_the_answer_asked_before_it() {
        let cache = Arc::new(Cache::<String, u32>::new(Bounds::default()));
        let m = Metrics::new();
        let before = tokio::spawn({
            let (cache, m) = (cache.clone(), m.clone());
            async move {
                let slow = || async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok(1u32)
                };
                cache.read("k".into(), 1, None, &m, slow).await.map(|r| r.value)
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let after = cache.read("k".into(), 2, None, &m, || async { Ok(2u32) }).await;
        assert_eq!(after.map(|r| r.value).ok(), Some(2), "asked again after the change");
        assert_eq!(before.await.unwrap().ok(), Some(1));
        let later = cache.read("k".into(), 2, None, &m, || async { Ok(3u32) }).await;
        assert_eq!(
            later.map(|r| r.value).ok(),
            Some(2),
            "the older answer did not replace the newer"
        );
    }

    #[tokio::test]
    async fn concurrent_readers_share_one_request() {
        let cache = Arc::new(Cache::<String, u32>::new(Bounds::default()));
        let calls = Arc::new(AtomicUsize::new(0));
        let metrics = Metrics::new();
        let reads = (0..50).map(|_| {
            let (cache, calls, metrics) = (cache.clone(), calls.clone(), metrics.clone());
            async move {
                cache
                    .read("k".into(), 1, None, &metrics, || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7u32)
                    })
                    .await
                    .map(|r| r.value)
            }
        });
        let answers = futures::future::join_all(reads).await;
        assert!(answers.iter().all(|a| a.as_ref().ok() == Some(&7)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_new_version_fetches_again_and_an_outage_serves_the_last_answer() {
        let cache = Cache::<String, u32>::new(Bounds::default());
        let m = Metrics::new();
        let first = cache
            .read("k".into(), 1, None, &m, || async { Ok(1u32) })
            .await
            .unwrap();
        let cached = cache
            .read("k".into(), 1, None, &m, || async { Ok(2u32) })
            .await
            .unwrap();
        let fresh = cache
            .read("k".into(), 2, None, &m, || async { Ok(3u32) })
            .await
            .unwrap();
        let down = || async {
            Err::<u32, _>(GitlabError::Unreachable {
                url: "x".into(),
                reason: "down".into(),
            })
        };
        let stale = cache.read("k".into(), 3, None, &m, down).await.unwrap();
        let refused = cache
            .read("other".into(), 1, None, &m, || async {
                Err::<u32, _>(GitlabError::NotFound { message: "no".into() })
            })
            .await;
        assert_eq!((first.value, cached.value, fresh.value), (1, 1, 3));
        assert!(!stale.fetched && stale.value == 3, "the last good answer");
        assert!(refused.is_err(), "a refusal is not hidden");
    }

    #[tokio::test]
    async fn a_failure_is_remembered_briefly_until_something_changes() {
        let cache = Cache::<String, u32>::new(Bounds::default());
        let m = Metrics::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let refused = || {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<u32, _>(GitlabError::Forbidden { message: "no".into() })
            }
        };
        for _ in 0..20 {
            assert!(cache.read("k".into(), 1, None, &m, refused).await.is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one request for twenty readers");
        // The project changed (a new version): the failure says nothing about it.
        assert!(cache.read("k".into(), 2, None, &m, refused).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        cache.forget_failures();
        let next = cache.read("k".into(), 2, None, &m, || async { Ok(4u32) }).await;
        assert_eq!(next.map(|r| r.value).ok(), Some(4));
    }

    #[tokio::test]
    async fn a_request_whose_readers_left_does_not_answer_the_next_reader() {
        let cache = Arc::new(Cache::<String, u32>::new(Bounds::default()));
        let m = Metrics::new();
        let slow_failure = || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err::<u32, _>(GitlabError::InvalidResponse {
                what: "x".into(),
                reason: "cut".into(),
            })
        };
        // The reader gives up before the answer comes.
        let _ = tokio::time::timeout(
            Duration::from_millis(10),
            cache.read("k".into(), 1, None, &m, slow_failure),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let next = cache.read("k".into(), 1, None, &m, || async { Ok(5u32) }).await;
        assert_eq!(next.map(|r| r.value).ok(), Some(5));
    }
}
