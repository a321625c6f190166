//! Overlapping and stopped scans on a real kube-apiserver + etcd: a scan
//! that records its run holds the Lease `<record>-lock` while it writes and
//! marks the record in progress first; a second scan waits for the Lease
//! (and gives up naming the holder, or proceeds once it is released); a
//! SIGTERMed scan records itself incomplete and releases the Lease; a
//! SIGKILLed one leaves the record in progress, which `polscan evidence`
//! reports as a scan that did not finish, and a Lease the next scan takes
//! over once it expires. A scan is held mid-run by SIGSTOP, after the
//! record says it is in progress (1500 ConfigMaps listed one per page make
//! the run long enough to catch).

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use polscan_tests::cluster::{evidence_package, polscan, polscan_binary, TestCluster};

const RECORD: &str = "polscan-system/polscan-last-run";

const POLICY: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: cm-team}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: check
    match: {any: [{resources: {kinds: [ConfigMap]}}]}
    validate:
      message: a team label is required
      pattern: {metadata: {labels: {team: "?*"}}}
"#;

/// A cluster with the policy and 1500 ConfigMaps to scan, and a first
/// complete scan (later ones find the reports unchanged).
fn prepared() -> TestCluster {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: bulk}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICY);
    let items: Vec<serde_json::Value> = (0..1500)
        .map(|i| {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i}"), "namespace": "bulk"}, "data": {"a": "b"}})
        })
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let created = cluster.kubectl_with_stdin(&["create", "-f", "-"], Some(&list.to_string()));
    assert!(created.status.success(), "{created:?}");
    let first = scan(&cluster, &[]);
    assert!(first.status.success(), "{first:?}");
    cluster
}

fn scan_args(cluster: &TestCluster, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "scan",
        "--kubeconfig",
        &cluster.kubeconfig().display().to_string(),
        "-o",
        "summary",
        "--page-size",
        "1",
        "--last-run-configmap",
        RECORD,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn scan(cluster: &TestCluster, extra: &[&str]) -> Output {
    let args = scan_args(cluster, extra);
    polscan(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A scan in the background: the binary itself (not under `timeout`), so
/// that the signals the test sends reach it.
fn spawn_scan(cluster: &TestCluster, extra: &[&str]) -> Child {
    Command::new(polscan_binary())
        .args(scan_args(cluster, extra))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning polscan: {e}"))
}

/// Kills the child when the test ends early, so no scan outlives it.
struct Reaped(Option<Child>);

impl Reaped {
    fn child(&mut self) -> &mut Child {
        self.0
            .as_mut()
            .unwrap_or_else(|| panic!("already waited for"))
    }

    fn wait(mut self) -> Output {
        let child = self
            .0
            .take()
            .unwrap_or_else(|| panic!("already waited for"));
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for polscan: {e}"))
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(sent.success(), "kill -{name} failed");
}

fn record_key(cluster: &TestCluster, key: &str) -> Option<String> {
    cluster.config_map("polscan-system", "polscan-last-run")["data"][key]
        .as_str()
        .map(str::to_string)
}

/// Waits until the record says a scan is in progress, then freezes that
/// scan (SIGSTOP) so the test decides when it goes on.
fn frozen_in_progress(cluster: &TestCluster, scan: &mut Reaped) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if record_key(cluster, "inProgress").as_deref() == Some("true") {
            signal(scan.child(), "STOP");
            return;
        }
        if let Ok(Some(status)) = scan.child().try_wait() {
            panic!("the scan ended ({status}) before its record was seen in progress");
        }
        assert!(
            Instant::now() < deadline,
            "the record never said in progress"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lease_holder(cluster: &TestCluster) -> Option<String> {
    let output = cluster.kubectl(&[
        "get",
        "lease",
        "-n",
        "polscan-system",
        "polscan-last-run-lock",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn evidence(cluster: &TestCluster, out: &Path) -> (serde_json::Value, String) {
    evidence_package(&cluster.kubeconfig().display().to_string(), RECORD, out)
}

#[test]
fn a_second_scan_waits_for_the_first_and_gives_up_or_proceeds() {
    let cluster = prepared();
    let mut first = Reaped(Some(spawn_scan(&cluster, &[])));
    frozen_in_progress(&cluster, &mut first);
    let pid = first.child().id();
    let holder = lease_holder(&cluster).unwrap_or_else(|| panic!("no Lease while scanning"));
    assert!(holder.contains(&format!(" pid {pid} ")), "{holder}");

    // Gives up after --lock-timeout, naming the holder; writes nothing.
    let started = Instant::now();
    let second = scan(&cluster, &["--lock-timeout", "3s"]);
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    assert!(started.elapsed() >= Duration::from_secs(3));
    let said = stderr(&second);
    assert!(
        said.contains("--lock-timeout")
            && said.contains(&format!(
                "Lease polscan-system/polscan-last-run-lock is held by {holder} since"
            )),
        "{said}"
    );
    assert_eq!(record_key(&cluster, "inProgress").as_deref(), Some("true"));

    // A mistyped kind or namespace is a usage error at once, not after the
    // Lease wait (it waited --lock-timeout, then exited 2 or 64).
    for typo in [
        &["--include-kinds", "Bogus"][..],
        &["--namespace", "no-such-namespace"][..],
    ] {
        let refused = scan(&cluster, &[&["--lock-timeout", "30s"][..], typo].concat());
        assert_eq!(refused.status.code(), Some(64), "{typo:?}: {refused:?}");
        let said = stderr(&refused);
        assert!(said.contains(typo[1]), "{said}");
        assert!(!said.contains("waiting up to"), "{said}");
        assert!(!said.contains("not recorded"), "{said}");
    }
    assert_eq!(record_key(&cluster, "inProgress").as_deref(), Some("true"));

    // Meanwhile the evidence takes the record for an unfinished scan.
    let dir = std::env::temp_dir().join(format!("polscan-lock-wait-{}", std::process::id()));
    let (json, page) = evidence(&cluster, &dir.join("during"));
    assert_eq!(json["scan"]["inProgress"], true, "{}", json["scan"]);
    assert_eq!(json["scan"]["complete"], false);
    assert!(
        page.contains("the last scan did not finish (in progress since"),
        "{page}"
    );
    let policy = polscan_tests::cluster::package_policy(&json, "cm-team");
    assert_eq!(policy["verdict"], "not-ready", "{policy}");

    // With time enough, a scan proceeds once the first one is done.
    let third = Reaped(Some(spawn_scan(&cluster, &["--lock-timeout", "120s"])));
    std::thread::sleep(Duration::from_secs(3));
    signal(first.0.as_ref().unwrap_or_else(|| panic!("first")), "CONT");
    let first = first.wait();
    assert!(first.status.success(), "{first:?}");
    let third = third.wait();
    assert!(third.status.success(), "{third:?}");
    assert!(
        stderr(&third).contains("waiting up to 120s"),
        "{}",
        stderr(&third)
    );
    assert_eq!(record_key(&cluster, "complete").as_deref(), Some("true"));
    assert_eq!(record_key(&cluster, "inProgress"), None);
    assert_eq!(lease_holder(&cluster), None, "the Lease is released");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stopped_scans_leave_an_incomplete_record_and_a_killed_ones_lease_is_taken_over() {
    let cluster = prepared();
    let dir = std::env::temp_dir().join(format!("polscan-lock-stop-{}", std::process::id()));

    // SIGTERM: the run is recorded as incomplete and the Lease released.
    let mut terminated = Reaped(Some(spawn_scan(&cluster, &["--exception-namespace", "*"])));
    frozen_in_progress(&cluster, &mut terminated);
    signal(terminated.child(), "TERM");
    signal(terminated.child(), "CONT");
    let terminated = terminated.wait();
    assert_eq!(terminated.status.code(), Some(2), "{terminated:?}");
    assert!(
        stderr(&terminated).contains("stopped by SIGTERM"),
        "{terminated:?}"
    );
    assert_eq!(record_key(&cluster, "complete").as_deref(), Some("false"));
    assert_eq!(record_key(&cluster, "inProgress"), None);
    assert!(record_key(&cluster, "error").is_some_and(|e| e.contains("stopped by SIGTERM")));
    // It keeps the exceptions it was set to apply (#17): the evidence says
    // which, not "an older polscan".
    assert_eq!(
        record_key(&cluster, "policyExceptions").as_deref(),
        Some("namespace")
    );
    assert_eq!(
        record_key(&cluster, "exceptionNamespace").as_deref(),
        Some("*")
    );
    assert_eq!(lease_holder(&cluster), None, "the Lease is released");
    let (json, page) = evidence(&cluster, &dir.join("terminated"));
    assert_eq!(json["scan"]["complete"], false);
    assert!(page.contains("stopped by SIGTERM"), "{page}");
    assert!(!page.contains("older polscan"), "{page}");
    let policy = polscan_tests::cluster::package_policy(&json, "cm-team");
    assert_eq!(policy["verdict"], "not-ready", "{policy}");

    // SIGKILL: nothing more is written; the record stays in progress.
    let mut killed = Reaped(Some(spawn_scan(&cluster, &[])));
    frozen_in_progress(&cluster, &mut killed);
    let killed_pid = killed.child().id();
    signal(killed.child(), "KILL");
    let _ = killed.wait();
    assert_eq!(record_key(&cluster, "inProgress").as_deref(), Some("true"));
    let (json, page) = evidence(&cluster, &dir.join("killed"));
    assert_eq!(json["scan"]["inProgress"], true);
    assert!(page.contains("the last scan did not finish"), "{page}");
    let holder = lease_holder(&cluster).unwrap_or_else(|| panic!("the killed scan's Lease"));
    assert!(holder.contains(&format!(" pid {killed_pid} ")), "{holder}");

    // The next scan waits for the killed one's Lease to expire (60s
    // without a renewal) and takes it over.
    let next = scan(&cluster, &["--lock-timeout", "150s"]);
    assert!(next.status.success(), "{next:?}");
    let said = stderr(&next);
    assert!(
        said.contains(&format!("of {holder} since")) && said.contains("taken over"),
        "{said}"
    );
    assert_eq!(record_key(&cluster, "complete").as_deref(), Some("true"));
    assert_eq!(record_key(&cluster, "inProgress"), None);
    assert_eq!(lease_holder(&cluster), None);
    // The killed scan never reached the soak history: the next one adds
    // it as a gap, which restarts every policy's soak (#17).
    assert!(
        said.contains("is missing from the soak history (its record still said in progress"),
        "{said}"
    );
    let history = cluster.config_map_json(
        "polscan-system",
        "polscan-last-run-history",
        "policies.json",
    );
    // (The SIGTERMed scan may be a gap too, if it had evaluated objects.)
    let killed_gap = history["cm-team"].as_array().is_some_and(|spans| {
        spans.iter().any(|span| {
            span["gap"]
                .as_str()
                .is_some_and(|gap| gap.starts_with("its record still said in progress"))
        })
    });
    assert!(killed_gap, "{history}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without rights on Leases a scan fails closed: two scans could otherwise
/// write under one record that says complete. It names what to grant and
/// writes nothing — no report, no record; granted them, the same user's
/// scan runs.
#[test]
fn a_scan_without_lease_rights_fails_closed_and_writes_nothing() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: bulk}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICY);
    for name in ["a", "b", "c"] {
        cluster.kubectl_ok(&["create", "configmap", name, "-n", "bulk"]);
    }
    let reads = r#"- apiGroups: [""]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create, update, patch]
- apiGroups: [kyverno.io, policies.kyverno.io, admissionregistration.k8s.io]
  resources: ["*"]
  verbs: [get, list]
"#;
    cluster.grant_limited(reads);
    let limited = cluster.limited_kubeconfig().display().to_string();
    let args = [
        "scan",
        "--kubeconfig",
        &limited,
        "-o",
        "summary",
        "--namespace",
        "bulk",
        "--last-run-configmap",
        RECORD,
    ];
    let refused = polscan(&args);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let err = stderr(&refused);
    assert!(
        err.contains("may not read or write Leases in namespace polscan-system")
            && err.contains("get, create, update and delete on leases.coordination.k8s.io")
            && err.contains("nothing was scanned"),
        "{err}"
    );
    let (names, _) = polscan_tests::cluster::stored_reports(&cluster);
    assert!(names.is_empty(), "reports written: {names:?}");
    let record = cluster.kubectl_with_stdin(
        &[
            "get",
            "configmap",
            "-n",
            "polscan-system",
            "polscan-last-run",
        ],
        None,
    );
    assert!(!record.status.success(), "a record was written: {record:?}");

    cluster.grant_limited(&format!(
        "{reads}- apiGroups: [coordination.k8s.io]\n  resources: [leases]\n  verbs: [get, create, update, delete]\n"
    ));
    let granted = polscan(&args);
    assert!(granted.status.success(), "{granted:?}");
    let (names, _) = polscan_tests::cluster::stored_reports(&cluster);
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(record_key(&cluster, "complete").as_deref(), Some("true"));
}
