//! Variable substitution: `{{ jmespath }}` in any string (or key) of a JSON
//! document, and `$(./relative/path)` references to other values of the same
//! document. A document and a [`Lookup`] (the evaluation context) enter; the substituted document
//! leaves, or an error naming the variable and where it stood. Mirrors
//! Kyverno's `pkg/engine/variables/vars.go`, including its quirks: a string
//! that is exactly one variable takes the variable's JSON type, `\{{` escapes,
//! `{{- x }}` substitutes once without re-scanning.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

#[allow(clippy::expect_used)] // constant patterns, checked by the tests below
static VARIABLES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})").expect("variable regex")
});
#[allow(clippy::expect_used)]
static REFERENCES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\$\(.[^ ]*\)|[^\\]\$\(.[^ ]*\)").expect("reference regex"));
#[allow(clippy::expect_used)]
static ESCAPED_REFERENCES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\\$\(.[^ )]*\)").expect("escaped reference regex"));

thread_local! {
    /// Whether a substitution on this thread, since [`tracking_resubstitution`]
    /// began, put in a value holding `{{` that the next round evaluates.
    static RESUBSTITUTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work` (one rule's evaluation on one resource) and says whether a
/// substitution in it evaluated text a substitution had produced: a value
/// holding `{{` — a field of the resource, a lookup's answer, a string a
/// policy built from literals — is substituted again, as Kyverno does.
/// What such a text shows, no reading of the rule as written can judge
/// (verify39: the reversed password of a Secret through a `type`, a
/// ConfigMap value, `join('', ['{', '{ … }', '}'])`).
pub(crate) fn tracking_resubstitution<T>(work: impl FnOnce() -> T) -> (T, bool) {
    let outer = RESUBSTITUTED.with(|flag| flag.replace(false));
    let done = work();
    let inner = RESUBSTITUTED.with(|flag| flag.replace(outer));
    if inner {
        RESUBSTITUTED.with(|flag| flag.set(true));
    }
    (done, inner)
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub(crate) enum SubstitutionError {
    #[error("{0}")]
    Query(QueryError),
    #[error("failed to resolve {variable} at path {path}: {source}")]
    Variable {
        variable: String,
        path: String,
        source: QueryError,
    },
    /// A value holding its own variable (twice) doubles each round of
    /// nested substitution; Kyverno's loop (pkg/engine/variables/vars.go
    /// `substituteVariablesIfAny`) has no bound and would not end. A string
    /// of many `$(./…)` references to itself (or to the whole document)
    /// grows with their square (`substituteReferencesIfAny`, also
    /// unbounded there); `variable` is then the reference.
    #[error(
        "failed to resolve {variable} at path {path}: substitution passed its bound \
         ({MAX_SUBSTITUTED_LEN} bytes of text, {MAX_SUBSTITUTION_WORK} bytes rewritten): \
         a value that holds its own variable or reference"
    )]
    TooLarge { variable: String, path: String },
    #[error("failed to resolve reference {reference} at path {path}: {message}")]
    Reference {
        reference: String,
        path: String,
        message: String,
    },
}

impl SubstitutionError {
    /// True for Kyverno's NotFoundError (a missing key in a plain path).
    #[cfg(test)]
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(
            self,
            SubstitutionError::Query(QueryError::NotFound { .. })
                | SubstitutionError::Variable {
                    source: QueryError::NotFound { .. },
                    ..
                }
        )
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub(crate) enum QueryError {
    /// Kyverno's `NotFoundError`: a key missing from an object in a plain path.
    #[error("Unknown key \"{key}\" in path{hint}")]
    NotFound { key: String, hint: String },
    #[error("{0}")]
    Invalid(String),
}

/// What `{{ }}` expressions are read from: the evaluation context
/// ([`crate::context::EvalContext`]), which may load deferred context
/// entries while it answers (hence `&mut`). Substitution knows no more of
/// the context than this.
pub(crate) trait Lookup {
    /// The value of the JMESPath `expression` over the context.
    ///
    /// # Errors
    /// [`QueryError::NotFound`] for a key missing in a plain path (Kyverno's
    /// `NotFoundError`), [`QueryError::Invalid`] for anything else.
    fn query(&mut self, expression: &str) -> Result<Value, QueryError>;
}

/// True when the string holds at least one `{{ }}` variable.
pub(crate) fn has_variables(text: &str) -> bool {
    VARIABLES.is_match(text)
}

/// True when any string or key of the document holds `{{` or `$(`; most
/// patterns and conditions hold none and skip the rebuild.
fn needs_substitution(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains("{{") || text.contains("$("),
        Value::Array(items) => items.iter().any(needs_substitution),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| key.contains("{{") || needs_substitution(item)),
        _ => false,
    }
}

/// Substitutes references, then variables, throughout `document`.
pub(crate) fn substitute_all(
    ctx: &mut dyn Lookup,
    document: &Value,
) -> Result<Value, SubstitutionError> {
    substitute_borrowed(ctx, document).map(std::borrow::Cow::into_owned)
}

/// [`substitute_all`], lending `document` back when it holds nothing to
/// substitute (most patterns and conditions), instead of a copy.
pub(crate) fn substitute_borrowed<'a>(
    ctx: &mut dyn Lookup,
    document: &'a Value,
) -> Result<std::borrow::Cow<'a, Value>, SubstitutionError> {
    if !needs_substitution(document) {
        return Ok(std::borrow::Cow::Borrowed(document));
    }
    let referenced = rewrite_strings(document, &mut Vec::new(), false, &mut |text, path| {
        substitute_reference_string(document, text, path)
    })?;
    let mut delete = None;
    rewrite_strings(&referenced, &mut Vec::new(), true, &mut |text, path| {
        substitute_string(ctx, text, path, &mut delete)
    })
    .map(std::borrow::Cow::Owned)
}

fn pointer(path: &[String]) -> String {
    if path.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", path.join("/"))
    }
}

type StringRewrite<'a> = dyn FnMut(&str, &[String]) -> Result<Value, SubstitutionError> + 'a;

/// Rebuilds a document with `rewrite` applied to every string leaf (and to
/// every key holding a variable, when `keys` is set), tracking the path.
fn rewrite_strings(
    value: &Value,
    path: &mut Vec<String>,
    keys: bool,
    rewrite: &mut StringRewrite<'_>,
) -> Result<Value, SubstitutionError> {
    match value {
        Value::String(text) => rewrite(text, path),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                path.push(index.to_string());
                let result = rewrite_strings(item, path, keys, rewrite);
                path.pop();
                out.push(result?);
            }
            Ok(Value::Array(out))
        }
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, item) in map {
                let new_key = if keys && has_variables(key) {
                    match rewrite(key, path)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    }
                } else {
                    key.clone()
                };
                path.push(key.clone());
                let result = rewrite_strings(item, path, keys, rewrite);
                path.pop();
                out.insert(new_key, result?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// One `{{ ... }}` occurrence: the text to replace and the inner expression.
struct Occurrence {
    /// The matched text without any leading prefix character.
    text: String,
    expression: String,
    shallow: bool,
}

fn occurrences(text: &str) -> Vec<Occurrence> {
    VARIABLES
        .captures_iter(text)
        .filter_map(|caps| caps.get(2))
        .map(|m| {
            let raw = m.as_str();
            let inner = raw.replace("{{", "").replace("}}", "");
            let inner = inner.trim();
            let (expression, shallow) = match inner.strip_prefix('-') {
                Some(rest) => (rest.trim().to_string(), true),
                None => (inner.to_string(), false),
            };
            Occurrence {
                text: raw.to_string(),
                expression,
                shallow,
            }
        })
        .collect()
}

/// Kyverno's `@`: the value at the same place in the resource. The first two
/// path elements name the pattern's position in the rule, as in Kyverno.
fn at_path(path: &[String]) -> String {
    let after_foreach = match path.iter().rposition(|p| p == "foreach") {
        Some(i) => &path[i + 1..],
        None => path,
    };
    let rest = after_foreach.get(2..).unwrap_or(&[]);
    let mut expression = "request.object".to_string();
    for element in rest {
        if element.parse::<usize>().is_ok() {
            expression.push_str(&format!("[{element}]"));
        } else if element
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && element
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            expression.push('.');
            expression.push_str(element);
        } else {
            expression.push_str(&format!(".\"{}\"", element.replace('"', "\\\"")));
        }
    }
    expression
}

/// The longest text substitution may build: past any Kubernetes object
/// (etcd takes 1.5 MiB) written out a few times.
const MAX_SUBSTITUTED_LEN: usize = 4 << 20;

/// The most text one string's substitution may rewrite, summed over its
/// replacements (each copies the whole text).
const MAX_SUBSTITUTION_WORK: usize = 64 << 20;

/// Whether the request is a DELETE, read once per document and only when
/// a variable reads `request.object`.
fn is_delete(ctx: &mut dyn Lookup, delete: &mut Option<bool>) -> bool {
    *delete.get_or_insert_with(|| {
        ctx.query("request.operation")
            .is_ok_and(|operation| operation == "DELETE")
    })
}

fn substitute_string(
    ctx: &mut dyn Lookup,
    text: &str,
    path: &[String],
    delete: &mut Option<bool>,
) -> Result<Value, SubstitutionError> {
    if !text.contains("{{") {
        return Ok(Value::String(text.to_string()));
    }
    let mut value = text.to_string();
    let mut found = occurrences(&value);
    // Nested variables re-scan the result; bound it so self-reproducing values end.
    let mut rounds = 0;
    let mut work = 0;
    while !found.is_empty() && rounds < 32 {
        rounds += 1;
        let original = value.clone();
        let mut shallow = false;
        for occurrence in &found {
            shallow = occurrence.shallow;
            let mut expression = occurrence.expression.clone();
            if expression == "@" {
                expression = at_path(path);
            }
            // On a DELETE a variable reads the old object for the object,
            // null there (kyverno pkg/engine/variables/vars.go
            // substituteVariablesIfAny: `isDeleteRequest`).
            if expression.contains("request.object") && is_delete(ctx, delete) {
                expression = expression.replace("request.object", "request.oldObject");
            }
            let resolved =
                ctx.query(&expression)
                    .map_err(|source| SubstitutionError::Variable {
                        variable: expression.clone(),
                        path: pointer(path),
                        source,
                    })?;
            if original == occurrence.text {
                return Ok(resolved);
            }
            let mut replacement = match &resolved {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if shallow {
                replacement = replacement.replace("{{", "\\{{");
            } else if replacement.contains("{{") {
                RESUBSTITUTED.with(|flag| flag.set(true));
            }
            value = value.replacen(&occurrence.text, &replacement, 1);
            // Each replacement rewrites the whole text: bound the sum too.
            work += value.len();
            if value.len() > MAX_SUBSTITUTED_LEN || work > MAX_SUBSTITUTION_WORK {
                return Err(SubstitutionError::TooLarge {
                    variable: expression,
                    path: pointer(path),
                });
            }
        }
        found = if shallow {
            Vec::new()
        } else {
            occurrences(&value)
        };
    }
    Ok(Value::String(value.replace("\\{{", "{{")))
}

const REFERENCE_OPERATORS: [&str; 5] = [">=", "<=", ">", "<", "!"];

fn substitute_reference_string(
    root: &Value,
    text: &str,
    path: &[String],
) -> Result<Value, SubstitutionError> {
    if !text.contains("$(") {
        return Ok(Value::String(text.to_string()));
    }
    let mut value = text.to_string();
    let mut work = 0;
    let too_large = |reference: &str| SubstitutionError::TooLarge {
        variable: reference.to_string(),
        path: pointer(path),
    };
    let matches: Vec<String> = REFERENCES
        .find_iter(text)
        .map(|m| m.as_str().to_string())
        .collect();
    for found in matches {
        // Not at the start, the match begins with the character before
        // `$(`: one char, not one byte — it may be multi-byte (`ơ$(…)`,
        // found by the variables fuzz target).
        let before = if found.starts_with("$(") {
            0
        } else {
            found.chars().next().map_or(0, char::len_utf8)
        };
        let (prefix, reference) = found.split_at(before);
        let fail = |message: String| SubstitutionError::Reference {
            reference: reference.to_string(),
            path: pointer(path),
            message,
        };
        let inner = reference.trim_start_matches("$(").trim_end_matches(')');
        let operator = REFERENCE_OPERATORS
            .iter()
            .find(|op| inner.starts_with(**op))
            .copied()
            .unwrap_or("");
        let relative = &inner[operator.len()..];
        if relative.is_empty() {
            return Err(fail("expected path, found empty reference".into()));
        }
        let absolute = join_path(&pointer(path), relative);
        let resolved = find_by_path(root, &absolute, &mut Vec::new())
            .ok_or_else(|| fail(format!("got nil resolved variable {reference}")))?;
        let text_value = match (&resolved, operator) {
            (Value::String(s), _) => s.clone(),
            (Value::Number(n), op) if !op.is_empty() => {
                if n.is_f64() {
                    format!("{:.6}", n.as_f64().unwrap_or_default())
                } else {
                    n.to_string()
                }
            }
            (Value::Number(n), _) => n.to_string(),
            _ => return Err(fail("reference does not resolve to a string".into())),
        };
        let mut replacement = prefix.to_string();
        replacement.push_str(operator);
        replacement.push_str(&text_value);
        value = value.replacen(&found, &replacement, 1);
        // Each replacement rewrites the whole text: bound it and the sum,
        // as for variables (a fuzzed string of 1.7 kB referring to itself
        // ran for minutes).
        work += value.len();
        if value.len() > MAX_SUBSTITUTED_LEN || work > MAX_SUBSTITUTION_WORK {
            return Err(too_large(reference));
        }
    }
    // Kyverno replaces every occurrence once per match, so a duplicate
    // match strips one more `\` off a run of them.
    let escaped: Vec<String> = ESCAPED_REFERENCES
        .find_iter(&value)
        .map(|m| m.as_str().to_string())
        .collect();
    for escaped in escaped {
        work += value.len();
        if work > MAX_SUBSTITUTION_WORK {
            return Err(too_large(&escaped));
        }
        value = value.replace(&escaped, &escaped[1..]);
    }
    Ok(Value::String(value))
}

/// `path.Join(base, relative)` for slash paths, with `..` and `.` resolved.
fn join_path(base: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = if relative.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Strips Kyverno anchors from one path element (`=(name)` → `name`).
fn strip_anchor(element: &str) -> &str {
    for prefix in ["=(", "X(", "^(", "<(", "+(", "("] {
        if let Some(rest) = element.strip_prefix(prefix) {
            if let Some(inner) = rest.strip_suffix(')') {
                return inner;
            }
        }
    }
    element
}

fn find_by_path(value: &Value, target: &str, path: &mut Vec<String>) -> Option<Value> {
    let current = format!(
        "/{}",
        path.iter()
            .map(|p| strip_anchor(p))
            .collect::<Vec<_>>()
            .join("/")
    );
    if current == target {
        return Some(value.clone());
    }
    match value {
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            path.push(key.clone());
            let found = find_by_path(item, target, path);
            path.pop();
            found
        }),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            path.push(index.to_string());
            let found = find_by_path(item, target, path);
            path.pop();
            found
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{EvalContext, NoClusterData};
    use serde_json::json;
    use std::sync::Arc;

    fn ctx() -> EvalContext {
        let mut ctx = EvalContext::new(Arc::new(NoClusterData));
        ctx.add_variable(
            "request",
            json!({"operation": "CREATE", "object": {"metadata": {"name": "web", "labels": {"n": 3}},
                "spec": {"replicas": 2}}}),
        );
        ctx
    }

    #[test]
    fn whole_string_variable_keeps_its_type() {
        let mut c = ctx();
        assert_eq!(
            substitute_all(&mut c, &json!("{{ request.object.spec.replicas }}")),
            Ok(json!(2))
        );
        assert_eq!(
            substitute_all(&mut c, &json!("{{request.object.metadata.labels}}")),
            Ok(json!({"n": 3}))
        );
    }

    #[test]
    fn embedded_variables_become_text() {
        let mut c = ctx();
        assert_eq!(
            substitute_all(&mut c, &json!("name={{ request.object.metadata.name }} n={{ request.object.metadata.labels }}")),
            Ok(json!("name=web n={\"n\":3}"))
        );
    }

    #[test]
    fn keys_arrays_and_escapes() {
        let mut c = ctx();
        let doc = json!({"{{ request.operation }}": ["{{ request.object.metadata.name }}", "\\{{ literal }}"]});
        assert_eq!(
            substitute_all(&mut c, &doc),
            Ok(json!({"CREATE": ["web", "{{ literal }}"]}))
        );
    }

    #[test]
    fn nested_braces_and_functions() {
        let mut c = ctx();
        assert_eq!(
            substitute_all(
                &mut c,
                &json!("{{ request.object.metadata.labels | keys(@) }}")
            ),
            Ok(json!(["n"]))
        );
    }

    #[test]
    fn missing_key_is_an_error_naming_the_variable() {
        let mut c = ctx();
        let err = substitute_all(
            &mut c,
            &json!({"a": "{{ request.object.metadata.namespace }}"}),
        )
        .expect_err("missing");
        assert!(err.is_not_found());
        let text = err.to_string();
        assert!(
            text.contains("request.object.metadata.namespace") && text.contains("/a"),
            "{text}"
        );
    }

    #[test]
    fn variables_resolving_to_variables_are_rescanned_unless_shallow() {
        let mut c = ctx();
        c.set_entry("inner", json!("{{ request.object.metadata.name }}"));
        assert_eq!(
            substitute_all(&mut c, &json!("x-{{ inner }}")),
            Ok(json!("x-web"))
        );
        assert_eq!(
            substitute_all(&mut c, &json!("x-{{- inner }}")),
            Ok(json!("x-{{ request.object.metadata.name }}"))
        );
    }

    /// A resource whose field holds its own variable twice doubled the
    /// text each of 32 rounds (the variables fuzz target's timeout, 10 s+
    /// and gigabytes); it is an error naming the variable once past its
    /// bound.
    /// Once is only linear growth, which the 32 rounds end.
    #[test]
    fn a_value_holding_its_own_variable_is_bounded() {
        let mut c = ctx();
        c.set_entry("twice", json!("a{{ twice }}b{{ twice }}c"));
        let err = substitute_all(&mut c, &json!("x-{{ twice }}")).expect_err("too large");
        assert!(
            matches!(&err, SubstitutionError::TooLarge { variable, .. } if variable == "twice"),
            "{err}"
        );
        assert!(err.to_string().contains("passed its bound"), "{err}");
        c.set_entry("once", json!("a{{ once }}"));
        let once = substitute_all(&mut c, &json!("x-{{ once }}")).expect("bounded by rounds");
        assert!(once.as_str().is_some_and(|s| s.starts_with("x-aaa")));
    }

    #[test]
    fn a_string_of_references_to_itself_is_bounded() {
        // Each `$(./../a)` is replaced by the whole original string, which
        // holds them all: 400 of them made 10^8 bytes (minutes, found by
        // the variables fuzz target with `$(//)`, the document itself).
        let references = "$(./../a) ".repeat(4000);
        let doc = json!({"a": references});
        let err = substitute_all(&mut ctx(), &doc).expect_err("too large");
        assert!(
            matches!(&err, SubstitutionError::TooLarge { variable, path } if variable == "$(./../a)" && path == "/a"),
            "{err}"
        );
        // A few such references are still substituted.
        let doc = json!({"a": "x", "b": "$(./../a) $(./../a)"});
        assert_eq!(
            substitute_all(&mut ctx(), &doc).expect("substituted"),
            json!({"a": "x", "b": "x x"})
        );
        // Two escaped references: each match replaces every occurrence
        // (Kyverno's `strings.Replace(value, v, v[1:], -1)`), so the second
        // strips the first one's second backslash too.
        let doc = json!({"a": r"\\$(x) \$(x)"});
        assert_eq!(
            substitute_all(&mut ctx(), &doc).expect("substituted"),
            json!({"a": "$(x) $(x)"})
        );
    }

    #[test]
    fn references_resolve_against_the_document() {
        let mut c = ctx();
        let doc = json!({"spec": {"containers": [{"resources": {"requests": {"memory": "?*"}, "limits": {"memory": "<=$(./../../requests/memory)"}}}]}});
        let doc2 = json!({"spec": {"=(a)": "5", "b": ">$(./../a)"}});
        let out = substitute_all(&mut c, &doc).expect("substituted");
        assert_eq!(
            out.pointer("/spec/containers/0/resources/limits/memory"),
            Some(&json!("<=?*"))
        );
        let out2 = substitute_all(&mut c, &doc2).expect("substituted");
        assert_eq!(out2.pointer("/spec/b"), Some(&json!(">5")));
        // Found by the variables fuzz target: a multi-byte character
        // before `$(` was sliced inside it (a panic).
        let doc3 = json!({"spec": {"a": "5", "b": "ơ$(./../a)"}});
        let out3 = substitute_all(&mut c, &doc3).expect("substituted");
        assert_eq!(out3.pointer("/spec/b"), Some(&json!("ơ5")));
    }

    /// verify43 F8: on a DELETE a variable reads `request.object` as the
    /// old object (Kyverno's vars.go), `@` included.
    #[test]
    fn a_delete_reads_the_old_object_for_the_object() {
        let mut ctx = EvalContext::new(Arc::new(NoClusterData));
        ctx.add_variable(
            "request",
            json!({"operation": "DELETE", "object": null, "oldObject": {"metadata": {"name": "old"}}}),
        );
        assert_eq!(
            substitute_all(
                &mut ctx,
                &json!("{{ request.object.metadata.name }}/{{ request.oldObject.metadata.name }}")
            )
            .ok(),
            Some(json!("old/old"))
        );
        assert_eq!(
            substitute_all(
                &mut ctx,
                &json!({"validate": {"pattern": {"metadata": {"name": "{{ @ }}"}}}})
            )
            .ok(),
            Some(json!({"validate": {"pattern": {"metadata": {"name": "old"}}}}))
        );
        // Not on a CREATE.
        assert_eq!(
            substitute_all(
                &mut super::tests::ctx(),
                &json!("{{ request.object.metadata.name }}")
            )
            .ok(),
            Some(json!("web"))
        );
    }

    #[test]
    fn at_refers_to_the_resource_path() {
        assert_eq!(
            at_path(&[
                "validate".into(),
                "pattern".into(),
                "spec".into(),
                "containers".into(),
                "0".into(),
                "image".into()
            ]),
            "request.object.spec.containers[0].image"
        );
    }
}
