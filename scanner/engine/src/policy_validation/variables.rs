//! Kyverno's checks on `{{ }}` variables in a ClusterPolicy or Policy: one
//! rule or policy document enters, the first refused variable (with its
//! field path) leaves. Sources: `containsUserVariables`
//! (`pkg/validation/policy/background.go`), `ruleForbiddenSectionsHaveVariables`
//! and `hasInvalidVariables` with its mock context
//! (`pkg/validation/policy/validate.go`, `pkg/engine/context/mock_context.go`),
//! and `ValidateElementInForEach` (`pkg/engine/variables/vars.go`).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::semantics::{list, present, problem, text, Checked};

#[allow(clippy::expect_used)] // constant patterns, exercised by the tests below
pub(super) static VARIABLES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})").expect("variable regex")
});
#[allow(clippy::expect_used)]
static SIMPLE_VARIABLES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{[^{}]*\}\}").expect("simple variable regex"));
/// `ForbiddenUserVariables` of Kyverno's `background.go`.
#[allow(clippy::expect_used)]
static USER_VARIABLES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"[^\.](serviceAccountName)\b",
        r"[^\.](serviceAccountNamespace)\b",
        r"[^\.](request.userInfo)\b",
        r"[^\.](request.roles)\b",
        r"[^\.](request.clusterRoles)\b",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("user variable regex"))
    .collect()
});

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `containsUserVariables`: background policies may not select by user nor
/// read user variables (unless a rule mutates existing resources).
pub(super) fn background_user_variables(document: &Value, rules: &[Value]) -> Checked {
    const MESSAGE: &str = "only select variables are allowed in background mode. Set spec.background=false to disable background mode for this policy rule";
    for (i, rule) in rules.iter().enumerate() {
        for (section, block) in [
            ("match", rule.get("match")),
            ("exclude", rule.get("exclude")),
        ] {
            let Some(block) = block else { continue };
            let mut filters = vec![(String::new(), block)];
            for group in ["any", "all"] {
                for (j, filter) in list(block.get(group)).iter().enumerate() {
                    filters.push((format!("{group}[{j}]/"), filter));
                }
            }
            for (prefix, filter) in filters {
                for field in ["roles", "clusterRoles", "subjects"] {
                    if !list(filter.get(field)).is_empty() {
                        return Err(problem(
                            format!("spec.rules[{i}].{section}"),
                            format!("{MESSAGE}: invalid variable used at path: spec/rules[{i}]/{section}/{prefix}{field}"),
                        ));
                    }
                }
            }
        }
    }
    if rules
        .iter()
        .any(|r| !list(r.pointer("/mutate/targets")).is_empty())
    {
        return Ok(());
    }
    let mut cleaned = document.clone();
    if let Some(annotations) = cleaned
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        if annotations.contains_key(LAST_APPLIED) {
            annotations.insert(LAST_APPLIED.into(), Value::String(String::new()));
        }
    }
    if let Some(object) = cleaned.as_object_mut() {
        object.remove("status");
    }
    let serialized = cleaned.to_string();
    for captures in VARIABLES.captures_iter(&serialized) {
        let Some(variable) = captures.get(2).map(|m| m.as_str()) else {
            continue;
        };
        if USER_VARIABLES
            .iter()
            .any(|banned| banned.is_match(variable))
        {
            return Err(problem(
                "spec",
                format!("{MESSAGE}: variable {variable} is not allowed"),
            ));
        }
    }
    Ok(())
}

/// `ruleForbiddenSectionsHaveVariables`: match and exclude are literal.
pub(super) fn forbidden_variables(rule: &Value, index: usize) -> Checked {
    let name = text(rule, "name");
    for section in ["exclude", "match"] {
        if let Some(block) = rule.get(section) {
            if SIMPLE_VARIABLES.is_match(&block.to_string()) {
                return Err(problem(
                    format!("spec.rules[{index}].{section}"),
                    format!(
                        "policy contains invalid variables: rule \"{name}\" should not have variables in {section} section"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `buildContext`'s allowed variables when the policy runs in the
/// background (`allowedVariablesBackground`) and otherwise (`ReservedKeys`).
#[allow(clippy::expect_used)] // constant patterns, exercised by the tests
static ALLOWED_IN_BACKGROUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"request\.|element|elementIndex|@|images|images\.|image\.|([a-z_0-9]+\()[^{}]")
        .expect("background variable regex")
});
#[allow(clippy::expect_used)]
static RESERVED_KEYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"request|serviceAccountName|serviceAccountNamespace|element|elementIndex|@|images|image|([a-z_0-9]+\()[^{}]")
        .expect("reserved keys regex")
});

/// The second half of `hasInvalidVariables`: every `{{ }}` variable of a
/// validate rule must parse as JMESPath and either match the allowed
/// pattern or start with one of the rule's context entries (`name*`, or
/// `name.data` / `name.metadata` for a ConfigMap). Rules of other kinds
/// (mutate targets, verifyImages) build their context differently and are
/// left to Kyverno.
pub(super) fn undefined_variables(rule: &Value, index: usize, background: bool) -> Checked {
    if !present(rule.get("validate")) {
        return Ok(());
    }
    let mut entries: Vec<&Value> = list(rule.get("context")).iter().collect();
    for foreach in list(rule.pointer("/validate/foreach")) {
        entries.extend(list(foreach.get("context")));
    }
    let mut defined: Vec<String> = Vec::new();
    for entry in entries {
        let name = text(entry, "name");
        let set = |key: &str| entry.get(key).is_some_and(|v| !v.is_null());
        if ["apiCall", "globalReference", "imageRegistry", "variable"]
            .iter()
            .any(|k| set(k))
        {
            defined.push(format!("{name}*"));
        }
        if set("configMap") {
            for suffix in ["data", "metadata", "data.*", "metadata.*"] {
                defined.push(format!("{name}.{suffix}"));
            }
        }
    }
    let allowed = if background {
        &*ALLOWED_IN_BACKGROUND
    } else {
        &*RESERVED_KEYS
    };
    let rule_name = text(rule, "name");
    let check = |query: &str| -> Checked {
        let failed = |message: String| {
            Err(problem(
                format!("spec.rules[{index}]"),
                format!("policy contains invalid variables: variable substitution failed for rule {rule_name}: {message}"),
            ))
        };
        let query = query.trim();
        if query.is_empty() {
            return failed("invalid query (nil)".into());
        }
        if query != "@" {
            if let Err(err) = crate::jmespath::validate(query) {
                // The query once, bounded: the parser's reason without the
                // expression its error repeats.
                let reason = match err {
                    crate::jmespath::JmespathError::Parse { message, .. } => message,
                    other => other.to_string(),
                };
                return failed(format!(
                    "invalid JMESPath query {}: {reason}",
                    crate::quoted::expression(query)
                ));
            }
        }
        let unquoted = query.replace('"', "");
        if query == "@"
            || allowed.is_match(&unquoted)
            || defined
                .iter()
                .any(|pattern| crate::value_types::wildcard::matches(pattern, &unquoted))
        {
            return Ok(());
        }
        failed(format!(
            "variable {unquoted} must match regex \"{}\" or patterns {defined:?}",
            allowed.as_str()
        ))
    };
    let mut strings = Vec::new();
    collect_strings(rule, &mut strings);
    for original in strings {
        // Each variable is looked up, replaced (the mock context answers
        // null) and the text scanned again for variables it enclosed.
        let mut current = original.to_string();
        for _ in 0..16 {
            let found: Vec<(String, String, bool)> = VARIABLES
                .captures_iter(&current)
                .filter_map(|caps| caps.get(2))
                .map(|m| {
                    let raw = m.as_str().to_string();
                    let inner = raw.replace("{{", "").replace("}}", "");
                    let inner = inner.trim();
                    match inner.strip_prefix('-') {
                        Some(rest) => (raw, rest.trim().to_string(), true),
                        None => (raw, inner.to_string(), false),
                    }
                })
                .collect();
            if found.is_empty() {
                break;
            }
            let mut shallow = false;
            for (raw, query, is_shallow) in found {
                check(&query)?;
                shallow |= is_shallow;
                current = current.replacen(&raw, "null", 1);
            }
            if shallow {
                break;
            }
        }
    }
    Ok(())
}

/// Every string of a JSON document, keys included (Kyverno substitutes
/// variables in leaves and keys).
fn collect_strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(text) => out.push(text),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Object(map) => {
            for (key, item) in map {
                out.push(key);
                collect_strings(item, out);
            }
        }
        _ => {}
    }
}

/// `validateElementInForEach`: `element` variables only inside a foreach.
/// `pointer` is the JSON pointer of `value` within the rule.
pub(super) fn element_outside_foreach(value: &Value, pointer: &str, rule_path: &str) -> Checked {
    let check = |text: &str, at: &str| -> Checked {
        if at.contains("/foreach/") {
            return Ok(());
        }
        for caps in VARIABLES.captures_iter(text) {
            let Some(raw) = caps.get(2) else { continue };
            let inner = raw.as_str().replace("{{", "").replace("}}", "");
            let inner = inner.trim();
            let variable = inner.strip_prefix('-').map(str::trim).unwrap_or(inner);
            if variable.starts_with("element") || variable == "elementIndex" {
                return Err(problem(
                    format!("{rule_path}{}", at.replace('/', ".")),
                    format!("variable '{variable}' present outside of foreach at path {at}"),
                ));
            }
        }
        Ok(())
    };
    match value {
        Value::String(text) => check(text, pointer),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                element_outside_foreach(item, &format!("{pointer}/{i}"), rule_path)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                let here = format!("{pointer}/{key}");
                check(key, &here)?;
                element_outside_foreach(item, &here, rule_path)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
