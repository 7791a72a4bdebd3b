//! Criterion benchmark of the analysis snapshot over a realistic store of 10,000 distinct query
//! patterns (selects with varied filters, orderings and limits, joins with and without foreign
//! keys, updates, inserts, deletes and a few unparseable statements, on a 20-table shop schema),
//! with Zipf-like call counts and per-pattern latency spreads. The budget is ≤ 50 ms per
//! snapshot once shapes are cached.
//!
//! `cargo bench -p persona-bench --bench snapshot`
//!
//! - `snapshot/warm_10k`: the steady state (every shape cached), no co-access events.
//! - `snapshot/warm_10k_rules_20k_events`: the same plus co-access rules over 20,000 session
//!   events.
//! - `snapshot/cold_10k`: the first snapshot of a freshly loaded store (every shape parsed).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use persona_bench::Rng;
use persona_core::Schema;
use persona_core::analysis::fingerprint::fingerprint;
use persona_core::analysis::snapshot::{AnalysisConfig, RuleInput, snapshot};
use persona_core::analysis::store::{PatternStore, StoreConfig};
use persona_core::analysis::trends::VolumeSample;
use persona_core::model::{
    CaptureEvent, CaptureSource, Column, DataType, ForeignKey, ForeignKeyAction, Table,
};

const PATTERNS: usize = 10_000;
const T0: i64 = 1_700_000_000_000_000;

/// `(table, columns, references)`: every table has `id`; `<x>_id` columns point at table `x`,
/// and only the tables listed in `references` declare that foreign key.
const TABLES: &[(&str, &[&str], &[&str])] = &[
    (
        "customers",
        &[
            "email",
            "name",
            "country_id",
            "created_at",
            "status",
            "tier",
        ],
        &["countries"],
    ),
    ("countries", &["code", "name"], &[]),
    (
        "addresses",
        &["customer_id", "city", "zip", "country_id"],
        &["customers"],
    ),
    (
        "orders",
        &[
            "customer_id",
            "status",
            "total",
            "created_at",
            "store_id",
            "coupon_id",
        ],
        &[],
    ),
    (
        "order_items",
        &["order_id", "product_id", "qty", "price"],
        &["orders", "products"],
    ),
    (
        "products",
        &[
            "sku",
            "name",
            "price",
            "category_id",
            "brand_id",
            "stock",
            "updated_at",
        ],
        &["categories"],
    ),
    ("categories", &["name", "parent_id", "slug"], &[]),
    ("brands", &["name", "country_id"], &["countries"]),
    (
        "payments",
        &["order_id", "amount", "method", "created_at", "status"],
        &["orders"],
    ),
    (
        "shipments",
        &["order_id", "carrier", "tracking", "shipped_at", "status"],
        &[],
    ),
    (
        "reviews",
        &["product_id", "customer_id", "rating", "body", "created_at"],
        &["products"],
    ),
    (
        "carts",
        &["customer_id", "updated_at", "status"],
        &["customers"],
    ),
    ("cart_items", &["cart_id", "product_id", "qty"], &["carts"]),
    ("coupons", &["code", "discount", "expires_at"], &[]),
    ("stores", &["name", "country_id", "opened_at"], &[]),
    (
        "staff",
        &["store_id", "email", "name", "active"],
        &["stores"],
    ),
    (
        "inventory",
        &["product_id", "store_id", "qty", "updated_at"],
        &["products", "stores"],
    ),
    (
        "wishlists",
        &["customer_id", "product_id", "created_at"],
        &[],
    ),
    (
        "sessions",
        &["customer_id", "token", "expires_at", "ip"],
        &["customers"],
    ),
    (
        "events",
        &["customer_id", "kind", "payload", "created_at"],
        &[],
    ),
];

fn schema() -> Schema {
    let tables = TABLES
        .iter()
        .map(|(name, cols, refs)| {
            let mut columns = vec![Column::new("id", DataType::BigInt)];
            columns.extend(cols.iter().map(|c| {
                let ty = if c.ends_with("_id") || *c == "qty" || *c == "stock" {
                    DataType::BigInt
                } else if c.ends_with("_at") {
                    DataType::TimestampTz
                } else if *c == "payload" {
                    DataType::Json
                } else {
                    DataType::Text
                };
                Column::new(*c, ty)
            }));
            let foreign_keys = refs
                .iter()
                .map(|r| ForeignKey {
                    name: String::new(),
                    columns: vec![fk_column(r)],
                    ref_table: (*r).to_owned(),
                    ref_columns: vec!["id".into()],
                    on_delete: ForeignKeyAction::default(),
                    on_update: ForeignKeyAction::default(),
                })
                .collect();
            Table {
                name: (*name).to_owned(),
                columns,
                primary_key: vec!["id".into()],
                foreign_keys,
                ..Table::default()
            }
        })
        .collect();
    Schema { tables }
}

/// `countries` → `country_id`, `categories` → `category_id`, `orders` → `order_id`.
fn fk_column(table: &str) -> String {
    let singular = if let Some(stem) = table.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = table.strip_suffix("sses") {
        format!("{stem}ss")
    } else {
        table.strip_suffix('s').unwrap_or(table).to_owned()
    };
    format!("{singular}_id")
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.range(0, items.len() as u64 - 1) as usize]
}

fn predicate(rng: &mut Rng, alias: &str, col: &str) -> String {
    let a = if alias.is_empty() {
        String::new()
    } else {
        format!("{alias}.")
    };
    match rng.range(0, 6) {
        0 | 1 => format!("{a}{col} = {}", rng.range(1, 99_999)),
        2 => format!("{a}{col} > {}", rng.range(1, 99_999)),
        3 => format!(
            "{a}{col} BETWEEN {} AND {}",
            rng.range(1, 500),
            rng.range(501, 999)
        ),
        4 => format!(
            "{a}{col} IN ({}, {}, {})",
            rng.range(1, 9),
            rng.range(10, 99),
            rng.range(100, 999)
        ),
        5 => format!("{a}{col} LIKE 'ab{}%'", rng.range(0, 9)),
        _ => format!("{a}{col} IS NULL"),
    }
}

/// One statement of a random shape.
fn statement(rng: &mut Rng) -> String {
    let (t, cols, _) = TABLES[rng.range(0, TABLES.len() as u64 - 1) as usize];
    let mut all: Vec<&str> = vec!["id"];
    all.extend_from_slice(cols);
    match rng.range(0, 11) {
        0..=5 => {
            let proj = if rng.range(0, 2) == 0 {
                "*".to_owned()
            } else {
                (0..rng.range(1, 4))
                    .map(|_| pick(rng, &all))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let preds: Vec<String> = (0..rng.range(1, 3))
                .map(|_| {
                    let c = pick(rng, &all);
                    predicate(rng, "", c)
                })
                .collect();
            let mut sql = format!("SELECT {proj} FROM {t} WHERE {}", preds.join(" AND "));
            if rng.range(0, 2) == 0 {
                let dir = if rng.range(0, 1) == 0 { " DESC" } else { "" };
                let _ = write!(sql, " ORDER BY {}{dir}", pick(rng, &all));
            }
            if rng.range(0, 2) == 0 {
                let _ = write!(sql, " LIMIT {}", rng.range(1, 100));
            }
            sql
        }
        6 | 7 => {
            // Join along one of the table's `<x>_id` columns (declared or not).
            let Some(fk) = cols
                .iter()
                .find(|c| c.ends_with("_id") && rng.range(0, 1) == 0)
                .or_else(|| cols.iter().find(|c| c.ends_with("_id")))
            else {
                let c = pick(rng, &all);
                return format!("SELECT count(*) FROM {t} WHERE {}", predicate(rng, "", c));
            };
            let Some((other, ocols, _)) = TABLES.iter().find(|(n, _, _)| fk_column(n) == *fk)
            else {
                return format!("SELECT {fk}, count(*) FROM {t} GROUP BY {fk}");
            };
            let mut oall: Vec<&str> = vec!["id"];
            oall.extend_from_slice(ocols);
            let (a, b, filter, order) = (
                pick(rng, &all),
                pick(rng, &oall),
                pick(rng, &oall),
                pick(rng, &all),
            );
            let filter = predicate(rng, "b", filter);
            let limit = rng.range(1, 50);
            format!(
                "SELECT a.{a}, b.{b} FROM {t} a JOIN {other} b ON b.id = a.{fk} WHERE {filter} \
                 ORDER BY a.{order} LIMIT {limit}"
            )
        }
        8 => format!(
            "UPDATE {t} SET {} = '{}', {} = {} WHERE id = {}",
            pick(rng, cols),
            rng.range(0, 999),
            pick(rng, cols),
            rng.range(0, 999),
            rng.range(1, 99_999)
        ),
        9 => {
            let n = rng.range(1, cols.len() as u64) as usize;
            let values: Vec<String> = (0..n).map(|_| rng.range(1, 999).to_string()).collect();
            format!(
                "INSERT INTO {t} ({}) VALUES ({})",
                cols[..n].join(", "),
                values.join(", ")
            )
        }
        10 => {
            let c = pick(rng, &all);
            format!("DELETE FROM {t} WHERE {}", predicate(rng, "", c))
        }
        _ => format!(
            "SELECT {} FROM {t} GROUP BY {}",
            pick(rng, cols),
            pick(rng, cols)
        ),
    }
}

/// 10,000 distinct shapes (0.5% unparseable), Zipf-like calls, recorded as single events (up to
/// 20 per pattern) and one aggregate for the rest. Returns the store and the shapes by rank.
fn build_store() -> (PatternStore, Vec<String>) {
    let mut rng = Rng::new(7);
    let mut seen = HashSet::new();
    let mut shapes = Vec::with_capacity(PATTERNS);
    while shapes.len() < PATTERNS {
        let sql = if rng.range(0, 199) == 0 {
            format!("FROBNICATE widgets_{} WITH ((( GUSTO", shapes.len())
        } else {
            statement(&mut rng)
        };
        if seen.insert(fingerprint(&sql)) {
            shapes.push(sql);
        }
    }
    let mut store = PatternStore::new(StoreConfig::default());
    for (rank, sql) in shapes.iter().enumerate() {
        let calls = 1 + 200_000 / (rank as u64 + 1);
        // Base latency from 50 µs to about 50 ms, log-uniform.
        let base_us = (50.0 * 1000f64.powf(rng.range(0, 1000) as f64 / 1000.0)) as u64;
        let singles = calls.min(20);
        for i in 0..singles {
            let us = base_us / 2 + rng.range(0, base_us);
            let mut e = CaptureEvent::single(
                CaptureSource::Proxy,
                T0 + (i as i64) * 1_000_000 + rank as i64,
                sql.as_str(),
                Duration::from_micros(us),
            );
            e.rows = Some(rng.range(0, 50));
            store.record(&e);
        }
        if calls > singles {
            let rest = calls - singles;
            let mut e = CaptureEvent::single(
                CaptureSource::PgStatStatements,
                T0 + 3_600_000_000,
                sql.as_str(),
                Duration::from_micros(base_us * rest),
            );
            e.calls = rest;
            store.record(&e);
        }
    }
    (store, shapes)
}

/// 20,000 session events: sessions of 3 to 8 statements from the 2,000 most called shapes.
fn session_events(shapes: &[String]) -> Vec<CaptureEvent> {
    let mut rng = Rng::new(11);
    let mut out = Vec::with_capacity(20_000);
    let mut session = 0u64;
    while out.len() < 20_000 {
        session += 1;
        let start = T0 + session as i64 * 10_000_000;
        for j in 0..rng.range(3, 8) {
            let rank = (rng.range(0, 2_000 * 2_000) as f64).sqrt() as usize;
            let mut e = CaptureEvent::single(
                CaptureSource::Proxy,
                start + j as i64 * 50_000,
                shapes[rank.min(1_999)].as_str(),
                Duration::from_micros(500),
            );
            e.session = Some(format!("s{}", session % 400));
            out.push(e);
        }
    }
    out
}

fn samples() -> Vec<VolumeSample> {
    let mut out = Vec::new();
    for (i, (t, _, _)) in TABLES.iter().enumerate() {
        for day in 0..14i64 {
            let rows = (i as u64 + 1) * 100_000 + day as u64 * (i as u64 + 1) * 5_000;
            out.push(VolumeSample {
                at: T0 + day * 86_400_000_000,
                table: (*t).to_owned(),
                rows,
                bytes: Some(rows * 120),
            });
        }
    }
    out
}

fn snapshots(c: &mut Criterion) {
    let (store, shapes) = build_store();
    let schema = schema();
    let config = AnalysisConfig::default();
    let samples = samples();
    let events = session_events(&shapes);
    store.prepare_shapes(Some(&schema));
    let sample = snapshot(
        &store,
        Some(&schema),
        RuleInput::Events(&events),
        &samples,
        &config,
    );
    eprintln!(
        "store: {} patterns, {} calls; snapshot: {} top queries, {} column usages, {} rules, \
         {} emerging relationships, {} trends, {} warnings",
        store.len(),
        store.total_calls(),
        sample.frequent_queries.len(),
        sample.column_usage.len(),
        sample.rules.len(),
        sample.emerging_relationships.len(),
        sample.data_volume_trends.len(),
        sample.warnings.len()
    );

    let mut group = c.benchmark_group("snapshot");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("warm_10k", |b| {
        b.iter(|| {
            snapshot(
                black_box(&store),
                Some(&schema),
                RuleInput::None,
                &samples,
                &config,
            )
        });
    });
    group.bench_function("warm_10k_rules_20k_events", |b| {
        b.iter(|| {
            snapshot(
                black_box(&store),
                Some(&schema),
                RuleInput::Events(&events),
                &samples,
                &config,
            )
        });
    });
    group.sample_size(10);
    group.bench_function("cold_10k", |b| {
        b.iter_batched(
            || {
                // A merged copy has the statistics but no cached shapes.
                let mut fresh = PatternStore::new(*store.config());
                fresh.merge(&store);
                fresh
            },
            |fresh| snapshot(&fresh, Some(&schema), RuleInput::None, &samples, &config),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, snapshots);
criterion_main!(benches);
