//! Tracker tests: byte-level conversations (as a client and a server would send them) and the
//! events they must produce.

use persona_core::model::{CaptureEvent, CaptureSource};
use tokio::sync::mpsc;

use super::{CaptureConfig, EventSink, Tracker};
use crate::proxy::protocol::build::*;
use crate::proxy::protocol::params::oid;
use crate::proxy::protocol::parse_header;
use crate::proxy::stats::ProxyStats;

struct Harness {
    tracker: Tracker,
    rx: mpsc::Receiver<CaptureEvent>,
    stats: ProxyStats,
}

impl Harness {
    fn new() -> Self {
        Self::with(CaptureConfig::default(), 64)
    }

    fn with(config: CaptureConfig, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity);
        let stats = ProxyStats::default();
        let mut tracker = Tracker::new(config, EventSink::new(tx, stats.clone()));
        tracker.backend(b'K', &backend_key(4242, 7)[5..], true);
        Harness { tracker, rx, stats }
    }

    fn client(&mut self, frames: &[Vec<u8>]) {
        for (tag, body) in split(frames) {
            self.tracker.frontend(tag, &body, true);
        }
    }

    fn server(&mut self, frames: &[Vec<u8>]) {
        for (tag, body) in split(frames) {
            self.tracker.backend(tag, &body, true);
        }
    }

    fn events(&mut self) -> Vec<CaptureEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            out.push(e);
        }
        out
    }
}

/// Split concatenated frames with the real framer.
fn split(frames: &[Vec<u8>]) -> Vec<(u8, Vec<u8>)> {
    let bytes = frames.concat();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(h) = parse_header(&bytes[pos..], u32::MAX).unwrap() {
        out.push((h.tag, bytes[pos + 5..pos + h.frame_len()].to_vec()));
        pos += h.frame_len();
    }
    assert_eq!(pos, bytes.len(), "test frames must be whole");
    out
}

fn select_one() -> Vec<Vec<u8>> {
    vec![
        row_description(),
        data_row(&[b"1"]),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]
}

#[test]
fn simple_query_is_one_event_with_rows_and_session() {
    let mut h = Harness::new();
    h.client(&[query("SELECT 1")]);
    assert!(h.events().is_empty(), "nothing before the server answers");
    h.server(&select_one());
    let events = h.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.source, CaptureSource::Proxy);
    assert_eq!(
        (e.sql.as_str(), e.rows, e.error.as_deref()),
        ("SELECT 1", Some(1), None)
    );
    assert_eq!(e.session.as_deref(), Some("4242"));
    assert_eq!(e.calls, 1);
    assert!(
        e.at > 1_600_000_000_000_000,
        "at is microseconds since the epoch: {}",
        e.at
    );
    assert_eq!(h.stats.snapshot().statements_captured, 1);
}

#[test]
fn several_statements_in_one_query_string() {
    let mut h = Harness::new();
    h.client(&[query(
        "BEGIN; UPDATE t SET x = 1; DELETE FROM t WHERE x = 2; COMMIT",
    )]);
    h.server(&[
        command_complete("BEGIN"),
        command_complete("UPDATE 3"),
        command_complete("DELETE 2"),
        command_complete("COMMIT"),
        ready(b'I'),
    ]);
    let events = h.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].rows, Some(5));
    assert!(events[0].sql.starts_with("BEGIN; UPDATE"));
}

#[test]
fn simple_query_error_and_empty_query() {
    let mut h = Harness::new();
    h.client(&[query("SELECT * FROM nope"), query("")]);
    h.server(&[
        error("ERROR", "42P01", "relation \"nope\" does not exist"),
        ready(b'I'),
    ]);
    h.server(&[empty(b'I'), ready(b'I')]);
    let events = h.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].error.as_deref(), Some("42P01"));
    assert_eq!(events[0].rows, None);
    assert_eq!(
        (events[1].sql.as_str(), events[1].error.as_deref()),
        ("", None)
    );
    assert_eq!(h.stats.snapshot().server_errors, 1);
}

#[test]
fn pipelined_extended_queries_match_their_completions() {
    let mut h = Harness::new();
    let seven = 7i32.to_be_bytes();
    let eight = 8i32.to_be_bytes();
    h.client(&[
        parse("s1", "SELECT $1::int4 + 1", &[oid::INT4]),
        bind("", "s1", &[1], &[Some(&seven)]),
        execute("", 0),
        sync(),
        bind("", "s1", &[1], &[Some(&eight)]),
        execute("", 0),
        sync(),
        bind("", "s1", &[0], &[Some(b"9")]),
        execute("", 0),
        sync(),
    ]);
    assert_eq!(h.tracker.pending_len(), 10);
    h.server(&[
        empty(b'1'),
        empty(b'2'),
        data_row(&[b"8"]),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    h.server(&[
        empty(b'2'),
        data_row(&[b"9"]),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    h.server(&[
        empty(b'2'),
        data_row(&[b"10"]),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    let events = h.events();
    let params: Vec<_> = events.iter().map(|e| e.params.clone()).collect();
    assert_eq!(
        params,
        [
            vec![Some("7".to_owned())],
            vec![Some("8".to_owned())],
            vec![Some("9".to_owned())]
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.sql == "SELECT $1::int4 + 1" && e.rows == Some(1))
    );
    assert_eq!(h.tracker.pending_len(), 0);
}

#[test]
fn an_error_skips_the_rest_of_its_batch_only() {
    let mut h = Harness::new();
    h.client(&[
        parse("", "SELECT 1/0", &[]),
        bind("", "", &[], &[]),
        execute("", 0),
        execute("", 0),
        sync(),
        parse("", "SELECT 2", &[]),
        bind("", "", &[], &[]),
        execute("", 0),
        sync(),
    ]);
    h.server(&[
        empty(b'1'),
        empty(b'2'),
        error("ERROR", "22012", "division by zero"),
        ready(b'E'),
    ]);
    h.server(&[
        empty(b'1'),
        empty(b'2'),
        data_row(&[b"2"]),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    let events = h.events();
    assert_eq!(
        events.len(),
        2,
        "the second Execute of the failed batch never ran: {events:?}"
    );
    assert_eq!(
        (events[0].sql.as_str(), events[0].error.as_deref()),
        ("SELECT 1/0", Some("22012"))
    );
    assert_eq!(
        (
            events[1].sql.as_str(),
            events[1].error.as_deref(),
            events[1].rows
        ),
        ("SELECT 2", None, Some(1))
    );
}

#[test]
fn a_parse_error_is_charged_to_the_execute_that_follows() {
    let mut h = Harness::new();
    h.client(&[
        parse("", "SELEC 1", &[]),
        bind("", "", &[], &[]),
        execute("", 0),
        sync(),
    ]);
    h.server(&[error("ERROR", "42601", "syntax error"), ready(b'I')]);
    let events = h.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].sql.as_str(), events[0].error.as_deref()),
        ("SELEC 1", Some("42601"))
    );
}

#[test]
fn described_parameter_types_decode_binary_values() {
    let mut h = Harness::new();
    // The client lets the server infer the type, learns it from Describe, then binds binary.
    h.client(&[
        parse("q", "SELECT * FROM t WHERE id = $1 AND at > $2", &[]),
        describe(b'S', "q"),
        sync(),
    ]);
    h.server(&[
        empty(b'1'),
        parameter_description(&[oid::INT8, oid::DATE]),
        row_description(),
        ready(b'I'),
    ]);
    h.client(&[
        bind(
            "",
            "q",
            &[1],
            &[Some(&42i64.to_be_bytes()), Some(&0i32.to_be_bytes())],
        ),
        execute("", 0),
        sync(),
    ]);
    h.server(&[empty(b'2'), command_complete("SELECT 0"), ready(b'I')]);
    let events = h.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].params,
        [Some("42".to_owned()), Some("2000-01-01".to_owned())]
    );
    assert_eq!(events[0].rows, Some(0));
}

#[test]
fn portal_suspended_counts_rows_and_null_params() {
    let mut h = Harness::new();
    h.client(&[
        parse("", "SELECT g FROM generate_series(1, $1) g", &[oid::INT4]),
        bind("c", "", &[], &[None]),
        execute("c", 2),
        execute("c", 0),
        sync(),
    ]);
    h.server(&[
        empty(b'1'),
        empty(b'2'),
        data_row(&[b"1"]),
        data_row(&[b"2"]),
        empty(b's'),
        data_row(&[b"3"]),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    let events = h.events();
    assert_eq!(
        events.iter().map(|e| e.rows).collect::<Vec<_>>(),
        [Some(2), Some(1)]
    );
    assert_eq!(events[0].params, [None]);
}

#[test]
fn params_can_be_left_out() {
    let mut h = Harness::with(
        CaptureConfig {
            params: false,
            ..CaptureConfig::default()
        },
        8,
    );
    h.client(&[
        parse("", "SELECT $1", &[]),
        bind("", "", &[], &[Some(b"secret")]),
        execute("", 0),
        sync(),
    ]);
    h.server(&[
        empty(b'1'),
        empty(b'2'),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    let events = h.events();
    assert_eq!(events.len(), 1);
    assert!(events[0].params.is_empty());
}

#[test]
fn parameter_values_are_bounded() {
    let config = CaptureConfig {
        max_param_bytes: 4,
        max_params: 2,
        ..CaptureConfig::default()
    };
    let mut h = Harness::with(config, 8);
    h.client(&[
        parse("", "SELECT $1, $2, $3", &[]),
        bind("", "", &[], &[Some(b"abcdefgh"), Some(b"xy"), Some(b"z")]),
        execute("", 0),
        sync(),
    ]);
    h.server(&[
        empty(b'1'),
        empty(b'2'),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    assert_eq!(
        h.events()[0].params,
        [Some("abcd…".to_owned()), Some("xy".to_owned())]
    );
}

#[test]
fn closed_statements_and_finished_portals_are_forgotten() {
    let mut h = Harness::new();
    h.client(&[
        parse("s", "SELECT 1", &[]),
        bind("p", "s", &[], &[]),
        sync(),
    ]);
    h.server(&[empty(b'1'), empty(b'2'), ready(b'I')]);
    // The transaction ended, so portal "p" is gone: an Execute of it is not captured, but the
    // next batch still matches.
    h.client(&[
        execute("p", 0),
        sync(),
        close(b'S', "s"),
        bind("", "s", &[], &[]),
        execute("", 0),
        sync(),
    ]);
    h.server(&[
        error("ERROR", "34000", "portal \"p\" does not exist"),
        ready(b'I'),
    ]);
    h.server(&[
        empty(b'3'),
        error("ERROR", "26000", "prepared statement \"s\" does not exist"),
        ready(b'I'),
    ]);
    assert!(h.events().is_empty());
    h.client(&[query("SELECT 2")]);
    h.server(&select_one());
    assert_eq!(h.events()[0].sql, "SELECT 2");
}

#[test]
fn copy_through_a_simple_query() {
    let mut h = Harness::new();
    h.client(&[query("COPY t FROM STDIN")]);
    h.server(&[msg(b'G', &[0, 0, 0])]);
    h.client(&[msg(b'd', b"1\n"), msg(b'd', b"2\n"), msg(b'c', &[])]);
    h.server(&[command_complete("COPY 2"), ready(b'I')]);
    let events = h.events();
    assert_eq!((events.len(), events[0].rows), (1, Some(2)));
}

#[test]
fn function_calls_keep_the_queue_aligned() {
    let mut h = Harness::new();
    h.client(&[
        msg(b'F', &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        query("SELECT 1"),
    ]);
    h.server(&[msg(b'V', &[0, 0, 0, 0]), ready(b'I')]);
    h.server(&select_one());
    let events = h.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].sql, "SELECT 1");
}

#[test]
fn a_lost_server_fails_statements_in_flight() {
    let mut h = Harness::new();
    h.client(&[query("SELECT pg_sleep(10)")]);
    h.tracker.server_gone();
    let e = h.events();
    assert_eq!(e[0].error.as_deref(), Some("08006"));

    h.client(&[query("SELECT pg_sleep(10)")]);
    h.server(&[error(
        "FATAL",
        "57P01",
        "terminating connection due to administrator command",
    )]);
    assert!(h.tracker.server_fatal());
    // Captured at once: no ReadyForQuery follows a FATAL error.
    let e = h.events();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].error.as_deref(), Some("57P01"));
    assert_eq!(h.tracker.pending_len(), 0);
}

#[test]
fn a_full_channel_drops_and_counts() {
    let mut h = Harness::with(CaptureConfig::default(), 1);
    for _ in 0..3 {
        h.client(&[query("SELECT 1")]);
        h.server(&select_one());
    }
    let s = h.stats.snapshot();
    assert_eq!((s.statements_captured, s.events_dropped), (1, 2));
    assert_eq!(h.events().len(), 1);
}

#[test]
fn unbounded_pipelining_pauses_capture_until_the_server_catches_up() {
    let config = CaptureConfig {
        max_pending: 4,
        ..CaptureConfig::default()
    };
    let mut h = Harness::with(config, 64);
    for _ in 0..6 {
        h.client(&[query("SELECT 1")]);
    }
    assert_eq!(h.stats.snapshot().capture_pauses, 1);
    for _ in 0..6 {
        h.server(&select_one());
    }
    // Everything sent while paused is answered: capture is back and exact.
    h.client(&[query("SELECT 2")]);
    h.server(&select_one());
    let events = h.events();
    assert_eq!(events.last().map(|e| e.sql.as_str()), Some("SELECT 2"));
    assert_eq!(h.tracker.pending_len(), 0);
}

#[test]
fn truncated_messages_capture_their_beginning() {
    let mut h = Harness::new();
    h.tracker
        .frontend(b'Q', b"INSERT INTO t VALUES (1), (2", false);
    h.server(&[command_complete("INSERT 0 1000"), ready(b'I')]);
    h.tracker.frontend(b'P', b"big\0SELECT 'aaaa", false);
    h.client(&[bind("", "big", &[], &[]), execute("", 0), sync()]);
    h.server(&[
        empty(b'1'),
        empty(b'2'),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]);
    let events = h.events();
    assert_eq!(events[0].sql, "INSERT INTO t VALUES (1), (2…");
    assert_eq!(events[0].rows, Some(1000));
    assert_eq!(events[1].sql, "SELECT 'aaaa…");
}

#[test]
fn remembered_statements_are_bounded() {
    let config = CaptureConfig {
        max_statements: 2,
        max_statement_bytes: 20,
        ..CaptureConfig::default()
    };
    let mut h = Harness::with(config, 64);
    h.client(&[
        parse("a", "SELECT 1", &[]),
        parse("b", "SELECT 2", &[]),
        parse("c", "SELECT 3", &[]),
        parse("", "SELECT 'the unnamed one is always kept'", &[]),
    ]);
    h.server(&[empty(b'1'), empty(b'1'), empty(b'1'), empty(b'1')]);
    let run = |h: &mut Harness, name: &str| {
        h.client(&[bind("", name, &[], &[]), execute("", 0), sync()]);
        h.server(&[empty(b'2'), command_complete("SELECT 1"), ready(b'I')]);
        h.events().into_iter().map(|e| e.sql).collect::<Vec<_>>()
    };
    assert_eq!(run(&mut h, "a"), ["SELECT 1"]);
    assert!(
        run(&mut h, "c").is_empty(),
        "over both limits: not remembered"
    );
    assert_eq!(run(&mut h, ""), ["SELECT 'the unnamed one is always kept'"]);
    // Closing frees room; a statement over the byte budget is not remembered.
    h.client(&[
        close(b'S', "a"),
        sync(),
        parse("d", "SELECT 'far too long for the budget'", &[]),
        sync(),
    ]);
    h.server(&[empty(b'3'), ready(b'I'), empty(b'1'), ready(b'I')]);
    assert!(run(&mut h, "d").is_empty());
    h.client(&[parse("e", "SELECT 5", &[]), sync()]);
    h.server(&[empty(b'1'), ready(b'I')]);
    assert_eq!(run(&mut h, "e"), ["SELECT 5"]);
}
