//! Report behaviour: summaries derived from results, canonical result order,
//! wire format details, deserialization, and snapshots of each kind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use report_model::{
    ClusterPolicyReport, ObjectReference, PolicyReport, PolicyResult, ReportError, ReportResult,
    Severity, Summary, Timestamp,
};
use serde_json::json;

fn outcome_mix() -> Vec<ReportResult> {
    let outcomes = [
        PolicyResult::Fail,
        PolicyResult::Pass,
        PolicyResult::Fail,
        PolicyResult::Skip,
        PolicyResult::Warn,
        PolicyResult::Error,
        PolicyResult::Pass,
        PolicyResult::Fail,
    ];
    outcomes
        .iter()
        .enumerate()
        .map(|(i, outcome)| ReportResult::new(format!("policy-{i}"), *outcome))
        .collect()
}

#[test]
fn summary_counts_results_by_outcome() {
    let report = PolicyReport::new("r", "ns", outcome_mix());
    assert_eq!(
        report.summary(),
        Summary {
            pass: 2,
            fail: 3,
            warn: 1,
            error: 1,
            skip: 1
        }
    );
    assert_eq!(report.summary().total(), 8);
    assert_eq!(report.summary(), Summary::from_results(report.results()));
}

#[test]
fn summary_stays_current_when_results_are_added() {
    let mut report = ClusterPolicyReport::new("r", vec![]);
    assert_eq!(report.summary(), Summary::default());
    report.extend_results(outcome_mix());
    report.extend_results([ReportResult::new("late", PolicyResult::Skip)]);
    assert_eq!(report.summary().skip, 2);
    assert_eq!(report.summary(), Summary::from_results(report.results()));
    let names: Vec<_> = report.results().iter().map(|r| r.policy.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "results stay in canonical order");
}

#[test]
fn empty_report_still_serializes_a_zero_summary_and_no_results_key() {
    let report = PolicyReport::new("empty", "ns", vec![]);
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(
        value,
        json!({
            "apiVersion": "wgpolicyk8s.io/v1alpha2",
            "kind": "PolicyReport",
            "metadata": {"name": "empty", "namespace": "ns"},
            "summary": {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0},
        })
    );
}

#[test]
fn minimal_result_writes_only_required_fields() {
    let result = ReportResult::new("p", PolicyResult::Pass);
    assert_eq!(
        serde_json::to_value(&result).unwrap(),
        json!({"policy": "p", "result": "pass"})
    );
}

#[test]
fn wire_names_are_camel_case() {
    let value = serde_json::to_value(common::full_policy_report()).unwrap();
    for key in ["apiVersion", "scopeSelector"] {
        assert!(value.get(key).is_some(), "{key}");
    }
    assert!(value["metadata"]["ownerReferences"][0]["blockOwnerDeletion"].is_boolean());
    assert!(value["metadata"]["resourceVersion"].is_string());
    let result = value["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "require-labels")
        .unwrap();
    assert!(result["resourceSelector"]["matchExpressions"].is_array());
    assert!(result["resourceSelector"]["matchLabels"].is_object());
    assert_eq!(
        result["resources"][0]["fieldPath"],
        "spec.template.spec.containers{app}"
    );
    assert_eq!(result["severity"], "medium");
    assert_eq!(
        result["timestamp"],
        json!({"seconds": 1_700_000_000, "nanos": 123_456_789})
    );
}

fn on(kind: &str, namespace: &str, name: &str) -> ObjectReference {
    ObjectReference::namespaced("v1", kind, namespace, name)
}

#[test]
fn results_sort_by_policy_rule_resource_result_message() {
    let expected = vec![
        ReportResult::new("a", PolicyResult::Pass),
        ReportResult::new("a", PolicyResult::Fail).with_rule("r1"),
        ReportResult::new("a", PolicyResult::Fail)
            .with_rule("r2")
            .with_resource(ObjectReference::namespaced("v2", "ConfigMap", "z", "x")),
        ReportResult::new("a", PolicyResult::Fail)
            .with_rule("r2")
            .with_resource(ObjectReference::namespaced(
                "apps/v1",
                "Deployment",
                "z",
                "x",
            )),
        ReportResult::new("a", PolicyResult::Fail)
            .with_rule("r2")
            .with_resource(on("Pod", "a", "y")),
        ReportResult::new("a", PolicyResult::Fail)
            .with_rule("r2")
            .with_resource(on("Pod", "b", "a")),
        ReportResult::new("a", PolicyResult::Pass)
            .with_rule("r2")
            .with_resource(on("Pod", "b", "b")),
        ReportResult::new("a", PolicyResult::Fail)
            .with_rule("r2")
            .with_resource(on("Pod", "b", "b")),
        ReportResult::new("a", PolicyResult::Fail)
            .with_rule("r2")
            .with_resource(on("Pod", "b", "b"))
            .with_message("m1"),
        ReportResult::new("a", PolicyResult::Fail)
            .with_rule("r2")
            .with_resource(on("Pod", "b", "b"))
            .with_message("m2"),
        ReportResult::new("b", PolicyResult::Error),
    ];
    // Several different input orders, all must give the same output.
    let mut reversed = expected.clone();
    reversed.reverse();
    let mut rotated = expected.clone();
    rotated.rotate_left(4);
    let mut interleaved: Vec<_> = expected.iter().step_by(2).cloned().collect();
    interleaved.extend(expected.iter().skip(1).step_by(2).cloned());
    for input in [expected.clone(), reversed, rotated, interleaved] {
        let report = PolicyReport::new("r", "ns", input);
        assert_eq!(report.results(), expected.as_slice());
    }
}

#[test]
fn sort_is_total_over_remaining_fields() {
    let base = ReportResult::new("p", PolicyResult::Fail);
    let variants = vec![
        base.clone().with_severity(Severity::Low),
        base.clone().with_severity(Severity::Critical),
        base.clone().with_category("c"),
        base.clone().with_source("s"),
        base.clone().with_scored(true),
        base.clone().with_property("k", "v"),
        base.clone().with_timestamp(Timestamp::new(2, 0)),
        base.clone().with_timestamp(Timestamp::new(1, 0)),
        base,
    ];
    let forward = PolicyReport::new("r", "ns", variants.clone());
    let mut backward_input = variants;
    backward_input.reverse();
    let backward = PolicyReport::new("r", "ns", backward_input);
    assert_eq!(forward.results(), backward.results());
    assert_eq!(
        serde_json::to_string(&forward).unwrap(),
        serde_json::to_string(&backward).unwrap()
    );
}

#[test]
fn deserializing_recomputes_a_stale_summary_and_sorts() {
    let text = json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {"name": "r", "namespace": "ns", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "summary": {"pass": 99, "fail": 0, "warn": 0, "error": 0, "skip": 0},
        "results": [
            {"policy": "b", "result": "fail"},
            {"policy": "a", "result": "pass", "source": "kyverno"},
        ],
    });
    let report: PolicyReport = serde_json::from_value(text).unwrap();
    assert_eq!(
        report.summary(),
        Summary {
            pass: 1,
            fail: 1,
            ..Summary::default()
        }
    );
    assert_eq!(report.results()[0].policy, "a");
    assert_eq!(report.namespace(), "ns");
}

#[test]
fn round_trip_preserves_fully_populated_reports() {
    let namespaced = common::full_policy_report();
    let back: PolicyReport =
        serde_json::from_str(&serde_json::to_string(&namespaced).unwrap()).unwrap();
    assert_eq!(back, namespaced);
    let cluster = common::full_cluster_policy_report();
    let back: ClusterPolicyReport =
        serde_json::from_str(&serde_json::to_string(&cluster).unwrap()).unwrap();
    assert_eq!(back, cluster);
}

#[test]
fn deserializing_rejects_wrong_kind_or_api_version() {
    let cluster = serde_json::to_value(ClusterPolicyReport::new("c", vec![])).unwrap();
    let err = serde_json::from_value::<PolicyReport>(cluster).unwrap_err();
    let expected = ReportError::WrongKind {
        expected: "PolicyReport",
        found: "ClusterPolicyReport".into(),
    };
    assert!(err.to_string().contains(&expected.to_string()), "{err}");

    let mut old = serde_json::to_value(PolicyReport::new("p", "ns", vec![])).unwrap();
    old["apiVersion"] = json!("wgpolicyk8s.io/v1beta1");
    let err = serde_json::from_value::<PolicyReport>(old).unwrap_err();
    assert!(err.to_string().contains("wgpolicyk8s.io/v1beta1"), "{err}");
}

#[test]
fn snapshot_policy_report() {
    insta::assert_yaml_snapshot!("policy_report", common::full_policy_report());
}

#[test]
fn snapshot_cluster_policy_report() {
    insta::assert_yaml_snapshot!(
        "cluster_policy_report",
        common::full_cluster_policy_report()
    );
}
