//! Turns audit findings into wgpolicyk8s.io/v1alpha2 reports: each finding
//! becomes a `report_model::ReportResult` scoped to its resource, with the
//! policy's severity, category, scored flag and action; the report-model crate
//! shapes them into PolicyReports and ClusterPolicyReports.

use report_model::meta::{ObjectReference, Timestamp};
use report_model::report::{PolicyResult, ReportResult, Severity};
use report_model::shape::{self, PerNamespaceOptions, ScopedResult, ShapeError, ShapedReports};

use crate::audit::Finding;
use crate::engine::RuleStatus;

/// `source` of every result polscan writes.
pub const SOURCE: &str = "polscan";

fn policy_result(status: RuleStatus) -> PolicyResult {
    match status {
        RuleStatus::Pass => PolicyResult::Pass,
        RuleStatus::Fail => PolicyResult::Fail,
        RuleStatus::Warn => PolicyResult::Warn,
        RuleStatus::Error => PolicyResult::Error,
        RuleStatus::Skip => PolicyResult::Skip,
    }
}

fn severity(text: &str) -> Option<Severity> {
    match text {
        "critical" => Some(Severity::Critical),
        "high" => Some(Severity::High),
        "medium" => Some(Severity::Medium),
        "low" => Some(Severity::Low),
        "info" => Some(Severity::Info),
        _ => None,
    }
}

/// The resource a finding is about, as a report reference.
pub fn object_reference(finding: &Finding) -> ObjectReference {
    let resource = &finding.resource;
    let mut reference = if resource.namespace.is_empty() {
        ObjectReference::cluster_scoped(&resource.api_version, &resource.kind, &resource.name)
    } else {
        ObjectReference::namespaced(
            &resource.api_version,
            &resource.kind,
            &resource.namespace,
            &resource.name,
        )
    };
    if !resource.uid.is_empty() {
        reference = reference.with_uid(&resource.uid);
    }
    reference
}

/// A stable identity of a result: the same policy, rule and resource give
/// the same ID on every scan, so tools can follow a result across runs.
pub fn result_id(finding: &Finding) -> String {
    use sha2::{Digest, Sha256};
    let resource = &finding.resource;
    let mut hasher = Sha256::new();
    for part in [
        finding.policy.qualified_name().as_str(),
        finding.result.rule.as_str(),
        resource.api_version.as_str(),
        resource.kind.as_str(),
        resource.namespace.as_str(),
        resource.name.as_str(),
        resource.uid.as_str(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(&hasher.finalize()[..16])
}

/// One report result for one finding.
pub fn report_result(finding: &Finding, timestamp: Timestamp) -> ReportResult {
    let policy = &finding.policy;
    let mut result = ReportResult::new(
        policy.qualified_name(),
        policy_result(finding.reported_status()),
    )
    .with_rule(&finding.result.rule)
    .with_source(SOURCE)
    .with_message(&finding.result.message)
    .with_scored(policy.scored())
    .with_timestamp(timestamp)
    .with_resource(object_reference(finding))
    .with_property("action", &finding.result.action)
    .with_property("resultID", result_id(finding));
    if let Some(category) = policy.category() {
        result = result.with_category(category);
    }
    if let Some(level) = policy.severity().and_then(severity) {
        result = result.with_severity(level);
    }
    for (key, value) in &finding.result.properties {
        result = result.with_property(key, value);
    }
    result
}

/// Kyverno's layout: one report per resource with results.
pub fn per_resource(
    findings: &[Finding],
    timestamp: Timestamp,
) -> Result<ShapedReports, ShapeError> {
    shape::per_resource(findings.iter().map(|finding| ScopedResult {
        resource: object_reference(finding),
        result: report_result(finding, timestamp),
    }))
}

/// One report per namespace (and one for cluster-scoped resources), split
/// into numbered parts under the size limit.
pub fn per_namespace(
    findings: &[Finding],
    timestamp: Timestamp,
    options: &PerNamespaceOptions,
) -> Result<ShapedReports, ShapeError> {
    shape::per_namespace(
        findings.iter().map(|finding| ScopedResult {
            resource: object_reference(finding),
            result: report_result(finding, timestamp),
        }),
        options,
    )
}
