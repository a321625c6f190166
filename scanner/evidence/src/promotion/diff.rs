//! Line edits and unified diffs: a file's text and the lines to replace
//! or delete enter; the edited text, and a `git apply`-able diff of the
//! file from its old text to its new one, leave. The edit is ours (it
//! keeps each line's ending, so a CRLF file stays CRLF); the diff is the
//! `similar` crate's unified diff (three lines of context,
//! `\ No newline at end of file` where git writes it) under git's
//! `diff --git` line.

use std::collections::{BTreeMap, BTreeSet};

use similar::TextDiff;

/// Context lines around each change, as `git diff`.
pub(crate) const CONTEXT: usize = 3;

/// What happens to one line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineEdit {
    /// The line becomes this text (its line ending is kept).
    Replace(String),
    /// The line goes.
    Delete,
}

/// The lines of `old` (by index) that `new` changes or deletes, and the
/// places (the index of the line after) where it inserts lines.
pub(crate) fn changed_lines(old: &str, new: &str) -> BTreeSet<usize> {
    let mut changed = BTreeSet::new();
    for op in TextDiff::from_lines(old, new).ops() {
        let (tag, old_range, _) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => {}
            similar::DiffTag::Insert => {
                changed.insert(old_range.start);
            }
            similar::DiffTag::Delete | similar::DiffTag::Replace => changed.extend(old_range),
        }
    }
    changed
}

/// Lines of `text`, each with its line ending.
pub(crate) fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Whether `text` has a carriage return that ends no CRLF: git reads it
/// as part of a line, YAML and `similar` as a line break, so the lines
/// edited and the lines diffed would differ.
pub(crate) fn has_lone_carriage_return(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .any(|(i, b)| *b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
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

/// The unified diff from `old` to `new` of the file at `path` (relative
/// to the repository, `/`-separated), as `git diff` writes it; empty when
/// they are the same.
pub(crate) fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let hunks = hunks(&format!("a/{path}"), &format!("b/{path}"), old, new);
    format!("diff --git a/{path} b/{path}\n{hunks}")
}

/// [`unified`] with `radius` lines of context around each change.
pub(crate) fn unified_around(path: &str, old: &str, new: &str, radius: usize) -> String {
    if old == new {
        return String::new();
    }
    let hunks = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(radius)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    format!("diff --git a/{path} b/{path}\n{hunks}")
}

/// The `---`/`+++` headers and hunks from `old` (named `old_name`) to
/// `new`; empty when they are the same.
pub(crate) fn hunks(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> std::process::Output {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(
            output.status.success() || args[0] == "diff",
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// The diff of `old` → `new`, checked against git: `git diff
    /// --no-index` writes the same hunks, and `git apply` in a repository
    /// holding `old` makes `new`.
    fn as_git_does(old: &str, new: &str) -> String {
        let diff = unified("x.yaml", old, new);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::write(root.join("old"), old).expect("write");
        std::fs::write(root.join("new"), new).expect("write");
        let by_git = git(root, &["diff", "--no-index", "--no-color", "old", "new"]);
        let by_git = String::from_utf8_lossy(&by_git.stdout);
        // The hunks, without the text git adds after a hunk's `@@` (the
        // line above it, for a reader).
        let hunks = |d: &str| {
            d[d.find("@@").unwrap_or(d.len())..]
                .split_inclusive('\n')
                .map(|line| match line.strip_prefix("@@ ") {
                    Some(rest) => match rest.find(" @@") {
                        Some(end) => format!("@@ {} @@\n", &rest[..end]),
                        None => line.to_string(),
                    },
                    None => line.to_string(),
                })
                .collect::<String>()
        };
        assert_eq!(hunks(&diff), hunks(&by_git), "git diff --no-index");
        assert_eq!(git_applied("x.yaml", old, &diff), new);
        diff
    }

    /// `old` at `path` in a new repository, after `git apply --check` and
    /// `git apply` of `diff`.
    pub(crate) fn git_applied(path: &str, old: &str, diff: &str) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        git(root, &["init", "-q"]);
        // No conversion of line endings, whatever the machine's config.
        git(root, &["config", "core.autocrlf", "false"]);
        let file = root.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&file, old).expect("write");
        std::fs::write(root.join("x.patch"), diff).expect("write");
        git(root, &["apply", "--check", "x.patch"]);
        git(root, &["apply", "x.patch"]);
        std::fs::read_to_string(&file).expect("read")
    }

    #[test]
    fn a_replaced_line_with_context() {
        let text = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let edits = BTreeMap::from([(4, LineEdit::Replace("E".into()))]);
        let new = apply(text, &edits);
        assert_eq!(new, "a\nb\nc\nd\nE\nf\ng\nh\n");
        assert_eq!(
            as_git_does(text, &new),
            "diff --git a/x.yaml b/x.yaml\n--- a/x.yaml\n+++ b/x.yaml\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn deletions_shift_later_hunks() {
        let text = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
        let edits = BTreeMap::from([(1, LineEdit::Delete), (11, LineEdit::Replace("L".into()))]);
        let new = apply(text, &edits);
        assert_eq!(new, "a\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL\n");
        let diff = as_git_does(text, &new);
        assert!(diff.contains("@@ -1,5 +1,4 @@\n a\n-b\n c\n"), "{diff}");
        assert!(
            diff.contains("@@ -9,4 +8,4 @@\n i\n j\n k\n-l\n+L\n"),
            "{diff}"
        );
    }

    #[test]
    fn a_last_line_without_newline_is_marked() {
        let text = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl";
        let edits = BTreeMap::from([(11, LineEdit::Replace("L".into()))]);
        let new = apply(text, &edits);
        assert_eq!(new, "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL");
        let diff = as_git_does(text, &new);
        assert!(
            diff.ends_with("@@ -9,4 +9,4 @@\n i\n j\n k\n-l\n\\ No newline at end of file\n+L\n\\ No newline at end of file\n"),
            "{diff}"
        );
    }

    #[test]
    fn crlf_endings_stay_and_apply() {
        let text = "a: 1\r\nb: Audit\r\nc: 3\r\nd: 4";
        let edits = BTreeMap::from([
            (1, LineEdit::Replace("b: Enforce".into())),
            (3, LineEdit::Replace("d: 5".into())),
        ]);
        let new = apply(text, &edits);
        assert_eq!(new, "a: 1\r\nb: Enforce\r\nc: 3\r\nd: 5");
        let diff = as_git_does(text, &new);
        assert!(diff.contains("-b: Audit\r\n+b: Enforce\r\n"), "{diff:?}");
    }

    #[test]
    fn lone_carriage_returns_are_told_apart_from_crlf() {
        assert!(!has_lone_carriage_return("a\r\nb\r\n"));
        assert!(has_lone_carriage_return("a\rb\r\n"));
        assert!(has_lone_carriage_return("a\r"));
    }
}
