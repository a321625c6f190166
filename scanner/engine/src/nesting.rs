//! An expression's text in (JMESPath here; CEL from its tokens,
//! `cel::unary::depth`), its depth out, before any parser sees it: how
//! deeply its brackets nest and how many operators it holds, string
//! literals skipped.
//!
//! The JMESPath and CEL parsers, the AST walks after them and the
//! evaluators are recursive: an expression nested a few hundred levels
//! deep overflowed a 2 MiB thread stack, which aborts the whole process
//! (a Rust stack overflow cannot be caught like a panic), so one policy —
//! a namespaced Policy anyone with rights in one namespace can create —
//! would end every scan. Go's stacks grow, so Kyverno only has the limits
//! cel-go sets (its parser refuses nesting past 250, `parser.NewParser`'s
//! `maxRecursionDepth`); polscan refuses past the bounds below, which no
//! policy of the library comes near (the deepest JMESPath expression holds
//! 19 operators), and runs evaluation on [`EVALUATION_STACK`]-sized stacks
//! so that what passes fits with room to spare.

/// The stack size, in bytes, of every thread that compiles or evaluates
/// policies (the binary's rayon and tokio threads): the bounds below are
/// measured against it (a debug build needs ~80 KiB per CEL nesting level).
pub const EVALUATION_STACK: usize = 64 << 20;

/// The deepest bracket nesting (`(`, `[`, `{`) a CEL expression may have:
/// cel-go's parser default.
pub(crate) const CEL_MAX_NESTING: usize = 250;

/// The most operators (each a node of the tree the parser builds) one
/// expression may hold: a chain `a.b.c…` or `x || y || …` nests one
/// level per operator without a bracket.
pub(crate) const MAX_OPERATORS: usize = 1000;

/// The most operators a JMESPath expression may hold: every node of its
/// tree but the leaves takes one (`.`, `|`, `[`, `(`, `!`, `&`, …), so
/// this bounds its depth.
pub(crate) const JMESPATH_MAX_OPERATORS: usize = 256;

/// What [`measure`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Depth {
    /// The deepest bracket nesting.
    pub(crate) nesting: usize,
    /// Operator characters (and CEL's `in`), outside string literals.
    pub(crate) operators: usize,
}

/// Which language's literals to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    /// `'raw'`, `"quoted"` and `` `json` `` literals, `\` escapes.
    Jmespath,
}

/// Measures `text` in one pass.
pub(crate) fn measure(text: &str, language: Language) -> Depth {
    let quotes: &[char] = match language {
        Language::Jmespath => &['\'', '"', '`'],
    };
    let operators: &[char] = match language {
        Language::Jmespath => &['.', '|', '&', '!', '(', '[', '{', '<', '>', '='],
    };
    let mut depth = Depth::default();
    let mut open = 0usize;
    let mut quote: Option<char> = None;
    let mut word = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        word.clear();
        if quotes.contains(&c) {
            quote = Some(c);
            continue;
        }
        if operators.contains(&c) {
            depth.operators += 1;
        }
        match c {
            '(' | '[' | '{' => {
                open += 1;
                depth.nesting = depth.nesting.max(open);
            }
            ')' | ']' | '}' => open = open.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_and_operators_are_counted_outside_literals() {
        let jmespath = measure(
            "a.b[?c == 'x)]('].d | length(@) || `[[[1]]]`",
            Language::Jmespath,
        );
        // . [ = = . | ( | |
        assert_eq!(
            jmespath,
            Depth {
                nesting: 1,
                operators: 9
            }
        );
    }
}
