//! The go/no-go evidence for moving policies from Audit to Enforce. The
//! PolicyReports, policy and PolicyException documents, the last scan's
//! record and the cluster's identity enter as data ([`EvidenceInput`]); an
//! [`Evidence`] leaves: per policy and rule a verdict (ready to enforce,
//! not ready, or no evidence when nothing was evaluated, with reasons naming
//! every gap of the scan that affects it), the violators grouped by
//! namespace and owner, the exceptions (with a Kyverno PolicyException
//! generated for each bypass only polscan's annotations make), and the
//! rollback change and conditions. Sans-IO: the cluster and file reading
//! live in polscan's `cluster::evidence_source` and its CLI; the package
//! files in [`package`]. The run record's format ([`record_format`]), the
//! shard partition ([`shard`]) and the exception scope
//! ([`exception_scope`]) live here because both the scan that writes a
//! record and the evidence that reads it use them.

pub mod compare;
pub mod exception_scope;
pub mod exceptions;
pub mod html;
pub mod markdown;
pub mod package;
pub mod policy_info;
pub mod record;
pub mod record_format;
mod results;
pub mod shard;
pub mod shard_coverage;
pub mod shards;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use exceptions::{
    annotation_exception_evidence, current_exceptions, excused_violation, generate_exceptions,
    mark_not_applied, policy_exceptions, stale_exceptions, CurrentException, EXCEPTION_ANNOTATION,
};
pub use exceptions::{ExceptionEvidence, ExceptionStatus, GeneratedException};
pub use policy_info::{PolicyInfo, Rollback, RuleInfo, POLICY_DOCUMENT_KINDS};
use polscan_engine::exceptions::annotation as annotation_exceptions;
use polscan_engine::exceptions::annotation::properties as ex_props;
use polscan_engine::policy::normalized_action;
pub use record::ScanRecord;
use record::{
    failed_kinds_matched, failed_sources_affecting, listed_in_scope, nothing_in_scope,
    unlisted_kinds,
};
pub use results::ReportResults;
use results::{Interner, ReportedResult};

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
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// Policy kinds ([`POLICY_DOCUMENT_KINDS`]) the cluster does not serve,
    /// by discovery: a policy of such a kind (given as a file) has nothing
    /// in this cluster to enforce it. Empty when not read from a cluster.
    pub unserved_policy_kinds: Vec<String>,
    /// Of the resources a previous package (`--since`) names that no
    /// result names now, those the cluster still has; None when not
    /// known (reports read from files).
    pub still_present: Option<BTreeSet<ObjectName>>,
}

/// The API group serving a policy kind (`POLICY_DOCUMENT_KINDS`), and who
/// enforces it.
pub fn policy_kind_group(kind: &str) -> Option<(&'static str, &'static str)> {
    match kind {
        "ClusterPolicy" | "Policy" => Some(("kyverno.io", "Kyverno (its CRDs are not installed)")),
        "ValidatingPolicy" | "NamespacedValidatingPolicy" => Some((
            "policies.kyverno.io",
            "Kyverno 1.14+ (its CRDs are not installed)",
        )),
        "ValidatingAdmissionPolicy" => Some((
            "admissionregistration.k8s.io",
            "the API server (ValidatingAdmissionPolicy is GA from Kubernetes 1.30)",
        )),
        _ => None,
    }
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

/// One `fail`, `error` or `warn` result. Its text is shared (`Arc`): a
/// cluster has tens of thousands of violations naming a few rules,
/// messages and actions, and each resource under several rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    pub rule: Arc<str>,
    pub result: Arc<str>,
    pub resource: Arc<ObjectName>,
    /// The top owner (the resource itself when it has none).
    pub owner: Arc<ObjectName>,
    #[serde(default)]
    pub message: Arc<str>,
    /// What Kyverno does with it: the result's `action` property, else the
    /// rule's action resolved for the resource's namespace (`Enforce`,
    /// `Audit`, or `unknown`/`Invalid` when the policy's action is).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub action: Arc<str>,
    /// In `excused`: a fail or error excused only by a `polscan.io/exception`
    /// annotation, which Kyverno's admission does not read (it acts on it
    /// as on a violation, with `action`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub annotation_only: bool,
}

fn is_empty(text: &Arc<str>) -> bool {
    text.is_empty()
}

impl Violation {
    /// True when Kyverno's admission rejects it (an unknown action is not
    /// taken for Enforce).
    pub fn enforced(&self) -> bool {
        &*self.action == "Enforce"
    }
}

impl Violation {
    fn share(&mut self, shared: &mut Interner) {
        for text in [
            &mut self.rule,
            &mut self.result,
            &mut self.message,
            &mut self.action,
        ] {
            *text = shared.text(text);
        }
        self.resource = shared.share_resource(&self.resource);
        self.owner = shared.share_resource(&self.owner);
    }

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
    /// Results skipped by an exception (a PolicyException or an annotation):
    /// a violation that becomes one of these is excused, not fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excused: Vec<Violation>,
    /// Conditions under which the policy goes back to Audit once enforced.
    pub rollback_conditions: Vec<String>,
    /// PolicyExceptions its skipped results rest on that were deleted,
    /// changed after the scan started, or not applied by it: Kyverno may
    /// not skip those results now (rescan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale_exceptions: Vec<String>,
}

/// `1 owner`, `2 owners`.
pub(crate) fn owners_count(n: usize) -> String {
    if n == 1 {
        "1 owner".into()
    } else {
        format!("{n} owners")
    }
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
                Some(group) if *group.owner == *violation.owner => group.violations.push(violation),
                _ => groups.push(OwnerGroup {
                    owner: &violation.owner,
                    violations: vec![violation],
                }),
            }
        }
        groups
    }

    /// What enforcing does to the resources that violate the policy now.
    /// Only Kyverno's `kyverno.io` rules have `allowExistingViolations`
    /// (api/kyverno/v1/rule_types.go): ValidatingPolicies and
    /// ValidatingAdmissionPolicies judge the new object, so every update of
    /// a violating resource they match is rejected too.
    pub fn enforced_violations_warning(&self) -> String {
        match self.info.kind.as_str() {
            "ClusterPolicy" | "Policy" => "Enforced while resources violate it: they will be rejected when created again (a rollout, a re-apply), and at updates unless allowExistingViolations (Kyverno's default) lets an existing violation through.".to_string(),
            kind => format!("Enforced while resources violate it: they will be rejected when created again (a rollout, a re-apply) and at every update the policy matches, since a {kind} has no allowExistingViolations: it judges the updated object as it is."),
        }
    }

    /// Enforce with violations: the admission controller will block these
    /// resources when created again (and updates, per allowExistingViolations).
    pub fn enforced_with_violations(&self) -> bool {
        // Only a known Enforce (or Mixed) action, and only violations whose
        // result enforces (an override may enforce in other namespaces): an
        // unknown or invalid policy's action is never taken for Enforce.
        self.info.enforces()
            && self
                .violations
                .iter()
                .any(|v| v.enforced() && (&*v.result != "warn" || self.info.unscored))
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
    /// The namespaces results were kept for (`--namespace`); all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The policies kept (`--policy`); all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_filter: Vec<String>,
    pub policies: Vec<PolicyEvidence>,
    pub exceptions: Vec<ExceptionEvidence>,
    /// Kyverno PolicyExceptions generated from `polscan.io/exception`
    /// annotations that excuse violations, one file each in the package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generated_exceptions: Vec<GeneratedException>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<compare::Comparison>,
}

impl Evidence {
    /// Holds each text of the violations once, as [`build`] does: read
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

fn covers_namespace(filter: &[String], namespace: &str) -> bool {
    filter.is_empty() || namespace.is_empty() || filter.iter().any(|n| n == namespace)
}

pub(crate) fn wanted_policy(filter: &[String], info: &PolicyInfo) -> bool {
    filter.is_empty()
        || filter
            .iter()
            .any(|f| *f == info.name || *f == info.qualified_name())
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
    if let Some(scope) = input
        .scan
        .as_ref()
        .and_then(|s| s.policy_exceptions.as_ref())
    {
        mark_not_applied(&mut exceptions, scope);
    }
    let current = current_exceptions(&input.policies);
    exceptions.extend(annotation_exception_evidence(&results, input.now, window));
    let mut infos: BTreeMap<String, (PolicyInfo, bool)> = BTreeMap::new();
    let bindings: Vec<&Value> = input
        .policies
        .iter()
        .filter(|d| {
            d.get("kind").and_then(Value::as_str) == Some("ValidatingAdmissionPolicyBinding")
        })
        .collect();
    for document in &input.policies {
        if let Some(info) = PolicyInfo::from_document_with_bindings(document, &bindings) {
            infos.insert(info.qualified_name(), (info, true));
        }
    }
    // Policies the reports name but that were not found (deleted, or not
    // given with --from) are shown, never silently dropped.
    for result in &results {
        if &*result.rule == annotation_exceptions::EXCEPTION_RULE
            || infos.contains_key(&*result.policy)
        {
            continue;
        }
        infos.insert(
            result.policy.to_string(),
            (PolicyInfo::unknown(&result.policy), false),
        );
    }

    // Policy (as results name it: `namespace/name` when namespaced) → kind:
    // which PolicyException API can excuse it.
    let policy_kinds: BTreeMap<String, String> = infos
        .iter()
        .map(|(qualified, (info, _))| (qualified.clone(), info.kind.clone()))
        .collect();
    let generated_exceptions = generate_exceptions(
        &results,
        &mut exceptions,
        &input.owners,
        &policy_kinds,
        input
            .scan
            .as_ref()
            .and_then(|s| s.policy_exceptions.as_ref()),
    );

    let mut by_policy: BTreeMap<&str, Vec<&ReportedResult>> = BTreeMap::new();
    for result in &results {
        by_policy.entry(&result.policy).or_default().push(result);
    }
    // Each owner named once, shared by the violations of what it owns.
    let mut shared = Interner::default();
    let owners: BTreeMap<&ObjectName, Arc<ObjectName>> = input
        .owners
        .iter()
        .map(|(resource, owner)| (resource, shared.resource(owner.clone())))
        .collect();

    let mut policies = Vec::new();
    for (qualified, (mut info, found)) in infos {
        if !wanted_policy(&input.policy_filter, &info) {
            continue;
        }
        // No command for an API the cluster does not serve: it would fail.
        if input.unserved_policy_kinds.contains(&info.kind) {
            info.rollback = None;
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
            (&exceptions, &current),
            &generated_exceptions,
            (&owners, &mut shared),
        ));
    }
    // A package of chosen policies (--policy) lists only their exceptions
    // and generated PolicyExceptions.
    let (mut exceptions, mut generated_exceptions) = (exceptions, generated_exceptions);
    if !input.policy_filter.is_empty() {
        let kept: Vec<String> = policies.iter().map(|p| p.info.qualified_name()).collect();
        exceptions.retain(|e| kept.iter().any(|name| e.covers(name)));
        generated_exceptions.retain(|g| {
            g.covers.iter().any(|cover| {
                let policy = cover.rsplit_once('/').map_or(cover.as_str(), |(p, _)| p);
                kept.iter().any(|name| name == policy)
            })
        });
    }
    Evidence {
        schema_version: SCHEMA_VERSION.into(),
        generated: input.now,
        polscan_version: env!("CARGO_PKG_VERSION").into(),
        cluster: input.identity.clone(),
        scan: input.scan.clone(),
        expiry_window_days: input.expiry_window.num_days(),
        namespaces: input.namespace_filter.clone(),
        policy_filter: input.policy_filter.clone(),
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
    // Given as a file for a kind this cluster does not serve: nothing here
    // enforces it, and the Enforce change offered would be refused.
    if input.unserved_policy_kinds.contains(&info.kind) {
        let (group, enforcer) = policy_kind_group(&info.kind).unwrap_or(("", "its controller"));
        reasons.push(format!(
            "this cluster does not serve {} ({group}): nothing here would enforce it — that needs {enforcer}",
            info.kind
        ));
    }
    // A filtered view judges only a namespaced policy inside the filter:
    // Kyverno enforces a cluster-wide one in namespaces not looked at.
    if !input.namespace_filter.is_empty() {
        let looked_at = input.namespace_filter.join(", ");
        match &info.namespace {
            None => reasons.push(format!(
                "not ready in a filtered view: only namespace(s) {looked_at} were looked at (evidence --namespace), and this policy applies in every namespace; run evidence without --namespace to judge it"
            )),
            Some(own) if !input.namespace_filter.contains(own) => reasons.push(format!(
                "not ready in a filtered view: its namespace {own} is not among those looked at ({looked_at}, evidence --namespace)"
            )),
            Some(_) => {}
        }
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
            if let Some(mismatch) = scan.shards.as_ref().and_then(|s| s.mismatch_statement()) {
                reasons.push(mismatch);
            }
            if scan
                .invalid_policies
                .iter()
                .any(|p| *p == info.qualified_name())
            {
                reasons.push(
                    "the last scan could not load this policy (invalid): its results in the reports are missing or older ones carried over"
                        .into(),
                );
            }
            let sources = failed_sources_affecting(info, &scan.failed_policy_sources);
            if !sources.is_empty() {
                reasons.push(format!(
                    "the last scan could not read {}: results for this policy may be missing or older ones carried over",
                    sources.join(", ")
                ));
            }
            if let Some(uncovered) = scan.uncovered_namespaces(info) {
                reasons.push(format!(
                    "the last scan did not cover {uncovered}: Kyverno enforces there too (unless its own configuration leaves them out), and nothing there was evaluated"
                ));
            }
            if scan.missing_policies_unnamed() {
                reasons.push(
                    "the last scan could not read or load some policy and does not record which: the reports may carry older results for this one"
                        .into(),
                );
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
            // polscan's reports newer than the record: a scan since wrote
            // none, so neither what it covered nor whether it completed is
            // known, and the record's own scan no longer stands for them.
            let unrecorded = match (
                input.reports.newest_of_polscan(&info.qualified_name()),
                scan.finished,
            ) {
                (Some(newest), Some(finished)) => newest > finished.timestamp(),
                _ => false,
            };
            if let Some(change) = scan.change_since(info.digest.as_ref(), info.last_changed) {
                let unrecorded = if unrecorded {
                    format!(
                        "; the reports are newer than that record ({}), so a later scan wrote no record: rescan with --last-run-configmap {}",
                        scan.source, scan.source
                    )
                } else {
                    String::new()
                };
                reasons.push(format!("the policy {change}: rescan first{unrecorded}"));
            } else if unrecorded {
                reasons.push(format!(
                    "polscan's reports hold results of this policy newer than the last recorded scan ({}): a later scan wrote no record, so what it covered and whether it completed are not known: rescan with --last-run-configmap {}",
                    scan.source, scan.source
                ));
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

/// What the results themselves say against enforcing. An unscored policy
/// reports its failures as `warn`: Kyverno's admission rejects them all the
/// same (the annotation only changes how reports score them).
fn result_reasons(counts: &Counts, unscored: bool) -> Vec<String> {
    let mut reasons = Vec::new();
    if counts.fail > 0 {
        reasons.push(format!("{} failing result(s)", counts.fail));
    }
    if unscored && counts.warn > 0 {
        reasons.push(format!(
            "{} warn result(s) of an unscored policy (policies.kyverno.io/scored: \"false\"): failures Kyverno's admission would reject",
            counts.warn
        ));
    }
    if counts.error > 0 {
        reasons.push(format!(
            "{} result(s) could not be evaluated (error)",
            counts.error
        ));
    }
    reasons
}

/// The action Kyverno takes on a result: the one the scan recorded for it
/// (resolved per namespace), else the policy's, resolved the same way.
fn result_action(result: &ReportedResult, info: &PolicyInfo, scan: Option<&ScanRecord>) -> String {
    // A policy changed after the scan started may enforce differently now:
    // then its document says what Kyverno does.
    let changed_since =
        scan.is_some_and(|scan| scan.changed_since(info.digest.as_ref(), info.last_changed));
    let recorded = result
        .properties
        .get("action")
        .filter(|_| !changed_since)
        .map(|a| match (a, normalized_action(a)) {
            (_, Some(kyverno)) => kyverno.to_string(),
            // A ValidatingAdmissionPolicy binding's validationActions.
            ("Deny", None) => "Enforce".to_string(),
            ("Warn", None) => "Audit".to_string(),
            (other, None) => other.to_string(),
        });
    match recorded {
        Some(action) if !action.is_empty() => action,
        _ => info.action_for(&result.rule, &result.resource.namespace),
    }
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
    (exceptions, current): (&[ExceptionEvidence], &[CurrentException]),
    generated: &[GeneratedException],
    (owners, shared): (&BTreeMap<&ObjectName, Arc<ObjectName>>, &mut Interner),
) -> PolicyEvidence {
    let qualified = info.qualified_name();
    let shared_reasons = policy_reasons(&info, found, input);
    let mut counts = Counts::default();
    let mut by_namespace: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_rule: BTreeMap<&str, Counts> = BTreeMap::new();
    // Rule → resources excused only by an annotation Kyverno never reads.
    let mut annotation_only: BTreeMap<String, BTreeSet<ObjectName>> = BTreeMap::new();
    let mut violations = Vec::new();
    let mut excused = Vec::new();
    // PolicyException (as results name it) → results it skipped, and
    // their rules.
    let mut skipped_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut skipped_rules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let unnamed_rule = info.rules.len() == 1 && info.rules[0].name.is_empty();
    for result in results {
        // The warning about an exception annotation is no rule result.
        if &*result.rule == annotation_exceptions::EXCEPTION_RULE {
            continue;
        }
        counts.add(&result.result);
        match by_namespace.get_mut(&result.resource.namespace) {
            Some(in_namespace) => in_namespace.add(&result.result),
            None => {
                let mut in_namespace = Counts::default();
                in_namespace.add(&result.result);
                by_namespace.insert(result.resource.namespace.clone(), in_namespace);
            }
        }
        // A CEL policy has one unnamed rule; Kyverno names the rule of its
        // results `exception` (skipped by a CEL PolicyException) or
        // `evaluation` (an exception's condition failed): they are its rule.
        let rule: &str = if unnamed_rule && !result.rule.is_empty() {
            ""
        } else {
            &result.rule
        };
        by_rule.entry(rule).or_default().add(&result.result);
        if &*result.result == "skip" {
            for name in result
                .properties
                .get("exceptions")
                .into_iter()
                .flat_map(|names| names.split(','))
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                *skipped_by.entry(name.to_string()).or_default() += 1;
                skipped_rules
                    .entry(name.to_string())
                    .or_default()
                    .insert(rule.to_string());
            }
        }
        if excused_violation(result) {
            annotation_only
                .entry(result.rule.to_string())
                .or_default()
                .insert((*result.resource).clone());
        }
        let by_exception = result.properties.contains_key("exceptions")
            || result
                .properties
                .contains_key(polscan_engine::exceptions::annotation::properties::EXCEPTION);
        if &*result.result == "skip" && by_exception {
            let annotation_only = excused_violation(result);
            excused.push(Violation {
                rule: result.rule.clone(),
                result: result.result.clone(),
                resource: result.resource.clone(),
                owner: result.resource.clone(),
                message: result.message.clone(),
                action: if annotation_only {
                    shared.text(&result_action(result, &info, input.scan.as_ref()))
                } else {
                    shared.text("")
                },
                annotation_only,
            });
        }
        if matches!(&*result.result, "fail" | "error" | "warn") {
            violations.push(Violation {
                rule: result.rule.clone(),
                result: result.result.clone(),
                resource: result.resource.clone(),
                owner: owners
                    .get(&*result.resource)
                    .cloned()
                    .unwrap_or_else(|| result.resource.clone()),
                message: result.message.clone(),
                action: shared.text(&result_action(result, &info, input.scan.as_ref())),
                annotation_only: false,
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
    for &rule in by_rule.keys() {
        if !rule_infos.iter().any(|r| r.name == rule) {
            // A generated (autogen) rule acts as the rule it comes from.
            let base = rule_infos
                .iter()
                .find(|r| r.name == annotation_exceptions::base_rule(rule))
                .cloned();
            // Its kinds are the controllers autogen made it for, not the
            // Pod its base rule matches.
            let kinds = match policy_info::autogen_kinds(rule) {
                Some(kinds) => kinds.iter().map(|k| k.to_string()).collect(),
                None => base.as_ref().map(|b| b.kinds.clone()).unwrap_or_default(),
            };
            rule_infos.push(match base {
                Some(base) => RuleInfo {
                    name: rule.to_string(),
                    kinds,
                    ..base
                },
                None => RuleInfo {
                    name: rule.to_string(),
                    action: info.action.clone(),
                    kinds,
                    overrides: Vec::new(),
                    default_action: None,
                },
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
    reasons.extend(result_reasons(&counts, info.unscored));
    // A skip resting on an exception that is gone or changed since the
    // scan is no evidence: as a policy changed after the scan, rescan.
    let stale = stale_exceptions(&skipped_by, current, input.scan.as_ref());
    reasons.extend(stale.iter().map(|s| s.reason.clone()));
    let mut notes = Vec::new();
    let rule_evidence: Vec<RuleEvidence> = rule_infos
        .into_iter()
        .map(|rule| {
            let name = rule.name;
            let counts = by_rule.get(name.as_str()).copied().unwrap_or_default();
            let mut rule_reasons = shared_reasons.clone();
            rule_reasons.extend(result_reasons(&counts, info.unscored));
            rule_reasons.extend(
                stale
                    .iter()
                    .filter(|s| skipped_rules.get(&s.name).is_some_and(|r| r.contains(&name)))
                    .map(|s| s.reason.clone()),
            );
            let mut rule_notes = Vec::new();
            // An annotation names a base rule; only the variants that can
            // apply to the annotated resource's kind are its rules.
            for exception in exceptions.iter().filter(|e| {
                e.status == ExceptionStatus::Expired
                    && e.covers_rule(&qualified, &name)
                    && e.resource.as_ref().is_none_or(|resource| {
                        policy_info::rule_applies_to(&name, &rule.kinds, &resource.kind)
                    })
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
                let own_prefix = format!("{qualified}/");
                let mine: Vec<&GeneratedException> = generated
                    .iter()
                    .filter(|g| g.resources.iter().any(|r| resources.contains(r)))
                    .filter(|g| g.covers.iter().any(|c| c.starts_with(&own_prefix)))
                    .collect();
                let files: BTreeSet<&str> = mine
                    .iter()
                    .filter(|g| g.existing_not_applied.is_none())
                    .map(|g| g.file.as_str())
                    .collect();
                // Applied already but not by the scan: applying again does
                // nothing; Kyverno's exception setting (and the scan's) does.
                let existing: BTreeSet<&str> = mine
                    .iter()
                    .filter_map(|g| g.existing_not_applied.as_deref())
                    .collect();
                let mut remedies: Vec<String> = Vec::new();
                if !files.is_empty() {
                    remedies.push(format!(
                        "apply the generated PolicyException(s) {}",
                        some_of(&files.iter().map(|f| f.to_string()).collect::<Vec<_>>())
                    ));
                }
                remedies.extend(existing.iter().map(|why| why.to_string()));
                let remedy = if remedies.is_empty() {
                    "make each bypass a PolicyException Kyverno applies".to_string()
                } else {
                    remedies.join("; ")
                };
                let reason = if info.kind == "ValidatingAdmissionPolicy" {
                    // The API server enforces it and reads no PolicyException.
                    format!(
                        "{} violating resource(s) excused only by {EXCEPTION_ANNOTATION} annotations, which the API server enforcing this ValidatingAdmissionPolicy does not read (it would reject their next change): {}; exclude them in the binding's matchResources.excludeResourceRules or fix them",
                        names.len(),
                        some_of(&names),
                    )
                } else {
                    format!(
                        "{} violating resource(s) excused only by {EXCEPTION_ANNOTATION} annotations, which Kyverno's admission does not read (it would reject them when created again (a rollout's new Pods, a re-apply) and at an update that newly violates, or at any update where the rule sets allowExistingViolations: false): {}; {remedy}",
                        names.len(),
                        some_of(&names),
                    )
                };
                rule_reasons.push(reason.clone());
                // A ValidatingPolicy's results have no rule name.
                if name.is_empty() {
                    reasons.push(reason);
                } else {
                    reasons.push(format!("rule {name}: {reason}"));
                }
            }
            // A kind the rule matches that the scan did not list (excluded
            // with --exclude-kinds, or not served): Kyverno would still
            // enforce on it, and nothing was evaluated.
            // When the scan could not read or load the policy itself, that is
            // the cause (it then lists none of the policy's kinds): said once,
            // in the policy's reasons.
            let unlisted = input
                .scan
                .as_ref()
                .filter(|scan| !scan.policy_unread(&info))
                .and_then(|scan| unlisted_kinds(&rule.kinds, scan));
            if let Some(unlisted) = unlisted {
                let reason = format!(
                    "the last scan did not list {} (excluded, or not served): nothing of that kind was evaluated",
                    unlisted.join(", ")
                );
                rule_reasons.push(reason.clone());
                let reason = format!("rule {}: {reason}", if name.is_empty() { "(CEL)" } else { &name });
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
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
                    // A ValidatingPolicy's results have no rule name.
                    if name.is_empty() {
                        reasons.push(reason);
                    } else {
                        reasons.push(format!("rule {name}: {reason}"));
                    }
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
        reasons.push(if info.background_off {
            "no evidence: the policy has background: false, so scans (Kyverno's background scan and polscan's) do not evaluate it: only admission does; `polscan apply --include-non-background` evaluates it on manifests".into()
        } else {
            "no evidence: the policy evaluated no resource".into()
        });
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
        match &info.action_detail {
            // Overrides: only where the result enforces.
            Some(detail) => format!(
                "a new fail or error result for this policy that Kyverno enforces ({detail})"
            ),
            None => "a new fail or error result for this policy after the switch".to_string(),
        },
        "a scan that does not complete for this policy (a failed list of a kind it reaches, the policy or its policy source not loaded, a failed write)"
            .to_string(),
    ];
    // Only an exception with an expiry still ahead can expire after the
    // switch (an expired one is a reason above; one without can not).
    // One the scan did not apply skips nothing: its expiry changes
    // nothing either.
    let expiring: Vec<&ExceptionEvidence> = exceptions
        .iter()
        .filter(|e| e.covers(&qualified) && !e.not_applied())
        .filter(|e| e.expires.is_some() && e.status != ExceptionStatus::Expired)
        .collect();
    if expiring.is_empty() {
        rollback_conditions.push("an exception for this policy expiring".to_string());
    } else {
        for exception in expiring {
            let what = if exception.source == "PolicyException" {
                format!("PolicyException {}", exception.name)
            } else {
                format!("{} exception {}", exception.source, exception.name)
            };
            rollback_conditions.push(format!(
                "{what} reaching its expiry ({})",
                exception.expires.as_deref().unwrap_or_default()
            ));
        }
    }
    if !skipped_by.is_empty() {
        rollback_conditions.push(
            "a PolicyException its skipped results rest on deleted or changed (Kyverno would evaluate them again)"
                .to_string(),
        );
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
        excused,
        rollback_conditions,
        stale_exceptions: stale
            .into_iter()
            .filter(|s| s.changed)
            .map(|s| s.name)
            .collect(),
    }
}

#[cfg(test)]
mod tests;
