//! Turns audit findings into wgpolicyk8s.io/v1alpha2 reports: each finding
//! becomes a `report_model::ReportResult` scoped to its resource, with the
//! policy's severity, category, scored flag and action; the report-model crate
//! shapes them into PolicyReports and ClusterPolicyReports.

use report_model::meta::{ObjectReference, Timestamp};
use report_model::report::{PolicyResult, ReportResult, Severity};
use report_model::shape::{self, PerNamespaceOptions, ScopedResult, ShapeError, ShapedReports};

use crate::audit::Finding;
use crate::engine::{RuleStatus, SkipReason};

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

/// The identity of a result as Policy Reporter keys it
/// (`properties.resultID`): it notifies only on IDs it has not seen, so the
/// ID covers what the result says, not just where it is — the policy (kind
/// and name, so a ValidatingPolicy and a VAP of one name differ), the rule,
/// the resource, the reported status, the message and the engine's
/// properties. A pass → fail change gives a new ID (and an alert); an
/// unchanged result keeps its ID across scans. The action is left out:
/// moving a policy to Enforce changes no finding.
pub fn result_id(finding: &Finding) -> String {
    use sha2::{Digest, Sha256};
    let resource = &finding.resource;
    let mut hasher = Sha256::new();
    let status = finding.reported_status();
    for part in [
        finding.policy.kind.as_str(),
        finding.policy.qualified_name().as_str(),
        finding.result.rule.as_str(),
        resource.api_version.as_str(),
        resource.kind.as_str(),
        resource.namespace.as_str(),
        resource.name.as_str(),
        resource.uid.as_str(),
        status.as_str(),
        finding.result.message.as_str(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    for (key, value) in &finding.result.properties {
        hasher.update(key.as_bytes());
        hasher.update([0u8]);
        hasher.update(value.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(&hasher.finalize()[..16])
}

/// One report result for one finding, its message bounded
/// ([`report_model::message::MAX_MESSAGE_BYTES`]), without `resources`: Kyverno's
/// reports controller leaves them out of its per-resource reports (the
/// report's `scope` names the resource, and Policy Reporter falls back to
/// it), and every byte of a result slows the server's writes. The
/// per-namespace layout adds the resource back, since its scope is the
/// namespace ([`shape::per_namespace`]).
pub fn report_result(finding: &Finding, timestamp: Timestamp) -> ReportResult {
    let policy = &finding.policy;
    let mut result = ReportResult::new(
        policy.qualified_name(),
        policy_result(finding.reported_status()),
    )
    .with_rule(&finding.result.rule)
    .with_source(SOURCE)
    // Bounded: one message echoing a large resource must not make the
    // report one the API server refuses at every run.
    .with_message(report_model::message::bounded(
        &finding.result.message,
        report_model::message::MAX_MESSAGE_BYTES,
    ))
    .with_scored(policy.scored())
    .with_timestamp(timestamp)
    .with_property("action", &finding.result.action)
    .with_property("resultID", result_id(finding));
    // Kyverno writes "" for a policy with neither background nor admission
    // processing; an empty value is left out here, as other empty fields.
    if !policy.process.is_empty() {
        result = result.with_property("process", policy.process);
    }
    if let Some(category) = policy.category() {
        result = result.with_category(category);
    }
    if let Some(level) = policy.severity().and_then(severity) {
        result = result.with_severity(level);
    }
    // An empty value says nothing, and report CRDs of some servers refuse
    // it (a ValidatingPolicy's annotation warning names the rule "").
    // Bounded as messages are: an audit annotation's valueExpression can
    // put a whole resource into one (a 600 KB ConfigMap made its report one
    // the server refused at every run, red22 F18).
    for (key, value) in finding
        .result
        .properties
        .iter()
        .filter(|(_, value)| !value.is_empty())
    {
        result = result.with_property(
            key,
            report_model::message::bounded(value, report_model::message::MAX_MESSAGE_BYTES),
        );
    }
    result
}

/// Whether a finding belongs in a written report. Skips of CEL policies
/// whose `matchConditions` were false are left out, as Kyverno ≥ 1.19's
/// background scans leave them out (`filterMatchConditionSkips`,
/// pkg/controllers/report/utils/scanner.go): the policy does not apply to
/// that resource. A scan's outputs leave them out too (walk39 F10);
/// `polscan apply` and `polscan test` still show them, as the CLI does.
pub fn is_reported(finding: &Finding) -> bool {
    finding.result.skip_reason != Some(SkipReason::MatchConditions)
}

/// The report results of the findings that belong in a written report.
pub fn scoped_results(
    findings: &[Finding],
    timestamp: Timestamp,
) -> impl Iterator<Item = ScopedResult> + '_ {
    findings
        .iter()
        .filter(|finding| is_reported(finding))
        .map(move |finding| ScopedResult {
            resource: ObjectReference::from(&finding.resource),
            result: report_result(finding, timestamp),
        })
}

/// Kyverno's layout: one report per resource with results.
pub fn per_resource(
    findings: &[Finding],
    timestamp: Timestamp,
) -> Result<ShapedReports, ShapeError> {
    shape::per_resource(scoped_results(findings, timestamp))
}

/// One report per namespace (and one for cluster-scoped resources), split
/// into numbered parts under the size limit.
pub fn per_namespace(
    findings: &[Finding],
    timestamp: Timestamp,
    options: &PerNamespaceOptions,
) -> Result<ShapedReports, ShapeError> {
    shape::per_namespace(scoped_results(findings, timestamp), options)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::engine::policy::PolicyMeta;
    use crate::engine::{ResourceRef, RuleResult};

    fn finding(kind: &str, status: RuleStatus, message: &str) -> Finding {
        Finding {
            policy: Arc::new(PolicyMeta {
                kind: kind.into(),
                name: "require-team".into(),
                namespace: None,
                annotations: BTreeMap::new(),
                process: "background scan",
            }),
            resource: ResourceRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: "shop".into(),
                name: "web".into(),
                uid: "0b9f3c2e-1111-4222-8333-444455556666".into(),
            },
            origin: None,
            result: RuleResult::new(String::new(), status, message, "Audit"),
        }
    }

    #[test]
    fn a_huge_message_is_cut_in_the_report_not_in_the_result_id() {
        let huge = format!("{}é", "x".repeat(report_model::message::MAX_MESSAGE_BYTES));
        let failed = finding("ClusterPolicy", RuleStatus::Fail, &huge);
        let message = report_result(&failed, Timestamp::now()).message.unwrap();
        assert!(message.len() <= report_model::message::MAX_MESSAGE_BYTES);
        assert!(message.ends_with("… (truncated, 2050 bytes)"), "{message}");
        let mut other_tail = failed.clone();
        other_tail.result.message = format!("{}e", "x".repeat(2048));
        assert_ne!(
            result_id(&failed),
            result_id(&other_tail),
            "the ID sees the whole message"
        );
    }

    /// red22 F18: an audit annotation holding a whole 600 KB resource made
    /// the report one the server refused at every run; a property is
    /// bounded as a message is.
    #[test]
    fn a_huge_property_is_cut_in_the_report() {
        let mut annotated = finding("ValidatingAdmissionPolicy", RuleStatus::Fail, "denied");
        annotated
            .result
            .properties
            .insert("dump".into(), "y".repeat(600 << 10));
        annotated
            .result
            .properties
            .insert("small".into(), "kept".into());
        let result = report_result(&annotated, Timestamp::now());
        let dump = &result.properties["dump"];
        assert!(
            dump.len() <= report_model::message::MAX_MESSAGE_BYTES,
            "{}",
            dump.len()
        );
        assert!(dump.ends_with("(truncated, 614400 bytes)"), "{dump}");
        assert_eq!(result.properties["small"], "kept");
    }

    #[test]
    fn results_carry_kyverno_s_process_property() {
        let scanned = finding("ClusterPolicy", RuleStatus::Pass, "ok");
        let result = report_result(&scanned, Timestamp::now());
        assert_eq!(result.properties["process"], "background scan");
        let mut neither = finding("ClusterPolicy", RuleStatus::Pass, "ok");
        let mut meta = (*neither.policy).clone();
        meta.process = crate::engine::policy::process(false, false);
        neither.policy = Arc::new(meta);
        let result = report_result(&neither, Timestamp::now());
        assert!(!result.properties.contains_key("process"));
    }

    #[test]
    fn empty_property_values_are_left_out() {
        let mut warned = finding("ValidatingPolicy", RuleStatus::Warn, "annotation");
        warned
            .result
            .properties
            .insert("exception-rules".into(), String::new());
        warned
            .result
            .properties
            .insert("exception-owner".into(), "team-b".into());
        let result = report_result(&warned, Timestamp::now());
        assert!(!result.properties.contains_key("exception-rules"));
        assert_eq!(result.properties["exception-owner"], "team-b");
        assert_eq!(
            crate::engine::policy::process(false, true),
            "admission review"
        );
    }

    #[test]
    fn result_ids_follow_the_result_not_only_its_place() {
        let pass = finding("ValidatingPolicy", RuleStatus::Pass, "");
        let fail = finding("ValidatingPolicy", RuleStatus::Fail, "no team label");
        assert_eq!(result_id(&pass), result_id(&pass.clone()));
        assert_ne!(result_id(&pass), result_id(&fail), "pass → fail must alert");
        let other_message = finding("ValidatingPolicy", RuleStatus::Fail, "still no label");
        assert_ne!(result_id(&fail), result_id(&other_message));
        let vap = finding(
            "ValidatingAdmissionPolicy",
            RuleStatus::Fail,
            "no team label",
        );
        assert_ne!(result_id(&fail), result_id(&vap), "same name, other kind");
        let mut enforced = fail.clone();
        enforced.result.action = "Enforce".into();
        assert_eq!(result_id(&fail), result_id(&enforced));
    }

    #[test]
    fn unnamed_rules_and_match_condition_skips_stay_out_of_reports() {
        let fail = finding("ValidatingPolicy", RuleStatus::Fail, "no team label");
        let mut skipped = finding("ValidatingPolicy", RuleStatus::Skip, "skip");
        skipped.resource.name = "preview".into();
        skipped.resource.uid = "0b9f3c2e-1111-4222-8333-444455550000".into();
        skipped.result.skip_reason = Some(SkipReason::MatchConditions);
        let shaped = per_resource(&[fail, skipped], Timestamp::new(1, 0)).unwrap();
        assert_eq!(shaped.policy_reports.len(), 1, "the skip is not reported");
        let report = &shaped.policy_reports[0];
        assert_eq!(
            report.name(),
            "polscan-0b9f3c2e-1111-4222-8333-444455556666"
        );
        let value = serde_json::to_value(report).unwrap();
        assert!(value["results"][0].get("rule").is_none(), "{value}");
        report_model::schema::check_policy_report(report).unwrap();
    }

    #[test]
    fn per_resource_results_leave_the_resource_to_the_scope_per_namespace_name_it() {
        let fail = finding("ClusterPolicy", RuleStatus::Fail, "no team label");
        let shaped = per_resource(std::slice::from_ref(&fail), Timestamp::new(7, 0)).unwrap();
        let value = serde_json::to_value(&shaped.policy_reports[0]).unwrap();
        assert!(value["results"][0].get("resources").is_none(), "{value}");
        assert_eq!(
            value["scope"]["name"],
            fail.resource.name.as_str(),
            "{value}"
        );
        assert_eq!(
            value["results"][0]["timestamp"],
            serde_json::json!({"seconds": 7, "nanos": 0})
        );

        let shaped = per_namespace(
            std::slice::from_ref(&fail),
            Timestamp::new(7, 0),
            &PerNamespaceOptions::default(),
        )
        .unwrap();
        let value = serde_json::to_value(&shaped.policy_reports[0]).unwrap();
        assert_eq!(
            value["results"][0]["resources"][0]["name"],
            fail.resource.name.as_str(),
            "a namespace report's scope is the namespace: {value}"
        );
    }
}
