//! What enters the evidence. The PolicyReports' and ClusterPolicyReports'
//! results ([`ReportResults`], folded in one report at a time), the policy,
//! ValidatingAdmissionPolicyBinding and PolicyException documents (each
//! policy read as a [`PolicyInfo`]), the last scan's record (the
//! `polscan-last-run` ConfigMap, or a sharded run's records merged:
//! [`ScanRecord`], [`shards`]), the top owners of violating resources and
//! the owner labels that route them to teams ([`owner_labels`]), the
//! cluster's identity, the clock, the filters, and the soak rule with the
//! history of recorded scans ([`SoakInput`]); all in one
//! [`EvidenceInput`], which leaves for [`crate::verdict::build`]. The
//! questions the verdicts ask of a policy and of the record (what it
//! matches, when it changed, what the scan missed) are answered here too.
//! Uses the run record's format ([`crate::run`]); nothing of the evidence
//! that leaves.

pub(crate) mod operation_tests;
pub mod owner_labels;
pub mod policy_info;
pub mod record;
pub(crate) mod results;
pub mod rule_content;
pub mod shard_coverage;
pub mod shards;
pub(crate) mod written_later;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use policy_info::PolicyInfo;
use record::ScanRecord;
pub use results::ReportResults;

/// Who the evidence is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIdentity {
    /// `cluster` or `files`.
    pub source: String,
    /// UID of the kube-system Namespace, which identifies the cluster;
    /// None when not known (reports read from files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_system_uid: Option<String>,
    /// The API server's version, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The API server's URL, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// A resource as the evidence names it: the kind, namespace and name of
/// an object reference ([`ResourceRef`](polscan_engine::ResourceRef), a
/// report's `ObjectReference`), without `apiVersion` and `uid`. It is
/// evidence.json's `resource`/`owner` shape and its sort order (kind,
/// namespace, name), and the key owners and still-present objects are
/// looked up by; a result's `apiVersion` is kept beside it, interned,
/// where a lookup needs it. (A `ResourceRef` in its place would add both
/// fields to evidence.json and sort by `apiVersion` first.)
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectName {
    /// The kind, e.g. `Pod`.
    pub kind: String,
    /// Empty for a cluster-scoped object.
    #[serde(default)]
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl From<&polscan_engine::ResourceRef> for ObjectName {
    fn from(resource: &polscan_engine::ResourceRef) -> ObjectName {
        ObjectName {
            kind: resource.kind.clone(),
            namespace: resource.namespace.clone(),
            name: resource.name.clone(),
        }
    }
}

impl std::fmt::Display for ObjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.namespace, self.kind, self.name)
        }
    }
}

/// Everything [`crate::verdict::build`] judges from.
#[derive(Debug, Clone)]
pub struct EvidenceInput {
    /// The results of the PolicyReports and ClusterPolicyReports.
    pub reports: ReportResults,
    /// Policy documents (any kind; others are ignored) and PolicyExceptions.
    pub policies: Vec<Value>,
    /// The last scan's record (a sharded run's merged); None when there
    /// is none.
    pub scan: Option<ScanRecord>,
    /// The top owner of a resource (a Deployment for its Pods), where known.
    pub owners: BTreeMap<ObjectName, ObjectName>,
    /// The owner-label keys (`--owner-label`) and their values on the
    /// violating resources, their owners and namespaces: which team must
    /// fix a violation.
    pub owner_labels: owner_labels::OwnerLabels,
    /// The label selector (`spec.selector`, as the server returned it) of
    /// each top owner (in `owners`, or a violator without one) that has
    /// one: a generated PolicyException
    /// matches what the owner creates by it. Empty from files.
    pub owner_selectors: BTreeMap<ObjectName, Value>,
    /// The cluster the reports came from, or `files`.
    pub identity: ClusterIdentity,
    /// The evidence's time: `generated`, and what exceptions' expiry is
    /// judged against.
    pub now: DateTime<Utc>,
    /// An exception expiring within this long of `now` is `expiring`.
    pub expiry_window: Duration,
    /// Only these policies (names or `namespace/name`); all when empty.
    pub policy_filter: Vec<String>,
    /// Only results in these namespaces; all when empty.
    pub namespace_filter: Vec<String>,
    /// Policy kinds ([`policy_info::POLICY_DOCUMENT_KINDS`]) the cluster
    /// does not serve, by discovery: a policy of such a kind (given as a
    /// file) has nothing in this cluster to enforce it. Empty when not read
    /// from a cluster; [`EvidenceInput::serves`] also reads the scan
    /// record's.
    pub unserved_policy_kinds: Vec<String>,
    /// Whether `unserved_policy_kinds` was read from the cluster's
    /// discovery now (evidence built against the cluster); false offline.
    pub policy_kinds_discovered: bool,
    /// Policies (kind, namespace, name) the evidence judges that the
    /// cluster does not hold: read only from `--policies-from` beside a
    /// cluster. Their changes are made to the file, not by `kubectl patch`.
    pub file_only_policies: BTreeSet<(String, String, String)>,
    /// Of the resources a previous package (`--since`) names that no
    /// result names now, those the cluster still has; None when not
    /// known (reports read from files).
    pub still_present: Option<BTreeSet<ObjectName>>,
    /// The soak rule and the scans' history it judges by.
    pub soak: SoakInput,
}

impl EvidenceInput {
    /// Whether the cluster serves the policy kind `kind`: neither its
    /// discovery (read now) nor the scan's record (walk39 F6: evidence made
    /// from files with the record promoted a ValidatingAdmissionPolicy a
    /// 1.20 cluster does not serve) says it does not.
    pub fn serves(&self, kind: &str) -> bool {
        !self.unserved_policy_kinds.iter().any(|k| k == kind)
            && !self
                .scan
                .as_ref()
                .is_some_and(|scan| scan.unserved_policy_kinds.iter().any(|k| k == kind))
    }

    /// Whether it is not known if the cluster serves the policy kind
    /// `kind` (verify40 N5): evidence built offline from a scan record
    /// older than its `unservedPolicyKinds` key, for a kind a cluster may
    /// lack while running Kyverno (a ValidatingAdmissionPolicy before
    /// Kubernetes 1.30, a Kyverno CEL kind before Kyverno 1.14). Without a
    /// record, what the scan covered is unknown altogether and said so.
    pub fn serving_unknown(&self, kind: &str) -> bool {
        !matches!(kind, "ClusterPolicy" | "Policy")
            && !self.policy_kinds_discovered
            && self
                .scan
                .as_ref()
                .is_some_and(|scan| !scan.policy_kinds_recorded)
    }
}

/// The soak rule (`--min-soak`, `--min-scans`) and the history of recorded
/// scans ([`crate::run::history`]). The default has the rule off, as
/// `--min-soak 0`.
#[derive(Debug, Clone, Default)]
pub struct SoakInput {
    /// How long a policy must have been clean; None: the rule is off.
    pub min_soak: Option<Duration>,
    /// Over at least this many complete, clean scans.
    pub min_scans: u32,
    /// The oldest the newest recorded scan may be (`--max-scan-age`): an
    /// older one says nothing of what was created or changed since, so
    /// the soak is not met. None: no bound.
    pub max_scan_age: Option<Duration>,
    /// The history read from the cluster (empty when there is none yet);
    /// None when there is none to read (offline evidence, `--from`).
    pub history: Option<crate::run::history::History>,
}

pub(crate) fn covers_namespace(filter: &[String], namespace: &str) -> bool {
    filter.is_empty() || namespace.is_empty() || filter.iter().any(|n| n == namespace)
}

pub(crate) fn wanted_policy(filter: &[String], info: &PolicyInfo) -> bool {
    filter.is_empty()
        || filter
            .iter()
            .any(|f| *f == info.name || *f == info.qualified_name())
}
