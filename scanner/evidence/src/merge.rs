//! Every environment clean: several environments' packages (each verified
//! and read back, an [`EnvironmentEvidence`]) enter [`merge`]; one
//! [`MergedEvidence`] leaves. A policy is ready for production only when
//! every package given holds it, judges it ready, and holds the same rules
//! for it (its `rulesDigest`): anything else is not ready, with a reason
//! naming the environment. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::EvidenceError;
use crate::ingest::ObjectName;
use crate::model::merged::{
    EnvironmentPackage, EnvironmentVerdict, MergedEvidence, MergedPolicy, Violator,
    MERGED_SCHEMA_VERSION,
};
use crate::model::{Evidence, PolicyEvidence, Verdict};

/// Reasons of an environment's package shown per policy; merged.json says
/// how many there are, the package has them all.
pub const REASONS_SHOWN: usize = 3;
/// Owners with the most violations shown per policy and environment.
pub const TOP_VIOLATORS: usize = 5;

/// One environment's package, read back and verified.
#[derive(Debug, Clone)]
pub struct EnvironmentEvidence {
    /// The package directory, as given (for messages and merged.json).
    pub package: String,
    /// Its evidence.json.
    pub evidence: Evidence,
    /// The SHA-256 of its evidence.json.
    pub evidence_sha256: String,
    /// Per policy (qualified name) its `soak` object, where evidence.json
    /// has one: read as it comes, whatever its shape.
    pub soak: BTreeMap<String, Value>,
}

/// What the merge calls a package's environment: its `environment`, else
/// its cluster (the API server's URL, else the kube-system UID), else
/// `files` (reports read from files).
pub fn environment_label(evidence: &Evidence) -> String {
    let given = |text: &Option<String>| {
        text.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    given(&evidence.environment)
        .or_else(|| given(&evidence.cluster.server))
        .or_else(|| given(&evidence.cluster.kube_system_uid))
        .unwrap_or_else(|| evidence.cluster.source.clone())
}

fn invalid(what: impl Into<String>, message: impl Into<String>) -> EvidenceError {
    EvidenceError::Invalid {
        what: what.into(),
        message: message.into(),
    }
}

/// Checks what makes a merge meaningless: fewer than two packages, two of
/// one label (`Production` and `production` are one), packages of
/// different schema versions. Returns the labels, in order.
fn labels(packages: &[EnvironmentEvidence]) -> Result<Vec<String>, EvidenceError> {
    if packages.len() < 2 {
        return Err(invalid(
            "evidence merge",
            "give at least two packages: one is its own decision (`polscan evidence --require-ready`)",
        ));
    }
    let first = &packages[0];
    for other in &packages[1..] {
        if other.evidence.schema_version != first.evidence.schema_version {
            return Err(invalid(
                &other.package,
                format!(
                    "its evidence.json is {}, {}'s is {}: packages of different schema versions are not merged (rebuild both with one polscan)",
                    other.evidence.schema_version, first.package, first.evidence.schema_version
                ),
            ));
        }
    }
    let mut labels: Vec<String> = Vec::new();
    for package in packages {
        let label = environment_label(&package.evidence);
        if let Some(earlier) = labels.iter().position(|l| l.eq_ignore_ascii_case(&label)) {
            return Err(invalid(
                &package.package,
                format!(
                    "{} and {} are both environment {label}: each environment once (give each package its --environment when building it)",
                    packages[earlier].package, package.package
                ),
            ));
        }
        labels.push(label);
    }
    Ok(labels)
}

/// Merges the packages, in the order given (it is the pages' column order).
pub fn merge(
    packages: &[EnvironmentEvidence],
    now: DateTime<Utc>,
    polscan_version: &str,
) -> Result<MergedEvidence, EvidenceError> {
    let labels = labels(packages)?;
    let mut names: BTreeSet<String> = BTreeSet::new();
    for package in packages {
        names.extend(
            package
                .evidence
                .policies
                .iter()
                .map(|p| p.info.qualified_name()),
        );
    }
    let policies = names
        .into_iter()
        .map(|name| merge_policy(name, packages, &labels))
        .collect();
    Ok(MergedEvidence {
        schema_version: MERGED_SCHEMA_VERSION.into(),
        generated: now,
        polscan_version: polscan_version.into(),
        environments: packages
            .iter()
            .zip(&labels)
            .map(|(package, label)| EnvironmentPackage {
                label: label.clone(),
                package: package.package.clone(),
                environment: package.evidence.environment.clone(),
                cluster: package.evidence.cluster.clone(),
                generated: package.evidence.generated,
                scan_started: package.evidence.scan.as_ref().and_then(|s| s.started),
                evidence_sha256: package.evidence_sha256.clone(),
            })
            .collect(),
        policies,
        notes: same_cluster_notes(packages, &labels),
    })
}

/// Two labels on one cluster (one kube-system UID): allowed (a cluster may
/// serve two environments by namespace), but said.
fn same_cluster_notes(packages: &[EnvironmentEvidence], labels: &[String]) -> Vec<String> {
    let mut by_uid: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (package, label) in packages.iter().zip(labels) {
        if let Some(uid) = package.evidence.cluster.kube_system_uid.as_deref() {
            by_uid.entry(uid).or_default().push(label);
        }
    }
    by_uid
        .into_iter()
        .filter(|(_, labels)| labels.len() > 1)
        .map(|(uid, labels)| {
            format!(
                "{} are one cluster (kube-system UID {uid}): their verdicts are not independent evidence",
                labels.join(" and ")
            )
        })
        .collect()
}

/// The reason an environment's own verdict gives against production; None
/// when ready there. One arm per verdict: a new verdict must say here what
/// it means for production.
fn verdict_reason(label: &str, policy: &PolicyEvidence) -> Option<String> {
    let first = policy
        .reasons
        .first()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let more = match policy.reasons.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    match policy.verdict {
        Verdict::Ready => None,
        Verdict::NotReady => Some(format!("not ready in {label}{first}{more}")),
        // Clean there so far, but not for long enough yet (or not known), or
        // the evidence there is stale, partial or not rechecked: the reason says.
        Verdict::Wait => Some(format!("waiting in {label}{first}{more}")),
        Verdict::NoEvidence => Some(format!(
            "no evidence in {label}{}: nothing there shows what Enforce would block",
            if first.is_empty() {
                String::new()
            } else {
                format!("{first}{more}")
            }
        )),
    }
}

fn merge_policy(name: String, packages: &[EnvironmentEvidence], labels: &[String]) -> MergedPolicy {
    let mut reasons = Vec::new();
    let mut environments = Vec::new();
    let mut kind = None;
    // (label, rules digest, whole-document digest) where present.
    let mut digests: Vec<(&str, Option<&str>, Option<&str>)> = Vec::new();
    for (package, label) in packages.iter().zip(labels) {
        let held: Vec<&PolicyEvidence> = package
            .evidence
            .policies
            .iter()
            .filter(|p| p.info.qualified_name() == name)
            .collect();
        let policy = match held.as_slice() {
            [] => {
                reasons.push(format!(
                    "not in {label}'s package{}",
                    if package.evidence.policy_filter.is_empty() {
                        " (not deployed there, or not named in its reports)".to_string()
                    } else {
                        format!(
                            " (it was built for --policy {} only)",
                            package.evidence.policy_filter.join(", ")
                        )
                    }
                ));
                environments.push(EnvironmentVerdict {
                    environment: label.clone(),
                    verdict: None,
                    action: None,
                    reasons: Vec::new(),
                    reason_count: 0,
                    counts: None,
                    violators: Vec::new(),
                    violating_owners: 0,
                    soak: None,
                    rules_digest: None,
                });
                continue;
            }
            [policy] => *policy,
            [policy, ..] => {
                // Results name a policy by name only: which one is meant
                // cannot be told, so neither is judged.
                reasons.push(format!(
                    "{label}'s package holds {} policies named {name} ({}): which one the merge judges cannot be told",
                    held.len(),
                    held.iter().map(|p| p.info.kind.as_str()).collect::<Vec<_>>().join(", ")
                ));
                policy
            }
        };
        kind.get_or_insert_with(|| policy.info.kind.clone());
        // A package that calls for a rollback (or a rescan) says so first,
        // with what to run: "not ready" read as "do not promote yet", the
        // opposite of what is due (walk46 F3b).
        if let Some(due) = package.evidence.decisions.iter().find(|d| {
            d.policy == name
                && matches!(
                    d.decision,
                    crate::model::Decision::RollBack | crate::model::Decision::Rescan
                )
        }) {
            reasons.insert(
                0,
                format!(
                    "{} in {label}{}",
                    due.decision.label(),
                    due.instructions
                        .first()
                        .map(|i| format!(": {i}"))
                        .unwrap_or_default()
                ),
            );
        }
        reasons.extend(verdict_reason(label, policy));
        digests.push((
            label,
            policy.info.rules_digest.as_deref(),
            policy.info.digest.as_ref().map(|d| d.digest.as_str()),
        ));
        let (violators, violating_owners) = top_violators(policy);
        environments.push(EnvironmentVerdict {
            environment: label.clone(),
            verdict: Some(policy.verdict),
            action: Some(policy.info.action.clone()),
            reasons: policy.reasons.iter().take(REASONS_SHOWN).cloned().collect(),
            reason_count: policy.reasons.len(),
            counts: Some(policy.counts),
            violators,
            violating_owners,
            soak: package.soak.get(&name).cloned(),
            rules_digest: policy.info.rules_digest.clone(),
        });
    }
    reasons.extend(content_reasons(&digests));
    MergedPolicy {
        name,
        kind: kind.unwrap_or_default(),
        verdict: if reasons.is_empty() {
            Verdict::Ready
        } else {
            Verdict::NotReady
        },
        reasons,
        environments,
    }
}

/// Whether the environments' policies judge alike: compared with the
/// first environment holding it. A package without a rules digest is
/// compared by the whole document's (an action change then counts too);
/// one with neither cannot be told the same.
fn content_reasons(digests: &[(&str, Option<&str>, Option<&str>)]) -> Vec<String> {
    let Some(((first, first_rules, first_whole), rest)) = digests.split_first() else {
        return Vec::new();
    };
    let mut reasons = Vec::new();
    for (label, rules, whole) in rest {
        let same = match (first_rules, rules, first_whole, whole) {
            (Some(a), Some(b), _, _) => Some(a == b),
            // Identical documents judge alike; different ones may differ
            // in their action only, which cannot be told without the
            // rules digest.
            (_, _, Some(a), Some(b)) if a == b => Some(true),
            (_, _, Some(_), Some(_)) => Some(false),
            _ => None,
        };
        match same {
            Some(true) => {}
            Some(false) => reasons.push(format!(
                "rules differ between {first} and {label}: {first}'s clean result says nothing about {label}'s policy{}",
                if first_rules.is_some() && rules.is_some() {
                    ""
                } else {
                    " (a package without rulesDigest is compared by the whole document, its action included: rebuild it with this polscan)"
                }
            )),
            None => reasons.push(format!(
                "cannot tell whether {first} and {label} hold the same policy: {} keeps no digest of it",
                if first_rules.is_none() && first_whole.is_none() {
                    first
                } else {
                    label
                }
            )),
        }
    }
    reasons
}

/// The owners with the most violations, most first (then by owner), and
/// how many owners have violations.
fn top_violators(policy: &PolicyEvidence) -> (Vec<Violator>, usize) {
    let mut by_owner: BTreeMap<&ObjectName, usize> = BTreeMap::new();
    for violation in &policy.violations {
        *by_owner.entry(&violation.owner).or_default() += 1;
    }
    let owners = by_owner.len();
    let mut ranked: Vec<(&ObjectName, usize)> = by_owner.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    (
        ranked
            .into_iter()
            .take(TOP_VIOLATORS)
            .map(|(owner, violations)| Violator {
                owner: owner.clone(),
                violations,
            })
            .collect(),
        owners,
    )
}
