//! Fields that other writers set on an object after its creation. What
//! enters: a policy document's kind and spec. What leaves: one part of
//! [`super::policy_info::PolicyInfo::admission_only`] per rule that reads
//! such a field of a kind it matches, naming the field and its writer.
//!
//! Why: a scan judges objects as they are now, presented as CREATEs (as
//! Kyverno's background scan does). Some fields are set later by someone
//! else: the scheduler binds a Pod (`spec.nodeName`), controllers write
//! `status`, an autoscaler writes `spec.replicas` through `scale`, the
//! PersistentVolume controller binds a claim (`spec.volumeName`). A rule
//! requiring such a field passes on every live object, yet Kyverno in
//! Enforce judges the CREATE of the next one, which lacks it (walk46 F9:
//! `spec.nodeName: "?*"` was GO, and every new Pod would be denied). Our
//! own reading: Kyverno has no such question, its admission sees each
//! request as it comes.
//!
//! What a rule reads of the object: its patterns' keys (anchors taken
//! off; a foreach's under its list), and the paths its JMESPath and CEL
//! texts read ([`polscan_engine::reads`]). A read of a field or of
//! anything under it counts; a read of its parent whole does not
//! (`has(object.spec)` judges presence, `'x' in object.metadata.annotations`
//! one key): a rule judging the map whole by a field written later (its
//! size, its text) is not seen here.

use std::collections::BTreeMap;

use super::policy_info::{expression_texts, Code};
use polscan_engine::reads::{self, Step};
use polscan_engine::value_types::wildcard;
use polscan_engine::ValueExt;
use serde_json::Value;

/// One field written after creation.
struct WrittenLater {
    /// The kinds whose objects have it (`*`: every kind).
    kinds: &'static [&'static str],
    /// Its path in the object.
    path: &'static [&'static str],
    /// Who writes it, and what a CREATE carries instead.
    writer: &'static str,
}

/// Kinds an autoscaler scales through their scale subresource: the
/// built-in ones and Argo's Rollout (verify48 V48-16).
const SCALABLE: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "Rollout",
];

/// The fields, from the API server's own writes (registry strategies reset
/// `status` on a CREATE; `resourceVersion`, `generation` and
/// `managedFields` change with later writes) and the controllers every
/// cluster runs (kube-scheduler, kube-controller-manager). Not the
/// deletion fields: a rule reads them to skip what is being deleted, and a
/// CREATE, which lacks them, is judged as every live object the scan did
/// not skip (verify48 V48-3).
const WRITTEN_LATER: &[WrittenLater] = &[
    WrittenLater {
        kinds: &["*"],
        path: &["status"],
        writer: "its controllers write through the status subresource (a CREATE carries only what the API server sets at creation)",
    },
    WrittenLater {
        kinds: &["*"],
        path: &["metadata", "resourceVersion"],
        writer: "the API server sets on each write (a CREATE has none)",
    },
    WrittenLater {
        kinds: &["*"],
        path: &["metadata", "generation"],
        writer: "the API server raises on each change (a CREATE has 1)",
    },
    WrittenLater {
        kinds: &["*"],
        path: &["metadata", "managedFields"],
        writer: "the API server extends with each writer",
    },
    WrittenLater {
        kinds: &["Pod"],
        path: &["spec", "nodeName"],
        writer: "the scheduler sets through pods/binding (a CREATE has none)",
    },
    WrittenLater {
        kinds: SCALABLE,
        path: &["spec", "replicas"],
        writer: "a HorizontalPodAutoscaler or `kubectl scale` sets through the scale subresource (a CREATE carries the manifest's, else 1)",
    },
    WrittenLater {
        kinds: &["Deployment"],
        path: &["metadata", "annotations", "deployment.kubernetes.io/revision"],
        writer: "the Deployment controller sets",
    },
    WrittenLater {
        kinds: &["PersistentVolumeClaim"],
        path: &["spec", "volumeName"],
        writer: "the PersistentVolume controller sets when it binds the claim",
    },
    WrittenLater {
        kinds: &["PersistentVolumeClaim"],
        path: &["metadata", "annotations", "pv.kubernetes.io/bind-completed"],
        writer: "the PersistentVolume controller sets when it binds the claim",
    },
    WrittenLater {
        kinds: &["PersistentVolumeClaim"],
        path: &["metadata", "annotations", "pv.kubernetes.io/bound-by-controller"],
        writer: "the PersistentVolume controller sets when it binds the claim",
    },
    WrittenLater {
        kinds: &["PersistentVolumeClaim"],
        path: &["metadata", "annotations", "volume.kubernetes.io/storage-provisioner"],
        writer: "the PersistentVolume controller sets for dynamic provisioning",
    },
    WrittenLater {
        kinds: &["PersistentVolumeClaim"],
        path: &["metadata", "annotations", "volume.beta.kubernetes.io/storage-provisioner"],
        writer: "the PersistentVolume controller sets for dynamic provisioning",
    },
    WrittenLater {
        kinds: &["PersistentVolumeClaim"],
        path: &["metadata", "annotations", "volume.kubernetes.io/selected-node"],
        writer: "the scheduler sets for a WaitForFirstConsumer class",
    },
    WrittenLater {
        kinds: &["PersistentVolume"],
        path: &["spec", "claimRef"],
        writer: "the PersistentVolume controller sets when it binds a claim",
    },
    WrittenLater {
        kinds: &["PersistentVolume"],
        path: &["metadata", "annotations", "pv.kubernetes.io/bound-by-controller"],
        writer: "the PersistentVolume controller sets when it binds a claim",
    },
    // A Node registers itself (its CREATE, by the kubelet); the cloud
    // node controller, the IPAM and node lifecycle controllers fill in
    // the rest afterwards (verify48 V48-16).
    WrittenLater {
        kinds: &["Node"],
        path: &["metadata", "labels", "topology.kubernetes.io/zone"],
        writer: "the cloud node controller sets after the kubelet registers the node",
    },
    WrittenLater {
        kinds: &["Node"],
        path: &["metadata", "labels", "topology.kubernetes.io/region"],
        writer: "the cloud node controller sets after the kubelet registers the node",
    },
    WrittenLater {
        kinds: &["Node"],
        path: &["metadata", "labels", "node.kubernetes.io/instance-type"],
        writer: "the cloud node controller sets after the kubelet registers the node",
    },
    WrittenLater {
        kinds: &["Node"],
        path: &["spec", "providerID"],
        writer: "the cloud node controller sets after the kubelet registers the node",
    },
    WrittenLater {
        kinds: &["Node"],
        path: &["spec", "podCIDR"],
        writer: "the node IPAM controller sets after the node registers",
    },
    WrittenLater {
        kinds: &["Node"],
        path: &["spec", "podCIDRs"],
        writer: "the node IPAM controller sets after the node registers",
    },
    WrittenLater {
        kinds: &["Node"],
        path: &["spec", "taints"],
        writer: "the node lifecycle controller and the cloud provider change after the node registers",
    },
    WrittenLater {
        kinds: &["ServiceAccount"],
        path: &["secrets"],
        writer: "the token controller adds (Kubernetes before 1.24)",
    },
];

/// The parts of `admission_only` for the fields written after creation
/// that a policy's rules read ([module docs](self)): one per rule and
/// field, `CREATE requests for Pod (rule r reads spec.nodeName, which …)`.
/// `kind` is the policy document's kind; `kinds` a CEL policy's matched
/// kinds (a Kyverno rule's are read from its own `match`).
pub(crate) fn parts(kind: &str, spec: &Value, cel_kinds: &[String]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut report = |rule: &str, kinds: &[String], paths: &[Vec<Step>], text: &str| {
        for field in WRITTEN_LATER {
            let Some(kind) = kinds.iter().find(|k| field_kind(field, k)) else {
                continue;
            };
            let kind = if kind == "*" { "every kind" } else { kind };
            // What the API server's create strategy sets before validating
            // admission: a Pod's QoS class (immutable), a Pod's Pending and
            // a Namespace's Active phase are what a CREATE carries
            // (verify48 V48-20).
            let at_creation = |path: &Vec<Step>| {
                let named = |names: &[&str]| {
                    path.len() >= names.len()
                        && path
                            .iter()
                            .zip(names)
                            .all(|(step, name)| *step == Step::Field(name.to_string()))
                };
                (kind_is(kinds, "Pod") && named(&["status", "qosClass"]))
                    || (kind_is(kinds, "Namespace") && named(&["status", "phase"]))
            };
            if !paths
                .iter()
                .filter(|path| !at_creation(path))
                .any(|path| reaches(path, field, text))
            {
                continue;
            }
            let named = if rule.is_empty() {
                "the policy".to_string()
            } else {
                format!("rule {rule}")
            };
            let part = format!(
                "CREATE requests for {kind} ({named} reads {}, which {}: the scan sees it as others left it, Enforce judges each new object as its CREATE carries it — check the manifests with `polscan apply`)",
                field.path.join("."),
                field.writer
            );
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    };
    match kind {
        "ClusterPolicy" | "Policy" => {
            for rule in spec
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|rule| rule.get("validate").is_some())
            {
                let mut kinds = Vec::new();
                if let Some(matching) = rule.get("match") {
                    super::policy_info::collect_kinds(matching, &mut kinds);
                }
                let mut paths = Vec::new();
                if let Some(validate) = rule.get("validate") {
                    validate_paths(validate, &[], &mut paths);
                }
                for key in ["preconditions", "context"] {
                    if let Some(value) = rule.get(key) {
                        text_paths(value, false, &[], &mut paths);
                    }
                }
                // What an apiCall or service call sends out is read whole,
                // every field under it (kubecost's cost estimate of
                // `{{ request.object.spec }}` reads its replicas).
                for call in rule
                    .get("context")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|entry| entry.get("apiCall"))
                {
                    let mut sent = Vec::new();
                    text_paths(call, false, &[], &mut sent);
                    paths.extend(sent.into_iter().map(|mut path| {
                        path.extend([Step::Any, Step::Any, Step::Any, Step::Any]);
                        path
                    }));
                }
                // `validate.cel` and `celPreconditions`, which can read the
                // former's variables (verify45 F6).
                let cel = rule.pointer("/validate/cel");
                let expressions: Vec<&str> = cel
                    .and_then(|cel| cel.get("expressions"))
                    .into_iter()
                    .chain(rule.get("celPreconditions"))
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(|entry| entry.str_field("expression"))
                    .collect();
                cel_paths(
                    &expressions,
                    &named_expressions(cel.and_then(|c| c.get("variables"))),
                    &mut paths,
                );
                let mut judged = rule.clone();
                // Its text but for messages, which judge nothing.
                if let Some(validate) = judged.get_mut("validate") {
                    super::operation_tests::without_keys(validate, &["message"]);
                }
                report(
                    rule.str_field("name").unwrap_or_default(),
                    &kinds,
                    &paths,
                    &judged.to_string(),
                );
            }
        }
        _ => {
            let expressions: Vec<&str> = ["validations", "matchConditions"]
                .into_iter()
                .filter_map(|key| spec.get(key))
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|entry| entry.str_field("expression"))
                .collect();
            let mut paths = Vec::new();
            cel_paths(
                &expressions,
                &named_expressions(spec.get("variables")),
                &mut paths,
            );
            let variables = named_expressions(spec.get("variables"));
            let text: String = expressions
                .iter()
                .copied()
                .chain(variables.iter().map(|(_, expression)| *expression))
                .collect::<Vec<_>>()
                .join("\n");
            report("", cel_kinds, &paths, &text);
        }
    }
    parts
}

/// Whether the rule's kinds are `kind` alone.
fn kind_is(kinds: &[String], kind: &str) -> bool {
    !kinds.is_empty() && kinds.iter().all(|k| k == kind)
}

/// Whether a rule's kind selector (`Pod`, `*`, `Deploy*`) takes in the
/// field's kinds.
fn field_kind(field: &WrittenLater, selector: &str) -> bool {
    field
        .kinds
        .iter()
        .any(|kind| *kind == "*" || wildcard::matches(selector, kind))
}

/// Whether reading `path` of the object reads the field: the field or
/// under it, through any wildcard; or a parent of it (the object whole
/// too) read whole by a rule whose `text` names the field's key — a
/// context variable holding the spec, `lookup(request.object.spec,
/// 'nodeName')`, `cel.bind(s, object.spec, s.nodeName)` (verify48 V48-1,
/// V48-4). Not a parent read alone: `has(object.spec)` and
/// `'ownerReferences' in object.metadata` read a map but judge another
/// key. A pattern's wildcard key (`fluxcd.io/*`) reads the fields it
/// matches.
fn reaches(path: &[Step], field: &WrittenLater, text: &str) -> bool {
    // An annotation or label is read by its key or a pattern of keys: a CEL macro
    // over every key (`annotations.all(k, !k.startsWith('corp/'))`) is
    // any step, and judges keys, not this one's value (verify48 V48-19).
    let annotation = matches!(field.path.get(1), Some(&"annotations") | Some(&"labels"));
    let along = path
        .iter()
        .zip(field.path)
        .enumerate()
        .all(|(at, (step, name))| match step {
            Step::Any => !(annotation && at == 2),
            Step::Field(field) => wildcard::matches(field, name),
        });
    along
        && (path.len() >= field.path.len()
            || field.path.last().is_some_and(|key| text.contains(key)))
}

/// A `variables` list's `(name, expression)` pairs, in order.
fn named_expressions(variables: Option<&Value>) -> Vec<(&str, &str)> {
    variables
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v.str_field("name")?, v.str_field("expression")?)))
        .collect()
}

/// The object paths CEL `expressions` read beside their `variables`: a
/// read of `variables.x…` is what `x` reads, followed by the rest (so
/// `variables.spec.containers` with `spec: object.spec` reads the
/// containers, not the whole spec). A variable no expression uses judges
/// nothing.
fn cel_paths(expressions: &[&str], variables: &[(&str, &str)], paths: &mut Vec<Vec<Step>>) {
    let mut bound: BTreeMap<&str, Vec<Vec<Step>>> = BTreeMap::new();
    for (name, expression) in variables {
        let read = cel_object_paths(expression, &bound);
        bound.insert(name, read);
    }
    for expression in expressions {
        paths.extend(cel_object_paths(expression, &bound));
    }
}

/// [`cel_paths`] of one expression.
fn cel_object_paths(text: &str, bound: &BTreeMap<&str, Vec<Vec<Step>>>) -> Vec<Vec<Step>> {
    let Some(read) = reads::cel(text) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    let mut then = |reads: &[Vec<Step>], rest: &[Step]| {
        for path in reads {
            let mut path = path.clone();
            path.extend(rest.iter().cloned());
            paths.push(path);
        }
    };
    for path in read.paths() {
        match path {
            [Step::Field(root), rest @ ..] if root == "object" => then(&[Vec::new()], rest),
            [Step::Field(root), Step::Field(object), rest @ ..]
                if root == "request" && object == "object" =>
            {
                then(&[Vec::new()], rest)
            }
            [Step::Field(root), Step::Field(name), rest @ ..] if root == "variables" => {
                if let Some(reads) = bound.get(name.as_str()) {
                    then(reads, rest);
                }
            }
            [Step::Field(root), ..] if root == "variables" => {
                for reads in bound.values() {
                    then(reads, &[]);
                }
            }
            _ => {}
        }
    }
    paths
}

/// A Kyverno `validate` block's paths, each under `prefix` (a foreach
/// element's place in the object): pattern keys, texts, nested foreach.
fn validate_paths(validate: &Value, prefix: &[Step], paths: &mut Vec<Vec<Step>>) {
    let Some(map) = validate.as_object() else {
        return;
    };
    for (key, value) in map {
        match key.as_str() {
            "message" => {}
            "pattern" => pattern_paths(value, prefix.to_vec(), paths),
            "anyPattern" => value
                .as_array()
                .into_iter()
                .flatten()
                .for_each(|pattern| pattern_paths(pattern, prefix.to_vec(), paths)),
            "foreach" => {
                for each in value.as_array().into_iter().flatten() {
                    // Its element's place: what its list reads of the
                    // object (or of the outer element), then any element.
                    let list = each.str_field("list").unwrap_or_default();
                    let mut places = Vec::new();
                    jmespath_paths(list, prefix, &mut places);
                    paths.extend(places.iter().cloned());
                    for place in places {
                        let mut place = place;
                        place.push(Step::Any);
                        validate_paths(each, &place, paths);
                    }
                    // `elementScope: false`, or a list of scalars, applies
                    // its pattern to the resource whole (Kyverno's
                    // AddElementToContext: verify48 V48-8); which a list
                    // holds is not known here, so both are read.
                    validate_paths(each, prefix, paths);
                }
            }
            // Read with its variables by the caller.
            "cel" | "list" => {}
            _ => text_paths(value, false, prefix, paths),
        }
    }
}

/// A pattern's leaves as paths: anchors taken off (`=(spec)` is `spec`), a
/// list element or a substituted key any step; `{{…}}` in its values read. A
/// key with more under it is no read of its whole value: `spec:
/// containers:` reads the containers, not `spec.nodeName`.
fn pattern_paths(pattern: &Value, at: Vec<Step>, paths: &mut Vec<Vec<Step>>) {
    match pattern {
        Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                let name = unanchored(key);
                // A substituted key may be any; a wildcard one stays a
                // pattern, matched in `reaches`.
                let step = if name.contains("{{") {
                    Step::Any
                } else {
                    Step::Field(name.to_string())
                };
                let mut path = at.clone();
                path.push(step);
                pattern_paths(value, path, paths);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let mut path = at;
            path.push(Step::Any);
            for item in items {
                pattern_paths(item, path.clone(), paths);
            }
        }
        leaf => {
            text_paths(leaf, false, &[], paths);
            paths.push(at);
        }
    }
}

/// A pattern key without its anchor: `=(x)`, `X(x)`, `^(x)`, `+(x)`,
/// `<(x)`, `(x)`.
fn unanchored(key: &str) -> &str {
    let inner = key.strip_prefix(['=', 'X', '^', '+', '<']).unwrap_or(key);
    inner
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(key)
}

/// The object paths every JMESPath text under `value` reads
/// ([`expression_texts`]: `{{…}}` in plain strings, whole strings under
/// `jmesPath` and `list`, or `value` whole when `raw`).
fn text_paths(value: &Value, raw: bool, prefix: &[Step], paths: &mut Vec<Vec<Step>>) {
    for (text, code) in expression_texts(value, raw.then_some(Code::Jmespath)) {
        if code == Code::Jmespath {
            jmespath_paths(text, prefix, paths);
        }
    }
}

/// The object paths one JMESPath expression reads: `request.object.…`,
/// and `element.…` under `prefix` (a foreach's element). What does not
/// parse reads nothing here: the engine gives it an error, which a scan
/// shows.
fn jmespath_paths(text: &str, prefix: &[Step], paths: &mut Vec<Vec<Step>>) {
    let Some(read) = reads::jmespath(text) else {
        return;
    };
    for path in read.paths() {
        let under_object = match path {
            [Step::Field(root), Step::Field(object), rest @ ..]
                if root == "request" && object == "object" =>
            {
                Some(rest.to_vec())
            }
            [Step::Field(root), rest @ ..] if root == "element" && !prefix.is_empty() => {
                let mut path = prefix.to_vec();
                path.extend(rest.iter().cloned());
                Some(path)
            }
            _ => None,
        };
        if let Some(path) = under_object {
            paths.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kyverno(kinds: &[&str], validate: Value) -> Vec<String> {
        let spec = json!({"rules": [{"name": "r",
            "match": {"any": [{"resources": {"kinds": kinds}}]},
            "validate": validate}]});
        parts("ClusterPolicy", &spec, &[])
    }

    fn cel(kinds: &[&str], variables: Value, expression: &str) -> Vec<String> {
        let spec = json!({"variables": variables,
            "validations": [{"expression": expression}]});
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        parts("ValidatingPolicy", &spec, &kinds)
    }

    #[test]
    fn a_pattern_requiring_a_field_the_scheduler_writes_is_named() {
        let found = kyverno(&["Pod"], json!({"pattern": {"spec": {"nodeName": "?*"}}}));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "CREATE requests for Pod (rule r reads spec.nodeName, which the scheduler"
            ),
            "{found:?}"
        );
        // Anchored, under a conditional: the same field.
        let anchored = kyverno(
            &["Pod"],
            json!({"pattern": {"=(spec)": {"X(nodeName)": "null"}}}),
        );
        assert_eq!(anchored.len(), 1, "{anchored:?}");
        // The same field of another kind is the manifest's own.
        assert!(kyverno(
            &["Service"],
            json!({"pattern": {"spec": {"nodeName": "?*"}}})
        )
        .is_empty());
    }

    #[test]
    fn a_pattern_over_other_fields_is_not_named() {
        let found = kyverno(
            &["Pod"],
            json!({"pattern": {"metadata": {"labels": {"app": "?*"}},
                               "spec": {"containers": [{"image": "!*:latest"}]}}}),
        );
        assert!(
            found.is_empty(),
            "a key with more under it reads no other field: {found:?}"
        );
    }

    #[test]
    fn status_replicas_and_controller_annotations_are_named_for_their_kinds() {
        let status = kyverno(
            &["*"],
            json!({"deny": {"conditions": {"any": [
            {"key": "{{ request.object.status.phase }}", "operator": "Equals", "value": "Failed"}]}}}),
        );
        assert_eq!(status.len(), 1, "{status:?}");
        assert!(
            status[0].starts_with("CREATE requests for every kind (rule r reads status"),
            "{status:?}"
        );
        let replicas = kyverno(
            &["apps/v1/Deployment"],
            json!({"pattern": {"spec": {"replicas": ">1"}}}),
        );
        assert!(replicas[0].contains("spec.replicas"), "{replicas:?}");
        assert!(kyverno(
            &["ConfigMap"],
            json!({"pattern": {"spec": {"replicas": ">1"}}})
        )
        .is_empty());
        // A wildcard key matches the annotation it names…
        let revision = kyverno(
            &["Deployment"],
            json!({"pattern": {"metadata": {"annotations": {"deployment.kubernetes.io/*": "?*"}}}}),
        );
        assert_eq!(revision.len(), 1, "{revision:?}");
        // …and not one it does not.
        assert!(kyverno(
            &["Deployment"],
            json!({"pattern": {"metadata": {"annotations": {"X(fluxcd.io/*)": "null"}}}})
        )
        .is_empty());
    }

    #[test]
    fn metadata_and_annotation_maps_read_whole_are_not_named() {
        assert!(cel(&["Pod"], json!([]), "'ownerReferences' in object.metadata").is_empty());
        assert!(cel(
            &["Deployment"],
            json!([]),
            "'team' in object.metadata.annotations"
        )
        .is_empty());
        let revision = cel(
            &["Deployment"],
            json!([]),
            "object.metadata.annotations['deployment.kubernetes.io/revision'] != ''",
        );
        assert_eq!(revision.len(), 1, "{revision:?}");
        assert!(
            revision[0].contains(
                "the policy reads metadata.annotations.deployment.kubernetes.io/revision"
            ),
            "{revision:?}"
        );
    }

    #[test]
    fn cel_variables_are_read_through() {
        let spec_var = json!([{"name": "spec", "expression": "object.spec"}]);
        assert!(cel(
            &["Pod"],
            spec_var.clone(),
            "variables.spec.containers.all(c, has(c.image))"
        )
        .is_empty());
        let node = cel(&["Pod"], spec_var.clone(), "has(variables.spec.nodeName)");
        assert_eq!(node.len(), 1, "{node:?}");
        // The spec whole is no reading of its nodeName (`has(object.spec)`).
        assert!(cel(&["Pod"], spec_var, "variables.spec != null").is_empty());
        // A variable no expression uses judges nothing.
        let unused = json!([{"name": "s", "expression": "object.status"}]);
        assert!(cel(&["Pod"], unused, "true").is_empty());
    }

    #[test]
    fn foreach_elements_are_read_under_their_list() {
        let found = kyverno(
            &["Pod"],
            json!({"foreach": [{"list": "request.object.spec.containers",
            "deny": {"conditions": {"any": [{"key": "{{ element.image }}", "operator": "Equals", "value": "x"}]}}}]}),
        );
        assert!(found.is_empty(), "{found:?}");
        let status = kyverno(
            &["Pod"],
            json!({"foreach": [{"list": "request.object.status.containerStatuses",
            "pattern": {"ready": true}}]}),
        );
        assert_eq!(status.len(), 1, "{status:?}");
    }

    /// verify48 V48-1, V48-4, V48-8: a context variable holding the spec,
    /// `lookup`, `cel.bind` and a foreach pattern applied to the whole
    /// resource reach the field too.
    #[test]
    fn fields_read_through_variables_functions_and_whole_scope_are_named() {
        let deny = |key: &str| json!({"deny": {"conditions": {"any": [{"key": key, "operator": "Equals", "value": ""}]}}});
        let spec = json!({"rules": [{"name": "r",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "context": [{"name": "spec", "variable": {"jmesPath": "request.object.spec"}}],
            "validate": deny("{{ spec.nodeName || '' }}")}]});
        assert_eq!(parts("ClusterPolicy", &spec, &[]).len(), 1);
        let lookup = kyverno(
            &["Pod"],
            deny("{{ lookup(request.object.spec, 'nodeName') || '' }}"),
        );
        assert_eq!(lookup.len(), 1, "{lookup:?}");
        let bind = cel(
            &["Pod"],
            json!([]),
            "cel.bind(s, object.spec, has(s.nodeName))",
        );
        assert_eq!(bind.len(), 1, "{bind:?}");
        let whole = kyverno(
            &["Pod"],
            json!({"foreach": [{"list": "request.object.spec.containers",
            "elementScope": false, "pattern": {"spec": {"nodeName": "?*"}}}]}),
        );
        assert_eq!(whole.len(), 1, "{whole:?}");
        let scalars = kyverno(
            &["Pod"],
            json!({"foreach": [{"list": "request.object.spec.containers[].name",
            "pattern": {"spec": {"nodeName": "?*"}}}]}),
        );
        assert_eq!(scalars.len(), 1, "{scalars:?}");
        // Sent whole to an apiCall: every field under it.
        let sent = json!({"rules": [{"name": "r",
            "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
            "context": [{"name": "cost", "apiCall": {"method": "POST", "urlPath": "/estimate",
                "data": [{"key": "spec", "value": "{{ request.object.spec }}"}]}}],
            "validate": deny("{{ cost }}")}]});
        let found = parts("ClusterPolicy", &sent, &[]);
        assert!(
            found.iter().any(|p| p.contains("spec.replicas")),
            "{found:?}"
        );
        // A spec read whole by a rule that names no such field: nothing.
        assert!(kyverno(
            &["Pod"],
            deny("{{ length(request.object.spec.containers) }}")
        )
        .is_empty());
        // Skipping what is being deleted is no reading (verify48 V48-3).
        assert!(kyverno(
            &["Pod"],
            deny("{{ request.object.metadata.deletionTimestamp || '' }}")
        )
        .is_empty());
    }

    /// verify48 V48-19, V48-20: keys judged by a macro over every
    /// annotation, and what a CREATE carries in status, are no reading.
    #[test]
    fn key_macros_and_creation_status_are_not_named() {
        assert!(cel(
            &["Deployment"],
            json!([]),
            "!has(object.metadata.annotations) || object.metadata.annotations.all(k, !k.startsWith('corp/'))"
        )
        .is_empty());
        assert!(kyverno(
            &["Pod"],
            json!({"pattern": {"status": {"qosClass": "Guaranteed"}}})
        )
        .is_empty());
        // verify48 V48-16: a Node's zone label, an Argo Rollout's replicas.
        let zone = kyverno(
            &["Node"],
            json!({"pattern": {"metadata": {"labels": {"topology.kubernetes.io/zone": "?*"}}}}),
        );
        assert_eq!(zone.len(), 1, "{zone:?}");
        let rollout = kyverno(
            &["Rollout"],
            json!({"pattern": {"spec": {"replicas": ">1"}}}),
        );
        assert_eq!(rollout.len(), 1, "{rollout:?}");
        assert_eq!(
            kyverno(
                &["Pod"],
                json!({"pattern": {"status": {"phase": "Running"}}})
            )
            .len(),
            1
        );
    }

    #[test]
    fn cel_preconditions_read_the_rules_variables() {
        let spec = json!({"rules": [{"name": "r",
            "match": {"any": [{"resources": {"kinds": ["PersistentVolumeClaim"]}}]},
            "celPreconditions": [{"name": "bound", "expression": "variables.v != ''"}],
            "validate": {"cel": {"variables": [{"name": "v", "expression": "object.spec.volumeName"}],
                                 "expressions": [{"expression": "true"}]}}}]});
        let found = parts("ClusterPolicy", &spec, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("spec.volumeName"), "{found:?}");
    }
}
