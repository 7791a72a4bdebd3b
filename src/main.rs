//! The `persona` binary: command-line interface (and, later, the desktop app).

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::args::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        // A later issue opens the desktop app here; until then, the help.
        return match Cli::command().print_help() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return cli::error::report(&anyhow::Error::new(e).context("starting the runtime"));
        }
    };
    let context = cli::Context::new(cli.registry);
    match runtime.block_on(cli::run(&context, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::error::report(&e),
    }
}

/// Diagnostics on stderr, `warn` and above unless `RUST_LOG` says otherwise.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
