//! Kyverno's `match` / `exclude` block (kyverno.io/v1 `MatchResources`)
//! as typed data: a rule's or a `PolicyException`'s block enters as parsed
//! JSON (serde), and leaves as the filters [`crate::matching`] tests a
//! resource and its request against. Kept apart from the `ClusterPolicy`
//! model ([`crate::kyverno::policy`]) because Kyverno's `PolicyException`
//! and the matching shared with the CEL kinds read it too.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::label_selector::LabelSelector;

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MatchResources {
    #[serde(default)]
    pub(crate) any: Vec<ResourceFilter>,
    #[serde(default)]
    pub(crate) all: Vec<ResourceFilter>,
    #[serde(default)]
    pub(crate) resources: ResourceDescription,
    #[serde(default, flatten)]
    pub(crate) user_info: UserInfoFilter,
}

impl MatchResources {
    pub(crate) fn is_empty(&self) -> bool {
        self.any.is_empty()
            && self.all.is_empty()
            && self.resources.is_empty()
            && self.user_info.is_empty()
    }

    /// Every kind named anywhere in the block (Kyverno's `GetKinds`).
    pub(crate) fn kinds(&self) -> Vec<String> {
        let mut kinds = self.resources.kinds.clone();
        for filter in self.all.iter().chain(self.any.iter()) {
            kinds.extend(filter.resources.kinds.iter().cloned());
        }
        kinds
    }
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceFilter {
    #[serde(default)]
    pub(crate) resources: ResourceDescription,
    #[serde(default, flatten)]
    pub(crate) user_info: UserInfoFilter,
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceDescription {
    #[serde(default)]
    pub(crate) kinds: Vec<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) names: Vec<String>,
    #[serde(default)]
    pub(crate) namespaces: Vec<String>,
    #[serde(default)]
    pub(crate) annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) selector: Option<LabelSelector>,
    #[serde(default)]
    pub(crate) namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    pub(crate) operations: Vec<String>,
}

impl ResourceDescription {
    pub(crate) fn is_empty(&self) -> bool {
        self == &ResourceDescription::default()
    }
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserInfoFilter {
    #[serde(default)]
    pub(crate) roles: Vec<String>,
    #[serde(default)]
    pub(crate) cluster_roles: Vec<String>,
    #[serde(default)]
    pub(crate) subjects: Vec<Subject>,
}

impl UserInfoFilter {
    pub(crate) fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.cluster_roles.is_empty() && self.subjects.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Subject {
    pub(crate) kind: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) namespace: Option<String>,
}
