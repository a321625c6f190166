//! CEL evaluation for Kyverno `validate.cel` rules: a rule's CEL block
//! (expressions, variables) and the resource with its request data enter;
//! pass, or fail with the failing expression's message, leaves. Uses the
//! `cel` crate with the Kubernetes CEL libraries from `kube-cel`. As in
//! Kubernetes' validator with the default failure policy, an expression that
//! errors at runtime denies (a `fail` result naming the error).

use std::collections::HashMap;

use kube_cel::{cel, KubeCelExt};
use serde::Deserialize;
use serde_json::Value;

use super::validate::Outcome;
use super::RuleStatus;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CelValidation {
    #[serde(default)]
    pub expressions: Vec<CelExpression>,
    #[serde(default)]
    pub variables: Vec<CelVariable>,
    #[serde(default)]
    pub param_kind: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CelExpression {
    pub expression: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub message_expression: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct CelVariable {
    pub name: String,
    pub expression: String,
}

/// What a CEL expression sees besides the object.
#[derive(Debug, Clone, Default)]
pub struct CelInputs {
    pub object: Value,
    pub old_object: Value,
    pub request: Value,
    pub namespace_object: Value,
}

/// JSON to CEL as Kubernetes does it: whole numbers are `int` (serde's
/// unsigned numbers would otherwise become `uint`, which never equals an
/// `int` literal), other numbers `double`.
fn to_cel(value: &Value) -> Result<cel::Value, String> {
    Ok(match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => cel::Value::String(std::sync::Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(std::sync::Arc::new(
            items.iter().map(to_cel).collect::<Result<Vec<_>, _>>()?,
        )),
        Value::Object(map) => {
            let mut out: HashMap<String, cel::Value> = HashMap::with_capacity(map.len());
            for (key, item) in map {
                out.insert(key.clone(), to_cel(item)?);
            }
            cel::Value::from(out)
        }
    })
}

pub(super) fn context(inputs: &CelInputs) -> Result<cel::Context<'static>, String> {
    let mut ctx = cel::Context::default().with_all();
    ctx.add_variable_from_value("object", to_cel(&inputs.object)?);
    ctx.add_variable_from_value("oldObject", to_cel(&inputs.old_object)?);
    ctx.add_variable_from_value("request", to_cel(&inputs.request)?);
    ctx.add_variable_from_value("namespaceObject", to_cel(&inputs.namespace_object)?);
    ctx.add_variable_from_value("params", cel::Value::Null);
    Ok(ctx)
}

/// Parses with optional syntax (`.?field`, `[?key]`), which Kubernetes CEL
/// enables, and evaluates.
pub(super) fn evaluate(expression: &str, ctx: &cel::Context<'_>) -> Result<cel::Value, String> {
    let parsed = cel::parser::Parser::new()
        .enable_optional_syntax(true)
        .parse(expression)
        .map_err(|e| format!("compilation error: {e}"))?;
    let mut parsed = parsed;
    optional_select_as_index(&mut parsed);
    cel::Value::resolve(&parsed, ctx).map_err(|e| e.to_string())
}

/// cel 0.13 fails `a.?b` when `a` is a map without `b` instead of giving
/// `optional.none()`, and a plain selection on an optional (`a.?b.c`) gives
/// false instead of an optional. Its optional index `a[?'b']` behaves as the
/// CEL spec says, so both forms are rewritten to it. Returns whether the
/// expression yields an optional.
fn optional_select_as_index(expr: &mut cel::common::ast::IdedExpr) -> bool {
    use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
    const OPT_SELECT: &str = "_?._";
    const OPT_INDEX: &str = "_[?_]";
    let visit_entries = |entries: &mut Vec<cel::common::ast::IdedEntryExpr>| {
        for entry in entries {
            match &mut entry.expr {
                EntryExpr::MapEntry(e) => {
                    optional_select_as_index(&mut e.key);
                    optional_select_as_index(&mut e.value);
                }
                EntryExpr::StructField(f) => {
                    optional_select_as_index(&mut f.value);
                }
            }
        }
    };
    match &mut expr.expr {
        Expr::Call(call) => {
            if call.func_name == OPT_SELECT {
                call.func_name = OPT_INDEX.to_string();
            }
            if let Some(target) = call.target.as_deref_mut() {
                optional_select_as_index(target);
            }
            for arg in &mut call.args {
                optional_select_as_index(arg);
            }
            call.func_name == OPT_INDEX
        }
        Expr::Comprehension(comprehension) => {
            for child in [
                &mut comprehension.iter_range,
                &mut comprehension.accu_init,
                &mut comprehension.loop_cond,
                &mut comprehension.loop_step,
                &mut comprehension.result,
            ] {
                optional_select_as_index(child);
            }
            false
        }
        Expr::List(list) => {
            for element in &mut list.elements {
                optional_select_as_index(element);
            }
            false
        }
        Expr::Map(map) => {
            visit_entries(&mut map.entries);
            false
        }
        Expr::Struct(structure) => {
            visit_entries(&mut structure.entries);
            false
        }
        Expr::Select(select) => {
            let optional_operand = optional_select_as_index(&mut select.operand);
            if !optional_operand || select.test {
                return false;
            }
            // `opt.field` is an optional selection of `field`.
            let operand = std::mem::take(&mut *select.operand);
            let field = IdedExpr {
                id: expr.id,
                expr: Expr::Literal(LiteralValue::String(select.field.as_str().into())),
            };
            expr.expr = Expr::Call(CallExpr {
                func_name: OPT_INDEX.to_string(),
                target: None,
                args: vec![operand, field],
            });
            true
        }
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => false,
    }
}

/// Evaluates `variables` in order (later ones may use earlier ones) and
/// exposes them as `variables.<name>`.
pub(super) fn add_variables(ctx: &mut cel::Context<'_>, variables: &[CelVariable]) {
    let mut values: HashMap<String, cel::Value> = HashMap::new();
    for variable in variables {
        ctx.add_variable_from_value("variables", cel::Value::from(values.clone()));
        // A variable that fails stays undefined; expressions using it then fail.
        if let Ok(value) = evaluate(&variable.expression, ctx) {
            values.insert(variable.name.clone(), value);
        }
    }
    ctx.add_variable_from_value("variables", cel::Value::from(values));
}

/// Kyverno's `celPreconditions`: every condition must be true; `Ok(false)`
/// means the rule is skipped.
pub fn preconditions_met(conditions: &[Value], inputs: &CelInputs) -> Result<bool, String> {
    if conditions.is_empty() {
        return Ok(true);
    }
    let ctx = context(inputs)?;
    for condition in conditions {
        let expression = condition
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or("");
        match evaluate(expression, &ctx)? {
            cel::Value::Bool(true) => {}
            cel::Value::Bool(false) => return Ok(false),
            other => {
                return Err(format!(
                    "celPreconditions {expression:?} must evaluate to bool, got {other:?}"
                ))
            }
        }
    }
    Ok(true)
}

/// The CEL view of a rule's JSON context (`request.object` and friends).
pub fn inputs_from_context(document: &Value) -> CelInputs {
    let request = document.get("request").cloned().unwrap_or(Value::Null);
    let object = request.get("object").cloned().unwrap_or(Value::Null);
    let old_object = request.get("oldObject").cloned().unwrap_or(Value::Null);
    let subject = if object.is_null() {
        &old_object
    } else {
        &object
    };
    let namespace = subject
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let is_namespace = subject.get("kind").and_then(Value::as_str) == Some("Namespace");
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
    if let Some(name) = subject.pointer("/metadata/name") {
        cel_request.insert("name".into(), name.clone());
    }
    CelInputs {
        object,
        old_object,
        request: Value::Object(cel_request),
        namespace_object,
    }
}

/// Evaluates a `validate.cel` block.
pub fn validate(rule_name: &str, rule_message: &str, block: &Value, inputs: &CelInputs) -> Outcome {
    let validation: CelValidation = match serde_json::from_value(block.clone()) {
        Ok(validation) => validation,
        Err(err) => return Outcome::new(RuleStatus::Error, format!("invalid validate.cel: {err}")),
    };
    if validation.param_kind.is_some() {
        return Outcome::new(
            RuleStatus::Error,
            "validate.cel with paramKind is not evaluated by this version of polscan",
        );
    }
    let mut ctx = match context(inputs) {
        Ok(ctx) => ctx,
        Err(err) => {
            return Outcome::new(
                RuleStatus::Error,
                format!("building the CEL context: {err}"),
            )
        }
    };
    add_variables(&mut ctx, &validation.variables);
    for expression in &validation.expressions {
        let message = || {
            if let Some(source) = &expression.message_expression {
                if let Ok(cel::Value::String(text)) = evaluate(source, &ctx) {
                    return text.to_string();
                }
            }
            match expression.message.as_deref().filter(|m| !m.is_empty()) {
                Some(message) => message.to_string(),
                None if !rule_message.is_empty() => rule_message.to_string(),
                None => format!("failed expression: {}", expression.expression),
            }
        };
        match evaluate(&expression.expression, &ctx) {
            Ok(cel::Value::Bool(true)) => {}
            Ok(cel::Value::Bool(false)) => return Outcome::new(RuleStatus::Fail, message()),
            Ok(other) => {
                return Outcome::new(
                    RuleStatus::Fail,
                    format!(
                        "expression {:?} must evaluate to bool, got {other:?}",
                        expression.expression
                    ),
                )
            }
            Err(err) => {
                return Outcome::new(
                    RuleStatus::Fail,
                    format!(
                        "expression {:?} resulted in error: {err}",
                        expression.expression
                    ),
                )
            }
        }
    }
    Outcome::new(
        RuleStatus::Pass,
        format!("Validation rule '{rule_name}' passed."),
    )
}

#[cfg(test)]
mod tests {
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

    fn pod(image: &str) -> Value {
        json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": image}]}})
    }

    #[test]
    fn expressions_pass_and_fail_with_messages() {
        let block = json!({"expressions": [
            {"expression": "object.spec.containers.all(c, c.image.contains(':'))", "message": "tag required"},
            {"expression": "object.spec.containers.all(c, !c.image.endsWith(':latest'))", "message": "no latest"}
        ]});
        assert_eq!(
            validate("r", "", &block, &inputs(pod("nginx:1"))).status,
            RuleStatus::Pass
        );
        let fail = validate("r", "", &block, &inputs(pod("nginx:latest")));
        assert_eq!(
            (fail.status, fail.message.as_str()),
            (RuleStatus::Fail, "no latest")
        );
        let untagged = validate("r", "", &block, &inputs(pod("nginx")));
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
            validate("r", "", &block, &inputs(pod("nginx:1.2"))).status,
            RuleStatus::Pass
        );
        assert_eq!(
            validate("r", "", &block, &inputs(pod("nginx:main"))).status,
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
        let outcome = validate("r", "", &block, &inputs(pod("x:1")));
        assert_eq!(outcome.status, RuleStatus::Pass, "{}", outcome.message);
        let mut labelled = pod("x:1");
        labelled["metadata"]["labels"] = json!({"app": "bad"});
        assert_eq!(
            validate("r", "", &block, &inputs(labelled)).status,
            RuleStatus::Fail
        );
    }

    #[test]
    fn json_numbers_are_cel_ints() {
        let block = json!({"expressions": [{"expression": "object.spec.?securityContext.?runAsUser.orValue(1) == 1000"}]});
        let mut p = pod("x:1");
        p["spec"]["securityContext"] = json!({"runAsUser": 1000});
        assert_eq!(
            validate("r", "", &block, &inputs(p)).status,
            RuleStatus::Pass
        );
    }

    #[test]
    fn runtime_errors_deny_and_bad_syntax_is_named() {
        let block = json!({"expressions": [{"expression": "object.spec.missing.field == 1"}]});
        let outcome = validate("r", "", &block, &inputs(pod("x:1")));
        assert_eq!(outcome.status, RuleStatus::Fail);
        assert!(outcome.message.contains("error"), "{}", outcome.message);
        let bad = json!({"expressions": [{"expression": "object.spec.("}]});
        let outcome = validate("r", "", &bad, &inputs(pod("x:1")));
        assert!(
            outcome.message.contains("compilation error"),
            "{}",
            outcome.message
        );
    }
}
