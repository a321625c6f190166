//! Kubernetes `ValidatingAdmissionPolicy` and
//! `ValidatingAdmissionPolicyBinding` (admissionregistration.k8s.io v1,
//! v1beta1): parsing, binding (a binding's `matchResources` narrows the
//! policy, its `paramRef` picks params objects, its `validationActions` set
//! the action), and evaluation through the admission body shared with
//! Kyverno's ValidatingPolicy. Policy and binding documents enter; for each
//! resource, no result (the policy does not match), `skip` (no binding
//! selects it, as the Kyverno CLI reports) or the verdict leaves.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::cel::policies::admission::{
    AdmissionOutcome, MatchConstraints, RequestFacts, ValidationBody,
};
use crate::cel::rule::{ParamKind, ParamRef};
use crate::cel::{PolicyInputs, ResourceScope};
use crate::context::ClusterData;
use crate::policy::{PolicyError, PolicyMeta};
use crate::RuleStatus;
use crate::ValueExt;

use crate::document_kind::{DocumentKind, ADMISSION_POLICY_KIND};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PolicySpec {
    #[serde(default)]
    param_kind: Option<ParamKind>,
    #[serde(default)]
    match_constraints: Option<MatchConstraints>,
    #[serde(flatten)]
    body: ValidationBody,
    #[serde(default)]
    failure_policy: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BindingSpec {
    #[serde(default)]
    policy_name: String,
    #[serde(default)]
    param_ref: Option<ParamRef>,
    #[serde(default)]
    match_resources: Option<MatchConstraints>,
    #[serde(default)]
    validation_actions: Vec<String>,
}

/// A Kubernetes `ValidatingAdmissionPolicyBinding`: the policy it binds
/// (`spec.policyName`), the params it selects (`paramRef`), the requests it
/// narrows the policy to (`matchResources`) and the actions its results carry
/// (`validationActions`).
#[derive(Debug, Clone)]
pub struct Binding {
    pub(crate) name: String,
    spec: BindingSpec,
}

impl Binding {
    pub(crate) fn policy_name(&self) -> &str {
        &self.spec.policy_name
    }

    /// Kubernetes: unset `matchResources` or unset `resourceRules` means
    /// every resource the policy matches; selectors and exclusions still
    /// narrow it.
    fn selects(&self, facts: &RequestFacts<'_>) -> bool {
        let Some(resources) = &self.spec.match_resources else {
            return true;
        };
        let identity = facts.identity;
        let included = resources.resource_rules.is_empty()
            || resources
                .resource_rules
                .iter()
                .any(|rule| rule.matches(identity, facts.operation));
        let excluded = resources
            .exclude_resource_rules
            .iter()
            .any(|rule| rule.matches(identity, facts.operation));
        included && !excluded && resources.selectors_match(identity, facts.namespace_labels)
    }
}

/// A Kubernetes `ValidatingAdmissionPolicy` with the bindings
/// [`AdmissionPolicy::bind`] attached, evaluated through the CEL admission body
/// it shares with Kyverno's ValidatingPolicy.
#[derive(Debug, Clone)]
pub struct AdmissionPolicy {
    pub(crate) meta: PolicyMeta,
    spec: PolicySpec,
    bindings: Vec<Binding>,
}

fn api_version_and_kind(document: &Value) -> (&str, &str) {
    let text = |key: &str| document.str_field(key).unwrap_or("");
    (text("apiVersion"), text("kind"))
}

fn name_of(document: &Value) -> String {
    document
        .str_at("/metadata/name")
        .unwrap_or("<unnamed>")
        .to_string()
}

fn spec_of<T: serde::de::DeserializeOwned>(document: &Value, name: &str) -> Result<T, PolicyError> {
    serde_path_to_error::deserialize(document.get("spec").cloned().unwrap_or(Value::Null)).map_err(
        |err| PolicyError::InvalidField {
            policy: name.to_string(),
            path: format!("spec.{}", err.path()),
            message: err.inner().to_string(),
        },
    )
}

impl AdmissionPolicy {
    /// Whether the document is a `ValidatingAdmissionPolicy`
    /// (admissionregistration.k8s.io, any version):
    /// [`DocumentKind::AdmissionPolicy`].
    pub fn is_policy(document: &Value) -> bool {
        DocumentKind::of(document) == Some(DocumentKind::AdmissionPolicy)
    }

    /// Whether the document is a `ValidatingAdmissionPolicyBinding`
    /// (admissionregistration.k8s.io, any version):
    /// [`DocumentKind::AdmissionPolicyBinding`].
    pub fn is_binding(document: &Value) -> bool {
        DocumentKind::of(document) == Some(DocumentKind::AdmissionPolicyBinding)
    }

    /// Parses a `ValidatingAdmissionPolicy`, refusing a document of another
    /// kind, what the Kyverno CLI's checks refuse and a policy without
    /// `spec.matchConstraints`. Expressions that do not compile do not refuse
    /// it (`AdmissionPolicy::compile_errors`). Errors name the policy
    /// (`metadata.name`, `<unnamed>` when unset).
    pub fn from_document(document: &Value) -> Result<AdmissionPolicy, PolicyError> {
        let name = name_of(document);
        if !Self::is_policy(document) {
            let (api_version, kind) = api_version_and_kind(document);
            return Err(PolicyError::NotAPolicy {
                policy: name,
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            });
        }
        crate::policy_validation::check_admission_policy(document).map_err(|source| {
            PolicyError::Rejected {
                policy: name.clone(),
                source,
            }
        })?;
        let mut spec: PolicySpec = spec_of(document, &name)?;
        // Kyverno evaluates a VAP in Kubernetes' CEL environment
        // (pkg/admissionpolicy/compiler.go), which plans more strictly.
        spec.body = spec.body.planned_by_kubernetes();
        if spec.match_constraints.is_none() {
            return Err(PolicyError::InvalidField {
                policy: name,
                path: "spec.matchConstraints".into(),
                message: "is required".into(),
            });
        }
        Ok(AdmissionPolicy {
            meta: PolicyMeta {
                kind: ADMISSION_POLICY_KIND.to_string(),
                name,
                namespace: None,
                annotations: crate::matching::string_map(document.pointer("/metadata/annotations")),
                // Kyverno reports every VAP result as a background scan's.
                process: "background scan",
            },
            spec,
            bindings: Vec::new(),
        })
    }

    /// Parses a `ValidatingAdmissionPolicyBinding`, refusing what the Kyverno
    /// CLI's checks refuse and a binding without `spec.policyName`. Errors name
    /// the binding.
    pub fn binding_from_document(document: &Value) -> Result<Binding, PolicyError> {
        let name = name_of(document);
        crate::policy_validation::check_admission_binding(document).map_err(|source| {
            PolicyError::Rejected {
                policy: name.clone(),
                source,
            }
        })?;
        let spec: BindingSpec = spec_of(document, &name)?;
        if spec.policy_name.is_empty() {
            return Err(PolicyError::InvalidField {
                policy: name,
                path: "spec.policyName".into(),
                message: "is required".into(),
            });
        }
        Ok(Binding { name, spec })
    }

    /// Attaches the bindings naming this policy.
    pub fn bind(&mut self, bindings: &[Binding]) {
        self.bindings = bindings
            .iter()
            .filter(|binding| binding.policy_name() == self.meta.name)
            .cloned()
            .collect();
    }

    /// The resources the policy is written for.
    pub(crate) fn match_constraints(&self) -> Option<&MatchConstraints> {
        self.spec.match_constraints.as_ref()
    }

    /// Its CEL body (validations, variables, audit annotations).
    pub(crate) fn body(&self) -> &ValidationBody {
        &self.spec.body
    }

    /// Whether its `paramKind` is Secret: its `params` are Secrets.
    pub(crate) fn params_of_secrets(&self) -> bool {
        self.spec
            .param_kind
            .as_ref()
            .is_some_and(|kind| kind.kind == "Secret")
    }

    pub(crate) fn compile_errors(&self) -> Vec<String> {
        self.spec.body.compile_errors()
    }

    /// The strongest action its bindings give (Deny, then Warn, then
    /// Audit); Audit when unbound.
    pub(crate) fn action(&self) -> String {
        strongest_action(self.bindings.iter()).to_string()
    }

    /// Evaluates the policy on a resource; `None` when it does not match or
    /// no binding selects it.
    /// Without bindings the policy is evaluated on its own, as the Kyverno
    /// CLI does; with bindings, once per binding that selects the resource
    /// (and per params object), and the first non-pass verdict is kept.
    pub(crate) fn evaluate(
        &self,
        facts: &RequestFacts<'_>,
        data: &Arc<dyn ClusterData>,
    ) -> Option<AdmissionOutcome> {
        let constraints = self.spec.match_constraints.as_ref()?;
        if !constraints.matches(facts.identity, facts.namespace_labels, facts.operation) {
            return None;
        }
        let scope = facts.scope();
        if self.bindings.is_empty() {
            if let Some(kind) = &self.spec.param_kind {
                return Some(self.ignorable(AdmissionOutcome::error(format!(
                    "paramKind {} needs a binding with a paramRef",
                    kind.kind
                ))));
            }
            return Some(self.ignorable(self.spec.body.run(
                scope,
                data,
                PolicyInputs::default(),
                self.ignores_failures(),
            )));
        }
        let selecting: Vec<&Binding> = self.bindings.iter().filter(|b| b.selects(facts)).collect();
        // No binding selects it: Kyverno's response has no rule result
        // (pkg/admissionpolicy/validate.go processVAPWithoutClient skips
        // each binding), so nothing is reported for the resource.
        if selecting.is_empty() {
            return None;
        }
        // Each binding is its own admission check: the verdict kept is the
        // worst, and among equally bad ones the binding that acts most
        // strongly (a failing Deny binding rejects whatever an Audit one
        // says). The result carries that binding's name and action.
        let mut verdict: Option<(AdmissionOutcome, &str)> = None;
        for binding in selecting {
            let mut outcome = self.ignorable(self.evaluate_binding(binding, scope, data));
            // Kyverno's reports name the binding a VAP result came through
            // (`properties.binding`, pkg/utils/report/results.go).
            outcome
                .annotations
                .insert("binding".to_string(), binding.name.clone());
            let action = strongest_action(std::iter::once(binding));
            let weight = (rank(outcome.status), action_rank(action));
            let heavier = verdict.as_ref().is_none_or(|(kept, kept_action)| {
                weight > (rank(kept.status), action_rank(kept_action))
            });
            if heavier {
                verdict = Some((outcome, action));
            }
        }
        verdict.map(|(outcome, action)| AdmissionOutcome {
            action: Some(action.to_string()),
            ..outcome
        })
    }

    fn evaluate_binding(
        &self,
        binding: &Binding,
        scope: &ResourceScope,
        data: &Arc<dyn ClusterData>,
    ) -> AdmissionOutcome {
        let Some(kind) = &self.spec.param_kind else {
            return self.spec.body.run(
                scope,
                data,
                PolicyInputs::default(),
                self.ignores_failures(),
            );
        };
        let Some(reference) = &binding.spec.param_ref else {
            return AdmissionOutcome::error(format!(
                "binding {} has no paramRef for paramKind {}",
                binding.name, kind.kind
            ));
        };
        // An unset namespace means the resource's own for namespaced params.
        let namespace = reference.namespace.clone().unwrap_or_else(|| {
            scope
                .inputs()
                .object
                .string_at_or_empty("/metadata/namespace")
        });
        let params = match data.params(
            &kind.api_version,
            &kind.kind,
            &namespace,
            reference.name.as_deref(),
            reference.selector.as_ref(),
        ) {
            Ok(params) => params,
            Err(err) => return AdmissionOutcome::error(err),
        };
        if params.is_empty() {
            return if reference.parameter_not_found_action.as_deref() == Some("Allow") {
                AdmissionOutcome::with_message(
                    RuleStatus::Pass,
                    "no params found; parameterNotFoundAction is Allow",
                )
            } else {
                AdmissionOutcome::error(format!(
                    "no params found for binding {} ({} {})",
                    binding.name,
                    kind.kind,
                    reference.name.as_deref().unwrap_or("by selector")
                ))
            };
        }
        let mut verdict = AdmissionOutcome::with_message(RuleStatus::Pass, "success");
        for params in &params {
            let policy = PolicyInputs {
                params: Some(params),
                ..PolicyInputs::default()
            };
            let outcome = self
                .spec
                .body
                .run(scope, data, policy, self.ignores_failures());
            if rank(outcome.status) > rank(verdict.status) {
                verdict = outcome;
            }
        }
        verdict
    }

    /// `failurePolicy: Ignore`: matchCondition errors do not match.
    fn ignores_failures(&self) -> bool {
        self.spec.failure_policy.as_deref() == Some("Ignore")
    }

    /// `failurePolicy: Ignore` turns errors into skips, keeping the error
    /// in the message so the report still shows it.
    fn ignorable(&self, mut outcome: AdmissionOutcome) -> AdmissionOutcome {
        // The API server's dispatcher denies on an auditAnnotation that
        // fails under failurePolicy Fail (k8s.io/apiserver
        // `AuditAnnotationActionError`) and drops it under Ignore: a pass
        // with a failed annotation is an error (rev27 F11).
        if outcome.status == RuleStatus::Pass
            && !outcome.annotation_errors.is_empty()
            && self.spec.failure_policy.as_deref() != Some("Ignore")
        {
            outcome.status = RuleStatus::Error;
            outcome.message = outcome.annotation_errors.join("; ");
        }
        if outcome.status == RuleStatus::Error
            && self.spec.failure_policy.as_deref() == Some("Ignore")
        {
            return AdmissionOutcome {
                status: RuleStatus::Skip,
                message: format!("error ignored (failurePolicy: Ignore): {}", outcome.message),
                annotations: outcome.annotations,
                skip_reason: None,
                action: outcome.action,
                rule: outcome.rule,
                annotation_errors: outcome.annotation_errors,
            };
        }
        outcome
    }
}

/// The strongest of the bindings' `validationActions` (Deny, then Warn,
/// then Audit); Audit for none.
fn strongest_action<'a>(bindings: impl Iterator<Item = &'a Binding>) -> &'static str {
    let actions: Vec<&str> = bindings
        .flat_map(|b| b.spec.validation_actions.iter().map(String::as_str))
        .collect();
    ["Deny", "Warn"]
        .into_iter()
        .find(|strong| actions.contains(strong))
        .unwrap_or("Audit")
}

fn action_rank(action: &str) -> u8 {
    match action {
        "Deny" => 2,
        "Warn" => 1,
        _ => 0,
    }
}

/// How much a verdict weighs when several bindings or params give one.
fn rank(status: RuleStatus) -> u8 {
    match status {
        RuleStatus::Skip => 0,
        RuleStatus::Pass => 1,
        RuleStatus::Warn => 2,
        RuleStatus::Fail => 3,
        RuleStatus::Error => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::NoClusterData;
    use crate::matching::ResourceIdentity;
    use crate::supplied_data::SuppliedData;
    use serde_json::json;

    fn policy(spec: Value) -> AdmissionPolicy {
        AdmissionPolicy::from_document(&json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "replicas"}, "spec": spec
        }))
        .unwrap()
    }

    fn binding(spec: Value) -> Binding {
        AdmissionPolicy::binding_from_document(&json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "b"}, "spec": spec
        }))
        .unwrap()
    }

    fn deployments_policy() -> AdmissionPolicy {
        policy(json!({
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]},
            "validations": [{"expression": "object.spec.replicas <= 2", "message": "too many"}],
            "auditAnnotations": [{"key": "replicas", "valueExpression": "string(object.spec.replicas)"}]
        }))
    }

    fn deployment(name: &str, namespace: &str, app: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
            "spec": {"replicas": replicas}})
    }

    fn run_with(
        p: &AdmissionPolicy,
        resource: &Value,
        data: Arc<dyn ClusterData>,
        labels: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Option<AdmissionOutcome> {
        let identity = ResourceIdentity::from_resource(resource);
        let mut facts = RequestFacts::new(resource, &identity);
        facts.namespace_labels = labels;
        p.evaluate(&facts, &data)
    }

    fn run(p: &AdmissionPolicy, resource: &Value) -> Option<AdmissionOutcome> {
        run_with(p, resource, Arc::new(NoClusterData), None)
    }

    #[test]
    fn unbound_policies_evaluate_on_their_own() {
        let p = deployments_policy();
        let failed = run(&p, &deployment("d", "n", "x", 4)).unwrap();
        assert_eq!(
            (failed.status, failed.message.as_str()),
            (RuleStatus::Fail, "too many")
        );
        assert_eq!(failed.annotations["replicas"], "4");
        assert_eq!(
            run(&p, &deployment("d", "n", "x", 1)).unwrap().status,
            RuleStatus::Pass
        );
        let pod =
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}});
        assert!(run(&p, &pod).is_none());
        assert_eq!(p.action(), "Audit");
    }

    #[test]
    fn a_result_carries_the_action_of_the_binding_it_came_through() {
        let named = |name: &str, spec: Value| {
            AdmissionPolicy::binding_from_document(&json!({
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": {"name": name}, "spec": spec
            }))
            .unwrap()
        };
        let mut p = deployments_policy();
        // The Deny binding comes second: order must not decide.
        p.bind(&[
            named(
                "audit-all",
                json!({"policyName": "replicas", "validationActions": ["Audit"]}),
            ),
            named(
                "deny-nginx",
                json!({"policyName": "replicas", "validationActions": ["Deny"],
                    "matchResources": {"objectSelector": {"matchLabels": {"app": "nginx"}}}}),
            ),
        ]);
        let both = run(&p, &deployment("a", "n", "nginx", 4)).unwrap();
        assert_eq!(both.status, RuleStatus::Fail);
        assert_eq!(both.action.as_deref(), Some("Deny"));
        assert_eq!(both.annotations["binding"], "deny-nginx");
        let audit_only = run(&p, &deployment("b", "n", "busybox", 4)).unwrap();
        assert_eq!(audit_only.status, RuleStatus::Fail);
        assert_eq!(audit_only.action.as_deref(), Some("Audit"));
        assert_eq!(audit_only.annotations["binding"], "audit-all");
    }

    #[test]
    fn bindings_narrow_by_selector_names_and_exclusions() {
        let mut p = deployments_policy();
        p.bind(&[binding(
            json!({"policyName": "replicas", "validationActions": ["Deny"],
            "matchResources": {"objectSelector": {"matchLabels": {"app": "nginx"}}}}),
        )]);
        assert_eq!(p.action(), "Deny");
        assert_eq!(
            run(&p, &deployment("a", "n", "nginx", 4)).unwrap().status,
            RuleStatus::Fail
        );
        // No binding selects it: no result at all, as Kyverno.
        assert!(run(&p, &deployment("b", "n", "busybox", 4)).is_none());

        let mut p = deployments_policy();
        p.bind(&[binding(json!({"policyName": "replicas",
            "matchResources": {"excludeResourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["deployments"], "resourceNames": ["skip-me"]}]}}))]);
        assert!(run(&p, &deployment("skip-me", "n", "x", 4)).is_none());
        assert_eq!(
            run(&p, &deployment("other", "n", "x", 4)).unwrap().status,
            RuleStatus::Fail
        );

        let mut p = deployments_policy();
        p.bind(&[binding(json!({"policyName": "replicas",
            "matchResources": {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}}}))]);
        let prod: std::collections::BTreeMap<String, String> =
            [("env".to_string(), "prod".to_string())].into();
        let d = deployment("d", "n", "x", 4);
        assert_eq!(
            run_with(&p, &d, Arc::new(NoClusterData), Some(&prod))
                .unwrap()
                .status,
            RuleStatus::Fail
        );
        assert!(run(&p, &d).is_none());
    }

    #[test]
    fn bindings_of_other_policies_are_ignored() {
        let mut p = deployments_policy();
        p.bind(&[binding(json!({"policyName": "another", "matchResources": {"objectSelector": {"matchLabels": {"never": "x"}}}}))]);
        assert_eq!(
            run(&p, &deployment("d", "n", "x", 4)).unwrap().status,
            RuleStatus::Fail
        );
    }

    #[test]
    fn params_come_from_the_binding_param_ref() {
        let mut p = policy(json!({
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["deployments"]}]},
            "validations": [{"expression": "object.spec.replicas <= int(params.data.maxReplicas)"}]
        }));
        let limits = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "limits", "namespace": "n"}, "data": {"maxReplicas": "5"}});
        let data: Arc<dyn ClusterData> =
            Arc::new(SuppliedData::default().with_params(vec![limits]));
        assert_eq!(
            run(&p, &deployment("d", "n", "x", 1)).unwrap().status,
            RuleStatus::Error
        );
        p.bind(&[binding(
            json!({"policyName": "replicas", "paramRef": {"name": "limits"}}),
        )]);
        assert_eq!(
            run_with(&p, &deployment("d", "n", "x", 10), data.clone(), None)
                .unwrap()
                .status,
            RuleStatus::Fail
        );
        assert_eq!(
            run_with(&p, &deployment("d", "n", "x", 5), data.clone(), None)
                .unwrap()
                .status,
            RuleStatus::Pass
        );
        // Another namespace has no params: Deny (the default) is an error, Allow passes.
        assert_eq!(
            run_with(&p, &deployment("d", "m", "x", 5), data.clone(), None)
                .unwrap()
                .status,
            RuleStatus::Error
        );
        p.bind(&[binding(json!({"policyName": "replicas", "paramRef": {"name": "limits", "parameterNotFoundAction": "Allow"}}))]);
        assert_eq!(
            run_with(&p, &deployment("d", "m", "x", 50), data, None)
                .unwrap()
                .status,
            RuleStatus::Pass
        );
    }

    /// k8s.io/apiserver's dispatcher denies on a failed auditAnnotation
    /// under failurePolicy Fail and drops it under Ignore (rev27 F11: a
    /// pass); a failed validation keeps its own result.
    #[test]
    fn a_failed_audit_annotation_is_an_error_under_failure_policy_fail() {
        let spec = |failure_policy: &str| {
            json!({
                "failurePolicy": failure_policy,
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]},
                "validations": [{"expression": "object.spec.replicas <= 2", "message": "too many"}],
                "auditAnnotations": [{"key": "ratio", "valueExpression": "string(10 / (object.spec.replicas - 1))"}]
            })
        };
        let fail = policy(spec("Fail"));
        let errored = run(&fail, &deployment("d", "n", "x", 1)).expect("matched");
        assert_eq!(errored.status, RuleStatus::Error, "{}", errored.message);
        assert!(
            errored.message.starts_with("auditAnnotations[ratio]: "),
            "{}",
            errored.message
        );
        assert_eq!(
            run(&fail, &deployment("d", "n", "x", 2)).map(|o| o.status),
            Some(RuleStatus::Pass)
        );
        let ignore = policy(spec("Ignore"));
        let passed = run(&ignore, &deployment("d", "n", "x", 1)).expect("matched");
        assert_eq!(passed.status, RuleStatus::Pass);
        assert!(passed.annotations["ratio"].starts_with("error: "));
    }

    #[test]
    fn failure_policy_ignore_turns_errors_into_skips() {
        let p = policy(json!({
            "failurePolicy": "Ignore",
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["deployments"]}]},
            "validations": [{"expression": "object.spec.missing > 1"}]
        }));
        let outcome = run(&p, &deployment("d", "n", "x", 1)).unwrap();
        assert_eq!(outcome.status, RuleStatus::Skip);
        assert!(
            outcome.message.contains("failurePolicy: Ignore"),
            "{}",
            outcome.message
        );
    }

    #[test]
    fn compile_errors_name_the_expression_and_only_fail_their_policy() {
        let p = policy(json!({
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["deployments"]}]},
            "validations": [{"expression": "object.spec.replicas <"}]
        }));
        let errors = p.compile_errors();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("validations[0].expression"),
            "{}",
            errors[0]
        );
        let outcome = run(&p, &deployment("d", "n", "x", 1)).unwrap();
        assert_eq!(outcome.status, RuleStatus::Error);
        assert!(
            outcome.message.contains("validations[0]"),
            "{}",
            outcome.message
        );
    }

    #[test]
    fn invalid_documents_are_named() {
        let err = AdmissionPolicy::from_document(&json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "broken"}, "spec": {"validations": "not a list"}
        }))
        .unwrap_err()
        .to_string();
        assert!(err.contains("broken"), "{err}");
        let err =
            AdmissionPolicy::binding_from_document(&json!({"metadata": {"name": "b"}, "spec": {}}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("policyName"), "{err}");
    }
}
