//! The recheck at evidence time: what a dry-run scan of the cluster as it
//! is when the package is built found for the policies that would be
//! ready ([`Recheck`], gathered by polscan's CLI) enters; those verdicts
//! leave confirmed (a note), or changed: not ready when a resource created
//! or changed since the last recorded scan violates the policy now, wait
//! when the recheck could not cover the policy.
//!
//! Why: the reports are a snapshot of the last recorded scan, up to
//! `--max-scan-age` old. Kyverno's admission judges every CREATE and
//! UPDATE from the moment the policy enforces, so a violator that appeared
//! after the snapshot would be rejected at its next change — a GO the
//! snapshot alone cannot give.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::model::{Evidence, Verdict};

/// What the recheck found, per policy by its qualified name
/// (`namespace/name` for namespaced policies, as
/// [`crate::ingest::policy_info::PolicyInfo::qualified_name`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recheck {
    /// When the recheck scan started.
    pub at: Option<DateTime<Utc>>,
    /// Why it did not cover every resource (kinds whose LIST failed,
    /// policies that could not be read, a deadline); empty when it did.
    pub gaps: Vec<String>,
    /// The policies it evaluated.
    pub evaluated: BTreeSet<String>,
    /// Per policy its `fail`, `error` and `warn` results: how many, and
    /// the first few as `namespace/Kind/name (rule r: status)`.
    pub violations: BTreeMap<String, RecheckViolations>,
    /// Objects it listed per kind display name (`Pod`, `apps/Deployment`);
    /// None when not counted.
    pub objects_by_kind: Option<BTreeMap<String, usize>>,
    /// The same per namespace, then kind; None when not counted.
    pub objects_by_namespace: Option<BTreeMap<String, BTreeMap<String, usize>>>,
}

/// One policy's violations in the recheck.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckViolations {
    /// Results that are `fail`, `error` or `warn`.
    pub count: usize,
    /// The first of them, described.
    pub first: Vec<String>,
    /// Every one of them, for an enforced policy's: told from the
    /// violations the reports already hold, and judged by the action of
    /// its rule in its namespace. Empty when not kept.
    pub found: Vec<RecheckFinding>,
}

/// A violation the recheck found: where, by which rule, described as in
/// [`RecheckViolations::first`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckFinding {
    /// The resource's namespace; empty when cluster-scoped.
    pub namespace: String,
    /// Its kind (`Pod`).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The rule (empty for a CEL policy's).
    pub rule: String,
    /// `namespace/Kind/name (rule r: status)`.
    pub described: String,
}

/// How many violations a reason names.
pub const NAMED: usize = 3;

/// Changes the verdict of each ready policy of `evidence` by what
/// `recheck` found; other verdicts stay as they are (they are not GO).
pub fn apply(evidence: &mut Evidence, recheck: &Recheck) {
    let at = recheck
        .at
        .map(|at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "evidence time".into());
    let since = evidence
        .scan
        .as_ref()
        .and_then(|scan| scan.started)
        .map(|started| format!(" (started {})", started.format("%Y-%m-%dT%H:%M:%SZ")))
        .unwrap_or_default();
    for policy in &mut evidence.policies {
        // An enforced policy, whatever its verdict (verify35: one that had
        // a violator already was never rechecked for a new one).
        if policy.info.enforces() && !policy.unserved() && !policy.info.background_off {
            enforced(policy, recheck, &at, &since);
            continue;
        }
        if policy.verdict != Verdict::Ready {
            continue;
        }
        let name = policy.info.qualified_name();
        // A `background: false` policy is ready only with nothing in its
        // scope, and no scan evaluates it: the recheck counts its objects
        // instead (verify35: it claimed a check it never made, GO beside a
        // new object Kyverno's admission would judge).
        if policy.info.background_off && recheck.gaps.is_empty() {
            match objects_in_scope(policy, recheck) {
                Some(0) => policy.notes.push(format!(
                    "rechecked at {at} by a dry-run scan: still no object of its kinds (background: false: the recheck counts them, as no scan can judge them)"
                )),
                Some(found) => {
                    policy.verdict = Verdict::NoEvidence;
                    policy.reasons.push(format!(
                        "no evidence: a dry-run scan at {at} found {found} object(s) of its kinds where the last recorded scan{since} found none, and with background: false no scan judges them (Kyverno's admission would)"
                    ));
                }
                None => {
                    policy.verdict = Verdict::Wait;
                    policy.reasons.push(format!(
                        "the dry-run scan at {at} did not count the objects of this background: false policy's kinds: whether any exist now is unknown"
                    ));
                }
            }
            continue;
        }
        if let Some(found) = recheck.violations.get(&name).filter(|v| v.count > 0) {
            policy.verdict = Verdict::NotReady;
            let named: Vec<&str> = found.first.iter().map(String::as_str).collect();
            policy
                .reasons
                .push(new_failures_reason(&at, &since, found.count, &named));
        } else if !recheck.gaps.is_empty() {
            policy.verdict = Verdict::Wait;
            policy.reasons.push(format!(
                "the dry-run scan at {at} that checks what was created or changed since the last recorded scan did not complete ({}): whether anything violates the policy now is unknown; scan again (or build the evidence with --no-recheck to judge the last recorded scan alone)",
                recheck.gaps.join("; ")
            ));
        } else if !recheck.evaluated.contains(&name) {
            policy.verdict = Verdict::Wait;
            policy.reasons.push(format!(
                "the dry-run scan at {at} that checks what was created or changed since the last recorded scan did not evaluate this policy (not in the cluster now, nor given with --policies-from): whether anything violates it now is unknown"
            ));
        } else {
            policy.notes.push(format!(
                "rechecked at {at} by a dry-run scan: nothing created or changed since the last recorded scan violates it"
            ));
        }
    }
}

/// `first` of `count` things, as `a, b and 3 more`.
fn listed(first: &[&str], count: usize) -> String {
    let more = count.saturating_sub(first.len());
    if more > 0 {
        format!("{} and {more} more", first.join(", "))
    } else {
        first.join(", ")
    }
}

/// The reason a recheck's new failing results give, `first` of `count`
/// named: its words are what the decision and the rollback check read as
/// a new fail ([`crate::verdict::decision`], [`crate::compare`]).
fn new_failures_reason(at: &str, since: &str, count: usize, first: &[&str]) -> String {
    format!(
        "{count} new failing result(s): {} — a dry-run scan at {at} found them, created or changed since the last recorded scan{since}; fix them, or scan again if they are gone",
        listed(first, count)
    )
}

/// Whether `reason` is a [`new_failures_reason`]: a new fail the recheck
/// found, which the decision and the rollback check act on.
pub(crate) fn is_new_failures_reason(reason: &str) -> bool {
    // The names first: a table cell cut short keeps them (walk43).
    reason.contains(" new failing result(s): ") && reason.contains(" — a dry-run scan at ")
}

/// The recheck of an enforced policy: a violation the reports do not hold
/// whose rule enforces in its namespace is a new fail Kyverno enforces
/// (the reason decision and rollback check read as such); one its rule
/// only audits there is noted (verify35: an audit-only namespace's
/// violator read "ROLL BACK TO AUDIT"); a recheck that did not complete
/// or did not evaluate it leaves it unconfirmed.
fn enforced(policy: &mut crate::model::PolicyEvidence, recheck: &Recheck, at: &str, since: &str) {
    let name = policy.info.qualified_name();
    if !recheck.gaps.is_empty() || !recheck.evaluated.contains(&name) {
        let why = if recheck.gaps.is_empty() {
            "it did not evaluate this policy (not in the cluster now, nor given with --policies-from)".to_string()
        } else {
            recheck.gaps.join("; ")
        };
        policy.reasons.push(format!(
            "the dry-run scan at {at} that checks what was created or changed since the last recorded scan did not complete for this enforced policy ({why}): whether a new violation stands is unknown"
        ));
        return;
    }
    // The reports' violations, and their skips by a polscan.io/exception
    // annotation alone (violations to Kyverno, judged with them; not new:
    // walk58 W58-3 read "created or changed since … scan again").
    let known: BTreeSet<(&str, &str, &str, &str)> = policy
        .violations
        .iter()
        .chain(policy.excused.iter().filter(|v| v.annotation_only))
        .map(|v| {
            (
                v.resource.namespace.as_str(),
                v.resource
                    .kind
                    .rsplit('/')
                    .next()
                    .unwrap_or(&v.resource.kind),
                v.resource.name.as_str(),
                &*v.rule,
            )
        })
        .collect();
    let found = recheck
        .violations
        .get(&name)
        .map(|v| v.found.as_slice())
        .unwrap_or_default();
    let (enforced_new, audited_new): (Vec<&RecheckFinding>, Vec<&RecheckFinding>) = found
        .iter()
        .filter(|f| {
            !known.contains(&(
                f.namespace.as_str(),
                f.kind.as_str(),
                f.name.as_str(),
                f.rule.as_str(),
            ))
        })
        .partition(|f| policy.info.action_for(&f.rule, &f.namespace) == "Enforce");
    fn named<'a>(list: &[&'a RecheckFinding]) -> Vec<&'a str> {
        list.iter()
            .take(NAMED)
            .map(|f| f.described.as_str())
            .collect()
    }
    if !enforced_new.is_empty() {
        // The same words as a ready policy's: read as a new fail.
        policy.verdict = Verdict::NotReady;
        policy.reasons.push(new_failures_reason(
            at,
            since,
            enforced_new.len(),
            &named(&enforced_new),
        ));
    } else {
        policy.notes.push(format!(
            "rechecked at {at} by a dry-run scan: no new violation where it enforces"
        ));
    }
    if !audited_new.is_empty() {
        // No rollback: its rules only audit there; but the switch of that
        // part to Enforce would reject them (not ready).
        policy.verdict = Verdict::NotReady;
        policy.reasons.push(format!(
            "a dry-run scan at {at} found {} new violation(s) where its rules only audit, created or changed since the last recorded scan{since}: {} — no rollback, but enforcing there would reject them",
            audited_new.len(),
            listed(&named(&audited_new), audited_new.len())
        ));
    }
}

/// The objects of the kinds `policy` reaches (autogen's Pod controllers
/// too) the recheck listed: in its namespace for a namespaced policy, in
/// the cluster for another. None when the recheck did not count them or
/// did not list one of those kinds.
fn objects_in_scope(policy: &crate::model::PolicyEvidence, recheck: &Recheck) -> Option<usize> {
    let reached = crate::ingest::record::reached_kinds(&policy.info.kinds);
    if reached.is_empty() || reached.contains("*") {
        return None;
    }
    let by_kind = recheck.objects_by_kind.as_ref()?;
    let of_kind = |name: &String, kind: &str| name.rsplit('/').next() == Some(kind);
    // Every kind listed, or the count says nothing of it.
    if !reached
        .iter()
        .all(|kind| by_kind.keys().any(|name| of_kind(name, kind)))
    {
        return None;
    }
    let counted: &BTreeMap<String, usize> = match &policy.info.namespace {
        Some(namespace) => {
            let by_namespace = recheck.objects_by_namespace.as_ref()?;
            static NONE: BTreeMap<String, usize> = BTreeMap::new();
            by_namespace.get(namespace).unwrap_or(&NONE)
        }
        None => by_kind,
    };
    Some(
        counted
            .iter()
            .filter(|(name, _)| reached.iter().any(|kind| of_kind(name, kind)))
            .map(|(_, n)| n)
            .sum(),
    )
}

/// Notes on every ready policy of `evidence` that it was not rechecked and
/// why (`--no-recheck`, reports read from files): a reader of the package
/// tells such a ready verdict from a rechecked one (walk22: nothing said
/// so).
pub fn not_rechecked(evidence: &mut Evidence, why: &str) {
    for policy in &mut evidence.policies {
        if policy.verdict == Verdict::Ready {
            policy.notes.push(format!(
                "not rechecked ({why}): the verdict rests on the last recorded scan alone; what was created or changed since is not judged"
            ));
        }
    }
}
