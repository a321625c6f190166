//! Benchmark workload: the policies and resources of the corpus tests in the
//! "ClusterPolicy validate" category, loaded once. The corpus path enters; a
//! [`Workload`] (policies and resources as parsed documents) leaves.

use std::path::{Path, PathBuf};

use polscan::engine::policy::Policy;
use polscan::kyverno_test;
use polscan::loader;
use serde_json::Value;

pub struct Workload {
    pub policies: Vec<Policy>,
    pub resources: Vec<Value>,
}

fn listed(test_file: &Path, key: &str) -> Vec<PathBuf> {
    let dir = test_file.parent().unwrap_or(Path::new("."));
    let spec: Value = std::fs::read_to_string(test_file)
        .ok()
        .and_then(|text| serde_yaml::from_str(&text).ok())
        .unwrap_or(Value::Null);
    spec.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(|p| dir.join(p))
                .collect()
        })
        .unwrap_or_default()
}

/// Loads the policies and resources of every test in `category`.
pub fn load(category: &str) -> Workload {
    let root = polscan_tests::corpus_root();
    let files = kyverno_test::discover(&[root]).unwrap_or_default();
    let mut policies = Vec::new();
    let mut resources = Vec::new();
    for file in files {
        if polscan_tests::category(&file) != category {
            continue;
        }
        for doc in loader::load_paths(&listed(&file, "policies")).unwrap_or_default() {
            if let Ok(policy) = Policy::from_document(&doc.value) {
                policies.push(policy);
            }
        }
        for doc in loader::load_paths(&listed(&file, "resources")).unwrap_or_default() {
            let mut value = doc.value;
            loader::normalize_resource(&mut value);
            resources.push(value);
        }
    }
    Workload {
        policies,
        resources,
    }
}
