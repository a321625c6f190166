//! The plumbing every Kyverno function shares: its declared argument types,
//! the check the fork's function caller makes before calling it, and the
//! typed views of arguments handlers use. Arguments arrive as the crate's
//! `Rcvar`s; a handler returns a `Variable` or a message, and the message
//! leaves as a crate error that `mod.rs` turns back into
//! [`super::JmespathError::Function`].

use jmespath::functions::Function;
use jmespath::{Context, ErrorReason, Rcvar, SearchResult, Variable};
use serde_json::Number;

/// Prefix that marks a crate error as coming from a Kyverno function; the
/// crate has no variant for custom errors, so the message rides in `Parse`.
pub(super) const ERROR_MARKER: &str = "\u{1}kyverno-function\u{1}";

/// A handler gets arguments whose types were already checked.
pub(super) type Handler = fn(&[Rcvar]) -> Result<Variable, String>;

/// The argument types Kyverno declares (`jpString`, `jpAny`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arg {
    Any,
    String,
    Number,
    Array,
    Object,
    StringOrNumber,
    ObjectOrArray,
}

impl Arg {
    fn accepts(self, value: &Variable) -> bool {
        match self {
            Arg::Any => true,
            Arg::String => value.is_string(),
            Arg::Number => value.is_number(),
            Arg::Array => value.is_array(),
            Arg::Object => value.is_object(),
            Arg::StringOrNumber => value.is_string() || value.is_number(),
            Arg::ObjectOrArray => value.is_object() || value.is_array(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Arg::Any => "any",
            Arg::String => "string",
            Arg::Number => "number",
            Arg::Array => "array",
            Arg::Object => "object",
            Arg::StringOrNumber => "string|number",
            Arg::ObjectOrArray => "object|array",
        }
    }
}

/// One Kyverno function: its name, declared arguments and handler.
#[derive(Clone, Copy)]
pub(super) struct KyvernoFunction {
    pub(crate) name: &'static str,
    pub(crate) args: &'static [Arg],
    pub(crate) handler: Handler,
}

impl Function for KyvernoFunction {
    fn evaluate(&self, args: &[Rcvar], ctx: &mut Context<'_>) -> SearchResult {
        if args.len() != self.args.len() {
            return Err(error(
                ctx,
                self.name,
                &format!(
                    "expected {} argument(s), got {}",
                    self.args.len(),
                    args.len()
                ),
            ));
        }
        for (index, (value, spec)) in args.iter().zip(self.args).enumerate() {
            if !spec.accepts(value) {
                return Err(error(
                    ctx,
                    self.name,
                    &format!(
                        "argument #{} is not of type {} (got {})",
                        index + 1,
                        spec.describe(),
                        value.get_type()
                    ),
                ));
            }
        }
        let result = (self.handler)(args).map_err(|message| error(ctx, self.name, &message))?;
        if crate::value_size::jmespath_exceeds(&result, crate::value_size::MAX_VALUE_BYTES) {
            return Err(error(
                ctx,
                self.name,
                &crate::value_size::too_large("the result"),
            ));
        }
        Ok(Rcvar::new(result))
    }
}

/// The built-in `join`, refusing to make a text over
/// [`crate::value_size::MAX_VALUE_BYTES`] before making it: sixteen copies
/// of the last step's text, a few steps on, exhaust memory.
#[derive(Default)]
pub(super) struct BoundedJoin {
    inner: jmespath::functions::JoinFn,
}

impl jmespath::functions::Function for BoundedJoin {
    fn evaluate(&self, args: &[Rcvar], ctx: &mut Context<'_>) -> jmespath::SearchResult {
        let glue = args
            .first()
            .and_then(|glue| glue.as_string())
            .map_or(0, String::len);
        if let Some(items) = args.get(1).and_then(|items| items.as_array()) {
            let length = items.iter().fold(0usize, |total, item| {
                total
                    .saturating_add(item.as_string().map_or(0, String::len))
                    .saturating_add(glue)
            });
            if length > crate::value_size::MAX_VALUE_BYTES {
                return Err(error(
                    ctx,
                    "join",
                    &crate::value_size::too_large("the result"),
                ));
            }
        }
        self.inner.evaluate(args, ctx)
    }
}

fn error(ctx: &Context<'_>, name: &str, message: &str) -> jmespath::JmespathError {
    jmespath::JmespathError::from_ctx(
        ctx,
        ErrorReason::Parse(format!(
            "{ERROR_MARKER}JMESPath function '{name}': {message}"
        )),
    )
}

/// Every Kyverno function, family by family.
pub(super) fn all() -> Vec<KyvernoFunction> {
    [
        super::strings::FUNCTIONS,
        super::arithmetic::FUNCTIONS,
        super::time::FUNCTIONS,
        super::encoding::FUNCTIONS,
        super::objects::FUNCTIONS,
        super::semver::FUNCTIONS,
        super::misc::FUNCTIONS,
        super::x509::FUNCTIONS,
    ]
    .concat()
}

/// The string argument at `index`.
pub(super) fn string(args: &[Rcvar], index: usize) -> Result<&str, String> {
    args.get(index)
        .and_then(|v| v.as_string())
        .map(String::as_str)
        .ok_or_else(|| format!("argument #{} is not of type string", index + 1))
}

/// The number argument at `index`.
pub(super) fn number(args: &[Rcvar], index: usize) -> Result<f64, String> {
    args.get(index)
        .and_then(|v| v.as_number())
        .ok_or_else(|| format!("argument #{} is not of type number", index + 1))
}

/// The argument at `index`, whatever its type.
pub(super) fn any(args: &[Rcvar], index: usize) -> Result<&Rcvar, String> {
    args.get(index)
        .ok_or_else(|| format!("argument #{} is missing", index + 1))
}

/// A number result. Go computes in float64; a whole result is written as an
/// integer so it prints as Go prints it (`3`, not `3.0`).
pub(super) fn float(value: f64) -> Result<Variable, String> {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        return Ok(Variable::Number(Number::from(value as i64)));
    }
    Number::from_f64(value)
        .map(Variable::Number)
        .ok_or_else(|| format!("result {value} is not a finite number"))
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 32)`, which Kyverno uses to turn
/// number arguments of the regex functions into text.
pub(super) fn number_text(value: f64) -> String {
    let single = value as f32;
    if single.fract() == 0.0 && single.abs() < 1e16 {
        format!("{}", single as i64)
    } else {
        format!("{single}")
    }
}

/// Kyverno's `intNumber`: a float that is a whole number in `i64` range.
pub(super) fn integer(value: f64) -> Result<i64, String> {
    if !value.is_finite() || value.trunc() != value {
        return Err(format!("expected an integer number but got: {value}"));
    }
    if value.abs() >= 9.2e18 {
        return Err(format!(
            "number is outside the range of integer numbers: {value}"
        ));
    }
    Ok(value as i64)
}
