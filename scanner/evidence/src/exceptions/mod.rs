//! Exceptions in the evidence: PolicyException documents and the results
//! the reports hold enter; [`ExceptionEvidence`] (source, what it covers,
//! owner, reason, expiry, status, results excused) and, for violations only
//! `polscan.io/exception` annotations excuse — which Kyverno's admission
//! never reads — a ready-to-apply Kyverno PolicyException per top owner
//! (the owner and what it creates, so the next rollout stays covered:
//! [`generated`]) leave. The owners map enters for that, and the scan
//! record for which PolicyExceptions the scan applied: Kyverno may not
//! repeat a skip by one it did not apply, or that changed or went since
//! (stale). Reads what [`crate::ingest`] brings in and the exception scope
//! ([`crate::run::exception_scope`]); the verdicts use what leaves.

pub mod generated;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use polscan_engine::ValueExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ingest::results::{excused_violation, ReportedResult};
#[cfg(test)]
use crate::ingest::results::{Interner, Properties};
use crate::ingest::ObjectName;
use polscan_engine::exceptions::annotation as annotation_exceptions;
use polscan_engine::exceptions::annotation::properties as ex_props;

/// Where an exception stands against its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExceptionStatus {
    /// Expires after the expiry window.
    Active,
    /// Expires within the expiry window (`--expiry-window`).
    Expiring,
    /// Expired: its time (a date: the end of that day) has passed.
    Expired,
    /// No expiry was given: a bypass should be time-bound.
    NoExpiry,
    /// Ignored: it names a policy or rule that does not exist, or lacks
    /// its reason or expiry.
    Invalid,
}

/// One exception: a PolicyException, or the annotations of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionEvidence {
    /// `PolicyException` or `annotation` (`polscan.io/exception*` on a resource).
    pub source: String,
    /// The PolicyException's `namespace/name`, or the annotated resource.
    pub name: String,
    /// Policies (and `policy/rule`s) it covers.
    pub policies: Vec<String>,
    /// Who answers for it (`polscan.io/exception-owner`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Why it is granted (`polscan.io/exception-reason`; a PolicyException's
    /// `policies.kyverno.io/description` when that is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it ends, as written: an RFC 3339 time or a date
    /// (`polscan.io/exception-expires`; a CEL PolicyException's
    /// `spec.expiresAt` first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Where it stands against its expiry, or invalid.
    pub status: ExceptionStatus,
    /// Results it turned into `skip`.
    pub covered_results: usize,
    /// Of those, results that were `fail` or `error` (known for annotations
    /// only): resources Kyverno's admission would reject unless it honours
    /// the exception too.
    #[serde(default)]
    pub excused_violations: usize,
    /// The annotated resource (annotation exceptions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ObjectName>,
    /// Why it was ignored (an unknown policy or rule, a missing field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The generated PolicyException (a file of the package) that makes an
    /// annotation's bypass explicit to Kyverno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_exception_file: Option<String>,
    /// The policies a PolicyException names, as Kyverno matches them
    /// (`policies` joins rule names in, which makes `ns/policy/rule`
    /// ambiguous); not written to the package.
    #[serde(skip)]
    pub targets: Vec<PolicyTarget>,
    /// Why a PolicyException excuses only some of the requests Kyverno
    /// judges (CREATE only, some requesters:
    /// `policy_info::exception_create_only`): Kyverno
    /// judges the rest of what it skips. Not written to the package.
    #[serde(skip)]
    pub create_only: Option<String>,
    /// Its expiry is one Kyverno acts on: a CEL PolicyException's
    /// `spec.expiresAt` (its controllers drop an expired one). A
    /// `polscan.io/exception-expires` annotation is polscan's alone: Kyverno
    /// applies the exception (or ignores the annotated resource's) all the
    /// same. Not written to the package.
    #[serde(skip)]
    pub expiry_by_kyverno: bool,
}

/// The rule a CEL PolicyException's skip is reported under: one result
/// for the policy, rule `exception`, in place of the policy's own, as
/// Kyverno reports it and polscan's engine writes it.
pub(crate) const CEL_EXCEPTION_RULE: &str = "exception";

/// A policy a PolicyException names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyTarget {
    /// A kyverno.io exception's `policyName`: a ClusterPolicy's name, or a
    /// Policy's `namespace/name`.
    Kyverno(String),
    /// A policies.kyverno.io exception's `policyRefs` entry: a bare name
    /// and the kind (empty when not given).
    Cel {
        /// `policyRefs[].name`.
        name: String,
        /// `policyRefs[].kind`.
        kind: String,
    },
}

impl ExceptionEvidence {
    /// What a PolicyException leaves out of what makes a bypass explicit,
    /// documented and time-bound: `owner`, `reason` and `expiry`, as
    /// `owner and expiry`; None when it gives all three, and for an
    /// annotation (one without reason or expiry is ignored, so nothing
    /// rests on it).
    pub fn undocumented(&self) -> Option<String> {
        if self.source != "PolicyException" {
            return None;
        }
        let missing: Vec<&str> = [
            (self.owner.is_none(), "owner"),
            (self.reason.is_none(), "reason"),
            (self.expires.is_none(), "expiry"),
        ]
        .into_iter()
        .filter_map(|(absent, part)| absent.then_some(part))
        .collect();
        match missing.as_slice() {
            [] => None,
            [one] => Some(one.to_string()),
            [rest @ .., last] => Some(format!("{} and {last}", rest.join(", "))),
        }
    }

    /// What identifies the same exception in two packages.
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.source, self.name, self.policies.join(","))
    }

    /// True when it covers `rule` of `policy`: the whole policy, or that
    /// rule. A kyverno.io PolicyException's `ruleNames` match rule names as
    /// Kyverno's `Exception.Contains` does (a wildcard match, so
    /// `autogen-x` only when named or matched by a wildcard: walk39 F22);
    /// a polscan annotation names a base rule and covers its autogen
    /// variants.
    pub(super) fn covers_rule(&self, policy: &str, rule: &str) -> bool {
        let annotation = self.source == "annotation";
        self.policies.iter().any(|p| {
            p == policy
                || p.strip_prefix(policy)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|named| {
                        if annotation {
                            annotation_exceptions::base_rule(named)
                                == annotation_exceptions::base_rule(rule)
                        } else {
                            polscan_engine::value_types::wildcard::matches(named, rule)
                        }
                    })
        })
    }

    /// True for a PolicyException the last scan did not apply (outside its
    /// exception scope): it skips nothing.
    pub(super) fn not_applied(&self) -> bool {
        self.problem
            .as_deref()
            .is_some_and(|problem| problem.starts_with("not applied"))
    }

    /// True for the policy itself and for any of its rules (`policy/rule`,
    /// where `policy` may be a namespaced `namespace/name`): what follows
    /// the policy is one rule name, never a further `name/rule`. A CEL
    /// policy's results have no rule: `policy/` is that policy.
    pub(super) fn covers(&self, policy: &str) -> bool {
        self.policies.iter().any(|p| {
            p == policy
                || p.strip_prefix(policy)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|rule| !rule.contains('/'))
        })
    }
}

pub(super) fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    // A date means the end of that day, as the annotation exceptions read it.
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
}

pub(super) fn exception_status(
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

pub(super) fn policy_exceptions(
    documents: &[Value],
    results: &[&ReportedResult],
    now: DateTime<Utc>,
    window: Duration,
) -> Vec<ExceptionEvidence> {
    let mut found = Vec::new();
    for document in documents {
        if document.str_field("kind") != Some("PolicyException") {
            continue;
        }
        let text = |pointer: &str| {
            document
                .str_at(pointer)
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
                .annotation(key)
                .map(str::to_string)
                .filter(|t| !t.is_empty())
        };
        // Which policies (or policy/rule) it names, and which reported
        // results it covers: those of a named policy whose `exceptions`
        // property lists it. Kyverno writes bare names (results.go);
        // reports of earlier polscan versions wrote ns/name.
        let cel = is_cel_exception(document);
        let policies = if cel {
            cel_policy_refs(document)
        } else {
            kyverno_exception_targets(document)
        };
        let targets = if cel {
            document
                .pointer("/spec/policyRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some(PolicyTarget::Cel {
                        name: r.str_field("name")?.to_string(),
                        kind: r.str_field("kind").unwrap_or_default().to_string(),
                    })
                })
                .collect()
        } else {
            document
                .pointer("/spec/exceptions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|entry| entry.str_field("policyName"))
                .map(|policy| PolicyTarget::Kyverno(policy.to_string()))
                .collect()
        };
        let covers_policy = |policy: &str| {
            if cel {
                // policyRefs name policies without their namespace.
                let bare = policy.rsplit('/').next().unwrap_or(policy);
                policies.iter().any(|p| p == bare)
            } else {
                policies
                    .iter()
                    .any(|p| p == policy || p.starts_with(&format!("{policy}/")))
            }
        };
        let covered_results = results
            .iter()
            .filter(|r| {
                covers_policy(&r.policy)
                    && r.properties
                        .get("exceptions")
                        .is_some_and(|names| names.split(',').any(|n| n == full_name || n == name))
            })
            .count();
        // A CEL exception's own `spec.expiresAt`, else the annotation.
        let expires_at = cel.then(|| text("/spec/expiresAt")).flatten();
        let expiry_by_kyverno = expires_at.is_some();
        let expires = expires_at.or_else(|| annotation(annotation_exceptions::EXPIRES));
        found.push(ExceptionEvidence {
            source: "PolicyException".into(),
            name: full_name,
            policies,
            targets,
            owner: annotation(annotation_exceptions::OWNER),
            reason: annotation(annotation_exceptions::REASON)
                .or_else(|| annotation(polscan_engine::policy::ANNOTATION_DESCRIPTION)),
            status: exception_status(expires.as_deref(), now, window),
            expires,
            covered_results,
            excused_violations: 0,
            resource: None,
            problem: None,
            policy_exception_file: None,
            create_only: crate::ingest::policy_info::exception_create_only(document),
            expiry_by_kyverno,
        });
    }
    found
}

/// A CEL PolicyException (policies.kyverno.io), which names policies by
/// `policyRefs` rather than `spec.exceptions`.
fn is_cel_exception(document: &Value) -> bool {
    document
        .str_field("apiVersion")
        .is_some_and(|v| v.starts_with("policies.kyverno.io/"))
}

/// The policies a CEL PolicyException's `policyRefs` name.
fn cel_policy_refs(document: &Value) -> Vec<String> {
    document
        .pointer("/spec/policyRefs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.str_field("name"))
        .map(str::to_string)
        .collect()
}

/// What a kyverno.io PolicyException's `spec.exceptions` name: a policy,
/// or `policy/rule` for each rule it lists.
fn kyverno_exception_targets(document: &Value) -> Vec<String> {
    let mut policies = Vec::new();
    for entry in document
        .pointer("/spec/exceptions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let policy = entry.str_field("policyName").unwrap_or("");
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
    policies
}

/// Exceptions declared by annotations, as the reports show them: skipped
/// results carry reason/owner/expiry; expired or ignored ones left a `warn`
/// result with the same, and the rules they named.
pub(super) fn annotation_exception_evidence(
    results: &[&ReportedResult],
    now: DateTime<Utc>,
    window: Duration,
) -> Vec<ExceptionEvidence> {
    let mut by_resource: BTreeMap<ObjectName, ExceptionEvidence> = BTreeMap::new();
    for result in results {
        let declared =
            result.properties.get(ex_props::EXCEPTION) == Some(ex_props::RESOURCE_ANNOTATION);
        let warning =
            &*result.rule == annotation_exceptions::EXCEPTION_RULE && &*result.result == "warn";
        if !declared && !warning {
            continue;
        }
        let entry = by_resource
            .entry((*result.resource).clone())
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
                resource: Some((*result.resource).clone()),
                problem: None,
                policy_exception_file: None,
                targets: Vec::new(),
                create_only: None,
                expiry_by_kyverno: false,
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
                None => covered.push(result.policy.to_string()),
            }
        }
        for target in covered {
            if !entry.policies.contains(&target) {
                entry.policies.push(target);
            }
        }
        if let Some(owner) = result.properties.get(ex_props::OWNER) {
            entry.owner = Some(owner.to_string());
        }
        if let Some(reason) = result.properties.get(ex_props::REASON) {
            entry.reason = Some(reason.to_string());
        }
        if let Some(expires) = result.properties.get(ex_props::EXPIRES) {
            entry.expires = Some(expires.to_string());
        }
        if declared {
            entry.covered_results += 1;
            if excused_violation(result) {
                entry.excused_violations += 1;
            }
            entry.status = exception_status(entry.expires.as_deref(), now, window);
        } else {
            match result.properties.get(ex_props::STATUS) {
                // An older engine did not say: it warned only when expired.
                Some("expired") | None => entry.status = ExceptionStatus::Expired,
                // A name that matches nothing spoils only that name: what
                // else the annotation excuses keeps its status.
                Some("unknown-target") => {
                    entry.problem = Some(result.message.to_string());
                    if entry.covered_results == 0 && entry.status != ExceptionStatus::Expired {
                        entry.status = ExceptionStatus::Invalid;
                    }
                }
                Some(_) => {
                    entry.status = ExceptionStatus::Invalid;
                    entry.problem = Some(result.message.to_string());
                }
            }
        }
    }
    for entry in by_resource.values_mut() {
        entry.policies.sort();
    }
    by_resource.into_values().collect()
}

/// A PolicyException as it stands now: what skipped results are checked
/// against.
#[derive(Debug, Clone)]
pub(super) struct CurrentException {
    pub namespace: String,
    pub name: String,
    pub last_changed: Option<DateTime<Utc>>,
    /// The document's content digest, to tell it is the one the scan read.
    pub digest: Option<crate::run::record_format::DocumentDigest>,
}

impl CurrentException {
    /// `namespace/name`.
    fn full_name(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

/// The PolicyExceptions (either group) among the documents.
pub(super) fn current_exceptions(documents: &[Value]) -> Vec<CurrentException> {
    documents
        .iter()
        // By kind alone, as `policy_exceptions` reads them.
        .filter(|d| d.str_field("kind") == Some("PolicyException"))
        .map(|d| CurrentException {
            namespace: d.string_at_or_empty("/metadata/namespace"),
            name: d.string_at_or_empty("/metadata/name"),
            last_changed: crate::ingest::policy_info::last_changed(d),
            digest: crate::run::record_format::DocumentDigest::of(d),
        })
        .collect()
}

/// Why a skip that rests on a PolicyException no longer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StaleException {
    /// The exception as the results name it.
    pub name: String,
    pub reason: String,
    /// False when only the record is silent about the exceptions applied:
    /// nothing changed since, so it is no rollback condition.
    pub changed: bool,
}

/// For the results of one policy skipped by PolicyExceptions
/// (`properties.exceptions`, by name → count), those whose skip Kyverno
/// may not repeat now: the exception is gone, changed after the scan
/// started, outside the exceptions the scan says it applied, or the
/// record does not say which it applied. Without a record nothing is said
/// here (the verdict already rests on no record).
pub(super) fn stale_exceptions(
    skipped_by: &BTreeMap<String, usize>,
    current: &[CurrentException],
    scan: Option<&crate::ingest::record::ScanRecord>,
    at_admission: bool,
) -> Vec<StaleException> {
    // `background: false` exceptions leave the fail and excuse it at
    // admission only: the same checks, said of that (walk34).
    let skipped = if at_admission {
        "fail(s) excused at admission"
    } else {
        "result(s) skipped"
    };
    let be_skipped = if at_admission {
        "be excused"
    } else {
        "be skipped"
    };
    let Some(scan) = scan else {
        return Vec::new();
    };
    let mut stale = Vec::new();
    for (name, count) in skipped_by {
        // Kyverno names exceptions bare; older polscan reports `ns/name`.
        let matches: Vec<&CurrentException> = current
            .iter()
            .filter(|e| e.name == *name || e.full_name() == *name)
            .collect();
        if matches.is_empty() {
            // An audit of files (`apply -e`): the exception was given to
            // apply, and not to the evidence — nothing was deleted and
            // there is nothing to rescan (walk28 F7).
            let reason = if scan.policy_exceptions
                == Some(crate::run::exception_scope::ExceptionScope::Given)
            {
                format!(
                    "{count} {skipped} by PolicyException {name}, which is not among the documents given (--policies-from): give its file as apply was given it (-e), or, if it is gone, audit again without it"
                )
            } else {
                format!(
                    "{count} {skipped} by PolicyException {name}, which no longer exists: Kyverno evaluates them again (rescan first)"
                )
            };
            stale.push(StaleException {
                name: name.clone(),
                reason,
                changed: true,
            });
            continue;
        }
        let Some(scope) = &scan.policy_exceptions else {
            let reason = if let Some(why) = scan.unfinished_exceptions() {
                format!("{count} {skipped} by PolicyException {name}, but {why}: rescan")
            } else {
                format!(
                    "{count} {skipped} by PolicyException {name}, but the scan record does not say which PolicyExceptions the scan applied (an older polscan applied every one; Kyverno applies them only with --enablePolicyException and --exceptionNamespace): rescan with --exception-namespace as Kyverno is configured"
                )
            };
            stale.push(StaleException {
                name: name.clone(),
                reason,
                changed: false,
            });
            continue;
        };
        if !matches.iter().any(|e| scope.applies_in(&e.namespace)) {
            stale.push(StaleException {
                name: name.clone(),
                reason: format!(
                    "{count} {skipped} by PolicyException {name}, which is outside the PolicyExceptions the last scan's settings apply ({}): a Kyverno configured so does not honour it — move it there (a file given to the scan is applied whatever its namespace), or rescan if the report predates that setting",
                    scope.statement()
                ),
                changed: true,
            });
            continue;
        }
        let changed = matches
            .iter()
            .filter_map(|e| Some((e, scan.change_since(e.digest.as_ref(), e.last_changed)?)))
            .max_by_key(|(e, _)| e.last_changed);
        if let Some((exception, change)) = changed {
            stale.push(StaleException {
                name: name.clone(),
                reason: format!(
                    "PolicyException {} {change}: the {count} {skipped} by it may not {be_skipped} now; rescan first",
                    exception.full_name(),
                ),
                changed: true,
            });
        }
    }
    stale
}

/// Marks the PolicyExceptions the last scan did not apply (outside its
/// exception scope), so the package does not present them as bypasses.
pub(super) fn mark_not_applied(
    exceptions: &mut [ExceptionEvidence],
    scope: &crate::run::exception_scope::ExceptionScope,
) {
    use crate::run::exception_scope::ExceptionScope;
    for exception in exceptions
        .iter_mut()
        .filter(|e| e.source == "PolicyException" && e.problem.is_none())
    {
        let namespace = exception
            .name
            .split_once('/')
            .map(|(namespace, _)| namespace)
            .unwrap_or("");
        if scope.applies_in(namespace) {
            continue;
        }
        exception.problem = Some(match scope {
            ExceptionScope::Namespace { namespace: applied } => format!(
                "not applied: outside namespace {applied}, the last scan's --exception-namespace (Kyverno's --exceptionNamespace)"
            ),
            _ => "not applied: Kyverno ignores PolicyExceptions unless started with --enablePolicyException and --exceptionNamespace, and the last scan assumed so (scan with --exception-namespace otherwise)".into(),
        });
    }
}

/// Marks the PolicyExceptions that name no policy of `policies` (the
/// package's, qualified names) — the policy was deleted, or not given:
/// they skip nothing now, and apply again if such a policy returns
/// (walk25 F10: one stayed "Active" beside nothing it covered). A Kyverno
/// exception names `policy` or `policy/rule` (`ns/name` for a namespaced
/// Policy); a CEL one names bare policy names.
pub(super) fn mark_orphaned(exceptions: &mut [ExceptionEvidence], policies: &[(String, String)]) {
    // A policy known only from its reports has no kind: any name matches it.
    let names = |target: &PolicyTarget| {
        policies.iter().any(|(policy, kind)| {
            let known = kind != crate::ingest::policy_info::ACTION_UNKNOWN;
            match target {
                // Kyverno's own exceptions reach ClusterPolicies and Policies.
                PolicyTarget::Kyverno(name) => {
                    name == policy
                        && (!known || matches!(kind.as_str(), "ClusterPolicy" | "Policy"))
                }
                // policyRefs name a policy without its namespace, by kind.
                PolicyTarget::Cel { name, kind: wanted } => {
                    policy.rsplit('/').next() == Some(name.as_str())
                        && (!known || wanted.is_empty() || wanted == kind)
                }
            }
        })
    };
    for exception in exceptions
        .iter_mut()
        .filter(|e| e.source == "PolicyException" && e.problem.is_none())
    {
        if exception.targets.is_empty() || exception.targets.iter().any(&names) {
            continue;
        }
        exception.problem = Some(format!(
            "names no policy of this package ({}): deleted, or not given; it skips nothing now and applies again if that policy returns — delete it if the policy is gone for good",
            exception.policies.join(", ")
        ));
    }
}

pub(super) const EXCEPTION_ANNOTATION: &str = annotation_exceptions::EXCEPTION;

#[cfg(test)]
mod cel_exception_tests {
    use super::*;
    use serde_json::json;

    fn skipped(policy: &str, pod: &str, exceptions: &str) -> ReportedResult {
        ReportedResult {
            policy: policy.into(),
            rule: "exception".into(),
            result: "skip".into(),
            api_version: "v1".into(),
            resource: ObjectName {
                kind: "Pod".into(),
                namespace: "telemetry".into(),
                name: pod.into(),
            }
            .into(),
            message: "".into(),
            properties: Properties::kept([("exceptions", exceptions)], &mut Interner::default()),
            timestamp: 0,
        }
    }

    #[test]
    fn cel_exceptions_count_the_results_naming_them_for_their_policies() {
        let document = json!({"apiVersion": "policies.kyverno.io/v1", "kind": "PolicyException",
            "metadata": {"name": "allow-probe", "namespace": "telemetry"},
            "spec": {"policyRefs": [{"name": "no-host-network", "kind": "ValidatingPolicy"}],
                     "expiresAt": "2020-01-01T00:00:00Z"}});
        let ours = skipped("no-host-network", "probe", "allow-probe");
        let both = skipped("no-host-network", "agent", "other,allow-probe");
        // The same name for another policy is another exception's work.
        let elsewhere = skipped("require-labels", "probe", "allow-probe");
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let found = policy_exceptions(
            &[document],
            &[&ours, &both, &elsewhere],
            now,
            Duration::days(14),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "telemetry/allow-probe");
        assert_eq!(found[0].policies, ["no-host-network"]);
        assert_eq!(found[0].covered_results, 2);
        assert_eq!(found[0].status, ExceptionStatus::Expired);
    }
}

#[cfg(test)]
mod covers_tests {
    use super::ExceptionEvidence;

    fn exception(source: &str, policies: &[&str]) -> ExceptionEvidence {
        serde_json::from_value(serde_json::json!({
            "source": source, "name": "x", "policies": policies, "status": "active",
            "coveredResults": 0, "excusedViolations": 0, "targets": []
        }))
        .expect("an exception")
    }

    /// walk39 F22: a PolicyException for `check` does not cover
    /// `autogen-check` (Kyverno's `Exception.Contains` is a wildcard match
    /// of the names it lists); a polscan annotation names a base rule and
    /// covers its autogen variants.
    #[test]
    fn a_policy_exception_covers_the_rules_it_names_as_kyverno_matches_them() {
        let named = exception("PolicyException", &["p/check"]);
        assert!(named.covers_rule("p", "check"));
        assert!(!named.covers_rule("p", "autogen-check"));
        assert!(!named.covers_rule("p", "autogen-cronjob-check"));
        let wildcard = exception("PolicyException", &["p/*check"]);
        assert!(wildcard.covers_rule("p", "autogen-check") && wildcard.covers_rule("p", "check"));
        assert!(!wildcard.covers_rule("q", "check"));
        let annotation = exception("annotation", &["p/check"]);
        assert!(annotation.covers_rule("p", "autogen-check"));
        assert!(annotation.covers_rule("p", "autogen-cronjob-check"));
    }
}
