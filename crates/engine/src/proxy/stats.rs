//! The proxy's counters: connections, captured and dropped statements, bytes relayed, errors.
//! One cloneable handle shared by the listener and every session; counters are relaxed
//! atomics on their own cache lines, so counting costs the relay path next to nothing.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// One monotonic counter (or, for active connections, a gauge).
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every counter the proxy keeps.
#[derive(Debug, Default)]
pub struct Counters {
    /// Client connections accepted (sessions and cancel requests).
    pub connections_total: Counter,
    /// Client sessions open now.
    pub connections_active: Counter,
    /// Sessions refused because the connection limit was reached.
    pub connections_rejected: Counter,
    /// CancelRequests forwarded to the server.
    pub cancel_requests: Counter,
    /// Statements captured and handed to the event channel.
    pub statements_captured: Counter,
    /// Captured statements dropped because the event channel was full (or closed).
    pub events_dropped: Counter,
    pub bytes_from_clients: Counter,
    pub bytes_from_server: Counter,
    /// ErrorResponses the server sent.
    pub server_errors: Counter,
    /// Client connections closed for a malformed message or startup packet.
    pub protocol_errors: Counter,
    /// Sessions that could not reach the server or lost it.
    pub upstream_failures: Counter,
    /// Times a session paused capture because too many requests were in flight.
    pub capture_pauses: Counter,
}

/// A cloneable handle on the proxy's counters.
#[derive(Debug, Clone, Default)]
pub struct ProxyStats(Arc<Counters>);

impl ProxyStats {
    pub fn counters(&self) -> &Counters {
        &self.0
    }

    /// The counters' values now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let c = &self.0;
        StatsSnapshot {
            connections_total: c.connections_total.get(),
            connections_active: c.connections_active.get(),
            connections_rejected: c.connections_rejected.get(),
            cancel_requests: c.cancel_requests.get(),
            statements_captured: c.statements_captured.get(),
            events_dropped: c.events_dropped.get(),
            bytes_from_clients: c.bytes_from_clients.get(),
            bytes_from_server: c.bytes_from_server.get(),
            server_errors: c.server_errors.get(),
            protocol_errors: c.protocol_errors.get(),
            upstream_failures: c.upstream_failures.get(),
            capture_pauses: c.capture_pauses.get(),
        }
    }
}

/// Counter values at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub connections_total: u64,
    pub connections_active: u64,
    pub connections_rejected: u64,
    pub cancel_requests: u64,
    pub statements_captured: u64,
    pub events_dropped: u64,
    pub bytes_from_clients: u64,
    pub bytes_from_server: u64,
    pub server_errors: u64,
    pub protocol_errors: u64,
    pub upstream_failures: u64,
    pub capture_pauses: u64,
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connections {} ({} active, {} rejected, {} cancel requests), statements captured {}, \
             dropped {}, bytes in {} / out {}, server errors {}, protocol errors {}, upstream \
             failures {}",
            self.connections_total,
            self.connections_active,
            self.connections_rejected,
            self.cancel_requests,
            self.statements_captured,
            self.events_dropped,
            self.bytes_from_clients,
            self.bytes_from_server,
            self.server_errors,
            self.protocol_errors,
            self.upstream_failures,
        )
    }
}

/// Counts one active session for as long as it lives.
#[derive(Debug)]
pub struct ActiveGuard(ProxyStats);

impl ActiveGuard {
    pub fn new(stats: &ProxyStats) -> Self {
        stats.counters().connections_active.inc();
        ActiveGuard(stats.clone())
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.counters().connections_active.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_counters_and_guards_track_active_sessions() {
        let stats = ProxyStats::default();
        let other = stats.clone();
        other.counters().statements_captured.add(3);
        {
            let _a = ActiveGuard::new(&stats);
            let _b = ActiveGuard::new(&other);
            assert_eq!(stats.snapshot().connections_active, 2);
        }
        let s = stats.snapshot();
        assert_eq!((s.statements_captured, s.connections_active), (3, 0));
        assert!(s.to_string().contains("statements captured 3"));
    }
}
