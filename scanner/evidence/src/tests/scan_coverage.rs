//! What the scan record says the evidence covers: kinds listed or failed,
//! namespaces scanned, rules that evaluated nothing, changes and reports
//! newer than the scan; each gap makes only the policies it can affect
//! not ready.

use super::*;

/// A report as polscan writes it: labelled managed-by polscan.
fn polscan_report(results: Vec<Value>) -> Value {
    let mut report = report(results);
    report["metadata"]["labels"] = json!({"app.kubernetes.io/managed-by": "polscan"});
    report
}

#[test]
fn a_scan_of_some_namespaces_does_not_clear_a_cluster_wide_policy_for_rollback() {
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let reports = vec![report(vec![result("guarded", "pass", "team-a", "good")])];
    let before = build(&input(
        reports.clone(),
        vec![guarded.clone()],
        Some(scan(true, &[])),
    ));
    let mut one_namespace = scan(true, &[]);
    one_namespace.namespaces = vec!["team-a".into()];
    let after = build(&input(reports, vec![guarded], Some(one_namespace)));
    let comparison = compare::compare(&before, &after);
    let check = &comparison.rollback_checks[0];
    // Not confirmed where it was not scanned, but nothing there is known
    // to have changed: rescan, not roll back.
    assert!(check.needs_rescan(), "{check:?}");
    assert!(
        check.rescan.as_deref().is_some_and(|gaps| gaps.contains(
            "the namespaces other than team-a (it scanned only team-a, with --namespace)"
        )),
        "{check:?}"
    );
    // The same exclusion in both scans: nothing confirms the policy
    // there either (verify30 N6: it read ENFORCED, no rollback condition
    // met, with a new violating Pod in a namespace no scan looked at).
    let mut without_system = scan(true, &[]);
    without_system.excluded_namespaces = vec!["kube-system".into()];
    let reports = vec![report(vec![result("guarded", "pass", "team-a", "good")])];
    let guarded = policy("guarded", "Enforce", "2026-11-01T00:00:00Z");
    let before = build(&input(
        reports.clone(),
        vec![guarded.clone()],
        Some(without_system.clone()),
    ));
    let after = build(&input(reports, vec![guarded], Some(without_system)));
    let same = compare::compare(&before, &after);
    assert!(
        !same.rollback_checks[0].roll_back
            && same.rollback_checks[0]
                .rescan
                .as_deref()
                .is_some_and(|gaps| gaps.contains(
                    "kube-system (left out with --exclude-namespaces), nor did the previous one"
                )),
        "{same:?}"
    );
}

#[test]
fn a_change_in_the_second_the_scan_started_counts_as_after_it() {
    // The scan started 2026-11-20T10:00:00Z; both times are whole seconds,
    // so a change in that second may have come after the scan read it.
    let judge = |policy_changed: &str, exception_changed: &str| {
        let evidence = build(&input(
            guarded_reports(),
            vec![
                policy("guarded", "Enforce", policy_changed),
                polex("team-b", "sneaky", exception_changed),
            ],
            Some(applied_in("team-b")),
        ));
        find(&evidence, "guarded").clone()
    };
    let before = judge("2026-11-20T09:59:59Z", "2026-11-20T09:59:59Z");
    assert_eq!(before.verdict, Verdict::Ready, "{:?}", before.reasons);
    let policy_tied = judge("2026-11-20T10:00:00Z", "2026-11-20T09:59:59Z");
    assert_eq!(policy_tied.verdict, Verdict::NotReady);
    assert!(
        // Said as a tie, not as "after" beside the same time (walk80).
        policy_tied.reasons.iter().any(|r| r.contains(
            "the policy changed at 2026-11-20T10:00:00+00:00, the second the last scan started: which came first is not known"
        )),
        "{:?}",
        policy_tied.reasons
    );
    let exception_tied = judge("2026-11-20T09:59:59Z", "2026-11-20T10:00:00Z");
    assert_eq!(exception_tied.verdict, Verdict::NotReady);
    assert_eq!(exception_tied.stale_exceptions, ["sneaky"]);

    // A record of what the scan read settles the tie: the same content is
    // the document the scan read, another one changed since.
    let tied = || {
        vec![
            policy("guarded", "Enforce", "2026-11-20T10:00:00Z"),
            polex("team-b", "sneaky", "2026-11-20T10:00:00Z"),
        ]
    };
    let read = |documents: &[Value]| {
        let mut record = applied_in("team-b");
        record.input_digests = Some(
            documents
                .iter()
                .filter_map(crate::run::record_format::DocumentDigest::of)
                .map(|d| (d.key, d.digest))
                .collect(),
        );
        record
    };
    // The server's own metadata and status do not make another content.
    let mut as_read = tied();
    as_read[0]["metadata"]["resourceVersion"] = json!("7");
    as_read[0]["status"] = json!({"ready": true});
    let same = build(&input(guarded_reports(), tied(), Some(read(&as_read))));
    let guarded = find(&same, "guarded");
    assert_eq!(guarded.verdict, Verdict::Ready, "{:?}", guarded.reasons);
    assert!(guarded.stale_exceptions.is_empty());
    let mut edited = tied();
    edited[0]["spec"]["validationFailureAction"] = json!("Audit");
    edited[1]["spec"]["note"] = json!("older");
    let changed = build(&input(guarded_reports(), tied(), Some(read(&edited))));
    let guarded = find(&changed, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(guarded
        .reasons
        .iter()
        .any(|r| r.contains("the policy changed at")));
    assert_eq!(guarded.stale_exceptions, ["sneaky"]);
    // An apply that rewrites fields its manager owned leaves the change
    // time where it was: the digest still tells the scan read another one.
    let untimed = || {
        vec![
            policy("guarded", "Enforce", "2026-11-01T00:00:00Z"),
            polex("team-b", "sneaky", "2026-11-01T00:00:00Z"),
        ]
    };
    let same = build(&input(guarded_reports(), untimed(), Some(read(&untimed()))));
    assert_eq!(find(&same, "guarded").verdict, Verdict::Ready);
    let mut before_edit = untimed();
    before_edit[0]["spec"]["rules"][0]["name"] = json!("renamed");
    before_edit[1]["spec"]["note"] = json!("older");
    let stale = build(&input(
        guarded_reports(),
        untimed(),
        Some(read(&before_edit)),
    ));
    let guarded = find(&stale, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(
        guarded.reasons.iter().any(|r| r.contains(
            "the policy is not the one the last scan (started 2026-11-20T10:00:00+00:00) read"
        ) && r.ends_with("rescan first")),
        "{:?}",
        guarded.reasons
    );
    assert_eq!(guarded.stale_exceptions, ["sneaky"]);
    // walk39 F8: a file (no server fields) differing from what the scan
    // read says that a Git copy lacks the server's defaults.
    let mut file = untimed();
    if let Some(meta) = file[0]["metadata"].as_object_mut() {
        meta.remove("managedFields");
        meta.remove("creationTimestamp");
    }
    let from_file = build(&input(guarded_reports(), file, Some(read(&before_edit))));
    let guarded = find(&from_file, "guarded");
    assert_eq!(guarded.verdict, Verdict::NotReady);
    assert!(
        guarded.reasons.iter().any(|r| r.contains(
            "it has no server change time, as a file has none — a Git copy differs by the defaults the API server fills in"
        ) && r.ends_with("if it did: rescan first")),
        "{:?}",
        guarded.reasons
    );
}

#[test]
fn polscan_reports_newer_than_the_record_are_not_ready_and_kyverno_s_do_not_matter() {
    let at_10_07 = |status: &str| {
        let mut found = result("quiet", status, "a", "p1");
        found["timestamp"]["seconds"] = json!(at("2026-11-20T10:07:00Z").timestamp());
        found
    };
    let judge = |report: Value| {
        let evidence = build(&input(
            vec![report],
            vec![policy("quiet", "Audit", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        ));
        find(&evidence, "quiet").clone()
    };
    // The record's scan finished at 10:05; polscan wrote results at 10:07
    // in a scan that recorded nothing: the record does not describe them.
    let unrecorded = judge(polscan_report(vec![at_10_07("pass")]));
    assert_eq!(unrecorded.verdict, Verdict::NotReady);
    assert!(
        unrecorded
            .reasons
            .iter()
            .any(|r| r.contains("newer than the last recorded scan")
                && r.ends_with("rescan with --last-run-configmap polscan-system/polscan-last-run")),
        "{:?}",
        unrecorded.reasons
    );
    // Kyverno's background scan writes newer reports all the time.
    let kyverno = judge(report(vec![at_10_07("pass")]));
    assert_eq!(kyverno.verdict, Verdict::Ready, "{:?}", kyverno.reasons);
    // polscan's results from the recorded scan itself are fine.
    let mut recorded = at_10_07("pass");
    recorded["timestamp"]["seconds"] = json!(at("2026-11-20T10:04:00Z").timestamp());
    let recorded = judge(polscan_report(vec![recorded]));
    assert_eq!(recorded.verdict, Verdict::Ready, "{:?}", recorded.reasons);

    // walk31 F12: enforced, with --since, the same reports: RESCAN, not
    // ENFORCED "no rollback condition met".
    let enforced = |report: Value| {
        let mut evidence = build(&input(
            vec![report],
            vec![policy("quiet", "Enforce", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        ));
        let previous = evidence.clone();
        evidence.comparison = Some(crate::compare::compare(&previous, &evidence));
        crate::verdict::decision::decide(&evidence)[0].clone()
    };
    let decided = enforced(polscan_report(vec![at_10_07("pass")]));
    assert_eq!(
        decided.decision,
        crate::model::Decision::Rescan,
        "{decided:?}"
    );
    assert!(
        decided.reasons[0]
            .starts_with("enforced, and not confirmed: polscan's reports hold results"),
        "{decided:?}"
    );
    let decided = enforced(report(vec![at_10_07("pass")]));
    assert_eq!(
        decided.decision,
        crate::model::Decision::Enforced,
        "{decided:?}"
    );
}

#[test]
fn a_change_after_a_recorded_scan_with_newer_reports_asks_for_a_recorded_rescan() {
    let newer = |timestamp: i64| {
        let mut found = result("guarded", "pass", "a", "p1");
        found["timestamp"]["seconds"] = json!(timestamp);
        found
    };
    let judge = |timestamp: i64| {
        let evidence = build(&input(
            vec![polscan_report(vec![newer(timestamp)])],
            vec![policy("guarded", "Enforce", "2026-11-20T10:06:00Z")],
            Some(scan(true, &[])),
        ));
        find(&evidence, "guarded").reasons.clone()
    };
    // The record's scan finished 2026-11-20T10:05:00Z; a report written at
    // 10:07 came from a scan that wrote no record.
    let unrecorded = judge(at("2026-11-20T10:07:00Z").timestamp());
    assert!(
        unrecorded.iter().any(|r| r.contains("rescan first")
            && r.contains("a later scan wrote no record: rescan with --last-run-configmap polscan-system/polscan-last-run")),
        "{unrecorded:?}"
    );
    let recorded = judge(at("2026-11-20T10:04:00Z").timestamp());
    assert!(
        recorded.iter().any(|r| r.ends_with("rescan first")),
        "{recorded:?}"
    );
}

#[test]
fn scan_record_reads_the_last_run_config_map() {
    let record = ScanRecord::from_config_map(
        &json!({"data": {"complete": "false", "started": "2026-11-20T10:00:00Z",
                          "failedKinds": "apps/Deployment,Pod"}}),
        "ns/cm",
    )
    .expect("record");
    assert!(!record.complete);
    assert_eq!(record.failed_kinds, ["apps/Deployment", "Pod"]);
    assert_eq!(record.started, Some(at("2026-11-20T10:00:00Z")));
    let err = ScanRecord::from_config_map(&json!({"data": {"x": "1"}}), "ns/other")
        .expect_err("not a record");
    assert!(err.to_string().contains("ns/other"));
}

#[test]
fn a_rule_that_evaluated_nothing_is_no_evidence_unless_nothing_is_in_scope() {
    let policies = vec![
        policy("idle", "Audit", "2026-11-01T00:00:00Z"),
        two_rule_policy("half", "Audit", None),
    ];
    let reports = vec![report(vec![rule_result("half", "a", "pass", "p1")])];
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let idle = find(&evidence, "idle");
    assert_eq!(idle.verdict, Verdict::NoEvidence, "{:?}", idle.reasons);
    assert_eq!(idle.rule_evidence[0].verdict, Verdict::NoEvidence);
    let half = find(&evidence, "half");
    assert_eq!(half.verdict, Verdict::NoEvidence, "{:?}", half.reasons);
    assert_eq!(half.rule_evidence[0].verdict, Verdict::Ready);
    assert_eq!(half.rule_evidence[1].verdict, Verdict::NoEvidence);
    assert!(half.reasons.iter().any(|r| r.contains("rule(s) b")));
    assert_eq!(evidence.ready().count(), 0);

    // Every kind the rule reaches (Pods and, by autogen, their
    // controllers) listed with 0 objects: nothing to block; said so.
    let mut empty = scan(true, &[]);
    let mut listed = pod_kinds_listed_empty();
    empty.objects_by_kind = Some(listed.clone());
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(empty.clone()),
    ));
    let idle = find(&evidence, "idle");
    assert_eq!(idle.verdict, Verdict::Ready, "{:?}", idle.reasons);
    assert!(
        idle.notes
            .iter()
            .any(|n| n.contains("no resource in scope exists")),
        "{:?}",
        idle.notes
    );
    // A sharded run with a shard missing did not count that shard's
    // objects: 0 listed says nothing of what exists.
    let mut gappy = empty;
    gappy.shards = Some(crate::ingest::shard_coverage::ShardCoverage {
        count: 2,
        recorded: vec![0],
        gaps: vec!["shard 1/2: no record".into()],
        mismatched: Vec::new(),
        reused_run_id: Vec::new(),
    });
    let evidence = build(&input(reports.clone(), policies.clone(), Some(gappy)));
    let idle = find(&evidence, "idle");
    assert_ne!(idle.verdict, Verdict::Ready, "{:?}", idle.reasons);
    assert!(
        !idle
            .notes
            .iter()
            .any(|n| n.contains("no resource in scope exists")),
        "{:?}",
        idle.notes
    );
    // A scan that listed kinds, but not the rule's: not ready, saying so.
    let mut other_kinds = scan(true, &[]);
    other_kinds.objects_by_kind = Some([("ConfigMap".to_string(), 2)].into_iter().collect());
    let evidence = build(&input(reports.clone(), policies.clone(), Some(other_kinds)));
    let half = find(&evidence, "half");
    assert_eq!(half.verdict, Verdict::NotReady);
    assert!(
        half.reasons.iter().any(|r| r.contains("did not list Pod")),
        "{:?}",
        half.reasons
    );
    // A cluster scan that listed no kind at all (say, --include-kinds of
    // kinds no policy matches) left every report as it was: not ready.
    // The same empty list from an audit of files says nothing of kinds.
    let mut nothing_listed = scan(true, &[]);
    nothing_listed.objects_by_kind = Some(BTreeMap::new());
    nothing_listed.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
    let evidence = build(&input(
        reports.clone(),
        policies.clone(),
        Some(nothing_listed.clone()),
    ));
    let half = find(&evidence, "half");
    assert_eq!(half.verdict, Verdict::NotReady);
    assert!(
        half.reasons.iter().any(|r| r.contains("did not list Pod")),
        "{:?}",
        half.reasons
    );
    let mut of_files = nothing_listed;
    of_files.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Given);
    let evidence = build(&input(reports.clone(), policies.clone(), Some(of_files)));
    let half = find(&evidence, "half");
    assert!(
        half.reasons.iter().all(|r| !r.contains("did not list")),
        "{:?}",
        half.reasons
    );
    // One Deployment exists: the rule reaches it by autogen, unevaluated.
    listed.insert("apps/Deployment".into(), 1);
    let mut one = scan(true, &[]);
    one.objects_by_kind = Some(listed);
    let evidence = build(&input(reports, policies, Some(one)));
    let idle = find(&evidence, "idle");
    assert_eq!(idle.verdict, Verdict::NoEvidence);
    assert!(
        idle.rule_evidence[0]
            .reasons
            .iter()
            .any(|r| r.contains("none of the 1 object(s)")),
        "{:?}",
        idle.rule_evidence[0].reasons
    );
}

#[test]
fn only_gaps_that_can_affect_a_policy_make_its_scan_incomplete() {
    let policies = vec![
        validating_policy("vp"),
        policy("enforced", "Enforce", "2026-11-01T00:00:00Z"),
        policy("broken", "Audit", "2026-11-01T00:00:00Z"),
    ];
    let reports = vec![report(vec![
        cel_result("vp", "pass", "p1"),
        result("enforced", "pass", "a", "p1"),
    ])];
    let before = build(&input(
        reports.clone(),
        policies.clone(),
        Some(scan(true, &[])),
    ));
    let mut gappy = scan(false, &["ConfigMap"]);
    gappy.invalid_policies = vec!["broken".into()];
    gappy.failed_policy_sources = vec!["clusterpolicies.kyverno.io".into()];
    gappy.objects_by_kind = Some(BTreeMap::from([("Pod".to_string(), 1)]));
    let after = build(&input(reports, policies, Some(gappy)));
    let check = compare::compare(&before, &after);
    let vp = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "vp")
        .expect("vp is enforced");
    assert!(!vp.roll_back && vp.rescan.is_none(), "an invalid ClusterPolicy and an unread ClusterPolicy list do not touch a ValidatingPolicy: {vp:?}");
    let enforced = check
        .rollback_checks
        .iter()
        .find(|c| c.policy == "enforced")
        .expect("enforced");
    assert!(enforced.needs_rescan(), "{enforced:?}");
    assert!(
        enforced
            .rescan
            .as_deref()
            .is_some_and(|gaps| gaps.contains("clusterpolicies.kyverno.io")),
        "{enforced:?}"
    );
    // The `--since` line of a rule-less result has no empty parentheses.
    let cel = ViolationChange {
        policy: "vp".into(),
        rule: String::new(),
        result: "fail".into(),
        resource: "a/Pod/p1".into(),
        reason: None,
        action: "Enforce".into(),
    };
    assert_eq!(cel.describe(), "a/Pod/p1 fail");
}

#[test]
fn an_unread_policy_source_is_the_reason_and_autogen_rules_name_their_kinds() {
    let policies = vec![policy("pods", "Audit", "2026-11-01T00:00:00Z")];
    let mut unread = scan(false, &[]);
    unread.failed_policy_sources = vec!["clusterpolicies.kyverno.io".into()];
    // No ClusterPolicy loaded: the scan listed nothing of the Pod kinds.
    unread.objects_by_kind = Some(BTreeMap::from([("ConfigMap".to_string(), 2)]));
    let reports = vec![report(vec![result("pods", "pass", "a", "p1"), {
        let mut r = rule_result("pods", "autogen-cronjob-check", "pass", "c1");
        r["resources"][0]["kind"] = json!("CronJob");
        r
    }])];
    let evidence = build(&input(reports.clone(), policies.clone(), Some(unread)));
    let pods = find(&evidence, "pods");
    assert_eq!(pods.verdict, Verdict::NotReady);
    for rule in &pods.rule_evidence {
        assert!(
            rule.reasons.iter().all(|r| !r.contains("did not list")),
            "{}: {:?}",
            rule.name,
            rule.reasons
        );
        assert!(
            rule.reasons
                .iter()
                .any(|r| r.contains("could not read clusterpolicies.kyverno.io")),
            "{}: {:?}",
            rule.name,
            rule.reasons
        );
    }
    // Read fine, but CronJobs were not listed: the autogen-cronjob rule
    // names CronJob, not Pod.
    let mut listed = scan(true, &[]);
    listed.objects_by_kind = Some(BTreeMap::from([
        ("Pod".to_string(), 1),
        ("apps/Deployment".to_string(), 0),
    ]));
    let evidence = build(&input(reports, policies, Some(listed)));
    let cron = find(&evidence, "pods")
        .rule_evidence
        .iter()
        .find(|r| r.name == "autogen-cronjob-check")
        .expect("the autogen rule");
    assert!(
        cron.reasons
            .iter()
            .any(|r| r.contains("did not list CronJob")),
        "{:?}",
        cron.reasons
    );
    assert!(
        cron.reasons.iter().all(|r| !r.contains("Pod")),
        "{:?}",
        cron.reasons
    );
}

#[test]
fn an_in_progress_record_is_a_scan_that_did_not_finish() {
    let record = |in_progress: Option<&str>| {
        let mut data = json!({"started": "2026-11-20T10:00:00Z", "complete": "true",
                              "objectsByKind": "{\"Pod\":1}"});
        if let Some(flag) = in_progress {
            data["inProgress"] = json!(flag);
        }
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "polscan-last-run", "namespace": "polscan-system"},
            "data": data});
        ScanRecord::from_config_map(&config_map, "polscan-system/polscan-last-run").expect("record")
    };
    // A record written before the first report write, never replaced (the
    // scan was SIGKILLed): whatever else it says, it is not complete.
    let killed = record(Some("true"));
    assert!(killed.in_progress && !killed.complete, "{killed:?}");
    // An older record, without the key, reads as before.
    let older = record(None);
    assert!(!older.in_progress && older.complete, "{older:?}");
    let reports = vec![report(vec![result("clean", "pass", "a", "p1")])];
    let policies = vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")];
    let evidence = build(&input(reports.clone(), policies.clone(), Some(killed)));
    let clean = find(&evidence, "clean");
    assert_eq!(clean.verdict, Verdict::NotReady, "{:?}", clean.reasons);
    let said = "the last scan did not finish (in progress since 2026-11-20T10:00:00Z, or killed)";
    assert!(
        clean.reasons.iter().any(|r| r.contains(said)),
        "{:?}",
        clean.reasons
    );
    assert!(evidence
        .scan
        .as_ref()
        .is_some_and(|s| s.incomplete_because().iter().any(|c| c == said)));
    let finished = build(&input(reports, policies, Some(older)));
    assert_eq!(find(&finished, "clean").verdict, Verdict::Ready);
}

#[test]
fn a_scan_of_the_namespaces_a_policy_is_confined_to_covers_it() {
    // walk32 F4: `scan -n team-a` covers a ClusterPolicy whose match
    // reaches only team-a; Kyverno enforces it nowhere else.
    let confined_to = |namespaces: Value| {
        let mut guarded = policy("guarded", "Audit", "2026-11-01T00:00:00Z");
        guarded["spec"]["rules"][0]["match"]["any"][0]["resources"]["namespaces"] = namespaces;
        guarded
    };
    let judge = |guarded: Value| {
        let mut one_namespace = scan(true, &[]);
        one_namespace.namespaces = vec!["team-a".into()];
        let reports = vec![report(vec![result("guarded", "pass", "team-a", "good")])];
        let evidence = build(&input(reports, vec![guarded], Some(one_namespace)));
        find(&evidence, "guarded").clone()
    };
    let only_team_a = judge(confined_to(json!(["team-a"])));
    assert_eq!(
        only_team_a.verdict,
        Verdict::Ready,
        "{:?}",
        only_team_a.reasons
    );
    // A namespace the scan left out, or a wildcard, is not covered.
    let also_b = judge(confined_to(json!(["team-a", "team-b"])));
    assert_eq!(also_b.verdict, Verdict::NotReady);
    assert!(
        also_b
            .reasons
            .iter()
            .any(|r| r.contains("did not cover namespace(s) team-b")),
        "{:?}",
        also_b.reasons
    );
    let wildcard = judge(confined_to(json!(["team-*"])));
    assert!(
        wildcard
            .reasons
            .iter()
            .any(|r| r.contains("the namespaces other than team-a")),
        "{:?}",
        wildcard.reasons
    );
}
