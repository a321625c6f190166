//! A built-in table of the standard Kubernetes kinds: group, versions, plural
//! resource name and scope. Offline runs use it where a cluster's discovery
//! would answer: which kinds are cluster-scoped (so a manifest without a
//! namespace lands in `default` only when namespaced) and, for CEL policies,
//! which kind a plural resource name means.

/// One standard kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KindInfo {
    pub(crate) group: &'static str,
    pub(crate) version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) plural: &'static str,
    pub(crate) namespaced: bool,
}

const fn k(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> KindInfo {
    KindInfo {
        group,
        version,
        kind,
        plural,
        namespaced,
    }
}

pub(crate) const STANDARD_KINDS: &[KindInfo] = &[
    k("", "v1", "Binding", "bindings", true),
    k("", "v1", "ComponentStatus", "componentstatuses", false),
    k("", "v1", "ConfigMap", "configmaps", true),
    k("", "v1", "Endpoints", "endpoints", true),
    k("", "v1", "Event", "events", true),
    k("", "v1", "LimitRange", "limitranges", true),
    k("", "v1", "Namespace", "namespaces", false),
    k("", "v1", "Node", "nodes", false),
    k(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    k("", "v1", "PersistentVolume", "persistentvolumes", false),
    k("", "v1", "Pod", "pods", true),
    k("", "v1", "PodTemplate", "podtemplates", true),
    k(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
    ),
    k("", "v1", "ResourceQuota", "resourcequotas", true),
    k("", "v1", "Secret", "secrets", true),
    k("", "v1", "ServiceAccount", "serviceaccounts", true),
    k("", "v1", "Service", "services", true),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
    ),
    k(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
    ),
    k(
        "admissionregistration.k8s.io",
        "v1beta1",
        "MutatingAdmissionPolicy",
        "mutatingadmissionpolicies",
        false,
    ),
    k(
        "admissionregistration.k8s.io",
        "v1beta1",
        "MutatingAdmissionPolicyBinding",
        "mutatingadmissionpolicybindings",
        false,
    ),
    k(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    k(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        false,
    ),
    k(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
    ),
    k("apps", "v1", "DaemonSet", "daemonsets", true),
    k("apps", "v1", "Deployment", "deployments", true),
    k("apps", "v1", "ReplicaSet", "replicasets", true),
    k("apps", "v1", "StatefulSet", "statefulsets", true),
    k(
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        false,
    ),
    k(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        true,
    ),
    k(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
    ),
    k(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        false,
    ),
    k(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        false,
    ),
    k(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    k("batch", "v1", "CronJob", "cronjobs", true),
    k("batch", "v1", "Job", "jobs", true),
    k(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        false,
    ),
    k("coordination.k8s.io", "v1", "Lease", "leases", true),
    k(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
    ),
    k("events.k8s.io", "v1", "Event", "events", true),
    k(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "FlowSchema",
        "flowschemas",
        false,
    ),
    k(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
        "prioritylevelconfigurations",
        false,
    ),
    k(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
    ),
    k("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    k(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    k("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", false),
    k(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    k(
        "policy",
        "v1beta1",
        "PodSecurityPolicy",
        "podsecuritypolicies",
        false,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    k(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    k("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    k(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
    ),
    k("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false),
    k("storage.k8s.io", "v1", "CSINode", "csinodes", false),
    k(
        "storage.k8s.io",
        "v1",
        "CSIStorageCapacity",
        "csistoragecapacities",
        true,
    ),
    k(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
    ),
    k(
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        "volumeattachments",
        false,
    ),
];

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
pub(crate) fn lookup(group: &str, kind: &str) -> Option<&'static KindInfo> {
    STANDARD_KINDS
        .iter()
        .find(|info| info.group == group && info.kind == kind)
}

/// The kind a standard plural resource name names (`deployments` →
/// `Deployment`), in any group.
pub fn kind_of_plural(plural: &str) -> Option<&'static str> {
    STANDARD_KINDS
        .iter()
        .find(|info| info.plural == plural)
        .map(|info| info.kind)
}

/// The plural resource name of a kind: the standard table, else the
/// Kubernetes convention for custom resources.
pub(crate) fn plural_of(group: &str, kind: &str) -> String {
    if let Some(info) = lookup(group, kind) {
        return info.plural.to_string();
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
    fn plurals_are_unique_per_group() {
        for (i, a) in STANDARD_KINDS.iter().enumerate() {
            for b in &STANDARD_KINDS[i + 1..] {
                assert!(
                    !(a.group == b.group && a.plural == b.plural),
                    "{} duplicated",
                    a.plural
                );
            }
        }
    }
}
