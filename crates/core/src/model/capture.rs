//! Captured query events: the one event type every capture source emits.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    /// The PostgreSQL wire-protocol proxy.
    Proxy,
    /// `pg_stat_statements` deltas between polls.
    PgStatStatements,
    /// MySQL/MariaDB `performance_schema` statement digests.
    MysqlDigest,
    /// PostgreSQL server log (stderr or csvlog).
    PgLog,
    /// MySQL/MariaDB slow query log.
    MysqlSlowLog,
    /// A JSON-lines event file.
    JsonLines,
    /// The built-in demo workload.
    Demo,
}

/// One observed statement, or (for aggregating sources) `calls` executions of one statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureEvent {
    pub source: CaptureSource,
    /// Session (connection, backend pid, thread id) the statement ran in, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// When the statement completed, in microseconds since the Unix epoch.
    pub at: i64,
    pub sql: String,
    /// Bound parameter values in text form (`None` is SQL NULL), when captured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Option<String>>,
    /// Total execution time of all `calls`.
    #[serde(with = "duration_ms", rename = "duration_ms")]
    pub duration: Duration,
    /// Rows returned or affected (all calls), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Error code or message when the statement failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many executions this event stands for (1 for a single statement).
    #[serde(default = "one")]
    pub calls: u64,
}

fn one() -> u64 {
    1
}

impl CaptureEvent {
    /// A single successful execution.
    pub fn single(
        source: CaptureSource,
        at: i64,
        sql: impl Into<String>,
        duration: Duration,
    ) -> Self {
        CaptureEvent {
            source,
            session: None,
            at,
            sql: sql.into(),
            params: Vec::new(),
            duration,
            rows: None,
            error: None,
            calls: 1,
        }
    }
}

/// Serde for a `Duration` as fractional milliseconds (readable in JSON lines).
mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        if !ms.is_finite() || ms < 0.0 {
            return Err(serde::de::Error::custom(
                "duration_ms must be a non-negative number",
            ));
        }
        Ok(Duration::from_secs_f64(ms / 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_round_trip_and_defaults() {
        let e: CaptureEvent = serde_json::from_str(
            r#"{"source":"json_lines","at":1700000000000000,"sql":"SELECT 1","duration_ms":1.5}"#,
        )
        .unwrap();
        assert_eq!(e.calls, 1);
        assert_eq!(e.duration, Duration::from_micros(1500));
        let back: CaptureEvent = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        assert!(
            serde_json::from_str::<CaptureEvent>(
                r#"{"source":"demo","at":0,"sql":"x","duration_ms":-1}"#
            )
            .is_err()
        );
    }
}
