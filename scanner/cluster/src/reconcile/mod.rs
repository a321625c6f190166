//! What a scan must write and delete, decided without I/O: the reports the
//! scan wants (shaped by report-model: [`wanted`]), the reports already in
//! the cluster (their identity, labels, content hash and scope) and the
//! kinds whose LIST completed enter; a decision per wanted report
//! ([`decide`], one [`decide::ShapeDecisions`] per `--report-per`) and a
//! [`Plan`] (apply, leave alone, delete) leave. The scan's driver only moves
//! pages in and writes out. The rules that keep evidence from being lost
//! live here (the foreign-name, hash-skip, held-rewrite and schema rules in
//! [`decide`]; the pruning rules in [`plan`]):
//! - a report whose content hash is unchanged is not written again;
//! - only reports labelled `app.kubernetes.io/managed-by: polscan` are ever
//!   deleted, those of the other shape (left by a run with the other
//!   `--report-per`) too, by the same rules, so a layout switch does not
//!   leave every result in the cluster twice;
//! - a per-resource report is deleted only when its resource's kind was
//!   listed completely in this scan (a failed LIST proves nothing);
//! - per-namespace reports are deleted only when every kind was listed;
//! - nothing is deleted when a policy source failed (a policy kind could
//!   not be listed, or a policy could not be loaded): a report that looks
//!   stale may hold the only results of the policies that are missing —
//!   but for the per-resource report of a resource that is gone (its kind
//!   listed completely, the object not among those listed): no result
//!   about it stands, whatever policy is missing;
//! - a report kept (its kind not listed) loses the results of deleted
//!   policies only after a run that read every policy
//!   ([`deleted_policies`]).

pub mod decide;
pub mod deleted_policies;
pub mod wanted;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use report_model::api::ReportApi;
use report_model::shape::MANAGED_BY_VALUE;

use crate::engine::ResourceRef;
use crate::kinds::ApiResource;

/// Where a report lives: `namespace` is empty for a ClusterPolicyReport.
///
/// A reference to a report object, reduced to what tells reports apart
/// within a run: the plan holds one per resource (50k at scale), so its
/// `apiVersion` and kind, the same for every report of the run's
/// [`ReportApi`] but for the scope, are the `cluster_scoped` flag, and no
/// uid is kept. [`ReportKey::reference`] gives the full
/// [`ResourceRef`], [`report_resource`] its kind as served.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportKey {
    /// Whether it is a ClusterPolicyReport.
    pub cluster_scoped: bool,
    /// Its namespace; empty for a ClusterPolicyReport.
    pub namespace: String,
    /// Its `metadata.name`.
    pub name: String,
}

impl ReportKey {
    /// The report as an object reference in `api` (no uid: the plan does
    /// not know it).
    pub fn reference(&self, api: ReportApi) -> ResourceRef {
        ResourceRef {
            api_version: api.api_version().to_string(),
            kind: api.kind(self.cluster_scoped).to_string(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid: String::new(),
        }
    }
}

/// The namespaced (`cluster_scoped` false) or cluster report kind of `api`
/// as an API server serves it: `PolicyReport`/`policyreports`,
/// `ClusterPolicyReport`/`clusterpolicyreports` and OpenReports' `Report`
/// and `ClusterReport`. Verbs are not known without discovery.
pub fn report_resource(api: ReportApi, cluster_scoped: bool) -> ApiResource {
    ApiResource {
        group: api.group().to_string(),
        version: api.version().to_string(),
        kind: api.kind(cluster_scoped).to_string(),
        plural: api.plural(cluster_scoped).to_string(),
        namespaced: !cluster_scoped,
        verbs: Vec::new(),
    }
}

/// A report the scan wants, reduced to what the plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredReport {
    /// Where it lives.
    pub key: ReportKey,
    /// Its content hash (`polscan.io/content-sha256`): equal to the stored
    /// report's, it is unchanged; else it is applied.
    pub content_hash: String,
}

/// A report found in the cluster, reduced to what the plan reads: a cluster
/// holds one per resource, so no label or annotation map is kept (a map of
/// two entries costs half a kilobyte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingReport {
    /// Where it lives.
    pub key: ReportKey,
    /// Its `app.kubernetes.io/managed-by` label.
    pub managed_by: Option<String>,
    /// Its `polscan.io/report-shape` label.
    pub shape: Option<String>,
    /// Its `polscan.io/content-sha256` annotation.
    pub content_hash: Option<String>,
    /// `(group, kind)` of the report's `scope`, for per-resource reports.
    pub scope_kind: Option<(String, String)>,
    /// The name of a ClusterPolicyReport's resource (its owner reference);
    /// None for namespaced reports, which a shard owns by namespace.
    pub scope_name: Option<String>,
    /// Its `polscan.io/inputs` annotation ([`crate::scan::reuse`]).
    pub inputs: Option<String>,
    /// Its `polscan.io/results-by-rule` annotation ([`crate::scan::reuse`]).
    pub results_by_rule: Option<String>,
}

impl ExistingReport {
    /// Whether polscan wrote it (its `managed-by` label).
    pub fn managed_by_polscan(&self) -> bool {
        self.managed_by.as_deref() == Some(MANAGED_BY_VALUE)
    }

    fn content_hash(&self) -> Option<&str> {
        self.content_hash.as_deref()
    }
}

/// What the scan listed: the kinds whose LIST completed, and whether any
/// kind failed.
#[derive(Debug, Clone, Default)]
pub struct ListingOutcome {
    /// `(group, kind)` of each kind whose reports may be pruned: listed
    /// completely, or known to have no results.
    pub completed_kinds: BTreeSet<(String, String)>,
    /// `(group, kind)` of each kind this scan LISTed completely: those of
    /// `completed_kinds` whose objects were all seen (a kind known to have
    /// no results is not listed, and a missing policy may match it).
    pub listed_kinds: BTreeSet<(String, String)>,
    /// Some kind was not listed completely (the run is not
    /// [`complete`](crate::scan::ScanOutcome::complete), or a filter left
    /// kinds out): reports that span kinds (no resource scope) are kept.
    pub any_failed: bool,
    /// Some policy could not be read or loaded in this run.
    pub policies_incomplete: bool,
    /// `any_failed` only because a filter left kinds out: every LIST of
    /// the run completed. A namespace's per-namespace parts the run
    /// rewrote are then all of that namespace's (fault18 F18-2: the parts
    /// a namespace no longer needs were kept for good).
    pub only_filtered: bool,
}

/// What a scan writes, leaves and deletes, each a list of report keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// New or changed reports, by key.
    pub apply: Vec<ReportKey>,
    /// Reports already in the cluster with the same content.
    pub unchanged: Vec<ReportKey>,
    /// polscan's reports the scan no longer wants, whose kinds were
    /// listed completely in a run that had every policy.
    pub delete: Vec<ReportKey>,
    /// Stale-looking reports kept because their kind's LIST did not complete.
    pub kept_after_failed_list: Vec<ReportKey>,
    /// Stale-looking reports kept because some policy was missing from the
    /// run (they may carry its results).
    pub kept_policies_incomplete: Vec<ReportKey>,
}

/// Decides the writes and deletions of a scan; polscan's reports of either
/// layout (`--report-per`) go by the same rules. `listed`: the
/// per-resource report key of every object the scan listed in scope
/// (None when not known): while a policy is missing, a per-resource report
/// of a kind LISTed completely ([`ListingOutcome::listed_kinds`]) whose
/// resource is not among them is deleted all the same (the resource is
/// gone).
pub fn plan(
    desired: &[DesiredReport],
    existing: &[ExistingReport],
    listing: &ListingOutcome,
    listed: Option<&HashSet<ReportKey>>,
) -> Plan {
    let existing_by_key: BTreeMap<&ReportKey, &ExistingReport> = existing
        .iter()
        .map(|report| (&report.key, report))
        .collect();
    let mut plan = Plan::default();
    for report in desired {
        match existing_by_key.get(&report.key) {
            Some(found) if found.content_hash() == Some(report.content_hash.as_str()) => {
                plan.unchanged.push(report.key.clone())
            }
            _ => plan.apply.push(report.key.clone()),
        }
    }
    let wanted: BTreeSet<&ReportKey> = desired.iter().map(|report| &report.key).collect();
    for report in existing {
        if wanted.contains(&report.key) || !report.managed_by_polscan() {
            continue;
        }
        // Either shape: the results of a per-resource report's kind, or of
        // every kind for a per-namespace one, are in this run's reports.
        let listed_completely = match &report.scope_kind {
            Some(kind) => listing.completed_kinds.contains(kind),
            // A report without a resource scope spans kinds.
            None => !listing.any_failed,
        };
        let resource_gone = report
            .scope_kind
            .as_ref()
            .is_some_and(|kind| listing.listed_kinds.contains(kind))
            && listed.is_some_and(|listed| !listed.contains(&report.key));
        if listing.policies_incomplete && !resource_gone {
            plan.kept_policies_incomplete.push(report.key.clone());
        } else if listed_completely {
            plan.delete.push(report.key.clone());
        } else {
            plan.kept_after_failed_list.push(report.key.clone());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use report_model::shape::{SHAPE_PER_NAMESPACE, SHAPE_PER_RESOURCE};

    /// The plan without the listed objects (not known).
    fn plan(
        desired: &[DesiredReport],
        existing: &[ExistingReport],
        listing: &ListingOutcome,
    ) -> Plan {
        super::plan(desired, existing, listing, None)
    }

    fn key(namespace: &str, name: &str) -> ReportKey {
        ReportKey {
            cluster_scoped: namespace.is_empty(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_report_key_names_a_report_object_of_its_api() {
        let key = key("shop", "uid-1");
        let reference = key.reference(ReportApi::Wgpolicy);
        assert_eq!(
            (reference.api_version.as_str(), reference.kind.as_str()),
            ("wgpolicyk8s.io/v1alpha2", "PolicyReport")
        );
        assert_eq!(
            (reference.namespace, reference.name),
            (key.namespace, key.name)
        );
        let cluster = report_resource(ReportApi::OpenReports, true);
        assert_eq!(
            cluster.collection_path(None),
            "/apis/openreports.io/v1alpha1/clusterreports"
        );
        assert_eq!(
            report_resource(ReportApi::Wgpolicy, false).collection_path(Some("shop")),
            "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports"
        );
    }

    fn desired(namespace: &str, name: &str, hash: &str) -> DesiredReport {
        DesiredReport {
            key: key(namespace, name),
            content_hash: hash.into(),
        }
    }

    fn existing(
        namespace: &str,
        name: &str,
        hash: &str,
        owner: &str,
        shape: &str,
        scope: Option<(&str, &str)>,
    ) -> ExistingReport {
        ExistingReport {
            key: key(namespace, name),
            managed_by: Some(owner.to_string()),
            shape: Some(shape.to_string()),
            content_hash: Some(hash.to_string()),
            scope_kind: scope.map(|(g, k)| (g.to_string(), k.to_string())),
            scope_name: None,
            inputs: None,
            results_by_rule: None,
        }
    }

    fn listed(kinds: &[(&str, &str)], any_failed: bool) -> ListingOutcome {
        ListingOutcome {
            completed_kinds: kinds
                .iter()
                .map(|(g, k)| (g.to_string(), k.to_string()))
                .collect(),
            listed_kinds: kinds
                .iter()
                .map(|(g, k)| (g.to_string(), k.to_string()))
                .collect(),
            any_failed,
            policies_incomplete: false,
            only_filtered: false,
        }
    }

    #[test]
    fn unchanged_reports_are_not_written_again() {
        let plan = plan(
            &[
                desired("a", "r1", "h1"),
                desired("a", "r2", "new"),
                desired("b", "r3", "h3"),
            ],
            &[
                existing(
                    "a",
                    "r1",
                    "h1",
                    "polscan",
                    SHAPE_PER_RESOURCE,
                    Some(("", "Pod")),
                ),
                existing(
                    "a",
                    "r2",
                    "old",
                    "polscan",
                    SHAPE_PER_RESOURCE,
                    Some(("", "Pod")),
                ),
            ],
            &listed(&[("", "Pod")], false),
        );
        assert_eq!(plan.unchanged, vec![key("a", "r1")]);
        assert_eq!(plan.apply, vec![key("a", "r2"), key("b", "r3")]);
        assert!(plan.delete.is_empty());
    }

    #[test]
    fn stale_reports_are_deleted_only_for_completely_listed_kinds() {
        let plan = plan(
            &[],
            &[
                existing(
                    "a",
                    "gone-pod",
                    "h",
                    "polscan",
                    SHAPE_PER_RESOURCE,
                    Some(("", "Pod")),
                ),
                existing(
                    "a",
                    "secret-report",
                    "h",
                    "polscan",
                    SHAPE_PER_RESOURCE,
                    Some(("", "Secret")),
                ),
            ],
            &listed(&[("", "Pod")], true),
        );
        assert_eq!(plan.delete, vec![key("a", "gone-pod")]);
        assert_eq!(plan.kept_after_failed_list, vec![key("a", "secret-report")]);
    }

    #[test]
    fn reports_of_other_producers_are_never_touched() {
        let plan = plan(
            &[],
            &[existing(
                "a",
                "kyverno-report",
                "h",
                "kyverno",
                SHAPE_PER_RESOURCE,
                Some(("", "Pod")),
            )],
            &listed(&[("", "Pod")], false),
        );
        assert_eq!(plan, Plan::default());
    }

    #[test]
    fn the_other_shape_s_reports_go_by_the_same_rules() {
        let other = [
            existing("a", "ns-report", "h", "polscan", SHAPE_PER_NAMESPACE, None),
            existing(
                "a",
                "polscan-uid",
                "h",
                "polscan",
                SHAPE_PER_RESOURCE,
                Some(("", "Pod")),
            ),
        ];
        // Switched to per-resource: the per-namespace report goes.
        let switched = plan(&[], &other[..1], &listed(&[("", "Pod")], false));
        assert_eq!(switched.delete, vec![key("a", "ns-report")]);
        // ...but not after a run where some LIST failed.
        let failed = plan(&[], &other[..1], &listed(&[("", "Pod")], true));
        assert!(failed.delete.is_empty());
        assert_eq!(failed.kept_after_failed_list, vec![key("a", "ns-report")]);
        // Switched to per-namespace: a per-resource report goes when its
        // kind was listed completely, else it stays.
        let unlisted = plan(&[], &other[1..], &listed(&[], true));
        assert_eq!(
            unlisted.kept_after_failed_list,
            vec![key("a", "polscan-uid")]
        );
        let complete = plan(&[], &other[1..], &listed(&[("", "Pod")], true));
        assert_eq!(complete.delete, vec![key("a", "polscan-uid")]);
    }

    #[test]
    fn per_namespace_reports_are_pruned_only_after_a_complete_listing() {
        let stale = existing(
            "a",
            "polscan-ns-a-2",
            "h",
            "polscan",
            SHAPE_PER_NAMESPACE,
            None,
        );
        let after_failure = plan(&[], std::slice::from_ref(&stale), &listed(&[], true));
        assert!(after_failure.delete.is_empty());
        let complete = plan(&[], &[stale], &listed(&[], false));
        assert_eq!(complete.delete, vec![key("a", "polscan-ns-a-2")]);
    }

    #[test]
    fn nothing_is_pruned_when_a_policy_source_failed() {
        let stale = existing(
            "a",
            "polscan-sa-uid",
            "h",
            "polscan",
            SHAPE_PER_RESOURCE,
            Some(("", "ServiceAccount")),
        );
        let listing = ListingOutcome {
            policies_incomplete: true,
            ..listed(&[("", "ServiceAccount")], false)
        };
        let plan = plan(&[], std::slice::from_ref(&stale), &listing);
        assert!(plan.delete.is_empty());
        assert_eq!(
            plan.kept_policies_incomplete,
            vec![key("a", "polscan-sa-uid")]
        );
        // The object still listed: its report may hold the missing
        // policy's results, so it is kept.
        let still_there = HashSet::from([key("a", "polscan-sa-uid")]);
        let kept = super::plan(
            &[],
            std::slice::from_ref(&stale),
            &listing,
            Some(&still_there),
        );
        assert!(kept.delete.is_empty());
        assert_eq!(
            kept.kept_policies_incomplete,
            vec![key("a", "polscan-sa-uid")]
        );
    }

    #[test]
    fn the_report_of_a_gone_resource_is_deleted_while_a_policy_is_missing() {
        let gone = existing(
            "a",
            "polscan-gone-uid",
            "h",
            "polscan",
            SHAPE_PER_RESOURCE,
            Some(("", "Service")),
        );
        let unlisted_kind = existing(
            "a",
            "polscan-cm-uid",
            "h",
            "polscan",
            SHAPE_PER_RESOURCE,
            Some(("", "ConfigMap")),
        );
        let part = existing(
            "a",
            "polscan-ns-a-2",
            "h",
            "polscan",
            SHAPE_PER_NAMESPACE,
            None,
        );
        let not_targeted = existing(
            "a",
            "polscan-sa-uid",
            "h",
            "polscan",
            SHAPE_PER_RESOURCE,
            Some(("", "ServiceAccount")),
        );
        let mut listing = ListingOutcome {
            policies_incomplete: true,
            ..listed(&[("", "Service")], false)
        };
        // No loaded policy matches ServiceAccounts: known to have no
        // results, so not listed — but the missing policy may match them.
        listing
            .completed_kinds
            .insert((String::new(), "ServiceAccount".into()));
        let listed = HashSet::from([key("a", "polscan-other-uid")]);
        let plan = super::plan(
            &[],
            &[gone, unlisted_kind, part, not_targeted],
            &listing,
            Some(&listed),
        );
        // Gone: its kind listed completely and it is not among the objects.
        assert_eq!(plan.delete, vec![key("a", "polscan-gone-uid")]);
        // A kind not listed completely proves nothing; a part spans objects.
        assert_eq!(plan.kept_after_failed_list, Vec::<ReportKey>::new());
        assert_eq!(
            plan.kept_policies_incomplete,
            vec![
                key("a", "polscan-cm-uid"),
                key("a", "polscan-ns-a-2"),
                key("a", "polscan-sa-uid")
            ]
        );
    }

    #[test]
    fn a_listed_object_s_report_key_is_the_key_its_report_is_shaped_with() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": "shop", "name": "web", "uid": "0b9f3c2e-1111-4222-8333-444455556666"},
        });
        assert_eq!(
            wanted::resource_report_key(&pod),
            key("shop", "polscan-0b9f3c2e-1111-4222-8333-444455556666")
        );
        let node = serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "abc"}});
        assert_eq!(wanted::resource_report_key(&node), key("", "polscan-abc"));
        // Without a usable uid the name is a digest, as the shaper makes it.
        let odd = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "shop", "name": "x", "uid": "Not_DNS"}});
        let reference = crate::engine::ResourceRef::from_resource(&odd);
        assert_eq!(
            wanted::resource_report_key(&odd).name,
            report_model::shape::resource_report_name(&(&reference).into())
        );
        assert_ne!(wanted::resource_report_key(&odd).name, "polscan-Not_DNS");
    }
}
