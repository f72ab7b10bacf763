//! The hub's figures against `stageboard sim --projects 20` on loopback, both real binaries in their own
//! processes: GitLab requests with 1 and with 500 viewers, the idle cost with and without
//! webhooks, freshness (change to event at every client), fan-out to 2,000 SSE clients, and
//! cached reads at 1,000 requests per second.
//!
//! `cargo build --release -p stageboard -p stageboard-bench`, then
//! `STAGEBOARD_BIN=target/release/stageboard target/release/hub-bench [all|amplification|idle|
//! organisation|freshness|fanout|reads]` (all: about twenty-five minutes). `organisation` selects
//! 500 projects by group, as an organisation would.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stageboard_e2e::{Group, SimProcess, binary, free_port, spawn_group, wait_for_port};

const SECRET: &str = "bench-webhook-secret-0123456789";

struct Setup {
    sim: SimProcess,
    app: Group,
    url: String,
    http: reqwest::Client,
}

/// `stageboard sim` and a `stageboard` watching it (with webhooks, when asked).
fn start(webhooks: bool, quiet: bool) -> Setup {
    start_with(webhooks, quiet, 20, &[])
}

/// The same with `projects` simulated and more settings for stageboard.
fn start_with(webhooks: bool, quiet: bool, projects: usize, env: &[(&str, &str)]) -> Setup {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let hook_url = format!("{url}/hooks/gitlab");
    let projects = projects.to_string();
    // GitLab.com's limit is 2,000 requests a minute per user; the simulator's is raised so that
    // start-up (every project's first reads at once) is not what is measured.
    let mut args = vec!["--history-days", "1", "--projects", &projects, "--rate-limit", "100000"];
    if quiet {
        args.push("--quiet");
    }
    if webhooks {
        args.extend(["--webhook-url", &hook_url, "--webhook-secret", SECRET]);
    }
    let sim = SimProcess::start(&args);
    let mut command = Command::new(binary());
    command
        .env("GITLAB_URL", &sim.url)
        .env("GITLAB_TOKEN", &sim.token)
        .env("STAGEBOARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if webhooks {
        command.env("STAGEBOARD_WEBHOOK_SECRET", SECRET);
    } else {
        command.env_remove("STAGEBOARD_WEBHOOK_SECRET");
    }
    let app = spawn_group(&mut command);
    wait_for_port(port, "stageboard");
    Setup {
        sim,
        app,
        url,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("client"),
    }
}

impl Setup {
    async fn gitlab_requests(&self) -> u64 {
        let answer: serde_json::Value = self
            .http
            .get(format!("{}/-/sim/requests", self.sim.url))
            .send()
            .await
            .expect("sim answers")
            .json()
            .await
            .expect("json");
        answer["requests"].as_u64().unwrap_or(0)
    }

    async fn advance(&self, seconds: i64) {
        let _ = self
            .http
            .post(format!("{}/-/sim/advance", self.sim.url))
            .json(&serde_json::json!({ "seconds": seconds }))
            .send()
            .await;
    }

    /// An SSE client that counts events and notes when the latest arrived.
    fn sse_client(&self, seen: Arc<AtomicUsize>, last: Arc<std::sync::Mutex<Vec<Instant>>>, index: usize) {
        let url = format!("{}/api/v1/events?topics=projects", self.url);
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let Ok(mut response) = http.get(url).send().await else {
                return;
            };
            while let Ok(Some(chunk)) = response.chunk().await {
                if chunk.windows(14).any(|w| w == b"event: project") {
                    seen.fetch_add(1, Ordering::Relaxed);
                    last.lock().expect("lock")[index] = Instant::now();
                }
            }
        });
    }

    /// A browser that reads the overview and a pipeline list every 5 s.
    fn poller(&self, offset: Duration) {
        let (url, http) = (self.url.clone(), self.http.clone());
        tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            loop {
                for path in [
                    "/api/v1/overview",
                    "/api/v1/projects/1/pipelines",
                    "/api/v1/projects/2/environments",
                ] {
                    let _ = http.get(format!("{url}{path}")).send().await.map(|r| r.bytes());
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// GitLab requests per minute over `window` after a warm-up, with `viewers` (half SSE, half pollers).
async fn traffic(viewers: usize, webhooks: bool, quiet: bool, window: Duration) -> f64 {
    let setup = start(webhooks, quiet);
    let seen = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(vec![Instant::now(); viewers]));
    for i in 0..viewers {
        if i % 2 == 0 {
            setup.poller(Duration::from_millis((i as u64 * 37) % 5000));
        } else {
            setup.sse_client(seen.clone(), last.clone(), i);
        }
    }
    tokio::time::sleep(Duration::from_secs(15)).await;
    let before = setup.gitlab_requests().await;
    tokio::time::sleep(window).await;
    let after = setup.gitlab_requests().await;
    drop(setup);
    (after - before) as f64 * 60.0 / window.as_secs_f64()
}

/// An organisation's idle cost: `projects` simulated, all but the first selected by their group
/// (`platform`, with its subgroup), no webhooks, one viewer. Returns GitLab requests per minute
/// over `window` after a warm-up, stageboard's memory (KB), and how many projects it watches.
async fn organisation(projects: usize, window: Duration) -> (f64, u64, usize) {
    let setup = start_with(false, true, projects + 1, &[("STAGEBOARD_GROUPS", "platform")]);
    setup.poller(Duration::ZERO);
    // Every project's first reads, then a few idle rounds, before measuring.
    tokio::time::sleep(Duration::from_secs(120)).await;
    let watched = setup
        .http
        .get(format!("{}/api/v1/projects", setup.url))
        .send()
        .await
        .expect("stageboard answers")
        .json::<serde_json::Value>()
        .await
        .map(|v| v.as_array().map_or(0, Vec::len))
        .unwrap_or(0);
    let before = setup.gitlab_requests().await;
    tokio::time::sleep(window).await;
    let after = setup.gitlab_requests().await;
    let rss = rss_kb(setup.app.id());
    drop(setup);
    ((after - before) as f64 * 60.0 / window.as_secs_f64(), rss, watched)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// From a change in the simulated GitLab to the event at every one of `clients`.
async fn freshness(clients: usize, rounds: usize) -> (Vec<f64>, u64, u64) {
    let setup = start(true, false);
    let seen = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(vec![Instant::now(); clients]));
    let rss_before = rss_kb(setup.app.id());
    for i in 0..clients {
        setup.sse_client(seen.clone(), last.clone(), i);
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss_after = rss_kb(setup.app.id());
    let mut delays = Vec::new();
    for _ in 0..rounds {
        let start_count = seen.load(Ordering::Relaxed);
        let t0 = Instant::now();
        setup.advance(20).await;
        // Wait until every client has one more event, or give up on this round (no change).
        let deadline = t0 + Duration::from_secs(5);
        while seen.load(Ordering::Relaxed) < start_count + clients && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if seen.load(Ordering::Relaxed) >= start_count + clients {
            let stamps = last.lock().expect("lock").clone();
            delays.extend(stamps.iter().map(|t| t.duration_since(t0).as_secs_f64()));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    delays.sort_by(f64::total_cmp);
    (delays, rss_before, rss_after)
}

/// Latency of cached reads at `rate` requests per second for `seconds`.
async fn cached_reads(rate: u64, seconds: u64) -> (Vec<f64>, usize) {
    let setup = start(false, true);
    let url = format!("{}/api/v1/projects/1/pipelines", setup.url);
    let _ = setup.http.get(&url).send().await;
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut tasks = Vec::new();
    for _ in 0..rate * seconds {
        tick.tick().await;
        let (http, url, latencies) = (setup.http.clone(), url.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            if let Ok(r) = http.get(url).send().await
                && r.status().is_success()
                && r.bytes().await.is_ok()
            {
                latencies
                    .lock()
                    .expect("lock")
                    .push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    futures::future::join_all(tasks).await;
    let mut all = latencies.lock().expect("lock").clone();
    all.sort_by(f64::total_cmp);
    let n = all.len();
    (all, n)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let only = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let run = |name: &str| only == "all" || only == name;
    let projects = 20.0;

    if run("amplification") {
        println!("amplification (live simulated GitLab, 20 projects, no webhooks, 120 s windows)...");
        let (one, many) = tokio::join!(
            traffic(1, false, false, Duration::from_secs(120)),
            traffic(500, false, false, Duration::from_secs(120))
        );
        println!(
            "  GitLab requests/min: 1 viewer {one:.1}, 500 viewers {many:.1}: {:.3}x",
            many / one.max(0.001)
        );
    }

    if run("idle") {
        let idle = 320;
        println!("idle cost (quiet simulated GitLab, 1 viewer, {idle} s windows)...");
        let (polled, hooked) = tokio::join!(
            traffic(2, false, true, Duration::from_secs(idle)),
            traffic(2, true, true, Duration::from_secs(idle))
        );
        println!(
            "  GitLab requests per project per minute: {:.2} without webhooks, {:.2} with webhooks",
            polled / projects,
            hooked / projects
        );
    }

    if run("organisation") {
        let n = 500;
        println!(
            "organisation ({n} projects selected by group, quiet simulated GitLab, no webhooks, 1 viewer, 320 s window after 120 s)..."
        );
        let (per_minute, rss, watched) = organisation(n, Duration::from_secs(320)).await;
        println!(
            "  {watched} projects watched; GitLab requests per project per minute: {:.2}; stageboard memory {:.1} MB ({:.0} KB per project)",
            per_minute / watched.max(1) as f64,
            rss as f64 / 1024.0,
            rss as f64 / watched.max(1) as f64
        );
    }

    if run("freshness") {
        println!("freshness with webhooks (50 SSE clients, 15 changes)...");
        let (delays, _, _) = freshness(50, 15).await;
        println!(
            "  change to event at every client: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms ({} deliveries)",
            percentile(&delays, 0.5) * 1000.0,
            percentile(&delays, 0.95) * 1000.0,
            delays.last().copied().unwrap_or(f64::NAN) * 1000.0,
            delays.len()
        );
    }

    if run("fanout") {
        println!("fan-out (2,000 SSE clients, 5 changes)...");
        let (delays, before, after) = freshness(2000, 5).await;
        println!(
            "  server memory {} KB -> {} KB: {:.1} KB per client; change to event at all 2,000: p95 {:.0} ms, max {:.0} ms",
            before,
            after,
            after.saturating_sub(before) as f64 / 2000.0,
            percentile(&delays, 0.95) * 1000.0,
            delays.last().copied().unwrap_or(f64::NAN) * 1000.0
        );
    }

    if run("reads") {
        println!("cached reads (1,000 requests/s for 10 s)...");
        let (latencies, n) = cached_reads(1000, 10).await;
        println!(
            "  {n} answered: p50 {:.2} ms, p99 {:.2} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
}
