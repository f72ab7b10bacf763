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

/// Runs the dashboard until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), String> {
    let options = ClientOptions {
        timeout: config.gitlab_timeout,
        ..ClientOptions::default()
    };
    // In demo mode the simulated GitLab lives as long as the server.
    let (client, projects, sim) = match config.upstream {
        Upstream::Gitlab { url, token } => {
            let client = GitlabClient::new(url, token, options).map_err(|e| e.to_string())?;
            (client, config.projects, None)
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
            let client = GitlabClient::new(url, SecretString::from(token), options).map_err(|e| e.to_string())?;
            let projects = if config.projects.is_empty() {
                scenario::PROJECTS.iter().map(|p| p.full_path()).collect()
            } else {
                config.projects
            };
            tracing::info!(gitlab = %sim.url(), "demo mode: no GITLAB_URL set, so a simulated GitLab is running");
            (client, projects, Some(sim))
        }
    };
    let mut state = AppState::new(Arc::new(client), projects, sim.as_ref().map(|s| s.sim.clone()));
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
    axum::serve(listener, crate::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    drop(sim);
    Ok(())
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
    let config = SimConfig {
        token: args.token,
        rate_limit_per_minute: args.rate_limit,
        seed: args.seed,
        history_days: args.history_days.clamp(0, 60),
        live: true,
        review_apps: args.review_apps.min(1000),
    };
    let sim = RunningSim::start(config, Clock::real(), args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
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
