//! Measures what a person waits for, in headless Chromium against the real binary in demo mode:
//! how long until the overview shows its projects, and how long a 4 MB job log takes to open and
//! to jump to its end. Prints the figures; it is a benchmark, not a test.
//!
//!     trunk build --release && cargo build --release -p stageboard
//!     STAGEBOARD_BIN=target/release/stageboard cargo run --release -p stageboard-e2e --bin ui-bench [-- ROUNDS]

use std::time::{Duration, Instant};

use stageboard_e2e::{Browser, Stageboard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(30);

fn summary(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: median {:.0} ms, best {:.0} ms, worst {:.0} ms ({} runs)",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

/// GETs `path` from the server's API on a connection of its own. The lookups are not measured,
/// so they stay out of the browser, where a `fetch` inside `execute` waits, under WebDriver's
/// 30 s script timeout, until one of the 6 connections Chromium allows per host is free.
async fn api_json(app: &Stageboard, path: &str) -> Result<serde_json::Value, String> {
    let host = app.url.trim_start_matches("http://");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(host).await?;
        // HTTP/1.0: the server closes the connection after its answer, which ends the read.
        let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(WAIT, exchange)
        .await
        .map_err(|_| format!("GET {path}: no answer within {WAIT:?}"))?
        .map_err(|e| format!("GET {path}: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&*text, ""));
    if head.split(' ').nth(1) != Some("200") {
        return Err(format!("GET {path}: {head}"));
    }
    serde_json::from_str(body).map_err(|e| format!("GET {path}: {e}"))
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(5);
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let result = run(&app, &browser, rounds).await;
    browser.close().await;
    // Stopped before exiting: `exit` runs no destructor, and the server would stay behind.
    drop(app);
    if let Err(e) = result {
        eprintln!("ui-bench failed: {e}");
        std::process::exit(1);
    }
}

async fn run(app: &Stageboard, browser: &Browser, rounds: usize) -> Result<(), String> {
    let err = |e: stageboard_e2e::fantoccini::error::CmdError| e.to_string();
    // Warm up: the first load also fills GitLab's (simulated) caches.
    browser.client.goto(&app.url).await.map_err(err)?;
    browser
        .wait_text("li.project .project-name", "gitlab-k8s-demo", WAIT)
        .await?;

    let mut overview = Vec::new();
    for _ in 0..rounds {
        browser.client.goto("about:blank").await.map_err(err)?;
        let start = Instant::now();
        browser.client.goto(&app.url).await.map_err(err)?;
        browser.wait_text("li.project .latest", "#", WAIT).await?;
        overview.push(start.elapsed());
    }

    let found = api_json(app, "/api/v1/projects/2/pipelines?status=success&per_page=1").await?;
    let pipeline = found["pipelines"][0]["id"]
        .as_u64()
        .ok_or_else(|| format!("no successful pipeline: {found}"))?;
    let detail = api_json(app, &format!("/api/v1/projects/2/pipelines/{pipeline}")).await?;
    let job = detail["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|stage| stage["jobs"].as_array().into_iter().flatten())
        .find(|j| j["name"] == "integration" && j["retried"] != true)
        .and_then(|j| j["id"].as_u64())
        .ok_or_else(|| format!("no integration job in pipeline {pipeline}"))?;
    let url = format!("{}/projects/2/jobs/{job}", app.url);
    // The API gives a long log in pages (`more`): its size is where the last page ends.
    let mut size = 0;
    loop {
        let page = api_json(app, &format!("/api/v1/projects/2/jobs/{job}/log?offset={size}")).await?;
        size = page["next_offset"].as_u64().unwrap_or(size);
        if page["more"] != true {
            break;
        }
    }

    let mut open = Vec::new();
    let mut to_end = Vec::new();
    for _ in 0..rounds {
        browser.client.goto("about:blank").await.map_err(err)?;
        let start = Instant::now();
        browser.client.goto(&url).await.map_err(err)?;
        browser
            .wait_text(".log-line", "Running with gitlab-runner", WAIT)
            .await?;
        open.push(start.elapsed());
        let jump = Instant::now();
        browser
            .js("document.querySelector('.jump-end').click(); return null;")
            .await?;
        browser.wait_text(".log-line", "exceeded limit", WAIT).await?;
        to_end.push(jump.elapsed());
    }
    println!("log size: {size} bytes");
    summary("overview shows its projects", &mut overview);
    summary("4 MB log opens (first lines shown)", &mut open);
    summary("4 MB log jumps to its end", &mut to_end);
    let mut total: Vec<Duration> = open.iter().zip(&to_end).map(|(a, b)| *a + *b).collect();
    summary("4 MB log open + jump to end", &mut total);
    Ok(())
}
