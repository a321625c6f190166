//! `map` and `filter` in linear time: a compiled AST enters, and leaves
//! with each of their comprehensions accumulating into one growing list
//! ([`ListBuilder`]) instead of `@result + [x]`.
//!
//! The cel crate's macros build the result as `@result + [x]` per element,
//! each step copying the list so far: `.map()` over 40,000 elements took
//! 100 s, a ConfigMap near the 1 MiB object limit hours, stalling the scan
//! to its deadline (red25 F15). cel-go appends to a mutable list in place.
//! Here the accumulator is an opaque builder the steps push into; the
//! comprehension's result is the list it holds. Our own code because the
//! crate's comprehension semantics (one accumulator value per step) leave
//! no other way to append in place.

use std::sync::{Arc, Mutex};

use kube_cel::cel;
use kube_cel::cel::common::ast::{operators, CallExpr, ComprehensionExpr, Expr, IdedExpr};
use kube_cel::cel::objects::Opaque;
use kube_cel::cel::{ExecutionError, FunctionContext};

use crate::value_size::{cel_exceeds, too_large, MAX_VALUE_BYTES};

/// A new, empty builder: the comprehension's first accumulator.
pub(crate) const NEW_LIST: &str = "@polscan.new_list";
/// `push(@result, x)`: `x` appended, the same builder returned.
pub(crate) const PUSH: &str = "@polscan.push";
/// `list(@result)`: the list the builder holds.
pub(crate) const LIST: &str = "@polscan.list";

/// The accumulator the crate's macros bind.
const ACCUMULATOR: &str = "@result";

/// What a list element counts towards [`MAX_VALUE_BYTES`] at least (as
/// `arithmetic`'s list sums count it).
const MIN_ELEMENT_BYTES: usize = 8;

/// The growing result of one `map`/`filter` evaluation.
#[derive(Debug, Default)]
struct ListBuilder {
    items: Mutex<(Vec<cel::Value>, usize)>,
}

impl PartialEq for ListBuilder {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for ListBuilder {}

impl Opaque for ListBuilder {
    fn runtime_type_name(&self) -> &str {
        "polscan.list_builder"
    }
}

/// Points the accumulation of every `map` and `filter` comprehension of
/// `expr` at the functions above.
pub(crate) fn rewrite(expr: &mut IdedExpr) {
    super::quantifiers::each_comprehension(expr, &mut accumulate);
}

/// A `map` or `filter` comprehension made to push into a [`ListBuilder`].
fn accumulate(comprehension: &mut ComprehensionExpr) {
    let starts_empty =
        matches!(&comprehension.accu_init.expr, Expr::List(list) if list.elements.is_empty());
    let returns_accumulator = is_accumulator(&comprehension.result);
    if comprehension.accu_var != ACCUMULATOR || !starts_empty || !returns_accumulator {
        return;
    }
    // `@result + [x]`, alone (map) or as `f ? @result + [x] : @result`.
    let step = match &mut comprehension.loop_step.expr {
        Expr::Call(call)
            if call.func_name == operators::CONDITIONAL
                && call.args.len() == 3
                && is_accumulator(&call.args[2]) =>
        {
            &mut call.args[1]
        }
        _ => &mut comprehension.loop_step,
    };
    let Expr::Call(append) = &mut step.expr else {
        return;
    };
    let element = match append.args.as_mut_slice() {
        [accumulator, IdedExpr {
            expr: Expr::List(list),
            ..
        }] if append.func_name == operators::ADD
            && append.target.is_none()
            && is_accumulator(accumulator)
            && list.elements.len() == 1 =>
        {
            list.elements.pop()
        }
        _ => None,
    };
    let Some(element) = element else {
        return;
    };
    let accumulator = IdedExpr {
        id: append.args[0].id,
        expr: Expr::Ident(ACCUMULATOR.to_string()),
    };
    append.func_name = PUSH.to_string();
    append.args = vec![accumulator, element];
    comprehension.accu_init.expr = call(NEW_LIST, Vec::new());
    let id = comprehension.result.id;
    comprehension.result.expr = call(
        LIST,
        vec![IdedExpr {
            id,
            expr: Expr::Ident(ACCUMULATOR.to_string()),
        }],
    );
}

fn is_accumulator(expr: &IdedExpr) -> bool {
    matches!(&expr.expr, Expr::Ident(name) if name == ACCUMULATOR)
}

fn call(function: &str, args: Vec<IdedExpr>) -> Expr {
    Expr::Call(CallExpr {
        func_name: function.to_string(),
        target: None,
        args,
    })
}

/// A new builder.
pub(crate) fn new_list(_ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    Ok(cel::Value::Opaque(Arc::new(ListBuilder::default())))
}

/// The builder of `ftx`'s first argument.
fn builder(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    let accumulator = ftx
        .args
        .first()
        .ok_or_else(|| ftx.error("expects the accumulator"))?;
    cel::Value::resolve(accumulator, ftx.ptx)
}

/// Appends the second argument to the builder, bounded as a list sum is
/// (past [`MAX_VALUE_BYTES`] an error of the expression).
pub(crate) fn push(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    let accumulator = builder(ftx)?;
    let element = ftx
        .args
        .get(1)
        .ok_or_else(|| ftx.error("expects an element"))?;
    let element = cel::Value::resolve(element, ftx.ptx)?;
    {
        let cel::Value::Opaque(opaque) = &accumulator else {
            return Err(ftx.error("expects the accumulator"));
        };
        let Some(list) = opaque.downcast_ref::<ListBuilder>() else {
            return Err(ftx.error("expects the accumulator"));
        };
        let mut guard = list
            .items
            .lock()
            .map_err(|_| ftx.error("the accumulator is unusable"))?;
        let (items, size) = &mut *guard;
        *size = size.saturating_add(MIN_ELEMENT_BYTES);
        if *size > MAX_VALUE_BYTES || cel_exceeds(&element, MAX_VALUE_BYTES - *size) {
            return Err(ftx.error(too_large("the list")));
        }
        *size = size.saturating_add(element_bytes(&element));
        items.push(element);
    }
    Ok(accumulator)
}

/// What an element adds to the running size: its text, else the least.
fn element_bytes(element: &cel::Value) -> usize {
    match element {
        cel::Value::String(text) => text.len(),
        cel::Value::Bytes(bytes) => bytes.len(),
        _ => 0,
    }
}

/// The list the builder holds.
pub(crate) fn list(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    let accumulator = builder(ftx)?;
    let cel::Value::Opaque(opaque) = &accumulator else {
        return Err(ftx.error("expects the accumulator"));
    };
    let Some(list) = opaque.downcast_ref::<ListBuilder>() else {
        return Err(ftx.error("expects the accumulator"));
    };
    let guard = list
        .items
        .lock()
        .map_err(|_| ftx.error("the accumulator is unusable"))?;
    Ok(cel::Value::List(Arc::new(guard.0.clone())))
}
