//! The fail-closed baseline of a production environment: which policies
//! of a baseline severity are not enforced. What [`crate::verdict::baseline`]
//! found leaves as a [`Baseline`] of [`BaselineBreach`]es (evidence.json's
//! `baseline`, docs/evidence.schema.json), listed at the top of the pages.

use serde::{Deserialize, Serialize};

use super::Verdict;

/// The environment whose policies of these severities must all enforce.
pub const PRODUCTION: &str = "production";

/// `baseline`: with `--environment production`, the severities every
/// policy of which must be enforced, and the policies that are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    /// `severities`: the `policies.kyverno.io/severity` values the
    /// baseline covers (`--baseline-severity`, lower case).
    pub severities: Vec<String>,
    /// `covered`: how many policies have one of those severities. 0 is an
    /// empty baseline, which holds nothing: no breach, and no assurance
    /// either (walk25 F14: "every policy of severity critical is
    /// enforced" was said where no policy was critical). Absent in
    /// packages made before it (read as unknown: `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered: Option<usize>,
    /// `breaches`: the policies of those severities that do not enforce,
    /// in the evidence's order; empty when the baseline holds.
    pub breaches: Vec<BaselineBreach>,
}

impl Baseline {
    /// Whether no policy has a baseline severity: the baseline then holds
    /// nothing, which the pages say instead of "held".
    pub fn is_empty(&self) -> bool {
        self.covered == Some(0)
    }
}

/// One policy of a baseline severity whose action is not Enforce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineBreach {
    /// The policy (`namespace/name` when namespaced).
    pub policy: String,
    /// Its kind.
    pub kind: String,
    /// Its `policies.kyverno.io/severity`, as written.
    pub severity: String,
    /// Its action, as one line ([`crate::ingest::policy_info::PolicyInfo::action_summary`]).
    pub action: String,
    /// Its verdict: whether it is ready to enforce.
    pub verdict: Verdict,
    /// Ready: the commands that switch it to Enforce (the Git patch with
    /// `--policy-repo`, else the kubectl command); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promote: Vec<String>,
    /// Not ready: who must fix what — the owners of violating resources
    /// with their violations, then the reasons and notes of the verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_fix: Vec<String>,
}
