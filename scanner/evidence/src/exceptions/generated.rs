//! The PolicyExceptions polscan writes for bypasses only its own
//! annotations make: the results excused only by a `polscan.io/exception`
//! annotation (which Kyverno's admission never reads), the exceptions
//! found, the top owners and their label selectors, each policy's kind
//! and the scan's exception scope enter `generate_exceptions`; per top
//! owner a ready-to-apply PolicyException of the API its policy's engine
//! reads (the owner by name; what it creates by the names it controls now
//! and, where its selector is known, by `<owner>-*` with its selector's
//! labels, so the next rollout stays covered; in the namespace Kyverno
//! reads them from) leaves as a [`GeneratedException`] with warnings where
//! it may match what the owner does not control, and each annotation
//! exception found is given the file that makes it explicit.

use std::collections::{BTreeMap, BTreeSet};

use polscan_engine::ValueExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{parse_expiry, ExceptionEvidence, EXCEPTION_ANNOTATION};
use crate::ingest::results::{excused_violation, ReportedResult};
use crate::ingest::ObjectName;
use polscan_engine::exceptions::annotation as annotation_exceptions;

/// A ready-to-apply Kyverno PolicyException for one top owner of annotated
/// resources: the owner and what it creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedException {
    /// Its path in the package (`exceptions/<ns>-<kind>-<name>.yaml`).
    pub file: String,
    /// The top owner it covers (with what it creates).
    pub resource: ObjectName,
    /// The annotated resources whose bypass it makes explicit.
    #[serde(default)]
    pub resources: Vec<ObjectName>,
    /// The `policy/rule`s it excuses.
    pub covers: Vec<String>,
    /// What its match selects, in words (`Pod shop/legacy-*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<String>,
    /// When a PolicyException of the same namespace and name exists but
    /// the last scan did not apply it: why (Kyverno would not read it
    /// either), instead of asking to apply it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_not_applied: Option<String>,
    /// Where it may match objects the owner does not control, or does not
    /// cover what the owner will create: read before applying it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The PolicyException object, written as YAML to `file`.
    pub document: Value,
}

/// File-name-safe text: lowercase letters, digits, `-` and `.` only, never
/// starting with `.` (reports are input: a name must not climb out of the
/// package directory).
pub(super) fn file_part(text: &str) -> String {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned.trim_start_matches('.').to_string()
}

/// What a controller of `kind` creates, down to its Pods (what Kyverno
/// validates at admission on each rollout); empty for other kinds.
fn created_kinds(kind: &str) -> &'static [&'static str] {
    match kind {
        "Deployment" => &["ReplicaSet", "Pod"],
        "CronJob" => &["Job", "Pod"],
        "DaemonSet" | "StatefulSet" | "Job" | "ReplicaSet" | "ReplicationController" => &["Pod"],
        _ => &[],
    }
}

/// A top owner's label selector as a Kyverno `selector` (a
/// LabelSelector; a ReplicationController's plain map becomes its
/// matchLabels); None without one, or with one that selects everything.
fn label_selector(selector: Option<&Value>) -> Option<Value> {
    let selector = selector?.as_object()?;
    let structured =
        selector.contains_key("matchLabels") || selector.contains_key("matchExpressions");
    let selector = if structured {
        let mut kept = serde_json::Map::new();
        for key in ["matchLabels", "matchExpressions"] {
            match selector.get(key) {
                Some(Value::Object(map)) if !map.is_empty() => {
                    kept.insert(key.into(), Value::Object(map.clone()));
                }
                Some(Value::Array(list)) if !list.is_empty() => {
                    kept.insert(key.into(), Value::Array(list.clone()));
                }
                _ => {}
            }
        }
        kept
    } else {
        let labels: serde_json::Map<String, Value> = selector
            .iter()
            .filter(|(_, v)| v.is_string())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if labels.is_empty() {
            serde_json::Map::new()
        } else {
            serde_json::Map::from_iter([("matchLabels".to_string(), Value::Object(labels))])
        }
    };
    (!selector.is_empty()).then_some(Value::Object(selector))
}

/// A LabelSelector's matchExpressions as (key, operator, values).
fn match_expressions(selector: &Value) -> Vec<(&str, &str, Vec<&str>)> {
    selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|expression| {
            let values = expression
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (
                expression.str_field("key").unwrap_or_default(),
                expression.str_field("operator").unwrap_or_default(),
                values,
            )
        })
        .collect()
}

/// A LabelSelector as kubectl's `-l` text (`app=web,tier in (a,b)`);
/// None for an operator it does not know.
fn selector_text(selector: &Value) -> Option<String> {
    let mut parts: Vec<String> = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for (key, operator, values) in match_expressions(selector) {
        parts.push(match operator {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        });
    }
    Some(parts.join(","))
}

/// Per top owner of annotated resources whose annotations excuse
/// violations, a Kyverno PolicyException covering the owner by name (when
/// it is excused itself) and what it creates, from the highest excused
/// kind of the chain down: by the exact names of the excused objects it
/// controls now, and, where the owner's label selector is known
/// (`owner_selectors`), by `<owner>-*` together with that selector (a
/// rollout makes new hash-suffixed ReplicaSets and Pods; the selector keeps
/// out an unrelated `<owner>-legacy` with other labels). A name pattern
/// alone would excuse any object so named: without the selector only the
/// names controlled now are matched, and a warning says the next rollout's
/// are not; with it, a warning says what overlapping selectors could still
/// let in. It covers for the rules excused with those of their
/// autogen variants that apply to the covered kinds, carrying the
/// annotations' owner, reason and (earliest) expiry as the annotations
/// polscan reads on PolicyExceptions. It is put in the namespace Kyverno
/// reads PolicyExceptions from when the scan named one
/// (`--exception-namespace`, Kyverno's `--exceptionNamespace`: both
/// kyverno.io's and policies.kyverno.io's listers are scoped to it), else
/// in the owner's namespace.
pub(crate) fn generate_exceptions(
    results: &[&ReportedResult],
    exceptions: &mut [ExceptionEvidence],
    owners: &BTreeMap<ObjectName, ObjectName>,
    owner_selectors: &BTreeMap<ObjectName, Value>,
    policy_kinds: &BTreeMap<String, String>,
    scope: Option<&crate::run::exception_scope::ExceptionScope>,
) -> Vec<GeneratedException> {
    let home = match scope {
        Some(crate::run::exception_scope::ExceptionScope::Namespace { namespace })
            if namespace != "*" =>
        {
            Some(namespace.as_str())
        }
        _ => None,
    };
    #[derive(Default)]
    struct Group<'a> {
        resources: BTreeSet<&'a ObjectName>,
        // policy → base rules
        rules: BTreeMap<&'a str, BTreeSet<&'a str>>,
        // A Pod or an autogen rule shows the rules are Pod rules, which
        // autogen extends to the controllers.
        pod_rules: bool,
    }
    let mut groups: BTreeMap<&ObjectName, Group<'_>> = BTreeMap::new();
    for result in results.iter().filter(|r| excused_violation(r)) {
        let owner = owners.get(&*result.resource).unwrap_or(&result.resource);
        let group = groups.entry(owner).or_default();
        group.resources.insert(&result.resource);
        group
            .rules
            .entry(&result.policy)
            .or_default()
            .insert(annotation_exceptions::base_rule(&result.rule));
        group.pod_rules |= result.resource.kind == "Pod"
            || &*result.rule != annotation_exceptions::base_rule(&result.rule);
    }
    let mut generated = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    for (owner, group) in groups {
        let names: BTreeSet<String> = group.resources.iter().map(|r| r.to_string()).collect();
        let evidences: Vec<&ExceptionEvidence> = exceptions
            .iter()
            .filter(|e| e.source == "annotation" && names.contains(&e.name))
            .collect();
        if evidences.is_empty() {
            continue;
        }
        // The owner's own annotation speaks for the group, else the first.
        let speaker = evidences
            .iter()
            .find(|e| e.name == owner.to_string())
            .or_else(|| evidences.first())
            .copied();
        let earliest = evidences
            .iter()
            .filter_map(|e| e.expires.as_ref())
            .min_by_key(|text| parse_expiry(text))
            .cloned();
        let mut stem = [&owner.namespace, &owner.kind, &owner.name]
            .iter()
            .filter(|part| !part.is_empty())
            .map(|part| file_part(part))
            .collect::<Vec<_>>()
            .join("-");
        if stem.is_empty() {
            stem = "resource".into();
        }
        let mut file = format!("exceptions/{stem}.yaml");
        let mut n = 2;
        while files.contains(&file) {
            file = format!("exceptions/{stem}-{n}.yaml");
            n += 1;
        }
        files.insert(file.clone());
        let mut annotations = serde_json::Map::new();
        for (key, value) in [
            (
                annotation_exceptions::OWNER,
                speaker.and_then(|e| e.owner.clone()),
            ),
            (
                annotation_exceptions::REASON,
                speaker.and_then(|e| e.reason.clone()),
            ),
            (annotation_exceptions::EXPIRES, earliest),
        ] {
            if let Some(value) = value {
                annotations.insert(key.into(), Value::String(value));
            }
        }
        annotations.insert(
            "polscan.io/generated-from".into(),
            Value::String(format!(
                "{EXCEPTION_ANNOTATION} on {}",
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
        );
        let namespace = home.unwrap_or(&owner.namespace);
        // Exceptions gathered in one namespace (--exception-namespace) name
        // their owner's namespace too: owners of one kind and name in two
        // namespaces would otherwise share one object, each file
        // overwriting the other's bypass.
        let named = if namespace != owner.namespace && !owner.namespace.is_empty() {
            format!("{}-{}-{}", owner.namespace, owner.kind, owner.name)
        } else {
            format!("{}-{}", owner.kind, owner.name)
        };
        let mut metadata = serde_json::json!({
            "name": format!("polscan-{}", file_part(&named))
                .chars()
                .take(253)
                .collect::<String>()
                .trim_end_matches(['-', '.'])
                .to_string(),
            "labels": {"app.kubernetes.io/managed-by": "polscan"},
            "annotations": annotations,
        });
        // The chain from the owner down (Deployment, ReplicaSet, Pod), and
        // of it what lies at or below the highest excused kind: the
        // annotations excuse those, not an owner above them.
        let mut order: Vec<&str> = vec![owner.kind.as_str()];
        order.extend(created_kinds(&owner.kind));
        for resource in &group.resources {
            if !order.contains(&resource.kind.as_str()) {
                order.push(&resource.kind);
            }
        }
        let highest = order
            .iter()
            .position(|kind| group.resources.iter().any(|r| r.kind == *kind))
            .unwrap_or(0);
        let chain: BTreeSet<&str> = order[highest..].iter().copied().collect();
        let mut created = chain.clone();
        created.remove(owner.kind.as_str());
        let mut filters = Vec::new();
        let mut warnings = Vec::new();
        if chain.contains(owner.kind.as_str()) {
            filters.push(serde_json::json!({"kinds": [owner.kind], "names": [owner.name]}));
        }
        // What the owner controls now, by exact name, a filter per kind.
        for kind in &created {
            let names: Vec<&str> = group
                .resources
                .iter()
                .filter(|r| r.kind == *kind && **r != owner)
                .map(|r| r.name.as_str())
                .collect();
            if !names.is_empty() {
                filters.push(serde_json::json!({"kinds": [kind], "names": names}));
            }
        }
        let selector = label_selector(owner_selectors.get(owner));
        let selector_words = selector.as_ref().and_then(selector_text);
        let kinds_words = created.iter().copied().collect::<Vec<_>>().join(", ");
        let place = if owner.namespace.is_empty() {
            String::new()
        } else {
            format!("{}/", owner.namespace)
        };
        match (&selector, &selector_words) {
            (Some(selector), Some(words)) if !created.is_empty() => {
                filters.push(serde_json::json!({
                    "kinds": created.iter().collect::<Vec<_>>(),
                    "names": [format!("{}-*", owner.name)],
                    "selector": selector,
                }));
                warnings.push(format!(
                    "it also matches any {kinds_words} named {place}{}-* labelled {words}, which {} {} selects: one another controller owns matches too if their selectors overlap (a PolicyException cannot name the controller); `kubectl get {} -n {} -l '{words}'` should list only {}'s",
                    owner.name,
                    owner.kind,
                    owner.name,
                    created
                        .iter()
                        .map(|k| k.to_lowercase())
                        .collect::<Vec<_>>()
                        .join(","),
                    owner.namespace,
                    owner.name,
                ));
            }
            _ if !created.is_empty() => {
                // Which of what the owner creates the file names (walk39
                // F18: "only the Pod, ReplicaSet Deployment vend controls
                // now" over a file naming the Deployment alone).
                let named: Vec<&str> = created
                    .iter()
                    .copied()
                    .filter(|kind| {
                        group
                            .resources
                            .iter()
                            .any(|r| r.kind == *kind && *r != owner)
                    })
                    .collect();
                let matched = if named.is_empty() {
                    format!(
                        "it matches only {} {} itself, not the {kinds_words} it creates",
                        owner.kind, owner.name
                    )
                } else {
                    format!(
                        "it matches the {} {} {} controls now only by name",
                        named.join(", "),
                        owner.kind,
                        owner.name
                    )
                };
                warnings.push(format!(
                    "{matched}: {}'s label selector is not known here (reports read from files, or the owner could not be read), and a name pattern ({place}{}-*) would also excuse objects it does not control; the next rollout's are not covered — generate it again after a rollout, or from the cluster",
                    owner.name, owner.name
                ));
            }
            _ => {}
        }
        if !owner.namespace.is_empty() {
            for filter in &mut filters {
                filter["namespaces"] = serde_json::json!([owner.namespace]);
            }
        }
        if !namespace.is_empty() {
            metadata["namespace"] = Value::String(namespace.to_string());
        }
        let matches: Vec<String> = filters
            .iter()
            .map(|filter| {
                let strings = |key: &str| -> Vec<String> {
                    filter[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|text| text.to_string())
                        .collect()
                };
                let targets: Vec<String> = strings("names")
                    .iter()
                    .map(|name| format!("{place}{name}"))
                    .collect();
                let labelled = match filter.get("selector").and_then(selector_text) {
                    Some(words) => format!(" labelled {words}"),
                    None => String::new(),
                };
                format!(
                    "{} {}{labelled}",
                    strings("kinds").join(", "),
                    targets.join(", ")
                )
            })
            .collect();
        // Already in the cluster but not applied by the scan: applying it
        // again changes nothing; Kyverno's setting (or the scan's) does.
        let full_name = match metadata["name"].as_str() {
            Some(name) if namespace.is_empty() => name.to_string(),
            Some(name) => format!("{namespace}/{name}"),
            None => String::new(),
        };
        let existing_not_applied = exceptions
            .iter()
            .find(|e| e.source == "PolicyException" && e.name == full_name)
            .and_then(|e| e.problem.clone())
            .filter(|problem| problem.starts_with("not applied"))
            .map(|problem| format!("PolicyException {full_name} exists but is {problem}"));
        // Autogen variants only for Pod rules, and only those whose
        // controllers are in the chain (no autogen-cronjob- for a Deployment).
        let rule_names = |base: &str| -> Vec<String> {
            let mut names = vec![base.to_string()];
            if group.pod_rules {
                for variant in annotation_exceptions::with_autogen_variants(base) {
                    let applies = crate::ingest::policy_info::autogen_kinds(&variant)
                        .is_some_and(|kinds| kinds.iter().any(|k| chain.contains(k)));
                    if applies {
                        names.push(variant);
                    }
                }
            }
            names.sort();
            names
        };
        // Each policy family has its own PolicyException: kyverno.io for
        // ClusterPolicy/Policy (rules by name), policies.kyverno.io for
        // ValidatingPolicies (policyRefs by name and kind). A
        // ValidatingAdmissionPolicy is enforced by the API server, which
        // reads no PolicyException: nothing is generated for it.
        let mut kyverno_rules: Vec<(&str, &BTreeSet<&str>)> = Vec::new();
        let mut cel_refs: Vec<(&str, &str)> = Vec::new();
        for (policy, rules) in &group.rules {
            match policy_kinds.get(*policy).map(String::as_str) {
                Some(kind @ ("ValidatingPolicy" | "NamespacedValidatingPolicy")) => {
                    cel_refs.push((policy, kind))
                }
                Some("ValidatingAdmissionPolicy") => {}
                _ => kyverno_rules.push((policy, rules)),
            }
        }
        let resources: Vec<ObjectName> = group.resources.iter().map(|r| (*r).clone()).collect();
        let mut documents: Vec<(String, Vec<String>, Value)> = Vec::new();
        if !kyverno_rules.is_empty() {
            let entries: Vec<Value> = kyverno_rules
                .iter()
                .map(|(policy, rules)| {
                    let names: Vec<String> = rules.iter().flat_map(|r| rule_names(r)).collect();
                    serde_json::json!({"policyName": policy, "ruleNames": names})
                })
                .collect();
            let covers: Vec<String> = kyverno_rules
                .iter()
                .flat_map(|(policy, rules)| {
                    rules
                        .iter()
                        .flat_map(|r| rule_names(r))
                        .map(move |rule| format!("{policy}/{rule}"))
                })
                .collect();
            let document = serde_json::json!({
                "apiVersion": "kyverno.io/v2",
                "kind": "PolicyException",
                "metadata": metadata.clone(),
                "spec": {
                    "exceptions": entries,
                    "match": {"any": filters.iter().map(|f| serde_json::json!({"resources": f})).collect::<Vec<_>>()},
                },
            });
            documents.push((file.clone(), covers, document));
        }
        if !cel_refs.is_empty() {
            // Beside the kyverno.io one when the owner has both.
            let cel_file = if documents.is_empty() {
                file.clone()
            } else {
                let mut cel_file = format!("exceptions/{stem}-cel.yaml");
                let mut n = 2;
                while files.contains(&cel_file) {
                    cel_file = format!("exceptions/{stem}-cel-{n}.yaml");
                    n += 1;
                }
                files.insert(cel_file.clone());
                cel_file
            };
            let refs: Vec<Value> = cel_refs
                .iter()
                .map(|(policy, kind)| {
                    // A NamespacedValidatingPolicy is named `namespace/name` in results.
                    let name = policy.rsplit('/').next().unwrap_or(policy);
                    serde_json::json!({"name": name, "kind": kind})
                })
                .collect();
            let covers: Vec<String> = cel_refs
                .iter()
                .flat_map(|(policy, _)| {
                    group
                        .rules
                        .get(*policy)
                        .into_iter()
                        .flatten()
                        .flat_map(|r| rule_names(r))
                        .map(move |rule| format!("{policy}/{rule}"))
                })
                .collect();
            let document = serde_json::json!({
                "apiVersion": CEL_EXCEPTION_API_VERSION,
                "kind": "PolicyException",
                "metadata": metadata.clone(),
                "spec": {
                    "policyRefs": refs,
                    "matchConditions": [{
                        "name": "polscan-annotated-resources",
                        "expression": cel_match_expression(&filters, &owner.namespace),
                    }],
                },
            });
            documents.push((cel_file, covers, document));
        }
        let Some(first) = documents.first().map(|(file, _, _)| file.clone()) else {
            // Only ValidatingAdmissionPolicies: no file to point to.
            files.remove(&file);
            continue;
        };
        for evidence in exceptions
            .iter_mut()
            .filter(|e| e.source == "annotation" && names.contains(&e.name))
        {
            evidence.policy_exception_file = Some(first.clone());
        }
        for (file, covers, document) in documents {
            generated.push(GeneratedException {
                warnings: warnings.clone(),
                file,
                resource: owner.clone(),
                resources: resources.clone(),
                covers,
                matches: matches.clone(),
                existing_not_applied: existing_not_applied.clone(),
                document,
            });
        }
    }
    generated
}

/// The served version of policies.kyverno.io PolicyExceptions Kyverno
/// stores (config/crds/policies.kyverno.io: v1beta1 is the storage version).
const CEL_EXCEPTION_API_VERSION: &str = "policies.kyverno.io/v1beta1";

/// A LabelSelector (matchLabels; matchExpressions In, NotIn, Exists,
/// DoesNotExist) as CEL on `object.metadata.labels`; an operator it does
/// not know selects nothing (`generate_exceptions` adds no selector then).
fn cel_selector(selector: &Value, quote: &dyn Fn(&str) -> String) -> String {
    let labels = "object.metadata.labels";
    let has = |key: &str| format!("(has({labels}) && {} in {labels})", quote(key));
    let mut terms: Vec<String> = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            format!(
                "({} && {labels}[{}] == {})",
                has(k),
                quote(k),
                quote(v.as_str().unwrap_or_default())
            )
        })
        .collect();
    for (key, operator, values) in match_expressions(selector) {
        let values: Vec<String> = values.into_iter().map(quote).collect();
        let within = format!("{labels}[{}] in [{}]", quote(key), values.join(", "));
        terms.push(match operator {
            "In" => format!("({} && {within})", has(key)),
            "NotIn" => format!("(!{} || !({within}))", has(key)),
            "Exists" => has(key),
            "DoesNotExist" => format!("!{}", has(key)),
            _ => "false".into(),
        });
    }
    terms.join(" && ")
}

/// The CEL match condition equal to a kyverno.io exception's
/// `match.any[].resources` filters (`kinds`, `names` exact or `prefix-*`,
/// `selector`, `namespaces`): a policies.kyverno.io PolicyException has no `match`
/// block, only `matchConditions` (pkg/cel/engine). `object` is null on a
/// DELETE, which the exception then does not cover.
fn cel_match_expression(filters: &[Value], namespace: &str) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"));
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let alternatives: Vec<String> = filters
        .iter()
        .map(|filter| {
            let kinds: Vec<String> = strings(&filter["kinds"]).iter().map(|k| quote(k)).collect();
            let kind = match kinds.as_slice() {
                [one] => format!("object.kind == {one}"),
                many => format!("object.kind in [{}]", many.join(", ")),
            };
            let names: Vec<String> = strings(&filter["names"])
                .iter()
                .map(|name| match name.strip_suffix('*') {
                    Some(prefix) => format!("object.metadata.name.startsWith({})", quote(prefix)),
                    None => format!("object.metadata.name == {}", quote(name)),
                })
                .collect();
            let labels = filter
                .get("selector")
                .map(|selector| format!(" && {}", cel_selector(selector, &quote)))
                .unwrap_or_default();
            format!("({kind} && ({}){labels})", names.join(" || "))
        })
        .collect();
    let mut expression = "object != null".to_string();
    if !namespace.is_empty() {
        expression.push_str(&format!(
            " && object.metadata.namespace == {}",
            quote(namespace)
        ));
    }
    expression.push_str(&format!(" && ({})", alternatives.join(" || ")));
    expression
}
