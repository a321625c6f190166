//! Arithmetic: add, subtract, multiply, divide, modulo, sum and round.
//!
//! Operands are numbers (Go float64), or strings holding a Kubernetes
//! quantity ("1Gi", "250m", "10") or, failing that, a Go duration ("1h30m").
//! A string is a quantity first, so "1m" is a milli-quantity, not a minute.
//! Results follow Kyverno's table:
//!
//! | op      | q,q    | q,n | n,q | d,d    | d,n | n,d | n,n |
//! |---------|--------|-----|-----|--------|-----|-----|-----|
//! | + -     | q      | err | err | d      | err | err | n   |
//! | *       | err    | q   | q   | err    | d   | d   | n   |
//! | /       | n      | q   | err | n      | d   | err | n   |
//! | %       | q      | err | err | d      | err | err | n   |
//!
//! Quantities and durations leave as their canonical strings ("1536Mi",
//! "1h30m0s"); numbers leave as numbers.

use jmespath::{Rcvar, Variable};

use super::functions::{any, float, integer, number, Arg, KyvernoFunction};
use crate::value_types::duration;
use crate::value_types::quantity::{Quantity, QuantityFormat};

pub(super) const FUNCTIONS: &[KyvernoFunction] = &[
    KyvernoFunction {
        name: "add",
        args: &[Arg::Any, Arg::Any],
        handler: add,
    },
    KyvernoFunction {
        name: "sum",
        args: &[Arg::Array],
        handler: sum,
    },
    KyvernoFunction {
        name: "subtract",
        args: &[Arg::Any, Arg::Any],
        handler: subtract,
    },
    KyvernoFunction {
        name: "multiply",
        args: &[Arg::Any, Arg::Any],
        handler: multiply,
    },
    KyvernoFunction {
        name: "divide",
        args: &[Arg::Any, Arg::Any],
        handler: divide,
    },
    KyvernoFunction {
        name: "modulo",
        args: &[Arg::Any, Arg::Any],
        handler: modulo,
    },
    KyvernoFunction {
        name: "round",
        args: &[Arg::Number, Arg::Number],
        handler: round,
    },
];

const TYPES_MISMATCH: &str = "Types mismatch";
const ZERO_DIVISOR: &str = "Zero divisor passed";
const NON_INT_MODULO: &str = "Non-integer argument(s) passed for modulo";

/// One parsed operand. Quantities keep their text because Kubernetes rounds
/// quotients to the scale the text was written with.
#[derive(Debug, Clone)]
enum Operand {
    Scalar(f64),
    Quantity {
        value: Quantity,
        text: String,
    },
    /// Nanoseconds.
    Duration(i64),
}

fn operand(value: &Variable) -> Result<Operand, String> {
    match value {
        Variable::Number(n) => Ok(Operand::Scalar(n.as_f64().unwrap_or(0.0))),
        Variable::String(s) => {
            if let Some(q) = Quantity::parse(s) {
                Ok(Operand::Quantity {
                    value: q,
                    text: s.clone(),
                })
            } else if let Some(d) = duration::parse(s) {
                Ok(Operand::Duration(d))
            } else {
                Err("invalid operand".to_string())
            }
        }
        _ => Err("invalid operand".to_string()),
    }
}

fn operands(args: &[Rcvar]) -> Result<(Operand, Operand), String> {
    Ok((operand(any(args, 0)?)?, operand(any(args, 1)?)?))
}

fn quantity_text(value: f64, format: QuantityFormat) -> Result<Variable, String> {
    Ok(Variable::String(Quantity::new(value, format).canonical()))
}

fn duration_text(nanos: i64) -> Result<Variable, String> {
    Ok(Variable::String(duration::format(nanos)))
}

fn checked_duration(nanos: Option<i64>) -> Result<Variable, String> {
    nanos
        .ok_or_else(|| "duration overflow".to_string())
        .and_then(duration_text)
}

/// Go's `time.Duration(float)`: truncation toward zero, saturating here.
fn duration_from_seconds(seconds: f64) -> Result<Variable, String> {
    if !seconds.is_finite() {
        return Err("duration overflow".to_string());
    }
    duration_text((seconds * 1e9) as i64)
}

fn seconds(nanos: i64) -> f64 {
    nanos as f64 / 1e9
}

fn add_operands(left: Operand, right: Operand) -> Result<Variable, String> {
    match (left, right) {
        (Operand::Scalar(a), Operand::Scalar(b)) => float(a + b),
        (Operand::Quantity { value: a, .. }, Operand::Quantity { value: b, .. }) => {
            // Go's Quantity.Add keeps the left format unless the left is zero.
            let format = if a.value == 0.0 { b.format } else { a.format };
            quantity_text(a.value + b.value, format)
        }
        (Operand::Duration(a), Operand::Duration(b)) => checked_duration(a.checked_add(b)),
        _ => Err(TYPES_MISMATCH.to_string()),
    }
}

fn add(args: &[Rcvar]) -> Result<Variable, String> {
    let (left, right) = operands(args)?;
    add_operands(left, right)
}

fn sum(args: &[Rcvar]) -> Result<Variable, String> {
    let items = any(args, 0)?
        .as_array()
        .ok_or_else(|| TYPES_MISMATCH.to_string())?;
    let Some((first, rest)) = items.split_first() else {
        return Err("at least one element in the array is required".to_string());
    };
    // Kyverno folds pairwise from the first element as given, so a
    // one-element array comes back unchanged, whatever it holds.
    let mut result: Variable = first.as_ref().clone();
    for item in rest {
        result = add_operands(operand(&result)?, operand(item)?)?;
    }
    Ok(result)
}

fn subtract(args: &[Rcvar]) -> Result<Variable, String> {
    match operands(args)? {
        (Operand::Scalar(a), Operand::Scalar(b)) => float(a - b),
        (Operand::Quantity { value: a, .. }, Operand::Quantity { value: b, .. }) => {
            let format = if a.value == 0.0 { b.format } else { a.format };
            quantity_text(a.value - b.value, format)
        }
        (Operand::Duration(a), Operand::Duration(b)) => checked_duration(a.checked_sub(b)),
        _ => Err(TYPES_MISMATCH.to_string()),
    }
}

fn multiply(args: &[Rcvar]) -> Result<Variable, String> {
    match operands(args)? {
        (Operand::Scalar(a), Operand::Scalar(b)) => float(a * b),
        (Operand::Quantity { value, .. }, Operand::Scalar(factor))
        | (Operand::Scalar(factor), Operand::Quantity { value, .. }) => {
            quantity_text(value.value * factor, value.format)
        }
        (Operand::Duration(d), Operand::Scalar(factor))
        | (Operand::Scalar(factor), Operand::Duration(d)) => {
            duration_from_seconds(seconds(d) * factor)
        }
        _ => Err(TYPES_MISMATCH.to_string()),
    }
}

fn divide(args: &[Rcvar]) -> Result<Variable, String> {
    match operands(args)? {
        (Operand::Scalar(a), Operand::Scalar(b)) => {
            if b == 0.0 {
                return Err(ZERO_DIVISOR.to_string());
            }
            float(a / b)
        }
        (Operand::Quantity { value: a, .. }, Operand::Quantity { value: b, .. }) => {
            if b.value == 0.0 {
                return Err(ZERO_DIVISOR.to_string());
            }
            float(a.value / b.value)
        }
        (Operand::Quantity { value, text }, Operand::Scalar(divisor)) => {
            if divisor == 0.0 {
                return Err(ZERO_DIVISOR.to_string());
            }
            // Kubernetes divides decimals and rounds toward zero at the larger
            // of the two operands' scales ("1Gi"/3 is a whole byte count).
            let scale = Quantity::decimal_scale(&text)
                .unwrap_or(0)
                .max(scalar_scale(divisor));
            quantity_text(round_down(value.value / divisor, scale), value.format)
        }
        (Operand::Duration(a), Operand::Duration(b)) => {
            if b == 0 {
                return Err(ZERO_DIVISOR.to_string());
            }
            float(seconds(a) / seconds(b))
        }
        (Operand::Duration(d), Operand::Scalar(divisor)) => {
            if divisor == 0.0 {
                return Err(ZERO_DIVISOR.to_string());
            }
            duration_from_seconds(seconds(d) / divisor)
        }
        _ => Err(TYPES_MISMATCH.to_string()),
    }
}

/// Decimal places of a number as Go's `%v` prints it (Kyverno re-parses
/// that text as a quantity before dividing).
fn scalar_scale(value: f64) -> i32 {
    let text = format!("{value}");
    text.split_once('.')
        .map(|(_, fraction)| fraction.len() as i32)
        .unwrap_or(0)
}

/// Truncates toward zero at `scale` decimal places, forgiving float noise
/// that would otherwise turn 3 into 2.999….
fn round_down(value: f64, scale: i32) -> f64 {
    let shift = 10f64.powi(scale);
    let shifted = value * shift;
    let nearest = shifted.round();
    let truncated = if (shifted - nearest).abs() <= 1e-9 * nearest.abs().max(1.0) {
        nearest
    } else {
        shifted.trunc()
    };
    truncated / shift
}

fn modulo(args: &[Rcvar]) -> Result<Variable, String> {
    match operands(args)? {
        (Operand::Scalar(a), Operand::Scalar(b)) => {
            let (a, b) = (whole(a)?, whole(b)?);
            if b == 0 {
                return Err(ZERO_DIVISOR.to_string());
            }
            float(a.wrapping_rem(b) as f64)
        }
        (Operand::Quantity { value: a, .. }, Operand::Quantity { value: b, .. }) => {
            let (x, y) = (whole(a.value)?, whole(b.value)?);
            if y == 0 {
                return Err(ZERO_DIVISOR.to_string());
            }
            quantity_text(x.wrapping_rem(y) as f64, a.format)
        }
        (Operand::Duration(a), Operand::Duration(b)) => {
            if b == 0 {
                return Err(ZERO_DIVISOR.to_string());
            }
            duration_text(a.wrapping_rem(b))
        }
        _ => Err(TYPES_MISMATCH.to_string()),
    }
}

fn whole(value: f64) -> Result<i64, String> {
    integer(value).map_err(|_| NON_INT_MODULO.to_string())
}

fn round(args: &[Rcvar]) -> Result<Variable, String> {
    let value = number(args, 0)?;
    let places = integer(number(args, 1)?)
        .map_err(|_| "Non-integer argument(s) passed for round off".to_string())?;
    if places < 0 {
        return Err("decimal places argument is out of bounds (must be >= 0)".to_string());
    }
    let shift = 10f64.powi(places.min(i32::MAX as i64) as i32);
    float((value * shift).round() / shift)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::jmespath::test_support::{eval_on, fails};
    use serde_json::{json, Value};

    fn eval(expression: &str) -> Value {
        eval_on(expression, &json!({"list": [1, 2, 3.5]}))
    }

    #[test]
    fn numbers() {
        assert_eq!(eval("add(`1`, `2`)"), json!(3));
        assert_eq!(eval("add(`1.5`, `2`)"), json!(3.5));
        assert_eq!(eval("subtract(`1`, `2.5`)"), json!(-1.5));
        assert_eq!(eval("multiply(`3`, `2.5`)"), json!(7.5));
        assert_eq!(eval("divide(`7`, `2`)"), json!(3.5));
        assert_eq!(eval("modulo(`7`, `3`)"), json!(1));
        assert_eq!(eval("modulo(`-7`, `3`)"), json!(-1));
        assert_eq!(eval("sum(list)"), json!(6.5));
    }

    #[test]
    fn quantities() {
        assert_eq!(eval("add('1Gi', '512Mi')"), json!("1536Mi"));
        assert_eq!(eval("add('100m', '1')"), json!("1100m"));
        assert_eq!(eval("add('10', '5')"), json!("15"));
        assert_eq!(eval("add('0', '1Gi')"), json!("1Gi"));
        assert_eq!(eval("subtract('2Gi', '1Gi')"), json!("1Gi"));
        assert_eq!(eval("subtract('500m', '1')"), json!("-500m"));
        assert_eq!(eval("multiply('1Gi', `2`)"), json!("2Gi"));
        assert_eq!(eval("multiply(`2`, '250m')"), json!("500m"));
        assert_eq!(eval("multiply('1Gi', `0.5`)"), json!("512Mi"));
        assert_eq!(eval("divide('1Gi', '1Mi')"), json!(1024));
        assert_eq!(eval("divide('500m', '2')"), json!(0.25));
        assert_eq!(eval("divide('1Gi', `2`)"), json!("512Mi"));
        // Rounded toward zero at the operands' scale, as Kubernetes does.
        assert_eq!(eval("divide('1Gi', `3`)"), json!("357913941"));
        assert_eq!(eval("divide('100m', `3`)"), json!("33m"));
        assert_eq!(eval("divide('1', `3`)"), json!("0"));
        assert_eq!(eval("divide('3', `0.1`)"), json!("30"));
        assert_eq!(eval("modulo('10Gi', '3Gi')"), json!("1Gi"));
        assert_eq!(eval("modulo('7', '2')"), json!("1"));
        assert_eq!(eval("sum(['1Gi', '1Gi', '512Mi'])"), json!("2560Mi"));
    }

    #[test]
    fn durations() {
        assert_eq!(eval("add('1h', '30m0s')"), json!("1h30m0s"));
        assert_eq!(eval("add('1h', '1s')"), json!("1h0m1s"));
        assert_eq!(eval("subtract('1h', '2h')"), json!("-1h0m0s"));
        assert_eq!(eval("multiply('1h', `1.5`)"), json!("1h30m0s"));
        assert_eq!(eval("multiply(`2`, '300ms')"), json!("600ms"));
        assert_eq!(eval("divide('1h', '30m0s')"), json!(2));
        assert_eq!(eval("divide('1h', `4`)"), json!("15m0s"));
        assert_eq!(eval("modulo('1h', '7m0s')"), json!("4m0s"));
        assert_eq!(eval("sum(['1h', '1h'])"), json!("2h0m0s"));
        // "1m" is a quantity (milli), so it does not mix with an hour.
        assert!(fails("add('1h', '1m')").contains("Types mismatch"));
    }

    #[test]
    fn type_rules_and_errors() {
        assert!(fails("add(`1`, '1Gi')").contains("Types mismatch"));
        assert!(fails("add('1Gi', '1h')").contains("Types mismatch"));
        assert!(fails("multiply('1Gi', '2Gi')").contains("Types mismatch"));
        assert!(fails("multiply('1h', '1h')").contains("Types mismatch"));
        assert!(fails("divide(`1`, '1Gi')").contains("Types mismatch"));
        assert!(fails("modulo('1h', `1`)").contains("Types mismatch"));
        assert!(fails("add('abc', `1`)").contains("invalid operand"));
        assert!(fails("add(`true`, `1`)").contains("invalid operand"));
        assert!(fails("add(`null`, `1`)").contains("invalid operand"));
        assert!(fails("add(`1`)").contains("argument"));
    }

    #[test]
    fn zero_divisors_and_non_integers() {
        assert!(fails("divide(`1`, `0`)").contains("Zero divisor"));
        assert!(fails("divide('1Gi', '0')").contains("Zero divisor"));
        assert!(fails("divide('1Gi', `0`)").contains("Zero divisor"));
        assert!(fails("divide('1h', '0s')").contains("Zero divisor"));
        assert!(fails("divide('1h', `0`)").contains("Zero divisor"));
        assert!(fails("modulo(`1`, `0`)").contains("Zero divisor"));
        assert!(fails("modulo('1', '0')").contains("Zero divisor"));
        assert!(fails("modulo('1h', '0s')").contains("Zero divisor"));
        assert!(fails("modulo(`1.5`, `1`)").contains("Non-integer"));
        assert!(fails("modulo('1500m', '1')").contains("Non-integer"));
    }

    #[test]
    fn sum_edge_cases() {
        assert!(fails("sum(`[]`)").contains("at least one element"));
        assert_eq!(eval("sum(['abc'])"), json!("abc"));
        assert!(fails("sum(`[1, \"1Gi\"]`)").contains("Types mismatch"));
        assert!(fails("sum('1')").contains("argument #1"));
    }

    #[test]
    fn round_to_places() {
        assert_eq!(eval("round(`1.23456`, `2`)"), json!(1.23));
        assert_eq!(eval("round(`2.5`, `0`)"), json!(3));
        assert_eq!(eval("round(`-2.5`, `0`)"), json!(-3));
        assert_eq!(eval("round(`1234.5678`, `1`)"), json!(1234.6));
        assert!(fails("round(`1`, `1.5`)").contains("Non-integer"));
        assert!(fails("round(`1`, `-1`)").contains("out of bounds"));
        assert!(fails("round('1', `1`)").contains("argument #1"));
    }
}
