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
    compile_sized(pattern).map(|(compiled, _)| compiled)
}

/// The compiled size past which a pattern is not kept in a cache: caches
/// of 256 or 1024 patterns of up to 64 MiB each held gigabytes
/// (`\pL{500}` with a different suffix per element; hunt27 F12, F13).
pub const CACHED_SIZE_LIMIT: usize = 1 << 20;

/// [`compile`], and whether the program is small enough to cache (within
/// [`CACHED_SIZE_LIMIT`]).
pub fn compile_sized(pattern: &str) -> Result<(regex::Regex, bool), String> {
    let pattern = translate(pattern)?;
    if let Some(operator) = repeat_past_go_limit(&pattern) {
        return Err(format!("invalid repeat count: `{operator}`"));
    }
    if let Ok(small) = regex::RegexBuilder::new(&pattern)
        .size_limit(CACHED_SIZE_LIMIT)
        .build()
    {
        return Ok((small, true));
    }
    // Go compiles what its counts allow (at most 1000 copies); the
    // crate's default 10 MiB refused `[\p{L}\p{N}]{1,253}` (red25 F14).
    regex::RegexBuilder::new(&pattern)
        .size_limit(64 << 20)
        .build()
        .map(|large| (large, false))
        .map_err(|err| err.to_string())
}

/// `pattern` rewritten where the `regex` crate reads Go's syntax
/// otherwise (regexp/syntax/parse.go, perl_groups.go), or Go's error:
/// - `\d \w \s \b` and their negations are ASCII in Go (`\s` is
///   `[\t\n\f\r ]`), Unicode in the crate: written as Go's classes
///   (red25 F14: `'é'.matches('^\\w$')` was true);
/// - a `{` that does not begin a valid count (`{,5}`, `{01}`, `{ 1}`,
///   `{{`) is a literal in Go, an error in the crate (F9: `^{{.*}}$`);
/// - a repetition of a repetition (`a**`, `a{2}{1}`) is Go's error
///   "invalid nested repetition operator", which the crate took;
/// - `\Q…\E` is literal text in Go;
/// - in a class, `[` not opening `[:name:]` and `&&`, `~~` are literals
///   in Go, nesting and set operators in the crate.
fn translate(pattern: &str) -> Result<String, String> {
    const CLASSES: [(char, &str); 6] = [
        ('d', "[0-9]"),
        ('D', "[^0-9]"),
        ('w', "[0-9A-Za-z_]"),
        ('W', "[^0-9A-Za-z_]"),
        ('s', r"[\t\n\f\r ]"),
        ('S', r"[^\t\n\f\r ]"),
    ];
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    // Inside `[…]`: where its content began (a `]` there is a literal).
    let mut class_start: Option<usize> = None;
    // The end (in `chars`) of the last repetition operator written, and
    // where it began, for Go's nested-repetition check.
    let mut last_repeat: Option<(usize, usize)> = None;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                return Err("trailing backslash at end of expression".into());
            };
            if let Some((_, class)) = CLASSES.iter().find(|(letter, _)| *letter == next) {
                out.push_str(class);
                i += 2;
                continue;
            }
            if class_start.is_none() && matches!(next, 'b' | 'B') {
                out.push_str(if next == 'b' {
                    r"(?-u:\b)"
                } else {
                    r"(?-u:\B)"
                });
                i += 2;
                continue;
            }
            if next == 'Q' && class_start.is_none() {
                let rest: String = chars[i + 2..].iter().collect();
                let (literal, after) = match rest.find(r"\E") {
                    Some(end) => (&rest[..end], end + 2),
                    None => (rest.as_str(), rest.len()),
                };
                out.push_str(&regex::escape(literal));
                i += 2 + rest[..after].chars().count();
                last_repeat = None;
                continue;
            }
            // `\p{Greek}`, `\x{10FFFF}`: the braces are the escape's.
            let mut end = i + 2;
            if matches!(next, 'p' | 'P' | 'x') && chars.get(i + 2) == Some(&'{') {
                while end < chars.len() && chars[end] != '}' {
                    end += 1;
                }
                end = (end + 1).min(chars.len());
            }
            out.extend(&chars[i..end]);
            i = end;
            last_repeat = None;
            continue;
        }
        if let Some(start) = class_start {
            match c {
                ']' if i > start => class_start = None,
                '[' if chars.get(i + 1) == Some(&':') => {
                    // A POSIX class `[:alpha:]`: copied to its `:]`.
                    let mut end = i + 2;
                    while end + 1 < chars.len() && !(chars[end] == ':' && chars[end + 1] == ']') {
                        end += 1;
                    }
                    let end = (end + 2).min(chars.len());
                    out.extend(&chars[i..end]);
                    i = end;
                    continue;
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                    i += 1;
                    continue;
                }
                _ => {}
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                let mut start = i + 1;
                if chars.get(start) == Some(&'^') {
                    start += 1;
                }
                class_start = Some(start);
                out.extend(&chars[i..start]);
                i = start;
                last_repeat = None;
                continue;
            }
            '*' | '+' | '?' | '{' => {
                // A repetition operator (a `{` only when it begins a valid
                // count; else it is a literal), with its lazy `?`.
                let end = match c {
                    '{' => go_repeat_end(&chars, i),
                    _ => Some(i + 1),
                };
                let Some(mut end) = end else {
                    out.push_str(r"\{");
                    last_repeat = None;
                    i += 1;
                    continue;
                };
                if chars.get(end) == Some(&'?') {
                    end += 1;
                }
                if let Some((from, _)) = last_repeat.filter(|(_, at)| *at == i) {
                    let text: String = chars[from..end].iter().collect();
                    return Err(format!("invalid nested repetition operator: `{text}`"));
                }
                out.extend(&chars[i..end]);
                last_repeat = Some((i, end));
                i = end;
                continue;
            }
            _ => out.push(c),
        }
        last_repeat = None;
        i += 1;
    }
    Ok(out)
}

/// Past the `}` of a count Go's `parseRepeat` takes at `chars[open]`
/// (`{n}`, `{n,}`, `{n,m}`; no sign, space or leading zero), or None: the
/// `{` is then a literal.
fn go_repeat_end(chars: &[char], open: usize) -> Option<usize> {
    let number = |from: usize| {
        let digits = chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let leading_zero = digits > 1 && chars[from] == '0';
        (digits > 0 && !leading_zero).then_some(from + digits)
    };
    let mut at = number(open + 1)?;
    if chars.get(at) == Some(&',') {
        at += 1;
        if chars.get(at).is_some_and(char::is_ascii_digit) {
            at = number(at)?;
        }
    }
    (chars.get(at) == Some(&'}')).then_some(at + 1)
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

    /// red25 F9 and F14: what Go's parser reads otherwise than the crate.
    #[test]
    fn patterns_read_as_go_reads_them() {
        let matches = |pattern: &str, text: &str| {
            compile(pattern)
                .unwrap_or_else(|err| panic!("{pattern}: {err}"))
                .is_match(text)
        };
        for (pattern, text) in [
            ("^{{.*}}$", "{{x}}"),
            ("^a{$", "a{"),
            ("^a{,5}$", "a{,5}"),
            ("^x{1,2$", "x{1,2"),
            ("^a{01}$", "a{01}"),
            ("^a{1,02}$", "a{1,02}"),
            ("^a{ 1}$", "a{ 1}"),
            (r"^\Qa{1001}.\E$", "a{1001}."),
            (r"\Qa{1001}\E|x", "x"),
            (r"a\b", "aé"),
            (r"^[\w.-]+$", "web-1.x"),
            (r"^\d+$", "0123"),
            (r"^[[:alpha:]]+$", "abc"),
            (r"^\p{Greek}+$", "αβ"),
            ("^a{2}b{1,}c{0,1}?$", "aabc"),
            ("^[]a]+$", "]a"),
            ("^[[a]+$", "[a"),
            ("^[a&&b]+$", "a&b"),
            (r"^\x{41}$", "A"),
        ] {
            assert!(matches(pattern, text), "{pattern} should match {text:?}");
        }
        for (pattern, text) in [
            (r"^\w$", "é"),
            (r"^\d$", "١"),
            (r"^\s$", "\u{a0}"),
            (r"^\s$", "\u{b}"),
            (r"^[\w]$", "é"),
            (r"^\Qa.\E$", "ab"),
        ] {
            assert!(
                !matches(pattern, text),
                "{pattern} should not match {text:?}"
            );
        }
        for (pattern, error) in [
            ("^a**$", "invalid nested repetition operator: `**`"),
            ("^a{2}{1}$", "invalid nested repetition operator: `{2}{1}`"),
            ("a+*", "invalid nested repetition operator: `+*`"),
            ("a*??", "invalid nested repetition operator: `*??`"),
        ] {
            assert_eq!(compile(pattern).err().as_deref(), Some(error), "{pattern}");
        }
        for pattern in [
            r"^\w{1000}$",
            r"^(\w{100}){10}$",
            r"^[\w\d]{500}$",
            r"^[\p{L}\p{N}]{1,253}$",
        ] {
            assert!(compile(pattern).is_ok(), "{pattern}");
        }
    }
}

#[cfg(test)]
mod sized_tests {
    use super::*;

    /// hunt27 F12, F13: a program past the cache's size limit is compiled
    /// (Go compiles it) but marked not to be cached.
    #[test]
    fn large_programs_are_marked_not_to_be_cached() {
        let (small, cached) = compile_sized("^[a-z]+:[0-9.]+$").expect("compiles");
        assert!(cached && small.is_match("nginx:1.2"));
        let (large, cached) = compile_sized(r"\pL{500}").expect("compiles");
        assert!(!cached);
        assert!(!large.is_match("abc"));
    }
}
