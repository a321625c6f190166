//! The scan behind the reports, as its last-run record says, and what it
//! covered: the `polscan-last-run` ConfigMap enters; a [`ScanRecord`]
//! leaves, with the questions the verdicts ask of it — which failed kinds,
//! policy sources and uncovered namespaces affect a policy, which of the
//! scan's gaps make it incomplete for that policy (the rollback check), and
//! whether the kinds a rule reaches were listed completely (with how many
//! objects).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::policy_info::{PolicyInfo, POLICY_DOCUMENT_KINDS};
use crate::error::EvidenceError;
use crate::run::exception_scope::ExceptionScope;
use crate::run::record_format::{keys, DocumentDigest};

/// The outcome of the scan the reports came from, as the
/// `polscan-last-run` ConfigMap records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanRecord {
    /// Where it was read (`namespace/name` of the ConfigMap, or a file).
    pub source: String,
    /// When the scan started (a sharded run's: the earliest shard's);
    /// None when the record does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    /// When the scan finished (a sharded run's: the latest shard's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
    /// Nothing in the scan failed: every kind listed, policy loaded and
    /// report written (a sharded run's: every shard's, and every shard's
    /// record there and of the one run).
    pub complete: bool,
    /// Kinds the scan could not list (`Kind` or `group/Kind`).
    #[serde(default)]
    pub failed_kinds: Vec<String>,
    /// Why the scan failed, when it did (a sharded run's: each failed
    /// shard's, as `shard I/N: error`, joined by `; `).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The scan was a dry run: it wrote no reports.
    #[serde(default)]
    pub dry_run: bool,
    /// Policy sources (`clusterpolicies.kyverno.io`) the scan could not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_policy_sources: Vec<String>,
    /// Qualified names of policies that failed to load in the scan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_policies: Vec<String>,
    /// How many of the cluster's PolicyExceptions the scan found but did
    /// not apply (`policyExceptionsNotApplied`); None from an older record.
    /// Only for the header's wording: not in evidence.json.
    #[serde(skip)]
    pub exceptions_not_applied: Option<usize>,
    /// Qualified names of the policies whose reach the scan's kind filters
    /// (or default: Secrets) left some kind out of, as the scan judged it
    /// — a wildcard by its API group (`policiesKindsLeftOut`); None from an
    /// older record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies_kinds_left_out: Option<Vec<String>>,
    /// Why each policy, binding or PolicyException that failed to load was
    /// refused, by `Kind namespace/name` (`Kind name` when cluster-scoped);
    /// empty from an older record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub load_errors: BTreeMap<String, String>,
    /// The policies each binding or PolicyException in `load_errors`
    /// names, where the scan could read them (`loadErrorPolicies`): its
    /// error touches those only. One not here may touch any policy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub load_error_policies: BTreeMap<String, Vec<String>>,
    /// Reports the scan could not write or delete.
    #[serde(default)]
    pub write_failed_reports: usize,
    /// Some policy could not be read or loaded: the reports carry older
    /// results of the missing policies over (which ones, the two lists
    /// above say when the scan filled them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub policies_incomplete: bool,
    /// The only namespaces the scan covered (`--namespace`); all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Namespaces the scan left out (`--exclude-namespaces`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_namespaces: Vec<String>,
    /// Objects listed per kind (`Kind` or `group/Kind`); None when the
    /// record does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_by_kind: Option<BTreeMap<String, usize>>,
    /// Objects in the scan's scope per namespace holding a namespaced
    /// policy, then per kind (`objectsInPolicyNamespaces`: a kind with
    /// none has no entry); None when the record does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_in_policy_namespaces: Option<BTreeMap<String, BTreeMap<String, usize>>>,
    /// Objects evaluated by at least one rule, per kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_evaluated_by_kind: Option<BTreeMap<String, usize>>,
    /// Results by policy, rule and status, as the scan counted them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_by_rule: Option<crate::run::record_format::ResultsByRule>,
    /// Results by policy, rule and the kind of the object evaluated; None
    /// from an older record (kinds not recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds_by_rule: Option<crate::run::record_format::KindsByRule>,
    /// Which PolicyExceptions the scan applied; None when the record does
    /// not say (an older polscan applied every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_exceptions: Option<ExceptionScope>,
    /// Kyverno's resourceFilters the scan applied: the ConfigMap and how
    /// many filters; None when it applied none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_filters: Option<ResourceFiltersApplied>,
    /// The exception namespace the scan applied does not exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exception_namespace_missing: bool,
    /// The policy kinds the scanned cluster does not serve (its
    /// discovery); empty in an older record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unserved_policy_kinds: Vec<String>,
    /// Whether the record notes the policy kinds the cluster serves (its
    /// `unservedPolicyKinds` key, written even when empty since verify40
    /// N5): an older record's empty list says nothing, and both say
    /// version 0.1.0.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub policy_kinds_recorded: bool,
    /// The content digest of each policy and exception document the scan
    /// loaded, by document key
    /// ([`crate::run::record_format::document_key`]); None from an older
    /// record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_digests: Option<BTreeMap<String, String>>,
    /// The options that shaped the scan, by flag
    /// (polscan's `scan::ScanOptions::settings`); None from an older record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BTreeMap<String, String>>,
    /// The shard (`I/N`) a sharded run's record is of, as read from one
    /// shard's ConfigMap; None for a whole-cluster scan and for the merged
    /// record of all shards ([`super::shards::merge_shards`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::run::shard::Shard>,
    /// The run id of a sharded run (`scan --run-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The start of a complete run of the same id whose record this one
    /// replaced (the id was given to two runs); None otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id_reused_from: Option<String>,
    /// The record is the one a scan writes before its first report write
    /// and replaces at its end: the scan did not finish (still running,
    /// or stopped without recording, e.g. by SIGKILL). Never complete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_progress: bool,
    /// Which shards of a sharded run this record covers; None for a
    /// whole-cluster scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<super::shard_coverage::ShardCoverage>,
}

impl ScanRecord {
    /// Whether a document changed after this scan read it, as far as the
    /// record tells. With the digest the scan recorded for it: exactly
    /// when `digest` ([`DocumentDigest::of`] the document now) differs
    /// (the server's change times do not move when an apply rewrites a
    /// field its manager already owned). Without one (an older record, a
    /// document the scan did not load): when its last change
    /// (`last_changed`) is not before the scan started, both in whole
    /// seconds, so that a change in the second the scan started counts.
    pub fn changed_since(
        &self,
        digest: Option<&DocumentDigest>,
        last_changed: Option<DateTime<Utc>>,
    ) -> bool {
        match self.read_as_is(digest) {
            Some(same) => !same,
            None => self.changed_after_start(last_changed),
        }
    }

    /// How a document changed since this scan read it, for a reason
    /// ("changed at … after the last scan started (…)", or, when only its
    /// content tells, "is not the one the last scan … read: …"); None when
    /// it did not ([`Self::changed_since`]).
    pub fn change_since(
        &self,
        digest: Option<&DocumentDigest>,
        last_changed: Option<DateTime<Utc>>,
    ) -> Option<String> {
        if !self.changed_since(digest, last_changed) {
            return None;
        }
        let conflicting = digest
            .and_then(|now| self.input_digests.as_ref()?.get(&now.key))
            .is_some_and(|recorded| recorded == super::shard_coverage::CONFLICTING_DIGEST);
        if conflicting {
            return Some(
                "was not read alike by every shard of the last run (changed while they ran, or loaded by some only: a --policy file or --no-cluster-policies given to some): no shard's results stand for all"
                    .into(),
            );
        }
        let when = |time: Option<DateTime<Utc>>| {
            time.map_or_else(|| "unknown".to_string(), |t| t.to_rfc3339())
        };
        Some(if self.changed_after_start(last_changed) {
            // Both times are whole seconds: in the same second, which came
            // first is not known, and the change is taken to be later
            // (walk80: "changed at T after the last scan started (T)").
            let same_second = matches!((last_changed, self.started),
                (Some(changed), Some(started)) if changed.timestamp() == started.timestamp());
            if same_second {
                format!(
                    "changed at {}, the second the last scan started: which came first is not known, so it is taken to have changed after",
                    when(last_changed)
                )
            } else {
                format!(
                    "changed at {} after the last scan started ({})",
                    when(last_changed),
                    when(self.started)
                )
            }
        } else if last_changed.is_none() {
            // A file (walk39 F8): a Git copy lacks the defaults the API
            // server filled into what the scan read, so it differs unchanged.
            format!(
                "is not the one the last scan (started {}) read: its content differs and it has no server change time, as a file has none — a Git copy differs by the defaults the API server fills in, so give the cluster's copy (`kubectl get <kind> <name> -o yaml`) if it did not change; if it did",
                when(self.started)
            )
        } else {
            format!(
                "is not the one the last scan (started {}) read: its content changed since, though the server's change time ({}) did not move",
                when(self.started),
                when(last_changed)
            )
        })
    }

    /// Whether `last_changed` is not before the scan started, both in whole
    /// seconds: a change in the second the scan started may have come after
    /// the scan read the document.
    fn changed_after_start(&self, last_changed: Option<DateTime<Utc>>) -> bool {
        match (last_changed, self.started) {
            (Some(changed), Some(started)) => changed.timestamp() >= started.timestamp(),
            _ => false,
        }
    }

    /// Whether the scan read the document with this digest: None when
    /// the record has no digest for it.
    pub fn read_as_is(&self, digest: Option<&DocumentDigest>) -> Option<bool> {
        let now = digest?;
        let recorded = self.input_digests.as_ref()?.get(&now.key)?;
        Some(*recorded == now.digest)
    }
}

/// Where the scan's Kyverno resourceFilters came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFiltersApplied {
    /// `namespace/name` of Kyverno's ConfigMap.
    pub source: String,
    /// How many filters it held.
    pub count: usize,
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
        let shard = text(keys::SHARD)
            .map(|t| {
                crate::run::shard::Shard::parse(t).map_err(|err| EvidenceError::Invalid {
                    what: source.to_string(),
                    message: format!("{}: {err}", keys::SHARD),
                })
            })
            .transpose()?;
        Ok(ScanRecord {
            shard,
            // One shard's record covers its own partition only.
            shards: shard.map(|s| super::shard_coverage::ShardCoverage {
                count: s.count,
                recorded: vec![s.index],
                gaps: Vec::new(),
                mismatched: Vec::new(),
                reused_run_id: Vec::new(),
            }),
            run_id: text(keys::RUN_ID).map(str::to_string),
            run_id_reused_from: text(keys::RUN_ID_REUSED).map(str::to_string),
            source: source.to_string(),
            started: time(keys::STARTED),
            finished: time(keys::FINISHED),
            // An in-progress record is never complete, whatever else it
            // says: its run's reports may mix with the previous run's.
            complete: text(keys::COMPLETE) == Some("true")
                && text(keys::IN_PROGRESS) != Some("true"),
            in_progress: text(keys::IN_PROGRESS) == Some("true"),
            failed_kinds: list(text(keys::FAILED_KINDS)),
            error: text(keys::ERROR).map(str::to_string),
            dry_run: text(keys::DRY_RUN) == Some("true"),
            failed_policy_sources: list(text(keys::FAILED_POLICY_SOURCES)),
            invalid_policies: list(text(keys::INVALID_POLICIES)),
            exceptions_not_applied: text(keys::EXCEPTIONS_NOT_APPLIED)
                .and_then(|count| count.parse().ok()),
            policies_kinds_left_out: text(keys::POLICIES_KINDS_LEFT_OUT)
                .map(|names| list(Some(names))),
            policies_incomplete: text(keys::POLICIES_INCOMPLETE) == Some("true"),
            namespaces: list(text(keys::NAMESPACES)),
            excluded_namespaces: list(text(keys::EXCLUDED_NAMESPACES)),
            write_failed_reports: match text(keys::WRITE_FAILED_REPORTS) {
                None => 0,
                Some(count) => count.parse().map_err(|_| EvidenceError::Invalid {
                    what: source.to_string(),
                    message: format!("{}: {count:?} is not a count", keys::WRITE_FAILED_REPORTS),
                })?,
            },
            objects_by_kind: json_key(text(keys::OBJECTS_BY_KIND), keys::OBJECTS_BY_KIND, source)?,
            objects_in_policy_namespaces: json_key(
                text(keys::OBJECTS_IN_POLICY_NAMESPACES),
                keys::OBJECTS_IN_POLICY_NAMESPACES,
                source,
            )?,
            objects_evaluated_by_kind: json_key(
                text(keys::OBJECTS_EVALUATED_BY_KIND),
                keys::OBJECTS_EVALUATED_BY_KIND,
                source,
            )?,
            results_by_rule: json_key(text(keys::RESULTS_BY_RULE), keys::RESULTS_BY_RULE, source)?,
            kinds_by_rule: json_key(text(keys::KINDS_BY_RULE), keys::KINDS_BY_RULE, source)?,
            exception_namespace_missing: text(keys::EXCEPTION_NAMESPACE_MISSING) == Some("true"),
            policy_kinds_recorded: text(keys::UNSERVED_POLICY_KINDS).is_some(),
            unserved_policy_kinds: text(keys::UNSERVED_POLICY_KINDS)
                .map(|kinds| {
                    kinds
                        .split(',')
                        .map(str::trim)
                        .filter(|kind| !kind.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            input_digests: json_key(text(keys::INPUT_DIGESTS), keys::INPUT_DIGESTS, source)?,
            settings: json_key(text(keys::SETTINGS), keys::SETTINGS, source)?,
            load_errors: json_key(text(keys::LOAD_ERRORS), keys::LOAD_ERRORS, source)?
                .unwrap_or_default(),
            load_error_policies: json_key(
                text(keys::LOAD_ERROR_POLICIES),
                keys::LOAD_ERROR_POLICIES,
                source,
            )?
            .unwrap_or_default(),
            resource_filters: text(keys::RESOURCE_FILTERS_FROM).map(|from| {
                ResourceFiltersApplied {
                    source: from.to_string(),
                    count: text(keys::RESOURCE_FILTERS)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                }
            }),
            policy_exceptions: match text(keys::POLICY_EXCEPTIONS) {
                None => None,
                Some(applied) => Some(
                    ExceptionScope::from_record(applied, text(keys::EXCEPTION_NAMESPACE))
                        .ok_or_else(|| EvidenceError::Invalid {
                            what: source.to_string(),
                            message: format!(
                                "{}: {applied:?} is not disabled, namespace (with {}) or given",
                                keys::POLICY_EXCEPTIONS,
                                keys::EXCEPTION_NAMESPACE
                            ),
                        })?,
                ),
            },
        })
    }

    /// The kinds the scan listed, with their object counts; None for a
    /// record that lists no kinds because it is of an audit of files
    /// (`apply --run-record`). A cluster scan that listed no kind at all
    /// gives an empty map, so every kind counts as not listed: its
    /// reports are whatever an earlier scan left.
    pub(crate) fn listed_kinds(&self) -> Option<&BTreeMap<String, usize>> {
        let listed = self.objects_by_kind.as_ref()?;
        let of_files = match &self.policy_exceptions {
            Some(scope) => *scope == ExceptionScope::Given,
            // An older record does not say what it is of: an empty list
            // is read as an audit of files, as before.
            None => listed.is_empty(),
        };
        (!of_files).then_some(listed)
    }

    /// Why the scan was incomplete, one phrase per cause the record names
    /// (policies that did not load, kinds not listed, …), for the
    /// package's header; empty when it was complete or names no cause.
    pub fn incomplete_because(&self) -> Vec<String> {
        if self.complete {
            return Vec::new();
        }
        let mut causes = Vec::new();
        if self.in_progress {
            causes.push(self.not_finished_statement());
        }
        let mut named = |what: &str, names: &[String]| {
            if !names.is_empty() {
                causes.push(format!("{what}: {}", names.join(", ")));
            }
        };
        named("policies that did not load", &self.invalid_policies);
        named("policy kinds not read", &self.failed_policy_sources);
        named("kinds not listed completely", &self.failed_kinds);
        if self.write_failed_reports > 0 {
            causes.push(format!(
                "{} report(s) not written or deleted",
                self.write_failed_reports
            ));
        }
        if let Some(error) = &self.error {
            causes.push(format!("error: {error}"));
        }
        if let Some(missing) = self.shards.as_ref().and_then(|s| s.missing_statement()) {
            causes.push(format!("not scanned: {missing}"));
        }
        if let Some(mismatch) = self.shards.as_ref().and_then(|s| s.mismatch_statement()) {
            causes.push(mismatch);
        }
        causes
    }

    /// Where the record is, and the report API the scan wrote to when it
    /// says (`polscan-system/polscan-last-run; reports written to
    /// wgpolicyk8s.io/v1alpha2`), for the package's header.
    pub fn recorded_where(&self) -> String {
        match self
            .settings
            .as_ref()
            .and_then(|settings| settings.get("--report-api"))
        {
            Some(api) => format!("{}; reports written to {api}", self.source),
            None => self.source.clone(),
        }
    }

    /// What the scan was limited to on purpose (`--namespace`,
    /// `--exclude-namespaces`), one phrase each, for the package's header:
    /// a complete scan of part of the cluster is still part of it.
    pub fn scope_limits(&self) -> Vec<String> {
        let mut limits = Vec::new();
        if !self.namespaces.is_empty() {
            limits.push(format!(
                "only namespace(s) {} (--namespace; no cluster-scoped objects)",
                self.namespaces.join(", ")
            ));
        }
        if !self.excluded_namespaces.is_empty() {
            limits.push(format!(
                "namespace(s) {} left out (--exclude-namespaces)",
                self.excluded_namespaces.join(", ")
            ));
        }
        limits
    }

    /// Whether anything the record names accounts for the scan being
    /// incomplete (else the cause is unknown to the evidence).
    pub(crate) fn gaps_named(&self) -> bool {
        self.in_progress
            || !self.failed_kinds.is_empty()
            || self.policies_incomplete
            || !self.failed_policy_sources.is_empty()
            || !self.invalid_policies.is_empty()
            || self.write_failed_reports > 0
            || self.shards_missing()
            || self
                .shards
                .as_ref()
                .is_some_and(|s| s.mismatch_statement().is_some())
    }

    /// What an in-progress record says: the scan did not finish.
    pub(crate) fn not_finished_statement(&self) -> String {
        let since = self.started.map_or_else(
            || "an unrecorded time".to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        format!("the last scan did not finish (in progress since {since}, or killed)")
    }

    /// Some shard of a sharded run has no record of it.
    fn shards_missing(&self) -> bool {
        self.shards
            .as_ref()
            .is_some_and(|shards| !shards.missing().is_empty())
    }
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
pub(crate) fn reached_kinds(kinds: &[String]) -> BTreeSet<&str> {
    let mut reached: BTreeSet<&str> = kinds.iter().map(String::as_str).collect();
    if reached.contains("Pod") {
        reached.extend(AUTOGEN_KINDS);
    }
    reached
}

pub(crate) fn failed_kinds_matched(info: &PolicyInfo, failed: &[String]) -> Vec<String> {
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
pub(crate) fn policy_source_of(kind: &str) -> Option<&'static str> {
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
pub(crate) fn failed_sources_affecting(info: &PolicyInfo, failed: &[String]) -> Vec<String> {
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
/// its kinds listed completely with 0 objects, or, for a namespaced
/// policy's rule (`namespace`), with none in that namespace), the
/// statement saying so.
pub(crate) fn nothing_in_scope(
    kinds: &[String],
    scan: &ScanRecord,
    namespace: Option<&str>,
) -> Option<String> {
    // A shard without a record of the run did not count its objects.
    if scan.shards_missing() {
        return None;
    }
    let listed = scan.objects_by_kind.as_ref()?;
    let reached = reached_kinds(kinds);
    if reached.is_empty() || reached.contains("*") {
        return None;
    }
    // Objects of the namespace, when the scan covered it and counted them
    // (walk32 F7: a team's new, empty namespace was "no evidence" forever).
    let in_namespace = namespace.and_then(|namespace| {
        let counted = scan.objects_in_policy_namespaces.as_ref()?.get(namespace)?;
        scan.covered_namespace(namespace)
            .then_some((namespace, counted))
    });
    let mut names = Vec::new();
    let mut cluster_wide = true;
    for kind in &reached {
        let of_kind = |name: &String| name.rsplit('/').next() == Some(*kind);
        let entries: Vec<(&String, &usize)> =
            listed.iter().filter(|(name, _)| of_kind(name)).collect();
        let failed = scan
            .failed_kinds
            .iter()
            .any(|f| f.rsplit('/').next() == Some(*kind));
        if entries.is_empty() || failed {
            return None;
        }
        if entries.iter().any(|(_, n)| **n > 0) {
            let (_, counted) = in_namespace?;
            if counted.iter().any(|(name, n)| of_kind(name) && *n > 0) {
                return None;
            }
            cluster_wide = false;
        }
        names.extend(entries.into_iter().map(|(name, _)| name.clone()));
    }
    let place = match (cluster_wide, in_namespace) {
        (false, Some((namespace, _))) => format!(" in namespace {namespace}"),
        _ => String::new(),
    };
    Some(format!(
        "no resource in scope exists: {} listed completely with 0 objects{place}",
        names.join(", ")
    ))
}

/// Kinds a rule names that a cluster scan did not list; None when all were
/// listed, or the record is of an audit of files.
/// `*` (every kind) counts as unlisted when the scan's kind filters
/// (`--include-kinds`, `--exclude-kinds`) left some out.
pub(crate) fn unlisted_kinds(kinds: &[String], scan: &ScanRecord) -> Option<Vec<String>> {
    let listed = scan.listed_kinds()?;
    let filtered = scan.settings.as_ref().is_some_and(|settings| {
        ["--include-kinds", "--exclude-kinds"]
            .iter()
            .any(|key| settings.get(*key).is_some_and(|v| !v.trim().is_empty()))
    });
    let unlisted: Vec<String> = kinds
        .iter()
        .filter(|kind| *kind != "*" || filtered)
        .filter(|kind| {
            // Kinds of CEL policies are guessed from plurals (`clusterissuers`
            // → `Clusterissuer`): compared without case.
            !listed.keys().any(|name| {
                name.rsplit('/')
                    .next()
                    .is_some_and(|listed| listed.eq_ignore_ascii_case(kind))
            })
        })
        .cloned()
        .collect();
    (!unlisted.is_empty()).then_some(unlisted)
}

/// Kinds (a policy's, its autogen rules' included) the last cluster scan
/// did not list because its own
/// filters left them out — not in `--include-kinds`, in `--exclude-kinds`,
/// or a core Secret, which a scan lists only when `--include-kinds` names
/// it — each with the filter, as `Pod (not in --include-kinds ConfigMap)`.
/// A kind the cluster does not serve is not among them: nothing there is
/// enforced. Empty for an older record (no settings) or an audit of files.
pub(crate) fn left_out_kinds(kinds: &[String], scan: &ScanRecord) -> Vec<String> {
    let (Some(settings), Some(unlisted)) = (&scan.settings, unlisted_kinds(kinds, scan)) else {
        return Vec::new();
    };
    let names = |key: &str| -> Vec<String> {
        settings
            .get(key)
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let included = names("--include-kinds");
    let excluded = names("--exclude-kinds");
    // `group/Kind` or `Kind`, compared by kind without case: a rule's kind
    // is known here without its group.
    let names_kind = |list: &[String], kind: &str| {
        list.iter().any(|name| {
            name.rsplit('/')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(kind))
        })
    };
    unlisted
        .into_iter()
        .filter_map(|kind| {
            if kind == "*" {
                // Every kind: the filters' gaps.
                return Some(if included.is_empty() {
                    format!("* (every kind; {} in --exclude-kinds)", excluded.join(","))
                } else {
                    format!("* (every kind; only {} in --include-kinds)", included.join(","))
                });
            }
            if !included.is_empty() && !names_kind(&included, &kind) {
                Some(format!(
                    "{kind} (not in --include-kinds {})",
                    included.join(",")
                ))
            } else if names_kind(&excluded, &kind) {
                Some(format!("{kind} (in --exclude-kinds)"))
            } else if kind == "Secret" && !names_kind(&included, &kind) {
                Some(format!(
                    "{kind} (listed only by a scan naming it in --include-kinds, whose own record --scan-record reads)"
                ))
            } else {
                None
            }
        })
        .collect()
}

/// [`left_out_kinds`]' phrases as one, the kinds of each filter together,
/// after it: `kind(s) not in --include-kinds ConfigMap: Pod, DaemonSet`.
pub(crate) fn kinds_phrase(left_out: &[String]) -> String {
    let mut by_filter: Vec<(&str, Vec<&str>)> = Vec::new();
    for gap in left_out {
        let (kind, filter) = gap.split_once(' ').unwrap_or((gap.as_str(), ""));
        match by_filter.iter_mut().find(|(f, _)| *f == filter) {
            Some((_, kinds)) => kinds.push(kind),
            None => by_filter.push((filter, vec![kind])),
        }
    }
    // The filter first: a decision's reason is cut to a line, and the
    // filter is what to change (verify29 V7).
    let parts: Vec<String> = by_filter
        .into_iter()
        .map(|(filter, kinds)| {
            let filter = filter.trim_start_matches('(').trim_end_matches(')');
            if filter.is_empty() {
                kinds.join(", ")
            } else {
                format!("{filter}: {}", kinds.join(", "))
            }
        })
        .collect();
    format!("kind(s) {}", parts.join("; "))
}

/// Objects of the kinds a rule reaches that the scan listed, and of those
/// how many some rule evaluated; None when the record does not say.
pub(crate) fn listed_in_scope(kinds: &[String], scan: &ScanRecord) -> Option<(usize, usize)> {
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

impl ScanRecord {
    /// Why the scan refused to load `info` (the loader's message), when
    /// the record says.
    pub(crate) fn load_error_of(&self, info: &PolicyInfo) -> Option<&str> {
        self.load_errors
            .get(&format!("{} {}", info.kind, info.qualified_name()))
            .map(String::as_str)
    }

    /// The documents other than policies the scan could not load (a
    /// binding, a PolicyException) that may change `info`'s results — those
    /// naming it, and those whose policies the record does not name — each
    /// as `Kind namespace/name: message`: `info` was not covered
    /// completely. Empty when none, or the record does not say.
    pub fn load_errors_affecting(&self, info: &PolicyInfo) -> Vec<String> {
        let name = info.qualified_name();
        self.load_errors_beyond_policies_where(|what| {
            self.load_error_policies
                .get(what)
                .is_none_or(|named| named.contains(&name))
        })
    }

    /// Bindings and PolicyExceptions that failed to load, as
    /// `Kind namespace/name: message`, whatever policies they name.
    pub fn load_errors_beyond_policies(&self) -> Vec<String> {
        self.load_errors_beyond_policies_where(|_| true)
    }

    fn load_errors_beyond_policies_where(&self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        self.load_errors
            .iter()
            .filter(|(what, _)| {
                let name = what.split_once(' ').map_or(what.as_str(), |(_, name)| name);
                !self.invalid_policies.iter().any(|p| p == name) && keep(what)
            })
            .map(|(what, message)| format!("{what}: {message}"))
            .collect()
    }

    /// The scan could not read `info`'s own kind or could not load it: its
    /// results are missing or older ones carried over.
    pub(crate) fn policy_unread(&self, info: &PolicyInfo) -> bool {
        self.invalid_policies
            .iter()
            .any(|p| *p == info.qualified_name())
            || policy_source_of(&info.kind)
                .is_some_and(|own| self.failed_policy_sources.iter().any(|s| s == own))
            || self.missing_policies_unnamed()
    }

    /// What of this scan's incompleteness can affect `info`'s results: the
    /// scan's failure, the policy itself invalid or unread, a failed list
    /// of a kind it reaches, failed report writes (reports do not say
    /// whose), or a gap the record does not name. Empty when none.
    pub(crate) fn incomplete_for(&self, info: &PolicyInfo) -> Vec<String> {
        let mut gaps = Vec::new();
        if self.in_progress {
            gaps.push(self.not_finished_statement());
        }
        if let Some(error) = &self.error {
            gaps.push(format!("the scan failed: {error}"));
        }
        if self
            .invalid_policies
            .iter()
            .any(|p| *p == info.qualified_name())
        {
            gaps.push(match self.load_error_of(info) {
                Some(error) => format!("the scan could not load this policy (invalid: {error})"),
                None => "the scan could not load this policy (invalid)".into(),
            });
        }
        let sources = failed_sources_affecting(info, &self.failed_policy_sources);
        if !sources.is_empty() {
            gaps.push(format!("policy sources not read: {}", sources.join(", ")));
        }
        if self.missing_policies_unnamed() {
            gaps.push(
                "some policy could not be read or loaded (the record does not say which)".into(),
            );
        }
        let failed = failed_kinds_matched(info, &self.failed_kinds);
        if !failed.is_empty() {
            gaps.push(format!("failed kinds: {}", failed.join(", ")));
        }
        if self.write_failed_reports > 0 {
            gaps.push(format!(
                "{} report(s) not written",
                self.write_failed_reports
            ));
        }
        if !self.complete && self.error.is_none() && !self.gaps_named() {
            gaps.push("incomplete (the record does not say why)".into());
        }
        gaps
    }

    /// Some policy was missing from the scan but the record does not name
    /// it: any policy's results may be older ones carried over.
    pub(crate) fn missing_policies_unnamed(&self) -> bool {
        self.policies_incomplete
            && self.failed_policy_sources.is_empty()
            && self.invalid_policies.is_empty()
            && self.load_errors_beyond_policies().is_empty()
    }
}

/// What the record of a scan that did not finish says of the
/// PolicyExceptions it applied: nothing yet.
pub(crate) const UNFINISHED_EXCEPTIONS: &str =
    "the last scan did not finish (its in-progress record lists no PolicyExceptions yet)";

impl ScanRecord {
    /// Why a record without the PolicyExceptions applied is silent, when
    /// its scan did not finish: the in-progress marker lists none yet, and
    /// a failed scan's record of a polscan that did not keep them there
    /// left them out. None for a finished scan's record (an older polscan's,
    /// which applied every one).
    pub(crate) fn unfinished_exceptions(&self) -> Option<String> {
        if self.in_progress {
            return Some(UNFINISHED_EXCEPTIONS.into());
        }
        self.error.as_ref().map(|error| {
            format!("the last scan did not finish ({error}) and its record does not say which PolicyExceptions it applied")
        })
    }

    /// The evidence's statement of which PolicyExceptions the results
    /// assume.
    pub fn exceptions_statement(&self) -> String {
        match &self.policy_exceptions {
            Some(scope @ ExceptionScope::Namespace { namespace }) if self.exception_namespace_missing => format!(
                "{}; but namespace {namespace} does not exist in the cluster (a typo, or create it before applying the generated PolicyExceptions, which go there)",
                scope.statement()
            ),
            // None held back, and every policy source read: there were
            // none to apply (walk39 F4: the bold "not applied" header read
            // as something skipped).
            Some(ExceptionScope::Disabled)
                if self.exceptions_not_applied == Some(0)
                    && self.failed_policy_sources.is_empty() =>
            {
                "PolicyExceptions: the scan found none in the cluster (none would be applied either: Kyverno ignores them unless started with --enablePolicyException and --exceptionNamespace)".into()
            }
            Some(scope) => scope.statement(),
            // The marker a scan writes before its first report write, or
            // the record of a scan that failed: no field of it says "an
            // older polscan".
            None => match self.unfinished_exceptions() {
                Some(why) => format!("PolicyExceptions: {why}"),
                None => "PolicyExceptions: the scan record does not say which were applied (an older polscan applied every one, which Kyverno does only when started with --enablePolicyException --exceptionNamespace='*')".into(),
            },
        }
    }

    /// Whether the scan covered `namespace` (`""`: cluster-scoped objects,
    /// which a scan restricted to namespaces does not list).
    pub fn covered_namespace(&self, namespace: &str) -> bool {
        crate::run::record_format::namespace_covered(
            &self.namespaces,
            &self.excluded_namespaces,
            namespace,
        ) && self
            .shards
            .as_ref()
            .is_none_or(|shards| shards.covers_namespace(namespace))
    }

    /// Whether this scan left out, for `info`, namespaces `previous`
    /// covered: its own namespace for a namespaced policy; for a
    /// cluster-wide one, a narrower `--namespace` list or a namespace newly
    /// excluded. The same exclusions in both scans are no narrowing.
    pub(crate) fn covers_less_than(&self, previous: &ScanRecord, info: &PolicyInfo) -> bool {
        if let Some(own) = &info.namespace {
            return previous.covered_namespace(own) && !self.covered_namespace(own);
        }
        if let Some(confined) = &info.match_namespaces {
            return confined.iter().any(|namespace| {
                previous.covered_namespace(namespace) && !self.covered_namespace(namespace)
            });
        }
        let narrower_list = !self.namespaces.is_empty()
            && (previous.namespaces.is_empty()
                || previous
                    .namespaces
                    .iter()
                    .any(|n| !self.namespaces.contains(n) && previous.covered_namespace(n)));
        let newly_excluded = self
            .excluded_namespaces
            .iter()
            .any(|n| previous.covered_namespace(n));
        // Shards of this run without a record, where the previous run
        // had all of its own.
        let lost_shards = self.shards_missing() && !previous.shards_missing();
        narrower_list || newly_excluded || lost_shards
    }

    /// `kinds` of `info` to check against what this scan listed: all but
    /// `*` (every kind) where the scan judged its filters left nothing of
    /// the policy's reach out — a wildcard by its API group, which `*` here
    /// has lost (verify45 F3: a ValidatingPolicy on every core kind was
    /// never ready, even after a scan that named every core kind).
    pub(crate) fn kinds_to_check(&self, info: &PolicyInfo, kinds: &[String]) -> Vec<String> {
        let judged_whole = self
            .policies_kinds_left_out
            .as_ref()
            .is_some_and(|left_out| !left_out.contains(&info.qualified_name()));
        kinds
            .iter()
            .filter(|kind| !(judged_whole && *kind == "*"))
            .cloned()
            .collect()
    }

    /// What this scan's own filters left out of `info`'s reach: the
    /// namespaces ([`Self::uncovered_namespaces`]) and the kinds
    /// ([`left_out_kinds`]), one phrase each, read after "did not cover".
    pub(crate) fn left_out_for(&self, info: &PolicyInfo, kinds: &[String]) -> Vec<String> {
        let mut gaps: Vec<String> = self.uncovered_namespaces(info).into_iter().collect();
        let kinds = left_out_kinds(&self.kinds_to_check(info, kinds), self);
        if !kinds.is_empty() {
            gaps.push(kinds_phrase(&kinds));
        }
        gaps
    }

    /// Kinds of `info` this scan's filters left out that `previous` listed
    /// (by kind name), phrased as [`Self::left_out_for`]'s; None when none.
    pub(crate) fn kinds_narrowed_from(
        &self,
        previous: &ScanRecord,
        kinds: &[String],
    ) -> Option<String> {
        // Left out now, and listed by the previous scan (a kind it did not
        // list either, filtered or not served, is no narrowing).
        let narrowed: Vec<String> = left_out_kinds(kinds, self)
            .into_iter()
            .filter(|gap| {
                gap.split(' ').next().is_some_and(|kind| {
                    previous.listed_kinds().is_some()
                        && unlisted_kinds(&[kind.to_string()], previous).is_none()
                })
            })
            .collect();
        (!narrowed.is_empty()).then(|| kinds_phrase(&narrowed))
    }

    /// Namespaces the scan did not cover where Kyverno enforces `info`: all
    /// namespaces for a cluster-wide policy (those its match confines it
    /// to, [`PolicyInfo::match_namespaces`]), its own for a namespaced one.
    pub(crate) fn uncovered_namespaces(&self, info: &PolicyInfo) -> Option<String> {
        if let Some(own) = &info.namespace {
            return (!self.covered_namespace(own)).then(|| format!("namespace {own}"));
        }
        // A match confined to some namespaces: only those (walk32 F4).
        if let Some(confined) = &info.match_namespaces {
            let missing: Vec<&str> = confined
                .iter()
                .filter(|namespace| !self.covered_namespace(namespace))
                .map(String::as_str)
                .collect();
            return (!missing.is_empty()).then(|| format!("namespace(s) {}", missing.join(", ")));
        }
        let mut gaps = Vec::new();
        if !self.namespaces.is_empty() {
            // Read after "did not cover": the rest, not all but these.
            let only = self.namespaces.join(", ");
            gaps.push(format!(
                "the namespaces other than {only} (it scanned only {only}, with --namespace)"
            ));
        }
        if !self.excluded_namespaces.is_empty() {
            gaps.push(format!(
                "namespace(s) {} (left out with --exclude-namespaces)",
                self.excluded_namespaces.join(", ")
            ));
        }
        if let Some(missing) = self.shards.as_ref().and_then(|s| s.missing_statement()) {
            gaps.push(missing);
        }
        (!gaps.is_empty()).then(|| gaps.join(" and "))
    }
}
