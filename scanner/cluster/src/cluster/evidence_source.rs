//! What `polscan evidence` reads from a cluster: every PolicyReport and
//! ClusterPolicyReport, the policies and PolicyExceptions, the last scan's
//! record (a ConfigMap) and the soak history beside it, the cluster's
//! identity (the `kube-system` Namespace UID and the server version), the
//! top owner of each violating resource (following controller
//! ownerReferences), and the owner labels (`--owner-label`) of those
//! resources, their owners and every namespace. A client enters; the
//! data for `evidence::build` leaves.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use kube::api::ListParams;
use kube::Client;
use polscan_engine::ValueExt;
use serde_json::Value;

use super::discovery::{self, Discovered};
use super::listing::for_each_page;
use super::report_store::{self, ReportApi};
use super::{absent_if_not_found, get, policy_source, ClusterError};
use crate::evidence::ingest::owner_labels::{Labels, OwnerLabels};
use crate::evidence::run::history::History;
use crate::evidence::{ClusterIdentity, ObjectName, ReportResults, ScanRecord};

/// Owner chains are short (Pod → ReplicaSet → Deployment, Pod → Job →
/// CronJob); the bound only guards against cycles.
const MAX_OWNER_DEPTH: usize = 5;

/// Namespaces whose reports are read at once.
const REPORT_CONCURRENCY: usize = 4;

/// Objects read at once while following owners.
const OWNER_CONCURRENCY: usize = 16;

/// Reports per LIST page: reports are large (up to ~1 MiB each for
/// per-namespace ones), so pages are smaller than the scan's.
const REPORT_PAGE_SIZE: u32 = 100;

/// What [`read`] found in the cluster, for `evidence::build`.
#[derive(Debug, Default)]
pub struct ClusterEvidence {
    /// The results of every PolicyReport and ClusterPolicyReport of each
    /// report API served (OpenReports ones read as wgpolicyk8s.io kinds).
    pub reports: ReportResults,
    /// The policies, PolicyExceptions and admission policy bindings
    /// stored in the cluster, as the server returned them (with
    /// `apiVersion` and `kind` set).
    pub policies: Vec<Value>,
    /// The last scan's record; None when it could not be read (a problem
    /// says why).
    pub scan: Option<ScanRecord>,
    /// The `kube-system` Namespace UID, the server version and address.
    pub identity: ClusterIdentity,
    /// Each namespaced violating resource with an owner → its top owner
    /// (the controller ownerReference, else the first, followed at most 5
    /// levels up); resources without an owner are left out.
    pub owners: BTreeMap<ObjectName, ObjectName>,
    /// The owner labels of the violating resources, of the objects on
    /// their owner chains, and of every namespace.
    pub owner_labels: OwnerLabels,
    /// The `spec.selector` of each top owner (in `owners`, or a violator
    /// without an owner) that has one: a generated PolicyException matches
    /// what the owner creates by it.
    pub owner_selectors: BTreeMap<ObjectName, Value>,
    /// What could not be read; the evidence says so rather than guessing.
    pub problems: Vec<String>,
    /// Policy kinds the server does not serve (discovery), when discovery
    /// of every group succeeded.
    pub unserved_policy_kinds: Vec<String>,
    /// Of the resources asked about that no result names, those the
    /// server still has (or could not say it has not).
    pub still_present: BTreeSet<ObjectName>,
    /// The soak history beside the record (`<name>-history`); empty when
    /// there is none or it could not be read (a problem says why).
    pub soak_history: History,
}

async fn identity(client: &Client, server: &str) -> (ClusterIdentity, Vec<String>) {
    let mut problems = Vec::new();
    let kube_system_uid = match get(client, "/api/v1/namespaces", "kube-system").await {
        Ok(namespace) => namespace.str_at("/metadata/uid").map(str::to_string),
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
    let text = |key: &str| owner.str_field(key).map(str::to_string);
    Some((text("apiVersion")?, text("kind")?, text("name")?))
}

/// An object's controller: its apiVersion and name.
type Parent = Option<(String, ObjectName)>;

/// An object read while following owners: its controller, its owner
/// labels, and its own `spec.selector` if it has one.
type OwnerRead = Result<(Parent, Labels, Option<Value>), ClusterError>;

/// The names of every namespace; their owner labels go to `labels` (one
/// LIST for both).
async fn namespaces(
    client: &Client,
    labels: &mut OwnerLabels,
) -> Result<Vec<String>, ClusterError> {
    let mut names = Vec::new();
    let params = ListParams::default().limit(500);
    for_each_page(client, "/api/v1/namespaces", &params, |items| {
        for item in &items {
            let Some(name) = item.str_at("/metadata/name") else {
                continue;
            };
            let kept = labels.keep(item);
            if !kept.is_empty() {
                labels.namespaces.insert(name.to_string(), kept);
            }
            names.push(name.to_string());
        }
    })
    .await?;
    Ok(names)
}

/// The controller of one object, read from the server, and the object's
/// owner labels: `Ok(None)` when it has none, was deleted since the scan,
/// or is of a kind not served. A cluster-scoped object is read for its
/// labels only.
async fn parent_of(
    client: &Client,
    discovered: &Discovered,
    api_version: &str,
    object: &ObjectName,
    keys: &OwnerLabels,
) -> OwnerRead {
    let group = crate::kinds::group_of(api_version);
    let Some(kind) = discovered.find(group, &object.kind) else {
        return Ok((None, Labels::new(), None));
    };
    let namespace = (!object.namespace.is_empty()).then_some(object.namespace.as_str());
    let collection = kind.collection_path(namespace);
    // Deleted since the scan: it has no owner now.
    let found = absent_if_not_found(get(client, &collection, &object.name).await)?;
    let labels = found
        .as_ref()
        .map(|found| keys.keep(found))
        .unwrap_or_default();
    let selector = found
        .as_ref()
        .and_then(|object| object.pointer("/spec/selector"))
        .filter(|selector| !selector.is_null())
        .cloned();
    let parent = found
        .as_ref()
        .filter(|_| namespace.is_some())
        .and_then(controller_of)
        .map(|(version, kind, name)| {
            (
                version,
                ObjectName {
                    kind,
                    namespace: object.namespace.clone(),
                    name,
                },
            )
        });
    Ok((parent, labels, selector))
}

/// Follows ownerReferences from each violating resource to its top owner,
/// one level at a time: every object of a level is read concurrently, and
/// each parent once (many Pods share a ReplicaSet). The owner labels of
/// every object read go to `labels`; a cluster-scoped violator is read for
/// them only (a Namespace's are its namespace's, listed already). The top
/// owners' label selectors leave beside them.
async fn owners(
    client: &Client,
    discovered: &Discovered,
    violators: &[(String, ObjectName)],
    labels: &mut OwnerLabels,
) -> (
    BTreeMap<ObjectName, ObjectName>,
    BTreeMap<ObjectName, Value>,
    Vec<String>,
) {
    let mut parents: BTreeMap<ObjectName, Parent> = BTreeMap::new();
    let mut selectors: BTreeMap<ObjectName, Value> = BTreeMap::new();
    let mut failed: Vec<(ObjectName, ClusterError)> = Vec::new();
    let mut level: Vec<(String, ObjectName)> = violators
        .iter()
        .filter(|(_, object)| !(object.namespace.is_empty() && object.kind == "Namespace"))
        .cloned()
        .collect();
    for _ in 0..MAX_OWNER_DEPTH {
        level.retain(|(_, object)| !parents.contains_key(object));
        level.sort();
        level.dedup();
        if level.is_empty() {
            break;
        }
        let keys = &*labels;
        let read: Vec<(ObjectName, OwnerRead)> = futures::stream::iter(level.iter())
            .map(|(api_version, object)| async move {
                (
                    object.clone(),
                    parent_of(client, discovered, api_version, object, keys).await,
                )
            })
            .buffer_unordered(OWNER_CONCURRENCY)
            .collect()
            .await;
        let mut next = Vec::new();
        for (object, parent) in read {
            let (parent, own_labels, selector) = match parent {
                Ok(read) => read,
                Err(err) => {
                    failed.push((object.clone(), err));
                    (None, Labels::new(), None)
                }
            };
            if let Some(selector) = selector {
                selectors.insert(object.clone(), selector);
            }
            if !own_labels.is_empty() {
                labels.objects.insert(object.clone(), own_labels);
            }
            if let Some(parent) = &parent {
                next.push(parent.clone());
            }
            parents.insert(object, parent);
        }
        level = next;
    }
    let mut found = BTreeMap::new();
    for (_, resource) in violators {
        // Cluster-scoped objects are read for their labels only.
        if resource.namespace.is_empty() {
            continue;
        }
        let mut top = resource;
        for _ in 0..MAX_OWNER_DEPTH {
            match parents.get(top) {
                Some(Some((_, parent))) => top = parent,
                _ => break,
            }
        }
        if top != resource {
            found.insert(resource.clone(), top.clone());
        }
    }
    // Top owners are those read without a controller (a violator may be
    // its own: an annotated Deployment).
    selectors.retain(|object, _| matches!(parents.get(object), Some(None)));
    // A missing RBAC verb fails every read of a kind alike: said once.
    let problems = crate::scan::failures::summarize_lookups("owner of", &failed);
    (found, selectors, problems)
}

/// Whether the server has `object`, of any served kind of its name:
/// `Err` when it could not say.
async fn exists(
    client: &Client,
    discovered: &Discovered,
    object: &ObjectName,
) -> Result<bool, ClusterError> {
    let namespaced = !object.namespace.is_empty();
    for kind in discovered
        .kinds
        .iter()
        .filter(|k| k.kind == object.kind && k.namespaced == namespaced)
    {
        let namespace = namespaced.then_some(object.namespace.as_str());
        let collection = kind.collection_path(namespace);
        match absent_if_not_found(get(client, &collection, &object.name).await) {
            Ok(Some(_)) => return Ok(true),
            Ok(None) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(false)
}

/// Shard records read past this many are not looked for: a bound on a
/// record naming an absurd shard count.
const MAX_SHARDS: u32 = 1024;

/// One last-run ConfigMap as a record; `Err((not_found, problem))`.
async fn read_record_config_map(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<ScanRecord, (bool, String)> {
    let source = format!("{namespace}/{name}");
    match get(
        client,
        &format!("/api/v1/namespaces/{namespace}/configmaps"),
        name,
    )
    .await
    {
        Ok(config_map) => ScanRecord::from_config_map(&config_map, &source)
            .map_err(|err| (false, err.to_string())),
        Err(err) if err.code() == Some(404) => {
            Err((true, format!("no record at ConfigMap {source}")))
        }
        Err(err) => Err((false, format!("the scan record {source}: {err}"))),
    }
}

/// The last scan's record at `namespace/name`, or a sharded run's: the
/// records at `name-0` … `name-<N-1>` merged
/// ([`crate::evidence::ingest::shards::merge_shards`]). When both are there
/// (the scan became sharded, or stopped being), the newer run's. Err: the
/// problem to report (no record, or an unreadable one).
async fn read_scan_record(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<ScanRecord, String> {
    // One shard's record named on its own (`<name>-0`) is one part of a
    // run: read as such, the others count as not read.
    let whole = read_record_config_map(client, namespace, name)
        .await
        .map(|record| match record.shard {
            Some(shard) if shard.count > 1 => crate::evidence::ingest::shards::merge_shards(
                &record.source.clone(),
                vec![(shard.index, Ok(record.clone()))],
            )
            .unwrap_or(record),
            _ => record,
        });
    let mut shards: Vec<crate::evidence::ingest::shards::ShardRead> = Vec::new();
    let mut count = 1;
    let mut index = 0;
    while index < count.min(MAX_SHARDS) {
        let read = read_record_config_map(
            client,
            namespace,
            &crate::evidence::run::record_format::shard_record_name(name, index),
        )
        .await;
        match &read {
            Err((true, _)) if index == 0 => break,
            Ok(record) => {
                if let Some(shard) = record.shard {
                    count = count.max(shard.count);
                }
            }
            Err(_) => {}
        }
        shards.push((index, read.map_err(|(_, problem)| problem)));
        index += 1;
    }
    let merged = crate::evidence::ingest::shards::merge_shards(
        &format!("{namespace}/{name}-0..{}", count.saturating_sub(1)),
        shards,
    );
    match (whole, merged) {
        (Ok(whole), Some(merged)) => Ok(if merged.started > whole.started {
            merged
        } else {
            whole
        }),
        (Ok(whole), None) => Ok(whole),
        (Err(_), Some(merged)) => Ok(merged),
        (Err((true, _)), None) => Err(format!(
            "no scan record at ConfigMap {namespace}/{name}: run `polscan scan --last-run-configmap {namespace}/{name}`"
        )),
        (Err((false, problem)), None) => Err(problem),
    }
}

/// The soak history beside the record `namespace/name`
/// (`<name>-history`): empty when there is none yet, or when it cannot be
/// read or understood (then with the problem: the soak restarts rather
/// than trusting what cannot be read).
async fn read_soak_history(
    client: &Client,
    namespace: &str,
    name: &str,
) -> (History, Option<String>) {
    let history_name = crate::evidence::run::history::history_name(name);
    let source = format!("{namespace}/{history_name}");
    let read = absent_if_not_found(
        get(
            client,
            &format!("/api/v1/namespaces/{namespace}/configmaps"),
            &history_name,
        )
        .await,
    );
    match read {
        Ok(found) => match crate::evidence::run::history::parse(found.as_ref()) {
            Ok(history) => (history, None),
            Err(err) => (
                History::new(),
                Some(format!(
                    "the soak history ConfigMap {source}: {err}; taken as no history (every policy waits)"
                )),
            ),
        },
        Err(err) => (
            History::new(),
            Some(format!(
                "the soak history ConfigMap {source}: {err}; taken as no history (every policy waits)"
            )),
        ),
    }
}

/// Reads everything the evidence needs. `scan_record` is the
/// `namespace/name` of the last-run ConfigMap; `asked`: resources (those a
/// previous package found violating) to look up when no result names
/// them, to tell deleted from left out of a policy's scope. `owner_labels`
/// holds the label keys to read (`--owner-label`); only their values are
/// kept.
pub async fn read(
    client: &Client,
    server: &str,
    scan_record: (&str, &str),
    asked: &[ObjectName],
    owner_labels: OwnerLabels,
) -> Result<ClusterEvidence, ClusterError> {
    let started = std::time::Instant::now();
    let phase = |name: &str| {
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(elapsed_ms, "evidence: {name}");
    };
    let discovered = discovery::discover(client).await?;
    phase("discovered");
    let mut evidence = ClusterEvidence {
        owner_labels: OwnerLabels {
            read: true,
            ..owner_labels
        },
        unserved_policy_kinds: discovered
            .unserved_policy_kinds()
            .into_iter()
            .map(str::to_string)
            .collect(),
        ..ClusterEvidence::default()
    };
    // A report API whose discovery failed (reports-server down) holds
    // reports that cannot be read: a package without them would say the
    // policies have no results, not why.
    if let Some((group_version, err)) = ReportApi::ALL
        .iter()
        .find_map(|api| discovered.failed_group(api.group()))
    {
        return Err(ClusterError::Transport {
            what: format!(
                "reading the reports: the report API {group_version} could not be discovered, so its reports cannot be read and no package is written"
            ),
            message: err.to_string(),
        });
    }
    for (group_version, err) in &discovered.failed {
        evidence
            .problems
            .push(format!("discovery of {group_version} failed: {err}"));
    }
    // Every report API the server serves is read (the scan writes to one;
    // Kyverno may write to the other).
    let apis: Vec<ReportApi> = ReportApi::ALL
        .into_iter()
        .filter(|api| report_store::served(&discovered, *api).is_ok())
        .collect();
    if apis.is_empty() {
        evidence.problems.push(
            "the server serves no report API (wgpolicyk8s.io/v1alpha2 or openreports.io/v1alpha1): no reports to read"
                .into(),
        );
    }
    // Every namespace, listed once: for the namespaced reports, and for
    // the namespaces' owner labels.
    let namespace_names = namespaces(client, &mut evidence.owner_labels).await?;
    let kinds = apis.iter().flat_map(|api| {
        [false, true].map(|cluster| (*api, api.kind(cluster), ReportApi::Wgpolicy.kind(cluster)))
    });
    for (api, served_kind, kind) in kinds {
        let Some(api_kind) = discovered.find(api.group(), served_kind) else {
            continue;
        };
        // Page by page, each report folded into its results and dropped: a
        // large cluster's reports never sit in memory all at once. The
        // server decodes every stored report it returns, so namespaces are
        // read several at a time, all folded into the one set of results
        // (borrowed only between awaits: the reads share one task).
        let collections: Vec<String> = if api_kind.namespaced {
            namespace_names
                .iter()
                .map(|namespace| api_kind.collection_path(Some(namespace)))
                .collect()
        } else {
            vec![api_kind.collection_path(None)]
        };
        let results = RefCell::new(std::mem::take(&mut evidence.reports));
        let read: Vec<Result<(), ClusterError>> = futures::stream::iter(collections)
            .map(|path| {
                let results = &results;
                async move {
                    let params = ListParams::default().limit(REPORT_PAGE_SIZE);
                    for_each_page(client, &path, &params, |items| {
                        let mut results = results.borrow_mut();
                        for mut item in items {
                            // Read as the wgpolicyk8s.io kind: an
                            // OpenReports report holds the same fields.
                            if let Value::Object(object) = &mut item {
                                object.insert("kind".into(), kind.into());
                            }
                            results.add_report(&item);
                        }
                    })
                    .await
                }
            })
            .buffer_unordered(REPORT_CONCURRENCY)
            .collect()
            .await;
        evidence.reports = results.into_inner();
        read.into_iter().collect::<Result<(), _>>()?;
    }
    phase("reports read");
    let read = policy_source::read_policies(client, &discovered).await;
    evidence.policies = read.documents.into_iter().map(|d| d.value).collect();
    if !read.failed.is_empty() {
        // Without the policies the verdicts would be guesses.
        return Err(read
            .failed
            .into_iter()
            .map(|(_, err)| err)
            .next()
            .unwrap_or(ClusterError::Transport {
                what: "reading policies".into(),
                message: "unknown".into(),
            }));
    }
    let (namespace, name) = scan_record;
    match read_scan_record(client, namespace, name).await {
        Ok(record) => evidence.scan = Some(record),
        Err(problem) => evidence.problems.push(problem),
    }
    let (history, problem) = read_soak_history(client, namespace, name).await;
    evidence.soak_history = history;
    evidence.problems.extend(problem);
    let (identity, problems) = identity(client, server).await;
    evidence.identity = identity;
    evidence.problems.extend(problems);
    phase("policies, record and identity read");
    let (owners, selectors, problems) = owners(
        client,
        &discovered,
        &evidence.reports.violators(),
        &mut evidence.owner_labels,
    )
    .await;
    evidence.owners = owners;
    evidence.owner_selectors = selectors;
    evidence.problems.extend(problems);
    phase("owners followed");
    let unnamed: BTreeSet<&ObjectName> = asked
        .iter()
        .filter(|object| !evidence.reports.names(object))
        .collect();
    let looked_up: Vec<(&ObjectName, Result<bool, ClusterError>)> = futures::stream::iter(unnamed)
        .map(|object| {
            let discovered = &discovered;
            async move { (object, exists(client, discovered, object).await) }
        })
        .buffer_unordered(OWNER_CONCURRENCY)
        .collect()
        .await;
    let mut failed = Vec::new();
    for (object, found) in looked_up {
        // Not known to be gone is not gone: no fix is claimed for it.
        let present = found.unwrap_or_else(|err| {
            failed.push((object, err));
            true
        });
        if present {
            evidence.still_present.insert(object.clone());
        }
    }
    evidence
        .problems
        .extend(crate::scan::failures::summarize_lookups(
            "the still-present check of",
            &failed,
        ));
    phase("previous violators looked up");
    Ok(evidence)
}
