//! One scan and its record: what `polscan scan` runs once and `scan
//! --interval` runs in a loop (`long_running`). A client, the scan's options
//! and where to record the run enter; the outcome (or the error that
//! stopped it), whether recording failed, and the one-line counts leave.

use std::time::Duration;

use anyhow::Context;

use super::args::deadline_text;
use super::output;
use polscan::cluster::{run_record, ClusterError};
use polscan::scan::progress::ProgressSnapshot;
use polscan::scan::{self, last_run, ScanOptions, ScanOutcome};

/// Whether the scan was refused for `--include-kinds` naming no served
/// kind or `--namespace` no namespace: a mistyped command line, so no
/// scan ran.
pub(super) fn refused(err: &anyhow::Error) -> bool {
    matches!(
        err.downcast_ref::<scan::ScanError>(),
        Some(scan::ScanError::UnknownNames(_))
    )
}

/// One scan, and its record in the last-run ConfigMap when asked (with the
/// shard and `run_id` it belongs to). Returns the outcome and whether
/// recording failed.
pub(super) async fn scan_once(
    client: &kube::Client,
    server: &str,
    options: ScanOptions,
    record_to: Option<&(String, String)>,
    dry_run: bool,
    run_id: Option<&str>,
    deadline: Duration,
) -> (anyhow::Result<ScanOutcome>, bool) {
    let started = polscan::clock::now();
    let shard = options.filters.shard;
    let progress = options.progress.clone();
    // The check and the scan end at the deadline: the scan's future is
    // dropped there, with its listers and writer, so nothing is written or
    // deleted after it (the prune runs last, after every write).
    // Whether the deadline came while the record's ConfigMap was read.
    let checking_record = std::cell::Cell::new(false);
    let bounded = tokio::time::timeout(deadline, async {
        // A record that cannot be written is found out before the scan
        // writes any report, not after it: the run stops with nothing
        // changed.
        if let (Some((namespace, name)), false) = (record_to, dry_run) {
            checking_record.set(true);
            if let Err(err) = run_record::check_writable(client, namespace, name).await {
                return Err(not_recordable(err, server, namespace, name));
            }
            checking_record.set(false);
        }
        Ok(scan::scan(client.clone(), options)
            .await
            .with_context(|| format!("scanning the cluster at {server}")))
    })
    .await;
    let outcome = match bounded {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(not_recordable)) => return (Err(not_recordable), true),
        Err(_) => {
            let mut at = progress.snapshot();
            if let (true, Some((namespace, name))) = (checking_record.get(), record_to) {
                at.phase = format!("{CHECKING_RECORD} {namespace}/{name}");
            }
            Err(anyhow::anyhow!(deadline_reached(deadline, &at))
                .context(format!("scanning the cluster at {server}")))
        }
    };
    let mut record_failed = false;
    // A mistyped command line ran no scan: the last record stays.
    let refused = outcome.as_ref().err().is_some_and(refused);
    if let (Some((namespace, name)), false, false) = (record_to, dry_run, refused) {
        let recorded = tokio::time::timeout(
            RECORD_GRACE,
            record(client, (namespace, name), &outcome, started, shard, run_id),
        )
        .await;
        record_failed = match recorded {
            Ok(failed) => failed,
            Err(_) => {
                eprintln!(
                    "warning: the run was not recorded: ConfigMap {namespace}/{name} could not be written within {}s",
                    RECORD_GRACE.as_secs()
                );
                true
            }
        };
    }
    (outcome, record_failed)
}

/// How long recording the run may take after the scan (its deadline
/// reached or not): the record of a scan stopped by an unreachable server
/// must not hold the exit up for long.
const RECORD_GRACE: Duration = Duration::from_secs(10);

/// Why the run cannot be recorded, as the error that stops it before
/// anything is scanned.
fn not_recordable(err: ClusterError, server: &str, namespace: &str, name: &str) -> anyhow::Error {
    // No answer at all: the server is the problem, not the record.
    let context = match &err {
        ClusterError::Transport { .. } => {
            format!("scanning the cluster at {server}: the API server did not answer")
        }
        _ => format!(
            "--last-run-configmap {namespace}/{name}: the run could not be recorded, so nothing was scanned"
        ),
    };
    anyhow::Error::new(err).context(context)
}

/// The step before the scan, as [`deadline_reached`] names it.
const CHECKING_RECORD: &str = "reading the run record's ConfigMap (to check it can be written)";

/// The message of a scan stopped at its deadline: the step it was at (a
/// phase of [`scan::progress`] names the step that ended last) and how far
/// it got.
fn deadline_reached(deadline: Duration, at: &ProgressSnapshot) -> String {
    let step = match at.phase.as_str() {
        checking if checking.starts_with(CHECKING_RECORD) => checking,
        "" => "discovering the server's API",
        "discovered" => "reading the policies",
        "policies read" | "listing and evaluating" | "existing reports read" => {
            "listing and evaluating"
        }
        "listed and evaluated" => "writing PolicyReports and deleting stale ones",
        _ => "finishing",
    };
    format!(
        "deadline {} (--timeout) reached while {step}: {} of {} LISTs done, {} objects evaluated, {} reports written, {} deleted; the scan stopped there, so no other report was written or deleted",
        deadline_text(deadline),
        at.lists_done,
        at.lists_total,
        at.objects_evaluated,
        at.reports_written,
        at.reports_deleted,
    )
}

/// Records the run in `namespace/name` (and the soak history beside it
/// when it completed); true when the record could not be written.
async fn record(
    client: &kube::Client,
    (namespace, name): (&str, &str),
    outcome: &anyhow::Result<ScanOutcome>,
    started: chrono::DateTime<chrono::Utc>,
    shard: Option<polscan::scan::shard::Shard>,
    run_id: Option<&str>,
) -> bool {
    let mut record_failed = false;
    {
        let error_text = outcome.as_ref().err().map(super::error_text);
        let result = match &error_text {
            Some(text) => Err(text.as_str()),
            None => outcome.as_ref().map_err(|_| ""),
        };
        let mut record =
            last_run::config_map(namespace, name, result, started, polscan::clock::now());
        last_run::stamp_run(&mut record, shard, run_id);
        if let Ok(outcome) = &outcome {
            let history_error =
                append_history(client, (namespace, name), started, shard, run_id, outcome).await;
            if let (Some(error), Some(data)) = (
                history_error,
                record.get_mut("data").and_then(|d| d.as_object_mut()),
            ) {
                data.insert(last_run::keys::HISTORY_ERROR.into(), error.into());
            }
        }
        match run_record::write(client, namespace, name, &record).await {
            Ok(run_record::Written::Recorded {
                same_run_before: None,
            }) => {}
            Ok(run_record::Written::Recorded {
                same_run_before: Some(before),
            }) => eprintln!(
                "warning: ConfigMap {namespace}/{name} held a record of the same run id started at {before}: a retried shard, or a run id given to two runs; each run needs its own, or evidence may take shards of two runs for one"
            ),
            // Runs overlapped; the later one's record is the evidence.
            Ok(run_record::Written::NewerKept { started }) => eprintln!(
                "warning: this run's record was not written: ConfigMap {namespace}/{name} holds the record of a run that started later ({started})"
            ),
            Err(err) => {
                eprintln!("warning: the run was not recorded: {err}");
                record_failed = true;
            }
        }
    }
    record_failed
}

/// Appends the run's scans of its policies to the soak history beside the
/// record (`<name>-history`; a shard's to its run's: `name` without the
/// `-<I>`), printing warnings. Returns why it failed, for the record: the
/// reports are written all the same, but the evidence will miss this scan.
async fn append_history(
    client: &kube::Client,
    (namespace, record_name): (&str, &str),
    started: chrono::DateTime<chrono::Utc>,
    shard: Option<polscan::scan::shard::Shard>,
    run_id: Option<&str>,
    outcome: &ScanOutcome,
) -> Option<String> {
    let (base, shard_of) = match (shard, run_id) {
        (Some(shard), Some(run_id)) => (
            record_name
                .strip_suffix(&format!("-{}", shard.index))
                .unwrap_or(record_name),
            Some(last_run::ShardOf {
                run_id: run_id.to_string(),
                index: shard.index,
                count: shard.count,
            }),
        ),
        _ => (record_name, None),
    };
    let history = last_run::history_name(base);
    let scans = last_run::soak_scans(outcome);
    match run_record::append_history(
        client,
        namespace,
        &history,
        started,
        shard_of.as_ref(),
        &scans,
    )
    .await
    {
        Ok(warnings) => {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            None
        }
        Err(err) => {
            let text = format!(
                "this scan was not added to the soak history ConfigMap {namespace}/{history}: {err}"
            );
            eprintln!("warning: {text}");
            Some(text)
        }
    }
}

/// The one-line summary of a scan's counts.
pub(super) fn counts_line(outcome: &ScanOutcome) -> String {
    output::counts_summary(
        |status| outcome.status_counts.get(&status).copied().unwrap_or(0),
        outcome.audit.policies_evaluated,
        outcome.audit.resources_evaluated,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_reached_names_the_step_and_how_far_the_scan_got() {
        let at = ProgressSnapshot {
            phase: "listed and evaluated".into(),
            lists_total: 12,
            lists_done: 12,
            objects_evaluated: 300,
            reports_written: 7,
            reports_deleted: 0,
        };
        assert_eq!(
            deadline_reached(Duration::from_secs(120), &at),
            "deadline 2m (--timeout) reached while writing PolicyReports and deleting stale ones: 12 of 12 LISTs done, 300 objects evaluated, 7 reports written, 0 deleted; the scan stopped there, so no other report was written or deleted"
        );
        let listing = ProgressSnapshot {
            phase: "existing reports read".into(),
            lists_total: 12,
            lists_done: 3,
            ..ProgressSnapshot::default()
        };
        let checking = ProgressSnapshot {
            phase: format!("{CHECKING_RECORD} polscan-system/last"),
            ..ProgressSnapshot::default()
        };
        assert!(deadline_reached(Duration::from_secs(20), &checking).starts_with(
            "deadline 20s (--timeout) reached while reading the run record's ConfigMap (to check it can be written) polscan-system/last: 0 of 0"
        ));
        assert!(
            deadline_reached(Duration::from_secs(20), &listing).starts_with(
                "deadline 20s (--timeout) reached while listing and evaluating: 3 of 12 LISTs done"
            )
        );
    }
}
