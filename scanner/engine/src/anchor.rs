//! Kyverno's anchors on pattern keys — conditional `(k)`, equality `=(k)`,
//! negation `X(k)`, existence `^(k)`, global `<(k)`, add-if-not-present
//! `+(k)` — and the map that tracks whether anchored keys appeared in the
//! resource. A key enters; its anchor (kind and bare key) leaves. A port of
//! Kyverno's `pkg/engine/anchor`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnchorKind {
    Condition,
    Global,
    Negation,
    AddIfNotPresent,
    Equality,
    Existence,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anchor {
    pub(crate) kind: AnchorKind,
    pub(crate) key: String,
}

/// Parses `(key)`, `=(key)`, `X(key)`, `^(key)`, `<(key)`, `+(key)`.
pub(crate) fn parse_anchor(text: &str) -> Option<Anchor> {
    let text = text.trim();
    let (kind, rest) = match text.chars().next()? {
        '(' => (AnchorKind::Condition, text),
        '<' => (AnchorKind::Global, &text[1..]),
        'X' => (AnchorKind::Negation, &text[1..]),
        '+' => (AnchorKind::AddIfNotPresent, &text[1..]),
        '=' => (AnchorKind::Equality, &text[1..]),
        '^' => (AnchorKind::Existence, &text[1..]),
        _ => return None,
    };
    let key = rest.strip_prefix('(')?.strip_suffix(')')?;
    if key.is_empty() {
        return None;
    }
    Some(Anchor {
        kind,
        key: key.to_string(),
    })
}

/// The anchor a pattern key carries, if any (policy validation checks
/// which anchors a validate pattern may use).
pub(crate) fn anchor_kind(key: &str) -> Option<AnchorKind> {
    parse_anchor(key).map(|a| a.kind)
}

/// Strips an anchor from a key (`=(name)` → `name`); other keys unchanged.
pub(crate) fn strip_anchor(key: &str) -> String {
    parse_anchor(key)
        .map(|a| a.key)
        .unwrap_or_else(|| key.to_string())
}

/// Tracks whether anchored keys appeared in the resource (Kyverno's AnchorMap).
#[derive(Default)]
pub(crate) struct AnchorMap {
    seen: BTreeMap<String, bool>,
}

impl AnchorMap {
    pub(crate) fn check(&mut self, pattern: &Map<String, Value>, resource: &Value) {
        for key in pattern.keys() {
            if let Some(anchor) = parse_anchor(key) {
                if matches!(
                    anchor.kind,
                    AnchorKind::Condition | AnchorKind::Existence | AnchorKind::Negation
                ) {
                    let entry = self.seen.entry(key.clone()).or_insert(false);
                    if !*entry && has_key(resource, &anchor.key) {
                        *entry = true;
                    }
                }
            }
        }
    }

    pub(crate) fn keys_are_missing(&self) -> bool {
        self.seen.iter().any(|(key, present)| {
            !present && parse_anchor(key).is_some_and(|a| a.kind != AnchorKind::Negation)
        })
    }
}

pub(crate) fn has_key(resource: &Value, key: &str) -> bool {
    match resource {
        Value::Object(map) => map.contains_key(key),
        Value::Array(items) => items.iter().any(|item| has_key(item, key)),
        _ => false,
    }
}
