//! One scan and its record: what `polscan scan` runs once and `scan
//! --interval` runs in a loop (`long_running`). A client, the scan's options
//! and where to record the run enter; the outcome (or the error that
//! stopped it), whether recording failed, and the one-line counts leave.

use std::time::Duration;

use anyhow::Context;

use super::args::deadline_text;
use super::diag::say;
use super::output;
use super::stop::Stop;
use polscan::cluster::{lease, run_record, ClusterError};
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

/// What ends a scan or holds it off: its deadline, the wait for another
/// scan's Lease, a stop.
pub(super) struct Bounds {
    /// How long the scan may take (`--timeout`).
    pub deadline: Duration,
    /// How long to wait for a Lease another scan holds (`--lock-timeout`).
    pub lock_timeout: Duration,
    /// SIGTERM or Ctrl-C: the scan stops, records itself incomplete and
    /// releases its Lease.
    pub stop: Stop,
}

/// One scan, and its record in the last-run ConfigMap when asked (with the
/// shard and `run_id` it belongs to). Recording, it first takes the
/// record's Lease (waiting up to the lock timeout while another scan holds
/// it) and writes the record as in progress, before any report write;
/// then the scan, stopped early by its deadline, SIGTERM or losing the
/// Lease; then the record of how it ended, and the Lease is released.
/// Returns the outcome and whether recording failed.
pub(super) async fn scan_once(
    client: &kube::Client,
    server: &str,
    options: ScanOptions,
    record_to: Option<&(String, String)>,
    dry_run: bool,
    run_id: Option<&str>,
    bounds: &mut Bounds,
) -> (anyhow::Result<ScanOutcome>, bool) {
    let deadline = bounds.deadline;
    // The deadline counts from here (the monotonic clock, as its timeout).
    let begun = tokio::time::Instant::now();
    let started = polscan::clock::now();
    let shard = options.filters.shard;
    let progress = options.progress.clone();
    // A run stopped before its outcome still records the exceptions it
    // was set to apply and the namespaces it was set to cover.
    let scope = StoppedScope {
        exceptions: options.exceptions.clone(),
        namespaces: options.filters.namespaces.clone(),
        excluded_namespaces: options.filters.exclude_namespaces.clone(),
    };
    // Nothing is written before the Lease is held (its wait is bounded by
    // the lock timeout, not the scan's deadline) and the record says the
    // run is in progress: a scan killed from then on leaves a record every
    // reader takes for an unfinished scan, not the last run's "complete".
    let mut held = None;
    // The record the in-progress one replaces, put back if no scan ran.
    let mut previous = None;
    // Why the gap of a run missing from the soak history could not be
    // added: this run's record says so, so the next run adds a gap at
    // this run's start (which ends any streak the lost gap would have).
    let mut gap_error = None;
    // The check and the scan end at the deadline: the scan's future is
    // dropped there, with its listers and writer, so nothing is written or
    // deleted after it (the prune runs last, after every write).
    // The step before the scan the deadline came in, if it did.
    let checking_record = std::cell::Cell::new(None);
    let bounded = tokio::time::timeout(deadline, async {
        // A record that cannot be written is found out before the scan
        // writes any report, not after it: the run stops with nothing
        // changed.
        if let (Some((namespace, name)), false) = (record_to, dry_run) {
            // A mistyped name is refused before the Lease wait: nothing
            // recorded, the last record as it was.
            if let Err(unknown) = scan::check_names(client, &options.filters).await {
                return Ok(Err(anyhow::Error::from(unknown)));
            }
            checking_record.set(Some(WAITING_FOR_LEASE));
            let left = deadline.saturating_sub(begun.elapsed());
            held = Some(
                take_lease(
                    client,
                    server,
                    (namespace, name),
                    run_id,
                    started,
                    (bounds, left),
                )
                .await?,
            );
            checking_record.set(Some(CHECKING_RECORD));
            let mut record = last_run::in_progress(namespace, name, started);
            last_run::stamp_run(&mut record, shard, run_id);
            previous = match run_record::read(client, namespace, name).await {
                Ok(stored) => stored,
                Err(err) => return Err(not_recordable(err, server, namespace, name)),
            };
            match run_record::write(client, namespace, name, &record).await {
                // The final write meets it again, and says so once.
                Ok(run_record::Written::NewerKept { .. }) => {}
                Ok(written) => {
                    warn_written(&written, namespace, name);
                }
                Err(err) => return Err(not_recordable(err, server, namespace, name)),
            }
            gap_error = add_gaps(client, (namespace, name), shard, run_id, previous.as_ref()).await;
            checking_record.set(None);
        }
        Ok(tokio::select! {
            outcome = scan::scan(client.clone(), options) => {
                outcome.with_context(|| format!("scanning the cluster at {server}"))
            }
            _ = bounds.stop.requested() => Err(anyhow::anyhow!(stopped_text(&progress.snapshot()))),
            why = lost(held.as_mut()) => Err(anyhow::anyhow!(
                "{why}; the scan was stopped: its reports may mix with another scan's"
            )),
        })
    })
    .await;
    let outcome = match bounded {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(not_recordable)) => {
            if held.is_none() {
                // Not necessarily another scan's doing (walk79: read so
                // with the server down): the cause is the error below.
                say!("warning: the run was not recorded: it stopped before it held the run's Lease (the error below says why)");
            }
            release(held, tokio::time::Instant::now() + RECORD_GRACE).await;
            return (Err(not_recordable), true);
        }
        Err(_) => {
            let mut at = progress.snapshot();
            if let (Some(step), Some((namespace, name))) = (checking_record.get(), record_to) {
                at.phase = format!("{step} {namespace}/{name}");
            }
            Err(anyhow::anyhow!(deadline_reached(deadline, &at))
                .context(format!("scanning the cluster at {server}")))
        }
    };
    if let (Ok(outcome), Some(previous)) = (&outcome, &previous) {
        if let Some(line) = policies_gone_line(previous, outcome) {
            say!("{line}");
        }
    }
    let mut record_failed = false;
    // A mistyped command line ran no scan: the last record stays.
    let refused = outcome.as_ref().err().is_some_and(refused);
    // Without the Lease (the deadline came while waiting for it) nothing
    // may be written: another scan may hold it.
    let recording = record_to.filter(|_| !dry_run && held.is_some());
    if let (Some((namespace, name)), false, false) = (record_to, dry_run, refused) {
        if held.is_none() {
            say!("warning: the run was not recorded: it stopped before it held the run's Lease of {namespace}/{name} (the error below says why)");
        }
    }
    if let (Some((namespace, name)), true) = (recording, refused) {
        if let Err(err) = run_record::restore(client, namespace, name, previous.as_ref()).await {
            say!("warning: the last run's record could not be put back ({err}): it says a scan is in progress until the next one");
            record_failed = true;
        }
    }
    // One grace for the record and the Lease's release together (fault17
    // F17-5: with etcd down each waited its own 10 s, twice the bound).
    let grace_ends = tokio::time::Instant::now() + RECORD_GRACE;
    if let (Some((namespace, name)), false) = (recording, refused) {
        let recorded = tokio::time::timeout_at(
            grace_ends,
            record(
                client,
                (namespace, name),
                (&outcome, &scope),
                (started, progress.snapshot().objects_evaluated, gap_error),
                shard,
                run_id,
            ),
        )
        .await;
        record_failed = match recorded {
            Ok(failed) => failed,
            Err(_) => {
                say!(
                    "warning: the run was not recorded: ConfigMap {namespace}/{name} could not be written within {}s",
                    RECORD_GRACE.as_secs()
                );
                true
            }
        };
    }
    release(held, grace_ends).await;
    (outcome, record_failed)
}

/// Takes the run's Lease (`<name>-lock` beside the record), waiting up to
/// the lock timeout, or until SIGTERM.
/// The policies the last recorded run read and this one did not
/// ([`last_run::policies_not_read_again`]), in one line; None when there
/// are none, or when this run could not read every policy (its missing
/// ones are said, and their results kept, elsewhere).
fn policies_gone_line(previous: &serde_json::Value, outcome: &ScanOutcome) -> Option<String> {
    if outcome.policies_incomplete || outcome.dry_run {
        return None;
    }
    let gone = last_run::policies_not_read_again(previous, &outcome.input_digests);
    if gone.is_empty() {
        return None;
    }
    let named = gone
        .iter()
        .map(|(policy, results)| match results {
            0 => policy.clone(),
            1 => format!("{policy} (1 result then)"),
            n => format!("{policy} ({n} results then)"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (what, were, they, its) = match gone.len() {
        1 => ("policy", "was", "it", "its"),
        _ => ("policies", "were", "they", "their"),
    };
    Some(format!(
        "note: {} {what} the last recorded run read {were} not read by this one: {named}. If {they} {were} deleted, nothing is wrong; if {they} {were} given to that run with --policy, give {} to every scan: the reports no longer hold {its} results",
        gone.len(),
        if gone.len() == 1 { "it" } else { "them" },
    ))
}

async fn take_lease(
    client: &kube::Client,
    server: &str,
    (namespace, name): (&str, &str),
    run_id: Option<&str>,
    started: chrono::DateTime<chrono::Utc>,
    (bounds, deadline_left): (&mut Bounds, Duration),
) -> anyhow::Result<lease::HeldLease> {
    let lease_name = lease::lease_name(name);
    let me = holder_identity(run_id, started);
    let mut notify = |message: String| say!("warning: {message}");
    tokio::select! {
        acquired = lease::acquire(
            client,
            namespace,
            &lease_name,
            &me,
            (bounds.lock_timeout, Some(deadline_left)),
            &mut notify,
        ) => acquired.map_err(|err| lock_error(err, server, namespace)),
        _ = bounds.stop.requested() => Err(anyhow::anyhow!(
            "stopped (SIGTERM or Ctrl-C) while waiting for Lease {namespace}/{lease_name}: nothing was scanned"
        )),
    }
}

/// Warns of a record written over one of the same run id, or not written
/// over a later run's; true when it was written.
fn warn_written(written: &run_record::Written, namespace: &str, name: &str) -> bool {
    match written {
        run_record::Written::Recorded {
            same_run_before: None,
        } => true,
        run_record::Written::Recorded {
            same_run_before: Some(before),
        } => {
            say!(
            "warning: ConfigMap {namespace}/{name} held a record of the same run id started at {before}: a retried shard, or a run id given to two runs; each run needs its own, or evidence may take shards of two runs for one"
            );
            true
        }
        // Runs overlapped (or clocks disagree); the later one's record is
        // the evidence.
        run_record::Written::NewerKept { started } => {
            say!(
                "warning: this run's record was not written: ConfigMap {namespace}/{name} holds the record of a run that started later ({started}; runs overlapped, or the clocks of the hosts that ran them disagree)"
            );
            false
        }
    }
}

/// Who holds the Lease, for the scan that waits for it: the pod (the host
/// name Kubernetes gives a pod is its name), the process and the run.
fn holder_identity(run_id: Option<&str>, started: chrono::DateTime<chrono::Utc>) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|host| host.trim().to_string())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    let run = run_id.map_or_else(
        || started.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        str::to_string,
    );
    format!("{host} pid {} run {run}", std::process::id())
}

/// The error of a Lease not acquired, saying what to do.
fn lock_error(err: lease::LeaseError, server: &str, namespace: &str) -> anyhow::Error {
    let context = match &err {
        lease::LeaseError::Held { .. } => {
            "another scan holds the run's Lease (--lock-timeout ran out): nothing was scanned or written; the next scan tries again".to_string()
        }
        lease::LeaseError::Cluster(ClusterError::Transport { .. }) => {
            format!("scanning the cluster at {server}: the API server did not answer")
        }
        lease::LeaseError::Cluster(cluster) if cluster.code() == Some(403) => format!(
            "polscan may not read or write Leases in namespace {namespace} (it needs get, create, update and delete on leases.coordination.k8s.io there, as deploy/base grants): without its Lease two scans could write reports at once under one record, so nothing was scanned"
        ),
        lease::LeaseError::Cluster(_) => {
            "the run's Lease could not be taken, so nothing was scanned".to_string()
        }
    };
    anyhow::Error::new(err).context(context)
}

/// Resolves when `held` is lost, with why; never without a Lease.
async fn lost(held: Option<&mut lease::HeldLease>) -> String {
    match held {
        Some(held) => held.lost().await,
        None => std::future::pending().await,
    }
}

/// Releases the Lease, if held, by `until`; a failure is a warning (it
/// expires).
async fn release(held: Option<lease::HeldLease>, until: tokio::time::Instant) {
    let Some(held) = held else { return };
    let name = held.lease();
    // Bounded with the record: the Lease expires anyway, and --timeout
    // must stay the scan's bound when the server does not answer.
    let why = match tokio::time::timeout_at(until, held.release()).await {
        Ok(Ok(())) => return,
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!(
            "no answer within the {}s after the scan",
            RECORD_GRACE.as_secs()
        ),
    };
    say!(
        "warning: Lease {name} could not be released ({why}): the next scan waits until it expires ({}s)",
        lease::LEASE_DURATION_SECONDS
    );
}

/// How long recording the run and releasing its Lease may take, together,
/// after the scan (its deadline reached or not): the record of a scan
/// stopped by an unreachable server must not hold the exit up for long.
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

/// Why a scan stopped by SIGTERM is incomplete, as far as it got (`at`).
fn stopped_text(at: &ProgressSnapshot) -> String {
    if at.reports_written == 0 && at.reports_deleted == 0 {
        "stopped by SIGTERM (or Ctrl-C) before the scan finished, before it wrote or deleted any report: the reports are still the previous run's".into()
    } else {
        format!(
            "stopped by SIGTERM (or Ctrl-C) before the scan finished, after {} reports written and {} deleted: its reports may mix this run's and the previous run's",
            at.reports_written, at.reports_deleted
        )
    }
}

/// The first step before the scan, as [`deadline_reached`] names it.
const WAITING_FOR_LEASE: &str = "waiting for (or taking) the run's Lease, beside";

/// The step before the scan, as [`deadline_reached`] names it.
const CHECKING_RECORD: &str = "writing the run record's ConfigMap as in progress";

/// LISTs not done a deadline message names before counting the rest.
const OPEN_LISTS_NAMED: usize = 5;

/// The message of a scan stopped at its deadline: the step it was at (a
/// phase of [`scan::progress`] names the step that ended last) and how far
/// it got.
fn deadline_reached(deadline: Duration, at: &ProgressSnapshot) -> String {
    let step = match at.phase.as_str() {
        checking
            if checking.starts_with(CHECKING_RECORD) || checking.starts_with(WAITING_FOR_LEASE) =>
        {
            checking
        }
        "" => "discovering the server's API",
        "discovered" => "reading the policies",
        "policies read" | "listing and evaluating" | "existing reports read" => {
            "listing and evaluating"
        }
        "listed and evaluated" => "writing PolicyReports and deleting stale ones",
        _ => "finishing",
    };
    // red22 F8: which LISTs it waited for, not only how many.
    let open = match at.lists_open.as_slice() {
        [] => String::new(),
        open if open.len() <= OPEN_LISTS_NAMED => format!(" (not done: {})", open.join(", ")),
        open => format!(
            " (not done: {} and {} more)",
            open[..OPEN_LISTS_NAMED].join(", "),
            open.len() - OPEN_LISTS_NAMED
        ),
    };
    format!(
        "deadline {} (--timeout) reached while {step}: {} of {} LISTs done{open}, {} objects evaluated, {} reports written, {} deleted; the scan stopped there, so no other report was written or deleted",
        deadline_text(deadline),
        at.lists_done,
        at.lists_total,
        at.objects_evaluated,
        at.reports_written,
        at.reports_deleted,
    )
}

/// What a scan was set to cover, recorded even when it stopped before its
/// outcome ([`last_run::stamp_scope`]).
struct StoppedScope {
    exceptions: scan::ExceptionScope,
    namespaces: Vec<String>,
    excluded_namespaces: Vec<String>,
}

/// Records the run in `namespace/name` (and the soak history beside it
/// when it completed), with the PolicyExceptions and namespaces it was set
/// to cover also when it stopped early, and how many objects it had
/// evaluated when it failed; `gap_error`: why the gap of the run before
/// could not be added to the history. True when the record could not be
/// written.
async fn record(
    client: &kube::Client,
    (namespace, name): (&str, &str),
    (outcome, scope): (&anyhow::Result<ScanOutcome>, &StoppedScope),
    (started, objects_evaluated, gap_error): (chrono::DateTime<chrono::Utc>, usize, Option<String>),
    shard: Option<polscan::scan::shard::Shard>,
    run_id: Option<&str>,
) -> bool {
    let record_failed;
    {
        let error_text = outcome.as_ref().err().map(super::error_text);
        let result = match &error_text {
            Some(text) => Err(text.as_str()),
            None => outcome.as_ref().map_err(|_| ""),
        };
        let mut record =
            last_run::config_map(namespace, name, result, started, polscan::clock::now());
        last_run::stamp_run(&mut record, shard, run_id);
        last_run::stamp_scope(
            &mut record,
            &scope.exceptions,
            &scope.namespaces,
            &scope.excluded_namespaces,
        );
        let mut history_errors: Vec<String> = gap_error.into_iter().collect();
        match &outcome {
            Ok(outcome) => history_errors.extend(
                append_history(client, (namespace, name), started, shard, run_id, outcome).await,
            ),
            // The next run adds this one to the history as a gap if it
            // evaluated anything.
            Err(_) => last_run::stamp_objects_evaluated(&mut record, objects_evaluated),
        }
        if let (false, Some(data)) = (
            history_errors.is_empty(),
            record.get_mut("data").and_then(|d| d.as_object_mut()),
        ) {
            data.insert(
                last_run::keys::HISTORY_ERROR.into(),
                history_errors.join("; ").into(),
            );
        }
        record_failed = match run_record::write(client, namespace, name, &record).await {
            // Not written over a later run's record: a CronJob's monitor
            // must see that this run left no evidence.
            Ok(written) => !warn_written(&written, namespace, name),
            Err(err) => {
                say!("warning: the run was not recorded: {err}");
                true
            }
        };
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
    let (history, shard_of) = history_of(record_name, shard, run_id);
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
                say!("warning: {warning}");
            }
            None
        }
        Err(err) => {
            let text = format!(
                "this scan was not added to the soak history ConfigMap {namespace}/{history}: {err}"
            );
            say!("warning: {text}");
            Some(text)
        }
    }
}

/// The soak history beside the record `record_name` (a shard's is its
/// run's: `record_name` without the `-<I>`), and the shard of a sharded
/// run this scan is.
fn history_of(
    record_name: &str,
    shard: Option<polscan::scan::shard::Shard>,
    run_id: Option<&str>,
) -> (String, Option<last_run::ShardOf>) {
    let base = record_base(record_name, shard, run_id);
    let shard_of = match (shard, run_id) {
        (Some(shard), Some(run_id)) => Some(last_run::ShardOf {
            run_id: run_id.to_string(),
            index: shard.index,
            count: shard.count,
        }),
        _ => None,
    };
    (last_run::history_name(base), shard_of)
}

/// The record name the history is named after: a shard's record without
/// its `-<I>`.
fn record_base<'a>(
    record_name: &'a str,
    shard: Option<polscan::scan::shard::Shard>,
    run_id: Option<&str>,
) -> &'a str {
    match (shard, run_id) {
        (Some(shard), Some(_)) => record_name
            .strip_suffix(&format!("-{}", shard.index))
            .unwrap_or(record_name),
        _ => record_name,
    }
}

/// Adds the runs that never reached the soak history to it as gaps
/// ([`last_run::unrecorded_run`]): the run of the record this one
/// replaces, and runs of another layout on the same record (unsharded
/// after sharded, or the reverse: their records are `base` and
/// `base-<I>`), whose records this run would not read otherwise. A
/// warning names each gap added: it restarts every policy's soak. Returns
/// why a gap could not be added, for this run's record.
async fn add_gaps(
    client: &kube::Client,
    (namespace, record_name): (&str, &str),
    shard: Option<polscan::scan::shard::Shard>,
    run_id: Option<&str>,
    previous: Option<&serde_json::Value>,
) -> Option<String> {
    let (history, _) = history_of(record_name, shard, run_id);
    let base = record_base(record_name, shard, run_id);
    let mut runs: Vec<_> = previous
        .and_then(last_run::unrecorded_run)
        .into_iter()
        .collect();
    match run_record::sibling_records(client, namespace, base, record_name).await {
        Ok(records) => runs.extend(records.iter().filter_map(last_run::unrecorded_run)),
        Err(err) => say!(
            "warning: the run records beside {namespace}/{record_name} (sharded or not, {base}-<I> or {base}) could not be listed, so a run of the other layout missing from the soak history is not found: {err}"
        ),
    }
    if runs.is_empty() {
        return None;
    }
    let at_text =
        |at: &chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match run_record::append_gaps(client, namespace, &history, &runs, polscan::clock::now()).await {
        Ok((warnings, added)) => {
            for warning in warnings {
                say!("warning: {warning}");
            }
            for ((at, reason), _) in runs.iter().zip(added).filter(|(_, added)| *added) {
                say!(
                    "warning: the scan that started at {} is missing from the soak history ({reason}): it is added to {namespace}/{history} as a gap, which restarts every policy's soak, since what that scan found is unknown",
                    at_text(at)
                );
            }
            None
        }
        Err(err) => {
            let starts: Vec<String> = runs.iter().map(|(at, _)| at_text(at)).collect();
            let text = format!(
                "the scan that started at {} is missing from the soak history ConfigMap {namespace}/{history}, and its gap could not be added: {err}",
                starts.join(", ")
            );
            say!("warning: {text}");
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
    fn a_stopped_scan_says_whether_it_wrote_anything() {
        let mut at = ProgressSnapshot::default();
        assert!(stopped_text(&at).contains("before it wrote or deleted any report"));
        at.reports_written = 3;
        assert!(stopped_text(&at)
            .contains("after 3 reports written and 0 deleted: its reports may mix"));
    }

    #[test]
    fn a_deadline_reached_names_the_step_and_how_far_the_scan_got() {
        let at = ProgressSnapshot {
            phase: "listed and evaluated".into(),
            lists_total: 12,
            lists_done: 12,
            objects_evaluated: 300,
            reports_written: 7,
            reports_deleted: 0,
            lists_open: Vec::new(),
        };
        assert_eq!(
            deadline_reached(Duration::from_secs(120), &at),
            "deadline 2m (--timeout) reached while writing PolicyReports and deleting stale ones: 12 of 12 LISTs done, 300 objects evaluated, 7 reports written, 0 deleted; the scan stopped there, so no other report was written or deleted"
        );
        let listing = ProgressSnapshot {
            phase: "existing reports read".into(),
            lists_total: 12,
            lists_done: 3,
            lists_open: ["Pod", "apps/Deployment in shop"]
                .map(String::from)
                .to_vec(),
            ..ProgressSnapshot::default()
        };
        let checking = ProgressSnapshot {
            phase: format!("{CHECKING_RECORD} polscan-system/last"),
            ..ProgressSnapshot::default()
        };
        assert!(deadline_reached(Duration::from_secs(20), &checking).starts_with(
            "deadline 20s (--timeout) reached while writing the run record's ConfigMap as in progress polscan-system/last: 0 of 0"
        ));
        let waiting = ProgressSnapshot {
            phase: format!("{WAITING_FOR_LEASE} polscan-system/last"),
            ..ProgressSnapshot::default()
        };
        assert!(deadline_reached(Duration::from_secs(20), &waiting).starts_with(
            "deadline 20s (--timeout) reached while waiting for (or taking) the run's Lease, beside polscan-system/last: 0 of 0"
        ));
        assert!(
            deadline_reached(Duration::from_secs(20), &listing).starts_with(
                "deadline 20s (--timeout) reached while listing and evaluating: 3 of 12 LISTs done (not done: Pod, apps/Deployment in shop), 0 objects evaluated"
            )
        );
        let many = ProgressSnapshot {
            lists_total: 12,
            lists_open: (0..8).map(|n| format!("Kind{n}")).collect(),
            ..listing
        };
        assert!(deadline_reached(Duration::from_secs(20), &many)
            .contains("(not done: Kind0, Kind1, Kind2, Kind3, Kind4 and 3 more)"));
    }
}
