//! What watching the cluster costs: the memory the reflectors hold and the watch connections they
//! keep open, for the demo's own environments and then with `N` more review apps (default 50).
//!
//! `cargo build --release -p stageboard -p stageboard-bench`, then
//! `STAGEBOARD_BIN=target/release/stageboard target/release/cluster-memory [N]`.
//! The simulated cluster runs in its own process (`stageboard sim`), so only the reflectors'
//! allocations are counted here.

use std::alloc::System;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use stageboard::cluster::ClusterState;
use stageboard_e2e::SimProcess;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes this process holds now, as the instrumented allocator counts them.
fn live_bytes() -> isize {
    let s = ALLOCATOR.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated
}

struct Measured {
    environments: usize,
    objects: usize,
    bytes: usize,
    watches: usize,
}

async fn measure(review_apps: usize) -> Result<Measured, String> {
    let sim = SimProcess::start(&["--history-days", "1", "--review-apps", &review_apps.to_string()]);
    let before = live_bytes();
    let mut config = kube::Config::new(sim.url.parse().map_err(|e| format!("{e}"))?);
    config.default_namespace = "gitlab".into();
    config.auth_info.token = Some(SecretString::from(sim.token.clone()));
    let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
    let state = ClusterState::start(client, &["gitlab".to_owned()], "ref");
    // Synced: connected, and the object count has not moved for three seconds (bookmarks every 2 s).
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut last, mut steady_since) = (usize::MAX, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let count = state.object_count();
        if count != last {
            (last, steady_since) = (count, Instant::now());
        }
        if state.link().connected && count > 0 && steady_since.elapsed() > Duration::from_secs(3) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the reflectors did not settle within 2 minutes ({count} objects)"
            ));
        }
    }
    let bytes = (live_bytes() - before).max(0) as usize;
    let environments = state.environment_slugs().len();
    Ok(Measured {
        environments,
        objects: last,
        bytes,
        watches: state.watch_connections(),
    })
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let extra: usize = match std::env::args().nth(1) {
        None => 50,
        Some(n) => n.parse().map_err(|_| format!("`{n}` is not a number of review apps"))?,
    };
    let base = measure(0).await?;
    let loaded = measure(extra).await?;
    for m in [&base, &loaded] {
        println!(
            "{:>4} environments in the cluster: {:>5} objects, {:>6} KB held by the reflectors, {} watch connections",
            m.environments,
            m.objects,
            m.bytes / 1024,
            m.watches
        );
    }
    let added = loaded.environments.saturating_sub(base.environments).max(1);
    println!(
        "per environment: {:.1} KB and {:.1} objects; watch connections do not grow with environments",
        (loaded.bytes.saturating_sub(base.bytes)) as f64 / 1024.0 / added as f64,
        (loaded.objects.saturating_sub(base.objects)) as f64 / added as f64,
    );
    Ok(())
}
