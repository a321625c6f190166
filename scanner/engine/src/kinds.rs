//! The vocabulary of kinds, and a built-in table of the standard ones.
//!
//! A kind is named one way throughout polscan, after Kubernetes' (and
//! kube-core's, which this I/O-free crate does not depend on) types:
//! [`GroupVersionKind`] (`group`, `version`, `kind`) and [`ApiResource`]
//! (Kubernetes' `APIResource`: the kind with its plural resource name,
//! scope and verbs). An `apiVersion` enters and is split in one place,
//! [`split_api_version`] / [`GroupVersionKind::from_api_version`], and is
//! joined in one, [`api_version_of`].
//!
//! The built-in table ([`standard_kinds`]: group, version, plural resource
//! name and scope of the standard kinds) is what offline runs use where a
//! cluster's discovery would answer: which kinds are cluster-scoped (so a
//! manifest without a namespace lands in `default` only when namespaced)
//! and, for CEL policies, which kind a plural resource name means. A
//! cluster scan's discovery gives the same [`ApiResource`]s.

use std::sync::LazyLock;

use serde::Deserialize;

/// A kind in one version of one API group: Kubernetes'
/// `schema.GroupVersionKind`, kube-core's `GroupVersionKind`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupVersionKind {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version (`v1`, `v1beta1`).
    pub version: String,
    /// The kind (`Deployment`).
    pub kind: String,
}

impl GroupVersionKind {
    /// The kind `kind` of `group` (empty: core) at `version`.
    pub fn gvk(group: &str, version: &str, kind: &str) -> GroupVersionKind {
        GroupVersionKind {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The kind of an object's `apiVersion` and `kind` (`apps/v1`,
    /// `Deployment`; `v1`, `Pod` is the core group's).
    pub fn from_api_version(api_version: &str, kind: &str) -> GroupVersionKind {
        let (group, version) = split_api_version(api_version);
        GroupVersionKind::gvk(group, version, kind)
    }

    /// `<group>/<version>`, or the version alone for the core group.
    pub fn api_version(&self) -> String {
        api_version_of(&self.group, &self.version)
    }
}

/// A kind as an API server serves it: Kubernetes' `metav1.APIResource`
/// (kube-core's `ApiResource` plus scope and verbs). A cluster's
/// discovery gives one per served kind; the built-in table
/// ([`standard_kinds`]) one per standard kind, with no verbs; a values
/// file's `subresources` are read as Kubernetes writes them (the plural in
/// `name`, every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiResource {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version it is served at (`v1`, `v1beta1`).
    pub version: String,
    /// The kind (`Deployment`).
    pub kind: String,
    /// The resource name in paths (`deployments`): `APIResource.name`.
    #[serde(rename = "name")]
    pub plural: String,
    /// Whether its objects live in namespaces (the scope).
    pub namespaced: bool,
    /// The verbs the server allows on it (`list`, `get`, `watch`, …);
    /// empty in the built-in table, which does not record them.
    pub verbs: Vec<String>,
}

impl ApiResource {
    /// Its group, version and kind.
    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::gvk(&self.group, &self.version, &self.kind)
    }

    /// `<group>/<version>`, or the version alone for the core group.
    pub fn api_version(&self) -> String {
        api_version_of(&self.group, &self.version)
    }

    /// Whether the server allows `list` on it.
    pub fn listable(&self) -> bool {
        self.verbs.iter().any(|verb| verb == "list")
    }

    /// `/api/v1` or `/apis/<group>/<version>`.
    pub fn base_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection path, across namespaces or in one.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => {
                format!("{}/namespaces/{ns}/{}", self.base_path(), self.plural)
            }
            _ => format!("{}/{}", self.base_path(), self.plural),
        }
    }

    /// `Kind` or `group/Kind`, as the `--include-kinds` flags spell it.
    pub fn display_name(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}/{}", self.group, self.kind)
        }
    }
}

/// One row of the built-in table: group, version, kind, plural, namespaced.
type StandardKind = (&'static str, &'static str, &'static str, &'static str, bool);

const STANDARD_KINDS: &[StandardKind] = &[
    ("", "v1", "Binding", "bindings", true),
    ("", "v1", "ComponentStatus", "componentstatuses", false),
    ("", "v1", "ConfigMap", "configmaps", true),
    ("", "v1", "Endpoints", "endpoints", true),
    ("", "v1", "Event", "events", true),
    ("", "v1", "LimitRange", "limitranges", true),
    ("", "v1", "Namespace", "namespaces", false),
    ("", "v1", "Node", "nodes", false),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    ("", "v1", "PersistentVolume", "persistentvolumes", false),
    ("", "v1", "Pod", "pods", true),
    ("", "v1", "PodTemplate", "podtemplates", true),
    (
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
    ),
    ("", "v1", "ResourceQuota", "resourcequotas", true),
    ("", "v1", "Secret", "secrets", true),
    ("", "v1", "ServiceAccount", "serviceaccounts", true),
    ("", "v1", "Service", "services", true),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1beta1",
        "MutatingAdmissionPolicy",
        "mutatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1beta1",
        "MutatingAdmissionPolicyBinding",
        "mutatingadmissionpolicybindings",
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    (
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        false,
    ),
    (
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
    ),
    ("apps", "v1", "DaemonSet", "daemonsets", true),
    ("apps", "v1", "Deployment", "deployments", true),
    ("apps", "v1", "ReplicaSet", "replicasets", true),
    ("apps", "v1", "StatefulSet", "statefulsets", true),
    (
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        false,
    ),
    (
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        true,
    ),
    (
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
    ),
    (
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        false,
    ),
    (
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        false,
    ),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    ("batch", "v1", "CronJob", "cronjobs", true),
    ("batch", "v1", "Job", "jobs", true),
    (
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        false,
    ),
    ("coordination.k8s.io", "v1", "Lease", "leases", true),
    (
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
    ),
    ("events.k8s.io", "v1", "Event", "events", true),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "FlowSchema",
        "flowschemas",
        false,
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
        "prioritylevelconfigurations",
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
    ),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", false),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    (
        "policy",
        "v1beta1",
        "PodSecurityPolicy",
        "podsecuritypolicies",
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    (
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
    ),
    ("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false),
    ("storage.k8s.io", "v1", "CSINode", "csinodes", false),
    (
        "storage.k8s.io",
        "v1",
        "CSIStorageCapacity",
        "csistoragecapacities",
        true,
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
    ),
    (
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        "volumeattachments",
        false,
    ),
];

/// The built-in table as [`ApiResource`]s, built on first use (the table
/// stays literal rows; the kinds share discovery's one type, whose fields
/// own their text, at the cost of one allocation of ~60 entries per
/// process).
pub fn standard_kinds() -> &'static [ApiResource] {
    static KINDS: LazyLock<Vec<ApiResource>> = LazyLock::new(|| {
        STANDARD_KINDS
            .iter()
            .map(|&(group, version, kind, plural, namespaced)| ApiResource {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                namespaced,
                verbs: Vec::new(),
            })
            .collect()
    });
    &KINDS
}

/// `<group>/<version>`, or the version alone for the core group: the one
/// place an `apiVersion` is joined.
pub fn api_version_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// The group and version of an `apiVersion` (`apps/v1` → `("apps",
/// "v1")`, `v1` → `("", "v1")`): the one place it is split.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    split_api_version(api_version).0
}

/// Looks up a kind by group and kind name.
pub(crate) fn lookup(group: &str, kind: &str) -> Option<&'static ApiResource> {
    standard_kinds()
        .iter()
        .find(|info| info.group == group && info.kind == kind)
}

/// The kind a standard plural resource name names (`deployments` →
/// `Deployment`), in any group.
pub fn kind_of_plural(plural: &str) -> Option<&'static str> {
    standard_kinds()
        .iter()
        .find(|info| info.plural == plural)
        .map(|info| info.kind.as_str())
}

/// The plural resource name of a kind: the standard table, else the
/// Kubernetes convention for custom resources.
pub(crate) fn plural_of(group: &str, kind: &str) -> String {
    if let Some(info) = lookup(group, kind) {
        return info.plural.clone();
    }
    let lower = kind.to_lowercase();
    if lower.ends_with('s')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
        || lower.ends_with('x')
    {
        format!("{lower}es")
    } else if lower.ends_with('y')
        && !lower.ends_with("ay")
        && !lower.ends_with("ey")
        && !lower.ends_with("oy")
    {
        format!("{}ies", &lower[..lower.len() - 1])
    } else {
        format!("{lower}s")
    }
}

/// True when the table knows the kind as cluster-scoped; unknown kinds
/// (custom resources) count as namespaced, as the Kyverno CLI assumes.
pub fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    lookup(group_of(api_version), kind).is_some_and(|info| !info.namespaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lookup() {
        assert!(is_cluster_scoped("v1", "Namespace"));
        assert!(is_cluster_scoped(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole"
        ));
        assert!(!is_cluster_scoped("v1", "Pod"));
        assert!(!is_cluster_scoped("apps/v1", "Deployment"));
        assert!(!is_cluster_scoped("example.com/v1", "Widget"));
        // The group must match: a ClusterRole in another group is unknown.
        assert!(!is_cluster_scoped("example.com/v1", "ClusterRole"));
    }

    #[test]
    fn api_versions_split_and_join() {
        let deployment = GroupVersionKind::from_api_version("apps/v1", "Deployment");
        assert_eq!(
            deployment,
            GroupVersionKind::gvk("apps", "v1", "Deployment")
        );
        assert_eq!(deployment.api_version(), "apps/v1");
        let pod = GroupVersionKind::from_api_version("v1", "Pod");
        assert_eq!(pod, GroupVersionKind::gvk("", "v1", "Pod"));
        assert_eq!(pod.api_version(), "v1");
        let pods = lookup("", "Pod").map(ApiResource::gvk);
        assert_eq!(pods, Some(pod));
    }

    #[test]
    fn plurals_are_unique_per_group() {
        let kinds = standard_kinds();
        for (i, a) in kinds.iter().enumerate() {
            for b in &kinds[i + 1..] {
                assert!(
                    !(a.group == b.group && a.plural == b.plural),
                    "{} duplicated",
                    a.plural
                );
            }
        }
    }
}
