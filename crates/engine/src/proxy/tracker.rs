//! Per-session capture state, free of IO: the prepared statements and portals a client has
//! created, and a FIFO of the requests the server has yet to answer, so that each completion
//! (CommandComplete, EmptyQueryResponse, PortalSuspended, ErrorResponse, ReadyForQuery) is
//! matched to the request it answers, pipelined or not. Completed statements become
//! [`CaptureEvent`]s handed to the [`EventSink`].
//!
//! A simple Query is one event for the whole string (it may hold several statements): it
//! completes at ReadyForQuery, its rows are the sum of the counts in its CommandComplete tags
//! and its error is the first SQLSTATE the server reported. Each Execute is one event with the
//! SQL of the prepared statement behind its portal and the portal's parameters.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use persona_core::model::{CaptureEvent, CaptureSource};
use tokio::sync::mpsc;

use super::protocol::completion::{self, TransactionStatus};
use super::protocol::error_response;
use super::protocol::extended::{self, Target};
use super::protocol::{Backend, Frontend, lossy_text, params, query};
use super::stats::ProxyStats;

/// What capture keeps and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureConfig {
    /// Record bound parameter values (off: `--no-params`).
    pub params: bool,
    /// At most this many bytes of text per parameter value.
    pub max_param_bytes: usize,
    /// At most this many parameters per statement.
    pub max_params: usize,
    /// At most this many bytes of SQL per statement.
    pub max_sql_bytes: usize,
    /// Named prepared statements remembered per session.
    pub max_statements: usize,
    /// Bytes of SQL of named prepared statements remembered per session (a client that
    /// prepares without ever closing cannot grow the proxy without bound).
    pub max_statement_bytes: usize,
    /// Requests awaiting an answer per session before capture pauses until the server catches
    /// up (a client pipelining without bound).
    pub max_pending: usize,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            params: true,
            max_param_bytes: 256,
            max_params: 64,
            max_sql_bytes: 64 * 1024,
            max_statements: 10_000,
            max_statement_bytes: 8 * 1024 * 1024,
            max_pending: 10_000,
        }
    }
}

/// Named portals remembered per session (they live until the end of their transaction).
const MAX_PORTALS: usize = 1024;

/// Where completed statements go: a bounded channel, never awaited. A full (or closed)
/// channel drops the event and counts it.
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: mpsc::Sender<CaptureEvent>,
    stats: ProxyStats,
}

impl EventSink {
    pub fn new(tx: mpsc::Sender<CaptureEvent>, stats: ProxyStats) -> Self {
        EventSink { tx, stats }
    }

    fn send(&self, event: CaptureEvent) {
        match self.tx.try_send(event) {
            Ok(()) => self.stats.counters().statements_captured.inc(),
            Err(_) => self.stats.counters().events_dropped.inc(),
        }
    }
}

#[derive(Debug)]
struct Statement {
    sql: Arc<str>,
    types: Box<[u32]>,
}

#[derive(Debug)]
struct Portal {
    sql: Arc<str>,
    params: Vec<Option<String>>,
}

#[derive(Debug)]
enum Sql {
    Owned(String),
    Shared(Arc<str>),
}

/// One statement in flight.
#[derive(Debug)]
struct Execution {
    sql: Sql,
    params: Vec<Option<String>>,
    started: Instant,
    rows: Option<u64>,
    error: Option<String>,
}

/// A request the server will answer, in the order sent.
#[derive(Debug)]
enum Pending {
    Parse,
    Bind,
    Close,
    DescribeStatement(Box<[u8]>),
    DescribePortal,
    /// `None`: a portal capture does not know (its statement was never seen).
    Execute(Option<Execution>),
    Sync,
    Query(Execution),
    FunctionCall,
}

impl Pending {
    /// Answered by ReadyForQuery.
    fn ends_batch(&self) -> bool {
        matches!(
            self,
            Pending::Sync | Pending::Query(_) | Pending::FunctionCall
        )
    }
}

/// Wall-clock microseconds from a monotonic instant, anchored once per session.
#[derive(Debug, Clone, Copy)]
struct Clock {
    base: Instant,
    base_unix_micros: i64,
}

impl Clock {
    fn new() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Clock {
            base: Instant::now(),
            base_unix_micros: i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX),
        }
    }

    fn unix_micros(&self, now: Instant) -> i64 {
        let elapsed =
            i64::try_from(now.saturating_duration_since(self.base).as_micros()).unwrap_or(i64::MAX);
        self.base_unix_micros.saturating_add(elapsed)
    }
}

/// The capture state of one session. Feed it every frontend message the client sends and
/// every backend message the server sends, in order.
#[derive(Debug)]
pub struct Tracker {
    config: CaptureConfig,
    sink: EventSink,
    clock: Clock,
    session: Option<String>,
    statements: HashMap<Box<[u8]>, Statement>,
    portals: HashMap<Box<[u8]>, Portal>,
    pending: VecDeque<Pending>,
    /// Capture paused: the number of ReadyForQuery messages still owed for requests sent while
    /// paused. Capture resumes when it reaches zero.
    paused: Option<u64>,
    /// Bytes of SQL held by the named statements.
    statement_bytes: usize,
    /// DataRows since the last completion (a suspended portal's row count).
    rows_seen: u64,
    /// The last ErrorResponse from the server was FATAL: it is closing the connection.
    server_fatal: bool,
    /// The client sent Terminate: the server closing the connection next is the normal end.
    client_terminated: bool,
}

impl Tracker {
    pub fn new(config: CaptureConfig, sink: EventSink) -> Self {
        Tracker {
            config,
            sink,
            clock: Clock::new(),
            session: None,
            statements: HashMap::new(),
            portals: HashMap::new(),
            pending: VecDeque::new(),
            paused: None,
            statement_bytes: 0,
            rows_seen: 0,
            server_fatal: false,
            client_terminated: false,
        }
    }

    /// The session label (the server's process id) once BackendKeyData arrived.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The last server error was FATAL (the server announced it is closing the connection).
    pub fn server_fatal(&self) -> bool {
        self.server_fatal
    }

    /// The client sent Terminate (so the server's close that follows is expected).
    pub fn client_terminated(&self) -> bool {
        self.client_terminated
    }

    /// Whether a frontend message of this type is worth buffering whole (up to the
    /// inspection limit) rather than streaming.
    pub fn wants_frontend(tag: u8) -> bool {
        matches!(tag, b'Q' | b'P' | b'B' | b'E' | b'D' | b'C')
    }

    /// Whether a backend message of this type is worth buffering whole.
    pub fn wants_backend(tag: u8) -> bool {
        matches!(tag, b'C' | b'E' | b'Z' | b't' | b'K')
    }

    /// One message from the client. `complete` is false when `body` is only the first bytes
    /// of a message too large to inspect whole.
    pub fn frontend(&mut self, tag: u8, body: &[u8], complete: bool) {
        let Some(kind) = Frontend::from_tag(tag) else {
            return;
        };
        let request = match kind {
            Frontend::Query => {
                let mut sql = lossy_text(query::sql(body), self.config.max_sql_bytes);
                if !complete {
                    sql.push('…');
                }
                Pending::Query(Self::execution(Sql::Owned(sql), Vec::new()))
            }
            Frontend::Parse => {
                self.parse(body, complete);
                Pending::Parse
            }
            Frontend::Bind => {
                self.bind(body, complete);
                Pending::Bind
            }
            Frontend::Execute => {
                let portal = extended::execute(body)
                    .ok()
                    .and_then(|e| self.portals.get(e.portal));
                let execution = portal.map(|p| (Sql::Shared(Arc::clone(&p.sql)), p.params.clone()));
                Pending::Execute(execution.map(|(sql, params)| Self::execution(sql, params)))
            }
            Frontend::Describe => match extended::target(body) {
                Ok(Target::Statement(name)) => Pending::DescribeStatement(name.into()),
                _ => Pending::DescribePortal,
            },
            Frontend::Close => {
                match extended::target(body) {
                    Ok(Target::Statement(name)) => {
                        if let Some(old) = self.statements.remove(name)
                            && !name.is_empty()
                        {
                            self.statement_bytes -= old.sql.len();
                        }
                    }
                    Ok(Target::Portal(name)) => drop(self.portals.remove(name)),
                    Err(_) => {}
                }
                Pending::Close
            }
            Frontend::Sync => Pending::Sync,
            Frontend::FunctionCall => Pending::FunctionCall,
            Frontend::Terminate => {
                self.client_terminated = true;
                return;
            }
            Frontend::CopyData
            | Frontend::CopyDone
            | Frontend::CopyFail
            | Frontend::Flush
            | Frontend::Password => return,
        };
        self.push(request);
    }

    fn execution(sql: Sql, params: Vec<Option<String>>) -> Execution {
        Execution {
            sql,
            params,
            started: Instant::now(),
            rows: None,
            error: None,
        }
    }

    fn push(&mut self, request: Pending) {
        if let Some(owed) = &mut self.paused {
            *owed += u64::from(request.ends_batch());
            return;
        }
        if self.pending.len() >= self.config.max_pending {
            let owed = self.pending.iter().filter(|p| p.ends_batch()).count() as u64;
            tracing::warn!(
                session = self.session.as_deref().unwrap_or("?"),
                pending = self.pending.len(),
                "capture paused: the client has more requests in flight than the limit; \
                 resuming when the server has answered them"
            );
            self.sink.stats.counters().capture_pauses.inc();
            self.pending.clear();
            self.paused = Some(owed + u64::from(request.ends_batch()));
            return;
        }
        self.pending.push_back(request);
    }

    fn parse(&mut self, body: &[u8], complete: bool) {
        let (name, sql, types): (&[u8], &[u8], Box<[u32]>) = if complete {
            let Ok(p) = extended::parse(body) else { return };
            (p.name, p.sql, p.param_types().collect())
        } else {
            let Some((name, sql)) = extended::parse_prefix(body) else {
                return;
            };
            (name, sql, Box::default())
        };
        let mut text = lossy_text(sql, self.config.max_sql_bytes);
        if !complete {
            text.push('…');
        }
        if !name.is_empty() {
            // Only named statements count against the budget: the unnamed one is replaced by
            // every Parse and bounded by `max_sql_bytes`.
            let old = self.statements.get(name).map_or(0, |s| s.sql.len());
            let bytes = self.statement_bytes - old + text.len();
            if bytes > self.config.max_statement_bytes || !self.room_for(name, true) {
                return;
            }
            self.statement_bytes = bytes;
        }
        self.statements.insert(
            name.into(),
            Statement {
                sql: text.into(),
                types,
            },
        );
    }

    /// Whether a statement (or portal) called `name` may be added: the unnamed one always, a
    /// known name always, a new name while under the limit.
    fn room_for(&self, name: &[u8], statement: bool) -> bool {
        let (len, known, max) = if statement {
            (
                self.statements.len() - usize::from(self.statements.contains_key(&b""[..])),
                self.statements.contains_key(name),
                self.config.max_statements,
            )
        } else {
            (
                self.portals.len(),
                self.portals.contains_key(name),
                MAX_PORTALS,
            )
        };
        name.is_empty() || known || len < max
    }

    fn bind(&mut self, body: &[u8], complete: bool) {
        let decoded = if complete {
            extended::bind(body).ok()
        } else {
            None
        };
        let (portal, statement) = match &decoded {
            Some(b) => (b.portal, b.statement),
            None => match extended::bind_names(body) {
                Some(names) => names,
                None => return,
            },
        };
        let Some(stmt) = self.statements.get(statement) else {
            self.portals.remove(portal);
            return;
        };
        let mut params = Vec::new();
        if let (true, Some(b)) = (self.config.params, &decoded) {
            params.reserve(b.param_count().min(self.config.max_params));
            for (i, value) in b.params().take(self.config.max_params).enumerate() {
                let Ok((format, value)) = value else { break };
                let oid = stmt.types.get(i).copied().unwrap_or(0);
                params.push(params::render(
                    format,
                    oid,
                    value,
                    self.config.max_param_bytes,
                ));
            }
        }
        let sql = Arc::clone(&stmt.sql);
        if self.room_for(portal, false) {
            self.portals.insert(portal.into(), Portal { sql, params });
        }
    }

    /// One message from the server.
    pub fn backend(&mut self, tag: u8, body: &[u8], complete: bool) {
        let Some(kind) = Backend::from_tag(tag) else {
            return;
        };
        let mut error_code = None;
        if kind == Backend::ErrorResponse {
            self.sink.stats.counters().server_errors.inc();
            let fields = error_response::fields(body);
            self.server_fatal = fields.is_fatal();
            error_code = Some(fields.code_str().unwrap_or("unknown").to_owned());
        }
        if kind == Backend::BackendKeyData {
            if let Ok((pid, _)) = completion::backend_key(body) {
                self.session = Some(pid.to_string());
            }
            return;
        }
        if let Some(owed) = &mut self.paused {
            if kind == Backend::ReadyForQuery {
                *owed = owed.saturating_sub(1);
                if *owed == 0 {
                    self.paused = None;
                    self.rows_seen = 0;
                }
            }
            return;
        }
        match kind {
            Backend::DataRow => self.rows_seen += 1,
            Backend::CommandComplete => {
                let rows = if complete {
                    completion::command_rows(body)
                } else {
                    None
                };
                self.complete(rows);
            }
            Backend::EmptyQueryResponse => self.complete(None),
            Backend::PortalSuspended => self.complete(Some(self.rows_seen)),
            Backend::ErrorResponse => {
                self.error(error_code);
                if self.server_fatal {
                    // No ReadyForQuery follows a FATAL error: the server is closing the
                    // connection, so what was in flight is done now (and captured before the
                    // client even sees the error).
                    self.server_gone();
                }
            }
            Backend::ReadyForQuery => self.ready(body),
            Backend::ParseComplete => self.pop_if(|p| matches!(p, Pending::Parse)),
            Backend::BindComplete => self.pop_if(|p| matches!(p, Pending::Bind)),
            Backend::CloseComplete => self.pop_if(|p| matches!(p, Pending::Close)),
            Backend::ParameterDescription => {
                if let (Some(Pending::DescribeStatement(name)), true) =
                    (self.pending.front(), complete)
                    && let Ok(types) = completion::parameter_types(body)
                    && let Some(stmt) = self.statements.get_mut(name)
                {
                    stmt.types = types.into();
                }
            }
            Backend::RowDescription | Backend::NoData => self
                .pop_if(|p| matches!(p, Pending::DescribeStatement(_) | Pending::DescribePortal)),
            _ => {}
        }
    }

    fn pop_if(&mut self, expected: impl Fn(&Pending) -> bool) {
        if self.pending.front().is_some_and(expected) {
            self.pending.pop_front();
        }
    }

    /// CommandComplete, EmptyQueryResponse or PortalSuspended.
    fn complete(&mut self, rows: Option<u64>) {
        self.rows_seen = 0;
        match self.pending.front_mut() {
            Some(Pending::Query(exec)) => {
                if let Some(n) = rows {
                    exec.rows = Some(exec.rows.unwrap_or(0).saturating_add(n));
                }
            }
            Some(Pending::Execute(_)) => {
                if let Some(Pending::Execute(Some(mut exec))) = self.pending.pop_front() {
                    exec.rows = rows;
                    self.emit(exec, Instant::now());
                }
            }
            _ => {}
        }
    }

    /// ErrorResponse: a simple query records it and waits for ReadyForQuery; in the extended
    /// protocol the server skips everything up to the next Sync, so the failed request and
    /// those skipped are popped, and the first Execute among them carries the error.
    fn error(&mut self, mut code: Option<String>) {
        let now = Instant::now();
        while let Some(front) = self.pending.front_mut() {
            match front {
                Pending::Query(exec) => {
                    if exec.error.is_none() {
                        exec.error = code.take();
                    }
                    return;
                }
                Pending::Sync | Pending::FunctionCall => return,
                _ => {}
            }
            if let Some(Pending::Execute(exec)) = self.pending.pop_front()
                && let Some(error) = code.take()
                && let Some(mut exec) = exec
            {
                exec.error = Some(error);
                self.emit(exec, now);
            }
        }
    }

    /// ReadyForQuery ends a batch: everything up to the request it answers is done.
    fn ready(&mut self, body: &[u8]) {
        self.rows_seen = 0;
        while let Some(request) = self.pending.pop_front() {
            match request {
                Pending::Query(exec) => {
                    self.emit(exec, Instant::now());
                    break;
                }
                Pending::Sync | Pending::FunctionCall => break,
                _ => {}
            }
        }
        if completion::ready_status(body) == Some(TransactionStatus::Idle)
            && !self.portals.is_empty()
        {
            // Portals live until the end of their transaction.
            self.portals.clear();
        }
    }

    /// The server connection ended without answering: statements still in flight failed (with
    /// the error the server reported, or as a broken connection).
    pub fn server_gone(&mut self) {
        let now = Instant::now();
        while let Some(request) = self.pending.pop_front() {
            if let Pending::Query(mut exec) | Pending::Execute(Some(mut exec)) = request {
                exec.error
                    .get_or_insert_with(|| error_response::sqlstate::CONNECTION_FAILURE.to_owned());
                self.emit(exec, now);
            }
        }
    }

    fn emit(&mut self, exec: Execution, now: Instant) {
        let event = CaptureEvent {
            source: CaptureSource::Proxy,
            session: self.session.clone(),
            at: self.clock.unix_micros(now),
            sql: match exec.sql {
                Sql::Owned(s) => s,
                Sql::Shared(s) => s.as_ref().to_owned(),
            },
            params: exec.params,
            duration: now.saturating_duration_since(exec.started),
            rows: exec.rows,
            error: exec.error,
            calls: 1,
        };
        self.sink.send(event);
    }

    /// Requests awaiting an answer (for tests and diagnostics).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests;
