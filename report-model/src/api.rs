//! The report APIs a report can be written to, without I/O: which one
//! enters ([`ReportApi`]); its group, version, kinds, resource names and
//! shipped CRDs, and a wgpolicyk8s.io report turned into its form, leave.
//!
//! - `wgpolicyk8s.io/v1alpha2` `PolicyReport` / `ClusterPolicyReport`: what
//!   Kyverno's reports controller writes by default and Policy Reporter reads.
//! - `openreports.io/v1alpha1` `Report` / `ClusterReport` (the OpenReports
//!   API, which Kyverno 1.15+ writes when told to): the same fields, plus a
//!   top-level `source` naming the producer (polscan writes `polscan`, as
//!   every result's `source`).

use serde_json::Value;

use crate::report::{API_VERSION, CLUSTER_POLICY_REPORT_KIND, POLICY_REPORT_KIND};

/// The OpenReports API group and version.
pub const OPENREPORTS_API_VERSION: &str = "openreports.io/v1alpha1";
/// What polscan writes in an OpenReports report's top-level `source`.
pub const OPENREPORTS_SOURCE: &str = "polscan";

/// The OpenReports `Report` CRD, as `kubectl apply` takes it.
pub const REPORTS_CRD_YAML: &str =
    include_str!("../../deploy/crds-openreports/openreports.io_reports.yaml");
/// The OpenReports `ClusterReport` CRD, as `kubectl apply` takes it.
pub const CLUSTER_REPORTS_CRD_YAML: &str =
    include_str!("../../deploy/crds-openreports/openreports.io_clusterreports.yaml");

/// A report API: where reports are written, read and pruned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportApi {
    /// `wgpolicyk8s.io/v1alpha2`.
    #[default]
    Wgpolicy,
    /// `openreports.io/v1alpha1`.
    OpenReports,
}

impl ReportApi {
    /// Both, in the order `auto` prefers them.
    pub const ALL: [ReportApi; 2] = [ReportApi::Wgpolicy, ReportApi::OpenReports];

    /// The other one.
    pub fn other(self) -> ReportApi {
        match self {
            ReportApi::Wgpolicy => ReportApi::OpenReports,
            ReportApi::OpenReports => ReportApi::Wgpolicy,
        }
    }

    /// `group/version`, as in `apiVersion`.
    pub fn api_version(self) -> &'static str {
        match self {
            ReportApi::Wgpolicy => API_VERSION,
            ReportApi::OpenReports => OPENREPORTS_API_VERSION,
        }
    }

    /// The API group (`wgpolicyk8s.io`, `openreports.io`). Spelled out,
    /// not split from [`Self::api_version`]: this crate does not depend on
    /// the engine, whose `kinds::split_api_version` is the one split.
    pub fn group(self) -> &'static str {
        match self {
            ReportApi::Wgpolicy => "wgpolicyk8s.io",
            ReportApi::OpenReports => "openreports.io",
        }
    }

    /// The API version (`v1alpha2`, `v1alpha1`).
    pub fn version(self) -> &'static str {
        match self {
            ReportApi::Wgpolicy => "v1alpha2",
            ReportApi::OpenReports => "v1alpha1",
        }
    }

    /// The kind of a namespaced (`cluster_scoped` false) or cluster report.
    pub fn kind(self, cluster_scoped: bool) -> &'static str {
        match (self, cluster_scoped) {
            (ReportApi::Wgpolicy, false) => POLICY_REPORT_KIND,
            (ReportApi::Wgpolicy, true) => CLUSTER_POLICY_REPORT_KIND,
            (ReportApi::OpenReports, false) => "Report",
            (ReportApi::OpenReports, true) => "ClusterReport",
        }
    }

    /// The resource (plural) name of a namespaced or cluster report.
    pub fn plural(self, cluster_scoped: bool) -> &'static str {
        match (self, cluster_scoped) {
            (ReportApi::Wgpolicy, false) => "policyreports",
            (ReportApi::Wgpolicy, true) => "clusterpolicyreports",
            (ReportApi::OpenReports, false) => "reports",
            (ReportApi::OpenReports, true) => "clusterreports",
        }
    }

    /// The CRDs polscan ships for this API, `(name, YAML)`: the namespaced
    /// kind's, then the cluster kind's.
    pub fn crds(self) -> [(&'static str, &'static str); 2] {
        match self {
            ReportApi::Wgpolicy => [
                (
                    "policyreports.wgpolicyk8s.io",
                    crate::schema::POLICY_REPORTS_CRD_YAML,
                ),
                (
                    "clusterpolicyreports.wgpolicyk8s.io",
                    crate::schema::CLUSTER_POLICY_REPORTS_CRD_YAML,
                ),
            ],
            ReportApi::OpenReports => [
                ("reports.openreports.io", REPORTS_CRD_YAML),
                ("clusterreports.openreports.io", CLUSTER_REPORTS_CRD_YAML),
            ],
        }
    }

    /// A report shaped as wgpolicyk8s.io JSON, turned into this API's
    /// form: its `apiVersion` and `kind`, and for OpenReports the top-level
    /// `source`. Everything else (name, scope, owner, labels, results,
    /// summary) is the same in both. A value that is not a report is left
    /// as it is.
    pub fn convert(self, report: &mut Value) {
        let Some(object) = report.as_object_mut() else {
            return;
        };
        let cluster_scoped = match object.get("kind").and_then(Value::as_str) {
            Some(kind) if kind == POLICY_REPORT_KIND => false,
            Some(kind) if kind == CLUSTER_POLICY_REPORT_KIND => true,
            _ => return,
        };
        object.insert("apiVersion".into(), self.api_version().into());
        object.insert("kind".into(), self.kind(cluster_scoped).into());
        if self == ReportApi::OpenReports {
            object.insert("source".into(), OPENREPORTS_SOURCE.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_of_each_api() {
        let open = ReportApi::OpenReports;
        assert_eq!(
            (
                open.group(),
                open.version(),
                open.kind(false),
                open.plural(true)
            ),
            ("openreports.io", "v1alpha1", "Report", "clusterreports")
        );
        let wg = ReportApi::Wgpolicy;
        assert_eq!(
            (wg.group(), wg.version(), wg.kind(true), wg.plural(false)),
            (
                "wgpolicyk8s.io",
                "v1alpha2",
                "ClusterPolicyReport",
                "policyreports"
            )
        );
        // Group and version are its apiVersion's.
        for api in ReportApi::ALL {
            assert_eq!(
                format!("{}/{}", api.group(), api.version()),
                api.api_version()
            );
        }
        // The shipped CRDs name the kinds and plurals above.
        for api in ReportApi::ALL {
            for ((name, yaml), cluster) in api.crds().into_iter().zip([false, true]) {
                let crd: Value = serde_yaml::from_str(yaml).unwrap();
                assert_eq!(crd["metadata"]["name"], name);
                assert_eq!(crd["spec"]["group"], api.group());
                assert_eq!(crd["spec"]["names"]["kind"], api.kind(cluster));
                assert_eq!(crd["spec"]["names"]["plural"], api.plural(cluster));
                assert_eq!(crd["spec"]["versions"][0]["name"], api.version());
                assert_eq!(
                    crd["spec"]["scope"],
                    if cluster { "Cluster" } else { "Namespaced" }
                );
            }
        }
    }

    #[test]
    fn a_report_in_openreports_form() {
        let mut report = json!({
            "apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "ClusterPolicyReport",
            "metadata": {"name": "polscan-1"}, "results": [{"policy": "p", "result": "pass"}],
        });
        let before = report.clone();
        ReportApi::Wgpolicy.convert(&mut report);
        assert_eq!(report, before);
        ReportApi::OpenReports.convert(&mut report);
        assert_eq!(report["apiVersion"], "openreports.io/v1alpha1");
        assert_eq!(report["kind"], "ClusterReport");
        assert_eq!(report["source"], "polscan");
        assert_eq!(report["results"], before["results"]);
        let mut other = json!({"kind": "ConfigMap"});
        ReportApi::OpenReports.convert(&mut other);
        assert_eq!(other, json!({"kind": "ConfigMap"}));
    }
}
