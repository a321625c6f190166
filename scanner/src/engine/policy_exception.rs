//! Kyverno `PolicyException` (kyverno.io/v2 and v2beta1): named rules of
//! named policies do not apply to the resources the exception matches
//! (`match`, then `conditions`). Exception documents enter through
//! [`PolicyException::from_document`]; [`apply`] takes one resource's policy
//! responses and turns the covered results into `skip`, naming the
//! exception in the result's `exceptions` property as Kyverno's reports do.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::context::{ClusterData, EvalContext};
use super::matching::{rule_matches, MatchInputs, RequestInfo, ResourceIdentity};
use super::policy::{MatchResources, PolicyError};
use super::{conditions, wildcard, PolicyResponse, RuleStatus};

const API_VERSIONS: [&str; 3] = ["kyverno.io/v2", "kyverno.io/v2beta1", "kyverno.io/v2alpha1"];

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
    pod_security: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct PolicyException {
    /// `namespace/name`, or `name` for a cluster-wide one.
    pub name: String,
    spec: Spec,
}

impl PolicyException {
    pub fn is_policy_exception(document: &Value) -> bool {
        document.get("kind").and_then(Value::as_str) == Some("PolicyException")
            && document
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| API_VERSIONS.contains(&v))
    }

    pub fn from_document(document: &Value) -> Result<PolicyException, PolicyError> {
        let text = |pointer: &str| {
            document
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
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
        let spec: Spec = serde_path_to_error::deserialize(spec_value)
            .map_err(|err| invalid(format!("spec.{}", err.path()), err.inner().to_string()))?;
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

    /// `podSecurity` exclusions are not evaluated by polscan: such an
    /// exception is reported when loaded, and still covers whole rules.
    pub fn has_pod_security(&self) -> bool {
        self.spec
            .pod_security
            .as_ref()
            .is_some_and(|v| !v.is_null())
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
    pub fn background(&self) -> bool {
        self.spec.background.unwrap_or(true)
    }
}

/// Turns the results of `responses` covered by a matching exception into
/// `skip`. Only Kyverno ClusterPolicy/Policy results are covered (their
/// policy name is as the exception writes it: `name` or `namespace/name`).
pub fn apply(
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
            if result.status == RuleStatus::Skip {
                continue;
            }
            let covering: Vec<&PolicyException> = exceptions
                .iter()
                .filter(|e| e.covers(&policy, &result.rule))
                .filter(|e| e.matches(resource, namespace_labels, cluster, equivalent_versions))
                .collect();
            if covering.is_empty() {
                continue;
            }
            let names: Vec<&str> = covering.iter().map(|e| e.name.as_str()).collect();
            result.status = RuleStatus::Skip;
            result.message = format!(
                "rule is skipped due to policy exception {}",
                names.join(", ")
            );
            result
                .properties
                .insert("exceptions".into(), names.join(","));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::context::NoClusterData;
    use crate::engine::policy::PolicyMeta;
    use crate::engine::{ResourceRef, RuleResult};

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
        assert_eq!(
            found[0].rules[0].properties["exceptions"],
            "infra/allow-host"
        );
        assert!(found[0].rules[0].message.contains("infra/allow-host"));
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
        let value: Value = serde_yaml::from_str(
            "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: e}\nspec:\n  exceptions: [{policyName: p, ruleNames: [r]}]\n",
        )
        .unwrap();
        assert!(PolicyException::from_document(&value)
            .unwrap_err()
            .to_string()
            .contains("spec.match"));
    }
}
