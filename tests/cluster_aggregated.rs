//! The wgpolicyk8s.io report API served through API aggregation, as
//! Kyverno's reports-server serves it: a front kube-apiserver with no
//! wgpolicyk8s CRD and an APIService `v1alpha2.wgpolicyk8s.io` backed by a
//! second kube-apiserver that stores the reports (`scripts/aggregated.sh`).
//! `install-crds` installs nothing that would shadow it; a scan writes its
//! reports through the front, a rescan writes none, and the evidence reads
//! them. With the backend down, a scan and the evidence stop at once,
//! saying the report API could not be discovered, and nothing goes to the
//! other report API (OpenReports, installed on the front meanwhile); with
//! the backend back, a scan works again.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use polscan_tests::cluster::{
    kubectl_as, polscan, workspace_root, written, TestCluster, REQUIRE_APP_LABEL_CLUSTER_POLICY,
};
use serde_json::Value;

/// A front and a backend server started by `scripts/aggregated.sh`; dropped
/// means stopped and its data removed.
struct AggregatedCluster {
    dir: PathBuf,
    kubeconfig: String,
    /// Stops both servers when dropped.
    _servers: TestCluster,
}

impl AggregatedCluster {
    fn start() -> AggregatedCluster {
        let started = Instant::now();
        let servers = TestCluster::start_with("scripts/aggregated.sh");
        eprintln!("aggregated.sh start: {:.1?}", started.elapsed());
        AggregatedCluster {
            dir: servers.dir().to_path_buf(),
            kubeconfig: servers.kubeconfig().display().to_string(),
            _servers: servers,
        }
    }

    /// `aggregated.sh down` (the backend stops: reports-server is down) or
    /// `up` (it runs again and the APIService is Available).
    fn backend(&self, action: &str) {
        let started = Instant::now();
        let status = Command::new("bash")
            .arg(workspace_root().join("scripts/aggregated.sh"))
            .arg(action)
            .arg(&self.dir)
            .status()
            .unwrap_or_else(|err| panic!("running scripts/aggregated.sh {action}: {err}"));
        assert!(status.success(), "scripts/aggregated.sh {action} failed");
        eprintln!("aggregated.sh {action}: {:.1?}", started.elapsed());
    }

    /// kubectl as admin of the front (`backend`: of the backend).
    fn kubectl(&self, args: &[&str], stdin: Option<&str>, backend: bool) -> Output {
        let kubeconfig = if backend {
            self.dir.join("backend/kubeconfig")
        } else {
            PathBuf::from(&self.kubeconfig)
        };
        kubectl_as(&kubeconfig, args, stdin)
    }

    fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args, None, false);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn apply_yaml(&self, yaml: &str) {
        let output = self.kubectl(&["apply", "-f", "-"], Some(yaml), false);
        assert!(
            output.status.success(),
            "kubectl apply failed: {}\n{yaml}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The objects of `resource` in all namespaces, read through the front
    /// (`backend`: from the backend's own store).
    fn items(&self, resource: &str, backend: bool) -> Vec<Value> {
        let output = self.kubectl(&["get", resource, "-A", "-o", "json"], None, backend);
        // With the backend down kubectl warns on stderr that it could not
        // discover wgpolicyk8s.io, and still answers.
        assert!(
            output.status.success(),
            "kubectl get {resource} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let list: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}"));
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// A recorded scan: (exit code, stderr).
    fn scan(&self) -> (Option<i32>, String) {
        let started = Instant::now();
        let out = polscan(&[
            "scan",
            "--kubeconfig",
            &self.kubeconfig,
            "-o",
            "summary",
            "--last-run-configmap",
            "default/last-run",
        ]);
        eprintln!("polscan scan: {:.1?}", started.elapsed());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `polscan evidence` of the last scan into `<dir>/<name>`: (exit code,
    /// stderr, the package directory).
    fn evidence(&self, name: &str) -> (Option<i32>, String, PathBuf) {
        let out_dir = self.dir.join(name);
        let out_text = out_dir.display().to_string();
        let started = Instant::now();
        let out = polscan(&[
            "evidence",
            "--kubeconfig",
            &self.kubeconfig,
            "--scan-record",
            "default/last-run",
            "--out",
            &out_text,
            "-q",
            "--min-soak",
            "0",
        ]);
        eprintln!("polscan evidence: {:.1?}", started.elapsed());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out_dir,
        )
    }
}

#[test]
fn reports_through_an_apiservice_and_with_its_backend_down() {
    let cluster = AggregatedCluster::start();
    let kubeconfig = cluster.kubeconfig.clone();

    // The front serves wgpolicyk8s.io through the APIService only: no CRD,
    // and install-crds adds none (one would shadow the APIService).
    let crds = cluster.kubectl_ok(&["get", "crd", "-o", "name"]);
    assert!(!crds.contains("wgpolicyk8s.io"), "{crds}");
    let install = polscan(&["install-crds", "--kubeconfig", &kubeconfig]);
    let out = String::from_utf8_lossy(&install.stdout).into_owned();
    assert!(install.status.success(), "{install:?}");
    assert!(out.contains("is served without CRDs"), "{out}");
    assert!(!out.contains("created"), "{out}");
    let crds = cluster.kubectl_ok(&["get", "crd", "-o", "name"]);
    assert!(!crds.contains("wgpolicyk8s.io"), "{crds}");

    // A Pod policy in Audit, a good and a bad Pod.
    let kyverno = workspace_root().join("tests/cluster/kyverno-crds.yaml");
    cluster.kubectl_ok(&["apply", "-f", &kyverno.display().to_string()]);
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/clusterpolicies.kyverno.io",
    ]);
    cluster.apply_yaml(REQUIRE_APP_LABEL_CLUSTER_POLICY);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: team}\nspec: {containers: [{name: c, image: 'nginx:latest'}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: good, namespace: team, labels: {app: a}}\nspec: {containers: [{name: c, image: 'nginx:1.27'}]}\n",
    );

    // The scan writes through the front; the backend stores the reports.
    let (code, err) = cluster.scan();
    assert_eq!(code, Some(0), "{err}");
    let reports = cluster.items("policyreports.wgpolicyk8s.io", false);
    assert_eq!(reports.len(), 2, "{reports:#?}");
    assert_eq!(written(&err), 2, "{err}");
    let bad = reports
        .iter()
        .find(|r| r["scope"]["name"] == "bad")
        .unwrap_or_else(|| panic!("no report of Pod bad: {reports:#?}"));
    assert_eq!(bad["summary"]["fail"], 1, "{bad:#}");
    assert_eq!(
        cluster.items("policyreports.wgpolicyk8s.io", true).len(),
        2,
        "the reports are the backend's"
    );
    let record: Value = serde_json::from_str(&cluster.kubectl_ok(&[
        "get",
        "configmap",
        "-n",
        "default",
        "last-run",
        "-o",
        "json",
    ]))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["data"]["reportApi"], "wgpolicyk8s.io/v1alpha2");
    // Nothing changed: nothing written.
    let (code, err) = cluster.scan();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(written(&err), 0, "{err}");
    // The evidence reads them back through the front.
    let (code, err, ev) = cluster.evidence("ev");
    assert_eq!(code, Some(0), "{err}");
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(ev.join("evidence.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["scan"]["complete"], true, "{:#}", json["scan"]);
    let policy = json["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "require-app-label")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(policy["counts"]["fail"], 1, "{policy:#}");
    assert_eq!(policy["verdict"], "not-ready", "{policy:#}");

    // reports-server down, OpenReports installed on the front: the scan
    // stops at the failed discovery (it used to retry the 503 for minutes)
    // and writes nothing to OpenReports.
    cluster.backend("down");
    let install = polscan(&[
        "install-crds",
        "--kubeconfig",
        &kubeconfig,
        "--api",
        "openreports",
    ]);
    assert!(install.status.success(), "{install:?}");
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/reports.openreports.io",
        "crd/clusterreports.openreports.io",
    ]);
    let (code, err) = cluster.scan();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("could not be discovered"), "{err}");
    assert!(
        cluster.items("reports.openreports.io", false).is_empty(),
        "{err}"
    );
    assert!(
        cluster
            .items("clusterreports.openreports.io", false)
            .is_empty(),
        "{err}"
    );
    // The evidence cannot read the reports: it says so and writes no package.
    let (code, err, ev) = cluster.evidence("ev-down");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("could not be discovered"), "{err}");
    assert!(!ev.join("evidence.json").exists(), "{err}");

    // Back up: the scan finds its reports as it left them, in wgpolicyk8s.io
    // (auto keeps to it with both APIs served).
    cluster.backend("up");
    let (code, err) = cluster.scan();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(written(&err), 0, "{err}");
    assert_eq!(
        cluster.items("policyreports.wgpolicyk8s.io", false).len(),
        2
    );
    assert!(
        cluster.items("reports.openreports.io", false).is_empty(),
        "{err}"
    );
}
