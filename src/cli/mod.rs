//! The command-line interface: argument definitions, one module per command group, shared
//! output and input helpers, and the mapping of failures to exit codes.

mod analyze;
pub mod args;
mod capture;
pub mod error;
mod input;
mod introspect;
mod output;
mod persona;
mod provision;
mod proxy;
mod template;

use anyhow::Context as _;
use persona_engine::registry::Registry;

use args::Command;

/// What every command may need: the registry, opened only when a command uses it (so invalid
/// input never creates or touches a registry).
#[derive(Debug)]
pub struct Context {
    registry_url: Option<String>,
}

impl Context {
    pub fn new(registry_url: Option<String>) -> Self {
        Context { registry_url }
    }

    /// Open the registry (creating and migrating it as needed).
    pub async fn registry(&self) -> anyhow::Result<Registry> {
        Registry::open(self.registry_url.as_deref())
            .await
            .context("opening the persona registry")
    }
}

/// Run one command.
pub async fn run(context: &Context, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Template(command) => template::run(command),
        Command::Persona(command) => persona::run(context, command).await,
        Command::Provision(args) => provision::run(context, args).await,
        Command::Introspect(args) => introspect::run(context, args).await,
        Command::Analyze(args) => analyze::run(context, args).await,
        Command::Proxy(args) => proxy::run(context, args).await,
        Command::Capture(command) => capture::run(context, command).await,
        Command::Bench(args::BenchCommand::Proxy(args)) => proxy::run_bench(args).await,
        Command::Gui => unreachable!("main opens the desktop app before running commands"),
    }
}
