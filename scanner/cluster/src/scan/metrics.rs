//! Prometheus metrics of a long-running scanner (`scan --interval`): each
//! finished scan's outcome (or the error that stopped it) enters through
//! [`ScanMetrics::record`]; the text exposition format leaves through
//! [`ScanMetrics::encode`]. Serving it over HTTP is the CLI's business.
//!
//! Gauges describe the last scan (stale label sets are cleared each time);
//! counters add up over the process's life.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::ScanOutcome;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    group: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    policy: String,
    result: String,
    severity: String,
}

type Seconds = Gauge<f64, AtomicU64>;

/// The registry of polscan's metrics (prefixed `polscan_`) and the
/// metrics in it.
pub struct ScanMetrics {
    registry: Registry,
    scans: Family<OutcomeLabels, Counter>,
    duration: Seconds,
    phases: Family<PhaseLabels, Seconds>,
    last_timestamp: Seconds,
    last_complete: Gauge,
    objects: Family<KindLabels, Gauge>,
    list_errors: Family<KindLabels, Gauge>,
    list_errors_total: Counter,
    results: Family<ResultLabels, Gauge>,
    writes: Gauge,
    deletes: Gauge,
    write_failures: Gauge,
    writes_total: Counter,
    deletes_total: Counter,
    policies: Gauge,
}

impl Default for ScanMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ScanMetrics {
    /// Every metric registered; nothing recorded yet.
    pub fn new() -> ScanMetrics {
        let mut metrics = ScanMetrics {
            registry: Registry::with_prefix("polscan"),
            scans: Family::default(),
            duration: Seconds::default(),
            phases: Family::default(),
            last_timestamp: Seconds::default(),
            last_complete: Gauge::default(),
            objects: Family::default(),
            list_errors: Family::default(),
            list_errors_total: Counter::default(),
            results: Family::default(),
            writes: Gauge::default(),
            deletes: Gauge::default(),
            write_failures: Gauge::default(),
            writes_total: Counter::default(),
            deletes_total: Counter::default(),
            policies: Gauge::default(),
        };
        metrics.registry.register(
            "scans",
            "Scans finished, by outcome (complete, incomplete, failed)",
            metrics.scans.clone(),
        );
        metrics.registry.register(
            "scan_duration_seconds",
            "Duration of the last scan",
            metrics.duration.clone(),
        );
        metrics.registry.register(
            "scan_phase_duration_seconds",
            "Duration of each phase of the last scan",
            metrics.phases.clone(),
        );
        metrics.registry.register(
            "last_scan_timestamp_seconds",
            "When the last scan finished (Unix time)",
            metrics.last_timestamp.clone(),
        );
        metrics.registry.register(
            "last_scan_complete",
            "1 when the last scan listed every kind and wrote every report",
            metrics.last_complete.clone(),
        );
        metrics.registry.register(
            "objects_listed",
            "Objects listed per kind in the last scan",
            metrics.objects.clone(),
        );
        metrics.registry.register(
            "list_errors",
            "Kinds whose LIST failed in the last scan (1 per kind)",
            metrics.list_errors.clone(),
        );
        metrics.registry.register(
            "list_failures",
            "LISTs that failed",
            metrics.list_errors_total.clone(),
        );
        metrics.registry.register(
            "results",
            "Results of the last scan by policy, result and severity",
            metrics.results.clone(),
        );
        metrics.registry.register(
            "reports_written",
            "Reports written by the last scan",
            metrics.writes.clone(),
        );
        metrics.registry.register(
            "reports_deleted",
            "Stale reports deleted by the last scan",
            metrics.deletes.clone(),
        );
        metrics.registry.register(
            "report_write_failures",
            "Report writes or deletes that failed in the last scan",
            metrics.write_failures.clone(),
        );
        metrics.registry.register(
            "report_writes",
            "Reports written",
            metrics.writes_total.clone(),
        );
        metrics.registry.register(
            "report_deletes",
            "Stale reports deleted",
            metrics.deletes_total.clone(),
        );
        metrics.registry.register(
            "policies",
            "Policies evaluated by the last scan",
            metrics.policies.clone(),
        );
        metrics
    }

    /// Records a finished scan (`Ok`) or one that stopped (`Err`).
    pub fn record(&self, outcome: Result<&ScanOutcome, &str>, seconds: f64, finished_unix: f64) {
        self.duration.set(seconds);
        self.last_timestamp.set(finished_unix);
        let outcome = match outcome {
            Err(_) => {
                self.scans
                    .get_or_create(&OutcomeLabels {
                        outcome: "failed".into(),
                    })
                    .inc();
                self.last_complete.set(0);
                return;
            }
            Ok(outcome) => outcome,
        };
        let label = if outcome.complete() {
            "complete"
        } else {
            "incomplete"
        };
        self.scans
            .get_or_create(&OutcomeLabels {
                outcome: label.into(),
            })
            .inc();
        self.last_complete.set(i64::from(outcome.complete()));
        self.phases.clear();
        let mut previous_ms = 0;
        for (phase, end_ms) in &outcome.phases {
            self.phases
                .get_or_create(&PhaseLabels {
                    phase: phase.clone(),
                })
                .set(end_ms.saturating_sub(previous_ms) as f64 / 1000.0);
            previous_ms = *end_ms;
        }
        self.objects.clear();
        self.list_errors.clear();
        for listing in &outcome.listings {
            let labels = KindLabels {
                group: listing.kind.group.clone(),
                kind: listing.kind.kind.clone(),
            };
            self.objects
                .get_or_create(&labels)
                .set(listing.objects as i64);
            if listing.error.is_some() {
                self.list_errors.get_or_create(&labels).set(1);
                self.list_errors_total.inc();
            }
        }
        self.results.clear();
        for (key, count) in &outcome.result_counts {
            self.results
                .get_or_create(&ResultLabels {
                    policy: key.policy.clone(),
                    result: key.status.as_str().into(),
                    severity: key.severity.clone(),
                })
                .set(*count as i64);
        }
        self.writes.set(outcome.writes as i64);
        self.deletes.set(outcome.deletes as i64);
        self.write_failures.set(outcome.write_failures.len() as i64);
        self.writes_total.inc_by(outcome.writes as u64);
        self.deletes_total.inc_by(outcome.deletes as u64);
        self.policies.set(outcome.audit.policies_evaluated as i64);
    }

    /// The Prometheus text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterError;
    use crate::engine::RuleStatus;
    use crate::kinds::ApiResource;
    use crate::scan::{KindListing, ResultKey};

    fn kind(group: &str, name: &str) -> ApiResource {
        crate::cluster::discovery::listable_for_tests(group, name)
    }

    #[test]
    fn a_scan_becomes_metrics_and_stale_labels_go() {
        let metrics = ScanMetrics::new();
        let mut outcome = ScanOutcome {
            listings: vec![
                KindListing {
                    kind: kind("", "Pod"),
                    objects: 12,
                    error: None,
                },
                KindListing {
                    kind: kind("apps", "Deployment"),
                    objects: 0,
                    error: Some(ClusterError::Transport {
                        what: "listing".into(),
                        message: "forbidden".into(),
                    }),
                },
            ],
            writes: 3,
            phases: vec![("discovered".into(), 200), ("written".into(), 1200)],
            ..ScanOutcome::default()
        };
        outcome.result_counts.insert(
            ResultKey {
                policy: "disallow-latest".into(),
                severity: "medium".into(),
                status: RuleStatus::Fail,
            },
            2,
        );
        metrics.record(Ok(&outcome), 1.2, 1_800_000_000.0);
        let text = metrics.encode();
        for line in [
            "polscan_scans_total{outcome=\"incomplete\"} 1",
            "polscan_objects_listed{group=\"\",kind=\"Pod\"} 12",
            "polscan_list_errors{group=\"apps\",kind=\"Deployment\"} 1",
            "polscan_list_failures_total 1",
            "polscan_results{policy=\"disallow-latest\",result=\"fail\",severity=\"medium\"} 2",
            "polscan_scan_phase_duration_seconds{phase=\"written\"} 1.0",
            "polscan_report_writes_total 3",
            "polscan_last_scan_complete 0",
        ] {
            assert!(text.contains(line), "missing {line} in:\n{text}");
        }
        // The next scan lists Deployments fine and has no failures left.
        outcome.listings[1].error = None;
        outcome.result_counts.clear();
        metrics.record(Ok(&outcome), 0.5, 1_800_000_100.0);
        let text = metrics.encode();
        assert!(!text.contains("polscan_results{"), "{text}");
        assert!(!text.contains("polscan_list_errors{"), "{text}");
        assert!(text.contains("polscan_scans_total{outcome=\"complete\"} 1"));
        assert!(text.contains("polscan_report_writes_total 6"));
        metrics.record(Err("unreachable"), 0.1, 1_800_000_200.0);
        assert!(metrics
            .encode()
            .contains("polscan_scans_total{outcome=\"failed\"} 1"));
    }
}
