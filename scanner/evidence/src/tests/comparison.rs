//! Comparison with earlier evidence (`--since`): new, fixed and excused
//! violations, what is unknown after an incomplete scan, scans that applied
//! different exceptions, and the pages' since section.

use super::*;
use crate::model::Decision;

#[test]
fn scans_that_applied_different_exceptions_are_not_compared_like_with_like() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let other = policy("other", "Audit", "2026-11-01T00:00:00Z");
    let exception = polex("team-b", "sneaky", "2026-11-01T00:00:00Z");
    let mut reports = guarded_reports();
    reports[0]["results"]
        .as_array_mut()
        .expect("results")
        .push(result("other", "pass", "team-a", "good"));
    let policies = vec![guarded, other, exception];
    let before = build(&input(
        reports.clone(),
        policies.clone(),
        Some(applied_in("team-b")),
    ));
    // The same cluster, scanned without exceptions (Kyverno's default):
    // the skip is a failure now, but that is the setting, not the workload.
    let mut unskipped = reports.clone();
    unskipped[0]["results"][0] = result("guarded", "fail", "team-b", "sneaky");
    let mut no_exceptions = scan(true, &[]);
    no_exceptions.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
    let mut after = build(&input(unskipped, policies.clone(), Some(no_exceptions)));
    let comparison = compare::compare(&before, &after);
    let change = comparison
        .exception_scope_change
        .as_ref()
        .expect("the change of PolicyExceptions applied is named");
    assert!(change.previous.contains("team-b"), "{change:?}");
    let guarded_check = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "guarded")
        .expect("guarded is enforced");
    assert!(
        guarded_check.conditions.iter().any(|c| c.met
            && c.condition
                .contains("the previous package's scan applied that this scan did not")
            && c.detail.starts_with("team-b/sneaky")),
        "{guarded_check:?}"
    );
    // A policy no exception names is compared as before.
    let other_check = comparison
        .readiness_checks
        .iter()
        .find(|c| c.policy == "other")
        .expect("other is in Audit");
    assert!(other_check.still_ready, "{other_check:?}");
    after.comparison = Some(comparison);
    assert!(markdown::render(&after).contains("the scans applied different PolicyExceptions"));
    assert!(html::render(&after).contains("id=\"exception-scope-change\""));
    // The same setting on both sides: nothing said, no condition met.
    let again = build(&input(
        reports.clone(),
        policies.clone(),
        Some(applied_in("team-b")),
    ));
    let same = compare::compare(&before, &again);
    assert!(same.exception_scope_change.is_none());
    assert!(
        same.rollback_checks.iter().all(|c| !c.roll_back),
        "{same:?}"
    );
    // Widened to every namespace: the same exception applies, the same
    // results: said, but nothing to roll back.
    let widened = build(&input(reports, policies, Some(applied_in("*"))));
    let wider = compare::compare(&before, &widened);
    assert!(wider.exception_scope_change.is_some());
    assert!(
        wider.rollback_checks.iter().all(|c| !c.roll_back),
        "{wider:?}"
    );
}

#[test]
fn an_annotation_excuse_dropped_is_the_same_violation_not_a_new_one() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let before = build(&input(
        vec![report(vec![annotation_skipped(
            "guarded", "check", "legacy", "fail",
        )])],
        vec![guarded.clone()],
        Some(scan(true, &[])),
    ));
    // The annotation is removed: to Kyverno nothing changed.
    let after = build(&input(
        vec![report(vec![result("guarded", "fail", "a", "legacy")])],
        vec![guarded.clone()],
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    assert!(comparison.new_violations.is_empty(), "{comparison:?}");
    // No new fail. The first package already called the enforced policy
    // NO-GO on that violator, a fail to Kyverno (walk79: it read ENFORCED,
    // not checked): nothing it left unchecked calls for a rollback now,
    // and the violation, standing, keeps the decision NO-GO.
    assert_eq!(
        before.decisions[0].decision,
        Decision::NoGo,
        "{:?}",
        before.decisions
    );
    let check = &comparison.rollback_checks[0];
    assert!(check.conditions.iter().all(|c| !c.met), "{comparison:?}");
    let mut after = after;
    after.comparison = Some(comparison.clone());
    let decided = crate::verdict::decision::decide(&after);
    assert_eq!(decided[0].decision, Decision::NoGo, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("they stood in the previous package too"),
        "{decided:?}"
    );
    // The resource is fixed: the annotation's violation is fixed too.
    let fixed = build(&input(
        vec![report(vec![result("guarded", "pass", "a", "legacy")])],
        vec![guarded],
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &fixed);
    assert_eq!(comparison.fixed_violations.len(), 1, "{comparison:?}");
}

#[test]
fn a_new_violation_excused_only_by_an_annotation_rolls_an_enforced_policy_back() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let before = build(&input(
        vec![report(vec![result("guarded", "pass", "a", "good")])],
        vec![guarded.clone()],
        Some(scan(true, &[])),
    ));
    // A new Pod violates, and its own annotation excuses it: Kyverno does
    // not read the annotation and rejects the Pod's next creation.
    let after = build(&input(
        vec![report(vec![
            result("guarded", "pass", "a", "good"),
            annotation_skipped("guarded", "check", "sneaky", "fail"),
        ])],
        vec![guarded],
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    assert_eq!(comparison.new_violations.len(), 1, "{comparison:?}");
    assert!(comparison.new_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("Kyverno's admission does not read")));
    let check = &comparison.rollback_checks[0];
    assert!(
        check.roll_back
            && check.conditions[0].met
            && check.conditions[0].detail.contains("a/Pod/sneaky"),
        "{check:?}"
    );
}

#[test]
fn a_filtered_package_compares_only_its_policies_exceptions() {
    let policies = vec![
        policy("guarded", "Audit", "2026-11-01T00:00:00Z"),
        policy("other", "Audit", "2026-11-01T00:00:00Z"),
        polex("team-b", "sneaky", "2026-11-01T00:00:00Z"),
    ];
    let before = build(&input(
        guarded_reports(),
        policies.clone(),
        Some(applied_in("*")),
    ));
    let mut filtered = input(guarded_reports(), policies, Some(applied_in("*")));
    filtered.policy_filter = vec!["other".into()];
    let after = build(&filtered);
    let comparison = compare::compare(&before, &after);
    assert!(comparison.removed_exceptions.is_empty(), "{comparison:?}");
    assert!(comparison.new_exceptions.is_empty(), "{comparison:?}");
}

#[test]
fn comparison_finds_new_and_fixed_violations_and_checks_rollback() {
    let policies = vec![
        policy("moved", "Enforce", "2026-11-01T00:00:00Z"),
        policy("stays", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let before = build(&input(
        vec![report(vec![
            result("moved", "pass", "a", "p1"),
            result("stays", "fail", "a", "old"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&before, "moved").verdict, Verdict::Ready);
    let after = build(&input(
        vec![report(vec![
            result("moved", "fail", "a", "p1"),
            result("stays", "pass", "a", "old"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    assert_eq!(comparison.new_violations.len(), 1);
    assert_eq!(comparison.new_violations[0].policy, "moved");
    assert_eq!(comparison.fixed_violations.len(), 1);
    assert_eq!(comparison.fixed_violations[0].resource, "a/Pod/old");
    let check = comparison
        .rollback_checks
        .iter()
        .find(|c| c.policy == "moved")
        .expect("moved is checked");
    assert!(check.roll_back);
    assert!(check.conditions[0].met && !check.conditions[1].met && !check.conditions[2].met);
    assert!(
        comparison
            .rollback_checks
            .iter()
            .all(|c| c.policy != "stays"),
        "a policy that was not ready and is in Audit has nothing to roll back"
    );

    // The same violation with another result is neither new nor fixed.
    let errored = build(&input(
        vec![report(vec![
            result("moved", "pass", "a", "p1"),
            result("stays", "error", "a", "old"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let same = compare::compare(&before, &errored);
    assert!(same.new_violations.is_empty() && same.fixed_violations.is_empty());

    // Nothing new and a complete scan: no condition met.
    let steady = compare::compare(&before, &before);
    assert!(steady.rollback_checks.iter().all(|c| !c.roll_back));
    // A failed scan confirms nothing, but is no rollback condition: the
    // scanner failing changes nothing in the cluster.
    let broken = build(&input(
        vec![report(vec![result("moved", "pass", "a", "p1")])],
        policies,
        Some(scan(false, &["Pod"])),
    ));
    let check = compare::compare(&before, &broken);
    let moved = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "moved")
        .expect("moved is checked");
    assert!(
        moved.needs_rescan()
            && moved
                .rescan
                .as_deref()
                .is_some_and(|gaps| gaps.contains("failed kinds: Pod")),
        "{moved:?}"
    );
}

#[test]
fn a_violation_the_policy_no_longer_evaluates_is_not_fixed() {
    use crate::ingest::results::{LEFT_SCOPE, NO_RESULTS_OFFLINE, NO_RESULTS_STILL_THERE};
    let policies = vec![
        policy("dirty", "Audit", "2026-11-01T00:00:00Z"),
        namespaced_policy("team-a", "local"),
    ];
    let before = build(&input(
        vec![report(vec![
            result("dirty", "fail", "a", "fixed"),
            result("dirty", "fail", "a", "moved"),
            result("team-a/local", "fail", "team-a", "fixed"),
            result("team-a/local", "fail", "team-a", "moved"),
            result("dirty", "fail", "a", "gone"),
            result("dirty", "fail", "a", "unselected"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    // Now `fixed` passes; `moved` has results of another policy but none
    // of these (it left their scope); `gone` and `unselected` have none
    // at all: the cluster no longer has `gone` (deleted, as a rollout
    // replaces Pods: a fix) but still has `unselected` (it left the
    // policy's scope and nothing else reports on it).
    let after_input = input(
        vec![report(vec![
            result("dirty", "pass", "a", "fixed"),
            result("team-a/local", "pass", "team-a", "fixed"),
            result("other", "fail", "a", "moved"),
            result("other", "pass", "team-a", "moved"),
        ])],
        policies,
        Some(scan(true, &[])),
    );
    let after = build(&after_input);
    let pod = |namespace: &str, name: &str| ObjectName {
        kind: "Pod".into(),
        namespace: namespace.into(),
        name: name.into(),
    };
    let present = BTreeSet::from([pod("a", "unselected")]);
    let judge = |present: Option<&BTreeSet<ObjectName>>| {
        compare::compare_with(&before, &after, &|policy, rule, resource| {
            after_input
                .reports
                .why_not_fixed(policy, rule, resource, present)
        })
    };
    let names = |changes: &[ViolationChange]| -> Vec<String> {
        changes
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.policy,
                    c.resource,
                    c.reason.as_deref().unwrap_or("")
                )
            })
            .collect()
    };
    let comparison = judge(Some(&present));
    assert_eq!(
        names(&comparison.fixed_violations),
        [
            "dirty a/Pod/fixed ",
            "dirty a/Pod/gone ",
            "team-a/local team-a/Pod/fixed "
        ]
    );
    assert_eq!(
        names(&comparison.unknown_violations),
        [
            format!("dirty a/Pod/moved {LEFT_SCOPE}"),
            format!("dirty a/Pod/unselected {NO_RESULTS_STILL_THERE}"),
            format!("team-a/local team-a/Pod/moved {LEFT_SCOPE}"),
        ]
    );
    // Reports read from files: whether a resource no result names still
    // exists is not known, so its violation is not known to be fixed.
    let offline = judge(None);
    assert_eq!(offline.fixed_violations.len(), 2, "{offline:?}");
    assert!(offline
        .unknown_violations
        .iter()
        .any(|c| c.resource == "a/Pod/gone" && c.reason.as_deref() == Some(NO_RESULTS_OFFLINE)));
    assert!(markdown::render(&Evidence {
        comparison: Some(comparison),
        ..after
    })
    .contains("left the policy's scope"));
}

#[test]
fn a_violation_missing_after_an_incomplete_scan_is_unknown_not_fixed() {
    let policies = vec![
        policy("dirty", "Audit", "2026-11-01T00:00:00Z"),
        policy("other", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let before = build(&input(
        vec![report(vec![
            result("dirty", "fail", "a", "gone"),
            result("other", "fail", "a", "gone"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let after_with = |record: ScanRecord| {
        build(&input(
            vec![report(vec![
                result("dirty", "pass", "a", "p1"),
                result("other", "pass", "a", "p1"),
            ])],
            policies.clone(),
            Some(record),
        ))
    };
    // Complete: both are fixed.
    let fixed = compare::compare(&before, &after_with(scan(true, &[])));
    assert_eq!(fixed.fixed_violations.len(), 2);
    assert!(fixed.unknown_violations.is_empty());

    // Pods failed to list: the reports may just lack the Pod's results.
    let listed = compare::compare(&before, &after_with(scan(false, &["Pod"])));
    assert!(listed.fixed_violations.is_empty(), "{listed:?}");
    assert_eq!(listed.unknown_violations.len(), 2);
    assert!(listed.unknown_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("could not list Pod")));
    // A failed list of another kind does not hide a Pod's fix.
    let other_kind = compare::compare(&before, &after_with(scan(false, &["ConfigMap"])));
    assert_eq!(other_kind.fixed_violations.len(), 2);
    // A scan that listed kinds, but not Pods, left the Pods' reports alone.
    let mut no_pods = scan(true, &[]);
    no_pods.objects_by_kind = Some([("ConfigMap".to_string(), 4)].into_iter().collect());
    let unlisted = compare::compare(&before, &after_with(no_pods));
    assert!(unlisted.fixed_violations.is_empty());
    assert!(unlisted.unknown_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("did not list Pod")));
    // Evidence for other namespaces only says nothing about namespace a.
    let mut elsewhere = input(
        vec![report(vec![result("dirty", "pass", "b", "p1")])],
        policies.clone(),
        Some(scan(true, &[])),
    );
    elsewhere.namespace_filter = vec!["b".into()];
    let filtered = compare::compare(&before, &build(&elsewhere));
    assert!(filtered.fixed_violations.is_empty(), "{filtered:?}");
    assert!(filtered.unknown_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("namespace a")));

    // Reports that could not be written: no absence proves a fix.
    let mut unwritten = scan(false, &[]);
    unwritten.write_failed_reports = 3;
    let after = after_with(unwritten);
    let comparison = compare::compare(&before, &after);
    assert!(comparison.fixed_violations.is_empty());
    assert!(comparison.unknown_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("failed to write 3")));
    assert_eq!(find(&after, "dirty").verdict, Verdict::NotReady);
    assert!(find(&after, "dirty")
        .reasons
        .iter()
        .any(|r| r.contains("failed to write 3 report(s)")));

    // A policy that failed to load: its violations are unknown and it is
    // not ready, naming why; the other policy is unaffected.
    let mut invalid = scan(false, &[]);
    invalid.invalid_policies = vec!["dirty".into()];
    let after = after_with(invalid);
    let comparison = compare::compare(&before, &after);
    assert_eq!(comparison.fixed_violations.len(), 1);
    assert_eq!(comparison.fixed_violations[0].policy, "other");
    assert_eq!(comparison.unknown_violations[0].policy, "dirty");
    let dirty = find(&after, "dirty");
    assert_eq!(dirty.verdict, Verdict::NotReady);
    assert!(
        dirty
            .reasons
            .iter()
            .any(|r| r.contains("could not load this policy")),
        "{:?}",
        dirty.reasons
    );
    assert_eq!(find(&after, "other").verdict, Verdict::Ready);

    // ClusterPolicies could not be read: every ClusterPolicy is affected.
    let mut unread = scan(false, &[]);
    unread.failed_policy_sources = vec!["clusterpolicies.kyverno.io".into()];
    let after = after_with(unread);
    let comparison = compare::compare(&before, &after);
    assert!(comparison.fixed_violations.is_empty());
    assert!(find(&after, "other")
        .reasons
        .iter()
        .any(|r| r.contains("could not read clusterpolicies.kyverno.io")));
    // Some policy missing from the scan, but the record does not say which
    // (the reports carry older results over): nothing is known fixed.
    let mut unnamed = scan(false, &[]);
    unnamed.policies_incomplete = true;
    let after = after_with(unnamed);
    assert!(compare::compare(&before, &after)
        .fixed_violations
        .is_empty());
    assert!(find(&after, "other")
        .reasons
        .iter()
        .any(|r| r.contains("does not record which")));
    // A PolicyException the record names (walk22 M1: it still said "does
    // not record which"): named in every policy's reasons.
    let mut named = scan(false, &[]);
    named.policies_incomplete = true;
    named.load_errors = BTreeMap::from([(
        "PolicyException team-b/bad-exception".to_string(),
        "invalid field spec.match: is required".to_string(),
    )]);
    let after = after_with(named);
    let reasons = &find(&after, "other").reasons;
    assert!(
        reasons.iter().any(|r| r.contains(
            "could not load PolicyException team-b/bad-exception: invalid field spec.match"
        )),
        "{reasons:?}"
    );
    assert!(
        !reasons.iter().any(|r| r.contains("does not record which")),
        "{reasons:?}"
    );
    // One the record says names another policy touches that one only
    // (one team's broken exception held every team's policy back).
    let mut elsewhere = scan(false, &[]);
    elsewhere.policies_incomplete = true;
    elsewhere.load_errors = BTreeMap::from([(
        "PolicyException team-b/bad-exception".to_string(),
        "invalid field spec.match: is required".to_string(),
    )]);
    elsewhere.load_error_policies = BTreeMap::from([(
        "PolicyException team-b/bad-exception".to_string(),
        vec!["team-b/theirs".to_string()],
    )]);
    let after = after_with(elsewhere.clone());
    let reasons = &find(&after, "other").reasons;
    assert!(
        !reasons
            .iter()
            .any(|r| r.contains("bad-exception") || r.contains("does not record which")),
        "{reasons:?}"
    );
    elsewhere.load_error_policies.insert(
        "PolicyException team-b/bad-exception".into(),
        vec!["other".into()],
    );
    let after = after_with(elsewhere);
    assert!(find(&after, "other")
        .reasons
        .iter()
        .any(|r| r.contains("could not load PolicyException team-b/bad-exception")));
    // A scan of some namespaces says nothing about the others, where
    // Kyverno enforces a ClusterPolicy too.
    let mut some = scan(true, &[]);
    some.namespaces = vec!["b".into()];
    let after = after_with(some);
    assert!(compare::compare(&before, &after)
        .fixed_violations
        .is_empty());
    assert!(
        find(&after, "other").reasons.iter().any(|r| r.contains(
            "did not cover the namespaces other than b (it scanned only b, with --namespace)"
        )),
        "{:?}",
        find(&after, "other").reasons
    );
    let mut excluded = scan(true, &[]);
    excluded.excluded_namespaces = vec!["a".into()];
    let after = after_with(excluded);
    assert!(compare::compare(&before, &after)
        .fixed_violations
        .is_empty());
    assert!(find(&after, "other")
        .reasons
        .iter()
        .any(|r| r.contains("namespace(s) a (left out")));
    // ValidatingPolicies not read do not affect a ClusterPolicy.
    let mut unrelated = scan(false, &[]);
    unrelated.failed_policy_sources = vec!["validatingpolicies.policies.kyverno.io".into()];
    assert_eq!(
        find(&after_with(unrelated), "other").verdict,
        Verdict::Ready
    );
}

#[test]
fn the_since_section_lists_the_resources_under_their_own_headings() {
    let policies = vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")];
    let before = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "old")])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut after = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "new")])],
        policies,
        Some(scan(true, &[])),
    ));
    after.comparison = Some(compare::compare(&before, &after));
    after.exceptions.push(ExceptionEvidence {
        source: "PolicyException".into(),
        name: "ops/gone".into(),
        policies: vec!["dirty".into()],
        owner: None,
        reason: None,
        expires: Some("2026-11-01".into()),
        status: ExceptionStatus::Expired,
        covered_results: 0,
        excused_violations: 0,
        resource: None,
        problem: None,
        policy_exception_file: None,
        targets: Vec::new(),
        create_only: None,
        expiry_by_kyverno: false,
    });
    after.comparison = Some(compare::compare(&before, &after));
    let markdown = markdown::render(&after);
    let since = &markdown[markdown.find("## Since").expect("since")..];
    assert!(
        since.contains("\n### New violations\n\n- dirty a/Pod/new fail (check)"),
        "{since}"
    );
    assert!(
        since.contains("\n### Fixed violations\n\n- dirty a/Pod/old fail (check)"),
        "{since}"
    );
    assert!(
        since.contains("\n### Expired exceptions\n\n- PolicyException ops/gone"),
        "{since}"
    );
    assert!(
        !since.contains("  - "),
        "nothing nested under a count: {since}"
    );
    let page = html::render(&after);
    let since = &page[page.find("id=\"since\"").expect("since")..];
    assert!(
        since.contains("<td class=\"resource\">a/Pod/new</td>"),
        "{since}"
    );
    assert!(
        since.contains("<td class=\"resource\">a/Pod/old</td>"),
        "{since}"
    );
}

#[test]
fn a_violation_now_skipped_by_an_exception_is_excused_not_fixed() {
    let policies = vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")];
    let before = build(&input(
        vec![report(vec![
            result("clean", "fail", "a", "excepted"),
            result("clean", "fail", "a", "repaired"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut skipped = result("clean", "skip", "a", "excepted");
    skipped["properties"] = json!({"exceptions": "vendor-image"});
    let after = build(&input(
        vec![report(vec![
            skipped,
            result("clean", "pass", "a", "repaired"),
        ])],
        policies,
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    let names = |changes: &[ViolationChange]| -> Vec<String> {
        changes.iter().map(|c| c.resource.clone()).collect()
    };
    assert_eq!(names(&comparison.fixed_violations), ["a/Pod/repaired"]);
    assert_eq!(names(&comparison.excused_violations), ["a/Pod/excepted"]);
}

/// walk39 F1: a CEL PolicyException's skip is reported under rule
/// `exception`, the ValidatingPolicy's fail under its own (unnamed) rule:
/// the violation read "left the policy's scope", not excused.
#[test]
fn a_violation_now_skipped_by_a_cel_exception_is_excused_not_unknown() {
    let policies = vec![validating_policy("vp")];
    let before = build(&input(
        vec![report(vec![
            cel_result("vp", "fail", "excepted"),
            cel_result("vp", "pass", "other"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut skipped = cel_result("vp", "skip", "excepted");
    skipped["rule"] = json!("exception");
    skipped["properties"] = json!({"exceptions": "vendor-image"});
    let after = build(&input(
        vec![report(vec![skipped, cel_result("vp", "pass", "other")])],
        policies,
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &after);
    let names = |changes: &[ViolationChange]| -> Vec<String> {
        changes.iter().map(|c| c.resource.clone()).collect()
    };
    assert_eq!(
        names(&comparison.excused_violations),
        ["a/Pod/excepted"],
        "{comparison:?}"
    );
    assert!(comparison.unknown_violations.is_empty(), "{comparison:?}");
    assert!(comparison.fixed_violations.is_empty(), "{comparison:?}");
}

#[test]
fn a_violation_its_annotation_skipped_before_and_now_over_a_pass_is_fixed_not_newly_excused() {
    let policies = vec![policy(
        "require-team-label",
        "Audit",
        "2026-11-01T00:00:00Z",
    )];
    // The package of one result: `result`.
    let package = |result: Value| {
        build(&input(
            vec![report(vec![result])],
            policies.clone(),
            Some(scan(true, &[])),
        ))
    };
    let skipped_over =
        |was: &str| annotation_skipped("require-team-label", "check-team", "bypassed", was);
    // Skipped by its polscan.io/exception annotation over a fail.
    let before = package(skipped_over("fail"));
    // The label was added: the same annotation now skips a pass.
    let after = package(skipped_over("pass"));
    let comparison = compare::compare(&before, &after);
    // Not "now skipped by an exception": the annotation skipped it before
    // too, and to Kyverno, which does not read it, it passes now.
    assert!(comparison.excused_violations.is_empty(), "{comparison:?}");
    assert_eq!(comparison.fixed_violations.len(), 1, "{comparison:?}");
    assert!(comparison.fixed_violations[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("annotation still skips it")));
    let counts = comparison.counts();
    assert_eq!((counts[1].short_label, counts[1].count), ("fixed", 1));
    assert_eq!(counts[2].count, 0);
    // A skip that records nothing underneath (an older polscan) may hide
    // a fail: unchanged, as before.
    let mut unrecorded = skipped_over("");
    if let Some(properties) = unrecorded["properties"].as_object_mut() {
        properties.remove("exception-result");
    }
    let comparison = compare::compare(&before, &package(unrecorded));
    assert!(
        comparison.excused_violations.is_empty() && comparison.fixed_violations.is_empty(),
        "{comparison:?}"
    );
}

/// A policy of the previous package this one does not hold is named as
/// removed, in the pages too (walk25 F10: only its results vanished); one
/// the current package filtered out with `--policy` is not.
#[test]
fn policies_gone_since_the_previous_package_are_named() {
    let before = build(&input(
        vec![report(vec![
            result("kept", "pass", "a", "p1"),
            result("gone", "fail", "a", "p1"),
        ])],
        vec![
            policy("kept", "Audit", "2026-11-01T00:00:00Z"),
            policy("gone", "Enforce", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let mut now = build(&input(
        vec![report(vec![result("kept", "pass", "a", "p1")])],
        vec![policy("kept", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let comparison = compare::compare(&before, &now);
    assert_eq!(comparison.removed_policies, ["gone"]);
    now.comparison = Some(comparison);
    assert!(markdown::render(&now).contains("**policies removed since** (deleted, or not given; nothing checks what they checked): gone"));
    assert!(html::render(&now).contains("id=\"removed-policies\""));

    let mut filtered = input(
        vec![report(vec![result("kept", "pass", "a", "p1")])],
        vec![policy("kept", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    );
    filtered.policy_filter = vec!["kept".into()];
    let comparison = compare::compare(&before, &build(&filtered));
    assert!(comparison.removed_policies.is_empty(), "{comparison:?}");
}

/// walk34: an offline package given as --since turned a cluster's ROLL
/// BACK into ENFORCED; another cluster's or source's package is refused.
#[test]
fn a_package_of_another_cluster_or_source_is_no_previous_package() {
    let built = || {
        build(&input(
            vec![report(vec![result("strict", "pass", "a", "p1")])],
            vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        ))
    };
    let current = built();
    assert_eq!(crate::compare::lineage_problem(&built(), &current), None);
    let mut files = built();
    files.cluster.source = "files".into();
    files.cluster.kube_system_uid = None;
    let problem = crate::compare::lineage_problem(&files, &current).expect("refused");
    assert!(problem.contains("an audit of files"), "{problem}");
    let mut other = built();
    other.cluster.kube_system_uid = Some("another-uid".into());
    let problem = crate::compare::lineage_problem(&other, &current).expect("refused");
    assert!(problem.contains("another cluster"), "{problem}");
}

/// walk74 W74-3: a violation gone because the last scan did not read its
/// policy at all (a --policy file left out of that scan) is not known to
/// be fixed, and the reason says so, not "it left the policy's scope".
#[test]
fn a_violation_gone_with_its_policy_unread_by_the_last_scan_says_so() {
    let policies = vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")];
    let before = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "web")])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut record = scan(true, &[]);
    // The last scan read another policy only.
    record.input_digests = Some(BTreeMap::from([(
        "kyverno.io/ClusterPolicy//other".to_string(),
        "d".to_string(),
    )]));
    let after = build(&input(
        vec![report(vec![result("other", "pass", "a", "web")])],
        policies,
        Some(record),
    ));
    let comparison = compare::compare(&before, &after);
    assert!(comparison.fixed_violations.is_empty(), "{comparison:?}");
    let [unknown] = comparison.unknown_violations.as_slice() else {
        panic!("one not known to be fixed: {comparison:?}");
    };
    assert!(
        unknown
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("the last scan did not read the policy")),
        "{unknown:?}"
    );
}
