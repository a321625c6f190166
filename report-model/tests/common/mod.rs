//! Fixtures shared by the integration tests: fully-populated reports (every
//! field of the wire format set) and small builders for scanner output.

#![allow(dead_code)] // each test binary uses a different subset

use report_model::{
    ClusterPolicyReport, LabelSelector, LabelSelectorRequirement, ObjectReference, OwnerReference,
    PolicyReport, PolicyResult, ReportResult, SelectorOperator, Severity, Timestamp,
};

/// A reference with all seven `ObjectReference` fields set.
pub fn full_reference(namespace: Option<&str>) -> ObjectReference {
    ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("Deployment".into()),
        namespace: namespace.map(str::to_owned),
        name: Some("web".into()),
        uid: Some("4a1c2f0e-8d7b-4c1e-9f3a-2b6d5e7f8a90".into()),
        resource_version: Some("12345".into()),
        field_path: Some("spec.template.spec.containers{app}".into()),
    }
}

pub fn full_selector() -> LabelSelector {
    LabelSelector {
        match_labels: [("app".to_owned(), "web".to_owned())].into(),
        match_expressions: vec![LabelSelectorRequirement {
            key: "tier".into(),
            operator: SelectorOperator::In,
            values: vec!["frontend".into(), "backend".into()],
        }],
    }
}

/// A result with every optional field set.
pub fn full_result(namespace: Option<&str>) -> ReportResult {
    ReportResult::new("require-labels", PolicyResult::Fail)
        .with_source("polscan")
        .with_rule("check-team-label")
        .with_category("Best Practices")
        .with_severity(Severity::Medium)
        .with_timestamp(Timestamp::new(1_700_000_000, 123_456_789))
        .with_scored(true)
        .with_resource(full_reference(namespace))
        .with_resource_selector(full_selector())
        .with_message("label 'team' is required")
        .with_property("container", "app")
        .with_property("evaluation", "background")
}

fn full_owner() -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "web".into(),
        uid: "4a1c2f0e-8d7b-4c1e-9f3a-2b6d5e7f8a90".into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

pub fn full_policy_report() -> PolicyReport {
    let results = vec![
        full_result(Some("shop")),
        ReportResult::new("disallow-latest-tag", PolicyResult::Pass).with_source("polscan"),
        ReportResult::new("require-probes", PolicyResult::Warn),
        ReportResult::new("cel-check", PolicyResult::Error),
        ReportResult::new("host-path", PolicyResult::Skip),
    ];
    let mut report = PolicyReport::new("full-report", "shop", results)
        .with_scope(full_reference(Some("shop")))
        .with_scope_selector(full_selector())
        .with_label("app.kubernetes.io/managed-by", "polscan")
        .with_annotation("polscan.io/note", "fixture")
        .with_owner_reference(full_owner());
    let metadata = report.metadata_mut();
    metadata.uid = Some("0f9e8d7c-6b5a-4321-8fed-cba987654321".into());
    metadata.resource_version = Some("42".into());
    report
}

/// Every field set, so even `namespace` inside the references: the point is
/// that the type can write each field the schema declares, not realism.
pub fn full_cluster_policy_report() -> ClusterPolicyReport {
    let results = vec![
        full_result(Some("shop")),
        ReportResult::new("restrict-node-labels", PolicyResult::Pass),
    ];
    let mut report = ClusterPolicyReport::new("full-cluster-report", results)
        .with_scope(full_reference(Some("shop")))
        .with_scope_selector(full_selector())
        .with_label("app.kubernetes.io/managed-by", "polscan")
        .with_annotation("polscan.io/note", "fixture")
        .with_owner_reference(full_owner());
    let metadata = report.metadata_mut();
    metadata.uid = Some("1f9e8d7c-6b5a-4321-8fed-cba987654321".into());
    metadata.resource_version = Some("43".into());
    report
}
