//! `validate.pattern` matching: a resource and an (already substituted)
//! pattern enter; pass, fail with the failing path, or skip leave. Covers the
//! anchors — conditional `(k)`, equality `=(k)`, negation `X(k)`, existence
//! `^(k)`, global `<(k)` — arrays of patterns, and leaf values with
//! wildcards, operators (`>`, `<=`, `!`, `|`, `&`, ranges `a-b`, `a!-b`),
//! quantities and durations. A port of Kyverno's `pkg/engine/validate`,
//! `pkg/engine/anchor` and `pkg/engine/pattern`, ordering and quirks included.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::duration;
use super::quantity::Quantity;
use super::wildcard;

/// Where and why a pattern did not pass.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternFailure {
    /// Kyverno's path of the failing element, e.g. `/spec/containers/0/image/`.
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PatternOutcome {
    Pass,
    Fail(PatternFailure),
    Skip(PatternFailure),
}

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
struct Anchor {
    kind: AnchorKind,
    key: String,
}

/// Parses `(key)`, `=(key)`, `X(key)`, `^(key)`, `<(key)`, `+(key)`.
fn parse_anchor(text: &str) -> Option<Anchor> {
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
pub fn strip_anchor(key: &str) -> String {
    parse_anchor(key)
        .map(|a| a.key)
        .unwrap_or_else(|| key.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    Plain,
    Conditional,
    Global,
    Negation,
    /// A sub-tree whose every branch was skipped (Kyverno's PatternError{Skip}).
    SkipAll,
}

#[derive(Debug, Clone)]
struct MatchError {
    kind: ErrorKind,
    message: String,
}

impl MatchError {
    fn plain(message: String) -> MatchError {
        MatchError {
            kind: ErrorKind::Plain,
            message,
        }
    }
    /// Kyverno's `skip()`: conditional or global anchor errors, matched by type
    /// or by message as Kyverno's `isError` does.
    fn is_skip(&self) -> bool {
        matches!(self.kind, ErrorKind::Conditional | ErrorKind::Global)
            || self.message.contains("conditional anchor mismatch")
            || self.message.contains("global anchor mismatch")
    }
    fn is_negation(&self) -> bool {
        self.kind == ErrorKind::Negation
            || self.message.contains("negation anchor matched in resource")
    }
}

type Step = Result<(), (String, MatchError)>;

/// Tracks whether anchored keys appeared in the resource (Kyverno's AnchorMap).
#[derive(Default)]
struct AnchorMap {
    seen: BTreeMap<String, bool>,
}

impl AnchorMap {
    fn check(&mut self, pattern: &Map<String, Value>, resource: &Value) {
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

    fn keys_are_missing(&self) -> bool {
        self.seen.iter().any(|(key, present)| {
            !present && parse_anchor(key).is_some_and(|a| a.kind != AnchorKind::Negation)
        })
    }
}

fn has_key(resource: &Value, key: &str) -> bool {
    match resource {
        Value::Object(map) => map.contains_key(key),
        Value::Array(items) => items.iter().any(|item| has_key(item, key)),
        _ => false,
    }
}

/// Matches `resource` against `pattern` as Kyverno's `MatchPattern` does.
pub fn match_pattern(resource: &Value, pattern: &Value) -> PatternOutcome {
    let mut anchors = AnchorMap::default();
    match validate_element(resource, pattern, "/", &mut anchors) {
        Ok(()) => PatternOutcome::Pass,
        Err((path, err)) => {
            if err.is_skip() || err.kind == ErrorKind::SkipAll {
                return PatternOutcome::Skip(PatternFailure {
                    path: String::new(),
                    message: err.message,
                });
            }
            if err.is_negation() {
                return PatternOutcome::Fail(PatternFailure {
                    path,
                    message: err.message,
                });
            }
            if anchors.keys_are_missing() {
                return PatternOutcome::Fail(PatternFailure {
                    path: String::new(),
                    message: err.message,
                });
            }
            PatternOutcome::Fail(PatternFailure {
                path,
                message: err.message,
            })
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

fn validate_element(
    resource: &Value,
    pattern: &Value,
    path: &str,
    anchors: &mut AnchorMap,
) -> Step {
    match pattern {
        Value::Object(pattern_map) => {
            let Value::Object(resource_map) = resource else {
                return Err((
                    path.to_string(),
                    MatchError::plain(format!(
                        "pattern and resource have different structures. Path: {path}. Expected {}, found {}",
                        type_name(pattern),
                        type_name(resource)
                    )),
                ));
            };
            anchors.check(pattern_map, resource);
            validate_map(resource_map, pattern_map, path, anchors)
        }
        Value::Array(pattern_items) => {
            let Value::Array(resource_items) = resource else {
                return Err((
                    path.to_string(),
                    MatchError::plain(format!(
                        "validation rule failed at path {path}, resource does not satisfy the expected overlay pattern"
                    )),
                ));
            };
            validate_array(resource_items, pattern_items, path, anchors)
        }
        _ => {
            let mismatch = || {
                Err((
                    path.to_string(),
                    MatchError::plain(format!(
                        "resource value '{}' does not match '{}' at path {path}",
                        display(resource),
                        display(pattern)
                    )),
                ))
            };
            if let Value::Array(items) = resource {
                for item in items {
                    if !value_matches(item, pattern) {
                        return mismatch();
                    }
                }
                return Ok(());
            }
            if !value_matches(resource, pattern) {
                return mismatch();
            }
            Ok(())
        }
    }
}

fn has_nested_anchors(pattern: &Value) -> bool {
    match pattern {
        Value::Object(map) => {
            map.keys().any(|k| {
                parse_anchor(k).is_some_and(|a| {
                    matches!(
                        a.kind,
                        AnchorKind::Condition
                            | AnchorKind::Existence
                            | AnchorKind::Equality
                            | AnchorKind::Negation
                            | AnchorKind::Global
                    )
                })
            }) || map.values().any(has_nested_anchors)
        }
        Value::Array(items) => items.iter().any(has_nested_anchors),
        _ => false,
    }
}

/// Kyverno's `ExpandInMetadata`: wildcard keys under `metadata.labels` and
/// `metadata.annotations` become the resource's matching keys.
/// The pattern is borrowed unless a wildcard key was expanded: most
/// patterns have none, and this runs at every level of every pattern.
fn expand_metadata<'a>(
    pattern: &'a Map<String, Value>,
    resource: &Map<String, Value>,
) -> Cow<'a, Map<String, Value>> {
    let Some((metadata_key, Value::Object(pattern_metadata))) =
        pattern.iter().find(|(k, _)| strip_anchor(k) == "metadata")
    else {
        return Cow::Borrowed(pattern);
    };
    let Some(Value::Object(resource_metadata)) = resource.get("metadata") else {
        return Cow::Borrowed(pattern);
    };
    let has_wildcard_key = ["labels", "annotations"].iter().any(|field| {
        pattern_metadata
            .iter()
            .find(|(k, _)| strip_anchor(k) == *field)
            .and_then(|(_, v)| v.as_object())
            .is_some_and(|fields| {
                fields.keys().any(|key| {
                    let bare = parse_anchor(key).map_or_else(|| key.clone(), |a| a.key);
                    wildcard::has_wildcard(&bare)
                })
            })
    });
    if !has_wildcard_key {
        return Cow::Borrowed(pattern);
    }
    let mut new_metadata = pattern_metadata.clone();
    for field in ["labels", "annotations"] {
        let Some((field_key, Value::Object(pattern_field))) = pattern_metadata
            .iter()
            .find(|(k, _)| strip_anchor(k) == field)
        else {
            continue;
        };
        let resource_field = resource_metadata.get(field).and_then(Value::as_object);
        let mut expanded = Map::new();
        for (key, value) in pattern_field {
            let anchor = parse_anchor(key);
            let bare = anchor
                .as_ref()
                .map(|a| a.key.clone())
                .unwrap_or_else(|| key.clone());
            if !wildcard::has_wildcard(&bare) {
                expanded.insert(key.clone(), value.clone());
                continue;
            }
            let matched = resource_field
                .and_then(|fields| fields.keys().find(|k| wildcard::matches(&bare, k)));
            let new_bare = match matched {
                Some(found) => found.clone(),
                None => bare.replace(['*', '?'], "0"),
            };
            let new_key = match &anchor {
                Some(a) => {
                    let prefix = match a.kind {
                        AnchorKind::Condition => "",
                        AnchorKind::Global => "<",
                        AnchorKind::Negation => "X",
                        AnchorKind::AddIfNotPresent => "+",
                        AnchorKind::Equality => "=",
                        AnchorKind::Existence => "^",
                    };
                    format!("{prefix}({new_bare})")
                }
                None => new_bare,
            };
            expanded.insert(new_key, value.clone());
        }
        new_metadata.insert(field_key.clone(), Value::Object(expanded));
    }
    let mut out = pattern.clone();
    out.insert(metadata_key.clone(), Value::Object(new_metadata));
    Cow::Owned(out)
}

fn validate_map(
    resource: &Map<String, Value>,
    pattern: &Map<String, Value>,
    path: &str,
    anchors: &mut AnchorMap,
) -> Step {
    let pattern = expand_metadata(pattern, resource);
    let mut anchor_keys: Vec<&String> = Vec::new();
    let mut plain_keys: Vec<&String> = Vec::new();
    for key in pattern.keys() {
        match parse_anchor(key).map(|a| a.kind) {
            Some(
                AnchorKind::Condition
                | AnchorKind::Existence
                | AnchorKind::Equality
                | AnchorKind::Negation,
            ) => anchor_keys.push(key),
            _ => plain_keys.push(key),
        }
    }
    anchor_keys.sort();
    let mut skip_errors: Vec<MatchError> = Vec::new();
    let mut applied = 0;
    for key in anchor_keys {
        let value = &pattern[key];
        match handle_element(key, value, resource, path, anchors) {
            Ok(()) => applied += 1,
            Err((err_path, err)) => {
                if err.is_skip() {
                    skip_errors.push(err);
                    continue;
                }
                // Kyverno only keeps going when a sibling was skipped by an anchor error.
                let skip_sibling = skip_errors.iter().any(|e| e.kind != ErrorKind::SkipAll);
                if !skip_sibling {
                    return Err((err_path, err));
                }
            }
        }
    }
    if !skip_errors.is_empty() {
        let skip_sibling = skip_errors.iter().any(|e| e.kind != ErrorKind::SkipAll);
        if applied == 0 || skip_sibling {
            let message = skip_errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            return Err((
                path.to_string(),
                MatchError {
                    kind: ErrorKind::SkipAll,
                    message,
                },
            ));
        }
    }
    // Globals and keys with nested anchors go first, then the rest, each sorted.
    plain_keys.sort();
    let mut front: Vec<&String> = Vec::new();
    let mut back: Vec<&String> = Vec::new();
    for key in plain_keys {
        let is_global = parse_anchor(key).is_some_and(|a| a.kind == AnchorKind::Global);
        if is_global || has_nested_anchors(&pattern[key]) {
            front.insert(0, key);
        } else {
            back.push(key);
        }
    }
    for key in front.into_iter().chain(back) {
        handle_element(key, &pattern[key], resource, path, anchors)?;
    }
    Ok(())
}

fn handle_element(
    key: &str,
    pattern: &Value,
    resource: &Map<String, Value>,
    path: &str,
    anchors: &mut AnchorMap,
) -> Step {
    let Some(anchor) = parse_anchor(key) else {
        let current = format!("{path}{key}/");
        let present = resource.get(key).filter(|v| !v.is_null());
        if pattern.as_str() == Some("*") {
            return match present {
                Some(_) => Ok(()),
                None => Err((
                    path.to_string(),
                    MatchError::plain(format!("{path}/{key} not found")),
                )),
            };
        }
        let value = resource.get(key).unwrap_or(&Value::Null);
        return validate_element(value, pattern, &current, anchors);
    };
    let current = format!("{path}{}/", anchor.key);
    let value = resource.get(&anchor.key);
    match anchor.kind {
        AnchorKind::Negation => match value {
            Some(_) => Err((
                current.clone(),
                MatchError {
                    kind: ErrorKind::Negation,
                    message: format!("negation anchor matched in resource: {current} is not allowed"),
                },
            )),
            None => Ok(()),
        },
        AnchorKind::Equality | AnchorKind::AddIfNotPresent => match value {
            Some(value) => validate_element(value, pattern, &current, anchors),
            None => Ok(()),
        },
        AnchorKind::Condition => match value {
            Some(value) => validate_element(value, pattern, &current, anchors).map_err(|(p, err)| {
                (
                    p,
                    MatchError {
                        kind: ErrorKind::Conditional,
                        message: format!("conditional anchor mismatch: {}", err.message),
                    },
                )
            }),
            None => Err((
                current,
                MatchError {
                    kind: ErrorKind::Conditional,
                    message: "conditional anchor mismatch: conditional anchor key doesn't exist in the resource".into(),
                },
            )),
        },
        AnchorKind::Global => match value {
            Some(value) => validate_element(value, pattern, &current, anchors).map_err(|(p, err)| {
                (
                    p,
                    MatchError {
                        kind: ErrorKind::Global,
                        message: format!("global anchor mismatch: {}", err.message),
                    },
                )
            }),
            None => Ok(()),
        },
        AnchorKind::Existence => match value {
            None => Ok(()),
            Some(Value::Array(items)) => {
                let Value::Array(patterns) = pattern else {
                    return Err((
                        current,
                        MatchError::plain(format!(
                            "invalid pattern type {}: Pattern has to be of list to compare against resource",
                            type_name(pattern)
                        )),
                    ));
                };
                for pattern_item in patterns {
                    if !pattern_item.is_object() {
                        return Err((
                            current,
                            MatchError::plain(format!(
                                "invalid pattern type {}: Pattern has to be of type map to compare against items in resource",
                                type_name(pattern)
                            )),
                        ));
                    }
                    let found = items.iter().enumerate().any(|(i, item)| {
                        let item_path = format!("{current}{i}/");
                        validate_element(item, pattern_item, &item_path, anchors).is_ok()
                    });
                    if !found {
                        return Err((
                            current.clone(),
                            MatchError::plain(format!("existence anchor validation failed at path {current}")),
                        ));
                    }
                }
                Ok(())
            }
            Some(other) => Err((
                current,
                MatchError::plain(format!(
                    "invalid resource type {}: Existence ^ () anchor can be used only on list/array type resource",
                    type_name(other)
                )),
            )),
        },
    }
}

fn validate_array(
    resource: &[Value],
    patterns: &[Value],
    path: &str,
    anchors: &mut AnchorMap,
) -> Step {
    let Some(first) = patterns.first() else {
        return Err((
            path.to_string(),
            MatchError::plain("pattern Array empty".into()),
        ));
    };
    match first {
        Value::Object(_) => {
            let mut applied = 0;
            let mut skips = Vec::new();
            for (i, item) in resource.iter().enumerate() {
                let item_path = format!("{path}{i}/");
                match validate_element(item, first, &item_path, anchors) {
                    Ok(()) => applied += 1,
                    Err((p, err)) => {
                        if err.is_skip() || err.kind == ErrorKind::SkipAll {
                            skips.push(err.message);
                            continue;
                        }
                        return Err((p, err));
                    }
                }
            }
            if applied == 0 && !skips.is_empty() {
                return Err((
                    path.to_string(),
                    MatchError {
                        kind: ErrorKind::SkipAll,
                        message: skips.join("; "),
                    },
                ));
            }
            Ok(())
        }
        Value::Array(_) => {
            if resource.len() < patterns.len() {
                return Err((
                    String::new(),
                    MatchError::plain(format!(
                        "validate Array failed, array length mismatch, resource Array len is {} and pattern Array len is {}",
                        resource.len(),
                        patterns.len()
                    )),
                ));
            }
            let mut applied = 0;
            let mut skips = Vec::new();
            for (i, pattern) in patterns.iter().enumerate() {
                let item_path = format!("{path}{i}/");
                match validate_element(&resource[i], pattern, &item_path, anchors) {
                    Ok(()) => applied += 1,
                    Err((p, err)) => {
                        if err.is_skip() {
                            skips.push(err.message);
                            continue;
                        }
                        return Err((p, err));
                    }
                }
            }
            if applied == 0 && !skips.is_empty() {
                return Err((
                    path.to_string(),
                    MatchError {
                        kind: ErrorKind::SkipAll,
                        message: skips.join("; "),
                    },
                ));
            }
            Ok(())
        }
        scalar => validate_element(&Value::Array(resource.to_vec()), scalar, path, anchors),
    }
}

// ---------------------------------------------------------------------------
// Leaf values (Kyverno's pkg/engine/pattern).

#[allow(clippy::expect_used)] // constant patterns
static IN_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([-|+]?\d+(?:\.\d+)?[A-Za-z]*)-([-|+]?\d+(?:\.\d+)?[A-Za-z]*)$")
        .expect("range regex")
});
#[allow(clippy::expect_used)]
static NOT_IN_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([-|+]?\d+(?:\.\d+)?[A-Za-z]*)!-([-|+]?\d+(?:\.\d+)?[A-Za-z]*)$")
        .expect("range regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    MoreEqual,
    LessEqual,
    NotEqual,
    More,
    Less,
    InRange,
    NotInRange,
}

impl Operator {
    fn prefix_len(self) -> usize {
        match self {
            Operator::Equal | Operator::InRange | Operator::NotInRange => 0,
            Operator::MoreEqual | Operator::LessEqual => 2,
            Operator::NotEqual | Operator::More | Operator::Less => 1,
        }
    }
}

fn operator_of(pattern: &str) -> Operator {
    if pattern.len() < 2 {
        return Operator::Equal;
    }
    if pattern.starts_with(">=") {
        Operator::MoreEqual
    } else if pattern.starts_with("<=") {
        Operator::LessEqual
    } else if pattern.starts_with('>') {
        Operator::More
    } else if pattern.starts_with('<') {
        Operator::Less
    } else if pattern.starts_with('!') {
        Operator::NotEqual
    } else if NOT_IN_RANGE.is_match(pattern) {
        Operator::NotInRange
    } else if IN_RANGE.is_match(pattern) {
        Operator::InRange
    } else {
        Operator::Equal
    }
}

/// True when a string is a Kyverno range pattern such as `1-10` or `1Mi-1Gi`.
pub fn is_in_range_pattern(text: &str) -> bool {
    operator_of(text) == Operator::InRange
}

/// Does a resource value satisfy a scalar (or map) pattern value?
pub fn value_matches(value: &Value, pattern: &Value) -> bool {
    match pattern {
        Value::Bool(p) => value.as_bool() == Some(*p),
        Value::Number(p) => {
            let p = p.as_f64().unwrap_or_default();
            match value {
                Value::Number(v) => v.as_f64() == Some(p),
                Value::String(s) => {
                    if p.fract() == 0.0 {
                        s.parse::<i64>().ok().map(|i| i as f64) == Some(p)
                    } else {
                        s.parse::<f64>().ok() == Some(p)
                    }
                }
                _ => false,
            }
        }
        Value::Null => match value {
            Value::Number(v) => v.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            Value::Bool(b) => !b,
            Value::Null => true,
            _ => false,
        },
        Value::Object(_) => value.is_object(),
        Value::String(p) => string_patterns(value, p),
        Value::Array(_) => false,
    }
}

fn string_patterns(value: &Value, pattern: &str) -> bool {
    if value.as_str() == Some(pattern) {
        return true;
    }
    pattern.split('|').any(|alternative| {
        alternative
            .trim_matches(' ')
            .split('&')
            .all(|condition| string_pattern(value, condition.trim_matches(' ')))
    })
}

fn string_pattern(value: &Value, pattern: &str) -> bool {
    let op = operator_of(pattern);
    match op {
        Operator::InRange => match IN_RANGE.captures(pattern) {
            Some(caps) => {
                string_pattern(value, &format!(">= {}", &caps[1]))
                    && string_pattern(value, &format!("<= {}", &caps[2]))
            }
            None => false,
        },
        Operator::NotInRange => match NOT_IN_RANGE.captures(pattern) {
            Some(caps) => {
                string_pattern(value, &format!("< {}", &caps[1]))
                    || string_pattern(value, &format!("> {}", &caps[2]))
            }
            None => false,
        },
        _ => {
            let operand = pattern.get(op.prefix_len()..).unwrap_or("").trim();
            compare_string_value(value, operand, op)
        }
    }
}

/// Kyverno's `convertNumberToString`: nil is "0", floats print with `%f`.
fn number_to_string(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("0".into()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(format!("{:.6}", n.as_f64().unwrap_or_default())),
        _ => None,
    }
}

fn apply(op: Operator, ordering: std::cmp::Ordering) -> Option<bool> {
    use std::cmp::Ordering::*;
    Some(match op {
        Operator::Equal => ordering == Equal,
        Operator::NotEqual => ordering != Equal,
        Operator::More => ordering == Greater,
        Operator::Less => ordering == Less,
        Operator::MoreEqual => ordering != Less,
        Operator::LessEqual => ordering != Greater,
        Operator::InRange | Operator::NotInRange => return None,
    })
}

fn compare_string_value(value: &Value, pattern: &str, op: Operator) -> bool {
    // Durations first, then quantities, then strings (with wildcards).
    if let (Some(p), Some(v)) = (
        duration::parse(pattern),
        number_to_string(value).and_then(|s| duration::parse(&s)),
    ) {
        if let Some(result) = apply(op, v.cmp(&p)) {
            return result;
        }
    }
    if let (Some(p), Some(v)) = (
        Quantity::parse(pattern),
        number_to_string(value).and_then(|s| Quantity::parse(&s)),
    ) {
        if let Some(ordering) = v.value.partial_cmp(&p.value) {
            if let Some(result) = apply(op, ordering) {
                return result;
            }
        }
    }
    if op != Operator::Equal && op != Operator::NotEqual {
        return false;
    }
    let text = match value {
        Value::Number(n) => go_format_e(n.as_f64().unwrap_or_default()),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        _ => return false,
    };
    let matched = wildcard::matches(pattern, &text);
    if op == Operator::NotEqual {
        !matched
    } else {
        matched
    }
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`: `2E+00`, `1.5E+01`.
fn go_format_e(value: f64) -> String {
    let text = format!("{value:E}");
    let (mantissa, exponent) = text.split_once('E').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}E{sign}{:02}", exponent.abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(resource: Value, pattern: Value) -> PatternOutcome {
        match_pattern(&resource, &pattern)
    }

    fn passes(resource: Value, pattern: Value) -> bool {
        outcome(resource, pattern) == PatternOutcome::Pass
    }

    fn fail_path(resource: Value, pattern: Value) -> String {
        match outcome(resource, pattern) {
            PatternOutcome::Fail(f) => f.path,
            other => panic!("expected fail, got {other:?}"),
        }
    }

    fn skipped(resource: Value, pattern: Value) -> bool {
        matches!(outcome(resource, pattern), PatternOutcome::Skip(_))
    }

    #[test]
    fn leaf_wildcards_and_operators() {
        assert!(value_matches(&json!("nginx:1.2"), &json!("nginx:*")));
        assert!(value_matches(&json!("nginx:1.2"), &json!("!*:latest")));
        assert!(!value_matches(&json!("nginx:latest"), &json!("!*:latest")));
        assert!(value_matches(&json!("a"), &json!("?*")));
        assert!(!value_matches(&json!(""), &json!("?*")));
        assert!(value_matches(&json!(5), &json!(">3")));
        assert!(value_matches(&json!(5), &json!(">=5")));
        assert!(!value_matches(&json!(5), &json!("<5")));
        assert!(value_matches(&json!("2Gi"), &json!(">1Gi")));
        assert!(value_matches(&json!("500Mi"), &json!("<=1Gi")));
        assert!(value_matches(&json!("90s"), &json!("<2m")));
        assert!(value_matches(&json!(8), &json!("1-10")));
        assert!(!value_matches(&json!(11), &json!("1-10")));
        assert!(value_matches(&json!(11), &json!("1!-10")));
        assert!(value_matches(&json!("b"), &json!("a | b")));
        assert!(value_matches(&json!(5), &json!(">1 & <10")));
        assert!(!value_matches(&json!(15), &json!(">1 & <10")));
        assert!(value_matches(&json!("x"), &json!("*")));
        assert!(value_matches(&json!(3), &json!("*")));
        assert!(!value_matches(&json!("abc"), &json!(">1")));
    }

    #[test]
    fn leaf_numbers_bools_and_null() {
        assert!(value_matches(&json!(1), &json!(1.0)));
        assert!(value_matches(&json!("1"), &json!(1)));
        assert!(!value_matches(&json!("true"), &json!(true)));
        assert!(value_matches(&json!(false), &Value::Null));
        assert!(value_matches(&json!(""), &Value::Null));
        assert!(value_matches(&Value::Null, &Value::Null));
        assert!(!value_matches(&json!("x"), &Value::Null));
        assert!(value_matches(&json!({"a": 1}), &json!({})));
    }

    #[test]
    fn maps_and_arrays() {
        let pod = json!({"spec": {"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "nginx:latest"}]}});
        assert_eq!(
            fail_path(
                pod.clone(),
                json!({"spec": {"containers": [{"image": "!*:latest"}]}})
            ),
            "/spec/containers/1/image/"
        );
        assert!(passes(
            pod.clone(),
            json!({"spec": {"containers": [{"name": "*"}]}})
        ));
        assert_eq!(
            fail_path(pod, json!({"spec": {"hostNetwork": true}})),
            "/spec/hostNetwork/"
        );
        assert!(passes(json!({"a": ["x", "y"]}), json!({"a": "?*"})));
        assert!(!passes(json!({"a": ["x", ""]}), json!({"a": "?*"})));
    }

    #[test]
    fn star_requires_presence() {
        assert!(passes(
            json!({"metadata": {"labels": {"app": "x"}}}),
            json!({"metadata": {"labels": {"app": "*"}}})
        ));
        assert!(!passes(
            json!({"metadata": {"labels": {}}}),
            json!({"metadata": {"labels": {"app": "*"}}})
        ));
    }

    #[test]
    fn equality_anchor_checks_only_when_present() {
        let pattern = json!({"spec": {"=(hostNetwork)": false}});
        assert!(passes(json!({"spec": {}}), pattern.clone()));
        assert!(passes(
            json!({"spec": {"hostNetwork": false}}),
            pattern.clone()
        ));
        assert!(!passes(json!({"spec": {"hostNetwork": true}}), pattern));
        let nested = json!({"spec": {"=(securityContext)": {"=(runAsUser)": ">0"}}});
        assert!(passes(json!({"spec": {}}), nested.clone()));
        assert!(!passes(
            json!({"spec": {"securityContext": {"runAsUser": 0}}}),
            nested
        ));
    }

    #[test]
    fn negation_anchor_forbids_the_key() {
        let pattern = json!({"spec": {"X(hostPath)": "null"}});
        assert!(passes(json!({"spec": {}}), pattern.clone()));
        assert_eq!(
            fail_path(json!({"spec": {"hostPath": {}}}), pattern),
            "/spec/hostPath/"
        );
    }

    #[test]
    fn conditional_anchor_skips_when_condition_fails() {
        let pattern = json!({"metadata": {"(name)": "web-*"}, "spec": {"replicas": ">1"}});
        assert!(skipped(
            json!({"metadata": {"name": "db"}, "spec": {"replicas": 1}}),
            pattern.clone()
        ));
        assert!(!passes(
            json!({"metadata": {"name": "web-1"}, "spec": {"replicas": 1}}),
            pattern.clone()
        ));
        assert!(passes(
            json!({"metadata": {"name": "web-1"}, "spec": {"replicas": 2}}),
            pattern
        ));
    }

    #[test]
    fn conditional_anchor_in_array_elements() {
        let pattern = json!({"spec": {"containers": [{"(name)": "web*", "image": "!*:latest"}]}});
        let mixed = json!({"spec": {"containers": [{"name": "db", "image": "x:latest"}, {"name": "web", "image": "x:1"}]}});
        assert!(passes(mixed, pattern.clone()));
        let bad = json!({"spec": {"containers": [{"name": "db", "image": "x:latest"}, {"name": "web", "image": "x:latest"}]}});
        assert!(!passes(bad, pattern.clone()));
        let none = json!({"spec": {"containers": [{"name": "db", "image": "x:latest"}]}});
        assert!(skipped(none, pattern));
    }

    #[test]
    fn existence_anchor_needs_one_match() {
        let pattern = json!({"spec": {"^(containers)": [{"image": "nginx:*"}]}});
        assert!(passes(
            json!({"spec": {"containers": [{"image": "redis"}, {"image": "nginx:1"}]}}),
            pattern.clone()
        ));
        assert!(!passes(
            json!({"spec": {"containers": [{"image": "redis"}]}}),
            pattern
        ));
    }

    #[test]
    fn global_anchor_skips_the_whole_rule() {
        let pattern = json!({"spec": {"containers": [{"name": "*", "<(image)": "nginx*"}], "imagePullSecrets": [{"name": "regcred"}]}});
        assert!(skipped(
            json!({"spec": {"containers": [{"name": "a", "image": "redis"}]}}),
            pattern.clone()
        ));
        assert!(!passes(
            json!({"spec": {"containers": [{"name": "a", "image": "nginx"}]}}),
            pattern.clone()
        ));
        assert!(passes(
            json!({"spec": {"containers": [{"name": "a", "image": "nginx"}], "imagePullSecrets": [{"name": "regcred"}]}}),
            pattern
        ));
    }

    #[test]
    fn wildcard_label_keys_expand() {
        let pattern = json!({"metadata": {"labels": {"app.kubernetes.io/*": "?*"}}});
        assert!(passes(
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}),
            pattern.clone()
        ));
        assert!(!passes(
            json!({"metadata": {"labels": {"team": "x"}}}),
            pattern
        ));
    }

    #[test]
    fn structure_mismatch_fails() {
        assert!(!passes(json!({"spec": "text"}), json!({"spec": {"a": 1}})));
        assert!(!passes(
            json!({"spec": {"a": 1}}),
            json!({"spec": [{"a": 1}]})
        ));
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_format_e(2.0), "2E+00");
        assert_eq!(go_format_e(15.0), "1.5E+01");
        assert_eq!(go_format_e(0.001), "1E-03");
    }
}
