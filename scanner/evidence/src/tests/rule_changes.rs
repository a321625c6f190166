//! Rule changes between two packages (`--since`): the rule diff, the
//! violations a changed rule removed or added (never counted as fixed), an
//! action-only change, and an earlier package that did not record rules.

use super::*;
use crate::model::RuleChangeStatus;

/// `policy` with its rule `check` requiring `pattern`.
fn with_pattern(action: &str, pattern: Value) -> Value {
    let mut document = policy("guarded", action, "2026-11-01T00:00:00Z");
    document["spec"]["rules"][0]["validate"]["pattern"] = pattern;
    document
}

fn evidence(policies: Vec<Value>, results: Vec<Value>) -> Evidence {
    build(&input(
        vec![report(results)],
        policies,
        Some(scan(true, &[])),
    ))
}

#[test]
fn a_relaxed_rule_removes_violations_that_are_not_fixes() {
    let strict = json!({"metadata": {"labels": {"team": "?*"}}});
    let before = evidence(
        vec![with_pattern("Audit", strict)],
        vec![result("guarded", "fail", "a", "web")],
    );
    // The refinement: the label made optional. The Pod is unchanged.
    let relaxed = json!({"metadata": {"=(labels)": {"=(team)": "?*"}}});
    let mut after = evidence(
        vec![with_pattern("Audit", relaxed)],
        vec![result("guarded", "pass", "a", "web")],
    );
    let comparison = compare::compare(&before, &after);
    assert!(comparison.fixed_violations.is_empty(), "{comparison:?}");
    assert!(comparison.unknown_violations.is_empty(), "{comparison:?}");
    let [change] = comparison.rule_changes.as_slice() else {
        panic!("one rule change: {comparison:?}");
    };
    assert_eq!(change.status, RuleChangeStatus::Changed);
    assert_eq!(change.changed_rules, vec!["check".to_string()]);
    assert!(change.added_rules.is_empty() && change.removed_rules.is_empty());
    assert_eq!(change.removed_violations.len(), 1, "{change:?}");
    assert_eq!(change.removed_violations[0].resource, "a/Pod/web");
    assert!(
        change.diff.contains("-") && change.diff.contains("=(team)"),
        "{}",
        change.diff
    );
    assert!(change.actions_diff.is_empty());
    assert!(change
        .summary()
        .starts_with("1 violations removed, 0 added since the rules changed"));
    let counts = comparison.counts();
    let count = |label: &str| {
        counts
            .iter()
            .find(|c| c.label.starts_with(label))
            .map(|c| c.count)
    };
    assert_eq!(count("fixed violations"), Some(0));
    assert_eq!(count("removed since their rules changed"), Some(1));
    after.comparison = Some(comparison);
    let page = markdown::render(&after);
    assert!(page.contains("### Rules changed: guarded"), "{page}");
    assert!(page.contains("```diff\n--- previous rules"), "{page}");
    assert!(
        page.contains("removed by the change (not fixed): a/Pod/web"),
        "{page}"
    );
    let html = html::render(&after);
    assert!(
        html.contains("<pre class=\"rule-diff\">--- previous rules"),
        "{html}"
    );
}

#[test]
fn only_the_changed_rule_s_violations_are_the_change_s() {
    // Rule `a` is changed, `b` is not: b's violation gone is a fix.
    let before = evidence(
        vec![two_rule_policy("two", "Audit", None)],
        vec![
            rule_result("two", "a", "fail", "one"),
            rule_result("two", "b", "fail", "two"),
        ],
    );
    let mut changed = two_rule_policy("two", "Audit", None);
    changed["spec"]["rules"][0]["validate"]["pattern"] = json!({"spec": {}});
    let after = evidence(
        vec![changed],
        vec![
            rule_result("two", "a", "pass", "one"),
            rule_result("two", "b", "pass", "two"),
        ],
    );
    let comparison = compare::compare(&before, &after);
    assert_eq!(comparison.fixed_violations.len(), 1, "{comparison:?}");
    assert_eq!(comparison.fixed_violations[0].rule, "b");
    assert_eq!(
        comparison.rule_changes[0].changed_rules,
        vec!["a".to_string()]
    );
    assert_eq!(comparison.rule_changes[0].removed_violations[0].rule, "a");
}

#[test]
fn an_added_rule_s_violations_are_new_and_the_change_s() {
    let before = evidence(
        vec![policy("guarded", "Enforce", "2026-11-01T00:00:00Z")],
        vec![result("guarded", "pass", "a", "web")],
    );
    let mut added = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    added["spec"]["rules"]
        .as_array_mut()
        .expect("rules")
        .push(json!({"name": "limits", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "validate": {"pattern": {"spec": {}}}}));
    let mut failing = rule_result("guarded", "limits", "fail", "web");
    failing["resources"][0]["namespace"] = json!("a");
    let after = evidence(
        vec![added],
        vec![result("guarded", "pass", "a", "web"), failing],
    );
    let comparison = compare::compare(&before, &after);
    let change = &comparison.rule_changes[0];
    assert_eq!(change.added_rules, vec!["limits".to_string()]);
    assert_eq!(change.added_violations.len(), 1, "{change:?}");
    // To Kyverno a new violation all the same: the enforced policy rolls back.
    assert_eq!(comparison.new_violations.len(), 1);
    assert!(comparison.rollback_checks[0].roll_back, "{comparison:?}");
}

#[test]
fn unchanged_rules_give_no_diff_and_a_gone_violation_is_fixed() {
    let document = policy("guarded", "Audit", "2026-11-01T00:00:00Z");
    let before = evidence(
        vec![document.clone()],
        vec![result("guarded", "fail", "a", "web")],
    );
    let after = evidence(vec![document], vec![result("guarded", "pass", "a", "web")]);
    let comparison = compare::compare(&before, &after);
    assert!(comparison.rule_changes.is_empty(), "{comparison:?}");
    assert_eq!(comparison.fixed_violations.len(), 1);
}

#[test]
fn an_action_only_change_is_shown_but_is_no_rule_change() {
    let before = evidence(
        vec![policy("guarded", "Audit", "2026-11-01T00:00:00Z")],
        vec![result("guarded", "fail", "a", "web")],
    );
    let mut after = evidence(
        vec![policy("guarded", "Enforce", "2026-11-01T00:00:00Z")],
        vec![result("guarded", "pass", "a", "web")],
    );
    let comparison = compare::compare(&before, &after);
    let [change] = comparison.rule_changes.as_slice() else {
        panic!("one change: {comparison:?}");
    };
    assert_eq!(change.status, RuleChangeStatus::ActionsChanged);
    assert!(change.diff.is_empty() && change.changed_rules.is_empty());
    assert!(
        change
            .actions_diff
            .contains("+spec.validationFailureAction: Enforce"),
        "{}",
        change.actions_diff
    );
    assert!(change.removed_violations.is_empty());
    assert_eq!(comparison.fixed_violations.len(), 1, "{comparison:?}");
    after.comparison = Some(comparison);
    assert!(markdown::render(&after).contains("Actions (shown, not a rule change)"));
}

#[test]
fn an_earlier_package_without_rules_cannot_tell_and_proves_no_fix() {
    let strict = json!({"metadata": {"labels": {"team": "?*"}}});
    let mut before = evidence(
        vec![with_pattern("Audit", strict.clone())],
        vec![result("guarded", "fail", "a", "web")],
    );
    // As a package from before polscan kept the rules, read back.
    for policy in &mut before.policies {
        policy.info.rule_content = None;
    }
    let text = serde_json::to_string(&before).expect("json");
    assert!(!text.contains("ruleContent"));
    let before: Evidence = serde_json::from_str(&text).expect("an older package reads");
    let relaxed = json!({"metadata": {"=(labels)": {"=(team)": "?*"}}});
    let after = evidence(
        vec![with_pattern("Audit", relaxed)],
        vec![result("guarded", "pass", "a", "web")],
    );
    let comparison = compare::compare(&before, &after);
    let [change] = comparison.rule_changes.as_slice() else {
        panic!("one change: {comparison:?}");
    };
    assert_eq!(change.status, RuleChangeStatus::NotRecorded);
    assert_eq!(
        change.summary(),
        "rules not recorded in the previous package: cannot tell whether they changed"
    );
    assert!(comparison.fixed_violations.is_empty(), "{comparison:?}");
    assert_eq!(comparison.unknown_violations.len(), 1, "{comparison:?}");
    // The same document on both sides: unchanged, recorded or not.
    let same = evidence(
        vec![with_pattern("Audit", strict)],
        vec![result("guarded", "pass", "a", "web")],
    );
    let comparison = compare::compare(&before, &same);
    assert!(comparison.rule_changes.is_empty(), "{comparison:?}");
    assert_eq!(comparison.fixed_violations.len(), 1);
    // Only the action changed: the document digest differs, the rulesDigest
    // (of packages that have it) does not: the same rules.
    let enforced = evidence(
        vec![with_pattern(
            "Enforce",
            json!({"metadata": {"labels": {"team": "?*"}}}),
        )],
        vec![result("guarded", "pass", "a", "web")],
    );
    let comparison = compare::compare(&before, &enforced);
    assert!(comparison.rule_changes.is_empty(), "{comparison:?}");
    assert_eq!(comparison.fixed_violations.len(), 1);
}

#[test]
fn a_cel_policy_s_validations_changed_affect_its_one_rule() {
    let before = evidence(
        vec![validating_policy("cel")],
        vec![cel_result("cel", "fail", "web")],
    );
    let mut changed = validating_policy("cel");
    changed["spec"]["validations"] = json!([{"expression": "true"}]);
    let after = evidence(vec![changed], vec![cel_result("cel", "pass", "web")]);
    let comparison = compare::compare(&before, &after);
    let change = &comparison.rule_changes[0];
    assert_eq!(change.changed_fields, vec!["validations".to_string()]);
    assert_eq!(change.removed_violations.len(), 1, "{change:?}");
    assert!(comparison.fixed_violations.is_empty());
}

/// A rule whose exclude changed takes a resource out of its scope: the
/// violation gone is the change's (counted as removed by it), not "left the
/// policy's scope" with the change saying it removed nothing.
#[test]
fn a_resource_excluded_by_the_changed_rule_is_the_change_s() {
    let pattern = json!({"metadata": {"labels": {"team": "?*"}}});
    let other = policy("other", "Audit", "2026-11-01T00:00:00Z");
    let before = evidence(
        vec![with_pattern("Audit", pattern.clone()), other.clone()],
        vec![
            result("guarded", "fail", "misc", "stray"),
            result("other", "pass", "misc", "stray"),
        ],
    );
    let mut excluding = with_pattern("Audit", pattern);
    excluding["spec"]["rules"][0]["exclude"] =
        json!({"any": [{"resources": {"namespaces": ["misc"]}}]});
    // The Pod is unchanged and still has the other policy's result: the
    // current reports say it left the rule's scope.
    let after = evidence(
        vec![excluding, other],
        vec![result("other", "pass", "misc", "stray")],
    );
    let comparison = compare::compare_with(&before, &after, &|_, _, _| {
        Some(crate::ingest::results::LEFT_SCOPE)
    });
    assert!(comparison.fixed_violations.is_empty(), "{comparison:?}");
    assert!(comparison.unknown_violations.is_empty(), "{comparison:?}");
    let [change] = comparison.rule_changes.as_slice() else {
        panic!("one rule change: {comparison:?}");
    };
    assert_eq!(change.removed_violations.len(), 1, "{change:?}");
    assert_eq!(change.removed_violations[0].resource, "misc/Pod/stray");
    assert!(change
        .summary()
        .starts_with("1 violations removed, 0 added since the rules changed"));
}

/// walk69 W69-2: a policy the earlier package had no document of (given
/// only as files, and not to that package) is not "changed": the
/// violations gone are not known to be fixed, and the reason says the
/// earlier package did not have its document.
#[test]
fn an_earlier_package_without_the_policy_s_document_says_so() {
    let strict = json!({"metadata": {"labels": {"team": "?*"}}});
    let mut before = evidence(
        vec![with_pattern("Audit", strict.clone())],
        vec![result("guarded", "fail", "a", "web")],
    );
    for policy in &mut before.policies {
        policy.info.rule_content = None;
        policy.info.digest = None;
        policy.info.rules_digest = None;
    }
    let after = evidence(
        vec![with_pattern("Audit", strict)],
        vec![result("guarded", "pass", "a", "web")],
    );
    let comparison = compare::compare(&before, &after);
    let [change] = comparison.rule_changes.as_slice() else {
        panic!("one change: {comparison:?}");
    };
    assert_eq!(change.status, RuleChangeStatus::NotRecorded);
    assert!(
        change
            .summary()
            .starts_with("the previous package did not have the policy's document"),
        "{}",
        change.summary()
    );
    assert!(comparison.fixed_violations.is_empty(), "{comparison:?}");
    let [unknown] = comparison.unknown_violations.as_slice() else {
        panic!("one unknown: {comparison:?}");
    };
    let why = unknown.reason.as_deref().unwrap_or_default();
    assert!(
        why.starts_with("the previous package did not have the policy's document")
            && !why.contains("the policy changed"),
        "{why}"
    );
}

/// walk69 W69-5: a changed policy the last scan could not load (invalid)
/// judged nothing; the reports hold its earlier rules' results. A new
/// violation is new, but not the change's doing, and a gone one is not
/// known to be fixed.
#[test]
fn a_changed_policy_the_last_scan_could_not_load_is_credited_nothing() {
    let before = evidence(
        vec![policy("guarded", "Audit", "2026-11-01T00:00:00Z")],
        vec![
            result("guarded", "pass", "a", "web"),
            result("guarded", "fail", "a", "old"),
        ],
    );
    let mut invalid = policy("guarded", "Audit", "2026-11-01T00:00:00Z");
    invalid["spec"]["rules"][0]["validate"]["pattern"] = json!({"spec": {}});
    let mut record = scan(true, &[]);
    record.invalid_policies = vec!["guarded".into()];
    let mut after = build(&input(
        vec![report(vec![
            result("guarded", "pass", "a", "web"),
            result("guarded", "fail", "a", "sneaky"),
        ])],
        vec![invalid],
        Some(record),
    ));
    let comparison = compare::compare(&before, &after);
    let [change] = comparison.rule_changes.as_slice() else {
        panic!("one rule change: {comparison:?}");
    };
    assert_eq!(change.status, RuleChangeStatus::Changed);
    assert!(change.added_violations.is_empty(), "{change:?}");
    assert!(change.removed_violations.is_empty(), "{change:?}");
    assert!(
        change
            .summary()
            .starts_with("changed, but not loaded by the last scan"),
        "{}",
        change.summary()
    );
    assert_eq!(comparison.new_violations.len(), 1, "{comparison:?}");
    assert_eq!(comparison.new_violations[0].resource, "a/Pod/sneaky");
    assert!(comparison.fixed_violations.is_empty(), "{comparison:?}");
    assert_eq!(comparison.unknown_violations.len(), 1, "{comparison:?}");
    after.comparison = Some(comparison);
    let page = markdown::render(&after);
    assert!(!page.contains("added by the change"), "{page}");
    assert!(
        page.contains("the reports hold results of its earlier rules"),
        "{page}"
    );
}
