//! Reports in the cluster: reading what exists (metadata only: name,
//! labels, the content-hash annotation and the owner that names the scoped
//! kind), server-side applying a report as polscan's field manager, deleting
//! one, and installing the report CRDs when they are missing. Keys and JSON
//! objects enter; [`ExistingReport`]s and [`ClusterError`]s leave.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use polscan_engine::ValueExt;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;
use tokio_util::compat::FuturesAsyncReadCompatExt;
use tokio_util::io::SyncIoBridge;

use super::discovery::Discovered;
use super::{absent_if_not_found, apply_body, send, ClusterError};
use crate::reconcile::{report_resource, ExistingReport, ReportKey};
pub use report_model::api::ReportApi;

/// polscan's field manager for server-side apply.
pub const FIELD_MANAGER: &str = "polscan";
const CRD_BASE: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// The reports of one report API in one cluster: a client and the
/// [`ReportApi`] the scan writes to.
#[derive(Clone)]
pub struct ReportStore {
    client: Client,
    api: ReportApi,
}

fn collection(api: ReportApi, key: &ReportKey) -> String {
    report_resource(api, key.cluster_scoped).collection_path(Some(&key.namespace))
}

/// `Kind name` (`Kind namespace/name` for a namespaced report) of a
/// report in `api`, for messages.
pub fn describe(api: ReportApi, key: &ReportKey) -> String {
    if key.cluster_scoped {
        format!("{} {}", api.kind(true), key.name)
    } else {
        format!("{} {}/{}", api.kind(false), key.namespace, key.name)
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

/// One page of a metadata-only LIST, with only the fields the plan reads:
/// everything else (managedFields above all) is skipped while parsing.
#[derive(Deserialize, Default)]
struct MetadataList {
    #[serde(default)]
    items: Option<ExistingItems>,
    #[serde(default)]
    metadata: Option<ListMeta>,
}

/// A list's items, each made an [`ExistingReport`] as soon as it is
/// parsed: the parsed metadata (label and annotation maps, a kilobyte or
/// more a report) never exists for every report at once. Keys are made
/// namespaced; [`list_existing`] fixes those of cluster-scoped kinds.
#[derive(Default)]
struct ExistingItems(Vec<ExistingReport>);

impl<'de> Deserialize<'de> for ExistingItems {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items;
        impl<'de> serde::de::Visitor<'de> for Items {
            type Value = ExistingItems;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of objects' metadata")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ExistingItems, A::Error> {
                let mut found = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element::<Option<MetadataItem>>()? {
                    found.extend(item.map(|item| existing_from_metadata(item, false)));
                }
                Ok(ExistingItems(found))
            }
        }
        deserializer.deserialize_seq(Items)
    }
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

#[derive(Deserialize, Default)]
struct MetadataItem {
    #[serde(default)]
    metadata: Option<ItemMeta>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ItemMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    owner_references: Option<Vec<OwnerReference>>,
    #[serde(default)]
    managed_fields: Option<Vec<ManagedFieldsEntry>>,
}

/// One `metadata.managedFields` entry: who wrote, and the top-level fields
/// it owns (their contents are skipped).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ManagedFieldsEntry {
    #[serde(default)]
    manager: Option<String>,
    #[serde(default, rename = "fieldsV1")]
    fields: Option<BTreeMap<String, IgnoredAny>>,
}

/// What a report's content hash reads as when another field manager owns
/// part of its body ([`existing_from_metadata`]): never a hash, so the
/// report is applied again.
pub const EDITED_BY: &str = "edited by ";

/// The field manager other than polscan's that owns some of a report's
/// body (anything but `metadata`): a `kubectl edit` or `replace` of its
/// results. The `polscan.io/content-sha256` annotation then no longer
/// speaks for the body (an edit keeps it), so the report is neither
/// "unchanged" nor reused (walk25 F15: results edited fail → pass stayed
/// so at every scan and the evidence said GO). polscan's force-apply takes
/// those fields back, so the next scan finds only its own.
fn body_edited_by(entries: &[ManagedFieldsEntry]) -> Option<String> {
    entries.iter().find_map(|entry| {
        let manager = entry.manager.as_deref().unwrap_or("an unnamed manager");
        let body = entry
            .fields
            .as_ref()
            .is_some_and(|fields| fields.keys().any(|field| field != "f:metadata"));
        (manager != FIELD_MANAGER && body).then(|| manager.to_string())
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OwnerReference {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn existing_from_metadata(item: MetadataItem, cluster_scoped: bool) -> ExistingReport {
    let meta = item.metadata.unwrap_or_default();
    let mut labels = meta.labels.unwrap_or_default();
    let mut annotations = meta.annotations.unwrap_or_default();
    let owner = meta
        .owner_references
        .and_then(|owners| owners.into_iter().next());
    // A shard finds a ClusterPolicyReport's owner by its resource's name
    // ([`crate::scan::shard`]); `list_existing` drops it from namespaced
    // reports, which go by their namespace.
    let scope_name = owner.as_ref().and_then(|owner| owner.name.clone());
    let edited_by = body_edited_by(meta.managed_fields.as_deref().unwrap_or_default());
    if edited_by.is_some() {
        annotations.remove(report_model::shape::INPUTS_ANNOTATION);
        annotations.remove(report_model::shape::RESULTS_ANNOTATION);
    }
    let scope_kind = owner.map(|owner| {
        (
            crate::kinds::group_of(owner.api_version.as_deref().unwrap_or_default()).to_string(),
            owner.kind.unwrap_or_default(),
        )
    });
    ExistingReport {
        key: ReportKey {
            cluster_scoped,
            namespace: if cluster_scoped {
                String::new()
            } else {
                meta.namespace.unwrap_or_default()
            },
            name: meta.name.unwrap_or_default(),
        },
        managed_by: labels.remove(report_model::shape::MANAGED_BY_LABEL),
        shape: labels.remove(report_model::shape::SHAPE_LABEL),
        inputs: annotations.remove(report_model::shape::INPUTS_ANNOTATION),
        content_hash: match edited_by {
            Some(manager) => Some(format!("{EDITED_BY}{manager}")),
            None => annotations.remove(report_model::CONTENT_HASH_ANNOTATION),
        },
        results_by_rule: annotations.remove(report_model::shape::RESULTS_ANNOTATION),
        scope_kind,
        scope_name,
    }
}

/// One metadata-only LIST request, its answer parsed as it arrives: memory
/// holds the parsed entries, never the whole answer (about 1.5 KB of JSON a
/// report, most of it managedFields, which are skipped).
async fn list_metadata_streamed(
    client: &Client,
    path: &str,
    params: &ListParams,
) -> Result<MetadataList, ClusterError> {
    let what = format!("listing {path}");
    let transport = |message: String| ClusterError::Transport {
        what: what.clone(),
        message,
    };
    let request = kube::core::Request::new(path)
        .list_metadata(params)
        .map_err(|err| transport(err.to_string()))?;
    let body = client
        .request_stream(request)
        .await
        .map_err(|err| ClusterError::from_kube(what.clone(), err))?;
    let reader = SyncIoBridge::new(body.compat());
    tokio::task::spawn_blocking(move || {
        serde_json::from_reader::<_, MetadataList>(std::io::BufReader::new(reader))
    })
    .await
    .map_err(|err| transport(err.to_string()))?
    .map_err(|err| transport(format!("the answer is not a metadata list: {err}")))
}

/// LIST parameters answered from the watch cache. No limit: kube-core drops
/// `resourceVersion=0` from a limited LIST, and the watch cache does not
/// paginate anyway (a server without a watch cache answers from etcd in one
/// response). A continue token, should a server send one, is still followed.
fn from_watch_cache() -> ListParams {
    ListParams::default().at("0")
}

/// Every PolicyReport and ClusterPolicyReport in the cluster, whoever wrote
/// it (the plan never touches other producers' reports, but must know their
/// names to avoid them).
///
/// Read from the API server's watch cache (`resourceVersion=0`, no limit):
/// one request per kind answered from memory, where a paginated LIST makes
/// the server decode every stored report from etcd, page by page (measured:
/// 0.59 s against ≈13 s for 12,000 reports). The answer may be slightly
/// stale, which the plan tolerates:
/// - a report created since the cache's snapshot is missing from the answer:
///   polscan then writes it again (server-side apply is idempotent), at most
///   once, and the next run sees it;
/// - a report deleted since is still listed: deleting it again is a no-op
///   ([`ReportStore::delete`] counts "not found" as deleted), and writing it recreates it;
/// - a stale content hash can only make a write happen that was not needed,
///   or skip one whose report another polscan run rewrote moments ago from
///   the same objects; the next run reads the hash afresh.
///
/// Objects themselves are still listed from etcd, page by page: the scan's
/// verdicts come from them, not from this listing.
/// `selector`: a label selector the server filters by (None: every report).
/// `namespaces`: only the namespaced reports of these namespaces, read a
/// namespace at a time (a shard's, or `--namespace`'s: a LIST costs what it
/// returns, so N shards read the reports once between them, not N times);
/// None: all of them. ClusterPolicyReports are always read.
pub async fn list_existing(
    client: &Client,
    api: ReportApi,
    selector: Option<&str>,
    namespaces: Option<&[String]>,
) -> Result<Vec<ExistingReport>, ClusterError> {
    use futures::{StreamExt, TryStreamExt};
    let reports = report_resource(api, false);
    let namespaced = match namespaces {
        None => vec![reports.collection_path(None)],
        Some(namespaces) => namespaces
            .iter()
            .map(|namespace| reports.collection_path(Some(namespace)))
            .collect(),
    };
    let mut found: Vec<ExistingReport> = futures::stream::iter(namespaced)
        .map(|path| async move { list_reports_at(client, &path, selector, false).await })
        .buffer_unordered(READ_CONCURRENCY)
        .try_concat()
        .await?;
    let cluster = report_resource(api, true).collection_path(None);
    found.extend(list_reports_at(client, &cluster, selector, true).await?);
    let edited: BTreeMap<&str, usize> = found
        .iter()
        .filter_map(|report| report.content_hash.as_deref()?.strip_prefix(EDITED_BY))
        .fold(BTreeMap::new(), |mut by, manager| {
            *by.entry(manager).or_default() += 1;
            by
        });
    if !edited.is_empty() {
        let who: Vec<String> = edited
            .iter()
            .map(|(manager, count)| format!("{count} by {manager}"))
            .collect();
        tracing::warn!(
            "{} stored report(s) were changed by a field manager other than polscan ({}): their results are written again from this scan's",
            edited.values().sum::<usize>(),
            who.join(", ")
        );
    }
    Ok(found)
}

/// Namespaces whose reports are read at once by [`list_existing`].
const READ_CONCURRENCY: usize = 8;

/// The reports one collection `path` holds (every page of it), keyed by
/// their scope.
async fn list_reports_at(
    client: &Client,
    path: &str,
    selector: Option<&str>,
    cluster_scoped: bool,
) -> Result<Vec<ExistingReport>, ClusterError> {
    let params_from_cache = || match selector {
        Some(selector) => from_watch_cache().labels(selector),
        None => from_watch_cache(),
    };
    let mut found = Vec::new();
    let mut params = params_from_cache();
    loop {
        let page = list_metadata_streamed(client, path, &params).await?;
        found.extend(
            page.items
                .into_iter()
                .flat_map(|items| items.0)
                .map(|mut report| {
                    if cluster_scoped {
                        report.key.cluster_scoped = true;
                        report.key.namespace.clear();
                    } else {
                        // A namespaced report goes by its namespace.
                        report.scope_name = None;
                    }
                    report
                }),
        );
        match page
            .metadata
            .and_then(|meta| meta.continue_token)
            .filter(|token| !token.is_empty())
        {
            Some(token) => params = params_from_cache().continue_token(&token),
            None => break,
        }
    }
    Ok(found)
}

impl ReportStore {
    /// The reports of `api` through `client`.
    pub fn new(client: Client, api: ReportApi) -> ReportStore {
        ReportStore { client, api }
    }

    /// Every stored report of this API (of `namespaces` only, and the
    /// cluster-scoped ones, when given), metadata only: [`list_existing`].
    pub async fn list_existing(
        &self,
        namespaces: Option<&[String]>,
    ) -> Result<Vec<ExistingReport>, ClusterError> {
        list_existing(&self.client, self.api, None, namespaces).await
    }

    /// The stored reports polscan wrote (its `managed-by` label, selected
    /// by the server: other producers' reports are not sent), metadata
    /// only.
    pub async fn list_polscan_reports(&self) -> Result<Vec<ExistingReport>, ClusterError> {
        let selector = format!(
            "{}={}",
            report_model::shape::MANAGED_BY_LABEL,
            report_model::shape::MANAGED_BY_VALUE
        );
        list_existing(&self.client, self.api, Some(&selector), None).await
    }

    /// Server-side apply of one report (shaped as wgpolicyk8s.io, written in
    /// this API's form: [`ReportApi::convert`]), as polscan's field manager
    /// (forcing conflicts: polscan owns its reports' fields).
    pub async fn apply(
        &self,
        key: &ReportKey,
        report: &impl serde::Serialize,
    ) -> Result<(), ClusterError> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let request = kube::core::Request::new(collection(self.api, key));
        let what = describe(self.api, key);
        let body = match self.api {
            ReportApi::Wgpolicy => apply_body(report, &what)?,
            ReportApi::OpenReports => {
                let mut value =
                    serde_json::to_value(report).map_err(|err| ClusterError::Transport {
                        what: format!("encoding {what}"),
                        message: err.to_string(),
                    })?;
                self.api.convert(&mut value);
                apply_body(&value, &what)?
            }
        };
        let request = request.patch(&key.name, &params, &Patch::Apply(body));
        // The server echoes the whole report back (with managedFields); it
        // is skipped, not built into a Value: at hundreds of writes a
        // second the decoding competes with the server for the same cores.
        send::<IgnoredAny>(
            &self.client,
            format!("applying {}", describe(self.api, key)),
            request,
        )
        .await
        .map(|_| ())
    }

    /// Reads one report as stored; `None` when it does not exist.
    pub async fn get(&self, key: &ReportKey) -> Result<Option<Value>, ClusterError> {
        let read = send(
            &self.client,
            format!("reading {}", describe(self.api, key)),
            kube::core::Request::new(collection(self.api, key)).get(&key.name, &Default::default()),
        )
        .await;
        absent_if_not_found(read)
    }

    /// Deletes one report; one already gone counts as deleted.
    pub async fn delete(&self, key: &ReportKey) -> Result<(), ClusterError> {
        let deleted = send::<IgnoredAny>(
            &self.client,
            format!("deleting {}", describe(self.api, key)),
            kube::core::Request::new(collection(self.api, key))
                .delete(&key.name, &DeleteParams::default()),
        )
        .await;
        absent_if_not_found(deleted).map(|_| ())
    }
}

/// Whether the server serves `api`'s report kinds at the version polscan
/// writes, by discovery (not by CRD objects: reports-server serves the
/// report API through aggregation, without CRDs). Err: what is missing.
pub fn served(discovered: &Discovered, api: ReportApi) -> Result<(), String> {
    let kinds = [api.kind(false), api.kind(true)];
    let missing: Vec<&str> = kinds
        .into_iter()
        .filter(|kind| discovered.find(api.group(), kind).is_none())
        .collect();
    if missing.len() == kinds.len() {
        return Err(format!("{} is not served", api.group()));
    }
    if !missing.is_empty() {
        return Err(format!(
            "{} serves no {}",
            api.group(),
            missing.join(" or ")
        ));
    }
    if !discovered.group_versions.contains(api.api_version()) {
        let served: Vec<&str> = discovered
            .group_versions
            .iter()
            .filter(|gv| crate::kinds::split_api_version(gv).0 == api.group())
            .map(String::as_str)
            .collect();
        return Err(format!(
            "{} is served only as {}; polscan writes {}",
            api.group(),
            served.join(", "),
            api.api_version()
        ));
    }
    Ok(())
}

/// The report API a scan writes to: `chosen` (`--report-api`), which must
/// be served, or, for `auto` (None), wgpolicyk8s.io when served, else
/// openreports.io. Err: why none can be written to, naming each API and
/// what it lacks, and how to install one.
pub fn resolve(chosen: Option<ReportApi>, discovered: &Discovered) -> Result<ReportApi, String> {
    let candidates: Vec<ReportApi> = match chosen {
        Some(api) => vec![api],
        None => ReportApi::ALL.to_vec(),
    };
    let mut missing = Vec::new();
    for api in candidates {
        // A group whose discovery failed may well be served (an
        // aggregated API whose backend is down): writing to the next API
        // instead would put every report in a second store.
        if let Some((group_version, err)) = discovered.failed_group(api.group()) {
            return Err(format!(
                "the report API {group_version} could not be discovered, so whether it is served is unknown and nothing is written: {err}"
            ));
        }
        match served(discovered, api) {
            Ok(()) => return Ok(api),
            Err(why) => missing.push(why),
        }
    }
    let install = match chosen {
        Some(ReportApi::OpenReports) => "polscan install-crds --api openreports",
        _ => "polscan install-crds",
    };
    Err(format!(
        "no report API to write to ({}): run `{install}` (or apply deploy/crds), or serve them through reports-server",
        missing.join("; ")
    ))
}

/// What `install-crds` did with one CRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrdOutcome {
    /// Created and established; carries the CRD's name.
    Created(String),
    /// Already present; left as it is. Carries who manages it, if labelled.
    Kept {
        /// The CRD's name (`policyreports.wgpolicyk8s.io`).
        name: String,
        /// Its `app.kubernetes.io/managed-by` label, else its
        /// `app.kubernetes.io/part-of`, else `unknown`.
        managed_by: String,
    },
    /// The API (`group/version`) is served without CRDs, through an
    /// APIService (reports-server): CRDs would shadow it, so none are made.
    ServedWithoutCrds(String),
}

/// The schemas every report of `api` is checked against before it is
/// sent: those of the CRDs the server has for it (whoever installed them),
/// else polscan's own — a server that serves the API without CRDs
/// (reports-server, through API aggregation) has no schema to read.
/// Whether the API is served at all is discovery's question, not this one.
pub async fn schemas(
    client: &Client,
    api: ReportApi,
) -> Result<report_model::schema::ReportSchemas, ClusterError> {
    let [(namespaced, _), (cluster, _)] = api.crds();
    // A user without rights on CRDs still scans: the shipped schemas stand in.
    let read = |name| async move { get_crd(client, name).await.ok().flatten() };
    Ok(match (read(namespaced).await, read(cluster).await) {
        (Some(namespaced), Some(cluster)) => {
            report_model::schema::ReportSchemas::from_crds_of(api, &namespaced, &cluster)
        }
        _ => report_model::schema::ReportSchemas::shipped_for(api),
    })
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

/// Creates the CRDs of `api` that are missing and waits until they are
/// established; existing ones (perhaps Kyverno's) are never replaced.
pub async fn install_crds(
    client: &Client,
    api: ReportApi,
) -> Result<Vec<CrdOutcome>, ClusterError> {
    let mut existing = Vec::new();
    for (name, _) in api.crds() {
        existing.push(get_crd(client, name).await?);
    }
    if existing.iter().all(Option::is_none) {
        // Served already, or its discovery failed (an APIService whose
        // backend is down): an aggregated API, which CRDs would shadow.
        let discovered = super::discovery::discover(client).await?;
        if discovered.failed_group(api.group()).is_some() || served(&discovered, api).is_ok() {
            return Ok(vec![CrdOutcome::ServedWithoutCrds(
                api.api_version().to_string(),
            )]);
        }
    }
    let mut outcomes = Vec::new();
    for ((name, text), existing) in api.crds().into_iter().zip(existing) {
        if let Some(existing) = existing {
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
                        c.str_field("type") == Some("Established")
                            && c.str_field("status") == Some("True")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn discovered(served: &[(&str, &str, &str)]) -> Discovered {
        let mut found = Discovered::default();
        for (group, version, kind) in served {
            found
                .group_versions
                .insert(crate::kinds::api_version_of(group, version));
            found.kinds.push(crate::kinds::ApiResource {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: format!("{}s", kind.to_lowercase()),
                namespaced: !kind.starts_with("Cluster"),
                verbs: vec!["list".into()],
            });
        }
        found
    }

    #[test]
    fn the_report_api_is_whichever_the_server_serves() {
        let wg = [
            ("wgpolicyk8s.io", "v1alpha2", "PolicyReport"),
            ("wgpolicyk8s.io", "v1alpha2", "ClusterPolicyReport"),
        ];
        let open = [
            ("openreports.io", "v1alpha1", "Report"),
            ("openreports.io", "v1alpha1", "ClusterReport"),
        ];
        let both = discovered(&[wg, open].concat());
        assert_eq!(resolve(None, &both), Ok(ReportApi::Wgpolicy));
        assert_eq!(
            resolve(Some(ReportApi::OpenReports), &both),
            Ok(ReportApi::OpenReports)
        );
        // Only OpenReports (a Kyverno 1.15+ install, or reports-server):
        // auto takes it; asking for wgpolicyk8s is an error naming it.
        let only_open = discovered(&open);
        assert_eq!(resolve(None, &only_open), Ok(ReportApi::OpenReports));
        let err = resolve(Some(ReportApi::Wgpolicy), &only_open).unwrap_err();
        assert!(err.contains("wgpolicyk8s.io is not served"), "{err}");
        assert!(err.contains("run `polscan install-crds`"), "{err}");
        // Nothing served: both named.
        let err = resolve(None, &Discovered::default()).unwrap_err();
        assert!(
            err.contains("wgpolicyk8s.io is not served; openreports.io is not served"),
            "{err}"
        );
        // A CRD serving another version only, or one kind only.
        let other_version = discovered(&[
            ("wgpolicyk8s.io", "v1beta1", "PolicyReport"),
            ("wgpolicyk8s.io", "v1beta1", "ClusterPolicyReport"),
        ]);
        let err = resolve(Some(ReportApi::Wgpolicy), &other_version).unwrap_err();
        assert!(
            err.contains(
                "served only as wgpolicyk8s.io/v1beta1; polscan writes wgpolicyk8s.io/v1alpha2"
            ),
            "{err}"
        );
        let half = discovered(&wg[..1]);
        let err = resolve(Some(ReportApi::Wgpolicy), &half).unwrap_err();
        assert!(err.contains("serves no ClusterPolicyReport"), "{err}");
        // reports-server down: its group's discovery fails. auto does not
        // fall back to the other API (its reports would be written twice).
        let mut down = discovered(&open);
        down.failed.push((
            "wgpolicyk8s.io/v1alpha2".into(),
            ClusterError::Status {
                what: "discovering /apis/wgpolicyk8s.io/v1alpha2".into(),
                code: 503,
                reason: "ServiceUnavailable".into(),
                message: "service unavailable".into(),
            },
        ));
        let err = resolve(None, &down).unwrap_err();
        assert!(
            err.starts_with("the report API wgpolicyk8s.io/v1alpha2 could not be discovered"),
            "{err}"
        );
        assert_eq!(
            resolve(Some(ReportApi::OpenReports), &down),
            Ok(ReportApi::OpenReports)
        );
    }

    #[test]
    fn existing_reports_are_listed_from_the_watch_cache_in_one_request() {
        let request = kube::core::Request::new(
            report_resource(ReportApi::Wgpolicy, false).collection_path(None),
        )
        .list_metadata(&from_watch_cache())
        .unwrap();
        let query = request.uri().query().unwrap_or_default().to_string();
        assert!(query.contains("resourceVersion=0"), "{query}");
        assert!(!query.contains("limit="), "{query}");
        let accept = request.headers()["accept"].to_str().unwrap();
        assert!(accept.contains("as=PartialObjectMetadataList"), "{accept}");
    }

    #[test]
    fn a_metadata_list_keeps_what_the_plan_reads_and_tolerates_nulls() {
        let answer = serde_json::json!({
            "kind": "PartialObjectMetadataList",
            "metadata": {"resourceVersion": "42", "continue": ""},
            "items": [
                {"metadata": {
                    "name": "polscan-0b9f", "namespace": "shop",
                    "labels": {"app.kubernetes.io/managed-by": "polscan"},
                    "annotations": {"polscan.io/content-sha256": "abc"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "1"}],
                    "managedFields": [{"manager": "polscan", "fieldsV1": {"f:results": {}}}]
                }},
                {"metadata": {"name": "kyverno-report", "namespace": "shop", "labels": null}},
                null,
                {}
            ]
        });
        let list: MetadataList = serde_json::from_value(answer).unwrap();
        let found: Vec<ExistingReport> = list.items.map(|items| items.0).unwrap_or_default();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].key.name, "polscan-0b9f");
        assert_eq!(found[0].key.namespace, "shop");
        assert!(found[0].managed_by_polscan());
        assert_eq!(found[0].content_hash.as_deref(), Some("abc"));
        assert_eq!(
            found[0].scope_kind,
            Some(("apps".to_string(), "Deployment".to_string()))
        );
        // The owner's name, which a shard of a sharded scan owns a
        // ClusterPolicyReport by, is read whatever the list.
        assert_eq!(found[0].scope_name.as_deref(), Some("web"));
        assert!(found[1].managed_by.is_none() && !found[1].managed_by_polscan());
        assert_eq!(found[2].key.name, "");
        let cluster = existing_from_metadata(
            serde_json::from_value(
                serde_json::json!({"metadata": {"name": "c", "namespace": "x"}}),
            )
            .unwrap(),
            true,
        );
        assert_eq!(
            cluster.key.namespace, "",
            "cluster-scoped reports have no namespace"
        );
    }

    #[test]
    fn a_report_whose_body_another_manager_changed_is_neither_unchanged_nor_reused() {
        let item = |managed: serde_json::Value| {
            existing_from_metadata(
                serde_json::from_value(serde_json::json!({"metadata": {
                    "name": "polscan-0b9f", "namespace": "shop",
                    "annotations": {
                        "polscan.io/content-sha256": "abc",
                        "polscan.io/inputs": "seal",
                        "polscan.io/results-by-rule": "{}"
                    },
                    "managedFields": managed
                }}))
                .unwrap(),
                false,
            )
        };
        // walk25 F15: `kubectl edit` of the results keeps the annotations.
        let edited = item(serde_json::json!([
            {"manager": "polscan", "operation": "Apply", "fieldsV1": {"f:metadata": {}, "f:results": {}}},
            {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:results": {}, "f:summary": {"f:fail": {}}}}
        ]));
        assert_eq!(
            edited.content_hash.as_deref(),
            Some("edited by kubectl-edit")
        );
        assert_eq!(edited.inputs, None);
        assert_eq!(edited.results_by_rule, None);
        // A label or annotation of someone else's leaves the body polscan's.
        let labelled = item(serde_json::json!([
            {"manager": "polscan", "fieldsV1": {"f:metadata": {}, "f:results": {}}},
            {"manager": "kubectl-label", "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}}
        ]));
        assert_eq!(labelled.content_hash.as_deref(), Some("abc"));
        assert_eq!(labelled.inputs.as_deref(), Some("seal"));
        let own = item(serde_json::json!([{"manager": "polscan", "fieldsV1": {"f:results": {}}}]));
        assert_eq!(own.content_hash.as_deref(), Some("abc"));
    }
}
