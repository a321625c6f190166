//! Kyverno `validate.cel` rules of ClusterPolicy/Policy: the rule's CEL
//! block (compiled with the policy) and the resource's CEL scope (made from
//! the rule's JSON context by [`scope_from_context`], shared by the rules
//! that see the same inputs) enter; pass, or fail with the failing
//! expression's message, leaves. As in Kubernetes'
//! validator with the default failure policy, an expression that errors at
//! runtime denies (a `fail` result naming the error).

use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::Value;

use super::super::context::ClusterData;
use super::super::RuleStatus;
use super::{
    Activation, AuditAnnotation, CelExpression, CelVariable, PolicyInputs, ResourceScope,
    ScopeCache, ScopeRef, Uses,
};
use crate::RuleOutcome;
use crate::ValueExt;

/// What a `fail` of a `validate.cel` expression that failed to evaluate
/// holds between the expression and the error (Kyverno reports such an
/// expression as failed): its message may quote what the expression made
/// of a value ([`crate::redaction`] withholds it as an error's).
pub(crate) const EXPRESSION_ERROR: &str = " resulted in error: ";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CelValidation {
    #[serde(default, deserialize_with = "kubernetes_expressions")]
    pub(crate) expressions: Vec<CelExpression>,
    #[serde(default, deserialize_with = "kubernetes_variables")]
    pub(crate) variables: Vec<CelVariable>,
    #[serde(default)]
    pub(crate) param_kind: Option<ParamKind>,
    #[serde(default)]
    pub(crate) param_ref: Option<ParamRef>,
    #[serde(default)]
    // Read as Kyverno's schema has it; a `validate.cel` rule gives none.
    #[allow(dead_code)]
    pub(crate) audit_annotations: Vec<AuditAnnotation>,
    /// The names its expressions read, found on first use.
    #[serde(skip)]
    uses: OnceLock<Uses>,
}

/// A `validate.cel` rule's expressions, planned as Kubernetes' CEL
/// environment plans them: Kyverno evaluates the rule with Kubernetes'
/// validator (pkg/engine/handlers/validation/validate_cel.go through
/// pkg/admissionpolicy/compiler.go).
fn kubernetes_expressions<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<CelExpression>, D::Error> {
    planned(deserializer, |e: CelExpression| CelExpression {
        expression: e.expression.planned_by_kubernetes(),
        message_expression: e.message_expression.map(|m| m.planned_by_kubernetes()),
        ..e
    })
}

/// [`kubernetes_expressions`] for the rule's variables (and its
/// `celPreconditions`, which Kyverno compiles with them: validate_cel.go
/// `admissionpolicy.NewCompiler(matchConditions, variables)`).
pub(crate) fn kubernetes_variables<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<CelVariable>, D::Error> {
    planned(deserializer, |v: CelVariable| CelVariable {
        expression: v.expression.planned_by_kubernetes(),
        ..v
    })
}

/// A list deserialized, each item then passed through `plan`.
fn planned<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
    plan: impl Fn(T) -> T,
) -> Result<Vec<T>, D::Error> {
    Ok(Vec::<T>::deserialize(deserializer)?
        .into_iter()
        .map(plan)
        .collect())
}

impl CelValidation {
    /// The names the rule's expressions read: what its activations bind.
    fn uses(&self) -> &Uses {
        self.uses.get_or_init(|| {
            Uses::of(
                self.variables.iter().map(|v| &v.expression).chain(
                    self.expressions
                        .iter()
                        .flat_map(|e| std::iter::once(&e.expression).chain(&e.message_expression)),
                ),
            )
        })
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ParamKind {
    #[serde(default)]
    pub(crate) api_version: String,
    #[serde(default)]
    pub(crate) kind: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ParamRef {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) namespace: Option<String>,
    #[serde(default)]
    pub(crate) selector: Option<crate::label_selector::LabelSelector>,
    #[serde(default)]
    pub(crate) parameter_not_found_action: Option<String>,
}

/// Kyverno's `celPreconditions`, as Kubernetes' match-condition matcher
/// reads them (validate_cel.go `matchconditions.NewMatcher`): a false
/// condition skips the rule (`Ok(false)`) whatever errors others gave;
/// an error with none false is the result (verify45 F1: an error beside
/// a false condition failed the rule).
///
/// `variables` are the rule's `validate.cel` variables: Kyverno compiles
/// the conditions with them on one composited compiler (validate_cel.go
/// `admissionpolicy.NewCompiler(matchConditions, variables)`), so a
/// condition may read `variables.<name>` (verify45 F6).
pub(crate) fn preconditions_met(
    conditions: &[CelVariable],
    variables: &[CelVariable],
    scope: &ResourceScope,
    data: &Arc<dyn ClusterData>,
) -> Result<bool, String> {
    if conditions.is_empty() {
        return Ok(true);
    }
    let mut activation = Activation::new(scope, data, PolicyInputs::default());
    if conditions.iter().any(|c| {
        c.expression
            .names()
            .iter()
            .any(|n| n.starts_with(super::names::VARIABLES))
    }) {
        activation.bind_variables(variables, None);
    }
    let mut first_error = None;
    for condition in conditions {
        match condition.expression.evaluate_bool(&activation) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    first_error.map_or(Ok(true), Err)
}

/// The CEL view of a rule's JSON context (`request.object` and friends),
/// from `scopes` when an earlier rule on the resource saw the same.
pub(crate) fn scope_from_context<'c>(
    request: Option<&Value>,
    scopes: &'c ScopeCache,
) -> ScopeRef<'c> {
    let null = Value::Null;
    let request = request.unwrap_or(&null);
    let object = request.get("object").unwrap_or(&null);
    let old_object = request.get("oldObject").unwrap_or(&null);
    let (cel_request, namespace_object) = request_and_namespace(request, object, old_object);
    scopes.scope(object, old_object, cel_request, namespace_object)
}

/// `request` and `namespaceObject` as a `validate.cel` rule sees them: the
/// context's `request` gives the operation, namespace and userInfo, the
/// object (the old object on DELETE) its name and namespace.
pub(crate) fn request_and_namespace(
    request: &Value,
    object: &Value,
    old_object: &Value,
) -> (Value, Value) {
    let subject = if object.is_null() { old_object } else { object };
    let metadata = subject.get("metadata");
    let namespace = metadata
        .and_then(|m| m.str_field("namespace"))
        .unwrap_or("");
    let is_namespace = subject.str_field("kind") == Some("Namespace");
    // Offline, Kyverno gives CEL a Namespace that carries only its name.
    let namespace_object = if namespace.is_empty() || is_namespace {
        Value::Null
    } else {
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    };
    let mut cel_request = serde_json::Map::new();
    for key in ["operation", "namespace", "userInfo"] {
        if let Some(value) = request.get(key) {
            cel_request.insert(key.to_string(), value.clone());
        }
    }
    if let Some(name) = metadata.and_then(|m| m.get("name")) {
        cel_request.insert("name".into(), name.clone());
    }
    (Value::Object(cel_request), namespace_object)
}

/// Evaluates a `validate.cel` block. With `paramKind`, the rule runs once
/// per params object `paramRef` selects and fails on the first that fails.
pub(crate) fn validate(
    rule_name: &str,
    rule_message: &str,
    validation: &CelValidation,
    scope: &ResourceScope,
    data: &Arc<dyn ClusterData>,
) -> RuleOutcome {
    let params = match (&validation.param_kind, &validation.param_ref) {
        (Some(kind), Some(reference)) => {
            let namespace = reference.namespace.clone().unwrap_or_else(|| {
                scope
                    .inputs()
                    .object
                    .string_at_or_empty("/metadata/namespace")
            });
            match data.params(
                &kind.api_version,
                &kind.kind,
                &namespace,
                reference.name.as_deref(),
                reference.selector.as_ref(),
            ) {
                Ok(found) if found.is_empty() => {
                    return if reference.parameter_not_found_action.as_deref() == Some("Allow") {
                        RuleOutcome::new(
                            RuleStatus::Pass,
                            format!("Validation rule '{rule_name}' passed."),
                        )
                    } else {
                        RuleOutcome::new(
                            RuleStatus::Error,
                            format!(
                                "no params found for {} {}",
                                kind.kind,
                                reference.name.as_deref().unwrap_or("(selector)")
                            ),
                        )
                    };
                }
                Ok(found) => found,
                Err(err) => return RuleOutcome::new(RuleStatus::Error, err),
            }
        }
        (Some(kind), None) => {
            return RuleOutcome::new(
                RuleStatus::Error,
                format!("validate.cel has paramKind {} but no paramRef", kind.kind),
            )
        }
        _ => vec![Value::Null],
    };
    for params in &params {
        let policy = PolicyInputs {
            params: Some(params),
            policy_namespace: None,
            uses: Some(validation.uses()),
        };
        let outcome = validate_once(rule_name, rule_message, validation, scope, data, policy);
        if outcome.status != RuleStatus::Pass {
            return outcome;
        }
    }
    RuleOutcome::new(
        RuleStatus::Pass,
        format!("Validation rule '{rule_name}' passed."),
    )
}

fn validate_once(
    rule_name: &str,
    rule_message: &str,
    validation: &CelValidation,
    scope: &ResourceScope,
    data: &Arc<dyn ClusterData>,
    policy: PolicyInputs<'_>,
) -> RuleOutcome {
    let mut activation = Activation::new(scope, data, policy);
    activation.bind_variables(&validation.variables, policy.uses);
    for expression in &validation.expressions {
        let message = || {
            if let Some(program) = &expression.message_expression {
                if let Ok(kube_cel::cel::Value::String(text)) = program.evaluate(&activation) {
                    return text.to_string();
                }
            }
            match expression.message.as_deref().filter(|m| !m.is_empty()) {
                Some(message) => message.to_string(),
                None if !rule_message.is_empty() => rule_message.to_string(),
                None => format!("failed expression: {}", expression.expression.source()),
            }
        };
        match expression.expression.evaluate_bool(&activation) {
            Ok(true) => {}
            Ok(false) => return RuleOutcome::new(RuleStatus::Fail, message()),
            Err(err) => {
                return RuleOutcome::new(
                    RuleStatus::Fail,
                    format!(
                        "expression {:?}{EXPRESSION_ERROR}{err}",
                        expression.expression.source()
                    ),
                )
            }
        }
    }
    RuleOutcome::new(
        RuleStatus::Pass,
        format!("Validation rule '{rule_name}' passed."),
    )
}

#[cfg(test)]
mod tests {
    use super::super::CelInputs;
    use super::*;
    use serde_json::json;

    fn inputs(object: Value) -> CelInputs {
        CelInputs {
            object,
            request: json!({"operation": "CREATE"}),
            namespace_object: json!({"metadata": {"name": "default"}}),
            ..CelInputs::default()
        }
    }

    fn run(block: &Value, inputs: CelInputs) -> RuleOutcome {
        let validation: CelValidation = serde_json::from_value(block.clone()).unwrap();
        let data: Arc<dyn ClusterData> = Arc::new(super::super::super::context::NoClusterData);
        validate("r", "", &validation, &ResourceScope::new(inputs), &data)
    }

    fn pod(image: &str) -> Value {
        json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": image}]}})
    }

    #[test]
    fn expressions_pass_and_fail_with_messages() {
        let block = json!({"expressions": [
            {"expression": "object.spec.containers.all(c, c.image.contains(':'))", "message": "tag required"},
            {"expression": "object.spec.containers.all(c, !c.image.endsWith(':latest'))", "message": "no latest"}
        ]});
        assert_eq!(run(&block, inputs(pod("nginx:1"))).status, RuleStatus::Pass);
        let fail = run(&block, inputs(pod("nginx:latest")));
        assert_eq!(
            (fail.status, fail.message.as_str()),
            (RuleStatus::Fail, "no latest")
        );
        let untagged = run(&block, inputs(pod("nginx")));
        assert_eq!(untagged.message, "tag required");
    }

    #[test]
    fn variables_and_has_and_kubernetes_libraries() {
        let block = json!({
            "variables": [
                {"name": "containers", "expression": "object.spec.containers"},
                {"name": "images", "expression": "variables.containers.map(c, c.image)"}
            ],
            "expressions": [
                {"expression": "!has(object.spec.hostNetwork) || object.spec.hostNetwork == false"},
                {"expression": "variables.images.all(i, i.matches('^[a-z]+:[0-9.]+$'))", "message": "pinned"}
            ]
        });
        assert_eq!(
            run(&block, inputs(pod("nginx:1.2"))).status,
            RuleStatus::Pass
        );
        assert_eq!(
            run(&block, inputs(pod("nginx:main"))).status,
            RuleStatus::Fail
        );
    }

    #[test]
    fn optional_syntax() {
        let block = json!({"expressions": [
            {"expression": "object.metadata.?labels[?'app'].orValue('none') != 'bad'"},
            {"expression": "!object.spec.?hostNetwork.orValue(false)"},
            {"expression": "!object.spec.?securityContext.?runAsUser.hasValue()"},
            {"expression": "object.spec.containers.all(c, c.?securityContext.allowPrivilegeEscalation.orValue(false) == false)"}
        ]});
        let outcome = run(&block, inputs(pod("x:1")));
        assert_eq!(outcome.status, RuleStatus::Pass, "{}", outcome.message);
        let mut labelled = pod("x:1");
        labelled["metadata"]["labels"] = json!({"app": "bad"});
        assert_eq!(run(&block, inputs(labelled)).status, RuleStatus::Fail);
    }

    #[test]
    fn json_numbers_are_cel_ints() {
        let block = json!({"expressions": [{"expression": "object.spec.?securityContext.?runAsUser.orValue(1) == 1000"}]});
        let mut p = pod("x:1");
        p["spec"]["securityContext"] = json!({"runAsUser": 1000});
        assert_eq!(run(&block, inputs(p)).status, RuleStatus::Pass);
    }

    #[test]
    fn runtime_errors_deny_and_bad_syntax_is_named() {
        let block = json!({"expressions": [{"expression": "object.spec.missing.field == 1"}]});
        let outcome = run(&block, inputs(pod("x:1")));
        assert_eq!(outcome.status, RuleStatus::Fail);
        assert!(outcome.message.contains("error"), "{}", outcome.message);
        let bad = json!({"expressions": [{"expression": "object.spec.("}]});
        let outcome = run(&bad, inputs(pod("x:1")));
        assert!(
            outcome.message.contains("compilation error"),
            "{}",
            outcome.message
        );
    }

    /// Kubernetes' environment compiles a constant `matches` pattern when
    /// the program is planned, so an invalid one is a compile error even
    /// where the call is never reached.
    #[test]
    fn a_constant_invalid_matches_pattern_is_a_compile_error() {
        let block = json!({
            "variables": [{"name": "v", "expression": "'a'.matches('[')"}],
            "expressions": [{"expression": "false && object.metadata.name.matches('(')"}]
        });
        let parsed: CelValidation = serde_json::from_value(block.clone()).expect("parses");
        for program in [
            &parsed.variables[0].expression,
            &parsed.expressions[0].expression,
        ] {
            let error = program.compile_error().unwrap_or_default();
            assert!(error.contains("error parsing regexp"), "{error}");
        }
        let outcome = run(&block, inputs(pod("x:1")));
        assert!(
            outcome.message.contains("error parsing regexp"),
            "{}",
            outcome.message
        );
    }
}
