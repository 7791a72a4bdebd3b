//! The analysis snapshot: turns a [`PatternStore`] (plus a schema, recent session events for
//! co-access rules and table-size samples) into [`DataAnalysisResults`]: the top patterns by
//! total time with latency percentiles, column usage, association rules, emerging
//! relationships, data-volume trends and warnings.
//!
//! Every list is in a deterministic order (ties broken by name or fingerprint), so the same inputs
//! give the same results. Shapes come from the store's structure cache: the first snapshot after
//! new patterns (or a new schema) parses them (about 30 µs a shape); later snapshots only
//! aggregate: about 13 ms over 10,000 patterns on a 2-core machine (budget 50 ms; see
//! `benches/benches/snapshot.rs`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::fingerprint::{Fingerprint, Flavor, fingerprint, fingerprint_as};
use super::relationships::{DistinctRatios, RelationshipCandidate, relationship_candidates};
use super::rules::{
    ItemKind, MiningConfig, WindowConfig, Windows, mine_rules, session_windows, statement_items,
};
use super::store::{PatternStats, PatternStore};
use super::structure::{StatementShape, analyze_statement_with_schema};
use super::trends::{TableTrend, TrendConfig, VolumeSample, table_trends};
use crate::model::{
    CaptureEvent, ColumnRole, ColumnUsage, DataAnalysisResults, QueryPatternStats, Schema,
};

/// Settings of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisConfig {
    /// Patterns listed in `frequent_queries` (the top by total time).
    pub top_queries: usize,
    /// Entries of `column_usage` kept (the most called).
    pub max_column_usage: usize,
    /// What an item of a co-access window is.
    pub rule_items: ItemKind,
    pub window: WindowConfig,
    pub mining: MiningConfig,
    /// Rules kept (the strongest, in [`mine_rules`] order).
    pub max_rules: usize,
    /// Emerging relationships kept (the most joined).
    pub max_relationships: usize,
    pub trends: TrendConfig,
    /// Unparseable patterns named one by one in the warnings (the most called first).
    pub max_opaque_warnings: usize,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            top_queries: 100,
            max_column_usage: 1_000,
            rule_items: ItemKind::default(),
            window: WindowConfig::default(),
            mining: MiningConfig::default(),
            max_rules: 200,
            max_relationships: 100,
            trends: TrendConfig::default(),
            max_opaque_warnings: 5,
        }
    }
}

/// Where co-access rules come from.
#[derive(Debug, Clone, Copy, Default)]
pub enum RuleInput<'a> {
    /// No rules.
    #[default]
    None,
    /// Recent events with sessions: windowed here, items taken from the store's shapes.
    Events(&'a [CaptureEvent]),
    /// Windows the caller already cut (e.g. kept incrementally).
    Windows(&'a Windows),
}

impl<'a> From<&'a [CaptureEvent]> for RuleInput<'a> {
    fn from(events: &'a [CaptureEvent]) -> Self {
        RuleInput::Events(events)
    }
}

impl<'a> From<&'a Windows> for RuleInput<'a> {
    fn from(windows: &'a Windows) -> Self {
        RuleInput::Windows(windows)
    }
}

/// A snapshot with what the model's types leave out.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotDetails {
    pub results: DataAnalysisResults,
    /// Emerging relationships with the basis of their direction and their shape count.
    pub relationships: Vec<RelationshipCandidate>,
    /// Volume trends with bytes per day, truncations and sample counts.
    pub trends: Vec<TableTrend>,
    /// Co-access windows mined.
    pub windows: usize,
    /// Patterns whose statement could not be parsed.
    pub opaque_patterns: usize,
}

/// Analyse the store. See the [module docs](self).
pub fn snapshot(
    store: &PatternStore,
    schema: Option<&Schema>,
    rules: RuleInput<'_>,
    samples: &[VolumeSample],
    config: &AnalysisConfig,
) -> DataAnalysisResults {
    snapshot_details(store, schema, rules, samples, config).results
}

/// [`snapshot`], with the richer parts kept.
pub fn snapshot_details(
    store: &PatternStore,
    schema: Option<&Schema>,
    rules: RuleInput<'_>,
    samples: &[VolumeSample],
    config: &AnalysisConfig,
) -> SnapshotDetails {
    let shapes = store.shapes(schema);
    let mut warnings = store.warnings();

    let frequent_queries = frequent_queries(&shapes, config.top_queries);

    let weighted = || shapes.iter().map(|(p, s)| (&**s, p.calls()));
    let column_usage = weighted_column_usage(weighted(), config.max_column_usage);

    let (rules, windows) = co_access(&shapes, schema, rules, config, &mut warnings);

    let relationships = if let Some(schema) = schema {
        let mut found = relationship_candidates(weighted(), schema, &DistinctRatios::new());
        found.truncate(config.max_relationships);
        found
    } else {
        if shapes.iter().any(|(_, s)| !s.joins.is_empty()) {
            warnings.push(
                "no schema given: joins were not checked against foreign keys, so no emerging \
                 relationships are reported"
                    .to_owned(),
            );
        }
        Vec::new()
    };

    let trends = table_trends(samples, &config.trends);
    for t in &trends {
        warnings.extend(t.notes());
    }

    let opaque_patterns = opaque_warnings(&shapes, config.max_opaque_warnings, &mut warnings);

    SnapshotDetails {
        results: DataAnalysisResults {
            frequent_queries,
            emerging_relationships: relationships
                .iter()
                .map(|c| c.relationship.clone())
                .collect(),
            data_volume_trends: trends.iter().map(TableTrend::to_model).collect(),
            rules,
            column_usage,
            warnings,
        },
        relationships,
        trends,
        windows,
        opaque_patterns,
    }
}

/// The top `n` patterns by total time (ties: more calls, then fingerprint).
fn frequent_queries(
    shapes: &[(&PatternStats, Arc<StatementShape>)],
    n: usize,
) -> Vec<QueryPatternStats> {
    let mut order: Vec<usize> = (0..shapes.len()).collect();
    let rank = |i: &usize| {
        let p = shapes[*i].0;
        (
            std::cmp::Reverse(p.latency.sum_ns()),
            std::cmp::Reverse(p.calls()),
            p.fingerprint,
        )
    };
    if n < order.len() {
        if n == 0 {
            return Vec::new();
        }
        order.select_nth_unstable_by_key(n - 1, rank);
        order.truncate(n);
    }
    order.sort_unstable_by_key(rank);
    order
        .into_iter()
        .map(|i| {
            let (p, shape) = &shapes[i];
            QueryPatternStats {
                fingerprint: p.fingerprint.to_string(),
                normalized_sql: p.normalized.clone(),
                calls: p.calls(),
                total_ms: p.total_ms(),
                p50_ms: p.latency.quantile_ms(0.50),
                p95_ms: p.latency.quantile_ms(0.95),
                p99_ms: p.latency.quantile_ms(0.99),
                rows: p.rows,
                errors: p.errors,
                tables: shape.tables.clone(),
            }
        })
        .collect()
}

/// [`column_usage`](super::structure::column_usage) (same entries, same order), cut to the `max`
/// most called. Counted per borrowed `(table, column)` with a fast hash, so that only the entries
/// kept allocate: with `column_usage` itself this step took most of a snapshot over 10,000
/// shapes (it clones both names for every column of every shape into a `BTreeMap`).
fn weighted_column_usage<'a>(
    shapes: impl IntoIterator<Item = (&'a StatementShape, u64)>,
    max: usize,
) -> Vec<ColumnUsage> {
    let mut counts: HashMap<(&str, &str), [u64; ROLES.len()], BuildHasherDefault<NameHasher>> =
        HashMap::default();
    for (shape, calls) in shapes {
        for c in &shape.columns {
            let Some(table) = c.table.as_deref() else {
                continue;
            };
            if c.roles.is_empty() {
                continue;
            }
            let slots = counts.entry((table, c.column.as_str())).or_default();
            for &role in &c.roles {
                let slot = &mut slots[role_index(role)];
                *slot = slot.saturating_add(calls);
            }
        }
    }
    if max == 0 {
        return Vec::new();
    }
    type Entry<'s> = (u64, &'s str, &'s str, ColumnRole);
    fn rank<'s>(e: &Entry<'s>) -> (std::cmp::Reverse<u64>, &'s str, &'s str, ColumnRole) {
        (std::cmp::Reverse(e.0), e.1, e.2, e.3)
    }
    let mut all: Vec<Entry<'a>> = counts
        .into_iter()
        .flat_map(|((table, column), slots)| {
            ROLES
                .iter()
                .zip(slots)
                .filter(|(_, n)| *n > 0)
                .map(move |(&role, n)| (n, table, column, role))
        })
        .collect();
    if max < all.len() {
        all.select_nth_unstable_by_key(max - 1, rank);
        all.truncate(max);
    }
    all.sort_unstable_by_key(rank);
    all.into_iter()
        .map(|(calls, table, column, role)| ColumnUsage {
            table: table.to_owned(),
            column: column.to_owned(),
            role,
            calls,
        })
        .collect()
}

/// Every role, in declaration (and so `Ord`) order.
const ROLES: [ColumnRole; 10] = [
    ColumnRole::EqualityFilter,
    ColumnRole::RangeFilter,
    ColumnRole::InList,
    ColumnRole::LikePrefix,
    ColumnRole::JoinKey,
    ColumnRole::OrderBy,
    ColumnRole::GroupBy,
    ColumnRole::Projected,
    ColumnRole::Written,
    ColumnRole::JsonPath,
];

/// The position of `role` in [`ROLES`] (exhaustive: a new role fails to compile here).
fn role_index(role: ColumnRole) -> usize {
    match role {
        ColumnRole::EqualityFilter => 0,
        ColumnRole::RangeFilter => 1,
        ColumnRole::InList => 2,
        ColumnRole::LikePrefix => 3,
        ColumnRole::JoinKey => 4,
        ColumnRole::OrderBy => 5,
        ColumnRole::GroupBy => 6,
        ColumnRole::Projected => 7,
        ColumnRole::Written => 8,
        ColumnRole::JsonPath => 9,
    }
}

/// A fast, unkeyed hash for identifier names taken from parsed statements (a few words each).
#[derive(Default, Clone, Copy)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.0 =
            (self.0.rotate_left(23) ^ u64::from_le_bytes(tail) ^ rest.len() as u64).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        // MurmurHash3's finalizer: spreads the state over the high bits the table probes with.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

/// Rules from events (windowed with the store's shapes) or from prepared windows.
fn co_access(
    shapes: &[(&PatternStats, Arc<StatementShape>)],
    schema: Option<&Schema>,
    input: RuleInput<'_>,
    config: &AnalysisConfig,
    warnings: &mut Vec<String>,
) -> (Vec<crate::model::AssociationRule>, usize) {
    let windows;
    let windows = match input {
        RuleInput::None => return (Vec::new(), 0),
        RuleInput::Windows(w) => w,
        RuleInput::Events(events) => {
            windows = event_windows(shapes, schema, events, config);
            if windows.without_session > 0 {
                warnings.push(format!(
                    "{} events without a session (aggregating sources) were left out of \
                     co-access rules",
                    windows.without_session
                ));
            }
            &windows
        }
    };
    let mut rules = mine_rules(&windows.transactions, &config.mining);
    rules.truncate(config.max_rules);
    (rules, windows.transactions.len())
}

fn event_windows(
    shapes: &[(&PatternStats, Arc<StatementShape>)],
    schema: Option<&Schema>,
    events: &[CaptureEvent],
    config: &AnalysisConfig,
) -> Windows {
    let by_fp: HashMap<Fingerprint, &StatementShape> =
        shapes.iter().map(|(p, s)| (p.fingerprint, &**s)).collect();
    // Items per statement text's generic fingerprint, computed once per snapshot.
    let mut items: HashMap<Fingerprint, Vec<String>> = HashMap::new();
    let kind = config.rule_items;
    session_windows(events, &config.window, |sql| {
        let generic = fingerprint(sql);
        items
            .entry(generic)
            .or_insert_with(|| {
                // The store keys patterns by their source's flavor; statements that lex alike
                // in every flavor (nearly all) share the generic fingerprint.
                let known = [
                    generic,
                    fingerprint_as(sql, Flavor::Postgres),
                    fingerprint_as(sql, Flavor::Mysql),
                ]
                .into_iter()
                .find_map(|fp| by_fp.get(&fp).copied());
                match known {
                    Some(shape) => statement_items(shape, kind),
                    None => {
                        statement_items(&analyze_statement_with_schema(sql, None, schema), kind)
                    }
                }
            })
            .clone()
    })
}

/// Warn about patterns kept opaque: the most called by name, the rest as a count.
fn opaque_warnings(
    shapes: &[(&PatternStats, Arc<StatementShape>)],
    max_named: usize,
    warnings: &mut Vec<String>,
) -> usize {
    let mut opaque: Vec<(&PatternStats, &StatementShape)> = shapes
        .iter()
        .filter(|(_, s)| s.is_opaque())
        .map(|(p, s)| (*p, &**s))
        .collect();
    opaque.sort_by_key(|(p, _)| (std::cmp::Reverse(p.calls()), p.fingerprint));
    for (p, s) in opaque.iter().take(max_named) {
        let text: String = p.normalized.chars().take(80).collect();
        let cut = if text.len() < p.normalized.len() {
            "…"
        } else {
            ""
        };
        let why = s.warnings.first().map_or("unparseable", String::as_str);
        warnings.push(format!(
            "query pattern {} ({} calls) `{text}{cut}`: {why}",
            p.fingerprint,
            p.calls()
        ));
    }
    if opaque.len() > max_named {
        let calls: u64 = opaque.iter().map(|(p, _)| p.calls()).sum();
        warnings.push(format!(
            "{} of {} query patterns ({calls} calls) could not be parsed and are kept opaque",
            opaque.len(),
            shapes.len()
        ));
    }
    opaque.len()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::analysis::store::StoreConfig;
    use crate::analysis::trends::VolumeSample;
    use crate::model::{
        AssociationRule, CaptureSource, Column, ColumnRole, DataType, ForeignKey, ForeignKeyAction,
        Table,
    };

    const T0: i64 = 1_700_000_000_000_000;
    const SEC: i64 = 1_000_000;

    fn table(name: &str, cols: &[(&str, DataType)], fks: Vec<ForeignKey>) -> Table {
        Table {
            name: name.into(),
            columns: cols.iter().map(|(c, t)| Column::new(*c, *t)).collect(),
            primary_key: vec!["id".into()],
            foreign_keys: fks,
            ..Table::default()
        }
    }

    /// A shop: `orders.customer_id` has no foreign key; `order_items.order_id` has one.
    fn schema() -> Schema {
        Schema {
            tables: vec![
                table(
                    "customers",
                    &[("id", DataType::BigInt), ("email", DataType::Text)],
                    vec![],
                ),
                table(
                    "orders",
                    &[
                        ("id", DataType::BigInt),
                        ("customer_id", DataType::BigInt),
                        ("status", DataType::Text),
                        ("created_at", DataType::TimestampTz),
                    ],
                    vec![],
                ),
                table(
                    "order_items",
                    &[
                        ("id", DataType::BigInt),
                        ("order_id", DataType::BigInt),
                        ("qty", DataType::Integer),
                    ],
                    vec![ForeignKey {
                        name: "order_items_order_id_fkey".into(),
                        columns: vec!["order_id".into()],
                        ref_table: "orders".into(),
                        ref_columns: vec!["id".into()],
                        on_delete: ForeignKeyAction::default(),
                        on_update: ForeignKeyAction::default(),
                    }],
                ),
                table(
                    "products",
                    &[("id", DataType::BigInt), ("sku", DataType::Text)],
                    vec![],
                ),
            ],
        }
    }

    fn ev(session: Option<&str>, at: i64, sql: String, us: u64) -> CaptureEvent {
        let mut e = CaptureEvent::single(CaptureSource::Proxy, at, sql, Duration::from_micros(us));
        e.session = session.map(str::to_owned);
        e.rows = Some(1);
        e
    }

    /// 10 customer sessions (customer, their orders, a join by email, order items), 5 catalog
    /// sessions (products by sku, 2 ms each), one unparseable statement and one
    /// `pg_stat_statements` aggregate without a session.
    fn workload() -> Vec<CaptureEvent> {
        let mut out = Vec::new();
        for k in 0..10i64 {
            let s = format!("c{k}");
            let t = T0 + k * 100 * SEC;
            out.push(ev(
                Some(&s),
                t,
                format!("SELECT * FROM customers WHERE id = {k}"),
                300,
            ));
            out.push(ev(
                Some(&s),
                t + SEC / 10,
                format!(
                    "SELECT id, status FROM orders WHERE customer_id = {k} \
                     ORDER BY created_at DESC LIMIT 10"
                ),
                1_000 + k as u64 * 100,
            ));
            out.push(ev(
                Some(&s),
                t + SEC / 5,
                format!(
                    "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id \
                     WHERE c.email = 'u{k}@example.com'"
                ),
                5_000,
            ));
            out.push(ev(
                Some(&s),
                t + SEC / 4,
                format!(
                    "SELECT i.qty FROM order_items i JOIN orders o ON o.id = i.order_id \
                     WHERE o.id = {k}"
                ),
                400,
            ));
        }
        for k in 0..5i64 {
            let s = format!("p{k}");
            let t = T0 + 2_000 * SEC + k * 100 * SEC;
            for j in 0..4 {
                out.push(ev(
                    Some(&s),
                    t + j * SEC / 10,
                    format!("SELECT * FROM products WHERE sku = 'SKU-{k}{j}'"),
                    2_000,
                ));
            }
        }
        out.push(ev(
            Some("x"),
            T0 + 5_000 * SEC,
            "SELEKT nonsense FROM".into(),
            50,
        ));
        let mut agg = CaptureEvent::single(
            CaptureSource::PgStatStatements,
            T0 + 6_000 * SEC,
            "SELECT * FROM products WHERE sku = $1",
            Duration::from_millis(20),
        );
        agg.calls = 10;
        out.push(agg);
        out
    }

    fn store_of(events: &[CaptureEvent]) -> PatternStore {
        let mut store = PatternStore::new(StoreConfig::default());
        store.record_all(events);
        store
    }

    fn samples() -> Vec<VolumeSample> {
        [(0, 8_900_000), (2, 8_950_000), (4, 9_000_000)]
            .into_iter()
            .map(|(day, rows)| VolumeSample {
                at: T0 + day * 86_400 * SEC,
                table: "orders".into(),
                rows,
                bytes: Some(rows * 100),
            })
            .collect()
    }

    #[test]
    fn a_full_snapshot() {
        let events = workload();
        let store = store_of(&events);
        let schema = schema();
        let config = AnalysisConfig::default();
        let details = snapshot_details(
            &store,
            Some(&schema),
            RuleInput::Events(&events),
            &samples(),
            &config,
        );
        let r = &details.results;

        // Top by total time: products (20 × 2 ms + 10 calls of 2 ms mean = 60 ms), then the
        // join (10 × 5 ms), the orders lookup (10 × ~1.45 ms), items (4 ms), customers (3 ms).
        let top: Vec<(String, u64)> = r
            .frequent_queries
            .iter()
            .map(|q| (q.tables.join(","), q.calls))
            .collect();
        let want = [
            ("products", 30),
            ("customers,orders", 10),
            ("orders", 10),
            ("order_items,orders", 10),
            ("customers", 10),
            ("", 1),
        ];
        assert_eq!(top, want.map(|(t, c)| (t.to_owned(), c)));
        let products = &r.frequent_queries[0];
        assert_eq!(
            products.normalized_sql,
            "SELECT * FROM products WHERE sku = ?"
        );
        assert!((products.total_ms - 60.0).abs() < 1e-9);
        assert!((products.p50_ms - 2.0).abs() <= 2.0 * 0.016);
        assert_eq!(products.rows, 20, "the aggregate reported no rows");
        let orders = &r.frequent_queries[2];
        assert!((orders.total_ms - 14.5).abs() < 1e-9);
        // Latencies 1.0 … 1.9 ms: nearest-rank p50 is the 5th (1.4 ms), p99 the 10th (1.9 ms).
        assert!(
            (orders.p50_ms - 1.4).abs() <= 1.4 * 0.016,
            "{}",
            orders.p50_ms
        );
        assert!((orders.p99_ms - 1.9).abs() < 1e-9, "the max is exact");
        assert_eq!(orders.fingerprint.len(), 16);

        // Column usage, weighted by calls.
        let usage = |t: &str, c: &str, role: ColumnRole| {
            r.column_usage
                .iter()
                .find(|u| u.table == t && u.column == c && u.role == role)
                .map(|u| u.calls)
        };
        assert_eq!(
            usage("products", "sku", ColumnRole::EqualityFilter),
            Some(30)
        );
        assert_eq!(
            usage("orders", "customer_id", ColumnRole::EqualityFilter),
            Some(10)
        );
        assert_eq!(
            usage("orders", "customer_id", ColumnRole::JoinKey),
            Some(10)
        );
        assert_eq!(usage("orders", "created_at", ColumnRole::OrderBy), Some(10));
        assert!(r.column_usage.windows(2).all(|w| w[0].calls >= w[1].calls));

        // Rules over tables: 10 windows {customers, order_items, orders}, 5 {products}, one
        // failed-free garbage window with no items. customers ⇒ orders: support 10/15,
        // confidence 1, lift 1 / (10/15) = 1.5.
        assert_eq!(details.windows, 15);
        let rule = r
            .rules
            .iter()
            .find(|x| x.antecedent == ["customers"] && x.consequent == ["orders"])
            .expect("customers ⇒ orders");
        assert!((rule.support - 10.0 / 15.0).abs() < 1e-12);
        assert!((rule.confidence - 1.0).abs() < 1e-12);
        assert!((rule.lift - 1.5).abs() < 1e-12);
        assert!(
            r.rules
                .iter()
                .all(|x| !x.antecedent.contains(&"products".to_owned()))
        );

        // The undeclared join is emerging; the declared one is not.
        assert_eq!(r.emerging_relationships.len(), 1);
        let rel = &r.emerging_relationships[0];
        assert_eq!(
            (rel.from_table.as_str(), rel.from_columns.as_slice()),
            ("orders", ["customer_id".to_owned()].as_slice())
        );
        assert_eq!(
            (rel.to_table.as_str(), rel.to_columns.as_slice()),
            ("customers", ["id".to_owned()].as_slice())
        );
        assert_eq!(rel.join_count, 10);
        assert!(rel.types_compatible);

        // Trends.
        assert_eq!(r.data_volume_trends.len(), 1);
        assert_eq!(
            r.data_volume_trends[0].projection.as_deref(),
            Some("orders reaches 10M rows in 40 days")
        );
        assert!((details.trends[0].bytes_per_day.unwrap() - 2_500_000.0).abs() < 1e-6);

        // Warnings: the opaque pattern and the session-less aggregate.
        assert_eq!(details.opaque_patterns, 1);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("SELEKT") && w.contains("(1 calls)")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.starts_with("1 events without a session"))
        );
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    }

    #[test]
    fn deterministic_whatever_the_order_or_merging() {
        let events = workload();
        let schema = schema();
        let config = AnalysisConfig::default();
        let run = |store: &PatternStore| {
            snapshot(
                store,
                Some(&schema),
                RuleInput::Events(&events),
                &samples(),
                &config,
            )
        };
        let a = run(&store_of(&events));
        let mut reversed = events.clone();
        reversed.reverse();
        let b = run(&store_of(&reversed));
        let (left, right) = events.split_at(17);
        let mut merged = store_of(right);
        merged.merge(&store_of(left));
        let c = run(&merged);
        assert_eq!(a, b);
        assert_eq!(a, c);
        // And a second snapshot of the same store (shapes from the cache) is identical.
        let store = store_of(&events);
        assert_eq!(run(&store), run(&store));
    }

    #[test]
    fn limits_and_prepared_windows() {
        let events = workload();
        let store = store_of(&events);
        let schema = schema();
        let full = snapshot(
            &store,
            Some(&schema),
            RuleInput::Events(&events),
            &[],
            &AnalysisConfig::default(),
        );
        let config = AnalysisConfig {
            top_queries: 2,
            max_column_usage: 3,
            max_rules: 1,
            ..AnalysisConfig::default()
        };
        let windows = Windows {
            transactions: vec![
                vec!["customers".into(), "orders".into()],
                vec!["customers".into(), "orders".into()],
                vec!["products".into()],
            ],
            without_session: 0,
        };
        let small = snapshot(
            &store,
            Some(&schema),
            RuleInput::Windows(&windows),
            &[],
            &config,
        );
        assert_eq!(small.frequent_queries, full.frequent_queries[..2]);
        assert_eq!(small.column_usage, full.column_usage[..3]);
        assert_eq!(
            small.rules,
            [AssociationRule {
                antecedent: vec!["customers".into()],
                consequent: vec!["orders".into()],
                support: 2.0 / 3.0,
                confidence: 1.0,
                lift: 1.5,
            }]
        );
        let none = snapshot(
            &store,
            Some(&schema),
            RuleInput::None,
            &[],
            &AnalysisConfig {
                top_queries: 0,
                ..AnalysisConfig::default()
            },
        );
        assert!(none.rules.is_empty() && none.frequent_queries.is_empty());
    }

    #[test]
    fn column_usage_matches_the_structure_module() {
        let events = workload();
        let store = store_of(&events);
        let schema = schema();
        let shapes = store.shapes(Some(&schema));
        let weighted = || shapes.iter().map(|(p, s)| (&**s, p.calls()));
        let reference = crate::analysis::structure::column_usage(weighted());
        assert!(reference.len() > 10);
        assert_eq!(weighted_column_usage(weighted(), usize::MAX), reference);
        assert_eq!(weighted_column_usage(weighted(), 4), reference[..4]);
        assert!(weighted_column_usage(weighted(), 0).is_empty());
    }

    #[test]
    fn role_table_is_in_declaration_order() {
        assert!(ROLES.windows(2).all(|w| w[0] < w[1]));
        for (i, role) in ROLES.iter().enumerate() {
            assert_eq!(role_index(*role), i);
        }
    }

    #[test]
    fn without_a_schema() {
        let events = workload();
        let store = store_of(&events);
        let r = snapshot(
            &store,
            None,
            RuleInput::None,
            &[],
            &AnalysisConfig::default(),
        );
        assert!(r.emerging_relationships.is_empty());
        assert!(r.warnings.iter().any(|w| w.starts_with("no schema given")));
        // Single-table statements still resolve their columns without a schema.
        assert!(
            r.column_usage
                .iter()
                .any(|u| u.table == "products" && u.column == "sku")
        );
        assert_eq!(r.frequent_queries.len(), 6);
    }

    #[test]
    fn an_empty_store() {
        let r = snapshot(
            &PatternStore::default(),
            Some(&schema()),
            RuleInput::Events(&[]),
            &[],
            &AnalysisConfig::default(),
        );
        assert_eq!(r, DataAnalysisResults::default());
    }

    #[test]
    fn many_opaque_patterns_are_summarized() {
        let mut store = PatternStore::default();
        for i in 0..8 {
            store.record(&ev(
                None,
                T0,
                format!("FROBNICATE widget_{i} WITH GUSTO ((("),
                10,
            ));
        }
        let config = AnalysisConfig {
            max_opaque_warnings: 3,
            ..AnalysisConfig::default()
        };
        let d = snapshot_details(&store, None, RuleInput::None, &[], &config);
        assert_eq!(d.opaque_patterns, 8);
        assert_eq!(d.results.warnings.len(), 4, "{:?}", d.results.warnings);
        assert!(d.results.warnings[3].starts_with("8 of 8 query patterns (8 calls)"));
    }
}
