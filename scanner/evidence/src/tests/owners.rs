//! Owner routing and coverage per rule: violations routed to teams by
//! owner labels on the resource, its owner and its namespace, in the
//! order of the keys; per rule the kinds and resources evaluated, and "no
//! resource in scope" where it evaluated none.

use super::*;
use crate::ingest::owner_labels::{LabelSource, OwnerLabels};
use crate::model::CountedFrom;

fn pod(namespace: &str, name: &str) -> ObjectName {
    ObjectName {
        kind: "Pod".into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn deployment(namespace: &str, name: &str) -> ObjectName {
    ObjectName {
        kind: "Deployment".into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `dirty` (Audit) failing on four Pods of namespace `ns`: `web-1` and
/// `web-2` (owned by Deployment `web`), `db` and `loose`.
fn routed_input(owner_labels: OwnerLabels) -> EvidenceInput {
    let mut input = input(
        vec![report(vec![
            result("dirty", "fail", "ns", "web-1"),
            result("dirty", "fail", "ns", "web-2"),
            result("dirty", "fail", "ns", "db"),
            result("dirty", "fail", "ns", "loose"),
        ])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    );
    for name in ["web-1", "web-2"] {
        input
            .owners
            .insert(pod("ns", name), deployment("ns", "web"));
    }
    input.owner_labels = owner_labels;
    input
}

fn team_of<'a>(evidence: &'a Evidence, name: &str) -> Option<(&'a str, &'a str, LabelSource)> {
    find(evidence, "dirty")
        .violations
        .iter()
        .find(|v| v.resource.name == name)
        .expect("violation")
        .team
        .as_deref()
        .map(|route| (route.team.as_str(), route.label.as_str(), route.from))
}

#[test]
fn violations_are_routed_by_the_resource_its_owner_then_its_namespace() {
    let mut owner_labels = OwnerLabels::new(Vec::new());
    owner_labels.read = true;
    owner_labels
        .objects
        .insert(pod("ns", "db"), labels(&[("owner", "dba")]));
    owner_labels
        .objects
        .insert(deployment("ns", "web"), labels(&[("team", "shop")]));
    // web-2 carries its own label: the resource wins over its owner.
    owner_labels.objects.insert(
        pod("ns", "web-2"),
        labels(&[("app.kubernetes.io/part-of", "checkout")]),
    );
    owner_labels
        .namespaces
        .insert("ns".into(), labels(&[("team", "platform")]));
    let evidence = build(&routed_input(owner_labels));
    assert_eq!(
        team_of(&evidence, "db"),
        Some(("dba", "owner", LabelSource::Resource))
    );
    assert_eq!(
        team_of(&evidence, "web-1"),
        Some(("shop", "team", LabelSource::Owner))
    );
    assert_eq!(
        team_of(&evidence, "web-2"),
        Some((
            "checkout",
            "app.kubernetes.io/part-of",
            LabelSource::Resource
        ))
    );
    assert_eq!(
        team_of(&evidence, "loose"),
        Some(("platform", "team", LabelSource::Namespace))
    );
    let dirty = find(&evidence, "dirty");
    let teams: Vec<(String, usize, usize)> = dirty
        .teams()
        .into_iter()
        .map(|t| (t.team, t.violations, t.owners))
        .collect();
    assert_eq!(
        teams,
        vec![
            ("checkout".to_string(), 1, 1),
            ("dba".to_string(), 1, 1),
            ("platform".to_string(), 1, 1),
            ("shop".to_string(), 1, 1),
        ]
    );
    assert_eq!(dirty.violations_without_team(), 0);
    let routing = evidence.owner_routing.as_ref().expect("ownerRouting");
    assert_eq!(
        routing.labels,
        vec!["team", "owner", "app.kubernetes.io/part-of"]
    );
    assert!(routing.labels_read);
}

#[test]
fn the_owner_label_order_decides_between_keys_on_one_object() {
    let both = labels(&[("team", "t-label"), ("owner", "o-label")]);
    let mut default_order = OwnerLabels::new(Vec::new());
    default_order.objects.insert(pod("ns", "db"), both.clone());
    assert_eq!(
        team_of(&build(&routed_input(default_order)), "db"),
        Some(("t-label", "team", LabelSource::Resource))
    );
    let mut owner_first = OwnerLabels::new(vec!["owner".into(), "team".into()]);
    owner_first.objects.insert(pod("ns", "db"), both);
    assert_eq!(
        team_of(&build(&routed_input(owner_first)), "db"),
        Some(("o-label", "owner", LabelSource::Resource))
    );
    // A key not asked for routes nothing.
    let mut other = OwnerLabels::new(vec!["cost-center".into()]);
    other
        .objects
        .insert(pod("ns", "db"), labels(&[("team", "ignored")]));
    assert_eq!(team_of(&build(&routed_input(other)), "db"), None);
}

#[test]
fn keep_reads_only_the_owner_label_keys_of_an_object() {
    let keys = OwnerLabels::new(Vec::new());
    let object = json!({"kind": "Namespace", "metadata": {"name": "shop",
        "labels": {"team": "shop", "env": "prod", "owner": " "}}});
    assert_eq!(keys.keep(&object), labels(&[("team", "shop")]));
    let mut read = OwnerLabels::new(Vec::new());
    read.add_object(&object);
    assert_eq!(
        read.namespaces.get("shop"),
        Some(&labels(&[("team", "shop")]))
    );
    // A violating Namespace's own labels route it.
    let namespace = ObjectName {
        kind: "Namespace".into(),
        namespace: String::new(),
        name: "shop".into(),
    };
    assert_eq!(
        read.team_of(&namespace, &namespace).map(|r| r.from),
        Some(LabelSource::Resource)
    );
}

#[test]
fn violations_without_a_label_are_listed_as_such_in_who_must_fix_what() {
    let mut owner_labels = OwnerLabels::new(Vec::new());
    owner_labels.read = true;
    owner_labels
        .namespaces
        .insert("other".into(), labels(&[("team", "elsewhere")]));
    owner_labels
        .objects
        .insert(deployment("ns", "web"), labels(&[("team", "shop")]));
    let evidence = build(&routed_input(owner_labels));
    let dirty = find(&evidence, "dirty");
    assert_eq!(dirty.verdict, Verdict::NotReady);
    assert_eq!(team_of(&evidence, "db"), None);
    assert_eq!(dirty.violations_without_team(), 2);
    let groups = dirty.team_groups();
    assert_eq!(
        groups.iter().map(|g| g.team).collect::<Vec<_>>(),
        vec![Some("shop"), None],
        "the unrouted come last"
    );
    assert_eq!(groups[0].owners.len(), 1);
    assert_eq!(groups[0].owners[0].violations.len(), 2);
    let page = markdown::render(&evidence);
    assert!(page.contains("### Who must fix what: dirty"), "{page}");
    assert!(
        page.contains("**shop: 2 violation(s), 1 owner (label team on its owner)**"),
        "{page}"
    );
    assert!(
        page.contains("Deployment ns/web") || page.contains("ns/Deployment/web"),
        "{page}"
    );
    assert!(
        page.contains(
            "no owner label (looked for: team, owner, app.kubernetes.io/part-of): 2 violation(s)"
        ),
        "{page}"
    );
    assert!(page.contains("rule check (1×): db fail"), "{page}");
    let html = html::render(&evidence);
    assert!(html.contains("<h3>Who must fix what</h3>"), "{html}");
    assert!(
        html.contains("no owner label (looked for: team, owner, app.kubernetes.io/part-of)"),
        "{html}"
    );
    let json = serde_json::to_value(&evidence).expect("json");
    let violation = &json["policies"][0]["violations"][0];
    assert_eq!(
        violation["team"],
        json!({"team": "shop", "label": "team", "from": "owner"}),
        "{violation}"
    );
    // Read back, the routing is the same.
    let back: Evidence = serde_json::from_value(json).expect("read back");
    assert_eq!(back.policies[0].teams(), dirty.teams());
}

#[test]
fn without_labels_read_every_team_is_unknown() {
    let evidence = build(&routed_input(OwnerLabels::new(Vec::new())));
    let dirty = find(&evidence, "dirty");
    assert!(dirty.teams().is_empty());
    assert_eq!(dirty.violations_without_team(), 4);
    let page = markdown::render(&evidence);
    assert!(page.contains("team unknown: no labels were read"), "{page}");
}

#[test]
fn a_ready_policy_has_no_who_must_fix_what() {
    let evidence = build(&input(
        vec![report(vec![result("clean", "pass", "ns", "a")])],
        vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&evidence, "clean").verdict, Verdict::Ready);
    assert!(!markdown::render(&evidence).contains("Who must fix what"));
}

fn by_rule(
    entries: &[(&str, &str, &str, usize)],
) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>> {
    let mut map: BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>> = BTreeMap::new();
    for (policy, rule, key, n) in entries {
        map.entry(policy.to_string())
            .or_default()
            .entry(rule.to_string())
            .or_default()
            .insert(key.to_string(), *n);
    }
    map
}

#[test]
fn coverage_per_rule_gives_the_kinds_and_resources_evaluated() {
    // `two` has rules a (2 Pods) and b (none).
    let reports = vec![report(vec![
        rule_result("two", "a", "pass", "p1"),
        rule_result("two", "a", "fail", "p2"),
    ])];
    let policies = vec![two_rule_policy("two", "Audit", None)];
    let mut record = scan(true, &[]);
    record.results_by_rule = Some(by_rule(&[
        ("two", "a", "pass", 1),
        ("two", "a", "fail", 1),
        ("two", "autogen-a", "pass", 3),
    ]));
    record.kinds_by_rule = Some(by_rule(&[
        ("two", "a", "Pod", 2),
        ("two", "autogen-a", "apps/Deployment", 3),
    ]));
    record.objects_by_kind = Some(
        [("Pod".to_string(), 2), ("apps/Deployment".to_string(), 3)]
            .into_iter()
            .collect(),
    );
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(record.clone()),
    ));
    let two = find(&evidence, "two");
    let rule = |name: &str| {
        two.rule_evidence
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.coverage.clone())
            .unwrap_or_else(|| panic!("no coverage of {name}"))
    };
    let a = rule("a");
    assert_eq!(a.evaluated, 2);
    assert_eq!(a.counted_from, CountedFrom::Record);
    assert_eq!(
        a.kinds,
        Some([("Pod".to_string(), 2)].into_iter().collect())
    );
    assert_eq!(a.no_resource_in_scope, None);
    let b = rule("b");
    assert_eq!(b.evaluated, 0);
    assert_eq!(b.kinds, Some(BTreeMap::new()));
    // Pods exist (2 listed): none in the rule's scope is no evidence.
    let statement = b.no_resource_in_scope.expect("no resource in scope");
    assert!(statement.starts_with("no resource in scope"), "{statement}");
    assert!(statement.contains("no evidence"), "{statement}");
    let b_verdict = two
        .rule_evidence
        .iter()
        .find(|r| r.name == "b")
        .map(|r| r.verdict);
    assert_eq!(b_verdict, Some(Verdict::NoEvidence));
    let page = markdown::render(&evidence);
    assert!(
        page.contains("| Rule | Kinds evaluated | Resources evaluated | Scope |"),
        "{page}"
    );
    assert!(page.contains("| a | Pod 2 | 2 |  |"), "{page}");
    assert!(
        page.contains("| b | — | 0 | no resource in scope"),
        "{page}"
    );
    assert!(html::render(&evidence).contains("<table class=\"coverage\">"));

    // An older record without kindsByRule: kinds not recorded.
    let mut old = record;
    old.kinds_by_rule = None;
    let evidence = build(&input(reports.clone(), policies.clone(), Some(old)));
    let a = find(&evidence, "two").rule_evidence[0]
        .coverage
        .clone()
        .expect("coverage");
    assert_eq!(a.kinds, None);
    assert_eq!(a.evaluated, 2);
    assert!(markdown::render(&evidence).contains("| a | kinds not recorded | 2 |"));

    // No record: counted from the reports.
    let evidence = build(&input(reports, policies, None));
    let a = find(&evidence, "two").rule_evidence[0]
        .coverage
        .clone()
        .expect("coverage");
    assert_eq!(
        (a.evaluated, a.counted_from, a.kinds),
        (2, CountedFrom::Reports, None)
    );
}

#[test]
fn a_rule_whose_kinds_have_no_object_states_no_resource_in_scope() {
    // `idle` has no result; every kind it reaches was listed with 0 objects.
    let mut empty = scan(true, &[]);
    empty.objects_by_kind = Some(pod_kinds_listed_empty());
    empty.results_by_rule = Some(BTreeMap::new());
    empty.kinds_by_rule = Some(BTreeMap::new());
    let evidence = build(&input(
        Vec::new(),
        vec![policy("idle", "Audit", "2026-11-01T00:00:00Z")],
        Some(empty),
    ));
    let idle = find(&evidence, "idle");
    let coverage = idle.rule_evidence[0].coverage.clone().expect("coverage");
    assert_eq!(coverage.evaluated, 0);
    let statement = coverage.no_resource_in_scope.expect("stated");
    assert!(
        statement.starts_with("no resource in scope: no resource in scope exists"),
        "{statement}"
    );
    // The verdict and the statement agree: the record proves nothing
    // exists, which the rule's note says too.
    assert_eq!(idle.verdict, Verdict::Ready, "{:?}", idle.reasons);
    assert!(idle
        .notes
        .iter()
        .any(|n| n.contains("no resource in scope exists")));
}

/// A NO-GO names the teams to contact first, then per namespace the
/// owners of the violations no label routes.
#[test]
fn a_no_go_names_the_teams_then_the_unrouted_owners() {
    let mut owner_labels = OwnerLabels::new(Vec::new());
    owner_labels.read = true;
    owner_labels
        .objects
        .insert(deployment("ns", "web"), labels(&[("team", "shop")]));
    owner_labels
        .objects
        .insert(pod("ns", "db"), labels(&[("owner", "dba")]));
    let evidence = build(&routed_input(owner_labels));
    let decision = evidence
        .decisions
        .iter()
        .find(|d| d.policy == "dirty")
        .expect("decision");
    assert_eq!(
        decision.contacts,
        [
            // Named by its label (walk46 F6: `owner: dba` is no team).
            "owner dba: 1 violation(s) of 1 owner(s)",
            "team shop: 2 violation(s) of 1 owner(s)",
            "namespace ns: Pod/loose (1)",
        ]
    );
}

#[test]
fn a_namespaced_policy_in_a_namespace_without_its_kinds_has_nothing_in_scope() {
    // walk32 F7: Pods exist elsewhere, none in `empty`: the Policy there
    // has nothing to judge, which the record's per-namespace counts show.
    let judge = |in_policy_namespaces: Option<Value>| {
        let mut listed = scan(true, &[]);
        let mut kinds = pod_kinds_listed_empty();
        kinds.insert("Pod".into(), 4);
        listed.objects_by_kind = Some(kinds);
        listed.objects_in_policy_namespaces =
            in_policy_namespaces.map(|value| serde_json::from_value(value).expect("counts"));
        listed.results_by_rule = Some(BTreeMap::new());
        listed.kinds_by_rule = Some(BTreeMap::new());
        let mut own = policy("own", "Audit", "2026-11-01T00:00:00Z");
        own["kind"] = json!("Policy");
        own["metadata"]["namespace"] = json!("empty");
        let evidence = build(&input(Vec::new(), vec![own], Some(listed)));
        find(&evidence, "own").clone()
    };
    let nothing = judge(Some(json!({"empty": {}, "team": {"Pod": 4}})));
    assert_eq!(nothing.verdict, Verdict::Ready, "{:?}", nothing.reasons);
    assert!(
        nothing
            .notes
            .iter()
            .any(|n| n.contains("listed completely with 0 objects in namespace empty")),
        "{:?}",
        nothing.notes
    );
    // A Pod there that the rule did not evaluate, no count for the
    // namespace, or a record without the counts: no evidence, as before.
    for counts in [
        Some(json!({"empty": {"Pod": 1}})),
        Some(json!({"team": {"Pod": 4}})),
        None,
    ] {
        let judged = judge(counts.clone());
        assert_eq!(
            judged.verdict,
            Verdict::NoEvidence,
            "{counts:?}: {:?}",
            judged.reasons
        );
    }
    // A scan that did not cover the namespace shows nothing of it.
    let mut listed = scan(true, &[]);
    listed.objects_by_kind = Some(pod_kinds_listed_empty());
    listed
        .objects_by_kind
        .as_mut()
        .map(|k| k.insert("Pod".into(), 4));
    listed.objects_in_policy_namespaces =
        Some(serde_json::from_value(json!({"empty": {}})).expect("counts"));
    listed.excluded_namespaces = vec!["empty".into()];
    assert_eq!(
        crate::ingest::record::nothing_in_scope(&["Pod".into()], &listed, Some("empty")),
        None
    );
}
