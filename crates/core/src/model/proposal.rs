//! Schema-change proposals and the states of the workflows that carry them out.

use serde::{Deserialize, Serialize};

use crate::Dialect;

/// A proposed schema change with its evidence, benefit, SQL both ways and risks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaChangeProposal {
    pub id: String,
    pub kind: ProposalKind,
    pub title: String,
    pub dialect: Dialect,
    pub evidence: Vec<Evidence>,
    /// Estimated fraction of time saved on the affected patterns, 0.0 to 1.0.
    pub estimated_benefit: f64,
    pub forward_sql: Vec<String>,
    /// Statements that exactly undo `forward_sql`.
    pub reverse_sql: Vec<String>,
    pub risks: Vec<RiskLabel>,
    pub status: ProposalStatus,
}

/// What a proposal changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    AddIndex,
    AddColumn,
    AddTable,
    ChangeType,
    Partition,
    AddForeignKey,
    DropIndex,
}

/// One piece of evidence behind a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// A risk a reviewer should know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLabel {
    Locking,
    Destructive,
    DataDependent,
    BackwardIncompatible,
}

/// Where a proposal is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Proposed,
    Testing,
    Passed,
    Failed,
    Approved,
    Applied,
    RolledBack,
    Rejected,
}

/// The persisted progress of a workflow step machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowState {
    Pending,
    Running,
    AwaitingApproval,
    Completed,
    Failed,
    RolledBack,
}
