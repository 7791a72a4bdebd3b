//! PostgreSQL stderr logs (`log_destination = 'stderr'`, with or without the logging
//! collector): lines split by the configured `log_line_prefix` (or one detected from the first
//! lines), messages spanning several lines joined, and events assembled by [`super::pg`].
//!
//! PostgreSQL starts every further line of a multi-line message with a tab; such lines continue
//! the message before them. A line that matches neither the prefix nor that rule (output of an
//! `archive_command`, a mangled line) is skipped and counted, and does not end the open message.

use super::pg::{Assembler, Message};
use super::pg_prefix::{self, KNOWN_PREFIXES, LinePrefix, PrefixMatch, Severity};
use super::report::{ParseReport, SkipReason, Warning};
use super::timestamp;
use super::{LogOptions, LogParser};
use crate::model::CaptureEvent;

/// Lines buffered to detect the prefix when it is not given.
const DETECT_LINES: usize = 400;
/// Bytes buffered to detect the prefix, at most.
const DETECT_BYTES: usize = 1024 * 1024;
/// Candidate lines (with a severity marker) that are enough to decide.
const DETECT_CANDIDATES: usize = 64;
/// Longest excerpt of a message's first line kept for the report.
const EXCERPT_BYTES: usize = 240;

#[derive(Debug)]
enum Mode {
    Known(LinePrefix),
    Generic,
    Detecting(DetectBuffer),
}

/// Lines held back until the prefix is detected.
#[derive(Debug, Default)]
struct DetectBuffer {
    lines: Vec<String>,
    candidates: usize,
    bytes: usize,
}

/// One message being assembled: its prefix fields and its text so far.
#[derive(Debug)]
struct Record {
    line: u64,
    excerpt: String,
    at: Option<i64>,
    session: Option<String>,
    user: Option<String>,
    database: Option<String>,
    severity: Severity,
    text: String,
    too_large: bool,
}

/// Parser of PostgreSQL stderr logs.
#[derive(Debug)]
pub struct PgStderrParser {
    mode: Mode,
    record: Option<Record>,
    asm: Assembler,
    line_no: u64,
}

fn excerpt(line: &str) -> String {
    let mut end = line.len().min(EXCERPT_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_owned()
}

impl PgStderrParser {
    /// A parser using `options.log_line_prefix`, or detecting the prefix when it is `None`.
    pub fn new(options: LogOptions) -> Self {
        let mode = match &options.log_line_prefix {
            Some(prefix) => Mode::Known(LinePrefix::parse(prefix)),
            None => Mode::Detecting(DetectBuffer::default()),
        };
        PgStderrParser {
            mode,
            record: None,
            asm: Assembler::new(options),
            line_no: 0,
        }
    }

    /// The prefix in use: the configured or detected one, `None` while detecting or when no
    /// known prefix fits and fields are picked out heuristically.
    pub fn prefix(&self) -> Option<&str> {
        match &self.mode {
            Mode::Known(p) => Some(p.as_str()),
            _ => None,
        }
    }

    fn detect(&mut self, out: &mut Vec<CaptureEvent>) {
        let Mode::Detecting(buffer) = &mut self.mode else {
            return;
        };
        let buffer = std::mem::take(&mut buffer.lines);
        let candidates: Vec<&str> = buffer
            .iter()
            .map(String::as_str)
            .filter(|l| pg_prefix::has_severity_marker(l))
            .collect();
        let mut best: Option<(usize, usize, LinePrefix)> = None;
        for source in KNOWN_PREFIXES {
            let mut prefix = LinePrefix::parse(source);
            let hits = candidates
                .iter()
                .filter(|l| prefix.match_line(l).is_some())
                .count();
            let fields = prefix.field_count();
            if hits > 0
                && best
                    .as_ref()
                    .is_none_or(|(h, f, _)| (hits, fields) > (*h, *f))
            {
                best = Some((hits, fields, prefix));
            }
        }
        self.mode = match best {
            // Most lines must fit: otherwise the heuristic does better than a near miss.
            Some((hits, _, prefix)) if hits * 10 >= candidates.len() * 9 => Mode::Known(prefix),
            _ => Mode::Generic,
        };
        let first = self.line_no + 1 - buffer.len() as u64;
        for (i, line) in buffer.iter().enumerate() {
            self.process(first + i as u64, line, out);
        }
    }

    fn process(&mut self, n: u64, line: &str, out: &mut Vec<CaptureEvent>) {
        if let Some(rest) = line.strip_prefix('\t') {
            match self.record.as_mut() {
                Some(rec) => {
                    if rec.text.len() + rest.len() + 1 > self.asm.options().max_entry_bytes {
                        rec.too_large = true;
                    } else if !rec.too_large {
                        rec.text.push('\n');
                        rec.text.push_str(rest);
                    }
                }
                None => self
                    .asm
                    .report
                    .skip(n, SkipReason::OrphanContinuation, line),
            }
            return;
        }
        let matched = match &mut self.mode {
            Mode::Known(prefix) => prefix.match_line(line),
            Mode::Generic | Mode::Detecting(_) => pg_prefix::match_generic(line),
        };
        let Some(m) = matched else {
            if !line.trim().is_empty() {
                self.asm.report.skip(n, SkipReason::UnrecognizedLine, line);
            }
            return;
        };
        self.close_record(out);
        self.record = Some(self.start_record(n, line, &m));
    }

    fn start_record(&mut self, n: u64, line: &str, m: &PrefixMatch<'_>) -> Record {
        let options = self.asm.options();
        let mut at = None;
        if let Some(ts) = m.fields.timestamp {
            if let Some(stamp) = timestamp::parse_pg(ts, options) {
                at = Some(stamp.micros);
                if stamp.zone_assumed {
                    self.asm.report.warn(n, Warning::UnknownTimeZone, line);
                }
            }
        } else if let Some(epoch) = m.fields.epoch {
            at = timestamp::parse_epoch(epoch);
        }
        let too_large = m.message.len() > self.asm.options().max_entry_bytes;
        Record {
            line: n,
            excerpt: excerpt(line),
            at,
            session: m.fields.session_id.or(m.fields.pid).map(str::to_owned),
            user: m.fields.user.map(str::to_owned),
            database: m.fields.database.map(str::to_owned),
            severity: m.severity,
            text: if too_large {
                String::new()
            } else {
                m.message.to_owned()
            },
            too_large,
        }
    }

    fn close_record(&mut self, out: &mut Vec<CaptureEvent>) {
        let Some(rec) = self.record.take() else {
            return;
        };
        if rec.severity.is_secondary() {
            if !self
                .asm
                .detail(rec.session.as_deref(), rec.severity, &rec.text)
            {
                self.asm
                    .report
                    .skip(rec.line, SkipReason::OrphanContinuation, &rec.excerpt);
            }
            return;
        }
        if rec.too_large {
            self.asm
                .report
                .skip(rec.line, SkipReason::EntryTooLarge, &rec.excerpt);
            return;
        }
        let msg = Message {
            line: rec.line,
            at: rec.at,
            session: rec.session.as_deref(),
            user: rec.user.as_deref(),
            database: rec.database.as_deref(),
            severity: rec.severity,
            sqlstate: None,
            text: &rec.text,
        };
        self.asm.message(&msg, &rec.excerpt, out);
    }
}

impl LogParser for PgStderrParser {
    fn feed(&mut self, line: &str, out: &mut Vec<CaptureEvent>) {
        self.line_no += 1;
        self.asm.report.lines += 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Mode::Detecting(buffer) = &mut self.mode {
            buffer.candidates += usize::from(pg_prefix::has_severity_marker(line));
            buffer.bytes += line.len();
            buffer.lines.push(line.to_owned());
            if buffer.lines.len() >= DETECT_LINES
                || buffer.candidates >= DETECT_CANDIDATES
                || buffer.bytes >= DETECT_BYTES
            {
                self.detect(out);
            }
            return;
        }
        self.process(self.line_no, line, out);
    }

    fn finish(&mut self, out: &mut Vec<CaptureEvent>) {
        if matches!(self.mode, Mode::Detecting(_)) {
            self.detect(out);
        }
        self.close_record(out);
        self.asm.finish(out);
    }

    fn report(&self) -> &ParseReport {
        &self.asm.report
    }

    fn log_line_prefix(&self) -> Option<&str> {
        self.prefix()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn parse(prefix: Option<&str>, text: &str) -> (Vec<CaptureEvent>, PgStderrParser) {
        let options = LogOptions {
            log_line_prefix: prefix.map(str::to_owned),
            ..LogOptions::default()
        };
        let mut p = PgStderrParser::new(options);
        let mut out = Vec::new();
        for line in text.lines() {
            p.feed(line, &mut out);
        }
        p.finish(&mut out);
        (out, p)
    }

    const DEBIAN: &str = "%m [%p] %q%u@%d ";

    #[test]
    fn min_duration_statements_multi_line_and_params() {
        let log = "\
2024-05-01 10:00:00.000 UTC [10] LOG:  database system is ready to accept connections
2024-05-01 10:00:01.500 UTC [11] app@shop LOG:  duration: 2.500 ms  statement: SELECT *
\t  FROM orders
\t WHERE id = 1;
2024-05-01 10:00:02.000 UTC [12] app@shop LOG:  duration: 0.100 ms  parse <unnamed>: SELECT $1
2024-05-01 10:00:02.000 UTC [12] app@shop LOG:  duration: 0.050 ms  bind <unnamed>: SELECT $1
2024-05-01 10:00:02.000 UTC [12] app@shop DETAIL:  parameters: $1 = 'a'
2024-05-01 10:00:02.001 UTC [12] app@shop LOG:  duration: 0.020 ms  execute <unnamed>: SELECT $1
2024-05-01 10:00:02.001 UTC [12] app@shop DETAIL:  parameters: $1 = 'it''s
\ttwo lines'
";
        let (events, p) = parse(Some(DEBIAN), log);
        assert_eq!(events.len(), 2, "{events:#?}");
        assert_eq!(events[0].sql, "SELECT *\n  FROM orders\n WHERE id = 1;");
        assert_eq!(events[0].duration, Duration::from_micros(2500));
        assert_eq!(events[0].session.as_deref(), Some("11"));
        assert_eq!(events[0].at, 1_714_557_601_500_000);
        assert_eq!(events[1].params, vec![Some("it's\ntwo lines".to_owned())]);
        assert_eq!(events[1].duration, Duration::from_micros(20));
        let r = p.report();
        assert_eq!(r.skipped.count(SkipReason::ProtocolPhase), 2);
        assert_eq!(r.skipped.count(SkipReason::NotAStatement), 1);
        assert_eq!(r.lines, 10);
    }

    #[test]
    fn log_statement_errors_and_bare_durations() {
        let log = "\
2024-05-01 10:00:00.000 UTC [20] u@d LOG:  statement: SELECT 1/0;
2024-05-01 10:00:00.001 UTC [21] u@d LOG:  statement: SELECT pg_sleep(1);
2024-05-01 10:00:00.002 UTC [20] u@d ERROR:  division by zero
2024-05-01 10:00:00.002 UTC [20] u@d STATEMENT:  SELECT 1/0;
2024-05-01 10:00:00.003 UTC [20] u@d ERROR:  syntax error at or near \"SELEC\" at character 1
2024-05-01 10:00:00.003 UTC [20] u@d STATEMENT:  SELEC 1;
2024-05-01 10:00:01.004 UTC [21] u@d LOG:  duration: 1001.250 ms
2024-05-01 10:00:01.005 UTC [20] u@d LOG:  statement: COMMIT;
2024-05-01 10:00:01.006 UTC [22] u@d FATAL:  password authentication failed for user \"u\"
2024-05-01 10:00:01.007 UTC [23] u@d LOG:  duration: 3.000 ms
";
        let (events, p) = parse(Some(DEBIAN), log);
        let summary: Vec<(&str, Option<&str>, u128, Option<&str>)> = events
            .iter()
            .map(|e| {
                (
                    e.sql.as_str(),
                    e.session.as_deref(),
                    e.duration.as_micros(),
                    e.error.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("SELECT 1/0;", Some("20"), 0, Some("division by zero")),
                (
                    "SELEC 1;",
                    Some("20"),
                    0,
                    Some("syntax error at or near \"SELEC\" at character 1")
                ),
                ("SELECT pg_sleep(1);", Some("21"), 1_001_250, None),
                ("COMMIT;", Some("20"), 0, None),
            ]
        );
        // The completed statement takes the time of its duration line.
        assert_eq!(events[2].at, 1_714_557_601_004_000);
        let r = p.report();
        assert_eq!(r.skipped.count(SkipReason::ErrorWithoutStatement), 1);
        assert_eq!(r.skipped.count(SkipReason::DurationWithoutStatement), 1);
    }

    #[test]
    fn detects_prefix_and_filters() {
        let log = "\
2024-05-01 10:00:00 UTC [30]: [1-1] user=a,db=one,app=x,client=h LOG:  statement: SELECT 1
2024-05-01 10:00:00 UTC [31]: [1-1] user=b,db=two,app=x,client=h LOG:  statement: SELECT 2
garbage in the middle
\torphan continuation
";
        let options = LogOptions {
            database: Some("two".into()),
            ..LogOptions::default()
        };
        let mut p = PgStderrParser::new(options);
        let mut out = Vec::new();
        for line in log.lines() {
            p.feed(line, &mut out);
        }
        p.finish(&mut out);
        assert_eq!(
            p.prefix(),
            Some("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ")
        );
        assert_eq!(out.len(), 1);
        // The foreign line does not end the message: the tab line after it still continues it.
        assert_eq!(out[0].sql, "SELECT 2\norphan continuation");
        let r = p.report();
        assert_eq!(r.skipped.count(SkipReason::FilteredOut), 1);
        assert_eq!(r.skipped.count(SkipReason::UnrecognizedLine), 1);
        assert_eq!(
            r.skipped
                .examples
                .iter()
                .find(|e| e.reason == SkipReason::UnrecognizedLine)
                .unwrap()
                .line,
            3
        );
    }

    #[test]
    fn unknown_prefix_falls_back_to_heuristics() {
        let log = "\
<2024-05-01 10:00:00.250 UTC> pid=77 user=a db=b LOG:  duration: 1.000 ms  statement: SELECT 1
";
        let (events, p) = parse(None, log);
        assert_eq!(p.prefix(), None);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].session.as_deref(), Some("77"));
        assert_eq!(events[0].at, 1_714_557_600_250_000);
    }
}
