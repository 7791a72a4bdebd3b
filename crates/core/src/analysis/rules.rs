//! Co-access rules: groups captured statements into session windows ("transactions" of items such
//! as tables or `table.column` filters), mines frequent itemsets with FP-growth and turns them into
//! association rules with support, confidence and lift, e.g. `{orders.customer_id} ⇒
//! {customers.id}`: sessions that read orders by customer also read the customer by id.
//!
//! Everything is a pure function of its inputs and deterministic: the same events and settings give
//! the same rules in the same order, whatever order the windows come in.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::structure::{StatementShape, skip_comments};
use crate::model::{AssociationRule, CaptureEvent, ColumnRole};

/// What counts as an item of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Each table a statement touches (`orders`).
    #[default]
    Table,
    /// Each column a statement filters or joins on (`orders.customer_id`): equality, range, IN and
    /// LIKE-prefix filters and join keys. Ambiguous columns are left out.
    FilterColumn,
}

/// The items of one statement.
/// System-catalog reads ([`StatementShape::system`]) have none.
pub fn statement_items(shape: &StatementShape, kind: ItemKind) -> Vec<String> {
    if shape.system {
        return Vec::new();
    }
    match kind {
        ItemKind::Table => shape.tables.clone(),
        ItemKind::FilterColumn => shape
            .columns
            .iter()
            .filter(|c| {
                c.roles.iter().any(|r| {
                    matches!(
                        r,
                        ColumnRole::EqualityFilter
                            | ColumnRole::RangeFilter
                            | ColumnRole::InList
                            | ColumnRole::LikePrefix
                            | ColumnRole::JoinKey
                    )
                })
            })
            .filter_map(|c| Some(format!("{}.{}", c.table.as_ref()?, c.column)))
            .collect(),
    }
}

/// How statements of one session are grouped into windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowConfig {
    /// A window closes when a session is idle longer than this (µs) between two statements.
    pub max_gap_us: i64,
    /// A window never spans more than this (µs), even inside an explicit transaction.
    pub max_span_us: i64,
    /// `BEGIN` / `START TRANSACTION` open a window and `COMMIT` / `ROLLBACK` / `END` close it;
    /// inside a transaction idle gaps do not split it.
    pub split_on_transactions: bool,
    /// Leave out statements that failed.
    pub skip_failed: bool,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            max_gap_us: 2_000_000,
            max_span_us: 60_000_000,
            split_on_transactions: true,
            skip_failed: true,
        }
    }
}

/// Windows cut from a stream of events.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Windows {
    /// Each window's distinct items, sorted.
    pub transactions: Vec<Vec<String>>,
    /// Events with no session (aggregating sources such as `pg_stat_statements`) cannot be
    /// windowed: how many were left out.
    pub without_session: u64,
}

/// A transaction-control statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    Begin,
    End,
}

/// Whether `sql` opens or closes a transaction (`ROLLBACK TO SAVEPOINT` does neither).
pub fn transaction_boundary(sql: &str) -> Option<Boundary> {
    let mut words = skip_comments(sql)
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase);
    let first = words.next()?;
    match first.as_str() {
        "BEGIN" => Some(Boundary::Begin),
        "START" => (words.next().as_deref() == Some("TRANSACTION")).then_some(Boundary::Begin),
        "COMMIT" | "END" | "ABORT" => Some(Boundary::End),
        "ROLLBACK" => match words.next().as_deref() {
            Some("TO") => None,
            Some("WORK" | "TRANSACTION") if words.next().as_deref() == Some("TO") => None,
            _ => Some(Boundary::End),
        },
        _ => None,
    }
}

/// Cut events into per-session windows; `items` maps a statement's SQL to its items (the caller
/// supplies it from its cached shapes, e.g. with [`statement_items`]). Sessions are processed in
/// name order, each by time (ties keep input order). An event standing for several calls counts
/// once: co-access is about which items occur together, not how often.
pub fn session_windows<F>(events: &[CaptureEvent], config: &WindowConfig, mut items: F) -> Windows
where
    F: FnMut(&str) -> Vec<String>,
{
    let mut sessions: BTreeMap<&str, Vec<&CaptureEvent>> = BTreeMap::new();
    let mut without_session = 0;
    for e in events {
        match &e.session {
            Some(s) => sessions.entry(s.as_str()).or_default().push(e),
            None => without_session += 1,
        }
    }
    let mut transactions = Vec::new();
    for (_, mut list) in sessions {
        list.sort_by_key(|e| e.at);
        let mut window: BTreeSet<String> = BTreeSet::new();
        let mut start: Option<i64> = None;
        let mut last: Option<i64> = None;
        let mut in_tx = false;
        let mut close = |window: &mut BTreeSet<String>, start: &mut Option<i64>| {
            if !window.is_empty() {
                transactions.push(std::mem::take(window).into_iter().collect::<Vec<_>>());
            }
            *start = None;
        };
        for e in list {
            if config.skip_failed && e.error.is_some() {
                continue;
            }
            if config.split_on_transactions
                && let Some(boundary) = transaction_boundary(&e.sql)
            {
                close(&mut window, &mut start);
                in_tx = boundary == Boundary::Begin;
                last = Some(e.at);
                continue;
            }
            let idle = last.is_some_and(|l| e.at.saturating_sub(l) > config.max_gap_us);
            let long = start.is_some_and(|s| e.at.saturating_sub(s) > config.max_span_us);
            if (idle && !in_tx) || long {
                close(&mut window, &mut start);
            }
            let new = items(&e.sql);
            if !new.is_empty() {
                start.get_or_insert(e.at);
                window.extend(new);
            }
            last = Some(e.at);
        }
        close(&mut window, &mut start);
    }
    Windows {
        transactions,
        without_session,
    }
}

/// Thresholds of rule mining.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MiningConfig {
    /// Minimum fraction of windows containing all items of a rule (at least one window).
    pub min_support: f64,
    /// Minimum `support(A ∪ C) / support(A)`.
    pub min_confidence: f64,
    /// Minimum `confidence / support(C)` (inclusive; 1.0 keeps rules at least as likely as chance).
    pub min_lift: f64,
    /// Largest itemset (antecedent plus consequent) considered; clamped to `2..=16`.
    pub max_itemset_size: usize,
}

impl Default for MiningConfig {
    fn default() -> Self {
        MiningConfig {
            min_support: 0.01,
            min_confidence: 0.5,
            min_lift: 1.0,
            max_itemset_size: 4,
        }
    }
}

/// Windows from events, then rules from windows.
pub fn co_access_rules<F>(
    events: &[CaptureEvent],
    window: &WindowConfig,
    mining: &MiningConfig,
    items: F,
) -> Vec<AssociationRule>
where
    F: FnMut(&str) -> Vec<String>,
{
    mine_rules(&session_windows(events, window, items).transactions, mining)
}

/// Item names to dense ids, most frequent first (ties by name), keeping only frequent items.
struct Catalog {
    names: Vec<String>,
    ids: BTreeMap<String, u32>,
}

impl Catalog {
    fn new(transactions: &[Vec<String>], min_count: u64) -> Self {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for t in transactions {
            let distinct: BTreeSet<&str> = t.iter().map(String::as_str).collect();
            for item in distinct {
                *counts.entry(item).or_default() += 1;
            }
        }
        let mut frequent: Vec<(&str, u64)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= min_count)
            .collect();
        frequent.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let names: Vec<String> = frequent.into_iter().map(|(n, _)| n.to_owned()).collect();
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        Catalog { names, ids }
    }

    /// A transaction as sorted, distinct ids of its frequent items.
    fn encode(&self, t: &[String]) -> Vec<u32> {
        let mut ids: Vec<u32> = t.iter().filter_map(|i| self.ids.get(i).copied()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn decode(&self, ids: &[u32]) -> Vec<String> {
        let mut names: Vec<String> = ids
            .iter()
            .map(|&i| self.names[i as usize].clone())
            .collect();
        names.sort();
        names
    }
}

struct FpNode {
    item: u32,
    count: u64,
    parent: usize,
    children: Vec<usize>,
}

/// An FP-tree: transactions as shared prefix paths (items in id order), with a header list of the
/// nodes of each item.
struct FpTree {
    nodes: Vec<FpNode>,
    header: BTreeMap<u32, Vec<usize>>,
}

impl FpTree {
    fn new() -> Self {
        FpTree {
            nodes: vec![FpNode {
                item: u32::MAX,
                count: 0,
                parent: 0,
                children: Vec::new(),
            }],
            header: BTreeMap::new(),
        }
    }

    fn insert(&mut self, path: &[u32], count: u64) {
        let mut cur = 0;
        for &item in path {
            let next = self.nodes[cur]
                .children
                .iter()
                .copied()
                .find(|&c| self.nodes[c].item == item);
            cur = if let Some(c) = next {
                self.nodes[c].count += count;
                c
            } else {
                let idx = self.nodes.len();
                self.nodes.push(FpNode {
                    item,
                    count,
                    parent: cur,
                    children: Vec::new(),
                });
                self.nodes[cur].children.push(idx);
                self.header.entry(item).or_default().push(idx);
                idx
            };
        }
    }

    /// FP-growth: every itemset extending `suffix` with support ≥ `min_count`, up to `max_size`.
    fn grow(
        &self,
        suffix: &mut Vec<u32>,
        min_count: u64,
        max_size: usize,
        out: &mut Vec<(Vec<u32>, u64)>,
    ) {
        for (&item, nodes) in self.header.iter().rev() {
            let support: u64 = nodes.iter().map(|&n| self.nodes[n].count).sum();
            if support < min_count {
                continue;
            }
            suffix.push(item);
            let mut set = suffix.clone();
            set.sort_unstable();
            out.push((set, support));
            if suffix.len() < max_size {
                // The conditional pattern base: the prefix path of each node of `item`.
                let mut base: Vec<(Vec<u32>, u64)> = Vec::with_capacity(nodes.len());
                let mut counts: BTreeMap<u32, u64> = BTreeMap::new();
                for &n in nodes {
                    let count = self.nodes[n].count;
                    let mut path = Vec::new();
                    let mut p = self.nodes[n].parent;
                    while p != 0 {
                        path.push(self.nodes[p].item);
                        p = self.nodes[p].parent;
                    }
                    path.reverse();
                    for &i in &path {
                        *counts.entry(i).or_default() += count;
                    }
                    if !path.is_empty() {
                        base.push((path, count));
                    }
                }
                let mut conditional = FpTree::new();
                for (path, count) in base {
                    let kept: Vec<u32> = path
                        .into_iter()
                        .filter(|i| counts[i] >= min_count)
                        .collect();
                    if !kept.is_empty() {
                        conditional.insert(&kept, count);
                    }
                }
                if !conditional.header.is_empty() {
                    conditional.grow(suffix, min_count, max_size, out);
                }
            }
            suffix.pop();
        }
    }
}

fn frequent_ids(
    transactions: &[Vec<String>],
    min_count: u64,
    max_size: usize,
) -> (Catalog, Vec<(Vec<u32>, u64)>) {
    let min_count = min_count.max(1);
    let catalog = Catalog::new(transactions, min_count);
    let mut tree = FpTree::new();
    for t in transactions {
        let ids = catalog.encode(t);
        if !ids.is_empty() {
            tree.insert(&ids, 1);
        }
    }
    let mut out = Vec::new();
    if max_size > 0 {
        tree.grow(&mut Vec::new(), min_count, max_size, &mut out);
    }
    (catalog, out)
}

/// Every itemset of at most `max_size` items contained in at least `min_count` transactions
/// (at least 1), with its count; each itemset sorted, the list sorted.
pub fn frequent_itemsets(
    transactions: &[Vec<String>],
    min_count: u64,
    max_size: usize,
) -> Vec<(Vec<String>, u64)> {
    let (catalog, sets) = frequent_ids(transactions, min_count, max_size);
    let mut out: Vec<(Vec<String>, u64)> = sets
        .into_iter()
        .map(|(s, c)| (catalog.decode(&s), c))
        .collect();
    out.sort();
    out
}

/// Association rules over `transactions`, sorted by lift, then support, then confidence (all
/// descending), then antecedent and consequent.
pub fn mine_rules(transactions: &[Vec<String>], config: &MiningConfig) -> Vec<AssociationRule> {
    let n = transactions.len() as u64;
    if n == 0 {
        return Vec::new();
    }
    let min_count = ((config.min_support * n as f64) - 1e-9).ceil().max(1.0) as u64;
    let max_size = config.max_itemset_size.clamp(2, 16);
    let (catalog, sets) = frequent_ids(transactions, min_count, max_size);
    let counts: BTreeMap<Vec<u32>, u64> = sets.iter().cloned().collect();
    let mut rules = Vec::new();
    for (set, count) in &sets {
        if set.len() < 2 {
            continue;
        }
        for mask in 1..(1u32 << set.len()) - 1 {
            let mut a = Vec::with_capacity(set.len());
            let mut c = Vec::with_capacity(set.len());
            for (i, &x) in set.iter().enumerate() {
                if mask & (1 << i) == 0 {
                    c.push(x);
                } else {
                    a.push(x);
                }
            }
            // Subsets of a frequent itemset are frequent, so both counts are known.
            let (Some(&ca), Some(&cc)) = (counts.get(&a), counts.get(&c)) else {
                continue;
            };
            let confidence = *count as f64 / ca as f64;
            let lift = (*count as f64 * n as f64) / (ca as f64 * cc as f64);
            if confidence + 1e-12 < config.min_confidence || lift + 1e-12 < config.min_lift {
                continue;
            }
            rules.push(AssociationRule {
                antecedent: catalog.decode(&a),
                consequent: catalog.decode(&c),
                support: *count as f64 / n as f64,
                confidence,
                lift,
            });
        }
    }
    rules.sort_by(compare_rules);
    rules
}

fn compare_rules(a: &AssociationRule, b: &AssociationRule) -> Ordering {
    b.lift
        .total_cmp(&a.lift)
        .then_with(|| b.support.total_cmp(&a.support))
        .then_with(|| b.confidence.total_cmp(&a.confidence))
        .then_with(|| a.antecedent.cmp(&b.antecedent))
        .then_with(|| a.consequent.cmp(&b.consequent))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::analysis::structure::analyze_statement;
    use crate::model::CaptureSource;

    fn tx(items: &[&[&str]]) -> Vec<Vec<String>> {
        items
            .iter()
            .map(|t| t.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn rule_metrics_by_hand() {
        // Counts: a 4, b 4, c 2, ab 3, ac 2, bc 1, abc 1 over 5 windows.
        let t = tx(&[
            &["a", "b"],
            &["b", "a"],
            &["a", "c"],
            &["b"],
            &["a", "b", "c"],
        ]);
        let all = MiningConfig {
            min_support: 0.2,
            min_confidence: 0.0,
            min_lift: 0.0,
            max_itemset_size: 3,
        };
        type Row = (Vec<String>, Vec<String>, f64, f64, f64);
        let got: Vec<Row> = mine_rules(&t, &all)
            .into_iter()
            .map(|r| (r.antecedent, r.consequent, r.support, r.confidence, r.lift))
            .collect();
        let want = [
            (&["c"][..], &["a"][..], 0.4, 1.0, 1.25),
            (&["a"], &["c"], 0.4, 0.5, 1.25),
            (&["b", "c"], &["a"], 0.2, 1.0, 1.25),
            (&["a"], &["b", "c"], 0.2, 0.25, 1.25),
            (&["a"], &["b"], 0.6, 0.75, 0.9375),
            (&["b"], &["a"], 0.6, 0.75, 0.9375),
            (&["c"], &["a", "b"], 0.2, 0.5, 0.5 / 0.6),
            (&["a", "b"], &["c"], 0.2, 1.0 / 3.0, (1.0 / 3.0) / 0.4),
            (&["a", "c"], &["b"], 0.2, 0.5, 0.625),
            (&["c"], &["b"], 0.2, 0.5, 0.625),
            (&["b"], &["a", "c"], 0.2, 0.25, 0.625),
            (&["b"], &["c"], 0.2, 0.25, 0.625),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(
                (g.0.as_slice(), g.1.as_slice()),
                (&strs(w.0)[..], &strs(w.1)[..])
            );
            for (x, y) in [(g.2, w.2), (g.3, w.3), (g.4, w.4)] {
                assert!((x - y).abs() < 1e-12, "{g:?} vs {w:?}");
            }
        }
        // Thresholds.
        let strict = MiningConfig {
            min_support: 0.2,
            min_confidence: 0.6,
            min_lift: 1.0,
            max_itemset_size: 3,
        };
        let kept: Vec<(Vec<String>, Vec<String>)> = mine_rules(&t, &strict)
            .into_iter()
            .map(|r| (r.antecedent, r.consequent))
            .collect();
        assert_eq!(
            kept,
            vec![
                (strs(&["c"]), strs(&["a"])),
                (strs(&["b", "c"]), strs(&["a"]))
            ]
        );
        let pairs_only = MiningConfig {
            max_itemset_size: 2,
            ..all
        };
        assert!(
            mine_rules(&t, &pairs_only)
                .iter()
                .all(|r| r.antecedent.len() + r.consequent.len() == 2)
        );
        let frequent_only = MiningConfig {
            min_support: 0.4,
            ..all
        };
        // Only a, b, c, ab, ac are frequent at 2 of 5.
        assert_eq!(mine_rules(&t, &frequent_only).len(), 4);
        assert!(mine_rules(&[], &all).is_empty());
    }

    #[test]
    fn output_does_not_depend_on_window_order() {
        let t = tx(&[
            &["x", "y"],
            &["y", "z"],
            &["x", "y", "z"],
            &["z"],
            &["x", "z"],
            &["y"],
        ]);
        let cfg = MiningConfig {
            min_support: 0.1,
            min_confidence: 0.0,
            min_lift: 0.0,
            max_itemset_size: 3,
        };
        let mut reversed = t.clone();
        reversed.reverse();
        assert_eq!(mine_rules(&t, &cfg), mine_rules(&reversed, &cfg));
    }

    /// Every itemset up to `max_size` by enumeration.
    fn brute_force(t: &[Vec<String>], min_count: u64, max_size: usize) -> Vec<(Vec<String>, u64)> {
        let universe: Vec<String> = t
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let sets: Vec<BTreeSet<&String>> = t.iter().map(|x| x.iter().collect()).collect();
        let mut out = Vec::new();
        for mask in 1u32..(1 << universe.len()) {
            let items: Vec<&String> = universe
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| s)
                .collect();
            if items.len() > max_size {
                continue;
            }
            let count = sets
                .iter()
                .filter(|s| items.iter().all(|i| s.contains(i)))
                .count() as u64;
            if count >= min_count.max(1) {
                out.push((items.into_iter().cloned().collect(), count));
            }
        }
        out.sort();
        out
    }

    proptest! {
        #[test]
        fn fp_growth_equals_brute_force(
            t in prop::collection::vec(prop::collection::vec(0u8..7, 0..6), 0..40),
            min_count in 0u64..6,
            max_size in 0usize..5,
        ) {
            let t: Vec<Vec<String>> =
                t.into_iter().map(|x| x.into_iter().map(|i| format!("i{i}")).collect()).collect();
            prop_assert_eq!(frequent_itemsets(&t, min_count, max_size), brute_force(&t, min_count, max_size));
        }
    }

    #[test]
    fn transaction_boundaries() {
        let cases = [
            ("BEGIN", Some(Boundary::Begin)),
            ("begin isolation level serializable", Some(Boundary::Begin)),
            (
                "/* app */ START TRANSACTION READ ONLY",
                Some(Boundary::Begin),
            ),
            ("COMMIT", Some(Boundary::End)),
            ("end", Some(Boundary::End)),
            ("ROLLBACK", Some(Boundary::End)),
            ("ROLLBACK TO SAVEPOINT s1", None),
            ("ROLLBACK WORK TO s1", None),
            ("START SLAVE", None),
            ("SELECT 1", None),
            ("", None),
        ];
        for (sql, want) in cases {
            assert_eq!(transaction_boundary(sql), want, "{sql}");
        }
    }

    fn ev(session: Option<&str>, at_ms: i64, sql: &str) -> CaptureEvent {
        let mut e = CaptureEvent::single(
            CaptureSource::Proxy,
            at_ms * 1000,
            sql,
            Duration::from_millis(1),
        );
        e.session = session.map(str::to_owned);
        e
    }

    #[test]
    fn windows_follow_sessions_gaps_and_transactions() {
        let mut failed = ev(Some("s1"), 40, "SELECT * FROM broken");
        failed.error = Some("42P01".into());
        let events = vec![
            ev(Some("s1"), 0, "SELECT * FROM a"),
            ev(Some("s2"), 5, "SELECT * FROM x"),
            ev(Some("s1"), 10, "SELECT * FROM b"),
            failed,
            // An idle gap of 3 s splits s1.
            ev(Some("s1"), 3010, "SELECT * FROM c"),
            // A transaction: closes the previous window, and its own idle gap does not split it.
            ev(Some("s1"), 3020, "BEGIN"),
            ev(Some("s1"), 3030, "SELECT * FROM d"),
            ev(Some("s1"), 9000, "UPDATE e SET v = 1"),
            ev(Some("s1"), 9010, "COMMIT"),
            ev(Some("s1"), 9020, "SET search_path = x"),
            ev(Some("s1"), 9030, "SELECT * FROM f"),
            ev(None, 1, "SELECT * FROM nobody"),
            ev(Some("s2"), 6, "SELECT * FROM y"),
        ];
        let items = |sql: &str| statement_items(&analyze_statement(sql, None), ItemKind::Table);
        let w = session_windows(&events, &WindowConfig::default(), items);
        assert_eq!(w.without_session, 1);
        assert_eq!(
            w.transactions,
            tx(&[&["a", "b"], &["c"], &["d", "e"], &["f"], &["x", "y"]])
        );
        // Without transaction splitting the 6 s gap inside the transaction splits it instead.
        let loose = WindowConfig {
            split_on_transactions: false,
            skip_failed: false,
            ..WindowConfig::default()
        };
        let w = session_windows(&events, &loose, items);
        assert_eq!(
            w.transactions,
            tx(&[&["a", "b", "broken"], &["c", "d"], &["e", "f"], &["x", "y"]])
        );
        // The span limit closes long windows.
        let short = WindowConfig {
            max_span_us: 5_000,
            ..WindowConfig::default()
        };
        let w = session_windows(&events, &short, items);
        assert_eq!(
            w.transactions,
            tx(&[&["a"], &["b"], &["c"], &["d"], &["e"], &["f"], &["x", "y"]])
        );
    }

    #[test]
    fn sessions_reading_orders_by_customer_then_the_customer() {
        let mut events = Vec::new();
        for s in 0..20 {
            let session = format!("app-{s}");
            let base = i64::from(s) * 100_000;
            events.push(ev(
                Some(&session),
                base,
                "SELECT * FROM orders WHERE customer_id = $1",
            ));
            events.push(ev(
                Some(&session),
                base + 5,
                "SELECT name, email FROM customers WHERE id = $1",
            ));
            if s % 4 == 0 {
                events.push(ev(
                    Some(&session),
                    base + 9,
                    "SELECT * FROM products WHERE sku = $1",
                ));
            }
        }
        for s in 0..10 {
            events.push(ev(
                Some(&format!("batch-{s}")),
                0,
                "SELECT * FROM products WHERE sku = $1",
            ));
        }
        let items =
            |sql: &str| statement_items(&analyze_statement(sql, None), ItemKind::FilterColumn);
        let cfg = MiningConfig {
            min_support: 0.1,
            min_confidence: 0.8,
            min_lift: 1.01,
            max_itemset_size: 3,
        };
        let rules = co_access_rules(&events, &WindowConfig::default(), &cfg, items);
        let first = &rules[0];
        let pair = (first.antecedent.clone(), first.consequent.clone());
        assert!(
            pair == (strs(&["orders.customer_id"]), strs(&["customers.id"]))
                || pair == (strs(&["customers.id"]), strs(&["orders.customer_id"])),
            "{rules:?}"
        );
        // 20 of 30 windows hold both; each side appears in exactly those 20.
        assert!((first.support - 20.0 / 30.0).abs() < 1e-12);
        assert!((first.confidence - 1.0).abs() < 1e-12);
        assert!((first.lift - 1.5).abs() < 1e-12);
        assert!(
            rules
                .iter()
                .any(|r| r.antecedent == strs(&["orders.customer_id"])
                    && r.consequent == strs(&["customers.id"]))
        );
        // Products are read independently of orders: no rule links them at this confidence.
        assert!(
            !rules
                .iter()
                .any(|r| r.consequent.contains(&"products.sku".to_owned()))
        );
    }
}
