//! Named captures in the registry: per capture its pattern store's bounds and counters, one row
//! per pattern holding its mergeable statistics, and a bounded list of recent co-access windows.
//!
//! [`Registry::flush_capture`] adds a [`CaptureDelta`] inside one transaction: the stored rows of
//! the delta's patterns are read, merged with the delta ([`PatternStore::merge`], exact) and
//! written back, the counters add up, and the least-called patterns beyond the store's
//! `max_patterns` are evicted (and counted) as a merge in memory would. Writers of one capture
//! are serialized (SQLite's write lock; a row lock on PostgreSQL), so several proxies flushing
//! into the same capture end up with exactly what one store that saw every event holds.
//! [`Registry::load_capture`] reads it all back in one consistent read.

use persona_core::analysis::recorder::CaptureDelta;
use persona_core::analysis::rules::Windows;
use persona_core::analysis::store::{PatternStats, PatternStore, StoreConfig, StoreCounters};
use persona_core::model::CaptureSource;
use serde::Serialize;
use sqlx::AssertSqlSafe;

use super::{Backend, BeginWrite, Registry, RegistryError, now};

/// Co-access windows kept per capture (the oldest go first).
pub const MAX_CAPTURE_WINDOWS: usize = 10_000;

/// Rows per statement when many are read or written at once.
const CHUNK: usize = 200;

/// A stored capture, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaptureInfo {
    pub name: String,
    /// The source of the first flush.
    pub source: CaptureSource,
    /// Distinct query patterns stored.
    pub patterns: u64,
    /// Calls over the stored patterns.
    pub calls: u64,
    /// Events recorded (an aggregated event counts once).
    pub events: u64,
    /// Co-access windows stored.
    pub windows: u64,
    /// Events the writers lost before recording them (a full queue).
    pub dropped_events: u64,
    /// Co-access windows dropped before they were stored (a writer's bound).
    pub dropped_windows: u64,
    /// Events without a session (left out of co-access windows).
    pub without_session: u64,
    /// Patterns evicted at the store's bound.
    pub evicted_patterns: u64,
    pub flushes: u64,
    /// First and last flush (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub created_at: String,
    pub updated_at: String,
}

/// A capture read back: what the analysis snapshot needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCapture {
    pub info: CaptureInfo,
    pub store: PatternStore,
    /// Windows of pattern fingerprints, oldest first (see
    /// [`item_windows`](persona_core::analysis::recorder::item_windows)).
    pub windows: Windows,
}

const INSERT_CAPTURE: &str = "INSERT INTO captures (name, source, store_config, created_at, \
     updated_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING";

const LOCK_POSTGRES: &str = "SELECT name FROM captures WHERE name = $1 FOR UPDATE";

const HEADER: &str = "SELECT store_config, events, ignored_events, evicted_patterns, \
     evicted_calls, next_window FROM captures WHERE name = $1";

const COUNT_PATTERNS: &str = "SELECT COUNT(*) FROM capture_patterns WHERE capture = $1";

const LEAST_CALLED: &str = "SELECT fingerprint, calls FROM capture_patterns WHERE capture = $1 \
     ORDER BY calls, last_seen, fingerprint LIMIT $2";

const TRIM_WINDOWS: &str = "DELETE FROM capture_windows WHERE capture = $1 AND seq < $2";

const UPDATE_CAPTURE: &str = "UPDATE captures SET events = $2, ignored_events = $3, \
     evicted_patterns = $4, evicted_calls = $5, dropped_events = dropped_events + $6, \
     dropped_windows = dropped_windows + $7, without_session = without_session + $8, \
     next_window = $9, flushes = flushes + 1, updated_at = $10 WHERE name = $1";

const INFO: &str = "SELECT c.name, c.source, c.events, c.dropped_events, c.dropped_windows, \
     c.without_session, c.evicted_patterns, c.flushes, c.created_at, c.updated_at, \
     (SELECT COUNT(*) FROM capture_patterns p WHERE p.capture = c.name), \
     (SELECT CAST(COALESCE(SUM(p.calls), 0) AS BIGINT) FROM capture_patterns p \
        WHERE p.capture = c.name), \
     (SELECT COUNT(*) FROM capture_windows w WHERE w.capture = c.name) \
     FROM captures c";

const NAMES: &str = "SELECT name FROM captures ORDER BY name";

const PATTERNS: &str = "SELECT stats FROM capture_patterns WHERE capture = $1 ORDER BY fingerprint";

const WINDOWS: &str = "SELECT items FROM capture_windows WHERE capture = $1 ORDER BY seq";

const SNAPSHOT_POSTGRES: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY";

const DELETE_WINDOWS: &str = "DELETE FROM capture_windows WHERE capture = $1";
const DELETE_ALL_PATTERNS: &str = "DELETE FROM capture_patterns WHERE capture = $1";
const DELETE_CAPTURE: &str = "DELETE FROM captures WHERE name = $1";

/// The columns of [`INFO`].
type InfoRow = (
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
);

/// The columns of [`HEADER`].
type HeaderRow = (String, i64, i64, i64, i64, i64);

/// A pattern row about to be written: fingerprint, calls, last seen, statistics as JSON.
type PatternRow = (String, i64, i64, String);

/// Delete the patterns whose fingerprints `$list` holds from capture `$name`, inside `$tx`.
macro_rules! delete_patterns {
    ($tx:ident, $name:expr, $list:expr) => {
        for chunk in $list.chunks(CHUNK) {
            let sql = format!(
                "DELETE FROM capture_patterns WHERE capture = $1 AND fingerprint IN ({})",
                params(2, chunk.len())
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind($name);
            for fp in chunk {
                query = query.bind(fp);
            }
            query.execute(&mut *$tx).await?;
        }
    };
}

impl Registry {
    /// Add `delta` (from `source`) to the capture `name`, creating it on first use. One
    /// transaction: the delta's patterns merge exactly with the stored ones, counters add up,
    /// patterns beyond the store's bound are evicted (least called first) and at most
    /// [`MAX_CAPTURE_WINDOWS`] windows are kept. Returns the capture as it now stands.
    pub async fn flush_capture(
        &self,
        name: &str,
        source: CaptureSource,
        delta: &CaptureDelta,
    ) -> Result<CaptureInfo, RegistryError> {
        self.flush_capture_bounded(name, source, delta, MAX_CAPTURE_WINDOWS)
            .await
    }

    async fn flush_capture_bounded(
        &self,
        name: &str,
        source: CaptureSource,
        delta: &CaptureDelta,
        max_windows: usize,
    ) -> Result<CaptureInfo, RegistryError> {
        check_capture_name(name)?;
        let config_json = encode(name, delta.store.config())?;
        let at = now();
        let patterns = delta.store.sorted_patterns();
        let fingerprints: Vec<String> =
            patterns.iter().map(|p| p.fingerprint.to_string()).collect();
        let skip = delta.windows.transactions.len().saturating_sub(max_windows);
        let windows = delta.windows.transactions[skip..]
            .iter()
            .map(|w| encode(name, w))
            .collect::<Result<Vec<_>, _>>()?;
        let lock = match self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(_) => Some(LOCK_POSTGRES),
        };
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(INSERT_CAPTURE)
                .bind(name)
                .bind(source_name(source))
                .bind(&config_json)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            if let Some(lock) = lock {
                sqlx::query(lock).bind(name).execute(&mut *tx).await?;
            }
            let header: HeaderRow = sqlx::query_as(HEADER).bind(name).fetch_one(&mut *tx).await?;
            let (config, counters, next_window) = parse_header(name, header)?;

            // Merge the delta into the stored rows of its patterns.
            let mut stored = Vec::with_capacity(fingerprints.len());
            for chunk in fingerprints.chunks(CHUNK) {
                let sql = format!(
                    "SELECT stats FROM capture_patterns WHERE capture = $1 AND fingerprint IN ({})",
                    params(2, chunk.len())
                );
                let mut query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql)).bind(name);
                for fp in chunk {
                    query = query.bind(fp);
                }
                for json in query.fetch_all(&mut *tx).await? {
                    stored.push(parse_stats(name, &json)?);
                }
            }
            let mut merged = PatternStore::from_parts(config, counters, stored)
                .map_err(|e| corrupt(name, e))?;
            merged.merge(&delta.store);
            let mut rows: Vec<PatternRow> = Vec::with_capacity(patterns.len());
            let mut evicted = Vec::new();
            for (p, fp) in patterns.iter().zip(&fingerprints) {
                match merged.get(p.fingerprint) {
                    Some(m) => rows.push((fp.clone(), to_db(m.calls()), m.last_seen, encode(name, m)?)),
                    None => evicted.push(fp.clone()),
                }
            }
            for chunk in rows.chunks(CHUNK) {
                let sql = format!(
                    "INSERT INTO capture_patterns (capture, fingerprint, calls, last_seen, stats) \
                     VALUES {} ON CONFLICT (capture, fingerprint) DO UPDATE SET \
                     calls = excluded.calls, last_seen = excluded.last_seen, stats = excluded.stats",
                    value_rows(chunk.len(), 4)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql)).bind(name);
                for (fp, calls, last_seen, json) in chunk {
                    query = query.bind(fp).bind(*calls).bind(*last_seen).bind(json);
                }
                query.execute(&mut *tx).await?;
            }
            delete_patterns!(tx, name, evicted);
            let mut counters = merged.counters();

            // The store's bound over every stored pattern, as a merge in memory applies it.
            let count: i64 = sqlx::query_scalar(COUNT_PATTERNS).bind(name).fetch_one(&mut *tx).await?;
            let max = to_db(config.max_patterns.max(1) as u64);
            if count > max {
                let victims: Vec<(String, i64)> = sqlx::query_as(LEAST_CALLED)
                    .bind(name)
                    .bind(count - max)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut gone = Vec::with_capacity(victims.len());
                for (fp, calls) in victims {
                    gone.push(fp);
                    counters.evicted_patterns = counters.evicted_patterns.saturating_add(1);
                    counters.evicted_calls = counters.evicted_calls.saturating_add(from_db(calls));
                }
                delete_patterns!(tx, name, gone);
            }

            // Windows: appended, the oldest beyond the bound removed.
            for (i, chunk) in windows.chunks(CHUNK).enumerate() {
                let sql = format!(
                    "INSERT INTO capture_windows (capture, seq, items) VALUES {}",
                    value_rows(chunk.len(), 2)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql)).bind(name);
                for (j, items) in chunk.iter().enumerate() {
                    query = query.bind(next_window + to_db((i * CHUNK + j) as u64)).bind(items);
                }
                query.execute(&mut *tx).await?;
            }
            let next = next_window + to_db(windows.len() as u64);
            sqlx::query(TRIM_WINDOWS)
                .bind(name)
                .bind(next.saturating_sub(to_db(max_windows as u64)))
                .execute(&mut *tx)
                .await?;

            sqlx::query(UPDATE_CAPTURE)
                .bind(name)
                .bind(to_db(counters.events))
                .bind(to_db(counters.ignored_events))
                .bind(to_db(counters.evicted_patterns))
                .bind(to_db(counters.evicted_calls))
                .bind(to_db(delta.dropped_events))
                .bind(to_db(delta.dropped_windows.saturating_add(skip as u64)))
                .bind(to_db(delta.windows.without_session))
                .bind(next)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            let sql = format!("{INFO} WHERE c.name = $1");
            let row: InfoRow = sqlx::query_as(AssertSqlSafe(sql)).bind(name).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            parse_info(row)
        })
    }

    /// Every stored capture, by name.
    pub async fn list_captures(&self) -> Result<Vec<CaptureInfo>, RegistryError> {
        let sql = format!("{INFO} ORDER BY c.name");
        let rows: Vec<InfoRow> =
            on_backend!(self, pool => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await?);
        rows.into_iter().map(parse_info).collect()
    }

    /// The capture `name`: its store, windows and counters, read consistently.
    pub async fn load_capture(&self, name: &str) -> Result<StoredCapture, RegistryError> {
        let snapshot = match self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(_) => Some(SNAPSHOT_POSTGRES),
        };
        let sql = format!("{INFO} WHERE c.name = $1");
        on_backend!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(snapshot) = snapshot {
                sqlx::query(snapshot).execute(&mut *tx).await?;
            }
            let row: Option<InfoRow> =
                sqlx::query_as(AssertSqlSafe(sql)).bind(name).fetch_optional(&mut *tx).await?;
            let Some(row) = row else {
                let known: Vec<String> = sqlx::query_scalar(NAMES).fetch_all(&mut *tx).await?;
                return Err(RegistryError::CaptureNotFound { name: name.to_owned(), known });
            };
            let info = parse_info(row)?;
            let header: HeaderRow = sqlx::query_as(HEADER).bind(name).fetch_one(&mut *tx).await?;
            let (config, counters, _) = parse_header(name, header)?;
            let stats: Vec<String> = sqlx::query_scalar(PATTERNS).bind(name).fetch_all(&mut *tx).await?;
            let windows: Vec<String> = sqlx::query_scalar(WINDOWS).bind(name).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            let patterns = stats
                .iter()
                .map(|json| parse_stats(name, json))
                .collect::<Result<Vec<_>, _>>()?;
            let store = PatternStore::from_parts(config, counters, patterns)
                .map_err(|e| corrupt(name, e))?;
            let transactions = windows
                .iter()
                .map(|json| serde_json::from_str::<Vec<String>>(json).map_err(|e| corrupt(name, e)))
                .collect::<Result<Vec<_>, _>>()?;
            let without_session = info.without_session;
            Ok(StoredCapture {
                info,
                store,
                windows: Windows { transactions, without_session },
            })
        })
    }

    /// Delete the capture `name` with its patterns and windows; returns what it held.
    pub async fn delete_capture(&self, name: &str) -> Result<CaptureInfo, RegistryError> {
        let sql = format!("{INFO} WHERE c.name = $1");
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<InfoRow> =
                sqlx::query_as(AssertSqlSafe(sql)).bind(name).fetch_optional(&mut *tx).await?;
            let Some(row) = row else {
                let known: Vec<String> = sqlx::query_scalar(NAMES).fetch_all(&mut *tx).await?;
                return Err(RegistryError::CaptureNotFound { name: name.to_owned(), known });
            };
            for sql in [DELETE_WINDOWS, DELETE_ALL_PATTERNS, DELETE_CAPTURE] {
                sqlx::query(sql).bind(name).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            parse_info(row)
        })
    }
}

/// The error text's list of the captures that exist.
pub(super) fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "; there are no captures yet".to_owned()
    } else {
        format!(" (captures: {})", known.join(", "))
    }
}

/// Refuse a capture name that is empty, padded, has control characters or is over 200
/// characters long.
pub fn check_capture_name(name: &str) -> Result<(), RegistryError> {
    match super::name_problem(name, "a capture needs a name") {
        None => Ok(()),
        Some(reason) => Err(RegistryError::InvalidCaptureName {
            name: name.to_owned(),
            reason,
        }),
    }
}

/// `$first, $first+1, …` (`n` of them).
fn params(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, …), ($1, …)`: `rows` tuples, each `$1` then `cols` parameters of its own.
fn value_rows(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("($1, {})", params(2 + r * cols, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stored name of a source (`proxy`, `pg_stat_statements`, …).
fn source_name(source: CaptureSource) -> String {
    match serde_json::to_value(source) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{source:?}"),
    }
}

fn encode<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<String, RegistryError> {
    serde_json::to_string(value).map_err(|source| RegistryError::EncodeCapture {
        name: name.to_owned(),
        source,
    })
}

fn corrupt(name: &str, e: impl std::error::Error + Send + Sync + 'static) -> RegistryError {
    RegistryError::CorruptCapture {
        name: name.to_owned(),
        source: Box::new(e),
    }
}

fn parse_stats(name: &str, json: &str) -> Result<PatternStats, RegistryError> {
    serde_json::from_str(json).map_err(|e| corrupt(name, e))
}

fn parse_header(
    name: &str,
    (config, events, ignored, evicted, evicted_calls, next_window): HeaderRow,
) -> Result<(StoreConfig, StoreCounters, i64), RegistryError> {
    let config: StoreConfig = serde_json::from_str(&config).map_err(|e| corrupt(name, e))?;
    let counters = StoreCounters {
        events: from_db(events),
        ignored_events: from_db(ignored),
        evicted_patterns: from_db(evicted),
        evicted_calls: from_db(evicted_calls),
    };
    Ok((config, counters, next_window))
}

fn parse_info(row: InfoRow) -> Result<CaptureInfo, RegistryError> {
    let (
        name,
        source,
        events,
        dropped_events,
        dropped_windows,
        without_session,
        evicted_patterns,
        flushes,
        created_at,
        updated_at,
        patterns,
        calls,
        windows,
    ) = row;
    let source =
        serde_json::from_value(serde_json::Value::String(source)).map_err(|e| corrupt(&name, e))?;
    Ok(CaptureInfo {
        source,
        patterns: from_db(patterns),
        calls: from_db(calls),
        events: from_db(events),
        windows: from_db(windows),
        dropped_events: from_db(dropped_events),
        dropped_windows: from_db(dropped_windows),
        without_session: from_db(without_session),
        evicted_patterns: from_db(evicted_patterns),
        flushes: from_db(flushes),
        created_at,
        updated_at,
        name,
    })
}

fn to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests;
