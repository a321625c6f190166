//! The fail-closed baseline: an [`Evidence`] (with its Git patches, when
//! `--policy-repo` attached them), the environment and the baseline
//! severities enter [`apply`]; the evidence leaves with its `environment`
//! and, in production, its [`Baseline`]: every policy of a baseline
//! severity whose action is not Enforce is a breach, with what promotes it
//! when it is ready and who must fix what when it is not (and the
//! decisions, [`super::decision`], decided again to name them).

use crate::model::{Baseline, BaselineBreach, Evidence, PolicyEvidence, Verdict, PRODUCTION};

/// The severities the baseline covers without `--baseline-severity`.
pub const DEFAULT_SEVERITIES: [&str; 1] = ["critical"];

/// Records `environment` and, when it is production (in any case), judges
/// the baseline of `severities` (compared without case; the default's
/// when empty). Elsewhere no baseline is judged.
pub fn apply(evidence: &mut Evidence, environment: Option<&str>, severities: &[String]) {
    evidence.environment = environment.map(str::to_string);
    evidence.baseline = None;
    if !environment.is_some_and(|e| e.trim().eq_ignore_ascii_case(PRODUCTION)) {
        super::decision::apply(evidence);
        return;
    }
    let mut severities: Vec<String> = severities
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    if severities.is_empty() {
        severities = DEFAULT_SEVERITIES.iter().map(|s| s.to_string()).collect();
    }
    let covered = evidence
        .policies
        .iter()
        .filter(|policy| {
            policy
                .info
                .severity
                .as_deref()
                .is_some_and(|s| severities.contains(&s.to_lowercase()))
        })
        .count();
    let breaches = evidence
        .policies
        .iter()
        .filter_map(|policy| {
            let severity = policy.info.severity.as_deref()?;
            // Mixed, Audit, Invalid and unknown all let a violation in
            // somewhere: only Enforce everywhere holds the baseline.
            (severities.contains(&severity.to_lowercase()) && policy.info.action != "Enforce")
                .then(|| breach(policy, severity))
        })
        .collect();
    evidence.baseline = Some(Baseline {
        severities,
        covered: Some(covered),
        chosen: evidence.policy_filter.clone(),
        breaches,
    });
    // The decisions name the breaches.
    super::decision::apply(evidence);
}

fn breach(policy: &PolicyEvidence, severity: &str) -> BaselineBreach {
    let ready = policy.verdict == Verdict::Ready;
    // The Git patch is the primary instruction; the kubectl command serves
    // a cluster without GitOps (or when no patch could be made). A no-op
    // Enforce command (only an Audit override keeps it in Audit) is not
    // offered.
    let promote = match policy.promote_command() {
        Some(command) if ready => vec![command],
        _ => Vec::new(),
    };
    let mut to_fix = if ready { Vec::new() } else { to_fix(policy) };
    // The Enforce change leaves Audit overrides as they are: the breach
    // stays there after it (and with nothing else in Audit, it is all
    // there is to change).
    let stays_audit = policy.info.stays_audit();
    if !stays_audit.is_empty() {
        to_fix.push(format!(
            "an Audit override keeps it in Audit in {}: set that override's action to Enforce (validationFailureActionOverrides / failureActionOverrides), which the Enforce change leaves as it is",
            stays_audit.join("; ")
        ));
    }
    BaselineBreach {
        policy: policy.info.qualified_name(),
        kind: policy.info.kind.clone(),
        severity: severity.to_string(),
        action: policy.info.action_summary(),
        verdict: policy.verdict,
        promote,
        to_fix,
    }
}

/// Who must fix what: each owner of violating resources with how many
/// violations of which rules, then what else the verdict rests on.
fn to_fix(policy: &PolicyEvidence) -> Vec<String> {
    let mut lines: Vec<String> = policy
        .owner_groups()
        .iter()
        .map(|group| {
            let mut rules: Vec<&str> = group
                .violations
                .iter()
                .map(|v| &*v.rule)
                .filter(|r| !r.is_empty())
                .collect();
            rules.sort_unstable();
            rules.dedup();
            let rules = if rules.is_empty() {
                String::new()
            } else {
                format!(" (rule {})", rules.join(", "))
            };
            format!(
                "{}: {} violation(s){rules}",
                group.owner,
                group.violations.len()
            )
        })
        .collect();
    lines.extend(policy.reasons.iter().cloned());
    if policy.verdict == Verdict::NoEvidence {
        lines.extend(policy.notes.iter().cloned());
        if policy.notes.is_empty() {
            lines.push("no resource was evaluated: the scan proves nothing yet".into());
        }
    }
    lines
}
