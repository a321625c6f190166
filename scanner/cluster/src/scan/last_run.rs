//! The outcome of the last scan as a ConfigMap (`polscan-last-run`), so
//! operators can read it with kubectl: a scan's outcome (or the error that
//! stopped it) and its start and end enter; the ConfigMap object leaves.
//! Besides the figures, it names what made the scan incomplete (policy
//! sources not read, policies not loaded, reports not written) and what
//! was evaluated per kind and rule, so `polscan evidence` can tell which
//! verdicts the gaps affect.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::ScanOutcome;
use crate::engine::exceptions::annotation::EXCEPTION_RULE;
use crate::engine::RuleStatus;
use crate::engine::ValueExt;
pub use crate::evidence::run::history::{
    history_name, legacy_soak_digest, soak_digest, PolicyScan, ShardCounts, ShardOf,
};
pub use crate::evidence::run::record_format::{
    add_by_rule, count, count_kind, document_digest, document_key, judging_content, keys,
    kind_display_name, shard_record_name, DocumentDigest, KindsByRule, ResultsByRule,
};

/// Adds the shard (`I/N`) and run id to a record built by [`config_map`];
/// neither key is written when absent.
pub fn stamp_run(
    record: &mut Value,
    shard: Option<crate::scan::shard::Shard>,
    run_id: Option<&str>,
) {
    let Some(data) = record.get_mut("data").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(shard) = shard {
        data.insert(keys::SHARD.into(), shard.to_string().into());
    }
    if let Some(run_id) = run_id.filter(|id| !id.is_empty()) {
        data.insert(keys::RUN_ID.into(), run_id.into());
    }
}

/// Adds what the scan was set to cover — the PolicyExceptions it applies
/// (`--exception-namespace`) and the namespaces it covers (`--namespace`,
/// `--exclude-namespaces`) — to the record of a run that stopped before
/// its outcome (SIGTERM, `--timeout`, an error), which [`config_map`]
/// writes without them: the evidence then says the scan did not finish,
/// with the scope it ran with, rather than nothing of it (a stopped
/// partial scan would read as one of the whole cluster). A record that
/// already says it (a finished run's outcome) is left as is.
pub fn stamp_scope(
    record: &mut Value,
    scope: &crate::scan::ExceptionScope,
    namespaces: &[String],
    excluded_namespaces: &[String],
) {
    let Some(data) = record.get_mut("data").and_then(Value::as_object_mut) else {
        return;
    };
    if data.contains_key(keys::POLICY_EXCEPTIONS) {
        return;
    }
    let (applied, namespace) = scope.record_values();
    data.insert(keys::POLICY_EXCEPTIONS.into(), applied.into());
    if let Some(namespace) = namespace {
        data.insert(keys::EXCEPTION_NAMESPACE.into(), namespace.into());
    }
    // The same keys, in the same form, as a finished run's.
    if !namespaces.is_empty() {
        data.insert(keys::NAMESPACES.into(), namespaces.join(",").into());
    }
    if !excluded_namespaces.is_empty() {
        data.insert(
            keys::EXCLUDED_NAMESPACES.into(),
            excluded_namespaces.join(",").into(),
        );
    }
}

/// Counts one finding under its policy, rule and reported status.
pub fn count_result(by_rule: &mut ResultsByRule, finding: &crate::audit::Finding) {
    count(
        by_rule,
        finding.policy.qualified_name(),
        &finding.result.rule,
        finding.reported_status(),
    );
}

/// Counts one finding under its policy, rule and its resource's kind.
pub fn count_result_kind(by_rule: &mut KindsByRule, finding: &crate::audit::Finding) {
    count_kind(
        by_rule,
        finding.policy.qualified_name(),
        &finding.result.rule,
        kind_display_name(&finding.resource.api_version, &finding.resource.kind),
    );
}

/// Results whose report status is not what Kyverno's admission gives, by
/// policy (qualified name): those the `polscan.io/exception` annotation
/// alone turned into `skip` over a violation (admission does not read the
/// annotation: the soak history counts each as the result it replaced),
/// and the violations a PolicyException with `background: false` covers
/// (the reports keep them, as Kyverno's background scan does; admission
/// skips the rule for them: the soak history counts them as skips).
pub type AnnotationExcused = BTreeMap<String, ExcusedCounts>;

/// Objects in a scan's scope by namespace, then kind display name.
pub type ObjectsByNamespace = BTreeMap<String, BTreeMap<String, usize>>;

/// The record's `objectsInPolicyNamespaces` value
/// ([`keys::OBJECTS_IN_POLICY_NAMESPACES`]): the objects counted in each
/// namespace that holds a namespaced policy the run loaded, so that the
/// evidence can tell such a policy has nothing to judge (walk32 F7). None
/// when not counted, with no namespaced policy, or with more than
/// [`crate::evidence::run::record_format::POLICY_NAMESPACES_KEPT`]
/// namespaces (the record stays small).
fn objects_in_policy_namespaces(outcome: &ScanOutcome) -> Option<String> {
    let counted = outcome.objects_by_namespace.as_ref()?;
    let namespaces: BTreeSet<&str> = outcome
        .soak_policies
        .keys()
        .filter_map(|qualified| qualified.split_once('/').map(|(namespace, _)| namespace))
        .collect();
    if namespaces.is_empty()
        || namespaces.len() > crate::evidence::run::record_format::POLICY_NAMESPACES_KEPT
    {
        return None;
    }
    let value: BTreeMap<&str, BTreeMap<String, usize>> = namespaces
        .into_iter()
        .map(|namespace| {
            (
                namespace,
                counted.get(namespace).cloned().unwrap_or_default(),
            )
        })
        .collect();
    serde_json::to_string(&value).ok()
}

/// One policy's results whose report status admission would not give.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExcusedCounts {
    /// The annotation replaced a `fail` (or the `warn` of an unscored
    /// policy, which Kyverno's admission rejects all the same).
    pub fail: u64,
    /// The annotation replaced an `error`.
    pub error: u64,
    /// A `fail` (or an unscored policy's `warn`) excused at admission
    /// ([`ADMISSION_EXCEPTIONS`](crate::engine::exceptions::kyverno::ADMISSION_EXCEPTIONS)).
    pub admission_fail: u64,
    /// An `error` excused at admission.
    pub admission_error: u64,
}

/// Counts `finding` under its policy when the annotation alone turned a
/// violation into its `skip` (result property
/// [`exception-result`](crate::engine::exceptions::annotation::properties::RESULT)).
/// A skip by a Kyverno PolicyException came first and replaced a `skip`:
/// not counted, as Kyverno honours it.
pub fn count_annotation_excused(excused: &mut AnnotationExcused, finding: &crate::audit::Finding) {
    use crate::engine::exceptions::annotation::properties;
    use crate::engine::exceptions::kyverno::ADMISSION_EXCEPTIONS;
    let result = &finding.result;
    let property = |key: &str| result.properties.get(key).map(String::as_str);
    // A violation a `background: false` PolicyException covers (walk28
    // F18): a skip to the soak, as to the evidence's counts.
    if property(ADMISSION_EXCEPTIONS).is_some() && crate::reports::is_reported(finding) {
        let fail = result.status == RuleStatus::Fail
            || (result.status == RuleStatus::Warn && !finding.policy.scored());
        let error = result.status == RuleStatus::Error;
        if fail || error {
            let counts = excused.entry(finding.policy.qualified_name()).or_default();
            counts.admission_fail += u64::from(fail);
            counts.admission_error += u64::from(error);
        }
        return;
    }
    if result.status != RuleStatus::Skip
        || !crate::reports::is_reported(finding)
        || property(properties::EXCEPTION) != Some(properties::RESOURCE_ANNOTATION)
    {
        return;
    }
    let replaced = property(properties::RESULT);
    let fail = replaced == Some(RuleStatus::Fail.as_str())
        || (replaced == Some(RuleStatus::Warn.as_str()) && !finding.policy.scored());
    let error = replaced == Some(RuleStatus::Error.as_str());
    if fail || error {
        let counts = excused.entry(finding.policy.qualified_name()).or_default();
        counts.fail += u64::from(fail);
        counts.error += u64::from(error);
    }
}

/// Adds `from`'s counts to `into`'s.
pub fn add_annotation_excused(into: &mut AnnotationExcused, from: &AnnotationExcused) {
    for (policy, counts) in from {
        let total = into.entry(policy.clone()).or_default();
        total.fail += counts.fail;
        total.error += counts.error;
        total.admission_fail += counts.admission_fail;
        total.admission_error += counts.admission_error;
    }
}

/// Whether the scan filled the outcome's own figures (else they come from
/// the findings it kept).
fn counted_by_scan(outcome: &ScanOutcome) -> bool {
    !outcome.results_by_rule.is_empty() || !outcome.objects_evaluated_by_kind.is_empty()
}

/// The results excused only by the annotation ([`AnnotationExcused`]),
/// from the same source as [`evaluated`]'s.
fn annotation_excused(outcome: &ScanOutcome) -> AnnotationExcused {
    if counted_by_scan(outcome) {
        return outcome.annotation_excused.clone();
    }
    let mut excused = AnnotationExcused::new();
    for finding in &outcome.audit.findings {
        count_annotation_excused(&mut excused, finding);
    }
    excused
}

/// What was evaluated: objects per kind, results per rule and status, and
/// (None when not counted) results per rule and kind.
type Evaluated = (BTreeMap<String, usize>, ResultsByRule, Option<KindsByRule>);

/// What was evaluated, per kind and per rule: from the outcome's own
/// figures when the scan filled them, else from the findings it kept. None
/// when neither holds them (findings dropped while results exist): a
/// missing key says "unknown", an empty map would say "nothing".
fn evaluated(outcome: &ScanOutcome) -> Option<Evaluated> {
    if counted_by_scan(outcome) {
        // Kinds per rule not counted by whoever filled the results: not
        // recorded, rather than recorded as none.
        let kinds = (outcome.results_by_rule.is_empty() || !outcome.kinds_by_rule.is_empty())
            .then(|| outcome.kinds_by_rule.clone());
        return Some((
            outcome.objects_evaluated_by_kind.clone(),
            outcome.results_by_rule.clone(),
            kinds,
        ));
    }
    let results: usize = outcome.status_counts.values().sum();
    if outcome.audit.findings.is_empty() && results > 0 {
        return None;
    }
    let mut objects: BTreeSet<(String, &str, &str)> = BTreeSet::new();
    let mut by_rule = ResultsByRule::new();
    let mut kinds = KindsByRule::new();
    for finding in &outcome.audit.findings {
        // The warning about an exception annotation is no rule evaluation;
        // a result the reports leave out (a CEL policy whose matchConditions
        // did not hold) is none either, and the counts must match the reports.
        if finding.result.rule == EXCEPTION_RULE || !crate::reports::is_reported(finding) {
            continue;
        }
        let resource = &finding.resource;
        objects.insert((
            kind_display_name(&resource.api_version, &resource.kind),
            resource.namespace.as_str(),
            resource.name.as_str(),
        ));
        count_result(&mut by_rule, finding);
        count_result_kind(&mut kinds, finding);
    }
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for (kind, _, _) in objects {
        *by_kind.entry(kind).or_default() += 1;
    }
    Some((by_kind, by_rule, Some(kinds)))
}

/// A policy as its soak history records it: the digest that says its
/// rules did not change, its action, and whether its `warn` results count
/// as failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoakPolicy {
    /// [`soak_digest`]: the judging content without the action fields.
    pub hash: String,
    /// The digest an older polscan recorded for it, when it differs
    /// ([`legacy_soak_digest`]).
    pub legacy_hash: Option<String>,
    /// `Audit`, `Enforce`, `Mixed`, … as the evidence reads it.
    pub action: String,
    /// `policies.kyverno.io/scored: "false"`: its failures are reported as
    /// `warn`, yet Kyverno's admission rejects them all the same.
    pub unscored: bool,
}

/// The policies among `documents` (ValidatingAdmissionPolicyBindings among
/// them give a ValidatingAdmissionPolicy its action and scope), by
/// qualified name.
pub fn soak_policies<'a>(
    documents: impl Iterator<Item = &'a Value> + Clone,
) -> BTreeMap<String, SoakPolicy> {
    use crate::evidence::ingest::policy_info::PolicyInfo;
    let bindings: Vec<&Value> = documents
        .clone()
        .filter(|d| {
            d.get("kind").and_then(Value::as_str) == Some("ValidatingAdmissionPolicyBinding")
        })
        .collect();
    documents
        .filter_map(|document| {
            let info = PolicyInfo::from_document_with_bindings(document, &bindings)?;
            Some((
                info.qualified_name(),
                SoakPolicy {
                    hash: soak_digest(document, &bindings),
                    legacy_hash: Some(legacy_soak_digest(document, &bindings))
                        .filter(|legacy| *legacy != soak_digest(document, &bindings)),
                    action: info.action,
                    unscored: info.unscored,
                },
            ))
        })
        .collect()
}

/// The policies a binding or PolicyException names, by qualified name as
/// the soak history keys them: a `kyverno.io` PolicyException's
/// `spec.exceptions[].policyName` (`namespace/name` for a namespaced
/// Policy, compared exactly: api/kyverno/v2 `Exception.Contains`), a
/// `policies.kyverno.io` one's `spec.policyRefs[].name` of a cluster-wide
/// kind (pkg/cel/engine/exception.go `ListExceptions`), a
/// ValidatingAdmissionPolicyBinding's `spec.policyName`. None when the
/// document does not say which, readably: then it may touch any policy.
pub fn policies_named_by(document: &Value) -> Option<Vec<String>> {
    let group = document
        .str_at("/apiVersion")
        .and_then(|v| v.split_once('/'))
        .map(|(group, _)| group);
    let name = |value: &Value| {
        value
            .as_str()
            .filter(|name| !name.is_empty())
            .map(str::to_string)
    };
    let names: Option<Vec<String>> = match (document.str_at("/kind"), group) {
        (Some("PolicyException"), Some("kyverno.io")) => document
            .pointer("/spec/exceptions")?
            .as_array()?
            .iter()
            .map(|entry| name(entry.get("policyName")?))
            .collect(),
        (Some("PolicyException"), Some("policies.kyverno.io")) => document
            .pointer("/spec/policyRefs")?
            .as_array()?
            .iter()
            .map(|entry| {
                // A namespaced kind's policy is named without its
                // namespace: which one is not said here.
                let kind = entry.get("kind")?.as_str()?;
                (!kind.starts_with("Namespaced"))
                    .then(|| name(entry.get("name")?))
                    .flatten()
            })
            .collect(),
        (Some("ValidatingAdmissionPolicyBinding"), Some("admissionregistration.k8s.io")) => {
            Some(vec![name(document.pointer("/spec/policyName")?)?])
        }
        _ => None,
    };
    names.filter(|names| !names.is_empty())
}

/// What one run's soak history records of each policy it read: its digest,
/// action, counts, and whether the run covered it completely — only a run
/// that completed, over every namespace (no `--namespace` or
/// `--exclude-namespaces`; for a namespaced policy, over its own), that
/// listed every kind the policy names (`kinds_left_out`), that
/// loaded the policy and whose results per
/// policy are known. Another policy that could not be loaded does not make
/// this one's coverage partial (one team's broken policy held every
/// team's soak back); a policy source that could not be read, or a binding
/// or PolicyException that could not be loaded, does. A violation excused
/// only by a `polscan.io/exception` annotation counts as the `fail` or
/// `error` it replaced ([`AnnotationExcused`]).
pub fn soak_scans(outcome: &ScanOutcome) -> BTreeMap<String, PolicyScan> {
    let by_rule = evaluated(outcome).map(|(_, by_rule, _)| by_rule);
    let excused = annotation_excused(outcome);
    // `complete()` but for invalid policies, each judged on its own below.
    let but_namespaces = outcome.failed_listings().next().is_none()
        && outcome.other_failures.is_empty()
        && outcome.write_failures.is_empty()
        && outcome.failed_policy_sources.is_empty()
        && !outcome.invalid_beyond_policies
        && by_rule.is_some();
    let every_namespace = outcome.namespaces.is_empty() && outcome.excluded_namespaces.is_empty();
    // A namespaced policy (`namespace/name`) applies in its own namespace
    // only: a run that covered that one covered it (walk28 F12f).
    let covers_own = |name: &str| {
        name.split_once('/').is_some_and(|(namespace, _)| {
            (outcome.namespaces.is_empty() || outcome.namespaces.iter().any(|n| n == namespace))
                && !outcome.excluded_namespaces.iter().any(|n| n == namespace)
        })
    };
    outcome
        .soak_policies
        .iter()
        .map(|(name, policy)| {
            let mut counts = ShardCounts {
                complete: but_namespaces
                    && (every_namespace || covers_own(name))
                    && !outcome.invalid_policies.contains(name)
                    && !outcome.kinds_left_out.contains(name)
                    && !outcome
                        .load_error_policies
                        .values()
                        .flatten()
                        .any(|held| held == name),
                ..ShardCounts::default()
            };
            let statuses = by_rule
                .as_ref()
                .and_then(|by_rule| by_rule.get(name))
                .into_iter()
                .flat_map(|rules| rules.values())
                .flatten();
            for (status, n) in statuses {
                let n = *n as u64;
                counts.evaluated += n;
                match status.as_str() {
                    "fail" => counts.fail += n,
                    "warn" if policy.unscored => counts.fail += n,
                    "error" => counts.error += n,
                    _ => {}
                }
            }
            // Already among `evaluated`, as the skips (or the violations)
            // they were reported as.
            if let Some(extra) = excused.get(name) {
                counts.fail = (counts.fail + extra.fail).saturating_sub(extra.admission_fail);
                counts.error = (counts.error + extra.error).saturating_sub(extra.admission_error);
            }
            (
                name.clone(),
                PolicyScan {
                    hash: policy.hash.clone(),
                    legacy_hash: policy.legacy_hash.clone(),
                    action: policy.action.clone(),
                    counts,
                },
            )
        })
        .collect()
}

/// `namespace/name` as given to `--last-run-configmap`.
pub fn parse_target(text: &str) -> Option<(String, String)> {
    let (namespace, name) = text.split_once('/')?;
    // Names the API server takes: a namespace is a DNS label, a ConfigMap
    // name a DNS subdomain, with room for the `-history`, `-lock` and
    // `-<I>` polscan adds (refused here, not by the server mid-run).
    let alnum = |c: &char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let subdomain = name.len() <= 253 - "-history".len()
        && name.chars().next().as_ref().is_some_and(alnum)
        && name.chars().last().as_ref().is_some_and(alnum)
        && name.chars().all(|c| alnum(&c) || c == '-' || c == '.');
    (report_model::shape::is_dns1123_label(namespace) && subdomain)
        .then(|| (namespace.to_string(), name.to_string()))
}

/// The record a scan writes before its first report write: its start
/// (shard and run id added by [`stamp_run`]), not complete, in progress.
/// The record written at the end replaces it (the same field manager's
/// apply drops `inProgress`); a scan killed before that leaves it, and
/// every reader takes it for a scan that did not finish.
pub fn in_progress(namespace: &str, name: &str, started: DateTime<Utc>) -> Value {
    let mut data = Map::new();
    for (key, value) in [
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        (
            keys::STARTED,
            started.to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
        (
            keys::ATTEMPT,
            started.to_rfc3339_opts(SecondsFormat::Nanos, true),
        ),
        (keys::COMPLETE, "false".into()),
        (keys::IN_PROGRESS, "true".into()),
    ] {
        data.insert(key.to_string(), Value::String(value));
    }
    crate::evidence::run::record_format::config_map(namespace, name, data)
}

/// Adds to the record of a run that failed or was stopped how many
/// objects it had evaluated by then ([`keys::OBJECTS_EVALUATED`]).
pub fn stamp_objects_evaluated(record: &mut Value, objects: usize) {
    if let Some(data) = record.get_mut("data").and_then(Value::as_object_mut) {
        data.insert(keys::OBJECTS_EVALUATED.into(), objects.to_string().into());
    }
}

/// Longest part of a failed run's error a gap quotes, in characters.
const GAP_ERROR_CHARS: usize = 300;

/// The run the stored record `previous` is of, when that run never
/// reached the soak history: its start and why, for the gap the next run
/// adds there (`history::record_gap`). A record still in progress (the run
/// was killed before it could record), one with `historyError` (its append
/// failed), and one of a run that failed or was stopped after evaluating
/// objects (`objectsEvaluated` above 0, or absent: a record of an older
/// polscan, which did not count) are; a finished run's record, and that of
/// a run that failed before it evaluated anything, are not. None too when
/// the record's start cannot be read (no polscan record).
pub fn unrecorded_run(previous: &Value) -> Option<(DateTime<Utc>, String)> {
    use crate::engine::ValueExt;
    let field = |key: &str| previous.str_at(&format!("/data/{key}"));
    let started = DateTime::parse_from_rfc3339(field(keys::STARTED)?)
        .ok()?
        .with_timezone(&Utc);
    let reason = if field(keys::IN_PROGRESS) == Some("true") {
        "its record still said in progress: it was stopped before it could record (SIGKILL, a lost node, a deadline past the grace period)".to_string()
    } else if let Some(error) = field(keys::HISTORY_ERROR) {
        error.to_string()
    } else if let Some(error) = field(keys::ERROR) {
        let error: String = error
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(GAP_ERROR_CHARS)
            .collect();
        match field(keys::OBJECTS_EVALUATED).map(str::parse::<u64>) {
            Some(Ok(0)) => return None,
            Some(Ok(1)) => format!("it failed after evaluating 1 object: {error}"),
            Some(Ok(objects)) => {
                format!("it failed after evaluating {objects} objects: {error}")
            }
            _ => format!("it failed: {error}"),
        }
    } else {
        return None;
    };
    Some((started, reason))
}

/// The ConfigMap recording one run.
pub fn config_map(
    namespace: &str,
    name: &str,
    outcome: Result<&ScanOutcome, &str>,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
) -> Value {
    let mut data = Map::new();
    let mut put = |key: &str, value: String| {
        data.insert(key.to_string(), Value::String(value));
    };
    put("version", env!("CARGO_PKG_VERSION").to_string());
    put(
        keys::STARTED,
        started.to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    put(
        keys::ATTEMPT,
        started.to_rfc3339_opts(SecondsFormat::Nanos, true),
    );
    put(
        keys::FINISHED,
        finished.to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    let seconds = (finished - started).num_milliseconds() as f64 / 1000.0;
    put("durationSeconds", format!("{seconds:.3}"));
    match outcome {
        Err(error) => {
            put(keys::COMPLETE, "false".into());
            put(keys::ERROR, error.to_string());
        }
        Ok(outcome) => {
            put(keys::COMPLETE, outcome.complete().to_string());
            put(keys::DRY_RUN, outcome.dry_run.to_string());
            put(
                keys::REPORT_API,
                outcome.report_api.api_version().to_string(),
            );
            put("kindsListed", outcome.listings.len().to_string());
            let failed: Vec<String> = outcome
                .failed_listings()
                .map(|l| l.kind.display_name())
                .collect();
            put("kindsFailed", failed.len().to_string());
            if !failed.is_empty() {
                put(keys::FAILED_KINDS, failed.join(","));
            }
            put(
                keys::POLICIES_KINDS_LEFT_OUT,
                outcome
                    .kinds_left_out
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            );
            put(
                "objects",
                outcome
                    .listings
                    .iter()
                    .map(|l| l.objects)
                    .sum::<usize>()
                    .to_string(),
            );
            put("policies", outcome.audit.policies_evaluated.to_string());
            put(
                "resourcesEvaluated",
                outcome.audit.resources_evaluated.to_string(),
            );
            // Of those, the objects unchanged since their stored report,
            // whose results the report gave instead of an evaluation.
            put("resourcesReused", outcome.reused.to_string());
            if !outcome.settings.is_empty() {
                put(
                    keys::SETTINGS,
                    serde_json::to_string(&outcome.settings).unwrap_or_default(),
                );
            }
            if !outcome.input_digests.is_empty() {
                put(
                    keys::INPUT_DIGESTS,
                    serde_json::to_string(&outcome.input_digests).unwrap_or_default(),
                );
            }
            for status in [
                RuleStatus::Pass,
                RuleStatus::Fail,
                RuleStatus::Warn,
                RuleStatus::Error,
                RuleStatus::Skip,
            ] {
                let count = outcome.status_counts.get(&status).copied().unwrap_or(0);
                put(&format!("results.{status}"), count.to_string());
            }
            // The same figures the metrics give, as JSON in one key each.
            let mut by_kind = Map::new();
            for listing in &outcome.listings {
                by_kind.insert(listing.kind.display_name(), json!(listing.objects));
            }
            put(keys::OBJECTS_BY_KIND, Value::Object(by_kind).to_string());
            if let Some(value) = objects_in_policy_namespaces(outcome) {
                put(keys::OBJECTS_IN_POLICY_NAMESPACES, value);
            }
            if !outcome.failed_policy_sources.is_empty() {
                put(
                    keys::FAILED_POLICY_SOURCES,
                    outcome.failed_policy_sources.join(","),
                );
            }
            if !outcome.invalid_policies.is_empty() {
                put(keys::INVALID_POLICIES, outcome.invalid_policies.join(","));
            }
            if let Some(errors) =
                crate::evidence::run::record_format::load_errors_value(&outcome.load_errors)
            {
                put(keys::LOAD_ERRORS, errors);
            }
            if let Some(named) = crate::evidence::run::record_format::load_error_policies_value(
                &outcome.load_errors,
                &outcome.load_error_policies,
            ) {
                put(keys::LOAD_ERROR_POLICIES, named);
            }
            if !outcome.namespaces.is_empty() {
                put(keys::NAMESPACES, outcome.namespaces.join(","));
            }
            if !outcome.excluded_namespaces.is_empty() {
                put(
                    keys::EXCLUDED_NAMESPACES,
                    outcome.excluded_namespaces.join(","),
                );
            }
            let (applied, exception_namespace) = outcome.exceptions.record_values();
            put(keys::POLICY_EXCEPTIONS, applied.to_string());
            if let Some(namespace) = exception_namespace {
                put(keys::EXCEPTION_NAMESPACE, namespace.to_string());
            }
            put(
                keys::EXCEPTIONS_NOT_APPLIED,
                outcome.exceptions_not_applied.len().to_string(),
            );
            if outcome.exception_namespace_missing {
                put(keys::EXCEPTION_NAMESPACE_MISSING, "true".into());
            }
            // Written even when empty: its absence marks a record older
            // than the key, which says nothing of what is served (N5).
            put(
                keys::UNSERVED_POLICY_KINDS,
                outcome.unserved_policy_kinds.join(","),
            );
            if let Some((source, count)) = &outcome.resource_filters {
                put(keys::RESOURCE_FILTERS_FROM, source.clone());
                put(keys::RESOURCE_FILTERS, count.to_string());
            }
            put(
                keys::WRITE_FAILED_REPORTS,
                outcome.write_failures.len().to_string(),
            );
            if let Some((objects, by_rule, kinds)) = evaluated(outcome) {
                put(keys::OBJECTS_EVALUATED_BY_KIND, json!(objects).to_string());
                put(keys::RESULTS_BY_RULE, json!(by_rule).to_string());
                // Policies × rules × kinds: bounded by what the scan loaded
                // and listed, not by the objects.
                if let Some(kinds) = kinds {
                    put(keys::KINDS_BY_RULE, json!(kinds).to_string());
                }
            }
            let mut by_policy: Map<String, Value> = Map::new();
            for (key, count) in &outcome.result_counts {
                let entry = by_policy
                    .entry(key.policy.clone())
                    .or_insert_with(|| json!({}));
                entry[key.status.as_str()] = json!(count);
            }
            put("resultsByPolicy", Value::Object(by_policy).to_string());
            put("reportsWritten", outcome.writes.to_string());
            put("reportsUnchanged", outcome.plan.unchanged.len().to_string());
            put("reportsDeleted", outcome.deletes.to_string());
            put(
                "reportsKeptAfterFailedList",
                outcome.plan.kept_after_failed_list.len().to_string(),
            );
            put(
                "reportsKeptPoliciesIncomplete",
                outcome.plan.kept_policies_incomplete.len().to_string(),
            );
            put(
                keys::POLICIES_INCOMPLETE,
                outcome.policies_incomplete.to_string(),
            );
            put(
                "resultsKeptOfMissingPolicies",
                outcome.results_kept.to_string(),
            );
            put("writeFailures", outcome.write_failures.len().to_string());
            for (phase, ms) in &outcome.phases {
                put(
                    &format!("phase.{}.ms", phase.replace(' ', "-")),
                    ms.to_string(),
                );
            }
        }
    }
    crate::evidence::run::record_format::config_map(namespace, name, data)
}

/// The policies the run of `previous` (a record as stored) read and this
/// run did not: keys of the record's [`keys::INPUT_DIGESTS`] of a policy
/// kind missing from `read` (this run's [`ScanOutcome::input_digests`]),
/// each as `Kind name` (`Kind namespace/name`) with the results that run
/// counted for it (`resultsByPolicy`). Such a policy was deleted, or given
/// to that run as a `--policy` file and not to this one (walk69 W69-1):
/// either way this run's rewritten reports no longer hold its results,
/// which the operator should hear once. Empty for a record without the
/// digests (an older polscan's, a run that stopped early).
pub fn policies_not_read_again(
    previous: &Value,
    read: &BTreeMap<String, String>,
) -> Vec<(String, u64)> {
    let data = |key: &str| {
        previous
            .pointer(&format!("/data/{key}"))
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
    };
    let Some(Value::Object(digests)) = data(keys::INPUT_DIGESTS) else {
        return Vec::new();
    };
    let results = data("resultsByPolicy").unwrap_or(Value::Null);
    digests
        .keys()
        .filter(|key| !read.contains_key(*key))
        .filter_map(|key| {
            let mut parts = key.splitn(4, '/');
            let (_group, kind, namespace, name) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            if !crate::evidence::ingest::policy_info::POLICY_DOCUMENT_KINDS.contains(&kind) {
                return None;
            }
            let qualified = match namespace {
                "" => name.to_string(),
                namespace => format!("{namespace}/{name}"),
            };
            let counted = results
                .get(&qualified)
                .and_then(Value::as_object)
                .map_or(0, |by_status| {
                    by_status.values().filter_map(Value::as_u64).sum()
                });
            Some((format!("{kind} {qualified}"), counted))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterError;
    use crate::kinds::ApiResource;
    use crate::scan::KindListing;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn kind(name: &str) -> ApiResource {
        crate::cluster::discovery::listable_for_tests("", name)
    }

    #[test]
    fn records_counts_failures_and_timing() {
        let mut outcome = ScanOutcome {
            writes: 2,
            phases: vec![("listed and evaluated".into(), 1234)],
            listings: vec![
                KindListing {
                    kind: kind("Pod"),
                    objects: 7,
                    error: None,
                },
                KindListing {
                    kind: kind("Secret"),
                    objects: 0,
                    error: Some(ClusterError::Status {
                        what: "listing".into(),
                        code: 403,
                        reason: "Forbidden".into(),
                        message: "no".into(),
                    }),
                },
            ],
            ..ScanOutcome::default()
        };
        outcome.status_counts.insert(RuleStatus::Fail, 3);
        outcome.result_counts.insert(
            crate::scan::ResultKey {
                policy: "disallow-latest".into(),
                severity: "medium".into(),
                status: RuleStatus::Fail,
            },
            3,
        );
        let map = config_map(
            "polscan-system",
            "polscan-last-run",
            Ok(&outcome),
            at(0),
            at(90),
        );
        let data = &map["data"];
        assert_eq!(map["metadata"]["namespace"], "polscan-system");
        assert_eq!(data["complete"], "false");
        assert_eq!(data["failedKinds"], "Secret");
        assert_eq!(data["objects"], "7");
        assert_eq!(data["results.fail"], "3");
        assert_eq!(data["results.pass"], "0");
        assert_eq!(data["reportsWritten"], "2");
        assert_eq!(data["durationSeconds"], "90.000");
        assert_eq!(data["phase.listed-and-evaluated.ms"], "1234");
        assert_eq!(data["started"], "2027-01-15T08:00:00Z");
        assert_eq!(data["objectsByKind"], r#"{"Pod":7,"Secret":0}"#);
        assert_eq!(data["resultsByPolicy"], r#"{"disallow-latest":{"fail":3}}"#);
    }

    #[test]
    fn counts_objects_in_each_namespace_holding_a_namespaced_policy() {
        let soak = || SoakPolicy {
            hash: "h".into(),
            legacy_hash: None,
            action: "Audit".into(),
            unscored: false,
        };
        let mut outcome = ScanOutcome::default();
        let record = |outcome: &ScanOutcome| {
            config_map("ns", "run", Ok(outcome), at(0), at(1))["data"]
                .get(keys::OBJECTS_IN_POLICY_NAMESPACES)
                .cloned()
        };
        // Not counted (an audit), or no namespaced policy: no key.
        outcome.soak_policies.insert("team/own".into(), soak());
        assert_eq!(record(&outcome), None);
        outcome.objects_by_namespace = Some(ObjectsByNamespace::from([
            ("team".to_string(), BTreeMap::from([("Pod".to_string(), 2)])),
            (
                "other".to_string(),
                BTreeMap::from([("Pod".to_string(), 5)]),
            ),
        ]));
        outcome.soak_policies.insert("cluster-wide".into(), soak());
        outcome.soak_policies.insert("empty/theirs".into(), soak());
        // Only the policies' namespaces; one with no object is `{}`.
        assert_eq!(
            record(&outcome),
            Some(json!(r#"{"empty":{},"team":{"Pod":2}}"#))
        );
        outcome.soak_policies.retain(|name, _| !name.contains('/'));
        assert_eq!(record(&outcome), None);
    }

    #[test]
    fn records_the_error_that_stopped_a_run() {
        let map = config_map("ns", "run", Err("no policies"), at(0), at(1));
        assert_eq!(map["data"]["complete"], "false");
        assert_eq!(map["data"]["error"], "no policies");
        assert!(map["data"].get("objects").is_none());
    }

    #[test]
    fn the_record_of_a_run_in_progress_reads_as_not_finished() {
        use crate::evidence::ScanRecord;
        let mut map = in_progress("ns", "run", at(0));
        stamp_run(&mut map, None, Some("job-1"));
        let read = ScanRecord::from_config_map(&map, "ns/run").expect("record");
        assert!(read.in_progress && !read.complete, "{read:?}");
        assert_eq!(read.started, Some(at(0)));
        assert_eq!(read.run_id.as_deref(), Some("job-1"));
        assert!(read.finished.is_none());
        // The record of the finished run has no such key.
        let done = config_map("ns", "run", Ok(&ScanOutcome::default()), at(0), at(1));
        assert!(done["data"].get(keys::IN_PROGRESS).is_none());
    }

    #[test]
    fn a_run_that_never_reached_the_history_is_found_in_its_record() {
        // Killed while in progress.
        let killed = in_progress("ns", "run", at(0));
        let (started, reason) = unrecorded_run(&killed).expect("a gap");
        assert_eq!(started, at(0));
        assert!(
            reason.starts_with("its record still said in progress"),
            "{reason}"
        );
        // Finished: recorded, whether complete or not.
        let done = config_map("ns", "run", Ok(&ScanOutcome::default()), at(0), at(1));
        assert_eq!(unrecorded_run(&done), None);
        // Finished, but its own append failed.
        let mut lost = done.clone();
        lost["data"][keys::HISTORY_ERROR] = json!("this scan was not added: 500");
        assert_eq!(
            unrecorded_run(&lost),
            Some((at(0), "this scan was not added: 500".to_string()))
        );
        // Failed after evaluating: a gap quoting the error's first line.
        let mut failed = config_map("ns", "run", Err("stopped by SIGTERM\nmore"), at(0), at(1));
        stamp_objects_evaluated(&mut failed, 40);
        assert_eq!(
            unrecorded_run(&failed).map(|(_, reason)| reason).as_deref(),
            Some("it failed after evaluating 40 objects: stopped by SIGTERM")
        );
        // Failed before it evaluated anything: it saw nothing.
        stamp_objects_evaluated(&mut failed, 0);
        assert_eq!(unrecorded_run(&failed), None);
        // An older record of a failure, without the count: a gap.
        let older = config_map("ns", "run", Err("x"), at(0), at(1));
        assert_eq!(
            unrecorded_run(&older).map(|(_, reason)| reason).as_deref(),
            Some("it failed: x")
        );
        // No start: no polscan record.
        assert_eq!(
            unrecorded_run(&json!({"data": {"inProgress": "true"}})),
            None
        );
    }

    #[test]
    fn targets_are_namespace_slash_name() {
        assert_eq!(parse_target("a/b"), Some(("a".into(), "b".into())));
        assert_eq!(parse_target("b"), None);
        assert_eq!(parse_target("a/b/c"), None);
        // What the API server would refuse mid-run is refused up front.
        assert_eq!(parse_target("polscan-system/Last-Run"), None);
        assert_eq!(parse_target("Polscan/last"), None);
        assert_eq!(parse_target("ns/last-"), None);
        assert_eq!(parse_target("ns.x/last"), None);
        assert_eq!(
            parse_target("ns/last.run-1"),
            Some(("ns".into(), "last.run-1".into()))
        );
        assert_eq!(parse_target("/b"), None);
    }

    fn outcome_results(recorded: Option<&str>) -> ResultsByRule {
        serde_json::from_str(recorded.expect("resultsByRule")).expect("JSON")
    }

    #[test]
    fn evaluated_objects_and_results_by_rule_come_from_the_findings_when_not_counted() {
        use crate::audit::Finding;
        use crate::engine::policy::PolicyMeta;
        use crate::engine::{ResourceRef, RuleResult};
        use std::sync::Arc;
        let policy = Arc::new(PolicyMeta {
            kind: "Policy".into(),
            name: "labels".into(),
            namespace: Some("team".into()),
            annotations: Default::default(),
            process: "background scan",
        });
        let finding = |api_version: &str, kind: &str, name: &str, rule: &str, status| Finding {
            policy: policy.clone(),
            resource: ResourceRef {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: "team".into(),
                name: name.into(),
                uid: String::new(),
            },
            origin: None,
            result: RuleResult::new(rule, status, String::new(), "Audit"),
        };
        let mut outcome = ScanOutcome::default();
        outcome.audit.findings = vec![
            finding("v1", "Pod", "a", "check", RuleStatus::Fail),
            finding("v1", "Pod", "a", "other", RuleStatus::Pass),
            finding("v1", "Pod", "b", "check", RuleStatus::Pass),
            finding(
                "apps/v1",
                "Deployment",
                "web",
                "autogen-check",
                RuleStatus::Pass,
            ),
            finding("v1", "Pod", "a", EXCEPTION_RULE, RuleStatus::Warn),
        ];
        outcome.status_counts.insert(RuleStatus::Pass, 3);
        let map = config_map("ns", "run", Ok(&outcome), at(0), at(1));
        let data = &map["data"];
        assert_eq!(
            data[keys::OBJECTS_EVALUATED_BY_KIND],
            r#"{"Pod":2,"apps/Deployment":1}"#
        );
        assert_eq!(
            data[keys::RESULTS_BY_RULE],
            r#"{"team/labels":{"autogen-check":{"pass":1},"check":{"fail":1,"pass":1},"other":{"pass":1}}}"#
        );
        assert_eq!(
            data[keys::KINDS_BY_RULE],
            r#"{"team/labels":{"autogen-check":{"apps/Deployment":1},"check":{"Pod":2},"other":{"Pod":1}}}"#
        );
        assert_eq!(data[keys::WRITE_FAILED_REPORTS], "0");
        assert!(data.get(keys::INVALID_POLICIES).is_none());

        // Results counted by a scan that did not count kinds per rule:
        // kinds not recorded, never recorded as none.
        let counted = ScanOutcome {
            results_by_rule: outcome_results(data[keys::RESULTS_BY_RULE].as_str()),
            ..ScanOutcome::default()
        };
        let map = config_map("ns", "run", Ok(&counted), at(0), at(1));
        assert!(map["data"].get(keys::RESULTS_BY_RULE).is_some());
        assert!(map["data"].get(keys::KINDS_BY_RULE).is_none());

        // Findings dropped while results exist: unknown, so no key at all.
        outcome.audit.findings.clear();
        let map = config_map("ns", "run", Ok(&outcome), at(0), at(1));
        assert!(map["data"].get(keys::RESULTS_BY_RULE).is_none());
        assert!(map["data"].get(keys::KINDS_BY_RULE).is_none());
        assert!(map["data"].get(keys::OBJECTS_EVALUATED_BY_KIND).is_none());
    }

    #[test]
    fn another_policy_that_could_not_be_loaded_leaves_a_policy_s_coverage_whole() {
        let soak = SoakPolicy {
            hash: "h".into(),
            legacy_hash: None,
            action: "Audit".into(),
            unscored: false,
        };
        let mut outcome = ScanOutcome {
            soak_policies: BTreeMap::from([
                ("good".to_string(), soak.clone()),
                ("team-b/broken".to_string(), soak),
            ]),
            results_by_rule: outcome_results(Some(r#"{"good":{"check":{"pass":3}}}"#)),
            invalid_policies: vec!["team-b/broken".into()],
            policies_incomplete: true,
            ..ScanOutcome::default()
        };
        outcome.audit.problems.push(crate::audit::Problem {
            origin: None,
            message: "invalid policy, skipped".into(),
            invalid_policy: true,
        });
        let complete = |outcome: &ScanOutcome| {
            let scans = soak_scans(outcome);
            (
                scans["good"].counts.complete,
                scans["team-b/broken"].counts.complete,
            )
        };
        // Before: (false, false) — one team's broken policy held back every
        // team's soak ("did not cover the policy completely").
        assert_eq!(complete(&outcome), (true, false));
        // A binding or PolicyException that did not load, or a policy
        // source not read, may change any policy's results.
        outcome.invalid_beyond_policies = true;
        assert_eq!(complete(&outcome), (false, false));
        outcome.invalid_beyond_policies = false;
        // One that names its policies holds back those only (one team's
        // broken exception held every team's soak back).
        outcome.load_error_policies = BTreeMap::from([(
            "PolicyException team-b/x".to_string(),
            vec!["good".to_string()],
        )]);
        assert_eq!(complete(&outcome), (false, false));
        outcome.invalid_policies.clear();
        outcome.load_error_policies = BTreeMap::from([(
            "PolicyException team-b/x".to_string(),
            vec!["team-b/broken".to_string()],
        )]);
        assert_eq!(complete(&outcome), (true, false));
        outcome.load_error_policies.clear();
        outcome.failed_policy_sources = vec!["policies.kyverno.io/v1alpha1".into()];
        assert_eq!(complete(&outcome), (false, false));
    }

    /// The policies an exception or binding names, read as Kyverno matches
    /// them; None where it does not say which, readably.
    #[test]
    fn the_policies_a_binding_or_exception_names() {
        let named = |document: Value| policies_named_by(&document);
        assert_eq!(
            named(json!({
                "apiVersion": "kyverno.io/v2", "kind": "PolicyException",
                "spec": {"exceptions": [
                    {"policyName": "require-labels", "ruleNames": ["check"]},
                    {"policyName": "team-b/local", "ruleNames": ["*"]}
                ], "match": "not a match"}
            })),
            Some(vec![
                "require-labels".to_string(),
                "team-b/local".to_string()
            ])
        );
        assert_eq!(
            named(json!({
                "apiVersion": "policies.kyverno.io/v1", "kind": "PolicyException",
                "spec": {"policyRefs": [{"name": "vpol", "kind": "ValidatingPolicy"}],
                         "matchConditions": [{"name": "c", "expression": "(("}]}
            })),
            Some(vec!["vpol".to_string()])
        );
        assert_eq!(
            named(json!({
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "spec": {"policyName": "vap", "validationActions": ["Nope"]}
            })),
            Some(vec!["vap".to_string()])
        );
        for unreadable in [
            json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException", "spec": {}}),
            json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
                   "spec": {"exceptions": [{"policyName": "a"}, {"policyName": 3}]}}),
            json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
                   "spec": {"exceptions": []}}),
            // A namespaced kind's policy: which namespace is not said.
            json!({"apiVersion": "policies.kyverno.io/v1", "kind": "PolicyException",
                   "spec": {"policyRefs": [{"name": "n", "kind": "NamespacedValidatingPolicy"}]}}),
            json!({"apiVersion": "example.com/v1", "kind": "PolicyException",
                   "spec": {"exceptions": [{"policyName": "a"}]}}),
        ] {
            assert_eq!(named(unreadable.clone()), None, "{unreadable}");
        }
    }

    /// walk28 F18, verify28 item 10: a fail a `background: false`
    /// PolicyException covers stays a fail in the reports, but Kyverno's
    /// admission skips the rule for it: the soak counted it as a
    /// violation, so a policy whose only fails were excused never soaked
    /// clean (WAIT for ever).
    #[test]
    fn a_violation_excused_at_admission_is_no_fail_in_the_soak() {
        use crate::audit::pod_finding;
        use crate::engine::exceptions::kyverno::ADMISSION_EXCEPTIONS;
        let covered = |name: &str, status: RuleStatus| {
            let mut finding = pod_finding("no-latest", "team", name, status);
            finding
                .result
                .properties
                .insert(ADMISSION_EXCEPTIONS.into(), "team/web".into());
            finding
        };
        let mut outcome = ScanOutcome {
            soak_policies: BTreeMap::from([(
                "no-latest".to_string(),
                SoakPolicy {
                    hash: "h".into(),
                    legacy_hash: None,
                    action: "Audit".into(),
                    unscored: false,
                },
            )]),
            ..ScanOutcome::default()
        };
        outcome.audit.findings = vec![
            covered("a", RuleStatus::Fail),
            covered("b", RuleStatus::Error),
            pod_finding("no-latest", "team", "c", RuleStatus::Fail),
            pod_finding("no-latest", "team", "d", RuleStatus::Pass),
        ];
        let counts = soak_scans(&outcome)["no-latest"].counts;
        assert_eq!((counts.fail, counts.error, counts.evaluated), (1, 0, 4));
        // Only the uncovered fail was one: without it the policy is clean.
        outcome.audit.findings.remove(2);
        let counts = soak_scans(&outcome)["no-latest"].counts;
        assert_eq!((counts.fail, counts.error), (0, 0));
    }

    #[test]
    fn a_violation_excused_only_by_the_annotation_counts_in_the_soak_as_what_it_replaced() {
        use crate::audit::pod_finding;
        use crate::engine::exceptions::annotation::properties;
        let excused = |policy: &str, replaced: &str| {
            let mut finding = pod_finding(policy, "team", "a", RuleStatus::Skip);
            let props = &mut finding.result.properties;
            props.insert(
                properties::EXCEPTION.into(),
                properties::RESOURCE_ANNOTATION.into(),
            );
            props.insert(properties::RESULT.into(), replaced.into());
            finding
        };
        let mut unscored = excused("quiet", "warn");
        std::sync::Arc::make_mut(&mut unscored.policy)
            .annotations
            .insert(
                crate::engine::policy::ANNOTATION_SCORED.into(),
                "false".into(),
            );
        let soak = |unscored| SoakPolicy {
            hash: "h".into(),
            legacy_hash: None,
            action: "Audit".into(),
            unscored,
        };
        let mut outcome = ScanOutcome {
            soak_policies: BTreeMap::from([
                ("no-latest".to_string(), soak(false)),
                ("quiet".to_string(), soak(true)),
            ]),
            ..ScanOutcome::default()
        };
        outcome.audit.findings = vec![
            excused("no-latest", "fail"),
            excused("no-latest", "fail"),
            excused("no-latest", "error"),
            // Excused where it passed, or already skipped by a Kyverno
            // PolicyException (applied first): no violation.
            excused("no-latest", "pass"),
            excused("no-latest", "skip"),
            // A PolicyException's skip alone, and a scored policy's warn.
            pod_finding("no-latest", "team", "b", RuleStatus::Skip),
            excused("no-latest", "warn"),
            unscored,
        ];
        // From the findings (the outcome's own figures not filled).
        let scans = soak_scans(&outcome);
        let counts = &scans["no-latest"].counts;
        assert_eq!((counts.fail, counts.error, counts.evaluated), (2, 1, 7));
        assert!(counts.complete);
        assert_eq!(scans["quiet"].counts.fail, 1);

        // From the figures a scan counted (its tally).
        let mut excused_counts = AnnotationExcused::new();
        for finding in &outcome.audit.findings {
            count_annotation_excused(&mut excused_counts, finding);
        }
        let counted = ScanOutcome {
            soak_policies: outcome.soak_policies.clone(),
            results_by_rule: outcome_results(Some(r#"{"no-latest":{"check":{"skip":3}}}"#)),
            annotation_excused: excused_counts,
            ..ScanOutcome::default()
        };
        let scans = soak_scans(&counted);
        let counts = &scans["no-latest"].counts;
        assert_eq!((counts.fail, counts.error, counts.evaluated), (2, 1, 3));

        // walk28 F12f: a run over one namespace covers a namespaced policy
        // of that namespace, and no other policy.
        let mut soak_policies = counted.soak_policies.clone();
        soak_policies.insert("team/own".to_string(), soak(false));
        soak_policies.insert("other/theirs".to_string(), soak(false));
        let one_namespace = ScanOutcome {
            soak_policies,
            results_by_rule: outcome_results(Some(r#"{"no-latest":{"check":{"skip":3}}}"#)),
            namespaces: vec!["team".into()],
            ..ScanOutcome::default()
        };
        let scans = soak_scans(&one_namespace);
        assert!(scans["team/own"].counts.complete);
        assert!(!scans["other/theirs"].counts.complete);
        assert!(!scans["no-latest"].counts.complete);
        // A run whose filters (or default: Secrets) left out a kind the
        // policy names did not cover it: not a clean scan of its soak.
        let kinds_left_out = ScanOutcome {
            soak_policies: counted.soak_policies.clone(),
            results_by_rule: outcome_results(Some(r#"{"no-latest":{"check":{"skip":3}}}"#)),
            kinds_left_out: BTreeSet::from(["quiet".to_string()]),
            ..ScanOutcome::default()
        };
        let scans = soak_scans(&kinds_left_out);
        assert!(scans["no-latest"].counts.complete);
        assert!(!scans["quiet"].counts.complete);
        // The run record's results by rule stay as the reports hold them.
        let map = config_map("ns", "run", Ok(&counted), at(0), at(1));
        assert_eq!(
            map["data"][keys::RESULTS_BY_RULE],
            r#"{"no-latest":{"check":{"skip":3}}}"#
        );
    }

    #[test]
    fn the_record_a_scan_writes_is_the_record_evidence_reads() {
        use crate::evidence::{build, ClusterIdentity, EvidenceInput, ReportResults, ScanRecord};
        use crate::scan::ScanOutcome;
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .expect("time")
        };
        let refused = || ClusterError::Transport {
            what: "listing".into(),
            message: "refused".into(),
        };
        let mut outcome = ScanOutcome {
            listings: vec![
                KindListing {
                    kind: crate::cluster::discovery::listable_for_tests("apps", "Deployment"),
                    objects: 0,
                    error: Some(refused()),
                },
                KindListing {
                    kind: crate::cluster::discovery::listable_for_tests("", "Pod"),
                    objects: 3,
                    error: None,
                },
            ],
            write_failures: vec![refused(), refused()],
            failed_policy_sources: vec!["clusterpolicies.kyverno.io".into()],
            invalid_policies: vec!["team/broken".into(), "bad".into()],
            load_errors: BTreeMap::from([
                (
                    "Policy team/broken".into(),
                    "a pattern that is no pattern".into(),
                ),
                (
                    "PolicyException team/x".into(),
                    "missing field `policyName`".into(),
                ),
            ]),
            policies_incomplete: true,
            namespaces: vec!["a".into(), "b".into()],
            excluded_namespaces: vec!["b".into()],
            exceptions: crate::scan::ExceptionScope::Namespace {
                namespace: "kyverno".into(),
            },
            resource_filters: Some(("kyverno/kyverno".into(), 17)),
            exception_namespace_missing: true,
            unserved_policy_kinds: vec![
                "ValidatingAdmissionPolicy".into(),
                "ValidatingPolicy".into(),
            ],
            kinds_left_out: BTreeSet::from(["every".to_string(), "team/secrets".to_string()]),
            ..ScanOutcome::default()
        };
        outcome.objects_evaluated_by_kind.insert("Pod".into(), 2);
        outcome
            .results_by_rule
            .entry("require-labels".into())
            .or_default()
            .entry("check".into())
            .or_default()
            .insert("fail".into(), 2);
        let written = config_map(
            "ns",
            "run",
            Ok(&outcome),
            at("2026-11-20T10:00:00Z"),
            at("2026-11-20T10:05:00Z"),
        );
        let read = ScanRecord::from_config_map(&written, "ns/run").expect("record");
        let mut expected = ScanRecord {
            source: "ns/run".into(),
            started: Some(at("2026-11-20T10:00:00Z")),
            finished: Some(at("2026-11-20T10:05:00Z")),
            complete: false,
            failed_kinds: vec!["apps/Deployment".into()],
            ..ScanRecord::default()
        };
        expected.policy_exceptions = Some(crate::scan::ExceptionScope::Namespace {
            namespace: "kyverno".into(),
        });
        expected.failed_policy_sources = vec!["clusterpolicies.kyverno.io".into()];
        expected.invalid_policies = vec!["team/broken".into(), "bad".into()];
        expected.policies_kinds_left_out = Some(vec!["every".into(), "team/secrets".into()]);
        expected.exceptions_not_applied = Some(0);
        expected.load_errors = outcome.load_errors.clone();
        assert_eq!(
            read.load_errors_beyond_policies(),
            ["PolicyException team/x: missing field `policyName`"]
        );
        // The policies an exception names come back with it.
        let naming = ScanOutcome {
            load_errors: outcome.load_errors.clone(),
            load_error_policies: BTreeMap::from([(
                "PolicyException team/x".to_string(),
                vec!["require-labels".to_string()],
            )]),
            ..ScanOutcome::default()
        };
        let named = ScanRecord::from_config_map(
            &config_map(
                "ns",
                "run",
                Ok(&naming),
                at("2026-11-20T10:00:00Z"),
                at("2026-11-20T10:05:00Z"),
            ),
            "ns/run",
        )
        .expect("record");
        assert_eq!(named.load_error_policies, naming.load_error_policies);
        expected.write_failed_reports = 2;
        expected.policies_incomplete = true;
        expected.namespaces = vec!["a".into(), "b".into()];
        expected.excluded_namespaces = vec!["b".into()];
        expected.objects_by_kind = Some(
            [("apps/Deployment".to_string(), 0), ("Pod".to_string(), 3)]
                .into_iter()
                .collect(),
        );
        expected.objects_evaluated_by_kind = Some([("Pod".to_string(), 2)].into_iter().collect());
        expected.results_by_rule = outcome.results_by_rule.clone().into();
        expected.exception_namespace_missing = true;
        expected.unserved_policy_kinds = vec![
            "ValidatingAdmissionPolicy".into(),
            "ValidatingPolicy".into(),
        ];
        expected.policy_kinds_recorded = true;
        expected.resource_filters = Some(crate::evidence::ingest::record::ResourceFiltersApplied {
            source: "kyverno/kyverno".into(),
            count: 17,
        });
        assert_eq!(read, expected);
        // verify40 N5: a cluster serving every kind still records that it
        // does; only a record older than the key says nothing.
        let serving_all = config_map(
            "ns",
            "run",
            Ok(&ScanOutcome::default()),
            at("2026-11-20T10:00:00Z"),
            at("2026-11-20T10:05:00Z"),
        );
        let all_served = ScanRecord::from_config_map(&serving_all, "ns/run").expect("record");
        assert!(all_served.policy_kinds_recorded && all_served.unserved_policy_kinds.is_empty());
        let mut older = serving_all.clone();
        if let Some(data) = older.get_mut("data").and_then(Value::as_object_mut) {
            data.remove(crate::evidence::run::record_format::keys::UNSERVED_POLICY_KINDS);
        }
        let older = ScanRecord::from_config_map(&older, "ns/run").expect("record");
        assert!(!older.policy_kinds_recorded);
        assert!(
            read.exceptions_statement()
                .contains("but namespace kyverno does not exist in the cluster"),
            "{}",
            read.exceptions_statement()
        );
        // The evidence says which filters its results assume.
        let evidence = build(&EvidenceInput {
            reports: ReportResults::default(),
            policies: Vec::new(),
            scan: Some(read),
            owners: BTreeMap::new(),
            owner_labels: Default::default(),
            owner_selectors: BTreeMap::new(),
            identity: ClusterIdentity {
                source: "cluster".into(),
                kube_system_uid: None,
                server_version: None,
                server: None,
            },
            now: at("2026-11-22T00:00:00Z"),
            expiry_window: chrono::Duration::days(14),
            policy_filter: Vec::new(),
            namespace_filter: Vec::new(),
            unserved_policy_kinds: Vec::new(),
            policy_kinds_discovered: true,
            file_only_policies: Default::default(),
            still_present: None,
            soak: Default::default(),
        });
        assert!(
            evidence.scope_statements().iter().any(|s| s.starts_with(
                "Kyverno's resourceFilters applied (17 filter(s) from ConfigMap kyverno/kyverno,"
            )),
            "{:?}",
            evidence.scope_statements()
        );
        let failed = config_map(
            "ns",
            "run",
            Err("no policies"),
            at("2026-11-20T10:00:00Z"),
            at("2026-11-20T10:05:00Z"),
        );
        let read = ScanRecord::from_config_map(&failed, "ns/run").expect("record");
        assert_eq!(read.error.as_deref(), Some("no policies"));
        assert!(!read.complete);
    }

    #[test]
    fn the_record_of_a_stopped_run_keeps_the_scope_it_was_set_to_cover() {
        use crate::evidence::ScanRecord;
        use crate::scan::ExceptionScope;
        let scope = ExceptionScope::Namespace {
            namespace: "team-c".into(),
        };
        let namespaces = ["team-a".to_string(), "team-b".to_string()];
        let excluded = ["kube-system".to_string()];
        let mut stopped = config_map("ns", "run", Err("stopped by SIGTERM"), at(0), at(1));
        stamp_scope(&mut stopped, &scope, &namespaces, &excluded);
        let read = ScanRecord::from_config_map(&stopped, "ns/run").expect("record");
        assert!(!read.complete);
        assert_eq!(read.policy_exceptions, Some(scope.clone()));
        assert!(
            read.exceptions_statement()
                .starts_with("PolicyExceptions applied: in namespace team-c"),
            "{}",
            read.exceptions_statement()
        );
        // What the stopped scan covered, read back as a finished run's.
        assert_eq!(read.namespaces, namespaces);
        assert_eq!(read.excluded_namespaces, excluded);
        // What a finished run's outcome recorded is not overwritten.
        let mut done = config_map("ns", "run", Ok(&ScanOutcome::default()), at(0), at(1));
        stamp_scope(&mut done, &scope, &namespaces, &excluded);
        assert_eq!(done["data"][keys::POLICY_EXCEPTIONS], "disabled");
        assert!(done["data"].get(keys::EXCEPTION_NAMESPACE).is_none());
        assert!(done["data"].get(keys::NAMESPACES).is_none());
        // A stopped scan of the whole cluster names no namespace.
        let mut whole = config_map("ns", "run", Err("stopped by SIGTERM"), at(0), at(1));
        stamp_scope(&mut whole, &scope, &[], &[]);
        assert!(whole["data"].get(keys::NAMESPACES).is_none());
        assert!(whole["data"].get(keys::EXCLUDED_NAMESPACES).is_none());
    }

    /// walk69 W69-1: the policies of the previous record's digests that
    /// this run did not read, by kind and qualified name, with that run's
    /// result count; exceptions and bindings are no policies, and a record
    /// without digests names none.
    #[test]
    fn names_the_policies_the_last_recorded_run_read_and_this_one_did_not() {
        let digests = serde_json::json!({
            "kyverno.io/ClusterPolicy//kept": "a",
            "kyverno.io/ClusterPolicy//deleted": "b",
            "kyverno.io/Policy/team-a/local": "c",
            "policies.kyverno.io/ValidatingPolicy//from-file": "d",
            "kyverno.io/PolicyException/team-a/bypass": "e",
            "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding//b": "f",
        });
        let previous = serde_json::json!({"data": {
            "inputDigests": digests.to_string(),
            "resultsByPolicy": r#"{"deleted":{"fail":2,"pass":1},"team-a/local":{"pass":4}}"#,
        }});
        let read = BTreeMap::from([(
            "kyverno.io/ClusterPolicy//kept".to_string(),
            "a".to_string(),
        )]);
        assert_eq!(
            policies_not_read_again(&previous, &read),
            [
                ("ClusterPolicy deleted".to_string(), 3),
                ("Policy team-a/local".to_string(), 4),
                ("ValidatingPolicy from-file".to_string(), 0),
            ]
        );
        // Everything read again: none.
        let all: BTreeMap<String, String> = digests
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        assert!(policies_not_read_again(&previous, &all).is_empty());
        // An older record, or one of a run stopped early: none.
        let older = serde_json::json!({"data": {"complete": "false"}});
        assert!(policies_not_read_again(&older, &read).is_empty());
    }
}
