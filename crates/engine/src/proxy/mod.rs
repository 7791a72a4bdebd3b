//! The PostgreSQL wire-protocol capture proxy (`persona proxy`): applications connect to it
//! instead of the database; it relays every byte between them unchanged and records each
//! statement it sees (SQL, parameters, duration, rows, error) as a
//! [`CaptureEvent`](persona_core::model::CaptureEvent) on a bounded channel.
//!
//! It is not a pooler and not a gateway: one server connection per client connection,
//! authentication (trust, cleartext, md5, SCRAM-SHA-256) passes through untouched, SSL and GSS
//! encryption requests from clients are declined so statements can be read, and CancelRequests
//! are forwarded to the server. Towards the server the proxy speaks TLS when told to
//! ([`UpstreamTls`]: libpq's sslmode `disable`, `prefer`, `require`, `verify-ca`,
//! `verify-full`), sessions and cancel requests alike. Capture never slows the client: events
//! go out with `try_send`, and a full channel drops them and counts the drop.
//!
//! Layout: [`protocol`] (message framing and decoders), [`relay`] (one direction of a session:
//! buffers and framing), [`tracker`] (matching completions to requests, building events),
//! [`session`] (startup, cancel requests, the two relay directions and failure handling),
//! [`tls`] (sslmode settings and the server connection, plain or TLS), [`listener`]
//! (accepting, connection limits), [`stats`] (counters), [`bench`](mod@bench) (the
//! `persona bench proxy` harness).

pub mod bench;
#[cfg(test)]
mod fuzz;
pub mod listener;
pub mod protocol;
pub mod relay;
pub mod session;
pub mod stats;
pub mod tls;
pub mod tracker;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use listener::Proxy;
pub use stats::{ProxyStats, StatsSnapshot};
pub use tls::{TlsMode, UpstreamTls};
pub use tracker::CaptureConfig;

/// Where the proxy listens when not told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:6432";

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub listen: SocketAddr,
    pub upstream: Upstream,
    /// TLS towards the server (default: none).
    pub tls: UpstreamTls,
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
            tls: UpstreamTls::default(),
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
/// of the URL are the client's business and ignored), or `host:port`, or `host`. The URL's
/// TLS parameters (`sslmode`, `sslrootcert`) are read by [`UpstreamTls::from_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
}

/// The server's address and TLS settings from an upstream URL, with the command line's
/// choices (`--upstream-tls`, `--upstream-ca`) taking precedence over the URL's `sslmode` and
/// `sslrootcert`.
pub fn parse_upstream(
    url: &str,
    mode: Option<TlsMode>,
    root_cert: Option<PathBuf>,
) -> Result<(Upstream, UpstreamTls), ProxyError> {
    let upstream = url.parse()?;
    let mut tls = UpstreamTls::from_url(url)?;
    if let Some(mode) = mode {
        tls.mode = mode;
    }
    if root_cert.is_some() {
        tls.root_cert = root_cert;
    }
    Ok((upstream, tls))
}

/// Proxy set-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("invalid upstream {url:?}: {reason}")]
    UpstreamUrl { url: String, reason: &'static str },
    #[error(
        "unknown TLS mode {value:?} for the upstream: use disable, prefer, require, verify-ca \
         or verify-full"
    )]
    TlsMode { value: String },
    #[error("cannot read the upstream's trusted certificates from {}: {reason}", path.display())]
    UpstreamCa { path: PathBuf, reason: String },
    #[error(
        "sslmode={mode} checks the server's certificate, but the system's trusted certificates \
         cannot be used ({reason}); name a PEM file with --upstream-ca or sslrootcert="
    )]
    SystemRoots { mode: TlsMode, reason: String },
    #[error(
        "the upstream host {host:?} is not a DNS name or IP address that sslmode=verify-full can \
         check the server's certificate against"
    )]
    TlsServerName { host: String },
    #[error("cannot set up TLS towards the upstream: {reason}")]
    TlsSetup { reason: String },
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
        let rest = match url.split_once("://") {
            Some(("postgres" | "postgresql", rest)) => {
                rest.split_once('?').map_or(rest, |(a, _)| a)
            }
            Some(_) => return Err(bad("the scheme must be postgres:// or postgresql://")),
            None => url,
        };
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
        // TLS parameters do not change the address.
        assert_eq!(
            up("postgres://h/db?sslmode=verify-full&sslrootcert=/ca.pem").unwrap(),
            "h:5432"
        );
    }

    #[test]
    fn upstream_tls_from_url_and_flags() {
        let parse = |url: &str, mode: Option<TlsMode>, ca: Option<&str>| {
            parse_upstream(url, mode, ca.map(PathBuf::from))
        };
        let (up, tls) = parse("postgres://u@db:6000/x", None, None).unwrap();
        assert_eq!(up.to_string(), "db:6000");
        assert_eq!(tls, UpstreamTls::default());
        assert_eq!(tls.mode, TlsMode::Disable);

        let (_, tls) = parse(
            "postgres://db/x?sslmode=verify-ca&sslrootcert=/etc/url.pem",
            None,
            None,
        )
        .unwrap();
        assert_eq!(tls.mode, TlsMode::VerifyCa);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/url.pem")));

        // Flags win over the URL, each on its own.
        let (_, tls) = parse(
            "postgres://db/x?sslmode=verify-ca&sslrootcert=/etc/url.pem",
            Some(TlsMode::Require),
            None,
        )
        .unwrap();
        assert_eq!(
            (tls.mode, tls.root_cert),
            (TlsMode::Require, Some(PathBuf::from("/etc/url.pem")))
        );
        let (_, tls) = parse(
            "postgres://db/x?sslmode=prefer",
            None,
            Some("/etc/flag.pem"),
        )
        .unwrap();
        assert_eq!(
            (tls.mode, tls.root_cert),
            (TlsMode::Prefer, Some(PathBuf::from("/etc/flag.pem")))
        );
        // A flag does not excuse a bad URL.
        assert!(matches!(
            parse(
                "postgres://db/x?sslmode=sometimes",
                Some(TlsMode::Disable),
                None
            ),
            Err(ProxyError::TlsMode { .. })
        ));
        // host:port takes no parameters; the flags alone say.
        let (up, tls) = parse("db:5433", Some(TlsMode::VerifyFull), Some("/ca.pem")).unwrap();
        assert_eq!(up.to_string(), "db:5433");
        assert_eq!(tls.mode, TlsMode::VerifyFull);
    }
}
