//! Evidence built from reports and policies pushed in as data.

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

/// A report as polscan writes it: labelled managed-by polscan.
fn polscan_report(results: Vec<Value>) -> Value {
    let mut report = report(results);
    report["metadata"]["labels"] = json!({"app.kubernetes.io/managed-by": "polscan"});
    report
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
        still_present: None,
    }
}

fn find<'a>(evidence: &'a Evidence, name: &str) -> &'a PolicyEvidence {
    evidence
        .policies
        .iter()
        .find(|p| p.info.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", evidence.policies))
}

#[test]
fn clean_policy_after_a_complete_scan_is_ready() {
    let evidence = build(&input(
        vec![report(vec![
            result("clean", "pass", "a", "p1"),
            result("dirty", "fail", "a", "p1"),
            result("dirty", "pass", "b", "p2"),
        ])],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            policy("dirty", "Enforce", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let clean = find(&evidence, "clean");
    assert_eq!(clean.verdict, Verdict::Ready, "{:?}", clean.reasons);
    assert_eq!(clean.rule_evidence[0].verdict, Verdict::Ready);
    let dirty = find(&evidence, "dirty");
    assert_eq!(dirty.verdict, Verdict::NotReady);
    assert!(dirty.reasons.iter().any(|r| r.contains("1 failing")));
    assert!(dirty.enforced_with_violations());
    assert_eq!(dirty.by_namespace["a"].fail, 1);
    assert_eq!(dirty.by_namespace["b"].pass, 1);
    assert_eq!(dirty.violations.len(), 1);
    assert_eq!(dirty.info.description.as_deref(), Some("How to fix dirty."));
}

#[test]
fn no_scan_record_a_failed_kind_or_a_later_change_is_not_ready() {
    let reports = vec![report(vec![result("clean", "pass", "a", "p1")])];
    let policies = vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")];
    let without = build(&input(reports.clone(), policies.clone(), None));
    assert_eq!(find(&without, "clean").verdict, Verdict::NotReady);

    // Deployments are covered through autogen of a Pod policy.
    let failed = build(&input(
        reports.clone(),
        policies,
        Some(scan(false, &["apps/Deployment"])),
    ));
    let reasons = &find(&failed, "clean").reasons;
    assert!(
        reasons.iter().any(|r| r.contains("apps/Deployment")),
        "{reasons:?}"
    );
    // A failed kind the policy does not match does not block it.
    let unrelated = build(&input(
        reports.clone(),
        vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(false, &["ConfigMap"])),
    ));
    assert_eq!(find(&unrelated, "clean").verdict, Verdict::Ready);

    let changed = build(&input(
        reports,
        vec![policy("clean", "Audit", "2026-11-21T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let reasons = &find(&changed, "clean").reasons;
    assert!(
        reasons.iter().any(|r| r.contains("after the last scan")),
        "{reasons:?}"
    );
}

#[test]
fn violators_are_grouped_under_their_owner() {
    let mut evidence_input = input(
        vec![report(vec![
            result("dirty", "fail", "a", "web-1"),
            result("dirty", "fail", "a", "web-2"),
            result("dirty", "error", "a", "lone"),
        ])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    );
    let deployment = ObjectName {
        kind: "Deployment".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    for pod in ["web-1", "web-2"] {
        evidence_input.owners.insert(
            ObjectName {
                kind: "Pod".into(),
                namespace: "a".into(),
                name: pod.into(),
            },
            deployment.clone(),
        );
    }
    let evidence = build(&evidence_input);
    let owners: Vec<String> = find(&evidence, "dirty")
        .violations
        .iter()
        .map(|v| v.owner.to_string())
        .collect();
    assert_eq!(
        owners,
        ["a/Deployment/web", "a/Deployment/web", "a/Pod/lone"]
    );
    let markdown = markdown::render(&evidence);
    assert_eq!(
        markdown.matches("**a/Deployment/web**").count(),
        1,
        "{markdown}"
    );
    assert!(markdown.contains("Remediation: How to fix dirty."));
}

#[test]
fn exceptions_with_expiry_in_the_window_and_expired() {
    let exception = |name: &str, expires: &str| {
        json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
               "metadata": {"name": name, "namespace": "ops", "annotations": {
                   "polscan.io/exception-owner": "team-a",
                   "polscan.io/exception-reason": "vendor image",
                   "polscan.io/exception-expires": expires}},
               "spec": {"exceptions": [{"policyName": "clean", "ruleNames": ["check"]}], "match": {}}})
    };
    let mut skipped = result("clean", "skip", "a", "vendor");
    // Reports name a PolicyException by its bare name, as Kyverno's do.
    skipped["properties"] = json!({"exceptions": "soon"});
    // An older polscan report named it `namespace/name`.
    let mut older = result("clean", "skip", "b", "vendor");
    older["properties"] = json!({"exceptions": "ops/soon"});
    // Another policy's result naming an exception of the same name.
    let mut elsewhere = result("other", "skip", "c", "vendor");
    elsewhere["properties"] = json!({"exceptions": "soon"});
    let evidence = build(&input(
        vec![report(vec![
            skipped,
            older,
            elsewhere,
            result("clean", "pass", "a", "p"),
        ])],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            exception("soon", "2026-11-30"),
            exception("later", "2027-06-01"),
            exception("gone", "2026-11-01"),
            json!({"kind": "PolicyException", "metadata": {"name": "forever"}, "spec": {"exceptions": [{"policyName": "other"}]}}),
        ],
        Some(scan(true, &[])),
    ));
    let status: BTreeMap<&str, ExceptionStatus> = evidence
        .exceptions
        .iter()
        .map(|e| (e.name.as_str(), e.status))
        .collect();
    assert_eq!(status["ops/soon"], ExceptionStatus::Expiring);
    assert_eq!(status["ops/later"], ExceptionStatus::Active);
    assert_eq!(status["ops/gone"], ExceptionStatus::Expired);
    assert_eq!(status["forever"], ExceptionStatus::NoExpiry);
    let soon = evidence
        .exceptions
        .iter()
        .find(|e| e.name == "ops/soon")
        .expect("soon");
    assert_eq!(soon.covered_results, 2);
    assert_eq!(soon.owner.as_deref(), Some("team-a"));
    // The expired exception for its rule keeps the policy from Enforce.
    let clean = find(&evidence, "clean");
    // Only an expiry still ahead is a rollback condition.
    let expiry_conditions: Vec<&String> = clean
        .rollback_conditions
        .iter()
        .filter(|c| c.contains("expir"))
        .collect();
    assert_eq!(
        expiry_conditions,
        [
            "PolicyException ops/soon reaching its expiry (2026-11-30)",
            "PolicyException ops/later reaching its expiry (2027-06-01)"
        ],
        "{:?}",
        clean.rollback_conditions
    );
    assert_eq!(clean.verdict, Verdict::NotReady, "{:?}", clean.reasons);
    assert!(
        clean.reasons.iter().any(|r| r.contains("ops/gone")),
        "{:?}",
        clean.reasons
    );
    // Exceptions the scan did not apply (as Kyverno by default) skip
    // nothing: their expiry is no rollback condition.
    let mut disabled = scan(true, &[]);
    disabled.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
    let evidence = build(&input(
        Vec::new(),
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            exception("soon", "2026-11-30"),
        ],
        Some(disabled),
    ));
    let clean = find(&evidence, "clean");
    assert!(
        clean
            .rollback_conditions
            .iter()
            .all(|c| !c.contains("ops/soon")),
        "{:?}",
        clean.rollback_conditions
    );
}

#[test]
fn annotation_exceptions_come_from_the_report_properties() {
    let mut skipped = result("clean", "skip", "a", "legacy");
    skipped["properties"] = json!({"exception": "resource-annotation", "exception-reason": "migration",
                                   "exception-expires": "2026-12-01", "exception-owner": "team-b"});
    let evidence = build(&input(
        vec![report(vec![skipped])],
        vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let exception = &evidence.exceptions[0];
    assert_eq!(exception.source, "annotation");
    assert_eq!(exception.name, "a/Pod/legacy");
    assert_eq!(exception.status, ExceptionStatus::Expiring);
    assert_eq!(exception.reason.as_deref(), Some("migration"));
}

#[test]
fn policies_named_only_by_reports_are_shown_not_ready() {
    let evidence = build(&input(
        vec![report(vec![result("deleted", "pass", "a", "p")])],
        Vec::new(),
        Some(scan(true, &[])),
    ));
    let deleted = find(&evidence, "deleted");
    assert!(!deleted.found);
    assert_eq!(deleted.verdict, Verdict::NotReady);
}

#[test]
fn filters_keep_only_the_named_policies_and_namespaces() {
    let mut filtered = input(
        vec![report(vec![
            result("dirty", "fail", "a", "p1"),
            result("dirty", "pass", "b", "p2"),
            result("clean", "pass", "a", "p1"),
        ])],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            policy("dirty", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    );
    filtered.policy_filter = vec!["dirty".into()];
    filtered.namespace_filter = vec!["b".into()];
    let evidence = build(&filtered);
    assert_eq!(evidence.policies.len(), 1);
    assert_eq!(evidence.policies[0].counts.pass, 1);
    // A cluster-wide policy is enforced in namespaces the view left out.
    assert_eq!(evidence.policies[0].verdict, Verdict::NotReady);
    assert!(
        evidence.policies[0]
            .reasons
            .iter()
            .any(|r| r.contains("filtered view") && r.contains("only namespace(s) b")),
        "{:?}",
        evidence.policies[0].reasons
    );
}

fn namespaced_policy(namespace: &str, name: &str) -> Value {
    let mut document = policy(name, "Audit", "2026-11-01T00:00:00Z");
    document["kind"] = json!("Policy");
    document["metadata"]["namespace"] = json!(namespace);
    document
}

#[test]
fn a_namespace_filtered_view_judges_only_namespaced_policies_inside_it() {
    let reports = vec![report(vec![
        result("wide", "pass", "a", "p1"),
        result("wide", "fail", "c", "p3"),
        json!({"policy": "a/local", "rule": "check", "result": "pass", "message": "ok",
               "timestamp": {"seconds": 100, "nanos": 0},
               "resources": [{"apiVersion": "v1", "kind": "Pod", "namespace": "a", "name": "p1"}]}),
        json!({"policy": "c/elsewhere", "rule": "check", "result": "pass", "message": "ok",
               "timestamp": {"seconds": 100, "nanos": 0},
               "resources": [{"apiVersion": "v1", "kind": "Pod", "namespace": "c", "name": "p3"}]}),
    ])];
    let policies = vec![
        policy("wide", "Audit", "2026-11-01T00:00:00Z"),
        namespaced_policy("a", "local"),
        namespaced_policy("c", "elsewhere"),
    ];
    let mut filtered = input(reports.clone(), policies.clone(), Some(scan(true, &[])));
    filtered.namespace_filter = vec!["a".into()];
    let evidence = build(&filtered);
    let wide = find(&evidence, "wide");
    // Its failure in namespace c is out of view: never ready from here.
    assert_eq!(wide.counts.fail, 0);
    assert_eq!(wide.verdict, Verdict::NotReady, "{:?}", wide.reasons);
    assert!(wide
        .rule_evidence
        .iter()
        .all(|r| r.verdict == Verdict::NotReady));
    let local = find(&evidence, "local");
    assert_eq!(local.verdict, Verdict::Ready, "{:?}", local.reasons);
    let elsewhere = find(&evidence, "elsewhere");
    assert_eq!(elsewhere.verdict, Verdict::NotReady);
    assert!(elsewhere
        .reasons
        .iter()
        .any(|r| r.contains("its namespace c is not among those looked at")));
    // The header of every rendering says the view is filtered.
    let header = "Filtered view: only results in namespace(s) a (evidence --namespace)";
    assert!(markdown::render(&evidence).contains(header));
    assert!(html::render(&evidence).contains(header));
    // Unfiltered, the cluster-wide policy is judged on all its results.
    let whole = build(&input(reports, policies, Some(scan(true, &[]))));
    assert!(!markdown::render(&whole).contains("Filtered view"));
    assert_eq!(find(&whole, "wide").counts.fail, 1);
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

#[test]
fn a_skip_by_a_deleted_exception_is_not_ready_and_rolls_back() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let exception = polex("team-b", "sneaky", "2026-11-01T00:00:00Z");
    let before = build(&input(
        guarded_reports(),
        vec![guarded.clone(), exception],
        Some(applied_in("*")),
    ));
    let ready = find(&before, "guarded");
    assert_eq!(ready.verdict, Verdict::Ready, "{:?}", ready.reasons);
    assert!(ready.stale_exceptions.is_empty());
    assert!(ready
        .rollback_conditions
        .iter()
        .any(|c| c.contains("PolicyException its skipped results rest on deleted")));
    // The exception is deleted; the reports still hold its skip.
    let mut after = build(&input(
        guarded_reports(),
        vec![guarded],
        Some(applied_in("*")),
    ));
    let gone = find(&after, "guarded");
    assert_eq!(gone.verdict, Verdict::NotReady);
    assert!(
        gone.reasons.iter().any(|r| r
            .contains("skipped by PolicyException sneaky, which no longer exists")
            && r.contains("rescan first")),
        "{:?}",
        gone.reasons
    );
    assert_eq!(gone.rule_evidence[0].verdict, Verdict::NotReady);
    assert_eq!(gone.stale_exceptions, ["sneaky"]);
    let comparison = compare::compare(&before, &after);
    assert_eq!(
        comparison.removed_exceptions,
        ["PolicyException team-b/sneaky"]
    );
    let check = &comparison.rollback_checks[0];
    assert!(check.roll_back, "{check:?}");
    assert!(check.conditions.iter().any(|c| c.met
        && c.condition.contains("deleted, changed or not applied")
        && c.detail == "sneaky"));
    after.comparison = Some(comparison);
    assert!(markdown::render(&after).contains("- removed exceptions: 1"));
    assert!(markdown::render(&after)
        .contains("### Removed exceptions\n\n- PolicyException team-b/sneaky"));
}

#[test]
fn scans_that_applied_different_exceptions_are_not_compared_like_with_like() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let other = policy("other", "Audit", "2026-11-01T00:00:00Z");
    let exception = polex("team-b", "sneaky", "2026-11-01T00:00:00Z");
    let mut reports = guarded_reports();
    reports[0]["results"]
        .as_array_mut()
        .expect("results")
        .push(result("other", "pass", "team-a", "good"));
    let policies = vec![guarded, other, exception];
    let before = build(&input(
        reports.clone(),
        policies.clone(),
        Some(applied_in("team-b")),
    ));
    // The same cluster, scanned without exceptions (Kyverno's default):
    // the skip is a failure now, but that is the setting, not the workload.
    let mut unskipped = reports.clone();
    unskipped[0]["results"][0] = result("guarded", "fail", "team-b", "sneaky");
    let mut no_exceptions = scan(true, &[]);
    no_exceptions.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
    let mut after = build(&input(unskipped, policies.clone(), Some(no_exceptions)));
    let comparison = compare::compare(&before, &after);
    let change = comparison
        .exception_scope_change
        .as_ref()
        .expect("the change of PolicyExceptions applied is named");
    assert!(change.previous.contains("team-b"), "{change:?}");
    let guarded_check = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "guarded")
        .expect("guarded is enforced");
    assert!(
        guarded_check.conditions.iter().any(|c| c.met
            && c.condition
                .contains("the previous package's scan applied that this scan did not")
            && c.detail.starts_with("team-b/sneaky")),
        "{guarded_check:?}"
    );
    // A policy no exception names is compared as before.
    let other_check = comparison
        .readiness_checks
        .iter()
        .find(|c| c.policy == "other")
        .expect("other is in Audit");
    assert!(other_check.still_ready, "{other_check:?}");
    after.comparison = Some(comparison);
    assert!(markdown::render(&after).contains("the scans applied different PolicyExceptions"));
    assert!(html::render(&after).contains("id=\"exception-scope-change\""));
    // The same setting on both sides: nothing said, no condition met.
    let again = build(&input(
        reports.clone(),
        policies.clone(),
        Some(applied_in("team-b")),
    ));
    let same = compare::compare(&before, &again);
    assert!(same.exception_scope_change.is_none());
    assert!(
        same.rollback_checks.iter().all(|c| !c.roll_back),
        "{same:?}"
    );
    // Widened to every namespace: the same exception applies, the same
    // results: said, but nothing to roll back.
    let widened = build(&input(reports, policies, Some(applied_in("*"))));
    let wider = compare::compare(&before, &widened);
    assert!(wider.exception_scope_change.is_some());
    assert!(
        wider.rollback_checks.iter().all(|c| !c.roll_back),
        "{wider:?}"
    );
}

#[test]
fn a_scan_of_some_namespaces_does_not_clear_a_cluster_wide_policy_for_rollback() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let reports = vec![report(vec![result("guarded", "pass", "team-a", "good")])];
    let before = build(&input(
        reports.clone(),
        vec![guarded.clone()],
        Some(scan(true, &[])),
    ));
    let mut one_namespace = scan(true, &[]);
    one_namespace.namespaces = vec!["team-a".into()];
    let after = build(&input(reports, vec![guarded], Some(one_namespace)));
    let comparison = compare::compare(&before, &after);
    let check = &comparison.rollback_checks[0];
    assert!(check.roll_back, "{check:?}");
    assert!(
        check.conditions.iter().any(|c| c.met
            && c.condition.starts_with("a scan that did not complete")
            && c.detail.contains("every namespace but team-a")),
        "{check:?}"
    );
    // The same exclusion in both scans was accepted at the switch: no gap.
    let mut without_system = scan(true, &[]);
    without_system.excluded_namespaces = vec!["kube-system".into()];
    let reports = vec![report(vec![result("guarded", "pass", "team-a", "good")])];
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let before = build(&input(
        reports.clone(),
        vec![guarded.clone()],
        Some(without_system.clone()),
    ));
    let after = build(&input(reports, vec![guarded], Some(without_system)));
    let same = compare::compare(&before, &after);
    assert!(!same.rollback_checks[0].roll_back, "{same:?}");
}

#[test]
fn an_annotation_excuse_dropped_is_the_same_violation_not_a_new_one() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let before = build(&input(
        vec![report(vec![annotation_skipped(
            "guarded", "check", "legacy", "fail",
        )])],
        vec![guarded.clone()],
        Some(scan(true, &[])),
    ));
    // The annotation is removed: to Kyverno nothing changed.
    let after = build(&input(
        vec![report(vec![result("guarded", "fail", "a", "legacy")])],
        vec![guarded.clone()],
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    assert!(comparison.new_violations.is_empty(), "{comparison:?}");
    assert!(!comparison.rollback_checks[0].roll_back, "{comparison:?}");
    // The resource is fixed: the annotation's violation is fixed too.
    let fixed = build(&input(
        vec![report(vec![result("guarded", "pass", "a", "legacy")])],
        vec![guarded],
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &fixed);
    assert_eq!(comparison.fixed_violations.len(), 1, "{comparison:?}");
}

#[test]
fn a_new_violation_excused_only_by_an_annotation_rolls_an_enforced_policy_back() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let before = build(&input(
        vec![report(vec![result("guarded", "pass", "a", "good")])],
        vec![guarded.clone()],
        Some(scan(true, &[])),
    ));
    // A new Pod violates, and its own annotation excuses it: Kyverno does
    // not read the annotation and rejects the Pod's next creation.
    let after = build(&input(
        vec![report(vec![
            result("guarded", "pass", "a", "good"),
            annotation_skipped("guarded", "check", "sneaky", "fail"),
        ])],
        vec![guarded],
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    assert_eq!(comparison.new_violations.len(), 1, "{comparison:?}");
    assert!(comparison.new_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("Kyverno's admission does not read")));
    let check = &comparison.rollback_checks[0];
    assert!(
        check.roll_back
            && check.conditions[0].met
            && check.conditions[0].detail.contains("a/Pod/sneaky"),
        "{check:?}"
    );
}

#[test]
fn a_filtered_package_compares_only_its_policies_exceptions() {
    let policies = vec![
        policy("guarded", "Audit", "2026-11-01T00:00:00Z"),
        policy("other", "Audit", "2026-11-01T00:00:00Z"),
        polex("team-b", "sneaky", "2026-11-01T00:00:00Z"),
    ];
    let before = build(&input(
        guarded_reports(),
        policies.clone(),
        Some(applied_in("*")),
    ));
    let mut filtered = input(guarded_reports(), policies, Some(applied_in("*")));
    filtered.policy_filter = vec!["other".into()];
    let after = build(&filtered);
    let comparison = compare::compare(&before, &after);
    assert!(comparison.removed_exceptions.is_empty(), "{comparison:?}");
    assert!(comparison.new_exceptions.is_empty(), "{comparison:?}");
}

#[test]
fn a_skip_by_an_exception_changed_after_the_scan_is_not_ready() {
    // The scan started 2026-11-20T10:00:00Z.
    let evidence = build(&input(
        guarded_reports(),
        vec![
            policy("guarded", "Enforce", "2026-11-01T00:00:00Z"),
            polex("team-b", "sneaky", "2026-11-21T08:00:00Z"),
        ],
        Some(applied_in("team-b")),
    ));
    let guarded = find(&evidence, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(
        guarded.reasons.iter().any(|r| r.contains(
            "PolicyException team-b/sneaky changed at 2026-11-21T08:00:00+00:00 after the last scan started"
        )),
        "{:?}",
        guarded.reasons
    );
    assert_eq!(guarded.stale_exceptions, ["sneaky"]);
}

#[test]
fn a_change_in_the_second_the_scan_started_counts_as_after_it() {
    // The scan started 2026-11-20T10:00:00Z; both times are whole seconds,
    // so a change in that second may have come after the scan read it.
    let judge = |policy_changed: &str, exception_changed: &str| {
        let evidence = build(&input(
            guarded_reports(),
            vec![
                policy("guarded", "Enforce", policy_changed),
                polex("team-b", "sneaky", exception_changed),
            ],
            Some(applied_in("team-b")),
        ));
        find(&evidence, "guarded").clone()
    };
    let before = judge("2026-11-20T09:59:59Z", "2026-11-20T09:59:59Z");
    assert_eq!(before.verdict, Verdict::Ready, "{:?}", before.reasons);
    let policy_tied = judge("2026-11-20T10:00:00Z", "2026-11-20T09:59:59Z");
    assert_eq!(policy_tied.verdict, Verdict::NotReady);
    assert!(
        policy_tied.reasons.iter().any(|r| r.contains(
            "the policy changed at 2026-11-20T10:00:00+00:00 after the last scan started"
        )),
        "{:?}",
        policy_tied.reasons
    );
    let exception_tied = judge("2026-11-20T09:59:59Z", "2026-11-20T10:00:00Z");
    assert_eq!(exception_tied.verdict, Verdict::NotReady);
    assert_eq!(exception_tied.stale_exceptions, ["sneaky"]);

    // A record of what the scan read settles the tie: the same content is
    // the document the scan read, another one changed since.
    let tied = || {
        vec![
            policy("guarded", "Enforce", "2026-11-20T10:00:00Z"),
            polex("team-b", "sneaky", "2026-11-20T10:00:00Z"),
        ]
    };
    let read = |documents: &[Value]| {
        let mut record = applied_in("team-b");
        record.input_digests = Some(
            documents
                .iter()
                .filter_map(crate::run::record_format::DocumentDigest::of)
                .map(|d| (d.key, d.digest))
                .collect(),
        );
        record
    };
    // The server's own metadata and status do not make another content.
    let mut as_read = tied();
    as_read[0]["metadata"]["resourceVersion"] = json!("7");
    as_read[0]["status"] = json!({"ready": true});
    let same = build(&input(guarded_reports(), tied(), Some(read(&as_read))));
    let guarded = find(&same, "guarded");
    assert_eq!(guarded.verdict, Verdict::Ready, "{:?}", guarded.reasons);
    assert!(guarded.stale_exceptions.is_empty());
    let mut edited = tied();
    edited[0]["spec"]["validationFailureAction"] = json!("Audit");
    edited[1]["spec"]["note"] = json!("older");
    let changed = build(&input(guarded_reports(), tied(), Some(read(&edited))));
    let guarded = find(&changed, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(guarded
        .reasons
        .iter()
        .any(|r| r.contains("the policy changed at")));
    assert_eq!(guarded.stale_exceptions, ["sneaky"]);
    // An apply that rewrites fields its manager owned leaves the change
    // time where it was: the digest still tells the scan read another one.
    let untimed = || {
        vec![
            policy("guarded", "Enforce", "2026-11-01T00:00:00Z"),
            polex("team-b", "sneaky", "2026-11-01T00:00:00Z"),
        ]
    };
    let same = build(&input(guarded_reports(), untimed(), Some(read(&untimed()))));
    assert_eq!(find(&same, "guarded").verdict, Verdict::Ready);
    let mut before_edit = untimed();
    before_edit[0]["spec"]["rules"][0]["name"] = json!("renamed");
    before_edit[1]["spec"]["note"] = json!("older");
    let stale = build(&input(
        guarded_reports(),
        untimed(),
        Some(read(&before_edit)),
    ));
    let guarded = find(&stale, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(
        guarded.reasons.iter().any(|r| r.contains(
            "the policy is not the one the last scan (started 2026-11-20T10:00:00+00:00) read"
        ) && r.ends_with("rescan first")),
        "{:?}",
        guarded.reasons
    );
    assert_eq!(guarded.stale_exceptions, ["sneaky"]);
}

#[test]
fn polscan_reports_newer_than_the_record_are_not_ready_and_kyverno_s_do_not_matter() {
    let at_10_07 = |status: &str| {
        let mut found = result("quiet", status, "a", "p1");
        found["timestamp"]["seconds"] = json!(at("2026-11-20T10:07:00Z").timestamp());
        found
    };
    let judge = |report: Value| {
        let evidence = build(&input(
            vec![report],
            vec![policy("quiet", "Audit", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        ));
        find(&evidence, "quiet").clone()
    };
    // The record's scan finished at 10:05; polscan wrote results at 10:07
    // in a scan that recorded nothing: the record does not describe them.
    let unrecorded = judge(polscan_report(vec![at_10_07("pass")]));
    assert_eq!(unrecorded.verdict, Verdict::NotReady);
    assert!(
        unrecorded
            .reasons
            .iter()
            .any(|r| r.contains("newer than the last recorded scan")
                && r.ends_with("rescan with --last-run-configmap polscan-system/polscan-last-run")),
        "{:?}",
        unrecorded.reasons
    );
    // Kyverno's background scan writes newer reports all the time.
    let kyverno = judge(report(vec![at_10_07("pass")]));
    assert_eq!(kyverno.verdict, Verdict::Ready, "{:?}", kyverno.reasons);
    // polscan's results from the recorded scan itself are fine.
    let mut recorded = at_10_07("pass");
    recorded["timestamp"]["seconds"] = json!(at("2026-11-20T10:04:00Z").timestamp());
    let recorded = judge(polscan_report(vec![recorded]));
    assert_eq!(recorded.verdict, Verdict::Ready, "{:?}", recorded.reasons);
}

#[test]
fn a_change_after_a_recorded_scan_with_newer_reports_asks_for_a_recorded_rescan() {
    let newer = |timestamp: i64| {
        let mut found = result("guarded", "pass", "a", "p1");
        found["timestamp"]["seconds"] = json!(timestamp);
        found
    };
    let judge = |timestamp: i64| {
        let evidence = build(&input(
            vec![polscan_report(vec![newer(timestamp)])],
            vec![policy("guarded", "Enforce", "2026-11-20T10:06:00Z")],
            Some(scan(true, &[])),
        ));
        find(&evidence, "guarded").reasons.clone()
    };
    // The record's scan finished 2026-11-20T10:05:00Z; a report written at
    // 10:07 came from a scan that wrote no record.
    let unrecorded = judge(at("2026-11-20T10:07:00Z").timestamp());
    assert!(
        unrecorded.iter().any(|r| r.contains("rescan first")
            && r.contains("a later scan wrote no record: rescan with --last-run-configmap polscan-system/polscan-last-run")),
        "{unrecorded:?}"
    );
    let recorded = judge(at("2026-11-20T10:04:00Z").timestamp());
    assert!(
        recorded.iter().any(|r| r.ends_with("rescan first")),
        "{recorded:?}"
    );
}

#[test]
fn skips_by_exceptions_the_scan_did_not_apply_or_does_not_record_are_not_ready() {
    let documents = vec![
        policy("guarded", "Enforce", "2026-11-01T00:00:00Z"),
        polex("team-b", "sneaky", "2026-11-01T00:00:00Z"),
    ];
    let judge =
        |record: ScanRecord| build(&input(guarded_reports(), documents.clone(), Some(record)));
    // Applied where it lives: the skip stands.
    let applied = judge(applied_in("team-b"));
    assert_eq!(find(&applied, "guarded").verdict, Verdict::Ready);
    assert!(markdown::render(&applied).contains(
        "PolicyExceptions applied: in namespace team-b, as a Kyverno started with --enablePolicyException --exceptionNamespace=team-b"
    ));
    // Outside the namespace the scan says it applied.
    let elsewhere = judge(applied_in("kyverno"));
    let guarded = find(&elsewhere, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(guarded
        .reasons
        .iter()
        .any(|r| r.contains("which the last scan did not apply")));
    assert!(elsewhere.exceptions[0]
        .problem
        .as_deref()
        .is_some_and(|p| p.starts_with("not applied: outside namespace kyverno")));
    // Kyverno's default: none applied.
    let disabled = judge(ScanRecord {
        policy_exceptions: Some(crate::run::exception_scope::ExceptionScope::Disabled),
        ..scan(true, &[])
    });
    assert_eq!(find(&disabled, "guarded").verdict, Verdict::NotReady);
    assert!(markdown::render(&disabled).contains("PolicyExceptions not applied (Kyverno's default"));
    assert!(html::render(&disabled).contains("PolicyExceptions not applied (Kyverno"));
    // A record of an older polscan does not say: not ready either, but
    // nothing changed since, so no rollback condition.
    let unknown = judge(scan(true, &[]));
    let guarded = find(&unknown, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(guarded
        .reasons
        .iter()
        .any(|r| r.contains("does not say which PolicyExceptions the scan applied")));
    assert!(guarded.stale_exceptions.is_empty());
}

#[test]
fn comparison_finds_new_and_fixed_violations_and_checks_rollback() {
    let policies = vec![
        policy("moved", "Enforce", "2026-11-01T00:00:00Z"),
        policy("stays", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let before = build(&input(
        vec![report(vec![
            result("moved", "pass", "a", "p1"),
            result("stays", "fail", "a", "old"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&before, "moved").verdict, Verdict::Ready);
    let after = build(&input(
        vec![report(vec![
            result("moved", "fail", "a", "p1"),
            result("stays", "pass", "a", "old"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    assert_eq!(comparison.new_violations.len(), 1);
    assert_eq!(comparison.new_violations[0].policy, "moved");
    assert_eq!(comparison.fixed_violations.len(), 1);
    assert_eq!(comparison.fixed_violations[0].resource, "a/Pod/old");
    let check = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "moved")
        .expect("moved is checked");
    assert!(check.roll_back);
    assert!(check.conditions[0].met && !check.conditions[1].met && !check.conditions[2].met);
    assert!(
        comparison
            .rollback_checks
            .iter()
            .all(|c| c.policy != "stays"),
        "a policy that was not ready and is in Audit has nothing to roll back"
    );

    // The same violation with another result is neither new nor fixed.
    let errored = build(&input(
        vec![report(vec![
            result("moved", "pass", "a", "p1"),
            result("stays", "error", "a", "old"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let same = compare::compare(&before, &errored);
    assert!(same.new_violations.is_empty() && same.fixed_violations.is_empty());

    // Nothing new and a complete scan: no condition met.
    let steady = compare::compare(&before, &before);
    assert!(steady.rollback_checks.iter().all(|c| !c.roll_back));
    // A failed scan is a condition on its own.
    let broken = build(&input(
        vec![report(vec![result("moved", "pass", "a", "p1")])],
        policies,
        Some(scan(false, &["Pod"])),
    ));
    let check = compare::compare(&before, &broken);
    assert!(check
        .rollback_checks
        .iter()
        .any(|c| c.policy == "moved" && c.conditions[1].met));
}

#[test]
fn scan_record_reads_the_last_run_config_map() {
    let record = ScanRecord::from_config_map(
        &json!({"data": {"complete": "false", "started": "2026-11-20T10:00:00Z",
                          "failedKinds": "apps/Deployment,Pod"}}),
        "ns/cm",
    )
    .expect("record");
    assert!(!record.complete);
    assert_eq!(record.failed_kinds, ["apps/Deployment", "Pod"]);
    assert_eq!(record.started, Some(at("2026-11-20T10:00:00Z")));
    let err = ScanRecord::from_config_map(&json!({"data": {"x": "1"}}), "ns/other")
        .expect_err("not a record");
    assert!(err.to_string().contains("ns/other"));
}

#[test]
fn a_package_verifies_until_a_file_is_changed_added_or_removed() {
    let evidence = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "p1")])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pkg");
    package::write(&out, &evidence, false).expect("written");
    let verified = package::verify(&out).expect("verify");
    assert!(verified.ok(), "{:?}", verified.problems);
    assert_eq!(verified.checked.len(), 3);
    assert_eq!(verified.header["cluster-kube-system-uid"], "uid-1");
    assert_eq!(package::read_previous(&out).expect("previous"), evidence);
    // Streamed to disk, evidence.json is what serializing it whole gives.
    assert_eq!(
        std::fs::read(out.join("evidence.json")).expect("json"),
        serde_json::to_vec_pretty(&evidence).expect("serialized")
    );
    assert_eq!(
        std::fs::read_to_string(out.join("evidence.md")).expect("md"),
        markdown::render(&evidence)
    );

    let html = out.join("index.html");
    let original = std::fs::read_to_string(&html).expect("html");
    std::fs::write(&html, original.replace("not ready", "ready")).expect("tamper");
    let tampered = package::verify(&out).expect("verify");
    assert!(
        tampered
            .problems
            .iter()
            .any(|p| p.contains("index.html was modified")),
        "{:?}",
        tampered.problems
    );
    assert!(
        package::read_previous(&out).is_err(),
        "a tampered baseline is refused"
    );
    std::fs::write(&html, original).expect("restore");
    std::fs::write(out.join("extra.txt"), "x").expect("add");
    assert!(!package::verify(&out).expect("verify").ok());
    // A directory with other files is never overwritten.
    let refused = package::write(&out, &evidence, true).expect_err("refused");
    assert!(refused.to_string().contains("extra.txt"), "{refused}");
    std::fs::remove_file(out.join("extra.txt")).expect("remove");

    // Editing the header of the MANIFEST is caught against evidence.json.
    let manifest = out.join(package::MANIFEST);
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("uid-1", "uid-2")).expect("tamper");
    let header = package::verify(&out).expect("verify");
    assert!(
        header
            .problems
            .iter()
            .any(|p| p.contains("cluster-kube-system-uid")),
        "{:?}",
        header.problems
    );
}

#[test]
fn html_escapes_what_reports_say() {
    let evidence = build(&input(
        vec![report(vec![json!({
            "policy": "dirty", "rule": "check", "result": "fail",
            "message": "<script>alert(1)</script>",
            "resources": [{"kind": "Pod", "namespace": "a", "name": "x"}]
        })])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let page = html::render(&evidence);
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn the_newest_of_two_reports_of_a_result_wins_and_other_objects_are_refused() {
    let mut results = ReportResults::default();
    let mut old = result("p", "fail", "a", "x");
    old["timestamp"]["seconds"] = json!(50);
    let mut new = result("p", "pass", "a", "x");
    new["timestamp"]["seconds"] = json!(150);
    assert!(results.add_report(&report(vec![new])));
    assert!(results.add_report(&report(vec![old])));
    assert!(!results.add_report(&json!({"kind": "ConfigMap"})));
    assert_eq!((results.reports(), results.len()), (2, 1));
    assert!(
        results.violators().is_empty(),
        "the newer pass replaced the fail"
    );
}

/// A per-resource report as Kyverno's reports controller writes it: the
/// resource in `scope`, its results without `resources`.
fn scoped_report(api_version: &str, kind: &str, name: &str, results: Vec<Value>) -> Value {
    json!({"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
           "metadata": {"name": format!("r-{name}"), "namespace": "a"},
           "scope": {"apiVersion": api_version, "kind": kind, "namespace": "a", "name": name},
           "results": results})
}

fn scoped_result(rule: &str, status: &str, seconds: i64) -> Value {
    json!({"policy": "dirty", "rule": rule, "result": status, "message": format!("{rule} {status}"),
           "timestamp": {"seconds": seconds, "nanos": 0},
           "properties": {"action": "Enforce", "resultID": format!("{rule}-{seconds}"), "process": "background scan"}})
}

#[test]
fn results_without_resources_are_of_the_reports_scope() {
    let mut evidence_input = input(
        vec![
            scoped_report(
                "apps/v1",
                "Deployment",
                "web",
                vec![
                    scoped_result("check", "fail", 100),
                    scoped_result("other", "error", 100),
                    scoped_result("third", "pass", 100),
                ],
            ),
            // A stale report of the same resource: the newer results win.
            scoped_report(
                "apps/v1",
                "Deployment",
                "web",
                vec![scoped_result("third", "fail", 50)],
            ),
            scoped_report(
                "v1",
                "Pod",
                "lone",
                vec![scoped_result("check", "pass", 100)],
            ),
        ],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    );
    let web = ObjectName {
        kind: "Deployment".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    assert_eq!(evidence_input.reports.len(), 4);
    assert_eq!(
        evidence_input.reports.violators(),
        [("apps/v1".to_string(), web.clone())]
    );
    let owner = ObjectName {
        kind: "Rollout".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    evidence_input.owners.insert(web.clone(), owner.clone());
    let evidence = build(&evidence_input);
    let dirty = find(&evidence, "dirty");
    assert_eq!(dirty.counts.fail, 1);
    assert_eq!(dirty.counts.error, 1);
    assert_eq!(dirty.counts.pass, 2);
    assert_eq!(dirty.by_namespace["a"].total(), 4);
    let violations: Vec<(&str, &ObjectName, &ObjectName, &str, &str)> = dirty
        .violations
        .iter()
        .map(|v| (&*v.rule, &*v.resource, &*v.owner, &*v.message, &*v.action))
        .collect();
    assert_eq!(
        violations,
        [
            ("check", &web, &owner, "check fail", "Enforce"),
            ("other", &web, &owner, "other error", "Enforce"),
        ]
    );
    // One resource under two rules is named once.
    assert!(Arc::ptr_eq(
        &dirty.violations[0].resource,
        &dirty.violations[1].resource
    ));
    assert!(Arc::ptr_eq(
        &dirty.violations[0].owner,
        &dirty.violations[1].owner
    ));
    // Read back for --since, it is shared again.
    let dir = tempfile::tempdir().expect("tempdir");
    package::write(dir.path(), &evidence, false).expect("written");
    let previous = package::read_previous(dir.path()).expect("previous");
    assert_eq!(previous, evidence);
    let violations = &find(&previous, "dirty").violations;
    assert!(Arc::ptr_eq(
        &violations[0].resource,
        &violations[1].resource
    ));
    assert!(Arc::ptr_eq(&violations[0].action, &violations[1].action));
}

#[test]
fn an_annotation_exception_in_a_scoped_report_names_the_scope() {
    let mut excused = scoped_result("check", "skip", 100);
    excused["properties"] = json!({
        ex_props::EXCEPTION: ex_props::RESOURCE_ANNOTATION,
        ex_props::RESULT: "fail",
        ex_props::REASON: "legacy",
        ex_props::OWNER: "team-a",
        ex_props::EXPIRES: "2027-01-01",
    });
    let evidence = build(&input(
        vec![scoped_report("v1", "Pod", "legacy", vec![excused])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let pod = ObjectName {
        kind: "Pod".into(),
        namespace: "a".into(),
        name: "legacy".into(),
    };
    assert_eq!(evidence.exceptions.len(), 1, "{:?}", evidence.exceptions);
    let exception = &evidence.exceptions[0];
    assert_eq!(exception.resource.as_ref(), Some(&pod));
    assert_eq!(exception.reason.as_deref(), Some("legacy"));
    assert_eq!(exception.owner.as_deref(), Some("team-a"));
    assert_eq!(exception.excused_violations, 1);
    assert_eq!(evidence.generated_exceptions.len(), 1);
    assert_eq!(
        evidence.generated_exceptions[0].resources,
        std::slice::from_ref(&pod)
    );
    assert_eq!(*find(&evidence, "dirty").excused[0].resource, pod);
}

#[test]
fn long_violator_lists_are_capped_in_the_pages_not_in_the_json() {
    let results: Vec<Value> = (0..30)
        .map(|i| result("dirty", "fail", "a", &format!("pod-{i:02}")))
        .collect();
    let evidence = build(&input(
        vec![report(results)],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&evidence, "dirty").violations.len(), 30);
    assert_eq!(find(&evidence, "dirty").owner_groups().len(), 30);
    let markdown = markdown::render(&evidence);
    assert!(markdown.contains("Violators (30 owners)"), "{markdown}");
    assert!(
        markdown.contains("… and 20 more owners (20 violations)"),
        "{markdown}"
    );
    assert!(!markdown.contains("pod-10"), "only the first ten owners");
    let page = html::render(&evidence);
    assert!(
        page.contains("a/Pod/pod-29"),
        "the page shows up to 200 owners"
    );
}

#[test]
fn an_exception_covers_its_policy_and_rules_not_a_policy_named_like_a_namespace() {
    let exception = ExceptionEvidence {
        source: "PolicyException".into(),
        name: "team/skip".into(),
        policies: vec!["team/p/rule".into(), "clean".into()],
        owner: None,
        reason: None,
        expires: None,
        status: ExceptionStatus::Expired,
        covered_results: 0,
        excused_violations: 0,
        resource: None,
        problem: None,
        policy_exception_file: None,
    };
    assert!(
        exception.covers("team/p"),
        "a rule of the namespaced policy team/p"
    );
    assert!(exception.covers("clean"));
    assert!(
        !exception.covers("team"),
        "a ClusterPolicy named after the namespace"
    );
    assert!(!exception.covers("clean-up"));
    // A ValidatingPolicy's results have no rule: `vpol/` names the policy.
    let cel = ExceptionEvidence {
        policies: vec!["require-replicas/".into()],
        ..exception
    };
    assert!(cel.covers("require-replicas"));
    assert!(!cel.covers("require"));
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

#[test]
fn audit_policies_get_a_readiness_check_and_only_enforce_rules_a_rollback() {
    let policies = vec![
        policy("audited", "Audit", "2026-11-01T00:00:00Z"),
        policy("enforced", "Enforce", "2026-11-01T00:00:00Z"),
        two_rule_policy("mixed", "Audit", Some("Enforce")),
    ];
    let before = build(&input(
        vec![report(vec![
            result("audited", "pass", "a", "p1"),
            result("enforced", "pass", "a", "p1"),
            rule_result("mixed", "a", "pass", "p1"),
            rule_result("mixed", "b", "pass", "p1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&before, "audited").verdict, Verdict::Ready);
    assert_eq!(find(&before, "mixed").info.action, "Mixed");
    let after = build(&input(
        vec![report(vec![
            result("audited", "fail", "a", "p1"),
            result("enforced", "pass", "a", "p1"),
            // A new failure of the Audit rule of a Mixed policy: Kyverno
            // does not block it, nothing to roll back.
            rule_result("mixed", "a", "fail", "p1"),
            rule_result("mixed", "b", "pass", "p1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    assert!(
        comparison
            .rollback_checks
            .iter()
            .all(|c| c.policy != "audited"),
        "an Audit policy is never told to roll back: {:?}",
        comparison.rollback_checks
    );
    let readiness = comparison
        .readiness_checks
        .iter()
        .find(|c| c.policy == "audited")
        .expect("audited gets a readiness check");
    assert!(!readiness.still_ready);
    assert_eq!(readiness.previous_verdict, Verdict::Ready);
    assert_eq!(readiness.verdict, Verdict::NotReady);
    assert!(readiness.reasons.iter().any(|r| r.contains("1 failing")));
    let mixed = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "mixed")
        .expect("mixed has an Enforce rule");
    assert!(!mixed.roll_back, "{mixed:?}");
    let enforced = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "enforced")
        .expect("enforced");
    assert!(!enforced.roll_back);

    // The Enforce rule failing is a rollback condition.
    let broken = build(&input(
        vec![report(vec![
            result("audited", "pass", "a", "p1"),
            result("enforced", "pass", "a", "p1"),
            rule_result("mixed", "a", "pass", "p1"),
            rule_result("mixed", "b", "fail", "p1"),
        ])],
        policies,
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &broken);
    let mixed = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "mixed")
        .expect("mixed");
    assert!(mixed.roll_back && mixed.conditions[0].met, "{mixed:?}");
    let audited = comparison
        .readiness_checks
        .iter()
        .find(|c| c.policy == "audited")
        .expect("audited");
    assert!(audited.still_ready);
}

#[test]
fn a_violation_the_policy_no_longer_evaluates_is_not_fixed() {
    use crate::ingest::results::{LEFT_SCOPE, NO_RESULTS_OFFLINE, NO_RESULTS_STILL_THERE};
    let policies = vec![
        policy("dirty", "Audit", "2026-11-01T00:00:00Z"),
        namespaced_policy("team-a", "local"),
    ];
    let before = build(&input(
        vec![report(vec![
            result("dirty", "fail", "a", "fixed"),
            result("dirty", "fail", "a", "moved"),
            result("team-a/local", "fail", "team-a", "fixed"),
            result("team-a/local", "fail", "team-a", "moved"),
            result("dirty", "fail", "a", "gone"),
            result("dirty", "fail", "a", "unselected"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    // Now `fixed` passes; `moved` has results of another policy but none
    // of these (it left their scope); `gone` and `unselected` have none
    // at all: the cluster no longer has `gone` (deleted, as a rollout
    // replaces Pods: a fix) but still has `unselected` (it left the
    // policy's scope and nothing else reports on it).
    let after_input = input(
        vec![report(vec![
            result("dirty", "pass", "a", "fixed"),
            result("team-a/local", "pass", "team-a", "fixed"),
            result("other", "fail", "a", "moved"),
            result("other", "pass", "team-a", "moved"),
        ])],
        policies,
        Some(scan(true, &[])),
    );
    let after = build(&after_input);
    let pod = |namespace: &str, name: &str| ObjectName {
        kind: "Pod".into(),
        namespace: namespace.into(),
        name: name.into(),
    };
    let present = BTreeSet::from([pod("a", "unselected")]);
    let judge = |present: Option<&BTreeSet<ObjectName>>| {
        compare::compare_with(&before, &after, &|policy, rule, resource| {
            after_input
                .reports
                .why_not_fixed(policy, rule, resource, present)
        })
    };
    let names = |changes: &[ViolationChange]| -> Vec<String> {
        changes
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.policy,
                    c.resource,
                    c.reason.as_deref().unwrap_or("")
                )
            })
            .collect()
    };
    let comparison = judge(Some(&present));
    assert_eq!(
        names(&comparison.fixed_violations),
        [
            "dirty a/Pod/fixed ",
            "dirty a/Pod/gone ",
            "team-a/local team-a/Pod/fixed "
        ]
    );
    assert_eq!(
        names(&comparison.unknown_violations),
        [
            format!("dirty a/Pod/moved {LEFT_SCOPE}"),
            format!("dirty a/Pod/unselected {NO_RESULTS_STILL_THERE}"),
            format!("team-a/local team-a/Pod/moved {LEFT_SCOPE}"),
        ]
    );
    // Reports read from files: whether a resource no result names still
    // exists is not known, so its violation is not known to be fixed.
    let offline = judge(None);
    assert_eq!(offline.fixed_violations.len(), 2, "{offline:?}");
    assert!(offline
        .unknown_violations
        .iter()
        .any(|c| c.resource == "a/Pod/gone" && c.reason.as_deref() == Some(NO_RESULTS_OFFLINE)));
    assert!(markdown::render(&Evidence {
        comparison: Some(comparison),
        ..after
    })
    .contains("left the policy's scope"));
}

#[test]
fn a_violation_missing_after_an_incomplete_scan_is_unknown_not_fixed() {
    let policies = vec![
        policy("dirty", "Audit", "2026-11-01T00:00:00Z"),
        policy("other", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let before = build(&input(
        vec![report(vec![
            result("dirty", "fail", "a", "gone"),
            result("other", "fail", "a", "gone"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let after_with = |record: ScanRecord| {
        build(&input(
            vec![report(vec![
                result("dirty", "pass", "a", "p1"),
                result("other", "pass", "a", "p1"),
            ])],
            policies.clone(),
            Some(record),
        ))
    };
    // Complete: both are fixed.
    let fixed = compare::compare(&before, &after_with(scan(true, &[])));
    assert_eq!(fixed.fixed_violations.len(), 2);
    assert!(fixed.unknown_violations.is_empty());

    // Pods failed to list: the reports may just lack the Pod's results.
    let listed = compare::compare(&before, &after_with(scan(false, &["Pod"])));
    assert!(listed.fixed_violations.is_empty(), "{listed:?}");
    assert_eq!(listed.unknown_violations.len(), 2);
    assert!(listed.unknown_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("could not list Pod")));
    // A failed list of another kind does not hide a Pod's fix.
    let other_kind = compare::compare(&before, &after_with(scan(false, &["ConfigMap"])));
    assert_eq!(other_kind.fixed_violations.len(), 2);
    // A scan that listed kinds, but not Pods, left the Pods' reports alone.
    let mut no_pods = scan(true, &[]);
    no_pods.objects_by_kind = Some([("ConfigMap".to_string(), 4)].into_iter().collect());
    let unlisted = compare::compare(&before, &after_with(no_pods));
    assert!(unlisted.fixed_violations.is_empty());
    assert!(unlisted.unknown_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("did not list Pod")));
    // Evidence for other namespaces only says nothing about namespace a.
    let mut elsewhere = input(
        vec![report(vec![result("dirty", "pass", "b", "p1")])],
        policies.clone(),
        Some(scan(true, &[])),
    );
    elsewhere.namespace_filter = vec!["b".into()];
    let filtered = compare::compare(&before, &build(&elsewhere));
    assert!(filtered.fixed_violations.is_empty(), "{filtered:?}");
    assert!(filtered.unknown_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("namespace a")));

    // Reports that could not be written: no absence proves a fix.
    let mut unwritten = scan(false, &[]);
    unwritten.write_failed_reports = 3;
    let after = after_with(unwritten);
    let comparison = compare::compare(&before, &after);
    assert!(comparison.fixed_violations.is_empty());
    assert!(comparison.unknown_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("failed to write 3")));
    assert_eq!(find(&after, "dirty").verdict, Verdict::NotReady);
    assert!(find(&after, "dirty")
        .reasons
        .iter()
        .any(|r| r.contains("failed to write 3 report(s)")));

    // A policy that failed to load: its violations are unknown and it is
    // not ready, naming why; the other policy is unaffected.
    let mut invalid = scan(false, &[]);
    invalid.invalid_policies = vec!["dirty".into()];
    let after = after_with(invalid);
    let comparison = compare::compare(&before, &after);
    assert_eq!(comparison.fixed_violations.len(), 1);
    assert_eq!(comparison.fixed_violations[0].policy, "other");
    assert_eq!(comparison.unknown_violations[0].policy, "dirty");
    let dirty = find(&after, "dirty");
    assert_eq!(dirty.verdict, Verdict::NotReady);
    assert!(
        dirty
            .reasons
            .iter()
            .any(|r| r.contains("could not load this policy")),
        "{:?}",
        dirty.reasons
    );
    assert_eq!(find(&after, "other").verdict, Verdict::Ready);

    // ClusterPolicies could not be read: every ClusterPolicy is affected.
    let mut unread = scan(false, &[]);
    unread.failed_policy_sources = vec!["clusterpolicies.kyverno.io".into()];
    let after = after_with(unread);
    let comparison = compare::compare(&before, &after);
    assert!(comparison.fixed_violations.is_empty());
    assert!(find(&after, "other")
        .reasons
        .iter()
        .any(|r| r.contains("could not read clusterpolicies.kyverno.io")));
    // Some policy missing from the scan, but the record does not say which
    // (the reports carry older results over): nothing is known fixed.
    let mut unnamed = scan(false, &[]);
    unnamed.policies_incomplete = true;
    let after = after_with(unnamed);
    assert!(compare::compare(&before, &after)
        .fixed_violations
        .is_empty());
    assert!(find(&after, "other")
        .reasons
        .iter()
        .any(|r| r.contains("does not record which")));
    // A scan of some namespaces says nothing about the others, where
    // Kyverno enforces a ClusterPolicy too.
    let mut some = scan(true, &[]);
    some.namespaces = vec!["b".into()];
    let after = after_with(some);
    assert!(compare::compare(&before, &after)
        .fixed_violations
        .is_empty());
    assert!(
        find(&after, "other")
            .reasons
            .iter()
            .any(|r| r.contains("every namespace but b")),
        "{:?}",
        find(&after, "other").reasons
    );
    let mut excluded = scan(true, &[]);
    excluded.excluded_namespaces = vec!["a".into()];
    let after = after_with(excluded);
    assert!(compare::compare(&before, &after)
        .fixed_violations
        .is_empty());
    assert!(find(&after, "other")
        .reasons
        .iter()
        .any(|r| r.contains("namespace(s) a (left out")));
    // ValidatingPolicies not read do not affect a ClusterPolicy.
    let mut unrelated = scan(false, &[]);
    unrelated.failed_policy_sources = vec!["validatingpolicies.policies.kyverno.io".into()];
    assert_eq!(
        find(&after_with(unrelated), "other").verdict,
        Verdict::Ready
    );
}

#[test]
fn a_rule_that_evaluated_nothing_is_no_evidence_unless_nothing_is_in_scope() {
    let policies = vec![
        policy("idle", "Audit", "2026-11-01T00:00:00Z"),
        two_rule_policy("half", "Audit", None),
    ];
    let reports = vec![report(vec![rule_result("half", "a", "pass", "p1")])];
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let idle = find(&evidence, "idle");
    assert_eq!(idle.verdict, Verdict::NoEvidence, "{:?}", idle.reasons);
    assert_eq!(idle.rule_evidence[0].verdict, Verdict::NoEvidence);
    let half = find(&evidence, "half");
    assert_eq!(half.verdict, Verdict::NoEvidence, "{:?}", half.reasons);
    assert_eq!(half.rule_evidence[0].verdict, Verdict::Ready);
    assert_eq!(half.rule_evidence[1].verdict, Verdict::NoEvidence);
    assert!(half.reasons.iter().any(|r| r.contains("rule(s) b")));
    assert_eq!(evidence.ready().count(), 0);

    // Every kind the rule reaches (Pods and, by autogen, their
    // controllers) listed with 0 objects: nothing to block; said so.
    let mut empty = scan(true, &[]);
    let mut listed: BTreeMap<String, usize> = [
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
    .collect();
    empty.objects_by_kind = Some(listed.clone());
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(empty.clone()),
    ));
    let idle = find(&evidence, "idle");
    assert_eq!(idle.verdict, Verdict::Ready, "{:?}", idle.reasons);
    assert!(
        idle.notes
            .iter()
            .any(|n| n.contains("no resource in scope exists")),
        "{:?}",
        idle.notes
    );
    // A sharded run with a shard missing did not count that shard's
    // objects: 0 listed says nothing of what exists.
    let mut gappy = empty;
    gappy.shards = Some(crate::ingest::shard_coverage::ShardCoverage {
        count: 2,
        recorded: vec![0],
        gaps: vec!["shard 1/2: no record".into()],
        mismatched: Vec::new(),
        reused_run_id: Vec::new(),
    });
    let evidence = build(&input(reports.clone(), policies.clone(), Some(gappy)));
    let idle = find(&evidence, "idle");
    assert_ne!(idle.verdict, Verdict::Ready, "{:?}", idle.reasons);
    assert!(
        !idle
            .notes
            .iter()
            .any(|n| n.contains("no resource in scope exists")),
        "{:?}",
        idle.notes
    );
    // A scan that listed kinds, but not the rule's: not ready, saying so.
    let mut other_kinds = scan(true, &[]);
    other_kinds.objects_by_kind = Some([("ConfigMap".to_string(), 2)].into_iter().collect());
    let evidence = build(&input(reports.clone(), policies.clone(), Some(other_kinds)));
    let half = find(&evidence, "half");
    assert_eq!(half.verdict, Verdict::NotReady);
    assert!(
        half.reasons.iter().any(|r| r.contains("did not list Pod")),
        "{:?}",
        half.reasons
    );
    // A cluster scan that listed no kind at all (say, --include-kinds of
    // kinds no policy matches) left every report as it was: not ready.
    // The same empty list from an audit of files says nothing of kinds.
    let mut nothing_listed = scan(true, &[]);
    nothing_listed.objects_by_kind = Some(BTreeMap::new());
    nothing_listed.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(nothing_listed.clone()),
    ));
    let half = find(&evidence, "half");
    assert_eq!(half.verdict, Verdict::NotReady);
    assert!(
        half.reasons.iter().any(|r| r.contains("did not list Pod")),
        "{:?}",
        half.reasons
    );
    let mut of_files = nothing_listed;
    of_files.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Given);
    let evidence = build(&input(reports.clone(), policies.clone(), Some(of_files)));
    let half = find(&evidence, "half");
    assert!(
        half.reasons.iter().all(|r| !r.contains("did not list")),
        "{:?}",
        half.reasons
    );
    // One Deployment exists: the rule reaches it by autogen, unevaluated.
    listed.insert("apps/Deployment".into(), 1);
    let mut one = scan(true, &[]);
    one.objects_by_kind = Some(listed);
    let evidence = build(&input(reports, policies, Some(one)));
    let idle = find(&evidence, "idle");
    assert_eq!(idle.verdict, Verdict::NoEvidence);
    assert!(
        idle.rule_evidence[0]
            .reasons
            .iter()
            .any(|r| r.contains("none of the 1 object(s)")),
        "{:?}",
        idle.rule_evidence[0].reasons
    );
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

#[test]
fn a_violator_excused_only_by_an_annotation_is_not_ready_and_gets_a_policy_exception() {
    let evidence = build(&input(
        vec![report(vec![
            annotation_skipped("two", "a", "legacy", "fail"),
            rule_result("two", "b", "pass", "legacy"),
            // Excused while it passes anyway: nothing Kyverno would reject.
            annotation_skipped("clean", "check", "fine", "pass"),
        ])],
        vec![
            two_rule_policy("two", "Audit", None),
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let two = find(&evidence, "two");
    assert_eq!(two.verdict, Verdict::NotReady);
    assert!(
        two.reasons
            .iter()
            .any(|r| r.contains("a/Pod/legacy") && r.contains("exceptions/a-pod-legacy.yaml")),
        "{:?}",
        two.reasons
    );
    assert_eq!(two.rule_evidence[0].verdict, Verdict::NotReady);
    assert_eq!(
        two.rule_evidence[1].verdict,
        Verdict::Ready,
        "only rule a is excused"
    );
    assert_eq!(find(&evidence, "clean").verdict, Verdict::Ready);

    assert_eq!(evidence.generated_exceptions.len(), 1);
    let generated = &evidence.generated_exceptions[0];
    assert_eq!(generated.file, "exceptions/a-pod-legacy.yaml");
    let document = &generated.document;
    assert_eq!(document["apiVersion"], "kyverno.io/v2");
    assert_eq!(document["kind"], "PolicyException");
    assert_eq!(document["metadata"]["namespace"], "a");
    assert_eq!(
        document["spec"]["exceptions"],
        json!([{"policyName": "two", "ruleNames": ["a"]}]),
        "a Pod no controller owns: no autogen variant can apply"
    );
    assert_eq!(
        document["spec"]["match"],
        json!({"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["a"], "names": ["legacy"]}}]})
    );
    let annotations = &document["metadata"]["annotations"];
    assert_eq!(annotations["polscan.io/exception-owner"], "team-b");
    assert_eq!(
        annotations["polscan.io/exception-reason"],
        "vendor image, INC-42"
    );
    assert_eq!(annotations["polscan.io/exception-expires"], "2027-03-01");
    // polscan's own PolicyException reader sees what the annotation said.
    let read_back = policy_exceptions(
        std::slice::from_ref(document),
        &[],
        at("2026-11-22T00:00:00Z"),
        Duration::days(14),
    );
    assert_eq!(read_back[0].owner.as_deref(), Some("team-b"));
    assert_eq!(read_back[0].policies, ["two/a"]);
    let exception = evidence
        .exceptions
        .iter()
        .find(|e| e.name == "a/Pod/legacy")
        .expect("the annotation exception");
    assert_eq!(
        exception.policy_exception_file.as_deref(),
        Some("exceptions/a-pod-legacy.yaml")
    );
    assert_eq!(exception.excused_violations, 1);

    // The package holds the file, listed in the MANIFEST and verified.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pkg");
    package::write(&out, &evidence, false).expect("written");
    let file = std::fs::read_to_string(out.join("exceptions/a-pod-legacy.yaml")).expect("file");
    let parsed: Value = serde_yaml::from_str(&file).expect("yaml");
    assert_eq!(&parsed, document);
    let manifest = std::fs::read_to_string(out.join(package::MANIFEST)).expect("manifest");
    assert!(
        manifest.contains("  exceptions/a-pod-legacy.yaml\n"),
        "{manifest}"
    );
    let verified = package::verify(&out).expect("verify");
    assert!(verified.ok(), "{:?}", verified.problems);
    std::fs::write(out.join("exceptions/a-pod-legacy.yaml"), "changed").expect("tamper");
    assert!(!package::verify(&out).expect("verify").ok());
    std::fs::remove_file(out.join("exceptions/a-pod-legacy.yaml")).expect("remove");
    assert!(
        !package::verify(&out).expect("verify").ok(),
        "a removed file is caught"
    );
    assert!(markdown::render(&evidence).contains("exceptions/a-pod-legacy.yaml"));
    assert!(html::render(&evidence).contains("data-file=\"exceptions/a-pod-legacy.yaml\""));
}

#[test]
fn a_generated_policy_exception_goes_where_kyverno_reads_them_and_says_what_it_matches() {
    let reports = vec![report(vec![annotation_skipped(
        "two", "a", "legacy", "fail",
    )])];
    let policies = vec![two_rule_policy("two", "Audit", None)];
    // The scan modelled Kyverno's --exceptionNamespace=kyverno: the file
    // goes there, its match still names the resource's namespace.
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(applied_in("kyverno")),
    ));
    let generated = &evidence.generated_exceptions[0];
    assert_eq!(generated.document["metadata"]["namespace"], "kyverno");
    assert_eq!(
        generated.document["spec"]["match"]["any"][0]["resources"]["namespaces"],
        json!(["a"])
    );
    assert_eq!(generated.matches, ["Pod a/legacy"]);
    assert!(generated.existing_not_applied.is_none());
    assert!(markdown::render(&evidence).contains("matches Pod a/legacy"));
    // '*' names no one namespace: the owner's.
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(applied_in("*")),
    ));
    assert_eq!(
        evidence.generated_exceptions[0].document["metadata"]["namespace"],
        "a"
    );
    // Applied already, but the scan (as Kyverno by default) reads none:
    // applying the file again would change nothing, and that is said.
    let mut applied = policies.clone();
    applied.push(evidence.generated_exceptions[0].document.clone());
    let mut disabled = scan(true, &[]);
    disabled.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
    let evidence = build(&input(reports, applied, Some(disabled)));
    let why = evidence.generated_exceptions[0]
        .existing_not_applied
        .as_deref()
        .expect("the existing exception is named");
    assert!(
        why.starts_with("PolicyException a/polscan-pod-legacy exists but is not applied"),
        "{why}"
    );
}

#[test]
fn an_expired_exception_blocks_only_the_rules_it_covers_and_keeps_its_details() {
    let mut warning = rule_result(
        "two",
        annotation_exceptions::EXCEPTION_RULE,
        "warn",
        "legacy",
    );
    warning["properties"] = json!({
        "exception-status": "expired", "exception-rules": "a",
        "exception-reason": "vendor image", "exception-expires": "2026-11-01",
        "exception-owner": "team-b"});
    let evidence = build(&input(
        vec![report(vec![
            warning,
            rule_result("two", "a", "pass", "legacy"),
            rule_result("two", "b", "pass", "legacy"),
        ])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    ));
    let two = find(&evidence, "two");
    assert_eq!(two.verdict, Verdict::NotReady);
    assert_eq!(two.rule_evidence[0].verdict, Verdict::NotReady);
    assert_eq!(
        two.rule_evidence[1].verdict,
        Verdict::Ready,
        "{:?}",
        two.rule_evidence[1].reasons
    );
    assert_eq!(
        two.counts.warn, 0,
        "the exception's warning is no rule result"
    );
    let exception = &evidence.exceptions[0];
    assert_eq!(exception.status, ExceptionStatus::Expired);
    assert_eq!(exception.policies, ["two/a"]);
    assert_eq!(exception.reason.as_deref(), Some("vendor image"));
    assert_eq!(exception.expires.as_deref(), Some("2026-11-01"));
    assert_eq!(exception.owner.as_deref(), Some("team-b"));

    // The same for a PolicyException naming one rule.
    let evidence = build(&input(
        vec![report(vec![
            rule_result("two", "a", "pass", "p"),
            rule_result("two", "b", "pass", "p"),
        ])],
        vec![
            two_rule_policy("two", "Audit", None),
            json!({"kind": "PolicyException", "metadata": {"name": "old", "namespace": "ops",
                   "annotations": {"polscan.io/exception-expires": "2026-11-01"}},
                   "spec": {"exceptions": [{"policyName": "two", "ruleNames": ["b"]}]}}),
        ],
        Some(scan(true, &[])),
    ));
    let two = find(&evidence, "two");
    assert_eq!(two.rule_evidence[0].verdict, Verdict::Ready);
    assert_eq!(two.rule_evidence[1].verdict, Verdict::NotReady);
}

#[test]
fn an_existing_package_is_replaced_only_with_force() {
    let evidence = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "p1")])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pkg");
    package::write(&out, &evidence, false).expect("a new directory");
    let refused = package::write(&out, &evidence, false).expect_err("refused");
    assert!(refused.to_string().contains("--force"), "{refused}");
    package::write(&out, &evidence, true).expect("replaced with force");
    assert!(package::verify(&out).expect("verify").ok());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    package::write(&empty, &evidence, false).expect("an empty directory is fine");
}

#[test]
fn the_since_section_lists_the_resources_under_their_own_headings() {
    let policies = vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")];
    let before = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "old")])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut after = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "new")])],
        policies,
        Some(scan(true, &[])),
    ));
    after.comparison = Some(compare::compare(&before, &after));
    after.exceptions.push(ExceptionEvidence {
        source: "PolicyException".into(),
        name: "ops/gone".into(),
        policies: vec!["dirty".into()],
        owner: None,
        reason: None,
        expires: Some("2026-11-01".into()),
        status: ExceptionStatus::Expired,
        covered_results: 0,
        excused_violations: 0,
        resource: None,
        problem: None,
        policy_exception_file: None,
    });
    after.comparison = Some(compare::compare(&before, &after));
    let markdown = markdown::render(&after);
    let since = &markdown[markdown.find("## Since").expect("since")..];
    assert!(
        since.contains("\n### New violations\n\n- dirty a/Pod/new fail (check)"),
        "{since}"
    );
    assert!(
        since.contains("\n### Fixed violations\n\n- dirty a/Pod/old fail (check)"),
        "{since}"
    );
    assert!(
        since.contains("\n### Expired exceptions\n\n- PolicyException ops/gone"),
        "{since}"
    );
    assert!(
        !since.contains("  - "),
        "nothing nested under a count: {since}"
    );
    let page = html::render(&after);
    let since = &page[page.find("id=\"since\"").expect("since")..];
    assert!(
        since.contains("<td class=\"resource\">a/Pod/new</td>"),
        "{since}"
    );
    assert!(
        since.contains("<td class=\"resource\">a/Pod/old</td>"),
        "{since}"
    );
}

#[test]
fn a_misspelt_name_in_an_annotation_spoils_only_that_name() {
    let mut typo = rule_result(
        "a-typo",
        annotation_exceptions::EXCEPTION_RULE,
        "warn",
        "legacy",
    );
    typo["properties"] = json!({"exception-status": "unknown-target",
        "exception-reason": "vendor image, INC-42", "exception-expires": "2027-03-01"});
    typo["message"] = json!("polscan.io/exception names policy a-typo, which is not loaded");
    let evidence = build(&input(
        vec![report(vec![
            typo.clone(),
            annotation_skipped("two", "a", "legacy", "fail"),
        ])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    ));
    assert!(
        evidence.policies.iter().all(|p| p.info.name != "a-typo"),
        "the warning names no policy of its own"
    );
    let exception = &evidence.exceptions[0];
    assert_eq!(exception.status, ExceptionStatus::Active, "{exception:?}");
    assert!(exception
        .problem
        .as_deref()
        .is_some_and(|p| p.contains("a-typo")));
    // Only the misspelt name: nothing excused, the exception is invalid.
    let evidence = build(&input(
        vec![report(vec![
            typo,
            rule_result("two", "a", "fail", "legacy"),
        ])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    ));
    assert_eq!(evidence.exceptions[0].status, ExceptionStatus::Invalid);
}

#[test]
fn an_unscored_policy_s_warnings_are_failures_kyverno_would_reject() {
    let mut unscored = policy("quiet", "Enforce", "2026-11-01T00:00:00Z");
    unscored["metadata"]["annotations"]["policies.kyverno.io/scored"] = json!("false");
    let before = build(&input(
        vec![report(vec![result("quiet", "pass", "a", "p1")])],
        vec![unscored.clone()],
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&before, "quiet").verdict, Verdict::Ready);
    let after = build(&input(
        vec![report(vec![result("quiet", "warn", "a", "p1")])],
        vec![unscored],
        Some(scan(true, &[])),
    ));
    let quiet = find(&after, "quiet");
    assert!(quiet.info.unscored);
    assert_eq!(quiet.verdict, Verdict::NotReady, "{:?}", quiet.reasons);
    assert!(quiet.enforced_with_violations());
    let comparison = compare::compare(&before, &after);
    assert!(comparison.rollback_checks[0].roll_back);
    // A scored policy's warning is no failure.
    let scored = build(&input(
        vec![report(vec![result("loud", "warn", "a", "p1")])],
        vec![policy("loud", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&scored, "loud").verdict, Verdict::Ready);
}

/// A ClusterPolicy in Audit that an override enforces in namespace `web`.
fn overridden_policy(name: &str) -> Value {
    let mut found = policy(name, "Audit", "2026-11-01T00:00:00Z");
    found["spec"]["validationFailureActionOverrides"] =
        json!([{"action": "Enforce", "namespaces": ["web"]}]);
    found
}

#[test]
fn an_override_enforces_only_in_its_namespaces_and_only_there_rolls_back() {
    let policies = vec![overridden_policy("ovr")];
    let before = build(&input(
        vec![report(vec![
            result("ovr", "pass", "web", "w1"),
            result("ovr", "pass", "dev", "d1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let info = &find(&before, "ovr").info;
    assert_eq!(info.action, "Mixed");
    assert!(
        info.action_summary()
            .contains("Enforce in namespace(s) web"),
        "{}",
        info.action_summary()
    );
    let markdown = markdown::render(&before);
    assert!(
        markdown
            .contains("Current action: **Mixed** (Enforce in namespace(s) web; Audit elsewhere)"),
        "{markdown}"
    );
    // A new failure in a namespace Kyverno only audits: nothing to roll back.
    let audited = build(&input(
        vec![report(vec![
            result("ovr", "pass", "web", "w1"),
            result("ovr", "fail", "dev", "d1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert!(
        !find(&audited, "ovr").enforced_with_violations(),
        "the failure is in a namespace Kyverno only audits"
    );
    let check = compare::compare(&before, &audited);
    let ovr = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "ovr")
        .expect("ovr enforces somewhere");
    assert!(!ovr.roll_back, "{ovr:?}");
    assert_eq!(check.new_violations.len(), 1);
    assert_eq!(check.new_violations[0].action, "Audit");
    // In the namespace the override enforces: roll back, and the command
    // changes the override, which is what enforces.
    let enforced = build(&input(
        vec![report(vec![
            result("ovr", "fail", "web", "w1"),
            result("ovr", "pass", "dev", "d1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert!(find(&enforced, "ovr").enforced_with_violations());
    let check = compare::compare(&before, &enforced);
    let ovr = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "ovr")
        .expect("ovr");
    assert!(ovr.roll_back && ovr.conditions[0].met, "{ovr:?}");
    let rollback = find(&enforced, "ovr")
        .info
        .rollback
        .clone()
        .expect("rollback");
    assert!(
        rollback
            .command
            .contains("/spec/validationFailureActionOverrides/0/action"),
        "{}",
        rollback.command
    );
    // The action the scan recorded on the result wins over the document's
    // resolution (the engine resolves it per namespace as Kyverno does).
    let mut recorded = result("ovr", "fail", "dev", "d1");
    recorded["properties"] = json!({"action": "Enforce"});
    let recorded = build(&input(
        vec![report(vec![result("ovr", "pass", "web", "w1"), recorded])],
        policies,
        Some(scan(true, &[])),
    ));
    let check = compare::compare(&before, &recorded);
    assert!(check
        .rollback_checks
        .iter()
        .any(|c| c.policy == "ovr" && c.roll_back));
}

#[test]
fn an_unknown_or_invalid_policy_is_never_shown_as_enforced() {
    let mut invalid = policy("typo", "Audti", "2026-11-01T00:00:00Z");
    invalid["metadata"]["name"] = json!("typo");
    let before = build(&input(
        vec![report(vec![
            result("gone", "pass", "a", "p1"),
            result("typo", "pass", "a", "p1"),
        ])],
        vec![invalid.clone()],
        Some(scan(true, &[])),
    ));
    let after = build(&input(
        vec![report(vec![
            result("gone", "fail", "a", "p1"),
            result("typo", "fail", "a", "p1"),
        ])],
        vec![invalid],
        Some(scan(true, &[])),
    ));
    let gone = find(&after, "gone");
    assert_eq!(gone.info.action, "unknown");
    assert!(!gone.enforced_with_violations());
    assert_eq!(&*gone.violations[0].action, "unknown");
    let typo = find(&after, "typo");
    assert_eq!(typo.info.action, "Invalid", "not Audit: Kyverno refuses it");
    assert!(!typo.enforced_with_violations());
    let mut after = after;
    after.comparison = Some(compare::compare(&before, &after));
    let markdown = markdown::render(&after);
    assert!(!markdown.contains("Enforced while"), "{markdown}");
    assert!(
        markdown.contains("### Readiness check: gone (unknown)"),
        "{markdown}"
    );
    assert!(
        markdown.contains("### Readiness check: typo (Invalid)"),
        "{markdown}"
    );
    assert!(!markdown.contains("(Audit)"), "{markdown}");
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

#[test]
fn only_kyverno_rules_let_existing_violations_through_updates() {
    let evidence = build(&input(
        vec![report(vec![
            cel_result("vp", "fail", "p1"),
            result("dirty", "fail", "a", "p1"),
        ])],
        vec![
            validating_policy("vp"),
            policy("dirty", "Enforce", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let vp = find(&evidence, "vp");
    assert!(vp.enforced_with_violations());
    let warning = vp.enforced_violations_warning();
    assert!(
        warning.contains("at every update the policy matches")
            && !warning.contains("unless allowExistingViolations"),
        "{warning}"
    );
    let dirty = find(&evidence, "dirty").enforced_violations_warning();
    assert!(dirty.contains("unless allowExistingViolations"), "{dirty}");
    let markdown = markdown::render(&evidence);
    assert!(markdown.contains(&warning), "{markdown}");
    let html = html::render(&evidence);
    assert!(
        html.contains("since a ValidatingPolicy has no allowExistingViolations"),
        "{html}"
    );
}

#[test]
fn only_gaps_that_can_affect_a_policy_make_its_scan_incomplete() {
    let policies = vec![
        validating_policy("vp"),
        policy("enforced", "Enforce", "2026-11-01T00:00:00Z"),
        policy("broken", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let reports = vec![report(vec![
        cel_result("vp", "pass", "p1"),
        result("enforced", "pass", "a", "p1"),
    ])];
    let before = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut gappy = scan(false, &["ConfigMap"]);
    gappy.invalid_policies = vec!["broken".into()];
    gappy.failed_policy_sources = vec!["clusterpolicies.kyverno.io".into()];
    gappy.objects_by_kind = Some(BTreeMap::from([("Pod".to_string(), 1)]));
    let after = build(&input(reports, policies, Some(gappy)));
    let check = compare::compare(&before, &after);
    let vp = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "vp")
        .expect("vp is enforced");
    assert!(!vp.roll_back, "an invalid ClusterPolicy and an unread ClusterPolicy list do not touch a ValidatingPolicy: {vp:?}");
    let enforced = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "enforced")
        .expect("enforced");
    assert!(enforced.roll_back, "{enforced:?}");
    assert!(
        enforced.conditions[1]
            .detail
            .contains("clusterpolicies.kyverno.io"),
        "{enforced:?}"
    );
    // The `--since` line of a rule-less result has no empty parentheses.
    let cel = ViolationChange {
        policy: "vp".into(),
        rule: String::new(),
        result: "fail".into(),
        resource: "a/Pod/p1".into(),
        reason: None,
        action: "Enforce".into(),
    };
    assert_eq!(cel.describe(), "a/Pod/p1 fail");
}

#[test]
fn an_unread_policy_source_is_the_reason_and_autogen_rules_name_their_kinds() {
    let policies = vec![policy("pods", "Audit", "2026-11-01T00:00:00Z")];
    let mut unread = scan(false, &[]);
    unread.failed_policy_sources = vec!["clusterpolicies.kyverno.io".into()];
    // No ClusterPolicy loaded: the scan listed nothing of the Pod kinds.
    unread.objects_by_kind = Some(BTreeMap::from([("ConfigMap".to_string(), 2)]));
    let reports = vec![report(vec![result("pods", "pass", "a", "p1"), {
        let mut r = rule_result("pods", "autogen-cronjob-check", "pass", "c1");
        r["resources"][0]["kind"] = json!("CronJob");
        r
    }])];
    let evidence = build(&input(reports.clone(), policies.clone(), Some(unread)));
    let pods = find(&evidence, "pods");
    assert_eq!(pods.verdict, Verdict::NotReady);
    for rule in &pods.rule_evidence {
        assert!(
            rule.reasons.iter().all(|r| !r.contains("did not list")),
            "{}: {:?}",
            rule.name,
            rule.reasons
        );
        assert!(
            rule.reasons
                .iter()
                .any(|r| r.contains("could not read clusterpolicies.kyverno.io")),
            "{}: {:?}",
            rule.name,
            rule.reasons
        );
    }
    // Read fine, but CronJobs were not listed: the autogen-cronjob rule
    // names CronJob, not Pod.
    let mut listed = scan(true, &[]);
    listed.objects_by_kind = Some(BTreeMap::from([
        ("Pod".to_string(), 1),
        ("apps/Deployment".to_string(), 0),
    ]));
    let evidence = build(&input(reports, policies, Some(listed)));
    let cron = find(&evidence, "pods")
        .rule_evidence
        .iter()
        .find(|r| r.name == "autogen-cronjob-check")
        .expect("the autogen rule");
    assert!(
        cron.reasons
            .iter()
            .any(|r| r.contains("did not list CronJob")),
        "{:?}",
        cron.reasons
    );
    assert!(
        cron.reasons.iter().all(|r| !r.contains("Pod")),
        "{:?}",
        cron.reasons
    );
}

#[test]
fn an_expired_annotation_names_only_rules_that_apply_to_the_resource() {
    let mut warning = rule_result("pods", annotation_exceptions::EXCEPTION_RULE, "warn", "p1");
    warning["properties"] = json!({"exception-status": "expired", "exception-rules": "check",
                                   "exception-expires": "2026-11-01"});
    let deployment = |rule: &str| {
        let mut r = rule_result("pods", rule, "pass", "d1");
        r["resources"][0]["kind"] = json!("Deployment");
        r
    };
    let evidence = build(&input(
        vec![report(vec![
            warning,
            rule_result("pods", "check", "pass", "p1"),
            deployment("autogen-check"),
            deployment("autogen-cronjob-check"),
        ])],
        vec![policy("pods", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let pods = find(&evidence, "pods");
    let expired: Vec<&String> = pods
        .reasons
        .iter()
        .filter(|r| r.contains("expired"))
        .collect();
    assert_eq!(expired.len(), 1, "{:?}", pods.reasons);
    assert!(!expired[0].contains("autogen"), "{expired:?}");
    let autogen = pods
        .rule_evidence
        .iter()
        .find(|r| r.name == "autogen-check")
        .expect("autogen rule");
    assert!(
        autogen.reasons.iter().all(|r| !r.contains("expired")),
        "{:?}",
        autogen.reasons
    );
}

#[test]
fn one_policy_exception_per_top_owner_covers_what_it_creates() {
    let skipped = |kind: &str, name: &str, rule: &str| {
        let mut r = annotation_skipped("two", rule, name, "fail");
        r["resources"][0]["kind"] = json!(kind);
        r
    };
    let mut input = input(
        vec![report(vec![
            skipped("Deployment", "web", "autogen-a"),
            skipped("ReplicaSet", "web-5d8f", "autogen-a"),
            skipped("Pod", "web-5d8f-x1", "a"),
        ])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    );
    let owner = ObjectName {
        kind: "Deployment".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    for (kind, name) in [("ReplicaSet", "web-5d8f"), ("Pod", "web-5d8f-x1")] {
        input.owners.insert(
            ObjectName {
                kind: kind.into(),
                namespace: "a".into(),
                name: name.into(),
            },
            owner.clone(),
        );
    }
    let evidence = build(&input);
    assert_eq!(
        evidence.generated_exceptions.len(),
        1,
        "{:?}",
        evidence.generated_exceptions
    );
    let generated = &evidence.generated_exceptions[0];
    assert_eq!(generated.file, "exceptions/a-deployment-web.yaml");
    assert_eq!(generated.resource, owner);
    assert_eq!(generated.resources.len(), 3);
    let document = &generated.document;
    assert_eq!(
        document["spec"]["match"],
        json!({"any": [
            {"resources": {"kinds": ["Deployment"], "names": ["web"], "namespaces": ["a"]}},
            {"resources": {"kinds": ["Pod", "ReplicaSet"], "names": ["web-*"], "namespaces": ["a"]}}
        ]})
    );
    assert_eq!(
        document["spec"]["exceptions"],
        json!([{"policyName": "two", "ruleNames": ["a", "autogen-a"]}]),
        "no autogen-cronjob- rule for a Deployment's chain"
    );
    assert!(evidence
        .exceptions
        .iter()
        .filter(|e| e.source == "annotation")
        .all(|e| e.policy_exception_file.as_deref() == Some("exceptions/a-deployment-web.yaml")));
    let two = find(&evidence, "two");
    assert!(two
        .reasons
        .iter()
        .any(|r| r.contains("exceptions/a-deployment-web.yaml")));
}

#[test]
fn one_owner_is_singular() {
    let evidence = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "p1")])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let markdown = markdown::render(&evidence);
    assert!(markdown.contains("Violators (1 owner):"), "{markdown}");
    assert!(html::render(&evidence).contains("<h3>Violators (1 owner)</h3>"));
    assert_eq!(owners_count(2), "2 owners");
}

#[test]
fn a_filtered_out_policy_s_old_violations_are_not_listed() {
    let policies = vec![
        policy("kept", "Audit", "2026-11-01T00:00:00Z"),
        policy("other", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let before = build(&input(
        vec![report(vec![
            result("kept", "fail", "a", "p1"),
            result("other", "fail", "a", "p2"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut filtered = input(
        vec![report(vec![
            result("kept", "pass", "a", "p1"),
            result("other", "fail", "a", "p2"),
        ])],
        policies,
        Some(scan(true, &[])),
    );
    filtered.policy_filter = vec!["kept".into()];
    let after = build(&filtered);
    let check = compare::compare(&before, &after);
    assert_eq!(check.fixed_violations.len(), 1);
    assert_eq!(check.fixed_violations[0].policy, "kept");
    assert!(
        check.unknown_violations.is_empty(),
        "{:?}",
        check.unknown_violations
    );
    assert!(check.not_compared.is_empty(), "{:?}", check.not_compared);
    // The other way round: a whole package since a filtered one names the
    // policies it could not compare, rather than calling them unchanged.
    let whole = build(&input(
        vec![report(vec![
            result("kept", "pass", "a", "p1"),
            result("other", "fail", "a", "p2"),
        ])],
        vec![
            policy("kept", "Audit", "2026-11-01T00:00:00Z"),
            policy("other", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let since_filtered = compare::compare(&after, &whole);
    assert_eq!(since_filtered.not_compared, ["other"]);
}

#[test]
fn a_bypass_on_the_pods_only_does_not_excuse_their_owner() {
    let mut skipped = annotation_skipped("two", "a", "web-5d8f-x1", "fail");
    skipped["resources"][0]["name"] = json!("web-5d8f-x1");
    let mut input = input(
        vec![report(vec![skipped])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    );
    input.owners.insert(
        ObjectName {
            kind: "Pod".into(),
            namespace: "a".into(),
            name: "web-5d8f-x1".into(),
        },
        ObjectName {
            kind: "Deployment".into(),
            namespace: "a".into(),
            name: "web".into(),
        },
    );
    let evidence = build(&input);
    assert_eq!(evidence.generated_exceptions.len(), 1);
    let document = &evidence.generated_exceptions[0].document;
    assert_eq!(
        document["spec"]["match"],
        json!({"any": [{"resources": {"kinds": ["Pod"], "names": ["web-*"], "namespaces": ["a"]}}]}),
        "the Deployment and its ReplicaSets were not excused"
    );
    assert_eq!(
        document["spec"]["exceptions"],
        json!([{"policyName": "two", "ruleNames": ["a"]}])
    );
}

#[test]
fn an_expiring_annotation_rolls_back_only_where_its_rule_enforces() {
    let policies = vec![overridden_policy("ovr")];
    let excused = |namespace: &str| {
        let mut skipped = result("ovr", "skip", namespace, "legacy");
        skipped["properties"] = json!({"exception": "resource-annotation", "exception-reason": "migration",
                                       "exception-expires": "2026-12-01", "exception-owner": "team-b"});
        skipped
    };
    let before = build(&input(
        vec![report(vec![result("ovr", "pass", "web", "w1")])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let check_with = |namespace: &str| {
        let after = build(&input(
            vec![report(vec![
                result("ovr", "pass", "web", "w1"),
                excused(namespace),
            ])],
            policies.clone(),
            Some(scan(true, &[])),
        ));
        assert_eq!(after.exceptions[0].status, ExceptionStatus::Expiring);
        let comparison = compare::compare(&before, &after);
        comparison
            .rollback_checks
            .into_iter()
            .find(|c| c.policy == "ovr")
            .expect("ovr enforces somewhere")
    };
    // The override enforces in web only: an exception expiring in dev
    // uncovers nothing Kyverno would reject.
    assert!(!check_with("dev").roll_back);
    assert!(check_with("web").roll_back);
}

#[test]
fn a_cel_policy_s_exception_results_belong_to_its_one_rule() {
    let mut excepted = result("vp", "skip", "a", "probe");
    excepted["rule"] = json!("exception");
    excepted["properties"] = json!({"exceptions": "allow-probe"});
    let evidence = build(&input(
        vec![report(vec![cel_result("vp", "pass", "web"), excepted])],
        vec![validating_policy("vp")],
        Some(scan(true, &[])),
    ));
    let vp = find(&evidence, "vp");
    let rules: Vec<&str> = vp.rule_evidence.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rules, [""], "{:?}", vp.rule_evidence);
    assert_eq!(vp.rule_evidence[0].counts.skip, 1);
    assert_eq!(vp.rule_evidence[0].counts.pass, 1);
}

#[test]
fn a_policy_scans_do_not_evaluate_says_why_it_has_no_evidence() {
    let mut admission_only = policy("admission-only", "Audit", "2026-11-01T00:00:00Z");
    admission_only["spec"]["background"] = json!(false);
    let evidence = build(&input(
        vec![report(vec![result("other", "pass", "a", "p")])],
        vec![
            admission_only,
            policy("other", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let found = find(&evidence, "admission-only");
    assert_eq!(found.verdict, Verdict::NoEvidence);
    assert!(
        found.reasons.iter().any(|r| r.contains("background: false")
            && r.contains("`polscan apply --include-non-background`")
            && !r.contains("scan with")),
        "{:?}",
        found.reasons
    );
}

#[test]
fn a_violation_now_skipped_by_an_exception_is_excused_not_fixed() {
    let policies = vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")];
    let before = build(&input(
        vec![report(vec![
            result("clean", "fail", "a", "excepted"),
            result("clean", "fail", "a", "repaired"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut skipped = result("clean", "skip", "a", "excepted");
    skipped["properties"] = json!({"exceptions": "vendor-image"});
    let after = build(&input(
        vec![report(vec![
            skipped,
            result("clean", "pass", "a", "repaired"),
        ])],
        policies,
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    let names = |changes: &[ViolationChange]| -> Vec<String> {
        changes.iter().map(|c| c.resource.clone()).collect()
    };
    assert_eq!(names(&comparison.fixed_violations), ["a/Pod/repaired"]);
    assert_eq!(names(&comparison.excused_violations), ["a/Pod/excepted"]);
}

/// An annotation bypass of a ValidatingPolicy gets a policies.kyverno.io
/// PolicyException (policyRefs by name and kind, a CEL match condition for
/// the resources), beside the kyverno.io one for a ClusterPolicy; a
/// ValidatingAdmissionPolicy gets none (the API server reads none).
#[test]
fn each_policy_family_gets_the_policy_exception_its_engine_reads() {
    let vap = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                     "metadata": {"name": "vap", "managedFields": [{"manager": "kubectl", "time": "2026-11-01T00:00:00Z"}]},
                     "spec": {"matchConstraints": {"resourceRules": [{"resources": ["pods"]}]},
                              "validations": [{"expression": "false"}]}});
    let evidence = build(&input(
        vec![report(vec![
            annotation_skipped("two", "a", "legacy", "fail"),
            annotation_skipped("vp", "", "legacy", "fail"),
            annotation_skipped("vap", "", "legacy", "fail"),
        ])],
        vec![
            two_rule_policy("two", "Audit", None),
            validating_policy("vp"),
            vap,
        ],
        Some(scan(true, &[])),
    ));
    let files: Vec<&str> = evidence
        .generated_exceptions
        .iter()
        .map(|g| g.file.as_str())
        .collect();
    assert_eq!(
        files,
        [
            "exceptions/a-pod-legacy.yaml",
            "exceptions/a-pod-legacy-cel.yaml"
        ]
    );
    let kyverno = &evidence.generated_exceptions[0];
    assert_eq!(kyverno.document["apiVersion"], "kyverno.io/v2");
    assert_eq!(
        kyverno.document["spec"]["exceptions"],
        json!([{"policyName": "two", "ruleNames": ["a"]}])
    );
    let cel = &evidence.generated_exceptions[1];
    assert_eq!(cel.document["apiVersion"], "policies.kyverno.io/v1beta1");
    assert_eq!(
        cel.document["spec"]["policyRefs"],
        json!([{"name": "vp", "kind": "ValidatingPolicy"}])
    );
    assert_eq!(
        cel.document["spec"]["matchConditions"][0]["expression"],
        "object != null && object.metadata.namespace == 'a' && ((object.kind == 'Pod' && (object.metadata.name == 'legacy')))"
    );
    assert!(cel.document["spec"].get("exceptions").is_none());
    assert_eq!(cel.covers, ["vp/"]);

    let vp = find(&evidence, "vp");
    assert!(
        vp.reasons
            .iter()
            .any(|r| r.starts_with("1 violating resource(s)")
                && r.contains("exceptions/a-pod-legacy-cel.yaml")),
        "{:?}",
        vp.reasons
    );
    assert!(
        !vp.reasons.iter().any(|r| r.starts_with("rule : ")),
        "{:?}",
        vp.reasons
    );
    let two = find(&evidence, "two");
    assert!(
        two.reasons
            .iter()
            .any(|r| r.contains("exceptions/a-pod-legacy.yaml") && !r.contains("-cel.yaml")),
        "{:?}",
        two.reasons
    );
    let vap = find(&evidence, "vap");
    assert!(
        vap.reasons
            .iter()
            .any(|r| r.contains("does not read") && r.contains("excludeResourceRules")),
        "{:?}",
        vap.reasons
    );
    assert!(!evidence
        .generated_exceptions
        .iter()
        .any(|g| g.covers.iter().any(|c| c.starts_with("vap/"))));
}

#[test]
fn a_policy_of_a_kind_the_cluster_does_not_serve_is_not_ready() {
    let reports = vec![report(vec![result("clean", "pass", "a", "p1")])];
    let policies = vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")];
    let served = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&served, "clean").verdict, Verdict::Ready);
    assert!(find(&served, "clean").info.rollback.is_some());
    let mut unserved = input(reports, policies, Some(scan(true, &[])));
    unserved.unserved_policy_kinds = vec!["ClusterPolicy".into()];
    let evidence = build(&unserved);
    let clean = find(&evidence, "clean");
    assert_eq!(clean.verdict, Verdict::NotReady);
    // No kubectl command that the server would refuse.
    assert!(clean.info.rollback.is_none());
    assert!(
        clean
            .reasons
            .iter()
            .any(|r| r.starts_with("this cluster does not serve ClusterPolicy (kyverno.io)")),
        "{:?}",
        clean.reasons
    );
}

#[test]
fn a_package_of_chosen_policies_lists_only_their_exceptions() {
    let mut chosen = input(
        vec![report(vec![
            annotation_skipped("two", "a", "legacy", "fail"),
            annotation_skipped("clean", "check", "fine", "pass"),
        ])],
        vec![
            two_rule_policy("two", "Audit", None),
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    );
    let whole = build(&chosen);
    assert_eq!(whole.generated_exceptions.len(), 1);
    assert_eq!(whole.exceptions.len(), 2);
    chosen.policy_filter = vec!["clean".into()];
    let evidence = build(&chosen);
    assert!(evidence.generated_exceptions.is_empty());
    let names: Vec<&str> = evidence
        .exceptions
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["a/Pod/fine"]);
    chosen.policy_filter = vec!["two".into()];
    let evidence = build(&chosen);
    assert_eq!(evidence.generated_exceptions.len(), 1);
    let names: Vec<&str> = evidence
        .exceptions
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["a/Pod/legacy"]);
}

#[test]
fn the_header_says_why_the_scan_was_incomplete() {
    let policies = vec![policy("enforced", "Enforce", "2026-11-01T00:00:00Z")];
    let mut record = scan(false, &["batch/CronJob"]);
    record.invalid_policies = vec!["misspelled".into()];
    record.write_failed_reports = 2;
    let evidence = build(&input(Vec::new(), policies.clone(), Some(record)));
    let said = "incomplete — policies that did not load: misspelled; kinds not listed completely: batch/CronJob; 2 report(s) not written or deleted";
    let markdown = markdown::render(&evidence);
    assert!(markdown.contains(said), "{markdown}");
    let html = html::render(&evidence);
    assert!(
        html.contains("<strong>incomplete</strong> (policies that did not load: misspelled;"),
        "{html}"
    );
    // A complete scan names no cause.
    let complete = build(&input(Vec::new(), policies.clone(), Some(scan(true, &[]))));
    assert!(markdown::render(&complete).contains(", complete (polscan-system/polscan-last-run)."));
    assert!(!markdown::render(&complete).contains("Scan scope"));
    // A complete scan of part of the cluster says which part.
    let mut part = scan(true, &[]);
    part.namespaces = vec!["team-a".into()];
    part.excluded_namespaces = vec!["kube-system".into()];
    let part = build(&input(Vec::new(), policies, Some(part)));
    let said = "Scan scope: only namespace(s) team-a (--namespace; no cluster-scoped objects); namespace(s) kube-system left out (--exclude-namespaces).";
    assert!(
        markdown::render(&part).contains(said),
        "{}",
        markdown::render(&part)
    );
    assert!(html::render(&part).contains("id=\"scan-scope\""));
}
