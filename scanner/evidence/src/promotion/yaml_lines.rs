//! A line-level reading of block YAML, for editing a value where it is
//! written: a document's text enters; per key or list item, its path from
//! the document's root, its line and where on that line its value is
//! written leave ([`Entry`]). Nothing is re-serialised, so comments,
//! indentation and quoting survive an edit. Flow collections are values
//! (their inside is not walked); block scalars (`|`, `>`) are skipped;
//! Helm template lines (`{{ … }}` alone on a line) are ignored.

use std::ops::Range;

/// One step of a path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A mapping key, unquoted.
    Key(String),
    /// A list item's index.
    Index(usize),
}

/// A key or list item as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// From the document's root.
    pub path: Vec<Segment>,
    /// The line's index in the text given (0-based).
    pub line: usize,
    /// Bytes of the line holding the value (quotes included, a trailing
    /// comment and spaces not); empty when the value is a block below.
    pub value: Range<usize>,
}

impl Entry {
    /// Whether the path is `keys` (keys only, `None` matching any index).
    pub fn path_is(&self, pattern: &[Option<&str>]) -> bool {
        self.path.len() == pattern.len()
            && self
                .path
                .iter()
                .zip(pattern)
                .all(|(segment, want)| match (segment, want) {
                    (Segment::Key(key), Some(want)) => key == want,
                    (Segment::Index(_), None) => true,
                    _ => false,
                })
    }
}

/// A frame of the walk: an open key or list item and the column it
/// starts at.
struct Frame {
    column: usize,
    segment: Segment,
}

/// Every key and list item of `lines` (one document), in order.
pub(crate) fn entries(lines: &[&str]) -> Vec<Entry> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut found = Vec::new();
    // Lines deeper than this column belong to a block scalar.
    let mut block_scalar_above: Option<usize> = None;
    // Inside a template action that spans lines (`{{/*` … `*/}}`): its
    // lines are no YAML, whatever they look like.
    let mut in_template = false;
    for (number, raw) in lines.iter().enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        let mut column = line.len() - trimmed.len();
        if let Some(parent) = block_scalar_above {
            if trimmed.is_empty() || column > parent {
                continue;
            }
            block_scalar_above = None;
        }
        if in_template {
            in_template = !closes_template(line);
            continue;
        }
        if trimmed.starts_with("{{") && !closes_template(trimmed) {
            in_template = true;
            continue;
        }
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with("{{")
            || trimmed == "---"
            || trimmed.starts_with("--- ")
            || trimmed == "..."
            // Tabs are not YAML indentation: nothing here is trusted.
            || line[..column].contains('\t')
        {
            continue;
        }
        let mut rest = trimmed;
        // The column of the last `-` of the line, for a `- |` item.
        let mut dash = column;
        // List items, possibly nested on one line (`- - a`).
        while rest == "-" || rest.starts_with("- ") {
            dash = column;
            while stack.last().is_some_and(|f| f.column > column) {
                stack.pop();
            }
            let index = match stack.last() {
                Some(Frame {
                    column: c,
                    segment: Segment::Index(i),
                }) if *c == column => {
                    let next = i + 1;
                    stack.pop();
                    next
                }
                _ => 0,
            };
            stack.push(Frame {
                column,
                segment: Segment::Index(index),
            });
            let after = &rest[1..];
            let spaces = after.len() - after.trim_start().len();
            column += 1 + spaces;
            rest = after.trim_start();
            if rest.is_empty() {
                found.push(Entry {
                    path: stack.iter().map(|f| f.segment.clone()).collect(),
                    line: number,
                    value: column..column,
                });
            }
        }
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        match split_key(rest) {
            Some((key, value_offset)) => {
                while stack.last().is_some_and(|f| f.column >= column) {
                    stack.pop();
                }
                stack.push(Frame {
                    column,
                    segment: Segment::Key(key),
                });
                let value = value_range(line, column + value_offset);
                if line[value.clone()].starts_with(['|', '>']) {
                    block_scalar_above = Some(column);
                }
                found.push(Entry {
                    path: stack.iter().map(|f| f.segment.clone()).collect(),
                    line: number,
                    value,
                });
            }
            None => {
                // A block scalar item (`- |`): its lines are deeper than
                // the dash.
                if rest.starts_with(['|', '>']) {
                    block_scalar_above = Some(dash);
                }
                // A scalar list item (`- Audit`).
                if matches!(
                    stack.last(),
                    Some(Frame {
                        segment: Segment::Index(_),
                        ..
                    })
                ) {
                    found.push(Entry {
                        path: stack.iter().map(|f| f.segment.clone()).collect(),
                        line: number,
                        value: value_range(line, column),
                    });
                }
            }
        }
    }
    found
}

/// Whether `text` closes the template action its line opens or continues
/// (a `}}` after the last `{{`).
fn closes_template(text: &str) -> bool {
    let after_open = text.rfind("{{").map(|at| &text[at..]).unwrap_or(text);
    after_open.contains("}}")
}

/// `key: rest` → the key (unquoted) and the offset just after its `:`.
fn split_key(text: &str) -> Option<(String, usize)> {
    let (key, after) = match text.chars().next()? {
        quote @ ('"' | '\'') => {
            let end = text[1..].find(quote)? + 1;
            (text[1..end].to_string(), end + 1)
        }
        '[' | '{' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' => return None,
        _ => {
            let colon = text
                .char_indices()
                .find(|(i, c)| {
                    *c == ':' && matches!(text[i + 1..].chars().next(), None | Some(' ' | '\t'))
                })
                .map(|(i, _)| i)?;
            let key = &text[..colon];
            // A ` #` before the colon makes it a comment, not a key.
            if key.contains(" #") || key.contains("{{") {
                return None;
            }
            (key.trim_end().to_string(), colon)
        }
    };
    if !text[after..].starts_with(':') {
        return None;
    }
    let rest = &text[after + 1..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, after + 1))
}

/// The value's bytes from `start`: leading spaces, a trailing comment (a
/// `#` after a space, outside quotes and `{{ }}`) and trailing spaces left
/// out.
fn value_range(line: &str, start: usize) -> Range<usize> {
    let bytes = line.as_bytes();
    let mut begin = start.min(line.len());
    while begin < line.len() && (bytes[begin] == b' ' || bytes[begin] == b'\t') {
        begin += 1;
    }
    let mut end = line.len();
    let mut quote: Option<u8> = None;
    let mut braces = 0usize;
    let mut index = begin;
    while index < line.len() {
        let byte = bytes[index];
        match quote {
            Some(q) if byte == q => quote = None,
            Some(_) => {}
            None => match byte {
                b'"' | b'\''
                    if index == begin
                        || bytes[index - 1] == b'['
                        || bytes[index - 1] == b' '
                        || bytes[index - 1] == b',' =>
                {
                    quote = Some(byte)
                }
                b'{' => braces += 1,
                b'}' => braces = braces.saturating_sub(1),
                b'#' if braces == 0 && index > begin && bytes[index - 1] == b' ' => {
                    end = index;
                    break;
                }
                _ => {}
            },
        }
        index += 1;
    }
    while end > begin && (bytes[end - 1] == b' ' || bytes[end - 1] == b'\t') {
        end -= 1;
    }
    begin..end
}

/// A scalar as YAML reads it, without quotes (plain scalars as written).
pub(crate) fn unquote(value: &str) -> &str {
    let trimmed = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = trimmed
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    trimmed
}

/// `new` written as `old` was: in the same quotes, or plain.
pub(crate) fn requote(old: &str, new: &str) -> String {
    match old.trim().chars().next() {
        Some(quote @ ('"' | '\'')) => format!("{quote}{new}{quote}"),
        _ => new.to_string(),
    }
}

/// The items of a one-line flow list (`[Audit, "Warn"]`), as written;
/// None when the value is not one.
pub(crate) fn flow_items(value: &str) -> Option<Vec<&str>> {
    let inner = value.trim().strip_prefix('[')?.strip_suffix(']')?;
    if inner.contains(['[', ']', '{', '}']) && !inner.contains("{{") {
        return None;
    }
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    Some(inner.split(',').map(str::trim).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<(String, usize, String)> {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        entries(&lines)
            .into_iter()
            .map(|e| {
                let path = e
                    .path
                    .iter()
                    .map(|s| match s {
                        Segment::Key(k) => k.clone(),
                        Segment::Index(i) => i.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(".");
                let line = lines[e.line].trim_end_matches('\n');
                (path, e.line, line[e.value].to_string())
            })
            .collect()
    }

    #[test]
    fn keys_items_comments_and_block_scalars() {
        let text = "kind: ClusterPolicy # the kind\nmetadata:\n  name: \"p\"\n  annotations:\n    d: |\n      a: not a key\n\nspec:\n  validationFailureAction: Audit   # for now\n  rules:\n  - name: a\n    validate:\n      failureAction: 'Audit'\n  -   name: b\n  list:\n    - Audit\n    - Warn\n";
        let found = paths(text);
        assert!(found.contains(&("kind".into(), 0, "ClusterPolicy".into())));
        assert!(found.contains(&("metadata.name".into(), 2, "\"p\"".into())));
        assert!(!found.iter().any(|(p, _, _)| p.ends_with(".a")));
        assert!(found.contains(&("spec.validationFailureAction".into(), 8, "Audit".into())));
        assert!(found.contains(&(
            "spec.rules.0.validate.failureAction".into(),
            12,
            "'Audit'".into()
        )));
        assert!(found.contains(&("spec.rules.1.name".into(), 13, "b".into())));
        assert!(found.contains(&("spec.list.0".into(), 15, "Audit".into())));
        assert!(found.contains(&("spec.list.1".into(), 16, "Warn".into())));
    }

    #[test]
    fn template_values_keep_their_braces() {
        let found = paths("spec:\n{{- if .Values.on }}\n  a: {{ .Values.x | quote }} # c\n  b: [Audit] # c\n{{- end }}\n");
        assert!(found.contains(&("spec.a".into(), 2, "{{ .Values.x | quote }}".into())));
        assert!(found.contains(&("spec.b".into(), 3, "[Audit]".into())));
    }

    #[test]
    fn template_comments_over_lines_and_block_scalar_items_are_not_keys() {
        let found = paths("spec:\n  {{/*\n  validationFailureAction: Enforce\n  */}}\n  {{- /* one line */}}\n  validationFailureAction: Audit\n  list:\n  - |\n    failureAction: Audit\n  - b\n");
        let actions: Vec<_> = found
            .iter()
            .filter(|(p, _, _)| p.contains("ailureAction"))
            .collect();
        assert_eq!(
            actions,
            [&("spec.validationFailureAction".into(), 5, "Audit".into())]
        );
        assert!(found.contains(&("spec.list.1".into(), 9, "b".into())));
    }

    #[test]
    fn scalars_and_lists_as_written() {
        assert_eq!(unquote("'Audit'"), "Audit");
        assert_eq!(requote("\"Audit\"", "Enforce"), "\"Enforce\"");
        assert_eq!(requote("Audit", "Enforce"), "Enforce");
        assert_eq!(
            flow_items("[Audit, \"Warn\"]"),
            Some(vec!["Audit", "\"Warn\""])
        );
        assert_eq!(flow_items("Audit"), None);
    }
}
