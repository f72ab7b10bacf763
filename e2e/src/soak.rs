//! The wall's soak: a board left open while the simulated GitLab lives through many hours, a
//! change every simulated minute (the demo's clock moved by `/api/v1/demo/advance`), measuring
//! what a long-running tab must not grow: its JavaScript heap (after forced garbage collections)
//! and its DOM nodes, after a warm-up and at the end.
//!
//! The heap is measured after collecting garbage until it stops shrinking. Two things move
//! the figures without being growth:
//! - V8 drops the bytecode of functions that have not run for hours (the start-up's): the heap
//!   falls by about a tenth somewhere after 16 simulated hours, and stays there, which could
//!   hide as much growth. The soak's browser runs with bytecode flushing off ([`FLAGS`]).
//! - The board's own size changes with what it shows (a running pipeline's tile carries a bar,
//!   a red one who broke it): 92 to 115 elements for the demo's three tiles. So the soaked
//!   page's DOM is compared, after warm-up and at the end, with a page freshly opened on the
//!   same board at the same moment: growth is what the soaked page holds beyond that.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Browser, Stageboard};

/// Chromium flags the soak needs: a `gc()` to call, and heap sizes that are not rounded.
/// Bytecode flushing is off: V8 dropping the compiled code of functions idle for hours only ever
/// makes the heap smaller, by about a tenth after 16 simulated hours, which could hide as much
/// growth. Without it the measure is an upper bound.
pub const FLAGS: [&str; 2] = [
    "--js-flags=--expose-gc --no-flush-bytecode",
    "--enable-precise-memory-info",
];

/// What the soak measured.
#[derive(Debug, Clone)]
pub struct Figures {
    pub minutes: u32,
    /// Every four simulated hours (and after the first): the minute, heap and DOM nodes.
    pub along: Vec<(u32, f64, f64)>,
    pub warm_heap: f64,
    pub end_heap: f64,
    pub warm_nodes: f64,
    pub end_nodes: f64,
    /// The DOM nodes of a page freshly opened on the same board at the same moment: what the
    /// board itself needs then (after warm-up, at the end).
    pub warm_fresh_nodes: f64,
    pub end_fresh_nodes: f64,
    pub took: Duration,
}

impl Figures {
    /// How much the end differs from the warm-up, as a share of the warm-up: the heap, and the
    /// DOM nodes beyond what the board needs (each against a fresh page on the same board at
    /// the same moment, so a board that merely shows more, a running pipeline's bar, does not
    /// count as growth).
    pub fn growth(&self) -> (f64, f64) {
        let warm = self.warm_nodes / self.warm_fresh_nodes;
        let end = self.end_nodes / self.end_fresh_nodes;
        ((self.end_heap - self.warm_heap) / self.warm_heap, (end - warm) / warm)
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (heap, nodes) = self.growth();
        write!(
            f,
            "{} simulated minutes in {:.0} s: JS heap {:.2} MB after warm-up, {:.2} MB at the end ({:+.1} %); DOM nodes {} (a fresh page on the same board: {}) and {} (fresh: {}), {:+.1} % beyond what the board shows",
            self.minutes,
            self.took.as_secs_f64(),
            self.warm_heap / 1e6,
            self.end_heap / 1e6,
            heap * 100.0,
            self.warm_nodes,
            self.warm_fresh_nodes,
            self.end_nodes,
            self.end_fresh_nodes,
            nodes * 100.0,
        )?;
        for (minute, heap, nodes) in &self.along {
            write!(f, "; at {} h {:.2} MB, {nodes} nodes", minute / 60, heap / 1e6)?;
        }
        Ok(())
    }
}

/// Opens the demo's wall at `/wall<rest>` and waits until it shows gitlab-k8s-demo's tile.
pub async fn open_wall(app: &Stageboard, browser: &Browser, rest: &str) -> Result<(), String> {
    browser
        .client
        .goto(&format!("{}/wall{rest}", app.url))
        .await
        .map_err(|e| e.to_string())?;
    browser
        .wait_text(".tiles .tile-name", "gitlab-k8s-demo", Duration::from_secs(30))
        .await
        .map(drop)
}

/// Moves the demo's simulated clock by `seconds`, on a connection of its own.
async fn advance(app: &Stageboard, seconds: u32) -> Result<(), String> {
    let host = app.url.trim_start_matches("http://");
    let body = format!("{{\"seconds\":{seconds}}}");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(host).await?;
        let request = format!(
            "POST /api/v1/demo/advance HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .map_err(|_| "the clock did not move within 30 s".to_owned())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&answer);
    match text.split(' ').nth(1) {
        Some("200") => Ok(()),
        _ => Err(format!("moving the clock: {}", text.lines().next().unwrap_or_default())),
    }
}

/// The DOM nodes of the wall opened afresh in a second tab, on the board the soaked page shows
/// (the clock stands still meanwhile), which is then closed.
async fn fresh_nodes(app: &Stageboard, browser: &Browser) -> Result<f64, String> {
    let client = &browser.client;
    let soaked = client.window().await.map_err(|e| e.to_string())?;
    let tab = client.new_window(true).await.map_err(|e| e.to_string())?;
    client.switch_to_window(tab.handle).await.map_err(|e| e.to_string())?;
    let counted = async {
        open_wall(app, browser, "").await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let nodes = browser.js("return document.getElementsByTagName('*').length;").await?;
        Ok::<_, String>(nodes.as_f64().unwrap_or(0.0))
    }
    .await;
    let closed = client.close_window().await;
    client.switch_to_window(soaked).await.map_err(|e| e.to_string())?;
    closed.map_err(|e| e.to_string())?;
    counted
}

/// The page's heap after garbage collection, and its DOM nodes. Collections go on, a moment
/// apart, until the heap has not shrunk for three in a row (at most twenty): what is measured
/// is what the page still holds, not what awaits collection.
async fn measure(browser: &Browser) -> Result<(f64, f64), String> {
    let mut least = (f64::MAX, 0.0);
    let mut steady = 0;
    for _ in 0..20 {
        let seen = browser
            .js("gc(); gc(); return [performance.memory.usedJSHeapSize, document.getElementsByTagName('*').length];")
            .await?;
        let at = |i: usize| seen[i].as_f64().unwrap_or(0.0);
        if at(0) < least.0 {
            least = (at(0), at(1));
            steady = 0;
        } else {
            steady += 1;
            if steady == 3 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(least)
}

/// Opens `/wall` in `browser` (started with [`FLAGS`]) and lives through `minutes` simulated
/// minutes, one a step, measuring after a warm-up (the first two hours, or a third of a
/// shorter run) and at the end, and every four hours along the way.
pub async fn wall(app: &Stageboard, browser: &Browser, minutes: u32) -> Result<Figures, String> {
    open_wall(app, browser, "").await?;
    let started = Instant::now();
    let mut warm = None;
    let mut along = Vec::new();
    let warm_up = 120.min(minutes / 3);
    for minute in 1..=minutes {
        advance(app, 60).await?;
        // The wall hears of the change and reads its board again.
        tokio::time::sleep(Duration::from_millis(60)).await;
        if minute == warm_up || minute == 60 || minute % 240 == 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (heap, nodes) = measure(browser).await?;
            along.push((minute, heap, nodes));
            if minute == warm_up {
                warm = Some((heap, nodes, fresh_nodes(app, browser).await?));
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (end_heap, end_nodes) = measure(browser).await?;
    let end_fresh_nodes = fresh_nodes(app, browser).await?;
    let (warm_heap, warm_nodes, warm_fresh_nodes) = warm.ok_or("too short to warm up")?;
    // Still a wall, still showing its board.
    browser
        .wait_text(".tiles .tile-name", "gitlab-k8s-demo", Duration::from_secs(10))
        .await?;
    Ok(Figures {
        minutes,
        along,
        warm_heap,
        end_heap,
        warm_nodes,
        end_nodes,
        warm_fresh_nodes,
        end_fresh_nodes,
        took: started.elapsed(),
    })
}
