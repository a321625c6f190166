//! Entry points for the fuzz targets (`fuzz/` at the repository root),
//! built only with the `fuzzing` feature. They reach the engine's inner
//! steps directly, below the per-policy panic isolation of
//! [`Engine::evaluate`](crate::Engine::evaluate), so that a panic is the
//! fuzzer's crash rather than an `error` result. What enters: a pattern and
//! a resource, a document holding `{{ }}` variables and the context it is
//! read against, a CEL expression and its `object`, `oldObject` and
//! `request`. What leaves: the step's outcome, reduced to plain values.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::cel::{to_json, Activation, CelInputs, PolicyInputs, ResourceScope};
use crate::context::{ClusterData, EvalContext, NoClusterData};
use crate::kyverno::validate::walk::{match_pattern, PatternOutcome};

/// The outcome of a `validate.pattern` walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternVerdict {
    /// The resource matches the pattern.
    Pass,
    /// The resource violates the pattern at `path`.
    Fail {
        /// Kyverno's path of the failing element.
        path: String,
        /// Why it failed.
        message: String,
    },
    /// A conditional or global anchor did not hold: the rule is skipped.
    Skip {
        /// Why it was skipped.
        message: String,
    },
}

/// Matches `resource` against the (already substituted) `pattern` as a
/// `validate.pattern` rule does.
pub fn pattern(resource: &Value, pattern: &Value) -> PatternVerdict {
    match match_pattern(resource, pattern) {
        PatternOutcome::Pass => PatternVerdict::Pass,
        PatternOutcome::Fail(failure) => PatternVerdict::Fail {
            path: failure.path,
            message: failure.message,
        },
        PatternOutcome::Skip(failure) => PatternVerdict::Skip {
            message: failure.message,
        },
    }
}

/// Substitutes the `$(./path)` references and `{{ }}` variables of
/// `document`, reading variables from `context`: each top-level key of an
/// object is a context entry (`request`, `element`, a context entry's
/// name), as a rule's evaluation context holds them; any other value is
/// the entry `request`. No cluster answers lookups.
///
/// # Errors
/// The substitution error's message (an unknown key, a bad expression).
pub fn substitute(document: &Value, context: &Value) -> Result<Value, String> {
    let mut ctx = EvalContext::new(Arc::new(NoClusterData));
    match context {
        Value::Object(entries) => {
            for (name, value) in entries {
                ctx.set_entry(name, value.clone());
            }
        }
        other => ctx.set_entry("request", other.clone()),
    }
    crate::variables::substitute_all(&mut ctx, document).map_err(|err| err.to_string())
}

/// Compiles `expression` as a policy's CEL expression is compiled (optional
/// syntax, the engine's rewrites) and evaluates it with `object`,
/// `oldObject`, `request` and `namespaceObject` bound and Kyverno's
/// libraries reading no cluster, as a ValidatingPolicy's validation does.
///
/// # Errors
/// The compile or evaluation error's message.
pub fn cel(
    expression: &str,
    object: &Value,
    old_object: &Value,
    request: &Value,
) -> Result<Value, String> {
    let program = crate::cel::Program::compile(expression);
    let scope = ResourceScope::new(CelInputs {
        object: object.clone(),
        old_object: old_object.clone(),
        request: request.clone(),
        namespace_object: Value::Object(Map::new()),
    });
    let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
    let activation = Activation::new(&scope, &data, PolicyInputs::default());
    program.evaluate(&activation).map(|value| to_json(&value))
}
