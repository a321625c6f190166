//! Comparing evidence with a previous package (`--since`): the previous and
//! the current [`Evidence`] enter; new and fixed violations (a violation
//! the current reports lack is fixed only when the scan behind them covered
//! its kind and policy completely, else its fix is unknown), new, expired
//! and removed exceptions, for every enforced policy whether its rollback
//! conditions are met (counting only violations Kyverno enforces — per
//! rule and namespace) or, where the scan's gaps can affect the policy,
//! that only a rescan can confirm it (no rollback: nothing is known to
//! have changed), and for every other policy whether it is still ready to
//! enforce, leave, as a [`Comparison`] (its shape is [`crate::model`]'s). Policies either
//! package filtered out (`--policy`) are left out. Where a policy's rules
//! changed between the packages ([`rules`]), the violations of the changed
//! rules that are gone are the change's, not fixes; those new stay new (to
//! Kyverno they are) and are named as the change's too.

pub(crate) mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::exceptions::{ExceptionEvidence, ExceptionStatus};
use crate::ingest::record::left_out_kinds;
use crate::ingest::{wanted_policy, ObjectName};
use crate::model::{
    Comparison, ConditionCheck, Evidence, ExceptionScopeChange, PolicyEvidence, ReadinessCheck,
    RollbackCheck, RuleChange, RuleChangeStatus, Verdict, Violation, ViolationChange,
};
use polscan_engine::exceptions::annotation::base_rule;

/// The change of PolicyExceptions applied between the two packages'
/// scans; None when both scans applied the same (or either package has
/// no scan record).
fn exception_scope_change(previous: &Evidence, current: &Evidence) -> Option<ExceptionScopeChange> {
    let (before, now) = (previous.scan.as_ref()?, current.scan.as_ref()?);
    (before.policy_exceptions != now.policy_exceptions).then(|| ExceptionScopeChange {
        previous: before.exceptions_statement(),
        current: now.exceptions_statement(),
    })
}

/// What Kyverno counts as a violation, by key, with its policy's name, of
/// the policies `wanted` keeps: the plain ones, or (`annotation_only`)
/// those excused only by a polscan.io/exception annotation, which Kyverno
/// does not read. Borrowed: both packages may hold tens of thousands, and
/// only the changed ones become [`ViolationChange`]s.
fn violations<'a>(
    evidence: &'a Evidence,
    wanted: &dyn Fn(&PolicyEvidence) -> bool,
    annotation_only: bool,
) -> BTreeMap<String, (Arc<str>, &'a Violation)> {
    let mut found = BTreeMap::new();
    for policy in evidence.policies.iter().filter(|p| wanted(p)) {
        let name: Arc<str> = policy.info.qualified_name().into();
        // A warning is no violation, unless the policy is unscored: then
        // it is a failure reported as `warn`.
        let plain = policy
            .violations
            .iter()
            .filter(|v| !annotation_only && (&*v.result != "warn" || policy.info.unscored));
        let annotated = policy
            .excused
            .iter()
            .filter(|v| annotation_only && v.annotation_only);
        for violation in plain.chain(annotated) {
            found.insert(violation.key(&name), (name.clone(), violation));
        }
    }
    found
}

/// Why an annotation's skip is still a violation.
const ANNOTATION_ONLY: &str = "skipped only by a polscan.io/exception annotation, which Kyverno's admission does not read: still a violation to Kyverno";

/// A fixed violation its polscan.io/exception annotation still skips.
const STILL_ANNOTATED: &str =
    "passes now; its polscan.io/exception annotation still skips it and is no longer needed";

/// Why a violation gone with its rule changed is not counted as fixed.
const RULES_CHANGED: &str =
    "its rule changed since the previous package: gone by the rule change, not by a fix in the manifests";
/// Why a violation gone from a policy changed since a package that did
/// not record its rules is not known to be fixed.
const NOT_RECORDED: &str = "the policy changed since the previous package, which did not record its rules: it may be gone by a rule change, not by a fix";
/// Why a violation gone from a policy the previous package had no document
/// of is not known to be fixed (walk69 W69-2: it read "the policy
/// changed", which nothing showed).
const NOT_KNOWN_BEFORE: &str = "the previous package did not have the policy's document (not found in the cluster, nor given with --policies-from), so whether its rules changed since cannot be told: it may be gone by a rule change, not by a fix";

fn change(policy: &str, violation: &Violation, reason: Option<String>) -> ViolationChange {
    ViolationChange {
        policy: policy.to_string(),
        rule: violation.rule.to_string(),
        result: violation.result.to_string(),
        resource: violation.resource.to_string(),
        reason,
        action: violation.action.to_string(),
    }
}

/// Why `previous` cannot be the package `current` is compared with: one
/// of another cluster (their kube-system UIDs differ) or of another source
/// (an audit of files against a cluster's). Its violations and actions
/// are not this cluster's history, so "new", "fixed" and every rollback
/// condition would be read across two different universes (walk34: an
/// offline package as `--since` turned a ROLL BACK into ENFORCED). None
/// when they can be compared.
pub fn lineage_problem(previous: &Evidence, current: &Evidence) -> Option<String> {
    let (before, now) = (&previous.cluster, &current.cluster);
    if before.source != now.source {
        return Some(format!(
            "the previous package is of {} and this one of {}: a comparison needs two packages of the same cluster (or of the same files)",
            source_words(&before.source),
            source_words(&now.source)
        ));
    }
    match (&before.kube_system_uid, &now.kube_system_uid) {
        (Some(a), Some(b)) if a != b => Some(format!(
            "the previous package is of another cluster (kube-system UID {a}, this one {b}): a comparison needs two packages of the same cluster"
        )),
        _ => None,
    }
}

fn source_words(source: &str) -> String {
    match source {
        "files" => "an audit of files (--from)".into(),
        "cluster" => "a cluster".into(),
        other => format!("source {other:?}"),
    }
}

/// Compares `current` with `previous`, taking every violation gone from
/// the reports of a complete scan as fixed ([`compare_with`] tells those
/// the policy still evaluates from those it no longer does).
pub fn compare(previous: &Evidence, current: &Evidence) -> Comparison {
    compare_with(previous, current, &|_, _, _| None)
}

/// Compares `current` with `previous`. `why_not_fixed(policy, rule,
/// resource)` (`ReportResults::why_not_fixed` of the current reports):
/// why a violation gone from the reports of a complete scan is still not
/// known to be fixed (its resource left the policy's scope, or may have);
/// None when it is fixed.
pub fn compare_with(
    previous: &Evidence,
    current: &Evidence,
    why_not_fixed: &dyn Fn(&str, &str, &ObjectName) -> Option<&'static str>,
) -> Comparison {
    // A policy either package filtered out was not looked at in it: its
    // violations are neither new nor fixed nor unknown.
    let wanted = |p: &PolicyEvidence| {
        wanted_policy(&previous.policy_filter, &p.info)
            && wanted_policy(&current.policy_filter, &p.info)
    };
    // Per policy in both packages whose rules or actions changed: the
    // change, and which rules it may make judge otherwise.
    let previous_infos: BTreeMap<String, &PolicyEvidence> = previous
        .policies
        .iter()
        .map(|p| (p.info.qualified_name(), p))
        .collect();
    let mut rule_changes: BTreeMap<String, (RuleChange, Option<rules::Affected>)> = current
        .policies
        .iter()
        .filter(|p| wanted(p))
        .filter_map(|p| {
            let name = p.info.qualified_name();
            let diffed = rules::diff(&previous_infos.get(&name)?.info, &p.info)?;
            Some((name, (diffed.change, diffed.affected)))
        })
        .collect();
    // A changed policy the last scan could not load judged nothing: the
    // results are its earlier rules' (walk69 W69-5: a violation "added by
    // the change" of an invalid policy).
    let not_loaded = |policy: &str| {
        current
            .scan
            .as_ref()
            .is_some_and(|scan| scan.invalid_policies.iter().any(|p| p == policy))
    };
    for (policy, (change, affected)) in rule_changes.iter_mut() {
        if change.status == RuleChangeStatus::Changed && not_loaded(policy) {
            change.note = Some(rules::NOT_LOADED_BY_THE_LAST_SCAN.to_string());
            *affected = None;
        }
    }
    let affected_by_rules = |policy: &str, rule: &str| -> Option<RuleChangeStatus> {
        let (change, affected) = rule_changes.get(policy)?;
        affected
            .as_ref()
            .filter(|a| a.covers(rule))
            .map(|_| change.status)
    };
    let before = violations(previous, &wanted, false);
    let after = violations(current, &wanted, false);
    // A fail excused only by a polscan.io/exception annotation is still a
    // violation to Kyverno, which does not read the annotation.
    let annotation_before = violations(previous, &wanted, true);
    let annotation_after = violations(current, &wanted, true);
    // Excused only by an annotation before and a plain fail now is the
    // same violation to Kyverno: not new.
    let mut new_violations: Vec<ViolationChange> = after
        .iter()
        .filter(|(key, _)| !before.contains_key(*key) && !annotation_before.contains_key(*key))
        .map(|(_, (policy, violation))| change(policy, violation, None))
        .collect();
    new_violations.extend(
        annotation_after
            .iter()
            .filter(|(key, _)| !before.contains_key(*key) && !annotation_before.contains_key(*key))
            .map(|(_, (policy, violation))| {
                change(policy, violation, Some(ANNOTATION_ONLY.into()))
            }),
    );
    let mut fixed_violations = Vec::new();
    let mut unknown_violations = Vec::new();
    let mut removed_by_rules: Vec<(String, ViolationChange)> = Vec::new();
    let mut excused_violations = Vec::new();
    // Skipped by an exception now, by key: true when only by an
    // annotation over a result that passes — no violation to Kyverno, so
    // not excused but gone as any fix is.
    // And by policy and resource, a CEL PolicyException's skip (its rule
    // `exception` stands for the policy's whole result on the resource).
    let mut excused_now: BTreeMap<String, bool> = BTreeMap::new();
    let mut excused_cel: BTreeMap<String, bool> = BTreeMap::new();
    for policy in current.policies.iter().filter(|p| wanted(p)) {
        let name = policy.info.qualified_name();
        for excused in &policy.excused {
            excused_now.insert(excused.key(&name), excused.passes_under_annotation());
            if &*excused.rule == crate::exceptions::CEL_EXCEPTION_RULE {
                excused_cel.insert(format!("{name}|{}", excused.resource), false);
            }
        }
    }
    // What Kyverno saw as a violation before (plain, or excused only by an
    // annotation) and neither is now: excused, fixed or unknown.
    for (key, (policy, violation)) in before.iter().chain(&annotation_before) {
        if after.contains_key(key) {
            continue;
        }
        if annotation_before.contains_key(key) && annotation_after.contains_key(key) {
            continue;
        }
        if annotation_after.contains_key(key) {
            excused_violations.push(change(policy, violation, Some(ANNOTATION_ONLY.into())));
            continue;
        }
        // A CEL PolicyException's skip stands in for the policy's whole
        // result on the resource, under rule `exception` (walk39 F1: the
        // fail, under the policy's own rule, read "left the policy's
        // scope").
        let excused_whole = excused_cel
            .get(&format!("{policy}|{}", violation.resource))
            .copied();
        let excused_now = excused_now.get(key).copied().or(excused_whole);
        let passes_under_annotation = excused_now == Some(true);
        if excused_now == Some(false) {
            excused_violations.push(change(
                policy,
                violation,
                Some("now skipped by an exception".into()),
            ));
            continue;
        }
        match current.absence_gap(policy, &violation.resource) {
            None => match (
                affected_by_rules(policy, &violation.rule),
                why_not_fixed(policy, &violation.rule, &violation.resource),
            ) {
                // Gone with its rule changed: the rule's doing as far as
                // can be told, not a fix in the manifests — also when the
                // resource left the rule's scope, which a changed match or
                // exclude does.
                (Some(RuleChangeStatus::Changed), _) => removed_by_rules.push((
                    policy.to_string(),
                    change(policy, violation, Some(RULES_CHANGED.into())),
                )),
                (_, Some(why)) => {
                    unknown_violations.push(change(policy, violation, Some(why.into())))
                }
                (Some(RuleChangeStatus::NotRecorded), None) => {
                    let unknown_then = rule_changes.get(&**policy).is_some_and(|(change, _)| {
                        change.note.as_deref() == Some(rules::NO_DOCUMENT_BEFORE)
                    });
                    let why = if unknown_then {
                        NOT_KNOWN_BEFORE
                    } else {
                        NOT_RECORDED
                    };
                    unknown_violations.push(change(policy, violation, Some(why.into())))
                }
                (Some(_), None) => removed_by_rules.push((
                    policy.to_string(),
                    change(policy, violation, Some(RULES_CHANGED.into())),
                )),
                (None, None) => fixed_violations.push(change(
                    policy,
                    violation,
                    passes_under_annotation.then(|| STILL_ANNOTATED.into()),
                )),
            },
            Some(reason) => unknown_violations.push(change(policy, violation, Some(reason))),
        }
    }
    let added_by_rules: Vec<(String, ViolationChange)> = new_violations
        .iter()
        .filter(|v| affected_by_rules(&v.policy, &v.rule) == Some(RuleChangeStatus::Changed))
        .map(|v| (v.policy.clone(), v.clone()))
        .collect();
    for (policy, violation) in removed_by_rules {
        if let Some((change, _)) = rule_changes.get_mut(&policy) {
            change.removed_violations.push(violation);
        }
    }
    for (policy, violation) in added_by_rules {
        if let Some((change, _)) = rule_changes.get_mut(&policy) {
            change.added_violations.push(violation);
        }
    }
    // With a --policy filter on either side, only the exceptions of the
    // policies both kept are compared (the other package may list others).
    let filtered = !previous.policy_filter.is_empty() || !current.policy_filter.is_empty();
    let compared: Vec<String> = previous
        .policies
        .iter()
        .chain(&current.policies)
        .filter(|p| wanted(p))
        .map(|p| p.info.qualified_name())
        .collect();
    let relevant = |e: &&ExceptionEvidence| !filtered || compared.iter().any(|name| e.covers(name));
    let previous_exceptions: BTreeMap<String, ExceptionStatus> = previous
        .exceptions
        .iter()
        .filter(relevant)
        .map(|e| (e.key(), e.status))
        .collect();
    let new_exceptions = current
        .exceptions
        .iter()
        .filter(relevant)
        .filter(|e| !previous_exceptions.contains_key(&e.key()))
        .map(|e| match &e.policy_exception_file {
            // New to polscan, but no bypass to Kyverno: what it skips is
            // among the new violations too (walk74 W74-5: counted in both
            // with nothing saying why).
            Some(_) => format!(
                "{} {} (a bypass to polscan only: Kyverno's admission does not read it, so what it skips is a violation to Kyverno)",
                e.source, e.name
            ),
            None => format!("{} {}", e.source, e.name),
        })
        .collect();
    // By source and name: an exception whose content changed is no removal.
    let current_names: BTreeSet<(&str, &str)> = current
        .exceptions
        .iter()
        .map(|e| (e.source.as_str(), e.name.as_str()))
        .collect();
    let removed_exceptions = previous
        .exceptions
        .iter()
        .filter(relevant)
        .filter(|e| !current_names.contains(&(e.source.as_str(), e.name.as_str())))
        .map(|e| format!("{} {}", e.source, e.name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let expired_exceptions = current
        .exceptions
        .iter()
        .filter(relevant)
        .filter(|e| {
            e.status == ExceptionStatus::Expired
                && previous_exceptions.get(&e.key()) != Some(&ExceptionStatus::Expired)
        })
        .map(|e| format!("{} {}", e.source, e.name))
        .collect();

    let scope_change = exception_scope_change(previous, current);
    // The PolicyExceptions each scan applied to a policy: with another
    // exception scope, those may differ while the cluster did not change.
    let applied = |evidence: &Evidence, name: &str| -> BTreeSet<String> {
        evidence
            .exceptions
            .iter()
            .filter(|e| e.source == "PolicyException" && e.problem.is_none() && e.covers(name))
            .map(|e| e.name.clone())
            .collect()
    };
    // Exceptions applied before and not now: what they skipped may be
    // enforced now. (Newly applied ones only skip more.)
    let no_longer_applied = |name: &str| -> Vec<String> {
        if scope_change.is_none() {
            return Vec::new();
        }
        let now = applied(current, name);
        applied(previous, name)
            .into_iter()
            .filter(|e| !now.contains(e))
            .collect()
    };
    let scope_changed_for =
        |name: &str| scope_change.is_some() && applied(previous, name) != applied(current, name);
    let scope_reason = |change: &ExceptionScopeChange| {
        format!(
            "the scans applied different PolicyExceptions (before: {}; now: {}): its skipped results are not compared like with like",
            change.previous, change.current
        )
    };

    let previous_verdicts: BTreeMap<String, Verdict> = previous
        .policies
        .iter()
        .map(|p| (p.info.qualified_name(), p.verdict))
        .collect();
    let mut rollback_checks = Vec::new();
    let mut readiness_checks = Vec::new();
    for policy in &current.policies {
        let name = policy.info.qualified_name();
        let Some(previous_verdict) = previous_verdicts.get(&name).copied() else {
            continue;
        };
        // Only what Kyverno enforces can be rolled back; a policy in Audit
        // (or one not found, or of a kind the cluster does not serve:
        // nothing here enforces it — verify35) is asked whether it would
        // still be ready.
        if !policy.info.enforces() || policy.unserved() {
            let mut reasons = policy.reasons.clone();
            let changed = scope_changed_for(&name);
            if let (true, Some(change)) = (changed, &scope_change) {
                reasons.push(scope_reason(change));
            }
            readiness_checks.push(ReadinessCheck {
                policy: name,
                action: policy.info.action.clone(),
                previous_verdict,
                verdict: policy.verdict,
                still_ready: previous_verdict == Verdict::Ready
                    && policy.verdict == Verdict::Ready
                    && !changed,
                reasons,
            });
            continue;
        }
        let enforced = enforced_rules(policy);
        // Only what Kyverno rejects: the violation's own action, resolved
        // per namespace (an override may enforce in some namespaces only).
        let new_for_policy: Vec<&ViolationChange> = new_violations
            .iter()
            .filter(|v| v.policy == name && v.action == "Enforce")
            .collect();
        let gaps = current.scan.as_ref().map(|scan| {
            let mut gaps = scan.incomplete_for(&policy.info);
            // Namespaces this scan left out: Kyverno enforces the policy
            // there all the same, whether or not the previous scan covered
            // them (verify30 N6: the same `--namespace` gap in both read
            // ENFORCED, with a new violating Pod no scan looked at).
            if let Some(uncovered) = scan.uncovered_namespaces(&policy.info) {
                let narrowed = previous
                    .scan
                    .as_ref()
                    .is_none_or(|before| scan.covers_less_than(before, &policy.info));
                gaps.push(if narrowed {
                    format!("the scan did not cover {uncovered}, which the previous scan did")
                } else {
                    format!("the scan did not cover {uncovered}, nor did the previous one")
                });
            }
            // Kinds left out now (--include-kinds, --exclude-kinds, a
            // Secret not named): whether or not the previous scan listed
            // them, nothing confirms the policy there (verify26; verify29
            // V9: the same gap in both scans read ENFORCED, no rollback
            // condition met, with a new violating Pod no scan had seen).
            let reached = scan.kinds_to_check(&policy.info, &policy.reached_kinds());
            let kinds = left_out_kinds(&reached, scan);
            if !kinds.is_empty() {
                let narrowed = previous
                    .scan
                    .as_ref()
                    .and_then(|before| scan.kinds_narrowed_from(before, &reached));
                gaps.push(match narrowed {
                    Some(narrowed) => {
                        format!("the scan did not cover {narrowed}, which the previous scan did")
                    }
                    None => format!(
                        "the scan did not cover {}{}",
                        crate::ingest::record::kinds_phrase(&kinds),
                        if previous.scan.is_some() {
                            ", nor did the previous one"
                        } else {
                            ""
                        }
                    ),
                });
            }
            gaps
        });
        // Only an expiry Kyverno acts on (a CEL PolicyException's
        // `expiresAt`) changes what it enforces; one polscan's annotation
        // gives is a date to renew or remove the exception by, no reason to
        // roll back (walk43: ROLL BACK for an exception Kyverno still
        // applied).
        let (covering, noted): (BTreeSet<String>, BTreeSet<String>) = current
            .exceptions
            .iter()
            .filter(|e| {
                // An annotation names its resource: its expiry matters only
                // where Kyverno enforces the rule on that resource. (A
                // PolicyException's resources are not known here: counted.)
                let enforced_on_it = |rule: &String| match &e.resource {
                    Some(resource) => {
                        policy.info.action_for(rule, &resource.namespace) == "Enforce"
                    }
                    None => true,
                };
                // One the scan did not apply skips nothing: its expiry
                // changes nothing.
                !e.not_applied()
                    && enforced
                        .iter()
                        .any(|rule| e.covers_rule(&name, rule) && enforced_on_it(rule))
                    && matches!(
                        e.status,
                        ExceptionStatus::Expiring | ExceptionStatus::Expired
                    )
            })
            .map(|e| {
                (
                    e.expiry_by_kyverno,
                    format!("{} {} ({:?})", e.source, e.name, e.status).to_lowercase(),
                )
            })
            .fold(
                Default::default(),
                |(mut kyverno, mut polscan), (by_kyverno, text)| {
                    if by_kyverno {
                        kyverno.insert(text);
                    } else {
                        polscan.insert(text);
                    }
                    (kyverno, polscan)
                },
            );
        // A violator the evidence's dry-run recheck found since the scan is
        // a new fail too (walk34: the decision read ROLL BACK, this
        // checklist "no rollback condition met").
        let rechecked = policy
            .reasons
            .iter()
            .find(|r| crate::verdict::recheck::is_new_failures_reason(r));
        let mut new_fails: Vec<String> = new_for_policy.iter().map(|v| v.describe()).collect();
        if let Some(found) = rechecked {
            new_fails.push(format!("the evidence's recheck: {found}"));
        }
        // A ValidatingAdmissionPolicy is enforced by the API server.
        let enforcer = if policy.info.kind == "ValidatingAdmissionPolicy" {
            "the API server"
        } else {
            "Kyverno"
        };
        let conditions = vec![
            ConditionCheck {
                condition: format!(
                    "a new fail or error result {enforcer} enforces (its rule's action in its namespace)"
                ),
                met: !new_fails.is_empty(),
                detail: if new_fails.is_empty() {
                    "none".into()
                } else {
                    new_fails.join("; ")
                },
            },
            ConditionCheck {
                condition:
                    "a PolicyException its skipped results rest on deleted, changed or not applied since the scan (rescan)"
                        .into(),
                met: !policy.stale_exceptions.is_empty(),
                detail: if policy.stale_exceptions.is_empty() {
                    "none".into()
                } else {
                    policy.stale_exceptions.join(", ")
                },
            },
            {
                let dropped = no_longer_applied(&name);
                ConditionCheck {
                    condition: "a PolicyException the previous package's scan applied that this scan did not (Kyverno's --exceptionNamespace, or the scan's, changed)".into(),
                    met: !dropped.is_empty(),
                    detail: match &scope_change {
                        Some(change) if !dropped.is_empty() => {
                            format!("{}: {}", dropped.join(", "), scope_reason(change))
                        }
                        Some(_) => "the exception scope changed, but every PolicyException applied to this policy before still is".into(),
                        None => "none".into(),
                    },
                }
            },
            {
                // A ROLL BACK of the previous package not acted on: its
                // violations were no "new" ones here, so nothing else would
                // still call for it (walk32 F2: ENFORCED again, the violator
                // still there).
                // A previous package that did not check the rollback (made
                // without --since) cleared nothing either (walk34: one such
                // package in the chain turned ROLL BACK into ENFORCED, the
                // violator still there).
                let unacted = previous.decisions.iter().any(|d| {
                    d.policy == name
                        && (d.decision == crate::model::Decision::RollBack
                            || (d.decision == crate::model::Decision::Enforced
                                && d.rollback_status
                                    .as_deref()
                                    .is_some_and(|s| s.starts_with("not checked"))))
                });
                // A fail only a polscan.io/exception annotation skips is
                // one to Kyverno too (walk74 W74-1: the ROLL BACK it called
                // for turned ENFORCED in the next package).
                let standing: Vec<String> = policy
                    .kyverno_enforced_violations()
                    .map(|v| match v.annotation_only {
                        true => format!(
                            "{} fail to Kyverno, skipped only by a polscan.io/exception annotation ({})",
                            v.resource, v.rule
                        ),
                        false => format!("{} {} ({})", v.resource, v.result, v.rule),
                    })
                    .take(3)
                    .collect();
                ConditionCheck {
                    condition: "a rollback the previous package called for (or did not check, made without --since), not acted on: the policy still enforces, on violations that are still there".into(),
                    met: unacted && !standing.is_empty(),
                    detail: if unacted && !standing.is_empty() {
                        standing.join("; ")
                    } else {
                        "none".into()
                    },
                }
            },
            ConditionCheck {
                condition: "an exception for this policy that Kyverno stops applying (a CEL PolicyException's expiresAt) expiring or expired".into(),
                met: !covering.is_empty(),
                detail: match (covering.is_empty(), noted.is_empty()) {
                    (false, _) => covering.into_iter().collect::<Vec<_>>().join("; "),
                    (true, true) => "none".into(),
                    (true, false) => format!(
                        "none; by polscan.io/exception-expires only, which Kyverno does not read (a PolicyException with it still applies after the date, and Kyverno never applies a resource's polscan.io/exception annotation at all: renew the date, or fix what they excuse and remove them): {}",
                        noted.into_iter().collect::<Vec<_>>().join("; ")
                    ),
                },
            },
        ];
        // A scan that did not cover the policy confirms nothing, but shows
        // no change either: RESCAN, not a rollback of enforcement. What
        // the conditions above found (from what was scanned, and the
        // exceptions read now) still rolls back.
        let rescan = match gaps {
            Some(gaps) if gaps.is_empty() => None,
            Some(gaps) => Some(gaps.join("; ")),
            None => Some("no scan record: nothing shows what the cluster holds now".into()),
        };
        rollback_checks.push(RollbackCheck {
            policy: name,
            action: policy.info.action.clone(),
            previous_verdict,
            roll_back: conditions.iter().any(|c| c.met),
            conditions,
            rescan,
        });
    }
    let current_found: BTreeSet<String> = current
        .policies
        .iter()
        .filter(|p| p.found)
        .map(|p| p.info.qualified_name())
        .collect();
    let removed_policies = previous
        .policies
        .iter()
        .filter(|p| p.found && wanted(p))
        .map(|p| p.info.qualified_name())
        .filter(|name| !current_found.contains(name))
        .collect();
    let not_compared = current
        .policies
        .iter()
        .filter(|p| wanted_policy(&current.policy_filter, &p.info) && !wanted(p))
        .map(|p| p.info.qualified_name())
        .collect();
    Comparison {
        previous_generated: previous.generated,
        exception_scope_change: scope_change,
        not_compared,
        excused_violations,
        new_violations,
        fixed_violations,
        unknown_violations,
        new_exceptions,
        expired_exceptions,
        removed_exceptions,
        removed_policies,
        rollback_checks,
        readiness_checks,
        rule_changes: rule_changes.into_values().map(|(c, _)| c).collect(),
    }
}

/// The rules of a policy Kyverno enforces somewhere (by base name: autogen
/// variants act as the rule they come from). Results of a rule the policy
/// document does not list (only reports name it) follow the policy's action.
fn enforced_rules(policy: &PolicyEvidence) -> BTreeSet<String> {
    let mut rules: BTreeSet<String> = policy
        .info
        .rules
        .iter()
        .filter(|r| matches!(r.action.as_str(), "Enforce" | "Mixed"))
        .map(|r| base_rule(&r.name).to_string())
        .collect();
    if policy.info.action == "Enforce" {
        rules.extend(
            policy
                .rule_evidence
                .iter()
                .map(|r| base_rule(&r.name).to_string()),
        );
    }
    rules
}
