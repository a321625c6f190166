//! `polscan scan` answering Kyverno's data libraries from a real
//! kube-apiserver (scripts/apiserver.sh): GlobalContextEntries read from
//! the cluster for `globalReference` context entries and CEL
//! `globalContext.Get`, and HTTP calls refused unless `--allow-http`, then
//! made to a server the test runs. Results are read back from the reports.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;

use polscan_tests::cluster::{polscan, TestCluster};
use serde_json::Value;

fn scan(cluster: &TestCluster, extra: &[&str]) -> std::process::Output {
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let mut args = vec!["scan", "--kubeconfig", kubeconfig.as_str()];
    args.extend_from_slice(extra);
    polscan(&args)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// (pod name, policy) → (result, message), from every PolicyReport.
fn pod_results(cluster: &TestCluster) -> BTreeMap<(String, String), (String, String)> {
    let text = cluster.kubectl_ok(&["get", "policyreports", "-A", "-o", "json"]);
    let list: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
    let mut found = BTreeMap::new();
    for report in list["items"].as_array().into_iter().flatten() {
        for result in report["results"].as_array().into_iter().flatten() {
            let text = |v: &Value| v.as_str().unwrap_or("").to_string();
            // Per-resource reports name the resource in `scope` only.
            let resource = &report["scope"];
            if resource["kind"] != "Pod" {
                continue;
            }
            found.insert(
                (text(&resource["name"]), text(&result["policy"])),
                (text(&result["result"]), text(&result["message"])),
            );
        }
    }
    found
}

fn result_of<'a>(
    results: &'a BTreeMap<(String, String), (String, String)>,
    pod: &str,
    policy: &str,
) -> &'a (String, String) {
    results
        .get(&(pod.to_string(), policy.to_string()))
        .unwrap_or_else(|| panic!("no result for {pod} / {policy}: {results:#?}"))
}

fn prepared_cluster() -> TestCluster {
    let cluster = TestCluster::start_prepared();
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/globalcontextentries.kyverno.io",
        "crd/validatingpolicies.policies.kyverno.io",
    ]);
    cluster
}

#[test]
fn global_context_entries_are_computed_from_the_cluster() {
    let cluster = prepared_cluster();
    cluster.apply_yaml(
        r#"apiVersion: v1
kind: Namespace
metadata: {name: registry-config}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: internal, namespace: registry-config, labels: {team: registry}}
data: {host: registry.internal.test}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: mirror, namespace: registry-config}
data: {host: mirror.internal.test}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: elsewhere, namespace: default}
data: {host: elsewhere.example.test}
---
apiVersion: kyverno.io/v2beta1
kind: GlobalContextEntry
metadata: {name: trusted-registries}
spec:
  kubernetesResource: {version: v1, resource: configmaps, namespace: registry-config}
  projections:
  - name: hosts
    jmesPath: "[].data.host"
---
apiVersion: kyverno.io/v2beta1
kind: GlobalContextEntry
metadata: {name: registry-config-list}
spec:
  apiCall:
    urlPath: /api/v1/namespaces/registry-config/configmaps
    refreshInterval: 1h
  projections:
  - name: count
    jmesPath: "items | length(@)"
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: gctx-jmespath}
spec:
  background: true
  rules:
  - name: trusted
    match:
      any:
      - resources: {kinds: [Pod]}
    context:
    - name: hosts
      globalReference: {name: trusted-registries.hosts}
    - name: configMapCount
      globalReference: {name: trusted-registries, jmesPath: "length(@)"}
    validate:
      message: "{{ images.containers.*.registry | [0] }} is not one of {{ configMapCount }} trusted hosts"
      deny:
        conditions:
          any:
          - key: "{{ images.containers.*.registry | [0] }}"
            operator: AnyNotIn
            value: "{{ hosts }}"
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: gctx-missing}
spec:
  background: true
  rules:
  - name: missing
    match:
      any:
      - resources: {kinds: [Pod]}
    context:
    - name: nothing
      globalReference: {name: no-such-entry}
    validate:
      message: "never"
      deny:
        conditions:
          any:
          - key: "{{ nothing }}"
            operator: Equals
            value: "x"
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: gctx-cel}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  variables:
  - name: hosts
    expression: globalContext.Get("trusted-registries", "hosts")
  validations:
  - expression: >-
      globalContext.get("no-such-entry", "hosts") == null &&
      size(globalContext.Get("trusted-registries")) == 2 &&
      globalContext.Get("registry-config-list", "count") == 2 &&
      globalContext.Get("registry-config-list").kind == "ConfigMapList" &&
      resource.list("v1", "configmaps", "registry-config", {}).items.all(i, i.kind == "ConfigMap") &&
      size(resource.List("v1", "configmaps", "", {"team": "registry"}).items) == 1 &&
      object.spec.containers.all(c, variables.hosts.exists(h, c.image.startsWith(h + "/")))
    message: "images must come from a trusted registry"
---
apiVersion: v1
kind: Pod
metadata: {name: trusted, namespace: default}
spec:
  containers: [{name: a, image: "registry.internal.test/app:1"}, {name: b, image: "mirror.internal.test/sidecar:2"}]
---
apiVersion: v1
kind: Pod
metadata: {name: untrusted, namespace: default}
spec:
  containers: [{name: a, image: "elsewhere.example.test/app:1"}]
"#,
    );
    let output = scan(&cluster, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = pod_results(&cluster);
    assert_eq!(result_of(&results, "trusted", "gctx-jmespath").0, "pass");
    let (status, message) = result_of(&results, "untrusted", "gctx-jmespath");
    assert_eq!(status, "fail");
    // Two ConfigMaps in registry-config; the one in default is not listed.
    assert!(
        message.contains("elsewhere.example.test is not one of 2 trusted hosts"),
        "{message}"
    );
    assert_eq!(result_of(&results, "trusted", "gctx-cel").0, "pass");
    assert_eq!(result_of(&results, "untrusted", "gctx-cel").0, "fail");
    let (status, message) = result_of(&results, "trusted", "gctx-missing");
    assert_eq!(status, "error");
    assert!(
        message.contains("failed to fetch entry key=no-such-entry"),
        "{message}"
    );
}

/// This host's address on its default route: polscan, like Kyverno,
/// refuses loopback, so the test's server listens there.
fn routable_address() -> std::net::IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0")
        .unwrap_or_else(|err| panic!("binding a UDP socket: {err}"));
    // Connecting a UDP socket sends nothing; it picks the route.
    socket
        .connect("192.0.2.1:9")
        .or_else(|_| socket.connect("10.255.255.255:9"))
        .unwrap_or_else(|err| panic!("this host needs a non-loopback route: {err}"));
    socket
        .local_addr()
        .unwrap_or_else(|err| panic!("the routed address: {err}"))
        .ip()
}

/// Answers HTTP requests on a thread: `/apps/<name>` is approved when the
/// name starts with "ok-". Returns the base URL.
fn catalog_server() -> String {
    let listener = TcpListener::bind((routable_address(), 0))
        .unwrap_or_else(|err| panic!("binding a port: {err}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|err| panic!("the bound address: {err}"));
    let base = format!("http://{address}");
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { continue };
            let mut buffer = [0u8; 8192];
            let n = socket.read(&mut buffer).unwrap_or(0);
            let request = String::from_utf8_lossy(&buffer[..n]).to_string();
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let name = path.rsplit('/').next().unwrap_or("");
            let body = format!(
                "{{\"approved\": {}, \"path\": {:?}}}",
                name.starts_with("ok-"),
                path
            );
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes());
        }
    });
    base
}

#[test]
fn http_calls_need_allow_http() {
    let cluster = prepared_cluster();
    let base = catalog_server();
    cluster.apply_yaml(&format!(
        r#"apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {{name: catalog-cel}}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  variables:
  - name: entry
    expression: http.Get("{base}/apps/" + object.metadata.name)
  validations:
  - expression: "variables.entry.approved == true && variables.entry.statusCode == 200"
    message: "not approved"
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {{name: catalog-service}}
spec:
  background: true
  rules:
  - name: approved
    match:
      any:
      - resources: {{kinds: [Pod]}}
    context:
    - name: entry
      apiCall:
        service: {{url: "{base}/apps/{{{{request.object.metadata.name}}}}"}}
    validate:
      message: "not approved"
      deny:
        conditions:
          any:
          - key: "{{{{ entry.approved }}}}"
            operator: NotEquals
            value: true
---
apiVersion: kyverno.io/v2beta1
kind: GlobalContextEntry
metadata: {{name: catalog-index}}
spec:
  apiCall:
    service: {{url: "{base}/apps/ok-index"}}
    refreshInterval: 1h
  projections:
  - name: approved
    jmesPath: approved
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {{name: catalog-gctx}}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: 'globalContext.Get("catalog-index", "approved") == true'
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {{name: metadata-probe}}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: 'http.Get("http://127.0.0.1:1/secrets").statusCode == 200'
---
apiVersion: v1
kind: Pod
metadata: {{name: ok-app, namespace: default}}
spec:
  containers: [{{name: a, image: "nginx:1"}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: rogue-app, namespace: default}}
spec:
  containers: [{{name: a, image: "nginx:1"}}]
"#
    ));
    let output = scan(&cluster, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = pod_results(&cluster);
    for policy in ["catalog-cel", "catalog-service", "catalog-gctx"] {
        let (status, message) = result_of(&results, "ok-app", policy);
        assert_eq!(status, "error", "{policy}: {message}");
        assert!(
            (message.contains(&format!("{base}/apps/ok-app"))
                || message.contains(&format!("{base}/apps/ok-index")))
                && message.contains("--allow-http"),
            "{policy}: {message}"
        );
    }

    let output = scan(&cluster, &["--allow-http"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = pod_results(&cluster);
    for policy in ["catalog-cel", "catalog-service"] {
        assert_eq!(result_of(&results, "ok-app", policy).0, "pass", "{policy}");
        assert_eq!(
            result_of(&results, "rogue-app", policy).0,
            "fail",
            "{policy}"
        );
    }
    // The entry's service answers once for the run; both pods pass.
    assert_eq!(result_of(&results, "rogue-app", "catalog-gctx").0, "pass");
    // Kyverno's default blocklist holds with --allow-http.
    let (status, message) = result_of(&results, "ok-app", "metadata-probe");
    assert_eq!(status, "error", "{message}");
    assert!(
        message.contains("blocked: IP 127.0.0.1 falls in blocked range 127.0.0.0/8"),
        "{message}"
    );
}

#[test]
fn subject_access_reviews_are_posted_and_nothing_else_is() {
    let cluster = prepared_cluster();
    cluster.apply_yaml(
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secret-reader, namespace: default}
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-reads-secrets, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: default}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: no-secret-readers}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  variables:
  - name: review
    expression: >-
      resource.post("authorization.k8s.io/v1", "subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
          "user": "system:serviceaccount:default:" + object.spec.serviceAccountName,
          "resourceAttributes": {"namespace": "default", "verb": "get", "resource": "secrets"}
        }
      })
  validations:
  - expression: "!variables.review.status.allowed"
    message: "the pod's service account may read secrets"
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: creates-configmaps}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: >-
      resource.Post("v1", "configmaps", "default",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "planted"}}) != null
---
apiVersion: v1
kind: Pod
metadata: {name: reads-secrets, namespace: default}
spec:
  serviceAccountName: reader
  containers: [{name: a, image: "nginx:1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: reads-nothing, namespace: default}
spec:
  serviceAccountName: other
  containers: [{name: a, image: "nginx:1"}]
"#,
    );
    let output = scan(&cluster, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = pod_results(&cluster);
    assert_eq!(
        result_of(&results, "reads-secrets", "no-secret-readers").0,
        "fail"
    );
    assert_eq!(
        result_of(&results, "reads-nothing", "no-secret-readers").0,
        "pass"
    );
    let (status, message) = result_of(&results, "reads-nothing", "creates-configmaps");
    assert_eq!(status, "error");
    assert!(
        message.contains("failed to create resource") && message.contains("creates no objects"),
        "{message}"
    );
    let planted = cluster.kubectl(&["get", "configmap", "planted", "-n", "default"]);
    assert!(!planted.status.success(), "a ConfigMap was created");
}
