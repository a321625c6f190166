//! The three CEL policy kinds end to end, on fixtures written for polscan:
//! `polscan test` semantics (kyverno-test.yaml with `isValidatingPolicy`,
//! `isValidatingAdmissionPolicy`, context files and `paramResources`) and
//! `apply` (the audit behind it: bindings, params, a ValidatingPolicy
//! refused because it does not compile).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use polscan::audit::{audit, AuditInput};
use polscan::engine::RuleStatus;
use polscan::kyverno_test::run_test_file;
use polscan::loader::parse_documents;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cel").join(name)
}

fn assert_all_rows_pass(test_file: &Path, expected_rows: usize) {
    let mut reports = run_test_file(test_file);
    assert_eq!(reports.len(), 1, "one Test document");
    let report = reports.remove(0);
    assert!(report.error.is_none(), "{:?}", report.error);
    let failing: Vec<_> = report
        .rows
        .iter()
        .filter(|row| !row.verdict.passes())
        .collect();
    assert!(failing.is_empty(), "rows not passing: {failing:#?}");
    assert_eq!(report.rows.len(), expected_rows);
}

#[test]
fn admission_policy_with_bindings_and_params() {
    assert_all_rows_pass(&fixture("admission-policy/kyverno-test.yaml"), 4);
}

#[test]
fn validating_policy_with_context_lookups() {
    assert_all_rows_pass(&fixture("validating-policy/kyverno-test.yaml"), 3);
}

#[test]
fn apply_reports_bound_admission_policies_and_refuses_a_policy_that_does_not_compile() {
    let read = |name: &str| {
        let path = fixture(name);
        parse_documents(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
    };
    let mut policy_documents = read("admission-policy/policy.yaml");
    policy_documents.extend(read("broken-policy.yaml"));
    let mut resource_documents = read("admission-policy/resources.yaml");
    resource_documents.extend(read("admission-policy/params.yaml"));
    let outcome = audit(AuditInput {
        policy_documents,
        resource_documents,
        values: Default::default(),
        requester: None,
        include_non_background: false,
        context: None,
    });
    let status_of = |policy: &str, resource: &str| {
        outcome
            .findings
            .iter()
            .find(|f| f.policy.name == policy && f.resource.name == resource)
            .map(|f| f.result.status)
    };
    assert_eq!(status_of("replica-limit", "web"), Some(RuleStatus::Fail));
    assert_eq!(status_of("replica-limit", "small"), Some(RuleStatus::Pass));
    // No binding selects it: Kyverno reports nothing for it.
    assert_eq!(status_of("replica-limit", "unlabelled"), None);
    let fail = outcome
        .findings
        .iter()
        .find(|f| f.resource.name == "web" && f.policy.name == "replica-limit")
        .unwrap();
    assert_eq!(
        fail.result.message,
        "web asks for 8 replicas; the limit is 3"
    );
    assert_eq!(fail.result.action, "Deny");
    // The broken ValidatingPolicy is refused as Kyverno's CLI refuses it
    // (it does not compile): an invalid policy named with its document and
    // expression, with no results; the others still run.
    let refused = outcome
        .problems
        .iter()
        .find(|p| p.message.contains("broken-expression"))
        .expect("the broken policy is reported");
    assert!(refused.invalid_policy, "{refused:?}");
    assert!(
        refused.message.contains("spec.validations[0].expression"),
        "{refused:?}"
    );
    assert_eq!(
        refused.origin.as_ref().map(|o| o.index),
        Some(1),
        "{refused:?}"
    );
    assert_eq!(outcome.invalid_policies(), 1);
    assert_eq!(status_of("broken-expression", "web"), None);
}
