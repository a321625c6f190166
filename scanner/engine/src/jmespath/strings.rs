//! String and pattern functions: compare, equal_fold, replace, replace_all,
//! to_upper, to_lower, trim, trim_prefix, split, regex_replace_all,
//! regex_replace_all_literal, regex_match, pattern_match, to_boolean,
//! truncate and path_canonicalize.
//!
//! Each takes the crate's string/number variables and returns a string,
//! bool, number or array variable, with Go's `strings` package semantics.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use jmespath::{Rcvar, Variable};
use regex::{NoExpand, Regex};

use super::functions::{any, float, number, number_text, string, Arg, KyvernoFunction};
use crate::value_types::wildcard;

pub(super) const FUNCTIONS: &[KyvernoFunction] = &[
    KyvernoFunction {
        name: "compare",
        args: &[Arg::String, Arg::String],
        handler: compare,
    },
    KyvernoFunction {
        name: "equal_fold",
        args: &[Arg::String, Arg::String],
        handler: equal_fold,
    },
    KyvernoFunction {
        name: "replace",
        args: &[Arg::String, Arg::String, Arg::String, Arg::Number],
        handler: replace,
    },
    KyvernoFunction {
        name: "replace_all",
        args: &[Arg::String, Arg::String, Arg::String],
        handler: replace_all,
    },
    KyvernoFunction {
        name: "to_upper",
        args: &[Arg::String],
        handler: to_upper,
    },
    KyvernoFunction {
        name: "to_lower",
        args: &[Arg::String],
        handler: to_lower,
    },
    KyvernoFunction {
        name: "trim",
        args: &[Arg::String, Arg::String],
        handler: trim,
    },
    KyvernoFunction {
        name: "trim_prefix",
        args: &[Arg::String, Arg::String],
        handler: trim_prefix,
    },
    KyvernoFunction {
        name: "split",
        args: &[Arg::String, Arg::String],
        handler: split,
    },
    KyvernoFunction {
        name: "regex_replace_all",
        args: &[Arg::String, Arg::StringOrNumber, Arg::StringOrNumber],
        handler: regex_replace_all,
    },
    KyvernoFunction {
        name: "regex_replace_all_literal",
        args: &[Arg::String, Arg::StringOrNumber, Arg::StringOrNumber],
        handler: regex_replace_all_literal,
    },
    KyvernoFunction {
        name: "regex_match",
        args: &[Arg::String, Arg::StringOrNumber],
        handler: regex_match,
    },
    KyvernoFunction {
        name: "pattern_match",
        args: &[Arg::String, Arg::StringOrNumber],
        handler: pattern_match,
    },
    KyvernoFunction {
        name: "to_boolean",
        args: &[Arg::String],
        handler: to_boolean,
    },
    KyvernoFunction {
        name: "truncate",
        args: &[Arg::String, Arg::Number],
        handler: truncate,
    },
    KyvernoFunction {
        name: "path_canonicalize",
        args: &[Arg::String],
        handler: path_canonicalize,
    },
];

fn text(value: String) -> Result<Variable, String> {
    Ok(Variable::String(value))
}

fn compare(args: &[Rcvar]) -> Result<Variable, String> {
    let ordering = string(args, 0)?.cmp(string(args, 1)?);
    float(ordering as i8 as f64)
}

fn equal_fold(args: &[Rcvar]) -> Result<Variable, String> {
    let (a, b) = (string(args, 0)?, string(args, 1)?);
    Ok(Variable::Bool(
        a.chars().count() == b.chars().count()
            && a.chars().zip(b.chars()).all(|(x, y)| fold_equal(x, y)),
    ))
}

/// Go's `EqualFold` compares runes under simple case folding: equal, or equal
/// once both are mapped to the same case.
fn fold_equal(a: char, b: char) -> bool {
    a == b || simple_lower(a) == simple_lower(b) || simple_upper(a) == simple_upper(b)
}

/// Go's `unicode.ToLower`: one rune to one rune; multi-rune mappings don't apply.
fn simple_lower(c: char) -> char {
    let mut mapped = c.to_lowercase();
    match (mapped.next(), mapped.next()) {
        (Some(single), None) => single,
        _ => c,
    }
}

fn simple_upper(c: char) -> char {
    let mut mapped = c.to_uppercase();
    match (mapped.next(), mapped.next()) {
        (Some(single), None) => single,
        _ => c,
    }
}

fn replace(args: &[Rcvar]) -> Result<Variable, String> {
    let (s, old, new) = (string(args, 0)?, string(args, 1)?, string(args, 2)?);
    // Go converts with int(): truncation toward zero; negative means all.
    let n = number(args, 3)?;
    if n < 0.0 {
        bounded_replace(s, old, new, usize::MAX)?;
        return text(s.replace(old, new));
    }
    let n = if n >= usize::MAX as f64 {
        usize::MAX
    } else {
        n as usize
    };
    bounded_replace(s, old, new, n)?;
    text(s.replacen(old, new, n))
}

fn replace_all(args: &[Rcvar]) -> Result<Variable, String> {
    let (s, old, new) = (string(args, 0)?, string(args, 1)?, string(args, 2)?);
    bounded_replace(s, old, new, usize::MAX)?;
    text(s.replace(old, new))
}

/// Refuses a replacement whose result would pass the value bound, before
/// it is built (hunt27 F27: `replace_all` of a 1 MB text built a 2 GB
/// string and aborted); the length follows from the occurrences (Go's
/// empty `old` matches before every character and at the end).
fn bounded_replace(s: &str, old: &str, new: &str, most: usize) -> Result<(), String> {
    let occurrences = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    }
    .min(most);
    let length =
        (s.len() - occurrences * old.len()).saturating_add(occurrences.saturating_mul(new.len()));
    if length > crate::value_size::MAX_VALUE_BYTES {
        return Err(crate::value_size::too_large("the result"));
    }
    Ok(())
}

fn to_upper(args: &[Rcvar]) -> Result<Variable, String> {
    text(string(args, 0)?.chars().map(simple_upper).collect())
}

fn to_lower(args: &[Rcvar]) -> Result<Variable, String> {
    text(string(args, 0)?.chars().map(simple_lower).collect())
}

fn trim(args: &[Rcvar]) -> Result<Variable, String> {
    let (s, cutset) = (string(args, 0)?, string(args, 1)?);
    // A set, not a scan of the cutset per character (hunt27 F26: 1 MB by
    // 1 MB took minutes).
    let cut: std::collections::HashSet<char> = cutset.chars().collect();
    text(s.trim_matches(|c| cut.contains(&c)).to_string())
}

fn trim_prefix(args: &[Rcvar]) -> Result<Variable, String> {
    let (s, prefix) = (string(args, 0)?, string(args, 1)?);
    text(s.strip_prefix(prefix).unwrap_or(s).to_string())
}

fn split(args: &[Rcvar]) -> Result<Variable, String> {
    let (s, sep) = (string(args, 0)?, string(args, 1)?);
    // Bounded before the parts are built (hunt27 F14: splitting 16 MB
    // around every character made 16M strings, 1.9 GB).
    let count = if sep.is_empty() {
        s.chars().count()
    } else {
        s.matches(sep).count() + 1
    };
    let written = s
        .len()
        .saturating_add(count.saturating_mul(crate::value_size::NODE_BYTES));
    if written > crate::value_size::MAX_VALUE_BYTES {
        return Err(crate::value_size::too_large("the result"));
    }
    // Go splits around every rune for an empty separator, with no empty ends.
    let parts: Vec<String> = if sep.is_empty() {
        s.chars().map(String::from).collect()
    } else {
        s.split(sep).map(String::from).collect()
    };
    Ok(Variable::Array(
        parts
            .into_iter()
            .map(|p| Rcvar::new(Variable::String(p)))
            .collect(),
    ))
}

/// Kyverno's `ifaceToString` for string-or-number arguments.
fn string_or_number(args: &[Rcvar], index: usize) -> Result<String, String> {
    match any(args, index)?.as_ref() {
        Variable::String(s) => Ok(s.clone()),
        Variable::Number(n) => Ok(number_text(n.as_f64().unwrap_or(0.0))),
        Variable::Bool(b) => Ok(b.to_string()),
        _ => Err(format!(
            "argument #{} is not of type String or Real",
            index + 1
        )),
    }
}

/// The steps one compile of a regex too large to cache counts for: a
/// thousand such compiles reach one evaluation's bound.
const LARGE_REGEX_COMPILE_STEPS: u64 = 10_000;

/// Compiled regexes by pattern text; policies reuse a handful of patterns.
static REGEXES: LazyLock<RwLock<HashMap<String, Arc<Regex>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

pub(super) fn regex(pattern: &str) -> Result<Arc<Regex>, String> {
    if let Ok(cache) = REGEXES.read() {
        if let Some(found) = cache.get(pattern) {
            return Ok(found.clone());
        }
    }
    let (compiled, small) = crate::go_regexp::compile_sized(pattern).map_err(|e| {
        format!("error parsing regexp `{pattern}`: {e}")
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join(" ")
    })?;
    let compiled = Arc::new(compiled);
    if !small {
        // Not cached, so compiled again for every element a projection
        // feeds it: each compile counts as work (hunt27, after F12/F13).
        super::charge_later(LARGE_REGEX_COMPILE_STEPS);
        return Ok(compiled);
    }
    let mut cache = REGEXES.write().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= 1024 {
        cache.clear();
    }
    cache.insert(pattern.to_string(), compiled.clone());
    Ok(compiled)
}

fn regex_replace_all(args: &[Rcvar]) -> Result<Variable, String> {
    let re = regex(string(args, 0)?)?;
    let (src, replacement) = (string_or_number(args, 1)?, string_or_number(args, 2)?);
    // Both Go and the regex crate expand `$1`, `${1}` and `$name`.
    text(bounded_replace_all(&re, &src, replacement.as_str())?)
}

fn regex_replace_all_literal(args: &[Rcvar]) -> Result<Variable, String> {
    let re = regex(string(args, 0)?)?;
    let (src, replacement) = (string_or_number(args, 1)?, string_or_number(args, 2)?);
    text(bounded_replace_all(&re, &src, NoExpand(&replacement))?)
}

/// `re.replace_all(src, replacement)`, refused once the result passes the
/// value bound while it is built (hunt27 F15: an empty-matching pattern
/// put the replacement between every character of 1 MB and built 2 GB).
fn bounded_replace_all<R: regex::Replacer>(
    re: &Regex,
    src: &str,
    mut replacement: R,
) -> Result<String, String> {
    let mut out = String::new();
    let mut last = 0;
    // The iteration replace_all makes, empty matches included.
    for captures in re.captures_iter(src) {
        let Some(whole) = captures.get(0) else {
            continue;
        };
        out.push_str(&src[last..whole.start()]);
        replacement.replace_append(&captures, &mut out);
        last = whole.end();
        if out.len() > crate::value_size::MAX_VALUE_BYTES {
            return Err(crate::value_size::too_large("the result"));
        }
    }
    out.push_str(&src[last..]);
    if out.len() > crate::value_size::MAX_VALUE_BYTES {
        return Err(crate::value_size::too_large("the result"));
    }
    Ok(out)
}

fn regex_match(args: &[Rcvar]) -> Result<Variable, String> {
    let re = regex(string(args, 0)?)?;
    Ok(Variable::Bool(re.is_match(&string_or_number(args, 1)?)))
}

fn pattern_match(args: &[Rcvar]) -> Result<Variable, String> {
    let pattern = string(args, 0)?;
    Ok(Variable::Bool(wildcard::matches(
        pattern,
        &string_or_number(args, 1)?,
    )))
}

fn to_boolean(args: &[Rcvar]) -> Result<Variable, String> {
    let input = string(args, 0)?;
    match input.to_lowercase().as_str() {
        "true" => Ok(Variable::Bool(true)),
        "false" => Ok(Variable::Bool(false)),
        _ => Err(format!(
            "lowercase argument must be 'true' or 'false' (provided: '{input}')"
        )),
    }
}

fn truncate(args: &[Rcvar]) -> Result<Variable, String> {
    let s = string(args, 0)?;
    let length = number(args, 1)?;
    // Negative lengths give ""; the cut counts runes, not bytes.
    let length = if length <= 0.0 { 0 } else { length as usize };
    text(s.chars().take(length).collect())
}

fn path_canonicalize(args: &[Rcvar]) -> Result<Variable, String> {
    let path = string(args, 0)?;
    // `filepath.Join` of one element: "" stays "", anything else is Cleaned.
    if path.is_empty() {
        return text(String::new());
    }
    text(clean_path(path))
}

/// Go's `path.Clean`: one slash between elements, no `.`, `..` folded into
/// its parent, `..` above the root dropped; an empty result is ".".
pub(super) fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for element in path.split('/') {
        match element {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::jmespath::test_support::{eval_on, fails};
    use serde_json::{json, Value};

    fn eval(expression: &str) -> Value {
        let data = json!({"name": "Hello World", "num": 42, "s": "a,b,,c"});
        eval_on(expression, &data)
    }

    #[test]
    fn compare_orders_strings() {
        assert_eq!(eval("compare('a', 'b')"), json!(-1));
        assert_eq!(eval("compare('b', 'a')"), json!(1));
        assert_eq!(eval("compare('a', 'a')"), json!(0));
        assert!(fails("compare('a', `1`)").contains("argument #2"));
    }

    #[test]
    fn equal_fold_ignores_case() {
        assert_eq!(eval("equal_fold('Go', 'GO')"), json!(true));
        assert_eq!(eval("equal_fold('Straße', 'STRASSE')"), json!(false));
        assert_eq!(eval("equal_fold('ÄB', 'äb')"), json!(true));
        assert_eq!(eval("equal_fold('a', 'ab')"), json!(false));
    }

    #[test]
    fn replace_counts_and_replace_all() {
        assert_eq!(eval("replace('aaaa', 'a', 'b', `2`)"), json!("bbaa"));
        assert_eq!(eval("replace('aaaa', 'a', 'b', `-1`)"), json!("bbbb"));
        assert_eq!(eval("replace('aaaa', 'a', 'b', `0`)"), json!("aaaa"));
        assert_eq!(eval("replace('abc', '', '-', `-1`)"), json!("-a-b-c-"));
        assert_eq!(eval("replace_all(name, 'o', '0')"), json!("Hell0 W0rld"));
        assert!(fails("replace('a', 'a', 'b', '1')").contains("argument #4"));
    }

    #[test]
    fn case_and_trim() {
        assert_eq!(eval("to_upper(name)"), json!("HELLO WORLD"));
        assert_eq!(eval("to_lower(name)"), json!("hello world"));
        // Go maps rune by rune: ß has no single-rune upper case.
        assert_eq!(eval("to_upper('straße')"), json!("STRAßE"));
        assert_eq!(eval("trim('--a-b--', '-')"), json!("a-b"));
        assert_eq!(eval("trim('  x ', ' ')"), json!("x"));
        assert_eq!(eval("trim('abc', '')"), json!("abc"));
        assert_eq!(eval("trim_prefix('prefix-x', 'prefix-')"), json!("x"));
        assert_eq!(eval("trim_prefix('x', 'prefix-')"), json!("x"));
        assert!(fails("to_lower(num)").contains("not of type string"));
    }

    #[test]
    fn split_like_go() {
        assert_eq!(eval("split(s, ',')"), json!(["a", "b", "", "c"]));
        assert_eq!(eval("split('abc', '')"), json!(["a", "b", "c"]));
        assert_eq!(eval("split('', ',')"), json!([""]));
        assert_eq!(eval("split('a::b', '::')"), json!(["a", "b"]));
    }

    #[test]
    fn regex_functions() {
        assert_eq!(eval("regex_match('^[0-9]+$', '123')"), json!(true));
        assert_eq!(eval("regex_match('^[0-9]+$', num)"), json!(true));
        assert_eq!(eval("regex_match('x', 'abc')"), json!(false));
        // Unanchored, like Go's regexp.Match.
        assert_eq!(eval("regex_match('b', 'abc')"), json!(true));
        assert_eq!(
            eval("regex_replace_all('([a-z]+)-([0-9]+)', 'abc-123', '${2}_$1')"),
            json!("123_abc")
        );
        assert_eq!(
            eval("regex_replace_all('([0-9])', num, '<$1>')"),
            json!("<4><2>")
        );
        assert_eq!(
            eval("regex_replace_all_literal('[0-9]', 'a1b2', '$1')"),
            json!("a$1b$1")
        );
        assert_eq!(eval("regex_replace_all('\\.', `1.5`, '_')"), json!("1_5"));
        assert!(fails("regex_match('(', 'x')").contains("regex_match"));
        assert!(fails("regex_replace_all('[', 'x', 'y')").contains("error parsing regexp"));
        assert!(fails("regex_match('a', `true`)").contains("argument #2"));
    }

    #[test]
    fn pattern_match_uses_wildcards() {
        assert_eq!(eval("pattern_match('Hello*', name)"), json!(true));
        assert_eq!(eval("pattern_match('H?llo World', name)"), json!(true));
        assert_eq!(eval("pattern_match('bye*', name)"), json!(false));
        assert_eq!(eval("pattern_match('4*', num)"), json!(true));
    }

    #[test]
    fn to_boolean_accepts_any_case() {
        assert_eq!(eval("to_boolean('TruE')"), json!(true));
        assert_eq!(eval("to_boolean('faLSE')"), json!(false));
        assert!(fails("to_boolean('yes')").contains("provided: 'yes'"));
        assert!(fails("to_boolean(`true`)").contains("argument #1"));
    }

    #[test]
    fn truncate_counts_runes() {
        assert_eq!(eval("truncate(name, `5`)"), json!("Hello"));
        assert_eq!(eval("truncate(name, `100`)"), json!("Hello World"));
        assert_eq!(eval("truncate(name, `-1`)"), json!(""));
        assert_eq!(eval("truncate('äöü', `2`)"), json!("äö"));
        assert!(fails("truncate('abc', '5')").contains("argument #2"));
    }

    #[test]
    fn path_canonicalize_cleans() {
        assert_eq!(
            eval("path_canonicalize('/a//b/./c/../d/')"),
            json!("/a/b/d")
        );
        assert_eq!(
            eval("path_canonicalize('//etc///passwd')"),
            json!("/etc/passwd")
        );
        assert_eq!(eval("path_canonicalize('/../x')"), json!("/x"));
        assert_eq!(eval("path_canonicalize('a/../..')"), json!(".."));
        assert_eq!(eval("path_canonicalize('./')"), json!("."));
        assert_eq!(eval("path_canonicalize('')"), json!(""));
    }
}
