//! Latency histograms that merge exactly: log-linear buckets over nanoseconds with a bounded
//! relative error, count, sum, min and max, quantiles, and a compact serde form (what a fleet of
//! proxies ships to the registry).
//!
//! # Buckets
//!
//! Values below 64 ns each have their own bucket. Above that, every power of two `[2^e, 2^(e+1))`
//! is split into 32 equal buckets, so a bucket is at most 1/32 of its lower bound wide. A quantile
//! is reported as the middle of its bucket (clamped to the recorded min and max), hence its
//! relative error versus the exact order statistic is at most 1/64 ≈ 1.6% at any magnitude, from
//! sub-microsecond to hours (the whole `u64` range of nanoseconds, about 584 years, is covered
//! by 1,920 bucket indices).
//!
//! # Merging
//!
//! A value's bucket depends on the value alone, and every statistic is a sum, a min or a max, so
//! adding two histograms gives exactly the histogram of the union of their values, in any order
//! and grouping ([`LatencyHistogram::merge`] is associative and commutative).
//!
//! # Serialized form
//!
//! `{"count":…, "sum_ns":…, "min_ns":…, "max_ns":…, "offset":i, "counts":[…]}` where `counts` is
//! the dense run of bucket counts from the first non-empty bucket `offset` to the last non-empty
//! one. A query's latencies usually span a few hundred buckets at most, so this stays small.
//! Deserializing checks the invariants (the counts add up to `count`, min ≤ max, indices in
//! range) and rejects a histogram that breaks them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Bits of mantissa below a value's leading bit that select its bucket.
const SUB_BITS: u32 = 5;
/// Buckets per power of two (above the exact range).
const SUB_COUNT: u64 = 1 << SUB_BITS;
/// One past the largest bucket index (`u64::MAX`'s bucket).
const BUCKETS: usize = bucket_index(u64::MAX) + 1;
/// The bound on a quantile's relative error (half the widest relative bucket width).
pub const RELATIVE_ERROR: f64 = 1.0 / (2 * SUB_COUNT) as f64;

/// The bucket holding `v` nanoseconds.
const fn bucket_index(v: u64) -> usize {
    let e = (v | 1).ilog2();
    let shift = e.saturating_sub(SUB_BITS);
    ((shift as u64) << SUB_BITS) as usize + (v >> shift) as usize
}

/// The lowest value of bucket `i` and its width.
const fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < 2 * SUB_COUNT {
        return (i, 1);
    }
    let shift = (i >> SUB_BITS) - 1;
    let mantissa = i - (shift << SUB_BITS);
    (mantissa << shift, 1 << shift)
}

/// A latency histogram (values in nanoseconds). See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub struct LatencyHistogram {
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    /// Bucket index of `counts[0]`.
    offset: usize,
    /// Dense counts from `offset`; may carry zeros at either end after a merge (trimmed when
    /// serialized).
    counts: Vec<u64>,
}

impl LatencyHistogram {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one value.
    pub fn record(&mut self, d: Duration) {
        self.record_n(d, 1);
    }

    /// Record `n` executions that each took `d`.
    pub fn record_n(&mut self, d: Duration, n: u64) {
        self.record_ns_n(duration_ns(d), n);
    }

    /// Record `n` values of `v` nanoseconds.
    pub fn record_ns_n(&mut self, v: u64, n: u64) {
        if n == 0 {
            return;
        }
        self.add_to_bucket(bucket_index(v), n);
        self.note(n, u128::from(v) * u128::from(n), v, v);
    }

    /// Record `calls` executions whose durations add up to `total`, each assumed to take the mean.
    /// The sum stays the exact total; the distribution (and min/max) see `calls` copies of the
    /// mean, since an aggregating source does not say how the time was spread.
    pub fn record_aggregate(&mut self, total: Duration, calls: u64) {
        if calls == 0 {
            return;
        }
        let total_ns = total.as_nanos();
        let mean = u64::try_from(total_ns / u128::from(calls)).unwrap_or(u64::MAX);
        self.add_to_bucket(bucket_index(mean), calls);
        self.note(calls, total_ns, mean, mean);
    }

    fn note(&mut self, n: u64, sum: u128, min: u64, max: u64) {
        if self.count == 0 {
            self.min_ns = min;
            self.max_ns = max;
        } else {
            self.min_ns = self.min_ns.min(min);
            self.max_ns = self.max_ns.max(max);
        }
        self.count = self.count.saturating_add(n);
        self.sum_ns = self.sum_ns.saturating_add(sum);
    }

    fn add_to_bucket(&mut self, i: usize, n: u64) {
        if self.counts.is_empty() {
            self.offset = i;
            self.counts.push(n);
            return;
        }
        if i < self.offset {
            let grow = self.offset - i;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = i;
        } else if i >= self.offset + self.counts.len() {
            self.counts.resize(i - self.offset + 1, 0);
        }
        let slot = &mut self.counts[i - self.offset];
        *slot = slot.saturating_add(n);
    }

    /// Add every value of `other` (exact: see the [module docs](self)).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if other.count == 0 {
            return;
        }
        let last = other.offset + other.counts.len();
        if self.counts.is_empty() {
            self.offset = other.offset;
        } else if other.offset < self.offset {
            let grow = self.offset - other.offset;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = other.offset;
        }
        if last > self.offset + self.counts.len() {
            self.counts.resize(last - self.offset, 0);
        }
        let base = other.offset - self.offset;
        for (slot, &n) in self.counts[base..].iter_mut().zip(&other.counts) {
            *slot = slot.saturating_add(n);
        }
        self.note(other.count, other.sum_ns, other.min_ns, other.max_ns);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The exact sum of the recorded values, in nanoseconds.
    pub fn sum_ns(&self) -> u128 {
        self.sum_ns
    }

    /// The exact sum of the recorded values.
    pub fn sum(&self) -> Duration {
        let secs = u64::try_from(self.sum_ns / 1_000_000_000).unwrap_or(u64::MAX);
        Duration::new(secs, (self.sum_ns % 1_000_000_000) as u32)
    }

    /// The smallest recorded value (0 when empty).
    pub fn min_ns(&self) -> u64 {
        self.min_ns
    }

    /// The largest recorded value (0 when empty).
    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    /// The exact mean in nanoseconds (0 when empty).
    pub fn mean_ns(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.count as f64
        }
    }

    /// The value at quantile `q` (`0.0..=1.0`, clamped) in nanoseconds: the nearest-rank order
    /// statistic (the `⌈q·count⌉`-th smallest value), within [`RELATIVE_ERROR`] of it (exact for
    /// the smallest and largest). 0 when empty.
    pub fn quantile_ns(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        // The extremes are known exactly.
        if rank == 1 {
            return self.min_ns;
        }
        if rank == self.count {
            return self.max_ns;
        }
        let mut seen = 0u64;
        for (k, &n) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(n);
            if seen >= rank {
                let (low, width) = bucket_range(self.offset + k);
                let mid = low.saturating_add(width / 2);
                return mid.clamp(self.min_ns, self.max_ns);
            }
        }
        self.max_ns
    }

    /// [`quantile_ns`](Self::quantile_ns) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.quantile_ns(q) as f64 / 1e6
    }

    /// Non-empty buckets as `(lowest value, width, count)`, in value order.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(k, &n)| {
                let (low, width) = bucket_range(self.offset + k);
                (low, width, n)
            })
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The serialized form: trimmed dense counts.
#[derive(Serialize, Deserialize)]
struct Repr {
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    offset: usize,
    counts: Vec<u64>,
}

impl From<LatencyHistogram> for Repr {
    fn from(mut h: LatencyHistogram) -> Self {
        let lead = h.counts.iter().take_while(|n| **n == 0).count();
        let trail = h.counts.iter().rev().take_while(|n| **n == 0).count();
        if lead == h.counts.len() {
            h.counts.clear();
            h.offset = 0;
        } else {
            h.counts.truncate(h.counts.len() - trail);
            h.counts.drain(..lead);
            h.offset += lead;
        }
        Repr {
            count: h.count,
            sum_ns: h.sum_ns,
            min_ns: h.min_ns,
            max_ns: h.max_ns,
            offset: h.offset,
            counts: h.counts,
        }
    }
}

/// A serialized histogram whose parts do not agree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistogramError {
    #[error("histogram buckets add up to {buckets} values but its count is {count}")]
    CountMismatch { buckets: u128, count: u64 },
    #[error("histogram bucket indices {offset}..{end} exceed the last bucket {last}")]
    OutOfRange {
        offset: usize,
        end: usize,
        last: usize,
    },
    #[error("histogram min {min} is above its max {max}")]
    MinAboveMax { min: u64, max: u64 },
    #[error("histogram min {min} and max {max} fall outside its buckets")]
    BoundsOutsideBuckets { min: u64, max: u64 },
}

impl TryFrom<Repr> for LatencyHistogram {
    type Error = HistogramError;

    fn try_from(r: Repr) -> Result<Self, Self::Error> {
        let end = r.offset.saturating_add(r.counts.len());
        if end > BUCKETS {
            return Err(HistogramError::OutOfRange {
                offset: r.offset,
                end,
                last: BUCKETS - 1,
            });
        }
        let buckets: u128 = r.counts.iter().map(|&n| u128::from(n)).sum();
        if buckets != u128::from(r.count) {
            return Err(HistogramError::CountMismatch {
                buckets,
                count: r.count,
            });
        }
        if r.count > 0 {
            if r.min_ns > r.max_ns {
                return Err(HistogramError::MinAboveMax {
                    min: r.min_ns,
                    max: r.max_ns,
                });
            }
            let first = r.counts.iter().position(|n| *n > 0).unwrap_or(0) + r.offset;
            let last = r.counts.iter().rposition(|n| *n > 0).unwrap_or(0) + r.offset;
            if bucket_index(r.min_ns) != first || bucket_index(r.max_ns) != last {
                return Err(HistogramError::BoundsOutsideBuckets {
                    min: r.min_ns,
                    max: r.max_ns,
                });
            }
        }
        let mut h = LatencyHistogram {
            count: r.count,
            sum_ns: r.sum_ns,
            min_ns: r.min_ns,
            max_ns: r.max_ns,
            offset: r.offset,
            counts: r.counts,
        };
        if h.count == 0 {
            h = LatencyHistogram::default();
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn bucket_layout_is_contiguous_and_tight() {
        // Every bucket starts where the previous one ended, and is at most 1/32 of its start.
        let mut expected_low = 0u64;
        for i in 0..BUCKETS {
            let (low, width) = bucket_range(i);
            assert_eq!(low, expected_low, "bucket {i}");
            assert_eq!(bucket_index(low), i);
            assert_eq!(bucket_index(low + (width - 1)), i);
            if i >= 64 {
                assert!(width * 32 <= low, "bucket {i}: width {width}, low {low}");
            } else {
                assert_eq!(width, 1);
            }
            expected_low = low.wrapping_add(width);
        }
        assert_eq!(expected_low, 0, "the last bucket ends at u64::MAX");
        assert_eq!(BUCKETS, 1920);
        // One hour in nanoseconds is far inside the range.
        assert!(bucket_index(3_600_000_000_000) < BUCKETS);
    }

    #[test]
    fn statistics_of_a_small_set() {
        let mut h = LatencyHistogram::new();
        for us in [1u64, 2, 3, 4, 100] {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 5);
        assert_eq!(h.sum(), Duration::from_micros(110));
        assert_eq!(h.min_ns(), 1_000);
        assert_eq!(h.max_ns(), 100_000);
        assert!((h.mean_ns() - 22_000.0).abs() < 1e-9);
        // Nearest rank: p50 of 5 values is the 3rd, p95 and p99 the 5th.
        let p50 = h.quantile_ns(0.5) as f64;
        assert!((p50 - 3_000.0).abs() <= 3_000.0 * RELATIVE_ERROR, "{p50}");
        assert_eq!(h.quantile_ns(0.99), 100_000, "the max is exact");
        assert_eq!(h.quantile_ns(0.0), 1_000, "the min is exact");
        assert_eq!(h.quantile_ns(1.0), 100_000);
    }

    #[test]
    fn empty_histogram() {
        let h = LatencyHistogram::new();
        assert!(h.is_empty());
        assert_eq!(h.quantile_ns(0.5), 0);
        assert!(h.mean_ns().abs() < f64::EPSILON);
        let json = serde_json::to_string(&h).unwrap();
        let back: LatencyHistogram = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn aggregate_records_the_mean_calls_times_and_keeps_the_exact_sum() {
        let mut h = LatencyHistogram::new();
        h.record_aggregate(Duration::from_nanos(10_000_001), 3);
        assert_eq!(h.count(), 3);
        assert_eq!(h.sum_ns(), 10_000_001);
        assert_eq!(h.min_ns(), 3_333_333);
        assert_eq!(h.max_ns(), 3_333_333);
        assert_eq!(h.buckets().count(), 1);
        h.record_aggregate(Duration::from_secs(1), 0);
        assert_eq!(h.count(), 3);
    }

    #[test]
    fn serialized_form_is_trimmed_and_checked() {
        let mut a = LatencyHistogram::new();
        a.record(Duration::from_micros(10));
        let mut b = LatencyHistogram::new();
        b.record(Duration::from_millis(10));
        a.merge(&b);
        let json = serde_json::to_value(&a).unwrap();
        let counts = json["counts"].as_array().unwrap();
        assert_eq!(counts.first().unwrap(), 1);
        assert_eq!(counts.last().unwrap(), 1);
        assert_eq!(
            json["offset"].as_u64().unwrap() as usize,
            bucket_index(10_000)
        );
        let back: LatencyHistogram = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back.quantile_ns(1.0), a.quantile_ns(1.0));
        assert_eq!(back.count(), 2);

        let mut bad = json.clone();
        bad["count"] = 3.into();
        assert!(serde_json::from_value::<LatencyHistogram>(bad).is_err());
        let mut bad = json.clone();
        bad["offset"] = 1919.into();
        assert!(serde_json::from_value::<LatencyHistogram>(bad).is_err());
        let mut bad = json;
        bad["min_ns"] = 5.into();
        assert!(serde_json::from_value::<LatencyHistogram>(bad).is_err());
    }

    fn hist(values: &[u64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for &v in values {
            h.record_ns_n(v, 1);
        }
        h
    }

    fn json(h: &LatencyHistogram) -> String {
        serde_json::to_string(h).unwrap()
    }

    /// Latencies spread over many magnitudes: sub-microsecond to about an hour.
    fn latency() -> impl Strategy<Value = u64> {
        (0u32..42, any::<u64>()).prop_map(|(bits, r)| if bits == 0 { 0 } else { r >> (64 - bits) })
    }

    proptest! {
        #[test]
        fn merge_equals_recording_the_union(
            a in prop::collection::vec(latency(), 0..200),
            b in prop::collection::vec(latency(), 0..200),
        ) {
            let mut merged = hist(&a);
            merged.merge(&hist(&b));
            let union: Vec<u64> = a.iter().chain(&b).copied().collect();
            let direct = hist(&union);
            prop_assert_eq!(merged.count(), direct.count());
            prop_assert_eq!(merged.sum_ns(), direct.sum_ns());
            prop_assert_eq!(merged.min_ns(), direct.min_ns());
            prop_assert_eq!(merged.max_ns(), direct.max_ns());
            prop_assert_eq!(
                merged.buckets().collect::<Vec<_>>(),
                direct.buckets().collect::<Vec<_>>()
            );
            // And the serialized forms agree byte for byte.
            prop_assert_eq!(json(&merged), json(&direct));
        }

        #[test]
        fn merge_is_associative_and_commutative(
            a in prop::collection::vec(latency(), 0..100),
            b in prop::collection::vec(latency(), 0..100),
            c in prop::collection::vec(latency(), 0..100),
        ) {
            let (ha, hb, hc) = (hist(&a), hist(&b), hist(&c));
            let mut ab = ha.clone();
            ab.merge(&hb);
            let mut ba = hb.clone();
            ba.merge(&ha);
            prop_assert_eq!(json(&ab), json(&ba));
            let mut ab_c = ab.clone();
            ab_c.merge(&hc);
            let mut bc = hb.clone();
            bc.merge(&hc);
            let mut a_bc = ha.clone();
            a_bc.merge(&bc);
            prop_assert_eq!(json(&ab_c), json(&a_bc));
        }

        #[test]
        fn quantiles_are_within_the_error_bound(
            values in prop::collection::vec(latency(), 1..400),
            q in 0.0f64..=1.0,
        ) {
            let h = hist(&values);
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let exact = sorted[rank - 1] as f64;
            let got = h.quantile_ns(q) as f64;
            prop_assert!(
                (got - exact).abs() <= exact * RELATIVE_ERROR,
                "q {} exact {} got {}", q, exact, got
            );
        }

        #[test]
        fn serde_round_trip(values in prop::collection::vec(latency(), 0..200)) {
            let h = hist(&values);
            let back: LatencyHistogram = serde_json::from_str(&json(&h)).unwrap();
            prop_assert_eq!(back.buckets().collect::<Vec<_>>(), h.buckets().collect::<Vec<_>>());
            prop_assert_eq!(back.count(), h.count());
            prop_assert_eq!(back.sum_ns(), h.sum_ns());
            prop_assert_eq!(back.min_ns(), h.min_ns());
            prop_assert_eq!(back.max_ns(), h.max_ns());
        }
    }
}
