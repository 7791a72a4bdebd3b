//! The domain model: personas, schemas, analysis results and schema-change proposals.
//!
//! Every type here is plain serde data. Templates, registry rows, API bodies and exports are all
//! serializations of these types.

mod analysis;
mod capture;
mod data_type;
pub mod names;
mod persona;
mod proposal;
mod schema;

pub use analysis::{
    AssociationRule, ColumnRole, ColumnUsage, DataAnalysisResults, EmergingRelationship,
    QueryPatternStats, VolumeTrend,
};
pub use capture::{CaptureEvent, CaptureSource};
pub use data_type::{DataType, DataTypeParseError};
pub use persona::{
    AccessPattern, ColumnHint, DataHints, IndexingApproach, IndexingStrategy, PatternKind,
    PerformanceProfile, PersonaDefinition, TableHints,
};
pub use proposal::{
    Evidence, ProposalKind, ProposalStatus, RiskLabel, SchemaChangeProposal, WorkflowState,
};
pub use schema::{
    Check, Column, DefaultValue, ForeignKey, ForeignKeyAction, Index, IndexColumn, IndexMethod,
    Schema, SortOrder, Table,
};
