//! The pattern store: per-fingerprint statistics of captured statements (calls, time, a latency
//! histogram, rows, errors by code, first and last seen, calls per minute, sources), bounded in
//! size, mergeable exactly and serializable, so that stores built by several processes (a fleet
//! of proxies) can be shipped and added up. It also caches each shape's parsed structure.
//!
//! # Recording
//!
//! [`PatternStore::record`] fingerprints the statement with the lexical rules of its source
//! (PostgreSQL for the proxy, `pg_stat_statements` and PostgreSQL logs; MySQL for digests and the
//! slow log; generic otherwise) and adds it to its pattern. An aggregated event (`calls > 1`,
//! `duration` the total of all calls, as `pg_stat_statements` deltas and digests report) adds its
//! exact total time and calls, and records its mean duration `calls` times in the histogram: the
//! source does not say how the time was spread, so percentiles of aggregated sources are
//! percentiles of per-poll means.
//!
//! # Bounds
//!
//! - At most [`StoreConfig::max_patterns`] patterns: a new pattern beyond it first evicts the
//!   least-called patterns (a batch of 1/64 of the bound, ties to the least recently seen), and
//!   evictions are counted and reported as a warning.
//! - One example statement per pattern, cut to [`StoreConfig::max_example_len`] bytes.
//! - Calls per minute over the last [`StoreConfig::rate_minutes`] minutes (a ring).
//! - At most [`StoreConfig::max_error_codes`] distinct error codes per pattern; the rest are
//!   counted under `"(other)"`.
//!
//! # Merging
//!
//! [`PatternStore::merge`] adds another store's patterns: calls, time, histograms, rows, errors,
//! first/last seen, per-minute calls and sources all combine exactly, associatively and
//! commutatively (the same stores merged in any order and grouping give the same store), as long
//! as no bound is hit (evictions, rate window, error codes are then reported).
//!
//! # Structure cache
//!
//! Each distinct shape is parsed once with [`analyze_statement_with_schema`] (on its example
//! statement, or on its normalized text when the example is missing or cut) with its source's
//! dialect as hint, and cached by fingerprint until the schema given changes.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::fingerprint::{Fingerprint, Flavor, fingerprint_as, normalize_as};
use super::histogram::LatencyHistogram;
use super::structure::{StatementShape, analyze_statement_with_schema};
use crate::Dialect;
use crate::model::{CaptureEvent, CaptureSource, Schema};

/// Error codes beyond the per-pattern bound are counted under this key.
pub const OTHER_ERRORS: &str = "(other)";
/// Error codes (or messages) are cut to this many bytes.
const MAX_ERROR_KEY_LEN: usize = 64;
const MINUTE_US: i64 = 60_000_000;

/// The dialect a source speaks (`None` when it does not say).
pub fn source_dialect(source: CaptureSource) -> Option<Dialect> {
    match source {
        CaptureSource::Proxy | CaptureSource::PgStatStatements | CaptureSource::PgLog => {
            Some(Dialect::Postgres)
        }
        CaptureSource::MysqlDigest | CaptureSource::MysqlSlowLog => Some(Dialect::Mysql),
        CaptureSource::JsonLines | CaptureSource::Demo => None,
    }
}

/// The lexical rules to fingerprint a source's statements with.
pub fn source_flavor(source: CaptureSource) -> Flavor {
    source_dialect(source).map_or(Flavor::Generic, Flavor::from)
}

/// Bounds of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// Most distinct patterns kept (at least 1).
    pub max_patterns: usize,
    /// Longest example statement kept, in bytes.
    pub max_example_len: usize,
    /// Minutes of per-minute call counts kept per pattern (at least 1).
    pub rate_minutes: usize,
    /// Most distinct error codes counted per pattern (at least 1, `"(other)"` included).
    pub max_error_codes: usize,
    /// Keep an example statement per pattern. Examples carry literal values; a store shipped
    /// off the host can leave them out (the normalized text is always kept).
    pub keep_examples: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_patterns: 20_000,
            max_example_len: 4_096,
            rate_minutes: 60,
            max_error_codes: 16,
            keep_examples: true,
        }
    }
}

/// Calls per minute over a bounded window of recent minutes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MinuteRing {
    /// The newest minute (minutes since the Unix epoch).
    end: i64,
    /// Calls per minute, oldest first, ending at `end`.
    counts: VecDeque<u64>,
}

impl MinuteRing {
    /// Add `calls` at `minute`, keeping `cap` minutes back from the newest. Returns false when
    /// the minute is older than the window (and so not counted).
    pub fn add(&mut self, minute: i64, calls: u64, cap: usize) -> bool {
        let cap = cap.max(1);
        if calls == 0 {
            return true;
        }
        if self.counts.is_empty() {
            self.end = minute;
            self.counts.push_back(calls);
            return true;
        }
        if minute > self.end {
            let ahead = (minute - self.end) as u64;
            if ahead >= cap as u64 {
                self.counts.clear();
            } else {
                self.counts
                    .extend(std::iter::repeat_n(0, ahead as usize - 1));
            }
            self.counts.push_back(calls);
            self.end = minute;
            self.trim(cap);
            return true;
        }
        let back = (self.end - minute) as u64;
        if back >= cap as u64 {
            return false;
        }
        let back = back as usize;
        while self.counts.len() <= back {
            self.counts.push_front(0);
        }
        let i = self.counts.len() - 1 - back;
        self.counts[i] = self.counts[i].saturating_add(calls);
        true
    }

    /// Add another ring (exact: the result keeps the `cap` minutes up to the newer end).
    pub fn merge(&mut self, other: &MinuteRing, cap: usize) {
        for (minute, calls) in other.minutes() {
            self.add(minute, calls, cap);
        }
    }

    /// `(minute, calls)` from the oldest kept minute to the newest, zeros included.
    pub fn minutes(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        let first = self.end - self.counts.len() as i64 + 1;
        self.counts
            .iter()
            .enumerate()
            .map(move |(i, &c)| (first + i as i64, c))
    }

    /// The newest minute with calls, if any.
    pub fn newest(&self) -> Option<i64> {
        (!self.counts.is_empty()).then_some(self.end)
    }

    /// Mean calls per minute over the last `minutes` minutes ending at `now_minute`.
    pub fn rate(&self, now_minute: i64, minutes: usize) -> f64 {
        if minutes == 0 {
            return 0.0;
        }
        let from = now_minute - minutes as i64 + 1;
        let calls: u64 = self
            .minutes()
            .filter(|(m, _)| *m >= from && *m <= now_minute)
            .map(|(_, c)| c)
            .sum();
        calls as f64 / minutes as f64
    }

    /// Keep at most `cap` minutes and no leading empty minutes (one canonical form per content).
    fn trim(&mut self, cap: usize) {
        while self.counts.len() > cap.max(1) {
            self.counts.pop_front();
        }
        while self.counts.front() == Some(&0) {
            self.counts.pop_front();
        }
        if self.counts.is_empty() {
            self.end = 0;
        }
    }
}

/// Statistics of one statement shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternStats {
    pub fingerprint: Fingerprint,
    /// The normalized statement text.
    pub normalized: String,
    /// One raw statement of this shape (the earliest seen), cut to the store's bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Whether the example was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub example_truncated: bool,
    /// The source the example came from (its dialect is the parse hint).
    pub example_source: CaptureSource,
    /// Latency of every call (count = calls, sum = total time).
    pub latency: LatencyHistogram,
    /// Rows returned or affected, over the calls that reported them.
    pub rows: u64,
    /// Calls whose events reported rows.
    pub rows_calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Failed calls by error code (or message, cut), bounded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_codes: BTreeMap<String, u64>,
    /// Earliest and latest event time, µs since the Unix epoch.
    pub first_seen: i64,
    pub last_seen: i64,
    /// Calls per minute over the recent window.
    pub per_minute: MinuteRing,
    pub sources: BTreeSet<CaptureSource>,
}

impl PatternStats {
    fn new(fingerprint: Fingerprint, e: &CaptureEvent, config: &StoreConfig) -> Self {
        let (example, example_truncated) = if config.keep_examples {
            let (text, cut) = truncate(&e.sql, config.max_example_len);
            (Some(text.to_owned()), cut)
        } else {
            (None, false)
        };
        PatternStats {
            fingerprint,
            normalized: normalize_as(&e.sql, source_flavor(e.source)),
            example,
            example_truncated,
            example_source: e.source,
            latency: LatencyHistogram::new(),
            rows: 0,
            rows_calls: 0,
            errors: 0,
            error_codes: BTreeMap::new(),
            first_seen: e.at,
            last_seen: e.at,
            per_minute: MinuteRing::default(),
            sources: BTreeSet::new(),
        }
    }

    fn add(&mut self, e: &CaptureEvent, config: &StoreConfig) {
        let calls = e.calls;
        if calls == 1 {
            self.latency.record(e.duration);
        } else {
            self.latency.record_aggregate(e.duration, calls);
        }
        if let Some(rows) = e.rows {
            self.rows = self.rows.saturating_add(rows);
            self.rows_calls = self.rows_calls.saturating_add(calls);
        }
        if let Some(error) = &e.error {
            self.errors = self.errors.saturating_add(calls);
            let key = error_key(error);
            add_error(&mut self.error_codes, key, calls, config.max_error_codes);
        }
        if e.at <= self.first_seen {
            self.offer_example(e, config);
        }
        self.first_seen = self.first_seen.min(e.at);
        self.last_seen = self.last_seen.max(e.at);
        self.per_minute
            .add(e.at.div_euclid(MINUTE_US), calls, config.rate_minutes);
        if !self.sources.contains(&e.source) {
            self.sources.insert(e.source);
        }
    }

    /// The example of the earliest sighting wins; ties go to the smaller text (then source), so
    /// that neither the order of events nor the order of merging changes the result.
    fn example_key(&self) -> (i64, bool, Option<&str>, bool, CaptureSource) {
        (
            self.first_seen,
            self.example.is_none(),
            self.example.as_deref(),
            self.example_truncated,
            self.example_source,
        )
    }

    fn offer_example(&mut self, e: &CaptureEvent, config: &StoreConfig) {
        let (text, cut) = if config.keep_examples {
            let (t, c) = truncate(&e.sql, config.max_example_len);
            (Some(t), c)
        } else {
            (None, false)
        };
        let candidate = (e.at, text.is_none(), text, cut, e.source);
        if candidate < self.example_key() {
            self.example = text.map(str::to_owned);
            self.example_truncated = cut;
            self.example_source = e.source;
        }
    }

    fn merge(&mut self, other: &PatternStats, config: &StoreConfig) {
        if other.example_key() < self.example_key() {
            self.example = match &other.example {
                Some(example) if config.keep_examples => {
                    let (text, cut) = truncate(example, config.max_example_len);
                    self.example_truncated = other.example_truncated || cut;
                    Some(text.to_owned())
                }
                _ => {
                    self.example_truncated = false;
                    None
                }
            };
            self.example_source = other.example_source;
        }
        if other.normalized < self.normalized {
            // Only on a 64-bit fingerprint collision; keeps merging order-independent.
            self.normalized.clone_from(&other.normalized);
        }
        self.latency.merge(&other.latency);
        self.rows = self.rows.saturating_add(other.rows);
        self.rows_calls = self.rows_calls.saturating_add(other.rows_calls);
        self.errors = self.errors.saturating_add(other.errors);
        for (code, &n) in &other.error_codes {
            *self.error_codes.entry(code.clone()).or_default() += n;
        }
        fold_errors(&mut self.error_codes, config.max_error_codes);
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.per_minute
            .merge(&other.per_minute, config.rate_minutes);
        self.sources.extend(other.sources.iter().copied());
    }

    /// Executions seen.
    pub fn calls(&self) -> u64 {
        self.latency.count()
    }

    /// Total execution time of all calls.
    pub fn total_time(&self) -> Duration {
        self.latency.sum()
    }

    /// Total execution time in milliseconds.
    pub fn total_ms(&self) -> f64 {
        self.latency.sum_ns() as f64 / 1e6
    }

    /// Mean time per call in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        self.latency.mean_ns() / 1e6
    }

    /// Mean rows per call, over the calls that reported rows.
    pub fn mean_rows(&self) -> Option<f64> {
        (self.rows_calls > 0).then(|| self.rows as f64 / self.rows_calls as f64)
    }

    /// The dialect to parse this shape with.
    pub fn dialect(&self) -> Option<Dialect> {
        source_dialect(self.example_source)
    }

    /// The text the structure is parsed from: the example when it is whole, else the normalized
    /// text (with `?, ...` runs reduced to one value so that it parses).
    pub fn parse_text(&self) -> String {
        match &self.example {
            Some(example) if !self.example_truncated => example.clone(),
            _ => self.normalized.replace(", ...", ""),
        }
    }
}

fn truncate(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

fn error_key(error: &str) -> &str {
    let trimmed = error.trim();
    let key = truncate(trimmed, MAX_ERROR_KEY_LEN).0;
    if key.is_empty() { "(unknown)" } else { key }
}

fn add_error(codes: &mut BTreeMap<String, u64>, key: &str, n: u64, max: usize) {
    if let Some(c) = codes.get_mut(key) {
        *c = c.saturating_add(n);
        return;
    }
    let max = max.max(1);
    let room = if codes.contains_key(OTHER_ERRORS) {
        codes.len() < max
    } else {
        codes.len() + 1 < max
    };
    let key = if room { key } else { OTHER_ERRORS };
    let c = codes.entry(key.to_owned()).or_default();
    *c = c.saturating_add(n);
}

/// Fold the least frequent codes into `"(other)"` until at most `max` keys remain.
fn fold_errors(codes: &mut BTreeMap<String, u64>, max: usize) {
    let max = max.max(1);
    if codes.len() <= max {
        return;
    }
    let mut other = codes.remove(OTHER_ERRORS).unwrap_or(0);
    let mut ranked: Vec<(String, u64)> = std::mem::take(codes).into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (i, (code, n)) in ranked.into_iter().enumerate() {
        if i + 1 < max {
            codes.insert(code, n);
        } else {
            other = other.saturating_add(n);
        }
    }
    codes.insert(OTHER_ERRORS.to_owned(), other);
}

/// A hasher for fingerprints, which are hashes already.
#[derive(Default, Clone, Copy)]
struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type FingerprintMap<V> = HashMap<Fingerprint, V, BuildHasherDefault<FingerprintHasher>>;

/// Parsed shapes by fingerprint, valid for one schema.
#[derive(Debug, Default, Clone)]
struct ShapeCache {
    schema: Option<Schema>,
    shapes: FingerprintMap<Arc<StatementShape>>,
}

impl ShapeCache {
    /// Forget every shape when the schema differs from the one they were parsed with.
    fn check_schema(&mut self, schema: Option<&Schema>) {
        if self.schema.as_ref() != schema {
            self.shapes.clear();
            self.schema = schema.cloned();
        }
    }

    fn get_or_parse(&mut self, p: &PatternStats) -> Arc<StatementShape> {
        let schema = self.schema.as_ref();
        self.shapes
            .entry(p.fingerprint)
            .or_insert_with(|| {
                Arc::new(analyze_statement_with_schema(
                    &p.parse_text(),
                    p.dialect(),
                    schema,
                ))
            })
            .clone()
    }
}

/// A serialized store that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("pattern {0} appears twice in the store")]
    DuplicatePattern(Fingerprint),
    #[error("unsupported pattern store version {0}")]
    Version(u32),
}

/// A store's counters: what it holds besides its bounds and its patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoreCounters {
    /// Events recorded (an aggregated event counts once).
    pub events: u64,
    /// Events standing for no call, ignored.
    pub ignored_events: u64,
    /// Patterns evicted at the bound, and the calls they held.
    pub evicted_patterns: u64,
    pub evicted_calls: u64,
}

/// Per-fingerprint statistics of captured statements. See the [module docs](self).
#[derive(Debug, Deserialize)]
#[serde(try_from = "StoreRepr")]
pub struct PatternStore {
    config: StoreConfig,
    patterns: FingerprintMap<PatternStats>,
    /// Events recorded (an aggregated event counts once).
    events: u64,
    /// Events standing for no call (`calls == 0`), ignored.
    ignored_events: u64,
    /// Patterns evicted at the bound, and the calls they held.
    evicted_patterns: u64,
    evicted_calls: u64,
    shapes: Mutex<ShapeCache>,
}

impl Default for PatternStore {
    fn default() -> Self {
        Self::new(StoreConfig::default())
    }
}

impl Clone for PatternStore {
    fn clone(&self) -> Self {
        PatternStore {
            config: self.config,
            patterns: self.patterns.clone(),
            events: self.events,
            ignored_events: self.ignored_events,
            evicted_patterns: self.evicted_patterns,
            evicted_calls: self.evicted_calls,
            shapes: Mutex::new(self.cache().clone()),
        }
    }
}

/// Stores are equal when their statistics are (the structure cache is not compared).
impl PartialEq for PatternStore {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.events == other.events
            && self.ignored_events == other.ignored_events
            && self.evicted_patterns == other.evicted_patterns
            && self.evicted_calls == other.evicted_calls
            && self.patterns == other.patterns
    }
}

impl PatternStore {
    pub fn new(config: StoreConfig) -> Self {
        PatternStore {
            config,
            patterns: FingerprintMap::default(),
            events: 0,
            ignored_events: 0,
            evicted_patterns: 0,
            evicted_calls: 0,
            shapes: Mutex::new(ShapeCache::default()),
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Add one event (see the [module docs](self)).
    pub fn record(&mut self, e: &CaptureEvent) {
        let fp = fingerprint_as(&e.sql, source_flavor(e.source));
        self.record_as(fp, e);
    }

    /// Add one event whose fingerprint the caller already computed (with
    /// [`fingerprint_as`] and [`source_flavor`]).
    pub fn record_as(&mut self, fp: Fingerprint, e: &CaptureEvent) {
        if e.calls == 0 {
            self.ignored_events += 1;
            return;
        }
        self.events += 1;
        if let Some(p) = self.patterns.get_mut(&fp) {
            p.add(e, &self.config);
            return;
        }
        if self.patterns.len() >= self.max_patterns() {
            let batch = (self.max_patterns() / 64).max(1);
            self.evict_to(self.max_patterns().saturating_sub(batch));
        }
        let mut p = PatternStats::new(fp, e, &self.config);
        p.add(e, &self.config);
        self.patterns.insert(fp, p);
    }

    /// Add every event.
    pub fn record_all<'a>(&mut self, events: impl IntoIterator<Item = &'a CaptureEvent>) {
        for e in events {
            self.record(e);
        }
    }

    fn max_patterns(&self) -> usize {
        self.config.max_patterns.max(1)
    }

    /// Evict the least-called patterns (ties: least recently seen, then fingerprint) until at
    /// most `keep` remain.
    fn evict_to(&mut self, keep: usize) {
        if self.patterns.len() <= keep {
            return;
        }
        let mut ranked: Vec<(u64, i64, Fingerprint)> = self
            .patterns
            .values()
            .map(|p| (p.calls(), p.last_seen, p.fingerprint))
            .collect();
        let evict = ranked.len() - keep;
        if evict < ranked.len() {
            ranked.select_nth_unstable(evict);
        }
        for &(calls, _, fp) in &ranked[..evict] {
            self.patterns.remove(&fp);
            self.evicted_patterns += 1;
            self.evicted_calls = self.evicted_calls.saturating_add(calls);
        }
    }

    /// Add every pattern and counter of `other` (exact: see the [module docs](self)). The bounds
    /// of `self` apply.
    pub fn merge(&mut self, other: &PatternStore) {
        for (fp, theirs) in &other.patterns {
            if let Some(ours) = self.patterns.get_mut(fp) {
                ours.merge(theirs, &self.config);
            } else {
                let mut p = theirs.clone();
                self.conform(&mut p);
                self.patterns.insert(*fp, p);
            }
        }
        self.events = self.events.saturating_add(other.events);
        self.ignored_events = self.ignored_events.saturating_add(other.ignored_events);
        self.evicted_patterns = self.evicted_patterns.saturating_add(other.evicted_patterns);
        self.evicted_calls = self.evicted_calls.saturating_add(other.evicted_calls);
        self.evict_to(self.max_patterns());
    }

    /// Apply this store's bounds to a pattern from elsewhere.
    fn conform(&self, p: &mut PatternStats) {
        if !self.config.keep_examples {
            p.example = None;
            p.example_truncated = false;
        } else if let Some(example) = &p.example {
            let (text, cut) = truncate(example, self.config.max_example_len);
            if cut {
                p.example = Some(text.to_owned());
                p.example_truncated = true;
            }
        }
        fold_errors(&mut p.error_codes, self.config.max_error_codes);
        p.per_minute.trim(self.config.rate_minutes);
    }

    /// Drop every example statement (they carry literal values), e.g. before shipping the store.
    pub fn strip_examples(&mut self) {
        self.config.keep_examples = false;
        for p in self.patterns.values_mut() {
            p.example = None;
            p.example_truncated = false;
        }
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn get(&self, fp: Fingerprint) -> Option<&PatternStats> {
        self.patterns.get(&fp)
    }

    /// Every pattern, in no particular order.
    pub fn patterns(&self) -> impl Iterator<Item = &PatternStats> {
        self.patterns.values()
    }

    /// Every pattern, by fingerprint.
    pub fn sorted_patterns(&self) -> Vec<&PatternStats> {
        let mut all: Vec<&PatternStats> = self.patterns.values().collect();
        all.sort_unstable_by_key(|p| p.fingerprint);
        all
    }

    /// Events recorded (each aggregated event counts once).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Calls over all patterns.
    pub fn total_calls(&self) -> u64 {
        self.patterns.values().map(PatternStats::calls).sum()
    }

    /// Patterns evicted at the bound, and the calls they held.
    pub fn evictions(&self) -> (u64, u64) {
        (self.evicted_patterns, self.evicted_calls)
    }

    /// Every counter of the store (what it holds besides its bounds and patterns).
    pub fn counters(&self) -> StoreCounters {
        StoreCounters {
            events: self.events,
            ignored_events: self.ignored_events,
            evicted_patterns: self.evicted_patterns,
            evicted_calls: self.evicted_calls,
        }
    }

    /// A store put back together from its parts, e.g. patterns kept one per row: the same checks
    /// as loading a serialized store (each pattern held to `config`'s bounds, no fingerprint twice,
    /// the least called evicted, and counted, beyond `max_patterns`).
    pub fn from_parts(
        config: StoreConfig,
        counters: StoreCounters,
        patterns: impl IntoIterator<Item = PatternStats>,
    ) -> Result<Self, StoreError> {
        let mut store = PatternStore::new(config);
        store.events = counters.events;
        store.ignored_events = counters.ignored_events;
        store.evicted_patterns = counters.evicted_patterns;
        store.evicted_calls = counters.evicted_calls;
        for mut p in patterns {
            let fp = p.fingerprint;
            store.conform(&mut p);
            if store.patterns.insert(fp, p).is_some() {
                return Err(StoreError::DuplicatePattern(fp));
            }
        }
        store.evict_to(store.max_patterns());
        Ok(store)
    }

    /// What the store lost or ignored, as sentences.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.evicted_patterns > 0 {
            out.push(format!(
                "{} rarely called query patterns ({} calls) were evicted to stay within the \
                 {}-pattern bound",
                self.evicted_patterns,
                self.evicted_calls,
                self.max_patterns()
            ));
        }
        if self.ignored_events > 0 {
            out.push(format!(
                "{} events standing for zero calls were ignored",
                self.ignored_events
            ));
        }
        out
    }

    fn cache(&self) -> MutexGuard<'_, ShapeCache> {
        // A panic while parsing is caught inside the analyzer; a poisoned cache is still valid.
        self.shapes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The parsed structure of one pattern (parsed now unless cached for this schema).
    pub fn shape(&self, fp: Fingerprint, schema: Option<&Schema>) -> Option<Arc<StatementShape>> {
        let p = self.patterns.get(&fp)?;
        let mut cache = self.cache();
        cache.check_schema(schema);
        Some(cache.get_or_parse(p))
    }

    /// Every pattern with its structure, by fingerprint. Parses the shapes not cached yet.
    pub fn shapes(&self, schema: Option<&Schema>) -> Vec<(&PatternStats, Arc<StatementShape>)> {
        let patterns = self.sorted_patterns();
        let mut cache = self.cache();
        cache.check_schema(schema);
        let out = patterns
            .into_iter()
            .map(|p| (p, cache.get_or_parse(p)))
            .collect();
        // Evicted patterns' shapes go once the cache has grown well past the store.
        if cache.shapes.len() > 2 * self.patterns.len() + 64 {
            cache.shapes.retain(|fp, _| self.patterns.contains_key(fp));
        }
        out
    }

    /// Parse every shape not cached yet, so that the next snapshot finds them all.
    pub fn prepare_shapes(&self, schema: Option<&Schema>) {
        let _ = self.shapes(schema);
    }
}

/// The serialized form: patterns sorted by fingerprint.
#[derive(Deserialize)]
struct StoreRepr {
    version: u32,
    config: StoreConfig,
    events: u64,
    #[serde(default)]
    ignored_events: u64,
    #[serde(default)]
    evicted_patterns: u64,
    #[serde(default)]
    evicted_calls: u64,
    patterns: Vec<PatternStats>,
}

const STORE_VERSION: u32 = 1;

/// [`StoreRepr`] borrowed, for serializing without a copy.
#[derive(Serialize)]
struct StoreReprRef<'a> {
    version: u32,
    config: &'a StoreConfig,
    events: u64,
    ignored_events: u64,
    evicted_patterns: u64,
    evicted_calls: u64,
    patterns: Vec<&'a PatternStats>,
}

impl Serialize for PatternStore {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoreReprRef {
            version: STORE_VERSION,
            config: &self.config,
            events: self.events,
            ignored_events: self.ignored_events,
            evicted_patterns: self.evicted_patterns,
            evicted_calls: self.evicted_calls,
            patterns: self.sorted_patterns(),
        }
        .serialize(serializer)
    }
}

impl TryFrom<StoreRepr> for PatternStore {
    type Error = StoreError;

    fn try_from(r: StoreRepr) -> Result<Self, Self::Error> {
        if r.version != STORE_VERSION {
            return Err(StoreError::Version(r.version));
        }
        let counters = StoreCounters {
            events: r.events,
            ignored_events: r.ignored_events,
            evicted_patterns: r.evicted_patterns,
            evicted_calls: r.evicted_calls,
        };
        PatternStore::from_parts(r.config, counters, r.patterns)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::analysis::fingerprint::fingerprint;
    use crate::model::{Column, DataType, Table};

    const T0: i64 = 1_700_000_000_000_000;

    fn ev(source: CaptureSource, at: i64, sql: &str, ms: u64) -> CaptureEvent {
        CaptureEvent::single(source, at, sql, Duration::from_millis(ms))
    }

    fn only(store: &PatternStore) -> &PatternStats {
        assert_eq!(store.len(), 1);
        store.patterns().next().unwrap()
    }

    #[test]
    fn records_calls_time_rows_errors_and_times() {
        let mut store = PatternStore::default();
        let mut e = ev(
            CaptureSource::Proxy,
            T0,
            "SELECT * FROM orders WHERE id = 1",
            2,
        );
        e.rows = Some(1);
        store.record(&e);
        let mut e = ev(
            CaptureSource::Proxy,
            T0 + 90_000_000,
            "select * from orders where id = 42",
            4,
        );
        e.rows = Some(1);
        store.record(&e);
        let mut e = ev(
            CaptureSource::PgLog,
            T0 + 30_000_000,
            "SELECT * FROM orders WHERE id = 7",
            6,
        );
        e.error = Some("57014".into());
        store.record(&e);

        let p = only(&store);
        assert_eq!(p.calls(), 3);
        assert_eq!(p.total_time(), Duration::from_millis(12));
        assert!((p.mean_ms() - 4.0).abs() < 1e-9);
        assert_eq!((p.rows, p.rows_calls), (2, 2));
        assert_eq!(p.mean_rows(), Some(1.0));
        assert_eq!(p.errors, 1);
        assert_eq!(p.error_codes, BTreeMap::from([("57014".to_owned(), 1)]));
        assert_eq!((p.first_seen, p.last_seen), (T0, T0 + 90_000_000));
        assert_eq!(
            p.sources,
            BTreeSet::from([CaptureSource::Proxy, CaptureSource::PgLog])
        );
        assert_eq!(p.normalized, "SELECT * FROM orders WHERE id = ?");
        assert_eq!(
            p.example.as_deref(),
            Some("SELECT * FROM orders WHERE id = 1")
        );
        let p50 = p.latency.quantile_ms(0.5);
        assert!((p50 - 4.0).abs() <= 4.0 * 0.016, "{p50}");
        // Minutes: T0 and T0+30s share a minute when T0 is on a minute boundary.
        let minute0 = T0.div_euclid(MINUTE_US);
        let per_minute: Vec<(i64, u64)> = p.per_minute.minutes().collect();
        let first_minute_calls = if (T0 + 30_000_000).div_euclid(MINUTE_US) == minute0 {
            2
        } else {
            1
        };
        assert_eq!(per_minute.first(), Some(&(minute0, first_minute_calls)));
        assert_eq!(
            per_minute.last(),
            Some(&((T0 + 90_000_000).div_euclid(MINUTE_US), 1))
        );
        assert_eq!(per_minute.iter().map(|m| m.1).sum::<u64>(), 3);
        assert_eq!(store.events(), 3);
        assert_eq!(store.total_calls(), 3);
        assert!(store.warnings().is_empty());
    }

    #[test]
    fn aggregated_events_spread_the_mean_over_their_calls() {
        let mut store = PatternStore::default();
        let mut e = ev(
            CaptureSource::PgStatStatements,
            T0,
            "SELECT * FROM t WHERE a = $1",
            0,
        );
        e.calls = 4;
        e.duration = Duration::from_millis(40);
        e.rows = Some(8);
        store.record(&e);
        let mut zero = e.clone();
        zero.calls = 0;
        store.record(&zero);
        let p = only(&store);
        assert_eq!(p.calls(), 4);
        assert_eq!(p.total_time(), Duration::from_millis(40));
        assert_eq!(p.latency.quantile_ns(0.99), 10_000_000);
        assert_eq!(p.latency.quantile_ns(0.01), 10_000_000);
        assert_eq!((p.rows, p.rows_calls), (8, 4));
        assert_eq!(p.per_minute.minutes().map(|m| m.1).sum::<u64>(), 4);
        assert_eq!(store.events(), 1);
        assert_eq!(store.warnings().len(), 1, "the zero-call event is reported");
    }

    #[test]
    fn sources_meet_in_one_fingerprint_namespace() {
        let mut store = PatternStore::default();
        store.record(&ev(
            CaptureSource::PgStatStatements,
            T0,
            "SELECT name FROM users WHERE id = $1 AND org = $2",
            1,
        ));
        store.record(&ev(
            CaptureSource::PgLog,
            T0,
            "select name from users where id = 5 and org = 'x'",
            1,
        ));
        store.record(&ev(
            CaptureSource::JsonLines,
            T0,
            "SELECT name FROM users WHERE id = 9 AND org = 'y'",
            1,
        ));
        // MySQL double-quoted strings are literals when the source is MySQL.
        store.record(&ev(
            CaptureSource::MysqlSlowLog,
            T0,
            "SELECT name FROM users WHERE id = 3 AND org = \"acme\"",
            1,
        ));
        store.record(&ev(
            CaptureSource::MysqlSlowLog,
            T0,
            "SELECT name FROM users WHERE id = 4 AND org = \"initech\"",
            1,
        ));
        let p = only(&store);
        assert_eq!(p.calls(), 5);
        assert_eq!(p.sources.len(), 4);
        assert_eq!(
            p.fingerprint,
            fingerprint("SELECT name FROM users WHERE id = 1 AND org = 'z'")
        );
    }

    #[test]
    fn examples_are_bounded_and_the_earliest_wins() {
        let config = StoreConfig {
            max_example_len: 44,
            ..StoreConfig::default()
        };
        let mut store = PatternStore::new(config);
        let long = "SELECT id FROM customers WHERE name = 'ééééééééééééééééééé'";
        store.record(&ev(CaptureSource::Proxy, T0 + 10, long, 1));
        let p = only(&store);
        let example = p.example.as_deref().unwrap();
        assert!(example.len() <= 44 && long.starts_with(example));
        assert!(p.example_truncated);
        // A cut example is not parsed: the normalized text is.
        assert_eq!(p.parse_text(), "SELECT id FROM customers WHERE name = ?");
        let shape = store.shape(p.fingerprint, None).unwrap();
        assert_eq!(shape.tables, ["customers"]);

        // An earlier sighting, recorded later, replaces the example.
        store.record(&ev(
            CaptureSource::Proxy,
            T0,
            "SELECT id FROM customers WHERE name = 'a'",
            1,
        ));
        let p = only(&store);
        assert_eq!(
            p.example.as_deref(),
            Some("SELECT id FROM customers WHERE name = 'a'")
        );
        assert!(!p.example_truncated);
        assert_eq!(p.first_seen, T0);

        store.strip_examples();
        assert_eq!(only(&store).example, None);
        store.record(&ev(
            CaptureSource::Proxy,
            T0 - 1,
            "SELECT id FROM customers WHERE name = 'b'",
            1,
        ));
        assert_eq!(
            only(&store).example,
            None,
            "a stripped store keeps no examples"
        );
        let mut earlier = PatternStore::default();
        earlier.record(&ev(
            CaptureSource::Proxy,
            T0 - 5,
            "SELECT id FROM customers WHERE name = 'c'",
            1,
        ));
        store.merge(&earlier);
        assert_eq!(
            only(&store).example,
            None,
            "nor does it take them from a merge"
        );
        assert_eq!(only(&store).first_seen, T0 - 5);
        let json = serde_json::to_string(&store).unwrap();
        assert!(!json.contains("'a'") && !json.contains("'c'"), "{json}");
    }

    #[test]
    fn eviction_drops_the_least_called_and_says_so() {
        let config = StoreConfig {
            max_patterns: 3,
            ..StoreConfig::default()
        };
        let mut store = PatternStore::new(config);
        for (table, calls) in [("a", 5), ("b", 1), ("c", 3)] {
            for i in 0..calls {
                store.record(&ev(
                    CaptureSource::Proxy,
                    T0 + i,
                    &format!("SELECT * FROM {table}"),
                    1,
                ));
            }
        }
        store.record(&ev(CaptureSource::Proxy, T0, "SELECT * FROM d", 1));
        assert_eq!(store.len(), 3);
        assert!(store.get(fingerprint("SELECT * FROM b")).is_none());
        for kept in ["a", "c", "d"] {
            assert!(
                store
                    .get(fingerprint(&format!("SELECT * FROM {kept}")))
                    .is_some(),
                "{kept}"
            );
        }
        assert_eq!(store.evictions(), (1, 1));
        let warnings = store.warnings();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("3-pattern bound"), "{warnings:?}");

        // Merging past the bound evicts too.
        let mut other = PatternStore::new(config);
        for i in 0..10 {
            other.record(&ev(CaptureSource::Proxy, T0 + i, "SELECT * FROM e", 1));
        }
        store.merge(&other);
        assert_eq!(store.len(), 3);
        assert!(store.get(fingerprint("SELECT * FROM e")).is_some());
        assert!(store.get(fingerprint("SELECT * FROM d")).is_none());
        assert_eq!(store.evictions(), (2, 2));
    }

    #[test]
    fn error_codes_are_bounded() {
        let config = StoreConfig {
            max_error_codes: 3,
            ..StoreConfig::default()
        };
        let mut store = PatternStore::new(config);
        for code in ["23505", "23505", "40001", "57014", "42P01", "  "] {
            let mut e = ev(CaptureSource::Proxy, T0, "INSERT INTO t VALUES (1)", 1);
            e.error = Some(code.into());
            store.record(&e);
        }
        let p = only(&store);
        assert_eq!(p.errors, 6);
        assert_eq!(
            p.error_codes,
            BTreeMap::from([
                ("23505".to_owned(), 2),
                ("40001".to_owned(), 1),
                (OTHER_ERRORS.to_owned(), 3)
            ])
        );
        let mut codes = BTreeMap::from([
            ("a".to_owned(), 1),
            ("b".to_owned(), 5),
            ("c".to_owned(), 2),
            (OTHER_ERRORS.to_owned(), 1),
        ]);
        fold_errors(&mut codes, 3);
        assert_eq!(
            codes,
            BTreeMap::from([
                ("b".to_owned(), 5),
                ("c".to_owned(), 2),
                (OTHER_ERRORS.to_owned(), 2)
            ])
        );
    }

    #[test]
    fn minute_ring() {
        let mut r = MinuteRing::default();
        assert!(r.add(100, 2, 3));
        assert!(r.add(101, 1, 3));
        assert!(r.add(99, 4, 3));
        assert!(!r.add(98, 7, 3), "older than the window");
        assert_eq!(
            r.minutes().collect::<Vec<_>>(),
            [(99, 4), (100, 2), (101, 1)]
        );
        assert!(r.add(103, 5, 3));
        assert_eq!(
            r.minutes().collect::<Vec<_>>(),
            [(101, 1), (102, 0), (103, 5)]
        );
        assert!((r.rate(103, 3) - 2.0).abs() < 1e-12);
        assert!(r.add(200, 1, 3));
        assert_eq!(r.minutes().collect::<Vec<_>>(), [(200, 1)]);
        // Advancing past a minute drops the leading empty minutes too.
        let mut r = MinuteRing::default();
        r.add(10, 1, 3);
        r.add(12, 1, 3);
        r.add(13, 1, 3);
        assert_eq!(r.minutes().collect::<Vec<_>>(), [(12, 1), (13, 1)]);
        assert_eq!(r.newest(), Some(13));
    }

    #[test]
    fn structure_is_cached_per_schema_with_the_source_dialect() {
        let mut store = PatternStore::default();
        store.record(&ev(
            CaptureSource::MysqlSlowLog,
            T0,
            "SELECT `o`.`total` FROM `orders` `o` WHERE `o`.`status` = 'paid'",
            1,
        ));
        store.record(&ev(
            CaptureSource::Proxy,
            T0,
            "SELECT total FROM orders JOIN customers ON customers.id = customer_id",
            1,
        ));
        let mysql = fingerprint_as(
            "SELECT `o`.`total` FROM `orders` `o` WHERE `o`.`status` = 'x'",
            Flavor::Mysql,
        );
        let a = store.shape(mysql, None).unwrap();
        assert_eq!(a.parsed_as, Some(Dialect::Mysql));
        assert_eq!(a.tables, ["orders"]);
        let b = store.shape(mysql, None).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "parsed once");

        let join =
            fingerprint("SELECT total FROM orders JOIN customers ON customers.id = customer_id");
        let unresolved = store.shape(join, None).unwrap();
        let mut schema = Schema::default();
        for (name, cols) in [
            ("orders", vec!["id", "customer_id", "total", "status"]),
            ("customers", vec!["id"]),
        ] {
            schema.tables.push(Table {
                name: name.into(),
                columns: cols
                    .iter()
                    .map(|c| Column::new(*c, DataType::Integer))
                    .collect(),
                primary_key: vec!["id".into()],
                ..Table::default()
            });
        }
        let resolved = store.shape(join, Some(&schema)).unwrap();
        assert!(
            !Arc::ptr_eq(&unresolved, &resolved),
            "a new schema parses again"
        );
        assert!(resolved.has_role("orders", "customer_id", crate::model::ColumnRole::JoinKey));
        let again = store.shape(join, Some(&schema)).unwrap();
        assert!(Arc::ptr_eq(&again, &resolved));
        let all = store.shapes(Some(&schema));
        assert_eq!(all.len(), 2);
        assert!(
            all.windows(2)
                .all(|w| w[0].0.fingerprint < w[1].0.fingerprint)
        );
    }

    #[test]
    fn serde_round_trip_and_checks() {
        let mut store = PatternStore::default();
        for i in 0..20 {
            let mut e = ev(
                CaptureSource::Proxy,
                T0 + i * 7_000_000,
                &format!("SELECT * FROM t{} WHERE id = {i}", i % 3),
                (i % 5) as u64,
            );
            e.rows = Some(i as u64);
            if i % 7 == 0 {
                e.error = Some("40P01".into());
            }
            store.record(&e);
        }
        let json = serde_json::to_string(&store).unwrap();
        let back: PatternStore = serde_json::from_str(&json).unwrap();
        assert_eq!(back, store);
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            json,
            "deterministic form"
        );
        assert_eq!(back.shapes(None).len(), 3);

        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let first = value["patterns"][0].clone();
        value["patterns"].as_array_mut().unwrap().push(first);
        assert!(
            serde_json::from_value::<PatternStore>(value.clone()).is_err(),
            "duplicate"
        );
        value["version"] = 99.into();
        assert!(
            serde_json::from_value::<PatternStore>(value).is_err(),
            "version"
        );
    }

    #[test]
    fn a_store_is_put_back_together_from_its_parts() {
        let config = StoreConfig {
            max_patterns: 2,
            ..StoreConfig::default()
        };
        let mut store = PatternStore::new(config);
        for (i, table) in ["a", "a", "a", "b", "b", "c"].iter().enumerate() {
            let mut zero = ev(CaptureSource::Proxy, T0 + i as i64, "SELECT 1", 1);
            zero.calls = 0;
            store.record(&zero);
            store.record(&ev(
                CaptureSource::Proxy,
                T0 + i as i64,
                &format!("SELECT * FROM {table} WHERE id = {i}"),
                1,
            ));
        }
        let (evicted, _) = store.evictions();
        assert_eq!(evicted, 1, "the bound of two patterns evicted one");
        let parts = || store.sorted_patterns().into_iter().cloned();
        let back = PatternStore::from_parts(config, store.counters(), parts()).unwrap();
        assert_eq!(back, store);
        assert_eq!(back.counters().ignored_events, 6);

        // Loading more patterns than the bound evicts the least called, and counts it.
        let mut wide = PatternStore::default();
        wide.merge(&store);
        wide.record(&ev(CaptureSource::Proxy, T0, "SELECT * FROM z", 1));
        let all: Vec<PatternStats> = wide.sorted_patterns().into_iter().cloned().collect();
        let bounded = PatternStore::from_parts(config, store.counters(), all).unwrap();
        assert_eq!(bounded.len(), 2);
        assert!(bounded.get(fingerprint("SELECT * FROM z")).is_none());
        assert_eq!(bounded.evictions().0, 2);

        let twice = parts().chain(parts());
        assert!(matches!(
            PatternStore::from_parts(config, store.counters(), twice),
            Err(StoreError::DuplicatePattern(_))
        ));
    }

    fn shape_sql(shape: u8, literal: u32, text: &str) -> String {
        match shape % 4 {
            0 => format!("SELECT * FROM orders WHERE id = {literal}"),
            1 => format!("UPDATE orders SET status = '{text}' WHERE id = {literal}"),
            2 => format!(
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id \
                 WHERE c.name = '{text}'"
            ),
            _ => format!("INSERT INTO audit (at, what) VALUES ({literal}, '{text}')"),
        }
    }

    fn event() -> impl Strategy<Value = CaptureEvent> {
        (
            0u8..4,
            any::<u32>(),
            "[a-z]{0,6}",
            0i64..(3 * 3_600_000_000),
            0u64..50_000_000,
            1u64..4,
            prop::option::of(0u64..100),
            prop::option::of(prop::sample::select(vec!["23505", "40001", "57014"])),
            prop::sample::select(vec![
                CaptureSource::Proxy,
                CaptureSource::PgLog,
                CaptureSource::PgStatStatements,
                CaptureSource::JsonLines,
            ]),
        )
            .prop_map(|(shape, lit, text, at, ns, calls, rows, error, source)| {
                CaptureEvent {
                    source,
                    session: None,
                    at: T0 + at,
                    sql: shape_sql(shape, lit, &text),
                    params: Vec::new(),
                    duration: Duration::from_nanos(ns),
                    rows,
                    error: error.map(str::to_owned),
                    calls,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn merging_parts_equals_recording_everything(
            events in prop::collection::vec(event(), 0..120),
            cuts in (0usize..120, 0usize..120),
        ) {
            let config = StoreConfig { rate_minutes: 30, ..StoreConfig::default() };
            let (a, b) = (cuts.0.min(events.len()), cuts.1.min(events.len()));
            let (lo, hi) = (a.min(b), a.max(b));
            let parts = [&events[..lo], &events[lo..hi], &events[hi..]];
            let stores: Vec<PatternStore> = parts
                .iter()
                .map(|part| {
                    let mut s = PatternStore::new(config);
                    s.record_all(part.iter());
                    s
                })
                .collect();
            let mut all = PatternStore::new(config);
            all.record_all(events.iter());

            // (a + b) + c
            let mut left = stores[0].clone();
            left.merge(&stores[1]);
            left.merge(&stores[2]);
            // c + (b + a)
            let mut ba = stores[1].clone();
            ba.merge(&stores[0]);
            let mut right = stores[2].clone();
            right.merge(&ba);

            prop_assert!(left == all);
            prop_assert!(right == all);
            let json = serde_json::to_string(&all).unwrap();
            prop_assert_eq!(serde_json::to_string(&right).unwrap(), json.clone());
            let shipped: PatternStore = serde_json::from_str(&json).unwrap();
            prop_assert!(shipped == all);
        }
    }
}
