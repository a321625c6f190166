//! Which objects and reports one shard of a sharded scan owns, decided
//! without I/O. A shard (`--shard I/N`, or `--shards N` with the index from
//! an Indexed Job's `JOB_COMPLETION_INDEX`) and an object's or report's
//! place enter; whether this shard lists, evaluates, writes and prunes it
//! leaves.
//!
//! The partition, fixed (it must give the same answer in every polscan
//! version and on every machine, or two shards of one run would both own,
//! or both skip, an object):
//! - a namespaced object or report belongs to the shard of its namespace,
//!   so a namespace is never split (its per-namespace report stays whole,
//!   and a shard lists whole namespaces);
//! - a cluster-scoped object belongs to the shard of `group/Kind/name`
//!   (the core group is empty: `/Namespace/prod`), and its per-resource
//!   ClusterPolicyReport to its resource's (the report's owner reference);
//! - with `--report-per namespace` every cluster-scoped object belongs to
//!   shard 0: their results share one ClusterPolicyReport;
//! - the shard of a key is the first 8 bytes of its SHA-256, read as a
//!   big-endian integer, modulo N. SHA-256 because a standard fixes it:
//!   Rust's own hasher is seeded at random and free to change.

use sha2::{Digest, Sha256};

/// One shard of a scan split `count` ways: it owns the objects whose key
/// hashes to `index` (0-based, below `count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard's index, `0..count`.
    pub index: u32,
    /// How many shards the scan is split into, at least 1.
    pub count: u32,
}

/// A shard given wrongly on the command line or in the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not `I/N` with whole numbers.
    #[error("{0:?}: expected I/N, the shard's index (from 0) and the number of shards, e.g. 0/3")]
    Syntax(String),
    /// N is 0.
    #[error("{index}/0: the number of shards must be at least 1")]
    NoShards {
        /// The index given.
        index: u32,
    },
    /// I is not below N.
    #[error("{index}/{count}: the index must be below the number of shards (0 to {last})", last = count.saturating_sub(1))]
    OutOfRange {
        /// The index given.
        index: u32,
        /// The number of shards given.
        count: u32,
    },
}

impl Shard {
    /// A checked shard: `count` at least 1, `index` below it.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards { index });
        }
        if index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Shard { index, count })
    }

    /// Parses `I/N` (`--shard 0/3`).
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(text.to_string());
        let (index, count) = text.trim().split_once('/').ok_or_else(syntax)?;
        let index = index.trim().parse().map_err(|_| syntax())?;
        let count = count.trim().parse().map_err(|_| syntax())?;
        Shard::new(index, count)
    }

    /// The shard (`0..count`) a partition key falls in.
    pub fn of_key(key: &str, count: u32) -> u32 {
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
    }

    /// Whether this shard owns the namespaced objects and reports of
    /// `namespace`.
    pub fn owns_namespace(&self, namespace: &str) -> bool {
        Shard::of_key(namespace, self.count) == self.index
    }

    /// Whether this shard owns the cluster-scoped object `group/kind/name`
    /// (and its per-resource report). With `--report-per namespace`
    /// (`per_namespace`) shard 0 owns them all.
    pub fn owns_cluster_object(
        &self,
        group: &str,
        kind: &str,
        name: &str,
        per_namespace: bool,
    ) -> bool {
        if per_namespace {
            return self.index == 0;
        }
        Shard::of_key(&format!("{group}/{kind}/{name}"), self.count) == self.index
    }
}

/// As `I/N` text (evidence.json).
impl serde::Serialize for Shard {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Shard {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Shard, D::Error> {
        let text = String::deserialize(deserializer)?;
        Shard::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Shard {
    /// `I/N`, as `--shard` takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_and_count() {
        assert_eq!(Shard::parse("0/3"), Ok(Shard { index: 0, count: 3 }));
        assert_eq!(Shard::parse(" 2 / 3 "), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(
            Shard::parse("3/3"),
            Err(ShardError::OutOfRange { index: 3, count: 3 })
        );
        assert_eq!(Shard::parse("0/0"), Err(ShardError::NoShards { index: 0 }));
        assert_eq!(
            ShardError::NoShards { index: 0 }.to_string(),
            "0/0: the number of shards must be at least 1"
        );
        for bad in ["3", "a/3", "1/", "-1/3", "1/3/4"] {
            assert_eq!(
                Shard::parse(bad),
                Err(ShardError::Syntax(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(
            ShardError::OutOfRange { index: 3, count: 3 }.to_string(),
            "3/3: the index must be below the number of shards (0 to 2)"
        );
        assert_eq!(Shard { index: 1, count: 4 }.to_string(), "1/4");
    }

    /// The partition is part of polscan's contract with itself across
    /// versions: shards of one run may come from different builds during
    /// an upgrade. These values were computed once, outside polscan
    /// (Python's hashlib: SHA-256, first 8 bytes big-endian, modulo N), and
    /// must never change.
    #[test]
    fn the_partition_is_stable() {
        let golden: [(&str, [u32; 4]); 5] = [
            ("kube-system", [1, 1, 1, 1]),
            ("default", [1, 1, 4, 13]),
            ("team-a", [0, 0, 3, 4]),
            ("/Namespace/prod", [1, 1, 3, 3]),
            ("rbac.authorization.k8s.io/ClusterRole/admin", [1, 0, 4, 5]),
        ];
        for (key, shards) in golden {
            for (count, shard) in [2, 3, 7, 16].into_iter().zip(shards) {
                assert_eq!(Shard::of_key(key, count), shard, "{key} over {count}");
            }
            assert_eq!(Shard::of_key(key, 1), 0);
        }
        let prod = Shard::new(3, 7).unwrap();
        assert!(prod.owns_cluster_object("", "Namespace", "prod", false));
        assert!(Shard::new(3, 7).unwrap().owns_namespace("team-a"));
    }

    #[test]
    fn every_object_has_exactly_one_owner() {
        for count in [1, 2, 3, 5] {
            let shards: Vec<Shard> = (0..count).map(|i| Shard::new(i, count).unwrap()).collect();
            for i in 0..200 {
                let namespace = format!("team-{i}");
                assert_eq!(
                    shards
                        .iter()
                        .filter(|s| s.owns_namespace(&namespace))
                        .count(),
                    1
                );
                let name = format!("node-{i}");
                for per_namespace in [false, true] {
                    assert_eq!(
                        shards
                            .iter()
                            .filter(|s| s.owns_cluster_object("", "Node", &name, per_namespace))
                            .count(),
                        1
                    );
                }
            }
        }
        // With per-namespace reports the cluster-scoped ones share shard 0.
        let second = Shard::new(1, 3).unwrap();
        assert!(!second.owns_cluster_object("", "Namespace", "prod", true));
        assert!(Shard::new(0, 3)
            .unwrap()
            .owns_cluster_object("", "Namespace", "prod", true));
    }

    #[test]
    fn the_partition_is_balanced() {
        // 12,000 namespace-like names over 3, 4 and 16 shards: each shard's
        // count is within 4 standard deviations of a fair random split's
        // (binomial: sqrt(share × (1 − 1/N))), i.e. within 5% of its
        // share at 3 shards and 14% at 16.
        let names: Vec<String> = (0..12_000).map(|i| format!("ns-{i:05}")).collect();
        for count in [3u32, 4, 16] {
            let mut sizes = vec![0usize; count as usize];
            for name in &names {
                sizes[Shard::of_key(name, count) as usize] += 1;
            }
            let share = names.len() as f64 / f64::from(count);
            let deviation = (share * (1.0 - 1.0 / f64::from(count))).sqrt();
            for size in &sizes {
                assert!(
                    (*size as f64 - share).abs() < 4.0 * deviation,
                    "{count} shards: {sizes:?}"
                );
            }
        }
    }
}
