//! The soak on a real kube-apiserver + etcd: recorded scans at faked
//! times (`POLSCAN_TEST_NOW`, for tests only) append to the soak history
//! beside the last-run record, and `polscan evidence` (default
//! `--min-soak 7d --min-scans 2`) keeps a clean policy waiting until it
//! has been clean that long, restarts the wait when its rules change, and
//! never makes a violating policy ready. Shards of one run append to the
//! one history at once.

#![allow(clippy::expect_used)] // test code: a failed expectation is a failed test

use std::path::Path;
use std::process::Output;

use polscan_tests::cluster::{
    polscan_with_env, recorded_scan, TestCluster, TEAM_LABEL_AND_LATEST_TAG_POLICIES,
};
use serde_json::Value;

const POLICIES: &str = TEAM_LABEL_AND_LATEST_TAG_POLICIES;

/// Day `n` of the test, in the future: the server's own times (the
/// policies' and reports' changes) are all before it, as they would be
/// for scans really days apart.
fn day(n: u32) -> String {
    format!("2030-01-{:02}T00:00:00Z", n + 1)
}

fn polscan_at(now: &str, args: &[&str]) -> Output {
    polscan_with_env(args, &[("POLSCAN_TEST_NOW", now)])
}

/// A recorded scan at `now`, which must append to the soak history
/// without a warning.
fn scan_at(cluster: &TestCluster, now: &str, extra: &[&str]) {
    let stderr = recorded_scan(cluster, extra, &[("POLSCAN_TEST_NOW", now)]);
    assert!(!stderr.contains("soak history"), "{stderr}");
}

/// The package of `polscan evidence` at `now` (the default soak rule)
/// with `extra` arguments, and its exit code.
fn evidence_at(
    cluster: &TestCluster,
    now: &str,
    out: &Path,
    extra: &[&str],
) -> (Value, Option<i32>) {
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let out_text = out.display().to_string();
    let mut args = vec![
        "evidence",
        "--kubeconfig",
        &kubeconfig,
        "--out",
        &out_text,
        "-q",
    ];
    args.extend_from_slice(extra);
    let ran = polscan_at(now, &args);
    let json = std::fs::read(out.join("evidence.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| panic!("no package: {}", String::from_utf8_lossy(&ran.stderr)));
    (json, ran.status.code())
}

/// Whether the clean policy is ready: `--require-ready` for it alone.
const READY: [&str; 3] = ["--require-ready", "--policy", "require-team-label"];

/// The soak history's spans by policy.
fn history_of(cluster: &TestCluster) -> Value {
    cluster.config_map_json(
        "polscan-system",
        "polscan-last-run-history",
        "policies.json",
    )
}

fn policy<'a>(evidence: &'a Value, name: &str) -> &'a Value {
    polscan_tests::cluster::package_policy(evidence, name)
}

/// A cluster with the namespaces `shop` and `polscan-system` and the two
/// policies, and an empty directory `<tag>-<pid>` for the packages.
fn soak_cluster(tag: &str) -> (TestCluster, std::path::PathBuf) {
    let cluster = TestCluster::start_prepared();
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICIES);
    (cluster, dir)
}

#[test]
fn a_clean_policy_waits_until_it_has_been_clean_long_enough() {
    let (cluster, dir) = soak_cluster("polscan-soak");
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: c, image: 'nginx:latest'}]\n");

    // Day 0: clean, but one scan over no time.
    scan_at(&cluster, &day(0), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(0), &dir.join("day0"), &READY);
    assert_eq!(code, Some(1), "a waiting policy is not ready");
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["verdict"], "wait", "{clean}");
    assert_eq!(clean["soak"]["status"], "wait");
    assert_eq!(clean["soak"]["cleanSince"], day(0));
    assert_eq!(clean["soak"]["remainingDays"], 7);
    let reason = clean["reasons"][0].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("WAIT: 7 more day(s) and a scan after that (clean since 2030-01-01, 1 scan(s) over 0 day(s); --min-soak 7d, --min-scans 2)"),
        "{reason}"
    );
    let markdown = std::fs::read_to_string(dir.join("day0/evidence.md")).expect("md");
    assert!(markdown.contains("WAIT: 7 more day(s)"), "{markdown}");

    // Day 3: two scans over three days.
    scan_at(&cluster, &day(3), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(3), &dir.join("day3"), &READY);
    assert_eq!(code, Some(1));
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["verdict"], "wait");
    assert_eq!(
        (&clean["soak"]["scans"], &clean["soak"]["remainingDays"]),
        (&Value::from(2), &Value::from(4))
    );

    // Day 8: clean for eight days over three scans: ready.
    scan_at(&cluster, &day(8), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(8), &dir.join("day8"), &READY);
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["verdict"], "ready", "{clean}");
    assert_eq!(code, Some(0));
    assert_eq!(clean["soak"]["status"], "met");
    assert_eq!(
        clean["soak"]["summary"],
        "clean since 2030-01-01, 3 scan(s) over 8 day(s)"
    );
    assert_eq!(clean["soak"]["trend"], serde_json::json!([0, 0, 0]));
    let html = std::fs::read_to_string(dir.join("day8/index.html")).expect("html");
    assert!(html.contains("clean since 2030-01-01, 3 scan(s) over 8 day(s)"));

    // Five weeks on without a recorded scan (the CronJob stopped): the
    // day-8 scan says nothing of today, so not ready (--max-scan-age 2d).
    let (evidence, code) =
        evidence_at(&cluster, "2030-02-13T00:00:00Z", &dir.join("day43"), &READY);
    let stale = policy(&evidence, "require-team-label");
    assert_eq!(
        (stale["verdict"].as_str(), code),
        (Some("wait"), Some(1)),
        "{stale}"
    );
    assert!(
        stale["soak"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("is 35d0h old, more than --max-scan-age 2d"),
        "{stale}"
    );

    // The violating policy was never ready.
    let all = evidence_at(&cluster, &day(8), &dir.join("all8"), &[]).0;
    let violating = policy(&all, "disallow-latest");
    assert_eq!(violating["verdict"], "not-ready", "{violating}");
    assert_eq!(violating["soak"]["trend"], serde_json::json!([1, 1, 1]));

    // The history ConfigMap holds the documented format.
    let history = cluster.config_map("polscan-system", "polscan-last-run-history");
    assert_eq!(history["data"]["format"], "polscan.io/soak-history/v1");
    let policies = history_of(&cluster);
    let spans = policies["require-team-label"].as_array().expect("spans");
    assert_eq!(spans.len(), 1, "three clean scans in one span: {spans:?}");
    assert_eq!(
        (&spans[0]["first"], &spans[0]["last"], &spans[0]["scans"]),
        (&Value::from(day(0)), &Value::from(day(8)), &Value::from(3))
    );
    assert_eq!(spans[0]["action"], "Audit");
    assert_eq!(spans[0]["complete"], true);
    assert_eq!(policies["disallow-latest"][0]["fail"], 1);

    // Day 9: the clean policy's rules change: its soak restarts.
    cluster.apply_yaml(&POLICIES.replace("{team: '?*'}", "{team: '?*', tier: '?*'}"));
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop, tier: web}}\nspec:\n  containers: [{name: c, image: 'nginx:latest'}]\n");
    scan_at(&cluster, &day(9), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(9), &dir.join("day9"), &READY);
    assert_eq!(code, Some(1));
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["verdict"], "wait", "{clean}");
    assert_eq!(
        clean["soak"]["restartedBy"],
        format!("rules changed at {}", day(9))
    );
    assert_eq!(clean["soak"]["cleanSince"], day(9));
    let all = evidence_at(&cluster, &day(9), &dir.join("all9"), &[]).0;
    assert_eq!(policy(&all, "disallow-latest")["verdict"], "not-ready");

    // Switching to Enforce does not restart it (the digest leaves the action
    // out) and an enforcing policy's soak is not applicable.
    cluster.kubectl_ok(&[
        "patch",
        "clusterpolicy/require-team-label",
        "--type=merge",
        "-p",
        r#"{"spec":{"validationFailureAction":"Enforce"}}"#,
    ]);
    scan_at(&cluster, &day(10), &[]);
    let policies = history_of(&cluster);
    let spans = policies["require-team-label"].as_array().expect("spans");
    let (before, after) = (&spans[spans.len() - 2], &spans[spans.len() - 1]);
    assert_eq!(before["hash"], after["hash"], "{spans:?}");
    assert_eq!(after["action"], "Enforce");
    let all = evidence_at(&cluster, &day(10), &dir.join("all10"), &[]).0;
    assert_eq!(
        policy(&all, "require-team-label")["soak"]["status"],
        "not-applicable"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_shards_of_a_run_append_to_one_history() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: c, image: 'nginx:1.27'}]\n");
    // Three shards at once: their writes race on the one ConfigMap (each
    // must succeed without a warning about the history).
    std::thread::scope(|scope| {
        for index in 0..3 {
            let cluster = &cluster;
            scope.spawn(move || {
                let shard = format!("{index}/3");
                scan_at(cluster, &day(0), &["--shard", &shard, "--run-id", "run-1"]);
            });
        }
    });
    let policies = history_of(&cluster);
    let spans = policies["require-team-label"].as_array().expect("spans");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0]["complete"], true, "all three shards: {spans:?}");
    assert!(spans[0].get("run").is_none(), "the run is whole: {spans:?}");
    assert_eq!(
        spans[0]["evaluated"], 1,
        "the one Pod, in one shard: {spans:?}"
    );

    // Day 3: shard 1 of run-2 never records (killed); the scans after it
    // are not sharded, so none reads shard 1's record. Its run, short of a
    // shard, ends the streak all the same: what shard 1 found is unknown.
    for shard in ["0/3", "2/3"] {
        scan_at(&cluster, &day(3), &["--shard", shard, "--run-id", "run-2"]);
    }
    scan_at(&cluster, &day(4), &[]);
    scan_at(&cluster, &day(12), &[]);
    let dir = std::env::temp_dir().join(format!("polscan-soak-shards-{}", std::process::id()));
    let (evidence, _) = evidence_at(&cluster, &day(12), &dir.join("day12"), &READY);
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["soak"]["cleanSince"], day(4), "{clean}");
    assert_eq!(
        clean["soak"]["restartedBy"],
        format!(
            "the sharded run run-2 at {} recorded 2 of its 3 shards: what the others found is unknown",
            day(3)
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes the run record as polscan writes it (a server-side apply as its
/// field manager), so the next scan's record replaces all of it, as it
/// replaces a real run's.
fn record_as_polscan(cluster: &TestCluster, data: Value) {
    record_named(cluster, "polscan-last-run", data);
}

/// [`record_as_polscan`] under `name` (a shard's record, `<name>-<I>`).
fn record_named(cluster: &TestCluster, name: &str, data: Value) {
    let record = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "polscan-system",
            "labels": {"app.kubernetes.io/managed-by": "polscan"}},
        "data": data});
    let applied = cluster.kubectl_with_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=polscan",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&record.to_string()),
    );
    assert!(applied.status.success(), "{applied:?}");
}

/// A run missing from the soak history — killed before it could record,
/// here its record as such a run leaves it (in progress), and then one
/// whose own append failed (`historyError`) — is added by the next run as
/// a gap, which ends the streak: what that run found is unknown. Without
/// it the clean scans around it would read as one streak, and the policy
/// ready on day 8 (as in the first test).
#[test]
fn a_run_missing_from_the_history_restarts_the_soak() {
    let (cluster, dir) = soak_cluster("polscan-soak-gap");
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: c, image: 'nginx:latest'}]\n");
    scan_at(&cluster, &day(0), &[]);

    // Day 3: a scan killed mid-run leaves its record in progress.
    record_as_polscan(
        &cluster,
        serde_json::json!({"inProgress": "true", "complete": "false",
            "started": day(3), "attempt": day(3)}),
    );
    let stderr =
        polscan_tests::cluster::recorded_scan(&cluster, &[], &[("POLSCAN_TEST_NOW", &day(4))]);
    assert!(
        stderr.contains(&format!("the scan that started at {} is missing from the soak history (its record still said in progress", day(3))),
        "{stderr}"
    );
    scan_at(&cluster, &day(8), &[]);
    let spans = history_of(&cluster)["require-team-label"].clone();
    let gaps: Vec<&Value> = spans
        .as_array()
        .expect("spans")
        .iter()
        .filter(|span| span.get("gap").is_some())
        .collect();
    assert_eq!(gaps.len(), 1, "{spans}");
    assert_eq!(
        (&gaps[0]["first"], &gaps[0]["scans"]),
        (&Value::from(day(3)), &Value::from(0))
    );
    // The violating policy's history has it too: every policy's does.
    let violating = history_of(&cluster)["disallow-latest"].clone();
    assert!(
        violating
            .as_array()
            .expect("spans")
            .iter()
            .any(|s| s.get("gap").is_some()),
        "{violating}"
    );

    let (evidence, code) = evidence_at(&cluster, &day(8), &dir.join("day8"), &READY);
    assert_eq!(code, Some(1), "not ready: the streak starts after the gap");
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["verdict"], "wait", "{clean}");
    assert_eq!(clean["soak"]["cleanSince"], day(4));
    let restarted = clean["soak"]["restartedBy"].as_str().unwrap_or_default();
    assert!(
        restarted.starts_with(&format!("the scan at {} is missing from the history, so what it found is unknown: its record still said in progress", day(3))),
        "{restarted}"
    );
    assert_eq!(clean["soak"]["trend"], serde_json::json!([0, 0, 0]));

    // Day 9: a scan whose own append failed says so in its record; the
    // next scan adds it as a gap too.
    scan_at(&cluster, &day(9), &[]);
    let mut data = cluster.config_map("polscan-system", "polscan-last-run")["data"].clone();
    data["historyError"] = Value::from("this scan was not added to the soak history ConfigMap polscan-system/polscan-last-run-history: the server is currently unable to handle the request");
    record_as_polscan(&cluster, data);
    let stderr =
        polscan_tests::cluster::recorded_scan(&cluster, &[], &[("POLSCAN_TEST_NOW", &day(12))]);
    assert!(
        stderr.contains(&format!("the scan that started at {} is missing", day(9))),
        "{stderr}"
    );
    let (evidence, _) = evidence_at(&cluster, &day(12), &dir.join("day12"), &READY);
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["soak"]["cleanSince"], day(12), "{clean}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run of the other layout on the same record — every shard of a
/// sharded run killed, then unsharded scans; an unsharded run killed, then
/// shards — leaves records the next run would not read as its own
/// (`<name>-<I>`, `<name>`): it reads them as siblings, and adds their gap.
#[test]
fn a_run_of_the_other_layout_missing_from_the_history_is_a_gap_too() {
    let (cluster, dir) = soak_cluster("polscan-soak-layout");
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: c, image: 'nginx:latest'}]\n");
    scan_at(&cluster, &day(0), &[]);

    // Day 3: both shards of a sharded run killed before they recorded.
    for index in 0..2 {
        record_named(
            &cluster,
            &format!("polscan-last-run-{index}"),
            serde_json::json!({"inProgress": "true", "complete": "false", "started": day(3),
                "attempt": day(3), "shard": format!("{index}/2"), "runId": "r3"}),
        );
    }
    let stderr =
        polscan_tests::cluster::recorded_scan(&cluster, &[], &[("POLSCAN_TEST_NOW", &day(4))]);
    let warning = format!(
        "the scan that started at {} is missing from the soak history",
        day(3)
    );
    assert_eq!(
        stderr.matches(&warning).count(),
        1,
        "one gap for the run: {stderr}"
    );
    // Read again by the next scan: no second gap, no warning.
    scan_at(&cluster, &day(8), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(8), &dir.join("day8"), &READY);
    assert_eq!(code, Some(1), "not ready: the streak starts after the gap");
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["soak"]["cleanSince"], day(4), "{clean}");

    // Day 9: an unsharded run killed; the shards that follow read its
    // record as a sibling.
    record_as_polscan(
        &cluster,
        serde_json::json!({"inProgress": "true", "complete": "false", "started": day(9),
            "attempt": day(9)}),
    );
    let stderr = polscan_tests::cluster::recorded_scan(
        &cluster,
        &["--shard", "0/2", "--run-id", "r10"],
        &[("POLSCAN_TEST_NOW", &day(10))],
    );
    assert!(
        stderr.contains(&format!("the scan that started at {} is missing", day(9))),
        "{stderr}"
    );
    let spans = history_of(&cluster)["require-team-label"].clone();
    let gaps: Vec<&Value> = spans
        .as_array()
        .expect("spans")
        .iter()
        .filter_map(|span| span.get("gap").map(|_| &span["first"]))
        .collect();
    assert_eq!(
        gaps,
        [&Value::from(day(3)), &Value::from(day(9))],
        "{spans}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_violation_excused_only_by_the_annotation_ends_the_streak() {
    // Kyverno's admission does not read polscan.io/exception: the days the
    // annotation excused the Pod are days it would have rejected it.
    let (cluster, dir) = soak_cluster("polscan-soak-anno");
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  labels: {team: shop}\n  annotations:\n    polscan.io/exception: disallow-latest\n    polscan.io/exception-reason: vendor image, pinned in INC-42\n    polscan.io/exception-expires: '2030-12-31'\nspec:\n  containers: [{name: c, image: 'nginx:latest'}]\n",
    );
    let latest = ["--require-ready", "--policy", "disallow-latest"];
    scan_at(&cluster, &day(0), &[]);
    scan_at(&cluster, &day(3), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(3), &dir.join("day3"), &latest);
    assert_eq!(code, Some(1));
    assert_eq!(
        policy(&evidence, "disallow-latest")["verdict"],
        "not-ready",
        "an annotation-only bypass"
    );

    // Day 4: fixed (pinned, the annotation gone).
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: c, image: 'nginx:1.27'}]\n");
    scan_at(&cluster, &day(4), &[]);
    scan_at(&cluster, &day(8), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(8), &dir.join("day8"), &latest);
    let fixed = policy(&evidence, "disallow-latest");
    assert_eq!(code, Some(1), "not ready: {fixed}");
    assert_eq!(fixed["verdict"], "wait", "{fixed}");
    assert_eq!(fixed["soak"]["cleanSince"], day(4), "{fixed}");
    assert_eq!(fixed["soak"]["trend"], serde_json::json!([1, 1, 0, 0]));
    // The history counts the excused days as failing.
    let spans = history_of(&cluster)["disallow-latest"].clone();
    let spans = spans.as_array().expect("spans");
    assert_eq!(
        (&spans[0]["first"], &spans[0]["scans"], &spans[0]["fail"]),
        (&Value::from(day(0)), &Value::from(2), &Value::from(1)),
        "{spans:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A week of scans whose kind filters left out what the policy checks
/// (here Pods and, through autogen, their controllers) is not a week
/// clean: those scans are not complete for it, and its soak starts at the
/// first scan that listed its kinds (it read "clean since" day 0 — and
/// ready after one such scan).
#[test]
fn scans_that_left_out_the_policy_s_kinds_do_not_soak_it() {
    let (cluster, dir) = soak_cluster("polscan-soak-kinds");
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: c, image: 'nginx:1.27'}]\n");
    for n in [0, 3, 7] {
        scan_at(&cluster, &day(n), &["--include-kinds", "ConfigMap"]);
    }
    let spans = history_of(&cluster)["require-team-label"].clone();
    assert_eq!(spans[0]["complete"], false, "{spans}");
    scan_at(&cluster, &day(8), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(8), &dir.join("day8"), &READY);
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(code, Some(1), "{clean}");
    assert_eq!(clean["verdict"], "wait", "{clean}");
    assert_eq!(clean["soak"]["cleanSince"], day(8), "{clean}");
    assert_eq!(clean["soak"]["incompleteNotCounted"], 3, "{clean}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// walk20: one team's ValidatingPolicy whose CEL does not compile made
/// every recorded scan incomplete for every policy, so no other policy in
/// Audit could ever become ready ("did not cover the policy completely").
/// An invalid policy now holds back only itself.
#[test]
fn another_team_s_invalid_policy_does_not_hold_back_a_clean_one() {
    let (cluster, dir) = soak_cluster("polscan-soak-invalid");
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: c, image: 'nginx:1.27'}]\n");
    cluster.apply_yaml(
        r#"apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: broken}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  validations:
  - expression: "object.spec.containers.all(c, c.image.endsWith(':1.27')"
    message: unclosed
"#,
    );
    let kubeconfig = cluster.kubeconfig().display().to_string();
    for n in [0, 4, 8] {
        let args = [
            "scan",
            "--kubeconfig",
            &kubeconfig,
            "--last-run-configmap",
            "polscan-system/polscan-last-run",
        ];
        // Incomplete (exit 2), naming the policy it could not load.
        let scanned = polscan_at(&day(n), &args);
        let stderr = String::from_utf8_lossy(&scanned.stderr);
        assert_eq!(scanned.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("ValidatingPolicy/broken: invalid policy"),
            "{stderr}"
        );
    }
    let (evidence, code) = evidence_at(&cluster, &day(8), &dir.join("day8"), &READY);
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(
        (clean["verdict"].as_str(), code),
        (Some("ready"), Some(0)),
        "{clean}"
    );
    let all = evidence_at(&cluster, &day(8), &dir.join("all8"), &[]).0;
    let broken = policy(&all, "broken");
    assert_ne!(broken["verdict"], "ready", "{broken}");
    // walk21 #3: the package says why, from the run record.
    let reasons = broken["reasons"].to_string();
    assert!(
        reasons.contains("could not load this policy (invalid: ")
            && reasons.contains("spec.validations[0].expression"),
        "{reasons}"
    );

    // walk21 #4: a PolicyException that cannot be loaded may change any
    // policy's results, so it holds every policy back — and says which.
    cluster.apply_yaml("apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: bad-exception, namespace: shop}\nspec:\n  exceptions:\n  - ruleNames: [team]\n  match:\n    any:\n    - resources: {kinds: [Pod]}\n");
    let args = [
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--last-run-configmap",
        "polscan-system/polscan-last-run",
        "--exception-namespace",
        "shop",
    ];
    let scanned = polscan_at(&day(9), &args);
    assert_eq!(scanned.status.code(), Some(2), "{scanned:?}");
    let (held, code) = evidence_at(&cluster, &day(9), &dir.join("day9"), &READY);
    let clean = policy(&held, "require-team-label");
    assert_eq!(clean["verdict"], "wait", "{clean}");
    assert_eq!(code, Some(1));
    let said = clean.to_string();
    assert!(
        said.contains(
            "did not cover the policy completely: not loaded: PolicyException shop/bad-exception: "
        ) && said.contains("policyName"),
        "{said}"
    );

    // One that names its policy holds back that policy only: the other
    // team's clean one is ready again at the next scan.
    cluster.apply_yaml(
        "apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: bad-exception, namespace: shop}
spec:
  exceptions:
  - {policyName: broken, ruleNames: [r]}
  match: not-a-match
",
    );
    let scanned = polscan_at(&day(10), &args);
    assert_eq!(scanned.status.code(), Some(2), "{scanned:?}");
    let (after, code) = evidence_at(&cluster, &day(10), &dir.join("day10"), &READY);
    let clean = policy(&after, "require-team-label");
    assert_eq!(
        (clean["verdict"].as_str(), code),
        (Some("ready"), Some(0)),
        "{clean}"
    );
    assert!(!clean.to_string().contains("bad-exception"), "{clean}");
    let all = evidence_at(&cluster, &day(10), &dir.join("all10"), &[]).0;
    let said = policy(&all, "broken").to_string();
    assert!(
        said.contains("PolicyException shop/bad-exception"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn annotating_a_soaking_policy_with_its_severity_keeps_its_soak() {
    // walk34: the production baseline asks for a severity; adding it
    // restarted the soak as "rules changed".
    let (cluster, dir) = soak_cluster("polscan-soak-severity");
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: c, image: 'nginx:1.27'}]\n");
    scan_at(&cluster, &day(0), &[]);
    cluster.kubectl_ok(&[
        "annotate",
        "clusterpolicy",
        "require-team-label",
        "policies.kyverno.io/severity=critical",
    ]);
    scan_at(&cluster, &day(3), &[]);
    scan_at(&cluster, &day(8), &[]);
    let (evidence, code) = evidence_at(&cluster, &day(8), &dir.join("day8"), &READY);
    let clean = policy(&evidence, "require-team-label");
    assert_eq!(clean["verdict"], "ready", "{clean}");
    assert_eq!(code, Some(0));
    assert_eq!(clean["soak"]["cleanSince"], day(0), "{clean}");
    // One span: the annotation changed no digest.
    let spans = &history_of(&cluster)["require-team-label"];
    assert_eq!(spans.as_array().map(Vec::len), Some(1), "{spans}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// verify45 F3: a ValidatingPolicy on every core resource reaches Secrets,
/// which a plain scan leaves out, so plain scans do not soak it; scans
/// naming every kind it reaches do, and it becomes ready (it never could:
/// any kind filter read as leaving "every kind" out).
#[test]
fn a_policy_on_every_core_kind_soaks_over_scans_that_name_its_kinds() {
    let (cluster, dir) = soak_cluster("polscan-soak-every");
    cluster.apply_yaml(
        r#"apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: every}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: ["*"]}
  validations:
  - expression: "has(object.metadata)"
"#,
    );
    let ready = ["--require-ready", "--policy", "every"];
    for n in [0, 4, 8] {
        scan_at(&cluster, &day(n), &[]);
    }
    let spans = history_of(&cluster)["every"].clone();
    assert_eq!(spans[0]["complete"], false, "{spans}");
    let (plain, code) = evidence_at(&cluster, &day(8), &dir.join("plain"), &ready);
    assert_eq!(code, Some(1), "{}", policy(&plain, "every"));
    // Every listable core kind served, and the Pod controllers the policy
    // is read as reaching.
    let served = cluster.kubectl_ok(&[
        "api-resources",
        "--api-group=",
        "--verbs=list",
        "--no-headers",
    ]);
    let mut kinds: Vec<String> = served
        .lines()
        .filter_map(|line| line.split_whitespace().last().map(str::to_string))
        .collect();
    kinds.extend(
        [
            "Deployment",
            "DaemonSet",
            "StatefulSet",
            "ReplicaSet",
            "Job",
            "CronJob",
        ]
        .map(String::from),
    );
    assert!(kinds.iter().any(|k| k == "Secret"), "{served}");
    let include = kinds.join(",");
    for n in [9, 13, 17] {
        scan_at(&cluster, &day(n), &["--include-kinds", &include]);
    }
    let (whole, code) = evidence_at(&cluster, &day(17), &dir.join("whole"), &ready);
    let every = policy(&whole, "every");
    assert_eq!(
        (every["verdict"].as_str(), code),
        (Some("ready"), Some(0)),
        "{every}"
    );
    assert_eq!(every["soak"]["incompleteNotCounted"], 3, "{every}");
    let _ = std::fs::remove_dir_all(&dir);
}
