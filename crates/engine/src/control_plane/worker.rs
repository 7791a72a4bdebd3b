//! The engine side of the control plane: runs commands against the registry, templates and
//! target databases, analyses stored captures, and publishes a new snapshot after every change.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use persona_core::analysis::recorder::item_windows;
use persona_core::analysis::rules::ItemKind;
use persona_core::analysis::snapshot::{AnalysisConfig, RuleInput, snapshot_details};
use persona_core::template::{self, Format, TemplateError};
use persona_core::validate::{Problem, ensure_valid};
use persona_core::{Dialect, PersonaDefinition, ddl};
use tokio::sync::{mpsc, watch};

use super::{
    Command, ConnectionState, ExportFormat, Job, Level, MAX_NOTICES, Notice, ProvisionPlan,
    RegistryStatus, Repaint, SelectedPersona, Snapshot, TemplateCard, TestState, WorkloadView,
};
use crate::db::{Database, DbError, redact};
use crate::provision::{ProvisionError, ProvisionOptions, plan, provision};
use crate::registry::{
    Registry, RegistryError, SavedConnection, SecretRef, strip_password, with_password,
};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum ControlError {
    #[error("the registry is not available: {0}")]
    RegistryUnavailable(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Export(#[from] template::ExportError),
    #[error("`{origin}` is not a valid persona ({} error(s))", errors(.problems))]
    Invalid {
        origin: String,
        problems: Vec<Problem>,
    },
    #[error("{}: unknown persona file type (expected .toml or .json)", .0.display())]
    UnknownFileType(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no connection named `{0}`")]
    UnknownConnection(String),
    #[error("connection `{0}` needs a password: enter it when asked")]
    PasswordNeeded(String),
    #[error("environment variable ${0} (the connection's password) is not set")]
    MissingEnv(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Provision(Box<ProvisionError>),
    #[error("analysing capture `{0}` stopped unexpectedly")]
    AnalysisStopped(String),
}

impl From<ProvisionError> for ControlError {
    fn from(e: ProvisionError) -> Self {
        ControlError::Provision(Box::new(e))
    }
}

fn errors(problems: &[Problem]) -> usize {
    problems
        .iter()
        .filter(|p| p.severity == persona_core::validate::Severity::Error)
        .count()
}

impl ControlError {
    /// Detail lines shown under the message.
    fn detail(&self) -> Vec<String> {
        match self {
            ControlError::Invalid { problems, .. } => {
                problems.iter().map(ToString::to_string).collect()
            }
            _ => Vec::new(),
        }
    }
}

type Outcome = Result<String, ControlError>;

/// State shared by the command loop and the jobs it spawns.
struct Shared {
    state: Mutex<Snapshot>,
    publisher: watch::Sender<Arc<Snapshot>>,
    repaint: Repaint,
    next_id: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        // A panic while holding the lock leaves a consistent snapshot (updates are plain
        // assignments), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Change the state, publish it and ask for a repaint.
    fn update(&self, change: impl FnOnce(&mut Snapshot)) {
        let published = {
            let mut state = self.lock();
            change(&mut state);
            state.revision += 1;
            Arc::new(state.clone())
        };
        self.publisher.send_replace(published);
        (self.repaint)();
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn notify(&self, level: Level, text: String, detail: Vec<String>) {
        let id = self.id();
        self.update(|s| {
            s.notices.push(Notice {
                id,
                level,
                text,
                detail,
            });
            let excess = s.notices.len().saturating_sub(MAX_NOTICES);
            s.notices.drain(..excess);
        });
    }

    fn report(&self, outcome: Outcome) {
        match outcome {
            Ok(text) if text.is_empty() => {}
            Ok(text) => self.notify(Level::Success, text, Vec::new()),
            Err(e) => {
                let detail = e.detail();
                self.notify(Level::Error, e.to_string(), detail);
            }
        }
    }

    /// Register a job; it is removed when the guard drops.
    fn job(self: &Arc<Self>, label: String) -> JobGuard {
        let id = self.id();
        self.update(|s| s.jobs.push(Job { id, label }));
        JobGuard {
            shared: Arc::clone(self),
            id,
        }
    }
}

struct JobGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        let id = self.id;
        self.shared.update(|s| s.jobs.retain(|j| j.id != id));
    }
}

/// The command loop: open the registry, then run commands until every sender is gone.
pub(super) async fn run(
    registry_url: Option<String>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    publisher: watch::Sender<Arc<Snapshot>>,
    repaint: Repaint,
) {
    let shared = Arc::new(Shared {
        state: Mutex::new(Snapshot::default()),
        publisher,
        repaint,
        next_id: AtomicU64::new(0),
    });
    let templates = load_templates(&shared);
    shared.update(|s| s.templates = Arc::new(templates));
    let registry = match Registry::open(registry_url.as_deref()).await {
        Ok(registry) => {
            let location = registry.location().to_owned();
            shared.update(|s| s.registry = RegistryStatus::Ready { location });
            if let Err(e) = refresh(&shared, &registry).await {
                shared.report(Err(e));
            }
            Ok(registry)
        }
        Err(e) => {
            let text = e.to_string();
            shared.update(|s| s.registry = RegistryStatus::Failed(text.clone()));
            Err(text)
        }
    };
    while let Some(command) = commands.recv().await {
        let outcome = match &registry {
            Ok(registry) => handle(&shared, registry, command).await,
            Err(reason) => Err(ControlError::RegistryUnavailable(reason.clone())),
        };
        shared.report(outcome);
    }
}

fn load_templates(shared: &Shared) -> Vec<TemplateCard> {
    let mut cards = Vec::new();
    for builtin in template::builtin() {
        match builtin.parse() {
            Ok(definition) => cards.push(TemplateCard {
                slug: builtin.slug.to_owned(),
                definition: Arc::new(definition),
            }),
            Err(e) => shared.notify(Level::Error, e.to_string(), Vec::new()),
        }
    }
    cards
}

/// Re-read personas and connections (keeping connection test results).
async fn refresh(shared: &Shared, registry: &Registry) -> Result<(), ControlError> {
    let personas = registry.list().await?;
    let saved = registry.connections().await?;
    shared.update(|s| {
        s.personas = personas;
        let old = std::mem::take(&mut s.connections);
        s.connections = saved
            .into_iter()
            .map(|saved| {
                let test = old
                    .iter()
                    .find(|c| c.saved.connection_id == saved.connection_id)
                    .map(|c| c.test.clone())
                    .unwrap_or_default();
                ConnectionState {
                    dialect: Dialect::from_url(&saved.url),
                    saved,
                    test,
                }
            })
            .collect();
    });
    Ok(())
}

/// Load `persona` (latest version and history) as the selection.
async fn select(shared: &Shared, registry: &Registry, persona: &str) -> Result<(), ControlError> {
    let definition = registry.get(persona, None).await?;
    let history = registry.history(&definition.persona_id).await?;
    // An unreadable layout is dropped (the canvas lays the tables out afresh), not an error.
    let layout = match registry.layout(&definition.persona_id).await {
        Ok(stored) => stored.map(|l| Arc::new(l.layout)),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    };
    shared.update(|s| {
        s.selected = Some(SelectedPersona {
            definition: Arc::new(definition),
            history,
            layout,
        });
    });
    Ok(())
}

/// Fail with every problem when `persona` has errors for any dialect.
fn check(persona: &PersonaDefinition, origin: &str) -> Result<(), ControlError> {
    ensure_valid(persona, &Dialect::ALL, origin)
        .map(|_warnings| ())
        .map_err(|e| ControlError::Invalid {
            origin: e.origin,
            problems: e.problems,
        })
}

async fn handle(shared: &Arc<Shared>, registry: &Registry, command: Command) -> Outcome {
    match command {
        Command::Refresh => {
            refresh(shared, registry).await?;
            Ok(String::new())
        }
        Command::CreateFromTemplate { slug, name } => {
            let mut persona = template::load_builtin(&slug)?;
            persona.name.clone_from(&name);
            check(&persona, &format!("templates/{slug}.toml"))?;
            let stored = registry
                .create(&persona, &format!("created from template `{slug}`"))
                .await?;
            refresh(shared, registry).await?;
            select(shared, registry, &stored.persona_id).await?;
            Ok(format!("Created persona `{name}` from template `{slug}`"))
        }
        Command::Duplicate { persona, name } => {
            let mut copy = registry.get(&persona, None).await?;
            let from = copy.name.clone();
            copy.name.clone_from(&name);
            copy.persona_id.clear();
            registry
                .create(&copy, &format!("duplicated from `{from}`"))
                .await?;
            refresh(shared, registry).await?;
            Ok(format!("Duplicated `{from}` as `{name}`"))
        }
        Command::Rename { persona, name } => {
            let mut current = registry.get(&persona, None).await?;
            let from = std::mem::replace(&mut current.name, name.clone());
            let stored = registry
                .update(
                    &current.persona_id,
                    &current,
                    &format!("renamed from `{from}`"),
                )
                .await?;
            refresh(shared, registry).await?;
            reselect(shared, registry, &stored.persona_id).await?;
            Ok(format!("Renamed `{from}` to `{name}`"))
        }
        Command::Delete { persona } => {
            let current = registry.get(&persona, None).await?;
            let versions = registry.delete(&current.persona_id).await?;
            refresh(shared, registry).await?;
            shared.update(|s| {
                if s.selected
                    .as_ref()
                    .is_some_and(|sel| sel.definition.persona_id == current.persona_id)
                {
                    s.selected = None;
                }
            });
            Ok(format!(
                "Deleted persona `{}` ({versions} version(s))",
                current.name
            ))
        }
        Command::Select { persona } => {
            match persona {
                Some(persona) => select(shared, registry, &persona).await?,
                None => shared.update(|s| s.selected = None),
            }
            Ok(String::new())
        }
        Command::Restore { persona, version } => {
            let stored = registry.restore(&persona, version).await?;
            refresh(shared, registry).await?;
            select(shared, registry, &stored.persona_id).await?;
            Ok(format!(
                "`{}` is now version {}, equal to version {version}",
                stored.name, stored.version
            ))
        }
        Command::Save { definition, note } => {
            if let Err(e) = check(&definition, &definition.name) {
                if let ControlError::Invalid { problems, .. } = &e {
                    let problems = problems.clone();
                    shared.update(|s| s.save_problems = problems);
                }
                return Err(e);
            }
            let stored = registry.save(&definition, &note).await?;
            shared.update(|s| s.save_problems.clear());
            refresh(shared, registry).await?;
            select(shared, registry, &stored.persona_id).await?;
            Ok(format!(
                "Saved `{}` as version {}",
                stored.name, stored.version
            ))
        }
        Command::SaveLayout { persona, layout } => {
            let stored = registry.save_layout(&persona, &layout).await?;
            shared.update(|s| {
                if let Some(sel) = s
                    .selected
                    .as_mut()
                    .filter(|sel| sel.definition.persona_id == stored.persona_id)
                {
                    sel.layout = Some(Arc::new(stored.layout));
                }
            });
            Ok(String::new())
        }
        Command::Import { path, name } => {
            let mut persona = read_persona_file(&path)?;
            if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
                persona.name = name;
            }
            let origin = path.display().to_string();
            check(&persona, &origin)?;
            persona.persona_id.clear();
            let stored = registry
                .create(&persona, &format!("imported from {origin}"))
                .await?;
            refresh(shared, registry).await?;
            Ok(format!("Imported `{}` from {origin}", stored.name))
        }
        Command::Export {
            persona,
            version,
            format,
            path,
        } => {
            let definition = registry.get(&persona, version).await?;
            let text = export_text(&definition, format)?;
            std::fs::write(&path, text).map_err(|source| ControlError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(format!(
                "Exported `{}` v{} as {} to {}",
                definition.name,
                definition.version,
                format.label(),
                path.display()
            ))
        }
        Command::AddConnection { name, url, secret } => {
            let (url, password) = strip_password(url.trim());
            let secret = match (password.is_some(), secret) {
                (true, SecretRef::None) => SecretRef::Prompt,
                (_, secret) => secret,
            };
            if Dialect::from_url(&url).is_none() {
                return Err(DbError::UnsupportedUrl(redact(&url)).into());
            }
            registry.add_connection(&name, &url, secret).await?;
            refresh(shared, registry).await?;
            let note = if password.is_some() {
                " (the password was removed from the URL and is never stored)"
            } else {
                ""
            };
            Ok(format!("Saved connection `{name}`{note}"))
        }
        Command::RemoveConnection { name } => {
            registry.delete_connection(&name).await?;
            refresh(shared, registry).await?;
            Ok(format!("Removed connection `{name}`"))
        }
        Command::TestConnection { name, password } => {
            let saved = connection(registry, &name).await?;
            let url = resolve_url(&saved, password.as_deref())?;
            set_test(shared, &saved.connection_id, TestState::Running);
            let shared = Arc::clone(shared);
            tokio::spawn(async move {
                let _job = shared.job(format!("Testing `{name}`"));
                let result = match Database::connect(&url).await {
                    Ok(db) => {
                        let probe = db.execute("SELECT 1").await;
                        db.close().await;
                        probe.map(|_| ())
                    }
                    Err(e) => Err(e),
                };
                let state = match result {
                    Ok(()) => TestState::Ok,
                    Err(e) => TestState::Failed(e.to_string()),
                };
                set_test(&shared, &saved.connection_id, state);
            });
            Ok(String::new())
        }
        Command::Introspect {
            connection: name,
            persona_name,
            password,
        } => {
            let saved = connection(registry, &name).await?;
            let url = resolve_url(&saved, password.as_deref())?;
            let shared = Arc::clone(shared);
            let registry = registry.clone();
            tokio::spawn(async move {
                let _job = shared.job(format!("Introspecting `{name}`"));
                let outcome = introspect_into(&registry, &url, &saved, &persona_name).await;
                if outcome.is_ok()
                    && let Err(e) = refresh(&shared, &registry).await
                {
                    shared.report(Err(e));
                }
                shared.report(outcome);
            });
            Ok(String::new())
        }
        Command::PlanProvision {
            persona,
            connection: name,
        } => {
            let saved = connection(registry, &name).await?;
            let definition = registry.get(&persona, None).await?;
            let dialect = Dialect::from_url(&saved.url)
                .ok_or_else(|| DbError::UnsupportedUrl(redact(&saved.url)))?;
            let statements = plan(&definition.initial_schema, dialect);
            shared.update(|s| {
                s.provision_plan = Some(ProvisionPlan {
                    persona: definition.name.clone(),
                    connection: name,
                    dialect,
                    statements,
                });
            });
            Ok(String::new())
        }
        Command::CancelProvision => {
            shared.update(|s| s.provision_plan = None);
            Ok(String::new())
        }
        Command::Provision {
            persona,
            connection: name,
            password,
        } => {
            let saved = connection(registry, &name).await?;
            let url = resolve_url(&saved, password.as_deref())?;
            let definition = registry.get(&persona, None).await?;
            shared.update(|s| s.provision_plan = None);
            let shared = Arc::clone(shared);
            tokio::spawn(async move {
                let _job = shared.job(format!("Provisioning `{}` into `{name}`", definition.name));
                let outcome = async {
                    let db = Database::connect(&url).await?;
                    let result =
                        provision(&db, &definition.initial_schema, ProvisionOptions::default())
                            .await;
                    db.close().await;
                    let report = result?;
                    Ok(format!(
                        "Provisioned `{}` into `{name}`: {} table(s), {} statement(s)",
                        definition.name,
                        report.tables.len(),
                        report.statements.len()
                    ))
                }
                .await;
                shared.report(outcome);
            });
            Ok(String::new())
        }
        Command::DismissNotice { id } => {
            shared.update(|s| s.notices.retain(|n| n.id != id));
            Ok(String::new())
        }
        Command::RefreshCaptures => {
            let captures = registry.list_captures().await?;
            shared.update(|s| s.captures = captures);
            Ok(String::new())
        }
        Command::LoadCapture {
            name,
            schema_persona,
        } => {
            let shared = Arc::clone(shared);
            let registry = registry.clone();
            tokio::spawn(async move {
                let _job = shared.job(format!("Analysing capture `{name}`"));
                match load_workload(&registry, &name, schema_persona).await {
                    Ok(view) => {
                        let captures = registry.list_captures().await;
                        shared.update(|s| {
                            if let Ok(captures) = captures {
                                s.captures = captures;
                            }
                            s.workload = Some(Arc::new(view));
                        });
                    }
                    Err(e) => shared.report(Err(e)),
                }
            });
            Ok(String::new())
        }
    }
}

/// Read the capture `name` and analyse it like `persona analyze --source proxy` does (rules
/// over filter columns), with the schema of `schema_persona` when given.
async fn load_workload(
    registry: &Registry,
    name: &str,
    schema_persona: Option<String>,
) -> Result<WorkloadView, ControlError> {
    let stored = registry.load_capture(name).await?;
    let schema = match &schema_persona {
        Some(persona) => Some(registry.get(persona, None).await?.initial_schema),
        None => None,
    };
    let analysed = tokio::task::spawn_blocking(move || {
        let config = AnalysisConfig {
            rule_items: ItemKind::FilterColumn,
            ..AnalysisConfig::default()
        };
        let windows = item_windows(
            &stored.store,
            &stored.windows,
            config.rule_items,
            schema.as_ref(),
        );
        let details = snapshot_details(
            &stored.store,
            schema.as_ref(),
            RuleInput::Windows(&windows),
            &[],
            &config,
        );
        (stored.info, details)
    })
    .await;
    let (info, details) = analysed.map_err(|_| ControlError::AnalysisStopped(name.to_owned()))?;
    Ok(WorkloadView {
        info,
        schema_persona,
        results: details.results,
        windows: details.windows,
    })
}

/// Select `persona_id` again if it was selected (its name or version changed).
async fn reselect(
    shared: &Shared,
    registry: &Registry,
    persona_id: &str,
) -> Result<(), ControlError> {
    let selected = shared
        .lock()
        .selected
        .as_ref()
        .is_some_and(|s| s.definition.persona_id == persona_id);
    if selected {
        select(shared, registry, persona_id).await?;
    }
    Ok(())
}

fn set_test(shared: &Shared, connection_id: &str, state: TestState) {
    shared.update(|s| {
        if let Some(c) = s
            .connections
            .iter_mut()
            .find(|c| c.saved.connection_id == connection_id)
        {
            c.test = state;
        }
    });
}

async fn connection(registry: &Registry, name: &str) -> Result<SavedConnection, ControlError> {
    registry
        .connections()
        .await?
        .into_iter()
        .find(|c| c.name == name || c.connection_id == name)
        .ok_or_else(|| ControlError::UnknownConnection(name.to_owned()))
}

/// The URL to connect with: the saved one plus the password its secret reference names.
fn resolve_url(saved: &SavedConnection, password: Option<&str>) -> Result<String, ControlError> {
    match &saved.secret {
        SecretRef::None | SecretRef::Pgpass => Ok(saved.url.clone()),
        SecretRef::Env(var) => match std::env::var(var) {
            Ok(pw) => Ok(with_password(&saved.url, &pw)),
            Err(_) => Err(ControlError::MissingEnv(var.clone())),
        },
        SecretRef::Prompt => match password {
            Some(pw) => Ok(with_password(&saved.url, pw)),
            None => Err(ControlError::PasswordNeeded(saved.name.clone())),
        },
    }
}

async fn introspect_into(
    registry: &Registry,
    url: &str,
    saved: &SavedConnection,
    persona_name: &str,
) -> Outcome {
    let db = Database::connect(url).await?;
    let result = crate::introspect::introspect_with_warnings(&db).await;
    let dialect = db.dialect();
    db.close().await;
    let introspection = result?;
    let tables = introspection.schema.tables.len();
    let persona = PersonaDefinition {
        persona_id: String::new(),
        name: persona_name.to_owned(),
        description: format!("Introspected from {}", saved.name),
        version: 1,
        tags: vec!["introspected".to_owned(), dialect.as_str().to_owned()],
        performance_profile: persona_core::PerformanceProfile::default(),
        indexing_strategy: persona_core::IndexingStrategy::default(),
        access_patterns: Vec::new(),
        initial_schema: introspection.schema,
        data_hints: std::collections::BTreeMap::new(),
    };
    // What the database holds is saved even when the validator objects (as the CLI does).
    registry
        .create(&persona, &format!("introspected from {}", saved.name))
        .await?;
    Ok(format!(
        "Introspected `{}` into persona `{persona_name}` ({tables} table(s))",
        saved.name
    ))
}

fn read_persona_file(path: &Path) -> Result<PersonaDefinition, ControlError> {
    let format =
        Format::from_path(path).ok_or_else(|| ControlError::UnknownFileType(path.to_owned()))?;
    let source = std::fs::read_to_string(path).map_err(|source| ControlError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(template::parse_persona(
        &source,
        &path.display().to_string(),
        format,
    )?)
}

/// A persona as the text of an export file.
fn export_text(
    definition: &PersonaDefinition,
    format: ExportFormat,
) -> Result<String, ControlError> {
    Ok(match format {
        ExportFormat::Toml => template::export(definition, Format::Toml)?,
        ExportFormat::Json => template::export(definition, Format::Json)?,
        ExportFormat::Sql(dialect) => {
            ddl::script(&ddl::create_schema(&definition.initial_schema, dialect))
        }
    })
}
