//! `polscan scan --interval`: the scanner as a long-lived process (a
//! Deployment instead of a CronJob). It scans, records the run (metrics,
//! and the last-run ConfigMap when asked), sleeps, and scans again until
//! SIGTERM or Ctrl-C; a failed scan is logged and counted, never fatal.
//! `--metrics-addr` serves the Prometheus metrics and a health check.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::routing::get;
use axum::Router;

use super::diag::{out, say};
use super::ScanArgs;
use polscan::cluster::connect;
use polscan::scan::metrics::ScanMetrics;
use polscan::scan::ScanOptions;

async fn serve_metrics(addr: SocketAddr, metrics: Arc<ScanMetrics>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("--metrics-addr {addr}: cannot listen"))?;
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        metrics.encode(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }));
    tracing::info!(%addr, "serving metrics");
    say!("serving metrics on http://{addr}/metrics");
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "the metrics server stopped");
        }
    });
    Ok(())
}

pub fn run(
    args: &ScanArgs,
    options: ScanOptions,
    record_to: Option<(String, String)>,
    every: Duration,
    interval: &str,
    deadline: Duration,
    lock_timeout: Duration,
) -> anyhow::Result<ExitCode> {
    let metrics = Arc::new(ScanMetrics::new());
    super::args::runtime()?.block_on(async {
        if let Some(text) = &args.metrics_addr {
            let addr: SocketAddr = text
                .parse()
                .with_context(|| format!("--metrics-addr {text:?}: expected host:port"))?;
            serve_metrics(addr, metrics.clone()).await?;
        }
        let mut stop = super::stop::Stop::listen();
        loop {
            let started = std::time::Instant::now();
            let connected = tokio::select! {
                connected = connect::connect_with_server(
                    args.kubeconfig.as_deref(),
                    args.context.as_deref(),
                ) => Some(connected),
                _ = stop.requested() => None,
            };
            let Some(connected) = connected else {
                return Ok(ExitCode::SUCCESS);
            };
            // The scan itself watches the stop: stopped, it records its run
            // as incomplete and releases its Lease before this loop ends.
            let mut bounds = super::scan_once::Bounds {
                deadline,
                lock_timeout,
                stop: stop.clone(),
            };
            let round = async {
                let (client, server) = connected?;
                let mut options = options.clone();
                options.keep_findings = false;
                options.keep_printed_reports = false;
                options.finding_view = None;
                options.progress = Arc::default();
                let (outcome, _) = super::scan_once::scan_once(
                    &client,
                    &server,
                    options,
                    record_to.as_ref(),
                    args.dry_run,
                    args.run_id.as_deref(),
                    &mut bounds,
                )
                .await;
                outcome
            };
            let outcome = round.await;
            if stop.is_requested() {
                say!("stopping: a scan was in progress; its reports so far are written and its run recorded as incomplete");
                return Ok(ExitCode::SUCCESS);
            }
            let seconds = started.elapsed().as_secs_f64();
            let finished = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
            match &outcome {
                Ok(outcome) => {
                    metrics.record(Ok(outcome), seconds, finished);
                    for problem in polscan::scan::problems(outcome) {
                        tracing::warn!("{problem}");
                    }
                    tracing::info!(
                        complete = outcome.complete(),
                        writes = outcome.writes,
                        deletes = outcome.deletes,
                        seconds,
                        "scan finished"
                    );
                    out!(
                        "{} scan {} in {seconds:.1}s: {}; written {}, deleted {}",
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        if outcome.complete() { "complete" } else { "INCOMPLETE" },
                        super::scan_once::counts_line(outcome),
                        outcome.writes,
                        outcome.deletes
                    );
                }
                // A mistyped --include-kinds fails every round alike: the
                // command line is wrong, so stop (exit 64), not retry.
                Err(err) if super::scan_once::refused(err) => {
                    return Err(super::usage::UsageError(super::error_text(err)).into());
                }
                Err(err) => {
                    metrics.record(Err(&super::error_text(err)), seconds, finished);
                    tracing::error!(error = %super::error_text(err), "scan failed; retrying at the next interval");
                    say!("error: {} (retrying in {interval})", super::error_text(err));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.requested() => return Ok(ExitCode::SUCCESS),
            }
        }
    })
}
