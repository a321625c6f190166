//! The reports a scan wants, typed until written: shaped reports (from
//! report-model) enter; [`Wanted`] leaves — each report keyed by where it
//! lives ([`ReportKey`]) with its content hash — and the small edits the
//! writer makes before sending one (carrying over results of policies a
//! run lacks, annotations, renames) and the CRD schema check.

use std::collections::{BTreeMap, BTreeSet};

use report_model::schema::{ReportSchemas, SchemaError};
use report_model::shape::ShapedReports;
use serde_json::Value;

use super::ReportKey;

/// Where the per-resource report of the listed object `resource` lives:
/// its namespace (a ClusterPolicyReport for a cluster-scoped object) and
/// [`resource_report_name`](report_model::shape::resource_report_name) of
/// its identity, as the report shaped from its results is keyed.
pub fn resource_report_key(resource: &Value) -> ReportKey {
    let reference = crate::engine::ResourceRef::from_resource(resource);
    let name = report_model::shape::resource_report_name(&(&reference).into());
    ReportKey {
        cluster_scoped: reference.namespace.is_empty(),
        namespace: reference.namespace,
        name,
    }
}

/// A report the scan wants, kept typed until it is written (a JSON value
/// per report would multiply the memory a large cluster needs).
#[derive(Debug, Clone)]
pub enum WantedReport {
    /// A PolicyReport.
    Namespaced(report_model::PolicyReport),
    /// A ClusterPolicyReport.
    Cluster(report_model::ClusterPolicyReport),
}

impl serde::Serialize for WantedReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            WantedReport::Namespaced(report) => report.serialize(serializer),
            WantedReport::Cluster(report) => report.serialize(serializer),
        }
    }
}

impl WantedReport {
    /// Adds the results of `stored` (a report as read from the cluster)
    /// whose policy is not in `loaded`, and refreshes the content hash;
    /// returns how many were added.
    pub(crate) fn carry_over(
        &mut self,
        stored: &Value,
        loaded: &BTreeSet<String>,
    ) -> Result<usize, serde_json::Error> {
        let results: Vec<report_model::ReportResult> = match stored.get("results") {
            Some(results) => serde_json::from_value(results.clone())?,
            None => Vec::new(),
        };
        let missing: Vec<report_model::ReportResult> = results
            .into_iter()
            .filter(|result| !loaded.contains(&result.policy))
            .collect();
        let count = missing.len();
        if count == 0 {
            return Ok(0);
        }
        match self {
            WantedReport::Namespaced(report) => report.extend_results(missing),
            WantedReport::Cluster(report) => report.extend_results(missing),
        }
        self.renew_after_edit();
        Ok(count)
    }

    /// After its results were edited (carried over, or dropped): the
    /// report no longer stands for one evaluation, so it must not be
    /// reused later (the new content hash breaks the seal too; the seal
    /// and its results index are dropped to say so), and its content hash
    /// is renewed. The server-given uid is not sent back.
    pub(crate) fn renew_after_edit(&mut self) {
        let metadata = self.metadata_mut();
        for key in [
            report_model::shape::INPUTS_ANNOTATION,
            report_model::shape::RESULTS_ANNOTATION,
        ] {
            metadata.annotations.remove(key);
        }
        metadata.uid = None;
        match self {
            WantedReport::Namespaced(report) => {
                *report = report_model::with_content_hash(report.clone());
            }
            WantedReport::Cluster(report) => {
                *report = report_model::with_content_hash(report.clone());
            }
        }
    }

    fn metadata(&self) -> &report_model::meta::ObjectMeta {
        match self {
            WantedReport::Namespaced(report) => report.metadata(),
            WantedReport::Cluster(report) => report.metadata(),
        }
    }

    fn metadata_mut(&mut self) -> &mut report_model::meta::ObjectMeta {
        match self {
            WantedReport::Namespaced(report) => report.metadata_mut(),
            WantedReport::Cluster(report) => report.metadata_mut(),
        }
    }

    /// Sets an annotation (not part of the content hash).
    pub(crate) fn annotate(&mut self, key: &str, value: String) {
        self.metadata_mut()
            .annotations
            .insert(key.to_string(), value);
    }

    /// An annotation's value.
    pub(crate) fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata().annotations.get(key).map(String::as_str)
    }

    pub(crate) fn content_hash(&self) -> Option<String> {
        match self {
            WantedReport::Namespaced(report) => report_model::stored_content_hash(report),
            WantedReport::Cluster(report) => report_model::stored_content_hash(report),
        }
        .map(str::to_string)
    }

    /// The structural check against the report CRD the server will apply,
    /// and the server's size limit; a report that fails it is never sent.
    pub(crate) fn check_schema(&self, schemas: &ReportSchemas) -> Result<(), SchemaError> {
        match self {
            WantedReport::Namespaced(report) => schemas.check_policy_report(report),
            WantedReport::Cluster(report) => schemas.check_cluster_policy_report(report),
        }
    }

    pub(crate) fn rename(&mut self, name: String) {
        match self {
            WantedReport::Namespaced(report) => report.metadata_mut().name = Some(name),
            WantedReport::Cluster(report) => report.metadata_mut().name = Some(name),
        }
    }
}

/// Reports by key, each with its content hash.
pub type Wanted = BTreeMap<ReportKey, (String, WantedReport)>;

/// Shaped reports keyed by where they live, each with its content hash.
pub fn wanted_reports(shaped: ShapedReports) -> Wanted {
    let mut wanted = BTreeMap::new();
    for report in shaped.policy_reports {
        let hash = report_model::stored_content_hash(&report)
            .unwrap_or("")
            .to_string();
        let key = ReportKey {
            cluster_scoped: false,
            namespace: report.namespace().to_string(),
            name: report.name().to_string(),
        };
        wanted.insert(key, (hash, WantedReport::Namespaced(report)));
    }
    for report in shaped.cluster_policy_reports {
        let hash = report_model::stored_content_hash(&report)
            .unwrap_or("")
            .to_string();
        let key = ReportKey {
            cluster_scoped: true,
            namespace: String::new(),
            name: report.name().to_string(),
        };
        wanted.insert(key, (hash, WantedReport::Cluster(report)));
    }
    wanted
}
