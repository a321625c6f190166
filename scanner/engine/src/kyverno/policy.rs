//! Kyverno `ClusterPolicy` / `Policy` (kyverno.io/v1, v2beta1) as typed data.
//! A policy enters as one parsed YAML/JSON document (`serde_json::Value`) and
//! leaves as a [`Policy`] whose rules are typed enough to evaluate; the raw
//! rule JSON is kept because autogen rewrites rules at the JSON level, as
//! Kyverno does.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::context::ContextEntry;
use crate::document_kind::DocumentKind;
use crate::label_selector::LabelSelector;
use crate::match_resources::MatchResources;
use crate::policy::{normalized_action, process, PolicyError, PolicyMeta};
use crate::ValueExt;

/// The two kinds of Kyverno policy (kyverno.io).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyKind {
    /// `ClusterPolicy`: cluster-wide.
    ClusterPolicy,
    /// `Policy`: applies only in its own namespace.
    Policy,
}

impl PolicyKind {
    /// The kind as a document spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            PolicyKind::ClusterPolicy => "ClusterPolicy",
            PolicyKind::Policy => "Policy",
        }
    }
}

/// A Kyverno policy ready for the engine.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `kind`.
    pub kind: PolicyKind,
    /// `metadata.name`.
    pub name: String,
    /// Set for namespaced `Policy` objects: they only apply in their namespace.
    pub namespace: Option<String>,
    /// `metadata.annotations` (severity, category, title: the `ANNOTATION_*`
    /// keys).
    pub annotations: BTreeMap<String, String>,
    /// `spec`, parsed.
    pub spec: PolicySpec,
    /// The rules exactly as written, for autogen.
    pub(crate) raw_rules: Vec<Value>,
}

/// A Kyverno policy's `spec` (kyverno.io/v1 `Spec`), as far as validation reads
/// it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    /// `rules`, as written (the engine applies autogen).
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// `validationFailureAction` (deprecated in Kyverno for each rule's
    /// `failureAction`): `Audit` or `Enforce`; unset is Audit.
    #[serde(default)]
    pub validation_failure_action: Option<String>,
    /// Deprecated in Kyverno but honoured: per-namespace actions for every
    /// rule without one of its own.
    #[serde(default)]
    pub validation_failure_action_overrides: Vec<FailureActionOverride>,
    #[serde(default)]
    pub(crate) background: Option<bool>,
    /// Admission processing (`spec.admission`, on by default).
    #[serde(default)]
    pub(crate) admission: Option<bool>,
    #[serde(default)]
    pub(crate) apply_rules: Option<String>,
}

/// One rule of a Kyverno policy (kyverno.io/v1 `Rule`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub(crate) name: String,
    #[serde(default, rename = "match")]
    pub(crate) match_resources: MatchResources,
    #[serde(default)]
    pub(crate) exclude: Option<MatchResources>,
    #[serde(default)]
    pub(crate) context: Vec<ContextEntry>,
    #[serde(default)]
    pub(crate) preconditions: Option<Value>,
    /// CEL match conditions (`name`, `expression`) evaluated before the
    /// rule, planned as Kubernetes plans them (Kyverno's validate_cel.go).
    #[serde(default, deserialize_with = "crate::cel::rule::kubernetes_variables")]
    pub(crate) cel_preconditions: Vec<crate::cel::CelVariable>,
    /// `validate`; `None` for mutate, generate and verifyImages rules, which
    /// polscan does not evaluate.
    #[serde(default)]
    pub validate: Option<Validation>,
    #[serde(default)]
    pub(crate) mutate: Option<Value>,
    #[serde(default)]
    pub(crate) generate: Option<Value>,
    /// `verifyImages`, as written: polscan does not evaluate it.
    #[serde(default)]
    pub verify_images: Option<Value>,
    #[serde(default)]
    pub(crate) report_properties: BTreeMap<String, String>,
}

impl Rule {
    pub(crate) fn has_validate(&self) -> bool {
        self.validate.is_some()
    }
}

/// A rule's `validate`: one of `pattern`, `anyPattern`, `deny`, `foreach`,
/// `podSecurity`, `cel` or `manifests`, with the rule's message and action.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) pattern: Option<Value>,
    #[serde(default)]
    pub(crate) any_pattern: Option<Value>,
    #[serde(default)]
    pub(crate) deny: Option<Deny>,
    #[serde(default)]
    pub(crate) foreach: Option<Vec<ForEachValidation>>,
    #[serde(default)]
    pub(crate) pod_security: Option<Value>,
    #[serde(default)]
    pub(crate) cel: Option<crate::cel::CelValidation>,
    #[serde(default)]
    pub(crate) manifests: Option<Value>,
    /// `failureAction`: `Audit` or `Enforce`; before the policy's own.
    #[serde(default)]
    pub failure_action: Option<String>,
    /// `failureActionOverrides`: this rule's actions for some namespaces.
    #[serde(default)]
    pub failure_action_overrides: Vec<FailureActionOverride>,
}

/// A `validationFailureActionOverrides` / `failureActionOverrides` entry:
/// `action` for resources in `namespaces` (wildcards) and/or namespaces
/// whose labels match `namespaceSelector`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FailureActionOverride {
    #[serde(default)]
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) namespaces: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) namespace_selector: Option<LabelSelector>,
}

/// The action of the first override matching a resource in `namespace`
/// whose labels are `namespace_labels`, as Kyverno's `matchOverride`
/// (pkg/engine/api/engineresponse.go): overrides with an invalid action are
/// passed over; no `namespaces` matches every namespace, an empty list none.
pub fn matching_override(
    overrides: &[FailureActionOverride],
    namespace: &str,
    namespace_labels: &BTreeMap<String, String>,
) -> Option<&'static str> {
    let selected = |o: &FailureActionOverride| match &o.namespace_selector {
        None => true,
        Some(selector) => {
            crate::label_selector::selector_matches(selector, namespace_labels).unwrap_or(false)
        }
    };
    overrides.iter().find_map(|o| {
        let action = normalized_action(&o.action)?;
        let in_namespaces = match &o.namespaces {
            None => true,
            Some(list) => list
                .iter()
                .any(|pattern| crate::value_types::wildcard::matches(pattern, namespace)),
        };
        (in_namespaces && selected(o)).then_some(action)
    })
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Deny {
    #[serde(default)]
    pub(crate) conditions: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ForEachValidation {
    #[serde(default)]
    pub(crate) list: String,
    #[serde(default)]
    pub(crate) element_scope: Option<bool>,
    #[serde(default)]
    pub(crate) context: Vec<ContextEntry>,
    #[serde(default)]
    pub(crate) preconditions: Option<Value>,
    #[serde(default)]
    pub(crate) pattern: Option<Value>,
    #[serde(default)]
    pub(crate) any_pattern: Option<Value>,
    #[serde(default)]
    pub(crate) deny: Option<Deny>,
    /// Nested foreach: Kyverno types it as raw JSON.
    #[serde(default)]
    pub(crate) foreach: Option<Vec<ForEachValidation>>,
}

/// The annotation naming the Pod controllers Kyverno's autogen makes rules
/// for (`none` turns autogen off).
pub const ANNOTATION_AUTOGEN_CONTROLLERS: &str = "pod-policies.kyverno.io/autogen-controllers";

impl Policy {
    /// True when the document's apiVersion/kind say it is a Kyverno policy.
    pub fn is_kyverno_policy(document: &Value) -> bool {
        DocumentKind::of(document) == Some(DocumentKind::KyvernoPolicy)
    }

    /// Parses one document; the error names the policy and the field path.
    pub fn from_document(document: &Value) -> Result<Policy, PolicyError> {
        let name = document
            .str_at("/metadata/name")
            .unwrap_or("<unnamed>")
            .to_string();
        let api_version = document.str_field("apiVersion").unwrap_or("").to_string();
        let kind_text = document.str_field("kind").unwrap_or("").to_string();
        let kind = match (api_version.starts_with("kyverno.io/"), kind_text.as_str()) {
            (true, "ClusterPolicy") => PolicyKind::ClusterPolicy,
            (true, "Policy") => PolicyKind::Policy,
            _ => {
                return Err(PolicyError::NotAPolicy {
                    policy: name,
                    api_version,
                    kind: kind_text,
                })
            }
        };
        crate::policy_validation::check_kyverno_policy(document).map_err(|source| {
            PolicyError::Rejected {
                policy: name.clone(),
                source,
            }
        })?;
        let invalid = |path: String, message: String| PolicyError::InvalidField {
            policy: name.clone(),
            path,
            message,
        };
        let namespace = match kind {
            PolicyKind::Policy => Some(
                document
                    .str_at("/metadata/namespace")
                    .unwrap_or("default")
                    .to_string(),
            ),
            PolicyKind::ClusterPolicy => None,
        };
        let mut annotations = BTreeMap::new();
        if let Some(map) = document
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
        {
            for (key, value) in map {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                annotations.insert(key.clone(), text);
            }
        }
        let spec_value = document.get("spec").cloned().unwrap_or(Value::Null);
        if !spec_value.is_object() {
            return Err(invalid("spec".into(), "must be an object".into()));
        }
        let raw_rules: Vec<Value> = match spec_value.get("rules") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(rules)) => rules.clone(),
            Some(_) => return Err(invalid("spec.rules".into(), "must be a list".into())),
        };
        let spec: PolicySpec = serde_path_to_error::deserialize(spec_value)
            .map_err(|err| invalid(format!("spec.{}", err.path()), err.inner().to_string()))?;
        for (index, rule) in spec.rules.iter().enumerate() {
            if rule.name.is_empty() {
                return Err(invalid(
                    format!("spec.rules[{index}].name"),
                    "must not be empty".into(),
                ));
            }
        }
        Ok(Policy {
            kind,
            name,
            namespace,
            annotations,
            spec,
            raw_rules,
        })
    }

    /// Background scans skip policies with `background: false`.
    pub fn background(&self) -> bool {
        self.spec.background.unwrap_or(true)
    }

    /// The policy-wide action; Kyverno's default is Audit.
    pub fn failure_action(&self) -> &str {
        self.spec
            .validation_failure_action
            .as_deref()
            .unwrap_or("Audit")
    }

    /// The identity reports and results carry.
    pub(crate) fn meta(&self) -> PolicyMeta {
        PolicyMeta {
            kind: self.kind.as_str().to_string(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            annotations: self.annotations.clone(),
            process: process(self.background(), self.spec.admission.unwrap_or(true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ANNOTATION_SCORED;
    use serde_json::json;

    #[test]
    fn parses_a_cluster_policy() {
        let doc = json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "p", "annotations": {ANNOTATION_SCORED: "false"}},
            "spec": {"background": false, "rules": [{
                "name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"message": "m", "pattern": {"spec": {}}}
            }]}
        });
        let policy = Policy::from_document(&doc).expect("valid policy");
        assert_eq!(policy.kind, PolicyKind::ClusterPolicy);
        assert!(!policy.background());
        assert!(!policy.meta().scored());
        assert_eq!(policy.failure_action(), "Audit");
        assert_eq!(policy.spec.rules[0].match_resources.kinds(), vec!["Pod"]);
        assert_eq!(policy.raw_rules.len(), 1);
    }

    #[test]
    fn namespaced_policy_defaults_to_default_namespace() {
        let doc = json!({"apiVersion": "kyverno.io/v1", "kind": "Policy",
            "metadata": {"name": "p"}, "spec": {"rules": []}});
        let policy = Policy::from_document(&doc).expect("valid policy");
        assert_eq!(policy.namespace.as_deref(), Some("default"));
        assert_eq!(policy.meta().qualified_name(), "default/p");
    }

    #[test]
    fn invalid_field_is_named_with_its_path() {
        let doc = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "bad"},
            "spec": {"rules": [{"name": "r", "match": {"any": "not-a-list"}}]}});
        let err = Policy::from_document(&doc).expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("bad"), "{text}");
        assert!(text.contains("spec.rules[0].match.any"), "{text}");
    }

    #[test]
    fn rejects_other_kinds() {
        let doc = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}});
        assert!(matches!(
            Policy::from_document(&doc),
            Err(PolicyError::NotAPolicy { .. })
        ));
    }
}
