//! `polscan scan` and `polscan install-crds`: connect, run the library's
//! scan, print findings and what was written, and map the outcome to an exit
//! code (2 when the scan is incomplete, else `--fail-on`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::args::{parse_deadline, parse_duration, runtime, split_list};
use super::diag::{out, say};
use super::scan_once::{counts_line, refused, scan_once};
use super::{output, FailOn, InstallCrdsArgs, OutputFormat, ReportPer, ScanArgs};
use polscan::cluster::{connect, report_store};
use polscan::engine::RuleStatus;
use polscan::loader;
use polscan::scan::selection::{KindName, ScanFilters};
use polscan::scan::shard::Shard;
use polscan::scan::{self, last_run, ReportShape, ScanOptions, ScanOutcome};

pub fn run(args: &ScanArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let loaded = if args.policies.is_empty() {
        Ok(Vec::new())
    } else {
        loader::load_paths(&super::sources::unique_paths(args.policies.iter().cloned()))
    };
    // A recorded run goes on to record the error (a CronJob's malformed
    // file is then seen in the record, not the last good run's); any
    // other run stops here, before connecting.
    let (policy_documents, policy_files_error) = match loaded {
        Ok(documents) => (documents, None),
        Err(error)
            if args.last_run_configmap.is_some() && !args.dry_run && args.interval.is_none() =>
        {
            (Vec::new(), Some(std::sync::Arc::new(error)))
        }
        Err(error) => return Err(anyhow::Error::new(error).context("reading policies")),
    };
    let options = ScanOptions {
        policy_documents,
        policy_files_error,
        cluster_policies: !args.no_cluster_policies,
        filters: ScanFilters {
            include_kinds: split_list(&args.include_kinds)
                .iter()
                .map(|k| KindName::parse(k))
                .collect(),
            exclude_kinds: split_list(&args.exclude_kinds)
                .iter()
                .map(|k| KindName::parse(k))
                .collect(),
            namespaces: split_list(&args.namespaces),
            exclude_namespaces: split_list(&args.exclude_namespaces),
            shard: shard_of(args)?,
        },
        report_api: args.report_api.api(),
        shape: match args.report_per {
            ReportPer::Resource => ReportShape::PerResource,
            ReportPer::Namespace => ReportShape::PerNamespace,
        },
        dry_run: args.dry_run,
        page_size: args.page_size,
        allow_http: args.allow_http,
        exceptions: scan::ExceptionScope::from_flag(args.exception_namespace.as_deref())
            .map_err(|err| super::usage::UsageError(err.to_string()))?,
        list_concurrency: args.list_concurrency,
        kyverno_config: match args.kyverno_config.as_deref() {
            None => None,
            Some(text) => Some(last_run::parse_target(text).ok_or_else(|| {
                super::usage::UsageError(format!(
                    "--kyverno-config {text:?}: expected <namespace>/<name> of Kyverno's ConfigMap"
                ))
            })?),
        },
        // The yaml/json output is the reports, streamed from a temporary
        // file (per-namespace reports are shaped from the findings); the
        // table, JUnit and SARIF stream the findings into their view.
        keep_findings: prints_reports(args.output)
            && !(args.dry_run || args.report_per == ReportPer::Resource),
        keep_printed_reports: prints_reports(args.output),
        finding_view: finding_view(args.output),
        ..ScanOptions::default()
    };
    let record_to = match &args.last_run_configmap {
        Some(text) => Some(last_run::parse_target(text).ok_or_else(|| {
            super::usage::UsageError(format!(
                "--last-run-configmap {text:?}: expected <namespace>/<name>, lowercase DNS names (letters, digits, '-'; '.' in the name)"
            ))
        })?),
        None => None,
    }
    // Each shard records its own run: `polscan evidence` reads them all.
    .map(|(namespace, name)| match options.filters.shard {
        Some(shard) => (namespace, last_run::shard_record_name(&name, shard.index)),
        None => (namespace, name),
    });
    // A shard's record without a run id never counts towards a complete
    // run (nothing ties it to the other shards'): said now, not found out
    // in the evidence.
    if args
        .run_id
        .as_deref()
        .is_some_and(|id| id.trim().is_empty())
    {
        return Err(super::usage::UsageError(
            "--run-id (or POLSCAN_RUN_ID) is empty: give each run an id of its own".into(),
        )
        .into());
    }
    if let (Some(shard), Some(_)) = (options.filters.shard, &args.interval) {
        return Err(super::usage::UsageError(format!(
            "--shard {shard} with --interval: the shards of one run start together under one run id, as an Indexed Job's pods do (deploy/overlays/sharded); a long-running scanner's every run would share the id, and evidence could take shards of two runs for one"
        ))
        .into());
    }
    if let (Some(shard), Some(_), None) = (
        options.filters.shard,
        &record_to,
        args.run_id.as_deref().filter(|id| !id.is_empty()),
    ) {
        return Err(super::usage::UsageError(format!(
            "--shard {shard} with --last-run-configmap needs --run-id (or POLSCAN_RUN_ID), the same in every shard of the run: without it `polscan evidence` cannot tell the shards' records are of one run"
        ))
        .into());
    }
    let deadline = parse_deadline("--timeout", &args.timeout)?;
    let lock_timeout = parse_duration(&args.lock_timeout)
        .filter(|d| *d >= chrono::Duration::zero())
        .and_then(|d| d.to_std().ok())
        .ok_or_else(|| {
            super::usage::UsageError(format!(
                "--lock-timeout {:?}: expected a duration such as 2m, 30s or 0",
                args.lock_timeout
            ))
        })?;
    if let Some(interval) = &args.interval {
        let every = parse_duration(interval)
            .filter(|d| *d > chrono::Duration::zero())
            .with_context(|| {
                format!("--interval {interval:?}: expected a duration such as 1h or 30m")
            })?;
        let every = every
            .to_std()
            .with_context(|| format!("--interval {interval:?}"))?;
        return super::long_running::run(
            args,
            options,
            record_to,
            every,
            interval,
            deadline,
            lock_timeout,
        );
    }
    if args.metrics_addr.is_some() {
        anyhow::bail!(
            "--metrics-addr serves metrics of a long-running scanner: use it with --interval"
        );
    }
    let display = super::progress::ProgressDisplay::start(options.progress.clone(), quiet);
    let result = runtime()?.block_on(async {
        let (client, server) =
            connect::connect_with_server(args.kubeconfig.as_deref(), args.context.as_deref())
                .await?;
        let mut bounds = super::scan_once::Bounds {
            deadline,
            lock_timeout,
            stop: super::stop::Stop::listen(),
        };
        let (outcome, record_failed) = scan_once(
            &client,
            &server,
            options,
            record_to.as_ref(),
            args.dry_run,
            args.run_id.as_deref(),
            &mut bounds,
        )
        .await;
        anyhow::Ok((outcome?, record_failed))
    });
    display.finish();
    let (mut outcome, record_failed) = result.map_err(usage_if_refused)?;
    print(&mut outcome, args.output)?;
    if let Some(note) = unrecorded_violations(&outcome, record_to.is_some() || args.dry_run) {
        say!("{note}");
    }
    if !outcome.complete() || record_failed {
        say!(
            "error: the scan is incomplete: {}",
            incomplete_because(&outcome, record_failed)
        );
        return Ok(ExitCode::from(2));
    }
    Ok(exit_code(&outcome, args.fail_on))
}

/// The note for a scan that wrote `fail` or `error` results to reports
/// without a record (`recorded`: it had `--last-run-configmap`, or wrote
/// nothing): the soak history never sees them, and once the next recorded
/// scan rewrites the reports nothing shows they were there.
fn unrecorded_violations(outcome: &ScanOutcome, recorded: bool) -> Option<String> {
    let count = |status| outcome.status_counts.get(&status).copied().unwrap_or(0);
    let violations = count(RuleStatus::Fail) + count(RuleStatus::Error);
    // red22 F16: after failed writes, not every result reached a report.
    let where_ = match outcome.write_failures.len() {
        0 => "are in the reports".to_string(),
        failed => {
            format!("were meant for the reports ({failed} write(s) failed: some are not there)")
        }
    };
    (!recorded && violations > 0).then(|| {
        format!(
            "note: this scan is not recorded (no --last-run-configmap): its {violations} fail/error results {where_} but not in the soak history, so `polscan evidence` will not count them once the next recorded scan rewrites those reports; scan with the recorded runs' --last-run-configmap (or --dry-run) to keep the soak true"
        )
    })
}

/// What the run removed from the reports it kept: the results of
/// policies no longer in the cluster; None when it removed nothing.
fn deleted_policies_line(dropped: &polscan::scan::DeletedPolicyResults) -> Option<String> {
    if dropped.results_dropped == 0 {
        return None;
    }
    let deleted = match dropped.reports_deleted {
        0 => String::new(),
        n => format!("; {n} reports that held no other result were deleted"),
    };
    Some(format!(
        "removed {} results of policies no longer in the cluster (nor given to this run with --policy) from the reports of kinds this run did not list, as Kyverno's report controller does ({} reports rewritten{deleted})",
        dropped.results_dropped, dropped.reports_rewritten
    ))
}

/// A refused scan ([`refused`]) is a usage error (exit 64), not an
/// incomplete audit.
fn usage_if_refused(err: anyhow::Error) -> anyhow::Error {
    if refused(&err) {
        super::usage::UsageError(super::error_text(&err)).into()
    } else {
        err
    }
}

/// Why a scan is incomplete, and what it did about its evidence, in one
/// line for its closing message.
fn incomplete_because(outcome: &ScanOutcome, record_failed: bool) -> String {
    let mut reasons = Vec::new();
    let failed_kinds = outcome.failed_listings().count();
    if failed_kinds > 0 {
        reasons.push(format!(
            "{failed_kinds} kinds did not list (their reports were left as they were)"
        ));
    }
    if outcome.policies_incomplete {
        // A dry run pruned and kept nothing (walk47 W47-8).
        reasons.push(if outcome.dry_run {
            "some policies could not be read or loaded".to_string()
        } else {
            // "Only reports of resources that are gone" read as some
            // were, after "no report was pruned" (walk78).
            "some policies could not be read or loaded (no report but those of resources that are gone could be pruned; their stored results were kept)"
                .to_string()
        });
    }
    let other = outcome.other_failures.len().saturating_sub(
        // Policy sources are already counted above.
        outcome
            .failed_policy_sources
            .len()
            .min(outcome.other_failures.len()),
    );
    match other {
        0 => {}
        1 => reasons.push("1 other error (above)".to_string()),
        n => reasons.push(format!("{n} other errors (above)")),
    }
    if !outcome.write_failures.is_empty() {
        reasons.push(format!(
            "{} reports could not be written or deleted (the stored ones stay)",
            outcome.write_failures.len()
        ));
    }
    if record_failed {
        reasons.push("the run could not be recorded".to_string());
    }
    if reasons.is_empty() {
        reasons.push("see the messages above".to_string());
    }
    reasons.join("; ")
}

/// The shard to scan: `--shard I/N`, or `--shards N` with the index an
/// Indexed Job gives its pod (`JOB_COMPLETION_INDEX`); None for the whole
/// cluster. Errors are usage errors naming the flag.
fn shard_of(args: &ScanArgs) -> Result<Option<Shard>, super::usage::UsageError> {
    use super::usage::UsageError;
    match (&args.shard, args.shards) {
        (Some(text), _) => Shard::parse(text)
            .map(Some)
            .map_err(|err| UsageError(format!("--shard {err}"))),
        (None, Some(0)) => Err(UsageError(
            "--shards 0: the number of shards must be at least 1".into(),
        )),
        (None, Some(count)) => {
            let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                UsageError(format!(
                    "--shards {count}: JOB_COMPLETION_INDEX is not set (an Indexed Job sets it in each pod); outside one, give --shard I/{count}"
                ))
            })?;
            let parsed: u32 = index.trim().parse().map_err(|_| {
                UsageError(format!(
                    "--shards {count}: JOB_COMPLETION_INDEX {index:?} is not a shard index"
                ))
            })?;
            Shard::new(parsed, count).map(Some).map_err(|err| {
                UsageError(format!(
                    "--shards {count} with JOB_COMPLETION_INDEX {parsed}: {err}"
                ))
            })
        }
        (None, None) => Ok(None),
    }
}

/// The streamed view of an output that lists findings (table, JUnit,
/// SARIF): its records wait in a temporary file beyond a limit, so memory
/// does not grow with the findings.
fn finding_view(format: OutputFormat) -> Option<scan::view::ViewFactory> {
    super::apply_stream::ScanView::factory(format, output::use_color(), VIEW_SPILL_LIMIT)
}

/// Bytes of a scan's output records held in memory before they go to a
/// sorted temporary file: less than `apply`'s, since a scan holds listed
/// pages and reports besides (at 20,000 objects, 64 MiB of records took
/// the table's peak RSS to twice the summary's).
const VIEW_SPILL_LIMIT: usize = 4 * 1024 * 1024;

/// Whether this format prints the reports (every one, dry run or not).
fn prints_reports(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Yaml | OutputFormat::Json)
}

/// A `v1` List of reports, serialised as it is written.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportList<'a> {
    api_version: &'a str,
    kind: &'a str,
    items: ReportItems,
}

/// The printed reports, read one at a time while they are serialised.
type PrintedReports = Box<dyn Iterator<Item = std::io::Result<serde_json::Value>>>;

struct ReportItems(std::cell::RefCell<Option<PrintedReports>>);

impl serde::Serialize for ReportItems {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(None)?;
        if let Some(reports) = self.0.borrow_mut().take() {
            for report in reports {
                seq.serialize_element(&report.map_err(S::Error::custom)?)?;
            }
        }
        seq.end()
    }
}

/// Every report the run leaves (or would leave): the per-namespace ones a
/// dry run kept, then the per-resource ones spilled while it ran.
fn printed_reports(outcome: &mut ScanOutcome) -> anyhow::Result<PrintedReports> {
    let kept: Vec<serde_json::Value> = std::mem::take(&mut outcome.reports_to_apply)
        .into_iter()
        .map(|(_, report)| serde_json::to_value(report))
        .collect::<Result<_, _>>()?;
    let spilled: PrintedReports = match outcome.printed_reports.take() {
        Some(spill) => Box::new(
            spill
                .into_reports()
                .context("reading back the reports to print")?,
        ),
        None => Box::new(std::iter::empty()),
    };
    // Printed as they are (or would be) written: in the report API's form.
    let api = outcome.report_api;
    Ok(Box::new(kept.into_iter().map(Ok).chain(spilled).map(
        move |report| {
            report.map(|mut report| {
                api.convert(&mut report);
                report
            })
        },
    )))
}

/// How many reports a per-report message names before one line counts
/// the rest: thousands of lines say nothing a count does not.
const NAMED_REPORTS: usize = 20;

/// Calls `line(key, 0)` for each of the first [`NAMED_REPORTS`] keys and,
/// when there are more, `line(last, n)` once with how many were left.
fn named_lines<K>(keys: &[K], mut line: impl FnMut(&K, usize)) {
    for key in keys.iter().take(NAMED_REPORTS) {
        line(key, 0);
    }
    if let (Some(last), true) = (keys.last(), keys.len() > NAMED_REPORTS) {
        line(last, keys.len() - NAMED_REPORTS);
    }
}

/// The one line that says the reports `described` were kept and `why`:
/// the report itself when it is alone, else how many and the first (each is
/// logged at debug level, `-v`), as the failures of one cause are said
/// (polscan_cluster's `scan::failures`). None when none was kept.
fn kept_line(described: &[String], why: &str) -> Option<String> {
    for report in described {
        tracing::debug!(%report, "kept: {why}");
    }
    match described {
        [] => None,
        [one] => Some(format!("kept {one} ({why})")),
        [first, ..] => Some(format!(
            "kept {} reports ({why}; first: {first}; -v names each)",
            scan::failures::count(described.len())
        )),
    }
}

fn print(outcome: &mut ScanOutcome, format: OutputFormat) -> anyhow::Result<()> {
    let mut audit = outcome.audit.clone();
    audit.problems = scan::problems(outcome);
    let verb = if outcome.dry_run { "would " } else { "" };
    if prints_reports(format) && (outcome.dry_run || outcome.printed_reports.is_some()) {
        for problem in &audit.problems {
            say!("warning: {problem}");
        }
        // Each report is read back and serialised straight to stdout: no
        // copy of every report, nor the whole output as one string.
        let reports = printed_reports(outcome)?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        if format == OutputFormat::Json {
            let list = ReportList {
                api_version: "v1",
                kind: "List",
                items: ReportItems(std::cell::RefCell::new(Some(reports))),
            };
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        } else {
            for report in reports {
                writeln!(out, "---")?;
                serde_yaml::to_writer(&mut out, &report?)?;
            }
        }
        out.flush()?;
    } else if format == OutputFormat::Summary {
        for problem in &audit.problems {
            say!("warning: {problem}");
        }
        out!("{}", counts_line(outcome));
    } else if let Some((view, error)) = outcome.finding_view.take() {
        for problem in &audit.problems {
            say!("warning: {problem}");
        }
        if let Some(err) = error {
            return Err(anyhow::Error::new(err)
                .context("keeping the findings to print in a temporary file"));
        }
        let stdout = std::io::stdout();
        view.0.finish(
            &mut stdout.lock(),
            &audit.problems,
            audit.policies_evaluated,
            audit.resources_evaluated,
        )?;
    } else {
        output::write_outcome(
            &mut std::io::stdout().lock(),
            &mut super::diag::Stderr::new(),
            &audit,
            format,
            output::use_color(),
        )?;
    }
    if outcome.other_api_deleted > 0 {
        say!(
            "deleted {} of polscan's reports left in {} (this run wrote to {})",
            outcome.other_api_deleted,
            outcome.report_api.other().api_version(),
            outcome.report_api.api_version()
        );
    }
    let plan = &outcome.plan;
    named_lines(&plan.delete, |key, more| match more {
        0 => say!(
            "{verb}delete {}",
            report_store::describe(outcome.report_api, key)
        ),
        more => say!("{verb}delete {more} more stale reports"),
    });
    // A scan narrowed with --include-kinds keeps every other kind's
    // reports, thousands on a large cluster: one line says so. After a
    // failed LIST the first reports kept are named.
    let kept = &plan.kept_after_failed_list;
    let described = |keys: &[_]| -> Vec<String> {
        keys.iter()
            .map(|key| report_store::describe(outcome.report_api, key))
            .collect()
    };
    if outcome.failed_listings().next().is_some() {
        if let Some(line) = kept_line(&described(kept), "its kind did not list completely") {
            say!("{line}");
        }
    } else if !kept.is_empty() {
        let rewritten = outcome.deleted_policies.reports_rewritten;
        say!(
            "kept {} reports of kinds this run did not list (left out by --include-kinds or --exclude-kinds, or by default: Secrets, Events and report kinds): not re-evaluated nor pruned{}",
            kept.len(),
            match rewritten {
                0 => String::new(),
                n => format!(" ({n} of them rewritten without the results of deleted policies)"),
            }
        );
    }
    if let Some(line) = deleted_policies_line(&outcome.deleted_policies) {
        say!("{line}");
    }
    if outcome.deletes_held > 0 {
        say!(
            "{} stale report(s) kept: a report of their namespace was not written this run, and they may be what it replaces (a run that writes it prunes them)",
            outcome.deletes_held
        );
    }
    // Why this run's policies are not all the cluster's.
    let partial = if outcome.policies_incomplete {
        "some policies could not be read or loaded"
    } else {
        "the cluster's policies were left out (--no-cluster-policies)"
    };
    if let Some(line) = kept_line(
        &described(&plan.kept_policies_incomplete),
        &format!("{partial}, and a report may hold their results"),
    ) {
        say!("{line}");
    }
    if outcome.policy_set_partial && outcome.dry_run {
        say!(
            "{partial}: a real run would prune only the reports of resources that are gone and keep their stored results in every report it rewrites; the reports this dry run prints are the scan's own, without those kept results"
        );
    } else if outcome.policy_set_partial {
        say!(
            "{partial}: {}; {} stored results of those policies were kept in the {} reports rewritten ({} planned writes equalled the stored report once those results were kept, and were not written){}",
            match plan.delete.len() {
                0 => "no report was pruned".to_string(),
                n => format!("only the {n} reports of resources that are gone were pruned"),
            },
            outcome.results_kept,
            outcome.writes,
            outcome.unchanged_after_carry_over,
            if outcome.rewrites_held > 0 {
                format!(", and {} stored per-namespace reports were left as they were", outcome.rewrites_held)
            } else {
                String::new()
            }
        );
    }
    let listed: usize = outcome.listings.iter().map(|l| l.objects).sum();
    say!(
        "scan: {} kinds listed ({} failed), {} objects{}; reports: {verb}apply {}, unchanged {}, {verb}delete {}, kept {}{}",
        outcome.listings.len(),
        outcome.failed_listings().count(),
        listed,
        if outcome.reused > 0 {
            format!(" ({} unchanged since their stored report, not evaluated again)", outcome.reused)
        } else {
            String::new()
        },
        plan.apply.len(),
        plan.unchanged.len(),
        plan.delete.len(),
        plan.kept_after_failed_list.len() + plan.kept_policies_incomplete.len(),
        if outcome.dry_run {
            " (dry run: nothing written)".to_string()
        } else {
            format!("; written {}, deleted {}, failed {}", outcome.writes, outcome.deletes, outcome.write_failures.len())
        }
    );
    Ok(())
}

/// 1 when `--fail-on` finds a result it names, else 0 (an incomplete
/// scan has already returned 2).
fn exit_code(outcome: &ScanOutcome, fail_on: Option<FailOn>) -> ExitCode {
    if output::failing_statuses(fail_on)
        .iter()
        .any(|status| outcome.status_counts.get(status).copied().unwrap_or(0) > 0)
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn install_crds(args: &InstallCrdsArgs) -> anyhow::Result<ExitCode> {
    let outcomes = runtime()?.block_on(async {
        let (client, server) =
            connect::connect_with_server(args.kubeconfig.as_deref(), args.context.as_deref())
                .await?;
        report_store::install_crds(&client, args.api.api())
            .await
            .with_context(|| format!("installing CRDs in the cluster at {server}"))
    })?;
    for outcome in outcomes {
        match outcome {
            report_store::CrdOutcome::Created(name) => out!("created {name}"),
            report_store::CrdOutcome::Kept { name, managed_by } => {
                out!("kept {name} (already installed, managed by {managed_by})")
            }
            report_store::CrdOutcome::ServedWithoutCrds(api) => out!(
                "{api} is served without CRDs (through an APIService, such as reports-server): no CRDs installed, they would shadow it"
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::{incomplete_because, kept_line, unrecorded_violations};
    use polscan::engine::RuleStatus;
    use polscan::scan::ScanOutcome;

    /// A scan by hand that wrote violations without a record says the soak
    /// will not see them; a recorded one, or one that found none, does not.
    #[test]
    fn an_unrecorded_scan_with_violations_says_the_soak_will_not_see_them() {
        let mut outcome = ScanOutcome::default();
        outcome.status_counts.insert(RuleStatus::Pass, 4);
        assert_eq!(unrecorded_violations(&outcome, false), None);
        outcome.status_counts.insert(RuleStatus::Fail, 2);
        outcome.status_counts.insert(RuleStatus::Error, 1);
        let note = unrecorded_violations(&outcome, false).unwrap_or_default();
        assert!(
            note.starts_with("note: this scan is not recorded (no --last-run-configmap): its 3 fail/error results"),
            "{note}"
        );
        assert_eq!(unrecorded_violations(&outcome, true), None);
        assert!(note.contains("results are in the reports but"), "{note}");
        outcome
            .write_failures
            .push(polscan::cluster::ClusterError::Transport {
                what: "writing a report".into(),
                message: "connection refused".into(),
            });
        let note = unrecorded_violations(&outcome, false).unwrap_or_default();
        assert!(
            note.contains("3 fail/error results were meant for the reports (1 write(s) failed: some are not there) but not in the soak history"),
            "{note}"
        );
    }

    /// walk47 W47-8: a dry run's closing line claims no pruning.
    #[test]
    fn a_dry_run_with_unreadable_policies_claims_no_pruning() {
        let mut outcome = ScanOutcome {
            policies_incomplete: true,
            ..ScanOutcome::default()
        };
        // walk78: worded so that it holds when none was pruned too.
        assert!(incomplete_because(&outcome, false)
            .contains("no report but those of resources that are gone could be pruned"));
        outcome.dry_run = true;
        let line = incomplete_because(&outcome, false);
        assert!(!line.contains("pruned"), "{line}");
        assert!(
            line.starts_with("some policies could not be read or loaded"),
            "{line}"
        );
    }

    /// Reports kept for one cause are one line, however many: the count and
    /// the first; a report alone is named.
    #[test]
    fn reports_kept_for_one_cause_are_one_line() {
        let why = "some policies could not be read or loaded, and a report may hold their results";
        let many: Vec<String> = (0..2_500)
            .map(|i| format!("PolicyReport team/polscan-{i}"))
            .collect();
        assert_eq!(
            kept_line(&many, why).as_deref(),
            Some("kept 2,500 reports (some policies could not be read or loaded, and a report may hold their results; first: PolicyReport team/polscan-0; -v names each)")
        );
        assert_eq!(
            kept_line(&many[..1], why).as_deref(),
            Some("kept PolicyReport team/polscan-0 (some policies could not be read or loaded, and a report may hold their results)")
        );
        assert_eq!(kept_line(&[], why), None);
    }
}
