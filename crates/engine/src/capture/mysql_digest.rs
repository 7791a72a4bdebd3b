//! MySQL/MariaDB statement digests as a capture source:
//! `performance_schema.events_statements_summary_by_digest` read once (totals since the table was
//! last emptied) or polled (deltas between readings per `(SCHEMA_NAME, DIGEST)`), filtered to one
//! schema, with `TRUNCATE`s and counters going backwards detected and reported, and every skipped
//! entry counted with its reason.
//!
//! MariaDB leaves statements run through server-side prepared statements (the binary protocol
//! most drivers use) out of the digest table; they are read from
//! `performance_schema.prepared_statements_instances` instead, per instance (owner thread and
//! statement id), filtered by the owner thread's current database. An instance disappears when
//! its statement is deallocated (its connection closes): its calls since the previous reading
//! are then lost, and counted as vanished entries.
//!
//! `SUM_TIMER_WAIT` is in picoseconds; rows are `SUM_ROWS_SENT + SUM_ROWS_AFFECTED`; failed calls
//! (`SUM_ERRORS`) become a separate event carrying an error, so calls and time add up exactly.

use persona_core::Dialect;
use persona_core::model::{CaptureEvent, CaptureSource};
use serde::{Deserialize, Serialize};
use sqlx::mysql::MySqlPool;
use sqlx::{AssertSqlSafe, Row};

use super::pg_stat_statements::{
    DeltaTracker, StatSkipReason, StatementCounters, StatementEntry, StatsPollReport,
    classify_text, entries_to_events,
};
use crate::db::Database;

/// Errors opening or reading the digest table.
#[derive(Debug, thiserror::Error)]
pub enum MysqlDigestError {
    #[error("statement digests are a MySQL/MariaDB feature; this is a {0} database")]
    NotMysql(Dialect),
    #[error(
        "performance_schema is OFF on this server, so there are no statement digests. It can only \
         be enabled at server start: add `performance_schema = ON` under [mysqld] in the server's \
         option file (MariaDB: a file in /etc/mysql/mariadb.conf.d/; see `mariadbd --help \
         --verbose | grep -A1 'Default options'` for the files it reads) and restart the server"
    )]
    PerformanceSchemaOff,
    #[error(
        "the performance_schema consumer(s) {0} are disabled, so statement digests are not \
         collected. Enable them with `UPDATE performance_schema.setup_consumers SET ENABLED = \
         'YES' WHERE NAME IN ('global_instrumentation', 'statements_digest')` (or pass \
         --enable-consumers), or at start-up with performance-schema-consumer-statements-digest \
         = ON"
    )]
    ConsumerDisabled(String),
    #[error("cannot enable the performance_schema digest consumers: {0}")]
    Enable(#[source] sqlx::Error),
    #[error("reading performance_schema statement digests failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// What to read from the digest table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MysqlDigestOptions {
    /// Keep only digests of this schema; `None` takes the connection's default database.
    pub schema: Option<String>,
    /// Read every schema's digests (the schema filter is ignored).
    pub all_schemas: bool,
    /// Enable the `global_instrumentation` and `statements_digest` consumers when disabled
    /// (a runtime change that lasts until the server restarts).
    pub enable_consumers: bool,
    /// Keep utility statements (DDL, `SET`, `SHOW`, transaction control) as events.
    pub include_utility: bool,
    /// Also read `performance_schema.prepared_statements_instances`: statements executed through
    /// server-side prepared statements (the binary protocol most drivers use), which MariaDB
    /// does not count in the digest table. `None`: on for MariaDB, off for MySQL (whose digests
    /// include them).
    pub prepared_statements: Option<bool>,
}

/// Identity of an entry: a digest, or a prepared statement instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestKey {
    /// A row of the digest table (`SCHEMA_NAME`, `DIGEST`).
    Digest {
        schema: Option<String>,
        digest: Option<String>,
    },
    /// A server-side prepared statement (`OWNER_THREAD_ID`, `STATEMENT_ID`).
    Prepared { thread: u64, statement: u64 },
}

/// A digest-table reader for one schema, remembering the previous reading for deltas.
#[derive(Debug, Clone)]
pub struct MysqlDigest {
    pool: MySqlPool,
    options: MysqlDigestOptions,
    schema: Option<String>,
    max_digest_length: Option<u64>,
    prepared: bool,
    notes: Vec<String>,
    tracker: DeltaTracker<DigestKey>,
}

/// One reading of the digest table.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestReading {
    /// Server time of the reading, in microseconds since the Unix epoch.
    pub at: i64,
    pub entries: Vec<StatementEntry<DigestKey>>,
    /// Digest texts cut at `performance_schema_max_digest_length` (they end in `...`).
    pub truncated_texts: u64,
}

/// Prepared statement instances; `?` is the schema filter (the owner thread's current database).
const SELECT_PREPARED: &str = "SELECT p.OWNER_THREAD_ID, p.STATEMENT_ID, p.SQL_TEXT, \
     p.COUNT_EXECUTE, p.SUM_TIMER_EXECUTE, p.SUM_ROWS_SENT, p.SUM_ROWS_AFFECTED, p.SUM_ERRORS, \
     CAST(p.OBJECT_INSTANCE_BEGIN AS CHAR) \
     FROM performance_schema.prepared_statements_instances p \
     LEFT JOIN performance_schema.threads t ON t.THREAD_ID = p.OWNER_THREAD_ID";

const SELECT_ALL: &str = "SELECT SCHEMA_NAME, DIGEST, DIGEST_TEXT, COUNT_STAR, SUM_TIMER_WAIT, \
     SUM_ROWS_SENT, SUM_ROWS_AFFECTED, SUM_ERRORS, CAST(FIRST_SEEN AS CHAR) \
     FROM performance_schema.events_statements_summary_by_digest";

impl MysqlDigest {
    /// Check that performance_schema and the digest consumers are on (enabling the consumers
    /// when asked) and settle the schema to read.
    pub async fn open(
        db: &Database,
        options: MysqlDigestOptions,
    ) -> Result<Self, MysqlDigestError> {
        let Database::Mysql(pool) = db else {
            return Err(MysqlDigestError::NotMysql(db.dialect()));
        };
        let pool = pool.clone();
        let on: i64 = sqlx::query_scalar("SELECT CAST(@@performance_schema AS SIGNED)")
            .fetch_one(&pool)
            .await?;
        if on == 0 {
            return Err(MysqlDigestError::PerformanceSchemaOff);
        }
        let disabled = disabled_consumers(&pool).await?;
        if !disabled.is_empty() {
            if !options.enable_consumers {
                return Err(MysqlDigestError::ConsumerDisabled(disabled.join(", ")));
            }
            sqlx::query(
                "UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' \
                 WHERE NAME IN ('global_instrumentation', 'statements_digest')",
            )
            .execute(&pool)
            .await
            .map_err(MysqlDigestError::Enable)?;
            let still = disabled_consumers(&pool).await?;
            if !still.is_empty() {
                return Err(MysqlDigestError::ConsumerDisabled(still.join(", ")));
            }
        }
        let mut notes = Vec::new();
        let enabled_instruments: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM performance_schema.setup_instruments \
             WHERE NAME LIKE 'statement/sql/%' AND ENABLED = 'YES'",
        )
        .fetch_one(&pool)
        .await?;
        if enabled_instruments == 0 {
            notes.push(
                "no statement/sql/% instrument is enabled: no statement is digested \
                 (performance-schema-instrument = 'statement/%=ON')"
                    .to_owned(),
            );
        }
        let schema = if options.all_schemas {
            None
        } else if let Some(s) = &options.schema {
            Some(s.clone())
        } else {
            let (current, _): (Option<String>, i64) =
                sqlx::query_as("SELECT DATABASE(), CAST(@@performance_schema AS SIGNED)")
                    .fetch_one(&pool)
                    .await?;
            if current.is_none() {
                notes.push("no database selected: reading digests of every schema".to_owned());
            }
            current
        };
        let (version, _): (String, i64) =
            sqlx::query_as("SELECT VERSION(), CAST(@@performance_schema AS SIGNED)")
                .fetch_one(&pool)
                .await?;
        let prepared = options
            .prepared_statements
            .unwrap_or_else(|| version.contains("MariaDB"));
        let max_digest_length: Option<i64> =
            sqlx::query_scalar("SELECT CAST(@@performance_schema_max_digest_length AS SIGNED)")
                .fetch_one(&pool)
                .await
                .ok();
        Ok(MysqlDigest {
            pool,
            options,
            schema,
            max_digest_length: max_digest_length.map(|n| n.max(0) as u64),
            prepared,
            notes,
            tracker: DeltaTracker::default(),
        })
    }

    /// The schema whose digests are read (`None`: all).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Things noticed when opening (disabled instruments, no default schema).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Read the digest table now.
    pub async fn read(&self) -> Result<DigestReading, MysqlDigestError> {
        // `@@performance_schema` makes the capture's own statements recognizable (and skipped).
        let (at, _): (i64, i64) = sqlx::query_as(
            "SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED), \
             CAST(@@performance_schema AS SIGNED)",
        )
        .fetch_one(&self.pool)
        .await?;
        let rows = match &self.schema {
            // The row with a NULL digest (statements the full table had no room for) belongs to
            // no schema; it is read to report the loss.
            Some(schema) => {
                let sql = format!("{SELECT_ALL} WHERE SCHEMA_NAME = ? OR DIGEST IS NULL");
                sqlx::query(AssertSqlSafe(sql))
                    .bind(schema)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(SELECT_ALL).fetch_all(&self.pool).await?,
        };
        let mut entries = Vec::with_capacity(rows.len());
        let mut truncated_texts = 0;
        for row in rows {
            let schema: Option<String> = row.try_get(0)?;
            let digest: Option<String> = row.try_get(1)?;
            let no_digest = digest.is_none();
            let text: Option<String> = row.try_get(2)?;
            let counters = StatementCounters {
                calls: row.try_get(3)?,
                total_ms: row.try_get::<u64, _>(4)? as f64 / 1e9,
                rows: row.try_get::<u64, _>(5)? + row.try_get::<u64, _>(6)?,
                errors: row.try_get(7)?,
            };
            let created: Option<String> = row.try_get(8)?;
            let skip = if no_digest {
                Some(StatSkipReason::DigestTableFull)
            } else {
                self.classify(text.as_deref())
            };
            if skip.is_none() && text.as_deref().is_some_and(is_truncated) {
                truncated_texts += 1;
            }
            entries.push(StatementEntry {
                key: DigestKey::Digest { schema, digest },
                text,
                counters,
                created,
                skip,
            });
        }
        if self.prepared {
            entries.extend(self.read_prepared().await?);
        }
        Ok(DigestReading {
            at,
            entries,
            truncated_texts,
        })
    }

    fn classify(&self, text: Option<&str>) -> Option<StatSkipReason> {
        match text {
            None => Some(StatSkipReason::NoText),
            Some(t) if t.trim().is_empty() => Some(StatSkipReason::NoText),
            Some(t) => classify_text(t, self.options.include_utility),
        }
    }

    /// Prepared statement instances of the schema's sessions. An instance lives as long as its
    /// statement is not deallocated (usually its connection's lifetime).
    async fn read_prepared(&self) -> Result<Vec<StatementEntry<DigestKey>>, MysqlDigestError> {
        let rows = match &self.schema {
            Some(schema) => {
                let sql = format!("{SELECT_PREPARED} WHERE t.PROCESSLIST_DB = ?");
                sqlx::query(AssertSqlSafe(sql))
                    .bind(schema)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(SELECT_PREPARED).fetch_all(&self.pool).await?,
        };
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let text: Option<String> = row.try_get(2)?;
            entries.push(StatementEntry {
                key: DigestKey::Prepared {
                    thread: row.try_get(0)?,
                    statement: row.try_get(1)?,
                },
                skip: self.classify(text.as_deref()),
                text,
                counters: StatementCounters {
                    calls: row.try_get(3)?,
                    total_ms: row.try_get::<u64, _>(4)? as f64 / 1e9,
                    rows: row.try_get::<u64, _>(5)? + row.try_get::<u64, _>(6)?,
                    errors: row.try_get(7)?,
                },
                created: row.try_get(8)?,
            });
        }
        Ok(entries)
    }

    /// Whether prepared statement instances are read too.
    pub fn reads_prepared_statements(&self) -> bool {
        self.prepared
    }

    /// One-shot: every digest's totals since the table was last emptied, as events. Does not
    /// touch the polling state.
    pub async fn totals(&self) -> Result<(Vec<CaptureEvent>, StatsPollReport), MysqlDigestError> {
        let reading = self.read().await?;
        Ok(self.to_events(reading, &mut DeltaTracker::default()))
    }

    /// Take a reading as the baseline of polling (no events).
    pub async fn baseline(&mut self) -> Result<StatsPollReport, MysqlDigestError> {
        let (_, report) = self.poll().await?;
        Ok(report)
    }

    /// Read the table and return what ran since the previous reading (the first reading returns
    /// the totals since the table was last emptied, and says so).
    pub async fn poll(&mut self) -> Result<(Vec<CaptureEvent>, StatsPollReport), MysqlDigestError> {
        let reading = self.read().await?;
        let mut tracker = std::mem::take(&mut self.tracker);
        let out = self.to_events(reading, &mut tracker);
        self.tracker = tracker;
        Ok(out)
    }

    fn to_events(
        &self,
        reading: DigestReading,
        tracker: &mut DeltaTracker<DigestKey>,
    ) -> (Vec<CaptureEvent>, StatsPollReport) {
        let mut report = StatsPollReport::new(reading.at);
        report.notes.clone_from(&self.notes);
        if reading.truncated_texts > 0 {
            report.notes.push(format!(
                "{} digest texts were cut at performance_schema_max_digest_length ({}); they are \
                 analysed as opaque patterns",
                reading.truncated_texts,
                self.max_digest_length
                    .map_or_else(|| "unknown".to_owned(), |n| n.to_string())
            ));
        }
        let active = tracker.advance(reading.entries, None, &mut report);
        let events = entries_to_events(active, CaptureSource::MysqlDigest, reading.at, &mut report);
        (events, report)
    }
}

/// Whether a digest text was cut at the maximum digest length.
fn is_truncated(text: &str) -> bool {
    text.trim_end().ends_with("...")
}

async fn disabled_consumers(pool: &MySqlPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(NAME AS CHAR) FROM performance_schema.setup_consumers \
         WHERE NAME IN ('global_instrumentation', 'statements_digest') AND ENABLED <> 'YES' \
         ORDER BY NAME",
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_digest_texts_are_recognized() {
        assert!(is_truncated("SELECT `a` , `b` , ... "));
        assert!(!is_truncated("SELECT `a` FROM `t` WHERE `x` = ?"));
    }
}
