//! Log-file capture parsers: PostgreSQL stderr and csvlog, the MySQL/MariaDB slow query log and
//! JSON-lines event files, each turned into [`CaptureEvent`]s.
//!
//! Every parser is a line-fed state machine ([`LogParser`]): the caller hands it one line at a
//! time (without the newline) and collects the events it completes. Parsers keep only what an
//! unfinished entry needs (a multi-line statement, a statement waiting for its `DETAIL` or
//! duration line), never a whole file, and never fail: whatever they cannot use is counted in
//! their [`ParseReport`] with a reason and the first few examples. Reading files is the engine's
//! job (`persona_engine::capture::files`).

mod jsonl;
mod mysql_slow;
mod pg;
mod pg_csv;
mod pg_prefix;
mod pg_stderr;
mod report;
mod timestamp;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::CaptureEvent;

pub use jsonl::JsonLinesParser;
pub use mysql_slow::MysqlSlowParser;
pub use pg_csv::PgCsvParser;
pub use pg_prefix::{KNOWN_PREFIXES, LinePrefix, PrefixFields, PrefixMatch, Severity};
pub use pg_stderr::PgStderrParser;
pub use report::{Example, ParseReport, SkipReason, Skipped, Tally, Warning};
pub use timestamp::{ZoneError, parse_utc_offset};

/// A line-fed log parser. Feed every line of the input in order, then call
/// [`finish`](LogParser::finish) once to flush the entry the input ended in.
pub trait LogParser {
    /// Parse one line (its trailing `\n` or `\r\n` removed); completed events are pushed to `out`.
    fn feed(&mut self, line: &str, out: &mut Vec<CaptureEvent>);
    /// The input ended: push whatever is still pending.
    fn finish(&mut self, out: &mut Vec<CaptureEvent>);
    /// What was parsed, skipped and noticed so far.
    fn report(&self) -> &ParseReport;
    /// The PostgreSQL `log_line_prefix` in use (given or detected); `None` for other formats
    /// and when fields are picked out heuristically.
    fn log_line_prefix(&self) -> Option<&str> {
        None
    }
}

/// The log formats Persona Studio reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// PostgreSQL `log_destination = 'stderr'` output, with any `log_line_prefix`.
    PgStderr,
    /// PostgreSQL `log_destination = 'csvlog'` output.
    PgCsv,
    /// MySQL/MariaDB slow query log.
    MysqlSlow,
    /// One serialized [`CaptureEvent`] per line.
    Jsonl,
}

impl LogFormat {
    /// Every format, in a stable order.
    pub const ALL: [LogFormat; 4] = [
        LogFormat::PgStderr,
        LogFormat::PgCsv,
        LogFormat::MysqlSlow,
        LogFormat::Jsonl,
    ];

    /// The name used on the command line (`pg-stderr`, `pg-csv`, `mysql-slow`, `jsonl`).
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::PgStderr => "pg-stderr",
            LogFormat::PgCsv => "pg-csv",
            LogFormat::MysqlSlow => "mysql-slow",
            LogFormat::Jsonl => "jsonl",
        }
    }

    /// A fresh parser for this format.
    pub fn parser(self, options: &LogOptions) -> Box<dyn LogParser + Send> {
        match self {
            LogFormat::PgStderr => Box::new(PgStderrParser::new(options.clone())),
            LogFormat::PgCsv => Box::new(PgCsvParser::new(options.clone())),
            LogFormat::MysqlSlow => Box::new(MysqlSlowParser::new(options.clone())),
            LogFormat::Jsonl => Box::new(JsonLinesParser::new(options.clone())),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A log format name that is not one of `pg-stderr`, `pg-csv`, `mysql-slow`, `jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format `{0}` (expected pg-stderr, pg-csv, mysql-slow or jsonl)")]
pub struct UnknownLogFormat(pub String);

impl FromStr for LogFormat {
    type Err = UnknownLogFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pg-stderr" | "postgres" | "postgresql" | "stderr" => Ok(LogFormat::PgStderr),
            "pg-csv" | "csvlog" | "csv" => Ok(LogFormat::PgCsv),
            "mysql-slow" | "mariadb-slow" | "slow" => Ok(LogFormat::MysqlSlow),
            "jsonl" | "json-lines" | "ndjson" => Ok(LogFormat::Jsonl),
            _ => Err(UnknownLogFormat(s.to_owned())),
        }
    }
}

/// Settings shared by the parsers. The defaults suit logs written in UTC by a server whose
/// configuration is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogOptions {
    /// PostgreSQL `log_line_prefix` exactly as configured (e.g. `%m [%p] %q%u@%d `). `None`
    /// detects it from the first lines of the log.
    pub log_line_prefix: Option<String>,
    /// Offset from UTC, in seconds, for timestamps that carry no zone (MariaDB's `# Time:`) or
    /// a zone abbreviation that is neither known nor listed in `zone_abbreviations`.
    pub utc_offset: Option<i32>,
    /// Extra or overriding zone abbreviations (e.g. `("CST", 8 * 3600)` for China), consulted
    /// before the built-in table.
    pub zone_abbreviations: Vec<(String, i32)>,
    /// Keep only statements run in this database (PostgreSQL `%d`/csv `database_name`,
    /// MySQL `Schema:` / `use`).
    pub database: Option<String>,
    /// Keep only statements run by this user.
    pub user: Option<String>,
    /// How many example lines each skip reason or warning keeps.
    pub max_examples: usize,
    /// Entries larger than this (bytes of statement text) are skipped, so that a runaway entry
    /// (an unterminated CSV quote, a binary file) cannot exhaust memory.
    pub max_entry_bytes: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            log_line_prefix: None,
            utc_offset: None,
            zone_abbreviations: Vec::new(),
            database: None,
            user: None,
            max_examples: 5,
            max_entry_bytes: 16 * 1024 * 1024,
        }
    }
}

impl LogOptions {
    /// Whether a statement by `user` in `database` passes the user and database filters.
    /// Unknown values pass (a log that does not record them cannot be filtered on them).
    pub(crate) fn keeps(&self, user: Option<&str>, database: Option<&str>) -> bool {
        let ok = |want: &Option<String>, got: Option<&str>| match (want, got) {
            (Some(w), Some(g)) => w == g,
            _ => true,
        };
        ok(&self.database, database) && ok(&self.user, user)
    }
}

/// Guess the format of a log from its first lines. `None` when nothing in the sample looks like
/// any supported format.
pub fn detect_format<S: AsRef<str>>(sample: &[S]) -> Option<LogFormat> {
    let mut scores = [0usize; 4];
    for line in sample {
        let line = line.as_ref().trim_end_matches('\r');
        if line.starts_with('{') && serde_json::from_str::<CaptureEvent>(line).is_ok() {
            scores[3] += 3;
        } else if mysql_slow::looks_like_slow_log(line) {
            scores[2] += 2;
        } else if pg_csv::looks_like_csv_record(line) {
            scores[1] += 2;
        } else if pg_prefix::has_severity_marker(line) {
            scores[0] += 1;
        }
    }
    let (best, score) = scores
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| (**s, usize::MAX - i))?;
    (*score > 0).then_some(LogFormat::ALL[best])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in LogFormat::ALL {
            assert_eq!(f.name().parse::<LogFormat>().unwrap(), f);
            assert_eq!(f.to_string(), f.name());
        }
        assert!("xml".parse::<LogFormat>().is_err());
    }

    #[test]
    fn detects_each_format_from_a_sample() {
        let stderr = ["2024-01-02 10:00:00.123 UTC [42] app@shop LOG:  statement: SELECT 1"];
        let csv = [concat!(
            "2024-01-02 10:00:00.123 UTC,\"app\",\"shop\",42,\"127.0.0.1:5000\",65a1.2a,1,",
            "\"SELECT\",2024-01-02 10:00:00 UTC,3/1,0,LOG,00000,\"statement: SELECT 1\",,,,,,,,,",
            "\"psql\",\"client backend\",,0"
        )];
        let slow = [
            "# Time: 241125  0:59:10",
            "# User@Host: root[root] @ localhost []",
        ];
        let jsonl = [r#"{"source":"proxy","at":1,"sql":"SELECT 1","duration_ms":0.5}"#];
        assert_eq!(detect_format(&stderr), Some(LogFormat::PgStderr));
        assert_eq!(detect_format(&csv), Some(LogFormat::PgCsv));
        assert_eq!(detect_format(&slow), Some(LogFormat::MysqlSlow));
        assert_eq!(detect_format(&jsonl), Some(LogFormat::Jsonl));
        assert_eq!(detect_format(&["hello", "world"]), None);
    }
}
