//! Which PolicyExceptions a scan applies, mirroring Kyverno's admission:
//! the `--exception-namespace` setting enters; an [`ExceptionScope`] leaves,
//! which splits the cluster's policy documents into those applied and the
//! PolicyExceptions held back, and says so in one message.
//!
//! Kyverno's admission controller applies kyverno.io PolicyExceptions only
//! when started with `--enablePolicyException=true` and a non-empty
//! `--exceptionNamespace` (only that namespace's, `*` all:
//! cmd/internal/engine.go `NewExceptionSelector`), and policies.kyverno.io
//! ones only with `--enablePolicyException` (cmd/kyverno/main.go), from
//! `--exceptionNamespace` (all when empty or `*`:
//! pkg/cel/engine/exception.go). The chart leaves the feature off.

use polscan_engine::ValueExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The PolicyExceptions a run applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "applied")]
pub enum ExceptionScope {
    /// None of the cluster's: Kyverno's default (`--enablePolicyException`
    /// false).
    #[default]
    Disabled,
    /// Those in `namespace` (`*`: every namespace), as a Kyverno started
    /// with `--enablePolicyException --exceptionNamespace=<namespace>`.
    Namespace {
        /// The namespace (`*`: every one).
        namespace: String,
    },
    /// Every exception given (an audit of files, as the Kyverno CLI
    /// applies what it is given).
    Given,
}

/// `--exception-namespace ""`: Kyverno disables exceptions then.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("--exception-namespace is empty: Kyverno disables PolicyExceptions with an empty --exceptionNamespace; leave the flag out for that, or give a namespace or '*'")]
pub struct EmptyNamespace;

/// The record value of [`ExceptionScope::Disabled`].
pub const DISABLED: &str = "disabled";
/// The record value of [`ExceptionScope::Namespace`].
pub const NAMESPACE: &str = "namespace";
/// The record value of [`ExceptionScope::Given`].
pub const GIVEN: &str = "given";

impl ExceptionScope {
    /// The scope of `scan --exception-namespace` (absent: disabled).
    pub fn from_flag(namespace: Option<&str>) -> Result<ExceptionScope, EmptyNamespace> {
        match namespace.map(str::trim) {
            None => Ok(ExceptionScope::Disabled),
            Some("") => Err(EmptyNamespace),
            Some(namespace) => Ok(ExceptionScope::Namespace {
                namespace: namespace.to_string(),
            }),
        }
    }

    /// Whether an exception stored in `namespace` applies.
    pub fn applies_in(&self, namespace: &str) -> bool {
        match self {
            ExceptionScope::Disabled => false,
            ExceptionScope::Namespace { namespace: scope } => scope == "*" || scope == namespace,
            ExceptionScope::Given => true,
        }
    }

    /// The record's words for it: `(policyExceptions, exceptionNamespace)`.
    pub fn record_values(&self) -> (&'static str, Option<&str>) {
        match self {
            ExceptionScope::Disabled => (DISABLED, None),
            ExceptionScope::Namespace { namespace } => (NAMESPACE, Some(namespace)),
            ExceptionScope::Given => (GIVEN, None),
        }
    }

    /// Read back from the record's values; None for a value it does not know.
    pub fn from_record(applied: &str, namespace: Option<&str>) -> Option<ExceptionScope> {
        match (applied, namespace) {
            (DISABLED, _) => Some(ExceptionScope::Disabled),
            (GIVEN, _) => Some(ExceptionScope::Given),
            (NAMESPACE, Some(namespace)) if !namespace.is_empty() => {
                Some(ExceptionScope::Namespace {
                    namespace: namespace.to_string(),
                })
            }
            _ => None,
        }
    }

    /// One sentence for the evidence: which exceptions the results assume.
    pub fn statement(&self) -> String {
        match self {
            ExceptionScope::Disabled => "PolicyExceptions not applied (Kyverno's default: it ignores them unless started with --enablePolicyException and --exceptionNamespace; scan with --exception-namespace to match such a Kyverno)".into(),
            ExceptionScope::Namespace { namespace } if namespace == "*" => "PolicyExceptions applied: in every namespace, as a Kyverno started with --enablePolicyException --exceptionNamespace='*'".into(),
            ExceptionScope::Namespace { namespace } => format!("PolicyExceptions applied: in namespace {namespace}, as a Kyverno started with --enablePolicyException --exceptionNamespace={namespace}"),
            ExceptionScope::Given => "PolicyExceptions applied: every one given to the audit with --exception (as the Kyverno CLI does; none when none was given); Kyverno's admission applies them only when started with --enablePolicyException and an --exceptionNamespace holding them".into(),
        }
    }

    /// Keeps the documents this scope applies: every policy, and the
    /// PolicyExceptions (either group) in its namespaces. Returns the
    /// PolicyExceptions held back, by `namespace/name`. `value` gives each
    /// document's content (documents carry their origin beside it).
    pub fn keep_applied<D>(
        &self,
        documents: &mut Vec<D>,
        value: impl Fn(&D) -> &Value,
    ) -> Vec<String> {
        let mut held = Vec::new();
        documents.retain(|document| {
            let document = value(document);
            if !is_policy_exception(document) {
                return true;
            }
            let namespace = document.str_at("/metadata/namespace").unwrap_or("");
            if self.applies_in(namespace) {
                return true;
            }
            let name = document.str_at("/metadata/name").unwrap_or("");
            held.push(format!("{namespace}/{name}"));
            false
        });
        held
    }

    /// The one message a scan gives about the exceptions it held back.
    pub fn held_back_message(&self, held: &[String]) -> Option<String> {
        if held.is_empty() {
            return None;
        }
        const SHOWN: usize = 5;
        let mut names = held
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if held.len() > SHOWN {
            names.push_str(&format!(" and {} more", held.len() - SHOWN));
        }
        let count = held.len();
        Some(match self {
            ExceptionScope::Namespace { namespace } => format!(
                "{count} PolicyException(s) outside namespace {namespace} found but not applied ({names}): a Kyverno started with --exceptionNamespace={namespace} ignores them"
            ),
            _ => format!(
                "{count} PolicyException(s) found but not applied ({names}): Kyverno ignores PolicyExceptions by default; if yours runs with --enablePolicyException --exceptionNamespace=<ns>, scan with --exception-namespace <ns> ('*' for all namespaces)"
            ),
        })
    }
}

/// A kyverno.io or policies.kyverno.io PolicyException.
pub fn is_policy_exception(document: &serde_json::Value) -> bool {
    document.str_field("kind") == Some("PolicyException")
        && document
            .str_field("apiVersion")
            .is_some_and(|v| v.starts_with("kyverno.io/") || v.starts_with("policies.kyverno.io/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exception(group: &str, namespace: &str, name: &str) -> Value {
        json!({"apiVersion": format!("{group}/v2"), "kind": "PolicyException",
                          "metadata": {"namespace": namespace, "name": name}})
    }

    fn policy() -> Value {
        json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                          "metadata": {"name": "p"}})
    }

    fn documents() -> Vec<Value> {
        vec![
            policy(),
            exception("kyverno.io", "kyverno", "a"),
            exception("policies.kyverno.io", "team-b", "b"),
        ]
    }

    #[test]
    fn absent_flag_applies_no_exception_as_kyvernos_default() {
        let scope = ExceptionScope::from_flag(None).unwrap();
        let mut docs = documents();
        let held = scope.keep_applied(&mut docs, |d| d);
        assert_eq!(held, vec!["kyverno/a", "team-b/b"]);
        assert_eq!(docs.len(), 1);
        let message = scope.held_back_message(&held).unwrap();
        assert!(message.contains("2 PolicyException(s) found but not applied"));
        assert!(message.contains("--enablePolicyException --exceptionNamespace=<ns>"));
        assert!(message.contains("--exception-namespace"));
    }

    #[test]
    fn a_namespace_applies_only_its_exceptions_and_star_all() {
        let scope = ExceptionScope::from_flag(Some("kyverno")).unwrap();
        let mut docs = documents();
        assert_eq!(scope.keep_applied(&mut docs, |d| d), vec!["team-b/b"]);
        assert_eq!(docs.len(), 2);
        let all = ExceptionScope::from_flag(Some("*")).unwrap();
        let mut docs = documents();
        assert!(all.keep_applied(&mut docs, |d| d).is_empty());
        assert_eq!(docs.len(), 3);
        assert!(all.held_back_message(&[]).is_none());
    }

    #[test]
    fn an_empty_namespace_is_refused() {
        assert_eq!(ExceptionScope::from_flag(Some("")), Err(EmptyNamespace));
    }

    #[test]
    fn record_values_read_back() {
        for scope in [
            ExceptionScope::Disabled,
            ExceptionScope::Given,
            ExceptionScope::Namespace {
                namespace: "kyverno".into(),
            },
        ] {
            let (applied, namespace) = scope.record_values();
            assert_eq!(ExceptionScope::from_record(applied, namespace), Some(scope));
        }
        assert_eq!(ExceptionScope::from_record("on", None), None);
    }
}
