//! Who must fix what: a policy's violations, each with the team its owner
//! labels route it to ([`crate::ingest::owner_labels`]), enter; they leave
//! grouped by team and owner ([`TeamGroup`], for the pages' "Who must fix
//! what") and counted per team ([`TeamCount`], for a go/no-go decision
//! naming the teams to contact). [`OwnerRouting`] is evidence.json's
//! `ownerRouting`: which label keys were looked for.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::policy::{OwnerGroup, PolicyEvidence, Violation};
use crate::ingest::owner_labels::LabelSource;
use crate::ingest::ObjectName;

/// `ownerRouting` in evidence.json: how violations were routed to teams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRouting {
    /// The label keys looked for, in order (`--owner-label`).
    pub labels: Vec<String>,
    /// Whether labels were read: false from report files given without
    /// manifests or Namespaces, where every team is unknown.
    pub labels_read: bool,
}

impl OwnerRouting {
    /// The heading of the violations no team label routes, for the pages.
    pub fn unrouted_heading(&self) -> String {
        if self.labels_read {
            format!("no owner label (looked for: {})", self.labels.join(", "))
        } else {
            format!(
                "team unknown: no labels were read (reports from files: give the manifests or Namespaces with --from to route by {})",
                self.labels.join(", ")
            )
        }
    }
}

/// A team and how many of a policy's violations it must fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamCount {
    /// The team (an owner label's value).
    pub team: String,
    /// The label keys it was read from (`team`, `owner`, …).
    pub labels: BTreeSet<String>,
    /// Its violations (results) of the policy.
    pub violations: usize,
    /// The top owners (workloads) those are of.
    pub owners: usize,
}

/// A policy's violations routed to one team, for "Who must fix what".
pub struct TeamGroup<'a> {
    /// The team; None for violations no owner label routes.
    pub team: Option<&'a str>,
    /// Where the team was read: each label key and whether on the
    /// resources, their owners or their namespace.
    pub sources: BTreeSet<(&'a str, LabelSource)>,
    /// Its violations under their top owner, in the evidence's order.
    pub owners: Vec<OwnerGroup<'a>>,
    /// Its rules' messages, each with how many of its violations say it,
    /// most frequent first.
    pub messages: Vec<(&'a str, &'a str, usize)>,
    /// How many violations.
    pub violations: usize,
}

fn team_of(violation: &Violation) -> Option<&str> {
    violation.team.as_deref().map(|route| route.team.as_str())
}

impl PolicyEvidence {
    /// The teams its violations are routed to, sorted by name, with how
    /// many violations and owners each; violations without a team are
    /// left out ([`Self::violations_without_team`]).
    pub fn teams(&self) -> Vec<TeamCount> {
        type Count<'v> = (usize, BTreeSet<&'v ObjectName>, BTreeSet<String>);
        let mut teams: BTreeMap<&str, Count<'_>> = BTreeMap::new();
        for violation in &self.violations {
            if let Some(route) = violation.team.as_deref() {
                let entry = teams.entry(route.team.as_str()).or_default();
                entry.0 += 1;
                entry.1.insert(&violation.owner);
                entry.2.insert(route.label.clone());
            }
        }
        teams
            .into_iter()
            .map(|(team, (violations, owners, labels))| TeamCount {
                team: team.to_string(),
                labels,
                violations,
                owners: owners.len(),
            })
            .collect()
    }

    /// How many of its violations no owner label routes to a team.
    pub fn violations_without_team(&self) -> usize {
        self.violations.iter().filter(|v| v.team.is_none()).count()
    }

    /// Its violations by team (sorted by name; those without a team
    /// last), each team's under their owners.
    pub fn team_groups(&self) -> Vec<TeamGroup<'_>> {
        let mut by_team: BTreeMap<Option<&str>, Vec<&Violation>> = BTreeMap::new();
        for violation in &self.violations {
            by_team
                .entry(team_of(violation))
                .or_default()
                .push(violation);
        }
        // None sorts first in a BTreeMap: the unrouted go last.
        let mut teams: Vec<(Option<&str>, Vec<&Violation>)> = by_team.into_iter().collect();
        let unrouted_first = teams.first().is_some_and(|(team, _)| team.is_none());
        teams.rotate_left(usize::from(unrouted_first));
        teams
            .into_iter()
            .map(|(team, violations)| {
                let mut owners: Vec<OwnerGroup<'_>> = Vec::new();
                let mut sources = BTreeSet::new();
                let mut messages: BTreeMap<(&str, &str), usize> = BTreeMap::new();
                for violation in &violations {
                    if let Some(route) = &violation.team {
                        sources.insert((route.label.as_str(), route.from));
                    }
                    *messages
                        .entry((&*violation.rule, &*violation.message))
                        .or_default() += 1;
                    match owners.last_mut() {
                        Some(group) if *group.owner == *violation.owner => {
                            group.violations.push(violation)
                        }
                        _ => owners.push(OwnerGroup {
                            owner: &violation.owner,
                            violations: vec![violation],
                        }),
                    }
                }
                let mut messages: Vec<(&str, &str, usize)> = messages
                    .into_iter()
                    .map(|((rule, message), n)| (rule, message, n))
                    .collect();
                messages.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
                TeamGroup {
                    team,
                    sources,
                    owners,
                    messages,
                    violations: violations.len(),
                }
            })
            .collect()
    }
}

impl TeamGroup<'_> {
    /// Where the team was read, for the pages: `label team on the
    /// namespace`, several joined by `; `.
    pub fn sources_text(&self) -> String {
        self.sources
            .iter()
            .map(|(label, from)| format!("label {label} on {}", from.label()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
