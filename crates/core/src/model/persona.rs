//! Personas: application archetypes with a schema, access patterns and a performance profile.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Schema;

/// An application archetype. Templates in `templates/` and registry entries are both this type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaDefinition {
    /// Stable identifier; empty in a template (the registry assigns one).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub persona_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Version number in the registry (1 for a new persona; every edit adds one).
    #[serde(default = "first_version")]
    pub version: u32,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub performance_profile: PerformanceProfile,
    #[serde(default)]
    pub indexing_strategy: IndexingStrategy,
    #[serde(default)]
    pub access_patterns: Vec<AccessPattern>,
    pub initial_schema: Schema,
    /// Hints for generating realistic data, by table name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data_hints: DataHints,
}

fn first_version() -> u32 {
    1
}

/// An expected access pattern of the application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPattern {
    pub name: String,
    pub kind: PatternKind,
    /// An example statement, in PostgreSQL-compatible SQL with `$n` parameters.
    pub sql: String,
    /// Expected executions per second at normal load.
    #[serde(default)]
    pub expected_rate_per_sec: f64,
    /// The p95 latency target in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_latency_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// What an access pattern does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    PointLookup,
    RangeScan,
    TopN,
    Aggregate,
    Join,
    TextSearch,
    Insert,
    Update,
    Delete,
}

impl PatternKind {
    /// Every kind, in the order the model declares them.
    pub const ALL: [PatternKind; 9] = [
        PatternKind::PointLookup,
        PatternKind::RangeScan,
        PatternKind::TopN,
        PatternKind::Aggregate,
        PatternKind::Join,
        PatternKind::TextSearch,
        PatternKind::Insert,
        PatternKind::Update,
        PatternKind::Delete,
    ];

    /// Whether the pattern writes.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            PatternKind::Insert | PatternKind::Update | PatternKind::Delete
        )
    }
}

/// The expected load and growth of an application.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceProfile {
    /// Fraction of statements that read, 0.0 to 1.0.
    #[serde(default)]
    pub read_ratio: f64,
    #[serde(default)]
    pub reads_per_sec: f64,
    #[serde(default)]
    pub writes_per_sec: f64,
    /// Peak load as a multiple of normal load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_multiplier: Option<f64>,
    /// Expected new rows per day, by table.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub growth_rows_per_day: BTreeMap<String, u64>,
    /// How long data is kept, in days (none: forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// How a persona wants to be indexed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexingStrategy {
    #[serde(default)]
    pub approach: IndexingApproach,
    /// At most this many secondary indexes per table (none: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_indexes_per_table: Option<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// The broad indexing stance of a persona.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexingApproach {
    /// Index only what the access patterns need.
    Minimal,
    /// Index the hot read paths, keep writes cheap.
    #[default]
    Balanced,
    /// Reads dominate: covering and composite indexes are welcome.
    ReadOptimized,
    /// Writes dominate: as few indexes as possible.
    WriteOptimized,
}

/// Hints for generating realistic data, by table name.
pub type DataHints = BTreeMap<String, TableHints>;

/// How to generate rows for one table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableHints {
    /// How many rows a seeded demo database holds.
    #[serde(default)]
    pub rows: u64,
    /// Column generators, by column name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnHint>,
}

/// A generator for one column's values, written as a short spec string: `email`, `name`,
/// `words(3)`, `range(1, 1000)`, `choice(a, b, c)`, `zipf(1.1)`, `recent(90d)`, `json`, …
pub type ColumnHint = String;
