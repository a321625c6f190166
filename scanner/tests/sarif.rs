//! `-o sarif` checked against the OASIS SARIF 2.1.0 JSON schema (fetched and
//! cached by scripts/test-assets.sh), and its locations against the manifest
//! files the resources came from.

mod common;

use std::path::Path;

use common::{polscan, schema_errors, stderr, stdout, test_asset, validator, Files};
use serde_json::Value;

/// A validator for the SARIF 2.1.0 schema.
fn sarif_schema() -> jsonschema::Validator {
    validator(&test_asset("sarif-schema"))
}

fn assert_valid_sarif(log: &Value) {
    let errors = schema_errors(&sarif_schema(), log);
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

/// The SARIF log `polscan args` prints in `dir`, and its exit code.
fn sarif(args: &[&str], dir: &Path) -> (Value, i32) {
    let output = polscan(args).cwd(dir).output();
    let log = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(&output), stderr(&output)));
    (log, output.status.code().unwrap_or(-1))
}

#[test]
fn the_demo_audit_is_valid_sarif() {
    let (log, _) = sarif(&["demo", "-o", "sarif"], Path::new("."));
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty(), "the demo has violations");
    // The validator itself rejects what the schema forbids.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!sarif_schema().is_valid(&broken));
}

#[test]
fn apply_locates_each_violation_at_its_file_and_line() {
    let files = Files::new();
    files.write(
        "policies/latest.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: disallow-latest\n  annotations:\n    policies.kyverno.io/severity: medium\n    policies.kyverno.io/description: Pin images to a version.\nspec:\n  rules:\n  - name: no-latest\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate:\n      message: use a pinned tag\n      pattern: {spec: {containers: [{image: '!*:latest'}]}}\n",
    );
    files.write(
        "apps/pods.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: pinned}\nspec: {containers: [{name: c, image: 'nginx:1.27'}]}\n---\n# the bad one\napiVersion: v1\nkind: Pod\nmetadata: {name: floating}\nspec: {containers: [{name: c, image: 'nginx:latest'}]}\n",
    );
    let (log, code) = sarif(
        &[
            "apply",
            "-p",
            "policies",
            "-r",
            "apps",
            "-o",
            "sarif",
            "--fail-on",
            "fail",
        ],
        files.dir(),
    );
    assert_eq!(code, 1, "--fail-on decides the exit code in every format");
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:#?}");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "apps/pods.yaml");
    assert_eq!(location["region"]["startLine"], 7);
    assert_eq!(results[0]["level"], "warning", "medium severity");
    let rule = &log["runs"][0]["tool"]["driver"]["rules"][0];
    assert_eq!(rule["help"]["text"], "Pin images to a version.");
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
}
