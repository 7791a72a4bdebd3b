//! Data-volume trends: from periodic samples of each table's row count and size, a growth rate
//! fitted by least squares over a recent window, bytes per day, and a projection such as
//! "orders reaches 10M rows in 40 days".
//!
//! Rules, per table:
//! - Samples outside the window (older than the newest sample minus `window_days`) are ignored;
//!   samples at the same instant keep the last one given.
//! - One sample (or one instant) gives no trend: a rate needs two points in time.
//! - A drop to below `truncation_ratio` of the previous sample is taken as a truncation or mass
//!   delete: the fit starts again from that sample and the trend notes it. Smaller decreases
//!   (ordinary deletes) stay in the fit, which then gives the net rate, and are noted too.
//! - The projection targets the configured threshold, or else the next power of ten from
//!   `first_milestone` (1M, 10M, 100M, …) above the current count; none when the table is not
//!   growing or the milestone lies beyond `horizon_days`. A shrinking table gets "shrinks by …".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::VolumeTrend;

const DAY_US: f64 = 86_400_000_000.0;

/// One measurement of a table's size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSample {
    /// When the sample was taken, in microseconds since the Unix epoch.
    pub at: i64,
    pub table: String,
    /// Row count (exact or the planner's estimate).
    pub rows: u64,
    /// Size on disk, when the dialect reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// Settings of trend fitting and projection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrendConfig {
    /// Only samples this recent (relative to each table's newest sample) are fitted.
    pub window_days: f64,
    /// Project to this row count instead of the next power of ten.
    pub threshold: Option<u64>,
    /// The first power-of-ten milestone (milestones below it are not worth a projection).
    pub first_milestone: u64,
    /// Milestones further away than this are not projected.
    pub horizon_days: f64,
    /// A sample below this fraction of the previous one is a truncation (or mass delete).
    pub truncation_ratio: f64,
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig {
            window_days: 7.0,
            threshold: None,
            first_milestone: 1_000_000,
            horizon_days: 3_650.0,
            truncation_ratio: 0.5,
        }
    }
}

/// Where a projection leads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Projection {
    /// The table reaches `milestone` rows in `days`.
    Reaches { milestone: u64, days: f64 },
    /// The table loses rows at this rate (rows per day, positive).
    Shrinks { rows_per_day: f64 },
}

/// A truncation or mass delete seen between two samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shrink {
    pub at: i64,
    pub from_rows: u64,
    pub to_rows: u64,
}

/// The trend of one table, richer than the model's [`VolumeTrend`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableTrend {
    pub table: String,
    /// Rows at the newest sample.
    pub rows_now: u64,
    /// Bytes at the newest sample that reported a size.
    pub bytes_now: Option<u64>,
    /// Samples fitted (after the window and the last truncation).
    pub samples: usize,
    /// Days between the first and last fitted sample.
    pub span_days: f64,
    /// Fitted rows per day; `None` when there is no trend yet (fewer than two instants).
    pub rows_per_day: Option<f64>,
    /// Fitted bytes per day, when at least two fitted samples report a size.
    pub bytes_per_day: Option<f64>,
    /// The last truncation (or mass delete) in the window; the fit starts after it.
    pub truncated: Option<Shrink>,
    /// Whether rows decreased between fitted samples (deletes are part of the net rate).
    pub deletes_seen: bool,
    pub projection: Option<Projection>,
}

impl TableTrend {
    /// The projection as a sentence: "orders reaches 10M rows in 40 days".
    pub fn projection_text(&self) -> Option<String> {
        Some(match self.projection? {
            Projection::Reaches { milestone, days } => {
                let m = compact(milestone as f64);
                if days < 1.0 {
                    format!("{} reaches {m} rows within a day", self.table)
                } else {
                    let d = days.round() as u64;
                    let unit = if d == 1 { "day" } else { "days" };
                    format!("{} reaches {m} rows in {d} {unit}", self.table)
                }
            }
            Projection::Shrinks { rows_per_day } => {
                format!(
                    "{} shrinks by {} rows/day",
                    self.table,
                    compact(rows_per_day)
                )
            }
        })
    }

    /// What the trend does not show on its own: too few samples, truncations, deletes.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.rows_per_day.is_none() {
            notes.push(format!(
                "{}: one sample in the window; no trend yet",
                self.table
            ));
        }
        if let Some(s) = self.truncated {
            notes.push(format!(
                "{}: rows fell from {} to {} (truncation or mass delete); trend fitted from then",
                self.table, s.from_rows, s.to_rows
            ));
        }
        if self.deletes_seen {
            notes.push(format!(
                "{}: row count decreased between samples (deletes); the rate is net of them",
                self.table
            ));
        }
        notes
    }

    pub fn to_model(&self) -> VolumeTrend {
        VolumeTrend {
            table: self.table.clone(),
            rows_now: self.rows_now,
            bytes_now: self.bytes_now.unwrap_or(0),
            rows_per_day: self.rows_per_day.unwrap_or(0.0),
            projection: self.projection_text(),
        }
    }
}

/// Trends of every sampled table, in table-name order.
pub fn table_trends(samples: &[VolumeSample], config: &TrendConfig) -> Vec<TableTrend> {
    let mut by_table: BTreeMap<&str, Vec<&VolumeSample>> = BTreeMap::new();
    for s in samples {
        by_table.entry(s.table.as_str()).or_default().push(s);
    }
    by_table
        .into_iter()
        .map(|(table, list)| table_trend(table, list, config))
        .collect()
}

/// [`table_trends`] in the model's form.
pub fn volume_trends(samples: &[VolumeSample], config: &TrendConfig) -> Vec<VolumeTrend> {
    table_trends(samples, config)
        .iter()
        .map(TableTrend::to_model)
        .collect()
}

fn table_trend(table: &str, mut list: Vec<&VolumeSample>, config: &TrendConfig) -> TableTrend {
    list.sort_by_key(|s| s.at);
    // Same instant: the last given wins.
    let mut points: Vec<&VolumeSample> = Vec::with_capacity(list.len());
    for s in list {
        match points.last_mut() {
            Some(last) if last.at == s.at => *last = s,
            _ => points.push(s),
        }
    }
    let newest = points.last().map_or(0, |s| s.at);
    let window_us = (config.window_days.max(0.0) * DAY_US) as i64;
    let cutoff = newest.saturating_sub(window_us);
    points.retain(|s| s.at >= cutoff);

    let mut truncated = None;
    let mut start = 0;
    for i in 1..points.len() {
        let (prev, next) = (points[i - 1].rows, points[i].rows);
        if (next as f64) < prev as f64 * config.truncation_ratio {
            truncated = Some(Shrink {
                at: points[i].at,
                from_rows: prev,
                to_rows: next,
            });
            start = i;
        }
    }
    let fitted = &points[start..];
    let deletes_seen = fitted.windows(2).any(|w| w[1].rows < w[0].rows);
    let t0 = fitted.first().map_or(0, |s| s.at);
    let day = |s: &VolumeSample| (s.at - t0) as f64 / DAY_US;
    let rows_per_day = slope(fitted.iter().map(|s| (day(s), s.rows as f64)));
    let bytes_per_day = slope(
        fitted
            .iter()
            .filter_map(|s| Some((day(s), s.bytes? as f64))),
    );
    let last = fitted.last().copied();
    let rows_now = last.map_or(0, |s| s.rows);
    let bytes_now = fitted.iter().rev().find_map(|s| s.bytes);
    let span_days = last.map_or(0.0, day);
    let projection = rows_per_day.and_then(|rate| project(rows_now, rate, config));
    TableTrend {
        table: table.to_owned(),
        rows_now,
        bytes_now,
        samples: fitted.len(),
        span_days,
        rows_per_day,
        bytes_per_day,
        truncated,
        deletes_seen,
        projection,
    }
}

/// The least-squares slope of `y` over `x`; `None` with fewer than two distinct `x`.
fn slope(points: impl Iterator<Item = (f64, f64)> + Clone) -> Option<f64> {
    let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (x, y) in points.clone() {
        n += 1.0;
        sx += x;
        sy += y;
    }
    if n < 2.0 {
        return None;
    }
    let (mx, my) = (sx / n, sy / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in points {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

fn project(rows_now: u64, rate: f64, config: &TrendConfig) -> Option<Projection> {
    // Below a row a millennium, a rate is rounding noise of a flat series.
    if rate.abs() < 1e-6 {
        return None;
    }
    if rate < 0.0 {
        return Some(Projection::Shrinks {
            rows_per_day: -rate,
        });
    }
    let milestone = match config.threshold {
        Some(t) => (t > rows_now).then_some(t)?,
        None => next_milestone(rows_now, config.first_milestone)?,
    };
    let days = (milestone - rows_now) as f64 / rate;
    (days <= config.horizon_days).then_some(Projection::Reaches { milestone, days })
}

/// The smallest `first · 10^k` above `rows`.
fn next_milestone(rows: u64, first: u64) -> Option<u64> {
    let mut m = first.max(1);
    while m <= rows {
        m = m.checked_mul(10)?;
    }
    Some(m)
}

/// `1M`, `2.5M`, `40K`, `1.23B`, `950`: at most two decimals, trailing zeros dropped.
fn compact(v: f64) -> String {
    let units = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")];
    let (scaled, suffix) = units
        .iter()
        .find(|(u, _)| v.abs() >= *u)
        .map_or((v, ""), |(u, s)| (v / u, *s));
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;
    const T0: i64 = 1_700_000_000_000_000;

    fn s(day: f64, table: &str, rows: u64, bytes: Option<u64>) -> VolumeSample {
        VolumeSample {
            at: T0 + (day * DAY as f64) as i64,
            table: table.into(),
            rows,
            bytes,
        }
    }

    fn one(samples: &[VolumeSample], config: &TrendConfig) -> TableTrend {
        let mut all = table_trends(samples, config);
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn fitted_rates_and_projections() {
        struct Case {
            name: &'static str,
            samples: Vec<VolumeSample>,
            threshold: Option<u64>,
            rows_per_day: Option<f64>,
            rows_now: u64,
            text: Option<&'static str>,
        }
        let t = "orders";
        let cases = [
            Case {
                name: "steady growth, milestone beyond the horizon",
                samples: vec![
                    s(0.0, t, 1000, None),
                    s(1.0, t, 1100, None),
                    s(2.0, t, 1200, None),
                ],
                threshold: None,
                // (1M - 1200) / 100 = 9,988 days > 3,650.
                rows_per_day: Some(100.0),
                rows_now: 1200,
                text: None,
            },
            Case {
                name: "the 10M milestone in 40 days",
                samples: vec![
                    s(0.0, t, 8_900_000, None),
                    s(2.0, t, 8_950_000, None),
                    s(4.0, t, 9_000_000, None),
                ],
                threshold: None,
                // 25,000 rows/day; (10M - 9M) / 25,000 = 40 days.
                rows_per_day: Some(25_000.0),
                rows_now: 9_000_000,
                text: Some("orders reaches 10M rows in 40 days"),
            },
            Case {
                name: "noisy points: least squares, not end to end",
                // x = 0, 1, 2; y = 1000, 2000, 2000: mean x 1, mean y 5000/3,
                // Sxy = (-1)(-2000/3) + (1)(1000/3) = 1000, Sxx = 2 → 500 rows/day.
                samples: vec![
                    s(0.0, t, 1000, None),
                    s(1.0, t, 2000, None),
                    s(2.0, t, 2000, None),
                ],
                threshold: None,
                rows_per_day: Some(500.0),
                rows_now: 2000,
                // (1M - 2000) / 500 = 1,996 days.
                text: Some("orders reaches 1M rows in 1996 days"),
            },
            Case {
                name: "a configured threshold",
                samples: vec![s(0.0, t, 1_500_000, None), s(10.0, t, 2_000_000, None)],
                threshold: Some(2_500_000),
                // 50,000 rows/day; 500,000 / 50,000 = 10 days.
                rows_per_day: Some(50_000.0),
                rows_now: 2_000_000,
                text: Some("orders reaches 2.5M rows in 10 days"),
            },
            Case {
                name: "a threshold already passed projects nothing",
                samples: vec![s(0.0, t, 1_000, None), s(1.0, t, 3_000, None)],
                threshold: Some(2_000),
                rows_per_day: Some(2_000.0),
                rows_now: 3_000,
                text: None,
            },
            Case {
                name: "within a day",
                samples: vec![s(0.0, t, 989_000, None), s(1.0, t, 999_000, None)],
                threshold: None,
                // 1,000 rows left at 10,000/day = 0.1 day.
                rows_per_day: Some(10_000.0),
                rows_now: 999_000,
                text: Some("orders reaches 1M rows within a day"),
            },
            Case {
                name: "exactly one day, singular",
                samples: vec![s(0.0, t, 999_000, None), s(1.0, t, 999_500, None)],
                threshold: None,
                rows_per_day: Some(500.0),
                rows_now: 999_500,
                text: Some("orders reaches 1M rows in 1 day"),
            },
            Case {
                name: "past a milestone, the next power of ten",
                samples: vec![s(0.0, t, 10_000_000, None), s(1.0, t, 10_900_000, None)],
                threshold: None,
                // 900,000 rows/day; (100M - 10.9M) / 900,000 = 99 days.
                rows_per_day: Some(900_000.0),
                rows_now: 10_900_000,
                text: Some("orders reaches 100M rows in 99 days"),
            },
            Case {
                name: "deletes: a shrinking table",
                samples: vec![
                    s(0.0, t, 1000, None),
                    s(1.0, t, 900, None),
                    s(2.0, t, 800, None),
                ],
                threshold: None,
                rows_per_day: Some(-100.0),
                rows_now: 800,
                text: Some("orders shrinks by 100 rows/day"),
            },
            Case {
                name: "flat",
                samples: vec![s(0.0, t, 500, None), s(3.0, t, 500, None)],
                threshold: None,
                rows_per_day: Some(0.0),
                rows_now: 500,
                text: None,
            },
            Case {
                name: "a single sample: no trend",
                samples: vec![s(0.0, t, 5_000_000, None)],
                threshold: None,
                rows_per_day: None,
                rows_now: 5_000_000,
                text: None,
            },
            Case {
                name: "two samples at one instant: the last one, no trend",
                samples: vec![s(1.0, t, 10, None), s(1.0, t, 20, None)],
                threshold: None,
                rows_per_day: None,
                rows_now: 20,
                text: None,
            },
        ];
        for case in cases {
            let config = TrendConfig {
                threshold: case.threshold,
                window_days: 30.0,
                ..TrendConfig::default()
            };
            let trend = one(&case.samples, &config);
            match (trend.rows_per_day, case.rows_per_day) {
                (Some(got), Some(want)) => assert!(close(got, want), "{}: {got}", case.name),
                (got, want) => assert_eq!(got, want, "{}", case.name),
            }
            assert_eq!(trend.rows_now, case.rows_now, "{}", case.name);
            assert_eq!(
                trend.projection_text().as_deref(),
                case.text,
                "{}",
                case.name
            );
            assert_eq!(
                trend.to_model().projection.as_deref(),
                case.text,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn truncation_restarts_the_fit() {
        let t = "events";
        let samples = [
            s(0.0, t, 500_000, None),
            s(1.0, t, 600_000, None),
            s(2.0, t, 0, None),
            s(3.0, t, 1_000, None),
            s(4.0, t, 2_000, None),
        ];
        let trend = one(&samples, &TrendConfig::default());
        // Fitted on days 2..4 only: 0, 1000, 2000 → 1000 rows/day (not the negative end-to-end).
        assert!(close(trend.rows_per_day.unwrap(), 1_000.0));
        assert_eq!(trend.samples, 3);
        assert!(close(trend.span_days, 2.0));
        assert_eq!(
            trend.truncated,
            Some(Shrink {
                at: T0 + 2 * DAY,
                from_rows: 600_000,
                to_rows: 0
            })
        );
        assert!(!trend.deletes_seen);
        let notes = trend.notes();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("from 600000 to 0"), "{notes:?}");
        // (1M - 2000) / 1000 = 998 days.
        assert_eq!(
            trend.projection_text().as_deref(),
            Some("events reaches 1M rows in 998 days")
        );
    }

    #[test]
    fn a_truncation_leaving_one_sample_gives_no_trend() {
        let t = "t";
        let samples = [
            s(0.0, t, 5_000, None),
            s(1.0, t, 7_000, None),
            s(2.0, t, 10, None),
        ];
        let trend = one(&samples, &TrendConfig::default());
        assert_eq!(trend.rows_per_day, None);
        assert_eq!(trend.rows_now, 10);
        assert!(trend.truncated.is_some());
        assert_eq!(trend.notes().len(), 2);
        assert!(trend.to_model().rows_per_day.abs() < f64::EPSILON);
    }

    #[test]
    fn small_deletes_stay_in_the_fit_and_are_noted() {
        let t = "t";
        // 1000, 1300, 1200, 1500 at days 0..3: mean x 1.5, mean y 1250;
        // Sxy = (-1.5)(-250) + (-0.5)(50) + (0.5)(-50) + (1.5)(250) = 700, Sxx = 5 → 140/day.
        let samples = [
            s(0.0, t, 1000, None),
            s(1.0, t, 1300, None),
            s(2.0, t, 1200, None),
            s(3.0, t, 1500, None),
        ];
        let trend = one(&samples, &TrendConfig::default());
        assert!(close(trend.rows_per_day.unwrap(), 140.0));
        assert!(trend.deletes_seen);
        assert!(trend.truncated.is_none());
        assert_eq!(trend.notes().len(), 1);
    }

    #[test]
    fn bytes_per_day_and_bytes_now() {
        let t = "t";
        let samples = [
            s(0.0, t, 10, Some(1 << 20)),
            s(0.5, t, 15, None),
            s(1.0, t, 20, Some(2 << 20)),
            s(2.0, t, 30, None),
        ];
        let trend = one(&samples, &TrendConfig::default());
        // Sizes at days 0 and 1 only: 1 MiB per day.
        assert!(close(trend.bytes_per_day.unwrap(), 1_048_576.0));
        assert_eq!(trend.bytes_now, Some(2 << 20));
        assert_eq!(trend.to_model().bytes_now, 2 << 20);
        // Rows 10, 15, 20, 30 at days 0, .5, 1, 2: mean x .875, mean y 18.75;
        // Sxy = (-.875)(-8.75) + (-.375)(-3.75) + (.125)(1.25) + (1.125)(11.25) = 21.875,
        // Sxx = .765625 + .140625 + .015625 + 1.265625 = 2.1875 → 10 rows/day.
        assert!(close(trend.rows_per_day.unwrap(), 10.0));
    }

    #[test]
    fn the_window_drops_old_samples() {
        let t = "t";
        let samples = [
            s(0.0, t, 0, None),
            s(20.0, t, 100_000, None),
            s(21.0, t, 100_100, None),
            s(22.0, t, 100_200, None),
        ];
        let trend = one(&samples, &TrendConfig::default());
        assert_eq!(trend.samples, 3);
        assert!(close(trend.rows_per_day.unwrap(), 100.0));
        let wide = TrendConfig {
            window_days: 30.0,
            ..TrendConfig::default()
        };
        assert_eq!(one(&samples, &wide).samples, 4);
    }

    #[test]
    fn tables_are_independent_and_sorted() {
        let samples = [
            s(1.0, "orders", 200, None),
            s(0.0, "customers", 10, None),
            s(0.0, "orders", 100, None),
            s(1.0, "customers", 10, None),
        ];
        let trends = volume_trends(&samples, &TrendConfig::default());
        let names: Vec<&str> = trends.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, ["customers", "orders"]);
        assert!(close(trends[1].rows_per_day, 100.0));
        assert!(trends[0].rows_per_day.abs() < f64::EPSILON);
        assert!(volume_trends(&[], &TrendConfig::default()).is_empty());
    }

    #[test]
    fn compact_numbers() {
        for (v, want) in [
            (1e6, "1M"),
            (2.5e6, "2.5M"),
            (1.25e6, "1.25M"),
            (1e7, "10M"),
            (1e9, "1B"),
            (40_000.0, "40K"),
            (950.0, "950"),
            (1e12, "1T"),
            (12.345, "12.35"),
        ] {
            assert_eq!(compact(v), want);
        }
        assert_eq!(next_milestone(0, 1_000_000), Some(1_000_000));
        assert_eq!(next_milestone(1_000_000, 1_000_000), Some(10_000_000));
        assert_eq!(next_milestone(u64::MAX, 1_000_000), None);
    }
}
