//! What Kubernetes' validating admission plugin does with a CEL policy,
//! shared by Kyverno's ValidatingPolicy and Kubernetes'
//! ValidatingAdmissionPolicy: `matchConstraints` (resource rules by plural
//! resource name, exclusions, namespace and object selectors) and the
//! evaluation body (`matchConditions` → `variables` → `validations`, then
//! `auditAnnotations`). A resource's identity and JSON enter, as
//! `RequestFacts` that also keep the resource's CEL scope for every policy
//! evaluated with them; "not matched" or an `AdmissionOutcome` leaves.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::cel::{
    Activation, AuditAnnotation, CelExpression, CelInputs, CelVariable, PolicyInputs, Program,
    ResourceScope, Uses,
};
use crate::context::ClusterData;
use crate::kinds;
use crate::label_selector::LabelSelector;
use crate::matching::{selector_matches, ResourceIdentity};
use crate::RuleStatus;

/// A Kubernetes `MatchResources` (admissionregistration.k8s.io): a
/// ValidatingAdmissionPolicy's or a Kyverno ValidatingPolicy's
/// `matchConstraints`, or a binding's `matchResources`: which requests a CEL
/// policy is written for.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MatchConstraints {
    /// `resourceRules`: a request must match one of them.
    #[serde(default)]
    pub resource_rules: Vec<ResourceRule>,
    /// `excludeResourceRules`: requests matching one of them are left out.
    #[serde(default)]
    pub exclude_resource_rules: Vec<ResourceRule>,
    /// `namespaceSelector`: labels the request's namespace must have; `None`
    /// selects every namespace.
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    /// `objectSelector`: labels the object must have; `None` selects every
    /// object.
    #[serde(default)]
    pub object_selector: Option<LabelSelector>,
    /// `Equivalent` (default) or `Exact`; offline every version of a kind
    /// is the version given, so both behave alike here.
    #[serde(default)]
    pub match_policy: Option<String>,
}

/// One `resourceRules` entry: Kubernetes' `NamedRuleWithOperations`, a
/// match rule over lists of API groups, versions, resources (plural names,
/// `*`, `name/subresource`), operations, resource names and scope, `*`
/// standing for any. It is not a kind: it says which kinds
/// ([`GroupVersionKind`](crate::kinds::GroupVersionKind), by the plural
/// resource name of their [`ApiResource`](crate::kinds::ApiResource)) and
/// requests a policy is written for.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRule {
    #[serde(default)]
    pub(crate) api_groups: Vec<String>,
    #[serde(default)]
    pub(crate) api_versions: Vec<String>,
    #[serde(default)]
    pub(crate) resources: Vec<String>,
    #[serde(default)]
    pub(crate) operations: Vec<String>,
    /// `resourceNames`: the object names the rule is limited to; empty is any
    /// name.
    #[serde(default)]
    pub resource_names: Vec<String>,
    #[serde(default)]
    pub(crate) scope: Option<String>,
}

impl MatchConstraints {
    /// Kubernetes' matching: some resource rule includes the resource, no
    /// exclusion rule does, and both selectors select it.
    pub(crate) fn matches(
        &self,
        identity: &ResourceIdentity,
        namespace_labels: Option<&BTreeMap<String, String>>,
        operation: &str,
    ) -> bool {
        let included = self
            .resource_rules
            .iter()
            .any(|rule| rule.matches(identity, operation));
        let excluded = self
            .exclude_resource_rules
            .iter()
            .any(|rule| rule.matches(identity, operation));
        included && !excluded && self.selectors_match(identity, namespace_labels)
    }

    pub(crate) fn selectors_match(
        &self,
        identity: &ResourceIdentity,
        namespace_labels: Option<&BTreeMap<String, String>>,
    ) -> bool {
        let objects_ok = self
            .object_selector
            .as_ref()
            .is_none_or(|selector| selector_matches(selector, &identity.labels).unwrap_or(false));
        objects_ok
            && namespace_selector_matches(
                self.namespace_selector.as_ref(),
                identity,
                namespace_labels,
            )
    }
}

impl ResourceRule {
    pub(crate) fn matches(&self, identity: &ResourceIdentity, operation: &str) -> bool {
        let any =
            |list: &[String], value: &str| list.iter().any(|item| item == "*" || item == value);
        let version_ok = self
            .api_versions
            .iter()
            .any(|version| version == "*" || identity.version_matches(version));
        if !any(&self.api_groups, &identity.gvk.group) || !version_ok {
            return false;
        }
        let plural = kinds::plural_of(&identity.gvk.group, &identity.gvk.kind);
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || r == "*/*"
                || r == &plural
                || r.strip_suffix("/*").is_some_and(|base| base == plural)
        });
        if !resource_ok || !operation_matches(&self.operations, operation) {
            return false;
        }
        if !self.resource_names.is_empty() && !self.resource_names.contains(&identity.name) {
            return false;
        }
        match self.scope.as_deref() {
            Some("Namespaced") => !identity.namespace.is_empty(),
            Some("Cluster") => identity.namespace.is_empty(),
            _ => true,
        }
    }
}

pub(crate) fn operation_matches(operations: &[String], operation: &str) -> bool {
    operations.is_empty() || operations.iter().any(|o| o == "*" || o == operation)
}

pub(crate) fn namespace_selector_matches(
    selector: Option<&LabelSelector>,
    identity: &ResourceIdentity,
    namespace_labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    // Cluster-scoped objects other than Namespaces ignore namespaceSelector.
    if identity.namespace.is_empty() && identity.gvk.kind != "Namespace" {
        return true;
    }
    let empty = BTreeMap::new();
    let labels = if identity.gvk.kind == "Namespace" {
        &identity.labels
    } else {
        namespace_labels.unwrap_or(&empty)
    };
    selector_matches(selector, labels).unwrap_or(false)
}

/// The CEL part of a policy, compiled when the policy loads.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ValidationBody {
    #[serde(default)]
    pub(crate) match_conditions: Vec<CelVariable>,
    #[serde(default)]
    pub(crate) variables: Vec<CelVariable>,
    #[serde(default)]
    pub(crate) validations: Vec<CelExpression>,
    #[serde(default)]
    pub(crate) audit_annotations: Vec<AuditAnnotation>,
    /// The names its expressions read, found on first use.
    #[serde(skip)]
    uses: OnceLock<Uses>,
    /// `matchConditions` may read `variables`: Kubernetes compiles a
    /// ValidatingAdmissionPolicy's conditions on the composited compiler
    /// that holds its variables (k8s.io/apiserver validating/plugin.go
    /// `compilePolicy`; Kyverno pkg/admissionpolicy/validate.go
    /// `NewCompiler(matchConditions, variables)`); Kyverno's
    /// ValidatingPolicy compiler does not. Set by
    /// [`ValidationBody::planned_by_kubernetes`] (verify46 F4: an error
    /// skipped under Ignore read as clean).
    #[serde(skip)]
    conditions_read_variables: bool,
}

/// A policy's verdict on one resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AdmissionOutcome {
    pub(crate) status: RuleStatus,
    pub(crate) message: String,
    /// `auditAnnotations` keys and values.
    pub(crate) annotations: BTreeMap<String, String>,
    /// Set when `matchConditions` were false.
    pub(crate) skip_reason: Option<crate::SkipReason>,
    /// The action of the binding the verdict came through (a
    /// ValidatingAdmissionPolicy's); the policy's own otherwise.
    pub(crate) action: Option<String>,
    /// The rule name Kyverno gives the result when it is not the policy's
    /// unnamed one (`exception`, `evaluation` for CEL PolicyExceptions).
    pub(crate) rule: Option<String>,
    /// `auditAnnotations` whose value expression failed, as
    /// `auditAnnotations[key]: error` (the value holds `error: …` too).
    pub(crate) annotation_errors: Vec<String>,
}

impl AdmissionOutcome {
    fn new(status: RuleStatus, message: impl Into<String>) -> AdmissionOutcome {
        AdmissionOutcome {
            status,
            message: message.into(),
            annotations: BTreeMap::new(),
            skip_reason: None,
            action: None,
            rule: None,
            annotation_errors: Vec::new(),
        }
    }

    pub(crate) fn with_message(status: RuleStatus, message: impl Into<String>) -> AdmissionOutcome {
        AdmissionOutcome::new(status, message)
    }

    pub(crate) fn error(message: impl Into<String>) -> AdmissionOutcome {
        AdmissionOutcome::new(RuleStatus::Error, message)
    }
}

/// What the request of a background evaluation looks like to CEL, for one
/// resource.
pub(crate) struct RequestFacts<'a> {
    pub(crate) resource: &'a Value,
    pub(crate) identity: &'a ResourceIdentity,
    pub(crate) namespace_labels: Option<&'a BTreeMap<String, String>>,
    /// The resource's Namespace object when known (a cluster, a values
    /// file); otherwise one is made from its name and labels.
    pub(crate) namespace_object: Option<&'a Value>,
    pub(crate) operation: &'a str,
    pub(crate) user_info: Option<Value>,
    /// [`inputs`] converted to CEL on first use, then shared by every
    /// policy evaluated with these facts.
    scope: OnceCell<ResourceScope>,
}

impl<'a> RequestFacts<'a> {
    /// Facts of a CREATE by nobody in particular, with no namespace data;
    /// set the public fields for more.
    pub(crate) fn new(resource: &'a Value, identity: &'a ResourceIdentity) -> RequestFacts<'a> {
        RequestFacts {
            resource,
            identity,
            namespace_labels: None,
            namespace_object: None,
            operation: "CREATE",
            user_info: None,
            scope: OnceCell::new(),
        }
    }

    /// The resource's CEL scope (`object`, `oldObject`, `request`,
    /// `namespaceObject`), converted once.
    pub(crate) fn scope(&self) -> &ResourceScope {
        self.scope.get_or_init(|| ResourceScope::new(inputs(self)))
    }
}

/// `object`, `request` and `namespaceObject` as Kubernetes binds them for a
/// resource; `params` is set per params object by the caller.
pub(crate) fn inputs(facts: &RequestFacts<'_>) -> CelInputs {
    let identity = facts.identity;
    let namespace_object = if identity.namespace.is_empty() || identity.gvk.kind == "Namespace" {
        Value::Null
    } else if let Some(namespace) = facts.namespace_object {
        namespace.clone()
    } else {
        json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": identity.namespace, "labels": facts.namespace_labels.cloned().unwrap_or_default()}})
    };
    let resource_name = kinds::plural_of(&identity.gvk.group, &identity.gvk.kind);
    let mut request = json!({
        "operation": facts.operation,
        "namespace": identity.namespace,
        "name": identity.name,
        "kind": {"group": identity.gvk.group, "version": identity.gvk.version, "kind": identity.gvk.kind},
        "resource": {"group": identity.gvk.group, "version": identity.gvk.version, "resource": resource_name},
        "dryRun": false,
    });
    if let Some(user_info) = &facts.user_info {
        request["userInfo"] = user_info.clone();
    }
    let (object, old_object) = crate::cel::admission_shape(facts.operation, facts.resource);
    CelInputs {
        object,
        old_object,
        request,
        namespace_object,
    }
}

impl ValidationBody {
    /// Every expression with its source rewritten (autogen), recompiled.
    pub(crate) fn rewritten(&self, rewrite: &dyn Fn(&str) -> String) -> ValidationBody {
        self.map_programs(&|program| program.rewritten(rewrite))
    }

    /// Every expression as Kubernetes' CEL environment plans it
    /// ([`Program::planned_by_kubernetes`]): a ValidatingAdmissionPolicy's.
    pub(crate) fn planned_by_kubernetes(&self) -> ValidationBody {
        ValidationBody {
            conditions_read_variables: true,
            ..self.map_programs(&Program::planned_by_kubernetes)
        }
    }

    /// The body with `map` applied to each of its programs.
    fn map_programs(&self, map: &dyn Fn(&Program) -> Program) -> ValidationBody {
        let named = |items: &[CelVariable]| {
            items
                .iter()
                .map(|v| CelVariable {
                    name: v.name.clone(),
                    expression: map(&v.expression),
                })
                .collect()
        };
        ValidationBody {
            match_conditions: named(&self.match_conditions),
            variables: named(&self.variables),
            validations: self
                .validations
                .iter()
                .map(|v| CelExpression {
                    expression: map(&v.expression),
                    message: v.message.clone(),
                    message_expression: v.message_expression.as_ref().map(map),
                    reason: v.reason.clone(),
                })
                .collect(),
            audit_annotations: self
                .audit_annotations
                .iter()
                .map(|a| AuditAnnotation {
                    key: a.key.clone(),
                    value_expression: map(&a.value_expression),
                })
                .collect(),
            uses: OnceLock::new(),
            conditions_read_variables: self.conditions_read_variables,
        }
    }

    /// The names the body's expressions read: what its activations bind.
    fn uses(&self) -> &Uses {
        self.uses.get_or_init(|| {
            Uses::of(
                self.match_conditions
                    .iter()
                    .chain(&self.variables)
                    .map(|c| &c.expression)
                    .chain(
                        self.validations.iter().flat_map(|v| {
                            std::iter::once(&v.expression).chain(&v.message_expression)
                        }),
                    )
                    .chain(self.audit_annotations.iter().map(|a| &a.value_expression)),
            )
        })
    }

    /// Compile errors, each naming where it is, for policy diagnostics.
    pub(crate) fn compile_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let mut check = |place: String, program: &Program| {
            if let Some(err) = program.compile_error() {
                errors.push(format!("{place}: {err}"));
            }
        };
        for (i, c) in self.match_conditions.iter().enumerate() {
            check(format!("matchConditions[{i}] ({})", c.name), &c.expression);
        }
        for (i, v) in self.variables.iter().enumerate() {
            check(format!("variables[{i}] ({})", v.name), &v.expression);
        }
        for (i, v) in self.validations.iter().enumerate() {
            check(format!("validations[{i}].expression"), &v.expression);
            if let Some(m) = &v.message_expression {
                check(format!("validations[{i}].messageExpression"), m);
            }
        }
        for (i, a) in self.audit_annotations.iter().enumerate() {
            check(
                format!("auditAnnotations[{i}] ({})", a.key),
                &a.value_expression,
            );
        }
        errors
    }

    /// Runs the body as the admission plugin does. A false match condition
    /// gives `skip`; a false validation `fail` with its message; an error
    /// (runtime or compile) `error`, as Kyverno reports failure-policy Fail.
    pub(crate) fn run(
        &self,
        scope: &ResourceScope,
        data: &Arc<dyn ClusterData>,
        policy: PolicyInputs<'_>,
        ignore_match_errors: bool,
    ) -> AdmissionOutcome {
        self.run_with(scope, data, policy, &[], ignore_match_errors)
    }

    /// [`ValidationBody::run`] with more top-level names bound first.
    ///
    /// `matchConditions` go as Kyverno's `Policy.match`
    /// (pkg/cel/policies/vpol/compiler/policy.go) and the API server's
    /// matcher: a false condition skips whatever errors came before it;
    /// errors alone skip under `failurePolicy: Ignore`
    /// (`ignore_match_errors`), else they are the result.
    pub(crate) fn run_with(
        &self,
        scope: &ResourceScope,
        data: &Arc<dyn ClusterData>,
        policy: PolicyInputs<'_>,
        bindings: &[(&str, Value)],
        ignore_match_errors: bool,
    ) -> AdmissionOutcome {
        // Every expression of this evaluation shares Kubernetes' runtime
        // cost budget (the validator's, per policy and resource).
        crate::cel::budget::policy_metered(|| {
            self.run_metered(scope, data, policy, bindings, ignore_match_errors)
        })
    }

    fn run_metered(
        &self,
        scope: &ResourceScope,
        data: &Arc<dyn ClusterData>,
        policy: PolicyInputs<'_>,
        bindings: &[(&str, Value)],
        ignore_match_errors: bool,
    ) -> AdmissionOutcome {
        let uses = self.uses();
        let policy = PolicyInputs {
            uses: Some(uses),
            ..policy
        };
        let mut activation = Activation::new(scope, data, policy);
        for (name, value) in bindings.iter().filter(|(name, _)| uses.reads(name)) {
            activation.bind_value(name, value);
        }
        let not_met = || AdmissionOutcome {
            skip_reason: Some(crate::SkipReason::MatchConditions),
            ..AdmissionOutcome::new(RuleStatus::Skip, "skip")
        };
        let variables_first = self.conditions_read_variables
            && self.match_conditions.iter().any(|c| {
                c.expression
                    .names()
                    .iter()
                    .any(|n| n.starts_with(crate::cel::names::VARIABLES))
            });
        if variables_first {
            activation.bind_variables(&self.variables, Some(uses));
        }
        let mut errors = Vec::new();
        for condition in &self.match_conditions {
            match condition.expression.evaluate_bool(&activation) {
                Ok(true) => {}
                Ok(false) => return not_met(),
                Err(err) => errors.push(format!("matchCondition {:?}: {err}", condition.name)),
            }
        }
        if !errors.is_empty() {
            if ignore_match_errors {
                return not_met();
            }
            return AdmissionOutcome::new(RuleStatus::Error, errors.join("; "));
        }
        if !variables_first {
            activation.bind_variables(&self.variables, Some(uses));
        }
        let mut outcome = AdmissionOutcome::new(RuleStatus::Pass, "success");
        for (index, validation) in self.validations.iter().enumerate() {
            if crate::cel::budget::policy_budget_spent() {
                outcome = AdmissionOutcome::new(
                    RuleStatus::Error,
                    format!(
                        "validations[{index}]: {}",
                        crate::cel::budget::BUDGET_EXHAUSTED
                    ),
                );
                break;
            }
            match validation.expression.evaluate_bool(&activation) {
                Ok(true) => {}
                Ok(false) => {
                    outcome = AdmissionOutcome::new(
                        RuleStatus::Fail,
                        failure_message(validation, index, &activation),
                    );
                    break;
                }
                Err(err) => {
                    outcome = AdmissionOutcome::new(
                        RuleStatus::Error,
                        format!("validations[{index}]: {err}"),
                    );
                    break;
                }
            }
        }
        for annotation in &self.audit_annotations {
            // A null value means "no annotation"; errors are reported in it.
            let value = match annotation.value_expression.evaluate(&activation) {
                Ok(kube_cel::cel::Value::Null) => continue,
                Ok(kube_cel::cel::Value::String(text)) => text.to_string(),
                Ok(other) => crate::cel::to_json(&other).to_string(),
                Err(err) => {
                    outcome
                        .annotation_errors
                        .push(format!("auditAnnotations[{}]: {err}", annotation.key));
                    format!("error: {err}")
                }
            };
            outcome.annotations.insert(annotation.key.clone(), value);
        }
        outcome
    }
}

fn failure_message(
    validation: &CelExpression,
    index: usize,
    activation: &Activation<'_>,
) -> String {
    if let Some(program) = &validation.message_expression {
        match program.evaluate(activation) {
            Ok(kube_cel::cel::Value::String(text)) if !text.trim().is_empty() => {
                return text.to_string()
            }
            // Kubernetes falls back to `message` when messageExpression
            // fails or gives an empty string.
            _ => {}
        }
    }
    match validation.message.as_deref().filter(|m| !m.is_empty()) {
        Some(message) => message.to_string(),
        None => format!("CEL expression validation failed at index {index}"),
    }
}
