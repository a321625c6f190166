//! Which team owns a violating resource: the label keys to look for
//! (`--owner-label`), the values of those keys on resources, their top
//! owners and namespaces (read from the cluster, or from manifests given
//! with `--from`) enter as [`OwnerLabels`]; a [`TeamRoute`] per resource
//! leaves — the team, the label key and where it was found — or None.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ObjectName;

/// The label keys tried when `--owner-label` is not given, in order.
pub const DEFAULT_OWNER_LABELS: [&str; 3] = ["team", "owner", "app.kubernetes.io/part-of"];

/// Where a team label was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelSource {
    /// On the violating resource itself.
    Resource,
    /// On its top owner (the controlling workload, e.g. the Deployment of
    /// a Pod).
    Owner,
    /// On the resource's namespace.
    Namespace,
}

impl LabelSource {
    /// In words, for the pages (`the namespace`).
    pub fn label(self) -> &'static str {
        match self {
            LabelSource::Resource => "the resource",
            LabelSource::Owner => "its owner",
            LabelSource::Namespace => "the namespace",
        }
    }
}

/// The team a violation is routed to, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamRoute {
    /// The label's value: the team.
    pub team: String,
    /// The label key it was read from (e.g. `team`).
    pub label: String,
    /// Whether the resource, its owner or its namespace carries it.
    pub from: LabelSource,
}

/// Labels are kept only for these keys: a cluster's resources carry many
/// more, and only the owner labels route.
pub type Labels = BTreeMap<String, String>;

/// The owner-label keys and the labels read for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerLabels {
    /// The keys tried, in order (`--owner-label`; [`DEFAULT_OWNER_LABELS`]).
    pub keys: Vec<String>,
    /// Of violating resources and their owners, the owner labels they
    /// carry; an object without any is left out.
    pub objects: BTreeMap<ObjectName, Labels>,
    /// Of each namespace, the owner labels it carries.
    pub namespaces: BTreeMap<String, Labels>,
    /// Whether labels were read at all: false from report files without
    /// manifests or Namespaces, where every team is unknown.
    pub read: bool,
}

impl Default for OwnerLabels {
    fn default() -> Self {
        OwnerLabels::new(Vec::new())
    }
}

impl OwnerLabels {
    /// No labels read yet, looking for `keys` (the defaults when empty).
    pub fn new(keys: Vec<String>) -> OwnerLabels {
        let keys = if keys.is_empty() {
            DEFAULT_OWNER_LABELS.iter().map(|k| k.to_string()).collect()
        } else {
            keys
        };
        OwnerLabels {
            keys,
            objects: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            read: false,
        }
    }

    /// Of an object's `metadata.labels`, those of the owner-label keys.
    pub fn keep(&self, object: &Value) -> Labels {
        let Some(labels) = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
        else {
            return Labels::new();
        };
        self.keys
            .iter()
            .filter_map(|key| {
                let value = labels.get(key)?.as_str()?.trim();
                (!value.is_empty()).then(|| (key.clone(), value.to_string()))
            })
            .collect()
    }

    /// Records the owner labels `object` (a manifest, a Namespace, or an
    /// object read from the cluster) carries, under its name; a Namespace
    /// also under the namespaces.
    pub fn add_object(&mut self, object: &Value) {
        let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
        let (Some(kind), Some(name)) = (text("/kind"), text("/metadata/name")) else {
            return;
        };
        let labels = self.keep(object);
        if labels.is_empty() {
            return;
        }
        if kind == "Namespace" {
            self.namespaces.insert(name.to_string(), labels.clone());
        }
        self.objects.insert(
            ObjectName {
                kind: kind.to_string(),
                namespace: text("/metadata/namespace").unwrap_or("").to_string(),
                name: name.to_string(),
            },
            labels,
        );
    }

    /// The team of `resource` (whose top owner is `owner`, the resource
    /// itself when it has none): the first key, in order, on the resource,
    /// else on its owner, else on its namespace. A Namespace's own labels
    /// are its namespace's.
    pub fn team_of(&self, resource: &ObjectName, owner: &ObjectName) -> Option<TeamRoute> {
        let own = self.objects.get(resource).or_else(|| {
            (resource.kind == "Namespace" && resource.namespace.is_empty())
                .then(|| self.namespaces.get(&resource.name))
                .flatten()
        });
        let owners = (owner != resource)
            .then(|| self.objects.get(owner))
            .flatten();
        let namespace = self.namespaces.get(&resource.namespace);
        [
            (own, LabelSource::Resource),
            (owners, LabelSource::Owner),
            (namespace, LabelSource::Namespace),
        ]
        .into_iter()
        .find_map(|(labels, from)| {
            let labels = labels?;
            self.keys.iter().find_map(|key| {
                labels.get(key).map(|team| TeamRoute {
                    team: team.clone(),
                    label: key.clone(),
                    from,
                })
            })
        })
    }
}
