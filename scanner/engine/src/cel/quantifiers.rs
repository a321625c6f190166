//! `exists` and `all` with cel-go's error semantics: a compiled AST enters,
//! and leaves with each of their comprehensions stepping through
//! [`exists_step`] / [`all_step`].
//!
//! cel-go folds `@result || p(x)` (`&&` for `all`) with its commutative
//! logic, an error being a value the accumulator holds: an element whose
//! predicate errs does not decide the result when another one makes it
//! true (`all`: false) — `!containers.exists(c, c.securityContext.privileged)`
//! over a container without `securityContext` and a privileged one is
//! `false`, a `fail`. The cel crate's accumulator holds no error: the
//! first one ended the comprehension, an `error` result where Kyverno
//! reports `fail` (red25 F24). Here the accumulator holds the first
//! error's text as a string (an `exists`/`all` accumulator otherwise only
//! holds bools) until an element decides, and the result raises it.

use std::sync::Arc;

use kube_cel::cel;
use kube_cel::cel::common::ast::{
    operators, ComprehensionExpr, EntryExpr, Expr, IdedEntryExpr, IdedExpr,
};
use kube_cel::cel::{ExecutionError, FunctionContext};

/// `@result || p` of an `exists` comprehension; not a name CEL source can
/// spell.
pub(crate) const EXISTS_STEP: &str = "@polscan.exists_step";
/// `@result && p` of an `all` comprehension.
pub(crate) const ALL_STEP: &str = "@polscan.all_step";
/// The loop condition of an `exists`: go on until the result is true.
pub(crate) const EXISTS_GOES_ON: &str = "@polscan.exists_goes_on";
/// The loop condition of an `all`: go on until the result is false.
pub(crate) const ALL_GOES_ON: &str = "@polscan.all_goes_on";
/// The comprehension's result: its bool, or the error it holds.
pub(crate) const RESULT: &str = "@polscan.quantifier_result";

/// The accumulator both macros bind (the crate's and cel-go's name).
const ACCUMULATOR: &str = "@result";

/// Points every `exists` and `all` comprehension of `expr` at the
/// functions above; any other comprehension is left as it is.
pub(crate) fn rewrite(expr: &mut IdedExpr) {
    each_comprehension(expr, &mut quantify);
}

/// Calls `f` on every comprehension of `expr`, the inner ones first (the
/// walk the AST rewrites of `exists`/`all` here and of `map`/`filter` in
/// `accumulate` share).
pub(super) fn each_comprehension(expr: &mut IdedExpr, f: &mut dyn FnMut(&mut ComprehensionExpr)) {
    match &mut expr.expr {
        Expr::Call(call) => {
            if let Some(target) = call.target.as_deref_mut() {
                each_comprehension(target, f);
            }
            for arg in &mut call.args {
                each_comprehension(arg, f);
            }
        }
        Expr::Comprehension(comprehension) => {
            for child in [
                &mut comprehension.iter_range,
                &mut comprehension.accu_init,
                &mut comprehension.loop_cond,
                &mut comprehension.loop_step,
                &mut comprehension.result,
            ] {
                each_comprehension(child, f);
            }
            f(comprehension);
        }
        Expr::List(list) => {
            for element in &mut list.elements {
                each_comprehension(element, f);
            }
        }
        Expr::Map(map) => each_entry(&mut map.entries, f),
        Expr::Struct(structure) => each_entry(&mut structure.entries, f),
        Expr::Select(select) => each_comprehension(&mut select.operand, f),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}

fn each_entry(entries: &mut [IdedEntryExpr], f: &mut dyn FnMut(&mut ComprehensionExpr)) {
    for entry in entries {
        match &mut entry.expr {
            EntryExpr::MapEntry(e) => {
                each_comprehension(&mut e.key, f);
                each_comprehension(&mut e.value, f);
            }
            EntryExpr::StructField(field) => each_comprehension(&mut field.value, f),
        }
    }
}

/// An `exists` or `all` comprehension pointed at the step, loop condition
/// and result functions above.
fn quantify(comprehension: &mut ComprehensionExpr) {
    if comprehension.accu_var != ACCUMULATOR {
        return;
    }
    let Expr::Call(step) = &mut comprehension.loop_step.expr else {
        return;
    };
    let init = match &comprehension.accu_init.expr {
        Expr::Literal(cel::common::ast::LiteralValue::Boolean(init)) => *init.inner(),
        _ => return,
    };
    let accumulates = matches!(
        step.args.first().map(|arg| &arg.expr),
        Some(Expr::Ident(name)) if name == ACCUMULATOR
    );
    let (step_fn, goes_on) = match (step.func_name.as_str(), init) {
        (operators::LOGICAL_OR, false) => (EXISTS_STEP, EXISTS_GOES_ON),
        (operators::LOGICAL_AND, true) => (ALL_STEP, ALL_GOES_ON),
        _ => return,
    };
    if !accumulates || step.args.len() != 2 || step.target.is_some() {
        return;
    }
    step.func_name = step_fn.to_string();
    comprehension.loop_cond.expr = call(goes_on, comprehension.loop_cond.id);
    comprehension.result.expr = call(RESULT, comprehension.result.id);
}

/// `function(@result)`; the node keeps the id of the one it replaces.
fn call(function: &str, id: u64) -> Expr {
    Expr::Call(cel::common::ast::CallExpr {
        func_name: function.to_string(),
        target: None,
        args: vec![IdedExpr {
            id,
            expr: Expr::Ident(ACCUMULATOR.to_string()),
        }],
    })
}

/// `@result || p(x)` as cel-go folds it: true decides; an error is kept
/// (the first one) until then.
pub(crate) fn exists_step(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    step(ftx, true)
}

/// `@result && p(x)` as cel-go folds it: false decides; an error is kept
/// (the first one) until then.
pub(crate) fn all_step(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    step(ftx, false)
}

/// The step of a quantifier that `decides` on that bool.
fn step(ftx: &FunctionContext, decides: bool) -> Result<cel::Value, ExecutionError> {
    let [accumulated, predicate] = ftx.args else {
        return Err(ftx.error("expects the accumulator and a predicate"));
    };
    let accumulated = cel::Value::resolve(accumulated, ftx.ptx)?;
    if accumulated == cel::Value::Bool(decides) {
        return Ok(accumulated);
    }
    match cel::Value::resolve(predicate, ftx.ptx) {
        Ok(cel::Value::Bool(value)) if value == decides => Ok(cel::Value::Bool(decides)),
        Ok(cel::Value::Bool(_)) => Ok(accumulated),
        // An error already held is the one cel-go reports (the left one).
        _ if matches!(accumulated, cel::Value::String(_)) => Ok(accumulated),
        Ok(other) => Ok(cel::Value::String(Arc::new(format!(
            "no such overload: a predicate must give a bool, got '{}'",
            super::program::type_name(&other)
        )))),
        Err(error) => Ok(cel::Value::String(Arc::new(super::program::error_text(
            &error,
        )))),
    }
}

/// Whether an `exists` goes on: its result is not true yet.
pub(crate) fn exists_goes_on(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    goes_on(ftx, true)
}

/// Whether an `all` goes on: its result is not false yet.
pub(crate) fn all_goes_on(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    goes_on(ftx, false)
}

fn goes_on(ftx: &FunctionContext, decides: bool) -> Result<cel::Value, ExecutionError> {
    let accumulated = ftx
        .args
        .first()
        .map(|arg| cel::Value::resolve(arg, ftx.ptx))
        .transpose()?;
    Ok(cel::Value::Bool(
        accumulated != Some(cel::Value::Bool(decides)),
    ))
}

/// The quantifier's bool, or the error it held to the end (its text, as
/// [`RESULT`]'s function error, which `error_text` writes unchanged).
pub(crate) fn result(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    let accumulated = ftx
        .args
        .first()
        .map(|arg| cel::Value::resolve(arg, ftx.ptx))
        .transpose()?;
    match accumulated {
        Some(cel::Value::String(error)) => Err(ExecutionError::function_error(RESULT, error)),
        Some(value) => Ok(value),
        None => Err(ftx.error("expects the accumulator")),
    }
}
