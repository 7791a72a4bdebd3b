//! Capture sources that need I/O: server logs and JSON-lines event files read from disk
//! ([`files`], with the pure parsers of `persona_core::capture`), statement statistics polled
//! from `pg_stat_statements` and MySQL/MariaDB digests, and data-volume samples.

pub mod files;
pub mod mysql_digest;
pub mod pg_stat_statements;
pub mod volume;

pub use files::{
    LogReadError, LogReadReport, Progress, detect_file_format, read_log, read_log_from,
    read_log_with,
};
pub use persona_core::capture::{LogFormat, LogOptions, ParseReport, SkipReason, Warning};
