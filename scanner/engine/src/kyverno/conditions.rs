//! Condition blocks of `preconditions` and `validate.deny.conditions`: the
//! `any` / `all` form and the legacy flat list. A block and the evaluation
//! context enter; whether it holds, plus the messages Kyverno collects, leave.
//! Each condition's key and value are substituted first; a variable that
//! cannot be resolved is an error, as in Kyverno.

use serde::Deserialize;
use serde_json::Value;

use crate::context::EvalContext;
use crate::kyverno::operators;
use crate::variables::{self, SubstitutionError};

#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct Condition {
    #[serde(default)]
    pub(crate) key: Value,
    #[serde(default)]
    pub(crate) operator: String,
    #[serde(default)]
    pub(crate) value: Value,
    #[serde(default)]
    pub(crate) message: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct AnyAllConditions {
    #[serde(default)]
    pub(crate) any: Option<Vec<Condition>>,
    #[serde(default)]
    pub(crate) all: Option<Vec<Condition>>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConditionError {
    #[error("failed to parse conditions: {0}")]
    Parse(String),
    #[error("failed to substitute variables in condition key: {0}")]
    Key(SubstitutionError),
    #[error("failed to substitute variables in condition value: {0}")]
    Value(SubstitutionError),
    #[error("{0}")]
    Operator(#[from] operators::OperatorError),
}

/// The outcome of a block: whether it held and the joined messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConditionOutcome {
    pub(crate) passed: bool,
    pub(crate) message: String,
}

fn join_non_empty(messages: &[String], separator: &str) -> String {
    messages
        .iter()
        .filter(|m| !m.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(separator)
}

/// Evaluates a condition block; `None` or `null` holds trivially.
pub(crate) fn evaluate(
    ctx: &mut EvalContext,
    block: Option<&Value>,
) -> Result<ConditionOutcome, ConditionError> {
    let block = match block {
        None | Some(Value::Null) => {
            return Ok(ConditionOutcome {
                passed: true,
                message: String::new(),
            })
        }
        Some(block) => block,
    };
    match block {
        Value::Array(_) => {
            let list: Vec<Condition> = serde_json::from_value(block.clone())
                .map_err(|e| ConditionError::Parse(e.to_string()))?;
            let mut true_messages = Vec::new();
            for condition in &list {
                let (held, message) = evaluate_one(ctx, condition)?;
                if !held {
                    return Ok(ConditionOutcome {
                        passed: false,
                        message,
                    });
                }
                true_messages.push(message);
            }
            Ok(ConditionOutcome {
                passed: true,
                message: join_non_empty(&true_messages, ";"),
            })
        }
        Value::Object(_) => {
            let conditions: AnyAllConditions = serde_json::from_value(block.clone())
                .map_err(|e| ConditionError::Parse(e.to_string()))?;
            evaluate_any_all(ctx, &conditions)
        }
        other => Err(ConditionError::Parse(format!(
            "expected a list or an any/all object, found {other}"
        ))),
    }
}

fn evaluate_any_all(
    ctx: &mut EvalContext,
    conditions: &AnyAllConditions,
) -> Result<ConditionOutcome, ConditionError> {
    let mut any_result = true;
    let mut all_result = true;
    let mut false_messages = Vec::new();
    let mut true_messages = Vec::new();
    if let Some(any) = &conditions.any {
        any_result = false;
        for condition in any {
            let (held, message) = evaluate_one(ctx, condition)?;
            if held {
                any_result = true;
                true_messages.push(message);
                break;
            }
            false_messages.push(message);
        }
    }
    for condition in conditions.all.iter().flatten() {
        let (held, message) = evaluate_one(ctx, condition)?;
        if !held {
            all_result = false;
            false_messages.push(message);
            break;
        }
        true_messages.push(message);
    }
    let passed = any_result && all_result;
    let message = if passed {
        join_non_empty(&true_messages, "; ")
    } else {
        join_non_empty(&false_messages, "; ")
    };
    Ok(ConditionOutcome { passed, message })
}

fn evaluate_one(
    ctx: &mut EvalContext,
    condition: &Condition,
) -> Result<(bool, String), ConditionError> {
    let key = variables::substitute_borrowed(ctx, &condition.key).map_err(ConditionError::Key)?;
    let value =
        variables::substitute_borrowed(ctx, &condition.value).map_err(ConditionError::Value)?;
    let held = operators::evaluate(&condition.operator, &key, &value)?;
    Ok((held, condition.message.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::NoClusterData;
    use serde_json::json;
    use std::sync::Arc;

    fn ctx() -> EvalContext {
        let mut ctx = EvalContext::new(Arc::new(NoClusterData));
        ctx.add_variable(
            "request",
            json!({"operation": "CREATE", "object": {"metadata": {"name": "web"}}}),
        );
        ctx
    }

    fn eval(block: Value) -> ConditionOutcome {
        evaluate(&mut ctx(), Some(&block)).expect("evaluates")
    }

    #[test]
    fn all_and_any() {
        assert!(eval(json!({"all": [{"key": "{{ request.operation }}", "operator": "Equals", "value": "CREATE"}]})).passed);
        assert!(!eval(json!({"all": [
            {"key": "{{ request.operation }}", "operator": "Equals", "value": "CREATE"},
            {"key": "{{ request.object.metadata.name }}", "operator": "Equals", "value": "db", "message": "not db"}
        ]})).passed);
        let outcome = eval(json!({"any": [
            {"key": "a", "operator": "Equals", "value": "b", "message": "m1"},
            {"key": "a", "operator": "Equals", "value": "c", "message": "m2"}
        ]}));
        assert!(!outcome.passed);
        assert_eq!(outcome.message, "m1; m2");
        assert!(eval(json!({"any": [{"key": "a", "operator": "Equals", "value": "c"}, {"key": "a", "operator": "Equals", "value": "a"}]})).passed);
    }

    #[test]
    fn legacy_list_and_empty_blocks() {
        assert!(
            eval(
                json!([{"key": "{{ request.operation }}", "operator": "Equals", "value": "CREATE"}])
            )
            .passed
        );
        assert!(!eval(json!([{"key": "x", "operator": "NotEquals", "value": "x"}])).passed);
        assert!(evaluate(&mut ctx(), None).expect("none").passed);
        assert!(eval(json!({})).passed);
    }

    #[test]
    fn unresolved_variable_is_an_error() {
        let err = evaluate(
            &mut ctx(),
            Some(&json!({"all": [{"key": "{{ request.object.spec.x }}", "operator": "Equals", "value": "1"}]})),
        )
        .expect_err("unresolved");
        assert!(err.to_string().contains("condition key"), "{err}");
    }
}
