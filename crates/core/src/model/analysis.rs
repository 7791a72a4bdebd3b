//! Analysis results: per-pattern statistics, column usage, co-access rules, emerging
//! relationships and data-volume trends.

use serde::{Deserialize, Serialize};

/// What the analyzer concluded from the captured workload at one moment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DataAnalysisResults {
    pub frequent_queries: Vec<QueryPatternStats>,
    pub emerging_relationships: Vec<EmergingRelationship>,
    pub data_volume_trends: Vec<VolumeTrend>,
    pub rules: Vec<AssociationRule>,
    pub column_usage: Vec<ColumnUsage>,
    /// What could not be analysed, and why.
    pub warnings: Vec<String>,
}

/// Statistics of one query shape (fingerprint).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QueryPatternStats {
    pub fingerprint: String,
    /// The normalized statement text.
    pub normalized_sql: String,
    pub calls: u64,
    pub total_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub rows: u64,
    pub errors: u64,
    pub tables: Vec<String>,
}

/// How a column is used by statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnRole {
    EqualityFilter,
    RangeFilter,
    InList,
    LikePrefix,
    JoinKey,
    OrderBy,
    GroupBy,
    Projected,
    Written,
    JsonPath,
}

/// Usage counts of one column in one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnUsage {
    pub table: String,
    pub column: String,
    pub role: ColumnRole,
    pub calls: u64,
}

/// A co-access rule `antecedent ⇒ consequent` mined from sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssociationRule {
    pub antecedent: Vec<String>,
    pub consequent: Vec<String>,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// A join between columns that no foreign key backs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergingRelationship {
    /// The referencing side (many).
    pub from_table: String,
    pub from_columns: Vec<String>,
    /// The referenced side (one: unique columns).
    pub to_table: String,
    pub to_columns: Vec<String>,
    pub join_count: u64,
    pub types_compatible: bool,
}

/// Growth of one table over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeTrend {
    pub table: String,
    pub rows_now: u64,
    pub bytes_now: u64,
    pub rows_per_day: f64,
    /// A human projection, e.g. "reaches 10M rows in 40 days".
    pub projection: Option<String>,
}
