//! `persona analyze`: capture queries from `pg_stat_statements`, MySQL/MariaDB statement digests
//! or a log file (PostgreSQL stderr/csvlog, MySQL slow log, JSON lines), or read a capture the
//! proxy saved in the registry, run them through the pattern store and the analysis snapshot, and print a readable report (top patterns with
//! latency percentiles, column usage, co-access rules, emerging relationships, volume trends,
//! warnings and what the source skipped) or `DataAnalysisResults` as JSON. Long log files show a
//! progress line on stderr when it is a terminal.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use persona_core::analysis::recorder::item_windows;
use persona_core::analysis::relationships::DirectionBasis;
use persona_core::analysis::rules::{ItemKind, MiningConfig, Windows};
use persona_core::analysis::snapshot::{
    AnalysisConfig, RuleInput, SnapshotDetails, snapshot_details,
};
use persona_core::analysis::store::{PatternStore, StoreConfig};
use persona_core::analysis::trends::VolumeSample;
use persona_core::capture::{LogFormat, LogOptions};
use persona_core::model::{CaptureEvent, ColumnRole, DataAnalysisResults};
use persona_core::{Dialect, Schema};
use persona_engine::Database;
use persona_engine::capture::files::{LogReadReport, Progress, read_log_with};
use persona_engine::capture::mysql_digest::{MysqlDigest, MysqlDigestOptions};
use persona_engine::capture::pg_stat_statements::{
    PgStatStatements, PgStatStatementsOptions, StatsPollReport,
};
use persona_engine::capture::volume::{VolumeOptions, sample_volumes};
use persona_engine::introspect::introspect_with_warnings;
use persona_engine::registry::CaptureInfo;
use serde::Serialize;

use super::Context;
use super::capture::{input_error, source_name as capture_source_name};
use super::error::InvalidInput;
use super::output::{emit, emit_json, safe_url, table};

const ANALYZE_EXAMPLES: &str = "\
Examples:
  persona analyze --source pg-stat-statements --url postgres://me@db/shop
  persona analyze --source pg-stat-statements --url postgres://me@db/shop --poll 10 --duration 300
  persona analyze --source mysql-digest --url mysql://me@db/shop --json
  persona analyze --source proxy --schema-url postgres://me@db/shop
  persona analyze --source proxy --capture staging --json
  persona analyze --log /var/log/postgresql/postgresql-15-main.log --schema-url postgres://me@db/shop
  persona analyze --log slow.log --format mysql-slow --database shop --top 10

pg_stat_statements must be preloaded (shared_preload_libraries) and created in the database
(CREATE EXTENSION pg_stat_statements, or --create-extension). MariaDB needs
performance_schema = ON at server start. Without --poll, database sources report their totals
since the statistics were last reset; with --poll, only what ran while polling (Ctrl-C stops
polling early and reports). --source proxy reads what `persona proxy` saved in the registry
(--capture NAME, default `proxy`; `persona capture list` shows them).";

/// Which database statistics to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// PostgreSQL's pg_stat_statements view
    PgStatStatements,
    /// MySQL/MariaDB performance_schema.events_statements_summary_by_digest
    MysqlDigest,
    /// A capture `persona proxy` saved in the registry (see --capture)
    Proxy,
}

/// Log file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// PostgreSQL stderr log (any log_line_prefix)
    PgStderr,
    /// PostgreSQL csvlog
    PgCsv,
    /// MySQL/MariaDB slow query log
    MysqlSlow,
    /// One JSON capture event per line
    Jsonl,
}

impl From<FormatArg> for LogFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::PgStderr => LogFormat::PgStderr,
            FormatArg::PgCsv => LogFormat::PgCsv,
            FormatArg::MysqlSlow => LogFormat::MysqlSlow,
            FormatArg::Jsonl => LogFormat::Jsonl,
        }
    }
}

/// What a co-access rule is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleItemsArg {
    /// Tables a session touches
    Tables,
    /// Columns a session filters or joins on (table.column)
    Columns,
}

/// `persona analyze` arguments.
#[derive(Debug, Args)]
#[command(after_help = ANALYZE_EXAMPLES)]
pub struct AnalyzeArgs {
    /// Read statement statistics from a database (needs --url), or a capture the proxy saved
    #[arg(
        long,
        value_enum,
        conflicts_with = "log",
        required_unless_present = "log"
    )]
    pub source: Option<SourceArg>,
    /// The database to read statistics from (also introspected for relationships and volumes
    /// unless --schema-url or --no-schema is given)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// --source proxy: the capture to read (default: proxy)
    #[arg(long, value_name = "NAME")]
    pub capture: Option<String>,
    /// Read a log file instead of a database
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The log's format (detected from its first lines when omitted)
    #[arg(long, value_enum, requires = "log")]
    pub format: Option<FormatArg>,
    /// Introspect this database for foreign keys (emerging relationships) and table volumes
    #[arg(long, value_name = "URL")]
    pub schema_url: Option<String>,
    /// Do not introspect any schema (no relationships, no volumes)
    #[arg(long, conflicts_with = "schema_url")]
    pub no_schema: bool,
    /// Poll the database source every SECONDS and analyse only what runs meanwhile
    #[arg(long, value_name = "SECONDS", value_parser = seconds, conflicts_with = "log")]
    pub poll: Option<Duration>,
    /// Stop polling after SECONDS (default: at Ctrl-C)
    #[arg(long, value_name = "SECONDS", value_parser = seconds, requires = "poll")]
    pub duration: Option<Duration>,
    /// Patterns listed in the report (the top by total time)
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// pg_stat_statements: CREATE EXTENSION IF NOT EXISTS when missing
    #[arg(long)]
    pub create_extension: bool,
    /// mysql-digest: enable the statements_digest consumer when disabled
    #[arg(long)]
    pub enable_consumers: bool,
    /// Statistics of every database (pg_stat_statements) or schema (digests), not just the
    /// one in the URL
    #[arg(long)]
    pub all_databases: bool,
    /// Keep only statements of this database (logs) or schema (digests)
    #[arg(long, value_name = "NAME")]
    pub database: Option<String>,
    /// Logs: keep only statements run by this user
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// PostgreSQL stderr logs: the server's log_line_prefix (detected when omitted)
    #[arg(long, value_name = "PREFIX")]
    pub log_line_prefix: Option<String>,
    /// Keep utility statements (DDL, SET, transaction control) from database sources
    #[arg(long)]
    pub include_utility: bool,
    /// What co-access rules are made of
    #[arg(long, value_enum, default_value_t = RuleItemsArg::Columns)]
    pub rule_items: RuleItemsArg,
    /// Minimum support of a rule (fraction of session windows)
    #[arg(long, value_name = "FRACTION", default_value_t = 0.01)]
    pub min_support: f64,
    /// Minimum confidence of a rule
    #[arg(long, value_name = "FRACTION", default_value_t = 0.5)]
    pub min_confidence: f64,
    /// Print DataAnalysisResults (plus what the source skipped) as JSON
    #[arg(long)]
    pub json: bool,
}

fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !v.is_finite() || v <= 0.0 || v > 31_536_000.0 {
        return Err(format!(
            "`{s}`: expected a positive number of seconds (at most a year)"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Session-tagged events kept for co-access rules; beyond this the rest are counted only.
const MAX_SESSION_EVENTS: usize = 2_000_000;

/// What the capture produced.
struct Collected {
    store: PatternStore,
    session_events: Vec<CaptureEvent>,
    session_events_dropped: u64,
    /// Co-access windows of pattern fingerprints (a stored capture's).
    windows: Option<Windows>,
    volumes: Vec<VolumeSample>,
    capture: CaptureReport,
    notes: Vec<String>,
}

enum CaptureReport {
    Log(Box<LogReadReport>),
    Stats {
        source: &'static str,
        target: String,
        report: Box<StatsPollReport>,
    },
    Stored {
        info: Box<CaptureInfo>,
        registry: String,
    },
}

impl Collected {
    fn new(capture: CaptureReport) -> Self {
        Collected {
            store: PatternStore::new(StoreConfig::default()),
            session_events: Vec::new(),
            session_events_dropped: 0,
            windows: None,
            volumes: Vec::new(),
            capture,
            notes: Vec::new(),
        }
    }
}

/// Run `persona analyze`.
pub async fn run(context: &Context, args: AnalyzeArgs) -> anyhow::Result<()> {
    check(&args)?;
    let schema_url = if args.no_schema {
        None
    } else {
        args.schema_url.clone().or_else(|| args.url.clone())
    };
    let mut notes = Vec::new();
    let (schema_db, schema) = match &schema_url {
        Some(url) => open_schema(url, &mut notes).await?,
        None => (None, None),
    };
    let collected = match (args.source, &args.log) {
        (_, Some(path)) => from_log(&args, path.clone(), schema_db.as_ref()).await,
        (Some(SourceArg::PgStatStatements), None) => {
            from_pg_stat_statements(&args, schema_db.as_ref()).await
        }
        (Some(SourceArg::MysqlDigest), None) => from_mysql_digest(&args, schema_db.as_ref()).await,
        (Some(SourceArg::Proxy), None) => from_capture(context, &args, schema_db.as_ref()).await,
        (None, None) => unreachable!("clap requires --source or --log"),
    };
    if let Some(db) = &schema_db {
        db.close().await;
    }
    let mut collected = collected?;
    notes.append(&mut collected.notes);
    collected.notes = notes;

    let config = AnalysisConfig {
        top_queries: args.top,
        rule_items: match args.rule_items {
            RuleItemsArg::Tables => ItemKind::Table,
            RuleItemsArg::Columns => ItemKind::FilterColumn,
        },
        mining: MiningConfig {
            min_support: args.min_support,
            min_confidence: args.min_confidence,
            ..MiningConfig::default()
        },
        ..AnalysisConfig::default()
    };
    let stored_windows = collected
        .windows
        .as_ref()
        .map(|w| item_windows(&collected.store, w, config.rule_items, schema.as_ref()));
    let rules = if let Some(windows) = &stored_windows {
        RuleInput::Windows(windows)
    } else if collected.session_events.is_empty() {
        RuleInput::None
    } else {
        RuleInput::Events(&collected.session_events)
    };
    let details = snapshot_details(
        &collected.store,
        schema.as_ref(),
        rules,
        &collected.volumes,
        &config,
    );
    if args.json {
        emit_json(&JsonReport {
            results: &details.results,
            capture: capture_json(&collected),
        })
    } else {
        emit(&render(&collected, &details, schema.is_some(), args.top))
    }
}

/// Argument combinations clap cannot express.
fn check(args: &AnalyzeArgs) -> anyhow::Result<()> {
    if args.capture.is_some() && args.source != Some(SourceArg::Proxy) {
        return Err(InvalidInput::new("--capture goes with --source proxy").into());
    }
    let Some(source) = args.source else {
        return Ok(());
    };
    if source == SourceArg::Proxy {
        let unused = [
            (
                args.url.is_some(),
                "--url (give --schema-url for relationships and volumes)",
            ),
            (args.poll.is_some(), "--poll"),
            (args.database.is_some(), "--database"),
            (args.all_databases, "--all-databases"),
            (args.create_extension, "--create-extension"),
            (args.enable_consumers, "--enable-consumers"),
        ];
        if let Some((_, flag)) = unused.iter().find(|(given, _)| *given) {
            return Err(InvalidInput::new(format!(
                "{flag} does not apply to --source proxy, which reads a capture saved in the \
                 registry"
            ))
            .into());
        }
        return Ok(());
    }
    if source == SourceArg::PgStatStatements && args.database.is_some() {
        return Err(InvalidInput::new(
            "--database does not apply to pg-stat-statements: name the database in --url (or \
             read them all with --all-databases)",
        )
        .into());
    }
    let Some(url) = &args.url else {
        return Err(InvalidInput::new(format!(
            "--source {} needs --url (the database to read statistics from)",
            source_name(source)
        ))
        .into());
    };
    let want = match source {
        SourceArg::PgStatStatements => Dialect::Postgres,
        SourceArg::MysqlDigest => Dialect::Mysql,
        SourceArg::Proxy => return Ok(()),
    };
    match Dialect::from_url(url) {
        Some(d) if d == want => Ok(()),
        _ => Err(InvalidInput::new(format!(
            "--source {} reads a {want} database, but --url is {}",
            source_name(source),
            safe_url(url)
        ))
        .into()),
    }
}

fn source_name(source: SourceArg) -> &'static str {
    match source {
        SourceArg::PgStatStatements => "pg-stat-statements",
        SourceArg::MysqlDigest => "mysql-digest",
        SourceArg::Proxy => "proxy",
    }
}

/// Read a capture the proxy saved: its pattern store and co-access windows.
async fn from_capture(
    context: &Context,
    args: &AnalyzeArgs,
    schema_db: Option<&Database>,
) -> anyhow::Result<Collected> {
    let name = args.capture.as_deref().unwrap_or("proxy");
    let registry = context.registry().await?;
    let loaded = registry.load_capture(name).await;
    let location = registry.location().to_owned();
    registry.close().await;
    let stored = loaded.map_err(input_error)?;
    let mut collected = Collected::new(CaptureReport::Stored {
        info: Box::new(stored.info),
        registry: location,
    });
    collected.store = stored.store;
    collected.windows = Some(stored.windows);
    if let Some(db) = schema_db {
        sample_into(db, &mut collected).await;
    }
    Ok(collected)
}

async fn open_schema(
    url: &str,
    notes: &mut Vec<String>,
) -> anyhow::Result<(Option<Database>, Option<Schema>)> {
    let shown = safe_url(url);
    let db = Database::connect(url)
        .await
        .with_context(|| format!("connecting to {shown} to read its schema"))?;
    match introspect_with_warnings(&db).await {
        Ok(found) => {
            for w in &found.warnings {
                notes.push(format!("schema: {w}"));
            }
            Ok((Some(db), Some(found.schema)))
        }
        Err(e) => {
            notes.push(format!(
                "could not read the schema of {shown} ({e}): no emerging relationships"
            ));
            Ok((Some(db), None))
        }
    }
}

fn log_options(args: &AnalyzeArgs) -> LogOptions {
    LogOptions {
        log_line_prefix: args.log_line_prefix.clone(),
        database: args.database.clone(),
        user: args.user.clone(),
        ..LogOptions::default()
    }
}

async fn from_log(
    args: &AnalyzeArgs,
    path: PathBuf,
    schema_db: Option<&Database>,
) -> anyhow::Result<Collected> {
    let options = log_options(args);
    let format = args.format.map(LogFormat::from);
    let total = std::fs::metadata(&path).map_or(0, |m| m.len());
    let mut progress = ProgressLine::new(total);
    let shown = path.display().to_string();
    let task = tokio::task::spawn_blocking(move || {
        let mut store = PatternStore::new(StoreConfig::default());
        let mut sessions = Vec::new();
        let mut dropped = 0u64;
        let report = read_log_with(
            &path,
            format,
            &options,
            |e| {
                store.record(&e);
                if e.session.is_some() {
                    if sessions.len() < MAX_SESSION_EVENTS {
                        sessions.push(e);
                    } else {
                        dropped += 1;
                    }
                }
            },
            |p| progress.update(p),
        );
        progress.finish();
        (store, sessions, dropped, report)
    });
    let (store, session_events, dropped, report) =
        task.await.context("the log reader stopped unexpectedly")?;
    let report = report.map_err(|e| match e {
        persona_engine::capture::files::LogReadError::UnknownFormat { .. } => {
            anyhow::Error::new(InvalidInput::new(e.to_string()))
        }
        other => anyhow::Error::new(other),
    })?;
    let mut collected = Collected::new(CaptureReport::Log(Box::new(report)));
    collected.store = store;
    collected.session_events = session_events;
    collected.session_events_dropped = dropped;
    if let Some(db) = schema_db {
        sample_into(db, &mut collected).await;
    }
    if collected.store.is_empty() {
        collected.notes.push(format!(
            "{shown}: no statements found (see what was skipped below)"
        ));
    }
    Ok(collected)
}

/// A byte progress line on stderr (`reading [#######.......]  42%  120.0 MB of 285.3 MB`),
/// drawn only when stderr is a terminal and the file is large enough to wait for.
struct ProgressLine {
    enabled: bool,
    total: u64,
    /// The per-mille last drawn.
    drawn: Option<u64>,
}

impl ProgressLine {
    const WIDTH: u64 = 30;

    fn new(total: u64) -> Self {
        ProgressLine {
            enabled: std::io::stderr().is_terminal() && total >= 8 * 1024 * 1024,
            total,
            drawn: None,
        }
    }

    fn update(&mut self, p: Progress) {
        if !self.enabled {
            return;
        }
        let total = p.total_bytes.unwrap_or(self.total).max(1);
        let permille = p.bytes_read.min(total) * 1000 / total;
        if self.drawn == Some(permille) {
            return;
        }
        self.drawn = Some(permille);
        let filled = (permille * Self::WIDTH / 1000) as usize;
        eprint!(
            "\rreading [{}{}] {:>3}%  {} of {}",
            "#".repeat(filled),
            ".".repeat(Self::WIDTH as usize - filled),
            permille / 10,
            bytes(p.bytes_read),
            bytes(total)
        );
    }

    /// Clear the line.
    fn finish(&mut self) {
        if self.enabled && self.drawn.is_some() {
            eprint!("\r\x1b[2K");
        }
    }
}

async fn sample_into(db: &Database, collected: &mut Collected) {
    match sample_volumes(db, &VolumeOptions::default()).await {
        Ok(reading) => collected.volumes.extend(reading.samples()),
        Err(e) => {
            let note = format!("volume sampling failed: {e}");
            if !collected.notes.contains(&note) {
                collected.notes.push(note);
            }
        }
    }
}

/// The two database sources behind one face.
enum StatsSource {
    Pg(Box<PgStatStatements>),
    My(Box<MysqlDigest>),
}

impl StatsSource {
    async fn totals(&self) -> anyhow::Result<(Vec<CaptureEvent>, StatsPollReport)> {
        Ok(match self {
            StatsSource::Pg(s) => s.totals().await?,
            StatsSource::My(s) => s.totals().await?,
        })
    }

    async fn poll(&mut self) -> anyhow::Result<(Vec<CaptureEvent>, StatsPollReport)> {
        Ok(match self {
            StatsSource::Pg(s) => s.poll().await?,
            StatsSource::My(s) => s.poll().await?,
        })
    }
}

async fn from_pg_stat_statements(
    args: &AnalyzeArgs,
    schema_db: Option<&Database>,
) -> anyhow::Result<Collected> {
    let url = args.url.as_deref().unwrap_or_default();
    let shown = safe_url(url);
    let db = Database::connect(url).await?;
    let options = PgStatStatementsOptions {
        all_databases: args.all_databases,
        create_extension: args.create_extension,
        include_utility: args.include_utility,
        include_nested: false,
    };
    let result = match PgStatStatements::open(&db, options).await {
        Ok(source) => {
            let target = if args.all_databases {
                format!("{shown} (all databases)")
            } else {
                format!("{shown} (database {})", source.database())
            };
            collect_stats(
                args,
                StatsSource::Pg(Box::new(source)),
                "pg_stat_statements",
                target,
                schema_db,
            )
            .await
        }
        Err(e) => Err(anyhow::Error::new(e)),
    };
    db.close().await;
    result
}

async fn from_mysql_digest(
    args: &AnalyzeArgs,
    schema_db: Option<&Database>,
) -> anyhow::Result<Collected> {
    let url = args.url.as_deref().unwrap_or_default();
    let shown = safe_url(url);
    let db = Database::connect(url).await?;
    let options = MysqlDigestOptions {
        schema: args.database.clone(),
        all_schemas: args.all_databases,
        enable_consumers: args.enable_consumers,
        include_utility: args.include_utility,
        prepared_statements: None,
    };
    let result = match MysqlDigest::open(&db, options).await {
        Ok(source) => {
            let target = match source.schema() {
                Some(s) => format!("{shown} (schema {s})"),
                None => format!("{shown} (all schemas)"),
            };
            collect_stats(
                args,
                StatsSource::My(Box::new(source)),
                "performance_schema digests",
                target,
                schema_db,
            )
            .await
        }
        Err(e) => Err(anyhow::Error::new(e)),
    };
    db.close().await;
    result
}

async fn collect_stats(
    args: &AnalyzeArgs,
    mut source: StatsSource,
    name: &'static str,
    target: String,
    schema_db: Option<&Database>,
) -> anyhow::Result<Collected> {
    let Some(every) = args.poll else {
        let (events, report) = source.totals().await?;
        let mut collected = Collected::new(CaptureReport::Stats {
            source: name,
            target,
            report: Box::new(report),
        });
        collected.store.record_all(&events);
        if let Some(db) = schema_db {
            sample_into(db, &mut collected).await;
        }
        return Ok(collected);
    };

    let (_, baseline) = source.poll().await?;
    let mut collected = Collected::new(CaptureReport::Stats {
        source: name,
        target,
        report: Box::new(baseline),
    });
    if let Some(db) = schema_db {
        sample_into(db, &mut collected).await;
    }
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + d);
    let until = args.duration.map_or_else(
        || "until Ctrl-C".to_owned(),
        |d| format!("for {}", human_duration(d)),
    );
    eprintln!("polling {name} every {} {until}", human_duration(every));
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut polled: Option<StatsPollReport> = None;
    let mut round = 0u32;
    loop {
        let wait = deadline.map_or(every, |d| {
            every.min(d.saturating_duration_since(Instant::now()))
        });
        let interrupted = tokio::select! {
            () = tokio::time::sleep(wait) => false,
            _ = &mut ctrl_c => true,
        };
        let (events, report) = match source.poll().await {
            Ok(polled) => polled,
            // What was gathered so far is still worth a report.
            Err(e) => {
                eprintln!("polling stopped: {e:#}");
                collected
                    .notes
                    .push(format!("polling stopped after {round} poll(s): {e:#}"));
                break;
            }
        };
        round += 1;
        collected.store.record_all(&events);
        if let Some(db) = schema_db {
            sample_into(db, &mut collected).await;
        }
        eprintln!(
            "poll {round}: {} patterns active, {} calls{}",
            report.events,
            report.calls,
            if report.reset_detected() {
                " (statistics were reset)"
            } else {
                ""
            }
        );
        match &mut polled {
            Some(all) => all.absorb(&report),
            None => polled = Some(report),
        }
        let done = deadline.is_some_and(|d| Instant::now() >= d);
        if interrupted || done {
            break;
        }
    }
    if let (Some(report), CaptureReport::Stats { report: slot, .. }) =
        (polled, &mut collected.capture)
    {
        **slot = report;
    }
    Ok(collected)
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 120.0 {
        format!("{:.0} min", s / 60.0)
    } else if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

// ---------------------------------------------------------------------------------------------
// Output

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    results: &'a DataAnalysisResults,
    /// What the source read and skipped.
    capture: serde_json::Value,
}

fn capture_json(c: &Collected) -> serde_json::Value {
    let mut value = match &c.capture {
        CaptureReport::Log(r) => serde_json::json!({
            "source": "log",
            "path": r.path.as_ref().map(|p| p.display().to_string()),
            "format": r.format,
            "format_detected": r.format_detected,
            "log_line_prefix": r.log_line_prefix,
            "bytes": r.bytes,
            "lines": r.parse.lines,
            "events": r.parse.events,
            "skipped": r.parse.skipped,
            "warnings": r.parse.warnings,
        }),
        CaptureReport::Stats {
            source,
            target,
            report,
        } => serde_json::json!({
            "source": source,
            "target": target,
            "report": report,
        }),
        CaptureReport::Stored { info, registry } => serde_json::json!({
            "source": "registry",
            "registry": registry,
            "stored": info,
        }),
    };
    if let Some(obj) = value.as_object_mut() {
        obj.insert("patterns".into(), c.store.len().into());
        obj.insert("calls".into(), c.store.total_calls().into());
        obj.insert("session_events".into(), c.session_events.len().into());
        if let Some(windows) = &c.windows {
            obj.insert("windows".into(), windows.transactions.len().into());
        }
        obj.insert(
            "session_events_dropped".into(),
            c.session_events_dropped.into(),
        );
        obj.insert("notes".into(), c.notes.clone().into());
    }
    value
}

fn render(c: &Collected, d: &SnapshotDetails, have_schema: bool, top: usize) -> String {
    use std::fmt::Write as _;

    let r = &d.results;
    let mut out = String::new();
    let what = match &c.capture {
        CaptureReport::Log(report) => report
            .path
            .as_ref()
            .map_or_else(|| "log".to_owned(), |p| format!("log {}", p.display())),
        CaptureReport::Stats { source, target, .. } => format!("{source} of {target}"),
        CaptureReport::Stored { info, registry } => format!(
            "capture `{}` ({}) in the registry at {registry}",
            info.name,
            capture_source_name(info.source)
        ),
    };
    let _ = writeln!(
        out,
        "Analysis of {what}\n{} query patterns, {} calls\n",
        c.store.len(),
        c.store.total_calls()
    );

    // Top patterns.
    let shown = r.frequent_queries.len().min(top);
    let _ = writeln!(
        out,
        "Top patterns by total time ({shown} of {})",
        c.store.len()
    );
    if r.frequent_queries.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .frequent_queries
            .iter()
            .take(top)
            .enumerate()
            .map(|(i, q)| {
                vec![
                    format!("{}", i + 1),
                    q.calls.to_string(),
                    ms(q.total_ms),
                    ms(if q.calls == 0 {
                        0.0
                    } else {
                        q.total_ms / q.calls as f64
                    }),
                    ms(q.p50_ms),
                    ms(q.p95_ms),
                    ms(q.p99_ms),
                    q.rows.to_string(),
                    q.errors.to_string(),
                    excerpt(&q.normalized_sql, 90),
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &[
                "#",
                "calls",
                "total",
                "mean",
                "p50",
                "p95",
                "p99",
                "rows",
                "errors",
                "statement",
            ],
            &rows,
        )));
    }
    if matches!(c.capture, CaptureReport::Stats { .. }) {
        out.push_str(
            "  (percentiles of aggregated sources are over per-poll means, not single calls)\n",
        );
    }

    // Column usage.
    // Filters, joins and sorting say what indexes could serve; projections and writes are in
    // the JSON output.
    let mut usage: Vec<_> = r
        .column_usage
        .iter()
        .filter(|u| !matches!(u.role, ColumnRole::Projected | ColumnRole::Written))
        .collect();
    usage.sort_by(|a, b| {
        b.calls
            .cmp(&a.calls)
            .then_with(|| (&a.table, &a.column).cmp(&(&b.table, &b.column)))
    });
    let _ = writeln!(
        out,
        "\nColumn usage in filters, joins and sorting (most called)"
    );
    if usage.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let rows: Vec<Vec<String>> = usage
            .iter()
            .take(15)
            .map(|u| {
                vec![
                    format!("{}.{}", u.table, u.column),
                    role_name(u.role).to_owned(),
                    u.calls.to_string(),
                ]
            })
            .collect();
        out.push_str(&indent(&table(&["column", "role", "calls"], &rows)));
    }

    // Rules.
    let _ = writeln!(out, "\nCo-access rules ({} session windows)", d.windows);
    if r.rules.is_empty() {
        let why = if let Some(windows) = &c.windows {
            if windows.transactions.is_empty() {
                "  (none: the capture holds no session windows yet)\n"
            } else {
                "  (none above the thresholds)\n"
            }
        } else if c.session_events.is_empty() {
            "  (none: this source has no sessions; a log with session ids or a JSON-lines \
             capture gives rules)\n"
        } else {
            "  (none above the thresholds)\n"
        };
        out.push_str(why);
    } else {
        let rows: Vec<Vec<String>> = r
            .rules
            .iter()
            .take(15)
            .map(|rule| {
                vec![
                    format!(
                        "{{{}}} => {{{}}}",
                        rule.antecedent.join(", "),
                        rule.consequent.join(", ")
                    ),
                    format!("{:.3}", rule.support),
                    format!("{:.2}", rule.confidence),
                    format!("{:.2}", rule.lift),
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &["rule", "support", "confidence", "lift"],
            &rows,
        )));
    }

    // Emerging relationships.
    let _ = writeln!(out, "\nEmerging relationships (joins no foreign key backs)");
    if !have_schema {
        out.push_str("  (not checked: no schema; give --schema-url)\n");
    } else if d.relationships.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let rows: Vec<Vec<String>> = d
            .relationships
            .iter()
            .take(15)
            .map(|c| {
                let rel = &c.relationship;
                vec![
                    format!(
                        "{}({}) -> {}({})",
                        rel.from_table,
                        rel.from_columns.join(", "),
                        rel.to_table,
                        rel.to_columns.join(", ")
                    ),
                    rel.join_count.to_string(),
                    basis_name(c.basis).to_owned(),
                    if rel.types_compatible {
                        "yes".to_owned()
                    } else {
                        "NO".to_owned()
                    },
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &[
                "relationship",
                "joins",
                "direction from",
                "types compatible",
            ],
            &rows,
        )));
    }

    // Volumes.
    let _ = writeln!(out, "\nData volume");
    if d.trends.is_empty() {
        out.push_str("  (no samples: give --schema-url, or a database source)\n");
    } else {
        let rows: Vec<Vec<String>> = d
            .trends
            .iter()
            .map(|t| {
                vec![
                    t.table.clone(),
                    t.rows_now.to_string(),
                    t.bytes_now.map_or_else(|| "-".to_owned(), bytes),
                    t.rows_per_day
                        .map_or_else(|| "-".to_owned(), |v| format!("{v:+.0}")),
                    t.projection_text().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &["table", "rows", "size", "rows/day", "projection"],
            &rows,
        )));
    }

    // Warnings (single-sample volume notes collapsed into one line).
    let single = "one sample in the window; no trend yet";
    let single_count = r.warnings.iter().filter(|w| w.ends_with(single)).count();
    let mut warnings: Vec<String> = r
        .warnings
        .iter()
        .filter(|w| !w.ends_with(single))
        .cloned()
        .collect();
    if single_count > 0 {
        warnings.push(format!(
            "{single_count} table(s) sampled once: no growth trend yet (poll with --poll and \
             --duration to fit one)"
        ));
    }
    warnings.extend(c.notes.iter().cloned());
    if c.session_events_dropped > 0 {
        warnings.push(format!(
            "{} session events beyond the first {MAX_SESSION_EVENTS} were left out of co-access \
             rules",
            c.session_events_dropped
        ));
    }
    if !warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings");
        for w in &warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }

    // What the source read and skipped.
    let _ = writeln!(out, "\nCapture");
    let text = match &c.capture {
        CaptureReport::Log(report) => report.to_string(),
        CaptureReport::Stats { report, .. } => report.to_string(),
        CaptureReport::Stored { info, .. } => stored_text(info),
    };
    out.push_str(&indent(&format!("{text}\n")));
    out
}

/// What a stored capture holds and lost.
fn stored_text(info: &CaptureInfo) -> String {
    use std::fmt::Write as _;

    let mut text = format!(
        "{} events in {} saves, {} to {}; {} co-access windows kept",
        info.events, info.flushes, info.created_at, info.updated_at, info.windows
    );
    for (n, what) in [
        (
            info.dropped_events,
            "statements dropped by the proxy (its queue was full)",
        ),
        (
            info.evicted_patterns,
            "patterns evicted at the store's bound",
        ),
        (info.dropped_windows, "co-access windows dropped at a bound"),
        (info.without_session, "statements without a session"),
    ] {
        if n > 0 {
            let _ = write!(text, "\n{n} {what}");
        }
    }
    text
}

fn indent(text: &str) -> String {
    text.lines().fold(String::new(), |mut acc, line| {
        if !line.is_empty() {
            acc.push_str("  ");
        }
        acc.push_str(line);
        acc.push('\n');
        acc
    })
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.0} ms")
    } else if v >= 0.1 {
        format!("{v:.2} ms")
    } else if v > 0.0 {
        format!("{:.0} µs", v * 1000.0)
    } else {
        "0".to_owned()
    }
}

fn bytes(b: u64) -> String {
    let v = b as f64;
    match b {
        0..1_024 => format!("{b} B"),
        1_024..1_048_576 => format!("{:.1} kB", v / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MB", v / 1_048_576.0),
        _ => format!("{:.2} GB", v / 1_073_741_824.0),
    }
}

/// One line of at most `max` characters.
fn excerpt(sql: &str, max: usize) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn role_name(role: ColumnRole) -> &'static str {
    match role {
        ColumnRole::EqualityFilter => "equality filter",
        ColumnRole::RangeFilter => "range filter",
        ColumnRole::InList => "IN list",
        ColumnRole::LikePrefix => "LIKE prefix",
        ColumnRole::JoinKey => "join key",
        ColumnRole::OrderBy => "ORDER BY",
        ColumnRole::GroupBy => "GROUP BY",
        ColumnRole::Projected => "projected",
        ColumnRole::Written => "written",
        ColumnRole::JsonPath => "JSON path",
    }
}

fn basis_name(basis: DirectionBasis) -> &'static str {
    match basis {
        DirectionBasis::UniqueKey => "unique key",
        DirectionBasis::OneToOne => "one-to-one (primary key side)",
        DirectionBasis::Statistics => "distinct-value statistics",
        DirectionBasis::Naming => "column naming",
        DirectionBasis::Arbitrary => "no evidence (name order)",
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: AnalyzeArgs,
    }

    fn parse(argv: &[&str]) -> Result<AnalyzeArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("analyze").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn argument_combinations() {
        assert!(parse(&[]).is_err(), "a source or a log is required");
        assert!(parse(&["--source", "pg-stat-statements", "--log", "x.log"]).is_err());
        assert!(parse(&["--log", "x.log", "--poll", "5"]).is_err());
        assert!(
            parse(&[
                "--source",
                "mysql-digest",
                "--url",
                "mysql://x/y",
                "--duration",
                "5"
            ])
            .is_err()
        );
        assert!(parse(&["--source", "mysql-digest", "--url", "u", "--poll", "0"]).is_err());
        let a = parse(&["--log", "x.log", "--format", "pg-csv", "--json"]).unwrap();
        assert_eq!(a.format.map(LogFormat::from), Some(LogFormat::PgCsv));
        let a = parse(&[
            "--source",
            "pg-stat-statements",
            "--url",
            "postgres://h/db",
            "--poll",
            "0.5",
            "--duration",
            "3",
        ])
        .unwrap();
        assert_eq!(a.poll, Some(Duration::from_millis(500)));
        assert!(check(&a).is_ok());
        let wrong = parse(&["--source", "pg-stat-statements", "--url", "mysql://h/db"]).unwrap();
        let err = check(&wrong).unwrap_err();
        assert!(err.is::<InvalidInput>(), "{err}");
        let missing = parse(&["--source", "mysql-digest"]).unwrap();
        assert!(check(&missing).unwrap_err().to_string().contains("--url"));

        // A stored capture needs no URL; database-only flags are refused with the reason.
        let proxy = parse(&["--source", "proxy", "--capture", "staging"]).unwrap();
        assert!(check(&proxy).is_ok());
        assert_eq!(proxy.capture.as_deref(), Some("staging"));
        assert!(
            check(&parse(&["--source", "proxy", "--schema-url", "postgres://h/db"]).unwrap())
                .is_ok()
        );
        for extra in [
            ["--url", "postgres://h/db"],
            ["--poll", "5"],
            ["--database", "shop"],
        ] {
            let mut argv = vec!["--source", "proxy"];
            argv.extend(extra);
            let err = check(&parse(&argv).unwrap()).unwrap_err();
            assert!(err.is::<InvalidInput>(), "{err}");
            assert!(err.to_string().starts_with(extra[0]), "{err}");
        }
        let err = check(&parse(&["--log", "x.log", "--capture", "c"]).unwrap()).unwrap_err();
        assert!(err.to_string().contains("--source proxy"), "{err}");
    }

    /// A stored capture (as the proxy saves it) reported like any other source.
    #[test]
    fn a_stored_capture_gives_patterns_and_rules() {
        use persona_core::analysis::recorder::{CaptureRecorder, RecorderConfig};
        use persona_core::model::CaptureSource;

        let mut recorder = CaptureRecorder::new(RecorderConfig::default());
        for s in 0..6_i64 {
            for (i, sql) in [
                format!("SELECT * FROM customers WHERE id = {s}"),
                format!("SELECT * FROM orders WHERE customer_id = {s}"),
            ]
            .into_iter()
            .enumerate()
            {
                let mut e = CaptureEvent::single(
                    CaptureSource::Proxy,
                    1_700_000_000_000_000 + s * 10_000_000 + i as i64 * 1_000,
                    sql,
                    Duration::from_micros(700),
                );
                e.session = Some(format!("pid{}", s % 2));
                e.rows = Some(1);
                recorder.record(&e);
            }
        }
        let delta = recorder.finish();
        let info = CaptureInfo {
            name: "shop".into(),
            source: CaptureSource::Proxy,
            patterns: 2,
            calls: 12,
            events: 12,
            windows: 6,
            dropped_events: 4,
            dropped_windows: 0,
            without_session: 0,
            evicted_patterns: 0,
            flushes: 3,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:10:00Z".into(),
        };
        let mut collected = Collected::new(CaptureReport::Stored {
            info: Box::new(info),
            registry: "sqlite://r.db".into(),
        });
        collected.store = delta.store;
        collected.windows = Some(delta.windows);
        let config = AnalysisConfig {
            rule_items: ItemKind::FilterColumn,
            ..AnalysisConfig::default()
        };
        let windows = item_windows(
            &collected.store,
            collected.windows.as_ref().unwrap(),
            config.rule_items,
            None,
        );
        let details = snapshot_details(
            &collected.store,
            None,
            RuleInput::Windows(&windows),
            &[],
            &config,
        );
        assert_eq!(details.windows, 6);
        let text = render(&collected, &details, false, 10);
        assert!(
            text.contains("Analysis of capture `shop` (proxy) in the registry at sqlite://r.db"),
            "{text}"
        );
        assert!(text.contains("2 query patterns, 12 calls"), "{text}");
        assert!(
            text.contains("{orders.customer_id} => {customers.id}"),
            "{text}"
        );
        assert!(text.contains("4 statements dropped by the proxy"), "{text}");
        assert!(!text.contains("per-poll means"), "{text}");
        let json = capture_json(&collected);
        assert_eq!(json["source"], "registry");
        assert_eq!(json["stored"]["flushes"], 3);
        assert_eq!(json["windows"], 6);
    }

    #[test]
    fn formatting_helpers() {
        assert_eq!(ms(0.0), "0");
        assert_eq!(ms(0.05), "50 µs");
        assert_eq!(ms(1.234), "1.23 ms");
        assert_eq!(ms(2500.0), "2.50 s");
        assert_eq!(bytes(2048), "2.0 kB");
        assert_eq!(excerpt("SELECT  a\n FROM   t", 100), "SELECT a FROM t");
        assert_eq!(excerpt("abcdef", 4), "abc…");
        assert_eq!(indent("a\n\nb\n"), "  a\n\n  b\n");
    }

    /// A JSON-lines capture of two kinds of sessions, analysed end to end without a database.
    #[tokio::test]
    async fn jsonl_log_gives_patterns_and_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture.jsonl");
        let mut lines = String::new();
        for s in 0..6 {
            for i in 0..4 {
                let at =
                    1_700_000_000_000_000_i64 + i64::from(s) * 10_000_000 + i64::from(i) * 1000;
                let sql = if s < 4 {
                    [
                        format!("SELECT * FROM customers WHERE id = {i}"),
                        format!("SELECT * FROM orders WHERE customer_id = {i}"),
                    ][i as usize % 2]
                        .clone()
                } else {
                    format!("SELECT * FROM products WHERE sku = 'p{i}'")
                };
                let line = serde_json::json!({
                    "source": "json_lines", "session": format!("s{s}"), "at": at,
                    "sql": sql, "duration_ms": 0.5 + f64::from(i),
                });
                lines.push_str(&line.to_string());
                lines.push('\n');
            }
        }
        lines.push_str("not json\n");
        std::fs::write(&path, lines).unwrap();
        let args = parse(&["--log", path.to_str().unwrap()]).unwrap();
        let collected = from_log(&args, path.clone(), None).await.unwrap();
        assert_eq!(collected.store.len(), 3);
        assert_eq!(collected.store.total_calls(), 24);
        assert_eq!(collected.session_events.len(), 24);
        let config = AnalysisConfig {
            rule_items: ItemKind::FilterColumn,
            ..AnalysisConfig::default()
        };
        let details = snapshot_details(
            &collected.store,
            None,
            RuleInput::Events(&collected.session_events),
            &collected.volumes,
            &config,
        );
        assert!(
            details
                .results
                .rules
                .iter()
                .any(|r| r.antecedent == ["orders.customer_id"]
                    && r.consequent == ["customers.id"]
                    && (r.lift - 1.5).abs() < 1e-9),
            "{:#?}",
            details.results.rules
        );
        let text = render(&collected, &details, false, 10);
        assert!(text.contains("3 query patterns, 24 calls"), "{text}");
        assert!(
            text.contains("{orders.customer_id} => {customers.id}"),
            "{text}"
        );
        assert!(text.contains("not checked: no schema"), "{text}");
        assert!(text.contains("1  not a JSON capture event"), "{text}");
        let json = capture_json(&collected);
        assert_eq!(json["source"], "log");
        assert_eq!(json["events"], 24);
        assert_eq!(json["skipped"]["counts"]["bad_json"], 1);
    }
}
