//! The recheck at evidence time: a violator the dry-run scan finds now
//! turns a policy that would be GO into NO-GO, naming it; a recheck that
//! did not cover the policy holds it at WAIT; a clean one confirms it with
//! a note; other verdicts stay.

use super::*;
use crate::model::Decision;
use crate::verdict::decision;
use crate::verdict::recheck::{apply, Recheck, RecheckFinding, RecheckViolations};

/// `clean` and `also-clean` ready (ClusterPolicies), `team/local` ready
/// (a namespaced Policy), `dirty` not ready.
fn evidence() -> Evidence {
    build(&input(
        vec![report(vec![
            result("clean", "pass", "a", "p1"),
            result("also-clean", "pass", "a", "p1"),
            result("team/local", "pass", "team", "p3"),
            result("dirty", "fail", "team-a", "p2"),
        ])],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            policy("also-clean", "Audit", "2026-11-01T00:00:00Z"),
            namespaced_policy("team", "local"),
            policy("dirty", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ))
}

fn checked(names: &[&str]) -> Recheck {
    Recheck {
        at: Some(at("2026-11-22T00:00:00Z")),
        evaluated: names.iter().map(|n| n.to_string()).collect(),
        ..Recheck::default()
    }
}

/// The recheck's violations at `(namespace, ConfigMap name, rule)`.
fn found_in(at: &[(&str, &str, &str)]) -> RecheckViolations {
    let found: Vec<RecheckFinding> = at
        .iter()
        .map(|(namespace, name, rule)| RecheckFinding {
            namespace: namespace.to_string(),
            kind: "ConfigMap".into(),
            name: name.to_string(),
            rule: rule.to_string(),
            described: format!("{namespace}/ConfigMap/{name} (rule {rule}: fail)"),
        })
        .collect();
    RecheckViolations {
        count: found.len(),
        first: found.iter().take(3).map(|f| f.described.clone()).collect(),
        found,
    }
}

fn decision_of(evidence: &Evidence, name: &str) -> Decision {
    evidence
        .decisions
        .iter()
        .find(|d| d.policy == name)
        .map(|d| d.decision)
        .unwrap_or_else(|| panic!("no decision for {name}"))
}

#[test]
fn a_violator_found_now_turns_go_into_no_go_naming_it() {
    let mut built = evidence();
    assert_eq!(find(&built, "clean").verdict, Verdict::Ready);
    let mut recheck = checked(&["clean", "also-clean", "team/local", "dirty"]);
    recheck.violations.insert(
        "clean".into(),
        RecheckViolations {
            count: 5,
            first: vec!["shop/Pod/sneaky (rule check: fail)".into()],
            found: Vec::new(),
        },
    );
    apply(&mut built, &recheck);
    decision::apply(&mut built);
    let clean = find(&built, "clean");
    assert_eq!(clean.verdict, Verdict::NotReady);
    let reason = clean.reasons.join(" ");
    assert!(
        reason.starts_with("5 new failing result(s): ")
            && reason.contains("a dry-run scan at 2026-11-22T00:00:00Z found them"),
        "{reason}"
    );
    assert!(
        reason.contains("(started 2026-11-20T10:00:00Z)"),
        "{reason}"
    );
    assert!(
        reason.contains("shop/Pod/sneaky (rule check: fail) and 4 more"),
        "{reason}"
    );
    assert_eq!(decision_of(&built, "clean"), Decision::NoGo);
    assert_eq!(decision_of(&built, "also-clean"), Decision::Go);
    let also = find(&built, "also-clean");
    assert!(also.reasons.is_empty());
    assert!(
        also.notes
            .iter()
            .any(|n| n.starts_with("rechecked at 2026-11-22T00:00:00Z")),
        "{:?}",
        also.notes
    );
    // The namespaced policy is known by namespace/name.
    assert_eq!(find(&built, "local").verdict, Verdict::Ready);
}

#[test]
fn a_recheck_that_did_not_cover_the_policy_holds_it_at_wait() {
    let mut built = evidence();
    let mut recheck = checked(&["clean", "also-clean", "team/local"]);
    recheck.gaps.push("Pod: LIST forbidden".into());
    apply(&mut built, &recheck);
    decision::apply(&mut built);
    assert_eq!(find(&built, "clean").verdict, Verdict::Wait);
    assert!(find(&built, "clean").reasons[0].contains("(Pod: LIST forbidden)"));
    assert_eq!(decision_of(&built, "clean"), Decision::Wait);

    // Not evaluated: a namespaced policy's bare name is not its name.
    let mut built = evidence();
    apply(&mut built, &checked(&["clean", "local"]));
    assert_eq!(find(&built, "clean").verdict, Verdict::Ready);
    assert_eq!(find(&built, "also-clean").verdict, Verdict::Wait);
    assert_eq!(find(&built, "local").verdict, Verdict::Wait);
    assert!(find(&built, "local").reasons[0].contains("did not evaluate this policy"));
}

#[test]
fn other_verdicts_stay_as_they_are() {
    let mut built = evidence();
    let before = find(&built, "dirty").clone();
    let mut recheck = checked(&[]);
    recheck.gaps.push("deadline".into());
    recheck.violations.insert(
        "dirty".into(),
        RecheckViolations {
            count: 1,
            first: vec!["x".into()],
            found: Vec::new(),
        },
    );
    apply(&mut built, &recheck);
    assert_eq!(find(&built, "dirty"), &before);
}

/// walk32 F3: an enforced policy the recheck finds a new violator of was
/// ENFORCED, "no rollback condition met", beside its own NotReady reason:
/// it is a new fail Kyverno enforces, ROLL BACK.
#[test]
fn a_violator_found_now_of_an_enforced_policy_rolls_it_back() {
    let mut built = build(&input(
        vec![report(vec![result("strict", "pass", "a", "p1")])],
        vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let mut recheck = checked(&["strict"]);
    recheck
        .violations
        .insert("strict".into(), found_in(&[("shop", "sneaky", "check")]));
    let previous = build(&input(
        vec![report(vec![result("strict", "pass", "a", "p1")])],
        vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    apply(&mut built, &recheck);
    // walk34: with --since, the rollback checklist names it too (it said
    // "no rollback condition met" under a ROLL BACK decision).
    built.comparison = Some(crate::compare::compare(&previous, &built));
    decision::apply(&mut built);
    assert_eq!(decision_of(&built, "strict"), Decision::RollBack);
    let check = &built.comparison.as_ref().expect("compared").rollback_checks[0];
    assert!(check.roll_back, "{check:?}");
    // walk43: the decision's cell kept the words and cut the violator.
    let decided = decision::decide(&built);
    assert!(
        decided[0]
            .reasons
            .iter()
            .any(|r| r.contains("shop/ConfigMap/sneaky")),
        "{:?}",
        decided[0].reasons
    );
    assert!(
        check.conditions[0].met
            && check.conditions[0]
                .detail
                .contains("the evidence's recheck: 1 new failing result(s): shop/ConfigMap/sneaky")
            && check.conditions[0].detail.contains("shop/ConfigMap/sneaky"),
        "{check:?}"
    );
    // A clean recheck keeps it ENFORCED.
    let mut clean = build(&input(
        vec![report(vec![result("strict", "pass", "a", "p1")])],
        vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    apply(&mut clean, &checked(&["strict"]));
    decision::apply(&mut clean);
    assert_eq!(decision_of(&clean, "strict"), Decision::Enforced);
    // Not rechecked: ENFORCED says so where the decision is read (walk34).
    let mut unchecked = build(&input(
        vec![report(vec![result("strict", "pass", "a", "p1")])],
        vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    crate::verdict::recheck::not_rechecked(&mut unchecked, "--no-recheck");
    decision::apply(&mut unchecked);
    let decided = &unchecked.decisions[0];
    assert_eq!(decided.decision, Decision::Enforced);
    assert!(
        decided
            .reasons
            .iter()
            .any(|r| r.starts_with("not rechecked (--no-recheck)")),
        "{decided:?}"
    );
}

/// verify35: a `background: false` policy with nothing in its scope was
/// GO and noted "rechecked … nothing violates it", though the recheck
/// never evaluates such a policy; it now counts its objects.
#[test]
fn a_background_false_policy_is_rechecked_by_counting_its_objects() {
    let judged = |counts: Option<BTreeMap<String, usize>>| {
        let mut quiet = policy("quiet", "Audit", "2026-11-01T00:00:00Z");
        quiet["spec"]["background"] = json!(false);
        let mut record = scan(true, &[]);
        record.objects_by_kind = Some(pod_kinds_listed_empty());
        record.results_by_rule = Some(BTreeMap::new());
        record.kinds_by_rule = Some(BTreeMap::new());
        let mut built = build(&input(Vec::new(), vec![quiet], Some(record)));
        assert_eq!(find(&built, "quiet").verdict, Verdict::Ready);
        let mut recheck = checked(&["quiet"]);
        recheck.objects_by_kind = counts;
        apply(&mut built, &recheck);
        find(&built, "quiet").clone()
    };
    let still_none = judged(Some(pod_kinds_listed_empty()));
    assert_eq!(still_none.verdict, Verdict::Ready);
    assert!(
        still_none
            .notes
            .iter()
            .any(|n| n.contains("still no object of its kinds")),
        "{:?}",
        still_none.notes
    );
    assert!(!still_none
        .notes
        .iter()
        .any(|n| n.contains("nothing created or changed")));
    let mut one = pod_kinds_listed_empty();
    one.insert("apps/Deployment".into(), 1);
    let created = judged(Some(one));
    assert_eq!(
        created.verdict,
        Verdict::NoEvidence,
        "{:?}",
        created.reasons
    );
    assert!(
        created
            .reasons
            .iter()
            .any(|r| r.contains("found 1 object(s) of its kinds")),
        "{:?}",
        created.reasons
    );
    assert_eq!(judged(None).verdict, Verdict::Wait);
}

/// verify35: the recheck of enforced policies. One that already had a
/// violator was never rechecked for a new one; a violator where its rules
/// only audit read "ROLL BACK TO AUDIT"; a recheck that did not complete
/// left it ENFORCED, "no rollback condition met".
#[test]
fn an_enforced_policy_is_rechecked_for_new_violators_where_it_enforces() {
    let enforced = |results: Vec<Value>, document: Value| {
        build(&input(
            vec![report(results)],
            vec![document],
            Some(scan(true, &[])),
        ))
    };
    let strict = || policy("strict", "Enforce", "2026-11-01T00:00:00Z");
    let decided = |mut built: Evidence, recheck: &Recheck| {
        apply(&mut built, recheck);
        decision::apply(&mut built);
        let decision = decision_of(&built, "strict");
        (decision, find(&built, "strict").clone())
    };
    // Already one violator (a/old); the recheck finds it and a new one.
    let with_old = || enforced(vec![result("strict", "fail", "a", "old")], strict());
    let mut recheck = checked(&["strict"]);
    // `result` makes Pods: the old one is a Pod, as the recheck names it.
    let mut found = found_in(&[("a", "new", "check")]);
    found.found.push(RecheckFinding {
        namespace: "a".into(),
        kind: "Pod".into(),
        name: "old".into(),
        rule: "check".into(),
        described: "a/Pod/old (rule check: fail)".into(),
    });
    recheck.violations.insert("strict".into(), found);
    let (decision, judged) = decided(with_old(), &recheck);
    assert_eq!(decision, Decision::RollBack, "{:?}", judged.reasons);
    let reasons = judged.reasons.join(" | ");
    assert!(
        reasons.contains("1 new failing result(s)") && reasons.contains("a/ConfigMap/new"),
        "{reasons}"
    );
    assert!(!reasons.contains("a/Pod/old (rule"), "{reasons}");
    // Only the violator the reports hold: nothing new, still ENFORCED.
    let mut only_old = checked(&["strict"]);
    only_old.violations.insert(
        "strict".into(),
        RecheckViolations {
            count: 1,
            first: Vec::new(),
            found: vec![RecheckFinding {
                namespace: "a".into(),
                kind: "Pod".into(),
                name: "old".into(),
                rule: "check".into(),
                described: "a/Pod/old (rule check: fail)".into(),
            }],
        },
    );
    // Only the violator the reports hold: nothing new, no rollback; but a
    // violation it enforces stands (walk39 F5: ENFORCED beside it): fix it.
    let mut built = with_old();
    apply(&mut built, &only_old);
    decision::apply(&mut built);
    let judged = &built.decisions[0];
    assert_eq!(judged.decision, Decision::NoGo, "{judged:?}");
    assert!(
        judged.reasons[0].starts_with("enforced, with 1 violation(s) Kyverno enforces now"),
        "{judged:?}"
    );

    // Enforced in namespace app9 only: a new violator in lab is noted.
    let mut overridden = policy("strict", "Audit", "2026-11-01T00:00:00Z");
    overridden["spec"]["validationFailureActionOverrides"] =
        json!([{"action": "Enforce", "namespaces": ["app9"]}]);
    let clean = || {
        enforced(
            vec![result("strict", "pass", "app9", "p1")],
            overridden.clone(),
        )
    };
    let mut in_lab = checked(&["strict"]);
    in_lab
        .violations
        .insert("strict".into(), found_in(&[("lab", "vl", "check")]));
    let (decision, judged) = decided(clean(), &in_lab);
    // Not a rollback; not ready to enforce in lab either.
    assert_eq!(decision, Decision::NoGo, "{:?}", judged.reasons);
    let reasons = judged.reasons.join(" | ");
    assert!(
        reasons.contains("where its rules only audit") && reasons.contains("lab/ConfigMap/vl"),
        "{reasons}"
    );
    let mut in_app9 = checked(&["strict"]);
    in_app9
        .violations
        .insert("strict".into(), found_in(&[("app9", "v", "check")]));
    let (_, judged) = decided(clean(), &in_app9);
    assert!(
        judged
            .reasons
            .iter()
            .any(|r| r.contains("1 new failing result(s)") && r.contains("app9/ConfigMap/v")),
        "{:?}",
        judged.reasons
    );
    // With --since, only the enforced namespace's violator rolls back.
    let rolls_back = |recheck: &Recheck| {
        let mut built = clean();
        apply(&mut built, recheck);
        built.comparison = Some(crate::compare::compare(&clean(), &built));
        built.comparison.as_ref().expect("compared").rollback_checks[0].roll_back
    };
    assert!(rolls_back(&in_app9));
    assert!(!rolls_back(&in_lab));

    // A recheck that did not complete: not confirmed, RESCAN.
    let mut incomplete = checked(&["strict"]);
    incomplete.gaps.push("Deployment: Forbidden".into());
    let (decision, judged) = decided(
        enforced(vec![result("strict", "pass", "a", "p1")], strict()),
        &incomplete,
    );
    assert_eq!(decision, Decision::Rescan, "{:?}", judged.reasons);
}

/// verify36: a background: false enforced policy whose recount could not
/// complete read ENFORCED, "no rollback condition met".
#[test]
fn an_enforced_background_false_policy_not_recounted_is_rescan() {
    let mut quiet = policy("quiet", "Enforce", "2026-11-01T00:00:00Z");
    quiet["spec"]["background"] = json!(false);
    let mut record = scan(true, &[]);
    record.objects_by_kind = Some(pod_kinds_listed_empty());
    record.results_by_rule = Some(BTreeMap::new());
    record.kinds_by_rule = Some(BTreeMap::new());
    let built = || {
        build(&input(
            Vec::new(),
            vec![quiet.clone()],
            Some(record.clone()),
        ))
    };
    let mut incomplete = checked(&["quiet"]);
    incomplete.gaps.push("Deployment: Forbidden".into());
    let mut judged = built();
    apply(&mut judged, &incomplete);
    decision::apply(&mut judged);
    assert_eq!(decision_of(&judged, "quiet"), Decision::Rescan);
    // Recounted, nothing there: ENFORCED, saying what it rests on.
    let mut recounted = checked(&["quiet"]);
    recounted.objects_by_kind = Some(pod_kinds_listed_empty());
    let mut judged = built();
    apply(&mut judged, &recounted);
    decision::apply(&mut judged);
    assert_eq!(decision_of(&judged, "quiet"), Decision::Enforced);
    // Not rechecked at all: still says that no scan evaluates it.
    let mut unchecked = built();
    decision::apply(&mut unchecked);
    assert!(
        unchecked.decisions[0]
            .reasons
            .iter()
            .any(|r| r.starts_with("background: false: no scan evaluates it")),
        "{:?}",
        unchecked.decisions
    );
}

/// walk58 W58-3: an enforced policy's violator the reports hold as a skip
/// by a polscan.io/exception annotation alone is no new violator when the
/// recheck finds it: no "created or changed since … scan again" reason,
/// no ROLL BACK on that ground; the annotation's own reason stands.
#[test]
fn an_annotation_excused_violator_the_recheck_finds_again_is_not_new() {
    let mut built = build(&input(
        vec![report(vec![annotation_skipped(
            "strict", "check", "vendor", "fail",
        )])],
        vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    assert!(
        find(&built, "strict")
            .excused
            .iter()
            .any(|v| v.annotation_only),
        "{:?}",
        find(&built, "strict").excused
    );
    let mut recheck = checked(&["strict"]);
    recheck.violations.insert(
        "strict".into(),
        RecheckViolations {
            count: 1,
            first: Vec::new(),
            found: vec![RecheckFinding {
                namespace: "a".into(),
                kind: "Pod".into(),
                name: "vendor".into(),
                rule: "check".into(),
                described: "a/Pod/vendor (rule check: skipped only by the polscan.io/exception annotation, which Kyverno's admission ignores)".into(),
            }],
        },
    );
    apply(&mut built, &recheck);
    decision::apply(&mut built);
    let judged = find(&built, "strict");
    assert!(
        judged
            .reasons
            .iter()
            .all(|r| !r.contains("new failing result(s)")),
        "{:?}",
        judged.reasons
    );
    assert_ne!(
        decision_of(&built, "strict"),
        Decision::RollBack,
        "{:?}",
        judged.reasons
    );
    assert!(
        judged
            .reasons
            .iter()
            .any(|r| r.contains("polscan.io/exception")),
        "{:?}",
        judged.reasons
    );
}
