//! A policy's rules as they judge, kept in the package so that a later
//! `evidence --since` can diff them. A policy document enters; a
//! [`RuleContent`] leaves: the spec fields that decide results (a Kyverno
//! policy's `rules` and the spec fields that change which results they
//! give; a CEL policy's validations, match constraints and conditions,
//! variables, audit annotations and the rest of its spec; the annotations
//! that change results, under `annotations`), keys sorted,
//! with its digest, and apart from them the action fields, which decide
//! what Kyverno does with a result and not the result.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::run::record_format::keys_sorted;

/// The largest judging content (as JSON) kept verbatim; beyond it only its
/// digest is kept, which still tells whether the rules changed.
pub const MAX_RECORDED_BYTES: usize = 64 * 1024;

/// Spec fields of a Kyverno ClusterPolicy/Policy that are actions.
const KYVERNO_ACTION_FIELDS: [&str; 3] = [
    "validationFailureAction",
    "validationFailureActionOverrides",
    "failurePolicy",
];
/// A Kyverno rule's `validate` fields that are actions.
const KYVERNO_RULE_ACTION_FIELDS: [&str; 3] = [
    "failureAction",
    "validationFailureAction",
    "failureActionOverrides",
];
/// Spec fields of a Kyverno policy that change neither a result nor what
/// is done with it (webhook timing, warnings, mutation/generation upkeep).
const KYVERNO_INERT_FIELDS: [&str; 7] = [
    "webhookTimeoutSeconds",
    "emitWarning",
    "schemaValidation",
    "useServerSideApply",
    "generateExisting",
    "generateExistingOnPolicyUpdate",
    "mutateExistingOnPolicyUpdate",
];
/// Annotations that change a policy's results: which Pod controllers
/// autogen extends its rules to, and whether failures are reported as
/// `warn`.
const JUDGING_ANNOTATIONS: [&str; 2] = [
    polscan_engine::kyverno::policy::ANNOTATION_AUTOGEN_CONTROLLERS,
    polscan_engine::policy::ANNOTATION_SCORED,
];
/// Spec fields of a CEL policy (ValidatingPolicy, its namespaced kind,
/// ValidatingAdmissionPolicy) that are actions.
const CEL_ACTION_FIELDS: [&str; 2] = ["validationActions", "failurePolicy"];

/// The judging content of a policy's rules, as the package keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleContent {
    /// The SHA-256 (hex) of the content as compact JSON with sorted keys:
    /// the rules changed exactly when it did.
    pub digest: String,
    /// The spec fields that decide results, keys sorted (a Kyverno
    /// policy's rules under `rules`); None when larger than
    /// [`MAX_RECORDED_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// The action fields, by path (`spec.validationFailureAction`,
    /// `spec.rules[check].validate.failureAction`): shown beside a rule
    /// diff, never counted as a rule change.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub actions: Map<String, Value>,
}

impl RuleContent {
    /// The judging content of a policy document of `kind` (one of
    /// [`super::policy_info::POLICY_DOCUMENT_KINDS`]); a document without a
    /// spec has an empty one.
    pub fn of(kind: &str, document: &Value) -> RuleContent {
        let mut spec = match document.get("spec") {
            Some(Value::Object(spec)) => spec.clone(),
            _ => Map::new(),
        };
        let mut actions = Map::new();
        if matches!(kind, "ClusterPolicy" | "Policy") {
            for field in KYVERNO_ACTION_FIELDS {
                if let Some(value) = spec.remove(field) {
                    actions.insert(format!("spec.{field}"), value);
                }
            }
            for field in KYVERNO_INERT_FIELDS {
                spec.remove(field);
            }
            if let Some(Value::Object(webhook)) = spec.get_mut("webhookConfiguration") {
                webhook.remove("timeoutSeconds");
                if let Some(value) = webhook.remove("failurePolicy") {
                    actions.insert("spec.webhookConfiguration.failurePolicy".into(), value);
                }
            }
            for (index, rule) in spec
                .get_mut("rules")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let name = rule_name(rule, index);
                if let Some(Value::Object(validate)) = rule.get_mut("validate") {
                    for field in KYVERNO_RULE_ACTION_FIELDS {
                        if let Some(value) = validate.remove(field) {
                            actions.insert(format!("spec.rules[{name}].validate.{field}"), value);
                        }
                    }
                }
            }
        } else {
            for field in CEL_ACTION_FIELDS {
                if let Some(value) = spec.remove(field) {
                    actions.insert(format!("spec.{field}"), value);
                }
            }
            if let Some(Value::Object(webhook)) = spec.get_mut("webhookConfiguration") {
                webhook.remove("timeoutSeconds");
            }
        }
        // Beside the spec fields (no spec field is named `annotations`).
        let annotations: Map<String, Value> = JUDGING_ANNOTATIONS
            .iter()
            .filter_map(|key| {
                let value = document.pointer("/metadata/annotations")?.get(*key)?;
                Some((key.to_string(), value.clone()))
            })
            .collect();
        if !annotations.is_empty() {
            spec.insert("annotations".into(), Value::Object(annotations));
        }
        let content = keys_sorted(Value::Object(spec));
        let bytes = serde_json::to_vec(&content).unwrap_or_default();
        RuleContent {
            digest: hex::encode(Sha256::digest(&bytes)),
            content: (bytes.len() <= MAX_RECORDED_BYTES).then_some(content),
            actions: match keys_sorted(Value::Object(actions)) {
                Value::Object(actions) => actions,
                _ => Map::new(),
            },
        }
    }

    /// The rules of a Kyverno policy's content, by name, in order; empty
    /// for a CEL policy (whose content is one unnamed rule) or when the
    /// content is not kept.
    pub fn named_rules(&self) -> Vec<(String, &Value)> {
        self.content
            .as_ref()
            .and_then(|content| content.get("rules"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, rule)| (rule_name(rule, index), rule))
            .collect()
    }
}

/// A rule's name; its index for a rule without one (Kyverno refuses it,
/// but the diff must still tell it apart).
fn rule_name(rule: &Value, index: usize) -> String {
    rule.get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| index.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_leave_the_judging_content_and_its_digest() {
        let audit = json!({"kind": "ClusterPolicy", "spec": {
            "validationFailureAction": "Audit", "webhookTimeoutSeconds": 10,
            "rules": [{"name": "check", "validate": {"failureAction": "Audit", "pattern": {"a": 1}}}]}});
        let mut enforce = audit.clone();
        enforce["spec"]["validationFailureAction"] = json!("Enforce");
        enforce["spec"]["rules"][0]["validate"]["failureAction"] = json!("Enforce");
        enforce["spec"]["webhookTimeoutSeconds"] = json!(30);
        let (before, after) = (
            RuleContent::of("ClusterPolicy", &audit),
            RuleContent::of("ClusterPolicy", &enforce),
        );
        assert_eq!(before.digest, after.digest);
        assert_eq!(before.content, after.content);
        assert_ne!(before.actions, after.actions);
        assert_eq!(
            after
                .actions
                .get("spec.rules[check].validate.failureAction"),
            Some(&json!("Enforce"))
        );
        let mut unscored = audit.clone();
        unscored["metadata"] = json!({"annotations": {"policies.kyverno.io/scored": "false", "policies.kyverno.io/title": "t"}});
        let unscored = RuleContent::of("ClusterPolicy", &unscored);
        assert_ne!(unscored.digest, before.digest);
        assert_eq!(
            unscored.content.as_ref().and_then(|c| c.get("annotations")),
            Some(&json!({"policies.kyverno.io/scored": "false"})),
            "a title changes no result"
        );
        let mut relaxed = audit.clone();
        relaxed["spec"]["rules"][0]["validate"]["pattern"] = json!({"a": "?*"});
        assert_ne!(
            RuleContent::of("ClusterPolicy", &relaxed).digest,
            before.digest
        );
    }

    #[test]
    fn key_order_is_no_change_and_a_large_content_keeps_only_its_digest() {
        let one = json!({"spec": {"validations": [{"expression": "true", "message": "m"}], "validationActions": ["Audit"]}});
        let other = json!({"spec": {"validationActions": ["Deny"], "validations": [{"message": "m", "expression": "true"}]}});
        let (one, other) = (
            RuleContent::of("ValidatingPolicy", &one),
            RuleContent::of("ValidatingPolicy", &other),
        );
        assert_eq!(one.digest, other.digest);
        assert!(one.named_rules().is_empty());
        let large =
            json!({"spec": {"validations": [{"expression": "x".repeat(MAX_RECORDED_BYTES)}]}});
        let large = RuleContent::of("ValidatingPolicy", &large);
        assert!(large.content.is_none());
        assert_eq!(large.digest.len(), 64);
    }
}
