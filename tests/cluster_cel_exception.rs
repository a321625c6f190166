//! CEL PolicyExceptions (policies.kyverno.io) on a real kube-apiserver +
//! etcd: exceptions stored at any served version are read by `polscan scan`
//! and, in the namespaces `--exception-namespace` names (none without it,
//! as Kyverno's default), turn the results they cover into `skip` (or
//! `pass`) naming them in the PolicyReports; a forbidden list of them
//! leaves the run incomplete.

use polscan_tests::cluster::{polscan, TestCluster};
use serde_json::Value;

/// A ValidatingPolicy against host networking and four host-network Pods:
/// `node-probe` (excepted by a v1 exception in its own namespace),
/// `debug` in `apps` (excepted, with `reportResult: pass`, by a v1alpha1
/// exception stored in another namespace), `sniffer` (whose exception has
/// expired) and `rogue` (no exception).
const OBJECTS: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: telemetry}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: v1
kind: Namespace
metadata: {name: exceptions}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: no-host-network}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  validations:
  - expression: "!has(object.spec.hostNetwork) || object.spec.hostNetwork == false"
    message: pods may not use the host network
---
apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: allow-node-probe, namespace: telemetry}
spec:
  policyRefs: [{name: no-host-network, kind: ValidatingPolicy}]
  matchConditions:
  - {name: the-probe, expression: "object.metadata.name == 'node-probe'"}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: PolicyException
metadata: {name: debug-pods, namespace: exceptions}
spec:
  policyRefs: [{name: no-host-network, kind: ValidatingPolicy}]
  reportResult: pass
  matchConditions:
  - {name: debug-in-apps, expression: "object.metadata.namespace == 'apps' && object.metadata.name == 'debug'"}
---
apiVersion: policies.kyverno.io/v1beta1
kind: PolicyException
metadata: {name: sniffer-until-2020, namespace: telemetry}
spec:
  policyRefs: [{name: no-host-network, kind: ValidatingPolicy}]
  expiresAt: "2020-01-01T00:00:00Z"
  matchConditions:
  - {name: the-sniffer, expression: "object.metadata.name == 'sniffer'"}
---
apiVersion: v1
kind: Pod
metadata: {name: node-probe, namespace: telemetry}
spec:
  hostNetwork: true
  containers: [{name: probe, image: "registry.example.test/probe:0.8.0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: sniffer, namespace: telemetry}
spec:
  hostNetwork: true
  containers: [{name: sniffer, image: "registry.example.test/sniffer:0.1.0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: rogue, namespace: telemetry}
spec:
  hostNetwork: true
  containers: [{name: rogue, image: "registry.example.test/rogue:1.0.0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: apps}
spec:
  hostNetwork: true
  containers: [{name: debug, image: "registry.example.test/debug:1.0.0"}]
"#;

fn prepared_cluster() -> TestCluster {
    let cluster = TestCluster::start_prepared();
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/policyexceptions.policies.kyverno.io",
        "crd/validatingpolicies.policies.kyverno.io",
    ]);
    cluster.apply_yaml(OBJECTS);
    cluster
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `no-host-network` results in the PolicyReport of one Pod.
fn results_for(cluster: &TestCluster, namespace: &str, pod: &str) -> Vec<Value> {
    let text = cluster.kubectl_ok(&["get", "policyreports", "-A", "-o", "json"]);
    let list: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["scope"]["kind"] == "Pod"
                && r["scope"]["name"] == pod
                && r["scope"]["namespace"] == namespace
        })
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["policy"] == "no-host-network")
        .collect()
}

fn only_result(cluster: &TestCluster, namespace: &str, pod: &str) -> Value {
    let found = results_for(cluster, namespace, pod);
    assert_eq!(found.len(), 1, "{namespace}/{pod}: {found:#?}");
    found[0].clone()
}

#[test]
fn stored_cel_exceptions_skip_the_results_they_cover() {
    let cluster = prepared_cluster();
    let kubeconfig = cluster.kubeconfig().display().to_string();

    // As Kyverno by default (no --enablePolicyException): none applied,
    // and the scan says so once, naming the flag to match Kyverno.
    let output = polscan(&["scan", "--kubeconfig", &kubeconfig]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("PolicyException(s) found but not applied"))
        .collect();
    assert_eq!(said.len(), 1, "{err}");
    assert!(
        said[0].starts_with("warning: 3 PolicyException(s)"),
        "{err}"
    );
    assert!(
        said[0].contains("--enablePolicyException --exceptionNamespace=<ns>")
            && said[0].contains("--exception-namespace <ns>"),
        "{err}"
    );
    for (namespace, pod) in [("telemetry", "node-probe"), ("apps", "debug")] {
        let found = only_result(&cluster, namespace, pod);
        assert_eq!(found["result"], "fail", "{found:#}");
        assert!(found["properties"].get("exceptions").is_none());
    }

    // As Kyverno with --exceptionNamespace=telemetry: only telemetry's.
    let output = polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--exception-namespace",
        "telemetry",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "1 PolicyException(s) outside namespace telemetry found but not applied (exceptions/debug-pods)"
        ),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        only_result(&cluster, "telemetry", "node-probe")["result"],
        "skip"
    );
    assert_eq!(only_result(&cluster, "apps", "debug")["result"], "fail");

    // As Kyverno with --exceptionNamespace='*': every namespace's.
    let output = polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--exception-namespace",
        "*",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("not applied"),
        "{}",
        stderr(&output)
    );

    let probe = only_result(&cluster, "telemetry", "node-probe");
    assert_eq!(probe["result"], "skip", "{probe:#}");
    assert_eq!(probe["rule"], "exception", "{probe:#}");
    assert_eq!(
        probe["message"],
        "rule is skipped due to policy exception: telemetry/allow-node-probe"
    );
    assert_eq!(probe["properties"]["exceptions"], "allow-node-probe");

    // An exception stored in another namespace (and at v1alpha1) covers a
    // Pod of `apps`: Kyverno attaches exceptions by policyRefs alone.
    let debug = only_result(&cluster, "apps", "debug");
    assert_eq!(debug["result"], "pass", "{debug:#}");
    assert_eq!(
        debug["message"],
        "rule is passed due to policy exception: exceptions/debug-pods"
    );
    assert_eq!(debug["properties"]["exceptions"], "debug-pods");

    // An expired exception is left out, as Kyverno's controllers leave it.
    let sniffer = only_result(&cluster, "telemetry", "sniffer");
    assert_eq!(sniffer["result"], "fail", "{sniffer:#}");
    assert!(sniffer["properties"].get("exceptions").is_none());

    let rogue = only_result(&cluster, "telemetry", "rogue");
    assert_eq!(rogue["result"], "fail", "{rogue:#}");
    assert_eq!(rogue["message"], "pods may not use the host network");
}

#[test]
fn a_forbidden_cel_exception_list_leaves_the_policies_incomplete() {
    let cluster = prepared_cluster();
    // polscan-limited may read everything it needs but CEL PolicyExceptions.
    cluster.grant_limited(
        r#"- apiGroups: [""]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [apps, batch, extensions, networking.k8s.io, kyverno.io, admissionregistration.k8s.io]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [policies.kyverno.io]
  resources: [validatingpolicies, namespacedvalidatingpolicies]
  verbs: [get, list]
"#,
    );
    let limited = cluster.limited_kubeconfig().display().to_string();
    let output = polscan(&["scan", "--kubeconfig", &limited]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("policyexceptions.policies.kyverno.io")
            && err.contains("some policies could not be read or loaded"),
        "{err}"
    );
    // Without its exception the probe's result is the policy's own.
    let probe = only_result(&cluster, "telemetry", "node-probe");
    assert_eq!(probe["result"], "fail", "{probe:#}");
}
