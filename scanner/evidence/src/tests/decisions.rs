//! The decision section the pages open with: GO with the exact
//! instruction, NO-GO with the first reasons and whom to contact,
//! ENFORCED with its rollback status, ROLL BACK called out, RESCAN for an
//! enforced policy the last scan did not confirm, the baseline's
//! breaches named; and a policy an Audit override keeps in Audit in some
//! namespaces (validationFailureActionOverrides, a rule's
//! failureActionOverrides) before and after the switch.

use super::*;
use crate::model::{decision_summary, Decision, PolicyDecision, SoakStatus};
use crate::promotion::GitChange;
use crate::verdict::{baseline, decision};

/// `clean` ready, `dirty` with a fail in team-a, `enforced` in Enforce:
/// all ClusterPolicies on Pods.
fn evidence() -> Evidence {
    evidence_with(Vec::new())
}

/// [`evidence`] with more results.
fn evidence_with(more: Vec<Value>) -> Evidence {
    let mut results = vec![
        result("clean", "pass", "a", "p1"),
        result("dirty", "fail", "team-a", "p2"),
        result("dirty", "pass", "a", "p1"),
        result("enforced", "pass", "a", "p1"),
    ];
    results.extend(more);
    build(&input(
        vec![report(results)],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            policy("dirty", "Audit", "2026-11-01T00:00:00Z"),
            policy("enforced", "Enforce", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ))
}

fn decision_of<'a>(evidence: &'a Evidence, name: &str) -> &'a PolicyDecision {
    evidence
        .decisions
        .iter()
        .find(|d| d.policy == name)
        .unwrap_or_else(|| panic!("no decision for {name}: {:?}", evidence.decisions))
}

/// `name` in `action` with an Audit override in team-b, policy-wide or
/// (with `per_rule`) on its rule.
fn audit_override(name: &str, action: &str, per_rule: bool) -> Value {
    let mut document = policy(name, action, "2026-11-01T00:00:00Z");
    let overrides = json!([{"action": "Audit", "namespaces": ["team-b"]}]);
    if per_rule {
        document["spec"]["rules"][0]["validate"]["failureActionOverrides"] = overrides;
    } else {
        document["spec"]["validationFailureActionOverrides"] = overrides;
    }
    document
}

fn overridden_evidence(action: &str, per_rule: bool) -> Evidence {
    build(&input(
        vec![report(vec![
            result("labels", "pass", "team-a", "p1"),
            result("labels", "pass", "team-b", "p2"),
        ])],
        vec![audit_override("labels", action, per_rule)],
        Some(scan(true, &[])),
    ))
}

#[test]
fn each_policy_gets_go_no_go_or_its_rollback_status() {
    let evidence = evidence();
    let order: Vec<(&str, Decision)> = evidence
        .decisions
        .iter()
        .map(|d| (d.policy.as_str(), d.decision))
        .collect();
    assert_eq!(
        order,
        [
            ("clean", Decision::Go),
            ("dirty", Decision::NoGo),
            ("enforced", Decision::Enforced)
        ]
    );
    assert_eq!(
        decision_summary(&evidence.decisions),
        "GO 1 · NO-GO 1 · WAIT 0 · ENFORCED 1"
    );
    let clean = decision_of(&evidence, "clean");
    assert_eq!(
        clean.instructions,
        ["kubectl patch clusterpolicy/clean --type=merge -p '{\"spec\":{\"validationFailureAction\":\"Enforce\"}}'"]
    );
    assert!(clean.reasons.is_empty() && clean.stays_audit.is_empty());
    let dirty = decision_of(&evidence, "dirty");
    assert!(dirty.instructions.is_empty());
    assert_eq!(dirty.reasons, find(&evidence, "dirty").reasons);
    assert_eq!(dirty.contacts, ["namespace team-a: Pod/p2 (1)"]);
    let enforced = decision_of(&evidence, "enforced");
    assert!(
        enforced
            .rollback_status
            .as_deref()
            .is_some_and(|s| s.starts_with("not checked: compare with the package of the switch")),
        "{enforced:?}"
    );
    assert!(enforced.instructions.is_empty());

    // evidence.json holds them, and reads them back.
    let json = serde_json::to_value(&evidence).expect("json");
    assert_eq!(json["decisions"][0]["decision"], "go");
    assert_eq!(json["decisions"][1]["decision"], "no-go");
    assert_eq!(
        json["decisions"][1]["contacts"][0],
        "namespace team-a: Pod/p2 (1)"
    );
    let back: Evidence = serde_json::from_value(json).expect("read back");
    assert_eq!(back.decisions, evidence.decisions);
}

#[test]
fn the_decision_section_comes_first_in_both_pages() {
    let mut evidence = evidence();
    baseline::apply(&mut evidence, Some("production"), &["info".into()]);
    let text = markdown::render(&evidence);
    let section = text
        .find("## Decision\n\n**GO 1 · NO-GO 1 · WAIT 0 · ENFORCED 1**")
        .expect("the section");
    assert!(section < text.find("policies ready to enforce").expect("summary"));
    // "ready" counts the ENFORCED one too, and says so (walk69 W69-4).
    assert!(
        text.contains("**2 of 3 policies ready to enforce (1 of them enforce already).**"),
        "{text}"
    );
    assert!(html::render(&evidence)
        .contains("2 of 3 policies ready to enforce (1 of them enforce already)."));
    assert!(section < text.find("\n## clean").expect("the policy's section"));
    assert!(
        text.contains("| **GO** | clean | Audit | `kubectl patch clusterpolicy/clean --type=merge")
    );
    assert!(
        text.contains("| **NO-GO** | dirty | Audit | 1 fail"),
        "{text}"
    );
    assert!(text.contains("<br>contact: namespace team-a: Pod/p2 (1) |"));
    assert!(text.contains("| **ENFORCED** | enforced | Enforce | rollback: not checked"));
    let page = html::render(&evidence);
    let section = page.find("<section id=\"decision\">").expect("the section");
    for later in ["id=\"summary\"", "id=\"overview\"", "class=\"policy\""] {
        assert!(section < page.find(later).expect(later), "{later}");
    }
    assert!(page.contains(
        "<p id=\"decision-summary\"><strong>GO 1 · NO-GO 1 · WAIT 0 · ENFORCED 1</strong></p>"
    ));
    assert!(page.contains("<tr class=\"decision\" data-decision=\"go\" data-policy=\"clean\">"));
    assert!(page.contains("<tr class=\"decision\" data-decision=\"no-go\" data-policy=\"dirty\">"));
    // No baseline of that severity: held, said in the section.
    assert!(page.contains("id=\"decision-baseline\" data-breaches=\"0\""));

    // The baseline's breaches are named in it, before the baseline's own
    // section.
    baseline::apply(&mut evidence, Some("production"), &[]);
    let mut severe = evidence.clone();
    for name in ["clean", "dirty"] {
        let policy = find_mut(&mut severe, name);
        policy.info.severity = Some("critical".into());
    }
    baseline::apply(&mut severe, Some("production"), &[]);
    assert!(decision_of(&severe, "clean").baseline_breach);
    assert!(!decision_of(&severe, "enforced").baseline_breach);
    let text = markdown::render(&severe);
    let named = text
        .find("**Baseline breaches: 2** (severity critical must be enforced in production): clean (GO), dirty (NO-GO)")
        .expect("the breaches in the decision");
    assert!(
        named
            < text
                .find("## Baseline breaches: 2")
                .expect("the baseline section")
    );
    let page = html::render(&severe);
    assert!(page.contains("id=\"decision-baseline\" class=\"warning\" data-breaches=\"2\""));
    assert!(
        page.find("id=\"decision-baseline\"").expect("named")
            < page.find("<section id=\"baseline\"").expect("baseline")
    );
}

#[test]
fn a_met_rollback_condition_is_called_out_first() {
    let before = evidence();
    let mut after = evidence_with(vec![result("enforced", "fail", "a", "new-bad")]);
    after.comparison = Some(compare::compare(&before, &after));
    decision::apply(&mut after);
    let first = &after.decisions[0];
    assert_eq!(
        (first.policy.as_str(), first.decision),
        ("enforced", Decision::RollBack)
    );
    assert_eq!(
        first.instructions,
        ["kubectl patch clusterpolicy/enforced --type=merge -p '{\"spec\":{\"validationFailureAction\":\"Audit\"}}'"]
    );
    assert!(
        first.reasons.iter().any(|r| r.contains("a/Pod/new-bad")),
        "{first:?}"
    );
    assert!(decision_summary(&after.decisions).starts_with("ROLL BACK 1 · GO 1"));
    let text = markdown::render(&after);
    assert!(
        text.find("> 🛑 **ROLL BACK TO AUDIT: enforced**")
            .expect("called out")
            < text.find("| Decision |").expect("table")
    );
    assert!(html::render(&after).contains("<p class=\"roll-back-alert\" data-policy=\"enforced\">"));

    // Unchanged since: no condition met, said as its status.
    let mut steady = evidence();
    steady.comparison = Some(compare::compare(&before, &steady));
    decision::apply(&mut steady);
    assert_eq!(
        decision_of(&steady, "enforced").rollback_status.as_deref(),
        Some("no rollback condition met since the previous package")
    );
}

/// [`evidence_with`] as the record of a scan stopped by SIGTERM says it:
/// complete false, with the error and no cause besides.
fn stopped_with(more: Vec<Value>) -> Evidence {
    let mut results = vec![
        result("clean", "pass", "a", "p1"),
        result("enforced", "pass", "a", "p1"),
    ];
    results.extend(more);
    let mut stopped = scan(false, &[]);
    stopped.error = Some("stopped by SIGTERM (or Ctrl-C) before the scan finished".into());
    build(&input(
        vec![report(results)],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            policy("enforced", "Enforce", "2026-11-01T00:00:00Z"),
        ],
        Some(stopped),
    ))
}

#[test]
fn an_enforced_policy_a_stopped_scan_did_not_confirm_is_rescan_not_roll_back() {
    let before = evidence();
    let mut after = stopped_with(Vec::new());
    after.comparison = Some(compare::compare(&before, &after));
    decision::apply(&mut after);
    let enforced = decision_of(&after, "enforced");
    assert_eq!(enforced.decision, Decision::Rescan, "{enforced:?}");
    // The record's own reason, and no rollback command.
    assert!(
        enforced
            .reasons
            .iter()
            .any(|r| r.contains("stopped by SIGTERM")),
        "{enforced:?}"
    );
    assert!(
        enforced
            .instructions
            .iter()
            .all(|i| !i.contains("kubectl") && !i.contains("rollback.patch")),
        "{enforced:?}"
    );
    assert!(
        enforced
            .rollback_status
            .as_deref()
            .is_some_and(|s| s.starts_with("not confirmed since the previous package")),
        "{enforced:?}"
    );
    // Counted, and most urgent after a rollback.
    assert_eq!(after.decisions[0].policy, "enforced");
    // The policy in Audit waits for a scan too, no team to contact
    // (walk79): nothing is known to be wrong with it.
    assert!(
        decision_summary(&after.decisions).starts_with("RESCAN 2 · GO 0"),
        "{}",
        decision_summary(&after.decisions)
    );
    let clean = decision_of(&after, "clean");
    assert_eq!(clean.decision, Decision::Rescan, "{clean:?}");
    assert!(clean.contacts.is_empty(), "{clean:?}");
    assert!(clean.alert().is_none(), "{clean:?}");
    let text = markdown::render(&after);
    assert!(!text.contains("ROLL BACK"), "{text}");
    assert!(
        text.find("> ⚠️ **RESCAN: enforced**").expect("called out")
            < text.find("| Decision |").expect("table"),
        "{text}"
    );
    assert!(
        text.contains("— **RESCAN: not confirmed since the previous package"),
        "{text}"
    );
    assert!(text.contains("- scan coverage: not covered by the last scan, rescan: the scan failed: stopped by SIGTERM"), "{text}");
    let page = html::render(&after);
    assert!(page.contains("<p class=\"rescan-alert\" data-policy=\"enforced\">"));
    assert!(!page.contains("<p class=\"roll-back-alert\""));
}

#[test]
fn a_rollback_condition_found_by_a_stopped_scan_still_rolls_back() {
    let before = evidence();
    let mut after = stopped_with(vec![result("enforced", "fail", "a", "new-bad")]);
    after.comparison = Some(compare::compare(&before, &after));
    decision::apply(&mut after);
    let enforced = decision_of(&after, "enforced");
    assert_eq!(enforced.decision, Decision::RollBack, "{enforced:?}");
    assert!(
        enforced.reasons.iter().any(|r| r.contains("a/Pod/new-bad")),
        "{enforced:?}"
    );
    // The gap is said beside it.
    assert!(
        enforced
            .reasons
            .iter()
            .any(|r| r.starts_with("also not confirmed") && r.contains("stopped by SIGTERM")),
        "{enforced:?}"
    );
    assert_eq!(
        enforced.instructions,
        ["kubectl patch clusterpolicy/enforced --type=merge -p '{\"spec\":{\"validationFailureAction\":\"Audit\"}}'"]
    );
}

#[test]
fn with_a_policy_repo_the_patch_is_the_instruction_and_a_problem_is_said() {
    let mut evidence = evidence();
    promote_in_git(&mut evidence, "clean");
    decision::apply(&mut evidence);
    assert_eq!(
        decision_of(&evidence, "clean").instructions,
        ["git apply patches/clean/promote.patch"]
    );
    // The decision table's cell runs as written, from any folder.
    assert!(markdown::render(&evidence)
        .contains("`git -C <repository> apply <package>/patches/clean/promote.patch`"));
    assert!(markdown::render(&evidence)
        .contains("Run `git apply` in the policy repository's root (the top of its Git work tree); the patch paths above are relative to this package's folder, so from anywhere: `git -C <repository> apply <package>/patches/<policy>/promote.patch`"));

    // No patch, and Flux would revert a kubectl patch: no command that
    // does not last, but why and what to do.
    let clean = find_mut(&mut evidence, "clean");
    clean.git_change = Some(GitChange {
        problem: Some("the action is set in several places".into()),
        ..GitChange::default()
    });
    clean.info.flux_owner = Some("Kustomization flux-system/apps".into());
    decision::apply(&mut evidence);
    assert_eq!(
        decision_of(&evidence, "clean").instructions,
        [
            "no Git patch: the action is set in several places",
            "change the action in Git: Flux (Kustomization flux-system/apps) reverts a kubectl patch"
        ]
    );
    // walk49 W49-2: without Flux's labels, a policy polscan found in Git
    // is still changed there; the kubectl patch only without GitOps.
    let clean = find_mut(&mut evidence, "clean");
    clean.info.flux_owner = None;
    clean.git_change = Some(GitChange {
        problem: Some("the action is set in several places".into()),
        git_files: vec!["charts/p/templates/clean.yaml".into()],
        ..GitChange::default()
    });
    decision::apply(&mut evidence);
    let instructions = &decision_of(&evidence, "clean").instructions;
    assert_eq!(
        instructions[0],
        "no Git patch: the action is set in several places"
    );
    assert!(
        instructions[1].starts_with("change the action in Git by hand, for this cluster alone (the policy is in charts/p/templates/clean.yaml; the reason above says what else reads it): Flux or Argo CD reverts a kubectl patch; only without GitOps: kubectl patch clusterpolicy/clean"),
        "{instructions:?}"
    );
    // Not in Git: the kubectl patch.
    find_mut(&mut evidence, "clean")
        .git_change
        .as_mut()
        .unwrap()
        .git_files
        .clear();
    decision::apply(&mut evidence);
    assert!(decision_of(&evidence, "clean").instructions[1]
        .starts_with("kubectl patch clusterpolicy/clean"));
}

#[test]
fn an_audit_override_is_named_before_the_switch() {
    for per_rule in [false, true] {
        let evidence = overridden_evidence("Audit", per_rule);
        let labels = decision_of(&evidence, "labels");
        assert_eq!(labels.decision, Decision::Go, "per rule: {per_rule}");
        // The switch sets the policy's (or rule's) own action: Kyverno
        // tries the overrides first, so team-b stays in Audit.
        assert_eq!(labels.stays_audit, ["namespace(s) team-b"]);
        assert_eq!(labels.instructions.len(), 1);
        assert!(labels.instructions[0].starts_with("kubectl patch clusterpolicy/labels"));
        let text = markdown::render(&evidence);
        assert!(
            text.contains("<br>**stays in Audit** in namespace(s) team-b (an Audit override; the switch leaves it: edit the override to enforce there too) |"),
            "{text}"
        );
        assert!(html::render(&evidence).contains("<p class=\"stays-audit warning\"><strong>Stays in Audit</strong> in namespace(s) team-b"));
    }
}

#[test]
fn after_the_switch_an_audit_override_prints_no_enforce_command() {
    for per_rule in [false, true] {
        let mut document = audit_override("labels", "Enforce", per_rule);
        if per_rule {
            // The rule's own action, which its overrides beat.
            document["spec"]["rules"][0]["validate"]["failureAction"] = json!("Enforce");
            document["spec"]["validationFailureAction"] = json!("Audit");
        }
        let evidence = build(&input(
            vec![report(vec![
                result("labels", "pass", "team-a", "p1"),
                result("labels", "pass", "team-b", "p2"),
            ])],
            vec![document],
            Some(scan(true, &[])),
        ));
        let policy = find(&evidence, "labels");
        assert_eq!(policy.info.action, "Mixed", "per rule: {per_rule}");
        assert!(policy.info.enforce_changes_nothing());
        // The Enforce change would change nothing: none is offered.
        assert!(policy.enforce_change().is_none());
        let labels = decision_of(&evidence, "labels");
        assert_eq!(labels.decision, Decision::Enforced);
        assert!(labels.instructions.is_empty());
        assert_eq!(labels.stays_audit, ["namespace(s) team-b"]);
        let text = markdown::render(&evidence);
        assert!(!text.contains("\nEnforce: set"), "{text}");
        assert!(text.contains("| **ENFORCED** | labels | Mixed (Audit in namespace(s) team-b; Enforce elsewhere) | **stays in Audit** in namespace(s) team-b (an Audit override)<br>rollback: not checked"));
        assert!(!html::render(&evidence).contains("<h3>Enforce</h3>"));
        assert!(labels.reasons.is_empty(), "{labels:?}");

        // A violation in team-b, which the override keeps in Audit: still
        // ENFORCED, and the decision says it is there (walk44).
        let dirty = build(&input(
            vec![report(vec![
                result("labels", "pass", "team-a", "p1"),
                result("labels", "fail", "team-b", "p2"),
            ])],
            vec![audit_override("labels", "Enforce", false)],
            Some(scan(true, &[])),
        ));
        let labels = decision_of(&dirty, "labels");
        assert_eq!(labels.decision, Decision::Enforced);
        assert_eq!(labels.reasons.len(), 1, "{labels:?}");
        assert!(
            labels.reasons[0]
                .starts_with("1 violation(s) where an Audit override keeps it in Audit (")
                && labels.reasons[0].contains("p2"),
            "{labels:?}"
        );

        // In production the breach says what to change, and no command.
        let mut severe = evidence.clone();
        severe.policies[0].info.severity = Some("critical".into());
        baseline::apply(&mut severe, Some("production"), &[]);
        let breach = &severe.baseline.as_ref().expect("baseline").breaches[0];
        assert!(breach.promote.is_empty(), "{breach:?}");
        assert_eq!(
            breach.to_fix,
            ["an Audit override keeps it in Audit in namespace(s) team-b: set that override's action to Enforce (validationFailureActionOverrides / failureActionOverrides), which the Enforce change leaves as it is"]
        );
    }
}

#[test]
fn long_reasons_are_shortened_and_counted() {
    let mut evidence = evidence();
    let dirty = find_mut(&mut evidence, "dirty");
    dirty.reasons = (0..5)
        .map(|i| format!("reason {i} {}", "word ".repeat(60)))
        .collect();
    decision::apply(&mut evidence);
    let reasons = &decision_of(&evidence, "dirty").reasons;
    assert_eq!(reasons.len(), 4);
    assert!(
        reasons[..3]
            .iter()
            .all(|r| r.ends_with('…') && r.chars().count() <= 161),
        "{reasons:?}"
    );
    assert_eq!(reasons[3], "… and 2 more (the policy's section)");
}

/// Git and the cluster disagreeing on the action is said first in the
/// decision: Git enforcing while the cluster audits (rollback.patch would
/// be no switch), and the cluster enforcing while Git audits (a hand
/// change Flux reverts). Where they agree, nothing is said.
#[test]
fn git_and_the_cluster_disagreeing_on_the_action_is_said() {
    // Git has no promotion for `clean`, only a rollback: it enforces.
    let enforced_in_git = |evidence: &mut Evidence| {
        let clean = find_mut(evidence, "clean");
        clean.git_change = Some(GitChange {
            rollback: Some(crate::promotion::PatchFile {
                file: "patches/clean/rollback.patch".into(),
                diff: String::new(),
            }),
            ..GitChange::default()
        });
    };
    let mut evidence = evidence();
    // `clean` audits in the cluster.
    enforced_in_git(&mut evidence);
    // `enforced` enforces in the cluster; Git would promote it.
    promote_in_git(&mut evidence, "enforced");
    decision::apply(&mut evidence);
    let clean = decision_of(&evidence, "clean");
    assert!(
        clean.reasons[0].starts_with(
            "Git and the cluster disagree: Git enforces the policy already, the cluster has Audit"
        ),
        "{clean:?}"
    );
    let enforced = decision_of(&evidence, "enforced");
    assert!(
        enforced.reasons[0]
            .starts_with("Git and the cluster disagree: the cluster has Enforce, Git has Audit"),
        "{enforced:?}"
    );
    // Agreeing: Git audits and would promote, the cluster audits.
    let mut agreeing = super::decisions::evidence();
    promote_in_git(&mut agreeing, "clean");
    decision::apply(&mut agreeing);
    assert!(find(&agreeing, "clean").git_drift().is_none());
    assert!(decision_of(&agreeing, "clean").reasons.is_empty());

    // Mixed in the cluster (one rule on Audit under a spec-level Enforce,
    // walk44): Git promoting it agrees; Git enforcing every rule does not.
    let mixed = |rollback_only: bool| {
        let mut evidence = super::decisions::evidence();
        if rollback_only {
            enforced_in_git(&mut evidence);
        } else {
            promote_in_git(&mut evidence, "clean");
        }
        let clean = find_mut(&mut evidence, "clean");
        clean.info.action = "Mixed".into();
        clean.info.rules = ["r-audit", "r-default"]
            .iter()
            .zip(["Audit", "Enforce"])
            .map(|(name, action)| crate::ingest::policy_info::RuleInfo {
                name: (*name).into(),
                action: action.into(),
                kinds: vec!["Pod".into()],
                overrides: Vec::new(),
                default_action: None,
            })
            .collect();
        evidence
    };
    assert_eq!(find(&mixed(false), "clean").git_drift(), None);
    // verify46 F5: Git enforces a rule the cluster audits (Git's spec
    // Enforce, the cluster's Audit), while Git would still promote another.
    let mut audits = super::decisions::evidence();
    promote_in_git(&mut audits, "clean");
    let clean = find_mut(&mut audits, "clean");
    let rule = clean.info.rules[0].name.clone();
    assert_ne!(clean.info.rules[0].base_action(), "Enforce");
    if let Some(change) = clean.git_change.as_mut() {
        change.git_enforced_rules = vec![rule.clone()];
    }
    let drift = find(&audits, "clean").git_drift();
    assert!(
        drift.as_deref().is_some_and(|d| d.starts_with(&format!(
            "Git and the cluster disagree: Git enforces rule(s) {rule} already, the cluster has them in Audit"
        ))),
        "{drift:?}"
    );
    let drift = find(&mixed(true), "clean").git_drift();
    assert!(
        drift.as_deref().is_some_and(|d| d.starts_with(
            "Git and the cluster disagree: Git enforces the policy already, the cluster has Mixed"
        )),
        "{drift:?}"
    );
}

/// Git holds other rules than the policy that soaked (walk20 finding 1):
/// no GO — the policy waits, and the reason says why in the policy's
/// section and the decision; deciding again adds nothing. A policy not
/// ready stays so, with the reason first.
#[test]
fn git_rules_other_than_the_soaked_ones_are_no_go() {
    let mut evidence = evidence();
    assert_eq!(decision_of(&evidence, "clean").decision, Decision::Go);
    let problem = "Git's policies/clean.yaml holds a different version of the policy than the cluster (its rules differ from those that soaked): reconcile it, let it soak, then build the evidence again";
    for policy in &mut evidence.policies {
        if ["clean", "dirty"].contains(&policy.info.name.as_str()) {
            policy.git_change = Some(GitChange {
                problem: Some(problem.into()),
                rules_differ: true,
                ..GitChange::default()
            });
        }
    }
    decision::apply(&mut evidence);
    decision::apply(&mut evidence);
    let policy = |name: &str| {
        evidence
            .policies
            .iter()
            .find(|p| p.info.name == name)
            .expect("policy")
    };
    let clean = policy("clean");
    assert_eq!(clean.verdict, Verdict::Wait);
    assert_eq!(clean.reasons, [problem]);
    assert!(clean
        .rule_evidence
        .iter()
        .all(|r| r.verdict != Verdict::Ready));
    let dirty = policy("dirty");
    assert_eq!(dirty.verdict, Verdict::NotReady);
    assert_eq!(dirty.reasons[0], problem);
    let decision = decision_of(&evidence, "clean");
    assert_eq!(decision.decision, Decision::Wait);
    assert_eq!(decision.reasons, [problem]);
    assert!(decision.instructions.is_empty());
    assert_eq!(
        decision.soak_left.as_deref(),
        Some("the soak judged other rules than Git holds: reconcile, then soak again")
    );
    assert!(markdown::render(&evidence).contains(problem));
}

/// walk25 F12: offline, the previous package's violation whose resource no
/// result names now (its manifest left out of the input) is not known to be
/// fixed; the policy was GO beside it.
#[test]
fn a_violation_not_known_to_be_fixed_holds_the_go_back() {
    let policies = vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")];
    let before = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "gone")])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let after_input = input(
        vec![report(vec![result("dirty", "pass", "a", "p1")])],
        policies,
        Some(scan(true, &[])),
    );
    let mut after = build(&after_input);
    assert_eq!(find(&after, "dirty").verdict, Verdict::Ready);
    let go = decision::decide(&after);
    assert_eq!(go[0].decision, Decision::Go);
    after.comparison = Some(crate::compare::compare_with(
        &before,
        &after,
        &|policy, rule, resource| {
            after_input
                .reports
                .why_not_fixed(policy, rule, resource, None)
        },
    ));
    let held = decision::decide(&after);
    assert_eq!(held[0].decision, Decision::NoGo, "{held:?}");
    assert!(
        held[0].reasons[0].starts_with(
            "1 violation(s) of the previous package are not known to be fixed (a/Pod/gone"
        ),
        "{:?}",
        held[0].reasons
    );
    // Fixed as the cluster shows it (the resource is gone): GO.
    let present = BTreeSet::new();
    after.comparison = Some(crate::compare::compare_with(
        &before,
        &after,
        &|policy, rule, resource| {
            after_input
                .reports
                .why_not_fixed(policy, rule, resource, Some(&present))
        },
    ));
    assert_eq!(decision::decide(&after)[0].decision, Decision::Go);
}

/// walk25 F13: without `--since`, an enforced policy whose last scan
/// failed for its kind read only "ENFORCED … rollback: not checked".
#[test]
fn an_enforced_policy_the_last_scan_did_not_cover_is_rescan() {
    let policies = vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")];
    let reports = vec![report(vec![result("strict", "pass", "a", "p1")])];
    let covered = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    assert_eq!(decision::decide(&covered)[0].decision, Decision::Enforced);
    let failed = build(&input(reports, policies, Some(scan(false, &["Pod"]))));
    let decided = decision::decide(&failed);
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("failed kinds: Pod"),
        "{:?}",
        decided[0].reasons
    );
}

/// verify26: an enforced policy whose kind the last scan's own filters
/// left out (`--include-kinds`, a Secret not named) or whose namespaces it
/// did not scan (`--namespace`) read ENFORCED: nothing there was
/// confirmed. A kind the cluster does not serve is no gap.
#[test]
fn an_enforced_policy_the_last_scan_filtered_out_is_rescan() {
    let policies = vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")];
    let reports = vec![report(vec![result("strict", "pass", "a", "p1")])];
    let settings = |include: &str| {
        BTreeMap::from([
            ("--include-kinds".to_string(), include.to_string()),
            ("--exclude-kinds".to_string(), String::new()),
        ])
    };
    let listed = |kinds: &[&str]| Some(kinds.iter().map(|k| (k.to_string(), 1)).collect());
    let decide_with = |record: ScanRecord| {
        decision::decide(&build(&input(
            reports.clone(),
            policies.clone(),
            Some(record),
        )))
    };

    let mut all = scan(true, &[]);
    all.settings = Some(settings(""));
    all.objects_by_kind = listed(&["Pod", "ConfigMap"]);
    assert_eq!(decide_with(all.clone())[0].decision, Decision::Enforced);

    let mut configmaps_only = all.clone();
    configmaps_only.settings = Some(settings("ConfigMap"));
    configmaps_only.objects_by_kind = listed(&["ConfigMap"]);
    let decided = decide_with(configmaps_only.clone());
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    // The rule's reason names the filter too (verify28: it read
    // "(excluded, or not served)", as for a kind the server lacks).
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(configmaps_only.clone()),
    ));
    let why = find(&evidence, "strict").reasons.join(" | ");
    assert!(
        why.contains("the last scan did not list Pod (not in --include-kinds ConfigMap)"),
        "{why}"
    );
    assert!(
        decided[0].reasons[0]
            .starts_with("enforced, and the last scan did not cover it: kind(s) not in --include-kinds ConfigMap: Pod, DaemonSet, "),
        "{:?}",
        decided[0].reasons
    );

    // verify28: a policy on Pods reaches the Pod controllers through
    // autogen; a scan that listed Pods and Deployments only left CronJobs
    // out.
    let mut pods_and_deployments = all.clone();
    pods_and_deployments.settings = Some(settings("Deployment,Pod"));
    pods_and_deployments.objects_by_kind = listed(&["Pod", "apps/Deployment"]);
    let decided = decide_with(pods_and_deployments.clone());
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    // verify29 V10: the same scan and the policy in Audit, its autogen
    // rules without a result yet: not ready, naming the left-out kinds
    // (it was GO with violating CronJobs unseen).
    let audit = build(&input(
        reports.clone(),
        vec![policy("strict", "Audit", "2026-11-01T00:00:00Z")],
        Some(pods_and_deployments.clone()),
    ));
    let found = find(&audit, "strict");
    assert_eq!(found.verdict, Verdict::NotReady, "{:?}", found.reasons);
    assert!(
        found
            .reasons
            .iter()
            .any(|r| r.contains("not in --include-kinds Deployment,Pod: ")
                && r.contains("CronJob")
                && r.contains("which the policy reaches through autogen")),
        "{:?}",
        found.reasons
    );
    // verify30 N5: a policy that names its autogen controllers reaches
    // only those: `none` reaches no controller, `Deployment` one the
    // scan listed; a list naming CronJob still reaches the left-out kind.
    let annotated = |value: &str| {
        let mut doc = policy("strict", "Audit", "2026-11-01T00:00:00Z");
        doc["metadata"]["annotations"]["pod-policies.kyverno.io/autogen-controllers"] =
            json!(value);
        build(&input(
            reports.clone(),
            vec![doc],
            Some(pods_and_deployments.clone()),
        ))
    };
    for value in ["none", "Deployment", " Deployment , none"] {
        let found = find(&annotated(value), "strict").clone();
        assert!(
            !found.reasons.iter().any(|r| r.contains("through autogen")),
            "{value}: {:?}",
            found.reasons
        );
        assert_eq!(
            found.verdict,
            Verdict::Ready,
            "{value}: {:?}",
            found.reasons
        );
    }
    let found = find(&annotated("Deployment,CronJob"), "strict").clone();
    assert_eq!(found.verdict, Verdict::NotReady, "{:?}", found.reasons);
    assert!(
        found
            .reasons
            .iter()
            .any(|r| r.contains("CronJob") && !r.contains("DaemonSet")),
        "{:?}",
        found.reasons
    );
    // A ValidatingPolicy names them by resource.
    let mut vp_named = validating_policy("vp");
    vp_named["spec"]["validationActions"] = json!(["Audit"]);
    vp_named["spec"]["autogen"] = json!({"podControllers": {"controllers": ["deployments"]}});
    let vp_evidence = build(&input(
        vec![report(vec![cel_result("vp", "pass", "p1")])],
        vec![vp_named],
        Some(pods_and_deployments.clone()),
    ));
    let found = find(&vp_evidence, "vp").clone();
    assert!(
        !found.reasons.iter().any(|r| r.contains("through autogen")),
        "{:?}",
        found.reasons
    );
    // verify29 V9: an enforced ValidatingPolicy on Pods reaches the
    // controllers through its autogen too.
    let vp = build(&input(
        vec![report(vec![cel_result("vp", "pass", "p1")])],
        vec![validating_policy("vp")],
        Some(pods_and_deployments),
    ));
    let decided = decision::decide(&vp);
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0]
            .contains("kind(s) not in --include-kinds Deployment,Pod: DaemonSet, Job, ReplicaSet"),
        "{:?}",
        decided[0].reasons
    );
    // Not served (no filter explains it): nothing there to enforce on.
    let mut unserved = all.clone();
    unserved.objects_by_kind = listed(&["ConfigMap"]);
    assert_eq!(decide_with(unserved)[0].decision, Decision::Enforced);

    let mut one_namespace = all.clone();
    one_namespace.namespaces = vec!["a".into()];
    let decided = decide_with(one_namespace);
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("the namespaces other than a"),
        "{:?}",
        decided[0].reasons
    );

    // A Secret policy: a scan lists Secrets only when named.
    let secrets = vec![json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "secrets", "managedFields": [{"manager": "kubectl", "time": "2026-11-01T00:00:00Z"}]},
        "spec": {"validationFailureAction": "Enforce", "rules": [
            {"name": "check", "match": {"any": [{"resources": {"kinds": ["Secret"]}}]}, "validate": {"pattern": {}}}
        ]}
    })];
    let decided = decision::decide(&build(&input(Vec::new(), secrets, Some(all.clone()))));
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("kind(s) listed only by a scan naming it in --include-kinds, whose own record --scan-record reads: Secret"),
        "{:?}",
        decided[0].reasons
    );

    // With --since: a kind left out now that the previous scan listed.
    let before = build(&input(reports.clone(), policies.clone(), Some(all)));
    let mut after = build(&input(
        reports.clone(),
        policies.clone(),
        Some(configmaps_only.clone()),
    ));
    after.comparison = Some(compare::compare(&before, &after));
    let decided = decision::decide(&after);
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0]
            .contains("kind(s) not in --include-kinds ConfigMap: Pod, which the previous scan did"),
        "{:?}",
        decided[0].reasons
    );
    // verify29 V9: left out by both scans, it was ENFORCED with no
    // rollback condition met; nothing confirms it.
    let before = after;
    let mut again = build(&input(
        reports.clone(),
        policies.clone(),
        Some(configmaps_only),
    ));
    again.comparison = Some(compare::compare(&before, &again));
    let decided = decision::decide(&again);
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("kind(s) not in --include-kinds ConfigMap: Pod"),
        "{:?}",
        decided[0].reasons
    );
}

/// walk28 F17: a ClusterPolicy and a ValidatingPolicy of one name (a
/// migration to CEL) were merged: the ClusterPolicy's failures were charged
/// to the enforced ValidatingPolicy, and the ClusterPolicy had no decision.
/// Neither gets a verdict now; both kinds are named, and nothing is called
/// ready, enforced or to be rolled back.
#[test]
fn policies_of_one_name_and_two_kinds_get_no_verdict() {
    let reports = vec![report(vec![
        cel_result("shared", "pass", "p1"),
        result("shared", "fail", "a", "p2"),
    ])];
    let policies = vec![
        validating_policy("shared"),
        policy("shared", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let found: Vec<&PolicyEvidence> = evidence
        .policies
        .iter()
        .filter(|p| p.info.name == "shared")
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].verdict, Verdict::NotReady);
    assert!(
        found[0].reasons[0].starts_with(
            "ValidatingPolicy shared shares its name with the ClusterPolicy: reports name a policy without its kind"
        ),
        "{:?}",
        found[0].reasons
    );
    let decided = decision::decide(&evidence);
    // The ValidatingPolicy enforces ([Deny]): not confirmed, no rollback.
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("shares its name"),
        "{decided:?}"
    );
    // With --since and a new failure: still no rollback of the wrong one.
    let before = build(&input(
        vec![report(vec![cel_result("shared", "pass", "p1")])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut after = build(&input(reports.clone(), policies, Some(scan(true, &[]))));
    after.comparison = Some(compare::compare(&before, &after));
    assert_eq!(decision::decide(&after)[0].decision, Decision::Rescan);
    // verify28: read in the other order, the enforcing one is still kept.
    let reversed = vec![
        policy("shared", "Audit", "2026-11-01T00:00:00Z"),
        validating_policy("shared"),
    ];
    let evidence = build(&input(reports, reversed, Some(scan(true, &[]))));
    let decided = decision::decide(&evidence);
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0]
            .starts_with("ValidatingPolicy shared shares its name with the ClusterPolicy"),
        "{decided:?}"
    );
}

/// verify30 N8: a policy Kyverno never applies at admission
/// (`spec.admission: false`, `evaluation.admission.enabled: false`) was GO
/// or ENFORCED; Enforce blocks nothing there.
#[test]
fn a_policy_kyverno_never_applies_at_admission_is_neither_go_nor_enforced() {
    let reports = vec![report(vec![
        result("quiet", "pass", "a", "p1"),
        result("quiet", "fail", "a", "p2"),
    ])];
    for action in ["Audit", "Enforce"] {
        let mut document = policy("quiet", action, "2026-11-01T00:00:00Z");
        document["spec"]["admission"] = json!(false);
        let evidence = build(&input(
            reports.clone(),
            vec![document],
            Some(scan(true, &[])),
        ));
        let decided = decision::decide(&evidence);
        assert_eq!(decided[0].decision, Decision::NoGo, "{action}: {decided:?}");
        assert!(
            decided[0].reasons[0]
                .contains("spec.admission: false: Kyverno never applies it at admission"),
            "{action}: {decided:?}"
        );
        // verify31: its fail is no violation Kyverno enforces (verify32:
        // nor does its section warn of rejections).
        let found = find(&evidence, "quiet");
        assert!(!found.enforced_with_violations(), "{action}");
        assert!(
            !decided[0]
                .rollback_status
                .as_deref()
                .unwrap_or_default()
                .contains("Kyverno enforces now"),
            "{action}: {decided:?}"
        );
    }
    let mut vp = validating_policy("vp");
    vp["spec"]["evaluation"] = json!({"admission": {"enabled": false}});
    let evidence = build(&input(
        vec![report(vec![cel_result("vp", "pass", "p1")])],
        vec![vp],
        Some(scan(true, &[])),
    ));
    let decided = decision::decide(&evidence);
    assert_eq!(decided[0].decision, Decision::NoGo, "{decided:?}");
    // verify31 F7: a ValidatingPolicy for JSON or Envoy payloads is never
    // applied at admission either; Kubernetes mode is.
    for (mode, expected) in [
        ("JSON", Decision::NoGo),
        ("Envoy", Decision::NoGo),
        ("Kubernetes", Decision::Enforced),
    ] {
        let mut vp = validating_policy("vp");
        vp["spec"]["evaluation"] = json!({"mode": mode});
        let evidence = build(&input(
            vec![report(vec![cel_result("vp", "pass", "p1")])],
            vec![vp],
            Some(scan(true, &[])),
        ));
        let decided = decision::decide(&evidence);
        assert_eq!(decided[0].decision, expected, "{mode}: {decided:?}");
        if expected == Decision::NoGo {
            assert!(
                decided[0].reasons[0].contains(&format!("evaluation.mode: {mode}")),
                "{decided:?}"
            );
        }
    }
}

/// verify31 F5: `evidence --namespace a` called an enforced cluster-wide
/// policy ENFORCED ("no rollback condition met") while a violation in
/// another namespace, which the view did not look at, called for a
/// rollback. An enforced policy the view does not wholly cover is RESCAN;
/// a namespaced one inside the view stays ENFORCED.
#[test]
fn an_enforced_policy_a_filtered_view_does_not_cover_is_not_confirmed() {
    let decided_in = |document: Value, namespaces: &[&str]| {
        let name = match document
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
        {
            Some(namespace) => format!("{namespace}/strict"),
            None => "strict".to_string(),
        };
        let reports = vec![report(vec![result(&name, "pass", "a", "p1")])];
        let mut filtered = input(reports, vec![document], Some(scan(true, &[])));
        filtered.namespace_filter = namespaces.iter().map(|n| n.to_string()).collect();
        decision::decide(&build(&filtered))[0].clone()
    };
    let cluster_wide = policy("strict", "Enforce", "2026-11-01T00:00:00Z");
    let decided = decided_in(cluster_wide.clone(), &["a"]);
    assert_eq!(decided.decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided.reasons[0].starts_with(
            "enforced, and not confirmed by this view: only namespace(s) a were looked at"
        ),
        "{decided:?}"
    );
    assert_eq!(decided_in(cluster_wide, &[]).decision, Decision::Enforced);
    let mut namespaced = policy("strict", "Enforce", "2026-11-01T00:00:00Z");
    namespaced["kind"] = json!("Policy");
    namespaced["metadata"]["namespace"] = json!("a");
    assert_eq!(
        decided_in(namespaced.clone(), &["a"]).decision,
        Decision::Enforced
    );
    assert_eq!(decided_in(namespaced, &["b"]).decision, Decision::Rescan);
}

/// walk31 F10: enforced in the cluster (by the package's kubectl command)
/// while Git still holds Audit, a ROLL BACK named `git apply
/// rollback.patch`, which applies only after promote.patch: it failed. The
/// kubectl rollback is the command then; with Git enforcing too, the patch.
#[test]
fn a_rollback_while_git_still_audits_is_the_kubectl_command() {
    let reports = vec![report(vec![result("strict", "pass", "a", "p1")])];
    let mut evidence = build(&input(
        reports,
        vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    promote_in_git(&mut evidence, "strict");
    let policy = find_mut(&mut evidence, "strict");
    if let Some(change) = policy.git_change.as_mut() {
        change.rollback = Some(crate::promotion::PatchFile {
            file: "patches/strict/rollback.patch".into(),
            diff: String::new(),
        });
    }
    let command = policy.rollback_command().unwrap_or_default();
    assert!(command.starts_with("kubectl patch"), "{command}");
    // Git enforces as well: its rollback patch.
    if let Some(change) = policy.git_change.as_mut() {
        change.promote = None;
    }
    assert_eq!(
        policy.rollback_command().as_deref(),
        Some("git apply patches/strict/rollback.patch")
    );
}

/// walk32 F2: a ROLL BACK not acted on turned ENFORCED, "no rollback
/// condition met", in the next package whose `--since` was the previous
/// one: its violator was no longer new. It stays ROLL BACK while the
/// violation stands; once fixed, ENFORCED.
#[test]
fn a_roll_back_not_acted_on_stays_while_its_violation_stands() {
    let with = |status: &str| {
        build(&input(
            vec![report(vec![result("strict", status, "a", "sneaky")])],
            vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        ))
    };
    let mut previous = with("fail");
    decision::apply(&mut previous);
    for decided in &mut previous.decisions {
        decided.decision = Decision::RollBack;
    }
    let mut current = with("fail");
    current.comparison = Some(compare::compare(&previous, &current));
    let decided = decision::decide(&current);
    assert_eq!(decided[0].decision, Decision::RollBack, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("a rollback the previous package called for"),
        "{decided:?}"
    );
    let mut fixed = with("pass");
    fixed.comparison = Some(compare::compare(&previous, &fixed));
    assert_eq!(decision::decide(&fixed)[0].decision, Decision::Enforced);
    // walk34: a package made without --since between them reads no
    // all-clear either (walk39 F5: NO-GO, the violation it enforces to
    // fix, where it read ENFORCED, "rollback: not checked").
    let mut unchecked = with("fail");
    decision::apply(&mut unchecked);
    assert_eq!(unchecked.decisions[0].decision, Decision::NoGo);
    assert!(
        unchecked.decisions[0].reasons[0]
            .starts_with("enforced, with 1 violation(s) Kyverno enforces now (a/Pod/sneaky fail)"),
        "{:?}",
        unchecked.decisions[0]
    );
    // After it, the violation stands: still no ENFORCED (NO-GO, as a
    // Mixed policy's not-ready verdict: fix it).
    let mut current = with("fail");
    current.comparison = Some(compare::compare(&unchecked, &current));
    let after = decision::decide(&current);
    assert_eq!(after[0].decision, Decision::NoGo, "{after:?}");
    assert!(
        after[0].reasons[0].contains("they stood in the previous package too"),
        "{after:?}"
    );
    // One that checked and found nothing, with no violation: ENFORCED.
    let mut checked = with("pass");
    checked.comparison = Some(compare::compare(&with("pass"), &checked));
    decision::apply(&mut checked);
    let mut next = with("pass");
    next.comparison = Some(compare::compare(&checked, &next));
    assert_eq!(decision::decide(&next)[0].decision, Decision::Enforced);
}

/// walk34: a ValidatingAdmissionPolicy given as a file, on a cluster that
/// does not serve the kind, read ENFORCED ("no rollback condition met")
/// beside its own verdict "nothing here would enforce it".
#[test]
fn an_enforced_policy_of_a_kind_the_cluster_does_not_serve_is_not_enforced() {
    let policies = vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")];
    let reports = vec![report(vec![result("strict", "pass", "a", "p1")])];
    let mut unserved = input(reports, policies, Some(scan(true, &[])));
    unserved.unserved_policy_kinds = vec!["ClusterPolicy".into()];
    let decided = decision::decide(&build(&unserved));
    assert_eq!(decided[0].decision, Decision::NoGo, "{decided:?}");
    assert!(
        decided[0].reasons[0].starts_with("this cluster does not serve ClusterPolicy"),
        "{decided:?}"
    );
    assert_eq!(decided[0].rollback_status, None);
    // verify35: with a violator and --since, no rollback check ("ROLL
    // BACK TO AUDIT" a policy nothing enforces) and no "will be rejected".
    let violated = || {
        let mut unserved = input(
            vec![report(vec![result("strict", "fail", "a", "p1")])],
            vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        );
        unserved.unserved_policy_kinds = vec!["ClusterPolicy".into()];
        build(&unserved)
    };
    let mut current = violated();
    let previous = build(&{
        let mut clean = input(
            vec![report(vec![result("strict", "pass", "a", "p1")])],
            vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        );
        clean.unserved_policy_kinds = vec!["ClusterPolicy".into()];
        clean
    });
    current.comparison = Some(compare::compare(&previous, &current));
    let comparison = current.comparison.as_ref().expect("compared");
    assert!(comparison.rollback_checks.is_empty(), "{comparison:?}");
    assert!(!find(&current, "strict").enforced_with_violations());
    assert_eq!(decision::decide(&current)[0].decision, Decision::NoGo);
}

/// walk39 F6: evidence made from files with the scan's record (no
/// discovery now) promoted an Audit policy of a kind the scanned cluster
/// does not serve: the record says so, and the evidence reads it.
#[test]
fn the_scan_record_says_which_policy_kinds_the_cluster_does_not_serve() {
    let build_with = |unserved: &[&str]| {
        let record = ScanRecord {
            unserved_policy_kinds: unserved.iter().map(|k| k.to_string()).collect(),
            ..scan(true, &[])
        };
        decision::decide(&build(&input(
            vec![report(vec![result("p", "pass", "a", "p1")])],
            vec![policy("p", "Audit", "2026-11-01T00:00:00Z")],
            Some(record),
        )))
    };
    let decided = build_with(&["ClusterPolicy"]);
    assert_eq!(decided[0].decision, Decision::NoGo, "{decided:?}");
    assert!(
        decided[0].reasons[0].starts_with("this cluster does not serve ClusterPolicy"),
        "{decided:?}"
    );
    assert_eq!(
        build_with(&["ValidatingAdmissionPolicy"])[0].decision,
        Decision::Go
    );
}

/// walk34: with no scan record at all, an enforced policy read ENFORCED
/// ("rollback: not checked") without --since, RESCAN with it.
#[test]
fn an_enforced_policy_with_no_scan_record_is_rescan() {
    let policies = vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")];
    let reports = vec![report(vec![result("strict", "pass", "a", "p1")])];
    let decided = decision::decide(&build(&input(reports, policies, None)));
    assert_eq!(decided[0].decision, Decision::Rescan, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("no record of the scan the reports come from"),
        "{decided:?}"
    );
}

/// verify36: an enforced policy with a part only admission sees (here a
/// verifyImages rule) read ENFORCED, "no rollback condition met", with
/// nothing saying that part is never checked.
#[test]
fn an_enforced_policy_says_what_no_scan_checks_of_it() {
    let mut strict = policy("strict", "Enforce", "2026-11-01T00:00:00Z");
    strict["spec"]["rules"].as_array_mut().expect("rules").push(
        json!({"name": "verify", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                     "verifyImages": [{"imageReferences": ["ghcr.io/acme/*"]}]}),
    );
    let evidence = build(&input(
        vec![report(vec![result("strict", "pass", "a", "p1")])],
        vec![strict],
        Some(scan(true, &[])),
    ));
    let decided = decision::decide(&evidence);
    assert_eq!(decided[0].decision, Decision::Enforced);
    assert!(
        decided[0]
            .reasons
            .iter()
            .any(|r| r.contains("rule verify: verifyImages")),
        "{decided:?}"
    );
}

/// walk39 F17: a GO for a policy read only from `--policies-from` beside a
/// cluster offered `kubectl patch clusterpolicy/…`, which finds nothing:
/// the cluster does not hold it. The change is now made to its file.
#[test]
fn a_file_only_policy_is_changed_in_its_file_not_patched() {
    let reports = vec![report(vec![result("clean", "pass", "a", "p1")])];
    let policies = vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")];
    let in_cluster = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let go = decision_of(&in_cluster, "clean");
    assert_eq!(go.decision, Decision::Go);
    assert!(
        go.instructions
            .iter()
            .any(|i| i.starts_with("kubectl patch clusterpolicy/clean")),
        "{:?}",
        go.instructions
    );
    let mut given = input(reports, policies, Some(scan(true, &[])));
    given
        .file_only_policies
        .insert(("ClusterPolicy".into(), String::new(), "clean".into()));
    let file_only = build(&given);
    let go = decision_of(&file_only, "clean");
    assert_eq!(go.decision, Decision::Go);
    assert!(
        !go.instructions.iter().any(|i| i.contains("kubectl patch")),
        "{:?}",
        go.instructions
    );
    assert!(
        go.instructions.iter().any(|i| i.starts_with("set spec.validationFailureAction to Enforce in the policy's file and apply it: ClusterPolicy clean is not in the cluster")),
        "{:?}",
        go.instructions
    );
    // Prose, not a shell block to paste (verify42).
    let text = crate::output::markdown::render(&file_only);
    assert!(
        text.contains(
            "\nEnforce: set spec.validationFailureAction to Enforce in the policy's file"
        ),
        "{text}"
    );
    assert!(!text.contains("```sh\nset spec"), "{text}");
}

/// walk43 (HIGH, wrong GO): an Enforce override for one namespace (here
/// one nothing runs in) made the policy "already enforce", so the soak
/// rule was skipped and one clean scan gave GO with the switch of its
/// Audit part. The switch takes that part to Enforce: it soaks as an
/// Audit policy does. A policy the switch leaves as it is (Enforce, an
/// Audit override elsewhere) still has no soak.
#[test]
fn an_enforce_override_somewhere_does_not_skip_the_soak_of_the_audit_part() {
    let mut mixed = policy("mixed", "Audit", "2026-11-01T00:00:00Z");
    mixed["spec"]["rules"][0]["validate"]["failureActionOverrides"] =
        json!([{"action": "Enforce", "namespaces": ["staging"]}]);
    let enforced = audit_override("kept", "Enforce", true);
    // One clean scan, the day before the evidence.
    let mut history = soak_history("mixed", &mixed, &[(10, 0)]);
    for (name, spans) in soak_history("kept", &enforced, &[(10, 0)]) {
        history.insert(name, spans);
    }
    let given = with_soak(
        input(
            vec![report(vec![
                result("mixed", "pass", "web", "p1"),
                result("kept", "pass", "web", "p1"),
            ])],
            vec![mixed, enforced],
            Some(scan(true, &[])),
        ),
        history,
    );
    let evidence = build(&given);
    let found = find(&evidence, "mixed");
    assert_eq!(found.info.action, "Mixed");
    let soak = found.soak.as_ref().expect("soak");
    assert_eq!(soak.status, SoakStatus::Wait, "{}", soak.summary);
    assert_eq!(found.verdict, Verdict::Wait, "{:?}", found.reasons);
    assert_eq!(decision_of(&evidence, "mixed").decision, Decision::Wait);

    let kept = find(&evidence, "kept");
    let soak = kept.soak.as_ref().expect("soak");
    assert_eq!(soak.status, SoakStatus::NotApplicable, "{}", soak.summary);
}

/// A CEL policy on every core resource (`resources: ["*"]`) reaches
/// Secrets, which a plain scan leaves out: GO with a violating Secret
/// unseen. And a scan whose kind filters left kinds out did not judge
/// "every kind".
#[test]
fn a_policy_on_every_kind_is_not_ready_from_a_scan_that_left_kinds_out() {
    let vpol = json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
        "metadata": {"name": "every", "managedFields": [{"manager": "kubectl", "time": "2026-11-01T00:00:00Z"}]},
        "spec": {"validationActions": ["Audit"],
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["*"]}]},
            "validations": [{"expression": "true"}]}});
    let mut passed = result("every", "pass", "a", "c1");
    passed["rule"] = json!("");
    passed["resources"][0]["kind"] = json!("ConfigMap");
    let record = |include: &str, kinds: &[&str]| {
        let mut record = scan(true, &[]);
        record.settings = Some(BTreeMap::from([
            ("--include-kinds".to_string(), include.to_string()),
            ("--exclude-kinds".to_string(), String::new()),
        ]));
        record.objects_by_kind = Some(kinds.iter().map(|k| (k.to_string(), 1)).collect());
        record
    };
    let reasons = |record: ScanRecord| {
        let evidence = build(&input(
            vec![report(vec![passed.clone()])],
            vec![vpol.clone()],
            Some(record),
        ));
        let found = find(&evidence, "every");
        assert_ne!(found.verdict, Verdict::Ready, "{:?}", found.reasons);
        found.reasons.join(" | ")
    };
    let plain = reasons(record("", &["ConfigMap", "Pod"]));
    assert!(
        plain.contains("the last scan did not list Secret (listed only by a scan naming it"),
        "{plain}"
    );
    let secrets_only = reasons(record("Secret", &["Secret"]));
    assert!(
        secrets_only.contains("did not list * (every kind; only Secret in --include-kinds)"),
        "{secrets_only}"
    );
    // The scan judged its filters left it out (wildcards by group): the
    // same, from a record that says so.
    let mut judged = record("Secret", &["Secret"]);
    judged.policies_kinds_left_out = Some(vec!["every".into()]);
    assert!(reasons(judged).contains("did not list * (every kind;"));
    // verify45 F3: a scan naming every core kind, Secret included, which
    // judged that nothing of the policy's reach was left out (apps kinds
    // are not core): ready. It never was, whatever the scan.
    let mut whole = record("ConfigMap,Pod,Secret", &["ConfigMap", "Pod", "Secret"]);
    whole.policies_kinds_left_out = Some(Vec::new());
    let evidence = build(&input(
        vec![report(vec![passed.clone()])],
        vec![vpol.clone()],
        Some(whole),
    ));
    let found = find(&evidence, "every");
    assert_eq!(found.verdict, Verdict::Ready, "{:?}", found.reasons);
}

/// verify46 F1: a Kyverno kind selector with a wildcard (`v1/*`,
/// `Secre*`) reaches Secrets too, which a plain scan leaves out: not
/// ready. `apps/v1/*` does not reach them.
#[test]
fn a_kyverno_wildcard_kind_reaching_secrets_is_not_ready_from_a_plain_scan() {
    for (selector, reaches) in [("v1/*", true), ("Secre*", true), ("apps/v1/*", false)] {
        let policy = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "star", "managedFields": [{"manager": "kubectl", "time": "2026-11-01T00:00:00Z"}]},
            "spec": {"validationFailureAction": "Audit", "background": true, "rules": [{"name": "team",
                "match": {"any": [{"resources": {"kinds": [selector]}}]},
                "validate": {"message": "team", "pattern": {"metadata": {"labels": {"team": "?*"}}}}}]}});
        let mut passed = result("star", "pass", "a", "c1");
        passed["rule"] = json!("team");
        passed["resources"][0]["kind"] = json!("ConfigMap");
        let mut record = scan(true, &[]);
        record.objects_by_kind = Some(
            ["ConfigMap", "Pod", "apps/Deployment"]
                .iter()
                .map(|k| (k.to_string(), 1))
                .collect(),
        );
        let evidence = build(&input(
            vec![report(vec![passed])],
            vec![policy],
            Some(record),
        ));
        let found = find(&evidence, "star");
        assert_eq!(
            found.info.kinds.iter().any(|k| k == "Secret"),
            reaches,
            "{selector}"
        );
        if reaches {
            assert_ne!(found.verdict, Verdict::Ready, "{selector}");
            assert!(
                found.reasons.join(" ").contains("Secret ("),
                "{selector}: {:?}",
                found.reasons
            );
        }
    }
}

/// verify46 F3: a GO's promote.patch that also switches another policy
/// reading the same values key is held back unless that one is ready (or
/// enforces already); a reader of unknown identity holds it back too.
#[test]
fn a_promotion_that_switches_a_policy_not_ready_is_held_back() {
    use crate::promotion::Reader;
    let with_readers = |readers: Vec<Reader>| {
        let mut evidence = evidence();
        promote_in_git(&mut evidence, "clean");
        if let Some(change) = find_mut(&mut evidence, "clean").git_change.as_mut() {
            change.also_switches = readers;
        }
        crate::promotion::hold_back_shared(&mut evidence);
        decision::apply(&mut evidence);
        evidence
    };
    let reader = |name: Option<&str>| Reader {
        identity: name.map(|n| ("ClusterPolicy".to_string(), n.to_string())),
        place: "c/templates/x.yaml:7".into(),
    };
    let kind = find(&evidence(), "dirty").info.kind.clone();
    assert_eq!(kind, "ClusterPolicy");
    let held = with_readers(vec![reader(Some("dirty"))]);
    let clean = find(&held, "clean");
    assert!(clean.git_promote().is_none());
    assert!(
        clean
            .git_change
            .as_ref()
            .and_then(|c| c.problem.as_deref())
            .is_some_and(
                |p| p.contains("ClusterPolicy dirty (c/templates/x.yaml:7), which is not ready")
            ),
        "{:?}",
        clean.git_change
    );
    assert!(find(&with_readers(vec![reader(None)]), "clean")
        .git_promote()
        .is_none());
    // Another ready policy: the patch stands.
    let fine = with_readers(vec![reader(Some("clean"))]);
    assert!(find(&fine, "clean").git_promote().is_some());
    // walk48 W48-4: ready by its scan, but Git holds a version that never
    // soaked: the patch would enforce that version.
    let mut evidence = evidence();
    promote_in_git(&mut evidence, "clean");
    promote_in_git(&mut evidence, "enforced");
    if let Some(change) = find_mut(&mut evidence, "clean").git_change.as_mut() {
        change.also_switches = vec![reader(Some("other"))];
    }
    evidence.policies.push({
        let mut other = find(&evidence, "clean").clone();
        other.info.name = "other".into();
        other.git_change = Some(crate::promotion::GitChange {
            rules_differ: true,
            ..crate::promotion::GitChange::default()
        });
        other
    });
    crate::promotion::hold_back_shared(&mut evidence);
    assert!(find(&evidence, "clean").git_promote().is_none());
}

/// verify47 V47-2: after the switch, a rollback.patch setting back a
/// values key another enforced policy reads would un-enforce that one
/// too: held back, saying which; a reader known to be in Audit does not
/// hold it.
#[test]
fn a_rollback_that_un_enforces_another_reader_is_held_back() {
    use crate::promotion::Reader;
    let with_reader = |name: &str| {
        let mut evidence = evidence();
        let policy = find_mut(&mut evidence, "enforced");
        policy.git_change = Some(crate::promotion::GitChange {
            rollback: Some(crate::promotion::PatchFile {
                file: "patches/enforced/rollback.patch".into(),
                diff: String::new(),
            }),
            also_switches: vec![Reader {
                identity: Some(("ClusterPolicy".to_string(), name.to_string())),
                place: "c/templates/x.yaml:7".into(),
            }],
            ..crate::promotion::GitChange::default()
        });
        crate::promotion::hold_back_shared(&mut evidence);
        evidence
    };
    let held = with_reader("other-enforced");
    let change = find(&held, "enforced")
        .git_change
        .as_ref()
        .expect("a change");
    assert!(change.rollback.is_none());
    assert!(
        change.problem.as_deref().is_some_and(|p| p
            .contains("also read by ClusterPolicy other-enforced (c/templates/x.yaml:7), which may be enforced through it")),
        "{change:?}"
    );
    // `clean` is in Audit: rolling back changes nothing of it.
    let kept = with_reader("clean");
    assert!(find(&kept, "enforced")
        .git_change
        .as_ref()
        .is_some_and(|c| c.rollback.is_some() && c.problem.is_none()));
}

/// verify47 V47-10, V47-11, V47-12: one kustomize base or chart template
/// made into the same Policy in two namespaces: the ready copy's patch
/// changes the line the NO-GO copy is made from too, so it is held back;
/// and a reader naming `Policy b` is fine only when every `b` is.
#[test]
fn a_patch_shared_with_a_policy_not_ready_is_held_back() {
    use crate::promotion::{GitChange, PatchFile, Reader};
    let built = || {
        build(&input(
            vec![report(vec![
                result("shop/a", "pass", "shop", "x"),
                result("dev/a", "fail", "dev", "y"),
                result("shop/b", "pass", "shop", "x"),
                result("dev/b", "fail", "dev", "y"),
            ])],
            vec![
                namespaced_policy("shop", "a"),
                namespaced_policy("dev", "a"),
                namespaced_policy("shop", "b"),
                namespaced_policy("dev", "b"),
            ],
            Some(scan(true, &[])),
        ))
    };
    let change = |location: &str, readers: Vec<Reader>| GitChange {
        locations: vec![location.to_string()],
        promote: Some(PatchFile {
            file: "patches/x/promote.patch".into(),
            diff: String::new(),
        }),
        also_switches: readers,
        ..GitChange::default()
    };
    let at = |evidence: &mut Evidence, namespace: &str, name: &str, c: GitChange| {
        if let Some(policy) = evidence
            .policies
            .iter_mut()
            .find(|p| p.info.namespace.as_deref() == Some(namespace) && p.info.name == name)
        {
            policy.git_change = Some(c);
        }
    };
    let problem = |evidence: &Evidence, namespace: &str, name: &str| {
        evidence
            .policies
            .iter()
            .find(|p| p.info.namespace.as_deref() == Some(namespace) && p.info.name == name)
            .and_then(|p| p.git_change.clone())
            .map(|c| (c.promote.is_some(), c.problem))
    };
    // One base line makes shop/a and dev/a.
    let mut evidence = built();
    assert_eq!(
        evidence
            .policies
            .iter()
            .filter(|p| p.verdict == Verdict::Ready)
            .count(),
        2
    );
    at(
        &mut evidence,
        "shop",
        "a",
        change("base/p.yaml:6 spec.validationFailureAction", vec![]),
    );
    at(
        &mut evidence,
        "dev",
        "a",
        change("base/p.yaml:6 spec.validationFailureAction", vec![]),
    );
    crate::promotion::hold_back_shared(&mut evidence);
    let (promotes, why) = problem(&evidence, "shop", "a").expect("a change");
    assert!(!promotes);
    assert!(
        why.as_deref()
            .is_some_and(|w| w.contains("Policy dev/a (also made from base/p.yaml:6")),
        "{why:?}"
    );
    // dev/a's own patch (for later) switches only a ready copy: it stays.
    assert_eq!(problem(&evidence, "dev", "a"), Some((true, None)));
    // verify48 V48-18: one values line, each location naming its reader.
    let mut evidence = built();
    at(
        &mut evidence,
        "shop",
        "a",
        change(
            "values-prod.yaml:1 policyAction (read by x/templates/a.yaml:6)",
            vec![],
        ),
    );
    at(
        &mut evidence,
        "dev",
        "a",
        change(
            "values-prod.yaml:1 policyAction (read by y/templates/b.yaml:6)",
            vec![],
        ),
    );
    crate::promotion::hold_back_shared(&mut evidence);
    assert_eq!(
        problem(&evidence, "shop", "a").map(|(promotes, _)| promotes),
        Some(false)
    );
    // A reader `Policy b`: shop/b is ready, dev/b is not.
    let mut evidence = built();
    let reader = Reader {
        identity: Some(("Policy".into(), "b".into())),
        place: "chart/templates/b.yaml:7".into(),
    };
    at(
        &mut evidence,
        "shop",
        "a",
        change("chart/values.yaml:1 policyAction", vec![reader]),
    );
    crate::promotion::hold_back_shared(&mut evidence);
    let (promotes, why) = problem(&evidence, "shop", "a").expect("a change");
    assert!(!promotes, "{why:?}");
    // Separate lines: nothing shared.
    let mut evidence = built();
    at(
        &mut evidence,
        "shop",
        "a",
        change("shop/p.yaml:6 spec.validationFailureAction", vec![]),
    );
    at(
        &mut evidence,
        "dev",
        "a",
        change("dev/p.yaml:6 spec.validationFailureAction", vec![]),
    );
    crate::promotion::hold_back_shared(&mut evidence);
    assert_eq!(problem(&evidence, "shop", "a"), Some((true, None)));
}

/// walk47 W47-7: a clean policy that enforces already reads "enforced,
/// clean" in a table row, not "ready to enforce".
#[test]
fn an_enforced_clean_policy_is_not_called_ready_to_enforce() {
    let evidence = evidence();
    assert_eq!(
        find(&evidence, "enforced").verdict_words(),
        "enforced, clean"
    );
    assert_eq!(find(&evidence, "clean").verdict_words(), "ready to enforce");
    assert_eq!(find(&evidence, "dirty").verdict_words(), "not ready");
}

/// verify48 V48-17: a failing rule Git enforces on its own stays enforced
/// after rollback.patch: named, so the ROLL BACK says to set it to Audit.
#[test]
fn a_failing_rule_the_rollback_leaves_enforced_is_named() {
    let mut evidence = evidence_with(vec![result("enforced", "fail", "a", "p9")]);
    let policy = find_mut(&mut evidence, "enforced");
    assert!(
        policy.violations.iter().any(|v| v.enforced()),
        "{:?}",
        policy.violations
    );
    policy.git_change = Some(crate::promotion::GitChange {
        rollback: Some(crate::promotion::PatchFile {
            file: "patches/enforced/rollback.patch".into(),
            diff: String::new(),
        }),
        enforced_after_rollback: vec!["check".into()],
        ..crate::promotion::GitChange::default()
    });
    assert_eq!(
        find(&evidence, "enforced").failing_rules_kept_by_rollback(),
        ["check"]
    );
    let policy = find_mut(&mut evidence, "enforced");
    if let Some(change) = policy.git_change.as_mut() {
        change.enforced_after_rollback = vec!["other".into()];
    }
    assert!(find(&evidence, "enforced")
        .failing_rules_kept_by_rollback()
        .is_empty());
}

/// walk74 W74-1: a ROLL BACK for a fail only a polscan.io/exception
/// annotation skips, not acted on, stays ROLL BACK in the next package
/// (it turned ENFORCED: the skip was no "standing violation").
#[test]
fn a_roll_back_for_an_annotation_only_skip_stays_while_it_stands() {
    let with = |result: Value| {
        build(&input(
            vec![report(vec![result])],
            vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        ))
    };
    let skipped = || annotation_skipped("strict", "check-team", "vendor", "fail");
    let mut previous = with(skipped());
    decision::apply(&mut previous);
    for decided in &mut previous.decisions {
        decided.decision = Decision::RollBack;
    }
    let mut current = with(skipped());
    current.comparison = Some(compare::compare(&previous, &current));
    let decided = decision::decide(&current);
    assert_eq!(decided[0].decision, Decision::RollBack, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains("skipped only by a polscan.io/exception annotation"),
        "{decided:?}"
    );
}

/// walk74 W74-5: a new annotation bypass that Kyverno does not read is
/// both a new exception (to polscan) and a new violation (to Kyverno); the
/// package says why, and the violation's line says its qualifier once.
#[test]
fn a_new_annotation_only_bypass_says_why_it_is_also_a_new_violation() {
    let with = |results: Vec<Value>| {
        build(&input(
            vec![report(results)],
            vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        ))
    };
    let previous = with(vec![rule_result("strict", "check-team", "pass", "web")]);
    let mut current = with(vec![
        rule_result("strict", "check-team", "pass", "web"),
        annotation_skipped("strict", "check-team", "vendor", "fail"),
    ]);
    let comparison = compare::compare(&previous, &current);
    assert_eq!(comparison.new_exceptions.len(), 1, "{comparison:?}");
    assert!(
        comparison.new_exceptions[0].ends_with(
            "(a bypass to polscan only: Kyverno's admission does not read it, so what it skips is a violation to Kyverno)"
        ),
        "{:?}",
        comparison.new_exceptions
    );
    assert_eq!(comparison.new_violations.len(), 1, "{comparison:?}");
    current.comparison = Some(comparison);
    let markdown = crate::output::markdown::render(&current);
    let line = markdown
        .lines()
        .find(|l| l.starts_with("- strict ") && l.contains("Pod/vendor"))
        .unwrap_or_else(|| panic!("{markdown}"));
    assert_eq!(
        line.matches("skipped only by a polscan.io/exception annotation")
            .count(),
        1,
        "{line}"
    );
    assert!(
        line.ends_with(": Kyverno's admission does not read the annotation"),
        "{line}"
    );
}

/// walk79: an enforced policy whose only violator is excused by a
/// polscan.io/exception annotation (which Kyverno does not read) is not
/// ENFORCED on the decision line, with or without --since.
#[test]
fn an_annotation_only_violator_keeps_an_enforced_policy_from_enforced() {
    let evidence = build(&input(
        vec![report(vec![
            rule_result("strict", "check-team", "pass", "web"),
            annotation_skipped("strict", "check-team", "vendor", "fail"),
        ])],
        vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let decided = decision::decide(&evidence);
    assert_eq!(decided[0].decision, Decision::NoGo, "{decided:?}");
    assert!(
        decided[0].reasons[0].contains(
            "Pod/vendor fail to Kyverno (skipped only by a polscan.io/exception annotation)"
        ),
        "{decided:?}"
    );
    // An annotation over a pass is no violation to Kyverno.
    let passing = build(&input(
        vec![report(vec![annotation_skipped(
            "strict",
            "check-team",
            "vendor",
            "pass",
        )])],
        vec![policy("strict", "Enforce", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    assert_eq!(
        decision::decide(&passing)[0].decision,
        Decision::Enforced,
        "{:?}",
        decision::decide(&passing)
    );
}

/// walk79: after a failed scan, a policy in Audit whose only reasons are
/// the scan's is RESCAN; one with a violation of its own stays NO-GO.
#[test]
fn a_failed_scan_alone_is_rescan_for_a_policy_in_audit() {
    let judged = |results: Vec<Value>| {
        let mut failed = scan(false, &[]);
        failed.error = Some("reading policies, so nothing was scanned or pruned: bad.yaml: document 1: did not find expected ','".into());
        let evidence = build(&input(
            vec![report(results)],
            vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
            Some(failed),
        ));
        decision::decide(&evidence).remove(0)
    };
    let clean = judged(vec![result("clean", "pass", "a", "p1")]);
    assert_eq!(clean.decision, Decision::Rescan, "{clean:?}");
    assert!(
        clean.reasons[0].starts_with("the last scan failed: reading policies"),
        "{clean:?}"
    );
    assert!(
        clean.contacts.is_empty() && clean.rollback_status.is_none(),
        "{clean:?}"
    );
    let failing = judged(vec![result("clean", "fail", "a", "p1")]);
    assert_eq!(failing.decision, Decision::NoGo, "{failing:?}");
}
