//! The `wgpolicyk8s.io/v1alpha2` report types: `ReportResult`, `Summary`,
//! `PolicyReport` (namespaced) and `ClusterPolicyReport` (cluster-scoped).
//!
//! Results enter through `PolicyReport::new` / `ClusterPolicyReport::new` (or
//! `serde` deserialization); both paths sort the results and recompute the
//! summary, so a report value can never carry a summary that disagrees with
//! its results. Reports leave through `serde` serialization.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::{LabelSelector, ObjectMeta, ObjectReference, OwnerReference, Timestamp};

/// `apiVersion` of both report kinds.
pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// `kind` of the namespaced report.
pub const POLICY_REPORT_KIND: &str = "PolicyReport";
/// `kind` of the cluster-scoped report.
pub const CLUSTER_POLICY_REPORT_KIND: &str = "ClusterPolicyReport";

/// Errors raised when a deserialized object is not the report it claims to be.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    /// The object's `apiVersion` is not [`API_VERSION`].
    #[error("apiVersion {found:?} is not {API_VERSION:?}")]
    WrongApiVersion {
        /// The `apiVersion` the object carries.
        found: String,
    },
    /// The object's `kind` is not the report kind being read.
    #[error("kind {found:?} is not {expected:?}")]
    WrongKind {
        /// [`POLICY_REPORT_KIND`] or [`CLUSTER_POLICY_REPORT_KIND`].
        expected: &'static str,
        /// The `kind` the object carries.
        found: String,
    },
}

/// Outcome of one policy rule on one subject (upstream's `PolicyResult`,
/// written in lowercase: `pass`, `fail`, `warn`, `error`, `skip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyResult {
    /// `pass`: the policy's requirements are met.
    Pass,
    /// `fail`: the policy's requirements are not met.
    Fail,
    /// `warn`: the requirements are not met and the policy is not scored.
    Warn,
    /// `error`: the policy could not be evaluated.
    Error,
    /// `skip`: the policy was not selected, by user input or applicability.
    Skip,
}

/// Criticality of a result (upstream's `PolicyResultSeverity`, written in
/// lowercase); declared from most to least severe so the derived `Ord` sorts
/// critical first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `critical`.
    Critical,
    /// `high`.
    High,
    /// `medium`.
    Medium,
    /// `low`.
    Low,
    /// `info`.
    Info,
}

/// One entry of `results[]` (upstream's `PolicyReportResult`): the outcome
/// of one policy rule on the resources it names.
///
/// Field declaration order is the wire order (it follows upstream's Go type).
/// Every field but `policy` and `result` is optional; an absent or empty one
/// is left out of the JSON, as upstream's `omitempty` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportResult {
    /// `source`: the policy engine that produced the result (`polscan` for
    /// polscan's own, `kyverno` in Kyverno's reports); `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `policy`: the policy's name or identifier (polscan writes
    /// `namespace/name` for a namespaced policy). Required.
    pub policy: String,
    /// `rule`: the rule's name within the policy; `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// `category`: the policy's category (Kyverno takes it from the
    /// `policies.kyverno.io/category` annotation); `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `severity`: the result's criticality (Kyverno takes it from the
    /// `policies.kyverno.io/severity` annotation); `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// `timestamp`: when the result was found, in seconds and nanoseconds
    /// since the Unix epoch; `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// `result`: the outcome of the rule. Required.
    pub result: PolicyResult,
    /// `scored`: whether the result counts towards a score (a failing
    /// non-scored rule is reported as `warn`); `false` is omitted.
    // Upstream marks this `omitempty`, so `false` is never written.
    #[serde(default, skip_serializing_if = "is_false")]
    pub scored: bool,
    /// `resources` (upstream's `Subjects`): the checked resources; empty
    /// (omitted) when the result is about the report's scope itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ObjectReference>,
    /// `resourceSelector` (upstream's `SubjectSelector`): a label selector
    /// for the checked resources, in place of `resources`; `None` (omitted)
    /// when not used, as polscan never uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_selector: Option<LabelSelector>,
    /// `message` (upstream's `Description`): a short, human-readable account
    /// of the result; `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `properties`: further key/value details (polscan writes `action`,
    /// `resultID` and `process`), sorted by key; omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl ReportResult {
    /// A result with only the required fields set.
    pub fn new(policy: impl Into<String>, result: PolicyResult) -> Self {
        Self {
            source: None,
            policy: policy.into(),
            rule: None,
            category: None,
            severity: None,
            timestamp: None,
            result,
            scored: false,
            resources: Vec::new(),
            resource_selector: None,
            message: None,
            properties: BTreeMap::new(),
        }
    }

    /// Sets `source`; an empty value leaves it out, as Kyverno's `omitempty`
    /// does (an empty optional field is not written at all).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into()).filter(|value: &String| !value.is_empty());
        self
    }

    /// Sets `rule`; an empty value leaves it out, as Kyverno's `omitempty`
    /// does (an empty optional field is not written at all).
    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into()).filter(|value: &String| !value.is_empty());
        self
    }

    /// Sets `category`; an empty value leaves it out, as Kyverno's `omitempty`
    /// does (an empty optional field is not written at all).
    pub fn with_category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into()).filter(|value: &String| !value.is_empty());
        self
    }

    /// Sets `severity`.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    /// Sets `timestamp`.
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets `scored` (`false` is not written).
    pub fn with_scored(mut self, scored: bool) -> Self {
        self.scored = scored;
        self
    }

    /// Appends a checked resource to `resources`.
    pub fn with_resource(mut self, resource: ObjectReference) -> Self {
        self.resources.push(resource);
        self
    }

    /// Sets `resourceSelector`.
    pub fn with_resource_selector(mut self, selector: LabelSelector) -> Self {
        self.resource_selector = Some(selector);
        self
    }

    /// Sets `message`; an empty value leaves it out, as Kyverno's `omitempty`
    /// does (an empty optional field is not written at all).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into()).filter(|value: &String| !value.is_empty());
        self
    }

    /// Sets `properties[key]` to `value`, replacing an earlier value.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The deterministic order of results inside a report: policy, rule,
    /// resources (kind, namespace, name, then the remaining reference fields),
    /// result, message, and then every other field so that only identical
    /// results compare equal.
    pub fn canonical_cmp(&self, other: &Self) -> Ordering {
        self.policy
            .cmp(&other.policy)
            .then_with(|| self.rule.cmp(&other.rule))
            .then_with(|| self.resources.cmp(&other.resources))
            .then_with(|| self.result.cmp(&other.result))
            .then_with(|| self.message.cmp(&other.message))
            .then_with(|| self.severity.cmp(&other.severity))
            .then_with(|| self.category.cmp(&other.category))
            .then_with(|| self.source.cmp(&other.source))
            .then_with(|| self.scored.cmp(&other.scored))
            .then_with(|| self.resource_selector.cmp(&other.resource_selector))
            .then_with(|| self.properties.cmp(&other.properties))
            .then_with(|| self.timestamp.cmp(&other.timestamp))
    }
}

/// Counts of results by outcome. Always serialized, zeros included, because
/// `kubectl get polr` printer columns read every field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Summary {
    /// `pass`: results whose policy requirements were met.
    #[serde(default)]
    pub pass: u64,
    /// `fail`: results whose policy requirements were not met.
    #[serde(default)]
    pub fail: u64,
    /// `warn`: non-scored results whose policy requirements were not met.
    #[serde(default)]
    pub warn: u64,
    /// `error`: results whose policy could not be evaluated.
    #[serde(default)]
    pub error: u64,
    /// `skip`: results whose policy was not selected for evaluation.
    #[serde(default)]
    pub skip: u64,
}

impl Summary {
    /// Counts `results` by their `result` field.
    pub fn from_results(results: &[ReportResult]) -> Self {
        let mut summary = Self::default();
        for result in results {
            summary.count(result.result);
        }
        summary
    }

    fn count(&mut self, outcome: PolicyResult) {
        let counter = match outcome {
            PolicyResult::Pass => &mut self.pass,
            PolicyResult::Fail => &mut self.fail,
            PolicyResult::Warn => &mut self.warn,
            PolicyResult::Error => &mut self.error,
            PolicyResult::Skip => &mut self.skip,
        };
        *counter += 1;
    }

    /// The number of results counted, all outcomes together.
    pub fn total(&self) -> u64 {
        self.pass + self.fail + self.warn + self.error + self.skip
    }
}

/// The fields both report kinds share besides `metadata`: scope, scope
/// selector, summary and results.
///
/// Fields are private so the only ways to change the results also re-sort
/// them and recompute the summary.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "ReportBodyWire")]
pub struct ReportBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<ObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope_selector: Option<LabelSelector>,
    summary: Summary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results: Vec<ReportResult>,
}

/// What is read from the wire; the stored summary is deliberately ignored and
/// recomputed from the results.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportBodyWire {
    #[serde(default)]
    scope: Option<ObjectReference>,
    #[serde(default)]
    scope_selector: Option<LabelSelector>,
    #[serde(default)]
    results: Vec<ReportResult>,
}

impl From<ReportBodyWire> for ReportBody {
    fn from(wire: ReportBodyWire) -> Self {
        let mut body = ReportBody::new(wire.results);
        body.scope = wire.scope;
        body.scope_selector = wire.scope_selector;
        body
    }
}

impl ReportBody {
    /// Sorts `results` canonically and computes the summary.
    pub fn new(mut results: Vec<ReportResult>) -> Self {
        results.sort_by(ReportResult::canonical_cmp);
        let summary = Summary::from_results(&results);
        Self {
            scope: None,
            scope_selector: None,
            summary,
            results,
        }
    }

    /// `scope`: the object the report covers: a per-resource report's
    /// resource, a per-namespace report's `Namespace`; `None` (omitted) when
    /// the report has no single scope (polscan's cluster report).
    pub fn scope(&self) -> Option<&ObjectReference> {
        self.scope.as_ref()
    }

    /// `scopeSelector`: a label selector for the resources the report is
    /// about, in place of `scope`; `None` (omitted) when not used, as polscan
    /// never uses it.
    pub fn scope_selector(&self) -> Option<&LabelSelector> {
        self.scope_selector.as_ref()
    }

    /// `summary`: the results counted by outcome, always equal to
    /// `Summary::from_results(self.results())`.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// `results`: the results in canonical order (see
    /// [`ReportResult::canonical_cmp`]); omitted from the JSON when empty.
    pub fn results(&self) -> &[ReportResult] {
        &self.results
    }

    fn extend_results(&mut self, more: impl IntoIterator<Item = ReportResult>) {
        self.results.extend(more);
        self.results.sort_by(ReportResult::canonical_cmp);
        self.summary = Summary::from_results(&self.results);
    }

    fn retain_results(&mut self, keep: impl FnMut(&ReportResult) -> bool) -> (usize, usize) {
        let before = self.results.len();
        self.results.retain(keep);
        self.summary = Summary::from_results(&self.results);
        (before - self.results.len(), self.results.len())
    }
}

/// Read access shared by both report kinds, for code that handles either.
pub trait Report {
    /// The `kind` written on the wire.
    const KIND: &'static str;
    /// The report's `metadata`.
    fn metadata(&self) -> &ObjectMeta;
    /// The report's `metadata`, to change labels, annotations or owners;
    /// results and summary are not reachable from here.
    fn metadata_mut(&mut self) -> &mut ObjectMeta;
    /// The report's scope, scope selector, summary and results.
    fn body(&self) -> &ReportBody;
}

/// Wire shape used to deserialize either report kind before checking
/// `apiVersion` and `kind`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportWire {
    api_version: String,
    kind: String,
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(flatten)]
    body: ReportBody,
}

impl ReportWire {
    fn check(&self, expected_kind: &'static str) -> Result<(), ReportError> {
        if self.api_version != API_VERSION {
            return Err(ReportError::WrongApiVersion {
                found: self.api_version.clone(),
            });
        }
        if self.kind != expected_kind {
            return Err(ReportError::WrongKind {
                expected: expected_kind,
                found: self.kind.clone(),
            });
        }
        Ok(())
    }
}

/// Generates the identical API of both report kinds; they differ only in
/// `kind` and in whether `metadata.namespace` is set.
macro_rules! report_kind {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase", try_from = "ReportWire")]
        pub struct $name {
            api_version: String,
            kind: String,
            metadata: ObjectMeta,
            #[serde(flatten)]
            body: ReportBody,
        }

        impl TryFrom<ReportWire> for $name {
            type Error = ReportError;

            fn try_from(wire: ReportWire) -> Result<Self, Self::Error> {
                wire.check($kind)?;
                Ok(Self {
                    api_version: wire.api_version,
                    kind: wire.kind,
                    metadata: wire.metadata,
                    body: wire.body,
                })
            }
        }

        impl Report for $name {
            const KIND: &'static str = $kind;

            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }

            fn body(&self) -> &ReportBody {
                &self.body
            }
        }

        impl $name {
            fn from_parts(metadata: ObjectMeta, results: Vec<ReportResult>) -> Self {
                Self {
                    api_version: API_VERSION.to_owned(),
                    kind: $kind.to_owned(),
                    metadata,
                    body: ReportBody::new(results),
                }
            }

            /// The report's `metadata`.
            pub fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }

            /// Mutable metadata, e.g. to carry over `resourceVersion` before
            /// an update. Results and summary are not reachable from here.
            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }

            /// `metadata.name`, or `""` when unnamed.
            pub fn name(&self) -> &str {
                self.metadata.name.as_deref().unwrap_or_default()
            }

            /// `scope`: the object the report covers, if any (see
            /// [`ReportBody::scope`]).
            pub fn scope(&self) -> Option<&ObjectReference> {
                self.body.scope()
            }

            /// `scopeSelector`, if any (see [`ReportBody::scope_selector`]).
            pub fn scope_selector(&self) -> Option<&LabelSelector> {
                self.body.scope_selector()
            }

            /// Always equal to `Summary::from_results(self.results())`.
            pub fn summary(&self) -> Summary {
                self.body.summary()
            }

            /// The results in canonical order (see `ReportResult::canonical_cmp`).
            pub fn results(&self) -> &[ReportResult] {
                self.body.results()
            }

            /// The results in canonical order, the report dropped.
            pub fn into_results(self) -> Vec<ReportResult> {
                self.body.results
            }

            /// Adds results, keeping them sorted and the summary current.
            pub fn extend_results(&mut self, more: impl IntoIterator<Item = ReportResult>) {
                self.body.extend_results(more);
            }

            /// Keeps the results `keep` accepts, the summary recounted;
            /// returns how many were dropped and how many are left.
            pub fn retain_results(
                &mut self,
                keep: impl FnMut(&ReportResult) -> bool,
            ) -> (usize, usize) {
                self.body.retain_results(keep)
            }

            /// Sets `scope`.
            pub fn with_scope(mut self, scope: ObjectReference) -> Self {
                self.body.scope = Some(scope);
                self
            }

            /// Sets `scopeSelector`.
            pub fn with_scope_selector(mut self, selector: LabelSelector) -> Self {
                self.body.scope_selector = Some(selector);
                self
            }

            /// Sets the label `key` to `value`, replacing an earlier value.
            pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
                self.metadata.labels.insert(key.into(), value.into());
                self
            }

            /// Sets the annotation `key` to `value`, replacing an earlier
            /// value.
            pub fn with_annotation(
                mut self,
                key: impl Into<String>,
                value: impl Into<String>,
            ) -> Self {
                self.metadata.annotations.insert(key.into(), value.into());
                self
            }

            /// Appends an owner to `metadata.ownerReferences`.
            pub fn with_owner_reference(mut self, owner: OwnerReference) -> Self {
                self.metadata.owner_references.push(owner);
                self
            }
        }
    };
}

report_kind!(
    /// A namespaced `wgpolicyk8s.io/v1alpha2` `PolicyReport`.
    PolicyReport,
    POLICY_REPORT_KIND
);

report_kind!(
    /// A cluster-scoped `wgpolicyk8s.io/v1alpha2` `ClusterPolicyReport`.
    ClusterPolicyReport,
    CLUSTER_POLICY_REPORT_KIND
);

impl PolicyReport {
    /// A report named `name` in `namespace`; results are sorted and summarized.
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        results: Vec<ReportResult>,
    ) -> Self {
        let metadata = ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        };
        Self::from_parts(metadata, results)
    }

    /// `metadata.namespace`, or `""` when unset.
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }
}

impl ClusterPolicyReport {
    /// A cluster-scoped report named `name`; results are sorted and summarized.
    pub fn new(name: impl Into<String>, results: Vec<ReportResult>) -> Self {
        let metadata = ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        };
        Self::from_parts(metadata, results)
    }
}
