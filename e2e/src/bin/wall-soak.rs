//! The wall's soak, by hand: `stageboard_e2e::soak` over as many simulated hours as asked
//! (24 by default), printing the figures.
//!
//!     scripts/build-frontend && cargo build --release -p stageboard --features demo
//!     STAGEBOARD_BIN=target/release/stageboard cargo run --release -p stageboard-e2e --bin wall-soak [-- HOURS]

use stageboard_e2e::{Browser, Stageboard, soak};

#[tokio::main]
async fn main() {
    let hours: u32 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(24);
    let mut app = Stageboard::start_demo();
    let browser = Browser::start_with(&soak::FLAGS).await;
    let result = soak::wall(&app, &browser, hours * 60).await;
    browser.close().await;
    app.terminate(std::time::Duration::from_secs(10));
    match result {
        Ok(figures) => println!("wall soak: {figures}"),
        Err(e) => {
            eprintln!("wall soak: {e}");
            std::process::exit(1);
        }
    }
}
