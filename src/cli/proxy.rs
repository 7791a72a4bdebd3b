//! `persona proxy` (run the PostgreSQL capture proxy until Ctrl-C, writing what it captures) and
//! `persona bench proxy` (pgbench direct, through the proxy and through PgBouncer, in one run).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use persona_core::model::CaptureEvent;
use persona_engine::proxy::bench::{self, BenchConfig};
use persona_engine::proxy::{DEFAULT_LISTEN, Proxy, ProxyConfig, Upstream};
use tokio::sync::mpsc;

pub const PROXY_EXAMPLES: &str = "\
Examples:
  persona proxy --upstream postgres://127.0.0.1:5432
  persona proxy --listen 0.0.0.0:6432 --upstream postgres://db.internal:5432 --events captured.jsonl
  persona proxy --upstream postgres://127.0.0.1:5432 --no-params --max-connections 200

Point applications at the proxy instead of the server (same user, password and database);
authentication passes through untouched. SSL requests from clients are declined (so statements
can be read) and the proxy talks to the server without TLS. Captured statements go to --events
as JSON lines (`persona analyze --log FILE --format jsonl` reads them). Counters are logged every
--stats-interval seconds (RUST_LOG=info) and printed at exit.";

/// `persona proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Address to listen on (loopback unless you say otherwise)
    #[arg(long, default_value = DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The PostgreSQL server: postgres://HOST:PORT (user and database come from each client)
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Refuse sessions beyond this many (SQLSTATE 53300)
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_connections: usize,
    /// Largest message a client may send; a longer one closes its connection (default:
    /// PostgreSQL's own limit, 1 GiB)
    #[arg(long, value_name = "BYTES")]
    pub max_message_bytes: Option<u32>,
    /// Do not record bound parameter values
    #[arg(long)]
    pub no_params: bool,
    /// Longest parameter value recorded; longer ones are cut
    #[arg(long, default_value_t = 256, value_name = "BYTES")]
    pub max_param_bytes: usize,
    /// Append captured statements to this file as JSON lines
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Captured statements queued for the writer; when full, statements are dropped (and
    /// counted), never the application's traffic
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    pub queue: usize,
    /// Threads serving sessions, each with a single-threaded runtime (default: a quarter of the
    /// CPUs, at least 1; 0 serves them on the main runtime)
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Log the counters every this many seconds (0: only at exit)
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub stats_interval: u64,
}

/// Run the proxy until Ctrl-C.
pub async fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let upstream: Upstream = args.upstream.parse()?;
    let mut config = ProxyConfig::new(args.listen, upstream.clone());
    config.max_connections = args.max_connections;
    if let Some(workers) = args.workers {
        config.workers = workers;
    }
    if let Some(max) = args.max_message_bytes {
        config.max_message_bytes = max;
    }
    config.capture.params = !args.no_params;
    config.capture.max_param_bytes = args.max_param_bytes;
    anyhow::ensure!(args.queue > 0, "--queue must be at least 1");
    let (tx, rx) = mpsc::channel(args.queue);
    let proxy = Proxy::bind(config, tx).await?;
    let stats = proxy.stats();
    let events = match &args.events {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {} for captured statements", path.display()))?,
        ),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let writer = spawn_writer(rx, events, Arc::clone(&stop));
    eprintln!(
        "persona proxy: listening on {}, relaying to {upstream}{} (Ctrl-C stops)",
        proxy.local_addr(),
        args.events
            .as_ref()
            .map(|p| format!(", capturing to {}", p.display()))
            .unwrap_or_default()
    );
    let ticker = (args.stats_interval > 0).then(|| {
        let stats = stats.clone();
        let every = Duration::from_secs(args.stats_interval);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                tracing::info!("proxy counters: {}", stats.snapshot());
            }
        })
    });
    proxy
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    if let Some(t) = ticker {
        t.abort();
    }
    stop.store(true, Ordering::Relaxed);
    let written = tokio::task::spawn_blocking(move || writer.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the capture writer panicked"))??;
    eprintln!("persona proxy: stopped; {}", stats.snapshot());
    if args.events.is_some() {
        eprintln!("persona proxy: {written} statements written");
    }
    Ok(())
}

/// Drain captured statements on a thread of its own (file writes never hold up the relay),
/// in batches, appending them as JSON lines when a file was given. Returns how many were
/// written.
fn spawn_writer(
    mut rx: mpsc::Receiver<CaptureEvent>,
    file: Option<std::fs::File>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<anyhow::Result<u64>> {
    std::thread::spawn(move || {
        let mut out = file.map(std::io::BufWriter::new);
        let mut written = 0u64;
        loop {
            let mut got = 0usize;
            while let Ok(event) = rx.try_recv() {
                got += 1;
                if let Some(out) = &mut out {
                    serde_json::to_writer(&mut *out, &event)?;
                    out.write_all(b"\n")?;
                    written += 1;
                }
            }
            if let Some(out) = &mut out {
                out.flush().context("writing captured statements")?;
            }
            if got == 0 && stop.load(Ordering::Relaxed) {
                return Ok(written);
            }
            // Batching: waking this thread per statement would cost the relay more than
            // capturing it.
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

pub const BENCH_EXAMPLES: &str = "\
Examples:
  persona bench proxy
  persona bench proxy --url postgres://postgres@127.0.0.1:5432/postgres --duration 20 --rounds 3
  persona bench proxy --protocol prepared --no-write-mix --latency-duration 0

Runs pgbench (select-only, and the simple-update write mix) directly against the server,
through the capture proxy (started in this process on a free port, every statement captured),
and through PgBouncer in session mode (when installed), then pgbench -S -c 1 for the added
median latency, and opens idle sessions to measure the proxy's memory. Works in a scratch
database that is dropped at the end. Needs pgbench and a superuser URL with trust or password
authentication.";

/// pgbench's query mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryMode {
    Simple,
    Extended,
    Prepared,
}

/// `persona bench proxy`.
#[derive(Debug, Args)]
pub struct BenchProxyArgs {
    /// A superuser URL of the server (default: $PERSONA_TEST_PG_URL, else
    /// postgres://postgres@127.0.0.1:5432/postgres)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// pgbench clients for the throughput runs (-c)
    #[arg(long, default_value_t = 8)]
    pub clients: u32,
    /// pgbench threads for the throughput runs (-j)
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
    /// Seconds per throughput run
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub duration: u64,
    /// Seconds per single-client latency run (0 skips them)
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub latency_duration: u64,
    /// pgbench scale factor of the scratch database
    #[arg(long, default_value_t = 1)]
    pub scale: u32,
    /// pgbench query mode (-M)
    #[arg(long, value_enum, default_value_t = QueryMode::Simple)]
    pub protocol: QueryMode,
    /// Repeat each run this many times and report the median
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// Skip the write mix (pgbench -N)
    #[arg(long)]
    pub no_write_mix: bool,
    /// Idle sessions for the memory measurement (0 skips it)
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub idle_clients: usize,
    /// The pgbouncer binary (default: /usr/sbin/pgbouncer or PATH)
    #[arg(long, value_name = "PATH")]
    pub pgbouncer: Option<PathBuf>,
    /// The pgbench binary
    #[arg(long, default_value = "pgbench", value_name = "PATH")]
    pub pgbench: PathBuf,
    /// Keep the scratch database
    #[arg(long)]
    pub keep_database: bool,
    /// The proxy's worker threads (see `persona proxy --workers`)
    #[arg(long, value_name = "N")]
    pub proxy_workers: Option<usize>,
}

/// Run the benchmark and print the report.
pub async fn run_bench(args: BenchProxyArgs) -> anyhow::Result<()> {
    let url = args
        .url
        .or_else(|| std::env::var("PERSONA_TEST_PG_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    anyhow::ensure!(
        args.rounds > 0 && args.clients > 0 && args.jobs > 0,
        "--rounds, --clients and --jobs must be at least 1"
    );
    let mut config = BenchConfig::new(url);
    config.clients = args.clients;
    config.jobs = args.jobs;
    config.duration = Duration::from_secs(args.duration.max(1));
    config.latency_duration = Duration::from_secs(args.latency_duration);
    config.scale = args.scale.max(1);
    config.protocol.clear();
    config.protocol.push_str(match args.protocol {
        QueryMode::Simple => "simple",
        QueryMode::Extended => "extended",
        QueryMode::Prepared => "prepared",
    });
    config.rounds = args.rounds;
    config.write_mix = !args.no_write_mix;
    config.idle_clients = args.idle_clients;
    config.pgbouncer = args.pgbouncer;
    config.pgbench = args.pgbench;
    config.keep_database = args.keep_database;
    config.proxy_workers = args.proxy_workers;
    let report = bench::run(&config, &|step| eprintln!("bench: {step}")).await?;
    print!("{report}");
    Ok(())
}
