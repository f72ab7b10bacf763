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
    /// The next poll tells browsers of every pipeline it finds, not only of changes: this
    /// replica has just taken over polling, and what changed since the last leader's poll
    /// is not known.
    announce: bool,
    /// Pipelines not finished, as the leading replica last said (a replica that does not lead
    /// polls nothing, so its `known` stays empty).
    remote_active: bool,
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
    /// Where this process stands among replicas sharing a PostgreSQL database.
    replication: Mutex<Replication>,
}

/// Whether this hub polls GitLab, or another replica does and tells it what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The only process (SQLite, or no replicas): it polls.
    Alone,
    /// The replica holding the leader's lock: it polls and publishes through PostgreSQL.
    Leading,
    /// Another replica leads: this one reads through it and hears of changes from it.
    Following,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Alone => "alone",
            Role::Leading => "leading",
            Role::Following => "following",
        }
    }
}

/// The leading replica, as another replica reaches it.
#[async_trait::async_trait]
pub trait Leader: Send + Sync + 'static {
    /// The leader's answer for `key`; `None` when it cannot be had from the leader (it is
    /// unreachable, or no longer leads), in which case the reader asks GitLab itself.
    async fn read(&self, key: &Key) -> Option<Result<Answer, GitlabError>>;
}

/// How long a replica that does not lead keeps an answer at most, even when no change came:
/// a bound on how long a change it missed (its database connection was down) shows old.
const FOLLOWER_MAX_AGE: Duration = Duration::from_secs(60);

/// What this hub tells the other replicas, through PostgreSQL.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outgoing {
    /// The leader's change, for every replica's browsers.
    Event(ServerEvent),
    /// A webhook or an action reached a replica that does not lead: for the leader to apply
    /// (and publish), so that every replica's readers find it in the leader's answers.
    Changed {
        project: u64,
        pipeline: Option<u64>,
        acted: bool,
    },
    /// The leader's projects with pipelines not finished (for the runners' notice).
    Active(Vec<u64>),
}

struct Replication {
    role: Role,
    leader: Option<Arc<dyn Leader>>,
    outbox: Option<tokio::sync::mpsc::Sender<Outgoing>>,
    /// A change for the other replicas was dropped (the outbox was full): they must be told
    /// to read everything again.
    dropped: bool,
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
            replication: Mutex::new(Replication {
                role: Role::Alone,
                leader: None,
                outbox: None,
                dropped: false,
            }),
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
        let polls = self.role() != Role::Following;
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
                    announce: self.role() == Role::Leading,
                    remote_active: false,
                },
            );
            if polls {
                let hub = Arc::downgrade(&self.0);
                tokio::spawn(schedule::poll_loop(hub, *id, poke));
            }
        }
    }

    /// How this process stands among replicas.
    pub fn role(&self) -> Role {
        self.0.replication.lock().expect("replication lock").role
    }

    /// The leading replica, while another one leads.
    fn leader(&self) -> Option<Arc<dyn Leader>> {
        let replication = self.0.replication.lock().expect("replication lock");
        (replication.role == Role::Following)
            .then(|| replication.leader.clone())
            .flatten()
    }

    /// Makes this hub one of several replicas: it follows (polls nothing) until told to lead,
    /// and sends what it must tell the others to `outbox`.
    pub fn replicate(&self, outbox: tokio::sync::mpsc::Sender<Outgoing>) {
        let mut replication = self.0.replication.lock().expect("replication lock");
        replication.outbox = Some(outbox);
        drop(replication);
        self.follow(None);
    }

    /// This replica holds the leader's lock now: it polls every watched project, and its first
    /// poll of each tells browsers of every pipeline it finds (what changed while no replica,
    /// or a failing one, led is not known).
    pub fn lead(&self) {
        {
            let mut replication = self.0.replication.lock().expect("replication lock");
            if replication.role == Role::Leading {
                return;
            }
            replication.role = Role::Leading;
            replication.leader = None;
        }
        self.0.metrics.replica_leading(true);
        let mut projects = self.0.projects.lock().expect("projects lock");
        for (id, p) in projects.iter_mut() {
            p.poke.notify_one();
            p.poke = Arc::new(Notify::new());
            p.since = None;
            p.known.clear();
            p.confirmed = None;
            p.announce = true;
            tokio::spawn(schedule::poll_loop(Arc::downgrade(&self.0), *id, p.poke.clone()));
        }
    }

    /// Another replica leads (or none, for now): this one stops polling, and reads through
    /// `leader` when known.
    pub fn follow(&self, leader: Option<Arc<dyn Leader>>) {
        {
            let mut replication = self.0.replication.lock().expect("replication lock");
            replication.role = Role::Following;
            replication.leader = leader;
        }
        self.0.metrics.replica_leading(false);
        let mut projects = self.0.projects.lock().expect("projects lock");
        for p in projects.values_mut() {
            // The poller finds its poke replaced, and ends.
            p.poke.notify_one();
            p.poke = Arc::new(Notify::new());
        }
    }

    /// Tells this process's browsers, and, when it leads, the other replicas'.
    fn announce(&self, kind: ServerEvent) {
        let outbox = {
            let replication = self.0.replication.lock().expect("replication lock");
            (replication.role == Role::Leading)
                .then(|| replication.outbox.clone())
                .flatten()
        };
        if let Some(outbox) = outbox
            && matches!(kind, ServerEvent::Project { .. } | ServerEvent::Upstream { .. })
            && outbox.try_send(Outgoing::Event(kind.clone())).is_err()
        {
            self.dropped();
        }
        self.0.events.publish(kind);
        self.0.metrics.event_published();
    }

    fn dropped(&self) {
        let mut replication = self.0.replication.lock().expect("replication lock");
        if !replication.dropped {
            tracing::warn!(
                "the changes for other replicas are not being written fast enough; they will be told to read everything again"
            );
        }
        replication.dropped = true;
    }

    /// Whether a change for the other replicas was dropped since last asked.
    pub fn take_dropped(&self) -> bool {
        std::mem::take(&mut self.0.replication.lock().expect("replication lock").dropped)
    }

    /// Sends `message` to the other replicas; false when this hub is not replicated.
    pub fn tell(&self, message: Outgoing) -> bool {
        let outbox = self.0.replication.lock().expect("replication lock").outbox.clone();
        match outbox {
            Some(outbox) => {
                if outbox.try_send(message).is_err() {
                    self.dropped();
                }
                true
            }
            None => false,
        }
    }

    /// A change the leading replica published: this replica's cached answers of it are old
    /// now, and its browsers hear of it.
    pub fn apply(&self, event: ServerEvent) {
        match &event {
            ServerEvent::Project { project, pipelines } => {
                let mut projects = self.0.projects.lock().expect("projects lock");
                if let Some(p) = projects.get_mut(project) {
                    p.version = self.0.next_version();
                    for id in pipelines {
                        p.pipeline_versions.insert(*id, self.0.next_version());
                    }
                }
            }
            ServerEvent::Upstream { reachable, message, .. } => {
                let mut s = self.0.reachability.lock().expect("reachability lock");
                if *reachable {
                    s.failing_since = None;
                    s.message = None;
                } else {
                    s.failing_since.get_or_insert_with(Utc::now);
                    s.message.clone_from(message);
                }
            }
            // Changes were missed: whatever this replica cached may be old.
            ServerEvent::Reset { .. } => {
                let mut projects = self.0.projects.lock().expect("projects lock");
                for p in projects.values_mut() {
                    p.version = self.0.next_version();
                    p.epoch = p.version;
                    p.pipeline_versions.clear();
                }
            }
            _ => {}
        }
        self.0.events.publish(event);
        self.0.metrics.event_published();
    }

    /// The leading replica's projects with pipelines not finished.
    pub fn apply_active(&self, active: &[u64]) {
        let mut projects = self.0.projects.lock().expect("projects lock");
        for (id, p) in projects.iter_mut() {
            p.remote_active = active.contains(id);
        }
    }

    /// A change another replica was told of (a webhook, an action): applied here when this
    /// replica leads.
    pub fn apply_changed(&self, project: u64, pipeline: Option<u64>, acted: bool) {
        if self.role() != Role::Leading {
            return;
        }
        if acted {
            self.acted(project, pipeline);
        } else {
            self.changed(project, pipeline);
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
        if self.role() == Role::Following {
            return true;
        }
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
        if self.role() == Role::Following {
            return None;
        }
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
        self.change(project, pipeline, false)
    }

    fn change(&self, project: u64, pipeline: Option<u64>, acted: bool) -> bool {
        if !self.is_watched(project) {
            return false;
        }
        if self.role() == Role::Following {
            // The leader applies it, and every replica's browsers hear of it from the leader,
            // once its answers have it.
            return self.tell(Outgoing::Changed {
                project,
                pipeline,
                acted,
            });
        }
        let mut projects = self.0.projects.lock().expect("projects lock");
        let Some(p) = projects.get_mut(&project) else {
            return false;
        };
        p.version = self.0.next_version();
        if let Some(id) = pipeline {
            p.pipeline_versions.insert(id, self.0.next_version());
            p.hooked.insert(id, Instant::now());
        }
        if acted {
            p.poke.notify_one();
        }
        drop(projects);
        self.announce(ServerEvent::Project {
            project,
            pipelines: pipeline.into_iter().collect(),
        });
        true
    }

    /// Watched projects with a pipeline not yet finished, as last seen.
    pub fn unfinished(&self) -> HashSet<u64> {
        let following = self.role() == Role::Following;
        let projects = self.0.projects.lock().expect("projects lock");
        projects
            .iter()
            .filter(|(_, p)| {
                if following {
                    p.remote_active
                } else {
                    p.known.values().any(|(status, _)| !status.is_completed())
                }
            })
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
        let (version, max_age) = self.freshness_of(scope);
        if self.role() == Role::Following {
            // A change the leader published and this replica missed would leave its answer
            // old until the next change: read again (from the leader's cache) after a while.
            return (
                version,
                Some(max_age.map_or(FOLLOWER_MAX_AGE, |a| a.min(FOLLOWER_MAX_AGE))),
            );
        }
        (version, max_age)
    }

    fn freshness_of(&self, scope: Scope) -> (u64, Option<Duration>) {
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
            self.announce(ServerEvent::Upstream {
                reachable: true,
                since: None,
                message: None,
            });
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
            self.announce(ServerEvent::Upstream {
                reachable: false,
                since: since.map(Into::into),
                message: Some(message),
            });
        }
    }

    /// After an action: the project changed, and its poller should look soon. The change is
    /// stageboard's own, so finding it is no sign of a missing webhook.
    pub fn acted(&self, project: u64, pipeline: Option<u64>) {
        self.change(project, pipeline, true);
    }

    /// Drops answers nobody asked for in a day, so a long-running wall screen stays small.
    pub fn trim(&self) {
        self.0.cache.trim(Duration::from_secs(24 * 3600), &self.0.metrics);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::fake::{self, FakeGitlab, watched};
    use super::*;
    use crate::gitlab::Gitlab;

    /// A leader that answers every job read with a job of this status, or not at all.
    struct FakeLeader(Option<&'static str>);

    #[async_trait::async_trait]
    impl Leader for FakeLeader {
        async fn read(&self, key: &Key) -> Option<Result<Answer, GitlabError>> {
            assert!(matches!(key, Key::Job { project: 1, job: 5 }), "{key:?}");
            let job = serde_json::json!({ "id": 5, "name": "build", "stage": "build", "status": self.0? });
            Some(Ok(Answer::from(
                serde_json::from_value::<crate::gitlab::types::GlJob>(job).unwrap(),
            )))
        }
    }

    #[tokio::test]
    async fn a_replica_that_follows_polls_nothing_reads_through_the_leader_and_hands_it_webhooks() {
        let gitlab = Arc::new(FakeGitlab::running_job("running", b""));
        let hub = Hub::new(gitlab.clone(), HubSettings::default(), Metrics::new());
        let (outbox, mut written) = tokio::sync::mpsc::channel(16);
        hub.replicate(outbox);
        hub.follow(Some(Arc::new(FakeLeader(Some("success")))));
        let mut events = hub.events().subscribe();
        watched(&hub).await;
        assert_eq!(hub.role(), Role::Following);
        assert!(hub.oldest_state_age().is_none(), "it polls nothing");
        assert_eq!(
            hub.job(1, 5).await.unwrap().status,
            Status::Success,
            "the leader's answer, not GitLab's"
        );

        // A webhook here goes to the leader, which publishes it for every replica.
        assert!(hub.changed(1, Some(7)));
        assert!(matches!(
            written.try_recv(),
            Ok(Outgoing::Changed {
                project: 1,
                pipeline: Some(7),
                acted: false
            })
        ));
        assert!(
            events.try_recv().is_err(),
            "not published here before the leader has it"
        );

        // The leader's change: the cached answer is old, and the browsers hear of it.
        hub.follow(Some(Arc::new(FakeLeader(None))));
        hub.apply(ServerEvent::Project {
            project: 1,
            pipelines: vec![7],
        });
        assert!(matches!(
            events.try_recv().unwrap().kind,
            ServerEvent::Project { project: 1, .. }
        ));
        assert_eq!(
            hub.job(1, 5).await.unwrap().status,
            Status::Running,
            "read again; GitLab's own answer while the leader cannot be reached"
        );
        assert!(written.try_recv().is_err(), "a follower writes no changes of its own");
        assert!(
            hub.unfinished().is_empty(),
            "it polls nothing, so knows nothing running"
        );
        hub.apply_active(&[1]);
        assert_eq!(
            hub.unfinished(),
            HashSet::from([1]),
            "what the leader says runs (the runners' notice)"
        );

        // Changes were missed (pruned while this replica's connection was down): nothing it
        // cached is trusted, and its browsers read everything again.
        hub.follow(Some(Arc::new(FakeLeader(Some("canceled")))));
        hub.apply(ServerEvent::Reset {
            reason: "missed".into(),
        });
        assert!(matches!(events.try_recv().unwrap().kind, ServerEvent::Reset { .. }));
        assert_eq!(hub.job(1, 5).await.unwrap().status, Status::Canceled);
    }

    #[tokio::test]
    async fn a_replica_that_takes_over_tells_of_every_pipeline_its_first_poll_finds() {
        let gitlab = Arc::new(FakeGitlab::answering(vec![
            fake::pipeline(7, "running", "2026-06-01T12:00:00Z"),
            fake::pipeline(6, "success", "2026-06-01T11:00:00Z"),
        ]));
        let hub = Hub::new(gitlab.clone(), HubSettings::default(), Metrics::new());
        let (outbox, mut written) = tokio::sync::mpsc::channel(16);
        hub.replicate(outbox);
        let mut events = hub.events().subscribe();
        hub.watch(&[(1, "group/app".into())]);
        hub.lead();
        watched(&hub).await;
        let change = events.recv().await.unwrap();
        let ServerEvent::Project { project: 1, pipelines } = &change.kind else {
            panic!("{change:?}")
        };
        assert_eq!(
            pipelines.len(),
            2,
            "every pipeline found, since what changed is not known"
        );
        assert!(
            matches!(
                written.try_recv(),
                Ok(Outgoing::Event(ServerEvent::Project { project: 1, .. }))
            ),
            "and the other replicas' browsers too"
        );
    }

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
