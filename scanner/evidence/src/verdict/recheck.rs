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
}

/// One policy's violations in the recheck.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckViolations {
    /// Results that are `fail`, `error` or `warn`.
    pub count: usize,
    /// The first of them, described.
    pub first: Vec<String>,
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
        if policy.verdict != Verdict::Ready {
            continue;
        }
        let name = policy.info.qualified_name();
        if let Some(found) = recheck.violations.get(&name).filter(|v| v.count > 0) {
            policy.verdict = Verdict::NotReady;
            let more = found.count.saturating_sub(found.first.len());
            policy.reasons.push(format!(
                "a dry-run scan at {at} found {} failing result(s) the last recorded scan{since} did not report — created or changed since: {}{}; fix them, or scan again if they are gone",
                found.count,
                found.first.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ));
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
