//! Discovery: the server's API groups enter (one request per group
//! version); the served kinds leave as [`ApiResource`]s (the engine's one
//! kind type, which its built-in table shares), subresources dropped. A
//! group whose discovery fails (an aggregated API that is down, say) is
//! recorded and the others are still used.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::Client;

use super::ClusterError;
use crate::kinds::ApiResource;

/// A kind in a test: namespaced, listable, version v1, the usual plural.
#[cfg(test)]
pub(crate) fn listable_for_tests(group: &str, kind: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        plural: format!("{}s", kind.to_lowercase()),
        namespaced: true,
        verbs: vec!["list".into()],
    }
}

/// What discovery found: the kinds served, and the group versions whose
/// discovery failed.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// Every kind served, subresources left out, each once: from its
    /// group's preferred version when served there, else from the first
    /// version that serves it, and not through an alias group
    /// ([`without_aliases`]).
    pub kinds: Vec<ApiResource>,
    /// Group versions whose discovery failed, with the reason.
    pub failed: Vec<(String, ClusterError)>,
    /// Every group version the server serves (`group/version`; the core
    /// group's is `v1`), preferred or not: [`Self::kinds`] holds each kind
    /// once, in one of them.
    pub group_versions: std::collections::BTreeSet<String>,
}

impl Discovered {
    /// The served kind `kind` of `group` (empty: core), if any.
    pub(crate) fn find(&self, group: &str, kind: &str) -> Option<&ApiResource> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.kind == kind)
    }

    /// The served kind of `group` (empty: core) whose resource name is
    /// `plural` (`deployments`), if any.
    pub(crate) fn find_plural(&self, group: &str, plural: &str) -> Option<&ApiResource> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.plural == plural)
    }

    /// The first group version of `group` whose discovery failed, with
    /// why: its kinds are unknown, not unserved (an aggregated API whose
    /// backend is down may well serve them).
    pub fn failed_group(&self, group: &str) -> Option<&(String, ClusterError)> {
        self.failed
            .iter()
            .find(|(gv, _)| crate::kinds::split_api_version(gv).0 == group)
    }

    /// The policy kinds
    /// (`evidence::ingest::policy_info::POLICY_DOCUMENT_KINDS`) this server
    /// does not serve: nothing in the cluster enforces a policy of such a
    /// kind. Empty when some group's discovery failed (its kinds are
    /// unknown, not unserved).
    pub fn unserved_policy_kinds(&self) -> Vec<&'static str> {
        if !self.failed.is_empty() {
            return Vec::new();
        }
        crate::evidence::ingest::policy_info::POLICY_DOCUMENT_KINDS
            .into_iter()
            .filter(|kind| {
                crate::evidence::ingest::policy_info::policy_kind_group(kind)
                    .is_some_and(|(group, _)| self.find(group, kind).is_none())
            })
            .collect()
    }
}

fn kinds_of(group: &str, version: &str, list: APIResourceList) -> Vec<ApiResource> {
    list.resources
        .into_iter()
        .filter(|resource| !resource.name.contains('/'))
        .map(|resource| ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            kind: resource.kind,
            plural: resource.name,
            namespaced: resource.namespaced,
            verbs: resource.verbs,
        })
        .collect()
}

/// Groups that serve the same objects as another group under the same
/// kind and plural: `extensions/v1beta1` Ingresses are the
/// `networking.k8s.io` Ingresses (a 1.20 server serves both), core `v1`
/// Events are the `events.k8s.io` Events.
const ALIAS_GROUPS: [&str; 2] = ["extensions", "events.k8s.io"];

/// Drops kinds of the alias groups (`ALIAS_GROUPS`) that another group also serves, so each
/// object is listed — and evaluated and reported — once, always through
/// the same group (a report's scope would otherwise flip between the two,
/// rewriting it on every scan).
pub fn without_aliases(kinds: Vec<ApiResource>) -> Vec<ApiResource> {
    let served_elsewhere = |alias: &ApiResource| {
        kinds.iter().any(|other| {
            other.group != alias.group && other.kind == alias.kind && other.plural == alias.plural
        })
    };
    let keep: Vec<bool> = kinds
        .iter()
        .map(|kind| !(ALIAS_GROUPS.contains(&kind.group.as_str()) && served_elsewhere(kind)))
        .collect();
    kinds
        .into_iter()
        .zip(keep)
        .filter_map(|(kind, keep)| keep.then_some(kind))
        .collect()
}

/// Discovers what the server serves: the core `v1` kinds and, for every
/// group, each kind from the group's preferred version when it serves it,
/// else from the first version that does; kinds of alias groups served
/// elsewhere too (events.k8s.io's Event) are dropped. A group version
/// whose discovery fails is recorded in `failed`, and its kinds are not
/// scanned.
///
/// # Errors
/// [`ClusterError`] only when `/api/v1` or the group list `/apis` cannot
/// be read.
pub async fn discover(client: &Client) -> Result<Discovered, ClusterError> {
    let mut discovered = Discovered::default();
    let core = client
        .list_core_api_resources("v1")
        .await
        .map_err(|err| ClusterError::from_kube("discovering /api/v1", err))?;
    discovered.kinds.extend(kinds_of("", "v1", core));
    discovered.group_versions.insert("v1".into());
    let groups = client
        .list_api_groups()
        .await
        .map_err(|err| ClusterError::from_kube("discovering /apis", err))?;
    for group in groups.groups {
        // A kind may be served in some versions only (Kyverno's ClusterPolicy
        // is kyverno.io/v1 while the group prefers v2): take each kind from
        // the preferred version when it has it, else from the first that does.
        let mut versions = group.versions.clone();
        if let Some(preferred) = &group.preferred_version {
            versions.retain(|v| v.group_version != preferred.group_version);
            versions.insert(0, preferred.clone());
        }
        let mut seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        for version in versions {
            match client
                .list_api_group_resources(&version.group_version)
                .await
            {
                Ok(list) => {
                    discovered
                        .group_versions
                        .insert(version.group_version.clone());
                    for kind in kinds_of(&group.name, &version.version, list) {
                        if seen.insert(kind.plural.clone()) {
                            discovered.kinds.push(kind);
                        }
                    }
                }
                Err(err) => {
                    let what = format!("discovering {}", version.group_version);
                    discovered
                        .failed
                        .push((version.group_version, ClusterError::from_kube(what, err)));
                }
            }
        }
    }
    discovered.kinds = without_aliases(std::mem::take(&mut discovered.kinds));
    Ok(discovered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
        ApiResource {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced: true,
            verbs: vec!["list".into()],
        }
    }

    #[test]
    fn objects_served_by_two_groups_are_listed_once() {
        let kinds = vec![
            kind("extensions", "v1beta1", "Ingress", "ingresses"),
            kind("networking.k8s.io", "v1", "Ingress", "ingresses"),
            kind("", "v1", "Event", "events"),
            kind("events.k8s.io", "v1", "Event", "events"),
            // Only served by the alias group: kept.
            kind(
                "extensions",
                "v1beta1",
                "PodSecurityPolicy",
                "podsecuritypolicies",
            ),
        ];
        let kept: Vec<(String, String)> = without_aliases(kinds)
            .into_iter()
            .map(|k| (k.group, k.kind))
            .collect();
        assert_eq!(
            kept,
            vec![
                ("networking.k8s.io".to_string(), "Ingress".to_string()),
                (String::new(), "Event".to_string()),
                ("extensions".to_string(), "PodSecurityPolicy".to_string()),
            ]
        );
    }
}
