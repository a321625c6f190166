//! Every report polscan can build passes the CRD check it must pass before
//! it is written, whatever policy kind produced its results: the audits of
//! every test of the Kyverno policy library (ClusterPolicy and Policy with
//! patterns, deny, foreach, `validate.cel`; ValidatingPolicy and
//! NamespacedValidatingPolicy) and of polscan's CEL fixtures (Kubernetes
//! ValidatingAdmissionPolicy with bindings and params) are shaped both ways
//! (per resource, per namespace) and checked with `report_model::schema`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use polscan::audit::{audit, AuditInput};
use polscan::kyverno_test;
use polscan::reports;
use polscan_tests::{corpus_root, listed_files};
use rayon::prelude::*;
use report_model::meta::Timestamp;
use report_model::schema::{check_cluster_policy_report, check_policy_report};
use report_model::shape::PerNamespaceOptions;

/// Violations found in the reports of one audit, and the policy kinds that
/// contributed results.
fn check_audit(policies: &[PathBuf], resources: &[PathBuf]) -> (Vec<String>, BTreeSet<String>) {
    let load = |paths: &[PathBuf]| polscan::loader::load_paths(paths).unwrap_or_default();
    let outcome = audit(AuditInput {
        policy_documents: load(policies),
        resource_documents: load(resources),
        values: Default::default(),
        requester: None,
        include_non_background: true,
        context: None,
    });
    let kinds = outcome
        .findings
        .iter()
        .map(|f| f.policy.kind.clone())
        .collect();
    // A timestamp of every width: the check must not depend on the clock.
    let at = Timestamp::new(i64::MAX, 999_999_999);
    let mut errors = Vec::new();
    let shaped = [
        reports::per_resource(&outcome.findings, at),
        reports::per_namespace(&outcome.findings, at, &PerNamespaceOptions::default()),
    ];
    for shaped in shaped {
        let shaped = shaped.expect("shaping succeeds");
        for report in &shaped.policy_reports {
            if let Err(err) = check_policy_report(report) {
                errors.push(err.to_string());
            }
        }
        for report in &shaped.cluster_policy_reports {
            if let Err(err) = check_cluster_policy_report(report) {
                errors.push(err.to_string());
            }
        }
    }
    (errors, kinds)
}

const NAMESPACED_POLICIES: &str = r#"apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: require-team, namespace: shop}
spec:
  validationFailureAction: Audit
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      pattern: {metadata: {labels: {team: '?*'}}}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: NamespacedValidatingPolicy
metadata: {name: team-label, namespace: shop}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  matchConditions:
  - {name: not-preview, expression: "object.metadata.name != 'preview'"}
  validations:
  - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
"#;

const NAMESPACED_RESOURCES: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: shop}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: preview, namespace: shop, labels: {team: a}}
spec: {containers: [{name: c, image: nginx}]}
"#;

#[test]
fn every_report_of_every_policy_kind_fits_the_crd() {
    let corpus = corpus_root();
    let mut cases: Vec<(Vec<PathBuf>, Vec<PathBuf>)> = kyverno_test::discover(&[corpus])
        .expect("corpus readable")
        .iter()
        .map(|file| {
            (
                listed_files(file, "policies"),
                listed_files(file, "resources"),
            )
        })
        .collect();
    // polscan's own CEL fixtures: VAPs with bindings and params.
    let cel = Path::new(env!("CARGO_MANIFEST_DIR")).join("cel");
    for file in kyverno_test::discover(&[cel]).expect("fixtures readable") {
        cases.push((
            listed_files(&file, "policies"),
            listed_files(&file, "resources"),
        ));
    }
    // The library has no namespaced kinds: a Policy and a
    // NamespacedValidatingPolicy of our own, with an empty message and a
    // matchConditions skip among their results.
    let dir = std::env::temp_dir().join(format!("polscan-report-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("policies.yaml"), NAMESPACED_POLICIES).unwrap();
    std::fs::write(dir.join("resources.yaml"), NAMESPACED_RESOURCES).unwrap();
    cases.push((
        vec![dir.join("policies.yaml")],
        vec![dir.join("resources.yaml")],
    ));
    assert!(cases.len() > 400, "only {} cases", cases.len());
    let checked: Vec<(Vec<String>, BTreeSet<String>)> = cases
        .par_iter()
        .map(|(policies, resources)| check_audit(policies, resources))
        .collect();
    let errors: Vec<&String> = checked.iter().flat_map(|(e, _)| e).collect();
    assert!(
        errors.is_empty(),
        "{} reports fail the CRD check:\n{errors:#?}",
        errors.len()
    );
    let kinds: BTreeSet<&String> = checked.iter().flat_map(|(_, k)| k).collect();
    for kind in [
        "ClusterPolicy",
        "Policy",
        "ValidatingPolicy",
        "NamespacedValidatingPolicy",
        "ValidatingAdmissionPolicy",
    ] {
        assert!(
            kinds.iter().any(|k| k.as_str() == kind),
            "no {kind} results were checked: {kinds:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
