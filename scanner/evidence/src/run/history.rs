//! The soak history's format, shared by the scan that appends to it and the
//! evidence that reads it back: a bounded per-policy history of recorded
//! scans, kept in the cluster beside the last-run record (the ConfigMap
//! `<last-run name>-history` in its namespace; the shards of a sharded run,
//! whose records are `<name>-<I>`, all append to the one history). A
//! policy's scans in, the history's ConfigMap data out (and back); no I/O.
//!
//! The ConfigMap's data:
//!
//! - `format`: `polscan.io/soak-history/v1` ([`FORMAT`]);
//! - `policies.json`: JSON `{qualified policy name: [span, …]}`, oldest span
//!   first. A span run-length-compresses consecutive scans of the policy in
//!   the same state ([`Span`]): `first` and `last` (RFC 3339 scan start
//!   times), `scans` (how many), `hash` (the policy's [`soak_digest`]: its
//!   judging content without its action fields, so Audit → Enforce does not
//!   restart the soak but any rule change does), `action` (`Audit`,
//!   `Enforce`, `Mixed`, …), `fail`, `error` and `evaluated` (result counts;
//!   an unscored policy's `warn` counts as `fail`), `complete` (the scan
//!   covered the policy completely), and for a sharded run still being
//!   recorded `run` (`{id, count, shards: {index: {fail, error, evaluated,
//!   complete}}}`: the run counts complete only when all `count` shards
//!   recorded it complete; its counts are the shards' sums).
//!
//! A span may instead be a gap (`gap`: why): a run of the scan that never
//! reached the history — killed before it recorded (its record still said
//! in progress), failed or stopped after evaluating, or whose own append
//! failed. The next run finds it in the record it replaces and adds the gap
//! to every policy's history ([`record_gap`]): `first` = `last` = that
//! run's start, `scans` 0, the policy's last hash and action, counts 0
//! (not known). What that run found is unknown, so a gap ends a soak
//! streak as a violation does.
//!
//! A scan merges into the policy's last span when hash, action, complete,
//! fail and error are equal and it is no gap (updating `last`, `scans` and
//! `evaluated`).
//! Bounds: at most [`MAX_SPANS`] spans per policy (oldest dropped), a
//! policy not scanned for [`FORGET_AFTER_DAYS`] days is dropped, and when
//! `policies.json` exceeds [`MAX_BYTES`] the oldest spans of the longest
//! histories are dropped until it fits. Data that cannot be parsed is an
//! error for the writer to report; it then starts the history again.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use polscan_engine::ValueExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::record_format::{keys_sorted, rules_content};

/// The value of the `format` key.
pub const FORMAT: &str = "polscan.io/soak-history/v1";

/// The ConfigMap's data keys.
pub mod keys {
    /// The format's name and version ([`super::FORMAT`]).
    pub const FORMAT: &str = "format";
    /// The spans by policy, JSON.
    pub const POLICIES: &str = "policies.json";
}

/// Spans kept per policy: the oldest go first.
pub const MAX_SPANS: usize = 64;
/// A policy no scan recorded for this many days leaves the history.
pub const FORGET_AFTER_DAYS: i64 = 90;
/// The most `policies.json` may hold (a ConfigMap holds at most 1 MiB).
pub const MAX_BYTES: usize = 700 * 1024;

/// The history's ConfigMap name for the last-run record `name`.
pub fn history_name(last_run_name: &str) -> String {
    format!("{last_run_name}-history")
}

/// The spans by qualified policy name, oldest first.
pub type History = BTreeMap<String, Vec<Span>>;

/// Consecutive scans of one policy in the same state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// The first scan's start.
    pub first: DateTime<Utc>,
    /// The last scan's start.
    pub last: DateTime<Utc>,
    /// How many scans.
    pub scans: u32,
    /// The policy's [`soak_digest`].
    pub hash: String,
    /// The policy's action (`Audit`, `Enforce`, `Mixed`, …).
    pub action: String,
    /// `fail` results (an unscored policy's `warn` too).
    pub fail: u64,
    /// `error` results.
    pub error: u64,
    /// Results of any status (of the last scan of the span).
    pub evaluated: u64,
    /// The scan covered the policy completely.
    pub complete: bool,
    /// A sharded run's shards recorded so far; absent once the run is
    /// merged into the span before it, and for a whole-cluster scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<ShardedRun>,
    /// A gap: a run missing from the history, and why ([`record_gap`]);
    /// absent for a recorded scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
}

/// The shards of one sharded run recorded in a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardedRun {
    /// The run id the shards share (`--run-id`).
    pub id: String,
    /// How many shards the run has.
    pub count: u32,
    /// Each recorded shard's counts, by shard index (a retried shard
    /// replaces its earlier entry).
    pub shards: BTreeMap<u32, ShardCounts>,
}

/// One shard's counts of a policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardCounts {
    /// `fail` results.
    pub fail: u64,
    /// `error` results.
    pub error: u64,
    /// Results of any status.
    pub evaluated: u64,
    /// The shard covered the policy completely.
    pub complete: bool,
}

/// One policy as one scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyScan {
    /// The policy's [`soak_digest`].
    pub hash: String,
    /// Its [`legacy_soak_digest`] when that differs: spans an older
    /// polscan recorded with it are this content, and take `hash`.
    pub legacy_hash: Option<String>,
    /// The policy's action.
    pub action: String,
    /// The scan's (or shard's) counts of the policy.
    pub counts: ShardCounts,
}

/// The shard of a sharded run a scan was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardOf {
    /// The run id (`--run-id`).
    pub run_id: String,
    /// This shard's index.
    pub index: u32,
    /// The run's shard count.
    pub count: u32,
}

/// Why stored history data could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// `format` names another format (or none).
    #[error("data.format is {found:?}, not {FORMAT:?}")]
    Format {
        /// What `format` holds.
        found: String,
    },
    /// `policies.json` is not the documented JSON.
    #[error("data.policies.json cannot be read: {0}")]
    Json(String),
}

/// Reads a history ConfigMap's data (`None`: no ConfigMap, an empty
/// history).
pub fn parse(config_map: Option<&Value>) -> Result<History, HistoryError> {
    let Some(config_map) = config_map else {
        return Ok(History::new());
    };
    let format = config_map.str_at("/data/format").unwrap_or("");
    if format != FORMAT {
        return Err(HistoryError::Format {
            found: format.to_string(),
        });
    }
    match config_map.str_at("/data/policies.json") {
        None => Ok(History::new()),
        Some(text) => serde_json::from_str(text).map_err(|err| HistoryError::Json(err.to_string())),
    }
}

/// The ConfigMap data holding `history`.
pub fn data(history: &History) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert(keys::FORMAT.into(), FORMAT.into());
    data.insert(
        keys::POLICIES.into(),
        serde_json::to_string(history).unwrap_or_default().into(),
    );
    data
}

/// Appends one scan (`at`: its start) of `policies` (by qualified name) to
/// the history, then applies the bounds ([`bound`]).
pub fn record(
    history: &mut History,
    at: DateTime<Utc>,
    shard: Option<&ShardOf>,
    policies: &BTreeMap<String, PolicyScan>,
) {
    for (name, scan) in policies {
        let spans = history.entry(name.clone()).or_default();
        if let Some(legacy) = &scan.legacy_hash {
            for span in spans.iter_mut().filter(|span| span.hash == *legacy) {
                span.hash = scan.hash.clone();
            }
        }
        match shard {
            None => push_scan(spans, at, scan),
            Some(shard) => push_shard(spans, at, shard, scan),
        }
    }
    bound(history, at);
}

/// Adds the run that started `at` and never reached the history, and
/// why, to every policy's history as a gap span ([`Span::gap`]), unless a
/// gap at `at` is there already (the record naming that run was read
/// twice: a scan refused before it scanned puts the record it replaced
/// back). The gap goes where its time puts it, after the spans that began
/// by `at`: another shard of the next run may have appended first. A
/// policy whose history begins after `at` gets none: no streak of it can
/// reach back past it (and a record of a run long gone, read again by
/// every run, adds nothing). Then applies the bounds ([`bound`]). Returns
/// how many policies' histories gained the gap.
pub fn record_gap(
    history: &mut History,
    at: DateTime<Utc>,
    reason: &str,
    now: DateTime<Utc>,
) -> usize {
    let mut added = 0;
    for spans in history.values_mut() {
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            continue;
        };
        if first.first > at
            || spans
                .iter()
                .any(|span| span.gap.is_some() && span.first == at)
        {
            continue;
        }
        let gap = Span {
            first: at,
            last: at,
            scans: 0,
            hash: last.hash.clone(),
            action: last.action.clone(),
            fail: 0,
            error: 0,
            evaluated: 0,
            complete: false,
            run: None,
            gap: Some(reason.to_string()),
        };
        let after = spans
            .iter()
            .rposition(|span| span.first <= at)
            .map_or(0, |index| index + 1);
        spans.insert(after, gap);
        added += 1;
    }
    bound(history, now);
    added
}

fn same_state(span: &Span, hash: &str, action: &str, counts: &ShardCounts) -> bool {
    span.run.is_none()
        && span.gap.is_none()
        && span.hash == hash
        && span.action == action
        && span.complete == counts.complete
        && span.fail == counts.fail
        && span.error == counts.error
}

fn new_span(at: DateTime<Utc>, scan: &PolicyScan) -> Span {
    Span {
        first: at,
        last: at,
        scans: 1,
        hash: scan.hash.clone(),
        action: scan.action.clone(),
        fail: scan.counts.fail,
        error: scan.counts.error,
        evaluated: scan.counts.evaluated,
        complete: scan.counts.complete,
        run: None,
        gap: None,
    }
}

/// A whole-cluster scan: merged into the last span, or a new one.
fn push_scan(spans: &mut Vec<Span>, at: DateTime<Utc>, scan: &PolicyScan) {
    match spans.last_mut() {
        Some(last) if same_state(last, &scan.hash, &scan.action, &scan.counts) => {
            last.last = last.last.max(at);
            last.scans += 1;
            last.evaluated = scan.counts.evaluated;
        }
        _ => spans.push(new_span(at, scan)),
    }
}

/// A shard's scan: into its run's span (same run id, shard count, hash and
/// action), else a new span for the run; once all shards are in, the run's
/// span merges into the one before when their states are equal.
fn push_shard(spans: &mut Vec<Span>, at: DateTime<Utc>, shard: &ShardOf, scan: &PolicyScan) {
    let found = spans.iter().rposition(|span| {
        span.run
            .as_ref()
            .is_some_and(|run| run.id == shard.run_id && run.count == shard.count)
            && span.hash == scan.hash
            && span.action == scan.action
    });
    let index = match found {
        Some(index) => index,
        None => {
            let mut span = new_span(at, scan);
            span.run = Some(ShardedRun {
                id: shard.run_id.clone(),
                count: shard.count,
                shards: BTreeMap::new(),
            });
            spans.push(span);
            spans.len() - 1
        }
    };
    let span = &mut spans[index];
    let Some(run) = span.run.as_mut() else {
        return;
    };
    run.shards.insert(shard.index, scan.counts);
    span.first = span.first.min(at);
    span.last = span.last.max(at);
    span.fail = run.shards.values().map(|s| s.fail).sum();
    span.error = run.shards.values().map(|s| s.error).sum();
    span.evaluated = run.shards.values().map(|s| s.evaluated).sum();
    let all_in = (0..run.count).all(|i| run.shards.contains_key(&i));
    span.complete = all_in && run.shards.values().all(|s| s.complete);
    if !all_in {
        return;
    }
    // The run is whole: it is one scan like any other from now on.
    span.run = None;
    if index > 0 && index + 1 == spans.len() {
        let done = spans[index].clone();
        let before = &mut spans[index - 1];
        let counts = ShardCounts {
            fail: done.fail,
            error: done.error,
            evaluated: done.evaluated,
            complete: done.complete,
        };
        if same_state(before, &done.hash, &done.action, &counts) {
            before.last = before.last.max(done.last);
            before.scans += 1;
            before.evaluated = done.evaluated;
            spans.pop();
        }
    }
}

/// Applies the bounds: at most [`MAX_SPANS`] spans per policy, no policy
/// unscanned for [`FORGET_AFTER_DAYS`] days before `now`, and at most
/// [`MAX_BYTES`] of JSON (the oldest spans of the longest histories go).
pub fn bound(history: &mut History, now: DateTime<Utc>) {
    let forget_before = now - Duration::days(FORGET_AFTER_DAYS);
    history.retain(|_, spans| spans.last().is_some_and(|last| last.last >= forget_before));
    for spans in history.values_mut() {
        if spans.len() > MAX_SPANS {
            spans.drain(..spans.len() - MAX_SPANS);
        }
    }
    while serde_json::to_string(history).map_or(0, |text| text.len()) > MAX_BYTES {
        let Some(longest) = history.values_mut().max_by_key(|spans| spans.len()) else {
            return;
        };
        if longest.len() <= 1 {
            // One span per policy and still too large: the oldest-seen
            // policies go.
            let oldest = history
                .iter()
                .min_by_key(|(_, spans)| spans.last().map(|s| s.last))
                .map(|(name, _)| name.clone());
            match oldest {
                Some(name) => {
                    history.remove(&name);
                }
                None => return,
            }
            continue;
        }
        // A quarter at a time: one span at a time is quadratic.
        let drop = (longest.len() / 4).max(1);
        longest.drain(..drop);
    }
}

/// The digest the soak compares: the SHA-256 (hex) of a policy document's
/// [`rules_content`] (its judging content without its action fields —
/// the policy's `validationFailureAction` and
/// `validationFailureActionOverrides`, each rule's `failureAction`,
/// `validationFailureAction` and `failureActionOverrides`, a
/// ValidatingPolicy's `validationActions` — its labels and its appliers'
/// annotations, as `rulesDigest`); for a ValidatingAdmissionPolicy, with its bindings (`bindings` may hold any;
/// those naming it count), each without `validationActions`. So switching
/// to Enforce keeps the digest, and any change of what is judged (rules,
/// match, bindings' scope) changes it. Keys are sorted first: the same
/// content read twice gives the same digest.
pub fn soak_digest(document: &Value, bindings: &[&Value]) -> String {
    let mut content = rules_content(document);
    // What describes the policy changes no result: annotating it (the
    // production baseline asks for a severity) is no change of rules
    // (walk34: it restarted the soak).
    if let Some(Value::Object(metadata)) = content.get_mut("metadata") {
        if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
            annotations.retain(|key, _| !DESCRIPTIVE_ANNOTATIONS.contains(&key.as_str()));
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
    digest_with_bindings(document, content, bindings)
}

/// Spans an older polscan recorded with a policy's [`legacy_soak_digest`]
/// take its [`soak_digest`], for each policy among `documents` (with the
/// ValidatingAdmissionPolicyBindings among them): the same document read
/// by this polscan continues its streak (an upgrade restarts no soak).
pub fn adopt_legacy_digests(history: &mut History, documents: &[Value]) {
    let bindings: Vec<&Value> = documents
        .iter()
        .filter(|d| d.str_at("/kind") == Some("ValidatingAdmissionPolicyBinding"))
        .collect();
    for document in documents {
        let Some(info) = crate::ingest::policy_info::PolicyInfo::from_document_with_bindings(
            document, &bindings,
        ) else {
            continue;
        };
        let Some(spans) = history.get_mut(&info.qualified_name()) else {
            continue;
        };
        let (legacy, now) = (
            legacy_soak_digest(document, &bindings),
            soak_digest(document, &bindings),
        );
        for span in spans.iter_mut().filter(|span| span.hash == legacy) {
            span.hash = now.clone();
        }
    }
}

/// The soak digest polscan recorded before it left out the descriptive
/// annotations ([`DESCRIPTIVE_ANNOTATIONS`]): a span holding it is of the
/// same document, and [`record`] and the soak read it as [`soak_digest`]'s
/// (so an upgrade restarts no soak).
pub fn legacy_soak_digest(document: &Value, bindings: &[&Value]) -> String {
    digest_with_bindings(document, rules_content(document), bindings)
}

/// Annotations that describe a policy and change none of its results
/// (Kyverno's policy library sets them on every policy; `scored` and
/// `autogen-controllers`, which do change results, are not among them).
pub const DESCRIPTIVE_ANNOTATIONS: [&str; 9] = [
    "policies.kyverno.io/title",
    "policies.kyverno.io/category",
    "policies.kyverno.io/severity",
    "policies.kyverno.io/subject",
    "policies.kyverno.io/description",
    "policies.kyverno.io/minversion",
    "kyverno.io/kyverno-version",
    "kyverno.io/kubernetes-version",
    "policies.kyverno.io/platform",
];

fn digest_with_bindings(document: &Value, mut content: Value, bindings: &[&Value]) -> String {
    use sha2::{Digest, Sha256};
    if document.str_at("/kind") == Some("ValidatingAdmissionPolicy") {
        let name = document.str_at("/metadata/name").unwrap_or("");
        let mut own: Vec<Value> = bindings
            .iter()
            .filter(|b| b.str_at("/spec/policyName") == Some(name))
            .map(|b| rules_content(b))
            .collect();
        own.sort_by_key(|b| b.str_at("/metadata/name").unwrap_or("").to_string());
        content = serde_json::json!({"policy": content, "bindings": own});
    }
    let bytes = serde_json::to_vec(&keys_sorted(content)).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// Day `n` of the tests' scans (day 0: 2026-11-20T08:00:00Z).
    pub(crate) fn day(n: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
            + Duration::days(n)
    }

    fn scan(hash: &str, fail: u64, complete: bool) -> PolicyScan {
        PolicyScan {
            hash: hash.into(),
            legacy_hash: None,
            action: "Audit".into(),
            counts: ShardCounts {
                fail,
                error: 0,
                evaluated: 10 + fail,
                complete,
            },
        }
    }

    fn one(name: &str, scan: PolicyScan) -> BTreeMap<String, PolicyScan> {
        [(name.to_string(), scan)].into_iter().collect()
    }

    #[test]
    fn scans_in_the_same_state_merge_into_one_span() {
        let mut history = History::new();
        record(&mut history, day(0), None, &one("p", scan("h", 2, true)));
        record(&mut history, day(1), None, &one("p", scan("h", 0, true)));
        record(&mut history, day(2), None, &one("p", scan("h", 0, true)));
        record(&mut history, day(3), None, &one("p", scan("h", 0, false)));
        record(&mut history, day(4), None, &one("p", scan("h2", 0, true)));
        let spans = &history["p"];
        assert_eq!(spans.len(), 4);
        assert_eq!(
            (spans[1].first, spans[1].last, spans[1].scans),
            (day(1), day(2), 2)
        );
        assert_eq!(spans[0].fail, 2);
        assert!(!spans[2].complete);
        assert_eq!(spans[3].hash, "h2");
    }

    #[test]
    fn the_data_reads_back_and_other_data_is_an_error() {
        let mut history = History::new();
        record(
            &mut history,
            day(0),
            None,
            &one("team/p", scan("h", 1, true)),
        );
        let config_map = json!({"data": data(&history)});
        assert_eq!(config_map["data"]["format"], FORMAT);
        assert_eq!(parse(Some(&config_map)), Ok(history));
        assert_eq!(parse(None), Ok(History::new()));
        let wrong = json!({"data": {"format": "v0"}});
        assert!(matches!(
            parse(Some(&wrong)),
            Err(HistoryError::Format { .. })
        ));
        let broken = json!({"data": {"format": FORMAT, "policies.json": "{"}});
        assert!(matches!(parse(Some(&broken)), Err(HistoryError::Json(_))));
        // The documented span fields, by name.
        let text = config_map["data"]["policies.json"].as_str().unwrap();
        let read: Value = serde_json::from_str(text).unwrap();
        let span = &read["team/p"][0];
        for key in [
            "first",
            "last",
            "scans",
            "hash",
            "action",
            "fail",
            "error",
            "evaluated",
            "complete",
        ] {
            assert!(span.get(key).is_some(), "{key} in {span}");
        }
    }

    #[test]
    fn a_sharded_run_is_complete_only_with_all_its_shards() {
        let mut history = History::new();
        record(&mut history, day(0), None, &one("p", scan("h", 0, true)));
        let shard = |index| ShardOf {
            run_id: "job-1".into(),
            index,
            count: 3,
        };
        record(
            &mut history,
            day(1),
            Some(&shard(0)),
            &one("p", scan("h", 0, true)),
        );
        record(
            &mut history,
            day(1),
            Some(&shard(2)),
            &one("p", scan("h", 0, true)),
        );
        let spans = &history["p"];
        assert_eq!(spans.len(), 2);
        assert!(!spans[1].complete, "shard 1 missing");
        // A retried shard replaces its entry rather than adding to it.
        record(
            &mut history,
            day(1),
            Some(&shard(2)),
            &one("p", scan("h", 0, true)),
        );
        assert_eq!(history["p"][1].run.as_ref().unwrap().shards.len(), 2);
        record(
            &mut history,
            day(1),
            Some(&shard(1)),
            &one("p", scan("h", 0, true)),
        );
        // Whole, complete and clean like the span before: merged into it.
        let spans = &history["p"];
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].scans, spans[0].last), (2, day(1)));
        assert_eq!(spans[0].evaluated, 30);

        // Another run whose shard 1 finds failures: the counts are summed.
        let shard = |index| ShardOf {
            run_id: "job-2".into(),
            index,
            count: 2,
        };
        record(
            &mut history,
            day(2),
            Some(&shard(0)),
            &one("p", scan("h", 1, true)),
        );
        record(
            &mut history,
            day(2),
            Some(&shard(1)),
            &one("p", scan("h", 2, true)),
        );
        let spans = &history["p"];
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[1].fail, spans[1].complete), (3, true));
        assert!(spans[1].run.is_none());
    }

    #[test]
    fn a_run_missing_from_the_history_is_a_gap_in_every_policy() {
        let mut history = History::new();
        record(&mut history, day(0), None, &one("p", scan("h", 0, true)));
        record(&mut history, day(0), None, &one("q", scan("k", 1, true)));
        assert_eq!(record_gap(&mut history, day(3), "killed", day(4)), 2);
        // Read twice (a refused scan put the record back): one gap.
        assert_eq!(record_gap(&mut history, day(3), "killed", day(4)), 0);
        // Before every scan the history holds: nothing to end.
        assert_eq!(record_gap(&mut history, day(-1), "long ago", day(4)), 0);
        record(&mut history, day(4), None, &one("p", scan("h", 0, true)));
        let spans = &history["p"];
        assert_eq!(
            spans.len(),
            3,
            "the clean scans do not merge across the gap"
        );
        let gap = &spans[1];
        assert_eq!(gap.gap.as_deref(), Some("killed"));
        assert_eq!((gap.first, gap.last, gap.scans), (day(3), day(3), 0));
        assert_eq!((gap.hash.as_str(), gap.complete), ("h", false));
        assert_eq!(spans[2].first, day(4));
        assert_eq!(history["q"][1].gap.as_deref(), Some("killed"));
        assert_eq!(history["q"][1].hash, "k");
        // Written and read back; a recorded scan's span has no `gap` key.
        let config_map = json!({"data": data(&history)});
        assert_eq!(parse(Some(&config_map)), Ok(history.clone()));
        let text = config_map["data"]["policies.json"].as_str().unwrap();
        let read: Value = serde_json::from_str(text).unwrap();
        assert!(read["p"][0].get("gap").is_none());
        assert_eq!(read["p"][1]["gap"], "killed");

        // A shard of the next run appended before the killed shard's next
        // run found the gap: the gap goes before that run, by its time.
        let mut history = History::new();
        record(&mut history, day(0), None, &one("p", scan("h", 0, true)));
        let next = ShardOf {
            run_id: "r2".into(),
            index: 0,
            count: 2,
        };
        record(
            &mut history,
            day(5),
            Some(&next),
            &one("p", scan("h", 0, true)),
        );
        record_gap(&mut history, day(3), "killed", day(5));
        let spans = &history["p"];
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[1].gap.as_deref(), Some("killed"));
        assert_eq!(spans[2].first, day(5));
    }

    #[test]
    fn histories_are_bounded() {
        let mut history = History::new();
        for n in 0..100 {
            record(
                &mut history,
                day(n),
                None,
                &one("p", scan("h", (n % 2) as u64, true)),
            );
        }
        assert_eq!(history["p"].len(), MAX_SPANS);
        assert_eq!(history["p"].last().unwrap().last, day(99));
        // Not scanned for 90 days: forgotten.
        record(&mut history, day(200), None, &one("q", scan("h", 0, true)));
        assert!(!history.contains_key("p"));
        // Too large: the longest histories lose their oldest spans.
        let mut history = History::new();
        let long_hash = "x".repeat(4096);
        for n in 0..MAX_SPANS as i64 {
            let policies: BTreeMap<String, PolicyScan> = (0..4)
                .map(|p| (format!("p{p}"), scan(&long_hash, (n % 2) as u64, true)))
                .collect();
            record(&mut history, day(n), None, &policies);
        }
        let size = serde_json::to_string(&history).unwrap().len();
        assert!(size <= MAX_BYTES, "{size}");
        assert!(history
            .values()
            .all(|spans| spans.last().unwrap().last == day(63)));
    }

    #[test]
    fn the_soak_digest_ignores_the_action_and_nothing_else() {
        let policy = |action: &str, pattern: &str| {
            json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                "metadata": {"name": "p", "resourceVersion": "1", "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": action}},
                "spec": {"validationFailureAction": action, "rules": [{"name": "r",
                    "validate": {"failureAction": action, "pattern": {"x": pattern}}}]}})
        };
        let audit = soak_digest(&policy("Audit", "a"), &[]);
        assert_eq!(audit, soak_digest(&policy("Enforce", "a"), &[]));
        assert_ne!(audit, soak_digest(&policy("Audit", "b"), &[]));
        // A ValidatingAdmissionPolicy's bindings: Deny keeps it, a scope change not.
        let vap =
            json!({"kind": "ValidatingAdmissionPolicy", "metadata": {"name": "v"}, "spec": {}});
        let binding = |actions: &str, namespace: &str| {
            json!({"kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": "b"},
                "spec": {"policyName": "v", "validationActions": [actions],
                    "matchResources": {"namespaceSelector": {"matchLabels": {"n": namespace}}}}})
        };
        let (audit, deny, other) = (
            binding("Audit", "a"),
            binding("Deny", "a"),
            binding("Audit", "b"),
        );
        let digest = soak_digest(&vap, &[&audit]);
        assert_eq!(digest, soak_digest(&vap, &[&deny]));
        assert_ne!(digest, soak_digest(&vap, &[&other]));
        // Key order does not matter.
        let a = json!({"kind": "Policy", "metadata": {"name": "n"}, "spec": {"a": 1, "b": 2}});
        let b = json!({"spec": {"b": 2, "a": 1}, "metadata": {"name": "n"}, "kind": "Policy"});
        assert_eq!(soak_digest(&a, &[]), soak_digest(&b, &[]));
    }

    /// walk34: annotating a soaking policy with its severity (as the
    /// production baseline asks) restarted its soak as "rules changed".
    #[test]
    fn describing_a_policy_keeps_its_soak_and_an_older_digest_is_adopted() {
        let annotated = |annotations: Value| {
            json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                "metadata": {"name": "p", "annotations": annotations},
                "spec": {"rules": [{"name": "r", "validate": {"pattern": {"x": "a"}}}]}})
        };
        let plain = annotated(json!({}));
        let described = annotated(json!({"policies.kyverno.io/severity": "critical",
                                         "policies.kyverno.io/title": "T"}));
        assert_eq!(soak_digest(&plain, &[]), soak_digest(&described, &[]));
        // `scored` changes results: a change of what is judged.
        let unscored = annotated(json!({"policies.kyverno.io/scored": "false"}));
        assert_ne!(soak_digest(&plain, &[]), soak_digest(&unscored, &[]));

        // A history an older polscan wrote (its digest kept the
        // annotations) continues, at the scan and in the evidence.
        let (new, legacy) = (
            soak_digest(&described, &[]),
            legacy_soak_digest(&described, &[]),
        );
        assert_ne!(new, legacy);
        let mut history = History::new();
        let mut older = scan(&legacy, 0, true);
        older.legacy_hash = None;
        record(
            &mut history,
            day(0),
            None,
            &[("p".to_string(), older)].into(),
        );
        let mut adopted = history.clone();
        adopt_legacy_digests(&mut adopted, std::slice::from_ref(&described));
        assert_eq!(adopted["p"][0].hash, new);
        let mut now = scan(&new, 0, true);
        now.legacy_hash = Some(legacy);
        record(&mut history, day(1), None, &[("p".to_string(), now)].into());
        assert_eq!(history["p"].len(), 1, "{:?}", history["p"]);
        assert_eq!(
            (history["p"][0].scans, history["p"][0].hash.as_str()),
            (2, new.as_str())
        );
    }
}
