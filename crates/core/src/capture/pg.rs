//! What PostgreSQL log messages mean, shared by the stderr and csvlog parsers: reading
//! `duration: … ms  statement: …`, `execute <name>: …`, `parameters: $1 = '…'`, and assembling
//! events from a message and the `DETAIL`, `STATEMENT` and bare `duration:` lines that complete
//! it.
//!
//! Representation choices:
//! - `log_min_duration_statement` lines (`duration: X ms  statement|execute …`) are events with
//!   that duration; their time is the line's time (the statement's end).
//! - `log_statement` lines (`statement: …`, `execute …: …`) have no duration: the event waits
//!   for the session's next message. A bare `duration: X ms` (both settings on) completes it;
//!   anything else emits it with a zero duration (zero means "not logged").
//! - `parse`/`bind` duration lines are protocol steps of one execution and are skipped (counted).
//! - `ERROR`/`FATAL`/`PANIC` attach to the statement of the session that is waiting
//!   (`log_statement`), or else become an event of their own whose SQL is the following
//!   `STATEMENT:` line; `error` holds `SQLSTATE: message` (just the message when the SQLSTATE is
//!   not logged).

use std::collections::HashMap;
use std::time::Duration;

use super::report::{ParseReport, SkipReason, Warning};
use super::{LogOptions, Severity};
use crate::model::{CaptureEvent, CaptureSource};

/// What a `LOG` message says about a statement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LogMessage<'a> {
    /// `duration: X ms  statement: SQL` or `duration: X ms  execute NAME: SQL`.
    Completed { duration: Duration, sql: &'a str },
    /// `statement: SQL` or `execute NAME: SQL` (from `log_statement`).
    Started { sql: &'a str },
    /// `duration: X ms` alone.
    BareDuration { duration: Duration },
    /// `duration: X ms  parse|bind NAME: SQL`.
    Phase,
    /// Any other message (checkpoints, connections, auto_explain plans, …).
    Other,
    /// `duration:` with a number that does not parse.
    BadDuration,
}

/// `X ms` → duration.
fn parse_ms(s: &str) -> Option<Duration> {
    let num = s.strip_suffix(" ms")?;
    let ms: f64 = num.trim().parse().ok()?;
    (0.0..1e15)
        .contains(&ms)
        .then(|| Duration::from_secs_f64(ms / 1000.0))
}

/// The SQL after `execute <name>: ` (also `execute <name>/<portal>: ` and `execute fetch from …`).
fn execute_sql(rest: &str) -> Option<&str> {
    let rest = rest.strip_prefix("execute ")?;
    let (_, sql) = rest.split_once(": ")?;
    Some(sql)
}

fn is_phase(rest: &str) -> bool {
    (rest.starts_with("parse ") || rest.starts_with("bind ")) && rest.contains(": ")
}

/// Classify a `LOG` message.
pub(crate) fn classify(message: &str) -> LogMessage<'_> {
    if let Some(rest) = message.strip_prefix("duration: ") {
        let (num, rest) = match rest.split_once("  ") {
            Some((num, rest)) => (num, Some(rest)),
            None => (rest.trim_end(), None),
        };
        let Some(duration) = parse_ms(num) else {
            return LogMessage::BadDuration;
        };
        return match rest {
            None => LogMessage::BareDuration { duration },
            Some(rest) => {
                if let Some(sql) = rest
                    .strip_prefix("statement: ")
                    .or_else(|| execute_sql(rest))
                {
                    LogMessage::Completed { duration, sql }
                } else if is_phase(rest) {
                    LogMessage::Phase
                } else {
                    LogMessage::Other
                }
            }
        };
    }
    if let Some(sql) = message
        .strip_prefix("statement: ")
        .or_else(|| execute_sql(message))
    {
        return LogMessage::Started { sql };
    }
    LogMessage::Other
}

/// `$1 = '17', $2 = NULL, $3 = 'o''brien'` → values by number (gaps are `NULL`). `None` when the
/// text does not have that shape.
pub(crate) fn parse_parameters(text: &str) -> Option<Vec<Option<String>>> {
    let mut rest = text.strip_prefix("parameters: ")?;
    let mut values: Vec<(usize, Option<String>)> = Vec::new();
    loop {
        let after = rest.strip_prefix('$')?;
        let n = after.bytes().take_while(u8::is_ascii_digit).count();
        let index: usize = after[..n].parse().ok()?;
        if index == 0 || index > 65_535 {
            return None;
        }
        rest = after[n..].strip_prefix(" = ")?;
        if let Some(r) = rest.strip_prefix("NULL") {
            values.push((index, None));
            rest = r;
        } else {
            let body = rest.strip_prefix('\'')?;
            let mut value = String::new();
            let mut chars = body.char_indices();
            let end = loop {
                let (i, c) = chars.next()?;
                if c == '\'' {
                    if body[i + 1..].starts_with('\'') {
                        value.push('\'');
                        chars.next();
                    } else {
                        break i + 1;
                    }
                } else {
                    value.push(c);
                }
            };
            values.push((index, Some(value)));
            rest = &body[end..];
        }
        if rest.trim().is_empty() {
            break;
        }
        rest = rest.strip_prefix(", ")?;
    }
    let len = values.iter().map(|(i, _)| *i).max().unwrap_or(0);
    let mut out = vec![None; len];
    for (i, v) in values {
        out[i - 1] = v;
    }
    Some(out)
}

/// One primary message (anything but `DETAIL`, `STATEMENT`, … lines) of a PostgreSQL log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    /// Line where the message starts.
    pub line: u64,
    /// Microseconds since the epoch, when known.
    pub at: Option<i64>,
    /// Session key (session id or pid); `None` when the log does not record one.
    pub session: Option<&'a str>,
    pub user: Option<&'a str>,
    pub database: Option<&'a str>,
    pub severity: Severity,
    pub sqlstate: Option<&'a str>,
    pub text: &'a str,
}

/// The state an open entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Has its duration; may still get `parameters`.
    Completed,
    /// From `log_statement`: waits for a bare duration or an error of its session.
    Started,
    /// An error waiting for its `STATEMENT:` line.
    Failed,
    /// A message that produces no event; swallows its detail lines.
    Absorb,
}

#[derive(Debug, Clone)]
struct Entry {
    state: State,
    line: u64,
    excerpt: String,
    session: Option<String>,
    user: Option<String>,
    database: Option<String>,
    event: CaptureEvent,
}

/// Entries waiting for a duration are emitted when more sessions than this wait at once.
const MAX_WAITING: usize = 4096;

/// Builds events from PostgreSQL messages and their detail lines.
#[derive(Debug)]
pub(crate) struct Assembler {
    options: LogOptions,
    /// The entry of the message seen last (its detail lines follow it directly).
    current: Option<Entry>,
    /// `log_statement` entries waiting for their session's next message, with arrival order.
    waiting: HashMap<Option<String>, (u64, Entry)>,
    arrivals: u64,
    /// Time of the last message with one (for messages without).
    last_at: i64,
    pub report: ParseReport,
}

impl Assembler {
    pub fn new(options: LogOptions) -> Self {
        let report = ParseReport::new(options.max_examples);
        Assembler {
            options,
            current: None,
            waiting: HashMap::new(),
            arrivals: 0,
            last_at: 0,
            report,
        }
    }

    pub fn options(&self) -> &LogOptions {
        &self.options
    }

    /// A primary message arrived. `excerpt` is the raw line, for the report.
    pub fn message(&mut self, msg: &Message<'_>, excerpt: &str, out: &mut Vec<CaptureEvent>) {
        self.close_current(out);
        let at = if let Some(at) = msg.at {
            self.last_at = at;
            at
        } else {
            self.report
                .warn(msg.line, Warning::MissingTimestamp, excerpt);
            self.last_at
        };
        let key = msg.session.map(str::to_owned);
        let new_entry = |state, sql: &str, duration| Entry {
            state,
            line: msg.line,
            excerpt: excerpt.to_owned(),
            session: key.clone(),
            user: msg.user.map(str::to_owned),
            database: msg.database.map(str::to_owned),
            event: CaptureEvent {
                session: key.clone(),
                ..CaptureEvent::single(CaptureSource::PgLog, at, sql, duration)
            },
        };
        match msg.severity {
            Severity::Log => match classify(msg.text) {
                LogMessage::Completed { duration, sql } => {
                    self.flush_waiting(key.as_ref(), out);
                    self.current = Some(new_entry(State::Completed, sql, duration));
                }
                LogMessage::Started { sql } => {
                    self.flush_waiting(key.as_ref(), out);
                    self.current = Some(new_entry(State::Started, sql, Duration::ZERO));
                }
                LogMessage::BareDuration { duration } => {
                    if let Some((_, mut entry)) = self.waiting.remove(&key) {
                        entry.event.duration = duration;
                        entry.event.at = at;
                        entry.state = State::Completed;
                        self.current = Some(entry);
                    } else {
                        self.report
                            .skip(msg.line, SkipReason::DurationWithoutStatement, excerpt);
                        self.current = Some(new_entry(State::Absorb, "", Duration::ZERO));
                    }
                }
                LogMessage::Phase => {
                    self.report
                        .skip(msg.line, SkipReason::ProtocolPhase, excerpt);
                    self.current = Some(new_entry(State::Absorb, "", Duration::ZERO));
                }
                LogMessage::BadDuration => {
                    self.report.skip(msg.line, SkipReason::BadValue, excerpt);
                    self.current = Some(new_entry(State::Absorb, "", Duration::ZERO));
                }
                LogMessage::Other => {
                    // The session moved on (e.g. `disconnection:`): its statement has finished.
                    self.flush_waiting(key.as_ref(), out);
                    self.report
                        .skip(msg.line, SkipReason::NotAStatement, excerpt);
                    self.current = Some(new_entry(State::Absorb, "", Duration::ZERO));
                }
            },
            Severity::Error | Severity::Fatal | Severity::Panic => {
                let error = match msg.sqlstate.filter(|s| !s.is_empty() && *s != "00000") {
                    Some(code) => format!("{code}: {}", msg.text),
                    None => msg.text.to_owned(),
                };
                // Whether this failed the session's waiting statement or a later one that
                // failed before it was logged is settled by the `STATEMENT:` line, if any.
                let mut entry = new_entry(State::Failed, "", Duration::ZERO);
                entry.event.error = Some(error);
                self.current = Some(entry);
            }
            // Notices raised while a statement runs do not end it; a detail line arriving as a
            // primary message has lost the message it belonged to.
            severity => {
                let reason = if severity.is_secondary() {
                    SkipReason::OrphanContinuation
                } else {
                    SkipReason::NotAStatement
                };
                self.report.skip(msg.line, reason, excerpt);
                self.current = Some(new_entry(State::Absorb, "", Duration::ZERO));
            }
        }
    }

    /// A `DETAIL`/`STATEMENT`/`HINT`/`CONTEXT`/… line for the message of `session` before it.
    /// Returns `false` when there is no such message.
    pub fn detail(&mut self, session: Option<&str>, severity: Severity, text: &str) -> bool {
        let Some(entry) = self.current.as_mut() else {
            return false;
        };
        if session.is_some() && entry.session.as_deref() != session {
            return false;
        }
        if severity == Severity::Statement
            && entry.state == State::Failed
            && entry.event.sql.is_empty()
            && self
                .waiting
                .get(&entry.session)
                .is_some_and(|(_, w)| w.event.sql == text)
        {
            // The error is that of the statement the session logged before.
            let failed = self.current.take().expect("checked above");
            let (_, mut waiting) = self.waiting.remove(&failed.session).expect("checked above");
            waiting.event.error = failed.event.error;
            waiting.event.at = failed.event.at;
            waiting.state = State::Completed;
            self.current = Some(waiting);
            return true;
        }
        match (severity, entry.state) {
            (Severity::Detail, State::Completed | State::Started)
                if text.starts_with("parameters: ") =>
            {
                match parse_parameters(text) {
                    Some(params) => entry.event.params = params,
                    None => self.report.warn(entry.line, Warning::BadParameters, text),
                }
            }
            (Severity::Statement, State::Failed) if entry.event.sql.is_empty() => {
                text.clone_into(&mut entry.event.sql);
            }
            // Duration and statement messages never carry a `STATEMENT:` line; errors do.
            (Severity::Statement, State::Completed | State::Started)
                if entry.event.error.is_none() =>
            {
                return false;
            }
            _ => {}
        }
        true
    }

    /// The message before is complete: emit it, park it (waiting for a duration) or drop it.
    fn close_current(&mut self, out: &mut Vec<CaptureEvent>) {
        let Some(entry) = self.current.take() else {
            return;
        };
        match entry.state {
            State::Absorb => {}
            State::Completed => self.emit(entry, out),
            State::Failed
                if entry.event.sql.is_empty() && self.waiting.contains_key(&entry.session) =>
            {
                // No `STATEMENT:` line: the error ended the statement the session was running.
                let (_, mut waiting) = self.waiting.remove(&entry.session).expect("checked above");
                waiting.event.error = entry.event.error;
                waiting.event.at = entry.event.at;
                self.emit(waiting, out);
            }
            State::Failed => {
                if entry.event.sql.trim().is_empty() {
                    self.report.skip(
                        entry.line,
                        SkipReason::ErrorWithoutStatement,
                        &entry.excerpt,
                    );
                } else {
                    self.emit(entry, out);
                }
            }
            State::Started => {
                let key = entry.session.clone();
                self.flush_waiting(key.as_ref(), out);
                self.arrivals += 1;
                self.waiting.insert(key, (self.arrivals, entry));
                if self.waiting.len() > MAX_WAITING {
                    self.flush_oldest_waiting(out);
                }
            }
        }
    }

    fn flush_waiting(&mut self, key: Option<&String>, out: &mut Vec<CaptureEvent>) {
        if let Some((_, entry)) = self.waiting.remove(&key.cloned()) {
            self.emit(entry, out);
        }
    }

    /// Emit the older half of the waiting entries.
    fn flush_oldest_waiting(&mut self, out: &mut Vec<CaptureEvent>) {
        let mut order: Vec<u64> = self.waiting.values().map(|(n, _)| *n).collect();
        order.sort_unstable();
        let cutoff = order[order.len() / 2];
        let mut old: Vec<(u64, Entry)> = Vec::new();
        self.waiting.retain(|_, (n, entry)| {
            if *n <= cutoff {
                old.push((*n, entry.clone()));
                false
            } else {
                true
            }
        });
        old.sort_by_key(|(n, _)| *n);
        for (_, entry) in old {
            self.emit(entry, out);
        }
    }

    fn emit(&mut self, entry: Entry, out: &mut Vec<CaptureEvent>) {
        if entry.event.sql.trim().is_empty() {
            self.report
                .skip(entry.line, SkipReason::EmptyStatement, &entry.excerpt);
        } else if entry.event.sql.len() > self.options.max_entry_bytes {
            self.report
                .skip(entry.line, SkipReason::EntryTooLarge, &entry.excerpt);
        } else if !self
            .options
            .keeps(entry.user.as_deref(), entry.database.as_deref())
        {
            self.report
                .skip(entry.line, SkipReason::FilteredOut, &entry.excerpt);
        } else {
            self.report.events += 1;
            out.push(entry.event);
        }
    }

    /// The input ended: emit the open entry and every waiting one, oldest first.
    pub fn finish(&mut self, out: &mut Vec<CaptureEvent>) {
        self.close_current(out);
        let mut rest: Vec<(u64, Entry)> = self.waiting.drain().map(|(_, v)| v).collect();
        rest.sort_by_key(|(n, _)| *n);
        for (_, entry) in rest {
            self.emit(entry, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_messages() {
        assert_eq!(
            classify("duration: 0.123 ms  statement: SELECT 1"),
            LogMessage::Completed {
                duration: Duration::from_micros(123),
                sql: "SELECT 1"
            }
        );
        assert_eq!(
            classify("duration: 2 ms  execute S_1/C_2: SELECT $1"),
            LogMessage::Completed {
                duration: Duration::from_millis(2),
                sql: "SELECT $1"
            }
        );
        assert_eq!(
            classify("duration: 1.5 ms"),
            LogMessage::BareDuration {
                duration: Duration::from_micros(1500)
            }
        );
        assert_eq!(
            classify("duration: 0.5 ms  parse <unnamed>: SELECT 1"),
            LogMessage::Phase
        );
        assert_eq!(
            classify("duration: 0.5 ms  bind S_1: SELECT 1"),
            LogMessage::Phase
        );
        assert_eq!(
            classify("duration: x ms  statement: SELECT 1"),
            LogMessage::BadDuration
        );
        assert_eq!(classify("duration: -1 ms"), LogMessage::BadDuration);
        assert_eq!(
            classify("statement: BEGIN"),
            LogMessage::Started { sql: "BEGIN" }
        );
        assert_eq!(
            classify("execute <unnamed>: SELECT 2"),
            LogMessage::Started { sql: "SELECT 2" }
        );
        assert_eq!(classify("checkpoint starting: time"), LogMessage::Other);
        assert_eq!(
            classify("duration: 1.0 ms  plan:\nQuery Text: SELECT 1"),
            LogMessage::Other
        );
    }

    #[test]
    fn parses_parameters() {
        assert_eq!(
            parse_parameters("parameters: $1 = '5', $2 = 'paid', $3 = NULL"),
            Some(vec![Some("5".into()), Some("paid".into()), None])
        );
        assert_eq!(
            parse_parameters("parameters: $1 = NULL, $2 = 'o''brien, ''x'' = 1'"),
            Some(vec![None, Some("o'brien, 'x' = 1".into())])
        );
        assert_eq!(
            parse_parameters("parameters: $2 = '1'"),
            Some(vec![None, Some("1".into())])
        );
        assert_eq!(
            parse_parameters("parameters: $1 = 'multi\nline'"),
            Some(vec![Some("multi\nline".into())])
        );
        assert_eq!(parse_parameters("parameters: $1 = 'unterminated"), None);
        assert_eq!(parse_parameters("parameters: $0 = '1'"), None);
        assert_eq!(parse_parameters("parameters: $1 = '1' junk"), None);
        assert_eq!(parse_parameters("Key (email)=(x) already exists."), None);
    }
}
