//! Issue #11 on a real kube-apiserver + etcd: every policy kind's results
//! reach the reports (and the reports the server accepts), every listed
//! object is evaluated whatever version the server serves its kind in, and
//! a run that lacks a policy never costs that policy's evidence.

use polscan_tests::cluster::{polscan, TestCluster};
use serde_json::Value;

/// One policy of every kind the cluster stores, in Audit, plus a
/// PolicyException. Pods in `shop`: `bad` (latest tag, no team label),
/// `good` (pinned, labelled) and `preview` (which the ValidatingPolicy's
/// matchConditions leave out); a `batch/v1beta1` CronJob with a latest tag.
const CLUSTER_OBJECTS: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: disallow-latest}
spec:
  validationFailureAction: Audit
  background: true
  rules:
  - name: no-latest
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: use a pinned tag
      pattern: {spec: {containers: [{image: '!*:latest'}]}}
---
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: require-team, namespace: shop}
spec:
  validationFailureAction: Audit
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: the team label is missing
      pattern: {metadata: {labels: {team: '?*'}}}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: no-host-network}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  matchConditions:
  - {name: not-preview, expression: "object.metadata.name != 'preview'"}
  validations:
  - expression: "!object.spec.containers.exists(c, c.image.endsWith(':latest'))"
    message: latest images are not allowed
---
apiVersion: policies.kyverno.io/v1alpha1
kind: NamespacedValidatingPolicy
metadata: {name: team-label, namespace: shop}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  validations:
  - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
    message: pods need a team label
---
apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: bad-is-known, namespace: shop}
spec:
  exceptions:
  - {policyName: shop/require-team, ruleNames: [team]}
  match:
    any:
    - resources: {kinds: [Pod], namespaces: [shop], names: [bad]}
---
apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: shop}
spec:
  containers: [{name: c, image: 'nginx:latest'}]
---
apiVersion: v1
kind: Pod
metadata: {name: good, namespace: shop, labels: {team: shop}}
spec:
  containers: [{name: c, image: 'nginx:1.25'}]
---
apiVersion: v1
kind: Pod
metadata: {name: preview, namespace: shop, labels: {team: shop}}
spec:
  containers: [{name: c, image: 'nginx:1.25'}]
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: ingress-host}
spec:
  validationFailureAction: Audit
  rules:
  - name: host
    match: {any: [{resources: {kinds: [Ingress]}}]}
    validate:
      message: every Ingress rule names a host
      pattern: {spec: {rules: [{host: '?*'}]}}
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: front, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - path: /
        backend: {serviceName: front, servicePort: 80}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: '@daily'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: 'busybox:latest'}]
"#;

/// A ValidatingAdmissionPolicy and its binding, from files: the 1.20 test
/// server predates the API (1.26).
const ADMISSION_POLICY: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: pinned-images}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  validations:
  - expression: "object.spec.containers.all(c, !c.image.endsWith(':latest'))"
    message: images must be pinned
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: pinned-images-audit}
spec:
  policyName: pinned-images
  validationActions: [Audit]
"#;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn policy_reports(cluster: &TestCluster) -> Vec<Value> {
    let text = cluster.kubectl_ok(&["get", "policyreports", "-A", "-o", "json"]);
    let list: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
    list["items"].as_array().cloned().unwrap_or_default()
}

/// The report of one resource, by scope kind and name.
fn report_of(cluster: &TestCluster, kind: &str, name: &str) -> Option<Value> {
    policy_reports(cluster)
        .into_iter()
        .find(|r| r["scope"]["kind"] == kind && r["scope"]["name"] == name)
}

/// The results of one policy in a report.
fn results_of<'a>(report: &'a Value, policy: &str) -> Vec<&'a Value> {
    report["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["policy"] == policy)
        .collect()
}

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("polscan-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

#[test]
fn every_policy_kind_reaches_the_reports_and_every_listed_object_is_evaluated() {
    let cluster = TestCluster::start_prepared();
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/validatingpolicies.policies.kyverno.io",
        "crd/namespacedvalidatingpolicies.policies.kyverno.io",
    ]);
    cluster.apply_yaml(CLUSTER_OBJECTS);
    let vap = write_temp("vap.yaml", ADMISSION_POLICY);
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let vap_path = vap.display().to_string();
    // This test's scan, with `extra` arguments.
    let scan_with = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--kubeconfig",
            &kubeconfig,
            "--policy",
            &vap_path,
            "--exception-namespace",
            "shop",
        ];
        args.extend_from_slice(extra);
        polscan(&args)
    };
    let scan_recording_to = |record: &str| scan_with(&["--last-run-configmap", record]);
    // A record that cannot be written stops the run before any report is
    // written, not after the whole scan.
    let unrecordable = scan_recording_to("no-such-namespace/polscan-last-run");
    let err = stderr(&unrecordable);
    assert_ne!(unrecordable.status.code(), Some(0), "{err}");
    assert!(
        err.contains("no-such-namespace/polscan-last-run") && err.contains("nothing was scanned"),
        "{err}"
    );
    assert!(
        policy_reports(&cluster).is_empty(),
        "reports written: {err}"
    );
    assert!(cluster
        .kubectl_ok(&["get", "clusterpolicyreports", "-o", "name"])
        .trim()
        .is_empty());
    let output = scan_recording_to("default/polscan-last-run");
    let err = stderr(&output);
    // Every report was accepted: nothing failed to write, the run is whole.
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("failed 0"), "{err}");

    let bad = report_of(&cluster, "Pod", "bad").unwrap_or_else(|| panic!("no report for bad"));
    let uid = bad["scope"]["uid"].as_str().unwrap_or_default();
    assert_eq!(bad["metadata"]["name"], format!("polscan-{uid}"));
    let one = |policy: &str| {
        let found = results_of(&bad, policy);
        assert_eq!(found.len(), 1, "{policy} in {bad:#}");
        found[0].clone()
    };
    // ClusterPolicy and Policy.
    assert_eq!(one("disallow-latest")["result"], "fail");
    assert_eq!(one("disallow-latest")["rule"], "no-latest");
    let excepted = one("shop/require-team");
    assert_eq!(excepted["result"], "skip");
    assert!(excepted["properties"]["exceptions"]
        .as_str()
        .is_some_and(|names| names.ends_with("bad-is-known")));
    // ValidatingPolicy and its namespaced form: no rule name is written.
    let vpol = one("no-host-network");
    assert_eq!(vpol["result"], "fail");
    assert!(vpol.get("rule").is_none(), "{vpol}");
    let nvpol = one("shop/team-label");
    assert_eq!(nvpol["result"], "fail");
    assert!(nvpol.get("rule").is_none(), "{nvpol}");
    // VAP: the rule is the policy's name, the binding a property.
    let vap_result = one("pinned-images");
    assert_eq!(vap_result["result"], "fail");
    assert_eq!(vap_result["rule"], "pinned-images");
    assert_eq!(vap_result["properties"]["binding"], "pinned-images-audit");

    // The run record counts what the reports hold (matchConditions skips
    // are in neither).
    let record: Value = cluster.config_map("default", "polscan-last-run");
    // It keeps which PolicyExceptions were applied, for the evidence.
    assert_eq!(record["data"]["policyExceptions"], "namespace");
    assert_eq!(record["data"]["exceptionNamespace"], "shop");
    assert_eq!(record["data"]["policyExceptionsNotApplied"], "0");
    let mut reported: std::collections::BTreeMap<String, usize> = Default::default();
    for kind in ["policyreports", "clusterpolicyreports"] {
        let text = cluster.kubectl_ok(&["get", kind, "-A", "-o", "json"]);
        let list: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        for result in list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        {
            *reported
                .entry(result["result"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
    }
    for status in ["pass", "fail", "warn", "error", "skip"] {
        let recorded: usize = record["data"][format!("results.{status}")]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("results.{status} in {record:#}"));
        assert_eq!(
            recorded,
            reported.get(status).copied().unwrap_or(0),
            "{status}: record {record:#} vs reports {reported:?}"
        );
    }

    // matchConditions false: the ValidatingPolicy says nothing about preview.
    let preview =
        report_of(&cluster, "Pod", "preview").unwrap_or_else(|| panic!("no report for preview"));
    assert!(
        results_of(&preview, "no-host-network").is_empty(),
        "{preview:#}"
    );
    assert_eq!(results_of(&preview, "pinned-images").len(), 1);

    // The batch/v1beta1 CronJob meets the autogen rule (batch/v1/CronJob).
    let cronjob =
        report_of(&cluster, "CronJob", "nightly").unwrap_or_else(|| panic!("no CronJob report"));
    let autogen = results_of(&cronjob, "disallow-latest");
    assert_eq!(autogen.len(), 1, "{cronjob:#}");
    assert_eq!(autogen[0]["rule"], "autogen-cronjob-no-latest");
    assert_eq!(autogen[0]["result"], "fail");

    // The Ingress is served by two groups on 1.20 (extensions,
    // networking.k8s.io): it is evaluated and reported once, and a rescan
    // of the unchanged cluster writes nothing.
    let ingress_reports: Vec<Value> = policy_reports(&cluster)
        .into_iter()
        .filter(|r| r["scope"]["kind"] == "Ingress")
        .collect();
    assert_eq!(ingress_reports.len(), 1, "{ingress_reports:#?}");
    assert_eq!(
        results_of(&ingress_reports[0], "ingress-host")[0]["result"],
        "fail"
    );
    let rescan = scan_with(&[]);
    let err = stderr(&rescan);
    assert_eq!(rescan.status.code(), Some(0), "{err}");
    assert!(err.contains("written 0,"), "{err}");

    // walk25 F15: a report edited by hand (fail → pass, its annotations
    // kept, as `kubectl edit` keeps them) is written again by the next
    // scan, not "unchanged"; the scan after that writes nothing.
    let name = bad["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let namespace = bad["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let text = cluster.kubectl_ok(&["get", "policyreport", "-n", &namespace, &name, "-o", "json"]);
    let mut edited: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    for result in edited["results"].as_array_mut().into_iter().flatten() {
        if result["result"] == "fail" {
            result["result"] = "pass".into();
        }
    }
    let replaced = cluster.kubectl_with_stdin(&["replace", "-f", "-"], Some(&edited.to_string()));
    assert!(
        replaced.status.success(),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    let hand_edited = report_of(&cluster, "Pod", "bad").unwrap_or_else(|| panic!("no report"));
    assert_eq!(
        results_of(&hand_edited, "disallow-latest")[0]["result"],
        "pass"
    );
    let repair = scan_with(&[]);
    let err = stderr(&repair);
    assert_eq!(repair.status.code(), Some(0), "{err}");
    assert!(err.contains("written 1,"), "{err}");
    assert!(
        err.contains("changed by a field manager other than polscan (1 by kubectl-replace)"),
        "{err}"
    );
    let repaired = report_of(&cluster, "Pod", "bad").unwrap_or_else(|| panic!("no report"));
    assert_eq!(
        results_of(&repaired, "disallow-latest")[0]["result"],
        "fail"
    );
    let settled = scan_with(&[]);
    let err = stderr(&settled);
    assert!(
        err.contains("written 0,") && !err.contains("field manager"),
        "{err}"
    );

    // The run record counts what each kind and rule evaluated.
    let record: Value = cluster.config_map("default", "polscan-last-run");
    let data = &record["data"];
    let by_kind: Value =
        serde_json::from_str(data["objectsEvaluatedByKind"].as_str().unwrap_or("{}"))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(by_kind["batch/CronJob"], 1, "{data:#}");
    assert_eq!(by_kind["Pod"], 3, "{data:#}");
    let by_rule: Value = serde_json::from_str(data["resultsByRule"].as_str().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        by_rule["disallow-latest"]["autogen-cronjob-no-latest"]["fail"], 1,
        "{data:#}"
    );

    // The evidence sees the policy of every kind: the cluster's, and the
    // VAP from its file (this server has no VAP API to read it from).
    let out = std::env::temp_dir().join(format!("polscan-trust-evidence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let out_path = out.display().to_string();
    let evidence = polscan(&[
        "evidence",
        "--kubeconfig",
        &kubeconfig,
        "--policies-from",
        &vap_path,
        "--scan-record",
        "default/polscan-last-run",
        "--out",
        &out_path,
        "--min-soak",
        "0",
    ]);
    assert!(evidence.status.success(), "{}", stderr(&evidence));
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("evidence.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let policies = json["policies"].as_array().cloned().unwrap_or_default();
    for (kind, namespace, name) in [
        ("ClusterPolicy", "", "disallow-latest"),
        ("Policy", "shop", "require-team"),
        ("ValidatingPolicy", "", "no-host-network"),
        ("NamespacedValidatingPolicy", "shop", "team-label"),
        ("ValidatingAdmissionPolicy", "", "pinned-images"),
    ] {
        let entry = policies
            .iter()
            .find(|p| {
                p["kind"] == kind
                    && p["name"] == name
                    && p["namespace"].as_str().unwrap_or("") == namespace
            })
            .unwrap_or_else(|| panic!("{kind} {namespace}/{name} not in {policies:#?}"));
        assert_eq!(entry["found"], true, "{entry:#}");
        // Every one of them has a violator here, and all are in Audit.
        assert_eq!(entry["verdict"], "not-ready", "{entry:#}");
        assert_eq!(entry["action"], "Audit", "{entry:#}");
    }
}

/// A ClusterPolicy on ServiceAccounts and one on Pods, a Policy on Pods.
const SOURCES: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: sa-owner}
spec:
  validationFailureAction: Audit
  rules:
  - name: owner
    match: {any: [{resources: {kinds: [ServiceAccount]}}]}
    validate:
      message: service accounts need an owner label
      pattern: {metadata: {labels: {owner: '?*'}}}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: disallow-latest}
spec:
  validationFailureAction: Audit
  rules:
  - name: no-latest
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: use a pinned tag
      pattern: {spec: {containers: [{image: '!*:latest'}]}}
---
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: require-team, namespace: team}
spec:
  validationFailureAction: Audit
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: the team label is missing
      pattern: {metadata: {labels: {team: '?*'}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: team}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: team
  annotations:
    polscan.io/exception: sa-owner
    polscan.io/exception-reason: not a service account
    polscan.io/exception-expires: '2099-01-01'
spec:
  containers: [{name: c, image: 'nginx:latest'}]
"#;

/// Everything a scan reads, except ClusterPolicies (rules for
/// `TestCluster::grant_limited`).
const NO_CLUSTER_POLICIES_ROLE: &str = r#"- apiGroups: [""]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [apps, batch, extensions]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [kyverno.io]
  resources: [policies, policyexceptions]
  verbs: [get, list]
- apiGroups: [policies.kyverno.io]
  resources: ["*"]
  verbs: [get, list]
"#;

fn assert_evidence_kept(cluster: &TestCluster, context: &str) {
    let sa = report_of(cluster, "ServiceAccount", "builder")
        .unwrap_or_else(|| panic!("{context}: the ServiceAccount's report was deleted"));
    let owner = results_of(&sa, "sa-owner");
    assert_eq!(owner.len(), 1, "{context}: {sa:#}");
    assert_eq!(owner[0]["result"], "fail", "{context}");
    let web = report_of(cluster, "Pod", "web")
        .unwrap_or_else(|| panic!("{context}: the Pod's report was deleted"));
    // Rewritten for the Policy's new verdict, with the missing
    // ClusterPolicy's stored result carried over.
    assert_eq!(
        results_of(&web, "team/require-team")[0]["result"],
        "pass",
        "{context}: {web:#}"
    );
    let latest = results_of(&web, "disallow-latest");
    assert_eq!(latest.len(), 1, "{context}: {web:#}");
    assert_eq!(latest[0]["result"], "fail", "{context}");
}

#[test]
fn a_policy_that_cannot_be_read_or_loaded_keeps_its_evidence() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml(SOURCES);
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let first = polscan(&["scan", "--kubeconfig", &kubeconfig]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(report_of(&cluster, "ServiceAccount", "builder").is_some());

    // The Pod is fixed for the Policy, so its report must be rewritten.
    cluster.kubectl_ok(&["label", "pod", "-n", "team", "web", "team=web"]);

    // ClusterPolicies cannot be listed.
    cluster.grant_limited(NO_CLUSTER_POLICIES_ROLE);
    let limited = cluster.limited_kubeconfig().display().to_string();
    let forbidden = polscan(&["scan", "--kubeconfig", &limited]);
    let err = stderr(&forbidden);
    assert_eq!(forbidden.status.code(), Some(2), "{err}");
    assert!(err.contains("no report was pruned"), "{err}");
    // The reports kept are one line, however many (the first named).
    let kept: Vec<&str> = err.lines().filter(|l| l.starts_with("kept ")).collect();
    assert_eq!(kept.len(), 1, "{err}");
    assert!(kept[0].contains("PolicyReport team/polscan-"), "{err}");
    assert!(
        err.contains("1 stored results of those policies were kept"),
        "{err}"
    );
    assert!(
        err.contains("kept in the 1 reports rewritten (0 planned writes"),
        "{err}"
    );
    assert_evidence_kept(&cluster, "list forbidden");
    // sa-owner exists, it just could not be read: the Pod's exception
    // annotation naming it is not reported as naming a missing policy.
    let web = report_of(&cluster, "Pod", "web").unwrap_or_else(|| panic!("no Pod report"));
    assert!(results_of(&web, "sa-owner").is_empty(), "{web:#}");

    // A Pod scanned with every policy, deleted later while a policy cannot
    // be loaded.
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: leaver, namespace: team}\nspec:\n  containers: [{name: c, image: 'nginx:1.27'}]\n",
    );
    let with_leaver = polscan(&["scan", "--kubeconfig", &kubeconfig]);
    assert_eq!(
        with_leaver.status.code(),
        Some(0),
        "{}",
        stderr(&with_leaver)
    );
    assert!(report_of(&cluster, "Pod", "leaver").is_some());

    // The ServiceAccount policy is broken instead (readable, not loadable).
    cluster.kubectl_ok(&[
        "patch",
        "clusterpolicy",
        "sa-owner",
        "--type=merge",
        "-p",
        r#"{"spec":{"rules":{"not":"a-list"}}}"#,
    ]);
    // A resource deleted meanwhile: no result about it stands, whatever
    // policy is missing, so its report goes (it stayed, and the evidence
    // counted its fail); the others are kept.
    cluster.kubectl_ok(&["delete", "pod", "-n", "team", "leaver"]);
    let broken = polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--last-run-configmap",
        "default/polscan-last-run",
    ]);
    let err = stderr(&broken);
    assert_eq!(broken.status.code(), Some(2), "{err}");
    assert!(err.contains("ClusterPolicy/sa-owner"), "{err}");
    assert!(
        err.contains("only the 1 reports of resources that are gone were pruned"),
        "{err}"
    );
    assert!(
        report_of(&cluster, "Pod", "leaver").is_none(),
        "the gone Pod's report was kept: {err}"
    );
    assert_evidence_kept(&cluster, "policy invalid");
    let record = cluster.kubectl_ok(&[
        "get",
        "configmap",
        "-n",
        "default",
        "polscan-last-run",
        "-o",
        "jsonpath={.data.invalidPolicies} {.data.policiesIncomplete} {.data.complete}",
    ]);
    assert_eq!(record.trim(), "sa-owner true false");

    // Once every policy loads again, a complete scan rewrites as usual.
    cluster.kubectl_ok(&["delete", "clusterpolicy", "sa-owner"]);
    let complete = polscan(&["scan", "--kubeconfig", &kubeconfig]);
    let err = stderr(&complete);
    assert_eq!(complete.status.code(), Some(0), "{err}");
    assert!(
        report_of(&cluster, "ServiceAccount", "builder").is_none(),
        "{err}"
    );
}

#[test]
fn reports_are_checked_against_the_crds_the_cluster_serves() {
    // Another producer's PolicyReport CRD whose results may not be `skip`.
    let cluster = TestCluster::start();
    let crd = report_model::schema::POLICY_REPORTS_CRD_YAML.replace(
        "                  - error\n                  - skip\n",
        "                  - error\n",
    );
    assert_ne!(crd, report_model::schema::POLICY_REPORTS_CRD_YAML);
    cluster.apply_yaml(&crd);
    cluster.apply_yaml(report_model::schema::CLUSTER_POLICY_REPORTS_CRD_YAML);
    let crds = polscan_tests::cluster::workspace_root()
        .join("tests/cluster/kyverno-crds.yaml")
        .display()
        .to_string();
    cluster.kubectl_ok(&["apply", "-f", &crds]);
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/policyreports.wgpolicyk8s.io",
        "crd/policies.kyverno.io",
        "crd/policyexceptions.kyverno.io",
    ]);
    cluster.apply_yaml(
        r#"apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: require-team, namespace: shop}
spec:
  validationFailureAction: Audit
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      pattern: {metadata: {labels: {team: '?*'}}}
---
apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: legacy, namespace: shop}
spec:
  exceptions:
  - {policyName: shop/require-team, ruleNames: [team]}
  match:
    any:
    - resources: {kinds: [Pod], names: [legacy]}
---
apiVersion: v1
kind: Pod
metadata: {name: legacy, namespace: shop}
spec:
  containers: [{name: c, image: 'nginx:1.25'}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {team: shop}}
spec:
  containers: [{name: c, image: 'nginx:1.25'}]
"#,
    );
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let output = polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--exception-namespace",
        "*",
    ]);
    let err = stderr(&output);
    // The skip result does not fit this CRD: that report is not sent (the
    // server would refuse it), the run says so and is incomplete...
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not written") && err.contains(".results[].result"),
        "{err}"
    );
    assert!(report_of(&cluster, "Pod", "legacy").is_none());
    // ...and the other report is written.
    assert!(report_of(&cluster, "Pod", "web").is_some(), "{err}");
}
