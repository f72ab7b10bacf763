//! The hub: every GitLab read for the watched projects goes through here, so the number of
//! browsers never changes the number of GitLab requests.
//!
//! Per watched project a poller asks GitLab one question on an adaptive schedule: which
//! pipelines were updated since the last answer (`updated_after`). Only a change bumps the
//! version of the project and of the pipelines that changed; cached answers stay good until
//! then, so a project where nothing happens costs one request per poll interval, however many
//! people look at it. Webhooks bring changes at once and let the poll slow down further.
//! Concurrent readers of one resource share one request; when GitLab fails, the last good
//! answer is served and the failure is published once (stale-while-error).
//!
//! The parts: `schedule` (the pollers), `logs` (following running jobs), `cache` (answers,
//! single flight, bounds), `reads` (every read by [`Key`] with its typed [`Answer`], and the
//! capabilities GitLab may lack),
//! `upstream` (GitLab's reachability, capabilities and refusals, logged once per change),
//! `events` (publishing to browsers), `hooks` (webhook deliveries).

pub mod cache;
pub mod events;
#[cfg(test)]
mod fake;
pub mod hooks;
mod logs;
mod reads;
mod schedule;
mod upstream;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use stageboard_protocol::Status;
use tokio::sync::{Notify, Semaphore};

use crate::gitlab::{Gitlab, GitlabError};
use crate::metrics::Metrics;
use cache::{Bounds, Cache, Scope};
use events::Events;
pub use reads::{Answer, Key};
use stageboard_protocol::ServerEvent;
use upstream::{Capabilities, Reachability, Refusals};

/// How often the hub asks GitLab what changed.
#[derive(Debug, Clone, Copy)]
pub struct HubSettings {
    /// While a project has pipelines moving.
    pub fast: Duration,
    /// While nothing moves.
    pub idle: Duration,
    /// Either, while the project's webhooks arrive: polling is only the safety net then.
    pub hooked: Duration,
    /// Webhooks count as arriving until none came for this long.
    pub hook_silence: Duration,
    /// A running job's log is fetched at most this often, however many follow it.
    pub trace: Duration,
    /// GitLab requests the hub sends at once, at most (readers beyond it wait their turn).
    pub upstream_requests: usize,
    /// How much the hub's cache holds at most.
    pub cache: Bounds,
    /// A part of GitLab's API found missing is asked for again after this long.
    pub recheck: Duration,
    /// How long project listings and details are kept: half the selection's refresh, so
    /// that each reading of the selection asks GitLab again.
    pub listings: Duration,
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            fast: Duration::from_secs(5),
            idle: Duration::from_secs(40),
            hooked: Duration::from_secs(300),
            hook_silence: Duration::from_secs(900),
            trace: Duration::from_secs(2),
            upstream_requests: 8,
            cache: Bounds::default(),
            recheck: Duration::from_secs(600),
            listings: Duration::from_secs(300),
        }
    }
}

/// What the hub knows of one watched project.
struct ProjectState {
    path: String,
    /// Bumped (from the hub's one counter) whenever the project changes.
    version: u64,
    /// The version when watching began: the pipelines' versions start there.
    epoch: u64,
    pipeline_versions: HashMap<u64, u64>,
    /// Recent pipelines: status and update time, to tell a change from a repeat.
    known: HashMap<u64, (Status, Option<DateTime<Utc>>)>,
    since: Option<DateTime<Utc>>,
    /// When GitLab last answered this project's poll.
    confirmed: Option<Instant>,
    /// Pipelines webhooks announced, and when: a poll finding these changed is no surprise.
    hooked: HashMap<u64, Instant>,
    /// When a poll last found a change no webhook had announced (webhooks are not reliable).
    missed: Option<Instant>,
    poke: Arc<Notify>,
}

impl ProjectState {
    fn active(&self) -> bool {
        self.known.values().any(|(s, _)| s.is_unfinished())
    }
}

/// Shared by every request handler; cheap to clone.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    upstream: Arc<dyn Gitlab>,
    settings: HubSettings,
    /// Webhooks are configured: polling slows down while they keep their word.
    webhooks: bool,
    metrics: Metrics,
    /// Answers behind an `Arc`: every waiter of a shared request, and the cache, hold the same one.
    cache: Cache<Key, Arc<Answer>>,
    /// Permits to send a GitLab request (`settings.upstream_requests`).
    permits: Arc<Semaphore>,
    projects: Mutex<HashMap<u64, ProjectState>>,
    events: Events,
    reachability: Mutex<Reachability>,
    /// Optional parts of GitLab's API, learned once (GraphQL, endpoints older versions lack).
    capabilities: Capabilities,
    failures: Refusals,
    followers: Mutex<HashMap<(u64, u64), std::sync::Weak<()>>>,
    /// The one source of versions: a number is never given twice, so a project that stops
    /// being watched and comes back does not meet its old cached answers again.
    versions: AtomicU64,
}

impl Inner {
    fn next_version(&self) -> u64 {
        self.versions.fetch_add(1, Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("settings", &self.0.settings)
            .finish_non_exhaustive()
    }
}

impl Hub {
    pub fn new(upstream: Arc<dyn Gitlab>, settings: HubSettings, metrics: Metrics) -> Self {
        Self::build(upstream, settings, metrics, false)
    }

    /// A hub whose projects send webhooks: it polls every `settings.hooked` while they do.
    pub fn with_webhooks(upstream: Arc<dyn Gitlab>, settings: HubSettings, metrics: Metrics) -> Self {
        Self::build(upstream, settings, metrics, true)
    }

    fn build(upstream: Arc<dyn Gitlab>, settings: HubSettings, metrics: Metrics, webhooks: bool) -> Self {
        Hub(Arc::new(Inner {
            upstream,
            settings,
            webhooks,
            metrics,
            cache: Cache::new(settings.cache),
            permits: Arc::new(Semaphore::new(settings.upstream_requests.max(1))),
            projects: Mutex::new(HashMap::new()),
            events: Events::default(),
            reachability: Mutex::new(Reachability::default()),
            capabilities: Capabilities::new(settings.recheck),
            failures: Refusals::default(),
            followers: Mutex::new(HashMap::new()),
            // 0 is the version of an unwatched project's answers.
            versions: AtomicU64::new(1),
        }))
    }

    pub fn events(&self) -> &Events {
        &self.0.events
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Polls exactly these projects: starts pollers for new ones, stops those of projects no
    /// longer watched (left the membership, or the configuration changed).
    pub fn watch(&self, projects: &[(u64, String)]) {
        let mut known = self.0.projects.lock().expect("projects lock");
        let wanted: HashSet<u64> = projects.iter().map(|(id, _)| *id).collect();
        if wanted.len() == known.len() && known.keys().all(|id| wanted.contains(id)) {
            return;
        }
        known.retain(|id, _| wanted.contains(id));
        for (id, path) in projects {
            if known.contains_key(id) {
                continue;
            }
            let poke = Arc::new(Notify::new());
            // A version no earlier answer of this project carries, should it have been watched
            // before: what was cached then is not served now.
            let epoch = self.0.next_version();
            known.insert(
                *id,
                ProjectState {
                    path: path.clone(),
                    version: epoch,
                    epoch,
                    pipeline_versions: HashMap::new(),
                    known: HashMap::new(),
                    since: None,
                    confirmed: None,
                    hooked: HashMap::new(),
                    missed: None,
                    poke: poke.clone(),
                },
            );
            let hub = Arc::downgrade(&self.0);
            tokio::spawn(schedule::poll_loop(hub, *id, poke));
        }
    }

    /// Asks every poller to look now (after a clock jump in demo mode, or an action).
    pub fn poke_all(&self) {
        for p in self.0.projects.lock().expect("projects lock").values() {
            p.poke.notify_one();
        }
    }

    /// Polls every watched project once, now, and returns when done (tests, demo clock jumps).
    pub async fn refresh_now(&self) {
        let ids: Vec<u64> = self.0.projects.lock().expect("projects lock").keys().copied().collect();
        for id in ids {
            // Failures are published and logged by the poll itself.
            let _ = schedule::poll_once(&self.0, id).await;
        }
    }

    /// Whether every watched project has had its first poll answered.
    pub fn primed(&self) -> bool {
        self.0
            .projects
            .lock()
            .expect("projects lock")
            .values()
            .all(|p| p.confirmed.is_some())
    }

    /// The interval the poller of `project` waits now.
    pub fn interval(&self, project: u64) -> Duration {
        schedule::interval(&self.0, project)
    }

    /// GitLab is failing: since when, and what it said.
    pub fn upstream_failing(&self) -> Option<(DateTime<Utc>, String)> {
        let s = self.0.reachability.lock().expect("reachability lock");
        s.failing_since.map(|t| (t, s.message.clone().unwrap_or_default()))
    }

    /// Seconds since GitLab last confirmed the oldest watched project's state.
    pub fn oldest_state_age(&self) -> Option<f64> {
        let projects = self.0.projects.lock().expect("projects lock");
        projects
            .values()
            .map(|p| p.confirmed.map_or(f64::INFINITY, |c| c.elapsed().as_secs_f64()))
            .reduce(f64::max)
            .filter(|a| a.is_finite())
    }

    /// A change was announced (by webhook, or by an action through stageboard): the project's
    /// (and pipeline's) cached answers are old now, and a poll finding it is no surprise.
    pub fn changed(&self, project: u64, pipeline: Option<u64>) -> bool {
        let mut projects = self.0.projects.lock().expect("projects lock");
        let Some(p) = projects.get_mut(&project) else {
            return false;
        };
        p.version = self.0.next_version();
        if let Some(id) = pipeline {
            p.pipeline_versions.insert(id, self.0.next_version());
            p.hooked.insert(id, Instant::now());
        }
        drop(projects);
        self.0.events.publish(ServerEvent::Project {
            project,
            pipelines: pipeline.into_iter().collect(),
        });
        self.0.metrics.event_published();
        true
    }

    /// Watched projects with a pipeline not yet finished, as last seen.
    pub fn unfinished(&self) -> HashSet<u64> {
        let projects = self.0.projects.lock().expect("projects lock");
        projects
            .iter()
            .filter(|(_, p)| p.known.values().any(|(status, _)| !status.is_completed()))
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn is_watched(&self, project: u64) -> bool {
        self.0.projects.lock().expect("projects lock").contains_key(&project)
    }

    /// Keeps a running job's log flowing to the `log:<project>:<job>` topic while the returned
    /// guard lives (one fetch per interval, however many follow).
    pub fn follow_log(&self, project: u64, job: u64) -> Arc<()> {
        let mut followers = self.0.followers.lock().expect("followers lock");
        if let Some(guard) = followers.get(&(project, job)).and_then(std::sync::Weak::upgrade) {
            return guard;
        }
        let guard = Arc::new(());
        followers.insert((project, job), Arc::downgrade(&guard));
        tokio::spawn(logs::follow(self.clone(), project, job, Arc::downgrade(&guard)));
        guard
    }

    /// The scope of an answer asked for by project path (GraphQL): the project's, when watched.
    fn path_scope(&self, path: &str) -> Scope {
        let projects = self.0.projects.lock().expect("projects lock");
        projects
            .iter()
            .find(|(_, p)| p.path == path)
            .map_or(Scope::For(self.0.settings.idle), |(id, _)| Scope::Project(*id))
    }

    /// Version and age limit of an answer of this scope.
    fn freshness(&self, scope: Scope) -> (u64, Option<Duration>) {
        let projects = self.0.projects.lock().expect("projects lock");
        match scope {
            Scope::Project(id) => match projects.get(&id) {
                Some(p) => (p.version, None),
                // Not (yet) watched: good for a poll interval.
                None => (0, Some(self.0.settings.idle)),
            },
            Scope::Pipeline(project, pipeline) => match projects.get(&project) {
                Some(p) => (p.pipeline_versions.get(&pipeline).copied().unwrap_or(p.epoch), None),
                None => (0, Some(self.0.settings.idle)),
            },
            Scope::ProjectFor(id, age) => (projects.get(&id).map_or(0, |p| p.version), Some(age)),
            Scope::For(age) => (0, Some(age)),
            Scope::Forever => (0, None),
        }
    }

    fn reachable(&self) {
        let mut s = self.0.reachability.lock().expect("reachability lock");
        if let Some(since) = s.failing_since.take() {
            s.message = None;
            drop(s);
            // What failed during the outage is worth asking again at once.
            self.0.cache.forget_failures();
            tracing::info!(%since, "GitLab answers again");
            self.0.events.publish(ServerEvent::Upstream {
                reachable: true,
                since: None,
                message: None,
            });
            self.0.metrics.event_published();
        }
    }

    fn unreachable(&self, e: &GitlabError) {
        let mut s = self.0.reachability.lock().expect("reachability lock");
        let message = e.to_string();
        let first = s.failing_since.is_none();
        if first {
            s.failing_since = Some(Utc::now());
        }
        // One line when it starts, then one a minute: an outage must not flood the log.
        if s.last_logged.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            s.last_logged = Some(Instant::now());
            tracing::warn!(error = %message, "GitLab is failing; serving the last known state");
        }
        s.message = Some(message.clone());
        let since = s.failing_since;
        drop(s);
        if first {
            self.0.events.publish(ServerEvent::Upstream {
                reachable: false,
                since: since.map(Into::into),
                message: Some(message),
            });
            self.0.metrics.event_published();
        }
    }

    /// After an action: the project changed, and its poller should look soon. The change is
    /// stageboard's own, so finding it is no sign of a missing webhook.
    pub fn acted(&self, project: u64, pipeline: Option<u64>) {
        self.changed(project, pipeline);
        if let Some(p) = self.0.projects.lock().expect("projects lock").get(&project) {
            p.poke.notify_one();
        }
    }

    /// Drops answers nobody asked for in a day, so a long-running wall screen stays small.
    pub fn trim(&self) {
        self.0.cache.trim(Duration::from_secs(24 * 3600), &self.0.metrics);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::fake::{FakeGitlab, watched};
    use super::*;
    use crate::gitlab::Gitlab;

    #[tokio::test]
    async fn a_project_watched_again_is_not_served_what_was_cached_before_it_left() {
        let gitlab = Arc::new(FakeGitlab::running_job("running", b""));
        let hub = Hub::new(gitlab.clone(), HubSettings::default(), Metrics::new());
        watched(&hub).await;
        assert_eq!(hub.job(1, 5).await.unwrap().status, Status::Running);
        // The project leaves the watched set; meanwhile its job ends, which no poll sees.
        hub.watch(&[]);
        gitlab.set_job("success");
        watched(&hub).await;
        assert_eq!(
            hub.job(1, 5).await.unwrap().status,
            Status::Success,
            "the answer cached before it left is not current"
        );
    }
}
