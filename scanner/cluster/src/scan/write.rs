//! Writes and deletes, carried out: reports the decisions send (a stream
//! while pages are evaluated, or one batch) enter, with the report store;
//! what was written, kept by carry-over, or failed leaves ([`WriteTally`]).
//! Deletions follow the plan, and a move between report APIs deletes
//! polscan's reports from the one left.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;
use kube::Client;
use polscan_engine::ValueExt;
use report_model::schema::{ReportSchemas, SchemaError};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::cluster::discovery;
use crate::cluster::report_store::{self, ReportStore};
use crate::cluster::ClusterError;
use crate::reconcile::deleted_policies::{self, KeptReportEdit};
use crate::reconcile::wanted::WantedReport;
use crate::reconcile::ReportKey;

use super::progress::ScanProgress;
use super::{ScanOptions, ScanOutcome};

/// A report that does not fit its CRD schema or the server's size limit,
/// as the run's failure (logged once).
pub(super) fn not_sent(key: &ReportKey, err: SchemaError) -> ClusterError {
    let what = if key.cluster_scoped {
        format!("ClusterPolicyReport {}", key.name)
    } else {
        format!("PolicyReport {}/{}", key.namespace, key.name)
    };
    // Debug: the run's problems say it, once per cause.
    tracing::debug!(report = %what, error = %err, "report does not fit its CRD schema or the server's size limit; not written, the stored one is kept");
    ClusterError::NotSent {
        what,
        message: err.to_string(),
    }
}

/// A report on its way to the writer.
pub(super) struct Outgoing {
    pub(super) key: ReportKey,
    pub(super) report: WantedReport,
    /// A polscan report of this name is stored already.
    pub(super) stored: bool,
}

/// What the writers did.
#[derive(Debug, Default)]
pub(super) struct WriteTally {
    pub(super) written: usize,
    pub(super) results_kept: usize,
    pub(super) unchanged_after_carry_over: usize,
    pub(super) failures: Vec<ClusterError>,
    /// The reports whose write failed.
    pub(super) failed: Vec<ReportKey>,
}

/// Writes one report. With `carry_over` (the policies this run has, set
/// when some policy is missing) a stored report is read first and its
/// results of every other policy are kept in the new one, so a run that
/// lacks a policy never rewrites that policy's evidence away; when the
/// merged report equals the stored one, nothing is written. Returns whether
/// it wrote and how many results it carried over.
pub(super) async fn apply_one(
    store: &ReportStore,
    outgoing: Outgoing,
    progress: &ScanProgress,
    carry_over: Option<(&BTreeSet<String>, &ReportSchemas)>,
) -> Result<(bool, usize), ClusterError> {
    let Outgoing {
        key,
        mut report,
        stored,
    } = outgoing;
    let mut kept = 0;
    if let (Some((loaded, schemas)), true) = (carry_over, stored) {
        if let Some(existing) = store.get(&key).await? {
            kept = report
                .carry_over(&existing, loaded)
                .map_err(|err| ClusterError::Transport {
                    what: format!("reading the stored results of report {}", key.name),
                    message: err.to_string(),
                })?;
            if kept > 0 && report.content_hash() == stored_hash(&existing) {
                return Ok((false, kept));
            }
            report
                .check_schema(schemas)
                .map_err(|err| not_sent(&key, err))?;
        }
    }
    match &report {
        WantedReport::Namespaced(report) => store.apply(&key, report).await?,
        WantedReport::Cluster(report) => store.apply(&key, report).await?,
    }
    progress.written();
    Ok((true, kept))
}

pub(super) fn stored_hash(stored: &Value) -> Option<String> {
    stored
        .annotation(report_model::CONTENT_HASH_ANNOTATION)
        .map(str::to_string)
}

/// Applies reports as they arrive on `reports`, `concurrency` at a time.
pub(super) async fn write_stream(
    store: ReportStore,
    reports: mpsc::Receiver<Outgoing>,
    concurrency: usize,
    progress: Arc<ScanProgress>,
    carry_over: Option<Arc<BTreeSet<String>>>,
    schemas: Arc<ReportSchemas>,
) -> WriteTally {
    let incoming = futures::stream::unfold(reports, |mut reports| async move {
        reports.recv().await.map(|item| (item, reports))
    });
    let results = incoming
        .map(|outgoing| {
            let store = store.clone();
            let progress = progress.clone();
            let carry_over = carry_over.clone();
            let schemas = schemas.clone();
            async move {
                let carry_over = carry_over.as_deref().map(|loaded| (loaded, &*schemas));
                let key = outgoing.key.clone();
                (
                    key,
                    apply_one(&store, outgoing, &progress, carry_over).await,
                )
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    tally_writes(results)
}

pub(super) async fn write_all(
    store: &ReportStore,
    reports: Vec<(ReportKey, WantedReport)>,
    concurrency: usize,
    progress: &ScanProgress,
) -> WriteTally {
    let results = futures::stream::iter(reports)
        .map(|(key, report)| {
            let outgoing = Outgoing {
                key: key.clone(),
                report,
                stored: false,
            };
            async move { (key, apply_one(store, outgoing, progress, None).await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    tally_writes(results)
}

/// One write's result: whether it wrote, how many results it carried over.
type Written = Result<(bool, usize), ClusterError>;

/// [`tally`] of writes, with the keys of those that failed.
fn tally_writes(results: Vec<(ReportKey, Written)>) -> WriteTally {
    let failed = results
        .iter()
        .filter(|(_, result)| result.is_err())
        .map(|(key, _)| key.clone())
        .collect();
    let mut tally = tally(results.into_iter().map(|(_, result)| result).collect());
    tally.failed = failed;
    tally
}

pub(super) fn tally(results: Vec<Result<(bool, usize), ClusterError>>) -> WriteTally {
    let mut tally = WriteTally::default();
    for result in results {
        match result {
            Ok((written, kept)) => {
                tally.written += usize::from(written);
                tally.results_kept += kept;
                tally.unchanged_after_carry_over += usize::from(!written && kept > 0);
            }
            Err(err) => {
                // Each one for -v; the run's problems group them by cause.
                tracing::debug!(error = %err, "write or delete failed");
                tally.failures.push(err);
            }
        }
    }
    tally
}

/// Rewrites the reports this run keeps (kinds it did not list, or whose
/// LIST failed) without the results of policies no longer in the cluster,
/// deleting those left without results ([`deleted_policies`]): `existing`
/// is None when the run does not know every policy, and then nothing is
/// read or changed. Each report is read first (the stored reports were
/// listed by metadata only) and written back on the version read.
pub(super) async fn drop_deleted_policies(
    store: &ReportStore,
    outcome: &mut ScanOutcome,
    existing: Option<&deleted_policies::ExistingPolicies>,
    concurrency: usize,
    progress: &ScanProgress,
) {
    let Some(existing) = existing else {
        return;
    };
    let api = outcome.report_api;
    let edits = futures::stream::iter(outcome.plan.kept_after_failed_list.clone())
        .map(|key| async move {
            let Some(stored) = store.get(&key).await? else {
                return Ok((key, KeptReportEdit::Unchanged));
            };
            let edit = deleted_policies::without_deleted_policies(&key, &stored, api, existing)
                .map_err(|err| ClusterError::Transport {
                    what: format!(
                        "reading the stored results of {}",
                        report_store::describe(api, &key)
                    ),
                    message: err.to_string(),
                })?;
            match &edit {
                KeptReportEdit::Unchanged => {}
                KeptReportEdit::Rewrite { report, .. } => {
                    match report.as_ref() {
                        WantedReport::Namespaced(report) => store.apply(&key, report).await?,
                        WantedReport::Cluster(report) => store.apply(&key, report).await?,
                    }
                    progress.written();
                }
                KeptReportEdit::Delete { .. } => {
                    store.delete(&key).await?;
                    progress.deleted();
                }
            }
            Ok::<_, ClusterError>((key, edit))
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut deleted = BTreeSet::new();
    for edit in edits {
        match edit {
            Ok((_, KeptReportEdit::Unchanged)) => {}
            Ok((_, KeptReportEdit::Rewrite { removed, .. })) => {
                outcome.deleted_policies.reports_rewritten += 1;
                outcome.deleted_policies.results_dropped += removed;
            }
            Ok((key, KeptReportEdit::Delete { removed })) => {
                outcome.deleted_policies.reports_deleted += 1;
                outcome.deleted_policies.results_dropped += removed;
                deleted.insert(key);
            }
            Err(err) => {
                tracing::debug!(error = %err, "a kept report could not be rid of deleted policies' results");
                outcome.write_failures.push(err);
            }
        }
    }
    // A deleted report is no longer kept: the kept count stays true.
    outcome
        .plan
        .kept_after_failed_list
        .retain(|key| !deleted.contains(key));
    outcome.deletes += deleted.len();
}

/// Deletes the plan's stale reports, but those in a namespace (or, cluster
/// scoped, the cluster) where a report this run wanted was not written:
/// they may be what it was to replace ([`ScanOutcome::unwritten`]).
pub(super) async fn delete_stale(
    store: &ReportStore,
    outcome: &mut ScanOutcome,
    concurrency: usize,
    progress: &ScanProgress,
) {
    let (held, delete) = held_back_deletes(&outcome.plan.delete, &outcome.unwritten);
    // Said in the closing lines (`deletes_held`); each one for -v.
    for key in &held {
        tracing::debug!(report = ?key, "stale report kept: a report of its namespace was not written");
    }
    outcome.deletes_held += held.len();
    outcome.plan.delete = delete;
    let tally = delete_all(store, &outcome.plan.delete, concurrency, progress).await;
    outcome.deletes += tally.written;
    outcome.write_failures.extend(tally.failures);
}

/// `delete` split into those held (a key of `unwritten` is in the same
/// namespace, or both are cluster scoped) and those to delete.
fn held_back_deletes(
    delete: &[ReportKey],
    unwritten: &BTreeSet<ReportKey>,
) -> (Vec<ReportKey>, Vec<ReportKey>) {
    delete.iter().cloned().partition(|key| {
        unwritten
            .iter()
            .any(|u| u.cluster_scoped == key.cluster_scoped && u.namespace == key.namespace)
    })
}

/// Deletes `keys` from `store`, `concurrency` at a time.
pub(super) async fn delete_all(
    store: &ReportStore,
    keys: &[ReportKey],
    concurrency: usize,
    progress: &ScanProgress,
) -> WriteTally {
    let results = futures::stream::iter(keys)
        .map(|key| async move {
            store.delete(key).await?;
            progress.deleted();
            Ok((true, 0))
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    tally(results)
}

/// After a move to the other report API (`--report-api`, or `auto` once
/// the other was installed), polscan's reports left in the API no longer
/// written would be read beside the new ones. Once a complete run, with
/// every policy, has written all of its reports to the API in use, those
/// this run covers (its namespaces, its shard) are deleted from the other,
/// by the same rule as stale reports: a run that missed anything keeps
/// them.
pub(super) async fn leave_the_other_api(
    client: &Client,
    discovered: &discovery::Discovered,
    options: &ScanOptions,
    outcome: &mut ScanOutcome,
    per_namespace_reports: bool,
) {
    let other = outcome.report_api.other();
    if !outcome.complete()
        || outcome.policy_set_partial
        || report_store::served(discovered, other).is_err()
    {
        return;
    }
    let store = ReportStore::new(client.clone(), other);
    // Only polscan's, selected by the server: the other API may hold many
    // reports of another producer (Kyverno's), read for nothing otherwise.
    let left = match store.list_polscan_reports().await {
        Ok(left) => left,
        Err(err) => {
            outcome.write_failures.push(err);
            return;
        }
    };
    let stale: Vec<ReportKey> = left
        .into_iter()
        // Checked again: deleting another producer's report is never right.
        .filter(|r| r.managed_by_polscan())
        .filter(|r| options.filters.covers_report(r, per_namespace_reports))
        .map(|r| r.key)
        .collect();
    if stale.is_empty() {
        return;
    }
    tracing::info!(
        count = stale.len(),
        api = other.api_version(),
        "deleting polscan's reports left in the report API no longer written to"
    );
    let tally = delete_all(&store, &stale, options.write_concurrency, &options.progress).await;
    outcome.deletes += tally.written;
    outcome.other_api_deleted = tally.written;
    outcome.write_failures.extend(tally.failures);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(namespace: &str, name: &str) -> ReportKey {
        ReportKey {
            cluster_scoped: namespace.is_empty(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// fault17 F17-3: a namespace whose new report was not written keeps
    /// its stale ones; other namespaces, and the cluster's, are pruned.
    #[test]
    fn a_namespace_with_an_unwritten_report_keeps_its_stale_ones() {
        let delete = vec![
            key("ctl", "old-1"),
            key("ctl", "old-2"),
            key("web", "old-3"),
            key("", "cluster-old"),
        ];
        let unwritten: BTreeSet<ReportKey> = [key("ctl", "polscan-ns-0")].into();
        let (held, deleted) = held_back_deletes(&delete, &unwritten);
        assert_eq!(held, [key("ctl", "old-1"), key("ctl", "old-2")]);
        assert_eq!(deleted, [key("web", "old-3"), key("", "cluster-old")]);
        let unwritten: BTreeSet<ReportKey> = [key("", "cluster-new")].into();
        let (held, deleted) = held_back_deletes(&delete, &unwritten);
        assert_eq!(held, [key("", "cluster-old")]);
        assert_eq!(deleted.len(), 3);
        let (held, deleted) = held_back_deletes(&delete, &BTreeSet::new());
        assert!(held.is_empty());
        assert_eq!(deleted, delete);
    }
}
