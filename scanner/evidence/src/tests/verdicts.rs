//! Verdicts: when a policy is ready to enforce, when it is not (and why),
//! and which rules' failures are rollback conditions (actions, overrides,
//! unscored and unknown policies, unserved kinds).

use super::*;

#[test]
fn clean_policy_after_a_complete_scan_is_ready() {
    let evidence = build(&input(
        vec![report(vec![
            result("clean", "pass", "a", "p1"),
            result("dirty", "fail", "a", "p1"),
            result("dirty", "pass", "b", "p2"),
        ])],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            policy("dirty", "Enforce", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let clean = find(&evidence, "clean");
    assert_eq!(clean.verdict, Verdict::Ready, "{:?}", clean.reasons);
    assert_eq!(clean.rule_evidence[0].verdict, Verdict::Ready);
    let dirty = find(&evidence, "dirty");
    assert_eq!(dirty.verdict, Verdict::NotReady);
    assert!(dirty.reasons.iter().any(|r| r.contains("1 failing")));
    assert!(dirty.enforced_with_violations());
    assert_eq!(dirty.by_namespace["a"].fail, 1);
    assert_eq!(dirty.by_namespace["b"].pass, 1);
    assert_eq!(dirty.violations.len(), 1);
    assert_eq!(dirty.info.description.as_deref(), Some("How to fix dirty."));
}

#[test]
fn no_scan_record_a_failed_kind_or_a_later_change_is_not_ready() {
    let reports = vec![report(vec![result("clean", "pass", "a", "p1")])];
    let policies = vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")];
    let without = build(&input(reports.clone(), policies.clone(), None));
    assert_eq!(find(&without, "clean").verdict, Verdict::NotReady);

    // Deployments are covered through autogen of a Pod policy.
    let failed = build(&input(
        reports.clone(),
        policies,
        Some(scan(false, &["apps/Deployment"])),
    ));
    let reasons = &find(&failed, "clean").reasons;
    assert!(
        reasons.iter().any(|r| r.contains("apps/Deployment")),
        "{reasons:?}"
    );
    // A failed kind the policy does not match does not block it.
    let unrelated = build(&input(
        reports.clone(),
        vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(false, &["ConfigMap"])),
    ));
    assert_eq!(find(&unrelated, "clean").verdict, Verdict::Ready);

    let changed = build(&input(
        reports,
        vec![policy("clean", "Audit", "2026-11-21T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let reasons = &find(&changed, "clean").reasons;
    assert!(
        reasons.iter().any(|r| r.contains("after the last scan")),
        "{reasons:?}"
    );
}

#[test]
fn policies_named_only_by_reports_are_shown_not_ready() {
    let evidence = build(&input(
        vec![report(vec![result("deleted", "pass", "a", "p")])],
        Vec::new(),
        Some(scan(true, &[])),
    ));
    let deleted = find(&evidence, "deleted");
    assert!(!deleted.found);
    assert_eq!(deleted.verdict, Verdict::NotReady);
}

#[test]
fn audit_policies_get_a_readiness_check_and_only_enforce_rules_a_rollback() {
    let policies = vec![
        policy("audited", "Audit", "2026-11-01T00:00:00Z"),
        policy("enforced", "Enforce", "2026-11-01T00:00:00Z"),
        two_rule_policy("mixed", "Audit", Some("Enforce")),
    ];
    let before = build(&input(
        vec![report(vec![
            result("audited", "pass", "a", "p1"),
            result("enforced", "pass", "a", "p1"),
            rule_result("mixed", "a", "pass", "p1"),
            rule_result("mixed", "b", "pass", "p1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&before, "audited").verdict, Verdict::Ready);
    assert_eq!(find(&before, "mixed").info.action, "Mixed");
    let after = build(&input(
        vec![report(vec![
            result("audited", "fail", "a", "p1"),
            result("enforced", "pass", "a", "p1"),
            // A new failure of the Audit rule of a Mixed policy: Kyverno
            // does not block it, nothing to roll back.
            rule_result("mixed", "a", "fail", "p1"),
            rule_result("mixed", "b", "pass", "p1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    assert!(
        comparison
            .rollback_checks
            .iter()
            .all(|c| c.policy != "audited"),
        "an Audit policy is never told to roll back: {:?}",
        comparison.rollback_checks
    );
    let readiness = comparison
        .readiness_checks
        .iter()
        .find(|c| c.policy == "audited")
        .expect("audited gets a readiness check");
    assert!(!readiness.still_ready);
    assert_eq!(readiness.previous_verdict, Verdict::Ready);
    assert_eq!(readiness.verdict, Verdict::NotReady);
    assert!(readiness.reasons.iter().any(|r| r.contains("1 failing")));
    let mixed = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "mixed")
        .expect("mixed has an Enforce rule");
    assert!(!mixed.roll_back, "{mixed:?}");
    let enforced = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "enforced")
        .expect("enforced");
    assert!(!enforced.roll_back);

    // The Enforce rule failing is a rollback condition.
    let broken = build(&input(
        vec![report(vec![
            result("audited", "pass", "a", "p1"),
            result("enforced", "pass", "a", "p1"),
            rule_result("mixed", "a", "pass", "p1"),
            rule_result("mixed", "b", "fail", "p1"),
        ])],
        policies,
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &broken);
    let mixed = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "mixed")
        .expect("mixed");
    assert!(mixed.roll_back && mixed.conditions[0].met, "{mixed:?}");
    let audited = comparison
        .readiness_checks
        .iter()
        .find(|c| c.policy == "audited")
        .expect("audited");
    assert!(audited.still_ready);
}

#[test]
fn an_unscored_policy_s_warnings_are_failures_kyverno_would_reject() {
    let mut unscored = policy("quiet", "Enforce", "2026-11-01T00:00:00Z");
    unscored["metadata"]["annotations"]["policies.kyverno.io/scored"] = json!("false");
    let before = build(&input(
        vec![report(vec![result("quiet", "pass", "a", "p1")])],
        vec![unscored.clone()],
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&before, "quiet").verdict, Verdict::Ready);
    let after = build(&input(
        vec![report(vec![result("quiet", "warn", "a", "p1")])],
        vec![unscored],
        Some(scan(true, &[])),
    ));
    let quiet = find(&after, "quiet");
    assert!(quiet.info.unscored);
    assert_eq!(quiet.verdict, Verdict::NotReady, "{:?}", quiet.reasons);
    assert!(quiet.enforced_with_violations());
    let comparison = compare::compare(&before, &after);
    assert!(comparison.rollback_checks[0].roll_back);
    // A scored policy's warning is no failure.
    let scored = build(&input(
        vec![report(vec![result("loud", "warn", "a", "p1")])],
        vec![policy("loud", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&scored, "loud").verdict, Verdict::Ready);
}

#[test]
fn an_override_enforces_only_in_its_namespaces_and_only_there_rolls_back() {
    let policies = vec![overridden_policy("ovr")];
    let before = build(&input(
        vec![report(vec![
            result("ovr", "pass", "web", "w1"),
            result("ovr", "pass", "dev", "d1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let info = &find(&before, "ovr").info;
    assert_eq!(info.action, "Mixed");
    assert!(
        info.action_summary()
            .contains("Enforce in namespace(s) web"),
        "{}",
        info.action_summary()
    );
    let markdown = markdown::render(&before);
    assert!(
        markdown
            .contains("Current action: **Mixed** (Enforce in namespace(s) web; Audit elsewhere)"),
        "{markdown}"
    );
    // A new failure in a namespace Kyverno only audits: nothing to roll back.
    let audited = build(&input(
        vec![report(vec![
            result("ovr", "pass", "web", "w1"),
            result("ovr", "fail", "dev", "d1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert!(
        !find(&audited, "ovr").enforced_with_violations(),
        "the failure is in a namespace Kyverno only audits"
    );
    let check = compare::compare(&before, &audited);
    let ovr = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "ovr")
        .expect("ovr enforces somewhere");
    assert!(!ovr.roll_back, "{ovr:?}");
    assert_eq!(check.new_violations.len(), 1);
    assert_eq!(check.new_violations[0].action, "Audit");
    // In the namespace the override enforces: roll back, and the command
    // changes the override, which is what enforces.
    let enforced = build(&input(
        vec![report(vec![
            result("ovr", "fail", "web", "w1"),
            result("ovr", "pass", "dev", "d1"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert!(find(&enforced, "ovr").enforced_with_violations());
    let check = compare::compare(&before, &enforced);
    let ovr = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "ovr")
        .expect("ovr");
    assert!(ovr.roll_back && ovr.conditions[0].met, "{ovr:?}");
    let rollback = find(&enforced, "ovr")
        .info
        .rollback
        .clone()
        .expect("rollback");
    assert!(
        rollback
            .command
            .contains("/spec/validationFailureActionOverrides/0/action"),
        "{}",
        rollback.command
    );
    // The action the scan recorded on the result wins over the document's
    // resolution (the engine resolves it per namespace as Kyverno does).
    let mut recorded = result("ovr", "fail", "dev", "d1");
    recorded["properties"] = json!({"action": "Enforce"});
    let recorded = build(&input(
        vec![report(vec![result("ovr", "pass", "web", "w1"), recorded])],
        policies,
        Some(scan(true, &[])),
    ));
    let check = compare::compare(&before, &recorded);
    assert!(check
        .rollback_checks
        .iter()
        .any(|c| c.policy == "ovr" && c.roll_back));
}

#[test]
fn an_unknown_or_invalid_policy_is_never_shown_as_enforced() {
    let mut invalid = policy("typo", "Audti", "2026-11-01T00:00:00Z");
    invalid["metadata"]["name"] = json!("typo");
    let before = build(&input(
        vec![report(vec![
            result("gone", "pass", "a", "p1"),
            result("typo", "pass", "a", "p1"),
        ])],
        vec![invalid.clone()],
        Some(scan(true, &[])),
    ));
    let after = build(&input(
        vec![report(vec![
            result("gone", "fail", "a", "p1"),
            result("typo", "fail", "a", "p1"),
        ])],
        vec![invalid],
        Some(scan(true, &[])),
    ));
    let gone = find(&after, "gone");
    assert_eq!(gone.info.action, "unknown");
    assert!(!gone.enforced_with_violations());
    assert_eq!(&*gone.violations[0].action, "unknown");
    let typo = find(&after, "typo");
    assert_eq!(typo.info.action, "Invalid", "not Audit: Kyverno refuses it");
    assert!(!typo.enforced_with_violations());
    let mut after = after;
    after.comparison = Some(compare::compare(&before, &after));
    let markdown = markdown::render(&after);
    assert!(!markdown.contains("Enforced while"), "{markdown}");
    assert!(
        markdown.contains("### Readiness check: gone (unknown)"),
        "{markdown}"
    );
    assert!(
        markdown.contains("### Readiness check: typo (Invalid)"),
        "{markdown}"
    );
    assert!(!markdown.contains("(Audit)"), "{markdown}");
}

#[test]
fn only_kyverno_rules_let_existing_violations_through_updates() {
    let evidence = build(&input(
        vec![report(vec![
            cel_result("vp", "fail", "p1"),
            result("dirty", "fail", "a", "p1"),
        ])],
        vec![
            validating_policy("vp"),
            policy("dirty", "Enforce", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let vp = find(&evidence, "vp");
    assert!(vp.enforced_with_violations());
    let warning = vp.enforced_violations_warning();
    assert!(
        warning.contains("at every update the policy matches")
            && !warning.contains("unless allowExistingViolations"),
        "{warning}"
    );
    let dirty = find(&evidence, "dirty").enforced_violations_warning();
    assert!(dirty.contains("unless allowExistingViolations"), "{dirty}");
    let markdown = markdown::render(&evidence);
    assert!(markdown.contains(&warning), "{markdown}");
    let html = html::render(&evidence);
    assert!(
        html.contains("since a ValidatingPolicy has no allowExistingViolations"),
        "{html}"
    );
}

#[test]
fn a_policy_scans_do_not_evaluate_says_why_it_has_no_evidence() {
    let mut admission_only = policy("admission-only", "Audit", "2026-11-01T00:00:00Z");
    admission_only["spec"]["background"] = json!(false);
    // A cluster scan lists only the kinds its background policies match, so
    // a record may say the policy's kind was not listed: the cause is still
    // background: false, which the reason names, and it stays not ready.
    let mut listed_other = scan(true, &[]);
    listed_other.objects_by_kind = Some([("ConfigMap".to_string(), 2)].into_iter().collect());
    for (record, verdict) in [
        (scan(true, &[]), Verdict::NoEvidence),
        (listed_other, Verdict::NotReady),
    ] {
        let evidence = build(&input(
            vec![report(vec![result("other", "pass", "a", "p")])],
            vec![
                admission_only.clone(),
                policy("other", "Audit", "2026-11-01T00:00:00Z"),
            ],
            Some(record),
        ));
        let found = find(&evidence, "admission-only");
        assert_eq!(found.verdict, verdict, "{:?}", found.reasons);
        let why = |r: &String| {
            r.contains("background: false")
                && r.contains("no scan can give it evidence")
                && r.contains("`polscan apply --include-non-background`")
                && !r.contains("excluded, or not served")
        };
        assert!(found.reasons.iter().all(why), "{:?}", found.reasons);
    }
}

#[test]
fn a_policy_of_a_kind_the_cluster_does_not_serve_is_not_ready() {
    let reports = vec![report(vec![result("clean", "pass", "a", "p1")])];
    let policies = vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")];
    let served = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&served, "clean").verdict, Verdict::Ready);
    assert!(find(&served, "clean").info.rollback.is_some());
    let mut unserved = input(reports, policies, Some(scan(true, &[])));
    unserved.unserved_policy_kinds = vec!["ClusterPolicy".into()];
    let evidence = build(&unserved);
    let clean = find(&evidence, "clean");
    assert_eq!(clean.verdict, Verdict::NotReady);
    // No kubectl command that the server would refuse.
    assert!(clean.info.rollback.is_none());
    assert!(
        clean
            .reasons
            .iter()
            .any(|r| r.starts_with("this cluster does not serve ClusterPolicy (kyverno.io)")),
        "{:?}",
        clean.reasons
    );
}

/// verify40 N5: evidence built offline from a record older than its
/// `unservedPolicyKinds` key took every kind for served — GO for a
/// ValidatingPolicy on a cluster that may not serve it. Such a record now
/// leaves it unknown (not ready); a ClusterPolicy, Kyverno's own, is not
/// in doubt, and a record with the key, or the cluster's discovery, says.
#[test]
fn an_older_record_leaves_unknown_whether_a_cel_policy_kind_is_served() {
    let mut pass = cel_result("vp", "pass", "p1");
    pass["policy"] = json!("vp");
    let reports = vec![report(vec![pass, result("clean", "pass", "a", "p1")])];
    let policies = vec![
        validating_policy("vp"),
        policy("clean", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let judged = |recorded: bool, discovered: bool| {
        let mut record = scan(true, &[]);
        record.policy_kinds_recorded = recorded;
        let mut given = input(reports.clone(), policies.clone(), Some(record));
        given.policy_kinds_discovered = discovered;
        let evidence = build(&given);
        (
            find(&evidence, "vp").clone(),
            find(&evidence, "clean").verdict,
        )
    };
    let unknown = |vp: &crate::model::PolicyEvidence| {
        vp.reasons.iter().any(|r| {
            r.starts_with("whether the scanned cluster serves ValidatingPolicy (policies.kyverno.io) is not known")
        })
    };
    let (vp, clean) = judged(false, false);
    assert_eq!(vp.verdict, Verdict::NotReady, "{:?}", vp.reasons);
    assert!(unknown(&vp), "{:?}", vp.reasons);
    assert_eq!(clean, Verdict::Ready);
    for (recorded, discovered) in [(true, false), (false, true)] {
        let (vp, _) = judged(recorded, discovered);
        assert!(!unknown(&vp), "{recorded} {discovered}: {:?}", vp.reasons);
    }
}

/// walk25 F9: a rule whose match also reaches what only admission sees (a
/// subresource, a filter on DELETE alone) was GO once the rest was clean;
/// Enforce would then block every exec or delete with no evidence.
#[test]
fn a_policy_reaching_what_only_admission_sees_has_no_evidence_for_it() {
    let reports = vec![report(vec![result("mixed", "pass", "a", "p1")])];
    let clean = policy("mixed", "Audit", "2026-11-01T00:00:00Z");
    let judged = |policy: Value| {
        judge_policy(
            "mixed",
            reports.clone(),
            vec![policy],
            Some(scan(true, &[])),
        )
    };
    assert_eq!(judged(clean.clone()).0, Verdict::Ready);
    let mut exec = clean.clone();
    exec["spec"]["rules"][0]["match"]["any"] = json!([
        {"resources": {"kinds": ["Pod"]}},
        {"resources": {"kinds": ["Pod/exec"]}}
    ]);
    let (verdict, why) = judged(exec);
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("Pod/exec (rule check: a subresource)"),
        "{why}"
    );
    // An operation test names the kinds it concerns, not the subresource
    // (verify32: "UPDATE requests for Pod, Pod/exec").
    let mut exec_tested = clean.clone();
    exec_tested["spec"]["rules"][0]["match"]["any"] =
        json!([{"resources": {"kinds": ["Pod", "Pod/exec"]}}]);
    exec_tested["spec"]["rules"][0]["preconditions"] = json!({"all": [{"key": "{{ request.operation }}", "operator": "NotEquals", "value": "CREATE"}]});
    let (verdict, why) = judged(exec_tested);
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(why.contains("UPDATE requests for Pod (rule check"), "{why}");
    assert!(!why.contains("requests for Pod, Pod/exec"), "{why}");
    let mut delete = clean.clone();
    delete["spec"]["rules"][0]["match"]["any"] = json!([
        {"resources": {"kinds": ["Pod"]}},
        {"resources": {"kinds": ["ConfigMap"], "operations": ["DELETE"]}}
    ]);
    let (verdict, why) = judged(delete);
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("ConfigMap (rule check: operations [\"DELETE\"])"),
        "{why}"
    );
    // CREATE among the operations is scanned; apps/v1/Deployment is a kind.
    let mut scanned = clean;
    scanned["spec"]["rules"][0]["match"]["any"] = json!([
        {"resources": {"kinds": ["Pod", "apps/v1/Deployment"], "operations": ["CREATE", "DELETE"]}}
    ]);
    assert_eq!(judged(scanned).0, Verdict::Ready);
}

#[test]
fn a_cel_policy_on_a_subresource_or_delete_alone_is_found_admission_only() {
    let vpol = |rules: Value| {
        crate::ingest::policy_info::PolicyInfo::from_document(&json!({
            "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
            "metadata": {"name": "v"},
            "spec": {"validationActions": ["Audit"], "matchConstraints": {"resourceRules": rules}}
        }))
        .map(|info| info.admission_only)
        .unwrap_or_default()
    };
    assert_eq!(
        vpol(
            json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CONNECT"], "resources": ["pods/exec"]}])
        ),
        vec![
            "pods/exec (a subresource)".to_string(),
            "pods/exec (operations [\"CONNECT\"])".to_string()
        ]
    );
    assert!(vpol(json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}])).is_empty());
    // walk28 F6: a matchCondition on UPDATE alone.
    let on_update = |operations: Value| {
        crate::ingest::policy_info::PolicyInfo::from_document(&json!({
            "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
            "metadata": {"name": "v"},
            "spec": {"validationActions": ["Audit"],
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": operations, "resources": ["configmaps"]}]},
                "matchConditions": [{"name": "u", "expression": "request.operation == 'UPDATE' || object.metadata.name == 'ok'"}]}
        }))
        .map(|info| info.admission_only)
        .unwrap_or_default()
    };
    assert_eq!(
        on_update(json!(["CREATE", "UPDATE"])),
        vec!["UPDATE requests for configmaps (an expression tests request.operation)".to_string()]
    );
    // verify26: DELETE beside CREATE runs the expressions on DELETE too.
    assert_eq!(
        vpol(
            json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "DELETE"], "resources": ["pods"]}])
        ),
        vec!["DELETE requests for pods (operations [\"CREATE\",\"DELETE\"])".to_string()]
    );
    // verify29 V4: excludeResourceRules taking out CREATE of configmaps
    // leaves their updates to admission; V11: a validation reading
    // oldObject judges only updates.
    let spec_of = |extra: Value| {
        let mut spec = json!({"validationActions": ["Deny"],
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["configmaps", "services"]}]},
            "validations": [{"expression": "true"}]});
        for (key, value) in extra.as_object().expect("object") {
            if key == "excludeResourceRules" {
                spec["matchConstraints"][key] = value.clone();
            } else {
                spec[key] = value.clone();
            }
        }
        crate::ingest::policy_info::PolicyInfo::from_document(&json!({
            "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
            "metadata": {"name": "v"}, "spec": spec}))
        .map(|info| info.admission_only)
        .unwrap_or_default()
    };
    assert_eq!(
        spec_of(
            json!({"excludeResourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]})
        ),
        vec![
            "UPDATE requests for configmaps (excludeResourceRules takes out CREATE, the scan's)"
                .to_string()
        ]
    );
    // verify46 F7: the same exclusion in a ValidatingAdmissionPolicy's
    // binding (matchResources), resourceNames and all.
    let vap = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "vns"},
        "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}]},
            "validations": [{"expression": "true"}]}});
    let binding = |excludes: Value| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "vns"},
            "spec": {"policyName": "vns", "validationActions": ["Audit"],
                "matchResources": {"excludeResourceRules": excludes}}})
    };
    let excluded = binding(
        json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"], "resourceNames": ["x"]}]),
    );
    let info =
        crate::ingest::policy_info::PolicyInfo::from_document_with_bindings(&vap, &[&excluded])
            .expect("a policy");
    assert_eq!(
        info.admission_only,
        ["UPDATE requests for configmaps (excludeResourceRules takes out CREATE, the scan's)"]
    );
    let other = binding(
        json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["secrets"]}]),
    );
    let info = crate::ingest::policy_info::PolicyInfo::from_document_with_bindings(&vap, &[&other])
        .expect("a policy");
    assert!(info.admission_only.is_empty(), "{:?}", info.admission_only);
    // verify47 V47-1: a binding's resourceRules holding configmaps to
    // UPDATE: the scan's CREATE never reaches them. Rules for resources
    // the policy does not match narrow nothing.
    let holding = |rules: Value| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "vns"},
            "spec": {"policyName": "vns", "validationActions": ["Audit"],
                "matchResources": {"resourceRules": rules}}})
    };
    let update_only = holding(
        json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["configmaps"]}]),
    );
    let info =
        crate::ingest::policy_info::PolicyInfo::from_document_with_bindings(&vap, &[&update_only])
            .expect("a policy");
    assert_eq!(
        info.admission_only,
        ["configmaps (operations [\"UPDATE\"])"]
    );
    for rules in [
        json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["secrets"]}]),
        json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]),
    ] {
        let info = crate::ingest::policy_info::PolicyInfo::from_document_with_bindings(
            &vap,
            &[&holding(rules)],
        )
        .expect("a policy");
        assert!(info.admission_only.is_empty(), "{:?}", info.admission_only);
    }
    assert_eq!(
        spec_of(json!({"validations": [{"expression": "oldObject == null || object.spec == oldObject.spec"}]})),
        vec!["UPDATE requests for configmaps, services (an expression reads oldObject, which a scan never has)".to_string()]
    );
    assert!(spec_of(
        json!({"validations": [{"expression": "true", "messageExpression": "string(oldObject)"}]})
    )
    .is_empty());
    // verify30 N4: the name as a value compared with reads nothing; as a
    // key it reads the old object.
    for text in [
        "object.metadata.name != 'oldObject'",
        "object.metadata.name != \"oldObject\"",
        "object.data.note != 'no oldObject here'",
        "'it\\'s oldObject' != object.metadata.name",
    ] {
        assert!(
            spec_of(json!({"validations": [{"expression": text}]})).is_empty(),
            "{text}"
        );
    }
    for text in [
        "request['oldObject'] == null || object.spec == request['oldObject'].spec",
        "has(request.oldObject) && 'oldObject' != object.metadata.name",
        "lookup(request, 'oldObject')",
        "['oldObject'].exists(k, k in request)",
    ] {
        // The request read whole may read the requester and the other
        // admission fields too (verify44): those parts beside it.
        let parts = spec_of(json!({"validations": [{"expression": text}]}));
        assert!(
            parts.iter().any(|p| p.starts_with("UPDATE requests for")),
            "{text}: {parts:?}"
        );
    }
}

/// verify29 V15, V11: a validate.cel rule whose celPreconditions hold
/// for every operation but CREATE (`!= 'CREATE'`), or that reads
/// oldObject, was GO from skips or trivial passes.
#[test]
fn rules_held_from_create_or_reading_the_old_object_have_no_evidence_for_updates() {
    let parts = admission_only_of;
    let cel = json!({"expressions": [{"expression": "has(object.metadata.labels)"}]});
    let found = parts(json!({"name": "r",
        "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
        "celPreconditions": [{"name": "upd", "expression": "request.operation != 'CREATE'"}],
        "validate": {"cel": cel}}));
    assert!(
        found.iter().any(|p| p.contains(
            "UPDATE requests for ConfigMap (rule r: its conditions read request.operation or another field only admission has)"
        )),
        "{found:?}"
    );
    // verify29 V6: no CONNECT request comes for a ConfigMap itself; one
    // that lists CONNECT keeps it.
    assert!(!found.iter().any(|p| p.contains("CONNECT")), "{found:?}");
    let found = parts(json!({"name": "r",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE", "CONNECT"]}}]},
        "celPreconditions": [{"name": "upd", "expression": "request.operation != 'CREATE'"}],
        "validate": {"cel": cel}}));
    assert!(
        found
            .iter()
            .any(|p| p.contains("CONNECT, UPDATE requests for Pod")),
        "{found:?}"
    );
    // verify30: the same test in other spellings.
    for expression in [
        "!(request.operation == 'CREATE')",
        "request['operation'] != 'CREATE'",
        "request.operation.startsWith('UPD')",
        "request.operation.lowerAscii() == 'update'",
        "(request.operation == 'UPDATE') == true",
    ] {
        let found = parts(json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "celPreconditions": [{"name": "upd", "expression": expression}],
            "validate": {"cel": cel}}));
        assert!(
            found
                .iter()
                .any(|p| p.contains("UPDATE requests for ConfigMap")),
            "{expression}: {found:?}"
        );
    }
    // verify31 F2: forms no list of spellings caught, and the request's
    // other admission fields.
    for expression in [
        "'CREATE' != request.operation",
        "request.operation == 'CREATE' ? false : true",
        "request.?operation.orValue('') != 'CREATE'",
        "request.operation.lowerAscii().upperAscii() != 'CREATE'",
        "has(request.options) && request.options.kind == 'UpdateOptions'",
    ] {
        let found = parts(json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "celPreconditions": [{"name": "upd", "expression": expression}],
            "validate": {"cel": cel}}));
        assert!(
            found
                .iter()
                .any(|p| p.contains("UPDATE requests for ConfigMap")),
            "{expression}: {found:?}"
        );
    }
    let pattern = json!({"metadata": {"labels": {"team": "?*"}}});
    for key in [
        "{{ request.operation == 'UPDATE' }}",
        "{{ lookup(request, 'operation') }}",
        "{{ request.\"operation\" }}",
        "{{ starts_with(request.operation, 'UP') }}",
        "{{ truncate(request.operation, `2`) }}",
        "{{ request.[operation] | [0] }}",
        "{{ request.options.kind || '' }}",
    ] {
        let found = parts(json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "preconditions": {"all": [{"key": key, "operator": "Equals", "value": "UPDATE"}]},
            "validate": {"pattern": pattern}}));
        assert!(
            found
                .iter()
                .any(|p| p.contains("UPDATE requests for ConfigMap")),
            "{key}: {found:?}"
        );
        // A pattern is skipped on DELETE.
        assert!(
            !found.iter().any(|p| p.contains("DELETE")),
            "{key}: {found:?}"
        );
    }
    // A rule on ConfigMaps with `extra` (preconditions, validate): whether
    // an UPDATE part is left to admission.
    let updates_left = |extra: Value| {
        let mut rule =
            json!({"name": "r", "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]}});
        for (key, value) in extra.as_object().expect("object") {
            rule[key] = value.clone();
        }
        let found = parts(rule);
        (
            found
                .iter()
                .any(|p| p.contains("UPDATE requests for ConfigMap")),
            found,
        )
    };
    let tier_missing = json!({"any": [{"key": "{{ request.object.metadata.labels.tier || '' }}", "operator": "Equals", "value": ""}]});
    for (case, extra, left) in [
        // verify31 F9: inside foreach, its preconditions and deny conditions.
        (
            "foreach preconditions",
            json!({"validate": {"foreach": [{"list": "[request.object]",
            "preconditions": {"all": [{"key": "{{ request.operation }}", "operator": "NotEquals", "value": "CREATE"}]},
            "deny": {"conditions": tier_missing}}]}}),
            true,
        ),
        (
            "nested foreach deny",
            json!({"validate": {"foreach": [{"list": "[request.object]",
            "foreach": [{"list": "[element]",
                "deny": {"conditions": {"all": [{"key": "{{ request.operation }}", "operator": "Equals", "value": "UPDATE"}]}}}]}]}}),
            true,
        ),
        // verify32 G1, G2: the current node's request; a foreach list that
        // carries the operation into `element`.
        (
            "@.request",
            json!({"preconditions": {"all": [{"key": "{{ @.request.operation }}", "operator": "NotEquals", "value": "CREATE"}]},
            "validate": {"pattern": pattern}}),
            true,
        ),
        // verify37: the request reached from the context root.
        (
            "@.\"request\"",
            json!({"preconditions": {"all": [{"key": "{{ @.\"request\".operation }}", "operator": "NotEquals", "value": "CREATE"}]},
            "validate": {"pattern": pattern}}),
            true,
        ),
        (
            "root *",
            json!({"preconditions": {"all": [{"key": "{{ join('', *.operation) }}", "operator": "NotEquals", "value": "CREATE"}]},
            "validate": {"pattern": pattern}}),
            true,
        ),
        (
            "context [@][0]",
            json!({"context": [{"name": "all", "variable": {"jmesPath": "[@][0]"}}],
            "preconditions": {"all": [{"key": "{{ all.request.operation }}", "operator": "NotEquals", "value": "CREATE"}]},
            "validate": {"pattern": pattern}}),
            true,
        ),
        (
            "foreach list",
            json!({"validate": {"foreach": [{"list": "[request.operation]",
            "preconditions": {"all": [{"key": "{{ element }}", "operator": "NotEquals", "value": "CREATE"}]},
            "deny": {"conditions": tier_missing}}]}}),
            true,
        ),
        // verify32 G3: `any` of CREATE and UPDATE holds for both.
        (
            "any of CREATE, UPDATE",
            json!({"preconditions": {"any": [
            {"key": "{{ request.operation }}", "operator": "Equals", "value": "CREATE"},
            {"key": "{{ request.operation }}", "operator": "Equals", "value": "UPDATE"}]},
            "validate": {"pattern": pattern}}),
            false,
        ),
    ] {
        let (found, parts) = updates_left(extra);
        assert_eq!(found, left, "{case}: {parts:?}");
    }
    // verify32 G5: `operations: []` is every operation.
    let found = parts(json!({"name": "r",
        "match": {"any": [{"resources": {"kinds": ["ConfigMap"], "operations": []}}]},
        "validate": {"pattern": pattern}}));
    assert!(found.is_empty(), "{found:?}");
    // verify32: a condition value that is the word oldObject reads
    // nothing; a template reading it does.
    let condition = |key: &str, value: &str| {
        parts(json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"], "operations": ["CREATE", "UPDATE"]}}]},
            "validate": {"deny": {"conditions": {"any": [{"key": key, "operator": "Equals", "value": value}]}}}}))
    };
    assert!(condition("{{ request.object.metadata.name }}", "oldObject").is_empty());
    assert!(
        condition("{{ request.oldObject.metadata.name || '' }}", "x")
            .iter()
            .any(|p| p.contains("it reads oldObject"))
    );
    // verify31 F3: skipping DELETE holds for CREATE and UPDATE alike.
    for expression in [
        "request.operation != 'DELETE'",
        "!(request.operation == 'DELETE')",
    ] {
        let found = parts(json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "celPreconditions": [{"name": "c", "expression": expression}],
            "validate": {"cel": cel}}));
        assert!(found.is_empty(), "{expression}: {found:?}");
    }
    // Held to what a scan presents, or judged the same on an update: no part.
    for expression in [
        "request.operation == 'CREATE'",
        "request.operation in ['CREATE', 'UPDATE']",
        "request.operation == 'CREATE' && object.metadata.name != 'x'",
    ] {
        let found = parts(json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "celPreconditions": [{"name": "c", "expression": expression}],
            "validate": {"cel": cel}}));
        assert!(found.is_empty(), "{expression}: {found:?}");
    }
    // A JMESPath key that lowers the operation.
    let found = parts(json!({"name": "r",
        "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
        "preconditions": {"all": [{"key": "{{ to_lower(request.operation) }}", "operator": "Equals", "value": "update"}]},
        "validate": {"pattern": {"metadata": {"labels": {"team": "?*"}}}}}));
    assert!(
        found
            .iter()
            .any(|p| p.contains("UPDATE requests for ConfigMap")),
        "{found:?}"
    );
    let found = parts(json!({"name": "r",
        "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
        "validate": {"cel": {"expressions": [{"expression": "oldObject == null || object.spec.replicas == oldObject.spec.replicas"}]}}}));
    // Listing no operations, it judges DELETEs too (verify39 F8).
    assert_eq!(
        found,
        [
            "DELETE requests for Deployment (rule r: it lists no operations, so Kyverno sends it every DELETE too, where its deny conditions or CEL expressions run too (the object gone: CEL's object is null, a template's request.object reads the old object) — list operations [CREATE, UPDATE] if deletes are not its business)",
            "UPDATE requests for Deployment (rule r: it reads oldObject, which a scan never has)",
            // walk46 F9: an autoscaler's replicas are not the manifest's.
            "CREATE requests for Deployment (rule r reads spec.replicas, which a HorizontalPodAutoscaler or `kubectl scale` sets through the scale subresource (a CREATE carries the manifest's, else 1): the scan sees it as others left it, Enforce judges each new object as its CREATE carries it — check the manifests with `polscan apply`)"
        ]
    );
    let found = parts(json!({"name": "r",
        "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
        "validate": {"deny": {"conditions": {"any": [{"key": "{{ request.oldObject.spec.replicas || `0` }}", "operator": "GreaterThan", "value": 3}]}}}}));
    assert!(
        found.iter().any(|p| p.contains("it reads oldObject")),
        "{found:?}"
    );
    // Read only in a message: no part.
    let found = parts(json!({"name": "r",
        "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
        "validate": {"message": "was {{ request.oldObject.spec.revisionHistoryLimit }}", "pattern": {"spec": {"revisionHistoryLimit": "<5"}}}}));
    assert!(found.is_empty(), "{found:?}");
}

/// walk25 F15 / verify26: reports edited after the scan (fail → pass) made
/// `--no-recheck` evidence GO; the record the scan wrote still counts the
/// failure, and the policy is not ready until a rescan.
#[test]
fn reports_that_lack_the_recorded_failures_are_not_evidence() {
    let reports = vec![report(vec![result("dirty", "pass", "a", "p1")])];
    let policies = vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")];
    let mut record = scan(true, &[]);
    record.results_by_rule = Some(
        [(
            "dirty".to_string(),
            [(
                "check".to_string(),
                [("fail".to_string(), 1), ("pass".to_string(), 1)]
                    .into_iter()
                    .collect(),
            )]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
    );
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(record.clone()),
    ));
    let found = find(&evidence, "dirty");
    assert_eq!(found.verdict, Verdict::NotReady, "{:?}", found.reasons);
    assert!(
        found.reasons.iter().any(|r| r
            .contains("found 1 fail or error result(s) for it that the reports no longer hold")),
        "{:?}",
        found.reasons
    );
    // The record agreeing with the reports: ready.
    record.results_by_rule = Some(
        [(
            "dirty".to_string(),
            [(
                "check".to_string(),
                [("pass".to_string(), 1)].into_iter().collect(),
            )]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
    );
    assert_eq!(
        find(&build(&input(reports, policies, Some(record))), "dirty").verdict,
        Verdict::Ready
    );
}

/// verify26: a deny (or CEL) rule matching CREATE and DELETE, or singling
/// out DELETE in its conditions, was judged from its CREATE side alone:
/// Kyverno runs deny conditions on a DELETE request (it skips a pattern
/// there), which no scan makes.
#[test]
fn a_deny_rule_reaching_delete_requests_has_no_evidence_for_them() {
    let reports = vec![report(vec![result("mixed", "pass", "a", "p1")])];
    let judged = |rule: Value| {
        let mut policy = policy("mixed", "Audit", "2026-11-01T00:00:00Z");
        policy["spec"]["rules"][0] = rule;
        judge_policy(
            "mixed",
            reports.clone(),
            vec![policy],
            Some(scan(true, &[])),
        )
    };
    let deny = json!({"conditions": {"any": [{"key": "{{ request.object.metadata.labels.keep || '' }}", "operator": "Equals", "value": "yes"}]}});
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "DELETE"]}}]},
        "validate": {"deny": deny}
    }));
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("DELETE requests for Pod (rule check: operations [\"CREATE\",\"DELETE\"])"),
        "{why}"
    );
    // No operations (every one reaches Kyverno) and a condition on DELETE.
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"deny": {"conditions": {"all": [
            {"key": "{{ request.operation }}", "operator": "Equals", "value": "DELETE"}
        ]}}}
    }));
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("DELETE requests for Pod (rule check: its conditions read request.operation or another field only admission has)"),
        "{why}"
    );
    // Kyverno skips a pattern on DELETE; a deny rule held to CREATE and
    // UPDATE by its preconditions (the library's idiom) reaches no DELETE.
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "DELETE"]}}]},
        "validate": {"pattern": {"metadata": {"name": "?*"}}}
    }));
    assert_eq!(verdict, Verdict::Ready, "{why}");
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "preconditions": {"all": [{"key": "{{ request.operation || 'BACKGROUND' }}", "operator": "AnyIn", "value": ["CREATE", "UPDATE"]}]},
        "validate": {"deny": deny}
    }));
    assert_eq!(verdict, Verdict::Ready, "{why}");
    // walk28 F3: a precondition that holds on UPDATE alone, of a pattern
    // rule: every scanned result is a skip, and Kyverno judges updates.
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "preconditions": {"all": [{"key": "{{ request.operation || 'BACKGROUND' }}", "operator": "Equals", "value": "UPDATE"}]},
        "validate": {"pattern": {"metadata": {"labels": {"team": "?*"}}}}
    }));
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("UPDATE requests for Pod (rule check: its conditions read request.operation or another field only admission has)"),
        "{why}"
    );
    // walk28 F14: a validate.cel expression that passes unless UPDATE.
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"cel": {"expressions": [{"expression": "request.operation != 'UPDATE' || has(object.metadata.labels)"}]}}
    }));
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("UPDATE requests for Pod (rule check: its conditions read request.operation or another field only admission has)"),
        "{why}"
    );
    // verify28: the same test written as `== 'CREATE' || …`.
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE"]}}]},
        "validate": {"cel": {"expressions": [{"expression": "request.operation == 'CREATE' || has(object.metadata.labels)"}]}}
    }));
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("UPDATE requests for Pod (rule check: its conditions read request.operation or another field only admission has)"),
        "{why}"
    );
    // walk28 F4: a filter on UPDATE alone matches nothing a scan presents.
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["UPDATE"]}}]},
        "validate": {"pattern": {"metadata": {"name": "?*"}}}
    }));
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("Pod (rule check: operations [\"UPDATE\"])"),
        "{why}"
    );
    // Its coverage row says why nothing was evaluated (verify28).
    let mut update_only = policy("mixed", "Audit", "2026-11-01T00:00:00Z");
    update_only["spec"]["rules"][0]["match"]["any"] =
        json!([{"resources": {"kinds": ["Pod"], "operations": ["UPDATE"]}}]);
    let evidence = build(&input(Vec::new(), vec![update_only], Some(scan(true, &[]))));
    let row = find(&evidence, "mixed").rule_evidence[0]
        .coverage
        .as_ref()
        .and_then(|c| c.no_resource_in_scope.clone())
        .unwrap_or_default();
    assert!(
        row.starts_with("no resource a scan presents: the rule reaches only what admission sees"),
        "{row}"
    );
    // verify28 item 2: an exclude taking out CREATE leaves UPDATE to
    // admission (of a pattern rule: Kyverno skips it on DELETE); one taking
    // out every operation the match reaches leaves nothing.
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE", "DELETE"]}}]},
        "exclude": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE"]}}]},
        "validate": {"pattern": {"metadata": {"name": "?*"}}}
    }));
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(
        why.contains("UPDATE requests for Pod (rule check: its exclude takes out operations [\"CREATE\"], the scan's CREATE among them)"),
        "{why}"
    );
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE"]}}]},
        "exclude": {"any": [{"resources": {"operations": ["CREATE"]}}]},
        "validate": {"pattern": {"metadata": {"name": "?*"}}}
    }));
    assert!(!why.contains("its exclude"), "{verdict:?} {why}");
    // A precondition that leaves DELETE out names it all the same.
    let (verdict, why) = judged(json!({
        "name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "preconditions": {"all": [{"key": "{{ request.operation }}", "operator": "NotEquals", "value": "DELETE"}]},
        "validate": {"deny": deny}
    }));
    assert_eq!(verdict, Verdict::Ready, "{why}");
}

/// walk28 F10: fails naming a CEL compile error were routed to the teams
/// whose resources the rule matched, as violations of theirs.
#[test]
fn fails_naming_a_cel_compile_error_are_the_policy_s_fault() {
    let mut broken = result("broken", "fail", "a", "p1");
    broken["message"] = json!("compilation error: Syntax error: mismatched input '<EOF>'");
    let evidence = build(&input(
        vec![report(vec![broken])],
        vec![policy("broken", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let found = find(&evidence, "broken");
    assert_eq!(found.verdict, Verdict::NotReady);
    // No team is sent to fix a resource for it (verify28).
    let sections = crate::output::who_must_fix(found, None);
    assert_eq!(sections.len(), 1);
    assert!(
        sections[0]
            .heading
            .starts_with("the policy's authors: its 1 failing result(s) name a CEL compile error"),
        "{}",
        sections[0].heading
    );
    assert!(
        found.reasons.iter().any(|r| r.starts_with(
            "rule check: its CEL does not compile: 1 result(s) name the compile error — the policy's fault"
        )),
        "{:?}",
        found.reasons
    );
}

/// walk28 F18: a fail a `background: false` PolicyException covers (the
/// scan keeps it, as Kyverno's background scan does) was a violation for
/// ever; Kyverno's admission skips the rule for it.
#[test]
fn a_fail_excused_at_admission_is_no_violation() {
    let mut covered = result("covered", "fail", "a", "p1");
    covered["properties"] = json!({"polscan.io/admission-exceptions": "web-ctx"});
    // The record counts the fail the reports keep (verify29 V8: that read
    // as "a report was changed or deleted since the scan", NO-GO).
    let mut record = scan(true, &[]);
    record.results_by_rule = Some(
        [(
            "covered".to_string(),
            [(
                "check".to_string(),
                [("fail".to_string(), 1), ("pass".to_string(), 1)]
                    .into_iter()
                    .collect(),
            )]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
    );
    // The exception the fail rests on exists, as the scan applied it
    // (walk34: one deleted since the scan excuses nothing).
    record.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Namespace {
        namespace: "*".into(),
    });
    let exception = json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
        "metadata": {"name": "web-ctx", "namespace": "ops"},
        "spec": {"background": false,
                 "exceptions": [{"policyName": "covered", "ruleNames": ["check"]}],
                 "match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["p1"]}}]}}});
    let evidence = build(&input(
        vec![report(vec![covered, result("covered", "pass", "a", "p2")])],
        vec![
            policy("covered", "Audit", "2026-11-01T00:00:00Z"),
            exception,
        ],
        Some(record),
    ));
    let found = find(&evidence, "covered");
    assert_eq!(found.verdict, Verdict::Ready, "{:?}", found.reasons);
    assert!(found.violations.is_empty());
    assert_eq!(found.excused.len(), 1);
    assert!(
        found.excused[0]
            .message
            .starts_with("excused at admission by PolicyException web-ctx (background: false)"),
        "{}",
        found.excused[0].message
    );
    // The human pages show it too (verify28 item 10: only evidence.json
    // did, and a reader saw 2 fails become 1 with no reason).
    let markdown = crate::output::markdown::render(&evidence);
    assert!(
        markdown.contains("Excused at admission (1)")
            && markdown.contains("excused at admission by PolicyException web-ctx"),
        "{markdown}"
    );
    let page = crate::output::html::render(&evidence);
    assert!(
        page.contains("<h3>Excused at admission (1)</h3>")
            && page.contains("excused at admission by PolicyException web-ctx"),
        "{page}"
    );
}

/// walk31 F1: the `autogen-` rule of a rule not ready read "ready to
/// enforce" on its own, though Kyverno enforces it with that rule; and a
/// rule of a policy not ready whose soak had not begun read ready too.
#[test]
fn an_autogen_rule_is_no_readier_than_its_rule_nor_any_rule_than_the_soak() {
    let mut deployment = result("strict", "pass", "a", "web");
    deployment["rule"] = json!("autogen-check");
    deployment["resources"][0]["kind"] = json!("Deployment");
    deployment["resources"][0]["apiVersion"] = json!("apps/v1");
    let reports = vec![report(vec![
        result("strict", "fail", "a", "p1"),
        deployment,
    ])];
    let evidence = build(&input(
        reports,
        vec![policy("strict", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let found = find(&evidence, "strict");
    let rule = |name: &str| {
        found
            .rule_evidence
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rule {name}: {:?}", found.rule_evidence))
    };
    assert_eq!(rule("check").verdict, Verdict::NotReady);
    let autogen = rule("autogen-check");
    assert_eq!(autogen.verdict, Verdict::NotReady, "{autogen:?}");
    assert!(
        autogen
            .reasons
            .iter()
            .any(|r| r.contains("enforced together with rule check")),
        "{autogen:?}"
    );

    // Two rules, one failing; the soak has not begun: the clean one waits
    // too (it read "ready to enforce").
    let mut document = policy("two", "Audit", "2026-11-01T00:00:00Z");
    document["spec"]["rules"] = json!([
        {"name": "check", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "validate": {"pattern": {}}},
        {"name": "other", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "validate": {"pattern": {}}}
    ]);
    // One scan, on 2026-11-21, with a violation.
    let history = soak_history("two", &document, &[(11, 1)]);
    let mut other = result("two", "pass", "a", "p1");
    other["rule"] = json!("other");
    let given = with_soak(
        input(
            vec![report(vec![result("two", "fail", "a", "p1"), other])],
            vec![document],
            Some(scan(true, &[])),
        ),
        history,
    );
    let evidence = build(&given);
    let two = find(&evidence, "two");
    assert_eq!(two.verdict, Verdict::NotReady, "{:?}", two.reasons);
    let other = two
        .rule_evidence
        .iter()
        .find(|r| r.name == "other")
        .expect("rule other");
    assert_eq!(other.verdict, Verdict::Wait, "{other:?}");
}

/// verify35: a policy with a validate rule and a verifyImages rule was GO
/// on its validate rule's results; the switch to Enforce makes image
/// verification block too, and no scan verifies a signature.
#[test]
fn a_verify_images_rule_the_switch_enforces_has_no_evidence() {
    let judged = |failure_action: Option<&str>| {
        let mut mixed = policy("mixed", "Audit", "2026-11-01T00:00:00Z");
        let mut entry = json!({"imageReferences": ["ghcr.io/acme/*"]});
        if let Some(action) = failure_action {
            entry["failureAction"] = json!(action);
        }
        mixed["spec"]["rules"].as_array_mut().expect("rules").push(
            json!({"name": "verify", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                         "verifyImages": [entry]}),
        );
        judge_policy(
            "mixed",
            vec![report(vec![result("mixed", "pass", "a", "p1")])],
            vec![mixed],
            Some(scan(true, &[])),
        )
    };
    let (verdict, why) = judged(None);
    assert_eq!(verdict, Verdict::NoEvidence, "{why}");
    assert!(why.contains("rule verify: verifyImages"), "{why}");
    // Its own failureAction Audit: the switch leaves it auditing.
    let (verdict, why) = judged(Some("Audit"));
    assert_eq!(verdict, Verdict::Ready, "{why}");
}

/// A precondition `request.operation == 'DELETE' || …` on a match of
/// CREATE and UPDATE only is no admission-only part: its other side reads
/// nothing of the request, so only DELETE differs from the scan's CREATE,
/// and the match never reaches DELETE (it was a false NO-GO). Matching
/// every operation, the DELETE part stays.
#[test]
fn a_disjunction_with_a_part_independent_of_the_request_differs_only_where_its_test_does() {
    let parts = |operations: Value| {
        admission_only_of(json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"], "operations": operations}}]},
            "celPreconditions": [{"name": "c",
                "expression": "request.operation == 'DELETE' || object.metadata.name != 'x'"}],
            "validate": {"cel": {"expressions": [{"expression": "has(object.data)"}]}}}))
    };
    assert_eq!(parts(json!(["CREATE", "UPDATE"])), Vec::<String>::new());
    let found = parts(json!(["CREATE", "UPDATE", "DELETE"]));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("DELETE requests for ConfigMap")),
        "{found:?}"
    );
}

/// verify39 F7, F10, F11, F14, F17: the operation, or the old object,
/// reached where the reader did not look — an escaped `oldObject`, a
/// pattern's or anyPattern's value, a foreach list, the idiom key against
/// a JSON-array string, a nested template naming the request's field.
/// Each holds for UPDATE otherwise than for the scan's CREATE.
#[test]
fn the_operation_is_read_wherever_kyverno_substitutes_it() {
    let parts = admission_only_of;
    let matching = json!({"any": [{"resources": {"kinds": ["ConfigMap"]}}]});
    let deny = json!({"conditions": {"any": [
        {"key": "{{ request.object.metadata.labels.bad || '' }}", "operator": "Equals", "value": "true"}]}});
    for rule in [
        json!({"name": "r", "match": matching,
            "preconditions": {"all": [{"key": "{{ request.\"\\u006fldObject\".metadata.name || 'none' }}",
                "operator": "NotEquals", "value": "none"}]},
            "validate": {"deny": deny}}),
        json!({"name": "r", "match": matching,
            "validate": {"pattern": {"metadata": {"labels": {"phase": "{{ request.operation }}"}}}}}),
        json!({"name": "r", "match": matching,
            "validate": {"anyPattern": [{"metadata": {"labels": {"phase": "{{ request.operation }}"}}}]}}),
        json!({"name": "r", "match": matching,
            "validate": {"foreach": [{"list": "[request.operation][?@ == 'UPDATE']", "deny": deny}]}}),
        json!({"name": "r", "match": matching,
            "preconditions": {"all": [{"key": "{{ request.operation || 'BACKGROUND' }}",
                "operator": "AnyIn", "value": "[\"UPDATE\"]"}]},
            "validate": {"deny": deny}}),
        json!({"name": "r", "match": matching,
            "context": [{"name": "t", "variable": {"value": "operation"}}],
            "preconditions": {"all": [{"key": "{{ request.\"{{ t }}\" }}", "operator": "Equals", "value": "UPDATE"}]},
            "validate": {"deny": deny}}),
    ] {
        let found = parts(rule.clone());
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("UPDATE requests for ConfigMap")
                    || p.contains("UPDATE") && p.contains("ConfigMap")),
            "{rule}: {found:?}"
        );
    }
    // The idiom against CREATE and UPDATE as a JSON-array string: as the
    // list itself, nothing only admission sees.
    let idiom = parts(json!({"name": "r", "match": matching,
        "preconditions": {"all": [{"key": "{{ request.operation || 'BACKGROUND' }}",
            "operator": "AnyIn", "value": "[\"CREATE\", \"UPDATE\"]"}]},
        "validate": {"deny": deny}}));
    assert!(idiom.is_empty(), "{idiom:?}");
    // A pattern reading the object only.
    let plain = parts(json!({"name": "r", "match": matching,
        "validate": {"pattern": {"metadata": {"labels": {"team": "{{ request.object.metadata.name }}"}}}}}));
    assert!(plain.is_empty(), "{plain:?}");
}

/// verify39 F6: a result whose evaluation substituted again what a
/// substitution made (the engine's `polscan.io/resubstituted`) may have
/// tested the operation: not ready on the scan's say-so.
#[test]
fn a_rule_that_substituted_a_substituted_value_again_is_not_ready() {
    let mut marked = result("p", "skip", "a", "tpl");
    marked["properties"] = json!({"polscan.io/resubstituted": "true"});
    let evidence = build(&input(
        vec![report(vec![marked, result("p", "pass", "a", "good")])],
        vec![policy("p", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let judged = find(&evidence, "p");
    assert_eq!(judged.verdict, Verdict::NotReady, "{:?}", judged.reasons);
    assert!(
        judged
            .reasons
            .iter()
            .any(|r| r.starts_with("rule check: its evaluation substituted again")),
        "{:?}",
        judged.reasons
    );
}

/// What a ClusterPolicy holding `rule` alone leaves to admission
/// ([`crate::ingest::policy_info::PolicyInfo::admission_only`]).
fn admission_only_of(rule: Value) -> Vec<String> {
    let mut document = policy("p", "Audit", "2026-11-01T00:00:00Z");
    document["spec"]["rules"][0] = rule;
    crate::ingest::policy_info::PolicyInfo::from_document(&document)
        .map(|info| info.admission_only)
        .unwrap_or_default()
}

/// verify40 N1: the request's fields a scan leaves out — `uid`,
/// `requestKind`, a Kyverno text's `name` or `kind` — were read as
/// nothing of admission (GO); a CEL policy's `request.kind`, which the
/// scan gives as admission would, stays a plain read (its `request.name`
/// does not: verify42 F4).
#[test]
fn every_request_field_a_scan_leaves_out_is_admission_s() {
    // Operations listed: a match listing none gives a deny or CEL rule a
    // DELETE part of its own (verify39 F8), which would hide what is
    // tested here.
    let matching = json!({"any": [{"resources": {"kinds": ["ConfigMap"], "operations": ["CREATE", "UPDATE"]}}]});
    let deny = json!({"conditions": {"any": [
        {"key": "{{ request.object.metadata.labels.bad || '' }}", "operator": "Equals", "value": "true"}]}});
    for key in [
        "{{ request.uid || '' }}",
        "{{ request.requestKind.kind || 'none' }}",
        "{{ request.name || 'none' }}",
        "{{ request.kind.kind || 'none' }}",
    ] {
        let found = admission_only_of(json!({"name": "r", "match": matching,
            "preconditions": {"all": [{"key": key, "operator": "NotEquals", "value": "none"}]},
            "validate": {"deny": deny}}));
        assert!(!found.is_empty(), "{key}");
    }
    let cel = |expression: &str| {
        admission_only_of(json!({"name": "r", "match": matching,
            "celPreconditions": [{"name": "c", "expression": expression}],
            "validate": {"cel": {"expressions": [{"expression": "has(object.data)"}]}}}))
    };
    assert!(!cel("has(request.requestKind)").is_empty());
    assert!(!cel("has(request.uid) && request.uid != ''").is_empty());
    // verify40 N3: the requester, which a scan never has.
    assert!(!cel("object.metadata.name == 'good' || has(request.userInfo)").is_empty());
    assert!(cel("request.kind.kind == 'ConfigMap' && request.namespace != 'x'").is_empty());
    // verify42 F4: a CREATE by generateName comes with request.name empty.
    assert!(!cel("request.name != 'x' && request.kind.kind == 'ConfigMap'").is_empty());
    assert!(!cel("request.name.startsWith('web-')").is_empty());
}

/// verify39 F8: a deny or `validate.cel` rule whose match lists no
/// operations was GO from its CREATE side alone, yet Kyverno's webhook
/// registers every operation for such a validate rule
/// (pkg/controllers/webhook `defaultOperations`) and runs deny conditions
/// and CEL expressions on a DELETE, with `request.object` null — under
/// Enforce a fail or an error there blocks the delete. Only what keeps the
/// rule off a DELETE for certain takes that part away.
#[test]
fn a_deny_or_cel_rule_listing_no_operations_judges_deletes() {
    let pod = json!({"any": [{"resources": {"kinds": ["Pod"]}}]});
    let deny = json!({"deny": {"conditions": {"any": [
        {"key": "{{ request.object.metadata.labels.keep || '' }}", "operator": "Equals", "value": ""}]}}});
    let cel = json!({"cel": {"expressions": [{"expression": "has(object.metadata.labels)"}]}});
    let deletes = |rule: Value| {
        admission_only_of(rule)
            .iter()
            .any(|part| part.starts_with("DELETE requests for Pod (rule r: it lists no operations"))
    };
    // Unguarded: both judge DELETE; a pattern does not (Kyverno skips it).
    assert!(deletes(
        json!({"name": "r", "match": pod, "validate": deny})
    ));
    assert!(deletes(json!({"name": "r", "match": pod, "validate": cel})));
    assert!(deletes(
        json!({"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": []}}]}, "validate": deny})
    ));
    assert!(admission_only_of(json!({"name": "r", "match": pod,
        "validate": {"pattern": {"metadata": {"labels": {"keep": "?*"}}}}}))
    .is_empty());
    // Kept off a DELETE for certain: no part.
    for (case, rule) in [
        (
            "precondition NotEquals",
            json!({"name": "r", "match": pod,
            "preconditions": {"all": [{"key": "{{ request.operation || 'BACKGROUND' }}", "operator": "NotEquals", "value": "DELETE"}]},
            "validate": deny}),
        ),
        (
            "precondition AnyIn",
            json!({"name": "r", "match": pod,
            "preconditions": {"any": [{"key": "{{ request.operation }}", "operator": "AnyIn", "value": ["CREATE", "UPDATE"]}]},
            "validate": deny}),
        ),
        (
            "deny condition all",
            json!({"name": "r", "match": pod,
            "validate": {"deny": {"conditions": {"all": [
                {"key": "{{ request.operation }}", "operator": "NotEquals", "value": "DELETE"},
                {"key": "{{ request.object.metadata.labels.keep || '' }}", "operator": "Equals", "value": ""}]}}}}),
        ),
        (
            "celPreconditions",
            json!({"name": "r", "match": pod,
            "celPreconditions": [{"name": "c", "expression": "request.operation != 'DELETE'"}],
            "validate": cel}),
        ),
        (
            "celPreconditions in",
            json!({"name": "r", "match": pod,
            "celPreconditions": [{"name": "c", "expression": "request.operation in ['CREATE', 'UPDATE'] && has(object.spec)"}],
            "validate": cel}),
        ),
        (
            "exclude DELETE",
            json!({"name": "r", "match": pod,
            "exclude": {"any": [{"resources": {"operations": ["DELETE"]}}]},
            "validate": deny}),
        ),
        (
            "exclude DELETE of the kinds",
            json!({"name": "r", "match": pod,
            "exclude": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["DELETE", "CONNECT"]}}]},
            "validate": deny}),
        ),
        // verify42 LOW: `all` with filters that each take DELETE out, and a
        // bare kind covering a qualified one (Kyverno's ParseKindSelector).
        (
            "exclude all, one filter",
            json!({"name": "r", "match": pod,
            "exclude": {"all": [{"resources": {"kinds": ["Pod"], "operations": ["DELETE"]}}]},
            "validate": deny}),
        ),
        (
            "exclude bare kinds",
            json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["v1/Pod", "apps/v1/Deployment"]}}]},
            "exclude": {"any": [{"resources": {"kinds": ["Pod", "Deployment"], "operations": ["DELETE"]}}]},
            "validate": deny}),
        ),
        (
            "listed",
            json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE"]}}]},
            "validate": deny}),
        ),
        // `match.all` needs every filter: one listing CREATE, UPDATE holds
        // the rule to them.
        (
            "all of them",
            json!({"name": "r",
            "match": {"all": [{"resources": {"kinds": ["Pod"]}},
                {"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE"]}}]},
            "validate": deny}),
        ),
    ] {
        let found = admission_only_of(rule);
        assert!(found.is_empty(), "{case}: {found:?}");
    }
    // Only maybe kept off: still judged.
    for (case, rule) in [
        (
            "any with another test",
            json!({"name": "r", "match": pod,
            "preconditions": {"any": [
                {"key": "{{ request.operation }}", "operator": "NotEquals", "value": "DELETE"},
                {"key": "{{ request.object.metadata.name }}", "operator": "Equals", "value": "x"}]},
            "validate": deny}),
        ),
        (
            "cel or another test",
            json!({"name": "r", "match": pod,
            "celPreconditions": [{"name": "c", "expression": "request.operation != 'DELETE' || has(oldObject.spec)"}],
            "validate": cel}),
        ),
        (
            "exclude of some names",
            json!({"name": "r", "match": pod,
            "exclude": {"any": [{"resources": {"names": ["a"], "operations": ["DELETE"]}}]},
            "validate": deny}),
        ),
        (
            "exclude of other kinds",
            json!({"name": "r", "match": pod,
            "exclude": {"any": [{"resources": {"kinds": ["Service"], "operations": ["DELETE"]}}]},
            "validate": deny}),
        ),
        (
            "exclude of a subject",
            json!({"name": "r", "match": pod,
            "exclude": {"any": [{"resources": {"operations": ["DELETE"]}, "subjects": [{"kind": "User", "name": "x"}]}]},
            "validate": deny}),
        ),
        // Kyverno reads `all` only when `any` is empty.
        (
            "exclude any beside all",
            json!({"name": "r", "match": pod,
            "exclude": {"any": [{"resources": {"names": ["a"], "operations": ["DELETE"]}}],
                "all": [{"resources": {"kinds": ["Pod"], "operations": ["DELETE"]}}]},
            "validate": deny}),
        ),
        (
            "exclude all, one filter narrower",
            json!({"name": "r", "match": pod,
            "exclude": {"all": [{"resources": {"kinds": ["Pod"], "operations": ["DELETE"]}},
                {"resources": {"names": ["a"]}}]},
            "validate": deny}),
        ),
        (
            "exclude of a version",
            json!({"name": "r", "match": pod,
            "exclude": {"any": [{"resources": {"kinds": ["v1/Pod"], "operations": ["DELETE"]}}]},
            "validate": deny}),
        ),
        (
            "exclude of a kind beside a subresource",
            json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["Pod", "Pod/exec"]}}]},
            "exclude": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["DELETE"]}}]},
            "validate": deny}),
        ),
    ] {
        assert!(
            deletes(rule.clone()),
            "{case}: {:?}",
            admission_only_of(rule)
        );
    }
    // verify42: a foreach whose list is no plain path under the null
    // request.object has elements on a DELETE, and runs there.
    let each = |list: &str| {
        admission_only_of(json!({"name": "r", "match": pod,
            "validate": {"foreach": [{"list": list,
                "deny": {"conditions": {"any": [{"key": "{{ element }}", "operator": "Equals", "value": "x"}]}}}]}}))
    };
    for list in [
        "['x']",
        "[request.object]",
        "request.oldObject.spec.containers",
        "request.object.spec.x || `[1]`",
        // verify43 F7: a pipe into a function errors on null.
        "request.object.metadata.labels | items(@, 'key', 'value')",
        "request.object.spec.containers | sort_by(@, &name)",
        "request.object.spec.containers | 'x'",
    ] {
        assert!(
            each(list)
                .iter()
                .any(|p| p.starts_with("DELETE requests for Pod")),
            "{list}"
        );
    }
    for list in [
        "request.object.spec.containers",
        "request.object.spec.containers[?name == 'x']",
        "request.object.spec.containers[].ports[?contains(name, 'a') || protocol == 'TCP'][]",
        "request.object.spec.\"init-containers\"[0]",
    ] {
        assert!(each(list).is_empty(), "{list}: {:?}", each(list));
    }
    // Every `all` filter listing DELETE: judged.
    let found = admission_only_of(json!({"name": "r",
        "match": {"all": [{"resources": {"kinds": ["Pod"]}},
            {"resources": {"kinds": ["Pod"], "operations": ["CREATE", "DELETE"]}}]},
        "validate": deny}));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("DELETE requests for Pod")),
        "{found:?}"
    );
    // The policy's webhook matchConditions keep every rule off a DELETE.
    let mut document = policy("p", "Audit", "2026-11-01T00:00:00Z");
    document["spec"]["rules"][0] = json!({"name": "r", "match": pod, "validate": deny});
    let judged = |document: &Value| {
        crate::ingest::policy_info::PolicyInfo::from_document(document)
            .map(|info| info.admission_only)
            .unwrap_or_default()
    };
    assert_eq!(judged(&document).len(), 1, "{:?}", judged(&document));
    document["spec"]["webhookConfiguration"] = json!({"matchConditions": [
        {"name": "no-deletes", "expression": "request.operation in ['CREATE', 'UPDATE']"}]});
    assert!(judged(&document).is_empty(), "{:?}", judged(&document));
}

/// verify40 N2: a rule on the clock or on chance was GO from whatever the
/// scan's moment showed — a window closed at the CronJob's hour skipped
/// every object; admission judges other hours.
#[test]
fn a_rule_reading_the_clock_or_chance_has_no_evidence_for_other_moments() {
    let matching =
        json!({"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE"]}}]});
    let with_key = |key: &str| {
        admission_only_of(json!({"name": "r", "match": matching,
            "preconditions": {"all": [{"key": key, "operator": "GreaterThan", "value": 8}]},
            "validate": {"pattern": {"metadata": {"labels": {"team": "?*"}}}}}))
    };
    for (key, function) in [
        (
            "{{ time_now_utc().time_to_cron(@).split(@,' ') | [1].to_number(@) }}",
            "time_now_utc()",
        ),
        ("{{ time_now ( ) }}", "time_now()"),
        ("{{ random('[0-9]{1}') }}", "random()"),
        (
            "{{ time_since('', '{{ request.object.metadata.creationTimestamp }}', '') }}",
            "time_since() with no fixed end time",
        ),
    ] {
        let found = with_key(key);
        assert_eq!(found.len(), 1, "{key}: {found:?}");
        assert!(
            found[0].starts_with("requests at any other moment (rule r: it calls ")
                && found[0].contains(function),
            "{key}: {found:?}"
        );
    }
    // verify42 F2, F3: a JSON-literal empty end, a variable end, and the
    // clock under a pattern's `name`.
    for key in [
        "{{ time_since('', '{{ request.object.metadata.creationTimestamp }}', `\"\"`) }}",
        "{{ time_since('', request.object.metadata.creationTimestamp, request.object.metadata.name) }}",
    ] {
        assert_eq!(with_key(key).len(), 1, "{key}");
    }
    assert!(!admission_only_of(json!({"name": "r", "match": matching,
        "validate": {"message": "m",
            "pattern": {"metadata": {"name": "!{{ random('[a-z]{8}') }}"}}}}))
    .is_empty());
    assert!(with_key("{{ time_since('', request.object.metadata.creationTimestamp, `\"2026-01-01T00:00:00Z\"`) }}").is_empty());
    // A fixed end, or the clock only in the message: no part.
    assert!(with_key(
        "{{ time_since('', request.object.metadata.creationTimestamp, '2026-01-01T00:00:00Z') }}"
    )
    .is_empty());
    assert!(admission_only_of(json!({"name": "r", "match": matching,
        "validate": {"message": "checked at {{ time_now_utc() }}",
            "pattern": {"metadata": {"labels": {"team": "?*"}}}}}))
    .is_empty());
    // A context entry carrying it counts too.
    assert!(!admission_only_of(json!({"name": "r", "match": matching,
        "context": [{"name": "hour", "variable": {"jmesPath": "time_now_utc()"}}],
        "validate": {"deny": {"conditions": {"all": [{"key": "{{ hour }}", "operator": "Equals", "value": "x"}]}}}}))
    .is_empty());
}

/// verify43 F1: a ValidatingPolicy calling Kyverno's CEL `time.now()` or
/// `random()` (in a validation, a variable or a match condition) judged
/// each object at the scan's moment only; a window closing in 2027 was GO.
#[test]
fn a_cel_policy_reading_the_clock_has_no_evidence_for_other_moments() {
    let vpol = |extra: Value| {
        let mut spec = json!({"validationActions": ["Audit"],
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
            "validations": [{"expression": "has(object.metadata.labels)", "messageExpression": "'at ' + string(time.now())"}]});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        crate::ingest::policy_info::PolicyInfo::from_document(&json!({
            "apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
            "metadata": {"name": "v"}, "spec": spec}))
        .map(|info| info.admission_only)
        .unwrap_or_default()
    };
    // The clock only in a message: no part.
    assert!(vpol(json!({})).is_empty(), "{:?}", vpol(json!({})));
    for (extra, function) in [
        (
            json!({"validations": [{"expression": "time.now() < timestamp('2027-01-01T00:00:00Z')"}]}),
            "time.now()",
        ),
        (
            json!({"variables": [{"name": "now", "expression": "time . now ( )"}],
                "validations": [{"expression": "variables.now.getHours() < 23"}]}),
            "time.now()",
        ),
        (
            json!({"matchConditions": [{"name": "m", "expression": "random.random() != 'x'"}]}),
            "random()",
        ),
        // verify44 D: a comment splitting the call.
        (
            json!({"validations": [{"expression": "time.// the clock\nnow() < timestamp('2027-01-01T00:00:00Z')"}]}),
            "time.now()",
        ),
    ] {
        let found = vpol(extra.clone());
        assert_eq!(found.len(), 1, "{extra}: {found:?}");
        assert!(
            found[0].starts_with("requests at any other moment (it calls ")
                && found[0].contains(function),
            "{extra}: {found:?}"
        );
    }
    // A CEL PolicyException on the clock excuses only at some moments.
    let exception = json!({"apiVersion": "policies.kyverno.io/v1", "kind": "PolicyException",
        "metadata": {"name": "x", "namespace": "t"},
        "spec": {"policyRefs": [{"name": "v", "kind": "ValidatingPolicy"}],
            "matchConditions": [{"name": "until", "expression": "time.now() < timestamp('2027-01-01T00:00:00Z')"}]}});
    let why = crate::ingest::policy_info::exception_create_only(&exception);
    assert!(
        why.as_deref().is_some_and(|w| w.contains("time.now()")),
        "{why:?}"
    );
}

/// verify43 F3, F4: a context variable whose raw jmesPath reads
/// request.object (null on a DELETE) with no default fails to load on a
/// DELETE, and the rule errors — a pattern rule too, before Kyverno skips
/// the pattern there — which Kyverno blocks; a test of the operation in
/// its conditions guards nothing for certain, as `any` is read before
/// `all` and a read of the variable may come first.
#[test]
fn a_context_variable_failing_on_delete_leaves_deletes_judged() {
    let pod = json!({"any": [{"resources": {"kinds": ["Pod"]}}]});
    let team = |path: &str| json!([{"name": "team", "variable": {"jmesPath": path}}]);
    let pattern = json!({"pattern": {"metadata": {"labels": {"owner": "{{ team }}"}}}});
    let guard = json!({"all": [
        {"key": "{{ team }}", "operator": "NotEquals", "value": "infra"},
        {"key": "{{ request.operation || 'BACKGROUND' }}", "operator": "NotEquals", "value": "DELETE"}]});
    for (case, rule) in [
        (
            "pattern",
            json!({"name": "r", "match": pod, "context": team("request.object.metadata.labels.team"), "validate": pattern}),
        ),
        (
            "quoted key",
            json!({"name": "r", "match": pod, "context": team("request.\"object\".metadata.labels.team"), "validate": pattern}),
        ),
        (
            "whole request",
            json!({"name": "r", "match": pod, "context": team("request | object.metadata.labels.team"), "validate": pattern}),
        ),
        (
            "guard after the read",
            json!({"name": "r", "match": pod, "context": team("request.object.metadata.labels.team"),
                "preconditions": guard, "validate": pattern}),
        ),
        (
            "through another entry",
            json!({"name": "r", "match": pod,
                "context": [{"name": "raw", "variable": {"jmesPath": "request.object.metadata.labels"}},
                    {"name": "team", "variable": {"value": "{{ raw.team }}"}}],
                "validate": pattern}),
        ),
        // verify44 C: Kyverno's deferred loading finds `team` in
        // `default_team` (`_` may precede a name).
        (
            "after an underscore",
            json!({"name": "r", "match": pod, "context": team("request.object.metadata.labels.team"),
                "validate": {"pattern": {"metadata": {"labels": {"owner": "{{ default_team }}"}}}}}),
        ),
        (
            "deny, guard in all beside any",
            json!({"name": "r", "match": pod, "context": team("request.object.metadata.labels.team"),
                "validate": {"deny": {"conditions": {
                    "any": [{"key": "{{ request.object.metadata.labels.owner }}", "operator": "NotEquals", "value": "{{ team }}"}],
                    "all": [{"key": "{{ request.operation }}", "operator": "NotEquals", "value": "DELETE"}]}}}}),
        ),
    ] {
        let found = admission_only_of(rule);
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("DELETE requests for Pod")
                    && p.contains("its context variable team reads request.object")),
            "{case}: {found:?}"
        );
    }
    // A default, the old object, a template value, listed operations, or
    // an exclude of DELETE: nothing fails on a DELETE that Kyverno judges.
    let mut with_default = team("request.object.metadata.labels.team");
    with_default[0]["variable"]["default"] = json!("none");
    for (case, rule) in [
        (
            "default",
            json!({"name": "r", "match": pod, "context": with_default, "validate": pattern}),
        ),
        (
            "old object",
            json!({"name": "r", "match": pod, "context": team("request.oldObject.metadata.labels.team"), "validate": pattern}),
        ),
        // verify44 K: a jmesPath beside a value queries the value.
        (
            "value queried",
            json!({"name": "r", "match": pod,
            "context": [{"name": "team", "variable": {"value": {"teams": ["a", "b"]}, "jmesPath": "teams | join('|', @)"}}],
            "validate": pattern}),
        ),
        // A name after a `.` is a field, not the entry.
        (
            "a field of that name",
            json!({"name": "r", "match": pod, "context": team("request.object.metadata.labels.team"),
            "validate": {"pattern": {"metadata": {"labels": {"owner": "{{ request.oldObject.team }}"}}}}}),
        ),
        (
            "template value",
            json!({"name": "r", "match": pod,
            "context": [{"name": "team", "variable": {"value": "{{ request.object.metadata.labels.team }}"}}], "validate": pattern}),
        ),
        // Kyverno loads an entry when first read: a guard in
        // preconditions that read none keeps the DELETE off (the library's
        // require-emptydir-requests-limits).
        (
            "guard before any read",
            json!({"name": "r", "match": pod, "context": team("request.object.metadata.labels.team"),
            "preconditions": {"all": [{"key": "{{ request.operation || 'BACKGROUND' }}", "operator": "AnyIn", "value": ["CREATE", "UPDATE"]}]},
            "validate": pattern}),
        ),
        (
            "read only in the message",
            json!({"name": "r", "match": pod, "context": team("request.object.metadata.labels.team"),
            "validate": {"message": "team {{ team }}", "pattern": {"metadata": {"labels": {"owner": "?*"}}}}}),
        ),
        (
            "listed",
            json!({"name": "r",
            "match": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE"]}}]},
            "context": team("request.object.metadata.labels.team"), "validate": pattern}),
        ),
        (
            "excluded",
            json!({"name": "r", "match": pod,
            "exclude": {"any": [{"resources": {"kinds": ["Pod"], "operations": ["DELETE"]}}]},
            "context": team("request.object.metadata.labels.team"), "validate": pattern}),
        ),
    ] {
        let found = admission_only_of(rule);
        assert!(
            !found.iter().any(|p| p.starts_with("DELETE")),
            "{case}: {found:?}"
        );
    }
    // verify44 J: under failurePolicy Ignore the error blocks nothing;
    // verify45 F4: the webhookConfiguration's, read first, too.
    for ignore in [
        json!({"failurePolicy": "Ignore"}),
        json!({"webhookConfiguration": {"failurePolicy": "Ignore"}}),
    ] {
        let mut spec = ignore.clone();
        spec["rules"] = json!([{"name": "r", "match": pod,
            "context": team("request.object.metadata.labels.team"), "validate": pattern}]);
        let ignored = crate::ingest::policy_info::PolicyInfo::from_document(&json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": spec}))
        .map(|info| info.admission_only)
        .unwrap_or_default();
        assert!(
            !ignored.iter().any(|p| p.starts_with("DELETE")),
            "{ignore}: {ignored:?}"
        );
    }
}

/// verify43 F5: the requester read through a context variable's raw
/// jmesPath, or in a spelling Kyverno's background check lets through,
/// was GO from a scan that has no requester.
#[test]
fn a_rule_reading_the_requester_has_no_evidence_for_requests() {
    let matching =
        json!({"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE"]}}]});
    let deny_on = |key: &str, context: Value| {
        admission_only_of(json!({"name": "r", "match": matching, "context": context,
            "validate": {"message": "m", "deny": {"conditions": {"any": [
                {"key": key, "operator": "Equals", "value": "replicaset-controller"}]}}}}))
    };
    for (key, context) in [
        (
            "{{ user }}",
            json!([{"name": "user", "variable": {"jmesPath": "request.userInfo.username", "default": ""}}]),
        ),
        (
            "{{ sa }}",
            json!([{"name": "sa", "variable": {"jmesPath": "serviceAccountName", "default": ""}}]),
        ),
        ("{{ @.serviceAccountName || '' }}", json!([])),
        ("{{ request.\"userInfo\".username || '' }}", json!([])),
        ("{{ @.request.userInfo.username || '' }}", json!([])),
    ] {
        let found = deny_on(key, context);
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("requests from any requester (rule r: ")),
            "{key}: {found:?}"
        );
    }
    // The object alone, or the requester only in the message: no part.
    assert!(deny_on("{{ request.object.metadata.name }}", json!([])).is_empty());
    assert!(admission_only_of(json!({"name": "r", "match": matching,
        "validate": {"message": "by {{ serviceAccountName }}",
            "pattern": {"metadata": {"labels": {"team": "?*"}}}}}))
    .is_empty());
}

/// verify43 F6: a template inside another whose value becomes code can
/// build a call to the clock (`time_{{ … }}_utc()`); a quoted one, as every
/// nested template of the library, cannot.
#[test]
fn a_nested_template_building_code_may_read_the_clock() {
    let matching =
        json!({"any": [{"resources": {"kinds": ["Pod"], "operations": ["CREATE", "UPDATE"]}}]});
    let with_key = |key: &str| {
        admission_only_of(json!({"name": "r", "match": matching,
            "validate": {"message": "m", "deny": {"conditions": {"any": [
                {"key": key, "operator": "Equals", "value": true}]}}}}))
    };
    for key in [
        "{{ time_after(time_{{ to_lower('NOW') }}_utc(), '2027-01-01T00:00:00Z') }}",
        "{{ rand{{ to_lower('OM') }}('[0-9]') }}",
        "{{ {{ join('', ['time_now', '_utc']) }}() }}",
        "{{ @.{{ 'time_now_utc' }}() }}",
        // verify44 B: a path step whose template is no plain path.
        "{{ time_before(`{}`.{{ join('', ['time_', 'now_utc()']) }}, '2027-01-01T00:00:00Z') }}",
    ] {
        let found = with_key(key);
        assert!(
            found
                .iter()
                .any(|p| p.contains("a function whose name a nested template builds")),
            "{key}: {found:?}"
        );
    }
    for key in [
        "{{ replace_all('{{ request.object.metadata.name }}', '.old.com', '.new.com') }}",
        "{{ request.object.metadata.labels.\"{{ request.object.metadata.name }}\" }}",
        "{{ regex_match('^v[0-9]$', '{{ request.object.metadata.labels.v || 'empty' }}') }}",
        "{{ request.object.metadata.labels.{{ request.object.kind }} }}",
    ] {
        assert!(with_key(key).is_empty(), "{key}: {:?}", with_key(key));
    }
}

/// walk46 F9: every live Pod has the `spec.nodeName` the scheduler wrote,
/// so a rule requiring it passes on all of them, yet Enforce judges the
/// CREATE of the next Pod, which has none: no evidence, not ready.
#[test]
fn a_rule_on_a_field_written_after_creation_has_no_evidence_for_creates() {
    let mut bound = policy("bound", "Audit", "2026-11-01T00:00:00Z");
    bound["spec"]["rules"][0]["validate"] = json!({"pattern": {"spec": {"nodeName": "?*"}}});
    let clean = policy("clean", "Audit", "2026-11-01T00:00:00Z");
    let evidence = build(&input(
        vec![report(vec![
            result("bound", "pass", "a", "p1"),
            result("clean", "pass", "a", "p1"),
        ])],
        vec![bound, clean],
        Some(scan(true, &[])),
    ));
    let bound = find(&evidence, "bound");
    assert_eq!(bound.verdict, Verdict::NoEvidence, "{:?}", bound.reasons);
    assert!(
        bound
            .reasons
            .iter()
            .any(|r| r.contains("reads spec.nodeName, which the scheduler sets")),
        "{:?}",
        bound.reasons
    );
    assert_eq!(find(&evidence, "clean").verdict, Verdict::Ready);
    // walk47 W47-1: with a violation too, both blockers are said at once,
    // not this one only after the violations are fixed and soaked.
    let mut failing = policy("bound", "Audit", "2026-11-01T00:00:00Z");
    failing["spec"]["rules"][0]["validate"] = json!({"pattern": {"spec": {"nodeName": "?*"}}});
    let evidence = build(&input(
        vec![report(vec![result("bound", "fail", "a", "p1")])],
        vec![failing],
        Some(scan(true, &[])),
    ));
    let bound = find(&evidence, "bound");
    assert_eq!(bound.verdict, Verdict::NotReady, "{:?}", bound.reasons);
    assert!(
        bound.reasons.iter().any(|r| r.contains("1 failing")),
        "{:?}",
        bound.reasons
    );
    assert!(
        bound
            .reasons
            .iter()
            .any(|r| r
                .starts_with("no evidence for what only admission sees, so no scan can make this policy GO: CREATE requests for Pod")),
        "{:?}",
        bound.reasons
    );
    // walk55 W55-1: a policy the scan could not load is judged on
    // nothing: its load error, no reading of what admission would show.
    let mut invalid = scan(false, &[]);
    invalid.invalid_policies = vec!["bound".into()];
    let mut failing = policy("bound", "Audit", "2026-11-01T00:00:00Z");
    failing["spec"]["rules"][0]["validate"] = json!({"pattern": {"spec": {"nodeName": "?*"}}});
    let evidence = build(&input(vec![], vec![failing], Some(invalid)));
    let bound = find(&evidence, "bound");
    assert_eq!(bound.verdict, Verdict::NotReady, "{:?}", bound.reasons);
    assert!(
        bound
            .reasons
            .iter()
            .any(|r| r.contains("could not load this policy"))
            && !bound
                .reasons
                .iter()
                .any(|r| r.starts_with("no evidence for what only admission sees")),
        "{:?}",
        bound.reasons
    );
}
