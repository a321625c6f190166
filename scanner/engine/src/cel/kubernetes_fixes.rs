//! Where the `cel`/`kube-cel` crates differ from Kubernetes' CEL, the
//! Kubernetes behaviour, registered over theirs in the shared environment:
//! - `size(string)` counts code points, not bytes (CEL spec), so length
//!   limits agree with the API server for non-ASCII text;
//! - `dyn(x)` exists and is the identity at runtime;
//! - `format.named(name)` returns `optional<Format>` (none for unknown
//!   names), as Kubernetes' format library does;
//! - `duration(string)` past Go's `time.Duration` range (int64
//!   nanoseconds, ±2,562,047 h) is an error, as cel-go's conversion (Go's
//!   `time.ParseDuration`) gives: the `cel` crate saturated it.
//!
//! Values enter and leave as `cel::Value`s; each case is covered in
//! `library_tests`.

use std::sync::Arc;

use kube_cel::cel;
use kube_cel::cel::extractors::This;
use kube_cel::cel::objects::OptionalValue;
use kube_cel::cel::{ExecutionError, FunctionContext};

type CelResult = Result<cel::Value, ExecutionError>;

pub(crate) fn register(ctx: &mut cel::Context<'_>) {
    ctx.add_function("size", size);
    ctx.add_function("dyn", identity);
    ctx.add_function("format.named", format_named);
    ctx.add_function("duration", duration);
}

/// cel-go's error for a string `duration()` cannot convert.
const DURATION_CONVERSION_ERROR: &str =
    "type conversion error from 'string' to 'google.protobuf.Duration'";

/// The `cel` crate's `duration(string)`, refused where Go's
/// `time.ParseDuration` refuses it ([`crate::value_types::duration::parse`]):
/// past an int64 of nanoseconds, which the crate saturated, or with text
/// after the last unit, which it ignored.
fn duration(ftx: &FunctionContext, text: Arc<String>) -> CelResult {
    let parsed = cel::functions::duration(text.clone())?;
    if crate::value_types::duration::parse(&text).is_none() {
        return Err(ftx.error(DURATION_CONVERSION_ERROR));
    }
    Ok(parsed)
}

fn identity(This(value): This<cel::Value>) -> CelResult {
    Ok(value)
}

fn size(ftx: &FunctionContext, This(this): This<cel::Value>) -> CelResult {
    let length = match &this {
        cel::Value::String(s) => s.chars().count(),
        cel::Value::Bytes(b) => b.len(),
        cel::Value::List(items) => items.len(),
        cel::Value::Map(map) => map.map.len(),
        other => return Err(ftx.error(format!("size() is not defined on {:?}", other.type_of()))),
    };
    Ok(cel::Value::Int(i64::try_from(length).unwrap_or(i64::MAX)))
}

/// The formats Kubernetes' `format.named` knows.
const NAMED_FORMATS: [&str; 13] = [
    "dns1123Label",
    "dns1123Subdomain",
    "dns1035Label",
    "qualifiedName",
    "dns1123LabelPrefix",
    "dns1123SubdomainPrefix",
    "dns1035LabelPrefix",
    "labelValue",
    "uri",
    "uuid",
    "byte",
    "date",
    "datetime",
];

fn format_named(ftx: &FunctionContext, name: Arc<String>) -> CelResult {
    if !NAMED_FORMATS.contains(&name.as_str()) {
        return Ok(cel::Value::Opaque(Arc::new(OptionalValue::none())));
    }
    // Builds the format through its own factory, `format.<name>()`.
    let factory = cel::parser::Parser::new()
        .parse(&format!("format.{name}()"))
        .map_err(|err| ftx.error(err.to_string()))?;
    let format = ftx.ptx.resolve(&factory)?;
    Ok(cel::Value::Opaque(Arc::new(OptionalValue::of(format))))
}
