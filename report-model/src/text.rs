//! Which characters of untrusted text (a result's message, a rule or
//! resource name: anyone who can create an object or a policy writes them)
//! no output may pass on as they are: a character and where it is shown
//! enter; whether it is hostile leaves. Every output that shows such text
//! (the CLI's tables, the evidence's evidence.md and index.html, the
//! fuzzers' checks of them) asks this one predicate, and shows a hostile
//! character as its `\u{..}` escape.
//!
//! Hostile: a control character (C0, DEL, C1) — an escape sequence moves
//! the cursor, rewrites lines, clears the screen or sets the window title
//! of a terminal showing the text, a carriage return overwrites the line
//! — and the Unicode bidirectional embeddings, overrides and isolates
//! (U+202A–U+202E, U+2066–U+2069), which reorder what is read (the
//! "Trojan Source" characters) — except the whitespace the output itself
//! lays out with ([`Shown`]).

/// Where text is shown, which decides the whitespace controls it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// One line, such as a table cell on a terminal: a tab only (a line
    /// feed would start what reads as another row).
    Line,
    /// Lines on a terminal: a tab and a line feed.
    Lines,
    /// A document of lines (an HTML page): a tab, a line feed and a
    /// carriage return (a CRLF line end of a quoted file stays).
    Document,
}

/// Whether `c` may not be shown as it is where `shown` says.
pub fn is_hostile(c: char, shown: Shown) -> bool {
    let kept = match shown {
        Shown::Line => c == '\t',
        Shown::Lines => matches!(c, '\t' | '\n'),
        Shown::Document => matches!(c, '\t' | '\n' | '\r'),
    };
    (c.is_control() && !kept) || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hostile_characters_in_each_place_text_is_shown() {
        // (character, hostile in a Line, in Lines, in a Document)
        let table = [
            ('a', false, false, false),
            ('ü', false, false, false),
            (' ', false, false, false),
            ('\t', false, false, false),
            ('\n', true, false, false),
            ('\r', true, true, false),
            ('\x1b', true, true, true), // ESC: escape sequences
            ('\x07', true, true, true), // BEL: ends an OSC title
            ('\0', true, true, true),
            ('\x7f', true, true, true),        // DEL
            ('\u{9b}', true, true, true),      // C1 CSI
            ('\u{85}', true, true, true),      // C1 NEL
            ('\u{202a}', true, true, true),    // LRE
            ('\u{202e}', true, true, true),    // RLO
            ('\u{2066}', true, true, true),    // LRI
            ('\u{2069}', true, true, true),    // PDI
            ('\u{2029}', false, false, false), // a separator, not a control
            ('\u{200f}', false, false, false), // RLM: a mark, reorders nothing
        ];
        for (c, line, lines, document) in table {
            assert_eq!(is_hostile(c, Shown::Line), line, "{c:?} in a line");
            assert_eq!(is_hostile(c, Shown::Lines), lines, "{c:?} in lines");
            assert_eq!(
                is_hostile(c, Shown::Document),
                document,
                "{c:?} in a document"
            );
        }
    }
}
