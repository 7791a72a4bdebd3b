//! End to end: the real `persona proxy` binary in front of the real PostgreSQL server saves what
//! it captures into a registry (itself on PostgreSQL here); a registry that fails for a while
//! holds nothing up and loses nothing; Ctrl-C saves the rest; `persona analyze --source proxy`
//! and `persona capture list` report exactly the statements that ran.
//!
//! Skips (with the reason printed) when `PERSONA_TEST_PG_URL` is unset.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use persona_core::Dialect;
use persona_core::analysis::fingerprint::{Flavor, normalize_as};
use persona_core::analysis::store::PatternStats;
use persona_engine::Database;
use persona_engine::registry::{Registry, RegistryError};
use persona_engine::testing::TestDb;

/// A running `persona proxy` and the lines it wrote to stderr.
struct ProxyProcess {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    addr: String,
}

impl ProxyProcess {
    /// `persona proxy` on a free loopback port, saving into `capture` every second.
    fn start(upstream: &str, registry: &str, capture: &str) -> ProxyProcess {
        ProxyProcess::spawn(&[
            "--upstream",
            upstream,
            "--capture",
            capture,
            "--flush-interval",
            "1",
            "--registry",
            registry,
        ])
    }

    /// `persona proxy --listen 127.0.0.1:0` with `args`, once it listens.
    fn spawn(args: &[&str]) -> ProxyProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_persona"))
            .args(["proxy", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start persona proxy");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stderr);
        let pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let mut proxy = ProxyProcess {
            child,
            stderr,
            addr: String::new(),
        };
        let line = proxy.wait_for_line("listening on");
        let addr = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .expect("the proxy prints its address");
        proxy.addr.push_str(addr);
        proxy
    }

    /// Wait (bounded) until stderr has a line containing `needle`; returns it.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return line.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("persona proxy exited ({status}): {:#?}", self.stderr);
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needle:?}: {:#?}",
                self.stderr
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `url` with its host and port replaced by the proxy's.
    fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let user = authority
            .rsplit_once('@')
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}{}/{path}", self.addr)
    }

    /// Ctrl-C, then wait for the exit; returns whether it succeeded and what it printed.
    fn interrupt(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let status = self.child.wait().expect("wait for the proxy");
        // The reader thread ends with the pipe; give it a moment to take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        (status.success(), self.stderr.lock().unwrap().join("\n"))
    }
}

/// Calls of the stored pattern whose normalized text is `normalized` (0 when absent).
async fn calls_of(
    registry: &Registry,
    capture: &str,
    normalized: &str,
) -> Result<u64, RegistryError> {
    let stored = registry.load_capture(capture).await?;
    Ok(stored
        .store
        .patterns()
        .find(|p| p.normalized == normalized)
        .map_or(0, PatternStats::calls))
}

/// Wait (bounded) until the stored pattern has `calls` calls.
async fn until_stored(
    proxy: &ProxyProcess,
    registry: &Registry,
    capture: &str,
    normalized: &str,
    calls: u64,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // Not found (yet) counts as none.
        let now = calls_of(registry, capture, normalized).await.unwrap_or(0);
        if now == calls {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{normalized}: {now} calls stored, expected {calls}; the proxy said {:#?}",
            proxy.stderr.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn persona(args: &[&str], registry: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_persona"))
        .args(args)
        .args(["--registry", registry])
        .env_remove("RUST_LOG")
        .output()
        .expect("run persona");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The normalized text the proxy stores for `sql`.
fn normalized(sql: &str) -> String {
    normalize_as(sql, Flavor::Postgres)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_saves_what_ran_into_the_registry_and_analyze_reports_it() {
    let Some(app) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let Some(reg_db) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    app.db
        .execute(
            "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL); \
             CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, \
             total numeric NOT NULL); \
             INSERT INTO customers SELECT g, 'c' || g FROM generate_series(0, 19) g",
        )
        .await
        .unwrap();
    // The registry, migrated before the proxy starts (the proxy would do it too).
    let registry = Registry::open(Some(&reg_db.url)).await.unwrap();

    let by_id = &normalized("SELECT name FROM customers WHERE id = 1");
    let insert = &normalized("INSERT INTO orders (customer_id, total) VALUES (1, 1.50)");
    assert_eq!(by_id, "SELECT name FROM customers WHERE id = ?");
    let mut proxy = ProxyProcess::start(&app.url, &reg_db.url, "e2e");
    let client = Database::connect(&proxy.url(&app.url)).await.unwrap();
    for i in 0..20 {
        client
            .execute(&format!("SELECT name FROM customers WHERE id = {i}"))
            .await
            .unwrap();
    }
    until_stored(&proxy, &registry, "e2e", by_id, 20).await;

    // The registry fails for a while: the application is not held up, nothing is lost.
    reg_db
        .db
        .execute("ALTER TABLE capture_patterns RENAME TO capture_patterns_away")
        .await
        .unwrap();
    for i in 0..10 {
        client
            .execute(&format!(
                "INSERT INTO orders (customer_id, total) VALUES ({i}, {i}.50)"
            ))
            .await
            .unwrap();
    }
    proxy.wait_for_line("they are kept and saved with the next ones");
    reg_db
        .db
        .execute("ALTER TABLE capture_patterns_away RENAME TO capture_patterns")
        .await
        .unwrap();
    until_stored(&proxy, &registry, "e2e", insert, 10).await;

    // What runs just before Ctrl-C is saved at exit.
    for i in 0..5 {
        client
            .execute(&format!("SELECT name FROM customers WHERE id = {i}"))
            .await
            .unwrap();
    }
    client.close().await;
    let (ok, stderr) = proxy.interrupt();
    assert!(ok, "the proxy exits cleanly on Ctrl-C: {stderr}");
    assert!(stderr.contains("capture `e2e` in the registry"), "{stderr}");
    assert_eq!(calls_of(&registry, "e2e", by_id).await.unwrap(), 25);
    assert_eq!(calls_of(&registry, "e2e", insert).await.unwrap(), 10);
    registry.close().await;

    // `persona analyze --source proxy` reports exactly that.
    let (code, stdout, stderr) = persona(
        &["analyze", "--source", "proxy", "--capture", "e2e", "--json"],
        &reg_db.url,
    );
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let calls = |normalized: &str| {
        report["frequent_queries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["normalized_sql"] == normalized)
            .map(|q| (q["calls"].as_u64().unwrap(), q["rows"].as_u64().unwrap()))
    };
    assert_eq!(calls(by_id), Some((25, 25)), "{stdout}");
    assert_eq!(calls(insert), Some((10, 10)), "{stdout}");
    assert_eq!(report["capture"]["source"], "registry");
    assert_eq!(report["capture"]["stored"]["name"], "e2e");
    assert_eq!(report["capture"]["stored"]["dropped_events"], 0);

    // The readable report, with the application database's schema.
    let (code, stdout, stderr) = persona(
        &[
            "analyze",
            "--source",
            "proxy",
            "--capture",
            "e2e",
            "--schema-url",
            &app.url,
        ],
        &reg_db.url,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Analysis of capture `e2e` (proxy)"),
        "{stdout}"
    );
    assert!(stdout.contains(by_id.as_str()), "{stdout}");

    // Listing, an unknown capture, deleting.
    let (code, stdout, _) = persona(&["capture", "list"], &reg_db.url);
    assert_eq!(code, 0);
    assert!(stdout.lines().any(|l| l.starts_with("e2e ")), "{stdout}");
    let (code, _, stderr) = persona(&["analyze", "--source", "proxy"], &reg_db.url);
    assert_eq!(code, 2, "an unknown capture is invalid input: {stderr}");
    assert!(
        stderr.contains("no capture named `proxy`") && stderr.contains("(captures: e2e)"),
        "{stderr}"
    );
    let (code, stdout, stderr) = persona(&["capture", "delete", "e2e"], &reg_db.url);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("deleted capture `e2e`"), "{stdout}");
    let (_, stdout, _) = persona(&["capture", "list", "--json"], &reg_db.url);
    assert_eq!(stdout.trim(), "[]");

    app.cleanup().await;
    reg_db.cleanup().await;
}

/// The registry is checked before the proxy listens; `--no-registry` does without one.
#[test]
fn a_bad_capture_name_or_registry_stops_the_proxy_before_it_listens() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry.db").display().to_string();
    let upstream = "postgres://127.0.0.1:1";
    let (code, _, stderr) = persona(
        &["proxy", "--upstream", upstream, "--capture", " padded"],
        &registry,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--capture: invalid capture name"),
        "{stderr}"
    );

    let (code, _, stderr) = persona(&["proxy", "--upstream", upstream], "oracle://nowhere");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--no-registry"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");

    // Without the registry the same command runs (and stops cleanly on Ctrl-C).
    let running = ProxyProcess::spawn(&[
        "--upstream",
        upstream,
        "--no-registry",
        "--registry",
        "oracle://nowhere",
    ]);
    let (ok, stderr) = running.interrupt();
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("registry"), "{stderr}");
}
