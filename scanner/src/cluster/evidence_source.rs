//! What `polscan evidence` reads from a cluster: every PolicyReport and
//! ClusterPolicyReport, the policies and PolicyExceptions, the last scan's
//! record (a ConfigMap), the cluster's identity (the `kube-system`
//! Namespace UID and the server version), and the top owner of each
//! violating resource (following controller ownerReferences). A client
//! enters; the data for `evidence::build` leaves.

use std::collections::BTreeMap;

use kube::api::{GetParams, ListParams};
use kube::Client;
use serde_json::Value;

use super::discovery::{self, Discovered};
use super::listing::for_each_page;
use super::{policy_source, ClusterError};
use crate::evidence::{ClusterIdentity, ObjectName, ReportResults, ScanRecord};

/// Owner chains are short (Pod → ReplicaSet → Deployment, Pod → Job →
/// CronJob); the bound only guards against cycles.
const MAX_OWNER_DEPTH: usize = 5;

/// Reports per LIST page: reports are large (up to ~1 MiB each for
/// per-namespace ones), so pages are smaller than the scan's.
const REPORT_PAGE_SIZE: u32 = 100;

#[derive(Debug, Default)]
pub struct ClusterEvidence {
    pub reports: ReportResults,
    pub policies: Vec<Value>,
    pub scan: Option<ScanRecord>,
    pub identity: ClusterIdentity,
    pub owners: BTreeMap<ObjectName, ObjectName>,
    /// What could not be read; the evidence says so rather than guessing.
    pub problems: Vec<String>,
}

async fn get(client: &Client, collection: &str, name: &str) -> Result<Value, ClusterError> {
    let what = format!("reading {collection}/{name}");
    let request = kube::core::Request::new(collection)
        .get(name, &GetParams::default())
        .map_err(|err| ClusterError::Transport {
            what: what.clone(),
            message: err.to_string(),
        })?;
    client
        .request::<Value>(request)
        .await
        .map_err(|err| ClusterError::from_kube(what, err))
}

async fn identity(client: &Client, server: &str) -> (ClusterIdentity, Vec<String>) {
    let mut problems = Vec::new();
    let kube_system_uid = match get(client, "/api/v1/namespaces", "kube-system").await {
        Ok(namespace) => namespace
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        Err(err) => {
            problems.push(format!("the cluster's identity: {err}"));
            None
        }
    };
    let server_version = match client.apiserver_version().await {
        Ok(info) => Some(info.git_version),
        Err(err) => {
            problems.push(format!("the server version: {err}"));
            None
        }
    };
    (
        ClusterIdentity {
            source: "cluster".into(),
            kube_system_uid,
            server_version,
            server: Some(server.to_string()),
        },
        problems,
    )
}

/// The controller owner of an object, if any: (apiVersion, kind, name).
fn controller_of(object: &Value) -> Option<(String, String, String)> {
    let references = object.pointer("/metadata/ownerReferences")?.as_array()?;
    let owner = references
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| references.first())?;
    let text = |key: &str| owner.get(key).and_then(Value::as_str).map(str::to_string);
    Some((text("apiVersion")?, text("kind")?, text("name")?))
}

/// Follows ownerReferences from each violating resource to its top owner.
async fn owners(
    client: &Client,
    discovered: &Discovered,
    violators: &[(String, ObjectName)],
) -> (BTreeMap<ObjectName, ObjectName>, Vec<String>) {
    let mut found = BTreeMap::new();
    let mut problems = Vec::new();
    // Each object's controller, read once (many Pods share a ReplicaSet).
    let mut parent_cache: BTreeMap<ObjectName, Option<(String, ObjectName)>> = BTreeMap::new();
    for (api_version, resource) in violators {
        if resource.namespace.is_empty() || found.contains_key(resource) {
            continue;
        }
        let mut current = (api_version.clone(), resource.clone());
        for _ in 0..MAX_OWNER_DEPTH {
            let parent = match parent_cache.get(&current.1) {
                Some(parent) => parent.clone(),
                None => {
                    let group = crate::kinds::group_of(&current.0);
                    let parent = match discovered.find(group, &current.1.kind) {
                        None => None,
                        Some(kind) => {
                            let collection = kind.collection_path(Some(&current.1.namespace));
                            match get(client, &collection, &current.1.name).await {
                                Ok(object) => controller_of(&object).map(|(v, k, n)| {
                                    (
                                        v,
                                        ObjectName {
                                            kind: k,
                                            namespace: current.1.namespace.clone(),
                                            name: n,
                                        },
                                    )
                                }),
                                // Deleted since the scan: it has no owner now.
                                Err(err) if err.code() == Some(404) => None,
                                Err(err) => {
                                    problems.push(format!("owner of {}: {err}", current.1));
                                    None
                                }
                            }
                        }
                    };
                    parent_cache.insert(current.1.clone(), parent.clone());
                    parent
                }
            };
            match parent {
                Some(parent) => current = parent,
                None => break,
            }
        }
        if &current.1 != resource {
            found.insert(resource.clone(), current.1);
        }
    }
    (found, problems)
}

/// Reads everything the evidence needs. `scan_record` is the
/// `namespace/name` of the last-run ConfigMap.
pub async fn read(
    client: &Client,
    server: &str,
    scan_record: (&str, &str),
) -> Result<ClusterEvidence, ClusterError> {
    let discovered = discovery::discover(client).await?;
    let mut evidence = ClusterEvidence::default();
    for (group_version, err) in &discovered.failed {
        evidence
            .problems
            .push(format!("discovery of {group_version} failed: {err}"));
    }
    for kind in ["PolicyReport", "ClusterPolicyReport"] {
        let Some(api_kind) = discovered.find("wgpolicyk8s.io", kind) else {
            evidence.problems.push(format!(
                "the server has no {kind} kind (wgpolicyk8s.io): no reports to read"
            ));
            continue;
        };
        // Page by page, each report folded into its results and dropped:
        // a large cluster's reports never sit in memory all at once.
        let params = ListParams::default().limit(REPORT_PAGE_SIZE);
        let reports = &mut evidence.reports;
        for_each_page(client, &api_kind.collection_path(None), &params, |items| {
            for mut item in items {
                if let Value::Object(object) = &mut item {
                    object.insert("kind".into(), kind.into());
                }
                reports.add_report(&item);
            }
        })
        .await?;
    }
    let read = policy_source::read_policies(client, &discovered).await;
    evidence.policies = read.documents.into_iter().map(|d| d.value).collect();
    if !read.failed.is_empty() {
        // Without the policies the verdicts would be guesses.
        return Err(read
            .failed
            .into_iter()
            .next()
            .unwrap_or(ClusterError::Transport {
                what: "reading policies".into(),
                message: "unknown".into(),
            }));
    }
    let (namespace, name) = scan_record;
    let source = format!("{namespace}/{name}");
    match get(
        client,
        &format!("/api/v1/namespaces/{namespace}/configmaps"),
        name,
    )
    .await
    {
        Ok(config_map) => match ScanRecord::from_config_map(&config_map, &source) {
            Ok(record) => evidence.scan = Some(record),
            Err(err) => evidence.problems.push(err.to_string()),
        },
        Err(err) if err.code() == Some(404) => evidence.problems.push(format!(
            "no scan record at ConfigMap {source}: run `polscan scan --last-run-configmap {source}`"
        )),
        Err(err) => evidence.problems.push(format!("the scan record: {err}")),
    }
    let (identity, problems) = identity(client, server).await;
    evidence.identity = identity;
    evidence.problems.extend(problems);
    let (owners, problems) = owners(client, &discovered, &evidence.reports.violators()).await;
    evidence.owners = owners;
    evidence.problems.extend(problems);
    Ok(evidence)
}
