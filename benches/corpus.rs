//! Benchmark workloads: the policies and resources of the corpus tests in a
//! conformance category (patterns, `validate.cel`, ValidatingPolicy), loaded
//! once. The corpus path enters; a [`Workload`] (policies and resources as
//! parsed documents) leaves.

use polscan::engine::policy::Policy;
use polscan::engine::validating_policy::ValidatingPolicy;
use polscan::kyverno_test;
use polscan::loader;
use serde_json::Value;

pub struct Workload {
    pub policies: Vec<Policy>,
    pub validating: Vec<ValidatingPolicy>,
    pub resources: Vec<Value>,
}

/// Loads the policies and resources of every test in `category`.
pub fn load(category: &str) -> Workload {
    let root = polscan_tests::corpus_root();
    let files = kyverno_test::discover(&[root]).unwrap_or_default();
    let mut policies = Vec::new();
    let mut validating = Vec::new();
    let mut resources = Vec::new();
    for file in files {
        if polscan_tests::category(&file) != category {
            continue;
        }
        for doc in
            loader::load_paths(&polscan_tests::listed_files(&file, "policies")).unwrap_or_default()
        {
            if let Ok(policy) = Policy::from_document(&doc.value) {
                policies.push(policy);
            } else if let Ok(policy) = ValidatingPolicy::from_document(&doc.value) {
                validating.push(policy);
            }
        }
        for doc in
            loader::load_paths(&polscan_tests::listed_files(&file, "resources")).unwrap_or_default()
        {
            let mut value = doc.value;
            loader::normalize_resource(&mut value);
            resources.push(value);
        }
    }
    Workload {
        policies,
        validating,
        resources,
    }
}
