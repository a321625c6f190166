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
    /// `chosen`: the policies the package was filtered to (`--policy`);
    /// the baseline was judged over them only (rev27 F4: a filtered
    /// package said "empty" beside an unenforced critical policy it left
    /// out). Empty when every policy was looked at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chosen: Vec<String>,
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

    /// "policy", or, in a package filtered with `--policy`, what it was
    /// judged over: the pages' sentences read "every {this} of severity …".
    pub fn policies_judged(&self) -> String {
        if self.chosen.is_empty() {
            "policy".into()
        } else {
            format!(
                "policy of this package (filtered with --policy to {}; the others were not judged)",
                self.chosen.join(", ")
            )
        }
    }

    /// What to do about an empty baseline: set the severity annotations,
    /// or, in a filtered package, judge the unfiltered one.
    pub fn empty_advice(&self) -> &'static str {
        if self.chosen.is_empty() {
            "set the `policies.kyverno.io/severity` annotation of the policies that belong in it"
        } else {
            "make the package without --policy to judge the baseline over every policy"
        }
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
