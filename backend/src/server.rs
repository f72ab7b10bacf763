//! Start-up: choose the GitLab (real or simulated), build the app, serve until told to stop.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use rand::Rng;
use secrecy::SecretString;
use stageboard_sim::{Clock, RunningSim, SimConfig, scenario};
use tokio::net::TcpListener;
use url::Url;

use crate::app::AppState;
use crate::cluster::ClusterState;
use crate::config::{ClusterMode, Config, SimArgs, Upstream};
use crate::gitlab::{ClientOptions, GitlabClient};
use crate::hub::Hub;
use crate::metrics::Metrics;
use secrecy::ExposeSecret;

/// Runs the dashboard until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), String> {
    let options = ClientOptions {
        timeout: config.gitlab_timeout,
        ..ClientOptions::default()
    };
    let metrics = Metrics::new();
    let mut webhook_secret = config.webhook_secret.as_ref().map(|s| s.expose_secret().to_owned());
    // In demo mode the simulated GitLab lives as long as the server.
    let (client, projects, sim) = match config.upstream {
        Upstream::Gitlab { url, token } => {
            let client = GitlabClient::new(url, token, options).map_err(|e| e.to_string())?;
            (client.with_metrics(metrics.clone()), config.projects, None)
        }
        Upstream::Demo => {
            let token: String = format!("glpat-demo-{:016x}", rand::rng().random::<u64>());
            let sim = RunningSim::start(
                SimConfig {
                    token: token.clone(),
                    ..SimConfig::default()
                },
                Clock::real(),
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            )
            .await
            .map_err(|e| format!("could not start the simulated GitLab: {e}"))?;
            let url = Url::parse(&sim.url()).expect("loopback URL");
            let client = GitlabClient::new(url, SecretString::from(token), options)
                .map_err(|e| e.to_string())?
                .with_metrics(metrics.clone());
            // The simulated GitLab sends webhooks to this server, as a real one would be told to.
            webhook_secret.get_or_insert_with(|| format!("demo-hook-{:032x}", rand::rng().random::<u128>()));
            let projects = if config.projects.is_empty() {
                scenario::projects().iter().map(|p| p.full_path()).collect()
            } else {
                config.projects
            };
            tracing::info!(gitlab = %sim.url(), "demo mode: no GITLAB_URL set, so a simulated GitLab is running");
            (client, projects, Some(sim))
        }
    };
    let signing = config
        .webhook_signing_token
        .as_ref()
        .map(|s| s.expose_secret().to_owned());
    let hub = if webhook_secret.is_some() || signing.is_some() {
        Hub::with_webhooks(Arc::new(client), config.hub, metrics)
    } else {
        Hub::new(Arc::new(client), config.hub, metrics)
    };
    let mut state = AppState::with_hub(hub, projects, sim.as_ref().map(|s| s.sim.clone()), webhook_secret)
        .with_webhook_signing(signing);
    let kube_client = match &sim {
        // The simulated GitLab also serves the simulated cluster's API.
        Some(sim) => Some(demo_cluster_client(sim)?),
        None => real_cluster_client(config.cluster).await?,
    };
    if let Some(client) = kube_client {
        let namespaces = config.namespaces.namespaces();
        let cluster = ClusterState::start(client, &namespaces, &config.cluster_label);
        tracing::info!(?namespaces, label = %config.cluster_label, watches = cluster.watch_connections(), "watching the cluster");
        state = state.with_cluster(cluster, config.namespaces.clone());
    }
    let listener = TcpListener::bind(config.listen).await.map_err(|e| {
        format!(
            "cannot listen on {}: {e}. Set STAGEBOARD_LISTEN to a free address.",
            config.listen
        )
    })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("stageboard is serving on http://{addr}");
    if let (Some(sim), Some(secret)) = (&sim, state.webhook_secret()) {
        sim.sim
            .send_webhooks(&format!("http://{}/hooks/gitlab", loopback(addr)), secret);
    }
    // The hub starts polling the watched projects now, before anyone looks.
    tokio::spawn(start_watching(state.clone()));
    axum::serve(listener, crate::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    drop(sim);
    Ok(())
}

/// Resolves the watched projects (retrying while GitLab cannot say), which starts their pollers.
async fn start_watching(state: AppState) {
    let mut wait = std::time::Duration::from_secs(2);
    loop {
        match state.watched_projects().await {
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
    // A wall screen runs for weeks: forget answers nobody asked for in a day.
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        state.hub().trim();
    }
}

/// Where this server can be reached from the same machine (0.0.0.0 becomes 127.0.0.1).
fn loopback(listen: SocketAddr) -> SocketAddr {
    if listen.ip().is_unspecified() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, listen.port()))
    } else {
        listen
    }
}

fn demo_cluster_client(sim: &RunningSim) -> Result<kube::Client, String> {
    let mut config = kube::Config::new(sim.url().parse().map_err(|e| format!("simulated cluster URL: {e}"))?);
    config.default_namespace = "gitlab".into();
    config.auth_info.token = Some(SecretString::from(sim.sim.config().token.clone()));
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
pub async fn run_sim(args: SimArgs) -> Result<(), String> {
    if args.token.trim().is_empty() {
        return Err("--token must not be empty: clients authenticate with it.".into());
    }
    scenario::set_project_count(args.projects)?;
    let config = SimConfig {
        token: args.token,
        rate_limit_per_minute: args.rate_limit,
        seed: args.seed,
        history_days: args.history_days.clamp(0, 60),
        live: !args.quiet,
        review_apps: args.review_apps.min(1000),
    };
    let sim = RunningSim::start(config, Clock::real(), args.listen)
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
