//! Measures what a person waits for, in headless Chromium against the real binary in demo mode:
//! how long until the overview shows its projects, and how long a 4 MB job log takes to open and
//! to jump to its end. Prints the figures; it is a benchmark, not a test.
//!
//!     cargo run --release -p stageboard-e2e --bin ui-bench [-- ROUNDS]

use std::time::{Duration, Instant};

use stageboard_e2e::{Browser, Stageboard};

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

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(5);
    let app = Stageboard::start_demo();
    let browser = Browser::start().await;
    let result = run(&app, &browser, rounds).await;
    browser.close().await;
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

    let found = browser
        .js("return fetch('/api/v1/projects/2/pipelines?status=success&per_page=1').then(r => r.json()).then(p => fetch('/api/v1/projects/2/pipelines/' + p.pipelines[0].id)).then(r => r.json()).then(d => d.stages.flatMap(s => s.jobs).find(j => j.name === 'integration' && !j.retried).id);")
        .await?;
    let job = found.as_u64().ok_or_else(|| format!("no integration job: {found}"))?;
    let url = format!("{}/projects/2/jobs/{job}", app.url);
    let size = browser
        .js(&format!(
            "return fetch('/api/v1/projects/2/jobs/{job}/log').then(r => r.json()).then(l => l.next_offset);"
        ))
        .await?;

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
