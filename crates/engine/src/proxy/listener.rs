//! Accepting client connections: one task per connection in a set owned by the accept loop,
//! so stopping the proxy ends every session it serves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use persona_core::model::CaptureEvent;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::session::{self, Shared};
use super::stats::ProxyStats;
use super::tls::Connector;
use super::tracker::EventSink;
use super::{ProxyConfig, ProxyError};

/// A bound proxy, ready to run.
#[derive(Debug)]
pub struct Proxy {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listen on `config.listen` (port 0 picks a free port: see [`Proxy::local_addr`]).
    /// Captured statements go to `events`; when it is full they are dropped and counted.
    /// The TLS settings are checked here: an unusable root certificate file is an error.
    pub async fn bind(
        config: ProxyConfig,
        events: mpsc::Sender<CaptureEvent>,
    ) -> Result<Proxy, ProxyError> {
        let connector = Connector::new(&config.upstream, &config.tls)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ProxyError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let stats = ProxyStats::default();
        let sink = EventSink::new(events, stats.clone());
        Ok(Proxy {
            listener,
            shared: Arc::new(Shared {
                config,
                connector,
                stats,
                sink,
            }),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.shared.config.listen)
    }

    /// A handle on the proxy's counters (stays valid after the proxy stops).
    pub fn stats(&self) -> ProxyStats {
        self.shared.stats.clone()
    }

    /// Serve until the task running this is dropped or aborted.
    pub async fn run(self) {
        self.run_until(std::future::pending()).await;
    }

    /// Serve until `shutdown` completes; then stop accepting and end every session.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let addr = self.local_addr();
        let config = &self.shared.config;
        tracing::info!(
            listen = %addr,
            upstream = %config.upstream,
            upstream_tls = %config.tls.mode,
            max_connections = config.max_connections,
            workers = config.workers,
            "proxy listening"
        );
        let mut placement = Placement::new(&self.shared);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((socket, peer)) => {
                        self.shared.stats.counters().connections_total.inc();
                        placement.serve(socket, peer, &self.shared);
                    }
                    Err(e) => {
                        // Typically out of file descriptors: back off instead of spinning.
                        tracing::warn!(listen = %addr, "accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(done) = placement.here.join_next(), if !placement.here.is_empty() => {
                    log_panic(done);
                }
            }
        }
        tracing::info!(listen = %addr, "proxy stopping");
        placement.shutdown().await;
    }
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!("a proxy session panicked: {e}");
    }
}

/// Where sessions run: on the caller's runtime, or spread over worker threads that each run a
/// single-threaded runtime (fewer cross-thread wake-ups per message than a work-stealing pool).
struct Placement {
    here: JoinSet<()>,
    workers: Vec<mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    next: usize,
}

impl Placement {
    fn new(shared: &Arc<Shared>) -> Self {
        let mut placement = Placement {
            here: JoinSet::new(),
            workers: Vec::new(),
            threads: Vec::new(),
            next: 0,
        };
        for i in 0..shared.config.workers {
            let (tx, rx) = mpsc::unbounded_channel();
            let shared = Arc::clone(shared);
            let spawned = std::thread::Builder::new()
                .name(format!("persona-proxy-{i}"))
                .spawn(move || worker(rx, &shared));
            match spawned {
                Ok(handle) => {
                    placement.workers.push(tx);
                    placement.threads.push(handle);
                }
                Err(e) => {
                    tracing::warn!(
                        "could not start proxy worker thread {i}: {e}; serving on the main runtime"
                    );
                    break;
                }
            }
        }
        placement
    }

    fn serve(&mut self, socket: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
        if !self.workers.is_empty() {
            match socket.into_std() {
                Ok(std_socket) => {
                    let i = self.next % self.workers.len();
                    self.next = self.next.wrapping_add(1);
                    if self.workers[i].send((std_socket, peer)).is_err() {
                        tracing::error!(
                            worker = i,
                            "a proxy worker thread is gone; dropping the connection"
                        );
                    }
                }
                Err(e) => tracing::warn!(%peer, "could not hand a connection to a worker: {e}"),
            }
            return;
        }
        self.here
            .spawn(session::serve(socket, peer, Arc::clone(shared)));
    }

    async fn shutdown(mut self) {
        self.here.shutdown().await;
        self.workers.clear();
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// One worker thread: a single-threaded runtime serving the sessions handed to it, until the
/// proxy stops (its channel closes); then every session it serves ends.
fn worker(
    mut rx: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    shared: &Arc<Shared>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("could not start a proxy worker runtime: {e}");
            return;
        }
    };
    runtime.block_on(async {
        let mut sessions = JoinSet::new();
        loop {
            tokio::select! {
                next = rx.recv() => match next {
                    Some((socket, peer)) => match TcpStream::from_std(socket) {
                        Ok(socket) => {
                            sessions.spawn(session::serve(socket, peer, Arc::clone(shared)));
                        }
                        Err(e) => tracing::warn!(%peer, "could not register a connection: {e}"),
                    },
                    None => break,
                },
                Some(done) = sessions.join_next(), if !sessions.is_empty() => log_panic(done),
            }
        }
        sessions.shutdown().await;
    });
}
