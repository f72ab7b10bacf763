//! The hub's memory: one entry per resource, at most one GitLab request in flight per resource
//! (everyone who asks meanwhile waits for that one answer), and the last good answer kept for
//! when GitLab fails.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use crate::gitlab::{GitlabError, Result};
use crate::metrics::Metrics;

type Value = Arc<dyn Any + Send + Sync>;
type InFlight = Shared<BoxFuture<'static, Result<Value>>>;

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

struct Entry {
    value: Value,
    fetched: Instant,
    /// When a reader last had it: what `trim` goes by.
    used: Instant,
    version: u64,
}

#[derive(Default)]
struct Slot {
    entry: Option<Entry>,
    /// The request in flight, the version it was asked at, and whether it has ended.
    loading: Option<(u64, InFlight, Arc<AtomicBool>)>,
}

impl Slot {
    /// Takes in a finished request whose readers all left before it ended.
    fn settle(&mut self) {
        let Some((version, shared, done)) = &self.loading else {
            return;
        };
        if !done.load(Ordering::SeqCst) {
            return;
        }
        // The task has ended, so its answer is ready without waiting.
        if let Some(Ok(value)) = shared.clone().now_or_never() {
            self.entry = Some(Entry {
                value,
                fetched: Instant::now(),
                used: Instant::now(),
                version: *version,
            });
        }
        self.loading = None;
    }
}

/// The answer of a read and whether it is GitLab's last good one rather than a fresh one.
pub struct Read<T> {
    pub value: T,
    pub stale: bool,
    /// GitLab answered just now (rather than the cache).
    pub fetched: bool,
}

#[derive(Default)]
pub struct Cache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl Cache {
    /// The cached answer for `key` if still good at `version` (and `max_age`), else one shared
    /// GitLab request. When the request fails and an earlier answer exists, that answer is
    /// served (`stale`), so a GitLab outage shows the last state rather than an error.
    pub async fn read<T, Fut>(
        &self,
        key: String,
        version: u64,
        max_age: Option<Duration>,
        metrics: &Metrics,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Read<T>>
    where
        T: Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let in_flight = {
            let mut slots = self.slots.lock().expect("cache lock");
            let slot = slots.entry(key.clone()).or_default();
            slot.settle();
            if let Some(entry) = &mut slot.entry
                && entry.version == version
                && max_age.is_none_or(|age| entry.fetched.elapsed() < age)
                && let Some(value) = entry.value.downcast_ref::<T>()
            {
                entry.used = Instant::now();
                metrics.cache_read("hit");
                return Ok(Read {
                    value: value.clone(),
                    stale: false,
                    fetched: false,
                });
            }
            match &slot.loading {
                Some((_, shared, _)) => {
                    metrics.cache_read("shared");
                    shared.clone()
                }
                None => {
                    metrics.cache_read("miss");
                    // Spawned, so the request finishes (and is kept) even if every reader leaves.
                    let done = Arc::new(AtomicBool::new(false));
                    let finished = done.clone();
                    let future = fetch();
                    let task = tokio::spawn(async move {
                        let result = future.await;
                        finished.store(true, Ordering::SeqCst);
                        result
                    });
                    let shared = async move {
                        match task.await {
                            Ok(result) => result.map(|v| Arc::new(v) as Value),
                            Err(e) => Err(GitlabError::InvalidResponse {
                                what: "the hub's request".into(),
                                reason: e.to_string(),
                            }),
                        }
                    }
                    .boxed()
                    .shared();
                    slot.loading = Some((version, shared.clone(), done));
                    shared
                }
            }
        };
        let result = in_flight.await;
        let mut slots = self.slots.lock().expect("cache lock");
        let slot = slots.entry(key).or_default();
        slot.loading = None;
        match result {
            Ok(value) => {
                let typed = value.downcast_ref::<T>().cloned();
                slot.entry = Some(Entry {
                    value,
                    fetched: Instant::now(),
                    used: Instant::now(),
                    version,
                });
                typed
                    .map(|value| Read {
                        value,
                        stale: false,
                        fetched: true,
                    })
                    .ok_or_else(|| GitlabError::InvalidResponse {
                        what: "the hub's cache".into(),
                        reason: "two reads of one resource expected different types".into(),
                    })
            }
            Err(e) => match slot.entry.as_ref().and_then(|entry| entry.value.downcast_ref::<T>()) {
                Some(value) if is_outage(&e) => {
                    metrics.cache_read("stale");
                    Ok(Read {
                        value: value.clone(),
                        stale: true,
                        fetched: false,
                    })
                }
                _ => Err(e),
            },
        }
    }

    /// Forgets answers nobody has read for `unused` (the next reader asks GitLab again).
    pub fn trim(&self, unused: Duration) {
        let mut slots = self.slots.lock().expect("cache lock");
        slots.retain(|_, s| s.loading.is_some() || s.entry.as_ref().is_some_and(|e| e.used.elapsed() < unused));
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

    #[tokio::test]
    async fn concurrent_readers_share_one_request() {
        let cache = Arc::new(Cache::default());
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
        let cache = Cache::default();
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
        assert!(stale.stale && stale.value == 3, "the last good answer, marked stale");
        assert!(refused.is_err(), "a refusal is not hidden");
    }

    #[tokio::test]
    async fn a_request_whose_readers_left_does_not_answer_the_next_reader() {
        let cache = Arc::new(Cache::default());
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
