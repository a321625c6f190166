//! Engine throughput on the corpus, per policy form: pattern ClusterPolicies
//! (`clusterpolicy-validate`), `validate.cel` ClusterPolicies and Kyverno
//! ValidatingPolicies, each against every resource of its tests,
//! single-threaded and with rayon. Criterion reports rule results/s (one
//! "element" is one rule result); the workload sizes are printed once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use polscan::engine::{Engine, EngineOptions, Environment};
use rayon::prelude::*;

fn bench_category(c: &mut Criterion, category: &str, label: &str) {
    let workload = polscan_benches::load(category);
    let resources = workload.resources;
    let policy_count = workload.policies.len() + workload.validating.len();
    let engine = Engine::new(workload.policies, EngineOptions::default())
        .with_validating_policies(workload.validating);
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
        "{label}: {policy_count} policies x {} resources = {rule_results} rule results per pass",
        resources.len(),
    );
    let mut group = c.benchmark_group(label);
    group.sample_size(10);
    group.throughput(Throughput::Elements(rule_results as u64));
    group.bench_function("sequential", |b| {
        b.iter(|| {
            resources
                .iter()
                .map(|r| engine.evaluate(r, &env).len())
                .sum::<usize>()
        })
    });
    group.bench_function("parallel", |b| {
        b.iter(|| {
            resources
                .par_iter()
                .map(|r| engine.evaluate(r, &env).len())
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

criterion_group!(benches, engine_throughput);
criterion_main!(benches);
