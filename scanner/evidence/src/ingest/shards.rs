//! A sharded run's records as one: the records of shards `0..N` (each read
//! from `<name>-<I>`, or why it could not be) enter; one [`ScanRecord`]
//! leaves, covering only the shards that recorded this run, and saying why
//! each other one counts as not scanned. Without I/O.
//!
//! Which run: the newest record's (latest `started`) — its shard count N
//! and run id. A shard's record counts only when it is of that run: the
//! same N and the same run id. A record of an earlier run (a shard that
//! did not start, or was killed before it recorded) is a gap, never
//! evidence; so is a record without a run id (nothing ties it to the
//! others): shards run by hand share one with `scan --run-id`.

use std::collections::{BTreeMap, BTreeSet};

use super::record::ScanRecord;
use super::shard_coverage::{ShardCoverage, CONFLICTING_DIGEST};

/// One shard's record as read: the record, or why there is none usable
/// ("no record at ConfigMap …", "unreadable: …").
pub type ShardRead = (u32, Result<ScanRecord, String>);

/// The records of a sharded run merged into one ([`ShardCoverage`] says
/// which shards it covers); `source` names them all (`ns/name-0..2`).
/// None when no record read is a shard's (`read` holds no `shard` key).
pub fn merge_shards(source: &str, read: Vec<ShardRead>) -> Option<ScanRecord> {
    let run = read
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .filter(|r| r.shard.is_some())
        .max_by_key(|r| r.started)?
        .clone();
    let count = run.shard.map(|s| s.count)?;
    let run_id = run.run_id.clone();
    let mut of_run: BTreeMap<u32, ScanRecord> = BTreeMap::new();
    let mut gaps: Vec<String> = Vec::new();
    let mut seen: BTreeSet<u32> = BTreeSet::new();
    for (index, record) in read {
        if index >= count || !seen.insert(index) {
            continue;
        }
        let why = match record {
            Err(why) => Some(why),
            Ok(record) => match record.shard {
                None => Some("its record names no shard".to_string()),
                Some(shard) if shard.count != count || shard.index != index => Some(format!(
                    "its record is of shard {shard}, from a run split another way"
                )),
                Some(_) if run_id.is_none() || record.run_id.is_none() => Some(
                    "no run id ties its record to the others' (scan --run-id, set by the Indexed Job overlay)"
                        .to_string(),
                ),
                Some(_) if record.run_id != run_id => Some(format!(
                    "its record is of another run ({}, started {})",
                    record.run_id.as_deref().unwrap_or_default(),
                    record
                        .started
                        .map_or_else(|| "unknown".to_string(), |t| t.to_rfc3339())
                )),
                Some(_) => {
                    of_run.insert(index, record);
                    None
                }
            },
        };
        if let Some(why) = why {
            gaps.push(format!("shard {index}/{count}: {why}"));
        }
    }
    for index in (0..count).filter(|i| !seen.contains(i)) {
        gaps.push(format!(
            "shard {index}/{count}: no record read (evidence reads every shard's when given the record's name without the -<I> suffix)"
        ));
    }
    let mismatched = mismatched_options(&of_run, count);
    let reused_run_id: Vec<String> = of_run
        .iter()
        .filter_map(|(index, record)| {
            let before = record.run_id_reused_from.as_deref()?;
            Some(format!(
                "shard {index}/{count} replaced a complete record of the same id started {before}"
            ))
        })
        .collect();
    let mut merged = ScanRecord {
        source: source.to_string(),
        complete: gaps.is_empty() && mismatched.is_empty() && reused_run_id.is_empty(),
        run_id,
        ..ScanRecord::default()
    };
    let mut first = true;
    for (index, record) in &of_run {
        merge_into(&mut merged, record, *index, count, first);
        first = false;
    }
    merged.shard = None;
    merged.shards = Some(ShardCoverage {
        count,
        recorded: of_run.keys().copied().collect(),
        gaps,
        mismatched,
        reused_run_id,
    });
    Some(merged)
}

/// The options the shards' records disagree on, one phrase per flag
/// naming each shard's value (`--exclude-kinds (shard 0/3: none; shard
/// 1/3: Pod)`). Besides the recorded settings, the resourceFilters each
/// applied (the ConfigMap may change between shards' reads). A record
/// without settings (an older polscan) is compared by what it has.
fn mismatched_options(records: &BTreeMap<u32, ScanRecord>, count: u32) -> Vec<String> {
    let mut values: BTreeMap<String, BTreeMap<String, Vec<u32>>> = BTreeMap::new();
    for (index, record) in records {
        let mut settings = record.settings.clone().unwrap_or_else(|| {
            BTreeMap::from([
                ("--namespace".into(), record.namespaces.join(",")),
                (
                    "--exclude-namespaces".into(),
                    record.excluded_namespaces.join(","),
                ),
            ])
        });
        settings.insert(
            "resourceFilters".into(),
            record
                .resource_filters
                .as_ref()
                .map(|f| format!("{} from {}", f.count, f.source))
                .unwrap_or_default(),
        );
        for (flag, value) in settings {
            values
                .entry(flag)
                .or_default()
                .entry(value)
                .or_default()
                .push(*index);
        }
    }
    values
        .into_iter()
        .filter(|(_, by_value)| by_value.len() > 1)
        .map(|(flag, by_value)| {
            let shards: Vec<String> = by_value
                .into_iter()
                .map(|(value, indexes)| {
                    let names: Vec<String> =
                        indexes.iter().map(|i| format!("{i}/{count}")).collect();
                    let value = if value.is_empty() {
                        "none".into()
                    } else {
                        value
                    };
                    format!("shard {}: {value}", names.join(", "))
                })
                .collect();
            format!("{flag} ({})", shards.join("; "))
        })
        .collect()
}

/// Adds one shard's record to the merged one. Settings the shards share
/// (namespace filters, PolicyExceptions, resourceFilters) come from the
/// first (a shard whose own differ makes the run incomplete:
/// [`mismatched_options`]); counts add up; gaps and failures are all kept.
fn merge_into(merged: &mut ScanRecord, record: &ScanRecord, index: u32, count: u32, first: bool) {
    merged.started = match (merged.started, record.started) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    merged.finished = match (merged.finished, record.finished) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    merged.complete &= record.complete;
    merged.in_progress |= record.in_progress;
    extend_unique(&mut merged.failed_kinds, &record.failed_kinds);
    extend_unique(
        &mut merged.failed_policy_sources,
        &record.failed_policy_sources,
    );
    extend_unique(&mut merged.invalid_policies, &record.invalid_policies);
    // Each shard loads the same documents: the errors of every one, and
    // what a binding or exception names where every shard with its error
    // read the same (one that did not may touch any policy).
    for (what, message) in &record.load_errors {
        let named = record.load_error_policies.get(what);
        match merged.load_errors.get(what) {
            None => {
                merged.load_errors.insert(what.clone(), message.clone());
                if let Some(named) = named {
                    merged
                        .load_error_policies
                        .insert(what.clone(), named.clone());
                }
            }
            Some(_) if merged.load_error_policies.get(what) != named => {
                merged.load_error_policies.remove(what);
            }
            Some(_) => {}
        }
    }
    // Every shard judged the same filters: any shard's gap is the run's;
    // one that did not record it leaves it unknown.
    merged.policies_kinds_left_out = match (first, &merged.policies_kinds_left_out) {
        (true, _) => record.policies_kinds_left_out.clone(),
        (false, Some(before)) => record.policies_kinds_left_out.as_ref().map(|now| {
            let mut all = before.clone();
            extend_unique(&mut all, now);
            all
        }),
        (false, None) => None,
    };
    if let Some(error) = &record.error {
        let error = format!("shard {index}/{count}: {error}");
        merged.error = Some(match merged.error.take() {
            Some(before) => format!("{before}; {error}"),
            None => error,
        });
    }
    merged.dry_run |= record.dry_run;
    merged.write_failed_reports += record.write_failed_reports;
    merged.policies_incomplete |= record.policies_incomplete;
    merged.exception_namespace_missing |= record.exception_namespace_missing;
    for kind in &record.unserved_policy_kinds {
        if !merged.unserved_policy_kinds.contains(kind) {
            merged.unserved_policy_kinds.push(kind.clone());
        }
    }
    merged.policy_kinds_recorded =
        record.policy_kinds_recorded && (first || merged.policy_kinds_recorded);
    if first {
        merged.namespaces = record.namespaces.clone();
        merged.excluded_namespaces = record.excluded_namespaces.clone();
        merged.policy_exceptions = record.policy_exceptions.clone();
        merged.resource_filters = record.resource_filters.clone();
        merged.objects_by_kind = record.objects_by_kind.clone();
        merged.objects_in_policy_namespaces = record.objects_in_policy_namespaces.clone();
        merged.objects_evaluated_by_kind = record.objects_evaluated_by_kind.clone();
        merged.results_by_rule = record.results_by_rule.clone();
        merged.kinds_by_rule = record.kinds_by_rule.clone();
        merged.input_digests = record.input_digests.clone();
        merged.settings = record.settings.clone();
        return;
    }
    // Each shard counts the objects of its own partition: they add up. A
    // kind some shard did not list was not listed by the run: it is left
    // out, so the evidence says so (shards list the same kinds, those of
    // the policies they all load, unless their options differ).
    merged.objects_by_kind = match (&merged.objects_by_kind, &record.objects_by_kind) {
        (Some(a), Some(b)) => Some(
            a.iter()
                .filter_map(|(kind, n)| b.get(kind).map(|m| (kind.clone(), n + m)))
                .collect(),
        ),
        _ => None,
    };
    merged.objects_evaluated_by_kind = add_counts(
        &merged.objects_evaluated_by_kind,
        &record.objects_evaluated_by_kind,
    );
    // Per namespace too; a namespace some shard did not count (it loaded
    // other policies) is left out: unknown.
    merged.objects_in_policy_namespaces = match (
        &merged.objects_in_policy_namespaces,
        &record.objects_in_policy_namespaces,
    ) {
        (Some(a), Some(b)) => Some(
            a.iter()
                .filter_map(|(namespace, kinds)| {
                    let sum = add_counts(&Some(kinds.clone()), &b.get(namespace).cloned())?;
                    Some((namespace.clone(), sum))
                })
                .collect(),
        ),
        _ => None,
    };
    // A shard that does not say leaves the sum unknown.
    let add = |a: &Option<crate::run::record_format::ResultsByRule>,
               b: &Option<crate::run::record_format::ResultsByRule>| match (a, b) {
        (Some(a), Some(b)) => {
            let mut sum = a.clone();
            crate::run::record_format::add_by_rule(&mut sum, b);
            Some(sum)
        }
        _ => None,
    };
    merged.results_by_rule = add(&merged.results_by_rule, &record.results_by_rule);
    merged.kinds_by_rule = add(&merged.kinds_by_rule, &record.kinds_by_rule);
    // Shards read the policies one after another: a document changed in
    // between, or created, deleted or given (`--policy`) to some shards
    // only, was not the same document for all of them. No digest stands
    // for it, so the evidence reads it as changed since the scan: a policy
    // some shards never evaluated is never ready on the others' results.
    merged.input_digests = match (&merged.input_digests, &record.input_digests) {
        (Some(a), Some(b)) => {
            let mut digests = a.clone();
            for (key, digest) in digests.iter_mut() {
                if b.get(key) != Some(digest) {
                    *digest = CONFLICTING_DIGEST.to_string();
                }
            }
            for key in b.keys() {
                digests
                    .entry(key.clone())
                    .or_insert_with(|| CONFLICTING_DIGEST.to_string());
            }
            Some(digests)
        }
        _ => None,
    };
}

fn extend_unique(into: &mut Vec<String>, from: &[String]) {
    for item in from {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

fn add_counts(
    a: &Option<BTreeMap<String, usize>>,
    b: &Option<BTreeMap<String, usize>>,
) -> Option<BTreeMap<String, usize>> {
    let (Some(a), Some(b)) = (a, b) else {
        return None;
    };
    let mut sum = a.clone();
    for (kind, n) in b {
        *sum.entry(kind.clone()).or_default() += n;
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::shard::Shard;
    use chrono::{DateTime, Utc};

    fn at(minute: u32) -> Option<DateTime<Utc>> {
        Some(
            DateTime::parse_from_rfc3339(&format!("2026-12-01T10:{minute:02}:00Z"))
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    fn shard_record(index: u32, count: u32, run: Option<&str>, minute: u32) -> ScanRecord {
        ScanRecord {
            source: format!("polscan-system/last-{index}"),
            started: at(minute),
            finished: at(minute + 1),
            complete: true,
            shard: Some(Shard::new(index, count).unwrap()),
            run_id: run.map(str::to_string),
            objects_by_kind: Some(BTreeMap::from([("Pod".to_string(), 10 + index as usize)])),
            input_digests: Some(BTreeMap::from([("cpol/p".to_string(), "d1".to_string())])),
            ..ScanRecord::default()
        }
    }

    /// A namespace name shard `index` of `count` owns.
    fn owned_by(index: u32, count: u32) -> String {
        (0..)
            .map(|i| format!("team-{i}"))
            .find(|n| Shard::of_key(n, count) == index)
            .unwrap()
    }

    #[test]
    fn all_shards_of_one_run_make_one_complete_record() {
        let read = (0..3)
            .map(|i| (i, Ok(shard_record(i, 3, Some("job-1"), 10 + i))))
            .collect();
        let merged = merge_shards("polscan-system/last-0..2", read).unwrap();
        assert!(merged.complete);
        assert_eq!(merged.started, at(10));
        assert_eq!(merged.finished, at(13));
        // Each shard counts its own partition's objects: they add up.
        assert_eq!(merged.objects_by_kind.as_ref().unwrap()["Pod"], 33);
        let shards = merged.shards.as_ref().unwrap();
        assert_eq!(shards.recorded, [0, 1, 2]);
        assert!(shards.missing_statement().is_none());
        assert!(merged.covered_namespace(&owned_by(2, 3)));
        assert!(merged.covered_namespace(""));
        assert!(merged.incomplete_because().is_empty());
    }

    #[test]
    fn objects_in_policy_namespaces_add_up_and_an_uncounted_namespace_is_left_out() {
        let counts = |value: serde_json::Value| Some(serde_json::from_value(value).unwrap());
        let mut read: Vec<ShardRead> = Vec::new();
        for (i, value) in [
            serde_json::json!({"fresh": {}, "team": {"Pod": 2}, "only-here": {}}),
            serde_json::json!({"fresh": {}, "team": {"Pod": 3, "apps/Deployment": 1}}),
        ]
        .into_iter()
        .enumerate()
        {
            let mut record = shard_record(i as u32, 2, Some("job-1"), 10);
            record.objects_in_policy_namespaces = counts(value);
            read.push((i as u32, Ok(record)));
        }
        let merged = merge_shards("polscan-system/last-0..1", read.clone()).unwrap();
        assert_eq!(
            merged.objects_in_policy_namespaces,
            counts(serde_json::json!({"fresh": {}, "team": {"Pod": 5, "apps/Deployment": 1}}))
        );
        // A shard that did not count: unknown.
        if let Some((_, Ok(record))) = read.get_mut(1) {
            record.objects_in_policy_namespaces = None;
        }
        let merged = merge_shards("polscan-system/last-0..1", read).unwrap();
        assert_eq!(merged.objects_in_policy_namespaces, None);
    }

    /// Load errors of every shard are kept; what an exception names only
    /// where every shard with its error read the same.
    #[test]
    fn load_errors_merge_and_a_shard_not_naming_the_policies_unnames_them() {
        let with = |named: Option<&str>| {
            let mut record = shard_record(0, 2, Some("job-1"), 10);
            record.policies_incomplete = true;
            record.load_errors =
                BTreeMap::from([("PolicyException a/x".to_string(), "bad".to_string())]);
            if let Some(policy) = named {
                record.load_error_policies =
                    BTreeMap::from([("PolicyException a/x".to_string(), vec![policy.to_string()])]);
            }
            record
        };
        let merge = |first: ScanRecord, mut second: ScanRecord| {
            second.shard = Some(Shard::new(1, 2).unwrap());
            second.source = "polscan-system/last-1".into();
            merge_shards(
                "polscan-system/last-0..1",
                vec![(0, Ok(first)), (1, Ok(second))],
            )
            .unwrap()
        };
        let same = merge(with(Some("p")), with(Some("p")));
        assert_eq!(same.load_errors.len(), 1);
        assert_eq!(same.load_error_policies["PolicyException a/x"], ["p"]);
        for (first, second) in [(Some("p"), None), (None, Some("p")), (Some("p"), Some("q"))] {
            let merged = merge(with(first), with(second));
            assert_eq!(merged.load_errors.len(), 1);
            assert!(
                merged.load_error_policies.is_empty(),
                "{first:?} {second:?}"
            );
        }
    }

    #[test]
    fn kinds_by_rule_add_up_and_a_shard_without_them_leaves_them_unknown() {
        let kinds = |n: usize| {
            Some(BTreeMap::from([(
                "p".to_string(),
                BTreeMap::from([("r".to_string(), BTreeMap::from([("Pod".to_string(), n)]))]),
            )]))
        };
        let read = (0..2)
            .map(|i| {
                let mut record = shard_record(i, 2, Some("job-1"), 10 + i);
                record.kinds_by_rule = kinds(2 + i as usize);
                (i, Ok(record))
            })
            .collect();
        let merged = merge_shards("ns/last-0..1", read).unwrap();
        assert_eq!(merged.kinds_by_rule, kinds(5));
        let mut old = shard_record(1, 2, Some("job-1"), 11);
        old.kinds_by_rule = None;
        let mut new = shard_record(0, 2, Some("job-1"), 10);
        new.kinds_by_rule = kinds(2);
        let merged = merge_shards("ns/last-0..1", vec![(0, Ok(new)), (1, Ok(old))]).unwrap();
        assert_eq!(merged.kinds_by_rule, None);
    }

    #[test]
    fn a_shard_without_a_record_of_this_run_is_not_scanned() {
        // Shard 2 was killed before it recorded: its ConfigMap still holds
        // the previous run's complete record.
        let read = vec![
            (0, Ok(shard_record(0, 3, Some("job-2"), 30))),
            (1, Ok(shard_record(1, 3, Some("job-2"), 31))),
            (2, Ok(shard_record(2, 3, Some("job-1"), 10))),
        ];
        let merged = merge_shards("ns/last-0..2", read).unwrap();
        assert!(!merged.complete);
        assert_eq!(merged.run_id.as_deref(), Some("job-2"));
        let shards = merged.shards.as_ref().unwrap();
        assert_eq!(shards.missing(), [2]);
        assert!(shards.gaps[0].starts_with("shard 2/3: its record is of another run (job-1"));
        // Its namespaces and every cluster-scoped object are not covered;
        // the other shards' namespaces are.
        assert!(!merged.covered_namespace(&owned_by(2, 3)));
        assert!(merged.covered_namespace(&owned_by(0, 3)));
        assert!(!merged.covered_namespace(""));
        assert_eq!(merged.objects_by_kind.as_ref().unwrap()["Pod"], 21);
        let said = merged.incomplete_because().join("; ");
        assert!(said.contains("shard(s) 2 of 3"), "{said}");
        assert!(merged.gaps_named());
        // No record at all says so too.
        let read = vec![
            (0, Ok(shard_record(0, 3, Some("job-2"), 30))),
            (1, Err("no record at ConfigMap ns/last-1".to_string())),
        ];
        let merged = merge_shards("ns/last-0..2", read).unwrap();
        let gaps = &merged.shards.as_ref().unwrap().gaps;
        assert_eq!(
            gaps,
            &[
                "shard 1/3: no record at ConfigMap ns/last-1".to_string(),
                "shard 2/3: no record read (evidence reads every shard's when given the record's name without the -<I> suffix)".to_string()
            ]
        );
    }

    #[test]
    fn records_without_a_run_id_are_not_taken_for_one_run() {
        let read = (0..2)
            .map(|i| (i, Ok(shard_record(i, 2, None, 10 + i))))
            .collect();
        let merged = merge_shards("ns/last-0..1", read).unwrap();
        assert!(!merged.complete);
        assert!(merged.shards.as_ref().unwrap().recorded.is_empty());
        assert!(merged.shards.as_ref().unwrap().gaps[0].contains("no run id"));
    }

    #[test]
    fn a_run_split_fewer_ways_ignores_the_old_extra_shard() {
        // 3 shards, then 2: the old shard 2's record stays behind.
        let read = vec![
            (0, Ok(shard_record(0, 2, Some("job-3"), 40))),
            (1, Ok(shard_record(1, 2, Some("job-3"), 41))),
            (2, Ok(shard_record(2, 3, Some("job-2"), 30))),
        ];
        let merged = merge_shards("ns/last-0..2", read).unwrap();
        assert!(merged.complete, "{:?}", merged.shards);
        assert_eq!(merged.shards.as_ref().unwrap().count, 2);
        // The other way round, the old shard 0 (of 2) is no record of a
        // 3-way run.
        let read = vec![
            (0, Ok(shard_record(0, 2, Some("job-3"), 40))),
            (1, Ok(shard_record(1, 3, Some("job-4"), 50))),
            (2, Ok(shard_record(2, 3, Some("job-4"), 51))),
        ];
        let merged = merge_shards("ns/last-0..2", read).unwrap();
        assert!(!merged.complete);
        assert_eq!(merged.shards.as_ref().unwrap().missing(), [0]);
        assert!(merged.shards.as_ref().unwrap().gaps[0].contains("split another way"));
    }

    #[test]
    fn a_policy_the_shards_read_in_different_versions_has_no_digest() {
        let mut second = shard_record(1, 3, Some("job"), 11);
        second.input_digests = Some(BTreeMap::from([("cpol/p".to_string(), "d2".to_string())]));
        // Created between the shards' reads: only the last one loaded it.
        let mut third = shard_record(2, 3, Some("job"), 12);
        third
            .input_digests
            .as_mut()
            .unwrap()
            .insert("cpol/new".into(), "d3".into());
        let read = vec![
            (0, Ok(shard_record(0, 3, Some("job"), 10))),
            (1, Ok(second)),
            (2, Ok(third)),
        ];
        let merged = merge_shards("ns/last-0..2", read).unwrap();
        let digests = merged.input_digests.as_ref().unwrap();
        assert_eq!(digests["cpol/p"], CONFLICTING_DIGEST);
        assert_eq!(digests["cpol/new"], CONFLICTING_DIGEST);
        // The reason says what happened, not that the policy changed.
        let now = crate::run::record_format::DocumentDigest {
            key: "cpol/new".into(),
            digest: "d1".into(),
        };
        let why = merged.change_since(Some(&now), None).unwrap_or_default();
        assert!(
            why.starts_with("was not read alike by every shard of the last run"),
            "{why}"
        );
        assert_eq!(merged.objects_by_kind.as_ref().unwrap()["Pod"], 33);
        // Settings the shards share come through.
        let mut first = shard_record(0, 2, Some("j"), 10);
        first.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
        let mut other = shard_record(1, 2, Some("j"), 11);
        other.policy_exceptions = Some(crate::run::exception_scope::ExceptionScope::Disabled);
        let merged = merge_shards("ns/last-0..1", vec![(0, Ok(first)), (1, Ok(other))]).unwrap();
        assert_eq!(
            merged.policy_exceptions,
            Some(crate::run::exception_scope::ExceptionScope::Disabled)
        );
    }

    #[test]
    fn shards_run_with_other_options_are_not_one_complete_scan() {
        let settings = |exclude_kinds: &str| {
            Some(BTreeMap::from([
                ("--exclude-kinds".to_string(), exclude_kinds.to_string()),
                ("--report-per".to_string(), "resource".to_string()),
            ]))
        };
        let same = |i| {
            let mut record = shard_record(i, 3, Some("job"), 10 + i);
            record.settings = settings("");
            (i, Ok(record))
        };
        let merged = merge_shards("ns/last-0..2", vec![same(0), same(1), same(2)]).unwrap();
        assert!(merged.complete && merged.error.is_none());
        assert!(merged
            .shards
            .as_ref()
            .unwrap()
            .mismatch_statement()
            .is_none());
        // Shard 0 left Pods out: a Pod of its namespaces was never judged.
        let mut first = shard_record(0, 3, Some("job"), 10);
        first.settings = settings("Pod");
        first.objects_by_kind = Some(BTreeMap::from([("ConfigMap".to_string(), 1)]));
        let merged = merge_shards("ns/last-0..2", vec![(0, Ok(first)), same(1), same(2)]).unwrap();
        assert!(!merged.complete);
        let shards = merged.shards.as_ref().unwrap();
        assert_eq!(
            shards.mismatched,
            ["--exclude-kinds (shard 1/3, 2/3: none; shard 0/3: Pod)"]
        );
        assert!(merged.incomplete_because().join("; ").contains(
            "given different options, so their results are not one scan's (run every shard with the same options): --exclude-kinds"
        ));
        assert!(merged.gaps_named());
        // A kind some shard did not list is not listed by the run.
        let listed = merged.objects_by_kind.as_ref().unwrap();
        assert!(!listed.contains_key("Pod"), "{listed:?}");
        assert!(merged.error.is_none());
    }

    #[test]
    fn a_run_id_given_to_two_runs_is_no_complete_run() {
        let mut again = shard_record(0, 2, Some("same"), 50);
        again.run_id_reused_from = Some("2027-01-15T08:10:00Z".into());
        let read = vec![
            (0, Ok(again)),
            (1, Ok(shard_record(1, 2, Some("same"), 11))),
        ];
        let merged = merge_shards("ns/last-0..1", read).unwrap();
        assert!(!merged.complete);
        let said = merged.incomplete_because().join("; ");
        assert!(
            said.contains("the run id was given to more than one run")
                && said.contains("shard 0/2 replaced a complete record of the same id started 2027-01-15T08:10:00Z"),
            "{said}"
        );
        assert!(merged.gaps_named());
    }

    #[test]
    fn no_shard_record_is_no_sharded_run() {
        let whole = ScanRecord {
            complete: true,
            ..ScanRecord::default()
        };
        assert!(merge_shards("ns/last-0..0", vec![(0, Ok(whole))]).is_none());
        assert!(merge_shards("ns/last-0..0", vec![(0, Err("none".into()))]).is_none());
    }
}
