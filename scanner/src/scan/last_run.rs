//! The outcome of the last scan as a ConfigMap (`polscan-last-run`), so
//! operators can read it with kubectl: a scan's outcome (or the error that
//! stopped it) and its start and end enter; the ConfigMap object leaves.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::ScanOutcome;
use crate::engine::RuleStatus;

/// The keys `polscan evidence` reads back (`evidence::ScanRecord`).
pub mod keys {
    pub const STARTED: &str = "started";
    pub const FINISHED: &str = "finished";
    pub const COMPLETE: &str = "complete";
    pub const ERROR: &str = "error";
    pub const DRY_RUN: &str = "dryRun";
    pub const FAILED_KINDS: &str = "failedKinds";
}

/// `namespace/name` as given to `--last-run-configmap`.
pub fn parse_target(text: &str) -> Option<(String, String)> {
    let (namespace, name) = text.split_once('/')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains('/'))
        .then(|| (namespace.to_string(), name.to_string()))
}

/// The ConfigMap recording one run.
pub fn config_map(
    namespace: &str,
    name: &str,
    outcome: Result<&ScanOutcome, &str>,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
) -> Value {
    let mut data = Map::new();
    let mut put = |key: &str, value: String| {
        data.insert(key.to_string(), Value::String(value));
    };
    put("version", env!("CARGO_PKG_VERSION").to_string());
    put(
        keys::STARTED,
        started.to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    put(
        keys::FINISHED,
        finished.to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    let seconds = (finished - started).num_milliseconds() as f64 / 1000.0;
    put("durationSeconds", format!("{seconds:.3}"));
    match outcome {
        Err(error) => {
            put(keys::COMPLETE, "false".into());
            put(keys::ERROR, error.to_string());
        }
        Ok(outcome) => {
            put(keys::COMPLETE, outcome.complete().to_string());
            put(keys::DRY_RUN, outcome.dry_run.to_string());
            put("kindsListed", outcome.listings.len().to_string());
            let failed: Vec<String> = outcome
                .failed_listings()
                .map(|l| l.kind.display_name())
                .collect();
            put("kindsFailed", failed.len().to_string());
            if !failed.is_empty() {
                put(keys::FAILED_KINDS, failed.join(","));
            }
            put(
                "objects",
                outcome
                    .listings
                    .iter()
                    .map(|l| l.objects)
                    .sum::<usize>()
                    .to_string(),
            );
            put("policies", outcome.audit.policies_evaluated.to_string());
            put(
                "resourcesEvaluated",
                outcome.audit.resources_evaluated.to_string(),
            );
            for status in [
                RuleStatus::Pass,
                RuleStatus::Fail,
                RuleStatus::Warn,
                RuleStatus::Error,
                RuleStatus::Skip,
            ] {
                let count = outcome.status_counts.get(&status).copied().unwrap_or(0);
                put(&format!("results.{status}"), count.to_string());
            }
            // The same figures the metrics give, as JSON in one key each.
            let mut by_kind = Map::new();
            for listing in &outcome.listings {
                by_kind.insert(listing.kind.display_name(), json!(listing.objects));
            }
            put("objectsByKind", Value::Object(by_kind).to_string());
            let mut by_policy: Map<String, Value> = Map::new();
            for (key, count) in &outcome.result_counts {
                let entry = by_policy
                    .entry(key.policy.clone())
                    .or_insert_with(|| json!({}));
                entry[key.status.as_str()] = json!(count);
            }
            put("resultsByPolicy", Value::Object(by_policy).to_string());
            put("reportsWritten", outcome.writes.to_string());
            put("reportsUnchanged", outcome.plan.unchanged.len().to_string());
            put("reportsDeleted", outcome.deletes.to_string());
            put(
                "reportsKeptAfterFailedList",
                outcome.plan.kept_after_failed_list.len().to_string(),
            );
            put(
                "reportsKeptPoliciesIncomplete",
                outcome.plan.kept_policies_incomplete.len().to_string(),
            );
            put(
                "policiesIncomplete",
                outcome.policies_incomplete.to_string(),
            );
            put(
                "resultsKeptOfMissingPolicies",
                outcome.results_kept.to_string(),
            );
            put("writeFailures", outcome.write_failures.len().to_string());
            for (phase, ms) in &outcome.phases {
                put(
                    &format!("phase.{}.ms", phase.replace(' ', "-")),
                    ms.to_string(),
                );
            }
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "polscan"},
        },
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::discovery::ApiKind;
    use crate::cluster::ClusterError;
    use crate::scan::KindListing;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn kind(name: &str) -> ApiKind {
        ApiKind::listable_for_tests("", name)
    }

    #[test]
    fn records_counts_failures_and_timing() {
        let mut outcome = ScanOutcome {
            writes: 2,
            phases: vec![("listed and evaluated".into(), 1234)],
            listings: vec![
                KindListing {
                    kind: kind("Pod"),
                    objects: 7,
                    error: None,
                },
                KindListing {
                    kind: kind("Secret"),
                    objects: 0,
                    error: Some(ClusterError::Status {
                        what: "listing".into(),
                        code: 403,
                        reason: "Forbidden".into(),
                        message: "no".into(),
                    }),
                },
            ],
            ..ScanOutcome::default()
        };
        outcome.status_counts.insert(RuleStatus::Fail, 3);
        outcome.result_counts.insert(
            crate::scan::ResultKey {
                policy: "disallow-latest".into(),
                severity: "medium".into(),
                status: RuleStatus::Fail,
            },
            3,
        );
        let map = config_map(
            "polscan-system",
            "polscan-last-run",
            Ok(&outcome),
            at(0),
            at(90),
        );
        let data = &map["data"];
        assert_eq!(map["metadata"]["namespace"], "polscan-system");
        assert_eq!(data["complete"], "false");
        assert_eq!(data["failedKinds"], "Secret");
        assert_eq!(data["objects"], "7");
        assert_eq!(data["results.fail"], "3");
        assert_eq!(data["results.pass"], "0");
        assert_eq!(data["reportsWritten"], "2");
        assert_eq!(data["durationSeconds"], "90.000");
        assert_eq!(data["phase.listed-and-evaluated.ms"], "1234");
        assert_eq!(data["started"], "2027-01-15T08:00:00Z");
        assert_eq!(data["objectsByKind"], r#"{"Pod":7,"Secret":0}"#);
        assert_eq!(data["resultsByPolicy"], r#"{"disallow-latest":{"fail":3}}"#);
    }

    #[test]
    fn records_the_error_that_stopped_a_run() {
        let map = config_map("ns", "run", Err("no policies"), at(0), at(1));
        assert_eq!(map["data"]["complete"], "false");
        assert_eq!(map["data"]["error"], "no policies");
        assert!(map["data"].get("objects").is_none());
    }

    #[test]
    fn targets_are_namespace_slash_name() {
        assert_eq!(parse_target("a/b"), Some(("a".into(), "b".into())));
        assert_eq!(parse_target("b"), None);
        assert_eq!(parse_target("a/b/c"), None);
        assert_eq!(parse_target("/b"), None);
    }
}
