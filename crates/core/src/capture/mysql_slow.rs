//! MySQL/MariaDB slow query log: entries of `# Time:` (optional), `# User@Host:`,
//! `# Thread_id:` (MariaDB), `# Query_time: … Lock_time: … Rows_sent: … Rows_examined: …` and
//! other `# Key: value` lines, then `use db;` and `SET timestamp=…;`, then the statement over one
//! or more lines. An entry ends where the next `# Time:`/`# User@Host:` line or a server start
//! banner begins, so statements whose string literals hold newlines or `;` stay whole.
//!
//! The event's time is `SET timestamp` (the statement's start) plus `Query_time`, i.e. its end;
//! without `SET timestamp` it is the `# Time:` line. Its rows are `Rows_affected` when that is
//! positive (writes, MariaDB), else `Rows_sent`. The slow log does not record errors.

use std::time::Duration;

use super::report::{ParseReport, SkipReason, Warning};
use super::timestamp;
use super::{LogOptions, LogParser};
use crate::model::{CaptureEvent, CaptureSource};

/// Longest excerpt kept for the report.
const EXCERPT_BYTES: usize = 240;

/// Whether `line` is unmistakably part of a slow query log (format detection).
pub(crate) fn looks_like_slow_log(line: &str) -> bool {
    line.starts_with("# Time: ")
        || line.starts_with("# User@Host: ")
        || line.starts_with("# Query_time: ")
        || is_banner(line)
}

/// The lines a server writes when it (re)opens the slow log.
fn is_banner(line: &str) -> bool {
    (line.contains(", Version: ") && line.trim_end().ends_with("started with:"))
        || line.starts_with("Tcp port: ")
        || (line.starts_with("Time")
            && line
                .split_whitespace()
                .eq(["Time", "Id", "Command", "Argument"]))
}

fn excerpt(text: &str) -> String {
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// `# Key: value  Key: value …` → pairs; a key followed directly by another key has an empty
/// value (MariaDB writes `Schema:   QC_hit: No` when no database is selected).
fn header_pairs(rest: &str) -> Vec<(&str, &str)> {
    let tokens: Vec<&str> = rest.split_whitespace().collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(key) = tokens[i].strip_suffix(':') {
            match tokens.get(i + 1) {
                Some(v) if !v.ends_with(':') => {
                    pairs.push((key, *v));
                    i += 2;
                }
                _ => {
                    pairs.push((key, ""));
                    i += 1;
                }
            }
        } else {
            i += 1;
        }
    }
    pairs
}

fn seconds(s: &str) -> Option<Duration> {
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && (0.0..1e9).contains(&v)).then(|| Duration::from_secs_f64(v))
}

/// The `timestamp=` of a `SET [last_insert_id=N,][insert_id=N,]timestamp=N;` line the server
/// writes before a statement, or `None` when the line is anything else.
fn set_timestamp(line: &str) -> Option<i64> {
    let body = line.strip_prefix("SET ")?.trim_end().strip_suffix(';')?;
    let mut ts = None;
    for assignment in body.split(',') {
        let (key, value) = assignment.trim().split_once('=')?;
        match key {
            "timestamp" => ts = Some(timestamp::parse_epoch(value)?),
            "last_insert_id" | "insert_id" if value.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => return None,
        }
    }
    ts
}

#[derive(Debug, Default)]
struct Entry {
    line: u64,
    excerpt: String,
    user: Option<String>,
    thread: Option<String>,
    schema: Option<String>,
    query_time: Option<Duration>,
    rows_sent: Option<u64>,
    rows_affected: Option<u64>,
    started: Option<i64>,
    time: Option<i64>,
    sql: String,
    /// A statement line has been seen: everything until the next entry is statement text.
    in_body: bool,
    too_large: bool,
}

/// Parser of MySQL/MariaDB slow query logs.
#[derive(Debug)]
pub struct MysqlSlowParser {
    options: LogOptions,
    report: ParseReport,
    line_no: u64,
    entry: Option<Entry>,
    /// The last `# Time:` (MariaDB writes it only when the second changes).
    last_time: Option<i64>,
    /// The database of the last `use` line (MySQL writes it when it changes).
    last_db: Option<String>,
    last_at: i64,
}

impl MysqlSlowParser {
    pub fn new(options: LogOptions) -> Self {
        let report = ParseReport::new(options.max_examples);
        MysqlSlowParser {
            options,
            report,
            line_no: 0,
            entry: None,
            last_time: None,
            last_db: None,
            last_at: 0,
        }
    }

    fn new_entry(&mut self, n: u64, line: &str) -> &mut Entry {
        self.entry.insert(Entry {
            line: n,
            excerpt: excerpt(line),
            ..Entry::default()
        })
    }

    fn header_line(&mut self, n: u64, line: &str, out: &mut Vec<CaptureEvent>) {
        if let Some(rest) = line.strip_prefix("# Time: ") {
            self.flush(out);
            // MariaDB's `# Time:` is local time without a zone; `SET timestamp` (epoch
            // seconds) takes precedence, so an assumed offset rarely matters.
            match timestamp::parse_mysql_time(rest, &self.options) {
                Some(stamp) => self.last_time = Some(stamp.micros),
                None => self.report.skip(n, SkipReason::BadValue, line),
            }
            let time = self.last_time;
            self.new_entry(n, line).time = time;
            return;
        }
        if let Some(rest) = line.strip_prefix("# User@Host: ") {
            let reuse = self
                .entry
                .as_ref()
                .is_some_and(|e| !e.in_body && e.user.is_none() && e.query_time.is_none());
            if !reuse {
                self.flush(out);
                let time = self.last_time;
                self.new_entry(n, line).time = time;
            }
            let entry = self.entry.as_mut().expect("entry just ensured");
            let user = rest.split(['[', ' ']).next().unwrap_or("");
            entry.user = Some(user.to_owned()).filter(|u| !u.is_empty());
            if let Some((_, id)) = rest.split_once("Id:") {
                entry.thread = id.split_whitespace().next().map(str::to_owned);
            }
        }
    }

    fn feed_line(&mut self, n: u64, line: &str, out: &mut Vec<CaptureEvent>) {
        if is_banner(line) {
            self.flush(out);
            self.report.skip(n, SkipReason::ServerBanner, line);
            return;
        }
        if line.starts_with("# Time: ") || line.starts_with("# User@Host: ") {
            self.header_line(n, line, out);
            return;
        }
        let max = self.options.max_entry_bytes;
        let Some(entry) = self.entry.as_mut() else {
            if !line.trim().is_empty() {
                self.report.skip(n, SkipReason::UnrecognizedLine, line);
            }
            return;
        };
        if entry.in_body {
            entry.sql.push('\n');
        } else {
            if let Some(rest) = line
                .strip_prefix("# ")
                .filter(|_| !line.starts_with("# administrator command:"))
            {
                for (key, value) in header_pairs(rest) {
                    let count = || value.parse::<u64>().ok();
                    match key {
                        "Thread_id" | "Id" => {
                            entry.thread = Some(value.to_owned()).filter(|v| !v.is_empty());
                        }
                        "Schema" => entry.schema = Some(value.to_owned()).filter(|v| !v.is_empty()),
                        // Unparseable values stay unknown: the entry is warned about when emitted.
                        "Query_time" => entry.query_time = seconds(value),
                        "Rows_sent" => entry.rows_sent = count(),
                        "Rows_affected" => entry.rows_affected = count(),
                        _ => {}
                    }
                }
                return;
            }
            if let Some(db) = line
                .strip_prefix("use ")
                .and_then(|r| r.trim_end().strip_suffix(';'))
            {
                let db = db.trim().trim_matches('`').to_owned();
                entry.schema.get_or_insert_with(|| db.clone());
                self.last_db = Some(db);
                return;
            }
            if entry.started.is_none() {
                if let Some(ts) = set_timestamp(line) {
                    entry.started = Some(ts);
                    return;
                }
                if ["SET timestamp=", "SET last_insert_id=", "SET insert_id="]
                    .iter()
                    .any(|p| line.starts_with(p))
                {
                    self.report.skip(n, SkipReason::BadValue, line);
                    return;
                }
            }
            if line.trim().is_empty() {
                return;
            }
            entry.in_body = true;
        }
        if entry.too_large || entry.sql.len() + line.len() > max {
            entry.too_large = true;
            entry.sql.clear();
        } else {
            entry.sql.push_str(line);
        }
    }

    fn flush(&mut self, out: &mut Vec<CaptureEvent>) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let sql = entry.sql.trim_end();
        let sql = sql.strip_suffix(';').unwrap_or(sql).trim_end();
        if entry.too_large {
            self.report
                .skip(entry.line, SkipReason::EntryTooLarge, &entry.excerpt);
            return;
        }
        if sql.trim().is_empty() {
            self.report
                .skip(entry.line, SkipReason::EmptyStatement, &entry.excerpt);
            return;
        }
        if sql.starts_with("# administrator command:") {
            self.report.skip(entry.line, SkipReason::AdminCommand, sql);
            return;
        }
        let database = entry.schema.as_deref().or(self.last_db.as_deref());
        if !self.options.keeps(entry.user.as_deref(), database) {
            self.report
                .skip(entry.line, SkipReason::FilteredOut, &entry.excerpt);
            return;
        }
        let duration = entry.query_time.unwrap_or_else(|| {
            self.report
                .warn(entry.line, Warning::MissingDuration, &entry.excerpt);
            Duration::ZERO
        });
        let at = match (entry.started, entry.time) {
            (Some(start), _) => start.saturating_add(duration.as_micros() as i64),
            (None, Some(time)) => time,
            (None, None) => {
                self.report
                    .warn(entry.line, Warning::MissingTimestamp, &entry.excerpt);
                self.last_at
            }
        };
        self.last_at = at;
        let rows = match (entry.rows_affected, entry.rows_sent) {
            (Some(affected), _) if affected > 0 => Some(affected),
            (_, sent) => sent.or(entry.rows_affected),
        };
        self.report.events += 1;
        out.push(CaptureEvent {
            session: entry.thread,
            rows,
            ..CaptureEvent::single(CaptureSource::MysqlSlowLog, at, sql, duration)
        });
    }
}

impl LogParser for MysqlSlowParser {
    fn feed(&mut self, line: &str, out: &mut Vec<CaptureEvent>) {
        self.line_no += 1;
        self.report.lines += 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        self.feed_line(self.line_no, line, out);
    }

    fn finish(&mut self, out: &mut Vec<CaptureEvent>) {
        if let Some(entry) = &self.entry
            && entry.in_body
            && !entry.too_large
            && !entry.sql.trim_end().ends_with(';')
        {
            self.report
                .warn(entry.line, Warning::TruncatedEntry, &entry.excerpt);
        }
        self.flush(out);
    }

    fn report(&self) -> &ParseReport {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(options: LogOptions, text: &str) -> (Vec<CaptureEvent>, ParseReport) {
        let mut p = MysqlSlowParser::new(options);
        let mut out = Vec::new();
        for line in text.lines() {
            p.feed(line, &mut out);
        }
        p.finish(&mut out);
        (out, p.report().clone())
    }

    #[test]
    fn mysql8_entries_with_id_and_combined_set() {
        let log = "\
/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:
Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock
Time                 Id Command    Argument
# Time: 2024-05-01T10:00:00.250000Z
# User@Host: app[app] @ localhost [127.0.0.1]  Id:    42
# Query_time: 0.500000  Lock_time: 0.000010 Rows_sent: 0  Rows_examined: 10
use shop;
SET last_insert_id=7,insert_id=8,timestamp=1714557600;
INSERT INTO t (a)
VALUES ('x;
# not a header');
# Time: 2024-05-01T10:00:01.000000Z
# User@Host: app[app] @ localhost [127.0.0.1]  Id:    43
# Query_time: 0.001000  Lock_time: 0.000000 Rows_sent: 3  Rows_examined: 3
SELECT 1
";
        let (events, report) = parse(LogOptions::default(), log);
        assert_eq!(events.len(), 2, "{events:#?}");
        assert_eq!(
            events[0].sql,
            "INSERT INTO t (a)\nVALUES ('x;\n# not a header')"
        );
        assert_eq!(events[0].session.as_deref(), Some("42"));
        assert_eq!(events[0].at, 1_714_557_600_500_000);
        assert_eq!(events[0].duration, Duration::from_millis(500));
        assert_eq!(events[0].rows, Some(0));
        assert_eq!(events[1].at, 1_714_557_601_000_000);
        assert_eq!(events[1].rows, Some(3));
        assert_eq!(report.skipped.count(SkipReason::ServerBanner), 3);
        assert_eq!(report.warnings.count(Warning::TruncatedEntry), 1);
    }

    #[test]
    fn filters_admin_commands_and_empty_entries() {
        let log = "\
# User@Host: a[a] @ h []
# Thread_id: 5  Schema: one  QC_hit: No
# Query_time: 0.1  Lock_time: 0.0  Rows_sent: 1  Rows_examined: 1
SET timestamp=1714557600;
SELECT 1;
# User@Host: a[a] @ h []
# Thread_id: 5  Schema: two  QC_hit: No
# Query_time: 0.1  Lock_time: 0.0  Rows_sent: 1  Rows_examined: 1
SET timestamp=1714557600;
SELECT 2;
# User@Host: a[a] @ h []
# Query_time: 0.1  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0
SET timestamp=1714557600;
# administrator command: Quit;
# User@Host: a[a] @ h []
# Query_time: 0.1  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0
";
        let options = LogOptions {
            database: Some("two".into()),
            ..LogOptions::default()
        };
        let (events, report) = parse(options, log);
        assert_eq!(
            events.iter().map(|e| e.sql.as_str()).collect::<Vec<_>>(),
            vec!["SELECT 2"]
        );
        assert_eq!(events[0].session.as_deref(), Some("5"));
        assert_eq!(report.skipped.count(SkipReason::FilteredOut), 1);
        assert_eq!(report.skipped.count(SkipReason::AdminCommand), 1);
        assert_eq!(report.skipped.count(SkipReason::EmptyStatement), 1);
    }

    #[test]
    fn set_timestamp_lines() {
        assert_eq!(
            set_timestamp("SET timestamp=1714557600;"),
            Some(1_714_557_600_000_000)
        );
        assert_eq!(
            set_timestamp("SET insert_id=3,timestamp=1;"),
            Some(1_000_000)
        );
        assert_eq!(set_timestamp("SET @a = 1;"), None);
        assert_eq!(set_timestamp("SET timestamp=abc;"), None);
        assert_eq!(set_timestamp("SET insert_id=3;"), None);
    }
}
