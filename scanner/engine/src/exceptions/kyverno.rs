//! Kyverno `PolicyException` (kyverno.io/v2 and v2beta1): named rules of
//! named policies do not apply to the resources the exception matches
//! (`match`, then `conditions`). Exception documents enter through
//! [`PolicyException::from_document`]; `apply` takes one resource's policy
//! responses and turns the covered results into `skip`, naming the
//! exception in the result's `exceptions` property as Kyverno's reports do.
//! For `validate.podSecurity` rules, exceptions with `podSecurity` entries
//! excuse only the controls they list (Kyverno's validate_pss.go): the
//! result is re-evaluated with those exclusions and stays `fail` when a
//! check still fails.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::context::{ClusterData, EvalContext};
use crate::document_kind::DocumentKind;
use crate::kyverno::pod_security::{self, Exclusion};
use crate::match_resources::MatchResources;
use crate::matching::{rule_matches, MatchInputs, RequestInfo, ResourceIdentity};
use crate::policy::{PolicyError, PolicyMeta};
use crate::value_types::wildcard;
use crate::{conditions, PolicyResponse, RuleResult, RuleStatus, ValueExt};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Exception {
    policy_name: String,
    #[serde(default)]
    rule_names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    exceptions: Vec<Exception>,
    #[serde(default, rename = "match")]
    match_resources: MatchResources,
    #[serde(default)]
    conditions: Option<Value>,
    #[serde(default)]
    background: Option<bool>,
    #[serde(default)]
    pod_security: Option<Vec<Exclusion>>,
}

/// A Kyverno `PolicyException` (kyverno.io v2, v2beta1, v2alpha1): the named
/// rules of the named policies do not apply to the resources it matches
/// (`match`, then `conditions`), as pkg/engine/policy_exceptions.go decides.
#[derive(Debug, Clone)]
pub struct PolicyException {
    /// `namespace/name`, or `name` for a cluster-wide one.
    pub(crate) name: String,
    spec: Spec,
}

impl PolicyException {
    /// Whether the document is a kyverno.io `PolicyException` of a version
    /// polscan loads: [`DocumentKind::PolicyException`].
    pub fn is_policy_exception(document: &Value) -> bool {
        DocumentKind::of(document) == Some(DocumentKind::PolicyException)
    }

    /// Parses an exception, refusing one without `metadata.name`, with `spec`
    /// fields the CRD's schema does not declare, or with fields of the wrong
    /// shape. Errors name `PolicyException <name>` and the field path.
    pub fn from_document(document: &Value) -> Result<PolicyException, PolicyError> {
        let text = |pointer: &str| document.string_at_or_empty(pointer);
        let name = text("/metadata/name");
        let namespace = text("/metadata/namespace");
        let invalid = |path: String, message: String| PolicyError::InvalidField {
            policy: format!("PolicyException {name}"),
            path,
            message,
        };
        if name.is_empty() {
            return Err(invalid("metadata.name".into(), "is required".into()));
        }
        let spec_value = document.get("spec").cloned().unwrap_or(Value::Null);
        // The CRD's schema refuses fields it does not declare.
        const SPEC_FIELDS: [&str; 5] = [
            "background",
            "match",
            "conditions",
            "exceptions",
            "podSecurity",
        ];
        if let Some(unknown) = spec_value
            .as_object()
            .and_then(|spec| spec.keys().find(|k| !SPEC_FIELDS.contains(&k.as_str())))
        {
            return Err(invalid(format!("spec.{unknown}"), "unknown field".into()));
        }
        let spec: Spec = serde_path_to_error::deserialize(spec_value).map_err(|err| {
            let path = err.path().to_string();
            let path = if path == "." {
                "spec".to_string()
            } else {
                format!("spec.{path}")
            };
            invalid(path, err.inner().to_string())
        })?;
        if spec.exceptions.is_empty() {
            return Err(invalid(
                "spec.exceptions".into(),
                "must name at least one policy".into(),
            ));
        }
        if spec.match_resources.is_empty() {
            return Err(invalid("spec.match".into(), "is required".into()));
        }
        Ok(PolicyException {
            name: if namespace.is_empty() {
                name
            } else {
                format!("{namespace}/{name}")
            },
            spec,
        })
    }

    /// Kyverno's `HasPodSecurity`: the exception lists podSecurity controls.
    pub(crate) fn has_pod_security(&self) -> bool {
        !self.pod_security().is_empty()
    }

    /// The exception's `podSecurity` entries.
    pub(crate) fn pod_security(&self) -> &[Exclusion] {
        self.spec.pod_security.as_deref().unwrap_or(&[])
    }

    /// Whether the exception names this policy's rule.
    fn covers(&self, policy: &str, rule: &str) -> bool {
        self.spec.exceptions.iter().any(|exception| {
            exception.policy_name == policy
                && exception
                    .rule_names
                    .iter()
                    .any(|pattern| wildcard::matches(pattern, rule))
        })
    }

    /// Whether the exception matches the resource (`match`, then `conditions`).
    fn matches(
        &self,
        resource: &Value,
        namespace_labels: &BTreeMap<String, String>,
        cluster: &Arc<dyn ClusterData>,
        equivalent_versions: bool,
    ) -> bool {
        let mut identity = ResourceIdentity::from_resource(resource);
        identity.equivalent_versions = equivalent_versions;
        let request = RequestInfo::default();
        let inputs = MatchInputs {
            namespace_labels,
            request: &request,
            operation: "CREATE",
            policy_namespace: None,
        };
        if rule_matches(&self.spec.match_resources, None, &identity, inputs).is_err() {
            return false;
        }
        let mut ctx = EvalContext::new(cluster.clone());
        ctx.add_variable("request.object", resource.clone());
        ctx.add_variable("request.operation", json!("CREATE"));
        ctx.add_variable("request.namespace", json!(identity.namespace));
        matches!(
            conditions::evaluate(&mut ctx, self.spec.conditions.as_ref()),
            Ok(outcome) if outcome.passed
        )
    }

    /// Background scans use only exceptions with `background` unset or true.
    pub(crate) fn background(&self) -> bool {
        self.spec.background.unwrap_or(true)
    }
}

/// The `validate.podSecurity` block of a policy's rule, `None` for rules
/// of other types.
pub(crate) type PodSecurityLookup<'a> = dyn Fn(&PolicyMeta, &str) -> Option<&'a Value> + 'a;

/// Turns the results of `responses` covered by a matching exception into
/// `skip`. Only Kyverno ClusterPolicy/Policy results are covered (their
/// policy name is as the exception writes it: `name` or `namespace/name`).
/// Results of podSecurity rules (found by `pod_security_of`) follow
/// [`apply_pod_security`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply(
    exceptions: &[PolicyException],
    resource: &Value,
    namespace_labels: &BTreeMap<String, String>,
    cluster: &Arc<dyn ClusterData>,
    responses: &mut [PolicyResponse],
    equivalent_versions: bool,
    pod_security_of: &PodSecurityLookup<'_>,
) {
    if exceptions.is_empty() {
        return;
    }
    for response in responses.iter_mut() {
        if !response.policy.is_kyverno_rule_policy() {
            continue;
        }
        let policy = response.policy.qualified_name();
        for result in &mut response.rules {
            // A skip, or an error from loading the context or evaluating
            // preconditions, comes before Kyverno looks at exceptions.
            if result.status == RuleStatus::Skip || result.before_exceptions {
                continue;
            }
            let covering = covering(
                exceptions,
                (&policy, &result.rule),
                resource,
                namespace_labels,
                cluster,
                equivalent_versions,
            );
            if covering.is_empty() {
                continue;
            }
            if let Some(block) = pod_security_of(&response.policy, &result.rule) {
                apply_pod_security(result, &covering, block, resource);
                continue;
            }
            let keys: Vec<&str> = covering.iter().map(|e| e.name.as_str()).collect();
            result.status = RuleStatus::Skip;
            // Kyverno's validate handlers (validate_resource.go,
            // validate_cel.go) join "exceptions" and the keys without a
            // space; the report names the exceptions by bare name
            // (pkg/utils/report/results.go).
            result.message = format!(
                "rule is skipped due to policy exceptions{}",
                keys.join(", ")
            );
            result
                .properties
                .insert("exceptions".into(), bare_names(&covering));
        }
    }
}

/// The result property naming (bare names, comma-joined) the
/// PolicyExceptions with `background: false` that cover a `fail` or
/// `error`: the scan keeps the result, as Kyverno's background scan does,
/// but Kyverno's admission skips the rule for the resource — what the
/// evidence's Enforce question is about (walk28 F18).
pub const ADMISSION_EXCEPTIONS: &str = "polscan.io/admission-exceptions";

/// Marks each `fail` or `error` of a Kyverno rule that one of
/// `exceptions` (those with `background: false`, left out of a scan)
/// covers and matches, with [`ADMISSION_EXCEPTIONS`]; the result stays.
pub(crate) fn mark_admission_exceptions(
    exceptions: &[PolicyException],
    resource: &Value,
    namespace_labels: &BTreeMap<String, String>,
    cluster: &Arc<dyn ClusterData>,
    responses: &mut [PolicyResponse],
    equivalent_versions: bool,
) {
    if exceptions.is_empty() {
        return;
    }
    for response in responses.iter_mut() {
        if !response.policy.is_kyverno_rule_policy() {
            continue;
        }
        let policy = response.policy.qualified_name();
        for result in &mut response.rules {
            if !matches!(result.status, RuleStatus::Fail | RuleStatus::Error)
                || result.before_exceptions
            {
                continue;
            }
            let covering = covering(
                exceptions,
                (&policy, &result.rule),
                resource,
                namespace_labels,
                cluster,
                equivalent_versions,
            );
            if !covering.is_empty() {
                result
                    .properties
                    .insert(ADMISSION_EXCEPTIONS.into(), bare_names(&covering));
            }
        }
    }
}

/// Those of `exceptions` that name `(policy, rule)` and match `resource`.
fn covering<'a>(
    exceptions: &'a [PolicyException],
    (policy, rule): (&str, &str),
    resource: &Value,
    namespace_labels: &BTreeMap<String, String>,
    cluster: &Arc<dyn ClusterData>,
    equivalent_versions: bool,
) -> Vec<&'a PolicyException> {
    exceptions
        .iter()
        .filter(|e| e.covers(policy, rule))
        .filter(|e| e.matches(resource, namespace_labels, cluster, equivalent_versions))
        .collect()
}

/// The `exceptions` report property: the exceptions' names without their
/// namespace, comma-joined (`e.GetName()` in pkg/utils/report/results.go).
fn bare_names(exceptions: &[&PolicyException]) -> String {
    exceptions
        .iter()
        .map(|e| e.name.rsplit('/').next().unwrap_or(&e.name))
        .collect::<Vec<_>>()
        .join(",")
}

/// Matching exceptions on a podSecurity rule's result, as Kyverno's
/// validate_pss.go handles them: an exception without `podSecurity` skips
/// the rule (the first such one is named); otherwise a passing result
/// stays `pass`, and a failing one is evaluated again with the rule's
/// exclusions followed by every exception's `podSecurity` entries: `skip`
/// (naming all the exceptions) when nothing fails any more, else `fail`
/// with the remaining checks' message and properties (and no exception
/// named).
pub(crate) fn apply_pod_security(
    result: &mut RuleResult,
    covering: &[&PolicyException],
    block: &Value,
    resource: &Value,
) {
    let skip = |result: &mut RuleResult, message: String, names: String| {
        result.status = RuleStatus::Skip;
        result.message = message;
        for key in pod_security::PROPERTIES {
            result.properties.remove(key);
        }
        result.properties.insert("exceptions".into(), names);
    };
    if let Some(whole) = covering.iter().find(|e| !e.has_pod_security()) {
        let message = format!("rule is skipped due to policy exception {}", whole.name);
        skip(result, message, bare_names(&[*whole]));
        return;
    }
    if result.status != RuleStatus::Fail {
        return;
    }
    let Ok(settings) = serde_json::from_value::<pod_security::PodSecurity>(block.clone()) else {
        return;
    };
    let Ok(mut evaluation) = pod_security::evaluate_rule(&settings, resource) else {
        return;
    };
    let exclusions: Vec<Exclusion> = covering
        .iter()
        .flat_map(|e| e.pod_security().iter().cloned())
        .collect();
    evaluation.exclude(&exclusions);
    let names: Vec<&str> = covering.iter().map(|e| e.name.as_str()).collect();
    if evaluation.allowed() {
        let message = format!(
            "rule is skipped due to policy exceptions {}",
            names.join(", ")
        );
        skip(result, message, bare_names(covering));
        return;
    }
    let (message, properties) = evaluation.failure(&result.rule, resource);
    result.message = message;
    for key in pod_security::PROPERTIES {
        result.properties.remove(key);
    }
    result.properties.extend(properties);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::NoClusterData;
    use crate::policy::PolicyMeta;
    use crate::ResourceRef;

    fn exception(yaml: &str) -> PolicyException {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        PolicyException::from_document(&value).unwrap()
    }

    fn pod(namespace: &str, name: &str, labels: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": namespace, "labels": labels},
               "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "nginx"}]}})
    }

    fn responses(policy: &str, namespace: Option<&str>, rules: &[&str]) -> Vec<PolicyResponse> {
        let meta = PolicyMeta {
            name: policy.into(),
            namespace: namespace.map(str::to_string),
            kind: if namespace.is_some() {
                "Policy"
            } else {
                "ClusterPolicy"
            }
            .into(),
            annotations: BTreeMap::new(),
            process: "background scan",
        };
        vec![PolicyResponse {
            policy: Arc::new(meta),
            resource: ResourceRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: String::new(),
                name: String::new(),
                uid: String::new(),
            },
            rules: rules
                .iter()
                .map(|rule| RuleResult {
                    rule: rule.to_string(),
                    status: RuleStatus::Fail,
                    message: "failed".into(),
                    action: "Audit".into(),
                    properties: BTreeMap::new(),
                    skip_reason: None,
                    before_exceptions: false,
                    resubstituted: false,
                })
                .collect(),
        }]
    }

    fn run(exceptions: &[PolicyException], resource: &Value, responses: &mut [PolicyResponse]) {
        let cluster: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        apply(
            exceptions,
            resource,
            &BTreeMap::new(),
            &cluster,
            responses,
            false,
            &|_, _| None,
        );
    }

    const HOST_NS: &str = r#"
apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: allow-host, namespace: infra}
spec:
  exceptions:
  - policyName: disallow-host-namespaces
    ruleNames: [host-namespaces, "autogen-*"]
  match:
    any:
    - resources:
        kinds: [Pod, Deployment]
        namespaces: [infra]
        names: ["node-agent*"]
"#;

    /// walk28 F18: an exception with `background: false` is not applied by
    /// a scan, but the fail it covers at admission is marked.
    #[test]
    fn a_fail_an_admission_only_exception_covers_is_marked_not_skipped() {
        let admission = exception(&HOST_NS.replace("spec:\n", "spec:\n  background: false\n"));
        assert!(!admission.background());
        let mut found = responses(
            "disallow-host-namespaces",
            None,
            &["host-namespaces", "other"],
        );
        let cluster: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        mark_admission_exceptions(
            &[admission],
            &pod("infra", "node-agent-1", json!({})),
            &BTreeMap::new(),
            &cluster,
            &mut found,
            false,
        );
        let rules = &found[0].rules;
        assert_eq!(rules[0].status, RuleStatus::Fail);
        assert_eq!(
            rules[0]
                .properties
                .get(ADMISSION_EXCEPTIONS)
                .map(String::as_str),
            Some("allow-host")
        );
        assert!(!rules[1].properties.contains_key(ADMISSION_EXCEPTIONS));
    }

    #[test]
    fn named_rules_on_matching_resources_are_skipped() {
        let exceptions = [exception(HOST_NS)];
        let mut found = responses(
            "disallow-host-namespaces",
            None,
            &["host-namespaces", "autogen-host-namespaces", "other"],
        );
        run(
            &exceptions,
            &pod("infra", "node-agent-1", json!({})),
            &mut found,
        );
        let statuses: Vec<RuleStatus> = found[0].rules.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [RuleStatus::Skip, RuleStatus::Skip, RuleStatus::Fail]
        );
        assert_eq!(found[0].rules[0].properties["exceptions"], "allow-host");
        assert_eq!(
            found[0].rules[0].message,
            "rule is skipped due to policy exceptionsinfra/allow-host"
        );
    }

    #[test]
    fn other_resources_and_policies_are_untouched() {
        let exceptions = [exception(HOST_NS)];
        for resource in [
            pod("infra", "web", json!({})),
            pod("apps", "node-agent-1", json!({})),
        ] {
            let mut found = responses("disallow-host-namespaces", None, &["host-namespaces"]);
            run(&exceptions, &resource, &mut found);
            assert_eq!(found[0].rules[0].status, RuleStatus::Fail);
        }
        let mut other = responses("require-labels", None, &["host-namespaces"]);
        run(
            &exceptions,
            &pod("infra", "node-agent-1", json!({})),
            &mut other,
        );
        assert_eq!(other[0].rules[0].status, RuleStatus::Fail);
    }

    #[test]
    fn namespaced_policies_are_named_with_their_namespace() {
        let exceptions = [exception(
            "apiVersion: kyverno.io/v2beta1\nkind: PolicyException\nmetadata: {name: e, namespace: team}\nspec:\n  exceptions:\n  - {policyName: team/require-labels, ruleNames: [check]}\n  match:\n    any:\n    - resources: {kinds: [Pod]}\n",
        )];
        let mut found = responses("require-labels", Some("team"), &["check"]);
        run(&exceptions, &pod("team", "p", json!({})), &mut found);
        assert_eq!(found[0].rules[0].status, RuleStatus::Skip);
        let mut cluster_policy = responses("require-labels", None, &["check"]);
        run(
            &exceptions,
            &pod("team", "p", json!({})),
            &mut cluster_policy,
        );
        assert_eq!(cluster_policy[0].rules[0].status, RuleStatus::Fail);
    }

    #[test]
    fn conditions_must_hold() {
        let exceptions = [exception(
            r#"
apiVersion: kyverno.io/v2
kind: PolicyException
metadata: {name: labelled}
spec:
  exceptions:
  - {policyName: disallow-host-namespaces, ruleNames: ["*"]}
  match:
    any:
    - resources: {kinds: [Pod]}
  conditions:
    any:
    - key: "{{ request.object.metadata.labels.exempt || '' }}"
      operator: Equals
      value: "true"
"#,
        )];
        let mut exempt = responses("disallow-host-namespaces", None, &["host-namespaces"]);
        run(
            &exceptions,
            &pod("a", "p", json!({"exempt": "true"})),
            &mut exempt,
        );
        assert_eq!(exempt[0].rules[0].status, RuleStatus::Skip);
        let mut not_exempt = responses("disallow-host-namespaces", None, &["host-namespaces"]);
        run(&exceptions, &pod("a", "p", json!({})), &mut not_exempt);
        assert_eq!(not_exempt[0].rules[0].status, RuleStatus::Fail);
    }

    #[test]
    fn invalid_exceptions_name_the_field() {
        let value: Value = serde_yaml::from_str(
            "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  exceptions: []\n  match: {any: [{resources: {kinds: [Pod]}}]}\n",
        )
        .unwrap();
        let err = PolicyException::from_document(&value)
            .unwrap_err()
            .to_string();
        assert!(err.contains("spec.exceptions"), "{err}");
        let typo = PolicyException::from_document(&json!({
            "apiVersion": "kyverno.io/v2", "kind": "PolicyException",
            "metadata": {"name": "bad", "namespace": "a"},
            "spec": {"exceptionz": [{"policyName": "p"}], "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}}
        }))
        .expect_err("unknown field")
        .to_string();
        assert!(
            typo.contains("spec.exceptionz") && typo.contains("unknown field"),
            "{typo}"
        );
        let missing = PolicyException::from_document(&json!({
            "apiVersion": "kyverno.io/v2", "kind": "PolicyException",
            "metadata": {"name": "bad"}, "spec": {}
        }))
        .expect_err("missing exceptions")
        .to_string();
        assert!(!missing.contains("spec.."), "{missing}");
        let value: Value = serde_yaml::from_str(
            "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  exceptions: [{policyName: p, ruleNames: [r]}]\n",
        )
        .unwrap();
        assert!(PolicyException::from_document(&value)
            .unwrap_err()
            .to_string()
            .contains("spec.match"));
    }

    /// A baseline podSecurity rule `pss` of policy `psa`, and its result on
    /// `resource` as the validate handler gives it.
    fn pss_response(block: &Value, resource: &Value) -> Vec<PolicyResponse> {
        let mut found = responses("psa", None, &["pss"]);
        let settings: pod_security::PodSecurity = serde_json::from_value(block.clone()).unwrap();
        let evaluation = pod_security::evaluate_rule(&settings, resource).unwrap();
        let rule = &mut found[0].rules[0];
        if evaluation.allowed() {
            rule.status = RuleStatus::Pass;
            rule.message = "Validation rule 'pss' passed.".into();
        } else {
            let (message, properties) = evaluation.failure("pss", resource);
            rule.message = message;
            rule.properties = properties;
        }
        found
    }

    fn run_pss(exceptions: &[PolicyException], block: &Value, resource: &Value) -> RuleResult {
        let mut found = pss_response(block, resource);
        let cluster: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let lookup = |_: &PolicyMeta, rule: &str| (rule == "pss").then_some(block);
        apply(
            exceptions,
            resource,
            &BTreeMap::new(),
            &cluster,
            &mut found,
            false,
            &lookup,
        );
        found[0].rules[0].clone()
    }

    fn pss_exception(name: &str, pod_security: &str) -> PolicyException {
        exception(&format!(
            "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {{name: {name}, namespace: ops}}\nspec:\n  exceptions:\n  - {{policyName: psa, ruleNames: [pss]}}\n  match:\n    any:\n    - resources: {{kinds: [Pod]}}\n{pod_security}"
        ))
    }

    /// hostNetwork and a privileged nginx container: two baseline controls fail.
    fn privileged_host_pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "apps"},
               "spec": {"hostNetwork": true,
                        "containers": [{"name": "web", "image": "nginx:1.27", "securityContext": {"privileged": true}}]}})
    }

    fn baseline() -> Value {
        json!({"level": "baseline", "version": "latest"})
    }

    #[test]
    fn pod_security_exception_excusing_one_control_keeps_the_fail() {
        let host_ns = pss_exception(
            "host-ns",
            "  podSecurity:\n  - controlName: Host Namespaces\n",
        );
        let result = run_pss(&[host_ns], &baseline(), &privileged_host_pod());
        assert_eq!(result.status, RuleStatus::Fail);
        assert_eq!(
            result.message,
            "Validation rule 'pss' failed. It violates PodSecurity \"baseline:latest\": (Forbidden reason: privileged, field error list: [spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true])"
        );
        assert_eq!(result.properties["controls"], "privileged");
        assert_eq!(
            result.properties["controlsJSON"],
            r#"[{"ID":"privileged","Name":"Privileged Containers","Images":["docker.io/nginx:1.27"]}]"#
        );
        assert!(!result.properties.contains_key("exceptions"));
    }

    #[test]
    fn pod_security_exception_for_other_images_excuses_nothing() {
        let other = pss_exception(
            "redis-only",
            "  podSecurity:\n  - controlName: Privileged Containers\n    images: [\"redis*\"]\n",
        );
        let before = pss_response(&baseline(), &privileged_host_pod())[0].rules[0].clone();
        let result = run_pss(&[other], &baseline(), &privileged_host_pod());
        assert_eq!(result.status, RuleStatus::Fail);
        assert_eq!(result.message, before.message);
        assert_eq!(result.properties["controls"], "hostNamespaces,privileged");
    }

    #[test]
    fn pod_security_exceptions_excusing_every_check_skip() {
        let host_ns = pss_exception(
            "host-ns",
            "  podSecurity:\n  - controlName: Host Namespaces\n    restrictedField: spec.hostNetwork\n    values: [\"true\"]\n",
        );
        let nginx = pss_exception(
            "nginx",
            "  podSecurity:\n  - controlName: Privileged Containers\n    images: [\"nginx:*\"]\n",
        );
        let result = run_pss(&[host_ns, nginx], &baseline(), &privileged_host_pod());
        assert_eq!(result.status, RuleStatus::Skip);
        assert_eq!(
            result.message,
            "rule is skipped due to policy exceptions ops/host-ns, ops/nginx"
        );
        assert_eq!(result.properties["exceptions"], "host-ns,nginx");
        for key in pod_security::PROPERTIES {
            assert!(!result.properties.contains_key(key), "{key} left");
        }
    }

    #[test]
    fn pod_security_values_must_all_match() {
        let wrong_value = pss_exception(
            "host-ns",
            "  podSecurity:\n  - controlName: Host Namespaces\n    values: [\"false\"]\n  - controlName: Privileged Containers\n    images: [\"nginx*\"]\n",
        );
        let result = run_pss(&[wrong_value], &baseline(), &privileged_host_pod());
        assert_eq!(result.status, RuleStatus::Fail);
        assert_eq!(result.properties["controls"], "hostNamespaces");
    }

    #[test]
    fn a_plain_exception_skips_a_pod_security_rule_whole() {
        let plain = pss_exception("plain", "");
        let partial = pss_exception("partial", "  podSecurity:\n  - controlName: Sysctls\n");
        let result = run_pss(&[partial, plain], &baseline(), &privileged_host_pod());
        assert_eq!(result.status, RuleStatus::Skip);
        assert_eq!(
            result.message,
            "rule is skipped due to policy exception ops/plain"
        );
        assert_eq!(result.properties["exceptions"], "plain");
        assert!(!result.properties.contains_key("controls"));
    }

    #[test]
    fn a_passing_pod_security_result_stays_pass() {
        let host_ns = pss_exception(
            "host-ns",
            "  podSecurity:\n  - controlName: Host Namespaces\n",
        );
        let clean = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "apps"},
                           "spec": {"containers": [{"name": "web", "image": "nginx"}]}});
        let result = run_pss(&[host_ns], &baseline(), &clean);
        assert_eq!(result.status, RuleStatus::Pass);
        assert!(!result.properties.contains_key("exceptions"));
    }
}
