//! Accepting client connections: one task per connection in a set owned by the accept loop,
//! so stopping the proxy ends every session it serves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use persona_core::model::CaptureEvent;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::session::{self, Shared};
use super::stats::ProxyStats;
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
    pub async fn bind(
        config: ProxyConfig,
        events: mpsc::Sender<CaptureEvent>,
    ) -> Result<Proxy, ProxyError> {
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
        tracing::info!(
            listen = %addr,
            upstream = %self.shared.config.upstream,
            max_connections = self.shared.config.max_connections,
            "proxy listening"
        );
        let mut sessions = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((socket, peer)) => {
                        self.shared.stats.counters().connections_total.inc();
                        sessions.spawn(session::serve(socket, peer, Arc::clone(&self.shared)));
                    }
                    Err(e) => {
                        // Typically out of file descriptors: back off instead of spinning.
                        tracing::warn!(listen = %addr, "accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(done) = sessions.join_next(), if !sessions.is_empty() => {
                    if let Err(e) = done
                        && e.is_panic()
                    {
                        tracing::error!("a proxy session panicked: {e}");
                    }
                }
            }
        }
        tracing::info!(listen = %addr, sessions = sessions.len(), "proxy stopping");
        sessions.shutdown().await;
    }
}
