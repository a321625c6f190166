//! Proves the CRDs in `deploy/crds/` and the Rust types agree: fully-populated
//! reports are serialized and walked against each CRD's openAPIV3Schema by the
//! structural check the write path uses (`report_model::schema`), in both directions (every written field is in
//! the schema, every schema field is written). Also checks the CRD headers
//! (names, scope, version, printer columns).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use report_model::schema::{schema_paths, violations, visited_paths};
use serde_json::{json, Value};

const POLICY_REPORTS_CRD: &str = "wgpolicyk8s.io_policyreports.yaml";
const CLUSTER_POLICY_REPORTS_CRD: &str = "wgpolicyk8s.io_clusterpolicyreports.yaml";

fn load_crd(file: &str) -> Value {
    let path = format!("{}/../deploy/crds/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_yaml::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn v1alpha2(crd: &Value) -> &Value {
    let versions = crd["spec"]["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "only v1alpha2 is defined");
    &versions[0]
}

fn schema_of(crd: &Value) -> &Value {
    &v1alpha2(crd)["schema"]["openAPIV3Schema"]
}

fn assert_valid_and_complete(crd_file: &str, instance: &Value) {
    let crd = load_crd(crd_file);
    let schema = schema_of(&crd);
    let errors = violations(schema, instance);
    assert!(
        errors.is_empty(),
        "{crd_file} rejects the serialized report:\n{}",
        errors.join("\n")
    );
    let declared = schema_paths(schema);
    let visited = visited_paths(schema, instance);
    let unwritten: Vec<_> = declared.difference(&visited).collect();
    assert!(
        unwritten.is_empty(),
        "{crd_file} declares fields the Rust types never write: {unwritten:?}"
    );
}

fn validation_errors(crd_file: &str, instance: &Value) -> Vec<String> {
    let crd = load_crd(crd_file);
    violations(schema_of(&crd), instance)
}

#[test]
fn fully_populated_policy_report_matches_crd_schema() {
    let instance = serde_json::to_value(common::full_policy_report()).unwrap();
    assert_valid_and_complete(POLICY_REPORTS_CRD, &instance);
}

#[test]
fn fully_populated_cluster_policy_report_matches_crd_schema() {
    let instance = serde_json::to_value(common::full_cluster_policy_report()).unwrap();
    assert_valid_and_complete(CLUSTER_POLICY_REPORTS_CRD, &instance);
}

#[test]
fn validator_rejects_unknown_field() {
    let mut instance = serde_json::to_value(common::full_policy_report()).unwrap();
    instance["results"][0]["bogus"] = json!("x");
    instance["scope"]["extra"] = json!(1);
    let errors = validation_errors(POLICY_REPORTS_CRD, &instance);
    assert!(
        errors.iter().any(|e| e.starts_with(".results[].bogus")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with(".scope.extra")),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[test]
fn validator_rejects_bad_enum_values() {
    let mut instance = serde_json::to_value(common::full_policy_report()).unwrap();
    instance["results"][0]["severity"] = json!("urgent");
    instance["results"][1]["result"] = json!("passed");
    let errors = validation_errors(POLICY_REPORTS_CRD, &instance);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("\"urgent\" is not one of")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("\"passed\" is not one of")),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[test]
fn validator_rejects_wrong_types_missing_required_and_bad_metadata() {
    let mut instance = serde_json::to_value(common::full_cluster_policy_report()).unwrap();
    instance["summary"]["pass"] = json!("1");
    instance["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("policy");
    instance["results"][0]["timestamp"]["nanos"] = json!(5_000_000_000_i64);
    instance["results"][0]["properties"]["n"] = json!(3);
    instance["metadata"]["colour"] = json!("blue");
    let errors = validation_errors(CLUSTER_POLICY_REPORTS_CRD, &instance);
    let expect = [
        ".summary.pass: expected integer",
        ".results[]: required field policy is missing",
        ".results[].timestamp.nanos: 5000000000 is not an int32",
        ".results[].properties.*: expected string",
        ".metadata.colour: not an ObjectMeta field",
    ];
    for expected in expect {
        assert!(
            errors.iter().any(|e| e.starts_with(expected)),
            "{expected} not in {errors:?}"
        );
    }
    assert_eq!(errors.len(), expect.len(), "{errors:?}");
}

#[test]
fn validator_honours_preserve_unknown_fields_and_additional_properties() {
    let schema = json!({
        "type": "object",
        "properties": {
            "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "anything": {"type": "object", "additionalProperties": true},
            "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
        }
    });
    let ok = json!({"open": {"x": 1}, "anything": {"y": [1]}, "closed": {"a": "s"}});
    assert!(violations(&schema, &ok).is_empty());
    let bad = json!({"closed": {"b": "s"}});
    assert_eq!(violations(&schema, &bad).len(), 1);
}

fn strip_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("description");
            map.values_mut().for_each(strip_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

#[test]
fn both_crds_share_one_schema() {
    let mut namespaced = schema_of(&load_crd(POLICY_REPORTS_CRD)).clone();
    let mut cluster = schema_of(&load_crd(CLUSTER_POLICY_REPORTS_CRD)).clone();
    strip_descriptions(&mut namespaced);
    strip_descriptions(&mut cluster);
    assert_eq!(namespaced, cluster);
}

fn assert_crd_header(file: &str, kind: &str, plural: &str, short_name: &str, scope: &str) {
    let crd = load_crd(file);
    assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(crd["kind"], "CustomResourceDefinition");
    assert_eq!(crd["metadata"]["name"], format!("{plural}.wgpolicyk8s.io"));
    let spec = &crd["spec"];
    assert_eq!(spec["group"], "wgpolicyk8s.io");
    assert_eq!(spec["scope"], scope);
    assert_eq!(spec["names"]["kind"], kind);
    assert_eq!(spec["names"]["listKind"], format!("{kind}List"));
    assert_eq!(spec["names"]["plural"], plural);
    assert_eq!(spec["names"]["shortNames"], json!([short_name]));
    let version = v1alpha2(&crd);
    assert_eq!(version["name"], "v1alpha2");
    assert_eq!(version["served"], true);
    assert_eq!(version["storage"], true);

    let columns: Vec<(String, String, String)> = version["additionalPrinterColumns"]
        .as_array()
        .expect("printer columns")
        .iter()
        .map(|column| {
            // Any priority other than 0 hides the column from a plain `kubectl get`.
            assert!(column["priority"].as_i64().unwrap_or(0) == 0, "{column}");
            (
                column["name"].as_str().unwrap().to_owned(),
                column["jsonPath"].as_str().unwrap().to_owned(),
                column["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("Kind", ".scope.kind", "string"),
        ("Name", ".scope.name", "string"),
        ("Pass", ".summary.pass", "integer"),
        ("Fail", ".summary.fail", "integer"),
        ("Warn", ".summary.warn", "integer"),
        ("Error", ".summary.error", "integer"),
        ("Skip", ".summary.skip", "integer"),
        ("Age", ".metadata.creationTimestamp", "date"),
    ]
    .map(|(n, p, t)| (n.to_owned(), p.to_owned(), t.to_owned()));
    assert_eq!(columns, expected);
}

#[test]
fn policy_report_crd_header() {
    assert_crd_header(
        POLICY_REPORTS_CRD,
        "PolicyReport",
        "policyreports",
        "polr",
        "Namespaced",
    );
}

#[test]
fn cluster_policy_report_crd_header() {
    assert_crd_header(
        CLUSTER_POLICY_REPORTS_CRD,
        "ClusterPolicyReport",
        "clusterpolicyreports",
        "cpolr",
        "Cluster",
    );
}

#[test]
fn shaped_reports_match_crd_schema() {
    use report_model::{per_namespace, per_resource, PerNamespaceOptions, ScopedResult};
    let input = vec![
        ScopedResult {
            resource: common::full_reference(Some("shop")),
            result: common::full_result(Some("shop")),
        },
        ScopedResult {
            resource: report_model::ObjectReference::cluster_scoped("v1", "Node", "node-1"),
            result: common::full_result(None),
        },
    ];
    for shaped in [
        per_resource(input.clone()).unwrap(),
        per_namespace(input, &PerNamespaceOptions::default()).unwrap(),
    ] {
        for report in &shaped.policy_reports {
            let errors =
                validation_errors(POLICY_REPORTS_CRD, &serde_json::to_value(report).unwrap());
            assert!(errors.is_empty(), "{errors:?}");
        }
        for report in &shaped.cluster_policy_reports {
            let errors = validation_errors(
                CLUSTER_POLICY_REPORTS_CRD,
                &serde_json::to_value(report).unwrap(),
            );
            assert!(errors.is_empty(), "{errors:?}");
        }
    }
}
