use std::process::ExitCode;

use stageboard::config::file::{self, Failure, Loaded};
use stageboard::config::{Command, Config};
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
    let Loaded { command, serve, origin } = match file::load(std::env::args_os().collect()) {
        Ok(loaded) => loaded,
        Err(Failure::Arguments(e)) => e.exit(),
        Err(Failure::File(message)) => {
            eprintln!("stageboard: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stageboard: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            #[cfg(feature = "demo")]
            Some(Command::Sim(args)) => stageboard::server::run_sim(args).await,
            Some(Command::Kiosk(command)) => stageboard::kiosk::command(command, &serve)
                .await
                .map_err(|e| origin.explain(e)),
            Some(Command::CheckConfig) => {
                print!("{}", file::render(&origin));
                Config::from_args(serve)
                    .map(|config| println!("\n# Valid: {}.", config.summary()))
                    .map_err(|e| origin.explain(e))
            }
            None => {
                let config = Config::from_args(serve).map_err(|e| origin.explain(e))?;
                stageboard::server::run(config).await
            }
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
