//! Autogen: Kyverno rewrites rules written for Pods so they also apply to the
//! Pod controllers (Deployment, DaemonSet, StatefulSet, Job, ReplicaSet,
//! ReplicationController) as `autogen-<rule>` and to CronJobs as
//! `autogen-cronjob-<rule>`. A policy's raw rules enter; the extra rules for
//! a given resource kind leave. Mirrors Kyverno's `pkg/autogen/v1`.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::kyverno::policy::{Policy, Rule, ANNOTATION_AUTOGEN_CONTROLLERS};
use crate::match_resources::{MatchResources, ResourceDescription};

const POD_CONTROLLERS: [&str; 7] = [
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "CronJob",
];

/// Controllers (CronJob excluded) in Kyverno's sorted order.
const NON_CRONJOB_CONTROLLERS: [&str; 6] = [
    "DaemonSet",
    "Deployment",
    "Job",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
];

/// The kind name of a kind selector (`apps/v1/Deployment` → `Deployment`,
/// `Pod/ephemeralcontainers` → `Pod`).
fn kind_of_selector(selector: &str) -> &str {
    let parts: Vec<&str> = selector.split('/').collect();
    let kind = match parts.len() {
        0 | 1 => selector,
        2 => {
            // version/kind or kind/subresource: the kind is the capitalised part.
            if parts[1].chars().next().is_some_and(char::is_uppercase) {
                parts[1]
            } else {
                parts[0]
            }
        }
        _ => {
            if parts[parts.len() - 1]
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
            {
                parts[parts.len() - 1]
            } else {
                parts[parts.len() - 2]
            }
        }
    };
    kind.split('.').next().unwrap_or(kind)
}

fn contains_kind(kinds: &[String], kind: &str) -> bool {
    kinds.iter().any(|k| kind_of_selector(k) == kind)
}

fn gvk_for(kind: &str) -> String {
    match kind {
        "DaemonSet" => "apps/v1/DaemonSet",
        "Deployment" => "apps/v1/Deployment",
        "Job" => "batch/v1/Job",
        "StatefulSet" => "apps/v1/StatefulSet",
        "ReplicaSet" => "apps/v1/ReplicaSet",
        "ReplicationController" => "v1/ReplicationController",
        "CronJob" => "batch/v1/CronJob",
        "Pod" => "v1/Pod",
        other => other,
    }
    .to_string()
}

/// Kyverno's `checkAutogenSupport` for one resource description.
fn supports_autogen(description: &ResourceDescription, needed: &mut bool) -> bool {
    let other_than_pod = description.kinds.len() > 1 && contains_kind(&description.kinds, "Pod");
    if description.name.is_some()
        || !description.names.is_empty()
        || description.selector.is_some()
        || !description.annotations.is_empty()
        || other_than_pod
    {
        return false;
    }
    if description
        .kinds
        .iter()
        .any(|k| k == "Pod" || POD_CONTROLLERS.contains(&k.as_str()))
    {
        *needed = true;
    }
    true
}

fn block_supports_autogen(block: &MatchResources, needed: &mut bool) -> bool {
    supports_autogen(&block.resources, needed)
        && block
            .any
            .iter()
            .all(|f| supports_autogen(&f.resources, needed))
        && block
            .all
            .iter()
            .all(|f| supports_autogen(&f.resources, needed))
}

/// The controllers autogen applies to for this policy, or `None` when it
/// does not apply (Kyverno's `CanAutoGen` plus the annotation override).
pub(crate) fn controllers(policy: &Policy) -> Option<BTreeSet<String>> {
    let mut needed = false;
    for rule in &policy.spec.rules {
        if rule.generate.is_some() {
            return None;
        }
        if let Some(mutate) = &rule.mutate {
            let json6902 = mutate.get("patchesJson6902").is_some()
                || mutate
                    .get("foreach")
                    .and_then(Value::as_array)
                    .is_some_and(|items| items.iter().any(|f| f.get("patchesJson6902").is_some()));
            if json6902 {
                return None;
            }
        }
        if !block_supports_autogen(&rule.match_resources, &mut needed) {
            return None;
        }
        if let Some(exclude) = &rule.exclude {
            if !block_supports_autogen(exclude, &mut needed) {
                return None;
            }
        }
    }
    if !needed {
        return None;
    }
    let set: BTreeSet<String> = match policy.annotations.get(ANNOTATION_AUTOGEN_CONTROLLERS) {
        Some(value) => value.split(',').map(|s| s.trim().to_string()).collect(),
        None => POD_CONTROLLERS.iter().map(|s| s.to_string()).collect(),
    };
    if set.contains("none") {
        return None;
    }
    Some(set)
}

/// A policy's rules with autogen applied once, for every kind to look up.
#[derive(Debug, Clone)]
pub(crate) struct AutogenRules {
    controllers: Option<BTreeSet<String>>,
    original: Vec<Rule>,
    /// The original rules (minus stale `autogen-` ones) plus generated ones.
    with_generated: Vec<Rule>,
}

impl AutogenRules {
    pub(crate) fn compute(policy: &Policy) -> AutogenRules {
        let original = policy.spec.rules.clone();
        let controllers = controllers(policy);
        let with_generated = match &controllers {
            None => original.clone(),
            Some(set) => {
                let joined: Vec<String> = set.iter().cloned().collect();
                let generated = generate_rules(policy, &joined.join(","));
                if generated.is_empty() {
                    original.clone()
                } else {
                    let mut out: Vec<Rule> = original
                        .iter()
                        .filter(|rule| !rule.name.starts_with("autogen-"))
                        .cloned()
                        .collect();
                    out.extend(generated);
                    out
                }
            }
        };
        AutogenRules {
            controllers,
            original,
            with_generated,
        }
    }

    /// The rules that apply to a resource of `kind`: the policy's own rules,
    /// plus the generated ones when `kind` is one of the autogen controllers.
    pub(crate) fn for_kind(&self, kind: &str) -> &[Rule] {
        match &self.controllers {
            Some(set) if set.contains(kind) => &self.with_generated,
            _ => &self.original,
        }
    }
}

/// Convenience for one lookup; engines keep an [`AutogenRules`] per policy.
#[cfg(test)]
pub(crate) fn rules_for_kind(policy: &Policy, kind: &str) -> Vec<Rule> {
    AutogenRules::compute(policy).for_kind(kind).to_vec()
}

fn generate_rules(policy: &Policy, controllers: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (raw, typed) in policy.raw_rules.iter().zip(policy.spec.rules.iter()) {
        let without_cronjob = strip_cronjob(controllers);
        if let Some(rule) = rule_for_controllers(raw, typed, &without_cronjob) {
            if let Some(converted) = convert(rule, "Pod") {
                rules.push(converted);
            }
        }
        if let Some(rule) = cronjob_rule(raw, typed, controllers) {
            if let Some(converted) = convert(rule, "Cronjob") {
                rules.push(converted);
            }
        }
    }
    rules
}

fn strip_cronjob(controllers: &str) -> String {
    let mut kinds: Vec<&str> = controllers
        .split(',')
        .filter(|c| *c != "CronJob" && !c.is_empty())
        .collect();
    kinds.sort_unstable();
    kinds.join(",")
}

fn autogen_name(prefix: &str, name: &str) -> String {
    let mut full = format!("{prefix}-{name}");
    if full.len() > 63 {
        let mut cut = 63;
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        full.truncate(cut);
    }
    full
}

/// Kyverno's `generateRuleForControllers`: the rule rewritten for the
/// non-CronJob controllers, as raw JSON.
fn rule_for_controllers(raw: &Value, typed: &Rule, controllers: &str) -> Option<Value> {
    if typed.name.starts_with("autogen-") || controllers.is_empty() {
        return None;
    }
    let match_kinds = typed.match_resources.kinds();
    let exclude_kinds = typed
        .exclude
        .as_ref()
        .map(|e| e.kinds())
        .unwrap_or_default();
    if !contains_kind(&match_kinds, "Pod")
        || (!exclude_kinds.is_empty() && !contains_kind(&exclude_kinds, "Pod"))
    {
        return None;
    }
    let kinds: Vec<String> = if controllers == "all" {
        NON_CRONJOB_CONTROLLERS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        let mut valid: Vec<String> = controllers
            .split(',')
            .filter(|c| NON_CRONJOB_CONTROLLERS.contains(c))
            .map(str::to_string)
            .collect();
        valid.sort();
        if valid.is_empty() {
            // Kyverno passes the unvalidated list through in this case.
            let mut all: Vec<String> = controllers.split(',').map(str::to_string).collect();
            all.sort();
            all
        } else {
            valid
        }
    };
    generate_rule(
        &autogen_name("autogen", &typed.name),
        raw,
        "template",
        &kinds,
        |filter_kinds| contains_kind(filter_kinds, "Pod"),
    )
}

fn cronjob_rule(raw: &Value, typed: &Rule, controllers: &str) -> Option<Value> {
    if !(controllers.contains("CronJob") || controllers.contains("all")) {
        return None;
    }
    let base = rule_for_controllers(raw, typed, controllers)?;
    generate_rule(
        &autogen_name("autogen-cronjob", &typed.name),
        &base,
        "jobTemplate",
        &["CronJob".to_string()],
        |_| true,
    )
}

fn kinds_of(filter: &Value) -> Vec<String> {
    filter
        .pointer("/resources/kinds")
        .and_then(Value::as_array)
        .map(|kinds| {
            kinds
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn set_kinds(filter: &mut Value, kinds: &[String]) {
    let gvks: Vec<Value> = kinds.iter().map(|k| Value::String(gvk_for(k))).collect();
    if let Some(resources) = filter.get_mut("resources").and_then(Value::as_object_mut) {
        resources.insert("kinds".into(), Value::Array(gvks));
    } else if let Some(object) = filter.as_object_mut() {
        object.insert("resources".into(), json!({ "kinds": gvks }));
    }
}

/// Rewrites the kinds of a match/exclude block the way Kyverno's
/// `generateRule` does. `replace_filter` decides per any/all filter.
fn rewrite_block(
    block: &mut Value,
    kinds: &[String],
    is_exclude: bool,
    replace_filter: &dyn Fn(&[String]) -> bool,
) {
    let has_list = |key: &str, block: &Value| {
        block
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    if has_list("any", block) || has_list("all", block) {
        let key = if has_list("any", block) { "any" } else { "all" };
        if let Some(filters) = block.get_mut(key).and_then(Value::as_array_mut) {
            for filter in filters {
                if replace_filter(&kinds_of(filter)) {
                    set_kinds(filter, kinds);
                }
            }
        }
    } else if !is_exclude || !kinds_of(block).is_empty() {
        set_kinds(block, kinds);
    }
}

fn generate_rule(
    name: &str,
    raw: &Value,
    template_key: &str,
    kinds: &[String],
    replace_filter: impl Fn(&[String]) -> bool,
) -> Option<Value> {
    let mut rule = raw.clone();
    let object = rule.as_object_mut()?;
    object.insert("name".into(), Value::String(name.to_string()));
    if let Some(block) = object.get_mut("match") {
        rewrite_block(block, kinds, false, &replace_filter);
    }
    if let Some(block) = object.get_mut("exclude") {
        rewrite_block(block, kinds, true, &replace_filter);
    }
    let validate = object.get("validate")?.as_object()?.clone();
    let mut new_validate = Map::new();
    for key in [
        "message",
        "failureAction",
        "failureActionOverrides",
        "allowExistingViolations",
    ] {
        if let Some(value) = validate.get(key) {
            new_validate.insert(key.to_string(), value.clone());
        }
    }
    let wrap = |pattern: &Value| json!({ "spec": { template_key: pattern } });
    if let Some(pattern) = validate.get("pattern") {
        new_validate.insert("pattern".into(), wrap(pattern));
    } else if let Some(deny) = validate.get("deny") {
        new_validate.insert("deny".into(), deny.clone());
    } else if let Some(pss) = validate.get("podSecurity") {
        new_validate.insert("podSecurity".into(), pss.clone());
    } else if let Some(any) = validate.get("anyPattern").and_then(Value::as_array) {
        new_validate.insert(
            "anyPattern".into(),
            Value::Array(any.iter().map(wrap).collect()),
        );
    } else if let Some(foreach) = validate.get("foreach") {
        new_validate.insert("foreach".into(), foreach.clone());
    } else if validate.get("cel").is_some() {
        new_validate = validate.clone();
    } else {
        return None;
    }
    object.insert("validate".into(), Value::Object(new_validate));
    Some(rule)
}

/// Kyverno's `updateFields`: a textual rewrite of `request.object.spec` and
/// `request.object.metadata` to the pod template's paths, then back to a rule.
fn convert(rule: Value, kind: &str) -> Option<Rule> {
    let is_cel = rule.pointer("/validate/cel").is_some();
    let mut text = serde_json::to_string(&rule).ok()?;
    let replacements: &[(&str, &str)] = match (kind, is_cel) {
        ("Pod", false) => &[
            ("request.object.spec", "request.object.spec.template.spec"),
            (
                "request.oldObject.spec",
                "request.oldObject.spec.template.spec",
            ),
            (
                "request.object.metadata",
                "request.object.spec.template.metadata",
            ),
            (
                "request.oldObject.metadata",
                "request.oldObject.spec.template.metadata",
            ),
        ],
        ("Pod", true) => &[
            ("object.spec", "object.spec.template.spec"),
            ("oldObject.spec", "oldObject.spec.template.spec"),
            ("object.metadata", "object.spec.template.metadata"),
            ("oldObject.metadata", "oldObject.spec.template.metadata"),
        ],
        (_, false) => &[
            (
                "request.object.spec",
                "request.object.spec.jobTemplate.spec.template.spec",
            ),
            (
                "request.oldObject.spec",
                "request.oldObject.spec.jobTemplate.spec.template.spec",
            ),
            (
                "request.object.metadata",
                "request.object.spec.jobTemplate.spec.template.metadata",
            ),
            (
                "request.oldObject.metadata",
                "request.oldObject.spec.jobTemplate.spec.template.metadata",
            ),
        ],
        (_, true) => &[
            ("object.spec", "object.spec.jobTemplate.spec.template.spec"),
            (
                "oldObject.spec",
                "oldObject.spec.jobTemplate.spec.template.spec",
            ),
            (
                "object.metadata",
                "object.spec.jobTemplate.spec.template.metadata",
            ),
            (
                "oldObject.metadata",
                "oldObject.spec.jobTemplate.spec.template.metadata",
            ),
        ],
    };
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(doc: Value) -> Policy {
        Policy::from_document(&doc).expect("valid policy")
    }

    fn pod_policy(annotations: Value) -> Policy {
        policy(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "p", "annotations": annotations},
            "spec": {"rules": [{
                "name": "check",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "preconditions": {"all": [{"key": "{{ request.object.metadata.name }}", "operator": "NotEquals", "value": ""}]},
                "validate": {"message": "m", "pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}
            }]}
        }))
    }

    #[test]
    fn pod_rule_generates_controller_and_cronjob_rules() {
        let p = pod_policy(json!({}));
        let names: Vec<String> = rules_for_kind(&p, "Deployment")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(
            names,
            vec!["check", "autogen-check", "autogen-cronjob-check"]
        );
        let pod_names: Vec<String> = rules_for_kind(&p, "Pod")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(pod_names, vec!["check"]);
    }

    #[test]
    fn generated_rule_wraps_pattern_and_rewrites_paths() {
        let p = pod_policy(json!({}));
        let rules = rules_for_kind(&p, "CronJob");
        let deploy = &rules[1];
        assert_eq!(
            deploy.match_resources.any[0].resources.kinds,
            vec![
                "apps/v1/DaemonSet",
                "apps/v1/Deployment",
                "batch/v1/Job",
                "apps/v1/ReplicaSet",
                "v1/ReplicationController",
                "apps/v1/StatefulSet"
            ]
        );
        let pattern = deploy
            .validate
            .as_ref()
            .and_then(|v| v.pattern.clone())
            .expect("pattern");
        assert!(pattern.pointer("/spec/template/spec/containers").is_some());
        let pre = deploy
            .preconditions
            .as_ref()
            .expect("preconditions")
            .to_string();
        assert!(
            pre.contains("request.object.spec.template.metadata.name"),
            "{pre}"
        );
        let cron = &rules[2];
        assert_eq!(
            cron.match_resources.any[0].resources.kinds,
            vec!["batch/v1/CronJob"]
        );
        let pattern = cron
            .validate
            .as_ref()
            .and_then(|v| v.pattern.clone())
            .expect("pattern");
        assert!(pattern
            .pointer("/spec/jobTemplate/spec/template/spec/containers")
            .is_some());
        let pre = cron
            .preconditions
            .as_ref()
            .expect("preconditions")
            .to_string();
        assert!(
            pre.contains("request.object.spec.jobTemplate.spec.template.metadata.name"),
            "{pre}"
        );
    }

    #[test]
    fn annotation_limits_or_disables_controllers() {
        let none = pod_policy(json!({ANNOTATION_AUTOGEN_CONTROLLERS: "none"}));
        assert_eq!(rules_for_kind(&none, "Deployment").len(), 1);
        let only = pod_policy(json!({ANNOTATION_AUTOGEN_CONTROLLERS: "Deployment"}));
        assert_eq!(rules_for_kind(&only, "Deployment").len(), 2);
        assert_eq!(rules_for_kind(&only, "StatefulSet").len(), 1);
        assert_eq!(rules_for_kind(&only, "CronJob").len(), 1);
    }

    #[test]
    fn name_or_selector_disables_autogen() {
        let p = policy(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"rules": [{"name": "r", "match": {"resources": {"kinds": ["Pod"], "names": ["x*"]}},
                "validate": {"pattern": {"metadata": {}}}}]}
        }));
        assert!(controllers(&p).is_none());
        let multi = policy(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"rules": [{"name": "r", "match": {"resources": {"kinds": ["Pod", "Service"]}},
                "validate": {"pattern": {"metadata": {}}}}]}
        }));
        assert!(controllers(&multi).is_none());
    }

    #[test]
    fn long_names_are_cut_to_63() {
        assert_eq!(autogen_name("autogen-cronjob", &"x".repeat(80)).len(), 63);
    }
}
