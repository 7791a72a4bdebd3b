//! Property tests over arbitrary bytes: the framer, every decoder and the capture tracker must
//! never panic, and the relay must forward exactly the whole frames it was given, however the
//! bytes are split. `long_fuzz_run` (ignored by default) runs many more cases:
//! `PERSONA_FUZZ_CASES=200000 cargo test -p persona-engine --lib proxy::fuzz -- --ignored`.

use std::sync::Mutex;

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
use tokio::sync::mpsc;

use super::protocol::params::oid;
use super::protocol::{completion, error_response, extended, params, parse_header, query, startup};
use super::relay::{Direction, Pump};
use super::stats::{Counter, ProxyStats};
use super::tracker::{CaptureConfig, EventSink, Tracker};

/// Every decoder on one body; returns nothing, must not panic.
fn decode_everything(body: &[u8]) {
    let _ = parse_header(body, 1 << 20);
    let _ = startup::packet_len(body);
    let _ = startup::decode(body);
    let _ = query::sql(body);
    if let Ok(p) = extended::parse(body) {
        let _ = p.param_types().count();
    }
    let _ = extended::parse_prefix(body);
    if let Ok(b) = extended::bind(body) {
        for i in 0..b.param_count() + 2 {
            let _ = b.format(i);
        }
        let _ = b.params().count();
    }
    let _ = extended::bind_names(body);
    let _ = extended::execute(body);
    let _ = extended::target(body);
    let _ = completion::command_rows(body);
    let _ = completion::ready_status(body);
    let _ = completion::parameter_types(body);
    let _ = completion::backend_key(body);
    let f = error_response::fields(body);
    let _ = (f.is_fatal(), f.code_str());
}

const OIDS: [u32; 24] = [
    0,
    oid::BOOL,
    oid::BYTEA,
    oid::CHAR,
    oid::NAME,
    oid::INT8,
    oid::INT2,
    oid::INT4,
    oid::TEXT,
    oid::OID,
    oid::JSON,
    oid::XML,
    oid::FLOAT4,
    oid::FLOAT8,
    oid::UNKNOWN,
    oid::BPCHAR,
    oid::VARCHAR,
    oid::DATE,
    oid::TIME,
    oid::TIMESTAMP,
    oid::TIMESTAMPTZ,
    oid::NUMERIC,
    oid::UUID,
    oid::JSONB,
];

/// Parameter rendering never panics and stays within its budget (plus the `…` marker).
fn render_everything(value: &[u8], max: usize) {
    for format in [0i16, 1, 2, -1] {
        for oid in OIDS {
            if let Some(s) = params::render(format, oid, Some(value), max) {
                assert!(
                    s.len() <= max.max(2) + 3,
                    "{oid}/{format}: {} > {max}",
                    s.len()
                );
            }
        }
    }
}

/// A message for the tracker: direction, type byte (mostly meaningful ones), body, whole or cut.
fn tracker_input() -> impl Strategy<Value = (bool, u8, Vec<u8>, bool)> {
    let tags = prop::sample::select(b"QPBEDCSHFXdcfpKZCEIs123tTnDNAGHWRSV\x00\xff".to_vec());
    (
        any::<bool>(),
        tags,
        prop::collection::vec(any::<u8>(), 0..64),
        prop::bool::weighted(0.9),
    )
}

/// A valid message from one direction with a small body.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    let tags = prop::sample::select(b"QPBEDCSdcZTtKIs12".to_vec());
    (tags, prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(tag, body)| {
        let mut out = vec![tag];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(&body);
        out
    })
}

fn new_tracker(
    max_pending: usize,
) -> (
    Mutex<Tracker>,
    mpsc::Receiver<persona_core::model::CaptureEvent>,
) {
    let (tx, rx) = mpsc::channel(64);
    let config = CaptureConfig {
        max_pending,
        max_statements: 8,
        ..CaptureConfig::default()
    };
    (
        Mutex::new(Tracker::new(
            config,
            EventSink::new(tx, ProxyStats::default()),
        )),
        rx,
    )
}

/// Relay `input` (split into `chunks`) through a pump; returns (output, ended cleanly).
fn relay(
    dir: Direction,
    input: &[u8],
    chunk: usize,
    buffer: usize,
    inspect: usize,
) -> (Vec<u8>, bool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (t, _rx) = new_tracker(16);
        let mut pump = Pump::new(dir, buffer, 1 << 20, inspect);
        let (mut feed, mut pump_in) = duplex(1 << 16);
        let (mut pump_out, mut drain) = duplex(1 << 16);
        let owned = input.to_vec();
        let writer = tokio::spawn(async move {
            for piece in owned.chunks(chunk.max(1)) {
                if feed.write_all(piece).await.is_err() {
                    break;
                }
            }
        });
        let reader = tokio::spawn(async move {
            let mut out = Vec::new();
            let _ = drain.read_to_end(&mut out).await;
            out
        });
        let bytes = Counter::default();
        let ok = pump
            .run(&mut pump_in, &mut pump_out, &t, &bytes)
            .await
            .is_ok();
        drop(pump_out);
        drop(pump_in);
        let _ = writer.await;
        (reader.await.unwrap(), ok)
    })
}

proptest! {
    #[test]
    fn decoders_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        decode_everything(&body);
    }

    #[test]
    fn parameter_rendering_is_bounded(value in prop::collection::vec(any::<u8>(), 0..96), max in 0usize..48) {
        render_everything(&value, max);
    }

    #[test]
    fn the_tracker_survives_any_conversation(
        messages in prop::collection::vec(tracker_input(), 0..80),
        max_pending in 1usize..12,
    ) {
        let (t, _rx) = new_tracker(max_pending);
        let mut t = t.into_inner().unwrap();
        for (frontend, tag, body, complete) in messages {
            if frontend {
                t.frontend(tag, &body, complete);
            } else {
                t.backend(tag, &body, complete);
            }
            prop_assert!(t.pending_len() <= max_pending);
        }
        t.server_gone();
        prop_assert_eq!(t.pending_len(), 0);
    }

    #[test]
    fn whole_frames_pass_unchanged(
        frames in prop::collection::vec(frame(), 0..24),
        chunk in 1usize..2000,
        buffer in 16usize..1024,
        inspect in 0usize..2048,
        backend in any::<bool>(),
    ) {
        let input = frames.concat();
        let dir = if backend { Direction::Backend } else { Direction::Frontend };
        let (out, ok) = relay(dir, &input, chunk, buffer, inspect);
        prop_assert!(ok);
        prop_assert_eq!(out, input);
    }

    #[test]
    fn arbitrary_bytes_forward_a_prefix(
        input in prop::collection::vec(any::<u8>(), 0..3000),
        chunk in 1usize..700,
        buffer in 16usize..512,
        backend in any::<bool>(),
    ) {
        let dir = if backend { Direction::Backend } else { Direction::Frontend };
        let (out, _) = relay(dir, &input, chunk, buffer, 256);
        prop_assert!(input.starts_with(&out), "the pump forwards only what it was given, in order");
    }
}

/// The long run: the same properties with many more cases (default 20,000 each; set
/// `PERSONA_FUZZ_CASES`). Prints how long it took.
#[test]
#[ignore = "long fuzz run; run with --ignored"]
fn long_fuzz_run() {
    let cases: u32 = std::env::var("PERSONA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let started = std::time::Instant::now();
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config.clone());
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..2048), |body| {
            decode_everything(&body);
            render_everything(&body, 40);
            Ok(())
        })
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config.clone());
    runner
        .run(
            &(prop::collection::vec(tracker_input(), 0..200), 1usize..40),
            |(messages, max_pending)| {
                let (t, _rx) = new_tracker(max_pending);
                let mut t = t.into_inner().unwrap();
                for (frontend, tag, body, complete) in messages {
                    if frontend {
                        t.frontend(tag, &body, complete);
                    } else {
                        t.backend(tag, &body, complete);
                    }
                    prop_assert!(t.pending_len() <= max_pending);
                }
                Ok(())
            },
        )
        .unwrap();
    let relay_cases = ProptestConfig {
        cases: cases / 4,
        ..config
    };
    let mut runner = proptest::test_runner::TestRunner::new(relay_cases);
    runner
        .run(
            &(
                prop::collection::vec(frame(), 0..40),
                1usize..3000,
                16usize..2048,
                any::<bool>(),
            ),
            |(frames, chunk, buffer, backend)| {
                let input = frames.concat();
                let dir = if backend {
                    Direction::Backend
                } else {
                    Direction::Frontend
                };
                let (out, ok) = relay(dir, &input, chunk, buffer, 512);
                prop_assert!(ok);
                prop_assert_eq!(out, input);
                Ok(())
            },
        )
        .unwrap();
    eprintln!(
        "long fuzz run: {cases} cases per property in {:.1?}",
        started.elapsed()
    );
}
