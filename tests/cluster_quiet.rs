//! Failures and scale on a real kube-apiserver + etcd (issue #17): many
//! writes refused alike are said in a few lines, with the cause and the
//! count; and a namespace of 3,000 Pods gives per-namespace report parts
//! that each stay under 1 MiB, that a rescan with nothing changed leaves
//! as they are, and in which a message echoing a large field is cut, not
//! refused by the server.

#![allow(clippy::expect_used)] // test code: a failed expectation is a failed test

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use polscan_tests::cluster::{polscan, TestCluster, TEAM_LABEL_AND_LATEST_TAG_POLICIES};
use serde_json::Value;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("polscan-quiet-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// Creates the objects of `items` through `workers` kubectl processes at
/// once (each `kubectl create -f` of a List sends one request per item).
fn create_in_parallel(
    cluster: &TestCluster,
    dir: &std::path::Path,
    items: Vec<Value>,
    workers: usize,
) {
    let chunk = items.len().div_ceil(workers.max(1)).max(1);
    let mut children = Vec::new();
    for (i, part) in items.chunks(chunk).enumerate() {
        let path = dir.join(format!("objects-{i}.json"));
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": part});
        std::fs::write(&path, list.to_string()).expect("writing the objects");
        let child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig())
            .args(["create", "-o", "name", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running kubectl");
        children.push(child);
    }
    for child in children {
        let output = child.wait_with_output().expect("waiting for kubectl");
        assert!(
            output.status.success(),
            "kubectl create: {}",
            stderr(&output)
        );
    }
}

/// A ClusterRole for `polscan-limited` that reads what a scan of Pods
/// needs, and polscan's reports, but may not write any report.
const READ_ONLY_ROLE: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: polscan-read-only}
rules:
- apiGroups: [""]
  resources: [pods, namespaces]
  verbs: [get, list]
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list]
- apiGroups: [wgpolicyk8s.io]
  resources: [policyreports, clusterpolicyreports]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: polscan-read-only}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: polscan-read-only}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: polscan-limited}
"#;

/// `polscan scan` of the Pods only, with the policies in the file
/// `policy`, in report layout `layout` (`--report-per`), `-o summary`.
fn scan_pods(kubeconfig: &str, policy: &str, layout: &str, more: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        "--kubeconfig",
        kubeconfig,
        "--no-cluster-policies",
        "--policy",
        policy,
        "--include-kinds",
        "Pod",
        "--report-per",
        layout,
        "-o",
        "summary",
    ];
    args.extend_from_slice(more);
    polscan(&args)
}

fn pod(namespace: &str, name: &str, annotations: Value) -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}
    })
}

#[test]
fn writes_refused_in_200_namespaces_are_said_in_a_few_lines() {
    let cluster = TestCluster::start_prepared();
    let dir = temp_dir("refused");
    let namespaces = 200;
    let mut items = Vec::new();
    for i in 0..namespaces {
        items.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("team-{i:03}")}
        }));
    }
    create_in_parallel(&cluster, &dir, items, 1);
    let pods = (0..namespaces)
        .map(|i| pod(&format!("team-{i:03}"), "web", serde_json::json!({})))
        .collect();
    create_in_parallel(&cluster, &dir, pods, 4);
    cluster.apply_yaml(READ_ONLY_ROLE);
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, TEAM_LABEL_AND_LATEST_TAG_POLICIES).expect("writing the policy");
    let policy = policy.display().to_string();
    let limited = cluster.limited_kubeconfig().display().to_string();

    let scan = |layout: &str, more: &[&str]| scan_pods(&limited, &policy, layout, more);
    for layout in ["resource", "namespace"] {
        let output = scan(layout, &[]);
        let err = stderr(&output);
        eprintln!("--report-per {layout}, stderr:\n{err}");
        assert_eq!(output.status.code(), Some(2), "{layout}: {err}");
        // One line for the 200 refused writes, naming the cause, the count
        // and the first object, where there was a line per report.
        assert!(
            err.lines().count() < 15,
            "{layout}: {} lines:\n{err}",
            err.lines().count()
        );
        let said = err
            .lines()
            .find(|l| l.contains("applying 200 PolicyReports failed: Forbidden (403)"))
            .unwrap_or_else(|| panic!("{layout}: no line for the refused writes:\n{err}"));
        assert!(
            said.contains("(first: applying PolicyReport team-")
                && said.contains("polscan-limited"),
            "{layout}: {said}"
        );
        assert!(
            err.contains("200 reports could not be written or deleted"),
            "{layout}: {err}"
        );
        // -v names each refused write (as a debug log line).
        let verbose = scan(layout, &["-v"]);
        let verbose = stderr(&verbose);
        let logged = verbose
            .lines()
            .filter(|l| l.contains("write or delete failed") && l.contains("Forbidden"))
            .count();
        assert_eq!(logged, 200, "{layout}: {verbose:.2000}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A policy of five rules on Pods whose messages echo the Pod's `note`
/// annotation, so that each result is about as large as a message may be.
fn echo_policy() -> String {
    let mut rules = String::new();
    for rule in 0..5 {
        rules.push_str(&format!(
            "  - name: needs-team-{rule}\n    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}\n    validate:\n      message: \"rule {rule}: {{{{request.object.metadata.annotations.note}}}}\"\n      pattern: {{metadata: {{labels: {{team: '?*'}}}}}}\n"
        ));
    }
    format!(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: echo-note}}\nspec:\n  background: true\n  rules:\n{rules}"
    )
}

/// name → resourceVersion of the PolicyReports in `namespace`, and the
/// reports themselves.
fn parts(cluster: &TestCluster, namespace: &str) -> (BTreeMap<String, String>, Vec<Value>) {
    let text = cluster.kubectl_ok(&["get", "policyreports", "-n", namespace, "-o", "json"]);
    let list: Value = serde_json::from_str(&text).expect("a report list");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let versions = items
        .iter()
        .map(|r| {
            (
                r["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    (versions, items)
}

#[test]
fn per_namespace_parts_of_3000_pods_fit_and_a_rescan_writes_none() {
    let started = Instant::now();
    let cluster = TestCluster::start_prepared();
    cluster.kubectl_ok(&["create", "namespace", "bulk"]);
    let dir = temp_dir("bulk");
    let note = "n".repeat(1800);
    let mut pods: Vec<Value> = (0..3000)
        .map(|i| {
            pod(
                "bulk",
                &format!("web-{i:04}"),
                serde_json::json!({"note": note}),
            )
        })
        .collect();
    // One Pod whose messages would echo 200 kB each: cut, not refused.
    pods.push(pod(
        "bulk",
        "echo",
        serde_json::json!({"note": "z".repeat(200_000)}),
    ));
    create_in_parallel(&cluster, &dir, pods, 4);
    let created = started.elapsed();
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, echo_policy()).expect("writing the policy");
    let policy = policy.display().to_string();
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let scan = || scan_pods(&kubeconfig, &policy, "namespace", &[]);

    let first = scan();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let (before, reports) = parts(&cluster, "bulk");
    // 3,001 Pods × 5 results of about 2 KiB: tens of MiB, in many parts.
    assert!(reports.len() >= 20, "{} parts", reports.len());
    assert_eq!(
        polscan_tests::cluster::written(&stderr(&first)),
        reports.len(),
        "{}",
        stderr(&first)
    );
    let mut results = 0;
    let mut echoed = 0;
    for report in &reports {
        let name = report["metadata"]["name"].as_str().unwrap_or_default();
        let size = serde_json::to_vec(report).map_or(usize::MAX, |b| b.len());
        assert!(size <= 1024 * 1024, "{name} is stored at {size} bytes");
        assert_eq!(
            report["metadata"]["labels"]["polscan.io/report-shape"],
            "per-namespace"
        );
        for result in report["results"].as_array().into_iter().flatten() {
            results += 1;
            let message = result["message"].as_str().unwrap_or_default();
            assert!(message.len() <= 2048, "{name}: {} bytes", message.len());
            if result["resources"][0]["name"] == "echo" {
                echoed += 1;
                assert!(
                    message.contains("rule ") && message.contains(": zzz"),
                    "{message:.80}"
                );
                assert!(
                    message.contains("… (truncated, 200") && message.ends_with(" bytes)"),
                    "{}",
                    &message[message.len().saturating_sub(60)..]
                );
            }
        }
    }
    assert_eq!(results, 3001 * 5);
    assert_eq!(echoed, 5);

    // Nothing changed: no part is written again.
    let again = scan();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        polscan_tests::cluster::written(&stderr(&again)),
        0,
        "{}",
        stderr(&again)
    );
    let (after, _) = parts(&cluster, "bulk");
    assert_eq!(before, after, "a rescan with nothing changed rewrote parts");
    eprintln!(
        "3,001 Pods created in {:.1}s, {} parts; the test took {:.1}s",
        created.as_secs_f64(),
        after.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(dir);
}
