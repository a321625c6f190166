//! Fault injection on a real kube-apiserver + etcd (each test its own, as
//! a kill would disturb the others): the API server or etcd killed while a
//! scan runs, polscan itself SIGKILLed mid-write, and a policy LIST
//! forbidden. What is checked is what the verdict rests on: a failed scan
//! exits non-zero within its deadline, says what it was waiting for,
//! deletes no report that stood before, and a rerun converges to exactly
//! the results a clean scan gives.

use std::collections::BTreeSet;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use polscan_tests::cluster::{
    polscan, polscan_binary, stored_reports, StoredResult, TestCluster,
    TEAM_LABEL_AND_LATEST_TAG_POLICIES,
};
use serde_json::Value;

/// Namespaces and Pods per namespace of [`many_pods`]: enough that a scan
/// is still listing or writing when the fault comes.
const NAMESPACES: usize = 30;
const PODS: usize = 30;

/// The record the scans here write.
const RECORD: &str = "polscan-system/polscan-last-run";

/// Pod `p<i>` in namespace `ns<j>`: labelled `team` when i is even, a
/// `:latest` image when i is a multiple of 3.
fn many_pods(cluster: &TestCluster) {
    let mut yaml = String::new();
    for ns in 0..NAMESPACES {
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{ns}}}\n---\n"
        ));
    }
    for ns in 0..NAMESPACES {
        for pod in 0..PODS {
            let labels = if pod % 2 == 0 { "{team: a}" } else { "{}" };
            let tag = if pod % 3 == 0 { "latest" } else { "1.25" };
            yaml.push_str(&format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{pod}, namespace: ns{ns}, labels: {labels}}}\nspec: {{containers: [{{name: c, image: 'nginx:{tag}'}}]}}\n---\n"
            ));
        }
    }
    let created = cluster.kubectl_with_stdin(&["create", "-f", "-"], Some(&yaml));
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
}

/// What a clean scan must store for [`many_pods`] under `policies`
/// (`require-team-label`, `disallow-latest`).
fn expected(policies: &[&str]) -> BTreeSet<StoredResult> {
    let mut results = BTreeSet::new();
    for ns in 0..NAMESPACES {
        for pod in 0..PODS {
            let mut add = |policy: &str, rule: &str, pass: bool| {
                if policies.contains(&policy) {
                    results.insert((
                        format!("ns{ns}"),
                        format!("p{pod}"),
                        policy.to_string(),
                        rule.to_string(),
                        if pass { "pass" } else { "fail" }.to_string(),
                    ));
                }
            };
            add("require-team-label", "team", pod % 2 == 0);
            add("disallow-latest", "no-latest", pod % 3 != 0);
        }
    }
    results
}

/// The stored PolicyReports: their `namespace/name`s and every result.
fn stored(cluster: &TestCluster) -> (BTreeSet<String>, BTreeSet<StoredResult>) {
    let (names, results) = stored_reports(cluster);
    (names.into_iter().collect(), results.into_iter().collect())
}

/// A failed run's stderr, printed under `label` (the experiment's record);
/// the run must have exited 2.
fn failed_run(label: &str, output: &Output, took: Option<Duration>) -> String {
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!(
        "[{label}] exit {:?}{}:\n{err}",
        output.status.code(),
        took.map(|t| format!(" after {t:?}")).unwrap_or_default()
    );
    assert_eq!(output.status.code(), Some(2), "{err}");
    err
}

/// Policies (the two of [`TEAM_LABEL_AND_LATEST_TAG_POLICIES`] when
/// `both`, else `require-team-label` alone), Pods, the record's namespace.
fn loaded_cluster(both: bool) -> TestCluster {
    let cluster = TestCluster::start_prepared();
    let policies = if both {
        TEAM_LABEL_AND_LATEST_TAG_POLICIES.to_string()
    } else {
        first_policy()
    };
    cluster.apply_yaml(&policies);
    cluster.kubectl_ok(&["create", "namespace", "polscan-system"]);
    many_pods(&cluster);
    cluster
}

/// `require-team-label` alone.
fn first_policy() -> String {
    TEAM_LABEL_AND_LATEST_TAG_POLICIES
        .split("\n---\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn scan_args<'a>(kubeconfig: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "scan",
        "--kubeconfig",
        kubeconfig,
        "-o",
        "summary",
        "--last-run-configmap",
        RECORD,
    ];
    args.extend_from_slice(extra);
    args
}

/// A scan that must succeed (exit 0).
fn clean_scan(cluster: &TestCluster) -> String {
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let ran = polscan(&scan_args(&kubeconfig, &[]));
    let err = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert_eq!(ran.status.code(), Some(0), "{err}");
    err
}

/// A scan started in the background, its output piped.
fn spawn_scan(cluster: &TestCluster, extra: &[&str]) -> Child {
    let kubeconfig = cluster.kubeconfig().display().to_string();
    Command::new(polscan_binary())
        .args(scan_args(&kubeconfig, extra))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("running polscan: {err}"))
}

/// Waits for `child` at most `bound`; kills it and fails when it runs
/// longer. Returns its output and how long it ran after the wait began.
fn wait_bounded(mut child: Child, bound: Duration) -> (Output, Duration) {
    let began = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if began.elapsed() > bound => {
                let _ = child.kill();
                let output = child.wait_with_output();
                panic!("polscan still ran after {bound:?}: {output:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(err) => panic!("waiting for polscan: {err}"),
        }
    }
    let elapsed = began.elapsed();
    let output = child
        .wait_with_output()
        .unwrap_or_else(|err| panic!("polscan's output: {err}"));
    (output, elapsed)
}

/// Polls until `done` holds (every 200 ms, at most two minutes).
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let began = Instant::now();
    while !done() {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "gave up waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How many stored PolicyReports hold `results` results (a cheap poll).
fn reports_with_results(cluster: &TestCluster, results: u64) -> usize {
    let out = cluster.kubectl(&[
        "get",
        "policyreports",
        "-A",
        "-o",
        "jsonpath={range .items[*]}{.summary.pass} {.summary.fail}{\"\\n\"}{end}",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .filter_map(|n| n.parse::<u64>().ok())
                .sum::<u64>()
                == results
        })
        .count()
}

fn record_data(cluster: &TestCluster) -> Value {
    let (namespace, name) = RECORD.split_once('/').unwrap_or_default();
    cluster.config_map(namespace, name)["data"].clone()
}

#[test]
fn api_server_killed_mid_scan_deletes_nothing_and_a_rerun_converges() {
    let cluster = loaded_cluster(false);
    clean_scan(&cluster);
    let (names_before, results_before) = stored(&cluster);
    assert_eq!(results_before, expected(&["require-team-label"]));
    let record_before = record_data(&cluster);

    // A second policy: every report must be rewritten.
    cluster.apply_yaml(TEAM_LABEL_AND_LATEST_TAG_POLICIES);
    let scan = spawn_scan(&cluster, &["--page-size", "20"]);
    until("the scan has rewritten some reports", || {
        reports_with_results(&cluster, 2) >= 5
    });
    let killed_at = Instant::now();
    cluster.kill("apiserver");
    let (output, _) = wait_bounded(scan, Duration::from_secs(120));
    failed_run(
        "api server killed (the time from the kill)",
        &output,
        Some(killed_at.elapsed()),
    );
    cluster.restart();

    // No report that stood before is gone: each Pod still has one.
    let (names_after, results_after) = stored(&cluster);
    let missing: Vec<_> = names_before.difference(&names_after).collect();
    assert!(missing.is_empty(), "deleted: {missing:?}");
    // Between the two: some rewritten, others not yet.
    let both = expected(&["require-team-label", "disallow-latest"]);
    assert!(results_after.is_superset(&results_before));
    assert!(results_after.is_subset(&both));
    // The record does not claim the last complete run: this one said it
    // was in progress before its first report write, and the reports now
    // mix two runs.
    let record_after = record_data(&cluster);
    assert_ne!(record_after, record_before);
    assert_eq!(record_after["complete"], "false", "{record_after}");
    assert_eq!(record_after["inProgress"], "true", "{record_after}");

    clean_scan(&cluster);
    let (names, results) = stored(&cluster);
    assert_eq!(results, both);
    assert_eq!(names.len(), NAMESPACES * PODS);
    assert_eq!(record_data(&cluster)["complete"], "true");
}

#[test]
fn etcd_killed_the_scan_ends_at_its_deadline_naming_what_it_waited_for() {
    let cluster = loaded_cluster(true);
    clean_scan(&cluster);
    let (names_before, results_before) = stored(&cluster);
    let record_before = record_data(&cluster);

    cluster.kill("etcd");
    let deadline = Duration::from_secs(20);
    let scan = spawn_scan(&cluster, &["--timeout", "20s"]);
    // Before bounded time, each request waited for the API server's own
    // 60 s timeout, then again on each retry of its 504: minutes. The
    // deadline, then 10 s in all to record the run and release the Lease
    // (fault17 F17-5: each had its own 10 s), and time to start and exit.
    let (output, took) = wait_bounded(scan, deadline + Duration::from_secs(10 + 10));
    let err = failed_run("etcd killed", &output, Some(took));
    assert!(
        err.contains("deadline 20s (--timeout) reached while") || err.contains("timed out after"),
        "{err}"
    );

    cluster.restart();
    let (names_after, results_after) = stored(&cluster);
    assert_eq!(names_after, names_before);
    assert_eq!(results_after, results_before);
    // With etcd down the record could not be written either: it still
    // holds the last complete run's, which the reports (unchanged) match.
    assert_eq!(record_data(&cluster), record_before);
    assert!(err.contains("the run was not recorded"), "{err}");
}

#[test]
fn polscan_killed_mid_write_a_rerun_converges_to_a_clean_scan() {
    let cluster = loaded_cluster(true);
    let mut scan = spawn_scan(&cluster, &["--page-size", "20"]);
    until("the scan has written some reports", || {
        reports_with_results(&cluster, 2) >= 5
    });
    scan.kill()
        .unwrap_or_else(|err| panic!("killing polscan: {err}"));
    let _ = scan.wait();
    let (names, _) = stored(&cluster);
    eprintln!(
        "[polscan SIGKILLed] {} of {} reports written",
        names.len(),
        NAMESPACES * PODS
    );
    assert!(
        names.len() < NAMESPACES * PODS,
        "the scan finished before it was killed"
    );

    clean_scan(&cluster);
    let expected = expected(&["require-team-label", "disallow-latest"]);
    let (names, results) = stored(&cluster);
    assert_eq!(results, expected);
    assert_eq!(names.len(), NAMESPACES * PODS);
    // A second clean scan changes nothing: the rerun had converged.
    let again = clean_scan(&cluster);
    assert_eq!(polscan_tests::cluster::written(&again), 0, "{again}");
    assert_eq!(stored(&cluster).1, expected);
}

#[test]
fn a_forbidden_policy_list_deletes_no_report_and_names_the_kind() {
    let cluster = loaded_cluster(true);
    clean_scan(&cluster);
    let (names_before, results_before) = stored(&cluster);

    // polscan-limited reads every kind polscan lists but ClusterPolicies.
    cluster.grant_limited(
        r#"- apiGroups: [""]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [apps, batch, networking.k8s.io, policy, rbac.authorization.k8s.io, admissionregistration.k8s.io]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [kyverno.io]
  resources: [policies, policyexceptions, cleanuppolicies, clustercleanuppolicies, globalcontextentries, updaterequests]
  verbs: [get, list]
- apiGroups: [policies.kyverno.io]
  resources: ["*"]
  verbs: [get, list]
"#,
    );
    // A Pod goes: a scan that could read the policies would prune its report.
    let gone_uid = cluster.kubectl_ok(&[
        "get",
        "pod",
        "-n",
        "ns0",
        "p1",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    let gone_report = format!("ns0/polscan-{}", gone_uid.trim());
    assert!(names_before.contains(&gone_report), "{names_before:?}");
    cluster.kubectl_ok(&["delete", "pod", "-n", "ns0", "p1", "--wait=false"]);
    let limited = cluster.limited_kubeconfig().display().to_string();
    let ran = polscan(&["scan", "--kubeconfig", &limited, "-o", "summary"]);
    let err = failed_run("ClusterPolicy LIST forbidden", &ran, None);
    assert!(
        err.contains("error: scanning the cluster at")
            && err.contains("no policy could be read, so nothing was scanned or pruned: clusterpolicies.kyverno.io could not be read")
            && err.contains("Forbidden (403)"),
        "{err}"
    );
    let (names_after, results_after) = stored(&cluster);
    assert_eq!(names_after, names_before);
    assert_eq!(results_after, results_before);

    // With a namespaced Policy readable, the scan runs, but keeps the
    // ClusterPolicies' stored results and prunes nothing but the report of
    // the Pod that is gone (Pods were listed: no result about it stands).
    cluster.apply_yaml(
        "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata: {name: ns0-team, namespace: ns0}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: team\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {message: team, pattern: {metadata: {labels: {team: '?*'}}}}\n",
    );
    let ran = polscan(&["scan", "--kubeconfig", &limited, "-o", "summary"]);
    let err = failed_run(
        "ClusterPolicy LIST forbidden, a Policy readable",
        &ran,
        None,
    );
    assert!(err.contains("some policies could not be read"), "{err}");
    assert!(
        err.contains("only the 1 reports of resources that are gone were pruned"),
        "{err}"
    );
    let (names_after, results_after) = stored(&cluster);
    let mut expected = names_before.clone();
    expected.remove(&gone_report);
    assert_eq!(
        names_after, expected,
        "a report of an existing Pod was pruned"
    );
    let kept: BTreeSet<StoredResult> = results_before
        .into_iter()
        .filter(|(namespace, name, ..)| !(namespace == "ns0" && name == "p1"))
        .collect();
    assert!(results_after.is_superset(&kept));
}

/// A ValidatingPolicy of 200 expressions of 998,000 steps each (just under
/// the per-call cost limit, which cancels one expression of 10^8 steps by
/// itself): a minute or more per object in a debug build.
fn costly_policy() -> String {
    let mut policy = String::from(
        r#"apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: costly}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}]
  validations:
"#,
    );
    // 999 + 999 × 999 steps each, just under the bound, over a variable's
    // literal list (lists.range is charged its length too).
    for _ in 0..200 {
        policy.push_str("  - expression: \"variables.l.all(x, variables.l.all(y, x + y >= 0))\"\n");
    }
    policy.push_str(&format!(
        "  variables:\n  - name: l\n    expression: \"[{}]\"\n",
        vec!["0"; 999].join(",")
    ));
    policy
}

#[test]
fn an_evaluation_past_the_deadline_does_not_keep_the_process_alive() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml(&costly_policy());
    cluster.kubectl_ok(&["create", "namespace", "polscan-system"]);
    cluster.kubectl_ok(&["create", "configmap", "slow", "-n", "default"]);
    let scan = spawn_scan(&cluster, &["--timeout", "5s", "--namespace", "default"]);
    // Before, the deadline was said and the record written at 5 s, but
    // the runtime waited for the evaluation still running: minutes.
    let (output, took) = wait_bounded(scan, Duration::from_secs(45));
    let err = failed_run("costly CEL past --timeout", &output, Some(took));
    assert!(
        err.contains("deadline 5s (--timeout) reached while"),
        "{err}"
    );
}

/// fault17 F17-2: a message holding characters a YAML reader refuses raw
/// (DEL, a C1 control, U+FFFE; NEL, which it folds to a space — from an
/// annotation anyone can set) is
/// written, not refused on every run. fault17 F17-3: reports a run could
/// not write (here: the server forbids it) keep the stale reports of their
/// namespace — after a change of layout, the ones they were to replace —
/// and the run fails; once they are written, a rerun prunes them.
#[test]
fn unwritten_reports_keep_their_namespace_s_reports_and_control_characters_are_written() {
    let cluster = TestCluster::start_prepared();
    cluster.kubectl_ok(&["create", "namespace", "polscan-system"]);
    cluster.kubectl_ok(&["create", "namespace", "ctl"]);
    let evil = "x\u{7f}y\u{9b}z\u{fffe}w\u{85}v";
    let objects = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "evil", "namespace": "ctl", "annotations": {"evil": evil}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain", "namespace": "ctl"}},
        {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "echo"}, "spec": {"validationFailureAction": "Audit", "rules": [{"name": "echo",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"], "namespaces": ["ctl"]}}]},
            "validate": {"message": "m={{ request.object.metadata.annotations.evil || 'none' }}",
                "deny": {"conditions": {"any": [{"key": "a", "operator": "Equals", "value": "a"}]}}}}]}}
    ]});
    let out = cluster.kubectl_with_stdin(&["create", "-f", "-"], Some(&objects.to_string()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scan = |kubeconfig: &str, extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--kubeconfig",
            kubeconfig,
            "-o",
            "summary",
            "--include-kinds",
            "ConfigMap",
            "-n",
            "ctl",
        ];
        args.extend_from_slice(extra);
        polscan(&args)
    };
    let admin = cluster.kubeconfig().display().to_string();
    let ran = scan(&admin, &[]);
    let err = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert_eq!(ran.status.code(), Some(0), "{err}");
    let (per_resource, _) = stored_reports(&cluster);
    assert_eq!(per_resource.len(), 2, "{per_resource:?}\n{err}");
    let text = cluster.kubectl_ok(&["get", "policyreports", "-n", "ctl", "-o", "json"]);
    assert!(text.contains(&format!("m={evil}")), "{text}");

    // A user who may read and delete reports, not write them.
    cluster.apply_yaml(
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: polscan-no-writes}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: [get, list, watch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list, create, update, patch, delete]
- apiGroups: [wgpolicyk8s.io]
  resources: [policyreports, clusterpolicyreports]
  verbs: [get, list, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: polscan-no-writes}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: polscan-no-writes}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: polscan-limited}
"#,
    );
    let limited = cluster.limited_kubeconfig().display().to_string();
    let ran = scan(&limited, &["--report-per", "namespace"]);
    let err = failed_run("report writes forbidden", &ran, None);
    assert!(
        err.contains("Forbidden (403)") && err.contains("stale report(s) kept"),
        "{err}"
    );
    let (names, _) = stored_reports(&cluster);
    assert_eq!(names, per_resource, "{err}");

    // Written, the parts replace them.
    let ran = scan(&admin, &["--report-per", "namespace"]);
    let err = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert_eq!(ran.status.code(), Some(0), "{err}");
    let (names, _) = stored_reports(&cluster);
    assert!(
        !names.is_empty() && names.iter().all(|n| !per_resource.contains(n)),
        "{names:?}\n{err}"
    );
}

/// walk78: a recorded scan whose `--policy` file is malformed stops before
/// it lists or writes anything, and its record says why (it used to stop
/// before connecting, leaving the last good run's record "complete": a
/// CronJob failing every hour went unseen by `polscan evidence`).
#[test]
fn a_malformed_policy_file_is_recorded_and_changes_no_report() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml(&first_policy());
    cluster.kubectl_ok(&["create", "namespace", "polscan-system"]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec: {containers: [{name: c, image: 'nginx:1.25'}]}\n",
    );
    clean_scan(&cluster);
    let (names_before, results_before) = stored(&cluster);
    assert!(!names_before.is_empty());
    let bad = cluster.dir().join("malformed.yaml");
    std::fs::write(&bad, "kind: ClusterPolicy\nspec: [unclosed\n")
        .unwrap_or_else(|err| panic!("writing {}: {err}", bad.display()));
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let bad_text = bad.display().to_string();
    let ran = polscan(&scan_args(&kubeconfig, &["--policy", &bad_text]));
    let err = failed_run("malformed --policy file", &ran, None);
    assert!(
        err.contains("reading policies, so nothing was scanned or pruned")
            && err.contains(&bad_text),
        "{err}"
    );
    let (names_after, results_after) = stored(&cluster);
    assert_eq!(names_after, names_before);
    assert_eq!(results_after, results_before);
    let record = record_data(&cluster);
    assert_eq!(record["complete"], "false", "{record}");
    assert!(
        record["error"]
            .as_str()
            .is_some_and(|e| e.contains(&bad_text)),
        "{record}"
    );
    // Unrecorded, it stops before connecting, as before.
    let ran = polscan(&["scan", "--kubeconfig", &kubeconfig, "--policy", &bad_text]);
    assert_ne!(ran.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ran.stderr).contains(&bad_text));
}
