//! Small Kubernetes metadata types used inside reports: `ObjectMeta`,
//! `OwnerReference`, `ObjectReference`, `LabelSelector` and `Timestamp`.
//!
//! They mirror the wire shape of the upstream `metav1` / `corev1` types
//! (camelCase, empty optionals omitted) without pulling in `k8s-openapi`.
//! Data enters through constructors/builders or `serde` deserialization and
//! leaves through `serde` serialization.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The subset of `metav1.ObjectMeta` a report writer needs.
///
/// Server-managed fields other than `uid` and `resourceVersion` (for example
/// `creationTimestamp` or `managedFields`) are ignored when deserializing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `name`: the object's name, unique within its namespace (or the
    /// cluster, for cluster-scoped kinds); `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `namespace`: the namespace the object lives in; `None` (omitted) for
    /// cluster-scoped objects such as a `ClusterPolicyReport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `labels`: key/value pairs selectors match on; omitted when empty.
    // BTreeMap keeps serialization order stable across runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `annotations`: free-form key/value metadata selectors do not match
    /// on (polscan keeps its content hash here); omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `ownerReferences`: the objects this one depends on, so the garbage
    /// collector deletes it with them; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    /// `uid`: the identifier the API server gives the object, unique in time
    /// and space; `None` (omitted) until the object has been stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// `resourceVersion`: the API server's opaque version of the stored
    /// object, sent back on an update for optimistic concurrency; `None`
    /// (omitted) on a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// `metav1.OwnerReference`: lets Kubernetes garbage-collect a report together
/// with the resource it describes.
///
/// The owner is in the dependent's namespace or cluster-scoped, so upstream
/// has no namespace field; `apiVersion`, `kind`, `name` and `uid` are
/// required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// `apiVersion`: the owner's API version (`group/version`, or `version`
    /// for the core group).
    pub api_version: String,
    /// `kind`: the owner's kind, e.g. `Deployment`.
    pub kind: String,
    /// `name`: the owner's name.
    pub name: String,
    /// `uid`: the owner's UID; the garbage collector follows this, not the
    /// name.
    pub uid: String,
    /// `controller`: `Some(true)` when the owner is the dependent's managing
    /// controller; `None` is omitted (upstream's default, false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// `blockOwnerDeletion`: `Some(true)` keeps an owner under foreground
    /// deletion from being removed until this dependent is gone (setting it
    /// needs `delete` permission on the owner); `None` is omitted (upstream's
    /// default, false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// `corev1.ObjectReference`: names the report scope or a checked resource.
///
/// Every field is optional on the wire, as upstream. Ordered by kind,
/// namespace and name first (how people scan a report), then the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// `apiVersion`: the referent's API version (`group/version`, or
    /// `version` for the core group); `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `kind`: the referent's kind, e.g. `Pod`; `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `namespace`: the referent's namespace; `None` (omitted) or empty for
    /// a cluster-scoped referent (see [`ObjectReference::namespace_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `name`: the referent's name; `None` is omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `uid`: the referent's UID; `None` (omitted) when it is not known,
    /// e.g. for a resource read from a file rather than from a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// `resourceVersion`: the referent's resource version the reference was
    /// made at; `None` is omitted (polscan never sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// `fieldPath`: a part of the referent rather than the whole object,
    /// e.g. `spec.containers{name}`; `None` is omitted (polscan never sets
    /// it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
}

type ReferenceSortKey<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

impl ObjectReference {
    fn sort_key(&self) -> ReferenceSortKey<'_> {
        (
            self.kind.as_deref(),
            self.namespace.as_deref(),
            self.name.as_deref(),
            self.api_version.as_deref(),
            self.uid.as_deref(),
            self.resource_version.as_deref(),
            self.field_path.as_deref(),
        )
    }
}

impl Ord for ObjectReference {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for ObjectReference {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ObjectReference {
    /// A reference to a namespaced resource.
    pub fn namespaced(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// A reference to a cluster-scoped resource.
    pub fn cluster_scoped(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Sets `uid`.
    pub fn with_uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = Some(uid.into());
        self
    }

    /// The namespace, treating an empty string like an absent one (both mean
    /// cluster-scoped on the wire).
    pub fn namespace_name(&self) -> Option<&str> {
        self.namespace.as_deref().filter(|ns| !ns.is_empty())
    }
}

/// `metav1.LabelSelector`.
///
/// The conditions are ANDed; an empty selector (both fields empty) matches
/// every object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// `matchLabels`: label key/value pairs an object must all carry;
    /// omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`: requirements an object's labels must all meet;
    /// omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// `metav1.LabelSelectorRequirement`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LabelSelectorRequirement {
    /// `key`: the label key the requirement applies to.
    pub key: String,
    /// `operator`: how the label's value relates to `values`.
    pub operator: SelectorOperator,
    /// `values`: the values `In` and `NotIn` compare against; empty (and
    /// omitted) for `Exists` and `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The operators Kubernetes accepts in a `LabelSelectorRequirement`.
///
/// Written as the variant's name (`In`, `NotIn`, `Exists`, `DoesNotExist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SelectorOperator {
    /// The label is present and its value is one of `values`.
    In,
    /// The label is absent or its value is none of `values`.
    NotIn,
    /// The label is present, whatever its value.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

/// `metav1.Timestamp`: seconds and nanoseconds since the Unix epoch.
///
/// On the wire an object `{"seconds": …, "nanos": …}` (both always
/// written), not an RFC 3339 string like `metav1.Time`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Timestamp {
    /// `seconds`: whole seconds of UTC time since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// `nanos`: the non-negative fraction of a second, in nanoseconds
    /// (0 to 999,999,999); 0 in the results polscan writes, which it stamps
    /// in whole seconds as Kyverno does ([`Timestamp::now_seconds`]).
    pub nanos: i32,
}

impl Timestamp {
    /// The instant `seconds` + `nanos` nanoseconds after the Unix epoch.
    pub fn new(seconds: i64, nanos: i32) -> Self {
        Self { seconds, nanos }
    }

    /// The current wall-clock time in whole seconds (`nanos: 0`), as
    /// Kyverno stamps report results (`metav1.Timestamp{Seconds:
    /// time.Now().Unix()}`, pkg/utils/report/results.go); a clock before
    /// 1970 yields the epoch.
    pub fn now_seconds() -> Self {
        Self {
            nanos: 0,
            ..Self::now()
        }
    }

    /// The current wall-clock time; a clock before 1970 yields the epoch.
    pub fn now() -> Self {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            seconds: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            // subsec_nanos() < 1e9, which always fits an i32.
            nanos: i32::try_from(since_epoch.subsec_nanos()).unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_timestamps_are_whole_seconds() {
        let before = Timestamp::now().seconds;
        let stamp = Timestamp::now_seconds();
        assert_eq!(stamp.nanos, 0);
        assert!(stamp.seconds >= before && stamp.seconds > 1_700_000_000);
    }
}
