//! The fail-closed baseline of production (`--environment`,
//! `--baseline-severity`): which policies breach it, what promotes a ready
//! one and who must fix a not-ready one, the breaches at the top of the
//! pages; and the command that switches each kind of policy to Enforce.

use super::*;
use crate::verdict::baseline::apply;

/// `policy` with its `policies.kyverno.io/severity`.
fn severe(name: &str, action: &str, severity: &str) -> Value {
    let mut document = policy(name, action, "2026-11-01T00:00:00Z");
    document["metadata"]["annotations"]["policies.kyverno.io/severity"] = json!(severity);
    document
}

fn baseline_evidence() -> Evidence {
    build(&input(
        vec![report(vec![
            result("clean", "pass", "a", "p1"),
            result("dirty", "fail", "team-a", "p2"),
            result("dirty", "pass", "a", "p1"),
            result("enforced", "pass", "a", "p1"),
            result("high", "pass", "a", "p1"),
        ])],
        vec![
            severe("clean", "Audit", "critical"),
            severe("dirty", "Audit", "Critical"),
            severe("enforced", "Enforce", "critical"),
            severe("high", "Audit", "high"),
            policy("plain", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ))
}

fn breach_names(evidence: &Evidence) -> Vec<&str> {
    evidence
        .baseline
        .as_ref()
        .expect("a baseline")
        .breaches
        .iter()
        .map(|b| b.policy.as_str())
        .collect()
}

#[test]
fn in_production_every_critical_policy_not_enforced_is_a_breach() {
    let mut evidence = baseline_evidence();
    apply(&mut evidence, Some("Production"), &[]);
    assert_eq!(evidence.environment.as_deref(), Some("Production"));
    let baseline = evidence.baseline.as_ref().expect("a baseline");
    assert_eq!(baseline.severities, ["critical"]);
    // The severity is compared without case; Enforce and other
    // severities hold the baseline.
    assert_eq!(breach_names(&evidence), ["clean", "dirty"]);
    let clean = &baseline.breaches[0];
    assert_eq!(clean.verdict, Verdict::Ready);
    assert_eq!(
        clean.promote,
        ["kubectl patch clusterpolicy/clean --type=merge -p '{\"spec\":{\"validationFailureAction\":\"Enforce\"}}'"]
    );
    assert!(clean.to_fix.is_empty());
    let dirty = &baseline.breaches[1];
    assert_eq!(dirty.verdict, Verdict::NotReady);
    assert!(dirty.promote.is_empty());
    assert_eq!(
        dirty.to_fix[0], "team-a/Pod/p2: 1 violation(s) (rule check)",
        "{:?}",
        dirty.to_fix
    );
    assert!(dirty.to_fix.len() > 1, "the reasons follow the owners");

    // --baseline-severity widens it.
    apply(
        &mut evidence,
        Some("production"),
        &["critical".into(), " HIGH".into()],
    );
    assert_eq!(breach_names(&evidence), ["clean", "dirty", "high"]);
}

#[test]
fn elsewhere_the_environment_is_only_recorded() {
    let mut evidence = baseline_evidence();
    apply(&mut evidence, Some("staging"), &["critical".into()]);
    assert_eq!(evidence.environment.as_deref(), Some("staging"));
    assert!(evidence.baseline.is_none());
    let json = serde_json::to_value(&evidence).expect("json");
    assert_eq!(json["environment"], "staging");
    assert!(json.get("baseline").is_none());
    assert!(markdown::render(&evidence).contains("Environment: **staging**."));

    // Without the flags nothing new is written but the Enforce command.
    let mut plain = baseline_evidence();
    apply(&mut plain, None, &[]);
    let json = serde_json::to_value(&plain).expect("json");
    assert!(json.get("environment").is_none() && json.get("baseline").is_none());
    assert!(!markdown::render(&plain).contains("Baseline"));
    assert!(!html::render(&plain).contains("id=\"baseline\""));
}

#[test]
fn a_mixed_or_invalid_action_breaches_too() {
    let mut mixed = overridden_policy("mixed");
    mixed["metadata"]["annotations"]["policies.kyverno.io/severity"] = json!("critical");
    let invalid = severe("invalid", "Audti", "critical");
    let mut evidence = build(&input(
        vec![report(vec![result("mixed", "pass", "a", "p1")])],
        vec![mixed, invalid],
        Some(scan(true, &[])),
    ));
    apply(&mut evidence, Some("production"), &[]);
    assert_eq!(breach_names(&evidence), ["invalid", "mixed"]);
}

#[test]
fn with_a_policy_repo_the_git_patch_promotes() {
    let mut evidence = baseline_evidence();
    promote_in_git(&mut evidence, "clean");
    apply(&mut evidence, Some("production"), &[]);
    let baseline = evidence.baseline.as_ref().expect("a baseline");
    assert_eq!(
        baseline.breaches[0].promote,
        ["git apply patches/clean/promote.patch"]
    );
}

#[test]
fn the_pages_list_the_breaches_at_the_top() {
    let mut evidence = baseline_evidence();
    apply(&mut evidence, Some("production"), &[]);
    let text = markdown::render(&evidence);
    let breaches = text.find("## Baseline breaches: 2").expect("the breaches");
    assert!(breaches < text.find("policies ready to enforce").expect("summary"));
    assert!(text.contains("Environment: **production**."));
    assert!(text.contains("- **clean** (ClusterPolicy, severity critical, action Audit): ✅ ready to enforce\n  - switch to Enforce: `kubectl patch clusterpolicy/clean"));
    assert!(text.contains("  - to fix: team-a/Pod/p2: 1 violation(s) (rule check)"));
    let page = html::render(&evidence);
    let table = page
        .find("<table id=\"baseline-breaches\">")
        .expect("the table");
    assert!(table < page.find("id=\"summary\"").expect("summary"));
    assert!(page.contains("id=\"environment\">Environment <strong>production</strong>"));
    assert!(page.contains("<tr class=\"breach\" data-policy=\"dirty\">"));
    assert!(page.contains("<li>team-a/Pod/p2: 1 violation(s) (rule check)</li>"));

    // A held baseline says so.
    let mut held = build(&input(
        vec![report(vec![result("enforced", "pass", "a", "p1")])],
        vec![severe("enforced", "Enforce", "critical")],
        Some(scan(true, &[])),
    ));
    apply(&mut held, Some("production"), &[]);
    assert_eq!(held.baseline.as_ref().and_then(|b| b.covered), Some(1));
    let text = markdown::render(&held);
    assert!(text.contains("## Baseline: held"), "{text}");
    assert!(text.contains("Baseline held: every policy of severity critical is enforced."));
    assert!(html::render(&held).contains("data-breaches=\"0\""));

    // One no policy is in holds nothing, and says that instead of "held"
    // (walk25 F14).
    let mut empty = baseline_evidence();
    apply(&mut empty, Some("production"), &["none".into()]);
    let baseline = empty.baseline.as_ref().expect("a baseline");
    assert!(baseline.breaches.is_empty() && baseline.is_empty());
    let text = markdown::render(&empty);
    assert!(text.contains("## Baseline: empty"), "{text}");
    assert!(
        text.contains("Baseline empty: no policy has severity none"),
        "{text}"
    );
    assert!(!text.contains("held"), "{text}");
    let page = html::render(&empty);
    assert!(page.contains("<h2>Baseline: empty</h2>"), "{page}");
    assert!(!page.contains("Baseline held"), "{page}");

    // A package filtered with --policy judged only its policies, and says
    // so (rev27 F4: "empty" beside an unenforced critical policy it left out).
    let mut filtered = input(
        vec![report(vec![result("high", "pass", "a", "p1")])],
        vec![
            severe("high", "Audit", "high"),
            severe("dirty", "Audit", "critical"),
        ],
        Some(scan(true, &[])),
    );
    filtered.policy_filter = vec!["high".into()];
    let mut filtered = build(&filtered);
    apply(&mut filtered, Some("production"), &[]);
    let text = markdown::render(&filtered);
    assert!(
        text.contains("No policy of this package (filtered with --policy to high; the others were not judged) has severity critical"),
        "{text}"
    );
    assert!(text.contains("make the package without --policy"), "{text}");
    assert!(
        !text.contains("set the `policies.kyverno.io/severity`"),
        "{text}"
    );
}

#[test]
fn each_kind_has_its_enforce_command_beside_the_rollback() {
    let enforce = |document: Value, bindings: &[Value]| {
        let bindings: Vec<&Value> = bindings.iter().collect();
        crate::ingest::policy_info::PolicyInfo::from_document_with_bindings(&document, &bindings)
            .expect("a policy")
            .enforce
            .expect("an enforce change")
    };
    let wide = enforce(policy("p", "Audit", "2026-11-01T00:00:00Z"), &[]);
    assert_eq!(wide.fields, ["spec.validationFailureAction"]);
    assert_eq!(wide.value, "Enforce");
    // Rules that set their own action are set where they are; the others
    // follow the policy-wide field.
    let per_rule = enforce(two_rule_policy("p", "Audit", Some("Audit")), &[]);
    assert_eq!(
        per_rule.fields,
        [
            "spec.rules[1].validate.failureAction",
            "spec.validationFailureAction"
        ]
    );
    assert_eq!(
        per_rule.command,
        "kubectl patch clusterpolicy/p --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/rules/1/validate/failureAction\",\"value\":\"Enforce\"},{\"op\":\"add\",\"path\":\"/spec/validationFailureAction\",\"value\":\"Enforce\"}]'"
    );
    // Every rule sets its own and no policy-wide field: only the rules.
    let mut own = two_rule_policy("p", "Audit", Some("Audit"));
    own["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("validationFailureAction");
    own["spec"]["rules"][0]["validate"]["failureAction"] = json!("Audit");
    own["kind"] = json!("Policy");
    own["metadata"]["namespace"] = json!("team");
    assert_eq!(
        enforce(own, &[]).command,
        "kubectl patch policy.kyverno.io/p -n team --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/rules/0/validate/failureAction\",\"value\":\"Enforce\"},{\"op\":\"replace\",\"path\":\"/spec/rules/1/validate/failureAction\",\"value\":\"Enforce\"}]'"
    );
    let mut audited = validating_policy("v");
    audited["spec"]["validationActions"] = json!(["Audit"]);
    let cel = enforce(audited, &[]);
    assert_eq!(cel.value, "[Deny]");
    assert_eq!(
        cel.command,
        "kubectl patch validatingpolicy/v --type=merge -p '{\"spec\":{\"validationActions\":[\"Deny\"]}}'"
    );
    // A ValidatingAdmissionPolicy: the bindings that do not Deny yet.
    let vap = json!({"kind": "ValidatingAdmissionPolicy", "metadata": {"name": "v"},
                     "spec": {"matchConstraints": {"resourceRules": [{"resources": ["pods"]}]}}});
    let binding = |name: &str, action: &str| {
        json!({"kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
               "spec": {"policyName": "v", "validationActions": [action]}})
    };
    let bound = enforce(vap, &[binding("b1", "Audit"), binding("b2", "Deny")]);
    assert_eq!(bound.fields, ["spec.validationActions of binding b1"]);
    assert_eq!(
        bound.command,
        "kubectl patch validatingadmissionpolicybinding/b1 --type=merge -p '{\"spec\":{\"validationActions\":[\"Deny\"]}}'"
    );

    // The pages show it beside the rollback, only while not enforced.
    let evidence = baseline_evidence();
    let text = markdown::render(&evidence);
    assert!(text.contains("\nEnforce: set `spec.validationFailureAction` to `Enforce`:\n\n```sh\nkubectl patch clusterpolicy/clean --type=merge"));
    assert!(find(&evidence, "enforced").enforce_change().is_none());
    assert_eq!(text.matches("\nEnforce: set").count(), 4);
    let page = html::render(&evidence);
    assert_eq!(page.matches("<h3>Enforce</h3>").count(), 4);
    assert!(
        page.find("<pre class=\"enforce\">").expect("enforce")
            < page.find("<h3>Rollback</h3>").expect("rollback")
    );
}
