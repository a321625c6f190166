use super::*;
use serde_json::json;

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec})
}

fn settings(level: &str, exclude: Vec<Exclusion>) -> PodSecurity {
    PodSecurity {
        level: level.into(),
        version: Some("latest".into()),
        exclude,
    }
}

fn ids(evaluation: &Evaluation) -> Vec<&'static str> {
    evaluation.checks.iter().map(|c| c.id).collect()
}

fn exclusion(control: &str, images: &[&str]) -> Exclusion {
    Exclusion {
        control_name: control.into(),
        images: images.iter().map(|s| s.to_string()).collect(),
        ..Exclusion::default()
    }
}

/// A pod that passes restricted.
fn compliant() -> Value {
    json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]}}}]})
}

fn run(level: &str, spec: Value, exclude: Vec<Exclusion>) -> Evaluation {
    evaluate_rule(&settings(level, exclude), &pod(spec)).unwrap()
}

#[test]
fn restricted_compliant_pod_passes() {
    assert!(run("restricted", compliant(), vec![]).allowed());
}

#[test]
fn baseline_checks_in_registration_order() {
    let spec = json!({"hostNetwork": true, "volumes": [{"name": "h", "hostPath": {"path": "/data"}}],
        "containers": [{"name": "c", "image": "nginx",
            "securityContext": {"privileged": true, "capabilities": {"add": ["SYS_ADMIN", "CHOWN"]}},
            "ports": [{"containerPort": 80, "hostPort": 8080}]}]});
    let evaluation = run("baseline", spec, vec![]);
    assert_eq!(
        ids(&evaluation),
        [
            "capabilities_baseline",
            "hostNamespaces",
            "hostPathVolumes",
            "hostPorts",
            "privileged"
        ]
    );
    let host_path = &evaluation.checks[2];
    assert_eq!(host_path.forbidden_detail, "volume \"h\"");
    assert_eq!(
        host_path.errors.as_ref().unwrap()[0].bad_value,
        BadValue::Str("/data".into())
    );
}

#[test]
fn restricted_checks_give_field_errors() {
    let mut spec = compliant();
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
    let evaluation = run("restricted", spec, vec![]);
    assert_eq!(ids(&evaluation), ["allowPrivilegeEscalation"]);
    let mut spec = compliant();
    spec["securityContext"] = json!({});
    let evaluation = run("restricted", spec, vec![]);
    assert_eq!(
        ids(&evaluation),
        ["runAsNonRoot", "seccompProfile_restricted"]
    );
    assert_eq!(
        evaluation.checks[0].errors.as_ref().unwrap()[0],
        FieldError {
            error_type: ErrorType::Required,
            field: "spec.containers[0].securityContext.runAsNonRoot".into(),
            bad_value: BadValue::Str(String::new()),
        }
    );
}

#[test]
fn privileged_level_is_evaluated_as_restricted_like_kyverno() {
    // evaluatePSS only leaves restricted checks out for `baseline`.
    let evaluation = run("privileged", json!({"containers": [{"name": "c"}]}), vec![]);
    assert!(ids(&evaluation).contains(&"allowPrivilegeEscalation"));
}

#[test]
fn versions_select_the_check_version() {
    let spec = json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}]},
        "containers": [{"name": "c"}]});
    let at = |version: &str| {
        let settings = PodSecurity {
            level: "baseline".into(),
            version: Some(version.into()),
            exclude: vec![],
        };
        evaluate_rule(&settings, &pod(spec.clone())).unwrap()
    };
    assert!(at("latest").allowed());
    assert!(at("v1.32").allowed());
    assert_eq!(ids(&at("v1.31")), ["sysctls"]);
    let bad = PodSecurity {
        level: "baseline".into(),
        version: Some("1.30".into()),
        exclude: vec![],
    };
    assert_eq!(
        evaluate_rule(&bad, &pod(spec.clone())).unwrap_err(),
        PssError::Version
    );
    assert_eq!(Version::parse("v1.05"), Err(PssError::Version));
    assert!(Version::parse("v1.0").is_ok());
}

#[test]
fn only_pods_and_their_controllers() {
    let service = json!({"kind": "Service", "spec": {}});
    assert_eq!(
        evaluate_rule(&settings("baseline", vec![]), &service).unwrap_err(),
        PssError::NotAPod
    );
    let cronjob = json!({"kind": "CronJob", "spec": {"jobTemplate": {"metadata": {"annotations":
        {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}},
        "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}}});
    let evaluation = evaluate_rule(&settings("baseline", vec![]), &cronjob).unwrap();
    assert_eq!(ids(&evaluation), ["appArmorProfile"]);
}

#[test]
fn image_exclusion_covers_matching_containers_only() {
    let mut spec = compliant();
    spec["containers"][0]["securityContext"]["capabilities"] = json!({"add": ["NET_ADMIN"]});
    spec["containers"][0]["image"] = json!("redis:7");
    assert!(!run("restricted", spec.clone(), vec![]).allowed());
    assert!(run(
        "restricted",
        spec.clone(),
        vec![exclusion("Capabilities", &["redis*"])]
    )
    .allowed());
    let other = run(
        "restricted",
        spec.clone(),
        vec![exclusion("Capabilities", &["nginx*"])],
    );
    assert_eq!(
        ids(&other),
        ["capabilities_baseline", "capabilities_restricted"]
    );
    // Without images the exclusion sees a bare `fake` container: it covers
    // one missing drop, not the added capability.
    let pod_level = run("restricted", spec, vec![exclusion("Capabilities", &[])]);
    assert_eq!(
        ids(&pod_level),
        ["capabilities_baseline", "capabilities_restricted"]
    );
}

#[test]
fn image_exclusion_matches_by_container_name() {
    let spec = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {"name": "a", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": true, "capabilities": {"drop": ["ALL"]}}},
            {"name": "b", "image": "redis", "securityContext": {"allowPrivilegeEscalation": true, "capabilities": {"drop": ["ALL"]}}}]});
    let evaluation = run(
        "restricted",
        spec,
        vec![exclusion("Privilege Escalation", &["redis"])],
    );
    assert_eq!(ids(&evaluation), ["allowPrivilegeEscalation"]);
    let errors = evaluation.checks[0].errors.as_ref().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].field,
        "spec.containers[0].securityContext.allowPrivilegeEscalation"
    );
}

#[test]
fn restricted_field_and_values() {
    let spec = json!({"hostNetwork": true, "hostPID": true, "containers": [{"name": "c"}]});
    let only = |field: Option<&str>, values: &[&str]| {
        let exclusion = Exclusion {
            control_name: "Host Namespaces".into(),
            restricted_field: field.map(str::to_string),
            values: values.iter().map(|s| s.to_string()).collect(),
            ..Exclusion::default()
        };
        run("baseline", spec.clone(), vec![exclusion])
    };
    let network_only = only(Some("spec.hostNetwork"), &[]);
    let errors = network_only.checks[0].errors.as_ref().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "spec.hostPID");
    assert!(only(None, &["true"]).allowed());
    assert!(!only(None, &["false"]).allowed());
    assert!(!only(Some("spec.hostIPC"), &[]).allowed());
    // Fields are compared with their indexes starred.
    let spec = json!({"containers": [{"name": "c", "image": "nginx", "ports": [{"hostPort": 80}, {"hostPort": 9000}]}]});
    let ports = |values: &[&str]| {
        let exclusion = Exclusion {
            control_name: "Host Ports".into(),
            images: vec!["nginx".into()],
            restricted_field: Some("spec.containers[*].ports[*].hostPort".into()),
            values: values.iter().map(|s| s.to_string()).collect(),
        };
        run("baseline", spec.clone(), vec![exclusion])
    };
    assert!(ports(&["80", "9000"]).allowed());
    let left = ports(&["80"]);
    let errors = left.checks[0].errors.as_ref().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].bad_value, BadValue::Int(9000));
}

#[test]
fn fail_message_is_kyvernos() {
    let spec = json!({"hostNetwork": true, "containers": [{"name": "web", "image": "nginx",
        "securityContext": {"capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}}}],
        "volumes": [{"name": "v", "nfs": {"server": "x", "path": "/"}}]});
    let resource = pod(spec);
    let evaluation = evaluate_rule(&settings("restricted", vec![]), &resource).unwrap();
    let (message, _) = evaluation.failure("rule-1", &resource);
    let expected = concat!(
        "Validation rule 'rule-1' failed. It violates PodSecurity \"restricted:latest\": ",
        "(Forbidden reason: allowPrivilegeEscalation != false, field error list: [spec.containers[0].securityContext.allowPrivilegeEscalation is forbidden, forbidden values found: nil])",
        "(Forbidden reason: non-default capabilities, field error list: [spec.containers[0].securityContext.capabilities.add is forbidden, forbidden values found: [NET_ADMIN SYS_ADMIN]])",
        "(Forbidden reason: unrestricted capabilities, field error list: [spec.containers[0].securityContext.capabilities.drop: Required value, spec.containers[0].securityContext.capabilities.add is forbidden, forbidden values found: [NET_ADMIN SYS_ADMIN]])",
        "(Forbidden reason: host namespaces, field error list: [spec.hostNetwork is forbidden, forbidden values found: true])",
        "(Forbidden reason: restricted volume types, field error list: [spec.volumes[0].nfs: Forbidden])",
        "(Forbidden reason: runAsNonRoot != true, field error list: [spec.containers[0].securityContext.runAsNonRoot: Required value])",
        "(Forbidden reason: seccompProfile, field error list: [spec.containers[0].securityContext.seccompProfile.type: Required value])",
    );
    assert_eq!(message, expected);
}

#[test]
fn controller_fields_are_named_in_the_template() {
    let deployment = json!({"kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}},
            "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": true}}]}}}});
    let evaluation = evaluate_rule(&settings("baseline", vec![]), &deployment).unwrap();
    let (message, _) = evaluation.failure("r", &deployment);
    assert!(
        message.contains("spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/c] is forbidden, forbidden values found: unconfined"),
        "{message}"
    );
    assert!(
        message.contains("spec.template.spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true"),
        "{message}"
    );
}

#[test]
fn properties_are_kyvernos() {
    let spec = json!({"hostPID": true, "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [{"name": "init", "image": "busybox:1.36", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
        "containers": [
            {"name": "a", "image": "nginx", "securityContext": {"capabilities": {"drop": ["ALL"]}}},
            {"name": "b", "image": "ghcr.io/org/app@sha256:abc", "securityContext": {"capabilities": {"drop": ["ALL"]}}}]});
    let resource = pod(spec);
    let evaluation = evaluate_rule(
        &PodSecurity {
            level: "restricted".into(),
            version: Some("v1.29".into()),
            exclude: vec![],
        },
        &resource,
    )
    .unwrap();
    let (_, properties) = evaluation.failure("r", &resource);
    assert_eq!(properties["standard"], "restricted");
    assert_eq!(properties["version"], "v1.29");
    assert_eq!(
        properties["controls"],
        "allowPrivilegeEscalation,hostNamespaces"
    );
    assert_eq!(
        properties["controlsJSON"],
        concat!(
            r#"[{"ID":"allowPrivilegeEscalation","Name":"Privilege Escalation","Images":["docker.io/nginx:latest","ghcr.io/org/app@sha256:abc"]},"#,
            r#"{"ID":"hostNamespaces","Name":"Host Namespaces","Images":null}]"#
        )
    );
}

#[test]
fn a_passing_pod_has_no_properties() {
    let resource = pod(compliant());
    let evaluation = evaluate_rule(&settings("restricted", vec![]), &resource).unwrap();
    assert!(evaluation.allowed());
    let (_, properties) = evaluation.failure("r", &resource);
    assert!(properties.is_empty());
}

#[test]
fn exclusions_from_an_exception_add_to_the_rules() {
    let spec = json!({"hostIPC": true, "containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": true}}]});
    let resource = pod(spec);
    let mut evaluation = evaluate_rule(
        &settings("baseline", vec![exclusion("Host Namespaces", &[])]),
        &resource,
    )
    .unwrap();
    assert_eq!(ids(&evaluation), ["privileged"]);
    evaluation.exclude(&[exclusion("Privileged Containers", &["nginx"])]);
    assert!(evaluation.allowed());
}

#[test]
fn field_helpers() {
    assert_eq!(
        star_indexes("spec.containers[12].ports[3].hostPort"),
        "spec.containers[*].ports[*].hostPort"
    );
    assert_eq!(
        parse_field("spec.initContainers[2].securityContext.privileged"),
        (
            "spec.initContainers[*].securityContext.privileged".to_string(),
            Some(2),
            Some("initContainers".to_string())
        )
    );
    assert_eq!(
        parse_field("spec.securityContext.runAsNonRoot").2,
        None::<String>
    );
    assert_eq!(go_quote("a\"b"), "\"a\\\"b\"");
}
