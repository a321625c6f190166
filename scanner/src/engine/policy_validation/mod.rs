//! Policy validation, as the Kyverno CLI refuses policies. One policy
//! document (`serde_json::Value`) enters; either nothing (valid) or a
//! [`Rejection`] leaves, naming each offending field path and the
//! [`Stage`] that refused it. The stage decides what the callers do: the
//! Kyverno CLI aborts a run on an unknown field, drops a document with
//! another schema error, skips a policy its policy validation refuses, and
//! aborts when a ValidatingPolicy does not compile; `polscan apply` and
//! `scan` count every stage as an invalid policy.
//!
//! Sources (Kyverno HEAD 111e07bbec):
//! - schema (unknown fields, types, enums, required): [`schema`], after
//!   `kubectlValidateLoader` in `cmd/cli/kubectl-kyverno/policy/load.go`;
//! - ClusterPolicy/Policy semantics: `Validate` in
//!   `pkg/validation/policy/validate.go` (namespace on a ClusterPolicy,
//!   background user variables in `background.go`, variables in match and
//!   exclude, `validateResources`, `validateElementInForEach`,
//!   `validateRuleContext`, kinds in every
//!   match block, kind `*` (`validateWildcard`),
//!   `isLabelAndAnnotationsString`), the API checks it calls
//!   (`api/kyverno/v1`: policy name length, webhook timeouts, deprecated
//!   fields, duplicate rule names, one operation per rule, any/all
//!   exclusivity, name/names, empty selectors, namespaces in a Policy,
//!   identical match/exclude `any` entries) and the validate-rule checker
//!   `pkg/policy/validate/validate.go` (one validation element, pattern
//!   anchors, foreach, CEL fields);
//! - ValidatingPolicy compilation: `NewProvider` in
//!   `pkg/cel/policies/vpol/engine/provider.go` returns the compile error,
//!   and `kyverno test`/`apply` stop with it.
//!
//! - undefined variables (`hasInvalidVariables` with its mock context,
//!   `pkg/engine/context/mock_context.go`), for validate rules.
//!
//! Not ported: the variable check of mutate-target and verifyImages rules,
//! kind discovery (`validKinds`), `validationFailureActionOverrides`
//! namespace wildcards, and the generate/mutate/verifyImages deep checks.

mod schema;

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::pattern::{anchor_kind, AnchorKind};

/// Which of the Kyverno CLI's checks refused a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// An unknown field (kubectl-validate's strict decode): the CLI's
    /// loader fails and `kyverno test` aborts the whole run.
    UnknownField,
    /// A type, enum or required-field error: the loader prints it and drops
    /// the document; the run goes on without the policy.
    Schema,
    /// Kyverno's policy validation: `kyverno test` skips the policy and
    /// prints its rows as Skip / "Invalid Policy".
    Semantic,
    /// A CEL expression of a ValidatingPolicy that does not compile: the
    /// CLI stops applying policies with the compile error.
    Compile,
}

impl Stage {
    /// The stage as error messages name it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::UnknownField => "unknown field",
            Stage::Schema => "schema",
            Stage::Semantic => "policy validation",
            Stage::Compile => "CEL compilation",
        }
    }
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Dotted field path (`spec.rules[0].validate.patern`).
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a policy is refused: the stage and every field it named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub stage: Stage,
    pub problems: Vec<FieldProblem>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problems: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        write!(f, "{}", problems.join("; "))
    }
}

impl std::error::Error for Rejection {}

impl Rejection {
    /// The field path of the first problem.
    pub fn path(&self) -> &str {
        self.problems.first().map(|p| p.path.as_str()).unwrap_or("")
    }
}

/// Unknown fields first (they abort the CLI's loader), then the other
/// schema errors (they drop the document).
fn schema_check(obj: &'static schema::Obj, document: &Value) -> Result<(), Rejection> {
    let mut findings = Vec::new();
    schema::check(&schema::Node::Obj(obj), document, "", &mut findings);
    let unknown: Vec<FieldProblem> = findings
        .iter()
        .filter(|f| f.unknown_field)
        .map(|f| FieldProblem {
            path: f.path.clone(),
            message: f.message.clone(),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(Rejection {
            stage: Stage::UnknownField,
            problems: unknown,
        });
    }
    if findings.is_empty() {
        return Ok(());
    }
    Err(Rejection {
        stage: Stage::Schema,
        problems: findings
            .into_iter()
            .map(|f| FieldProblem {
                path: f.path,
                message: f.message,
            })
            .collect(),
    })
}

/// Validates a kyverno.io ClusterPolicy or Policy: schema, then Kyverno's
/// policy validation (first problem only, as Kyverno returns it).
pub fn check_kyverno_policy(document: &Value) -> Result<(), Rejection> {
    schema_check(&schema::KYVERNO_POLICY, document)?;
    kyverno_semantics(document).map_err(|problem| Rejection {
        stage: Stage::Semantic,
        problems: vec![problem],
    })
}

/// Validates a ValidatingPolicy or NamespacedValidatingPolicy against its
/// schema (compilation is checked where the policy is compiled).
pub fn check_validating_policy(document: &Value) -> Result<(), Rejection> {
    schema_check(&schema::VALIDATING_POLICY, document)
}

/// Validates a ValidatingAdmissionPolicy against its schema.
pub fn check_admission_policy(document: &Value) -> Result<(), Rejection> {
    schema_check(&schema::ADMISSION_POLICY, document)
}

/// Validates a ValidatingAdmissionPolicyBinding against its schema.
pub fn check_admission_binding(document: &Value) -> Result<(), Rejection> {
    schema_check(&schema::ADMISSION_BINDING, document)
}

/// A ValidatingPolicy's compile errors as a rejection.
pub fn compile_rejection(errors: Vec<String>) -> Option<Rejection> {
    if errors.is_empty() {
        return None;
    }
    Some(Rejection {
        stage: Stage::Compile,
        problems: errors
            .into_iter()
            .map(|error| match error.split_once(": ") {
                Some((place, message)) => FieldProblem {
                    path: format!("spec.{place}"),
                    message: message.to_string(),
                },
                None => FieldProblem {
                    path: "spec".into(),
                    message: error,
                },
            })
            .collect(),
    })
}

// ---- Kyverno's policy validation ------------------------------------------

type Checked = Result<(), FieldProblem>;

fn problem(path: impl Into<String>, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        path: path.into(),
        message: message.into(),
    }
}

#[allow(clippy::expect_used)] // constant patterns, exercised by the tests below
static VARIABLES: LazyLock<Regex> = LazyLock::new(|| {
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

/// A rule section that is set (Go's `x != nil && !DeepEqual(x, T{})`): an
/// object with a non-null field. Raw JSON fields such as
/// `patchStrategicMerge: false` count as set, as their bytes do in Go.
fn present(value: Option<&Value>) -> bool {
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

fn list(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn kyverno_semantics(document: &Value) -> Checked {
    let kind = text(document, "kind");
    let namespaced = kind == "Policy";
    if kind == "ClusterPolicy"
        && !document
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
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

/// `containsUserVariables`: background policies may not select by user nor
/// read user variables (unless a rule mutates existing resources).
fn background_user_variables(document: &Value, rules: &[Value]) -> Checked {
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
fn forbidden_variables(rule: &Value, index: usize) -> Checked {
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
fn undefined_variables(rule: &Value, index: usize, background: bool) -> Checked {
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
            if let Err(err) = super::jmespath::validate(query) {
                return failed(format!("invalid JMESPath query {query}: {err}"));
            }
        }
        let unquoted = query.replace('"', "");
        if query == "@"
            || allowed.is_match(&unquoted)
            || defined
                .iter()
                .any(|pattern| super::wildcard::matches(pattern, &unquoted))
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

/// The checks of `api/kyverno/v1` (`ClusterPolicy.Validate`, `Spec.Validate`,
/// `Rule.Validate`) that concern validate rules and the policy as a whole.
fn api_validation(document: &Value, spec: &Value, rules: &[Value], namespaced: bool) -> Checked {
    let name = document
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
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

/// `validateElementInForEach`: `element` variables only inside a foreach.
/// `pointer` is the JSON pointer of `value` within the rule.
fn element_outside_foreach(value: &Value, pointer: &str, rule_path: &str) -> Checked {
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
    super::jmespath::validate(expression).map_err(|err| {
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

#[cfg(test)]
mod tests;
