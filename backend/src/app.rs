//! Shared application state: a cheap `Clone` around an `Arc`.

use std::collections::HashSet;
use std::sync::Arc;

use stageboard_sim::Sim;
use tokio::sync::RwLock;

use crate::cluster::ClusterState;
use crate::error::{AppError, AppResult};
use crate::gitlab::Gitlab;
use crate::gitlab::types::GlProject;
use crate::hub::hooks::Seen;
use crate::hub::{Hub, HubSettings};
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    /// Every GitLab read and action goes through the hub (its cache, polling and events).
    hub: Hub,
    /// The shared secret GitLab's webhooks must carry; without it, `/hooks/gitlab` is off.
    webhook_secret: Option<String>,
    /// GitLab's optional signing token (Standard Webhooks HMAC), `whsec_<base64>`.
    webhook_signing: Option<String>,
    seen_hooks: Seen,
    watch: Watchlist,
    /// The in-process simulated GitLab, in demo mode.
    demo: Option<Sim>,
    cluster: Option<(ClusterState, NamespaceMap)>,
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
    /// A state with the hub's default schedule and its own metrics.
    pub fn new(gitlab: Arc<dyn Gitlab>, projects: Vec<String>, demo: Option<Sim>) -> Self {
        let hub = Hub::new(gitlab, HubSettings::default(), Metrics::new());
        Self::with_hub(hub, projects, demo, None)
    }

    /// A state around `hub`; `webhook_secret` turns `/hooks/gitlab` on.
    pub fn with_hub(hub: Hub, projects: Vec<String>, demo: Option<Sim>, webhook_secret: Option<String>) -> Self {
        AppState(Arc::new(Inner {
            hub,
            webhook_secret,
            webhook_signing: None,
            seen_hooks: Seen::new(10_000),
            watch: Watchlist {
                configured: projects,
                resolved: RwLock::new(HashSet::new()),
            },
            demo,
            cluster: None,
        }))
    }

    /// Adds live cluster state; call before the state is shared.
    pub fn with_cluster(mut self, cluster: ClusterState, namespaces: NamespaceMap) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("with_cluster is called before the state is shared")
            .cluster = Some((cluster, namespaces));
        self
    }

    /// Also requires GitLab's webhook signature; call before the state is shared.
    pub fn with_webhook_signing(mut self, token: Option<String>) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("with_webhook_signing is called before the state is shared")
            .webhook_signing = token;
        self
    }

    pub fn webhook_signing(&self) -> Option<&str> {
        self.0.webhook_signing.as_deref()
    }

    /// The cluster and where each environment lives, when a cluster is configured.
    pub fn cluster(&self) -> Option<&(ClusterState, NamespaceMap)> {
        self.0.cluster.as_ref()
    }

    pub fn gitlab(&self) -> &dyn Gitlab {
        &self.0.hub
    }

    pub fn hub(&self) -> &Hub {
        &self.0.hub
    }

    pub fn webhook_secret(&self) -> Option<&str> {
        self.0.webhook_secret.as_deref()
    }

    /// Whether a webhook delivery with this id is new (retried and replayed ones are not).
    pub fn first_delivery(&self, id: &str) -> bool {
        self.0.seen_hooks.first_time(id)
    }

    pub fn gitlab_url(&self) -> String {
        self.0.hub.url()
    }

    pub fn demo(&self) -> Option<&Sim> {
        self.0.demo.as_ref()
    }

    /// Until login exists, actions are open only in demo mode, where nothing real is at stake.
    pub fn actions_enabled(&self) -> bool {
        self.0.demo.is_some()
    }

    pub fn ensure_actions_allowed(&self) -> AppResult<()> {
        if self.actions_enabled() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "Retry, cancel, play and stop need a logged-in person acting with their own GitLab rights, and login is not available yet: this stageboard only reads. Use GitLab for now.",
            ))
        }
    }

    /// An action may go ahead: actions are open here, and the project is watched.
    pub async fn ensure_may_act(&self, project: u64) -> AppResult<()> {
        self.ensure_actions_allowed()?;
        self.ensure_watched(project).await
    }

    /// The watched projects, in the configured order.
    pub async fn watched_projects(&self) -> AppResult<Vec<GlProject>> {
        let watch = &self.0.watch;
        let projects = if watch.configured.is_empty() {
            self.gitlab().member_projects().await?
        } else {
            let lookups = watch.configured.iter().map(|p| async move {
                self.gitlab().project(p).await.map_err(|e| match e {
                    crate::gitlab::GitlabError::NotFound { .. } => AppError::not_found(format!(
                        "STAGEBOARD_PROJECTS names `{p}`, which GitLab at {} does not have or the configured token cannot see.",
                        self.gitlab_url()
                    )),
                    other => AppError::from(other),
                })
            });
            futures::future::try_join_all(lookups).await?
        };
        watch.resolved.write().await.extend(projects.iter().map(|p| p.id));
        let polled: Vec<(u64, String)> = projects.iter().map(|p| (p.id, p.path_with_namespace.clone())).collect();
        self.0.hub.watch(&polled);
        Ok(projects)
    }

    /// Only watched projects are served: the shared token is not a way to browse all of GitLab.
    pub async fn ensure_watched(&self, project: u64) -> AppResult<()> {
        let watch = &self.0.watch;
        if watch.configured.is_empty()
            || watch.configured.iter().any(|p| *p == project.to_string())
            || watch.resolved.read().await.contains(&project)
        {
            return Ok(());
        }
        self.watched_projects().await?;
        if watch.resolved.read().await.contains(&project) {
            Ok(())
        } else {
            Err(AppError::not_found(format!(
                "Project {project} is not watched by this stageboard (see STAGEBOARD_PROJECTS)."
            )))
        }
    }
}

struct Watchlist {
    /// Ids or full paths as configured; empty means the token user's projects.
    configured: Vec<String>,
    /// Numeric ids of configured projects, once GitLab has told us.
    resolved: RwLock<HashSet<u64>>,
}
