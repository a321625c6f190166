//! JMESPath evaluation with Kyverno's custom functions. An expression and a
//! JSON document enter; the JSON result leaves. One process-wide runtime holds
//! the built-in and Kyverno functions; compiled expressions are cached by text
//! so rule evaluation on many resources (in parallel) compiles each once.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use base64::Engine as _;
use jmespath::ast::Ast;
use jmespath::functions::{ArgumentType, CustomFunction, Signature};
use jmespath::{
    Context, ErrorReason, Expression, JmespathError as CrateError, Rcvar, Runtime, RuntimeError,
    Variable,
};
use serde_json::Value;

mod encoding;
mod time;

use super::duration;
use super::quantity::{self, Quantity};
use super::wildcard;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum JmespathError {
    #[error("invalid JMESPath expression {expression:?}: {message}")]
    Compile { expression: String, message: String },
    #[error("JMESPath query {expression:?} failed: {message}")]
    Evaluate { expression: String, message: String },
    /// Kyverno's NotFoundError: a field missing from an object on the path.
    #[error("Unknown key \"{key}\" in path")]
    NotFound { key: String },
}

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    let mut runtime = Runtime::new();
    runtime.register_builtin_functions();
    register_kyverno_functions(&mut runtime);
    runtime
});

type Compiled = Arc<Expression<'static>>;

static CACHE: LazyLock<RwLock<HashMap<String, Compiled>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

fn compile(expression: &str) -> Result<Compiled, JmespathError> {
    if let Ok(cache) = CACHE.read() {
        if let Some(found) = cache.get(expression) {
            return Ok(found.clone());
        }
    }
    let runtime: &'static Runtime = &RUNTIME;
    let compiled = Arc::new(
        runtime
            .compile(expression)
            .map_err(|err| JmespathError::Compile {
                expression: expression.to_string(),
                message: err.to_string(),
            })?,
    );
    if let Ok(mut cache) = CACHE.write() {
        cache.insert(expression.to_string(), compiled.clone());
    }
    Ok(compiled)
}

/// Evaluates `expression` against `data` with Kyverno's function set and
/// the error semantics of Kyverno's go-jmespath fork (see [`interpret`]).
pub fn search(expression: &str, data: &Value) -> Result<Value, JmespathError> {
    search_variable(expression, &to_variable(data))
}

/// A document converted once for many searches (see [`search_variable`]).
pub type Document = Rcvar;

/// Converts JSON to the interpreter's representation.
pub fn to_variable(data: &Value) -> Document {
    Rcvar::new(Variable::try_from(data).unwrap_or(Variable::Null))
}

/// Like [`search`], on a document converted with [`to_variable`].
pub fn search_variable(expression: &str, data: &Document) -> Result<Value, JmespathError> {
    let compiled = compile(expression)?;
    let runtime: &'static Runtime = &RUNTIME;
    let mut ctx = Context::new(expression, runtime);
    match interpret(data, compiled.as_ast(), &mut ctx) {
        Ok(result) => Ok(to_json(&result)),
        Err(Failure::NotFound(key)) => Err(JmespathError::NotFound { key }),
        Err(Failure::Error(err)) => Err(JmespathError::Evaluate {
            expression: expression.to_string(),
            message: err.to_string(),
        }),
    }
}

/// An evaluation failure: Kyverno's fork distinguishes a missing key.
enum Failure {
    NotFound(String),
    Error(CrateError),
}

impl From<CrateError> for Failure {
    fn from(err: CrateError) -> Failure {
        Failure::Error(err)
    }
}

fn null() -> Rcvar {
    Rcvar::new(Variable::Null)
}

/// Turns a NotFound into null, keeping other errors (most nodes of the
/// go-jmespath fork do this).
fn lenient(result: Result<Rcvar, Failure>) -> Result<Rcvar, Failure> {
    match result {
        Err(Failure::NotFound(_)) => Ok(null()),
        other => other,
    }
}

/// The kyverno/go-jmespath interpreter's semantics over this crate's AST: a
/// field missing from an object is a NotFound error that propagates through
/// field and sub-expression chains and `&&`'s right side, and becomes null in
/// comparisons, function arguments, `||`, `!`, multi-selects and projections;
/// flatten and filter projections turn any error of their input into null.
fn interpret(data: &Rcvar, node: &Ast, ctx: &mut Context<'_>) -> Result<Rcvar, Failure> {
    match node {
        Ast::Field { name, .. } => match data.as_object() {
            Some(map) => map
                .get(name)
                .cloned()
                .ok_or_else(|| Failure::NotFound(name.clone())),
            None => Ok(null()),
        },
        Ast::Subexpr { lhs, rhs, .. } => {
            let left = interpret(data, lhs, ctx)?;
            interpret(&left, rhs, ctx)
        }
        Ast::Identity { .. } => Ok(data.clone()),
        Ast::Literal { value, .. } => Ok(value.clone()),
        Ast::Index { idx, .. } => Ok(if *idx >= 0 {
            data.get_index(*idx as usize)
        } else {
            data.get_negative_index((-*idx) as usize)
        }),
        Ast::Or { lhs, rhs, .. } => {
            let left = lenient(interpret(data, lhs, ctx))?;
            if left.is_truthy() {
                Ok(left)
            } else {
                lenient(interpret(data, rhs, ctx))
            }
        }
        Ast::And { lhs, rhs, .. } => {
            let left = lenient(interpret(data, lhs, ctx))?;
            if !left.is_truthy() {
                Ok(left)
            } else {
                interpret(data, rhs, ctx)
            }
        }
        Ast::Not { node, .. } => {
            let value = lenient(interpret(data, node, ctx))?;
            Ok(Rcvar::new(Variable::Bool(!value.is_truthy())))
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            let condition = lenient(interpret(data, predicate, ctx))?;
            if condition.is_truthy() {
                lenient(interpret(data, then, ctx))
            } else {
                Ok(null())
            }
        }
        Ast::Comparison {
            comparator,
            lhs,
            rhs,
            ..
        } => {
            let left = lenient(interpret(data, lhs, ctx))?;
            let right = lenient(interpret(data, rhs, ctx))?;
            Ok(left
                .compare(comparator, &right)
                .map_or_else(null, |result| Rcvar::new(Variable::Bool(result))))
        }
        Ast::ObjectValues { node, .. } => {
            let subject = lenient(interpret(data, node, ctx))?;
            Ok(match subject.as_object() {
                Some(map) => Rcvar::new(Variable::Array(map.values().cloned().collect())),
                None => null(),
            })
        }
        Ast::Projection { lhs, rhs, .. } => {
            let filter = matches!(**rhs, Ast::Condition { .. });
            let left = match interpret(data, lhs, ctx) {
                Ok(left) => left,
                Err(_) if filter => return Ok(null()),
                Err(Failure::NotFound(_)) => null(),
                Err(err) => return Err(err),
            };
            let Some(items) = left.as_array() else {
                return Ok(null());
            };
            let mut collected = Vec::new();
            for item in items {
                let current = lenient(interpret(item, rhs, ctx))?;
                if !current.is_null() {
                    collected.push(current);
                }
            }
            Ok(Rcvar::new(Variable::Array(collected)))
        }
        Ast::Flatten { node, .. } => {
            let Ok(left) = interpret(data, node, ctx) else {
                return Ok(null());
            };
            let Some(items) = left.as_array() else {
                return Ok(null());
            };
            let mut collected = Vec::new();
            for item in items {
                match item.as_array() {
                    Some(inner) => collected.extend(inner.iter().cloned()),
                    None => collected.push(item.clone()),
                }
            }
            Ok(Rcvar::new(Variable::Array(collected)))
        }
        Ast::MultiList { elements, .. } => {
            if data.is_null() {
                return Ok(null());
            }
            let mut collected = Vec::with_capacity(elements.len());
            for element in elements {
                collected.push(lenient(interpret(data, element, ctx))?);
            }
            Ok(Rcvar::new(Variable::Array(collected)))
        }
        Ast::MultiHash { elements, .. } => {
            if data.is_null() {
                return Ok(null());
            }
            let mut collected = std::collections::BTreeMap::new();
            for pair in elements {
                collected.insert(
                    pair.key.clone(),
                    lenient(interpret(data, &pair.value, ctx))?,
                );
            }
            Ok(Rcvar::new(Variable::Object(collected)))
        }
        Ast::Function { name, args, offset } => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(lenient(interpret(data, arg, ctx))?);
            }
            ctx.offset = *offset;
            match ctx.runtime.get_function(name) {
                Some(function) => Ok(function.evaluate(&values, ctx)?),
                None => Err(Failure::Error(CrateError::from_ctx(
                    ctx,
                    ErrorReason::Runtime(RuntimeError::UnknownFunction(name.clone())),
                ))),
            }
        }
        Ast::Expref { ast, .. } => Ok(Rcvar::new(Variable::Expref(*ast.clone()))),
        Ast::Slice {
            start,
            stop,
            step,
            offset,
        } => {
            if *step == 0 {
                ctx.offset = *offset;
                return Err(Failure::Error(CrateError::from_ctx(
                    ctx,
                    ErrorReason::Runtime(RuntimeError::InvalidSlice),
                )));
            }
            Ok(data
                .slice(*start, *stop, *step)
                .map_or_else(null, |items| Rcvar::new(Variable::Array(items))))
        }
    }
}

/// Converts a JMESPath variable to JSON; integral floats become integers, as
/// Go prints float64 values without a fraction.
fn to_json(variable: &Variable) -> Value {
    match variable {
        Variable::Null => Value::Null,
        Variable::Bool(b) => Value::Bool(*b),
        Variable::String(s) => Value::String(s.clone()),
        Variable::Number(n) => number_value(n.as_f64().unwrap_or_default()),
        Variable::Array(items) => Value::Array(items.iter().map(|i| to_json(i)).collect()),
        Variable::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Variable::Expref(_) => Value::Null,
    }
}

fn number_value(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::from(value as i64)
    } else {
        serde_json::Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

fn var(value: Value) -> Rcvar {
    Rcvar::new(Variable::try_from(value).unwrap_or(Variable::Null))
}

fn failure(ctx: &Context<'_>, message: impl Into<String>) -> CrateError {
    CrateError::from_ctx(
        ctx,
        ErrorReason::Runtime(RuntimeError::InvalidType {
            expected: message.into(),
            actual: String::new(),
            position: 0,
        }),
    )
}

fn text(args: &[Rcvar], index: usize) -> String {
    args.get(index)
        .and_then(|a| a.as_string().cloned())
        .unwrap_or_default()
}

fn json_arg(args: &[Rcvar], index: usize) -> Value {
    args.get(index).map(|a| to_json(a)).unwrap_or(Value::Null)
}

type Body = dyn Fn(&[Rcvar], &mut Context<'_>) -> Result<Rcvar, CrateError> + Send + Sync;

fn register(
    runtime: &mut Runtime,
    name: &str,
    inputs: Vec<ArgumentType>,
    variadic: Option<ArgumentType>,
    body: Box<Body>,
) {
    runtime.register_function(
        name,
        Box::new(CustomFunction::new(Signature::new(inputs, variadic), body)),
    );
}

use ArgumentType as A;

fn register_kyverno_functions(runtime: &mut Runtime) {
    time::register_all(runtime);
    encoding::register_all(runtime);
    // Strings.
    register(
        runtime,
        "compare",
        vec![A::String, A::String],
        None,
        Box::new(|args, _| {
            let ordering = text(args, 0).cmp(&text(args, 1)) as i64;
            Ok(var(Value::from(ordering)))
        }),
    );
    register(
        runtime,
        "equal_fold",
        vec![A::String, A::String],
        None,
        Box::new(|args, _| {
            Ok(var(Value::Bool(
                text(args, 0).to_lowercase() == text(args, 1).to_lowercase(),
            )))
        }),
    );
    register(
        runtime,
        "replace",
        vec![A::String, A::String, A::String, A::Number],
        None,
        Box::new(|args, _| {
            let count = args[3].as_number().unwrap_or(-1.0) as i64;
            let (source, old, new) = (text(args, 0), text(args, 1), text(args, 2));
            let replaced = if count < 0 {
                source.replace(&old, &new)
            } else {
                source.replacen(&old, &new, count as usize)
            };
            Ok(var(Value::String(replaced)))
        }),
    );
    register(
        runtime,
        "replace_all",
        vec![A::String, A::String, A::String],
        None,
        Box::new(|args, _| {
            Ok(var(Value::String(
                text(args, 0).replace(&text(args, 1), &text(args, 2)),
            )))
        }),
    );
    register(
        runtime,
        "to_upper",
        vec![A::String],
        None,
        Box::new(|args, _| Ok(var(Value::String(text(args, 0).to_uppercase())))),
    );
    register(
        runtime,
        "to_lower",
        vec![A::String],
        None,
        Box::new(|args, _| Ok(var(Value::String(text(args, 0).to_lowercase())))),
    );
    register(
        runtime,
        "trim",
        vec![A::String, A::String],
        None,
        Box::new(|args, _| {
            let cutset: Vec<char> = text(args, 1).chars().collect();
            Ok(var(Value::String(
                text(args, 0)
                    .trim_matches(|c| cutset.contains(&c))
                    .to_string(),
            )))
        }),
    );
    register(
        runtime,
        "trim_prefix",
        vec![A::String, A::String],
        None,
        Box::new(|args, _| {
            let (s, prefix) = (text(args, 0), text(args, 1));
            Ok(var(Value::String(
                s.strip_prefix(prefix.as_str()).unwrap_or(&s).to_string(),
            )))
        }),
    );
    register(
        runtime,
        "split",
        vec![A::String, A::String],
        None,
        Box::new(|args, _| {
            let (s, sep) = (text(args, 0), text(args, 1));
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect()
            };
            Ok(var(Value::Array(parts)))
        }),
    );
    register(
        runtime,
        "truncate",
        vec![A::String, A::Number],
        None,
        Box::new(|args, _| {
            let length = args[1].as_number().unwrap_or(0.0).max(0.0) as usize;
            Ok(var(Value::String(
                text(args, 0).chars().take(length).collect(),
            )))
        }),
    );
    // Regular expressions and wildcards.
    register(
        runtime,
        "regex_match",
        vec![A::String, A::Union(vec![A::String, A::Number])],
        None,
        Box::new(|args, ctx| {
            let re = regex::Regex::new(&text(args, 0)).map_err(|e| failure(ctx, e.to_string()))?;
            let subject = match json_arg(args, 1) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            Ok(var(Value::Bool(re.is_match(&subject))))
        }),
    );
    register(
        runtime,
        "regex_replace_all",
        vec![
            A::String,
            A::Union(vec![A::String, A::Number]),
            A::Union(vec![A::String, A::Number]),
        ],
        None,
        Box::new(|args, ctx| {
            let re = regex::Regex::new(&text(args, 0)).map_err(|e| failure(ctx, e.to_string()))?;
            let subject = match json_arg(args, 1) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let replacement = match json_arg(args, 2) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            // Go's ${1} expansion matches the regex crate's syntax.
            Ok(var(Value::String(
                re.replace_all(&subject, replacement.as_str()).to_string(),
            )))
        }),
    );
    register(
        runtime,
        "regex_replace_all_literal",
        vec![
            A::String,
            A::Union(vec![A::String, A::Number]),
            A::Union(vec![A::String, A::Number]),
        ],
        None,
        Box::new(|args, ctx| {
            let re = regex::Regex::new(&text(args, 0)).map_err(|e| failure(ctx, e.to_string()))?;
            let subject = match json_arg(args, 1) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let replacement = match json_arg(args, 2) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            Ok(var(Value::String(
                re.replace_all(&subject, regex::NoExpand(&replacement))
                    .to_string(),
            )))
        }),
    );
    register(
        runtime,
        "pattern_match",
        vec![A::String, A::Union(vec![A::String, A::Number])],
        None,
        Box::new(|args, _| {
            let subject = match json_arg(args, 1) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            Ok(var(Value::Bool(wildcard::matches(
                &text(args, 0),
                &subject,
            ))))
        }),
    );
    register(
        runtime,
        "label_match",
        vec![A::Object, A::Object],
        None,
        Box::new(|args, _| {
            let (selector, labels) = (json_arg(args, 0), json_arg(args, 1));
            let matched = selector
                .as_object()
                .is_some_and(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
            Ok(var(Value::Bool(matched)))
        }),
    );
    register(
        runtime,
        "to_boolean",
        vec![A::String],
        None,
        Box::new(|args, ctx| match text(args, 0).to_lowercase().as_str() {
            "true" => Ok(var(Value::Bool(true))),
            "false" => Ok(var(Value::Bool(false))),
            other => Err(failure(
                ctx,
                format!("lowercase argument must be 'true' or 'false' (provided: '{other}')"),
            )),
        }),
    );
    // Arithmetic on numbers, quantities and durations.
    for name in ["add", "subtract", "multiply", "divide", "modulo"] {
        let op = name.to_string();
        register(
            runtime,
            name,
            vec![A::Any, A::Any],
            None,
            Box::new(move |args, ctx| {
                arithmetic(&op, &json_arg(args, 0), &json_arg(args, 1))
                    .map(var)
                    .map_err(|e| failure(ctx, e))
            }),
        );
    }
    register(
        runtime,
        "sum",
        vec![A::Array],
        None,
        Box::new(|args, ctx| {
            let items = json_arg(args, 0);
            let items = items.as_array().cloned().unwrap_or_default();
            let mut total = match items.first() {
                Some(first) => first.clone(),
                None => {
                    return Err(failure(
                        ctx,
                        "at least one element in the array is required",
                    ))
                }
            };
            for item in &items[1..] {
                total = arithmetic("add", &total, item).map_err(|e| failure(ctx, e))?;
            }
            Ok(var(total))
        }),
    );
    register(
        runtime,
        "round",
        vec![A::Number, A::Number],
        None,
        Box::new(|args, ctx| {
            let value = args[0].as_number().unwrap_or(0.0);
            let digits = args[1].as_number().unwrap_or(0.0);
            if digits < 0.0 || digits.fract() != 0.0 {
                return Err(failure(ctx, "the precision must be a non-negative integer"));
            }
            let scale = 10f64.powi(digits as i32);
            Ok(var(number_value((value * scale).round() / scale)))
        }),
    );
    // Encoding.
    register(
        runtime,
        "base64_decode",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text(args, 0))
                .map_err(|e| failure(ctx, e.to_string()))?;
            Ok(var(Value::String(
                String::from_utf8_lossy(&bytes).to_string(),
            )))
        }),
    );
    register(
        runtime,
        "base64_encode",
        vec![A::String],
        None,
        Box::new(|args, _| {
            Ok(var(Value::String(
                base64::engine::general_purpose::STANDARD.encode(text(args, 0)),
            )))
        }),
    );
    register(
        runtime,
        "parse_json",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            serde_json::from_str::<Value>(&text(args, 0))
                .map(var)
                .map_err(|e| failure(ctx, e.to_string()))
        }),
    );
    register(
        runtime,
        "parse_yaml",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            serde_yaml::from_str::<Value>(&text(args, 0))
                .map(var)
                .map_err(|e| failure(ctx, e.to_string()))
        }),
    );
    // Objects.
    register(
        runtime,
        "items",
        vec![A::Union(vec![A::Object, A::Array]), A::String, A::String],
        None,
        Box::new(|args, _| {
            let (key_name, value_name) = (text(args, 1), text(args, 2));
            let out: Vec<Value> = match json_arg(args, 0) {
                Value::Object(map) => map
                    .into_iter()
                    .map(|(k, v)| serde_json::json!({ key_name.clone(): k, value_name.clone(): v }))
                    .collect(),
                Value::Array(items) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| serde_json::json!({ key_name.clone(): i, value_name.clone(): v }))
                    .collect(),
                _ => Vec::new(),
            };
            Ok(var(Value::Array(out)))
        }),
    );
    register(
        runtime,
        "object_from_lists",
        vec![A::Array, A::Array],
        None,
        Box::new(|args, _| {
            let keys = json_arg(args, 0);
            let values = json_arg(args, 1);
            let mut out = serde_json::Map::new();
            for (i, key) in keys.as_array().into_iter().flatten().enumerate() {
                if let Some(key) = key.as_str() {
                    out.insert(
                        key.to_string(),
                        values.get(i).cloned().unwrap_or(Value::Null),
                    );
                }
            }
            Ok(var(Value::Object(out)))
        }),
    );
    register(
        runtime,
        "lookup",
        vec![
            A::Union(vec![A::Object, A::Array]),
            A::Union(vec![A::String, A::Number]),
        ],
        None,
        Box::new(|args, ctx| {
            let collection = json_arg(args, 0);
            let key = json_arg(args, 1);
            let found = match (&collection, &key) {
                (Value::Object(map), Value::String(k)) => {
                    map.get(k).cloned().unwrap_or(Value::Null)
                }
                (Value::Array(items), Value::Number(n)) => {
                    let index = n.as_f64().unwrap_or(-1.0);
                    if index.fract() != 0.0 {
                        return Err(failure(ctx, "the index must be an integer"));
                    }
                    usize::try_from(index as i64)
                        .ok()
                        .and_then(|i| items.get(i))
                        .cloned()
                        .unwrap_or(Value::Null)
                }
                _ => {
                    return Err(failure(
                        ctx,
                        "lookup: key type does not match the collection",
                    ))
                }
            };
            Ok(var(found))
        }),
    );
    register(
        runtime,
        "path_canonicalize",
        vec![A::String],
        None,
        Box::new(|args, _| {
            let path = text(args, 0);
            let absolute = path.starts_with('/');
            let mut parts: Vec<&str> = Vec::new();
            for part in path.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        if parts.last().is_some_and(|p| *p != "..") {
                            parts.pop();
                        } else if !absolute {
                            parts.push("..");
                        }
                    }
                    other => parts.push(other),
                }
            }
            let joined = parts.join("/");
            let result = if absolute {
                format!("/{joined}")
            } else if joined.is_empty() {
                ".".into()
            } else {
                joined
            };
            Ok(var(Value::String(result)))
        }),
    );
    // Time.
    register(
        runtime,
        "time_now",
        vec![],
        None,
        Box::new(|_, _| {
            Ok(var(Value::String(
                chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )))
        }),
    );
    register(
        runtime,
        "time_now_utc",
        vec![],
        None,
        Box::new(|_, _| {
            Ok(var(Value::String(
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )))
        }),
    );
    register(
        runtime,
        "time_since",
        vec![A::String, A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let parse = |s: &str| {
                chrono::DateTime::parse_from_rfc3339(s).map_err(|e| failure(ctx, e.to_string()))
            };
            let start = parse(&text(args, 1))?;
            let end = if text(args, 2).is_empty() {
                chrono::Utc::now().fixed_offset()
            } else {
                parse(&text(args, 2))?
            };
            let nanos = (end - start).num_nanoseconds().unwrap_or(i64::MAX);
            Ok(var(Value::String(duration::format(nanos))))
        }),
    );
    register(
        runtime,
        "semver_compare",
        vec![A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let version =
                semver_triplet(&text(args, 0)).ok_or_else(|| failure(ctx, "invalid semver"))?;
            let range = text(args, 1);
            let (op, target) = split_semver_operator(&range);
            let target =
                semver_triplet(target).ok_or_else(|| failure(ctx, "invalid semver range"))?;
            let ordering = version.cmp(&target);
            use std::cmp::Ordering::*;
            let result = match op {
                ">" => ordering == Greater,
                ">=" => ordering != Less,
                "<" => ordering == Less,
                "<=" => ordering != Greater,
                "!=" => ordering != Equal,
                _ => ordering == Equal,
            };
            Ok(var(Value::Bool(result)))
        }),
    );
}

fn split_semver_operator(range: &str) -> (&str, &str) {
    for op in [">=", "<=", "!=", "==", ">", "<", "="] {
        if let Some(rest) = range.trim().strip_prefix(op) {
            return (op, rest.trim());
        }
    }
    ("=", range.trim())
}

fn semver_triplet(text: &str) -> Option<(u64, u64, u64)> {
    let core = text
        .trim()
        .trim_start_matches('v')
        .split(['-', '+'])
        .next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

/// One arithmetic operand, classified as Kyverno does: numbers are scalars;
/// strings are quantities if they parse as one, else durations.
#[derive(Debug, Clone, Copy)]
enum Operand {
    Scalar(f64),
    Quantity(Quantity),
    Duration(i64),
}

fn operand(value: &Value) -> Result<Operand, String> {
    match value {
        Value::Number(n) => Ok(Operand::Scalar(n.as_f64().unwrap_or_default())),
        Value::String(s) => Quantity::parse(s)
            .map(Operand::Quantity)
            .or_else(|| duration::parse(s).map(Operand::Duration))
            .ok_or_else(|| format!("invalid operand {s:?}")),
        other => Err(format!("invalid operand {other}")),
    }
}

/// Kyverno's arithmetic table (pkg/engine/jmespath/arithmetic.go).
fn arithmetic(op: &str, a: &Value, b: &Value) -> Result<Value, String> {
    use Operand::*;
    let mismatch = || Err(format!("{op}: operands of mismatched types"));
    let zero = || Err("Zero divisor passed".to_string());
    let quantity = |value: f64, like: &quantity::Quantity| {
        Value::String(quantity::Quantity::new(value, like.format).canonical())
    };
    let duration_text = |nanos: f64| Value::String(duration::format(nanos as i64));
    let (x, y) = (operand(a)?, operand(b)?);
    match op {
        "add" | "subtract" => {
            let sign = if op == "add" { 1.0 } else { -1.0 };
            match (x, y) {
                (Scalar(p), Scalar(q)) => Ok(number_value(p + sign * q)),
                (Quantity(p), Quantity(q)) => Ok(quantity(p.value + sign * q.value, &p)),
                (Duration(p), Duration(q)) => Ok(duration_text(p as f64 + sign * q as f64)),
                _ => mismatch(),
            }
        }
        "multiply" => match (x, y) {
            (Scalar(p), Scalar(q)) => Ok(number_value(p * q)),
            (Quantity(p), Scalar(q)) | (Scalar(q), Quantity(p)) => Ok(quantity(p.value * q, &p)),
            (Duration(p), Scalar(q)) | (Scalar(q), Duration(p)) => Ok(duration_text(p as f64 * q)),
            _ => mismatch(),
        },
        "divide" => match (x, y) {
            (_, Scalar(0.0)) => zero(),
            (_, Quantity(q)) if q.value == 0.0 => zero(),
            (_, Duration(0)) => zero(),
            (Scalar(p), Scalar(q)) => Ok(number_value(p / q)),
            (Quantity(p), Quantity(q)) => Ok(number_value(p.value / q.value)),
            (Quantity(p), Scalar(q)) => Ok(quantity(p.value / q, &p)),
            (Duration(p), Duration(q)) => Ok(number_value(p as f64 / q as f64)),
            (Duration(p), Scalar(q)) => Ok(duration_text(p as f64 / q)),
            _ => mismatch(),
        },
        _ => match (x, y) {
            (_, Scalar(0.0)) => zero(),
            (_, Quantity(q)) if q.value == 0.0 => zero(),
            (_, Duration(0)) => zero(),
            (Scalar(p), Scalar(q)) => {
                if p.fract() != 0.0 || q.fract() != 0.0 {
                    return Err("modulo: non-integer argument(s)".into());
                }
                Ok(number_value(p % q))
            }
            (Quantity(p), Quantity(q)) => Ok(quantity(p.value % q.value, &p)),
            (Duration(p), Duration(q)) => Ok(duration_text((p % q) as f64)),
            _ => mismatch(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expression: &str, data: Value) -> Value {
        search(expression, &data).expect("evaluates")
    }

    #[test]
    fn builtins_and_numbers() {
        assert_eq!(eval("length(a)", json!({"a": [1, 2, 3]})), json!(3));
        assert_eq!(
            eval("a[?b > `1`].b", json!({"a": [{"b": 1}, {"b": 2}]})),
            json!([2])
        );
        assert_eq!(eval("contains(a, 'x')", json!({"a": ["x"]})), json!(true));
        assert_eq!(eval("a || 'd'", json!({})), json!("d"));
    }

    #[test]
    fn kyverno_string_functions() {
        assert_eq!(eval("to_upper('abc')", json!({})), json!("ABC"));
        assert_eq!(eval("split('a,b', ',')", json!({})), json!(["a", "b"]));
        assert_eq!(
            eval("regex_match('^nginx', 'nginx:1')", json!({})),
            json!(true)
        );
        assert_eq!(
            eval(
                "regex_replace_all('([a-z]+)-(\\d+)', 'web-12', '${2}')",
                json!({})
            ),
            json!("12")
        );
        assert_eq!(eval("trim_prefix('v1.2', 'v')", json!({})), json!("1.2"));
        assert_eq!(eval("truncate('abcdef', `3`)", json!({})), json!("abc"));
        assert_eq!(
            eval("pattern_match('nginx*', 'nginx:1')", json!({})),
            json!(true)
        );
        assert_eq!(
            eval(
                "label_match(`{\"a\":\"b\"}`, `{\"a\":\"b\",\"c\":\"d\"}`)",
                json!({})
            ),
            json!(true)
        );
        assert_eq!(
            eval("base64_decode(base64_encode('hi'))", json!({})),
            json!("hi")
        );
        assert_eq!(eval("parse_json('{\"a\": 1}').a", json!({})), json!(1));
        assert_eq!(eval("parse_yaml('a: [1, 2]').a[1]", json!({})), json!(2));
        assert_eq!(
            eval("path_canonicalize('/a/./b/../c')", json!({})),
            json!("/a/c")
        );
    }

    #[test]
    fn arithmetic_on_numbers_quantities_and_durations() {
        assert_eq!(eval("add(`1`, `2`)", json!({})), json!(3));
        assert_eq!(eval("add('1Gi', '512Mi')", json!({})), json!("1536Mi"));
        assert_eq!(eval("subtract('2h', '30s')", json!({})), json!("1h59m30s"));
        assert!(search("add('1Gi', `1`)", &json!({})).is_err());
        assert_eq!(eval("divide('1Gi', '512Mi')", json!({})), json!(2));
        assert_eq!(eval("multiply('100m', `3`)", json!({})), json!("300m"));
        assert_eq!(eval("modulo(`7`, `3`)", json!({})), json!(1));
        assert_eq!(eval("sum(['1Gi', '1Gi'])", json!({})), json!("2Gi"));
        assert_eq!(eval("round(`1.256`, `2`)", json!({})), json!(1.26));
        assert!(search("divide(`1`, `0`)", &json!({})).is_err());
    }

    #[test]
    fn objects_time_and_versions() {
        assert_eq!(
            eval("items(a, 'k', 'v')", json!({"a": {"x": 1}})),
            json!([{"k": "x", "v": 1}])
        );
        assert_eq!(
            eval("object_from_lists(['a'], [`1`])", json!({})),
            json!({"a": 1})
        );
        assert_eq!(eval("lookup(a, 'x')", json!({"a": {"x": 5}})), json!(5));
        assert_eq!(
            eval(
                "time_since('', '2024-01-01T00:00:00Z', '2024-01-01T01:00:00Z')",
                json!({})
            ),
            json!("1h0m0s")
        );
        assert_eq!(
            eval("semver_compare('1.2.3', '>1.0.0')", json!({})),
            json!(true)
        );
        assert_eq!(eval("to_boolean('True')", json!({})), json!(true));
    }

    #[test]
    fn errors_name_the_expression() {
        let err = search("a[", &json!({})).expect_err("invalid");
        assert!(err.to_string().contains("a["));
        assert!(search("nope(a)", &json!({})).is_err());
    }

    #[test]
    fn missing_keys_follow_kyverno_go_jmespath() {
        let data = json!({"a": {"b": 1}, "list": [{"x": 1}, {"y": 2}]});
        assert_eq!(
            search("a.c", &data),
            Err(JmespathError::NotFound { key: "c".into() })
        );
        assert_eq!(
            search("a.c.d", &data),
            Err(JmespathError::NotFound { key: "c".into() })
        );
        assert_eq!(eval("a.c || 'd'", data.clone()), json!("d"));
        assert_eq!(eval("a.c == null", data.clone()), json!(true));
        assert_eq!(eval("list[].x", data.clone()), json!([1]));
        assert_eq!(eval("length(list[?x])", data.clone()), json!(1));
        assert_eq!(
            eval("a.missing.values(@)[].to_string(@)", data.clone()),
            Value::Null
        );
        assert_eq!(eval("!(a.missing)", data.clone()), json!(true));
        assert_eq!(eval("a.b.c", data), Value::Null);
    }
}
