//! A CEL expression compiled once, when its policy is loaded: the source
//! enters, a parsed and rewritten AST (cel-go's optional semantics, field
//! paths that borrow instead of copying) or the compile error is kept, and
//! every evaluation reuses it. Policies deserialize their expressions
//! straight into [`Program`], so no expression is parsed per resource.

use std::fmt;
use std::sync::Arc;

use kube_cel::cel;
use serde::{Deserialize, Deserializer};

use super::{
    accumulate, arithmetic, budget, declared, names, optional, paths, quantifiers, syntax, unary,
    Activation,
};

#[derive(Clone)]
pub(crate) struct Program {
    source: Arc<str>,
    compiled: Result<Arc<cel::IdedExpr>, String>,
    /// The names the expression reads ([`names::free_names`]).
    names: Arc<[String]>,
}

impl Program {
    /// Parses with optional syntax (`.?field`, `[?key]`), which Kubernetes
    /// CEL enables. A compile error is kept, not raised: the policy still
    /// loads and the expression gives an `error` result naming it.
    pub(crate) fn compile(source: &str) -> Program {
        let parsed = match lexer_error(source)
            .or_else(|| too_deep(source))
            .or_else(|| operand_missing(source))
            .or_else(|| syntax_error(source))
        {
            Some(error) => Err(error),
            None => parser()
                .parse(&crate_source(source))
                .map_err(|err| format!("compilation error: {}", parse_error_text(&err, source))),
        };
        let compiled = parsed.and_then(|mut ast| {
                // A message literal (a MutatingPolicy's `Object{...}`) makes
                // the cel crate panic; Kubernetes declares no message type
                // to a validation expression, so it does not compile there
                // either.
                if let Some(what) = names::unevaluable(&ast) {
                    return Err(format!(
                        "compilation error: {what} cannot be evaluated: object construction is not supported in validation expressions"
                    ));
                }
                // What cel-go's checker and planner refuse, refused here
                // too instead of failing every evaluation.
                if let Some(error) = declared::check(&ast) {
                    return Err(error);
                }
                quantifiers::rewrite(&mut ast);
                accumulate::rewrite(&mut ast);
                optional::rewrite(&mut ast);
                names::rewrite(&mut ast);
                paths::rewrite(&mut ast);
                arithmetic::rewrite(&mut ast);
                budget::rewrite(&mut ast);
                Ok(Arc::new(ast))
            });
        let names = match &compiled {
            Ok(ast) => names::free_names(ast).into_iter().collect(),
            Err(_) => Arc::from([]),
        };
        Program {
            source: source.into(),
            compiled,
            names,
        }
    }

    /// The names the expression reads, one variable as `variables.<name>`
    /// and the variables map as `variables` ([`names`]).
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The source, shared.
    pub(crate) fn source_arc(&self) -> Arc<str> {
        self.source.clone()
    }

    /// Whether the expression compiled and reads no name but `names`: then
    /// its value follows from what those names are bound to (the
    /// functions of the shared environment that read anything else, the
    /// clock or the cluster, are reached through names such as `time` or
    /// `resource`).
    pub(crate) fn reads_only(&self, names: &[&str]) -> bool {
        self.compiled.is_ok() && self.names.iter().all(|n| names.contains(&n.as_str()))
    }

    pub(crate) fn compile_error(&self) -> Option<&str> {
        self.compiled.as_ref().err().map(String::as_str)
    }

    /// The program as Kubernetes' CEL environment plans it, which Kyverno
    /// uses for ValidatingAdmissionPolicies and `validate.cel` rules: a
    /// constant `matches` pattern that does not compile is then a compile
    /// error ([`declared::kubernetes_planner_error`]).
    pub(crate) fn planned_by_kubernetes(&self) -> Program {
        if self.compiled.is_err() {
            return self.clone();
        }
        let error = parser()
            .parse(&crate_source(&self.source))
            .ok()
            .and_then(|ast| declared::kubernetes_planner_error(&ast));
        match error {
            Some(error) => Program {
                source: self.source.clone(),
                compiled: Err(error),
                names: Arc::from([]),
            },
            None => self.clone(),
        }
    }

    /// The same expression with its source rewritten (autogen), recompiled.
    pub(crate) fn rewritten(&self, rewrite: impl Fn(&str) -> String) -> Program {
        let source = rewrite(&self.source);
        if source == *self.source {
            return self.clone();
        }
        Program::compile(&source)
    }

    pub(crate) fn evaluate(&self, activation: &Activation<'_>) -> Result<cel::Value, String> {
        let ast = self.compiled.as_ref().map_err(Clone::clone)?;
        let reads_map = self.names.iter().any(|name| name == names::VARIABLES);
        let (value, exceeded) = budget::metered(|| cel::Value::resolve(ast, activation.context()));
        // cel-go's cancellation ends the evaluation whatever `||` or an
        // `exists` would have made of the error.
        if exceeded {
            return Err(budget::EXCEEDED.to_string());
        }
        let value = value.map_err(|err| activation.explain(error_text(&err), reads_map))?;
        // Kubernetes binds `variables` as a lazy map of every declared
        // name; a failed variable is missing from the map bound here, so
        // `'v' in variables` (or a macro over its keys) would decide on a
        // map it is not (rev27 F1: a FAIL). The value is not known: the
        // variable's error.
        if reads_map {
            if let Some(failed) = activation.failed_variable() {
                return Err(failed);
            }
        }
        Ok(value)
    }

    /// Evaluates a condition that must give a bool.
    pub(crate) fn evaluate_bool(&self, activation: &Activation<'_>) -> Result<bool, String> {
        match self.evaluate(activation)? {
            cel::Value::Bool(b) => Ok(b),
            other => Err(format!(
                "expression {:?} must evaluate to bool, got {}",
                crate::quoted::expression(&self.source),
                type_name(&other)
            )),
        }
    }
}

/// `source` as the cel crate is given it: the literals it misreads
/// rewritten ([`unary::literals_for_crate`]), even unary runs blanked
/// ([`unary::cancel_even_runs`]).
/// The AST of `source` as written, before the engine's rewrites, for
/// reading what it names ([`crate::reads`]); `None` when it does not
/// compile (the same refusals as [`Program::compile`]'s, checked first so
/// the parser never sees what could make it recover or recurse too deep).
pub(crate) fn parse_as_written(source: &str) -> Option<cel::IdedExpr> {
    if lexer_error(source)
        .or_else(|| too_deep(source))
        .or_else(|| operand_missing(source))
        .or_else(|| syntax_error(source))
        .is_some()
    {
        return None;
    }
    parser().parse(&crate_source(source)).ok()
}

fn crate_source(source: &str) -> String {
    unary::cancel_even_runs(&unary::literals_for_crate(source)).into_owned()
}

/// The parser as cel-go's Kubernetes environment configures it: optional
/// syntax, and the recursion cel-go allows (`maxRecursionDepth`, 250; the
/// crate's default was 96, which refused expressions nested 97 to 250 deep
/// that Kubernetes and Kyverno compile). [`too_deep`] refuses deeper ones
/// before parsing; what passes parses on the evaluation stack
/// ([`crate::nesting::EVALUATION_STACK`]).
fn parser() -> cel::parser::Parser {
    cel::parser::Parser::new()
        .enable_optional_syntax(true)
        .max_recursion_depth(crate::nesting::CEL_MAX_NESTING as u16)
}

/// The first lexer error ([`unary::lexer_error`]) as cel-go words it:
/// `Syntax error: token recognition error at: '…'` at the line and column
/// where the token it failed on starts, the quoted text bounded (an
/// unterminated literal can run to the end of a long expression).
fn lexer_error(source: &str) -> Option<String> {
    const SHOWN: usize = 40;
    let range = unary::lexer_error(source)?;
    let at = range.start;
    let text = source.get(range).unwrap_or_default();
    // ANTLR's getErrorDisplay escapes line breaks and tabs.
    let mut shown: String = text
        .chars()
        .take(SHOWN)
        .collect::<String>()
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    if text.chars().count() > SHOWN {
        shown.push('…');
    }
    Some(refusal(
        source,
        at,
        format!("Syntax error: token recognition error at: '{shown}'"),
    ))
}

/// The first syntax error ([`syntax::syntax_error`]) in cel-go's words:
/// `Syntax error: mismatched input 'X' expecting Y`.
fn syntax_error(source: &str) -> Option<String> {
    let error = syntax::syntax_error(source, &unary::lex(source))?;
    let found: String = error.found.chars().take(40).collect();
    Some(refusal(
        source,
        error.at,
        format!(
            "Syntax error: mismatched input '{found}' expecting {}",
            error.expected
        ),
    ))
}

/// A compile error at byte `at` of `source`, written as the parser's
/// errors are ([`parse_errors`]: line, column, the line and a caret).
fn refusal(source: &str, at: usize, msg: String) -> String {
    let before = source.get(..at).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let errors = cel::parser::ParseErrors {
        errors: vec![cel::parser::ParseError {
            source: None,
            pos: (
                isize::try_from(line).unwrap_or(isize::MAX),
                isize::try_from(column).unwrap_or(isize::MAX),
            ),
            msg,
            expr_id: 0,
            source_info: None,
        }],
    };
    format!("compilation error: {}", parse_errors(&errors, source))
}

/// A unary chain without its operand ([`unary::operand_missing`]), as a
/// syntax error at its line and column, in the form of cel-go's.
fn operand_missing(source: &str) -> Option<String> {
    let at = unary::operand_missing(source)?;
    let before = source.get(..at).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let found = source
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .map_or_else(|| "<EOF>".to_string(), |c| format!("'{c}'"));
    Some(format!(
        "compilation error: ERROR: <input>:{line}:{column}: Syntax error: mismatched input {found}: a unary '!' or '-' needs an operand"
    ))
}

/// Why `source` is refused before parsing: the parser, the AST walks and
/// the evaluator recurse once per level ([`crate::nesting`]).
fn too_deep(source: &str) -> Option<String> {
    use crate::nesting::{CEL_MAX_NESTING, MAX_OPERATORS};
    let depth = unary::depth(source);
    if depth.nesting > CEL_MAX_NESTING {
        // cel-go's parser says the same past its maxRecursionDepth.
        Some(format!(
            "compilation error: expression recursion limit exceeded: {CEL_MAX_NESTING}"
        ))
    } else if depth.operators > MAX_OPERATORS {
        Some(format!(
            "compilation error: the expression holds {} operators, more than the {MAX_OPERATORS} polscan evaluates",
            depth.operators
        ))
    } else {
        None
    }
}

/// The cel crate's parse errors as text. Its recursion limit arrives as a
/// Rust debug dump of its own error inside the parser's syntax error
/// (`Syntax error: OtherError(ParseError { … "Recursion limit of 96
/// exceeded" … })`): said plainly instead.
fn parse_error_text(err: &cel::parser::ParseErrors, source: &str) -> String {
    const LIMIT: &str = "Recursion limit of ";
    let recursion = err.errors.iter().find(|error| error.msg.contains(LIMIT));
    match recursion {
        // Set to cel-go's own limit ([`parser`]): its message.
        Some(_) => format!(
            "expression recursion limit exceeded: {}",
            crate::nesting::CEL_MAX_NESTING
        ),
        None => parse_errors(err, source),
    }
}

/// The most parse errors a compile error lists (one expression can make
/// the parser report one per token).
const ERRORS_SHOWN: usize = 10;

/// The parser's errors as the cel crate (and cel-go) word them — the
/// position, the reason, the line and a caret — but each line bounded to
/// the part around its error ([`crate::quoted::around`]), and at most
/// [`ERRORS_SHOWN`] of them: a kilobytes-long one-line expression was
/// echoed whole, twice per error (the line and the caret's dots).
fn parse_errors(errors: &cel::parser::ParseErrors, source: &str) -> String {
    let mut text = String::new();
    for (i, error) in errors.errors.iter().take(ERRORS_SHOWN).enumerate() {
        if i != 0 {
            text.push('\n');
        }
        let (line, column) = error.pos;
        text.push_str(&format!("ERROR: <input>:{line}:{column}: {}", error.msg));
        let snippet = usize::try_from(line - 1)
            .ok()
            .and_then(|index| source.lines().nth(index));
        if let (Some(snippet), Ok(column)) = (snippet, usize::try_from(column)) {
            let (shown, caret) = crate::quoted::around(snippet, column);
            text.push_str(&format!("\n| {shown}\n| {:.>caret$}", "^"));
        }
    }
    if errors.errors.len() > ERRORS_SHOWN {
        text.push_str(&format!(
            "\n… and {} more errors",
            errors.errors.len() - ERRORS_SHOWN
        ));
    }
    text
}

/// An evaluation error's text with every operand named by its type, not
/// written out: the cel crate's own text prints operands in Rust's Debug
/// form (`Unsupported binary operator 'div': Bytes([90, 113, …]), Int(2)`),
/// which put a decoded Secret into an error result past the redaction
/// (red22 F15). cel-go's messages name types too (`no such overload`).
pub(crate) fn error_text(error: &cel::ExecutionError) -> String {
    use cel::ExecutionError as E;
    match error {
        E::UnsupportedTargetType { target } => {
            format!("Invalid argument type: {}", type_name(target))
        }
        E::NotSupportedAsMethod { method, target } => {
            format!(
                "Method '{method}' not supported on type '{}'",
                type_name(target)
            )
        }
        E::UnsupportedKeyType(value) => {
            format!(
                "Unable to use a value of type '{}' as a key",
                type_name(value)
            )
        }
        E::ValuesNotComparable(a, b) => {
            format!("{} can not be compared to {}", type_name(a), type_name(b))
        }
        E::UnsupportedUnaryOperator(operator, value) => {
            format!(
                "Unsupported unary operator '{operator}': {}",
                type_name(value)
            )
        }
        E::UnsupportedBinaryOperator(operator, a, b) => format!(
            "Unsupported binary operator '{operator}': {}, {}",
            type_name(a),
            type_name(b)
        ),
        E::UnsupportedMapIndex(value) => {
            format!(
                "Cannot use a value of type '{}' as map index",
                type_name(value)
            )
        }
        E::UnsupportedListIndex(value) => {
            format!(
                "Cannot use a value of type '{}' as list index",
                type_name(value)
            )
        }
        E::UnsupportedIndex(index, value) => format!(
            "Cannot use a value of type '{}' to index a '{}'",
            type_name(index),
            type_name(value)
        ),
        E::DivisionByZero(value) => format!("Division by zero of a '{}'", type_name(value)),
        E::RemainderByZero(value) => format!("Remainder by zero of a '{}'", type_name(value)),
        E::Overflow(operator, a, b) => format!(
            "Overflow from binary operator '{operator}': {}, {}",
            type_name(a),
            type_name(b)
        ),
        // An index: a number, no content.
        E::IndexOutOfBounds(value) => format!("Index out of bounds: {}", index_text(value)),
        // An element's error an `exists`/`all` held to its end: already
        // written by this function.
        E::FunctionError { function, message } if function == quantifiers::RESULT => {
            message.clone()
        }
        other => scrub_debug_values(&other.to_string()),
    }
}
/// `text` with every value the cel crate or kube-cel wrote in Rust's Debug
/// form (`Bytes([104, 117, …])`, `String("…")`, `List([…])`, `Int(1)`)
/// replaced by its CEL type name: their conversion and type errors print
/// the value itself, and a decoded Secret is not redacted in that form
/// (red25 F11). cel-go's messages name types only.
fn scrub_debug_values(text: &str) -> String {
    const VARIANTS: [(&str, &str); 11] = [
        ("Bytes(", "bytes"),
        ("String(", "string"),
        ("List(", "list"),
        ("Map(", "map"),
        ("Int(", "int"),
        ("UInt(", "uint"),
        ("Float(", "double"),
        ("Bool(", "bool"),
        ("Duration(", "google.protobuf.Duration"),
        ("Timestamp(", "google.protobuf.Timestamp"),
        ("Opaque(", "opaque"),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (variant, name) in VARIANTS {
            // A variant name starts a word: `UInt(` is not `Int(` inside it.
            let starts_word = out
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            if starts_word && rest.starts_with(variant) {
                if let Some(end) = debug_value_end(rest, variant.len()) {
                    out.push_str(name);
                    rest = &rest[end..];
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Past the `)` closing the Debug value whose `(` ends at byte `open`:
/// parentheses balanced, quoted text (with Debug's `\` escapes) skipped.
fn debug_value_end(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 1usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn index_text(value: &cel::Value) -> String {
    match value {
        cel::Value::Int(i) => i.to_string(),
        cel::Value::UInt(u) => u.to_string(),
        other => type_name(other),
    }
}

/// CEL's name for a value's type, for messages.
pub(crate) fn type_name(value: &cel::Value) -> String {
    match value {
        cel::Value::Opaque(opaque) => opaque.runtime_type_name().to_string(),
        other => format!("{:?}", other.type_of()).to_lowercase(),
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Program({:?})", &*self.source)
    }
}

impl<'de> Deserialize<'de> for Program {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Program, D::Error> {
        let source = String::deserialize(deserializer)?;
        Ok(Program::compile(&source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unary_chains_without_operands_are_refused_before_parsing() {
        // The cel fuzz target's input that took 14 s and 2.6 GB in the
        // crate's parser (its error recovery joined `-]-` into even chains,
        // each visited twice): refused at its first `]` — and since the
        // lexer check, at a control character before it.
        let source = include_str!("../../../../fuzz/seeds/cel/regression-unary-chains");
        assert_eq!(operand_missing(source).as_deref(), Some(
            "compilation error: ERROR: <input>:1:198: Syntax error: mismatched input ']': a unary '!' or '-' needs an operand"
        ));
        let error = Program::compile(source)
            .compile_error()
            .unwrap_or_default()
            .to_string();
        assert!(
            error.starts_with("compilation error: ERROR: <input>:1:87: Syntax error: token recognition error at: '\u{6}'"),
            "{error}"
        );
        let program = Program::compile("a &&\n  -");
        assert_eq!(
            program.compile_error(),
            Some(
                "compilation error: ERROR: <input>:2:4: Syntax error: mismatched input <EOF>: a unary '!' or '-' needs an operand"
            )
        );
        assert!(Program::compile("a - -b && !c").compile_error().is_none());
    }

    #[test]
    fn a_lexer_error_is_refused_before_parsing() {
        // The cel fuzz target's input that took 17 s and 3 GB: a literal
        // with an escape CEL does not have (`\-`), past which ANTLR lexes
        // the literal's text as code — unary chains our lexer had not seen.
        let input = include_str!("../../../../fuzz/seeds/cel/regression-lexer-recovery");
        let source = input.split("\n---\n").next().unwrap_or(input);
        let error = Program::compile(source)
            .compile_error()
            .unwrap_or_default()
            .to_string();
        assert!(
            error.starts_with(
                "compilation error: ERROR: <input>:1:74: Syntax error: token recognition error at: ''^v["
            ),
            "{error}"
        );
        for (source, expected) in [
            (
                "'a' @ 'b'",
                "ERROR: <input>:1:5: Syntax error: token recognition error at: '@'\n| 'a' @ 'b'\n| ....^",
            ),
            ("a = b", "ERROR: <input>:1:3: Syntax error: token recognition error at: '= '"),
            ("x == 'abc", "ERROR: <input>:1:6: Syntax error: token recognition error at: ''abc'"),
            (r"'a\-b' == x", r"ERROR: <input>:1:1: Syntax error: token recognition error at: ''a\-'"),
            ("x ||\n 'a\nb'", r"ERROR: <input>:2:2: Syntax error: token recognition error at: ''a\n'"),
            (r"'\x4g' == x", r"ERROR: <input>:1:1: Syntax error: token recognition error at: ''\x4g'"),
            (r"'\400' == x", r"ERROR: <input>:1:1: Syntax error: token recognition error at: ''\4'"),
        ] {
            let error = Program::compile(source)
                .compile_error()
                .unwrap_or_default()
                .to_string();
            assert!(
                error.starts_with(&format!("compilation error: {expected}")),
                "{source}: {error}"
            );
        }
        for source in [
            r#"'\a\b\f\n\r\t\v\"\'\\\?\`' != ''"#,
            r"'\101\x41\u0041\U00000041' == 'AAAA'",
            r"r'\-' == '\\-'",
            "'''a\nb''' != \"\"\"c\"\"\"",
            r"b'\xff' != b''",
            "// @ ü\n'ü' != ''",
        ] {
            assert_eq!(Program::compile(source).compile_error(), None, "{source}");
        }
    }

    #[test]
    fn a_syntax_error_is_refused_before_the_crate_recovers_from_it() {
        // red25 F3: ANTLR's recovery dropped the stray `)` and the crate
        // visited the even chain it made twice per level: 24 levels took
        // 11 s and 1.3 GB, each one more doubling. Now refused at the
        // first error, as cel-go refuses it (this test would not finish).
        for prefix in [
            "() !!(",
            "() --(",
            "a[] !!(",
            ") !!(",
            "] --(",
            "} !!(",
            "in ) !! [?(",
        ] {
            let mut source = String::from("true");
            for _ in 0..40 {
                source = format!("{prefix}{source})");
            }
            let error = Program::compile(&source)
                .compile_error()
                .unwrap_or_default()
                .to_string();
            assert!(
                error.starts_with("compilation error: ERROR: <input>:1:")
                    && error.contains("Syntax error: mismatched input"),
                "{prefix}: {error}"
            );
        }
        assert_eq!(
            Program::compile("a b").compile_error(),
            Some("compilation error: ERROR: <input>:1:3: Syntax error: mismatched input 'b' expecting <EOF>\n| a b\n| ..^")
        );
    }

    #[test]
    fn a_quote_in_a_comment_hides_no_operators_from_the_bounds() {
        // red25 F16: the quote opened a "string" to the end of the text,
        // so the 50,000-term chain behind it passed the bound and the
        // crate's recursion overflowed the stack (the process aborted).
        let source = format!("// don't\n{}1 == 1", "1+".repeat(50_000));
        let error = Program::compile(&source)
            .compile_error()
            .unwrap_or_default()
            .to_string();
        assert!(
            error.contains("holds 50001 operators, more than the 1000"),
            "{error}"
        );
    }

    #[test]
    fn a_compile_error_quotes_only_the_part_around_each_error() {
        // One line of 20 kB (a long string, few operators) with a syntax
        // error near its end, and more after it.
        let source = format!("'{}' + ) ) ) ) ) ) ) ) ) ) ) ) )", "x".repeat(20_000));
        let program = Program::compile(&source);
        let error = program.compile_error().unwrap_or_default();
        assert!(
            error.starts_with("compilation error: ERROR: <input>:1:"),
            "{error}"
        );
        assert!(error.len() < 4000, "{} bytes", error.len());
        assert!(error.contains("more errors") || error.matches("ERROR").count() <= ERRORS_SHOWN);
        // The caret stays under the character the error names.
        let mut lines = error.lines().skip(1);
        let (shown, caret) = (
            lines.next().unwrap_or_default(),
            lines.next().unwrap_or_default(),
        );
        let at = caret.chars().count() - 1;
        assert_eq!(shown.chars().nth(at), Some(')'), "{shown}\n{caret}");
    }

    #[test]
    fn a_short_compile_error_reads_as_the_cel_crate_words_it() {
        let program = Program::compile("a + ");
        let error = program.compile_error().unwrap_or_default();
        let parsed = cel::parser::Parser::new()
            .enable_optional_syntax(true)
            .parse("a + ")
            .map(|_| String::new())
            .unwrap_or_else(|err| err.to_string());
        assert_eq!(error, format!("compilation error: {parsed}"));
    }
}
