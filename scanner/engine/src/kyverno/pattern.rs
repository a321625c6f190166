//! Leaf values of `validate.pattern`: a resource value and a pattern value
//! enter; whether the value satisfies it leaves. Wildcards, operators (`>`,
//! `<=`, `!`, `|`, `&`, ranges `a-b`, `a!-b`), quantities and durations, as
//! Kyverno's `pkg/engine/pattern` compares them, quirks included. The walk
//! over maps and arrays is [`crate::kyverno::validate::walk`]; anchors are
//! [`crate::anchor`].

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::value_types::duration;
use crate::value_types::quantity::Quantity;
use crate::value_types::wildcard;

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
pub(crate) fn is_in_range_pattern(text: &str) -> bool {
    operator_of(text) == Operator::InRange
}

/// Does a resource value satisfy a scalar (or map) pattern value?
pub(crate) fn value_matches(value: &Value, pattern: &Value) -> bool {
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
    fn go_float_formatting() {
        assert_eq!(go_format_e(2.0), "2E+00");
        assert_eq!(go_format_e(15.0), "1.5E+01");
        assert_eq!(go_format_e(0.001), "1E-03");
    }
}
