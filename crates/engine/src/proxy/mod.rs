//! The PostgreSQL wire-protocol capture proxy (`persona proxy`): applications connect to it
//! instead of the database; it relays every byte between them unchanged and records each
//! statement it sees (SQL, parameters, duration, rows, error) as a
//! [`CaptureEvent`](persona_core::model::CaptureEvent) on a bounded channel.
//!
//! It is not a pooler and not a gateway: one server connection per client connection,
//! authentication (trust, cleartext, md5, SCRAM-SHA-256) passes through untouched, SSL and GSS
//! encryption requests from clients are declined so statements can be read (the proxy does not
//! speak TLS to the server either), and CancelRequests are forwarded to the server. Capture
//! never slows the client: events go out with `try_send`, and a full channel drops them and
//! counts the drop.
//!
//! Layout: [`protocol`] (message framing and decoders), [`relay`] (one direction of a session:
//! buffers and framing), [`tracker`] (matching completions to requests, building events),
//! [`session`] (startup, cancel requests, the two relay directions and failure handling),
//! [`listener`] (accepting, connection limits), [`stats`] (counters), [`bench`](mod@bench) (the
//! `persona bench proxy` harness).

pub mod bench;
#[cfg(test)]
mod fuzz;
pub mod listener;
pub mod protocol;
pub mod relay;
pub mod session;
pub mod stats;
pub mod tracker;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

pub use listener::Proxy;
pub use stats::{ProxyStats, StatsSnapshot};
pub use tracker::CaptureConfig;

/// Where the proxy listens when not told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:6432";

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub listen: SocketAddr,
    pub upstream: Upstream,
    /// Client sessions served at once; more are refused with SQLSTATE 53300.
    pub max_connections: usize,
    /// Largest message length a client may declare; longer is a protocol violation that closes
    /// the connection. Defaults to PostgreSQL's own limit.
    pub max_message_bytes: u32,
    /// Largest message gathered whole for capture (Query, Parse, Bind); larger ones are
    /// streamed and captured cut short.
    pub max_inspect_bytes: usize,
    /// Relay buffer per direction and session.
    pub buffer_bytes: usize,
    /// Threads serving sessions, each with a single-threaded runtime; 0 serves them on the
    /// runtime that runs the proxy. The default, [`default_workers`], is a quarter of the CPUs
    /// (at least one): relaying is mostly system calls, and a single-threaded runtime wakes
    /// fewer threads per message than a work-stealing pool (on 2 CPUs, about 12% less CPU per
    /// transaction in `persona bench proxy`).
    pub workers: usize,
    /// Giving up on reaching the server.
    pub connect_timeout: Duration,
    /// Giving up on a client that does not send its startup packet.
    pub startup_timeout: Duration,
    pub capture: CaptureConfig,
}

impl ProxyConfig {
    pub fn new(listen: SocketAddr, upstream: Upstream) -> Self {
        ProxyConfig {
            listen,
            upstream,
            max_connections: 1000,
            max_message_bytes: protocol::framing::DEFAULT_MAX_MESSAGE_LEN,
            max_inspect_bytes: 1024 * 1024,
            buffer_bytes: 16 * 1024,
            workers: default_workers(),
            connect_timeout: Duration::from_secs(10),
            startup_timeout: Duration::from_secs(30),
            capture: CaptureConfig::default(),
        }
    }
}

/// A quarter of the available CPUs, at least 1, at most 16.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 4).clamp(1, 16))
}

/// The server the proxy relays to: `postgres://host:port` (user, database and other parts
/// of the URL are the client's business and ignored), or `host:port`, or `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
}

/// Proxy set-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("invalid upstream {url:?}: {reason}")]
    UpstreamUrl { url: String, reason: &'static str },
    #[error(
        "upstream {url:?} asks for TLS (sslmode={mode}), which the proxy does not speak to the \
         server yet; use sslmode=disable or prefer"
    )]
    UpstreamTls { url: String, mode: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl FromStr for Upstream {
    type Err = ProxyError;

    fn from_str(url: &str) -> Result<Self, ProxyError> {
        let bad = |reason| ProxyError::UpstreamUrl {
            url: url.to_owned(),
            reason,
        };
        let (rest, query) = match url.split_once("://") {
            Some(("postgres" | "postgresql", rest)) => rest
                .split_once('?')
                .map_or((rest, None), |(a, q)| (a, Some(q))),
            Some(_) => return Err(bad("the scheme must be postgres:// or postgresql://")),
            None => (url, None),
        };
        if let Some(query) = query {
            for pair in query.split('&') {
                if let Some(("sslmode", mode)) = pair.split_once('=')
                    && !matches!(mode, "disable" | "allow" | "prefer")
                {
                    return Err(ProxyError::UpstreamTls {
                        url: url.to_owned(),
                        mode: mode.to_owned(),
                    });
                }
            }
        }
        let authority = rest.split('/').next().unwrap_or_default();
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed '[' in the host"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad("unexpected text after the IPv6 address")),
            }
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host (a TCP host is required)"));
        }
        if host.contains(',') {
            return Err(bad("several hosts are not supported"));
        }
        let port = match port {
            None | Some("") => 5432,
            Some(p) => p
                .parse()
                .map_err(|_| bad("the port is not a number from 1 to 65535"))?,
        };
        if port == 0 {
            return Err(bad("the port is not a number from 1 to 65535"));
        }
        Ok(Upstream {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        let up = |s: &str| s.parse::<Upstream>().map(|u| u.to_string());
        assert_eq!(up("postgres://127.0.0.1:5432").unwrap(), "127.0.0.1:5432");
        assert_eq!(
            up("postgresql://me:secret@db.internal/shop?sslmode=disable").unwrap(),
            "db.internal:5432"
        );
        assert_eq!(up("postgres://[::1]:6000/x").unwrap(), "[::1]:6000");
        assert_eq!(up("localhost:5433").unwrap(), "localhost:5433");
        assert_eq!(up("localhost").unwrap(), "localhost:5432");
        assert!(matches!(
            up("mysql://h:3306"),
            Err(ProxyError::UpstreamUrl { .. })
        ));
        assert!(matches!(
            up("postgres:///db"),
            Err(ProxyError::UpstreamUrl { .. })
        ));
        assert!(matches!(
            up("postgres://h:99999"),
            Err(ProxyError::UpstreamUrl { .. })
        ));
        assert!(matches!(
            up("postgres://h:0"),
            Err(ProxyError::UpstreamUrl { .. })
        ));
        assert!(matches!(
            up("postgres://a,b/db"),
            Err(ProxyError::UpstreamUrl { .. })
        ));
        let e = up("postgres://h/db?sslmode=require").unwrap_err();
        assert!(matches!(e, ProxyError::UpstreamTls { .. }), "{e}");
    }
}
