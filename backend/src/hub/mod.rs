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

pub mod cache;
pub mod events;
pub mod hooks;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use stageboard_protocol::Status;
use tokio::sync::Notify;

use crate::gitlab::types::{GlCommit, GlDeployment, GlEnvironment, GlJob, GlPipeline, GlProject};
use crate::gitlab::{Gitlab, GitlabError, Page, PipelineFilter, PipelineGraph, PipelineSummary, Result};
use crate::metrics::Metrics;
use cache::{Cache, Scope, is_outage};
use events::{Events, What};

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
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            fast: Duration::from_secs(5),
            idle: Duration::from_secs(40),
            hooked: Duration::from_secs(300),
            hook_silence: Duration::from_secs(900),
            trace: Duration::from_secs(2),
        }
    }
}

/// What the hub knows of one watched project.
struct ProjectState {
    path: String,
    version: u64,
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
        self.known.values().any(|(s, _)| s.is_active() || *s == Status::Created)
    }
}

/// GitLab's reachability as the hub last saw it.
#[derive(Debug, Default, Clone)]
struct Upstream {
    failing_since: Option<DateTime<Utc>>,
    message: Option<String>,
    last_logged: Option<Instant>,
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
    cache: Cache,
    projects: Mutex<HashMap<u64, ProjectState>>,
    events: Events,
    state: Mutex<Upstream>,
    followers: Mutex<HashMap<(u64, u64), std::sync::Weak<()>>>,
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
            cache: Cache::default(),
            projects: Mutex::new(HashMap::new()),
            events: Events::default(),
            state: Mutex::new(Upstream::default()),
            followers: Mutex::new(HashMap::new()),
        }))
    }

    pub fn events(&self) -> &Events {
        &self.0.events
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Starts polling these projects (those not yet watched).
    pub fn watch(&self, projects: &[(u64, String)]) {
        let mut known = self.0.projects.lock().expect("projects lock");
        for (id, path) in projects {
            if known.contains_key(id) {
                continue;
            }
            let poke = Arc::new(Notify::new());
            known.insert(
                *id,
                ProjectState {
                    path: path.clone(),
                    version: 1,
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
            tokio::spawn(poll_loop(hub, *id, poke));
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
            let _ = poll_once(&self.0, id).await;
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
        interval(&self.0, project)
    }

    /// GitLab is failing: since when, and what it said.
    pub fn upstream_failing(&self) -> Option<(DateTime<Utc>, String)> {
        let s = self.0.state.lock().expect("state lock");
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
        p.version += 1;
        if let Some(id) = pipeline {
            *p.pipeline_versions.entry(id).or_insert(0) += 1;
            p.hooked.insert(id, Instant::now());
        }
        drop(projects);
        self.0.events.publish(What::Project {
            project,
            pipelines: pipeline.into_iter().collect(),
        });
        self.0.metrics.event_published();
        true
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
        tokio::spawn(follow(self.clone(), project, job, Arc::downgrade(&guard)));
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
                Some(p) => (p.pipeline_versions.get(&pipeline).copied().unwrap_or(0), None),
                None => (0, Some(self.0.settings.idle)),
            },
            Scope::ProjectFor(id, age) => (projects.get(&id).map_or(0, |p| p.version), Some(age)),
            Scope::For(age) => (0, Some(age)),
            Scope::Forever => (0, None),
        }
    }

    async fn read<T, Fut>(&self, key: String, scope: Scope, fetch: impl FnOnce(Arc<dyn Gitlab>) -> Fut) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let (version, max_age) = self.freshness(scope);
        let upstream = self.0.upstream.clone();
        let answer = self
            .0
            .cache
            .read(key, version, max_age, &self.0.metrics, || fetch(upstream))
            .await;
        match &answer {
            Ok(read) if read.fetched => self.reachable(),
            // From the cache (fresh or, during an outage, stale): says nothing about GitLab now.
            Ok(_) => {}
            Err(e) if is_outage(e) => self.unreachable(e),
            Err(_) => self.reachable(),
        }
        answer.map(|r| r.value)
    }

    fn reachable(&self) {
        let mut s = self.0.state.lock().expect("state lock");
        if let Some(since) = s.failing_since.take() {
            s.message = None;
            drop(s);
            tracing::info!(%since, "GitLab answers again");
            self.0.events.publish(What::Upstream {
                reachable: true,
                since: None,
                message: None,
            });
            self.0.metrics.event_published();
        }
    }

    fn unreachable(&self, e: &GitlabError) {
        let mut s = self.0.state.lock().expect("state lock");
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
            self.0.events.publish(What::Upstream {
                reachable: false,
                since,
                message: Some(message),
            });
            self.0.metrics.event_published();
        }
    }

    /// After an action: the project changed, and its poller should look soon. The change is
    /// stageboard's own, so finding it is no sign of a missing webhook.
    fn acted(&self, project: u64, pipeline: Option<u64>) {
        self.changed(project, pipeline);
        if let Some(p) = self.0.projects.lock().expect("projects lock").get(&project) {
            p.poke.notify_one();
        }
    }

    /// Drops answers nobody asked for in a day, so a long-running wall screen stays small.
    pub fn trim(&self) {
        self.0.cache.trim(Duration::from_secs(24 * 3600));
    }
}

/// With webhooks configured, polling is only the safety net, until a poll finds a change no
/// webhook announced: then the project is polled as without webhooks for `hook_silence`.
fn interval(inner: &Inner, project: u64) -> Duration {
    let projects = inner.projects.lock().expect("projects lock");
    let s = &inner.settings;
    match projects.get(&project) {
        Some(p) if inner.webhooks && p.missed.is_none_or(|t| t.elapsed() > s.hook_silence) => s.hooked,
        Some(p) if p.active() => s.fast,
        _ => s.idle,
    }
}

async fn poll_loop(hub: std::sync::Weak<Inner>, project: u64, poke: Arc<Notify>) {
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = poke.notified() => {}
        }
        let Some(inner) = hub.upgrade() else { return };
        wait = match poll_once(&inner, project).await {
            Err(GitlabError::RateLimited { retry_after }) => retry_after.max(interval(&inner, project)),
            _ => interval(&inner, project),
        };
        inner.metrics.poll_interval(project, wait.as_secs_f64());
    }
}

/// One question to GitLab: what changed in `project` since the last answer.
async fn poll_once(inner: &Arc<Inner>, project: u64) -> Result<()> {
    let since = {
        let projects = inner.projects.lock().expect("projects lock");
        let Some(p) = projects.get(&project) else {
            return Ok(());
        };
        // A second of overlap: equal timestamps are not lost; repeats are recognised below.
        p.since.map(|t| t - chrono::Duration::seconds(1))
    };
    let hub = Hub(inner.clone());
    let answer = inner.upstream.pipelines_updated_after(project, since).await;
    let pipelines = match answer {
        Ok(p) => {
            hub.reachable();
            p
        }
        Err(e) => {
            if is_outage(&e) {
                hub.unreachable(&e);
            } else {
                tracing::warn!(project, error = %e, "GitLab refused the hub's poll");
            }
            return Err(e);
        }
    };
    let mut changed = Vec::new();
    {
        let mut projects = inner.projects.lock().expect("projects lock");
        let Some(p) = projects.get_mut(&project) else {
            return Ok(());
        };
        let first = p.confirmed.is_none();
        for pipeline in &pipelines {
            let state = (pipeline.status.clone(), pipeline.updated_at.map(|t| t.0));
            if p.known.get(&pipeline.id) != Some(&state) {
                p.known.insert(pipeline.id, state);
                if !first {
                    changed.push(pipeline.id);
                    *p.pipeline_versions.entry(pipeline.id).or_insert(0) += 1;
                }
            }
            if let Some(t) = pipeline.updated_at.map(|t| t.0) {
                p.since = Some(p.since.map_or(t, |s| s.max(t)));
            }
        }
        if !changed.is_empty() {
            p.version += 1;
        }
        // A change that no webhook announced (within a poll interval and a minute) means the
        // webhooks are missing or late: poll as without them for a while.
        let grace = inner.settings.hooked + Duration::from_secs(60);
        p.hooked.retain(|_, t| t.elapsed() < grace);
        if inner.webhooks && changed.iter().any(|id| !p.hooked.contains_key(id)) {
            if p.missed.is_none_or(|t| t.elapsed() > inner.settings.hook_silence) {
                tracing::info!(
                    project,
                    "a change came without its webhook; polling as without webhooks for now"
                );
            }
            p.missed = Some(Instant::now());
        }
        // Remember recent and moving pipelines only.
        if p.known.len() > 300 {
            let horizon = p.since.map(|t| t - chrono::Duration::hours(6));
            p.known
                .retain(|_, (s, t)| s.is_active() || horizon.is_none_or(|h| t.is_some_and(|t| t >= h)));
        }
        p.confirmed = Some(Instant::now());
    }
    if !changed.is_empty() {
        inner.events.publish(What::Project {
            project,
            pipelines: changed,
        });
        inner.metrics.event_published();
    }
    Ok(())
}

/// Publishes a running job's new log bytes while someone follows it.
async fn follow(hub: Hub, project: u64, job: u64, guard: std::sync::Weak<()>) {
    // Browsers read what is there through the log API; from here on they get what is added.
    let mut sent: usize = hub.trace(project, job).await.map_or(0, |t| t.len());
    let every = hub.0.settings.trace;
    loop {
        tokio::time::sleep(every).await;
        if guard.strong_count() == 0 {
            break;
        }
        let status = hub.job(project, job).await.map(|j| j.status);
        let finished = status.as_ref().is_ok_and(|s| !s.is_active() && *s != Status::Created);
        if let Ok(trace) = hub.trace(project, job).await
            && trace.len() > sent
        {
            // Only whole characters: a multi-byte one cut at the end waits for the next round.
            let fresh = &trace[sent..];
            let whole = match std::str::from_utf8(fresh) {
                Ok(s) => s.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => fresh.len(),
            };
            if whole > 0 {
                hub.0.events.publish(What::Log {
                    project,
                    job,
                    offset: sent as u64,
                    content: String::from_utf8_lossy(&fresh[..whole]).into_owned(),
                    complete: finished && whole == fresh.len(),
                });
                hub.0.metrics.event_published();
                sent += whole;
            }
        } else if finished {
            hub.0.events.publish(What::Log {
                project,
                job,
                offset: sent as u64,
                content: String::new(),
                complete: true,
            });
            break;
        }
        if finished {
            break;
        }
    }
    hub.0.followers.lock().expect("followers lock").remove(&(project, job));
}

fn filter_key(f: &PipelineFilter) -> String {
    format!(
        "{}|{}|{}",
        f.git_ref.as_deref().unwrap_or(""),
        f.status.as_deref().unwrap_or(""),
        f.source.as_deref().unwrap_or("")
    )
}

#[async_trait]
impl Gitlab for Hub {
    fn url(&self) -> String {
        self.0.upstream.url()
    }

    async fn project(&self, id_or_path: &str) -> Result<GlProject> {
        let key = format!("project:{id_or_path}");
        let id = id_or_path.to_owned();
        self.read(key, Scope::For(Duration::from_secs(600)), |g| async move {
            g.project(&id).await
        })
        .await
    }

    async fn member_projects(&self) -> Result<Vec<GlProject>> {
        self.read(
            "member_projects".into(),
            Scope::For(Duration::from_secs(600)),
            |g| async move { g.member_projects().await },
        )
        .await
    }

    async fn pipelines(
        &self,
        project: u64,
        filter: &PipelineFilter,
        page: u32,
        per_page: u32,
    ) -> Result<Page<GlPipeline>> {
        let key = format!("{project}:pipelines:{}:{page}:{per_page}", filter_key(filter));
        let filter = filter.clone();
        self.read(key, Scope::Project(project), |g| async move {
            g.pipelines(project, &filter, page, per_page).await
        })
        .await
    }

    async fn pipelines_updated_after(&self, project: u64, after: Option<DateTime<Utc>>) -> Result<Vec<GlPipeline>> {
        self.0.upstream.pipelines_updated_after(project, after).await
    }

    async fn pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        let key = format!("{project}:pipeline:{pipeline}");
        self.read(key, Scope::Pipeline(project, pipeline), |g| async move {
            g.pipeline(project, pipeline).await
        })
        .await
    }

    async fn pipeline_jobs(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>> {
        let key = format!("{project}:jobs:{pipeline}");
        self.read(key, Scope::Pipeline(project, pipeline), |g| async move {
            g.pipeline_jobs(project, pipeline).await
        })
        .await
    }

    async fn pipeline_bridges(&self, project: u64, pipeline: u64) -> Result<Vec<GlJob>> {
        let key = format!("{project}:bridges:{pipeline}");
        self.read(key, Scope::Pipeline(project, pipeline), |g| async move {
            g.pipeline_bridges(project, pipeline).await
        })
        .await
    }

    async fn pipeline_graph(&self, project_path: &str, pipeline_iid: u64) -> Result<PipelineGraph> {
        let scope = self.path_scope(project_path);
        let key = format!("{project_path}:graph:{pipeline_iid}");
        let path = project_path.to_owned();
        self.read(
            key,
            scope,
            |g| async move { g.pipeline_graph(&path, pipeline_iid).await },
        )
        .await
    }

    async fn pipeline_summaries(&self, project_path: &str, iids: &[u64]) -> Result<HashMap<u64, PipelineSummary>> {
        let scope = self.path_scope(project_path);
        let key = format!("{project_path}:summaries:{iids:?}");
        let (path, iids) = (project_path.to_owned(), iids.to_vec());
        self.read(key, scope, |g| async move { g.pipeline_summaries(&path, &iids).await })
            .await
    }

    async fn latest_per_ref(&self, project: u64, tags: bool, count: u32) -> Result<Vec<GlPipeline>> {
        let key = format!("{project}:latest_per_ref:{tags}:{count}");
        self.read(key, Scope::Project(project), |g| async move {
            g.latest_per_ref(project, tags, count).await
        })
        .await
    }

    async fn job_environments(&self, project_path: &str, pipeline_iid: u64) -> Result<HashMap<u64, String>> {
        let scope = self.path_scope(project_path);
        let key = format!("{project_path}:job_environments:{pipeline_iid}");
        let path = project_path.to_owned();
        self.read(
            key,
            scope,
            |g| async move { g.job_environments(&path, pipeline_iid).await },
        )
        .await
    }

    async fn environments(&self, project: u64) -> Result<Vec<GlEnvironment>> {
        self.read(
            format!("{project}:environments"),
            Scope::Project(project),
            |g| async move { g.environments(project).await },
        )
        .await
    }

    async fn environment(&self, project: u64, environment: u64) -> Result<GlEnvironment> {
        let key = format!("{project}:environment:{environment}");
        self.read(key, Scope::Project(project), |g| async move {
            g.environment(project, environment).await
        })
        .await
    }

    async fn deployments(
        &self,
        project: u64,
        environment: Option<&str>,
        status: Option<&str>,
        count: u32,
    ) -> Result<Vec<GlDeployment>> {
        let key = format!("{project}:deployments:{environment:?}:{status:?}:{count}");
        let (environment, status) = (environment.map(str::to_owned), status.map(str::to_owned));
        self.read(key, Scope::Project(project), |g| async move {
            g.deployments(project, environment.as_deref(), status.as_deref(), count)
                .await
        })
        .await
    }

    async fn compare(&self, project: u64, from: &str, to: &str) -> Result<Vec<GlCommit>> {
        let key = format!("{project}:compare:{from}:{to}");
        let (from, to) = (from.to_owned(), to.to_owned());
        // Commits between two shas never change; between refs they may.
        let fixed = [&from, &to]
            .iter()
            .all(|r| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()));
        let scope = if fixed { Scope::Forever } else { Scope::Project(project) };
        self.read(key, scope, |g| async move { g.compare(project, &from, &to).await })
            .await
    }

    async fn job(&self, project: u64, job: u64) -> Result<GlJob> {
        self.read(
            format!("{project}:job:{job}"),
            Scope::Project(project),
            |g| async move { g.job(project, job).await },
        )
        .await
    }

    async fn trace(&self, project: u64, job: u64) -> Result<Bytes> {
        // A running log grows without its pipeline changing: fetched at most once per interval.
        let key = format!("{project}:trace:{job}");
        self.read(key, Scope::ProjectFor(project, self.0.settings.trace), |g| async move {
            g.trace(project, job).await
        })
        .await
    }

    async fn stop_environment(&self, project: u64, environment: u64, force: bool) -> Result<GlEnvironment> {
        let answer = self.0.upstream.stop_environment(project, environment, force).await;
        if answer.is_ok() {
            self.acted(project, None);
        }
        answer
    }

    async fn retry_job(&self, project: u64, job: u64) -> Result<GlJob> {
        let answer = self.0.upstream.retry_job(project, job).await;
        if let Ok(job) = &answer {
            self.acted(project, job.pipeline.as_ref().map(|p| p.id));
        }
        answer
    }

    async fn cancel_job(&self, project: u64, job: u64) -> Result<GlJob> {
        let answer = self.0.upstream.cancel_job(project, job).await;
        if let Ok(job) = &answer {
            self.acted(project, job.pipeline.as_ref().map(|p| p.id));
        }
        answer
    }

    async fn play_job(&self, project: u64, job: u64, variables: &[(String, String)]) -> Result<GlJob> {
        let answer = self.0.upstream.play_job(project, job, variables).await;
        if let Ok(job) = &answer {
            self.acted(project, job.pipeline.as_ref().map(|p| p.id));
        }
        answer
    }

    async fn retry_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        let answer = self.0.upstream.retry_pipeline(project, pipeline).await;
        if answer.is_ok() {
            self.acted(project, Some(pipeline));
        }
        answer
    }

    async fn cancel_pipeline(&self, project: u64, pipeline: u64) -> Result<GlPipeline> {
        let answer = self.0.upstream.cancel_pipeline(project, pipeline).await;
        if answer.is_ok() {
            self.acted(project, Some(pipeline));
        }
        answer
    }
}
