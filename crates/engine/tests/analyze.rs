//! Capture and analysis end to end against real servers: a known workload (several sessions of
//! point lookups, joins of orders and customers without a declared foreign key, range scans and
//! inserts) run in a scratch database, read back through `pg_stat_statements` and MariaDB's
//! statement digests (one-shot, polled deltas, resets), and analysed through the pattern store
//! and snapshot (patterns, an emerging relationship, co-access rules). Also volume sampling per
//! dialect. Server tests skip when their URL is unset (fail with `PERSONA_REQUIRE_SERVERS=1`).

use std::collections::BTreeMap;

use persona_core::Dialect;
use persona_core::analysis::fingerprint::{Fingerprint, Flavor, fingerprint_as};
use persona_core::analysis::rules::ItemKind;
use persona_core::analysis::snapshot::{AnalysisConfig, RuleInput, snapshot};
use persona_core::analysis::store::{PatternStore, StoreConfig};
use persona_core::analysis::trends::VolumeSample;
use persona_core::model::{CaptureEvent, CaptureSource};
use persona_engine::capture::mysql_digest::{MysqlDigest, MysqlDigestError, MysqlDigestOptions};
use persona_engine::capture::pg_stat_statements::{
    PgStatStatements, PgStatStatementsError, PgStatStatementsOptions, StatSkipReason,
};
use persona_engine::capture::volume::{VolumeOptions, sample_volumes};
use persona_engine::introspect::introspect;
use persona_engine::testing::TestDb;
use sqlx::{AssertSqlSafe, Connection, Executor};
use tokio::sync::Mutex;

/// `pg_stat_statements_reset()` and `TRUNCATE` of the digest table are server-wide: tests that
/// read or reset them run one at a time.
static SERVER_STATS: Mutex<()> = Mutex::const_new(());

// ---------------------------------------------------------------------------------------------
// The workload

const SCHEMA_PG: &str = "
CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL, name text NOT NULL, country text NOT NULL);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer NOT NULL, total numeric(10,2) NOT NULL,
                     status text NOT NULL, placed_at timestamptz NOT NULL);
INSERT INTO customers SELECT i, 'c' || i || '@example.com', 'Customer ' || i, (ARRAY['FR','DE','US'])[1 + i % 3]
  FROM generate_series(1, 60) i;
INSERT INTO orders (customer_id, total, status, placed_at)
  SELECT 1 + i % 60, (i % 97) + 0.5, (ARRAY['new','paid','shipped'])[1 + i % 3], now() - i * interval '1 hour'
  FROM generate_series(1, 400) i;
";

const SCHEMA_MYSQL: &str = "
CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(100) NOT NULL, country CHAR(2) NOT NULL);
CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL,
                     status VARCHAR(10) NOT NULL, placed_at DATETIME NOT NULL);
INSERT INTO customers SELECT seq, CONCAT('c', seq, '@example.com'), CONCAT('Customer ', seq), ELT(1 + seq % 3, 'FR', 'DE', 'US')
  FROM seq_1_to_60;
INSERT INTO orders (customer_id, total, status, placed_at)
  SELECT 1 + seq % 60, (seq % 97) + 0.5, ELT(1 + seq % 3, 'new', 'paid', 'shipped'), NOW() - INTERVAL seq HOUR
  FROM seq_1_to_400;
";

/// The statement shapes of the workload, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Lookup,
    Join,
    Range,
    Insert,
}

impl Shape {
    const ALL: [Shape; 4] = [Shape::Lookup, Shape::Join, Shape::Range, Shape::Insert];

    /// The statement with literals, as an application (or a log) shows it; `i` varies them.
    fn sql(self, dialect: Dialect, i: u32) -> String {
        let customer = 1 + i % 60;
        match (self, dialect) {
            (Shape::Lookup, _) => {
                format!("SELECT id, email, name FROM customers WHERE id = {customer}")
            }
            (Shape::Join, _) => format!(
                "SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id \
                 WHERE o.customer_id = {customer} ORDER BY o.id"
            ),
            // (MariaDB's digest spells the unit `SQL_TSI_HOUR`; the fingerprint must not care.)
            (Shape::Range, Dialect::Mysql) => format!(
                "SELECT id, total FROM orders WHERE placed_at >= NOW() - INTERVAL {} HOUR \
                 AND total > {} ORDER BY placed_at",
                i % 48 + 1,
                i % 10
            ),
            (Shape::Range, _) => format!(
                "SELECT id, total FROM orders WHERE placed_at >= now() - interval '{} hours' \
                 AND total > {} ORDER BY placed_at",
                i % 48 + 1,
                i % 10
            ),
            (Shape::Insert, Dialect::Mysql) => format!(
                "INSERT INTO orders (customer_id, total, status, placed_at) VALUES ({customer}, {}.25, 'new', NOW())",
                i % 50
            ),
            (Shape::Insert, _) => format!(
                "INSERT INTO orders (customer_id, total, status, placed_at) VALUES ({customer}, {}.25, 'new', now())",
                i % 50
            ),
        }
    }

    fn fingerprint(self, dialect: Dialect) -> Fingerprint {
        fingerprint_as(&self.sql(dialect, 7), Flavor::from(dialect))
    }
}

/// How many statements of each shape one session runs.
type Mix = [(Shape, u32); 4];

/// Run `mix` in each of `sessions` concurrent connections (text protocol, literals), recording
/// every statement as a session-tagged event (what a proxy or a log would capture).
async fn run_workload(
    url: &str,
    dialect: Dialect,
    sessions: u32,
    mix: Mix,
    seed: u32,
) -> Vec<CaptureEvent> {
    let mut tasks = Vec::new();
    for s in 0..sessions {
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let session = format!("s{seed}-{s}");
            let mut events = Vec::new();
            // Interleave the shapes, as an application does: a lookup, its orders, …
            let mut statements = Vec::new();
            let rounds = mix.iter().map(|(_, n)| *n).max().unwrap_or(0);
            for r in 0..rounds {
                for (shape, n) in mix {
                    if r < n {
                        statements.push(shape.sql(dialect, seed * 1000 + s * 100 + r));
                    }
                }
            }
            if dialect == Dialect::Postgres {
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                for sql in statements {
                    conn.execute(sqlx::raw_sql(AssertSqlSafe(sql.clone())))
                        .await
                        .unwrap();
                    events.push(event(&session, sql));
                }
                conn.close().await.unwrap();
            } else {
                let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
                for sql in statements {
                    conn.execute(sqlx::raw_sql(AssertSqlSafe(sql.clone())))
                        .await
                        .unwrap();
                    events.push(event(&session, sql));
                }
                // MariaDB folds a statement into its digest row only after it has sent the
                // reply, so a poll right after the last reply can miss that statement (the
                // next poll would count it). The server handles one command at a time per
                // connection: once this trailing `DO 0` is answered, every workload statement
                // before it is in the table.
                conn.execute("DO 0").await.unwrap();
                conn.close().await.unwrap();
            }
            events
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn event(session: &str, sql: String) -> CaptureEvent {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    CaptureEvent {
        session: Some(session.to_owned()),
        ..CaptureEvent::single(
            CaptureSource::JsonLines,
            at,
            sql,
            std::time::Duration::from_micros(50),
        )
    }
}

/// Calls per workload shape among `events`, matched by fingerprint; other events are ignored.
fn calls_by_shape(events: &[CaptureEvent], dialect: Dialect) -> BTreeMap<Shape, u64> {
    let flavor = Flavor::from(dialect);
    let mut out = BTreeMap::new();
    for e in events {
        let fp = fingerprint_as(&e.sql, flavor);
        if let Some(shape) = Shape::ALL.iter().find(|s| s.fingerprint(dialect) == fp) {
            *out.entry(*shape).or_insert(0) += e.calls;
        }
    }
    out
}

fn expected(sessions: u32, mix: Mix) -> BTreeMap<Shape, u64> {
    mix.iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (*s, u64::from(sessions * n)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: pg_stat_statements

#[tokio::test]
async fn pg_stat_statements_needs_the_extension() {
    let Some(t) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let err = PgStatStatements::open(&t.db, PgStatStatementsOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PgStatStatementsError::NotInstalled { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("CREATE EXTENSION pg_stat_statements"),
        "{text}"
    );
    assert!(text.contains("preload"), "{text}");
    assert!(text.contains("--create-extension"), "{text}");
    // The SQLite and MySQL databases are refused with a clear error too.
    let sqlite = TestDb::new(Dialect::Sqlite).await.unwrap();
    let err = PgStatStatements::open(&sqlite.db, PgStatStatementsOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PgStatStatementsError::NotPostgres(Dialect::Sqlite)),
        "{err}"
    );
    sqlite.cleanup().await;
    t.cleanup().await;
}

#[tokio::test]
async fn pg_stat_statements_polls_deltas_and_survives_resets() {
    let Some(t) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let guard = SERVER_STATS.lock().await;
    let d = Dialect::Postgres;
    let options = PgStatStatementsOptions {
        create_extension: true,
        ..PgStatStatementsOptions::default()
    };
    let mut source = PgStatStatements::open(&t.db, options).await.unwrap();
    assert!(!source.extension_version().is_empty());
    t.db.execute(SCHEMA_PG).await.unwrap();

    let baseline = source.baseline().await.unwrap();
    assert!(baseline.cumulative);

    // Round 1: three sessions.
    let mix1: Mix = [
        (Shape::Lookup, 12),
        (Shape::Join, 8),
        (Shape::Range, 3),
        (Shape::Insert, 2),
    ];
    run_workload(&t.url, d, 3, mix1, 1).await;
    let (events, report) = source.poll().await.unwrap();
    assert!(!report.cumulative && !report.reset_detected(), "{report}");
    assert_eq!(calls_by_shape(&events, d), expected(3, mix1), "{events:#?}");
    for e in &events {
        assert_eq!(e.source, CaptureSource::PgStatStatements);
        assert!(e.session.is_none());
        assert!(e.calls > 0);
        assert!(
            !e.sql.contains("pg_stat_statements"),
            "the capture's own query: {}",
            e.sql
        );
    }
    // The texts carry placeholders, not the literals of the first call.
    let lookup = events
        .iter()
        .find(|e| fingerprint_as(&e.sql, Flavor::Postgres) == Shape::Lookup.fingerprint(d))
        .unwrap();
    assert!(lookup.sql.contains("$1"), "{}", lookup.sql);
    // Rows: each lookup returns one row, each insert writes one.
    assert_eq!(lookup.rows, Some(36));
    // The DDL and seeding of the schema ran before the baseline; utility statements run now are
    // skipped and said so.
    t.db.execute("CREATE INDEX orders_status ON orders (status)")
        .await
        .unwrap();
    t.db.execute("SELECT count(*) FROM orders").await.unwrap();

    // Round 2: the deltas are exactly the second round's calls.
    let mix2: Mix = [
        (Shape::Lookup, 5),
        (Shape::Join, 0),
        (Shape::Range, 4),
        (Shape::Insert, 1),
    ];
    run_workload(&t.url, d, 2, mix2, 2).await;
    // Volume sampling counts rows of the same tables; its statements are not the workload's.
    sample_volumes(&t.db, &VolumeOptions::default())
        .await
        .unwrap();
    let (events, report) = source.poll().await.unwrap();
    assert!(!report.reset_detected(), "{report}");
    assert_eq!(calls_by_shape(&events, d), expected(2, mix2));
    assert_eq!(
        report.skipped.count(StatSkipReason::OwnQuery),
        2,
        "{report}"
    );
    assert!(
        report.skipped.count(StatSkipReason::UtilityStatement) >= 1,
        "{report}"
    );
    assert!(
        report.skipped.count(StatSkipReason::SystemCatalog) >= 1,
        "{report}"
    );
    let count_all = fingerprint_as("SELECT count(*) FROM orders", Flavor::Postgres);
    let counted: u64 = events
        .iter()
        .filter(|e| fingerprint_as(&e.sql, Flavor::Postgres) == count_all)
        .map(|e| e.calls)
        .sum();
    assert_eq!(counted, 1);

    // A reset of this database's entries only: the counters go backwards (or the entries vanish
    // and come back); the values since the reset are taken.
    sqlx::query("SELECT pg_stat_statements_reset(0, $1::oid, 0)")
        .bind(source.dbid())
        .execute(match &t.db {
            persona_engine::Database::Postgres(p) => p,
            _ => unreachable!(),
        })
        .await
        .unwrap();
    let mix3: Mix = [
        (Shape::Lookup, 2),
        (Shape::Join, 1),
        (Shape::Range, 0),
        (Shape::Insert, 0),
    ];
    run_workload(&t.url, d, 1, mix3, 3).await;
    let (events, report) = source.poll().await.unwrap();
    assert_eq!(calls_by_shape(&events, d), expected(1, mix3), "{report}");
    assert!(
        report.entries_reset >= 2,
        "lookups and joins went backwards: {report}"
    );
    assert!(
        report.entries_vanished >= 1,
        "the range scans were reset and did not run: {report}"
    );
    assert_eq!(report.resets, 0, "{report}");

    // A full reset (pg_stat_statements_info.stats_reset changes).
    t.db.execute("SELECT pg_stat_statements_reset()")
        .await
        .unwrap();
    let mix4: Mix = [
        (Shape::Lookup, 30),
        (Shape::Join, 0),
        (Shape::Range, 1),
        (Shape::Insert, 0),
    ];
    run_workload(&t.url, d, 1, mix4, 4).await;
    let (events, report) = source.poll().await.unwrap();
    assert_eq!(report.resets, 1, "{report}");
    assert!(report.reset_detected());
    assert!(report.to_string().contains("reset"), "{report}");
    assert_eq!(calls_by_shape(&events, d), expected(1, mix4));

    // One-shot totals since the reset agree, and leave the polling state alone.
    let (totals, report) = source.totals().await.unwrap();
    assert!(report.cumulative);
    assert_eq!(calls_by_shape(&totals, d), expected(1, mix4));
    let (events, _) = source.poll().await.unwrap();
    assert!(calls_by_shape(&events, d).is_empty(), "{events:#?}");
    drop(guard);
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// MariaDB: performance_schema statement digests

/// A digest source on `t`, or `None` (with the reason printed) when performance_schema is OFF;
/// that is a failure when `PERSONA_REQUIRE_SERVERS=1`.
async fn digest_source(t: &TestDb) -> Option<MysqlDigest> {
    match MysqlDigest::open(&t.db, MysqlDigestOptions::default()).await {
        Ok(source) => Some(source),
        Err(e @ MysqlDigestError::PerformanceSchemaOff) => {
            assert!(
                std::env::var("PERSONA_REQUIRE_SERVERS").as_deref() != Ok("1"),
                "PERSONA_REQUIRE_SERVERS=1 but {e} (run scripts/mysql-test-setup.sh)"
            );
            eprintln!("skipped: performance_schema is OFF (run scripts/mysql-test-setup.sh)");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn mysql_digests_poll_deltas_and_survive_truncation() {
    let Some(t) = TestDb::new(Dialect::Mysql).await else {
        return;
    };
    let guard = SERVER_STATS.lock().await;
    let Some(mut source) = digest_source(&t).await else {
        t.cleanup().await;
        return;
    };
    let d = Dialect::Mysql;
    assert!(source.schema().is_some_and(|s| s.starts_with("persona_t_")));
    t.db.execute(SCHEMA_MYSQL).await.unwrap();
    source.baseline().await.unwrap();

    let mix1: Mix = [
        (Shape::Lookup, 10),
        (Shape::Join, 6),
        (Shape::Range, 2),
        (Shape::Insert, 3),
    ];
    run_workload(&t.url, d, 3, mix1, 1).await;
    // A session using server-side prepared statements (the binary protocol): MariaDB keeps them
    // out of the digest table; the source reads them from prepared_statements_instances.
    let mut prepared = sqlx::MySqlConnection::connect(&t.url).await.unwrap();
    for id in 1..=5 {
        sqlx::query("SELECT id, email, name FROM customers WHERE id = ?")
            .bind(id)
            .fetch_all(&mut prepared)
            .await
            .unwrap();
    }
    prepared.execute("DO 0").await.unwrap(); // see run_workload
    let (events, report) = source.poll().await.unwrap();
    assert!(!report.reset_detected(), "{report}");
    let mut want = expected(3, mix1);
    if source.reads_prepared_statements() {
        *want.get_mut(&Shape::Lookup).unwrap() += 5;
    }
    assert_eq!(calls_by_shape(&events, d), want, "{events:#?}\n{report}");
    assert!(
        events
            .iter()
            .all(|e| e.source == CaptureSource::MysqlDigest)
    );
    let join = events
        .iter()
        .find(|e| fingerprint_as(&e.sql, Flavor::Mysql) == Shape::Join.fingerprint(d))
        .unwrap();
    assert!(
        join.sql.contains('?') && join.sql.contains('`'),
        "a digest text: {}",
        join.sql
    );
    let insert = events
        .iter()
        .find(|e| fingerprint_as(&e.sql, Flavor::Mysql) == Shape::Insert.fingerprint(d))
        .unwrap();
    assert_eq!(insert.rows, Some(9), "rows affected by the inserts");
    // The connections' start-up `SET` statements are utility statements, counted as skipped.
    assert!(
        report.skipped.count(StatSkipReason::UtilityStatement) >= 1,
        "{report}"
    );

    // Its next executions are deltas of the same instance.
    for id in 1..=2 {
        sqlx::query("SELECT id, email, name FROM customers WHERE id = ?")
            .bind(id)
            .fetch_all(&mut prepared)
            .await
            .unwrap();
    }
    prepared.execute("DO 0").await.unwrap();
    let (later, later_report) = source.poll().await.unwrap();
    assert!(!later_report.reset_detected(), "{later_report}");
    if source.reads_prepared_statements() {
        assert_eq!(
            calls_by_shape(&later, d),
            BTreeMap::from([(Shape::Lookup, 2)])
        );
    }
    // Closing the connection deallocates the instance: it vanishes, nothing is counted twice.
    prepared.close().await.unwrap();
    let (later, later_report) = source.poll().await.unwrap();
    assert!(calls_by_shape(&later, d).is_empty(), "{later:#?}");
    if source.reads_prepared_statements() {
        assert!(later_report.entries_vanished >= 1, "{later_report}");
    }

    // A failing statement becomes an event with an error.
    let bad = t.db.execute("SELECT no_such_column FROM orders").await;
    assert!(bad.is_err());
    let mix2: Mix = [
        (Shape::Lookup, 4),
        (Shape::Join, 0),
        (Shape::Range, 0),
        (Shape::Insert, 0),
    ];
    run_workload(&t.url, d, 2, mix2, 2).await;
    // Volume sampling counts rows of the same tables; its statements are not the workload's.
    sample_volumes(&t.db, &VolumeOptions::default())
        .await
        .unwrap();
    let (events, report) = source.poll().await.unwrap();
    assert!(!report.reset_detected(), "{report}");
    assert_eq!(calls_by_shape(&events, d), expected(2, mix2));
    assert_eq!(
        report.skipped.count(StatSkipReason::OwnQuery),
        2,
        "{report}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.error.is_some() && e.sql.contains("no_such_column")),
        "{events:#?}"
    );

    // TRUNCATE empties the table: the values since then are taken, and the reset reported.
    t.db.execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest")
        .await
        .unwrap();
    let mix3: Mix = [
        (Shape::Lookup, 3),
        (Shape::Join, 2),
        (Shape::Range, 0),
        (Shape::Insert, 0),
    ];
    run_workload(&t.url, d, 1, mix3, 3).await;
    let (events, report) = source.poll().await.unwrap();
    assert_eq!(calls_by_shape(&events, d), expected(1, mix3), "{report}");
    assert!(report.reset_detected(), "{report}");
    drop(guard);
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Store and snapshot: patterns, an undeclared relationship, co-access rules, volume trends

/// Runs the analysis workload on `t` and returns the source's events for it (aggregated, no
/// sessions) and the workload's own session-tagged events. Application sessions look customers
/// up and list their orders (a join on `orders.customer_id = customers.id`, which no foreign key
/// declares); reporting sessions scan order ranges and insert orders.
async fn analysis_workload(
    t: &TestDb,
    dialect: Dialect,
    app: (u32, Mix),
    reporting: (u32, Mix),
    volumes: &mut Vec<VolumeSample>,
) -> Option<(Vec<CaptureEvent>, Vec<CaptureEvent>)> {
    let mut pg = None;
    let mut my = None;
    if dialect == Dialect::Postgres {
        let options = PgStatStatementsOptions {
            create_extension: true,
            ..PgStatStatementsOptions::default()
        };
        pg = Some(PgStatStatements::open(&t.db, options).await.unwrap());
        t.db.execute(SCHEMA_PG).await.unwrap();
    } else {
        my = Some(digest_source(t).await?);
        t.db.execute(SCHEMA_MYSQL).await.unwrap();
    }
    volumes.extend(
        sample_volumes(&t.db, &VolumeOptions::default())
            .await
            .unwrap()
            .samples(),
    );
    if let Some(s) = &mut pg {
        s.baseline().await.unwrap();
    }
    if let Some(s) = &mut my {
        s.baseline().await.unwrap();
    }
    let mut sessions = run_workload(&t.url, dialect, app.0, app.1, 10).await;
    sessions.extend(run_workload(&t.url, dialect, reporting.0, reporting.1, 20).await);
    let (events, report) = match (&mut pg, &mut my) {
        (Some(s), _) => s.poll().await.unwrap(),
        (_, Some(s)) => s.poll().await.unwrap(),
        _ => unreachable!(),
    };
    assert!(!report.reset_detected(), "{report}");
    // Another sample a moment later, after the inserts: a growth rate can be fitted.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    volumes.extend(
        sample_volumes(&t.db, &VolumeOptions::default())
            .await
            .unwrap()
            .samples(),
    );
    Some((events, sessions))
}

async fn snapshot_finds_patterns_relationship_and_rules(dialect: Dialect) {
    let Some(t) = TestDb::new(dialect).await else {
        return;
    };
    let guard = SERVER_STATS.lock().await;
    let app: Mix = [
        (Shape::Lookup, 6),
        (Shape::Join, 6),
        (Shape::Range, 0),
        (Shape::Insert, 0),
    ];
    let reporting: Mix = [
        (Shape::Lookup, 0),
        (Shape::Join, 0),
        (Shape::Range, 4),
        (Shape::Insert, 5),
    ];
    let mut volumes = Vec::new();
    let Some((events, sessions)) =
        analysis_workload(&t, dialect, (3, app), (2, reporting), &mut volumes).await
    else {
        t.cleanup().await;
        return;
    };
    drop(guard);
    let schema = introspect(&t.db).await.unwrap();
    let orders = schema.table("orders").unwrap();
    assert!(
        orders.foreign_keys.is_empty(),
        "the relationship is not declared"
    );

    let mut store = PatternStore::new(StoreConfig::default());
    store.record_all(&events);
    let config = AnalysisConfig {
        rule_items: ItemKind::FilterColumn,
        ..AnalysisConfig::default()
    };
    let results = snapshot(
        &store,
        Some(&schema),
        RuleInput::Events(&sessions),
        &volumes,
        &config,
    );

    // Patterns: the four shapes with their exact call counts.
    let mut want = expected(3, app);
    want.extend(expected(2, reporting));
    for (shape, calls) in &want {
        let fp = shape.fingerprint(dialect).to_string();
        let found = results
            .frequent_queries
            .iter()
            .find(|q| q.fingerprint == fp)
            .unwrap_or_else(|| panic!("{shape:?} not among {:#?}", results.frequent_queries));
        assert_eq!(found.calls, *calls, "{shape:?}");
        assert!(
            found.total_ms > 0.0 && found.p95_ms >= found.p50_ms,
            "{found:?}"
        );
        assert!(found.p50_ms > 0.0, "{found:?}");
    }
    let join = results
        .frequent_queries
        .iter()
        .find(|q| q.fingerprint == Shape::Join.fingerprint(dialect).to_string())
        .unwrap();
    assert_eq!(join.tables, ["customers", "orders"], "{join:?}");

    // The emerging relationship: orders.customer_id -> customers.id, types compatible.
    let rel = results
        .emerging_relationships
        .iter()
        .find(|r| r.from_table == "orders" && r.to_table == "customers")
        .unwrap_or_else(|| panic!("{:#?}", results.emerging_relationships));
    assert_eq!(rel.from_columns, ["customer_id"]);
    assert_eq!(rel.to_columns, ["id"]);
    assert!(rel.types_compatible);
    assert_eq!(rel.join_count, 3 * 6, "weighted by the join's calls");
    assert!(
        !results
            .emerging_relationships
            .iter()
            .any(|r| r.from_table == "customers" && r.to_table == "orders"),
        "the direction is customers' unique key"
    );

    // Column usage: equality on customers.id from lookups, range on orders.placed_at.
    let usage = |table: &str, column: &str| {
        results
            .column_usage
            .iter()
            .filter(|u| u.table == table && u.column == column)
            .map(|u| (u.role, u.calls))
            .collect::<BTreeMap<_, _>>()
    };
    use persona_core::model::ColumnRole;
    assert_eq!(
        usage("orders", "placed_at").get(&ColumnRole::RangeFilter),
        Some(&8)
    );
    assert!(usage("customers", "id").get(&ColumnRole::EqualityFilter) >= Some(&18));

    // Co-access: sessions that read orders by customer also read the customer by id, and they
    // are 3 of the 5 sessions, so the rule's lift is 5/3.
    let rule = results
        .rules
        .iter()
        .find(|r| {
            r.antecedent == ["orders.customer_id"] && r.consequent.contains(&"customers.id".into())
        })
        .unwrap_or_else(|| panic!("{:#?}", results.rules));
    assert!((rule.confidence - 1.0).abs() < 1e-9, "{rule:?}");
    assert!((rule.lift - 5.0 / 3.0).abs() < 1e-9, "{rule:?}");
    assert!((rule.support - 3.0 / 5.0).abs() < 1e-9, "{rule:?}");
    assert!(
        !results
            .rules
            .iter()
            .any(|r| r.antecedent.contains(&"orders.placed_at".into())
                && r.consequent.contains(&"customers.id".into())),
        "reporting sessions never read customers: {:#?}",
        results.rules
    );

    // Volume: orders grew by the inserts between the two samples.
    let trend = results
        .data_volume_trends
        .iter()
        .find(|v| v.table == "orders")
        .unwrap_or_else(|| panic!("{:#?}", results.data_volume_trends));
    assert_eq!(trend.rows_now, 400 + 2 * 5);
    assert!(trend.rows_per_day > 0.0, "{trend:?}");
    let customers = results
        .data_volume_trends
        .iter()
        .find(|v| v.table == "customers")
        .unwrap();
    assert_eq!(customers.rows_now, 60);
    assert!(customers.rows_per_day.abs() < 1e-9, "{customers:?}");
    t.cleanup().await;
}

#[tokio::test]
async fn postgres_workload_through_store_and_snapshot() {
    snapshot_finds_patterns_relationship_and_rules(Dialect::Postgres).await;
}

#[tokio::test]
async fn mariadb_workload_through_store_and_snapshot() {
    snapshot_finds_patterns_relationship_and_rules(Dialect::Mysql).await;
}

// ---------------------------------------------------------------------------------------------
// Volume sampling

#[tokio::test]
async fn volumes_are_sampled_on_postgres_and_mariadb() {
    for dialect in [Dialect::Postgres, Dialect::Mysql] {
        let Some(t) = TestDb::new(dialect).await else {
            continue;
        };
        t.db.execute(if dialect == Dialect::Postgres {
            SCHEMA_PG
        } else {
            SCHEMA_MYSQL
        })
        .await
        .unwrap();
        let reading = sample_volumes(&t.db, &VolumeOptions::default())
            .await
            .unwrap();
        let by_table: BTreeMap<&str, _> = reading
            .tables
            .iter()
            .map(|v| (v.table.as_str(), v))
            .collect();
        assert_eq!(
            by_table.keys().copied().collect::<Vec<_>>(),
            ["customers", "orders"]
        );
        assert_eq!(by_table["customers"].rows, 60, "{dialect}");
        assert_eq!(by_table["orders"].rows, 400, "{dialect}");
        assert!(by_table["orders"].rows_exact);
        assert!(by_table["orders"].bytes.is_some_and(|b| b > 0), "{dialect}");
        // A table above the exact threshold is estimated.
        let estimated = sample_volumes(
            &t.db,
            &VolumeOptions {
                exact_below_rows: 0,
                tables: vec!["orders".into()],
            },
        )
        .await
        .unwrap();
        assert_eq!(estimated.tables.len(), 1);
        t.cleanup().await;
    }
}
