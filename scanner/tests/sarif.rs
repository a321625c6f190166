//! `-o sarif` checked against the OASIS SARIF 2.1.0 JSON schema (fetched and
//! cached by scripts/test-assets.sh), and its locations against the manifest
//! files the resources came from.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn schema_path() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/test-assets.sh");
    let output = Command::new("bash")
        .arg(script)
        .arg("sarif-schema")
        .output()
        .unwrap_or_else(|e| panic!("running test-assets.sh: {e}"));
    assert!(
        output.status.success(),
        "test-assets.sh sarif-schema failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

fn assert_valid_sarif(log: &Value) {
    let text = std::fs::read_to_string(schema_path()).unwrap_or_else(|e| panic!("schema: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("schema: {e}"));
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

fn polscan(args: &[&str], dir: &Path) -> (Value, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_polscan"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running polscan: {e}"));
    let log = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (log, output.status.code().unwrap_or(-1))
}

#[test]
fn the_demo_audit_is_valid_sarif() {
    let (log, _) = polscan(&["demo", "-o", "sarif"], Path::new("."));
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty(), "the demo has violations");
    // The validator itself rejects what the schema forbids.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    let text = std::fs::read_to_string(schema_path()).expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("validator");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn apply_locates_each_violation_at_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("policies")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("apps")).expect("mkdir");
    std::fs::write(
        dir.path().join("policies/latest.yaml"),
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: disallow-latest\n  annotations:\n    policies.kyverno.io/severity: medium\n    policies.kyverno.io/description: Pin images to a version.\nspec:\n  rules:\n  - name: no-latest\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate:\n      message: use a pinned tag\n      pattern: {spec: {containers: [{image: '!*:latest'}]}}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("apps/pods.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: pinned}\nspec: {containers: [{name: c, image: 'nginx:1.27'}]}\n---\n# the bad one\napiVersion: v1\nkind: Pod\nmetadata: {name: floating}\nspec: {containers: [{name: c, image: 'nginx:latest'}]}\n",
    )
    .expect("write");
    let (log, code) = polscan(
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
        dir.path(),
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
