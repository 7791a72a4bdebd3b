//! `persona proxy` (run the PostgreSQL capture proxy until Ctrl-C, writing what it captures) and
//! `persona bench proxy` (pgbench direct, through the proxy and through PgBouncer, in one run).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, ValueEnum};
use persona_core::analysis::recorder::{CaptureDelta, CaptureRecorder, RecorderConfig};
use persona_core::analysis::store::StoreConfig;
use persona_core::model::{CaptureEvent, CaptureSource};
use persona_engine::proxy::ProxyStats;
use persona_engine::proxy::bench::{self, BenchConfig};
use persona_engine::proxy::{DEFAULT_LISTEN, Proxy, ProxyConfig, TlsMode, parse_upstream};
use persona_engine::registry::{CaptureInfo, Registry, RegistryError, check_capture_name};
use tokio::sync::mpsc;

pub const PROXY_EXAMPLES: &str = "\
Examples:
  persona proxy --upstream postgres://127.0.0.1:5432
  persona proxy --upstream postgres://127.0.0.1:5432 --capture shop --flush-interval 30
  persona proxy --upstream postgres://127.0.0.1:5432 --no-registry --events captured.jsonl
  persona proxy --listen 0.0.0.0:6432 --upstream postgres://db.internal:5432 --events captured.jsonl
  persona proxy --upstream postgres://127.0.0.1:5432 --no-params --max-connections 200
  persona proxy --upstream 'postgres://db.internal:5432?sslmode=verify-full' --upstream-ca root.pem

Point applications at the proxy instead of the server (same user, password and database);
authentication passes through untouched. SSL requests from clients are declined (so statements
can be read). Towards the server the proxy uses TLS when told to, as libpq's sslmode does:
--upstream-tls (or sslmode= in the URL) disable (the default), prefer, require (encrypted, the
certificate not checked), verify-ca (signed by a trusted root) or verify-full (and valid for the
host). Trusted roots come from --upstream-ca (or sslrootcert=) or the system store. Cancel
requests go the same way. Captured statements go to --events
as JSON lines (`persona analyze --log FILE --format jsonl` reads them). Captured patterns
(normalized statements with their statistics, and which ones sessions run together) are saved
to the registry (--registry, $PERSONA_REGISTRY) under --capture every --flush-interval seconds
and at exit; several proxies may share one capture, their statistics add up. Read them with
`persona analyze --source proxy --capture NAME`, `persona capture list` or the app's Workload
page. A registry that cannot be written never holds up the application: the proxy logs the
failure, keeps what it captured and tries again at the next interval. Counters are logged every
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
    /// TLS towards the server, like libpq's sslmode (default: the URL's sslmode, else disable)
    #[arg(
        long,
        value_name = "MODE",
        value_parser = PossibleValuesParser::new(TlsMode::NAMES).try_map(|s| s.parse::<TlsMode>())
    )]
    pub upstream_tls: Option<TlsMode>,
    /// PEM file of the roots trusted to sign the server's certificate under verify-ca and
    /// verify-full (default: the URL's sslrootcert, else the system store)
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Option<PathBuf>,
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
    /// Save captured patterns in the registry under this capture name (several proxies may
    /// share one)
    #[arg(long, default_value = "proxy", value_name = "NAME")]
    pub capture: String,
    /// Save to the registry every this many seconds (and at exit)
    #[arg(
        long,
        default_value_t = 10,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub flush_interval: u64,
    /// Keep one example statement per pattern (with its literal values) in the registry; by
    /// default only normalized statements are saved
    #[arg(long, conflicts_with = "no_registry")]
    pub keep_examples: bool,
    /// Do not save to the registry (only --events, when given)
    #[arg(long)]
    pub no_registry: bool,
}

/// Run the proxy until Ctrl-C.
pub async fn run(context: &super::Context, args: ProxyArgs) -> anyhow::Result<()> {
    let (upstream, tls) =
        parse_upstream(&args.upstream, args.upstream_tls, args.upstream_ca.clone())?;
    let tls_mode = tls.mode;
    let mut config = ProxyConfig::new(args.listen, upstream.clone());
    config.tls = tls;
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
    // Opened before listening: a registry that cannot be used is a start-up error.
    let sink = if args.no_registry {
        None
    } else {
        Some(open_sink(context, &args).await?)
    };
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
    let (flushes, flusher) = match sink {
        Some(sink) => {
            let (flushes, deltas) = mpsc::channel(1);
            let every = sink.every;
            (
                Some((flushes, every)),
                Some(tokio::spawn(run_flusher(sink, deltas))),
            )
        }
        None => (None, None),
    };
    let writer = spawn_writer(
        rx,
        events,
        flushes.map(|(tx, every)| (tx, every, recorder_config(args.keep_examples))),
        stats.clone(),
        Arc::clone(&stop),
    );
    eprintln!(
        "persona proxy: listening on {}, relaying to {upstream}{}{} (Ctrl-C stops)",
        proxy.local_addr(),
        match tls_mode {
            TlsMode::Disable => String::new(),
            mode => format!(" (TLS: {mode})"),
        },
        args.events
            .as_ref()
            .map(|p| format!(", capturing to {}", p.display()))
            .unwrap_or_default()
    );
    if !args.no_registry {
        eprintln!(
            "persona proxy: saving captured patterns as capture `{}` in the registry every {} s",
            args.capture, args.flush_interval
        );
    }
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
        .map_err(|_| anyhow::anyhow!("the capture writer panicked"))?;
    eprintln!("persona proxy: stopped; {}", stats.snapshot());
    let saved = match flusher {
        Some(task) => Some(
            task.await
                .context("the registry writer stopped unexpectedly")?,
        ),
        None => None,
    };
    if args.events.is_some()
        && let Ok(written) = &written
    {
        eprintln!("persona proxy: {written} statements written");
    }
    match saved {
        Some(Ok(Some(info))) => eprintln!(
            "persona proxy: capture `{}` in the registry: {} patterns, {} calls, {} flushes \
             (`persona analyze --source proxy --capture {}` reports on it)",
            info.name, info.patterns, info.calls, info.flushes, info.name
        ),
        Some(Ok(None)) => eprintln!("persona proxy: nothing captured, the registry is unchanged"),
        Some(Err(e)) => return Err(e),
        None => {}
    }
    written.map(|_| ())
}

/// Where captured patterns go: a capture in the registry, saved every `every`.
struct Sink {
    registry: Registry,
    name: String,
    every: Duration,
}

/// Open the registry `persona proxy` saves into (checking the capture name first).
async fn open_sink(context: &super::Context, args: &ProxyArgs) -> anyhow::Result<Sink> {
    check_capture_name(&args.capture)
        .map_err(|e| super::error::InvalidInput::new(format!("--capture: {e}")))?;
    let registry = context
        .registry()
        .await
        .context("the proxy saves what it captures there (--no-registry to only write --events)")?;
    Ok(Sink {
        registry,
        name: args.capture.clone(),
        every: Duration::from_secs(args.flush_interval),
    })
}

/// The recorder's bounds: the store keeps examples only when asked (they carry literals).
fn recorder_config(keep_examples: bool) -> RecorderConfig {
    RecorderConfig {
        store: StoreConfig {
            keep_examples,
            ..StoreConfig::default()
        },
        ..RecorderConfig::default()
    }
}

/// Save the deltas the writer hands over into the capture. A failed save is logged and kept;
/// it is merged with the next delta and tried again (an empty delta still triggers the retry).
/// After the last delta (the writer is gone) a failed save is tried a few more times. Returns
/// the capture as last saved (None when nothing needed saving), or why the last delta was lost.
async fn run_flusher(
    sink: Sink,
    mut deltas: mpsc::Receiver<CaptureDelta>,
) -> anyhow::Result<Option<CaptureInfo>> {
    let max_windows = RecorderConfig::default().max_windows;
    let mut pending: Option<CaptureDelta> = None;
    let mut saved = None;
    let mut failing = false;
    while let Some(delta) = deltas.recv().await {
        let delta = match pending.take() {
            Some(mut earlier) => {
                earlier.absorb(delta, max_windows);
                earlier
            }
            None => delta,
        };
        if delta.is_empty() {
            continue;
        }
        match save(&sink, &delta).await {
            Ok(info) => {
                if std::mem::take(&mut failing) {
                    tracing::warn!("capture `{}`: saved to the registry again", sink.name);
                }
                tracing::info!(
                    "capture `{}` saved: {} patterns, {} calls",
                    info.name,
                    info.patterns,
                    info.calls
                );
                saved = Some(info);
            }
            Err(e) => {
                tracing::error!(
                    "capture `{}`: saving {} statements to the registry at {} failed; they are \
                     kept and saved with the next ones in {} s: {e}",
                    sink.name,
                    delta.store.events(),
                    sink.registry.location(),
                    sink.every.as_secs()
                );
                failing = true;
                pending = Some(delta);
            }
        }
    }
    let Some(delta) = pending else {
        return Ok(saved);
    };
    let mut last = None;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match save(&sink, &delta).await {
            Ok(info) => return Ok(Some(info)),
            Err(e) => last = Some(e),
        }
    }
    let error = last.map_or_else(|| anyhow::anyhow!("unknown error"), anyhow::Error::new);
    Err(error.context(format!(
        "the last {} captured statements could not be saved to capture `{}` in the registry at {}",
        delta.store.events(),
        sink.name,
        sink.registry.location()
    )))
}

async fn save(sink: &Sink, delta: &CaptureDelta) -> Result<CaptureInfo, RegistryError> {
    sink.registry
        .flush_capture(&sink.name, CaptureSource::Proxy, delta)
        .await
}

/// Microseconds since the Unix epoch, now.
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Drain captured statements on a thread of its own (file writes and recording never hold up
/// the relay), in batches: append them as JSON lines when a file was given, and record them
/// for the registry when `flushes` is given, handing the flusher a delta every interval (and a
/// last one at exit). When the flusher is busy, the delta is kept and handed over with the
/// next. A file that cannot be written is given up (the error is logged, and returned at the
/// end); recording goes on. Returns how many statements were written to the file.
fn spawn_writer(
    mut rx: mpsc::Receiver<CaptureEvent>,
    file: Option<std::fs::File>,
    flushes: Option<(mpsc::Sender<CaptureDelta>, Duration, RecorderConfig)>,
    stats: ProxyStats,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<anyhow::Result<u64>> {
    std::thread::spawn(move || {
        let mut out = file.map(std::io::BufWriter::new);
        let mut written = 0u64;
        let mut file_error: Option<anyhow::Error> = None;
        let mut recorder = flushes
            .as_ref()
            .map(|(_, _, config)| CaptureRecorder::new(*config));
        let mut last_flush = std::time::Instant::now();
        let mut dropped_seen = 0u64;
        loop {
            let mut got = 0usize;
            while let Ok(event) = rx.try_recv() {
                got += 1;
                if let Some(recorder) = &mut recorder {
                    recorder.record(&event);
                }
                if let Some(o) = &mut out {
                    match append(o, &event) {
                        Ok(()) => written += 1,
                        Err(e) => file_error = Some(give_up(&mut out, e)),
                    }
                }
            }
            if let Some(o) = &mut out
                && let Err(e) = o.flush()
            {
                file_error = Some(give_up(&mut out, e.into()));
            }
            let stopping = got == 0 && stop.load(Ordering::Relaxed);
            if let (Some(recorder), Some((tx, every, _))) = (&mut recorder, &flushes)
                && (stopping || last_flush.elapsed() >= *every)
            {
                last_flush = std::time::Instant::now();
                let mut delta = if stopping {
                    recorder.finish()
                } else {
                    recorder.take(now_us())
                };
                let dropped = stats.snapshot().events_dropped;
                delta.dropped_events += dropped.saturating_sub(dropped_seen);
                dropped_seen = dropped;
                if stopping {
                    if tx.blocking_send(delta).is_err() {
                        tracing::error!(
                            "the registry writer is gone; the last statements are lost"
                        );
                    }
                } else if let Err(
                    mpsc::error::TrySendError::Full(delta)
                    | mpsc::error::TrySendError::Closed(delta),
                ) = tx.try_send(delta)
                {
                    recorder.restore(delta);
                }
            }
            if stopping {
                return file_error.map_or(Ok(written), Err);
            }
            // Batching: waking this thread per statement would cost the relay more than
            // capturing it.
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

fn append(out: &mut std::io::BufWriter<std::fs::File>, event: &CaptureEvent) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, event)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Stop writing the events file after `e` (logged); the error to report at exit.
fn give_up(out: &mut Option<std::io::BufWriter<std::fs::File>>, e: anyhow::Error) -> anyhow::Error {
    tracing::error!("writing captured statements failed, the events file is given up: {e:#}");
    *out = None;
    e.context("writing captured statements")
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
