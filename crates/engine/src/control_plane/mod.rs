//! The control plane facade: the one door through which the desktop app (and later the API)
//! reaches the registry, the templates and target databases.
//!
//! Callers never await it. They [`send`](ControlPlane::send) [`Command`]s over a channel; a
//! task on the engine's tokio runtime runs them and publishes an immutable [`Snapshot`] through
//! a `watch` channel after every change, then calls the repaint callback so a GUI redraws.
//! Registry commands run one after another in arrival order; commands that reach a target
//! database (test, introspect, provision) or analyse a stored capture run concurrently as jobs
//! listed in the snapshot.

mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use persona_core::model::DataAnalysisResults;
use persona_core::validate::Problem;
use persona_core::{Dialect, PersonaDefinition};
use tokio::sync::{mpsc, watch};

use crate::registry::{CaptureInfo, PersonaSummary, SavedConnection, SecretRef, VersionInfo};

/// Called after each published change (a GUI wires it to `ctx.request_repaint()`).
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

/// How many notices a snapshot keeps (oldest go first).
pub const MAX_NOTICES: usize = 30;

/// What a caller asks the engine to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Re-read personas and connections from the registry.
    Refresh,
    /// Create a persona from a built-in template under `name`.
    CreateFromTemplate { slug: String, name: String },
    /// Copy a persona (its latest version) under a new name.
    Duplicate { persona: String, name: String },
    /// Rename a persona (a new version with the new name).
    Rename { persona: String, name: String },
    /// Delete a persona and all its versions.
    Delete { persona: String },
    /// Load a persona's latest version and history into `Snapshot::selected` (None clears).
    Select { persona: Option<String> },
    /// Make a new version equal to an old one.
    Restore { persona: String, version: u32 },
    /// Save a definition as a new version (or a new persona when its id is empty). Invalid
    /// definitions are refused with their problems.
    Save {
        definition: Box<PersonaDefinition>,
        note: String,
    },
    /// Store the canvas layout (the GUI's JSON) of a persona. Not part of its schema: no new
    /// version is made. Silent unless it fails.
    SaveLayout {
        persona: String,
        layout: serde_json::Value,
    },
    /// Import a persona file (.toml or .json) as a new persona, optionally renamed.
    Import { path: PathBuf, name: Option<String> },
    /// Write a persona (latest version unless `version`) to `path`.
    Export {
        persona: String,
        version: Option<u32>,
        format: ExportFormat,
        path: PathBuf,
    },
    /// Save a connection. A password in the URL is removed (and the secret becomes a prompt
    /// when none was chosen).
    AddConnection {
        name: String,
        url: String,
        secret: SecretRef,
    },
    /// Forget a saved connection.
    RemoveConnection { name: String },
    /// Connect and run a trivial query. `password` answers a prompt secret.
    TestConnection {
        name: String,
        password: Option<String>,
    },
    /// Read a connection's schema and store it as a new persona called `persona_name`.
    Introspect {
        connection: String,
        persona_name: String,
        password: Option<String>,
    },
    /// Compute the DDL that provisioning `persona` into `connection` would run (shown first).
    PlanProvision { persona: String, connection: String },
    /// Forget the provision plan without running it.
    CancelProvision,
    /// Create the persona's schema in the connection's database.
    Provision {
        persona: String,
        connection: String,
        password: Option<String>,
    },
    /// Remove a notice.
    DismissNotice { id: u64 },
    /// Re-read the list of stored captures into `Snapshot::captures`.
    RefreshCaptures,
    /// Load the stored capture `name` and analyse it into `Snapshot::workload` (in the
    /// background). `schema_persona` names a persona whose schema resolves columns and shows
    /// joins no foreign key backs (emerging relationships).
    LoadCapture {
        name: String,
        schema_persona: Option<String>,
    },
}

/// A file format for export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Toml,
    Json,
    /// The DDL script for a dialect.
    Sql(Dialect),
}

impl ExportFormat {
    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Toml => "toml",
            ExportFormat::Json => "json",
            ExportFormat::Sql(_) => "sql",
        }
    }

    /// A short label (`TOML`, `SQL (postgres)`).
    pub fn label(self) -> String {
        match self {
            ExportFormat::Toml => "TOML".to_owned(),
            ExportFormat::Json => "JSON".to_owned(),
            ExportFormat::Sql(d) => format!("SQL ({})", d.as_str()),
        }
    }
}

/// The registry's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RegistryStatus {
    #[default]
    Opening,
    Ready {
        location: String,
    },
    Failed(String),
}

/// A built-in template, parsed.
#[derive(Debug, Clone)]
pub struct TemplateCard {
    pub slug: String,
    pub definition: Arc<PersonaDefinition>,
}

/// The persona being looked at: its latest version and its history.
#[derive(Debug, Clone)]
pub struct SelectedPersona {
    pub definition: Arc<PersonaDefinition>,
    pub history: Vec<VersionInfo>,
    /// Its stored canvas layout (the GUI's JSON), if it has one.
    pub layout: Option<Arc<serde_json::Value>>,
}

/// A saved connection and the result of its last test.
#[derive(Debug, Clone)]
pub struct ConnectionState {
    pub saved: SavedConnection,
    pub dialect: Option<Dialect>,
    pub test: TestState,
}

/// The result of testing a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TestState {
    #[default]
    Untested,
    Running,
    Ok,
    Failed(String),
}

/// Work in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: u64,
    pub label: String,
}

/// How a notice should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Error,
}

/// A message for the user: what happened, with optional detail lines (validation problems).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: u64,
    pub level: Level,
    pub text: String,
    pub detail: Vec<String>,
}

/// DDL waiting for the user's confirmation before provisioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionPlan {
    pub persona: String,
    pub connection: String,
    pub dialect: Dialect,
    pub statements: Vec<String>,
}

/// A stored capture, analysed (what the workload view shows).
#[derive(Debug, Clone)]
pub struct WorkloadView {
    pub info: CaptureInfo,
    /// The persona whose schema the analysis used, if any.
    pub schema_persona: Option<String>,
    /// Top patterns, column usage, co-access rules, emerging relationships, warnings.
    pub results: DataAnalysisResults,
    /// Co-access windows the rules were mined from.
    pub windows: usize,
}

/// Everything a view shows, immutable once published.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Bumped on every publication.
    pub revision: u64,
    pub registry: RegistryStatus,
    pub templates: Arc<Vec<TemplateCard>>,
    pub personas: Vec<PersonaSummary>,
    pub selected: Option<SelectedPersona>,
    pub connections: Vec<ConnectionState>,
    pub jobs: Vec<Job>,
    pub notices: Vec<Notice>,
    pub provision_plan: Option<ProvisionPlan>,
    /// Problems of the last refused save (cleared by a successful save).
    pub save_problems: Vec<Problem>,
    /// Stored captures, by name (after [`Command::RefreshCaptures`]).
    pub captures: Vec<CaptureInfo>,
    /// The capture last loaded with [`Command::LoadCapture`].
    pub workload: Option<Arc<WorkloadView>>,
}

impl Snapshot {
    /// The summary of the persona named `name`, if listed.
    pub fn persona(&self, name: &str) -> Option<&PersonaSummary> {
        self.personas.iter().find(|p| p.name == name)
    }

    /// The connection named `name`, if saved.
    pub fn connection(&self, name: &str) -> Option<&ConnectionState> {
        self.connections.iter().find(|c| c.saved.name == name)
    }

    /// The newest notice, if any.
    pub fn last_notice(&self) -> Option<&Notice> {
        self.notices.last()
    }
}

/// The handle a view holds: a command sender and the latest snapshot.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    commands: mpsc::UnboundedSender<Command>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
}

impl ControlPlane {
    /// Start the control plane on `runtime`: the registry at `registry_url` (default location
    /// when None) opens in the background; commands sent meanwhile wait for it.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        registry_url: Option<String>,
        repaint: Repaint,
    ) -> ControlPlane {
        let (commands, receiver) = mpsc::unbounded_channel();
        let (publisher, snapshots) = watch::channel(Arc::new(Snapshot::default()));
        runtime.spawn(worker::run(registry_url, receiver, publisher, repaint));
        ControlPlane {
            commands,
            snapshots,
        }
    }

    /// Queue a command (never blocks). A stopped engine drops it.
    pub fn send(&self, command: Command) {
        if self.commands.send(command).is_err() {
            tracing::warn!("control plane stopped; command dropped");
        }
    }

    /// The latest snapshot (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// A receiver of snapshots, for async callers that wait for a change (tests, the API).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }
}

#[cfg(test)]
mod tests;
