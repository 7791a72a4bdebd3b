//! The analyzer: fingerprints, per-pattern statistics, column usage, co-access rules, emerging
//! relationships and data-volume trends, all computed from captured query events.

pub mod fingerprint;
