//! Kyverno's CEL `PolicyException` (policies.kyverno.io v1alpha1, v1beta1,
//! v1): an exception names CEL policies by `policyRefs` (name and kind) and
//! picks resources with CEL `matchConditions`. Exception documents enter
//! through [`CelPolicyException::from_document`]; for one CEL policy that
//! matched one resource, `check` says what Kyverno does next: give a
//! `skip` (or `pass`) result naming the exceptions instead of evaluating the
//! policy, give an `error` (a condition failed under `failurePolicy: Fail`),
//! or evaluate the policy with the partial exceptions' `images` and
//! `allowedValues` bound as the `exceptions` CEL variable.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cel::policies::admission::AdmissionOutcome;
use crate::cel::{Activation, CelVariable, PolicyInputs, ResourceScope};
use crate::context::ClusterData;
use crate::document_kind::DocumentKind;
use crate::policy::PolicyError;
use crate::RuleStatus;
use crate::ValueExt;

/// The label that ranks exceptions when several match
/// (`LabelPolicyExceptionPriority`, pkg/utils/report/metadata.go).
const PRIORITY_LABEL: &str = "polex.kyverno.io/priority";

#[derive(Debug, Clone, Deserialize)]
struct PolicyRef {
    name: String,
    kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    policy_refs: Vec<PolicyRef>,
    #[serde(default)]
    match_conditions: Vec<CelVariable>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    allowed_values: Vec<String>,
    #[serde(default)]
    report_result: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// One CEL PolicyException, following `PolicyException` of
/// github.com/kyverno/api (api/policies.kyverno.io/v1beta1), which Kyverno
/// converts every served version to.
#[derive(Debug, Clone)]
pub struct CelPolicyException {
    /// `metadata.name`: what a report's `exceptions` property lists.
    pub name: String,
    /// `metadata.namespace`, empty when unset.
    pub namespace: String,
    spec: Spec,
    expires_at: Option<DateTime<Utc>>,
    priority: Option<i64>,
}

impl CelPolicyException {
    /// A `PolicyException` of policies.kyverno.io (any version Kyverno loads).
    pub fn is_cel_policy_exception(document: &Value) -> bool {
        DocumentKind::of(document) == Some(DocumentKind::CelPolicyException)
    }

    /// Parses an exception, refusing what the CRD schema refuses (no
    /// `policyRefs`, a ref without name or kind, an unnamed condition, a
    /// `reportResult` other than skip or pass, a malformed `expiresAt`) and
    /// match conditions that do not compile (Kyverno's vpol compiler fails
    /// the policy they are attached to, pkg/cel/policies/vpol/compiler).
    pub fn from_document(document: &Value) -> Result<CelPolicyException, PolicyError> {
        let text = |pointer: &str| document.string_at_or_empty(pointer);
        let name = text("/metadata/name");
        let namespace = text("/metadata/namespace");
        let label = if namespace.is_empty() {
            format!("PolicyException {name}")
        } else {
            format!("PolicyException {namespace}/{name}")
        };
        let invalid = |path: &str, message: String| PolicyError::InvalidField {
            policy: label.clone(),
            path: path.to_string(),
            message,
        };
        if name.is_empty() {
            return Err(invalid("metadata.name", "is required".into()));
        }
        let spec: Spec =
            serde_path_to_error::deserialize(document.get("spec").cloned().unwrap_or(Value::Null))
                .map_err(|err| invalid(&format!("spec.{}", err.path()), err.inner().to_string()))?;
        for (i, reference) in spec.policy_refs.iter().enumerate() {
            if reference.name.is_empty() || reference.kind.is_empty() {
                return Err(invalid(
                    &format!("spec.policyRefs[{i}]"),
                    "name and kind are required".into(),
                ));
            }
        }
        for (i, condition) in spec.match_conditions.iter().enumerate() {
            if condition.name.is_empty() {
                return Err(invalid(
                    &format!("spec.matchConditions[{i}].name"),
                    "is required".into(),
                ));
            }
        }
        if let Some(result) = spec.report_result.as_deref() {
            if result != "skip" && result != "pass" {
                return Err(invalid(
                    "spec.reportResult",
                    format!("must be skip or pass, got {result:?}"),
                ));
            }
        }
        let expires_at = match spec.expires_at.as_deref() {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|err| invalid("spec.expiresAt", err.to_string()))?
                    .with_timezone(&Utc),
            ),
        };
        let errors: Vec<String> = spec
            .match_conditions
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                c.expression
                    .compile_error()
                    .map(|err| format!("matchConditions[{i}] ({}): {err}", c.name))
            })
            .collect();
        if let Some(source) = crate::policy_validation::compile_rejection(errors) {
            return Err(PolicyError::Rejected {
                policy: label,
                source,
            });
        }
        let priority = document
            .label(PRIORITY_LABEL)
            .and_then(|text| text.parse().ok());
        Ok(CelPolicyException {
            name,
            namespace,
            spec,
            expires_at,
            priority,
        })
    }

    /// `namespace/name` (`name` when cluster-wide), as Kyverno's message
    /// names it (`cache.MetaNamespaceKeyFunc`).
    pub(crate) fn key(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }

    /// How many of the exception's `policyRefs` name the policy: a ref
    /// applies when both name and kind are equal (vpol `NewProvider`,
    /// pkg/cel/policies/vpol/engine/provider.go; `ListExceptions`,
    /// pkg/cel/engine/exception.go). The policy's namespace plays no part,
    /// nor does the exception's: Kyverno attaches an exception of any
    /// namespace. Each matching ref attaches the exception once more.
    pub(crate) fn refs_to(&self, kind: &str, name: &str) -> usize {
        self.spec
            .policy_refs
            .iter()
            .filter(|r| r.kind == kind && r.name == name)
            .count()
    }

    /// Whether `spec.expiresAt` has passed. Kyverno's controllers drop
    /// expired exceptions (`IsExpired` in `ListExceptions`); its CLI does
    /// not look.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| now > at)
    }

    /// A partial exception narrows the policy (`images`, `allowedValues`)
    /// instead of exempting the resource.
    fn is_partial(&self) -> bool {
        !self.spec.images.is_empty() || !self.spec.allowed_values.is_empty()
    }

    /// The exception's `matchConditions` on one resource, as Kyverno's
    /// `Policy.match` (pkg/cel/policies/vpol/compiler/policy.go) evaluates
    /// them: a false condition decides at once; otherwise an error (or a
    /// non-boolean) is the answer, unless `failurePolicy` is Ignore, which
    /// makes it false. No conditions: it matches.
    fn conditions_hold(
        &self,
        activation: &Activation<'_>,
        ignore_errors: bool,
    ) -> Result<bool, String> {
        let mut errors = Vec::new();
        for condition in &self.spec.match_conditions {
            match condition.expression.evaluate_bool(activation) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(err) => errors.push(err),
            }
        }
        if errors.is_empty() {
            Ok(true)
        } else if ignore_errors {
            Ok(false)
        } else {
            Err(errors.join("; "))
        }
    }
}

/// What the exceptions attached to a policy say about one resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// The policy's result, decided without evaluating it.
    Decided(AdmissionOutcome),
    /// The policy is evaluated, with `exceptions` bound to these.
    Evaluate(Allowances),
}

/// The `images` and `allowedValues` of the partial exceptions that
/// matched: the CEL variable `exceptions` (`libs.Exception`,
/// pkg/cel/libs/variables.go), empty lists when none did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Allowances {
    pub(crate) allowed_images: Vec<String>,
    pub(crate) allowed_values: Vec<String>,
}

impl Allowances {
    /// The value of the `exceptions` CEL variable.
    pub(crate) fn to_value(&self) -> Value {
        json!({
            "allowedImages": self.allowed_images,
            "allowedValues": self.allowed_values,
        })
    }
}

/// Kyverno's exception step of a matched CEL policy (`evaluateWithData`,
/// pkg/cel/policies/vpol/compiler/policy.go, then `handlePolicy`,
/// pkg/cel/policies/vpol/engine/engine.go). `exceptions` are those whose
/// refs name the policy, in order; `scope` and `policy` are what the
/// policy sees.
///
/// - An exception without `images`/`allowedValues` whose conditions hold
///   exempts the resource: the result is `skip` (`pass` when the chosen
///   exception's `reportResult` is pass; the choice is the first with the
///   highest `polex.kyverno.io/priority` label above 0, else the first),
///   rule `exception`, message "rule is skipped due to policy exception:"
///   and the `namespace/name` of every matched exception, and the
///   `exceptions` property listing their names.
/// - A condition error before any exemption is an `error` result, rule
///   `evaluation`, "failed to load context: …" (errors after an exemption
///   are ignored; with `failurePolicy: Ignore` an error is a non-match).
/// - Otherwise the policy runs with the matched partial exceptions'
///   allowances.
pub(crate) fn check(
    exceptions: &[&CelPolicyException],
    scope: &ResourceScope,
    data: &Arc<dyn ClusterData>,
    policy: PolicyInputs<'_>,
    ignore_errors: bool,
) -> Verdict {
    if exceptions.is_empty() {
        return Verdict::Evaluate(Allowances::default());
    }
    let activation = Activation::new(scope, data, policy);
    let mut matched: Vec<&CelPolicyException> = Vec::new();
    let mut exempted = false;
    let mut allowances = Allowances::default();
    for exception in exceptions {
        match exception.conditions_hold(&activation, ignore_errors) {
            Err(_) if exempted => continue,
            Err(err) => {
                return Verdict::Decided(AdmissionOutcome {
                    rule: Some("evaluation".into()),
                    ..AdmissionOutcome::error(format!("failed to load context: {err}"))
                })
            }
            Ok(false) => {}
            Ok(true) => {
                matched.push(exception);
                if !exception.is_partial() {
                    exempted = true;
                } else if !exempted {
                    allowances
                        .allowed_images
                        .extend(exception.spec.images.iter().cloned());
                    allowances
                        .allowed_values
                        .extend(exception.spec.allowed_values.iter().cloned());
                }
            }
        }
    }
    if exempted {
        Verdict::Decided(exempt(&matched))
    } else {
        Verdict::Evaluate(allowances)
    }
}

/// The result of a resource exempted by `matched` (non-empty).
fn exempt(matched: &[&CelPolicyException]) -> AdmissionOutcome {
    let mut highest = 0;
    let mut selected = 0;
    for (i, exception) in matched.iter().enumerate() {
        if let Some(priority) = exception.priority {
            if priority > highest {
                highest = priority;
                selected = i;
            }
        }
    }
    let keys: Vec<String> = matched.iter().map(|e| e.key()).collect();
    let passed = matched
        .get(selected)
        .and_then(|e| e.spec.report_result.as_deref())
        == Some("pass");
    let (status, verb) = if passed {
        (RuleStatus::Pass, "passed")
    } else {
        (RuleStatus::Skip, "skipped")
    };
    let names: Vec<&str> = matched.iter().map(|e| e.name.as_str()).collect();
    AdmissionOutcome {
        rule: Some("exception".into()),
        annotations: BTreeMap::from([("exceptions".to_string(), names.join(","))]),
        ..AdmissionOutcome::with_message(
            status,
            format!(
                "rule is {verb} due to policy exception: {}",
                keys.join(", ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cel::CelInputs;
    use crate::context::NoClusterData;

    fn exception(yaml: &str) -> CelPolicyException {
        let value: Value = serde_yaml::from_str(yaml).expect("yaml");
        CelPolicyException::from_document(&value).expect("valid exception")
    }

    fn pod(namespace: &str, name: &str) -> CelInputs {
        CelInputs {
            object: json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace}, "spec": {"hostNetwork": true}}),
            request: json!({"operation": "CREATE", "namespace": namespace, "name": name}),
            ..CelInputs::default()
        }
    }

    fn verdict(exceptions: &[CelPolicyException], inputs: &CelInputs, ignore: bool) -> Verdict {
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let refs: Vec<&CelPolicyException> = exceptions.iter().collect();
        let scope = ResourceScope::new(inputs.clone());
        check(&refs, &scope, &data, PolicyInputs::default(), ignore)
    }

    const PROBE: &str = "apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: allow-probe, namespace: telemetry}
spec:
  policyRefs: [{name: no-host-network, kind: ValidatingPolicy}]
  matchConditions:
  - {name: probe, expression: \"object.metadata.name == 'probe'\"}
";

    #[test]
    fn every_served_version_is_recognised_and_others_are_not() {
        for version in ["v1alpha1", "v1beta1", "v1"] {
            let doc = json!({"apiVersion": format!("policies.kyverno.io/{version}"), "kind": "PolicyException"});
            assert!(
                CelPolicyException::is_cel_policy_exception(&doc),
                "{version}"
            );
        }
        for other in [
            json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException"}),
            json!({"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy"}),
        ] {
            assert!(!CelPolicyException::is_cel_policy_exception(&other));
        }
    }

    #[test]
    fn policy_refs_need_both_name_and_kind_equal() {
        let e = exception(PROBE);
        assert_eq!(e.refs_to("ValidatingPolicy", "no-host-network"), 1);
        assert_eq!(
            e.refs_to("NamespacedValidatingPolicy", "no-host-network"),
            0
        );
        assert_eq!(e.refs_to("ValidatingPolicy", "other"), 0);
        let twice = exception(
            "apiVersion: policies.kyverno.io/v1beta1
kind: PolicyException
metadata: {name: twice}
spec:
  policyRefs: [{name: p, kind: NamespacedValidatingPolicy}, {name: p, kind: NamespacedValidatingPolicy}]
",
        );
        assert_eq!(twice.refs_to("NamespacedValidatingPolicy", "p"), 2);
    }

    #[test]
    fn conditions_true_exempt_with_skip_naming_the_exception() {
        let Verdict::Decided(outcome) =
            verdict(&[exception(PROBE)], &pod("telemetry", "probe"), false)
        else {
            panic!("expected an exemption");
        };
        assert_eq!(outcome.status, RuleStatus::Skip);
        assert_eq!(outcome.rule.as_deref(), Some("exception"));
        assert_eq!(
            outcome.message,
            "rule is skipped due to policy exception: telemetry/allow-probe"
        );
        assert_eq!(
            outcome.annotations.get("exceptions").map(String::as_str),
            Some("allow-probe")
        );
    }

    #[test]
    fn conditions_false_leave_the_policy_to_run() {
        assert_eq!(
            verdict(&[exception(PROBE)], &pod("telemetry", "sniffer"), false),
            Verdict::Evaluate(Allowances::default())
        );
    }

    #[test]
    fn no_conditions_exempt_every_matched_resource() {
        let e = exception(
            "apiVersion: policies.kyverno.io/v1alpha1
kind: PolicyException
metadata: {name: all}
spec: {policyRefs: [{name: p, kind: ValidatingPolicy}]}
",
        );
        let Verdict::Decided(outcome) = verdict(&[e], &pod("a", "b"), false) else {
            panic!("expected an exemption");
        };
        assert_eq!(
            outcome.message,
            "rule is skipped due to policy exception: all"
        );
    }

    const BROKEN: &str = "apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: broken, namespace: ops}
spec:
  policyRefs: [{name: no-host-network, kind: ValidatingPolicy}]
  matchConditions:
  - {name: bad, expression: \"object.spec.missing.field == 'x'\"}
";

    #[test]
    fn a_condition_error_is_an_error_unless_failure_policy_ignores_it() {
        let Verdict::Decided(outcome) = verdict(&[exception(BROKEN)], &pod("ops", "x"), false)
        else {
            panic!("expected an error");
        };
        assert_eq!(outcome.status, RuleStatus::Error);
        assert_eq!(outcome.rule.as_deref(), Some("evaluation"));
        assert!(
            outcome.message.starts_with("failed to load context: "),
            "{}",
            outcome.message
        );
        assert_eq!(
            verdict(&[exception(BROKEN)], &pod("ops", "x"), true),
            Verdict::Evaluate(Allowances::default())
        );
    }

    #[test]
    fn a_false_condition_wins_over_an_earlier_error() {
        let e = exception(
            "apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: mixed}
spec:
  policyRefs: [{name: p, kind: ValidatingPolicy}]
  matchConditions:
  - {name: bad, expression: \"object.spec.missing.field == 'x'\"}
  - {name: no, expression: \"false\"}
",
        );
        assert_eq!(
            verdict(&[e], &pod("a", "b"), false),
            Verdict::Evaluate(Allowances::default())
        );
    }

    #[test]
    fn an_error_after_an_exemption_does_not_undo_it_but_one_before_does() {
        let probe = exception(PROBE);
        let broken = exception(BROKEN);
        let Verdict::Decided(after) = verdict(
            &[probe.clone(), broken.clone()],
            &pod("telemetry", "probe"),
            false,
        ) else {
            panic!("decided");
        };
        assert_eq!(after.status, RuleStatus::Skip);
        let Verdict::Decided(before) = verdict(&[broken, probe], &pod("telemetry", "probe"), false)
        else {
            panic!("decided");
        };
        assert_eq!(before.status, RuleStatus::Error);
    }

    #[test]
    fn several_matching_exceptions_are_all_named_and_priority_picks_the_report_result() {
        let second = exception(
            "apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: second, labels: {polex.kyverno.io/priority: \"5\"}}
spec:
  policyRefs: [{name: no-host-network, kind: ValidatingPolicy}]
  reportResult: pass
",
        );
        let Verdict::Decided(outcome) = verdict(
            &[exception(PROBE), second.clone()],
            &pod("telemetry", "probe"),
            false,
        ) else {
            panic!("decided");
        };
        assert_eq!(outcome.status, RuleStatus::Pass);
        assert_eq!(
            outcome.message,
            "rule is passed due to policy exception: telemetry/allow-probe, second"
        );
        assert_eq!(
            outcome.annotations.get("exceptions").map(String::as_str),
            Some("allow-probe,second")
        );
        // Without the label the first matched exception decides: skip.
        let mut unranked = second;
        unranked.priority = None;
        let Verdict::Decided(outcome) = verdict(
            &[exception(PROBE), unranked],
            &pod("telemetry", "probe"),
            false,
        ) else {
            panic!("decided");
        };
        assert_eq!(outcome.status, RuleStatus::Skip);
    }

    #[test]
    fn the_exceptions_namespace_does_not_limit_the_resources_it_covers() {
        // Kyverno lists exceptions of every namespace for a policy and
        // matches them by policyRefs and matchConditions only.
        let Verdict::Decided(outcome) =
            verdict(&[exception(PROBE)], &pod("elsewhere", "probe"), false)
        else {
            panic!("decided");
        };
        assert_eq!(outcome.status, RuleStatus::Skip);
    }

    #[test]
    fn partial_exceptions_hand_their_allowances_to_the_policy() {
        let images = exception(
            "apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: images}
spec:
  policyRefs: [{name: p, kind: ValidatingPolicy}]
  images: [\"ghcr.io/*\"]
  allowedValues: [a]
",
        );
        assert_eq!(
            verdict(std::slice::from_ref(&images), &pod("a", "b"), false),
            Verdict::Evaluate(Allowances {
                allowed_images: vec!["ghcr.io/*".into()],
                allowed_values: vec!["a".into()],
            })
        );
        // A full exemption among them decides, naming both.
        let Verdict::Decided(outcome) = verdict(
            &[images, exception(PROBE)],
            &pod("telemetry", "probe"),
            false,
        ) else {
            panic!("decided");
        };
        assert_eq!(
            outcome.annotations.get("exceptions").map(String::as_str),
            Some("images,allow-probe")
        );
    }

    #[test]
    fn expiry_is_read() {
        let e = exception(
            "apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: e}
spec:
  policyRefs: [{name: p, kind: ValidatingPolicy}]
  expiresAt: \"2025-01-01T00:00:00Z\"
",
        );
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc)
        };
        assert!(e.is_expired(at("2025-01-02T00:00:00Z")));
        assert!(!e.is_expired(at("2024-12-31T00:00:00Z")));
        assert!(!exception(PROBE).is_expired(at("2999-01-01T00:00:00Z")));
    }

    #[test]
    fn malformed_exceptions_are_refused() {
        let refuse = |yaml: &str| {
            let value: Value = serde_yaml::from_str(yaml).expect("yaml");
            CelPolicyException::from_document(&value)
                .expect_err("refused")
                .to_string()
        };
        let head =
            "apiVersion: policies.kyverno.io/v1\nkind: PolicyException\nmetadata: {name: x}\n";
        assert!(refuse(&format!("{head}spec: {{}}\n")).contains("policyRefs"));
        assert!(refuse(&format!("{head}spec: {{policyRefs: [{{name: p}}]}}\n")).contains("kind"));
        assert!(refuse(&format!(
            "{head}spec: {{policyRefs: [{{name: p, kind: ValidatingPolicy}}], reportResult: fail}}\n"
        ))
        .contains("reportResult"));
        assert!(refuse(&format!(
            "{head}spec:\n  policyRefs: [{{name: p, kind: ValidatingPolicy}}]\n  matchConditions: [{{name: c, expression: \"object.(\"}}]\n"
        ))
        .contains("matchConditions[0]"));
    }
}

/// The exceptions as the engine applies them to ValidatingPolicies, from
/// documents to results.
#[cfg(test)]
mod engine_tests {
    use super::*;
    use crate::cel::policies::validating_policy::ValidatingPolicy;
    use crate::{Engine, EngineOptions, Environment, RuleResult, SkipReason};

    fn doc(yaml: &str) -> Value {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    fn host_network_policy(kind: &str, extra: &str) -> ValidatingPolicy {
        let namespace = if kind == "NamespacedValidatingPolicy" {
            ", namespace: telemetry"
        } else {
            ""
        };
        ValidatingPolicy::from_document(&doc(&format!(
            "apiVersion: policies.kyverno.io/v1
kind: {kind}
metadata: {{name: no-host-network{namespace}}}
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - {{apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}}
  validations:
  - {{expression: \"!has(object.spec.hostNetwork) || object.spec.hostNetwork == false\", message: no host network}}
{extra}"
        )))
        .expect("valid policy")
    }

    fn exception_for(kind: &str, spec_extra: &str) -> CelPolicyException {
        CelPolicyException::from_document(&doc(&format!(
            "apiVersion: policies.kyverno.io/v1alpha1
kind: PolicyException
metadata: {{name: allow-probe, namespace: telemetry}}
spec:
  policyRefs: [{{name: no-host-network, kind: {kind}}}]
{spec_extra}"
        )))
        .expect("valid exception")
    }

    const ONLY_PROBE: &str =
        "  matchConditions: [{name: probe, expression: \"object.metadata.name == 'probe'\"}]\n";

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "telemetry"},
               "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "ghcr.io/x/probe:1"}]}})
    }

    fn results(
        policy: ValidatingPolicy,
        exceptions: Vec<CelPolicyException>,
        resource: &Value,
    ) -> Vec<RuleResult> {
        Engine::new(Vec::new(), EngineOptions::default())
            .with_validating_policies(vec![policy])
            .with_cel_policy_exceptions(exceptions)
            .evaluate(resource, &Environment::default())
            .into_iter()
            .flat_map(|response| response.rules)
            .collect()
    }

    fn statuses(results: &[RuleResult]) -> Vec<(String, RuleStatus)> {
        results.iter().map(|r| (r.rule.clone(), r.status)).collect()
    }

    #[test]
    fn the_engine_skips_only_what_the_exception_covers() {
        let policy = || host_network_policy("ValidatingPolicy", "");
        let exception = || exception_for("ValidatingPolicy", ONLY_PROBE);
        let probe = results(policy(), vec![exception()], &pod("probe"));
        assert_eq!(
            statuses(&probe),
            vec![("exception".to_string(), RuleStatus::Skip)]
        );
        assert_eq!(
            probe[0].message,
            "rule is skipped due to policy exception: telemetry/allow-probe"
        );
        assert_eq!(
            probe[0].properties.get("exceptions").map(String::as_str),
            Some("allow-probe")
        );
        assert_eq!(
            statuses(&results(policy(), vec![exception()], &pod("sniffer"))),
            vec![(String::new(), RuleStatus::Fail)]
        );
    }

    #[test]
    fn a_ref_of_the_other_kind_does_not_attach() {
        let namespaced = exception_for("NamespacedValidatingPolicy", ONLY_PROBE);
        assert_eq!(
            statuses(&results(
                host_network_policy("ValidatingPolicy", ""),
                vec![namespaced.clone()],
                &pod("probe")
            )),
            vec![(String::new(), RuleStatus::Fail)]
        );
        // ... and does attach to the NamespacedValidatingPolicy of that name.
        assert_eq!(
            statuses(&results(
                host_network_policy("NamespacedValidatingPolicy", ""),
                vec![namespaced],
                &pod("probe")
            )),
            vec![("exception".to_string(), RuleStatus::Skip)]
        );
    }

    #[test]
    fn exceptions_come_after_match_constraints_and_before_match_conditions() {
        let everything = || exception_for("ValidatingPolicy", "");
        // Not a Pod: the policy does not match, the exception says nothing.
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "probe", "namespace": "telemetry"}});
        assert!(results(
            host_network_policy("ValidatingPolicy", ""),
            vec![everything()],
            &service
        )
        .is_empty());
        // The policy's matchConditions are false, but the exception decides first.
        let conditioned = host_network_policy(
            "ValidatingPolicy",
            "  matchConditions: [{name: never, expression: \"false\"}]\n",
        );
        let excepted = results(conditioned.clone(), vec![everything()], &pod("probe"));
        assert_eq!(
            statuses(&excepted),
            vec![("exception".to_string(), RuleStatus::Skip)]
        );
        assert_eq!(excepted[0].skip_reason, None);
        let plain = results(conditioned, Vec::new(), &pod("probe"));
        assert_eq!(plain[0].skip_reason, Some(SkipReason::MatchConditions));
    }

    #[test]
    fn the_policys_failure_policy_decides_what_a_condition_error_does() {
        let broken = || {
            exception_for(
                "ValidatingPolicy",
                "  matchConditions: [{name: bad, expression: \"object.spec.nothing.here\"}]\n",
            )
        };
        let failing = results(
            host_network_policy("ValidatingPolicy", ""),
            vec![broken()],
            &pod("probe"),
        );
        assert_eq!(
            statuses(&failing),
            vec![("evaluation".to_string(), RuleStatus::Error)]
        );
        let ignoring = results(
            host_network_policy("ValidatingPolicy", "  failurePolicy: Ignore\n"),
            vec![broken()],
            &pod("probe"),
        );
        assert_eq!(statuses(&ignoring), vec![(String::new(), RuleStatus::Fail)]);
    }

    #[test]
    fn partial_exceptions_reach_the_policy_as_the_exceptions_variable() {
        let images_policy = || {
            ValidatingPolicy::from_document(&doc(
                "apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata: {name: no-host-network}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  validations:
  - expression: \"object.spec.containers.all(c, exceptions.allowedImages.exists(i, c.image.startsWith(i)))\"
",
            ))
            .expect("valid policy")
        };
        let allowing = exception_for("ValidatingPolicy", "  images: [ghcr.io/x/]\n");
        assert_eq!(
            statuses(&results(images_policy(), vec![allowing], &pod("probe"))),
            vec![(String::new(), RuleStatus::Pass)]
        );
        // No exception: the variable is still bound, with empty lists.
        assert_eq!(
            statuses(&results(images_policy(), Vec::new(), &pod("probe"))),
            vec![(String::new(), RuleStatus::Fail)]
        );
    }

    #[test]
    fn autogen_results_are_excepted_with_the_conditions_unrewritten() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "probe", "namespace": "telemetry"},
            "spec": {"template": {"spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "x"}]}}}});
        // `object` is the Deployment: its name is what the condition reads.
        assert_eq!(
            statuses(&results(
                host_network_policy("ValidatingPolicy", ""),
                vec![exception_for("ValidatingPolicy", ONLY_PROBE)],
                &deployment
            )),
            vec![("exception".to_string(), RuleStatus::Skip)]
        );
    }
}
