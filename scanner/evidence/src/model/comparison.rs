//! A comparison with a previous package (`--since`), as evidence.json
//! holds it: [`crate::compare`] fills a [`Comparison`] from two
//! [`super::Evidence`]s; it leaves in the current one. The new, fixed,
//! unknown and excused violations ([`ViolationChange`]), the exceptions
//! new, expired and removed, per enforced policy whether to roll back or
//! rescan ([`RollbackCheck`]), per Audit policy whether it is still ready
//! ([`ReadinessCheck`]), whether the two scans applied the same
//! PolicyExceptions ([`ExceptionScopeChange`]), and per policy whose rules
//! or actions changed the diff and the violations the change removed or
//! added ([`RuleChange`]). Data only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Verdict;

/// A violation new, fixed, unknown or excused since the previous package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViolationChange {
    /// The policy's qualified name.
    pub policy: String,
    /// The rule; empty when the result names none (a CEL policy's).
    pub rule: String,
    /// The result: `fail`, `error` or `warn`, or `skip` where an exception
    /// skipped it (excused, or excused only by an annotation).
    pub result: String,
    /// The resource, as `namespace/kind/name` (`kind/name` when
    /// cluster-scoped).
    pub resource: String,
    /// For a violation whose fix is unknown: why its absence proves nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What Kyverno does with it (`Enforce`, `Audit`, ...), where known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action: String,
}

impl ViolationChange {
    /// `resource result (rule)`, without the parentheses for a CEL
    /// policy's result, which has no rule.
    pub fn describe(&self) -> String {
        // A skip is a violation only when an annotation alone skips it
        // (walk69 W69-4: "team-a/Pod/vendor skip" read as no violation).
        let result = match self.annotation_only() {
            true => "fail to Kyverno (skipped only by a polscan.io/exception annotation)",
            false => self.result.as_str(),
        };
        if self.rule.is_empty() {
            format!("{} {result}", self.resource)
        } else {
            format!("{} {result} ({})", self.resource, self.rule)
        }
    }
}

impl ViolationChange {
    /// A `skip` that only a `polscan.io/exception` annotation gives: a
    /// violation to Kyverno.
    pub fn annotation_only(&self) -> bool {
        self.result == "skip"
            && self
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with(ANNOTATION_SKIP))
    }

    /// The reason, less what [`Self::describe`] already says: for an
    /// annotation-only skip, only why it is still a violation (walk74
    /// W74-5: the qualifier was written twice on one line).
    pub fn why(&self) -> Option<&str> {
        match self.annotation_only() {
            true => Some("Kyverno's admission does not read the annotation"),
            false => self.reason.as_deref(),
        }
    }
}

/// How a comparison's reason opens for a `skip` only an annotation gives.
const ANNOTATION_SKIP: &str = "skipped only by a polscan.io/exception annotation";

/// An Audit policy in both packages: would it still be ready to enforce?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessCheck {
    /// The policy's qualified name.
    pub policy: String,
    /// Its action now (`Audit`, or `unknown`/`Invalid`).
    #[serde(default)]
    pub action: String,
    /// Its verdict in the previous package.
    pub previous_verdict: Verdict,
    /// Its verdict now.
    pub verdict: Verdict,
    /// True when it was and still is ready.
    pub still_ready: bool,
    /// The current reasons against enforcing.
    pub reasons: Vec<String>,
}

/// A policy with rules in Enforce: should it return to Audit?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackCheck {
    /// The policy's qualified name.
    pub policy: String,
    /// Its action now: `Enforce` or `Mixed`.
    pub action: String,
    /// Its verdict in the previous package.
    pub previous_verdict: Verdict,
    /// Each rollback condition, met or not.
    pub conditions: Vec<ConditionCheck>,
    /// True when any condition is met: return the policy to Audit.
    pub roll_back: bool,
    /// Why the last scan does not confirm the policy since the previous
    /// package (it did not complete for it, or left out namespaces it
    /// applies in, or there is no record): rescan. No rollback condition —
    /// nothing is known to have changed; None when the scan covered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescan: Option<String>,
}

impl RollbackCheck {
    /// Not confirmed, and no rollback condition met: rescan.
    pub fn needs_rescan(&self) -> bool {
        !self.roll_back && self.rescan.is_some()
    }

    /// The check's outcome in words, as every output heads it.
    pub fn outcome(&self) -> &'static str {
        if self.roll_back {
            "ROLL BACK TO AUDIT"
        } else if self.rescan.is_some() {
            "RESCAN: not confirmed since the previous package (no rollback condition known)"
        } else {
            "no rollback condition met"
        }
    }

    /// What the last scan covered of the policy, one line.
    pub fn coverage(&self) -> String {
        match &self.rescan {
            Some(gaps) => format!("not covered by the last scan, rescan: {gaps}"),
            None => "the last scan covered this policy completely".into(),
        }
    }
}

/// One rollback condition of a [`RollbackCheck`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionCheck {
    /// The condition, in words.
    pub condition: String,
    /// True when it holds: roll back.
    pub met: bool,
    /// What was found: the violations, gaps or exceptions, or that there
    /// are none.
    pub detail: String,
}

/// `comparison`: the changes since the package given with `--since`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// When the previous package was made.
    pub previous_generated: DateTime<Utc>,
    /// Violations the previous package did not hold.
    pub new_violations: Vec<ViolationChange>,
    /// Violations absent from the current reports, where the scan behind
    /// them covered their kind and policy completely.
    pub fixed_violations: Vec<ViolationChange>,
    /// Violations the current reports lack, but the scan behind them did not
    /// cover their kind or policy completely: neither fixed nor still there.
    #[serde(default)]
    pub unknown_violations: Vec<ViolationChange>,
    /// Exceptions the previous package did not hold, as `source name`.
    pub new_exceptions: Vec<String>,
    /// Exceptions expired now that were not expired before, as
    /// `source name`.
    pub expired_exceptions: Vec<String>,
    /// Exceptions of the previous package that are gone: what they skipped
    /// counts again once rescanned.
    #[serde(default)]
    pub removed_exceptions: Vec<String>,
    /// Policies of the previous package (found then) that this one does
    /// not hold: deleted, or not given — nothing covers what they checked
    /// (walk25 F10: only their results vanished, unsaid).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_policies: Vec<String>,
    /// Policies with rules in Enforce: whether to return them to Audit.
    pub rollback_checks: Vec<RollbackCheck>,
    /// Policies in Audit: whether they would still be ready to enforce.
    #[serde(default)]
    pub readiness_checks: Vec<ReadinessCheck>,
    /// Policies of this package the earlier one filtered out (`--policy`):
    /// nothing about them is compared.
    #[serde(default)]
    pub not_compared: Vec<String>,
    /// Violations now skipped by an exception: excused, not fixed.
    #[serde(default)]
    pub excused_violations: Vec<ViolationChange>,
    /// The two scans applied different PolicyExceptions (Kyverno's
    /// `--exceptionNamespace`, as `scan --exception-namespace` models it):
    /// what exceptions skip is not compared like with like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_scope_change: Option<ExceptionScopeChange>,
    /// Policies whose rules (or only actions) changed between the two
    /// packages, or whose change cannot be told.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_changes: Vec<RuleChange>,
}

/// What a [`RuleChange`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleChangeStatus {
    /// The judging content of the rules changed.
    Changed,
    /// Only action fields changed: the rules judge as before.
    ActionsChanged,
    /// The policy document changed, but the previous package did not
    /// record its rules: whether they changed cannot be told.
    NotRecorded,
}

/// A policy whose rules changed between the two packages (the refinement
/// of a policy in Audit: a request made optional, a rule added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleChange {
    /// The policy's qualified name.
    pub policy: String,
    /// Changed, only its actions changed, or not recorded before.
    pub status: RuleChangeStatus,
    /// Rules (by name) the previous package did not have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_rules: Vec<String>,
    /// Rules (by name) gone since the previous package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_rules: Vec<String>,
    /// Rules (by name) whose content changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_rules: Vec<String>,
    /// Spec fields besides a Kyverno policy's `rules` that changed (a CEL
    /// policy's `validations`, `matchConstraints`, ...; a Kyverno policy's
    /// `background`, `applyRules`, or the rules' order): every rule of the
    /// policy may judge otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_fields: Vec<String>,
    /// The unified diff of the judging content as YAML, previous → current;
    /// empty when either package kept only its digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub diff: String,
    /// The unified diff of the action fields (shown, never counted as a
    /// rule change); empty when they did not change.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actions_diff: String,
    /// What could not be told, or why there is no diff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Violations of the changed rules gone since the previous package:
    /// by the rule change as far as the evidence can tell, never counted
    /// as fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_violations: Vec<ViolationChange>,
    /// Violations of the changed rules new since the previous package (also
    /// in `newViolations`: to Kyverno they are new all the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_violations: Vec<ViolationChange>,
}

impl RuleChange {
    /// One line: `N violations removed, M added since the rules changed
    /// (not by fixes in manifests)`, or what else was found.
    pub fn summary(&self) -> String {
        match self.status {
            RuleChangeStatus::Changed
                if self.note.as_deref()
                    == Some(crate::compare::rules::NOT_LOADED_BY_THE_LAST_SCAN) =>
            {
                "changed, but not loaded by the last scan: nothing is credited to the change"
                    .into()
            }
            RuleChangeStatus::Changed => format!(
                "{} violations removed, {} added since the rules changed (not by fixes in manifests)",
                self.removed_violations.len(),
                self.added_violations.len()
            ),
            RuleChangeStatus::ActionsChanged => {
                "only actions changed: the rules judge as before".into()
            }
            RuleChangeStatus::NotRecorded => match &self.note {
                // The previous package had no document of it at all.
                Some(note) => note.clone(),
                None => {
                    "rules not recorded in the previous package: cannot tell whether they changed"
                        .into()
                }
            },
        }
    }

    /// `added: a; removed: b; changed: c; fields: background`, or empty.
    pub fn rules_line(&self) -> String {
        [
            ("added", &self.added_rules),
            ("removed", &self.removed_rules),
            ("changed", &self.changed_rules),
            ("fields changed", &self.changed_fields),
        ]
        .iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(label, names)| format!("{label}: {}", names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
    }
}

/// One count of a [`Comparison`], as every output shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComparisonCount {
    /// Its label in the package's pages (`excused (now skipped by an
    /// exception, not fixed)`).
    pub label: &'static str,
    /// Its shorter label on a terminal line (`excused (now skipped by an
    /// exception)`).
    pub short_label: &'static str,
    /// How many.
    pub count: usize,
}

impl Comparison {
    /// The eight counts every output leads the comparison with, in order:
    /// new, fixed, excused, not-known-fixed violations and those removed by
    /// a rule change; new, expired and removed exceptions.
    pub fn counts(&self) -> [ComparisonCount; 8] {
        let count = |label, short_label, count| ComparisonCount {
            label,
            short_label,
            count,
        };
        [
            // The terminal line sits beside decisions the evidence's own
            // recheck may take (walk43: "0 new violations" under two ROLL
            // BACKs for violators found by the recheck): it says whose.
            count(
                "new violations",
                "new violations in the scans' reports",
                self.new_violations.len(),
            ),
            count("fixed violations", "fixed", self.fixed_violations.len()),
            count(
                "excused (now skipped by an exception, not fixed)",
                "excused (now skipped by an exception)",
                self.excused_violations.len(),
            ),
            count(
                "not known to be fixed (no result shows a fix; see each reason)",
                "not known to be fixed",
                self.unknown_violations.len(),
            ),
            count(
                "removed since their rules changed (not fixed)",
                "removed by rule changes",
                self.rule_changes
                    .iter()
                    .map(|c| c.removed_violations.len())
                    .sum(),
            ),
            count(
                "new exceptions",
                "new exceptions",
                self.new_exceptions.len(),
            ),
            count(
                "expired exceptions",
                "expired",
                self.expired_exceptions.len(),
            ),
            count(
                "removed exceptions",
                "removed",
                self.removed_exceptions.len(),
            ),
        ]
    }
}

/// Which PolicyExceptions each package's scan applied, as its record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionScopeChange {
    /// The previous scan's statement of which it applied.
    pub previous: String,
    /// The current scan's statement of which it applied.
    pub current: String,
}

#[cfg(test)]
mod tests {
    use super::ViolationChange;

    /// walk69 W69-4: a skip counted as a violation (an annotation alone
    /// skips it) reads as the fail it is to Kyverno; a skip by a
    /// PolicyException stays a skip.
    #[test]
    fn an_annotation_only_skip_reads_as_a_fail_to_kyverno() {
        let change = |reason: Option<&str>| ViolationChange {
            policy: "p".into(),
            rule: "r".into(),
            result: "skip".into(),
            resource: "team-a/Pod/vendor".into(),
            reason: reason.map(str::to_string),
            action: String::new(),
        };
        assert_eq!(
            change(Some("skipped only by a polscan.io/exception annotation, which Kyverno's admission does not read: still a violation to Kyverno")).describe(),
            "team-a/Pod/vendor fail to Kyverno (skipped only by a polscan.io/exception annotation) (r)"
        );
        assert_eq!(
            change(Some("now skipped by an exception")).describe(),
            "team-a/Pod/vendor skip (r)"
        );
        // The line's reason does not say the qualifier again (walk74 W74-5).
        let annotated = change(Some("skipped only by a polscan.io/exception annotation, which Kyverno's admission does not read: still a violation to Kyverno"));
        assert_eq!(
            annotated.why(),
            Some("Kyverno's admission does not read the annotation")
        );
        assert_eq!(
            change(Some("now skipped by an exception")).why(),
            Some("now skipped by an exception")
        );
    }
}
