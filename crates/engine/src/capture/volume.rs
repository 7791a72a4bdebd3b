//! Data-volume sampling: row counts and on-disk sizes of every table, per dialect, as
//! `(at, table, rows, bytes)` samples for the trend fitting of `persona_core::analysis::trends`,
//! and a helper that samples periodically.
//!
//! - PostgreSQL (the connection's current schema): `pg_class.reltuples` (the planner's
//!   estimate), replaced by an exact `count(*)` for small or never-analysed tables;
//!   `pg_total_relation_size` (table, indexes and TOAST; summed over partitions).
//! - MySQL/MariaDB (the default database): `information_schema.TABLES.TABLE_ROWS` (an estimate
//!   for InnoDB), replaced by an exact `COUNT(*)` for small tables; `DATA_LENGTH + INDEX_LENGTH`
//!   (InnoDB's estimate, refreshed by its statistics).
//! - SQLite: exact `count(*)`; sizes from the `dbstat` table when compiled in, else the
//!   database's `page_count × page_size` shared out by row counts (an estimate).
//!
//! Row counts run inside a CTE named with the capture marker (`OWN_QUERY_MARKER`), so that
//! `pg_stat_statements` (whose query ids ignore column aliases, but not a CTE) and digest polling
//! tell them from the application's own `count(*)` and skip them.

use std::time::Duration;

use persona_core::Dialect;
use persona_core::analysis::trends::{self, TableTrend, TrendConfig, VolumeSample};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use super::pg_stat_statements::{OWN_QUERY_MARKER, now_micros};
use crate::db::Database;

/// Errors sampling table volumes.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("sampling table volumes failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("counting rows of `{table}` failed: {source}")]
    Count {
        table: String,
        #[source]
        source: sqlx::Error,
    },
}

/// How to sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeOptions {
    /// Tables whose estimated row count is below this are counted exactly.
    pub exact_below_rows: u64,
    /// Only these tables (all tables when empty).
    pub tables: Vec<String>,
}

impl Default for VolumeOptions {
    fn default() -> Self {
        VolumeOptions {
            exact_below_rows: 100_000,
            tables: Vec::new(),
        }
    }
}

/// The volume of one table at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableVolume {
    pub table: String,
    pub rows: u64,
    /// Whether `rows` was counted rather than estimated.
    pub rows_exact: bool,
    /// Size on disk (table and indexes), when known.
    pub bytes: Option<u64>,
    /// Whether `bytes` is an estimate (InnoDB statistics, SQLite without `dbstat`).
    pub bytes_estimated: bool,
}

/// Every table's volume at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeReading {
    /// Microseconds since the Unix epoch.
    pub at: i64,
    pub dialect: Dialect,
    pub tables: Vec<TableVolume>,
}

impl VolumeReading {
    /// The reading as trend samples.
    pub fn samples(&self) -> Vec<VolumeSample> {
        self.tables
            .iter()
            .map(|t| VolumeSample {
                at: self.at,
                table: t.table.clone(),
                rows: t.rows,
                bytes: t.bytes,
            })
            .collect()
    }

    /// How many tables' row counts are estimates.
    pub fn estimated_rows(&self) -> usize {
        self.tables.iter().filter(|t| !t.rows_exact).count()
    }
}

/// Sample every table of the database once.
pub async fn sample_volumes(
    db: &Database,
    options: &VolumeOptions,
) -> Result<VolumeReading, VolumeError> {
    let at = now_micros();
    let mut tables = match db {
        Database::Postgres(pool) => postgres(pool, options).await?,
        Database::Mysql(pool) => mysql(pool, options).await?,
        Database::Sqlite(pool) => sqlite(pool, options).await?,
    };
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(VolumeReading {
        at,
        dialect: db.dialect(),
        tables,
    })
}

/// Sample `count` times, `interval` apart (the first at once), handing each reading to
/// `on_reading`; returns all samples.
pub async fn sample_periodically(
    db: &Database,
    options: &VolumeOptions,
    interval: Duration,
    count: usize,
    mut on_reading: impl FnMut(&VolumeReading),
) -> Result<Vec<VolumeSample>, VolumeError> {
    let mut samples = Vec::new();
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..count {
        ticker.tick().await;
        let reading = sample_volumes(db, options).await?;
        on_reading(&reading);
        samples.extend(reading.samples());
    }
    Ok(samples)
}

/// Samples accumulated over time, with their fitted trends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeHistory {
    pub samples: Vec<VolumeSample>,
}

impl VolumeHistory {
    /// Take one more reading.
    pub async fn sample(
        &mut self,
        db: &Database,
        options: &VolumeOptions,
    ) -> Result<VolumeReading, VolumeError> {
        let reading = sample_volumes(db, options).await?;
        self.samples.extend(reading.samples());
        Ok(reading)
    }

    /// Growth rates and projections fitted to the samples so far.
    pub fn trends(&self, config: &TrendConfig) -> Vec<TableTrend> {
        trends::table_trends(&self.samples, config)
    }
}

/// `count(*)` of `table`, as a query marked as the tool's own (capture sources skip it).
fn count_sql(dialect: Dialect, table: &str) -> String {
    format!(
        "WITH {OWN_QUERY_MARKER} AS (SELECT count(*) AS n FROM {}) SELECT n FROM {OWN_QUERY_MARKER}",
        dialect.quote_ident(table)
    )
}

/// The exact row count of `$table` (a `&str`) through `$pool`, or a [`VolumeError::Count`].
macro_rules! exact_count {
    ($pool:expr, $dialect:expr, $table:expr) => {{
        let table: &str = $table;
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql($dialect, table)))
            .fetch_one($pool)
            .await
            .map_err(|source| VolumeError::Count {
                table: table.to_owned(),
                source,
            })?;
        n.max(0) as u64
    }};
}

fn wanted(options: &VolumeOptions, table: &str) -> bool {
    options.tables.is_empty() || options.tables.iter().any(|t| t == table)
}

async fn postgres(
    pool: &sqlx::PgPool,
    options: &VolumeOptions,
) -> Result<Vec<TableVolume>, VolumeError> {
    let rows = sqlx::query(
        "SELECT c.relname::text, c.reltuples::float8, \
           CASE WHEN c.relkind = 'p' \
             THEN (SELECT COALESCE(sum(pg_catalog.pg_total_relation_size(t.relid)), 0) \
                   FROM pg_catalog.pg_partition_tree(c.oid) t)::int8 \
             ELSE pg_catalog.pg_total_relation_size(c.oid)::int8 END \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let table: String = row.try_get(0)?;
        if !wanted(options, &table) {
            continue;
        }
        let estimate: f64 = row.try_get(1)?;
        let bytes: i64 = row.try_get(2)?;
        // reltuples is -1 for a table never vacuumed or analysed (and for partitioned parents).
        let exact = estimate < 0.0 || estimate < options.exact_below_rows as f64;
        let rows = if exact {
            exact_count!(pool, Dialect::Postgres, &table)
        } else {
            estimate.round() as u64
        };
        out.push(TableVolume {
            table,
            rows,
            rows_exact: exact,
            bytes: Some(bytes.max(0) as u64),
            bytes_estimated: false,
        });
    }
    Ok(out)
}

async fn mysql(
    pool: &sqlx::MySqlPool,
    options: &VolumeOptions,
) -> Result<Vec<TableVolume>, VolumeError> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(TABLE_ROWS AS SIGNED), \
           CAST(COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) AS SIGNED), \
           CAST(ENGINE AS CHAR) \
         FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let table: String = row.try_get(0)?;
        if !wanted(options, &table) {
            continue;
        }
        let estimate: Option<i64> = row.try_get(1)?;
        let bytes: Option<i64> = row.try_get(2)?;
        let engine: Option<String> = row.try_get(3)?;
        // MyISAM and Aria keep exact counts; InnoDB's TABLE_ROWS is a sampled estimate.
        let counted_by_engine = matches!(engine.as_deref(), Some("MyISAM" | "Aria"));
        let exact = counted_by_engine
            || estimate.is_none_or(|e| e < 0 || (e as u64) < options.exact_below_rows);
        let rows = if exact && !counted_by_engine {
            exact_count!(pool, Dialect::Mysql, &table)
        } else {
            estimate.unwrap_or(0).max(0) as u64
        };
        out.push(TableVolume {
            table,
            rows,
            rows_exact: exact,
            bytes: bytes.map(|b| b.max(0) as u64),
            bytes_estimated: !counted_by_engine,
        });
    }
    Ok(out)
}

async fn sqlite(
    pool: &sqlx::SqlitePool,
    options: &VolumeOptions,
) -> Result<Vec<TableVolume>, VolumeError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(names.len());
    for table in names.into_iter().filter(|t| wanted(options, t)) {
        let n = exact_count!(pool, Dialect::Sqlite, &table);
        out.push(TableVolume {
            table,
            rows: n,
            rows_exact: true,
            bytes: None,
            bytes_estimated: false,
        });
    }
    // dbstat: one row per b-tree page; a table's size includes its indexes' b-trees.
    let mut have_dbstat = true;
    for t in &mut out {
        if let Ok(size) = sqlx::query_scalar::<_, Option<i64>>(
            "SELECT SUM(pgsize) FROM dbstat \
             WHERE name = ?1 OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1)",
        )
        .bind(&t.table)
        .fetch_one(pool)
        .await
        {
            t.bytes = Some(size.unwrap_or(0).max(0) as u64);
        } else {
            have_dbstat = false;
            break;
        }
    }
    if !have_dbstat {
        let page_count: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(pool)
            .await?;
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(pool)
            .await?;
        let total = (page_count.max(0) * page_size.max(0)) as f64;
        let all_rows: u64 = out.iter().map(|t| t.rows).sum::<u64>().max(1);
        for t in &mut out {
            t.bytes = Some((total * t.rows as f64 / all_rows as f64).round() as u64);
            t.bytes_estimated = true;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_tables_are_counted_and_sized() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("v.db").display());
        let db = Database::connect(&url).await.unwrap();
        db.execute("CREATE TABLE small (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX small_v ON small (v); CREATE TABLE \"odd name\" (x INTEGER)")
            .await
            .unwrap();
        db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO small (v) SELECT printf('value %d', i) FROM n")
            .await
            .unwrap();
        db.execute("INSERT INTO \"odd name\" VALUES (1), (2)")
            .await
            .unwrap();
        let reading = sample_volumes(&db, &VolumeOptions::default())
            .await
            .unwrap();
        let names: Vec<&str> = reading.tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, ["odd name", "small"]);
        assert_eq!(reading.tables[0].rows, 2);
        assert_eq!(reading.tables[1].rows, 500);
        assert!(reading.tables.iter().all(|t| t.rows_exact));
        let small = reading.tables[1].bytes.unwrap();
        let odd = reading.tables[0].bytes.unwrap();
        assert!(small > odd, "{small} vs {odd}");
        let samples = reading.samples();
        assert_eq!(samples.len(), 2);
        assert!(samples.iter().all(|s| s.at == reading.at));

        let only = VolumeOptions {
            tables: vec!["small".into()],
            ..VolumeOptions::default()
        };
        let mut history = VolumeHistory::default();
        history.sample(&db, &only).await.unwrap();
        db.execute("INSERT INTO small (v) SELECT v FROM small")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        history.sample(&db, &only).await.unwrap();
        let trends = history.trends(&TrendConfig::default());
        assert_eq!(trends.len(), 1);
        assert_eq!(trends[0].rows_now, 1000);
        assert!(trends[0].rows_per_day.unwrap() > 0.0);
        db.close().await;
    }
}
