//! The run record's format, shared by the scan that writes it and the
//! evidence that reads it back (`polscan-last-run`, or `<name>-<I>` for
//! shard I): the record's keys, the digests of the policy documents a run
//! judged by, results counted by policy, rule and status, the spelling of a
//! kind, and which namespaces a run's selection covers. Values in, text and
//! digests out; no I/O.

use std::collections::BTreeMap;

use polscan_engine::{RuleStatus, ValueExt};
use serde_json::Value;

/// The keys `polscan evidence` reads back (`evidence::ScanRecord`).
pub mod keys {
    /// RFC 3339 time the run started (whole seconds).
    pub const STARTED: &str = "started";
    /// RFC 3339 time the run finished (whole seconds).
    pub const FINISHED: &str = "finished";
    /// `true` when nothing in the run failed (every kind listed, policy
    /// loaded and report written); a record without it is no run record.
    pub const COMPLETE: &str = "complete";
    /// Why the run failed; absent when it did not.
    pub const ERROR: &str = "error";
    /// `true` for a dry run (no reports written).
    pub const DRY_RUN: &str = "dryRun";
    /// Comma list of the kinds (`Kind` or `group/Kind`) that could not be
    /// listed.
    pub const FAILED_KINDS: &str = "failedKinds";
    /// Comma list of policy sources (`clusterpolicies.kyverno.io`) not read.
    pub const FAILED_POLICY_SOURCES: &str = "failedPolicySources";
    /// Comma list of qualified names of policies that failed to load.
    pub const INVALID_POLICIES: &str = "invalidPolicies";
    /// JSON `{"Kind namespace/name": message}`: why each policy, binding
    /// or PolicyException that could not be loaded was refused (at most
    /// [`super::LOAD_ERRORS_KEPT`], each message cut at
    /// [`super::LOAD_ERROR_CHARS`] characters); absent when none, and from
    /// the record of an older polscan.
    pub const LOAD_ERRORS: &str = "loadErrors";
    /// JSON `{"Kind namespace/name": [policy, …]}`: the policies each
    /// binding or PolicyException in [`LOAD_ERRORS`] names (qualified
    /// names), where it names them readably; one not here may touch any
    /// policy. Absent when none, and from the record of an older polscan.
    pub const LOAD_ERROR_POLICIES: &str = "loadErrorPolicies";
    /// Comma list of the policies whose reach the scan's kind filters (or
    /// default: Secrets) left some kind out of, as the scan judged it,
    /// wildcards by API group; written by every scan, empty when none, so
    /// an older record is told apart by its absence.
    pub const POLICIES_KINDS_LEFT_OUT: &str = "policiesKindsLeftOut";
    /// Count of reports that could not be written or deleted.
    pub const WRITE_FAILED_REPORTS: &str = "writeFailedReports";
    /// JSON `{Kind: n}`: objects listed per kind display name.
    pub const OBJECTS_BY_KIND: &str = "objectsByKind";
    /// JSON `{namespace: {Kind: n}}`: objects in the scan's scope per
    /// kind display name, in each namespace that holds a namespaced policy
    /// (a `Policy`, a `NamespacedValidatingPolicy`) the run loaded; a
    /// namespace with none of a kind has no entry for it (`{}` when it has
    /// none at all). Absent when the run loaded no namespaced policy, when
    /// they are in more than [`super::POLICY_NAMESPACES_KEPT`] namespaces,
    /// and from the record of an older polscan.
    pub const OBJECTS_IN_POLICY_NAMESPACES: &str = "objectsInPolicyNamespaces";
    /// JSON `{Kind: n}`: objects evaluated by at least one rule.
    pub const OBJECTS_EVALUATED_BY_KIND: &str = "objectsEvaluatedByKind";
    /// JSON `{policy: {rule: {status: n}}}`.
    pub const RESULTS_BY_RULE: &str = "resultsByRule";
    /// JSON `{policy: {rule: {Kind: n}}}`: a rule's results by the kind
    /// (`Kind` or `group/Kind`) of the object evaluated; absent from the
    /// record of an older polscan.
    pub const KINDS_BY_RULE: &str = "kindsByRule";
    /// `true` when some policy could not be read or loaded: rewritten
    /// reports carried over the stored results of the missing policies.
    pub const POLICIES_INCOMPLETE: &str = "policiesIncomplete";
    /// Comma list of the only namespaces scanned (`--namespace`).
    pub const NAMESPACES: &str = "namespaces";
    /// Comma list of namespaces left out (`--exclude-namespaces`).
    pub const EXCLUDED_NAMESPACES: &str = "excludedNamespaces";
    /// Which PolicyExceptions the run applied: `disabled` (Kyverno's
    /// default), `namespace` (those in [`EXCEPTION_NAMESPACE`]) or `given`
    /// (an audit of files: every one given).
    pub const POLICY_EXCEPTIONS: &str = "policyExceptions";
    /// The namespace whose PolicyExceptions were applied (`*`: all), as
    /// Kyverno's `--exceptionNamespace`.
    pub const EXCEPTION_NAMESPACE: &str = "exceptionNamespace";
    /// Count of the cluster's PolicyExceptions found but not applied.
    pub const EXCEPTIONS_NOT_APPLIED: &str = "policyExceptionsNotApplied";
    /// `true` when the exception namespace does not exist in the cluster.
    pub const EXCEPTION_NAMESPACE_MISSING: &str = "exceptionNamespaceMissing";
    /// The policy kinds the cluster does not serve (discovery found no
    /// such API), comma-separated: a policy of one, given as a file,
    /// nothing there enforces; absent when it serves them all.
    pub const UNSERVED_POLICY_KINDS: &str = "unservedPolicyKinds";
    /// Kyverno's resourceFilters the run applied: `<namespace>/<name>` of
    /// its ConfigMap; absent when it applied none.
    pub const RESOURCE_FILTERS_FROM: &str = "resourceFiltersFrom";
    /// How many filters that ConfigMap held.
    pub const RESOURCE_FILTERS: &str = "resourceFilters";
    /// JSON `{document key: content digest}` of every policy and exception
    /// document the run loaded ([`super::document_key`],
    /// [`super::document_digest`]): `polscan evidence` tells from it that a
    /// document is the one the scan read, where change times (whole
    /// seconds) cannot.
    pub const INPUT_DIGESTS: &str = "inputDigests";
    /// `I/N`: the shard of a sharded scan this record is of
    /// ([`crate::run::shard`]); absent for a whole-cluster scan.
    pub const SHARD: &str = "shard";
    /// The run a shard belongs to (`--run-id`): shards of one run share it.
    pub const RUN_ID: &str = "runId";
    /// The start of a complete run of the same run id whose record this
    /// one replaced: the id was given to two runs, so the other shards'
    /// records of it may be of either.
    pub const RUN_ID_REUSED: &str = "runIdReusedFrom";
    /// The run's start to the nanosecond: tells two runs apart that
    /// started in the same second (`started` is whole seconds).
    pub const ATTEMPT: &str = "attempt";
    /// The report API the run wrote to (`group/version`).
    pub const REPORT_API: &str = "reportApi";
    /// Why this run could not be appended to the soak history
    /// (`<name>-history`, [`crate::run::history`]); absent when it was.
    pub const HISTORY_ERROR: &str = "historyError";
    /// JSON `{flag: value}`: the options that shaped the run
    /// (`ScanOptions::settings`); shards of one run must agree on them.
    pub const SETTINGS: &str = "settings";
    /// `"true"` in the record a scan writes before its first report
    /// write: the run started and has not finished. The record the scan
    /// writes at its end drops the key, so a record still saying it is of
    /// a scan stopped without a chance to record (SIGKILL, a lost node).
    /// Absent from older records, which were written at the end only.
    pub const IN_PROGRESS: &str = "inProgress";
    /// How many objects a run that failed or was stopped (its [`ERROR`]
    /// set) had evaluated by then; absent from other records and from
    /// older ones. The next run reads it: a run that evaluated objects
    /// and never reached the soak history leaves a gap there
    /// ([`crate::run::history::record_gap`]).
    pub const OBJECTS_EVALUATED: &str = "objectsEvaluated";
}

/// The ConfigMap polscan keeps `data` in (a run record, a soak history),
/// labelled as polscan's.
pub fn config_map(namespace: &str, name: &str, data: serde_json::Map<String, Value>) -> Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "polscan"},
        },
        "data": data,
    })
}

/// The ConfigMap shard `index` records its run in: `<name>-<index>`
/// (`polscan evidence` reads them back by it).
pub fn shard_record_name(name: &str, index: u32) -> String {
    format!("{name}-{index}")
}

/// Results by policy, rule and status.
pub type ResultsByRule = BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>;

/// Results by policy, rule and the kind (`Kind` or `group/Kind`) of the
/// object evaluated.
pub type KindsByRule = BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>;

/// Adds `from` (results by policy, rule and status or kind) into `into`.
pub fn add_by_rule(
    into: &mut BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>,
    from: &BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>,
) {
    for (policy, rules) in from {
        let into = into.entry(policy.clone()).or_default();
        for (rule, counts) in rules {
            let into = into.entry(rule.clone()).or_default();
            for (key, n) in counts {
                *into.entry(key.clone()).or_default() += n;
            }
        }
    }
}

/// Counts one result of `policy` (qualified name), `rule` and reported
/// `status`.
pub fn count(by_rule: &mut ResultsByRule, policy: String, rule: &str, status: RuleStatus) {
    let by_status = by_rule.entry(policy).or_default();
    let by_status = match by_status.get_mut(rule) {
        Some(found) => found,
        None => by_status.entry(rule.to_string()).or_default(),
    };
    match by_status.get_mut(status.as_str()) {
        Some(count) => *count += 1,
        None => {
            by_status.insert(status.as_str().to_string(), 1);
        }
    }
}

/// Counts one result of `policy` and `rule` on an object of `kind`
/// ([`kind_display_name`]).
pub fn count_kind(by_rule: &mut KindsByRule, policy: String, rule: &str, kind: String) {
    *by_rule
        .entry(policy)
        .or_default()
        .entry(rule.to_string())
        .or_default()
        .entry(kind)
        .or_default() += 1;
}

/// `Kind` or `group/Kind` of an apiVersion and kind, as `failedKinds` and
/// `objectsByKind` spell it.
pub fn kind_display_name(api_version: &str, kind: &str) -> String {
    match polscan_engine::kinds::group_of(api_version) {
        "" => kind.to_string(),
        group => format!("{group}/{kind}"),
    }
}

/// A policy or exception document as it judges: without the metadata the
/// server changes on its own and without `status` (Kyverno writes it),
/// none of which changes a result.
pub fn judging_content(document: &Value) -> Value {
    let mut value = document.clone();
    if let Some(Value::Object(metadata)) = value.get_mut("metadata") {
        for field in [
            "resourceVersion",
            "managedFields",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            metadata.remove(field);
        }
    }
    if let Value::Object(object) = &mut value {
        object.remove("status");
    }
    value
}

/// A run record counts objects per namespace
/// ([`keys::OBJECTS_IN_POLICY_NAMESPACES`]) for at most this many
/// namespaces holding namespaced policies.
pub const POLICY_NAMESPACES_KEPT: usize = 200;

/// At most this many load errors are kept in a run record.
pub const LOAD_ERRORS_KEPT: usize = 20;

/// A load error's message in a run record is cut at this many characters.
pub const LOAD_ERROR_CHARS: usize = 400;

/// The record's `loadErrors` value of `errors` (`Kind namespace/name` →
/// message): at most [`LOAD_ERRORS_KEPT`], bindings and PolicyExceptions
/// before policies (each key's kind ends in `Binding` or `Exception`), each
/// message cut at [`LOAD_ERROR_CHARS`] characters with `…`, as a JSON
/// object; None when there are none.
pub fn load_errors_value(errors: &BTreeMap<String, String>) -> Option<String> {
    let kept: serde_json::Map<String, Value> = kept_load_errors(errors)
        .map(|(what, message)| {
            let mut cut: String = message.chars().take(LOAD_ERROR_CHARS).collect();
            if cut.len() < message.len() {
                cut.push('…');
            }
            (what.clone(), Value::String(cut))
        })
        .collect();
    (!kept.is_empty()).then(|| Value::Object(kept).to_string())
}

/// The load errors a record keeps: at most [`LOAD_ERRORS_KEPT`], bindings
/// and PolicyExceptions first.
fn kept_load_errors(errors: &BTreeMap<String, String>) -> impl Iterator<Item = (&String, &String)> {
    // A binding or exception not loaded holds policies back and is named
    // in each one's reason; a policy not loaded is also in `invalidPolicies`.
    // So when the count is cut, the policies' messages are the ones to go.
    let beyond_policies = |what: &str| {
        let kind = what.split_once(' ').map_or(what, |(kind, _)| kind);
        kind.ends_with("Binding") || kind.ends_with("Exception")
    };
    let (first, then): (Vec<_>, Vec<_>) =
        errors.iter().partition(|(what, _)| beyond_policies(what));
    first.into_iter().chain(then).take(LOAD_ERRORS_KEPT)
}

/// The record's `loadErrorPolicies` value of `named` (`Kind
/// namespace/name` → the policies it names), kept to the entries
/// [`load_errors_value`] keeps (an entry cut leaves its error applying
/// to every policy: the safe side); None when there are none.
pub fn load_error_policies_value(
    errors: &BTreeMap<String, String>,
    named: &BTreeMap<String, Vec<String>>,
) -> Option<String> {
    let kept: serde_json::Map<String, Value> = kept_load_errors(errors)
        .filter_map(|(what, _)| {
            let names = named.get(what)?;
            Some((what.clone(), Value::from(names.clone())))
        })
        .collect();
    (!kept.is_empty()).then(|| Value::Object(kept).to_string())
}

/// Annotations that say who applied a document, not how it judges: they
/// differ between clusters (and `last-applied-configuration` holds the
/// action).
pub const APPLIER_ANNOTATIONS: [&str; 3] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "meta.helm.sh/",
    "toolkit.fluxcd.io/",
];

/// A policy document's [`judging_content`] without what differs between
/// environments and changes no result: the action
/// (`validationFailureAction`, a rule's `failureAction`, their overrides,
/// a ValidatingPolicy's `validationActions`), the labels, and the
/// annotations of whoever applied it ([`APPLIER_ANNOTATIONS`]). What the
/// rules digest (`rulesDigest`) and the soak digest are taken of.
pub fn rules_content(document: &Value) -> Value {
    let mut content = judging_content(document);
    if let Some(Value::Object(metadata)) = content.get_mut("metadata") {
        metadata.remove("labels");
        if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
            annotations.retain(|key, _| {
                !APPLIER_ANNOTATIONS.iter().any(|applier| {
                    key == applier || (applier.ends_with('/') && key.contains(applier))
                })
            });
        }
    }
    if let Some(Value::Object(spec)) = content.get_mut("spec") {
        for field in [
            "validationFailureAction",
            "validationFailureActionOverrides",
            "validationActions",
        ] {
            spec.remove(field);
        }
        if let Some(Value::Array(rules)) = spec.get_mut("rules") {
            for rule in rules {
                if let Some(Value::Object(validate)) = rule.get_mut("validate") {
                    for field in [
                        "failureAction",
                        "validationFailureAction",
                        "failureActionOverrides",
                    ] {
                        validate.remove(field);
                    }
                }
            }
        }
    }
    content
}

/// `value` with every object's keys sorted, recursively: the same content
/// in another key order is the same content (serde_json keeps a
/// document's key order), for digests and diffs of policies.
pub fn keys_sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, keys_sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(keys_sorted).collect()),
        other => other,
    }
}

/// Which document this is, across API versions:
/// `<group>/<kind>/<namespace>/<name>`. None without a kind or name.
pub fn document_key(document: &Value) -> Option<String> {
    let kind = document.str_at("/kind").filter(|k| !k.is_empty())?;
    let name = document
        .str_at("/metadata/name")
        .filter(|n| !n.is_empty())?;
    let group = polscan_engine::kinds::group_of(document.str_at("/apiVersion").unwrap_or(""));
    let namespace = document.str_at("/metadata/namespace").unwrap_or("");
    Some(format!("{group}/{kind}/{namespace}/{name}"))
}

/// A document's key and digest: what `polscan evidence` compares with
/// the run record's [`keys::INPUT_DIGESTS`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentDigest {
    /// `<group>/<kind>/<namespace>/<name>` ([`document_key`]).
    pub key: String,
    /// The SHA-256 (hex) of its [`judging_content`] ([`document_digest`]).
    pub digest: String,
}

impl DocumentDigest {
    /// None for a document without a kind or name.
    pub fn of(document: &Value) -> Option<DocumentDigest> {
        Some(DocumentDigest {
            key: document_key(document)?,
            digest: document_digest(document),
        })
    }
}

/// The SHA-256 (hex) of a document's [`judging_content`].
pub fn document_digest(document: &Value) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(&judging_content(document)).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

/// Whether a scan limited to `only` (all when empty) and leaving out
/// `excluded` covers `namespace` (`""`: cluster-scoped objects, which a
/// scan limited to namespaces does not list).
pub fn namespace_covered(only: &[String], excluded: &[String], namespace: &str) -> bool {
    if namespace.is_empty() {
        return only.is_empty();
    }
    (only.is_empty() || only.iter().any(|n| n == namespace))
        && !excluded.iter().any(|n| n == namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_errors_are_bounded_in_count_and_length() {
        assert_eq!(load_errors_value(&BTreeMap::new()), None);
        let errors: BTreeMap<String, String> = (0..30)
            .map(|i| {
                (
                    format!("Policy team/p{i:02}"),
                    "é".repeat(LOAD_ERROR_CHARS + 5),
                )
            })
            .collect();
        let text = load_errors_value(&errors).expect("some");
        let kept: BTreeMap<String, String> = serde_json::from_str(&text).expect("json");
        assert_eq!(kept.len(), LOAD_ERRORS_KEPT);
        let message = &kept["Policy team/p00"];
        assert_eq!(message.chars().count(), LOAD_ERROR_CHARS + 1);
        assert!(message.ends_with('…'));
        // An exception sorting after the policies by name is kept all the same.
        let mut with_exception = errors.clone();
        with_exception.insert(
            "PolicyException zz/bad".into(),
            "missing field `policyName`".into(),
        );
        let text = load_errors_value(&with_exception).expect("some");
        let kept: BTreeMap<String, String> = serde_json::from_str(&text).expect("json");
        assert_eq!(kept.len(), LOAD_ERRORS_KEPT);
        assert_eq!(
            kept.get("PolicyException zz/bad").map(String::as_str),
            Some("missing field `policyName`")
        );
        assert!(kept.contains_key("Policy team/p00"));
        let short = BTreeMap::from([("Policy a".to_string(), "short".to_string())]);
        assert_eq!(
            load_errors_value(&short).as_deref(),
            Some(r#"{"Policy a":"short"}"#)
        );
    }
}
