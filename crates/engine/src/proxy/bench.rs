//! The `persona bench proxy` harness: pgbench against the server directly, through the capture
//! proxy (started in this process on a free port, every statement captured and counted), and
//! through PgBouncer in session mode, in one run; a single-client run for added latency
//! (medians from pgbench's per-transaction log); and the proxy's memory with idle clients.
//!
//! It works in a scratch database (`persona_bench_…`, dropped at the end) and needs `pgbench`;
//! PgBouncer is optional (`/usr/sbin/pgbouncer` or on `PATH`). The server's `max_connections`
//! bounds how many sessions can be open at once, so the idle-client measurement reaches the
//! server through PgBouncer in transaction mode (idle clients then hold no server connection);
//! the proxy's memory per session does not depend on what is behind it.

use std::fmt;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use persona_core::model::CaptureEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::stats::{ProxyStats, StatsSnapshot};
use super::{Proxy, ProxyConfig, ProxyError, Upstream};
use crate::db::{Database, DbError};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// A superuser URL of the server (a scratch database is created beside its database).
    pub url: String,
    /// Clients and threads of the throughput runs (`-c`, `-j`).
    pub clients: u32,
    pub jobs: u32,
    /// Length of each throughput run.
    pub duration: Duration,
    /// Length of each single-client latency run (0 skips them).
    pub latency_duration: Duration,
    /// `pgbench -i -s`.
    pub scale: u32,
    /// `pgbench -M`: simple, extended or prepared.
    pub protocol: String,
    /// Repeat every run this many times and report medians.
    pub rounds: u32,
    /// Also run the write mix (`pgbench -N`).
    pub write_mix: bool,
    /// Idle client sessions for the memory measurement (0 skips it).
    pub idle_clients: usize,
    pub pgbench: PathBuf,
    /// `None`: look for it; skipped (with a note) when absent.
    pub pgbouncer: Option<PathBuf>,
    /// Keep the scratch database.
    pub keep_database: bool,
    /// The proxy's worker threads ([`ProxyConfig::workers`]; `None`: its default).
    pub proxy_workers: Option<usize>,
}

impl BenchConfig {
    pub fn new(url: impl Into<String>) -> Self {
        BenchConfig {
            url: url.into(),
            clients: 8,
            jobs: 2,
            duration: Duration::from_secs(20),
            latency_duration: Duration::from_secs(10),
            scale: 1,
            protocol: "simple".to_owned(),
            rounds: 1,
            write_mix: true,
            idle_clients: 100,
            pgbench: PathBuf::from("pgbench"),
            pgbouncer: None,
            keep_database: false,
            proxy_workers: None,
        }
    }
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot run {tool}: {source}")]
    Tool {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{command} failed: {stderr}")]
    ToolFailed { command: String, stderr: String },
    #[error("could not read {what} from pgbench's output:\n{output}")]
    Output { what: &'static str, output: String },
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("the URL has no user name (give one, e.g. postgres://postgres@127.0.0.1/test)")]
    NoUser,
    #[error("{0} did not start accepting connections")]
    NotListening(&'static str),
    #[error("idle session {index} through the proxy failed: {reason}")]
    Idle { index: usize, reason: String },
    #[error("the benchmark task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Where pgbench connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Direct,
    Proxy,
    Pgbouncer,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Direct => "direct",
            Target::Proxy => "proxy",
            Target::Pgbouncer => "pgbouncer",
        })
    }
}

/// What pgbench reported for one run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PgbenchResult {
    pub tps: f64,
    pub latency_avg_ms: f64,
    pub transactions: u64,
    pub failed: u64,
}

/// Statements the proxy captured during one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Captured {
    /// Events of the workload's once-per-transaction statement.
    pub per_transaction: u64,
    /// All events.
    pub total: u64,
    pub dropped: u64,
}

/// One pgbench run against one target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    pub target: Target,
    pub result: PgbenchResult,
    pub captured: Option<Captured>,
    /// CPU time the middle process (this process for the proxy, PgBouncer's) spent per
    /// transaction, µs: a measure of its cost that holds up on a busy machine.
    pub cpu_us_per_transaction: Option<f64>,
}

/// A workload and its runs (the median round per target).
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub name: &'static str,
    pub args: String,
    pub runs: Vec<Run>,
}

/// Single-client latency per target, from pgbench's per-transaction log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub target: Target,
    pub median_us: f64,
    pub p99_us: f64,
    pub transactions: u64,
}

/// Memory with idle sessions open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleMemory {
    pub clients: usize,
    /// This process (the proxy) before and with the idle sessions, kB.
    pub rss_before_kb: u64,
    pub rss_idle_kb: u64,
    /// PgBouncer's RSS with the same number of idle clients, kB.
    pub pgbouncer_rss_kb: Option<u64>,
}

/// Everything one benchmark run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    pub server: String,
    pub cpus: usize,
    pub load_before: String,
    pub load_after: String,
    pub workloads: Vec<Workload>,
    pub latency: Vec<Latency>,
    pub idle: Option<IdleMemory>,
    pub notes: Vec<String>,
    pub proxy_stats: StatsSnapshot,
}

/// Counts what the proxy captured, draining the channel in batches (a consumer woken per
/// event would cost the relay more than capture itself).
#[derive(Debug, Default)]
struct Tally {
    total: AtomicU64,
    per_transaction: AtomicU64,
}

/// The statement every transaction of pgbench's select-only and simple-update scripts runs
/// exactly once (followed by a literal or `$1`, depending on the query mode).
const PER_TRANSACTION: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = ";

fn spawn_consumer(mut rx: mpsc::Receiver<CaptureEvent>, tally: Arc<Tally>) {
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(4096);
        loop {
            if rx.recv_many(&mut batch, 4096).await == 0 {
                return;
            }
            let matching = batch
                .iter()
                .filter(|e| e.sql.starts_with(PER_TRANSACTION))
                .count() as u64;
            tally.per_transaction.fetch_add(matching, Ordering::Relaxed);
            tally.total.fetch_add(batch.len() as u64, Ordering::Relaxed);
            batch.clear();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

/// Connection details pgbench needs.
#[derive(Debug, Clone)]
struct Conn {
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    database: String,
}

impl Conn {
    fn from_url(url: &str) -> Result<Conn, BenchError> {
        let upstream: Upstream = url.parse()?;
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        let userinfo = authority
            .rsplit_once('@')
            .map(|(u, _)| u)
            .ok_or(BenchError::NoUser)?;
        let (user, password) = userinfo
            .split_once(':')
            .map_or((userinfo, None), |(u, p)| (u, Some(p)));
        if user.is_empty() {
            return Err(BenchError::NoUser);
        }
        let database = rest
            .split_once('/')
            .map(|(_, d)| d.split('?').next().unwrap_or_default())
            .unwrap_or_default();
        Ok(Conn {
            host: upstream.host,
            port: upstream.port,
            user: user.to_owned(),
            password: password.map(str::to_owned),
            database: if database.is_empty() {
                user.to_owned()
            } else {
                database.to_owned()
            },
        })
    }
}

/// Run the benchmark. `progress` gets a line before each step.
pub async fn run(
    config: &BenchConfig,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<BenchReport, BenchError> {
    let admin = Conn::from_url(&config.url)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let scratch = format!("persona_bench_{}_{nanos}", std::process::id());
    let mut notes = Vec::new();
    let load_before = load_average();
    progress(&format!(
        "creating scratch database {scratch} (pgbench -i -s {})",
        config.scale
    ));
    let db = Database::connect(&config.url).await?;
    db.execute(&format!("CREATE DATABASE {scratch}")).await?;
    db.close().await;
    let bench_db = Conn {
        database: scratch.clone(),
        ..admin.clone()
    };
    let result = measure(config, &bench_db, &mut notes, progress).await;
    if config.keep_database {
        notes.push(format!("kept the scratch database {scratch}"));
    } else {
        let db = Database::connect(&config.url).await?;
        db.execute(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
            .await?;
        db.close().await;
    }
    let (workloads, latency, idle, proxy_stats) = result?;
    Ok(BenchReport {
        server: format!("{}:{}", admin.host, admin.port),
        cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        load_before,
        load_after: load_average(),
        workloads,
        latency,
        idle,
        notes,
        proxy_stats,
    })
}

type Measured = (
    Vec<Workload>,
    Vec<Latency>,
    Option<IdleMemory>,
    StatsSnapshot,
);

async fn measure(
    config: &BenchConfig,
    db: &Conn,
    notes: &mut Vec<String>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Measured, BenchError> {
    pgbench(config, db, &["-i", "-q", "-s", &config.scale.to_string()]).await?;

    // The proxy, in this process, on a free port; its events counted by a batching consumer.
    let upstream = Upstream {
        host: db.host.clone(),
        port: db.port,
    };
    let (tx, rx) = mpsc::channel(1 << 16);
    let mut proxy_config = ProxyConfig::new(loopback(0), upstream);
    if let Some(workers) = config.proxy_workers {
        proxy_config.workers = workers;
    }
    let proxy = Proxy::bind(proxy_config, tx).await?;
    let proxy_addr = proxy.local_addr();
    let stats = proxy.stats();
    let proxy_task = tokio::spawn(proxy.run());
    let tally = Arc::new(Tally::default());
    spawn_consumer(rx, Arc::clone(&tally));

    let max_clients = 2 * config.idle_clients + 2 * config.clients as usize + 20;
    let bouncer = if let Some(path) = find_pgbouncer(config) {
        match Pgbouncer::start(&path, db, max_clients).await {
            Ok(b) => Some(b),
            Err(e) => {
                notes.push(format!("PgBouncer not measured: {e}"));
                None
            }
        }
    } else {
        notes.push("PgBouncer not found (/usr/sbin/pgbouncer or PATH): not measured".to_owned());
        None
    };
    let targets: Vec<(Target, Conn)> = [
        Some((Target::Direct, db.clone())),
        Some((
            Target::Proxy,
            Conn {
                host: "127.0.0.1".to_owned(),
                port: proxy_addr.port(),
                ..db.clone()
            },
        )),
        bouncer.as_ref().map(|b| {
            (
                Target::Pgbouncer,
                Conn {
                    host: "127.0.0.1".to_owned(),
                    port: b.port,
                    ..db.clone()
                },
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();

    let result = async {
        let idle = if config.idle_clients > 0 {
            progress(&format!(
                "{} idle sessions through the proxy",
                config.idle_clients
            ));
            if let Some(b) = &bouncer {
                Some(idle_memory(config, db, b).await?)
            } else {
                notes.push("idle-session memory not measured (it needs PgBouncer)".to_owned());
                None
            }
        } else {
            None
        };

        let mut workloads = Vec::new();
        let base = format!(
            "-c {} -j {} -T {} -M {}",
            config.clients,
            config.jobs,
            config.duration.as_secs(),
            config.protocol
        );
        let mut mixes = vec![("select-only", "-S")];
        if config.write_mix {
            mixes.push(("write mix (simple update)", "-N"));
        }
        for (name, script) in mixes {
            let args = format!("{script} {base}");
            let mut per_target: Vec<Vec<Run>> = vec![Vec::new(); targets.len()];
            for round in 0..config.rounds {
                for (i, (target, conn)) in targets.iter().enumerate() {
                    progress(&format!(
                        "{name}: {target} (round {}/{})",
                        round + 1,
                        config.rounds
                    ));
                    let pid = match target {
                        Target::Direct => None,
                        Target::Proxy => Some(std::process::id()),
                        Target::Pgbouncer => bouncer.as_ref().map(|b| b.child.id()),
                    };
                    let run = throughput(config, conn, *target, &args, &stats, &tally, pid).await?;
                    per_target[i].push(run);
                }
            }
            let runs = per_target.into_iter().map(median_run).collect();
            workloads.push(Workload {
                name,
                args: format!("pgbench {args}"),
                runs,
            });
        }

        let mut latency = Vec::new();
        if !config.latency_duration.is_zero() {
            for (target, conn) in &targets {
                progress(&format!("single client latency: {target}"));
                latency.push(single_client(config, conn, *target).await?);
            }
        }
        Ok::<_, BenchError>((workloads, latency, idle))
    }
    .await;

    if let Some(mut b) = bouncer {
        b.stop();
    }
    proxy_task.abort();
    let (workloads, latency, idle) = result?;
    Ok((workloads, latency, idle, stats.snapshot()))
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn median_run(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.result.tps.total_cmp(&b.result.tps));
    runs[runs.len() / 2]
}

async fn throughput(
    config: &BenchConfig,
    conn: &Conn,
    target: Target,
    args: &str,
    stats: &ProxyStats,
    tally: &Tally,
    cpu_pid: Option<u32>,
) -> Result<Run, BenchError> {
    let cpu_before = cpu_pid.and_then(cpu_ns);
    let before = (
        stats.snapshot(),
        tally.per_transaction.load(Ordering::Relaxed),
        tally.total.load(Ordering::Relaxed),
    );
    let mut argv: Vec<&str> = vec!["-n"];
    argv.extend(args.split(' '));
    let out = pgbench(config, conn, &argv).await?;
    let result = parse_pgbench(&out)?;
    let cpu_us_per_transaction = match (cpu_before, cpu_pid.and_then(cpu_ns)) {
        (Some(a), Some(b)) if result.transactions > 0 => {
            Some(b.saturating_sub(a) as f64 / 1000.0 / result.transactions as f64)
        }
        _ => None,
    };
    let captured = if target == Target::Proxy {
        // Wait for the consumer to have counted everything the proxy captured.
        let deadline = Instant::now() + Duration::from_secs(10);
        while tally.total.load(Ordering::Relaxed) < stats.snapshot().statements_captured
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let after = stats.snapshot();
        Some(Captured {
            per_transaction: tally.per_transaction.load(Ordering::Relaxed) - before.1,
            total: tally.total.load(Ordering::Relaxed) - before.2,
            dropped: after.events_dropped - before.0.events_dropped,
        })
    } else {
        None
    };
    Ok(Run {
        target,
        result,
        captured,
        cpu_us_per_transaction,
    })
}

/// CPU time of every thread of a process so far, ns (Linux `schedstat`).
fn cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        total += text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

async fn single_client(
    config: &BenchConfig,
    conn: &Conn,
    target: Target,
) -> Result<Latency, BenchError> {
    let dir = scratch_dir("latency")?;
    let prefix = dir.join("tx");
    let prefix_arg = format!("--log-prefix={}", prefix.display());
    let secs = config.latency_duration.as_secs().max(1).to_string();
    let args = [
        "-n",
        "-S",
        "-c",
        "1",
        "-j",
        "1",
        "-T",
        &secs,
        "-M",
        &config.protocol,
        "-l",
        &prefix_arg,
    ];
    let outcome = async {
        pgbench(config, conn, &args).await?;
        let mut micros = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|source| BenchError::Tool {
            tool: "pgbench log".into(),
            source,
        })? {
            let path = entry
                .map_err(|source| BenchError::Tool {
                    tool: "pgbench log".into(),
                    source,
                })?
                .path();
            let text = std::fs::read_to_string(&path).map_err(|source| BenchError::Tool {
                tool: "pgbench log".into(),
                source,
            })?;
            micros.extend(
                text.lines()
                    .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok()),
            );
        }
        if micros.is_empty() {
            return Err(BenchError::Output {
                what: "per-transaction latencies",
                output: String::new(),
            });
        }
        micros.sort_by(f64::total_cmp);
        let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
        Ok(Latency {
            target,
            median_us: at(0.5),
            p99_us: at(0.99),
            transactions: micros.len() as u64,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// Open `config.idle_clients` sessions through a second in-process proxy whose server is
/// PgBouncer in transaction mode (see the module notes), and read this process's RSS.
async fn idle_memory(
    config: &BenchConfig,
    db: &Conn,
    bouncer: &Pgbouncer,
) -> Result<IdleMemory, BenchError> {
    let (tx, mut rx) = mpsc::channel(1024);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let upstream = Upstream {
        host: "127.0.0.1".to_owned(),
        port: bouncer.port,
    };
    let mut proxy_config = ProxyConfig::new(loopback(0), upstream);
    if let Some(workers) = config.proxy_workers {
        proxy_config.workers = workers;
    }
    let proxy = Proxy::bind(proxy_config, tx).await?;
    let addr = proxy.local_addr();
    let task = tokio::spawn(proxy.run());
    let rss_before_kb = rss_kb(std::process::id()).unwrap_or(0);
    let outcome = async {
        let mut sessions = Vec::with_capacity(config.idle_clients);
        for index in 0..config.idle_clients {
            let s = open_session(addr, &db.user, &format!("{}_tx", db.database))
                .await
                .map_err(|reason| BenchError::Idle { index, reason })?;
            sessions.push(s);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rss_idle_kb = rss_kb(std::process::id()).unwrap_or(0);
        // The same number of idle clients directly on PgBouncer, for comparison.
        let mut direct = Vec::with_capacity(config.idle_clients);
        for index in 0..config.idle_clients {
            let s = open_session(
                loopback(bouncer.port),
                &db.user,
                &format!("{}_tx", db.database),
            )
            .await
            .map_err(|reason| BenchError::Idle { index, reason })?;
            direct.push(s);
        }
        let pgbouncer_rss_kb = rss_kb(bouncer.child.id());
        drop(direct);
        drop(sessions);
        Ok(IdleMemory {
            clients: config.idle_clients,
            rss_before_kb,
            rss_idle_kb,
            pgbouncer_rss_kb,
        })
    }
    .await;
    task.abort();
    outcome
}

/// A session through to ReadyForQuery (trust authentication), then left idle.
async fn open_session(addr: SocketAddr, user: &str, database: &str) -> Result<TcpStream, String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut packet = vec![0, 0, 0, 0, 0, 3, 0, 0];
    for (k, v) in [("user", user), ("database", database)] {
        packet.extend_from_slice(k.as_bytes());
        packet.push(0);
        packet.extend_from_slice(v.as_bytes());
        packet.push(0);
    }
    packet.push(0);
    let len = u32::try_from(packet.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes();
    packet[..4].copy_from_slice(&len);
    s.write_all(&packet).await.map_err(|e| e.to_string())?;
    loop {
        let mut head = [0u8; 5];
        s.read_exact(&mut head).await.map_err(|e| e.to_string())?;
        let len =
            u32::from_be_bytes([head[1], head[2], head[3], head[4]]).saturating_sub(4) as usize;
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.map_err(|e| e.to_string())?;
        match head[0] {
            b'Z' => return Ok(s),
            b'E' => return Err(String::from_utf8_lossy(&body).replace('\0', " ")),
            b'R' if body.get(..4) != Some(&[0, 0, 0, 0]) => {
                return Err(
                    "the server asks for a password: the idle test needs trust authentication"
                        .to_owned(),
                );
            }
            _ => {}
        }
    }
}

/// Resident set size of a process, kB (Linux).
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix("VmRSS:")?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn scratch_dir(what: &str) -> Result<PathBuf, BenchError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "persona-bench-{what}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|source| BenchError::Tool {
        tool: format!("mkdir {}", dir.display()),
        source,
    })?;
    Ok(dir)
}

/// Run pgbench against `conn` (off the async workers) and return its standard output.
async fn pgbench(config: &BenchConfig, conn: &Conn, args: &[&str]) -> Result<String, BenchError> {
    let mut cmd = Command::new(&config.pgbench);
    cmd.args([
        "-h",
        &conn.host,
        "-p",
        &conn.port.to_string(),
        "-U",
        &conn.user,
    ])
    .args(args)
    .arg(&conn.database);
    if let Some(p) = &conn.password {
        cmd.env("PGPASSWORD", p);
    }
    let shown = format!("pgbench {} (port {})", args.join(" "), conn.port);
    let tool = config.pgbench.display().to_string();
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await?
        .map_err(|source| BenchError::Tool { tool, source })?;
    if !out.status.success() {
        return Err(BenchError::ToolFailed {
            command: shown,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The figures in pgbench's summary.
pub fn parse_pgbench(out: &str) -> Result<PgbenchResult, BenchError> {
    let field = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
    };
    let missing = |what| BenchError::Output {
        what,
        output: out.to_owned(),
    };
    let transactions = field("number of transactions actually processed:")
        .and_then(|v| v.split('/').next()?.trim().parse().ok())
        .ok_or_else(|| missing("the number of transactions"))?;
    let failed = field("number of failed transactions:")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let latency_avg_ms = field("latency average =")
        .and_then(|v| v.strip_suffix("ms")?.trim().parse().ok())
        .ok_or_else(|| missing("the average latency"))?;
    let tps = field("tps =")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| missing("tps"))?;
    Ok(PgbenchResult {
        tps,
        latency_avg_ms,
        transactions,
        failed,
    })
}

fn find_pgbouncer(config: &BenchConfig) -> Option<PathBuf> {
    if let Some(p) = &config.pgbouncer {
        return Some(p.clone());
    }
    let candidates = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("pgbouncer"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    std::iter::once(PathBuf::from("/usr/sbin/pgbouncer"))
        .chain(candidates)
        .find(|p| p.is_file())
}

/// A PgBouncer this benchmark started (and stops): database `<db>` in session mode (the
/// comparison) and `<db>_tx` in transaction mode (the idle-session measurement).
struct Pgbouncer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Pgbouncer {
    async fn start(path: &Path, db: &Conn, max_clients: usize) -> Result<Pgbouncer, BenchError> {
        let dir = scratch_dir("pgbouncer")?;
        let io = |source| BenchError::Tool {
            tool: "pgbouncer set-up".into(),
            source,
        };
        let port = free_port().map_err(io)?;
        let mut ini = String::new();
        let _ = writeln!(ini, "[databases]");
        let _ = writeln!(
            ini,
            "{0} = host={1} port={2} dbname={0} pool_mode=session",
            db.database, db.host, db.port
        );
        let _ = writeln!(
            ini,
            "{0}_tx = host={1} port={2} dbname={0} pool_mode=transaction pool_size=4",
            db.database, db.host, db.port
        );
        let _ = writeln!(ini, "[pgbouncer]");
        let _ = writeln!(
            ini,
            "listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir ="
        );
        let _ = writeln!(
            ini,
            "auth_type = trust\nauth_file = {}",
            dir.join("userlist.txt").display()
        );
        let _ = writeln!(
            ini,
            "pool_mode = session\ndefault_pool_size = 40\nmax_client_conn = {max_clients}"
        );
        let _ = writeln!(
            ini,
            "ignore_startup_parameters = extra_float_digits\nlog_connections = 0\nlog_disconnections = 0"
        );
        std::fs::write(dir.join("pgbouncer.ini"), ini).map_err(io)?;
        std::fs::write(dir.join("userlist.txt"), format!("\"{}\" \"\"\n", db.user)).map_err(io)?;
        let mut cmd = Command::new(path);
        if running_as_root() {
            // PgBouncer refuses to run as root: let it switch to the postgres user.
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
            cmd.args(["-u", "postgres"]);
        }
        cmd.arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd.stderr(std::fs::File::create(dir.join("pgbouncer.log")).map_err(io)?);
        let child = cmd.spawn().map_err(|source| BenchError::Tool {
            tool: path.display().to_string(),
            source,
        })?;
        let mut bouncer = Pgbouncer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(loopback(port)).await.is_err() {
            if Instant::now() > deadline || bouncer.child.try_wait().ok().flatten().is_some() {
                let log =
                    std::fs::read_to_string(bouncer.dir.join("pgbouncer.log")).unwrap_or_default();
                bouncer.stop();
                return Err(BenchError::ToolFailed {
                    command: "pgbouncer".into(),
                    stderr: log,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(bouncer)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(loopback(0))?
        .local_addr()?
        .port())
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|u| u.split_whitespace().next() == Some("0"))
            })
        })
        .unwrap_or(false)
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "persona bench proxy: server {}, {} CPUs",
            self.server, self.cpus
        )?;
        writeln!(
            f,
            "load average before {} / after {}",
            self.load_before, self.load_after
        )?;
        for w in &self.workloads {
            writeln!(f, "\n{}: {}", w.name, w.args)?;
            let tps = |t: Target| w.runs.iter().find(|r| r.target == t).map(|r| r.result.tps);
            for r in &w.runs {
                write!(
                    f,
                    "  {:<10} {:>10.0} tps  latency avg {:.3} ms  {} transactions",
                    r.target.to_string(),
                    r.result.tps,
                    r.result.latency_avg_ms,
                    r.result.transactions
                )?;
                if r.result.failed > 0 {
                    write!(f, " ({} failed)", r.result.failed)?;
                }
                if let Some(cpu) = r.cpu_us_per_transaction {
                    write!(f, "  {cpu:.1} µs CPU per transaction")?;
                }
                writeln!(f)?;
                if let Some(c) = r.captured {
                    let ratio = |other: Option<f64>| {
                        other.map_or("-".to_owned(), |o| format!("{:.2}×", r.result.tps / o))
                    };
                    writeln!(
                        f,
                        "             {} direct, {} pgbouncer; captured {} per-transaction statements for {} \
                         transactions ({} events in all, {} dropped)",
                        ratio(tps(Target::Direct)),
                        ratio(tps(Target::Pgbouncer)),
                        c.per_transaction,
                        r.result.transactions,
                        c.total,
                        c.dropped
                    )?;
                }
            }
        }
        if !self.latency.is_empty() {
            writeln!(
                f,
                "\nsingle client (pgbench -S -c 1), per-transaction latency:"
            )?;
            let direct = self
                .latency
                .iter()
                .find(|l| l.target == Target::Direct)
                .map(|l| l.median_us);
            for l in &self.latency {
                write!(
                    f,
                    "  {:<10} median {:>7.1} µs  p99 {:>7.1} µs  ({} transactions)",
                    l.target.to_string(),
                    l.median_us,
                    l.p99_us,
                    l.transactions
                )?;
                match direct {
                    Some(d) if l.target != Target::Direct => {
                        writeln!(f, "  {:+.1} µs median over direct", l.median_us - d)?;
                    }
                    _ => writeln!(f)?,
                }
            }
        }
        if let Some(m) = self.idle {
            writeln!(
                f,
                "\nidle sessions: {} idle clients through the proxy: process RSS {:.1} MB ({:+.1} MB over {:.1} MB \
                 before they connected)",
                m.clients,
                m.rss_idle_kb as f64 / 1024.0,
                (m.rss_idle_kb as f64 - m.rss_before_kb as f64) / 1024.0,
                m.rss_before_kb as f64 / 1024.0
            )?;
            if let Some(p) = m.pgbouncer_rss_kb {
                writeln!(
                    f,
                    "               PgBouncer RSS with {} idle clients: {:.1} MB",
                    m.clients,
                    p as f64 / 1024.0
                )?;
            }
        }
        writeln!(f, "\nproxy counters: {}", self.proxy_stats)?;
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgbench_summary_is_read() {
        let out = "\
pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 1
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 20 s
number of transactions actually processed: 512345
number of failed transactions: 0 (0.000%)
latency average = 0.312 ms
initial connection time = 12.345 ms
tps = 25617.25 (without initial connection time)
";
        let r = parse_pgbench(out).unwrap();
        assert_eq!(r.transactions, 512_345);
        assert_eq!(r.failed, 0);
        assert!((r.latency_avg_ms - 0.312).abs() < 1e-9);
        assert!((r.tps - 25_617.25).abs() < 1e-9);
        assert!(parse_pgbench("tps = 1").is_err());
        assert_eq!(parse_pgbench("number of transactions actually processed: 10/20\nlatency average = 1 ms\ntps = 2.5 (x)").unwrap().transactions, 10);
    }

    #[test]
    fn connection_details_from_urls() {
        let c = Conn::from_url("postgres://postgres@127.0.0.1:5432/test").unwrap();
        assert_eq!(
            (
                c.host.as_str(),
                c.port,
                c.user.as_str(),
                c.database.as_str()
            ),
            ("127.0.0.1", 5432, "postgres", "test")
        );
        let c = Conn::from_url("postgresql://me:pw@db/x?sslmode=disable").unwrap();
        assert_eq!(
            (c.password.as_deref(), c.database.as_str()),
            (Some("pw"), "x")
        );
        assert!(matches!(
            Conn::from_url("postgres://127.0.0.1/test"),
            Err(BenchError::NoUser)
        ));
    }
}
