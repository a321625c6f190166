//! Which policy kind a document is, told once from its `apiVersion` and
//! `kind`. The loader ([`crate::loading`]) hands each document to the one
//! kind that owns it; the kinds' own tests (`Policy::is_kyverno_policy`,
//! …) ask this table too, so there is one answer for every caller.

use serde_json::Value;

use crate::ValueExt;

/// Kyverno's `ClusterPolicy` and `Policy`, of any version of this group.
const KYVERNO_GROUP: &str = "kyverno.io/";
const KYVERNO_KINDS: [&str; 2] = ["ClusterPolicy", "Policy"];
/// Kyverno's CEL policies, of any version of this group.
const CEL_GROUP: &str = "policies.kyverno.io/";
pub(crate) const VALIDATING_POLICY_KINDS: [&str; 2] =
    ["ValidatingPolicy", "NamespacedValidatingPolicy"];
/// Kubernetes' admission policies, of any version of this group.
const ADMISSION_GROUP: &str = "admissionregistration.k8s.io/";
/// The kind of a Kubernetes `ValidatingAdmissionPolicy`.
pub(crate) const ADMISSION_POLICY_KIND: &str = "ValidatingAdmissionPolicy";
/// The kind of a Kubernetes `ValidatingAdmissionPolicyBinding`.
pub(crate) const ADMISSION_BINDING_KIND: &str = "ValidatingAdmissionPolicyBinding";
/// The kind both groups of Kyverno exceptions share; the version tells
/// them apart.
const EXCEPTION_KIND: &str = "PolicyException";
/// The kyverno.io `PolicyException` versions polscan loads.
const KYVERNO_EXCEPTION_VERSIONS: [&str; 3] =
    ["kyverno.io/v2", "kyverno.io/v2beta1", "kyverno.io/v2alpha1"];
/// The policies.kyverno.io `PolicyException` versions Kyverno's CLI loads
/// (`celExceptionV1alpha1`, `V1beta1`, `V1` in
/// cmd/cli/kubectl-kyverno/exception/load.go).
const CEL_EXCEPTION_VERSIONS: [&str; 3] = [
    "policies.kyverno.io/v1alpha1",
    "policies.kyverno.io/v1beta1",
    "policies.kyverno.io/v1",
];
/// Kinds of policy document that polscan recognises but does not evaluate
/// yet (whatever their apiVersion).
const NOT_EVALUATED_KINDS: [&str; 4] = [
    "MutatingPolicy",
    "GeneratingPolicy",
    "ImageValidatingPolicy",
    "DeletingPolicy",
];

/// The policy kind that owns a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DocumentKind {
    /// Kyverno `ClusterPolicy` or `Policy` (`kyverno.io/*`), read by
    /// [`crate::kyverno::policy::Policy::from_document`].
    KyvernoPolicy,
    /// Kyverno `ValidatingPolicy` or `NamespacedValidatingPolicy`
    /// (`policies.kyverno.io/*`), read by
    /// [`crate::cel::policies::validating_policy::ValidatingPolicy::from_document`].
    ValidatingPolicy,
    /// Kubernetes `ValidatingAdmissionPolicy`
    /// (`admissionregistration.k8s.io/*`), read by
    /// [`crate::cel::policies::admission_policy::AdmissionPolicy::from_document`].
    AdmissionPolicy,
    /// Kubernetes `ValidatingAdmissionPolicyBinding`
    /// (`admissionregistration.k8s.io/*`), read by
    /// [`crate::cel::policies::admission_policy::AdmissionPolicy::binding_from_document`].
    AdmissionPolicyBinding,
    /// Kyverno `PolicyException` of kyverno.io v2, v2beta1 or v2alpha1,
    /// read by [`crate::exceptions::kyverno::PolicyException::from_document`].
    PolicyException,
    /// Kyverno CEL `PolicyException` of policies.kyverno.io v1alpha1,
    /// v1beta1 or v1, read by
    /// [`crate::cel::policies::policy_exception::CelPolicyException::from_document`].
    CelPolicyException,
    /// A policy kind polscan knows but does not evaluate: `MutatingPolicy`,
    /// `GeneratingPolicy`, `ImageValidatingPolicy`, `DeletingPolicy`, or a
    /// `PolicyException` of another version.
    NotEvaluated,
}

impl DocumentKind {
    /// The kind owning `document`, from its `apiVersion` and `kind`
    /// (missing ones read as empty); `None` when it is no policy document.
    pub fn of(document: &Value) -> Option<DocumentKind> {
        let text = |key: &str| document.str_field(key).unwrap_or("");
        DocumentKind::from_type(text("apiVersion"), text("kind"))
    }

    /// The kind owning a document of this `apiVersion` and `kind`; `None`
    /// when it is no policy document.
    pub(crate) fn from_type(api_version: &str, kind: &str) -> Option<DocumentKind> {
        let found = match kind {
            _ if KYVERNO_KINDS.contains(&kind) && api_version.starts_with(KYVERNO_GROUP) => {
                DocumentKind::KyvernoPolicy
            }
            _ if VALIDATING_POLICY_KINDS.contains(&kind) && api_version.starts_with(CEL_GROUP) => {
                DocumentKind::ValidatingPolicy
            }
            ADMISSION_POLICY_KIND if api_version.starts_with(ADMISSION_GROUP) => {
                DocumentKind::AdmissionPolicy
            }
            ADMISSION_BINDING_KIND if api_version.starts_with(ADMISSION_GROUP) => {
                DocumentKind::AdmissionPolicyBinding
            }
            EXCEPTION_KIND if KYVERNO_EXCEPTION_VERSIONS.contains(&api_version) => {
                DocumentKind::PolicyException
            }
            EXCEPTION_KIND if CEL_EXCEPTION_VERSIONS.contains(&api_version) => {
                DocumentKind::CelPolicyException
            }
            EXCEPTION_KIND => DocumentKind::NotEvaluated,
            _ if NOT_EVALUATED_KINDS.contains(&kind) => DocumentKind::NotEvaluated,
            _ => return None,
        };
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::DocumentKind;

    #[test]
    fn each_kind_has_one_owner_and_others_none() {
        let cases = [
            (
                "kyverno.io/v1",
                "ClusterPolicy",
                Some(DocumentKind::KyvernoPolicy),
            ),
            (
                "kyverno.io/v2beta1",
                "Policy",
                Some(DocumentKind::KyvernoPolicy),
            ),
            ("policies.kyverno.io/v1", "ClusterPolicy", None),
            (
                "policies.kyverno.io/v1alpha1",
                "ValidatingPolicy",
                Some(DocumentKind::ValidatingPolicy),
            ),
            (
                "policies.kyverno.io/v1",
                "NamespacedValidatingPolicy",
                Some(DocumentKind::ValidatingPolicy),
            ),
            ("kyverno.io/v1", "ValidatingPolicy", None),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicy",
                Some(DocumentKind::AdmissionPolicy),
            ),
            (
                "admissionregistration.k8s.io/v1beta1",
                "ValidatingAdmissionPolicyBinding",
                Some(DocumentKind::AdmissionPolicyBinding),
            ),
            (
                "kyverno.io/v2",
                "PolicyException",
                Some(DocumentKind::PolicyException),
            ),
            (
                "kyverno.io/v2alpha1",
                "PolicyException",
                Some(DocumentKind::PolicyException),
            ),
            (
                "policies.kyverno.io/v1beta1",
                "PolicyException",
                Some(DocumentKind::CelPolicyException),
            ),
            (
                "kyverno.io/v1",
                "PolicyException",
                Some(DocumentKind::NotEvaluated),
            ),
            (
                "example.com/v1",
                "MutatingPolicy",
                Some(DocumentKind::NotEvaluated),
            ),
            (
                "policies.kyverno.io/v1",
                "GeneratingPolicy",
                Some(DocumentKind::NotEvaluated),
            ),
            ("v1", "Pod", None),
            ("", "", None),
        ];
        for (api_version, kind, owner) in cases {
            assert_eq!(
                DocumentKind::from_type(api_version, kind),
                owner,
                "{api_version} {kind}"
            );
        }
    }
}
