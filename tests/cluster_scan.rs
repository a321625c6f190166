//! `polscan scan` against a real kube-apiserver + etcd (scripts/apiserver.sh):
//! policies and good/bad resources from the Kyverno policy library are
//! stored in the server, the scan writes reports, and the tests read them
//! back through the API as users do.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polscan_tests::cluster::{polscan, TestCluster};
use polscan_tests::corpus_root;
use serde::Deserialize;
use serde_json::Value;

/// A cluster with the report CRDs (installed by polscan) and stand-ins for
/// Kyverno's policy CRDs.
fn prepared_cluster() -> TestCluster {
    TestCluster::start_prepared()
}

fn scan(cluster: &TestCluster, extra: &[&str]) -> std::process::Output {
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let mut args = vec!["scan", "--kubeconfig", kubeconfig.as_str()];
    args.extend_from_slice(extra);
    polscan(&args)
}

/// A scan of the policies at `policy` only, with `extra` arguments.
fn scan_policy(
    cluster: &TestCluster,
    policy: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let policy = policy.display().to_string();
    let mut args = vec!["--no-cluster-policies", "--policy", policy.as_str()];
    args.extend_from_slice(extra);
    scan(cluster, &args)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `written N` count of the scan's summary line.
fn written(output: &std::process::Output) -> usize {
    let text = stderr(output);
    let summary = text
        .lines()
        .find(|line| line.starts_with("scan:"))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}"));
    summary
        .split("written ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no write count in {summary:?}"))
}

fn reports(cluster: &TestCluster, kind: &str) -> Vec<Value> {
    let text = cluster.kubectl_ok(&["get", kind, "-A", "-o", "json"]);
    let list: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
    list["items"].as_array().cloned().unwrap_or_default()
}

/// The PolicyReports in `namespace`.
fn namespace_reports(cluster: &TestCluster, namespace: &str) -> Vec<Value> {
    reports(cluster, "policyreports")
        .into_iter()
        .filter(|r| r["metadata"]["namespace"] == namespace)
        .collect()
}

/// (kind, namespace, name, policy, rule) → result, from every PolicyReport.
fn results_by_resource(
    cluster: &TestCluster,
) -> BTreeMap<(String, String, String, String, String), String> {
    let mut found = BTreeMap::new();
    for report in reports(cluster, "policyreports") {
        for result in report["results"].as_array().into_iter().flatten() {
            // Per-resource reports name the resource in `scope` only.
            let resource = &report["scope"];
            let text = |v: &Value| v.as_str().unwrap_or("").to_string();
            found.insert(
                (
                    text(&resource["kind"]),
                    text(&resource["namespace"]),
                    text(&resource["name"]),
                    text(&result["policy"]),
                    text(&result["rule"]),
                ),
                text(&result["result"]),
            );
        }
    }
    found
}

const CORPUS_TESTS: [&str; 3] = [
    "best-practices/disallow-latest-tag",
    "best-practices/require-labels",
    "pod-security/baseline/disallow-host-namespaces",
];

#[test]
fn scan_reports_corpus_results_rescans_without_writes_and_prunes() {
    let cluster = prepared_cluster();
    // (namespace, kind, name, rule, result)
    let mut expected: Vec<(String, String, String, String, String)> = Vec::new();
    for test in CORPUS_TESTS {
        // Each test's resources in a namespace of their own: names repeat
        // across tests.
        let namespace = test.rsplit('/').next().unwrap_or(test).to_string();
        cluster.kubectl_ok(&["create", "namespace", &namespace]);
        let dir = corpus_root().join(test).join(".kyverno-test");
        let spec: Value = serde_yaml::from_str(
            &std::fs::read_to_string(dir.join("kyverno-test.yaml"))
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for policy in spec["policies"].as_array().into_iter().flatten() {
            let path = dir.join(policy.as_str().unwrap_or_default());
            cluster.kubectl_ok(&["apply", "-f", &path.display().to_string()]);
        }
        for resource in spec["resources"].as_array().into_iter().flatten() {
            let path = dir.join(resource.as_str().unwrap_or_default());
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
            let output = cluster.kubectl_with_stdin(
                &["apply", "-n", &namespace, "-f", "-"],
                Some(&served_by_1_20(&text)),
            );
            assert!(output.status.success(), "{path:?}: {}", stderr(&output));
        }
        for result in spec["results"].as_array().into_iter().flatten() {
            if result["kind"] == "CronJob" {
                continue;
            }
            for name in result["resources"].as_array().into_iter().flatten() {
                expected.push((
                    namespace.clone(),
                    result["kind"].as_str().unwrap_or_default().to_string(),
                    name.as_str().unwrap_or_default().to_string(),
                    result["rule"].as_str().unwrap_or_default().to_string(),
                    result["result"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    // A malformed policy is named and skipped; the others still run.
    cluster.apply_yaml(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: broken-policy\nspec:\n  rules: {not: a-list}\n",
    );

    let first = scan(&cluster, &[]);
    let first_err = stderr(&first);
    assert_eq!(
        first.status.code(),
        Some(2),
        "an invalid policy makes the scan incomplete:\n{first_err}"
    );
    assert!(
        first_err.contains("ClusterPolicy/broken-policy"),
        "{first_err}"
    );
    assert!(written(&first) > 0, "{first_err}");

    let results = results_by_resource(&cluster);
    let mut checked = 0;
    for (namespace, kind, name, rule, result) in &expected {
        // Reports name the rule that ran: autogen's for Pod controllers.
        let found = results.iter().find(|((k, ns, n, _, r), _)| {
            k == kind
                && ns == namespace
                && n == name
                && (r == rule
                    || r == &format!("autogen-{rule}")
                    || r == &format!("autogen-cronjob-{rule}"))
        });
        let Some((_, actual)) = found else {
            panic!("no report result for {kind} {name} rule {rule}; have {results:#?}");
        };
        assert_eq!(actual, result, "{kind} {name} {rule}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} expectations checked");

    // `kubectl get polr -A` shows the counts per resource.
    let table = cluster.kubectl_ok(&["get", "polr", "-A"]);
    assert!(table.contains("PASS") && table.contains("FAIL"), "{table}");
    assert!(table.contains("badpod01"), "{table}");

    // Every report is polscan's, scoped to and owned by its resource.
    for report in reports(&cluster, "policyreports") {
        assert_eq!(
            report["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "polscan"
        );
        // Named `polscan-<uid>`: Kyverno's reports controller owns `<uid>`.
        assert_eq!(
            report["metadata"]["name"].as_str().map(str::to_string),
            report["scope"]["uid"]
                .as_str()
                .map(|uid| format!("polscan-{uid}"))
        );
        assert_eq!(
            report["metadata"]["ownerReferences"][0]["uid"],
            report["scope"]["uid"]
        );
        for result in report["results"].as_array().into_iter().flatten() {
            assert_eq!(result["source"], "polscan");
            assert!(result["properties"]["resultID"]
                .as_str()
                .is_some_and(|id| id.len() == 32));
        }
    }

    // Nothing changed: nothing is written.
    let second = scan(&cluster, &[]);
    assert_eq!(written(&second), 0, "{}", stderr(&second));

    // A deleted resource's report goes (there is no garbage collector in a
    // bare API server: polscan's pruning does it).
    let before = results_by_resource(&cluster);
    let gone = |results: &BTreeMap<(String, String, String, String, String), String>| {
        !results
            .keys()
            .any(|(_, ns, name, _, _)| ns == "disallow-latest-tag" && name == "badpod01")
    };
    assert!(!gone(&before));
    cluster.kubectl_ok(&["delete", "pod", "-n", "disallow-latest-tag", "badpod01"]);
    // While a policy cannot be loaded a report that looks stale is kept (it
    // may hold that policy's only evidence) — but not the report of a
    // resource that is gone, its kind listed: no result about it stands.
    let held = scan(&cluster, &[]);
    assert!(stderr(&held).contains("deleted 1"), "{}", stderr(&held));
    assert!(
        stderr(&held).contains("only the 1 reports of resources that are gone were pruned"),
        "{}",
        stderr(&held)
    );
    assert!(gone(&results_by_resource(&cluster)));
    cluster.kubectl_ok(&["delete", "clusterpolicy", "broken-policy"]);
    let third = scan(&cluster, &[]);
    assert!(stderr(&third).contains("deleted 0"), "{}", stderr(&third));
    let after = results_by_resource(&cluster);
    assert!(gone(&after));
    assert_eq!(written(&third), 0, "{}", stderr(&third));
}

#[test]
fn a_forbidden_list_leaves_its_reports_and_fails_the_scan() {
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "team"]);
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &policy]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: team}\nspec:\n  containers: [{name: web, image: nginx:latest}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: team}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: api, image: nginx:latest}]\n",
    );
    assert_eq!(scan(&cluster, &[]).status.code(), Some(0));
    let deployment_report = |cluster: &TestCluster| {
        reports(cluster, "policyreports")
            .into_iter()
            .any(|r| r["scope"]["kind"] == "Deployment")
    };
    assert!(deployment_report(&cluster));

    // polscan-limited may read everything polscan needs except Deployments.
    cluster.grant_limited(
        r#"- apiGroups: [""]
  resources: [pods, namespaces, replicationcontrollers]
  verbs: [get, list]
- apiGroups: [apps]
  resources: [daemonsets, statefulsets, replicasets]
  verbs: [get, list]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list]
- apiGroups: [extensions]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [kyverno.io, policies.kyverno.io]
  resources: ["*"]
  verbs: [get, list]
"#,
    );
    // The Deployment goes away, but polscan-limited cannot see that.
    cluster.kubectl_ok(&["delete", "deployment", "-n", "team", "api"]);
    // The Pod changes, so its report must be rewritten.
    cluster.kubectl_ok(&["delete", "pod", "-n", "team", "web"]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: team}\nspec:\n  containers: [{name: web, image: nginx:1.25}]\n",
    );
    let limited = cluster.limited_kubeconfig().display().to_string();
    let output = polscan(&["scan", "--kubeconfig", &limited]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("apps/Deployment not scanned") && err.contains("forbidden"),
        "{err}"
    );
    // The other kinds were still scanned and written...
    let pod_passes = reports(&cluster, "policyreports").into_iter().any(|r| {
        r["scope"]["kind"] == "Pod"
            && r["scope"]["name"] == "web"
            && r["summary"]["fail"].as_u64() == Some(0)
    });
    assert!(pod_passes, "{err}");
    // ...and the report of the kind that failed to list was not deleted.
    assert!(deployment_report(&cluster), "{err}");
    let kept: Vec<&str> = err.lines().filter(|l| l.starts_with("kept ")).collect();
    assert_eq!(kept.len(), 1, "{err}");
    assert!(kept[0].contains("PolicyReport team/"), "{err}");
}

#[test]
fn per_namespace_reports_are_split_under_one_mebibyte() {
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "bulk"]);
    // 1,000 ConfigMaps × 5 rules = 5,000 results in one namespace.
    let rules = |rule| {
        (
            format!("rule-{rule}-checks-the-team-label-with-a-long-descriptive-name"),
            format!("ConfigMaps need the label team (rule {rule}); this message is long on purpose so that results are large"),
        )
    };
    let mut objects = Vec::new();
    for i in 0..1000 {
        objects.push(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("config-{i:04}"), "namespace": "bulk"},
            "data": {"key": "value"}
        }));
    }
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let dir = tempfile_dir();
    let policy_path = team_label_policy_and_objects(
        &cluster,
        &dir,
        "split",
        "configmaps-need-team",
        (5, rules),
        &list,
    );
    let policy_arg = policy_path.display().to_string();
    let output = scan_policy(
        &cluster,
        &policy_path,
        &["--report-per", "namespace", "--include-kinds", "ConfigMap"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let parts = namespace_reports(&cluster, "bulk");
    assert!(
        parts.len() >= 2,
        "5,000 results should need several parts, got {}",
        parts.len()
    );
    let mut total = 0;
    for part in &parts {
        let size = serde_json::to_vec(part)
            .map(|b| b.len())
            .unwrap_or(usize::MAX);
        assert!(
            size < 1024 * 1024,
            "{} is {size} bytes",
            part["metadata"]["name"]
        );
        assert_eq!(
            part["metadata"]["labels"]["polscan.io/report-shape"],
            "per-namespace"
        );
        total += part["results"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(total, 5000);
    let again = scan(
        &cluster,
        &[
            "--no-cluster-policies",
            "--policy",
            &policy_arg,
            "--report-per",
            "namespace",
            "--include-kinds",
            "ConfigMap",
        ],
    );
    assert_eq!(written(&again), 0, "{}", stderr(&again));
    // Back to Kyverno's layout: the per-namespace parts go, so every
    // result is in the cluster once.
    let switched = scan(
        &cluster,
        &[
            "--no-cluster-policies",
            "--policy",
            &policy_arg,
            "--include-kinds",
            "ConfigMap",
        ],
    );
    assert_eq!(switched.status.code(), Some(0), "{}", stderr(&switched));
    let bulk = namespace_reports(&cluster, "bulk");
    // --include-kinds leaves other kinds unlisted: the parts stay, said in
    // one line that blames the filter, not a failed LIST.
    assert!(bulk
        .iter()
        .any(|r| r["metadata"]["labels"]["polscan.io/report-shape"] == "per-namespace"));
    let said = stderr(&switched);
    assert!(
        said.contains("reports of kinds this run did not list (left out by --include-kinds or --exclude-kinds")
            && !said.contains("did not list completely"),
        "{said}"
    );
    let complete = scan(
        &cluster,
        &["--no-cluster-policies", "--policy", &policy_arg],
    );
    assert_eq!(complete.status.code(), Some(0), "{}", stderr(&complete));
    let bulk = namespace_reports(&cluster, "bulk");
    assert!(
        bulk.iter()
            .all(|r| r["metadata"]["labels"]["polscan.io/report-shape"] == "per-resource"),
        "{}",
        stderr(&complete)
    );
    let total: usize = bulk
        .iter()
        .map(|r| r["results"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(total, 5000);
    // fault18 F18-2: parts again, then far fewer results: a run whose
    // LISTs all completed but whose filter left out a kind a policy
    // matches (Namespace) prunes the parts the namespace no longer needs.
    let namespaces_policy = dir.join("namespaces.yaml");
    std::fs::write(
        &namespaces_policy,
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: namespaces-need-team\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: team\n    match: {any: [{resources: {kinds: [Namespace]}}]}\n    validate:\n      message: team label\n      pattern: {metadata: {labels: {team: '?*'}}}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let namespaces_arg = namespaces_policy.display().to_string();
    let per_namespace_filtered = [
        "--no-cluster-policies",
        "--policy",
        &policy_arg,
        "--policy",
        &namespaces_arg,
        "--report-per",
        "namespace",
        "--include-kinds",
        "ConfigMap",
    ];
    let parts_again = scan(&cluster, &per_namespace_filtered);
    assert_eq!(
        parts_again.status.code(),
        Some(0),
        "{}",
        stderr(&parts_again)
    );
    assert!(namespace_reports(&cluster, "bulk").len() >= 2);
    cluster.kubectl_ok(&["delete", "configmaps", "-n", "bulk", "--all"]);
    cluster.kubectl_ok(&["create", "configmap", "config-0000", "-n", "bulk"]);
    let shrunk = scan(&cluster, &per_namespace_filtered);
    assert_eq!(shrunk.status.code(), Some(0), "{}", stderr(&shrunk));
    let bulk = namespace_reports(&cluster, "bulk");
    assert_eq!(bulk.len(), 1, "{}", stderr(&shrunk));
    assert_eq!(bulk[0]["results"].as_array().map_or(0, Vec::len), 5);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dry_run_writes_nothing_and_prints_the_reports() {
    let cluster = prepared_cluster();
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &policy]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec:\n  containers: [{name: web, image: nginx:latest}]\n",
    );
    let output = scan(&cluster, &["--dry-run", "-o", "yaml", "--fail-on", "fail"]);
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "--fail-on fail with a failure: {err}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("kind: PolicyReport") && stdout.contains("name: web"),
        "{stdout}"
    );
    assert!(err.contains("dry run: nothing written"), "{err}");
    // JSON is one List, written report by report.
    let output = scan(&cluster, &["--dry-run", "-o", "json"]);
    let list: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    assert_eq!(list["kind"], "List", "{list}");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert!(
        items
            .iter()
            .any(|r| r["kind"] == "PolicyReport" && r["scope"]["name"] == "web"),
        "{list}"
    );
    // Per-namespace reports print the same way.
    let output = scan(
        &cluster,
        &["--dry-run", "-o", "yaml", "--report-per", "namespace"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("kind: PolicyReport") && stdout.contains("namespace: default"),
        "{stdout}"
    );
    assert!(reports(&cluster, "policyreports").is_empty());
    // What the dry run printed is what a real scan then writes.
    let printed = policy_rule_results(&items);
    let written = scan(&cluster, &["-o", "summary"]);
    assert!(written.status.success(), "{}", stderr(&written));
    let stored = policy_rule_results(&reports(&cluster, "policyreports"));
    assert!(!printed.is_empty());
    assert_eq!(printed, stored);
    // With nothing to change, a dry run still prints every report: its
    // output is the whole set (evidence --from reads it), not a diff.
    let again = scan(&cluster, &["--dry-run", "-o", "json"]);
    let list: Value = serde_json::from_slice(&again.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&again.stdout)));
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(stored_reports(&cluster)),
        "{list}"
    );
    assert!(
        stderr(&again).contains("would apply 0"),
        "{}",
        stderr(&again)
    );
    // A real run prints the same reports (streamed, not shaped from kept
    // findings), each with the name it is stored under.
    let real = scan(&cluster, &["-o", "json"]);
    let list: Value = serde_json::from_slice(&real.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&real.stdout)));
    let printed: Vec<Value> = list["items"].as_array().cloned().unwrap_or_default();
    let stored = reports(&cluster, "policyreports");
    assert_eq!(printed.len(), stored.len(), "{list}");
    for report in &printed {
        let name = &report["metadata"]["name"];
        let twin = stored
            .iter()
            .find(|s| &s["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{name} printed but not stored"));
        // The same results; an unchanged stored report keeps its older time.
        let without_time = |report: &Value| -> Vec<Value> {
            let mut results = report["results"].as_array().cloned().unwrap_or_default();
            for result in &mut results {
                if let Some(object) = result.as_object_mut() {
                    object.remove("timestamp");
                }
            }
            results
        };
        assert_eq!(without_time(report), without_time(twin));
    }
}

/// (policy, rule, result) of every result of `reports`, in order.
fn policy_rule_results(reports: &[Value]) -> Vec<(String, String, String)> {
    reports
        .iter()
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            (
                r["policy"].to_string(),
                r["rule"].to_string(),
                r["result"].to_string(),
            )
        })
        .collect()
}

fn stored_reports(cluster: &TestCluster) -> usize {
    reports(cluster, "policyreports").len() + reports(cluster, "clusterpolicyreports").len()
}

#[test]
fn install_crds_keeps_another_producers_crds() {
    let cluster = TestCluster::start();
    let foreign = std::fs::read_to_string(
        polscan_tests::cluster::workspace_root()
            .join("deploy/crds/wgpolicyk8s.io_policyreports.yaml"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .replace(
        "app.kubernetes.io/part-of: polscan",
        "app.kubernetes.io/managed-by: kyverno",
    );
    cluster.apply_yaml(&foreign);
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let output = polscan(&["install-crds", "--kubeconfig", &kubeconfig]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout
            .contains("kept policyreports.wgpolicyk8s.io (already installed, managed by kyverno)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("created clusterpolicyreports.wgpolicyk8s.io"),
        "{stdout}"
    );
    let labels = cluster.kubectl_ok(&[
        "get",
        "crd",
        "policyreports.wgpolicyk8s.io",
        "-o",
        "jsonpath={.metadata.labels}",
    ]);
    assert!(labels.contains("kyverno"), "{labels}");
}

/// The 1.20 test server serves CronJob as batch/v1beta1 only (batch/v1
/// arrived in 1.21), and Kyverno's autogen rules match batch/v1 CronJobs
/// only, so CronJobs are left out (their expectations too).
fn served_by_1_20(manifests: &str) -> String {
    let mut out = Vec::new();
    for document in serde_yaml::Deserializer::from_str(manifests) {
        let Ok(value) = Value::deserialize(document) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        if value["kind"] == "CronJob" {
            continue;
        }
        out.push(serde_yaml::to_string(&value).unwrap_or_default());
    }
    out.join("---\n")
}

#[test]
fn messages_that_echo_a_large_object_are_cut_so_the_report_is_written() {
    // Eight failing rules whose message echoes a 300 kB value: 2.4 MB of
    // messages in one per-resource report, which the API server refuses
    // at every run unless each message is bounded.
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "echo"]);
    let rules = |rule| {
        (
            format!("echo-{rule}"),
            format!("rule {rule} saw {{{{request.object.data.big}}}}"),
        )
    };
    let object = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "big", "namespace": "echo"},
        "data": {"big": "z".repeat(300_000)}
    });
    // A directory of its own: tempfile_dir() is one per process, which
    // another test removes when it ends.
    let dir = std::env::temp_dir().join(format!("polscan-test-echo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let policy_path = team_label_policy_and_objects(
        &cluster,
        &dir,
        "echo",
        "echo-the-object",
        (8, rules),
        &object,
    );
    let output = scan_policy(
        &cluster,
        &policy_path,
        &["--include-kinds", "ConfigMap", "--namespace", "echo"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let echoed = namespace_reports(&cluster, "echo");
    assert_eq!(echoed.len(), 1, "{}", stderr(&output));
    let results = echoed[0]["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 8);
    for result in &results {
        assert_eq!(result["result"], "fail");
        let message = result["message"].as_str().unwrap_or_default();
        assert!(message.len() <= 2048, "{} bytes", message.len());
        assert!(
            message.starts_with("validation error: rule ") && message.contains("saw zzz"),
            "{message:.80}"
        );
        assert!(
            message.ends_with(" bytes)") && message.contains("… (truncated, 3000"),
            "{}",
            &message[message.len().saturating_sub(60)..]
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A ClusterPolicy `name` of `rules.0` rules, rule i named and with the
/// message `rules.1(i)`, each requiring the label `team` on ConfigMaps, written to
/// `dir/<file>-policy.yaml`, and `objects` (an object or a List) created in
/// the cluster; returns the policy's path.
fn team_label_policy_and_objects(
    cluster: &TestCluster,
    dir: &std::path::Path,
    file: &str,
    name: &str,
    rules: (usize, impl Fn(usize) -> (String, String)),
    objects: &Value,
) -> PathBuf {
    let mut rule_yaml = String::new();
    for (rule, message) in (0..rules.0).map(rules.1) {
        rule_yaml.push_str(&format!(
            "  - name: {rule}\n    match:\n      any:\n      - resources:\n          kinds: [ConfigMap]\n    validate:\n      message: \"{message}\"\n      pattern:\n        metadata:\n          labels:\n            team: \"?*\"\n"
        ));
    }
    let policy = format!(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: {name}\nspec:\n  background: true\n  rules:\n{rule_yaml}"
    );
    let policy_path = dir.join(format!("{file}-policy.yaml"));
    std::fs::write(&policy_path, policy).unwrap_or_else(|e| panic!("{e}"));
    let objects_path = dir.join(format!("{file}-objects.json"));
    std::fs::write(&objects_path, objects.to_string()).unwrap_or_else(|e| panic!("{e}"));
    cluster.kubectl_ok(&["create", "-f", &objects_path.display().to_string()]);
    let _ = std::fs::remove_file(objects_path);
    policy_path
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("polscan-test-{}-{}", std::process::id(), line!()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn policy_exceptions_and_annotation_exceptions_skip_results() {
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "infra"]);
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &policy]);
    let expires = "2099-12-31";
    cluster.apply_yaml(&format!(
        r#"apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {{name: agents-may-float, namespace: infra}}
spec:
  exceptions:
  - policyName: disallow-latest-tag
    ruleNames: [validate-image-tag]
  match:
    any:
    - resources: {{kinds: [Pod], namespaces: [infra], names: ["agent-*"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: agent-1, namespace: infra}}
spec:
  containers: [{{name: a, image: "nginx:latest"}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: legacy
  namespace: infra
  annotations:
    polscan.io/exception: disallow-latest-tag/validate-image-tag
    polscan.io/exception-reason: vendor image, pinned in INC-42
    polscan.io/exception-expires: "{expires}"
    polscan.io/exception-owner: platform-team
spec:
  containers: [{{name: a, image: "nginx:latest"}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: expired
  namespace: infra
  annotations:
    polscan.io/exception: disallow-latest-tag
    polscan.io/exception-reason: migration
    polscan.io/exception-expires: "2020-01-01"
spec:
  containers: [{{name: a, image: "nginx:latest"}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: plain, namespace: infra}}
spec:
  containers: [{{name: a, image: "nginx:latest"}}]
"#
    ));
    // The exception lives in infra: as a Kyverno started with
    // --enablePolicyException --exceptionNamespace=infra.
    let output = scan(&cluster, &["--exception-namespace", "infra"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let result = |name: &str, rule: &str| -> Value {
        reports(&cluster, "policyreports")
            .into_iter()
            .filter(|r| r["scope"]["name"] == name)
            .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
            .find(|r| r["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule} result for {name}"))
    };
    let by_exception = result("agent-1", "validate-image-tag");
    assert_eq!(by_exception["result"], "skip");
    // Kyverno's report names the exception without its namespace.
    assert_eq!(by_exception["properties"]["exceptions"], "agents-may-float");
    assert_eq!(
        by_exception["message"],
        "rule is skipped due to policy exceptionsinfra/agents-may-float"
    );
    // The exception names one rule; the other still applies.
    assert_eq!(result("agent-1", "require-image-tag")["result"], "pass");

    let by_annotation = result("legacy", "validate-image-tag");
    assert_eq!(by_annotation["result"], "skip", "{by_annotation}");
    let properties = by_annotation["properties"].to_string();
    assert!(
        properties.contains("INC-42")
            && properties.contains("platform-team")
            && properties.contains(expires),
        "{properties}"
    );

    // An expired exception keeps the real result and warns.
    assert_eq!(result("expired", "validate-image-tag")["result"], "fail");
    let warning = result("expired", "polscan-exception");
    assert_eq!(warning["result"], "warn");
    assert!(
        warning["message"]
            .as_str()
            .unwrap_or("")
            .contains("2020-01-01"),
        "{warning}"
    );

    assert_eq!(result("plain", "validate-image-tag")["result"], "fail");
}

/// A PolicyException's `podSecurity` entries excuse only the controls they
/// list (Kyverno's validate_pss.go), and failing podSecurity results carry
/// Kyverno's properties in the cluster's reports.
#[test]
fn pod_security_exceptions_excuse_only_their_controls() {
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "edge"]);
    cluster.apply_yaml(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: psa-baseline}
spec:
  background: true
  rules:
  - name: baseline
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      failureAction: Audit
      podSecurity: {level: baseline, version: latest}
---
apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: host-network, namespace: edge}
spec:
  exceptions:
  - {policyName: psa-baseline, ruleNames: [baseline]}
  match:
    any:
    - resources: {kinds: [Pod], namespaces: [edge]}
  podSecurity:
  - controlName: Host Namespaces
    restrictedField: spec.hostNetwork
    values: ["true"]
---
apiVersion: v1
kind: Pod
metadata: {name: router, namespace: edge}
spec:
  hostNetwork: true
  containers: [{name: r, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Pod
metadata: {name: router-priv, namespace: edge}
spec:
  hostNetwork: true
  containers: [{name: r, image: "nginx:1.27", securityContext: {privileged: true}}]
"#,
    );
    let output = scan(&cluster, &["--exception-namespace", "*"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let result = |name: &str| -> Value {
        reports(&cluster, "policyreports")
            .into_iter()
            .filter(|r| r["scope"]["name"] == name)
            .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
            .find(|r| r["policy"] == "psa-baseline")
            .unwrap_or_else(|| panic!("no psa-baseline result for {name}"))
    };
    let excused = result("router");
    assert_eq!(excused["result"], "skip", "{excused}");
    assert_eq!(excused["properties"]["exceptions"], "host-network");
    let still_failing = result("router-priv");
    assert_eq!(still_failing["result"], "fail", "{still_failing}");
    assert_eq!(
        still_failing["message"],
        "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": (Forbidden reason: privileged, field error list: [spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true])"
    );
    let properties = &still_failing["properties"];
    assert_eq!(properties["standard"], "baseline");
    assert_eq!(properties["version"], "latest");
    assert_eq!(properties["controls"], "privileged");
    assert_eq!(
        properties["controlsJSON"],
        r#"[{"ID":"privileged","Name":"Privileged Containers","Images":["docker.io/nginx:1.27"]}]"#
    );
}

#[test]
fn context_lookups_are_answered_by_the_api_server() {
    let cluster = prepared_cluster();
    cluster.apply_yaml(
        r#"apiVersion: v1
kind: ConfigMap
metadata: {name: registries, namespace: default}
data: {allowed: "registry.example.com/"}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: allowed-registries}
spec:
  background: true
  rules:
  - name: from-configmap
    match:
      any:
      - resources: {kinds: [Pod]}
    context:
    - name: registries
      configMap: {name: registries, namespace: default}
    - name: podCount
      apiCall:
        urlPath: "/api/v1/namespaces/{{request.namespace}}/pods"
        jmesPath: "items | length(@)"
    validate:
      message: "images must come from {{registries.data.allowed}} ({{podCount}} pods here)"
      deny:
        conditions:
          any:
          - key: "{{ images.containers.*.registry | [0] }}/"
            operator: NotEquals
            value: "{{ registries.data.allowed }}"
---
apiVersion: v1
kind: Pod
metadata: {name: inside, namespace: default}
spec:
  containers: [{name: a, image: "registry.example.com/app:1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: outside, namespace: default}
spec:
  containers: [{name: a, image: "docker.io/library/nginx:1.25"}]
"#,
    );
    // A policy on a kind this server does not serve evaluates nothing.
    cluster.apply_yaml(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: certificates-need-issuer}
spec:
  background: true
  rules:
  - name: issuer
    match: {any: [{resources: {kinds: [cert-manager.io/v1/Certificate]}}]}
    validate:
      message: an issuer is required
      pattern: {spec: {issuerRef: {name: "?*"}}}
"#,
    );
    let output = scan(&cluster, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("policy certificates-need-issuer matches no kind this server serves"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("policy allowed-registries matches no kind"),
        "{}",
        stderr(&output)
    );
    let results = results_by_resource(&cluster);
    let result = |name: &str| {
        results
            .iter()
            .find(|((kind, _, n, _, rule), _)| {
                kind == "Pod" && n == name && rule == "from-configmap"
            })
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no result for {name}: {results:#?}"))
    };
    assert_eq!(result("inside"), "pass");
    assert_eq!(result("outside"), "fail");
    let message = reports(&cluster, "policyreports")
        .into_iter()
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .find(|r| r["result"] == "fail")
        .map(|r| r["message"].to_string())
        .unwrap_or_default();
    assert!(
        message.contains("registry.example.com/") && message.contains("(2 pods here)"),
        "{message}"
    );
}

/// etcd's current revision, through its JSON gateway.
fn etcd_revision(etcd: &str) -> String {
    let output = std::process::Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            &format!("{etcd}/v3/kv/range"),
            "-d",
            r#"{"key":"AA=="}"#,
        ])
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}"));
    answer["header"]["revision"]
        .as_str()
        .unwrap_or_else(|| panic!("no revision in {answer}"))
        .to_string()
}

#[test]
fn an_expired_continue_token_continues_the_list_without_seeing_an_object_twice() {
    use polscan::cluster::listing::{list_kind, ListEvent};
    use polscan::kinds::ApiResource;

    let cluster = TestCluster::start();
    cluster.kubectl_ok(&["create", "namespace", "pages"]);
    for i in 0..6 {
        cluster.kubectl_ok(&["create", "configmap", &format!("c{i}"), "-n", "pages"]);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let events = runtime.block_on(async {
        let client = polscan::cluster::connect::connect(Some(cluster.kubeconfig()), None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let kind = ApiResource {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced: true,
            verbs: vec!["list".into()],
        };
        // One object per page and a one-slot channel: the lister waits for
        // us between pages, so storage can be compacted mid-list.
        let (sender, mut receiver) = tokio::sync::mpsc::channel(1);
        let lister = tokio::spawn(list_kind(client, kind, 0, Some("pages".into()), 1, sender));
        let mut events = Vec::new();
        let first = receiver
            .recv()
            .await
            .unwrap_or_else(|| panic!("no first page"));
        events.push(first);
        // A write after the list began, then compaction past it: the
        // list's continue token now points at a compacted revision (410).
        cluster.kubectl_ok(&["create", "configmap", "late", "-n", "pages"]);
        let etcd = cluster.etcd_url();
        let revision = etcd_revision(&etcd);
        let compacted = std::process::Command::new("curl")
            .args([
                "-sf",
                "-X",
                "POST",
                &format!("{etcd}/v3/kv/compaction"),
                "-d",
                &format!(r#"{{"revision":"{revision}","physical":true}}"#),
            ])
            .status()
            .unwrap_or_else(|e| panic!("curl: {e}"));
        assert!(compacted.success());
        while let Some(event) = receiver.recv().await {
            events.push(event);
        }
        let _ = lister.await;
        events
    });
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ListEvent::Restarted { .. })),
        "the server offers a token to continue with: {events:?}"
    );
    // The list goes on after c0 at the latest state: each object once, the
    // one created after the list began too.
    let names: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            ListEvent::Page { page, .. } => Some(
                page.clone()
                    .parse()
                    .unwrap_or_else(|err| panic!("{err}"))
                    .iter()
                    .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        names,
        ["c0", "c1", "c2", "c3", "c4", "c5", "late"],
        "{events:?}"
    );
    match events.last() {
        Some(ListEvent::Finished {
            outcome: Ok(count), ..
        }) => assert_eq!(*count, 7),
        other => panic!("unexpected end {other:?}"),
    }
}

#[test]
fn another_producers_reports_are_never_touched() {
    let cluster = prepared_cluster();
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &policy]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec:\n  containers: [{name: web, image: nginx:latest}]\n",
    );
    let uid = cluster.kubectl_ok(&[
        "get",
        "pod",
        "web",
        "-n",
        "default",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    // Kyverno names its report after the resource's UID too.
    cluster.apply_yaml(&format!(
        "apiVersion: wgpolicyk8s.io/v1alpha2\nkind: PolicyReport\nmetadata:\n  name: {uid}\n  namespace: default\n  labels: {{app.kubernetes.io/managed-by: kyverno}}\nresults:\n- {{policy: kyverno-policy, result: pass, source: kyverno}}\n"
    ));
    let kyverno_before = cluster.kubectl_ok(&["get", "polr", &uid, "-n", "default", "-o", "json"]);

    let output = scan(&cluster, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let ours = format!("polscan-{uid}");
    let written = cluster.kubectl_ok(&["get", "polr", &ours, "-n", "default", "-o", "json"]);
    assert!(written.contains("disallow-latest-tag"), "{written}");
    let kyverno_after = cluster.kubectl_ok(&["get", "polr", &uid, "-n", "default", "-o", "json"]);
    assert_eq!(
        kyverno_before, kyverno_after,
        "the other producer's report changed"
    );

    // With the Pod gone, polscan prunes its own report and leaves Kyverno's.
    cluster.kubectl_ok(&["delete", "pod", "web", "-n", "default"]);
    let output = scan(&cluster, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let names = cluster.kubectl_ok(&["get", "polr", "-n", "default", "-o", "name"]);
    assert!(!names.contains(&ours), "{names}");
    assert!(names.contains(&uid), "{names}");
}

#[test]
fn a_layout_switch_waits_for_a_run_with_every_policy() {
    let cluster = prepared_cluster();
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &policy]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec:\n  containers: [{name: web, image: nginx:latest}]\n",
    );
    let first = scan(&cluster, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let per_resource = reports(&cluster, "policyreports");
    assert_eq!(per_resource.len(), 1);
    // A run that cannot load one policy (a broken file) switches nothing.
    let dir = tempfile_dir();
    let broken = dir.join("broken.yaml");
    std::fs::write(
        &broken,
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: broken}\nspec: {rules: [{name: r, match: {any: nope}}]}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let broken = broken.display().to_string();
    let held = scan(
        &cluster,
        &["--report-per", "namespace", "--policy", &broken],
    );
    let err = stderr(&held);
    assert_eq!(held.status.code(), Some(2), "{err}");
    assert!(err.contains("the switch of report layout waits"), "{err}");
    assert_eq!(written(&held), 0, "{err}");
    let after = reports(&cluster, "policyreports");
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(
        after[0]["metadata"]["labels"]["polscan.io/report-shape"],
        "per-resource"
    );
    // A complete run switches.
    let switched = scan(&cluster, &["--report-per", "namespace"]);
    assert_eq!(switched.status.code(), Some(0), "{}", stderr(&switched));
    let after = reports(&cluster, "policyreports");
    assert!(after
        .iter()
        .all(|r| r["metadata"]["labels"]["polscan.io/report-shape"] == "per-namespace"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Listing starts while the stored reports are still being read: a failure
/// to read them must still fail the scan with nothing written.
#[test]
fn reports_that_cannot_be_read_fail_the_scan_before_any_write() {
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "team"]);
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &policy]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: team}\nspec:\n  containers: [{name: web, image: nginx:latest}]\n",
    );
    // Everything a scan needs, except listing the stored reports.
    cluster.apply_yaml(
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: polscan-limited}
rules:
- apiGroups: ["", apps, batch, apiextensions.k8s.io, kyverno.io, policies.kyverno.io, admissionregistration.k8s.io]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [wgpolicyk8s.io]
  resources: [policyreports, clusterpolicyreports]
  verbs: [get, create, patch, update, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: polscan-limited}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: polscan-limited}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: polscan-limited}
"#,
    );
    let limited = cluster.limited_kubeconfig().display().to_string();
    let output = polscan(&["scan", "--kubeconfig", &limited]);
    let err = stderr(&output);
    assert!(!output.status.success(), "{err}");
    assert!(
        err.contains("cannot list resource \"policyreports\""),
        "{err}"
    );
    assert!(reports(&cluster, "policyreports").is_empty(), "{err}");
}

#[test]
fn without_the_report_crds_only_a_dry_run_scans() {
    let cluster = TestCluster::start();
    cluster.kubectl_ok(&["create", "namespace", "team"]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: team}\nspec:\n  containers: [{name: web, image: nginx:latest}]\n",
    );
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    let args = ["--no-cluster-policies", "--policy", policy.as_str()];
    let output = scan(&cluster, &args);
    let err = stderr(&output);
    assert!(!output.status.success(), "{err}");
    assert!(err.contains("no report API to write to"), "{err}");
    assert!(err.contains("run `polscan install-crds`"), "{err}");

    let mut dry_run = args.to_vec();
    dry_run.push("--dry-run");
    let output = scan(&cluster, &dry_run);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("dry run: nothing written"), "{err}");
}

#[test]
fn a_misspelt_kind_to_include_is_refused_before_anything_is_written() {
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "team"]);
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &policy]);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: team}\nspec:\n  containers: [{name: web, image: nginx:latest}]\n",
    );
    let record = ["--last-run-configmap", "default/polscan-last-run"];
    let first = scan(&cluster, &record);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let before = reports(&cluster, "policyreports");
    assert_eq!(before.len(), 1);

    // A typo would otherwise list nothing under a record saying complete,
    // and the evidence would read the old reports as current.
    let mut args = vec!["--include-kinds", "Pod,Deploymnet"];
    args.extend_from_slice(&record);
    let typo = scan(&cluster, &args);
    let err = stderr(&typo);
    assert_eq!(typo.status.code(), Some(64), "{err}");
    assert!(
        err.contains(
            "--include-kinds Deploymnet: the server serves no such kind (did you mean Deployment?)"
        ),
        "{err}"
    );
    assert_eq!(
        reports(&cluster, "policyreports"),
        before,
        "nothing written"
    );
    let record_data: Value = cluster.config_map("default", "polscan-last-run")["data"].clone();
    // A mistyped command line ran no scan: the last good record stays.
    assert_eq!(record_data["complete"], "true", "{record_data:#}");
    assert!(record_data.get("error").is_none(), "{record_data:#}");

    // A misspelt namespace to scan is refused the same way: a CronJob's
    // typo would otherwise scan nothing there, and exit 0, every run.
    let mut args = vec!["--namespace", "tema"];
    args.extend_from_slice(&record);
    let namespaces = scan(&cluster, &args);
    let err = stderr(&namespaces);
    assert_eq!(namespaces.status.code(), Some(64), "{err}");
    assert!(
        err.contains("--namespace tema: no such namespace in the cluster (did you mean team?)"),
        "{err}"
    );
    assert_eq!(reports(&cluster, "policyreports"), before, "nothing pruned");
    let kept: Value = cluster.config_map("default", "polscan-last-run");
    assert_eq!(kept["data"]["complete"], "true", "{kept:#}");
    assert_eq!(
        kept["data"]["started"], record_data["started"],
        "the record stays"
    );
    // A misspelt exception namespace applies fewer exceptions: said.
    let exceptions = scan(
        &cluster,
        &["--namespace", "team", "--exception-namespace", "kyvrno"],
    );
    let err = stderr(&exceptions);
    assert!(
        err.contains("--exception-namespace kyvrno: no such namespace in the cluster, so no PolicyException is applied"),
        "{err}"
    );
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let out = std::env::temp_dir().join(format!("polscan-typo-evidence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.display().to_string();
    let evidence = polscan(&[
        "evidence",
        "--kubeconfig",
        &kubeconfig,
        "--scan-record",
        "default/polscan-last-run",
        "--namespace",
        "tema",
        "--out",
        &out_text,
    ]);
    let err = stderr(&evidence);
    assert!(
        err.contains("--namespace tema: the reports hold no result in that namespace"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// Kyverno's resourceFilters (its ConfigMap), asked for with
/// --kyverno-config: what Kyverno's admission leaves alone gets no result of
/// a Kyverno policy; a ValidatingAdmissionPolicy (the API server enforces
/// it) is still evaluated there. Without the flag none apply, as Kyverno's
/// reports controller by default.
#[test]
fn kyvernos_resource_filters_are_applied_as_kyverno_applies_them() {
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "team"]);
    cluster.kubectl_ok(&["create", "namespace", "kyverno"]);
    let policy = corpus_root()
        .join("best-practices/disallow-latest-tag/disallow-latest-tag.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &policy]);
    for namespace in ["team", "kube-system"] {
        cluster.apply_yaml(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: {namespace}}}\nspec:\n  containers: [{{name: web, image: nginx:latest}}]\n"
        ));
    }
    let dir = std::env::temp_dir().join(format!("polscan-filters-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let vap = dir.join("vap.yaml");
    std::fs::write(
        &vap,
        polscan_tests::cluster::pinned_images_admission_policy("Deny"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let vap_text = vap.display().to_string();
    let policies_of = |namespace: &str| -> Vec<String> {
        let mut found: Vec<String> = results_by_resource(&cluster)
            .keys()
            .filter(|(kind, ns, name, _, _)| kind == "Pod" && ns == namespace && name == "web")
            .map(|(_, _, _, policy, _)| policy.clone())
            .collect();
        found.sort();
        found.dedup();
        found
    };
    let record = ["--last-run-configmap", "default/polscan-last-run"];

    // No --kyverno-config: no filters, as Kyverno's reports controller.
    let mut args = vec!["--policy", vap_text.as_str()];
    args.extend_from_slice(&record);
    let output = scan(&cluster, &args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        policies_of("kube-system"),
        ["disallow-latest-tag", "pinned-images"]
    );
    // This 1.20 server has no ValidatingAdmissionPolicy API: said at once.
    assert!(
        stderr(&output).contains("ValidatingAdmissionPolicy pinned-images (a --policy file): this cluster does not serve ValidatingAdmissionPolicy"),
        "{}",
        stderr(&output)
    );
    // A ConfigMap named that does not exist stops the scan, writing nothing.
    let mut missing = args.clone();
    missing.extend_from_slice(&["--kyverno-config", "kyverno/kyverno"]);
    let before = reports(&cluster, "policyreports");
    let output = scan(&cluster, &missing);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--kyverno-config: no ConfigMap kyverno/kyverno"),
        "{}",
        stderr(&output)
    );
    assert_eq!(reports(&cluster, "policyreports"), before);

    // Kyverno's chart defaults filter kube-system (and ReplicaSets, ...).
    cluster.apply_yaml(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kyverno, namespace: kyverno}\ndata:\n  resourceFilters: '[Event,*,*][*/*,kube-system,*][*/*,kube-public,*][ReplicaSet,*,*][ReplicaSet/?*,*,*][*/*,kyverno,*]'\n",
    );
    let output = scan(&cluster, &missing);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(policies_of("kube-system"), ["pinned-images"]);
    assert_eq!(
        policies_of("team"),
        ["disallow-latest-tag", "pinned-images"]
    );
    let config_map: Value = cluster.config_map("default", "polscan-last-run");
    assert_eq!(config_map["data"]["resourceFiltersFrom"], "kyverno/kyverno");
    assert_eq!(config_map["data"]["resourceFilters"], "6");

    // Without the flag again: the kube-system results come back.
    let output = scan(&cluster, &args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        policies_of("kube-system"),
        ["disallow-latest-tag", "pinned-images"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server that does not answer: the scan says so, naming it, exits 2
/// and writes nothing — with a record to write too (whose dry-run check is
/// then the first request), where it used to blame the record.
#[test]
fn an_unreachable_server_is_named_as_the_problem() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("polscan-unreachable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"https://127.0.0.1:{port}\", insecure-skip-tls-verify: true}}}}]\nusers: [{{name: u, user: {{token: x}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = kubeconfig.display().to_string();
    for record in [None, Some("polscan-system/last-run")] {
        let mut args = vec!["scan", "--kubeconfig", &kubeconfig];
        if let Some(record) = record {
            args.extend(["--last-run-configmap", record]);
        }
        let out = polscan(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("scanning the cluster at https://127.0.0.1:{port}")),
            "{err}"
        );
        assert!(!err.contains("could not be recorded"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The issue's leak on a real server: a policy on Secrets whose message
/// interpolates `request.object.data`, and a ConfigMap rule whose apiCall
/// reads a Secret. A plain scan leaves the Secret out; the lookup's values
/// are redacted; `--include-kinds Secret` evaluates it, redacted; no stored
/// report holds a value, and the next plain scan keeps the Secret's report.
#[test]
fn no_secret_value_reaches_a_stored_report() {
    let cluster = prepared_cluster();
    // "hunter2-password"
    let password = "aHVudGVyMi1wYXNzd29yZA==";
    cluster.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: vault}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: vault}}\ndata: {{password: {password}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: vault}}\ndata: {{k: v}}\n"
    ));
    // A directory of its own, as the echo test's.
    let dir = std::env::temp_dir().join(format!("polscan-test-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: echo-secret}\nspec:\n  validationFailureAction: Audit\n  background: true\n  rules:\n  - name: echo\n    match: {any: [{resources: {kinds: [Secret], namespaces: [vault]}}]}\n    validate:\n      message: \"data {{ request.object.data }} password {{ base64_decode(request.object.data.password) }}\"\n      deny: {}\n  - name: star\n    match: {any: [{resources: {kinds: [Secret], namespaces: [vault]}}]}\n    validate:\n      message: \"spaced {{ join(' ', split(base64_decode(*.object.data.password | [0]), '')) }}\"\n      deny: {}\n  - name: peek\n    match: {any: [{resources: {kinds: [ConfigMap], names: [app], namespaces: [vault]}}]}\n    context:\n    - name: s\n      apiCall: {urlPath: /api/v1/namespaces/vault/secrets/db}\n    validate:\n      message: \"peeked {{ base64_decode(s.data.password) }}\"\n      deny: {}\n  - name: param\n    match: {any: [{resources: {kinds: [ConfigMap], names: [app], namespaces: [vault]}}]}\n    validate:\n      cel:\n        paramKind: {apiVersion: v1, kind: Secret}\n        paramRef: {name: db, namespace: vault, parameterNotFoundAction: Deny}\n        expressions:\n        - expression: 'false'\n          messageExpression: \"'lowered ' + params.data.password.lowerAscii()\"\n",
    )
    .unwrap_or_else(|e| panic!("write policy: {e}"));
    let leaks = |cluster: &TestCluster| {
        let stored = serde_json::to_string(&reports(cluster, "policyreports")).unwrap_or_default();
        [
            password,
            "hunter2-password",
            "drowssap-2retnuh",
            "h u n t e r 2",
            // Kubernetes' base environment, where validate.cel compiles,
            // has no base64: what the param rule makes of the password.
            "ahvudgvymi1wyxnzd29yza==",
        ]
        .into_iter()
        .filter(|value| stored.contains(value))
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    let result_of = |cluster: &TestCluster, kind: &str| -> Option<Value> {
        namespace_reports(cluster, "vault")
            .into_iter()
            .find(|r| r["scope"]["kind"] == kind)
            .map(|r| r["results"][0].clone())
    };

    let plain = scan_policy(&cluster, &policy, &[]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert!(!stderr(&plain).contains("hunter2-password"));
    assert_eq!(
        result_of(&cluster, "Secret"),
        None,
        "a plain scan left Secrets out"
    );
    let peeked = result_of(&cluster, "ConfigMap").unwrap_or_else(|| panic!("no ConfigMap report"));
    // Built from a Secret a lookup returned: withheld whole.
    assert_eq!(
        peeked["message"],
        "[redacted: Secret data; the policy builds this text from the Secret's data]"
    );
    assert_eq!(peeked["properties"]["polscan.io/redacted"], "secret data");
    // verify31 F1: built from params of paramKind Secret, which the scan
    // read: withheld whole too (the reversed password reached the report).
    let param = namespace_reports(&cluster, "vault")
        .into_iter()
        .filter(|r| r["scope"]["kind"] == "ConfigMap")
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .find(|r| r["rule"] == "param")
        .unwrap_or_else(|| panic!("no result of rule param"));
    assert_eq!(param["result"], "fail", "{param}");
    assert_eq!(
        param["message"],
        "[redacted: Secret data; the policy builds this text from the Secret's data]",
        "{param}"
    );
    assert_eq!(leaks(&cluster), Vec::<String>::new());

    let named = scan_policy(&cluster, &policy, &["--include-kinds", "Secret"]);
    assert!(named.status.success(), "{}", stderr(&named));
    let echoed = result_of(&cluster, "Secret").unwrap_or_else(|| panic!("no Secret report"));
    assert_eq!(echoed["result"], "fail");
    assert!(
        echoed["message"]
            .as_str()
            // In place, or whole: the key `password` is part of the value.
            .is_some_and(|m| m.starts_with("[redacted: Secret data")
                || m.contains("[redacted: Secret data]")),
        "{echoed}"
    );
    // verify37: a path rooted at `*` reaches the Secret's data too.
    let star = namespace_reports(&cluster, "vault")
        .into_iter()
        .filter(|r| r["scope"]["kind"] == "Secret")
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .find(|r| r["rule"] == "star")
        .unwrap_or_else(|| panic!("no result of rule star"));
    assert_eq!(
        star["message"],
        "[redacted: Secret data; the policy builds this text from the Secret's data]",
        "{star}"
    );
    assert_eq!(leaks(&cluster), Vec::<String>::new());
    // The ConfigMap's report stays beside it.
    assert!(result_of(&cluster, "ConfigMap").is_some());

    // A plain scan again keeps the Secret's report (it did not list them).
    let again = scan_policy(&cluster, &policy, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(result_of(&cluster, "Secret").is_some());
    assert_eq!(leaks(&cluster), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

/// verify39 F1–F3 on a real server: substitution evaluates again a `{{ }}`
/// a substitution produced — a Secret's own `type` (the server stores it as
/// written), a ConfigMap value a rule looks up, a string a context variable
/// builds from literals — so each of these put the reversed password in a
/// report. Each message is withheld and its result says why; a rule
/// reading only the name keeps its text.
#[test]
fn a_substituted_template_cannot_reach_a_secret_s_data() {
    let cluster = prepared_cluster();
    // "hunter2-password"
    let password = "aHVudGVyMi1wYXNzd29yZA==";
    let template = "{{ reverse(base64_decode(request.object.data.password)) }}";
    cluster.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: vault}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: vault}}\ntype: \"{template}\"\ndata: {{password: {password}}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: plain, namespace: vault}}\ndata: {{password: {password}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: tpl, namespace: vault}}\ndata: {{x: \"{template}\"}}\n"
    ));
    let dir = std::env::temp_dir().join(format!("polscan-test-resubst-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: resubst}\nspec:\n  validationFailureAction: Audit\n  background: true\n  rules:\n  - name: type\n    match: {any: [{resources: {kinds: [Secret], namespaces: [vault]}}]}\n    validate:\n      message: \"type {{ request.object.type }}\"\n      deny: {}\n  - name: cm\n    match: {any: [{resources: {kinds: [Secret], namespaces: [vault]}}]}\n    context:\n    - name: cm\n      configMap: {name: tpl, namespace: vault}\n    validate:\n      message: \"cm {{ cm.data.x }}\"\n      deny: {}\n  - name: built\n    match: {any: [{resources: {kinds: [Secret], namespaces: [vault]}}]}\n    context:\n    - name: t\n      variable: {jmesPath: \"join('', ['{', '{ reverse(base64_decode(request.object.data.password)) }', '}'])\"}\n    validate:\n      message: \"built {{ t }}\"\n      deny: {}\n  - name: name\n    match: {any: [{resources: {kinds: [Secret], namespaces: [vault]}}]}\n    validate:\n      message: \"name {{ request.object.metadata.name }}\"\n      deny: {}\n",
    )
    .unwrap_or_else(|e| panic!("write policy: {e}"));
    let scanned = scan_policy(&cluster, &policy, &["--include-kinds", "Secret,ConfigMap"]);
    assert!(scanned.status.success(), "{}", stderr(&scanned));
    let stored = serde_json::to_string(&reports(&cluster, "policyreports")).unwrap_or_default();
    for value in [password, "hunter2-password", "drowssap-2retnuh"] {
        assert!(!stored.contains(value), "{value} reached a report");
    }
    let results: Vec<Value> = namespace_reports(&cluster, "vault")
        .into_iter()
        .filter(|r| r["scope"]["kind"] == "Secret")
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .collect();
    let of = |secret: &str, rule: &str| -> Value {
        namespace_reports(&cluster, "vault")
            .into_iter()
            .filter(|r| r["scope"]["kind"] == "Secret" && r["scope"]["name"] == secret)
            .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
            .find(|r| r["rule"] == rule)
            .unwrap_or_else(|| panic!("no result of {rule} on {secret}: {results:?}"))
    };
    let withheld = "[redacted: Secret data; the policy builds this text from the Secret's data]";
    for (secret, rule) in [
        ("db", "type"),
        ("db", "cm"),
        ("plain", "cm"),
        ("plain", "built"),
    ] {
        let result = of(secret, rule);
        assert_eq!(result["message"], withheld, "{secret} {rule}: {result}");
    }
    assert_eq!(
        of("plain", "cm")["properties"]["polscan.io/resubstituted"],
        "true"
    );
    // Nothing substituted again on the ordinary Secret: its text stays.
    assert_eq!(of("plain", "name")["message"], "name plain");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An hour from now, RFC 3339, for the test clock (`POLSCAN_TEST_NOW`).
fn later_than_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let output = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", now + 3600),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .unwrap_or_else(|err| panic!("date: {err}"));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// #17's walkthrough on a real server: a Secret scan with its own record
/// writes a Secret's report holding two policies' results; one policy is
/// deleted; a plain scan (which does not list Secrets, so keeps their
/// reports) rewrites the kept report without the deleted policy's results,
/// as Kyverno's report controller removes them, and keeps the other's.
/// Once no policy with results there is left, the kept report goes.
#[test]
fn a_deleted_policy_s_results_leave_the_reports_a_plain_scan_keeps() {
    let cluster = prepared_cluster();
    let policy = |name: &str, kind: &str, rules: &[&str]| {
        let rules: String = rules
            .iter()
            .map(|rule| {
                format!("  - name: {rule}\n    match: {{any: [{{resources: {{kinds: [{kind}]}}}}]}}\n    validate:\n      message: \"needs a team label\"\n      pattern: {{metadata: {{labels: {{team: \"?*\"}}}}}}\n")
            })
            .collect();
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: {name}}}\nspec:\n  validationFailureAction: Audit\n  background: true\n  rules:\n{rules}---\n")
    };
    cluster.apply_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: team-a}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: polscan-system}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s1, namespace: team-a}}\ndata: {{k: dg==}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c1, namespace: team-a}}\ndata: {{k: v}}\n---\n{}{}{}",
        policy("secret-peek", "Secret", &["peek-one", "peek-two"]),
        policy("secret-team-label", "Secret", &["check-team"]),
        policy("configmap-team-label", "ConfigMap", &["check-team"]),
    ));
    let secret_results = |cluster: &TestCluster| -> Option<Value> {
        namespace_reports(cluster, "team-a")
            .into_iter()
            .find(|r| r["scope"]["kind"] == "Secret")
    };
    let policies_of = |report: &Value| -> Vec<String> {
        report["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["policy"].as_str().map(str::to_string))
            .collect()
    };

    let secrets = scan(
        &cluster,
        &[
            "--include-kinds",
            "Secret",
            "--last-run-configmap",
            "polscan-system/polscan-secrets-run",
        ],
    );
    assert_eq!(secrets.status.code(), Some(0), "{}", stderr(&secrets));
    let report = secret_results(&cluster).unwrap_or_else(|| panic!("no Secret report"));
    assert_eq!(
        policies_of(&report),
        ["secret-peek", "secret-peek", "secret-team-label"]
    );
    assert_eq!(report["summary"]["fail"], 3);

    // A plain scan with the default record at `now` (the test clock; None:
    // the real one); its stderr.
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let plain_scan_at = |now: Option<&str>| {
        let args = [
            "scan",
            "--kubeconfig",
            kubeconfig.as_str(),
            "--last-run-configmap",
            "polscan-system/polscan-last-run",
        ];
        let env: Vec<(&str, &str)> = now
            .map(|now| ("POLSCAN_TEST_NOW", now))
            .into_iter()
            .collect();
        let plain = polscan_tests::cluster::polscan_with_env(&args, &env);
        let said = stderr(&plain);
        assert_eq!(plain.status.code(), Some(0), "{said}");
        said
    };
    cluster.kubectl_ok(&["delete", "clusterpolicy", "secret-peek"]);
    // Right away, the results may be of a policy created after the scan
    // read the policies (another scan running meanwhile wrote them): they
    // stay until they are older than the margin.
    let said = plain_scan_at(None);
    let report = secret_results(&cluster).unwrap_or_else(|| panic!("no Secret report: {said}"));
    assert_eq!(
        policies_of(&report),
        ["secret-peek", "secret-peek", "secret-team-label"],
        "{said}"
    );
    // An hour on, they are a deleted policy's.
    let later = later_than_now();
    let plain_scan = || plain_scan_at(Some(&later));
    let said = plain_scan();
    let report = secret_results(&cluster).unwrap_or_else(|| panic!("no Secret report: {said}"));
    // The existing policy's result stays; the deleted one's are gone, and
    // the summary counts what is left.
    assert_eq!(policies_of(&report), ["secret-team-label"], "{said}");
    assert_eq!(report["summary"]["fail"], 1, "{report}");
    // The one-line summary stays true: the report is kept (not
    // re-evaluated) and was rewritten.
    assert!(
        said.contains("kept 1 reports of kinds this run did not list")
            && said.contains("(1 of them rewritten without the results of deleted policies)")
            && said.contains("removed 2 results of policies no longer in the cluster"),
        "{said}"
    );
    // Nothing left to remove: the next plain scan leaves it as it is.
    let again = plain_scan();
    assert!(!again.contains("removed"), "{again}");
    assert_eq!(secret_results(&cluster), Some(report));

    // The last policy with results on the Secret goes: so does its report,
    // which would otherwise stand for an evaluation no run made.
    cluster.kubectl_ok(&["delete", "clusterpolicy", "secret-team-label"]);
    let said = plain_scan();
    assert_eq!(secret_results(&cluster), None, "{said}");
    assert!(
        said.contains("1 reports that held no other result were deleted")
            && !said.contains("reports of kinds this run did not list (left out"),
        "{said}"
    );
}

/// walk69 W69-1: a scan not given the `--policy` file the last recorded
/// run was given rewrote the reports without that policy's results and
/// said nothing. It now names each policy the last recorded run read and
/// this one did not, with its results then: a deleted one (nothing wrong)
/// and a forgotten file alike.
#[test]
fn a_policy_the_last_recorded_run_read_and_this_one_did_not_is_named() {
    let cluster = prepared_cluster();
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1, namespace: team-a}\ndata: {k: v}\n---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: configmap-team-label}\nspec:\n  validationFailureAction: Audit\n  background: true\n  rules:\n  - name: check-team\n    match: {any: [{resources: {kinds: [ConfigMap]}}]}\n    validate:\n      message: needs a team label\n      pattern: {metadata: {labels: {team: \"?*\"}}}\n",
    );
    let dir = tempfile_dir();
    let file = dir.join("owner.yaml");
    std::fs::write(
        &file,
        "apiVersion: policies.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: {name: configmap-owner}\nspec:\n  validationActions: [Audit]\n  matchConstraints:\n    resourceRules:\n    - apiGroups: [\"\"]\n      apiVersions: [v1]\n      operations: [CREATE, UPDATE]\n      resources: [configmaps]\n  validations:\n  - expression: \"has(object.metadata.labels) && 'owner' in object.metadata.labels\"\n    message: needs an owner label\n",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let file = file.display().to_string();
    let recorded = |extra: &[&str]| {
        let mut args = vec!["--last-run-configmap", "polscan-system/polscan-last-run"];
        args.extend_from_slice(extra);
        let out = scan(&cluster, &args);
        let said = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{said}");
        said
    };
    let policies_in_reports = |cluster: &TestCluster| -> Vec<String> {
        let mut found: Vec<String> = namespace_reports(cluster, "team-a")
            .iter()
            .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| r["policy"].as_str().map(str::to_string))
            .collect();
        found.sort();
        found
    };

    let said = recorded(&["--policy", &file]);
    assert!(!said.contains("not read by this one"), "{said}");
    assert_eq!(
        policies_in_reports(&cluster),
        ["configmap-owner", "configmap-team-label"],
        "{said}"
    );
    // The same run again: nothing is missing.
    let said = recorded(&["--policy", &file]);
    assert!(!said.contains("not read by this one"), "{said}");

    // The file forgotten: its results leave the rewritten report, and the
    // scan says which policy and how many results.
    let said = recorded(&[]);
    assert_eq!(
        policies_in_reports(&cluster),
        ["configmap-team-label"],
        "{said}"
    );
    assert!(
        said.contains("note: 1 policy the last recorded run read was not read by this one: ValidatingPolicy configmap-owner (")
            && said.contains("give it to every scan"),
        "{said}"
    );
    // Said once: the next run's last recorded run did not read it either.
    let said = recorded(&[]);
    assert!(!said.contains("not read by this one"), "{said}");

    // A policy deleted from the cluster is named the same way.
    cluster.kubectl_ok(&["delete", "clusterpolicy", "configmap-team-label"]);
    let said = recorded(&["--policy", &file]);
    assert!(
        said.contains("not read by this one: ClusterPolicy configmap-team-label ("),
        "{said}"
    );
}

/// walk28 F15: a `--policy` file of a ClusterPolicy the cluster also holds
/// was evaluated beside the cluster's: two results per rule under one
/// name, a pass and a fail, in one report. The cluster's is used, and the
/// scan says the file's was left out.
#[test]
fn a_policy_file_the_cluster_also_holds_is_evaluated_once() {
    let cluster = prepared_cluster();
    let policy = |label: &str| {
        format!(
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: twice}}\nspec:\n  validationFailureAction: Audit\n  background: true\n  rules:\n  - name: label\n    match: {{any: [{{resources: {{kinds: [ConfigMap], namespaces: [twice]}}}}]}}\n    validate:\n      message: need {label}\n      pattern: {{metadata: {{labels: {{{label}: \"?*\"}}}}}}\n"
        )
    };
    cluster.kubectl_ok(&["create", "namespace", "twice"]);
    cluster.apply_yaml(&policy("team"));
    cluster.apply_yaml(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: twice, labels: {team: a}}\ndata: {k: v}\n",
    );
    let dir = tempfile_dir().join("twice");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("twice.yaml");
    std::fs::write(&file, policy("owner")).unwrap_or_else(|e| panic!("{e}"));
    let file = file.display().to_string();
    let output = scan(
        &cluster,
        &[
            "--policy",
            &file,
            "--namespace",
            "twice",
            "--dry-run",
            "-o",
            "json",
        ],
    );
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("ClusterPolicy twice is both in the cluster and in --policy file"),
        "{err}"
    );
    let list: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    let results: Vec<Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["scope"]["name"] == "app")
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["policy"] == "twice")
        .collect();
    // The cluster's rule (team, present): one pass.
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["result"], "pass", "{results:?}");
}

/// walk49 W49-7: a scan of file policies that leaves the cluster's out
/// (`--no-cluster-policies`) in a cluster that has policies prunes none of
/// the main scan's reports, and a report it rewrites keeps their results.
#[test]
fn a_scan_leaving_the_cluster_s_policies_out_keeps_their_reports() {
    let cluster = prepared_cluster();
    cluster.kubectl_ok(&["create", "namespace", "web"]);
    for name in ["a", "b"] {
        cluster.kubectl_ok(&["create", "configmap", name, "-n", "web"]);
    }
    let policy = |name: &str, kind: &str, label: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: {name}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: r\n    match:\n      any:\n      - resources:\n          kinds: [{kind}]\n    validate:\n      message: m\n      pattern:\n        metadata:\n          labels:\n            {label}: \"?*\"\n")
    };
    cluster.apply_yaml(&policy("cm-team", "ConfigMap", "team"));
    let main = scan(&cluster, &["-n", "web"]);
    assert_eq!(main.status.code(), Some(0), "{}", stderr(&main));
    let before = policy_rule_results(&namespace_reports(&cluster, "web"));
    assert_eq!(before.len(), 2, "{before:?}");

    let dir = tempfile_dir();
    // On Secrets only: ConfigMaps are no kind of this run's.
    let secrets = dir.join("secrets.yaml");
    std::fs::write(&secrets, policy("secret-owner", "Secret", "owner")).expect("write");
    let ran = scan_policy(&cluster, &secrets, &["-n", "web"]);
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
    assert_eq!(
        policy_rule_results(&namespace_reports(&cluster, "web")),
        before,
        "{}",
        stderr(&ran)
    );
    assert!(
        stderr(&ran).contains("no report was pruned"),
        "{}",
        stderr(&ran)
    );

    // On ConfigMaps: the reports are rewritten with both policies' results.
    let owners = dir.join("owners.yaml");
    std::fs::write(&owners, policy("cm-owner", "ConfigMap", "owner")).expect("write");
    let ran = scan_policy(&cluster, &owners, &["-n", "web"]);
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
    let after = policy_rule_results(&namespace_reports(&cluster, "web"));
    assert_eq!(after.len(), 4, "{after:?}\n{}", stderr(&ran));
    assert!(before.iter().all(|r| after.contains(r)), "{after:?}");
    let _ = std::fs::remove_dir_all(dir);
}
