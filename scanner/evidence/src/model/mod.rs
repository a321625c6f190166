//! The evidence that leaves: an [`Evidence`] (evidence.json; its serde
//! shape is docs/evidence.schema.json's, [`SCHEMA_VERSION`]), built by
//! [`crate::verdict::build`] and read back from a previous package. It
//! holds the cluster's identity and the scan record as they entered
//! ([`crate::ingest`]), per policy its verdict ([`PolicyEvidence`], in
//! `policy.rs`), the exceptions ([`crate::exceptions`]) and a comparison
//! with a previous package ([`Comparison`], in `comparison.rs`), the
//! environment and its fail-closed [`Baseline`] (`baseline.rs`), the
//! decision per policy ([`PolicyDecision`], in `decision.rs`), the
//! owner labels violations were routed to teams by ([`OwnerRouting`],
//! `routing.rs`, which also groups a policy's violators by team); and it
//! answers what the pages and the comparison ask of it (the scope a
//! package rests on, why a violation gone from the reports is no proof of
//! a fix). [`merged`] holds the shape of several environments' packages
//! merged into one decision (merged.json).

mod baseline;
mod comparison;
mod decision;
pub mod merged;
mod policy;
mod routing;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use baseline::{Baseline, BaselineBreach, PRODUCTION};
pub use comparison::{
    Comparison, ComparisonCount, ConditionCheck, ExceptionScopeChange, ReadinessCheck,
    RollbackCheck, RuleChange, RuleChangeStatus, ViolationChange,
};
pub use decision::{
    applies_patches, breaches as decision_breaches, from_anywhere, summary as decision_summary,
    Decision, PolicyDecision, PATCHES_FROM_ANYWHERE,
};
pub use policy::{
    CountedFrom, Counts, OwnerGroup, PolicyEvidence, RuleCoverage, RuleEvidence, Soak, SoakStatus,
    Verdict, Violation, PROMOTE,
};
pub use routing::{OwnerRouting, TeamCount, TeamGroup};

use crate::exceptions::generated::GeneratedException;
use crate::exceptions::ExceptionEvidence;
use crate::ingest::record::{failed_sources_affecting, ScanRecord};
use crate::ingest::results::Interner;
use crate::ingest::{covers_namespace, ClusterIdentity, ObjectName};

/// `schemaVersion` of evidence.json; docs/evidence.schema.json describes it.
pub const SCHEMA_VERSION: &str = "polscan.io/evidence/v1";

/// evidence.json: the go/no-go evidence of one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// `schemaVersion`: [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// `generated`: when the package was made.
    pub generated: DateTime<Utc>,
    /// `polscanVersion`: the version of polscan that built it.
    pub polscan_version: String,
    /// `cluster`: which cluster the evidence is about.
    pub cluster: ClusterIdentity,
    /// `scan`: the scan the reports came from, as its last-run record
    /// says; None without a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanRecord>,
    /// `environment`: the environment the cluster serves, as given
    /// (`--environment`); None without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `baseline`: in production, the policies of a baseline severity
    /// that do not enforce; None elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// `expiryWindowDays`: an exception expiring within this many days is
    /// `expiring` (`--expiry-window`, in whole days).
    pub expiry_window_days: i64,
    /// The namespaces results were kept for (`--namespace`); all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The policies kept (`--policy`); all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_filter: Vec<String>,
    /// `ownerRouting`: the owner-label keys violations were routed to
    /// teams by, and whether labels were read; None in a package of an
    /// older polscan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_routing: Option<OwnerRouting>,
    /// `soakRule`: the soak rule the verdicts were judged by
    /// (`--min-soak`, `--min-scans`); None when it was off (`--min-soak
    /// 0`) or in a package of an older polscan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_rule: Option<SoakRule>,
    /// `policies`: per policy its verdict and the evidence behind it.
    pub policies: Vec<PolicyEvidence>,
    /// `exceptions`: the PolicyExceptions and `polscan.io/exception`
    /// annotations found, with their status.
    pub exceptions: Vec<ExceptionEvidence>,
    /// Kyverno PolicyExceptions generated from `polscan.io/exception`
    /// annotations that excuse violations, one file each in the package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generated_exceptions: Vec<GeneratedException>,
    /// `comparison`: against the package given with `--since`; None
    /// without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// `decisions`: per policy what to do now — GO, NO-GO, WAIT, or once
    /// enforced its rollback status — in the pages' order
    /// ([`crate::verdict::decision::decide`]).
    #[serde(default)]
    pub decisions: Vec<PolicyDecision>,
}

/// The soak rule of a package: a policy is ready once clean this long over
/// this many complete scans (walk58 W58-2: a GO judged by `--min-soak 30s`
/// read like one judged by the default 7d).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoakRule {
    /// `minSoakSeconds`: how long, in seconds (`--min-soak`).
    pub min_soak_seconds: i64,
    /// `minScans`: over at least this many complete, clean scans
    /// (`--min-scans`).
    pub min_scans: u32,
}

/// The `--min-soak` default: a week clean, as the rollout asks.
pub const DEFAULT_MIN_SOAK_SECONDS: i64 = 7 * 86_400;

impl Evidence {
    /// Holds each text of the violations once, as [`crate::build`] does: read
    /// back from evidence.json, every violation has its own copies.
    pub fn share_text(&mut self) {
        let mut shared = Interner::default();
        for policy in &mut self.policies {
            for violation in policy.violations.iter_mut().chain(&mut policy.excused) {
                violation.share(&mut shared);
            }
        }
    }

    /// What the package's view rests on, for its header: the namespace
    /// filter, and which PolicyExceptions the results assume.
    pub fn scope_statements(&self) -> Vec<String> {
        let mut statements = Vec::new();
        if !self.namespaces.is_empty() {
            statements.push(format!(
                "Filtered view: only results in namespace(s) {} (evidence --namespace); a policy that applies beyond them is not ready here",
                self.namespaces.join(", ")
            ));
        }
        // Said where the decisions are read, not only per policy (walk34:
        // a GO without the soak the rollout asks for looked like any GO).
        let soak_off = self.policies.iter().any(|policy| {
            policy
                .soak
                .as_ref()
                .is_some_and(|soak| soak.status == crate::model::SoakStatus::Off)
        });
        if soak_off {
            statements.push(
                "Soak rule off (--min-soak 0): a GO here rests on the last scan alone, not on a clean soak".into(),
            );
        } else if let Some(rule) = self.soak_rule.as_ref().filter(|rule| {
            rule.min_soak_seconds > 0 && rule.min_soak_seconds < DEFAULT_MIN_SOAK_SECONDS
        }) {
            statements.push(format!(
                "Soak rule shortened (--min-soak {}, over at least {} scan(s)): a GO here rests on that, not on the week clean the default (7d) asks",
                crate::verdict::soak::duration_text(chrono::Duration::seconds(rule.min_soak_seconds)),
                rule.min_scans
            ));
        }
        if let Some(scan) = &self.scan {
            statements.push(scan.exceptions_statement());
            if let Some(filters) = &scan.resource_filters {
                statements.push(format!(
                    "Kyverno's resourceFilters applied ({} filter(s) from ConfigMap {}, scan --kyverno-config): resources Kyverno's admission leaves alone have no result of a Kyverno policy, as in the reports of a Kyverno reports controller started with --skipResourceFilters=false; ValidatingAdmissionPolicies are evaluated on them all the same (the API server enforces those)",
                    filters.count, filters.source
                ));
            }
        }
        statements
    }

    /// The policies whose verdict is [`Verdict::Ready`], in order.
    pub fn ready(&self) -> impl Iterator<Item = &PolicyEvidence> {
        self.policies.iter().filter(|p| p.verdict == Verdict::Ready)
    }

    /// Why a violation of `policy` on `resource` that the current reports
    /// no longer hold cannot count as fixed: this evidence left its
    /// namespace out, or the scan behind the reports missed its kind, its
    /// policy, or some reports. None when the absence is evidence.
    pub fn absence_gap(&self, policy: &str, resource: &ObjectName) -> Option<String> {
        if !covers_namespace(&self.namespaces, &resource.namespace) {
            return Some(format!(
                "namespace {} is not in this package (--namespace)",
                resource.namespace
            ));
        }
        let kind = resource.kind.as_str();
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
        // Read by earlier scans, not by the last one (walk74 W74-3: a
        // --policy file left out of one scan read as "it left the
        // policy's scope").
        let unread = current.info.digest.as_ref().is_some_and(|digest| {
            scan.input_digests
                .as_ref()
                .is_some_and(|read| !read.contains_key(&digest.key))
        });
        if unread {
            return Some(
                "the last scan did not read the policy (it was not in the cluster, nor given to that scan with --policy): scan again with it"
                    .into(),
            );
        }
        let sources = failed_sources_affecting(&current.info, &scan.failed_policy_sources);
        if !sources.is_empty() {
            return Some(format!(
                "the last scan could not read {}",
                sources.join(", ")
            ));
        }
        if scan.missing_policies_unnamed() {
            return Some("the last scan could not read or load some policy".into());
        }
        if let Some(shards) = scan.shards.as_ref() {
            if let Some(mismatch) = shards.mismatch_statement() {
                return Some(mismatch);
            }
            if !shards.covers_namespace(&resource.namespace) {
                return Some(format!(
                    "the last run did not scan {}",
                    shards
                        .missing_statement()
                        .unwrap_or_else(|| "every shard".into())
                ));
            }
        }
        if !scan.covered_namespace(&resource.namespace) {
            return Some(if resource.namespace.is_empty() {
                "the last scan was restricted to namespaces: cluster-scoped objects were not listed"
                    .into()
            } else {
                format!(
                    "the last scan did not cover namespace {}",
                    resource.namespace
                )
            });
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
        // A cluster scan that did not list this kind left its reports as
        // they were. (A record of an audit of files lists no kinds.)
        if let Some(listed) = scan.listed_kinds() {
            if !listed.keys().any(|k| k.rsplit('/').next() == Some(kind)) {
                // A scan lists only the kinds its policies match: a
                // policy narrowed since, not only a filter, leaves one out.
                return Some(format!(
                    "the last scan did not list {kind} (no policy it evaluated matches {kind}, or the kind was excluded or not served)"
                ));
            }
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
