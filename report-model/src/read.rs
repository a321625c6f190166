//! Stored reports read as they are, field by field.
//!
//! A report object enters as JSON (from the cluster or a file, written by
//! polscan, Kyverno or another producer); borrowed views of the report,
//! its results and the objects they name leave. The typed [`crate::report`]
//! model is what polscan writes and checks against the CRDs; a view never
//! rejects a report: a missing or ill-typed field reads as absent (a
//! non-string property is left out), so one odd field in a report another
//! tool wrote loses nothing else of it. The wire names
//! (wgpolicyk8s.io/v1alpha2, which openreports.io keeps) live here, not in
//! the readers.

use serde_json::Value;

use crate::report::{CLUSTER_POLICY_REPORT_KIND, POLICY_REPORT_KIND};
use crate::shape::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// The kinds a report object has: `PolicyReport` (namespaced) and
/// `ClusterPolicyReport`.
pub const REPORT_KINDS: [&str; 2] = [POLICY_REPORT_KIND, CLUSTER_POLICY_REPORT_KIND];

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A PolicyReport or ClusterPolicyReport as stored.
#[derive(Debug, Clone, Copy)]
pub struct ReportView<'a>(&'a Value);

impl<'a> ReportView<'a> {
    /// The view of `object` when its `kind` is a report kind
    /// ([`REPORT_KINDS`]); None for any other object.
    pub fn of(object: &'a Value) -> Option<ReportView<'a>> {
        text(object, "kind")
            .filter(|kind| REPORT_KINDS.contains(kind))
            .map(|_| ReportView(object))
    }

    /// Whether polscan wrote it: its `app.kubernetes.io/managed-by` label
    /// is polscan's.
    pub fn managed_by_polscan(&self) -> bool {
        self.0
            .pointer("/metadata/labels")
            .and_then(|labels| labels.get(MANAGED_BY_LABEL))
            .and_then(Value::as_str)
            == Some(MANAGED_BY_VALUE)
    }

    /// `scope`: the one object a per-resource report is about (Kyverno's
    /// layout); None when absent.
    pub fn scope(&self) -> Option<ObjectView<'a>> {
        self.0.get("scope").map(ObjectView)
    }

    /// `results`, in stored order; none when absent or not a list.
    pub fn results(&self) -> impl Iterator<Item = ResultView<'a>> {
        self.0
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(ResultView)
    }
}

/// One entry of a report's `results`.
#[derive(Debug, Clone, Copy)]
pub struct ResultView<'a>(&'a Value);

impl<'a> ResultView<'a> {
    /// `policy`: the policy's name (`namespace/name` for a namespaced
    /// policy in Kyverno's reports); "" when absent.
    pub fn policy(&self) -> &'a str {
        text(self.0, "policy").unwrap_or("")
    }

    /// `rule`; "" when absent.
    pub fn rule(&self) -> &'a str {
        text(self.0, "rule").unwrap_or("")
    }

    /// `result`: `pass`, `fail`, `warn`, `error` or `skip` as written;
    /// "" when absent.
    pub fn result(&self) -> &'a str {
        text(self.0, "result").unwrap_or("")
    }

    /// `message` (upstream's description); "" when absent.
    pub fn message(&self) -> &'a str {
        text(self.0, "message").unwrap_or("")
    }

    /// `timestamp.seconds`: seconds since the Unix epoch; 0 when absent.
    pub fn timestamp_seconds(&self) -> i64 {
        self.0
            .pointer("/timestamp/seconds")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// `properties` whose values are strings, as (key, value) pairs in
    /// stored order; others are left out.
    pub fn properties(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(key, value)| Some((key.as_str(), value.as_str()?)))
    }

    /// The object the result is about: its first `resources` entry (the
    /// per-namespace layout), else the report's `scope` (Kyverno's
    /// per-resource layout); None when neither names one.
    pub fn subject(&self, report_scope: Option<ObjectView<'a>>) -> Option<ObjectView<'a>> {
        self.0
            .get("resources")
            .and_then(Value::as_array)
            .and_then(|resources| resources.first())
            .map(ObjectView)
            .or(report_scope)
    }
}

/// An object reference as stored (corev1.ObjectReference's fields).
#[derive(Debug, Clone, Copy)]
pub struct ObjectView<'a>(&'a Value);

impl<'a> ObjectView<'a> {
    /// `apiVersion`; "" when absent.
    pub fn api_version(&self) -> &'a str {
        text(self.0, "apiVersion").unwrap_or("")
    }

    /// `kind`; "" when absent.
    pub fn kind(&self) -> &'a str {
        text(self.0, "kind").unwrap_or("")
    }

    /// `namespace`; "" when absent (cluster-scoped objects).
    pub fn namespace(&self) -> &'a str {
        text(self.0, "namespace").unwrap_or("")
    }

    /// `name`; "" when absent.
    pub fn name(&self) -> &'a str {
        text(self.0, "name").unwrap_or("")
    }

    /// Whether `other` is this very stored entry (not an equal one): the
    /// results of a per-resource report all name its `scope`, so a reader
    /// can reuse what it made of the previous result's subject.
    pub fn is(&self, other: &ObjectView<'_>) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_report_kinds_have_a_view() {
        assert!(ReportView::of(&json!({"kind": "PolicyReport"})).is_some());
        assert!(ReportView::of(&json!({"kind": "ClusterPolicyReport"})).is_some());
        assert!(ReportView::of(&json!({"kind": "ConfigMap"})).is_none());
        assert!(ReportView::of(&json!({"kind": 1})).is_none());
    }

    #[test]
    fn odd_fields_read_as_absent_and_lose_nothing_else() {
        let report = json!({
            "kind": "PolicyReport",
            "metadata": {"labels": {"app.kubernetes.io/managed-by": "polscan"}},
            "scope": {"apiVersion": "v1", "kind": "Pod", "namespace": "a", "name": "web"},
            "results": [
                {"policy": "p", "rule": "r", "result": "fail", "message": 7,
                 "timestamp": {"seconds": 1700000000, "nanos": 0},
                 "properties": {"kept": "yes", "count": 3}},
                {"policy": "q", "result": "pass",
                 "resources": [{"kind": "Deployment", "namespace": "a", "name": "api"}]}
            ]
        });
        let view = ReportView::of(&report).expect("a report");
        assert!(view.managed_by_polscan());
        let results: Vec<ResultView> = view.results().collect();
        assert_eq!(results.len(), 2);
        let first = results[0];
        assert_eq!(
            (first.policy(), first.rule(), first.result()),
            ("p", "r", "fail")
        );
        assert_eq!(first.message(), "", "a non-string message reads as absent");
        assert_eq!(first.timestamp_seconds(), 1_700_000_000);
        assert_eq!(first.properties().collect::<Vec<_>>(), [("kept", "yes")]);
        let scope = view.scope();
        let subject = first.subject(scope).expect("the scope");
        assert_eq!(
            (
                subject.api_version(),
                subject.kind(),
                subject.namespace(),
                subject.name()
            ),
            ("v1", "Pod", "a", "web")
        );
        assert!(subject.is(&scope.expect("a scope")));
        let second = results[1].subject(scope).expect("its resources entry");
        assert_eq!((second.kind(), second.name()), ("Deployment", "api"));
        assert!(!second.is(&subject));
        assert_eq!(results[1].rule(), "");
        assert_eq!(results[1].timestamp_seconds(), 0);
    }

    #[test]
    fn a_report_of_another_producer_is_not_polscan_s() {
        let report = json!({"kind": "ClusterPolicyReport",
                            "metadata": {"labels": {"app.kubernetes.io/managed-by": "kyverno"}}});
        let view = ReportView::of(&report).expect("a report");
        assert!(!view.managed_by_polscan());
        assert_eq!(view.results().count(), 0);
        assert!(view.scope().is_none());
    }
}
