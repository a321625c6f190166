//! Comparing evidence with a previous package (`--since`): the previous and
//! the current [`Evidence`] enter; new and fixed violations, new and expired
//! exceptions, and for every policy that was ready (or is enforced) whether
//! its rollback conditions are met, leave.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Evidence, ExceptionStatus, Verdict};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViolationChange {
    pub policy: String,
    pub rule: String,
    pub result: String,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackCheck {
    pub policy: String,
    /// Its action now, and its verdict in the previous package.
    pub action: String,
    pub previous_verdict: Verdict,
    pub conditions: Vec<ConditionCheck>,
    /// True when any condition is met: return the policy to Audit.
    pub roll_back: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionCheck {
    pub condition: String,
    pub met: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub previous_generated: DateTime<Utc>,
    pub new_violations: Vec<ViolationChange>,
    pub fixed_violations: Vec<ViolationChange>,
    pub new_exceptions: Vec<String>,
    pub expired_exceptions: Vec<String>,
    pub rollback_checks: Vec<RollbackCheck>,
}

fn violations(evidence: &Evidence) -> BTreeMap<String, ViolationChange> {
    let mut found = BTreeMap::new();
    for policy in &evidence.policies {
        let name = policy.info.qualified_name();
        for violation in &policy.violations {
            if violation.result == "warn" {
                continue;
            }
            found.insert(
                violation.key(&name),
                ViolationChange {
                    policy: name.clone(),
                    rule: violation.rule.clone(),
                    result: violation.result.clone(),
                    resource: violation.resource.to_string(),
                },
            );
        }
    }
    found
}

/// Compares `current` with `previous`.
pub fn compare(previous: &Evidence, current: &Evidence) -> Comparison {
    let before = violations(previous);
    let after = violations(current);
    let new_violations: Vec<ViolationChange> = after
        .iter()
        .filter(|(key, _)| !before.contains_key(*key))
        .map(|(_, v)| v.clone())
        .collect();
    let fixed_violations: Vec<ViolationChange> = before
        .iter()
        .filter(|(key, _)| !after.contains_key(*key))
        .map(|(_, v)| v.clone())
        .collect();
    let previous_exceptions: BTreeMap<String, ExceptionStatus> = previous
        .exceptions
        .iter()
        .map(|e| (e.key(), e.status))
        .collect();
    let new_exceptions = current
        .exceptions
        .iter()
        .filter(|e| !previous_exceptions.contains_key(&e.key()))
        .map(|e| format!("{} {}", e.source, e.name))
        .collect();
    let expired_exceptions = current
        .exceptions
        .iter()
        .filter(|e| {
            e.status == ExceptionStatus::Expired
                && previous_exceptions.get(&e.key()) != Some(&ExceptionStatus::Expired)
        })
        .map(|e| format!("{} {}", e.source, e.name))
        .collect();

    let scan_complete = current
        .scan
        .as_ref()
        .is_some_and(|s| s.complete && s.error.is_none());
    let previous_verdicts: BTreeMap<String, Verdict> = previous
        .policies
        .iter()
        .map(|p| (p.info.qualified_name(), p.verdict))
        .collect();
    let mut rollback_checks = Vec::new();
    for policy in &current.policies {
        let name = policy.info.qualified_name();
        let Some(previous_verdict) = previous_verdicts.get(&name).copied() else {
            continue;
        };
        // A policy moved on the strength of the previous package, or one
        // already enforced, is the one whose rollback conditions matter.
        if previous_verdict != Verdict::Ready && policy.info.action == "Audit" {
            continue;
        }
        let new_for_policy: Vec<&ViolationChange> =
            new_violations.iter().filter(|v| v.policy == name).collect();
        let covering: BTreeSet<String> = current
            .exceptions
            .iter()
            .filter(|e| {
                e.covers(&name)
                    && matches!(
                        e.status,
                        ExceptionStatus::Expiring | ExceptionStatus::Expired
                    )
            })
            .map(|e| format!("{} {} ({:?})", e.source, e.name, e.status).to_lowercase())
            .collect();
        let conditions = vec![
            ConditionCheck {
                condition: "a new fail or error result for this policy".into(),
                met: !new_for_policy.is_empty(),
                detail: if new_for_policy.is_empty() {
                    "none".into()
                } else {
                    new_for_policy
                        .iter()
                        .map(|v| format!("{} {} ({})", v.resource, v.result, v.rule))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            },
            ConditionCheck {
                condition: "a scan that did not complete".into(),
                met: !scan_complete,
                detail: match &current.scan {
                    None => "no scan record".into(),
                    Some(scan) if scan_complete => format!(
                        "the scan of {} completed",
                        scan.started.map(|t| t.to_rfc3339()).unwrap_or_default()
                    ),
                    Some(scan) => scan.error.clone().unwrap_or_else(|| {
                        format!("failed kinds: {}", scan.failed_kinds.join(", "))
                    }),
                },
            },
            ConditionCheck {
                condition: "an exception for this policy expiring or expired".into(),
                met: !covering.is_empty(),
                detail: if covering.is_empty() {
                    "none".into()
                } else {
                    covering.into_iter().collect::<Vec<_>>().join("; ")
                },
            },
        ];
        rollback_checks.push(RollbackCheck {
            policy: name,
            action: policy.info.action.clone(),
            previous_verdict,
            roll_back: conditions.iter().any(|c| c.met),
            conditions,
        });
    }
    Comparison {
        previous_generated: previous.generated,
        new_violations,
        fixed_violations,
        new_exceptions,
        expired_exceptions,
        rollback_checks,
    }
}
