//! Regular expressions as Go's `regexp` (RE2 syntax) accepts them: a
//! pattern enters, a compiled `regex::Regex` or the error text leaves.
//! Kyverno's JMESPath functions and CEL's `matches`/`find` compile with
//! Go's package; the `regex` crate reads the same syntax but accepts
//! repetitions Go refuses, so those are checked here first — our own code
//! because Go's limits (regexp/syntax/parse.go `repeat`, `repeatIsValid`)
//! are what a policy's result depends on.

use regex_syntax::ast::{Ast, RepetitionKind, RepetitionRange};

/// The largest count Go's parser takes in `x{n}`, `x{n,}`, `x{n,m}`, and
/// the most copies nested counts may multiply to.
const MAX_REPEAT: u32 = 1000;

/// `pattern` compiled, or the error: Go's `invalid repeat count` for a
/// count past [`MAX_REPEAT`] (`a{1001}`, `(a{100}){11}`), else the `regex`
/// crate's own.
pub fn compile(pattern: &str) -> Result<regex::Regex, String> {
    if let Some(operator) = repeat_past_go_limit(pattern) {
        return Err(format!("invalid repeat count: `{operator}`"));
    }
    regex::Regex::new(pattern).map_err(|err| err.to_string())
}

/// The text of the first repetition operator Go refuses (`{99999}`).
/// A pattern the AST parser refuses is left to the compiler's error.
fn repeat_past_go_limit(pattern: &str) -> Option<String> {
    let ast = regex_syntax::ast::parse::Parser::new()
        .parse(pattern)
        .ok()?;
    let mut found = None;
    check(&ast, (MAX_REPEAT, None), pattern, &mut found);
    found
}

/// Walks `ast` as Go's `repeatIsValid` does, with `budget` copies left
/// under `outer`, the outermost counted repetition's operator, which Go
/// names when the nesting is past its limit (it checks as it parses the
/// outer one).
fn check(
    ast: &Ast,
    (budget, outer): (u32, Option<&str>),
    pattern: &str,
    found: &mut Option<String>,
) {
    if found.is_some() {
        return;
    }
    match ast {
        Ast::Repetition(repetition) => {
            let mut budget = budget;
            let mut outer = outer;
            if let RepetitionKind::Range(range) = &repetition.op.kind {
                let (min, max) = match *range {
                    RepetitionRange::Exactly(n) => (n, Some(n)),
                    RepetitionRange::AtLeast(n) => (n, None),
                    RepetitionRange::Bounded(min, max) => (min, Some(max)),
                };
                let operator = pattern
                    .get(repetition.op.span.start.offset..repetition.op.span.end.offset)
                    .unwrap_or_default()
                    .trim_end_matches('?');
                if min > MAX_REPEAT || max.is_some_and(|max| max > MAX_REPEAT) {
                    *found = Some(operator.to_string());
                    return;
                }
                if outer.is_none() && (min >= 2 || max.is_some_and(|max| max >= 2)) {
                    outer = Some(operator);
                }
                // Go: a max of 0 ends the check; no max counts the min.
                let copies = max.unwrap_or(min);
                if max == Some(0) {
                    return;
                }
                if copies > budget {
                    *found = Some(outer.unwrap_or(operator).to_string());
                    return;
                }
                // Go divides by a count above 0 only (`x{0,}` keeps it).
                budget = budget.checked_div(copies).unwrap_or(budget);
            }
            check(&repetition.ast, (budget, outer), pattern, found);
        }
        Ast::Group(group) => check(&group.ast, (budget, outer), pattern, found),
        Ast::Concat(concat) => {
            for ast in &concat.asts {
                check(ast, (budget, outer), pattern, found);
            }
        }
        Ast::Alternation(alternation) => {
            for ast in &alternation.asts {
                check(ast, (budget, outer), pattern, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// red22 F13: Go refuses what the regex crate took.
    #[test]
    fn counts_go_refuses_are_refused() {
        for (pattern, operator) in [
            ("a{99999}", "{99999}"),
            ("a{1001}", "{1001}"),
            ("a{2,1001}", "{2,1001}"),
            ("a{1001,}", "{1001,}"),
            ("(a{100}){11}", "{11}"),
            ("((a{10}){10}){11}", "{11}"),
            ("x|(b{2}){501}", "{501}"),
            ("a{1001}?", "{1001}"),
        ] {
            let err = compile(pattern).expect_err(pattern);
            assert_eq!(
                err,
                format!("invalid repeat count: `{operator}`"),
                "{pattern}"
            );
        }
    }

    #[test]
    fn counts_go_takes_compile() {
        for pattern in [
            "a{1000}",
            "(a{10}){100}",
            "(a*){1000}",
            "^[a-z0-9]{6}$",
            "(a{0}){1000}",
            "a{2}b{1000}",
            "x{0,1000}",
        ] {
            assert!(compile(pattern).is_ok(), "{pattern}");
        }
        assert!(compile("(").is_err());
    }
}
