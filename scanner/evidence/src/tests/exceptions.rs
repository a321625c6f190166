//! Exceptions read from the cluster and the reports: PolicyExceptions
//! (expiry, deletion, changes after the scan, whether the scan applied
//! them, what they cover) and polscan's annotation bypasses.

use super::*;

#[test]
fn exceptions_with_expiry_in_the_window_and_expired() {
    let exception = |name: &str, expires: &str| {
        json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
               "metadata": {"name": name, "namespace": "ops", "annotations": {
                   "polscan.io/exception-owner": "team-a",
                   "polscan.io/exception-reason": "vendor image",
                   "polscan.io/exception-expires": expires}},
               "spec": {"exceptions": [{"policyName": "clean", "ruleNames": ["check"]}], "match": {}}})
    };
    let mut skipped = result("clean", "skip", "a", "vendor");
    // Reports name a PolicyException by its bare name, as Kyverno's do.
    skipped["properties"] = json!({"exceptions": "soon"});
    // An older polscan report named it `namespace/name`.
    let mut older = result("clean", "skip", "b", "vendor");
    older["properties"] = json!({"exceptions": "ops/soon"});
    // Another policy's result naming an exception of the same name.
    let mut elsewhere = result("other", "skip", "c", "vendor");
    elsewhere["properties"] = json!({"exceptions": "soon"});
    let evidence = build(&input(
        vec![report(vec![
            skipped,
            older,
            elsewhere,
            result("clean", "pass", "a", "p"),
        ])],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            exception("soon", "2026-11-30"),
            exception("later", "2027-06-01"),
            exception("gone", "2026-11-01"),
            json!({"kind": "PolicyException", "metadata": {"name": "forever"}, "spec": {"exceptions": [{"policyName": "other"}]}}),
        ],
        Some(scan(true, &[])),
    ));
    let status: BTreeMap<&str, ExceptionStatus> = evidence
        .exceptions
        .iter()
        .map(|e| (e.name.as_str(), e.status))
        .collect();
    assert_eq!(status["ops/soon"], ExceptionStatus::Expiring);
    assert_eq!(status["ops/later"], ExceptionStatus::Active);
    assert_eq!(status["ops/gone"], ExceptionStatus::Expired);
    assert_eq!(status["forever"], ExceptionStatus::NoExpiry);
    let soon = evidence
        .exceptions
        .iter()
        .find(|e| e.name == "ops/soon")
        .expect("soon");
    assert_eq!(soon.covered_results, 2);
    assert_eq!(soon.owner.as_deref(), Some("team-a"));
    // The expired exception for its rule keeps the policy from Enforce,
    // named once (walk39 F22: "PolicyException exception ops/gone").
    let clean = find(&evidence, "clean");
    assert!(
        clean
            .reasons
            .iter()
            .any(|r| r.starts_with("PolicyException ops/gone has expired")),
        "{:?}",
        clean.reasons
    );
    // A polscan.io/exception-expires date is no rollback condition:
    // Kyverno keeps applying the exception (walk47 W47-3). It is noted.
    let expiry_conditions: Vec<&String> = clean
        .rollback_conditions
        .iter()
        .filter(|c| c.contains("expir"))
        .collect();
    assert_eq!(
        expiry_conditions,
        ["an exception for this policy expiring"],
        "{:?}",
        clean.rollback_conditions
    );
    for (name, date) in [("ops/soon", "2026-11-30"), ("ops/later", "2027-06-01")] {
        let note = format!("PolicyException {name}'s expiry ({date}) is polscan.io/exception-expires, which Kyverno does not read");
        assert!(
            clean.notes.iter().any(|n| n.starts_with(&note)),
            "{:?}",
            clean.notes
        );
    }
    // What is no rollback condition is said on the pages, not listed
    // among the conditions (verify28).
    assert!(
        !clean
            .rollback_conditions
            .iter()
            .any(|c| c.starts_with("not when")),
        "{:?}",
        clean.rollback_conditions
    );
    let markdown = crate::output::markdown::render(&evidence);
    assert!(
        markdown.contains(&format!("- {}", crate::output::NOT_A_ROLLBACK)),
        "{markdown}"
    );
    assert_eq!(clean.verdict, Verdict::NotReady, "{:?}", clean.reasons);
    assert!(
        clean.reasons.iter().any(|r| r.contains("ops/gone")),
        "{:?}",
        clean.reasons
    );
    // Exceptions the scan did not apply (as Kyverno by default) skip
    // nothing: their expiry is no rollback condition.
    let mut disabled = scan(true, &[]);
    disabled.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
    let evidence = build(&input(
        Vec::new(),
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            exception("soon", "2026-11-30"),
        ],
        Some(disabled),
    ));
    let clean = find(&evidence, "clean");
    assert!(
        clean
            .rollback_conditions
            .iter()
            .all(|c| !c.contains("ops/soon")),
        "{:?}",
        clean.rollback_conditions
    );
}

#[test]
fn annotation_exceptions_come_from_the_report_properties() {
    let mut skipped = result("clean", "skip", "a", "legacy");
    skipped["properties"] = json!({"exception": "resource-annotation", "exception-reason": "migration",
                                   "exception-expires": "2026-12-01", "exception-owner": "team-b"});
    let evidence = build(&input(
        vec![report(vec![skipped])],
        vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let exception = &evidence.exceptions[0];
    assert_eq!(exception.source, "annotation");
    assert_eq!(exception.name, "a/Pod/legacy");
    assert_eq!(exception.status, ExceptionStatus::Expiring);
    assert_eq!(exception.reason.as_deref(), Some("migration"));
    // Kyverno never applies the annotation: its date ends polscan's
    // bypass only, and nothing "keeps applying" it (walk74 W74-6).
    let notes = &find(&evidence, "clean").notes;
    let note = notes
        .iter()
        .find(|n| n.starts_with("annotation exception a/Pod/legacy's expiry (2026-12-01)"))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(
        note.contains(
            "ends polscan's bypass only, since Kyverno's admission never applies the annotation"
        ) && !note.contains("keeps applying"),
        "{note}"
    );
}

#[test]
fn a_skip_by_a_deleted_exception_is_not_ready_and_rolls_back() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let exception = polex("team-b", "sneaky", "2026-11-01T00:00:00Z");
    let before = build(&input(
        guarded_reports(),
        vec![guarded.clone(), exception],
        Some(applied_in("*")),
    ));
    let ready = find(&before, "guarded");
    assert_eq!(ready.verdict, Verdict::Ready, "{:?}", ready.reasons);
    assert!(ready.stale_exceptions.is_empty());
    assert!(ready
        .rollback_conditions
        .iter()
        .any(|c| c.contains("PolicyException its skipped results rest on deleted")));
    // The exception is deleted; the reports still hold its skip.
    let mut after = build(&input(
        guarded_reports(),
        vec![guarded],
        Some(applied_in("*")),
    ));
    let gone = find(&after, "guarded");
    assert_eq!(gone.verdict, Verdict::NotReady);
    assert!(
        gone.reasons.iter().any(|r| r
            .contains("skipped by PolicyException sneaky, which no longer exists")
            && r.contains("rescan first")),
        "{:?}",
        gone.reasons
    );
    assert_eq!(gone.rule_evidence[0].verdict, Verdict::NotReady);
    assert_eq!(gone.stale_exceptions, ["sneaky"]);
    // walk28 F7: an audit of files whose exception was given to apply
    // (-e) and not to the evidence: nothing was deleted.
    let mut of_files = applied_in("*");
    of_files.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Given);
    let offline = build(&input(
        guarded_reports(),
        vec![policy("guarded", "Enforce", "2026-11-01T00:00:00Z")],
        Some(of_files),
    ));
    assert!(
        find(&offline, "guarded").reasons.iter().any(|r| r.contains(
            "skipped by PolicyException sneaky, which is not among the documents given (--policies-from)"
        )),
        "{:?}",
        find(&offline, "guarded").reasons
    );
    let comparison = compare::compare(&before, &after);
    assert_eq!(
        comparison.removed_exceptions,
        ["PolicyException team-b/sneaky"]
    );
    let check = &comparison.rollback_checks[0];
    assert!(check.roll_back, "{check:?}");
    assert!(check.conditions.iter().any(|c| c.met
        && c.condition.contains("deleted, changed or not applied")
        && c.detail == "sneaky"));
    after.comparison = Some(comparison);
    assert!(markdown::render(&after).contains("- removed exceptions: 1"));
    assert!(markdown::render(&after)
        .contains("### Removed exceptions\n\n- PolicyException team-b/sneaky"));
}

#[test]
fn a_skip_by_an_exception_changed_after_the_scan_is_not_ready() {
    // The scan started 2026-11-20T10:00:00Z.
    let evidence = build(&input(
        guarded_reports(),
        vec![
            policy("guarded", "Enforce", "2026-11-01T00:00:00Z"),
            polex("team-b", "sneaky", "2026-11-21T08:00:00Z"),
        ],
        Some(applied_in("team-b")),
    ));
    let guarded = find(&evidence, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(
        guarded.reasons.iter().any(|r| r.contains(
            "PolicyException team-b/sneaky changed at 2026-11-21T08:00:00+00:00 after the last scan started"
        )),
        "{:?}",
        guarded.reasons
    );
    assert_eq!(guarded.stale_exceptions, ["sneaky"]);
}

#[test]
fn skips_by_exceptions_the_scan_did_not_apply_or_does_not_record_are_not_ready() {
    let documents = vec![
        policy("guarded", "Enforce", "2026-11-01T00:00:00Z"),
        polex("team-b", "sneaky", "2026-11-01T00:00:00Z"),
    ];
    let judge =
        |record: ScanRecord| build(&input(guarded_reports(), documents.clone(), Some(record)));
    // Applied where it lives: the skip stands.
    let applied = judge(applied_in("team-b"));
    assert_eq!(find(&applied, "guarded").verdict, Verdict::Ready);
    assert!(markdown::render(&applied).contains(
        "PolicyExceptions applied: in namespace team-b, as a Kyverno started with --enablePolicyException --exceptionNamespace=team-b"
    ));
    // Outside the namespace the scan says it applied.
    let elsewhere = judge(applied_in("kyverno"));
    let guarded = find(&elsewhere, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(guarded.reasons.iter().any(
        |r| r.contains("which is outside the PolicyExceptions the last scan's settings apply")
    ));
    assert!(elsewhere.exceptions[0]
        .problem
        .as_deref()
        .is_some_and(|p| p.starts_with("not applied: outside namespace kyverno")));
    // Kyverno's default: none applied.
    let disabled = judge(ScanRecord {
        policy_exceptions: Some(crate::run::exception_scope::ExceptionScope::Disabled),
        ..scan(true, &[])
    });
    assert_eq!(find(&disabled, "guarded").verdict, Verdict::NotReady);
    assert!(markdown::render(&disabled).contains("PolicyExceptions not applied (Kyverno's default"));
    assert!(html::render(&disabled).contains("PolicyExceptions not applied (Kyverno"));
    // walk39 F4: with none in the cluster, nothing was held back.
    let none = |not_applied: usize| ScanRecord {
        policy_exceptions: Some(crate::run::exception_scope::ExceptionScope::Disabled),
        exceptions_not_applied: Some(not_applied),
        ..scan(true, &[])
    };
    assert_eq!(
        none(0).exceptions_statement(),
        "PolicyExceptions: the scan found none in the cluster (none would be applied either: Kyverno ignores them unless started with --enablePolicyException and --exceptionNamespace)"
    );
    assert!(none(2)
        .exceptions_statement()
        .starts_with("PolicyExceptions not applied (Kyverno's default"));
    // A record of an older polscan does not say: not ready either, but
    // nothing changed since, so no rollback condition.
    let unknown = judge(scan(true, &[]));
    let guarded = find(&unknown, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(guarded
        .reasons
        .iter()
        .any(|r| r.contains("does not say which PolicyExceptions the scan applied")));
    assert!(guarded.stale_exceptions.is_empty());
    // The record of a scan that did not finish lists none yet: that is what
    // is said, not an older polscan.
    let unfinished = judge(ScanRecord {
        in_progress: true,
        finished: None,
        ..scan(false, &[])
    });
    let guarded = find(&unfinished, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    let reasons = guarded.reasons.join("\n");
    assert!(!reasons.contains("older polscan"), "{reasons}");
    for text in [markdown::render(&unfinished), html::render(&unfinished)] {
        assert!(!text.contains("older polscan"), "{text}");
        assert!(
            text.contains("the last scan did not finish (its in-progress record lists no PolicyExceptions yet)"),
            "{text}"
        );
    }
    // Nor is the record of a scan stopped by SIGTERM or --timeout (complete
    // false, with its error) that does not list them: it did not finish.
    let stopped = judge(ScanRecord {
        error: Some("stopped by SIGTERM (or Ctrl-C) before the scan finished".into()),
        ..scan(false, &[])
    });
    let guarded = find(&stopped, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    let reasons = guarded.reasons.join("\n");
    assert!(!reasons.contains("older polscan"), "{reasons}");
    assert!(
        reasons.contains("but the last scan did not finish (stopped by SIGTERM (or Ctrl-C) before the scan finished) and its record does not say which PolicyExceptions it applied: rescan"),
        "{reasons}"
    );
    assert!(guarded.stale_exceptions.is_empty());
    for text in [markdown::render(&stopped), html::render(&stopped)] {
        assert!(!text.contains("older polscan"), "{text}");
    }
}

#[test]
fn an_exception_covers_its_policy_and_rules_not_a_policy_named_like_a_namespace() {
    let exception = ExceptionEvidence {
        source: "PolicyException".into(),
        name: "team/skip".into(),
        policies: vec!["team/p/rule".into(), "clean".into()],
        owner: None,
        reason: None,
        expires: None,
        status: ExceptionStatus::Expired,
        covered_results: 0,
        excused_violations: 0,
        resource: None,
        problem: None,
        policy_exception_file: None,
        targets: Vec::new(),
        create_only: None,
        expiry_by_kyverno: false,
    };
    assert!(
        exception.covers("team/p"),
        "a rule of the namespaced policy team/p"
    );
    assert!(exception.covers("clean"));
    assert!(
        !exception.covers("team"),
        "a ClusterPolicy named after the namespace"
    );
    assert!(!exception.covers("clean-up"));
    // A ValidatingPolicy's results have no rule: `vpol/` names the policy.
    let cel = ExceptionEvidence {
        policies: vec!["require-replicas/".into()],
        ..exception
    };
    assert!(cel.covers("require-replicas"));
    assert!(!cel.covers("require"));
}

#[test]
fn an_expired_exception_blocks_only_the_rules_it_covers_and_keeps_its_details() {
    let mut warning = rule_result(
        "two",
        annotation_exceptions::EXCEPTION_RULE,
        "warn",
        "legacy",
    );
    warning["properties"] = json!({
        "exception-status": "expired", "exception-rules": "a",
        "exception-reason": "vendor image", "exception-expires": "2026-11-01",
        "exception-owner": "team-b"});
    let evidence = build(&input(
        vec![report(vec![
            warning,
            rule_result("two", "a", "fail", "legacy"),
            rule_result("two", "b", "pass", "legacy"),
        ])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    ));
    let two = find(&evidence, "two");
    assert_eq!(two.verdict, Verdict::NotReady);
    assert_eq!(two.rule_evidence[0].verdict, Verdict::NotReady);
    assert_eq!(
        two.rule_evidence[1].verdict,
        Verdict::Ready,
        "{:?}",
        two.rule_evidence[1].reasons
    );
    assert_eq!(
        two.counts.warn, 0,
        "the exception's warning is no rule result"
    );
    let exception = &evidence.exceptions[0];
    assert_eq!(exception.status, ExceptionStatus::Expired);
    assert_eq!(exception.policies, ["two/a"]);
    assert_eq!(exception.reason.as_deref(), Some("vendor image"));
    assert_eq!(exception.expires.as_deref(), Some("2026-11-01"));
    assert_eq!(exception.owner.as_deref(), Some("team-b"));

    // The same for a PolicyException naming one rule.
    let evidence = build(&input(
        vec![report(vec![
            rule_result("two", "a", "pass", "p"),
            rule_result("two", "b", "pass", "p"),
        ])],
        vec![
            two_rule_policy("two", "Audit", None),
            json!({"kind": "PolicyException", "metadata": {"name": "old", "namespace": "ops",
                   "annotations": {"polscan.io/exception-expires": "2026-11-01"}},
                   "spec": {"exceptions": [{"policyName": "two", "ruleNames": ["b"]}]}}),
        ],
        Some(scan(true, &[])),
    ));
    let two = find(&evidence, "two");
    assert_eq!(two.rule_evidence[0].verdict, Verdict::Ready);
    assert_eq!(two.rule_evidence[1].verdict, Verdict::NotReady);
}

#[test]
fn a_misspelt_name_in_an_annotation_spoils_only_that_name() {
    let mut typo = rule_result(
        "a-typo",
        annotation_exceptions::EXCEPTION_RULE,
        "warn",
        "legacy",
    );
    typo["properties"] = json!({"exception-status": "unknown-target",
        "exception-reason": "vendor image, INC-42", "exception-expires": "2027-03-01"});
    typo["message"] = json!("polscan.io/exception names policy a-typo, which is not loaded");
    let evidence = build(&input(
        vec![report(vec![
            typo.clone(),
            annotation_skipped("two", "a", "legacy", "fail"),
        ])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    ));
    assert!(
        evidence.policies.iter().all(|p| p.info.name != "a-typo"),
        "the warning names no policy of its own"
    );
    let exception = &evidence.exceptions[0];
    assert_eq!(exception.status, ExceptionStatus::Active, "{exception:?}");
    assert!(exception
        .problem
        .as_deref()
        .is_some_and(|p| p.contains("a-typo")));
    // Only the misspelt name: nothing excused, the exception is invalid.
    let evidence = build(&input(
        vec![report(vec![
            typo,
            rule_result("two", "a", "fail", "legacy"),
        ])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    ));
    assert_eq!(evidence.exceptions[0].status, ExceptionStatus::Invalid);
}

#[test]
fn an_expired_annotation_names_only_rules_that_apply_to_the_resource() {
    let mut warning = rule_result("pods", annotation_exceptions::EXCEPTION_RULE, "warn", "p1");
    warning["properties"] = json!({"exception-status": "expired", "exception-rules": "check",
                                   "exception-expires": "2026-11-01"});
    let deployment = |rule: &str| {
        let mut r = rule_result("pods", rule, "pass", "d1");
        r["resources"][0]["kind"] = json!("Deployment");
        r
    };
    let evidence = build(&input(
        vec![report(vec![
            warning,
            rule_result("pods", "check", "fail", "p1"),
            deployment("autogen-check"),
            deployment("autogen-cronjob-check"),
        ])],
        vec![policy("pods", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let pods = find(&evidence, "pods");
    let expired: Vec<&String> = pods
        .reasons
        .iter()
        .filter(|r| r.contains("expired"))
        .collect();
    assert_eq!(expired.len(), 1, "{:?}", pods.reasons);
    assert!(!expired[0].contains("autogen"), "{expired:?}");
    let autogen = pods
        .rule_evidence
        .iter()
        .find(|r| r.name == "autogen-check")
        .expect("autogen rule");
    assert!(
        autogen.reasons.iter().all(|r| !r.contains("expired")),
        "{:?}",
        autogen.reasons
    );
}

#[test]
fn a_bypass_on_the_pods_only_does_not_excuse_their_owner() {
    let mut skipped = annotation_skipped("two", "a", "web-5d8f-x1", "fail");
    skipped["resources"][0]["name"] = json!("web-5d8f-x1");
    let mut input = input(
        vec![report(vec![skipped])],
        vec![two_rule_policy("two", "Audit", None)],
        Some(scan(true, &[])),
    );
    input.owners.insert(
        ObjectName {
            kind: "Pod".into(),
            namespace: "a".into(),
            name: "web-5d8f-x1".into(),
        },
        ObjectName {
            kind: "Deployment".into(),
            namespace: "a".into(),
            name: "web".into(),
        },
    );
    let evidence = build(&input);
    assert_eq!(evidence.generated_exceptions.len(), 1);
    let document = &evidence.generated_exceptions[0].document;
    assert_eq!(
        document["spec"]["match"],
        json!({"any": [{"resources": {"kinds": ["Pod"], "names": ["web-5d8f-x1"], "namespaces": ["a"]}}]}),
        "the Deployment and its ReplicaSets were not excused; without its selector, only the Pod it controls now"
    );
    assert_eq!(
        document["spec"]["exceptions"],
        json!([{"policyName": "two", "ruleNames": ["a"]}])
    );
}

#[test]
fn only_an_expiry_kyverno_acts_on_rolls_back() {
    let policies = vec![overridden_policy("ovr")];
    let excused = |namespace: &str| {
        let mut skipped = result("ovr", "skip", namespace, "legacy");
        skipped["properties"] = json!({"exception": "resource-annotation", "exception-reason": "migration",
                                       "exception-expires": "2026-12-01", "exception-owner": "team-b"});
        skipped
    };
    let before = build(&input(
        vec![report(vec![result("ovr", "pass", "web", "w1")])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let check_with = |namespace: &str| {
        let after = build(&input(
            vec![report(vec![
                result("ovr", "pass", "web", "w1"),
                excused(namespace),
            ])],
            policies.clone(),
            Some(scan(true, &[])),
        ));
        assert_eq!(after.exceptions[0].status, ExceptionStatus::Expiring);
        let comparison = compare::compare(&before, &after);
        comparison
            .rollback_checks
            .into_iter()
            .find(|c| c.policy == "ovr")
            .expect("ovr enforces somewhere")
    };
    // Kyverno never reads the annotation's expiry (walk43: ROLL BACK for
    // a PolicyException Kyverno still applied): its date is to renew the
    // bypass or remove it, said in the check, no condition of its own.
    // Where the rule enforces, the violation it excuses is one Kyverno
    // rejects already: a new fail, which rolls back; in dev, nothing.
    let met = |namespace: &str| -> Vec<String> {
        check_with(namespace)
            .conditions
            .into_iter()
            .filter(|c| c.met)
            .map(|c| c.condition)
            .collect()
    };
    assert!(met("dev").is_empty(), "{:?}", met("dev"));
    assert_eq!(
        met("web"),
        ["a new fail or error result Kyverno enforces (its rule's action in its namespace)"]
    );
    let expiring = check_with("web")
        .conditions
        .into_iter()
        .find(|c| c.condition.starts_with("an exception for this policy"))
        .expect("the expiry condition");
    assert!(!expiring.met);
    assert!(
        expiring
            .detail
            .starts_with("none; by polscan.io/exception-expires only"),
        "{expiring:?}"
    );

    // A CEL PolicyException's expiresAt Kyverno acts on: once it passes,
    // its controllers drop the exception and enforce what it excused.
    let enforced = validating_policy("vp");
    let cel_exception = json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "PolicyException",
        "metadata": {"name": "vendor", "namespace": "a"},
        "spec": {"policyRefs": [{"name": "vp", "kind": "ValidatingPolicy"}],
                 "expiresAt": "2026-12-01T00:00:00Z", "matchConditions": []}});
    let mut skipped = cel_result("vp", "skip", "vendor");
    skipped["properties"] = json!({"exceptions": "vendor"});
    let before = build(&input(
        vec![report(vec![cel_result("vp", "pass", "p")])],
        vec![enforced.clone()],
        Some(scan(true, &[])),
    ));
    let after = build(&input(
        vec![report(vec![cel_result("vp", "pass", "p"), skipped])],
        vec![enforced, cel_exception.clone()],
        Some(scan(true, &[])),
    ));
    let check = compare::compare(&before, &after)
        .rollback_checks
        .into_iter()
        .find(|c| c.policy == "vp")
        .expect("vp enforces");
    assert!(check.roll_back, "{check:?}");
    assert!(
        check
            .conditions
            .iter()
            .any(|c| c.met && c.condition.starts_with("an exception for this policy")),
        "{check:?}"
    );
    // walk44: a policy in Audit whose clean record rests on it is not
    // ready while it expires within the window.
    let mut audit = validating_policy("vp");
    audit["spec"]["validationActions"] = json!(["Audit"]);
    let mut skipped = cel_result("vp", "skip", "vendor");
    skipped["properties"] = json!({"exceptions": "vendor"});
    let resting = build(&input(
        vec![report(vec![cel_result("vp", "pass", "p"), skipped])],
        vec![audit, cel_exception],
        Some(scan(true, &[])),
    ));
    let vp = find(&resting, "vp");
    assert_eq!(vp.verdict, Verdict::NotReady, "{:?}", vp.reasons);
    assert!(
        vp.reasons
            .iter()
            .any(|r| r.contains("expires at 2026-12-01T00:00:00Z (within --expiry-window)")),
        "{:?}",
        vp.reasons
    );
}

#[test]
fn a_cel_policy_s_exception_results_belong_to_its_one_rule() {
    let mut excepted = result("vp", "skip", "a", "probe");
    excepted["rule"] = json!("exception");
    excepted["properties"] = json!({"exceptions": "allow-probe"});
    let evidence = build(&input(
        vec![report(vec![cel_result("vp", "pass", "web"), excepted])],
        vec![validating_policy("vp")],
        Some(scan(true, &[])),
    ));
    let vp = find(&evidence, "vp");
    let rules: Vec<&str> = vp.rule_evidence.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rules, [""], "{:?}", vp.rule_evidence);
    assert_eq!(vp.rule_evidence[0].counts.skip, 1);
    assert_eq!(vp.rule_evidence[0].counts.pass, 1);
}

/// A PolicyException whose policies are all gone from the package says so
/// (it skips nothing now, and applies again if the policy returns), where
/// it was listed as an active bypass (walk25 F10); one naming a policy of
/// the package, by rule or as a CEL policyRef, is not; nor is any in a
/// package filtered with `--policy`, which lacks the other policies.
#[test]
fn an_exception_of_deleted_policies_is_marked() {
    let kyverno = |name: &str, policy: &str| {
        json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
               "metadata": {"name": name, "namespace": "ops", "annotations": {
                   "polscan.io/exception-expires": "2027-06-01"}},
               "spec": {"exceptions": [{"policyName": policy, "ruleNames": ["check"]}], "match": {}}})
    };
    let cel = |name: &str, policy: &str| {
        json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "PolicyException",
            "metadata": {"name": name, "namespace": "ops"},
            "spec": {"policyRefs": [{"name": policy, "kind": "ValidatingPolicy"}], "matchConditions": []}})
    };
    let documents = vec![
        policy("clean", "Audit", "2026-11-01T00:00:00Z"),
        policy("team-a", "Audit", "2026-11-01T00:00:00Z"),
        validating_policy("vclean"),
        kyverno("orphan", "deleted"),
        kyverno("kept", "clean"),
        cel("cel", "vclean"),
        // rev27 F9: a ValidatingPolicy of that name is gone; a ClusterPolicy
        // of the same name is another kind. A namespaced Policy team-a/gone
        // is not the ClusterPolicy team-a.
        cel("cel-other-kind", "clean"),
        kyverno("namespaced-gone", "team-a/gone"),
    ];
    let built = |filter: Vec<String>| {
        let mut given = input(
            vec![report(vec![result("clean", "pass", "a", "p")])],
            documents.clone(),
            Some(scan(true, &[])),
        );
        given.policy_filter = filter;
        build(&given)
    };
    let problem = |evidence: &Evidence, name: &str| {
        evidence
            .exceptions
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name}: {:?}", evidence.exceptions))
            .problem
            .clone()
    };
    // A policy the reports name, its document not given (`--from` with
    // part of the policies), is in the package: its exception is not
    // orphaned (rev27 F8).
    let mut partial = input(
        vec![report(vec![
            result("clean", "pass", "a", "p"),
            result("reported", "pass", "a", "p"),
        ])],
        documents
            .iter()
            .cloned()
            .chain([kyverno("of-reported", "reported")])
            .collect(),
        Some(scan(true, &[])),
    );
    partial.policy_filter = Vec::new();
    let partial = build(&partial);
    assert_eq!(problem(&partial, "ops/of-reported"), None);
    assert!(problem(&partial, "ops/orphan").is_some());

    let evidence = built(Vec::new());
    let orphan = problem(&evidence, "ops/orphan").expect("marked");
    assert!(
        orphan.contains("names no policy of this package (deleted/check)"),
        "{orphan}"
    );
    assert_eq!(problem(&evidence, "ops/kept"), None);
    assert_eq!(problem(&evidence, "ops/cel"), None);
    assert!(problem(&evidence, "ops/cel-other-kind").is_some());
    assert!(problem(&evidence, "ops/namespaced-gone").is_some());
    // Still active: Kyverno applies it again if the policy returns.
    let status = evidence
        .exceptions
        .iter()
        .find(|e| e.name == "ops/orphan")
        .map(|e| e.status);
    assert_eq!(status, Some(ExceptionStatus::Active));
    assert!(markdown::render(&evidence).contains("names no policy of this package"));
    let filtered = built(vec!["clean".into()]);
    assert!(
        filtered.exceptions.iter().all(|e| e.problem.is_none()),
        "{:?}",
        filtered.exceptions
    );
}

/// verify30 N7: a PolicyException that excuses only CREATE (its match
/// lists operations [CREATE], or its conditions read request.operation or another field only admission has)
/// turned a violator into a skip and the policy was GO; Kyverno judges
/// the violator's next update.
#[test]
fn an_exception_for_create_alone_excuses_nothing_of_updates() {
    let exception = |spec_extra: Value| vendor_exception(json!({}), spec_extra);
    let judged = |exception: Value| {
        let mut skipped = result("clean", "skip", "a", "vendor");
        skipped["properties"] = json!({"exceptions": "vendor"});
        let mut record = scan(true, &[]);
        record.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Namespace {
            namespace: "*".into(),
        });
        judge_policy(
            "clean",
            vec![report(vec![skipped, result("clean", "pass", "a", "p")])],
            vec![policy("clean", "Audit", "2026-11-01T00:00:00Z"), exception],
            Some(record),
        )
    };
    let (verdict, why) = judged(exception(json!({
        "match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["vendor"], "operations": ["CREATE"]}}]}
    })));
    assert_eq!(verdict, Verdict::NotReady, "{why}");
    assert!(
        why.contains("PolicyException ops/vendor excuses only some of the requests Kyverno judges (its match lists operations [\"CREATE\"])"),
        "{why}"
    );
    let (verdict, why) = judged(exception(json!({
        "conditions": {"any": [{"key": "{{ request.operation }}", "operator": "Equals", "value": "CREATE"}]}
    })));
    assert_eq!(verdict, Verdict::NotReady, "{why}");
    // Every operation, or CREATE and UPDATE: excused as before.
    let (verdict, why) = judged(exception(json!({})));
    assert_eq!(verdict, Verdict::Ready, "{why}");
    let (verdict, why) = judged(exception(json!({
        "match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["vendor"], "operations": ["CREATE", "UPDATE"]}}]}
    })));
    assert_eq!(verdict, Verdict::Ready, "{why}");
    // verify31 F4: the operation on the value side, quoted, looked up;
    // F6: a match naming requesters, whom a scan never has.
    for extra in [
        json!({"conditions": {"any": [{"key": "CREATE", "operator": "Equals", "value": "{{ request.operation }}"}]}}),
        json!({"conditions": {"any": [{"key": "{{ request.\"operation\" }}", "operator": "Equals", "value": "CREATE"}]}}),
        json!({"conditions": {"any": [{"key": "{{ lookup(request, 'operation') }}", "operator": "Equals", "value": "CREATE"}]}}),
        json!({"context": [{"name": "op", "variable": {"jmesPath": "request.operation"}}],
               "conditions": {"any": [{"key": "{{ op }}", "operator": "Equals", "value": "CREATE"}]}}),
        json!({"match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["vendor"]},
               "subjects": [{"kind": "User", "name": "alice"}]}]}}),
        json!({"match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["vendor"]},
               "clusterRoles": ["cluster-admin"]}]}}),
    ] {
        let (verdict, why) = judged(exception(extra.clone()));
        assert_eq!(verdict, Verdict::NotReady, "{extra}: {why}");
        assert!(
            why.contains("PolicyException ops/vendor excuses only"),
            "{why}"
        );
    }
    // verify32 G1, G4: the current node's operation; a requester test.
    for extra in [
        json!({"conditions": {"any": [{"key": "{{ @.request.operation }}", "operator": "Equals", "value": "CREATE"}]}}),
        // verify37: through the context root.
        json!({"conditions": {"any": [{"key": "{{ [@][0].request.operation }}", "operator": "Equals", "value": "CREATE"}]}}),
        json!({"conditions": {"any": [{"key": "{{ request.userInfo.username || '' }}", "operator": "NotEquals", "value": "alice"}]}}),
    ] {
        let (verdict, why) = judged(exception(extra.clone()));
        assert_eq!(verdict, Verdict::NotReady, "{extra}: {why}");
    }
    // walk32 F6: `exceptions[].values`/`images` are not Kyverno fields (its
    // CRD prunes them; a match skips the whole rule), so such an exception
    // excuses what the scan excused: the policy is ready.
    let mut fine = exception(json!({}));
    fine["spec"]["exceptions"][0]["values"] =
        json!([{"path": "spec.containers[*].image", "values": ["busybox:latest"]}]);
    let (verdict, why) = judged(fine);
    assert_eq!(verdict, Verdict::Ready, "{why}");
    // verify32 G5: `operations: []` is every operation.
    let (verdict, why) = judged(exception(json!({
        "match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["vendor"], "operations": []}}]}
    })));
    assert_eq!(verdict, Verdict::Ready, "{why}");
    // A condition that holds for CREATE and UPDATE alike stays excused.
    let (verdict, why) = judged(exception(json!({
        "conditions": {"any": [{"key": "{{ request.operation }}", "operator": "NotEquals", "value": "DELETE"}]}
    })));
    assert_eq!(verdict, Verdict::Ready, "{why}");
}

/// verify31 F4, F8: a CEL exception on a NamespacedValidatingPolicy was
/// not read at all; a `background: false` exception limited to CREATE or
/// to a requester was counted "excused at admission" and the policy GO.
#[test]
fn partial_exceptions_on_namespaced_cel_policies_and_at_admission_are_not_ready() {
    let mut record = scan(true, &[]);
    record.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Namespace {
        namespace: "*".into(),
    });
    let nvp = json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "NamespacedValidatingPolicy",
        "metadata": {"name": "nvp", "namespace": "a", "managedFields": [{"manager": "kubectl", "time": "2026-11-01T00:00:00Z"}]},
        "spec": {"validationActions": ["Audit"],
                 "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}]},
                 "validations": [{"expression": "true"}]}});
    let cel_exception = |expression: &str| {
        json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "PolicyException",
            "metadata": {"name": "vendor", "namespace": "a"},
            "spec": {"policyRefs": [{"name": "nvp", "kind": "NamespacedValidatingPolicy"}],
                     "matchConditions": [{"name": "m", "expression": expression}]}})
    };
    let judged = |exception: Value| {
        let mut skipped = result("a/nvp", "skip", "a", "vendor");
        skipped["properties"] = json!({"exceptions": "vendor"});
        skipped.as_object_mut().expect("object").remove("rule");
        let mut passed = result("a/nvp", "pass", "a", "p");
        passed.as_object_mut().expect("object").remove("rule");
        judge_policy(
            "nvp",
            vec![report(vec![skipped, passed])],
            vec![nvp.clone(), exception],
            Some(record.clone()),
        )
    };
    for expression in [
        "request.operation == 'CREATE' && object.metadata.name == 'vendor'",
        "!(request.operation == 'UPDATE') && object.metadata.name == 'vendor'",
        "request.operation == 'UPDATE' ? false : object.metadata.name == 'vendor'",
    ] {
        let (verdict, why) = judged(cel_exception(expression));
        assert_eq!(verdict, Verdict::NotReady, "{expression}: {why}");
        assert!(
            why.contains("PolicyException a/vendor excuses only"),
            "{why}"
        );
    }
    let (verdict, why) = judged(cel_exception("object.metadata.name == 'vendor'"));
    assert_eq!(verdict, Verdict::Ready, "{why}");

    // background: false, CREATE only: its fail is excused at admission.
    let kyverno_exception = |extra: Value| vendor_exception(json!({"background": false}), extra);
    let judged = |exception: Value| {
        let mut failed = result("clean", "fail", "a", "vendor");
        failed["properties"] = json!({"polscan.io/admission-exceptions": "vendor"});
        judge_policy(
            "clean",
            vec![report(vec![failed, result("clean", "pass", "a", "p")])],
            vec![policy("clean", "Audit", "2026-11-01T00:00:00Z"), exception],
            Some(record.clone()),
        )
    };
    for extra in [
        json!({"match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["vendor"], "operations": ["CREATE"]}}]}}),
        json!({"conditions": {"any": [{"key": "{{ request.operation }}", "operator": "Equals", "value": "CREATE"}]}}),
        json!({"match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["vendor"]}, "subjects": [{"kind": "User", "name": "alice"}]}]}}),
    ] {
        let (verdict, why) = judged(kyverno_exception(extra.clone()));
        assert_eq!(verdict, Verdict::NotReady, "{extra}: {why}");
        assert!(
            why.contains("PolicyException vendor (background: false) excuses at admission only"),
            "{why}"
        );
    }
    let (verdict, why) = judged(kyverno_exception(json!({})));
    assert_eq!(verdict, Verdict::Ready, "{why}");
    // walk34: the exception deleted since the scan: its fail is excused
    // by nothing now (it stayed GO, and ENFORCED once enforced).
    let mut failed = result("clean", "fail", "a", "vendor");
    failed["properties"] = json!({"polscan.io/admission-exceptions": "vendor"});
    let (verdict, why) = judge_policy(
        "clean",
        vec![report(vec![failed, result("clean", "pass", "a", "p")])],
        vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
        Some(record.clone()),
    );
    assert_eq!(verdict, Verdict::NotReady, "{why}");
    assert!(
        why.contains(
            "1 fail(s) excused at admission by PolicyException vendor, which no longer exists"
        ),
        "{why}"
    );
}

/// walk31 F14: an expired annotation left on a resource the rule passes
/// now blocked GO ("has expired"), where a still-valid one was "no longer
/// needed": Kyverno would reject nothing. A note says to remove it.
#[test]
fn an_expired_annotation_on_a_resource_that_passes_blocks_nothing() {
    let mut warning = rule_result("pods", annotation_exceptions::EXCEPTION_RULE, "warn", "p1");
    warning["properties"] = json!({"exception-status": "expired", "exception-rules": "check",
                                   "exception-expires": "2026-11-01"});
    let evidence = build(&input(
        vec![report(vec![
            warning,
            rule_result("pods", "check", "pass", "p1"),
        ])],
        vec![policy("pods", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let pods = find(&evidence, "pods");
    assert_eq!(pods.verdict, Verdict::Ready, "{:?}", pods.reasons);
    assert!(
        pods.notes
            .iter()
            .any(|n| n.contains("has expired and is no longer needed (the resource passes)")),
        "{:?}",
        pods.notes
    );
    // walk47 W47-4: skipped by a PolicyException, it does not pass.
    let mut warning = rule_result("pods", annotation_exceptions::EXCEPTION_RULE, "warn", "p1");
    warning["properties"] = json!({"exception-status": "expired", "exception-rules": "check",
                                   "exception-expires": "2026-11-01"});
    let mut skipped = rule_result("pods", "check", "skip", "p1");
    skipped["properties"] = json!({"exceptions": "vendor"});
    let evidence = build(&input(
        vec![report(vec![warning, skipped])],
        vec![policy("pods", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let pods = find(&evidence, "pods");
    assert!(
        !pods.notes.iter().any(|n| n.contains("the resource passes")),
        "{:?}",
        pods.notes
    );
    assert!(
        pods.reasons.iter().any(|r| r.contains("has expired")),
        "{:?}",
        pods.reasons
    );
}

/// A kyverno.io/v2 PolicyException `ops/vendor` excusing rule `check` of
/// `clean` for Pod `vendor`, its spec starting from `base` with `extra`'s
/// fields set over it.
fn vendor_exception(base: Value, extra: Value) -> Value {
    let mut spec = base;
    spec["exceptions"] = json!([{"policyName": "clean", "ruleNames": ["check"]}]);
    spec["match"] = json!({"any": [{"resources": {"kinds": ["Pod"], "names": ["vendor"]}}]});
    for (key, value) in extra.as_object().expect("object") {
        spec[key] = value.clone();
    }
    json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
           "metadata": {"name": "vendor", "namespace": "ops"}, "spec": spec})
}

/// walk34: a GO resting on a PolicyException that says no owner, reason
/// or expiry was not flagged. It stays GO (Kyverno applies the exception
/// all the same) and says it beside the decision; a documented one and an
/// exception of another policy say nothing.
#[test]
fn a_go_resting_on_an_undocumented_exception_says_so() {
    let exception = |name: &str, annotations: Value, policy: &str| {
        json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
               "metadata": {"name": name, "namespace": "ops", "annotations": annotations},
               "spec": {"exceptions": [{"policyName": policy, "ruleNames": ["check"]}], "match": {}}})
    };
    let skip = |resource: &str, by: &str| {
        let mut skipped = result("clean", "skip", "a", resource);
        skipped["properties"] = json!({"exceptions": by});
        skipped
    };
    let evidence = build(&input(
        vec![report(vec![
            skip("vendor", "bare"),
            skip("legacy", "documented"),
            skip("old", "half"),
            result("clean", "pass", "a", "p"),
        ])],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            exception("bare", json!({}), "clean"),
            exception(
                "documented",
                json!({"polscan.io/exception-owner": "team-a",
                       "polscan.io/exception-reason": "vendor image",
                       "polscan.io/exception-expires": "2027-06-01"}),
                "clean",
            ),
            exception(
                "half",
                json!({"polscan.io/exception-owner": "team-a"}),
                "clean",
            ),
            exception("unused", json!({}), "other"),
        ],
        Some(ScanRecord {
            policy_exceptions: Some(crate::run::exception_scope::ExceptionScope::Namespace {
                namespace: "ops".into(),
            }),
            ..scan(true, &[])
        }),
    ));
    let clean = find(&evidence, "clean");
    assert_eq!(clean.verdict, Verdict::Ready, "{:?}", clean.reasons);
    assert_eq!(
        clean.undocumented_exceptions.len(),
        2,
        "{:?}",
        clean.undocumented_exceptions
    );
    assert!(clean.undocumented_exceptions[0].starts_with(
        "rests on PolicyException ops/bare, which skips 1 result(s) and gives no owner, reason and expiry"
    ));
    assert!(clean.undocumented_exceptions[1].starts_with(
        "rests on PolicyException ops/half, which skips 1 result(s) and gives no reason and expiry"
    ));
    assert!(clean.notes.contains(&clean.undocumented_exceptions[0]));
    let decided = crate::verdict::decision::decide(&evidence);
    let go = decided.iter().find(|d| d.policy == "clean").expect("clean");
    assert_eq!(go.decision, crate::model::Decision::Go);
    assert_eq!(go.reasons.len(), 2, "{:?}", go.reasons);
    assert!(go.reasons[0].contains("ops/bare"));
    assert!(markdown::render(&evidence).contains("rests on PolicyException ops/bare"));
}

/// verify39 F9: a PolicyException testing the requester through the
/// request's `roles` or `clusterRoles` (empty in a scan) excuses only some
/// requests.
#[test]
fn an_exception_testing_the_requester_s_roles_is_flagged() {
    for key in [
        "n{{ length(request.clusterRoles || `[]`) }}",
        "{{ request.roles | length(@) }}",
        // verify40 N1: fields a scan leaves out, set at every admission.
        "n{{ request.uid || '0' }}",
        "n{{ request.name || '0' }}",
    ] {
        let exception = json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
            "metadata": {"name": "x", "namespace": "t2"},
            "spec": {"exceptions": [{"policyName": "p", "ruleNames": ["r"]}],
                     "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
                     "conditions": {"any": [{"key": key, "operator": "Equals", "value": "n0"}]}}});
        let why = crate::ingest::policy_info::exception_create_only(&exception);
        // The requester's, or another field only admission sets.
        assert!(why.is_some(), "{key}: {why:?}");
    }
}

/// verify42 F6: a PolicyException whose conditions read the clock (a
/// disguised expiry) excused the scan's object and was GO with no expiry;
/// it excuses only at some moments.
#[test]
fn an_exception_on_the_clock_is_flagged() {
    let exception = |conditions: Value, context: Value| {
        json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
            "metadata": {"name": "x", "namespace": "t2"},
            "spec": {"exceptions": [{"policyName": "p", "ruleNames": ["r"]}],
                     "match": {"any": [{"resources": {"kinds": ["ConfigMap"], "operations": ["CREATE", "UPDATE"]}}]},
                     "context": context,
                     "conditions": conditions}})
    };
    let on_clock = json!({"any": [{"key": "{{ time_before(time_now_utc(), '2027-01-01T00:00:00Z') }}", "operator": "Equals", "value": true}]});
    let why = crate::ingest::policy_info::exception_create_only(&exception(on_clock, json!([])));
    assert!(
        why.as_deref().is_some_and(|w| w.contains("time_now_utc()")),
        "{why:?}"
    );
    let via_context = crate::ingest::policy_info::exception_create_only(&exception(
        json!({"any": [{"key": "{{ n }}", "operator": "Equals", "value": "1"}]}),
        json!([{"name": "n", "variable": {"jmesPath": "random('[0-9]')"}}]),
    ));
    assert!(via_context.is_some(), "{via_context:?}");
    let plain = crate::ingest::policy_info::exception_create_only(&exception(
        json!({"any": [{"key": "{{ request.object.metadata.name }}", "operator": "Equals", "value": "p1"}]}),
        json!([]),
    ));
    assert!(plain.is_none(), "{plain:?}");
}
