//! JSON-lines event files: one serialized [`CaptureEvent`] per line (its serde form, e.g.
//! `{"source":"proxy","session":"7","at":1714557600000000,"sql":"SELECT 1","duration_ms":0.2}`).
//! Blank lines are ignored; each event keeps the `source` it was recorded with.

use super::report::{ParseReport, SkipReason};
use super::{LogOptions, LogParser};
use crate::model::CaptureEvent;

/// Parser of JSON-lines event files.
#[derive(Debug)]
pub struct JsonLinesParser {
    options: LogOptions,
    report: ParseReport,
}

impl JsonLinesParser {
    pub fn new(options: LogOptions) -> Self {
        let report = ParseReport::new(options.max_examples);
        JsonLinesParser { options, report }
    }
}

impl LogParser for JsonLinesParser {
    fn feed(&mut self, line: &str, out: &mut Vec<CaptureEvent>) {
        self.report.lines += 1;
        let n = self.report.lines;
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        if line.len() > self.options.max_entry_bytes {
            self.report.skip(n, SkipReason::EntryTooLarge, line);
            return;
        }
        match serde_json::from_str::<CaptureEvent>(line) {
            Ok(event) if event.sql.trim().is_empty() => {
                self.report.skip(n, SkipReason::EmptyStatement, line);
            }
            Ok(event) => {
                self.report.events += 1;
                out.push(event);
            }
            Err(_) => self.report.skip(n, SkipReason::BadJson, line),
        }
    }

    fn finish(&mut self, _out: &mut Vec<CaptureEvent>) {}

    fn report(&self) -> &ParseReport {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::CaptureSource;

    #[test]
    fn events_round_trip_and_bad_lines_are_counted() {
        let mut event = CaptureEvent::single(
            CaptureSource::Proxy,
            5,
            "SELECT $1",
            Duration::from_micros(250),
        );
        event.params = vec![Some("1".into()), None];
        event.session = Some("s1".into());
        let good = serde_json::to_string(&event).unwrap();
        let mut p = JsonLinesParser::new(LogOptions::default());
        let mut out = Vec::new();
        for line in [
            good.as_str(),
            "",
            "{\"sql\":1}",
            "not json",
            r#"{"source":"demo","at":1,"sql":" ","duration_ms":1}"#,
        ] {
            p.feed(line, &mut out);
        }
        p.finish(&mut out);
        assert_eq!(out, vec![event]);
        let r = p.report();
        assert_eq!((r.lines, r.events), (5, 1));
        assert_eq!(r.skipped.count(SkipReason::BadJson), 2);
        assert_eq!(r.skipped.count(SkipReason::EmptyStatement), 1);
        assert_eq!(r.skipped.examples[0].line, 3);
    }
}
