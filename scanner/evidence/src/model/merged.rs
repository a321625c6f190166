//! The merged decision over several environments' packages, as it leaves
//! `polscan evidence merge` (merged.json; its serde shape is
//! docs/evidence-merged.schema.json's, [`MERGED_SCHEMA_VERSION`]): which
//! packages entered ([`EnvironmentPackage`]), and per policy the merged
//! verdict with its reasons and, side by side, each environment's verdict,
//! counts, top violators and soak ([`EnvironmentVerdict`]). Built by
//! [`crate::merge`]; what enters is the environments' [`super::Evidence`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Counts, Verdict};
use crate::ingest::{ClusterIdentity, ObjectName};

/// `schemaVersion` of merged.json; docs/evidence-merged.schema.json
/// describes it.
pub const MERGED_SCHEMA_VERSION: &str = "polscan.io/evidence-merged/v1";

/// merged.json: one go/no-go decision over several environments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedEvidence {
    /// `schemaVersion`: [`MERGED_SCHEMA_VERSION`].
    pub schema_version: String,
    /// When the merge was made.
    pub generated: DateTime<Utc>,
    /// The version of polscan that merged.
    pub polscan_version: String,
    /// The packages merged, in the order given.
    pub environments: Vec<EnvironmentPackage>,
    /// Per policy (by qualified name, sorted), the merged verdict.
    pub policies: Vec<MergedPolicy>,
    /// Facts about the packages that are no objection by themselves (two
    /// environments on one cluster).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One environment's package, as it entered the merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentPackage {
    /// What the merge calls the environment: the package's `environment`,
    /// else its cluster ([`crate::merge::environment_label`]).
    pub label: String,
    /// The package directory, as given.
    pub package: String,
    /// The package's `environment`; None when it was built without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The cluster the package is about.
    pub cluster: ClusterIdentity,
    /// When the package was made.
    pub generated: DateTime<Utc>,
    /// When the scan behind it started; None without a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_started: Option<DateTime<Utc>>,
    /// The SHA-256 of its evidence.json (as its MANIFEST lists it): which
    /// package exactly the decision rests on.
    pub evidence_sha256: String,
}

/// One policy's merged verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedPolicy {
    /// The qualified name (`namespace/name` for a namespaced policy).
    pub name: String,
    /// The policy's kind, as the first package holding it says.
    pub kind: String,
    /// `ready` only when ready in every environment, with the same rules
    /// everywhere; else `not-ready`.
    pub verdict: Verdict,
    /// Why it is not ready for production, each naming the environment;
    /// empty when ready.
    pub reasons: Vec<String>,
    /// Per environment, in the order of `environments`.
    pub environments: Vec<EnvironmentVerdict>,
}

/// One environment's column of a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentVerdict {
    /// The environment's label.
    pub environment: String,
    /// The verdict in its package; None when the package does not hold
    /// the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The policy's action there (`Audit`, `Enforce`, …); None when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Its package's reasons, the first few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// How many reasons its package gives in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reason_count: usize,
    /// The results by status; None when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// The owners with the most violations (fail, error, warn), most first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violators: Vec<Violator>,
    /// How many owners have violations in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub violating_owners: usize,
    /// The policy's `soak` object in its package, as it is there; None
    /// when the package has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak: Option<Value>,
    /// The policy's `rulesDigest` there, which the merge compares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_digest: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// An owner of violating resources and how many violations it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violator {
    /// The top owner (the resource itself when it has none).
    pub owner: ObjectName,
    /// Its violations of the policy.
    pub violations: usize,
}

impl MergedEvidence {
    /// The policies ready in every environment, in order.
    pub fn ready(&self) -> impl Iterator<Item = &MergedPolicy> {
        self.policies.iter().filter(|p| p.verdict == Verdict::Ready)
    }

    /// The environments' labels, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.environments.iter().map(|e| e.label.as_str()).collect()
    }
}

impl EnvironmentVerdict {
    /// The column's text for a table: `ready to enforce (0 fail, 0 error)`,
    /// `not in the package`.
    pub fn summary(&self) -> String {
        match (self.verdict, &self.counts) {
            (Some(verdict), Some(counts)) => format!(
                "{} ({} fail, {} error)",
                verdict.label(),
                counts.fail,
                counts.error
            ),
            (Some(verdict), None) => verdict.label().to_string(),
            (None, _) => "not in the package".into(),
        }
    }

    /// The soak object in a line (`key: value, …` of its plain fields);
    /// None without one. Its shape is the package's: read as it comes.
    pub fn soak_summary(&self) -> Option<String> {
        let soak = self.soak.as_ref()?;
        // A package's soak says itself in `summary` (`clean since …`,
        // `WAIT: 3 more day(s) …`); the other fields only where it has none.
        if let Some(summary) = soak.get("summary").and_then(Value::as_str) {
            return Some(summary.to_string());
        }
        Some(match soak {
            Value::Object(fields) => fields
                .iter()
                .filter_map(|(key, value)| match value {
                    Value::String(text) => Some(format!("{key}: {text}")),
                    Value::Number(_) | Value::Bool(_) => Some(format!("{key}: {value}")),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(", "),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    }
}
