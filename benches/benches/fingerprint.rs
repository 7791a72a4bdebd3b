//! Criterion benchmark of query fingerprinting on a realistic stream (10,000 statements from
//! the shapes in `persona_bench::SHAPES`, fresh literals in each), in statements per second:
//! Persona Studio's `fingerprint` and `normalize`, and with `--features baseline`
//! libpg_query's fingerprint on the same stream.
//!
//! `cargo bench -p persona-bench --features baseline --bench fingerprint`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use persona_core::analysis::fingerprint::{fingerprint, normalize};

fn fingerprinting(c: &mut Criterion) {
    let stream = persona_bench::stream(10_000, 42);
    let sqls: Vec<&str> = stream.iter().map(|(_, s)| s.as_str()).collect();
    let mut group = c.benchmark_group("fingerprint_stream");
    group.throughput(Throughput::Elements(sqls.len() as u64));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("persona_fingerprint", |b| {
        b.iter(|| {
            sqls.iter()
                .fold(0u64, |acc, s| acc ^ fingerprint(black_box(s)).as_u64())
        });
    });
    group.bench_function("persona_normalize", |b| {
        b.iter(|| {
            sqls.iter()
                .map(|s| normalize(black_box(s)).len())
                .sum::<usize>()
        });
    });
    #[cfg(feature = "baseline")]
    group.bench_function("pg_query_fingerprint", |b| {
        b.iter(|| {
            sqls.iter().fold(0u64, |acc, s| {
                acc ^ pg_query::fingerprint(black_box(s), 0, 0).map_or(0, |f| f.value)
            })
        });
    });
    group.finish();
}

criterion_group!(benches, fingerprinting);
criterion_main!(benches);
