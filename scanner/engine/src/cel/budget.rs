//! A bound on the work of one evaluation: a compiled AST enters and leaves
//! with every comprehension's loop condition counted by [`step`]; an
//! evaluation run through [`metered`] that takes more than
//! [`PER_CALL_LIMIT`] comprehension steps gives cel-go's cancellation
//! error instead of a value.
//!
//! Kubernetes compiles the expressions of ValidatingAdmissionPolicies, and
//! Kyverno its `validate.cel` rules, with `cel.CostLimit(PerCallLimit)`
//! (1,000,000; k8s.io/apiserver `pkg/apis/cel/config.go`, used by
//! `pkg/admission/plugin/cel/compile.go`): past it cel-go cancels the
//! evaluation, `operation cancelled: actual cost limit exceeded`, whatever
//! `||` or `exists` would have made of the rest. The cel crate has no cost
//! tracker, and nested comprehensions multiply (`all` eight deep over
//! ten-element lists is 10^8 steps, minutes of a scan on one resource).
//! cel-go charges at least one unit per comprehension step (the step reads
//! the accumulator, an attribute of cost 1; `interpreter/runtimecost.go`),
//! so a count of steps is a lower bound of its cost: what is cancelled
//! here is cancelled there too. What cel-go cancels with fewer steps (costly
//! string functions in a long loop) still evaluates here. Kyverno's
//! ValidatingPolicies compile without a cost limit (`pkg/cel/compiler`);
//! their evaluation is bounded here all the same — an `error` result,
//! never a verdict, where Kyverno's webhook would time out instead.

use std::cell::Cell;

use kube_cel::cel;
use kube_cel::cel::common::ast::{CallExpr, ComprehensionExpr, Expr, IdedExpr};
use kube_cel::cel::{ExecutionError, FunctionContext};

/// Comprehension steps one evaluation may take: Kubernetes' per-call cost
/// limit (`PerCallLimit`), counted in steps (each costs cel-go one unit or
/// more).
pub(crate) const PER_CALL_LIMIT: u64 = 1_000_000;

/// cel-go's error when an evaluation runs past its cost limit
/// (`interpreter.CostLimitExceeded`).
pub(crate) const EXCEEDED: &str = "operation cancelled: actual cost limit exceeded";

/// The function every loop condition is wrapped in; not a name CEL source
/// can spell.
pub(crate) const STEP: &str = "@polscan.step";

/// The units one policy's evaluation of a resource may take over all its
/// expressions: Kubernetes' `RuntimeCELCostBudget` (10^7,
/// k8s.io/apiserver/pkg/apis/cel/config.go), past which its validator stops
/// with [`BUDGET_EXHAUSTED`]. 650 expressions each just under
/// [`PER_CALL_LIMIT`] took 8 minutes on one resource (hunt27 F20).
pub(crate) const RUNTIME_BUDGET: u64 = 10_000_000;

/// Kubernetes' error when a validation runs out of [`RUNTIME_BUDGET`].
pub(crate) const BUDGET_EXHAUSTED: &str =
    "validation failed due to running out of cost budget, no further validation rules will be run";

thread_local! {
    /// Steps taken by the evaluation this thread runs in [`metered`]; `None`
    /// outside one (a constant folded at compile time is not counted).
    static STEPS: Cell<Option<u64>> = const { Cell::new(None) };
    /// Steps taken by the policy evaluation this thread runs in
    /// [`policy_metered`], summed over its expressions.
    static POLICY_STEPS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs one policy's evaluation of a resource with a fresh total.
pub(crate) fn policy_metered<T>(evaluate: impl FnOnce() -> T) -> T {
    let outer = POLICY_STEPS.with(|steps| steps.replace(Some(0)));
    let value = evaluate();
    POLICY_STEPS.with(|steps| steps.set(outer));
    value
}

/// Whether the policy evaluation running has spent [`RUNTIME_BUDGET`].
pub(crate) fn policy_budget_spent() -> bool {
    POLICY_STEPS.with(|steps| steps.get().is_some_and(|taken| taken > RUNTIME_BUDGET))
}

/// Wraps the loop condition of every comprehension of `expr` in
/// [`STEP`]; run after the rewrites that replace loop conditions.
pub(crate) fn rewrite(expr: &mut IdedExpr) {
    super::quantifiers::each_comprehension(expr, &mut count_steps);
}

fn count_steps(comprehension: &mut ComprehensionExpr) {
    let id = comprehension.loop_cond.id;
    let condition = std::mem::replace(
        &mut comprehension.loop_cond,
        IdedExpr {
            id,
            expr: Expr::Unspecified,
        },
    );
    comprehension.loop_cond.expr = Expr::Call(CallExpr {
        func_name: STEP.to_string(),
        target: None,
        args: vec![condition],
    });
}

/// Runs `evaluate` with a fresh step count; the second value says whether
/// it went past [`PER_CALL_LIMIT`] (then its result is to be replaced by
/// [`EXCEEDED`], as cel-go's cancellation ends the whole evaluation). A
/// count already running on this thread is kept and restored.
pub(crate) fn metered<T>(evaluate: impl FnOnce() -> T) -> (T, bool) {
    let outer = STEPS.with(|steps| steps.replace(Some(0)));
    let value = evaluate();
    let taken = STEPS.with(|steps| steps.replace(outer));
    if let Some(taken) = taken {
        POLICY_STEPS.with(|steps| {
            if let Some(total) = steps.get() {
                steps.set(Some(total.saturating_add(taken.min(PER_CALL_LIMIT + 1))));
            }
        });
    }
    (value, taken.is_some_and(|taken| taken > PER_CALL_LIMIT))
}

/// Charges `units` of work to the evaluation running in [`metered`] (a
/// function that builds a value of `units` elements, as cel-go's cost of
/// it grows with them); past [`PER_CALL_LIMIT`] the evaluation is
/// cancelled, [`EXCEEDED`], before the work is done.
///
/// # Errors
/// [`EXCEEDED`] once the evaluation's count passes the limit.
pub(crate) fn charge(function: &str, units: u64) -> Result<(), ExecutionError> {
    let over = STEPS.with(|steps| match steps.get() {
        Some(taken) => {
            let taken = taken.saturating_add(units);
            steps.set(Some(taken));
            taken > PER_CALL_LIMIT
        }
        None => units > PER_CALL_LIMIT,
    });
    if over {
        return Err(ExecutionError::function_error(function, EXCEEDED));
    }
    Ok(())
}

/// The function [`charge_container`] wraps a container in; not a name
/// CEL source can spell.
pub(crate) const CHARGED: &str = "@polscan.charged";

/// Wraps `container` (the right side of an `in`) in [`CHARGED`].
pub(crate) fn charge_container(container: &mut IdedExpr) {
    let id = container.id;
    let inner = std::mem::replace(
        container,
        IdedExpr {
            id,
            expr: Expr::Unspecified,
        },
    );
    container.expr = Expr::Call(CallExpr {
        func_name: CHARGED.to_string(),
        target: None,
        args: vec![inner],
    });
}

/// Its argument, a list charged its length ([`charge`]): cel-go's cost of
/// `x in list` grows with the list; a map's lookup costs one.
pub(crate) fn charged(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    let value = match ftx.args.first() {
        Some(container) => cel::Value::resolve(container, ftx.ptx)?,
        None => return Err(ftx.error("expects a container")),
    };
    if let cel::Value::List(list) = &value {
        charge("@in", list.len() as u64)?;
    }
    Ok(value)
}

/// A loop condition, counted: its value, or [`EXCEEDED`] once the
/// evaluation took more than [`PER_CALL_LIMIT`] steps (every later loop
/// condition errs too, so each loop still running ends at its next step).
pub(crate) fn step(ftx: &FunctionContext) -> Result<cel::Value, ExecutionError> {
    charge(STEP, 1)?;
    match ftx.args.first() {
        Some(condition) => cel::Value::resolve(condition, ftx.ptx),
        None => Err(ftx.error("expects the loop condition")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_started_inside_another_is_its_own_and_the_outer_one_resumes() {
        let ((inner, inner_over), outer_over) = metered(|| {
            STEPS.with(|steps| steps.set(Some(PER_CALL_LIMIT)));
            let inner = metered(|| STEPS.with(Cell::get));
            let after = STEPS.with(Cell::get);
            assert_eq!(after, Some(PER_CALL_LIMIT));
            STEPS.with(|steps| steps.set(Some(PER_CALL_LIMIT + 1)));
            inner
        });
        assert_eq!(inner, Some(0));
        assert!(!inner_over);
        assert!(outer_over);
        assert_eq!(STEPS.with(Cell::get), None);
    }
}
