//! Stored captures: flushes add up exactly (one after another and from two writers at once),
//! bounds, listing, loading and deleting. Every test runs on SQLite, and on PostgreSQL when
//! `PERSONA_TEST_PG_URL` is set (each in its own scratch database).

use std::time::Duration;

use persona_core::Dialect;
use persona_core::analysis::recorder::{CaptureRecorder, RecorderConfig, item_windows};
use persona_core::analysis::rules::ItemKind;
use persona_core::model::CaptureEvent;
use sqlx::AssertSqlSafe;

use super::*;
use crate::testing::TestDb;

const T0: i64 = 1_700_000_000_000_000;

/// A day of a small shop, compressed: seven sessions, bursts of related statements, explicit
/// transactions, failures and a statement touching no table.
fn workload(n: i64) -> Vec<CaptureEvent> {
    (0..n)
        .map(|i| {
            let session = i % 7;
            let burst = i / 21;
            let at = T0 + burst * 5_000_000 + (i % 21) * 1_000;
            let sql = match (i / 7) % 3 {
                _ if session == 6 && i % 2 == 0 => "BEGIN".to_owned(),
                _ if session == 6 => format!("UPDATE stock SET n = n - 1 WHERE sku = 's{i}'"),
                0 => format!("SELECT * FROM customers WHERE id = {i}"),
                1 => format!("SELECT * FROM orders WHERE customer_id = {i} ORDER BY placed_at"),
                _ if i % 5 == 0 => "SELECT 1".to_owned(),
                _ => format!("INSERT INTO audit (what, at) VALUES ('viewed {i}', {at})"),
            };
            let mut e = CaptureEvent::single(
                CaptureSource::Proxy,
                at,
                sql,
                Duration::from_micros((i as u64 * 37) % 5_000 + 50),
            );
            e.session = Some(format!("pid{session}"));
            e.rows = Some(i as u64 % 10);
            if i % 13 == 0 {
                e.error = Some("40001".to_owned());
            }
            e
        })
        .collect()
}

/// One recorder over `events`, finished.
fn delta_of<'a>(events: impl IntoIterator<Item = &'a CaptureEvent>) -> CaptureDelta {
    let mut recorder = CaptureRecorder::new(RecorderConfig::default());
    for e in events {
        recorder.record(e);
    }
    recorder.finish()
}

fn sorted_items(store: &PatternStore, windows: &Windows) -> Vec<Vec<String>> {
    let mut items = item_windows(store, windows, ItemKind::Table, None).transactions;
    items.sort();
    items
}

/// Two writers, each serving its own sessions, flush one after the other: the stored capture
/// equals one recorder that saw everything.
async fn flushes_add_up_exactly(reg: &Registry) {
    let events = workload(600);
    let everything = delta_of(&events);
    let session = |e: &&CaptureEvent| e.session.as_deref().is_some_and(|s| s < "pid4");
    let mut first = delta_of(events.iter().filter(session));
    let second = delta_of(events.iter().filter(|e| !session(e)));
    first.dropped_events = 3;
    assert_ne!(first.store, everything.store);

    let info = reg
        .flush_capture("shop", CaptureSource::Proxy, &first)
        .await
        .unwrap();
    assert_eq!((info.flushes, info.dropped_events), (1, 3));
    assert_eq!(info.patterns, first.store.len() as u64);
    let info = reg
        .flush_capture("shop", CaptureSource::Proxy, &second)
        .await
        .unwrap();
    assert_eq!(info.flushes, 2);

    let loaded = reg.load_capture("shop").await.unwrap();
    assert_eq!(loaded.store, everything.store, "merged exactly");
    assert_eq!(loaded.info, info);
    assert_eq!(info.source, CaptureSource::Proxy);
    assert_eq!(info.events, 600);
    assert_eq!(info.calls, everything.store.total_calls());
    assert_eq!(info.patterns, everything.store.len() as u64);
    assert_eq!(info.dropped_events, 3);
    assert_eq!(
        info.windows as usize,
        first.windows.transactions.len() + second.windows.transactions.len()
    );
    assert_eq!(
        loaded.windows.transactions[..first.windows.transactions.len()],
        first.windows.transactions[..],
        "windows in flush order"
    );
    assert_eq!(
        sorted_items(&loaded.store, &loaded.windows),
        sorted_items(&everything.store, &everything.windows)
    );
    assert!(
        sorted_items(&loaded.store, &loaded.windows)
            .contains(&vec!["customers".to_owned(), "orders".to_owned()])
    );

    // An empty flush changes no statistics.
    let empty = CaptureDelta::new(StoreConfig::default());
    let info = reg
        .flush_capture("shop", CaptureSource::Proxy, &empty)
        .await
        .unwrap();
    assert_eq!((info.flushes, info.events), (3, 600));
    assert_eq!(
        reg.load_capture("shop").await.unwrap().store,
        everything.store
    );
}

/// Two registry handles (two processes) flush into one capture at the same time.
async fn concurrent_writers_add_up(url: &str) {
    let (a, b) = (
        Registry::open(Some(url)).await.unwrap(),
        Registry::open(Some(url)).await.unwrap(),
    );
    let events = workload(800);
    let everything = delta_of(&events);
    let parts: Vec<CaptureDelta> = events.chunks(100).map(delta_of).collect();
    let write = |reg: Registry, deltas: Vec<CaptureDelta>| async move {
        for d in &deltas {
            reg.flush_capture("fleet", CaptureSource::Proxy, d)
                .await
                .unwrap();
        }
    };
    let (even, odd): (Vec<_>, Vec<_>) =
        parts.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    tokio::join!(
        write(a.clone(), even.into_iter().map(|(_, d)| d).collect()),
        write(b.clone(), odd.into_iter().map(|(_, d)| d).collect()),
    );
    let loaded = a.load_capture("fleet").await.unwrap();
    assert_eq!(loaded.store, everything.store);
    assert_eq!(loaded.info.flushes, 8);
    a.close().await;
    b.close().await;
}

/// The store's pattern bound applies over the stored patterns as a merge in memory applies it;
/// windows beyond the bound go, oldest first.
async fn bounds_hold(reg: &Registry) {
    let config = StoreConfig {
        max_patterns: 3,
        ..StoreConfig::default()
    };
    let store_of = |calls: &[(&str, i64)]| {
        let mut store = PatternStore::new(config);
        for (table, n) in calls {
            for i in 0..*n {
                store.record(&CaptureEvent::single(
                    CaptureSource::Proxy,
                    T0 + i,
                    format!("SELECT * FROM {table} WHERE id = {i}"),
                    Duration::from_millis(1),
                ));
            }
        }
        store
    };
    let first = store_of(&[("a", 5), ("b", 1), ("c", 3)]);
    let second = store_of(&[("d", 4), ("b", 1), ("e", 2)]);
    let mut expected = first.clone();
    expected.merge(&second);
    assert_eq!(expected.evictions().0, 2, "the merge evicted b and e");

    let window = |w: &str| vec![w.to_owned()];
    let mut delta = CaptureDelta::new(config);
    delta.store = first;
    delta.windows.transactions = vec![window("w1"), window("w2"), window("w3")];
    reg.flush_capture_bounded("bounded", CaptureSource::Proxy, &delta, 4)
        .await
        .unwrap();
    delta.store = second;
    delta.windows.transactions = vec![window("w4"), window("w5"), window("w6")];
    let info = reg
        .flush_capture_bounded("bounded", CaptureSource::Proxy, &delta, 4)
        .await
        .unwrap();
    let loaded = reg.load_capture("bounded").await.unwrap();
    assert_eq!(loaded.store, expected);
    assert_eq!((info.patterns, info.evicted_patterns), (3, 2));
    assert_eq!(
        loaded.windows.transactions,
        [window("w3"), window("w4"), window("w5"), window("w6")]
    );
    assert_eq!(info.windows, 4);

    // A delta with more windows than the bound keeps its newest, and says so.
    let mut many = CaptureDelta::new(config);
    many.windows.transactions = (0..6).map(|i| window(&format!("x{i}"))).collect();
    let info = reg
        .flush_capture_bounded("many", CaptureSource::Proxy, &many, 4)
        .await
        .unwrap();
    assert_eq!((info.windows, info.dropped_windows), (4, 2));
    let loaded = reg.load_capture("many").await.unwrap();
    assert_eq!(loaded.windows.transactions[0], window("x2"));
}

async fn names_listing_and_deletion(reg: &Registry) {
    let err = reg.load_capture("proxy").await.unwrap_err();
    assert!(
        err.to_string().contains("there are no captures yet"),
        "{err}"
    );
    let delta = delta_of(&workload(50));
    for name in ["zeta", "alpha"] {
        reg.flush_capture(name, CaptureSource::Proxy, &delta)
            .await
            .unwrap();
    }
    let names: Vec<String> = reg
        .list_captures()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);
    let err = reg.load_capture("proxy").await.unwrap_err();
    assert!(
        matches!(&err, RegistryError::CaptureNotFound { known, .. } if known == &names),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("(captures: alpha, zeta)"),
        "{err}"
    );
    for bad in ["", " padded", "tab\there"] {
        let err = reg
            .flush_capture(bad, CaptureSource::Proxy, &delta)
            .await
            .unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidCaptureName { .. }),
            "{bad:?}: {err}"
        );
    }
    let deleted = reg.delete_capture("zeta").await.unwrap();
    assert_eq!(deleted.patterns, delta.store.len() as u64);
    assert_eq!(deleted.calls, delta.store.total_calls());
    assert!(matches!(
        reg.delete_capture("zeta").await.unwrap_err(),
        RegistryError::CaptureNotFound { .. }
    ));
    let left = reg.list_captures().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "alpha");
    // Nothing of the deleted capture is left behind.
    on_backend!(reg, pool => {
        for table in ["capture_patterns", "capture_windows"] {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table} WHERE capture = 'zeta'"
            )))
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(n, 0, "{table}");
        }
    });
}

fn temp_sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("registry.db").display());
    (dir, url)
}

#[tokio::test]
async fn sqlite_captures() {
    let (_dir, url) = temp_sqlite();
    let reg = Registry::open(Some(&url)).await.unwrap();
    flushes_add_up_exactly(&reg).await;
    bounds_hold(&reg).await;
    reg.close().await;
    // What was flushed survives a reopen.
    let again = Registry::open(Some(&url)).await.unwrap();
    assert_eq!(again.load_capture("shop").await.unwrap().info.events, 600);
    again.close().await;

    let (_dir, url) = temp_sqlite();
    let reg = Registry::open(Some(&url)).await.unwrap();
    names_listing_and_deletion(&reg).await;
    reg.close().await;
}

#[tokio::test]
async fn sqlite_concurrent_writers() {
    let (_dir, url) = temp_sqlite();
    concurrent_writers_add_up(&url).await;
}

#[tokio::test]
async fn postgres_captures() {
    let Some(test) = TestDb::new(Dialect::Postgres).await else {
        return;
    };
    let reg = Registry::open(Some(&test.url)).await.unwrap();
    names_listing_and_deletion(&reg).await;
    flushes_add_up_exactly(&reg).await;
    bounds_hold(&reg).await;
    reg.close().await;
    concurrent_writers_add_up(&test.url).await;
    test.cleanup().await;
}
