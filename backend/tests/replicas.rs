//! Three replicas of the stageboard binary on one PostgreSQL (Debian's, started here in a
//! throwaway cluster) and one simulated GitLab: one leads and polls, the others read through it
//! and hear of changes through PostgreSQL. Browsers (event streams that read what changed, as
//! the pages do) are spread over the replicas. Checked: GitLab's traffic with three replicas
//! against one; a webhook and an action received by replicas that do not lead; the kiosk
//! tokens, sessions (a sign-in begun at one replica and ended at another) and audit log they
//! share; and the leader killed: another leads within 15 s and no browser misses a change.

#[path = "common/postgres.rs"]
mod postgres;

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use stageboard_sim::{Clock, RunningSim, SimConfig};
use url::Url;

const TOKEN: &str = "glpat-replicas-test-token";
const HOOK_SECRET: &str = "replicas-hook-secret-0123456789";
/// 32 bytes in base64: the same key on every replica.
const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// Where the replicas write their logs, shown when a browser misses a change.
static LOGS: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

struct Replica {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The OAuth application the replicas sign people in with.
const CLIENT: &str = "stageboard-replicas";

/// Every replica's settings; `public` is the one address people reach them all by.
fn environment(database: &str, gitlab: &str, public: &str, dir: &std::path::Path) -> Vec<(String, String)> {
    [
        ("GITLAB_OAUTH_CLIENT_ID", CLIENT),
        ("STAGEBOARD_PUBLIC_URL", public),
        ("STAGEBOARD_ACCESS", "public"),
        ("GITLAB_URL", gitlab),
        ("GITLAB_TOKEN", TOKEN),
        ("STAGEBOARD_PROJECTS", "1,2,3"),
        ("STAGEBOARD_DATABASE_URL", database),
        ("STAGEBOARD_SECRET_KEY", KEY),
        ("STAGEBOARD_DATA_DIR", &dir.display().to_string()),
        ("STAGEBOARD_WEBHOOK_SECRET", HOOK_SECRET),
        ("STAGEBOARD_BOARDS", "lobby=hide_green=1"),
        // The same interval whatever moves: the polls in two runs of equal length are equal.
        ("STAGEBOARD_POLL_FAST", "2"),
        ("STAGEBOARD_POLL_IDLE", "2"),
        ("STAGEBOARD_POLL_HOOKED", "2"),
        ("RUST_LOG", "stageboard=info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn start_replica(database: &str, gitlab: &str, public: &str, dir: &std::path::Path, name: &str) -> Replica {
    let port = if name == "first" {
        Url::parse(public).unwrap().port().unwrap()
    } else {
        free_port()
    };
    let log = dir.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_stageboard"))
        .env_clear()
        .envs(environment(database, gitlab, public, dir))
        .env("STAGEBOARD_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let replica = Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    for _ in 0..300 {
        if reqwest::get(format!("{}/health", replica.base)).await.is_ok() {
            return replica;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} did not start:\n{}", replica.log());
}

async fn role(replica: &Replica) -> String {
    match reqwest::get(format!("{}/health", replica.base)).await {
        Ok(r) => r.json::<Value>().await.unwrap()["replica"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        Err(_) => "down".into(),
    }
}

/// Waits until `replica` says `wanted`, for at most `within`; how long it took.
async fn until_role(replica: &Replica, wanted: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if role(replica).await == wanted {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not {wanted} within {within:?}:\n{}", replica.log());
}

/// A browser: an event stream of every project, reading the overview and each named pipeline
/// again when told of a change (as the pages do), and everything again on `reset`.
struct Browser {
    seen: Arc<Mutex<Vec<(String, Value)>>>,
    /// Reads that failed: what a person would see as an error.
    failed: Arc<Mutex<Vec<String>>>,
    last_id: Arc<Mutex<Option<String>>>,
    ended: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Browser {
    async fn open(base: &str, last_id: Option<String>) -> Browser {
        let http = reqwest::Client::new();
        let mut request = http.get(format!("{base}/api/v1/events?topics=projects"));
        if let Some(id) = &last_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(Mutex::new(Vec::new()));
        let last = Arc::new(Mutex::new(last_id));
        let ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, f, l, e, base) = (
            seen.clone(),
            failed.clone(),
            last.clone(),
            ended.clone(),
            base.to_owned(),
        );
        let task = tokio::spawn(async move {
            let mut response = response;
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let (mut name, mut data, mut id) = (String::new(), String::new(), None);
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            name = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        } else if let Some(v) = line.strip_prefix("id:") {
                            id = Some(v.trim().to_owned());
                        }
                    }
                    if name.is_empty() {
                        continue;
                    }
                    if id.is_some() {
                        *l.lock().unwrap() = id;
                    }
                    let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                    let mut reads = vec!["/api/v1/overview".to_owned()];
                    if name == "project" {
                        let project = data["project"].as_u64().unwrap_or_default();
                        for pipeline in data["pipelines"].as_array().into_iter().flatten().take(3) {
                            reads.push(format!("/api/v1/projects/{project}/pipelines/{pipeline}"));
                        }
                    }
                    s.lock().unwrap().push((name.clone(), data));
                    if matches!(name.as_str(), "project" | "reset") {
                        for path in reads {
                            match reqwest::get(format!("{base}{path}")).await {
                                Ok(r) if r.status().is_success() => {}
                                Ok(r) => f.lock().unwrap().push(format!("{path}: {}", r.status())),
                                Err(e) => f.lock().unwrap().push(format!("{path}: {e}")),
                            }
                        }
                    }
                }
            }
            e.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        Browser {
            seen,
            failed,
            last_id: last,
            ended,
            task,
        }
    }

    /// Whether a `project` event named `pipeline` of `project`.
    fn told_of(&self, project: u64, pipeline: u64) -> bool {
        self.seen.lock().unwrap().iter().any(|(name, data)| {
            name == "project"
                && data["project"] == project
                && data["pipelines"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|id| id == pipeline))
        })
    }

    fn was_reset(&self) -> bool {
        self.seen.lock().unwrap().iter().any(|(name, _)| name == "reset")
    }
}

/// Waits until every browser was told of `pipeline`.
async fn all_told(browsers: &[&Browser], project: u64, pipeline: u64, within: Duration, what: &str) {
    let start = Instant::now();
    while start.elapsed() < within {
        if browsers.iter().all(|b| b.told_of(project, pipeline)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let told: Vec<String> = browsers
        .iter()
        .map(|b| format!("{:?}", b.seen.lock().unwrap()))
        .collect();
    let logs: String = LOGS
        .get()
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| {
            format!(
                "{}:\n{}",
                e.path().display(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            )
        })
        .collect();
    panic!(
        "{what}: not every browser heard of pipeline {pipeline} of project {project} within {within:?}: {told:?}\n{logs}"
    );
}

/// The simulated GitLab, as the test (not stageboard) uses it: its requests are counted, so
/// that they can be told from stageboard's.
struct Gitlab {
    sim: RunningSim,
    http: reqwest::Client,
    own: std::sync::atomic::AtomicU64,
}

impl Gitlab {
    fn received(&self) -> u64 {
        self.sim.sim.requests_received() - self.own.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn failed_pipelines(&self, project: u64) -> Vec<u64> {
        self.own.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let list: Value = self
            .http
            .get(format!(
                "{}/api/v4/projects/{project}/pipelines?status=failed&per_page=100",
                self.sim.url()
            ))
            .header("private-token", TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["id"].as_u64())
            .collect()
    }

    /// Someone retries a failed pipeline in GitLab: a change stageboard finds by polling. The
    /// next of `failed` that GitLab did retry (some have nothing to retry).
    async fn retry_next(&self, failed: &mut Vec<(u64, u64)>) -> (u64, u64) {
        loop {
            let (project, pipeline) = failed.pop().expect("failed pipelines to retry");
            if self.retry(project, pipeline).await {
                return (project, pipeline);
            }
        }
    }

    async fn retry(&self, project: u64, pipeline: u64) -> bool {
        self.own.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let retried = self
            .http
            .post(format!(
                "{}/api/v4/projects/{project}/pipelines/{pipeline}/retry",
                self.sim.url()
            ))
            .header("private-token", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(retried.status(), 201, "retry {project}/{pipeline}");
        let body: Value = retried.json().await.unwrap();
        body["status"] != "failed"
    }
}

/// The same changes, a few seconds apart, for a fixed time; GitLab's requests from stageboard
/// meanwhile. Every browser must hear of every change.
async fn workload(gitlab: &Gitlab, retries: &mut Vec<(u64, u64)>, browsers: &[&Browser]) -> u64 {
    // One change first, not counted: every browser has read the pages once, as it would have
    // before anything is measured.
    let (project, pipeline) = gitlab.retry_next(retries).await;
    all_told(browsers, project, pipeline, Duration::from_secs(10), "a first change").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = gitlab.received();
    let start = Instant::now();
    for _ in 0..4 {
        let (project, pipeline) = gitlab.retry_next(retries).await;
        all_told(browsers, project, pipeline, Duration::from_secs(10), "a polled change").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // A fixed length, whatever the changes took.
    let rest = Duration::from_secs(30).saturating_sub(start.elapsed());
    tokio::time::sleep(rest).await;
    gitlab.received() - before
}

/// A GitLab user with the Maintainer role on the simulated projects.
const MAINTAINER: u64 = 2;

/// Signs `user` in as a browser would, starting at `at`; the session cookie.
async fn sign_in(at: &Replica, gitlab: &Gitlab, user: u64) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("stageboard="))
            .map(|c| c.split(';').next().unwrap().to_owned())
    };
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_owned();
    let start = http
        .get(format!("{}/auth/login?return_to=%2F", at.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303, "{}", at.log());
    let pending = cookie(&start).expect("a session for the sign-in in progress");
    let asked = Url::parse(&location(&start)).unwrap();
    let mut form: Vec<(String, String)> = asked.query_pairs().into_owned().collect();
    form.push(("user".into(), user.to_string()));
    let chosen = http
        .post(format!("{}/oauth/authorize", gitlab.sim.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), 302);
    let landed = http
        .get(location(&chosen))
        .header("cookie", &pending)
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 303, "{}", landed.text().await.unwrap());
    cookie(&landed).expect("the signed-in session")
}

fn failures(browsers: &[&Browser]) -> Vec<String> {
    browsers.iter().flat_map(|b| b.failed.lock().unwrap().clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_share_one_poller_and_survive_losing_their_leader() {
    let cluster = postgres::Cluster::start()
        .expect("PostgreSQL is needed for the replicas test: scripts/setup installs Debian's postgresql");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
        .unwrap()
        .to_utc();
    let sim = RunningSim::start(
        SimConfig {
            token: TOKEN.into(),
            rate_limit_per_minute: 100_000,
            seed: 11,
            history_days: 6,
            live: false,
            review_apps: 0,
            projects: 3,
        },
        Clock::manual(start),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let gitlab = Gitlab {
        sim,
        http: reqwest::Client::new(),
        own: std::sync::atomic::AtomicU64::new(0),
    };
    let mut retries = Vec::new();
    for project in [1, 2, 3] {
        for pipeline in gitlab.failed_pipelines(project).await {
            retries.push((project, pipeline));
        }
    }
    // Interleaved, so that each run retries in every project.
    retries.sort_by_key(|(project, pipeline)| (std::cmp::Reverse(*pipeline % 7), *project));
    assert!(
        retries.len() >= 12,
        "the story has failed pipelines to retry: {retries:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    LOGS.set(dir.path().to_owned()).unwrap();
    let database = cluster.url();
    let url = gitlab.sim.url();
    // People reach the replicas by one address (a load balancer's): here, the first replica's.
    let public = format!("http://127.0.0.1:{}", free_port());
    gitlab.sim.sim.register_oauth_app(stageboard_sim::oauth::OAuthApp {
        client_id: CLIENT.into(),
        client_secret: None,
        redirect_uri: format!("{public}/auth/callback"),
        scopes: ["api", "read_user"].map(String::from).to_vec(),
    });

    // One replica: it leads, and its three browsers' reads are the baseline.
    let first = start_replica(&database, &url, &public, dir.path(), "first").await;
    until_role(&first, "leading", Duration::from_secs(15)).await;
    let browsers: Vec<Browser> = futures::future::join_all((0..3).map(|_| Browser::open(&first.base, None))).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let refs: Vec<&Browser> = browsers.iter().collect();
    let alone = workload(&gitlab, &mut retries, &refs).await;
    assert_eq!(failures(&refs), Vec::<String>::new());
    drop(refs);
    drop(browsers);

    // Three: the two new ones follow, and the browsers are spread over all of them.
    let second = start_replica(&database, &url, &public, dir.path(), "second").await;
    let third = start_replica(&database, &url, &public, dir.path(), "third").await;
    until_role(&second, "following", Duration::from_secs(15)).await;
    until_role(&third, "following", Duration::from_secs(15)).await;
    assert_eq!(role(&first).await, "leading", "the first keeps the lock");
    let replicas = [&first, &second, &third];
    let browsers: Vec<Browser> = futures::future::join_all(replicas.iter().map(|r| Browser::open(&r.base, None))).await;
    // The new replicas' start (their selection read) is not what is measured.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let refs: Vec<&Browser> = browsers.iter().collect();
    let three = workload(&gitlab, &mut retries, &refs).await;
    assert_eq!(failures(&refs), Vec::<String>::new());
    eprintln!("GitLab requests in 30 s: {alone} with one replica, {three} with three");
    assert!(
        three as f64 <= alone as f64 * 1.1,
        "GitLab's traffic with three replicas ({three}) is more than 1.1 times that of one ({alone})"
    );

    // A webhook reaching a replica that does not lead reaches every replica's browsers: it
    // names a pipeline that did not change, so no poll could have told of it.
    let untouched = retries.pop().unwrap();
    let delivered = reqwest::Client::new()
        .post(format!("{}/hooks/gitlab", third.base))
        .header("x-gitlab-token", HOOK_SECRET)
        .header("x-gitlab-event", "Pipeline Hook")
        .json(&serde_json::json!({
            "object_kind": "pipeline",
            "object_attributes": { "id": untouched.1, "status": "failed" },
            "project": { "id": untouched.0 },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 202);
    all_told(
        &refs,
        untouched.0,
        untouched.1,
        Duration::from_secs(5),
        "a webhook at a follower",
    )
    .await;

    // Kiosk tokens are shared: one made on the command line opens the board on every replica.
    let made = Command::new(env!("CARGO_BIN_EXE_stageboard"))
        .env_clear()
        .envs(environment(&database, &url, &public, dir.path()))
        .args(["kiosk", "create", "--board", "lobby", "--label", "hall"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let said = String::from_utf8_lossy(&made.stdout).to_string();
    let token = said
        .split("kiosk=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token in {said}"))
        .to_owned();
    for replica in replicas {
        let wall = reqwest::get(format!("{}/cc.xml?kiosk={token}", replica.base))
            .await
            .unwrap();
        assert_eq!(wall.status(), 200, "{}", replica.base);
    }

    // Sessions and the audit log are shared: a sign-in begun at one replica ends at another,
    // the person acts at a third, and the audit log reads the same at each.
    let session = sign_in(&second, &gitlab, MAINTAINER).await;
    let person = reqwest::Client::new();
    let me: Value = person
        .get(format!("{}/api/v1/me", third.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], MAINTAINER, "{me}");
    let acted_on = retries.pop().unwrap();
    let acted = person
        .post(format!(
            "{}/api/v1/projects/{}/pipelines/{}/retry",
            third.base, acted_on.0, acted_on.1
        ))
        .header("cookie", &session)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(acted.status().is_success(), "{}", acted.text().await.unwrap());
    // An action at a replica that does not lead reaches every replica's browsers.
    all_told(
        &refs,
        acted_on.0,
        acted_on.1,
        Duration::from_secs(5),
        "an action at a follower",
    )
    .await;
    for replica in replicas {
        let audit: Value = person
            .get(format!("{}/api/v1/audit", replica.base))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entry = &audit["entries"][0];
        assert_eq!(entry["action"], "retry_pipeline", "{}: {audit}", replica.base);
        assert_eq!(entry["pipeline_id"], acted_on.1);
        assert_eq!(entry["person_id"], MAINTAINER);
    }

    // The leader dies. Its browser comes back to another replica; a pipeline is retried while
    // nobody leads, another once someone does.
    let lost = browsers[0].last_id.lock().unwrap().clone();
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let while_leaderless = gitlab.retry_next(&mut retries).await;
    let started = Instant::now();
    let (leader, follower) = loop {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no replica leads 15 s after the leader died:\n{}\n{}",
            second.log(),
            third.log()
        );
        if role(&second).await == "leading" {
            break (&second, &third);
        }
        if role(&third).await == "leading" {
            break (&third, &second);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let takeover = started.elapsed();
    eprintln!("a new replica leads {takeover:?} after the leader died");
    assert_eq!(role(follower).await, "following");
    // What an alert on "no replica polls" reads.
    for (replica, leading) in [(leader, 1), (follower, 0)] {
        let metrics = reqwest::get(format!("{}/metrics", replica.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains(&format!("\nstageboard_replica_leading {leading}\n")),
            "{}",
            replica.base
        );
    }
    for _ in 0..100 {
        if browsers[0].ended.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let back = Browser::open(&leader.base, lost).await;
    let after = gitlab.retry_next(&mut retries).await;
    let survivors = [&browsers[1], &browsers[2]];
    all_told(
        &survivors,
        while_leaderless.0,
        while_leaderless.1,
        Duration::from_secs(20),
        "a change while nobody led",
    )
    .await;
    all_told(
        &[&browsers[1], &browsers[2], &back],
        after.0,
        after.1,
        Duration::from_secs(20),
        "a change after the takeover",
    )
    .await;
    // The browser that lost its replica comes back to another, which cannot replay what the
    // lost one sent: it is told to read everything again (and does, as the page would).
    assert!(
        back.was_reset(),
        "the browser that came back was not told to read everything"
    );
    // What every replica serves of the pipeline retried while nobody led is its new state.
    for replica in [leader, follower] {
        let answer = reqwest::get(format!(
            "{}/api/v1/projects/{}/pipelines/{}",
            replica.base, while_leaderless.0, while_leaderless.1
        ))
        .await
        .unwrap();
        assert_eq!(answer.status(), 200, "{}", replica.base);
        let pipeline: Value = answer.json().await.unwrap();
        let status = pipeline["pipeline"]["status"].as_str().unwrap_or_default();
        assert!(!status.is_empty() && status != "failed", "{}: {pipeline}", replica.base);
    }
    assert_eq!(failures(&[&browsers[1], &browsers[2], &back]), Vec::<String>::new());
    drop(back);
    drop(browsers);
}
