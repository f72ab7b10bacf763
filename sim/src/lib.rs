//! A simulated GitLab that stageboard's demo mode and tests talk to over real HTTP, exactly as
//! they would talk to gitlab.com: REST v4 and GraphQL subsets with GitLab's status codes, error
//! bodies, pagination and rate-limit headers, playing the reference story of DESIGN.md.

pub mod clock;
pub mod cluster;
mod environments;
mod graphql;
mod limits;
pub mod oauth;
pub mod rest;
pub mod scenario;
mod trace;
pub mod users;
pub mod webhooks;
pub mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use chrono::Duration;
use serde_json::json;
use tokio::net::TcpListener;

pub use clock::Clock;
pub use limits::{Faults, HOSTILE_URL};
use rest::Ctx;
use world::{Time, World};

/// How the simulated GitLab behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The token clients must send as `PRIVATE-TOKEN` or `Authorization: Bearer`.
    pub token: String,
    /// Requests per minute before answering 429, like `throttle_authenticated_api`.
    pub rate_limit_per_minute: u32,
    /// Seed of everything random in the story; the same seed gives the same history.
    pub seed: u64,
    /// Days of past pipelines to start with.
    pub history_days: i64,
    /// Whether new pushes and tags keep arriving.
    pub live: bool,
    /// Extra feature branches of gitlab-k8s-demo, each deployed to its own review app (a GitLab
    /// environment and its Deployment, Service and Ingress): load for benchmarks.
    pub review_apps: usize,
    /// Projects to simulate: the story's three and more built like them (3 to 200).
    pub projects: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            token: "glpat-simulated-token".into(),
            rate_limit_per_minute: 2000,
            seed: 2026,
            history_days: 3,
            live: true,
            review_apps: 0,
            projects: 3,
        }
    }
}

/// The simulated GitLab: cheap to clone, shared by every request handler.
#[derive(Clone)]
pub struct Sim(Arc<Shared>);

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

struct Shared {
    world: Mutex<World>,
    clock: Clock,
    config: SimConfig,
    base_url: RwLock<String>,
    limiter: Mutex<limits::RateWindow>,
    faults: Mutex<Faults>,
    graphql: graphql::Schema,
    /// API requests received, answered or not.
    requests: std::sync::atomic::AtomicU64,
    cluster: Mutex<cluster::ClusterStore>,
    /// Tells watchers the cluster changed (carries the latest resource version).
    cluster_changed: tokio::sync::watch::Sender<u64>,
    /// Where webhooks go, and what was announced so far.
    hooks: Mutex<Option<(webhooks::Target, webhooks::Announced)>>,
    /// OAuth applications, codes and tokens.
    oauth: Mutex<oauth::Store>,
}

impl Sim {
    pub fn new(config: SimConfig, clock: Clock) -> Self {
        let world = world::with_history(
            config.seed,
            clock.now(),
            config.history_days,
            config.live,
            config.review_apps,
            scenario::projects(config.projects),
        );
        Sim(Arc::new(Shared {
            world: Mutex::new(world),
            clock,
            limiter: Mutex::new(limits::RateWindow::default()),
            faults: Mutex::new(Faults::default()),
            base_url: RwLock::new("http://gitlab.example.com".into()),
            config,
            graphql: graphql::schema(),
            requests: std::sync::atomic::AtomicU64::new(0),
            cluster: Mutex::new(cluster::ClusterStore::default()),
            cluster_changed: tokio::sync::watch::channel(0).0,
            hooks: Mutex::new(None),
            oauth: Mutex::new(oauth::Store::default()),
        }))
    }

    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    /// The projects this simulated GitLab has, deleted ones included (the world keeps their
    /// records; answers leave them out).
    pub fn projects(&self) -> Arc<[scenario::ProjectDef]> {
        self.0.world.lock().expect("world lock").projects.clone()
    }

    /// Makes a project in `group` (`POST /projects`), with the next free id.
    pub fn create_project(
        &self,
        name: &str,
        path: &str,
        group: &'static scenario::GroupDef,
        topics: Vec<String>,
    ) -> scenario::ProjectDef {
        let now = self.0.clock.now();
        let mut world = self.0.world.lock().expect("world lock");
        let id = world.projects.iter().map(|p| p.id).max().unwrap_or(0) + 1;
        let created = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let project = scenario::new_project(id, name, path, group, topics, created);
        world.add_project(project.clone());
        project
    }

    /// Archives, unarchives or deletes a project; `None` when there is no such project.
    pub fn change_project(
        &self,
        id: u64,
        change: impl FnOnce(&mut scenario::ProjectDef),
    ) -> Option<scenario::ProjectDef> {
        self.0.world.lock().expect("world lock").change_project(id, change)
    }

    pub fn config(&self) -> &SimConfig {
        &self.0.config
    }

    pub fn base_url(&self) -> String {
        self.0.base_url.read().expect("base url lock").clone()
    }

    /// Moves simulated time forward; what falls due in between happens at its own instant.
    pub fn advance(&self, by: Duration) {
        self.0.clock.advance(by);
        self.sync_cluster();
    }

    /// Brings the simulated cluster up to date with the deploy jobs, telling watchers of changes.
    pub fn sync_cluster(&self) {
        let now = self.0.clock.now();
        let desired = {
            let mut world = self.0.world.lock().expect("world lock");
            world.advance(now);
            cluster::objects::desired(&world, now)
        };
        let changed_to = {
            let mut store = self.0.cluster.lock().expect("cluster lock");
            store.sync(desired).then(|| store.resource_version())
        };
        if let Some(rv) = changed_to {
            self.0.cluster_changed.send_replace(rv);
        }
    }

    /// Sends a Pipeline, Job or Deployment webhook to `url`, with `secret` as X-Gitlab-Token,
    /// for every status change from now on (checked four times a second, and at once when the
    /// clock is advanced).
    pub fn send_webhooks(&self, url: &str, secret: &str) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut announced = webhooks::Announced::default();
        {
            let mut world = self.0.world.lock().expect("world lock");
            world.advance(self.0.clock.now());
            webhooks::changes(&world, &mut announced, &self.base_url());
        }
        let target = webhooks::Target {
            url: url.to_owned(),
            secret: secret.to_owned(),
        };
        *self.0.hooks.lock().expect("hooks lock") = Some((target.clone(), announced));
        let sim = self.clone();
        let http = reqwest::Client::new();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(250));
            loop {
                every.tick().await;
                // Stops with the simulated GitLab.
                if std::sync::Arc::strong_count(&sim.0) == 1 {
                    return;
                }
                let deliveries = sim.pending_hooks();
                let sends = deliveries.into_iter().map(|d| webhooks::deliver(&http, &target, d));
                futures::future::join_all(sends).await;
            }
        });
    }

    fn pending_hooks(&self) -> Vec<webhooks::Delivery> {
        let mut hooks = self.0.hooks.lock().expect("hooks lock");
        let Some((_, announced)) = hooks.as_mut() else {
            return Vec::new();
        };
        let mut world = self.0.world.lock().expect("world lock");
        world.advance(self.0.clock.now());
        webhooks::changes(&world, announced, &self.base_url())
    }

    /// Reads the simulated cluster's store.
    pub fn cluster<T>(&self, f: impl FnOnce(&mut cluster::ClusterStore) -> T) -> T {
        f(&mut self.0.cluster.lock().expect("cluster lock"))
    }

    pub(crate) fn cluster_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.cluster_changed.subscribe()
    }

    /// How many API requests (`/api/...`) reached the simulated GitLab so far.
    pub fn requests_received(&self) -> u64 {
        self.0.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Makes the API misbehave (slow, failing, truncated) until cleared with `Faults::default()`.
    pub fn set_faults(&self, faults: Faults) {
        *self.0.faults.lock().expect("faults lock") = faults;
    }

    fn faults(&self) -> Faults {
        self.0.faults.lock().expect("faults lock").clone()
    }

    /// Reads the world as it is now.
    pub fn read<T>(&self, f: impl FnOnce(&Ctx<'_>) -> T) -> T {
        let now = self.0.clock.now();
        let mut world = self.0.world.lock().expect("world lock");
        world.advance(now);
        let base = self.base_url();
        f(&Ctx {
            base: &base,
            now,
            world: &world,
        })
    }

    /// Changes the world now (an action).
    pub fn write<T>(&self, f: impl FnOnce(&mut World, Time) -> T) -> T {
        let now = self.0.clock.now();
        let mut world = self.0.world.lock().expect("world lock");
        world.advance(now);
        f(&mut world, now)
    }

    /// The HTTP application: `/api/v4/...`, `/api/graphql`, and `/-/sim/...` controls for tests.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .nest("/api/v4", rest::routes())
            .route("/api/graphql", post(graphql::handle))
            .fallback(|| async { rest::error::GitlabError::NoRoute })
            .layer(middleware::from_fn_with_state(self.clone(), limits::authenticate))
            .layer(middleware::from_fn_with_state(self.clone(), limits::rate_limit))
            .layer(middleware::from_fn_with_state(self.clone(), limits::inject_faults));
        let kube = cluster::routes()
            .layer(middleware::from_fn_with_state(self.clone(), limits::authenticate_kube))
            .with_state(self.clone());
        Router::new()
            .route("/-/sim/clock", get(clock_now))
            .route("/-/sim/requests", get(requests_received))
            .route("/-/sim/k8s/compact", post(compact_cluster))
            .route("/-/sim/advance", post(advance))
            .route("/-/sim/faults", post(set_faults))
            .route("/-/sim/runners/{id}", post(set_runner))
            .merge(api)
            .merge(oauth::routes())
            .with_state(self.clone())
            .merge(kube)
    }

    /// Serves on `listener` until the task is dropped or aborted.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        let addr = listener.local_addr()?;
        *self.0.base_url.write().expect("base url lock") = format!("http://{addr}");
        axum::serve(listener, self.router()).await
    }
}

/// A simulated GitLab serving on a loopback port in the background.
#[derive(Debug)]
pub struct RunningSim {
    pub addr: SocketAddr,
    pub sim: Sim,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    tick: tokio::task::JoinHandle<()>,
}

impl RunningSim {
    /// Binds `addr` (port 0 picks a free one) and serves there.
    pub async fn start(config: SimConfig, clock: Clock, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let sim = Sim::new(config, clock);
        *sim.0.base_url.write().expect("base url lock") = format!("http://{addr}");
        let task = tokio::spawn(sim.clone().serve(listener));
        // The cluster follows the deploy jobs as time passes, watched or not.
        let ticker = sim.clone();
        let tick = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(250));
            loop {
                every.tick().await;
                ticker.sync_cluster();
            }
        });
        Ok(RunningSim { addr, sim, task, tick })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.task.abort();
        self.tick.abort();
    }
}

async fn clock_now(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!({ "now": sim.clock().now() }))
}

#[derive(serde::Deserialize)]
struct AdvanceBody {
    seconds: i64,
}

async fn advance(State(sim): State<Sim>, Json(body): Json<AdvanceBody>) -> Json<serde_json::Value> {
    sim.advance(Duration::seconds(body.seconds));
    Json(json!({ "now": sim.clock().now() }))
}

/// How many API requests reached the simulated GitLab: what benchmarks count.
async fn requests_received(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!({ "requests": sim.requests_received() }))
}

async fn compact_cluster(State(sim): State<Sim>) -> Json<serde_json::Value> {
    sim.cluster(|c| c.compact());
    Json(json!({ "ok": true }))
}

#[derive(serde::Deserialize)]
struct RunnerBody {
    online: bool,
}

/// Takes a runner offline or brings it back (`{"online": false}`), from now on.
async fn set_runner(
    State(sim): State<Sim>,
    axum::extract::Path(id): axum::extract::Path<u64>,
    Json(body): Json<RunnerBody>,
) -> Json<serde_json::Value> {
    sim.write(|world, now| world.force_runner(id, body.online, now));
    Json(json!({ "id": id, "online": body.online }))
}

async fn set_faults(State(sim): State<Sim>, Json(faults): Json<Faults>) -> Json<serde_json::Value> {
    sim.set_faults(faults);
    Json(json!({ "ok": true }))
}
