//! The go/no-go evidence for moving policies from Audit to Enforce. The
//! PolicyReports, policy and PolicyException documents, the last scan's
//! record and the cluster's identity enter as data ([`EvidenceInput`]); an
//! [`Evidence`] leaves: per policy and rule a verdict (ready to enforce or
//! not, with reasons), the violators grouped by namespace and owner, the
//! exceptions, and the rollback change and conditions. Sans-IO: the cluster
//! and file reading live in `cluster::evidence_source` and the CLI; the
//! package files in [`package`].

pub mod compare;
pub mod html;
pub mod markdown;
pub mod package;
pub mod policy_info;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::exceptions as annotation_exceptions;
use crate::engine::exceptions::properties as ex_props;
use crate::scan::last_run::keys;
pub use policy_info::{PolicyInfo, Rollback, RuleInfo, POLICY_DOCUMENT_KINDS};

/// `schemaVersion` of evidence.json; docs/evidence.schema.json describes it.
pub const SCHEMA_VERSION: &str = "polscan.io/evidence/v1";

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The outcome of the scan the reports came from, as the
/// `polscan-last-run` ConfigMap records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanRecord {
    /// Where it was read (`namespace/name` of the ConfigMap, or a file).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
    pub complete: bool,
    #[serde(default)]
    pub failed_kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    /// Policy sources (`clusterpolicies.kyverno.io`) the scan could not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_policy_sources: Vec<String>,
    /// Qualified names of policies that failed to load in the scan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_policies: Vec<String>,
    /// Reports the scan could not write or delete.
    #[serde(default)]
    pub write_failed_reports: usize,
    /// Objects listed per kind (`Kind` or `group/Kind`); None when the
    /// record does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_by_kind: Option<BTreeMap<String, usize>>,
    /// Objects evaluated by at least one rule, per kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_evaluated_by_kind: Option<BTreeMap<String, usize>>,
    /// Results by policy, rule and status, as the scan counted them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_by_rule: Option<crate::scan::last_run::ResultsByRule>,
}

impl ScanRecord {
    /// Reads the ConfigMap `scan --last-run-configmap` writes.
    pub fn from_config_map(config_map: &Value, source: &str) -> Result<ScanRecord, EvidenceError> {
        let data = config_map
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| EvidenceError::Invalid {
                what: source.to_string(),
                message: "no data: not a polscan last-run record".into(),
            })?;
        let text = |key: &str| data.get(key).and_then(Value::as_str);
        let list = |value: Option<&str>| -> Vec<String> {
            value
                .map(|t| {
                    t.split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        // A key that is there but unreadable makes the record unusable:
        // guessing would turn a gap into evidence.
        fn json_key<T: serde::de::DeserializeOwned>(
            value: Option<&str>,
            key: &str,
            source: &str,
        ) -> Result<Option<T>, EvidenceError> {
            value
                .map(|t| {
                    serde_json::from_str(t).map_err(|err| EvidenceError::Invalid {
                        what: source.to_string(),
                        message: format!("{key}: {err}"),
                    })
                })
                .transpose()
        }
        let time = |key: &str| {
            text(key)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        if text(keys::COMPLETE).is_none() {
            return Err(EvidenceError::Invalid {
                what: source.to_string(),
                message: "no `complete` key: not a polscan last-run record".into(),
            });
        }
        Ok(ScanRecord {
            source: source.to_string(),
            started: time(keys::STARTED),
            finished: time(keys::FINISHED),
            complete: text(keys::COMPLETE) == Some("true"),
            failed_kinds: list(text(keys::FAILED_KINDS)),
            error: text(keys::ERROR).map(str::to_string),
            dry_run: text(keys::DRY_RUN) == Some("true"),
            failed_policy_sources: list(text(keys::FAILED_POLICY_SOURCES)),
            invalid_policies: list(text(keys::INVALID_POLICIES)),
            write_failed_reports: match text(keys::WRITE_FAILED_REPORTS) {
                None => 0,
                Some(count) => count.parse().map_err(|_| EvidenceError::Invalid {
                    what: source.to_string(),
                    message: format!("{}: {count:?} is not a count", keys::WRITE_FAILED_REPORTS),
                })?,
            },
            objects_by_kind: json_key(text(keys::OBJECTS_BY_KIND), keys::OBJECTS_BY_KIND, source)?,
            objects_evaluated_by_kind: json_key(
                text(keys::OBJECTS_EVALUATED_BY_KIND),
                keys::OBJECTS_EVALUATED_BY_KIND,
                source,
            )?,
            results_by_rule: json_key(text(keys::RESULTS_BY_RULE), keys::RESULTS_BY_RULE, source)?,
        })
    }

    /// Whether anything the record names accounts for the scan being
    /// incomplete (else the cause is unknown to the evidence).
    fn gaps_named(&self) -> bool {
        !self.failed_kinds.is_empty()
            || !self.failed_policy_sources.is_empty()
            || !self.invalid_policies.is_empty()
            || self.write_failed_reports > 0
    }
}

/// Who the evidence is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIdentity {
    /// `cluster` or `files`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_system_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// A resource as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectName {
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.namespace, self.kind, self.name)
        }
    }
}

#[derive(Debug, Clone)]
pub struct EvidenceInput {
    /// The results of the PolicyReports and ClusterPolicyReports.
    pub reports: ReportResults,
    /// Policy documents (any kind; others are ignored) and PolicyExceptions.
    pub policies: Vec<Value>,
    pub scan: Option<ScanRecord>,
    /// The top owner of a resource (a Deployment for its Pods), where known.
    pub owners: BTreeMap<ObjectName, ObjectName>,
    pub identity: ClusterIdentity,
    pub now: DateTime<Utc>,
    pub expiry_window: Duration,
    /// Only these policies (names or `namespace/name`); all when empty.
    pub policy_filter: Vec<String>,
    /// Only results in these namespaces; all when empty.
    pub namespace_filter: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
}

impl Counts {
    fn add(&mut self, result: &str) {
        match result {
            "pass" => self.pass += 1,
            "fail" => self.fail += 1,
            "warn" => self.warn += 1,
            "error" => self.error += 1,
            _ => self.skip += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.warn + self.error + self.skip
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ready,
    NotReady,
    /// Nothing speaks against enforcing, but no resource was evaluated
    /// either: the scan proves nothing about what enforcing would block.
    NoEvidence,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ready => "ready to enforce",
            Verdict::NotReady => "not ready",
            Verdict::NoEvidence => "no evidence",
        }
    }

    /// The kebab-case name evidence.json uses (`not-ready`).
    pub fn key(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::NotReady => "not-ready",
            Verdict::NoEvidence => "no-evidence",
        }
    }
}

/// One `fail`, `error` or `warn` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    pub rule: String,
    pub result: String,
    pub resource: ObjectName,
    /// The top owner (the resource itself when it has none).
    pub owner: ObjectName,
    #[serde(default)]
    pub message: String,
}

impl Violation {
    /// What identifies the same violation in two packages: a result that
    /// went from `fail` to `error` is still the same violation.
    pub fn key(&self, policy: &str) -> String {
        format!("{policy}|{}|{}", self.rule, self.resource)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleEvidence {
    pub name: String,
    pub action: String,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// Facts behind a verdict that are no objection (no resource in scope).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEvidence {
    #[serde(flatten)]
    pub info: PolicyInfo,
    /// False when reports name the policy but it was not found.
    pub found: bool,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// Facts behind the verdict that are no objection (no resource in scope).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub counts: Counts,
    /// Results by namespace (`""` for cluster-scoped resources).
    pub by_namespace: BTreeMap<String, Counts>,
    pub rule_evidence: Vec<RuleEvidence>,
    pub violations: Vec<Violation>,
    /// Conditions under which the policy goes back to Audit once enforced.
    pub rollback_conditions: Vec<String>,
}

/// Violations under their owner, in the evidence's order.
pub struct OwnerGroup<'a> {
    pub owner: &'a ObjectName,
    pub violations: Vec<&'a Violation>,
}

/// How much of a long list a page shows; evidence.json always has all.
#[derive(Debug, Clone, Copy)]
pub struct ListLimits {
    pub owners: usize,
    pub per_owner: usize,
}

impl PolicyEvidence {
    /// The violations grouped by owner (they are sorted by owner already).
    pub fn owner_groups(&self) -> Vec<OwnerGroup<'_>> {
        let mut groups: Vec<OwnerGroup<'_>> = Vec::new();
        for violation in &self.violations {
            match groups.last_mut() {
                Some(group) if *group.owner == violation.owner => group.violations.push(violation),
                _ => groups.push(OwnerGroup {
                    owner: &violation.owner,
                    violations: vec![violation],
                }),
            }
        }
        groups
    }

    /// Enforce with violations: the admission controller will block these
    /// resources' next change.
    pub fn enforced_with_violations(&self) -> bool {
        self.info.action != "Audit" && (self.counts.fail > 0 || self.counts.error > 0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExceptionStatus {
    Active,
    Expiring,
    Expired,
    /// No expiry was given: a bypass should be time-bound.
    NoExpiry,
    /// Ignored: it names a policy or rule that does not exist, or lacks
    /// its reason or expiry.
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionEvidence {
    /// `PolicyException` or `annotation` (`polscan.io/exception*` on a resource).
    pub source: String,
    /// The PolicyException's `namespace/name`, or the annotated resource.
    pub name: String,
    /// Policies (and `policy/rule`s) it covers.
    pub policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    pub status: ExceptionStatus,
    /// Results it turned into `skip`.
    pub covered_results: usize,
    /// Of those, results that were `fail` or `error`: resources Kyverno's
    /// admission would reject unless it honours the exception too.
    #[serde(default)]
    pub excused_violations: usize,
    /// Why it was ignored (an unknown policy or rule, a missing field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The generated PolicyException (a file of the package) that makes an
    /// annotation's bypass explicit to Kyverno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_exception_file: Option<String>,
}

impl ExceptionEvidence {
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.source, self.name, self.policies.join(","))
    }

    /// True when it covers `rule` of `policy`: the whole policy, or that
    /// rule (an exception for a rule covers its autogen variants).
    fn covers_rule(&self, policy: &str, rule: &str) -> bool {
        self.policies.iter().any(|p| {
            p == policy
                || p.strip_prefix(policy)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|named| {
                        annotation_exceptions::base_rule(named)
                            == annotation_exceptions::base_rule(rule)
                    })
        })
    }

    /// True for the policy itself and for any of its rules (`policy/rule`,
    /// where `policy` may be a namespaced `namespace/name`): what follows
    /// the policy is one rule name, never a further `name/rule`.
    fn covers(&self, policy: &str) -> bool {
        self.policies.iter().any(|p| {
            p == policy
                || p.strip_prefix(policy)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|rule| !rule.is_empty() && !rule.contains('/'))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub schema_version: String,
    pub generated: DateTime<Utc>,
    pub polscan_version: String,
    pub cluster: ClusterIdentity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanRecord>,
    pub expiry_window_days: i64,
    pub policies: Vec<PolicyEvidence>,
    pub exceptions: Vec<ExceptionEvidence>,
    /// Kyverno PolicyExceptions generated from `polscan.io/exception`
    /// annotations that excuse violations, one file each in the package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generated_exceptions: Vec<GeneratedException>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<compare::Comparison>,
}

/// A ready-to-apply Kyverno PolicyException for one annotated resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedException {
    /// Its path in the package (`exceptions/<ns>-<kind>-<name>.yaml`).
    pub file: String,
    pub resource: ObjectName,
    /// The `policy/rule`s it excuses.
    pub covers: Vec<String>,
    /// The PolicyException object, written as YAML to `file`.
    pub document: Value,
}

impl Evidence {
    pub fn ready(&self) -> impl Iterator<Item = &PolicyEvidence> {
        self.policies.iter().filter(|p| p.verdict == Verdict::Ready)
    }

    /// Why a violation of `policy` on a resource of `kind` that the current
    /// reports no longer hold cannot count as fixed: the scan behind them
    /// missed that kind, that policy, or some reports. None when the
    /// absence is evidence.
    pub fn absence_gap(&self, policy: &str, kind: &str) -> Option<String> {
        let Some(scan) = &self.scan else {
            return Some("no record of the scan behind the current reports".into());
        };
        if let Some(error) = &scan.error {
            return Some(format!("the last scan failed: {error}"));
        }
        if scan.dry_run {
            return Some("the last scan was a dry run: it wrote no reports".into());
        }
        let Some(current) = self
            .policies
            .iter()
            .find(|p| p.info.qualified_name() == policy)
        else {
            return Some("the policy is not in this package (deleted, or filtered out)".into());
        };
        if !current.found {
            return Some("the policy was not found".into());
        }
        if scan.invalid_policies.iter().any(|p| p == policy) {
            return Some("the last scan could not load the policy".into());
        }
        let sources = failed_sources_affecting(&current.info, &scan.failed_policy_sources);
        if !sources.is_empty() {
            return Some(format!(
                "the last scan could not read {}",
                sources.join(", ")
            ));
        }
        let failed: Vec<&String> = scan
            .failed_kinds
            .iter()
            .filter(|failed| failed.rsplit('/').next() == Some(kind))
            .collect();
        if !failed.is_empty() {
            return Some(format!(
                "the last scan could not list {}",
                failed
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if scan.write_failed_reports > 0 {
            return Some(format!(
                "the last scan failed to write {} report(s)",
                scan.write_failed_reports
            ));
        }
        if !scan.complete && !scan.gaps_named() {
            return Some("the last scan was incomplete".into());
        }
        None
    }
}

/// One result read from a report.
#[derive(Debug, Clone)]
struct ReportedResult {
    policy: String,
    rule: String,
    result: String,
    api_version: String,
    resource: ObjectName,
    message: String,
    properties: BTreeMap<String, String>,
    timestamp: i64,
}

/// The results of many reports, folded in one report at a time so that
/// only the compact results stay in memory, never every report object.
#[derive(Debug, Clone, Default)]
pub struct ReportResults {
    by_key: BTreeMap<(String, String, ObjectName), ReportedResult>,
    reports: usize,
}

impl ReportResults {
    /// Adds a PolicyReport or ClusterPolicyReport; returns false (and keeps
    /// nothing) for any other object.
    pub fn add_report(&mut self, report: &Value) -> bool {
        let kind = report.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "PolicyReport" && kind != "ClusterPolicyReport" {
            return false;
        }
        self.reports += 1;
        let scope = report.get("scope");
        for result in report
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = |v: Option<&Value>, key: &str| {
                v.and_then(|v| v.get(key))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            // Kyverno's per-resource reports name the resource in `scope`.
            let subject = result
                .get("resources")
                .and_then(Value::as_array)
                .and_then(|r| r.first())
                .or(scope);
            let resource = ObjectName {
                kind: text(subject, "kind"),
                namespace: text(subject, "namespace"),
                name: text(subject, "name"),
            };
            let status = text(Some(result), "result");
            // A pass is only counted: its message and properties are never
            // shown, and most results of a cluster are passes.
            let (message, properties) = if status == "pass" {
                (String::new(), BTreeMap::new())
            } else {
                let properties = result
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|map| {
                        map.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                (text(Some(result), "message"), properties)
            };
            let entry = ReportedResult {
                policy: text(Some(result), "policy"),
                rule: text(Some(result), "rule"),
                result: status,
                api_version: text(subject, "apiVersion"),
                resource,
                message,
                properties,
                timestamp: result
                    .pointer("/timestamp/seconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            };
            self.keep(entry);
        }
        true
    }

    /// Two producers (or a stale and a fresh report) may both report a
    /// result: the newest wins.
    fn keep(&mut self, entry: ReportedResult) {
        let key = (
            entry.policy.clone(),
            entry.rule.clone(),
            entry.resource.clone(),
        );
        match self.by_key.get(&key) {
            Some(existing) if existing.timestamp > entry.timestamp => {}
            _ => {
                self.by_key.insert(key, entry);
            }
        }
    }

    /// Adds the results collected elsewhere (another namespace's reports).
    pub fn merge(&mut self, other: ReportResults) {
        self.reports += other.reports;
        for entry in other.by_key.into_values() {
            self.keep(entry);
        }
    }

    /// Reports added.
    pub fn reports(&self) -> usize {
        self.reports
    }

    /// Results kept (one per policy, rule and resource).
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Resources with `fail`, `error` or `warn` results, with their
    /// apiVersion: the ones whose owners the evidence names.
    pub fn violators(&self) -> Vec<(String, ObjectName)> {
        let mut found: Vec<(String, ObjectName)> = self
            .by_key
            .values()
            .filter(|r| matches!(r.result.as_str(), "fail" | "error" | "warn"))
            .map(|r| (r.api_version.clone(), r.resource.clone()))
            .collect();
        found.sort();
        found.dedup();
        found
    }

    fn results(&self) -> impl Iterator<Item = &ReportedResult> {
        self.by_key.values()
    }
}

fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    // A date means the end of that day, as the annotation exceptions read it.
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
}

fn exception_status(
    expires: Option<&str>,
    now: DateTime<Utc>,
    window: Duration,
) -> ExceptionStatus {
    match expires.and_then(parse_expiry) {
        None => ExceptionStatus::NoExpiry,
        Some(at) if at <= now => ExceptionStatus::Expired,
        Some(at) if at <= now + window => ExceptionStatus::Expiring,
        Some(_) => ExceptionStatus::Active,
    }
}

fn policy_exceptions(
    documents: &[Value],
    results: &[&ReportedResult],
    now: DateTime<Utc>,
    window: Duration,
) -> Vec<ExceptionEvidence> {
    let mut found = Vec::new();
    for document in documents {
        if document.get("kind").and_then(Value::as_str) != Some("PolicyException") {
            continue;
        }
        let text = |pointer: &str| {
            document
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|t| !t.is_empty())
        };
        let name = text("/metadata/name").unwrap_or_default();
        let full_name = match text("/metadata/namespace") {
            Some(ns) => format!("{ns}/{name}"),
            None => name.clone(),
        };
        let annotation = |key: &str| {
            document
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|t| !t.is_empty())
        };
        let mut policies = Vec::new();
        for entry in document
            .pointer("/spec/exceptions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let policy = entry
                .get("policyName")
                .and_then(Value::as_str)
                .unwrap_or("");
            let rules: Vec<&str> = entry
                .get("ruleNames")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if rules.is_empty() {
                policies.push(policy.to_string());
            } else {
                policies.extend(rules.iter().map(|rule| format!("{policy}/{rule}")));
            }
        }
        let covered_results = results
            .iter()
            .filter(|r| {
                r.properties
                    .get("exceptions")
                    .is_some_and(|names| names.split(',').any(|n| n == full_name))
            })
            .count();
        let expires = annotation(annotation_exceptions::EXPIRES);
        found.push(ExceptionEvidence {
            source: "PolicyException".into(),
            name: full_name,
            policies,
            owner: annotation(annotation_exceptions::OWNER),
            reason: annotation(annotation_exceptions::REASON)
                .or_else(|| annotation(crate::engine::policy::ANNOTATION_DESCRIPTION)),
            status: exception_status(expires.as_deref(), now, window),
            expires,
            covered_results,
            excused_violations: 0,
            problem: None,
            policy_exception_file: None,
        });
    }
    found
}

/// Whether a result turned into `skip` by an annotation was a violation:
/// the status before is recorded by the engine; a report without it (an
/// older polscan) may hide one, so it counts.
fn excused_violation(result: &ReportedResult) -> bool {
    result.properties.get(ex_props::EXCEPTION).map(String::as_str)
        == Some(ex_props::RESOURCE_ANNOTATION)
        // Also covered by a Kyverno PolicyException: admission honours that.
        && !result.properties.contains_key("exceptions")
        && result
            .properties
            .get(ex_props::RESULT)
            .is_none_or(|status| matches!(status.as_str(), "fail" | "error"))
}

/// Exceptions declared by annotations, as the reports show them: skipped
/// results carry reason/owner/expiry; expired or ignored ones left a `warn`
/// result with the same, and the rules they named.
fn annotation_exception_evidence(
    results: &[&ReportedResult],
    now: DateTime<Utc>,
    window: Duration,
) -> Vec<ExceptionEvidence> {
    let mut by_resource: BTreeMap<ObjectName, ExceptionEvidence> = BTreeMap::new();
    for result in results {
        let declared = result
            .properties
            .get(ex_props::EXCEPTION)
            .map(String::as_str)
            == Some(ex_props::RESOURCE_ANNOTATION);
        let warning =
            result.rule == annotation_exceptions::EXCEPTION_RULE && result.result == "warn";
        if !declared && !warning {
            continue;
        }
        let entry = by_resource
            .entry(result.resource.clone())
            .or_insert_with(|| ExceptionEvidence {
                source: "annotation".into(),
                name: result.resource.to_string(),
                policies: Vec::new(),
                owner: None,
                reason: None,
                expires: None,
                status: ExceptionStatus::NoExpiry,
                covered_results: 0,
                excused_violations: 0,
                problem: None,
                policy_exception_file: None,
            });
        let mut covered = Vec::new();
        if declared {
            covered.push(format!(
                "{}/{}",
                result.policy,
                annotation_exceptions::base_rule(&result.rule)
            ));
        } else {
            match result.properties.get(ex_props::RULES) {
                Some(rules) => covered.extend(
                    rules
                        .split(',')
                        .filter(|r| !r.is_empty())
                        .map(|rule| format!("{}/{}", result.policy, rule)),
                ),
                None => covered.push(result.policy.clone()),
            }
        }
        for target in covered {
            if !entry.policies.contains(&target) {
                entry.policies.push(target);
            }
        }
        if let Some(owner) = result.properties.get(ex_props::OWNER) {
            entry.owner = Some(owner.clone());
        }
        if let Some(reason) = result.properties.get(ex_props::REASON) {
            entry.reason = Some(reason.clone());
        }
        if let Some(expires) = result.properties.get(ex_props::EXPIRES) {
            entry.expires = Some(expires.clone());
        }
        if declared {
            entry.covered_results += 1;
            if excused_violation(result) {
                entry.excused_violations += 1;
            }
            entry.status = exception_status(entry.expires.as_deref(), now, window);
        } else {
            match result.properties.get(ex_props::STATUS).map(String::as_str) {
                // An older engine did not say: it warned only when expired.
                Some("expired") | None => entry.status = ExceptionStatus::Expired,
                Some(_) => {
                    entry.status = ExceptionStatus::Invalid;
                    entry.problem = Some(result.message.clone());
                }
            }
        }
    }
    for entry in by_resource.values_mut() {
        entry.policies.sort();
    }
    by_resource.into_values().collect()
}

/// File-name-safe text: lowercase letters, digits, `-` and `.` only, never
/// starting with `.` (reports are input: a name must not climb out of the
/// package directory).
fn file_part(text: &str) -> String {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned.trim_start_matches('.').to_string()
}

/// Per annotated resource whose annotation excuses violations, a Kyverno
/// PolicyException for exactly that resource and the rules excused (with
/// their autogen variants), carrying the annotation's owner, reason and
/// expiry as the annotations polscan reads on PolicyExceptions.
fn generate_exceptions(
    results: &[&ReportedResult],
    exceptions: &mut [ExceptionEvidence],
) -> Vec<GeneratedException> {
    // resource → policy → rules
    let mut excused: BTreeMap<&ObjectName, BTreeMap<&str, BTreeSet<String>>> = BTreeMap::new();
    for result in results.iter().filter(|r| excused_violation(r)) {
        excused
            .entry(&result.resource)
            .or_default()
            .entry(result.policy.as_str())
            .or_default()
            .extend(annotation_exceptions::with_autogen_variants(&result.rule));
    }
    let mut generated = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    for (resource, policies) in excused {
        let Some(evidence) = exceptions
            .iter_mut()
            .find(|e| e.source == "annotation" && e.name == resource.to_string())
        else {
            continue;
        };
        let mut stem = [&resource.namespace, &resource.kind, &resource.name]
            .iter()
            .filter(|part| !part.is_empty())
            .map(|part| file_part(part))
            .collect::<Vec<_>>()
            .join("-");
        if stem.is_empty() {
            stem = "resource".into();
        }
        let mut file = format!("exceptions/{stem}.yaml");
        let mut n = 2;
        while files.contains(&file) {
            file = format!("exceptions/{stem}-{n}.yaml");
            n += 1;
        }
        files.insert(file.clone());
        let mut annotations = serde_json::Map::new();
        for (key, value) in [
            (annotation_exceptions::OWNER, &evidence.owner),
            (annotation_exceptions::REASON, &evidence.reason),
            (annotation_exceptions::EXPIRES, &evidence.expires),
        ] {
            if let Some(value) = value {
                annotations.insert(key.into(), Value::String(value.clone()));
            }
        }
        annotations.insert(
            "polscan.io/generated-from".into(),
            Value::String(format!("{EXCEPTION_ANNOTATION} on {resource}")),
        );
        let mut metadata = serde_json::json!({
            "name": format!("polscan-{}", file_part(&format!("{}-{}", resource.kind, resource.name)))
                .chars()
                .take(253)
                .collect::<String>()
                .trim_end_matches(['-', '.'])
                .to_string(),
            "labels": {"app.kubernetes.io/managed-by": "polscan"},
            "annotations": annotations,
        });
        let mut filter = serde_json::json!({"kinds": [resource.kind], "names": [resource.name]});
        if !resource.namespace.is_empty() {
            metadata["namespace"] = Value::String(resource.namespace.clone());
            filter["namespaces"] = serde_json::json!([resource.namespace]);
        }
        let entries: Vec<Value> = policies
            .iter()
            .map(|(policy, rules)| serde_json::json!({"policyName": policy, "ruleNames": rules}))
            .collect();
        let covers: Vec<String> = policies
            .iter()
            .flat_map(|(policy, rules)| rules.iter().map(move |rule| format!("{policy}/{rule}")))
            .collect();
        let document = serde_json::json!({
            "apiVersion": "kyverno.io/v2",
            "kind": "PolicyException",
            "metadata": metadata,
            "spec": {
                "exceptions": entries,
                "match": {"any": [{"resources": filter}]},
            },
        });
        evidence.policy_exception_file = Some(file.clone());
        generated.push(GeneratedException {
            file,
            resource: resource.clone(),
            covers,
            document,
        });
    }
    generated
}

const EXCEPTION_ANNOTATION: &str = annotation_exceptions::EXCEPTION;

fn covers_namespace(filter: &[String], namespace: &str) -> bool {
    filter.is_empty() || namespace.is_empty() || filter.iter().any(|n| n == namespace)
}

fn wanted_policy(filter: &[String], info: &PolicyInfo) -> bool {
    filter.is_empty()
        || filter
            .iter()
            .any(|f| *f == info.name || *f == info.qualified_name())
}

/// The Pod controllers a Pod policy also covers through autogen.
const AUTOGEN_KINDS: [&str; 7] = [
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// Kinds a policy or rule reaches: its own, and the Pod controllers when
/// it matches Pods (autogen).
fn reached_kinds(kinds: &[String]) -> BTreeSet<&str> {
    let mut reached: BTreeSet<&str> = kinds.iter().map(String::as_str).collect();
    if reached.contains("Pod") {
        reached.extend(AUTOGEN_KINDS);
    }
    reached
}

fn failed_kinds_matched(info: &PolicyInfo, failed: &[String]) -> Vec<String> {
    let kinds = reached_kinds(&info.kinds);
    failed
        .iter()
        .filter(|failed| {
            let kind = failed.rsplit('/').next().unwrap_or(failed);
            kinds.contains("*") || kinds.contains(kind) || kinds.is_empty()
        })
        .cloned()
        .collect()
}

/// The source (`plural.group`) a scan reads a policy kind from.
fn policy_source_of(kind: &str) -> Option<&'static str> {
    match kind {
        "ClusterPolicy" => Some("clusterpolicies.kyverno.io"),
        "Policy" => Some("policies.kyverno.io"),
        "ValidatingPolicy" => Some("validatingpolicies.policies.kyverno.io"),
        "NamespacedValidatingPolicy" => Some("namespacedvalidatingpolicies.policies.kyverno.io"),
        "ValidatingAdmissionPolicy" => {
            Some("validatingadmissionpolicies.admissionregistration.k8s.io")
        }
        _ => None,
    }
}

/// Failed policy sources that affect `info`'s results: its own kind's, and
/// any source that is not another policy kind's (PolicyExceptions change
/// every policy's results, bindings the admission policies', and a source
/// the evidence does not know might be anything).
fn failed_sources_affecting(info: &PolicyInfo, failed: &[String]) -> Vec<String> {
    let own = policy_source_of(&info.kind);
    let others: Vec<&str> = POLICY_DOCUMENT_KINDS
        .iter()
        .filter_map(|kind| policy_source_of(kind))
        .filter(|source| Some(*source) != own)
        .collect();
    failed
        .iter()
        .filter(|source| !others.contains(&source.as_str()))
        .cloned()
        .collect()
}

/// When the record shows that no resource a rule reaches exists (each of
/// its kinds listed completely with 0 objects), the statement saying so.
fn nothing_in_scope(kinds: &[String], scan: &ScanRecord) -> Option<String> {
    let listed = scan.objects_by_kind.as_ref()?;
    let reached = reached_kinds(kinds);
    if reached.is_empty() || reached.contains("*") {
        return None;
    }
    let mut names = Vec::new();
    for kind in &reached {
        let entries: Vec<(&String, &usize)> = listed
            .iter()
            .filter(|(name, _)| name.rsplit('/').next() == Some(*kind))
            .collect();
        let failed = scan
            .failed_kinds
            .iter()
            .any(|f| f.rsplit('/').next() == Some(*kind));
        if entries.is_empty() || failed || entries.iter().any(|(_, n)| **n > 0) {
            return None;
        }
        names.extend(entries.into_iter().map(|(name, _)| name.clone()));
    }
    Some(format!(
        "no resource in scope exists: {} listed completely with 0 objects",
        names.join(", ")
    ))
}

/// Objects of the kinds a rule reaches that the scan listed, and of those
/// how many some rule evaluated; None when the record does not say.
fn listed_in_scope(kinds: &[String], scan: &ScanRecord) -> Option<(usize, usize)> {
    let reached = reached_kinds(kinds);
    let count = |by_kind: &BTreeMap<String, usize>| -> usize {
        by_kind
            .iter()
            .filter(|(name, _)| {
                reached.contains("*") || reached.contains(name.rsplit('/').next().unwrap_or(name))
            })
            .map(|(_, n)| n)
            .sum()
    };
    let listed = count(scan.objects_by_kind.as_ref()?);
    let evaluated = scan
        .objects_evaluated_by_kind
        .as_ref()
        .map(count)
        .unwrap_or(0);
    Some((listed, evaluated))
}

/// Builds the evidence.
pub fn build(input: &EvidenceInput) -> Evidence {
    let results: Vec<&ReportedResult> = input
        .reports
        .results()
        .filter(|r| covers_namespace(&input.namespace_filter, &r.resource.namespace))
        .collect();
    let window = input.expiry_window;
    let mut exceptions = policy_exceptions(&input.policies, &results, input.now, window);
    exceptions.extend(annotation_exception_evidence(&results, input.now, window));
    let generated_exceptions = generate_exceptions(&results, &mut exceptions);

    let mut infos: BTreeMap<String, (PolicyInfo, bool)> = BTreeMap::new();
    for document in &input.policies {
        if let Some(info) = PolicyInfo::from_document(document) {
            infos.insert(info.qualified_name(), (info, true));
        }
    }
    // Policies the reports name but that were not found (deleted, or not
    // given with --from) are shown, never silently dropped.
    for result in &results {
        if result.rule == annotation_exceptions::EXCEPTION_RULE {
            continue;
        }
        infos.entry(result.policy.clone()).or_insert_with(|| {
            let (namespace, name) = match result.policy.split_once('/') {
                Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                None => (None, result.policy.clone()),
            };
            (
                PolicyInfo {
                    kind: "unknown".into(),
                    name,
                    namespace,
                    title: None,
                    description: None,
                    severity: None,
                    category: None,
                    action: "unknown".into(),
                    rules: Vec::new(),
                    kinds: Vec::new(),
                    last_changed: None,
                    rollback: None,
                },
                false,
            )
        });
    }

    let mut by_policy: BTreeMap<&str, Vec<&ReportedResult>> = BTreeMap::new();
    for result in &results {
        by_policy
            .entry(result.policy.as_str())
            .or_default()
            .push(result);
    }

    let mut policies = Vec::new();
    for (qualified, (info, found)) in infos {
        if !wanted_policy(&input.policy_filter, &info) {
            continue;
        }
        let own_results = by_policy
            .get(qualified.as_str())
            .cloned()
            .unwrap_or_default();
        policies.push(policy_evidence(
            info,
            found,
            &own_results,
            input,
            &exceptions,
            &generated_exceptions,
        ));
    }
    Evidence {
        schema_version: SCHEMA_VERSION.into(),
        generated: input.now,
        polscan_version: env!("CARGO_PKG_VERSION").into(),
        cluster: input.identity.clone(),
        scan: input.scan.clone(),
        expiry_window_days: input.expiry_window.num_days(),
        policies,
        exceptions,
        generated_exceptions,
        comparison: None,
    }
}

/// Reasons that hold for the whole policy, whatever its rules say.
fn policy_reasons(info: &PolicyInfo, found: bool, input: &EvidenceInput) -> Vec<String> {
    let mut reasons = Vec::new();
    if !found {
        reasons.push("the policy was not found (only its reports were)".into());
    }
    match &input.scan {
        None => {
            reasons.push("no record of the scan the reports come from: completeness unknown".into())
        }
        Some(scan) => {
            if scan.dry_run {
                reasons.push("the last scan was a dry run: it wrote no reports".into());
            }
            if let Some(error) = &scan.error {
                reasons.push(format!("the last scan failed: {error}"));
            }
            if scan
                .invalid_policies
                .iter()
                .any(|p| *p == info.qualified_name())
            {
                reasons.push(
                    "the last scan could not load this policy (invalid): its results are missing"
                        .into(),
                );
            }
            let sources = failed_sources_affecting(info, &scan.failed_policy_sources);
            if !sources.is_empty() {
                reasons.push(format!(
                    "the last scan could not read {}: results for this policy may be missing",
                    sources.join(", ")
                ));
            }
            let failed = failed_kinds_matched(info, &scan.failed_kinds);
            if !failed.is_empty() {
                reasons.push(format!(
                    "the last scan could not list {} (matched by this policy)",
                    failed.join(", ")
                ));
            }
            if scan.write_failed_reports > 0 {
                // Reports do not say which kinds' writes failed: any
                // policy's results may be missing or stale.
                reasons.push(format!(
                    "the last scan failed to write {} report(s): results may be missing or stale",
                    scan.write_failed_reports
                ));
            }
            if !scan.complete && scan.error.is_none() && !scan.gaps_named() {
                // Incomplete for a reason the record does not name (a
                // discovery failure, an older record): results may be missing.
                reasons.push("the last scan was incomplete".into());
            }
            match (info.last_changed, scan.started) {
                (Some(changed), Some(started)) if changed > started => reasons.push(format!(
                    "the policy changed at {} after the last scan started ({}): rescan first",
                    changed.to_rfc3339(),
                    started.to_rfc3339()
                )),
                _ => {}
            }
        }
    }
    reasons
}

/// Ready exactly when nothing speaks against enforcing.
fn verdict_of(reasons: &[String]) -> Verdict {
    if reasons.is_empty() {
        Verdict::Ready
    } else {
        Verdict::NotReady
    }
}

/// What the results themselves say against enforcing.
fn result_reasons(counts: &Counts) -> Vec<String> {
    let mut reasons = Vec::new();
    if counts.fail > 0 {
        reasons.push(format!("{} failing result(s)", counts.fail));
    }
    if counts.error > 0 {
        reasons.push(format!(
            "{} result(s) could not be evaluated (error)",
            counts.error
        ));
    }
    reasons
}

/// Listed resources, at most a few, then how many more.
fn some_of(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

fn policy_evidence(
    info: PolicyInfo,
    found: bool,
    results: &[&ReportedResult],
    input: &EvidenceInput,
    exceptions: &[ExceptionEvidence],
    generated: &[GeneratedException],
) -> PolicyEvidence {
    let qualified = info.qualified_name();
    let shared_reasons = policy_reasons(&info, found, input);
    let mut counts = Counts::default();
    let mut by_namespace: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_rule: BTreeMap<String, Counts> = BTreeMap::new();
    // Rule → resources excused only by an annotation Kyverno never reads.
    let mut annotation_only: BTreeMap<String, BTreeSet<ObjectName>> = BTreeMap::new();
    let mut violations = Vec::new();
    for result in results {
        // The warning about an exception annotation is no rule result.
        if result.rule == annotation_exceptions::EXCEPTION_RULE {
            continue;
        }
        counts.add(&result.result);
        by_namespace
            .entry(result.resource.namespace.clone())
            .or_default()
            .add(&result.result);
        by_rule
            .entry(result.rule.clone())
            .or_default()
            .add(&result.result);
        if excused_violation(result) {
            annotation_only
                .entry(result.rule.clone())
                .or_default()
                .insert(result.resource.clone());
        }
        if matches!(result.result.as_str(), "fail" | "error" | "warn") {
            violations.push(Violation {
                rule: result.rule.clone(),
                result: result.result.clone(),
                resource: result.resource.clone(),
                owner: input
                    .owners
                    .get(&result.resource)
                    .cloned()
                    .unwrap_or_else(|| result.resource.clone()),
                message: result.message.clone(),
            });
        }
    }
    violations.sort_by(|a, b| {
        (&a.owner.namespace, &a.owner, &a.rule, &a.resource).cmp(&(
            &b.owner.namespace,
            &b.owner,
            &b.rule,
            &b.resource,
        ))
    });
    let mut rule_infos: Vec<RuleInfo> = info.rules.clone();
    for rule in by_rule.keys() {
        if !rule_infos.iter().any(|r| r.name == *rule) {
            // A generated (autogen) rule acts as the rule it comes from.
            let base = rule_infos
                .iter()
                .find(|r| r.name == annotation_exceptions::base_rule(rule))
                .cloned();
            rule_infos.push(RuleInfo {
                name: rule.clone(),
                action: base
                    .as_ref()
                    .map(|b| b.action.clone())
                    .unwrap_or_else(|| info.action.clone()),
                kinds: base.map(|b| b.kinds).unwrap_or_default(),
            });
        }
    }
    // A rule evaluated something when it, or a variant autogen made of it,
    // has a result.
    let evaluated = |rule: &str| {
        by_rule.iter().any(|(name, c)| {
            c.total() > 0
                && annotation_exceptions::base_rule(name) == annotation_exceptions::base_rule(rule)
        })
    };
    let mut reasons = shared_reasons.clone();
    reasons.extend(result_reasons(&counts));
    let mut notes = Vec::new();
    let rule_evidence: Vec<RuleEvidence> = rule_infos
        .into_iter()
        .map(|rule| {
            let name = rule.name;
            let counts = by_rule.get(&name).copied().unwrap_or_default();
            let mut rule_reasons = shared_reasons.clone();
            rule_reasons.extend(result_reasons(&counts));
            let mut rule_notes = Vec::new();
            for exception in exceptions.iter().filter(|e| {
                e.status == ExceptionStatus::Expired && e.covers_rule(&qualified, &name)
            }) {
                rule_reasons.push(format!(
                    "{} exception {} for this rule has expired",
                    exception.source, exception.name
                ));
                let reason = format!(
                    "{} exception {} has expired{}",
                    exception.source,
                    exception.name,
                    if exception.policies.contains(&qualified) {
                        String::new()
                    } else {
                        format!(" (rule {name})")
                    }
                );
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
            if let Some(resources) = annotation_only.get(&name) {
                let names: Vec<String> = resources.iter().map(ToString::to_string).collect();
                let files: Vec<&str> = generated
                    .iter()
                    .filter(|g| resources.contains(&g.resource))
                    .map(|g| g.file.as_str())
                    .collect();
                let reason = format!(
                    "{} violating resource(s) excused only by {EXCEPTION_ANNOTATION} annotations, which Kyverno's admission does not read (it would reject their next change): {}; apply the generated PolicyException(s) {}",
                    names.len(),
                    some_of(&names),
                    some_of(&files.iter().map(|f| f.to_string()).collect::<Vec<_>>())
                );
                rule_reasons.push(reason.clone());
                reasons.push(format!("rule {name}: {reason}"));
            }
            // Results in the record but none in the reports: the reports
            // are missing what the scan found (e.g. failed writes).
            if input.namespace_filter.is_empty() && counts.total() == 0 {
                let recorded: usize = input
                    .scan
                    .as_ref()
                    .and_then(|s| s.results_by_rule.as_ref())
                    .and_then(|by_policy| by_policy.get(&qualified))
                    .and_then(|by_rule| by_rule.get(&name))
                    .map(|statuses| statuses.values().sum())
                    .unwrap_or(0);
                if recorded > 0 {
                    let reason = format!(
                        "the last scan recorded {recorded} result(s) for this rule but the reports hold none"
                    );
                    rule_reasons.push(reason.clone());
                    reasons.push(format!("rule {name}: {reason}"));
                }
            }
            let mut verdict = verdict_of(&rule_reasons);
            if !evaluated(&name) {
                let nothing = input
                    .scan
                    .as_ref()
                    .and_then(|scan| nothing_in_scope(&rule.kinds, scan));
                match nothing {
                    Some(statement) => rule_notes.push(statement),
                    None => {
                        if verdict == Verdict::Ready {
                            verdict = Verdict::NoEvidence;
                        }
                        let listed = input
                            .scan
                            .as_ref()
                            .and_then(|scan| listed_in_scope(&rule.kinds, scan));
                        rule_reasons.push(match listed {
                            Some((listed, evaluated)) if listed > 0 => format!(
                                "no evidence: the rule evaluated none of the {listed} object(s) of its kinds the scan listed ({evaluated} evaluated by other rules): its match, exclude or preconditions left none"
                            ),
                            _ => "no evidence: the rule evaluated no resource, and the scan does not show that none exists".into(),
                        });
                    }
                }
            }
            for note in &rule_notes {
                let note = format!("rule {}: {note}", if name.is_empty() { "(CEL)" } else { &name });
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            RuleEvidence {
                verdict,
                name,
                action: rule.action,
                reasons: rule_reasons,
                notes: rule_notes,
                counts,
            }
        })
        .collect();
    let no_evidence_rules: Vec<&str> = rule_evidence
        .iter()
        .filter(|r| r.verdict == Verdict::NoEvidence)
        .map(|r| r.name.as_str())
        .collect();
    let verdict = if !reasons.is_empty() {
        Verdict::NotReady
    } else if rule_evidence.is_empty() && counts.total() == 0 {
        reasons.push("no evidence: the policy has no validate rule with a result".into());
        Verdict::NoEvidence
    } else if no_evidence_rules.len() == rule_evidence.len() {
        reasons.push("no evidence: the policy evaluated no resource".into());
        Verdict::NoEvidence
    } else if !no_evidence_rules.is_empty() {
        reasons.push(format!(
            "no evidence for rule(s) {}: they evaluated no resource",
            no_evidence_rules.join(", ")
        ));
        Verdict::NoEvidence
    } else {
        Verdict::Ready
    };
    let mut rollback_conditions = vec![
        "a new fail or error result for this policy after the switch".to_string(),
        "a scan that does not complete (a failed list, an invalid policy, a failed write)"
            .to_string(),
    ];
    let expiring: Vec<&ExceptionEvidence> =
        exceptions.iter().filter(|e| e.covers(&qualified)).collect();
    if expiring.is_empty() {
        rollback_conditions.push("an exception for this policy expiring".to_string());
    } else {
        for exception in expiring {
            rollback_conditions.push(format!(
                "{} exception {} expiring{}",
                exception.source,
                exception.name,
                exception
                    .expires
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
        }
    }
    PolicyEvidence {
        info,
        found,
        verdict,
        reasons,
        notes,
        counts,
        by_namespace,
        rule_evidence,
        violations,
        rollback_conditions,
    }
}

#[cfg(test)]
mod tests;
