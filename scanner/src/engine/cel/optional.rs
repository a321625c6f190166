//! cel-go's optional semantics on top of the `cel` crate. The parsed AST
//! enters [`rewrite`] once per expression; `or`/`orValue` are registered in
//! the environment with cel-go's runtime behaviour.

use kube_cel::cel;
use kube_cel::cel::extractors::This;
use kube_cel::cel::objects::OptionalValue;
use kube_cel::cel::parser::Expression;
use kube_cel::cel::FunctionContext;

/// Rewrites optional selections the `cel` crate mishandles (see
/// [`optional_select_as_index`]).
pub fn rewrite(ast: &mut cel::IdedExpr) {
    optional_select_as_index(ast);
}

/// The function optional selections and indexes are rewritten to; not a
/// name CEL source can spell.
pub const OPTIONAL_INDEX: &str = "@polscan.optional_index";

/// `x.?f`, `x[?k]` as cel-go evaluates them: an optional `x` is unwrapped
/// (none stays none); a map gives its entry, a list its element, each as an
/// optional; anything else (null included) is a failed presence test and
/// gives `optional.none()`, not an error.
pub fn optional_index(
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
pub fn or_value(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    alternative: Expression,
) -> Result<cel::Value, cel::ExecutionError> {
    match <&OptionalValue>::try_from(&this) {
        Ok(optional) => match optional.value() {
            Some(value) => Ok(value.clone()),
            None => ftx.ptx.resolve(&alternative),
        },
        Err(_) => Ok(this),
    }
}

/// `x.or(y)`: as [`or_value`], for an optional alternative.
pub fn or(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    alternative: Expression,
) -> Result<cel::Value, cel::ExecutionError> {
    match <&OptionalValue>::try_from(&this) {
        Ok(optional) if optional.value().is_none() => ftx.ptx.resolve(&alternative),
        _ => Ok(this),
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
