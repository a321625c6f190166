//! What speaks against enforcing a policy, whatever its rules say: the
//! policy as read, whether it was found, and the [`EvidenceInput`] (the
//! scan record, the filters, the kinds the cluster serves, the reports'
//! times) enter; the policy's reasons leave ([`policy_reasons`]), and so do
//! the reasons its result counts give ([`result_reasons`]) and the verdict
//! a list of reasons makes ([`verdict_of`]).

use crate::ingest::policy_info::{policy_kind_group, PolicyInfo};
use crate::ingest::record::failed_kinds_matched;
use crate::ingest::record::failed_sources_affecting;
use crate::ingest::EvidenceInput;
use crate::model::{Counts, Verdict};

/// Reasons that hold for the whole policy, whatever its rules say.
pub(super) fn policy_reasons(info: &PolicyInfo, found: bool, input: &EvidenceInput) -> Vec<String> {
    let mut reasons = Vec::new();
    if !found {
        reasons.push("the policy was not found (only its reports were)".into());
    }
    // walk28 F17: results of policies sharing a name cannot be told apart.
    if !info.name_shared_with.is_empty() {
        reasons.push(name_shared_reason(info));
    }
    // Kyverno never applies it at admission: Enforce blocks nothing, and
    // an enforced one does not enforce (verify30 N8).
    if let Some(mode) = &info.evaluation_mode {
        reasons.push(format!(
            "the policy has evaluation.mode: {mode}: it judges other payloads than Kubernetes requests, and Kyverno never applies it at admission, so Enforce blocks nothing"
        ));
    } else if info.admission_off {
        let field = if matches!(info.kind.as_str(), "ClusterPolicy" | "Policy") {
            "spec.admission: false"
        } else {
            "evaluation.admission.enabled: false"
        };
        reasons.push(format!(
            "the policy has {field}: Kyverno never applies it at admission, so Enforce blocks nothing; set it to true to enforce it"
        ));
    }
    // Given as a file for a kind this cluster does not serve: nothing here
    // enforces it, and the Enforce change offered would be refused.
    if !input.serves(&info.kind) {
        let (group, enforcer) = policy_kind_group(&info.kind).unwrap_or(("", "its controller"));
        reasons.push(format!(
            "this cluster does not serve {} ({group}): nothing here would enforce it — that needs {enforcer}",
            info.kind
        ));
    } else if input.serving_unknown(&info.kind) {
        let (group, _) = policy_kind_group(&info.kind).unwrap_or(("", "its controller"));
        reasons.push(format!(
            "whether the scanned cluster serves {} ({group}) is not known: its scan record was written by an older polscan, which did not note the policy kinds served — rescan with this polscan, or build the evidence against the cluster",
            info.kind
        ));
    }
    // A filtered view judges only a namespaced policy inside the filter:
    // Kyverno enforces a cluster-wide one in namespaces not looked at.
    if !input.namespace_filter.is_empty() {
        let looked_at = input.namespace_filter.join(", ");
        match &info.namespace {
            None => {
                // Where it applies, as its match says (verify32 F5 wording:
                // "every namespace" was false for a policy confined to one).
                let elsewhere = match &info.match_namespaces {
                    None => "this policy applies in every namespace".to_string(),
                    Some(confined) => {
                        let outside: Vec<&str> = confined
                            .iter()
                            .filter(|namespace| !input.namespace_filter.contains(namespace))
                            .map(String::as_str)
                            .collect();
                        if outside.is_empty() {
                            "a cluster-wide policy is judged in the whole cluster only".to_string()
                        } else {
                            format!("this policy applies in namespace(s) {} too", outside.join(", "))
                        }
                    }
                };
                reasons.push(format!(
                    "not ready in a filtered view: only namespace(s) {looked_at} were looked at (evidence --namespace), and {elsewhere}; run evidence without --namespace to judge it"
                ));
            }
            Some(own) if !input.namespace_filter.contains(own) => reasons.push(format!(
                "not ready in a filtered view: its namespace {own} is not among those looked at ({looked_at}, evidence --namespace)"
            )),
            Some(_) => {}
        }
    }
    match &input.scan {
        None => {
            reasons.push("no record of the scan the reports come from: completeness unknown".into())
        }
        Some(scan) => {
            if scan.dry_run {
                reasons.push("the last scan was a dry run: it wrote no reports".into());
            }
            if scan.in_progress {
                // Its reports may mix with the previous run's.
                reasons.push(scan.not_finished_statement());
            }
            if let Some(error) = &scan.error {
                reasons.push(format!("the last scan failed: {error}"));
            }
            if let Some(mismatch) = scan.shards.as_ref().and_then(|s| s.mismatch_statement()) {
                reasons.push(mismatch);
            }
            if scan
                .invalid_policies
                .iter()
                .any(|p| *p == info.qualified_name())
            {
                reasons.push(format!(
                    "the last scan could not load this policy (invalid{}): its results in the reports are missing or older ones carried over",
                    scan.load_error_of(info)
                        .map(|error| format!(": {error}"))
                        .unwrap_or_default()
                ));
            }
            let sources = failed_sources_affecting(info, &scan.failed_policy_sources);
            if !sources.is_empty() {
                reasons.push(format!(
                    "the last scan could not read {}: results for this policy may be missing or older ones carried over",
                    sources.join(", ")
                ));
            }
            if let Some(uncovered) = scan.uncovered_namespaces(info) {
                reasons.push(format!(
                    "the last scan did not cover {uncovered}: Kyverno enforces there too (unless its own configuration leaves them out), and nothing there was evaluated"
                ));
            }
            let not_loaded = scan.load_errors_affecting(info);
            // In place of "does not record which" only: an exception not
            // loaded otherwise holds the policy at wait through its soak.
            if !not_loaded.is_empty()
                && scan.policies_incomplete
                && scan.failed_policy_sources.is_empty()
                && scan.invalid_policies.is_empty()
            {
                // A binding or PolicyException, named (it said "does not
                // record which" though the record did).
                reasons.push(format!(
                    "the last scan could not load {}: it may change this policy's results, which may be missing or older ones carried over",
                    not_loaded.join("; ")
                ));
            }
            if scan.missing_policies_unnamed() {
                reasons.push(
                    "the last scan could not read or load some policy and does not record which: the reports may carry older results for this one"
                        .into(),
                );
            }
            let failed = failed_kinds_matched(info, &scan.failed_kinds);
            if !failed.is_empty() {
                reasons.push(format!(
                    "the last scan could not list {} (matched by this policy)",
                    failed.join(", ")
                ));
            }
            if scan.write_failed_reports > 0 {
                // Reports do not say which kinds' writes failed: any
                // policy's results may be missing or stale.
                reasons.push(format!(
                    "the last scan failed to write {} report(s): results may be missing or stale",
                    scan.write_failed_reports
                ));
            }
            if !scan.complete && scan.error.is_none() && !scan.gaps_named() {
                // Incomplete for a reason the record does not name (a
                // discovery failure, an older record): results may be missing.
                reasons.push("the last scan was incomplete".into());
            }
            // polscan's reports newer than the record: a scan since wrote
            // none, so neither what it covered nor whether it completed is
            // known, and the record's own scan no longer stands for them.
            let unrecorded = match (
                input.reports.newest_of_polscan(&info.qualified_name()),
                scan.finished,
            ) {
                (Some(newest), Some(finished)) => newest > finished.timestamp(),
                _ => false,
            };
            if let Some(change) = scan.change_since(info.digest.as_ref(), info.last_changed) {
                let unrecorded = if unrecorded {
                    format!(
                        "; the reports are newer than that record ({}), so a later scan wrote no record: rescan with --last-run-configmap {}",
                        scan.source, scan.source
                    )
                } else {
                    String::new()
                };
                reasons.push(format!("the policy {change}: rescan first{unrecorded}"));
            } else if unrecorded {
                reasons.push(format!(
                    "polscan's reports hold results of this policy newer than the last recorded scan ({}): a later scan wrote no record, so what it covered and whether it completed are not known: rescan with --last-run-configmap {}",
                    scan.source, scan.source
                ));
            }
        }
    }
    reasons
}

/// Ready exactly when nothing speaks against enforcing.
pub(super) fn verdict_of(reasons: &[String]) -> Verdict {
    if reasons.is_empty() {
        Verdict::Ready
    } else {
        Verdict::NotReady
    }
}

/// What the results themselves say against enforcing. An unscored policy
/// reports its failures as `warn`: Kyverno's admission rejects them all the
/// same (the annotation only changes how reports score them).
pub(super) fn result_reasons(counts: &Counts, unscored: bool) -> Vec<String> {
    let mut reasons = Vec::new();
    if counts.fail > 0 {
        reasons.push(format!("{} failing result(s)", counts.fail));
    }
    if unscored && counts.warn > 0 {
        reasons.push(format!(
            "{} warn result(s) of an unscored policy (policies.kyverno.io/scored: \"false\"): failures Kyverno's admission would reject",
            counts.warn
        ));
    }
    if counts.error > 0 {
        reasons.push(format!(
            "{} result(s) could not be evaluated (error)",
            counts.error
        ));
    }
    reasons
}

/// Why no verdict holds for a policy whose name another kind's policy
/// shares ([`PolicyInfo::name_shared_with`]).
pub(crate) fn name_shared_reason(info: &PolicyInfo) -> String {
    format!(
        "{} {} shares its name with {}: reports name a policy without its kind, so their results are merged here and no verdict holds for either (Kyverno keeps them apart); rename one, or delete the one being replaced, and rescan",
        info.kind,
        info.qualified_name(),
        info.name_shared_with
            .iter()
            .map(|kind| format!("the {kind}"))
            .collect::<Vec<_>>()
            .join(" and ")
    )
}
