//! One scan and its record: what `polscan scan` runs once and `scan
//! --interval` runs in a loop (`long_running`). A client, the scan's options
//! and where to record the run enter; the outcome (or the error that
//! stopped it), whether recording failed, and the one-line counts leave.

use anyhow::Context;

use super::output;
use polscan::cluster::{run_record, ClusterError};
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
) -> (anyhow::Result<ScanOutcome>, bool) {
    let started = polscan::clock::now();
    let shard = options.filters.shard;
    // A record that cannot be written is found out before the scan writes
    // any report, not after it: the run stops with nothing changed.
    if let (Some((namespace, name)), false) = (record_to, dry_run) {
        if let Err(err) = run_record::check_writable(client, namespace, name).await {
            // No answer at all: the server is the problem, not the record.
            let context = match &err {
                ClusterError::Transport { .. } => {
                    format!("scanning the cluster at {server}: the API server did not answer")
                }
                _ => format!(
                    "--last-run-configmap {namespace}/{name}: the run could not be recorded, so nothing was scanned"
                ),
            };
            let err = anyhow::Error::new(err).context(context);
            return (Err(err), true);
        }
    }
    let outcome = scan::scan(client.clone(), options)
        .await
        .with_context(|| format!("scanning the cluster at {server}"));
    let mut record_failed = false;
    // A mistyped command line ran no scan: the last record stays.
    let refused = outcome.as_ref().err().is_some_and(refused);
    if let (Some((namespace, name)), false, false) = (record_to, dry_run, refused) {
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
    (outcome, record_failed)
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
