//! Resolving what a test names, relative to its file: the policies,
//! resources, values and user info documents it loads, what the policies
//! contain (the rule kinds that decide what is in scope), and where a
//! refused policy goes as the CLI's loader decides it. File names enter;
//! documents, the requester and refusals leave.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine::matching::RequestInfo;
use crate::engine::ValueExt;
use crate::loader::{self, Document};

pub(super) fn load_relative(dir: &Path, files: &[String]) -> Result<Vec<Document>, String> {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    loader::load_paths(&paths).map_err(|e| e.to_string())
}

pub(super) fn load_single(dir: &Path, file: &str) -> Result<Value, String> {
    let docs = load_relative(dir, &[file.to_string()])?;
    docs.into_iter()
        .next()
        .map(|d| d.value)
        .ok_or_else(|| format!("{}: empty file", dir.join(file).display()))
}

/// What the test's policies contain, for deciding what is in scope.
pub(super) struct PolicyIndex {
    /// Kyverno policies by name, with the kind of each rule.
    pub(super) rule_kinds: HashMap<String, HashMap<String, &'static str>>,
    /// Policies of kinds polscan does not evaluate, by name.
    pub(super) other_kinds: HashMap<String, String>,
}

pub(super) fn rule_kind(rule: &Value) -> &'static str {
    if rule.get("validate").is_some() {
        if rule.pointer("/validate/cel").is_some() {
            "validate.cel"
        } else if rule.pointer("/validate/podSecurity").is_some() {
            "validate.podSecurity"
        } else {
            "validate"
        }
    } else if rule.get("mutate").is_some() {
        "mutate"
    } else if rule.get("generate").is_some() {
        "generate"
    } else if rule.get("verifyImages").is_some() {
        "verifyImages"
    } else {
        "unknown"
    }
}

/// Where a refused policy goes, following the Kyverno CLI: an unknown field
/// fails the policy loader (the run stops), other schema errors drop the
/// document, a policy Kyverno's policy validation refuses is skipped (its
/// rows read Skip / "Invalid Policy"), and a ValidatingPolicy that does not
/// compile stops the run when there is a resource to apply it to.
pub(super) enum Refusal {
    Fatal(String),
    Dropped(String),
    Skipped(String),
    DoesNotCompile(String),
}

pub(super) fn refusal(doc: &Document, err: &crate::engine::policy::PolicyError) -> Refusal {
    use crate::engine::policy_validation::Stage;
    match err.stage() {
        Stage::UnknownField => {
            Refusal::Fatal(format!("failed to load policies ({}: {err})", doc.origin))
        }
        Stage::Schema => Refusal::Dropped(format!("{}: {err}", doc.origin)),
        Stage::Semantic => Refusal::Skipped(format!("{}: {err}", doc.origin)),
        Stage::Compile => Refusal::DoesNotCompile(format!("{}: {err}", doc.origin)),
    }
}

/// Kyverno's `hasSelector` (named for what it rules out): exactly one
/// resource rule without resource names, no exclusions, no selector terms.
pub(super) fn one_plain_resource_rule(
    constraints: &crate::engine::cel::policies::admission::MatchConstraints,
) -> bool {
    let empty = |selector: &Option<crate::engine::label_selector::LabelSelector>| {
        selector
            .as_ref()
            .is_none_or(|s| s.match_labels.is_empty() && s.match_expressions.is_empty())
    };
    empty(&constraints.namespace_selector)
        && empty(&constraints.object_selector)
        && constraints.exclude_resource_rules.is_empty()
        && constraints.resource_rules.len() == 1
        && constraints
            .resource_rules
            .iter()
            .all(|rule| rule.resource_names.is_empty())
}

/// A Kyverno CLI user info document (`kind: UserInfo`: `userInfo`, `roles`,
/// `clusterRoles`) as the requester; shared with `polscan apply --userinfo`.
pub fn parse_user_info(document: &Value) -> RequestInfo {
    let strings = |pointer: &str| -> Vec<String> {
        document
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    RequestInfo {
        username: document.string_at_or_empty("/userInfo/username"),
        groups: strings("/userInfo/groups"),
        roles: strings("/roles"),
        cluster_roles: strings("/clusterRoles"),
    }
}
