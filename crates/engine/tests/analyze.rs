//! Capture and analysis end to end against real servers: a known workload (several sessions of
//! point lookups, joins of orders and customers without a declared foreign key, range scans and
//! inserts) run in a scratch database, read back through `pg_stat_statements` and MariaDB's
//! statement digests (one-shot, polled deltas, resets), and analysed through the pattern store
//! and snapshot (patterns, an emerging relationship, co-access rules). Also volume sampling per
//! dialect. Server tests skip when their URL is unset (fail with `PERSONA_REQUIRE_SERVERS=1`).

use std::collections::BTreeMap;

use persona_core::Dialect;
use persona_core::analysis::fingerprint::{Fingerprint, Flavor, fingerprint_as};
use persona_core::model::{CaptureEvent, CaptureSource};
use persona_engine::capture::mysql_digest::{MysqlDigest, MysqlDigestError, MysqlDigestOptions};
use persona_engine::capture::pg_stat_statements::{
    PgStatStatements, PgStatStatementsError, PgStatStatementsOptions, StatSkipReason,
};
use persona_engine::capture::volume::{VolumeOptions, sample_volumes};
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
            match dialect {
                Dialect::Postgres => {
                    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                    for sql in statements {
                        conn.execute(sqlx::raw_sql(AssertSqlSafe(sql.clone()))).await.unwrap();
                        events.push(event(&session, sql));
                    }
                    conn.close().await.unwrap();
                }
                _ => {
                    let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
                    for sql in statements {
                        conn.execute(sqlx::raw_sql(AssertSqlSafe(sql.clone()))).await.unwrap();
                        events.push(event(&session, sql));
                    }
                    conn.close().await.unwrap();
                }
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
        ..CaptureEvent::single(CaptureSource::JsonLines, at, sql, std::time::Duration::from_micros(50))
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
    assert!(matches!(err, PgStatStatementsError::NotInstalled { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("CREATE EXTENSION pg_stat_statements"), "{text}");
    assert!(text.contains("shared_preload_libraries"), "{text}");
    assert!(text.contains("--create-extension"), "{text}");
    // The SQLite and MySQL databases are refused with a clear error too.
    let sqlite = TestDb::new(Dialect::Sqlite).await.unwrap();
    let err = PgStatStatements::open(&sqlite.db, PgStatStatementsOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, PgStatStatementsError::NotPostgres(Dialect::Sqlite)), "{err}");
    sqlite.cleanup().await;
    t.cleanup().await;
}

#[tokio::test]
async fn pg_stat_statements_polls_deltas_and_survives_resets() {
    let Some(t) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let _guard = SERVER_STATS.lock().await;
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
    let mix1: Mix = [(Shape::Lookup, 12), (Shape::Join, 8), (Shape::Range, 3), (Shape::Insert, 2)];
    run_workload(&t.url, d, 3, mix1, 1).await;
    let (events, report) = source.poll().await.unwrap();
    assert!(!report.cumulative && !report.reset_detected(), "{report}");
    assert_eq!(calls_by_shape(&events, d), expected(3, mix1), "{events:#?}");
    for e in &events {
        assert_eq!(e.source, CaptureSource::PgStatStatements);
        assert!(e.session.is_none());
        assert!(e.calls > 0);
        assert!(!e.sql.contains("pg_stat_statements"), "the capture's own query: {}", e.sql);
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
    t.db.execute("CREATE INDEX orders_status ON orders (status)").await.unwrap();
    t.db.execute("SELECT count(*) FROM orders").await.unwrap();

    // Round 2: the deltas are exactly the second round's calls.
    let mix2: Mix = [(Shape::Lookup, 5), (Shape::Join, 0), (Shape::Range, 4), (Shape::Insert, 1)];
    run_workload(&t.url, d, 2, mix2, 2).await;
    let (events, report) = source.poll().await.unwrap();
    assert!(!report.reset_detected(), "{report}");
    assert_eq!(calls_by_shape(&events, d), expected(2, mix2));
    assert!(report.skipped.count(StatSkipReason::UtilityStatement) >= 1, "{report}");
    assert!(report.skipped.count(StatSkipReason::SystemCatalog) >= 1, "{report}");
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
    let mix3: Mix = [(Shape::Lookup, 2), (Shape::Join, 1), (Shape::Range, 0), (Shape::Insert, 0)];
    run_workload(&t.url, d, 1, mix3, 3).await;
    let (events, report) = source.poll().await.unwrap();
    assert_eq!(calls_by_shape(&events, d), expected(1, mix3), "{report}");
    assert!(report.entries_reset >= 2, "lookups and joins went backwards: {report}");
    assert!(report.entries_vanished >= 1, "the range scans were reset and did not run: {report}");
    assert_eq!(report.resets, 0, "{report}");

    // A full reset (pg_stat_statements_info.stats_reset changes).
    t.db.execute("SELECT pg_stat_statements_reset()").await.unwrap();
    let mix4: Mix = [(Shape::Lookup, 30), (Shape::Join, 0), (Shape::Range, 1), (Shape::Insert, 0)];
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
    drop(_guard);
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
    let _guard = SERVER_STATS.lock().await;
    let Some(mut source) = digest_source(&t).await else {
        t.cleanup().await;
        return;
    };
    let d = Dialect::Mysql;
    assert!(source.schema().is_some_and(|s| s.starts_with("persona_t_")));
    t.db.execute(SCHEMA_MYSQL).await.unwrap();
    source.baseline().await.unwrap();

    let mix1: Mix = [(Shape::Lookup, 10), (Shape::Join, 6), (Shape::Range, 2), (Shape::Insert, 3)];
    run_workload(&t.url, d, 3, mix1, 1).await;
    let (events, report) = source.poll().await.unwrap();
    assert!(!report.reset_detected(), "{report}");
    assert_eq!(calls_by_shape(&events, d), expected(3, mix1), "{events:#?}\n{report}");
    assert!(events.iter().all(|e| e.source == CaptureSource::MysqlDigest));
    let join = events
        .iter()
        .find(|e| fingerprint_as(&e.sql, Flavor::Mysql) == Shape::Join.fingerprint(d))
        .unwrap();
    assert!(join.sql.contains('?') && join.sql.contains('`'), "a digest text: {}", join.sql);
    let insert = events
        .iter()
        .find(|e| fingerprint_as(&e.sql, Flavor::Mysql) == Shape::Insert.fingerprint(d))
        .unwrap();
    assert_eq!(insert.rows, Some(9), "rows affected by the inserts");
    // The connections' start-up `SET` statements are utility statements, counted as skipped.
    assert!(report.skipped.count(StatSkipReason::UtilityStatement) >= 1, "{report}");

    // A failing statement becomes an event with an error.
    let bad = t.db.execute("SELECT no_such_column FROM orders").await;
    assert!(bad.is_err());
    let mix2: Mix = [(Shape::Lookup, 4), (Shape::Join, 0), (Shape::Range, 0), (Shape::Insert, 0)];
    run_workload(&t.url, d, 2, mix2, 2).await;
    let (events, report) = source.poll().await.unwrap();
    assert!(!report.reset_detected(), "{report}");
    assert_eq!(calls_by_shape(&events, d), expected(2, mix2));
    assert!(
        events.iter().any(|e| e.error.is_some() && e.sql.contains("no_such_column")),
        "{events:#?}"
    );

    // TRUNCATE empties the table: the values since then are taken, and the reset reported.
    t.db.execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest")
        .await
        .unwrap();
    let mix3: Mix = [(Shape::Lookup, 3), (Shape::Join, 2), (Shape::Range, 0), (Shape::Insert, 0)];
    run_workload(&t.url, d, 1, mix3, 3).await;
    let (events, report) = source.poll().await.unwrap();
    assert_eq!(calls_by_shape(&events, d), expected(1, mix3), "{report}");
    assert!(report.reset_detected(), "{report}");
    drop(_guard);
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Volume sampling

#[tokio::test]
async fn volumes_are_sampled_on_postgres_and_mariadb() {
    for dialect in [Dialect::Postgres, Dialect::Mysql] {
        let Some(t) = TestDb::new(dialect).await else {
            continue;
        };
        t.db.execute(if dialect == Dialect::Postgres { SCHEMA_PG } else { SCHEMA_MYSQL })
            .await
            .unwrap();
        let reading = sample_volumes(&t.db, &VolumeOptions::default()).await.unwrap();
        let by_table: BTreeMap<&str, _> =
            reading.tables.iter().map(|v| (v.table.as_str(), v)).collect();
        assert_eq!(by_table.keys().copied().collect::<Vec<_>>(), ["customers", "orders"]);
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
