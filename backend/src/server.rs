//! The composition root: [`App::build`] makes the whole server from its configuration, for
//! `main` and for every test alike; [`run`] serves it until told to stop.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use secrecy::ExposeSecret;
use stageboard_protocol::ServerEvent;
use tokio::net::TcpListener;

use crate::app::{AppState, Cluster, Parts, Webhooks};
use crate::cluster::ClusterState;
use crate::config::{ClusterMode, Config, GitlabSource};
use crate::gitlab::GitlabClient;
use crate::hub::Hub;
use crate::metrics::Metrics;

/// The server, assembled: its state and, in demo mode, the simulated GitLab it lives with.
pub struct App {
    pub state: AppState,
    /// Where the other replicas reach this one (STAGEBOARD_REPLICA_URL), when set.
    replica_url: Option<url::Url>,
    /// How often the selection of projects is read again.
    refresh: std::time::Duration,
    /// The simulated GitLab (and cluster) of demo mode; it stops when the app is dropped.
    #[cfg(feature = "demo")]
    pub sim: Option<stageboard_sim::RunningSim>,
    #[cfg(feature = "demo")]
    demo_webhooks: bool,
}

impl App {
    /// Everything the configuration asks for: the GitLab client (to a real GitLab or, in demo
    /// mode, to a simulated one started here), the hub, webhooks and the cluster watch.
    pub async fn build(config: Config) -> Result<App, String> {
        let metrics = Metrics::new();
        #[cfg_attr(not(feature = "demo"), allow(unused_mut, reason = "demo mode adds its own secret"))]
        let mut webhook_secret = config.webhook_secret.as_ref().map(|s| s.expose_secret().to_owned());
        #[cfg(feature = "demo")]
        let mut demo = None;
        let (url, token, selection) = match config.gitlab_source {
            GitlabSource::Gitlab { url, token } => (url, token, config.selection),
            #[cfg(feature = "demo")]
            GitlabSource::Demo(settings) => {
                let token = secrecy::SecretString::from(settings.sim.token.clone());
                let sim = stageboard_sim::RunningSim::start(
                    settings.sim,
                    settings.clock,
                    SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
                )
                .await
                .map_err(|e| format!("could not start the simulated GitLab: {e}"))?;
                let url = url::Url::parse(&sim.url()).expect("loopback URL");
                if settings.webhooks {
                    webhook_secret.get_or_insert_with(|| {
                        use rand::Rng;
                        format!("demo-hook-{:032x}", rand::rng().random::<u128>())
                    });
                }
                let mut selection = config.selection;
                if selection.is_membership() {
                    // The demo's token is the simulated administrator's, member of nothing:
                    // it watches the simulated projects by name.
                    selection.projects = sim.sim.projects().iter().map(|p| p.full_path()).collect();
                }
                tracing::info!(gitlab = %sim.url(), "demo mode: no GITLAB_URL set, so a simulated GitLab is running");
                demo = Some((sim, settings.cluster, settings.webhooks));
                (url, token, selection)
            }
        };
        let gitlab_url = url.clone();
        let refresh = selection.refresh;
        let client = Arc::new(
            GitlabClient::new(url, token, config.gitlab)
                .map_err(|e| e.to_string())?
                .with_metrics(metrics.clone()),
        );
        let signing = config
            .webhook_signing_token
            .as_ref()
            .map(|s| s.expose_secret().to_owned());
        let webhooks = Webhooks::new(webhook_secret, signing);
        let hub = if webhooks.is_some() {
            Hub::with_webhooks(client.clone(), config.hub, metrics)
        } else {
            Hub::new(client.clone(), config.hub, metrics)
        };
        #[cfg(feature = "demo")]
        let kube_client = match &demo {
            // The simulated GitLab also serves the simulated cluster's API.
            Some((sim, true, _)) => Some(demo_cluster_client(sim)?),
            Some((_, false, _)) => None,
            None => real_cluster_client(config.cluster).await?,
        };
        #[cfg(not(feature = "demo"))]
        let kube_client = real_cluster_client(config.cluster).await?;
        let cluster = kube_client.map(|client| {
            let namespaces = config.namespaces.namespaces();
            let state = ClusterState::start(client, &namespaces, &config.cluster_label);
            tracing::info!(?namespaces, label = %config.cluster_label, watches = state.watch_connections(), "watching the cluster");
            Cluster {
                state,
                namespaces: config.namespaces,
            }
        });
        let store = crate::store::Store::open(&config.store).await?;
        let sessions = crate::auth::SessionStore::open(store.database()).await?;
        let replicas = match store.database() {
            crate::store::Database::Postgres(pool) => Some(crate::replicas::Replicas::new(
                pool.clone(),
                hub.clone(),
                store.sealer(),
            )),
            crate::store::Database::Sqlite(_) => None,
        };
        #[cfg_attr(not(feature = "demo"), allow(unused_mut, reason = "demo mode signs in on its own"))]
        let mut oauth = config.oauth.clone();
        #[cfg(feature = "demo")]
        if demo.is_some() && oauth.is_none() {
            // The simulated GitLab's application, registered once the address is known.
            oauth = Some(crate::auth::OAuthConfig {
                client_id: crate::auth::DEMO_CLIENT.into(),
                client_secret: None,
            });
        }
        let auth = oauth
            .map(|o| crate::auth::Auth::new(&o, &gitlab_url, config.public_url.as_ref()))
            .transpose()?
            .map(Arc::new);
        let access = match (config.access, auth.is_some()) {
            (Some(crate::access::Access::Login), false) => {
                return Err(
                    "STAGEBOARD_ACCESS=login needs people to sign in, and signing in is not set up (GITLAB_OAUTH_CLIENT_ID)".into(),
                );
            }
            (Some(access), _) => access,
            // The demo reads like `public`, so a newcomer sees it at once.
            (None, true) if config.oauth.is_some() => crate::access::Access::Login,
            (None, _) => crate::access::Access::Public,
        };
        if auth.is_none() {
            tracing::warn!(
                "signing in is not set up (GITLAB_OAUTH_CLIENT_ID): stageboard only reads, and its pages are open to whoever reaches it"
            );
        }
        let state = AppState::new(Parts {
            store,
            sessions,
            client,
            auth,
            hub,
            selection,
            refs: config.refs,
            webhooks,
            cluster,
            allowed_hosts: crate::guard::AllowedHosts::new(
                config.listen.ip(),
                &config
                    .allowed_hosts
                    .iter()
                    .cloned()
                    .chain(config.public_url.as_ref().and_then(|u| u.host_str()).map(str::to_owned))
                    // The other replicas read through this one by that name.
                    .chain(
                        config
                            .replica_url
                            .as_ref()
                            .and_then(|u| u.host_str())
                            .map(str::to_owned),
                    )
                    .collect::<Vec<_>>(),
            ),
            https: config.public_url.as_ref().is_some_and(|u| u.scheme() == "https"),
            access,
            boards: config.boards,
            metrics_token: config.metrics_token,
            max_streams: config.max_streams,
            clients: crate::client::Clients::new(config.trusted_proxies, config.max_streams_per_address),
            replicas,
            #[cfg(feature = "demo")]
            demo: demo.as_ref().map(|(sim, _, _)| sim.sim.clone()),
        });
        Ok(App {
            state,
            replica_url: config.replica_url,
            refresh,
            #[cfg(feature = "demo")]
            demo_webhooks: demo.as_ref().is_some_and(|(_, _, hooks)| *hooks),
            #[cfg(feature = "demo")]
            sim: demo.map(|(sim, _, _)| sim),
        })
    }

    pub fn router(&self) -> Router {
        crate::router(self.state.clone())
    }

    /// What runs beside the server once it listens on `addr`: the hub starts polling the
    /// watched projects before anyone looks, and the demo's GitLab sends its webhooks here.
    pub fn start(&self, addr: SocketAddr) {
        #[cfg(feature = "demo")]
        if let (true, Some(sim), Some(secret)) = (
            self.demo_webhooks,
            &self.sim,
            self.state.webhooks().and_then(|w| w.secret.as_deref()),
        ) {
            sim.sim
                .send_webhooks(&format!("http://{}/hooks/gitlab", loopback(addr)), secret);
        }
        #[cfg(feature = "demo")]
        if let (Some(sim), Some(auth)) = (&self.sim, self.state.auth()) {
            let here = url::Url::parse(&format!("http://{}/", loopback(addr))).expect("a loopback address");
            auth.set_public_url(&here);
            if let Some(callback) = auth.callback_url() {
                sim.sim.register_oauth_app(stageboard_sim::oauth::OAuthApp {
                    client_id: auth.client_id().to_owned(),
                    client_secret: None,
                    redirect_uri: callback,
                    scopes: ["api", "read_api", "read_user", "openid"].map(String::from).to_vec(),
                });
            }
        }
        if let Some(replicas) = self.state.replicas() {
            let url = self.replica_url.clone().unwrap_or_else(|| {
                url::Url::parse(&format!("http://{}/", loopback(addr))).expect("an address as a URL")
            });
            replicas.start(url);
        }
        tokio::spawn(start_watching(self.state.clone(), self.refresh));
        if let Some(cluster) = self.state.cluster() {
            tokio::spawn(publish_cluster_changes(cluster.state.clone(), self.state.hub().clone()));
        }
    }
}

/// Tells browsers when what runs in the cluster changes, so environment pages read its health
/// again then instead of on a timer: at most once a second, however fast pods come and go.
async fn publish_cluster_changes(cluster: ClusterState, hub: Hub) {
    loop {
        cluster.changed().await;
        hub.events().publish(ServerEvent::Cluster);
        hub.metrics().event_published();
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Runs the dashboard until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), String> {
    let listen = config.listen;
    let limits = crate::listen::Limits {
        max_connections: crate::listen::connections_that_fit(config.limits.max_connections),
        ..config.limits
    };
    let app = App::build(config).await?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}. Set STAGEBOARD_LISTEN to a free address."))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("stageboard is serving on http://{addr}");
    app.start(addr);
    // Event streams never end by themselves: after the signal, requests in progress get
    // SHUTDOWN_GRACE to finish, and then whatever is still open is closed (browsers reconnect).
    let (signalled, mut heard) = tokio::sync::watch::channel(false);
    let serve = crate::listen::serve(listener, app.router(), limits, async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing the requests in progress");
        let _ = signalled.send(true);
    });
    tokio::select! {
        served = serve => served.map_err(|e| format!("server failed: {e}"))?,
        () = async {
            let _ = heard.wait_for(|stop| *stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::info!(grace_seconds = SHUTDOWN_GRACE.as_secs(), "closing the connections still open (event streams)"),
    }
    drop(app);
    Ok(())
}

/// How long requests in progress may take after SIGTERM before their connections are closed.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves the watched projects (retrying while GitLab cannot say), which starts their pollers,
/// then re-reads them every `STAGEBOARD_SELECTION_REFRESH`: a project the token's user joins appears, one
/// it leaves is no longer served or polled, without a restart.
async fn start_watching(state: AppState, refresh: std::time::Duration) {
    let mut wait = std::time::Duration::from_secs(2);
    loop {
        match state.read_selection().await {
            Ok(projects) => {
                tracing::info!(projects = projects.len(), "the hub polls the watched projects");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e.message(), retry_in = wait.as_secs(), "cannot resolve the watched projects yet");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(60));
            }
        }
    }
    let mut trimmed = std::time::Instant::now();
    loop {
        tokio::time::sleep(refresh).await;
        match state.read_selection().await {
            Ok(projects) => tracing::debug!(projects = projects.len(), "watched projects re-read"),
            // The last known set stays in force until GitLab answers again.
            Err(e) => {
                tracing::warn!(error = %e.message(), "cannot re-read the watched projects; keeping the last known ones")
            }
        }
        // A wall screen runs for weeks: forget answers nobody asked for in a day.
        if trimmed.elapsed() >= std::time::Duration::from_secs(3600) {
            state.hub().trim();
            trimmed = std::time::Instant::now();
        }
    }
}

/// Where this server can be reached from the same machine (0.0.0.0 becomes 127.0.0.1).
fn loopback(listen: SocketAddr) -> SocketAddr {
    if listen.ip().is_unspecified() {
        SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, listen.port()))
    } else {
        listen
    }
}

#[cfg(feature = "demo")]
fn demo_cluster_client(sim: &stageboard_sim::RunningSim) -> Result<kube::Client, String> {
    let mut config = kube::Config::new(sim.url().parse().map_err(|e| format!("simulated cluster URL: {e}"))?);
    config.default_namespace = "gitlab".into();
    config.auth_info.token = Some(secrecy::SecretString::from(sim.sim.config().token.clone()));
    kube::Client::try_from(config).map_err(|e| format!("cannot talk to the simulated cluster: {e}"))
}

async fn real_cluster_client(mode: ClusterMode) -> Result<Option<kube::Client>, String> {
    let config = match mode {
        ClusterMode::Off => return Ok(None),
        ClusterMode::Kubeconfig => kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| format!("STAGEBOARD_CLUSTER=kubeconfig, but the kubeconfig could not be read: {e}"))?,
        ClusterMode::InCluster => kube::Config::incluster()
            .map_err(|e| format!("STAGEBOARD_CLUSTER=in-cluster, but this is not a pod with a service account: {e}"))?,
        ClusterMode::Auto => kube::Config::infer()
            .await
            .map_err(|e| format!("STAGEBOARD_CLUSTER=auto found neither a kubeconfig nor a service account: {e}"))?,
    };
    kube::Client::try_from(config)
        .map(Some)
        .map_err(|e| format!("cannot build the Kubernetes client: {e}"))
}

/// `stageboard sim`: only the simulated GitLab, for real GitLab clients to talk to.
#[cfg(feature = "demo")]
pub async fn run_sim(args: crate::config::SimArgs) -> Result<(), String> {
    if args.token.trim().is_empty() {
        return Err("--token must not be empty: clients authenticate with it.".into());
    }
    let config = stageboard_sim::SimConfig {
        token: args.token,
        rate_limit_per_minute: args.rate_limit,
        seed: args.seed,
        history_days: args.history_days.clamp(0, 60),
        live: !args.quiet,
        review_apps: args.review_apps.min(1000),
        projects: args.projects,
    };
    let sim = stageboard_sim::RunningSim::start(config, stageboard_sim::Clock::real(), args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    match (&args.webhook_url, &args.webhook_secret) {
        (Some(url), Some(secret)) => sim.sim.send_webhooks(url.as_str(), secret),
        (Some(_), None) => return Err("--webhook-url needs --webhook-secret (sent as X-Gitlab-Token).".into()),
        _ => {}
    }
    // Scripts wait for this line to know the address.
    println!("simulated GitLab listening on {}", sim.url());
    tracing::info!(url = %sim.url(), "simulated GitLab is serving /api/v4 and /api/graphql");
    shutdown_signal().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
