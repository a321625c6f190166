//! Unified diffs from line edits: a file's text and the lines to replace
//! or delete enter; the edited text and a `git apply`-able diff of the
//! file (git's `diff --git` header, three lines of context) leave. Line
//! endings are kept as the file has them.

use std::collections::BTreeMap;

/// Context lines around each change, as `git diff`.
const CONTEXT: usize = 3;

/// What happens to one line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineEdit {
    /// The line becomes this text (its line ending is kept).
    Replace(String),
    /// The line goes.
    Delete,
}

/// Lines of `text`, each with its line ending.
pub(crate) fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// `line` (with its ending) with its content replaced by `content`.
fn with_ending(line: &str, content: &str) -> String {
    let ending = if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    format!("{content}{ending}")
}

/// The text with `edits` (by line index) made.
pub(crate) fn apply(text: &str, edits: &BTreeMap<usize, LineEdit>) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, line) in lines(text).into_iter().enumerate() {
        match edits.get(&index) {
            None => out.push_str(line),
            Some(LineEdit::Replace(content)) => out.push_str(&with_ending(line, content)),
            Some(LineEdit::Delete) => {}
        }
    }
    out
}

/// One line of a hunk: its prefix (` `, `-`, `+`) and text, with the
/// marker git wants after a last line that has no line ending.
fn hunk_line(out: &mut String, prefix: char, line: &str) {
    out.push(prefix);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// The unified diff of `edits` to the file at `path` (relative to the
/// repository, `/`-separated), as `git diff` writes it; empty without
/// edits.
pub(crate) fn unified(path: &str, text: &str, edits: &BTreeMap<usize, LineEdit>) -> String {
    let old = lines(text);
    let changed: Vec<usize> = edits.keys().copied().filter(|i| *i < old.len()).collect();
    if changed.is_empty() {
        return String::new();
    }
    // Hunks: runs of changes whose contexts touch.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &index in &changed {
        let start = index.saturating_sub(CONTEXT);
        let end = (index + CONTEXT + 1).min(old.len());
        match hunks.last_mut() {
            Some((_, last_end)) if start <= *last_end => *last_end = end,
            _ => hunks.push((start, end)),
        }
    }
    let mut out = format!("diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n");
    // Lines deleted by earlier hunks move the new file's line numbers.
    let mut shift: isize = 0;
    for (start, end) in hunks {
        let deleted = (start..end)
            .filter(|i| edits.get(i) == Some(&LineEdit::Delete))
            .count();
        let old_count = end - start;
        let new_count = old_count - deleted;
        let new_start = (start as isize + 1 + shift).max(0);
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            start + 1,
            old_count,
            new_start,
            new_count
        ));
        // As git: the removed lines of a run, then the added ones.
        let mut added: Vec<String> = Vec::new();
        for (index, line) in old.iter().enumerate().take(end).skip(start) {
            match edits.get(&index) {
                None => {
                    for line in added.drain(..) {
                        hunk_line(&mut out, '+', &line);
                    }
                    hunk_line(&mut out, ' ', line);
                }
                Some(LineEdit::Delete) => hunk_line(&mut out, '-', line),
                Some(LineEdit::Replace(content)) => {
                    hunk_line(&mut out, '-', line);
                    added.push(with_ending(line, content));
                }
            }
        }
        for line in added.drain(..) {
            hunk_line(&mut out, '+', &line);
        }
        shift -= deleted as isize;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_line_with_context() {
        let text = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let edits = BTreeMap::from([(4, LineEdit::Replace("E".into()))]);
        assert_eq!(
            unified("x.yaml", text, &edits),
            "diff --git a/x.yaml b/x.yaml\n--- a/x.yaml\n+++ b/x.yaml\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        assert_eq!(apply(text, &edits), "a\nb\nc\nd\nE\nf\ng\nh\n");
    }

    #[test]
    fn deletions_shift_later_hunks_and_a_last_line_without_newline_is_marked() {
        let text = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl";
        let edits = BTreeMap::from([(1, LineEdit::Delete), (11, LineEdit::Replace("L".into()))]);
        let diff = unified("x", text, &edits);
        assert!(diff.contains("@@ -1,5 +1,4 @@\n a\n-b\n c\n"), "{diff}");
        assert!(diff.contains("@@ -9,4 +8,4 @@\n i\n j\n k\n-l\n\\ No newline at end of file\n+L\n\\ No newline at end of file\n"), "{diff}");
        assert_eq!(apply(text, &edits), "a\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL");
    }

    #[test]
    fn crlf_endings_stay() {
        let edits = BTreeMap::from([(0, LineEdit::Replace("b".into()))]);
        assert_eq!(apply("a\r\nc\r\n", &edits), "b\r\nc\r\n");
    }
}
