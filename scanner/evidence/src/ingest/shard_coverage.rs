//! What of a sharded run a record covers: the shard count, the shards
//! whose record was read, and why the others (or the run as a whole) fall
//! short. Built by [`super::shards::merge_shards`], held by
//! [`super::record::ScanRecord`], read by the verdicts. Data only.

use serde::{Deserialize, Serialize};

use crate::run::shard::Shard;

/// What of a sharded run the evidence's record covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardCoverage {
    /// N: the shards the run was split into.
    pub count: u32,
    /// The shards (0-based, ascending) whose record of the run was read.
    pub recorded: Vec<u32>,
    /// Why each other shard counts as not scanned, one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
    /// Options the recorded shards did not agree on, one phrase each
    /// (`--exclude-kinds (shard 0/3: none; shard 1/3: Pod)`): their
    /// results are not one scan's, so the run is not complete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatched: Vec<String>,
    /// Shards whose record replaced a complete one of the same run id
    /// from another start, one phrase each: the id was given to two runs,
    /// so the other shards' records may be of either.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reused_run_id: Vec<String>,
}

impl ShardCoverage {
    /// Shards of the run without a record of it, ascending.
    pub fn missing(&self) -> Vec<u32> {
        (0..self.count)
            .filter(|i| !self.recorded.contains(i))
            .collect()
    }

    /// Whether the recorded shards cover `namespace`'s objects (`""`:
    /// cluster-scoped objects, spread over every shard).
    pub fn covers_namespace(&self, namespace: &str) -> bool {
        if namespace.is_empty() {
            return self.missing().is_empty();
        }
        self.recorded
            .contains(&Shard::of_key(namespace, self.count))
    }

    /// "the shards ran with different options: …" for a reason; None when
    /// they agreed.
    /// (Or a run id given to two runs: [`Self::reused_run_id`].)
    pub fn mismatch_statement(&self) -> Option<String> {
        let mut said = Vec::new();
        if !self.mismatched.is_empty() {
            said.push(format!(
                "the shards of the run were given different options, so their results are not one scan's (run every shard with the same options): {}",
                self.mismatched.join("; ")
            ));
        }
        if !self.reused_run_id.is_empty() {
            said.push(format!(
                "the run id was given to more than one run, so the shards' records may be of different runs (give each run its own --run-id): {}",
                self.reused_run_id.join("; ")
            ));
        }
        (!said.is_empty()).then(|| said.join("; "))
    }

    /// "shard(s) 0, 2 of 3 (…why…)" for a reason; None when all are there.
    pub fn missing_statement(&self) -> Option<String> {
        let missing = self.missing();
        if missing.is_empty() {
            return None;
        }
        let list: Vec<String> = missing.iter().map(u32::to_string).collect();
        let why = if self.gaps.is_empty() {
            "their records were not read: give evidence the record's name without the -<I> suffix"
                .to_string()
        } else {
            self.gaps.join("; ")
        };
        Some(format!(
            "the namespaces and cluster-scoped objects of shard(s) {} of {} ({why})",
            list.join(", "),
            self.count
        ))
    }
}

/// The digest of a document the shards read in different versions: no
/// document's digest equals it.
pub const CONFLICTING_DIGEST: &str = "shards-read-different-versions";
