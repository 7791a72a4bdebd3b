//! The capture proxy with real clients against the real server: psql (simple queries, loading
//! Pagila, `\copy` both ways), pgbench (`-i` and a short run), sqlx and tokio-postgres
//! (prepared statements, pipelining, binary parameters), SCRAM and md5 users, a cancelled
//! `pg_sleep`, `pg_terminate_backend` of one session while another keeps working, and
//! LISTEN/NOTIFY. Each test checks what the client saw and what was captured.
//!
//! Tests against PostgreSQL skip (with the reason printed) when `PERSONA_TEST_PG_URL` is unset;
//! each uses its own scratch database and starts its own proxy on 127.0.0.1:0. The failure
//! tests at the end (unreachable server, a server that dies, a malformed client message, the
//! connection limit) use a tiny scripted server instead and always run.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use persona_core::Dialect;
use persona_core::model::{CaptureEvent, CaptureSource};
use persona_engine::Database;
use persona_engine::proxy::{Proxy, ProxyConfig, ProxyStats, Upstream};
use persona_engine::testing::{TestDb, datasets_dir};
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
    let token = client.cancel_token();
    let sleeper = tokio::spawn(async move {
        let result = client.simple_query("SELECT pg_sleep(30)").await;
        (client, result)
    });
    wait_until_running(&db, "SELECT pg_sleep(30)").await;
    // The cancel goes to the proxy's address (where the client connected) on a new connection.
    token
        .cancel_query(NoTls)
        .await
        .expect("send the cancel request");
    let (client, result) = sleeper.await.unwrap();
    assert_eq!(result.unwrap_err().code(), Some(&SqlState::QUERY_CANCELED));
    // The session is still usable.
    assert_eq!(
        client
            .query_one("SELECT 41 + 1", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        42
    );

    let sleeps = p.matching("pg_sleep").await;
    let e = only(&sleeps, "the cancelled sleep");
    assert_eq!(e.error.as_deref(), Some("57014"));
    assert!(e.duration < Duration::from_secs(30));
    assert_eq!(p.stats.snapshot().cancel_requests, 1);
    p.stop();
    db.cleanup().await;
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
