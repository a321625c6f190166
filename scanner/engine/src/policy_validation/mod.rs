//! Policy validation, as the Kyverno CLI refuses policies. One policy
//! document (`serde_json::Value`) enters; either nothing (valid) or a
//! [`Rejection`] leaves, naming each offending field path and the
//! [`Stage`] that refused it. The stage decides what the callers do: the
//! Kyverno CLI aborts a run on an unknown field, drops a document with
//! another schema error, skips a policy its policy validation refuses, and
//! aborts when a ValidatingPolicy does not compile; `polscan apply` and
//! `scan` count every stage as an invalid policy.
//!
//! Sources (Kyverno HEAD 111e07bbec), one submodule each:
//! - `schema`: unknown fields, types, enums, required fields and lengths,
//!   as `kubectlValidateLoader` (`cmd/cli/kubectl-kyverno/policy/load.go`)
//!   checks documents against the CRDs and the Kubernetes OpenAPI;
//! - `semantics`: `Validate` in `pkg/validation/policy/validate.go` for
//!   ClusterPolicy/Policy (namespace on a ClusterPolicy,
//!   `validateResources`, `validateRuleContext`, kinds in every match
//!   block, kind `*`, `isLabelAndAnnotationsString`), the `api/kyverno/v1`
//!   checks it calls (policy name length, webhook timeouts, deprecated
//!   fields, duplicate rule names, one operation per rule, any/all
//!   exclusivity, name/names, empty selectors, namespaces in a Policy,
//!   identical match/exclude `any` entries) and the validate-rule checker
//!   `pkg/policy/validate/validate.go` (one validation element, pattern
//!   anchors, foreach, CEL fields);
//! - `variables`: user variables in background policies, variables in
//!   match/exclude, undefined variables of validate rules (the mock
//!   context of `hasInvalidVariables`), `element` outside a foreach;
//! - ValidatingPolicy compilation (`compile_rejection`): `NewProvider` in
//!   `pkg/cel/policies/vpol/engine/provider.go` returns the compile error,
//!   and `kyverno test`/`apply` stop with it.
//!
//! Not ported: the variable check of mutate-target and verifyImages rules,
//! kind discovery (`validKinds`), `validationFailureActionOverrides`
//! namespace wildcards, and the generate/mutate/verifyImages deep checks.

mod schema;
mod semantics;
mod variables;

use std::fmt;

use serde_json::Value;

/// Which of the Kyverno CLI's checks refused a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// An unknown field (kubectl-validate's strict decode): the CLI's
    /// loader fails and `kyverno test` aborts the whole run.
    UnknownField,
    /// A type, enum or required-field error: the loader prints it and drops
    /// the document; the run goes on without the policy.
    Schema,
    /// Kyverno's policy validation: `kyverno test` skips the policy and
    /// prints its rows as Skip / "Invalid Policy".
    Semantic,
    /// A CEL expression of a ValidatingPolicy that does not compile: the
    /// CLI stops applying policies with the compile error.
    Compile,
}

impl Stage {
    /// The stage as error messages name it.
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Stage::UnknownField => "unknown field",
            Stage::Schema => "schema",
            Stage::Semantic => "policy validation",
            Stage::Compile => "CEL compilation",
        }
    }
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldProblem {
    /// Dotted field path (`spec.rules[0].validate.patern`).
    pub(crate) path: String,
    /// What is wrong, in Kyverno's words where it has them.
    pub(crate) message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a policy is refused: the stage and every field it named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The check that refused the policy.
    pub(crate) stage: Stage,
    /// Every field it named (one for policy validation, which stops at
    /// the first problem as Kyverno does).
    pub(crate) problems: Vec<FieldProblem>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problems: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        write!(f, "{}", problems.join("; "))
    }
}

impl std::error::Error for Rejection {}

impl Rejection {
    /// The field path of the first problem.
    pub fn path(&self) -> &str {
        self.problems.first().map(|p| p.path.as_str()).unwrap_or("")
    }
}

/// Unknown fields first (they abort the CLI's loader), then the other
/// schema errors (they drop the document).
fn schema_check(obj: &'static schema::Obj, document: &Value) -> Result<(), Rejection> {
    let mut findings = Vec::new();
    schema::check(&schema::Node::Obj(obj), document, "", &mut findings);
    let unknown: Vec<FieldProblem> = findings
        .iter()
        .filter(|f| f.unknown_field)
        .map(|f| FieldProblem {
            path: f.path.clone(),
            message: f.message.clone(),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(Rejection {
            stage: Stage::UnknownField,
            problems: unknown,
        });
    }
    if findings.is_empty() {
        return Ok(());
    }
    Err(Rejection {
        stage: Stage::Schema,
        problems: findings
            .into_iter()
            .map(|f| FieldProblem {
                path: f.path,
                message: f.message,
            })
            .collect(),
    })
}

/// Validates a kyverno.io ClusterPolicy or Policy: schema, then Kyverno's
/// policy validation (first problem only, as Kyverno returns it).
pub(crate) fn check_kyverno_policy(document: &Value) -> Result<(), Rejection> {
    schema_check(&schema::KYVERNO_POLICY, document)?;
    semantics::kyverno_semantics(document).map_err(|problem| Rejection {
        stage: Stage::Semantic,
        problems: vec![problem],
    })
}

/// Validates a ValidatingPolicy or NamespacedValidatingPolicy against its
/// schema (compilation is checked where the policy is compiled).
pub(crate) fn check_validating_policy(document: &Value) -> Result<(), Rejection> {
    schema_check(&schema::VALIDATING_POLICY, document)
}

/// Validates a ValidatingAdmissionPolicy against its schema.
pub(crate) fn check_admission_policy(document: &Value) -> Result<(), Rejection> {
    schema_check(&schema::ADMISSION_POLICY, document)
}

/// Validates a ValidatingAdmissionPolicyBinding against its schema.
pub(crate) fn check_admission_binding(document: &Value) -> Result<(), Rejection> {
    schema_check(&schema::ADMISSION_BINDING, document)
}

/// A ValidatingPolicy's compile errors as a rejection.
pub(crate) fn compile_rejection(errors: Vec<String>) -> Option<Rejection> {
    if errors.is_empty() {
        return None;
    }
    Some(Rejection {
        stage: Stage::Compile,
        problems: errors
            .into_iter()
            .map(|error| match error.split_once(": ") {
                Some((place, message)) => FieldProblem {
                    path: format!("spec.{place}"),
                    message: message.to_string(),
                },
                None => FieldProblem {
                    path: "spec".into(),
                    message: error,
                },
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests;
