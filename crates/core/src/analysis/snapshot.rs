//! The analysis snapshot: turns a [`PatternStore`] (plus a schema, recent session events for
//! co-access rules and table-size samples) into [`DataAnalysisResults`]: the top patterns by
//! total time with latency percentiles, column usage, association rules, emerging
//! relationships, data-volume trends and warnings.
//!
//! Every list is in a deterministic order (ties broken by name or fingerprint), so the same inputs
//! give the same results. Shapes come from the store's structure cache: the first snapshot after
//! new patterns (or a new schema) parses them; later snapshots only aggregate, which keeps a
//! snapshot over 10,000 patterns within a few milliseconds (see `benches/benches/snapshot.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::fingerprint::{Fingerprint, Flavor, fingerprint, fingerprint_as};
use super::relationships::{DistinctRatios, RelationshipCandidate, relationship_candidates};
use super::rules::{
    ItemKind, MiningConfig, WindowConfig, Windows, mine_rules, session_windows, statement_items,
};
use super::store::{PatternStats, PatternStore};
use super::structure::{StatementShape, analyze_statement_with_schema, column_usage};
use super::trends::{TableTrend, TrendConfig, VolumeSample, table_trends};
use crate::model::{CaptureEvent, DataAnalysisResults, QueryPatternStats, Schema};

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
    let mut column_usage = column_usage(weighted());
    column_usage.truncate(config.max_column_usage);

    let (rules, windows) = co_access(&shapes, schema, rules, config, &mut warnings);

    let relationships = match schema {
        Some(schema) => {
            let mut found = relationship_candidates(weighted(), schema, &DistinctRatios::new());
            found.truncate(config.max_relationships);
            found
        }
        None => {
            if shapes.iter().any(|(_, s)| !s.joins.is_empty()) {
                warnings.push(
                    "no schema given: joins were not checked against foreign keys, so no \
                     emerging relationships are reported"
                        .to_owned(),
                );
            }
            Vec::new()
        }
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
mod tests {}
