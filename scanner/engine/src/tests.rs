//! End-to-end engine tests: whole policies against whole resources, checking
//! statuses and Kyverno's messages for each validate form.

use serde_json::{json, Value};

use super::*;

fn policy(rules: Value) -> Policy {
    Policy::from_document(&json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "test-policy"},
        "spec": {"validationFailureAction": "Audit", "rules": rules}
    }))
    .expect("valid policy")
}

fn pod(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": name}}, "spec": spec})
}

fn results(policy: Policy, resource: &Value) -> Vec<(String, RuleStatus, String)> {
    results_of(
        &Engine::new(vec![policy], EngineOptions::default()),
        resource,
    )
}

fn statuses(policy: Policy, resource: &Value) -> Vec<(String, RuleStatus)> {
    results(policy, resource)
        .into_iter()
        .map(|(r, s, _)| (r, s))
        .collect()
}

fn latest_tag_policy() -> Policy {
    policy(json!([{
        "name": "no-latest",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"message": "An image tag other than latest is required.",
            "pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}
    }]))
}

#[test]
fn pattern_pass_and_fail_with_kyverno_messages() {
    let good = pod(
        "good",
        json!({"containers": [{"name": "c", "image": "nginx:1.25"}]}),
    );
    let bad = pod(
        "bad",
        json!({"containers": [{"name": "c", "image": "nginx:latest"}]}),
    );
    let pass = results(latest_tag_policy(), &good);
    assert_eq!(pass[0].1, RuleStatus::Pass);
    assert_eq!(pass[0].2, "validation rule 'no-latest' passed.");
    let fail = results(latest_tag_policy(), &bad);
    assert_eq!(fail[0].1, RuleStatus::Fail);
    assert_eq!(
        fail[0].2,
        "validation error: An image tag other than latest is required. rule no-latest failed at path /spec/containers/0/image/"
    );
}

#[test]
fn autogen_applies_pod_rules_to_controllers() {
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}});
    assert_eq!(
        statuses(latest_tag_policy(), &deployment),
        vec![("autogen-no-latest".into(), RuleStatus::Fail)]
    );
    let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "cj", "namespace": "default"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}}}});
    assert_eq!(
        statuses(latest_tag_policy(), &cronjob),
        vec![("autogen-cronjob-no-latest".into(), RuleStatus::Pass)]
    );
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}});
    assert!(statuses(latest_tag_policy(), &service).is_empty());
}

#[test]
fn deny_conditions_with_variables() {
    let p = policy(json!([{
        "name": "no-host-network",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"message": "Pod {{ request.object.metadata.name }} uses the host network.",
            "deny": {"conditions": {"any": [
                {"key": "{{ request.object.spec.hostNetwork || `false` }}", "operator": "Equals", "value": true}
            ]}}}
    }]));
    let host = pod("h", json!({"hostNetwork": true, "containers": []}));
    let plain = pod("p", json!({"containers": []}));
    let fail = results(p.clone(), &host);
    assert_eq!(fail[0].1, RuleStatus::Fail);
    assert_eq!(fail[0].2, "Pod h uses the host network.");
    assert_eq!(results(p, &plain)[0].1, RuleStatus::Pass);
}

#[test]
fn preconditions_skip_and_unresolved_variables_error() {
    let p = policy(json!([{
        "name": "only-web",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "preconditions": {"all": [{"key": "{{ request.object.metadata.labels.app }}", "operator": "Equals", "value": "web"}]},
        "validate": {"pattern": {"spec": {"containers": [{"name": "?*"}]}}}
    }]));
    let other = pod("other", json!({"containers": [{"name": "c"}]}));
    let outcome = results(p.clone(), &other);
    assert_eq!(outcome[0].1, RuleStatus::Skip);
    assert!(
        outcome[0].2.starts_with("preconditions not met"),
        "{}",
        outcome[0].2
    );
    let mut unlabeled = pod("x", json!({"containers": [{"name": "c"}]}));
    unlabeled["metadata"]["labels"] = json!({});
    assert_eq!(results(p, &unlabeled)[0].1, RuleStatus::Error);
}

#[test]
fn foreach_deny_over_containers() {
    let p = policy(json!([{
        "name": "no-privileged",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"message": "Privileged containers are not allowed.", "foreach": [{
            "list": "request.object.spec.[initContainers, containers][]",
            "deny": {"conditions": {"any": [{"key": "{{ element.securityContext.privileged || `false` }}", "operator": "Equals", "value": true}]}}
        }]}
    }]));
    let bad = pod(
        "b",
        json!({"containers": [{"name": "a"}, {"name": "b", "securityContext": {"privileged": true}}]}),
    );
    let good = pod("g", json!({"containers": [{"name": "a"}]}));
    let fail = results(p.clone(), &bad);
    assert_eq!(fail[0].1, RuleStatus::Fail);
    assert_eq!(
        fail[0].2,
        "validation failure: Privileged containers are not allowed."
    );
    assert_eq!(results(p.clone(), &good)[0].1, RuleStatus::Pass);
    // An empty list applies to nothing: the rule is a skip, "rule
    // skipped", as Kyverno's validateForEach gives (applyCount 0).
    let empty = pod("e", json!({"containers": []}));
    let skipped = results(p, &empty);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(
        (skipped[0].1, skipped[0].2.as_str()),
        (RuleStatus::Skip, "rule skipped")
    );
}

/// walk28 F8: every element skipped by the loop's preconditions gave no
/// result at all (apply then warned that the match met nothing, and the
/// evidence called the policy "no evidence" for ever); Kyverno reports
/// the rule as a skip.
#[test]
fn foreach_whose_elements_all_skip_is_a_skip() {
    let p = policy(json!([{
        "name": "latest-needs-always",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"message": "pull :latest always", "foreach": [{
            "list": "request.object.spec.containers",
            "preconditions": {"all": [{"key": "{{ element.image }}", "operator": "Equals", "value": "*:latest"}]},
            "deny": {"conditions": {"any": [{"key": "{{ element.imagePullPolicy || '' }}", "operator": "NotEquals", "value": "Always"}]}}
        }]}
    }]));
    let pinned = pod(
        "p",
        json!({"containers": [{"name": "a", "image": "nginx:1.25"}, {"name": "b", "image": "redis:7"}]}),
    );
    let outcome = results(p.clone(), &pinned);
    assert_eq!(outcome.len(), 1, "{outcome:?}");
    assert_eq!(
        (outcome[0].1, outcome[0].2.as_str()),
        (RuleStatus::Skip, "rule skipped")
    );
    let latest = pod(
        "l",
        json!({"containers": [{"name": "a", "image": "nginx:latest"}]}),
    );
    assert_eq!(results(p, &latest)[0].1, RuleStatus::Fail);
}

#[test]
fn foreach_pattern_is_scoped_to_the_element() {
    let p = policy(json!([{
        "name": "limits",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"foreach": [{"list": "request.object.spec.containers",
            "pattern": {"resources": {"limits": {"memory": "?*"}}}}]}
    }]));
    let bad = pod(
        "b",
        json!({"containers": [{"name": "a", "resources": {"limits": {"memory": "1Gi"}}}, {"name": "b"}]}),
    );
    assert_eq!(results(p, &bad)[0].1, RuleStatus::Fail);
}

#[test]
fn any_pattern_passes_on_one_match() {
    let p = policy(json!([{
        "name": "run-as-non-root",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"message": "runAsNonRoot must be true.", "anyPattern": [
            {"spec": {"securityContext": {"runAsNonRoot": true}}},
            {"spec": {"containers": [{"securityContext": {"runAsNonRoot": true}}]}}
        ]}
    }]));
    let pod_level = pod(
        "a",
        json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "c"}]}),
    );
    let none = pod("b", json!({"containers": [{"name": "c"}]}));
    let pass = results(p.clone(), &pod_level);
    assert_eq!(pass[0].1, RuleStatus::Pass);
    assert_eq!(
        pass[0].2,
        "validation rule 'run-as-non-root' anyPattern[0] passed."
    );
    let fail = results(p, &none);
    assert_eq!(fail[0].1, RuleStatus::Fail);
    assert!(
        fail[0].2.starts_with(
            "validation error: runAsNonRoot must be true. rule run-as-non-root[0] failed at path"
        ),
        "{}",
        fail[0].2
    );
}

#[test]
fn context_variables_feed_conditions() {
    let p = policy(json!([{
        "name": "replicas",
        "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
        "context": [{"name": "minimum", "variable": {"value": 2}}],
        "validate": {"message": "at least {{ minimum }} replicas", "deny": {"conditions": {"all": [
            {"key": "{{ request.object.spec.replicas }}", "operator": "LessThan", "value": "{{ minimum }}"}
        ]}}}
    }]));
    let one = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"}, "spec": {"replicas": 1}});
    let outcome = results(p, &one);
    assert_eq!(outcome[0].1, RuleStatus::Fail);
    assert_eq!(outcome[0].2, "at least 2 replicas");
}

#[test]
fn scans_match_a_kind_in_every_served_version_as_admission_does() {
    let p = latest_tag_policy();
    // A CronJob as a 1.20 server serves it; autogen names batch/v1/CronJob.
    let cronjob = json!({"apiVersion": "batch/v1beta1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "default"},
        "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "nginx:latest"}]}}}}}});
    let strict = Engine::new(vec![p.clone()], EngineOptions::default());
    let rules: Vec<String> = strict
        .evaluate(&cronjob, &Environment::default())
        .into_iter()
        .flat_map(|r| r.rules)
        .map(|r| r.rule)
        .collect();
    assert!(
        rules.is_empty(),
        "the CLI's semantics pin versions: {rules:?}"
    );
    let scan = Engine::new(
        vec![p],
        EngineOptions {
            background_only: true,
            equivalent_versions: true,
            ..EngineOptions::default()
        },
    );
    let results: Vec<(String, RuleStatus)> = scan
        .evaluate(&cronjob, &Environment::default())
        .into_iter()
        .flat_map(|r| r.rules)
        .map(|r| (r.rule, r.status))
        .collect();
    assert_eq!(
        results,
        vec![("autogen-cronjob-no-latest".to_string(), RuleStatus::Fail)]
    );
}

#[test]
fn background_false_policies_are_skipped_in_audit_mode() {
    let mut doc = json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "admission-only"},
        "spec": {"background": false, "rules": [{"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"pattern": {"metadata": {"name": "?*"}}}}]}
    });
    let p = Policy::from_document(&doc).expect("policy");
    let resource = pod("p", json!({"containers": []}));
    let audit = Engine::new(
        vec![p.clone()],
        EngineOptions {
            background_only: true,
            ..EngineOptions::default()
        },
    );
    assert!(audit
        .evaluate(&resource, &Environment::default())
        .is_empty());
    let admission = Engine::new(vec![p], EngineOptions::default());
    assert_eq!(
        admission.evaluate(&resource, &Environment::default()).len(),
        1
    );
    doc["spec"]["background"] = json!(true);
}

#[test]
fn namespace_selector_uses_supplied_labels() {
    let p = policy(json!([{
        "name": "prod-only",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "prod"}}}}]},
        "validate": {"pattern": {"metadata": {"labels": {"app": "?*"}}}}
    }]));
    let engine = Engine::new(vec![p], EngineOptions::default());
    let resource = pod("p", json!({"containers": []}));
    let mut env = Environment::default();
    assert!(engine.evaluate(&resource, &env)[0].rules.is_empty());
    env.namespace_labels.insert(
        "default".into(),
        [("env".to_string(), "prod".to_string())].into(),
    );
    assert_eq!(
        engine.evaluate(&resource, &env)[0].rules[0].status,
        RuleStatus::Pass
    );
}

#[test]
fn rule_failure_action_overrides_policy_action() {
    let p = policy(json!([{
        "name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"failureAction": "Enforce", "pattern": {"metadata": {"name": "?*"}}}
    }]));
    let engine = Engine::new(vec![p], EngineOptions::default());
    let response = engine.evaluate(&pod("p", json!({})), &Environment::default());
    assert_eq!(response[0].rules[0].action, "Enforce");
}

#[test]
fn action_overrides_resolve_per_namespace_as_kyverno_does() {
    let p = Policy::from_document(&json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "labels"},
        "spec": {
            "validationFailureAction": "audit",
            "validationFailureActionOverrides": [
                {"action": "Enforce", "namespaces": ["web", "prod-*"]},
                {"action": "Enforce", "namespaceSelector": {"matchLabels": {"tier": "critical"}}}
            ],
            "rules": [
                {"name": "spec-level", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                 "validate": {"pattern": {"metadata": {"labels": {"team": "?*"}}}}},
                {"name": "rule-level", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                 "validate": {"failureAction": "Enforce",
                    "failureActionOverrides": [{"action": "Audit", "namespaces": ["sandbox"]}],
                    "pattern": {"metadata": {"name": "?*"}}}}
            ]
        }
    }))
    .expect("policy");
    let engine = Engine::new(vec![p], EngineOptions::default());
    let mut env = Environment::default();
    env.namespace_labels.insert(
        "payments".into(),
        BTreeMap::from([("tier".to_string(), "critical".to_string())]),
    );
    let actions = |namespace: &str| -> Vec<(String, String)> {
        let mut resource = pod("p", json!({}));
        resource["metadata"]["namespace"] = json!(namespace);
        engine
            .evaluate(&resource, &env)
            .into_iter()
            .flat_map(|r| r.rules)
            .map(|r| (r.rule, r.action))
            .collect()
    };
    let pair = |a: &str, b: &str| {
        vec![
            ("spec-level".into(), a.into()),
            ("rule-level".into(), b.into()),
        ]
    };
    assert_eq!(actions("web"), pair("Enforce", "Enforce"));
    assert_eq!(actions("prod-eu"), pair("Enforce", "Enforce"));
    assert_eq!(actions("payments"), pair("Enforce", "Enforce"));
    assert_eq!(actions("data"), pair("Audit", "Enforce"));
    assert_eq!(actions("sandbox"), pair("Audit", "Audit"));
}

#[test]
fn resource_annotations_except_a_policy_until_their_expiry() {
    let mut excepted = pod(
        "web",
        json!({"containers": [{"name": "c", "image": "nginx:latest"}]}),
    );
    excepted["metadata"]["annotations"] = json!({
        "polscan.io/exception": "test-policy",
        "polscan.io/exception-reason": "vendor image, ticket SEC-7",
        "polscan.io/exception-expires": "2030-01-01",
    });
    let engine = Engine::new(vec![latest_tag_policy()], EngineOptions::default());
    let at = |when: &str| Environment {
        now: chrono::DateTime::parse_from_rfc3339(when)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc)),
        ..Environment::default()
    };
    let before: Vec<RuleStatus> = engine
        .evaluate(&excepted, &at("2029-06-01T00:00:00Z"))
        .into_iter()
        .flat_map(|r| r.rules)
        .map(|r| r.status)
        .collect();
    assert_eq!(before, vec![RuleStatus::Skip]);
    let after: Vec<RuleStatus> = engine
        .evaluate(&excepted, &at("2030-06-01T00:00:00Z"))
        .into_iter()
        .flat_map(|r| r.rules)
        .map(|r| r.status)
        .collect();
    assert_eq!(after, vec![RuleStatus::Fail, RuleStatus::Warn]);
}

/// The CEL inputs the engine builds for a rule context no values change
/// are those `validate.cel` reads from the base context it would build.
#[test]
fn plain_cel_inputs_are_what_the_base_context_gives() {
    let policy = policy(json!([]));
    let engine = Engine::new(Vec::new(), EngineOptions::default());
    let resources = [
        pod("web", json!({"containers": []})),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "admin"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "n"}}),
    ];
    let requester = RequestInfo {
        username: "system:serviceaccount:ns:sa".into(),
        groups: vec!["g".into()],
        roles: vec!["ns:r".into()],
        cluster_roles: vec!["cr".into()],
    };
    for resource in &resources {
        let prepared = Prepared {
            resource,
            reference: ResourceRef::from_resource(resource),
            identity: ResourceIdentity::from_resource(resource),
            images: crate::value_types::images::images_variable(resource),
            cel_scopes: cel::ScopeCache::default(),
            json_context: std::cell::RefCell::new(None),
        };
        for requester in [None, Some(requester.clone())] {
            let env = Environment {
                requester,
                ..Environment::default()
            };
            for operation in ["CREATE", "UPDATE", "DELETE", "CONNECT"] {
                let values = serde_json::Map::from_iter([(
                    "request.operation".to_string(),
                    json!(operation),
                )]);
                let base = engine.base_context(&policy, &prepared, operation, &values, &env);
                let scopes = cel::ScopeCache::default();
                let from_context = cel::rule::scope_from_context(base.entry("request"), &scopes);
                assert_eq!(
                    &engine.plain_cel_inputs(&prepared, operation, &env),
                    from_context.inputs(),
                    "{operation} {resource}"
                );
            }
        }
    }
}

#[test]
fn a_resource_ref_is_named_in_reports_by_its_object_reference() {
    let pod = ResourceRef {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: "shop".into(),
        name: "web".into(),
        uid: "u-1".into(),
    };
    assert_eq!(pod.gvk(), kinds::GroupVersionKind::gvk("", "v1", "Pod"));
    assert_eq!(
        report_model::ObjectReference::from(&pod),
        report_model::ObjectReference::namespaced("v1", "Pod", "shop", "web").with_uid("u-1")
    );
    // Cluster-scoped and from a file: no namespace, no uid on the wire.
    let node = ResourceRef {
        api_version: "v1".into(),
        kind: "Node".into(),
        namespace: String::new(),
        name: "n1".into(),
        uid: String::new(),
    };
    assert_eq!(
        report_model::ObjectReference::from(&node),
        report_model::ObjectReference::cluster_scoped("v1", "Node", "n1")
    );
}

/// A panic inside one policy's evaluation is that policy's `error` result
/// on that resource, with the panic's message; the scan goes on.
#[test]
fn a_panic_in_one_policy_is_its_error_result() {
    let policy = policy(json!([]));
    let meta = Arc::new(policy.meta());
    let resource = ResourceRef::from_resource(&pod("web", json!({})));
    let response = guarded(&meta, &resource, || panic!("index out of bounds: 1"));
    assert_eq!(response.resource, resource);
    assert_eq!(response.rules.len(), 1);
    let rule = &response.rules[0];
    assert_eq!(rule.status, RuleStatus::Error);
    assert!(rule.message.starts_with(INTERNAL_ERROR), "{}", rule.message);
    assert!(
        rule.message.contains("index out of bounds: 1"),
        "{}",
        rule.message
    );
    let fine = guarded(&meta, &resource, || {
        PolicyResponse::new(meta.clone(), resource.clone(), Vec::new())
    });
    assert!(fine.rules.is_empty());
}

/// Substitution evaluates again a `{{ … }}` it produced: a Secret whose
/// `type` (or annotation) holds one put the reversed password in a
/// message reading only `type` (self39). On a Secret holding one every
/// built message is withheld; on one holding none, `type` keeps its text.
#[test]
fn a_variable_in_a_secret_s_own_text_cannot_reach_its_data() {
    let policy = policy(json!([{
        "name": "type",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "validate": {
            "message": "Secret {{ request.object.metadata.name }} has type {{ request.object.type }}",
            "deny": {"conditions": {"any": [
                {"key": "{{ request.object.type }}", "operator": "NotEquals", "value": "Opaque"}]}}
        }
    }]));
    let engine = Engine::new(vec![policy], EngineOptions::default());
    let message = |secret_type: &str| -> (RuleStatus, String) {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": secret_type,
            "metadata": {"name": "db", "namespace": "default"},
            "data": {"password": "SHVudGVyMlh5bG9waG9uZTk5MzE="}});
        let rules: Vec<RuleResult> = engine
            .evaluate(&secret, &Environment::default())
            .into_iter()
            .flat_map(|r| r.rules)
            .collect();
        (rules[0].status, rules[0].message.clone())
    };
    let (status, injected) = message("{{ reverse(base64_decode(request.object.data.password)) }}");
    assert_eq!(status, RuleStatus::Fail);
    assert_eq!(injected, redaction::DERIVED_TEXT);
    assert_eq!(
        message("kubernetes.io/tls"),
        (
            RuleStatus::Fail,
            "Secret db has type kubernetes.io/tls".to_string()
        )
    );
}

/// verify39 F1, F3: a text substitution made that holds `{{` is
/// substituted again — a string a context variable builds from literals,
/// a ConfigMap value — whatever the rule's text reads: on a Secret the
/// message is withheld; a rule whose text substitutes nothing so keeps its
/// own.
#[test]
fn a_variable_built_by_a_substitution_cannot_reach_a_secret_s_data() {
    let policy = policy(json!([{
        "name": "built",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "context": [{"name": "t", "variable": {"jmesPath":
            "join('', ['{', '{ reverse(base64_decode(request.object.data.password)) }', '}'])"}}],
        "validate": {"message": "x {{ t }}", "deny": {}}
    }, {
        "name": "plain",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "context": [{"name": "t", "variable": {"jmesPath": "join('', ['a', 'b'])"}}],
        "validate": {"message": "x {{ t }}", "deny": {}}
    }]));
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "data": {"password": "SHVudGVyMlh5bG9waG9uZTk5MzE="}});
    let engine = Engine::new(vec![policy], EngineOptions::default());
    let rules: Vec<RuleResult> = engine
        .evaluate(&secret, &Environment::default())
        .into_iter()
        .flat_map(|r| r.rules)
        .collect();
    assert_eq!(rules.len(), 2);
    assert!(rules[0].resubstituted && !rules[1].resubstituted);
    assert_eq!(
        rules[0]
            .properties
            .get(crate::RESUBSTITUTED_PROPERTY)
            .map(String::as_str),
        Some("true")
    );
    assert!(!rules[1]
        .properties
        .contains_key(crate::RESUBSTITUTED_PROPERTY));
    assert_eq!(rules[0].message, redaction::DERIVED_TEXT);
    assert!(rules[1].message.contains("x ab"), "{}", rules[1].message);
}

/// A policy on Secrets whose message interpolates `request.object.data`:
/// the message is withheld whole (the policy builds it from the data);
/// one reading only metadata that happens to hold a value (a label copied
/// from it) loses the value in place. (The value shares no word with the
/// message: `password` in both would withhold it whole, as a part of the
/// value.)
#[test]
fn a_secret_s_values_never_reach_a_message() {
    let policy = policy(json!([{
        "name": "echo-data",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "validate": {
            "message": "data {{ request.object.data }} password {{ base64_decode(request.object.data.password) }}",
            "deny": {}
        }
    }, {
        "name": "echo-labels",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "validate": {"message": "labels {{ request.object.metadata.labels }}", "deny": {}}
    }]));
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default", "labels": {"copy": "hunter2-Zq81xy"}},
        "data": {"password": "aHVudGVyMi1acTgxeHk="}});
    let engine = Engine::new(vec![policy], EngineOptions::default());
    let rules: Vec<RuleResult> = engine
        .evaluate(&secret, &Environment::default())
        .into_iter()
        .flat_map(|r| r.rules)
        .collect();
    assert_eq!(rules.len(), 2);
    let rule = &rules[0];
    assert_eq!(rule.status, RuleStatus::Fail);
    assert_eq!(rule.message, redaction::DERIVED_TEXT);
    let labels = &rules[1];
    assert!(
        !labels.message.contains("hunter2-Zq81xy"),
        "{}",
        labels.message
    );
    assert!(
        labels.message.contains(redaction::REDACTED_TEXT),
        "{}",
        labels.message
    );
    assert_eq!(
        labels
            .properties
            .get(redaction::REDACTED_PROPERTY)
            .map(String::as_str),
        Some(redaction::REDACTED_VALUE)
    );
    assert_eq!(
        rule.properties
            .get(redaction::REDACTED_PROPERTY)
            .map(String::as_str),
        Some(redaction::REDACTED_VALUE)
    );
    // A result on a Secret that held no value says it was checked.
    let plain = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"}, "data": {}});
    let rules: Vec<RuleResult> = engine
        .evaluate(&plain, &Environment::default())
        .into_iter()
        .flat_map(|r| r.rules)
        .collect();
    assert_eq!(
        rules[1]
            .properties
            .get(redaction::REDACTED_PROPERTY)
            .map(String::as_str),
        Some(redaction::CHECKED_VALUE)
    );
}

/// Answers every apiCall with one object, for lookup tests.
struct OneAnswer(Value);

impl ClusterData for OneAnswer {
    fn config_map(&self, _namespace: &str, _name: &str) -> Option<Value> {
        None
    }
    fn api_call(&self, _request: &context::ApiCallRequest) -> Result<Option<Value>, String> {
        Ok(Some(self.0.clone()))
    }
}

/// A Secret an apiCall read for a Pod's rule stays out of that Pod's
/// result: a message built from it is withheld whole, whatever the policy
/// made of the value (reversed, it was not recognised); a lookup of
/// something else, or a value that reaches a message another way, is
/// searched for as before.
#[test]
fn a_secret_read_by_an_api_call_never_reaches_a_message() {
    let policy = policy(json!([{
        "name": "peek",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "context": [{"name": "s", "apiCall": {"urlPath": "/api/v1/namespaces/default/secrets/db"}}],
        "validate": {"message": "token {{ reverse(base64_decode(s.data.token)) }}", "deny": {}}
    }, {
        "name": "echo",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "context": [{"name": "s", "apiCall": {"urlPath": "/api/v1/namespaces/default/secrets/db"}}],
        "validate": {"message": "label {{ request.object.metadata.labels.copy }}", "deny": {}}
    }]));
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "data": {"token": "c2VjcmV0LXRva2Vu"}});
    let engine = Engine::new(vec![policy], EngineOptions::default())
        .with_cluster_data(Arc::new(OneAnswer(secret)));
    let mut web = pod("web", json!({}));
    web["metadata"]["labels"]["copy"] = json!("secret-token");
    let mut results = results_of(&engine, &web);
    let (_, status, message) = results.remove(0);
    assert_eq!(status, RuleStatus::Fail);
    assert!(!message.contains("nekot-terces"), "{message}");
    assert_eq!(message, redaction::DERIVED_TEXT);
    let (_, _, message) = results.remove(0);
    assert_eq!(message, format!("label {}", redaction::REDACTED_TEXT));
}

/// A Secret evaluated after a lookup returned another: the values of both
/// leave its message (each in a matcher of its own since red22 F19), and
/// the note is set once, not itself redacted (the looked-up Secret's
/// value "secret data" is the note's text).
#[test]
fn a_secret_s_own_values_and_those_a_lookup_returned_both_leave() {
    let policy = policy(json!([{
        "name": "peek",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "context": [{"name": "s", "apiCall": {"urlPath": "/api/v1/namespaces/default/secrets/db"}}],
        "validate": {"message": "own {{ request.object.stringData.pw }} seen {{ base64_decode(s.data.token) }} {{ s.data.note }}", "deny": {}}
    }]));
    let looked_up = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "data": {"token": "c2VjcmV0LXRva2Vu", "note": "c2VjcmV0IGRhdGE="}});
    let engine = Engine::new(vec![policy], EngineOptions::default())
        .with_cluster_data(Arc::new(OneAnswer(looked_up)));
    let evaluated = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "app", "namespace": "default"},
        "stringData": {"pw": "own-password-1"}});
    let rules: Vec<RuleResult> = engine
        .evaluate(&evaluated, &Environment::default())
        .into_iter()
        .flat_map(|r| r.rules)
        .collect();
    let message = &rules[0].message;
    assert!(
        !message.contains("own-password") && !message.contains("secret-token"),
        "{message}"
    );
    assert_eq!(
        rules[0]
            .properties
            .get(redaction::REDACTED_PROPERTY)
            .map(String::as_str),
        Some(redaction::REDACTED_VALUE)
    );
}

/// walk25 F4: a part of a Secret's value (14 of 16 characters, through
/// `substring`) reached the report. A text holding 6 consecutive
/// characters of a value of the Secret evaluated is withheld whole;
/// shorter parts and texts holding none stay.
#[test]
fn a_part_of_a_secret_s_value_withholds_the_message() {
    let rule = |message: &str| {
        policy(json!([{
            "name": "peek",
            "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
            "validate": {"message": message, "deny": {}}
        }]))
    };
    // The label holds the password as the policy cannot know: a message
    // reading the data itself is withheld whole before any search.
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "default",
            "labels": {"copy": "S3cr3tValue-Zq81"}},
        "data": {"password": "UzNjcjN0VmFsdWUtWnE4MQ=="}});
    let message_of = |message: &str| {
        let engine = Engine::new(vec![rule(message)], EngineOptions::default());
        let rules: Vec<RuleResult> = engine
            .evaluate(&secret, &Environment::default())
            .into_iter()
            .flat_map(|r| r.rules)
            .collect();
        (
            rules[0].message.clone(),
            rules[0]
                .properties
                .get(redaction::REDACTED_PROPERTY)
                .cloned(),
        )
    };
    // `truncate` of the value: its first 10 characters.
    let (message, note) =
        message_of("rev={{ truncate(request.object.metadata.labels.copy, `10`) }}");
    assert_eq!(message, redaction::FRAGMENT_TEXT, "{message}");
    assert_eq!(note.as_deref(), Some(redaction::REDACTED_VALUE));
    // In another letter case, too.
    let (message, _) =
        message_of("rev={{ to_upper(truncate(request.object.metadata.labels.copy, `8`)) }}");
    assert_eq!(message, redaction::FRAGMENT_TEXT, "{message}");
    // 5 characters are no fragment; a message without any stays whole.
    let (message, _) = message_of("rev={{ truncate(request.object.metadata.labels.copy, `5`) }}");
    assert_eq!(message, "rev=S3cr3", "{message}");
    // Read from the data, any part is withheld (it was 14 of 16
    // characters through `substring`, walk25 F4).
    let (message, note) =
        message_of("rev={{ truncate(base64_decode(request.object.data.password), `3`) }}");
    assert_eq!(message, redaction::DERIVED_TEXT, "{message}");
    assert_eq!(note.as_deref(), Some(redaction::REDACTED_VALUE));
    let (message, note) = message_of("Secret {{ request.object.metadata.name }} is checked");
    assert_eq!(message, "Secret db-creds is checked");
    assert_eq!(note.as_deref(), Some(redaction::CHECKED_VALUE));
}

/// verify28 item 16: a policy that transforms a Secret's value past
/// recognition (`reverse`, a `split`/`join`, CEL's `reverse()` through a
/// variable) put the whole password in the report. A text a policy builds
/// from the Secret's data is withheld whole, for every policy kind; one
/// built from its metadata stays.
#[test]
fn a_text_built_from_a_secret_s_data_is_withheld_whatever_the_policy_made_of_it() {
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "default"},
        "data": {"password": "UzNjcjN0VmFsdWUtWnE4MQ=="}});
    let kinds = json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
        "operations": ["CREATE"], "resources": ["secrets"]}]});
    let documents = vec![
        json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "kyverno"},
            "spec": {"rules": [
                {"name": "reversed",
                 "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
                 "context": [{"name": "pw", "variable": {"jmesPath": "base64_decode(request.object.data.password)"}}],
                 "validate": {"message": "rev={{ reverse(pw) }}", "deny": {}}},
                {"name": "spread",
                 "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
                 "validate": {"message": "{{ join(' ', split(base64_decode(request.object.data.password), '')) }}", "deny": {}},
                 "reportProperties": {"owner": "{{ request.object.metadata.name }}",
                                      "hint": "{{ reverse(request.object.data.password) }}"}},
                {"name": "named",
                 "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
                 "validate": {"message": "Secret {{ request.object.metadata.name }} is checked", "deny": {}}}]}}),
        json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
            "metadata": {"name": "cel"},
            "spec": {"validationActions": ["Audit"], "matchConstraints": kinds,
                "variables": [{"name": "pw", "expression": "string(base64.decode(object.data.password))"}],
                "validations": [{"expression": "false",
                    "messageExpression": "'rev=' + variables.pw.reverse()"}]}}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "vap"},
            "spec": {"matchConstraints": kinds,
                "validations": [{"expression": "false",
                    "messageExpression": "'Secret ' + object.metadata.name + ' is refused'"}],
                // Kubernetes' base environment has no base64 (ext.Encoders).
                "auditAnnotations": [{"key": "copy",
                    "valueExpression": "object.data.password.lowerAscii()"}]}}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "vap"},
            "spec": {"policyName": "vap", "validationActions": ["Audit"]}}),
    ];
    let (engine, problems) = Engine::from_documents(&documents, EngineOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    let results: Vec<(String, RuleResult)> = engine
        .evaluate(&secret, &Environment::default())
        .into_iter()
        .flat_map(|r| {
            let policy = r.policy.name.clone();
            r.rules.into_iter().map(move |rule| (policy.clone(), rule))
        })
        .collect();
    let find = |policy: &str, rule: &str| {
        results
            .iter()
            .find(|(p, r)| p == policy && (rule.is_empty() || r.rule == rule))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no result of {policy}/{rule}: {results:?}"))
    };
    let everything = format!("{results:?}");
    for leak in [
        "1qZ-eulaVt3rc3S",
        "S 3 c r 3 t",
        "S3cr3tValue",
        "uznjcjn0vmfsdwutwne4mq",
    ] {
        assert!(!everything.contains(leak), "{leak} in {everything}");
    }
    for (policy, rule) in [("kyverno", "reversed"), ("kyverno", "spread"), ("cel", "")] {
        let result = find(policy, rule);
        assert_eq!(result.status, RuleStatus::Fail, "{policy}/{rule}");
        assert_eq!(result.message, redaction::DERIVED_TEXT, "{policy}/{rule}");
        assert_eq!(
            result
                .properties
                .get(redaction::REDACTED_PROPERTY)
                .map(String::as_str),
            Some(redaction::REDACTED_VALUE)
        );
    }
    let spread = find("kyverno", "spread");
    assert_ne!(spread.properties["owner"], redaction::DERIVED_TEXT);
    assert_eq!(spread.properties["hint"], redaction::DERIVED_TEXT);
    let named = find("kyverno", "named");
    assert_eq!(named.message, "Secret db-creds is checked");
    let vap = find("vap", "");
    assert_eq!(vap.message, "Secret db-creds is refused");
    assert_eq!(vap.properties["copy"], redaction::DERIVED_TEXT);
}

/// Answers params: a Secret for `paramKind` Secret, a ConfigMap for
/// ConfigMap.
struct ParamsAnswer;

impl ClusterData for ParamsAnswer {
    fn config_map(&self, _namespace: &str, _name: &str) -> Option<Value> {
        None
    }
    fn api_call(&self, _request: &context::ApiCallRequest) -> Result<Option<Value>, String> {
        Ok(None)
    }
    fn params(
        &self,
        _api_version: &str,
        kind: &str,
        namespace: &str,
        name: Option<&str>,
        _selector: Option<&crate::label_selector::LabelSelector>,
    ) -> Result<Vec<Value>, String> {
        let metadata = json!({"name": name.unwrap_or("p"), "namespace": namespace});
        Ok(match kind {
            "Secret" => vec![
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": metadata,
                "data": {"password": "UzNjcjN0VmFsdWUtWnE4MQ=="}}),
            ],
            "ConfigMap" => vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata,
                "data": {"password": "bm90LWEtc2VjcmV0"}}),
            ],
            _ => Vec::new(),
        })
    }
}

/// verify31 F1: a CEL policy whose `paramKind` is Secret (a ClusterPolicy's
/// `validate.cel`, a ValidatingAdmissionPolicy) built its messages and
/// errors from the Secret the scan read as its params: the spaced-out
/// password reached a ConfigMap's report. A text built from such params
/// is withheld whole, on any resource; one built from ConfigMap params
/// stays.
#[test]
fn a_text_built_from_secret_params_is_withheld() {
    // In Kubernetes' base environment: no base64 (ext.Encoders), no
    // string reverse (ext.Strings v3).
    let reversed = "params.data.password.lowerAscii()";
    let kinds = json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
        "operations": ["CREATE"], "resources": ["configmaps"]}]});
    let vap = |name: &str, param_kind: &str, expression: &str| {
        vec![
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                "metadata": {"name": name},
                "spec": {"matchConstraints": kinds, "paramKind": {"apiVersion": "v1", "kind": param_kind},
                    "validations": [{"expression": expression,
                        "messageExpression": format!("'pw ' + {reversed}")}]}}),
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": {"name": name},
                "spec": {"policyName": name, "validationActions": ["Audit"],
                    "paramRef": {"name": "db", "namespace": "default"}}}),
        ]
    };
    let mut documents = vec![
        json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "kyverno"},
        "spec": {"rules": [{"name": "param",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "validate": {"cel": {
                "paramKind": {"apiVersion": "v1", "kind": "Secret"},
                "paramRef": {"name": "db", "namespace": "default", "parameterNotFoundAction": "Deny"},
                "expressions": [{"expression": "false", "messageExpression": format!("'pw ' + {reversed}")}]}}}]}}),
    ];
    // verify32: a validate.cel expression, or a variable, that fails to
    // evaluate is reported as a fail quoting the error.
    let kyverno_cel = |name: &str, cel: Value| {
        json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": name},
            "spec": {"rules": [{"name": "param",
                "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
                "validate": {"cel": cel}}]}})
    };
    let params = json!({"paramKind": {"apiVersion": "v1", "kind": "Secret"},
        "paramRef": {"name": "db", "namespace": "default", "parameterNotFoundAction": "Deny"}});
    let mut expression_error = params.clone();
    expression_error["expressions"] =
        json!([{"expression": format!("{{'a': 1}}[{reversed}] == 1"), "message": "static"}]);
    documents.push(kyverno_cel("kyverno-error", expression_error));
    let mut variable_error = params.clone();
    variable_error["variables"] =
        json!([{"name": "x", "expression": format!("{{'a': 1}}[{reversed}]")}]);
    variable_error["expressions"] =
        json!([{"expression": "variables.x == 1", "message": "static"}]);
    documents.push(kyverno_cel("kyverno-variable", variable_error));
    documents.extend(vap("vap", "Secret", "false"));
    // An error quoting what the expression made of the password.
    documents.extend(vap(
        "vap-error",
        "Secret",
        &format!("{{'a': 1}}[{reversed}] == 1"),
    ));
    documents.extend(vap("vap-config", "ConfigMap", "false"));
    let (engine, problems) = Engine::from_documents(&documents, EngineOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    let engine = engine.with_cluster_data(Arc::new(ParamsAnswer));
    let settings = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default"}, "data": {"a": "b"}});
    let results: Vec<(String, RuleResult)> = engine
        .evaluate(&settings, &Environment::default())
        .into_iter()
        .flat_map(|r| {
            let policy = r.policy.name.clone();
            r.rules.into_iter().map(move |rule| (policy.clone(), rule))
        })
        .collect();
    let everything = format!("{results:?}");
    assert!(
        !everything.contains("uznjcjn0vmfsdwutwne4mq"),
        "{everything}"
    );
    let find = |policy: &str| {
        results
            .iter()
            .find(|(p, _)| p == policy)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no result of {policy}: {results:?}"))
    };
    for (policy, status) in [
        ("kyverno", RuleStatus::Fail),
        ("kyverno-error", RuleStatus::Fail),
        ("kyverno-variable", RuleStatus::Fail),
        ("vap", RuleStatus::Fail),
        ("vap-error", RuleStatus::Error),
    ] {
        let result = find(policy);
        assert_eq!(result.status, status, "{policy}: {result:?}");
        assert_eq!(result.message, redaction::DERIVED_TEXT, "{policy}");
    }
    let config = find("vap-config");
    assert_eq!(config.message, "pw bm90lwetc2vjcmv0");
}

fn results_of(engine: &Engine, resource: &Value) -> Vec<(String, RuleStatus, String)> {
    engine
        .evaluate(resource, &Environment::default())
        .into_iter()
        .flat_map(|r| r.rules)
        .map(|r| (r.rule, r.status, r.message))
        .collect()
}

/// A namespaced Policy reads only its own namespace, as Kyverno confines
/// it at run time (pkg/engine/apicall/apiCall.go `Fetch`,
/// pkg/engine/context/loaders/configmap.go `fetchConfigMap`): an apiCall to
/// another namespace's ConfigMap or to ClusterRoleBindings, and a configMap
/// entry of another namespace, are error results naming why; nothing is
/// asked of the cluster.
#[test]
fn a_namespaced_policy_reads_only_its_own_namespace() {
    let namespaced = |context: Value| {
        Policy::from_document(&json!({
            "apiVersion": "kyverno.io/v1", "kind": "Policy",
            "metadata": {"name": "peek", "namespace": "a"},
            "spec": {"validationFailureAction": "Audit", "rules": [{
                "name": "peek",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "context": [context],
                "validate": {"message": "saw {{ x.data.k }}", "deny": {"conditions": {"any": [
                    {"key": "{{ x.data.k }}", "operator": "NotEquals", "value": ""}
                ]}}}
            }]}
        }))
        .expect("valid policy")
    };
    let answer =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "other-namespace-data"}});
    let mut pod = pod("web", json!({}));
    pod["metadata"]["namespace"] = json!("a");
    let cases = [
        (
            json!({"name": "x", "apiCall": {"urlPath": "/api/v1/namespaces/b/configmaps/cm"}}),
            "path /api/v1/namespaces/b/configmaps/cm refers to namespace b, which is different from the policy namespace a",
        ),
        (
            json!({"name": "x", "apiCall": {"urlPath": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"}}),
            "path /apis/rbac.authorization.k8s.io/v1/clusterrolebindings does not contain a namespace segment, which is required for namespaced policies",
        ),
        (
            json!({"name": "x", "configMap": {"name": "cm", "namespace": "b"}}),
            "configMap namespace \"b\" is different from policy namespace \"a\"",
        ),
    ];
    for (context, reason) in cases {
        let engine = Engine::new(vec![namespaced(context)], EngineOptions::default())
            .with_cluster_data(Arc::new(OneAnswer(answer.clone())));
        let (_, status, message) = results_of(&engine, &pod).remove(0);
        assert_eq!(status, RuleStatus::Error, "{reason}: {message}");
        assert!(message.contains(reason), "{message}");
        assert!(!message.contains("other-namespace-data"), "{message}");
    }
    // Its own namespace is read.
    let engine = Engine::new(
        vec![namespaced(
            json!({"name": "x", "apiCall": {"urlPath": "/api/v1/namespaces/a/configmaps/cm"}}),
        )],
        EngineOptions::default(),
    )
    .with_cluster_data(Arc::new(OneAnswer(answer)));
    let (_, status, message) = results_of(&engine, &pod).remove(0);
    assert_eq!(
        (status, message.as_str()),
        (RuleStatus::Fail, "saw other-namespace-data")
    );
}

/// A rule message whose substitution fails keeps Kyverno's status (a deny
/// rule fails, pkg/engine/handlers/validation/validate_resource.go
/// `getDenyMessage`), but its result says why the message is missing
/// instead of carrying none; a failed pattern's message names the reason
/// too.
#[test]
fn a_message_that_cannot_be_substituted_says_why() {
    let cases = [
        ("{{ modulo(`5`, `0`) }}", "Zero divisor"),
        ("{{ regex_match('(', 'x') }}", "regex"),
        ("{{ time_parse('x', 'garbage') }}", "garbage"),
    ];
    let outcome = |validate: Value| {
        let p = policy(json!([{
            "name": "bad-message",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": validate
        }]));
        results(p, &pod("web", json!({}))).remove(0)
    };
    for (message, reason) in cases {
        // The deny form, then the pattern form, each with the words its text
        // must hold besides the reason.
        let forms = [
            (
                json!({"message": message, "deny": {}}),
                "rule bad-message failed; its message could not be substituted",
            ),
            (
                json!({"message": message, "pattern": {"metadata": {"labels": {"team": "?*"}}}}),
                "variables substitution error in rule bad-message",
            ),
        ];
        for (validate, marker) in forms {
            let (_, status, text) = outcome(validate);
            assert_eq!(status, RuleStatus::Fail, "{message}: {text}");
            assert!(text.contains(marker), "{message}: {text}");
            let lower = text.to_lowercase();
            assert!(lower.contains(&reason.to_lowercase()), "{message}: {text}");
        }
    }
}

/// hunt27 F5: foreach loops nested three deep over 1000 elements were 10^9
/// evaluations (hours); past 10^6 elements, nested ones included, the rule
/// is an error. Two loops of 100 still pass.
#[test]
fn nested_foreach_elements_are_bounded() {
    let nested = |size: usize, depth: usize| {
        let list = format!("`[{}]`", vec!["1"; size].join(","));
        let mut inner = json!({"list": list, "deny": {"conditions": {"any": [{"key": "{{ element }}", "operator": "Equals", "value": 0}]}}});
        for _ in 1..depth {
            inner = json!({"list": list, "foreach": [inner]});
        }
        policy(json!([{
            "name": "nested",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"message": "m", "foreach": [inner]}
        }]))
    };
    let p = pod("p", json!({"containers": [{"name": "a"}]}));
    let started = std::time::Instant::now();
    let bounded = results(nested(1001, 2), &p);
    assert_eq!(bounded[0].1, RuleStatus::Error, "{bounded:?}");
    assert!(
        bounded[0].2.contains("more than 1000000 elements"),
        "{bounded:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(120));
    assert_eq!(results(nested(100, 2), &p)[0].1, RuleStatus::Pass);
    // The count is per rule evaluation: the same rule again passes too.
    assert_eq!(results(nested(100, 2), &p)[0].1, RuleStatus::Pass);
}

/// verify44 E: Kyverno compiles a `validate.cel` rule's `celPreconditions`
/// in Kubernetes' base environment with its variables, so a Kyverno-only
/// function there does not compile; Kubernetes' matcher then denies
/// (failure policy Fail), which Kyverno reports as a fail
/// (validate_cel.go). A precondition not met still skips.
#[test]
fn a_cel_precondition_that_cannot_compile_or_run_fails_the_rule() {
    let rule = |precondition: &str| {
        policy(json!([{
            "name": "r",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "celPreconditions": [{"name": "p", "expression": precondition}],
            "validate": {"cel": {"expressions": [{"expression": "true"}]}}
        }]))
    };
    let web = pod(
        "web",
        json!({"containers": [{"name": "c", "image": "nginx:1.27"}]}),
    );
    for precondition in [
        "image('nginx').registry() == 'docker.io'",
        "parseServiceAccount('system:serviceaccount:a:b').Name == 'b'",
        "object.spec.missing == 1",
    ] {
        let found = results(rule(precondition), &web);
        assert_eq!(found.len(), 1, "{precondition}: {found:?}");
        assert_eq!(found[0].1, RuleStatus::Fail, "{precondition}: {found:?}");
    }
    assert_eq!(
        statuses(rule("object.metadata.name == 'other'"), &web),
        [("r".to_string(), RuleStatus::Skip)]
    );
    // verify45 F1: a false condition skips, whatever errors another gave.
    let two = |first: &str, second: &str| {
        policy(json!([{
            "name": "r",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "celPreconditions": [{"name": "a", "expression": first}, {"name": "b", "expression": second}],
            "validate": {"cel": {"expressions": [{"expression": "true"}]}}
        }]))
    };
    for (first, second) in [
        (
            "object.metadata.labels['tier'] == 'web'",
            "object.metadata.namespace == 'prod'",
        ),
        (
            "object.metadata.namespace == 'prod'",
            "object.metadata.labels['tier'] == 'web'",
        ),
    ] {
        assert_eq!(
            statuses(two(first, second), &web),
            [("r".to_string(), RuleStatus::Skip)],
            "{first} / {second}"
        );
    }
    assert_eq!(
        statuses(two("object.metadata.labels['tier'] == 'web'", "true"), &web),
        [("r".to_string(), RuleStatus::Fail)]
    );
    // verify45 F6: a precondition reads the rule's validate.cel variables.
    let with_variable = |precondition: &str| {
        policy(json!([{
            "name": "r",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "celPreconditions": [{"name": "p", "expression": precondition}],
            "validate": {"cel": {
                "variables": [{"name": "isweb", "expression": "object.metadata.name == 'web'"}],
                "expressions": [{"expression": "variables.isweb"}]}}
        }]))
    };
    assert_eq!(
        statuses(with_variable("!variables.isweb"), &web),
        [("r".to_string(), RuleStatus::Skip)]
    );
    assert_eq!(
        statuses(with_variable("variables.isweb"), &web),
        [("r".to_string(), RuleStatus::Pass)]
    );
    assert_eq!(
        statuses(rule("object.metadata.name == 'web'"), &web),
        [("r".to_string(), RuleStatus::Pass)]
    );
}

/// verify46 F4: a ValidatingAdmissionPolicy's matchConditions read its
/// variables (Kubernetes compiles them on the composited compiler that
/// holds them); under `failurePolicy: Ignore` the "no such key" error had
/// skipped the resource, read as clean. A ValidatingPolicy's conditions
/// do not see them (Kyverno's compiler).
#[test]
fn a_vap_s_match_conditions_read_its_variables() {
    let kinds = json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}]});
    let documents = vec![
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "vars-vap"},
            "spec": {"failurePolicy": "Ignore", "matchConstraints": kinds,
                "variables": [{"name": "critical", "expression": "object.metadata.name.startsWith('x')"}],
                "matchConditions": [{"name": "m", "expression": "object.metadata.name == 'y' || variables.critical"}],
                "validations": [{"expression": "has(object.metadata.labels) && 'team' in object.metadata.labels"}]}}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "vars-vap"},
            "spec": {"policyName": "vars-vap", "validationActions": ["Audit"]}}),
    ];
    let (engine, problems) = Engine::from_documents(&documents, EngineOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    let config_map = |name: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}})
    };
    let status = |name: &str| {
        results_of(&engine, &config_map(name))
            .into_iter()
            .map(|(_, status, _)| status)
            .collect::<Vec<_>>()
    };
    assert_eq!(status("x1"), [RuleStatus::Fail]);
    assert_eq!(status("other"), [RuleStatus::Skip]);
}

/// secret56 S56-1, S56-2: a pattern whose value or key a template builds
/// from the Secret's data (or a Secret a lookup returned) has its fail
/// and skip messages quote it (`failed at path /data/<value>/`, an
/// anchor mismatch quoting the value): withheld whole; a pattern reading
/// no data keeps the engine's own words.
#[test]
fn a_pattern_built_from_secret_data_is_not_quoted() {
    let reversed = "{{ reverse(base64_decode(request.object.data.password)) }}";
    let on_secret = policy(json!([{
        "name": "anchor",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "validate": {"message": "static", "pattern": {"metadata": {"(name)": reversed}}}
    }, {
        "name": "key",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "validate": {"message": "static", "pattern": {"data": {reversed: "?*"}}}
    }, {
        "name": "plain",
        "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
        "validate": {"message": "static", "pattern": {"metadata": {"labels": {"team": "?*"}}}}
    }]));
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "data": {"password": "S3g5dkxtUTJwVA=="}});
    let engine = Engine::new(vec![on_secret], EngineOptions::default());
    let results = results_of(&engine, &secret);
    for (rule, status, message) in &results {
        assert!(!message.contains("Tp2QmLv9xK"), "{rule}: {message}");
        if rule != "plain" {
            assert_ne!(*status, RuleStatus::Pass, "{rule}");
            assert_eq!(message, redaction::DERIVED_TEXT, "{rule}");
        }
    }
    let plain = results
        .iter()
        .find(|(rule, _, _)| rule == "plain")
        .expect("plain");
    assert!(plain.2.contains("/metadata/labels/"), "{}", plain.2);
    // S56-2: the same through a Secret an apiCall returned, on a Pod.
    let looking_up = policy(json!([{
        "name": "looked-up",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "context": [{"name": "s", "apiCall": {"urlPath": "/api/v1/namespaces/default/secrets/db"}}],
        "validate": {"message": "static", "pattern": {"metadata": {"(name)": "{{ reverse(base64_decode(s.data.password)) }}"}}}
    }]));
    let engine = Engine::new(vec![looking_up], EngineOptions::default())
        .with_cluster_data(Arc::new(OneAnswer(secret)));
    let results = results_of(&engine, &pod("web", json!({})));
    let (_, status, message) = &results[0];
    assert_ne!(*status, RuleStatus::Pass);
    assert!(!message.contains("Tp2QmLv9xK"), "{message}");
    assert_eq!(message, redaction::DERIVED_TEXT);
}

/// secret56 S56-4: a long value of one repeated byte (base64 of zero
/// bytes) is searched for as any other — a text holding it is withheld —
/// and its automaton is built in linear time (a DFA's build was
/// quadratic: this Secret took hours).
#[test]
fn a_long_repetitive_secret_value_is_found_and_does_not_stall() {
    use base64::Engine as _;
    let value = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 300_000]);
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "blob", "namespace": "default"},
        "data": {"blob.bin": value}});
    let values = redaction::SecretValues::of_secret(&secret);
    let text = format!("copy: {value}");
    assert_eq!(
        values.redact_text(&text).as_deref(),
        Some(redaction::WITHHELD_TEXT)
    );
    assert_eq!(values.redact_text("nothing here"), None);
}
