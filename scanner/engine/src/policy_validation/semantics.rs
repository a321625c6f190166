//! Kyverno's policy validation of a ClusterPolicy or Policy that passed its
//! schema: the document enters, the first problem Kyverno would return
//! (with its field path) leaves. Sources (Kyverno HEAD 111e07bbec): `Validate`
//! in `pkg/validation/policy/validate.go`, the `api/kyverno/v1` checks it
//! calls, and the validate-rule checker `pkg/policy/validate/validate.go`;
//! each function names the Go function it follows.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::variables::{
    background_user_variables, element_outside_foreach, forbidden_variables, undefined_variables,
    VARIABLES,
};
use super::FieldProblem;
use crate::anchor::{anchor_kind, AnchorKind};
use crate::ValueExt;

pub(super) type Checked = Result<(), FieldProblem>;

pub(super) fn problem(path: impl Into<String>, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        path: path.into(),
        message: message.into(),
    }
}

/// A rule section that is set (Go's `x != nil && !DeepEqual(x, T{})`): an
/// object with a non-null field. Raw JSON fields such as
/// `patchStrategicMerge: false` count as set, as their bytes do in Go.
pub(super) fn present(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Object(map)) => map.values().any(|v| !v.is_null()),
        Some(_) => true,
    }
}

/// A resource description equal to Go's zero value (`DeepEqual` with
/// `ResourceDescription{}`): every field absent or null, or an empty
/// `name`. An explicit `[]` or `{}` decodes to a non-nil value in Go and
/// does not count as zero.
fn zero_description(description: &Value) -> bool {
    description.as_object().is_none_or(|map| {
        map.iter()
            .all(|(key, value)| value.is_null() || (key == "name" && value.as_str() == Some("")))
    })
}

pub(super) fn list(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(super) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.str_field(key).unwrap_or("")
}

pub(super) fn kyverno_semantics(document: &Value) -> Checked {
    let kind = text(document, "kind");
    let namespaced = kind == "Policy";
    if kind == "ClusterPolicy"
        && !document
            .str_at("/metadata/namespace")
            .unwrap_or("")
            .is_empty()
    {
        return Err(problem(
            "metadata.namespace",
            "A clusterpolicy should not have the namespace defined",
        ));
    }
    let empty = Value::Object(Map::new());
    let spec = document.get("spec").unwrap_or(&empty);
    let rules = list(spec.get("rules"));
    let background = spec.get("background").and_then(Value::as_bool) != Some(false);
    if background {
        background_user_variables(document, rules)?;
    }
    for (i, rule) in rules.iter().enumerate() {
        forbidden_variables(rule, i)?;
        undefined_variables(rule, i, background)?;
    }
    api_validation(document, spec, rules, namespaced)?;
    let admission = spec.get("admission").and_then(Value::as_bool) != Some(false);
    if !admission && !background {
        return Err(problem(
            "spec",
            "disabling both admission and background processing is not allowed",
        ));
    }
    if !admission
        && rules.iter().any(|r| {
            present(r.get("mutate"))
                || present(r.get("generate"))
                || !list(r.get("verifyImages")).is_empty()
        })
    {
        return Err(problem(
            "spec",
            "disabling admission processing is only allowed with validation policies",
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        wildcard_kinds(rule, i, background)?;
    }
    for (i, rule) in rules.iter().enumerate() {
        rule_semantics(rule, i)?;
    }
    Ok(())
}

#[allow(clippy::expect_used)] // constant pattern, exercised by the tests
static WILDCARD_ALLOWED_VARIABLES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{\s*(request\.|serviceAccountName|serviceAccountNamespace)[^{}]*\}\}")
        .expect("wildcard variable regex")
});

const METADATA_ONLY: &str =
    "policy can only deal with the metadata field of the resource if the rule does not match any kind";

/// `validateWildcard`: a rule matching kind `*` must not run in the
/// background, must name no other kind, and may only look at metadata.
fn wildcard_kinds(rule: &Value, index: usize, background: bool) -> Checked {
    let mut kind_lists: Vec<(String, &[Value])> = Vec::new();
    for section in ["match", "exclude"] {
        let Some(block) = rule.get(section) else {
            continue;
        };
        for group in ["any", "all"] {
            for (j, filter) in list(block.get(group)).iter().enumerate() {
                kind_lists.push((
                    format!("spec.rules[{index}].{section}.{group}[{j}].kinds"),
                    list(filter.pointer("/resources/kinds")),
                ));
            }
        }
        kind_lists.push((
            format!("spec.rules[{index}].{section}.kinds"),
            list(block.pointer("/resources/kinds")),
        ));
    }
    for (path, kinds) in kind_lists {
        if !kinds.iter().any(|k| k.as_str() == Some("*")) {
            continue;
        }
        if background {
            return Err(problem(
                path,
                "wildcard policy not allowed in background mode. Set spec.background=false to disable background mode for this policy rule ",
            ));
        }
        if kinds.len() > 1 {
            return Err(problem(
                path,
                "wildcard policy can not deal with more than one kind",
            ));
        }
        if present(rule.get("generate"))
            || !list(rule.get("verifyImages")).is_empty()
            || rule
                .pointer("/validate/foreach")
                .is_some_and(|f| !f.is_null())
        {
            return Err(problem(path, "wildcard policy does not support rule type"));
        }
        if present(rule.get("validate")) {
            let patterned = ["pattern", "anyPattern"].iter().any(|k| {
                rule.pointer(&format!("/validate/{k}"))
                    .is_some_and(|p| !p.is_null())
            });
            if patterned && !only_metadata(rule) {
                return Err(problem(path, METADATA_ONLY));
            }
            // The old list form of deny conditions may only read metadata.
            if let Some(conditions) = rule
                .pointer("/validate/deny/conditions")
                .and_then(Value::as_array)
            {
                for condition in conditions {
                    let key = text(condition, "key");
                    if !key.contains("request.object.metadata.")
                        && (!WILDCARD_ALLOWED_VARIABLES.is_match(key)
                            || key.contains("request.object.spec"))
                    {
                        return Err(problem(path, METADATA_ONLY));
                    }
                }
            }
        }
        if present(rule.get("mutate")) && !only_metadata(rule) {
            return Err(problem(path, METADATA_ONLY));
        }
    }
    Ok(())
}

/// The checks of `api/kyverno/v1` (`ClusterPolicy.Validate`, `Spec.Validate`,
/// `Rule.Validate`) that concern validate rules and the policy as a whole.
fn api_validation(document: &Value, spec: &Value, rules: &[Value], namespaced: bool) -> Checked {
    let name = document.str_at("/metadata/name").unwrap_or("");
    if name.len() > 63 {
        return Err(problem(
            "metadata.name",
            "Too long: may not be more than 63 bytes",
        ));
    }
    let webhook_timeout = spec.get("webhookTimeoutSeconds").and_then(Value::as_i64);
    let configured_timeout = spec
        .pointer("/webhookConfiguration/timeoutSeconds")
        .and_then(Value::as_i64);
    if webhook_timeout.is_some() && configured_timeout.is_some() {
        return Err(problem(
            "spec.webhookTimeoutSeconds",
            "Forbidden: remove the deprecated field and use spec.webhookConfiguration.timeoutSeconds instead",
        ));
    }
    if spec.get("failurePolicy").is_some_and(|v| !v.is_null())
        && spec
            .pointer("/webhookConfiguration/failurePolicy")
            .is_some_and(|v| !v.is_null())
    {
        return Err(problem(
            "spec.failurePolicy",
            "Forbidden: remove the deprecated field and use spec.webhookConfiguration.failurePolicy instead",
        ));
    }
    if spec
        .get("generateExistingOnPolicyUpdate")
        .is_some_and(|v| !v.is_null())
    {
        return Err(problem(
            "spec.generateExistingOnPolicyUpdate",
            "Forbidden: remove the deprecated field and use spec.generate[*].generateExisting instead",
        ));
    }
    for (path, timeout) in [
        ("spec.webhookTimeoutSeconds", webhook_timeout),
        (
            "spec.webhookConfiguration.timeoutSeconds",
            configured_timeout,
        ),
    ] {
        if timeout.is_some_and(|t| !(1..=30).contains(&t)) {
            return Err(problem(
                path,
                "the timeout value must be between 1 and 30 seconds",
            ));
        }
    }
    let mut names = std::collections::HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let rule_name = text(rule, "name");
        if !names.insert(rule_name) {
            return Err(problem(
                format!("spec.rules[{i}].name"),
                format!("Duplicate rule name: '{rule_name}'"),
            ));
        }
    }
    for (i, rule) in rules.iter().enumerate() {
        let path = format!("spec.rules[{i}]");
        let rule_name = text(rule, "name");
        let operations = [
            present(rule.get("mutate")),
            present(rule.get("validate")),
            present(rule.get("generate")),
            !list(rule.get("verifyImages")).is_empty(),
        ]
        .iter()
        .filter(|p| **p)
        .count();
        if operations == 0 {
            return Err(problem(
                &path,
                format!("No operation defined in the rule '{rule_name}'.(supported operations: mutate,validate,generate,verifyImages)"),
            ));
        }
        if operations > 1 {
            return Err(problem(
                &path,
                format!("Multiple operations defined in the rule '{rule_name}', only one operation (mutate,validate,generate,verifyImages) is allowed per rule"),
            ));
        }
        if rule.get("imageExtractors").is_some_and(|v| !v.is_null())
            && list(rule.get("verifyImages")).is_empty()
        {
            return Err(problem(
                format!("{path}.imageExtractors"),
                format!("Invalid rule spec for rule '{rule_name}', imageExtractors can only be defined for verifyImages rule"),
            ));
        }
        match_exclude_conflict(rule, &path)?;
        for section in ["match", "exclude"] {
            if let Some(block) = rule.get(section).filter(|b| !b.is_null()) {
                match_resources(block, &format!("{path}.{section}"), namespaced)?;
            }
        }
    }
    if spec
        .get("mutateExistingOnPolicyUpdate")
        .and_then(Value::as_bool)
        == Some(true)
    {
        for (i, rule) in rules.iter().enumerate() {
            if present(rule.get("mutate")) && list(rule.pointer("/mutate/targets")).is_empty() {
                return Err(problem(
                    "spec.mutateExistingOnPolicyUpdate",
                    format!("Forbidden: rules[{i}].mutate.targets has to be specified when mutateExistingOnPolicyUpdate is set"),
                ));
            }
        }
    }
    if namespaced && !list(spec.get("validationFailureActionOverrides")).is_empty() {
        return Err(problem(
            "spec.validationFailureActionOverrides",
            "Forbidden: Use of validationFailureActionOverrides is supported only with ClusterPolicy",
        ));
    }
    Ok(())
}

/// `ValidateMatchExcludeConflict`, for its `any`/`any` case: an exclude
/// entry identical to a match entry leaves the rule matching nothing.
fn match_exclude_conflict(rule: &Value, path: &str) -> Checked {
    let (Some(matching), Some(exclude)) = (rule.get("match"), rule.get("exclude")) else {
        return Ok(());
    };
    if !list(exclude.get("all")).is_empty() || !list(matching.get("all")).is_empty() {
        return Ok(());
    }
    for candidate in list(matching.get("any")) {
        if list(exclude.get("any")).iter().any(|e| e == candidate) {
            return Err(problem(path, "Rule is matching an empty set"));
        }
    }
    Ok(())
}

/// `MatchResources.Validate` with `ResourceDescription.Validate`.
fn match_resources(block: &Value, path: &str, namespaced: bool) -> Checked {
    if !list(block.get("any")).is_empty() && !list(block.get("all")).is_empty() {
        return Err(problem(path, "Can't specify any and all together"));
    }
    let mut descriptions = Vec::new();
    for group in ["any", "all"] {
        for (j, filter) in list(block.get(group)).iter().enumerate() {
            descriptions.push((format!("{path}.{group}[{j}]"), filter.get("resources")));
        }
    }
    descriptions.push((path.to_string(), block.get("resources")));
    for (place, description) in descriptions {
        let Some(description) = description.filter(|d| !d.is_null()) else {
            continue;
        };
        if !text(description, "name").is_empty() && !list(description.get("names")).is_empty() {
            return Err(problem(
                &place,
                "Both name and names can not be specified together",
            ));
        }
        if let Some(selector) = description.get("selector").filter(|s| !s.is_null()) {
            let has_wildcard =
                selector.to_string().contains('*') || selector.to_string().contains('?');
            let requirements = selector
                .get("matchLabels")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
                || !list(selector.get("matchExpressions")).is_empty();
            if !has_wildcard && !requirements {
                return Err(problem(
                    format!("{place}.selector"),
                    "The requirements are not specified in selector",
                ));
            }
        }
        if namespaced && !list(description.get("namespaces")).is_empty() {
            return Err(problem(
                format!("{place}.namespaces"),
                "Forbidden: Filtering namespaces not allowed in namespaced policies",
            ));
        }
    }
    Ok(())
}

/// The per-rule checks of `Validate`, in Kyverno's order.
fn rule_semantics(rule: &Value, index: usize) -> Checked {
    let path = format!("spec.rules[{index}]");
    resources(rule, &path)?;
    element_outside_foreach(rule, "", &path)?;
    rule_context(rule, &path)?;
    match_kinds(rule, &path)?;
    if present(rule.get("validate")) {
        if let Some(validate) = rule.get("validate") {
            validate_rule(rule, validate, &format!("{path}.validate"))?;
        }
    }
    labels_and_annotations(rule, &path)
}

/// `validateResources`: any/all exclusivity with a resource description,
/// non-empty descriptions, and the conditions' values and operators.
fn resources(rule: &Value, path: &str) -> Checked {
    let empty = Value::Object(Map::new());
    if let Some(exclude) = rule.get("exclude").filter(|e| !e.is_null()) {
        let groups = !list(exclude.get("any")).is_empty() || !list(exclude.get("all")).is_empty();
        if groups
            && exclude
                .get("resources")
                .is_some_and(|r| !zero_description(r))
        {
            return Err(problem(
                format!("{path}.exclude."),
                "can't specify any/all together with exclude resources",
            ));
        }
        if !list(exclude.get("any")).is_empty() && !list(exclude.get("all")).is_empty() {
            return Err(problem(
                format!("{path}.match."),
                "can't specify any and all together",
            ));
        }
    }
    let matching = rule.get("match").unwrap_or(&empty);
    let any = list(matching.get("any"));
    let all = list(matching.get("all"));
    let top = matching.get("resources").unwrap_or(&empty);
    if (!any.is_empty() || !all.is_empty()) && !zero_description(top) {
        return Err(problem(
            format!("{path}.match."),
            "can't specify any/all together with match resources",
        ));
    }
    let descriptions: Vec<&Value> = if !any.is_empty() {
        any.iter()
            .map(|f| f.get("resources").unwrap_or(&empty))
            .collect()
    } else if !all.is_empty() {
        all.iter()
            .map(|f| f.get("resources").unwrap_or(&empty))
            .collect()
    } else {
        vec![top]
    };
    if descriptions.iter().any(|d| zero_description(d)) {
        return Err(problem(
            format!("{path}.match.resources."),
            "match resources not specified",
        ));
    }
    if let Some(conditions) = rule.get("preconditions").filter(|c| !c.is_null()) {
        conditions_check(conditions, &format!("{path}.validate.preconditions"), true)?;
    }
    if let Some(conditions) = rule
        .pointer("/validate/deny/conditions")
        .filter(|c| !c.is_null())
    {
        conditions_check(
            conditions,
            &format!("{path}.validate.deny.conditions"),
            true,
        )?;
    }
    foreach_conditions(
        list(rule.pointer("/validate/foreach")),
        &format!("{path}.validate.foreach"),
    )
}

/// Conditions of a foreach: operators only (`validateValidationForEach`).
fn foreach_conditions(foreach: &[Value], path: &str) -> Checked {
    for (i, entry) in foreach.iter().enumerate() {
        let here = format!("{path}[{i}]");
        if let Some(conditions) = entry.get("preconditions").filter(|c| c.is_object()) {
            conditions_check(conditions, &format!("{here}.preconditions"), false)?;
        }
        if let Some(conditions) = entry.pointer("/deny/conditions").filter(|c| !c.is_null()) {
            conditions_check(conditions, &format!("{here}.deny.conditions"), false)?;
        }
        if let Some(nested) = entry.get("foreach").and_then(Value::as_array) {
            foreach_conditions(nested, &format!("{here}.foreach"))?;
        }
    }
    Ok(())
}

const OPERATORS: [&str; 18] = [
    "Equal",
    "Equals",
    "NotEqual",
    "NotEquals",
    "In",
    "AnyIn",
    "AllIn",
    "NotIn",
    "AnyNotIn",
    "AllNotIn",
    "GreaterThanOrEquals",
    "GreaterThan",
    "LessThanOrEquals",
    "LessThan",
    "DurationGreaterThanOrEquals",
    "DurationGreaterThan",
    "DurationLessThanOrEquals",
    "DurationLessThan",
];

/// `validateConditions` (key, value and operator present; request.operation
/// values) when `values` is set, and `validateRawJSONConditionOperator`.
/// Conditions are `{any, all}` or, the old form, a list.
fn conditions_check(conditions: &Value, path: &str, values: bool) -> Checked {
    let mut entries: Vec<(String, &Value)> = Vec::new();
    match conditions {
        Value::Object(map) => {
            for group in ["any", "all"] {
                for (i, c) in list(map.get(group)).iter().enumerate() {
                    entries.push((format!("{path}.{group}[{i}]"), c));
                }
            }
        }
        Value::Array(items) => {
            for (i, c) in items.iter().enumerate() {
                entries.push((format!("{path}[{i}]"), c));
            }
        }
        _ => return Ok(()),
    }
    if values {
        for (place, condition) in &entries {
            condition_values(condition, place)?;
        }
    }
    for (place, condition) in &entries {
        let operator = text(condition, "operator");
        if !OPERATORS.contains(&operator) {
            return Err(problem(
                format!("{place}.operator"),
                format!(
                    "entered value of `operator` is invalid. valid values: [{}]",
                    OPERATORS
                        .iter()
                        .map(|o| format!("\"{o}\""))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ));
        }
    }
    Ok(())
}

fn condition_values(condition: &Value, path: &str) -> Checked {
    let key = condition.get("key").filter(|k| !k.is_null());
    let value = condition.get("value").filter(|v| !v.is_null());
    let (Some(key), Some(value)) = (key, value) else {
        return Err(problem(
            path,
            "entered value of `key`, `value` or `operator` is missing or misspelled",
        ));
    };
    if text(condition, "operator").is_empty() {
        return Err(problem(
            path,
            "entered value of `key`, `value` or `operator` is missing or misspelled",
        ));
    }
    let Some(key) = key.as_str() else {
        return Ok(());
    };
    if key.replace(' ', "") != "{{request.operation}}" {
        return Ok(());
    }
    const ALLOWED: [&str; 4] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];
    let unknown = |v: &str| {
        format!("unknown value '{v}' found under the 'value' field. Only the following values are allowed: [CREATE, UPDATE, DELETE, CONNECT]")
    };
    match value {
        Value::String(v) => {
            let templated = v.len() >= 4 && v.starts_with("{{") && v.ends_with("}}");
            if !templated && !ALLOWED.contains(&v.as_str()) {
                return Err(problem(format!("{path}.value"), unknown(v)));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let Some(v) = item.as_str() else {
                    return Err(problem(
                        format!("{path}.value[{i}]"),
                        format!("'value[{i}]' is not a string. The provided values are expected to be strings"),
                    ));
                };
                if !ALLOWED.contains(&v) {
                    return Err(problem(format!("{path}.value[{i}]"), unknown(v)));
                }
            }
        }
        _ => {
            return Err(problem(
                format!("{path}.value"),
                "'value' field is neither a string nor a list. The provided value/values are expected to be either in the form of a string or list",
            ))
        }
    }
    Ok(())
}

/// `validateRuleContext` and the per-source checks.
fn rule_context(rule: &Value, path: &str) -> Checked {
    let entries = list(rule.get("context"));
    if entries.is_empty() {
        return Ok(());
    }
    if rule.pointer("/validate/cel").is_some_and(|c| !c.is_null()) {
        return Err(problem(
            format!("{path}.context"),
            "context variables are not supported for CEL expressions in validate rules",
        ));
    }
    for (i, entry) in entries.iter().enumerate() {
        let here = format!("{path}.context[{i}]");
        let name = text(entry, "name");
        if name.is_empty() {
            return Err(problem(&here, "a name is required for context entries"));
        }
        for reserved in [
            "images",
            "request",
            "serviceAccountName",
            "serviceAccountNamespace",
            "element",
            "elementIndex",
        ] {
            if name == reserved || name.starts_with(&format!("{reserved}.")) {
                return Err(problem(
                    format!("{here}.name"),
                    format!("entry name {name} is invalid as it conflicts with a pre-defined variable {reserved}"),
                ));
            }
        }
        let sources: Vec<&str> = [
            "configMap",
            "apiCall",
            "globalReference",
            "imageRegistry",
            "variable",
        ]
        .into_iter()
        .filter(|s| entry.get(*s).is_some_and(|v| !v.is_null()))
        .collect();
        let [source] = sources.as_slice() else {
            return Err(problem(
                &here,
                "exactly one of configMap or apiCall or imageRegistry or variable is required for context entries",
            ));
        };
        let body = entry.get(*source).unwrap_or(&Value::Null);
        let jmes_path = text(body, "jmesPath");
        match *source {
            "configMap" => {
                if text(body, "name").is_empty() {
                    return Err(problem(
                        &here,
                        "a name is required for configMap context entry",
                    ));
                }
                if text(body, "namespace").is_empty() {
                    return Err(problem(
                        &here,
                        "a namespace is required for configMap context entry",
                    ));
                }
            }
            "apiCall" => {
                if !text(body, "urlPath").is_empty()
                    && body.get("service").is_some_and(|s| !s.is_null())
                {
                    return Err(problem(
                        &here,
                        "a URLPath cannot be used for service API calls",
                    ));
                }
                jmes_path_parses(jmes_path, &here)?;
            }
            "globalReference" => {
                if text(body, "name").is_empty() {
                    return Err(problem(
                        &here,
                        "a name is required for globalReference context entry",
                    ));
                }
                jmes_path_parses(jmes_path, &here)?;
            }
            "imageRegistry" => {
                if text(body, "reference").is_empty() {
                    return Err(problem(
                        &here,
                        "a ref is required for imageRegistry context entry",
                    ));
                }
                jmes_path_parses(jmes_path, &here)?;
            }
            _ => {
                jmes_path_parses(jmes_path, &here)?;
                let has_value = body.get("value").is_some_and(|v| !v.is_null());
                if !has_value && jmes_path.is_empty() {
                    return Err(problem(
                        &here,
                        "a variable must define a value or a jmesPath expression",
                    ));
                }
                if body.get("default").is_some_and(|v| !v.is_null()) && jmes_path.is_empty() {
                    return Err(problem(
                        &here,
                        "a variable must define a default value only when a jmesPath expression is defined",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A JMESPath without variables must parse (a variable makes it unknowable).
fn jmes_path_parses(expression: &str, path: &str) -> Checked {
    if expression.is_empty() || VARIABLES.is_match(expression) || expression.contains("{{") {
        return Ok(());
    }
    crate::jmespath::validate(expression).map_err(|err| {
        problem(
            format!("{path}.jmesPath"),
            format!("failed to parse JMESPath {expression}: {err}"),
        )
    })
}

/// Every match block must name kinds (`validateMatchKindHelper`).
fn match_kinds(rule: &Value, path: &str) -> Checked {
    let empty = Value::Object(Map::new());
    let matching = rule.get("match").unwrap_or(&empty);
    let any = list(matching.get("any"));
    let all = list(matching.get("all"));
    let kinds_missing = |filters: &[Value]| {
        filters
            .iter()
            .any(|f| list(f.pointer("/resources/kinds")).is_empty())
    };
    let missing = if !any.is_empty() {
        kinds_missing(any)
    } else if !all.is_empty() {
        kinds_missing(all)
    } else {
        list(matching.pointer("/resources/kinds")).is_empty()
    };
    if !missing {
        return Ok(());
    }
    let message = if only_metadata(rule) {
        "at least one element must be specified in a kind block, the kind attribute is mandatory when working with the resources element"
    } else {
        "policy can only deal with the metadata field of the resource if the rule does not match any kind"
    };
    Err(problem(format!("{path}.match"), message))
}

/// `ruleOnlyDealsWithResourceMetaData`, for validate patterns and
/// strategic merge patches (JSON 6902 patches are not inspected).
fn only_metadata(rule: &Value) -> bool {
    let only = |pattern: &Value| {
        pattern
            .as_object()
            .is_none_or(|map| map.keys().all(|k| k == "metadata"))
    };
    if let Some(patch) = rule.pointer("/mutate/patchStrategicMerge") {
        if !only(patch) {
            return false;
        }
    }
    if let Some(pattern) = rule.pointer("/validate/pattern") {
        if !only(pattern) {
            return false;
        }
    }
    match rule.pointer("/validate/anyPattern") {
        None | Some(Value::Null) => true,
        Some(Value::Array(patterns)) => patterns.iter().all(only),
        Some(_) => false,
    }
}

/// `pkg/policy/validate`: exactly one validation element, pattern anchors,
/// foreach shape, CEL fields.
fn validate_rule(rule: &Value, validate: &Value, path: &str) -> Checked {
    let set = |key: &str| validate.get(key).is_some_and(|v| !v.is_null());
    let count = [
        "pattern",
        "anyPattern",
        "deny",
        "foreach",
        "podSecurity",
        "cel",
    ]
    .iter()
    .filter(|k| set(k))
    .count()
        + usize::from(!list(validate.pointer("/manifests/attestors")).is_empty());
    if count == 0 {
        return Err(problem(
            path,
            "one of pattern, anyPattern, deny, foreach, cel must be specified",
        ));
    }
    if count > 1 {
        return Err(problem(
            path,
            "only one of pattern, anyPattern, deny, foreach, cel can be specified",
        ));
    }
    if let Some(pattern) = validate.get("pattern").filter(|p| !p.is_null()) {
        pattern_anchors(pattern, &format!("{path}.pattern"))?;
    }
    if let Some(any_pattern) = validate.get("anyPattern").filter(|p| !p.is_null()) {
        let Some(patterns) = any_pattern.as_array() else {
            return Err(problem(
                format!("{path}.anyPattern"),
                "failed to deserialize anyPattern, expect array",
            ));
        };
        for (i, pattern) in patterns.iter().enumerate() {
            pattern_anchors(pattern, &format!("{path}.anyPattern[{i}]"))?;
        }
    }
    for (i, entry) in list(validate.get("foreach")).iter().enumerate() {
        foreach_shape(entry, &format!("{path}.foreach[{i}]"))?;
    }
    let cel = validate.get("cel").filter(|c| !c.is_null());
    if !list(rule.get("celPreconditions")).is_empty() && cel.is_none() {
        return Err(problem(
            path,
            "celPrecondition can only be used with validate.cel",
        ));
    }
    if let Some(cel) = cel {
        cel_fields(cel, &format!("{path}.cel"))?;
    }
    Ok(())
}

fn foreach_shape(entry: &Value, path: &str) -> Checked {
    if text(entry, "list").is_empty() {
        return Err(problem(path, "foreach.list is required"));
    }
    let set = |key: &str| entry.get(key).is_some_and(|v| !v.is_null());
    let nested = entry
        .get("foreach")
        .and_then(Value::as_array)
        .is_some_and(|n| !n.is_empty());
    let count = ["pattern", "anyPattern", "deny"]
        .iter()
        .filter(|k| set(k))
        .count()
        + usize::from(nested);
    if count == 0 {
        return Err(problem(
            path,
            "one of pattern, anyPattern, deny, or a nested foreach must be specified",
        ));
    }
    if count > 1 {
        return Err(problem(
            path,
            "only one of pattern, anyPattern, deny, or a nested foreach can be specified",
        ));
    }
    Ok(())
}

fn cel_fields(cel: &Value, path: &str) -> Checked {
    for (i, expression) in list(cel.get("expressions")).iter().enumerate() {
        if text(expression, "expression").is_empty() {
            return Err(problem(
                format!("{path}.expressions[{i}]"),
                "cel.expressions.expression is required",
            ));
        }
    }
    let param_kind = cel.get("paramKind").filter(|p| !p.is_null());
    let param_ref = cel.get("paramRef").filter(|p| !p.is_null());
    if let Some(kind) = param_kind {
        if text(kind, "apiVersion").is_empty() {
            return Err(problem(path, "cel.paramKind.apiVersion is required"));
        }
        if text(kind, "kind").is_empty() {
            return Err(problem(path, "cel.paramKind.kind is required"));
        }
        if param_ref.is_none() {
            return Err(problem(path, "cel.paramRef is required"));
        }
    }
    if let Some(reference) = param_ref {
        let named = !text(reference, "name").is_empty();
        let selected = reference.get("selector").is_some_and(|s| !s.is_null());
        if named == selected {
            return Err(problem(
                path,
                "one of cel.paramRef.name or cel.paramRef.selector must be set",
            ));
        }
        if reference
            .get("parameterNotFoundAction")
            .is_none_or(Value::is_null)
        {
            return Err(problem(
                path,
                "cel.paramRef.parameterNotFoundAction is required",
            ));
        }
        if param_kind.is_none() {
            return Err(problem(path, "cel.paramKind is required"));
        }
    }
    for (i, annotation) in list(cel.get("auditAnnotations")).iter().enumerate() {
        if text(annotation, "key").is_empty() {
            return Err(problem(
                format!("{path}.auditAnnotations[{i}]"),
                "cel.auditAnnotation.key is required",
            ));
        }
        if text(annotation, "valueExpression").is_empty() {
            return Err(problem(
                format!("{path}.auditAnnotations[{i}]"),
                "cel.auditAnnotation.valueExpression is required",
            ));
        }
    }
    Ok(())
}

/// `common.ValidatePattern`: validate patterns may use condition, existence,
/// equality, negation and global anchors; an existence anchor holds a
/// non-empty list.
fn pattern_anchors(pattern: &Value, path: &str) -> Checked {
    match pattern {
        Value::Object(map) => {
            for (key, value) in map {
                let here = format!("{path}.{key}");
                match anchor_kind(key) {
                    Some(AnchorKind::AddIfNotPresent) => {
                        return Err(problem(&here, format!("unsupported anchor {key}")));
                    }
                    Some(AnchorKind::Existence) => match value.as_array() {
                        Some(items) if items.is_empty() => {
                            return Err(problem(
                                &here,
                                "existence anchor: should have at least one value",
                            ))
                        }
                        Some(_) => {}
                        None => {
                            return Err(problem(
                                &here,
                                "existence anchor should have value of type list",
                            ))
                        }
                    },
                    _ => {}
                }
                pattern_anchors(value, &here)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pattern_anchors(item, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `isLabelAndAnnotationsString`: label and annotation values in a pattern's
/// `metadata` or `spec.template.metadata` must be strings. Kyverno checks
/// whichever of the two its map iteration meets first; both are checked
/// here so the answer does not depend on an order.
fn labels_and_annotations(rule: &Value, path: &str) -> Checked {
    let mut patterns: Vec<(String, &Value)> = Vec::new();
    if present(rule.get("validate")) {
        let foreach = list(rule.pointer("/validate/foreach"));
        if rule
            .pointer("/validate/foreach")
            .is_some_and(|f| !f.is_null())
        {
            // Kyverno checks the first foreach entry whose pattern is a map.
            if let Some((i, entry)) = foreach
                .iter()
                .enumerate()
                .find(|(_, e)| e.get("pattern").is_some_and(Value::is_object))
            {
                if let Some(pattern) = entry.get("pattern") {
                    patterns.push((format!("{path}.validate.foreach[{i}].pattern"), pattern));
                }
            }
        } else if let Some(pattern) = rule.pointer("/validate/pattern").filter(|p| p.is_object()) {
            patterns.push((format!("{path}.validate.pattern"), pattern));
        } else {
            for (i, pattern) in list(rule.pointer("/validate/anyPattern"))
                .iter()
                .enumerate()
            {
                patterns.push((format!("{path}.validate.anyPattern[{i}]"), pattern));
            }
        }
    }
    if present(rule.get("mutate")) {
        if rule
            .pointer("/mutate/foreach")
            .is_some_and(|f| !f.is_null())
        {
            if let Some((i, entry)) = list(rule.pointer("/mutate/foreach"))
                .iter()
                .enumerate()
                .find(|(_, e)| e.get("patchStrategicMerge").is_some_and(Value::is_object))
            {
                if let Some(patch) = entry.get("patchStrategicMerge") {
                    patterns.push((
                        format!("{path}.mutate.foreach[{i}].patchStrategicMerge"),
                        patch,
                    ));
                }
            }
        } else if let Some(patch) = rule.pointer("/mutate/patchStrategicMerge") {
            patterns.push((format!("{path}.mutate.patchStrategicMerge"), patch));
        }
    }
    for (place, pattern) in patterns {
        let Some(map) = pattern.as_object() else {
            continue;
        };
        let metadata = [
            (format!("{place}.metadata"), map.get("metadata")),
            (
                format!("{place}.spec.template.metadata"),
                pattern.pointer("/spec/template/metadata"),
            ),
        ];
        for (meta_path, meta) in metadata {
            let Some(meta) = meta.and_then(Value::as_object) else {
                continue;
            };
            for field in ["labels", "annotations"] {
                let Some(values) = meta.get(field).and_then(Value::as_object) else {
                    continue;
                };
                if let Some((key, _)) = values.iter().find(|(_, v)| !v.is_string()) {
                    return Err(problem(
                        format!("{meta_path}.{field}.{key}"),
                        "labels and annotations supports only string values, \"use double quotes around the non string values\"",
                    ));
                }
            }
        }
    }
    Ok(())
}
