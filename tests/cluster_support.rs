//! A real kube-apiserver + etcd for cluster tests, started through
//! `scripts/apiserver.sh` (which builds or finds the binaries) in a fresh
//! directory with its own ports, and stopped when the [`TestCluster`] drops.
//! Tests talk to it with `kubectl` and the `polscan` binary, as users do.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// A running API server; dropped means stopped and its data removed.
pub struct TestCluster {
    dir: PathBuf,
    kubeconfig: PathBuf,
    /// The script that started it (and stops it): `scripts/apiserver.sh`.
    script: &'static str,
}

impl TestCluster {
    /// Starts a server. Panics (failing the test) when it cannot: cluster
    /// tests are never skipped.
    pub fn start() -> TestCluster {
        TestCluster::start_with("scripts/apiserver.sh")
    }

    /// Starts what `script` (relative to the workspace; `start <dir>`
    /// prints the admin kubeconfig, `stop <dir>` stops it) starts.
    pub fn start_with(script: &'static str) -> TestCluster {
        let base = std::env::temp_dir().join(format!(
            "polscan-cluster-{}-{}",
            std::process::id(),
            NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let output = Command::new("bash")
            .arg(workspace_root().join(script))
            .arg("start")
            .arg(&base)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|err| panic!("running {script}: {err}"));
        assert!(
            output.status.success(),
            "{script} start failed ({})",
            output.status
        );
        let kubeconfig = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        assert!(kubeconfig.is_file(), "no kubeconfig at {kubeconfig:?}");
        TestCluster {
            dir: base,
            kubeconfig,
            script,
        }
    }

    /// The directory the script keeps the servers' files in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The admin (system:masters) kubeconfig.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A kubeconfig for user `polscan-limited`, which has no permissions
    /// until a test binds some.
    pub fn limited_kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig-limited")
    }

    /// Grants user `polscan-limited` the rules in `reads` (YAML list items
    /// of a ClusterRole's `rules`) plus what every scan needs besides
    /// reading objects: the CRDs (get) and polscan's reports (write).
    pub fn grant_limited(&self, reads: &str) -> String {
        self.apply_yaml(&format!(
            r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: polscan-limited}}
rules:
{reads}- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get]
- apiGroups: [wgpolicyk8s.io]
  resources: [policyreports, clusterpolicyreports]
  verbs: [get, list, create, patch, update, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: polscan-limited}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: polscan-limited}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: polscan-limited}}
"#
        ))
    }

    /// etcd's client URL, for tests that act on storage directly (compaction).
    pub fn etcd_url(&self) -> String {
        std::fs::read_to_string(self.dir.join("etcd-url"))
            .unwrap_or_else(|err| panic!("reading etcd-url: {err}"))
            .trim()
            .to_string()
    }

    /// SIGKILLs `which` (`apiserver` or `etcd`), keeping its data
    /// (`scripts/apiserver.sh kill`).
    pub fn kill(&self, which: &str) {
        self.script_ok(&["kill", which]);
    }

    /// Starts whichever of kube-apiserver and etcd is down, on the same
    /// data and ports, and waits until the server is ready
    /// (`scripts/apiserver.sh restart`).
    pub fn restart(&self) {
        self.script_ok(&["restart"]);
    }

    /// Runs `script <command> <dir> <args>`, panicking when it fails.
    fn script_ok(&self, args: &[&str]) {
        let status = Command::new("bash")
            .arg(workspace_root().join(self.script))
            .arg(args[0])
            .arg(&self.dir)
            .args(&args[1..])
            .stderr(Stdio::inherit())
            .status()
            .unwrap_or_else(|err| panic!("running {}: {err}", self.script));
        assert!(
            status.success(),
            "{} {args:?} failed ({status})",
            self.script
        );
    }

    /// Runs kubectl as admin.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with_stdin(args, None)
    }

    /// Runs kubectl as admin and panics with its stderr when it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A ConfigMap as JSON (a run record, say), panicking when it cannot
    /// be read.
    pub fn config_map(&self, namespace: &str, name: &str) -> serde_json::Value {
        let text = self.kubectl_ok(&["get", "configmap", "-n", namespace, name, "-o", "json"]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// The JSON in data key `key` of a ConfigMap (a record's or a soak
    /// history's), panicking when it cannot be read.
    pub fn config_map_json(&self, namespace: &str, name: &str, key: &str) -> serde_json::Value {
        let config_map = self.config_map(namespace, name);
        let text = config_map["data"][key].as_str().unwrap_or_default();
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: data.{key} of {config_map}"))
    }

    /// `kubectl apply -f -` of a YAML text, panicking on failure.
    pub fn apply_yaml(&self, yaml: &str) -> String {
        let output = self.kubectl_with_stdin(&["apply", "-f", "-"], Some(yaml));
        assert!(
            output.status.success(),
            "kubectl apply failed: {}\n{yaml}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn kubectl_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        kubectl_as(&self.kubeconfig, args, stdin)
    }
}

/// Runs kubectl with `kubeconfig`, `stdin` piped in when given.
pub fn kubectl_as(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("running kubectl: {err}"));
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .unwrap_or_else(|err| panic!("writing to kubectl: {err}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|err| panic!("waiting for kubectl: {err}"))
}

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(workspace_root().join(self.script))
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// One stored result of a per-resource PolicyReport: (namespace, resource
/// name, policy, rule, result).
pub type StoredResult = (String, String, String, String, String);

/// The stored PolicyReports: their `namespace/name`s and every result,
/// each sorted.
pub fn stored_reports(cluster: &TestCluster) -> (Vec<String>, Vec<StoredResult>) {
    let text = cluster.kubectl_ok(&["get", "policyreports", "-A", "-o", "json"]);
    let list: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
    let text_of = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
    let mut names = Vec::new();
    let mut results = Vec::new();
    for report in list["items"].as_array().into_iter().flatten() {
        let namespace = text_of(&report["metadata"]["namespace"]);
        names.push(format!(
            "{namespace}/{}",
            text_of(&report["metadata"]["name"])
        ));
        for result in report["results"].as_array().into_iter().flatten() {
            results.push((
                namespace.clone(),
                text_of(&report["scope"]["name"]),
                text_of(&result["policy"]),
                text_of(&result["rule"]),
                text_of(&result["result"]),
            ));
        }
    }
    names.sort();
    results.sort();
    (names, results)
}

/// The `written N` of a scan's summary line (stderr).
pub fn written(stderr: &str) -> usize {
    summary_count(stderr, "; written ")
}

/// The count after `label` (`"; written "`, `", deleted "`) in a scan's
/// summary line (stderr).
pub fn summary_count(stderr: &str, label: &str) -> usize {
    stderr
        .lines()
        .find(|l| l.starts_with("scan:"))
        .and_then(|l| l.split(label).nth(1))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} count in:\n{stderr}"))
}

/// Runs the `polscan` binary built for this test run; a run that hangs is
/// killed after five minutes (and then fails its test) instead of hanging CI.
/// `polscan evidence` of the cluster behind `kubeconfig`, from the run
/// record `record` (`namespace/name`), into `out`; it must exit 0 or 1
/// (ready or not). Returns evidence.json and evidence.md.
pub fn evidence_package(kubeconfig: &str, record: &str, out: &Path) -> (serde_json::Value, String) {
    let out_text = out.display().to_string();
    let ran = polscan(&[
        "evidence",
        "--kubeconfig",
        kubeconfig,
        "--scan-record",
        record,
        "--out",
        &out_text,
        "-q",
        // One scan: these tests judge its evidence, not a soak.
        "--min-soak",
        "0",
    ]);
    assert!(
        matches!(ran.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let read = |name: &str| {
        std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let json = serde_json::from_str(&read("evidence.json")).unwrap_or_else(|e| panic!("{e}"));
    (json, read("evidence.md"))
}

/// Two Audit ClusterPolicies on Pods: `require-team-label` (rule `team`:
/// a `team` label) and `disallow-latest` (rule `no-latest`: no `:latest`
/// image).
pub const TEAM_LABEL_AND_LATEST_TAG_POLICIES: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team-label
  annotations:
    policies.kyverno.io/description: Label every Pod with its owning team.
spec:
  validationFailureAction: Audit
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: the team label is missing
      pattern: {metadata: {labels: {team: '?*'}}}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-latest
  annotations:
    policies.kyverno.io/description: Pin every image to a version.
spec:
  validationFailureAction: Audit
  rules:
  - name: no-latest
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: use a pinned tag
      pattern: {spec: {containers: [{image: '!*:latest'}]}}
";

/// A ClusterPolicy (Audit) on Pods: `require-app-label`, rule `check-app`.
pub const REQUIRE_APP_LABEL_CLUSTER_POLICY: &str = r#"apiVersion: kyverno.io/v1
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
"#;

/// A ValidatingPolicy (Audit) on Pods: `no-host-network`.
pub const NO_HOST_NETWORK_VALIDATING_POLICY: &str = r#"apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: no-host-network}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: "!has(object.spec.hostNetwork) || object.spec.hostNetwork == false"
    message: "host networking is not allowed"
"#;

/// A ValidatingAdmissionPolicy refusing Pods with a `:latest` image, and
/// its binding (`pinned-images`) with `validation_action` (Audit, Deny).
pub fn pinned_images_admission_policy(validation_action: &str) -> String {
    format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: pinned-images}}
spec:
  matchConstraints: {{resourceRules: [{{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}}]}}
  validations: [{{expression: \"object.spec.containers.all(c, !c.image.endsWith(':latest'))\"}}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: pinned-images}}
spec: {{policyName: pinned-images, validationActions: [{validation_action}]}}
"
    )
}

pub fn polscan(args: &[&str]) -> Output {
    polscan_with_env(args, &[])
}

/// The item of an evidence.json's `policies` named `name`, panicking when
/// there is none.
pub fn package_policy<'a>(evidence: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    evidence["policies"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {evidence}"))
}

/// [`polscan`] with environment variables set (`POLSCAN_TEST_NOW`).
pub fn polscan_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("timeout")
        .arg("300")
        .arg(polscan_binary())
        .args(args)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|err| panic!("running polscan: {err}"))
}

/// A scan recording its run where `evidence` looks by default
/// (`polscan-system/polscan-last-run`), with more arguments and
/// environment variables; panics unless it succeeds, returns its stderr.
pub fn recorded_scan(cluster: &TestCluster, extra: &[&str], env: &[(&str, &str)]) -> String {
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let mut args = vec![
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "-o",
        "summary",
        "--last-run-configmap",
        "polscan-system/polscan-last-run",
    ];
    args.extend_from_slice(extra);
    let scanned = polscan_with_env(&args, env);
    assert!(scanned.status.success(), "{scanned:?}");
    String::from_utf8_lossy(&scanned.stderr).into_owned()
}

/// The polscan binary: `POLSCAN_BIN`, or target/<profile>/polscan next to the
/// test executable.
pub fn polscan_binary() -> PathBuf {
    if let Ok(path) = std::env::var("POLSCAN_BIN") {
        return PathBuf::from(path);
    }
    // Test executables live in target/<profile>/deps/.
    let exe = std::env::current_exe().unwrap_or_else(|err| panic!("current_exe: {err}"));
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable path {exe:?}"));
    let binary = profile_dir.join("polscan");
    assert!(
        binary.is_file(),
        "polscan binary not found at {binary:?}: build it first (cargo build -p polscan)"
    );
    binary
}

impl TestCluster {
    /// A server with the report CRDs (installed by `polscan install-crds`)
    /// and the stand-ins for Kyverno's policy CRDs (tests/cluster/
    /// kyverno-crds.yaml), established.
    pub fn start_prepared() -> TestCluster {
        let cluster = TestCluster::start();
        let kubeconfig = cluster.kubeconfig().display().to_string();
        let install = polscan(&["install-crds", "--kubeconfig", &kubeconfig]);
        assert!(install.status.success(), "{install:?}");
        let crds = workspace_root()
            .join("tests/cluster/kyverno-crds.yaml")
            .display()
            .to_string();
        cluster.kubectl_ok(&["apply", "-f", &crds]);
        cluster.kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "crd/clusterpolicies.kyverno.io",
            "crd/policyexceptions.kyverno.io",
            "crd/policyreports.wgpolicyk8s.io",
        ]);
        cluster
    }
}
