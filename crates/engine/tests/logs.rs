//! Log-file capture: the fixtures in `tests/fixtures/logs/` (written by a real PostgreSQL 15 and
//! MariaDB 10.11, see its README) read through `persona_engine::capture::files`, their malformed
//! twins, streaming and limits, and property tests that no input makes a parser panic.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use persona_core::capture::{LogFormat, LogOptions, LogParser, ParseReport, SkipReason, Warning};
use persona_core::model::{CaptureEvent, CaptureSource};
use persona_engine::capture::files::{
    LogReadReport, Progress, detect_file_format, read_log, read_log_from, read_log_with,
};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/logs")
        .join(name)
}

fn read(
    name: &str,
    format: Option<LogFormat>,
    options: &LogOptions,
) -> (Vec<CaptureEvent>, LogReadReport) {
    read_log(&fixture(name), format, options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ms(x: f64) -> Duration {
    Duration::from_secs_f64(x / 1000.0)
}

/// Microseconds since the epoch of 2026-11-25 `hh:mm:ss.mmm` UTC (the day the fixtures were
/// logged; 00:00:00 UTC that day is 1795564800 s).
fn utc(h: i64, m: i64, s: i64, milli: i64) -> i64 {
    (1_795_564_800 + h * 3600 + m * 60 + s) * 1_000_000 + milli * 1000
}

fn sessions(events: &[CaptureEvent]) -> BTreeSet<&str> {
    events.iter().filter_map(|e| e.session.as_deref()).collect()
}

fn find<'a>(events: &'a [CaptureEvent], sql_start: &str) -> Vec<&'a CaptureEvent> {
    events
        .iter()
        .filter(|e| e.sql.starts_with(sql_start))
        .collect()
}

const JOIN_SQL: &str = "SELECT o.id, o.total, c.email\n  FROM orders o\n  JOIN customers c ON c.id = o.customer_id\n WHERE o.status = 'paid'\n   AND o.total > 100\n ORDER BY o.placed_at DESC\n LIMIT 10;";
const PARAM_SQL: &str = "SELECT o.id, o.total\nFROM orders o\nWHERE o.customer_id = $1\n  AND o.status = $2\nORDER BY o.id\nLIMIT $3";

// ---------------------------------------------------------------------------------------------
// PostgreSQL stderr, Debian's default prefix, log_min_duration_statement = 0

#[test]
fn pg_stderr_debian_prefix_is_detected_and_parsed() {
    let (events, report) = read("pg-stderr-debian.log", None, &LogOptions::default());
    assert_eq!(report.format, LogFormat::PgStderr);
    assert!(report.format_detected);
    assert_eq!(report.log_line_prefix.as_deref(), Some("%m [%p] %q%u@%d "));
    let p = &report.parse;
    assert_eq!(p.lines, 216);
    // 15 simple-protocol statements, 4 failed statements, 17 extended-protocol executions.
    assert_eq!(events.len(), 36);
    assert_eq!(p.events, 36);
    assert_eq!(
        p.skipped.count(SkipReason::ProtocolPhase),
        35,
        "parse + bind lines"
    );
    assert_eq!(
        p.skipped.count(SkipReason::NotAStatement),
        12,
        "start-up and shutdown messages"
    );
    assert_eq!(p.skipped.total(), 47);
    assert_eq!(p.warnings.total(), 0);
    assert!(
        events
            .iter()
            .all(|e| e.source == CaptureSource::PgLog && e.calls == 1)
    );
    assert_eq!(
        sessions(&events),
        BTreeSet::from([
            "18093", "18095", "18098", "18100", "18102", "18195", "18200", "18201"
        ])
    );

    let join = find(&events, "SELECT o.id, o.total, c.email");
    assert_eq!(join.len(), 1);
    assert_eq!(join[0].sql, JOIN_SQL);
    assert_eq!(join[0].duration, ms(2.566));
    assert_eq!(join[0].at, utc(0, 59, 2, 788));
    assert_eq!(join[0].session.as_deref(), Some("18098"));

    let update = find(&events, "UPDATE customers SET name = $1");
    assert_eq!(update.len(), 1);
    assert_eq!(
        update[0].params,
        vec![None, Some("o'brien@example.com".to_owned())]
    );
    assert_eq!(update[0].duration, ms(0.107));
    let insert = find(
        &events,
        "INSERT INTO orders (customer_id, status, total) VALUES ($1",
    );
    assert_eq!(
        insert[0].params,
        vec![Some("9".into()), Some("new".into()), None]
    );
    let paged = find(&events, PARAM_SQL);
    assert_eq!(paged.len(), 1, "execute only, not parse/bind");
    assert_eq!(
        paged[0].params,
        vec![Some("5".into()), Some("paid".into()), Some("20".into())]
    );
    assert_eq!(paged[0].duration, ms(0.183));

    let failed: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| Some((e.sql.as_str(), e.error.as_deref()?)))
        .collect();
    assert_eq!(
        failed,
        vec![
            (
                "SELECT * FROM missing_table WHERE id = 1;",
                "relation \"missing_table\" does not exist at character 15"
            ),
            (
                "INSERT INTO customers (email, name) VALUES ('user1@example.com', 'dup');",
                "duplicate key value violates unique constraint \"customers_email_key\""
            ),
            ("SELECT 1/0;", "division by zero"),
            (
                "SELECT * FROM orders WHERE id = $1::int",
                "invalid input syntax for type integer: \"not-a-number\""
            ),
        ]
    );
    assert!(
        events
            .iter()
            .filter(|e| e.error.is_some())
            .all(|e| e.duration.is_zero())
    );

    // pgbench: two clients, three transactions of two statements each, one parameter each.
    let bench: Vec<&CaptureEvent> = events
        .iter()
        .filter(|e| matches!(e.session.as_deref(), Some("18200" | "18201")))
        .collect();
    assert_eq!(bench.len(), 12);
    assert!(
        bench
            .iter()
            .all(|e| e.params.len() == 1 && e.params[0].is_some())
    );
    assert_eq!(
        bench
            .iter()
            .filter(|e| e.sql.starts_with("UPDATE orders SET total"))
            .count(),
        6
    );
    // The string literal with an escaped quote and `\n` stays as logged.
    assert!(events.iter().any(|e| e.sql
        == "INSERT INTO customers (email, name) VALUES ('o''brien@example.com', E'Line one\\nLine two');"));
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL stderr, pgBadger-style prefix, log_statement = 'all' (then also durations), CET

#[test]
fn pg_stderr_custom_prefix_log_statement_and_bare_durations() {
    let prefix = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ";
    let given = LogOptions {
        log_line_prefix: Some(prefix.to_owned()),
        ..LogOptions::default()
    };
    let (events, report) = read("pg-stderr-custom.log", Some(LogFormat::PgStderr), &given);
    let (detected, detected_report) = read("pg-stderr-custom.log", None, &LogOptions::default());
    assert_eq!(detected_report.log_line_prefix.as_deref(), Some(prefix));
    assert_eq!(
        detected, events,
        "the detected prefix reads the log like the given one"
    );

    let p = &report.parse;
    assert_eq!(events.len(), 24);
    assert_eq!(p.skipped.count(SkipReason::NotAStatement), 7);
    assert_eq!(p.skipped.count(SkipReason::ProtocolPhase), 11);
    assert_eq!(p.skipped.total(), 18);
    assert_eq!(p.warnings.total(), 0);

    // log_statement only: no durations; errors attach to the statement the session logged.
    let psql: Vec<&CaptureEvent> = events
        .iter()
        .filter(|e| e.session.as_deref() == Some("19672"))
        .collect();
    assert_eq!(psql.len(), 11);
    assert!(psql.iter().all(|e| e.duration.is_zero()));
    assert_eq!(
        psql[0].sql,
        "SELECT id, email FROM customers WHERE id = 42;"
    );
    assert_eq!(psql[0].at, utc(1, 0, 28, 0), "02:00:28 CET is 01:00:28 UTC");
    assert_eq!(psql[1].sql, JOIN_SQL);
    let errors: Vec<(&str, &str)> = psql
        .iter()
        .filter_map(|e| Some((e.sql.as_str(), e.error.as_deref()?)))
        .collect();
    assert_eq!(errors.len(), 4);
    assert_eq!(
        errors[0],
        (
            "INSERT INTO customers (email, name) VALUES ('o''brien@example.com', E'Line one\\nLine two');",
            "duplicate key value violates unique constraint \"customers_email_key\""
        )
    );
    assert_eq!(errors[3], ("SELECT 1/0;", "division by zero"));
    assert_eq!(psql.last().unwrap().sql, "COMMIT;");

    // A bind error follows a successful execute: it is its own event, not the INSERT's.
    let ext: Vec<&CaptureEvent> = events
        .iter()
        .filter(|e| e.session.as_deref() == Some("19714"))
        .collect();
    assert_eq!(ext.len(), 6);
    let insert = ext
        .iter()
        .find(|e| e.sql.starts_with("INSERT INTO orders"))
        .unwrap();
    assert_eq!(insert.error, None);
    assert_eq!(
        insert.params,
        vec![Some("9".into()), Some("new".into()), None]
    );
    let bind_error = ext.iter().find(|e| e.error.is_some()).unwrap();
    assert_eq!(bind_error.sql, "SELECT * FROM orders WHERE id = $1::int");

    // log_statement + log_min_duration_statement: the bare `duration:` completes the statement.
    let counted = find(&events, "SELECT count(*) FROM orders WHERE status = 'new'");
    assert_eq!(counted.len(), 1);
    assert_eq!(counted[0].duration, ms(1.303));
    let both: Vec<&CaptureEvent> = events
        .iter()
        .filter(|e| e.session.as_deref() == Some("19763"))
        .collect();
    assert_eq!(both.len(), 6);
    let durations: Vec<Duration> = both
        .iter()
        .filter(|e| e.error.is_none())
        .map(|e| e.duration)
        .collect();
    assert_eq!(
        durations,
        vec![ms(0.089), ms(0.036), ms(0.161), ms(0.106), ms(0.100)]
    );
    assert_eq!(both[2].sql, PARAM_SQL);
    assert_eq!(
        both[2].params,
        vec![Some("5".into()), Some("paid".into()), Some("20".into())]
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL csvlog: the same run as the Debian stderr log, so the events must agree

#[test]
fn pg_csv_matches_the_stderr_log_of_the_same_run() {
    let (csv, report) = read("pg-csv.csv", None, &LogOptions::default());
    assert_eq!(report.format, LogFormat::PgCsv);
    assert!(report.format_detected);
    assert_eq!(report.parse.skipped.count(SkipReason::BadCsv), 0);
    assert_eq!(report.parse.skipped.count(SkipReason::ProtocolPhase), 35);
    let (stderr, _) = read(
        "pg-stderr-debian.log",
        Some(LogFormat::PgStderr),
        &LogOptions::default(),
    );
    assert_eq!(csv.len(), stderr.len());
    for (c, s) in csv.iter().zip(&stderr) {
        assert_eq!(
            (&c.sql, c.duration, &c.params, c.at),
            (&s.sql, s.duration, &s.params, s.at)
        );
        match (&c.error, &s.error) {
            (None, None) => {}
            (Some(ce), Some(se)) => {
                // csvlog adds the SQLSTATE and keeps the error position in its own column.
                let (code, message) = ce.split_once(": ").unwrap();
                assert_eq!(code.len(), 5, "{ce}");
                assert!(se.starts_with(message), "{ce} vs {se}");
            }
            other => panic!("error mismatch for {}: {other:?}", c.sql),
        }
    }
    let div = find(&csv, "SELECT 1/0;");
    assert_eq!(div[0].error.as_deref(), Some("22012: division by zero"));
    // Sessions are csvlog session ids (start time and pid in hex).
    assert_eq!(div[0].session.as_deref(), Some("6b0632d6.46b2"));
    assert_eq!(sessions(&csv).len(), sessions(&stderr).len());
}

// ---------------------------------------------------------------------------------------------
// MariaDB slow query log

#[test]
fn mariadb_slow_log() {
    let (events, report) = read("mysql-slow.log", None, &LogOptions::default());
    assert_eq!(report.format, LogFormat::MysqlSlow);
    let p = &report.parse;
    assert_eq!(p.lines, 155);
    assert_eq!(events.len(), 22);
    // The server wrote its banner each time the log was (re)opened.
    assert_eq!(p.skipped.count(SkipReason::ServerBanner), 6);
    assert_eq!(p.skipped.total(), 6);
    assert_eq!(p.warnings.total(), 0);
    assert!(
        events
            .iter()
            .all(|e| e.source == CaptureSource::MysqlSlowLog && e.error.is_none())
    );
    assert_eq!(sessions(&events), BTreeSet::from(["22", "26"]));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.session.as_deref() == Some("22"))
            .count(),
        17
    );

    let join = find(&events, "SELECT o.id, o.total, c.email");
    assert_eq!(join.len(), 1);
    assert_eq!(join[0].sql, JOIN_SQL.trim_end_matches(';'));
    assert_eq!(join[0].duration, Duration::from_micros(693));
    assert_eq!(join[0].rows, Some(10));
    assert_eq!(
        join[0].at,
        1_795_568_437_000_000 + 693,
        "SET timestamp + Query_time"
    );
    // A string literal holding a newline and `;` does not end the statement.
    let update = find(&events, "UPDATE customers SET name = 'two");
    assert_eq!(
        update[0].sql,
        "UPDATE customers SET name = 'two\nlines;\nhere' WHERE id = 3"
    );
    assert_eq!(update[0].rows, Some(1), "Rows_affected for writes");
    assert_eq!(find(&events, "INSERT INTO orders")[0].rows, Some(1000));
    assert_eq!(find(&events, "DELETE FROM orders")[0].rows, Some(6));
    // A prepared statement executed with user variables is logged with its values.
    let prepared = find(
        &events,
        "SELECT id FROM orders WHERE customer_id = 5 AND status = 'paid'",
    );
    assert_eq!(prepared[0].rows, Some(2));
    assert_eq!(
        events.last().unwrap().sql,
        "SELECT c.email, count(o.id)\n  FROM customers c\n  LEFT JOIN orders o ON o.customer_id = c.id\n WHERE c.id = 17\n GROUP BY c.email"
    );
    let only_26 = LogOptions {
        user: Some("nobody".into()),
        ..LogOptions::default()
    };
    let (none, filtered) = read("mysql-slow.log", None, &only_26);
    assert!(none.is_empty());
    assert_eq!(filtered.parse.skipped.count(SkipReason::FilteredOut), 22);
}

// ---------------------------------------------------------------------------------------------
// JSON lines

#[test]
fn json_lines_events() {
    let (events, report) = read("events.jsonl", None, &LogOptions::default());
    assert_eq!(report.format, LogFormat::Jsonl);
    assert_eq!(report.parse.lines, 8);
    assert_eq!(report.parse.skipped.total(), 0, "blank lines are not skips");
    assert_eq!(events.len(), 7);
    assert_eq!(events[0].params, vec![Some("17".to_owned())]);
    assert_eq!(
        events[2].params,
        vec![None, Some("o'brien@example.com".to_owned())]
    );
    assert_eq!(
        events[3].error.as_deref(),
        Some("22P02: invalid input syntax for type integer: \"not-a-number\"")
    );
    let aggregated = &events[4];
    assert_eq!(
        (aggregated.source, aggregated.calls, aggregated.rows),
        (CaptureSource::PgStatStatements, 6, Some(6))
    );
    assert_eq!(aggregated.duration, ms(1.4));
    assert!(aggregated.sql.contains('\n'));
}

// ---------------------------------------------------------------------------------------------
// Malformed twins: bad lines are counted with their reason and skipped; good ones still parse

fn examples(report: &ParseReport, reason: SkipReason) -> Vec<u64> {
    report
        .skipped
        .examples
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| e.line)
        .collect()
}

#[test]
fn malformed_pg_stderr() {
    let options = LogOptions {
        log_line_prefix: Some("%m [%p] %q%u@%d ".into()),
        ..LogOptions::default()
    };
    let (events, report) = read(
        "pg-stderr-malformed.log",
        Some(LogFormat::PgStderr),
        &options,
    );
    let p = &report.parse;
    let sqls: Vec<&str> = events.iter().map(|e| e.sql.as_str()).collect();
    assert_eq!(
        sqls,
        vec![
            "SELECT id, email FROM customers WHERE id = 42;",
            "SELECT o.id, o.total, c.email\n  FROM orders o\n WHERE o.status = 'paid'\n LIMIT 10;",
            "SELECT count(*) FROM orders WHERE customer_id IN (1, 2, 3, 4);",
            "SELECT 1/0;",
            "SELECT id, email FROM customers WHERE id = $1",
            "UPDATE customers SET name = $1 WHERE email = $2",
            "SELECT now();",
            "SELECT 'last one';",
        ]
    );
    assert_eq!(examples(p, SkipReason::OrphanContinuation), vec![1, 12]);
    assert_eq!(
        examples(p, SkipReason::UnrecognizedLine),
        vec![4, 9, 22, 24]
    );
    assert_eq!(examples(p, SkipReason::BadValue), vec![10]);
    assert_eq!(examples(p, SkipReason::ErrorWithoutStatement), vec![15]);
    assert_eq!(examples(p, SkipReason::DurationWithoutStatement), vec![18]);
    assert_eq!(examples(p, SkipReason::EmptyStatement), vec![23]);
    assert_eq!(p.skipped.count(SkipReason::NotAStatement), 1);
    assert_eq!(p.skipped.total(), 11);
    assert_eq!(p.warnings.count(Warning::BadParameters), 1);
    assert_eq!(p.warnings.count(Warning::MissingTimestamp), 1);
    // The unparseable parameters leave the event without parameters; the next ones are intact.
    assert!(events[4].params.is_empty());
    assert_eq!(
        events[5].params,
        vec![None, Some("o'brien@example.com".into())]
    );
    // An invalid timestamp (hour 99) takes the previous message's time.
    assert_eq!(events[6].at, events[5].at);
}

#[test]
fn malformed_pg_csv() {
    let (events, report) = read(
        "pg-csv-malformed.csv",
        Some(LogFormat::PgCsv),
        &LogOptions::default(),
    );
    let p = &report.parse;
    let sqls: Vec<&str> = events.iter().map(|e| e.sql.as_str()).collect();
    assert_eq!(
        sqls,
        vec![
            "SELECT id, email FROM customers WHERE id = 42;",
            "UPDATE orders SET status = 'shipped' WHERE id = 7;",
            "SELECT * FROM missing_table WHERE id = 1;",
            "SELECT id, email FROM customers WHERE id = $1",
            "SELECT \"quoted\" AS q\nFROM (VALUES (1)) v",
        ]
    );
    assert_eq!(examples(p, SkipReason::BadCsv), vec![2, 6, 7, 9, 14]);
    assert_eq!(examples(p, SkipReason::BadValue), vec![8]);
    assert_eq!(p.skipped.total(), 6);
    assert_eq!(p.warnings.count(Warning::BadParameters), 1);
    assert_eq!(
        events[2].error.as_deref(),
        Some("42P01: relation \"missing_table\" does not exist")
    );
}

#[test]
fn malformed_mysql_slow() {
    let (events, report) = read("mysql-slow-malformed.log", None, &LogOptions::default());
    assert_eq!(report.format, LogFormat::MysqlSlow);
    let p = &report.parse;
    let sqls: Vec<&str> = events.iter().map(|e| e.sql.as_str()).collect();
    assert_eq!(
        sqls,
        vec![
            "SELECT id, email FROM customers WHERE id = 42",
            "UPDATE orders SET status = 'shipped' WHERE id = 7",
            "UPDATE customers SET name = 'two\nlines;\nhere' WHERE id = 3",
            "SELECT c.email, count(o.id)\n  FROM customers c\n WHERE c.id = 17",
        ]
    );
    assert_eq!(examples(p, SkipReason::UnrecognizedLine), vec![1]);
    assert_eq!(examples(p, SkipReason::ServerBanner), vec![2, 3, 4]);
    assert_eq!(examples(p, SkipReason::EmptyStatement), vec![18]);
    assert_eq!(examples(p, SkipReason::BadValue), vec![23, 27]);
    assert_eq!(p.skipped.total(), 7);
    assert_eq!(p.warnings.count(Warning::MissingDuration), 1);
    assert_eq!(p.warnings.count(Warning::TruncatedEntry), 1);
    assert_eq!(events[1].duration, Duration::ZERO, "Query_time: abc");
    // Without a usable `SET timestamp`, the last good `# Time:` (MariaDB local time, UTC assumed).
    assert_eq!(events[2].at, utc(1, 0, 37, 0));
}

#[test]
fn malformed_json_lines() {
    let (events, report) = read("events-malformed.jsonl", None, &LogOptions::default());
    assert_eq!(report.format, LogFormat::Jsonl);
    let sqls: Vec<&str> = events.iter().map(|e| e.sql.as_str()).collect();
    assert_eq!(sqls, vec!["SELECT 1", "SELECT 6"]);
    assert_eq!(events[1].calls, 2);
    assert_eq!(
        examples(&report.parse, SkipReason::BadJson),
        vec![2, 3, 4, 5, 6]
    );
    assert_eq!(report.parse.skipped.count(SkipReason::BadJson), 7);
    assert_eq!(report.parse.skipped.count(SkipReason::EmptyStatement), 1);
}

// ---------------------------------------------------------------------------------------------
// Detection, streaming, limits

#[test]
fn formats_are_detected_from_content() {
    for (name, format) in [
        ("pg-stderr-debian.log", LogFormat::PgStderr),
        ("pg-stderr-custom.log", LogFormat::PgStderr),
        ("pg-stderr-malformed.log", LogFormat::PgStderr),
        ("pg-csv.csv", LogFormat::PgCsv),
        ("pg-csv-malformed.csv", LogFormat::PgCsv),
        ("mysql-slow.log", LogFormat::MysqlSlow),
        ("mysql-slow-malformed.log", LogFormat::MysqlSlow),
        ("events.jsonl", LogFormat::Jsonl),
        ("events-malformed.jsonl", LogFormat::Jsonl),
    ] {
        assert_eq!(
            detect_file_format(&fixture(name)).unwrap(),
            Some(format),
            "{name}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "shopping list\nmilk\n").unwrap();
    assert_eq!(detect_file_format(&path).unwrap(), None);
    let err = read_log(&path, None, &LogOptions::default()).unwrap_err();
    assert!(err.to_string().contains("cannot tell the format"), "{err}");
    assert!(
        read_log(
            &dir.path().join("missing.log"),
            None,
            &LogOptions::default()
        )
        .is_err()
    );
}

#[test]
fn large_file_streams_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let n = 40_000u64;
    for i in 0..n {
        writeln!(
            f,
            "2026-11-25 01:00:00.{:03} UTC [{}] app@shop LOG:  duration: 0.{:03} ms  statement: SELECT *\n\t  FROM orders\n\t WHERE id = {i};",
            i % 1000,
            1000 + i % 7,
            i % 1000
        )
        .unwrap();
    }
    drop(f);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 4 * 1024 * 1024);
    let mut progress: Vec<Progress> = Vec::new();
    let mut count = 0u64;
    let mut last_sql = String::new();
    let report = read_log_with(
        &path,
        None,
        &LogOptions::default(),
        |e| {
            count += 1;
            last_sql = e.sql;
        },
        |p| progress.push(p),
    )
    .unwrap();
    assert_eq!(count, n);
    assert_eq!(report.parse.events, n);
    assert_eq!(report.parse.lines, 3 * n);
    assert_eq!(report.bytes, size);
    assert_eq!(
        last_sql,
        format!("SELECT *\n  FROM orders\n WHERE id = {};", n - 1)
    );
    assert!(progress.len() >= 4, "{} progress calls", progress.len());
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].bytes_read <= w[1].bytes_read)
    );
    assert_eq!(
        progress.last().unwrap(),
        &Progress {
            bytes_read: size,
            total_bytes: Some(size)
        }
    );
}

#[test]
fn overlong_lines_and_invalid_utf8_are_reported_not_fatal() {
    let mut data = Vec::new();
    data.extend_from_slice(
        b"2026-11-25 01:00:00.000 UTC [1] a@b LOG:  duration: 1.000 ms  statement: SELECT '",
    );
    data.extend(std::iter::repeat_n(b'x', 12_000));
    data.extend_from_slice(b"'\n\tFROM big\n");
    data.extend_from_slice(b"2026-11-25 01:00:01.000 UTC [1] a@b LOG:  duration: 2.000 ms  statement: SELECT '\xff\xfe'\n");
    data.extend_from_slice(
        b"2026-11-25 01:00:02.000 UTC [1] a@b LOG:  duration: 3.000 ms  statement: SELECT 3\r\n",
    );
    let options = LogOptions {
        log_line_prefix: Some("%m [%p] %q%u@%d ".into()),
        max_entry_bytes: 1000,
        ..LogOptions::default()
    };
    let mut events = Vec::new();
    let report = read_log_from(
        &data[..],
        None,
        LogFormat::PgStderr,
        &options,
        |e| events.push(e),
        |_| {},
    )
    .unwrap();
    let sqls: Vec<&str> = events.iter().map(|e| e.sql.as_str()).collect();
    assert_eq!(sqls, vec!["SELECT '\u{fffd}\u{fffd}'", "SELECT 3"]);
    let p = &report.parse;
    assert_eq!(p.skipped.count(SkipReason::EntryTooLarge), 1);
    assert_eq!(p.warnings.count(Warning::LineTooLong), 1);
    assert_eq!(p.warnings.count(Warning::InvalidUtf8), 1);
    assert_eq!(
        p.warnings
            .examples
            .iter()
            .map(|e| e.line)
            .collect::<Vec<_>>(),
        vec![1, 3]
    );
}

#[test]
fn report_reads_well() {
    let (_, report) = read("pg-stderr-malformed.log", None, &LogOptions::default());
    let text = report.to_string();
    assert!(text.contains("pg-stderr (detected)"), "{text}");
    assert!(
        text.contains("line matches neither the log format nor a continuation"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests: no line sequence makes a parser panic, and reports stay consistent

const FIXTURES: &[&str] = &[
    "pg-stderr-debian.log",
    "pg-stderr-custom.log",
    "pg-stderr-malformed.log",
    "pg-csv.csv",
    "pg-csv-malformed.csv",
    "mysql-slow.log",
    "mysql-slow-malformed.log",
    "events.jsonl",
    "events-malformed.jsonl",
];

fn fixture_lines() -> &'static [String] {
    static LINES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    LINES.get_or_init(|| {
        FIXTURES
            .iter()
            .flat_map(|name| {
                std::fs::read_to_string(fixture(name))
                    .unwrap()
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    })
}

/// An edit applied to a window of real lines.
#[derive(Debug, Clone)]
enum Edit {
    Truncate(prop::sample::Index, prop::sample::Index),
    Insert(prop::sample::Index, prop::sample::Index, char),
    Replace(prop::sample::Index, prop::sample::Index, char),
    DeleteLine(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
    SwapLines(prop::sample::Index, prop::sample::Index),
    InsertLine(prop::sample::Index, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let idx = any::<prop::sample::Index>;
    let special = prop::sample::select(vec![
        '\t',
        '"',
        '\'',
        ',',
        ';',
        ':',
        ' ',
        '$',
        '#',
        '\\',
        '\u{0}',
        'é',
        '\u{10ffff}',
    ]);
    prop_oneof![
        (idx(), idx()).prop_map(|(l, c)| Edit::Truncate(l, c)),
        (idx(), idx(), prop_oneof![special.clone(), any::<char>()])
            .prop_map(|(l, c, ch)| Edit::Insert(l, c, ch)),
        (idx(), idx(), prop_oneof![special, any::<char>()])
            .prop_map(|(l, c, ch)| Edit::Replace(l, c, ch)),
        idx().prop_map(Edit::DeleteLine),
        idx().prop_map(Edit::DuplicateLine),
        (idx(), idx()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (idx(), ".{0,80}").prop_map(|(l, s)| Edit::InsertLine(l, s)),
    ]
}

fn char_at(s: &str, i: prop::sample::Index) -> usize {
    let boundaries: Vec<usize> = s.char_indices().map(|(b, _)| b).chain([s.len()]).collect();
    boundaries[i.index(boundaries.len())]
}

fn apply(lines: &mut Vec<String>, edit: &Edit) {
    if lines.is_empty() {
        return;
    }
    let n = lines.len();
    match edit {
        Edit::Truncate(l, c) => {
            let line = &mut lines[l.index(n)];
            let at = char_at(line, *c);
            line.truncate(at);
        }
        Edit::Insert(l, c, ch) => {
            let line = &mut lines[l.index(n)];
            let at = char_at(line, *c);
            line.insert(at, *ch);
        }
        Edit::Replace(l, c, ch) => {
            let line = &mut lines[l.index(n)];
            let at = char_at(line, *c);
            if let Some(old) = line[at..].chars().next() {
                line.replace_range(at..at + old.len_utf8(), &ch.to_string());
            }
        }
        Edit::DeleteLine(l) => {
            lines.remove(l.index(n));
        }
        Edit::DuplicateLine(l) => {
            let line = lines[l.index(n)].clone();
            lines.insert(l.index(n), line);
        }
        Edit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
        Edit::InsertLine(l, s) => lines.insert(l.index(n), s.clone()),
    }
}

/// Mutated windows of real fixture lines.
fn mutated_lines() -> impl Strategy<Value = Vec<String>> {
    (
        any::<prop::sample::Index>(),
        1usize..60,
        prop::collection::vec(edit(), 0..24),
    )
        .prop_map(|(start, len, edits)| {
            let all = fixture_lines();
            let start = start.index(all.len());
            let mut lines: Vec<String> = all[start..(start + len).min(all.len())].to_vec();
            for e in &edits {
                apply(&mut lines, e);
            }
            lines
        })
}

/// Arbitrary lines, biased towards the shapes the parsers look for.
fn arbitrary_lines() -> impl Strategy<Value = Vec<String>> {
    let shaped = prop_oneof![
        any::<String>(),
        "(\t|# |SET |use |\\{|\")?.{0,40}",
        "2026-11-25 0[0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,4})? [A-Z+0-9-]{0,5}[ ,\\[\\]a-z0-9@:=\"]{0,30}(LOG|ERROR|DETAIL|STATEMENT|FATAL|HINT):  .{0,40}",
        "(duration: [0-9.e-]{0,8} ms  )?(statement|execute <unnamed>|parse S_1|bind x): .{0,30}",
        "parameters: (\\$[0-9]{1,3} = ('[^']{0,5}'?|NULL)(, )?){0,4}",
        "# (Time|User@Host|Query_time|Thread_id|Rows_affected): .{0,40}",
    ];
    prop::collection::vec(shaped, 0..40)
}

fn prefixes() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("%m [%p] %q%u@%d ".to_owned())),
        Just(Some(
            "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ".to_owned()
        )),
        "[%a-zA-Z0-9 @:=\\[\\],-]{0,24}".prop_map(Some),
    ]
}

fn check_parser(
    format: LogFormat,
    options: &LogOptions,
    lines: &[String],
) -> Result<(), TestCaseError> {
    let mut parser = format.parser(options);
    let mut out = Vec::new();
    for line in lines {
        parser.feed(line, &mut out);
    }
    parser.finish(&mut out);
    let report = parser.report();
    prop_assert_eq!(report.lines, lines.len() as u64);
    prop_assert_eq!(report.events, out.len() as u64);
    for e in &out {
        prop_assert!(!e.sql.trim().is_empty());
        prop_assert!(e.sql.len() <= options.max_entry_bytes);
    }
    for example in report
        .skipped
        .examples
        .iter()
        .map(|e| e.line)
        .chain(report.warnings.examples.iter().map(|e| e.line))
    {
        prop_assert!(example >= 1 && example <= lines.len() as u64);
    }
    Ok(())
}

fn run_all(options: &LogOptions, lines: &[String]) -> Result<(), TestCaseError> {
    for format in LogFormat::ALL {
        check_parser(format, options, lines)?;
    }
    Ok(())
}

fn options_for(prefix: Option<String>, small: bool) -> LogOptions {
    LogOptions {
        log_line_prefix: prefix,
        max_entry_bytes: if small {
            64
        } else {
            LogOptions::default().max_entry_bytes
        },
        ..LogOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_survive_mutated_real_lines(lines in mutated_lines(), prefix in prefixes(), small in any::<bool>()) {
        run_all(&options_for(prefix, small), &lines)?;
    }

    #[test]
    fn parsers_survive_arbitrary_lines(lines in arbitrary_lines(), prefix in prefixes(), small in any::<bool>()) {
        run_all(&options_for(prefix, small), &lines)?;
    }

    #[test]
    fn reader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2000), format in prop::sample::select(LogFormat::ALL.to_vec())) {
        let options = LogOptions { max_entry_bytes: 100, ..LogOptions::default() };
        let mut n = 0u64;
        let report = read_log_from(&bytes[..], Some(bytes.len() as u64), format, &options, |_| n += 1, |_| {}).unwrap();
        prop_assert_eq!(report.bytes, bytes.len() as u64);
        prop_assert_eq!(report.parse.events, n);
    }
}

/// The long fuzz run: `PERSONA_FUZZ_CASES` cases (default 100,000) of each generator.
/// `cargo test -p persona-engine --release --test logs -- --ignored --nocapture`
#[test]
#[ignore = "runs for minutes; run explicitly"]
fn fuzz_parsers_long() {
    let cases = std::env::var("PERSONA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let start = std::time::Instant::now();
    let mut runner = proptest::test_runner::TestRunner::new(config.clone());
    runner
        .run(
            &(mutated_lines(), prefixes(), any::<bool>()),
            |(lines, prefix, small)| run_all(&options_for(prefix, small), &lines),
        )
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config.clone());
    runner
        .run(
            &(arbitrary_lines(), prefixes(), any::<bool>()),
            |(lines, prefix, small)| run_all(&options_for(prefix, small), &lines),
        )
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..4000), |bytes| {
            for format in LogFormat::ALL {
                let options = LogOptions {
                    max_entry_bytes: 100,
                    ..LogOptions::default()
                };
                read_log_from(&bytes[..], None, format, &options, |_| {}, |_| {}).unwrap();
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzzed {cases} cases of each of 3 generators in {:.0?}",
        start.elapsed()
    );
}

#[test]
fn line_parser_trait_is_object_safe_and_send() {
    fn assert_send<T: Send>(_: &T) {}
    let parser: Box<dyn LogParser + Send> = LogFormat::PgStderr.parser(&LogOptions::default());
    assert_send(&parser);
}
