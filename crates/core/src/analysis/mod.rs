//! The analyzer: fingerprints, per-pattern statistics, column usage, co-access rules, emerging
//! relationships and data-volume trends, all computed from captured query events.

pub mod fingerprint;
pub mod histogram;
pub mod recorder;
pub mod relationships;
pub mod rules;
pub mod snapshot;
pub mod store;
pub mod structure;
pub mod trends;
