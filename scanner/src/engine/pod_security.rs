//! `validate.podSecurity`: the Kubernetes Pod Security Standards (baseline
//! and restricted, "latest" version) checked against a Pod or a Pod
//! controller's template, with Kyverno's `exclude` entries (control name,
//! container images, restricted field, values). A resource and the rule's
//! `podSecurity` block enter; the violations that remain after exclusions
//! leave. Follows the checks of k8s.io/pod-security-admission and Kyverno's
//! `pkg/pss` exclusion rules.

use serde::Deserialize;
use serde_json::Value;

use super::wildcard;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurity {
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub exclude: Vec<Exclusion>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Exclusion {
    #[serde(default)]
    pub control_name: String,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub restricted_field: Option<String>,
    #[serde(default)]
    pub values: Vec<String>,
}

/// One failed check at one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub check: &'static str,
    /// e.g. `spec.containers[0].securityContext.privileged`
    pub field: String,
    /// The container the field belongs to, if any.
    pub container: Option<String>,
    pub bad_values: Vec<String>,
}

/// Kyverno's control names and the check IDs they cover.
const CONTROLS: &[(&str, &[&str])] = &[
    ("HostProcess", &["windowsHostProcess"]),
    ("Host Namespaces", &["hostNamespaces"]),
    ("Privileged Containers", &["privileged"]),
    (
        "Capabilities",
        &["capabilities_baseline", "capabilities_restricted"],
    ),
    ("HostPath Volumes", &["hostPathVolumes"]),
    ("Host Ports", &["hostPorts"]),
    ("AppArmor", &["appArmorProfile"]),
    ("SELinux", &["seLinuxOptions"]),
    ("/proc Mount Type", &["procMount"]),
    (
        "Seccomp",
        &["seccompProfile_baseline", "seccompProfile_restricted"],
    ),
    ("Sysctls", &["sysctls"]),
    ("Volume Types", &["restrictedVolumes"]),
    ("Privilege Escalation", &["allowPrivilegeEscalation"]),
    ("Running as Non-root", &["runAsNonRoot"]),
    ("Running as Non-root user", &["runAsUser"]),
];

const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

const RESTRICTED_VOLUME_TYPES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

const SELINUX_TYPES: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// The Pod metadata and spec of a Pod or Pod controller.
pub fn pod_of(resource: &Value) -> Option<(Value, Value)> {
    let kind = resource.get("kind").and_then(Value::as_str)?;
    let template = match kind {
        "Pod" => resource.clone(),
        "CronJob" => resource.pointer("/spec/jobTemplate/spec/template")?.clone(),
        _ => resource.pointer("/spec/template")?.clone(),
    };
    let metadata = template.get("metadata").cloned().unwrap_or(Value::Null);
    let spec = template.get("spec").cloned()?;
    Some((metadata, spec))
}

struct Container<'a> {
    kind: &'static str,
    index: usize,
    name: String,
    value: &'a Value,
}

fn containers(spec: &Value) -> Vec<Container<'_>> {
    let mut out = Vec::new();
    for kind in ["initContainers", "containers", "ephemeralContainers"] {
        for (index, value) in spec
            .get(kind)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            out.push(Container {
                kind,
                index,
                name: value
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                value,
            });
        }
    }
    out
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Evaluates the checks of `level` against a Pod spec.
pub fn evaluate(level: &str, metadata: &Value, spec: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let restricted = level == "restricted";
    let mut push = |check: &'static str,
                    field: String,
                    container: Option<&Container<'_>>,
                    bad: Vec<String>| {
        out.push(Violation {
            check,
            field,
            container: container.map(|c| c.name.clone()),
            bad_values: bad,
        })
    };
    let containers = containers(spec);
    let sc = |c: &Container<'_>, path: &str| {
        c.value.pointer(&format!("/securityContext{path}")).cloned()
    };
    let field = |c: &Container<'_>, path: &str| {
        format!("spec.{}[{}].securityContext{path}", c.kind, c.index)
    };
    // Baseline.
    if spec.pointer("/securityContext/windowsOptions/hostProcess") == Some(&Value::Bool(true)) {
        push(
            "windowsHostProcess",
            "spec.securityContext.windowsOptions.hostProcess".into(),
            None,
            vec!["true".into()],
        );
    }
    for c in &containers {
        if sc(c, "/windowsOptions/hostProcess") == Some(Value::Bool(true)) {
            push(
                "windowsHostProcess",
                field(c, ".windowsOptions.hostProcess"),
                Some(c),
                vec!["true".into()],
            );
        }
    }
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec.get(key) == Some(&Value::Bool(true)) {
            push(
                "hostNamespaces",
                format!("spec.{key}"),
                None,
                vec!["true".into()],
            );
        }
    }
    for c in &containers {
        if sc(c, "/privileged") == Some(Value::Bool(true)) {
            push(
                "privileged",
                field(c, ".privileged"),
                Some(c),
                vec!["true".into()],
            );
        }
        let added: Vec<String> = c
            .value
            .pointer("/securityContext/capabilities/add")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|cap| !BASELINE_CAPABILITIES.contains(cap))
            .map(str::to_string)
            .collect();
        if !added.is_empty() {
            push(
                "capabilities_baseline",
                field(c, ".capabilities.add"),
                Some(c),
                added,
            );
        }
        for (i, port) in c
            .value
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if port
                .get("hostPort")
                .and_then(Value::as_i64)
                .is_some_and(|p| p != 0)
            {
                push(
                    "hostPorts",
                    format!("spec.{}[{}].ports[{i}].hostPort", c.kind, c.index),
                    Some(c),
                    vec![text(port.get("hostPort"))],
                );
            }
        }
        if let Some(mount) = sc(c, "/procMount").and_then(|v| v.as_str().map(str::to_string)) {
            if mount != "Default" {
                push("procMount", field(c, ".procMount"), Some(c), vec![mount]);
            }
        }
        if sc(c, "/seccompProfile/type")
            .and_then(|v| v.as_str().map(str::to_string))
            .as_deref()
            == Some("Unconfined")
        {
            push(
                "seccompProfile_baseline",
                field(c, ".seccompProfile.type"),
                Some(c),
                vec!["Unconfined".into()],
            );
        }
        if let Some(kind) =
            sc(c, "/appArmorProfile/type").and_then(|v| v.as_str().map(str::to_string))
        {
            if kind != "RuntimeDefault" && kind != "Localhost" {
                push(
                    "appArmorProfile",
                    field(c, ".appArmorProfile.type"),
                    Some(c),
                    vec![kind],
                );
            }
        }
        check_selinux(
            c.value.pointer("/securityContext/seLinuxOptions"),
            &field(c, ".seLinuxOptions"),
            Some(c),
            &mut push,
        );
    }
    for (i, volume) in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if volume.get("hostPath").is_some() {
            push(
                "hostPathVolumes",
                format!("spec.volumes[{i}].hostPath"),
                None,
                vec![text(volume.get("name"))],
            );
        }
    }
    for (key, value) in metadata
        .get("annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if key.starts_with("container.apparmor.security.beta.kubernetes.io/") {
            let profile = value.as_str().unwrap_or("");
            if profile != "runtime/default" && !profile.starts_with("localhost/") {
                push(
                    "appArmorProfile",
                    format!("metadata.annotations[{key}]"),
                    None,
                    vec![profile.to_string()],
                );
            }
        }
    }
    if let Some(kind) = spec
        .pointer("/securityContext/appArmorProfile/type")
        .and_then(Value::as_str)
    {
        if kind != "RuntimeDefault" && kind != "Localhost" {
            push(
                "appArmorProfile",
                "spec.securityContext.appArmorProfile.type".into(),
                None,
                vec![kind.to_string()],
            );
        }
    }
    check_selinux(
        spec.pointer("/securityContext/seLinuxOptions"),
        "spec.securityContext.seLinuxOptions",
        None,
        &mut push,
    );
    let pod_seccomp = spec
        .pointer("/securityContext/seccompProfile/type")
        .and_then(Value::as_str);
    if pod_seccomp == Some("Unconfined") {
        push(
            "seccompProfile_baseline",
            "spec.securityContext.seccompProfile.type".into(),
            None,
            vec!["Unconfined".into()],
        );
    }
    for (i, sysctl) in spec
        .pointer("/securityContext/sysctls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = sysctl.get("name").and_then(Value::as_str).unwrap_or("");
        if !SAFE_SYSCTLS.contains(&name) {
            push(
                "sysctls",
                format!("spec.securityContext.sysctls[{i}].name"),
                None,
                vec![name.to_string()],
            );
        }
    }
    if !restricted {
        return out;
    }
    // Restricted.
    for (i, volume) in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(map) = volume.as_object() else {
            continue;
        };
        if let Some(kind) = map
            .keys()
            .find(|k| k.as_str() != "name" && !RESTRICTED_VOLUME_TYPES.contains(&k.as_str()))
        {
            push(
                "restrictedVolumes",
                format!("spec.volumes[{i}].{kind}"),
                None,
                vec![kind.clone()],
            );
        }
    }
    let pod_non_root = spec
        .pointer("/securityContext/runAsNonRoot")
        .and_then(Value::as_bool);
    if pod_non_root == Some(false) {
        push(
            "runAsNonRoot",
            "spec.securityContext.runAsNonRoot".into(),
            None,
            vec!["false".into()],
        );
    }
    if spec
        .pointer("/securityContext/runAsUser")
        .and_then(Value::as_i64)
        == Some(0)
    {
        push(
            "runAsUser",
            "spec.securityContext.runAsUser".into(),
            None,
            vec!["0".into()],
        );
    }
    let pod_seccomp_ok = matches!(pod_seccomp, Some("RuntimeDefault") | Some("Localhost"));
    if pod_seccomp.is_some() && !pod_seccomp_ok && pod_seccomp != Some("Unconfined") {
        push(
            "seccompProfile_restricted",
            "spec.securityContext.seccompProfile.type".into(),
            None,
            vec![pod_seccomp.unwrap_or("").to_string()],
        );
    }
    for c in &containers {
        if sc(c, "/allowPrivilegeEscalation") != Some(Value::Bool(false)) {
            push(
                "allowPrivilegeEscalation",
                field(c, ".allowPrivilegeEscalation"),
                Some(c),
                vec![text(sc(c, "/allowPrivilegeEscalation").as_ref())],
            );
        }
        match sc(c, "/runAsNonRoot").and_then(|v| v.as_bool()) {
            Some(false) => push(
                "runAsNonRoot",
                field(c, ".runAsNonRoot"),
                Some(c),
                vec!["false".into()],
            ),
            None if pod_non_root != Some(true) => push(
                "runAsNonRoot",
                field(c, ".runAsNonRoot"),
                Some(c),
                Vec::new(),
            ),
            _ => {}
        }
        if sc(c, "/runAsUser").and_then(|v| v.as_i64()) == Some(0) {
            push(
                "runAsUser",
                field(c, ".runAsUser"),
                Some(c),
                vec!["0".into()],
            );
        }
        match sc(c, "/seccompProfile/type")
            .and_then(|v| v.as_str().map(str::to_string))
            .as_deref()
        {
            Some("RuntimeDefault") | Some("Localhost") | Some("Unconfined") => {}
            Some(other) => push(
                "seccompProfile_restricted",
                field(c, ".seccompProfile.type"),
                Some(c),
                vec![other.to_string()],
            ),
            None if !pod_seccomp_ok => push(
                "seccompProfile_restricted",
                field(c, ".seccompProfile.type"),
                Some(c),
                Vec::new(),
            ),
            None => {}
        }
        // Ephemeral containers are exempt from the drop requirement only in
        // old versions; "latest" checks every container.
        let drops_all = c
            .value
            .pointer("/securityContext/capabilities/drop")
            .and_then(Value::as_array)
            .is_some_and(|drop| drop.iter().any(|d| d.as_str() == Some("ALL")));
        if !drops_all {
            push(
                "capabilities_restricted",
                field(c, ".capabilities.drop"),
                Some(c),
                Vec::new(),
            );
        }
        let added: Vec<String> = c
            .value
            .pointer("/securityContext/capabilities/add")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|cap| *cap != "NET_BIND_SERVICE")
            .map(str::to_string)
            .collect();
        if !added.is_empty() {
            push(
                "capabilities_restricted",
                field(c, ".capabilities.add"),
                Some(c),
                added,
            );
        }
    }
    out
}

fn check_selinux(
    options: Option<&Value>,
    field: &str,
    container: Option<&Container<'_>>,
    push: &mut impl FnMut(&'static str, String, Option<&Container<'_>>, Vec<String>),
) {
    let Some(options) = options else { return };
    let kind = options.get("type").and_then(Value::as_str).unwrap_or("");
    if !SELINUX_TYPES.contains(&kind) {
        push(
            "seLinuxOptions",
            format!("{field}.type"),
            container,
            vec![kind.to_string()],
        );
    }
    for key in ["user", "role"] {
        if let Some(value) = options
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            push(
                "seLinuxOptions",
                format!("{field}.{key}"),
                container,
                vec![value.to_string()],
            );
        }
    }
}

fn field_pattern(field: &str) -> String {
    let mut out = String::new();
    let mut in_index = false;
    for c in field.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            d if in_index && d.is_ascii_digit() => {
                if !out.ends_with('*') {
                    out.push('*');
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Removes the violations an exclusion covers (Kyverno's `exemptExclusions`).
pub fn apply_exclusions(
    violations: Vec<Violation>,
    exclusions: &[Exclusion],
    spec: &Value,
) -> Vec<Violation> {
    let images: std::collections::HashMap<String, String> = containers(spec)
        .into_iter()
        .map(|c| {
            (
                c.name.clone(),
                c.value
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    violations
        .into_iter()
        .filter(|violation| {
            !exclusions.iter().any(|exclusion| {
                let Some((_, ids)) = CONTROLS
                    .iter()
                    .find(|(name, _)| *name == exclusion.control_name)
                else {
                    return false;
                };
                if !ids.contains(&violation.check) {
                    return false;
                }
                // Image exclusions cover container fields of matching images;
                // image-less exclusions cover pod-level fields only.
                let scope_ok = match (&violation.container, exclusion.images.is_empty()) {
                    (None, true) => true,
                    (Some(name), false) => images.get(name).is_some_and(|image| {
                        exclusion.images.iter().any(|p| wildcard::matches(p, image))
                    }),
                    _ => false,
                };
                if !scope_ok {
                    return false;
                }
                let field_ok = match &exclusion.restricted_field {
                    None => true,
                    Some(f) if f.is_empty() => true,
                    Some(f) => field_pattern(&violation.field) == *f,
                };
                let values_ok = exclusion.values.is_empty()
                    || violation
                        .bad_values
                        .iter()
                        .all(|bad| exclusion.values.iter().any(|p| wildcard::matches(p, bad)));
                field_ok && values_ok
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec_of(value: Value) -> Vec<&'static str> {
        let mut checks: Vec<&'static str> = evaluate("restricted", &json!({}), &value)
            .into_iter()
            .map(|v| v.check)
            .collect();
        checks.dedup();
        checks
    }

    fn compliant() -> Value {
        json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]}}}]})
    }

    #[test]
    fn restricted_compliant_pod_passes() {
        assert!(evaluate("restricted", &json!({}), &compliant()).is_empty());
    }

    #[test]
    fn baseline_checks() {
        let spec = json!({"hostNetwork": true, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "securityContext": {"privileged": true, "capabilities": {"add": ["SYS_ADMIN", "CHOWN"]}},
                "ports": [{"containerPort": 80, "hostPort": 80}]}]});
        let checks: Vec<&str> = evaluate("baseline", &json!({}), &spec)
            .into_iter()
            .map(|v| v.check)
            .collect();
        for expected in [
            "hostNamespaces",
            "privileged",
            "capabilities_baseline",
            "hostPorts",
            "hostPathVolumes",
        ] {
            assert!(
                checks.contains(&expected),
                "{expected} missing from {checks:?}"
            );
        }
        assert!(
            !checks.contains(&"runAsNonRoot"),
            "baseline must not check restricted controls"
        );
    }

    #[test]
    fn restricted_checks() {
        let mut spec = compliant();
        spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
        assert_eq!(spec_of(spec), vec!["allowPrivilegeEscalation"]);
        let mut spec = compliant();
        spec["securityContext"] = json!({});
        assert_eq!(
            spec_of(spec),
            vec!["runAsNonRoot", "seccompProfile_restricted"]
        );
        let mut spec = compliant();
        spec["containers"][0]["securityContext"]["capabilities"] =
            json!({"drop": ["ALL"], "add": ["NET_ADMIN"]});
        assert_eq!(
            spec_of(spec),
            vec!["capabilities_baseline", "capabilities_restricted"]
        );
    }

    #[test]
    fn exclusions_by_control_and_image() {
        let mut spec = compliant();
        spec["containers"][0]["securityContext"]["capabilities"] = json!({"add": ["NET_ADMIN"]});
        spec["containers"][0]["image"] = json!("redis:7");
        let violations = evaluate("restricted", &json!({}), &spec);
        assert!(!violations.is_empty());
        let by_image = Exclusion {
            control_name: "Capabilities".into(),
            images: vec!["redis*".into()],
            ..Exclusion::default()
        };
        assert!(apply_exclusions(violations.clone(), &[by_image], &spec).is_empty());
        let other_image = Exclusion {
            control_name: "Capabilities".into(),
            images: vec!["nginx*".into()],
            ..Exclusion::default()
        };
        assert!(!apply_exclusions(violations.clone(), &[other_image], &spec).is_empty());
        let pod_level = Exclusion {
            control_name: "Capabilities".into(),
            ..Exclusion::default()
        };
        assert!(!apply_exclusions(violations, &[pod_level], &spec).is_empty());
    }

    #[test]
    fn field_patterns_replace_indexes() {
        assert_eq!(
            field_pattern("spec.containers[12].securityContext.privileged"),
            "spec.containers[*].securityContext.privileged"
        );
    }

    #[test]
    fn controllers_expose_their_template() {
        let deployment = json!({"kind": "Deployment", "spec": {"template": {"metadata": {"labels": {}}, "spec": {"containers": []}}}});
        assert!(pod_of(&deployment).is_some());
        assert!(pod_of(&json!({"kind": "Service", "spec": {}})).is_none());
    }
}
