//! The live capture recorder: turns a stream of captured events into deltas to ship, each a
//! [`PatternStore`] of what ran since the last delta plus co-access windows of pattern
//! fingerprints, so that a long-running capture (the proxy) can save its work every few seconds
//! and several captures can add up into one stored capture. [`item_windows`] turns stored
//! fingerprint windows back into windows of items (tables or filter columns) for the
//! [`snapshot`](super::snapshot), once the schema and the item kind are known.
//!
//! # Windows
//!
//! Windows are cut with [`session_windows`], as a snapshot cuts them from events, but their items
//! are the fingerprints of the statements that touch a table (so the same windows serve any
//! [`ItemKind`] and any schema later). A session still active when a delta is taken (its last
//! statement within the idle gap, or inside an open transaction, and its held statements
//! spanning less than the longest window) keeps its statements for the next delta, so a flush
//! does not split its window. Held statements are bounded ([`RecorderConfig::max_pending`]):
//! at the bound every session is cut at once. They are kept small (24 bytes each: time,
//! fingerprint, whether it failed or controls a transaction) and turned back into events one
//! session at a time when cut.
//!
//! A delta that could not be shipped is given back with [`CaptureRecorder::restore`] and
//! merged, exactly, with what arrived meanwhile; its windows are bounded
//! ([`RecorderConfig::max_windows`], the oldest dropped and counted).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::fingerprint::{Fingerprint, fingerprint_as};
use super::rules::{
    Boundary, ItemKind, WindowConfig, Windows, session_windows, statement_items,
    transaction_boundary,
};
use super::store::{PatternStore, StoreConfig, StoreCounters, source_flavor};
use super::structure::StatementShape;
use crate::model::{CaptureEvent, CaptureSource, Schema};

/// Bounds and settings of a recorder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecorderConfig {
    /// The bounds of each delta's pattern store.
    pub store: StoreConfig,
    /// How session statements are grouped into windows.
    pub window: WindowConfig,
    /// Most session statements held for windows not cut yet (at least 1; 24 bytes each).
    pub max_pending: usize,
    /// Most windows a delta keeps (the oldest go first).
    pub max_windows: usize,
    /// Most fingerprints remembered as touching a table or not (at least 1).
    pub max_known_shapes: usize,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            store: StoreConfig::default(),
            window: WindowConfig::default(),
            max_pending: 16_384,
            max_windows: 10_000,
            max_known_shapes: 100_000,
        }
    }
}

/// What a capture adds between two shipments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaptureDelta {
    /// Statistics of every statement recorded.
    pub store: PatternStore,
    /// Windows of pattern fingerprints (each window's fingerprints sorted and distinct);
    /// `without_session` counts the events that had no session.
    pub windows: Windows,
    /// Events lost before they reached the recorder (e.g. a full channel), as the caller counts.
    pub dropped_events: u64,
    /// Windows dropped at [`RecorderConfig::max_windows`].
    pub dropped_windows: u64,
}

impl CaptureDelta {
    /// An empty delta whose store has `config`'s bounds.
    pub fn new(config: StoreConfig) -> Self {
        CaptureDelta {
            store: PatternStore::new(config),
            ..CaptureDelta::default()
        }
    }

    /// Whether shipping this delta would change nothing.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
            && self.store.counters() == StoreCounters::default()
            && self.windows.transactions.is_empty()
            && self.windows.without_session == 0
            && self.dropped_events == 0
            && self.dropped_windows == 0
    }

    /// Add a later delta: the stores merge exactly, windows are appended (at most `max_windows`
    /// kept, the oldest dropped and counted), counters add up.
    pub fn absorb(&mut self, later: CaptureDelta, max_windows: usize) {
        self.store.merge(&later.store);
        self.windows.transactions.extend(later.windows.transactions);
        self.windows.without_session = self
            .windows
            .without_session
            .saturating_add(later.windows.without_session);
        self.dropped_events = self.dropped_events.saturating_add(later.dropped_events);
        self.dropped_windows = self.dropped_windows.saturating_add(later.dropped_windows);
        self.bound_windows(max_windows);
    }

    fn bound_windows(&mut self, max_windows: usize) {
        let excess = self.windows.transactions.len().saturating_sub(max_windows);
        if excess > 0 {
            self.windows.transactions.drain(..excess);
            self.dropped_windows = self.dropped_windows.saturating_add(excess as u64);
        }
    }
}

/// A session statement held for its window: what [`session_windows`] needs of it.
#[derive(Debug, Clone, Copy)]
struct Held {
    at: i64,
    fingerprint: Fingerprint,
    /// Transaction control (`BEGIN`, `COMMIT`, …), if it is.
    boundary: Option<Boundary>,
    failed: bool,
}

impl Held {
    /// The statement as an event again: its text is its fingerprint, or a canonical
    /// transaction-control statement.
    fn event(&self, session: &str) -> CaptureEvent {
        let sql = match self.boundary {
            Some(Boundary::Begin) => "BEGIN".to_owned(),
            Some(Boundary::End) => "COMMIT".to_owned(),
            None => self.fingerprint.to_string(),
        };
        let mut e = CaptureEvent::single(CaptureSource::Proxy, self.at, sql, Duration::ZERO);
        e.session = Some(session.to_owned());
        e.error = self.failed.then(String::new);
        e
    }
}

/// Records events into deltas. See the [module docs](self).
#[derive(Debug)]
pub struct CaptureRecorder {
    config: RecorderConfig,
    delta: CaptureDelta,
    /// Session statements not cut into windows yet, by session.
    pending: HashMap<String, Vec<Held>>,
    /// How many statements `pending` holds.
    pending_len: usize,
    /// Whether each fingerprint's statement touches a table (and so belongs in a window).
    tabled: HashMap<Fingerprint, bool>,
}

impl CaptureRecorder {
    pub fn new(config: RecorderConfig) -> Self {
        CaptureRecorder {
            delta: CaptureDelta::new(config.store),
            config,
            pending: HashMap::new(),
            pending_len: 0,
            tabled: HashMap::new(),
        }
    }

    pub fn config(&self) -> &RecorderConfig {
        &self.config
    }

    /// The delta being built (windows of held sessions not cut yet).
    pub fn delta(&self) -> &CaptureDelta {
        &self.delta
    }

    /// Session statements held for windows.
    pub fn pending(&self) -> usize {
        self.pending_len
    }

    /// Add one event.
    pub fn record(&mut self, e: &CaptureEvent) {
        let fp = fingerprint_as(&e.sql, source_flavor(e.source));
        self.delta.store.record_as(fp, e);
        if e.calls == 0 {
            return;
        }
        let Some(session) = &e.session else {
            self.delta.windows.without_session += 1;
            return;
        };
        let boundary = transaction_boundary(&e.sql);
        if boundary.is_none() {
            self.note_shape(fp);
        }
        let held = Held {
            at: e.at,
            fingerprint: fp,
            boundary,
            failed: e.error.is_some(),
        };
        match self.pending.get_mut(session.as_str()) {
            Some(list) => list.push(held),
            None => {
                self.pending.insert(session.clone(), vec![held]);
            }
        }
        self.pending_len += 1;
        if self.pending_len >= self.config.max_pending.max(1) {
            self.cut(None);
        }
    }

    /// Take the delta built so far, cutting the windows of every session not active at `now_us`
    /// (µs since the Unix epoch); a new delta starts.
    pub fn take(&mut self, now_us: i64) -> CaptureDelta {
        self.cut(Some(now_us));
        self.replace_delta()
    }

    /// Take the delta built so far with every session's windows cut (at the end of a capture).
    pub fn finish(&mut self) -> CaptureDelta {
        self.cut(None);
        self.replace_delta()
    }

    /// Give back a delta that could not be shipped: it is merged with what arrived since.
    pub fn restore(&mut self, earlier: CaptureDelta) {
        let later = std::mem::replace(&mut self.delta, earlier);
        self.delta.absorb(later, self.config.max_windows);
    }

    fn replace_delta(&mut self) -> CaptureDelta {
        std::mem::replace(&mut self.delta, CaptureDelta::new(self.config.store))
    }

    /// Remember whether `fp`'s statement touches a table (parsed once per shape).
    fn note_shape(&mut self, fp: Fingerprint) {
        if self.tabled.contains_key(&fp) {
            return;
        }
        if self.tabled.len() >= self.config.max_known_shapes.max(1) {
            // Shapes of held statements are looked up again when cut (unknown ones count as
            // touching a table).
            self.tabled.clear();
        }
        let tabled = self
            .delta
            .store
            .shape(fp, None)
            .is_none_or(|s| !s.tables.is_empty());
        self.tabled.insert(fp, tabled);
    }

    /// Cut held statements into windows: those of sessions settled at `now` (all when `None`).
    /// Sessions are cut one at a time, in name order (as [`session_windows`] orders them).
    fn cut(&mut self, now: Option<i64>) {
        if self.pending_len == 0 {
            return;
        }
        let mut settled: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, held)| now.is_none_or(|now| !self.is_active(held, now)))
            .map(|(session, _)| session.clone())
            .collect();
        settled.sort_unstable();
        for session in settled {
            let Some(held) = self.pending.remove(&session) else {
                continue;
            };
            self.pending_len -= held.len();
            let events: Vec<CaptureEvent> = held.iter().map(|h| h.event(&session)).collect();
            let tabled = &self.tabled;
            let windows = session_windows(&events, &self.config.window, |text| {
                match text.parse::<Fingerprint>() {
                    Ok(fp) if tabled.get(&fp).copied().unwrap_or(true) => vec![text.to_owned()],
                    _ => Vec::new(),
                }
            });
            self.delta.windows.transactions.extend(windows.transactions);
        }
        self.delta.bound_windows(self.config.max_windows);
        if self.pending.is_empty() {
            // Give back the memory a burst of sessions took.
            self.pending = HashMap::new();
        }
    }

    /// Whether a session holding `held` may still extend its last window at `now`: its last
    /// statement is within the idle gap (or inside an open transaction) and what it holds spans
    /// less than the longest window.
    fn is_active(&self, held: &[Held], now: i64) -> bool {
        let w = &self.config.window;
        let first = held.iter().map(|h| h.at).min().unwrap_or(now);
        let last = held.iter().map(|h| h.at).max().unwrap_or(now);
        let in_tx = w.split_on_transactions
            && held
                .iter()
                .filter(|h| h.boundary.is_some())
                .max_by_key(|h| h.at)
                .is_some_and(|h| h.boundary == Some(Boundary::Begin));
        now.saturating_sub(first) < w.max_span_us
            && (now.saturating_sub(last) <= w.max_gap_us || in_tx)
    }
}

/// Windows of pattern fingerprints (as a [`CaptureRecorder`] cuts them) turned into windows of
/// items of `kind`, each statement's items taken from `store`'s shapes parsed against `schema`.
/// Fingerprints the store no longer holds (evicted) add nothing; windows left empty are dropped.
pub fn item_windows(
    store: &PatternStore,
    windows: &Windows,
    kind: ItemKind,
    schema: Option<&Schema>,
) -> Windows {
    let shapes: HashMap<Fingerprint, Arc<StatementShape>> = store
        .shapes(schema)
        .into_iter()
        .map(|(p, s)| (p.fingerprint, s))
        .collect();
    let mut items_of: HashMap<&str, Vec<String>> = HashMap::new();
    let mut transactions = Vec::with_capacity(windows.transactions.len());
    for window in &windows.transactions {
        let mut items = BTreeSet::new();
        for text in window {
            let found = items_of.entry(text.as_str()).or_insert_with(|| {
                text.parse::<Fingerprint>()
                    .ok()
                    .and_then(|fp| shapes.get(&fp))
                    .map(|shape| statement_items(shape, kind))
                    .unwrap_or_default()
            });
            items.extend(found.iter().cloned());
        }
        if !items.is_empty() {
            transactions.push(items.into_iter().collect());
        }
    }
    Windows {
        transactions,
        without_session: windows.without_session,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fingerprint::fingerprint;
    use crate::model::CaptureSource;

    const T0: i64 = 1_700_000_000_000_000;
    const MS: i64 = 1_000;

    fn ev(session: Option<&str>, at: i64, sql: &str) -> CaptureEvent {
        let mut e = CaptureEvent::single(CaptureSource::Proxy, at, sql, Duration::from_micros(300));
        e.session = session.map(str::to_owned);
        e.params = vec![Some("42".into())];
        e
    }

    /// Three kinds of sessions over a few minutes: short bursts, explicit transactions with
    /// pauses inside, and long-running ones; plus a statement touching no table and events
    /// without a session.
    fn workload() -> Vec<CaptureEvent> {
        let mut events = Vec::new();
        for burst in 0..12_i64 {
            let start = T0 + burst * 7_000 * MS;
            let s = format!("web{}", burst % 3);
            events.push(ev(Some(&s), start, "SELECT 1"));
            events.push(ev(
                Some(&s),
                start + 2 * MS,
                &format!("SELECT * FROM customers WHERE id = {burst}"),
            ));
            events.push(ev(
                Some(&s),
                start + 4 * MS,
                &format!("SELECT * FROM orders WHERE customer_id = {burst}"),
            ));
            if burst % 4 == 0 {
                let t = format!("tx{burst}");
                events.push(ev(Some(&t), start, "BEGIN"));
                events.push(ev(
                    Some(&t),
                    start + 10 * MS,
                    "UPDATE stock SET n = n - 1 WHERE sku = 'a'",
                ));
                // A pause longer than the idle gap inside the transaction.
                events.push(ev(
                    Some(&t),
                    start + 3_500 * MS,
                    "INSERT INTO audit (what) VALUES ('sold')",
                ));
                events.push(ev(Some(&t), start + 3_600 * MS, "COMMIT"));
            }
            let mut failed = ev(Some(&s), start + 5 * MS, "SELECT * FROM nope");
            failed.error = Some("42P01".into());
            events.push(failed);
            events.push(ev(None, start, "SELECT * FROM products WHERE id = 1"));
        }
        events.sort_by_key(|e| e.at);
        events
    }

    fn table_windows(store: &PatternStore, events: &[CaptureEvent]) -> Vec<Vec<String>> {
        let mut w = session_windows(events, &WindowConfig::default(), |sql| {
            let fp = fingerprint_as(sql, source_flavor(CaptureSource::Proxy));
            store
                .shape(fp, None)
                .map(|s| statement_items(&s, ItemKind::Table))
                .unwrap_or_default()
        })
        .transactions;
        w.sort();
        w
    }

    #[test]
    fn deltas_taken_while_sessions_run_add_up_to_one_pass_over_every_event() {
        let events = workload();
        let mut all = PatternStore::new(StoreConfig::default());
        all.record_all(&events);
        let expected = table_windows(&all, &events);
        assert!(expected.contains(&vec!["customers".to_owned(), "orders".to_owned()]));
        assert!(
            expected.contains(&vec!["audit".to_owned(), "stock".to_owned()]),
            "a pause inside a transaction does not split it: {expected:?}"
        );

        let mut recorder = CaptureRecorder::new(RecorderConfig::default());
        let mut shipped = CaptureDelta::default();
        let mut next_take = T0 + 1_500 * MS;
        for e in &events {
            // Take a delta every 1.5 s of event time, in the middle of bursts and transactions.
            while e.at >= next_take {
                let delta = recorder.take(next_take);
                shipped.absorb(delta, usize::MAX);
                next_take += 1_500 * MS;
            }
            recorder.record(e);
        }
        shipped.absorb(recorder.finish(), usize::MAX);
        assert_eq!(recorder.pending(), 0);

        assert_eq!(shipped.store, all, "the stores add up exactly");
        assert_eq!(shipped.windows.without_session, 12);
        let mut got =
            item_windows(&shipped.store, &shipped.windows, ItemKind::Table, None).transactions;
        got.sort();
        assert_eq!(got, expected);
        // Windows hold fingerprints; the statement touching no table is in none of them.
        let select_one = fingerprint("SELECT 1").to_string();
        assert!(
            shipped
                .windows
                .transactions
                .iter()
                .flatten()
                .all(|fp| fp.parse::<Fingerprint>().is_ok() && *fp != select_one)
        );
    }

    #[test]
    fn held_statements_are_bounded_and_compact() {
        let config = RecorderConfig {
            max_pending: 4,
            ..RecorderConfig::default()
        };
        let mut recorder = CaptureRecorder::new(config);
        for i in 0..3 {
            recorder.record(&ev(
                Some("s"),
                T0 + i * MS,
                &format!("SELECT * FROM t WHERE a = {i}"),
            ));
        }
        assert_eq!(recorder.pending(), 3);
        let held = &recorder.pending["s"];
        assert!(
            held.iter()
                .all(|h| h.fingerprint == fingerprint("SELECT * FROM t WHERE a = 1"))
        );
        assert_eq!(std::mem::size_of::<Held>(), 24);
        // The bound cuts every session now, even an active one.
        recorder.record(&ev(Some("s"), T0 + 3 * MS, "SELECT * FROM u"));
        assert_eq!(recorder.pending(), 0);
        assert_eq!(recorder.delta().windows.transactions.len(), 1);
        assert_eq!(recorder.delta().windows.transactions[0].len(), 2);
        // An active session is held by take, a settled one is cut.
        recorder.record(&ev(Some("s"), T0 + 10 * MS, "SELECT * FROM v"));
        let delta = recorder.take(T0 + 11 * MS);
        assert_eq!(delta.windows.transactions.len(), 1);
        assert_eq!(recorder.pending(), 1);
        let delta = recorder.take(T0 + 10 * MS + 2_000_001);
        assert_eq!(delta.windows.transactions.len(), 1);
        assert_eq!(recorder.pending(), 0);
        assert!(recorder.take(T0 + 60_000_000).is_empty());
    }

    #[test]
    fn a_delta_given_back_merges_with_what_came_since() {
        let config = RecorderConfig {
            max_windows: 3,
            ..RecorderConfig::default()
        };
        let mut recorder = CaptureRecorder::new(config);
        let mut all = PatternStore::new(config.store);
        for i in 0..6_i64 {
            let e = ev(
                Some(&format!("s{i}")),
                T0 + i * 10_000 * MS,
                &format!("SELECT * FROM t{} WHERE id = {i}", i % 2),
            );
            all.record(&e);
            recorder.record(&e);
            if i == 2 {
                let failed = recorder.take(T0 + 25_000 * MS);
                assert_eq!(failed.windows.transactions.len(), 3);
                recorder.restore(failed);
            }
        }
        let delta = recorder.finish();
        assert_eq!(delta.store, all);
        assert_eq!(delta.windows.transactions.len(), 3, "bounded");
        assert_eq!(delta.dropped_windows, 3, "the oldest were dropped");
        let items = item_windows(&delta.store, &delta.windows, ItemKind::Table, None);
        assert_eq!(
            items.transactions,
            [
                vec!["t1".to_owned()],
                vec!["t0".to_owned()],
                vec!["t1".to_owned()]
            ]
        );
    }

    #[test]
    fn item_windows_follow_the_kind_and_skip_unknown_patterns() {
        let mut store = PatternStore::default();
        let join = "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id \
                    WHERE c.email = 'a@b'";
        store.record(&ev(Some("s"), T0, join));
        let fp = fingerprint_as(join, source_flavor(CaptureSource::Proxy)).to_string();
        let windows = Windows {
            transactions: vec![
                vec![fp.clone()],
                vec!["0000000000000001".to_owned()],
                vec!["not a fingerprint".to_owned(), fp],
            ],
            without_session: 2,
        };
        let tables = item_windows(&store, &windows, ItemKind::Table, None);
        assert_eq!(tables.without_session, 2);
        assert_eq!(
            tables.transactions,
            vec![vec!["customers".to_owned(), "orders".to_owned()]; 2]
        );
        let columns = item_windows(&store, &windows, ItemKind::FilterColumn, None);
        assert_eq!(columns.transactions.len(), 2);
        assert!(
            columns.transactions[0].contains(&"customers.email".to_owned()),
            "{columns:?}"
        );
    }
}
