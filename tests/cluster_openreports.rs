//! Reports in the OpenReports API (openreports.io/v1alpha1 Report /
//! ClusterReport) on a real kube-apiserver + etcd, with a ClusterPolicy (on
//! Pods and on Namespaces), a ValidatingPolicy and a
//! ValidatingAdmissionPolicy (a `--policy` file: the 1.20 server serves
//! none): on a server that serves only OpenReports, `--report-api auto`
//! writes there, a rescan writes nothing, and the evidence reads them; with
//! both APIs served, `auto` keeps to wgpolicyk8s.io and `--report-api
//! openreports` writes OpenReports. A report API the server does not serve
//! is refused before anything is written, naming it.

use polscan_tests::cluster::{
    evidence_package, pinned_images_admission_policy, polscan, workspace_root, written,
    TestCluster, NO_HOST_NETWORK_VALIDATING_POLICY,
};
use serde_json::Value;

const POLICIES: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: require-app-label}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: check-app
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: "the app label is required"
      pattern: {metadata: {labels: {app: "?*"}}}
  - name: namespaces-name-a-team
    match: {any: [{resources: {kinds: [Namespace]}}]}
    validate:
      message: "a namespace names its team"
      pattern: {metadata: {labels: {team: "?*"}}}
"#;

struct Setup {
    cluster: TestCluster,
    kubeconfig: String,
    vap: String,
    dir: std::path::PathBuf,
}

/// A server with Kyverno's policy CRD stand-ins and the report CRDs of
/// `apis` (`wgpolicyk8s`, `openreports`), installed by polscan.
fn setup(apis: &[&str]) -> Setup {
    let cluster = TestCluster::start();
    let kubeconfig = cluster.kubeconfig().display().to_string();
    for api in apis {
        let install = polscan(&["install-crds", "--kubeconfig", &kubeconfig, "--api", api]);
        let out = String::from_utf8_lossy(&install.stdout).into_owned();
        assert!(install.status.success(), "{install:?}");
        assert!(out.contains("created"), "{out}");
    }
    let crds = workspace_root().join("tests/cluster/kyverno-crds.yaml");
    cluster.kubectl_ok(&["apply", "-f", &crds.display().to_string()]);
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/clusterpolicies.kyverno.io",
        "crd/validatingpolicies.policies.kyverno.io",
    ]);
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml(NO_HOST_NETWORK_VALIDATING_POLICY);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team, labels: {team: t}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: team}\nspec: {containers: [{name: c, image: 'nginx:latest'}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: good, namespace: team, labels: {app: a}}\nspec: {containers: [{name: c, image: 'nginx:1.27'}]}\n",
    );
    let dir = std::env::temp_dir().join(format!(
        "polscan-openreports-{}-{}",
        std::process::id(),
        apis.join("-")
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let vap = dir.join("vap.yaml");
    std::fs::write(&vap, pinned_images_admission_policy("Audit")).unwrap_or_else(|e| panic!("{e}"));
    Setup {
        kubeconfig,
        vap: vap.display().to_string(),
        cluster,
        dir,
    }
}

impl Setup {
    /// A recorded scan with `extra` flags: (exit code, stderr).
    fn scan(&self, extra: &[&str]) -> (Option<i32>, String) {
        let mut args = vec![
            "scan",
            "--kubeconfig",
            &self.kubeconfig,
            "--policy",
            &self.vap,
            "-o",
            "summary",
            "--last-run-configmap",
            "default/polscan-last-run",
        ];
        args.extend_from_slice(extra);
        let out = polscan(&args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn items(&self, resource: &str) -> Vec<Value> {
        let text = self
            .cluster
            .kubectl_ok(&["get", resource, "-A", "-o", "json"]);
        let list: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        list["items"].as_array().cloned().unwrap_or_default()
    }
}

#[test]
fn a_server_serving_only_openreports_gets_openreports() {
    let setup = setup(&["openreports"]);
    let (code, err) = setup.scan(&[]);
    assert_eq!(code, Some(0), "{err}");
    let reports = setup.items("reports.openreports.io");
    let cluster_reports = setup.items("clusterreports.openreports.io");
    // Two Pods; Namespaces (team and the server's own) as ClusterReports.
    assert_eq!(reports.len(), 2, "{reports:#?}");
    assert!(!cluster_reports.is_empty());
    assert_eq!(written(&err), reports.len() + cluster_reports.len());
    let bad = reports
        .iter()
        .find(|r| r["scope"]["name"] == "bad")
        .unwrap_or_else(|| panic!("no report of Pod bad: {reports:#?}"));
    assert_eq!(bad["apiVersion"], "openreports.io/v1alpha1");
    assert_eq!(bad["kind"], "Report");
    assert_eq!(bad["source"], "polscan");
    assert_eq!(bad["metadata"]["ownerReferences"][0]["name"], "bad");
    let policies: Vec<&str> = bad["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["result"] == "fail")
        .filter_map(|r| r["policy"].as_str())
        .collect();
    assert_eq!(policies, ["pinned-images", "require-app-label"], "{bad:#}");
    assert!(bad["results"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["policy"] == "no-host-network" && r["result"] == "pass"));
    assert_eq!(bad["summary"]["fail"], 2);

    let record = setup.cluster.config_map("default", "polscan-last-run");
    assert_eq!(record["data"]["reportApi"], "openreports.io/v1alpha1");
    // Nothing changed: nothing written.
    let (code, err) = setup.scan(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(written(&err), 0, "{err}");

    // The evidence reads them: the Pod policy fails on Pod bad.
    let (json, md) = evidence_package(
        &setup.kubeconfig,
        "default/polscan-last-run",
        &setup.dir.join("ev"),
    );
    assert!(
        md.contains("reports written to openreports.io/v1alpha1"),
        "the header names the report API: {md}"
    );
    let policy = json["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "require-app-label")
        .unwrap_or_else(|| panic!("{json:#}"));
    // Every fail of the policy in the OpenReports reports, counted.
    let fails = reports
        .iter()
        .chain(&cluster_reports)
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["policy"] == "require-app-label" && r["result"] == "fail")
        .count();
    assert!(fails >= 2, "Pod bad and a Namespace without a team label");
    assert_eq!(policy["counts"]["fail"], fails, "{policy:#}");
    assert_eq!(policy["verdict"], "not-ready");

    // Asking for the API the server does not serve is refused, naming it,
    // before anything is written.
    let (code, err) = setup.scan(&["--report-api", "wgpolicyk8s"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("wgpolicyk8s.io is not served"), "{err}");
    assert!(err.contains("polscan install-crds"), "{err}");
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[test]
fn with_both_apis_auto_keeps_to_wgpolicyk8s_and_openreports_is_asked_for() {
    let setup = setup(&["wgpolicyk8s", "openreports"]);
    let (code, err) = setup.scan(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(setup.items("policyreports.wgpolicyk8s.io").len(), 2);
    assert!(setup.items("reports.openreports.io").is_empty());
    // A dry run prints the reports in the form they would be written.
    let dry = polscan(&[
        "scan",
        "--kubeconfig",
        &setup.kubeconfig,
        "--policy",
        &setup.vap,
        "--report-api",
        "openreports",
        "--dry-run",
        "-o",
        "json",
    ]);
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let printed: Value = serde_json::from_slice(&dry.stdout).unwrap_or_else(|e| panic!("{e}"));
    let kinds: std::collections::BTreeSet<&str> = printed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["ClusterReport", "Report"].into_iter().collect());
    setup.cluster.apply_yaml(
        "apiVersion: wgpolicyk8s.io/v1alpha2\nkind: PolicyReport\nmetadata: {name: kyverno-own, namespace: team}\nresults: []\n",
    );
    let (code, err) = setup.scan(&["--report-api", "openreports"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(setup.items("reports.openreports.io").len(), 2, "{err}");
    // Moved: polscan's reports left in wgpolicyk8s.io go, another
    // producer's stay.
    assert!(
        err.contains("of polscan's reports left in wgpolicyk8s.io/v1alpha2 (this run wrote to openreports.io/v1alpha1)"),
        "{err}"
    );
    let left: Vec<Value> = setup.items("policyreports.wgpolicyk8s.io");
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["metadata"]["name"], "kyverno-own");
    assert!(
        setup
            .items("clusterpolicyreports.wgpolicyk8s.io")
            .is_empty(),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&setup.dir);
}
