//! The results of deleted policies in the reports a scan keeps, decided
//! without I/O. A report of a kind the scan did not list is kept as stored
//! (not re-evaluated), but Kyverno's report controller removes a deleted
//! policy's results from every report, and so must polscan: otherwise the
//! evidence keeps judging a policy that no longer exists, until a scan
//! lists that kind again.
//!
//! Enter: whether the run read every policy source completely and the
//! names of the policies it read ([`existing_policies`]), then one stored
//! report at a time as read from the cluster. Leave: what to do with it
//! ([`KeptReportEdit`]): leave it, rewrite it without those results (its
//! summary recounted, its content hash renewed), or delete it when no
//! result is left. The driver reads and writes.

use std::collections::BTreeSet;

use report_model::api::ReportApi;
use report_model::{ClusterPolicyReport, PolicyReport, ReportError, ReportResult};
use serde_json::Value;

use super::wanted::WantedReport;
use super::ReportKey;

/// The names (`namespace/name` for namespaced kinds, as a report result's
/// `policy`) of the policies known to exist, or None when the run cannot
/// know: its policies did not come from the cluster (`--no-cluster-policies`),
/// or some policy source failed to list or some policy was invalid
/// (`policies_incomplete`: the policy a report names may be that one).
/// Without the set nothing is dropped.
pub fn existing_policies(
    cluster_policies_read: bool,
    policies_incomplete: bool,
    names: impl IntoIterator<Item = String>,
) -> Option<BTreeSet<String>> {
    (cluster_policies_read && !policies_incomplete).then(|| names.into_iter().collect())
}

/// How long before this run read the policies a result must have been
/// written for its policy's absence to count, in seconds. A policy
/// created after the read can have results already, written by another
/// scan running at the same time (a Secret scan has its own record and
/// Lease): their timestamps are after the read, on that scan's clock,
/// which this margin also allows to lag.
pub const CONCURRENT_SCAN_MARGIN_SECONDS: i64 = 300;

/// The policies a run read, and when: what [`without_deleted_policies`]
/// judges a result's policy by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPolicies {
    /// The names ([`existing_policies`]).
    pub names: BTreeSet<String>,
    /// When the run had read them (after the read: later is the safe
    /// side), seconds since the Unix epoch on this host's clock.
    pub read_at: i64,
}

impl ExistingPolicies {
    /// Whether `result` is of a policy gone before this run read the
    /// policies: not among them, and written at least
    /// [`CONCURRENT_SCAN_MARGIN_SECONDS`] before the read. A result without
    /// a time is kept (nothing says it is older than a policy created
    /// meanwhile).
    fn gone(&self, result: &ReportResult) -> bool {
        !self.names.contains(&result.policy)
            && result.timestamp.as_ref().is_some_and(|written| {
                written.seconds < self.read_at - CONCURRENT_SCAN_MARGIN_SECONDS
            })
    }
}

/// What becomes of one kept report.
#[derive(Debug)]
pub enum KeptReportEdit {
    /// Every result is of an existing policy: left as stored.
    Unchanged,
    /// Rewritten without the `removed` results of deleted policies.
    Rewrite {
        /// The report without them, its content hash renewed (boxed: the
        /// other variants are small).
        report: Box<WantedReport>,
        /// Results dropped.
        removed: usize,
    },
    /// Every result was of a deleted policy: the report is deleted.
    /// polscan never stores a report without results (a resource whose
    /// results are gone has its report pruned, as Kyverno removes the
    /// report of a resource no policy applies to any longer); an empty one
    /// would also read as "evaluated, nothing found" for a kind this run
    /// did not list.
    Delete {
        /// Results dropped.
        removed: usize,
    },
}

/// Why a stored report could not be read for the edit.
#[derive(Debug, thiserror::Error)]
#[error("reading the stored report {name}: {source}")]
pub struct KeptReportError {
    /// The report (`namespace/name`, or its name for a cluster report).
    pub name: String,
    /// What did not parse.
    #[source]
    pub source: ReportFormError,
}

/// What did not parse in a stored report.
#[derive(Debug, thiserror::Error)]
pub enum ReportFormError {
    /// Not JSON of a report.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A report of another kind or API version.
    #[error("{0}")]
    Report(#[from] ReportError),
}

/// The edit `stored` (a report of `api` as read from the cluster, at
/// `key`) needs so that it holds no result of a policy outside `existing`.
pub fn without_deleted_policies(
    key: &ReportKey,
    stored: &Value,
    api: ReportApi,
    existing: &ExistingPolicies,
) -> Result<KeptReportEdit, KeptReportError> {
    let gone = |result: &ReportResult| existing.gone(result);
    let error = |source: ReportFormError| KeptReportError {
        name: if key.cluster_scoped {
            key.name.clone()
        } else {
            format!("{}/{}", key.namespace, key.name)
        },
        source,
    };
    // Back to the wgpolicyk8s.io form polscan shapes (an OpenReports
    // report differs in apiVersion, kind and its top-level source only).
    let mut value = stored.clone();
    if let Some(object) = value.as_object_mut() {
        object.insert("apiVersion".into(), report_model::API_VERSION.into());
        let kind = if key.cluster_scoped {
            report_model::CLUSTER_POLICY_REPORT_KIND
        } else {
            report_model::POLICY_REPORT_KIND
        };
        object.insert("kind".into(), kind.into());
        if api == ReportApi::OpenReports {
            object.remove("source");
        }
    }
    let mut report = if key.cluster_scoped {
        WantedReport::Cluster(
            serde_json::from_value::<ClusterPolicyReport>(value)
                .map_err(|err| error(err.into()))?,
        )
    } else {
        WantedReport::Namespaced(
            serde_json::from_value::<PolicyReport>(value).map_err(|err| error(err.into()))?,
        )
    };
    let (removed, left) = match &mut report {
        WantedReport::Namespaced(report) => report.retain_results(|r| !gone(r)),
        WantedReport::Cluster(report) => report.retain_results(|r| !gone(r)),
    };
    if removed == 0 {
        return Ok(KeptReportEdit::Unchanged);
    }
    if left == 0 {
        return Ok(KeptReportEdit::Delete { removed });
    }
    report.renew_after_edit();
    Ok(KeptReportEdit::Rewrite {
        report: Box::new(report),
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> ReportKey {
        ReportKey {
            cluster_scoped: false,
            namespace: "team-a".into(),
            name: "polscan-uid-s1".into(),
        }
    }

    /// When the tests' run read the policies.
    const READ_AT: i64 = 1_000_000;

    fn result(policy: &str, status: &str) -> Value {
        json!({"policy": policy, "rule": "r", "result": status, "source": "kyverno",
            "timestamp": {"seconds": READ_AT - 86_400, "nanos": 0}})
    }

    fn stored(api_version: &str, kind: &str, results: Vec<Value>) -> Value {
        json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {
                "name": "polscan-uid-s1",
                "namespace": "team-a",
                "uid": "u-1",
                "resourceVersion": "42",
                "labels": {"app.kubernetes.io/managed-by": "polscan"},
                "annotations": {
                    "polscan.io/content-sha256": "old",
                    "polscan.io/inputs": "sealed",
                    "polscan.io/results-by-rule": "0fr,1pr",
                },
                "managedFields": [{"manager": "polscan"}],
            },
            "scope": {"apiVersion": "v1", "kind": "Secret", "namespace": "team-a", "name": "s1"},
            "summary": {"pass": 1, "fail": 2},
            "results": results,
        })
    }

    fn existing(names: &[&str]) -> ExistingPolicies {
        ExistingPolicies {
            names: existing_policies(true, false, names.iter().map(|n| n.to_string()))
                .unwrap_or_default(),
            read_at: READ_AT,
        }
    }

    /// A policy created after the run read the policies may have results
    /// already, from a scan running meanwhile: a result written within the
    /// margin before the read, or without a time, stays.
    #[test]
    fn results_written_around_the_read_stay() {
        let mut recent = result("new-policy", "fail");
        recent["timestamp"]["seconds"] = json!(READ_AT - 10);
        let mut untimed = result("new-policy", "fail");
        untimed.as_object_mut().map(|r| r.remove("timestamp"));
        let old = result("deleted", "fail");
        let report = stored(
            "wgpolicyk8s.io/v1alpha2",
            "PolicyReport",
            vec![recent, untimed, old],
        );
        let edit =
            without_deleted_policies(&key(), &report, ReportApi::Wgpolicy, &existing(&["other"]))
                .expect("edit");
        match edit {
            KeptReportEdit::Rewrite { removed, .. } => assert_eq!(removed, 1),
            other => panic!("only the old result goes: {other:?}"),
        }
    }

    #[test]
    fn only_a_run_that_read_every_policy_knows_which_are_gone() {
        let names = || ["a".to_string(), "team-a/b".to_string()];
        assert_eq!(
            existing_policies(true, false, names()),
            Some(BTreeSet::from(names()))
        );
        // A policy source failed, or a policy is invalid: the report's
        // policy may be that one.
        assert_eq!(existing_policies(true, true, names()), None);
        // Policies from files only: the cluster's are not known.
        assert_eq!(existing_policies(false, false, names()), None);
    }

    #[test]
    fn a_deleted_policy_s_results_leave_and_the_summary_is_recounted() {
        let report = stored(
            "wgpolicyk8s.io/v1alpha2",
            "PolicyReport",
            vec![
                result("secret-peek", "fail"),
                result("secret-peek", "fail"),
                result("require-team-label", "pass"),
            ],
        );
        let edit = without_deleted_policies(
            &key(),
            &report,
            ReportApi::Wgpolicy,
            &existing(&["require-team-label"]),
        )
        .map_err(|err| err.to_string());
        let Ok(KeptReportEdit::Rewrite { report, removed }) = edit else {
            panic!("expected a rewrite, got {edit:?}");
        };
        assert_eq!(removed, 2);
        let written = serde_json::to_value(&report).unwrap_or_default();
        let policies: Vec<&str> = written["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["policy"].as_str())
            .collect();
        assert_eq!(policies, ["require-team-label"]);
        assert_eq!(written["summary"]["fail"], 0);
        assert_eq!(written["summary"]["pass"], 1);
        let annotations = &written["metadata"]["annotations"];
        // A new content hash; the reuse seal and its results index, which
        // named the dropped results, go.
        assert_ne!(annotations["polscan.io/content-sha256"], "old");
        assert!(annotations["polscan.io/content-sha256"].is_string());
        assert!(annotations.get("polscan.io/inputs").is_none());
        assert!(annotations.get("polscan.io/results-by-rule").is_none());
        // The write is conditional on the version read; the server's own
        // fields are not sent.
        assert_eq!(written["metadata"]["resourceVersion"], "42");
        assert!(written["metadata"].get("uid").is_none());
        assert!(written["metadata"].get("managedFields").is_none());
        assert_eq!(written["scope"]["name"], "s1");
    }

    #[test]
    fn a_report_of_existing_policies_is_left_alone() {
        let report = stored(
            "wgpolicyk8s.io/v1alpha2",
            "PolicyReport",
            vec![result("require-team-label", "pass")],
        );
        let edit = without_deleted_policies(
            &key(),
            &report,
            ReportApi::Wgpolicy,
            &existing(&["require-team-label"]),
        );
        assert!(matches!(edit, Ok(KeptReportEdit::Unchanged)), "{edit:?}");
    }

    #[test]
    fn a_report_left_without_results_is_deleted() {
        let report = stored(
            "openreports.io/v1alpha1",
            "Report",
            vec![result("secret-peek", "fail"), result("secret-peek", "fail")],
        );
        let edit = without_deleted_policies(
            &key(),
            &report,
            ReportApi::OpenReports,
            &existing(&["require-team-label"]),
        );
        assert!(
            matches!(edit, Ok(KeptReportEdit::Delete { removed: 2 })),
            "{edit:?}"
        );
    }

    #[test]
    fn a_namespaced_policy_goes_by_its_namespace_and_name() {
        let report = stored(
            "wgpolicyk8s.io/v1alpha2",
            "PolicyReport",
            vec![
                result("team-a/local", "fail"),
                result("team-b/local", "fail"),
            ],
        );
        let edit = without_deleted_policies(
            &key(),
            &report,
            ReportApi::Wgpolicy,
            &existing(&["team-a/local", "local"]),
        );
        assert!(
            matches!(edit, Ok(KeptReportEdit::Rewrite { removed: 1, .. })),
            "{edit:?}"
        );
    }

    #[test]
    fn a_report_that_does_not_parse_is_an_error_naming_it() {
        let mut report = stored("wgpolicyk8s.io/v1alpha2", "PolicyReport", Vec::new());
        report["results"] = json!("not a list");
        let err = without_deleted_policies(&key(), &report, ReportApi::Wgpolicy, &existing(&[]))
            .map(|_| ())
            .map_err(|err| err.to_string());
        let Err(message) = err else {
            panic!("expected an error");
        };
        assert!(message.contains("team-a/polscan-uid-s1"), "{message}");
    }
}
