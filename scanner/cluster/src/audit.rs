//! An offline audit: policy documents and resource documents (already read
//! from files) enter; findings per (policy, rule, resource) and the problems
//! met on the way (invalid policies, unsupported kinds) leave. Resources are
//! evaluated in parallel with rayon; the output order is deterministic.
//!
//! [`audit`] holds every resource and finding. A caller that streams
//! resources builds the same audit from its parts: [`admit`] each document
//! and [`ResourceIndex::record`] it in a first pass, then an [`Auditor`]
//! evaluates the documents of a second pass one at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use polscan_engine::ValueExt;
use rayon::prelude::*;
use serde_json::Value;

use crate::engine::context::ClusterData;
use crate::engine::document_kind::DocumentKind;
use crate::engine::loading::{LoadProblem, LoadedPolicies};
use crate::engine::matching::{string_map, RequestInfo};
use crate::engine::policy::PolicyMeta;
use crate::engine::supplied_data::SuppliedData;
use crate::engine::values::Values;
use crate::engine::{Engine, EngineOptions, Environment, ResourceRef, RuleResult, RuleStatus};
use crate::loader::{self, Document, Origin};

/// What an offline audit reads, as the Kyverno CLI's `apply` takes it.
#[derive(Debug, Clone, Default)]
pub struct AuditInput {
    /// Policies, PolicyExceptions and ValidatingAdmissionPolicyBindings;
    /// an invalid one is a [`Problem`], the others load.
    pub policy_documents: Vec<Document>,
    /// The resources to evaluate; policy documents among them are not
    /// evaluated, and one without a kind is a [`Problem`].
    pub resource_documents: Vec<Document>,
    /// The Kyverno CLI values file (`cli.kyverno.io/v1alpha1` `Values`):
    /// variables, namespace labels, Namespaces and subresources.
    pub values: Values,
    /// Who makes the request (`--userinfo`), for `userInfo` matches and
    /// `request.userInfo`; None: none, as in a background scan.
    pub requester: Option<RequestInfo>,
    /// Evaluate `background: false` policies too (admission-time semantics).
    pub include_non_background: bool,
    /// A Kyverno CLI context document answering `resource.Get`/`List` and
    /// image metadata lookups of CEL policies.
    pub context: Option<Document>,
}

/// One rule result on one resource, with where the resource came from.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The policy of the rule.
    pub policy: Arc<PolicyMeta>,
    /// The resource evaluated.
    pub resource: ResourceRef,
    /// The document the resource was read from; None for an object a
    /// scan listed.
    pub origin: Option<Origin>,
    /// The rule's result.
    pub result: RuleResult,
}

/// A background-scan finding of ClusterPolicy `policy`'s rule `check` on Pod
/// `namespace/name` (uid = name), for tests that push findings in.
#[cfg(test)]
pub(crate) fn pod_finding(
    policy: &str,
    namespace: &str,
    name: &str,
    status: crate::engine::RuleStatus,
) -> Finding {
    Finding {
        policy: Arc::new(crate::engine::policy::PolicyMeta {
            kind: "ClusterPolicy".into(),
            name: policy.into(),
            namespace: None,
            annotations: BTreeMap::new(),
            process: "background scan",
        }),
        resource: crate::engine::ResourceRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: namespace.into(),
            name: name.into(),
            uid: name.into(),
        },
        origin: None,
        result: crate::engine::RuleResult::new(
            "check",
            status,
            format!("{policy} on {name}"),
            "Audit",
        ),
    }
}

impl Finding {
    /// The status a report shows: `policies.kyverno.io/scored: "false"`
    /// turns a failure into a warning.
    pub fn reported_status(&self) -> RuleStatus {
        if self.result.status == RuleStatus::Fail && !self.policy.scored() {
            RuleStatus::Warn
        } else {
            self.result.status
        }
    }
}

/// Something the user should know that is not a rule result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The document it is about; None when it is about the run (a
    /// binding naming no policy, a filter naming nothing).
    pub origin: Option<Origin>,
    /// What happened, as shown to the user.
    pub message: String,
    /// A policy that could not be used: the audit is incomplete.
    pub invalid_policy: bool,
}

impl Problem {
    /// A note on the run, not on a document or a policy: no origin, and
    /// the audit stays complete.
    pub fn note(message: impl Into<String>) -> Problem {
        Problem {
            origin: None,
            message: message.into(),
            invalid_policy: false,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{origin}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What an audit found: the findings, the problems, and how much it
/// evaluated.
#[derive(Debug, Clone, Default)]
pub struct AuditOutcome {
    /// Every rule result, in [`finding_order`] as [`audit`] and a scan
    /// give them.
    pub findings: Vec<Finding>,
    /// The problems met, invalid policies among them.
    pub problems: Vec<Problem>,
    /// Policies loaded and evaluated (ClusterPolicies, Policies,
    /// ValidatingPolicies, ValidatingAdmissionPolicies).
    pub policies_evaluated: usize,
    /// Resources evaluated.
    pub resources_evaluated: usize,
}

impl AuditOutcome {
    /// Policies that could not be parsed; their rules did not run.
    pub fn invalid_policies(&self) -> usize {
        self.problems.iter().filter(|p| p.invalid_policy).count()
    }

    /// Findings whose reported status ([`Finding::reported_status`]) is
    /// `status`.
    pub fn count(&self, status: RuleStatus) -> usize {
        self.findings
            .iter()
            .filter(|f| f.reported_status() == status)
            .count()
    }
}

/// Policies parsed from documents ([`LoadedPolicies`]), ready to become an
/// [`Engine`], with where each document came from to name it in problems.
pub struct PolicySet {
    /// The policies, bindings and exceptions loaded, and the problems met.
    pub loaded: LoadedPolicies,
    /// Where each document loaded came from, by position.
    origins: Vec<Origin>,
}

impl PolicySet {
    /// Parses every policy document; an invalid one is a problem and the
    /// others load. Without `include_non_background`, each policy with
    /// `background: false` is said not to be audited.
    pub fn load(documents: &[Document], include_non_background: bool) -> PolicySet {
        let mut loaded = LoadedPolicies::load(documents.iter().map(|doc| &doc.value));
        if !include_non_background {
            let skipped: Vec<LoadProblem> = loaded
                .policies
                .iter()
                .filter(|policy| !policy.background())
                .map(|policy| LoadProblem::new(
                    None,
                    format!(
                        "policy {} has background: false and is not audited: only admission evaluates it, as Kyverno's background scan skips it (`polscan apply --include-non-background` audits files with it; `scan` has no such flag)",
                        policy.name
                    ),
                    false,
                ))
                .collect();
            loaded.problems.extend(skipped);
            // A ValidatingPolicy says it otherwise (walk28 F12b).
            let skipped: Vec<LoadProblem> = loaded
                .validating_not_in_background()
                .into_iter()
                .map(|name| LoadProblem::new(
                    None,
                    format!(
                        "{name} has evaluation.background.enabled: false and is not audited: only admission evaluates it, as Kyverno's background scan skips it (`polscan apply --include-non-background` audits files with it)"
                    ),
                    false,
                ))
                .collect();
            loaded.problems.extend(skipped);
        }
        loaded.problems.extend(
            names_shared_across_kinds(documents.iter().map(|doc| &doc.value))
                .into_iter()
                .map(|message| LoadProblem::new(None, message, false)),
        );
        PolicySet {
            loaded,
            origins: documents.iter().map(|doc| doc.origin.clone()).collect(),
        }
    }

    /// The problems met so far (loading, `background: false` policies).
    pub fn problems(&self) -> Vec<Problem> {
        self.loaded
            .problems
            .iter()
            .map(|problem| with_origin(&self.origins, problem.clone()))
            .collect()
    }

    /// Attaches bindings to their ValidatingAdmissionPolicies (warning about
    /// bindings naming no known policy) and builds the engine.
    pub fn into_engine(
        self,
        options: EngineOptions,
        data: Arc<dyn ClusterData>,
    ) -> (Engine, Vec<Problem>) {
        let (engine, problems) = self.loaded.into_engine(options);
        let problems = problems
            .into_iter()
            .map(|problem| with_origin(&self.origins, problem))
            .collect();
        (engine.with_cluster_data(data), problems)
    }
}

/// One message per policy name two policy kinds share (a ClusterPolicy
/// beside the ValidatingPolicy or VAP it is migrating to): Kyverno keeps
/// them apart, but a report result names its policy without the kind, so
/// their results mix under one name (walk28 F17).
fn names_shared_across_kinds<'a>(documents: impl Iterator<Item = &'a Value>) -> Vec<String> {
    const POLICY_KINDS: [&str; 5] = [
        "ClusterPolicy",
        "Policy",
        "ValidatingPolicy",
        "NamespacedValidatingPolicy",
        "ValidatingAdmissionPolicy",
    ];
    let mut kinds: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for document in documents {
        let Some(kind) = document
            .str_field("kind")
            .and_then(|kind| POLICY_KINDS.iter().find(|k| **k == kind))
        else {
            continue;
        };
        let Some(name) = document.str_at("/metadata/name") else {
            continue;
        };
        let named = match document.str_at("/metadata/namespace") {
            Some(namespace) if matches!(*kind, "Policy" | "NamespacedValidatingPolicy") => {
                format!("{namespace}/{name}")
            }
            _ => name.to_string(),
        };
        let entry = kinds.entry(named).or_default();
        if !entry.contains(kind) {
            entry.push(kind);
        }
    }
    kinds
        .into_iter()
        .filter(|(_, kinds)| kinds.len() > 1)
        .map(|(name, kinds)| {
            format!(
                "policies of {} kinds are named {name} ({}): reports name a policy without its kind, so their results mix under one name and the evidence judges neither — rename one, or delete the one being replaced",
                kinds.len(),
                kinds.join(", ")
            )
        })
        .collect()
}

/// A problem of the loading, naming its document's origin.
fn with_origin(origins: &[Origin], problem: LoadProblem) -> Problem {
    Problem {
        origin: problem
            .document
            .and_then(|index| origins.get(index))
            .cloned(),
        message: problem.message,
        invalid_policy: problem.invalid_policy,
    }
}

/// What one resource document becomes before evaluation.
pub enum Admitted {
    /// A policy document among the resources: not audited.
    Policy,
    /// A document without a kind: not audited, and worth a warning.
    NoKind(Problem),
    /// A resource to evaluate, prepared as the Kyverno CLI prepares it.
    Resource(Value, Origin),
}

/// Sorts one resource document into what the audit does with it.
pub fn admit(doc: Document) -> Admitted {
    if DocumentKind::of(&doc.value).is_some() {
        return Admitted::Policy;
    }
    if doc.value.str_field("kind").unwrap_or("").is_empty() {
        return Admitted::NoKind(Problem {
            origin: Some(doc.origin),
            message: "document has no kind, ignored".into(),
            invalid_policy: false,
        });
    }
    let mut value = doc.value;
    loader::normalize_resource(&mut value);
    Admitted::Resource(value, doc.origin)
}

/// What evaluating any one resource needs to know about all of them:
/// Namespace labels and objects (a Pod may come before its Namespace) and
/// the objects a `paramRef` may select. Filled one document at a time, so a
/// caller that streams resources never holds them all.
#[derive(Debug, Default)]
pub struct ResourceIndex {
    /// Kinds some policy names as its `paramKind`; `None` when a
    /// `paramKind` could not be read, and every resource is kept.
    param_kinds: Option<BTreeSet<String>>,
    namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    namespace_objects: BTreeMap<String, Value>,
    params: Vec<Value>,
    problems: Vec<Problem>,
    resources: usize,
}

impl ResourceIndex {
    /// An empty index for auditing with these policy documents.
    pub fn new(policy_documents: &[Document]) -> ResourceIndex {
        let mut kinds = Some(BTreeSet::new());
        for doc in policy_documents {
            collect_param_kinds(&doc.value, &mut kinds);
        }
        ResourceIndex {
            param_kinds: kinds,
            ..ResourceIndex::default()
        }
    }

    /// Notes what the audit needs of one admitted document.
    pub fn record(&mut self, admitted: &Admitted) {
        let resource = match admitted {
            Admitted::Policy => return,
            Admitted::NoKind(problem) => {
                self.problems.push(problem.clone());
                return;
            }
            Admitted::Resource(resource, _) => resource,
        };
        self.resources += 1;
        let kind = resource.str_field("kind").unwrap_or("");
        if kind == "Namespace" {
            if let Some(name) = resource.str_at("/metadata/name") {
                self.namespace_labels.insert(
                    name.to_string(),
                    string_map(resource.pointer("/metadata/labels")),
                );
                self.namespace_objects
                    .insert(name.to_string(), resource.clone());
            }
        }
        // Params are looked up by apiVersion and kind: objects of no
        // `paramKind` can never be selected, so they are not kept.
        if self
            .param_kinds
            .as_ref()
            .is_none_or(|kinds| kinds.contains(kind))
        {
            self.params.push(resource.clone());
        }
    }

    /// Resources recorded (the documents the audit evaluates).
    pub fn resources(&self) -> usize {
        self.resources
    }

    /// Labels of the Namespace documents recorded, by name.
    pub fn namespace_labels(&self) -> &BTreeMap<String, BTreeMap<String, String>> {
        &self.namespace_labels
    }
}

/// Every `paramKind`'s kind in a policy document; one that cannot be read
/// (no kind string) makes the set `None`: every object may be a param.
fn collect_param_kinds(value: &Value, kinds: &mut Option<BTreeSet<String>>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == "paramKind" && !item.is_null() {
                    match item.str_field("kind") {
                        Some(kind) => {
                            if let Some(set) = kinds {
                                set.insert(kind.to_string());
                            }
                        }
                        None => *kinds = None,
                    }
                }
                collect_param_kinds(item, kinds);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_param_kinds(item, kinds);
            }
        }
        _ => {}
    }
}

/// The order of an audit's findings: by policy name, rule and resource;
/// findings equal in these keep the order they were evaluated in.
pub fn finding_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (&a.policy.name, &a.result.rule, &a.resource).cmp(&(
        &b.policy.name,
        &b.result.rule,
        &b.resource,
    ))
}

/// The policies, engine and environment of an audit, ready to evaluate
/// resources one at a time (from any thread).
pub struct Auditor {
    engine: Engine,
    env: Environment,
    problems: Vec<Problem>,
    policies_evaluated: usize,
    resources_evaluated: usize,
}

impl Auditor {
    /// Loads the policies of `input` (whose `resource_documents` are not
    /// read: `index` stands for them).
    pub fn new(input: AuditInput, index: ResourceIndex) -> Auditor {
        let set = PolicySet::load(&input.policy_documents, input.include_non_background);
        let ResourceIndex {
            mut namespace_labels,
            mut namespace_objects,
            params,
            mut problems,
            resources,
            ..
        } = index;
        namespace_labels.extend(input.values.namespace_labels());
        namespace_objects.extend(input.values.namespace_objects());
        let mut data = SuppliedData::default();
        if let Some(context) = &input.context {
            match SuppliedData::from_context(&context.value) {
                Ok(found) => data = found,
                Err(err) => problems.push(Problem {
                    origin: Some(context.origin.clone()),
                    message: format!("context file not used: {err}"),
                    invalid_policy: false,
                }),
            }
        }
        let data = data.with_params(params);
        let policies_evaluated = set.loaded.len();
        let mut options = EngineOptions::default();
        options.background_only = !input.include_non_background;
        // The policies given are the audit's whole set: a misspelt name in
        // an exception annotation is worth a warning. Exact versions, and
        // no resourceFilters: the Kyverno CLI applies none to files.
        options.all_policies_known = true;
        let (engine, more_problems) = set.into_engine(options, Arc::new(data));
        problems.extend(more_problems);
        let mut env = Environment::default();
        env.values = input.values;
        env.namespace_labels = namespace_labels;
        env.requester = input.requester;
        env.namespace_objects = namespace_objects;
        Auditor {
            engine,
            env,
            problems,
            policies_evaluated,
            resources_evaluated: resources,
        }
    }

    /// The findings of one resource, in [`finding_order`].
    pub fn evaluate(&self, resource: &Value, origin: &Origin) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self
            .engine
            .evaluate(resource, &self.env)
            .into_iter()
            .flat_map(|response| {
                let policy = response.policy;
                let resource = response.resource;
                response.rules.into_iter().map(move |result| Finding {
                    policy: policy.clone(),
                    resource: resource.clone(),
                    origin: Some(origin.clone()),
                    result,
                })
            })
            .collect();
        findings.sort_by(finding_order);
        findings
    }

    /// Problems met before evaluating: documents without a kind, the
    /// context file, invalid policies and bindings.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// How many policies are evaluated.
    pub fn policies_evaluated(&self) -> usize {
        self.policies_evaluated
    }

    /// How many resources the index recorded.
    pub fn resources_evaluated(&self) -> usize {
        self.resources_evaluated
    }

    /// An outcome of these findings with the audit's problems and counts.
    pub fn outcome(self, findings: Vec<Finding>) -> AuditOutcome {
        AuditOutcome {
            findings,
            problems: self.problems,
            policies_evaluated: self.policies_evaluated,
            resources_evaluated: self.resources_evaluated,
        }
    }
}

/// Runs the audit.
pub fn audit(mut input: AuditInput) -> AuditOutcome {
    let mut index = ResourceIndex::new(&input.policy_documents);
    let mut resources: Vec<(Value, Origin)> = Vec::new();
    for doc in std::mem::take(&mut input.resource_documents) {
        let admitted = admit(doc);
        index.record(&admitted);
        if let Admitted::Resource(value, origin) = admitted {
            resources.push((value, origin));
        }
    }
    let auditor = Auditor::new(input, index);
    let mut findings: Vec<Finding> = resources
        .par_iter()
        .flat_map_iter(|(resource, origin)| auditor.evaluate(resource, origin))
        .collect();
    // Stable: each resource's findings are in this order already, and
    // equal keys keep the order of the resources.
    findings.sort_by(finding_order);
    auditor.outcome(findings)
}

/// CEL PolicyExceptions of every served version load beside kyverno.io
/// ones (`policies.kyverno.io` v1alpha1, v1beta1, v1).
#[cfg(test)]
mod cel_exception_loading_tests {
    use serde_json::Value;

    use super::{PolicySet, Problem};
    use crate::loader::{Document, Origin};

    fn doc(yaml: &str) -> Value {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    #[test]
    fn policy_sets_load_every_version_beside_kyverno_io_exceptions() {
        let documents: Vec<Document> = ["v1alpha1", "v1beta1", "v1"]
            .iter()
            .map(|version| {
                format!(
                    "apiVersion: policies.kyverno.io/{version}
kind: PolicyException
metadata: {{name: e-{version}}}
spec: {{policyRefs: [{{name: p, kind: ValidatingPolicy}}]}}
"
                )
            })
            .chain([
                "apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: classic}
spec:
  exceptions: [{policyName: p, ruleNames: [r]}]
  match: {any: [{resources: {kinds: [Pod]}}]}
"
                .to_string(),
                "apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: broken}
spec: {policyRefs: [{name: p}]}
"
                .to_string(),
            ])
            .enumerate()
            .map(|(i, text)| Document {
                value: doc(&text),
                origin: Origin {
                    path: "exceptions.yaml".into(),
                    index: i + 1,
                    line: 1,
                },
            })
            .collect();
        let set = PolicySet::load(&documents, false);
        let names: Vec<&str> = set
            .loaded
            .cel_exceptions
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, vec!["e-v1alpha1", "e-v1beta1", "e-v1"]);
        assert_eq!(set.loaded.exceptions.len(), 1);
        let problems = set.problems();
        let invalid: Vec<&Problem> = problems.iter().filter(|p| p.invalid_policy).collect();
        assert_eq!(invalid.len(), 1, "{problems:?}");
        assert!(
            invalid[0].message.contains("broken"),
            "{}",
            invalid[0].message
        );
    }
}

/// walk28 F17: policies of two kinds sharing a name are said at load.
#[cfg(test)]
mod shared_name_tests {
    use serde_json::json;

    #[test]
    fn a_name_two_policy_kinds_share_is_said_once() {
        let documents = [
            json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "limits"}}),
            json!({"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy", "metadata": {"name": "limits"}}),
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "limits"}}),
            json!({"apiVersion": "kyverno.io/v1", "kind": "Policy", "metadata": {"name": "limits", "namespace": "team"}}),
            json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "alone"}}),
        ];
        let messages = super::names_shared_across_kinds(documents.iter());
        assert_eq!(
            messages,
            ["policies of 2 kinds are named limits (ClusterPolicy, ValidatingPolicy): reports name a policy without its kind, so their results mix under one name and the evidence judges neither — rename one, or delete the one being replaced"]
        );
    }
}

/// walk28 F12b: a ValidatingPolicy left out of background scans was not
/// said, where a ClusterPolicy with `background: false` is.
#[cfg(test)]
mod background_tests {
    use serde_json::json;

    use super::PolicySet;
    use crate::loader::{Document, Origin};

    #[test]
    fn a_validating_policy_not_in_background_is_said() {
        let document = Document {
            value: json!({
                "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
                "metadata": {"name": "admission-only"},
                "spec": {
                    "evaluation": {"background": {"enabled": false}},
                    "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]},
                    "validations": [{"expression": "true"}]
                }
            }),
            origin: Origin {
                path: "vp.yaml".into(),
                index: 1,
                line: 1,
            },
        };
        let set = PolicySet::load(std::slice::from_ref(&document), false);
        let said: Vec<String> = set.problems().iter().map(|p| p.message.clone()).collect();
        assert!(
            said.iter().any(|m| m.starts_with(
                "ValidatingPolicy admission-only has evaluation.background.enabled: false and is not audited"
            )),
            "{said:?}"
        );
        assert!(PolicySet::load(std::slice::from_ref(&document), true)
            .problems()
            .is_empty());
        // A NamespacedValidatingPolicy is called so (verify28).
        let mut namespaced = document;
        namespaced.value["kind"] = json!("NamespacedValidatingPolicy");
        namespaced.value["metadata"]["namespace"] = json!("team-a");
        let set = PolicySet::load(&[namespaced], false);
        assert!(
            set.problems().iter().any(|p| p.message.starts_with(
                "NamespacedValidatingPolicy team-a/admission-only has evaluation.background.enabled: false"
            )),
            "{:?}",
            set.problems()
        );
    }
}
