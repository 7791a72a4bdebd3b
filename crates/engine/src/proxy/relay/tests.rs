//! Relay tests over in-memory pipes: bytes come out exactly as they went in, split however the
//! reads split them; large messages stream through a small buffer; bad lengths stop the pump.

use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
use tokio::sync::mpsc;

use super::{Direction, Pump, PumpError};
use crate::proxy::protocol::FrameError;
use crate::proxy::protocol::build::*;
use crate::proxy::stats::{Counter, ProxyStats};
use crate::proxy::tracker::{CaptureConfig, EventSink, Tracker};

fn tracker() -> (
    Mutex<Tracker>,
    mpsc::Receiver<persona_core::model::CaptureEvent>,
) {
    let (tx, rx) = mpsc::channel(1024);
    (
        Mutex::new(Tracker::new(
            CaptureConfig::default(),
            EventSink::new(tx, ProxyStats::default()),
        )),
        rx,
    )
}

/// Push `input` through a pump in chunks of `chunk` bytes; return what came out.
async fn relay(
    pump: &mut Pump,
    t: &Mutex<Tracker>,
    input: Vec<u8>,
    chunk: usize,
) -> (Vec<u8>, Result<(), PumpError>) {
    let (mut feed, mut pump_in) = duplex(64 * 1024);
    let (mut pump_out, mut drain) = duplex(64 * 1024);
    let writer = tokio::spawn(async move {
        for piece in input.chunks(chunk.max(1)) {
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
    let result = pump.run(&mut pump_in, &mut pump_out, t, &bytes).await;
    drop(pump_out);
    drop(pump_in);
    let _ = writer.await;
    (reader.await.unwrap(), result)
}

#[tokio::test]
async fn bytes_pass_unchanged_whatever_the_read_sizes() {
    let input = [
        query("SELECT 1"),
        parse("s", "SELECT $1", &[]),
        bind("", "s", &[], &[Some(b"x")]),
        execute("", 0),
        sync(),
        msg(b'X', &[]),
    ]
    .concat();
    for chunk in [1, 2, 3, 5, 7, 64, 4096] {
        let (t, _rx) = tracker();
        let mut pump = Pump::new(Direction::Frontend, 16, u32::MAX, 1 << 20);
        let (out, result) = relay(&mut pump, &t, input.clone(), chunk).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(out, input, "chunk size {chunk}");
        assert_eq!(
            t.lock().unwrap().pending_len(),
            5,
            "Query, Parse, Bind, Execute, Sync"
        );
    }
}

#[tokio::test]
async fn large_copy_data_streams_through_a_small_buffer() {
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let input = [
        query("COPY t FROM STDIN"),
        msg(b'd', &payload),
        msg(b'd', b"tail"),
        msg(b'c', &[]),
    ]
    .concat();
    let (t, _rx) = tracker();
    let mut pump = Pump::new(Direction::Frontend, 4096, u32::MAX, 1 << 20);
    let (out, result) = relay(&mut pump, &t, input.clone(), 10_000).await;
    assert!(result.is_ok());
    assert_eq!(out, input);
    assert_eq!(
        pump.buf.len(),
        4096,
        "CopyData was streamed, never gathered whole"
    );
    assert!(pump.at_boundary());
}

#[tokio::test]
async fn large_queries_are_gathered_up_to_the_inspection_limit() {
    let (t, mut rx) = tracker();
    let long = format!("SELECT '{}'", "a".repeat(50_000));
    let huge = format!("SELECT '{}'", "b".repeat(300_000));
    let input = [query(&long), query(&huge)].concat();
    let mut pump = Pump::new(Direction::Frontend, 4096, u32::MAX, 100_000);
    let (out, result) = relay(&mut pump, &t, input.clone(), 8192).await;
    assert!(result.is_ok());
    assert_eq!(out, input);
    assert_eq!(
        pump.buf.len(),
        4096,
        "the buffer shrinks back after a large message"
    );
    // Answer both so they become events: the first whole, the second cut short.
    let mut server = Pump::new(Direction::Backend, 4096, u32::MAX, 100_000);
    let answers = [
        command_complete("SELECT 1"),
        ready(b'I'),
        command_complete("SELECT 1"),
        ready(b'I'),
    ]
    .concat();
    let (_, result) = relay(&mut server, &t, answers, 4096).await;
    assert!(result.is_ok());
    let first = rx.try_recv().unwrap();
    let second = rx.try_recv().unwrap();
    assert_eq!(first.sql, long);
    assert!(second.sql.starts_with("SELECT 'bbbb") && second.sql.ends_with('…'));
    assert!(second.sql.len() < huge.len());
}

#[tokio::test]
async fn bad_lengths_stop_the_pump_after_forwarding_nothing_of_them() {
    let (t, _rx) = tracker();
    let mut pump = Pump::new(Direction::Frontend, 1024, 1000, 1 << 20);
    let input = [query("SELECT 1"), b"Q\x00\x00\x00\x02".to_vec()].concat();
    let (out, result) = relay(&mut pump, &t, input, 4096).await;
    assert!(
        matches!(
            result,
            Err(PumpError::Frame(FrameError::TooShort { tag: b'Q', len: 2 }))
        ),
        "{result:?}"
    );
    assert!(
        out.is_empty(),
        "nothing of a read holding a bad frame is forwarded: {out:?}"
    );

    let mut pump = Pump::new(Direction::Frontend, 1024, 1000, 1 << 20);
    let (_, result) = relay(&mut pump, &t, b"d\x00\x00\x03\xe9".to_vec(), 4096).await;
    assert!(matches!(
        result,
        Err(PumpError::Frame(FrameError::TooLong {
            len: 1001,
            max: 1000,
            ..
        }))
    ));
}

#[tokio::test]
async fn leftover_bytes_from_startup_are_relayed_first() {
    let (t, _rx) = tracker();
    let mut pump = Pump::new(Direction::Frontend, 1024, u32::MAX, 1 << 20);
    let (mut a, mut b) = duplex(1024);
    let first = [b"startup!".to_vec(), query("SELECT 1")].concat();
    a.write_all(&first).await.unwrap();
    assert!(pump.fill_to(&mut b, first.len()).await.unwrap());
    assert_eq!(pump.buffered(), &first[..]);
    pump.consume(8);
    let (out, result) = relay(&mut pump, &t, query("SELECT 2"), 4096).await;
    assert!(result.is_ok());
    assert_eq!(out, [query("SELECT 1"), query("SELECT 2")].concat());
}
