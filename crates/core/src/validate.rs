//! Validation of a persona: schema consistency, per-dialect support, and access-pattern SQL
//! checked against the schema.
