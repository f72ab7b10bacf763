//! Shared application state: a cheap `Clone` around an `Arc`.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::RwLock;

use crate::cluster::ClusterState;
use crate::error::{AppError, AppResult};
use crate::gitlab::Gitlab;
use crate::gitlab::types::GlProject;
use crate::hub::Hub;
use crate::hub::hooks::RecentDeliveries;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    /// GitLab access: every read and action goes through the hub (its cache, polling, events).
    hub: Hub,
    /// The audit log (and, with sign-in, sessions and sealed tokens).
    store: crate::store::Store,
    sessions: crate::auth::SessionStore,
    /// The GitLab client behind the hub, from which people's own clients are made.
    client: Arc<crate::gitlab::GitlabClient>,
    /// Signing in with GitLab, when configured.
    auth: Option<Arc<crate::auth::Auth>>,
    watch: Watchlist,
    webhooks: Option<Webhooks>,
    cluster: Option<Cluster>,
    /// The host names requests may be addressed to.
    allowed_hosts: crate::guard::AllowedHosts,
    /// What `/metrics` asks for, when set.
    metrics_token: Option<secrecy::SecretString>,
    /// Permits for open event streams.
    streams: Arc<tokio::sync::Semaphore>,
    /// Trusted proxies and per-address bounds.
    clients: crate::client::Clients,
    https: bool,
    /// Who may read (STAGEBOARD_ACCESS).
    access: crate::access::Access,
    /// People's roles on projects, as GitLab told them.
    roles: crate::access::Roles,
    /// Wall boards by name.
    boards: crate::boards::Boards,
    refs: crate::selection::RefSelection,
    /// With PostgreSQL: this process as one of several replicas.
    replicas: Option<crate::replicas::Replicas>,
    /// The in-process simulated GitLab, in demo mode.
    #[cfg(feature = "demo")]
    demo: Option<stageboard_sim::Sim>,
}

/// GitLab's webhooks: `/hooks/gitlab` is on only with these.
pub struct Webhooks {
    /// The shared secret deliveries must carry (`X-Gitlab-Token`).
    pub secret: Option<String>,
    /// GitLab's optional signing token (Standard Webhooks HMAC), `whsec_<base64>`.
    pub signing: Option<String>,
    seen: RecentDeliveries,
    /// When a refused delivery was last logged, and how many were refused since.
    refused: std::sync::Mutex<(Option<std::time::Instant>, u64)>,
}

impl Webhooks {
    /// Webhooks are on with a secret, a signing token, or both; off with neither.
    pub fn new(secret: Option<String>, signing: Option<String>) -> Option<Self> {
        (secret.is_some() || signing.is_some()).then(|| Webhooks {
            secret,
            signing,
            seen: RecentDeliveries::new(10_000),
            refused: std::sync::Mutex::new((None, 0)),
        })
    }

    /// Whether a delivery with this id is new (retried and replayed ones are not).
    pub fn first_delivery(&self, id: &str) -> bool {
        self.seen.first_time(id)
    }

    /// Logs a refused delivery, at most one line a minute: anyone can send junk to
    /// `/hooks/gitlab`, and that must not write a line per request (the metric counts each).
    pub fn log_refusal(&self, message: &str) {
        let mut refused = self.refused.lock().expect("refusals lock");
        let (last, since) = &mut *refused;
        if last.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(60)) {
            tracing::warn!(%message, refused_since_last_line = *since, "a webhook delivery was refused; nothing applied");
            *last = Some(std::time::Instant::now());
            *since = 0;
        } else {
            *since += 1;
        }
    }
}

/// Live cluster state and where each environment's resources live.
pub struct Cluster {
    pub state: ClusterState,
    pub namespaces: NamespaceMap,
}

/// What the application state is made of; assembled by [`crate::server::App::build`].
pub struct Parts {
    pub hub: Hub,
    pub store: crate::store::Store,
    pub sessions: crate::auth::SessionStore,
    pub client: Arc<crate::gitlab::GitlabClient>,
    pub auth: Option<Arc<crate::auth::Auth>>,
    /// Which projects are watched.
    pub selection: crate::selection::Selection,
    /// Which refs a card shows besides the default branch.
    pub refs: crate::selection::RefSelection,
    pub webhooks: Option<Webhooks>,
    pub cluster: Option<Cluster>,
    pub allowed_hosts: crate::guard::AllowedHosts,
    pub metrics_token: Option<secrecy::SecretString>,
    /// How many event streams may be open at once.
    pub max_streams: usize,
    pub clients: crate::client::Clients,
    /// People reach stageboard over https (STAGEBOARD_PUBLIC_URL): answers carry HSTS.
    pub https: bool,
    /// Who may read (STAGEBOARD_ACCESS, or its default).
    pub access: crate::access::Access,
    pub boards: crate::boards::Boards,
    pub replicas: Option<crate::replicas::Replicas>,
    #[cfg(feature = "demo")]
    pub demo: Option<stageboard_sim::Sim>,
}

/// Which namespace an environment's resources live in: `name=namespace` rules (a trailing `*`
/// matches a prefix, as in `review/*=review`), else the default namespace.
#[derive(Debug, Clone)]
pub struct NamespaceMap {
    pub default: String,
    pub rules: Vec<(String, String)>,
    /// Further namespaces to watch that no rule names.
    pub also: Vec<String>,
}

impl NamespaceMap {
    pub fn namespace_of(&self, environment: &str) -> &str {
        self.rules
            .iter()
            .find(|(pattern, _)| match pattern.strip_suffix('*') {
                Some(prefix) => environment.starts_with(prefix),
                None => pattern == environment,
            })
            .map(|(_, ns)| ns.as_str())
            .unwrap_or(&self.default)
    }

    /// Every namespace the rules name, the default first.
    pub fn namespaces(&self) -> Vec<String> {
        let mut all = vec![self.default.clone()];
        for ns in self.rules.iter().map(|(_, ns)| ns).chain(&self.also) {
            if !all.contains(ns) {
                all.push(ns.clone());
            }
        }
        all
    }
}

impl AppState {
    pub fn new(parts: Parts) -> Self {
        AppState(Arc::new(Inner {
            hub: parts.hub,
            store: parts.store,
            sessions: parts.sessions,
            client: parts.client,
            auth: parts.auth,
            access: parts.access,
            roles: crate::access::Roles::default(),
            boards: parts.boards,
            refs: parts.refs,
            watch: Watchlist {
                selection: parts.selection,
                reported: std::sync::Mutex::new((Vec::new(), Vec::new())),
                current: RwLock::new(None),
            },
            webhooks: parts.webhooks,
            cluster: parts.cluster,
            allowed_hosts: parts.allowed_hosts,
            metrics_token: parts.metrics_token,
            streams: Arc::new(tokio::sync::Semaphore::new(parts.max_streams)),
            clients: parts.clients,
            https: parts.https,
            replicas: parts.replicas,
            #[cfg(feature = "demo")]
            demo: parts.demo,
        }))
    }

    pub fn roles(&self) -> &crate::access::Roles {
        &self.0.roles
    }

    /// Whether `authorization` may read `/metrics`: anyone without a metrics token set.
    pub fn may_read_metrics(&self, authorization: Option<&[u8]>) -> bool {
        use secrecy::ExposeSecret;
        self.0.metrics_token.as_ref().is_none_or(|token| {
            let given = authorization.and_then(|a| a.strip_prefix(b"Bearer "));
            crate::hub::hooks::token_matches(given, token.expose_secret())
        })
    }

    /// The permits for open event streams.
    pub fn streams(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.0.streams
    }

    /// Which projects are watched, as configured.
    pub fn selection(&self) -> &crate::selection::Selection {
        &self.0.watch.selection
    }

    /// Which refs a project's card shows besides the default branch.
    pub fn refs(&self) -> &crate::selection::RefSelection {
        &self.0.refs
    }

    pub fn boards(&self) -> &crate::boards::Boards {
        &self.0.boards
    }

    /// Whether people reach stageboard over https.
    pub fn https(&self) -> bool {
        self.0.https
    }

    /// Who may read.
    pub fn access(&self) -> crate::access::Access {
        self.0.access
    }

    pub fn clients(&self) -> &crate::client::Clients {
        &self.0.clients
    }

    pub fn allowed_hosts(&self) -> &crate::guard::AllowedHosts {
        &self.0.allowed_hosts
    }

    /// The webhook settings, when `/hooks/gitlab` is on.
    pub fn webhooks(&self) -> Option<&Webhooks> {
        self.0.webhooks.as_ref()
    }

    /// The cluster and where each environment lives, when a cluster is configured.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.0.cluster.as_ref()
    }

    pub fn gitlab(&self) -> &dyn Gitlab {
        &self.0.hub
    }

    pub fn hub(&self) -> &Hub {
        &self.0.hub
    }

    /// The GitLab client behind the hub (people's own clients are made from it).
    pub fn gitlab_client(&self) -> &crate::gitlab::GitlabClient {
        &self.0.client
    }

    pub fn store(&self) -> &crate::store::Store {
        &self.0.store
    }

    /// This process as one of several replicas (with PostgreSQL).
    pub fn replicas(&self) -> Option<&crate::replicas::Replicas> {
        self.0.replicas.as_ref()
    }

    pub fn sessions(&self) -> &crate::auth::SessionStore {
        &self.0.sessions
    }

    /// Signing in, when configured (always in demo mode).
    pub fn auth(&self) -> Option<&crate::auth::Auth> {
        self.0.auth.as_deref()
    }

    pub fn gitlab_url(&self) -> String {
        self.0.hub.url()
    }

    #[cfg(feature = "demo")]
    pub fn demo(&self) -> Option<&stageboard_sim::Sim> {
        self.0.demo.as_ref()
    }

    /// Runs on a simulated GitLab (a build with the `demo` feature, started without GITLAB_URL).
    pub fn is_demo(&self) -> bool {
        #[cfg(feature = "demo")]
        return self.0.demo.is_some();
        #[cfg(not(feature = "demo"))]
        false
    }

    /// GitLab as `actor`, who may send actions: they are signed in (in demo mode too: the
    /// simulated GitLab's roles decide, as a real GitLab's would).
    pub fn ensure_actions_allowed(&self, actor: &crate::audit::Actor) -> AppResult<crate::acting::Acting> {
        if actor.kiosk {
            return Err(crate::kiosk::may_not_act());
        }
        match &actor.token {
            Some(token) => Ok(crate::acting::Acting::person(
                self,
                token.clone(),
                actor.session.clone(),
            )),
            None if self.auth().is_some() => Err(AppError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                stageboard_protocol::ErrorCode::Unauthorized,
                "Sign in with GitLab to retry, cancel, play or stop: actions are sent with your own GitLab rights.",
            )),
            None => Err(AppError::forbidden(
                "Retry, cancel, play and stop are sent with the signed-in person's own GitLab rights, and signing in is not set up here (GITLAB_OAUTH_CLIENT_ID): this stageboard only reads. Use GitLab for now.",
            )),
        }
    }

    /// GitLab as `actor` for an action on `project`: they may act, and the project is watched.
    pub async fn ensure_may_act(&self, actor: &crate::audit::Actor, project: u64) -> AppResult<crate::acting::Acting> {
        let acting = self.ensure_actions_allowed(actor)?;
        self.ensure_watched(project).await?;
        Ok(acting)
    }

    /// The watched projects `reader` may read, in the configured order.
    pub async fn readable_projects(&self, reader: &crate::access::Reader) -> AppResult<Vec<GlProject>> {
        let mut projects = self.watched_projects().await?;
        projects.retain(|p| reader.may_read(p.id));
        Ok(projects)
    }

    /// A project `reader` may read: watched, and (where people sign in to read) one GitLab
    /// lets them read. Otherwise 404, as for a project not watched: nothing says it exists.
    pub async fn ensure_readable(&self, reader: &crate::access::Reader, project: u64) -> AppResult<()> {
        self.ensure_watched(project).await?;
        if reader.may_read(project) {
            Ok(())
        } else {
            Err(AppError::not_found(format!(
                "Project {project} is not one this stageboard shows you: it shows the watched projects GitLab lets you read."
            )))
        }
    }

    /// The watched projects as last read (listed projects in their order, then the groups'
    /// and topics'); read now if they never were. Pages use this, so a page costs GitLab
    /// nothing for the selection, and a reading that fails later leaves this in force.
    pub async fn watched_projects(&self) -> AppResult<Vec<GlProject>> {
        if let Some(current) = self.0.watch.current.read().await.as_ref() {
            return Ok(current.projects.clone());
        }
        self.read_selection().await
    }

    /// Reads the selection again (every `STAGEBOARD_SELECTION_REFRESH`, `server::start_watching`),
    /// replaces the watched set and starts or stops pollers to match. A listed project or group
    /// GitLab does not have is left out, and named in the log whenever that changes.
    pub async fn read_selection(&self) -> AppResult<Vec<GlProject>> {
        let watch = &self.0.watch;
        let found = watch.selection.read(self.gitlab()).await?;
        {
            let mut reported = watch.reported.lock().expect("reported lock");
            let now = (found.missing.clone(), found.archived.clone());
            if *reported != now {
                if now.0.is_empty() && now.1.is_empty() {
                    tracing::info!("every project and group the selection lists is found again");
                } else {
                    tracing::warn!(
                        missing = %now.0.join(", "),
                        archived = %now.1.join(", "),
                        gitlab = %self.gitlab_url(),
                        "the selection lists projects or groups GitLab does not have (or the token cannot see), or archived projects: they are left out"
                    );
                }
                *reported = now;
            }
        }
        let projects = found.projects;
        let polled: Vec<(u64, String)> = projects.iter().map(|p| (p.id, p.path_with_namespace.clone())).collect();
        // The set served and the set polled change together, so two readers cannot leave
        // them disagreeing.
        let mut current = watch.current.write().await;
        *current = Some(Watched {
            ids: projects.iter().map(|p| p.id).collect(),
            projects: projects.clone(),
        });
        self.0.hub.watch(&polled);
        drop(current);
        Ok(projects)
    }

    /// Only watched projects are served: the shared token is not a way to browse all of GitLab.
    /// Once the watched set is known, any other id is refused without asking GitLab, so made-up
    /// ids cost nothing upstream; the set is refreshed in the background (`server::start_watching`).
    pub async fn ensure_watched(&self, project: u64) -> AppResult<()> {
        let watch = &self.0.watch;
        let known = watch.current.read().await.as_ref().map(|w| w.ids.contains(&project));
        let watched = match known {
            Some(watched) => watched,
            // Before the first reading, a listed id needs no GitLab request.
            None if watch.selection.lists(project) => true,
            None => self.watched_projects().await?.iter().any(|p| p.id == project),
        };
        if watched {
            Ok(())
        } else {
            Err(AppError::not_found(format!(
                "Project {project} is not watched by this stageboard: it watches {} (docs/operations.md, \"Selecting projects\").",
                watch.selection.describe()
            )))
        }
    }
}

struct Watchlist {
    selection: crate::selection::Selection,
    /// The listed projects and groups missing, and the listed projects archived, as last
    /// named in the log.
    reported: std::sync::Mutex<(Vec<String>, Vec<String>)>,
    /// The selection as last read; `None` until GitLab has first answered.
    current: RwLock<Option<Watched>>,
}

struct Watched {
    projects: Vec<GlProject>,
    ids: HashSet<u64>,
}
