//! Evidence built from reports and policies pushed in as data: report
//! and policy documents, a scan record and earlier evidence enter as JSON
//! (the builders below make them); evidence, its pages and packages leave
//! and are checked. One file a topic; the builders more than one topic
//! uses live here, the others beside the tests that use them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::compare;
use crate::exceptions::{policy_exceptions, ExceptionEvidence, ExceptionStatus};
use crate::ingest::record::ScanRecord;
use crate::ingest::{ClusterIdentity, EvidenceInput, ObjectName, ReportResults};
use crate::model::{Evidence, PolicyEvidence, Verdict, ViolationChange};
use crate::output::{html, markdown, owners_count, package};
use crate::verdict::build;
use polscan_engine::exceptions::annotation as annotation_exceptions;
use polscan_engine::exceptions::annotation::properties as ex_props;

mod baseline;
mod comparison;
mod decisions;
mod exceptions;
mod filters;
mod generated_exceptions;
mod merge;
mod outputs;
mod owners;
mod recheck;
mod reports;
mod rule_changes;
mod scan_coverage;
mod verdicts;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .expect("time")
}

fn policy(name: &str, action: &str, changed: &str) -> Value {
    json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {
            "name": name,
            "annotations": {"policies.kyverno.io/description": format!("How to fix {name}.")},
            "managedFields": [{"manager": "kubectl", "time": changed}]
        },
        "spec": {"validationFailureAction": action, "rules": [
            {"name": "check", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "validate": {"pattern": {}}}
        ]}
    })
}

fn result(policy: &str, status: &str, namespace: &str, pod: &str) -> Value {
    json!({
        "policy": policy, "rule": "check", "result": status, "message": format!("{pod} {status}"),
        "timestamp": {"seconds": 100, "nanos": 0},
        "resources": [{"apiVersion": "v1", "kind": "Pod", "namespace": namespace, "name": pod}]
    })
}

fn report(results: Vec<Value>) -> Value {
    json!({"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
           "metadata": {"name": "r", "namespace": "ns"}, "results": results})
}

fn scan(complete: bool, failed: &[&str]) -> ScanRecord {
    ScanRecord {
        source: "polscan-system/polscan-last-run".into(),
        started: Some(at("2026-11-20T10:00:00Z")),
        finished: Some(at("2026-11-20T10:05:00Z")),
        complete,
        failed_kinds: failed.iter().map(|k| k.to_string()).collect(),
        error: None,
        dry_run: false,
        ..ScanRecord::default()
    }
}

fn input(reports: Vec<Value>, policies: Vec<Value>, scan: Option<ScanRecord>) -> EvidenceInput {
    let mut results = ReportResults::default();
    for report in &reports {
        assert!(results.add_report(report));
    }
    EvidenceInput {
        reports: results,
        policies,
        scan,
        owners: BTreeMap::new(),
        owner_labels: Default::default(),
        owner_selectors: BTreeMap::new(),
        identity: ClusterIdentity {
            source: "cluster".into(),
            kube_system_uid: Some("uid-1".into()),
            server_version: Some("v1.20.2".into()),
            server: None,
        },
        now: at("2026-11-22T00:00:00Z"),
        expiry_window: Duration::days(14),
        policy_filter: Vec::new(),
        namespace_filter: Vec::new(),
        unserved_policy_kinds: Vec::new(),
        policy_kinds_discovered: true,
        file_only_policies: Default::default(),
        still_present: None,
        soak: Default::default(),
    }
}

/// Every kind a Pod rule reaches (Pods and, by autogen, their
/// controllers), listed with 0 objects: nothing in scope exists.
fn pod_kinds_listed_empty() -> BTreeMap<String, usize> {
    [
        "Pod",
        "apps/Deployment",
        "apps/DaemonSet",
        "apps/StatefulSet",
        "apps/ReplicaSet",
        "ReplicationController",
        "batch/Job",
        "batch/CronJob",
    ]
    .into_iter()
    .map(|k| (k.to_string(), 0))
    .collect()
}

/// A soak history of policy `name` (`document`, as in the cluster, in
/// Audit): one complete scan of 4 objects per `(day, fails)`, at
/// 2026-11-10 plus that many days.
fn soak_history(
    name: &str,
    document: &Value,
    scans: &[(i64, u64)],
) -> crate::run::history::History {
    use crate::run::history::{record, soak_digest, History, PolicyScan, ShardCounts};
    let mut history = History::new();
    for (day, fail) in scans {
        let scan = PolicyScan {
            hash: soak_digest(document, &[]),
            legacy_hash: None,
            action: "Audit".into(),
            counts: ShardCounts {
                fail: *fail,
                error: 0,
                evaluated: 4,
                complete: true,
            },
        };
        let when = at("2026-11-10T00:00:00Z") + Duration::days(*day);
        record(&mut history, when, None, &[(name.to_string(), scan)].into());
    }
    history
}

/// Evidence input whose soak needs `--min-soak 7d` and 2 scans of
/// `history`.
fn with_soak(mut given: EvidenceInput, history: crate::run::history::History) -> EvidenceInput {
    given.soak = crate::ingest::SoakInput {
        min_soak: Some(Duration::days(7)),
        min_scans: 2,
        history: Some(history),
        max_scan_age: None,
    };
    given
}

/// The verdict of policy `name` built from these inputs, and its reasons
/// joined with ` | `.
fn judge_policy(
    name: &str,
    reports: Vec<Value>,
    policies: Vec<Value>,
    scan: Option<ScanRecord>,
) -> (Verdict, String) {
    let evidence = build(&input(reports, policies, scan));
    let found = find(&evidence, name);
    (found.verdict, found.reasons.join(" | "))
}

fn find<'a>(evidence: &'a Evidence, name: &str) -> &'a PolicyEvidence {
    evidence
        .policies
        .iter()
        .find(|p| p.info.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", evidence.policies))
}

/// [`find`], to change the policy.
fn find_mut<'a>(evidence: &'a mut Evidence, name: &str) -> &'a mut PolicyEvidence {
    evidence
        .policies
        .iter_mut()
        .find(|p| p.info.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn namespaced_policy(namespace: &str, name: &str) -> Value {
    let mut document = policy(name, "Audit", "2026-11-01T00:00:00Z");
    document["kind"] = json!("Policy");
    document["metadata"]["namespace"] = json!(namespace);
    document
}

fn polex(namespace: &str, name: &str, changed: &str) -> Value {
    json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
           "metadata": {"name": name, "namespace": namespace,
                        "creationTimestamp": "2026-11-01T00:00:00Z",
                        "managedFields": [{"manager": "kubectl", "time": changed}]},
           "spec": {"exceptions": [{"policyName": "guarded", "ruleNames": ["check"]}], "match": {}}})
}

/// `guarded` (Enforce): one pass, one result skipped by `sneaky`.
fn guarded_reports() -> Vec<Value> {
    let mut skipped = result("guarded", "skip", "team-b", "sneaky");
    skipped["properties"] = json!({"exceptions": "sneaky"});
    vec![report(vec![
        skipped,
        result("guarded", "pass", "team-a", "good"),
    ])]
}

fn applied_in(namespace: &str) -> ScanRecord {
    ScanRecord {
        policy_exceptions: Some(crate::run::exception_scope::ExceptionScope::Namespace {
            namespace: namespace.into(),
        }),
        ..scan(true, &[])
    }
}

/// A ClusterPolicy with rules `a` (Audit) and `b` (the policy's action
/// unless `b_action` is given), both on Pods.
fn two_rule_policy(name: &str, action: &str, b_action: Option<&str>) -> Value {
    let mut b = json!({"name": "b", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "validate": {"pattern": {}}});
    if let Some(b_action) = b_action {
        b["validate"]["failureAction"] = json!(b_action);
    }
    json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": name, "managedFields": [{"manager": "kubectl", "time": "2026-11-01T00:00:00Z"}]},
        "spec": {"validationFailureAction": action, "rules": [
            {"name": "a", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "validate": {"pattern": {}}},
            b
        ]}
    })
}

fn rule_result(policy: &str, rule: &str, status: &str, pod: &str) -> Value {
    let mut found = result(policy, status, "a", pod);
    found["rule"] = json!(rule);
    found
}

/// A result the resource's annotation turned into `skip`.
fn annotation_skipped(policy: &str, rule: &str, pod: &str, was: &str) -> Value {
    let mut skipped = rule_result(policy, rule, "skip", pod);
    skipped["properties"] = json!({
        "exception": "resource-annotation", "exception-result": was,
        "exception-reason": "vendor image, INC-42", "exception-expires": "2027-03-01",
        "exception-owner": "team-b"});
    skipped
}

/// A ClusterPolicy in Audit that an override enforces in namespace `web`.
fn overridden_policy(name: &str) -> Value {
    let mut found = policy(name, "Audit", "2026-11-01T00:00:00Z");
    found["spec"]["validationFailureActionOverrides"] =
        json!([{"action": "Enforce", "namespaces": ["web"]}]);
    found
}

/// A ValidatingPolicy in Deny on Pods.
fn validating_policy(name: &str) -> Value {
    json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
           "metadata": {"name": name, "managedFields": [{"manager": "kubectl", "time": "2026-11-01T00:00:00Z"}]},
           "spec": {"validationActions": ["Deny"],
                    "matchConstraints": {"resourceRules": [{"resources": ["pods"]}]}}})
}

fn cel_result(policy: &str, status: &str, pod: &str) -> Value {
    let mut found = result(policy, status, "a", pod);
    found.as_object_mut().expect("object").remove("rule");
    found
}

/// Gives `name`'s policy in `evidence` a Git change with a promote patch,
/// as `--policy-repo` attaches it.
fn promote_in_git(evidence: &mut Evidence, name: &str) {
    let policy = find_mut(evidence, name);
    policy.git_change = Some(crate::promotion::GitChange {
        locations: vec![format!(
            "policies/{name}.yaml:7 spec.validationFailureAction"
        )],
        promote: Some(crate::promotion::PatchFile {
            file: format!("patches/{name}/promote.patch"),
            diff: String::new(),
        }),
        ..crate::promotion::GitChange::default()
    });
}
