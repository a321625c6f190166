//! Engine throughput on the corpus: every "ClusterPolicy validate" policy
//! against every resource of those tests, single-threaded and with rayon.
//! Criterion reports resources/s; `rule evaluations` per resource are printed
//! once so the per-rule rate can be derived.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use polscan::engine::{Engine, EngineOptions, Environment};
use rayon::prelude::*;

fn engine_throughput(c: &mut Criterion) {
    let workload = polscan_benches::load("clusterpolicy-validate");
    let resources = workload.resources;
    let engine = Engine::new(workload.policies, EngineOptions::default());
    let env = Environment::default();
    let rule_results: usize = resources
        .iter()
        .map(|r| {
            engine
                .evaluate(r, &env)
                .iter()
                .map(|p| p.rules.len())
                .sum::<usize>()
        })
        .sum();
    println!(
        "workload: {} policies x {} resources = {} rule results per pass",
        engine.policies().len(),
        resources.len(),
        rule_results
    );
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rule_results as u64));
    group.bench_function("corpus_validate_sequential", |b| {
        b.iter(|| {
            resources
                .iter()
                .map(|r| engine.evaluate(r, &env).len())
                .sum::<usize>()
        })
    });
    group.bench_function("corpus_validate_parallel", |b| {
        b.iter(|| {
            resources
                .par_iter()
                .map(|r| engine.evaluate(r, &env).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, engine_throughput);
criterion_main!(benches);
