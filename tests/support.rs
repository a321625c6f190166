//! Shared by the conformance harness and the benchmarks: where the Kyverno
//! policy-library corpus and the Kyverno CLI fidelity cases live, and which
//! category each corpus test falls in. Paths enter; categorised test files
//! leave.

#[path = "cluster_support.rs"]
pub mod cluster;

use std::path::{Path, PathBuf};

use polscan::engine::ValueExt;
use serde_json::Value;

/// Categories the conformance table reports, in print order.
pub const CATEGORIES: [(&str, &str); 4] = [
    (
        "clusterpolicy-validate",
        "ClusterPolicy/Policy validate (no validate.cel)",
    ),
    (
        "clusterpolicy-validate-cel",
        "ClusterPolicy/Policy validate.cel",
    ),
    ("validatingpolicy", "ValidatingPolicy"),
    (
        "other",
        "Other (mutate, generate, MutatingPolicy, GeneratingPolicy)",
    ),
];

/// The corpus root: `POLSCAN_CORPUS`, else `../shared/corpora/kyverno-policies`
/// next to the workspace.
pub fn corpus_root() -> PathBuf {
    if let Ok(path) = std::env::var("POLSCAN_CORPUS") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/kyverno-policies")
}

/// The Kyverno CLI fidelity cases: `POLSCAN_FIDELITY`, else
/// `../shared/cases/fidelity` next to the workspace. Each folder holds a
/// kyverno-test.yaml and a README saying what `kyverno test` gives.
pub fn fidelity_root() -> PathBuf {
    if let Ok(path) = std::env::var("POLSCAN_FIDELITY") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/cases/fidelity")
}

/// The files a test file lists under `key` (`policies`, `resources`),
/// resolved against the test file's folder.
pub fn listed_files(test_file: &Path, key: &str) -> Vec<PathBuf> {
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

/// The documents of the policies a test file names.
pub fn test_policies(test_file: &Path) -> Vec<Value> {
    polscan::loader::load_paths(&listed_files(test_file, "policies"))
        .map(|docs| docs.into_iter().map(|d| d.value).collect())
        .unwrap_or_default()
}

/// The category of a test, from the kinds and rules of its policies.
pub fn category(test_file: &Path) -> &'static str {
    let policies = test_policies(test_file);
    let mut only_kyverno = !policies.is_empty();
    let mut any_validating_policy = false;
    let mut only_validate = true;
    let mut uses_cel = false;
    for policy in &policies {
        let kind = policy.str_field("kind").unwrap_or("");
        match kind {
            "ClusterPolicy" | "Policy" => {
                for rule in policy
                    .pointer("/spec/rules")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if rule.get("validate").is_none() {
                        only_validate = false;
                    }
                    if rule.pointer("/validate/cel").is_some() {
                        uses_cel = true;
                    }
                }
            }
            "ValidatingPolicy" | "NamespacedValidatingPolicy" => {
                only_kyverno = false;
                any_validating_policy = true;
            }
            _ => only_kyverno = false,
        }
    }
    if only_kyverno && only_validate {
        if uses_cel {
            "clusterpolicy-validate-cel"
        } else {
            "clusterpolicy-validate"
        }
    } else if any_validating_policy {
        "validatingpolicy"
    } else {
        "other"
    }
}

/// Reads `category=count` floors.
pub fn read_floors(path: &Path) -> Vec<(String, usize)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            Some((key.trim().to_string(), value.trim().parse().ok()?))
        })
        .collect()
}
