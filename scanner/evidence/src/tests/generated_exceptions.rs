//! The PolicyExceptions the evidence writes for violators excused only by
//! an annotation: one per top owner, where each policy family's engine
//! reads them, saying what they match.

use super::*;

#[test]
fn a_violator_excused_only_by_an_annotation_is_not_ready_and_gets_a_policy_exception() {
    let evidence = build(&input(
        vec![report(vec![
            annotation_skipped("two", "a", "legacy", "fail"),
            rule_result("two", "b", "pass", "legacy"),
            // Excused while it passes anyway: nothing Kyverno would reject.
            annotation_skipped("clean", "check", "fine", "pass"),
        ])],
        vec![
            two_rule_policy("two", "Audit", None),
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let two = find(&evidence, "two");
    assert_eq!(two.verdict, Verdict::NotReady);
    assert!(
        two.reasons
            .iter()
            .any(|r| r.contains("a/Pod/legacy") && r.contains("exceptions/a-pod-legacy.yaml")),
        "{:?}",
        two.reasons
    );
    assert_eq!(two.rule_evidence[0].verdict, Verdict::NotReady);
    assert_eq!(
        two.rule_evidence[1].verdict,
        Verdict::Ready,
        "only rule a is excused"
    );
    assert_eq!(find(&evidence, "clean").verdict, Verdict::Ready);

    assert_eq!(evidence.generated_exceptions.len(), 1);
    let generated = &evidence.generated_exceptions[0];
    assert_eq!(generated.file, "exceptions/a-pod-legacy.yaml");
    let document = &generated.document;
    assert_eq!(document["apiVersion"], "kyverno.io/v2");
    assert_eq!(document["kind"], "PolicyException");
    assert_eq!(document["metadata"]["namespace"], "a");
    assert_eq!(
        document["spec"]["exceptions"],
        json!([{"policyName": "two", "ruleNames": ["a"]}]),
        "a Pod no controller owns: no autogen variant can apply"
    );
    assert_eq!(
        document["spec"]["match"],
        json!({"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["a"], "names": ["legacy"]}}]})
    );
    let annotations = &document["metadata"]["annotations"];
    assert_eq!(annotations["polscan.io/exception-owner"], "team-b");
    assert_eq!(
        annotations["polscan.io/exception-reason"],
        "vendor image, INC-42"
    );
    assert_eq!(annotations["polscan.io/exception-expires"], "2027-03-01");
    // polscan's own PolicyException reader sees what the annotation said.
    let read_back = policy_exceptions(
        std::slice::from_ref(document),
        &[],
        at("2026-11-22T00:00:00Z"),
        Duration::days(14),
    );
    assert_eq!(read_back[0].owner.as_deref(), Some("team-b"));
    assert_eq!(read_back[0].policies, ["two/a"]);
    let exception = evidence
        .exceptions
        .iter()
        .find(|e| e.name == "a/Pod/legacy")
        .expect("the annotation exception");
    assert_eq!(
        exception.policy_exception_file.as_deref(),
        Some("exceptions/a-pod-legacy.yaml")
    );
    assert_eq!(exception.excused_violations, 1);
    // The Exceptions table shows the file as code (walk34: `\`` escaped).
    let page = crate::output::markdown::render(&evidence);
    assert!(
        page.contains("(Kyverno ignores it: apply `exceptions/a-pod-legacy.yaml`)"),
        "{page}"
    );

    // The package holds the file, listed in the MANIFEST and verified.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pkg");
    package::write(&out, &evidence, false).expect("written");
    let file = std::fs::read_to_string(out.join("exceptions/a-pod-legacy.yaml")).expect("file");
    let parsed: Value = serde_yaml::from_str(&file).expect("yaml");
    assert_eq!(&parsed, document);
    let manifest = std::fs::read_to_string(out.join(package::MANIFEST)).expect("manifest");
    assert!(
        manifest.contains("  exceptions/a-pod-legacy.yaml\n"),
        "{manifest}"
    );
    let verified = package::verify(&out).expect("verify");
    assert!(verified.ok(), "{:?}", verified.problems);
    std::fs::write(out.join("exceptions/a-pod-legacy.yaml"), "changed").expect("tamper");
    assert!(!package::verify(&out).expect("verify").ok());
    std::fs::remove_file(out.join("exceptions/a-pod-legacy.yaml")).expect("remove");
    assert!(
        !package::verify(&out).expect("verify").ok(),
        "a removed file is caught"
    );
    assert!(markdown::render(&evidence).contains("exceptions/a-pod-legacy.yaml"));
    assert!(html::render(&evidence).contains("data-file=\"exceptions/a-pod-legacy.yaml\""));
}

#[test]
fn a_generated_policy_exception_goes_where_kyverno_reads_them_and_says_what_it_matches() {
    let reports = vec![report(vec![annotation_skipped(
        "two", "a", "legacy", "fail",
    )])];
    let policies = vec![two_rule_policy("two", "Audit", None)];
    // The scan modelled Kyverno's --exceptionNamespace=kyverno: the file
    // goes there, its match still names the resource's namespace.
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(applied_in("kyverno")),
    ));
    let generated = &evidence.generated_exceptions[0];
    assert_eq!(generated.document["metadata"]["namespace"], "kyverno");
    // Gathered away from its owner, its name says the owner's namespace.
    assert_eq!(
        generated.document["metadata"]["name"],
        "polscan-a-pod-legacy"
    );
    assert_eq!(
        generated.document["spec"]["match"]["any"][0]["resources"]["namespaces"],
        json!(["a"])
    );
    assert_eq!(generated.matches, ["Pod a/legacy"]);
    assert!(generated.existing_not_applied.is_none());
    assert!(markdown::render(&evidence).contains("matches Pod a/legacy"));
    // '*' names no one namespace: the owner's.
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(applied_in("*")),
    ));
    assert_eq!(
        evidence.generated_exceptions[0].document["metadata"]["namespace"],
        "a"
    );
    // Applied already, but the scan (as Kyverno by default) reads none:
    // applying the file again would change nothing, and that is said.
    let mut applied = policies.clone();
    applied.push(evidence.generated_exceptions[0].document.clone());
    let mut disabled = scan(true, &[]);
    disabled.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
    let evidence = build(&input(reports, applied, Some(disabled)));
    let why = evidence.generated_exceptions[0]
        .existing_not_applied
        .as_deref()
        .expect("the existing exception is named");
    assert!(
        why.starts_with("PolicyException a/polscan-pod-legacy exists but is not applied"),
        "{why}"
    );
}

#[test]
fn owners_of_one_name_in_two_namespaces_get_two_policy_exceptions_in_one_namespace() {
    let in_b = {
        let mut r = annotation_skipped("two", "a", "legacy", "fail");
        r["resources"][0]["namespace"] = json!("b");
        r
    };
    let reports = vec![
        report(vec![annotation_skipped("two", "a", "legacy", "fail")]),
        report(vec![in_b]),
    ];
    let policies = vec![two_rule_policy("two", "Audit", None)];
    let evidence = build(&input(reports, policies, Some(applied_in("kyverno"))));
    let names: BTreeSet<(String, String)> = evidence
        .generated_exceptions
        .iter()
        .map(|g| {
            (
                g.document["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                g.document["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            ("kyverno".to_string(), "polscan-a-pod-legacy".to_string()),
            ("kyverno".to_string(), "polscan-b-pod-legacy".to_string()),
        ]),
        "applying both files must keep both bypasses"
    );
}

#[test]
fn one_policy_exception_per_top_owner_covers_what_it_creates() {
    // Without the Deployment's selector (as from files).
    let mut input = annotated_web_deployment();
    input.owner_selectors.clear();
    let owner = ObjectName {
        kind: "Deployment".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    let evidence = build(&input);
    assert_eq!(
        evidence.generated_exceptions.len(),
        1,
        "{:?}",
        evidence.generated_exceptions
    );
    let generated = &evidence.generated_exceptions[0];
    assert_eq!(generated.file, "exceptions/a-deployment-web.yaml");
    assert_eq!(generated.resource, owner);
    assert_eq!(generated.resources.len(), 3);
    let document = &generated.document;
    // Without the Deployment's selector: only what it controls now, by
    // name, and a warning that the next rollout's are not covered.
    assert_eq!(
        document["spec"]["match"],
        json!({"any": [
            {"resources": {"kinds": ["Deployment"], "names": ["web"], "namespaces": ["a"]}},
            {"resources": {"kinds": ["Pod"], "names": ["web-5d8f-x1"], "namespaces": ["a"]}},
            {"resources": {"kinds": ["ReplicaSet"], "names": ["web-5d8f"], "namespaces": ["a"]}}
        ]})
    );
    assert!(
        generated.warnings.iter().any(|w| w.starts_with(
            "it matches the Pod, ReplicaSet Deployment web controls now only by name"
        ) && w.contains("next rollout's are not covered")),
        "{:?}",
        generated.warnings
    );
    assert_eq!(
        document["spec"]["exceptions"],
        json!([{"policyName": "two", "ruleNames": ["a", "autogen-a"]}]),
        "no autogen-cronjob- rule for a Deployment's chain"
    );
    assert!(evidence
        .exceptions
        .iter()
        .filter(|e| e.source == "annotation")
        .all(|e| e.policy_exception_file.as_deref() == Some("exceptions/a-deployment-web.yaml")));
    let two = find(&evidence, "two");
    assert!(two
        .reasons
        .iter()
        .any(|r| r.contains("exceptions/a-deployment-web.yaml")));
}

/// An annotation bypass of a ValidatingPolicy gets a policies.kyverno.io
/// PolicyException (policyRefs by name and kind, a CEL match condition for
/// the resources), beside the kyverno.io one for a ClusterPolicy; a
/// ValidatingAdmissionPolicy gets none (the API server reads none).
#[test]
fn each_policy_family_gets_the_policy_exception_its_engine_reads() {
    let vap = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                     "metadata": {"name": "vap", "managedFields": [{"manager": "kubectl", "time": "2026-11-01T00:00:00Z"}]},
                     "spec": {"matchConstraints": {"resourceRules": [{"resources": ["pods"]}]},
                              "validations": [{"expression": "false"}]}});
    let evidence = build(&input(
        vec![report(vec![
            annotation_skipped("two", "a", "legacy", "fail"),
            annotation_skipped("vp", "", "legacy", "fail"),
            annotation_skipped("vap", "", "legacy", "fail"),
        ])],
        vec![
            two_rule_policy("two", "Audit", None),
            validating_policy("vp"),
            vap.clone(),
        ],
        Some(scan(true, &[])),
    ));
    let files: Vec<&str> = evidence
        .generated_exceptions
        .iter()
        .map(|g| g.file.as_str())
        .collect();
    assert_eq!(
        files,
        [
            "exceptions/a-pod-legacy.yaml",
            "exceptions/a-pod-legacy-cel.yaml"
        ]
    );
    // walk31 F8: no PolicyException can expire under a VAP: no such
    // rollback condition; a ValidatingPolicy keeps it.
    let clean = build(&input(
        vec![report(vec![
            cel_result("vap", "pass", "p1"),
            cel_result("vp", "pass", "p1"),
        ])],
        vec![vap.clone(), validating_policy("vp")],
        Some(scan(true, &[])),
    ));
    let conditions = |name: &str| find(&clean, name).rollback_conditions.join(" | ");
    assert!(
        !conditions("vap").contains("exception"),
        "{}",
        conditions("vap")
    );
    assert!(
        conditions("vp").contains("an exception for this policy expiring"),
        "{}",
        conditions("vp")
    );
    let kyverno = &evidence.generated_exceptions[0];
    assert_eq!(kyverno.document["apiVersion"], "kyverno.io/v2");
    assert_eq!(
        kyverno.document["spec"]["exceptions"],
        json!([{"policyName": "two", "ruleNames": ["a"]}])
    );
    let cel = &evidence.generated_exceptions[1];
    assert_eq!(cel.document["apiVersion"], "policies.kyverno.io/v1beta1");
    assert_eq!(
        cel.document["spec"]["policyRefs"],
        json!([{"name": "vp", "kind": "ValidatingPolicy"}])
    );
    assert_eq!(
        cel.document["spec"]["matchConditions"][0]["expression"],
        "object != null && object.metadata.namespace == 'a' && ((object.kind == 'Pod' && (object.metadata.name == 'legacy')))"
    );
    assert!(cel.document["spec"].get("exceptions").is_none());
    assert_eq!(cel.covers, ["vp/"]);

    let vp = find(&evidence, "vp");
    assert!(
        vp.reasons
            .iter()
            .any(|r| r.starts_with("1 violating resource(s)")
                && r.contains("exceptions/a-pod-legacy-cel.yaml")),
        "{:?}",
        vp.reasons
    );
    assert!(
        !vp.reasons.iter().any(|r| r.starts_with("rule : ")),
        "{:?}",
        vp.reasons
    );
    let two = find(&evidence, "two");
    assert!(
        two.reasons
            .iter()
            .any(|r| r.contains("exceptions/a-pod-legacy.yaml") && !r.contains("-cel.yaml")),
        "{:?}",
        two.reasons
    );
    let vap = find(&evidence, "vap");
    assert!(
        vap.reasons
            .iter()
            .any(|r| r.contains("does not read") && r.contains("excludeResourceRules")),
        "{:?}",
        vap.reasons
    );
    assert!(!evidence
        .generated_exceptions
        .iter()
        .any(|g| g.covers.iter().any(|c| c.starts_with("vap/"))));
}

/// The annotated Deployment `web` (its ReplicaSet and Pod excused too), and
/// the evidence knows its selector `app=web`.
fn annotated_web_deployment() -> EvidenceInput {
    annotated_web_deployment_of(
        two_rule_policy("two", "Audit", None),
        ["autogen-a", "autogen-a", "a"],
    )
}

/// The same for `policy`, the Deployment's, ReplicaSet's and Pod's results
/// naming `rules`.
fn annotated_web_deployment_of(policy: Value, rules: [&str; 3]) -> EvidenceInput {
    let name = policy["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let skipped = |kind: &str, resource: &str, rule: &str| {
        let mut r = annotation_skipped(&name, rule, resource, "fail");
        r["resources"][0]["kind"] = json!(kind);
        if rule.is_empty() {
            r.as_object_mut().expect("object").remove("rule");
        }
        r
    };
    let mut input = input(
        vec![report(vec![
            skipped("Deployment", "web", rules[0]),
            skipped("ReplicaSet", "web-5d8f", rules[1]),
            skipped("Pod", "web-5d8f-x1", rules[2]),
        ])],
        vec![policy],
        Some(scan(true, &[])),
    );
    let owner = ObjectName {
        kind: "Deployment".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    for (kind, name) in [("ReplicaSet", "web-5d8f"), ("Pod", "web-5d8f-x1")] {
        input.owners.insert(
            ObjectName {
                kind: kind.into(),
                namespace: "a".into(),
                name: name.into(),
            },
            owner.clone(),
        );
    }
    input
        .owner_selectors
        .insert(owner, json!({"matchLabels": {"app": "web"}}));
    input
}

/// Kyverno's view, by polscan's engine: whether the generated exception
/// skips rule `a` (or its autogen variant) of a policy requiring a `team`
/// label on `resource`, which fails it.
fn excused_by(exception: &Value, resource: &Value) -> bool {
    use polscan_engine::{Engine, EngineOptions, Environment, RuleStatus};
    let policy = json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "two"},
        "spec": {"validationFailureAction": "Audit", "rules": [{
            "name": "a",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"message": "team", "pattern": {"metadata": {"labels": {"team": "?*"}}}}
        }]}
    });
    let (engine, problems) =
        Engine::from_documents(&[policy, exception.clone()], EngineOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    let responses = engine.evaluate(resource, &Environment::default());
    let statuses: Vec<RuleStatus> = responses
        .iter()
        .flat_map(|r| r.rules.iter().map(|rule| rule.status))
        .collect();
    assert!(!statuses.is_empty(), "rule a applies to {resource}");
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s, RuleStatus::Skip | RuleStatus::Fail)),
        "{statuses:?}"
    );
    statuses.iter().all(|s| *s == RuleStatus::Skip)
}

fn workload(kind: &str, name: &str, labels: Value) -> Value {
    let template = json!({"metadata": {"labels": labels.clone()}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}});
    let mut object = json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": "a", "labels": labels.clone()},
        "spec": {"selector": {"matchLabels": labels}, "template": template}
    });
    if kind == "Pod" {
        object["apiVersion"] = json!("v1");
        object["spec"] = json!({"containers": [{"name": "c", "image": "nginx:1.27"}]});
    }
    object
}

#[test]
fn an_unrelated_replica_set_named_like_the_deployment_is_not_excused() {
    let evidence = build(&annotated_web_deployment());
    let generated = &evidence.generated_exceptions[0];
    let document = &generated.document;
    assert_eq!(
        document["spec"]["match"]["any"][3],
        json!({"resources": {"kinds": ["Pod", "ReplicaSet"], "names": ["web-*"], "namespaces": ["a"],
                             "selector": {"matchLabels": {"app": "web"}}}}),
        "{document}"
    );
    assert!(
        generated
            .warnings
            .iter()
            .any(|w| w.contains("labelled app=web")
                && w.contains("kubectl get pod,replicaset -n a -l 'app=web'")),
        "{:?}",
        generated.warnings
    );
    assert!(generated
        .matches
        .iter()
        .any(|m| m == "Pod, ReplicaSet a/web-* labelled app=web"));
    // Kyverno's match, as polscan's engine applies it.
    let web = json!({"app": "web", "pod-template-hash": "7c9d"});
    let legacy = json!({"app": "legacy"});
    assert!(excused_by(
        document,
        &workload("Deployment", "web", json!({"app": "web"}))
    ));
    assert!(
        excused_by(document, &workload("ReplicaSet", "web-7c9d", web.clone())),
        "the next rollout's ReplicaSet stays covered"
    );
    assert!(excused_by(document, &workload("Pod", "web-7c9d-q2", web)));
    assert!(
        !excused_by(
            document,
            &workload("ReplicaSet", "web-legacy", legacy.clone())
        ),
        "an unrelated ReplicaSet named web-* is not excused"
    );
    assert!(!excused_by(
        document,
        &workload("Pod", "web-legacy-z9", legacy.clone())
    ));
    // Without the selector: only the names web controls now.
    let mut input = annotated_web_deployment();
    input.owner_selectors.clear();
    let evidence = build(&input);
    let document = &evidence.generated_exceptions[0].document;
    assert!(!excused_by(
        document,
        &workload("ReplicaSet", "web-legacy", legacy)
    ));
    assert!(excused_by(
        document,
        &workload("ReplicaSet", "web-5d8f", json!({"app": "web"}))
    ));
}

#[test]
fn a_cel_policy_exception_matches_the_owner_s_selector_too() {
    use polscan_engine::{Engine, EngineOptions, Environment, RuleStatus};
    let vp = json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
                    "metadata": {"name": "vp"},
                    "spec": {"validationActions": ["Audit"],
                             "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
                             "validations": [{"expression": "has(object.metadata.labels) && 'team' in object.metadata.labels"}]}});
    let evidence = build(&annotated_web_deployment_of(vp.clone(), ["", "", ""]));
    let cel = evidence
        .generated_exceptions
        .iter()
        .find(|g| g.document["apiVersion"] == "policies.kyverno.io/v1beta1")
        .unwrap_or_else(|| panic!("{:?}", evidence.generated_exceptions));
    let expression = cel.document["spec"]["matchConditions"][0]["expression"]
        .as_str()
        .expect("expression");
    assert!(
        expression.contains("object.metadata.labels['app'] == 'web'"),
        "{expression}"
    );
    let (engine, problems) =
        Engine::from_documents(&[vp, cel.document.clone()], EngineOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    let status = |name: &str, app: &str| -> Vec<RuleStatus> {
        engine
            .evaluate(
                &workload("Pod", name, json!({"app": app})),
                &Environment::default(),
            )
            .iter()
            .flat_map(|r| r.rules.iter().map(|rule| rule.status))
            .collect()
    };
    assert_eq!(status("web-7c9d-q2", "web"), [RuleStatus::Skip]);
    assert_eq!(status("web-legacy-z9", "legacy"), [RuleStatus::Fail]);
}
