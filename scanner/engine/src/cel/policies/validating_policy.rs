//! Kyverno `ValidatingPolicy` / `NamespacedValidatingPolicy`
//! (policies.kyverno.io v1alpha1, v1beta1, v1): parsing, Kyverno's autogen
//! to Pod controllers, and evaluation through the admission body shared with
//! ValidatingAdmissionPolicy. A policy document enters; for each resource,
//! no result (not matched) or one result (pass, fail, skip, error) leaves,
//! as Kyverno's vpol engine gives.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::cel::policies::admission::{
    namespace_selector_matches, operation_matches, AdmissionOutcome, MatchConstraints,
    RequestFacts, ValidationBody,
};
use crate::cel::policies::policy_exception::{CelPolicyException, Verdict};
use crate::cel::PolicyInputs;
use crate::context::ClusterData;
use crate::policy::{PolicyError, PolicyMeta};
use crate::ValueExt;

use crate::document_kind::{DocumentKind, VALIDATING_POLICY_KINDS};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    match_constraints: Option<MatchConstraints>,
    #[serde(flatten)]
    body: ValidationBody,
    #[serde(default)]
    validation_actions: Vec<String>,
    #[serde(default)]
    evaluation: Option<Value>,
    #[serde(default)]
    autogen: Option<Value>,
    #[serde(default)]
    failure_policy: Option<String>,
}

/// Pod controllers Kyverno's vpol autogen targets, with the path that holds
/// their Pod template (`spec.template` or the CronJob's job template).
const AUTOGEN_TARGETS: [(&str, &str, bool); 6] = [
    ("daemonsets", "DaemonSet", false),
    ("deployments", "Deployment", false),
    ("replicasets", "ReplicaSet", false),
    ("statefulsets", "StatefulSet", false),
    ("jobs", "Job", false),
    ("cronjobs", "CronJob", true),
];

/// A Kyverno `ValidatingPolicy` or `NamespacedValidatingPolicy`
/// (policies.kyverno.io), parsed and compiled, with Kyverno's autogen to Pod
/// controllers.
#[derive(Debug, Clone)]
pub struct ValidatingPolicy {
    /// Its identity in results.
    pub meta: PolicyMeta,
    spec: Spec,
    background: bool,
    /// Controller kinds autogen extends the policy to.
    autogen_kinds: Vec<(&'static str, bool)>,
    /// The body rewritten for `spec.template` controllers and for CronJobs,
    /// compiled once when autogen applies.
    controller_body: Option<ValidationBody>,
    cronjob_body: Option<ValidationBody>,
}

impl ValidatingPolicy {
    /// True for the kinds this module reads (`ValidatingPolicy`,
    /// `NamespacedValidatingPolicy`).
    pub fn is_kind(kind: &str) -> bool {
        VALIDATING_POLICY_KINDS.contains(&kind)
    }

    /// Whether the document is one ([`DocumentKind::ValidatingPolicy`]).
    pub fn is_validating_policy(document: &Value) -> bool {
        DocumentKind::of(document) == Some(DocumentKind::ValidatingPolicy)
    }

    /// Parses a policy, refusing a document of another kind and what the
    /// Kyverno CLI refuses to load (schema, policy validation, expressions that
    /// do not compile). Errors name the policy (`metadata.name`, `<unnamed>`
    /// when unset).
    pub fn from_document(document: &Value) -> Result<ValidatingPolicy, PolicyError> {
        let name = document
            .str_at("/metadata/name")
            .unwrap_or("<unnamed>")
            .to_string();
        let kind = document.str_field("kind").unwrap_or("").to_string();
        if !Self::is_validating_policy(document) {
            return Err(PolicyError::NotAPolicy {
                policy: name,
                api_version: document.str_field("apiVersion").unwrap_or("").to_string(),
                kind,
            });
        }
        let rejected = |source| PolicyError::Rejected {
            policy: name.clone(),
            source,
        };
        crate::policy_validation::check_validating_policy(document).map_err(rejected)?;
        let spec: Spec =
            serde_path_to_error::deserialize(document.get("spec").cloned().unwrap_or(Value::Null))
                .map_err(|err| PolicyError::InvalidField {
                    policy: name.clone(),
                    path: format!("spec.{}", err.path()),
                    message: err.inner().to_string(),
                })?;
        let namespace = (kind == "NamespacedValidatingPolicy").then(|| {
            document
                .str_at("/metadata/namespace")
                .unwrap_or("default")
                .to_string()
        });
        let annotations = crate::matching::string_map(document.pointer("/metadata/annotations"));
        let background = spec
            .evaluation
            .as_ref()
            .and_then(|e| e.pointer("/background/enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let admission = spec
            .evaluation
            .as_ref()
            .and_then(|e| e.pointer("/admission/enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let autogen_kinds = autogen_kinds(&spec);
        let needs = |cronjob: bool| autogen_kinds.iter().any(|(_, c)| *c == cronjob);
        let controller_body = needs(false).then(|| {
            spec.body
                .rewritten(&|text: &str| rewrite_for_controller(text, false))
        });
        let cronjob_body = needs(true).then(|| {
            spec.body
                .rewritten(&|text: &str| rewrite_for_controller(text, true))
        });
        // Kyverno's CLI stops with the compile error (vpol `NewProvider`),
        // so a policy that does not compile is refused, not evaluated.
        if let Some(source) =
            crate::policy_validation::compile_rejection(spec.body.compile_errors())
        {
            return Err(rejected(source));
        }
        Ok(ValidatingPolicy {
            meta: PolicyMeta {
                kind,
                name,
                namespace,
                annotations,
                process: crate::policy::process(background, admission),
            },
            spec,
            background,
            autogen_kinds,
            controller_body,
            cronjob_body,
        })
    }

    /// The resources the policy is written for.
    pub fn match_constraints(&self) -> Option<&MatchConstraints> {
        self.spec.match_constraints.as_ref()
    }

    /// Its CEL body (validations, variables, audit annotations), as
    /// written for the kinds it names (not autogen's rewrites).
    pub(crate) fn body(&self) -> &ValidationBody {
        &self.spec.body
    }

    pub(crate) fn background(&self) -> bool {
        self.background
    }

    /// Compile errors of the policy's expressions, each naming its place.
    pub fn compile_errors(&self) -> Vec<String> {
        self.spec.body.compile_errors()
    }

    /// Audit unless the actions name only Deny, as Kyverno reports it.
    pub(crate) fn action(&self) -> String {
        if self.spec.validation_actions.iter().any(|a| a == "Deny") {
            "Deny".into()
        } else {
            "Audit".into()
        }
    }

    /// Evaluates the policy on a resource; `None` when it does not match.
    #[cfg(test)]
    pub(crate) fn evaluate(
        &self,
        facts: &RequestFacts<'_>,
        data: &Arc<dyn ClusterData>,
    ) -> Option<AdmissionOutcome> {
        self.evaluate_with_exceptions(facts, data, &[])
    }

    /// [`ValidatingPolicy::evaluate`] with the CEL PolicyExceptions whose
    /// `policyRefs` name this policy. As Kyverno's vpol compiler does
    /// (`evaluateWithData`, pkg/cel/policies/vpol/compiler/policy.go), the
    /// exceptions are checked once the match constraints hold and before
    /// the policy's own `matchConditions`; their conditions are not
    /// rewritten by autogen. The `exceptions` variable is always bound.
    pub(crate) fn evaluate_with_exceptions(
        &self,
        facts: &RequestFacts<'_>,
        data: &Arc<dyn ClusterData>,
        exceptions: &[&CelPolicyException],
    ) -> Option<AdmissionOutcome> {
        let identity = facts.identity;
        if let Some(namespace) = &self.meta.namespace {
            if namespace != &identity.namespace {
                return None;
            }
        }
        let constraints = self.spec.match_constraints.as_ref()?;
        let autogen = self
            .autogen_kinds
            .iter()
            .find(|(kind, _)| {
                *kind == identity.gvk.kind && identity.gvk.group == group_of_controller(kind)
            })
            .map(|(_, cronjob)| *cronjob);
        let body = match autogen {
            Some(cronjob) => {
                // The generated policy matches the controller with the same
                // operations and namespace selector.
                let operations = constraints
                    .resource_rules
                    .first()
                    .map(|r| r.operations.clone())
                    .unwrap_or_default();
                if !operation_matches(&operations, facts.operation)
                    || !namespace_selector_matches(
                        constraints.namespace_selector.as_ref(),
                        identity,
                        facts.namespace_labels,
                    )
                {
                    return None;
                }
                if cronjob {
                    self.cronjob_body.as_ref()?
                } else {
                    self.controller_body.as_ref()?
                }
            }
            None => {
                if !constraints.matches(identity, facts.namespace_labels, facts.operation) {
                    return None;
                }
                &self.spec.body
            }
        };
        let scope = facts.scope();
        let policy = PolicyInputs {
            policy_namespace: self.meta.namespace.as_deref(),
            ..PolicyInputs::default()
        };
        let ignore_errors = self.spec.failure_policy.as_deref() == Some("Ignore");
        match crate::cel::policies::policy_exception::check(
            exceptions,
            scope,
            data,
            policy,
            ignore_errors,
        ) {
            Verdict::Decided(outcome) => Some(outcome),
            Verdict::Evaluate(allowances) => Some(body.run_with(
                scope,
                data,
                policy,
                &[("exceptions", allowances.to_value())],
                ignore_errors,
            )),
        }
    }
}

fn group_of_controller(kind: &str) -> &'static str {
    match kind {
        "Job" | "CronJob" => "batch",
        _ => "apps",
    }
}

/// Kyverno's `CanAutoGen` and the configured controllers.
fn autogen_kinds(spec: &Spec) -> Vec<(&'static str, bool)> {
    let Some(constraints) = &spec.match_constraints else {
        return Vec::new();
    };
    let object_selector_set = constraints
        .object_selector
        .as_ref()
        .is_some_and(|s| !s.match_labels.is_empty() || !s.match_expressions.is_empty());
    if object_selector_set
        || !constraints.exclude_resource_rules.is_empty()
        || constraints.resource_rules.len() != 1
    {
        return Vec::new();
    }
    let rule = &constraints.resource_rules[0];
    let pods_only = rule.resource_names.is_empty()
        && rule.api_groups == [""]
        && rule.api_versions == ["v1"]
        && rule.resources == ["pods"];
    if !pods_only {
        return Vec::new();
    }
    let configured: Option<Vec<String>> = spec
        .autogen
        .as_ref()
        .and_then(|a| a.pointer("/podControllers/controllers"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        });
    AUTOGEN_TARGETS
        .iter()
        .filter(|(resource, _, _)| {
            configured
                .as_ref()
                .is_none_or(|list| list.iter().any(|c| c == resource))
        })
        .map(|(_, kind, cronjob)| (*kind, *cronjob))
        .collect()
}

/// Kyverno's textual autogen replacement of `object.spec` / `object.metadata`
/// (and `oldObject.`), leaving `object.metadata.namespace` alone.
fn rewrite_for_controller(text: &str, cronjob: bool) -> String {
    let template = if cronjob {
        "spec.jobTemplate.spec.template"
    } else {
        "spec.template"
    };
    let mut out = text.to_string();
    for (from, to) in [
        ("spec", format!("{template}.spec")),
        ("metadata", format!("{template}.metadata")),
    ] {
        for root in ["object.", "oldObject."] {
            out = replace_unprotected(&out, &format!("{root}{from}"), &format!("{root}{to}"));
        }
    }
    out
}

fn replace_unprotected(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find(from) {
        // `oldObject.` contains `Object.` but not `object.`; guard the
        // preceding character so `oldObject.spec` is not rewritten twice.
        let preceded_by_ident = rest[..index]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..index]);
        let after = &rest[index + from.len()..];
        let protected = after.starts_with(".namespace")
            && !after[".namespace".len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if preceded_by_ident || protected {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds;
    use crate::matching::ResourceIdentity;
    use crate::RuleStatus;
    use serde_json::json;

    fn policy(spec: Value) -> ValidatingPolicy {
        ValidatingPolicy::from_document(&json!({
            "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
            "metadata": {"name": "vp"}, "spec": spec
        }))
        .expect("valid policy")
    }

    fn pods_policy() -> ValidatingPolicy {
        policy(json!({
            "validationActions": ["Audit"],
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
            "variables": [{"name": "images", "expression": "object.spec.containers.map(c, c.image)"}],
            "validations": [{"expression": "variables.images.all(i, !i.endsWith(':latest'))", "message": "no latest"}]
        }))
    }

    fn run(p: &ValidatingPolicy, resource: Value) -> Option<AdmissionOutcome> {
        let identity = ResourceIdentity::from_resource(&resource);
        let facts = RequestFacts::new(&resource, &identity);
        let data: Arc<dyn ClusterData> = Arc::new(crate::context::NoClusterData);
        p.evaluate(&facts, &data)
    }

    #[test]
    fn pods_pass_fail_and_other_kinds_do_not_match() {
        let p = pods_policy();
        let good = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "d"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}});
        let bad = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "d"}, "spec": {"containers": [{"name": "c", "image": "x:latest"}]}});
        assert_eq!(run(&p, good).map(|o| o.status), Some(RuleStatus::Pass));
        let fail = run(&p, bad).expect("matched");
        assert_eq!(
            (fail.status, fail.message.as_str()),
            (RuleStatus::Fail, "no latest")
        );
        assert!(run(&p, json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "d"}})).is_none());
    }

    /// verify42 F5: a DELETE binds the stored object as `oldObject` and
    /// leaves `object` null, as the API server (and Kyverno's CLI,
    /// processor/operation.go) does; an UPDATE binds both; CONNECT from a
    /// values file gets a CREATE's shape.
    #[test]
    fn operation_shapes_object_and_old_object() {
        let p = policy(json!({
            "validationActions": ["Audit"],
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": ["configmaps"]}]},
            "validations": [{"expression":
                "request.operation + ':' + string(object != null) + ':' + string(oldObject != null) == 'CREATE:true:false'",
                "messageExpression": "request.operation + ':' + string(object != null) + ':' + string(oldObject != null)"}]
        }));
        let resource = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}});
        let identity = ResourceIdentity::from_resource(&resource);
        let data: Arc<dyn ClusterData> = Arc::new(crate::context::NoClusterData);
        let shape = |operation: &'static str| {
            let mut facts = RequestFacts::new(&resource, &identity);
            facts.operation = operation;
            let outcome = p.evaluate(&facts, &data).expect("matched");
            (outcome.status, outcome.message)
        };
        assert_eq!(shape("CREATE").0, RuleStatus::Pass);
        assert_eq!(
            shape("DELETE"),
            (RuleStatus::Fail, "DELETE:false:true".to_string())
        );
        assert_eq!(
            shape("UPDATE"),
            (RuleStatus::Fail, "UPDATE:true:true".to_string())
        );
    }

    #[test]
    fn autogen_extends_pod_policies_to_controllers() {
        let p = pods_policy();
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:latest"}]}}}});
        assert_eq!(
            run(&p, deployment).map(|o| o.status),
            Some(RuleStatus::Fail)
        );
        let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "n"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:2"}]}}}}}});
        assert_eq!(run(&p, cronjob).map(|o| o.status), Some(RuleStatus::Pass));
    }

    #[test]
    fn rewriting_keeps_namespace_and_old_object_right() {
        assert_eq!(
            rewrite_for_controller("object.spec.x && object.metadata.namespace == oldObject.spec.y", false),
            "object.spec.template.spec.x && object.metadata.namespace == oldObject.spec.template.spec.y"
        );
        assert_eq!(
            rewrite_for_controller("object.metadata.labels", true),
            "object.spec.jobTemplate.spec.template.metadata.labels"
        );
    }

    #[test]
    fn match_conditions_skip_and_selectors_filter() {
        let p = policy(json!({
            "matchConstraints": {"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["configmaps"]}],
                "objectSelector": {"matchLabels": {"audit": "yes"}}},
            "matchConditions": [{"name": "named", "expression": "object.metadata.name.startsWith('app-')"}],
            "validations": [{"expression": "has(object.data)"}]
        }));
        let cm = |name: &str, label: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "n", "labels": {"audit": label}}});
        assert!(run(&p, cm("app-1", "no")).is_none());
        assert_eq!(
            run(&p, cm("other", "yes")).map(|o| o.status),
            Some(RuleStatus::Skip)
        );
        let failed = run(&p, cm("app-1", "yes")).expect("matched");
        assert_eq!(failed.status, RuleStatus::Fail);
        assert_eq!(
            failed.message,
            "CEL expression validation failed at index 0"
        );
    }

    #[test]
    fn match_condition_errors_follow_the_failure_policy() {
        let spec = |failure: Option<&str>| {
            let mut spec = json!({
                "matchConstraints": {"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["configmaps"]}]},
                "matchConditions": [
                    {"name": "broken", "expression": "object.data.missing == 'x'"},
                    {"name": "named", "expression": "object.metadata.name.startsWith('app-')"}
                ],
                "validations": [{"expression": "true"}]
            });
            if let Some(failure) = failure {
                spec["failurePolicy"] = json!(failure);
            }
            policy(spec)
        };
        let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "n"}, "data": {}});
        // A false condition skips, whatever error came before it.
        let skipped = run(&spec(None), cm("other")).expect("matched");
        assert_eq!(skipped.status, RuleStatus::Skip);
        assert_eq!(
            skipped.skip_reason,
            Some(crate::SkipReason::MatchConditions)
        );
        // Errors alone: the result under Fail, no match under Ignore.
        let failed = run(&spec(None), cm("app-1")).expect("matched");
        assert_eq!(failed.status, RuleStatus::Error);
        assert!(
            failed.message.contains("matchCondition \"broken\""),
            "{}",
            failed.message
        );
        let ignored = run(&spec(Some("Ignore")), cm("app-1")).expect("matched");
        assert_eq!(ignored.status, RuleStatus::Skip);
        assert_eq!(
            ignored.skip_reason,
            Some(crate::SkipReason::MatchConditions)
        );
    }

    #[test]
    fn plurals() {
        assert_eq!(
            kinds::plural_of("networking.k8s.io", "Ingress"),
            "ingresses"
        );
        assert_eq!(kinds::plural_of("example.com", "Policy"), "policies");
        assert_eq!(
            kinds::plural_of("argoproj.io", "Application"),
            "applications"
        );
        assert_eq!(kinds::plural_of("", "Endpoints"), "endpoints");
    }
}
