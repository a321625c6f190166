//! Policies stored in the cluster: ClusterPolicy, Policy and PolicyException
//! (kyverno.io), ValidatingPolicy and its namespaced form
//! (policies.kyverno.io), ValidatingAdmissionPolicy and its bindings
//! (admissionregistration.k8s.io) — whichever the server serves. The
//! discovered kinds enter; documents named `<Kind>/<name>` leave, for the
//! same loader the files go through, so an invalid one is reported by name.

use std::path::PathBuf;

use kube::Client;
use polscan_engine::ValueExt;
use serde_json::Value;

use super::discovery::Discovered;
use super::listing::for_each_page;
use super::ClusterError;
use crate::loader::{Document, Origin};

/// (group, kind) of every policy kind read from the cluster.
pub const POLICY_KINDS: [(&str, &str); 8] = [
    ("kyverno.io", "ClusterPolicy"),
    ("kyverno.io", "Policy"),
    ("kyverno.io", "PolicyException"),
    ("policies.kyverno.io", "ValidatingPolicy"),
    ("policies.kyverno.io", "NamespacedValidatingPolicy"),
    ("policies.kyverno.io", "PolicyException"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
];

/// Policy documents read, and the kinds that could not be read.
#[derive(Debug, Default)]
pub(crate) struct ClusterPolicies {
    /// One per object listed, named `<Kind>/<name>` or
    /// `<Kind>/<namespace>/<name>`.
    pub(crate) documents: Vec<Document>,
    /// `<plural>.<group>` (`clusterpolicies.kyverno.io`) of each policy
    /// kind whose list failed, with the error.
    pub(crate) failed: Vec<(String, ClusterError)>,
}

/// Reads every policy kind the server serves.
pub(crate) async fn read_policies(client: &Client, discovered: &Discovered) -> ClusterPolicies {
    let mut found = ClusterPolicies::default();
    for (group, kind) in POLICY_KINDS {
        let Some(api_kind) = discovered.find(group, kind) else {
            continue;
        };
        let path = api_kind.collection_path(None);
        let params = kube::api::ListParams::default().limit(500);
        let documents = &mut found.documents;
        let listed = for_each_page(client, &path, &params, |items| {
            for mut item in items {
                if let Value::Object(object) = &mut item {
                    object.insert("apiVersion".into(), api_kind.api_version().into());
                    object.insert("kind".into(), kind.into());
                }
                let name = object_name(&item);
                documents.push(Document {
                    value: item,
                    origin: Origin {
                        path: PathBuf::from(format!("{kind}/{name}")),
                        index: 0,
                        line: 0,
                    },
                });
            }
        })
        .await;
        if let Err(err) = listed {
            found
                .failed
                .push((format!("{}.{}", api_kind.plural, api_kind.group), err));
        }
    }
    found
}

fn object_name(object: &Value) -> String {
    let name = object.str_at("/metadata/name").unwrap_or("");
    match object.str_at("/metadata/namespace") {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_string(),
    }
}
