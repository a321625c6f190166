//! Condition operators of `preconditions` and `deny.conditions`: one
//! substituted key, one substituted value and an operator name enter; true or
//! false leaves. Mirrors Kyverno's `pkg/engine/variables/operator`, quirks
//! included: durations and quantities compare as such, `In`-family values may
//! be lists, JSON-encoded lists, wildcards or ranges (`1-10`), and numbers
//! are compared as Go's float64.

use serde_json::Value;

use crate::value_types::duration;
use crate::value_types::quantity::Quantity;
use crate::value_types::wildcard;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub(crate) enum OperatorError {
    #[error("unknown condition operator {0:?}")]
    UnknownOperator(String),
}

/// Evaluates `key <operator> value`.
pub(crate) fn evaluate(operator: &str, key: &Value, value: &Value) -> Result<bool, OperatorError> {
    let op = operator.to_ascii_lowercase();
    Ok(match op.as_str() {
        "equal" | "equals" => equals(key, value),
        "notequal" | "notequals" => not_equals(key, value),
        "in" => in_family(key, value, Family::In),
        "notin" => in_family(key, value, Family::NotIn),
        "anyin" => in_family(key, value, Family::AnyIn),
        "allin" => in_family(key, value, Family::AllIn),
        "anynotin" => in_family(key, value, Family::AnyNotIn),
        "allnotin" => in_family(key, value, Family::AllNotIn),
        "greaterthan" | "greaterthanorequals" | "lessthan" | "lessthanorequals" => {
            numeric(key, value, &op)
        }
        "durationgreaterthan"
        | "durationgreaterthanorequals"
        | "durationlessthan"
        | "durationlessthanorequals" => duration_compare(key, value, &op),
        _ => return Err(OperatorError::UnknownOperator(operator.to_string())),
    })
}

/// Go's `fmt.Sprint` of a JSON value.
pub(crate) fn go_sprint(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => format_float(n.as_f64().unwrap_or_default()),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_sprint).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_sprint(&map[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// A float as Go's `%v` prints it (integers without a fraction).
pub(crate) fn format_float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e21 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn parse_go_float(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed != text {
        return None;
    }
    trimmed
        .parse::<f64>()
        .ok()
        .filter(|f| !f.is_nan() || trimmed.eq_ignore_ascii_case("nan"))
}

/// Kyverno's `parseDuration`: at least one side must be a duration string
/// (other than "0"); a number on the other side counts as seconds.
fn parse_durations(key: &Value, value: &Value) -> Option<(f64, f64)> {
    let as_duration = |v: &Value| match v {
        Value::String(s) if s != "0" => duration::parse(s).map(|n| n as f64 / 1e9),
        _ => None,
    };
    let key_d = as_duration(key);
    let value_d = as_duration(value);
    if key_d.is_none() && value_d.is_none() {
        return None;
    }
    let seconds = |v: &Value| -> Option<f64> { v.as_f64().map(|n| n.trunc()) };
    Some((
        key_d.or_else(|| seconds(key))?,
        value_d.or_else(|| seconds(value))?,
    ))
}

fn equals(key: &Value, value: &Value) -> bool {
    match key {
        Value::Bool(k) => value.as_bool() == Some(*k),
        Value::Number(k) => {
            let k = k.as_f64().unwrap_or_default();
            match value {
                Value::Number(v) => v.as_f64() == Some(k),
                Value::String(s) => parse_go_float(s) == Some(k),
                _ => false,
            }
        }
        Value::String(k) => {
            if let Some((a, b)) = parse_durations(key, value) {
                return a == b;
            }
            if let Some(kq) = Quantity::parse(k) {
                if let Value::String(v) = value {
                    return Quantity::parse(v).is_some_and(|vq| vq.value == kq.value);
                }
            }
            match value {
                Value::String(pattern) => wildcard::matches(pattern, k),
                _ => false,
            }
        }
        Value::Object(_) | Value::Array(_) => deep_equal(key, value),
        Value::Null => false,
    }
}

fn not_equals(key: &Value, value: &Value) -> bool {
    match key {
        Value::Null => false,
        Value::String(k) => {
            if let Some((a, b)) = parse_durations(key, value) {
                return a != b;
            }
            if let Some(kq) = Quantity::parse(k) {
                if let Value::String(v) = value {
                    if v.is_empty() {
                        return !wildcard::matches(v, k);
                    }
                    return Quantity::parse(v).is_none_or(|vq| vq.value != kq.value);
                }
            }
            match value {
                Value::String(pattern) => !wildcard::matches(pattern, k),
                _ => true,
            }
        }
        _ => !equals(key, value),
    }
}

/// Deep equality with numbers compared as floats (Go decodes JSON that way).
fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => a == b,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    In,
    NotIn,
    AnyIn,
    AllIn,
    AnyNotIn,
    AllNotIn,
}

fn either_matches(a: &str, b: &str) -> bool {
    wildcard::matches(a, b) || wildcard::matches(b, a)
}

/// A value string that is a range such as `1-10` (Kyverno's InRange).
fn is_range(text: &str) -> bool {
    crate::kyverno::pattern::is_in_range_pattern(text)
}

fn range_holds(key: &str, range: &str) -> bool {
    crate::kyverno::pattern::value_matches(
        &Value::String(key.to_string()),
        &Value::String(range.to_string()),
    )
}

/// The value string as a list: a JSON string array, or the string itself.
/// `None` when it is JSON but not a string array (Kyverno: invalid type).
fn string_list(text: &str, json_required: bool) -> Option<Vec<String>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<String>>>(),
        Ok(_) => None,
        Err(_) if json_required => None,
        Err(_) => Some(vec![text.to_string()]),
    }
}

fn in_family(key: &Value, value: &Value, family: Family) -> bool {
    match key {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
            let key = go_sprint(key);
            let exists = match single_key_in(&key, value, family) {
                Some(exists) => exists,
                None => return false,
            };
            match family {
                Family::In | Family::AnyIn | Family::AllIn => exists,
                Family::NotIn | Family::AnyNotIn | Family::AllNotIn => !exists,
            }
        }
        Value::Array(items) => {
            let keys: Vec<String> = items.iter().map(go_sprint).collect();
            set_in(&keys, value, family).unwrap_or(false)
        }
        _ => false,
    }
}

/// Kyverno's `keyExistsInArray` family for one key; `None` is an invalid type.
fn single_key_in(key: &str, value: &Value, family: Family) -> Option<bool> {
    match value {
        Value::Array(items) => Some(items.iter().any(|v| either_matches(&go_sprint(v), key))),
        Value::String(text) => {
            if wildcard::matches(text, key) {
                return Some(true);
            }
            let plain_in = matches!(family, Family::In | Family::NotIn);
            if !plain_in && is_range(text) {
                return Some(range_holds(key, text));
            }
            let list = string_list(text, plain_in)?;
            Some(list.iter().any(|v| v == key))
        }
        _ => None,
    }
}

/// Kyverno's `setExistsInArray` family for a list key; `None` is an invalid type.
fn set_in(keys: &[String], value: &Value, family: Family) -> Option<bool> {
    let values: Vec<String> = match value {
        Value::Array(items) => {
            if matches!(family, Family::In | Family::NotIn) {
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()?
            } else {
                items.iter().map(go_sprint).collect()
            }
        }
        Value::Number(_) | Value::Bool(_) if matches!(family, Family::AnyIn | Family::AnyNotIn) => {
            vec![go_sprint(value)]
        }
        Value::String(text) => {
            if keys.len() == 1 && keys[0] == *text {
                return Some(!matches!(
                    family,
                    Family::NotIn | Family::AnyNotIn | Family::AllNotIn
                ));
            }
            let plain_in = matches!(family, Family::In | Family::NotIn);
            if !plain_in && is_range(text) {
                return Some(match family {
                    Family::AnyIn => keys.iter().any(|k| range_holds(k, text)),
                    Family::AnyNotIn => {
                        let outside = text.replacen('-', "!-", 1);
                        keys.iter().any(|k| range_holds(k, &outside))
                    }
                    Family::AllIn => keys.iter().all(|k| range_holds(k, text)),
                    _ => !keys.iter().any(|k| range_holds(k, text)),
                });
            }
            string_list(text, plain_in)?
        }
        _ => return None,
    };
    Some(match family {
        // In/NotIn compare exactly; the Any/All forms use wildcards both ways.
        Family::In => keys.iter().all(|k| values.contains(k)),
        Family::NotIn => keys.iter().any(|k| !values.contains(k)),
        Family::AnyIn | Family::AllIn | Family::AnyNotIn | Family::AllNotIn => {
            let values = ValueIndex::new(&values);
            match family {
                Family::AnyIn => keys.iter().any(|k| values.matches(k)),
                Family::AllIn => keys.iter().all(|k| values.matches(k)),
                Family::AnyNotIn => keys.iter().any(|k| !values.matches(k)),
                _ => !keys.iter().any(|k| values.matches(k)),
            }
        }
    })
}

/// A condition's values for the Any/All set operators: the plain ones
/// hashed, so that a key without wildcards is looked up instead of
/// compared with every value (hunt27 F3: two lists of 10^5 strings were
/// 10^10 wildcard matches, minutes). Same answer as comparing each pair
/// with [`either_matches`]: two strings without wildcards match only when
/// equal.
struct ValueIndex<'a> {
    all: &'a [String],
    plain: std::collections::HashSet<&'a str>,
    patterns: Vec<&'a str>,
}

impl<'a> ValueIndex<'a> {
    fn new(values: &'a [String]) -> ValueIndex<'a> {
        let (patterns, plain): (Vec<&str>, Vec<&str>) = values
            .iter()
            .map(String::as_str)
            .partition(|v| wildcard::has_wildcard(v));
        ValueIndex {
            all: values,
            plain: plain.into_iter().collect(),
            patterns,
        }
    }

    /// Whether `key` matches some value, wildcards either way.
    fn matches(&self, key: &str) -> bool {
        if wildcard::has_wildcard(key) {
            return self.all.iter().any(|v| either_matches(key, v));
        }
        self.plain.contains(key) || self.patterns.iter().any(|v| either_matches(key, v))
    }
}

fn compare(op: &str, key: f64, value: f64) -> bool {
    match op {
        "greaterthanorequals" | "durationgreaterthanorequals" => key >= value,
        "greaterthan" | "durationgreaterthan" => key > value,
        "lessthanorequals" | "durationlessthanorequals" => key <= value,
        "lessthan" | "durationlessthan" => key < value,
        _ => false,
    }
}

fn numeric_with_number_key(key: f64, value: &Value, op: &str) -> bool {
    match value {
        Value::Number(v) => compare(op, key, v.as_f64().unwrap_or_default()),
        Value::String(s) => {
            if let Some((a, b)) = parse_durations(&Value::from(key), value) {
                return compare(op, a, b);
            }
            match parse_go_float(s) {
                Some(v) => compare(op, key, v),
                None => false,
            }
        }
        _ => false,
    }
}

fn numeric(key: &Value, value: &Value, op: &str) -> bool {
    match key {
        Value::Number(k) => numeric_with_number_key(k.as_f64().unwrap_or_default(), value, op),
        Value::String(k) => {
            if let Some((a, b)) = parse_durations(key, value) {
                return compare(op, a, b);
            }
            if let (Some(kq), Value::String(v)) = (Quantity::parse(k), value) {
                if let Some(vq) = Quantity::parse(v) {
                    let ordering = kq
                        .value
                        .partial_cmp(&vq.value)
                        .map(|o| o as i8 as f64)
                        .unwrap_or(0.0);
                    return compare(op, ordering, 0.0);
                }
            }
            if let Some(kf) = parse_go_float(k) {
                return numeric_with_number_key(kf, value, op);
            }
            if let (Ok(kv), Value::String(v)) = (semver_parse(k), value) {
                if let Ok(vv) = semver_parse(v) {
                    return compare(op, semver_cmp(&kv, &vv), 0.0);
                }
            }
            false
        }
        _ => false,
    }
}

fn duration_compare(key: &Value, value: &Value, op: &str) -> bool {
    let seconds = |v: &Value| -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64().map(f64::trunc),
            Value::String(s) => duration::parse(s).map(|n| n as f64 / 1e9),
            _ => None,
        }
    };
    match (seconds(key), seconds(value)) {
        (Some(a), Some(b)) => compare(op, a, b),
        _ => false,
    }
}

/// A strict semantic version: MAJOR.MINOR.PATCH with optional pre-release.
fn semver_parse(text: &str) -> Result<(u64, u64, u64, String), ()> {
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, pre.split('+').next().unwrap_or("").to_string()),
        None => (text.split('+').next().unwrap_or(""), String::new()),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 {
        return Err(());
    }
    let number = |p: &str| p.parse::<u64>().map_err(|_| ());
    Ok((number(parts[0])?, number(parts[1])?, number(parts[2])?, pre))
}

fn semver_cmp(a: &(u64, u64, u64, String), b: &(u64, u64, u64, String)) -> f64 {
    use std::cmp::Ordering;
    let ordering = (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)).then_with(|| {
        match (a.3.is_empty(), b.3.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a.3.cmp(&b.3),
        }
    });
    ordering as i8 as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(op: &str, key: Value, value: Value) -> bool {
        evaluate(op, &key, &value).expect("known operator")
    }

    #[test]
    fn equals_and_not_equals() {
        assert!(eval("Equals", json!("CREATE"), json!("CREATE")));
        assert!(eval("equals", json!("nginx:1.2"), json!("nginx:*")));
        assert!(!eval("Equals", json!("a"), json!("b")));
        assert!(eval("Equals", json!(3), json!(3.0)));
        assert!(eval("Equals", json!(3), json!("3")));
        assert!(eval("Equals", json!(true), json!(true)));
        assert!(!eval("Equals", json!(true), json!("true")));
        assert!(eval("Equals", json!("1Gi"), json!("1024Mi")));
        assert!(eval("Equals", json!("1h"), json!("60m")));
        assert!(eval("Equals", json!({"a": 1}), json!({"a": 1.0})));
        assert!(!eval("Equals", Value::Null, Value::Null));
        assert!(eval("NotEquals", json!("a"), json!("b")));
        assert!(!eval("NotEquals", json!("abc"), json!("a*")));
        assert!(eval("NotEquals", json!("1Gi"), json!("1Mi")));
        assert!(eval("NotEqual", json!(1), json!("x")));
        assert!(!eval("NotEquals", Value::Null, json!("x")));
    }

    #[test]
    fn in_and_not_in() {
        assert!(eval("In", json!("a"), json!(["a", "b"])));
        assert!(eval("In", json!("kube-system"), json!(["kube-*"])));
        assert!(eval("In", json!(["a", "b"]), json!(["a", "b", "c"])));
        assert!(!eval("In", json!(["a", "z"]), json!(["a", "b"])));
        assert!(eval("NotIn", json!("z"), json!(["a"])));
        assert!(eval("NotIn", json!(["a", "z"]), json!(["a"])));
        assert!(eval("In", json!("a"), json!("[\"a\",\"b\"]")));
        assert!(!eval("In", json!("a"), json!(3)));
    }

    #[test]
    fn any_all_in_with_wildcards_ranges_and_numbers() {
        assert!(eval(
            "AnyIn",
            json!(["NET_ADMIN", "CHOWN"]),
            json!(["NET_*"])
        ));
        assert!(!eval("AnyIn", json!(["CHOWN"]), json!(["NET_*"])));
        assert!(eval("AllIn", json!(["a", "b"]), json!(["a", "b", "c"])));
        assert!(!eval("AllIn", json!(["a", "x"]), json!(["a", "b"])));
        assert!(eval("AnyNotIn", json!(["a", "x"]), json!(["a", "b"])));
        assert!(!eval("AnyNotIn", json!(["a"]), json!(["a", "b"])));
        assert!(eval("AllNotIn", json!(["x", "y"]), json!(["a", "b"])));
        assert!(!eval("AllNotIn", json!(["x", "a"]), json!(["a", "b"])));
        assert!(eval("AnyIn", json!([80, 8080]), json!("8000-9000")));
        assert!(!eval("AnyIn", json!([80]), json!("8000-9000")));
        assert!(eval("AnyNotIn", json!([80, 8080]), json!("8000-9000")));
        assert!(eval("AllIn", json!([8001, 8080]), json!("8000-9000")));
        assert!(eval("AnyIn", json!(5), json!([5, 6])));
        assert!(eval("AnyIn", json!("x"), json!("x")));
        assert!(eval("AllNotIn", json!([]), json!(["a"])));
        assert!(!eval("AnyIn", json!([]), json!(["a"])));
    }

    #[test]
    fn numeric_quantities_durations_and_versions() {
        assert!(eval("GreaterThan", json!(3), json!(2)));
        assert!(eval("GreaterThanOrEquals", json!("3"), json!(3)));
        assert!(eval("LessThan", json!(1), json!("2")));
        assert!(eval("GreaterThan", json!("2Gi"), json!("1Gi")));
        assert!(eval("LessThanOrEquals", json!("500m"), json!("1")));
        assert!(eval("GreaterThan", json!("2h"), json!("30m")));
        assert!(eval("LessThan", json!(30), json!("1m")));
        assert!(eval("GreaterThan", json!("1.10.0"), json!("1.9.3")));
        assert!(!eval("GreaterThan", json!("abc"), json!(1)));
        assert!(eval("DurationGreaterThan", json!("2h"), json!("1h")));
        assert!(eval("DurationLessThanOrEquals", json!(3600), json!("1h")));
    }

    #[test]
    fn unknown_operator_is_an_error() {
        assert!(evaluate("Matches", &json!("a"), &json!("a")).is_err());
    }

    #[test]
    fn go_sprint_formats_like_go() {
        assert_eq!(go_sprint(&json!(3.0)), "3");
        assert_eq!(go_sprint(&json!(1.5)), "1.5");
        assert_eq!(go_sprint(&json!(true)), "true");
    }
}

#[cfg(test)]
mod set_index_tests {
    use super::*;
    use serde_json::json;

    /// hunt27 F3: two lists of 10^5 strings took minutes (10^10 pairs);
    /// plain keys are looked up. Wildcards either way still match.
    #[test]
    fn set_operators_look_plain_keys_up() {
        let many = |prefix: &str| -> Value {
            Value::Array(
                (0..100_000)
                    .map(|i| json!(format!("{prefix}{i}")))
                    .collect(),
            )
        };
        let started = std::time::Instant::now();
        assert_eq!(evaluate("AnyIn", &many("a"), &many("b")).ok(), Some(false));
        assert_eq!(
            evaluate("AllNotIn", &many("a"), &many("b")).ok(),
            Some(true)
        );
        assert_eq!(evaluate("AllIn", &many("a"), &many("a")).ok(), Some(true));
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        for (operator, key, value, expected) in [
            ("AnyIn", json!(["x", "nginx:1"]), json!(["nginx*"]), true),
            ("AnyIn", json!(["ngi*"]), json!(["a", "nginx"]), true),
            ("AllIn", json!(["a", "b"]), json!(["a", "?"]), true),
            ("AllIn", json!(["a", "bb"]), json!(["a", "?"]), false),
            ("AnyNotIn", json!(["a", "c"]), json!(["a", "b"]), true),
            ("AllNotIn", json!(["c"]), json!(["a", "b*"]), true),
        ] {
            assert_eq!(
                evaluate(operator, &key, &value).ok(),
                Some(expected),
                "{operator} {key} {value}"
            );
        }
    }
}
