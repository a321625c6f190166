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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    // BTreeMap keeps serialization order stable across runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// `metav1.OwnerReference`: lets Kubernetes garbage-collect a report together
/// with the resource it describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// `metav1.LabelSelectorRequirement`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The operators Kubernetes accepts in a `LabelSelectorRequirement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// `metav1.Timestamp`: seconds and nanoseconds since the Unix epoch.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

impl Timestamp {
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
