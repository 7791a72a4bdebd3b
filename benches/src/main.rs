//! `persona-bench`: runs the benchmark stream through Persona Studio's fingerprinter and, built
//! with `--features baseline`, through libpg_query's, on one thread, and prints statements per
//! second side by side with their ratio.
//!
//! `cargo run -p persona-bench --release --features baseline -- [--seconds S] [--rounds R]
//! [--statements N]`
//!
//! Each contender runs `R` times, interleaved, and the best round counts, so that load from
//! other processes hurts every contender alike. Rates are given per second of wall time and,
//! where Linux reports it (`/proc/thread-self/schedstat`), per second this thread was on a CPU.

use std::hint::black_box;
use std::time::{Duration, Instant};

use persona_core::analysis::fingerprint::{fingerprint, normalize};

/// Seconds this thread has spent on a CPU, when the kernel says.
fn on_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}

/// Statements per second of `f` over `stream` (wall, on-CPU), measured for at least `min`.
fn rate(stream: &[&str], min: Duration, f: &mut dyn FnMut(&str) -> u64) -> (f64, Option<f64>) {
    let mut acc = 0u64;
    let start = Instant::now();
    let cpu = on_cpu();
    let mut done = 0usize;
    loop {
        for sql in stream {
            acc ^= f(black_box(sql));
        }
        done += stream.len();
        let elapsed = start.elapsed();
        if elapsed >= min {
            black_box(acc);
            let cpu = cpu.zip(on_cpu()).map(|(a, b)| done as f64 / (b - a));
            return (done as f64 / elapsed.as_secs_f64(), cpu);
        }
    }
}

struct Contender<'a> {
    name: &'static str,
    run: Box<dyn FnMut(&str) -> u64 + 'a>,
    wall: f64,
    cpu: Option<f64>,
}

fn arg(name: &str) -> Option<f64> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

fn main() {
    let seconds = arg("--seconds").unwrap_or(2.0);
    let rounds = arg("--rounds").map_or(3, |r| r as usize);
    let statements = arg("--statements").map_or(10_000, |n| n as usize);
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

    let mut contenders = vec![
        Contender {
            name: "persona fingerprint",
            run: Box::new(|s| fingerprint(s).as_u64()),
            wall: 0.0,
            cpu: None,
        },
        Contender {
            name: "persona normalize",
            run: Box::new(|s| normalize(s).len() as u64),
            wall: 0.0,
            cpu: None,
        },
    ];
    contenders.extend(baseline(&sqls));
    let min = Duration::from_secs_f64(seconds);
    for _ in 0..rounds {
        for c in &mut contenders {
            let (wall, cpu) = rate(&sqls, min, &mut c.run);
            c.wall = c.wall.max(wall);
            c.cpu = match (c.cpu, cpu) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
    }
    for c in &contenders {
        let cpu = c
            .cpu
            .map(|r| format!(", {r:>10.0} per on-CPU second"))
            .unwrap_or_default();
        println!("{:<22} {:>10.0} statements/s{cpu}", c.name, c.wall);
    }
    if let [ours, _, theirs] = &contenders[..] {
        let cpu = ours
            .cpu
            .zip(theirs.cpu)
            .map(|(a, b)| format!(" ({:.1}x on-CPU)", a / b))
            .unwrap_or_default();
        println!(
            "ratio: persona fingerprint is {:.1}x pg_query fingerprint on the same stream{cpu}",
            ours.wall / theirs.wall
        );
    } else {
        println!("pg_query baseline not built: add `--features baseline`");
    }
}

#[cfg(feature = "baseline")]
fn baseline(sqls: &[&str]) -> Option<Contender<'static>> {
    let results: Vec<_> = sqls
        .iter()
        .map(|s| pg_query::fingerprint(s, 0, 0))
        .collect();
    let errors = results.iter().filter(|r| r.is_err()).count();
    let mut distinct: Vec<u64> = results.iter().flatten().map(|f| f.value).collect();
    distinct.sort_unstable();
    distinct.dedup();
    println!(
        "pg_query: {} distinct fingerprints, {errors} parse errors",
        distinct.len()
    );
    Some(Contender {
        name: "pg_query fingerprint",
        run: Box::new(|s| pg_query::fingerprint(s, 0, 0).map_or(0, |f| f.value)),
        wall: 0.0,
        cpu: None,
    })
}

#[cfg(not(feature = "baseline"))]
fn baseline(_: &[&str]) -> Option<Contender<'static>> {
    None
}
