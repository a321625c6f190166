//! What every policy kind shares: the identity results and reports carry
//! ([`PolicyMeta`], with Kyverno's `policies.kyverno.io/*` annotations and
//! the `process` report property), why a document is not a usable policy
//! ([`PolicyError`]) and Kyverno's spelling of an action. The policy kinds
//! ([`crate::kyverno::policy`], [`crate::cel::policies`]) build these from
//! their documents; results, reports and the evidence crate read them.

use std::collections::BTreeMap;

/// Why a document is not a usable Kyverno policy; names the field path.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum PolicyError {
    /// The document is not of the kind asked for.
    #[error("{policy}: not a Kyverno policy (apiVersion {api_version:?}, kind {kind:?})")]
    NotAPolicy {
        /// The document's `metadata.name` (`<unnamed>` when unset).
        policy: String,
        /// The document's `apiVersion`.
        api_version: String,
        /// The document's `kind`.
        kind: String,
    },
    /// A field has the wrong shape, or a required one is missing.
    #[error("{policy}: invalid field {path}: {message}")]
    InvalidField {
        /// The policy's name (`PolicyException <name>` for an exception).
        policy: String,
        /// Where: the field's path from the document's root
        /// (`spec.rules[0].validate`).
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// Refused by the checks the Kyverno CLI runs (schema, policy
    /// validation, CEL compilation); the stage says how the CLI reacts.
    #[error("{policy}: {} error: {source}", source.stage.as_str())]
    Rejected {
        /// The policy's name.
        policy: String,
        /// What the checks found, and at which stage.
        #[source]
        source: super::policy_validation::Rejection,
    },
}

impl PolicyError {
    /// How the Kyverno CLI treats the refusal: a malformed field the typed
    /// parse meets is a schema error (the loader drops the document).
    pub fn stage(&self) -> super::policy_validation::Stage {
        match self {
            PolicyError::Rejected { source, .. } => source.stage,
            _ => super::policy_validation::Stage::Schema,
        }
    }
}

/// Kyverno's spelling of an action (`audit`/`enforce` are deprecated
/// aliases): `Audit` or `Enforce`, `None` for anything else.
pub fn normalized_action(action: &str) -> Option<&'static str> {
    match action {
        "Audit" | "audit" => Some("Audit"),
        "Enforce" | "enforce" => Some("Enforce"),
        _ => None,
    }
}

/// Annotation keys Kyverno reads off a policy.
pub const ANNOTATION_SEVERITY: &str = "policies.kyverno.io/severity";
/// The policy's category, which reports copy into each result.
pub const ANNOTATION_CATEGORY: &str = "policies.kyverno.io/category";
/// `"false"` makes the policy's failures warnings in reports.
pub const ANNOTATION_SCORED: &str = "policies.kyverno.io/scored";
/// The policy's title, for people.
pub const ANNOTATION_TITLE: &str = "policies.kyverno.io/title";
/// What the policy asks for and why, for people.
pub const ANNOTATION_DESCRIPTION: &str = "policies.kyverno.io/description";
/// Kyverno's `process` report property (pkg/utils/report/results.go
/// `selectProcess`): `background scan` when background processing is on,
/// else `admission review` when admission is, else empty.
pub fn process(background: bool, admission: bool) -> &'static str {
    if background {
        "background scan"
    } else if admission {
        "admission review"
    } else {
        ""
    }
}

/// What results and reports need to know about any policy kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMeta {
    /// `ClusterPolicy`, `Policy`, `ValidatingPolicy`,
    /// `NamespacedValidatingPolicy` or `ValidatingAdmissionPolicy`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// The namespace of a namespaced kind (`Policy`,
    /// `NamespacedValidatingPolicy`); `None` for the others.
    pub namespace: Option<String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// The `process` report property ([`process`]).
    pub process: &'static str,
}

impl PolicyMeta {
    /// The severity (`policies.kyverno.io/severity`: `low`, `medium`, `high`,
    /// ...), as written.
    pub fn severity(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_SEVERITY)
            .map(String::as_str)
    }

    /// The category (`policies.kyverno.io/category`), as written.
    pub fn category(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_CATEGORY)
            .map(String::as_str)
    }

    /// The human title (`policies.kyverno.io/title`).
    pub fn title(&self) -> Option<&str> {
        self.annotations.get(ANNOTATION_TITLE).map(String::as_str)
    }

    /// What the policy asks for and why (`policies.kyverno.io/description`):
    /// the remediation text reports and evidence show to violators.
    pub fn description(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_DESCRIPTION)
            .map(|text| text.trim())
            .filter(|text| !text.is_empty())
    }

    /// `policies.kyverno.io/scored: "false"` marks failures as warnings.
    pub fn scored(&self) -> bool {
        self.annotations
            .get(ANNOTATION_SCORED)
            .map(|value| value != "false")
            .unwrap_or(true)
    }

    /// A kyverno.io ClusterPolicy or Policy (the kinds PolicyExceptions cover).
    pub fn is_kyverno_rule_policy(&self) -> bool {
        self.kind == "ClusterPolicy" || self.kind == "Policy"
    }

    /// `namespace/name` for namespaced policies, `name` otherwise, as in reports.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{namespace}/{}", self.name),
            None => self.name.clone(),
        }
    }
}
