//! The capture proxy with real clients against the real server: psql (simple queries, loading
//! Pagila, `\copy` both ways), pgbench (`-i` and a short run), sqlx and tokio-postgres
//! (prepared statements, pipelining, binary parameters), SCRAM and md5 users, a cancelled
//! `pg_sleep`, `pg_terminate_backend` of one session while another keeps working,
//! LISTEN/NOTIFY, and TLS towards the server (each sslmode, certificate and host-name checks,
//! a cancel over TLS). Each test checks what the client saw and what was captured.
//!
//! Tests against PostgreSQL skip (with the reason printed) when `PERSONA_TEST_PG_URL` is unset;
//! the TLS ones also when the server has `ssl = off` (and fail then under
//! `PERSONA_REQUIRE_SERVERS=1`). Each uses its own scratch database and starts its own proxy on
//! 127.0.0.1:0. The failure tests at the end (unreachable server, a server that dies, a
//! malformed client message, the connection limit, a server declining TLS, a bad root
//! certificate file) use a tiny scripted server instead and always run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use persona_core::Dialect;
use persona_core::model::{CaptureEvent, CaptureSource};
use persona_engine::Database;
use persona_engine::proxy::{Proxy, ProxyConfig, ProxyStats, TlsMode, Upstream, UpstreamTls};
use persona_engine::testing::{TestDb, datasets_dir};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sqlx::postgres::PgListener;
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

// ---------------------------------------------------------------------------------------------
// Harness

/// A proxy running for one test, with everything it captured.
struct Running {
    addr: SocketAddr,
    stats: ProxyStats,
    rx: mpsc::Receiver<CaptureEvent>,
    seen: Vec<CaptureEvent>,
    task: JoinHandle<()>,
}

async fn start_proxy(upstream: Upstream, tweak: impl FnOnce(&mut ProxyConfig)) -> Running {
    let mut config = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), upstream);
    tweak(&mut config);
    let (tx, rx) = mpsc::channel(1_000_000);
    let proxy = Proxy::bind(config, tx).await.expect("bind the proxy");
    let addr = proxy.local_addr();
    let stats = proxy.stats();
    let task = tokio::spawn(proxy.run());
    Running {
        addr,
        stats,
        rx,
        seen: Vec::new(),
        task,
    }
}

/// A proxy in front of the test server.
async fn proxy_for(db: &TestDb) -> Running {
    start_proxy(
        db.url.parse().expect("the test URL names a TCP server"),
        |_| {},
    )
    .await
}

impl Running {
    /// `url` with its host and port replaced by the proxy's.
    fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let user = authority
            .rsplit_once('@')
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}{}/{path}", self.addr)
    }

    /// Every event captured so far: waits until the channel has delivered as many as the
    /// proxy counted as captured.
    async fn events(&mut self) -> &[CaptureEvent] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            while let Ok(e) = self.rx.try_recv() {
                self.seen.push(e);
            }
            if self.seen.len() as u64 >= self.stats.snapshot().statements_captured {
                return &self.seen;
            }
            assert!(Instant::now() < deadline, "captured events never arrived");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Events whose SQL contains `needle`.
    async fn matching(&mut self, needle: &str) -> Vec<CaptureEvent> {
        self.events()
            .await
            .iter()
            .filter(|e| e.sql.contains(needle))
            .cloned()
            .collect()
    }

    fn stop(self) {
        self.task.abort();
    }
}

fn require_servers() -> bool {
    std::env::var("PERSONA_REQUIRE_SERVERS").as_deref() == Ok("1")
}

/// Whether a command-line tool is installed (skip, or fail under `PERSONA_REQUIRE_SERVERS=1`).
fn have_tool(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || !require_servers(),
        "{name} is not installed but PERSONA_REQUIRE_SERVERS=1"
    );
    if !found {
        eprintln!("skipped: {name} is not installed");
    }
    found
}

/// Run a command off the runtime's worker threads (the proxy runs on them).
async fn run(mut command: Command) -> Output {
    let shown = format!("{command:?}");
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("start a client tool");
    assert!(
        out.status.success(),
        "{shown} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn psql(url: &str, args: &[&str]) -> Command {
    let mut c = Command::new("psql");
    c.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url])
        .args(args);
    c
}

fn pg_pool(db: &TestDb) -> &sqlx::PgPool {
    match &db.db {
        Database::Postgres(pool) => pool,
        _ => unreachable!("a PostgreSQL test database"),
    }
}

async fn direct_count(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pg_pool(db))
        .await
        .unwrap()
}

/// A tokio-postgres client through the proxy, its connection driven in the background.
async fn tp_connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect through the proxy");
    tokio::spawn(connection);
    client
}

/// Wait until the server runs `query` in some session of the test database.
async fn wait_until_running(db: &TestDb, query: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state = 'active' AND query = $1",
        )
        .bind(query)
        .fetch_one(pg_pool(db))
        .await
        .unwrap();
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{query} never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn only<'a>(events: &'a [CaptureEvent], what: &str) -> &'a CaptureEvent {
    assert_eq!(
        events.len(),
        1,
        "expected one event for {what}: {events:#?}"
    );
    &events[0]
}

// ---------------------------------------------------------------------------------------------
// psql

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_loads_pagila_and_copies_both_ways() {
    let Some(db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    if !have_tool("psql") {
        return db.cleanup().await;
    }
    let Some(datasets) = datasets_dir() else {
        return db.cleanup().await;
    };
    let mut p = proxy_for(&db).await;
    let url = p.url(&db.url);

    // Loading a pg_dump: DDL, SET, and 21 COPY … FROM stdin streams, all through the proxy.
    let pagila = datasets.join("pagila/pagila.sql");
    run(psql(&url, &["-f", pagila.to_str().unwrap()])).await;
    let rentals = direct_count(&db, "SELECT count(*) FROM public.rental").await;
    assert!(rentals > 16_000, "{rentals}");
    let copies = p.matching("COPY public.rental ").await;
    let copy = only(&copies, "COPY public.rental");
    assert_eq!(copy.rows, Some(rentals as u64));
    assert_eq!(copy.error, None);
    let payments = direct_count(&db, "SELECT count(*) FROM public.payment_p2022_03").await;
    assert_eq!(
        only(
            &p.matching("COPY public.payment_p2022_03 ").await,
            "payments"
        )
        .rows,
        Some(payments as u64)
    );
    let all = p.events().await.to_vec();
    assert!(
        all.iter()
            .all(|e| e.error.is_none() && e.source == CaptureSource::Proxy)
    );
    assert_eq!(
        all.iter().filter(|e| e.sql.starts_with("COPY ")).count(),
        21
    );

    // A simple query: what psql prints and what was captured agree with the server.
    let sql = "SELECT count(*) FROM film WHERE rating = 'PG'";
    let out = run(psql(&url, &["-c", sql])).await;
    let shown: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(
        shown,
        direct_count(&db, "SELECT count(*) FROM film WHERE rating = 'PG'").await
    );
    assert_eq!(only(&p.matching(sql).await, sql).rows, Some(1));

    // \copy out to a file and back in to a copy of the table.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rental.csv");
    let copy_out = format!("\\copy public.rental TO '{}' csv", file.display());
    let out = run(psql(&url, &["-c", &copy_out])).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("COPY {rentals}")
    );
    assert!(std::fs::metadata(&file).unwrap().len() > 500_000);
    let copy_in = format!("\\copy rental_copy FROM '{}' csv", file.display());
    let out = run(psql(
        &url,
        &[
            "-c",
            "CREATE TABLE rental_copy (LIKE public.rental)",
            "-c",
            &copy_in,
        ],
    ))
    .await;
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("COPY {rentals}")));
    let same: bool = sqlx::query_scalar(
        "SELECT (SELECT count(*) = $1 FROM rental_copy) AND NOT EXISTS \
         (SELECT * FROM public.rental EXCEPT SELECT * FROM rental_copy)",
    )
    .bind(rentals)
    .fetch_one(pg_pool(&db))
    .await
    .unwrap();
    assert!(same, "the table copied through the proxy differs");
    let to_stdout = p.matching("TO STDOUT").await;
    assert_eq!(
        only(&to_stdout, "COPY … TO STDOUT").rows,
        Some(rentals as u64)
    );
    let from_stdin = p.matching("rental_copy FROM STDIN").await;
    assert_eq!(
        only(&from_stdin, "COPY rental_copy FROM STDIN").rows,
        Some(rentals as u64)
    );

    let s = p.stats.snapshot();
    assert_eq!(
        (s.events_dropped, s.protocol_errors, s.upstream_failures),
        (0, 0, 0)
    );
    assert!(
        s.bytes_from_clients > 3_000_000,
        "the dump went through: {s}"
    );
    p.stop();
    db.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// pgbench

/// pgbench's "number of transactions actually processed: N".
fn transactions(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("number of transactions actually processed:"))
        .unwrap_or_else(|| panic!("no transaction count in pgbench's output:\n{stdout}"));
    line.split(':')
        .nth(1)
        .unwrap()
        .trim()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_init_and_run() {
    let Some(db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    if !have_tool("pgbench") {
        return db.cleanup().await;
    }
    let mut p = proxy_for(&db).await;
    let name = db
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let user = db
        .url
        .split("://")
        .nth(1)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let port = p.addr.port().to_string();
    let pgbench = |args: &[&str]| {
        let mut c = Command::new("pgbench");
        c.args(["-h", "127.0.0.1", "-p", &port, "-U", &user])
            .args(args)
            .arg(&name);
        c
    };

    run(pgbench(&["-i", "-s", "1", "-q"])).await;
    let accounts = direct_count(&db, "SELECT count(*) FROM pgbench_accounts").await;
    assert_eq!(accounts, 100_000);
    let copy = p.matching("copy pgbench_accounts from stdin").await;
    assert_eq!(only(&copy, "the accounts COPY").rows, Some(100_000));

    // The extended protocol with named prepared statements, two clients.
    let out = run(pgbench(&[
        "-n", "-T", "2", "-c", "2", "-j", "1", "-M", "prepared",
    ]))
    .await;
    let done = transactions(&String::from_utf8_lossy(&out.stdout));
    assert!(done > 0);
    let history = direct_count(&db, "SELECT count(*) FROM pgbench_history").await;
    assert_eq!(history as u64, done, "pgbench's count and the server agree");
    let updates = p.matching("UPDATE pgbench_accounts SET abalance").await;
    assert_eq!(
        updates.len() as u64,
        done,
        "every account update captured once"
    );
    for e in &updates {
        assert_eq!((e.rows, e.error.as_deref()), (Some(1), None));
        assert_eq!(e.params.len(), 2, "delta and aid: {e:?}");
        let aid: i64 = e.params[1].as_deref().unwrap().parse().unwrap();
        assert!((1..=100_000).contains(&aid));
    }
    assert_eq!(
        p.matching("INSERT INTO pgbench_history").await.len() as u64,
        done
    );
    let sessions: std::collections::HashSet<_> =
        updates.iter().map(|e| e.session.clone()).collect();
    assert_eq!(
        sessions.len(),
        2,
        "two client sessions, each labelled with its server pid"
    );
    assert_eq!(p.stats.snapshot().events_dropped, 0);
    p.stop();
    db.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// sqlx and tokio-postgres

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_prepared_statements_and_binary_parameters() {
    let Some(db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let mut p = proxy_for(&db).await;
    // sqlx asks for SSL first (sslmode=prefer): the proxy declines and the session goes on.
    let mut conn = PgConnection::connect(&p.url(&db.url))
        .await
        .expect("sqlx through the proxy");
    sqlx::raw_sql("CREATE TABLE item (id bigint PRIMARY KEY, name text, price float8, active bool, stock int4)")
        .execute(&mut conn)
        .await
        .unwrap();
    let insert = "INSERT INTO item VALUES ($1, $2, $3, $4, $5)";
    for (id, name, price, active, stock) in [
        (1i64, "héllo", 2.5f64, true, None),
        (2, "wörld", 0.75, false, Some(7i32)),
    ] {
        let done = sqlx::query(insert)
            .bind(id)
            .bind(name)
            .bind(price)
            .bind(active)
            .bind(stock)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM item WHERE price > $1 ORDER BY id")
            .bind(0.5f64)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(names, ["héllo", "wörld"]);
    let err = sqlx::query("SELECT 1 / $1")
        .bind(0i32)
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error()
            .and_then(sqlx::error::DatabaseError::code)
            .as_deref(),
        Some("22012")
    );
    conn.close().await.unwrap();

    let inserts = p.matching(insert).await;
    assert_eq!(inserts.len(), 2);
    let params: Vec<_> = inserts.iter().map(|e| e.params.clone()).collect();
    let text = |v: &[Option<&str>]| v.iter().map(|s| s.map(str::to_owned)).collect::<Vec<_>>();
    assert_eq!(
        params[0],
        text(&[Some("1"), Some("héllo"), Some("2.5"), Some("t"), None])
    );
    assert_eq!(
        params[1],
        text(&[Some("2"), Some("wörld"), Some("0.75"), Some("f"), Some("7")])
    );
    assert!(
        inserts
            .iter()
            .all(|e| e.rows == Some(1) && e.error.is_none())
    );
    let select = p.matching("SELECT name FROM item").await;
    assert_eq!(
        (only(&select, "the select").rows, select[0].params.clone()),
        (Some(2), text(&[Some("0.5")]))
    );
    let failed = p.matching("SELECT 1 / $1").await;
    assert_eq!(
        only(&failed, "the division").error.as_deref(),
        Some("22012")
    );
    p.stop();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres_pipelining_and_binary_parameters() {
    let Some(db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let mut p = proxy_for(&db).await;
    let client = tp_connect(&p.url(&db.url)).await;

    // tokio-postgres sends these three executions before reading any answer (pipelining); the
    // middle one fails, the others must still be matched to their own completions.
    let stmt = client
        .prepare("SELECT 10 / $1::int4, upper($2::text), $3::float8 * 2")
        .await
        .unwrap();
    let (first, second, third) = tokio::join!(
        client.query_one(&stmt, &[&5i32, &"a", &1.25f64]),
        client.query_one(&stmt, &[&0i32, &"b", &2.0f64]),
        client.query_one(&stmt, &[&2i32, &"c", &-0.5f64]),
    );
    assert_eq!(first.unwrap().get::<_, i32>(0), 2);
    assert_eq!(
        second.unwrap_err().code(),
        Some(&SqlState::DIVISION_BY_ZERO)
    );
    let row = third.unwrap();
    assert_eq!(
        (
            row.get::<_, i32>(0),
            row.get::<_, String>(1),
            row.get::<_, f64>(2)
        ),
        (5, "C".to_owned(), -1.0)
    );

    // Unnamed statements with a NULL and a bool, and a multi-statement simple query.
    let row = client
        .query_one("SELECT $1::bool, $2::int8 IS NULL", &[&true, &None::<i64>])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
    client
        .batch_execute("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 5)")
        .await
        .unwrap();

    let divisions = p.matching("SELECT 10 / $1::int4").await;
    let seen: Vec<_> = divisions
        .iter()
        .map(|e| (e.params.clone(), e.rows, e.error.clone()))
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        seen,
        [
            (vec![s("5"), s("a"), s("1.25")], Some(1), None),
            (vec![s("0"), s("b"), s("2")], None, s("22012")),
            (vec![s("2"), s("c"), s("-0.5")], Some(1), None),
        ]
    );
    let typed = p.matching("SELECT $1::bool").await;
    assert_eq!(only(&typed, "bool and null").params, [s("t"), None]);
    let batch = p.matching("CREATE TABLE t").await;
    assert_eq!(
        only(&batch, "the batch").rows,
        Some(5),
        "rows summed over the statements"
    );
    p.stop();
    db.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Authentication

/// Whether scripts/pg-test-auth.sh has been applied to the server.
async fn password_rules_present(db: &TestDb) -> bool {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_hba_file_rules WHERE \
         (auth_method = 'scram-sha-256' AND 'persona_scram' = ANY(user_name)) OR \
         (auth_method = 'md5' AND 'persona_md5' = ANY(user_name))",
    )
    .fetch_one(pg_pool(db))
    .await
    .unwrap();
    n == 2
}

/// Create (or update) a login role whose password is stored with `encryption`.
async fn password_role(db: &TestDb, role: &str, password: &str, encryption: &str) {
    let mut conn = pg_pool(db).acquire().await.unwrap();
    let create = format!(
        "DO $$BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END$$"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&mut *conn)
        .await
        .unwrap();
    let set = format!(
        "SET password_encryption = '{encryption}'; ALTER ROLE {role} LOGIN PASSWORD '{password}'; RESET password_encryption"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(set))
        .execute(&mut *conn)
        .await
        .unwrap();
}

fn with_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}:{password}@{host}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_and_md5_users_authenticate_through_the_proxy() {
    let Some(db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    if !password_rules_present(&db).await {
        assert!(
            !require_servers(),
            "pg_hba.conf lacks the password rules: run scripts/pg-test-auth.sh"
        );
        eprintln!("skipped: pg_hba.conf lacks the password rules (run scripts/pg-test-auth.sh)");
        return db.cleanup().await;
    }
    password_role(&db, "persona_scram", "scram-Secret-1", "scram-sha-256").await;
    password_role(&db, "persona_md5", "md5-Secret-2", "md5").await;
    let stored: String =
        sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = 'persona_md5'")
            .fetch_one(pg_pool(&db))
            .await
            .unwrap();
    assert!(
        stored.starts_with("md5"),
        "the md5 role must have an md5 hash for md5 auth to be used"
    );
    let mut p = proxy_for(&db).await;
    let url = p.url(&db.url);

    // SCRAM-SHA-256 with tokio-postgres, md5 with sqlx: the exchange passes through untouched.
    let scram = tp_connect(&with_user(&url, "persona_scram", "scram-Secret-1")).await;
    let who: String = scram
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(who, "persona_scram");
    let mut md5 = PgConnection::connect(&with_user(&url, "persona_md5", "md5-Secret-2"))
        .await
        .unwrap();
    let who: String = sqlx::query_scalar("SELECT session_user::text")
        .fetch_one(&mut md5)
        .await
        .unwrap();
    assert_eq!(who, "persona_md5");
    md5.close().await.unwrap();

    // Wrong passwords fail as they would directly.
    for (user, client) in [("persona_scram", "tokio-postgres"), ("persona_md5", "sqlx")] {
        let bad = with_user(&url, user, "wrong");
        let code = if client == "sqlx" {
            let e = PgConnection::connect(&bad).await.unwrap_err();
            e.as_database_error()
                .and_then(sqlx::error::DatabaseError::code)
                .map(std::borrow::Cow::into_owned)
        } else {
            let e = tokio_postgres::connect(&bad, NoTls).await.err().unwrap();
            e.code().map(|c| c.code().to_owned())
        };
        assert_eq!(code.as_deref(), Some("28P01"), "{user}");
    }

    let first = p.matching("SELECT current_user").await;
    let e = only(&first, "the SCRAM session's query");
    assert_eq!(e.rows, Some(1));
    assert!(
        e.session
            .as_deref()
            .is_some_and(|s| s.parse::<u32>().is_ok()),
        "{e:?}"
    );
    assert_eq!(
        only(
            &p.matching("SELECT session_user").await,
            "the md5 session's query"
        )
        .rows,
        Some(1)
    );
    assert_eq!(p.stats.snapshot().upstream_failures, 0);
    p.stop();
    db.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Cancel and terminate

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_sleep_through_the_proxy() {
    let Some(db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let mut p = proxy_for(&db).await;
    let client = tp_connect(&p.url(&db.url)).await;
    cancel_a_sleep(&mut p, &db, client).await;
    assert_eq!(p.stats.snapshot().cancel_requests, 1);
    p.stop();
    db.cleanup().await;
}

/// Start `pg_sleep(30)` on `client`, cancel it through the proxy (the cancel goes to the
/// proxy's address, where the client connected, on a new connection), and check the client's
/// error, that the session is still usable, and the captured event.
async fn cancel_a_sleep(p: &mut Running, db: &TestDb, client: tokio_postgres::Client) {
    let token = client.cancel_token();
    let sleeper = tokio::spawn(async move {
        let result = client.simple_query("SELECT pg_sleep(30)").await;
        (client, result)
    });
    wait_until_running(db, "SELECT pg_sleep(30)").await;
    token
        .cancel_query(NoTls)
        .await
        .expect("send the cancel request");
    let (client, result) = sleeper.await.unwrap();
    assert_eq!(result.unwrap_err().code(), Some(&SqlState::QUERY_CANCELED));
    assert_eq!(
        client
            .query_one("SELECT 41 + 1", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        42,
        "the session is still usable"
    );
    let sleeps = p.matching("pg_sleep").await;
    let e = only(&sleeps, "the cancelled sleep");
    assert_eq!(e.error.as_deref(), Some("57014"));
    assert!(e.duration < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_one_session_leaves_the_other_working() {
    let Some(db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let mut p = proxy_for(&db).await;
    let url = p.url(&db.url);
    let victim = tp_connect(&url).await;
    let survivor = tp_connect(&url).await;
    let pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let sleeper = tokio::spawn(async move { victim.simple_query("SELECT pg_sleep(30)").await });
    wait_until_running(&db, "SELECT pg_sleep(30)").await;

    let killed: bool = survivor
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(killed);
    let err = sleeper.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::ADMIN_SHUTDOWN), "{err}");
    for i in 0..5i32 {
        let got: i32 = survivor
            .query_one("SELECT $1::int4 * 3", &[&i])
            .await
            .unwrap()
            .get(0);
        assert_eq!(got, i * 3);
    }
    // New sessions are fine too.
    let fresh = tp_connect(&url).await;
    assert_eq!(
        fresh
            .query_one("SELECT 1", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        1
    );

    let sleeps = p.matching("pg_sleep").await;
    let e = only(&sleeps, "the terminated sleep");
    assert_eq!(e.error.as_deref(), Some("57P01"));
    assert_eq!(e.session.as_deref(), Some(pid.to_string().as_str()));
    let survived = p.matching("SELECT $1::int4 * 3").await;
    assert_eq!(survived.len(), 5);
    assert!(
        survived
            .iter()
            .all(|e| e.error.is_none() && e.session.as_deref() != Some(pid.to_string().as_str()))
    );
    let s = p.stats.snapshot();
    assert_eq!(
        s.upstream_failures, 0,
        "the server said why it closed: not a lost server"
    );
    p.stop();
    db.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// LISTEN / NOTIFY

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_and_notify_through_the_proxy() {
    let Some(db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let mut p = proxy_for(&db).await;
    let url = p.url(&db.url);
    let mut listener = PgListener::connect(&url).await.unwrap();
    listener.listen("persona_events").await.unwrap();
    let notifier = tp_connect(&url).await;
    notifier
        .batch_execute("NOTIFY persona_events, 'hello'")
        .await
        .unwrap();
    notifier
        .execute("SELECT pg_notify('persona_events', $1)", &[&"second"])
        .await
        .unwrap();

    for expected in ["hello", "second"] {
        let n = tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .expect("a notification")
            .unwrap();
        assert_eq!((n.channel(), n.payload()), ("persona_events", expected));
    }
    let listens = p.matching("LISTEN").await;
    assert!(
        listens
            .iter()
            .any(|e| e.sql.contains("persona_events") && e.error.is_none()),
        "{listens:?}"
    );
    assert_eq!(
        only(&p.matching("NOTIFY persona_events").await, "NOTIFY").error,
        None
    );
    let e = p.matching("pg_notify").await;
    assert_eq!(only(&e, "pg_notify").params, [Some("second".to_owned())]);
    p.stop();
    db.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// TLS towards the server

/// Whether the test server accepts TLS (skip with the reason, or fail under
/// `PERSONA_REQUIRE_SERVERS=1`).
/// A scratch database on a server that speaks TLS, or `None` (the reason printed; a failure
/// under `PERSONA_REQUIRE_SERVERS=1` when the server has TLS off).
async fn tls_db() -> Option<TestDb> {
    let db = TestDb::new(Dialect::Postgres).await?;
    if server_speaks_tls(&db).await {
        return Some(db);
    }
    db.cleanup().await;
    None
}

async fn server_speaks_tls(db: &TestDb) -> bool {
    let ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(pg_pool(db))
        .await
        .unwrap();
    let on = ssl == "on";
    assert!(
        on || !require_servers(),
        "the test server has ssl = off but PERSONA_REQUIRE_SERVERS=1 (TLS tests need it on)"
    );
    if !on {
        eprintln!("skipped: the test server has ssl = off");
    }
    on
}

/// The server's certificate file (the Debian snakeoil certificate on the test machine).
async fn server_cert_file(db: &TestDb) -> PathBuf {
    let file: String = sqlx::query_scalar("SHOW ssl_cert_file")
        .fetch_one(pg_pool(db))
        .await
        .unwrap();
    let path = PathBuf::from(file);
    if path.is_absolute() {
        return path;
    }
    let data: String = sqlx::query_scalar("SHOW data_directory")
        .fetch_one(pg_pool(db))
        .await
        .unwrap();
    PathBuf::from(data).join(path)
}

fn tls(mode: TlsMode, root_cert: Option<PathBuf>) -> UpstreamTls {
    UpstreamTls { mode, root_cert }
}

/// The test server with another host name for the proxy to dial (and check the certificate
/// against).
fn upstream_as(db: &TestDb, host: &str) -> Upstream {
    let mut up: Upstream = db.url.parse().unwrap();
    host.clone_into(&mut up.host);
    up
}

/// Whether the client's session reaches the server over TLS, as the server sees it.
async fn server_sees_tls(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// A proxy's refusal of a session: the client's ErrorResponse (code and message).
async fn refused(p: &Running, url: &str) -> (SqlState, String) {
    let err = tokio_postgres::connect(&p.url(url), NoTls)
        .await
        .err()
        .expect("the proxy refuses the session");
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("an ErrorResponse from the proxy, got {err}"));
    (db.code().clone(), db.message().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_require_reaches_the_server_encrypted_and_disable_does_not() {
    let Some(db) = tls_db().await else {
        return;
    };
    let mut secure = start_proxy(db.url.parse().unwrap(), |c| {
        c.tls = tls(TlsMode::Require, None);
    })
    .await;
    let plain = start_proxy(db.url.parse().unwrap(), |c| {
        c.tls = tls(TlsMode::Disable, None);
    })
    .await;
    // prefer takes TLS when the server offers it.
    let preferred = start_proxy(db.url.parse().unwrap(), |c| {
        c.tls = tls(TlsMode::Prefer, None);
    })
    .await;

    let client = tp_connect(&secure.url(&db.url)).await;
    assert!(server_sees_tls(&client).await);
    // The relay and capture work the same over TLS: a large result and binary parameters.
    let rows = client
        .query(
            "SELECT g, repeat('x', 1000) FROM generate_series(1, $1::int4) g",
            &[&3000i32],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3000);
    assert_eq!(rows[2999].get::<_, i32>(0), 3000);
    let series = secure.matching("generate_series(1, $1::int4)").await;
    let e = only(&series, "the query over TLS");
    assert_eq!(e.rows, Some(3000));
    assert_eq!(e.params, [Some("3000".to_owned())]);

    assert!(!server_sees_tls(&tp_connect(&plain.url(&db.url)).await).await);
    assert!(server_sees_tls(&tp_connect(&preferred.url(&db.url)).await).await);
    assert_eq!(secure.stats.snapshot().upstream_failures, 0);
    secure.stop();
    plain.stop();
    preferred.stop();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verify_ca_trusts_the_given_roots_only() {
    let Some(db) = tls_db().await else {
        return;
    };
    let cert = server_cert_file(&db).await;
    // The certificate is for a host name, not for 127.0.0.1: verify-ca does not mind.
    let trusted = start_proxy(upstream_as(&db, "127.0.0.1"), |c| {
        c.tls = tls(TlsMode::VerifyCa, Some(cert.clone()));
    })
    .await;
    let client = tp_connect(&trusted.url(&db.url)).await;
    assert!(server_sees_tls(&client).await);

    // Roots that did not sign it: the public CA bundle.
    let bundle = PathBuf::from(PUBLIC_CA_BUNDLE);
    if bundle.exists() {
        let strangers = start_proxy(upstream_as(&db, "127.0.0.1"), |c| {
            c.tls = tls(TlsMode::VerifyCa, Some(bundle));
        })
        .await;
        let (code, message) = refused(&strangers, &db.url).await;
        assert_eq!(code, SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION);
        assert!(
            message.contains("TLS handshake failed (sslmode=verify-ca)")
                && message.contains("invalid peer certificate: UnknownIssuer"),
            "{message}"
        );
        assert_eq!(strangers.stats.snapshot().upstream_failures, 1);
        strangers.stop();
    } else {
        assert!(!require_servers(), "{PUBLIC_CA_BUNDLE} is missing");
        eprintln!("untrusted roots not checked: {PUBLIC_CA_BUNDLE} is missing");
    }

    // The system store: the bundle and every certificate in /etc/ssl/certs, like OpenSSL's
    // default paths. Debian links its snakeoil certificate in there, so whether the session
    // is accepted follows whether the store holds the server's certificate.
    let der = CertificateDer::from_pem_file(&cert).unwrap();
    let in_store = rustls_native_certs::load_native_certs()
        .certs
        .contains(&der);
    let system = start_proxy(upstream_as(&db, "127.0.0.1"), |c| {
        c.tls = tls(TlsMode::VerifyCa, None);
    })
    .await;
    if in_store {
        eprintln!("the system store trusts the server's certificate: expecting a session");
        assert!(server_sees_tls(&tp_connect(&system.url(&db.url)).await).await);
    } else {
        let (code, message) = refused(&system, &db.url).await;
        assert_eq!(code, SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION);
        assert!(
            message.contains("invalid peer certificate: UnknownIssuer"),
            "{message}"
        );
    }
    // The trusted proxy's session is untouched by the other proxies' failures.
    assert!(server_sees_tls(&client).await);
    trusted.stop();
    system.stop();
    db.cleanup().await;
}

/// Debian's bundle of public certificate authorities (none of which signed the test server's
/// certificate).
const PUBLIC_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verify_full_checks_the_host_name() {
    let Some(db) = tls_db().await else {
        return;
    };
    let cert = server_cert_file(&db).await;
    let by_address = start_proxy(upstream_as(&db, "127.0.0.1"), |c| {
        c.tls = tls(TlsMode::VerifyFull, Some(cert.clone()));
    })
    .await;
    let (code, message) = refused(&by_address, &db.url).await;
    assert_eq!(code, SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION);
    assert!(
        message.contains("sslmode=verify-full") && message.contains("not valid for name"),
        "{message}"
    );
    assert!(message.contains("127.0.0.1"), "{message}");

    // By name: the outcome follows what OpenSSL says of the certificate and "localhost".
    let checked = Command::new("openssl")
        .args(["x509", "-noout", "-checkhost", "localhost", "-in"])
        .arg(&cert)
        .output();
    match checked {
        Ok(out) if out.status.success() => {
            let says = String::from_utf8_lossy(&out.stdout);
            let matches = says.contains("does match");
            assert!(matches || says.contains("does NOT match"), "{says}");
            let by_name = start_proxy(upstream_as(&db, "localhost"), |c| {
                c.tls = tls(TlsMode::VerifyFull, Some(cert.clone()));
            })
            .await;
            if matches {
                let client = tp_connect(&by_name.url(&db.url)).await;
                assert!(server_sees_tls(&client).await);
            } else {
                let (_, message) = refused(&by_name, &db.url).await;
                assert!(message.contains("not valid for name"), "{message}");
            }
            by_name.stop();
        }
        _ => eprintln!("verify-full by host name not checked: openssl is not installed"),
    }
    by_address.stop();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_sleep_through_a_tls_upstream() {
    let Some(db) = tls_db().await else {
        return;
    };
    let mut p = start_proxy(db.url.parse().unwrap(), |c| {
        c.tls = tls(TlsMode::Require, None);
    })
    .await;
    let client = tp_connect(&p.url(&db.url)).await;
    assert!(server_sees_tls(&client).await);
    cancel_a_sleep(&mut p, &db, client).await;
    let s = p.stats.snapshot();
    assert_eq!((s.cancel_requests, s.upstream_failures), (1, 0));
    p.stop();
    db.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Failures, against a scripted server (no PostgreSQL needed)

/// A minimal server: accepts the startup without authentication, answers every Query with an
/// empty result, except `die` (closes the connection without a word) and `fatal` (a FATAL
/// error, then closes).
async fn scripted_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut pid = 1000;
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            pid += 1;
            tokio::spawn(scripted_session(socket, pid));
        }
    });
    addr
}

fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

async fn scripted_session(mut s: TcpStream, pid: i32) {
    let mut len = [0u8; 4];
    if s.read_exact(&mut len).await.is_err() {
        return;
    }
    let mut startup = vec![0u8; u32::from_be_bytes(len) as usize - 4];
    if s.read_exact(&mut startup).await.is_err() {
        return;
    }
    let mut key = pid.to_be_bytes().to_vec();
    key.extend_from_slice(&[0, 0, 0, 1]);
    let hello = [
        frame(b'R', &[0, 0, 0, 0]),
        frame(b'K', &key),
        frame(b'Z', b"I"),
    ]
    .concat();
    if s.write_all(&hello).await.is_err() {
        return;
    }
    loop {
        let mut head = [0u8; 5];
        if s.read_exact(&mut head).await.is_err() {
            return;
        }
        let mut body =
            vec![0u8; u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize - 4];
        if s.read_exact(&mut body).await.is_err() {
            return;
        }
        match (head[0], body.as_slice()) {
            (b'Q', b"die\0") | (b'X', _) => return,
            (b'Q', b"fatal\0") => {
                let e = frame(b'E', b"SFATAL\0VFATAL\0C57P01\0Mterminating connection\0\0");
                let _ = s.write_all(&e).await;
                return;
            }
            (b'Q', _) => {
                let reply = [frame(b'C', b"SELECT 0\0"), frame(b'Z', b"I")].concat();
                if s.write_all(&reply).await.is_err() {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// A free loopback port with nothing listening on it.
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

fn scripted_url(p: &Running) -> String {
    format!("postgres://app@{}/app", p.addr)
}

fn upstream(addr: SocketAddr) -> Upstream {
    format!("127.0.0.1:{}", addr.port()).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_clear_08001() {
    let port = closed_port().await;
    let p = start_proxy(
        format!("postgres://127.0.0.1:{port}").parse().unwrap(),
        |c| {
            c.connect_timeout = Duration::from_secs(2);
        },
    )
    .await;
    let err = tokio_postgres::connect(&scripted_url(&p), NoTls)
        .await
        .err()
        .expect("no server");
    let db = err
        .as_db_error()
        .expect("an ErrorResponse from the proxy, not a dropped connection");
    assert_eq!(
        db.code(),
        &SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION
    );
    assert!(
        db.message()
            .contains("could not connect to the database server"),
        "{}",
        db.message()
    );
    assert_eq!(p.stats.snapshot().upstream_failures, 1);
    p.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_dies_fails_only_its_own_session() {
    let server = scripted_server().await;
    let mut p = start_proxy(upstream(server), |_| {}).await;
    let doomed = tp_connect(&scripted_url(&p)).await;
    let other = tp_connect(&scripted_url(&p)).await;
    doomed.simple_query("SELECT 1").await.unwrap();

    let err = doomed.simple_query("die").await.unwrap_err();
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("an ErrorResponse, got {err}"));
    assert_eq!(db.code(), &SqlState::CONNECTION_FAILURE);
    assert!(
        db.message().contains("closed the connection unexpectedly"),
        "{}",
        db.message()
    );
    // A FATAL error from the server is passed on as it is, without a second one of the proxy's.
    let fatal = tp_connect(&scripted_url(&p)).await;
    let err = fatal.simple_query("fatal").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::ADMIN_SHUTDOWN));

    for _ in 0..3 {
        other
            .simple_query("SELECT 2")
            .await
            .expect("the other session is untouched");
    }
    let events = p.events().await.to_vec();
    let died: Vec<_> = events.iter().filter(|e| e.sql == "die").collect();
    assert_eq!(died.len(), 1);
    assert_eq!(died[0].error.as_deref(), Some("08006"));
    assert_eq!(died[0].session.as_deref(), Some("1001"));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.sql == "fatal")
            .map(|e| e.error.as_deref())
            .collect::<Vec<_>>(),
        [Some("57P01")]
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.sql == "SELECT 2" && e.error.is_none())
            .count(),
        3
    );
    assert_eq!(
        p.stats.snapshot().upstream_failures,
        1,
        "only the silent death counts as a lost server"
    );
    p.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_closing_after_terminate_is_a_normal_end() {
    let server = scripted_server().await;
    let p = start_proxy(upstream(server), |_| {}).await;
    let mut s = raw_session(&p).await;
    // Terminate, and keep the socket open: the server's close reaches the proxy first.
    s.write_all(&frame(b'X', b"")).await.unwrap();
    let rest = read_to_close(&mut s).await;
    assert!(rest.is_empty(), "no error after a goodbye: {rest:?}");
    let stats = p.stats.snapshot();
    assert_eq!((stats.upstream_failures, stats.protocol_errors), (0, 0));
    p.stop();
}

/// Open a raw session through the proxy to the scripted server (startup answered).
async fn raw_session(p: &Running) -> TcpStream {
    let mut s = TcpStream::connect(p.addr).await.unwrap();
    let mut startup = vec![0, 0, 0, 0, 0, 3, 0, 0];
    startup.extend_from_slice(b"user\0app\0\0");
    let len = (startup.len() as u32).to_be_bytes();
    startup[..4].copy_from_slice(&len);
    s.write_all(&startup).await.unwrap();
    let mut hello = vec![0u8; 9 + 13 + 6];
    s.read_exact(&mut hello).await.unwrap();
    assert_eq!(hello[hello.len() - 6], b'Z');
    s
}

/// Read until the proxy closes the connection.
async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the proxy closes")
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_client_message_closes_only_that_connection() {
    let server = scripted_server().await;
    // Sessions on the proxy's own runtime (no worker threads) here.
    let mut p = start_proxy(upstream(server), |c| {
        c.max_message_bytes = 1 << 20;
        c.workers = 0;
    })
    .await;
    let other = tp_connect(&scripted_url(&p)).await;

    let mut bad = raw_session(&p).await;
    bad.write_all(b"Q\x00\x00\x00\x02").await.unwrap();
    let reply = read_to_close(&mut bad).await;
    assert_eq!(reply[0], b'E');
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.contains("C08P01") && text.contains("below the minimum of 4"),
        "{text}"
    );

    let mut huge = raw_session(&p).await;
    huge.write_all(b"d\x10\x00\x00\x00").await.unwrap();
    let text = String::from_utf8_lossy(&read_to_close(&mut huge).await).into_owned();
    assert!(
        text.contains("C08P01") && text.contains("above the limit of 1048576"),
        "{text}"
    );

    // A bad startup packet too.
    let mut junk = TcpStream::connect(p.addr).await.unwrap();
    junk.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01")
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&read_to_close(&mut junk).await).into_owned();
    assert!(
        text.contains("C08P01") && text.contains("startup packet"),
        "{text}"
    );

    other
        .simple_query("SELECT 3")
        .await
        .expect("the other session is untouched");
    assert_eq!(p.stats.snapshot().protocol_errors, 3);
    assert_eq!(
        p.events()
            .await
            .iter()
            .filter(|e| e.sql == "SELECT 3")
            .count(),
        1
    );
    p.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_beyond_the_limit_are_refused_with_53300() {
    let server = scripted_server().await;
    // Sessions spread over two worker threads here.
    let p = start_proxy(upstream(server), |c| {
        c.max_connections = 2;
        c.workers = 2;
    })
    .await;
    let a = tp_connect(&scripted_url(&p)).await;
    let b = tp_connect(&scripted_url(&p)).await;
    let err = tokio_postgres::connect(&scripted_url(&p), NoTls)
        .await
        .err()
        .expect("refused");
    assert_eq!(err.code(), Some(&SqlState::TOO_MANY_CONNECTIONS));
    a.simple_query("SELECT 1").await.unwrap();
    drop(b);
    // Once a session ends, there is room again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.stats.snapshot().connections_active > 1 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let c = tp_connect(&scripted_url(&p)).await;
    c.simple_query("SELECT 1").await.unwrap();
    assert_eq!(p.stats.snapshot().connections_rejected, 1);
    p.stop();
}

/// What a scripted server answering SSLRequests saw.
#[derive(Default)]
struct TlsScript {
    ssl_requests: AtomicUsize,
    /// Process ids of the CancelRequests that came after an SSLRequest.
    cancels: std::sync::Mutex<Vec<i32>>,
}

/// A scripted server that answers every SSLRequest with `reply` (then, after `N`, takes a
/// CancelRequest or serves the session as [`scripted_server`] does).
async fn scripted_server_answering_tls(reply: u8) -> (SocketAddr, Arc<TlsScript>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let script = Arc::new(TlsScript::default());
    let seen = Arc::clone(&script);
    tokio::spawn(async move {
        let mut pid = 2000;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            pid += 1;
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if socket.read_exact(&mut request).await.is_err()
                    || request != [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
                {
                    return;
                }
                seen.ssl_requests.fetch_add(1, Ordering::SeqCst);
                if socket.write_all(&[reply]).await.is_err() || reply != b'N' {
                    return;
                }
                // A CancelRequest is 16 bytes, sent whole.
                let mut head = [0u8; 16];
                let Ok(n) = socket.peek(&mut head).await else {
                    return;
                };
                if n >= 12 && head[..8] == [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e] {
                    let _ = socket.read_exact(&mut head).await;
                    let pid = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
                    seen.cancels.lock().unwrap().push(pid);
                    return;
                }
                scripted_session(socket, pid).await;
            });
        }
    });
    (addr, script)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_declining_tls_is_plain_under_prefer_and_an_08001_under_require() {
    let (server, script) = scripted_server_answering_tls(b'N').await;
    let mut preferred = start_proxy(upstream(server), |c| {
        c.tls = tls(TlsMode::Prefer, None);
    })
    .await;
    let client = tp_connect(&scripted_url(&preferred)).await;
    client.simple_query("SELECT 1").await.unwrap();
    assert_eq!(script.ssl_requests.load(Ordering::SeqCst), 1);
    // The cancel request negotiates the same way before it is sent.
    client
        .cancel_token()
        .cancel_query(NoTls)
        .await
        .expect("send the cancel request");
    // The client does not wait for the forwarding.
    let deadline = Instant::now() + Duration::from_secs(10);
    while script.cancels.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the cancel request never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(script.ssl_requests.load(Ordering::SeqCst), 2);
    assert_eq!(*script.cancels.lock().unwrap(), [2001]);
    assert_eq!(
        preferred
            .events()
            .await
            .iter()
            .filter(|e| e.sql == "SELECT 1" && e.error.is_none())
            .count(),
        1
    );

    for mode in [TlsMode::Require, TlsMode::VerifyFull] {
        let strict = start_proxy(upstream(server), |c| {
            c.tls = tls(mode, None);
        })
        .await;
        for _ in 0..2 {
            let err = tokio_postgres::connect(&scripted_url(&strict), NoTls)
                .await
                .err()
                .expect("refused");
            let db = err
                .as_db_error()
                .unwrap_or_else(|| panic!("an ErrorResponse, got {err}"));
            assert_eq!(
                db.code(),
                &SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION
            );
            assert!(
                db.message().contains("does not accept TLS connections")
                    && db.message().contains(&format!("sslmode={mode}")),
                "{}",
                db.message()
            );
        }
        assert_eq!(strict.stats.snapshot().upstream_failures, 2);
        strict.stop();
    }
    // The prefer proxy's session carries on.
    client.simple_query("SELECT 2").await.unwrap();
    preferred.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_failing_the_tls_negotiation_is_an_08001() {
    // An error instead of S/N (not read on); S and then no TLS at all; a reply that is neither.
    for (reply, expected) in [
        (
            b'E',
            "answered the SSL request with an error (sslmode=prefer)",
        ),
        (b'S', "the TLS handshake failed (sslmode=prefer)"),
        (
            b'X',
            "answered the SSL request with the unexpected byte 0x58",
        ),
    ] {
        let (server, script) = scripted_server_answering_tls(reply).await;
        let p = start_proxy(upstream(server), |c| {
            c.tls = tls(TlsMode::Prefer, None);
        })
        .await;
        let err = tokio_postgres::connect(&scripted_url(&p), NoTls)
            .await
            .err()
            .expect("refused");
        let db = err.as_db_error().expect("an ErrorResponse");
        assert_eq!(
            db.code(),
            &SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION
        );
        assert!(db.message().contains(expected), "{}", db.message());
        assert_eq!(script.ssl_requests.load(Ordering::SeqCst), 1);
        assert_eq!(p.stats.snapshot().upstream_failures, 1);
        p.stop();
    }
}

#[tokio::test]
async fn an_unusable_upstream_ca_file_stops_the_proxy_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-a-root.pem");
    std::fs::write(&bad, "this is not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    for path in [bad, missing] {
        let mut config = ProxyConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            "127.0.0.1:5432".parse().unwrap(),
        );
        config.tls = tls(TlsMode::VerifyFull, Some(path.clone()));
        let (tx, _rx) = mpsc::channel(1);
        let err = Proxy::bind(config, tx).await.expect_err("refused");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
