//! The deploy manifests: rendered with `kubectl kustomize`, checked for the
//! properties operators rely on, parsed into k8s-openapi's typed CronJob,
//! validated by a server-side dry-run against a real API server, and their
//! RBAC proven sufficient (and no more) by running a scan with it.

use std::path::PathBuf;
use std::process::Command;

use polscan_tests::cluster::{polscan, workspace_root, TestCluster};
use serde::Deserialize;
use serde_json::Value;

fn render(overlay: &str) -> Vec<Value> {
    render_dir(&format!("deploy/overlays/{overlay}"))
}

/// `kubectl kustomize` of a directory relative to the workspace root.
fn render_dir(relative: &str) -> Vec<Value> {
    let dir: PathBuf = workspace_root().join(relative);
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("kubectl kustomize: {e}"));
    assert!(
        output.status.success(),
        "kubectl kustomize {dir:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|doc| Value::deserialize(doc).ok())
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

fn yaml(objects: &[&Value]) -> String {
    objects
        .iter()
        .map(|o| serde_yaml::to_string(o).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The server validates the objects (schema, defaults, admission) without
/// storing them; the test fails with the server's message if it refuses.
fn server_dry_run(cluster: &TestCluster, objects: &[&Value]) {
    let output = cluster.kubectl_with_stdin(
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        Some(&yaml(objects)),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn check_pod_spec(pod: &Value, restart_policy: &str) {
    assert_eq!(pod["serviceAccountName"], "polscan");
    assert_eq!(pod["restartPolicy"], restart_policy);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "ghcr.io/polscan/polscan:0.1.0");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"][0],
        "ALL"
    );
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert!(container["resources"]["limits"]["memory"].is_string());
    let args: Vec<&str> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(args.first(), Some(&"scan"));
    // The role cannot read Secrets, so the scan must not try.
    assert!(args.contains(&"--exclude-kinds=Secret"), "{args:?}");
    // Log pipelines in clusters read JSON.
    assert!(args.contains(&"--log-format=json"), "{args:?}");
}

/// Pod Security Standards' `restricted` level, field by field
/// (kubernetes.io/docs/concepts/security/pod-security-standards): no host
/// namespaces or paths, non-root, RuntimeDefault or Localhost seccomp, no
/// privilege or privilege escalation, every capability dropped (none added
/// but NET_BIND_SERVICE).
fn check_restricted(pod: &Value) {
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        assert_ne!(pod[host], true, "{host}");
    }
    for volume in pod["volumes"].as_array().into_iter().flatten() {
        assert!(volume.get("hostPath").is_none(), "{volume}");
    }
    let pod_context = &pod["securityContext"];
    assert_ne!(pod_context["runAsUser"], 0);
    let containers = pod["containers"]
        .as_array()
        .into_iter()
        .chain(pod["initContainers"].as_array())
        .flatten();
    for container in containers {
        let own = &container["securityContext"];
        let either = |key: &str| {
            if own[key].is_null() {
                pod_context[key].clone()
            } else {
                own[key].clone()
            }
        };
        assert_eq!(either("runAsNonRoot"), true, "{container}");
        assert_ne!(either("runAsUser"), 0, "{container}");
        let seccomp = either("seccompProfile");
        assert!(
            seccomp["type"] == "RuntimeDefault" || seccomp["type"] == "Localhost",
            "{container}"
        );
        assert_ne!(own["privileged"], true, "{container}");
        assert_eq!(own["allowPrivilegeEscalation"], false, "{container}");
        let drop = own["capabilities"]["drop"].as_array();
        assert!(
            drop.is_some_and(|drop| drop.iter().any(|c| c == "ALL")),
            "{container}"
        );
        for added in own["capabilities"]["add"].as_array().into_iter().flatten() {
            assert_eq!(added, "NET_BIND_SERVICE", "{container}");
        }
        assert!(container.get("ports").into_iter().all(|ports| ports
            .as_array()
            .into_iter()
            .flatten()
            .all(|port| port.get("hostPort").is_none())));
    }
}

/// The namespace enforces `restricted`, every overlay's pod meets it, and
/// the NetworkPolicy admits only the metrics port of polscan's pods, from
/// the monitoring namespace.
#[test]
fn pods_meet_restricted_and_only_metrics_are_reachable() {
    for overlay in ["cronjob", "job", "deployment", "sharded"] {
        let objects = render(overlay);
        let namespace = find(&objects, "Namespace");
        for mode in ["enforce", "audit", "warn"] {
            assert_eq!(
                namespace["metadata"]["labels"][format!("pod-security.kubernetes.io/{mode}")],
                "restricted",
                "overlays/{overlay}: {mode}"
            );
        }
        let pod = objects
            .iter()
            .find_map(|o| match o["kind"].as_str() {
                Some("CronJob") => Some(&o["spec"]["jobTemplate"]["spec"]["template"]),
                Some("Job") | Some("Deployment") => Some(&o["spec"]["template"]),
                _ => None,
            })
            .unwrap_or_else(|| panic!("overlays/{overlay}: no workload"));
        check_restricted(&pod["spec"]);

        let policy = find(&objects, "NetworkPolicy");
        assert_eq!(policy["metadata"]["namespace"], "polscan-system");
        // It selects the workload's pods, and only ingress is restricted.
        let selector = policy["spec"]["podSelector"]["matchLabels"]
            .as_object()
            .unwrap_or_else(|| panic!("overlays/{overlay}: no podSelector"));
        assert!(!selector.is_empty());
        for (key, value) in selector {
            assert_eq!(&pod["metadata"]["labels"][key], value, "overlays/{overlay}");
        }
        assert_eq!(
            policy["spec"]["policyTypes"],
            serde_json::json!(["Ingress"])
        );
        let ingress = policy["spec"]["ingress"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(ingress.len(), 1, "{policy}");
        assert_eq!(
            ingress[0]["ports"],
            serde_json::json!([{"protocol": "TCP", "port": "metrics"}])
        );
        assert_eq!(
            ingress[0]["from"],
            serde_json::json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}])
        );
        // The port it names is the metrics server's, where there is one.
        for container in pod["spec"]["containers"].as_array().into_iter().flatten() {
            for port in container["ports"].as_array().into_iter().flatten() {
                assert_eq!(port["name"], "metrics", "{port}");
            }
        }
    }
}

#[test]
fn rendered_overlays_have_what_operators_rely_on() {
    let cron = render("cronjob");
    let cronjob = find(&cron, "CronJob");
    assert_eq!(cronjob["apiVersion"], "batch/v1");
    assert_eq!(cronjob["spec"]["schedule"], "0 * * * *");
    assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
    assert!(cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"].is_u64());
    check_pod_spec(
        &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        "Never",
    );

    let once = render("job");
    let job = find(&once, "Job");
    check_pod_spec(&job["spec"]["template"]["spec"], "Never");

    // polscan's own --timeout ends a scan before the Job's deadline kills
    // the Pod, so the run says why it stopped (and records it).
    let sharded = render("sharded");
    for (overlay, job_spec) in [
        ("cronjob", &cronjob["spec"]["jobTemplate"]["spec"]),
        ("job", &job["spec"]),
        (
            "sharded",
            &find(&sharded, "CronJob")["spec"]["jobTemplate"]["spec"],
        ),
    ] {
        let deadline = job_spec["activeDeadlineSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("overlays/{overlay}: no activeDeadlineSeconds"));
        let timeout = job_spec["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(|arg| arg.strip_prefix("--timeout="))
            .and_then(|t| t.strip_suffix('m'))
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("overlays/{overlay}: no --timeout=<minutes>m"));
        assert!(
            timeout * 60 < deadline,
            "overlays/{overlay}: --timeout={timeout}m is not inside activeDeadlineSeconds {deadline}"
        );
    }

    // The long-running alternative: one replica, never two at once, metrics
    // served on the port the Service and the probes name.
    let long_running = render("deployment");
    let deployment = find(&long_running, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let pod = &deployment["spec"]["template"]["spec"];
    check_pod_spec(pod, "Always");
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(args.contains(&"--interval=1h") && args.contains(&"--metrics-addr=0.0.0.0:9090"));
    assert_eq!(container["ports"][0]["containerPort"], 9090);
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    let service = find(&long_running, "Service");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "metrics");
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );

    // Least privilege: write verbs only on the report kinds, nothing on Secrets.
    let role = find(&cron, "ClusterRole");
    for rule in role["rules"].as_array().into_iter().flatten() {
        let list = |key: &str| -> Vec<String> {
            rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        };
        let resources = list("resources");
        let verbs = list("verbs");
        assert!(!resources.iter().any(|r| r == "secrets"), "{rule}");
        assert!(!verbs.iter().any(|v| v == "*"), "{rule}");
        let writes = verbs.iter().any(|v| {
            ["create", "update", "patch", "delete", "deletecollection"].contains(&v.as_str())
        });
        if writes {
            let groups = list("apiGroups");
            let expected: &[&str] = match groups.as_slice() {
                [group] if group == "wgpolicyk8s.io" => &["policyreports", "clusterpolicyreports"],
                [group] if group == "openreports.io" => &["reports", "clusterreports"],
                _ => panic!("write verbs outside the report kinds: {rule}"),
            };
            assert_eq!(resources, expected, "{rule}");
        }
        // Wildcard resources only in groups without Secrets.
        if resources.iter().any(|r| r == "*") {
            assert!(
                !list("apiGroups").iter().any(|g| g.is_empty() || g == "*"),
                "{rule}"
            );
        }
    }
    let binding = find(&cron, "ClusterRoleBinding");
    assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
    assert_eq!(binding["subjects"][0]["name"], "polscan");
    assert_eq!(binding["subjects"][0]["namespace"], "polscan-system");
    assert_eq!(binding["roleRef"]["name"], "polscan");
}

#[test]
fn the_cronjob_parses_as_a_typed_batch_v1_cronjob() {
    let cron = render("cronjob");
    let cronjob: k8s_openapi::api::batch::v1::CronJob =
        serde_json::from_value(find(&cron, "CronJob").clone()).unwrap_or_else(|e| panic!("{e}"));
    let spec = cronjob.spec.unwrap_or_else(|| panic!("no spec"));
    assert_eq!(spec.schedule, "0 * * * *");
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    let pod = spec
        .job_template
        .spec
        .and_then(|job| job.template.spec)
        .unwrap_or_else(|| panic!("no pod spec"));
    let container = &pod.containers[0];
    assert_eq!(
        container
            .security_context
            .as_ref()
            .and_then(|s| s.read_only_root_filesystem),
        Some(true)
    );
}

/// The sharded overlay: an Indexed Job of N pods, each scanning shard
/// `JOB_COMPLETION_INDEX` of N, recording in its own ConfigMap (which the
/// Role must let it write) under the Job's uid as run id.
#[test]
fn the_sharded_cronjob_runs_every_shard_of_one_split() {
    let rendered = render("sharded");
    let cronjob: k8s_openapi::api::batch::v1::CronJob =
        serde_json::from_value(find(&rendered, "CronJob").clone())
            .unwrap_or_else(|e| panic!("{e}"));
    let job = cronjob
        .spec
        .and_then(|spec| spec.job_template.spec)
        .unwrap_or_else(|| panic!("no job spec"));
    assert_eq!(job.completion_mode.as_deref(), Some("Indexed"));
    let shards = job.completions.unwrap_or_else(|| panic!("no completions"));
    assert_eq!(job.parallelism, Some(shards), "every shard runs at once");
    let pod = job.template.spec.unwrap_or_else(|| panic!("no pod spec"));
    let container = &pod.containers[0];
    let args = container.args.clone().unwrap_or_default();
    assert!(args.contains(&format!("--shards={shards}")), "{args:?}");
    assert!(
        args.contains(&"--last-run-configmap=$(POD_NAMESPACE)/polscan-last-run".to_string()),
        "{args:?}"
    );
    let run_id = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "POLSCAN_RUN_ID")
        .and_then(|e| e.value_from.as_ref())
        .and_then(|v| v.field_ref.as_ref())
        .map(|f| f.field_path.clone());
    assert_eq!(run_id.as_deref(), Some("metadata.labels['controller-uid']"));
    // Each shard writes polscan-last-run-<I>: the Role names all of them,
    let role = find(&rendered, "Role");
    let names: Vec<String> = role["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rule| {
            rule["resourceNames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|name| name.as_str().map(str::to_string))
        .collect();
    // And the one soak history they all append to.
    let expected: Vec<String> = (0..shards)
        .map(|i| format!("polscan-last-run-{i}"))
        .chain(["polscan-last-run-history".to_string()])
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn manifests_pass_a_server_side_dry_run_and_the_role_suffices_for_a_scan() {
    let cluster = TestCluster::start();
    let cron = render("cronjob");
    let once = render("job");
    // The default path never carries CRDs (it would replace Kyverno's or
    // Policy Reporter's); they are the separate, optional deploy/crds step.
    for overlay in ["cronjob", "job", "deployment", "sharded"] {
        assert!(
            render(overlay)
                .iter()
                .all(|o| o["kind"] != "CustomResourceDefinition"),
            "overlays/{overlay} renders a CRD"
        );
    }
    let crds = render_dir("deploy/crds");
    assert_eq!(crds.len(), 2);
    // Namespace and CRDs for real: namespaced objects and reports need them.
    let setup: Vec<&Value> = crds
        .iter()
        .chain(cron.iter().filter(|o| o["kind"] == "Namespace"))
        .collect();
    cluster.kubectl_with_stdin(&["apply", "--server-side", "-f", "-"], Some(&yaml(&setup)));
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/policyreports.wgpolicyk8s.io",
    ]);

    // Everything but the CronJob (the 1.20 server serves batch/v1beta1 only).
    let rest: Vec<&Value> = cron.iter().filter(|o| o["kind"] != "CronJob").collect();
    server_dry_run(&cluster, &rest);

    let long_running = render("deployment");
    let workload: Vec<&Value> = long_running
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "Service")
        .collect();
    server_dry_run(&cluster, &workload);

    // The CronJob's pod template, checked by the server inside a batch/v1 Job.
    let cronjob = find(&cron, "CronJob");
    let as_job = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "polscan-cron-template", "namespace": "polscan-system"},
        "spec": cronjob["spec"]["jobTemplate"]["spec"],
    });
    let sharded = render("sharded");
    // The sharded Job's pod template (the 1.20 server predates Indexed
    // Jobs, 1.24 GA: their fields are checked by the typed parse above).
    let mut sharded_spec = find(&sharded, "CronJob")["spec"]["jobTemplate"]["spec"].clone();
    if let Some(spec) = sharded_spec.as_object_mut() {
        for field in ["completionMode", "completions", "parallelism"] {
            assert!(spec.remove(field).is_some(), "{field}");
        }
    }
    let sharded_job = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "polscan-sharded-template", "namespace": "polscan-system"},
        "spec": sharded_spec,
    });
    for job in [&as_job, find(&once, "Job"), &sharded_job] {
        server_dry_run(&cluster, &[job]);
    }

    // The role for real; then what it allows, and that a scan with exactly
    // these permissions completes.
    let rbac: Vec<&Value> = cron
        .iter()
        .filter(|o| {
            [
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding",
            ]
            .contains(&o["kind"].as_str().unwrap_or(""))
        })
        .collect();
    cluster.apply_yaml(&yaml(&rbac));
    // kubectl resolves the resources it is asked about: the OpenReports
    // kinds need their CRDs for that.
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let open = polscan(&[
        "install-crds",
        "--kubeconfig",
        &kubeconfig,
        "--api",
        "openreports",
    ]);
    assert!(open.status.success(), "{open:?}");
    let service_account = "system:serviceaccount:polscan-system:polscan";
    let can = |verb: &str, resource: &str| {
        cluster
            .kubectl(&[
                "auth",
                "can-i",
                verb,
                resource,
                "--all-namespaces",
                "--as",
                service_account,
            ])
            .status
            .success()
    };
    for (verb, resource) in [
        ("list", "pods"),
        ("list", "deployments.apps"),
        ("list", "namespaces"),
        ("patch", "policyreports.wgpolicyk8s.io"),
        ("delete", "clusterpolicyreports.wgpolicyk8s.io"),
        ("patch", "reports.openreports.io"),
        ("delete", "clusterreports.openreports.io"),
    ] {
        assert!(
            can(verb, resource),
            "the role should allow {verb} {resource}"
        );
    }
    for (verb, resource) in [
        ("list", "secrets"),
        ("get", "secrets"),
        ("delete", "pods"),
        ("create", "configmaps"),
    ] {
        assert!(
            !can(verb, resource),
            "the role must not allow {verb} {resource}"
        );
    }
    // The run record is writable in polscan's own namespace only.
    let in_namespace = |verb: &str, target: &str, namespace: &str| {
        cluster
            .kubectl(&[
                "auth",
                "can-i",
                verb,
                target,
                "-n",
                namespace,
                "--as",
                service_account,
            ])
            .status
            .success()
    };
    assert!(in_namespace(
        "patch",
        "configmap/polscan-last-run",
        "polscan-system"
    ));
    assert!(!in_namespace("patch", "configmap/other", "polscan-system"));
    assert!(!in_namespace("create", "configmaps", "default"));
    // The run's Lease: in polscan's namespace, every verb a scan uses.
    for verb in ["get", "create", "update", "delete"] {
        assert!(
            in_namespace(verb, "leases.coordination.k8s.io", "polscan-system"),
            "{verb} leases"
        );
    }
    assert!(!in_namespace(
        "update",
        "leases.coordination.k8s.io",
        "kube-system"
    ));

    // Bind the same role to the token user and scan with it.
    let role_ref = find(&cron, "ClusterRoleBinding")["roleRef"].clone();
    let binding = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "polscan-limited-as-polscan"},
        "roleRef": role_ref,
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "polscan-limited"}],
    });
    let mut role_binding = find(&cron, "RoleBinding").clone();
    role_binding["metadata"]["name"] = "polscan-limited-last-run".into();
    role_binding["subjects"] = serde_json::json!([
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "polscan-limited"}
    ]);
    cluster.apply_yaml(&yaml(&[&binding, &role_binding]));
    cluster.apply_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec:\n  containers: [{name: web, image: nginx:latest}]\n",
    );
    let policies = workspace_root()
        .join("scanner/policies")
        .display()
        .to_string();
    let limited = cluster.limited_kubeconfig().display().to_string();
    let cronjob_args: Vec<String> = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        ["containers"][0]["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        // Kubernetes expands $(POD_NAMESPACE) from the downward API.
        .map(|a| a.replace("$(POD_NAMESPACE)", "polscan-system"))
        .collect();
    let mut args: Vec<&str> = cronjob_args.iter().map(String::as_str).collect();
    args.extend(["--kubeconfig", &limited, "--policy", &policies]);
    let output = polscan(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "a scan with the deploy role must complete: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reports = cluster.kubectl_ok(&["get", "polr", "-n", "default", "-o", "name"]);
    assert!(!reports.trim().is_empty(), "no report written");
    // The run is recorded where operators look for it.
    let record: Value = serde_json::from_str(&cluster.kubectl_ok(&[
        "get",
        "configmap",
        "polscan-last-run",
        "-n",
        "polscan-system",
        "-o",
        "json",
    ]))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["data"]["complete"], "true", "{record}");
    // The deploy role lets it append to the soak history too.
    assert!(record["data"].get("historyError").is_none(), "{record}");
    let history = cluster.config_map("polscan-system", "polscan-last-run-history");
    assert_eq!(history["data"]["format"], "polscan.io/soak-history/v1");
    // Its counts are the ones the run printed.
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    let fails = printed
        .split("fail: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no fail count in {printed:?}"));
    assert_ne!(fails, "0", "{printed}");
    assert_eq!(record["data"]["results.fail"], fails, "{record}");
    assert!(
        record["data"]["reportsWritten"]
            .as_str()
            .is_some_and(|n| n != "0"),
        "{record}"
    );
}
