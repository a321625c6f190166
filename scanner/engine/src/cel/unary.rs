//! A CEL expression's source in, the same source out with every run of an
//! even number of unary `!` or `-` operators blanked (replaced by spaces,
//! so every offset a parse error names stays where it was): what cel-go's
//! parser does with such a run, done before the cel crate parses.
//!
//! cel-go (`parser/parser.go`, `visitLogicalNot` and `visitNegate`) returns
//! the operand of an even run as it is: `!!x` is `x`, `--x` is `x`. The
//! cel crate (0.13, which `kube-cel` pins) visits the operand, drops that
//! result, visits it again and negates it once: `!!true` was `false`, a
//! wrong verdict, and each `!!` nested in another doubled the parse, so a
//! 4 kB expression took 13 s and a few more levels would take hours (a
//! fuzz timeout). Its 0.15 release fixes both; until kube-cel moves to it,
//! this module gives the parser an expression without those runs. It is
//! our own code because the rule is cel-go's grammar and semantics: the
//! source is tokenized as CEL's lexer does (`CEL.g4`: strings, bytes, raw
//! and triple-quoted literals, comments, numbers), and a run is blanked
//! only where the grammar makes it one unary operator chain over a
//! `member` — after nothing, an opening bracket, `,`, `:`, `?` or a binary
//! operator, and before what can start a member: in text that lexes, this
//! never turns an invalid expression into a valid one. Where CEL's lexer
//! fails (an unknown character, an unterminated string) the expression is
//! a compile error whatever is blanked, since the failing character stays;
//! lexing goes on past it as ANTLR's does (one character skipped), so that
//! garbage full of `!!` is refused quickly too (the fuzz input that timed
//! out held an `@`).

use std::borrow::Cow;

/// `source` with each even run of unary `!` / `-` blanked; borrowed when
/// there is none (the common case).
pub(crate) fn cancel_even_runs(source: &str) -> Cow<'_, str> {
    let tokens = lex(source);
    let mut blank = Vec::new();
    let mut t = 0;
    while t < tokens.len() {
        let symbol = match tokens[t].kind {
            Kind::Symbol(s @ ("!" | "-")) => s,
            _ => {
                t += 1;
                continue;
            }
        };
        let end = (t..tokens.len())
            .find(|&i| tokens[i].kind != Kind::Symbol(symbol))
            .unwrap_or(tokens.len());
        let unary = if symbol == "-" && t > 0 && tokens[t - 1].kind.ends_operand() {
            // The first `-` after an operand is the binary minus.
            t + 1..end
        } else if unary_position(&tokens, t) {
            t..end
        } else {
            t..t
        };
        if unary.len() >= 2 && unary.len() % 2 == 0 && starts_member(&tokens, end) {
            blank.extend(unary.map(|i| tokens[i].at));
        }
        t = end;
    }
    if blank.is_empty() {
        return Cow::Borrowed(source);
    }
    // Each blanked token is one ASCII byte.
    let mut bytes = source.as_bytes().to_vec();
    for at in blank {
        bytes[at] = b' ';
    }
    match String::from_utf8(bytes) {
        Ok(text) => Cow::Owned(text),
        Err(_) => Cow::Borrowed(source),
    }
}

/// Where a unary `!` / `-` chain is followed by something that cannot
/// begin its `member` (CEL.g4: `('!')+ member | ('-')+ member`): the
/// byte offset of that token (the source's length at its end). Such an
/// expression is a syntax error in cel-go; it is refused before the cel
/// crate parses it, because ANTLR's error recovery drops the tokens
/// between two runs (`-]-`) and joins them into one even chain, which
/// the crate visits twice per level: a 4 kB fuzz input of such chains
/// took 14 s and 2.6 GB. cel-go stops after 30 recoveries
/// (`parser/options.go`, errorRecoveryLimit); this stops at the first.
/// A chain is judged as [`cancel_even_runs`] judges it, so a valid
/// expression is never refused.
pub(crate) fn operand_missing(source: &str) -> Option<usize> {
    let tokens = lex(source);
    let mut t = 0;
    while t < tokens.len() {
        let symbol = match tokens[t].kind {
            Kind::Symbol(s @ ("!" | "-")) => s,
            _ => {
                t += 1;
                continue;
            }
        };
        let end = (t..tokens.len())
            .find(|&i| tokens[i].kind != Kind::Symbol(symbol))
            .unwrap_or(tokens.len());
        let unary = if symbol == "-" && t > 0 && tokens[t - 1].kind.ends_operand() {
            t + 1..end
        } else if unary_position(&tokens, t) {
            t..end
        } else {
            t..t
        };
        if !unary.is_empty() && !starts_member(&tokens, end) {
            return Some(tokens.get(end).map_or(source.len(), |token| token.at));
        }
        t = end;
    }
    None
}

/// Whether a unary chain may begin at token `t` (CEL.g4: `unary` follows
/// the start, `(`, `[`, `{`, `,`, `:`, `?` — not `.?`, optional selection
/// — or a binary operator; a binary `-` only when it is alone, since a
/// longer run of `-` is itself a chain that wants a member next).
fn unary_position(tokens: &[Token], t: usize) -> bool {
    let Some(previous) = t.checked_sub(1).map(|i| &tokens[i]) else {
        return true;
    };
    match previous.kind {
        Kind::Word(word) => word == "in",
        Kind::Symbol("?") => t < 2 || tokens[t - 2].kind != Kind::Symbol("."),
        Kind::Symbol("-") => t >= 2 && tokens[t - 2].kind.ends_operand(),
        Kind::Symbol(symbol) => matches!(
            symbol,
            "(" | "["
                | "{"
                | ","
                | ":"
                | "&&"
                | "||"
                | "=="
                | "!="
                | "<"
                | "<="
                | ">"
                | ">="
                | "+"
                | "*"
                | "/"
                | "%"
        ),
        Kind::Number | Kind::Literal => false,
    }
}

/// Whether token `t` can begin the `member` a unary chain applies to: an
/// identifier, a literal (a number may carry its sign: `-1`), an opening
/// bracket, or `.` (a leading-dot name, `.a`).
fn starts_member(tokens: &[Token], t: usize) -> bool {
    match tokens.get(t).map(|token| token.kind) {
        Some(Kind::Word(word)) => word != "in",
        Some(Kind::Number | Kind::Literal) => true,
        Some(Kind::Symbol("(" | "[" | "{" | ".")) => true,
        Some(Kind::Symbol("-")) => {
            matches!(
                tokens.get(t + 1).map(|token| token.kind),
                Some(Kind::Number)
            )
        }
        _ => false,
    }
}

/// One token of CEL's lexer, by where it starts and what it is.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    at: usize,
    kind: Kind<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    /// An identifier or a reserved word (`in`, `true`, `null`, …).
    Word(&'a str),
    /// An int, uint or double literal, without its sign.
    Number,
    /// A string or bytes literal.
    Literal,
    /// An operator or a bracket.
    Symbol(&'static str),
}

impl Kind<'_> {
    /// Whether an operand can end with this token (a binary operator may
    /// follow it).
    fn ends_operand(self) -> bool {
        match self {
            Kind::Word(word) => word != "in",
            Kind::Number | Kind::Literal => true,
            Kind::Symbol(symbol) => matches!(symbol, ")" | "]" | "}"),
        }
    }
}

/// CEL's operators and brackets, two-character ones first (longest match).
const SYMBOLS: [&str; 24] = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "?", ":", ",", ".",
    "(", ")", "[", "]", "{", "}",
];

/// The tokens of `source` as CEL's lexer reads them; where it reports an
/// error, one character is skipped, as ANTLR's lexer recovers.
fn lex(source: &str) -> Vec<Token<'_>> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
            i += 1;
        } else if bytes[i..].starts_with(b"//") {
            i = bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |n| i + n);
        } else if let Some(end) = string_literal(bytes, i) {
            match end {
                Some(end) => {
                    tokens.push(Token {
                        at: i,
                        kind: Kind::Literal,
                    });
                    i = end;
                }
                None => i = skip_char(source, i),
            }
        } else if let Some(end) = escaped_identifier_end(bytes, i) {
            tokens.push(Token {
                at: i,
                kind: Kind::Word("`"),
            });
            i = end;
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            tokens.push(Token {
                at: i,
                kind: Kind::Number,
            });
            i = number_end(bytes, i);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let end = bytes[i..]
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                .map_or(bytes.len(), |n| i + n);
            tokens.push(Token {
                at: i,
                kind: Kind::Word(source.get(i..end).unwrap_or_default()),
            });
            i = end;
        } else if let Some(symbol) = SYMBOLS
            .iter()
            .find(|symbol| bytes[i..].starts_with(symbol.as_bytes()))
        {
            tokens.push(Token {
                at: i,
                kind: Kind::Symbol(symbol),
            });
            i += symbol.len();
        } else {
            i = skip_char(source, i);
        }
    }
    tokens
}

/// Past the character at byte `i` (a lexer error: ANTLR reports it and
/// goes on with the next character).
fn skip_char(source: &str, i: usize) -> usize {
    source
        .get(i..)
        .and_then(|rest| rest.chars().next())
        .map_or(i + 1, |c| i + c.len_utf8())
}

/// Where a backquoted identifier (``.`a-b` ``, CEL.g4's `ESC_IDENTIFIER`:
/// letters, digits, `_`, `.`, `-`, `/` and spaces) starting at `i` ends.
fn escaped_identifier_end(bytes: &[u8], i: usize) -> Option<usize> {
    if bytes[i] != b'`' {
        return None;
    }
    let inside = bytes[i + 1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/' | b' '))
        .count();
    (inside > 0 && bytes.get(i + 1 + inside) == Some(&b'`')).then_some(i + inside + 2)
}

/// Where a string or bytes literal starting at `i` ends: `None` when no
/// literal starts there, `Some(None)` when one starts but never ends (or
/// holds a line break a single-quoted literal may not). CEL.g4: a `b`/`B`
/// prefix makes bytes, an `r`/`R` prefix (after it) a raw literal without
/// escapes, `'''`/`"""` a triple-quoted one that may span lines.
fn string_literal(bytes: &[u8], i: usize) -> Option<Option<usize>> {
    let mut q = i;
    if matches!(bytes.get(q), Some(b'b' | b'B')) {
        q += 1;
    }
    let raw = matches!(bytes.get(q), Some(b'r' | b'R'));
    if raw {
        q += 1;
    }
    let quote = *bytes.get(q).filter(|b| matches!(b, b'\'' | b'"'))?;
    let triple = bytes[q..].starts_with(&[quote; 3]);
    let mut j = q + if triple { 3 } else { 1 };
    while j < bytes.len() {
        let b = bytes[j];
        if triple && bytes[j..].starts_with(&[quote; 3]) {
            return Some(Some(j + 3));
        }
        if !triple && b == quote {
            return Some(Some(j + 1));
        }
        if !triple && matches!(b, b'\n' | b'\r') {
            return Some(None);
        }
        // An escape takes the next character whatever it is (a multi-byte
        // one ends on a continuation byte, which matches no quote).
        j += if !raw && b == b'\\' { 2 } else { 1 };
    }
    Some(None)
}

/// Where a number literal starting at `i` ends (CEL.g4's `NUM_INT`,
/// `NUM_UINT`, `NUM_FLOAT`: hex, digits with an optional fraction and
/// exponent, a `u` suffix on integers).
fn number_end(bytes: &[u8], i: usize) -> usize {
    let digits = |from: usize, hex: bool| {
        bytes[from..]
            .iter()
            .position(|b| !(b.is_ascii_digit() || (hex && b.is_ascii_hexdigit())))
            .map_or(bytes.len(), |n| from + n)
    };
    let uint = |at: usize| at + usize::from(matches!(bytes.get(at), Some(b'u' | b'U')));
    if bytes[i] == b'0'
        && matches!(bytes.get(i + 1), Some(b'x' | b'X'))
        && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        return uint(digits(i + 2, true));
    }
    let mut j = digits(i, false);
    let mut float = false;
    if bytes.get(j) == Some(&b'.') && bytes.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j = digits(j + 1, false);
        float = true;
    }
    if matches!(bytes.get(j), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(j + 1), Some(b'+' | b'-')));
        if bytes.get(j + 1 + sign).is_some_and(u8::is_ascii_digit) {
            j = digits(j + 1 + sign, false);
            float = true;
        }
    }
    if float {
        j
    } else {
        uint(j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blanked(source: &str) -> String {
        cancel_even_runs(source).into_owned()
    }

    #[test]
    fn even_runs_in_unary_position_are_blanked_in_place() {
        for (source, expected) in [
            ("!!x", "  x"),
            ("!! x", "   x"),
            ("!!!!x", "    x"),
            ("--x", "  x"),
            ("- -x", "   x"),
            ("-//c\n-x", " //c\n x"),
            ("a && !!b", "a &&   b"),
            ("a - --b", "a -   b"),
            ("a---b", "a-  b"),
            ("a - !!b", "a -   b"),
            ("f(!!a, !!(b))", "f(  a,   (b))"),
            ("[!!a]", "[  a]"),
            ("{!!a: !!b}", "{  a:   b}"),
            ("c ? !!a : !!b", "c ?   a :   b"),
            ("x[?!!a]", "x[?  a]"),
            ("a in !!b", "a in   b"),
            ("!!.a", "  .a"),
            ("!!-1", "  -1"),
            ("!!'s'", "  's'"),
            ("!!1.5", "  1.5"),
            ("!!{}", "  {}"),
        ] {
            assert_eq!(blanked(source), expected, "{source}");
        }
    }

    #[test]
    fn odd_runs_and_runs_the_grammar_does_not_chain_are_left() {
        for source in [
            "!x", "!!!x", "-x", "a--b", "a - -b", "1e-5", "1e--5", "a.!!b", "a.?!!b", "x !!y",
            "-!!x", "!--x", "f(!!)", "!!", "--", "!! in x", "!!-x", "a != !b",
        ] {
            assert_eq!(blanked(source), source, "{source}");
        }
    }

    #[test]
    fn literals_and_comments_are_not_read_as_operators() {
        for source in [
            "'!!x'",
            "\"--x\"",
            "'''it's !!x'''",
            "r'\\' + '!!x'",
            "b'\\'!!x'",
            "br\"!!\"",
            "// !!x\nx",
            "x // --y",
        ] {
            assert_eq!(blanked(source), source, "{source}");
        }
        // A raw literal ends at its second quote: what follows is code.
        assert_eq!(blanked("r'\\' + !!x"), "r'\\' +   x");
        // In a plain literal `\'` is an escape: the literal goes on.
        assert_eq!(blanked("'\\' + !!x'"), "'\\' + !!x'");
    }

    #[test]
    fn past_a_lexer_error_lexing_goes_on() {
        // The error stays (a compile error either way); the runs around it
        // are blanked as in text that lexes, the skipped character left out.
        for (source, expected) in [
            ("!!x + 'open", "  x + 'open"),
            ("!!x = !!y", "  x = !!y"),
            ("a && !!b & c", "a &&   b & c"),
            ("ha@(a && !!has(b))", "ha@(a &&   has(b))"),
            ("!!x ü !!y", "  x ü !!y"),
        ] {
            assert_eq!(blanked(source), expected, "{source}");
        }
    }

    #[test]
    fn a_unary_chain_without_its_operand_is_found() {
        for (source, at) in [
            ("-]", Some(1)),
            ("a - -]-b", Some(5)),
            ("x--------]---/---y", Some(9)),
            ("!)", Some(1)),
            ("-!x", Some(1)),
            ("f(!!)", Some(4)),
            ("a && !", Some(6)),
        ] {
            assert_eq!(operand_missing(source), at, "{source}");
        }
        for source in [
            "-x",
            "!x",
            "--x",
            "!!x",
            "a - -b",
            "a--b",
            "!!-1",
            "-(a)",
            "![a]",
            "-{}",
            "!.a",
            "-'s'",
            "a - b",
            "1e-5",
            "x[?!!a]",
            "a in !b",
            "c ? -a : !b",
            "'-]'",
            "x // -]",
        ] {
            assert_eq!(operand_missing(source), None, "{source}");
        }
    }

    #[test]
    fn backquoted_identifiers_are_one_token() {
        assert_eq!(blanked("x.`a - --b` && !!y"), "x.`a - --b` &&   y");
        assert_eq!(blanked("x.`a` - --b"), "x.`a` -   b");
    }
}
