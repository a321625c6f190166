//! Writing the last run's record (a ConfigMap built by
//! `scan::last_run`) by server-side apply, as polscan's field manager,
//! with optimistic concurrency: a record enters, [`Written`] leaves. And
//! appending a run's scans to the soak history beside it
//! ([`append_history`], read-modify-write on the resourceVersion): the
//! scans enter, warnings leave. A scan writes its record twice: in
//! progress before its first report write (`scan::last_run::in_progress`,
//! which also finds out early that the record cannot be written), and at
//! its end.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use kube::api::{Patch, PatchParams, PostParams};
use kube::Client;
use polscan_engine::ValueExt;
use serde_json::Value;

use super::report_store::FIELD_MANAGER;
use super::{absent_if_not_found, send, ClusterError};
use crate::evidence::run::history;

/// What [`write()`] did with the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The record is the stored one. `same_run_before`: the start of the
    /// record it replaced when that one had the same run id (a retried
    /// shard, or a run id given to two runs).
    Recorded {
        /// The replaced record's `started`, when it had our run id but
        /// another start.
        same_run_before: Option<String>,
    },
    /// A run that started later recorded meanwhile (runs overlapped: a
    /// CronJob's and one by hand, say): its record stays, this one is
    /// not written over it. Carries that run's start, as recorded.
    NewerKept {
        /// The kept record's `started` (RFC 3339).
        started: String,
    },
}

/// What to do about the stored record `current` (None: there is none)
/// before writing `ours`: write it (over `current`'s resourceVersion, so
/// that a record written in between makes the write fail and start over),
/// or keep `current` when its run started after ours. Records whose start
/// cannot be read are written over.
fn next_step(ours: &Value, current: Option<&Value>) -> Result<Option<String>, String> {
    let Some(current) = current else {
        return Ok(None);
    };
    let started = |record: &Value| data(record, "started");
    let parsed = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let theirs = started(current);
    if let (Some(ours), Some(them)) = (parsed(&started(ours)), parsed(&theirs)) {
        if them > ours {
            return Err(theirs.unwrap_or_default());
        }
    }
    Ok(current
        .str_at("/metadata/resourceVersion")
        .map(str::to_string))
}

/// Writes the record: a server-side apply as polscan's field manager,
/// made on the resourceVersion it read, retried when another writer came
/// in between (409), and not done over a record of a run that started
/// later ([`Written::NewerKept`]). Err: the read or the write failed.
pub async fn write(
    client: &Client,
    namespace: &str,
    name: &str,
    config_map: &Value,
) -> Result<Written, ClusterError> {
    let what = format!("writing ConfigMap {namespace}/{name}");
    let mut attempts = 0;
    loop {
        attempts += 1;
        let current = absent_if_not_found(
            super::get(
                client,
                &format!("/api/v1/namespaces/{namespace}/configmaps"),
                name,
            )
            .await,
        )?;
        let before = same_run_before(config_map, current.as_ref());
        let resource_version = match next_step(config_map, current.as_ref()) {
            Ok(version) => version,
            Err(started) => return Ok(Written::NewerKept { started }),
        };
        let mut record = config_map.clone();
        // The final record over this run's own in-progress one: what the
        // in-progress write found about the run id carries over.
        let carried = current
            .as_ref()
            .filter(|c| same_attempt(config_map, c))
            .and_then(|c| data(c, crate::evidence::run::record_format::keys::RUN_ID_REUSED));
        if reuses_run_id(config_map, current.as_ref()) || carried.is_some() {
            if let (Some(started), Some(Value::Object(data))) =
                (before.clone().or(carried), record.get_mut("data"))
            {
                data.insert(
                    crate::evidence::run::record_format::keys::RUN_ID_REUSED.into(),
                    Value::String(started),
                );
            }
        }
        if let (Some(version), Some(Value::Object(metadata))) =
            (resource_version, record.get_mut("metadata"))
        {
            metadata.insert("resourceVersion".into(), Value::String(version));
        }
        let applied = apply(
            client,
            what.clone(),
            namespace,
            name,
            &record,
            PatchParams::apply(FIELD_MANAGER).force(),
        )
        .await;
        match applied {
            Err(err) if err.code() == Some(409) && attempts < MAX_ATTEMPTS => continue,
            Err(err) => return Err(err),
            Ok(()) => {
                return Ok(Written::Recorded {
                    same_run_before: before,
                })
            }
        }
    }
}

/// `data.<key>` of a record.
fn data(record: &Value, key: &str) -> Option<String> {
    record.str_at(&format!("/data/{key}")).map(str::to_string)
}

/// The start of `current` when it is of the same run id as `ours` but
/// another start: a retried shard, or a run id reused.
fn same_run_before(ours: &Value, current: Option<&Value>) -> Option<String> {
    let current = current?;
    let run = data(ours, "runId")?;
    // The start to the nanosecond where both have it: two runs may start
    // in the same second.
    let start = |record: &Value| data(record, "attempt").or_else(|| data(record, "started"));
    (data(current, "runId")? == run && start(current) != start(ours))
        .then(|| data(current, "started").unwrap_or_default())
}

/// Whether two records are of one run's one attempt (its in-progress and
/// its final record).
fn same_attempt(ours: &Value, current: &Value) -> bool {
    data(ours, "attempt").is_some()
        && data(ours, "attempt") == data(current, "attempt")
        && data(ours, "runId") == data(current, "runId")
}

/// Whether `current` is a complete record of `ours`'s run id from another
/// start: the id was given to a second run (a retried shard replaces an
/// incomplete record, or none). Evidence cannot then tell the runs'
/// shard records apart.
fn reuses_run_id(ours: &Value, current: Option<&Value>) -> bool {
    same_run_before(ours, current).is_some()
        && current.is_some_and(|c| data(c, "complete").as_deref() == Some("true"))
}

/// Writes of one record tried before a conflict is an error.
const MAX_ATTEMPTS: usize = 5;

/// Writes of the soak history tried before a conflict is an error: the
/// shards of a sharded run append to it at once.
const MAX_HISTORY_ATTEMPTS: usize = 16;

/// Appends one run's scans of its policies to the soak history at
/// `namespace/name` ([`crate::evidence::run::history`]): read, append,
/// and write on the resourceVersion read (created when absent), again from
/// the read when another writer came in between (409), at most
/// [`MAX_HISTORY_ATTEMPTS`] times. Ok: warnings (a history that could not
/// be read was started again). Err: the read or the write failed.
pub async fn append_history(
    client: &Client,
    namespace: &str,
    name: &str,
    at: DateTime<Utc>,
    shard: Option<&history::ShardOf>,
    scans: &BTreeMap<String, history::PolicyScan>,
) -> Result<Vec<String>, ClusterError> {
    update_history(client, namespace, name, |stored| {
        history::record(stored, at, shard, scans);
        true
    })
    .await
    .map(|(warnings, _)| warnings)
}

/// Adds the runs missing from the soak history at `namespace/name` as
/// gaps in every policy's history ([`history::record_gap`]: each run's
/// start and why; `now` for the bounds), in one write as
/// [`append_history`] appends; nothing is written when no policy's history
/// gains one. Ok: warnings, and for each run whether its gap was added.
/// Err: the read or the write failed.
pub async fn append_gaps(
    client: &Client,
    namespace: &str,
    name: &str,
    runs: &[(DateTime<Utc>, String)],
    now: DateTime<Utc>,
) -> Result<(Vec<String>, Vec<bool>), ClusterError> {
    let mut added = vec![false; runs.len()];
    let (warnings, _) = update_history(client, namespace, name, |stored| {
        // Again from the stored history on a retry.
        for (gained, (at, reason)) in added.iter_mut().zip(runs) {
            *gained = history::record_gap(stored, *at, reason, now) > 0;
        }
        added.contains(&true)
    })
    .await?;
    Ok((warnings, added))
}

/// The run records that share the soak history of the record `own`
/// (`base`, or `base-<I>` for shard I): a run of another layout on the
/// same record (unsharded after sharded, or the reverse) leaves its record
/// under another of these names, which `own`'s run would not read
/// otherwise. Listed by polscan's label in `namespace`.
pub async fn sibling_records(
    client: &Client,
    namespace: &str,
    base: &str,
    own: &str,
) -> Result<Vec<Value>, ClusterError> {
    let collection = format!("/api/v1/namespaces/{namespace}/configmaps");
    let params = kube::api::ListParams::default().labels("app.kubernetes.io/managed-by=polscan");
    let list: Value = send(
        client,
        format!("listing polscan's ConfigMaps in namespace {namespace}"),
        kube::core::Request::new(&collection).list(&params),
    )
    .await?;
    Ok(list
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|item| {
            item.str_at("/metadata/name")
                .is_some_and(|name| is_sibling(name, base, own))
        })
        .cloned()
        .collect())
}

/// Whether `name` is a run record of `base`'s (`base`, `base-<digits>`)
/// other than `own`.
fn is_sibling(name: &str, base: &str, own: &str) -> bool {
    let shard = name
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|index| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()));
    name != own && (name == base || shard)
}

/// Read, `change`, and write on the resourceVersion read (created when
/// absent), again from the read when another writer came in between;
/// `change` returns whether it changed anything (nothing is written when
/// not). Ok: warnings, and whether it wrote.
async fn update_history(
    client: &Client,
    namespace: &str,
    name: &str,
    mut change: impl FnMut(&mut history::History) -> bool,
) -> Result<(Vec<String>, bool), ClusterError> {
    let collection = format!("/api/v1/namespaces/{namespace}/configmaps");
    let what = format!("writing the soak history ConfigMap {namespace}/{name}");
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut warnings = Vec::new();
        let current = absent_if_not_found(super::get(client, &collection, name).await)?;
        let mut stored = match history::parse(current.as_ref()) {
            Ok(stored) => stored,
            Err(err) => {
                warnings.push(format!(
                    "the soak history ConfigMap {namespace}/{name} could not be read ({err}): it starts again with this run"
                ));
                history::History::new()
            }
        };
        if !change(&mut stored) {
            return Ok((warnings, false));
        }
        let data = history::data(&stored);
        let request = kube::core::Request::new(collection.clone());
        let sent = match current {
            Some(mut config_map) => {
                // The whole object back, on the resourceVersion read: a
                // write in between makes this one fail with 409.
                config_map["data"] = Value::Object(data);
                let body = serde_json::to_vec(&config_map).unwrap_or_default();
                send::<Value>(
                    client,
                    what.clone(),
                    request.replace(name, &PostParams::default(), body),
                )
                .await
            }
            None => {
                let config_map =
                    crate::evidence::run::record_format::config_map(namespace, name, data);
                let body = serde_json::to_vec(&config_map).unwrap_or_default();
                // Created by another shard in between: 409 as well.
                send::<Value>(
                    client,
                    what.clone(),
                    request.create(&PostParams::default(), body),
                )
                .await
            }
        };
        match sent {
            Err(err) if err.code() == Some(409) && attempts < MAX_HISTORY_ATTEMPTS => continue,
            Err(err) => return Err(err),
            Ok(_) => return Ok((warnings, true)),
        }
    }
}

/// The stored record, None when there is none: what [`restore`] puts back
/// when the scan that replaced it with its in-progress record ran no scan
/// after all.
pub async fn read(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Value>, ClusterError> {
    absent_if_not_found(
        super::get(
            client,
            &format!("/api/v1/namespaces/{namespace}/configmaps"),
            name,
        )
        .await,
    )
}

/// Puts back the record [`read`] before this scan's in-progress record
/// replaced it (None: deletes the in-progress one), for a scan refused
/// before it listed or wrote anything (a mistyped command line): the last
/// run's record stays the evidence. Only under the run's Lease, so no
/// other scan wrote in between.
pub async fn restore(
    client: &Client,
    namespace: &str,
    name: &str,
    previous: Option<&Value>,
) -> Result<(), ClusterError> {
    let Some(data) = previous
        .and_then(|p| p.get("data"))
        .and_then(Value::as_object)
    else {
        let deleted = send::<Value>(
            client,
            format!("deleting ConfigMap {namespace}/{name}"),
            kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/configmaps"))
                .delete(name, &Default::default()),
        )
        .await;
        return absent_if_not_found(deleted).map(|_| ());
    };
    let record = crate::evidence::run::record_format::config_map(namespace, name, data.clone());
    apply(
        client,
        format!("restoring ConfigMap {namespace}/{name}"),
        namespace,
        name,
        &record,
        PatchParams::apply(FIELD_MANAGER).force(),
    )
    .await
}

async fn apply(
    client: &Client,
    what: String,
    namespace: &str,
    name: &str,
    config_map: &Value,
    params: PatchParams,
) -> Result<(), ClusterError> {
    let body = super::apply_body(config_map, &what)?;
    send::<Value>(
        client,
        what,
        kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/configmaps")).patch(
            name,
            &params,
            &Patch::Apply(body),
        ),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(started: &str, version: Option<&str>) -> Value {
        let mut record = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "last", "namespace": "ns"},
            "data": {"started": started, "complete": "true"}});
        if let Some(version) = version {
            record["metadata"]["resourceVersion"] = json!(version);
        }
        record
    }

    #[test]
    fn a_record_is_written_over_an_older_one_on_its_version() {
        let ours = record("2027-01-15T08:00:00Z", None);
        assert_eq!(next_step(&ours, None), Ok(None));
        let older = record("2027-01-15T07:00:00Z", Some("42"));
        assert_eq!(next_step(&ours, Some(&older)), Ok(Some("42".into())));
        // A record of the same start (this run's own, written before).
        let same = record("2027-01-15T08:00:00Z", Some("43"));
        assert_eq!(next_step(&ours, Some(&same)), Ok(Some("43".into())));
        // One that cannot say when its run started is written over.
        let unreadable = record("yesterday", Some("44"));
        assert_eq!(next_step(&ours, Some(&unreadable)), Ok(Some("44".into())));
    }

    #[test]
    fn a_run_id_seen_before_is_told() {
        let mut ours = record("2027-01-15T08:00:00Z", None);
        ours["data"]["runId"] = json!("job-1");
        let mut earlier = record("2027-01-14T08:00:00Z", Some("9"));
        assert_eq!(same_run_before(&ours, Some(&earlier)), None);
        earlier["data"]["runId"] = json!("job-1");
        assert_eq!(
            same_run_before(&ours, Some(&earlier)),
            Some("2027-01-14T08:00:00Z".into())
        );
        assert_eq!(same_run_before(&ours, None), None);
        // Two runs in the same second differ to the nanosecond.
        let mut same_second = record("2027-01-15T08:00:00Z", Some("10"));
        same_second["data"]["runId"] = json!("job-1");
        same_second["data"]["attempt"] = json!("2027-01-15T08:00:00.100Z");
        ours["data"]["attempt"] = json!("2027-01-15T08:00:00.900Z");
        assert_eq!(
            same_run_before(&ours, Some(&same_second)),
            Some("2027-01-15T08:00:00Z".into())
        );
        // A retry replaces an incomplete record: no reuse. A complete one
        // of another start: the id was given to two runs.
        earlier["data"]["complete"] = json!("false");
        assert!(!reuses_run_id(&ours, Some(&earlier)));
        earlier["data"]["complete"] = json!("true");
        assert!(reuses_run_id(&ours, Some(&earlier)));
    }

    #[test]
    fn the_records_of_both_layouts_on_one_base_are_siblings() {
        assert!(is_sibling("run", "run", "run-1"));
        assert!(is_sibling("run-0", "run", "run"));
        assert!(is_sibling("run-12", "run", "run-1"));
        assert!(!is_sibling("run-1", "run", "run-1"), "its own");
        assert!(!is_sibling("run-history", "run", "run"));
        assert!(!is_sibling("run-", "run", "run"));
        assert!(!is_sibling("runner-1", "run", "run"));
        assert!(!is_sibling("other", "run", "run"));
    }

    #[test]
    fn the_final_record_keeps_what_the_in_progress_one_found() {
        let mut ours = record("2027-01-15T08:00:00Z", None);
        ours["data"]["runId"] = json!("job-1");
        ours["data"]["attempt"] = json!("2027-01-15T08:00:00.100Z");
        let mut in_progress = ours.clone();
        in_progress["data"]["runIdReusedFrom"] = json!("2027-01-14T08:00:00Z");
        assert!(same_attempt(&ours, &in_progress));
        // Not another attempt's, nor another run's.
        let mut other = in_progress.clone();
        other["data"]["attempt"] = json!("2027-01-15T08:00:00.900Z");
        assert!(!same_attempt(&ours, &other));
        other["data"]["attempt"] = ours["data"]["attempt"].clone();
        other["data"]["runId"] = json!("job-2");
        assert!(!same_attempt(&ours, &other));
    }

    #[test]
    fn a_record_of_a_run_that_started_later_stays() {
        let ours = record("2027-01-15T08:00:00Z", None);
        let newer = record("2027-01-15T08:05:00+00:00", Some("45"));
        assert_eq!(
            next_step(&ours, Some(&newer)),
            Err("2027-01-15T08:05:00+00:00".into())
        );
    }
}
