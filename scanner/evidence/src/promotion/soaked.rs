//! Whether Git holds the policy that soaked: the cluster's policy document
//! (with its ValidatingAdmissionPolicyBindings) and the repository's
//! documents of the policy enter; a [`SoakCheck`] leaves — the same rules,
//! other rules (then no patch: the soak says nothing about Git's), or not
//! checkable (a Helm template is no YAML until rendered). Both sides are
//! compared by their soak digest ([`soak_digest`]), which leaves the action
//! fields out: Audit in Git against Enforce in the cluster is no
//! difference. The API server fills in defaults Git need not write
//! (`background: true`, a ValidatingAdmissionPolicy's `failurePolicy:
//! Fail`, empty selectors): where Git leaves out a field whose value in
//! the cluster is such a default, the cluster's value is taken. Any other
//! difference counts, and the first one is named.

use serde_json::Value;

use super::{role, PolicyRef, Repository, Role};
use crate::run::history::soak_digest;
use crate::run::record_format::rules_content;

/// The cluster's policy, the one the soak history judged.
#[derive(Debug, Clone, Copy)]
pub struct Soaked<'a> {
    /// Its document as the evidence read it.
    pub document: &'a Value,
    /// The cluster's ValidatingAdmissionPolicyBindings (any: those naming
    /// the policy count); empty for other kinds.
    pub bindings: &'a [&'a Value],
}

/// What the comparison found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SoakCheck {
    /// Git's rules are the cluster's.
    Same,
    /// Git's rules are not the cluster's: the problem to state.
    Differs(String),
    /// Not compared, and nothing to compare in Git (only bindings there):
    /// the note to state.
    Unchecked(String),
    /// Git's policy could not be read to compare (a template with
    /// expressions beyond its action, labels and namespace; not YAML):
    /// the problem to state. Its patch would enforce rules no one
    /// compared with those that soaked (walk49 W49-1).
    Unreadable(String),
}

/// Fields the API server (a CRD's schema, or Kubernetes for
/// admissionregistration) sets when a manifest leaves them out, with the
/// value it sets: Git need not write them.
const SERVER_DEFAULTS: [(&str, &str); 12] = [
    ("background", "true"),
    ("admission", "true"),
    ("emitWarning", "false"),
    ("skipBackgroundRequests", "true"),
    ("allowExistingViolations", "true"),
    ("useServerSideApply", "false"),
    ("mutateExistingOnPolicyUpdate", "false"),
    ("generateExisting", "false"),
    ("failurePolicy", "\"Fail\""),
    ("matchPolicy", "\"Equivalent\""),
    ("scope", "\"*\""),
    ("enabled", "true"),
];

/// A template document whose every `{{ … }}` stands on an action field's
/// line (`validationFailureAction`, `failureAction`, `validationActions`),
/// in metadata's labels (any line of them, literal or templated: the soak
/// digest leaves labels out, and nearly every chart templates them:
/// verify48 V48-15, walk49 W49-1) or on `namespace:` (the
/// cluster's `namespace`, as the release renders it), read as YAML with
/// actions set to `Audit` (the digest leaves them out too) and labels
/// empty; None when another line is templated or it does not parse.
pub(super) fn action_only_template(lines: &[&str], namespace: Option<&str>) -> Option<Value> {
    const ACTION_FIELDS: [&str; 3] = [
        "validationFailureAction:",
        "failureAction:",
        "validationActions:",
    ];
    let mut out: Vec<String> = Vec::new();
    // The top-level key the line is under: only metadata's own labels are
    // set aside, not a rule pattern's (verify49 V49-7).
    let mut top = "";
    // Inside metadata's labels: every line of them is set aside, literal
    // or templated (walk49 W49-1: `managed-by: {{ .Release.Service }}`
    // left the rules unchecked).
    let mut in_labels = false;
    for line in lines {
        let bare = line.trim();
        let only_expression = bare.starts_with("{{") && bare.ends_with("}}");
        if in_labels {
            let indent = line.len() - line.trim_start().len();
            if bare.is_empty() || bare.starts_with('#') || only_expression || indent > 2 {
                continue;
            }
            in_labels = false;
        }
        if !line.starts_with([' ', '\t', '-', '#']) && !bare.is_empty() {
            top = line.split(':').next().unwrap_or("");
        }
        if top == "metadata" && line.starts_with("  labels:") {
            out.push("  labels: {}".to_string());
            in_labels = true;
            continue;
        }
        if !line.contains("{{") {
            out.push(line.trim_end_matches(['\n', '\r']).to_string());
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let trimmed = line.trim();
        let metadata_child = top == "metadata" && indent.len() == 2;
        // A control or include line elsewhere: what it makes is unknown.
        if only_expression {
            return None;
        }
        if let (true, Some(_), Some(namespace)) = (
            metadata_child,
            trimmed.strip_prefix("namespace:"),
            namespace,
        ) {
            out.push(format!("{indent}namespace: {namespace}"));
            continue;
        }
        let unlisted = trimmed.trim_start_matches("- ");
        let field = ACTION_FIELDS.iter().find(|f| unlisted.starts_with(**f))?;
        let dash = if trimmed.starts_with("- ") { "- " } else { "" };
        let value = if *field == "validationActions:" {
            "[Audit]"
        } else {
            "Audit"
        };
        out.push(format!("{indent}{dash}{field} {value}"));
    }
    polscan_engine::yaml::from_str::<Value>(&out.join("\n"))
        .ok()
        .filter(Value::is_object)
}

/// Compares Git's documents of `policy` with the cluster's.
pub(super) fn check(repo: &Repository, policy: &PolicyRef<'_>, soaked: &Soaked<'_>) -> SoakCheck {
    let mut git_policy = None;
    let mut git_bindings = Vec::new();
    for (path, file) in &repo.files {
        for document in &file.documents {
            let Some(identity) = &document.identity else {
                continue;
            };
            let site = (path.as_str(), file, document);
            match role(policy, identity) {
                Some(Role::Policy) => git_policy = Some(site),
                Some(Role::Binding) => git_bindings.push(site),
                None => {}
            }
        }
    }
    let unchecked = |what: String| {
        SoakCheck::Unchecked(format!(
            "{what}: polscan could not check it is the version that soaked"
        ))
    };
    let Some((file, repo_file, document)) = git_policy else {
        return unchecked(format!(
            "Git holds no {} {} document (only its bindings)",
            policy.kind, policy.name
        ));
    };
    let template = repo_file.template_of.is_some();
    let rendered;
    let value = match &document.value {
        Some(value) => value,
        // A template whose only expressions set the action reads as YAML
        // with them set aside (verify47 V47-7: a chart's extra rule was
        // enforced unsoaked).
        None => match template
            .then(|| {
                action_only_template(
                    &repo_file.lines(document),
                    soaked
                        .document
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str),
                )
            })
            .flatten()
        {
            Some(value) => {
                rendered = value;
                &rendered
            }
            None => {
                return SoakCheck::Unreadable(if template {
                    format!("Git's policy ({file}) is a Helm template with expressions beyond its action, labels and namespace: polscan cannot check it renders the rules that soaked, so it makes no patch — render the chart (helm template) with this cluster's values, compare it with the cluster's policy, then switch the action in Git by hand")
                } else {
                    format!("Git's policy ({file}) does not read as YAML: polscan cannot check it holds the rules that soaked, so it makes no patch")
                })
            }
        },
    };
    let cluster = rules_content(soaked.document);
    let content = |value: &Value| {
        let mut git = rules_content(value);
        fill_defaults(&mut git, &cluster);
        same_group_version(&mut git, soaked.document);
        git
    };
    // An overlay's patch of the rules is not applied here: which overlay
    // builds what this cluster runs, and how kustomize merges a rule list
    // by name, are not followed (verify59 V59-2, V59-3: a comparison with
    // any overlay's build gave a GO that enforced rules no soak judged).
    // The difference is said with the overlays named.
    let git = content(value);
    if soak_digest(&git, &[]) != soak_digest(soaked.document, &[]) {
        return SoakCheck::Differs(format!(
            "Git's {file} holds a different version of the policy than the cluster (its rules differ from those that soaked{}): reconcile it, let it soak, then build the evidence again",
            first_difference(&git, &cluster, "")
                .map(|path| format!("; first at {path}"))
                .unwrap_or_default()
        ));
    }
    if policy.kind != "ValidatingAdmissionPolicy" {
        return SoakCheck::Same;
    }
    // The bindings' scope soaked too (the soak digest holds it). Where Git
    // holds every binding the cluster has, by name, those are compared;
    // the others are other environments' (verify63 V63-4).
    let cluster_names: Vec<Option<&Value>> = soaked
        .bindings
        .iter()
        .filter(|b| b.pointer("/spec/policyName").and_then(Value::as_str) == Some(policy.name))
        .map(|b| b.pointer("/metadata/name"))
        .collect();
    let git_name = |document: &super::repository::Document| {
        document
            .identity
            .as_ref()
            .map(|identity| Value::String(identity.name.clone()))
    };
    if !cluster_names.is_empty()
        && cluster_names.iter().all(|name| {
            name.is_some()
                && git_bindings
                    .iter()
                    .any(|(_, _, document)| git_name(document).as_ref() == *name)
        })
    {
        git_bindings
            .retain(|(_, _, document)| cluster_names.contains(&git_name(document).as_ref()));
    }
    let mut bindings = Vec::new();
    for (file, repo_file, document) in &git_bindings {
        let Some(value) = &document.value else {
            return SoakCheck::Unreadable(format!(
                "Git's binding in {file} is {}: polscan cannot check its scope is the one that soaked, so it makes no patch",
                if repo_file.template_of.is_some() {
                    "a Helm template"
                } else {
                    "not YAML"
                }
            ));
        };
        let mut content = rules_content(value);
        let name = content.pointer("/metadata/name").cloned();
        let theirs = soaked
            .bindings
            .iter()
            .find(|b| b.pointer("/metadata/name") == name.as_ref());
        if let Some(theirs) = theirs {
            fill_defaults(&mut content, &rules_content(theirs));
        }
        bindings.push(content);
    }
    let refs: Vec<&Value> = bindings.iter().collect();
    if soak_digest(&git, &refs) != soak_digest(soaked.document, soaked.bindings) {
        let files: Vec<&str> = git_bindings.iter().map(|(file, _, _)| *file).collect();
        return SoakCheck::Differs(format!(
            "Git's bindings of the policy ({}) differ from the cluster's beyond their validationActions (their scope or parameters are not those that soaked, or one is missing or added): reconcile them, let the policy soak, then build the evidence again",
            if files.is_empty() {
                "none".to_string()
            } else {
                files.join(", ")
            }
        ));
    }
    SoakCheck::Same
}

/// Gives `git` the cluster's apiVersion where both are of one API group:
/// the API server serves an object in every version its CRD serves (a
/// ValidatingPolicy written as `policies.kyverno.io/v1alpha1` is read back
/// as `/v1`), and Kyverno's CRDs convert none (`strategy: None`: the same
/// fields in each) — walk58 W58-1: a version spelling made "a different
/// version" for good.
fn same_group_version(git: &mut Value, cluster: &Value) {
    let group = |value: &Value| {
        value.get("apiVersion").and_then(Value::as_str).map(|v| {
            v.rsplit_once('/')
                .map_or("", |(group, _)| group)
                .to_string()
        })
    };
    if let (Some(ours), Some(theirs)) = (group(git), group(cluster)) {
        if ours == theirs {
            if let (Value::Object(git), Some(version)) = (git, cluster.get("apiVersion")) {
                git.insert("apiVersion".into(), version.clone());
            }
        }
    }
}

/// Takes into `git` each field it leaves out whose value in `cluster` the
/// API server would have set by itself: an empty object or list, or a
/// [`SERVER_DEFAULTS`] value; and the namespace kustomize or Flux sets.
fn fill_defaults(git: &mut Value, cluster: &Value) {
    fill(git, cluster, true);
}

fn fill(git: &mut Value, cluster: &Value, top: bool) {
    match (git, cluster) {
        (Value::Object(mine), Value::Object(theirs)) => {
            for (key, value) in theirs {
                match mine.get_mut(key) {
                    Some(own) => {
                        // The namespace only at metadata's level.
                        let metadata = top && key == "metadata";
                        if metadata {
                            if let (Value::Object(own), Some(namespace)) =
                                (&mut *own, value.get("namespace"))
                            {
                                own.entry("namespace").or_insert_with(|| namespace.clone());
                            }
                        }
                        fill(own, value, false);
                    }
                    None if is_default(key, value) => {
                        mine.insert(key.clone(), value.clone());
                    }
                    None => {}
                }
            }
        }
        (Value::Array(mine), Value::Array(theirs)) if mine.len() == theirs.len() => {
            for (own, value) in mine.iter_mut().zip(theirs) {
                fill(own, value, false);
            }
        }
        // A Flux `postBuild.substitute` variable (`${TEAM_NS}`) is what
        // the cluster's value was made from: Flux substitutes it before
        // applying (verify48 V48-21: the WAIT never ended).
        (own @ Value::String(_), Value::String(theirs))
            if own
                .as_str()
                .is_some_and(|text| substitutes_to(text, theirs)) =>
        {
            *own = Value::String(theirs.clone());
        }
        _ => {}
    }
}

/// Whether `text`, holding Flux variables (`${NAME}`, `${NAME:=default}`),
/// can substitute to `value`: its other characters as they are.
fn substitutes_to(text: &str, value: &str) -> bool {
    if !text.contains("${") {
        return false;
    }
    let mut pattern = String::from("^");
    let mut rest = text;
    while let Some(open) = rest.find("${") {
        pattern.push_str(&regex::escape(&rest[..open]));
        let Some(close) = rest[open..].find('}') else {
            return false;
        };
        pattern.push_str(".*");
        rest = &rest[open + close + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(value))
}

fn is_default(key: &str, value: &Value) -> bool {
    let empty = match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    empty
        || SERVER_DEFAULTS.iter().any(|(field, default)| {
            *field == key && serde_json::from_str::<Value>(default).ok().as_ref() == Some(value)
        })
}

/// The first path (`spec.rules[0].match`) where `git` and `cluster`
/// differ; None when they do not.
fn first_difference(git: &Value, cluster: &Value, path: &str) -> Option<String> {
    let here = || {
        Some(if path.is_empty() {
            "the document".to_string()
        } else {
            path.to_string()
        })
    };
    match (git, cluster) {
        (Value::Object(mine), Value::Object(theirs)) => {
            let mut keys: Vec<&String> = mine.keys().chain(theirs.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|key| {
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (mine.get(key), theirs.get(key)) {
                    (Some(a), Some(b)) => first_difference(a, b, &inner),
                    (Some(_), None) => Some(format!("{inner} (only in Git)")),
                    _ => Some(format!("{inner} (only in the cluster)")),
                }
            })
        }
        // An item added or removed is named as such, not the whole list.
        (Value::Array(mine), Value::Array(theirs)) => mine
            .iter()
            .zip(theirs)
            .enumerate()
            .find_map(|(index, (a, b))| first_difference(a, b, &format!("{path}[{index}]")))
            .or_else(|| match mine.len().cmp(&theirs.len()) {
                std::cmp::Ordering::Greater => {
                    Some(format!("{path}[{}] (only in Git)", theirs.len()))
                }
                std::cmp::Ordering::Less => {
                    Some(format!("{path}[{}] (only in the cluster)", mine.len()))
                }
                std::cmp::Ordering::Equal => None,
            }),
        (a, b) if a == b => None,
        _ => here(),
    }
}

#[cfg(test)]
mod tests {
    use super::first_difference;
    use serde_json::json;

    #[test]
    fn the_first_difference_names_an_added_or_removed_item_or_field() {
        let cluster = json!({"spec": {"rules": [{"name": "a"}]}});
        let git = json!({"spec": {"rules": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(
            first_difference(&git, &cluster, "").as_deref(),
            Some("spec.rules[1] (only in Git)")
        );
        assert_eq!(
            first_difference(&cluster, &git, "").as_deref(),
            Some("spec.rules[1] (only in the cluster)")
        );
        let changed = json!({"spec": {"rules": [{"name": "c"}, {"name": "b"}]}});
        assert_eq!(
            first_difference(&changed, &git, "").as_deref(),
            Some("spec.rules[0].name")
        );
        let more = json!({"spec": {"rules": [{"name": "a"}], "background": false}});
        assert_eq!(
            first_difference(&more, &cluster, "").as_deref(),
            Some("spec.background (only in Git)")
        );
        assert_eq!(first_difference(&git, &git, ""), None);
    }
}
