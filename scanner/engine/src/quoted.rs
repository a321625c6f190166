//! Expressions quoted in messages, bounded: an expression's text (JMESPath
//! or CEL) enters, at most [`QUOTED_CHARS`] characters of it leave. A
//! policy's expression can be kilobytes long (a hostile one nested
//! thousands deep is refused, and its refusal names it): quoted whole, one
//! warning line grew to 24 kB. A cut quote ends in "…" with the length, so
//! the reader knows it is not the whole text.

/// The most characters of an expression a message quotes.
pub const QUOTED_CHARS: usize = 100;

/// `text` as a message quotes it: whole up to [`QUOTED_CHARS`] characters,
/// else its first ones, "…" and its length (`a[?a[?… (12000 characters)`).
pub fn expression(text: &str) -> String {
    let length = text.chars().count();
    if length <= QUOTED_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(QUOTED_CHARS).collect();
    format!("{head}… ({length} characters)")
}

/// The part of `line` a parser's error points at, bounded: at most
/// [`QUOTED_CHARS`] characters around `column` (1-based, in characters),
/// "…" where cut, with the caret's 1-based column in what is returned.
pub fn around(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= QUOTED_CHARS {
        return (line.to_string(), column);
    }
    let at = column.saturating_sub(1).min(chars.len());
    let start = at.saturating_sub(QUOTED_CHARS / 2);
    let end = (start + QUOTED_CHARS).min(chars.len());
    let start = end.saturating_sub(QUOTED_CHARS);
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, at - start + 1 + usize::from(start > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_expression_is_quoted_whole() {
        assert_eq!(
            expression("request.object.metadata.name"),
            "request.object.metadata.name"
        );
    }

    #[test]
    fn a_long_expression_is_cut_and_says_its_length() {
        let long = "a[?".repeat(3000);
        let quoted = expression(&long);
        assert!(quoted.chars().count() < QUOTED_CHARS + 30, "{quoted}");
        assert!(quoted.starts_with("a[?a[?"), "{quoted}");
        assert!(quoted.ends_with("… (9000 characters)"), "{quoted}");
        // Characters, not bytes: a cut never splits one.
        let wide = "é".repeat(500);
        assert!(expression(&wide).ends_with("… (500 characters)"));
    }

    #[test]
    fn the_part_around_an_error_keeps_the_caret_on_its_character() {
        let line = format!("{}X{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, caret) = around(&line, 5001);
        assert!(shown.chars().count() <= QUOTED_CHARS + 2, "{shown}");
        assert_eq!(shown.chars().nth(caret - 1), Some('X'), "{shown}");
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        // Near the end: cut at the start only.
        let (shown, caret) = around(&line, 10_001);
        assert_eq!(shown.chars().nth(caret - 1), Some('b'));
        assert!(!shown.ends_with('…'));
        // A short line is shown as it is.
        assert_eq!(around("a + ", 4), ("a + ".to_string(), 4));
    }
}
