//! cel-go's optional semantics on top of the `cel` crate. The parsed AST
//! enters [`rewrite`] once per expression; `or`/`orValue` are registered in
//! the environment with cel-go's runtime behaviour.

use kube_cel::cel;
use kube_cel::cel::objects::OptionalValue;
use kube_cel::cel::parser::Expression;
use kube_cel::cel::FunctionContext;

/// Rewrites optional selections the `cel` crate mishandles (see
/// [`optional_select_as_index`]).
pub(crate) fn rewrite(ast: &mut cel::IdedExpr) {
    optional_select_as_index(ast);
}

/// The function optional selections and indexes are rewritten to; not a
/// name CEL source can spell.
pub(crate) const OPTIONAL_INDEX: &str = "@polscan.optional_index";

/// `x.?f`, `x[?k]` as cel-go evaluates them: an optional `x` is unwrapped
/// (none stays none); a map gives its entry, a list its element, each as an
/// optional; anything else (null included) is a failed presence test and
/// gives `optional.none()`, not an error.
///
/// The operand is read where it lies instead of being converted to a value
/// as a function argument is: a map looked up by a string or a list by an
/// int or uint (or an optional of either) converts only the entry found,
/// not the whole operand (`object.spec.?securityContext` used to convert
/// the Pod spec). Every other operand and key goes through
/// [`optional_index_values`], in the order arguments are converted.
pub(crate) fn optional_index(ftx: &FunctionContext) -> Result<cel::Value, cel::ExecutionError> {
    use cel::common::types::{CelList, CelMap, CelMapKey, CelOptional};
    let (Some(operand), Some(key)) = (ftx.args.first(), ftx.args.get(1)) else {
        return Err(ftx.error("expects an operand and a key"));
    };
    let operand = cel::Value::resolve_val(operand, ftx.ptx)?;
    let target = match operand.downcast_ref::<CelOptional>() {
        Some(optional) => optional.inner(),
        None => Some(operand.as_ref()),
    };
    let readable = target.is_none_or(|t| {
        t.downcast_ref::<CelMap>().is_some() || t.downcast_ref::<CelList>().is_some()
    });
    if !readable {
        let operand = cel::Value::try_from(operand.as_ref())?;
        return optional_index_values(operand, cel::Value::resolve(key, ftx.ptx)?);
    }
    let key = cel::Value::resolve(key, ftx.ptx)?;
    let Some(target) = target else {
        return Ok(none());
    };
    let found = match (target.downcast_ref::<CelMap>(), &key) {
        (Some(map), cel::Value::String(k)) => map.inner().get(&CelMapKey::from(k.as_str())),
        (None, cel::Value::Int(i)) => target
            .downcast_ref::<CelList>()
            .and_then(|list| list.inner().get(usize::try_from(*i).ok()?)),
        (None, cel::Value::UInt(i)) => target
            .downcast_ref::<CelList>()
            .and_then(|list| list.inner().get(usize::try_from(*i).ok()?)),
        _ => return optional_index_values(cel::Value::try_from(operand.as_ref())?, key),
    };
    Ok(match found {
        Some(value) => cel::Value::Opaque(std::sync::Arc::new(OptionalValue::of(
            cel::Value::try_from(value.as_ref())?,
        ))),
        None => none(),
    })
}

/// [`optional_index`] on converted values.
fn optional_index_values(
    operand: cel::Value,
    key: cel::Value,
) -> Result<cel::Value, cel::ExecutionError> {
    use cel::objects::Key;
    let operand = match <&OptionalValue>::try_from(&operand) {
        Ok(optional) => match optional.value() {
            Some(value) => value.clone(),
            None => return Ok(none()),
        },
        Err(_) => operand,
    };
    let found = match (&operand, &key) {
        (cel::Value::Map(map), cel::Value::String(k)) => {
            map.map.get(&Key::from(k.clone())).cloned()
        }
        (cel::Value::Map(map), cel::Value::Int(k)) => map.map.get(&Key::from(*k)).cloned(),
        (cel::Value::Map(map), cel::Value::UInt(k)) => map.map.get(&Key::from(*k)).cloned(),
        (cel::Value::Map(map), cel::Value::Bool(k)) => map.map.get(&Key::from(*k)).cloned(),
        (cel::Value::List(items), cel::Value::Int(i)) => {
            usize::try_from(*i).ok().and_then(|i| items.get(i).cloned())
        }
        (cel::Value::List(items), cel::Value::UInt(i)) => {
            usize::try_from(*i).ok().and_then(|i| items.get(i).cloned())
        }
        _ => None,
    };
    Ok(match found {
        Some(value) => cel::Value::Opaque(std::sync::Arc::new(OptionalValue::of(value))),
        None => none(),
    })
}

fn none() -> cel::Value {
    cel::Value::Opaque(std::sync::Arc::new(OptionalValue::none()))
}

/// `x.orValue(d)`: cel-go's interpreter returns a non-optional `x` as it is
/// (errors included) and evaluates `d` only when `x` is an empty optional.
/// Policies rely on it (`container.volumeMounts.orValue([])` on a list).
/// Called any other way (`orValue(1)`, `x.orValue()`) it is the error
/// cel-go's checker gives, not a panic: the `cel` crate's argument
/// extractors index past the arguments a call has.
pub(crate) fn or_value(ftx: &FunctionContext) -> Result<cel::Value, cel::ExecutionError> {
    let (this, alternative) = receiver_and_alternative(ftx)?;
    match <&OptionalValue>::try_from(&this) {
        Ok(optional) => match optional.value() {
            Some(value) => Ok(value.clone()),
            None => ftx.ptx.resolve(alternative),
        },
        Err(_) => Ok(this),
    }
}

/// `x.or(y)`: as [`or_value`], for an optional alternative.
pub(crate) fn or(ftx: &FunctionContext) -> Result<cel::Value, cel::ExecutionError> {
    let (this, alternative) = receiver_and_alternative(ftx)?;
    match <&OptionalValue>::try_from(&this) {
        Ok(optional) if optional.value().is_none() => ftx.ptx.resolve(alternative),
        _ => Ok(this),
    }
}

/// The receiver and the one argument of `x.or(y)` / `x.orValue(y)`; any
/// other shape is cel-go's "found no matching overload" error.
fn receiver_and_alternative<'a>(
    ftx: &'a FunctionContext,
) -> Result<(cel::Value, &'a Expression), cel::ExecutionError> {
    match (&ftx.this, ftx.args) {
        (Some(this), [alternative]) => Ok((this.clone(), alternative)),
        (this, args) => {
            let arity = args.len() + usize::from(this.is_some());
            Err(ftx.error(format!(
                "found no matching overload for '{}' applied to {} argument(s): it is called as <optional>.{}(<alternative>)",
                ftx.name, arity, ftx.name
            )))
        }
    }
}

/// cel 0.13 fails `a.?b` when `a` is a map without `b` instead of giving
/// `optional.none()`, fails `a[?'b']` when `a` is null, and a plain
/// selection on an optional (`a.?b.c`) gives false instead of an optional.
/// All three are rewritten to [`optional_index`]. Returns whether the
/// expression yields an optional.
fn optional_select_as_index(expr: &mut kube_cel::cel::common::ast::IdedExpr) -> bool {
    use kube_cel::cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
    const OPT_SELECT: &str = "_?._";
    const OPT_INDEX: &str = "_[?_]";
    const OWN_INDEX: &str = OPTIONAL_INDEX;
    let visit_entries = |entries: &mut Vec<kube_cel::cel::common::ast::IdedEntryExpr>| {
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
            if call.func_name == OPT_SELECT || call.func_name == OPT_INDEX {
                call.func_name = OWN_INDEX.to_string();
            }
            if let Some(target) = call.target.as_deref_mut() {
                optional_select_as_index(target);
            }
            for arg in &mut call.args {
                optional_select_as_index(arg);
            }
            call.func_name == OWN_INDEX
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
                func_name: OWN_INDEX.to_string(),
                target: None,
                args: vec![operand, field],
            });
            true
        }
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Activation, CelInputs, PolicyInputs, Program, ResourceScope};
    use super::*;
    use crate::context::{ClusterData, NoClusterData};
    use serde_json::json;
    use std::sync::Arc;

    /// `operand[?key]` through the registered function, and the same on the
    /// converted operand and key, as the function did before it read
    /// operands in place.
    #[test]
    fn reading_in_place_gives_what_converted_values_give() {
        let scope = ResourceScope::new(CelInputs {
            object: json!({"spec": {"m": {"a": 1, "b": [1, 2]}, "l": [{"x": 1}, 2], "s": "t", "z": null}}),
            ..CelInputs::default()
        });
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let activation = Activation::new(&scope, &data, PolicyInputs::default());
        let parse = |source: &str| {
            cel::parser::Parser::new()
                .enable_optional_syntax(true)
                .parse(source)
                .expect("parses")
        };
        let operands = [
            "object.spec.m",
            "object.spec.l",
            "object.spec.s",
            "object.spec.z",
            "optional.of(object.spec.m)",
            "optional.of(object.spec.l)",
            "optional.of(object.spec.s)",
            "optional.none()",
            "{1: 'one', true: 'yes', 2u: 'two'}",
            "object.spec.missing",
            "1 / 0",
        ];
        let keys = [
            "'a'", "'b'", "'q'", "0", "1", "5", "-1", "0u", "1u", "1.0", "true", "null", "1 / 0",
        ];
        let mut differ = Vec::new();
        for operand in operands {
            for key in keys {
                let via_function = Program::compile(&format!("({operand})[?{key}]"))
                    .evaluate(&activation)
                    .map(|v| format!("{v:?}"));
                let on_values = cel::Value::resolve(&parse(operand), activation.context())
                    .and_then(|o| {
                        let k = cel::Value::resolve(&parse(key), activation.context())?;
                        optional_index_values(o, k)
                    })
                    .map(|v| format!("{v:?}"))
                    .map_err(|e| crate::cel::program::error_text(&e));
                if via_function != on_values {
                    differ.push(format!(
                        "{operand}[?{key}]: {on_values:?} became {via_function:?}"
                    ));
                }
            }
        }
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }

    /// `or`/`orValue` called as a global function or with the wrong number
    /// of arguments panicked inside the `cel` crate's argument extractor
    /// (found by fuzzing: one such policy stopped a whole cluster scan).
    /// They are errors naming the function, as cel-go's checker rejects them.
    #[test]
    fn or_and_or_value_called_wrongly_are_errors_not_panics() {
        let scope = ResourceScope::new(CelInputs {
            object: json!({"spec": {}}),
            ..CelInputs::default()
        });
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let activation = Activation::new(&scope, &data, PolicyInputs::default());
        for source in [
            "orValue(1) == 1",
            "or(optional.none()) == optional.none()",
            "orValue() == 1",
            "optional.none().orValue() == 1",
            "optional.none().or() == 1",
            "optional.none().orValue(1, 2) == 1",
            "orValue(optional.none(), 1) == 1",
        ] {
            let outcome = Program::compile(source).evaluate(&activation);
            let error = outcome.expect_err(source);
            assert!(
                error.contains("found no matching overload for 'or"),
                "{source}: {error}"
            );
        }
        let fine = Program::compile("optional.none().orValue(7) == 7 && optional.of(1).or(optional.of(2)).orValue(0) == 1 && optional.none().or(optional.of(2)).orValue(0) == 2")
            .evaluate(&activation);
        assert_eq!(fine.map(|v| format!("{v:?}")), Ok("Bool(true)".to_string()));
    }
}
