//! JMESPath evaluation with Kyverno's custom function set.
//!
//! Data enters as a `serde_json::Value` (the caller's JSON context), is
//! converted to `jmespath::Variable`s, searched with one process-wide
//! [`jmespath::Runtime`] that holds the standard built-ins plus every Kyverno
//! function (one file per family beside this one), and leaves as a
//! `serde_json::Value` again. Compiled expressions are cached by their text.
//!
//! Kyverno runs a fork of go-jmespath, and this module follows it where the
//! difference shows in results:
//! - numbers are float64 there; results that are whole numbers come back as
//!   JSON integers here, so `length(x)` is `3`, not `3.0`;
//! - a path that names a key missing from an object fails with
//!   [`JmespathError::NotFound`] ("Unknown key"), which Kyverno's variable
//!   substitution reports differently from other errors; inside functions,
//!   comparisons, projections, pipes and `||` a missing key is just null,
//!   and flatten and filter projections turn any error of their input into
//!   null — this module's own interpreter walks the crate's AST with exactly
//!   the fork's rules;
//! - `to_string` encodes like Go's `json.Marshal` (`1` not `1.0`, `<` as
//!   `\u003c`, object keys sorted);
//! - `sum` is Kyverno's (numbers, quantities or durations), not the built-in.
//!
//! Objects produced by an expression have their keys sorted: the jmespath
//! crate keeps objects in a `BTreeMap`, and Go's maps (marshalled sorted) give
//! the same order in Kyverno's output.

mod arithmetic;
mod convert;
mod encoding;
mod functions;
mod golayout;
mod misc;
mod objects;
mod semver;
mod strings;
mod time;
mod x509;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use jmespath::ast::Ast;
use jmespath::{Context, ErrorReason, Expression, Rcvar, Runtime, RuntimeError, Variable};
use serde_json::Value;

pub(crate) use convert::{from_variable, to_variable, write_go_string};

/// Why an expression could not be evaluated. Every variant names the
/// expression so a policy author can find it, quoted up to
/// [`crate::quoted::QUOTED_CHARS`] characters ([`JmespathError::expression`]
/// gives it whole).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JmespathError {
    /// The text is not valid JMESPath.
    #[error("invalid JMESPath expression `{}`: {message}", crate::quoted::expression(.expression))]
    Parse {
        /// The expression as written.
        expression: String,
        /// Why it does not parse, as the parser says.
        message: String,
    },
    /// A path named a key the object does not have (go-jmespath's
    /// `NotFoundError`, which Kyverno treats as "variable not found").
    #[error("JMESPath expression `{}`: Unknown key \"{key}\" in path", crate::quoted::expression(.expression))]
    NotFound {
        /// The expression as written.
        expression: String,
        /// The key the path named.
        key: String,
    },
    /// A Kyverno function rejected its input (bad type, divide by zero, bad
    /// regex, unparsable time, ...).
    #[error("JMESPath expression `{}` failed: {message}", crate::quoted::expression(.expression))]
    Function {
        /// The expression as written.
        expression: String,
        /// What the function said.
        message: String,
    },
    /// The interpreter failed: unknown function, wrong number or type of
    /// arguments to a built-in, invalid slice.
    #[error("JMESPath expression `{}` failed: {message}", crate::quoted::expression(.expression))]
    Runtime {
        /// The expression as written.
        expression: String,
        /// What the interpreter said.
        message: String,
    },
    /// The result cannot be written as JSON (an expression reference).
    #[error("JMESPath expression `{}` gave a result JSON cannot hold: {message}", crate::quoted::expression(.expression))]
    Output {
        /// The expression as written.
        expression: String,
        /// Why the result cannot be JSON.
        message: String,
    },
}

impl JmespathError {
    /// True for Kyverno's "Unknown key ... in path" (a variable that does not
    /// resolve), which callers treat differently from real failures.
    pub fn is_not_found(&self) -> bool {
        matches!(self, JmespathError::NotFound { .. })
    }

    /// The expression the error is about.
    pub fn expression(&self) -> &str {
        match self {
            JmespathError::Parse { expression, .. }
            | JmespathError::NotFound { expression, .. }
            | JmespathError::Function { expression, .. }
            | JmespathError::Runtime { expression, .. }
            | JmespathError::Output { expression, .. } => expression,
        }
    }

    fn from_crate(expression: &str, error: jmespath::JmespathError) -> JmespathError {
        let expression = expression.to_string();
        match error.reason {
            ErrorReason::Parse(message) => match message.strip_prefix(functions::ERROR_MARKER) {
                Some(message) => JmespathError::Function {
                    expression,
                    message: message.to_string(),
                },
                None => JmespathError::Parse {
                    expression,
                    message: format!("{message} (at column {})", error.column),
                },
            },
            ErrorReason::Runtime(runtime) => JmespathError::Runtime {
                expression,
                message: runtime.to_string(),
            },
        }
    }
}

/// Evaluates a JMESPath expression with Kyverno's function set against `data`.
pub fn search(expression: &str, data: &Value) -> Result<Value, JmespathError> {
    search_variable(expression, &to_variable(data))
}

/// Like [`search`], for callers that evaluate many expressions against one
/// document and convert it once with [`to_variable`].
pub(crate) fn search_variable(expression: &str, data: &Rcvar) -> Result<Value, JmespathError> {
    let compiled = compile(expression)?;
    let mut ctx = Context::new(expression, &RUNTIME);
    let outer = STEPS.with(|steps| steps.replace(0));
    let interpreted = interpret(data, compiled.as_ast(), &mut ctx);
    STEPS.with(|steps| steps.set(outer));
    let result = match interpreted {
        Ok(result) => result,
        Err(Failure::NotFound(key)) => {
            return Err(JmespathError::NotFound {
                expression: expression.to_string(),
                key,
            })
        }
        Err(Failure::Error(err)) => return Err(JmespathError::from_crate(expression, err)),
    };
    // Before converting: the conversion writes out every shared part.
    if crate::value_size::jmespath_exceeds(&result, crate::value_size::MAX_VALUE_BYTES) {
        return Err(JmespathError::Output {
            expression: expression.to_string(),
            message: crate::value_size::too_large("the result"),
        });
    }
    from_variable(&result).map_err(|message| JmespathError::Output {
        expression: expression.to_string(),
        message,
    })
}

/// The most work one expression's evaluation may do, in nodes evaluated
/// and elements collected: multi-selects of `@` build a tree of 10^9
/// leaves from a few shared nodes, and projections and flattens over it
/// built them all (hunt27 F1, F2: gigabytes, the process aborted).
/// Kyverno's go-jmespath has no bound; 10^7 is seconds of work, far past
/// any policy of the library.
const MAX_STEPS: u64 = 10_000_000;

/// The most work all JMESPath evaluations of one rule on one resource may
/// do together (its context, preconditions, conditions, messages and
/// loops): 12,001 conditions each under [`MAX_STEPS`] ran for minutes
/// (hunt27 F31). Ten times one evaluation's bound.
pub(crate) const MAX_RULE_STEPS: u64 = 100_000_000;

thread_local! {
    /// Work done by the evaluation this thread runs ([`search_variable`]).
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Work done by the rule this thread evaluates, and its bound
    /// ([`within_rule_budget`]); None outside a rule.
    static RULE_STEPS: std::cell::Cell<Option<(u64, u64)>> = const { std::cell::Cell::new(None) };
}

/// Runs `work` (one rule's evaluation on one resource) with every JMESPath
/// evaluation in it sharing `bound` steps; past it each one fails at its
/// first step.
pub(crate) fn within_rule_budget<T>(bound: u64, work: impl FnOnce() -> T) -> T {
    let outer = RULE_STEPS.with(|steps| steps.replace(Some((0, bound))));
    let done = work();
    RULE_STEPS.with(|steps| steps.set(outer));
    done
}

/// Adds `units` to the evaluation's (and the rule's) work without a check:
/// the next [`charge`] fails when they pass a bound. For work done where no
/// context is at hand (a regex compiled in a function).
pub(crate) fn charge_later(units: u64) {
    STEPS.with(|steps| steps.set(steps.get().saturating_add(units)));
    RULE_STEPS.with(|steps| {
        if let Some((taken, bound)) = steps.get() {
            steps.set(Some((taken.saturating_add(units), bound)));
        }
    });
}

/// Charges `units` of work; past [`MAX_STEPS`], or the rule's bound, the
/// evaluation's error.
fn charge(units: usize, ctx: &Context<'_>) -> Result<(), Failure> {
    let over = STEPS.with(|steps| {
        let taken = steps.get().saturating_add(units as u64);
        steps.set(taken);
        taken > MAX_STEPS
    });
    let rule_over = RULE_STEPS.with(|steps| match steps.get() {
        Some((taken, bound)) => {
            let taken = taken.saturating_add(units as u64);
            steps.set(Some((taken, bound)));
            (taken > bound).then_some(bound)
        }
        None => None,
    });
    if over || rule_over.is_some() {
        let what = match rule_over {
            Some(bound) if !over => format!(
                "the rule's evaluations passed their bound of {bound} steps together (polscan's; Kyverno sets none)"
            ),
            _ => format!(
                "the evaluation passed its bound of {MAX_STEPS} steps (polscan's; Kyverno sets none)"
            ),
        };
        return Err(Failure::Error(jmespath::JmespathError::from_ctx(
            ctx,
            ErrorReason::Parse(format!("{}{what}", functions::ERROR_MARKER)),
        )));
    }
    Ok(())
}

/// An evaluation failure: Kyverno's fork distinguishes a missing key.
enum Failure {
    NotFound(String),
    Error(jmespath::JmespathError),
}

impl From<jmespath::JmespathError> for Failure {
    fn from(err: jmespath::JmespathError) -> Failure {
        Failure::Error(err)
    }
}

fn null() -> Rcvar {
    Rcvar::new(Variable::Null)
}

/// Turns a NotFound into null, keeping other errors (most nodes of the
/// go-jmespath fork do this).
fn lenient(result: Result<Rcvar, Failure>) -> Result<Rcvar, Failure> {
    match result {
        Err(Failure::NotFound(_)) => Ok(null()),
        other => other,
    }
}

/// The kyverno/go-jmespath interpreter's semantics over this crate's AST: a
/// field missing from an object is a NotFound error that propagates through
/// field and sub-expression chains and `&&`'s right side, and becomes null in
/// comparisons, function arguments, `||`, `!`, multi-selects and projections;
/// flatten and filter projections turn any error of their input into null.
fn interpret(data: &Rcvar, node: &Ast, ctx: &mut Context<'_>) -> Result<Rcvar, Failure> {
    charge(1, ctx)?;
    match node {
        Ast::Field { name, .. } => match data.as_object() {
            Some(map) => map
                .get(name)
                .cloned()
                .ok_or_else(|| Failure::NotFound(name.clone())),
            None => Ok(null()),
        },
        Ast::Subexpr { lhs, rhs, offset } => {
            // The crate parses `a | b` as a sub-expression too; the token at
            // its offset tells them apart. A pipe swallows NotFound per side.
            let is_pipe = ctx
                .expression
                .get(*offset..)
                .is_some_and(|rest| rest.starts_with('|'));
            if is_pipe {
                let left = lenient(interpret(data, lhs, ctx))?;
                return lenient(interpret(&left, rhs, ctx));
            }
            let left = interpret(data, lhs, ctx)?;
            interpret(&left, rhs, ctx)
        }
        Ast::Identity { .. } => Ok(data.clone()),
        Ast::Literal { value, .. } => Ok(value.clone()),
        Ast::Index { idx, .. } => Ok(if *idx >= 0 {
            data.get_index(*idx as usize)
        } else {
            data.get_negative_index((-*idx) as usize)
        }),
        Ast::Or { lhs, rhs, .. } => {
            let left = lenient(interpret(data, lhs, ctx))?;
            if left.is_truthy() {
                Ok(left)
            } else {
                lenient(interpret(data, rhs, ctx))
            }
        }
        Ast::And { lhs, rhs, .. } => {
            let left = lenient(interpret(data, lhs, ctx))?;
            if !left.is_truthy() {
                Ok(left)
            } else {
                interpret(data, rhs, ctx)
            }
        }
        Ast::Not { node, .. } => {
            let value = lenient(interpret(data, node, ctx))?;
            Ok(Rcvar::new(Variable::Bool(!value.is_truthy())))
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            let condition = lenient(interpret(data, predicate, ctx))?;
            if condition.is_truthy() {
                lenient(interpret(data, then, ctx))
            } else {
                Ok(null())
            }
        }
        Ast::Comparison {
            comparator,
            lhs,
            rhs,
            ..
        } => {
            let left = lenient(interpret(data, lhs, ctx))?;
            let right = lenient(interpret(data, rhs, ctx))?;
            // Equality walks both values written out: shared parts count
            // each time (hunt27 F11: 10^10 leaves from 20 nodes).
            for side in [&left, &right] {
                if crate::value_size::jmespath_exceeds(side, crate::value_size::MAX_VALUE_BYTES) {
                    return Err(Failure::Error(jmespath::JmespathError::from_ctx(
                        ctx,
                        ErrorReason::Parse(format!(
                            "{}a compared value: {}",
                            functions::ERROR_MARKER,
                            crate::value_size::too_large("it")
                        )),
                    )));
                }
            }
            Ok(left
                .compare(comparator, &right)
                .map_or_else(null, |result| Rcvar::new(Variable::Bool(result))))
        }
        Ast::ObjectValues { node, .. } => {
            let subject = lenient(interpret(data, node, ctx))?;
            if let Some(map) = subject.as_object() {
                charge(map.len(), ctx)?;
            }
            Ok(match subject.as_object() {
                Some(map) => Rcvar::new(Variable::Array(map.values().cloned().collect())),
                None => null(),
            })
        }
        Ast::Projection { lhs, rhs, .. } => {
            let filter = matches!(**rhs, Ast::Condition { .. });
            let left = match interpret(data, lhs, ctx) {
                Ok(left) => left,
                Err(_) if filter => return Ok(null()),
                Err(Failure::NotFound(_)) => null(),
                Err(err) => return Err(err),
            };
            let Some(items) = left.as_array() else {
                return Ok(null());
            };
            let mut collected = Vec::new();
            for item in items {
                let current = lenient(interpret(item, rhs, ctx))?;
                if !current.is_null() {
                    collected.push(current);
                }
            }
            Ok(Rcvar::new(Variable::Array(collected)))
        }
        Ast::Flatten { node, .. } => {
            let Ok(left) = interpret(data, node, ctx) else {
                return Ok(null());
            };
            let Some(items) = left.as_array() else {
                return Ok(null());
            };
            let mut collected = Vec::new();
            for item in items {
                match item.as_array() {
                    Some(inner) => {
                        charge(inner.len(), ctx)?;
                        collected.extend(inner.iter().cloned());
                    }
                    None => collected.push(item.clone()),
                }
            }
            Ok(Rcvar::new(Variable::Array(collected)))
        }
        Ast::MultiList { elements, .. } => {
            if data.is_null() {
                return Ok(null());
            }
            let mut collected = Vec::with_capacity(elements.len());
            for element in elements {
                collected.push(lenient(interpret(data, element, ctx))?);
            }
            Ok(Rcvar::new(Variable::Array(collected)))
        }
        Ast::MultiHash { elements, .. } => {
            if data.is_null() {
                return Ok(null());
            }
            let mut collected = std::collections::BTreeMap::new();
            for pair in elements {
                collected.insert(
                    pair.key.clone(),
                    lenient(interpret(data, &pair.value, ctx))?,
                );
            }
            Ok(Rcvar::new(Variable::Object(collected)))
        }
        Ast::Function { name, args, offset } => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(lenient(interpret(data, arg, ctx))?);
            }
            ctx.offset = *offset;
            match ctx.runtime.get_function(name) {
                Some(function) => Ok(function.evaluate(&values, ctx)?),
                None => Err(Failure::Error(jmespath::JmespathError::from_ctx(
                    ctx,
                    ErrorReason::Runtime(RuntimeError::UnknownFunction(name.clone())),
                ))),
            }
        }
        Ast::Expref { ast, .. } => Ok(Rcvar::new(Variable::Expref(*ast.clone()))),
        Ast::Slice {
            start,
            stop,
            step,
            offset,
        } => {
            if *step == 0 {
                ctx.offset = *offset;
                return Err(Failure::Error(jmespath::JmespathError::from_ctx(
                    ctx,
                    ErrorReason::Runtime(RuntimeError::InvalidSlice),
                )));
            }
            if let Some(items) = data.as_array() {
                charge(items.len(), ctx)?;
            }
            Ok(data
                .slice(*start, *stop, *step)
                .map_or_else(null, |items| Rcvar::new(Variable::Array(items))))
        }
    }
}

/// Checks that `expression` parses, without evaluating it.
pub(crate) fn validate(expression: &str) -> Result<(), JmespathError> {
    compile(expression).map(|_| ())
}

/// Names of the Kyverno functions registered on top of the JMESPath built-ins.
#[cfg(test)]
pub(crate) fn kyverno_function_names() -> Vec<&'static str> {
    functions::all().iter().map(|f| f.name).collect()
}

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    let mut runtime = Runtime::new();
    runtime.register_builtin_functions();
    // Registered after the built-ins so Kyverno's `sum` and Go-style
    // `to_string` replace the crate's, as the fork's registry does.
    for function in functions::all() {
        runtime.register_function(function.name, Box::new(function));
    }
    runtime.register_function("to_string", Box::new(convert::GoToString));
    runtime.register_function("join", Box::new(functions::BoundedJoin::default()));
    runtime
});

/// Bound on cached expressions: policies hold a bounded set, but text built
/// by earlier substitution is not, so the cache is emptied when it fills.
const CACHE_LIMIT: usize = 8192;

type Cache = RwLock<HashMap<String, Arc<Expression<'static>>>>;
static CACHE: LazyLock<Cache> = LazyLock::new(|| RwLock::new(HashMap::new()));

fn compile(expression: &str) -> Result<Arc<Expression<'static>>, JmespathError> {
    if let Ok(cache) = CACHE.read() {
        if let Some(found) = cache.get(expression) {
            return Ok(found.clone());
        }
    }
    // The parser and the interpreter recurse once per operator.
    let depth = crate::nesting::measure(expression, crate::nesting::Language::Jmespath);
    if depth.operators > crate::nesting::JMESPATH_MAX_OPERATORS {
        return Err(JmespathError::Parse {
            expression: expression.to_string(),
            message: format!(
                "it holds {} operators, more than the {} polscan evaluates",
                depth.operators,
                crate::nesting::JMESPATH_MAX_OPERATORS
            ),
        });
    }
    let compiled = Arc::new(
        RUNTIME
            .compile(expression)
            .map_err(|e| JmespathError::from_crate(expression, e))?,
    );
    // A poisoned lock only means another thread panicked mid-insert; the map
    // itself is still usable.
    let mut cache = CACHE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(expression.to_string(), compiled.clone());
    Ok(compiled)
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod corpus_tests;
