//! A scan split into shards (`--shard I/N`) on a real kube-apiserver +
//! etcd, with a ClusterPolicy on Pods, one on Namespaces (cluster-scoped
//! objects), a namespaced Policy, a ValidatingPolicy and a
//! ValidatingAdmissionPolicy (a `--policy` file: the 1.20 server serves
//! none). Three shards leave exactly the reports one unsharded scan would;
//! a shard that did not run leaves its partition's reports as they were,
//! and the evidence calls the run incomplete, naming it; going from three
//! shards to two converges with no report orphaned.

use std::collections::BTreeMap;

use polscan_tests::cluster::{
    evidence_package, pinned_images_admission_policy, polscan, summary_count, written, TestCluster,
    NO_HOST_NETWORK_VALIDATING_POLICY, REQUIRE_APP_LABEL_CLUSTER_POLICY,
};
use serde_json::Value;

const POLICIES: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: namespaces-name-a-team}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: check-team
    match: {any: [{resources: {kinds: [Namespace]}}]}
    validate:
      message: "a namespace names its team"
      pattern: {metadata: {labels: {team: "?*"}}}
---
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: team-0-owner, namespace: team-0}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: check-owner
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: "team-0 Pods name their owner"
      pattern: {metadata: {labels: {owner: "?*"}}}
"#;

const NAMESPACES: usize = 8;

struct Setup {
    cluster: TestCluster,
    kubeconfig: String,
    vap: String,
    dir: std::path::PathBuf,
}

fn setup() -> Setup {
    let cluster = TestCluster::start_prepared();
    for i in 0..NAMESPACES {
        let labels = if i % 2 == 0 { "{team: t}" } else { "{}" };
        cluster.apply_yaml(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: team-{i}, labels: {labels}}}\n"
        ));
        cluster.apply_yaml(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: good, namespace: team-{i}, labels: {{app: a, owner: o}}}}\nspec: {{containers: [{{name: c, image: 'nginx:1.27'}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: bad, namespace: team-{i}}}\nspec: {{containers: [{{name: c, image: 'nginx:latest'}}]}}\n"
        ));
    }
    cluster.apply_yaml(REQUIRE_APP_LABEL_CLUSTER_POLICY);
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml(NO_HOST_NETWORK_VALIDATING_POLICY);
    let dir = std::env::temp_dir().join(format!("polscan-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let vap = dir.join("vap.yaml");
    std::fs::write(&vap, pinned_images_admission_policy("Audit")).unwrap_or_else(|e| panic!("{e}"));
    Setup {
        kubeconfig: cluster.kubeconfig().display().to_string(),
        vap: vap.display().to_string(),
        cluster,
        dir,
    }
}

impl Setup {
    /// The shards `indexes` of a run split `count` ways, run at once (as
    /// an Indexed Job runs them); each must exit 0. Returns each one's
    /// `written N` and `deleted N`.
    fn shards(&self, indexes: &[u32], count: u32, run_id: &str) -> Vec<(usize, usize)> {
        let runs: Vec<_> = indexes
            .iter()
            .map(|index| {
                let (kubeconfig, vap) = (self.kubeconfig.clone(), self.vap.clone());
                let (shard, run_id) = (format!("{index}/{count}"), run_id.to_string());
                std::thread::spawn(move || shard_scan(&kubeconfig, &vap, &shard, &run_id, &[]))
            })
            .collect();
        runs.into_iter()
            .map(|run| {
                let out = run
                    .join()
                    .unwrap_or_else(|_| panic!("a shard's thread panicked"));
                let err = String::from_utf8_lossy(&out.stderr).into_owned();
                assert_eq!(out.status.code(), Some(0), "{err}");
                (written(&err), summary_count(&err, ", deleted "))
            })
            .collect()
    }

    /// One shard's scan (`I/N`), recorded under `run_id`, with `extra`
    /// arguments.
    fn shard(&self, shard: &str, run_id: &str, extra: &[&str]) -> std::process::Output {
        shard_scan(&self.kubeconfig, &self.vap, shard, run_id, extra)
    }

    /// What one unsharded scan would leave: its dry run's reports.
    fn unsharded(&self) -> BTreeMap<String, Vec<String>> {
        let out = polscan(&[
            "scan",
            "--kubeconfig",
            &self.kubeconfig,
            "--policy",
            &self.vap,
            "--dry-run",
            "-o",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        shape(list["items"].as_array().cloned().unwrap_or_default())
    }

    /// The reports in the cluster.
    fn stored(&self) -> BTreeMap<String, Vec<String>> {
        let mut items = Vec::new();
        for kind in ["policyreports", "clusterpolicyreports"] {
            let text = self.cluster.kubectl_ok(&["get", kind, "-A", "-o", "json"]);
            let list: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
            items.extend(list["items"].as_array().cloned().unwrap_or_default());
        }
        shape(items)
    }

    /// `polscan evidence` over the shards' records: evidence.json and
    /// evidence.md.
    fn evidence(&self, name: &str) -> (Value, String) {
        evidence_package(&self.kubeconfig, "default/last-run", &self.dir.join(name))
    }
}

/// Reports by `kind namespace/name`: their scope and results (policy,
/// rule, result, message), sorted — what a reader of the reports sees,
/// without timestamps.
fn shard_scan(
    kubeconfig: &str,
    vap: &str,
    shard: &str,
    run_id: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "scan",
        "--kubeconfig",
        kubeconfig,
        "--policy",
        vap,
        "--shard",
        shard,
        "--run-id",
        run_id,
        "--last-run-configmap",
        "default/last-run",
        "-o",
        "summary",
    ];
    args.extend(extra);
    polscan(&args)
}

fn shape(reports: Vec<Value>) -> BTreeMap<String, Vec<String>> {
    reports
        .into_iter()
        .filter(|r| r["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "polscan")
        .map(|r| {
            let key = format!(
                "{} {}/{}",
                r["kind"].as_str().unwrap_or_default(),
                r["metadata"]["namespace"].as_str().unwrap_or_default(),
                r["metadata"]["name"].as_str().unwrap_or_default()
            );
            let mut results: Vec<String> = r["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    format!(
                        "{} {} {} {}",
                        x["policy"], x["rule"], x["result"], x["message"]
                    )
                })
                .collect();
            results.sort();
            let scope = &r["scope"];
            results.insert(
                0,
                format!(
                    "scope {} {}/{} {}",
                    scope["kind"], scope["namespace"], scope["name"], scope["uid"]
                ),
            );
            (key, results)
        })
        .collect()
}

/// A namespace of the test that shard `index` of `count` owns.
fn owned_by(index: u32, count: u32) -> String {
    (0..NAMESPACES)
        .map(|i| format!("team-{i}"))
        .find(|n| polscan::scan::shard::Shard::of_key(n, count) == index)
        .unwrap_or_else(|| panic!("no test namespace in shard {index}/{count}"))
}

fn bad_pod_report(stored: &BTreeMap<String, Vec<String>>, namespace: &str) -> bool {
    stored.iter().any(|(key, results)| {
        key.starts_with(&format!("PolicyReport {namespace}/")) && results[0].contains("/\"bad\" ")
    })
}

#[test]
fn shards_leave_the_reports_of_one_scan_and_a_missing_shard_is_named() {
    let setup = setup();

    // Three shards at once: together, exactly one unsharded scan's reports,
    // each written by one shard only.
    let written: Vec<usize> = setup
        .shards(&[0, 1, 2], 3, "run-1")
        .iter()
        .map(|w| w.0)
        .collect();
    let stored = setup.stored();
    let expected = setup.unsharded();
    assert_eq!(stored, expected);
    // 8 namespaces × 2 Pods, 8 Namespaces with a result (and the others
    // the policies do not reach): every report written once.
    assert_eq!(written.iter().sum::<usize>(), expected.len(), "{written:?}");
    assert!(
        written.iter().all(|n| *n > 0),
        "every shard has work: {written:?}"
    );
    assert!(
        expected
            .keys()
            .any(|k| k.starts_with("ClusterPolicyReport")),
        "cluster-scoped objects are sharded too: {:?}",
        expected.keys()
    );
    for index in 0..3 {
        let record = setup
            .cluster
            .config_map("default", &format!("last-run-{index}"));
        assert_eq!(record["data"]["shard"], format!("{index}/3"), "{record:#}");
        assert_eq!(record["data"]["runId"], "run-1");
        assert_eq!(record["data"]["complete"], "true");
    }
    let (evidence, md) = setup.evidence("ev1");
    assert!(
        md.contains("reports written to wgpolicyk8s.io/v1alpha2"),
        "{md}"
    );
    let scan = &evidence["scan"];
    assert_eq!(scan["complete"], true, "{scan:#}");
    assert_eq!(scan["shards"]["count"], 3);
    assert_eq!(scan["shards"]["recorded"], serde_json::json!([0, 1, 2]));
    // Each shard counts the objects of its partition: together, the
    // cluster's (Namespaces are cluster-scoped, listed by every shard).
    for (kind, resource) in [("Pod", "pods"), ("Namespace", "namespaces")] {
        let text = setup
            .cluster
            .kubectl_ok(&["get", resource, "-A", "-o", "name"]);
        assert_eq!(
            scan["objectsByKind"][kind],
            text.lines().count(),
            "{kind}: {scan:#}"
        );
    }

    // Fixes in two shards' namespaces; only shards 0 and 2 of the next run
    // run (shard 1's pod never started, or was killed before it recorded).
    let (in_0, in_1) = (owned_by(0, 3), owned_by(1, 3));
    for namespace in [&in_0, &in_1] {
        setup
            .cluster
            .kubectl_ok(&["delete", "pod", "bad", "-n", namespace, "--wait=false"]);
    }
    let before = setup.stored();
    let done = setup.shards(&[0, 2], 3, "run-2");
    // Only the deleted Pod's report in shard 0's namespace goes: nothing
    // of shard 1's partition (nor the other shard's) is touched.
    assert_eq!(done.iter().map(|d| d.1).sum::<usize>(), 1, "{done:?}");
    let stored = setup.stored();
    for (key, results) in &before {
        let namespace = key
            .split(' ')
            .nth(1)
            .and_then(|k| k.split('/').next())
            .unwrap_or("");
        if !namespace.is_empty() && polscan::scan::shard::Shard::of_key(namespace, 3) == 1 {
            assert_eq!(
                stored.get(key),
                Some(results),
                "shard 1's {key} stays as it was"
            );
        }
    }
    assert!(
        !bad_pod_report(&stored, &in_0),
        "shard 0 pruned its deleted Pod's report"
    );
    assert!(
        bad_pod_report(&stored, &in_1),
        "shard 1 did not run: its partition's reports stay as they were"
    );
    let (evidence, md) = setup.evidence("ev2");
    let scan = &evidence["scan"];
    assert_eq!(scan["complete"], false, "{scan:#}");
    assert_eq!(scan["shards"]["recorded"], serde_json::json!([0, 2]));
    assert!(
        md.contains("shard(s) 1 of 3")
            && md.contains("shard 1/3: its record is of another run (run-1"),
        "{md}"
    );
    let verdicts: BTreeMap<String, String> = evidence["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["verdict"].to_string(),
            )
        })
        .collect();
    // A cluster-wide policy reaches shard 1's namespaces: not ready. The
    // namespaced Policy is judged on its own namespace's shard: ready
    // only when that shard ran and nothing there violates it any more.
    for policy in [
        "require-app-label",
        "namespaces-name-a-team",
        "no-host-network",
        "pinned-images",
    ] {
        assert_eq!(verdicts[policy], "\"not-ready\"", "{policy}: {verdicts:?}");
    }
    let team_0_clean = polscan::scan::shard::Shard::of_key("team-0", 3) != 1 && in_0 == "team-0";
    assert_eq!(
        verdicts["team-0-owner"],
        if team_0_clean {
            "\"ready\""
        } else {
            "\"not-ready\""
        },
        "{verdicts:?}"
    );

    // Split two ways from now on: the two shards converge on one scan's
    // reports (the old shard 1's stale report goes to whichever owns it
    // now), and the old third record is not taken for this run.
    let written: Vec<usize> = setup
        .shards(&[0, 1], 2, "run-3")
        .iter()
        .map(|w| w.0)
        .collect();
    let stored = setup.stored();
    assert_eq!(stored, setup.unsharded());
    assert!(!bad_pod_report(&stored, &in_1));
    assert!(
        written.iter().sum::<usize>() < stored.len(),
        "unchanged reports are not rewritten"
    );
    // A shard that would record without a run id is refused: its record
    // could never count towards a complete run.
    let kubeconfig = setup.kubeconfig.clone();
    let refused = polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--policy",
        &setup.vap,
        "--shard",
        "0/2",
        "--last-run-configmap",
        "default/last-run",
    ]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(64), "{err}");
    assert!(err.contains("needs --run-id"), "{err}");
    // So are an empty run id, and shards of a long-running scanner (every
    // run would share one id).
    for (extra, said) in [
        (["--run-id", " "], "--run-id (or POLSCAN_RUN_ID) is empty"),
        (["--interval", "1h"], "--shard 0/2 with --interval"),
    ] {
        let mut args = vec![
            "scan",
            "--kubeconfig",
            &kubeconfig,
            "--shard",
            "0/2",
            "--last-run-configmap",
            "default/last-run",
        ];
        args.extend(extra);
        if extra[0] == "--interval" {
            args.extend(["--run-id", "r"]);
        }
        let refused = polscan(&args);
        let err = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(64), "{err}");
        assert!(err.contains(said), "{err}");
    }
    let (evidence, _) = setup.evidence("ev3");
    assert_eq!(evidence["scan"]["complete"], true, "{:#}", evidence["scan"]);
    assert_eq!(evidence["scan"]["shards"]["count"], 2);

    // A policy created between the shards' reads: only shard 1 evaluated
    // it. Shard 1's partition is clean of it (its bad Pods gone), so its
    // results alone would make it look ready; it is not: shard 0, whose
    // bad Pods violate it, never evaluated it.
    for i in 0..NAMESPACES {
        let namespace = format!("team-{i}");
        if polscan::scan::shard::Shard::of_key(&namespace, 2) == 1 {
            setup.cluster.kubectl_ok(&[
                "delete",
                "pod",
                "bad",
                "-n",
                &namespace,
                "--ignore-not-found",
                "--wait=false",
            ]);
        }
    }
    setup.shards(&[0], 2, "run-4");
    setup.cluster.apply_yaml(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: require-tier}\nspec:\n  validationFailureAction: Audit\n  background: true\n  rules:\n  - name: check-tier\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate:\n      message: \"Pods name their app\"\n      pattern: {metadata: {labels: {app: \"?*\"}}}\n",
    );
    setup.shards(&[1], 2, "run-4");
    let (evidence, _) = setup.evidence("ev4");
    assert_eq!(evidence["scan"]["complete"], true, "{:#}", evidence["scan"]);
    let tier = evidence["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "require-tier")
        .unwrap_or_else(|| panic!("{evidence:#}"));
    assert_eq!(
        tier["counts"]["fail"], 0,
        "shard 1's results alone: {tier:#}"
    );
    assert!(tier["counts"]["pass"].as_u64().unwrap_or(0) > 0, "{tier:#}");
    assert_eq!(tier["verdict"], "not-ready", "{tier:#}");

    // Two runs of shard 0 overlapped and the one that started later
    // recorded first: the earlier one, ending now, leaves that record.
    setup.cluster.kubectl_ok(&[
        "patch",
        "configmap",
        "last-run-0",
        "-n",
        "default",
        "--type",
        "merge",
        "-p",
        r#"{"data": {"started": "2999-01-01T00:00:00Z", "runId": "run-later"}}"#,
    ]);
    // Its own run is not recorded: exit 2, as for any unrecorded run,
    // said once.
    let late = setup.shard("0/2", "run-5", &[]);
    let err = String::from_utf8_lossy(&late.stderr);
    assert_eq!(late.status.code(), Some(2), "{err}");
    assert_eq!(
        err.matches("holds the record of a run that started later (2999-01-01T00:00:00Z")
            .count(),
        1,
        "{err}"
    );
    let record = setup.cluster.config_map("default", "last-run-0");
    assert_eq!(record["data"]["runId"], "run-later", "{record:#}");

    // One shard of a run given other options (it left Pods out): the run
    // is not one scan, and no Pod policy is ready on it. (The record from
    // 2999 goes first: it would stay.)
    setup
        .cluster
        .kubectl_ok(&["delete", "configmap", "last-run-0", "-n", "default"]);
    for (shard, extra) in [("0/2", &[][..]), ("1/2", &["--exclude-kinds", "Pod"][..])] {
        let out = setup.shard(shard, "run-6", extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
    }
    let record = setup.cluster.config_map("default", "last-run-0");
    assert_eq!(record["data"]["runId"], "run-6", "{record:#}");
    let (evidence, md) = setup.evidence("ev5");
    let scan = &evidence["scan"];
    assert_eq!(scan["complete"], false, "{scan:#}");
    assert_eq!(
        scan["shards"]["mismatched"],
        serde_json::json!(["--exclude-kinds (shard 0/2: none; shard 1/2: Pod)"]),
        "{scan:#}"
    );
    assert!(scan["objectsByKind"].get("Pod").is_none(), "{scan:#}");
    assert!(md.contains("given different options"), "{md}");
    let app = evidence["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "require-app-label")
        .unwrap_or_else(|| panic!("{evidence:#}"));
    assert_ne!(app["verdict"], "ready", "{app:#}");
    let reasons = app["reasons"].to_string();
    assert!(reasons.contains("given different options"), "{reasons}");

    // A run id given to two runs: shard 0 runs again under the id of a
    // complete run, whose shard 1 record is then of the earlier run.
    for shard in ["0/2", "1/2", "0/2"] {
        let out = setup.shard(shard, "run-7", &[]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let (evidence, _) = setup.evidence("ev7");
    let scan = &evidence["scan"];
    assert_eq!(scan["complete"], false, "{scan:#}");
    assert!(
        scan["shards"]["reusedRunId"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("shard 0/2 replaced a complete record of the same id")),
        "{scan:#}"
    );

    // One shard's record named on its own is part of a run, not a run.
    let (evidence, _) = evidence_package(
        &setup.kubeconfig,
        "default/last-run-0",
        &setup.dir.join("ev6"),
    );
    let scan = &evidence["scan"];
    assert_eq!(scan["complete"], false, "{scan:#}");
    assert_eq!(
        scan["shards"]["recorded"],
        serde_json::json!([0]),
        "{scan:#}"
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}
