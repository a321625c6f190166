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
//! fails (an unknown character, an unterminated string, an escape CEL
//! does not have) the expression never compiles: [`lexer_error`] finds
//! that first and the expression is refused without parsing, because
//! past a lexer error ANTLR reads tokens this module cannot foresee.

use std::borrow::Cow;

/// `source` with the literals the cel crate's lexer misreads written as
/// literals of the same value it reads; borrowed when there is none. cel-go
/// reads each as one literal (CEL.g4 `STRING`, `BYTES`):
/// - a raw triple-quoted string holding a NUL character
///   (`r"""a<NUL>b"""`): the crate's lexer stopped at the NUL, read the
///   rest as code, and its error recovery over 5 kB of it took 14 s and
///   2.2 GB (found by the cel fuzz target) — written without the raw
///   prefix, each backslash doubled and NUL as `\000`;
/// - a triple-quoted bytes literal (`b"""ab"""`, `br'''…'''`): the crate
///   read `b"` + `""ab""` + `"`, so `size(b"""ab""")` was 6 (rev27 F6) —
///   written as a one-line `b"…"` with the same escapes.
pub(crate) fn literals_for_crate(source: &str) -> Cow<'_, str> {
    if !source.contains("\"\"\"") && !source.contains("'''") && !source.contains('\\') {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 16);
    let mut copied = 0;
    for token in lex(source) {
        if token.kind != Kind::Literal {
            continue;
        }
        let text = &source[token.at..token.end];
        let Some(rewritten) = literal_for_crate(text) else {
            continue;
        };
        out.push_str(&source[copied..token.at]);
        out.push_str(&rewritten);
        copied = token.end;
    }
    if copied == 0 {
        return Cow::Borrowed(source);
    }
    out.push_str(&source[copied..]);
    Cow::Owned(out)
}

/// One literal token rewritten for [`literals_for_crate`], or None when
/// the crate reads it as cel-go does.
fn literal_for_crate(text: &str) -> Option<String> {
    let prefix_len = text.find(['"', '\''])?;
    let prefix = &text[..prefix_len];
    let bytes = prefix.contains(['b', 'B']);
    let raw = prefix.contains(['r', 'R']);
    let rest = &text[prefix_len..];
    let quotes = ["\"\"\"", "'''"]
        .into_iter()
        .find(|q| rest.len() >= 6 && rest.starts_with(q) && rest.ends_with(q));
    if bytes {
        let delimiter = quotes.map_or(1, str::len);
        let content = rest.get(delimiter..rest.len().checked_sub(delimiter)?)?;
        // The crate reads a one-line literal without escapes as cel-go
        // does, unless raw: it kept `br"ab"`'s opening quote (rev27 F6).
        if quotes.is_none() && !raw && !content.contains('\\') {
            return None;
        }
        return bytes_for_crate(content, raw);
    }
    let quotes = quotes?;
    let content = &rest[3..rest.len() - 3];
    if !raw || !content.contains('\0') {
        return None;
    }
    let mut out = String::from(quotes);
    for c in content.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\000"),
            other => out.push(other),
        }
    }
    out.push_str(quotes);
    Some(out)
}

/// A bytes literal's content as the cel crate reads the same bytes: one
/// line between double quotes, printable ASCII as itself and every other
/// byte as an octal escape (the crate's bytes parser knows `\ooo` and
/// `\xhh` but not `\n` or `\\`: `b"a\n"` was a compile error). None
/// when an escape is invalid (the lexer check reports it).
fn bytes_for_crate(content: &str, raw: bool) -> Option<String> {
    let mut value = Vec::with_capacity(content.len());
    let bytes = content.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if raw || bytes[i] != b'\\' {
            value.push(bytes[i]);
            i += 1;
            continue;
        }
        let end = escape_end(bytes, i).ok()?;
        let digits = content.get(i + 2..end)?;
        match bytes.get(i + 1)? {
            b'a' => value.push(0x07),
            b'b' => value.push(0x08),
            b'f' => value.push(0x0c),
            b'n' => value.push(b'\n'),
            b'r' => value.push(b'\r'),
            b't' => value.push(b'\t'),
            b'v' => value.push(0x0b),
            b'0'..=b'3' => value.push(u8::from_str_radix(content.get(i + 1..end)?, 8).ok()?),
            b'x' | b'X' => value.push(u8::from_str_radix(digits, 16).ok()?),
            b'u' | b'U' => {
                let c = char::from_u32(u32::from_str_radix(digits, 16).ok()?)?;
                value.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            // `\"`, `\'`, `\\`, `\?`, a backquote: the character itself.
            other => value.push(*other),
        }
        i = end;
    }
    let mut out = String::from("b\"");
    for byte in value {
        if (0x20..0x7f).contains(&byte) && byte != b'\\' && byte != b'"' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("\\{byte:03o}"));
        }
    }
    out.push('"');
    Some(out)
}

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

/// How deeply `source`'s brackets nest and how many operator tokens it
/// holds (each a node of the tree the parser builds: `.`, `&&`, `!=`,
/// `in`, an opening bracket, …), read from CEL's tokens — comments, raw
/// and triple-quoted literals included: a `'` in a `// don't` comment
/// read as a string's start hid a 50,000-term chain behind it, which
/// overflowed the stack (red25 F16), and counted text as operators,
/// which refused a valid policy (F22).
pub(crate) fn depth(source: &str) -> crate::nesting::Depth {
    let mut depth = crate::nesting::Depth::default();
    let mut open = 0usize;
    for token in lex(source) {
        match token.kind {
            Kind::Symbol("(" | "[" | "{") => {
                open += 1;
                depth.nesting = depth.nesting.max(open);
                depth.operators += 1;
            }
            Kind::Symbol(")" | "]" | "}") => open = open.saturating_sub(1),
            Kind::Symbol("," | ":") => {}
            Kind::Symbol(_) | Kind::Word("in") => depth.operators += 1,
            Kind::Word(_) | Kind::Number | Kind::Literal => {}
        }
    }
    depth
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

/// One token of CEL's lexer, by where it starts and ends (bytes) and
/// what it is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token<'a> {
    pub(super) at: usize,
    pub(super) end: usize,
    pub(super) kind: Kind<'a>,
}

/// A token's kind; a backquoted identifier is `Word("`")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind<'a> {
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

/// The first error CEL's lexer (`CEL.g4`) reports in `source`: the byte
/// range from the start of the token it was reading to past the character
/// it could not take (ANTLR's "token recognition error at: '…'" quotes
/// that text). Such an expression never compiles in cel-go, so it is
/// refused before the cel crate parses it: past a lexer error the crate
/// goes on with tokens [`lex`] cannot foresee (ANTLR skips the rest of an
/// unterminated or badly escaped literal, where the literal's text is code
/// again), and the unary chains in them escaped [`operand_missing`] — a 4
/// kB fuzz input took 17 s and 3 GB.
pub(crate) fn lexer_error(source: &str) -> Option<std::ops::Range<usize>> {
    lex_checked(source).1
}

/// The tokens of `source` as CEL's lexer reads them; where it reports an
/// error, one character is skipped, as ANTLR's lexer recovers.
pub(super) fn lex(source: &str) -> Vec<Token<'_>> {
    lex_checked(source).0
}

/// [`lex`]'s tokens and [`lexer_error`]'s first error.
fn lex_checked(source: &str) -> (Vec<Token<'_>>, Option<std::ops::Range<usize>>) {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut error: Option<std::ops::Range<usize>> = None;
    let mut fail = |range: std::ops::Range<usize>| {
        if error.is_none() {
            error = Some(range);
        }
    };
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
                Ok(end) => {
                    tokens.push(Token {
                        at: i,
                        end,
                        kind: Kind::Literal,
                    });
                    i = end;
                }
                Err(at) => {
                    fail(i..skip_char(source, at).min(bytes.len()));
                    i = skip_char(source, i);
                }
            }
        } else if let Some(end) = escaped_identifier_end(bytes, i) {
            tokens.push(Token {
                at: i,
                end,
                kind: Kind::Word("`"),
            });
            i = end;
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let end = number_end(bytes, i);
            tokens.push(Token {
                at: i,
                end,
                kind: Kind::Number,
            });
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let end = bytes[i..]
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                .map_or(bytes.len(), |n| i + n);
            tokens.push(Token {
                at: i,
                end,
                kind: Kind::Word(source.get(i..end).unwrap_or_default()),
            });
            i = end;
        } else if let Some(symbol) = SYMBOLS
            .iter()
            .find(|symbol| bytes[i..].starts_with(symbol.as_bytes()))
        {
            tokens.push(Token {
                at: i,
                end: i + symbol.len(),
                kind: Kind::Symbol(symbol),
            });
            i += symbol.len();
        } else {
            // A character no token starts with, or the first of `==`,
            // `&&`, `||` alone (ANTLR quotes it with the next one).
            let end = skip_char(source, i);
            let quoted = if matches!(c, b'=' | b'&' | b'|') {
                skip_char(source, end).min(bytes.len())
            } else {
                end
            };
            fail(i..quoted);
            i = end;
        }
    }
    (tokens, error)
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
/// literal starts there, `Some(Err(at))` when one starts but CEL's lexer
/// fails at byte `at` (the source's length at its end): a line break in a
/// single-quoted literal, an escape `ESC_SEQ` does not allow, no closing
/// quote. CEL.g4: a `b`/`B` prefix makes bytes, an `r`/`R` prefix (after
/// it) a raw literal without escapes, `'''`/`"""` a triple-quoted one that
/// may span lines.
fn string_literal(bytes: &[u8], i: usize) -> Option<Result<usize, usize>> {
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
            return Some(Ok(j + 3));
        }
        if !triple && b == quote {
            return Some(Ok(j + 1));
        }
        if !triple && matches!(b, b'\n' | b'\r') {
            return Some(Err(j));
        }
        j = if !raw && b == b'\\' {
            match escape_end(bytes, j) {
                Ok(end) => end,
                Err(at) => return Some(Err(at)),
            }
        } else {
            // A multi-byte character's other bytes match no quote.
            j + 1
        };
    }
    Some(Err(bytes.len()))
}

/// Where the escape starting with the backslash at `j` ends, or the byte
/// where CEL.g4's `ESC_SEQ` fails: after the backslash, one of
/// `abfnrtv"'?`, a backslash or a backquote; three octal digits (the
/// first 0-3); `x`/`X` and two hex digits; `u` and four; `U` and eight.
fn escape_end(bytes: &[u8], j: usize) -> Result<usize, usize> {
    let digits = |from: usize, count: usize, ok: fn(&u8) -> bool| {
        (from..from + count)
            .find(|&k| !bytes.get(k).is_some_and(ok))
            .map_or(Ok(from + count), Err)
    };
    match bytes.get(j + 1) {
        Some(
            b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'"' | b'\'' | b'\\' | b'?' | b'`',
        ) => Ok(j + 2),
        Some(b'0'..=b'3') => digits(j + 2, 2, |b| matches!(b, b'0'..=b'7')),
        Some(b'x' | b'X') => digits(j + 2, 2, u8::is_ascii_hexdigit),
        Some(b'u') => digits(j + 2, 4, u8::is_ascii_hexdigit),
        Some(b'U') => digits(j + 2, 8, u8::is_ascii_hexdigit),
        _ => Err((j + 1).min(bytes.len())),
    }
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
    // Only a lower-case `0x` (`0X1` is `0` and a name).
    if bytes[i] == b'0'
        && bytes.get(i + 1) == Some(&b'x')
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
    fn lexer_errors_are_found_where_cel_lexer_fails() {
        for (source, error) in [
            ("a @ b", Some(2..3)),
            ("a = b", Some(2..4)),
            ("a & b", Some(2..4)),
            ("x ü", Some(2..4)),
            ("'open", Some(0..5)),
            ("'a\nb'", Some(0..3)),
            (r"'a\-b'", Some(0..4)),
            (r"'\x4g'", Some(0..5)),
            (r"'\u12'", Some(0..6)),
            (r"'\08'", Some(0..4)),
            ("'''never closed", Some(0..15)),
            ("r'open", Some(0..6)),
            ("x.`a", Some(2..3)),
        ] {
            assert_eq!(lexer_error(source), error, "{source}");
        }
        for source in [
            "a == b && c || !d",
            r#"'\a\b\f\n\r\t\v\"\'\\\?\`'"#,
            r"'\101\x41\X41\u0041\U00000041'",
            r"r'\-' + R'\'",
            "'''a\n'b'\n'''",
            r#"b'\xff' + BR"\q""#,
            "x.`a-b/c d`",
            "// @ ü\n'ü'",
            "1.5e-3 + 0x1F + 3u",
        ] {
            assert_eq!(lexer_error(source), None, "{source}");
        }
    }

    #[test]
    fn depth_counts_brackets_and_operator_tokens_outside_literals_and_comments() {
        let cel = depth(r#"object.spec.containers.all(c, c.image in ["a(", 'b\'[']) ? 1 : -2"#);
        assert_eq!(cel.nesting, 2);
        // . . . ( . in [ ? -
        assert_eq!(cel.operators, 9);
        assert_eq!(depth("x in y").operators, 1);
        assert_eq!(depth("a != b && c").operators, 2);
        assert_eq!(depth(&"(".repeat(300)).nesting, 300);
        // A quote in a comment or a raw literal starts no string.
        let hidden = format!("// don't\n{}1", "1+".repeat(2000));
        assert_eq!(depth(&hidden).operators, 2000);
        assert_eq!(depth(&format!(r"r'\' + {}", "(".repeat(300))).nesting, 300);
        assert_eq!(depth("'''a ( [ { '''").nesting, 0);
    }

    #[test]
    fn literals_the_crate_misreads_are_written_as_ones_it_reads() {
        assert_eq!(
            literals_for_crate("r\"\"\"a\0\\b\"\"\" + R'''\0''' + r'\0' + 'x\0'"),
            "\"\"\"a\\000\\\\b\"\"\" + '''\\000''' + r'\0' + 'x\0'"
        );
        assert_eq!(literals_for_crate("bR\"\"\"\0\\\"\"\""), r#"b"\000\134""#);
        let bytes = format!("{}\n{}", r#"b"""a"b"#, r#"\x41\"""" == b'''\''''"#);
        assert_eq!(literals_for_crate(&bytes), r#"b"a\042b\012A\042" == b"'""#);
        // A one-line bytes literal with escapes too: the crate knew only
        // octal and hex ones.
        assert_eq!(
            literals_for_crate(r#"b"\n\\é" + b'\x41'"#),
            r#"b"\012\134\303\251" + b"A""#
        );
        for unchanged in ["r\"\"\"a\"\"\"", "\"\"\"a\0\"\"\"", "b'a'", "x", "'\\n'"] {
            assert!(
                matches!(literals_for_crate(unchanged), Cow::Borrowed(_)),
                "{unchanged}"
            );
        }
    }

    #[test]
    fn backquoted_identifiers_are_one_token() {
        assert_eq!(blanked("x.`a - --b` && !!y"), "x.`a - --b` &&   y");
        assert_eq!(blanked("x.`a` - --b"), "x.`a` -   b");
    }
}
