//! A test app: the simulated GitLab and stageboard, each serving real HTTP on loopback, wired
//! as in production (the real GitLab client over reqwest).

#![allow(dead_code, reason = "each test file uses a different part of this")]

use std::net::SocketAddr;
use std::time::Duration;

use chrono::DateTime;
use secrecy::SecretString;
use serde_json::Value;
use stageboard::app::NamespaceMap;
use stageboard::config::{ClusterMode, Config, Demo, GitlabSource};
use stageboard::gitlab::ClientOptions;
use stageboard::server::App;
use stageboard_sim::{Clock, RunningSim, SimConfig};
use url::Url;

pub const TOKEN: &str = "glpat-very-secret-test-token";

pub struct TestApp {
    pub sim: RunningSim,
    pub hub: stageboard::hub::Hub,
    pub base: String,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    _app: App,
    /// The temporary data directory, removed with the app.
    _data: Option<tempfile::TempDir>,
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
    /// The token the simulated GitLab takes.
    sim_token: String,
    metrics_token: Option<String>,
    max_streams: usize,
    rate_limit: u32,
    cluster: bool,
    webhook_secret: Option<String>,
    webhook_signing: Option<String>,
    sim_sends_hooks: bool,
    limits: stageboard::listen::Limits,
    trusted_proxies: Vec<String>,
    streams_per_address: Option<usize>,
    boards: Vec<String>,
    public_url: Option<Url>,
    /// STAGEBOARD_DATA_DIR; a fresh temporary one unless set.
    data_dir: Option<std::path::PathBuf>,
    /// GITLAB_OAUTH_CLIENT_ID: people sign in (demo mode registers its own).
    oauth_client: Option<String>,
    /// In demo mode, who `TestApp::http` is signed in as (GitLab user id); `None`: nobody.
    signed_in: Option<u64>,
    /// STAGEBOARD_ACCESS.
    access: Option<stageboard::access::Access>,
    /// Groups, topics and patterns instead of the listed projects.
    selection: Option<stageboard::selection::Selection>,
    /// STAGEBOARD_SELECTION_REFRESH.
    refresh: Duration,
    /// How many projects the simulated GitLab has (the story's three and more like them).
    sim_projects: usize,
    /// STAGEBOARD_REFS and STAGEBOARD_PROTECTED_REFS.
    refs: stageboard::selection::RefSelection,
}

/// The simulated GitLab's people (sim/src/users.rs): a Maintainer, a Developer, and a Reporter
/// who is no member of the third project.
pub const MAINTAINER: u64 = 2;
pub const DEVELOPER: u64 = 3;
pub const REPORTER: u64 = 4;

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
            sim_token: TOKEN.into(),
            metrics_token: None,
            max_streams: 4000,
            rate_limit: 10_000,
            cluster: false,
            webhook_secret: None,
            webhook_signing: None,
            sim_sends_hooks: false,
            limits: stageboard::listen::Limits::default(),
            trusted_proxies: Vec::new(),
            streams_per_address: None,
            boards: Vec::new(),
            public_url: None,
            data_dir: None,
            oauth_client: None,
            signed_in: Some(MAINTAINER),
            access: None,
            selection: None,
            refresh: Duration::from_secs(300),
            sim_projects: 3,
            refs: stageboard::selection::RefSelection {
                merge_requests: true,
                ..Default::default()
            },
        }
    }
}

impl Builder {
    /// Not demo mode, and nobody can sign in: actions are refused.
    pub fn reads_only(mut self) -> Self {
        self.demo = false;
        self
    }
    /// STAGEBOARD_ACCESS.
    pub fn access(mut self, access: stageboard::access::Access) -> Self {
        self.access = Some(access);
        self
    }
    /// `TestApp::http` is nobody's browser (in demo mode it is otherwise the Maintainer's).
    pub fn anonymous(mut self) -> Self {
        self.signed_in = None;
        self
    }
    /// `TestApp::http` is signed in as `user` (demo mode).
    pub fn signed_in_as(mut self, user: u64) -> Self {
        self.signed_in = Some(user);
        self
    }
    /// The refs each card shows besides the default branch.
    pub fn refs(mut self, refs: stageboard::selection::RefSelection) -> Self {
        self.refs = refs;
        self
    }
    /// The simulated GitLab has `n` projects (3 to 1000: the story's, then `service-04`…).
    pub fn sim_projects(mut self, n: usize) -> Self {
        self.sim_projects = n;
        self
    }
    /// Selects by groups, topics and patterns (its `refresh` is how often it is read again).
    pub fn selection(mut self, selection: stageboard::selection::Selection) -> Self {
        self.refresh = selection.refresh;
        self.selection = Some(selection);
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
    /// The simulated GitLab takes `token` (stageboard is given [`Builder::token`]).
    pub fn sim_accepts(mut self, token: &str) -> Self {
        self.sim_token = token.into();
        self
    }

    pub fn max_streams(mut self, streams: usize) -> Self {
        self.max_streams = streams;
        self
    }

    /// Proxies whose X-Forwarded-For names the client, and the event streams one address may hold.
    pub fn clients(mut self, trusted_proxies: &[&str], streams_per_address: usize) -> Self {
        self.trusted_proxies = trusted_proxies.iter().map(|p| p.to_string()).collect();
        self.streams_per_address = Some(streams_per_address);
        self
    }
    /// STAGEBOARD_DATA_DIR: the same directory for a stageboard started again.
    pub fn data_dir(mut self, dir: &std::path::Path) -> Self {
        self.data_dir = Some(dir.to_owned());
        self
    }
    /// GITLAB_OAUTH_CLIENT_ID (with a public URL, as the configuration requires).
    pub fn oauth(mut self, client_id: &str) -> Self {
        self.oauth_client = Some(client_id.into());
        self.public_url
            .get_or_insert_with(|| Url::parse("http://127.0.0.1/").unwrap());
        self
    }
    /// STAGEBOARD_PUBLIC_URL.
    pub fn public_url(mut self, url: &str) -> Self {
        self.public_url = Some(Url::parse(url).unwrap());
        self
    }
    /// The server's bounds (connections, header timeout).
    pub fn limits(mut self, limits: stageboard::listen::Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Wall boards, as STAGEBOARD_BOARDS' entries (`name=parameters`).
    pub fn boards(mut self, boards: &[&str]) -> Self {
        self.boards = boards.iter().map(|b| b.to_string()).collect();
        self
    }

    pub fn metrics_token(mut self, token: &str) -> Self {
        self.metrics_token = Some(token.into());
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

    /// Builds the app as `main` does ([`App::build`]), against the simulated GitLab on a
    /// manual clock: in demo mode the app starts it; otherwise the test does, and stageboard
    /// is configured with its URL (or `gitlab_url`) like any GitLab.
    pub async fn start(self) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let start = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().to_utc();
        let sim_config = SimConfig {
            token: self.sim_token.clone(),
            rate_limit_per_minute: self.rate_limit,
            seed: 11,
            history_days: 2,
            live: false,
            review_apps: 0,
            projects: self.sim_projects,
        };
        let clock = Clock::manual(start);
        let demo = self.demo && self.gitlab_url.is_none() && self.token == TOKEN && self.sim_token == TOKEN;
        let (upstream, own_sim) = if demo {
            let settings = Demo {
                clock,
                sim: sim_config,
                cluster: self.cluster,
                webhooks: self.sim_sends_hooks,
            };
            (GitlabSource::Demo(settings), None)
        } else {
            let sim = RunningSim::start(sim_config, clock, SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .unwrap();
            let url = Url::parse(&self.gitlab_url.unwrap_or_else(|| sim.url())).unwrap();
            let token = SecretString::from(self.token);
            (GitlabSource::Gitlab { url, token }, Some(sim))
        };
        let temporary = self.data_dir.is_none().then(|| tempfile::tempdir().unwrap());
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| temporary.as_ref().expect("made above").path().to_owned());
        let config = Config {
            boards: stageboard::boards::Boards::parse(&self.boards).unwrap(),
            access: self.access,
            oauth: self.oauth_client.map(|client_id| stageboard::auth::OAuthConfig {
                client_id,
                client_secret: None,
            }),
            store: stageboard::store::StoreConfig {
                data_dir,
                database_url: None,
                secret_key: None,
            },
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            allowed_hosts: Vec::new(),
            public_url: self.public_url.clone(),
            replica_url: None,
            metrics_token: self.metrics_token.map(SecretString::from),
            max_streams: self.max_streams,
            limits: self.limits,
            trusted_proxies: stageboard::client::parse_trusted(&self.trusted_proxies).unwrap(),
            max_streams_per_address: self.streams_per_address,
            gitlab_source: upstream,
            refs: self.refs,
            selection: self.selection.unwrap_or(stageboard::selection::Selection {
                projects: self.projects,
                ..Default::default()
            }),
            gitlab: self.options,
            cluster: ClusterMode::Off,
            namespaces: NamespaceMap {
                default: "gitlab".into(),
                rules: vec![],
                also: vec![],
            },
            cluster_label: "ref".into(),
            webhook_secret: self.webhook_secret.map(SecretString::from),
            webhook_signing_token: self.webhook_signing.map(SecretString::from),
            hub: stageboard::hub::HubSettings {
                listings: self.refresh / 2,
                ..stageboard::hub::HubSettings::default()
            },
        };
        let mut app = App::build(config).await.unwrap();
        if let Some(cluster) = app.state.cluster() {
            for _ in 0..100 {
                if cluster.state.link().connected {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        app.start(addr);
        let hub = app.state.hub().clone();
        // The watched projects are resolved (which starts their pollers) before the first look.
        let _ = app.state.watched_projects().await;
        for _ in 0..100 {
            if hub.primed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let router = app.router();
        let sim = own_sim.or_else(|| app.sim.take()).expect("a simulated GitLab");
        let limits = self.limits;
        let server = tokio::spawn(async move {
            stageboard::listen::serve(listener, router, limits, std::future::pending())
                .await
                .unwrap();
        });
        let public_url_set = self.public_url.as_ref().map(|_| ());
        let mut app = TestApp {
            sim,
            hub,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            server,
            _app: app,
            _data: temporary,
        };
        // Signed in through the loopback address (not where a public address would lead).
        if let (true, Some(user), None) = (demo, self.signed_in, public_url_set) {
            let (session, _) = sign_in(&app, user, "/").await;
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::COOKIE, session.parse().unwrap());
            app.http = reqwest::Client::builder().default_headers(headers).build().unwrap();
        }
        app
    }
}

/// A browser without redirects followed, so each hop is seen.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(answer: &reqwest::Response) -> String {
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// The session cookie an answer sets, whole (`stageboard=…; HttpOnly; …`).
pub fn session_cookie(answer: &reqwest::Response) -> Option<String> {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("stageboard="))
}

/// The cookie's `name=value`, as a browser sends it back.
pub fn sent(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Signs `user` in from `/auth/login?return_to=…`, through the simulated GitLab's sign-in page
/// as a browser would; returns the session cookie as sent back and where the browser lands.
pub async fn sign_in(app: &TestApp, user: u64, return_to: &str) -> (String, String) {
    sign_in_from(app, None, user, return_to).await
}

/// [`sign_in`] from a browser that already holds the session cookie `session` (someone else's
/// sign-in, say).
pub async fn sign_in_from(app: &TestApp, session: Option<&str>, user: u64, return_to: &str) -> (String, String) {
    let http = browser();
    let mut start = http.get(format!("{}/auth/login?return_to={}", app.base, urlencode(return_to)));
    if let Some(session) = session {
        start = start.header("cookie", session);
    }
    let start = start.send().await.unwrap();
    assert_eq!(start.status(), reqwest::StatusCode::SEE_OTHER);
    let first = session_cookie(&start)
        .map(|c| sent(&c))
        .or(session.map(str::to_owned))
        .expect("a session for the sign-in in progress");
    let to_gitlab = Url::parse(&location(&start)).unwrap();
    let asked: std::collections::HashMap<String, String> = to_gitlab.query_pairs().into_owned().collect();
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["scope"], "api read_user");
    // The person picks who they are on GitLab's page, which sends them back with a code.
    let mut form: Vec<(String, String)> = asked.into_iter().collect();
    form.push(("user".into(), user.to_string()));
    let chosen = http
        .post(format!("{}/oauth/authorize", app.sim.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), reqwest::StatusCode::FOUND);
    let back = location(&chosen);
    assert!(back.starts_with(&format!("{}/auth/callback?", app.base)), "{back}");
    let landed = http.get(&back).header("cookie", &first).send().await.unwrap();
    assert_eq!(
        landed.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{:?}",
        landed.text().await
    );
    let session = session_cookie(&landed).expect("the signed-in session");
    assert_ne!(sent(&session), first, "a new session id at sign-in");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    (sent(&session), location(&landed))
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

/// An answer read whole (checked never to carry the token).
pub async fn answer_of(response: reqwest::Response) -> Answer {
    answer(response).await
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
