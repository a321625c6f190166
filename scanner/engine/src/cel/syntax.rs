//! A CEL expression's tokens in ([`super::unary::lex`], after the lexer
//! check), the first place its grammar (`CEL.g4`, the parser rules cel-go
//! and the cel crate are generated from) cannot go on out: a byte offset
//! and what stands there. Nothing is built; the expression is only
//! recognized.
//!
//! Our own code because the cel crate 0.13 (pinned by kube-cel) must never
//! see an expression that does not parse: ANTLR's error recovery deletes
//! and inserts tokens, and where that joins `!`/`-` into an even unary
//! chain the crate visits its operand twice per level (`visit_LogicalNot`,
//! `visit_Negate`; fixed in cel 0.15) — `() !!(` nested 24 times (173
//! bytes) took 11 s and 1.3 GB, each level doubling (red25 F3). cel-go
//! refuses such text with a syntax error, and so does this, before the
//! crate parses. The recognizer follows the grammar rule for rule, so a
//! text it accepts parses without recovery and one it refuses cel-go
//! refuses too; which errors cel-go reports past the first is not
//! reproduced.

use super::unary::{Kind, Token};

/// Where the grammar fails: the byte offset of the token that cannot be
/// taken (the source's length at its end), the token's text (`<EOF>` at
/// the end) and what the grammar wanted there, as ANTLR names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub(super) at: usize,
    pub(super) found: String,
    pub(super) expected: &'static str,
}

/// The first syntax error of the expression `source` lexed into `tokens`
/// (which must be the whole of it, without a lexer error), or `None` when
/// the grammar's `start: expr EOF` takes it all. Recursion follows the
/// nesting of brackets and conditionals, which [`super::program`] bounds
/// before calling this.
pub(super) fn syntax_error(source: &str, tokens: &[Token<'_>]) -> Option<SyntaxError> {
    let mut parser = Recognizer {
        source,
        tokens,
        next: 0,
    };
    parser.expr().and_then(|()| parser.expect_end()).err()
}

struct Recognizer<'s, 't> {
    source: &'s str,
    tokens: &'t [Token<'s>],
    next: usize,
}

type Step = Result<(), SyntaxError>;

/// What may begin an operand, as ANTLR lists it for CEL.g4's `unary`.
const OPERAND: &str = "{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}";

/// What may follow `.` or begin a message's field.
const FIELD: &str = "{IDENTIFIER, ESC_IDENTIFIER}";

/// The binary operators of `relation` and `calc`, one level for
/// recognizing (precedence does not change what is accepted).
const BINARY: [&str; 11] = ["<", "<=", ">=", ">", "==", "!=", "*", "/", "%", "+", "-"];

impl<'s> Recognizer<'s, '_> {
    fn peek(&self) -> Option<Kind<'s>> {
        self.tokens.get(self.next).map(|token| token.kind)
    }

    fn peek_at(&self, ahead: usize) -> Option<Kind<'s>> {
        self.tokens.get(self.next + ahead).map(|token| token.kind)
    }

    fn is_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek(), Some(Kind::Symbol(s)) if s == symbol)
    }

    fn eat(&mut self, symbol: &str) -> bool {
        let found = self.is_symbol(symbol);
        if found {
            self.next += 1;
        }
        found
    }

    fn error(&self, expected: &'static str) -> SyntaxError {
        match self.tokens.get(self.next) {
            Some(token) => SyntaxError {
                at: token.at,
                found: self
                    .source
                    .get(token.at..token.end)
                    .unwrap_or_default()
                    .to_string(),
                expected,
            },
            None => SyntaxError {
                at: self.source.len(),
                found: "<EOF>".into(),
                expected,
            },
        }
    }

    fn expect(&mut self, symbol: &'static str) -> Step {
        if self.eat(symbol) {
            return Ok(());
        }
        Err(self.error(match symbol {
            ")" => "')'",
            "]" => "']'",
            "}" => "'}'",
            _ => "':'",
        }))
    }

    fn expect_end(&self) -> Step {
        if self.next == self.tokens.len() {
            Ok(())
        } else {
            Err(self.error("<EOF>"))
        }
    }

    /// `expr: conditionalOr ('?' conditionalOr ':' expr)?` — the branch
    /// taken when true is a `conditionalOr`, so only the last one may be
    /// another conditional without parentheses (a loop, not recursion).
    fn expr(&mut self) -> Step {
        loop {
            self.conditional_or()?;
            if !self.eat("?") {
                return Ok(());
            }
            self.conditional_or()?;
            self.expect(":")?;
        }
    }

    /// `conditionalOr`, `conditionalAnd`, `relation` and `calc` at once:
    /// unary operands joined by binary operators.
    fn conditional_or(&mut self) -> Step {
        loop {
            self.unary()?;
            let joined = match self.peek() {
                Some(Kind::Symbol(symbol)) => {
                    BINARY.contains(&symbol) || symbol == "&&" || symbol == "||"
                }
                Some(Kind::Word("in")) => true,
                _ => false,
            };
            if !joined {
                return Ok(());
            }
            self.next += 1;
        }
    }

    /// `unary: member | ('!')+ member | ('-')+ member`.
    fn unary(&mut self) -> Step {
        if self.is_symbol("!") {
            while self.eat("!") {}
        } else if self.is_symbol("-") {
            // A `-` right before a number may be the literal's own sign
            // (`literal: sign=MINUS? NUM_INT`): either way it is taken.
            while self.is_symbol("-") && !(self.peek_at(1) == Some(Kind::Number)) {
                self.next += 1;
            }
        }
        self.member()
    }

    /// `member: primary` followed by any number of `.`select, `.`call
    /// and `[`index`]`.
    fn member(&mut self) -> Step {
        self.primary()?;
        loop {
            if self.eat(".") {
                let optional = self.eat("?");
                match self.peek() {
                    Some(Kind::Word(word)) if is_identifier(word) => {
                        self.next += 1;
                        if !optional && self.eat("(") {
                            self.arguments()?;
                        }
                    }
                    Some(Kind::Word("`")) => self.next += 1,
                    _ => return Err(self.error(FIELD)),
                }
            } else if self.eat("[") {
                self.eat("?");
                self.expr()?;
                self.expect("]")?;
            } else {
                return Ok(());
            }
        }
    }

    /// `exprList? ')'` after a call's `(`.
    fn arguments(&mut self) -> Step {
        if self.eat(")") {
            return Ok(());
        }
        loop {
            self.expr()?;
            if !self.eat(",") {
                return self.expect(")");
            }
        }
    }

    fn primary(&mut self) -> Step {
        match self.peek() {
            Some(Kind::Symbol(".")) | Some(Kind::Word(_)) if self.starts_name() => self.name(),
            Some(Kind::Symbol("(")) => {
                self.next += 1;
                self.expr()?;
                self.expect(")")
            }
            Some(Kind::Symbol("[")) => {
                self.next += 1;
                self.initializers("]", |parser| {
                    parser.eat("?");
                    parser.expr()
                })
            }
            Some(Kind::Symbol("{")) => {
                self.next += 1;
                self.initializers("}", |parser| {
                    parser.eat("?");
                    parser.expr()?;
                    parser.expect(":")?;
                    parser.expr()
                })
            }
            Some(Kind::Symbol("-")) if self.peek_at(1) == Some(Kind::Number) => {
                self.next += 2;
                Ok(())
            }
            Some(Kind::Number | Kind::Literal) => {
                self.next += 1;
                Ok(())
            }
            Some(Kind::Word("true" | "false" | "null")) => {
                self.next += 1;
                Ok(())
            }
            _ => Err(self.error(OPERAND)),
        }
    }

    /// Whether a name starts here: an identifier, or `.` and one.
    fn starts_name(&self) -> bool {
        let at = usize::from(self.is_symbol("."));
        matches!(self.peek_at(at), Some(Kind::Word(word)) if is_identifier(word))
    }

    /// `'.'? IDENTIFIER`, then a global call's `(args)`, or a message's
    /// qualified name and `{fields}`, or the name alone (what follows it
    /// is the member's).
    fn name(&mut self) -> Step {
        self.eat(".");
        self.next += 1;
        if self.eat("(") {
            return self.arguments();
        }
        // `a.b.c{…}`: a qualified message name, found by looking ahead.
        let mut ahead = 0;
        while self.peek_at(ahead) == Some(Kind::Symbol("."))
            && matches!(self.peek_at(ahead + 1), Some(Kind::Word(word)) if is_identifier(word))
        {
            ahead += 2;
        }
        if self.peek_at(ahead) == Some(Kind::Symbol("{")) {
            self.next += ahead + 1;
            return self.initializers("}", |parser| {
                parser.eat("?");
                match parser.peek() {
                    Some(Kind::Word(word)) if is_identifier(word) || word == "`" => {
                        parser.next += 1;
                    }
                    _ => return Err(parser.error(FIELD)),
                }
                parser.expect(":")?;
                parser.expr()
            });
        }
        Ok(())
    }

    /// `elements? ','? close`, the elements separated by `,`: CEL.g4's
    /// list, map and message initializers (`[,]` and `{,}` included).
    fn initializers(
        &mut self,
        close: &'static str,
        mut element: impl FnMut(&mut Self) -> Step,
    ) -> Step {
        if self.eat(close) {
            return Ok(());
        }
        if self.eat(",") {
            return self.expect(close);
        }
        loop {
            element(self)?;
            if !self.eat(",") {
                return self.expect(close);
            }
            if self.eat(close) {
                return Ok(());
            }
        }
    }
}

/// An `IDENTIFIER` token: a word that is not one of CEL's keywords (they
/// are tokens of their own) nor a backquoted name.
fn is_identifier(word: &str) -> bool {
    !matches!(word, "in" | "true" | "false" | "null" | "`")
}

#[cfg(test)]
mod tests {
    use super::super::unary::lex;
    use super::*;

    fn error_at(source: &str) -> Option<usize> {
        syntax_error(source, &lex(source)).map(|error| error.at)
    }

    #[test]
    fn the_grammar_takes_valid_expressions() {
        for source in [
            "a",
            "1",
            "-1",
            "- -1",
            "!-1",
            "!!x",
            "--x",
            "a - -b",
            "a--b",
            "1 + 2 * 3 - 4 / 5 % 6",
            "a < b && c <= d || e >= f && g > h",
            "a == b != c",
            "x in [1, 2]",
            "a ? b : c",
            "a ? b : c ? d : e",
            "(a ? b : c) ? d : e",
            "a ? (b ? c : d) : e",
            "object.metadata.name",
            "object.metadata.?labels.?app.orValue('x')",
            "object.spec.containers.all(c, c.image != '')",
            "x[0]['k'][?'o']",
            "f()",
            "f(a, b)",
            ".f(a)",
            ".a.b",
            "a.f()",
            "a.b.c(1, [2])",
            "[]",
            "[,]",
            "[1, 2,]",
            "[?a, b]",
            "{}",
            "{,}",
            "{'a': 1, ?'b': 2,}",
            "Msg{}",
            "a.b.Msg{f: 1, ?g: 2, `h-i`: 3,}",
            ".a.Msg{f: 1}",
            "x.`a-b` == 1",
            "x.?`a-b`",
            "true && false || null == null",
            "true.x",
            "b'x' + r'y' + '''z'''",
            "1u + 2.5 + .5 + 1e3 + 0x1F",
            "size(x) > 0 // a comment",
            "has(a.b) && !has(a.c)",
        ] {
            assert_eq!(error_at(source), None, "{source}");
        }
    }

    #[test]
    fn the_grammar_refuses_what_cel_go_refuses() {
        for (source, at) in [
            ("", 0),
            ("a b", 2),
            ("a +", 3),
            ("()", 1),
            ("() !!(true)", 1),
            ("a[] !!(true)", 2),
            ("(a) !!(b)", 4),
            ("x !!y", 2),
            ("-!x", 1),
            ("!-x", 1),
            ("a.", 2),
            ("a.1", 1),
            ("a.true", 2),
            ("a.?b(1)", 4),
            ("true(1)", 4),
            ("f(a,)", 4),
            ("[1 2]", 3),
            ("{1}", 2),
            ("{1: }", 4),
            ("Msg{1: 2}", 4),
            ("a ? b ? c : d : e", 6),
            ("a ? b", 5),
            ("(a", 2),
            ("a)", 1),
            ("in", 0),
            ("`a`", 0),
            ("0X1", 1),
            ("1 .", 3),
        ] {
            assert_eq!(error_at(source), Some(at), "{source}");
        }
    }
}
