//! Moving values between `serde_json::Value` (the engine's data) and the
//! crate's `Variable`, plus Go's `json.Marshal` text for `to_string`.
//!
//! Into a `Variable`: numbers keep their JSON form (integers stay integers,
//! so `to_string` prints them as Go would). Out of one: floats with no
//! fraction become integers, as Kyverno's float64 results print.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jmespath::functions::Function;
use jmespath::{Context, ErrorReason, Rcvar, RuntimeError, SearchResult, Variable};
use serde_json::{Map, Number, Value};

/// Converts engine JSON into a JMESPath variable.
pub(crate) fn to_variable(value: &Value) -> Rcvar {
    Rcvar::new(variable(value))
}

fn variable(value: &Value) -> Variable {
    match value {
        Value::Null => Variable::Null,
        Value::Bool(b) => Variable::Bool(*b),
        Value::Number(n) => Variable::Number(n.clone()),
        Value::String(s) => Variable::String(s.clone()),
        Value::Array(items) => Variable::Array(items.iter().map(to_variable).collect()),
        Value::Object(map) => Variable::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_variable(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// Converts a JMESPath result back into engine JSON.
pub(crate) fn from_variable(value: &Variable) -> Result<Value, String> {
    Ok(match value {
        Variable::Null => Value::Null,
        Variable::Bool(b) => Value::Bool(*b),
        Variable::Number(n) => Value::Number(normalize_number(n)),
        Variable::String(s) => Value::String(s.clone()),
        Variable::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| from_variable(v))
                .collect::<Result<_, _>>()?,
        ),
        Variable::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(k.clone(), from_variable(v)?);
            }
            Value::Object(out)
        }
        Variable::Expref(_) => {
            return Err("an expression reference (&expr) is not a JSON value".to_string())
        }
    })
}

/// Whole floats that fit an `i64` become integers.
fn normalize_number(n: &Number) -> Number {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.2e18 => Number::from(f as i64),
        _ => n.clone(),
    }
}

/// Writes `value` as Go's `encoding/json` does: keys sorted, HTML characters
/// escaped, floats in Go's shortest form.
pub(super) fn go_json(value: &Variable) -> Result<String, String> {
    let mut out = String::new();
    write_go_json(value, &mut out)?;
    Ok(out)
}

fn write_go_json(value: &Variable, out: &mut String) -> Result<(), String> {
    match value {
        Variable::Null => out.push_str("null"),
        Variable::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Variable::Number(n) => {
            if n.is_f64() {
                out.push_str(&go_float(n.as_f64().unwrap_or(0.0)));
            } else {
                let _ = write!(out, "{n}");
            }
        }
        Variable::String(s) => write_go_string(s, out),
        Variable::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out)?;
            }
            out.push(']');
        }
        Variable::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                write_go_json(v, out)?;
            }
            out.push('}');
        }
        Variable::Expref(_) => {
            return Err("json: unsupported type: expression reference".to_string())
        }
    }
    Ok(())
}

/// `s` as Go's `encoding/json` writes a string, quotes included: `<`, `>`,
/// `&`, U+2028 and U+2029 escaped as `\u003c` etc., other controls as
/// `\u00XX`. Also the form redaction looks for a Secret value in.
pub(crate) fn write_go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's float64 JSON text: plain digits in [1e-6, 1e21), exponent form
/// (`1e+21`, `1e-7`) outside it.
pub(super) fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        match text.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => text,
        }
    } else if f.fract() == 0.0 {
        format!("{}", f as i128)
    } else {
        format!("{f}")
    }
}

/// The fork's `to_string`: strings unchanged, anything else `json.Marshal`ed.
pub(super) struct GoToString;

impl Function for GoToString {
    fn evaluate(&self, args: &[Rcvar], ctx: &mut Context<'_>) -> SearchResult {
        let arity = |actual| {
            let reason = if actual == 0 {
                RuntimeError::NotEnoughArguments {
                    expected: 1,
                    actual,
                }
            } else {
                RuntimeError::TooManyArguments {
                    expected: 1,
                    actual,
                }
            };
            jmespath::JmespathError::from_ctx(ctx, ErrorReason::Runtime(reason))
        };
        let [value] = args else {
            return Err(arity(args.len()));
        };
        match value.as_ref() {
            Variable::String(_) => Ok(value.clone()),
            // Written out, shared parts are copied: refused before.
            other
                if crate::value_size::jmespath_exceeds(
                    other,
                    crate::value_size::MAX_VALUE_BYTES,
                ) =>
            {
                Err(jmespath::JmespathError::from_ctx(
                    ctx,
                    ErrorReason::Parse(format!(
                        "{}JMESPath function 'to_string': {}",
                        super::functions::ERROR_MARKER,
                        crate::value_size::too_large("the result")
                    )),
                ))
            }
            other => match go_json(other) {
                Ok(text) => Ok(Rcvar::new(Variable::String(text))),
                Err(message) => Err(jmespath::JmespathError::from_ctx(
                    ctx,
                    ErrorReason::Runtime(RuntimeError::InvalidType {
                        expected: "any JSON value".to_string(),
                        actual: message,
                        position: 0,
                    }),
                )),
            },
        }
    }
}
