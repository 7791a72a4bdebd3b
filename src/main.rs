//! The `persona` binary: the desktop app (no arguments, or `persona gui`) and the command-line
//! interface.

mod cli;

use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, Parser};

use cli::args::{Cli, Command};

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
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
    if cli.command.is_none() && !has_display() {
        // A terminal without a desktop (a server, CI): the help is the useful answer.
        eprintln!("no display found (DISPLAY / WAYLAND_DISPLAY unset); showing the help\n");
        return match Cli::command().print_help() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    match cli.command {
        None | Some(Command::Gui) => {
            match persona_studio::gui::run(&runtime, cli.registry, started) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => cli::error::report(
                    &anyhow::anyhow!("{e}").context("opening the desktop window"),
                ),
            }
        }
        Some(command) => {
            let context = cli::Context::new(cli.registry);
            match runtime.block_on(cli::run(&context, command)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => cli::error::report(&e),
            }
        }
    }
}

/// Whether a window can be opened (on Linux and the BSDs: an X11 or Wayland display is set).
fn has_display() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
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
