//! A rescan reuses a stored per-resource report instead of evaluating its
//! object again only while nothing its results depend on changed: on a
//! real kube-apiserver + etcd, with a ClusterPolicy (one selecting
//! namespaces by label), a ValidatingPolicy and a ValidatingAdmissionPolicy.
//! Every reused run must give the counts, reports and run record a full
//! evaluation gives.

use polscan_tests::cluster::{
    pinned_images_admission_policy, polscan, stored_reports, StoredResult, TestCluster,
    NO_HOST_NETWORK_VALIDATING_POLICY, REQUIRE_APP_LABEL_CLUSTER_POLICY,
};

const POLICIES: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: prod-needs-owner}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: check-owner
    match:
      any:
      - resources:
          kinds: [Pod]
          namespaceSelector: {matchLabels: {env: prod}}
    validate:
      message: "production Pods name their owner"
      pattern: {metadata: {labels: {owner: "?*"}}}
"#;

fn pod(namespace: &str, name: &str, labels: &str, image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}, labels: {{{labels}}}}}\nspec: {{containers: [{{name: c, image: '{image}'}}]}}\n"
    )
}

struct Run {
    stdout: String,
    stderr: String,
}

impl Run {
    /// How many objects the run took from their stored report.
    fn reused(&self) -> usize {
        self.stderr
            .lines()
            .find(|line| line.starts_with("scan:"))
            .and_then(|line| line.split(" objects (").nth(1))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// The summary's `pass: N  fail: N ...` line.
    fn counts(&self) -> String {
        self.stdout
            .lines()
            .find(|line| line.starts_with("pass:"))
            .unwrap_or_else(|| panic!("no counts in:\n{}\n{}", self.stdout, self.stderr))
            .to_string()
    }

    fn written(&self) -> usize {
        polscan_tests::cluster::written(&self.stderr)
    }
}

fn scan(cluster: &TestCluster, policy_file: &str, output: &str) -> Run {
    scan_exiting(cluster, policy_file, output, 0)
}

/// A scan that exits with `code` (2: incomplete, a policy did not load).
fn scan_exiting(cluster: &TestCluster, policy_file: &str, output: &str, code: i32) -> Run {
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let ran = polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--policy",
        policy_file,
        "-o",
        output,
        "--last-run-configmap",
        "default/polscan-last-run",
    ]);
    let run = Run {
        stdout: String::from_utf8_lossy(&ran.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&ran.stderr).into_owned(),
    };
    assert_eq!(
        ran.status.code(),
        Some(code),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

/// (namespace, Pod, policy, rule, result) of every PolicyReport, sorted.
fn results(cluster: &TestCluster) -> Vec<StoredResult> {
    stored_reports(cluster).1
}

/// The run record's results and objects figures (not its timings).
fn record_results(cluster: &TestCluster) -> Vec<(String, String)> {
    let record = cluster.config_map("default", "polscan-last-run");
    let figures: Vec<(String, String)> = record["data"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| {
            key.starts_with("results") || key.starts_with("objects") || *key == "complete"
        })
        .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_string()))
        .collect();
    assert!(
        figures.iter().any(|(key, _)| key == "resultsByRule"),
        "no resultsByRule in {record}"
    );
    figures
}

fn result_of<'a>(
    results: &'a [(String, String, String, String, String)],
    pod: &str,
    policy: &str,
) -> Option<&'a str> {
    results
        .iter()
        .find(|(_, name, p, _, _)| name == pod && p == policy)
        .map(|(_, _, _, _, result)| result.as_str())
}

#[test]
fn rescans_reuse_stored_reports_only_while_every_input_is_unchanged() {
    let cluster = TestCluster::start_prepared();
    let dir = std::env::temp_dir().join(format!("polscan-reuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vap = dir.join("vap.yaml");
    std::fs::write(&vap, pinned_images_admission_policy("Audit")).unwrap();
    let vap = vap.display().to_string();
    cluster.apply_yaml(REQUIRE_APP_LABEL_CLUSTER_POLICY);
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml(NO_HOST_NETWORK_VALIDATING_POLICY);
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {env: prod}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: team-b}\n");
    cluster.apply_yaml(&pod("team-a", "labelled", "app: web", "nginx:1.27"));
    cluster.apply_yaml(&pod("team-a", "unlabelled", "tier: x", "nginx:latest"));
    cluster.apply_yaml(&pod("team-b", "other", "app: api", "nginx:1.27"));

    // First run: every object evaluated, reports labelled for reuse.
    let first = scan(&cluster, &vap, "summary");
    assert_eq!(first.reused(), 0, "{}", first.stderr);
    let first_results = results(&cluster);
    let first_record = record_results(&cluster);
    assert_eq!(
        result_of(&first_results, "unlabelled", "require-app-label"),
        Some("fail")
    );
    assert_eq!(
        result_of(&first_results, "unlabelled", "pinned-images"),
        Some("fail")
    );
    assert_eq!(
        result_of(&first_results, "labelled", "prod-needs-owner"),
        Some("fail")
    );
    assert_eq!(result_of(&first_results, "other", "prod-needs-owner"), None);
    assert_eq!(
        result_of(&first_results, "other", "no-host-network"),
        Some("pass")
    );

    // Nothing changed: the three Pods' reports stand for them, and the
    // counts, reports and run record are those of a full evaluation.
    let second = scan(&cluster, &vap, "summary");
    assert_eq!(second.reused(), 3, "{}", second.stderr);
    assert_eq!(second.counts(), first.counts());
    assert_eq!(results(&cluster), first_results);
    assert_eq!(record_results(&cluster), first_record);
    // The record says how many objects their stored report stood for.
    let reused_in_record = || {
        cluster.config_map("default", "polscan-last-run")["data"]["resourcesReused"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(reused_in_record(), "3");

    // An output that lists findings evaluates everything, and agrees.
    let table = scan(&cluster, &vap, "table");
    assert_eq!(table.reused(), 0, "{}", table.stderr);
    assert_eq!(table.written(), 0, "{}", table.stderr);
    assert_eq!(reused_in_record(), "0");
    // Its rows are the reports' results (streamed through its view).
    let row = table
        .stdout
        .split("\n\n")
        .find(|block| block.starts_with("require-app-label"))
        .and_then(|block| {
            block
                .lines()
                .find(|line| line.contains("team-a/Pod/unlabelled"))
        });
    assert!(
        row.is_some_and(|row| row.contains(" fail ")),
        "{}",
        table.stdout
    );

    // A changed object is evaluated again (and only it).
    cluster.kubectl_ok(&["label", "pod", "-n", "team-a", "unlabelled", "app=batch"]);
    let fixed = scan(&cluster, &vap, "summary");
    assert_eq!(fixed.reused(), 2, "{}", fixed.stderr);
    assert_eq!(fixed.written(), 1, "{}", fixed.stderr);
    let fixed_results = results(&cluster);
    assert_eq!(
        result_of(&fixed_results, "unlabelled", "require-app-label"),
        Some("pass")
    );
    assert_ne!(fixed.counts(), first.counts());

    // A namespace's labels are an input: its Pods are evaluated again, and
    // the namespaceSelector policy no longer applies to them.
    cluster.kubectl_ok(&["label", "namespace", "team-a", "env=dev", "--overwrite"]);
    let moved = scan(&cluster, &vap, "summary");
    assert_eq!(moved.reused(), 1, "{}", moved.stderr);
    let moved_results = results(&cluster);
    assert_eq!(
        result_of(&moved_results, "labelled", "prod-needs-owner"),
        None
    );

    // A report deleted behind polscan's back is written again: reuse
    // needs the stored report.
    let name = cluster.kubectl_ok(&[
        "get",
        "pod",
        "-n",
        "team-b",
        "other",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    cluster.kubectl_ok(&[
        "delete",
        "policyreport",
        "-n",
        "team-b",
        &format!("polscan-{name}"),
    ]);
    let rewritten = scan(&cluster, &vap, "summary");
    assert_eq!(rewritten.reused(), 2, "{}", rewritten.stderr);
    assert_eq!(rewritten.written(), 1, "{}", rewritten.stderr);
    assert_eq!(results(&cluster), moved_results);

    // An edited policy is a new input for every object.
    cluster.kubectl_ok(&[
        "patch",
        "clusterpolicy",
        "require-app-label",
        "--type=json",
        "-p",
        r#"[{"op": "replace", "path": "/spec/rules/0/validate/message", "value": "label your app"}]"#,
    ]);
    let edited = scan(&cluster, &vap, "summary");
    assert_eq!(edited.reused(), 0, "{}", edited.stderr);
    let settled = scan(&cluster, &vap, "summary");
    assert_eq!(settled.reused(), 3, "{}", settled.stderr);
    assert_eq!(settled.counts(), edited.counts());

    // A reuse annotation edited or removed by hand breaks the seal: the
    // object is evaluated (the counts stay right) and its report repaired.
    let other_report = format!("polscan-{name}");
    let annotate = |change: &str| {
        cluster.kubectl_ok(&[
            "annotate",
            "policyreport",
            "-n",
            "team-b",
            &other_report,
            change,
            "--overwrite",
        ])
    };
    annotate("polscan.io/results-by-rule=0p");
    let tampered = scan(&cluster, &vap, "summary");
    assert_eq!(tampered.reused(), 2, "{}", tampered.stderr);
    assert_eq!(tampered.counts(), settled.counts());
    assert_eq!(tampered.written(), 1, "{}", tampered.stderr);
    // A rewrite for the annotations alone is planned as one, not counted
    // unchanged.
    assert!(
        tampered.stderr.contains("apply 1, unchanged 2"),
        "{}",
        tampered.stderr
    );
    annotate("polscan.io/inputs-");
    let unsealed = scan(&cluster, &vap, "summary");
    assert_eq!(unsealed.reused(), 2, "{}", unsealed.stderr);
    assert_eq!(unsealed.written(), 1, "{}", unsealed.stderr);
    let repaired = scan(&cluster, &vap, "summary");
    assert_eq!(repaired.reused(), 3, "{}", repaired.stderr);
    assert_eq!(repaired.counts(), settled.counts());
    // A run that reuses nothing (its output lists every finding) compares
    // only a digest of the stored results annotation: an edit is still
    // seen and repaired, and an untouched report is not rewritten.
    annotate("polscan.io/results-by-rule=0p");
    let listed = scan(&cluster, &vap, "table");
    assert_eq!(listed.written(), 1, "{}", listed.stderr);
    let listed_again = scan(&cluster, &vap, "table");
    assert_eq!(listed_again.written(), 0, "{}", listed_again.stderr);

    // A policy that stops loading keeps its stored results (carried over);
    // once it is deleted they must go, not be reused.
    let team_label = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: team-label}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: check-team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: "the team label is required"
      PATTERN_OR_BOTH
"#;
    cluster.apply_yaml(&team_label.replace(
        "PATTERN_OR_BOTH",
        "pattern: {metadata: {labels: {team: '?*'}}}",
    ));
    scan(&cluster, &vap, "summary");
    assert_eq!(
        result_of(&results(&cluster), "other", "team-label"),
        Some("fail")
    );
    cluster.apply_yaml(&team_label.replace(
        "PATTERN_OR_BOTH",
        "pattern: {metadata: {labels: {team: '?*'}}}\n      deny: {}",
    ));
    scan_exiting(&cluster, &vap, "summary", 2);
    // An object changed meanwhile: its report is rewritten with the
    // results carried over, which this run could not make.
    cluster.kubectl_ok(&["label", "pod", "-n", "team-b", "other", "app-"]);
    let carried = scan_exiting(&cluster, &vap, "summary", 2);
    assert_eq!(carried.written(), 1, "{}", carried.stderr);
    assert_eq!(
        result_of(&results(&cluster), "other", "team-label"),
        Some("fail")
    );
    cluster.kubectl_ok(&["delete", "clusterpolicy", "team-label"]);
    let deleted = scan(&cluster, &vap, "summary");
    assert_eq!(
        result_of(&results(&cluster), "other", "team-label"),
        None,
        "{}",
        deleted.stderr
    );
    let full = scan(&cluster, &vap, "table");
    assert_eq!(full.written(), 0, "{}", full.stderr);

    // A policy that looks up cluster data can change its result with no
    // object changing: nothing is reused while it is there.
    cluster.apply_yaml(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: allowed-images}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: check-registry
    match: {any: [{resources: {kinds: [Pod]}}]}
    context:
    - name: allowed
      configMap: {name: allowed-images, namespace: default}
    validate:
      message: "image not allowed"
      deny:
        conditions:
          any:
          - key: "{{ request.object.spec.containers[0].image }}"
            operator: AnyNotIn
            value: "{{ allowed.data.images || '' }}"
"#,
    );
    let looked_up = scan(&cluster, &vap, "summary");
    let again = scan(&cluster, &vap, "summary");
    assert_eq!(looked_up.reused(), 0, "{}", looked_up.stderr);
    assert_eq!(again.reused(), 0, "{}", again.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server can serve an object differently at one resourceVersion: a
/// CRD default added later shows in every read of the stored object.
#[test]
fn a_default_the_server_adds_on_read_is_a_changed_object() {
    let cluster = TestCluster::start_prepared();
    let crd = |default: &str| {
        format!(
            r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.example.com}}
spec:
  group: example.com
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              tier: {{type: string{default}}}
"#
        )
    };
    cluster.apply_yaml(&crd(""));
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
    ]);
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
    cluster.apply_yaml(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: {}\n",
    );
    cluster.apply_yaml(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: widget-tier}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: check-tier
    match: {any: [{resources: {kinds: [example.com/v1/Widget]}}]}
    validate:
      message: "a widget names its tier"
      pattern: {spec: {tier: "?*"}}
"#,
    );
    let dir = std::env::temp_dir().join(format!("polscan-reuse-crd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vap = dir.join("vap.yaml");
    std::fs::write(&vap, pinned_images_admission_policy("Audit")).unwrap();
    let vap = vap.display().to_string();
    scan(&cluster, &vap, "summary");
    let second = scan(&cluster, &vap, "summary");
    assert_eq!(second.reused(), 1, "{}", second.stderr);
    assert_eq!(
        result_of(&results(&cluster), "w", "widget-tier"),
        Some("fail")
    );
    cluster.apply_yaml(&crd(", default: gold"));
    let defaulted = scan(&cluster, &vap, "summary");
    assert_eq!(defaulted.reused(), 0, "{}", defaulted.stderr);
    assert_eq!(
        result_of(&results(&cluster), "w", "widget-tier"),
        Some("pass")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
