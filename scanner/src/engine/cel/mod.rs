//! CEL for policies: expressions compiled once per policy ([`Program`]),
//! the environment they run in (the Kubernetes CEL libraries from
//! `kube-cel`, Kyverno's libraries, cel-go's optional semantics), and the
//! per-resource [`Activation`] that binds `object`, `oldObject`, `request`,
//! `namespaceObject`, `params` and `variables`. Policy kinds build on it:
//! `validate.cel` rules ([`rule`]), Kyverno ValidatingPolicies and Kubernetes
//! ValidatingAdmissionPolicies. JSON enters, CEL values and errors leave.

mod environment;
mod kubernetes_fixes;
mod kyverno_lib;
mod optional;
mod program;
pub mod rule;

#[cfg(test)]
mod library_tests;

use std::collections::HashMap;
use std::sync::Arc;

use kube_cel::cel;
use serde::Deserialize;
use serde_json::Value;

use super::context::ClusterData;

pub use program::Program;
pub use rule::{inputs_from_context, preconditions_met, validate, CelValidation};

/// A validation: a boolean expression with its message.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CelExpression {
    pub expression: Program,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub message_expression: Option<Program>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A named expression: a variable, a match condition, a precondition.
#[derive(Debug, Clone, Deserialize)]
pub struct CelVariable {
    /// Required for variables and match conditions; Kyverno's
    /// `celPreconditions` accept it empty.
    #[serde(default)]
    pub name: String,
    pub expression: Program,
}

/// An audit annotation: `key` and the expression giving its value.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditAnnotation {
    pub key: String,
    pub value_expression: Program,
}

/// What an expression sees besides its variables.
#[derive(Debug, Clone, Default)]
pub struct CelInputs {
    pub object: Value,
    pub old_object: Value,
    pub request: Value,
    pub namespace_object: Value,
    pub params: Value,
    /// The namespace of a namespaced policy (NamespacedValidatingPolicy):
    /// Kyverno then scopes its `resource` library to it and refuses live
    /// `http` calls (kyverno/sdk resource/namespaced_impl.go,
    /// pkg/cel/compiler/http.go).
    pub policy_namespace: Option<String>,
}

/// JSON to CEL as Kubernetes does it: whole numbers are `int` (serde's
/// unsigned numbers would otherwise become `uint`, which never equals an
/// `int` literal), other numbers `double`.
pub fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let out: HashMap<String, cel::Value> = map
                .iter()
                .map(|(key, item)| (key.clone(), to_cel(item)))
                .collect();
            cel::Value::from(out)
        }
    }
}

/// CEL to JSON, for messages, audit annotations and tests. Values without a
/// JSON form (durations, opaque library types) become their display text.
pub fn to_json(value: &cel::Value) -> Value {
    use cel::objects::Key;
    match value {
        cel::Value::Null => Value::Null,
        cel::Value::Bool(b) => Value::Bool(*b),
        cel::Value::Int(i) => Value::from(*i),
        cel::Value::UInt(u) => Value::from(*u),
        cel::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        cel::Value::String(s) => Value::String(s.to_string()),
        cel::Value::List(items) => Value::Array(items.iter().map(to_json).collect()),
        cel::Value::Map(map) => {
            let mut out = serde_json::Map::new();
            for (key, item) in map.map.iter() {
                let key = match key {
                    Key::String(s) => s.to_string(),
                    Key::Int(i) => i.to_string(),
                    Key::Uint(u) => u.to_string(),
                    Key::Bool(b) => b.to_string(),
                };
                out.insert(key, to_json(item));
            }
            Value::Object(out)
        }
        cel::Value::Opaque(opaque) => {
            if let Ok(inner) = <&cel::objects::OptionalValue>::try_from(value) {
                return inner.value().map(to_json).unwrap_or(Value::Null);
            }
            Value::String(format!("{:?}", opaque.as_debug()))
        }
        other => Value::String(format!("{other:?}")),
    }
}

/// One evaluation's bindings, a child scope of the shared environment.
pub struct Activation {
    ctx: cel::Context<'static>,
    /// Variables whose expression failed, with the error, so a use of one
    /// reports why rather than "no such key".
    failed_variables: HashMap<String, String>,
    variables: HashMap<String, cel::Value>,
}

impl Activation {
    pub fn new(inputs: &CelInputs, data: &Arc<dyn ClusterData>) -> Activation {
        let mut ctx = environment::shared().new_inner_scope();
        ctx.add_variable_from_value("object", to_cel(&inputs.object));
        ctx.add_variable_from_value("oldObject", to_cel(&inputs.old_object));
        ctx.add_variable_from_value("request", to_cel(&inputs.request));
        ctx.add_variable_from_value("namespaceObject", to_cel(&inputs.namespace_object));
        ctx.add_variable_from_value("params", to_cel(&inputs.params));
        kyverno_lib::bind(&mut ctx, data, inputs.policy_namespace.as_deref());
        ctx.add_variable_from_value(
            "variables",
            cel::Value::from(HashMap::<String, cel::Value>::new()),
        );
        Activation {
            ctx,
            failed_variables: HashMap::new(),
            variables: HashMap::new(),
        }
    }

    /// Evaluates `variables` in order (later ones may use earlier ones) and
    /// exposes them as `variables.<name>`. A variable that fails stays
    /// unset; an expression that uses it then fails with its error, as in
    /// Kubernetes, where variables are evaluated when first used.
    pub fn bind_variables(&mut self, variables: &[CelVariable]) {
        for variable in variables {
            match variable.expression.evaluate(self) {
                Ok(value) => {
                    self.variables.insert(variable.name.clone(), value);
                }
                Err(err) => {
                    self.failed_variables.insert(variable.name.clone(), err);
                }
            }
            self.ctx
                .add_variable_from_value("variables", cel::Value::from(self.variables.clone()));
        }
    }

    /// Binds one more top-level name (Kyverno's `exceptions` for
    /// ValidatingPolicies), as JSON.
    pub fn bind_value(&mut self, name: &str, value: &Value) {
        self.ctx.add_variable_from_value(name, to_cel(value));
    }

    fn context(&self) -> &cel::Context<'static> {
        &self.ctx
    }

    /// Rewrites cel's "No such key: x" for a failed variable `x` into the
    /// variable's own error.
    fn explain(&self, error: String) -> String {
        if let Some(name) = error.strip_prefix("No such key: ") {
            if let Some(cause) = self.failed_variables.get(name.trim()) {
                return format!("variable {name:?} failed: {cause}");
            }
        }
        error
    }
}
