//! The sans-IO policy engine: policies and resources come in as data
//! (`serde_json::Value`), results come out; no cluster client lives here.
//! [`Engine::evaluate`] takes one resource and returns, per policy, the rule
//! results Kyverno would give: autogen, match/exclude, context, preconditions
//! and validation in that order.
//!
//! An embedder needs little more than the crate root:
//!
//! - [`Engine::from_documents`] loads policy documents of every kind it
//!   evaluates (Kyverno `ClusterPolicy`/`Policy`, `ValidatingPolicy`,
//!   `NamespacedValidatingPolicy`, Kubernetes `ValidatingAdmissionPolicy`
//!   and its bindings, both kinds of Kyverno `PolicyException`) in one pass,
//!   each told by its `apiVersion` and `kind` ([`DocumentKind`]), and says
//!   what it could not use ([`LoadProblem`]); [`LoadedPolicies`] is the same
//!   in two steps, for a caller that looks at the set before building.
//! - [`EngineOptions`] chooses audit or admission semantics, how kinds match
//!   and Kyverno's `resourceFilters`; [`Engine::with_cluster_data`] plugs in
//!   what answers context entries and lookups ([`ClusterData`]), and
//!   [`host::install`] the clock and name resolution ([`Host`]).
//! - [`Engine::evaluate`] gives a [`PolicyResponse`] per policy, each with
//!   its [`RuleResult`]s, for one resource in an [`Environment`].
//!
//! ```
//! use polscan_engine::{Engine, EngineOptions, Environment, RuleStatus};
//! use serde_json::json;
//!
//! let policy = json!({
//!     "apiVersion": "kyverno.io/v1",
//!     "kind": "ClusterPolicy",
//!     "metadata": {"name": "require-team-label"},
//!     "spec": {"rules": [{
//!         "name": "check-team",
//!         "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
//!         "validate": {
//!             "message": "the label `team` is required",
//!             "pattern": {"metadata": {"labels": {"team": "?*"}}}
//!         }
//!     }]}
//! });
//! let (engine, problems) = Engine::from_documents(&[policy], EngineOptions::default());
//! assert!(problems.is_empty());
//!
//! let pod = json!({
//!     "apiVersion": "v1",
//!     "kind": "Pod",
//!     "metadata": {"name": "web", "namespace": "shop"},
//!     "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
//! });
//! let responses = engine.evaluate(&pod, &Environment::default());
//! assert_eq!(responses.len(), 1);
//! let result = &responses[0].rules[0];
//! assert_eq!(result.rule, "check-team");
//! assert_eq!(result.status, RuleStatus::Fail);
//! assert!(result.message.contains("the label `team` is required"), "{}", result.message);
//!
//! let labelled = json!({
//!     "apiVersion": "v1",
//!     "kind": "Pod",
//!     "metadata": {"name": "web", "namespace": "shop", "labels": {"team": "payments"}},
//!     "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
//! });
//! let responses = engine.evaluate(&labelled, &Environment::default());
//! assert_eq!(responses[0].rules[0].status, RuleStatus::Pass);
//! ```

#![warn(missing_docs)]

pub(crate) mod anchor;
pub mod cel;
pub mod context;
pub mod document_kind;
pub mod exceptions;
pub mod fake_cluster;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod go_regexp;
pub mod host;
pub mod jmespath;
pub mod json;
pub mod kinds;
pub mod kyverno;
pub mod label_selector;
pub mod loading;
pub(crate) mod match_resources;
pub mod matching;
pub mod nesting;
pub mod policy;
pub mod policy_validation;
pub mod quoted;
pub mod reads;
pub mod redaction;
pub mod resource_filters;
pub mod supplied_data;
pub mod target_kinds;
pub mod value_size;
pub mod value_types;
pub mod values;
pub(crate) mod variables;
pub mod yaml;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};

pub use self::cel::policies::admission_policy::{AdmissionPolicy, Binding};
pub use self::cel::policies::policy_exception::CelPolicyException;
pub use self::cel::policies::validating_policy::ValidatingPolicy;
pub use self::context::ClusterData;
pub use self::document_kind::DocumentKind;
pub use self::exceptions::kyverno::PolicyException;
pub use self::host::Host;
pub use self::json::ValueExt;
pub use self::kyverno::policy::{Policy, PolicyKind};
pub use self::loading::{LoadProblem, LoadedPolicies};
pub use self::matching::RequestInfo;
pub use self::policy::{PolicyError, PolicyMeta};
pub use self::resource_filters::ResourceFilters;
pub use self::supplied_data::SuppliedData;
pub use self::target_kinds::TargetKinds;
pub use self::values::Values;

use self::cel::policies::{admission, admission_policy, validating_policy};
use self::context::{EvalContext, NoClusterData};
use self::kyverno::policy::Rule;
use self::kyverno::{autogen, conditions, validate};
use self::matching::{MatchInputs, ResourceIdentity};

/// A rule's result on a resource, as Kyverno names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    /// `pass`: the resource satisfies the rule.
    Pass,
    /// `fail`: the resource violates the rule.
    Fail,
    /// `warn`: a finding that is not a failure (polscan's notes on exception
    /// annotations; reports show an unscored policy's failures so).
    Warn,
    /// `error`: the rule could not be evaluated (a context entry, precondition
    /// or expression failed).
    Error,
    /// `skip`: the rule did not apply (preconditions not met, an exception
    /// excused the resource, a CEL policy's `matchConditions` were false, no
    /// binding selects the resource).
    Skip,
}

impl RuleStatus {
    /// The lowercase name Kyverno's reports use (`pass`, `fail`, `warn`,
    /// `error`, `skip`).
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleStatus::Pass => "pass",
            RuleStatus::Fail => "fail",
            RuleStatus::Warn => "warn",
            RuleStatus::Error => "error",
            RuleStatus::Skip => "skip",
        }
    }

    /// Reads a status name in any case; `None` for anything else.
    pub fn parse(text: &str) -> Option<RuleStatus> {
        match text.to_ascii_lowercase().as_str() {
            "pass" => Some(RuleStatus::Pass),
            "fail" => Some(RuleStatus::Fail),
            "warn" => Some(RuleStatus::Warn),
            "error" => Some(RuleStatus::Error),
            "skip" => Some(RuleStatus::Skip),
            _ => None,
        }
    }
}

impl fmt::Display for RuleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies a resource in results and reports: polscan's one object
/// reference. Its projections keep what their consumer needs:
/// `report_model::ObjectReference` is its wire form in reports (every field
/// optional, as `corev1.ObjectReference`; `From<&ResourceRef>`), the
/// evidence's `ObjectName` its kind, namespace and name, and matching's
/// `ResourceIdentity` its [`GroupVersionKind`](kinds::GroupVersionKind)
/// ([`ResourceRef::gvk`]), namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    /// `apiVersion` (`v1`, `apps/v1`).
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`; empty for cluster-scoped resources.
    pub namespace: String,
    /// `metadata.name`; a manifest's `metadata.generateName` when it has
    /// no name (the API server completes it at creation).
    pub name: String,
    /// `metadata.uid`; empty when unset (as in files).
    pub uid: String,
}

impl ResourceRef {
    /// The identity of a resource document; missing fields are empty.
    pub fn from_resource(resource: &Value) -> ResourceRef {
        let text = |pointer: &str| resource.string_at_or_empty(pointer);
        ResourceRef {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            // A manifest created with `generateName` has no name until the
            // API server gives it one: its prefix names it (walk28 F14).
            name: match text("/metadata/name") {
                name if name.is_empty() => text("/metadata/generateName"),
                name => name,
            },
            uid: text("/metadata/uid"),
        }
    }
}

impl ResourceRef {
    /// Its group, version and kind, from `apiVersion` and `kind`.
    pub fn gvk(&self) -> kinds::GroupVersionKind {
        kinds::GroupVersionKind::from_api_version(&self.api_version, &self.kind)
    }
}

/// The reference a report names the resource with: `namespace` left out
/// for a cluster-scoped resource and `uid` when unknown (as in files).
impl From<&ResourceRef> for report_model::ObjectReference {
    fn from(resource: &ResourceRef) -> report_model::ObjectReference {
        let reference = if resource.namespace.is_empty() {
            report_model::ObjectReference::cluster_scoped(
                &resource.api_version,
                &resource.kind,
                &resource.name,
            )
        } else {
            report_model::ObjectReference::namespaced(
                &resource.api_version,
                &resource.kind,
                &resource.namespace,
                &resource.name,
            )
        };
        if resource.uid.is_empty() {
            reference
        } else {
            reference.with_uid(&resource.uid)
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.namespace, self.kind, self.name)
        }
    }
}

/// The result property on a result whose evaluation substituted again a
/// text that a substitution made (a value holding `{{`, which Kyverno
/// evaluates in turn): what the rule tested is not known from the policy
/// as written, which `polscan evidence` reads (verify39 F6).
pub const RESUBSTITUTED_PROPERTY: &str = "polscan.io/resubstituted";

/// One rule's result. Non-exhaustive: other crates build one with
/// [`RuleResult::new`] and set what else they need.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RuleResult {
    /// The rule's name as Kyverno reports it (rules its autogen generates keep
    /// their `autogen-` or `autogen-cronjob-` prefix).
    pub rule: String,
    /// The verdict.
    pub status: RuleStatus,
    /// The message Kyverno gives with the verdict.
    pub message: String,
    /// The rule's `validate.failureAction`, else the policy's action.
    pub action: String,
    /// Result properties as Kyverno's reports carry them (the rule's
    /// `reportProperties`, podSecurity's `controls`, the `exceptions` that
    /// excused it, ...).
    pub properties: BTreeMap<String, String>,
    /// Why a `skip` was given, where a consumer treats reasons apart.
    pub skip_reason: Option<SkipReason>,
    /// Decided before Kyverno looks at PolicyExceptions (a context load or
    /// precondition error, pkg/engine/engine.go): no exception changes it.
    pub before_exceptions: bool,
    /// Its evaluation substituted again a text that a substitution made
    /// (a value holding `{{`): what its message shows is not known from the
    /// rule as written, so on a Secret, or beside lookups of Secrets, it
    /// is withheld ([`redaction`]).
    pub resubstituted: bool,
}

impl RuleResult {
    /// A result of `rule` with `status`, `message` and `action` (`Audit`,
    /// `Enforce`, ...), no properties, no skip reason, decided after
    /// exceptions.
    pub fn new(
        rule: impl Into<String>,
        status: RuleStatus,
        message: impl Into<String>,
        action: impl Into<String>,
    ) -> RuleResult {
        RuleResult {
            rule: rule.into(),
            status,
            message: message.into(),
            action: action.into(),
            properties: BTreeMap::new(),
            skip_reason: None,
            before_exceptions: false,
            resubstituted: false,
        }
    }
}

/// Why a result is `skip`, where it matters downstream (Kyverno's
/// `engineapi.SkipReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A CEL policy's `matchConditions` were false. Kyverno ≥ 1.19 leaves
    /// these out of background-scan reports (`filterMatchConditionSkips`,
    /// pkg/controllers/report/utils/scanner.go); the CLI still lists them.
    MatchConditions,
}

/// A rule's verdict on one resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleOutcome {
    pub(crate) status: RuleStatus,
    pub(crate) message: String,
    /// Result properties the rule type adds (podSecurity's `controls`, ...).
    pub(crate) properties: BTreeMap<String, String>,
    /// Decided before Kyverno looks at PolicyExceptions (a context load or
    /// precondition error, pkg/engine/engine.go): no exception changes it.
    pub(crate) before_exceptions: bool,
}

impl RuleOutcome {
    pub(crate) fn new(status: RuleStatus, message: impl Into<String>) -> RuleOutcome {
        RuleOutcome {
            status,
            message: message.into(),
            properties: BTreeMap::new(),
            before_exceptions: false,
        }
    }

    /// Marks the outcome as decided before exceptions apply.
    pub(crate) fn before_exceptions(mut self) -> RuleOutcome {
        self.before_exceptions = true;
        self
    }
}

/// Everything one policy said about one resource. `rules` may be empty when
/// no rule matched; the Kyverno CLI's test semantics depend on that.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PolicyResponse {
    /// The policy that gave the results.
    pub policy: Arc<PolicyMeta>,
    /// The resource evaluated.
    pub resource: ResourceRef,
    /// The results, in rule order.
    pub rules: Vec<RuleResult>,
}

impl PolicyResponse {
    /// `policy`'s `rules` results on `resource`.
    pub fn new(policy: Arc<PolicyMeta>, resource: ResourceRef, rules: Vec<RuleResult>) -> Self {
        PolicyResponse {
            policy,
            resource,
            rules,
        }
    }
}

/// What the engine needs besides the resource. Non-exhaustive: start from
/// `Environment::default()` and set the fields.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Environment {
    /// A Kyverno CLI values file (global, policy, rule and resource values,
    /// namespace selectors, subresources); empty for a cluster scan.
    pub values: Values,
    /// Labels of each namespace, by name, for `namespaceSelector`.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// The requester; `None` is a background scan.
    pub requester: Option<RequestInfo>,
    /// Namespace objects by name, for CEL's `namespaceObject`.
    pub namespace_objects: BTreeMap<String, Value>,
    /// The time exceptions' expiry is checked against; `None` is now, as
    /// the [`host`] tells it.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// How an [`Engine`] evaluates: which policies run, how kinds match and which
/// resources Kyverno's filters leave alone. The default evaluates every policy,
/// matches exact versions and filters nothing. Non-exhaustive: start from
/// `EngineOptions::default()` and set the fields.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct EngineOptions {
    /// Audit mode: policies with `background: false` are not evaluated.
    pub background_only: bool,
    /// Kind selectors and resource rules match every served version of a
    /// kind, as admission with `matchPolicy: Equivalent` does; for cluster
    /// scans, where a kind is listed at one version only.
    pub equivalent_versions: bool,
    /// The engine holds every policy of the environment (an audit's policy
    /// files, a cluster scan that read and loaded every policy): an
    /// exception annotation naming another policy is a mistake and gets a
    /// `warn`. Off when some policy could not be read or loaded, since the
    /// name may be one of those.
    pub all_policies_known: bool,
    /// Kyverno's `resourceFilters` (its ConfigMap), when asked for:
    /// resources Kyverno's admission (and a reports controller started
    /// with `--skipResourceFilters=false`) leaves alone get no result of a
    /// Kyverno policy (ClusterPolicy, Policy, ValidatingPolicy). A
    /// ValidatingAdmissionPolicy is enforced by the API server, which reads
    /// no such filter: it is still evaluated (Kyverno's reports controller
    /// would skip it too).
    pub resource_filters: Option<Arc<resource_filters::ResourceFilters>>,
}

/// Compiled policies and the data source for context entries.
#[derive(Clone)]
pub struct Engine {
    policies: Vec<Arc<Policy>>,
    /// Autogen applied once per policy, index-aligned with `policies`.
    rules: Vec<Arc<autogen::AutogenRules>>,
    /// Identity of each policy for results, index-aligned with `policies`.
    metas: Vec<Arc<PolicyMeta>>,
    /// Kyverno ValidatingPolicies (CEL), with their identity.
    validating: Vec<(Arc<validating_policy::ValidatingPolicy>, Arc<PolicyMeta>)>,
    /// Kubernetes ValidatingAdmissionPolicies with their bindings attached.
    admission: Vec<(Arc<admission_policy::AdmissionPolicy>, Arc<PolicyMeta>)>,
    cluster: Arc<dyn ClusterData>,
    options: EngineOptions,
    /// Kyverno PolicyExceptions.
    exceptions: Arc<Vec<exceptions::kyverno::PolicyException>>,
    /// In audit mode, the PolicyExceptions with `background: false`: the
    /// scan does not apply them (as Kyverno's background scan), but a fail
    /// they cover at admission is marked ([`exceptions::kyverno::ADMISSION_EXCEPTIONS`]).
    admission_exceptions: Arc<Vec<exceptions::kyverno::PolicyException>>,
    /// Kyverno CEL PolicyExceptions (policies.kyverno.io).
    cel_exceptions: Arc<Vec<CelPolicyException>>,
    /// Every Secret value the cluster data answered with in this run, kept
    /// out of every result ([`redaction`]).
    secrets_seen: Arc<std::sync::RwLock<redaction::SecretValues>>,
    /// What of each policy's results may show a Secret's data
    /// ([`redaction::templates`]), by the address of its [`PolicyMeta`]:
    /// read from the policies at the first evaluation.
    data_readers: std::sync::OnceLock<Arc<HashMap<usize, PolicyReaders>>>,
}

/// What of one policy's results may show a Secret's data: per rule for a
/// Kyverno policy, for every result of a CEL policy.
#[derive(Debug)]
enum PolicyReaders {
    ByRule(HashMap<String, redaction::Readers>),
    Whole(redaction::Readers),
}

impl Engine {
    /// An engine for these Kyverno ClusterPolicies and Policies (autogen
    /// applied once each), with no other policy kind, no exception and no
    /// cluster data: the `with_*` methods add them, and
    /// [`Engine::from_documents`] loads every kind from documents.
    pub fn new(policies: Vec<Policy>, options: EngineOptions) -> Engine {
        let rules = policies
            .iter()
            .map(|policy| Arc::new(autogen::AutogenRules::compute(policy)))
            .collect();
        let metas = policies.iter().map(|p| Arc::new(p.meta())).collect();
        Engine {
            policies: policies.into_iter().map(Arc::new).collect(),
            rules,
            metas,
            validating: Vec::new(),
            admission: Vec::new(),
            cluster: Arc::new(NoClusterData),
            options,
            exceptions: Arc::new(Vec::new()),
            admission_exceptions: Arc::new(Vec::new()),
            cel_exceptions: Arc::new(Vec::new()),
            secrets_seen: Arc::default(),
            data_readers: std::sync::OnceLock::new(),
        }
    }

    /// Loads policy documents of every kind in one pass
    /// ([`loading::LoadedPolicies::load`]), attaches the bindings and builds
    /// the engine (with no cluster data: see [`Engine::with_cluster_data`]).
    /// The problems name their document by its position in `documents`.
    pub fn from_documents(
        documents: &[Value],
        options: EngineOptions,
    ) -> (Engine, Vec<loading::LoadProblem>) {
        loading::LoadedPolicies::load(documents).into_engine(options)
    }

    /// Adds Kyverno ValidatingPolicies to evaluate beside the ClusterPolicies.
    pub fn with_validating_policies(
        mut self,
        policies: Vec<validating_policy::ValidatingPolicy>,
    ) -> Engine {
        self.validating = policies
            .into_iter()
            .map(|p| {
                let meta = Arc::new(p.meta.clone());
                (Arc::new(p), meta)
            })
            .collect();
        self.data_readers = std::sync::OnceLock::new();
        self
    }

    /// Adds Kubernetes ValidatingAdmissionPolicies (bindings already
    /// attached with [`admission_policy::AdmissionPolicy::bind`]).
    pub fn with_admission_policies(
        mut self,
        policies: Vec<admission_policy::AdmissionPolicy>,
    ) -> Engine {
        self.admission = policies
            .into_iter()
            .map(|p| {
                let meta = Arc::new(p.meta.clone());
                (Arc::new(p), meta)
            })
            .collect();
        self.data_readers = std::sync::OnceLock::new();
        self
    }

    /// Adds Kyverno PolicyExceptions (in audit mode, those with
    /// `background: false` are left out, as Kyverno's background scan does).
    pub fn with_policy_exceptions(
        mut self,
        exceptions: Vec<exceptions::kyverno::PolicyException>,
    ) -> Engine {
        let (applied, admission_only): (Vec<_>, Vec<_>) = exceptions
            .into_iter()
            .partition(|e| !self.options.background_only || e.background());
        self.exceptions = Arc::new(applied);
        self.admission_exceptions = Arc::new(admission_only);
        self
    }

    /// Adds Kyverno CEL PolicyExceptions, applied to the ValidatingPolicies
    /// their `policyRefs` name.
    pub fn with_cel_policy_exceptions(mut self, exceptions: Vec<CelPolicyException>) -> Engine {
        self.cel_exceptions = Arc::new(exceptions);
        self
    }

    /// Sets what answers context entries, API calls and CEL resource and image
    /// lookups; without it nothing does, as for the Kyverno CLI without a
    /// cluster. Every Secret in its answers is kept out of the results
    /// ([`redaction`]).
    pub fn with_cluster_data(mut self, cluster: Arc<dyn ClusterData>) -> Engine {
        self.cluster = Arc::new(redaction::SecretWatch::new(
            cluster,
            self.secrets_seen.clone(),
        ));
        self
    }

    /// The Kyverno ClusterPolicies and Policies, in load order
    /// ([`Engine::policy_metas`] lists every kind).
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.policies
    }

    /// Every policy this engine evaluates (Kyverno's, CEL and
    /// ValidatingAdmissionPolicies), in load order.
    pub fn policy_metas(&self) -> Vec<Arc<PolicyMeta>> {
        self.metas
            .iter()
            .chain(self.validating.iter().map(|(_, meta)| meta))
            .chain(self.admission.iter().map(|(_, meta)| meta))
            .cloned()
            .collect()
    }

    /// The report name (`namespace/name` for namespaced kinds) of every
    /// policy this engine evaluates, of every kind.
    pub fn policy_names(&self) -> std::collections::BTreeSet<String> {
        self.metas
            .iter()
            .chain(self.validating.iter().map(|(_, meta)| meta))
            .chain(self.admission.iter().map(|(_, meta)| meta))
            .map(|meta| meta.qualified_name())
            .collect()
    }

    /// The kinds this engine's policies can match; a scan lists only those.
    pub fn target_kinds(&self) -> target_kinds::TargetKinds {
        let mut targets = target_kinds::TargetKinds::default();
        for (_, policy_targets) in self.target_kinds_by_policy() {
            targets.extend(policy_targets);
        }
        targets
    }

    /// The kinds each policy (by qualified name) can match.
    pub fn target_kinds_by_policy(&self) -> Vec<(String, target_kinds::TargetKinds)> {
        let mut found = Vec::new();
        for (policy, meta) in self.policies.iter().zip(&self.metas) {
            if self.options.background_only && !policy.background() {
                continue;
            }
            let mut targets = target_kinds::TargetKinds::default();
            for rule in policy.spec.rules.iter().filter(|r| r.has_validate()) {
                for kind in rule.match_resources.kinds() {
                    targets.add_kyverno_kind(&kind);
                }
            }
            found.push((meta.qualified_name(), targets));
        }
        // Kyverno's autogen extends a ValidatingPolicy on Pods to their
        // controllers; the API server applies a ValidatingAdmissionPolicy
        // as written (walk43: a VAP on pods read as matching Deployments).
        let constraints = self
            .validating
            .iter()
            .filter(|(p, _)| !self.options.background_only || p.background())
            .filter_map(|(p, meta)| Some((meta, p.match_constraints()?, true)))
            .chain(
                self.admission
                    .iter()
                    .filter_map(|(p, meta)| Some((meta, p.match_constraints()?, false))),
            );
        for (meta, constraint, autogen) in constraints {
            let mut targets = target_kinds::TargetKinds::default();
            for rule in &constraint.resource_rules {
                if autogen {
                    targets.add_resource_rule(rule);
                } else {
                    targets.add_resource_rule_as_written(rule);
                }
            }
            found.push((meta.qualified_name(), targets));
        }
        found
    }

    /// Evaluates every validating policy against one resource.
    pub fn evaluate(&self, resource: &Value, env: &Environment) -> Vec<PolicyResponse> {
        let reference = ResourceRef::from_resource(resource);
        let prepared = Prepared {
            resource,
            identity: ResourceIdentity {
                equivalent_versions: self.options.equivalent_versions,
                ..ResourceIdentity::of(&reference, resource)
            },
            reference,
            images: value_types::images::images_variable(resource),
            cel_scopes: cel::ScopeCache::default(),
            json_context: std::cell::RefCell::new(None),
        };
        // One set of facts, so every CEL policy shares the resource's scope.
        let facts = self.request_facts(&prepared, env);
        // `checkResourceFilters` (pkg/controllers/report/utils/scanner.go,
        // pkg/webhooks/handlers/filter.go): Kyverno does not look at it.
        let kyverno_sees = self
            .options
            .resource_filters
            .as_ref()
            .is_none_or(|filters| {
                let id = &prepared.identity;
                !filters.filters(
                    (&id.gvk.group, &id.gvk.version, &id.gvk.kind),
                    &id.subresource,
                    &id.namespace,
                    &id.name,
                )
            });
        let mut responses = self
            .policies
            .iter()
            .zip(self.rules.iter().zip(&self.metas))
            .filter(|_| kyverno_sees)
            .filter(|(policy, _)| !self.options.background_only || policy.background())
            .filter(|(policy, _)| policy.spec.rules.iter().any(Rule::has_validate))
            .map(|(policy, (rules, meta))| {
                guarded(meta, &prepared.reference, || {
                    self.evaluate_policy(policy, rules, meta, &prepared, env)
                })
            })
            .chain(
                self.validating
                    .iter()
                    .filter(|_| kyverno_sees)
                    .filter(|(policy, _)| !self.options.background_only || policy.background())
                    .map(|(policy, meta)| {
                        guarded(meta, &prepared.reference, || {
                            let exceptions = self.cel_exceptions_for(meta);
                            let outcome =
                                policy.evaluate_with_exceptions(&facts, &self.cluster, &exceptions);
                            cel_response(meta, &prepared, outcome, policy.action())
                        })
                    }),
            )
            .chain(self.admission.iter().map(|(policy, meta)| {
                let mut response = guarded(meta, &prepared.reference, || {
                    let outcome = policy.evaluate(&facts, &self.cluster);
                    cel_response(meta, &prepared, outcome, policy.action())
                });
                // Kyverno names a VAP result's rule after the policy
                // (pkg/utils/report/results.go); a ValidatingPolicy's stays
                // unnamed and is left out of the report.
                for rule in &mut response.rules {
                    rule.rule = meta.name.clone();
                }
                response
            }))
            .collect::<Vec<_>>();
        let empty = BTreeMap::new();
        exceptions::kyverno::apply(
            &self.exceptions,
            resource,
            env.namespace_labels
                .get(&prepared.reference.namespace)
                .unwrap_or(&empty),
            &self.cluster,
            &mut responses,
            self.options.equivalent_versions,
            &|meta, rule| self.pod_security_block(meta, rule, &prepared.identity.gvk.kind),
        );
        exceptions::kyverno::mark_admission_exceptions(
            &self.admission_exceptions,
            resource,
            env.namespace_labels
                .get(&prepared.reference.namespace)
                .unwrap_or(&empty),
            &self.cluster,
            &mut responses,
            self.options.equivalent_versions,
        );
        exceptions::annotation::apply(
            resource,
            &mut responses,
            env.now.unwrap_or_else(host::now),
            self,
        );
        // Last, so no message or property built above keeps a Secret value.
        redaction::redact_responses(
            &mut responses,
            resource,
            &self.secrets_seen,
            &|response, rule| self.data_readers(&response.policy, rule),
        );
        responses
    }

    /// What of `rule`'s results `policy` builds from a Secret's data
    /// ([`redaction::templates`]); a policy or rule not found counts as
    /// building its message so (fail closed).
    fn data_readers(&self, policy: &Arc<PolicyMeta>, rule: &str) -> redaction::Readers {
        let index = self.data_readers.get_or_init(|| {
            let key = |meta: &Arc<PolicyMeta>| Arc::as_ptr(meta) as usize;
            let mut index = HashMap::new();
            for (policy, meta) in self.policies.iter().zip(&self.metas) {
                let by_rule = policy
                    .raw_rules
                    .iter()
                    .filter_map(|raw| {
                        let name = raw.get("name")?.as_str()?;
                        Some((name.to_string(), redaction::templates::kyverno_rule(raw)))
                    })
                    .collect();
                index.insert(key(meta), PolicyReaders::ByRule(by_rule));
            }
            for (policy, meta) in &self.validating {
                // A ValidatingPolicy has no params.
                let readers = redaction::templates::cel_body(policy.body(), false);
                index.insert(key(meta), PolicyReaders::Whole(readers));
            }
            for (policy, meta) in &self.admission {
                let readers =
                    redaction::templates::cel_body(policy.body(), policy.params_of_secrets());
                index.insert(key(meta), PolicyReaders::Whole(readers));
            }
            Arc::new(index)
        });
        let found = match index.get(&(Arc::as_ptr(policy) as usize)) {
            // An autogen rule reads as the rule it was made from.
            Some(PolicyReaders::ByRule(by_rule)) => by_rule.get(rule).or_else(|| {
                let written = rule
                    .strip_prefix("autogen-cronjob-")
                    .or_else(|| rule.strip_prefix("autogen-"))?;
                by_rule.get(written)
            }),
            Some(PolicyReaders::Whole(readers)) => Some(readers),
            None => None,
        };
        found.cloned().unwrap_or_else(|| redaction::Readers {
            message: true,
            pattern: true,
            ..redaction::Readers::default()
        })
    }

    /// The `validate.podSecurity` block of a policy's rule (autogen rules
    /// included) as evaluated for `kind`, for PolicyException exclusions.
    fn pod_security_block(&self, meta: &PolicyMeta, rule: &str, kind: &str) -> Option<&Value> {
        let index = self.metas.iter().position(|m| std::ptr::eq(&**m, meta))?;
        self.rules
            .get(index)?
            .for_kind(kind)
            .iter()
            .find(|r| r.name == rule)?
            .validate
            .as_ref()?
            .pod_security
            .as_ref()
    }

    /// The CEL PolicyExceptions attached to a CEL policy, each once per
    /// `policyRefs` entry naming it (vpol `NewProvider`).
    fn cel_exceptions_for(&self, meta: &PolicyMeta) -> Vec<&CelPolicyException> {
        self.cel_exceptions
            .iter()
            .flat_map(|e| std::iter::repeat_n(e, e.refs_to(&meta.kind, &meta.name)))
            .collect()
    }

    /// The JSON context Kyverno builds for a policy on a resource.
    fn base_context(
        &self,
        policy: &Policy,
        prepared: &Prepared<'_>,
        operation: &str,
        resource_values: &serde_json::Map<String, Value>,
        env: &Environment,
    ) -> EvalContext {
        let resource = prepared.resource;
        let mut base = EvalContext::new(self.cluster.clone());
        base.set_policy_namespace(policy.namespace.clone());
        if operation == "DELETE" {
            base.add_variable("request.oldObject", resource.clone());
        } else {
            base.add_variable("request.object", resource.clone());
        }
        if operation == "UPDATE" {
            base.add_variable("request.oldObject", resource.clone());
        }
        base.add_variable("request.namespace", json!(prepared.reference.namespace));
        if let Some(images) = &prepared.images {
            base.set_entry("images", images.clone());
        }
        if let Some(requester) = &env.requester {
            base.add_variable(
                "request",
                json!({
                    "roles": requester.roles,
                    "clusterRoles": requester.cluster_roles,
                    "userInfo": {"username": requester.username, "groups": requester.groups},
                }),
            );
            let (sa_name, sa_namespace) = service_account(&requester.username);
            base.set_entry("serviceAccountName", json!(sa_name));
            base.set_entry("serviceAccountNamespace", json!(sa_namespace));
        }
        base.add_variable("request.operation", json!(operation));
        for (key, value) in resource_values {
            base.add_variable(key, value.clone());
        }
        base
    }

    /// The CEL inputs [`cel::rule::scope_from_context`] reads from the
    /// [`Engine::base_context`] of a policy whose only value is the
    /// operation: the resource as `request.object` (`oldObject` on DELETE,
    /// both on UPDATE), the operation, the resource's namespace and the
    /// requester's userInfo.
    fn plain_cel_inputs(
        &self,
        prepared: &Prepared<'_>,
        operation: &str,
        env: &Environment,
    ) -> cel::CelInputs {
        let (object, old_object) = cel::admission_shape(operation, prepared.resource);
        let mut request = json!({
            "operation": operation,
            "namespace": prepared.reference.namespace,
        });
        if let Some(requester) = &env.requester {
            request["userInfo"] =
                json!({"username": requester.username, "groups": requester.groups});
        }
        let (request, namespace_object) =
            cel::rule::request_and_namespace(&request, &object, &old_object);
        cel::CelInputs {
            object,
            old_object,
            request,
            namespace_object,
        }
    }

    fn evaluate_policy(
        &self,
        policy: &Arc<Policy>,
        rules: &autogen::AutogenRules,
        meta: &Arc<PolicyMeta>,
        prepared: &Prepared<'_>,
        env: &Environment,
    ) -> PolicyResponse {
        let resource = prepared.resource;
        let resource_values = env
            .values
            .resource_values(&policy.name, &prepared.reference.name);
        let operation = resource_values
            .get("request.operation")
            .and_then(Value::as_str)
            .unwrap_or("CREATE")
            .to_string();
        // Values may rewrite the object itself; then matching must see the
        // rewritten object. Otherwise the context is built only once a rule
        // matches, which most policy/resource pairs never do.
        let rewrites_object = resource_values.keys().any(|key| {
            key == "request"
                || key.starts_with("request.object")
                || key.starts_with("request.oldObject")
        });
        let mut base = None;
        let effective = if rewrites_object {
            let ctx = self.base_context(policy, prepared, &operation, &resource_values, env);
            let pointer = if operation == "DELETE" {
                "/oldObject"
            } else {
                "/object"
            };
            let effective = ctx
                .entry("request")
                .and_then(|request| request.pointer(pointer))
                .cloned()
                .unwrap_or(Value::Null);
            base = Some(ctx);
            std::borrow::Cow::Owned(effective)
        } else {
            std::borrow::Cow::Borrowed(resource)
        };
        let effective: &Value = &effective;
        let mut identity = if rewrites_object {
            ResourceIdentity {
                equivalent_versions: self.options.equivalent_versions,
                ..ResourceIdentity::from_resource(effective)
            }
        } else {
            prepared.identity.clone()
        };
        self.apply_subresource(&mut identity, &env.values);
        let empty = BTreeMap::new();
        let namespace_labels = env
            .namespace_labels
            .get(&identity.namespace)
            .unwrap_or(&empty);
        let background = RequestInfo::default();
        let inputs = MatchInputs {
            namespace_labels,
            request: env.requester.as_ref().unwrap_or(&background),
            operation: &operation,
            policy_namespace: policy.namespace.as_deref(),
        };
        // Values set nothing but the operation (its default included).
        let no_values = resource_values.len() == 1
            && resource_values
                .get("request.operation")
                .is_some_and(Value::is_string);
        let mut results = Vec::new();
        let apply_one = policy.spec.apply_rules.as_deref() == Some("One");
        // Matching reads only the resource and the request, never an
        // earlier rule's outcome, so the rules that apply are known first:
        // the last one then takes the base context instead of a copy (one
        // copy of the resource fewer per policy and resource).
        let applicable: Vec<_> = rules
            .for_kind(&identity.gvk.kind)
            .iter()
            .filter(|rule| rule.has_validate())
            .filter(|rule| {
                matching::rule_matches(
                    &rule.match_resources,
                    rule.exclude.as_ref(),
                    &identity,
                    inputs,
                )
                .is_ok()
            })
            .collect();
        let last = applicable.len().saturating_sub(1);
        for (index, rule) in applicable.into_iter().enumerate() {
            let build = || self.base_context(policy, prepared, &operation, &resource_values, env);
            let rule_values = env.values.rule_values(&policy.name, &rule.name);
            let (outcome, resubstituted) = variables::tracking_resubstitution(|| {
                if rule_values.is_none() && reads_context_only(rule) {
                    // Nothing would change the rule's copy of the context, so
                    // it reads the base context wherever the rule stands; with
                    // no values at all, the CEL view of that context follows
                    // from the resource and the request alone.
                    let plain = no_values
                        .then(|| {
                            prepared.cel_scopes.plain(&operation, || {
                                self.plain_cel_inputs(prepared, &operation, env)
                            })
                        })
                        .flatten();
                    match plain {
                        Some(scope) => validate::validate_cel_in_scope(rule, scope, &self.cluster),
                        None => validate::validate_cel_rule(
                            rule,
                            base.get_or_insert_with(build),
                            &prepared.cel_scopes,
                        ),
                    }
                } else if no_values && rule_values.is_none() && rule.context.is_empty() {
                    // A rule without context entries or values only queries its
                    // context (foreach elements work on copies), and with no
                    // values the context is the same for every policy but for
                    // the policy's namespace, which only entry loads read.
                    let mut shared = prepared.shared_context(&operation, build);
                    shared.set_policy_namespace(policy.namespace.clone());
                    jmespath::within_rule_budget(jmespath::MAX_RULE_STEPS, || {
                        evaluate_rule(rule, &mut shared, effective, &prepared.cel_scopes)
                    })
                } else {
                    let mut ctx = if index == last {
                        base.take().unwrap_or_else(build)
                    } else {
                        base.get_or_insert_with(build).clone()
                    };
                    for (key, value) in rule_values.into_iter().flatten() {
                        ctx.add_variable(&key, value);
                    }
                    jmespath::within_rule_budget(jmespath::MAX_RULE_STEPS, || {
                        evaluate_rule(rule, &mut ctx, effective, &prepared.cel_scopes)
                    })
                }
            });
            let Some(outcome) = outcome else {
                continue;
            };
            let action = rule_action(policy, rule, &identity.namespace, namespace_labels);
            let applied = matches!(outcome.status, RuleStatus::Pass | RuleStatus::Fail);
            let mut properties = rule.report_properties.clone();
            properties.extend(outcome.properties);
            if resubstituted {
                properties.insert(RESUBSTITUTED_PROPERTY.to_string(), "true".to_string());
            }
            results.push(RuleResult {
                rule: rule.name.clone(),
                status: outcome.status,
                message: outcome.message,
                action,
                properties,
                skip_reason: None,
                before_exceptions: outcome.before_exceptions,
                resubstituted,
            });
            if apply_one && applied {
                break;
            }
        }
        PolicyResponse {
            policy: meta.clone(),
            resource: prepared.reference.clone(),
            rules: results,
        }
    }

    /// The request a CEL policy sees for a resource in this environment.
    fn request_facts<'a>(
        &self,
        prepared: &'a Prepared<'_>,
        env: &'a Environment,
    ) -> admission::RequestFacts<'a> {
        let operation = env
            .values
            .global_values
            .get("request.operation")
            .and_then(Value::as_str)
            // CONNECT (accepted for JMESPath preconditions) is not simulated
            // for CEL policies: Kyverno's CLI gives them a CREATE's shape
            // (processor/operation.go AdmissionRequestShape).
            .filter(|operation| matches!(*operation, "UPDATE" | "DELETE"))
            .unwrap_or("CREATE");
        let mut facts = admission::RequestFacts::new(prepared.resource, &prepared.identity);
        facts.namespace_labels = env.namespace_labels.get(&prepared.identity.namespace);
        facts.namespace_object = env.namespace_objects.get(&prepared.identity.namespace);
        facts.operation = operation;
        facts.user_info = env
            .requester
            .as_ref()
            .map(|requester| json!({"username": requester.username, "groups": requester.groups}));
        facts
    }

    /// Values files may declare a kind to be a subresource of a parent kind.
    fn apply_subresource(&self, identity: &mut ResourceIdentity, values: &Values) {
        for mapping in &values.subresources {
            let sub = &mapping.subresource;
            if sub.gvk() == identity.gvk {
                identity.gvk = mapping.parent_resource.gvk();
                identity.subresource = sub.plural.split('/').nth(1).unwrap_or("").to_string();
            }
        }
    }
}

/// What the engine derives from a resource once, for every policy.
struct Prepared<'a> {
    resource: &'a Value,
    reference: ResourceRef,
    identity: ResourceIdentity,
    images: Option<Value>,
    /// The resource's CEL inputs for `validate.cel` rules, converted once.
    cel_scopes: cel::ScopeCache,
    /// The JSON context of a request no values change, with its operation:
    /// built once per resource and lent to every rule that only reads it
    /// (see [`Engine::evaluate_policy`]), so the resource is copied into a
    /// context once, not once per policy, and its JMESPath conversion is
    /// shared too.
    json_context: std::cell::RefCell<Option<(String, EvalContext)>>,
}

impl Prepared<'_> {
    /// The shared context for `operation`, built by `build` the first time
    /// (or when the one held is for another operation).
    fn shared_context(
        &self,
        operation: &str,
        build: impl FnOnce() -> EvalContext,
    ) -> std::cell::RefMut<'_, EvalContext> {
        let mut slot = self.json_context.borrow_mut();
        if slot.as_ref().is_some_and(|(held, _)| held != operation) {
            *slot = None;
        }
        std::cell::RefMut::map(slot, |slot| {
            &mut slot
                .get_or_insert_with(|| (operation.to_string(), build()))
                .1
        })
    }
}

/// A CEL policy's response: one unnamed rule, or none when not matched.
fn cel_response(
    meta: &Arc<PolicyMeta>,
    prepared: &Prepared<'_>,
    outcome: Option<admission::AdmissionOutcome>,
    action: String,
) -> PolicyResponse {
    PolicyResponse {
        policy: meta.clone(),
        resource: prepared.reference.clone(),
        rules: outcome
            .map(|outcome| RuleResult {
                rule: outcome.rule.unwrap_or_default(),
                status: outcome.status,
                message: outcome.message,
                action: outcome.action.unwrap_or(action),
                properties: outcome.annotations,
                skip_reason: outcome.skip_reason,
                before_exceptions: false,
                resubstituted: false,
            })
            .into_iter()
            .collect(),
    }
}

/// Prefix of the message of the `error` result a panic while evaluating
/// one policy on one resource becomes ([`guarded`]).
pub const INTERNAL_ERROR: &str = "polscan internal error (a bug, please report it)";

/// Runs one policy's evaluation of one resource so that a panic in it (a
/// bug of polscan or of a library it calls) becomes that policy's `error`
/// result on that resource instead of unwinding through the scan: one
/// such policy must not stop every other policy and kind. The panic's own
/// message goes into the result.
fn guarded(
    meta: &Arc<PolicyMeta>,
    resource: &ResourceRef,
    evaluate: impl FnOnce() -> PolicyResponse,
) -> PolicyResponse {
    // Nothing is shared across the call that a panic could leave
    // half-updated for the next: the per-resource caches (`prepared`) are
    // rebuilt for every resource and hold derived values only.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(evaluate)).unwrap_or_else(|payload| {
        let cause = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic without a message".into());
        PolicyResponse::new(
            meta.clone(),
            resource.clone(),
            vec![RuleResult::new(
                "",
                RuleStatus::Error,
                format!("{INTERNAL_ERROR}: evaluating this policy panicked: {cause}"),
                "Audit",
            )],
        )
    })
}

/// `system:serviceaccount:<ns>:<name>` → (name, namespace).
fn service_account(username: &str) -> (String, String) {
    let Some(rest) = username.strip_prefix("system:serviceaccount:") else {
        return (String::new(), String::new());
    };
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.len() >= 2 {
        (parts[1].to_string(), parts[0].to_string())
    } else {
        (String::new(), String::new())
    }
}

/// The action a rule's result carries for a resource in `namespace`, as
/// Kyverno resolves it at admission (`ruleAction`, `failureActionForRule`,
/// pkg/engine/api/engineresponse.go): the rule's `failureActionOverrides`
/// matching the namespace, its `failureAction`, the policy's
/// `validationFailureActionOverrides`, then `validationFailureAction`
/// (Audit when unset).
fn rule_action(
    policy: &Policy,
    rule: &Rule,
    namespace: &str,
    namespace_labels: &BTreeMap<String, String>,
) -> String {
    let validate = rule.validate.as_ref();
    let own = validate
        .and_then(|v| {
            kyverno::policy::matching_override(
                &v.failure_action_overrides,
                namespace,
                namespace_labels,
            )
        })
        .or_else(|| {
            validate
                .and_then(|v| v.failure_action.as_deref())
                .and_then(policy::normalized_action)
        });
    own.or_else(|| {
        kyverno::policy::matching_override(
            &policy.spec.validation_failure_action_overrides,
            namespace,
            namespace_labels,
        )
    })
    .or_else(|| policy::normalized_action(policy.failure_action()))
    .unwrap_or("Audit")
    .to_string()
}

/// A `validate.cel` rule without context entries or (JMESPath)
/// preconditions: [`evaluate_rule`] would only read its context.
fn reads_context_only(rule: &Rule) -> bool {
    rule.context.is_empty()
        && rule.preconditions.as_ref().is_none_or(Value::is_null)
        && rule.validate.as_ref().is_some_and(|v| v.cel.is_some())
}

/// Context, preconditions and the validate handler for one matched rule.
fn evaluate_rule(
    rule: &Rule,
    ctx: &mut EvalContext,
    resource: &Value,
    cel_scopes: &cel::ScopeCache,
) -> Option<RuleOutcome> {
    if let Err(err) = ctx.add_entries(&rule.context) {
        return Some(
            RuleOutcome::new(RuleStatus::Error, format!("failed to load context: {err}"))
                .before_exceptions(),
        );
    }
    match conditions::evaluate(ctx, rule.preconditions.as_ref()) {
        Err(err) => {
            return Some(
                RuleOutcome::new(
                    RuleStatus::Error,
                    format!("failed to evaluate preconditions: {err}"),
                )
                .before_exceptions(),
            )
        }
        Ok(outcome) if !outcome.passed => {
            let message = if outcome.message.is_empty() {
                "preconditions not met".to_string()
            } else {
                format!("preconditions not met; {}", outcome.message)
            };
            return Some(RuleOutcome::new(RuleStatus::Skip, message));
        }
        Ok(_) => {}
    }
    validate::validate_rule(rule, ctx, resource, cel_scopes)
}

#[cfg(test)]
mod tests;
