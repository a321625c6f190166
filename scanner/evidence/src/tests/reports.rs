//! Reading reports: results grouped under their owners, the newest of two
//! reports of a result, per-resource (scoped) reports.

use super::*;

#[test]
fn violators_are_grouped_under_their_owner() {
    let mut evidence_input = input(
        vec![report(vec![
            result("dirty", "fail", "a", "web-1"),
            result("dirty", "fail", "a", "web-2"),
            result("dirty", "error", "a", "lone"),
        ])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    );
    let deployment = ObjectName {
        kind: "Deployment".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    for pod in ["web-1", "web-2"] {
        evidence_input.owners.insert(
            ObjectName {
                kind: "Pod".into(),
                namespace: "a".into(),
                name: pod.into(),
            },
            deployment.clone(),
        );
    }
    let evidence = build(&evidence_input);
    let owners: Vec<String> = find(&evidence, "dirty")
        .violations
        .iter()
        .map(|v| v.owner.to_string())
        .collect();
    assert_eq!(
        owners,
        ["a/Deployment/web", "a/Deployment/web", "a/Pod/lone"]
    );
    let markdown = markdown::render(&evidence);
    assert_eq!(
        markdown.matches("**a/Deployment/web**").count(),
        1,
        "{markdown}"
    );
    assert!(markdown.contains("Remediation: How to fix dirty."));
}

#[test]
fn the_newest_of_two_reports_of_a_result_wins_and_other_objects_are_refused() {
    let mut results = ReportResults::default();
    let mut old = result("p", "fail", "a", "x");
    old["timestamp"]["seconds"] = json!(50);
    let mut new = result("p", "pass", "a", "x");
    new["timestamp"]["seconds"] = json!(150);
    assert!(results.add_report(&report(vec![new])));
    assert!(results.add_report(&report(vec![old])));
    assert!(!results.add_report(&json!({"kind": "ConfigMap"})));
    assert_eq!((results.reports(), results.len()), (2, 1));
    assert!(
        results.violators().is_empty(),
        "the newer pass replaced the fail"
    );
}

/// A per-resource report as Kyverno's reports controller writes it: the
/// resource in `scope`, its results without `resources`.
fn scoped_report(api_version: &str, kind: &str, name: &str, results: Vec<Value>) -> Value {
    json!({"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
           "metadata": {"name": format!("r-{name}"), "namespace": "a"},
           "scope": {"apiVersion": api_version, "kind": kind, "namespace": "a", "name": name},
           "results": results})
}

fn scoped_result(rule: &str, status: &str, seconds: i64) -> Value {
    json!({"policy": "dirty", "rule": rule, "result": status, "message": format!("{rule} {status}"),
           "timestamp": {"seconds": seconds, "nanos": 0},
           "properties": {"action": "Enforce", "resultID": format!("{rule}-{seconds}"), "process": "background scan"}})
}

#[test]
fn results_without_resources_are_of_the_reports_scope() {
    let mut evidence_input = input(
        vec![
            scoped_report(
                "apps/v1",
                "Deployment",
                "web",
                vec![
                    scoped_result("check", "fail", 100),
                    scoped_result("other", "error", 100),
                    scoped_result("third", "pass", 100),
                ],
            ),
            // A stale report of the same resource: the newer results win.
            scoped_report(
                "apps/v1",
                "Deployment",
                "web",
                vec![scoped_result("third", "fail", 50)],
            ),
            scoped_report(
                "v1",
                "Pod",
                "lone",
                vec![scoped_result("check", "pass", 100)],
            ),
        ],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    );
    let web = ObjectName {
        kind: "Deployment".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    assert_eq!(evidence_input.reports.len(), 4);
    assert_eq!(
        evidence_input.reports.violators(),
        [("apps/v1".to_string(), web.clone())]
    );
    let owner = ObjectName {
        kind: "Rollout".into(),
        namespace: "a".into(),
        name: "web".into(),
    };
    evidence_input.owners.insert(web.clone(), owner.clone());
    let evidence = build(&evidence_input);
    let dirty = find(&evidence, "dirty");
    assert_eq!(dirty.counts.fail, 1);
    assert_eq!(dirty.counts.error, 1);
    assert_eq!(dirty.counts.pass, 2);
    assert_eq!(dirty.by_namespace["a"].total(), 4);
    let violations: Vec<(&str, &ObjectName, &ObjectName, &str, &str)> = dirty
        .violations
        .iter()
        .map(|v| (&*v.rule, &*v.resource, &*v.owner, &*v.message, &*v.action))
        .collect();
    assert_eq!(
        violations,
        [
            ("check", &web, &owner, "check fail", "Enforce"),
            ("other", &web, &owner, "other error", "Enforce"),
        ]
    );
    // One resource under two rules is named once.
    assert!(Arc::ptr_eq(
        &dirty.violations[0].resource,
        &dirty.violations[1].resource
    ));
    assert!(Arc::ptr_eq(
        &dirty.violations[0].owner,
        &dirty.violations[1].owner
    ));
    // Read back for --since, it is shared again.
    let dir = tempfile::tempdir().expect("tempdir");
    package::write(dir.path(), &evidence, false).expect("written");
    let previous = package::read_previous(dir.path()).expect("previous");
    assert_eq!(previous, evidence);
    let violations = &find(&previous, "dirty").violations;
    assert!(Arc::ptr_eq(
        &violations[0].resource,
        &violations[1].resource
    ));
    assert!(Arc::ptr_eq(&violations[0].action, &violations[1].action));
}

#[test]
fn an_annotation_exception_in_a_scoped_report_names_the_scope() {
    let mut excused = scoped_result("check", "skip", 100);
    excused["properties"] = json!({
        ex_props::EXCEPTION: ex_props::RESOURCE_ANNOTATION,
        ex_props::RESULT: "fail",
        ex_props::REASON: "legacy",
        ex_props::OWNER: "team-a",
        ex_props::EXPIRES: "2027-01-01",
    });
    let evidence = build(&input(
        vec![scoped_report("v1", "Pod", "legacy", vec![excused])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let pod = ObjectName {
        kind: "Pod".into(),
        namespace: "a".into(),
        name: "legacy".into(),
    };
    assert_eq!(evidence.exceptions.len(), 1, "{:?}", evidence.exceptions);
    let exception = &evidence.exceptions[0];
    assert_eq!(exception.resource.as_ref(), Some(&pod));
    assert_eq!(exception.reason.as_deref(), Some("legacy"));
    assert_eq!(exception.owner.as_deref(), Some("team-a"));
    assert_eq!(exception.excused_violations, 1);
    assert_eq!(evidence.generated_exceptions.len(), 1);
    assert_eq!(
        evidence.generated_exceptions[0].resources,
        std::slice::from_ref(&pod)
    );
    assert_eq!(*find(&evidence, "dirty").excused[0].resource, pod);
}

#[test]
fn an_object_name_is_a_references_kind_namespace_and_name() {
    let pod = polscan_engine::ResourceRef {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: "shop".into(),
        name: "web".into(),
        uid: "u-1".into(),
    };
    let name = ObjectName::from(&pod);
    assert_eq!(
        name,
        ObjectName {
            kind: "Pod".into(),
            namespace: "shop".into(),
            name: "web".into(),
        }
    );
    // Both name an object the same way in messages.
    assert_eq!(name.to_string(), pod.to_string());
}

/// A result on a Secret from a report polscan's redaction did not pass
/// through (Kyverno's, an older polscan's) may quote the Secret's values:
/// the package withholds its message. polscan's, marked, keep theirs.
#[test]
fn messages_of_secrets_results_redaction_did_not_check_are_withheld() {
    let on_secret = |message: &str, marked: bool, kind: &str| {
        let mut result = result("secrets", "fail", "a", "db");
        result["resources"][0]["kind"] = json!(kind);
        result["message"] = json!(message);
        if marked {
            result["properties"] = json!({"polscan.io/redacted": "none found"});
        }
        result
    };
    // verify39 F15: the kind in any letter case.
    for (message, marked, shown, kind) in [
        (
            "password hunter2-password",
            false,
            crate::ingest::results::SECRET_MESSAGE_WITHHELD,
            "Secret",
        ),
        (
            "password hunter2-password",
            false,
            crate::ingest::results::SECRET_MESSAGE_WITHHELD,
            "secret",
        ),
        (
            "password hunter2-password",
            false,
            crate::ingest::results::SECRET_MESSAGE_WITHHELD,
            "SECRET",
        ),
        ("needs a team label", true, "needs a team label", "Secret"),
    ] {
        let evidence = build(&input(
            vec![report(vec![on_secret(message, marked, kind)])],
            vec![policy("secrets", "Audit", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        ));
        let violations = &find(&evidence, "secrets").violations;
        assert_eq!(violations.len(), 1);
        assert_eq!(&*violations[0].message, shown);
        let markdown = markdown::render(&evidence);
        assert!(!markdown.contains("hunter2-password"), "{markdown}");
    }
}
