//! What the evidence needs to know about one policy, read from its stored
//! document: its action (Audit or Enforce, per rule where rules set their
//! own), the kinds it matches, when it last changed, the texts its
//! annotations give, and the exact change that returns it to Audit. A policy
//! document enters; a [`PolicyInfo`] leaves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::policy::{
    ANNOTATION_CATEGORY, ANNOTATION_DESCRIPTION, ANNOTATION_SCORED, ANNOTATION_SEVERITY,
    ANNOTATION_TITLE,
};

/// Kinds of policy documents the evidence describes.
pub const POLICY_DOCUMENT_KINDS: [&str; 5] = [
    "ClusterPolicy",
    "Policy",
    "ValidatingPolicy",
    "NamespacedValidatingPolicy",
    "ValidatingAdmissionPolicy",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    pub name: String,
    /// `Audit` or `Enforce` (Kyverno's words; a CEL policy's `Deny` is
    /// `Enforce`).
    pub action: String,
    /// Kind names the rule matches (`*` for any), as [`PolicyInfo::kinds`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
}

/// The change that puts a policy back into Audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// The field(s) to change, as paths in the policy.
    pub fields: Vec<String>,
    /// The value that means Audit.
    pub value: String,
    /// A kubectl command making the change.
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInfo {
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `Audit`, `Enforce`, or `Mixed` when rules differ.
    pub action: String,
    pub rules: Vec<RuleInfo>,
    /// Kind names the policy matches (`*` for any).
    pub kinds: Vec<String>,
    /// `policies.kyverno.io/scored: "false"`: its failures are reported as
    /// `warn`, yet Kyverno's admission rejects them all the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unscored: bool,
    /// The latest change the server recorded (managedFields, else creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
}

impl PolicyInfo {
    /// The name results use: `namespace/name` for namespaced policies.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{namespace}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Reads a policy document; `None` for documents of other kinds.
    pub fn from_document(document: &Value) -> Option<PolicyInfo> {
        let kind = document.get("kind")?.as_str()?.to_string();
        if !POLICY_DOCUMENT_KINDS.contains(&kind.as_str()) {
            return None;
        }
        let text = |pointer: &str| {
            document
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let name = text("/metadata/name").unwrap_or_default();
        let namespace = text("/metadata/namespace").filter(|ns| !ns.is_empty());
        let annotation = |key: &str| {
            document
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        };
        let spec = document.get("spec").cloned().unwrap_or(Value::Null);
        let (rules, kinds) = match kind.as_str() {
            "ClusterPolicy" | "Policy" => kyverno_rules(&spec),
            _ => cel_policy_rules(&kind, &spec),
        };
        let action = overall_action(&rules);
        let mut info = PolicyInfo {
            kind,
            name,
            namespace,
            title: annotation(ANNOTATION_TITLE),
            description: annotation(ANNOTATION_DESCRIPTION),
            severity: annotation(ANNOTATION_SEVERITY),
            category: annotation(ANNOTATION_CATEGORY),
            action,
            rules,
            kinds,
            // As the engine reads it: exactly "false".
            unscored: annotation(ANNOTATION_SCORED).as_deref() == Some("false"),
            last_changed: last_changed(document),
            rollback: None,
        };
        info.rollback = rollback(&info, &spec);
        Some(info)
    }
}

fn normalize_action(action: &str) -> String {
    match action.to_ascii_lowercase().as_str() {
        "enforce" | "deny" => "Enforce".into(),
        _ => "Audit".into(),
    }
}

fn overall_action(rules: &[RuleInfo]) -> String {
    let enforce = rules.iter().filter(|r| r.action == "Enforce").count();
    match enforce {
        0 => "Audit".into(),
        n if n == rules.len() => "Enforce".into(),
        _ => "Mixed".into(),
    }
}

fn kyverno_rules(spec: &Value) -> (Vec<RuleInfo>, Vec<String>) {
    let policy_action = spec
        .get("validationFailureAction")
        .and_then(Value::as_str)
        .unwrap_or("Audit");
    let mut rules = Vec::new();
    let mut kinds = Vec::new();
    for rule in spec
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(validate) = rule.get("validate") else {
            continue;
        };
        let action = validate
            .get("failureAction")
            .or_else(|| validate.get("validationFailureAction"))
            .and_then(Value::as_str)
            .unwrap_or(policy_action);
        // Enforced in some namespaces by an override is enforced: Kyverno
        // rejects there, so the rule's rollback conditions apply.
        let overridden = enforce_override(spec.get("validationFailureActionOverrides"))
            || enforce_override(validate.get("failureActionOverrides"));
        let action = if overridden { "Enforce" } else { action };
        let mut rule_kinds = Vec::new();
        if let Some(matching) = rule.get("match") {
            collect_kinds(matching, &mut rule_kinds);
        }
        rule_kinds.sort();
        rule_kinds.dedup();
        kinds.extend(rule_kinds.iter().cloned());
        rules.push(RuleInfo {
            name: rule
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            action: normalize_action(action),
            kinds: rule_kinds,
        });
    }
    kinds.sort();
    kinds.dedup();
    (rules, kinds)
}

/// Whether a list of action overrides enforces in some namespaces.
fn enforce_override(overrides: Option<&Value>) -> bool {
    overrides
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("action").and_then(Value::as_str))
        .any(|action| normalize_action(action) == "Enforce")
}

/// Kind names under any `kinds:` list of a match block, without group and
/// version (`apps/v1/Deployment` → `Deployment`).
fn collect_kinds(value: &Value, kinds: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == "kinds" {
                    for kind in item.as_array().into_iter().flatten() {
                        if let Some(text) = kind.as_str() {
                            let base = text.split('/').find(|part| {
                                part.chars().next().is_some_and(|c| c.is_uppercase())
                                    || *part == "*"
                            });
                            kinds.push(base.unwrap_or(text).to_string());
                        }
                    }
                } else {
                    collect_kinds(item, kinds);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_kinds(item, kinds)),
        _ => {}
    }
}

fn cel_policy_rules(kind: &str, spec: &Value) -> (Vec<RuleInfo>, Vec<String>) {
    let actions: Vec<String> = spec
        .get("validationActions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // A ValidatingAdmissionPolicy's action lives on its bindings; the
    // policy itself only audits what a binding says.
    let action = if kind != "ValidatingAdmissionPolicy" && actions.iter().any(|a| a == "Deny") {
        "Enforce"
    } else {
        "Audit"
    };
    let mut kinds = Vec::new();
    for rule in spec
        .pointer("/matchConstraints/resourceRules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for resource in rule
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(plural) = resource.as_str() {
                kinds.push(kind_of_plural(plural));
            }
        }
    }
    kinds.sort();
    kinds.dedup();
    let rules = vec![RuleInfo {
        name: String::new(),
        action: action.to_string(),
        kinds: kinds.clone(),
    }];
    (rules, kinds)
}

/// `deployments` → `Deployment`, best effort (`*` stays `*`); used only to
/// compare with the kinds a scan failed to list.
fn kind_of_plural(plural: &str) -> String {
    let base = plural.split('/').next().unwrap_or(plural);
    if base == "*" {
        return "*".into();
    }
    if let Some(kind) = crate::kinds::kind_of_plural(base) {
        return kind.to_string();
    }
    let singular = if let Some(stem) = base.strip_suffix("ies") {
        format!("{stem}y")
    } else if base.ends_with("sses") || base.ends_with("xes") {
        base.trim_end_matches("es").to_string()
    } else {
        base.trim_end_matches('s').to_string()
    };
    let mut chars = singular.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn last_changed(document: &Value) -> Option<DateTime<Utc>> {
    let managed = document
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        // A status update is not a change of the policy.
        .filter(|entry| entry.get("subresource").and_then(Value::as_str) != Some("status"))
        .filter_map(|entry| entry.get("time").and_then(Value::as_str))
        .filter_map(parse_time)
        .max();
    managed.or_else(|| {
        document
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .and_then(parse_time)
    })
}

fn resource_name(kind: &str) -> &'static str {
    match kind {
        "ClusterPolicy" => "clusterpolicy",
        "Policy" => "policy.kyverno.io",
        "ValidatingPolicy" => "validatingpolicy",
        "NamespacedValidatingPolicy" => "namespacedvalidatingpolicy",
        _ => "validatingadmissionpolicybinding",
    }
}

fn rollback(info: &PolicyInfo, spec: &Value) -> Option<Rollback> {
    let namespace_flag = info
        .namespace
        .as_ref()
        .map(|ns| format!(" -n {ns}"))
        .unwrap_or_default();
    let target = format!("{}/{}", resource_name(&info.kind), info.name);
    match info.kind.as_str() {
        "ClusterPolicy" | "Policy" => {
            // Rules that set their own action override the policy's, so those
            // are patched one by one; else the policy-wide field.
            let mut rule_fields = Vec::new();
            let mut operations = Vec::new();
            for (index, rule) in spec
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for field in ["failureAction", "validationFailureAction"] {
                    if rule.pointer(&format!("/validate/{field}")).is_some() {
                        rule_fields.push(format!("spec.rules[{index}].validate.{field}"));
                        operations.push(format!(
                            "{{\"op\":\"replace\",\"path\":\"/spec/rules/{index}/validate/{field}\",\"value\":\"Audit\"}}"
                        ));
                    }
                }
            }
            if rule_fields.is_empty() {
                Some(Rollback {
                    fields: vec!["spec.validationFailureAction".into()],
                    value: "Audit".into(),
                    command: format!(
                        "kubectl patch {target}{namespace_flag} --type=merge -p '{{\"spec\":{{\"validationFailureAction\":\"Audit\"}}}}'"
                    ),
                })
            } else {
                Some(Rollback {
                    fields: rule_fields,
                    value: "Audit".into(),
                    command: format!(
                        "kubectl patch {target}{namespace_flag} --type=json -p '[{}]'",
                        operations.join(",")
                    ),
                })
            }
        }
        "ValidatingPolicy" | "NamespacedValidatingPolicy" => Some(Rollback {
            fields: vec!["spec.validationActions".into()],
            value: "[Audit]".into(),
            command: format!(
                "kubectl patch {target}{namespace_flag} --type=merge -p '{{\"spec\":{{\"validationActions\":[\"Audit\"]}}}}'"
            ),
        }),
        // The action is on the bindings, which name the policy.
        _ => Some(Rollback {
            fields: vec!["spec.validationActions (of each binding of this policy)".into()],
            value: "[Audit]".into(),
            command: format!(
                "kubectl patch validatingadmissionpolicybinding <binding of {}> --type=merge -p '{{\"spec\":{{\"validationActions\":[\"Audit\"]}}}}'",
                info.name
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_wide_action_and_its_rollback() {
        let info = PolicyInfo::from_document(&json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {
                "name": "require-labels",
                "annotations": {"policies.kyverno.io/description": "  Label it. "},
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [
                    {"manager": "kubectl", "time": "2026-02-01T00:00:00Z"},
                    {"manager": "kyverno", "subresource": "status", "time": "2026-03-01T00:00:00Z"}
                ]
            },
            "spec": {"validationFailureAction": "Enforce", "rules": [
                {"name": "check", "match": {"any": [{"resources": {"kinds": ["Pod", "apps/v1/Deployment"]}}]},
                 "validate": {"pattern": {}}},
                {"name": "mutate-only", "mutate": {}}
            ]}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Enforce");
        assert_eq!(info.rules.len(), 1, "mutate rules are not validated");
        assert_eq!(info.kinds, ["Deployment", "Pod"]);
        assert_eq!(info.description.as_deref(), Some("Label it."));
        assert_eq!(
            info.last_changed.map(|t| t.to_rfc3339()),
            Some("2026-02-01T00:00:00+00:00".into())
        );
        let rollback = info.rollback.expect("rollback");
        assert_eq!(rollback.fields, ["spec.validationFailureAction"]);
        assert_eq!(
            rollback.command,
            "kubectl patch clusterpolicy/require-labels --type=merge -p '{\"spec\":{\"validationFailureAction\":\"Audit\"}}'"
        );
    }

    #[test]
    fn rule_actions_are_patched_rule_by_rule() {
        let info = PolicyInfo::from_document(&json!({
            "kind": "Policy", "metadata": {"name": "p", "namespace": "team"},
            "spec": {"rules": [
                {"name": "a", "validate": {"failureAction": "Enforce"}},
                {"name": "b", "validate": {"failureAction": "Audit"}}
            ]}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Mixed");
        assert_eq!(info.qualified_name(), "team/p");
        let rollback = info.rollback.expect("rollback");
        assert_eq!(rollback.fields.len(), 2);
        assert!(rollback.command.starts_with("kubectl patch policy.kyverno.io/p -n team --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/rules/0/validate/failureAction\""), "{}", rollback.command);
    }

    #[test]
    fn cel_policies_deny_means_enforce() {
        let info = PolicyInfo::from_document(&json!({
            "kind": "ValidatingPolicy", "metadata": {"name": "v"},
            "spec": {"validationActions": ["Deny"],
                     "matchConstraints": {"resourceRules": [{"resources": ["deployments", "ingresses", "pods"]}]}}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Enforce");
        assert_eq!(info.kinds, ["Deployment", "Ingress", "Pod"]);
        assert!(PolicyInfo::from_document(&json!({"kind": "ConfigMap"})).is_none());
    }

    #[test]
    fn a_rule_enforced_by_a_namespace_override_is_enforced() {
        let info = PolicyInfo::from_document(&json!({
            "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"validationFailureAction": "Audit",
                     "validationFailureActionOverrides": [{"action": "Enforce", "namespaces": ["prod"]}],
                     "rules": [{"name": "a", "validate": {}}]}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Enforce");
        let info = PolicyInfo::from_document(&json!({
            "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"rules": [
                {"name": "a", "validate": {"failureAction": "Audit",
                 "failureActionOverrides": [{"action": "Enforce", "namespaces": ["prod"]}]}},
                {"name": "b", "validate": {"failureAction": "Audit",
                 "failureActionOverrides": [{"action": "Audit", "namespaces": ["dev"]}]}}
            ]}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Mixed");
        assert_eq!(info.rules[0].action, "Enforce");
        assert_eq!(info.rules[1].action, "Audit");
    }
}
