//! `persona capture …`: list the captures saved in the registry (by `persona proxy`) and delete
//! one.

use clap::Subcommand;
use persona_engine::registry::RegistryError;

use super::Context;
use super::args::JsonFlag;
use super::error::InvalidInput;
use super::output::{emit, emit_json, table};

pub const CAPTURE_EXAMPLES: &str = "\
Examples:
  persona capture list
  persona capture list --json
  persona capture delete staging

A capture holds what `persona proxy --capture NAME` saw: statistics per normalized statement
and which statements sessions ran together. `persona analyze --source proxy --capture NAME`
reports on it; the app shows it on its Workload page.";

/// `persona capture …`
#[derive(Debug, Subcommand)]
pub enum CaptureCommand {
    /// List the captures: patterns, calls, co-access windows, last save
    List(JsonFlag),
    /// Delete a capture and everything it holds
    Delete {
        /// Capture name (see `persona capture list`)
        name: String,
    },
}

pub async fn run(context: &Context, command: CaptureCommand) -> anyhow::Result<()> {
    match command {
        CaptureCommand::List(flag) => {
            let registry = context.registry().await?;
            let captures = registry.list_captures().await?;
            if flag.json {
                return emit_json(&captures);
            }
            if captures.is_empty() {
                eprintln!(
                    "no captures in {}; `persona proxy --upstream URL` makes one",
                    registry.location()
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = captures
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        source_name(c.source),
                        c.patterns.to_string(),
                        c.calls.to_string(),
                        c.windows.to_string(),
                        c.dropped_events.to_string(),
                        c.flushes.to_string(),
                        c.updated_at.clone(),
                    ]
                })
                .collect();
            emit(&table(
                &[
                    "NAME", "SOURCE", "PATTERNS", "CALLS", "WINDOWS", "DROPPED", "SAVES", "UPDATED",
                ],
                &rows,
            ))
        }
        CaptureCommand::Delete { name } => {
            let registry = context.registry().await?;
            let gone = registry.delete_capture(&name).await.map_err(input_error)?;
            emit(&format!(
                "deleted capture `{}` ({} patterns, {} calls, {} windows)\n",
                gone.name, gone.patterns, gone.calls, gone.windows
            ))
        }
    }
}

/// An unknown or invalid capture name is the user's input (exit code 2); the rest is not.
pub(super) fn input_error(e: RegistryError) -> anyhow::Error {
    match e {
        RegistryError::CaptureNotFound { .. } | RegistryError::InvalidCaptureName { .. } => {
            InvalidInput::new(e.to_string()).into()
        }
        other => other.into(),
    }
}

/// How a source is named on the command line and in JSON (`proxy`, `pg_stat_statements`, …).
pub(super) fn source_name(source: persona_core::model::CaptureSource) -> String {
    match serde_json::to_value(source) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{source:?}"),
    }
}
