//! The shared CEL environment: the standard functions, the Kubernetes CEL
//! libraries (kube-cel, with the fixes where it differs from Kubernetes),
//! Kyverno's libraries and cel-go's optional semantics, registered once per process. Every [`super::Activation`] is a
//! child scope of it, so evaluating an expression registers nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use kube_cel::cel::extractors::This;
use kube_cel::cel::{ExecutionError, FunctionContext};
use kube_cel::{cel, KubeCelExt};

use super::{accumulate, arithmetic, budget, kubernetes_fixes, kyverno_lib, optional, quantifiers};

static ENVIRONMENT: LazyLock<cel::Context<'static>> = LazyLock::new(|| {
    let mut ctx = cel::Context::default().with_all();
    kubernetes_fixes::register(&mut ctx);
    ctx.add_function("orValue", optional::or_value);
    ctx.add_function("or", optional::or);
    ctx.add_function(optional::OPTIONAL_INDEX, optional::optional_index);
    ctx.add_function("matches", matches);
    ctx.add_function(arithmetic::ADD, arithmetic::add);
    ctx.add_function(arithmetic::SUBTRACT, arithmetic::subtract);
    ctx.add_function(arithmetic::NEGATE, arithmetic::negate);
    ctx.add_function(quantifiers::EXISTS_STEP, quantifiers::exists_step);
    ctx.add_function(quantifiers::ALL_STEP, quantifiers::all_step);
    ctx.add_function(quantifiers::EXISTS_GOES_ON, quantifiers::exists_goes_on);
    ctx.add_function(quantifiers::ALL_GOES_ON, quantifiers::all_goes_on);
    ctx.add_function(quantifiers::RESULT, quantifiers::result);
    ctx.add_function(accumulate::NEW_LIST, accumulate::new_list);
    ctx.add_function(accumulate::PUSH, accumulate::push);
    ctx.add_function(accumulate::LIST, accumulate::list);
    ctx.add_function(budget::STEP, budget::step);
    ctx.add_function(budget::CHARGED, budget::charged);
    kyverno_lib::register(&mut ctx);
    ctx
});

pub(crate) fn shared() -> &'static cel::Context<'static> {
    &ENVIRONMENT
}

/// How many compiled patterns each thread keeps for [`matches`].
const CACHED_PATTERNS: usize = 256;

thread_local! {
    /// Patterns compiled by this thread, or the error compiling gave.
    static PATTERNS: RefCell<HashMap<String, Result<regex::Regex, String>>> =
        RefCell::new(HashMap::new());
}

/// The `cel` crate's `matches` (same regex crate, same result and error
/// message), with each pattern compiled once per thread instead of on every
/// call: policies match every container image against the same few.
fn matches(
    ftx: &FunctionContext,
    This(this): This<Arc<String>>,
    regex: Arc<String>,
) -> Result<bool, ExecutionError> {
    let outcome = PATTERNS.with(|patterns| {
        let mut patterns = patterns.borrow_mut();
        if let Some(compiled) = patterns.get(regex.as_str()) {
            return compiled
                .as_ref()
                .map(|re| (re.is_match(&this), false))
                .map_err(Clone::clone);
        }
        if patterns.len() >= CACHED_PATTERNS {
            patterns.clear();
        }
        let compiled = crate::go_regexp::compile_sized(&regex);
        let outcome = compiled
            .as_ref()
            .map(|(re, _)| re.is_match(&this))
            .map_err(Clone::clone);
        match compiled {
            // A large program is compiled again when met again, and each
            // compile is charged to the evaluation's cost (hunt27 F12: a
            // new `\pL{500}` pattern per element took hours).
            Ok((_, false)) => return outcome.map(|matched| (matched, true)),
            compiled => {
                patterns.insert(regex.to_string(), compiled.map(|(re, _)| re));
            }
        }
        outcome.map(|matched| (matched, false))
    });
    let (matched, large) =
        outcome.map_err(|err| ftx.error(format!("'{regex}' not a valid regex:\n{err}")))?;
    if large {
        super::budget::charge("matches", LARGE_PATTERN_COST)?;
    }
    Ok(matched)
}

/// What compiling a pattern past [`crate::go_regexp::CACHED_SIZE_LIMIT`]
/// is charged: about the time of 10^4 comprehension steps, so an
/// expression compiles at most 100 of them.
const LARGE_PATTERN_COST: u64 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached `matches` answers as the `cel` crate's own, compiled
    /// pattern or not, valid pattern or not, called as method or function.
    #[test]
    fn cached_matches_answers_as_cels_own() {
        let own = cel::Context::default();
        let expressions = [
            "'nginx:1.2'.matches('^[a-z]+:[0-9.]+$')",
            "'nginx:latest'.matches('^[a-z]+:[0-9.]+$')",
            "'nginx:1.2'.matches('^[a-z]+:[0-9.]+$')",
            "matches('abc', 'b')",
            "'abc'.matches('(')",
            "'abc'.matches('(')",
            "'x'.matches(1)",
            "1.matches('x')",
        ];
        for expression in expressions {
            let ast = cel::parser::Parser::new()
                .parse(expression)
                .expect("parses");
            let ours = cel::Value::resolve(&ast, shared()).map_err(|e| e.to_string());
            let theirs = cel::Value::resolve(&ast, &own).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{expression}");
        }
    }
}
