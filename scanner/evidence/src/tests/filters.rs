//! Views filtered by policy or namespace: what they judge, list and
//! package, and the header that says the view is filtered.

use super::*;

#[test]
fn filters_keep_only_the_named_policies_and_namespaces() {
    let mut filtered = input(
        vec![report(vec![
            result("dirty", "fail", "a", "p1"),
            result("dirty", "pass", "b", "p2"),
            result("clean", "pass", "a", "p1"),
        ])],
        vec![
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
            policy("dirty", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    );
    filtered.policy_filter = vec!["dirty".into()];
    filtered.namespace_filter = vec!["b".into()];
    let evidence = build(&filtered);
    assert_eq!(evidence.policies.len(), 1);
    assert_eq!(evidence.policies[0].counts.pass, 1);
    // A cluster-wide policy is enforced in namespaces the view left out.
    assert_eq!(evidence.policies[0].verdict, Verdict::NotReady);
    assert!(
        evidence.policies[0]
            .reasons
            .iter()
            .any(|r| r.contains("filtered view") && r.contains("only namespace(s) b")),
        "{:?}",
        evidence.policies[0].reasons
    );
}

#[test]
fn a_namespace_filtered_view_judges_only_namespaced_policies_inside_it() {
    let reports = vec![report(vec![
        result("wide", "pass", "a", "p1"),
        result("wide", "fail", "c", "p3"),
        json!({"policy": "a/local", "rule": "check", "result": "pass", "message": "ok",
               "timestamp": {"seconds": 100, "nanos": 0},
               "resources": [{"apiVersion": "v1", "kind": "Pod", "namespace": "a", "name": "p1"}]}),
        json!({"policy": "c/elsewhere", "rule": "check", "result": "pass", "message": "ok",
               "timestamp": {"seconds": 100, "nanos": 0},
               "resources": [{"apiVersion": "v1", "kind": "Pod", "namespace": "c", "name": "p3"}]}),
    ])];
    let policies = vec![
        policy("wide", "Audit", "2026-11-01T00:00:00Z"),
        namespaced_policy("a", "local"),
        namespaced_policy("c", "elsewhere"),
    ];
    let mut filtered = input(reports.clone(), policies.clone(), Some(scan(true, &[])));
    filtered.namespace_filter = vec!["a".into()];
    let evidence = build(&filtered);
    let wide = find(&evidence, "wide");
    // Its failure in namespace c is out of view: never ready from here.
    assert_eq!(wide.counts.fail, 0);
    assert_eq!(wide.verdict, Verdict::NotReady, "{:?}", wide.reasons);
    assert!(wide
        .rule_evidence
        .iter()
        .all(|r| r.verdict == Verdict::NotReady));
    let local = find(&evidence, "local");
    assert_eq!(local.verdict, Verdict::Ready, "{:?}", local.reasons);
    let elsewhere = find(&evidence, "elsewhere");
    assert_eq!(elsewhere.verdict, Verdict::NotReady);
    assert!(elsewhere
        .reasons
        .iter()
        .any(|r| r.contains("its namespace c is not among those looked at")));
    // The header of every rendering says the view is filtered.
    let header = "Filtered view: only results in namespace(s) a (evidence --namespace)";
    assert!(markdown::render(&evidence).contains(header));
    assert!(html::render(&evidence).contains(header));
    // Unfiltered, the cluster-wide policy is judged on all its results.
    let whole = build(&input(reports, policies, Some(scan(true, &[]))));
    assert!(!markdown::render(&whole).contains("Filtered view"));
    assert_eq!(find(&whole, "wide").counts.fail, 1);
}

#[test]
fn a_filtered_out_policy_s_old_violations_are_not_listed() {
    let policies = vec![
        policy("kept", "Audit", "2026-11-01T00:00:00Z"),
        policy("other", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let before = build(&input(
        vec![report(vec![
            result("kept", "fail", "a", "p1"),
            result("other", "fail", "a", "p2"),
        ])],
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut filtered = input(
        vec![report(vec![
            result("kept", "pass", "a", "p1"),
            result("other", "fail", "a", "p2"),
        ])],
        policies,
        Some(scan(true, &[])),
    );
    filtered.policy_filter = vec!["kept".into()];
    let after = build(&filtered);
    let check = compare::compare(&before, &after);
    assert_eq!(check.fixed_violations.len(), 1);
    assert_eq!(check.fixed_violations[0].policy, "kept");
    assert!(
        check.unknown_violations.is_empty(),
        "{:?}",
        check.unknown_violations
    );
    assert!(check.not_compared.is_empty(), "{:?}", check.not_compared);
    // The other way round: a whole package since a filtered one names the
    // policies it could not compare, rather than calling them unchanged.
    let whole = build(&input(
        vec![report(vec![
            result("kept", "pass", "a", "p1"),
            result("other", "fail", "a", "p2"),
        ])],
        vec![
            policy("kept", "Audit", "2026-11-01T00:00:00Z"),
            policy("other", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    ));
    let since_filtered = compare::compare(&after, &whole);
    assert_eq!(since_filtered.not_compared, ["other"]);
}

#[test]
fn a_package_of_chosen_policies_lists_only_their_exceptions() {
    let mut chosen = input(
        vec![report(vec![
            annotation_skipped("two", "a", "legacy", "fail"),
            annotation_skipped("clean", "check", "fine", "pass"),
        ])],
        vec![
            two_rule_policy("two", "Audit", None),
            policy("clean", "Audit", "2026-11-01T00:00:00Z"),
        ],
        Some(scan(true, &[])),
    );
    let whole = build(&chosen);
    assert_eq!(whole.generated_exceptions.len(), 1);
    assert_eq!(whole.exceptions.len(), 2);
    chosen.policy_filter = vec!["clean".into()];
    let evidence = build(&chosen);
    assert!(evidence.generated_exceptions.is_empty());
    let names: Vec<&str> = evidence
        .exceptions
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["a/Pod/fine"]);
    chosen.policy_filter = vec!["two".into()];
    let evidence = build(&chosen);
    assert_eq!(evidence.generated_exceptions.len(), 1);
    let names: Vec<&str> = evidence
        .exceptions
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["a/Pod/legacy"]);
}

#[test]
fn a_filtered_view_says_where_a_cluster_wide_policy_also_applies() {
    // verify32 F5 wording: "applies in every namespace" was said of a
    // policy whose match reaches only the namespace looked at.
    let reason = |namespaces: Option<Value>| {
        let mut wide = policy("wide", "Audit", "2026-11-01T00:00:00Z");
        if let Some(namespaces) = namespaces {
            wide["spec"]["rules"][0]["match"]["any"][0]["resources"]["namespaces"] = namespaces;
        }
        let mut filtered = input(
            vec![report(vec![result("wide", "pass", "b", "p1")])],
            vec![wide],
            Some(scan(true, &[])),
        );
        filtered.namespace_filter = vec!["b".into()];
        let evidence = build(&filtered);
        let wide = find(&evidence, "wide");
        assert_eq!(wide.verdict, Verdict::NotReady);
        wide.reasons.join(" | ")
    };
    assert!(reason(None).contains("this policy applies in every namespace"));
    assert!(reason(Some(json!(["b", "c"]))).contains("this policy applies in namespace(s) c too"));
    assert!(reason(Some(json!(["b"])))
        .contains("a cluster-wide policy is judged in the whole cluster only"));
}
