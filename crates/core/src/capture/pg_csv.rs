//! PostgreSQL csvlog (`log_destination = 'csvlog'`): RFC 4180 records whose quoted fields may
//! span lines, in PostgreSQL's column order (23 columns up to 12, 24 in 13, 26 from 14 on; extra
//! trailing columns of later versions are ignored). Events are assembled by [`super::pg`]; the
//! `detail` column carries `parameters:` and the `query` column the statement of an error.

use super::pg::{Assembler, Message};
use super::pg_prefix::{Severity, is_datetime_shape};
use super::report::{ParseReport, SkipReason};
use super::timestamp;
use super::{LogOptions, LogParser};
use crate::model::CaptureEvent;

/// Columns every supported version writes (PostgreSQL 9.0 to 12 write exactly these).
const MIN_COLUMNS: usize = 23;
const LOG_TIME: usize = 0;
const USER_NAME: usize = 1;
const DATABASE_NAME: usize = 2;
const PROCESS_ID: usize = 3;
const SESSION_ID: usize = 5;
const ERROR_SEVERITY: usize = 11;
const SQL_STATE: usize = 12;
const MESSAGE: usize = 13;
const DETAIL: usize = 14;
const QUERY: usize = 19;
/// Longest excerpt kept for the report.
const EXCERPT_BYTES: usize = 240;

/// Whether `line` starts like a csvlog record: `YYYY-MM-DD HH:MM:SS[.mmm] ZONE,`.
pub(crate) fn looks_like_csv_record(line: &str) -> bool {
    let b = line.as_bytes();
    if !is_datetime_shape(b) || b[10] != b' ' {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if b.get(i) != Some(&b' ') {
        return false;
    }
    i += 1;
    let zone = b[i..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b':'))
        .count();
    zone > 0 && b.get(i + zone) == Some(&b',')
}

/// Split one complete CSV record into fields, or `None` when it is not well-formed.
fn split_record(record: &str) -> Option<Vec<String>> {
    let mut fields = Vec::with_capacity(26);
    let mut chars = record.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// Whether a line leaves a quoted field open, given whether it started inside one.
fn ends_in_quotes(line: &str, mut inside: bool) -> bool {
    for b in line.bytes() {
        if b == b'"' {
            inside = !inside;
        }
    }
    inside
}

fn excerpt(text: &str) -> &str {
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Parser of PostgreSQL csvlog files.
#[derive(Debug)]
pub struct PgCsvParser {
    asm: Assembler,
    /// The record being read (complete once no quoted field is open).
    record: String,
    record_line: u64,
    in_quotes: bool,
    too_large: bool,
    line_no: u64,
}

impl PgCsvParser {
    pub fn new(options: LogOptions) -> Self {
        PgCsvParser {
            asm: Assembler::new(options),
            record: String::new(),
            record_line: 0,
            in_quotes: false,
            too_large: false,
            line_no: 0,
        }
    }

    fn start(&mut self, n: u64, line: &str) {
        self.record.clear();
        self.record_line = n;
        self.too_large = line.len() > self.asm.options().max_entry_bytes;
        if self.too_large {
            // Keep the head for the report; quotes are still tracked to find the record's end.
            self.record.push_str(excerpt(line));
        } else {
            self.record.push_str(line);
        }
        self.in_quotes = ends_in_quotes(line, false);
    }

    fn complete(&mut self, out: &mut Vec<CaptureEvent>) {
        let record = std::mem::take(&mut self.record);
        let line = self.record_line;
        if self.too_large {
            self.asm
                .report
                .skip(line, SkipReason::EntryTooLarge, &record);
            return;
        }
        let Some(fields) = split_record(&record).filter(|f| f.len() >= MIN_COLUMNS) else {
            self.asm.report.skip(line, SkipReason::BadCsv, &record);
            return;
        };
        let Some(severity) = Severity::from_word(&fields[ERROR_SEVERITY]) else {
            self.asm.report.skip(line, SkipReason::BadValue, &record);
            return;
        };
        let at = timestamp::parse_pg(&fields[LOG_TIME], self.asm.options());
        if at.is_some_and(|s| s.zone_assumed) {
            self.asm
                .report
                .warn(line, super::Warning::UnknownTimeZone, excerpt(&record));
        }
        let nonempty = |i: usize| Some(fields[i].as_str()).filter(|s| !s.is_empty());
        let session = nonempty(SESSION_ID).or_else(|| nonempty(PROCESS_ID));
        let msg = Message {
            line,
            at: at.map(|s| s.micros),
            session,
            user: nonempty(USER_NAME),
            database: nonempty(DATABASE_NAME),
            severity,
            sqlstate: nonempty(SQL_STATE),
            text: &fields[MESSAGE],
        };
        self.asm.message(&msg, excerpt(&record), out);
        if let Some(detail) = nonempty(DETAIL) {
            self.asm.detail(session, Severity::Detail, detail);
        }
        if let Some(query) = nonempty(QUERY) {
            self.asm.detail(session, Severity::Statement, query);
        }
    }
}

impl LogParser for PgCsvParser {
    fn feed(&mut self, line: &str, out: &mut Vec<CaptureEvent>) {
        self.line_no += 1;
        self.asm.report.lines += 1;
        let n = self.line_no;
        if !self.in_quotes {
            if !line.trim().is_empty() {
                self.start(n, line);
            }
        } else if looks_like_csv_record(line) {
            // A new record while a quote is open: the open one was cut short.
            let record = std::mem::take(&mut self.record);
            self.asm
                .report
                .skip(self.record_line, SkipReason::BadCsv, excerpt(&record));
            self.start(n, line);
        } else {
            if !self.too_large
                && self.record.len() + line.len() + 1 > self.asm.options().max_entry_bytes
            {
                self.too_large = true;
                self.record.truncate(excerpt(&self.record).len());
            }
            if !self.too_large {
                self.record.push('\n');
                self.record.push_str(line);
            }
            self.in_quotes = ends_in_quotes(line, true);
        }
        if !self.in_quotes && !self.record.is_empty() {
            self.complete(out);
        }
    }

    fn finish(&mut self, out: &mut Vec<CaptureEvent>) {
        if self.in_quotes {
            let record = std::mem::take(&mut self.record);
            self.asm
                .report
                .skip(self.record_line, SkipReason::BadCsv, excerpt(&record));
            self.in_quotes = false;
        }
        self.asm.finish(out);
    }

    fn report(&self) -> &ParseReport {
        &self.asm.report
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn row(
        time: &str,
        pid: u32,
        sev: &str,
        state: &str,
        message: &str,
        detail: &str,
        query: &str,
    ) -> String {
        let q = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("\"{}\"", s.replace('"', "\"\""))
            }
        };
        format!(
            "{time},\"app\",\"shop\",{pid},\"127.0.0.1:5000\",65a1.{pid:x},1,\"SELECT\",{time},3/1,0,{sev},{state},{},{},,,,,{},,,\"psql\",\"client backend\",,0",
            q(message),
            q(detail),
            q(query)
        )
    }

    fn parse(text: &str) -> (Vec<CaptureEvent>, ParseReport) {
        let mut p = PgCsvParser::new(LogOptions::default());
        let mut out = Vec::new();
        for line in text.lines() {
            p.feed(line, &mut out);
        }
        p.finish(&mut out);
        (out, p.report().clone())
    }

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(
            split_record("a,\"b,\"\"c\"\"\",,\"\"").unwrap(),
            vec!["a", "b,\"c\"", "", ""]
        );
        assert_eq!(split_record("a,b\"c"), None);
        assert_eq!(split_record("\"a\"b"), None);
        assert_eq!(split_record("\"open"), None);
    }

    #[test]
    fn records_with_multi_line_fields_params_and_errors() {
        let t = "2024-05-01 10:00:00.500 UTC";
        let log = [
            row(t, 1, "LOG", "00000", "duration: 1.500 ms  execute <unnamed>: SELECT *\nFROM t\nWHERE a = $1", "parameters: $1 = 'x\ny'", ""),
            row(t, 2, "ERROR", "22012", "division by zero", "", "SELECT 1/0;"),
            row(t, 3, "LOG", "00000", "checkpoint complete", "", ""),
            "2024-05-01 10:00:01.000 UTC,\"app\",\"shop\",4,\"h\",65a1.4,1,\"\",t,3/1,0,LOG,00000,\"statement: SELECT \"\"unterminated".to_owned(),
            "second line of a broken record".to_owned(),
            row(t, 5, "LOG", "00000", "statement: SELECT 5", "", ""),
            "1,2,3".to_owned(),
        ]
        .join("\n");
        let (events, report) = parse(&log);
        assert_eq!(events.len(), 3, "{events:#?}");
        assert_eq!(events[0].sql, "SELECT *\nFROM t\nWHERE a = $1");
        assert_eq!(events[0].params, vec![Some("x\ny".to_owned())]);
        assert_eq!(events[0].duration, Duration::from_micros(1500));
        assert_eq!(events[0].session.as_deref(), Some("65a1.1"));
        assert_eq!(events[0].at, 1_714_557_600_500_000);
        assert_eq!(events[1].error.as_deref(), Some("22012: division by zero"));
        assert_eq!(events[1].sql, "SELECT 1/0;");
        assert_eq!(events[2].sql, "SELECT 5");
        assert_eq!(report.skipped.count(SkipReason::BadCsv), 2);
        assert_eq!(report.skipped.count(SkipReason::NotAStatement), 1);
        let bad: Vec<u64> = report
            .skipped
            .examples
            .iter()
            .filter(|e| e.reason == SkipReason::BadCsv)
            .map(|e| e.line)
            .collect();
        assert_eq!(bad, vec![7, 10]);
    }
}
