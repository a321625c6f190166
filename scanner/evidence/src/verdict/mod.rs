//! The verdicts: an [`EvidenceInput`] enters [`build`]; an [`Evidence`]
//! leaves. Per policy and rule: ready to enforce, not ready, or no
//! evidence when nothing was evaluated, with the reasons — every gap of
//! the scan that affects it (the policy's: `reasons.rs`), what the results
//! say, expired, stale and annotation-only exceptions, and kinds the scan
//! did not list (per rule: `policy.rs`) — the violators grouped by owner,
//! the exceptions ([`crate::exceptions`]) with the PolicyExceptions
//! generated for annotation-only bypasses, and the rollback conditions;
//! a ready policy not clean long enough waits (`soak.rs`).
//! [`recheck::apply`] then confirms or changes each ready verdict by what
//! a dry-run scan of the cluster as it is now found (a violator created or
//! changed since the last recorded scan: not ready).
//! In production, [`baseline::apply`] lists the policies of a baseline
//! severity that do not enforce; [`decision::apply`], last, makes of it
//! all the decision per policy (GO, NO-GO, WAIT, or once enforced its
//! rollback status).

pub mod baseline;
pub mod decision;
mod policy;
mod reasons;
pub mod recheck;
pub(crate) mod soak;

use std::collections::BTreeMap;
use std::sync::Arc;

use polscan_engine::ValueExt;
use serde_json::Value;

use crate::exceptions::generated::generate_exceptions;
use crate::exceptions::{
    annotation_exception_evidence, current_exceptions, mark_not_applied, mark_orphaned,
    policy_exceptions,
};
use crate::ingest::policy_info::PolicyInfo;
use crate::ingest::results::{Interner, ReportedResult};
use crate::ingest::{covers_namespace, wanted_policy, EvidenceInput, ObjectName};
use crate::model::{Evidence, OwnerRouting, SCHEMA_VERSION};
use policy::policy_evidence;
use polscan_engine::exceptions::annotation as annotation_exceptions;

/// Builds the evidence.
pub fn build(input: &EvidenceInput) -> Evidence {
    let results: Vec<&ReportedResult> = input
        .reports
        .results()
        .filter(|r| covers_namespace(&input.namespace_filter, &r.resource.namespace))
        .collect();
    let window = input.expiry_window;
    let mut exceptions = policy_exceptions(&input.policies, &results, input.now, window);
    if let Some(scope) = input
        .scan
        .as_ref()
        .and_then(|s| s.policy_exceptions.as_ref())
    {
        mark_not_applied(&mut exceptions, scope);
    }
    let current = current_exceptions(&input.policies);
    exceptions.extend(annotation_exception_evidence(&results, input.now, window));
    let mut infos: BTreeMap<String, (PolicyInfo, bool)> = BTreeMap::new();
    let bindings: Vec<&Value> = input
        .policies
        .iter()
        .filter(|d| d.str_field("kind") == Some("ValidatingAdmissionPolicyBinding"))
        .collect();
    // Each policy's soak digest now, matched against its scans' history.
    let mut soak_digests: BTreeMap<String, String> = BTreeMap::new();
    for document in &input.policies {
        if let Some(info) = PolicyInfo::from_document_with_bindings(document, &bindings) {
            if input.soak.min_soak.is_some() {
                soak_digests.insert(
                    info.qualified_name(),
                    crate::run::history::soak_digest(document, &bindings),
                );
            }
            // Two policies of one name and different kinds (a ClusterPolicy
            // beside the ValidatingPolicy or VAP it is migrating to): their
            // results are merged under the name; each says so (walk28 F17).
            // One entry names every kind; an enforcing one is kept, so the
            // decision says RESCAN, not an Audit policy's NO-GO beside a
            // namesake Kyverno enforces (verify28).
            let name = info.qualified_name();
            if let Some((first, _)) = infos.get_mut(&name) {
                if first.kind != info.kind {
                    let mut info = info;
                    let (kept, other) = if info.enforces() && !first.enforces() {
                        info.name_shared_with = std::mem::take(&mut first.name_shared_with);
                        info.name_shared_with.push(first.kind.clone());
                        let other = std::mem::replace(first, info);
                        (first, other.kind)
                    } else {
                        (first, info.kind)
                    };
                    if !kept.name_shared_with.contains(&other) {
                        kept.name_shared_with.push(other);
                    }
                    kept.name_shared_with.retain(|kind| *kind != kept.kind);
                    continue;
                }
            }
            infos.insert(name, (info, true));
        }
    }
    // Policies the reports name but that were not found (deleted, or not
    // given with --from) are shown, never silently dropped.
    for result in &results {
        if &*result.rule == annotation_exceptions::EXCEPTION_RULE
            || infos.contains_key(&*result.policy)
        {
            continue;
        }
        infos.insert(
            result.policy.to_string(),
            (PolicyInfo::unknown(&result.policy), false),
        );
    }

    // Policy (as results name it: `namespace/name` when namespaced) → kind:
    // which PolicyException API can excuse it.
    let policy_kinds: BTreeMap<String, String> = infos
        .iter()
        .map(|(qualified, (info, _))| (qualified.clone(), info.kind.clone()))
        .collect();
    // Only when every policy was looked at: a filtered package, or one
    // given no policy at all, does not hold the policies its exceptions
    // may name.
    // A policy known only from its reports (its document not given) is
    // in the package too (rev27 F8: its exceptions were called orphaned
    // beside the results they skip).
    let present: Vec<(String, String)> = infos
        .iter()
        .map(|(qualified, (info, _))| (qualified.clone(), info.kind.clone()))
        .collect();
    if input.policy_filter.is_empty() && infos.values().any(|(_, found)| *found) {
        mark_orphaned(&mut exceptions, &present);
    }
    let generated_exceptions = generate_exceptions(
        &results,
        &mut exceptions,
        &input.owners,
        &input.owner_selectors,
        &policy_kinds,
        input
            .scan
            .as_ref()
            .and_then(|s| s.policy_exceptions.as_ref()),
    );

    let mut by_policy: BTreeMap<&str, Vec<&ReportedResult>> = BTreeMap::new();
    for result in &results {
        by_policy.entry(&result.policy).or_default().push(result);
    }
    // Each owner named once, shared by the violations of what it owns.
    let mut shared = Interner::default();
    let owners: BTreeMap<&ObjectName, Arc<ObjectName>> = input
        .owners
        .iter()
        .map(|(resource, owner)| (resource, shared.resource(owner.clone())))
        .collect();

    let mut policies = Vec::new();
    for (qualified, (mut info, found)) in infos {
        if !wanted_policy(&input.policy_filter, &info) {
            continue;
        }
        // No command for an API the cluster does not serve: it would fail.
        if !input.serves(&info.kind) {
            info.rollback = None;
            info.enforce = None;
        }
        // Not in the cluster, only in a file: a `kubectl patch` would find
        // nothing (walk39 F17); the change is made to the file.
        let identity = (
            info.kind.clone(),
            info.namespace.clone().unwrap_or_default(),
            info.name.clone(),
        );
        if input.file_only_policies.contains(&identity) {
            let named = format!("{} {}", info.kind, info.qualified_name());
            for change in [info.rollback.as_mut(), info.enforce.as_mut()]
                .into_iter()
                .flatten()
            {
                change.command = format!(
                    "set {} to {} in the policy's file and apply it: {named} is not in the cluster (it was read from --policies-from), so kubectl has nothing to patch",
                    change.fields.join(" and "),
                    change.value,
                );
            }
        }
        let own_results = by_policy
            .get(qualified.as_str())
            .cloned()
            .unwrap_or_default();
        // Why the newest scan did not cover the policy completely, when
        // it says.
        let partial_because: Vec<String> = input
            .scan
            .as_ref()
            .map(|scan| scan.load_errors_affecting(&info))
            .unwrap_or_default();
        let soak = soak::soak_of(
            &info,
            soak_digests.get(&qualified).map(String::as_str),
            &input.soak,
            input.now,
            &partial_because,
        );
        let mut evidence = policy_evidence(
            info,
            found,
            &own_results,
            input,
            (&exceptions, &current),
            &generated_exceptions,
            (&owners, &mut shared),
        );
        evidence.soak = soak;
        soak::apply(&mut evidence);
        policies.push(evidence);
    }
    // A package of chosen policies (--policy) lists only their exceptions
    // and generated PolicyExceptions.
    let (mut exceptions, mut generated_exceptions) = (exceptions, generated_exceptions);
    if !input.policy_filter.is_empty() {
        let kept: Vec<String> = policies.iter().map(|p| p.info.qualified_name()).collect();
        exceptions.retain(|e| kept.iter().any(|name| e.covers(name)));
        generated_exceptions.retain(|g| {
            g.covers.iter().any(|cover| {
                let policy = cover.rsplit_once('/').map_or(cover.as_str(), |(p, _)| p);
                kept.iter().any(|name| name == policy)
            })
        });
    }
    let mut evidence = Evidence {
        schema_version: SCHEMA_VERSION.into(),
        generated: input.now,
        polscan_version: env!("CARGO_PKG_VERSION").into(),
        cluster: input.identity.clone(),
        scan: input.scan.clone(),
        expiry_window_days: input.expiry_window.num_days(),
        namespaces: input.namespace_filter.clone(),
        policy_filter: input.policy_filter.clone(),
        owner_routing: Some(OwnerRouting {
            labels: input.owner_labels.keys.clone(),
            labels_read: input.owner_labels.read,
        }),
        soak_rule: input
            .soak
            .min_soak
            .filter(|d| *d > chrono::Duration::zero())
            .map(|d| crate::model::SoakRule {
                min_soak_seconds: d.num_seconds(),
                min_scans: input.soak.min_scans,
            }),
        policies,
        exceptions,
        generated_exceptions,
        environment: None,
        baseline: None,
        comparison: None,
        decisions: Vec::new(),
    };
    // Without a comparison, patches or a baseline yet: the caller that
    // adds them decides again (`decision::apply`).
    decision::apply(&mut evidence);
    evidence
}

/// The first `shown` of `items`, then how many more: `a, b and 3 more`.
fn some_of(items: &[String], shown: usize) -> String {
    let mut text = items
        .iter()
        .take(shown)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > shown {
        text.push_str(&format!(" and {} more", items.len() - shown));
    }
    text
}
