//! Benchmark workloads: the policies and resources of the corpus tests in a
//! conformance category (patterns, `validate.cel`, ValidatingPolicy), loaded
//! once, and the paired workload that puts the same policies' pattern,
//! `validate.cel` and ValidatingPolicy forms on one set of resources. The
//! corpus path enters; a [`Workload`] or [`Paired`] (policies and resources
//! as parsed documents) leaves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polscan::engine::Policy;
use polscan::engine::ValidatingPolicy;
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
    let mut workload = Workload {
        policies: Vec::new(),
        validating: Vec::new(),
        resources: Vec::new(),
    };
    for file in test_files() {
        if polscan_tests::category(&file) != category {
            continue;
        }
        add_policies(&file, &mut workload);
        workload.resources.extend(resources_of(&file));
    }
    workload
}

/// One library policy in its three forms, on one set of resources.
pub struct Paired {
    /// The `validate` pattern/deny ClusterPolicies (no `validate.cel`).
    pub patterns: Workload,
    /// The `validate.cel` ClusterPolicies (`<folder>-cel/`).
    pub validate_cel: Workload,
    /// The Kyverno ValidatingPolicies (`<folder>-vpol/`).
    pub validating: Workload,
    /// How many library policies exist in all three forms.
    pub policies: usize,
}

/// The library policies that exist as a pattern ClusterPolicy
/// (`best-practices/x`), a `validate.cel` one (`best-practices-cel/x`) and a
/// ValidatingPolicy (`best-practices-vpol/x`). Every form gets the same
/// resources: those of all three tests, each distinct document once.
pub fn load_paired() -> Paired {
    let root = polscan_tests::corpus_root();
    // Folder path with the `-cel`/`-vpol` suffix of its first component
    // removed → the test file of each form.
    let mut forms: BTreeMap<PathBuf, [Option<PathBuf>; 3]> = BTreeMap::new();
    for file in test_files() {
        let Ok(relative) = file.strip_prefix(&root) else {
            continue;
        };
        let mut components = relative.components();
        let Some(first) = components.next() else {
            continue;
        };
        let first = first.as_os_str().to_string_lossy();
        let (base, slot) = if let Some(base) = first.strip_suffix("-cel") {
            (base, 1)
        } else if let Some(base) = first.strip_suffix("-vpol") {
            (base, 2)
        } else {
            (first.as_ref(), 0)
        };
        let expected = [
            "clusterpolicy-validate",
            "clusterpolicy-validate-cel",
            "validatingpolicy",
        ];
        if polscan_tests::category(&file) != expected[slot] {
            continue;
        }
        let key = Path::new(base).join(components.as_path());
        forms.entry(key).or_default()[slot] = Some(file);
    }
    let empty = || Workload {
        policies: Vec::new(),
        validating: Vec::new(),
        resources: Vec::new(),
    };
    let mut paired = Paired {
        patterns: empty(),
        validate_cel: empty(),
        validating: empty(),
        policies: 0,
    };
    let mut resources: Vec<Value> = Vec::new();
    for [pattern, cel, vpol] in forms.into_values() {
        let (Some(pattern), Some(cel), Some(vpol)) = (pattern, cel, vpol) else {
            continue;
        };
        paired.policies += 1;
        add_policies(&pattern, &mut paired.patterns);
        add_policies(&cel, &mut paired.validate_cel);
        add_policies(&vpol, &mut paired.validating);
        let mut own: Vec<Value> = Vec::new();
        for file in [&pattern, &cel, &vpol] {
            for resource in resources_of(file) {
                if !own.contains(&resource) {
                    own.push(resource);
                }
            }
        }
        resources.extend(own);
    }
    paired.patterns.resources = resources.clone();
    paired.validate_cel.resources = resources.clone();
    paired.validating.resources = resources;
    paired
}

fn test_files() -> Vec<PathBuf> {
    kyverno_test::discover(&[polscan_tests::corpus_root()]).unwrap_or_default()
}

fn add_policies(test_file: &Path, workload: &mut Workload) {
    for doc in
        loader::load_paths(&polscan_tests::listed_files(test_file, "policies")).unwrap_or_default()
    {
        if let Ok(policy) = Policy::from_document(&doc.value) {
            workload.policies.push(policy);
        } else if let Ok(policy) = ValidatingPolicy::from_document(&doc.value) {
            workload.validating.push(policy);
        }
    }
}

fn resources_of(test_file: &Path) -> Vec<Value> {
    loader::load_paths(&polscan_tests::listed_files(test_file, "resources"))
        .unwrap_or_default()
        .into_iter()
        .map(|doc| {
            let mut value = doc.value;
            loader::normalize_resource(&mut value);
            value
        })
        .collect()
}
