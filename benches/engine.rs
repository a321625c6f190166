//! Engine throughput on the corpus, per policy form. First the paired
//! comparison: the library policies that exist as a pattern ClusterPolicy,
//! a `validate.cel` ClusterPolicy and a Kyverno ValidatingPolicy, each form
//! on the same resources, timed in interleaved rounds; it prints each
//! form's rule results/s and the CEL/pattern ratios (issue #13's target:
//! CEL ≥ pattern). Then criterion groups for each conformance category on
//! its own tests' resources, single-threaded and with rayon, reporting rule
//! results/s (one "element" is one rule result).
//!
//!   cargo bench -p polscan-benches --bench engine -- paired     (the comparison only)
//!   cargo bench -p polscan-benches --bench engine -- --quick    (everything, briefly)
//!
//! `POLSCAN_BENCH_SECONDS` makes the comparison run rounds for at least
//! that long (default: three rounds); `POLSCAN_BENCH_FORMS` (e.g.
//! `validate_cel`) times only the forms named, for a profiler.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use polscan::engine::{Engine, EngineOptions, Environment};
use polscan_benches::Workload;
use rayon::prelude::*;
use serde_json::Value;

/// A workload's engine and how many rule results one pass gives.
struct Prepared {
    engine: Engine,
    resources: Vec<Value>,
    policies: usize,
    rule_results: usize,
}

fn prepare(workload: Workload) -> Prepared {
    let policies = workload.policies.len() + workload.validating.len();
    let engine = Engine::new(workload.policies, EngineOptions::default())
        .with_validating_policies(workload.validating);
    let env = Environment::default();
    let rule_results = workload
        .resources
        .iter()
        .map(|r| {
            engine
                .evaluate(r, &env)
                .iter()
                .map(|p| p.rules.len())
                .sum::<usize>()
        })
        .sum();
    Prepared {
        engine,
        resources: workload.resources,
        policies,
        rule_results,
    }
}

/// One sequential pass over every resource.
fn pass(prepared: &Prepared, env: &Environment) -> usize {
    prepared
        .resources
        .iter()
        .map(|r| prepared.engine.evaluate(r, env).len())
        .sum()
}

fn describe(label: &str, prepared: &Prepared) {
    println!(
        "{label}: {} policies x {} resources = {} rule results per pass",
        prepared.policies,
        prepared.resources.len(),
        prepared.rule_results,
    );
}

fn paired_forms() -> Vec<(&'static str, Prepared)> {
    let paired = polscan_benches::load_paired();
    println!(
        "paired: {} library policies in pattern, validate.cel and ValidatingPolicy form",
        paired.policies
    );
    let only = std::env::var("POLSCAN_BENCH_FORMS").ok();
    [
        ("pattern", paired.patterns),
        ("validate_cel", paired.validate_cel),
        ("validating_policy", paired.validating),
    ]
    .into_iter()
    .filter(|(label, _)| {
        only.as_ref()
            .is_none_or(|only| only.split(',').any(|o| o == *label))
    })
    .map(|(label, workload)| (label, prepare(workload)))
    .collect()
}

/// The CPU time this thread has run (`/proc/thread-self/schedstat`, in
/// ns): on a machine shared with other work it varies much less than the
/// wall clock. `None` where the kernel does not give it.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// How long `f` took: thread CPU time where the kernel gives it, else wall
/// time.
fn timed(f: impl FnOnce()) -> Duration {
    let (cpu, wall) = (thread_cpu_time(), Instant::now());
    f();
    match (cpu, thread_cpu_time()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => wall.elapsed(),
    }
}

/// Times the forms in interleaved rounds (so a busy machine slows each
/// alike) and prints each form's median rule results/s and its ratio to
/// the pattern form.
fn paired_summary(forms: &[(&'static str, Prepared)]) {
    let budget = std::env::var("POLSCAN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    let env = Environment::default();
    if forms.is_empty() {
        println!("paired: no form selected (POLSCAN_BENCH_FORMS)");
        return;
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); forms.len()];
    for (_, prepared) in forms {
        pass(prepared, &env); // warm-up
    }
    let start = Instant::now();
    while times[0].len() < 3 || start.elapsed().as_secs_f64() < budget {
        for (i, (_, prepared)) in forms.iter().enumerate() {
            times[i].push(timed(|| {
                std::hint::black_box(pass(prepared, &env));
            }));
        }
    }
    let rates: Vec<f64> = forms
        .iter()
        .zip(&mut times)
        .map(|((_, prepared), times)| {
            times.sort();
            prepared.rule_results as f64 / times[times.len() / 2].as_secs_f64()
        })
        .collect();
    let clock = if thread_cpu_time().is_some() {
        "thread CPU time"
    } else {
        "wall time"
    };
    println!(
        "paired summary ({} rounds, median pass, {clock}):",
        times[0].len()
    );
    for ((label, _), rate) in forms.iter().zip(&rates) {
        println!(
            "  {label:<18} {rate:>10.0} rule results/s   ratio to {} {:.2}",
            forms[0].0,
            rate / rates[0]
        );
    }
}

/// Criterion's name filter (its first positional argument), to skip
/// loading workloads no benchmark will use.
fn name_filter() -> Option<String> {
    const VALUED: [&str; 15] = [
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--format",
        "--profile-time",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--plotting-backend",
        "--output-format",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter()
        .enumerate()
        .find(|(i, arg)| {
            !arg.starts_with('-') && (*i == 0 || !VALUED.contains(&args[i - 1].as_str()))
        })
        .map(|(_, arg)| arg.clone())
}

/// Whether a benchmark with one of these ids may run under the filter (a
/// filter that looks like a regex selects everything here).
fn wanted(ids: &[&str]) -> bool {
    match name_filter() {
        None => true,
        Some(filter) if filter.contains(|c: char| "^$.*+?()[]{}|\\".contains(c)) => true,
        Some(filter) => ids.iter().any(|id| id.contains(&filter)),
    }
}

fn paired(_: &mut Criterion) {
    if !wanted(&["paired"]) {
        return;
    }
    let forms = paired_forms();
    for (label, prepared) in &forms {
        describe(&format!("paired/{label}"), prepared);
    }
    paired_summary(&forms);
}

fn bench_category(c: &mut Criterion, category: &str, label: &str) {
    if !wanted(&[&format!("{label}/sequential"), &format!("{label}/parallel")]) {
        return;
    }
    let prepared = prepare(polscan_benches::load(category));
    describe(label, &prepared);
    let env = Environment::default();
    let mut group = c.benchmark_group(label);
    group.sample_size(10);
    group.throughput(Throughput::Elements(prepared.rule_results as u64));
    group.bench_function("sequential", |b| b.iter(|| pass(&prepared, &env)));
    group.bench_function("parallel", |b| {
        b.iter(|| {
            prepared
                .resources
                .par_iter()
                .map(|r| prepared.engine.evaluate(r, &env).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn engine_throughput(c: &mut Criterion) {
    bench_category(c, "clusterpolicy-validate", "patterns");
    bench_category(c, "clusterpolicy-validate-cel", "validate_cel");
    bench_category(c, "validatingpolicy", "validating_policy");
}

criterion_group!(benches, paired, engine_throughput);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
