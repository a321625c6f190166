//! `polscan evidence` against a real kube-apiserver + etcd: a scan records
//! its run, then the evidence reads the reports, policies, PolicyExceptions,
//! the run record and the cluster's identity back through the API, and its
//! verdicts follow the resources that do and do not comply. Pods are owned
//! by a ReplicaSet owned by a Deployment (ownerReferences set by hand: the
//! test server runs no controllers), so violators group under the Deployment.

use std::path::Path;

use polscan_tests::cluster::{polscan, TestCluster, TEAM_LABEL_AND_LATEST_TAG_POLICIES};
use serde_json::Value;

/// The two policies: one the test's Pods keep, one some violate.
const POLICIES: &str = TEAM_LABEL_AND_LATEST_TAG_POLICIES;

fn uid(cluster: &TestCluster, what: &[&str]) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend(["-o", "jsonpath={.metadata.uid}"]);
    cluster.kubectl_ok(&args).trim().to_string()
}

fn pod(name: &str, image: &str, owner: Option<(&str, &str)>) -> String {
    labelled_pod("shop", name, "team: shop", image, owner)
}

fn evidence(cluster: &TestCluster, out: &Path, extra: &[&str]) -> (Value, String, Option<i32>) {
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let out_text = out.display().to_string();
    // One scan (or two): these tests judge its evidence, not a soak
    // (tests/cluster_soak.rs does).
    let mut args = vec![
        "evidence",
        "--kubeconfig",
        &kubeconfig,
        "--out",
        &out_text,
        "--min-soak",
        "0",
    ];
    args.extend_from_slice(extra);
    let output = polscan(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read(out.join("evidence.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null);
    // A package from a real cluster holds what one from files does not
    // (the record's settings, per-namespace objects): the published schema
    // must take it (walk39 F23).
    if !json.is_null() {
        let errors: Vec<String> = EVIDENCE_SCHEMA
            .iter_errors(&json)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "evidence.json against docs/evidence.schema.json: {errors:?}"
        );
    }
    (json, text, output.status.code())
}

/// docs/evidence.schema.json, compiled once.
static EVIDENCE_SCHEMA: std::sync::LazyLock<jsonschema::Validator> =
    std::sync::LazyLock::new(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/evidence.schema.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("schema: {e}"));
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema: {e}"))
    });

/// A scan that records its run where `evidence` looks by default.
fn recorded_scan(cluster: &TestCluster) {
    recorded_scan_with(cluster, &[]);
}

/// The same with more arguments; returns its stderr.
fn recorded_scan_with(cluster: &TestCluster, extra: &[&str]) -> String {
    polscan_tests::cluster::recorded_scan(cluster, extra, &[])
}

fn policy<'a>(evidence: &'a Value, name: &str) -> &'a Value {
    polscan_tests::cluster::package_policy(evidence, name)
}

/// A cluster with the namespaces `namespaces` and `polscan-system`, the two
/// policies, and `spec_patch` (JSON) merged into disallow-latest's spec.
fn policies_cluster(namespaces: &[&str], spec_patch: &str) -> TestCluster {
    let cluster = TestCluster::start_prepared();
    let yaml: Vec<String> = namespaces
        .iter()
        .chain(&["polscan-system"])
        .map(|name| format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"))
        .collect();
    cluster.apply_yaml(&yaml.join("---\n"));
    cluster.apply_yaml(POLICIES);
    let patch = format!(r#"{{"spec":{spec_patch}}}"#);
    cluster.kubectl_ok(&[
        "patch",
        "clusterpolicy",
        "disallow-latest",
        "--type=merge",
        "-p",
        &patch,
    ]);
    cluster
}

/// The package's decision for policy `name` (`"roll-back"`, `"enforced"`…).
fn decision_of(package: &Value, name: &str) -> Value {
    package["decisions"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["policy"] == name))
        .map(|d| d["decision"].clone())
        .unwrap_or_default()
}

#[test]
fn evidence_verdicts_from_the_cluster() {
    let cluster = TestCluster::start_prepared();
    let kubeconfig = cluster.kubeconfig().display().to_string();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web, team: shop}}\n    spec: {containers: [{name: c, image: 'nginx:1.27'}]}\n");
    let deployment_uid = uid(&cluster, &["deployment", "web", "-n", "shop"]);
    cluster.apply_yaml(&format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-5d8f\n  namespace: shop\n  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: web, uid: {deployment_uid}, controller: true}}]\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web, team: shop}}}}\n    spec: {{containers: [{{name: c, image: 'nginx:1.27'}}]}}\n"));
    let rs_uid = uid(&cluster, &["replicaset", "web-5d8f", "-n", "shop"]);
    // Two Pods of the Deployment run an unpinned image (a hand-edited
    // ReplicaSet); one Pod without an owner complies.
    cluster.apply_yaml(&pod(
        "web-5d8f-a",
        "nginx:latest",
        Some(("web-5d8f", &rs_uid)),
    ));
    cluster.apply_yaml(&pod(
        "web-5d8f-b",
        "nginx:latest",
        Some(("web-5d8f", &rs_uid)),
    ));
    cluster.apply_yaml(&pod("lone", "redis:7", None));

    let dir = std::env::temp_dir().join(format!("polscan-evidence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    // Without a recorded scan, nothing is ready: completeness is unknown.
    let scan = polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--no-cluster-policies",
        "--policy",
        "/dev/null",
    ]);
    assert_eq!(scan.status.code(), Some(2), "no policies is an error");
    let scanned = polscan(&["scan", "--kubeconfig", &kubeconfig, "-o", "summary"]);
    assert!(scanned.status.success(), "{scanned:?}");
    let (unrecorded, text, code) = evidence(&cluster, &dir.join("unrecorded"), &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("no scan record at ConfigMap polscan-system/polscan-last-run"),
        "{text}"
    );
    assert_eq!(
        policy(&unrecorded, "require-team-label")["verdict"],
        "not-ready"
    );

    recorded_scan(&cluster);
    let first = dir.join("first");
    let (found, text, code) = evidence(&cluster, &first, &["--require-ready"]);
    assert_eq!(code, Some(1), "one policy is not ready: {text}");
    let team = policy(&found, "require-team-label");
    assert_eq!(team["verdict"], "ready", "{team}");
    let latest = policy(&found, "disallow-latest");
    assert_eq!(latest["verdict"], "not-ready");
    assert_eq!(latest["counts"]["fail"], 2, "{latest}");
    let owners: Vec<String> = latest["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| format!("{}/{}", v["owner"]["kind"], v["owner"]["name"]).replace('"', ""))
        .collect();
    assert_eq!(owners, ["Deployment/web", "Deployment/web"], "{latest}");
    assert_eq!(
        latest["rollback"]["command"],
        "kubectl patch clusterpolicy/disallow-latest --type=merge -p '{\"spec\":{\"validationFailureAction\":\"Audit\"}}'"
    );
    // The cluster's identity, as the server tells it.
    let kube_system = uid(&cluster, &["namespace", "kube-system"]);
    assert!(!kube_system.is_empty());
    assert_eq!(found["cluster"]["kubeSystemUid"], kube_system.as_str());
    let version: Value =
        serde_json::from_str(&cluster.kubectl_ok(&["get", "--raw", "/version"])).expect("version");
    let git_version = version["gitVersion"]
        .as_str()
        .expect("gitVersion")
        .to_string();
    assert_eq!(found["cluster"]["serverVersion"], git_version.as_str());
    assert_eq!(found["scan"]["complete"], true);
    let manifest = std::fs::read_to_string(first.join("MANIFEST")).expect("MANIFEST");
    assert!(manifest.contains(&format!("cluster-kube-system-uid: {kube_system}")));
    assert!(manifest.contains(&format!("cluster-server-version: {git_version}")));
    let verified = polscan(&["evidence", "verify", &first.display().to_string()]);
    assert!(verified.status.success(), "{verified:?}");

    // Fix the Pods in Git (here: replace them), rescan: both ready, and
    // the comparison shows the fixed violations. Then the policy changes
    // after the scan: it must be rescanned before it counts as evidence.
    cluster.kubectl_ok(&["delete", "pod", "-n", "shop", "web-5d8f-a", "web-5d8f-b"]);
    cluster.apply_yaml(&pod(
        "web-5d8f-c",
        "nginx:1.27",
        Some(("web-5d8f", &rs_uid)),
    ));
    recorded_scan(&cluster);
    let first_text = first.display().to_string();
    let (second, text, code) = evidence(
        &cluster,
        &dir.join("second"),
        &["--since", &first_text, "--require-ready"],
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(policy(&second, "disallow-latest")["verdict"], "ready");
    assert_eq!(
        second["comparison"]["fixedViolations"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{}",
        second["comparison"]
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    cluster.kubectl_ok(&[
        "annotate",
        "clusterpolicy",
        "require-team-label",
        "policies.kyverno.io/title=Team label",
    ]);
    let (changed, _, _) = evidence(&cluster, &dir.join("third"), &[]);
    let reasons = policy(&changed, "require-team-label")["reasons"].to_string();
    assert!(reasons.contains("after the last scan started"), "{reasons}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Pod excused only by `polscan.io/exception` annotations: Kyverno's
/// admission would reject its next change, so the policy is not ready and
/// the package holds a PolicyException for exactly that Pod, which the
/// server accepts; once applied, the bypass is Kyverno's too and the
/// policy is ready.
#[test]
fn an_annotation_bypass_gets_a_policy_exception_the_server_accepts() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: vendor\n  namespace: shop\n  labels: {team: shop}\n  annotations:\n    polscan.io/exception: disallow-latest/no-latest\n    polscan.io/exception-reason: vendor image, pinned in INC-42\n    polscan.io/exception-expires: '2099-12-31'\n    polscan.io/exception-owner: platform-team\nspec:\n  containers: [{name: c, image: 'vendor/agent:latest'}]\n",
    );
    recorded_scan(&cluster);
    let dir = std::env::temp_dir().join(format!("polscan-evidence-bypass-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = dir.join("first");
    let (found, text, code) = evidence(&cluster, &first, &["--require-ready"]);
    assert_eq!(code, Some(1), "{text}");
    let latest = policy(&found, "disallow-latest");
    assert_eq!(latest["verdict"], "not-ready", "{latest}");
    let reasons = latest["reasons"].to_string();
    assert!(
        reasons.contains("shop/Pod/vendor") && reasons.contains("Kyverno"),
        "{reasons}"
    );
    assert_eq!(policy(&found, "require-team-label")["verdict"], "ready");
    let file = found["generatedExceptions"][0]["file"]
        .as_str()
        .expect("a generated PolicyException")
        .to_string();
    assert_eq!(file, "exceptions/shop-pod-vendor.yaml");
    let path = first.join(&file);
    assert!(path.is_file(), "{}", path.display());
    let path_text = path.display().to_string();
    let dry_run = cluster.kubectl(&["apply", "--dry-run=server", "-f", &path_text]);
    assert!(
        dry_run.status.success(),
        "{}",
        String::from_utf8_lossy(&dry_run.stderr)
    );
    let verified = polscan(&["evidence", "verify", &first.display().to_string()]);
    assert!(verified.status.success(), "{verified:?}");

    // Applied, the exception is one Kyverno honours (started with
    // --enablePolicyException --exceptionNamespace=shop): the policy is
    // ready, and the PolicyException carries the annotation's owner and expiry.
    cluster.kubectl_ok(&["apply", "-f", &path_text]);
    recorded_scan_with(&cluster, &["--exception-namespace", "shop"]);
    let (after, text, code) = evidence(&cluster, &dir.join("second"), &["--require-ready"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(policy(&after, "disallow-latest")["verdict"], "ready");
    let applied = after["exceptions"]
        .as_array()
        .and_then(|list| list.iter().find(|e| e["source"] == "PolicyException"))
        .unwrap_or_else(|| panic!("the applied PolicyException in {}", after["exceptions"]));
    assert_eq!(applied["owner"], "platform-team");
    assert_eq!(applied["expires"], "2099-12-31");
    assert_eq!(applied["coveredResults"], 1, "{applied}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A ValidatingAdmissionPolicy and its binding given as files (the test
/// server, 1.20, serves no admissionregistration v1 policies): scanned with
/// `scan --policy vap/`, the evidence from the cluster finds it only with
/// `--policies-from vap/`; without, it is unknown and never shown as
/// enforced.
#[test]
fn a_policy_given_as_a_file_is_found_by_evidence_from_the_cluster() {
    let cluster = TestCluster::start_prepared();
    let kubeconfig = cluster.kubeconfig().display().to_string();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml(&pod("loose", "nginx:latest", None));
    let dir = std::env::temp_dir().join(format!("polscan-evidence-vap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let vap = dir.join("vap");
    std::fs::create_dir_all(&vap).expect("vap dir");
    std::fs::write(
        vap.join("pinned.yaml"),
        polscan_tests::cluster::pinned_images_admission_policy("Audit"),
    )
    .expect("vap file");
    let vap_text = vap.display().to_string();
    let scanned = polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "--policy",
        &vap_text,
        "-o",
        "summary",
        "--last-run-configmap",
        "polscan-system/polscan-last-run",
    ]);
    assert!(scanned.status.success(), "{scanned:?}");

    let (without, text, _) = evidence(&cluster, &dir.join("without"), &[]);
    assert!(
        text.contains("pinned-images") && text.contains("--policies-from"),
        "a hint at the cause: {text}"
    );
    let unknown = policy(&without, "pinned-images");
    assert_eq!(unknown["kind"], "unknown", "{unknown}");
    assert_eq!(unknown["action"], "unknown", "{unknown}");
    let markdown = std::fs::read_to_string(dir.join("without/evidence.md")).expect("md");
    let section = &markdown[markdown.find("## pinned-images").expect("its section")..];
    assert!(!section.contains("Enforced while"), "{section}\n{text}");

    let (with, text, _) = evidence(&cluster, &dir.join("with"), &["--policies-from", &vap_text]);
    let found = policy(&with, "pinned-images");
    assert_eq!(
        found["kind"], "ValidatingAdmissionPolicy",
        "{found}\n{text}"
    );
    assert_eq!(found["found"], true, "{found}");
    assert_eq!(found["action"], "Audit", "the binding audits: {found}");
    assert_eq!(found["kinds"], serde_json::json!(["Pod"]), "{found}");
    assert_eq!(found["rules"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["counts"]["fail"], 1, "{found}");
    // This 1.20 API server serves no ValidatingAdmissionPolicy: nothing
    // here would enforce it, so it is never ready, whatever its results.
    assert_eq!(found["verdict"], "not-ready", "{found}");
    assert!(
        found["reasons"]
            .as_array()
            .is_some_and(|reasons| reasons.iter().any(|r| r.as_str().is_some_and(
                |r| r.starts_with("this cluster does not serve ValidatingAdmissionPolicy")
            ))),
        "{found}"
    );
    // The cluster's own policies are still there, served and judged.
    let own = policy(&with, "require-team-label");
    assert_eq!(own["kind"], "ClusterPolicy");
    assert!(
        !own["reasons"].to_string().contains("does not serve"),
        "{own}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Annotation-only bypasses on a Deployment, its ReplicaSet and Pod: one
/// PolicyException for the Deployment covers them by name and what the
/// next rollout creates (`web-*` with the Deployment's selector, read from
/// the cluster); the server accepts it, and once applied the rollout's
/// ReplicaSet is covered while an unrelated `web-legacy` is not.
#[test]
fn a_bypass_on_a_workload_gets_one_policy_exception_for_its_owner() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICIES);
    let annotations = "  annotations:\n    polscan.io/exception: disallow-latest/no-latest\n    polscan.io/exception-reason: vendor image, pinned in INC-42\n    polscan.io/exception-expires: '2099-12-31'\n    polscan.io/exception-owner: platform-team\n";
    let template = "  template:\n    metadata: {labels: {app: web, team: shop}}\n    spec: {containers: [{name: c, image: 'vendor/agent:latest'}]}\n";
    cluster.apply_yaml(&format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n  labels: {{team: shop}}\n{annotations}spec:\n  selector: {{matchLabels: {{app: web}}}}\n{template}"));
    let deployment_uid = uid(&cluster, &["deployment", "web", "-n", "shop"]);
    cluster.apply_yaml(&format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-5d8f\n  namespace: shop\n  labels: {{team: shop}}\n{annotations}  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: web, uid: {deployment_uid}, controller: true}}]\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n{template}"));
    let rs_uid = uid(&cluster, &["replicaset", "web-5d8f", "-n", "shop"]);
    cluster.apply_yaml(&format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-5d8f-a\n  namespace: shop\n  labels: {{team: shop, app: web}}\n{annotations}  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: {rs_uid}, controller: true}}]\nspec:\n  containers: [{{name: c, image: 'vendor/agent:latest'}}]\n"));
    recorded_scan(&cluster);
    let dir = std::env::temp_dir().join(format!("polscan-evidence-owner-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = dir.join("first");
    let (found, text, _) = evidence(&cluster, &first, &[]);
    let generated = found["generatedExceptions"]
        .as_array()
        .unwrap_or_else(|| panic!("generated exceptions in {found}\n{text}"));
    assert_eq!(generated.len(), 1, "{generated:?}");
    assert_eq!(generated[0]["file"], "exceptions/shop-deployment-web.yaml");
    let document = &generated[0]["document"];
    assert_eq!(
        document["spec"]["match"]["any"][3]["resources"],
        serde_json::json!({"kinds": ["Pod", "ReplicaSet"], "names": ["web-*"], "namespaces": ["shop"],
                           "selector": {"matchLabels": {"app": "web"}}}),
        "{document}"
    );
    assert_eq!(
        document["spec"]["match"]["any"][2]["resources"]["names"],
        serde_json::json!(["web-5d8f"]),
        "{document}"
    );
    assert!(
        generated[0]["warnings"]
            .to_string()
            .contains("labelled app=web"),
        "{generated:?}"
    );
    assert_eq!(
        document["spec"]["exceptions"][0]["ruleNames"],
        serde_json::json!(["autogen-no-latest", "no-latest"]),
        "{document}"
    );
    let path_text = first
        .join("exceptions/shop-deployment-web.yaml")
        .display()
        .to_string();
    let dry_run = cluster.kubectl(&["apply", "--dry-run=server", "-f", &path_text]);
    assert!(
        dry_run.status.success(),
        "{}",
        String::from_utf8_lossy(&dry_run.stderr)
    );
    cluster.kubectl_ok(&["apply", "-f", &path_text]);
    // A rollout: a new ReplicaSet the annotations do not excuse (the
    // template carries none), labelled as the Deployment controller labels
    // it, is covered by the exception too; an unrelated ReplicaSet named
    // web-legacy, with other labels, is not.
    cluster.apply_yaml(&format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-legacy\n  namespace: shop\n  labels: {{team: shop, app: legacy}}\nspec:\n  selector: {{matchLabels: {{app: legacy}}}}\n{}", template.replace("app: web", "app: legacy")));
    cluster.apply_yaml(&format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-77c4\n  namespace: shop\n  labels: {{team: shop, app: web, pod-template-hash: 77c4}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: web, uid: {deployment_uid}, controller: true}}]\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n{template}"));
    recorded_scan_with(&cluster, &["--exception-namespace", "shop"]);
    let (after, text, _) = evidence(&cluster, &dir.join("second"), &[]);
    let latest = policy(&after, "disallow-latest");
    let violations = latest["violations"].to_string();
    assert!(violations.contains("web-legacy"), "{latest}\n{text}");
    assert!(!violations.contains("web-77c4"), "{latest}\n{text}");
    assert_eq!(latest["verdict"], "not-ready", "{latest}\n{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A PolicyException counts only as Kyverno applies it: not at all by
/// default (the scan says so, the package states it), in the namespace
/// `--exception-namespace` names; a skip whose exception was deleted since
/// the scan is not ready and, under `--since`, a rollback condition. A
/// view filtered with `--namespace` never shows a cluster-wide policy ready.
#[test]
fn a_policy_exception_counts_only_as_kyverno_applies_it() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(&POLICIES.replace(
        "name: disallow-latest\n  annotations:\n    policies.kyverno.io/description: Pin every image to a version.\nspec:\n  validationFailureAction: Audit",
        "name: disallow-latest\n  annotations:\n    policies.kyverno.io/description: Pin every image to a version.\nspec:\n  validationFailureAction: Enforce",
    ));
    cluster.apply_yaml(&pod("vendor", "vendor/agent:latest", None));
    // Unlabelled, in another namespace: require-team-label fails there only.
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: stray, namespace: other}\nspec:\n  containers: [{name: c, image: 'redis:7'}]\n");
    cluster.apply_yaml("apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: vendor-latest, namespace: shop}\nspec:\n  exceptions:\n  - {policyName: disallow-latest, ruleNames: [no-latest]}\n  match:\n    any:\n    - resources: {kinds: [Pod], namespaces: [shop], names: [vendor]}\n");
    let dir = std::env::temp_dir().join(format!("polscan-evidence-polex-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    // Kyverno's default: the exception is not applied, and the scan says so.
    let err = recorded_scan_with(&cluster, &[]);
    assert!(
        err.contains("1 PolicyException(s) found but not applied (shop/vendor-latest)")
            && err.contains("--exception-namespace <ns>"),
        "{err}"
    );
    let (off, text, _) = evidence(&cluster, &dir.join("off"), &[]);
    assert_eq!(off["scan"]["policyExceptions"]["applied"], "disabled");
    let latest = policy(&off, "disallow-latest");
    assert_eq!(latest["verdict"], "not-ready", "{latest}");
    assert_eq!(latest["counts"]["fail"], 1, "{latest}");
    assert!(
        off["exceptions"][0]["problem"]
            .as_str()
            .is_some_and(|p| p.starts_with("not applied")),
        "{}",
        off["exceptions"]
    );
    assert!(
        text.contains("PolicyExceptions not applied (Kyverno's default"),
        "{text}"
    );
    let markdown = std::fs::read_to_string(dir.join("off/evidence.md")).unwrap_or_default();
    assert!(
        markdown.contains("PolicyExceptions not applied (Kyverno's default"),
        "{markdown}"
    );

    // As a Kyverno started with --enablePolicyException --exceptionNamespace=shop.
    let err = recorded_scan_with(&cluster, &["--exception-namespace", "shop"]);
    assert!(!err.contains("not applied"), "{err}");
    let applied = dir.join("applied");
    let (on, text, _) = evidence(&cluster, &applied, &[]);
    let latest = policy(&on, "disallow-latest");
    assert_eq!(latest["verdict"], "ready", "{latest}\n{text}");
    assert_eq!(latest["counts"]["skip"], 1, "{latest}");
    assert!(
        text.contains("PolicyExceptions applied: in namespace shop, as a Kyverno started with --enablePolicyException --exceptionNamespace=shop"),
        "{text}"
    );
    let html = std::fs::read_to_string(applied.join("index.html")).unwrap_or_default();
    assert!(html.contains("PolicyExceptions applied: in namespace shop"));

    // The exception is deleted after the scan: its skip counts no more.
    cluster.kubectl_ok(&[
        "delete",
        "policyexceptions.kyverno.io",
        "-n",
        "shop",
        "vendor-latest",
    ]);
    let applied_text = applied.display().to_string();
    let (gone, text, code) = evidence(
        &cluster,
        &dir.join("gone"),
        &["--since", &applied_text, "--require-ready"],
    );
    assert_eq!(code, Some(1), "{text}");
    let latest = policy(&gone, "disallow-latest");
    assert_eq!(latest["verdict"], "not-ready", "{latest}");
    assert!(
        latest["reasons"]
            .to_string()
            .contains("skipped by PolicyException vendor-latest, which no longer exists"),
        "{latest}"
    );
    assert_eq!(
        gone["comparison"]["removedExceptions"],
        serde_json::json!(["PolicyException shop/vendor-latest"])
    );
    assert!(text.contains("1 removed"), "{text}");
    assert!(
        text.contains("rollback check disallow-latest: ROLL BACK TO AUDIT"),
        "{text}"
    );

    // A view of shop only: require-team-label fails in `other`, so the
    // filtered view must not call it ready, nor let --require-ready pass.
    let (filtered, text, code) = evidence(
        &cluster,
        &dir.join("filtered"),
        &[
            "--namespace",
            "shop",
            "--policy",
            "require-team-label",
            "--require-ready",
        ],
    );
    assert_eq!(code, Some(1), "{text}");
    let team = policy(&filtered, "require-team-label");
    assert_eq!(team["counts"]["fail"], 0, "{team}");
    assert_eq!(team["verdict"], "not-ready", "{team}");
    assert!(
        text.contains("Filtered view: only results in namespace(s) shop"),
        "{text}"
    );
    let markdown = std::fs::read_to_string(dir.join("filtered/evidence.md")).unwrap_or_default();
    assert!(markdown.contains("Filtered view"), "{markdown}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A ClusterPolicy on ConfigMaps of `env: prod` namespaces: they need an
/// `owner` label.
const PROD_OWNERS: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: prod-owners}\nspec:\n  validationFailureAction: Audit\n  background: true\n  rules:\n  - name: owner\n    match:\n      any:\n      - resources:\n          kinds: [ConfigMap]\n          namespaceSelector: {matchLabels: {env: prod}}\n    validate:\n      message: prod ConfigMaps name an owner\n      pattern: {metadata: {labels: {owner: '?*'}}}\n";

#[test]
fn a_violation_that_left_the_policy_s_scope_is_not_fixed_and_an_edit_is_seen() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-d, labels: {env: prod}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(PROD_OWNERS);
    cluster.apply_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: creds, namespace: team-d}\ndata: {a: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: scratch, namespace: team-d}\ndata: {a: b}\n");
    let dir = std::env::temp_dir().join(format!("polscan-evidence-scope-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    recorded_scan(&cluster);
    let (first, text, _) = evidence(&cluster, &dir.join("first"), &[]);
    assert_eq!(policy(&first, "prod-owners")["counts"]["fail"], 2, "{text}");

    // The namespace leaves the policy's scope: `creds` still breaks the
    // rule, and nothing else reports on it. `scratch` is deleted.
    cluster.kubectl_ok(&["label", "namespace", "team-d", "env=dev", "--overwrite"]);
    cluster.kubectl_ok(&["delete", "configmap", "-n", "team-d", "scratch"]);
    recorded_scan(&cluster);
    let first_text = dir.join("first").display().to_string();
    let (second, text, _) = evidence(&cluster, &dir.join("second"), &["--since", &first_text]);
    let comparison = &second["comparison"];
    let resources = |list: &str| -> Vec<String> {
        comparison[list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["resource"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        resources("fixedViolations"),
        ["team-d/ConfigMap/scratch"],
        "{text}"
    );
    assert_eq!(
        resources("unknownViolations"),
        ["team-d/ConfigMap/creds"],
        "{text}"
    );
    assert!(
        comparison["unknownViolations"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("the cluster still has it")),
        "{comparison}"
    );

    // An apply that rewrites a value its manager already owned leaves the
    // server's change time where it was; the digest the scan recorded
    // still tells the policy is not the one scanned.
    cluster.kubectl_ok(&["label", "namespace", "team-d", "env=prod", "--overwrite"]);
    cluster.kubectl_ok(&[
        "label",
        "configmap",
        "-n",
        "team-d",
        "creds",
        "owner=team-d",
    ]);
    recorded_scan(&cluster);
    let (clean, text, _) = evidence(&cluster, &dir.join("clean"), &[]);
    assert_eq!(policy(&clean, "prod-owners")["verdict"], "ready", "{text}");
    cluster.apply_yaml(&PROD_OWNERS.replace("owner: '?*'", "owner: 'team-*'"));
    let (edited, text, _) = evidence(&cluster, &dir.join("edited"), &[]);
    let reasons = policy(&edited, "prod-owners")["reasons"].to_string();
    assert_eq!(
        policy(&edited, "prod-owners")["verdict"],
        "not-ready",
        "{text}"
    );
    assert!(reasons.contains("rescan first"), "{reasons}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Pod in `namespace` on `image`, with `labels` (YAML flow map body)
/// and optionally owned by ReplicaSet `(name, uid)`.
fn labelled_pod(
    namespace: &str,
    name: &str,
    labels: &str,
    image: &str,
    owner: Option<(&str, &str)>,
) -> String {
    let owner = owner
        .map(|(rs, uid)| {
            format!(
                "\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {rs}, uid: {uid}, controller: true}}]"
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels: {{{labels}}}{owner}\nspec:\n  containers: [{{name: c, image: '{image}'}}]\n"
    )
}

/// Violators are routed to teams by the owner labels the server holds:
/// the Pod's own, its Deployment's (through the ReplicaSet), its
/// namespace's; and a rule whose kind has no object says "no resource in
/// scope".
#[test]
fn violators_are_routed_to_the_teams_their_labels_name() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: storefront}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ops}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: quota-owner}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: owner\n    match: {any: [{resources: {kinds: [ResourceQuota]}}]}\n    validate: {message: owner, pattern: {metadata: {labels: {owner: '?*'}}}}\n");
    cluster.apply_yaml("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop, labels: {team: web-team}}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: 'nginx:1.27'}]}\n");
    let deployment_uid = uid(&cluster, &["deployment", "web", "-n", "shop"]);
    cluster.apply_yaml(&format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-5d8f\n  namespace: shop\n  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: web, uid: {deployment_uid}, controller: true}}]\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: c, image: 'nginx:1.27'}}]}}\n"));
    let rs_uid = uid(&cluster, &["replicaset", "web-5d8f", "-n", "shop"]);
    // The Deployment complies; its Pod (a hand-edited ReplicaSet's) does not.
    cluster.apply_yaml(&labelled_pod(
        "shop",
        "web-5d8f-a",
        "app: web",
        "nginx:latest",
        Some(("web-5d8f", &rs_uid)),
    ));
    cluster.apply_yaml(&labelled_pod(
        "shop",
        "loose",
        "app: loose",
        "nginx:latest",
        None,
    ));
    cluster.apply_yaml(&labelled_pod(
        "ops",
        "tagged",
        "owner: sre",
        "nginx:latest",
        None,
    ));
    cluster.apply_yaml(&labelled_pod(
        "ops",
        "stray",
        "app: stray",
        "nginx:latest",
        None,
    ));
    recorded_scan(&cluster);
    let record = cluster.kubectl_ok(&[
        "get",
        "configmap",
        "-n",
        "polscan-system",
        "polscan-last-run",
        "-o",
        "jsonpath={.data.kindsByRule}",
    ]);
    assert!(record.contains("\"Pod\""), "kindsByRule: {record}");

    let dir = std::env::temp_dir().join(format!("polscan-evidence-owners-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (found, text, code) = evidence(&cluster, &dir.join("routed"), &[]);
    assert_eq!(code, Some(0), "{text}");
    let latest = policy(&found, "disallow-latest");
    let routed: std::collections::BTreeMap<&str, &Value> = latest["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["resource"]["name"].as_str().unwrap_or(""), &v["team"]))
        .collect();
    let route = |team: &str, label: &str, from: &str| serde_json::json!({"team": team, "label": label, "from": from});
    assert_eq!(routed.len(), 4, "{latest}");
    assert_eq!(*routed["loose"], route("storefront", "team", "namespace"));
    assert_eq!(*routed["tagged"], route("sre", "owner", "resource"));
    assert_eq!(*routed["web-5d8f-a"], route("web-team", "team", "owner"));
    assert!(routed["stray"].is_null(), "{latest}");
    let page = std::fs::read_to_string(dir.join("routed/evidence.md")).expect("evidence.md");
    assert!(
        page.contains("### Who must fix what: disallow-latest"),
        "{page}"
    );
    assert!(
        page.contains("**web-team: 1 violation(s), 1 owner (label team on its owner)**"),
        "{page}"
    );
    assert!(
        page.contains("shop/Deployment/web → 1 resource(s), 1 violation(s): shop/Pod/web-5d8f-a"),
        "{page}"
    );
    assert!(
        page.contains("**no owner label (looked for: team, owner, app.kubernetes.io/part-of): 1 violation(s), 1 owner**"),
        "{page}"
    );
    // Coverage: the Pods evaluated per rule; ResourceQuota has no object.
    let coverage = &latest["ruleEvidence"][0]["coverage"];
    assert_eq!(coverage["kinds"]["Pod"], 4, "{coverage}");
    let quota = policy(&found, "quota-owner");
    let statement = quota["ruleEvidence"][0]["coverage"]["noResourceInScope"]
        .as_str()
        .unwrap_or("");
    assert!(
        statement.starts_with("no resource in scope: no resource in scope exists: ResourceQuota listed completely with 0 objects"),
        "{quota}"
    );
    assert!(
        page.contains("| owner | — | 0 | no resource in scope"),
        "{page}"
    );

    // --owner-label app: the Pods' app labels route them instead.
    let (by_app, text, code) = evidence(&cluster, &dir.join("by-app"), &["--owner-label", "app"]);
    assert_eq!(code, Some(0), "{text}");
    let teams: Vec<&str> = policy(&by_app, "disallow-latest")["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["team"]["team"].as_str())
        .collect();
    let mut teams = teams;
    teams.sort();
    assert_eq!(teams, ["loose", "stray", "web"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The reports are the last recorded scan's snapshot: a violator created
/// after it turns the policy's GO into NO-GO, named, by the dry-run scan
/// the evidence runs (nothing written); a violator the recorded scan's
/// `--exception-namespace` excuses does not; `--no-recheck` judges the
/// snapshot alone.
#[test]
fn a_violator_created_after_the_last_scan_is_found_before_go() {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICIES);
    cluster.apply_yaml(&pod("web", "nginx:1.27", None));
    recorded_scan_with(&cluster, &["--exception-namespace", "shop"]);
    let dir = std::env::temp_dir().join(format!("polscan-evidence-recheck-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (clean, text, code) = evidence(&cluster, &dir.join("clean"), &["--require-ready"]);
    assert_eq!(code, Some(0), "{text}");
    let latest = policy(&clean, "disallow-latest");
    assert_eq!(latest["verdict"], "ready", "{latest}");
    assert!(
        latest["notes"].to_string().contains("rechecked at"),
        "{latest}"
    );

    // Excused by a PolicyException in the recorded --exception-namespace.
    cluster.apply_yaml(&pod("vendor", "vendor/agent:latest", None));
    cluster.apply_yaml("apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: vendor-latest, namespace: shop}\nspec:\n  exceptions:\n  - {policyName: disallow-latest, ruleNames: [no-latest]}\n  match:\n    any:\n    - resources: {kinds: [Pod], namespaces: [shop], names: [vendor]}\n");
    let (excused, text, code) = evidence(&cluster, &dir.join("excused"), &["--require-ready"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(policy(&excused, "disallow-latest")["verdict"], "ready");

    cluster.apply_yaml(&pod("sneaky", "nginx:latest", None));
    let reports_before = cluster.kubectl_ok(&["get", "policyreports", "-A", "-o", "name"]);
    let (found, text, code) = evidence(&cluster, &dir.join("found"), &["--require-ready"]);
    assert_eq!(code, Some(1), "{text}");
    let latest = policy(&found, "disallow-latest");
    assert_eq!(latest["verdict"], "not-ready", "{latest}");
    let reasons = latest["reasons"].to_string();
    assert!(
        reasons.contains("1 new failing result(s)")
            && reasons.contains("shop/Pod/sneaky (rule no-latest: fail)"),
        "{reasons}"
    );
    assert!(text.contains("NO-GO"), "{text}");
    assert_eq!(policy(&found, "require-team-label")["verdict"], "ready");
    // A dry run: no report was written.
    assert_eq!(
        cluster.kubectl_ok(&["get", "policyreports", "-A", "-o", "name"]),
        reports_before
    );

    let (snapshot, text, code) = evidence(
        &cluster,
        &dir.join("snapshot"),
        &["--require-ready", "--no-recheck"],
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(policy(&snapshot, "disallow-latest")["verdict"], "ready");
    // Said in the package (walk22 M3: nothing told it from a rechecked GO).
    let notes = policy(&snapshot, "disallow-latest")["notes"].to_string();
    assert!(notes.contains("not rechecked (--no-recheck)"), "{notes}");

    // Excused only by polscan's annotation, which Kyverno's admission
    // ignores: a violator all the same (rev21: it passed the recheck).
    cluster.kubectl_ok(&["delete", "pod", "-n", "shop", "sneaky"]);
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: bypassed\n  namespace: shop\n  labels: {team: shop}\n  annotations:\n    polscan.io/exception: disallow-latest/no-latest\n    polscan.io/exception-reason: vendor image\n    polscan.io/exception-expires: '2099-12-31'\n    polscan.io/exception-owner: platform-team\nspec:\n  containers: [{name: c, image: 'vendor/agent:latest'}]\n");
    let (bypassed, text, code) = evidence(&cluster, &dir.join("bypassed"), &["--require-ready"]);
    assert_eq!(code, Some(1), "{text}");
    let reasons = policy(&bypassed, "disallow-latest")["reasons"].to_string();
    assert!(
        reasons.contains("shop/Pod/bypassed (rule no-latest: skipped only by the polscan.io/exception annotation"),
        "{reasons}"
    );

    // walk31 F5: a passing Pod whose polscan.io/exception annotation is
    // ignored (no expiry) has a `warn` of rule polscan-exception, about the
    // annotation: no violation of the policy, in the recheck as in the
    // reports (it was "created or changed since", for ever).
    cluster.kubectl_ok(&["delete", "pod", "-n", "shop", "bypassed"]);
    cluster.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: stale-bypass\n  namespace: shop\n  labels: {team: shop}\n  annotations:\n    polscan.io/exception: disallow-latest/no-latest\n    polscan.io/exception-reason: vendor image\nspec:\n  containers: [{name: c, image: 'nginx:1.27'}]\n");
    recorded_scan_with(&cluster, &["--exception-namespace", "shop"]);
    let (stale, text, code) = evidence(&cluster, &dir.join("stale"), &["--require-ready"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        policy(&stale, "disallow-latest")["verdict"],
        "ready",
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_namespaced_policy_in_a_namespace_without_its_kinds_is_ready() {
    // walk32 F7: Pods exist in `shop`, none in `fresh`, a team's new
    // namespace. Its Policy and NamespacedValidatingPolicy have nothing to
    // judge, which the run record's per-namespace counts show: ready, with
    // the note, instead of "no evidence" until something is deployed.
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(&pod("web", "nginx:1.27", None));
    cluster.apply_yaml(
        r#"apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: fresh-team, namespace: fresh}
spec:
  validationFailureAction: Audit
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate: {message: pods need a team label, pattern: {metadata: {labels: {team: '?*'}}}}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: NamespacedValidatingPolicy
metadata: {name: fresh-nvp, namespace: fresh}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  validations:
  - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
    message: pods need a team label
---
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: shop-team, namespace: shop}
spec:
  validationFailureAction: Audit
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod], names: [nothing-has-this-name]}}]}
    validate: {message: pods need a team label, pattern: {metadata: {labels: {team: '?*'}}}}
"#,
    );
    recorded_scan(&cluster);
    let dir = std::env::temp_dir().join(format!("polscan-evidence-fresh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (package, text, _) = evidence(&cluster, &dir.join("fresh"), &[]);
    for name in ["fresh-team", "fresh-nvp"] {
        let judged = policy(&package, name);
        assert_eq!(judged["verdict"], "ready", "{name}: {judged}\n{text}");
        assert!(
            judged["notes"]
                .to_string()
                .contains("with 0 objects in namespace fresh"),
            "{name}: {judged}"
        );
    }
    // In a namespace with Pods its match leaves out: no evidence, as before.
    let shop = policy(&package, "shop-team");
    assert_eq!(shop["verdict"], "no-evidence", "{shop}");
    // A Pod in `fresh` the rules then judge: evaluated, no longer "nothing".
    cluster.apply_yaml(&labelled_pod(
        "fresh",
        "api",
        "team: fresh",
        "nginx:1.27",
        None,
    ));
    recorded_scan(&cluster);
    let (package, text, _) = evidence(&cluster, &dir.join("deployed"), &[]);
    let judged = policy(&package, "fresh-team");
    assert_eq!(judged["verdict"], "ready", "{judged}\n{text}");
    assert!(
        !judged["notes"].to_string().contains("0 objects"),
        "{judged}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_enforced_policy_is_rechecked_for_a_new_violator_where_it_enforces() {
    // verify35: an enforced policy with a violator already was never
    // rechecked for a new one, and a violator where it only audits read
    // "ROLL BACK TO AUDIT". disallow-latest enforces in shop only.
    let cluster = policies_cluster(
        &["shop", "lab"],
        r#"{"validationFailureActionOverrides":[{"action":"Enforce","namespaces":["shop"]}]}"#,
    );
    cluster.apply_yaml(&pod("old", "nginx:latest", None));
    recorded_scan(&cluster);
    let dir =
        std::env::temp_dir().join(format!("polscan-evidence-enforced-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (_, text, _) = evidence(&cluster, &dir.join("before"), &[]);
    let before = dir.join("before").display().to_string();
    // A new violator where it only audits: no rollback.
    cluster.apply_yaml(&labelled_pod(
        "lab",
        "audited",
        "team: lab",
        "nginx:latest",
        None,
    ));
    let (audited, text2, _) = evidence(&cluster, &dir.join("audited"), &["--since", &before]);
    let checks = audited["comparison"]["rollbackChecks"].to_string();
    assert!(
        audited["comparison"]["rollbackChecks"]
            .as_array()
            .is_some_and(|checks| checks
                .iter()
                .all(|c| c["policy"] != "disallow-latest" || c["rollBack"] == false)),
        "{checks}\n{text}\n{text2}"
    );
    let reasons = policy(&audited, "disallow-latest")["reasons"].to_string();
    assert!(
        reasons.contains("where its rules only audit") && reasons.contains("lab/Pod/audited"),
        "{reasons}"
    );
    // A new violator where it enforces, beside the old one: ROLL BACK.
    cluster.apply_yaml(&pod("sneaky", "nginx:latest", None));
    let (found, text3, _) = evidence(&cluster, &dir.join("found"), &["--since", &before]);
    assert_eq!(
        decision_of(&found, "disallow-latest"),
        "roll-back",
        "{text3}"
    );
    let reasons = policy(&found, "disallow-latest")["reasons"].to_string();
    assert!(
        reasons.contains("shop/Pod/sneaky") && !reasons.contains("shop/Pod/old ("),
        "{reasons}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_scan_record_the_recheck_does_not_roll_back_what_it_cannot_match() {
    // verify36: with no record the recheck knew no --exception-namespace,
    // read a Pod the scan's exception excused as a new violator, and the
    // enforced policy read ROLL BACK. Without a record: RESCAN.
    let cluster = policies_cluster(&["shop"], r#"{"validationFailureAction":"Enforce"}"#);
    cluster.apply_yaml(&pod("vendor", "vendor/agent:latest", None));
    cluster.apply_yaml("apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: vendor-latest, namespace: shop}\nspec:\n  exceptions:\n  - {policyName: disallow-latest, ruleNames: [no-latest]}\n  match:\n    any:\n    - resources: {kinds: [Pod], namespaces: [shop], names: [vendor]}\n");
    recorded_scan_with(&cluster, &["--exception-namespace", "shop"]);
    let dir =
        std::env::temp_dir().join(format!("polscan-evidence-norecord-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (with_record, text, _) = evidence(&cluster, &dir.join("with"), &[]);
    assert_eq!(
        decision_of(&with_record, "disallow-latest"),
        "enforced",
        "{text}"
    );
    let (without, text, _) = evidence(
        &cluster,
        &dir.join("without"),
        &["--scan-record", "polscan-system/does-not-exist"],
    );
    assert_eq!(decision_of(&without, "disallow-latest"), "rescan", "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
