//! `+`, binary `-` and unary `-` with cel-go's checks where the `cel`
//! crate has none: a compiled AST enters and leaves with those operators
//! calling [`add`], [`subtract`] and [`negate`], which compute as the crate
//! does, then refuse
//! - a duration past Go's `time.Duration` (int64 nanoseconds, ±292
//!   years): cel-go's `addDurationChecked`, `subtractTimeChecked`,
//!   `negateDurationChecked` (common/types/overflow.go) give an error
//!   where chrono's wider range gave a value;
//! - a string, bytes or list sum past [`MAX_VALUE_BYTES`] (one element
//!   counting [`MIN_ELEMENT_BYTES`]): concatenation in a comprehension or
//!   a doubling chain grew one value past any bound before a variable's
//!   check saw it (red22 F6).

use std::borrow::Cow;

use kube_cel::cel;
use kube_cel::cel::common::ast::{operators, EntryExpr, Expr, IdedEntryExpr, IdedExpr};
use kube_cel::cel::common::value::Val;
use kube_cel::cel::{ExecutionError, FunctionContext};

use crate::value_size::{too_large, MAX_VALUE_BYTES};

/// The functions the operators are rewritten to; not names CEL source can
/// spell.
pub(crate) const ADD: &str = "@polscan.add";
/// See [`ADD`].
pub(crate) const SUBTRACT: &str = "@polscan.subtract";
/// See [`ADD`].
pub(crate) const NEGATE: &str = "@polscan.negate";

/// What a list element counts towards [`MAX_VALUE_BYTES`] at least.
const MIN_ELEMENT_BYTES: usize = 8;

/// Points every `_+_`, `_-_` and `-_` call of `expr` at [`ADD`],
/// [`SUBTRACT`] and [`NEGATE`].
pub(crate) fn rewrite(expr: &mut IdedExpr) {
    match &mut expr.expr {
        Expr::Call(call) => {
            let own = match call.func_name.as_str() {
                operators::ADD => Some(ADD),
                operators::SUBSTRACT => Some(SUBTRACT),
                operators::NEGATE => Some(NEGATE),
                _ => None,
            };
            if let Some(own) = own {
                call.func_name = own.to_string();
            }
            // `x in list` is charged the list's length (rev27 F12:
            // `exists(x, x in big)` did 4·10^8 comparisons in 20,000
            // counted steps); the crate's own `in` still decides.
            if call.func_name == operators::IN && call.args.len() == 2 {
                super::budget::charge_container(&mut call.args[1]);
            }
            if let Some(target) = call.target.as_deref_mut() {
                rewrite(target);
            }
            for arg in &mut call.args {
                rewrite(arg);
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
                rewrite(child);
            }
        }
        Expr::List(list) => list.elements.iter_mut().for_each(rewrite),
        Expr::Map(map) => rewrite_entries(&mut map.entries),
        Expr::Struct(structure) => rewrite_entries(&mut structure.entries),
        Expr::Select(select) => rewrite(&mut select.operand),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}

fn rewrite_entries(entries: &mut [IdedEntryExpr]) {
    for entry in entries {
        match &mut entry.expr {
            EntryExpr::MapEntry(e) => {
                rewrite(&mut e.key);
                rewrite(&mut e.value);
            }
            EntryExpr::StructField(f) => rewrite(&mut f.value),
        }
    }
}

/// `a + b`.
pub(crate) fn add(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    let (lhs, rhs) = operands(ftx)?;
    // cel-go adds a timestamp to a duration either way round
    // (`add_duration_timestamp`); the crate only timestamp + duration
    // (red25 F19).
    use kube_cel::cel::common::types::{CelDuration, CelTimestamp};
    let (lhs, rhs) = if lhs.downcast_ref::<CelDuration>().is_some()
        && rhs.downcast_ref::<CelTimestamp>().is_some()
    {
        (rhs, lhs)
    } else {
        (lhs, rhs)
    };
    let sum = lhs
        .as_ref()
        .as_adder()
        .ok_or_else(|| unsupported("add", lhs.as_ref(), rhs.as_ref()))?
        .add(rhs.as_ref())?;
    checked(ftx, "add", lhs.as_ref(), rhs.as_ref(), sum)
}

/// `a - b`.
pub(crate) fn subtract(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    let (lhs, rhs) = operands(ftx)?;
    let difference = lhs
        .as_ref()
        .as_subtractor()
        .ok_or_else(|| unsupported("sub", lhs.as_ref(), rhs.as_ref()))?
        .sub(rhs.as_ref())?;
    checked(ftx, "sub", lhs.as_ref(), rhs.as_ref(), difference)
}

/// `-a`.
pub(crate) fn negate(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    let [operand] = ftx.args else {
        return Err(ftx.error("expects one operand"));
    };
    let operand = cel::Value::resolve_val(operand, ftx.ptx)?;
    // cel-go negates a duration (the crate has no negation for one);
    // -(-2^63 ns) is past Go's range.
    if let cel::Value::Duration(span) = cel::Value::try_from(operand.as_ref())? {
        let negated = cel::Value::Duration(-span);
        if go_duration_overflows(&negated) {
            return Err(ExecutionError::UnsupportedUnaryOperator(
                "minus",
                cel::Value::Duration(span),
            ));
        }
        return Ok(negated);
    }
    // cel-go's negateInt64Checked: -(-2^63) is an overflow error, where
    // the crate's negation wrapped to -2^63 itself (red25 F6).
    if let cel::Value::Int(i64::MIN) = cel::Value::try_from(operand.as_ref())? {
        return Err(ExecutionError::function_error("minus", "int overflow"));
    }
    let negated = operand
        .as_negator()
        .ok_or(ExecutionError::NoSuchOverload)?
        .negate()?;
    let value = cel::Value::try_from(negated.as_ref())?;
    if go_duration_overflows(&value) {
        return Err(ExecutionError::UnsupportedUnaryOperator(
            "minus",
            cel::Value::try_from(operand.as_ref()).unwrap_or(cel::Value::Null),
        ));
    }
    Ok(value)
}

/// Two operands, resolved where they lie.
type Operands<'a> = (Cow<'a, dyn Val>, Cow<'a, dyn Val>);

fn operands<'a>(ftx: &'a FunctionContext) -> Result<Operands<'a>, ExecutionError> {
    let [lhs, rhs] = ftx.args else {
        return Err(ftx.error("expects two operands"));
    };
    Ok((
        cel::Value::resolve_val(lhs, ftx.ptx)?,
        cel::Value::resolve_val(rhs, ftx.ptx)?,
    ))
}

fn unsupported(operator: &'static str, lhs: &dyn Val, rhs: &dyn Val) -> ExecutionError {
    ExecutionError::UnsupportedBinaryOperator(
        operator,
        cel::Value::try_from(lhs).unwrap_or(cel::Value::Null),
        cel::Value::try_from(rhs).unwrap_or(cel::Value::Null),
    )
}

/// The result as a value, or the error cel-go gives for it (see the
/// module doc).
fn checked(
    ftx: &FunctionContext,
    operator: &'static str,
    lhs: &dyn Val,
    rhs: &dyn Val,
    result: Cow<'_, dyn Val>,
) -> Result<cel::Value, ExecutionError> {
    let value = cel::Value::try_from(result.as_ref())?;
    if go_duration_overflows(&value) {
        return Err(ExecutionError::Overflow(
            operator,
            cel::Value::try_from(lhs).unwrap_or(cel::Value::Null),
            cel::Value::try_from(rhs).unwrap_or(cel::Value::Null),
        ));
    }
    let size = match &value {
        cel::Value::String(text) => text.len(),
        cel::Value::Bytes(bytes) => bytes.len(),
        cel::Value::List(items) => items.len().saturating_mul(MIN_ELEMENT_BYTES),
        _ => 0,
    };
    if size > MAX_VALUE_BYTES {
        return Err(ftx.error(too_large("the result")));
    }
    Ok(value)
}

/// Whether a duration is past Go's int64 nanoseconds.
fn go_duration_overflows(value: &cel::Value) -> bool {
    matches!(value, cel::Value::Duration(span) if span.num_nanoseconds().is_none())
}
