//! Reports in the cluster: reading what exists (metadata only: name,
//! labels, the content-hash annotation and the owner that names the scoped
//! kind), server-side applying a report as polscan's field manager, deleting
//! one, and installing the report CRDs when they are missing. Keys and JSON
//! objects enter; [`ExistingReport`]s and [`ClusterError`]s leave.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use serde_json::Value;

use super::listing::for_each_metadata_page;
use super::{absent_if_not_found, send, ClusterError};
use crate::reconcile::{ExistingReport, ReportKey};

/// polscan's field manager for server-side apply.
pub const FIELD_MANAGER: &str = "polscan";
const REPORTS_BASE: &str = "/apis/wgpolicyk8s.io/v1alpha2";
const CRD_BASE: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// The report CRDs polscan ships (deploy/crds), by name.
pub const CRDS: [(&str, &str); 2] = [
    (
        "policyreports.wgpolicyk8s.io",
        report_model::schema::POLICY_REPORTS_CRD_YAML,
    ),
    (
        "clusterpolicyreports.wgpolicyk8s.io",
        report_model::schema::CLUSTER_POLICY_REPORTS_CRD_YAML,
    ),
];

fn collection(key: &ReportKey) -> String {
    if key.cluster_scoped {
        format!("{REPORTS_BASE}/clusterpolicyreports")
    } else {
        format!("{REPORTS_BASE}/namespaces/{}/policyreports", key.namespace)
    }
}

fn describe(key: &ReportKey) -> String {
    if key.cluster_scoped {
        format!("ClusterPolicyReport {}", key.name)
    } else {
        format!("PolicyReport {}/{}", key.namespace, key.name)
    }
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn existing_from_metadata(item: &Value, cluster_scoped: bool) -> ExistingReport {
    let meta = item.get("metadata");
    let text = |key: &str| {
        meta.and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let scope_kind = meta
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .and_then(|owners| owners.first())
        .map(|owner| {
            let api_version = owner
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let kind = owner.get("kind").and_then(Value::as_str).unwrap_or("");
            (
                crate::kinds::group_of(api_version).to_string(),
                kind.to_string(),
            )
        });
    ExistingReport {
        key: ReportKey {
            cluster_scoped,
            namespace: if cluster_scoped {
                String::new()
            } else {
                text("namespace")
            },
            name: text("name"),
        },
        labels: string_map(meta.and_then(|m| m.get("labels"))),
        annotations: string_map(meta.and_then(|m| m.get("annotations"))),
        scope_kind,
    }
}

/// Every PolicyReport and ClusterPolicyReport in the cluster, whoever wrote
/// it (the plan never touches other producers' reports, but must know their
/// names to avoid them).
pub async fn list_existing(client: &Client) -> Result<Vec<ExistingReport>, ClusterError> {
    let mut found = Vec::new();
    for (plural, cluster_scoped) in [("policyreports", false), ("clusterpolicyreports", true)] {
        let path = format!("{REPORTS_BASE}/{plural}");
        let params = ListParams::default().limit(500);
        for_each_metadata_page(client, &path, &params, |items| {
            found.extend(
                items
                    .iter()
                    .map(|item| existing_from_metadata(item, cluster_scoped)),
            );
        })
        .await?;
    }
    Ok(found)
}

/// Server-side apply of one report, as polscan's field manager (forcing
/// conflicts: polscan owns its reports' fields).
pub async fn apply(client: &Client, key: &ReportKey, report: &Value) -> Result<(), ClusterError> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    send::<Value>(
        client,
        format!("applying {}", describe(key)),
        kube::core::Request::new(collection(key)).patch(&key.name, &params, &Patch::Apply(report)),
    )
    .await
    .map(|_| ())
}

/// Reads one report as stored; `None` when it does not exist.
pub async fn get(client: &Client, key: &ReportKey) -> Result<Option<Value>, ClusterError> {
    let read = send(
        client,
        format!("reading {}", describe(key)),
        kube::core::Request::new(collection(key)).get(&key.name, &Default::default()),
    )
    .await;
    absent_if_not_found(read)
}

/// Deletes one report; one already gone counts as deleted.
pub async fn delete(client: &Client, key: &ReportKey) -> Result<(), ClusterError> {
    let deleted = send::<Value>(
        client,
        format!("deleting {}", describe(key)),
        kube::core::Request::new(collection(key)).delete(&key.name, &DeleteParams::default()),
    )
    .await;
    absent_if_not_found(deleted).map(|_| ())
}

/// What `install-crds` did with one CRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrdOutcome {
    Created(String),
    /// Already present; left as it is. Carries who manages it, if labelled.
    Kept {
        name: String,
        managed_by: String,
    },
}

/// The schemas of the report CRDs the server serves (whoever installed
/// them), which every report is checked against before it is sent; `None`
/// when either CRD is missing.
pub async fn installed_schemas(
    client: &Client,
) -> Result<Option<report_model::schema::ReportSchemas>, ClusterError> {
    let [(namespaced, _), (cluster, _)] = CRDS;
    let (Some(namespaced), Some(cluster)) = (
        get_crd(client, namespaced).await?,
        get_crd(client, cluster).await?,
    ) else {
        return Ok(None);
    };
    Ok(Some(report_model::schema::ReportSchemas::from_crds(
        &namespaced,
        &cluster,
    )))
}

async fn get_crd(client: &Client, name: &str) -> Result<Option<Value>, ClusterError> {
    let read = send(
        client,
        format!("reading CRD {name}"),
        kube::core::Request::new(CRD_BASE).get(name, &Default::default()),
    )
    .await;
    absent_if_not_found(read)
}

/// Creates the report CRDs that are missing and waits until they are
/// established; existing ones (perhaps Kyverno's) are never replaced.
pub async fn install_crds(client: &Client) -> Result<Vec<CrdOutcome>, ClusterError> {
    let mut outcomes = Vec::new();
    for (name, text) in CRDS {
        if let Some(existing) = get_crd(client, name).await? {
            let labels = string_map(existing.pointer("/metadata/labels"));
            let managed_by = labels
                .get("app.kubernetes.io/managed-by")
                .or_else(|| labels.get("app.kubernetes.io/part-of"))
                .cloned()
                .unwrap_or_else(|| "unknown".into());
            outcomes.push(CrdOutcome::Kept {
                name: name.to_string(),
                managed_by,
            });
            continue;
        }
        let crd: Value = serde_yaml::from_str(text).map_err(|err| ClusterError::Transport {
            what: format!("reading the bundled CRD {name}"),
            message: err.to_string(),
        })?;
        let body = serde_json::to_vec(&crd).map_err(|err| ClusterError::Transport {
            what: format!("encoding CRD {name}"),
            message: err.to_string(),
        })?;
        send::<Value>(
            client,
            format!("creating CRD {name}"),
            kube::core::Request::new(CRD_BASE).create(&PostParams::default(), body),
        )
        .await?;
        wait_established(client, name).await?;
        outcomes.push(CrdOutcome::Created(name.to_string()));
    }
    Ok(outcomes)
}

async fn wait_established(client: &Client, name: &str) -> Result<(), ClusterError> {
    for _ in 0..100 {
        if let Some(crd) = get_crd(client, name).await? {
            let established = crd
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|conditions| {
                    conditions.iter().any(|c| {
                        c.get("type").and_then(Value::as_str) == Some("Established")
                            && c.get("status").and_then(Value::as_str) == Some("True")
                    })
                });
            if established {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(ClusterError::Transport {
        what: format!("installing CRD {name}"),
        message: "not established after 10 s".into(),
    })
}
