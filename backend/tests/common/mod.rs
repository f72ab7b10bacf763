//! A test app: the simulated GitLab and stageboard, each serving real HTTP on loopback, wired
//! as in production (the real GitLab client over reqwest).

#![allow(dead_code, reason = "each test file uses a different part of this")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use secrecy::SecretString;
use serde_json::Value;
use stageboard::AppState;
use stageboard::gitlab::{ClientOptions, GitlabClient};
use stageboard_sim::{Clock, RunningSim, SimConfig};
use url::Url;

pub const TOKEN: &str = "glpat-very-secret-test-token";

pub struct TestApp {
    pub sim: RunningSim,
    pub hub: stageboard::hub::Hub,
    pub base: String,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Builder {
    demo: bool,
    projects: Vec<String>,
    options: ClientOptions,
    gitlab_url: Option<String>,
    token: String,
    rate_limit: u32,
    cluster: bool,
    webhook_secret: Option<String>,
    webhook_signing: Option<String>,
    sim_sends_hooks: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            demo: true,
            projects: vec![
                "demo/gitlab-k8s-demo".into(),
                "2".into(),
                "platform/web/monorepo".into(),
            ],
            options: ClientOptions {
                timeout: Duration::from_secs(5),
                read_retries: 2,
                backoff: Duration::from_millis(20),
            },
            gitlab_url: None,
            token: TOKEN.into(),
            rate_limit: 10_000,
            cluster: false,
            webhook_secret: None,
            webhook_signing: None,
            sim_sends_hooks: false,
        }
    }
}

impl Builder {
    /// Not demo mode: actions are refused until login exists.
    pub fn reads_only(mut self) -> Self {
        self.demo = false;
        self
    }
    pub fn projects(mut self, projects: &[&str]) -> Self {
        self.projects = projects.iter().map(|p| p.to_string()).collect();
        self
    }
    /// Points stageboard at another GitLab URL than the simulator's (e.g. a closed port).
    pub fn gitlab_url(mut self, url: &str) -> Self {
        self.gitlab_url = Some(url.into());
        self
    }
    pub fn token(mut self, token: &str) -> Self {
        self.token = token.into();
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }
    /// Watches the simulated cluster, as demo mode does.
    pub fn cluster(mut self) -> Self {
        self.cluster = true;
        self
    }
    /// Turns `/hooks/gitlab` on with this secret.
    pub fn webhooks(mut self, secret: &str) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }
    /// Also requires GitLab's webhook signature made with this signing token.
    pub fn webhook_signing(mut self, token: &str) -> Self {
        self.webhook_signing = Some(token.into());
        self
    }
    /// The simulated GitLab sends its webhooks to stageboard, as in demo mode.
    pub fn sim_sends_hooks(mut self) -> Self {
        self.sim_sends_hooks = true;
        self
    }
    pub fn rate_limit(mut self, per_minute: u32) -> Self {
        self.rate_limit = per_minute;
        self
    }

    pub async fn start(self) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let start = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().to_utc();
        let config = SimConfig {
            token: TOKEN.into(),
            rate_limit_per_minute: self.rate_limit,
            seed: 11,
            history_days: 2,
            live: false,
            review_apps: 0,
        };
        let sim = RunningSim::start(config, Clock::manual(start), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = Url::parse(&self.gitlab_url.unwrap_or_else(|| sim.url())).unwrap();
        let metrics = stageboard::metrics::Metrics::new();
        let client = GitlabClient::new(url, SecretString::from(self.token), self.options)
            .unwrap()
            .with_metrics(metrics.clone());
        let settings = stageboard::hub::HubSettings::default();
        let hub = match self.webhook_secret {
            Some(_) => stageboard::hub::Hub::with_webhooks(Arc::new(client), settings, metrics),
            None => stageboard::hub::Hub::new(Arc::new(client), settings, metrics),
        };
        let mut state = AppState::with_hub(
            hub,
            self.projects,
            self.demo.then(|| sim.sim.clone()),
            self.webhook_secret.clone(),
        )
        .with_webhook_signing(self.webhook_signing.clone());
        if self.cluster {
            let mut config = kube::Config::new(sim.url().parse().unwrap());
            config.default_namespace = "gitlab".into();
            config.auth_info.token = Some(SecretString::from(TOKEN));
            let kube = kube::Client::try_from(config).unwrap();
            let namespaces = stageboard::app::NamespaceMap {
                default: "gitlab".into(),
                rules: vec![],
                also: vec![],
            };
            let cluster = stageboard::cluster::ClusterState::start(kube, &namespaces.namespaces(), "ref");
            for _ in 0..100 {
                if cluster.link().connected {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            state = state.with_cluster(cluster, namespaces);
        }
        let hub = state.hub().clone();
        // As the server does at start: resolving the watched projects starts the hub's pollers.
        let _ = state.watched_projects().await;
        for _ in 0..100 {
            if hub.primed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        if let (true, Some(secret)) = (self.sim_sends_hooks, &self.webhook_secret) {
            sim.sim.send_webhooks(&format!("{base}/hooks/gitlab"), secret);
        }
        let server = tokio::spawn(async move {
            axum::serve(listener, stageboard::router(state)).await.unwrap();
        });
        TestApp {
            sim,
            hub,
            base,
            http: reqwest::Client::new(),
            server,
        }
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestApp {
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub async fn start() -> TestApp {
        Builder::default().start().await
    }

    pub async fn get(&self, path: &str) -> Answer {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        answer(response).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Answer {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// GET that must succeed.
    pub async fn json(&self, path: &str) -> Value {
        let a = self.get(path).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.text);
        a.body
    }

    /// Moves the simulated clock, then lets the hub see what changed (as its pollers would).
    pub async fn advance(&self, by: chrono::Duration) {
        self.sim.sim.advance(by);
        self.hub.refresh_now().await;
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(!text.contains(TOKEN), "the token leaked into a response: {text}");
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// An error answer has the one documented shape and a message.
pub fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.body["code"], code, "{}", a.text);
    assert!(a.body["message"].as_str().is_some_and(|m| m.len() > 10), "{}", a.text);
}
