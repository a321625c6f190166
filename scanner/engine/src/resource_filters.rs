//! Kyverno's `resourceFilters`: the resources its admission webhooks and
//! its background scans leave alone (by default Events, Nodes, ReplicaSets
//! and everything in kube-system, kube-public, kube-node-lease). The
//! `resourceFilters` text of Kyverno's ConfigMap enters; a matcher that says
//! whether a resource (group, version, kind, subresource, namespace, name)
//! is filtered leaves.
//!
//! Written here, not taken from a crate, because the syntax and matching
//! are Kyverno's own: `parseKinds` (pkg/config/types.go),
//! `ParseKindSelector` (pkg/utils/kube/kind.go) and
//! `configuration.ToFilter` (pkg/config/config.go).

use crate::value_types::wildcard;

/// One `[kind,namespace,name]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filter {
    group: String,
    version: String,
    kind: String,
    subresource: String,
    namespace: String,
    name: String,
}

/// The parsed `resourceFilters` of Kyverno's ConfigMap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFilters {
    filters: Vec<Filter>,
}

impl ResourceFilters {
    /// Parses Kyverno's text: every `[...]` holds `kind`, `kind,namespace`
    /// or `kind,namespace,name`, where kind is `Kind`, `Kind/subresource`,
    /// `version/Kind`, `group/version/Kind` (optionally `/subresource`) or
    /// `*/*`. Text outside brackets is ignored, as Kyverno ignores it; an
    /// entry of more than three parts or an empty kind matches nothing.
    pub fn parse(text: &str) -> ResourceFilters {
        let mut filters = Vec::new();
        let mut rest = text;
        // Kyverno's `\[([^\[\]]*)\]`: the innermost bracketed runs.
        while let Some(open) = rest.find('[') {
            let after = &rest[open + 1..];
            let Some(close) = after.find([']', '[']) else {
                break;
            };
            if after.as_bytes()[close] == b'[' {
                rest = &after[close..];
                continue;
            }
            let parts: Vec<&str> = after[..close].split(',').collect();
            let (kind, namespace, name) = match parts.as_slice() {
                [kind] => (*kind, "", ""),
                [kind, namespace] => (*kind, *namespace, ""),
                [kind, namespace, name] => (*kind, *namespace, *name),
                // Kyverno appends the previous entry again here, which
                // filters nothing more: so does a filter matching nothing.
                _ => ("", "", ""),
            };
            filters.push(new_filter(kind, namespace, name));
            rest = &after[close + 1..];
        }
        ResourceFilters { filters }
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Whether Kyverno leaves this resource alone (`ToFilter`). `subresource`
    /// is empty for an object itself; `namespace` empty for a
    /// cluster-scoped one. A Namespace is also filtered by a filter on its
    /// own name as namespace (`[*,kube-system,*]` filters the kube-system
    /// Namespace).
    pub(crate) fn filters(
        &self,
        (group, version, kind): (&str, &str, &str),
        subresource: &str,
        namespace: &str,
        name: &str,
    ) -> bool {
        self.filters.iter().any(|f| {
            if f.kind.is_empty() {
                return false;
            }
            let kind_matches = wildcard::matches(&f.group, group)
                && wildcard::matches(&f.version, version)
                && wildcard::matches(&f.kind, kind)
                && wildcard::matches(&f.subresource, subresource);
            if !kind_matches {
                return false;
            }
            (wildcard::matches(&f.namespace, namespace) && wildcard::matches(&f.name, name))
                || (group.is_empty()
                    && version == "v1"
                    && kind == "Namespace"
                    && wildcard::matches(&f.namespace, name))
        })
    }
}

fn new_filter(kind: &str, namespace: &str, name: &str) -> Filter {
    let (group, version, kind, subresource) = if kind.is_empty() {
        Default::default()
    } else {
        parse_kind_selector(kind)
    };
    Filter {
        group,
        version,
        kind,
        subresource,
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

/// `v1`, `v2beta1`, `*`: a version where a group or kind could stand.
fn is_version(text: &str) -> bool {
    if text == "*" {
        return true;
    }
    let Some(rest) = text.strip_prefix('v') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = &rest[digits..];
    if rest.is_empty() {
        return true;
    }
    ["alpha", "beta"].iter().any(|stage| {
        rest.strip_prefix(stage)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Kyverno's `ParseKindSelector`: (group, version, kind, subresource). The
/// last `/`-part may carry the subresource after a `.` (`Pod.status`).
fn parse_kind_selector(input: &str) -> (String, String, String, String) {
    let mut parts: Vec<&str> = input.split('/').collect();
    if let Some(last) = parts.pop() {
        parts.extend(last.split('.'));
    }
    let owned = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_string(), b.to_string(), c.to_string(), d.to_string())
    };
    match parts.as_slice() {
        [kind] => owned("*", "*", kind, ""),
        ["*", "*"] => owned("*", "*", "*", "*"),
        ["*", sub] if sub.to_lowercase() == *sub => owned("*", "*", "*", sub),
        [first, kind] if is_version(first) => owned("*", first, kind, ""),
        [kind, sub] => owned("*", "*", kind, sub),
        [first, kind, sub] if is_version(first) => owned("*", first, kind, sub),
        [group, version, kind] => owned(group, version, kind, ""),
        [group, version, kind, sub] => owned(group, version, kind, sub),
        _ => Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filters of Kyverno's Helm chart (charts/kyverno/values.yaml),
    /// as the ConfigMap holds them.
    const CHART_DEFAULTS: &str = "[Event,*,*][*/*,kube-system,*][*/*,kube-public,*][*/*,kube-node-lease,*][Node,*,*][Node/?*,*,*][APIService,*,*][APIService/?*,*,*][TokenReview,*,*][SubjectAccessReview,*,*][SelfSubjectAccessReview,*,*][Binding,*,*][Pod/binding,*,*][ReplicaSet,*,*][ReplicaSet/?*,*,*][EphemeralReport,*,*][ClusterEphemeralReport,*,*][ClusterRole,*,kyverno:admission-controller][*/*,kyverno,*]";

    #[test]
    fn the_chart_defaults_filter_what_kyverno_leaves_alone() {
        let filters = ResourceFilters::parse(CHART_DEFAULTS);
        assert_eq!(filters.len(), 19);
        let pod = ("", "v1", "Pod");
        assert!(filters.filters(pod, "", "kube-system", "coredns-1"));
        assert!(filters.filters(pod, "", "kyverno", "admission"));
        assert!(!filters.filters(pod, "", "shop", "web"));
        assert!(filters.filters(("apps", "v1", "ReplicaSet"), "", "shop", "web-5d8f"));
        assert!(!filters.filters(("apps", "v1", "Deployment"), "", "shop", "web"));
        assert!(filters.filters(("", "v1", "Node"), "", "", "node-1"));
        // `Node/?*` is for subresources only; `Pod/binding` for that one.
        assert!(filters.filters(("", "v1", "Node"), "status", "", "node-1"));
        assert!(!filters.filters(pod, "status", "shop", "web"));
        assert!(filters.filters(pod, "binding", "shop", "web"));
        // The Namespace objects themselves, by name.
        assert!(filters.filters(("", "v1", "Namespace"), "", "", "kube-system"));
        assert!(!filters.filters(("", "v1", "Namespace"), "", "", "shop"));
        // By name within a kind.
        assert!(filters.filters(
            ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
            "",
            "",
            "kyverno:admission-controller"
        ));
        assert!(!filters.filters(
            ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
            "",
            "",
            "admin"
        ));
    }

    #[test]
    fn kind_selectors_parse_as_kyverno_parses_them() {
        let p = |s: &str| parse_kind_selector(s);
        let t = |a: &str, b: &str, c: &str, d: &str| {
            (a.to_string(), b.to_string(), c.to_string(), d.to_string())
        };
        assert_eq!(p("Pod"), t("*", "*", "Pod", ""));
        assert_eq!(p("*/*"), t("*", "*", "*", "*"));
        assert_eq!(p("*/status"), t("*", "*", "*", "status"));
        assert_eq!(p("v1/Pod"), t("*", "v1", "Pod", ""));
        assert_eq!(p("Pod/exec"), t("*", "*", "Pod", "exec"));
        assert_eq!(p("Pod.status"), t("*", "*", "Pod", "status"));
        assert_eq!(p("v2beta1/Pod/status"), t("*", "v2beta1", "Pod", "status"));
        assert_eq!(p("apps/v1/Deployment"), t("apps", "v1", "Deployment", ""));
        assert_eq!(
            p("apps/v1/Deployment/scale"),
            t("apps", "v1", "Deployment", "scale")
        );
        assert!(is_version("v1") && is_version("v1alpha2") && is_version("*"));
        assert!(!is_version("v") && !is_version("apps") && !is_version("v1gamma1"));
    }

    #[test]
    fn text_outside_brackets_and_odd_entries_match_nothing() {
        let filters = ResourceFilters::parse("Pod [Secret,shop] junk [a,b,c,d] [[ConfigMap]");
        let secret = ("", "v1", "Secret");
        assert!(filters.filters(secret, "", "shop", ""));
        // `kind,namespace` leaves the name empty: only an empty name matches.
        assert!(!filters.filters(secret, "", "shop", "token"));
        assert!(!filters.filters(("", "v1", "Pod"), "", "shop", "web"));
        assert!(filters.filters(("", "v1", "ConfigMap"), "", "", ""));
        assert!(!filters.filters(("", "v1", "ConfigMap"), "", "shop", ""));
        assert!(ResourceFilters::parse("").is_empty());
    }
}
