//! `validate.podSecurity`: the Kubernetes Pod Security Standards checked
//! against a Pod or a Pod controller's template, with Kyverno's `exclude`
//! entries (control name, container images, restricted field, values).
//!
//! A resource and the rule's `podSecurity` block enter
//! ([`evaluate_rule`]); an [`Evaluation`] leaves, holding the failed checks
//! with their field errors. More exclusions (a PolicyException's
//! `podSecurity`) can be applied to it ([`Evaluation::exclude`]), and a
//! failed one gives Kyverno's message and report properties
//! ([`Evaluation::failure`]).
//!
//! The checks are a port of Kyverno's fork of k8s.io/pod-security-admission
//! (`policy/check_*.go`, evaluated `WithFieldErrors`); exclusions follow
//! Kyverno's `pkg/pss/evaluate.go`; the message and properties follow
//! `pkg/engine/handlers/validation/validate_pss.go`,
//! `pss.FormatChecksPrint` and `addPodSecurityProperties`
//! (`pkg/utils/report/results.go`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::value_types::{images, wildcard};
use crate::ValueExt;

/// A rule's `validate.podSecurity` block (Kyverno's `kyvernov1.PodSecurity`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PodSecurity {
    #[serde(default)]
    pub(crate) level: String,
    #[serde(default)]
    pub(crate) version: Option<String>,
    #[serde(default)]
    pub(crate) exclude: Vec<Exclusion>,
}

/// One `exclude` entry of a rule, or one `podSecurity` entry of a
/// PolicyException (Kyverno's `kyvernov1.PodSecurityStandard`).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Exclusion {
    #[serde(default)]
    pub(crate) control_name: String,
    #[serde(default)]
    pub(crate) images: Vec<String>,
    #[serde(default)]
    pub(crate) restricted_field: Option<String>,
    #[serde(default)]
    pub(crate) values: Vec<String>,
}

/// Why a podSecurity rule could not be evaluated; the text is Kyverno's
/// `RuleError` message for it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum PssError {
    #[error("Error while getting new resource: could not find correct resource type")]
    NotAPod,
    #[error("failed to parse pod security api version: must be \"latest\" or \"v1.x\"")]
    Version,
}

/// A field error's value, as pod-security-admission gives it (`BadValue`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BadValue {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

/// `field.ErrorTypeForbidden` or `field.ErrorTypeRequired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    Forbidden,
    Required,
}

/// One `field.Error` of a failed check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    pub(crate) error_type: ErrorType,
    /// e.g. `spec.containers[0].securityContext.privileged`
    pub(crate) field: String,
    pub(crate) bad_value: BadValue,
}

/// A failed check (Kyverno's `pssutils.PSSCheckResult`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckResult {
    pub(crate) id: &'static str,
    pub(crate) forbidden_reason: String,
    pub(crate) forbidden_detail: String,
    /// `None` for checks that give no field errors.
    pub(crate) errors: Option<Vec<FieldError>>,
    /// Images of the containers the detail names (`addImages`).
    pub(crate) images: Option<Vec<String>>,
}

/// Kyverno's control names and the check IDs they cover
/// (`pssutils.PSS_control_name_to_ids`).
const CONTROLS: &[(&str, &[&str])] = &[
    (
        "Capabilities",
        &["capabilities_baseline", "capabilities_restricted"],
    ),
    (
        "Seccomp",
        &["seccompProfile_baseline", "seccompProfile_restricted"],
    ),
    ("Privileged Containers", &["privileged"]),
    ("Host Ports", &["hostPorts"]),
    ("/proc Mount Type", &["procMount"]),
    ("HostProcess", &["windowsHostProcess"]),
    ("SELinux", &["seLinuxOptions"]),
    ("Host Namespaces", &["hostNamespaces"]),
    ("HostPath Volumes", &["hostPathVolumes"]),
    ("Sysctls", &["sysctls"]),
    ("AppArmor", &["appArmorProfile"]),
    ("Privilege Escalation", &["allowPrivilegeEscalation"]),
    ("Running as Non-root", &["runAsNonRoot"]),
    ("Running as Non-root user", &["runAsUser"]),
    ("Volume Types", &["restrictedVolumes"]),
];

fn control_ids(control: &str) -> &'static [&'static str] {
    CONTROLS
        .iter()
        .find(|(name, _)| *name == control)
        .map(|(_, ids)| *ids)
        .unwrap_or(&[])
}

/// `pssutils.PSSControlIDToName`: empty for checks no control names.
fn control_name(id: &str) -> &'static str {
    CONTROLS
        .iter()
        .find(|(_, ids)| ids.contains(&id))
        .map(|(name, _)| *name)
        .unwrap_or("")
}

/// A pod-security-admission version: `latest`, or `v1.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version {
    minor: u32,
    latest: bool,
}

impl Version {
    const LATEST: Version = Version {
        minor: 0,
        latest: true,
    };

    /// `pss.ParseVersion`: empty and `latest` are the latest version,
    /// otherwise `^v1\.([0-9]|[1-9][0-9]*)$`.
    pub(crate) fn parse(text: &str) -> Result<Version, PssError> {
        if text.is_empty() || text == "latest" {
            return Ok(Version::LATEST);
        }
        let minor = text.strip_prefix("v1.").ok_or(PssError::Version)?;
        let canonical = minor == "0" || (!minor.starts_with('0') && !minor.is_empty());
        if !canonical || !minor.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PssError::Version);
        }
        let minor = minor.parse().map_err(|_| PssError::Version)?;
        Ok(Version {
            minor,
            latest: false,
        })
    }

    /// `api.Version.Older`; the latest is never older.
    fn older(self, minor: u32) -> bool {
        !self.latest && self.minor < minor
    }
}

/// The Pod a check sees: its metadata and spec.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pod {
    metadata: Value,
    spec: Value,
}

/// Kyverno's `getSpec` (validate_pss.go): Pods, the six template
/// controllers, and CronJobs (whose metadata is the job template's).
pub(crate) fn pod_of(resource: &Value) -> Result<Pod, PssError> {
    let kind = resource.str_field("kind").unwrap_or("");
    let (metadata, spec) = match kind {
        "DaemonSet"
        | "Deployment"
        | "Job"
        | "StatefulSet"
        | "ReplicaSet"
        | "ReplicationController" => ("/spec/template/metadata", "/spec/template/spec"),
        "CronJob" => (
            "/spec/jobTemplate/metadata",
            "/spec/jobTemplate/spec/template/spec",
        ),
        "Pod" => ("/metadata", "/spec"),
        _ => return Err(PssError::NotAPod),
    };
    let object = |pointer: &str| {
        resource
            .pointer(pointer)
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}))
    };
    Ok(Pod {
        metadata: object(metadata),
        spec: object(spec),
    })
}

// ---------------------------------------------------------------------
// The checks (pod-security-admission `policy/check_*.go`).

type CheckFn = fn(&Value, &Value) -> Option<Failed>;

/// A check's failure before its ID is attached.
struct Failed {
    reason: String,
    detail: String,
    errors: Option<Vec<FieldError>>,
}

struct Check {
    id: &'static str,
    restricted: bool,
    /// (minimum minor version, check), oldest first.
    versions: &'static [(u32, CheckFn)],
}

/// `policy.DefaultChecks()`, in registration order (the check files'
/// alphabetical order, which Go's init order follows).
const CHECKS: &[Check] = &[
    Check {
        id: "allowPrivilegeEscalation",
        restricted: true,
        versions: &[
            (8, allow_privilege_escalation_1_8),
            (25, allow_privilege_escalation_1_25),
        ],
    },
    Check {
        id: "appArmorProfile",
        restricted: false,
        versions: &[(0, app_armor_profile)],
    },
    Check {
        id: "capabilities_baseline",
        restricted: false,
        versions: &[(0, capabilities_baseline)],
    },
    Check {
        id: "capabilities_restricted",
        restricted: true,
        versions: &[
            (22, capabilities_restricted_1_22),
            (25, capabilities_restricted_1_25),
        ],
    },
    Check {
        id: "hostNamespaces",
        restricted: false,
        versions: &[(0, host_namespaces)],
    },
    Check {
        id: "hostPathVolumes",
        restricted: false,
        versions: &[(0, host_path_volumes)],
    },
    Check {
        id: "hostPorts",
        restricted: false,
        versions: &[(0, host_ports)],
    },
    Check {
        id: "hostProbesAndHostLifecycle",
        restricted: false,
        versions: &[(34, host_probes_and_host_lifecycle)],
    },
    Check {
        id: "privileged",
        restricted: false,
        versions: &[(0, privileged)],
    },
    Check {
        id: "procMount",
        restricted: false,
        versions: &[(0, proc_mount)],
    },
    Check {
        id: "restrictedVolumes",
        restricted: true,
        versions: &[(0, restricted_volumes)],
    },
    Check {
        id: "runAsNonRoot",
        restricted: true,
        versions: &[(0, run_as_non_root)],
    },
    Check {
        id: "runAsUser",
        restricted: true,
        versions: &[(23, run_as_user)],
    },
    Check {
        id: "seLinuxOptions",
        restricted: false,
        versions: &[(0, se_linux_options_1_0), (31, se_linux_options_1_31)],
    },
    Check {
        id: "seccompProfile_baseline",
        restricted: false,
        versions: &[
            (0, seccomp_profile_baseline_1_0),
            (19, seccomp_profile_baseline_1_19),
        ],
    },
    Check {
        id: "seccompProfile_restricted",
        restricted: true,
        versions: &[
            (19, seccomp_profile_restricted_1_19),
            (25, seccomp_profile_restricted_1_25),
        ],
    },
    Check {
        id: "sysctls",
        restricted: false,
        versions: &[
            (0, sysctls_1_0),
            (27, sysctls_1_27),
            (29, sysctls_1_29),
            (32, sysctls_1_32),
        ],
    },
    Check {
        id: "windowsHostProcess",
        restricted: false,
        versions: &[(0, windows_host_process)],
    },
];

/// Kyverno's `evaluatePSS`: every check of the level (only `baseline`
/// leaves the restricted checks out; Kyverno treats any other level as
/// restricted), each at the newest version not newer than `version` (the
/// oldest when all are newer).
pub(crate) fn evaluate_pod(level: &str, version: Version, pod: &Pod) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for check in CHECKS {
        if level == "baseline" && check.restricted {
            continue;
        }
        let Some(mut selected) = check.versions.first() else {
            continue;
        };
        for next in &check.versions[1..] {
            if !version.older(next.0) && selected.0 < next.0 {
                selected = next;
            }
        }
        if let Some(failed) = (selected.1)(&pod.metadata, &pod.spec) {
            out.push(CheckResult {
                id: check.id,
                forbidden_reason: failed.reason,
                forbidden_detail: failed.detail,
                errors: failed.errors,
                images: None,
            });
        }
    }
    out
}

/// The names (`Data`) and field errors (`Errs`) a check collects
/// (pod-security-admission `Violations`).
#[derive(Default)]
struct Violations {
    data: Vec<String>,
    errors: Vec<FieldError>,
}

impl Violations {
    fn add(&mut self, data: impl Into<String>, errors: impl IntoIterator<Item = FieldError>) {
        self.data.push(data.into());
        self.errors.extend(errors);
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn len(&self) -> usize {
        self.data.len()
    }
}

fn forbidden(field: String, value: BadValue) -> FieldError {
    FieldError {
        error_type: ErrorType::Forbidden,
        field,
        bad_value: value,
    }
}

/// `field.Forbidden` without a value (its `BadValue` is `""`).
fn forbidden_bare(field: String) -> FieldError {
    forbidden(field, BadValue::Str(String::new()))
}

fn required(field: String) -> FieldError {
    FieldError {
        error_type: ErrorType::Required,
        field,
        bad_value: BadValue::Str(String::new()),
    }
}

fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 {
        singular
    } else {
        plural
    }
}

fn join_quote<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    if items.is_empty() {
        return String::new();
    }
    format!("\"{}\"", items.join("\", \""))
}

/// Go's `%q` for the strings these checks quote.
fn go_quote(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A field that is set (present and not null), as a Go pointer is non-nil.
fn set<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key).filter(|v| !v.is_null())
}

fn set_at<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |value, key| set(value, key))
}

fn is_true(value: Option<&Value>) -> bool {
    value.and_then(Value::as_bool) == Some(true)
}

fn string_of(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or("").to_string()
}

fn strings_of(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// One container and the path to it (`visitContainers`).
struct Container<'a> {
    name: String,
    value: &'a Value,
    path: String,
}

impl Container<'_> {
    fn security(&self, keys: &[&str]) -> Option<&Value> {
        set(self.value, "securityContext").and_then(|sc| set_at(sc, keys))
    }

    fn child(&self, rest: &str) -> String {
        format!("{}.{rest}", self.path)
    }
}

/// Init containers, containers, then ephemeral containers.
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
                name: string_of(value.get("name")),
                value,
                path: format!("spec.{kind}[{index}]"),
            });
        }
    }
    out
}

fn windows(spec: &Value) -> bool {
    set_at(spec, &["os", "name"]).and_then(Value::as_str) == Some("windows")
}

fn allow_privilege_escalation_1_8(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad = Violations::default();
    for c in containers(spec) {
        let path = c.child("securityContext.allowPrivilegeEscalation");
        if set(c.value, "securityContext").is_none() {
            bad.add(c.name, [required(path)]);
        } else {
            match c.security(&["allowPrivilegeEscalation"]) {
                None => bad.add(c.name, [forbidden(path, BadValue::Str("nil".into()))]),
                Some(v) if v.as_bool() == Some(true) => {
                    bad.add(c.name, [forbidden(path, BadValue::Bool(true))])
                }
                Some(_) => {}
            }
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "allowPrivilegeEscalation != false".into(),
        detail: format!(
            "{} {} must set securityContext.allowPrivilegeEscalation=false",
            pluralize("container", "containers", bad.len()),
            join_quote(&bad.data)
        ),
        errors: Some(bad.errors),
    })
}

fn allow_privilege_escalation_1_25(metadata: &Value, spec: &Value) -> Option<Failed> {
    if windows(spec) {
        return None;
    }
    allow_privilege_escalation_1_8(metadata, spec)
}

fn app_armor_profile(metadata: &Value, spec: &Value) -> Option<Failed> {
    let allowed_type = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    let mut setters = Violations::default();
    let mut bad_values = BTreeSet::new();
    if let Some(profile) = set_at(spec, &["securityContext", "appArmorProfile"]) {
        let kind = string_of(profile.get("type"));
        if !allowed_type(&kind) {
            setters.add(
                "pod",
                [forbidden(
                    "spec.securityContext.appArmorProfile.type".into(),
                    BadValue::Str(kind.clone()),
                )],
            );
            bad_values.insert(kind);
        }
    }
    let mut bad_containers = Violations::default();
    for c in containers(spec) {
        if let Some(profile) = c.security(&["appArmorProfile"]) {
            let kind = string_of(profile.get("type"));
            if !allowed_type(&kind) {
                bad_containers.add(
                    c.name.clone(),
                    [forbidden(
                        c.child("securityContext.appArmorProfile.type"),
                        BadValue::Str(kind.clone()),
                    )],
                );
                bad_values.insert(kind);
            }
        }
    }
    if !bad_containers.is_empty() {
        setters.add(
            format!(
                "{} {}",
                pluralize("container", "containers", bad_containers.len()),
                join_quote(&bad_containers.data)
            ),
            bad_containers.errors,
        );
    }
    // Go ranges over a map here; sorted keys keep the error order stable.
    let mut annotations = Violations::default();
    let entries: BTreeMap<&String, &Value> = metadata
        .get("annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .collect();
    for (key, value) in entries {
        let value = value.as_str().unwrap_or("");
        let allowed =
            value.is_empty() || value == "runtime/default" || value.starts_with("localhost/");
        if key.starts_with("container.apparmor.security.beta.kubernetes.io/") && !allowed {
            annotations.add(
                format!("{key}={}", go_quote(value)),
                [forbidden(
                    format!("metadata.annotations[{key}]"),
                    BadValue::Str(value.to_string()),
                )],
            );
        }
    }
    let mut bad_list: Vec<String> = bad_values.into_iter().collect();
    if !annotations.is_empty() {
        let mut data = annotations.data.clone();
        data.sort();
        bad_list.extend(data);
        setters.add(
            pluralize("annotation", "annotations", annotations.len()),
            annotations.errors,
        );
    }
    if setters.is_empty() {
        return None;
    }
    Some(Failed {
        reason: pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            bad_list.len(),
        )
        .into(),
        detail: format!(
            "{} must not set AppArmor profile type to {}",
            setters.data.join(" and "),
            join_quote(&bad_list)
        ),
        errors: Some(setters.errors),
    })
}

const CAPABILITIES_ALLOWED_1_0: &[&str] = &[
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

fn capabilities_baseline(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad = Violations::default();
    let mut non_default = BTreeSet::new();
    for c in containers(spec) {
        let Some(capabilities) = c.security(&["capabilities"]) else {
            continue;
        };
        let forbidden_values: BTreeSet<String> = strings_of(capabilities.get("add"))
            .into_iter()
            .filter(|cap| !CAPABILITIES_ALLOWED_1_0.contains(&cap.as_str()))
            .collect();
        if !forbidden_values.is_empty() {
            non_default.extend(forbidden_values.iter().cloned());
            bad.add(
                c.name.clone(),
                [forbidden(
                    c.child("securityContext.capabilities.add"),
                    BadValue::List(forbidden_values.into_iter().collect()),
                )],
            );
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "non-default capabilities".into(),
        detail: format!(
            "{} {} must not include {} in securityContext.capabilities.add",
            pluralize("container", "containers", bad.len()),
            join_quote(&bad.data),
            join_quote(&non_default)
        ),
        errors: Some(bad.errors),
    })
}

fn capabilities_restricted_1_22(_: &Value, spec: &Value) -> Option<Failed> {
    let mut forbidden_caps = BTreeSet::new();
    let mut missing_drop = Violations::default();
    let mut adding = Violations::default();
    for c in containers(spec) {
        let drop_path = c.child("securityContext.capabilities.drop");
        let Some(capabilities) = c.security(&["capabilities"]) else {
            missing_drop.add(c.name.clone(), [required(drop_path)]);
            continue;
        };
        let drops = strings_of(capabilities.get("drop"));
        if !drops.iter().any(|d| d == "ALL") {
            if drops.is_empty() {
                missing_drop.add(c.name.clone(), [required(drop_path)]);
            } else {
                let values: BTreeSet<String> = drops.into_iter().collect();
                missing_drop.add(
                    c.name.clone(),
                    [forbidden(
                        drop_path,
                        BadValue::List(values.into_iter().collect()),
                    )],
                );
            }
        }
        let added: BTreeSet<String> = strings_of(capabilities.get("add"))
            .into_iter()
            .filter(|cap| cap != "NET_BIND_SERVICE")
            .collect();
        if !added.is_empty() {
            forbidden_caps.extend(added.iter().cloned());
            adding.add(
                c.name.clone(),
                [forbidden(
                    c.child("securityContext.capabilities.add"),
                    BadValue::List(added.into_iter().collect()),
                )],
            );
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} {} must set securityContext.capabilities.drop=[\"ALL\"]",
            pluralize("container", "containers", missing_drop.len()),
            join_quote(&missing_drop.data)
        ));
    }
    if !adding.is_empty() {
        details.push(format!(
            "{} {} must not include {} in securityContext.capabilities.add",
            pluralize("container", "containers", adding.len()),
            join_quote(&adding.data),
            join_quote(&forbidden_caps)
        ));
    }
    if details.is_empty() {
        return None;
    }
    let mut errors = missing_drop.errors;
    errors.extend(adding.errors);
    Some(Failed {
        reason: "unrestricted capabilities".into(),
        detail: details.join("; "),
        errors: Some(errors),
    })
}

fn capabilities_restricted_1_25(metadata: &Value, spec: &Value) -> Option<Failed> {
    if windows(spec) {
        return None;
    }
    capabilities_restricted_1_22(metadata, spec)
}

fn host_namespaces(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad = Violations::default();
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(spec.get(key)) {
            bad.add(
                format!("{key}=true"),
                [forbidden(format!("spec.{key}"), BadValue::Bool(true))],
            );
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "host namespaces".into(),
        detail: bad.data.join(", "),
        errors: Some(bad.errors),
    })
}

fn volumes(spec: &Value) -> impl Iterator<Item = (usize, &Value)> {
    spec.get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

fn host_path_volumes(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad = Violations::default();
    for (i, volume) in volumes(spec) {
        if let Some(host_path) = set(volume, "hostPath") {
            bad.add(
                string_of(volume.get("name")),
                [forbidden(
                    format!("spec.volumes[{i}].hostPath"),
                    BadValue::Str(string_of(host_path.get("path"))),
                )],
            );
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "hostPath volumes".into(),
        detail: format!(
            "{} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad.data)
        ),
        errors: Some(bad.errors),
    })
}

fn host_ports(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad = Violations::default();
    let mut ports = BTreeSet::new();
    for c in containers(spec) {
        let mut errors = Vec::new();
        for (i, port) in c
            .value
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let host_port = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if host_port != 0 {
                ports.insert(host_port.to_string());
                errors.push(forbidden(
                    c.child(&format!("ports[{i}].hostPort")),
                    BadValue::Int(host_port),
                ));
            }
        }
        if !errors.is_empty() {
            bad.add(c.name, errors);
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "hostPort".into(),
        detail: format!(
            "{} {} {} {} {}",
            pluralize("container", "containers", bad.len()),
            join_quote(&bad.data),
            pluralize("uses", "use", bad.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.into_iter().collect::<Vec<_>>().join(", ")
        ),
        errors: Some(bad.errors),
    })
}

fn host_probes_and_host_lifecycle(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad_containers = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for c in containers(spec) {
        let handlers = [
            set(c.value, "livenessProbe"),
            set(c.value, "readinessProbe"),
            set(c.value, "startupProbe"),
            set_at(c.value, &["lifecycle", "postStart"]),
            set_at(c.value, &["lifecycle", "preStop"]),
        ];
        for handler in handlers.into_iter().flatten() {
            for kind in ["httpGet", "tcpSocket"] {
                let host = string_of(set_at(handler, &[kind, "host"]));
                if !host.is_empty() {
                    bad_containers.insert(c.name.clone());
                    hosts.insert(host);
                }
            }
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "probe or lifecycle host".into(),
        detail: format!(
            "{} {} {} {} {}",
            pluralize("container", "containers", bad_containers.len()),
            join_quote(&bad_containers),
            pluralize("uses", "use", bad_containers.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(&hosts)
        ),
        errors: None,
    })
}

fn privileged(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad = Violations::default();
    for c in containers(spec) {
        if is_true(c.security(&["privileged"])) {
            let field = c.child("securityContext.privileged");
            bad.add(c.name, [forbidden(field, BadValue::Bool(true))]);
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "privileged".into(),
        detail: format!(
            "{} {} must not set securityContext.privileged=true",
            pluralize("container", "containers", bad.len()),
            join_quote(&bad.data)
        ),
        errors: Some(bad.errors),
    })
}

fn proc_mount(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad = Violations::default();
    let mut types = BTreeSet::new();
    for c in containers(spec) {
        let Some(mount) = c.security(&["procMount"]) else {
            continue;
        };
        let mount = mount.as_str().unwrap_or("").to_string();
        if mount != "Default" {
            let field = c.child("securityContext.procMount");
            bad.add(c.name, [forbidden(field, BadValue::Str(mount.clone()))]);
            types.insert(mount);
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "procMount".into(),
        detail: format!(
            "{} {} must not set securityContext.procMount to {}",
            pluralize("container", "containers", bad.len()),
            join_quote(&bad.data),
            join_quote(&types)
        ),
        errors: Some(bad.errors),
    })
}

/// Volume sources the restricted level allows.
const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Volume sources the restricted level names, in the check's order.
const RESTRICTED_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn restricted_volumes(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad = Violations::default();
    let mut types = BTreeSet::new();
    for (i, volume) in volumes(spec) {
        if ALLOWED_VOLUMES.iter().any(|k| set(volume, k).is_some()) {
            continue;
        }
        // A source the typed Pod does not know unmarshals to none at all.
        let kind = RESTRICTED_VOLUMES
            .iter()
            .find(|k| set(volume, k).is_some())
            .copied()
            .unwrap_or("unknown");
        types.insert(kind);
        bad.add(
            string_of(volume.get("name")),
            [forbidden_bare(format!("spec.volumes[{i}].{kind}"))],
        );
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "restricted volume types".into(),
        detail: format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad.data),
            pluralize("uses", "use", bad.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&types)
        ),
        errors: Some(bad.errors),
    })
}

fn run_as_non_root(_: &Value, spec: &Value) -> Option<Failed> {
    let mut setters = Violations::default();
    let mut pod_non_root = false;
    if let Some(value) = set_at(spec, &["securityContext", "runAsNonRoot"]) {
        if value.as_bool() == Some(true) {
            pod_non_root = true;
        } else {
            setters.add(
                "pod",
                [forbidden(
                    "spec.securityContext.runAsNonRoot".into(),
                    BadValue::Bool(false),
                )],
            );
        }
    }
    let mut explicit = Violations::default();
    let mut implicit = Violations::default();
    for c in containers(spec) {
        let field = c.child("securityContext.runAsNonRoot");
        match c.security(&["runAsNonRoot"]) {
            Some(value) if value.as_bool() != Some(true) => {
                explicit.add(c.name, [forbidden(field, BadValue::Bool(false))]);
            }
            Some(_) => {}
            None if !pod_non_root => implicit.add(c.name, [required(field)]),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.add(
            format!(
                "{} {}",
                pluralize("container", "containers", explicit.len()),
                join_quote(&explicit.data)
            ),
            explicit.errors,
        );
    }
    if setters.is_empty() && implicit.is_empty() {
        return None;
    }
    let mut details = Vec::new();
    let mut errors = Vec::new();
    if !setters.is_empty() {
        details.push(format!(
            "{} must not set securityContext.runAsNonRoot=false",
            setters.data.join(" and ")
        ));
        errors.extend(setters.errors);
    }
    if !implicit.is_empty() {
        details.push(format!(
            "pod or {} {} must set securityContext.runAsNonRoot=true",
            pluralize("container", "containers", implicit.len()),
            join_quote(&implicit.data)
        ));
        errors.extend(implicit.errors);
    }
    Some(Failed {
        reason: "runAsNonRoot != true".into(),
        detail: details.join("\n"),
        errors: Some(errors),
    })
}

fn run_as_user(_: &Value, spec: &Value) -> Option<Failed> {
    let mut setters = Violations::default();
    let is_root = |v: Option<&Value>| v.and_then(Value::as_i64) == Some(0);
    if is_root(set_at(spec, &["securityContext", "runAsUser"])) {
        setters.add(
            "pod",
            [forbidden(
                "spec.securityContext.runAsUser".into(),
                BadValue::Int(0),
            )],
        );
    }
    let mut explicit = Violations::default();
    for c in containers(spec) {
        if is_root(c.security(&["runAsUser"])) {
            let field = c.child("securityContext.runAsUser");
            explicit.add(c.name, [forbidden(field, BadValue::Int(0))]);
        }
    }
    if !explicit.is_empty() {
        setters.add(
            format!(
                "{} {}",
                pluralize("container", "containers", explicit.len()),
                join_quote(&explicit.data)
            ),
            explicit.errors,
        );
    }
    if setters.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "runAsUser=0".into(),
        detail: format!("{} must not set runAsUser=0", setters.data.join(" and ")),
        errors: Some(setters.errors),
    })
}

const SELINUX_TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn se_linux_options_1_0(metadata: &Value, spec: &Value) -> Option<Failed> {
    se_linux_options(metadata, spec, SELINUX_TYPES_1_0)
}

fn se_linux_options_1_31(metadata: &Value, spec: &Value) -> Option<Failed> {
    se_linux_options(metadata, spec, SELINUX_TYPES_1_31)
}

fn se_linux_options(_: &Value, spec: &Value, allowed: &[&str]) -> Option<Failed> {
    let mut setters = Violations::default();
    let mut bad_types = BTreeSet::new();
    let mut set_user = false;
    let mut set_role = false;
    // The fields of one seLinuxOptions block that are forbidden.
    let mut check = |options: &Value, prefix: &str| -> Vec<FieldError> {
        let mut errors = Vec::new();
        let kind = string_of(options.get("type"));
        if !allowed.contains(&kind.as_str()) {
            bad_types.insert(kind.clone());
            errors.push(forbidden(
                format!("{prefix}.seLinuxOptions.type"),
                BadValue::Str(kind),
            ));
        }
        for (key, flag) in [("user", &mut set_user), ("role", &mut set_role)] {
            let value = string_of(options.get(key));
            if !value.is_empty() {
                *flag = true;
                errors.push(forbidden(
                    format!("{prefix}.seLinuxOptions.{key}"),
                    BadValue::Str(value),
                ));
            }
        }
        errors
    };
    if let Some(options) = set_at(spec, &["securityContext", "seLinuxOptions"]) {
        let errors = check(options, "spec.securityContext");
        if !errors.is_empty() {
            setters.add("pod", errors);
        }
    }
    let mut bad_containers = Vec::new();
    let mut container_errors = Vec::new();
    for c in containers(spec) {
        if let Some(options) = c.security(&["seLinuxOptions"]) {
            let errors = check(options, &c.child("securityContext"));
            if !errors.is_empty() {
                bad_containers.push(c.name.clone());
                container_errors.extend(errors);
            }
        }
    }
    if !bad_containers.is_empty() {
        setters.add(
            format!(
                "{} {}",
                pluralize("container", "containers", bad_containers.len()),
                join_quote(&bad_containers)
            ),
            container_errors,
        );
    }
    if setters.is_empty() {
        return None;
    }
    let mut bad_data = Vec::new();
    if !bad_types.is_empty() {
        bad_data.push(format!(
            "{} {}",
            pluralize("type", "types", bad_types.len()),
            join_quote(&bad_types)
        ));
    }
    if set_user {
        bad_data.push("user may not be set".to_string());
    }
    if set_role {
        bad_data.push("role may not be set".to_string());
    }
    Some(Failed {
        reason: "seLinuxOptions".into(),
        detail: format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters.data.join(" and "),
            bad_data.join("; ")
        ),
        errors: Some(setters.errors),
    })
}

fn valid_seccomp(kind: &str) -> bool {
    kind == "Localhost" || kind == "RuntimeDefault"
}

fn seccomp_profile_baseline_1_0(metadata: &Value, spec: &Value) -> Option<Failed> {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let annotations = metadata.get("annotations").and_then(Value::as_object);
    let annotation = |key: &str| {
        annotations
            .and_then(|a| a.get(key))
            .map(|v| string_of(Some(v)))
    };
    let mut by_value: BTreeMap<String, Vec<FieldError>> = BTreeMap::new();
    let mut keys = vec!["seccomp.security.alpha.kubernetes.io/pod".to_string()];
    keys.extend(
        containers(spec)
            .into_iter()
            .map(|c| format!("container.seccomp.security.alpha.kubernetes.io/{}", c.name)),
    );
    for key in keys {
        if let Some(value) = annotation(&key) {
            if !valid(&value) {
                by_value
                    .entry(format!("{key}={}", go_quote(&value)))
                    .or_default()
                    .push(forbidden(
                        format!("metadata.annotations[{key}]"),
                        BadValue::Str(value),
                    ));
            }
        }
    }
    if by_value.is_empty() {
        return None;
    }
    let mut setters = Violations::default();
    for (data, errors) in by_value {
        setters.add(data, errors);
    }
    Some(Failed {
        reason: "seccompProfile".into(),
        detail: format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", setters.len()),
            setters.data.join(", ")
        ),
        errors: Some(setters.errors),
    })
}

fn seccomp_profile_baseline_1_19(_: &Value, spec: &Value) -> Option<Failed> {
    let mut setters = Violations::default();
    let mut bad_values = BTreeSet::new();
    if let Some(profile) = set_at(spec, &["securityContext", "seccompProfile"]) {
        let kind = string_of(profile.get("type"));
        if !valid_seccomp(&kind) {
            setters.add(
                "pod",
                [forbidden(
                    "spec.securityContext.seccompProfile.type".into(),
                    BadValue::Str(kind.clone()),
                )],
            );
            bad_values.insert(kind);
        }
    }
    let mut explicit = Violations::default();
    for c in containers(spec) {
        if let Some(profile) = c.security(&["seccompProfile"]) {
            let kind = string_of(profile.get("type"));
            if !valid_seccomp(&kind) {
                let field = c.child("securityContext.seccompProfile.type");
                explicit.add(c.name, [forbidden(field, BadValue::Str(kind.clone()))]);
                bad_values.insert(kind);
            }
        }
    }
    if !explicit.is_empty() {
        setters.add(
            format!(
                "{} {}",
                pluralize("container", "containers", explicit.len()),
                join_quote(&explicit.data)
            ),
            explicit.errors,
        );
    }
    if setters.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "seccompProfile".into(),
        detail: format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters.data.join(" and "),
            join_quote(&bad_values)
        ),
        errors: Some(setters.errors),
    })
}

fn seccomp_profile_restricted_1_19(_: &Value, spec: &Value) -> Option<Failed> {
    let mut setters = Violations::default();
    let mut bad_values = BTreeSet::new();
    let mut pod_set = false;
    if let Some(profile) = set_at(spec, &["securityContext", "seccompProfile"]) {
        let kind = string_of(profile.get("type"));
        if valid_seccomp(&kind) {
            pod_set = true;
        } else {
            setters.add(
                "pod",
                [forbidden(
                    "spec.securityContext.seccompProfile.type".into(),
                    BadValue::Str(kind.clone()),
                )],
            );
            bad_values.insert(kind);
        }
    }
    let mut explicit = Violations::default();
    let mut implicit = Violations::default();
    for c in containers(spec) {
        let field = c.child("securityContext.seccompProfile.type");
        match c.security(&["seccompProfile"]) {
            Some(profile) => {
                let kind = string_of(profile.get("type"));
                if !valid_seccomp(&kind) {
                    explicit.add(c.name, [forbidden(field, BadValue::Str(kind.clone()))]);
                    bad_values.insert(kind);
                }
            }
            None if !pod_set => implicit.add(c.name, [required(field)]),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.add(
            format!(
                "{} {}",
                pluralize("container", "containers", explicit.len()),
                join_quote(&explicit.data)
            ),
            explicit.errors,
        );
    }
    if !setters.is_empty() {
        return Some(Failed {
            reason: "seccompProfile".into(),
            detail: format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters.data.join(" and "),
                join_quote(&bad_values)
            ),
            errors: Some(setters.errors),
        });
    }
    if implicit.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "seccompProfile".into(),
        detail: format!(
            "pod or {} {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
            pluralize("container", "containers", implicit.len()),
            join_quote(&implicit.data)
        ),
        errors: Some(implicit.errors),
    })
}

fn seccomp_profile_restricted_1_25(metadata: &Value, spec: &Value) -> Option<Failed> {
    if windows(spec) {
        return None;
    }
    seccomp_profile_restricted_1_19(metadata, spec)
}

const SYSCTLS_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];

fn sysctls_1_0(metadata: &Value, spec: &Value) -> Option<Failed> {
    sysctls(metadata, spec, &[SYSCTLS_1_0])
}

fn sysctls_1_27(metadata: &Value, spec: &Value) -> Option<Failed> {
    sysctls(metadata, spec, &[SYSCTLS_1_0, SYSCTLS_1_27])
}

fn sysctls_1_29(metadata: &Value, spec: &Value) -> Option<Failed> {
    sysctls(metadata, spec, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29])
}

fn sysctls_1_32(metadata: &Value, spec: &Value) -> Option<Failed> {
    sysctls(
        metadata,
        spec,
        &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29, SYSCTLS_1_32],
    )
}

fn sysctls(_: &Value, spec: &Value, allowed: &[&[&str]]) -> Option<Failed> {
    let mut bad = Violations::default();
    for (i, sysctl) in set_at(spec, &["securityContext", "sysctls"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = string_of(sysctl.get("name"));
        if !allowed.iter().any(|set| set.contains(&name.as_str())) {
            bad.add(
                name.clone(),
                [forbidden(
                    format!("spec.securityContext.sysctls[{i}].name"),
                    BadValue::Str(name),
                )],
            );
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "forbidden sysctls".into(),
        detail: bad.data.join(", "),
        errors: Some(bad.errors),
    })
}

fn windows_host_process(_: &Value, spec: &Value) -> Option<Failed> {
    let mut bad_containers = Vec::new();
    let mut errors = Vec::new();
    for c in containers(spec) {
        if is_true(c.security(&["windowsOptions", "hostProcess"])) {
            errors.push(forbidden(
                c.child("securityContext.windowsOptions.hostProcess"),
                BadValue::Bool(true),
            ));
            bad_containers.push(c.name);
        }
    }
    let mut setters = Violations::default();
    if is_true(set_at(
        spec,
        &["securityContext", "windowsOptions", "hostProcess"],
    )) {
        setters.add(
            "pod",
            [forbidden(
                "spec.securityContext.windowsOptions.hostProcess".into(),
                BadValue::Bool(true),
            )],
        );
    }
    if !bad_containers.is_empty() {
        setters.add(
            format!(
                "{} {}",
                pluralize("container", "containers", bad_containers.len()),
                join_quote(&bad_containers)
            ),
            errors,
        );
    }
    if setters.is_empty() {
        return None;
    }
    Some(Failed {
        reason: "hostProcess".into(),
        detail: format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters.data.join(" and ")
        ),
        errors: Some(setters.errors),
    })
}

// ---------------------------------------------------------------------
// Exclusions (Kyverno pkg/pss/evaluate.go).

/// `regexIndex.ReplaceAllString(field, "*")`: every run of digits becomes `*`.
fn star_indexes(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut in_digits = false;
    for c in field.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('*');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    out
}

/// Kyverno's `parseField`: the field with indexes starred, its first index
/// and the container list it belongs to, if any (the second word).
fn parse_field(field: &str) -> (String, Option<usize>, Option<String>) {
    let first_index = field
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| !run.is_empty())
        .and_then(|run| run.parse().ok());
    let second_word = field
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|run| !run.is_empty())
        .nth(1)
        .filter(|word| {
            matches!(
                *word,
                "containers" | "initContainers" | "ephemeralContainers"
            )
        })
        .map(str::to_string);
    (star_indexes(field), first_index, second_word)
}

fn container_name(pod: &Pod, list: &str, index: usize) -> String {
    pod.spec
        .get(list)
        .and_then(Value::as_array)
        .and_then(|items| items.get(index))
        .map(|c| string_of(c.get("name")))
        .unwrap_or_default()
}

/// Kyverno's `extractBadValues`: an empty string has none.
fn bad_values(error: &FieldError) -> Vec<String> {
    match &error.bad_value {
        BadValue::Str(s) if s.is_empty() => Vec::new(),
        BadValue::Str(s) => vec![s.clone()],
        BadValue::Bool(b) => vec![b.to_string()],
        BadValue::Int(i) => vec![i.to_string()],
        BadValue::List(items) => items.clone(),
    }
}

/// Kyverno's `GetPodWithMatchingContainers`: an image-less exclusion sees
/// the pod with one bare container (`fake`), so it covers pod-level fields
/// (and one container-level field per error of that container); an
/// exclusion with images sees only the containers whose image matches,
/// in a pod with no other fields.
fn exclusion_pod(exclusion: &Exclusion, pod: &Pod) -> (Pod, bool) {
    if exclusion.images.is_empty() {
        let mut spec = pod.spec.clone();
        if let Some(map) = spec.as_object_mut() {
            map.insert("containers".into(), json!([{"name": "fake"}]));
            map.remove("initContainers");
            map.remove("ephemeralContainers");
        }
        return (
            Pod {
                metadata: pod.metadata.clone(),
                spec,
            },
            false,
        );
    }
    let mut spec = Map::new();
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let matching: Vec<Value> = pod
            .spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| {
                let image = string_of(c.get("image"));
                exclusion
                    .images
                    .iter()
                    .any(|pattern| wildcard::matches(pattern, &image))
            })
            .cloned()
            .collect();
        if !matching.is_empty() {
            spec.insert(list.into(), Value::Array(matching));
        }
    }
    let mut metadata = Map::new();
    for key in ["name", "namespace"] {
        if let Some(value) = pod.metadata.get(key) {
            metadata.insert(key.into(), value.clone());
        }
    }
    (
        Pod {
            metadata: Value::Object(metadata),
            spec: Value::Object(spec),
        },
        true,
    )
}

/// Kyverno's `ApplyPodSecurityExclusion`: each exclusion in turn removes,
/// for each field error its own evaluation gives on a covered check (whose
/// starred field is `restrictedField`, if set, and whose values all match
/// `values`, if set), the first remaining error of the same starred field
/// (and, for container fields, the same container name); checks left
/// without errors pass.
pub(crate) fn apply_exclusions(
    level: &str,
    version: Version,
    exclusions: &[Exclusion],
    mut checks: Vec<CheckResult>,
    pod: &Pod,
) -> Vec<CheckResult> {
    for exclusion in exclusions {
        let (view, container_level) = exclusion_pod(exclusion, pod);
        let excluded = evaluate_pod(level, version, &view);
        let restricted_field = exclusion.restricted_field.as_deref().unwrap_or("");
        for excluded_check in &excluded {
            let ids = control_ids(&exclusion.control_name);
            if !ids.contains(&excluded_check.id) {
                continue;
            }
            for excluded_error in excluded_check.errors.iter().flatten() {
                let (field, index, list) = if container_level {
                    parse_field(&excluded_error.field)
                } else {
                    (star_indexes(&excluded_error.field), None, None)
                };
                let excluded_container = match (&list, index) {
                    (Some(list), Some(index)) => Some(container_name(&view, list, index)),
                    _ => None,
                };
                if !restricted_field.is_empty() && field != restricted_field {
                    continue;
                }
                let values_match = exclusion.values.is_empty()
                    || bad_values(excluded_error).iter().all(|bad| {
                        exclusion
                            .values
                            .iter()
                            .any(|pattern| wildcard::matches(pattern, bad))
                    });
                if !values_match {
                    continue;
                }
                let Some(position) = checks.iter().position(|c| c.id == excluded_check.id) else {
                    continue;
                };
                let Some(errors) = checks[position].errors.as_mut() else {
                    continue;
                };
                let found = errors.iter().position(|error| {
                    let (default_field, default_index, default_list) = if container_level {
                        parse_field(&error.field)
                    } else {
                        (star_indexes(&error.field), None, None)
                    };
                    match (&default_list, default_index) {
                        (Some(list), Some(index)) => {
                            field == default_field
                                && excluded_container.as_deref().unwrap_or("")
                                    == container_name(pod, list, index)
                        }
                        _ => field == default_field,
                    }
                });
                if let Some(found) = found {
                    // Go's `remove` moves the last error into the hole.
                    errors.swap_remove(found);
                }
                if errors.is_empty() {
                    checks.remove(position);
                }
            }
        }
    }
    checks
}

// ---------------------------------------------------------------------
// A rule's evaluation, its message and properties.

/// A podSecurity rule evaluated on one resource (Kyverno's
/// `pss.EvaluatePod` with the rule's own exclusions).
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    level: String,
    version_text: String,
    version: Version,
    pod: Pod,
    /// The checks that still fail.
    pub(crate) checks: Vec<CheckResult>,
}

/// Evaluates a rule's `podSecurity` block against a resource.
pub(crate) fn evaluate_rule(
    settings: &PodSecurity,
    resource: &Value,
) -> Result<Evaluation, PssError> {
    let pod = pod_of(resource)?;
    let version_text = settings.version.clone().unwrap_or_default();
    let version = Version::parse(&version_text)?;
    let checks = evaluate_pod(&settings.level, version, &pod);
    let mut evaluation = Evaluation {
        level: settings.level.clone(),
        version_text,
        version,
        pod,
        checks,
    };
    evaluation.exclude(&settings.exclude);
    Ok(evaluation)
}

/// `(?:s)?` then the names up to `must` (validate_pss.go `regexContainerNames`).
#[allow(clippy::expect_used)] // a constant pattern, exercised by the tests
static CONTAINER_NAMES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"container(?:s)?\s*(.*?)\s*must").expect("constant regex"));

/// One entry of the `controlsJSON` property (results.go `Control`).
#[derive(Serialize)]
struct Control<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "Images")]
    images: &'a Option<Vec<String>>,
}

impl Evaluation {
    /// Whether no check fails.
    pub(crate) fn allowed(&self) -> bool {
        self.checks.is_empty()
    }

    /// Applies more exclusions (a PolicyException's `podSecurity`).
    pub(crate) fn exclude(&mut self, exclusions: &[Exclusion]) {
        if exclusions.is_empty() {
            return;
        }
        let checks = std::mem::take(&mut self.checks);
        self.checks = apply_exclusions(&self.level, self.version, exclusions, checks, &self.pod);
    }

    /// Kyverno's fail message for `rule` and the result properties
    /// `addPodSecurityProperties` gives (`standard`, `version`, `controls`,
    /// `controlsJSON`); fields are named as in the resource (`convertChecks`)
    /// and each check carries the images of the containers it names
    /// (`addImages`).
    pub(crate) fn failure(
        &self,
        rule: &str,
        resource: &Value,
    ) -> (String, BTreeMap<String, String>) {
        let kind = resource.str_field("kind").unwrap_or("");
        let infos = images::images_variable(resource).unwrap_or(Value::Null);
        let mut checks = self.checks.clone();
        for check in &mut checks {
            for error in check.errors.iter_mut().flatten() {
                error.field = convert_field(&error.field, kind);
            }
            check.images = CONTAINER_NAMES
                .captures(&check.forbidden_detail)
                .and_then(|captures| captures.get(1))
                .map(|names| {
                    names
                        .as_str()
                        .replace(['"', ' '], "")
                        .split(',')
                        .map(|name| image_reference(name, &infos))
                        .collect()
                });
        }
        let message = format!(
            "Validation rule '{rule}' failed. It violates PodSecurity \"{}:{}\": {}",
            self.level,
            self.version_text,
            format_checks(&checks)
        );
        let mut properties = BTreeMap::new();
        if !checks.is_empty() {
            let controls: Vec<Control<'_>> = checks
                .iter()
                .map(|c| Control {
                    id: c.id,
                    name: control_name(c.id),
                    images: &c.images,
                })
                .collect();
            let ids: Vec<&str> = checks.iter().map(|c| c.id).collect();
            properties.insert("standard".into(), self.level.clone());
            properties.insert("version".into(), self.version_text.clone());
            properties.insert("controls".into(), ids.join(","));
            properties.insert(
                "controlsJSON".into(),
                go_json(&serde_json::to_string(&controls).unwrap_or_default()),
            );
        }
        (message, properties)
    }
}

/// The properties [`Evaluation::failure`] sets, to drop from a result that
/// no longer fails.
pub(crate) const PROPERTIES: [&str; 4] = ["standard", "version", "controls", "controlsJSON"];

/// validate_pss.go `convertChecks`: a controller's fields are under its
/// template; `metadata` becomes `spec.template.metadata` for every kind.
fn convert_field(field: &str, kind: &str) -> String {
    let field = match kind {
        "DaemonSet"
        | "Deployment"
        | "Job"
        | "StatefulSet"
        | "ReplicaSet"
        | "ReplicationController" => field.replace("spec", "spec.template.spec"),
        "CronJob" => field.replace("spec", "spec.jobTemplate.spec.template.spec"),
        _ => field.to_string(),
    };
    field.replace("metadata", "spec.template.metadata")
}

/// validate_pss.go `getImageReference`: the container's image, else its name.
fn image_reference(name: &str, infos: &Value) -> String {
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .find_map(|list| {
            infos
                .pointer(&format!(
                    "/{list}/{}",
                    name.replace('~', "~0").replace('/', "~1")
                ))
                .and_then(|info| info.str_field("reference"))
        })
        .unwrap_or(name)
        .to_string()
}

/// Go's `json.Marshal` escapes `<`, `>`, `&`, U+2028 and U+2029.
fn go_json(text: &str) -> String {
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Go's `%+v` for a bad value.
fn format_value(value: &BadValue) -> String {
    match value {
        BadValue::Str(s) => s.clone(),
        BadValue::Bool(b) => b.to_string(),
        BadValue::Int(i) => i.to_string(),
        BadValue::List(items) => format!("[{}]", items.join(" ")),
    }
}

/// `field.Error.Error()` for the two error types the checks give.
fn error_text(error: &FieldError) -> String {
    let body = match error.error_type {
        ErrorType::Forbidden => "Forbidden",
        ErrorType::Required => "Required value",
    };
    format!("{}: {body}", error.field)
}

/// Kyverno's `pss.FormatChecksPrint`.
pub(crate) fn format_checks(checks: &[CheckResult]) -> String {
    let mut out = String::new();
    for check in checks {
        out.push_str(&format!(
            "(Forbidden reason: {}, field error list: [",
            check.forbidden_reason
        ));
        let errors = check.errors.as_deref().unwrap_or(&[]);
        let texts: Vec<String> = errors
            .iter()
            .map(|error| {
                let has_value = !matches!(&error.bad_value, BadValue::Str(s) if s.is_empty());
                if error.error_type == ErrorType::Forbidden && has_value {
                    format!(
                        "{} is forbidden, forbidden values found: {}",
                        error.field,
                        format_value(&error.bad_value)
                    )
                } else {
                    error_text(error)
                }
            })
            .collect();
        out.push_str(&texts.join(", "));
        out.push_str("])");
    }
    out
}

#[cfg(test)]
mod tests;
