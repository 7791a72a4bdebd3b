//! `persona-bench`: runs the benchmark stream through Persona Studio's fingerprinter and, built
//! with `--features baseline`, through libpg_query's, on one core, and prints statements per
//! second side by side with their ratio.
//!
//! `cargo run -p persona-bench --release --features baseline -- [--seconds S] [--statements N]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use persona_core::analysis::fingerprint::{fingerprint, normalize};

/// Statements per second of `f` over `stream`, measured for at least `min` after one warm-up
/// pass.
fn rate(stream: &[&str], min: Duration, mut f: impl FnMut(&str) -> u64) -> f64 {
    let mut acc = 0u64;
    for sql in stream {
        acc ^= f(sql);
    }
    let start = Instant::now();
    let mut done = 0usize;
    loop {
        for sql in stream {
            acc ^= f(black_box(sql));
        }
        done += stream.len();
        let elapsed = start.elapsed();
        if elapsed >= min {
            black_box(acc);
            return done as f64 / elapsed.as_secs_f64();
        }
    }
}

fn arg(name: &str) -> Option<f64> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

fn main() {
    let seconds = arg("--seconds").unwrap_or(3.0);
    let statements = arg("--statements").map_or(10_000, |n| n as usize);
    let min = Duration::from_secs_f64(seconds);
    let stream = persona_bench::stream(statements, 42);
    let sqls: Vec<&str> = stream.iter().map(|(_, s)| s.as_str()).collect();
    let bytes: usize = sqls.iter().map(|s| s.len()).sum();
    let mut distinct: Vec<_> = sqls.iter().map(|s| fingerprint(s)).collect();
    distinct.sort();
    distinct.dedup();
    println!(
        "stream: {} statements from {} shapes, {} bytes on average, {} distinct fingerprints",
        sqls.len(),
        persona_bench::SHAPES.len(),
        bytes / sqls.len().max(1),
        distinct.len()
    );

    let ours = rate(&sqls, min, |s| fingerprint(s).as_u64());
    println!("persona fingerprint   {:>12.0} statements/s", ours);
    let normalized = rate(&sqls, min, |s| normalize(s).len() as u64);
    println!("persona normalize     {:>12.0} statements/s", normalized);
    baseline(&sqls, min, ours);
}

#[cfg(feature = "baseline")]
fn baseline(sqls: &[&str], min: Duration, ours: f64) {
    let errors = sqls.iter().filter(|s| pg_query::fingerprint(s, 0, 0).is_err()).count();
    let mut distinct: Vec<u64> =
        sqls.iter().filter_map(|s| pg_query::fingerprint(s, 0, 0).ok()).map(|f| f.value).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let theirs = rate(sqls, min, |s| pg_query::fingerprint(s, 0, 0).map_or(0, |f| f.value));
    println!(
        "pg_query fingerprint  {:>12.0} statements/s ({} distinct fingerprints, {} parse errors)",
        theirs,
        distinct.len(),
        errors
    );
    println!("ratio: persona fingerprint is {:.1}x pg_query fingerprint on the same stream", ours / theirs);
}

#[cfg(not(feature = "baseline"))]
fn baseline(_: &[&str], _: Duration, _: f64) {
    println!("pg_query baseline not built: add `--features baseline`");
}
