//! What leaves as files: an [`crate::model::Evidence`] enters; index.html
//! ([`html`]), evidence.md ([`markdown`]) and the package directory that
//! holds them with evidence.json, the generated PolicyExceptions and a
//! MANIFEST ([`package`], which also verifies a package and reads a
//! previous one back) leave; a merged package's pages are [`merged`]'s.
//! The pages show long lists capped ([`ListLimits`]); evidence.json always
//! has all.

pub mod html;
pub mod markdown;
pub mod merged;
pub mod package;

/// Whether the package holds a Git patch (promote or rollback) of any
/// policy.
pub fn has_patches(evidence: &crate::model::Evidence) -> bool {
    evidence.policies.iter().any(|p| {
        p.git_change
            .as_ref()
            .is_some_and(|c| c.promote.is_some() || c.rollback.is_some())
    })
}

/// The check each Git patch needs before it is merged, said beside the
/// `git apply` lines and on the pages: polscan reads the checkout's files,
/// not what Flux, Argo CD, Helm or kustomize build of them.
pub const CHECK_THE_BUILD: &str = "Before merging a patch, compare what this cluster's delivery builds with it and without it (`flux diff kustomization`, `kustomize build`, `helm template` with the release's values, `argocd app diff`): polscan reads the repository's files, not what Flux, Argo CD, Helm or kustomize build of them, and refuses only the layouts it knows it cannot follow.";

/// How much of a long list a page shows; evidence.json always has all.
#[derive(Debug, Clone, Copy)]
pub struct ListLimits {
    /// Owners shown per policy.
    pub owners: usize,
    /// Violations shown per owner.
    pub per_owner: usize,
}

/// The fails a PolicyException with `background: false` covers (walk28
/// F18): the scan keeps them, Kyverno's admission skips the rule for them.
/// Other excused results are skips already.
pub(crate) fn excused_at_admission(
    policy: &crate::model::PolicyEvidence,
) -> Vec<&crate::model::Violation> {
    policy
        .excused
        .iter()
        .filter(|v| &*v.result != "skip")
        .collect()
}

/// Said under "Roll back when", after the conditions, because teams copy
/// the list into their runbook: a scan that stopped is RESCAN, never a
/// rollback (walk28 F5). Not a condition, so not in `rollbackConditions`
/// (verify28).
pub(crate) const NOT_A_ROLLBACK: &str = "not when a scan does not complete for this policy (a failed list of a kind it reaches, the policy or its policy source not loaded, a failed write, a stopped or killed scan): that is RESCAN — rescan, the cluster did not change";

/// `1 owner`, `2 owners`.
pub(crate) fn owners_count(n: usize) -> String {
    if n == 1 {
        "1 owner".into()
    } else {
        format!("{n} owners")
    }
}

/// The first `limit` of `lines`, then `… and N more <elsewhere>` for the
/// rest.
pub(crate) fn capped(lines: &[String], limit: usize, elsewhere: &str) -> Vec<String> {
    let mut shown: Vec<String> = lines.iter().take(limit).cloned().collect();
    if lines.len() > limit {
        shown.push(format!("… and {} more {elsewhere}", lines.len() - limit));
    }
    shown
}

/// One team's part of a policy's "Who must fix what", as plain text each
/// page formats.
pub(crate) struct TeamSection {
    /// The team, its counts and where its label was read.
    pub heading: String,
    /// Per owner its violating resources, then the rules' messages.
    pub lines: Vec<String>,
}

/// Owners shown per team, resources per owner, messages per team.
const TEAM_OWNERS: usize = 10;
const OWNER_RESOURCES: usize = 5;
const TEAM_MESSAGES: usize = 5;

/// A not-ready policy's violations routed to teams: per team (those
/// without an owner label last) the owners, their resources and the
/// rules' messages. Empty for a policy that is ready or has no violation.
pub(crate) fn who_must_fix(
    policy: &crate::model::PolicyEvidence,
    routing: Option<&crate::model::OwnerRouting>,
) -> Vec<TeamSection> {
    if policy.verdict != crate::model::Verdict::NotReady {
        return Vec::new();
    }
    // Results that name a CEL compile error are the policy's fault: no
    // team is sent to fix a resource for it (verify28, walk28 F10).
    let compile_errors = policy
        .violations
        .iter()
        .filter(|v| v.message.contains("compilation error"))
        .count();
    if compile_errors > 0 && compile_errors == policy.violations.len() {
        return vec![TeamSection {
            heading: format!(
                "the policy's authors: its {compile_errors} failing result(s) name a CEL compile error; no resource is at fault — fix the policy"
            ),
            lines: Vec::new(),
        }];
    }
    let unrouted = routing.map_or_else(
        || "no owner label".to_string(),
        |routing| routing.unrouted_heading(),
    );
    policy
        .team_groups()
        .into_iter()
        .map(|group| {
            let counts = format!(
                "{} violation(s), {}",
                group.violations,
                owners_count(group.owners.len())
            );
            let heading = match group.team {
                Some(team) => format!("{team}: {counts} ({})", group.sources_text()),
                None => format!("{unrouted}: {counts}"),
            };
            let mut owner_lines: Vec<String> = Vec::new();
            for owner in &group.owners {
                let mut resources: Vec<String> = owner
                    .violations
                    .iter()
                    .map(|v| v.resource.to_string())
                    .collect();
                resources.dedup();
                let shown = capped(&resources, OWNER_RESOURCES, "");
                owner_lines.push(format!(
                    "{} → {} resource(s), {} violation(s): {}",
                    owner.owner,
                    resources.len(),
                    owner.violations.len(),
                    shown.join(", ").trim_end()
                ));
            }
            let mut lines = capped(&owner_lines, TEAM_OWNERS, "owners (evidence.json)");
            let messages: Vec<String> = group
                .messages
                .iter()
                .map(|(rule, message, n)| {
                    let rule = if rule.is_empty() { "(CEL)" } else { rule };
                    format!("rule {rule} ({n}×): {message}")
                })
                .collect();
            lines.extend(capped(&messages, TEAM_MESSAGES, "messages (evidence.json)"));
            TeamSection { heading, lines }
        })
        .collect()
}

/// A policy's coverage per rule, as the cells of a table: the rule, the
/// kinds evaluated, the resources evaluated, and "no resource in scope"
/// when it evaluated none. Empty for a package without coverage (an older
/// polscan's).
pub(crate) fn coverage_rows(policy: &crate::model::PolicyEvidence) -> Vec<[String; 4]> {
    policy
        .rule_evidence
        .iter()
        .filter_map(|rule| {
            let coverage = rule.coverage.as_ref()?;
            let kinds = match &coverage.kinds {
                None => "kinds not recorded".to_string(),
                Some(kinds) if kinds.is_empty() => "—".to_string(),
                Some(kinds) => kinds
                    .iter()
                    .map(|(kind, n)| format!("{kind} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let evaluated = match coverage.counted_from {
                crate::model::CountedFrom::Record => coverage.evaluated.to_string(),
                crate::model::CountedFrom::Reports => {
                    format!("{} (in the reports)", coverage.evaluated)
                }
            };
            Some([
                if rule.name.is_empty() {
                    "(CEL)".to_string()
                } else {
                    rule.name.clone()
                },
                kinds,
                evaluated,
                coverage.no_resource_in_scope.clone().unwrap_or_default(),
            ])
        })
        .collect()
}
