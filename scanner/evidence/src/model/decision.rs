//! The decision per policy, as evidence.json's `decisions` holds it and
//! the pages show it first: what [`crate::verdict::decision`] made of the
//! verdicts, the Git patches, the comparison and the baseline leaves as
//! [`PolicyDecision`]s, each a [`Decision`] with what to do; [`summary`]
//! counts them in one line, [`breaches`] names the baseline's.

use serde::{Deserialize, Serialize};

/// What to do with a policy now (`go`, `no-go`, `wait`, `enforced`,
/// `roll-back`, `rescan` in evidence.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Enforcing now would contradict the rollback conditions: return the
    /// policy to Audit (a comparison with `--since` found one met).
    RollBack,
    /// Enforced, but the last scan did not cover it (stopped, failed, or
    /// left out namespaces it applies in): not confirmed since the
    /// previous package, and no rollback condition known — rescan.
    Rescan,
    /// Ready: switch to Enforce now.
    Go,
    /// Ready but for the time it must stay clean: switch once it has.
    Wait,
    /// Not ready (or no evidence): fix first.
    NoGo,
    /// Enforced already, everywhere its own action reaches; no rollback
    /// condition known to be met.
    Enforced,
}

impl Decision {
    /// The decision as the pages print it (`NO-GO`).
    pub fn label(self) -> &'static str {
        match self {
            Decision::RollBack => "ROLL BACK",
            Decision::Rescan => "RESCAN",
            Decision::Go => "GO",
            Decision::Wait => "WAIT",
            Decision::NoGo => "NO-GO",
            Decision::Enforced => "ENFORCED",
        }
    }

    /// The kebab-case name evidence.json uses (`no-go`).
    pub fn key(self) -> &'static str {
        match self {
            Decision::RollBack => "roll-back",
            Decision::Rescan => "rescan",
            Decision::Go => "go",
            Decision::Wait => "wait",
            Decision::NoGo => "no-go",
            Decision::Enforced => "enforced",
        }
    }
}

/// One policy's decision, an item of `decisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDecision {
    /// The policy (`namespace/name` when namespaced).
    pub policy: String,
    /// Its kind.
    pub kind: String,
    /// What to do.
    pub decision: Decision,
    /// Its action now, as one line.
    pub action: String,
    /// GO: the commands that switch it to Enforce (the Git patch with
    /// `--policy-repo`, else the kubectl command) or why none is given;
    /// ROLL BACK: those that return it to Audit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instructions: Vec<String>,
    /// Namespaces an Audit override keeps in Audit after the switch (or
    /// now, once enforced): the switch does not enforce there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stays_audit: Vec<String>,
    /// NO-GO: the first reasons, shortened (the policy's section has them
    /// all); ROLL BACK: the rollback conditions met; RESCAN: why the last
    /// scan does not confirm it; GO, WAIT: the undocumented PolicyExceptions
    /// it rests on (no objection).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// NO-GO: whom to contact — the namespaces and owners of the violating
    /// resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// WAIT: how long it must still stay clean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_left: Option<String>,
    /// ENFORCED: the rollback status (the conditions checked against the
    /// package of `--since`, or that none was given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_status: Option<String>,
    /// In production, a policy of a baseline severity that does not
    /// enforce.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline_breach: bool,
}

impl PolicyDecision {
    /// What the pages call out above the decision table, as `(headline,
    /// text)`: ROLL BACK TO AUDIT with the conditions met, RESCAN with why
    /// the last scan does not confirm the policy; None for the others.
    pub fn alert(&self) -> Option<(&'static str, String)> {
        let reasons = self.reasons.join("; ");
        match self.decision {
            Decision::RollBack => Some(("ROLL BACK TO AUDIT", reasons)),
            // An enforced policy's: what the scan did not confirm. A policy
            // in Audit waits for a scan (its row says why); one alert per
            // such policy would repeat the scan's error down the page.
            Decision::Rescan if self.rollback_status.is_some() => Some((
                "RESCAN",
                format!("{reasons}; no rollback until a scan confirms what changed"),
            )),
            _ => None,
        }
    }

    /// Where the policy stays in Audit and why, after `Stays in Audit`:
    /// `in namespace(s) team-b (an Audit override; …)`; None when nowhere.
    pub fn stays_audit_statement(&self) -> Option<String> {
        if self.stays_audit.is_empty() {
            return None;
        }
        Some(format!(
            "in {} (an Audit override{})",
            self.stays_audit.join("; "),
            if self.decision == Decision::Go {
                "; the switch leaves it: edit the override to enforce there too"
            } else {
                ""
            }
        ))
    }
}

/// `GO 3 · NO-GO 2 · WAIT 1`, with ROLL BACK and RESCAN first and ENFORCED
/// last when any policy has them.
pub fn summary(decisions: &[PolicyDecision]) -> String {
    let count = |decision: Decision| decisions.iter().filter(|d| d.decision == decision).count();
    let mut parts = Vec::new();
    for decision in [
        Decision::RollBack,
        Decision::Rescan,
        Decision::Go,
        Decision::NoGo,
        Decision::Wait,
        Decision::Enforced,
    ] {
        let n = count(decision);
        let always = matches!(decision, Decision::Go | Decision::NoGo | Decision::Wait);
        if always || n > 0 {
            parts.push(format!("{} {n}", decision.label()));
        }
    }
    parts.join(" · ")
}

/// True when an instruction is a `git apply` of the package's patches
/// (the pages then say where to run it).
pub fn applies_patches(decisions: &[PolicyDecision]) -> bool {
    decisions
        .iter()
        .flat_map(|d| &d.instructions)
        .any(|i| i.starts_with("git apply "))
}

/// Where a package's `git apply patches/…` runs, said once for every page:
/// the patch paths are this package's, the patch applies in the checkout.
pub const PATCHES_FROM_ANYWHERE: &str = "with <repository> the policy checkout (--policy-repo's Git work tree) and <package> this package's folder, as `polscan evidence` printed them";

/// A `git apply patches/…` instruction as it runs from any folder:
/// `git -C <repository> apply <package>/patches/…`, the form the terminal
/// prints with real paths (the package may be moved, so it holds none).
/// Other commands are returned as they are.
pub fn from_anywhere(command: &str) -> String {
    match command.strip_prefix("git apply ") {
        Some(patch) => format!("git -C <repository> apply <package>/{patch}"),
        None => command.to_string(),
    }
}

/// The baseline's breaches with their decisions: `policy (GO)`.
pub fn breaches(decisions: &[PolicyDecision]) -> Vec<String> {
    decisions
        .iter()
        .filter(|d| d.baseline_breach)
        .map(|d| format!("{} ({})", d.policy, d.decision.label()))
        .collect()
}
