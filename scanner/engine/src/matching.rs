//! Rule `match` / `exclude` blocks: does a rule apply to a resource? The
//! resource's identity, its namespace's labels and the (background) request
//! information enter; a yes/no with Kyverno's reason leaves. Mirrors Kyverno's
//! `pkg/engine/utils/match.go`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::kinds::GroupVersionKind;
pub(crate) use crate::label_selector::selector_matches;
use crate::match_resources::{
    MatchResources, ResourceDescription, ResourceFilter, Subject, UserInfoFilter,
};
use crate::value_types::wildcard;
use crate::ResourceRef;
use crate::ValueExt;

/// Who made the request. Background scans have none (all fields empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// `userInfo.username`.
    pub username: String,
    /// `userInfo.groups`.
    pub groups: Vec<String>,
    /// The Roles bound to the requester (Kyverno's `roles`, for `match.roles`).
    pub roles: Vec<String>,
    /// The ClusterRoles bound to the requester (Kyverno's `clusterRoles`, for
    /// `match.clusterRoles`).
    pub cluster_roles: Vec<String>,
}

impl RequestInfo {
    pub(crate) fn is_empty(&self) -> bool {
        self == &RequestInfo::default()
    }
}

/// The parts of a resource that matching looks at: the admission
/// request's view of an object. Its kind is a [`GroupVersionKind`] (a
/// values file may map it to a parent kind, with `subresource` set); its
/// name and namespace are those of the object's
/// [`ResourceRef`](crate::ResourceRef) (the name falling back to
/// `metadata.generateName`, as admission sees an object not yet named),
/// with the labels, annotations and version equivalence matching needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourceIdentity {
    pub(crate) gvk: GroupVersionKind,
    pub(crate) subresource: String,
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
    /// Match the kind in any version, as admission does for webhooks and
    /// policies with `matchPolicy: Equivalent` (Kyverno's webhooks and
    /// ValidatingAdmissionPolicies default to it): the API server converts
    /// a `batch/v1beta1` CronJob to the `batch/v1` a policy names before it
    /// is evaluated. A cluster scan lists each kind in one served version,
    /// so it sets this; the Kyverno CLI's file semantics leave it unset.
    pub(crate) equivalent_versions: bool,
}

impl ResourceIdentity {
    /// Whether a selector's version admits this resource's version.
    pub(crate) fn version_matches(&self, pattern: &str) -> bool {
        self.equivalent_versions || wildcard::matches(pattern, &self.gvk.version)
    }
}

impl ResourceIdentity {
    pub(crate) fn from_resource(resource: &Value) -> ResourceIdentity {
        ResourceIdentity::of(&ResourceRef::from_resource(resource), resource)
    }

    /// The identity of `resource`, whose reference is `reference`.
    pub(crate) fn of(reference: &ResourceRef, resource: &Value) -> ResourceIdentity {
        let name = if reference.name.is_empty() {
            resource.string_at_or_empty("/metadata/generateName")
        } else {
            reference.name.clone()
        };
        ResourceIdentity {
            gvk: reference.gvk(),
            subresource: String::new(),
            name,
            namespace: reference.namespace.clone(),
            labels: string_map(resource.pointer("/metadata/labels")),
            annotations: string_map(resource.pointer("/metadata/annotations")),
            equivalent_versions: false,
        }
    }
}

/// The entries of a JSON object (labels, annotations) as strings: a string is
/// kept, another value is written as JSON text; no object gives an empty map.
pub fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Everything besides the resource that matching needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatchInputs<'a> {
    pub(crate) namespace_labels: &'a BTreeMap<String, String>,
    pub(crate) request: &'a RequestInfo,
    pub(crate) operation: &'a str,
    /// Namespace of a namespaced `Policy`; it only applies inside it.
    pub(crate) policy_namespace: Option<&'a str>,
}

/// Kyverno's `MatchesResourceDescription`: `Ok(())` when the rule applies,
/// otherwise the reasons it does not.
pub(crate) fn rule_matches(
    match_block: &MatchResources,
    exclude_block: Option<&MatchResources>,
    resource: &ResourceIdentity,
    inputs: MatchInputs<'_>,
) -> Result<(), Vec<String>> {
    if let Some(namespace) = inputs.policy_namespace {
        if namespace != resource.namespace {
            return Err(vec!["policy and resource namespaces mismatch".into()]);
        }
    }
    let mut reasons = Vec::new();
    if !match_block.any.is_empty() {
        let one = match_block
            .any
            .iter()
            .any(|filter| match_filter(filter, resource, inputs).is_empty());
        if !one {
            reasons.push("no resource matched".to_string());
        }
    } else if !match_block.all.is_empty() {
        for filter in &match_block.all {
            reasons.extend(match_filter(filter, resource, inputs));
        }
    } else {
        let filter = ResourceFilter {
            resources: match_block.resources.clone(),
            user_info: match_block.user_info.clone(),
        };
        reasons.extend(match_filter(&filter, resource, inputs));
    }
    if reasons.is_empty() {
        if let Some(exclude) = exclude_block.filter(|e| !e.is_empty()) {
            if !exclude.any.is_empty() {
                for filter in &exclude.any {
                    reasons.extend(exclude_filter(filter, resource, inputs));
                }
            } else if !exclude.all.is_empty() {
                let excluded_by_all = exclude
                    .all
                    .iter()
                    .all(|filter| !exclude_filter(filter, resource, inputs).is_empty());
                if excluded_by_all {
                    reasons.push(
                        "resource excluded since the combination of all criteria exclude it".into(),
                    );
                }
            } else {
                let filter = ResourceFilter {
                    resources: exclude.resources.clone(),
                    user_info: exclude.user_info.clone(),
                };
                reasons.extend(exclude_filter(&filter, resource, inputs));
            }
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

fn match_filter(
    filter: &ResourceFilter,
    resource: &ResourceIdentity,
    inputs: MatchInputs<'_>,
) -> Vec<String> {
    // Without request information (background scans) user filters are ignored.
    let empty_user = UserInfoFilter::default();
    let user_info = if inputs.request.is_empty() {
        &empty_user
    } else {
        &filter.user_info
    };
    if filter.resources.is_empty() && user_info.is_empty() {
        return vec!["match cannot be empty".into()];
    }
    condition_block(&filter.resources, user_info, resource, inputs)
}

fn exclude_filter(
    filter: &ResourceFilter,
    resource: &ResourceIdentity,
    inputs: MatchInputs<'_>,
) -> Vec<String> {
    if filter.resources.is_empty() && filter.user_info.is_empty() {
        return Vec::new();
    }
    if condition_block(&filter.resources, &filter.user_info, resource, inputs).is_empty() {
        vec!["resource excluded since one of the criteria excluded it".into()]
    } else {
        Vec::new()
    }
}

/// Kyverno's `doesResourceMatchConditionBlock`: AND across attributes, OR
/// inside each list. Returns the reasons it does not match.
fn condition_block(
    description: &ResourceDescription,
    user_info: &UserInfoFilter,
    resource: &ResourceIdentity,
    inputs: MatchInputs<'_>,
) -> Vec<String> {
    if !description.operations.is_empty()
        && !description
            .operations
            .iter()
            .any(|op| op == inputs.operation)
    {
        return vec!["operation does not match".into()];
    }
    let mut errors = Vec::new();
    if !description.kinds.is_empty() && !kind_matches(&description.kinds, resource) {
        errors.push(format!("kind does not match {:?}", description.kinds));
    }
    if let Some(name) = &description.name {
        if !name.is_empty() && !wildcard::matches(name, &resource.name) {
            errors.push("name does not match".into());
        }
    }
    if !description.names.is_empty()
        && !description
            .names
            .iter()
            .any(|n| wildcard::matches(n, &resource.name))
    {
        errors.push("none of the names match".into());
    }
    if !description.namespaces.is_empty() {
        let namespace = if resource.gvk.kind == "Namespace" {
            &resource.name
        } else {
            &resource.namespace
        };
        if !description
            .namespaces
            .iter()
            .any(|n| wildcard::matches(n, namespace))
        {
            errors.push("namespace does not match".into());
        }
    }
    if !description.annotations.is_empty()
        && !annotations_match(&description.annotations, &resource.annotations)
    {
        errors.push("annotations does not match".into());
    }
    if let Some(selector) = &description.selector {
        match selector_matches(selector, &resource.labels) {
            Ok(true) => {}
            Ok(false) => errors.push("selector does not match".into()),
            Err(err) => errors.push(format!("failed to parse selector: {err}")),
        }
    }
    if let Some(selector) = &description.namespace_selector {
        if resource.gvk.kind == "Namespace" {
            errors.push("namespace selector is not applicable for namespace resource".into());
        } else if !resource.gvk.kind.is_empty() {
            match selector_matches(selector, inputs.namespace_labels) {
                Ok(true) => {}
                Ok(false) => errors.push("namespace selector does not match labels".into()),
                Err(err) => errors.push(format!("failed to parse namespace selector: {err}")),
            }
        }
    }
    if !user_info.roles.is_empty()
        && !user_info
            .roles
            .iter()
            .any(|r| inputs.request.roles.contains(r))
    {
        errors.push("user info does not match roles for the given conditionBlock".into());
    }
    if !user_info.cluster_roles.is_empty()
        && !user_info
            .cluster_roles
            .iter()
            .any(|r| inputs.request.cluster_roles.contains(r))
    {
        errors.push("user info does not match clustersRoles for the given conditionBlock".into());
    }
    if !user_info.subjects.is_empty() && !subjects_match(&user_info.subjects, inputs.request) {
        errors.push("user info does not match subject for the given conditionBlock".into());
    }
    errors
}

/// Kyverno's `ParseKindSelector`: (group, version, kind, subresource).
pub(crate) fn parse_kind_selector(selector: &str) -> (String, String, String, String) {
    let (group, version, kind, subresource) = kind_selector_parts(selector);
    (
        group.to_string(),
        version.to_string(),
        kind.to_string(),
        subresource.to_string(),
    )
}

/// [`parse_kind_selector`] as slices of `selector` (or `*`), without
/// allocating: matching runs it for every rule and resource.
fn kind_selector_parts(selector: &str) -> (&str, &str, &str, &str) {
    let mut parts: Vec<&str> = selector.split('/').collect();
    if let Some(last) = parts.pop() {
        parts.extend(last.split('.'));
    }
    let is_version = |s: &str| {
        s == "*" || {
            let rest = s.strip_prefix('v').unwrap_or("");
            !rest.is_empty() && rest.chars().next().is_some_and(|c| c.is_ascii_digit())
        }
    };
    match parts.as_slice() {
        [kind] => ("*", "*", kind, ""),
        [a, b] => {
            if *a == "*" && *b == "*" {
                ("*", "*", "*", "*")
            } else if *a == "*" && b.to_lowercase() == *b {
                ("*", "*", a, b)
            } else if is_version(a) {
                ("*", a, b, "")
            } else {
                ("*", "*", a, b)
            }
        }
        [a, b, c] => {
            if is_version(a) {
                ("*", a, b, c)
            } else {
                (a, b, c, "")
            }
        }
        [a, b, c, d] => (a, b, c, d),
        _ => ("", "", "", ""),
    }
}

fn kind_matches(kinds: &[String], resource: &ResourceIdentity) -> bool {
    kinds.iter().any(|selector| {
        let (group, version, kind, subresource) = kind_selector_parts(selector);
        let gvk = &resource.gvk;
        let kind_ok = wildcard::matches(group, &gvk.group)
            && resource.version_matches(version)
            && wildcard::matches(kind, &gvk.kind);
        kind_ok
            && (wildcard::matches(subresource, &resource.subresource)
                || (gvk.kind == "Pod"
                    && gvk.group.is_empty()
                    && gvk.version == "v1"
                    && resource.subresource == "ephemeralcontainers"))
    })
}

fn annotations_match(
    expected: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> bool {
    expected.iter().all(|(key, value)| {
        actual
            .iter()
            .any(|(k, v)| wildcard::matches(key, k) && wildcard::matches(value, v))
    })
}

fn subjects_match(subjects: &[Subject], request: &RequestInfo) -> bool {
    subjects.iter().any(|subject| match subject.kind.as_str() {
        "ServiceAccount" => {
            let username = format!(
                "system:serviceaccount:{}:{}",
                subject.namespace.as_deref().unwrap_or(""),
                subject.name
            );
            wildcard::matches(&username, &request.username)
        }
        "Group" => request
            .groups
            .iter()
            .any(|g| wildcard::matches(&subject.name, g)),
        "User" => wildcard::matches(&subject.name, &request.username),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn block(value: Value) -> MatchResources {
        serde_json::from_value(value).expect("valid block")
    }

    fn pod(namespace: &str, labels: Value) -> ResourceIdentity {
        ResourceIdentity::from_resource(&json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": namespace, "labels": labels}
        }))
    }

    fn inputs<'a>(
        labels: &'a BTreeMap<String, String>,
        request: &'a RequestInfo,
    ) -> MatchInputs<'a> {
        MatchInputs {
            namespace_labels: labels,
            request,
            operation: "CREATE",
            policy_namespace: None,
        }
    }

    #[test]
    fn kind_selectors() {
        assert_eq!(
            parse_kind_selector("Pod"),
            ("*".into(), "*".into(), "Pod".into(), "".into())
        );
        assert_eq!(
            parse_kind_selector("v1/Pod"),
            ("*".into(), "v1".into(), "Pod".into(), "".into())
        );
        assert_eq!(
            parse_kind_selector("apps/v1/Deployment"),
            ("apps".into(), "v1".into(), "Deployment".into(), "".into())
        );
        assert_eq!(
            parse_kind_selector("Pod/exec"),
            ("*".into(), "*".into(), "Pod".into(), "exec".into())
        );
        assert_eq!(
            parse_kind_selector("networking.k8s.io/v1/Ingress"),
            (
                "networking.k8s.io".into(),
                "v1".into(),
                "Ingress".into(),
                "".into()
            )
        );
        let labels = BTreeMap::new();
        let request = RequestInfo::default();
        let p = pod("default", json!({}));
        assert!(rule_matches(
            &block(json!({"resources": {"kinds": ["v1/Pod"]}})),
            None,
            &p,
            inputs(&labels, &request)
        )
        .is_ok());
        assert!(rule_matches(
            &block(json!({"resources": {"kinds": ["apps/v1/Pod"]}})),
            None,
            &p,
            inputs(&labels, &request)
        )
        .is_err());
        assert!(rule_matches(
            &block(json!({"resources": {"kinds": ["*"]}})),
            None,
            &p,
            inputs(&labels, &request)
        )
        .is_ok());
        assert!(rule_matches(
            &block(json!({"resources": {"kinds": ["Pod/exec"]}})),
            None,
            &p,
            inputs(&labels, &request)
        )
        .is_err());
    }

    #[test]
    fn any_all_and_exclude() {
        let labels = BTreeMap::new();
        let request = RequestInfo::default();
        let p = pod("kube-system", json!({"app": "web"}));
        let m = block(
            json!({"any": [{"resources": {"kinds": ["Service"]}}, {"resources": {"kinds": ["Pod"]}}]}),
        );
        assert!(rule_matches(&m, None, &p, inputs(&labels, &request)).is_ok());
        let all = block(
            json!({"all": [{"resources": {"kinds": ["Pod"]}}, {"resources": {"namespaces": ["prod"]}}]}),
        );
        assert!(rule_matches(&all, None, &p, inputs(&labels, &request)).is_err());
        let ex = block(json!({"any": [{"resources": {"namespaces": ["kube-*"]}}]}));
        assert!(rule_matches(&m, Some(&ex), &p, inputs(&labels, &request)).is_err());
        let ex_all = block(
            json!({"all": [{"resources": {"namespaces": ["kube-*"]}}, {"resources": {"selector": {"matchLabels": {"app": "db"}}}}]}),
        );
        assert!(rule_matches(&m, Some(&ex_all), &p, inputs(&labels, &request)).is_ok());
    }

    #[test]
    fn names_namespaces_selectors_annotations() {
        let ns_labels: BTreeMap<String, String> = [("env".to_string(), "prod".to_string())].into();
        let request = RequestInfo::default();
        let p = pod("team-a", json!({"app": "web", "tier": "front"}));
        let i = inputs(&ns_labels, &request);
        assert!(rule_matches(
            &block(json!({"resources": {"kinds": ["Pod"], "names": ["web-*"]}})),
            None,
            &p,
            i
        )
        .is_ok());
        assert!(rule_matches(
            &block(json!({"resources": {"kinds": ["Pod"], "name": "db"}})),
            None,
            &p,
            i
        )
        .is_err());
        assert!(rule_matches(
            &block(json!({"resources": {"selector": {"matchLabels": {"app": "w*"}}}})),
            None,
            &p,
            i
        )
        .is_ok());
        assert!(rule_matches(&block(json!({"resources": {"selector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}}})), None, &p, i).is_err());
        assert!(rule_matches(&block(json!({"resources": {"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "prod"}}}})), None, &p, i).is_ok());
        assert!(rule_matches(&block(json!({"resources": {"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "dev"}}}})), None, &p, i).is_err());
        assert!(rule_matches(
            &block(json!({"resources": {"kinds": ["Pod"], "annotations": {"a": "*"}}})),
            None,
            &p,
            i
        )
        .is_err());
    }

    #[test]
    fn user_info_is_ignored_in_background_for_match_but_not_exclude() {
        let labels = BTreeMap::new();
        let background = RequestInfo::default();
        let p = pod("default", json!({}));
        let m =
            block(json!({"any": [{"resources": {"kinds": ["Pod"]}, "clusterRoles": ["admin"]}]}));
        assert!(rule_matches(&m, None, &p, inputs(&labels, &background)).is_ok());
        let ex = block(json!({"any": [{"clusterRoles": ["cluster-admin"]}]}));
        let plain = block(json!({"any": [{"resources": {"kinds": ["Pod"]}}]}));
        assert!(rule_matches(&plain, Some(&ex), &p, inputs(&labels, &background)).is_ok());
        let admin = RequestInfo {
            cluster_roles: vec!["cluster-admin".into()],
            ..RequestInfo::default()
        };
        assert!(rule_matches(&plain, Some(&ex), &p, inputs(&labels, &admin)).is_err());
    }

    #[test]
    fn namespaced_policy_only_applies_in_its_namespace() {
        let labels = BTreeMap::new();
        let request = RequestInfo::default();
        let p = pod("a", json!({}));
        let m = block(json!({"resources": {"kinds": ["Pod"]}}));
        let mut i = inputs(&labels, &request);
        i.policy_namespace = Some("b");
        assert!(rule_matches(&m, None, &p, i).is_err());
    }
}
