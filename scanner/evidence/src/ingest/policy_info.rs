//! What the evidence needs to know about one policy, read from its stored
//! document: its action (Audit or Enforce, per rule where rules set their
//! own, per namespace where action overrides set it, as Kyverno resolves
//! it), the kinds it matches, when it last changed, the texts its
//! annotations give, the judging content of its rules
//! ([`super::rule_content`]), and the exact change that returns it to Audit. A policy
//! document (with the ValidatingAdmissionPolicyBindings, for a
//! ValidatingAdmissionPolicy's action) enters; a [`PolicyInfo`] leaves.
//! For a policy kind ([`POLICY_DOCUMENT_KINDS`]), the API group serving it
//! and who enforces it leave ([`policy_kind_group`]).

use std::collections::BTreeSet;

use super::operation_tests::{self, Holds, OPERATIONS};
use super::rule_content::RuleContent;
use crate::run::record_format::{rules_content, DocumentDigest};
use chrono::{DateTime, Utc};
use polscan_engine::kyverno::policy::ANNOTATION_AUTOGEN_CONTROLLERS;
use polscan_engine::reads::Step;
use polscan_engine::ValueExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use polscan_engine::policy::{
    normalized_action, ANNOTATION_CATEGORY, ANNOTATION_DESCRIPTION, ANNOTATION_SCORED,
    ANNOTATION_SEVERITY, ANNOTATION_TITLE,
};

/// Kinds of policy documents the evidence describes.
pub const POLICY_DOCUMENT_KINDS: [&str; 5] = [
    "ClusterPolicy",
    "Policy",
    "ValidatingPolicy",
    "NamespacedValidatingPolicy",
    "ValidatingAdmissionPolicy",
];

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

/// The action of a policy or rule whose document states none Kyverno
/// accepts (Kyverno refuses the policy).
pub const ACTION_INVALID: &str = "Invalid";
/// The action (and kind) of a policy only reports name: nothing is known
/// of it.
pub const ACTION_UNKNOWN: &str = "unknown";

/// One rule of a policy, an item of a policy's `rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    /// The rule's name: a ValidatingAdmissionPolicy's one rule has the
    /// policy's, a ValidatingPolicy's none (its results name no rule).
    pub name: String,
    /// `Audit` or `Enforce` (Kyverno's words; a CEL policy's `Deny` is
    /// `Enforce`), `Mixed` when action overrides enforce in some namespaces
    /// only, `Invalid` when the document's action is none Kyverno accepts.
    pub action: String,
    /// Kind names the rule matches (`*` for any), as [`PolicyInfo::kinds`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Action overrides in the order Kyverno tries them (the rule's own
    /// `failureActionOverrides`, then the policy's
    /// `validationFailureActionOverrides` unless the rule sets its own
    /// action): the first whose namespaces match decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<ActionOverride>,
    /// The action where no override matches (when there are overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<String>,
}

/// One `validationFailureActionOverrides` / `failureActionOverrides` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOverride {
    /// `Audit` or `Enforce`.
    pub action: String,
    /// Namespace patterns (Kyverno wildcards); `*` when the entry names
    /// none and has no selector (it applies everywhere).
    pub namespaces: Vec<String>,
    /// A `namespaceSelector` also decides: the namespaces' labels are not
    /// in the evidence, so a match is only possible, not certain.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub namespace_selector: bool,
}

impl ActionOverride {
    fn may_match(&self, namespace: &str) -> bool {
        if self.namespaces.is_empty() {
            // Only a selector: any namespace might carry its labels.
            return self.namespace_selector;
        }
        self.namespaces
            .iter()
            .any(|pattern| polscan_engine::value_types::wildcard::matches(pattern, namespace))
    }

    fn describe(&self) -> String {
        format!("{} in {}", self.action, self.scope())
    }

    /// The namespaces the entry applies to, in words: `namespace(s) web`,
    /// `every namespace`, `namespaces matching a namespaceSelector`.
    fn scope(&self) -> String {
        let mut text = if self.namespaces.is_empty() {
            "namespaces matching a namespaceSelector".to_string()
        } else if self.namespaces.iter().any(|n| n == "*") && !self.namespace_selector {
            "every namespace".to_string()
        } else {
            format!("namespace(s) {}", self.namespaces.join(", "))
        };
        if self.namespace_selector && !self.namespaces.is_empty() {
            text.push_str(" (if they match its namespaceSelector)");
        }
        text
    }
}

impl RuleInfo {
    /// The action Kyverno takes on a violation in `namespace` (`""` for a
    /// cluster-scoped resource), as Kyverno resolves the overrides. An
    /// override with a namespaceSelector counts as matching: the labels
    /// are unknown here, and an Enforce that may apply must not be missed.
    pub fn action_in(&self, namespace: &str) -> &str {
        // As Kyverno: a cluster-scoped resource's namespace is "", which
        // `*` (or an entry naming no namespace) matches.
        if let Some(found) = self.overrides.iter().find(|o| o.may_match(namespace)) {
            return &found.action;
        }
        self.default_action.as_deref().unwrap_or(&self.action)
    }

    /// The action where no override matches: the rule's own (or the
    /// policy's), the one [`PolicyInfo::enforce`] switches.
    pub fn base_action(&self) -> &str {
        self.default_action.as_deref().unwrap_or(&self.action)
    }

    /// Where an Audit override keeps the rule in Audit whatever its own
    /// action (Kyverno tries the overrides first): each such entry's
    /// namespaces in words; empty without one.
    pub fn audit_override_scopes(&self) -> Vec<String> {
        self.overrides
            .iter()
            .filter(|o| o.action == "Audit")
            .map(ActionOverride::scope)
            .collect()
    }

    /// Whether some override sets another action than the rule's own:
    /// one that repeats it changes nothing now (walk39 F16: "Audit (Audit
    /// in namespace(s) team-c; Audit elsewhere)").
    fn overrides_differ(&self) -> bool {
        self.overrides
            .iter()
            .any(|o| o.action != self.base_action())
    }

    /// The action as one line: `Enforce in namespace(s) web; Audit elsewhere`.
    pub fn action_summary(&self) -> String {
        if !self.overrides_differ() {
            return self.base_action().to_string();
        }
        let mut parts: Vec<String> = self
            .overrides
            .iter()
            .map(ActionOverride::describe)
            .collect();
        parts.push(format!(
            "{} elsewhere",
            self.default_action.as_deref().unwrap_or(&self.action)
        ));
        parts.join("; ")
    }
}

/// A change of a policy's action: the one that puts it back into Audit
/// ([`PolicyInfo::rollback`]) or the one that switches it to Enforce
/// ([`PolicyInfo::enforce`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// The field(s) to change, as paths in the policy.
    pub fields: Vec<String>,
    /// The value set: Audit's (`Audit`, `[Audit]`) for a rollback,
    /// Enforce's (`Enforce`, `[Deny]`) for a promotion.
    pub value: String,
    /// A kubectl command making the change.
    pub command: String,
}

/// A policy as read from its document (or only named by reports): the
/// policy fields of an item of evidence.json's `policies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInfo {
    /// `ClusterPolicy`, `Policy`, `ValidatingPolicy`,
    /// `NamespacedValidatingPolicy`, `ValidatingAdmissionPolicy`, or
    /// `unknown` when only reports name it.
    pub kind: String,
    /// The policy's name.
    pub name: String,
    /// A namespaced policy's namespace; None for a cluster-wide one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `policies.kyverno.io/title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `policies.kyverno.io/description`: the remediation text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `policies.kyverno.io/severity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// `policies.kyverno.io/category`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `Audit`, `Enforce`, `Mixed` when rules or namespaces differ,
    /// `Invalid` (Kyverno refuses the policy) or `unknown` (only reports
    /// name the policy).
    pub action: String,
    /// Where the action differs by namespace or rule: which enforce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_detail: Option<String>,
    /// Its rules, as the document has them.
    pub rules: Vec<RuleInfo>,
    /// Kind names the policy matches (`*` for any).
    pub kinds: Vec<String>,
    /// `policies.kyverno.io/scored: "false"`: its failures are reported as
    /// `warn`, yet Kyverno's admission rejects them all the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unscored: bool,
    /// `background: false` (a ValidatingPolicy's
    /// `evaluation.background.enabled: false`): background scans, Kyverno's
    /// and polscan's by default, do not evaluate it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub background_off: bool,
    /// `spec.admission: false` (a ValidatingPolicy's
    /// `evaluation.admission.enabled: false`): Kyverno never applies it
    /// at admission, so Enforce blocks nothing (verify30 N8).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admission_off: bool,
    /// A ValidatingPolicy's `evaluation.mode` other than `Kubernetes`
    /// (`JSON`, `Envoy`): it is for other payloads, and Kyverno's
    /// admission never applies it (verify31 F7); `admission_off` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_mode: Option<String>,
    /// The Pod controllers the policy names for its autogen (kinds:
    /// `Deployment`, `CronJob`): a Kyverno policy's
    /// `pod-policies.kyverno.io/autogen-controllers` (empty for `none`), a
    /// ValidatingPolicy's `spec.autogen.podControllers.controllers` (its
    /// resources, as kinds). None when it names none: Kyverno's default
    /// set ([`autogen_reach`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autogen_controllers: Option<Vec<String>>,
    /// The namespaces a ClusterPolicy's validate rules are confined to by
    /// their `match` (`resources.namespaces`, literal names), when every
    /// rule is: a scan of those namespaces covers all Kyverno enforces it
    /// on (walk32 F4). None when some rule may reach any other namespace
    /// (no list, a wildcard, a selector alone), and for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_namespaces: Option<Vec<String>>,
    /// What its match reaches that only admission sees: subresources,
    /// filters on DELETE or CONNECT alone, and the DELETE requests a deny
    /// or CEL rule judges ([`admission_only_parts`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admission_only: Vec<String>,
    /// The latest change the server recorded (managedFields, else creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed: Option<DateTime<Utc>>,
    /// The document's key and content digest: the exact policy the
    /// verdict is about, and whether it is the one the scan read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<DocumentDigest>,
    /// The SHA-256 (hex) of what the policy judges by, its action left
    /// out ([`rules_digest`]): two clusters whose policies have the same
    /// one evaluate resources alike, whichever action each enforces with.
    /// None when only reports name the policy (or a package predates it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_digest: Option<String>,
    /// Other policies of the same `namespace/name` and another kind
    /// (`ValidatingPolicy require-limits` beside a ClusterPolicy of that
    /// name): reports name a policy without its kind, so their results
    /// cannot be told apart (walk28 F17). Not written to the package.
    #[serde(skip)]
    pub name_shared_with: Vec<String>,
    /// The change that returns it to Audit; None when only reports name
    /// it, or its kind is one the cluster does not serve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    /// The change that switches it to Enforce, the rollback's mirror; None
    /// when the rollback is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce: Option<Rollback>,
    /// The Flux object that reconciles the policy from Git
    /// (`Kustomization flux-system/apps`, `HelmRelease kyverno/policies`),
    /// from its `kustomize.toolkit.fluxcd.io/*` or
    /// `helm.toolkit.fluxcd.io/*` labels (for a ValidatingAdmissionPolicy,
    /// else its bindings'): Flux reverts an in-cluster patch. None without
    /// such labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux_owner: Option<String>,
    /// The judging content of its rules, for a later `--since` to diff;
    /// None when only reports name the policy, or in a package made before
    /// polscan kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_content: Option<RuleContent>,
}

impl PolicyInfo {
    /// The name results use: `namespace/name` for namespaced policies.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{namespace}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// A policy only reports name: nothing is known of it, least of all
    /// its action.
    pub fn unknown(qualified: &str) -> PolicyInfo {
        let (namespace, name) = match qualified.split_once('/') {
            Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
            None => (None, qualified.to_string()),
        };
        PolicyInfo {
            kind: ACTION_UNKNOWN.into(),
            name,
            namespace,
            title: None,
            description: None,
            severity: None,
            category: None,
            action: ACTION_UNKNOWN.into(),
            action_detail: None,
            rules: Vec::new(),
            kinds: Vec::new(),
            unscored: false,
            background_off: false,
            admission_off: false,
            evaluation_mode: None,
            autogen_controllers: None,
            match_namespaces: None,
            admission_only: Vec::new(),
            last_changed: None,
            digest: None,
            rules_digest: None,
            name_shared_with: Vec::new(),
            rollback: None,
            enforce: None,
            flux_owner: None,
            rule_content: None,
        }
    }

    /// True when Kyverno enforces some rule somewhere.
    pub fn enforces(&self) -> bool {
        matches!(self.action.as_str(), "Enforce" | "Mixed")
    }

    /// Where Audit overrides (`validationFailureActionOverrides`, a rule's
    /// `failureActionOverrides`) keep the policy in Audit once its own
    /// action enforces: [`PolicyInfo::enforce`] leaves overrides as they
    /// are, so these namespaces stay in Audit after the switch. One line
    /// per scope, naming the rules when not every rule has it; empty
    /// without such an override.
    pub fn stays_audit(&self) -> Vec<String> {
        let mut scopes: Vec<(String, Vec<&str>)> = Vec::new();
        for rule in &self.rules {
            for scope in rule.audit_override_scopes() {
                match scopes.iter_mut().find(|(s, _)| *s == scope) {
                    Some((_, rules)) => rules.push(&rule.name),
                    None => scopes.push((scope, vec![&rule.name])),
                }
            }
        }
        scopes
            .into_iter()
            .map(|(scope, rules)| {
                if rules.len() == self.rules.len() {
                    scope
                } else {
                    format!("{scope} (rule {})", rules.join(", "))
                }
            })
            .collect()
    }

    /// True when the Enforce change would change nothing: every rule's
    /// own action enforces already, and what is not enforced an Audit
    /// override keeps in Audit ([`PolicyInfo::stays_audit`]).
    pub fn enforce_changes_nothing(&self) -> bool {
        if self.rules.is_empty() {
            return self.action == "Enforce";
        }
        self.rules.iter().all(|r| r.base_action() == "Enforce")
    }

    /// The action as one line, with the namespaces or rules that enforce
    /// when they differ.
    pub fn action_summary(&self) -> String {
        match &self.action_detail {
            Some(detail) => format!("{} ({detail})", self.action),
            None => self.action.clone(),
        }
    }

    /// The action Kyverno takes on a violation of `rule` in `namespace`:
    /// the rule's own resolution (an autogen variant acts as the rule it
    /// comes from), else the policy's action.
    pub fn action_for(&self, rule: &str, namespace: &str) -> String {
        let base = polscan_engine::exceptions::annotation::base_rule(rule);
        self.rules
            .iter()
            .find(|r| r.name == rule)
            .or_else(|| self.rules.iter().find(|r| r.name == base))
            .map(|r| r.action_in(namespace).to_string())
            .unwrap_or_else(|| self.action.clone())
    }

    /// Reads a policy document; `None` for documents of other kinds.
    /// `bindings` are the ValidatingAdmissionPolicyBindings known (they
    /// hold a ValidatingAdmissionPolicy's action).
    pub fn from_document_with_bindings(
        document: &Value,
        bindings: &[&Value],
    ) -> Option<PolicyInfo> {
        let mut info = PolicyInfo::from_document(document)?;
        if info.kind == "ValidatingAdmissionPolicy" {
            let own: Vec<&&Value> = bindings
                .iter()
                .filter(|b| b.str_at("/spec/policyName") == Some(info.name.as_str()))
                .collect();
            let actions: Vec<String> = own
                .iter()
                .map(|b| {
                    let denies = b
                        .pointer("/spec/validationActions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|a| a.as_str() == Some("Deny"));
                    if denies { "Enforce" } else { "Audit" }.to_string()
                })
                .collect();
            if info.flux_owner.is_none() {
                info.flux_owner = own.iter().find_map(|b| flux_owner(b));
            }
            // A binding's matchResources narrows the policy per operation
            // as its own matchConstraints do (the API server's
            // BindingMatches): an exclusion of CREATE, the scan's, leaves
            // the other operations unseen (verify46 F7: GO).
            let excludes: Vec<Value> = own
                .iter()
                .filter_map(|b| b.pointer("/spec/matchResources/excludeResourceRules"))
                .filter_map(Value::as_array)
                .flatten()
                .cloned()
                .collect();
            if let (false, Some(spec)) = (excludes.is_empty(), document.get("spec")) {
                add_narrowed_parts(&mut info, spec, |constraints| {
                    let list = constraints
                        .entry("excludeResourceRules")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Some(list) = list.as_array_mut() {
                        list.extend(excludes);
                    }
                });
            }
            // Its `resourceRules` likewise: Kubernetes intersects them with
            // the policy's, so a binding holding a resource to UPDATE
            // leaves it unseen by the scan's CREATE (verify47 V47-1: GO).
            // Only the resources the policy matches count.
            let policy_resources: BTreeSet<&str> = document
                .pointer("/spec/matchConstraints/resourceRules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|rule| rule.get("resources").and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let bound_rules: Vec<Value> = own
                .iter()
                .filter_map(|b| b.pointer("/spec/matchResources/resourceRules"))
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|rule| {
                    let mut rule = rule.clone();
                    let resources = rule.get_mut("resources")?.as_array_mut()?;
                    resources.retain(|r| {
                        r.as_str().is_some_and(|r| {
                            r == "*"
                                || policy_resources.contains(r)
                                || policy_resources.contains("*")
                        })
                    });
                    (!resources.is_empty()).then_some(rule)
                })
                .collect();
            if let (false, Some(spec)) = (bound_rules.is_empty(), document.get("spec")) {
                add_narrowed_parts(&mut info, spec, |constraints| {
                    constraints.insert("resourceRules".into(), Value::Array(bound_rules));
                });
            }
            if !actions.is_empty() {
                let action = overall_action_of(&actions);
                if action == "Mixed" {
                    info.action_detail =
                        Some("some bindings Deny, others only Audit or Warn".into());
                }
                for rule in &mut info.rules {
                    rule.action = action.clone();
                }
                info.action = action;
            }
            // The bindings that Deny are the ones to patch; while none does
            // (the policy is still in Audit), those that will.
            let mut denying: Vec<&str> = own
                .iter()
                .zip(&actions)
                .filter(|(_, action)| *action == "Enforce")
                .filter_map(|(b, _)| b.str_at("/metadata/name"))
                .collect();
            if denying.is_empty() {
                denying = own
                    .iter()
                    .filter_map(|b| b.str_at("/metadata/name"))
                    .collect();
            }
            // Promoting sets Deny on the bindings that do not Deny yet;
            // once all do, on them all (as the rollback names them).
            let mut not_denying: Vec<&str> = own
                .iter()
                .zip(&actions)
                .filter(|(_, action)| *action != "Enforce")
                .filter_map(|(b, _)| b.str_at("/metadata/name"))
                .collect();
            if not_denying.is_empty() {
                not_denying = own
                    .iter()
                    .filter_map(|b| b.str_at("/metadata/name"))
                    .collect();
            }
            if let (false, Some(enforce)) = (not_denying.is_empty(), info.enforce.as_mut()) {
                enforce.fields = binding_fields(&not_denying);
                enforce.command = binding_commands(&not_denying, "Deny");
            }
            if let (false, Some(rollback)) = (denying.is_empty(), info.rollback.as_mut()) {
                rollback.fields = binding_fields(&denying);
                rollback.command = binding_commands(&denying, "Audit");
            }
        }
        Some(info)
    }

    /// Reads a policy document; `None` for documents of other kinds.
    pub fn from_document(document: &Value) -> Option<PolicyInfo> {
        let kind = document.get("kind")?.as_str()?.to_string();
        if !POLICY_DOCUMENT_KINDS.contains(&kind.as_str()) {
            return None;
        }
        let text = |pointer: &str| document.str_at(pointer).map(str::to_string);
        let name = text("/metadata/name").unwrap_or_default();
        let namespace = text("/metadata/namespace").filter(|ns| !ns.is_empty());
        let annotation = |key: &str| {
            document
                .annotation(key)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        };
        let spec = document.get("spec").cloned().unwrap_or(Value::Null);
        let kind_is_cluster_policy = kind == "ClusterPolicy";
        let (rules, kinds) = match kind.as_str() {
            "ClusterPolicy" | "Policy" => kyverno_rules(&spec),
            _ => cel_policy_rules(&kind, &name, &spec),
        };
        let action = overall_action(&rules);
        let action_detail = action_detail(&rules);
        let rule_content = Some(RuleContent::of(&kind, document));
        let mut admission_only = admission_only_parts(&kind, &spec);
        // Fields other writers set after creation (walk46 F9).
        for part in super::written_later::parts(&kind, &spec, &kinds) {
            if !admission_only.contains(&part) {
                admission_only.push(part);
            }
        }
        let autogen_controllers = named_autogen_controllers(&kind, document, &spec);
        let evaluation_mode = spec
            .pointer("/evaluation/mode")
            .and_then(Value::as_str)
            .filter(|mode| !mode.eq_ignore_ascii_case("Kubernetes"))
            .map(str::to_string);
        let mut info = PolicyInfo {
            kind,
            name,
            namespace,
            title: annotation(ANNOTATION_TITLE),
            description: annotation(ANNOTATION_DESCRIPTION),
            severity: annotation(ANNOTATION_SEVERITY),
            category: annotation(ANNOTATION_CATEGORY),
            action,
            action_detail,
            rules,
            kinds,
            // As the engine reads it: exactly "false".
            unscored: annotation(ANNOTATION_SCORED).as_deref() == Some("false"),
            admission_only,
            background_off: spec.get("background").and_then(Value::as_bool) == Some(false)
                || spec
                    .pointer("/evaluation/background/enabled")
                    .and_then(Value::as_bool)
                    == Some(false),
            admission_off: spec.get("admission").and_then(Value::as_bool) == Some(false)
                || spec
                    .pointer("/evaluation/admission/enabled")
                    .and_then(Value::as_bool)
                    == Some(false)
                || evaluation_mode.is_some(),
            evaluation_mode,
            autogen_controllers,
            match_namespaces: (kind_is_cluster_policy)
                .then(|| match_namespaces(&spec))
                .flatten(),
            last_changed: last_changed(document),
            digest: DocumentDigest::of(document),
            rules_digest: Some(rules_digest(document)),
            name_shared_with: Vec::new(),
            rollback: None,
            enforce: None,
            flux_owner: flux_owner(document),
            rule_content,
        };
        info.rollback = rollback(&info, &spec);
        info.enforce = enforce(&info, &spec);
        Some(info)
    }
}

/// The SHA-256 (hex) of a policy document's [`rules_content`]: its judging
/// content without what differs between environments and changes no
/// result (the action, the labels, the annotations of whoever applied
/// it). Everything else stays, so any other
/// difference — a rule, a match, an exclusion, an annotation such as
/// `pod-policies.kyverno.io/autogen-controllers` — counts as a different
/// policy.
pub fn rules_digest(document: &Value) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(&rules_content(document)).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

/// The fields of a ValidatingAdmissionPolicy's bindings a change sets.
fn binding_fields(bindings: &[&str]) -> Vec<String> {
    bindings
        .iter()
        .map(|name| format!("spec.validationActions of binding {name}"))
        .collect()
}

/// The kubectl commands setting the bindings' validationActions to
/// `[action]`, joined with `&&`.
fn binding_commands(bindings: &[&str], action: &str) -> String {
    bindings
        .iter()
        .map(|name| format!(
            "kubectl patch validatingadmissionpolicybinding/{name} --type=merge -p '{{\"spec\":{{\"validationActions\":[\"{action}\"]}}}}'"
        ))
        .collect::<Vec<_>>()
        .join(" && ")
}

/// The Flux object whose labels a document carries: Flux's
/// kustomize-controller and helm-controller label what they apply with
/// `<group>/name` and `<group>/namespace`.
fn flux_owner(document: &Value) -> Option<String> {
    let labels = document.pointer("/metadata/labels")?.as_object()?;
    [
        ("kustomize.toolkit.fluxcd.io", "Kustomization"),
        ("helm.toolkit.fluxcd.io", "HelmRelease"),
    ]
    .into_iter()
    .find_map(|(group, kind)| {
        let label = |key: &str| {
            labels
                .get(&format!("{group}/{key}"))
                .and_then(Value::as_str)
        };
        match (label("namespace"), label("name")) {
            (Some(namespace), Some(name)) => Some(format!("{kind} {namespace}/{name}")),
            (None, Some(name)) => Some(format!("{kind} {name}")),
            // Some other label of the group: Flux applied it all the same.
            _ => labels
                .keys()
                .any(|key| key.starts_with(&format!("{group}/")))
                .then(|| format!("a Flux {kind}")),
        }
    })
}

/// The Pod controllers Kyverno's autogen makes `autogen-` rules for (its
/// default `pod-policies.kyverno.io/autogen-controllers`).
pub const AUTOGEN_CONTROLLERS: [&str; 6] = [
    "DaemonSet",
    "Deployment",
    "Job",
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
];

/// The Pod controllers a policy matching Pods reaches through autogen
/// (a Kyverno policy's `autogen-` rules, a ValidatingPolicy's autogen):
/// those it names ([`PolicyInfo::autogen_controllers`]), else Kyverno's
/// default set. On the safe side otherwise: read as reaching them whether
/// or not its rules are ones autogen can rewrite. Empty for a policy not
/// on Pods, one whose autogen is `none`, and a ValidatingAdmissionPolicy.
pub fn autogen_reach(info: &PolicyInfo) -> Vec<&'static str> {
    let autogen = matches!(
        info.kind.as_str(),
        "ClusterPolicy" | "Policy" | "ValidatingPolicy" | "NamespacedValidatingPolicy"
    ) && info.kinds.iter().any(|k| k == "Pod");
    if !autogen {
        return Vec::new();
    }
    AUTOGEN_CONTROLLERS
        .into_iter()
        .chain(["CronJob"])
        .filter(|kind| {
            info.autogen_controllers
                .as_ref()
                .is_none_or(|named| named.iter().any(|n| n == kind))
        })
        .collect()
}

/// The Pod controllers a policy document names for its autogen, as kinds
/// (see [`PolicyInfo::autogen_controllers`]); Kyverno's `autogen.go`
/// splits the annotation on commas, and `none` anywhere turns autogen off.
fn named_autogen_controllers(kind: &str, document: &Value, spec: &Value) -> Option<Vec<String>> {
    match kind {
        "ClusterPolicy" | "Policy" => {
            let value = document.annotation(ANNOTATION_AUTOGEN_CONTROLLERS)?;
            let named: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            Some(if named.iter().any(|c| c == "none") {
                Vec::new()
            } else {
                named
            })
        }
        "ValidatingPolicy" | "NamespacedValidatingPolicy" => {
            let resources = spec
                .pointer("/autogen/podControllers/controllers")?
                .as_array()?;
            Some(
                resources
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|resource| {
                        AUTOGEN_CONTROLLERS
                            .into_iter()
                            .chain(["CronJob"])
                            .find(|kind| format!("{}s", kind.to_lowercase()) == resource)
                    })
                    .map(str::to_string)
                    .collect(),
            )
        }
        _ => None,
    }
}

/// The kinds a rule autogen generated matches: CronJob for
/// `autogen-cronjob-*`, the other Pod controllers for `autogen-*`; None
/// for any other rule.
pub fn autogen_kinds(rule: &str) -> Option<&'static [&'static str]> {
    if rule.starts_with("autogen-cronjob-") {
        Some(&["CronJob"])
    } else if rule.starts_with("autogen-") {
        Some(&AUTOGEN_CONTROLLERS)
    } else {
        None
    }
}

/// Whether a rule with `kinds` (empty: not known) can apply to `kind`.
pub fn rule_applies_to(rule: &str, kinds: &[String], kind: &str) -> bool {
    match autogen_kinds(rule) {
        Some(kinds) => kinds.contains(&kind),
        None => kinds.is_empty() || kinds.iter().any(|k| k == "*" || k == kind),
    }
}

fn overall_action(rules: &[RuleInfo]) -> String {
    let actions: Vec<String> = rules.iter().map(|r| r.action.clone()).collect();
    overall_action_of(&actions)
}

fn overall_action_of(actions: &[String]) -> String {
    if actions.iter().any(|a| a == ACTION_INVALID) {
        return ACTION_INVALID.into();
    }
    if actions.iter().all(|a| a == "Audit") {
        "Audit".into()
    } else if actions.iter().all(|a| a == "Enforce") {
        "Enforce".into()
    } else {
        "Mixed".into()
    }
}

/// Which rules and namespaces enforce, when that is not all or nothing.
fn action_detail(rules: &[RuleInfo]) -> Option<String> {
    let summaries: Vec<String> = rules.iter().map(RuleInfo::action_summary).collect();
    let overridden = rules.iter().any(RuleInfo::overrides_differ);
    let first = summaries.first()?;
    if summaries.iter().all(|s| s == first) {
        return overridden.then(|| first.clone());
    }
    let first_action = &rules.first()?.action;
    let differ = rules.iter().any(|r| r.action != *first_action);
    (overridden || differ).then(|| {
        rules
            .iter()
            .zip(&summaries)
            .map(|(rule, summary)| format!("rule {}: {summary}", rule.name))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The valid entries of an overrides list (Kyverno skips invalid actions).
fn overrides_of(list: Option<&Value>) -> Vec<ActionOverride> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let action = normalized_action(entry.get("action")?.as_str()?)?;
            let selector = entry.get("namespaceSelector").is_some_and(|s| !s.is_null());
            let namespaces: Vec<String> = match entry.get("namespaces") {
                // No namespaces and no selector: every namespace.
                None | Some(Value::Null) if !selector => vec!["*".into()],
                None | Some(Value::Null) => Vec::new(),
                Some(list) => list
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            };
            Some(ActionOverride {
                action: action.into(),
                namespaces,
                namespace_selector: selector,
            })
        })
        .collect()
}

fn kyverno_rules(spec: &Value) -> (Vec<RuleInfo>, Vec<String>) {
    let policy_action = spec.str_field("validationFailureAction").unwrap_or("Audit");
    let policy_overrides = overrides_of(spec.get("validationFailureActionOverrides"));
    let mut rules = Vec::new();
    let mut kinds = Vec::new();
    for rule in spec
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(validate) = rule.get("validate") else {
            continue;
        };
        let own_action = validate
            .get("failureAction")
            .or_else(|| validate.get("validationFailureAction"))
            .and_then(Value::as_str);
        // Kyverno's order (engineresponse.go ruleAction, failureActionForRule):
        // the rule's overrides, its own action, then the policy's overrides
        // and action.
        let mut overrides = overrides_of(validate.get("failureActionOverrides"));
        if own_action.is_none() {
            overrides.extend(policy_overrides.iter().cloned());
        }
        let default_action = normalized_action(own_action.unwrap_or(policy_action));
        let action = match default_action {
            None => ACTION_INVALID.to_string(),
            Some(default) if overrides.iter().any(|o| o.action != default) => "Mixed".into(),
            Some(default) => default.to_string(),
        };
        let mut rule_kinds = Vec::new();
        if let Some(matching) = rule.get("match") {
            collect_kinds(matching, &mut rule_kinds);
        }
        rule_kinds.sort();
        rule_kinds.dedup();
        kinds.extend(rule_kinds.iter().cloned());
        rules.push(RuleInfo {
            name: rule.str_field("name").unwrap_or("").to_string(),
            default_action: (!overrides.is_empty())
                .then(|| default_action.unwrap_or(ACTION_INVALID).to_string()),
            action,
            kinds: rule_kinds,
            overrides,
        });
    }
    kinds.sort();
    kinds.dedup();
    (rules, kinds)
}

/// The namespaces a ClusterPolicy's validate rules' matches confine them
/// to ([`PolicyInfo::match_namespaces`]), sorted; None when any rule may
/// reach another namespace. A rule's `match.any` reaches the union of its
/// filters' `resources.namespaces`, `match.all` (and the legacy
/// `match.resources`) the intersection of those that list any; a
/// wildcard or an empty list confines nothing (Kyverno's
/// `checkNameSpace` matches wildcards). `exclude` only narrows further.
fn match_namespaces(spec: &Value) -> Option<Vec<String>> {
    let literal = |resources: &Value| -> Option<BTreeSet<String>> {
        let names: Vec<&str> = resources
            .get("namespaces")?
            .as_array()?
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()?;
        let confined = !names.is_empty()
            && names
                .iter()
                .all(|name| !name.is_empty() && !name.contains(['*', '?']));
        confined.then(|| names.into_iter().map(str::to_string).collect())
    };
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut any_rule = false;
    for rule in spec
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if rule.get("validate").is_none() {
            continue;
        }
        any_rule = true;
        let matching = rule.get("match")?;
        // As Kyverno reads a match: `any` when it has filters, else `all`,
        // else the legacy `resources`.
        let filters = |key: &str| {
            matching
                .get(key)
                .and_then(Value::as_array)
                .filter(|filters| !filters.is_empty())
        };
        let confined: Option<BTreeSet<String>> = if let Some(any) = filters("any") {
            any.iter().try_fold(BTreeSet::new(), |mut union, filter| {
                union.extend(literal(filter.get("resources")?)?);
                Some(union)
            })
        } else if let Some(all) = filters("all") {
            all.iter()
                .filter_map(|filter| filter.get("resources"))
                .filter_map(literal)
                .reduce(|kept, next| kept.intersection(&next).cloned().collect())
        } else {
            matching.get("resources").and_then(literal)
        };
        reached.extend(confined?);
    }
    (any_rule && !reached.is_empty()).then(|| reached.into_iter().collect())
}

/// Adds to `info.admission_only` the parts of a ValidatingAdmissionPolicy
/// whose `spec.matchConstraints` a binding's matchResources narrows as
/// `narrow` does (the API server intersects them), each part once.
fn add_narrowed_parts(
    info: &mut PolicyInfo,
    spec: &Value,
    narrow: impl FnOnce(&mut serde_json::Map<String, Value>),
) {
    let mut narrowed = spec.clone();
    if let Some(constraints) = narrowed
        .get_mut("matchConstraints")
        .and_then(Value::as_object_mut)
    {
        narrow(constraints);
    }
    for part in admission_only_parts(&info.kind, &narrowed) {
        if !info.admission_only.contains(&part) {
            info.admission_only.push(part);
        }
    }
}

/// What a policy's match reaches that only admission sees — a
/// subresource (`Pod/exec`, `pods/exec`) or a resource filter whose
/// operations are neither CREATE nor UPDATE (`[DELETE]`, `[CONNECT]`):
/// no scan evaluates those (Kyverno's background scan neither), so once
/// enforced the policy blocks them with no evidence behind it (walk25
/// F9). Each part is described for the verdict's reason.
fn admission_only_parts(kind: &str, spec: &Value) -> Vec<String> {
    let mut parts = Vec::new();
    // A scan presents every object as a CREATE (as Kyverno's background
    // scan does): a filter without CREATE matches nothing in it.
    // `operations: []` lists none: every operation (verify32 G5).
    fn listed(operations: Option<&Value>) -> Option<&Vec<Value>> {
        operations
            .and_then(Value::as_array)
            .filter(|list| !list.is_empty())
    }
    let scanned_operation = |operations: Option<&Value>| {
        listed(operations).is_none_or(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .any(|operation| matches!(operation, "CREATE" | "*"))
        })
    };
    // The operations a filter reaches (all when it lists none).
    let reached = |operations: Option<&Value>| -> BTreeSet<&'static str> {
        match listed(operations) {
            None => OPERATIONS.into_iter().collect(),
            Some(list) => OPERATIONS
                .into_iter()
                .filter(|op| list.iter().any(|o| o == *op || o == "*"))
                .collect(),
        }
    };
    let named = |ops: &BTreeSet<&str>| ops.iter().copied().collect::<Vec<_>>().join(", ");
    match kind {
        "ClusterPolicy" | "Policy" => {
            // A verifyImages rule enforces with the policy's action (its
            // `failureAction`, else `validationFailureAction`): the switch
            // to Enforce makes its failures block, and no scan verifies
            // an image signature (verify35: GO beside such a rule).
            for rule in spec
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|rule| rule.get("verifyImages").is_some())
            {
                let rule_name = rule.str_field("name").unwrap_or_default();
                let images_enforced = rule
                    .get("verifyImages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|entry| {
                        entry
                            .get("failureAction")
                            .and_then(Value::as_str)
                            .is_none_or(|action| action.eq_ignore_ascii_case("Enforce"))
                    });
                if images_enforced {
                    parts.push(format!(
                        "image verification (rule {rule_name}: verifyImages, which the policy's action enforces and no scan evaluates)"
                    ));
                }
            }
            for rule in spec
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|rule| rule.get("validate").is_some())
            {
                let rule_name = rule.str_field("name").unwrap_or_default();
                let Some(matching) = rule.get("match") else {
                    continue;
                };
                // Kyverno skips a pattern on a DELETE request
                // (validate_resource.go, "skipping validation on deleted
                // resource"); deny conditions and CEL expressions run on it,
                // with `request.object` null and `request.operation` DELETE.
                // A foreach runs on a DELETE too, on the elements its list
                // gives there (pattern and deny alike: validate_resource.go
                // validates an element's pattern whatever the operation); a
                // list that is a plain path under the null `request.object`
                // gives none, any other may (verify42: `['x']`).
                let foreach_on_delete = |validate: &Value| {
                    validate
                        .get("foreach")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|each| {
                            !plain_path_under_object(each.str_field("list").unwrap_or_default())
                        })
                };
                // verify43 F3: a context variable whose raw jmesPath reads
                // request.object, null on a DELETE, with no default errors
                // there before any pattern is skipped, and an error blocks.
                // Under `failurePolicy: Ignore` an error blocks nothing
                // (pkg/utils/engine/response.go BlockRequest; verify44 J).
                // Kyverno's GetFailurePolicy: webhookConfiguration's first,
                // then the deprecated spec.failurePolicy (verify45 F4).
                let failure_policy = spec
                    .pointer("/webhookConfiguration/failurePolicy")
                    .and_then(Value::as_str)
                    .or_else(|| spec.str_field("failurePolicy"));
                let erring = if failure_policy == Some("Ignore") {
                    Default::default()
                } else {
                    context_errs_on_delete(rule)
                };
                let mut read_first = rule.get("validate").cloned().unwrap_or_default();
                if let Some(validate) = read_first.as_object_mut() {
                    validate.remove("message");
                }
                let erring_entry = erring
                    .iter()
                    .find(|name| {
                        references(&read_first, name)
                            || rule
                                .get("preconditions")
                                .is_some_and(|p| references(p, name))
                    })
                    .cloned();
                let body_on_delete = rule.get("validate").is_some_and(|validate| {
                    validate.get("deny").is_some()
                        || validate.get("cel").is_some()
                        || foreach_on_delete(validate)
                });
                let judges_delete = erring_entry.is_some() || body_on_delete;
                // Conditions on `request.operation` (preconditions, deny
                // conditions): the operations each holds for. One that does
                // not hold for CREATE, the scan's, leaves its part of the
                // rule to admission (walk28 F3: `Equals UPDATE`); one that
                // holds for DELETE gives a deny rule a DELETE part.
                // Its conditions, foreach ones too (verify31 F9), read
                // through what each context entry stands for.
                let aliases = rule_context_aliases(rule);
                let tested: Vec<Holds> = rule_conditions(rule)
                    .into_iter()
                    .map(|block| operation_tests::kyverno_block_holds(block, &aliases))
                    .collect();
                let mut by_conditions: BTreeSet<&str> =
                    tested.iter().flat_map(Holds::admission_only).collect();
                let holds_for_delete =
                    |holds: &Holds| matches!(holds, Holds::For(ops) if ops.contains("DELETE"));
                if judges_delete && tested.iter().any(holds_for_delete) {
                    by_conditions.insert("DELETE");
                }
                // A validate.cel rule's expressions likewise (walk28 F14:
                // `request.operation != 'UPDATE' || …` passed in the scan).
                if let Some(cel) = rule.pointer("/validate/cel") {
                    by_conditions.extend(cel_reading_operation(
                        cel,
                        &["expressions", "variables", "auditAnnotations"],
                    ));
                }
                by_conditions.extend(cel_operations(rule, &["celPreconditions"]));
                // Every other text of the rule Kyverno substitutes per
                // request (a pattern's value or key, an anyPattern, a
                // foreach list): one reading the operation judges requests
                // otherwise than the scan's CREATE (verify39 F10, F14).
                if rule
                    .get("validate")
                    .is_some_and(|validate| substituted_reads_request(validate, &aliases, false))
                {
                    by_conditions.extend(Holds::Unknown.admission_only());
                }
                // What keeps Kyverno from running it on a DELETE at all
                // (verify39 F8): then no DELETE is judged, listed or not.
                let delete_skipped = judges_delete && skips_delete(spec, rule, &aliases, &erring);
                // Kyverno skips a pattern on DELETE.
                by_conditions.retain(|op| (judges_delete && !delete_skipped) || *op != "DELETE");
                let old_object = [
                    ("validate", false),
                    ("preconditions", false),
                    ("celPreconditions", true),
                    ("context", false),
                ]
                .iter()
                .filter_map(|(key, cel)| Some((rule.get(*key)?, *cel)))
                .any(|(value, cel)| reads_old_object(value, cel));
                // An exclude taking out CREATE (verify28 item 2): the scan,
                // whose every object is a CREATE, never evaluates what it
                // covers; Kyverno evaluates it on the other operations.
                for resources in rule.get("exclude").into_iter().flat_map(resource_filters) {
                    let operations = resources.get("operations");
                    if operations.is_none() || !scanned_operation(operations) {
                        continue;
                    }
                    // What the match reaches, less what the exclude takes
                    // out (and DELETE for a pattern, which Kyverno skips).
                    let matched: BTreeSet<&str> = resource_filters(matching)
                        .flat_map(|r| reached(r.get("operations")))
                        .collect();
                    let connect_listed = resource_filters(matching).any(|r| {
                        r.get("operations")
                            .and_then(Value::as_array)
                            .is_some_and(|ops| ops.iter().any(|op| op == "CONNECT"))
                    });
                    let rest: BTreeSet<&str> = matched
                        .into_iter()
                        .filter(|op| !reached(operations).contains(op))
                        .filter(|op| judges_delete || *op != "DELETE")
                        .filter(|op| connect_listed || *op != "CONNECT")
                        .collect();
                    if rest.is_empty() {
                        continue;
                    }
                    let kinds = filter_kinds(resources);
                    let kinds = if kinds.is_empty() {
                        "what it matches".to_string()
                    } else {
                        kinds.join(", ")
                    };
                    parts.push(format!(
                        "{} requests for {kinds} (rule {rule_name}: its exclude takes out operations {}, the scan's CREATE among them)",
                        named(&rest),
                        operations.map(Value::to_string).unwrap_or_default()
                    ));
                }
                for resources in resource_filters(matching) {
                    let all_kinds = filter_kinds(resources);
                    for kind in &all_kinds {
                        if kyverno_subresource(kind) {
                            parts.push(format!("{kind} (rule {rule_name}: a subresource)"));
                        }
                    }
                    // A subresource is named whole above; the parts below
                    // are of the kinds themselves (verify32: "UPDATE
                    // requests for Pod, Pod/exec", which only CONNECT reaches).
                    let kinds: Vec<&str> = all_kinds
                        .iter()
                        .copied()
                        .filter(|kind| !kyverno_subresource(kind))
                        .collect();
                    if kinds.is_empty() && !all_kinds.is_empty() {
                        continue;
                    }
                    let operations = resources.get("operations");
                    if !scanned_operation(operations) {
                        parts.push(format!(
                            "{} (rule {rule_name}: operations {})",
                            kinds.join(", "),
                            operations.map(Value::to_string).unwrap_or_default()
                        ));
                        continue;
                    }
                    // Kyverno's `match.all` needs every filter to match the
                    // request: the operations it reaches are those all of
                    // its filters list (a filter listing none, every one).
                    let in_all = matching
                        .get("all")
                        .and_then(Value::as_array)
                        .is_some_and(|all| {
                            all.iter().any(|f| f.get("resources") == Some(resources))
                        });
                    let reaches = if in_all {
                        matching
                            .get("all")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .map(|f| reached(f.pointer("/resources/operations")))
                            .reduce(|a, b| a.intersection(&b).copied().collect())
                            .unwrap_or_default()
                    } else {
                        reached(operations)
                    };
                    // CONNECT comes only for subresources (pods/exec), named
                    // above; for the kinds themselves only when listed
                    // (verify29 V6: "CONNECT … requests for ConfigMap").
                    let connect_listed = operations
                        .and_then(Value::as_array)
                        .is_some_and(|ops| ops.iter().any(|op| op == "CONNECT"));
                    let mut part: BTreeSet<&str> = by_conditions
                        .intersection(&reaches)
                        .copied()
                        .filter(|op| connect_listed || *op != "CONNECT")
                        .collect();
                    // A deny or CEL rule judges a DELETE, with nothing
                    // scanned behind it: where its match lists DELETE
                    // beside CREATE (verify26), and where it lists no
                    // operations — Kyverno's webhook then registers every
                    // operation for a validate rule (pkg/controllers/webhook
                    // `defaultOperations`), and its engine skips only a
                    // pattern on a DELETE (verify39 F8).
                    let delete_judged =
                        judges_delete && !delete_skipped && reaches.contains("DELETE");
                    if delete_judged {
                        part.insert("DELETE");
                    }
                    if !part.is_empty() {
                        let mut whys = Vec::new();
                        if by_conditions.intersection(&part).next().is_some() {
                            whys.push("its conditions read request.operation or another field only admission has".to_string());
                        }
                        let listed_delete = listed(operations).is_some();
                        if delete_judged
                            && !by_conditions.contains("DELETE")
                            && (body_on_delete || listed_delete)
                        {
                            whys.push(match listed(operations) {
                                Some(_) => format!(
                                    "operations {}",
                                    operations.map(Value::to_string).unwrap_or_default()
                                ),
                                None => "it lists no operations, so Kyverno sends it every DELETE too, where its deny conditions or CEL expressions run too (the object gone: CEL's object is null, a template's request.object reads the old object) — list operations [CREATE, UPDATE] if deletes are not its business".into(),
                            });
                        }
                        if let (true, Some(entry)) = (delete_judged, &erring_entry) {
                            whys.push(format!(
                                "its context variable {entry} reads request.object with its jmesPath and has no default: on a DELETE request.object is null, the entry fails to load and the rule errors, which Kyverno blocks (failurePolicy Fail) — give it a default, or list operations [CREATE, UPDATE]"
                            ));
                        }
                        let why = whys.join("; ");
                        parts.push(format!(
                            "{} requests for {} (rule {rule_name}: {why})",
                            named(&part),
                            kinds.join(", ")
                        ));
                    }
                    if old_object && reaches.contains("UPDATE") && !part.contains("UPDATE") {
                        parts.push(format!(
                            "UPDATE requests for {} (rule {rule_name}: it reads oldObject, which a scan never has)",
                            kinds.join(", ")
                        ));
                    }
                }
                // verify43 F5: a rule reading the requester through a
                // context variable's raw jmesPath, or a spelling Kyverno's
                // background check lets through (`@.serviceAccountName`,
                // `request."userInfo"`), judged the scan's requester-less
                // request only; admission fills it in.
                if operation_tests::rule_reads_requester(rule) {
                    parts.push(format!(
                        "requests from any requester (rule {rule_name}: it reads the requester — request.userInfo, roles, clusterRoles or serviceAccountName —, which a scan never has)"
                    ));
                }
                // verify44 I: on a CREATE too, admission gives what a scan
                // cannot (`request.options`, `dryRun`, an empty `name`
                // under generateName).
                if operation_tests::rule_reads_other_admission_fields(rule) {
                    parts.push(format!(
                        "requests as admission presents them (rule {rule_name}: it reads a field of the admission request — such as options, dryRun, uid or name — that a scan leaves out or sets otherwise)"
                    ));
                }
                // verify40 N2: a rule reading the clock or drawing a random
                // value judged each object at the scan's moment only — a
                // time window closed at the CronJob's hour was GO.
                if let Some(function) = reads_clock_or_chance(rule) {
                    parts.push(format!(
                        "requests at any other moment (rule {rule_name}: it calls {function}, so what a scan saw holds for the moment it ran, not for the requests admission judges later)"
                    ));
                }
            }
        }
        _ => {
            // Expressions reading `request.operation` that name an
            // operation besides CREATE and not CREATE (walk28 F6: a
            // matchCondition on UPDATE): that part only admission sees.
            let mut by_expressions = cel_operations(spec, &["matchConditions"]);
            by_expressions.extend(cel_reading_operation(
                spec,
                &["validations", "variables", "auditAnnotations"],
            ));
            let old_object = ["validations", "variables", "matchConditions"]
                .iter()
                .filter_map(|key| spec.get(*key))
                .any(|value| reads_old_object(value, true));
            // Resources whose CREATE `excludeResourceRules` takes out
            // (verify29 V4): Kyverno judges their other operations, the
            // scan none.
            let excluded_create: Vec<&str> = spec
                .pointer("/matchConstraints/excludeResourceRules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|rule| {
                    let operations = rule.get("operations");
                    operations.is_some() && scanned_operation(operations)
                })
                .flat_map(|rule| {
                    rule.get("resources")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                })
                .collect();
            for rule in spec
                .pointer("/matchConstraints/resourceRules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let resources: Vec<&str> = rule
                    .get("resources")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                for resource in &resources {
                    if resource.contains('/') {
                        parts.push(format!("{resource} (a subresource)"));
                    }
                }
                let operations = rule.get("operations");
                if !scanned_operation(operations) {
                    parts.push(format!(
                        "{} (operations {})",
                        resources.join(", "),
                        operations.map(Value::to_string).unwrap_or_default()
                    ));
                    continue;
                }
                let reaches = reached(operations);
                // Its expressions run on a DELETE request too, with
                // `object` null (verify26).
                let delete_listed = operations.is_some() && reaches.contains("DELETE");
                if delete_listed {
                    parts.push(format!(
                        "DELETE requests for {} (operations {})",
                        resources.join(", "),
                        operations.map(Value::to_string).unwrap_or_default()
                    ));
                }
                let part: BTreeSet<&str> = by_expressions
                    .intersection(&reaches)
                    .copied()
                    .filter(|op| !(delete_listed && *op == "DELETE"))
                    .collect();
                if !part.is_empty() {
                    parts.push(format!(
                        "{} requests for {} (an expression tests request.operation)",
                        named(&part),
                        resources.join(", ")
                    ));
                }
                if old_object && reaches.contains("UPDATE") && !part.contains("UPDATE") {
                    parts.push(format!(
                        "UPDATE requests for {} (an expression reads oldObject, which a scan never has)",
                        resources.join(", ")
                    ));
                }
                let rest: BTreeSet<&str> = reaches
                    .iter()
                    .copied()
                    .filter(|op| *op != "CREATE" && *op != "CONNECT")
                    .collect();
                let excluded: Vec<&str> = resources
                    .iter()
                    .copied()
                    .filter(|r| excluded_create.iter().any(|e| e == r || *e == "*"))
                    .collect();
                if !excluded.is_empty() && !rest.is_empty() {
                    parts.push(format!(
                        "{} requests for {} (excludeResourceRules takes out CREATE, the scan's)",
                        named(&rest),
                        excluded.join(", ")
                    ));
                }
            }
            // verify43 F1: Kyverno's CEL libraries give a ValidatingPolicy
            // (and its exceptions) `time.now()` and `random()` (kyverno/sdk
            // extensions/cel/libs/time, random; vpol compiler.go
            // createBaseVpolEnv): a window on `time.now()` was GO.
            if let Some(function) = cel_reads_clock_or_chance(spec) {
                parts.push(format!(
                    "requests at any other moment (it calls {function}, so what a scan saw holds for the moment it ran, not for the requests admission judges later)"
                ));
            }
            let (requester, other_fields) = operation_tests::cel_policy_reads(spec);
            if requester {
                parts.push("requests from any requester (an expression reads request.userInfo or authorizer, the requester and its rights, which a scan never has)".into());
            }
            if other_fields {
                parts.push("requests as admission presents them (an expression reads a field of the admission request — such as options, dryRun, uid or name — that a scan leaves out or sets otherwise)".into());
            }
        }
    }
    parts
}

/// `validate` (or a foreach of it) without its `message` and those of its
/// foreach, nested too: text that changes no result.
fn without_messages(value: &mut Value) {
    operation_tests::without_keys(value, &["message"]);
}

/// [`reads_clock_or_chance`] over a CEL policy's expressions that decide a
/// result — its match conditions, variables and validations' expressions;
/// messages and audit annotations change none.
fn cel_reads_clock_or_chance(spec: &Value) -> Option<&'static str> {
    let deciding: Vec<&str> = ["matchConditions", "variables", "validations"]
        .iter()
        .flat_map(|list| expressions_under(spec, list))
        .collect();
    reads_clock_or_chance(&serde_json::json!({ "conditions": deciding }))
}

/// The operations besides CREATE that CEL conditions under `lists` of
/// `spec` (preconditions, match conditions) may hold for while they do not
/// for CREATE, or may hold for differently: the requests only admission
/// presents to that part ([`operation_tests::cel_holds`]: any test of the
/// operation not in a plain form counts as all of them).
fn cel_operations(spec: &Value, lists: &[&str]) -> BTreeSet<&'static str> {
    let aliases = cel_variable_aliases(spec);
    lists
        .iter()
        .flat_map(|list| expressions_under(spec, list))
        .flat_map(|text| operation_tests::cel_holds(text, &aliases).admission_only())
        .collect()
}

/// The CEL variables of `spec` (`variables`) that read the request's
/// admission fields or the request whole.
fn cel_variable_aliases(spec: &Value) -> BTreeSet<String> {
    let definitions = operation_tests::cel_variable_definitions(Some(spec));
    operation_tests::request_aliases(&definitions, true)
}

/// Every Kyverno conditions block of a rule: its preconditions, its deny
/// conditions, and those of each `validate.foreach` (nested ones too).
fn rule_conditions(rule: &Value) -> Vec<&Value> {
    fn foreach_conditions<'v>(validate: &'v Value, out: &mut Vec<&'v Value>) {
        out.extend(validate.pointer("/deny/conditions"));
        for each in validate
            .get("foreach")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(each.get("preconditions"));
            foreach_conditions(each, out);
        }
    }
    let mut found: Vec<&Value> = rule.get("preconditions").into_iter().collect();
    if let Some(validate) = rule.get("validate") {
        foreach_conditions(validate, &mut found);
    }
    found
}

/// Whether a text of `value` (a rule's `validate`) that Kyverno substitutes
/// per request reads the request's admission fields (or an alias of them):
/// a template in any string or key, a foreach `list` (JMESPath without
/// braces). Not what is read elsewhere: messages, the conditions
/// [`rule_conditions`] reads, context entries (their aliases are), CEL.
fn substituted_reads_request(value: &Value, aliases: &BTreeSet<String>, list: bool) -> bool {
    match value {
        Value::String(text) if list => {
            operation_tests::template_reads_request(&format!("{{{{{text}}}}}"), aliases)
        }
        Value::String(text) => operation_tests::template_reads_request(text, aliases),
        Value::Array(items) => items
            .iter()
            .any(|item| substituted_reads_request(item, aliases, false)),
        Value::Object(map) => map.iter().any(|(key, item)| {
            if key.starts_with("message")
                || matches!(
                    key.as_str(),
                    "conditions" | "preconditions" | "context" | "cel"
                )
            {
                return false;
            }
            operation_tests::template_reads_request(key, aliases)
                || substituted_reads_request(item, aliases, key == "list")
        }),
        _ => false,
    }
}

/// The context entries of a rule (its own and its foreach ones') that
/// stand for the request's admission fields or the request whole.
fn rule_context_aliases(rule: &Value) -> BTreeSet<String> {
    let mut entries = Vec::new();
    collect_context_entries(rule, &mut entries);
    let mut aliases = operation_tests::context_aliases(entries);
    // A foreach `list` reading the request makes `element` an alias
    // (verify32 G2: `list: "[request.operation]"`, then `{{ element }}`).
    fn lists<'v>(validate: &'v Value, out: &mut Vec<&'v str>) {
        for each in validate
            .get("foreach")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(each.get("list").and_then(Value::as_str));
            lists(each, out);
        }
    }
    let mut found = Vec::new();
    lists(rule.get("validate").unwrap_or(&Value::Null), &mut found);
    if found
        .iter()
        .any(|list| operation_tests::template_reads_request(&format!("{{{{{list}}}}}"), &aliases))
    {
        aliases.insert("element".to_string());
    }
    aliases
}

fn collect_context_entries<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("context", Value::Array(entries)) => out.extend(entries),
                    _ => collect_context_entries(item, out),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_context_entries(item, out)),
        _ => {}
    }
}

/// Why a PolicyException excuses only some of the requests Kyverno judges,
/// if it does: a kyverno.io exception whose every match filter lists
/// operations without UPDATE, or that names requesters (`subjects`,
/// `roles`, `clusterRoles`); conditions or CEL `matchConditions` that may
/// hold for UPDATE otherwise than for CREATE
/// ([`operation_tests`]), or that read `request.userInfo`. A scan presents
/// a CREATE with no requester: the skip it gives says nothing of the rest
/// (verify30 N7, verify31 F4/F6, verify32 G4).
pub(crate) fn exception_create_only(document: &Value) -> Option<String> {
    let spec = document.get("spec")?;
    // `exceptions[].values`/`images` ("fine-grained" exceptions) are not
    // Kyverno's: its PolicyException CRD lists only policyName and ruleNames
    // (config/crds/kyverno/kyverno.io_policyexceptions.yaml) and prunes the
    // rest, and every validate handler skips the whole rule on a match
    // (pkg/engine/handlers/validation) — as the scan does. So they make no
    // exception partial (walk32 F6 was undone after reading Kyverno's source).
    if let Some(matching) = spec.get("match") {
        let filters: Vec<&Value> = resource_filters(matching).collect();
        // `operations: []` is every operation, as none listed (verify32 G5).
        let without_update = |r: &&Value| {
            r.get("operations")
                .and_then(Value::as_array)
                .is_some_and(|ops| {
                    !ops.is_empty() && !ops.iter().any(|op| op == "UPDATE" || op == "*")
                })
        };
        if !filters.is_empty() && filters.iter().all(without_update) {
            let operations = filters
                .first()
                .and_then(|r| r.get("operations"))
                .map(Value::to_string)
                .unwrap_or_default();
            return Some(format!("its match lists operations {operations}"));
        }
    }
    // A scan has no requester (verify31 F6).
    if let Some(matching) = spec.get("match") {
        let by_requester = ["any", "all"]
            .iter()
            .filter_map(|key| matching.get(*key)?.as_array())
            .flatten()
            .chain(std::iter::once(matching))
            .any(|filter| {
                ["subjects", "roles", "clusterRoles"].iter().any(|key| {
                    filter
                        .get(*key)
                        .and_then(Value::as_array)
                        .is_some_and(|list| !list.is_empty())
                })
            });
        if by_requester {
            return Some(
                "its match names subjects, roles or clusterRoles: it excuses only their requests, and a scan has no requester".into(),
            );
        }
    }
    // Conditions on the clock or on chance (verify42 F6: a disguised
    // expiry `time_before(time_now_utc(), …)` was GO with no expiry).
    if let Some(function) = ["conditions", "context", "matchConditions"]
        .iter()
        .filter_map(|key| spec.get(*key))
        .find_map(|value| reads_clock_or_chance(&serde_json::json!({ "conditions": value })))
    {
        return Some(format!(
            "its conditions call {function}: it excuses only at some moments, and a scan saw one"
        ));
    }
    // Conditions on the requester (verify32 G4): a scan has none.
    let context: Vec<Value> = spec
        .get("context")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if operation_tests::reads_requester(
        spec.get("conditions"),
        spec.get("matchConditions"),
        &context,
    ) {
        return Some(
            "its conditions test the requester (request.userInfo, roles or clusterRoles): it excuses only some requests, and a scan has no requester".into(),
        );
    }
    let aliases = operation_tests::context_aliases(
        spec.get("context")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    );
    // Updates only: a DELETE is judged where a match lists it, and such
    // a policy has a part only admission sees already (verify39 F8).
    let by_conditions = spec.get("conditions").is_some_and(|conditions| {
        operation_tests::kyverno_block_holds(conditions, &aliases).differs_from_create("UPDATE")
    });
    if by_conditions {
        return Some(
            "its conditions read request.operation or another field only admission has".into(),
        );
    }
    let aliases = cel_variable_aliases(spec);
    let by_cel = expressions_under(spec, "matchConditions")
        .any(|text| operation_tests::cel_holds(text, &aliases).differs_from_create("UPDATE"));
    by_cel.then(|| {
        "its matchConditions read request.operation or another field only admission has".into()
    })
}

/// The first of Kyverno's JMESPath functions whose value depends on when
/// or by chance (pkg/engine/jmespath: `time_now`, `time_now_utc`,
/// `random`, and `time_since` with no end time, which is now) that a
/// rule's texts call, its messages aside (they change no result). Read
/// from the text: a name inside a string literal counts too, the safe
/// side.
fn reads_clock_or_chance(rule: &Value) -> Option<&'static str> {
    fn texts<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
        match value {
            Value::String(text) => out.push(text),
            Value::Array(items) => items.iter().for_each(|item| texts(item, out)),
            Value::Object(map) => map.values().for_each(|item| texts(item, out)),
            _ => {}
        }
    }
    // Only the messages and the names of the rule and its context entries
    // change no result; a pattern's `name` or `message` field does
    // (verify42 F3).
    let mut read = rule.clone();
    if let Some(map) = read.as_object_mut() {
        map.remove("name");
        for entry in map
            .get_mut("context")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(entry) = entry.as_object_mut() {
                entry.remove("name");
            }
        }
        if let Some(validate) = map.get_mut("validate") {
            without_messages(validate);
        }
    }
    let mut found = Vec::new();
    texts(&read, &mut found);
    // Each text also without what follows `//` on a line, read as well
    // (never instead: `//` may be in a string): a CEL comment may split a
    // call (verify44 D: `time.// x` then `now()`).
    let compact: Vec<String> = found
        .iter()
        .flat_map(|text| {
            let uncommented: String = text
                .lines()
                .map(|line| line.split("//").next().unwrap_or_default())
                .collect();
            [text.to_string(), uncommented]
        })
        .map(|text| text.chars().filter(|c| !c.is_whitespace()).collect())
        .collect();
    for (function, called) in [
        ("time_now_utc()", "time_now_utc("),
        ("time_now()", "time_now("),
        // CEL (Kyverno's time library), in a validate.cel rule or a
        // ValidatingPolicy.
        ("time.now()", "time.now("),
        // JMESPath `random()`, CEL `random()` and `random.random()`.
        ("random()", "random("),
    ] {
        if compact.iter().any(|text| text.contains(called)) {
            return Some(function);
        }
    }
    // `time_since(layout, start, end)`: an empty end is now. Only a
    // non-empty literal end (`'2026-01-01T00:00:00Z'`, its JSON literal)
    // is known not to be: an empty one in any spelling (`` `""` ``:
    // verify42 F2), or one a variable or template gives, counts as now.
    let fixed_end = |end: &str| {
        let literal = |open: &str, close: &str| {
            end.strip_prefix(open)
                .and_then(|rest| rest.strip_suffix(close))
                .is_some_and(|inner| !inner.is_empty() && !inner.contains("{{"))
        };
        literal("'", "'") || literal("`\"", "\"`")
    };
    // verify43 F6: Kyverno substitutes the innermost template first and
    // reads the result again, so `{{ time_{{ to_lower('NOW') }}_utc() }}`
    // calls the clock; a template inside another whose value becomes code
    // (not a quoted string) may call anything.
    if compact
        .iter()
        .any(|text| nested_template_builds_a_name(text))
    {
        return Some("a function whose name a nested template builds");
    }
    let open_ended = |text: &str| {
        text.match_indices("time_since(").any(|(at, _)| {
            let args = &text[at + "time_since(".len()..];
            let mut depth = 0usize;
            let mut last = 0;
            for (i, c) in args.char_indices() {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' if depth == 0 => return !fixed_end(&args[last..i]),
                    ')' | ']' | '}' => depth = depth.saturating_sub(1),
                    ',' if depth == 0 => last = i + 1,
                    _ => {}
                }
            }
            true
        })
    };
    compact
        .iter()
        .any(|text| open_ended(text))
        .then_some("time_since() with no fixed end time")
}

/// Whether a template inside another is not quoted (`'{{ … }}'`,
/// `"{{ … }}"`, `` `{{ … }}` ``), so its value becomes code of the outer
/// one: `time_{{ … }}_utc()`, `{{ … }}()`. A whole path step
/// (`map.{{ kind }}`) names a field. Every nested template of the library
/// is one or the other. `text` has no whitespace.
fn nested_template_builds_a_name(text: &str) -> bool {
    let quote = |c: char| matches!(c, '\'' | '"' | '`');
    // A path step's template must read a plain path: one calling a
    // function or holding a literal may give any code (verify44 B:
    // `` `{}`.{{ join('', ['time_','now_utc()']) }} `` reads the clock).
    let plain_path = |inner: &str| {
        inner
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    };
    let mut depth = 0usize;
    // Before each open template: its quote (`.` for a path step), `None`
    // when it has none; and where its text starts.
    let mut opened: Vec<(Option<char>, usize)> = Vec::new();
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") {
            // A path step (`map.{{ kind }}`) names a field: mark it `.`.
            opened.push((
                before.filter(|b| quote(*b) || *b == '.'),
                text.len() - rest.len() + 2,
            ));
            depth += 1;
            before = Some('{');
            rest = &rest[2..];
            continue;
        }
        if rest.starts_with("}}") && depth > 0 {
            let end = text.len() - rest.len();
            depth -= 1;
            rest = &rest[2..];
            let (open_quote, start) = opened.pop().unwrap_or((None, end));
            let inner = text.get(start..end).unwrap_or_default();
            let next = rest.chars().next();
            let closed = match open_quote {
                Some('.') => {
                    plain_path(inner)
                        && !next.is_some_and(|n| n.is_alphanumeric() || n == '_' || n == '(')
                }
                Some(q) => next == Some(q),
                None => false,
            };
            if depth >= 1 && !closed {
                return true;
            }
            before = Some('}');
            continue;
        }
        before = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    false
}

/// Whether Kyverno never runs `rule` (a deny or `validate.cel` rule of
/// the policy `spec`) on a DELETE request: a precondition, a deny
/// condition, a CEL precondition or the policy's webhook
/// `matchConditions` that cannot hold for it ([`operation_tests`]'s
/// `*_excludes`), or an exclude taking DELETE out of everything the rule
/// matches (its filter naming nothing but DELETE among its operations and
/// the match's kinds, or none).
fn skips_delete(spec: &Value, rule: &Value, aliases: &BTreeSet<String>, erring: &[String]) -> bool {
    // A block reading an entry that fails on a DELETE errors there before
    // its guard is sure to be read, and so does everything after it
    // (preconditions come before deny conditions).
    let reads_erring = |block: &Value| erring.iter().any(|name| references(block, name));
    let mut by_conditions = false;
    for block in [
        rule.get("preconditions"),
        rule.pointer("/validate/deny/conditions"),
    ]
    .into_iter()
    .flatten()
    {
        if reads_erring(block) {
            break;
        }
        if operation_tests::kyverno_block_excludes(block, aliases, "DELETE") {
            by_conditions = true;
            break;
        }
    }
    let by_cel = [
        rule.get("celPreconditions"),
        spec.pointer("/webhookConfiguration/matchConditions"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_array)
    .flatten()
    .filter_map(|condition| condition.str_field("expression"))
    .any(|text| operation_tests::cel_excludes(text, "DELETE"));
    by_conditions || by_cel || exclude_takes_out_delete(rule)
}

/// Whether a foreach `list` is a plain path under `request.object` —
/// fields, indexes, projections, filters — which gives null, so no
/// element and no error, when `request.object` is null on a DELETE.
/// Anything outside brackets but such steps (a pipe into a function, an
/// `||`, a literal: verify43 F7, `… | items(@, 'key', 'value')` errors
/// on null) may give elements or an error, which Kyverno judges. What a
/// bracket holds is not evaluated on null.
fn plain_path_under_object(list: &str) -> bool {
    let list = list.trim();
    let Some(rest) = list.strip_prefix("request.object") else {
        return false;
    };
    if !(rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')) {
        return false;
    }
    let mut depth = 0usize;
    let mut quoted = false;
    for c in rest.chars() {
        match c {
            '"' if depth == 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ if depth > 0 || quoted => {}
            c if c.is_alphanumeric() || c == '_' || c == '.' || c.is_whitespace() => {}
            _ => return false,
        }
    }
    depth == 0 && !quoted
}

/// The names of a rule's context entries that fail to load on a DELETE: a
/// `variable` whose raw `jmesPath` may read `request.object` (null there)
/// and that has no `default`, and any entry reading one. Kyverno queries a
/// raw jmesPath as written — only `{{ }}` templates read
/// `request.oldObject` instead on a DELETE (pkg/engine/variables/vars.go)
/// — and fails a variable that evaluates to nil without a default
/// (pkg/engine/context/loaders/variable.go); the rule then errors when a
/// condition or pattern first reads the entry (deferred loading, Kyverno's
/// default: pkg/toggle), before a pattern is skipped on a DELETE
/// (pkg/engine/handlers/validation/validate_resource.go). Conditions are
/// read `any` first, then `all` in order, stopping at an error
/// (pkg/engine/variables/evaluate.go), so a test of the operation in a
/// block reading one guards nothing for certain. Read from the text, the
/// safe side: any `object` or `images`, a bare `request`, `@`, a wildcard
/// or an escape counts.
fn context_errs_on_delete(rule: &Value) -> Vec<String> {
    let entries: Vec<&Value> = rule
        .get("context")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let name_of = |entry: &Value| entry.str_field("name").unwrap_or("").to_string();
    let mut erring: Vec<String> = entries
        .iter()
        .filter(|entry| {
            let Some(variable) = entry.get("variable") else {
                return false;
            };
            // A jmesPath beside a `value` queries that value, not the
            // context (loaders/variable.go; verify44 K).
            if variable.get("default").is_some_and(|d| !d.is_null())
                || variable.get("value").is_some_and(|v| !v.is_null())
            {
                return false;
            }
            let Some(path) = variable.str_field("jmesPath") else {
                return false;
            };
            let compact: String = path.chars().filter(|c| !c.is_whitespace()).collect();
            // `images` too: Kyverno fills it from the new object, empty on
            // a DELETE.
            compact.contains("object")
                || compact.contains("images")
                || compact.contains('@')
                || compact.contains('*')
                || compact.contains("\\u")
                || compact.match_indices("request").any(|(at, word)| {
                    let next = compact[at + word.len()..].chars().next();
                    next != Some('.')
                })
        })
        .map(|entry| name_of(entry))
        .collect();
    // An entry reading one that fails fails when it loads it.
    loop {
        let more: Vec<String> = entries
            .iter()
            .filter(|entry| !erring.contains(&name_of(entry)))
            .filter(|entry| {
                entry.as_object().is_some_and(|fields| {
                    fields
                        .iter()
                        .filter(|(key, _)| *key != "name")
                        .any(|(key, value)| {
                            erring
                                .iter()
                                .any(|name| names(key, name) || references(value, name))
                        })
                })
            })
            .map(|entry| name_of(entry))
            .collect();
        if more.is_empty() {
            return erring;
        }
        erring.extend(more);
    }
}

/// Whether a text under `value` names `name` as a whole word (a context
/// entry read by a condition, a pattern or another entry); read from the
/// text, the safe side: one inside a string literal counts too.
fn references(value: &Value, name: &str) -> bool {
    match value {
        Value::String(text) => names(text, name),
        Value::Array(items) => items.iter().any(|item| references(item, name)),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| names(key, name) || references(item, name)),
        _ => false,
    }
}

/// Whether `text` names `name` as Kyverno's deferred loading finds an
/// entry's use (pkg/engine/context/deferred.go:
/// ``(?:\A|\z|\s|[^.0-9A-Za-z])<name>\b``): after no letter, digit or
/// `.` — `_` may precede (verify44 C: `default_team` loads `team`) — and
/// before no letter, digit or `_`.
fn names(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !name.is_empty()
        && text.match_indices(name).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
                && !after.is_some_and(word)
        })
}

/// Whether a rule's `exclude` takes DELETE out of all its match reaches:
/// one `any` filter (or every `all` filter, or the older plain one) with
/// nothing but `resources` whose only fields are `operations` listing
/// DELETE and `kinds` covering every kind the match names (or none).
/// Anything narrower — names, namespaces, selectors, subjects — may leave
/// some DELETE in.
fn exclude_takes_out_delete(rule: &Value) -> bool {
    let Some(exclude) = rule.get("exclude") else {
        return false;
    };
    let match_kinds: BTreeSet<&str> = rule
        .get("match")
        .into_iter()
        .flat_map(resource_filters)
        .flat_map(filter_kinds)
        .collect();
    let plain = exclude.get("resources").map(|_| exclude);
    let takes_out = |filter: &Value| {
        let Some(filter) = filter.as_object() else {
            return false;
        };
        let Some(resources) = filter.get("resources") else {
            return false;
        };
        let Some(fields) = resources.as_object() else {
            return false;
        };
        if filter.len() != 1 || fields.keys().any(|k| k != "operations" && k != "kinds") {
            return false;
        }
        let deletes = resources
            .get("operations")
            .and_then(Value::as_array)
            .is_some_and(|ops| ops.iter().any(|op| op == "DELETE"));
        let kinds: BTreeSet<&str> = filter_kinds(resources).into_iter().collect();
        // A bare kind covers that kind in every group and version
        // (Kyverno's ParseKindSelector gives it `*` for both), so
        // `Deployment` covers `apps/v1/Deployment`; a qualified one covers
        // only itself. A last segment in lower case or with a dot names a
        // subresource, which a bare kind does not cover.
        let covers = |kind: &str| {
            kinds.contains(kind)
                || kind.rsplit('/').next().is_some_and(|last| {
                    last.starts_with(|c: char| c.is_ascii_uppercase())
                        && !last.contains('.')
                        && kinds.contains(last)
                })
        };
        deletes
            && (kinds.is_empty()
                || kinds.contains("*")
                || match_kinds.iter().all(|kind| covers(kind)))
    };
    // Kyverno reads `any` when it has filters, else `all` (excluding what
    // every one of its filters takes out), else the plain filter
    // (pkg/engine/utils/match.go).
    let filters = |key: &str| {
        exclude
            .get(key)
            .and_then(Value::as_array)
            .filter(|filters| !filters.is_empty())
    };
    if let Some(any) = filters("any") {
        any.iter().any(takes_out)
    } else if let Some(all) = filters("all") {
        all.iter().all(takes_out)
    } else {
        plain.is_some_and(takes_out)
    }
}

/// UPDATE, DELETE and CONNECT when a CEL expression under `lists` reads
/// `request.operation` at all: a validation or variable that does gives
/// what a scan (a CREATE) saw for CREATE only — `request.operation ==
/// 'CREATE' || …` passes every scan and judges an update by its other
/// branch (verify28). A match condition naming only CREATE restricts the
/// policy to what a scan presents, so those go through
/// [`cel_operations`].
fn cel_reading_operation(spec: &Value, lists: &[&str]) -> BTreeSet<&'static str> {
    let aliases = cel_variable_aliases(spec);
    let reads = lists.iter().any(|list| {
        expressions_under(spec, list)
            .any(|text| operation_tests::reads_request(text, &aliases, true))
    });
    if reads {
        Holds::Unknown.admission_only()
    } else {
        BTreeSet::new()
    }
}

/// Whether `value` (a rule, a CEL policy's spec) reads the old object
/// outside its messages: CEL `oldObject`, JMESPath `request.oldObject`.
/// A scan presents no old object (as Kyverno's background scan): `oldObject
/// == null || …` passes every scan and judges only updates (verify29 V11).
/// `code`: the strings are CEL or bare JMESPath (a `validate.cel` block,
/// a `jmesPath`, a foreach `list`); elsewhere in a Kyverno rule only what
/// `{{ }}` holds is read (verify32: `value: oldObject` is a word).
fn reads_old_object(value: &Value, code: bool) -> bool {
    expression_texts(value, code.then_some(Code::Cel))
        .into_iter()
        .any(|(text, code)| code_reads_old_object(text, code))
}

/// What a string under [`expression_texts`] is: CEL, or JMESPath without
/// braces (a `jmesPath`, a foreach `list`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Code {
    Cel,
    Jmespath,
}

/// Every expression a rule's `value` holds, with its language: the
/// `{{…}}` of plain strings (JMESPath), whole strings under `jmesPath`
/// and `list` (JMESPath) and `cel` (CEL), or under `value` itself as
/// `code` says; messages left out, as they judge nothing.
pub(super) fn expression_texts(value: &Value, code: Option<Code>) -> Vec<(&str, Code)> {
    let mut found = Vec::new();
    collect_expressions(value, code, &mut found);
    found
}

fn collect_expressions<'v>(value: &'v Value, code: Option<Code>, found: &mut Vec<(&'v str, Code)>) {
    match value {
        Value::String(text) => match code {
            None => found.extend(
                text.split("{{")
                    .skip(1)
                    .filter_map(|rest| rest.split("}}").next())
                    .map(|inner| (inner, Code::Jmespath)),
            ),
            Some(code) => found.push((text, code)),
        },
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_expressions(item, code, found)),
        Value::Object(map) => {
            for (key, item) in map.iter().filter(|(key, _)| !key.starts_with("message")) {
                let code = match key.as_str() {
                    "cel" => Some(Code::Cel),
                    "jmesPath" | "list" => Some(Code::Jmespath),
                    _ => code,
                };
                collect_expressions(item, code, found);
            }
        }
        _ => {}
    }
}

/// Whether an expression reads the old object: from its AST (verify39 F7:
/// `request."\u006fldObject"` passed a text search) — CEL `oldObject`, or
/// `request.oldObject`, the request or the context whole; what does not
/// parse (a URL among a `cel` block's strings) by its text.
fn code_reads_old_object(text: &str, code: Code) -> bool {
    let read = match code {
        Code::Cel => polscan_engine::reads::cel(text),
        Code::Jmespath => polscan_engine::reads::jmespath(text),
    };
    let Some(read) = read else {
        return text_reads_old_object(text);
    };
    let cel = matches!(code, Code::Cel);
    let found = read.paths().any(|path| match path {
        [] | [Step::Any, ..] => true,
        [Step::Field(root), ..] if cel && root == "oldObject" => true,
        [Step::Field(root), rest @ ..] if root == "request" => {
            matches!(rest.first(), None | Some(Step::Any))
                || matches!(rest.first(), Some(Step::Field(field)) if field == "oldObject")
        }
        _ => false,
    });
    found
}

/// The text reading of [`code_reads_old_object`], for what does not parse.
fn text_reads_old_object(text: &str) -> bool {
    let literals = super::operation_tests::quoted_literals(text);
    text.match_indices("oldObject").any(|(at, _)| {
        match literals
            .iter()
            .find(|(open, close)| *open < at && at < *close)
        {
            // A literal reads it only when it is the name as a key
            // (`request['oldObject']`, `lookup(request, 'oldObject')`,
            // JMESPath `request."oldObject"`), not a value compared
            // with (`name != 'oldObject'`, verify30 N4).
            Some(&(open, close)) => {
                let before = text[..open].trim_end().chars().next_back();
                &text[open + 1..close] == "oldObject"
                    && before.is_none_or(|c| matches!(c, '[' | ',' | '(' | '.'))
            }
            // The name alone, not a longer one (`oldObjects`,
            // `myoldObject`).
            None => {
                let before = text[..at].chars().next_back();
                let after = text[at + "oldObject".len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            }
        }
    })
}

/// The CEL text of each item of `spec.<list>`: its `expression`, else its
/// `valueExpression` (an audit annotation), else its `messageExpression`.
fn expressions_under<'a>(spec: &'a Value, list: &str) -> impl Iterator<Item = &'a str> {
    spec.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            item.str_field("expression")
                .or_else(|| item.str_field("valueExpression"))
                .or_else(|| item.str_field("messageExpression"))
        })
}

/// Whether a Kyverno `kinds` entry names a subresource: `Pod/exec`,
/// `v1/Pod/exec`, `apps/v1/Deployment/scale` — a lower-case last part
/// after a Kind (Kyverno's `kubeutils.ParseKindSelector`).
/// The `resources` blocks of a Kyverno `match` or `exclude`: of each
/// `any`/`all` filter, or its own (the older form).
fn resource_filters(block: &Value) -> impl Iterator<Item = &Value> {
    block
        .get("any")
        .into_iter()
        .chain(block.get("all"))
        .filter_map(Value::as_array)
        .flatten()
        .chain(block.get("resources").map(|_| block))
        .filter_map(|filter| filter.get("resources"))
}

/// A `resources` block's `kinds`, as written.
fn filter_kinds(resources: &Value) -> Vec<&str> {
    resources
        .get("kinds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn kyverno_subresource(kind: &str) -> bool {
    let parts: Vec<&str> = kind.split('/').collect();
    parts.len() >= 2
        && parts[parts.len() - 1]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '*')
        && parts[parts.len() - 2]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '*')
}

/// Whether a Kyverno kind selector with a wildcard matches core Secrets,
/// as the engine's matching reads it (Kyverno's `ParseKindSelector` and
/// wildcard match, pkg/utils/match/kind.go).
fn wildcard_reaches_secrets(selector: &str) -> bool {
    if !selector.contains(['*', '?']) {
        return false;
    }
    let mut targets = polscan_engine::target_kinds::TargetKinds::default();
    targets.add_kyverno_kind(selector);
    targets.includes(&polscan_engine::kinds::ApiResource {
        group: String::new(),
        version: "v1".into(),
        kind: "Secret".into(),
        plural: "secrets".into(),
        namespaced: true,
        verbs: Vec::new(),
    })
}

/// Kind names under any `kinds:` list of a match block, without group and
/// version (`apps/v1/Deployment` → `Deployment`).
pub(super) fn collect_kinds(value: &Value, kinds: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == "kinds" {
                    for kind in item.as_array().into_iter().flatten() {
                        if let Some(text) = kind.as_str() {
                            let base = text.split('/').find(|part| {
                                part.chars().next().is_some_and(|c| c.is_uppercase())
                                    || *part == "*"
                            });
                            kinds.push(base.unwrap_or(text).to_string());
                            // A wildcard Kyverno resolves against discovery
                            // (`v1/*`, `Secre*`) reaches Secrets, which a
                            // scan lists only when named: said as their own
                            // kind, as a CEL policy's `*` (verify46 F1).
                            if wildcard_reaches_secrets(text)
                                && !kinds.iter().any(|k| k == "Secret")
                            {
                                kinds.push("Secret".to_string());
                            }
                        }
                    }
                } else {
                    collect_kinds(item, kinds);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_kinds(item, kinds)),
        _ => {}
    }
}

/// A CEL policy's one rule: unnamed for a (Namespaced)ValidatingPolicy,
/// named after the policy for a ValidatingAdmissionPolicy, as the results
/// name them (Kyverno's pkg/utils/report/results.go).
fn cel_policy_rules(kind: &str, name: &str, spec: &Value) -> (Vec<RuleInfo>, Vec<String>) {
    let actions: Vec<String> = spec
        .get("validationActions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // A ValidatingAdmissionPolicy's action lives on its bindings; the
    // policy itself only audits what a binding says.
    let action = if kind != "ValidatingAdmissionPolicy" && actions.iter().any(|a| a == "Deny") {
        "Enforce"
    } else {
        "Audit"
    };
    let mut kinds = Vec::new();
    for rule in spec
        .pointer("/matchConstraints/resourceRules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for resource in rule
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(plural) = resource.as_str() {
                kinds.push(kind_of_plural(plural));
                // Every core resource reaches Secrets, which a scan lists
                // only when --include-kinds names them: said as their own
                // kind, so a scan that left them out is no evidence for
                // them (a `*` policy was GO with a violating Secret unseen).
                let core = rule
                    .get("apiGroups")
                    .and_then(Value::as_array)
                    .is_some_and(|groups| groups.iter().any(|g| g == "" || g == "*"));
                if core && (plural == "*" || plural == "*/*") {
                    kinds.push("Secret".to_string());
                }
            }
        }
    }
    kinds.sort();
    kinds.dedup();
    let rule_name = if kind == "ValidatingAdmissionPolicy" {
        name.to_string()
    } else {
        String::new()
    };
    let rules = vec![RuleInfo {
        name: rule_name,
        action: action.to_string(),
        kinds: kinds.clone(),
        overrides: Vec::new(),
        default_action: None,
    }];
    (rules, kinds)
}

/// `deployments` → `Deployment`, best effort (`*` stays `*`); used only to
/// compare with the kinds a scan failed to list.
fn kind_of_plural(plural: &str) -> String {
    let base = plural.split('/').next().unwrap_or(plural);
    if base == "*" {
        return "*".into();
    }
    if let Some(kind) = polscan_engine::kinds::kind_of_plural(base) {
        return kind.to_string();
    }
    let singular = if let Some(stem) = base.strip_suffix("ies") {
        format!("{stem}y")
    } else if base.ends_with("sses") || base.ends_with("xes") {
        base.trim_end_matches("es").to_string()
    } else {
        base.trim_end_matches('s').to_string()
    };
    let mut chars = singular.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// When the document last changed: its latest non-status managedFields
/// time, else its creation.
pub(crate) fn last_changed(document: &Value) -> Option<DateTime<Utc>> {
    let managed = document
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        // A status update is not a change of the policy.
        .filter(|entry| entry.str_field("subresource") != Some("status"))
        .filter_map(|entry| entry.str_field("time"))
        .filter_map(parse_time)
        .max();
    managed.or_else(|| {
        document
            .str_at("/metadata/creationTimestamp")
            .and_then(parse_time)
    })
}

fn resource_name(kind: &str) -> &'static str {
    match kind {
        "ClusterPolicy" => "clusterpolicy",
        "Policy" => "policy.kyverno.io",
        "ValidatingPolicy" => "validatingpolicy",
        "NamespacedValidatingPolicy" => "namespacedvalidatingpolicy",
        _ => "validatingadmissionpolicybinding",
    }
}

/// `spec.rules.0.validate.failureAction` → `spec.rules[0].validate.failureAction`.
fn json_path_to_field(dotted: &str) -> String {
    let mut out = String::new();
    for part in dotted.split('.') {
        if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// `kubectl patch <resource>/<name> [-n <namespace>]`: the start of a
/// command changing the policy itself.
fn kubectl_patch(info: &PolicyInfo) -> String {
    let namespace_flag = info
        .namespace
        .as_ref()
        .map(|ns| format!(" -n {ns}"))
        .unwrap_or_default();
    format!(
        "kubectl patch {}/{}{namespace_flag}",
        resource_name(&info.kind),
        info.name
    )
}

/// A CEL policy's change to `validationActions: [action]`: a
/// ValidatingPolicy's own, else (a ValidatingAdmissionPolicy's) its
/// bindings', which name the policy.
fn validation_actions_change(info: &PolicyInfo, action: &str) -> Rollback {
    let merge = format!("--type=merge -p '{{\"spec\":{{\"validationActions\":[\"{action}\"]}}}}'");
    match info.kind.as_str() {
        "ValidatingPolicy" | "NamespacedValidatingPolicy" => Rollback {
            fields: vec!["spec.validationActions".into()],
            value: format!("[{action}]"),
            command: format!("{} {merge}", kubectl_patch(info)),
        },
        _ => Rollback {
            fields: vec!["spec.validationActions (of each binding of this policy)".into()],
            value: format!("[{action}]"),
            command: format!(
                "kubectl patch validatingadmissionpolicybinding <binding of {}> {merge}",
                info.name
            ),
        },
    }
}

/// A Kyverno policy's change of its policy-wide
/// `validationFailureAction` alone.
fn policy_wide_change(patch: &str, action: &str) -> Rollback {
    Rollback {
        fields: vec!["spec.validationFailureAction".into()],
        value: action.into(),
        command: format!(
            "{patch} --type=merge -p '{{\"spec\":{{\"validationFailureAction\":\"{action}\"}}}}'"
        ),
    }
}

fn rollback(info: &PolicyInfo, spec: &Value) -> Option<Rollback> {
    let patch = kubectl_patch(info);
    match info.kind.as_str() {
        "ClusterPolicy" | "Policy" => {
            // Rules that set their own action override the policy's, and
            // an Enforce override beats both where it matches: each of
            // those is patched where it is, else the policy-wide field.
            let mut fields = Vec::new();
            let mut operations = Vec::new();
            let mut to_audit = |path: String, fields: &mut Vec<String>| {
                fields.push(path.trim_start_matches('/').replace('/', "."));
                operations.push(format!(
                    "{{\"op\":\"replace\",\"path\":\"{path}\",\"value\":\"Audit\"}}"
                ));
            };
            let enforcing_overrides = |list: Option<&Value>| -> Vec<usize> {
                list.and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .filter(|(_, o)| {
                        o.str_field("action").and_then(normalized_action) == Some("Enforce")
                    })
                    .map(|(index, _)| index)
                    .collect()
            };
            for (index, rule) in spec
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for field in ["failureAction", "validationFailureAction"] {
                    if rule.pointer(&format!("/validate/{field}")).is_some() {
                        to_audit(format!("/spec/rules/{index}/validate/{field}"), &mut fields);
                    }
                }
                for entry in enforcing_overrides(rule.pointer("/validate/failureActionOverrides")) {
                    to_audit(
                        format!(
                            "/spec/rules/{index}/validate/failureActionOverrides/{entry}/action"
                        ),
                        &mut fields,
                    );
                }
            }
            for entry in enforcing_overrides(spec.get("validationFailureActionOverrides")) {
                to_audit(
                    format!("/spec/validationFailureActionOverrides/{entry}/action"),
                    &mut fields,
                );
            }
            if fields.is_empty() {
                Some(policy_wide_change(&patch, "Audit"))
            } else {
                // Rules without their own action follow the policy's.
                if spec.get("validationFailureAction").is_some() {
                    to_audit("/spec/validationFailureAction".into(), &mut fields);
                }
                Some(Rollback {
                    fields: fields.iter().map(|f| json_path_to_field(f)).collect(),
                    value: "Audit".into(),
                    command: format!("{patch} --type=json -p '[{}]'", operations.join(",")),
                })
            }
        }
        _ => Some(validation_actions_change(info, "Audit")),
    }
}

/// The change that switches a policy to Enforce, the mirror of
/// [`rollback`]: a Kyverno policy's rules that set their own action are
/// set where they are, and the policy-wide field, which the other rules
/// follow (added when absent, as Kyverno's default is Audit); a
/// ValidatingPolicy's `validationActions` and a ValidatingAdmissionPolicy's
/// bindings' become `[Deny]`. Action overrides are left as they are: one
/// that audits is a namespace deliberately spared.
fn enforce(info: &PolicyInfo, spec: &Value) -> Option<Rollback> {
    let patch = kubectl_patch(info);
    match info.kind.as_str() {
        "ClusterPolicy" | "Policy" => {
            let mut fields = Vec::new();
            let mut operations = Vec::new();
            let mut to_enforce = |op: &str, path: String| {
                fields.push(json_path_to_field(
                    &path.trim_start_matches('/').replace('/', "."),
                ));
                operations.push(format!(
                    "{{\"op\":\"{op}\",\"path\":\"{path}\",\"value\":\"Enforce\"}}"
                ));
            };
            // Whether a validate rule follows the policy-wide action, and
            // whether one sets its own.
            let (mut some_rule_follows, mut some_rule_own) = (false, false);
            for (index, rule) in spec
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let Some(validate) = rule.get("validate") else {
                    continue;
                };
                let mut own = false;
                for field in ["failureAction", "validationFailureAction"] {
                    if validate.get(field).is_some() {
                        own = true;
                        to_enforce("replace", format!("/spec/rules/{index}/validate/{field}"));
                    }
                }
                some_rule_follows |= !own;
                some_rule_own |= own;
            }
            if !some_rule_own {
                return Some(policy_wide_change(&patch, "Enforce"));
            }
            if spec.get("validationFailureAction").is_some() || some_rule_follows {
                // `add` sets a member whether or not it is there.
                to_enforce("add", "/spec/validationFailureAction".into());
            }
            Some(Rollback {
                fields,
                value: "Enforce".into(),
                command: format!("{patch} --type=json -p '[{}]'", operations.join(",")),
            })
        }
        _ => Some(validation_actions_change(info, "Deny")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rules_digest_leaves_the_action_out_and_nothing_else() {
        let policy = |action: &str, labels: Value, pattern: &str| {
            json!({
                "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                "metadata": {"name": "p", "labels": labels, "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": action,
                    "kustomize.toolkit.fluxcd.io/name": action,
                    "pod-policies.kyverno.io/autogen-controllers": "none"
                }},
                "spec": {"validationFailureAction": action,
                    "validationFailureActionOverrides": [{"action": action, "namespaces": ["a"]}],
                    "rules": [{"name": "r", "match": {}, "validate": {
                        "failureAction": action, "pattern": {"x": pattern}}}]}
            })
        };
        let dev = rules_digest(&policy("Enforce", json!({"env": "dev"}), "?*"));
        let production = rules_digest(&policy("Audit", json!({"env": "production"}), "?*"));
        assert_eq!(dev, production, "only the action and labels differ");
        assert_ne!(dev, rules_digest(&policy("Audit", json!({}), "a*")));
        let mut autogen = policy("Audit", json!({}), "?*");
        autogen["metadata"]["annotations"]["pod-policies.kyverno.io/autogen-controllers"] =
            json!("Deployment");
        assert_ne!(
            production,
            rules_digest(&autogen),
            "autogen changes what it judges"
        );
        let info = PolicyInfo::from_document(&autogen).expect("a policy");
        assert_eq!(
            info.rules_digest.as_deref(),
            Some(rules_digest(&autogen).as_str())
        );
    }

    #[test]
    fn policy_wide_action_and_its_rollback() {
        let info = PolicyInfo::from_document(&json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {
                "name": "require-labels",
                "annotations": {"policies.kyverno.io/description": "  Label it. "},
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [
                    {"manager": "kubectl", "time": "2026-02-01T00:00:00Z"},
                    {"manager": "kyverno", "subresource": "status", "time": "2026-03-01T00:00:00Z"}
                ]
            },
            "spec": {"validationFailureAction": "Enforce", "rules": [
                {"name": "check", "match": {"any": [{"resources": {"kinds": ["Pod", "apps/v1/Deployment"]}}]},
                 "validate": {"pattern": {}}},
                {"name": "mutate-only", "mutate": {}}
            ]}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Enforce");
        assert_eq!(info.rules.len(), 1, "mutate rules are not validated");
        assert_eq!(info.kinds, ["Deployment", "Pod"]);
        assert_eq!(info.description.as_deref(), Some("Label it."));
        assert_eq!(
            info.last_changed.map(|t| t.to_rfc3339()),
            Some("2026-02-01T00:00:00+00:00".into())
        );
        let rollback = info.rollback.expect("rollback");
        assert_eq!(rollback.fields, ["spec.validationFailureAction"]);
        assert_eq!(
            rollback.command,
            "kubectl patch clusterpolicy/require-labels --type=merge -p '{\"spec\":{\"validationFailureAction\":\"Audit\"}}'"
        );
    }

    #[test]
    fn rule_actions_are_patched_rule_by_rule() {
        let info = PolicyInfo::from_document(&json!({
            "kind": "Policy", "metadata": {"name": "p", "namespace": "team"},
            "spec": {"rules": [
                {"name": "a", "validate": {"failureAction": "Enforce"}},
                {"name": "b", "validate": {"failureAction": "Audit"}}
            ]}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Mixed");
        assert_eq!(info.qualified_name(), "team/p");
        let rollback = info.rollback.expect("rollback");
        assert_eq!(rollback.fields.len(), 2);
        assert!(rollback.command.starts_with("kubectl patch policy.kyverno.io/p -n team --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/rules/0/validate/failureAction\""), "{}", rollback.command);
    }

    #[test]
    fn cel_policies_deny_means_enforce() {
        let info = PolicyInfo::from_document(&json!({
            "kind": "ValidatingPolicy", "metadata": {"name": "v"},
            "spec": {"validationActions": ["Deny"],
                     "matchConstraints": {"resourceRules": [{"resources": ["deployments", "ingresses", "pods"]}]}}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Enforce");
        assert_eq!(info.kinds, ["Deployment", "Ingress", "Pod"]);
        assert!(PolicyInfo::from_document(&json!({"kind": "ConfigMap"})).is_none());
    }

    #[test]
    fn a_rule_enforced_by_a_namespace_override_is_enforced() {
        let info = PolicyInfo::from_document(&json!({
            "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"validationFailureAction": "Audit",
                     "validationFailureActionOverrides": [{"action": "Enforce", "namespaces": ["prod"]}],
                     "rules": [{"name": "a", "validate": {}}]}
        }))
        .expect("a policy");
        // Kyverno enforces in prod only (matchOverride): neither Enforce
        // nor Audit says that.
        assert_eq!(info.action, "Mixed");
        assert_eq!(info.rules[0].action_in("prod"), "Enforce");
        assert_eq!(info.rules[0].action_in("dev"), "Audit");
        assert_eq!(info.rules[0].action_in(""), "Audit", "cluster-scoped");
        assert_eq!(
            info.action_detail.as_deref(),
            Some("Enforce in namespace(s) prod; Audit elsewhere")
        );
        let info = PolicyInfo::from_document(&json!({
            "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"rules": [
                {"name": "a", "validate": {"failureAction": "Audit",
                 "failureActionOverrides": [{"action": "Enforce", "namespaces": ["prod"]}]}},
                {"name": "b", "validate": {"failureAction": "Audit",
                 "failureActionOverrides": [{"action": "Audit", "namespaces": ["dev"]}]}}
            ]}
        }))
        .expect("a policy");
        assert_eq!(info.action, "Mixed");
        assert_eq!(info.rules[0].action, "Mixed");
        assert_eq!(info.rules[0].action_in("prod"), "Enforce");
        assert_eq!(info.rules[1].action, "Audit");
        // walk39 F16: rule b's override repeats its action: said as Audit.
        assert_eq!(
            info.action_detail.as_deref(),
            Some("rule a: Enforce in namespace(s) prod; Audit elsewhere; rule b: Audit")
        );
        // An override that repeats the action changes nothing now: no
        // "Audit (Audit in namespace(s) team-c; Audit elsewhere)".
        let info = PolicyInfo::from_document(&json!({
            "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"validationFailureAction": "Audit",
                     "validationFailureActionOverrides": [{"action": "Audit", "namespaces": ["team-c"]}],
                     "rules": [{"name": "a", "validate": {}}]}
        }))
        .expect("a policy");
        assert_eq!(info.action_summary(), "Audit");
        assert_eq!(info.stays_audit(), ["namespace(s) team-c"]);
    }

    #[test]
    fn override_order_follows_kyverno() {
        // The rule's own action beats the policy's overrides; the rule's
        // overrides beat its own action; wildcards match; an invalid
        // override action is skipped; no namespaces and no selector is
        // every namespace.
        let info = PolicyInfo::from_document(&json!({
            "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"validationFailureAction": "Audit",
                     "validationFailureActionOverrides": [
                        {"action": "Enforce", "namespaces": ["web-*"]},
                        {"action": "bogus", "namespaces": ["x"]}],
                     "rules": [
                {"name": "own", "validate": {"failureAction": "Audit"}},
                {"name": "inherits", "validate": {}},
                {"name": "rule-override", "validate": {"failureAction": "Enforce",
                 "failureActionOverrides": [{"action": "Audit", "namespaces": ["dev"]}]}},
                {"name": "everywhere", "validate": {"failureActionOverrides": [{"action": "Enforce"}]}}
            ]}
        }))
        .expect("a policy");
        let rule = |name: &str| info.rules.iter().find(|r| r.name == name).expect(name);
        assert_eq!(rule("own").action, "Audit");
        assert_eq!(rule("own").action_in("web-1"), "Audit");
        assert_eq!(rule("inherits").action_in("web-1"), "Enforce");
        assert_eq!(rule("inherits").action_in("x"), "Audit");
        assert_eq!(rule("rule-override").action_in("dev"), "Audit");
        assert_eq!(rule("rule-override").action_in("web-1"), "Enforce");
        assert_eq!(rule("everywhere").action_in("any"), "Enforce");
        assert_eq!(
            rule("everywhere").action_in(""),
            "Enforce",
            "cluster-scoped too"
        );
        assert_eq!(info.action_for("autogen-inherits", "web-2"), "Enforce");
        assert_eq!(info.action, "Mixed");
        let detail = info.action_detail.expect("detail");
        assert!(
            detail.contains("rule inherits: Enforce in namespace(s) web-*; Audit elsewhere"),
            "{detail}"
        );
    }

    #[test]
    fn the_rollback_of_an_override_changes_the_override() {
        let info = PolicyInfo::from_document(&json!({
            "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"validationFailureAction": "Audit",
                     "validationFailureActionOverrides": [
                        {"action": "Audit", "namespaces": ["dev"]},
                        {"action": "Enforce", "namespaces": ["web"]}],
                     "rules": [
                {"name": "a", "validate": {"failureActionOverrides": [{"action": "Enforce", "namespaces": ["prod"]}]}}
            ]}
        }))
        .expect("a policy");
        let rollback = info.rollback.expect("rollback");
        assert_eq!(
            rollback.fields,
            [
                "spec.rules[0].validate.failureActionOverrides[0].action",
                "spec.validationFailureActionOverrides[1].action",
                "spec.validationFailureAction"
            ]
        );
        assert_eq!(
            rollback.command,
            "kubectl patch clusterpolicy/p --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/rules/0/validate/failureActionOverrides/0/action\",\"value\":\"Audit\"},{\"op\":\"replace\",\"path\":\"/spec/validationFailureActionOverrides/1/action\",\"value\":\"Audit\"},{\"op\":\"replace\",\"path\":\"/spec/validationFailureAction\",\"value\":\"Audit\"}]'"
        );
    }

    #[test]
    fn an_audit_override_stays_after_the_switch_and_then_the_switch_is_no_change() {
        // Kyverno tries a rule's failureActionOverrides, then its own
        // failureAction, then the policy's validationFailureActionOverrides,
        // then its validationFailureAction: an Audit override keeps its
        // namespaces in Audit whatever the action the Enforce change sets.
        let policy = |action: &str, overrides: Value, rule_validate: Value| {
            PolicyInfo::from_document(&json!({
                "kind": "ClusterPolicy", "metadata": {"name": "p"},
                "spec": {"validationFailureAction": action,
                         "validationFailureActionOverrides": overrides,
                         "rules": [{"name": "a", "validate": rule_validate},
                                   {"name": "b", "validate": {}}]}
            }))
            .expect("a policy")
        };
        let team_b = json!([{"action": "Audit", "namespaces": ["team-b"]}]);
        let before = policy("Audit", team_b.clone(), json!({}));
        assert_eq!(before.stays_audit(), ["namespace(s) team-b"]);
        assert!(!before.enforce_changes_nothing());
        let after = policy("Enforce", team_b.clone(), json!({}));
        assert_eq!(after.action, "Mixed");
        assert_eq!(after.rules[0].action_in("team-b"), "Audit");
        assert_eq!(after.stays_audit(), ["namespace(s) team-b"]);
        assert!(after.enforce_changes_nothing());
        // A rule with its own action ignores the policy's overrides; its
        // own overrides name the rule when the others lack them.
        let own = policy(
            "Enforce",
            json!([]),
            json!({"failureAction": "Enforce",
                   "failureActionOverrides": [{"action": "Audit", "namespaces": ["dev-*"]},
                                              {"action": "Enforce", "namespaces": ["prod"]}]}),
        );
        assert_eq!(own.stays_audit(), ["namespace(s) dev-* (rule a)"]);
        assert!(own.enforce_changes_nothing());
        let ruled = policy("Audit", team_b, json!({"failureAction": "Enforce"}));
        assert_eq!(ruled.stays_audit(), ["namespace(s) team-b (rule b)"]);
        assert!(!ruled.enforce_changes_nothing());
        // A selector's namespaces are unknown here: said as such.
        let selected = policy(
            "Enforce",
            json!([{"action": "Audit", "namespaceSelector": {"matchLabels": {"audit": "true"}}}]),
            json!({}),
        );
        assert_eq!(
            selected.stays_audit(),
            ["namespaces matching a namespaceSelector"]
        );
        // No override: nothing stays, and Enforce is Enforce.
        let plain = policy("Enforce", json!(null), json!({}));
        assert!(plain.stays_audit().is_empty() && plain.enforce_changes_nothing());
    }

    #[test]
    fn an_action_kyverno_refuses_is_invalid_not_audit() {
        let info = PolicyInfo::from_document(&json!({
            "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"validationFailureAction": "Audti", "rules": [{"name": "a", "validate": {}}]}
        }))
        .expect("a policy");
        assert_eq!(info.action, ACTION_INVALID);
        assert!(!info.enforces());
    }

    #[test]
    fn a_validating_admission_policy_acts_as_its_bindings_say() {
        let vap = json!({"kind": "ValidatingAdmissionPolicy", "metadata": {"name": "v"},
                         "spec": {"matchConstraints": {"resourceRules": [{"resources": ["pods"]}]}}});
        let audit = json!({"kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "b1"},
                           "spec": {"policyName": "v", "validationActions": ["Audit"]}});
        let deny = json!({"kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "b2"},
                          "spec": {"policyName": "v", "validationActions": ["Deny"]}});
        let other = json!({"kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "b3"},
                           "spec": {"policyName": "w", "validationActions": ["Deny"]}});
        let action = |bindings: &[&Value]| {
            PolicyInfo::from_document_with_bindings(&vap, bindings)
                .expect("a policy")
                .action
        };
        assert_eq!(action(&[&audit, &other]), "Audit");
        assert_eq!(action(&[&deny]), "Enforce");
        assert_eq!(action(&[&audit, &deny]), "Mixed");
        let info =
            PolicyInfo::from_document_with_bindings(&vap, &[&audit, &deny]).expect("a policy");
        assert_eq!(
            info.rollback.expect("rollback").command,
            "kubectl patch validatingadmissionpolicybinding/b2 --type=merge -p '{\"spec\":{\"validationActions\":[\"Audit\"]}}'"
        );
        // Still in Audit: the rollback names the binding that will Deny.
        let audited = PolicyInfo::from_document_with_bindings(&vap, &[&audit]).expect("a policy");
        assert_eq!(
            audited.rollback.expect("rollback").command,
            "kubectl patch validatingadmissionpolicybinding/b1 --type=merge -p '{\"spec\":{\"validationActions\":[\"Audit\"]}}'"
        );
    }

    #[test]
    fn match_namespaces_follows_kyvernos_any_all_and_legacy_match() {
        let confined = |matching: Value| {
            match_namespaces(&json!({"rules": [
                {"name": "r", "match": matching, "validate": {"pattern": {}}},
                {"name": "other", "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["c"]}}]},
                 "validate": {"pattern": {}}},
                {"name": "m", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "mutate": {}}
            ]}))
        };
        let names = |list: &[&str]| Some(list.iter().map(|n| n.to_string()).collect::<Vec<_>>());
        // any: the union; every filter must be confined.
        assert_eq!(
            confined(
                json!({"any": [{"resources": {"namespaces": ["a"]}}, {"resources": {"namespaces": ["b"]}}]})
            ),
            names(&["a", "b", "c"])
        );
        assert_eq!(
            confined(
                json!({"any": [{"resources": {"namespaces": ["a"]}}, {"resources": {"kinds": ["Pod"]}}]})
            ),
            None
        );
        // all: the intersection of the filters that list namespaces.
        assert_eq!(
            confined(
                json!({"all": [{"resources": {"namespaces": ["a", "b"]}}, {"resources": {"namespaces": ["b"]}}, {"resources": {"kinds": ["Pod"]}}]})
            ),
            names(&["b", "c"])
        );
        // `any` decides when it has filters, as in Kyverno's match.go.
        assert_eq!(
            confined(
                json!({"any": [{"resources": {"kinds": ["Pod"]}}], "all": [{"resources": {"namespaces": ["a"]}}]})
            ),
            None
        );
        assert_eq!(
            confined(json!({"resources": {"namespaces": ["a"]}})),
            names(&["a", "c"])
        );
        // Wildcards, empty lists and selectors confine nothing.
        for open in [
            json!({"resources": {"namespaces": ["a*"]}}),
            json!({"resources": {"namespaces": []}}),
            json!({"any": [{"resources": {"namespaceSelector": {"matchLabels": {"t": "a"}}}}]}),
        ] {
            assert_eq!(confined(open.clone()), None, "{open}");
        }
    }
}
