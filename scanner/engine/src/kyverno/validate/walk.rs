//! The `validate.pattern` walk: a resource and an (already substituted)
//! pattern enter; pass, fail with the failing path, or skip leave. It walks
//! maps and arrays as Kyverno's `pkg/engine/validate` (`MatchPattern`)
//! does, ordering and quirks included, handing anchored keys to
//! [`crate::anchor`] and leaf values to [`crate::kyverno::pattern`].

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::anchor::{parse_anchor, strip_anchor, AnchorKind, AnchorMap};
use crate::kyverno::pattern::value_matches;
use crate::value_types::wildcard;

/// Where and why a pattern did not pass.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatternFailure {
    /// Kyverno's path of the failing element, e.g. `/spec/containers/0/image/`.
    pub(crate) path: String,
    pub(crate) message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PatternOutcome {
    Pass,
    Fail(PatternFailure),
    Skip(PatternFailure),
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

/// Matches `resource` against `pattern` as Kyverno's `MatchPattern` does.
pub(crate) fn match_pattern(resource: &Value, pattern: &Value) -> PatternOutcome {
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
}
