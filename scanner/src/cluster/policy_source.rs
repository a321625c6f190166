//! Policies stored in the cluster: ClusterPolicy, Policy and PolicyException
//! (kyverno.io), ValidatingPolicy and its namespaced form
//! (policies.kyverno.io), ValidatingAdmissionPolicy and its bindings
//! (admissionregistration.k8s.io) — whichever the server serves. The
//! discovered kinds enter; documents named `<Kind>/<name>` leave, for the
//! same loader the files go through, so an invalid one is reported by name.

use std::path::PathBuf;

use kube::Client;
use serde_json::Value;

use super::discovery::Discovered;
use super::listing::list_page;
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
pub struct ClusterPolicies {
    pub documents: Vec<Document>,
    pub failed: Vec<ClusterError>,
}

/// Reads every policy kind the server serves.
pub async fn read_policies(client: &Client, discovered: &Discovered) -> ClusterPolicies {
    let mut found = ClusterPolicies::default();
    for (group, kind) in POLICY_KINDS {
        let Some(api_kind) = discovered.find(group, kind) else {
            continue;
        };
        let path = api_kind.collection_path(None);
        let mut token: Option<String> = None;
        loop {
            let mut params = kube::api::ListParams::default().limit(500);
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            let mut page = match list_page(client, &path, &params).await {
                Ok(page) => page,
                Err(err) => {
                    found.failed.push(err);
                    break;
                }
            };
            if let Some(Value::Array(items)) = page.get_mut("items").map(Value::take) {
                for mut item in items {
                    if let Value::Object(object) = &mut item {
                        object.insert("apiVersion".into(), api_kind.api_version().into());
                        object.insert("kind".into(), kind.into());
                    }
                    let name = object_name(&item);
                    found.documents.push(Document {
                        value: item,
                        origin: Origin {
                            path: PathBuf::from(format!("{kind}/{name}")),
                            index: 0,
                            line: 0,
                        },
                    });
                }
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    found
}

fn object_name(object: &Value) -> String {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    match object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
    {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_string(),
    }
}
