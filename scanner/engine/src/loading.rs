//! Loading policy documents in one pass: each document's `apiVersion` and
//! `kind` are looked up once ([`DocumentKind::of`]) and the document goes to
//! the one policy kind that owns it. Documents enter; the loaded set
//! ([`LoadedPolicies`]: policies of each kind, bindings, exceptions) and the
//! problems met on the way, each naming its document by position, leave.
//! [`LoadedPolicies::into_engine`] (and [`crate::Engine::from_documents`],
//! which does both steps) attaches the bindings and builds the engine.

use serde_json::Value;

use crate::cel::policies::admission_policy::{AdmissionPolicy, Binding};
use crate::cel::policies::policy_exception::CelPolicyException;
use crate::cel::policies::validating_policy::ValidatingPolicy;
use crate::document_kind::DocumentKind;
use crate::exceptions::kyverno::PolicyException;
use crate::kyverno::policy::Policy;
use crate::{Engine, EngineOptions, ValueExt};

/// Something met while loading that is not a policy: an invalid document,
/// a kind polscan does not evaluate, a document that is no policy, a
/// ValidatingAdmissionPolicy expression that does not compile, a binding
/// naming no known policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadProblem {
    /// The position (from 0) of the document it is about among the
    /// documents loaded; `None` when it is about the set (a binding whose
    /// policy is missing).
    pub document: Option<usize>,
    /// What happened, for a person (the document's place is not in it).
    pub message: String,
    /// The document is a policy or exception that could not be used: what
    /// it would have said is missing.
    pub invalid_policy: bool,
}

impl LoadProblem {
    /// A problem with the document at `document` (None: with the set).
    pub fn new(document: Option<usize>, message: impl Into<String>, invalid_policy: bool) -> Self {
        LoadProblem {
            document,
            message: message.into(),
            invalid_policy,
        }
    }
}

/// Policies of every kind parsed from documents, ready to become an
/// [`Engine`], and the problems met on the way, in document order.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct LoadedPolicies {
    /// Kyverno `ClusterPolicy` and `Policy`.
    pub policies: Vec<Policy>,
    /// Kyverno `ValidatingPolicy` and `NamespacedValidatingPolicy`.
    pub(crate) validating: Vec<ValidatingPolicy>,
    /// Kubernetes `ValidatingAdmissionPolicy`, not yet bound.
    pub(crate) admission: Vec<AdmissionPolicy>,
    /// Kubernetes `ValidatingAdmissionPolicyBinding`.
    pub(crate) bindings: Vec<Binding>,
    /// Kyverno `PolicyException` (kyverno.io).
    pub exceptions: Vec<PolicyException>,
    /// Kyverno CEL `PolicyException` (policies.kyverno.io).
    pub cel_exceptions: Vec<CelPolicyException>,
    /// Problems with single documents, in document order.
    pub problems: Vec<LoadProblem>,
}

impl LoadedPolicies {
    /// Parses every policy document; an invalid one is a [`LoadProblem`]
    /// (`invalid_policy`) and the others load. A ValidatingAdmissionPolicy
    /// whose expressions do not compile still loads (its results are
    /// `error`, as the Kyverno CLI's), with one problem per error.
    pub fn load<'a>(documents: impl IntoIterator<Item = &'a Value>) -> LoadedPolicies {
        let mut set = LoadedPolicies::default();
        for (index, document) in documents.into_iter().enumerate() {
            set.load_one(index, document);
        }
        set
    }

    fn load_one(&mut self, index: usize, document: &Value) {
        let problem = |message: String, invalid_policy: bool| LoadProblem {
            document: Some(index),
            message,
            invalid_policy,
        };
        let Some(owner) = DocumentKind::of(document) else {
            let kind = document.str_field("kind").unwrap_or("");
            self.problems.push(problem(
                format!("not a policy (kind {kind:?}), ignored"),
                false,
            ));
            return;
        };
        let what = match owner {
            DocumentKind::PolicyException | DocumentKind::CelPolicyException => {
                "invalid PolicyException"
            }
            _ => "invalid policy",
        };
        let invalid =
            |err: &dyn std::fmt::Display| problem(format!("{what}, skipped: {err}"), true);
        let refused = match owner {
            DocumentKind::KyvernoPolicy => Policy::from_document(document).map(|policy| {
                // A `validate.cel` expression that does not compile still
                // loads: Kyverno's validator denies with the compile error,
                // a `fail` on every resource the rule matches. Said now, so
                // those fails read as the policy's fault (walk28 F10).
                for rule in &policy.spec.rules {
                    let Some(cel) = rule.validate.as_ref().and_then(|v| v.cel.as_ref()) else {
                        continue;
                    };
                    let errors = cel
                        .expressions
                        .iter()
                        .map(|e| &e.expression)
                        .chain(cel.variables.iter().map(|v| &v.expression))
                        .filter_map(|program| program.compile_error());
                    for err in errors {
                        self.problems.push(problem(
                            format!(
                                "policy {} rule {}: {err} — every resource the rule matches gets a fail naming it, as Kyverno gives it: fix the policy, not the resources",
                                policy.name, rule.name
                            ),
                            false,
                        ));
                    }
                }
                self.policies.push(policy)
            }),
            DocumentKind::ValidatingPolicy => {
                ValidatingPolicy::from_document(document).map(|policy| self.validating.push(policy))
            }
            DocumentKind::AdmissionPolicy => {
                AdmissionPolicy::from_document(document).map(|policy| {
                    // The policy still loads and gives `error` results, as
                    // the Kyverno CLI's VAP evaluation does. (A
                    // ValidatingPolicy that does not compile is refused when
                    // it is parsed, as the Kyverno CLI refuses it.)
                    for err in policy.compile_errors() {
                        self.problems.push(problem(
                            format!("policy {}: {err}", policy.meta.name),
                            false,
                        ));
                    }
                    self.admission.push(policy)
                })
            }
            DocumentKind::AdmissionPolicyBinding => {
                AdmissionPolicy::binding_from_document(document)
                    .map(|binding| self.bindings.push(binding))
            }
            DocumentKind::PolicyException => PolicyException::from_document(document)
                .map(|exception| self.exceptions.push(exception)),
            DocumentKind::CelPolicyException => CelPolicyException::from_document(document)
                .map(|exception| self.cel_exceptions.push(exception)),
            DocumentKind::NotEvaluated => {
                let kind = document.str_field("kind").unwrap_or("");
                let name = document.str_at("/metadata/name").unwrap_or("");
                self.problems.push(problem(
                    format!("{kind} {name} is not evaluated by this version of polscan"),
                    false,
                ));
                Ok(())
            }
        };
        if let Err(err) = refused {
            self.problems.push(invalid(&err));
        }
    }

    /// How many policies will be evaluated (of every kind; bindings and
    /// exceptions are not policies).
    pub fn len(&self) -> usize {
        self.policies.len() + self.validating.len() + self.admission.len()
    }

    /// The kind and name (`ValidatingPolicy a`, `NamespacedValidatingPolicy
    /// ns/b`) of the ValidatingPolicies
    /// whose `evaluation.background.enabled` is false: no scan evaluates them.
    pub fn validating_not_in_background(&self) -> Vec<String> {
        self.validating
            .iter()
            .filter(|policy| !policy.background())
            .map(|policy| format!("{} {}", policy.meta.kind, policy.meta.qualified_name()))
            .collect()
    }

    /// Whether no policy loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Attaches bindings to their ValidatingAdmissionPolicies and builds the
    /// engine (with no cluster data: see [`Engine::with_cluster_data`]).
    /// The problems returned are the loading's, then one per binding that
    /// names no loaded ValidatingAdmissionPolicy.
    pub fn into_engine(mut self, options: EngineOptions) -> (Engine, Vec<LoadProblem>) {
        for policy in &mut self.admission {
            policy.bind(&self.bindings);
        }
        for binding in &self.bindings {
            if !self
                .admission
                .iter()
                .any(|p| p.meta.name == binding.policy_name())
            {
                self.problems.push(LoadProblem {
                    document: None,
                    message: format!(
                        "ValidatingAdmissionPolicyBinding {} names policy {}, which is not among the policies",
                        binding.name,
                        binding.policy_name()
                    ),
                    invalid_policy: false,
                });
            }
        }
        let engine = Engine::new(self.policies, options)
            .with_validating_policies(self.validating)
            .with_admission_policies(self.admission)
            .with_policy_exceptions(self.exceptions)
            .with_cel_policy_exceptions(self.cel_exceptions);
        (engine, self.problems)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::LoadedPolicies;

    /// walk28 F10: a `validate.cel` expression that does not compile gave
    /// `fail`s on every resource and no word at load.
    #[test]
    fn a_validate_cel_expression_that_does_not_compile_is_said_at_load() {
        let policy = json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "bad-cel"},
            "spec": {"rules": [{
                "name": "replicas",
                "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
                "validate": {"cel": {"expressions": [{"expression": "object.spec.replicas <= "}]}}
            }]}
        });
        let loaded = LoadedPolicies::load([&policy]);
        assert_eq!(loaded.len(), 1, "it still loads, as in Kyverno");
        let said: Vec<&str> = loaded.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("policy bad-cel rule replicas: "),
            "{said:?}"
        );
        assert!(said[0].contains("fix the policy"), "{said:?}");
        assert!(!loaded.problems[0].invalid_policy);
    }
}
