//! The decision per policy, the pages' first section: an [`Evidence`] —
//! its verdicts, the Git patches `--policy-repo` attached, the comparison
//! with `--since` and the production baseline — enters [`decide`]; one
//! [`PolicyDecision`] per policy leaves, most urgent first: ROLL BACK
//! (a rollback condition met), RESCAN (enforced, but the last scan did
//! not cover it: not confirmed, and no rollback advised for that), GO (the exact instruction, and the
//! namespaces an Audit override keeps out of it), WAIT, NO-GO (the first
//! reasons and whom to contact), ENFORCED (its rollback status).
//! [`apply`] stores them in the evidence.

use std::collections::{BTreeMap, BTreeSet};

use super::some_of;
use crate::model::{Decision, Evidence, PolicyDecision, PolicyEvidence, RollbackCheck, Verdict};
use crate::model::{Violation, ViolationChange};

/// Reasons a NO-GO shows; the policy's section has them all.
const REASONS_SHOWN: usize = 3;
/// A reason longer than this is cut (at a word) in the decision.
const REASON_CHARS: usize = 160;
/// Teams a NO-GO names to contact.
const TEAMS_SHOWN: usize = 5;

/// Namespaces, and owners in each, a NO-GO names to contact.
const NAMESPACES_SHOWN: usize = 5;
const OWNERS_SHOWN: usize = 3;

/// Stores [`decide`]'s decisions in `evidence.decisions`. Call it last:
/// after the comparison, the Git patches and the baseline, which it reads.
/// A policy whose Git version is not the one that soaked stops being
/// ready first (`soak::apply_git`).
pub fn apply(evidence: &mut Evidence) {
    for policy in &mut evidence.policies {
        super::soak::apply_git(policy);
    }
    evidence.decisions = decide(evidence);
}

/// Per policy what to do now, most urgent first (evidence order within a
/// decision).
pub fn decide(evidence: &Evidence) -> Vec<PolicyDecision> {
    let breaches: BTreeSet<&str> = evidence
        .baseline
        .iter()
        .flat_map(|b| &b.breaches)
        .map(|b| b.policy.as_str())
        .collect();
    let checks: BTreeMap<&str, &RollbackCheck> = evidence
        .comparison
        .iter()
        .flat_map(|c| &c.rollback_checks)
        .map(|check| (check.policy.as_str(), check))
        .collect();
    let compared = evidence.comparison.is_some();
    let mut decisions: Vec<PolicyDecision> = evidence
        .policies
        .iter()
        .map(|policy| {
            let name = policy.info.qualified_name();
            let check = checks.get(name.as_str()).copied();
            let unknown: Vec<&ViolationChange> = evidence
                .comparison
                .iter()
                .flat_map(|c| &c.unknown_violations)
                .filter(|v| v.policy == name)
                .collect();
            // Without a comparison, a scan that did not cover an enforced
            // policy is still said (walk25 F13): RESCAN, not ENFORCED. So is
            // one whose filters left out a kind or namespace it reaches
            // (verify26): nothing there was confirmed.
            let gaps = evidence
                .scan
                .as_ref()
                .filter(|_| !compared)
                .map(|scan| {
                    let mut gaps = scan.incomplete_for(&policy.info);
                    gaps.extend(scan.left_out_for(&policy.info, &policy.reached_kinds()));
                    gaps
                })
                .filter(|gaps| !gaps.is_empty())
                .map(|gaps| gaps.join("; "));
            let mut decision = decide_policy(policy, check, compared, &unknown, gaps);
            decision.baseline_breach = breaches.contains(name.as_str());
            // A drift between Git and the cluster changes what the patches
            // mean: said first, whatever the decision.
            if let Some(drift) = policy.git_drift() {
                decision.reasons.insert(0, drift);
            }
            // Git holds rules that did not soak: said first, whole (its
            // remedy is the end of it), whatever the decision.
            if let Some(problem) = git_rules_differ(policy) {
                if !decision.reasons.iter().any(|r| r == problem) {
                    decision.reasons.insert(0, problem.to_string());
                }
            }
            decision
        })
        .collect();
    // Stable: evidence order within each decision.
    // Among RESCANs, the enforced policies' first: only theirs may hide a
    // rollback.
    decisions.sort_by_key(|d| {
        (
            d.decision,
            d.decision == Decision::Rescan && d.rollback_status.is_none(),
        )
    });
    decisions
}

fn decide_policy(
    policy: &PolicyEvidence,
    check: Option<&RollbackCheck>,
    compared: bool,
    unknown: &[&ViolationChange],
    scan_gaps: Option<String>,
) -> PolicyDecision {
    let info = &policy.info;
    let mut decision = PolicyDecision {
        policy: info.qualified_name(),
        kind: info.kind.clone(),
        decision: Decision::NoGo,
        action: info.action_summary(),
        instructions: Vec::new(),
        stays_audit: info.stays_audit(),
        reasons: Vec::new(),
        contacts: Vec::new(),
        soak_left: None,
        rollback_status: None,
        baseline_breach: false,
    };
    if info.enforces() {
        decision.rollback_status = Some(rollback_status(policy, check, compared));
    }
    // Results merged with another kind's policy of its name confirm
    // nothing, not even a rollback (walk28 F17).
    if !info.name_shared_with.is_empty() {
        decision.decision = if info.enforces() {
            Decision::Rescan
        } else {
            Decision::NoGo
        };
        decision.reasons = vec![shorten(&super::reasons::name_shared_reason(info))];
        decision.instructions = vec![
            "rename one of the policies (or delete the one being replaced), rescan, then make the package again".into(),
        ];
        return decision;
    }
    // An enforced policy Kyverno never applies at admission enforces
    // nothing (verify30 N8): not ENFORCED; its reason says why.
    if info.admission_off && info.enforces() {
        decision.decision = Decision::NoGo;
        decision.reasons = policy
            .reasons
            .iter()
            .filter(|r| r.contains("never applies it at admission"))
            .map(|r| shorten(r))
            .collect();
        return decision;
    }
    // Given as a file for a kind this cluster does not serve: nothing here
    // enforces it (walk34: ENFORCED beside "nothing here would enforce it").
    if info.enforces() && policy.unserved() {
        if let Some(unserved) = policy
            .reasons
            .iter()
            .find(|r| r.starts_with("this cluster does not serve "))
        {
            decision.decision = Decision::NoGo;
            decision.reasons = vec![shorten(unserved)];
            decision.rollback_status = None;
            return decision;
        }
    }
    if let Some(check) = check.filter(|c| c.roll_back) {
        decision.decision = Decision::RollBack;
        // The condition without its parenthesis: the cell is short, and
        // what it found (the violators) must stay in it (walk43).
        decision.reasons = check
            .conditions
            .iter()
            .filter(|c| c.met)
            .map(|c| {
                let condition = c.condition.split(" (").next().unwrap_or(&c.condition);
                shorten(&format!("{condition}: {}", c.detail))
            })
            .collect();
        decision.instructions = rollback_instructions(policy);
        // What was scanned calls for the rollback; the gaps are said too.
        if let Some(gaps) = &check.rescan {
            decision.reasons.push(shorten(&format!(
                "also not confirmed since the previous package (rescan): {gaps}"
            )));
        }
        return decision;
    }
    // The scanner stopping (SIGTERM, --timeout, a failed list) changes
    // nothing in the cluster: no rollback advice for it, but no claim that
    // the policy still holds either — rescan.
    if let Some(gaps) = check.and_then(|c| c.rescan.as_ref()) {
        decision.decision = Decision::Rescan;
        decision.reasons = vec![shorten(&format!(
            "not confirmed since the previous package: {gaps}"
        ))];
        decision.instructions = vec![RESCAN_INSTRUCTION.into()];
        return decision;
    }
    // Enforced wherever its own action reaches: an Enforce change would
    // change nothing, so none is offered (what stays in Audit an override
    // keeps, and `stays_audit` says so).
    if info.enforces() && policy.enforce_change().is_none() && policy.git_promote().is_none() {
        // A filtered view (evidence --namespace) did not look where Kyverno
        // enforces it (verify31 F5: ENFORCED, "no rollback condition met",
        // beside a violation in another namespace).
        // The evidence's dry-run recheck found a violation created or
        // changed since the last recorded scan: a new fail Kyverno
        // enforces (walk32 F3: ENFORCED, "no rollback condition met").
        if let Some(found) = policy
            .reasons
            .iter()
            .find(|r| crate::verdict::recheck::is_new_failures_reason(r))
        {
            decision.decision = Decision::RollBack;
            decision.reasons = vec![shorten(found)];
            decision.instructions = rollback_instructions(policy);
            decision.rollback_status = Some("a rollback condition is met (the recheck)".into());
            return decision;
        }
        // Reports of a scan that wrote no record, or a policy changed since
        // the scan: what was covered is not known (walk31 F12: ENFORCED,
        // "no rollback condition met", beside that very reason).
        if let Some(unknown) = policy.reasons.iter().find(|r| {
            r.starts_with("polscan's reports hold results of this policy newer")
                || (r.starts_with("the policy ") && r.contains(": rescan first"))
                // walk34: no record at all read ENFORCED without --since.
                || r.starts_with("no record of the scan the reports come from")
                // verify35/36: a recheck that did not complete (or did not
                // evaluate or count what the policy reaches) confirms nothing.
                || (r.starts_with("the dry-run scan at ")
                    && (r.contains("did not complete")
                        || r.contains("did not evaluate")
                        || r.contains("did not count")))
        }) {
            decision.decision = Decision::Rescan;
            decision.reasons = vec![shorten(&format!("enforced, and not confirmed: {unknown}"))];
            decision.instructions = vec![RESCAN_INSTRUCTION.into()];
            return decision;
        }
        if let Some(filtered) = policy
            .reasons
            .iter()
            .find(|r| r.starts_with("not ready in a filtered view"))
        {
            decision.decision = Decision::Rescan;
            decision.reasons = vec![shorten(&format!(
                "enforced, and not confirmed by this view: {}",
                filtered.trim_start_matches("not ready in a filtered view: ")
            ))];
            decision.instructions = vec![
                "make the package without --namespace to confirm it where Kyverno enforces it"
                    .into(),
            ];
            return decision;
        }
        if let Some(gaps) = scan_gaps {
            decision.decision = Decision::Rescan;
            decision.reasons = vec![shorten(&format!(
                "enforced, and the last scan did not cover it: {gaps}"
            ))];
            decision.instructions = vec!["rescan (polscan scan, as the CronJob runs it, covering what the reason names), then make the package again, with --since the package of the switch to check the rollback conditions".into()];
            return decision;
        }
        // Violations Kyverno enforces now: their next update is denied.
        // Not "ENFORCED" on the decision line with them in the fine print
        // (walk39 F5): without --since nothing tells whether they are new
        // (a rollback condition); with it, they stood before. Fix them.
        // A fail skipped only by a polscan.io/exception annotation is one
        // to Kyverno too (walk79: ENFORCED beside it without --since).
        let enforced_violations: Vec<&Violation> = policy.kyverno_enforced_violations().collect();
        if let Some(first) = enforced_violations.first().filter(|_| !info.admission_off) {
            decision.decision = Decision::NoGo;
            decision.reasons = vec![shorten(&format!(
                "enforced, with {} violation(s) Kyverno enforces now ({} {}{}): their next update is denied — fix them; {}",
                enforced_violations.len(),
                first.resource,
                first.kyverno_result(),
                if enforced_violations.len() > 1 { ", …" } else { "" },
                if check.is_some() {
                    "they stood in the previous package too (new ones would call for a rollback)"
                } else {
                    "compare with the package of the switch (--since): new ones call for a rollback"
                }
            ))];
            decision.contacts = contacts(policy);
            return decision;
        }
        decision.decision = Decision::Enforced;
        // Where the decision is read, not only in the policy's section
        // (walk34: ENFORCED under --no-recheck looked confirmed).
        if let Some(unchecked) = policy
            .notes
            .iter()
            .find(|n| n.starts_with("not rechecked ("))
            .or_else(|| {
                // A background: false policy's objects, which no scan judges.
                policy
                    .reasons
                    .iter()
                    .find(|r| r.starts_with("no evidence: a dry-run scan at "))
            })
        {
            decision.reasons = vec![shorten(unchecked)];
        } else if info.background_off {
            // verify36: nothing said that no scan checks such a policy.
            decision.reasons = vec![
                "background: false: no scan evaluates it, so the rollback conditions rest on admission alone"
                    .into(),
            ];
        } else if let Some(part) = info.admission_only.first() {
            // Nor of a part only admission sees (verifyImages, DELETE…).
            decision.reasons = vec![shorten(&format!(
                "no scan checks what only admission sees, so its rollback conditions do not cover it: {part}"
            ))];
        }
        // Violations where an Audit override keeps it in Audit: enforced
        // as far as its own action reaches, not clean there (walk44: the
        // row said ENFORCED beside "not ready, N failing").
        let audited: Vec<&Violation> = policy.violations.iter().filter(|v| !v.enforced()).collect();
        if let Some(first) = audited.first() {
            decision.reasons.push(shorten(&format!(
                "{} violation(s) where an Audit override keeps it in Audit ({}{}): fix them before enforcing there",
                audited.len(),
                first.resource,
                if audited.len() > 1 { ", …" } else { "" },
            )));
        }
        return decision;
    }
    match policy.verdict {
        // Violations of the previous package no result shows fixed (offline,
        // their manifests left out of the input; or out of a partial
        // scan's reach) may still be there: no GO on them (walk25 F12).
        Verdict::Ready if !unknown.is_empty() => {
            decision.decision = Decision::NoGo;
            decision.reasons = vec![shorten(&format!(
                "{} violation(s) of the previous package are not known to be fixed ({}{}): they may still be there — include their manifests, or rescan the cluster, and make the package again",
                unknown.len(),
                unknown[0].resource,
                unknown[0]
                    .reason
                    .as_deref()
                    .map(|why| format!(": {why}"))
                    .unwrap_or_default()
            ))];
        }
        Verdict::Ready => {
            decision.decision = Decision::Go;
            decision.instructions = promote_instructions(policy);
            decision.reasons = undocumented_exceptions(policy);
        }
        // Clean, but not for long enough (or the soak is unknown): WAIT
        // with what is left, no one to contact.
        Verdict::Wait => {
            decision.decision = Decision::Wait;
            decision.soak_left = Some(
                git_rules_differ(policy)
                    .map(|_| {
                        "the soak judged other rules than Git holds: reconcile, then soak again"
                            .to_string()
                    })
                    .or_else(|| policy.soak.as_ref().map(|soak| soak.summary.clone()))
                    .or_else(|| policy.reasons.first().cloned())
                    .unwrap_or_else(|| "the soak is not met".into()),
            );
            decision.reasons = undocumented_exceptions(policy);
        }
        // Reasons of the last scan alone (it failed, did not finish, was a
        // dry run, left no record): nothing is known to be wrong with the
        // policy or its resources — rescan, no team to contact (walk79: an
        // Audit policy NO-GO, its teams named, after a scan whose --policy
        // file was malformed).
        Verdict::NotReady | Verdict::NoEvidence
            if !policy.reasons.is_empty() && policy.reasons.iter().all(|r| is_scan_reason(r)) =>
        {
            decision.decision = Decision::Rescan;
            decision.reasons = vec![shorten(&policy.reasons[0])];
            decision.instructions = vec![
                "once the cause is fixed, scan again with a record (polscan scan --last-run-configmap, as the CronJob runs it; offline, polscan apply --run-record), then make the package again: the last scan judged nothing".into(),
            ];
        }
        Verdict::NotReady | Verdict::NoEvidence => {
            decision.decision = Decision::NoGo;
            decision.reasons = policy
                .reasons
                .iter()
                .take(REASONS_SHOWN)
                .map(|r| shorten(r))
                .collect();
            if policy.reasons.len() > REASONS_SHOWN {
                decision.reasons.push(format!(
                    "… and {} more (the policy's section)",
                    policy.reasons.len() - REASONS_SHOWN
                ));
            }
            decision.contacts = contacts(policy);
        }
    }
    decision
}

/// A reason about the last scan, not the policy: it failed, did not
/// finish, was a dry run, or left no record (`verdict::reasons`).
fn is_scan_reason(reason: &str) -> bool {
    [
        "the last scan failed: ",
        "the last scan did not finish (",
        "the last scan was a dry run",
        "no record of the scan the reports come from",
    ]
    .iter()
    .any(|prefix| reason.starts_with(prefix))
}

/// GO, WAIT: the PolicyExceptions the verdict rests on that do not say who
/// answers for them, why, or until when (no objection: Kyverno applies
/// them all the same).
fn undocumented_exceptions(policy: &PolicyEvidence) -> Vec<String> {
    policy
        .undocumented_exceptions
        .iter()
        .map(|line| shorten(line))
        .collect()
}

/// The problem of a Git change whose rules are not the soaked ones.
fn git_rules_differ(policy: &PolicyEvidence) -> Option<&str> {
    policy
        .git_change
        .as_ref()
        .filter(|change| change.rules_differ)
        .and_then(|change| change.problem.as_deref())
}

/// Whether a rollback condition is met, as far as this package can tell.
fn rollback_status(
    policy: &PolicyEvidence,
    check: Option<&RollbackCheck>,
    compared: bool,
) -> String {
    let enforced_violations = policy
        .violations
        .iter()
        .filter(|v| v.enforced() && &*v.result != "warn")
        .count();
    // Kyverno enforces nothing of a policy it never applies at admission.
    let violations = if enforced_violations > 0 && !policy.info.admission_off {
        format!("; {enforced_violations} violation(s) Kyverno enforces now (the policy's section)")
    } else {
        String::new()
    };
    match check {
        Some(check) if check.roll_back => "a rollback condition is met".to_string(),
        Some(check) if check.rescan.is_some() => format!(
            "not confirmed since the previous package: the last scan did not cover it (rescan; no rollback condition known){violations}"
        ),
        Some(_) => format!("no rollback condition met since the previous package{violations}"),
        None if compared => format!(
            "not checked: the previous package (--since) did not hold the policy{violations}"
        ),
        None => format!(
            "not checked: compare with the package of the switch (--since) to check the rollback conditions{violations}"
        ),
    }
}

/// GO: the Git patch with `--policy-repo` (Flux would revert an in-cluster
/// patch), else the kubectl Enforce command; where neither can be given,
/// why.
fn promote_instructions(policy: &PolicyEvidence) -> Vec<String> {
    if policy.git_promote().is_some() {
        return policy.promote_command().into_iter().collect();
    }
    let mut instructions = Vec::new();
    if let Some(problem) = policy.git_change.as_ref().and_then(|c| c.problem.as_ref()) {
        instructions.push(shorten(&format!("no Git patch: {problem}")));
    }
    match (&policy.info.flux_owner, policy.enforce_change()) {
        (Some(owner), _) => instructions.push(format!(
            "change the action in Git: Flux ({owner}) reverts a kubectl patch{}",
            if policy.git_change.is_none() {
                " (`polscan evidence --policy-repo <checkout>` writes the patch)"
            } else {
                ""
            }
        )),
        // Git holds it: a kubectl patch would be undone by whatever
        // applies Git (walk49 W49-2: a bare kubectl patch for a policy
        // polscan had found in a chart).
        (None, Some(enforce))
            if policy
                .git_change
                .as_ref()
                .is_some_and(|c| c.problem.is_some() && !c.git_files.is_empty()) =>
        {
            let files = policy
                .git_change
                .as_ref()
                .map(|c| c.git_files.join(", "))
                .unwrap_or_default();
            instructions.push(format!(
                "change the action in Git by hand, for this cluster alone (the policy is in {files}; the reason above says what else reads it): Flux or Argo CD reverts a kubectl patch; only without GitOps: {}",
                enforce.command
            ));
        }
        (None, Some(enforce)) => instructions.push(enforce.command.clone()),
        (None, None) => instructions
            .push("no Enforce command is known for this policy (its section says why)".into()),
    }
    instructions
}

/// RESCAN: what to do; nothing calls for a rollback.
const RESCAN_INSTRUCTION: &str = "rescan (polscan scan, as the CronJob runs it), then make the package again with the same --since; no rollback until a scan confirms what changed";

/// ROLL BACK: the Git rollback patch with `--policy-repo`, else the
/// kubectl rollback command.
fn rollback_instructions(policy: &PolicyEvidence) -> Vec<String> {
    let mut instructions = vec![policy.rollback_command().unwrap_or_else(|| {
        "no rollback command is known for this policy (its section says why)".into()
    })];
    // No Git patch for a policy Git holds: the kubectl rollback lasts
    // until a reconciliation (verify53 V53-11).
    if let Some(change) = policy
        .git_change
        .as_ref()
        .filter(|c| c.rollback.is_none() && c.problem.is_some() && !c.git_files.is_empty())
    {
        instructions.push(format!(
            "no Git patch to roll back with: a reconciliation reverts the command above; set the action to Audit in Git by hand too, for this cluster (the policy is in {})",
            change.git_files.join(", ")
        ));
    }
    // A failing rule Git enforces on its own stays enforced after the
    // patch (verify48 V48-17: the rollback did not end the denial).
    let kept = policy.failing_rules_kept_by_rollback();
    if !kept.is_empty() {
        instructions.push(format!(
            "rule(s) {} fail and stay enforced after rollback.patch (Git enforces them on their own, not through the switch): set their action to Audit in Git too{}",
            kept.join(", "),
            policy
                .info
                .rollback
                .as_ref()
                .map(|r| format!(" (for now: {}; Flux reverts it at its next reconciliation)", r.command))
                .unwrap_or_default()
        ));
    }
    instructions
}

/// NO-GO: whom to contact — the teams the owner labels route violations
/// to (`--owner-label`), then, for violations no label routes, per
/// namespace the violating resources' owners and their violations.
fn contacts(policy: &PolicyEvidence) -> Vec<String> {
    let teams = policy.teams();
    let mut contacts: Vec<String> = teams
        .iter()
        .take(TEAMS_SHOWN)
        .map(|t| {
            // Named by the label it was read from: an `owner: bob` label
            // is no team (walk46 F6).
            let label = t.labels.iter().cloned().collect::<Vec<_>>().join("/");
            format!(
                "{} {}: {} violation(s) of {} owner(s)",
                if label.is_empty() {
                    "team".to_string()
                } else {
                    label
                },
                t.team,
                t.violations,
                t.owners
            )
        })
        .collect();
    if teams.len() > TEAMS_SHOWN {
        contacts.push(format!("… and {} more team(s)", teams.len() - TEAMS_SHOWN));
    }
    let mut by_namespace: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for group in policy.owner_groups() {
        let unrouted = group.violations.iter().filter(|v| v.team.is_none()).count();
        if unrouted == 0 {
            continue;
        }
        by_namespace
            .entry(group.owner.namespace.as_str())
            .or_default()
            .push(format!(
                "{}/{} ({unrouted})",
                group.owner.kind, group.owner.name
            ));
    }
    contacts.extend(
        by_namespace
            .iter()
            .take(NAMESPACES_SHOWN)
            .map(|(namespace, owners)| {
                let shown = some_of(owners, OWNERS_SHOWN);
                if namespace.is_empty() {
                    format!("cluster-scoped: {shown}")
                } else {
                    format!("namespace {namespace}: {shown}")
                }
            }),
    );
    if by_namespace.len() > NAMESPACES_SHOWN {
        contacts.push(format!(
            "… and {} more namespace(s)",
            by_namespace.len() - NAMESPACES_SHOWN
        ));
    }
    contacts
}

/// A reason cut at a word to [`REASON_CHARS`], with `…`.
fn shorten(text: &str) -> String {
    if text.chars().count() <= REASON_CHARS {
        return text.to_string();
    }
    // What to do ends most reasons (": rescan with …", "; fix them"): kept
    // whole after the cut head (walk31 F13: the one table people read lost
    // it).
    const ACTIONS: [&str; 14] = [
        "rescan",
        "scan ",
        "fix ",
        "remove ",
        "apply ",
        "set ",
        "give ",
        "move ",
        "make ",
        "widen ",
        "reconcile",
        "include ",
        "run ",
        "label ",
    ];
    let action = [": ", "; ", " — "]
        .iter()
        .filter_map(|separator| {
            let (at, _) = text.rmatch_indices(separator).next()?;
            let tail = &text[at + separator.len()..];
            ACTIONS
                .iter()
                .any(|verb| tail.starts_with(verb))
                .then_some((at, tail))
        })
        .max_by_key(|(at, _)| *at)
        .filter(|(_, tail)| tail.chars().count() <= REASON_CHARS / 2);
    let (budget, tail) = match action {
        Some((_, tail)) => (REASON_CHARS - tail.chars().count() - 3, Some(tail)),
        None => (REASON_CHARS, None),
    };
    let cut: String = text.chars().take(budget).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > budget / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    let head = cut.trim_end_matches([',', ';', ':']);
    match tail {
        Some(tail) => format!("{head}… {tail}"),
        None => format!("{head}…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// walk31 F13: a long reason kept its head and lost what to do.
    #[test]
    fn a_shortened_reason_keeps_what_to_do() {
        let long = "polscan's reports hold results of this policy newer than the last recorded scan (polscan-system/polscan-last-run): a later scan wrote no record, so what it covered and whether it completed are not known: rescan with --last-run-configmap polscan-system/polscan-last-run";
        let short = shorten(long);
        assert!(short.chars().count() <= REASON_CHARS, "{short}");
        assert!(
            short.starts_with("polscan's reports hold results")
                && short.ends_with(
                    "… rescan with --last-run-configmap polscan-system/polscan-last-run"
                ),
            "{short}"
        );
        // No action at its end: cut as before.
        let plain = "x ".repeat(120);
        let short = shorten(&plain);
        assert!(
            short.ends_with('…') && short.chars().count() <= REASON_CHARS + 1,
            "{short}"
        );
        assert_eq!(shorten("short: rescan"), "short: rescan");
    }
}
