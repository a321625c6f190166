//! Supplied variable values, in the Kyverno CLI values-file model
//! (`cli.kyverno.io/v1alpha1` `Values`): global values, per-policy
//! per-resource values, per-rule values (which stand in for context entries
//! offline), namespace labels and subresource mappings. Parsed from one
//! document; read by the engine when it builds a rule's context.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::kinds::ApiResource;
use crate::ValueExt;

/// A Kyverno CLI values file (`kind: Values`, cli.kyverno.io): global values,
/// per-policy, per-rule and per-resource values, namespace labels
/// (`namespaceSelector`) and objects, and subresource mappings.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Values {
    #[serde(default)]
    pub(crate) global_values: Map<String, Value>,
    #[serde(default)]
    pub(crate) policies: Vec<PolicyValues>,
    #[serde(default, rename = "namespaceSelector")]
    pub(crate) namespace_selectors: Vec<NamespaceLabels>,
    #[serde(default)]
    pub(crate) namespaces: Vec<Value>,
    #[serde(default)]
    pub(crate) subresources: Vec<SubresourceMapping>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyValues {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) resources: Vec<ResourceValues>,
    #[serde(default)]
    pub(crate) rules: Vec<RuleValues>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceValues {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) values: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RuleValues {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) values: Map<String, Value>,
    #[serde(default)]
    pub(crate) foreach_values: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct NamespaceLabels {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) labels: BTreeMap<String, String>,
}

/// A values file's `subresources` entry (Kyverno's `Subresource`): a
/// kind that is a subresource (`name` `deployments/scale`) of a parent
/// kind, each a Kubernetes `APIResource`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubresourceMapping {
    pub(crate) subresource: ApiResource,
    pub(crate) parent_resource: ApiResource,
}

impl Values {
    /// Parses a values document; the error names the field.
    pub fn from_document(document: &Value) -> Result<Values, String> {
        serde_path_to_error::deserialize(document.clone())
            .map_err(|err| format!("invalid values at {}: {}", err.path(), err.inner()))
    }

    /// Global values overlaid with the values for this policy and resource
    /// name, in Kyverno's order; `request.operation` defaults to CREATE.
    pub(crate) fn resource_values(&self, policy: &str, resource_name: &str) -> Map<String, Value> {
        let mut out = self.global_values.clone();
        for policy_values in self.policies.iter().filter(|p| p.name == policy) {
            for resource in policy_values
                .resources
                .iter()
                .filter(|r| r.name == resource_name)
            {
                for (key, value) in &resource.values {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        out.entry("request.operation".to_string())
            .or_insert_with(|| Value::String("CREATE".into()));
        out
    }

    /// Values injected before a rule's context entries load: the first
    /// values rule named `rule` or whose autogen variants (`autogen-`,
    /// `autogen-cronjob-`) are `rule`, its `values` and the first element of
    /// each `foreachValues` list (the CLI never advances its foreach
    /// element). Kyverno: cmd/cli/kubectl-kyverno/store/store.go
    /// `GetPolicyRule`, store/contextloader.go.
    pub(crate) fn rule_values(&self, policy: &str, rule: &str) -> Option<Map<String, Value>> {
        // Every values entry of the policy is searched, in order.
        let found = self
            .policies
            .iter()
            .filter(|p| p.name == policy)
            .flat_map(|p| p.rules.iter())
            .find(|r| {
                rule == r.name
                    || rule.strip_prefix("autogen-") == Some(r.name.as_str())
                    || rule.strip_prefix("autogen-cronjob-") == Some(r.name.as_str())
            })?;
        let mut out = found.values.clone();
        for (key, value) in &found.foreach_values {
            if let Some(first) = value.as_array().and_then(|items| items.first()) {
                out.insert(key.clone(), first.clone());
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// The `namespaces` objects by name.
    pub fn namespace_objects(&self) -> BTreeMap<String, Value> {
        self.namespaces
            .iter()
            .filter_map(|namespace| {
                let name = namespace.str_at("/metadata/name")?;
                Some((name.to_string(), namespace.clone()))
            })
            .collect()
    }

    /// Namespace labels for `namespaceSelector`; `namespaces` entries win.
    pub fn namespace_labels(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for selector in &self.namespace_selectors {
            out.insert(selector.name.clone(), selector.labels.clone());
        }
        for namespace in &self.namespaces {
            if let Some(name) = namespace.str_at("/metadata/name") {
                out.insert(
                    name.to_string(),
                    super::matching::string_map(namespace.pointer("/metadata/labels")),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subresources_are_api_resources_with_the_plural_in_name() {
        let values = Values::from_document(&json!({
            "subresources": [{
                "subresource": {"name": "deployments/scale", "group": "autoscaling",
                    "version": "v1", "kind": "Scale"},
                "parentResource": {"name": "deployments", "group": "apps",
                    "version": "v1", "kind": "Deployment"}
            }]
        }))
        .expect("valid values");
        let mapping = &values.subresources[0];
        assert_eq!(mapping.subresource.plural, "deployments/scale");
        assert_eq!(
            mapping.subresource.gvk(),
            crate::kinds::GroupVersionKind::gvk("autoscaling", "v1", "Scale")
        );
        assert_eq!(
            mapping.parent_resource.gvk(),
            crate::kinds::GroupVersionKind::gvk("apps", "v1", "Deployment")
        );
    }

    #[test]
    fn values_overlay_in_kyverno_order() {
        let values = Values::from_document(&json!({
            "apiVersion": "cli.kyverno.io/v1alpha1", "kind": "Values",
            "globalValues": {"a": 1, "b": 1},
            "policies": [{"name": "p", "resources": [{"name": "r", "values": {"b": 2}}],
                "rules": [{"name": "rule", "values": {"cm.data.x": "y"}}]}],
            "namespaceSelector": [{"name": "prod", "labels": {"env": "prod"}}],
            "namespaces": [{"metadata": {"name": "prod", "labels": {"env": "production"}}}]
        }))
        .expect("values");
        let merged = values.resource_values("p", "r");
        assert_eq!(merged.get("a"), Some(&json!(1)));
        assert_eq!(merged.get("b"), Some(&json!(2)));
        assert_eq!(merged.get("request.operation"), Some(&json!("CREATE")));
        assert_eq!(
            values.resource_values("p", "other").get("b"),
            Some(&json!(1))
        );
        assert!(values.rule_values("p", "rule").is_some());
        assert!(values.rule_values("p", "none").is_none());
        assert!(values.rule_values("p", "autogen-rule").is_some());
        assert!(values.rule_values("p", "autogen-cronjob-rule").is_some());
        assert!(values.rule_values("p", "autogen-other").is_none());
        assert!(values.rule_values("p", "xautogen-rule").is_none());
        assert_eq!(values.namespace_labels()["prod"]["env"], "production");
    }

    #[test]
    fn foreach_values_give_their_first_element() {
        let values = Values::from_document(&json!({
            "policies": [{"name": "p", "rules": [
                {"name": "r", "values": {"a": 1}, "foreachValues": {"e": ["x", "y"], "none": []}}
            ]}]
        }))
        .expect("values");
        let merged = values.rule_values("p", "autogen-r").expect("values");
        assert_eq!(merged.get("a"), Some(&json!(1)));
        assert_eq!(merged.get("e"), Some(&json!("x")));
        assert!(!merged.contains_key("none"));
    }

    #[test]
    fn a_policy_listed_twice_is_searched_whole() {
        let values = Values::from_document(&json!({
            "policies": [
                {"name": "p", "resources": [{"name": "r", "values": {"a": 1}}]},
                {"name": "p", "rules": [{"name": "rule", "values": {"b": 2}}]}
            ]
        }))
        .expect("values");
        assert_eq!(
            values
                .rule_values("p", "rule")
                .and_then(|v| v.get("b").cloned()),
            Some(json!(2))
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        let err = Values::from_document(&json!({"policies": [{"name": 3}]})).expect_err("invalid");
        assert!(err.contains("policies[0].name"), "{err}");
    }
}
