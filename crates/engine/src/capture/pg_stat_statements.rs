//! `pg_stat_statements` as a capture source: one-shot reads (totals since the last reset) and
//! polling (deltas between readings per `(userid, dbid, queryid, toplevel)`), emitting one
//! aggregated [`CaptureEvent`] per active statement entry, with resets and evictions detected and
//! reported and every skipped entry counted with its reason.
//!
//! The delta machinery ([`DeltaTracker`], [`StatementCounters`], [`StatsPollReport`]) is shared
//! with the MySQL/MariaDB digest source (`super::mysql_digest`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use persona_core::Dialect;
use persona_core::capture::Tally;
use persona_core::model::{CaptureEvent, CaptureSource};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Row};

use crate::db::Database;

// ---------------------------------------------------------------------------------------------
// Shared by the statement-statistics sources.
// ---------------------------------------------------------------------------------------------

/// Cumulative counters of one statement entry, as a statistics view reports them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StatementCounters {
    pub calls: u64,
    /// Total execution time of all calls, in milliseconds.
    pub total_ms: f64,
    /// Rows returned or affected by all calls.
    pub rows: u64,
    /// Calls that failed (0 where the view does not count failures).
    pub errors: u64,
}

impl StatementCounters {
    /// `self - earlier`, or `None` when a counter went backwards (the entry was reset or
    /// recreated since `earlier`).
    pub fn since(&self, earlier: &StatementCounters) -> Option<StatementCounters> {
        // Sums of floating-point times may differ in the last bits; only a real drop counts.
        let slack = 1e-6 * earlier.total_ms.abs().max(1.0);
        if self.calls < earlier.calls
            || self.rows < earlier.rows
            || self.errors < earlier.errors
            || self.total_ms + slack < earlier.total_ms
        {
            return None;
        }
        Some(StatementCounters {
            calls: self.calls - earlier.calls,
            total_ms: (self.total_ms - earlier.total_ms).max(0.0),
            rows: self.rows - earlier.rows,
            errors: self.errors - earlier.errors,
        })
    }

    fn add(&mut self, other: &StatementCounters) {
        self.calls += other.calls;
        self.total_ms += other.total_ms;
        self.rows += other.rows;
        self.errors += other.errors;
    }
}

/// One entry of a statistics view at one reading.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementEntry<K> {
    pub key: K,
    /// The statement text with placeholders (`$1` or `?`); `None` when the view has none.
    pub text: Option<String>,
    pub counters: StatementCounters,
    /// When the entry was created (MySQL `FIRST_SEEN`); a change means it was recreated.
    pub created: Option<String>,
    /// Why this entry yields no event whatever its counters say, decided when it was read.
    pub skip: Option<StatSkipReason>,
}

/// Why an active entry of a statistics view produced no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatSkipReason {
    /// The text is hidden from this user (`<insufficient privilege>`: grant `pg_read_all_stats`).
    InsufficientPrivilege,
    /// No statement text (the view's text file was lost, or the digest text is disabled).
    NoText,
    /// A utility statement (DDL, `SET`, `BEGIN`/`COMMIT`, `SHOW`, `COPY`, …), not a data access.
    UtilityStatement,
    /// A statement run inside a function or procedure (`toplevel = false`); its top-level
    /// caller is counted.
    NestedStatement,
    /// A statement reading system catalogs or statistics views (introspection, monitoring, this
    /// capture itself).
    SystemCatalog,
    /// Persona Studio's own statements (volume sampling), marked with [`OWN_QUERY_MARKER`].
    OwnQuery,
    /// Statements the digest table had no room for (the row with a NULL digest): raise
    /// `performance_schema_digests_size` or truncate the table.
    DigestTableFull,
}

impl StatSkipReason {
    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            StatSkipReason::InsufficientPrivilege => {
                "text hidden (<insufficient privilege>; grant pg_read_all_stats)"
            }
            StatSkipReason::NoText => "no statement text",
            StatSkipReason::UtilityStatement => "utility statement (DDL, SET, transaction control)",
            StatSkipReason::NestedStatement => "nested statement (inside a function)",
            StatSkipReason::SystemCatalog => "reads system catalogs or statistics views",
            StatSkipReason::OwnQuery => "Persona Studio's own sampling queries",
            StatSkipReason::DigestTableFull => {
                "statements not digested: digest table full (performance_schema_digests_size)"
            }
        }
    }
}

impl fmt::Display for StatSkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// What one reading of a statistics view produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsPollReport {
    /// When the (last) reading was taken, in microseconds since the Unix epoch (server clock).
    pub at: i64,
    /// Readings this report covers (reports of several polls can be merged).
    pub readings: u64,
    /// Entries the view held (summed over readings).
    pub entries: u64,
    /// Entries that ran since the previous reading and produced events.
    pub events: u64,
    /// Calls those events stand for.
    pub calls: u64,
    /// Whether the (first) reading had no earlier one, so its events are totals since the
    /// statistics were last reset rather than deltas.
    pub cumulative: bool,
    /// The statistics were reset as a whole since the previous reading (PostgreSQL:
    /// `pg_stat_statements_info.stats_reset` changed; MySQL: every surviving entry was
    /// recreated, as `TRUNCATE` of the digest table does). Current values were taken as the
    /// delta since the reset.
    pub resets: u64,
    /// Entries whose counters went backwards or that were recreated since the previous reading
    /// (reset one by one, or evicted and seen again): their current values were taken as the
    /// delta. Not counted when the whole view was reset.
    pub entries_reset: u64,
    /// Entries present at the previous reading and gone now (evicted, or reset); whatever they
    /// ran between the readings is lost.
    pub entries_vanished: u64,
    /// Entries the server itself reports having evicted since the previous reading
    /// (`pg_stat_statements_info.dealloc`), when it says.
    pub evictions: Option<u64>,
    /// Active entries that produced no event, by reason (examples carry the text).
    pub skipped: Tally<StatSkipReason>,
    /// Calls the skipped entries stand for.
    pub skipped_calls: u64,
    /// Other things worth knowing (e.g. truncated digest texts).
    pub notes: Vec<String>,
}

impl StatsPollReport {
    pub(crate) fn new(at: i64) -> Self {
        StatsPollReport {
            at,
            readings: 1,
            entries: 0,
            events: 0,
            calls: 0,
            cumulative: false,
            resets: 0,
            entries_reset: 0,
            entries_vanished: 0,
            evictions: None,
            skipped: Tally::new(3),
            skipped_calls: 0,
            notes: Vec::new(),
        }
    }

    /// Whether any reset (whole or per entry) was detected.
    pub fn reset_detected(&self) -> bool {
        self.resets > 0 || self.entries_reset > 0
    }

    /// Merge the report of a later reading into this one.
    pub fn absorb(&mut self, later: &StatsPollReport) {
        self.at = self.at.max(later.at);
        self.readings += later.readings;
        self.entries += later.entries;
        self.events += later.events;
        self.calls += later.calls;
        self.resets += later.resets;
        self.entries_reset += later.entries_reset;
        self.entries_vanished += later.entries_vanished;
        self.evictions = match (self.evictions, later.evictions) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.skipped.absorb(&later.skipped);
        self.skipped_calls += later.skipped_calls;
        for note in &later.notes {
            if !self.notes.contains(note) {
                self.notes.push(note.clone());
            }
        }
    }
}

impl fmt::Display for StatsPollReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} reading(s), {} events standing for {} calls",
            self.readings, self.events, self.calls
        )?;
        if self.cumulative {
            f.write_str(" (first reading: totals since the last reset)")?;
        }
        if self.resets > 0 {
            write!(
                f,
                "\n  statistics reset {} time(s) between readings: values since the reset were used",
                self.resets
            )?;
        }
        if self.entries_reset > 0 {
            write!(
                f,
                "\n  {} entries reset or recreated between readings: values since then were used",
                self.entries_reset
            )?;
        }
        if self.entries_vanished > 0 {
            write!(
                f,
                "\n  {} entries vanished between readings (evicted or reset); their calls since the previous reading are lost",
                self.entries_vanished
            )?;
        }
        if let Some(n) = self.evictions.filter(|n| *n > 0) {
            write!(
                f,
                "\n  the server evicted {n} entries (raise pg_stat_statements.max)"
            )?;
        }
        if self.skipped.total() > 0 {
            write!(
                f,
                "\n  skipped {} entries ({} calls):",
                self.skipped.total(),
                self.skipped_calls
            )?;
            for (reason, n) in &self.skipped.counts {
                write!(f, "\n    {n:>8}  {reason}")?;
            }
        }
        for note in &self.notes {
            write!(f, "\n  note: {note}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Seen {
    counters: StatementCounters,
    created: Option<String>,
}

/// Deltas between successive readings of a statistics view, keyed per entry.
#[derive(Debug, Clone)]
pub struct DeltaTracker<K> {
    previous: Option<HashMap<K, Seen>>,
    epoch: Option<String>,
}

impl<K> Default for DeltaTracker<K> {
    fn default() -> Self {
        DeltaTracker {
            previous: None,
            epoch: None,
        }
    }
}

/// One entry's activity since the previous reading.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryDelta<K> {
    pub entry: StatementEntry<K>,
    pub delta: StatementCounters,
}

impl<K: Hash + Eq + Clone> DeltaTracker<K> {
    /// Whether a reading has been taken.
    pub fn has_baseline(&self) -> bool {
        self.previous.is_some()
    }

    /// Take a reading. `epoch` identifies the statistics' lifetime (PostgreSQL's `stats_reset`);
    /// a change means everything was reset. Entries with the same key are summed. Returns the
    /// active entries (delta calls > 0) and fills the reset and vanish counts of `report`.
    pub fn advance(
        &mut self,
        entries: Vec<StatementEntry<K>>,
        epoch: Option<String>,
        report: &mut StatsPollReport,
    ) -> Vec<EntryDelta<K>> {
        report.entries += entries.len() as u64;
        let mut current: HashMap<K, StatementEntry<K>> = HashMap::with_capacity(entries.len());
        let mut order = Vec::with_capacity(entries.len());
        for entry in entries {
            match current.entry(entry.key.clone()) {
                Entry::Occupied(mut o) => o.get_mut().counters.add(&entry.counters),
                Entry::Vacant(v) => {
                    order.push(entry.key.clone());
                    v.insert(entry);
                }
            }
        }
        let previous = self.previous.take();
        let whole_reset =
            previous.is_some() && matches!((&self.epoch, &epoch), (Some(a), Some(b)) if a != b);
        report.cumulative = previous.is_none();
        let mut recreated = 0u64;
        let mut survivors = 0u64;
        let mut active = Vec::new();
        for key in order {
            let entry = current.remove(&key).expect("key recorded");
            let delta = match previous.as_ref().filter(|_| !whole_reset) {
                None => entry.counters,
                Some(prev) => match prev.get(&key) {
                    None => entry.counters,
                    Some(seen) => {
                        survivors += 1;
                        let same_life = match (&seen.created, &entry.created) {
                            (Some(a), Some(b)) => a == b,
                            _ => true,
                        };
                        if let Some(d) = entry.counters.since(&seen.counters).filter(|_| same_life)
                        {
                            d
                        } else {
                            recreated += 1;
                            entry.counters
                        }
                    }
                },
            };
            current.insert(
                key.clone(),
                StatementEntry {
                    text: None,
                    ..entry.clone()
                },
            );
            if delta.calls > 0 {
                active.push(EntryDelta { entry, delta });
            }
        }
        if let (Some(prev), false) = (&previous, whole_reset) {
            let vanished = prev.keys().filter(|k| !current.contains_key(*k)).count() as u64;
            // Every surviving entry recreated, or everything gone: the table was emptied.
            // Without an epoch, every surviving entry recreated (or everything gone) means the
            // table was emptied as a whole.
            let emptied = epoch.is_none()
                && prev.len() > 1
                && ((survivors > 0 && recreated == survivors)
                    || (survivors == 0 && vanished == prev.len() as u64));
            if emptied {
                report.resets += 1;
            } else {
                report.entries_reset += recreated;
                report.entries_vanished += vanished;
            }
        }
        if whole_reset {
            report.resets += 1;
        }
        self.previous = Some(
            current
                .into_iter()
                .map(|(k, e)| {
                    (
                        k,
                        Seen {
                            counters: e.counters,
                            created: e.created,
                        },
                    )
                })
                .collect(),
        );
        self.epoch = epoch;
        active
    }
}

/// Turn active entries into events (or skips), filling `report`. `at` is the reading's time.
pub(crate) fn entries_to_events<K>(
    active: Vec<EntryDelta<K>>,
    source: CaptureSource,
    at: i64,
    report: &mut StatsPollReport,
) -> Vec<CaptureEvent> {
    let mut events = Vec::with_capacity(active.len());
    for (i, EntryDelta { entry, delta }) in active.into_iter().enumerate() {
        if let Some(reason) = entry.skip {
            report
                .skipped
                .add(i as u64 + 1, reason, entry.text.as_deref().unwrap_or(""));
            report.skipped_calls += delta.calls;
            continue;
        }
        let Some(text) = entry.text else {
            report.skipped.add(i as u64 + 1, StatSkipReason::NoText, "");
            report.skipped_calls += delta.calls;
            continue;
        };
        report.events += 1;
        report.calls += delta.calls;
        let ms_per_call = delta.total_ms / delta.calls as f64;
        let ok_calls = delta.calls - delta.errors.min(delta.calls);
        let failed = delta.calls - ok_calls;
        let event = |calls: u64, rows: u64, error: Option<String>| CaptureEvent {
            source,
            session: None,
            at,
            sql: text.clone(),
            params: Vec::new(),
            duration: duration_ms(ms_per_call * calls as f64),
            rows: Some(rows),
            error,
            calls,
        };
        if ok_calls > 0 {
            events.push(event(ok_calls, delta.rows, None));
        }
        if failed > 0 {
            let rows = if ok_calls == 0 { delta.rows } else { 0 };
            events.push(event(
                failed,
                rows,
                Some(format!("{failed} of {} calls failed", delta.calls)),
            ));
        }
    }
    events
}

fn duration_ms(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        Duration::from_secs_f64(ms / 1000.0)
    } else {
        Duration::ZERO
    }
}

/// The first keyword of a statement, after comments, whitespace and opening parentheses,
/// upper-cased.
fn first_keyword(sql: &str) -> String {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix('#') {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    rest.chars()
        .take_while(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether a statement is a utility statement rather than a data access (query or DML).
pub fn is_utility_statement(sql: &str) -> bool {
    !matches!(
        first_keyword(sql).as_str(),
        "SELECT"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "MERGE"
            | "WITH"
            | "VALUES"
            | "TABLE"
            | "REPLACE"
    )
}

/// Whether a statement reads system catalogs, statistics views or server settings (`@@…`,
/// `version()`): monitoring and introspection rather than the application's data.
pub fn reads_system_catalog(sql: &str) -> bool {
    let squeezed: String = sql
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        "pg_catalog",
        "information_schema",
        "performance_schema",
        "pg_stat_",
        "pg_class",
        "pg_namespace",
        "pg_extension",
        "pg_settings",
        "pg_database",
        "version()",
        "@@",
    ]
    .iter()
    .any(|needle| squeezed.contains(needle))
}

/// A CTE name that marks Persona Studio's own statements on user tables, such as volume
/// sampling's row counts, so that capture sources skip them. A CTE (unlike a comment or a column
/// alias) changes the `pg_stat_statements` query id, so the application's own `count(*)` is not
/// merged with it, and it survives MySQL digests (which drop comments).
pub const OWN_QUERY_MARKER: &str = "persona_capture";

/// Why a text-bearing entry is skipped, by its text alone.
pub(crate) fn classify_text(text: &str, keep_utility: bool) -> Option<StatSkipReason> {
    if text.contains(OWN_QUERY_MARKER) {
        Some(StatSkipReason::OwnQuery)
    } else if is_utility_statement(text) {
        (!keep_utility).then_some(StatSkipReason::UtilityStatement)
    } else if reads_system_catalog(text) {
        Some(StatSkipReason::SystemCatalog)
    } else {
        None
    }
}

/// Microseconds since the Unix epoch now, on this machine.
pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

// ---------------------------------------------------------------------------------------------
// pg_stat_statements.
// ---------------------------------------------------------------------------------------------

/// Errors opening or reading `pg_stat_statements`.
#[derive(Debug, thiserror::Error)]
pub enum PgStatStatementsError {
    #[error("pg_stat_statements is a PostgreSQL view; this is a {0} database")]
    NotPostgres(Dialect),
    #[error("the pg_stat_statements extension is not installed in database `{database}`: {hint}")]
    NotInstalled { database: String, hint: String },
    #[error(
        "pg_stat_statements is installed in database `{database}` but the server did not load \
         it: add it to shared_preload_libraries (ALTER SYSTEM SET shared_preload_libraries = \
         'pg_stat_statements', keeping any libraries already listed) and restart PostgreSQL. \
         Server said: {source}"
    )]
    NotLoaded {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot create the pg_stat_statements extension in database `{database}`: {source}")]
    Create {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("reading pg_stat_statements failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// What to read from `pg_stat_statements`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PgStatStatementsOptions {
    /// Read statements of every database, not only the one connected to.
    pub all_databases: bool,
    /// `CREATE EXTENSION IF NOT EXISTS pg_stat_statements` when it is missing.
    pub create_extension: bool,
    /// Keep utility statements (DDL, `SET`, transaction control) as events.
    pub include_utility: bool,
    /// Keep statements run inside functions (`toplevel = false`, with
    /// `pg_stat_statements.track = all`). Their time is also in their caller's.
    pub include_nested: bool,
}

/// Identity of a `pg_stat_statements` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PgStatKey {
    pub userid: i64,
    pub dbid: i64,
    pub queryid: i64,
    pub toplevel: bool,
}

/// A `pg_stat_statements` reader for one database, remembering the previous reading for deltas.
#[derive(Debug, Clone)]
pub struct PgStatStatements {
    pool: PgPool,
    options: PgStatStatementsOptions,
    database: String,
    dbid: i64,
    extension_version: String,
    select: String,
    info: Option<String>,
    tracker: DeltaTracker<PgStatKey>,
    /// `dealloc` at the previous polling reading.
    previous_dealloc: Option<u64>,
}

/// `pg_stat_statements` is installed where the query text says this.
const HIDDEN_TEXT: &str = "<insufficient privilege>";

impl PgStatStatements {
    /// Check the extension in the connected database (creating it when asked) and prepare the
    /// reading query for its version.
    pub async fn open(
        db: &Database,
        options: PgStatStatementsOptions,
    ) -> Result<Self, PgStatStatementsError> {
        let Database::Postgres(pool) = db else {
            return Err(PgStatStatementsError::NotPostgres(db.dialect()));
        };
        let pool = pool.clone();
        let row = sqlx::query(
            "SELECT pg_catalog.current_database()::text, oid::int8 FROM pg_catalog.pg_database \
             WHERE datname = pg_catalog.current_database()",
        )
        .fetch_one(&pool)
        .await?;
        let database: String = row.try_get(0)?;
        let dbid: i64 = row.try_get(1)?;
        let mut installed = installed_extension(&pool).await?;
        if installed.is_none() && options.create_extension {
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .execute(&pool)
                .await
                .map_err(|source| PgStatStatementsError::Create {
                    database: database.clone(),
                    source,
                })?;
            installed = installed_extension(&pool).await?;
        }
        let Some((schema, extension_version)) = installed else {
            let preload: Option<String> = sqlx::query_scalar(
                "SELECT pg_catalog.current_setting('shared_preload_libraries', true)",
            )
            .fetch_one(&pool)
            .await
            .unwrap_or(None);
            let create = "install it with `CREATE EXTENSION pg_stat_statements;` in that database \
                          (or pass --create-extension)";
            let hint = match preload {
                Some(p) if p.split(',').any(|l| l.trim() == "pg_stat_statements") => {
                    format!("{create}; the server already preloads the module")
                }
                found => format!(
                    "{create}. The module must also be preloaded by the server: add it to \
                     shared_preload_libraries in postgresql.conf (or ALTER SYSTEM SET \
                     shared_preload_libraries = 'pg_stat_statements', keeping any libraries \
                     already listed) and restart PostgreSQL (shared_preload_libraries is now {})",
                    match found {
                        Some(p) if p.is_empty() => "empty".to_owned(),
                        Some(p) => format!("'{p}'"),
                        None => "not visible to this user".to_owned(),
                    }
                ),
            };
            return Err(PgStatStatementsError::NotInstalled { database, hint });
        };
        let schema = Dialect::Postgres.quote_ident(&schema);
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_extension e ON e.extnamespace = n.oid \
             WHERE e.extname = 'pg_stat_statements' AND c.relname = 'pg_stat_statements' \
               AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .fetch_all(&pool)
        .await?;
        let has = |c: &str| columns.iter().any(|x| x == c);
        let time = if has("total_exec_time") {
            "total_exec_time"
        } else {
            "total_time"
        };
        let toplevel = if has("toplevel") { "toplevel" } else { "true" };
        let filter = if options.all_databases {
            String::new()
        } else {
            format!("WHERE dbid = {dbid}")
        };
        // The comment marks the capture's own query (it is skipped as a catalog read anyway).
        let select = format!(
            "/* persona capture */ SELECT userid::int8, dbid::int8, COALESCE(queryid, 0)::int8, \
             {toplevel}, query, calls::int8, {time}::float8, rows::int8 \
             FROM {schema}.pg_stat_statements {filter}"
        );
        let info = has_info_view(&pool, &schema).await?.then(|| {
            format!(
                "/* persona capture */ SELECT stats_reset::text, dealloc::int8 FROM {schema}.pg_stat_statements_info"
            )
        });
        // A probe: the view errors when the module is not preloaded.
        let probe = format!("SELECT count(*) FROM {schema}.pg_stat_statements WHERE false");
        if let Err(source) = sqlx::query(AssertSqlSafe(probe)).execute(&pool).await {
            let not_loaded = source
                .as_database_error()
                .and_then(sqlx::error::DatabaseError::code)
                .is_some_and(|c| c == "55000");
            return Err(if not_loaded {
                PgStatStatementsError::NotLoaded { database, source }
            } else {
                PgStatStatementsError::Query(source)
            });
        }
        Ok(PgStatStatements {
            pool,
            options,
            database,
            dbid,
            extension_version,
            select,
            info,
            tracker: DeltaTracker::default(),
            previous_dealloc: None,
        })
    }

    /// The database connected to.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Its oid (`pg_stat_statements.dbid`).
    pub fn dbid(&self) -> i64 {
        self.dbid
    }

    /// The installed extension version.
    pub fn extension_version(&self) -> &str {
        &self.extension_version
    }

    /// Read the view now: the entries, the reset epoch and eviction counter, and the server time.
    pub async fn read(&self) -> Result<PgStatReading, PgStatStatementsError> {
        let at: i64 = sqlx::query_scalar(
            "SELECT (extract(epoch FROM pg_catalog.clock_timestamp()) * 1000000)::int8",
        )
        .fetch_one(&self.pool)
        .await?;
        let (stats_reset, dealloc) = match &self.info {
            Some(sql) => {
                let row = sqlx::query(AssertSqlSafe(sql.clone()))
                    .fetch_one(&self.pool)
                    .await?;
                (
                    row.try_get::<Option<String>, _>(0)?,
                    row.try_get::<Option<i64>, _>(1)?,
                )
            }
            None => (None, None),
        };
        let rows = sqlx::query(AssertSqlSafe(self.select.clone()))
            .fetch_all(&self.pool)
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let key = PgStatKey {
                userid: row.try_get(0)?,
                dbid: row.try_get(1)?,
                queryid: row.try_get(2)?,
                toplevel: row.try_get(3)?,
            };
            let text: Option<String> = row.try_get(4)?;
            let counters = StatementCounters {
                calls: row.try_get::<i64, _>(5)?.max(0) as u64,
                total_ms: row.try_get::<f64, _>(6)?,
                rows: row.try_get::<i64, _>(7)?.max(0) as u64,
                errors: 0,
            };
            let skip = match text.as_deref() {
                None => Some(StatSkipReason::NoText),
                Some(t) if t.trim() == HIDDEN_TEXT => Some(StatSkipReason::InsufficientPrivilege),
                Some(_) if !key.toplevel && !self.options.include_nested => {
                    Some(StatSkipReason::NestedStatement)
                }
                Some(t) => classify_text(t, self.options.include_utility),
            };
            entries.push(StatementEntry {
                key,
                text,
                counters,
                created: None,
                skip,
            });
        }
        Ok(PgStatReading {
            at,
            stats_reset,
            dealloc: dealloc.map(|d| d.max(0) as u64),
            entries,
        })
    }

    /// One-shot: every entry's totals since the statistics were last reset, as events. Does
    /// not touch the polling state.
    pub async fn totals(
        &self,
    ) -> Result<(Vec<CaptureEvent>, StatsPollReport), PgStatStatementsError> {
        let reading = self.read().await?;
        let mut fresh = DeltaTracker::default();
        Ok(reading.into_events(&mut fresh, None))
    }

    /// Take a reading as the baseline of polling (no events).
    pub async fn baseline(&mut self) -> Result<StatsPollReport, PgStatStatementsError> {
        let (_, report) = self.poll().await?;
        Ok(report)
    }

    /// Read the view and return what ran since the previous reading (the first reading returns
    /// the totals since the last reset, and says so).
    pub async fn poll(
        &mut self,
    ) -> Result<(Vec<CaptureEvent>, StatsPollReport), PgStatStatementsError> {
        let reading = self.read().await?;
        let dealloc = reading.dealloc;
        let out = reading.into_events(&mut self.tracker, self.previous_dealloc);
        self.previous_dealloc = dealloc;
        Ok(out)
    }
}

/// One reading of `pg_stat_statements`.
#[derive(Debug, Clone, PartialEq)]
pub struct PgStatReading {
    /// Server time of the reading, in microseconds since the Unix epoch.
    pub at: i64,
    /// `pg_stat_statements_info.stats_reset` (as text), when the extension has it.
    pub stats_reset: Option<String>,
    /// `pg_stat_statements_info.dealloc`: entries evicted since the reset.
    pub dealloc: Option<u64>,
    pub entries: Vec<StatementEntry<PgStatKey>>,
}

impl PgStatReading {
    /// Deltas against `tracker`'s previous reading, as events with their report.
    fn into_events(
        self,
        tracker: &mut DeltaTracker<PgStatKey>,
        previous_dealloc: Option<u64>,
    ) -> (Vec<CaptureEvent>, StatsPollReport) {
        let mut report = StatsPollReport::new(self.at);
        let had_baseline = tracker.has_baseline();
        let active = tracker.advance(self.entries, self.stats_reset, &mut report);
        if had_baseline {
            // After a reset the counter restarted from zero.
            report.evictions = match (previous_dealloc, self.dealloc) {
                (Some(before), Some(now)) if report.resets == 0 => Some(now.saturating_sub(before)),
                (_, now) => now,
            };
        }
        let events = entries_to_events(
            active,
            CaptureSource::PgStatStatements,
            self.at,
            &mut report,
        );
        (events, report)
    }
}

async fn installed_extension(pool: &PgPool) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT n.nspname::text, e.extversion::text FROM pg_catalog.pg_extension e \
         JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
         WHERE e.extname = 'pg_stat_statements'",
    )
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

async fn has_info_view(pool: &PgPool, quoted_schema: &str) -> Result<bool, sqlx::Error> {
    let name = format!("{quoted_schema}.pg_stat_statements_info");
    let found: Option<String> = sqlx::query_scalar("SELECT pg_catalog.to_regclass($1)::text")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: u32, text: &str, calls: u64, ms: f64, rows: u64) -> StatementEntry<u32> {
        StatementEntry {
            key,
            text: Some(text.to_owned()),
            counters: StatementCounters {
                calls,
                total_ms: ms,
                rows,
                errors: 0,
            },
            created: None,
            skip: None,
        }
    }

    fn poll(
        tracker: &mut DeltaTracker<u32>,
        entries: Vec<StatementEntry<u32>>,
        epoch: &str,
    ) -> (Vec<CaptureEvent>, StatsPollReport) {
        let mut report = StatsPollReport::new(0);
        let active = tracker.advance(entries, Some(epoch.to_owned()), &mut report);
        let events = entries_to_events(active, CaptureSource::PgStatStatements, 0, &mut report);
        (events, report)
    }

    #[test]
    fn deltas_between_polls() {
        let mut t = DeltaTracker::default();
        let (events, report) = poll(&mut t, vec![entry(1, "SELECT $1", 10, 5.0, 10)], "r0");
        assert!(report.cumulative);
        assert_eq!(events[0].calls, 10);
        let (events, report) = poll(
            &mut t,
            vec![
                entry(1, "SELECT $1", 14, 7.0, 14),
                entry(2, "SELECT 2", 3, 1.5, 3),
            ],
            "r0",
        );
        assert!(!report.cumulative && !report.reset_detected());
        let by_sql: HashMap<_, _> = events.iter().map(|e| (e.sql.as_str(), e)).collect();
        assert_eq!(by_sql["SELECT $1"].calls, 4);
        assert_eq!(by_sql["SELECT $1"].rows, Some(4));
        assert!((by_sql["SELECT $1"].duration.as_secs_f64() - 0.002).abs() < 1e-9);
        assert_eq!(by_sql["SELECT 2"].calls, 3);
        // Idle entries produce nothing.
        let (events, _) = poll(
            &mut t,
            vec![
                entry(1, "SELECT $1", 14, 7.0, 14),
                entry(2, "SELECT 2", 3, 1.5, 3),
            ],
            "r0",
        );
        assert!(events.is_empty());
    }

    #[test]
    fn resets_take_current_values_as_the_delta() {
        let mut t = DeltaTracker::default();
        poll(
            &mut t,
            vec![entry(1, "A", 10, 5.0, 10), entry(2, "B", 10, 5.0, 10)],
            "r0",
        );
        // Whole reset: the epoch changed, even though entry 1 grew past its old count.
        let (events, report) = poll(
            &mut t,
            vec![entry(1, "A", 12, 1.0, 12), entry(2, "B", 1, 1.0, 1)],
            "r1",
        );
        assert_eq!(report.resets, 1);
        assert_eq!(events.iter().map(|e| e.calls).sum::<u64>(), 13);
        // One entry going backwards under the same epoch; the other vanishes.
        let (events, report) = poll(&mut t, vec![entry(1, "A", 2, 0.5, 2)], "r1");
        assert_eq!(report.entries_reset, 1);
        assert_eq!(report.resets, 0);
        assert_eq!(report.entries_vanished, 1);
        assert_eq!(events[0].calls, 2);
    }

    #[test]
    fn recreated_entries_and_truncation_without_epoch() {
        let mut t = DeltaTracker::default();
        let mut report = StatsPollReport::new(0);
        let with_created = |key, calls, created: &str| StatementEntry {
            created: Some(created.to_owned()),
            ..entry(key, "X", calls, 1.0, 0)
        };
        t.advance(
            vec![with_created(1, 5, "t0"), with_created(2, 5, "t0")],
            None,
            &mut report,
        );
        let mut report = StatsPollReport::new(0);
        let active = t.advance(
            vec![with_created(1, 9, "t1"), with_created(2, 7, "t1")],
            None,
            &mut report,
        );
        assert_eq!(report.resets, 1, "{report:?}");
        assert_eq!(active.iter().map(|a| a.delta.calls).sum::<u64>(), 16);
    }

    #[test]
    fn skips_are_counted_with_their_calls() {
        let mut t = DeltaTracker::default();
        let mut hidden = entry(1, HIDDEN_TEXT, 4, 1.0, 0);
        hidden.skip = Some(StatSkipReason::InsufficientPrivilege);
        let (events, report) = poll(&mut t, vec![hidden, entry(2, "SELECT 1", 1, 1.0, 1)], "r");
        assert_eq!(events.len(), 1);
        assert_eq!(
            report.skipped.count(StatSkipReason::InsufficientPrivilege),
            1
        );
        assert_eq!(report.skipped_calls, 4);
    }

    #[test]
    fn errors_split_into_a_failed_event() {
        let mut t = DeltaTracker::default();
        let mut e = entry(1, "INSERT INTO t VALUES (?)", 10, 10.0, 8);
        e.counters.errors = 2;
        let (events, _) = poll(&mut t, vec![e], "r");
        assert_eq!(events.len(), 2);
        assert_eq!(events.iter().map(|e| e.calls).sum::<u64>(), 10);
        let failed = events.iter().find(|e| e.error.is_some()).unwrap();
        assert_eq!(failed.calls, 2);
        let total: f64 = events.iter().map(|e| e.duration.as_secs_f64()).sum();
        assert!((total - 0.010).abs() < 1e-9);
    }

    #[test]
    fn classifies_statements() {
        assert!(!is_utility_statement("/* x */ (SELECT 1)"));
        assert!(!is_utility_statement(
            "  -- c\nwith x as (select 1) select * from x"
        ));
        assert!(is_utility_statement("BEGIN"));
        assert!(is_utility_statement("SET search_path = $1"));
        assert!(is_utility_statement("CREATE TABLE t (x int)"));
        assert!(reads_system_catalog("SELECT * FROM pg_catalog.pg_class"));
        assert!(reads_system_catalog(
            "SELECT * FROM `information_schema` . `TABLES`"
        ));
        assert_eq!(classify_text("SELECT * FROM orders", false), None);
        assert!(reads_system_catalog("SELECT VERSION ( )"));
        assert!(reads_system_catalog("SELECT @@`version_comment` LIMIT ?"));
        assert_eq!(
            classify_text(
                "WITH `persona_capture` AS ( SELECT COUNT ( * ) AS `n` FROM `t` ) SELECT `n` FROM `persona_capture`",
                false
            ),
            Some(StatSkipReason::OwnQuery)
        );
    }
}
