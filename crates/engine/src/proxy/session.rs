//! One client connection, start to end: the startup packet (declining SSL and GSS encryption,
//! forwarding a CancelRequest to the server on its own connection), the connection limit,
//! connecting to the server (plain or TLS, see [`tls`](super::tls)) and forwarding the
//! StartupMessage, then the two relay directions until either side ends, and what each way of
//! ending means for the client: a server that is unreachable, refuses TLS, fails the
//! certificate check or dies gives it an ErrorResponse (SQLSTATE 08001 / 08006), a malformed
//! client message closes its connection with 08P01. Nothing here affects any other session.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::ProxyConfig;
use super::protocol::error_response::{self, Severity, sqlstate};
use super::protocol::startup::{self, StartupError, StartupPacket, StartupParams};
use super::relay::{Direction, Pump, PumpError};
use super::stats::{ActiveGuard, Counters, ProxyStats};
use super::tls::{ConnectError, Connector, ServerStream};
use super::tracker::{EventSink, Tracker};

/// What every session of one proxy shares.
#[derive(Debug)]
pub struct Shared {
    pub config: ProxyConfig,
    /// Opens server connections as `config.tls` says.
    pub connector: Connector,
    pub stats: ProxyStats,
    pub sink: EventSink,
}

/// How long the proxy keeps trying to deliver its own error message to a client.
const ERROR_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a client opened its connection for.
enum Opening {
    Cancel { len: usize, pid: i32 },
    Session { len: usize, params: StartupParams },
}

#[derive(Debug, thiserror::Error)]
enum StartupFailure {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the client closed the connection during startup")]
    Closed,
    #[error(transparent)]
    Packet(#[from] StartupError),
    #[error("too many encryption requests during startup")]
    TooManyNegotiations,
}

/// Serve one accepted client connection until it ends.
pub async fn serve(mut client: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let cfg = &shared.config;
    let counters = shared.stats.counters();
    let mut c2s = Pump::new(
        Direction::Frontend,
        cfg.buffer_bytes,
        cfg.max_message_bytes,
        cfg.max_inspect_bytes,
    );
    let opening = match timeout(cfg.startup_timeout, read_startup(&mut client, &mut c2s)).await {
        Ok(Ok(opening)) => opening,
        Err(_) => {
            tracing::debug!(%peer, "closing a client that sent no startup packet in time");
            return;
        }
        Ok(Err(StartupFailure::Io(e))) => {
            tracing::debug!(%peer, "client connection failed during startup: {e}");
            return;
        }
        Ok(Err(StartupFailure::Closed)) => return,
        Ok(Err(e)) => {
            counters.protocol_errors.inc();
            tracing::warn!(%peer, "closing a client connection: {e}");
            let code = match e {
                StartupFailure::Packet(StartupError::UnsupportedProtocol { .. }) => {
                    sqlstate::FEATURE_NOT_SUPPORTED
                }
                _ => sqlstate::PROTOCOL_VIOLATION,
            };
            send_error(&mut client, code, &format!("persona proxy: {e}")).await;
            return;
        }
    };
    match opening {
        Opening::Cancel { len, pid } => forward_cancel(client, &shared, &c2s, len, pid).await,
        Opening::Session { len, params } => {
            run_session(client, peer, &shared, c2s, len, params).await;
        }
    }
}

/// Read startup packets until a StartupMessage or CancelRequest, declining encryption
/// requests. The packet stays at the start of the pump's buffer.
async fn read_startup(client: &mut TcpStream, c2s: &mut Pump) -> Result<Opening, StartupFailure> {
    let mut negotiations = 0;
    loop {
        if !c2s.fill_to(client, 4).await? {
            return Err(StartupFailure::Closed);
        }
        let Some(len) = startup::packet_len(c2s.buffered())? else {
            return Err(StartupFailure::Closed);
        };
        if !c2s.fill_to(client, len).await? {
            return Err(StartupFailure::Closed);
        }
        let opening = match startup::decode(&c2s.buffered()[..len])? {
            StartupPacket::SslRequest | StartupPacket::GssEncRequest => None,
            StartupPacket::Cancel { pid, .. } => Some(Opening::Cancel { len, pid }),
            StartupPacket::Startup { params, .. } => Some(Opening::Session { len, params }),
        };
        if let Some(opening) = opening {
            return Ok(opening);
        }
        negotiations += 1;
        if negotiations > 2 {
            return Err(StartupFailure::TooManyNegotiations);
        }
        client.write_all(&[startup::DECLINE]).await?;
        c2s.consume(len);
    }
}

/// A connection to the server, with TLS when the settings say.
async fn connect_upstream(shared: &Shared) -> Result<ServerStream, ConnectError> {
    let cfg = &shared.config;
    shared
        .connector
        .connect(&cfg.upstream, cfg.connect_timeout)
        .await
}

#[derive(Debug, thiserror::Error)]
enum CancelFailure {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Send the CancelRequest to the server on a connection of its own (over TLS like the
/// sessions), wait for the server to close it (it has acted on the request then), then close
/// the client's.
async fn forward_cancel(mut client: TcpStream, shared: &Shared, c2s: &Pump, len: usize, pid: i32) {
    shared.stats.counters().cancel_requests.inc();
    let result = async {
        let mut upstream = connect_upstream(shared).await?;
        upstream.write_all(&c2s.buffered()[..len]).await?;
        upstream.flush().await?;
        let mut sink = [0u8; 64];
        let _ = timeout(shared.config.connect_timeout, async {
            while upstream.read(&mut sink).await.is_ok_and(|n| n > 0) {}
        })
        .await;
        Ok::<(), CancelFailure>(())
    }
    .await;
    match result {
        Ok(()) => tracing::debug!(pid, "forwarded a cancel request"),
        Err(e) => {
            tracing::warn!(pid, upstream = %shared.config.upstream, "could not forward a cancel request: {e}");
        }
    }
    let _ = client.shutdown().await;
}

async fn run_session(
    mut client: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut c2s: Pump,
    len: usize,
    params: StartupParams,
) {
    let cfg = &shared.config;
    let counters = shared.stats.counters();
    let _active = ActiveGuard::new(&shared.stats);
    if counters.connections_active.get() > cfg.max_connections as u64 {
        counters.connections_rejected.inc();
        tracing::warn!(
            %peer,
            limit = cfg.max_connections,
            "refusing a session: the proxy's connection limit is reached"
        );
        let message = format!(
            "sorry, too many clients already (the persona proxy serves at most {} sessions)",
            cfg.max_connections
        );
        send_error(&mut client, sqlstate::TOO_MANY_CONNECTIONS, &message).await;
        return;
    }
    let user = params.user.as_deref().unwrap_or("?");
    let database = params.database.as_deref().unwrap_or(user);
    let mut upstream = match connect_upstream(shared).await {
        Ok(upstream) => upstream,
        Err(e) => {
            counters.upstream_failures.inc();
            tracing::warn!(%peer, upstream = %cfg.upstream, "cannot reach the database server: {e}");
            let message = format!(
                "persona proxy could not connect to the database server at {}: {e}",
                cfg.upstream
            );
            send_error(&mut client, sqlstate::UNABLE_TO_CONNECT, &message).await;
            return;
        }
    };
    let sent = async {
        upstream.write_all(&c2s.buffered()[..len]).await?;
        upstream.flush().await
    };
    if let Err(e) = sent.await {
        counters.upstream_failures.inc();
        tracing::warn!(%peer, upstream = %cfg.upstream, "the database server closed the connection at startup: {e}");
        let message =
            format!("persona proxy lost the connection to the database server at startup: {e}");
        send_error(&mut client, sqlstate::CONNECTION_FAILURE, &message).await;
        return;
    }
    c2s.consume(len);
    tracing::debug!(%peer, user, database, tls = upstream.is_tls(), "session started");

    let tracker = Mutex::new(Tracker::new(cfg.capture, shared.sink.clone()));
    let mut s2c = Pump::new(
        Direction::Backend,
        cfg.buffer_bytes,
        i32::MAX.cast_unsigned(),
        cfg.max_inspect_bytes,
    );
    // Each transport gets its own instance of the relay: plain TCP runs on the socket's
    // borrowed halves exactly as without TLS support.
    let end = match &mut upstream {
        ServerStream::Plain(tcp) => {
            let (ur, uw) = tcp.split();
            relay(&mut client, ur, uw, &mut c2s, &mut s2c, &tracker, counters).await
        }
        ServerStream::Tls(tls) => {
            let (ur, uw) = tokio::io::split(&mut **tls);
            relay(&mut client, ur, uw, &mut c2s, &mut s2c, &tracker, counters).await
        }
    };
    let mut tracker = tracker.into_inner().unwrap_or_else(PoisonError::into_inner);
    let session = tracker.session().unwrap_or("?").to_owned();
    // The client said goodbye: the server closing its side (which may be read before the
    // client's own close) is the normal end of the session.
    let said_goodbye = tracker.client_terminated() && matches!(end, End::Server(Ok(())));
    match end {
        End::Client(Ok(()) | Err(PumpError::Read(_))) | End::Server(Err(PumpError::Write(_))) => {
            tracing::debug!(%peer, session, "session ended by the client");
            if tracker.server_fatal() {
                // The server announced the end (e.g. the session was terminated) and the
                // client hung up before the server's side closed: what was in flight failed
                // with the server's error all the same.
                tracker.server_gone();
            }
        }
        End::Client(Err(PumpError::Frame(e))) => {
            counters.protocol_errors.inc();
            tracing::warn!(%peer, session, "closing a client connection after a malformed message: {e}");
            if s2c.at_boundary() {
                send_error(
                    &mut client,
                    sqlstate::PROTOCOL_VIOLATION,
                    &format!("persona proxy: {e}"),
                )
                .await;
            }
        }
        End::Client(Err(PumpError::Write(e))) | End::Server(Err(PumpError::Read(e))) => {
            server_lost(
                &mut client,
                &mut tracker,
                &s2c,
                shared,
                peer,
                &format!("lost the connection to the database server: {e}"),
            )
            .await;
        }
        End::Server(Ok(())) if said_goodbye => {
            tracing::debug!(%peer, session, "session ended by the client (Terminate)");
        }
        End::Server(Ok(())) => {
            server_lost(
                &mut client,
                &mut tracker,
                &s2c,
                shared,
                peer,
                "the database server closed the connection unexpectedly",
            )
            .await;
        }
        End::Server(Err(PumpError::Frame(e))) => {
            server_lost(
                &mut client,
                &mut tracker,
                &s2c,
                shared,
                peer,
                &format!("the database server sent an invalid message ({e})"),
            )
            .await;
        }
    }
    let _ = client.shutdown().await;
    if upstream.is_tls() {
        // Say goodbye properly (close_notify); the server may be gone already.
        let _ = timeout(TLS_CLOSE_TIMEOUT, upstream.shutdown()).await;
    }
}

/// How long a session's end waits to tell a TLS server it is closing.
const TLS_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Relay both directions until either ends.
async fn relay<R, W>(
    client: &mut TcpStream,
    mut ur: R,
    mut uw: W,
    c2s: &mut Pump,
    s2c: &mut Pump,
    tracker: &Mutex<Tracker>,
    counters: &Counters,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (mut cr, mut cw) = client.split();
    let to_server = c2s.run(&mut cr, &mut uw, tracker, &counters.bytes_from_clients);
    let to_client = s2c.run(&mut ur, &mut cw, tracker, &counters.bytes_from_server);
    tokio::pin!(to_server, to_client);
    tokio::select! {
        r = &mut to_server => End::Client(r),
        r = &mut to_client => End::Server(r),
    }
}

enum End {
    Client(Result<(), PumpError>),
    Server(Result<(), PumpError>),
}

/// The server side ended. When the server said why (a FATAL error, e.g. the session was
/// terminated), the client has that already; otherwise it gets an 08006 error of ours, if its
/// stream is at a message boundary. Statements in flight are captured as failed.
async fn server_lost(
    client: &mut TcpStream,
    tracker: &mut Tracker,
    s2c: &Pump,
    shared: &Shared,
    peer: SocketAddr,
    what: &str,
) {
    let announced = tracker.server_fatal();
    tracker.server_gone();
    let session = tracker.session().unwrap_or("?");
    if announced {
        tracing::debug!(%peer, session, "the server closed the session after a FATAL error");
        return;
    }
    shared.stats.counters().upstream_failures.inc();
    tracing::warn!(%peer, session, upstream = %shared.config.upstream, "{what}");
    if s2c.at_boundary() {
        send_error(
            client,
            sqlstate::CONNECTION_FAILURE,
            &format!("persona proxy: {what}"),
        )
        .await;
    }
}

/// Write one FATAL ErrorResponse of the proxy's own; the connection is closed after it.
async fn send_error<W: AsyncWrite + Unpin>(w: &mut W, code: &str, message: &str) {
    let mut frame = Vec::with_capacity(64 + message.len());
    error_response::encode(&mut frame, Severity::Fatal, code, message);
    let _ = timeout(ERROR_WRITE_TIMEOUT, w.write_all(&frame)).await;
}
