use std::process::ExitCode;

use clap::Parser;
use stageboard::config::{Cli, Config};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // One TLS crypto provider for every client in the process (reqwest, and kube later).
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("stageboard=info,stageboard_sim=info,warn")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stageboard: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            #[cfg(feature = "demo")]
            Some(stageboard::config::Command::Sim(args)) => stageboard::server::run_sim(args).await,
            Some(stageboard::config::Command::Kiosk(command)) => stageboard::kiosk::command(command, &cli.serve).await,
            None => stageboard::server::run(Config::from_args(cli.serve)?).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stageboard: {message}");
            ExitCode::FAILURE
        }
    }
}
