//! The fail-closed baseline: an [`Evidence`] (with its Git patches, when
//! `--policy-repo` attached them), the environment and the baseline
//! severities enter [`apply`]; the evidence leaves with its `environment`
//! and, in production, its [`Baseline`]: every policy of a baseline
//! severity whose action is not Enforce is a breach, with what promotes it
//! when it is ready and who must fix what when it is not.

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
        breaches,
    });
}

fn breach(policy: &PolicyEvidence, severity: &str) -> BaselineBreach {
    let ready = policy.verdict == Verdict::Ready;
    let promote = if ready { promotion(policy) } else { Vec::new() };
    let to_fix = if ready { Vec::new() } else { to_fix(policy) };
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

/// The Git patch is the primary instruction; the kubectl command serves a
/// cluster without GitOps (or when no patch could be made).
fn promotion(policy: &PolicyEvidence) -> Vec<String> {
    let git = policy
        .git_change
        .as_ref()
        .and_then(|change| change.promote.as_ref())
        .map(|promote| format!("git apply {}", promote.file));
    match (git, &policy.info.enforce) {
        (Some(git), _) => vec![git],
        (None, Some(enforce)) => vec![enforce.command.clone()],
        (None, None) => Vec::new(),
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
