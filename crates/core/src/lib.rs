//! Pure domain logic of Persona Studio: the model, templates and their validation, per-dialect
//! SQL generation, and (later) the analyzer and proposal engine.
//!
//! Nothing in this crate performs I/O: no sockets, no async runtime, no database drivers. Every
//! function is deterministic and unit-testable in milliseconds. Effects live in `persona-engine`.

pub mod analysis;
pub mod capture;
pub mod ddl;
pub mod dialect;
pub mod model;
mod sqlwalk;
pub mod template;
pub mod validate;

pub use dialect::Dialect;
pub use model::{
    AccessPattern, Check, Column, DataAnalysisResults, DataType, DefaultValue, ForeignKey,
    ForeignKeyAction, Index, IndexColumn, IndexMethod, IndexingStrategy, PatternKind,
    PerformanceProfile, PersonaDefinition, Schema, SchemaChangeProposal, SortOrder, Table,
};
