//! evidence.md: the evidence as Markdown for a pull request. An
//! [`Evidence`] enters; the text leaves.

use std::fmt::Write;

use super::{capped, ListLimits};
use crate::ingest::policy_info::Rollback;
use crate::model::{
    applies_patches, decision_breaches, decision_summary, from_anywhere, Baseline, Decision,
    Evidence, OwnerRouting, PolicyDecision, PolicyEvidence, RuleChange, Verdict, Violation,
    ViolationChange, PATCHES_FROM_ANYWHERE,
};
use report_model::text::{is_hostile, Shown};

/// A pull request comment must stay short (GitHub caps comments at 65,536
/// characters): a few owners per policy, the rest in the other files.
const LIMITS: ListLimits = ListLimits {
    owners: 10,
    per_owner: 3,
};

/// New and fixed violations listed one by one, at most.
const CHANGES_LISTED: usize = 20;

/// Text from reports and policies (names, messages) as Markdown, in a
/// table cell or a list item: a pipe would end the cell and a line break
/// the row or item, so pipes are escaped and line breaks become spaces;
/// `<` and `>` are escaped so the text cannot open raw HTML (an `<!--`
/// hides the rest of a pull request comment), `[` and `]` so it cannot
/// make a link or image (walk25 F17: `[link](javascript:…)` from a
/// ConfigMap's data rendered live); a backslash is escaped
/// first, so it cannot escape what follows it; other control characters
/// and bidirectional overrides become `\u{..}`.
pub(crate) fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            // A message's `*` and backticks are text, not emphasis or
            // code (verify29 V16).
            '\\' | '|' | '<' | '>' | '[' | ']' | '*' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            // Shown, not obeyed, by a terminal `cat`ing the file or a
            // review showing the diff.
            c if is_hostile(c, Shown::Document) => out.push_str(&c.escape_unicode().to_string()),
            _ => out.push(c),
        }
    }
    out
}

/// A command in a code span inside a table cell: a code span shows
/// backslashes and `<` as they are, so only what ends the cell or row is
/// escaped (GFM removes the backslash of `\|` before the span is read).
fn code_cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'], " ")
}

pub(crate) fn verdict_mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ready => "✅ ready to enforce",
        Verdict::NotReady => "❌ not ready",
        Verdict::NoEvidence => "❔ no evidence",
        Verdict::Wait => "⏳ clean so far, waiting",
    }
}

/// evidence.md: the evidence as Markdown, long lists capped.
pub fn render(evidence: &Evidence) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Policy enforcement evidence\n");
    let _ = writeln!(
        out,
        "Generated {} by polscan {}.",
        evidence.generated.to_rfc3339(),
        evidence.polscan_version
    );
    let cluster = &evidence.cluster;
    let _ = writeln!(
        out,
        "Cluster: kube-system UID `{}`, server {}.",
        cluster.kube_system_uid.as_deref().unwrap_or("unknown"),
        cluster.server_version.as_deref().unwrap_or("unknown")
    );
    if let Some(environment) = &evidence.environment {
        let _ = writeln!(out, "Environment: **{}**.", cell(environment));
    }
    match &evidence.scan {
        Some(scan) => {
            let causes = scan.incomplete_because();
            let _ = writeln!(
                out,
                "Scan: started {}, {} ({}).\n",
                scan.started
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "unknown".into()),
                match (scan.complete, causes.is_empty()) {
                    (true, _) => "complete".to_string(),
                    (false, true) => "incomplete".to_string(),
                    (false, false) => format!("incomplete — {}", causes.join("; ")),
                },
                scan.recorded_where()
            );
            let limits = scan.scope_limits();
            if !limits.is_empty() {
                let _ = writeln!(out, "Scan scope: {}.\n", limits.join("; "));
            }
        }
        None => {
            let _ = writeln!(out, "Scan: no record of the scan.\n");
        }
    }
    for statement in evidence.scope_statements() {
        let _ = writeln!(out, "**{}**\n", statement.trim_end_matches('.'));
    }
    decision_section(&mut out, evidence);
    if let Some(baseline) = &evidence.baseline {
        baseline_section(&mut out, baseline);
    }
    let ready = evidence.ready().count();
    let _ = writeln!(
        out,
        "**{ready} of {} policies ready to enforce{}.**\n",
        evidence.policies.len(),
        enforced_already(evidence)
    );
    let _ = writeln!(
        out,
        "| Policy | Action | Verdict | Pass | Fail | Warn | Error | Skip |\n|---|---|---|---:|---:|---:|---:|---:|"
    );
    for policy in &evidence.policies {
        let action = if policy.enforced_with_violations() {
            format!("**{}** ⚠️", policy.info.action)
        } else {
            policy.info.action.clone()
        };
        let c = policy.counts;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&policy.info.qualified_name()),
            action,
            verdict_mark(policy.verdict),
            c.pass,
            c.fail,
            c.warn,
            c.error,
            c.skip
        );
    }
    for policy in &evidence.policies {
        policy_section(&mut out, policy, evidence.owner_routing.as_ref());
    }
    if !evidence.exceptions.is_empty() {
        let _ = writeln!(
            out,
            "\n## Exceptions\n\n| Source | Name | Covers | Owner | Reason | Expires | Status |\n|---|---|---|---|---|---|---|"
        );
        for e in &evidence.exceptions {
            let mut status = cell(&format!("{:?}", e.status));
            if let Some(problem) = &e.problem {
                status.push_str(&format!(": {}", cell(problem)));
            }
            // The file as code (walk34: its backticks came out escaped).
            if let Some(file) = &e.policy_exception_file {
                status.push_str(&format!(
                    " (Kyverno ignores it: apply `{}`)",
                    code_cell(&file.replace('`', ""))
                ));
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                e.source,
                cell(&e.name),
                cell(&e.policies.join(", ")),
                cell(e.owner.as_deref().unwrap_or("—")),
                cell(e.reason.as_deref().unwrap_or("—")),
                cell(e.expires.as_deref().unwrap_or("none")),
                status
            );
        }
    }
    if !evidence.generated_exceptions.is_empty() {
        let _ = writeln!(
            out,
            "\n## Generated PolicyExceptions\n\nThese resources are excused only by `{}` annotations, which Kyverno's admission does not read: once the policy is enforced, it would reject them when created again (a rollout's new Pods, a re-apply) and at an update that newly violates, or at any update where the rule sets allowExistingViolations: false. Apply these files (`kubectl apply -f <file>`) to make each bypass explicit to Kyverno. Each matches the excused resources' top owner by name and what it creates, from the highest excused kind down: the objects it controls now by name and, where its label selector is known, `<owner>-*` carrying the selector's labels, so the next rollout stays covered. Read each one's warnings before applying it:\n",
            polscan_engine::exceptions::annotation::EXCEPTION
        );
        for generated in &evidence.generated_exceptions {
            let _ = writeln!(
                out,
                "- `{}`: matches {} ({}){}",
                generated.file,
                cell(&generated.matches.join(" and ")),
                cell(&generated.covers.join(", ")),
                generated
                    .existing_not_applied
                    .as_ref()
                    .map(|why| format!(" — {}", cell(why)))
                    .unwrap_or_default()
            );
            for warning in &generated.warnings {
                let _ = writeln!(out, "  - ⚠ {}", cell(warning));
            }
        }
    }
    if let Some(comparison) = &evidence.comparison {
        let _ = writeln!(
            out,
            "\n## Since {}\n",
            comparison.previous_generated.to_rfc3339()
        );
        for count in comparison.counts() {
            let _ = writeln!(out, "- {}: {}", count.label, count.count);
        }
        if let Some(change) = &comparison.exception_scope_change {
            let _ = writeln!(
                out,
                "- **the scans applied different PolicyExceptions** — before: {}; now: {}. What exceptions skip is not compared like with like: rescan with the same `--exception-namespace` as Kyverno's.",
                cell(&change.previous),
                cell(&change.current)
            );
        }
        if !comparison.removed_policies.is_empty() {
            let _ = writeln!(
                out,
                "- **policies removed since** (deleted, or not given; nothing checks what they checked): {}",
                cell(&comparison.removed_policies.join(", "))
            );
        }
        if !comparison.not_compared.is_empty() {
            let _ = writeln!(
                out,
                "- not compared (the earlier package was filtered with `--policy`): {}",
                comparison.not_compared.join(", ")
            );
        }
        let lists: [(&str, &Vec<ViolationChange>); 4] = [
            ("New violations", &comparison.new_violations),
            ("Fixed violations", &comparison.fixed_violations),
            ("Excused, not fixed", &comparison.excused_violations),
            ("Not known to be fixed", &comparison.unknown_violations),
        ];
        for (title, changes) in lists {
            if changes.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n### {title}\n");
            for v in changes.iter().take(CHANGES_LISTED) {
                let _ = writeln!(
                    out,
                    "- {} {}{}{}",
                    cell(&v.policy),
                    cell(&v.describe()),
                    if v.action.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", cell(&v.action))
                    },
                    v.why()
                        .map(|r| format!(": {}", cell(r)))
                        .unwrap_or_default()
                );
            }
            if changes.len() > CHANGES_LISTED {
                let _ = writeln!(
                    out,
                    "- … and {} more: see evidence.json",
                    changes.len() - CHANGES_LISTED
                );
            }
        }
        for rule_change in &comparison.rule_changes {
            rule_change_section(&mut out, rule_change);
        }
        let exception_lists = [
            ("New exceptions", &comparison.new_exceptions),
            ("Expired exceptions", &comparison.expired_exceptions),
            ("Removed exceptions", &comparison.removed_exceptions),
        ];
        for (title, names) in exception_lists {
            if names.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n### {title}\n");
            for name in names {
                let _ = writeln!(out, "- {}", cell(name));
            }
        }
        for check in &comparison.rollback_checks {
            let _ = writeln!(
                out,
                "\n### Rollback check: {} ({}) — {}\n",
                check.policy,
                check.action,
                if check.roll_back || check.rescan.is_some() {
                    format!("**{}**", check.outcome())
                } else {
                    check.outcome().to_string()
                }
            );
            for c in &check.conditions {
                let _ = writeln!(
                    out,
                    "- [{}] {}: {}",
                    if c.met { "x" } else { " " },
                    c.condition,
                    cell(&c.detail)
                );
            }
            let _ = writeln!(out, "- scan coverage: {}", cell(&check.coverage()));
        }
        for check in &comparison.readiness_checks {
            let _ = writeln!(
                out,
                "\n### Readiness check: {} ({}) — {}\n",
                check.policy,
                if check.action.is_empty() {
                    "Audit"
                } else {
                    &check.action
                },
                if check.still_ready {
                    "still ready to enforce".to_string()
                } else {
                    format!(
                        "{} (was {})",
                        verdict_mark(check.verdict),
                        check.previous_verdict.label()
                    )
                }
            );
            for reason in &check.reasons {
                let _ = writeln!(out, "- {}", cell(reason));
            }
        }
    }
    out
}

/// The decision per policy, first: the one-line count, a row per policy
/// with what to do, and the baseline's breaches by name.
fn decision_section(out: &mut String, evidence: &Evidence) {
    let decisions = &evidence.decisions;
    let _ = writeln!(out, "## Decision\n\n**{}**\n", decision_summary(decisions));
    for decision in decisions {
        let Some((headline, text)) = decision.alert() else {
            continue;
        };
        let icon = if decision.decision == Decision::RollBack {
            "🛑"
        } else {
            "⚠️"
        };
        let _ = writeln!(
            out,
            "> {icon} **{headline}: {}** — {}\n",
            cell(&decision.policy),
            cell(&text)
        );
    }
    if decisions.is_empty() {
        let _ = writeln!(out, "No policy in this package.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| Decision | Policy | Action | What to do |\n|---|---|---|---|"
    );
    for decision in decisions {
        let _ = writeln!(
            out,
            "| **{}** | {} | {} | {} |",
            decision.decision.label(),
            cell(&decision.policy),
            cell(&decision.action),
            decision_lines(decision).join("<br>")
        );
    }
    if applies_patches(decisions) {
        out.push_str("\nRun `git apply` in the policy repository's root (the top of its Git work tree); the patch paths above are relative to this package's folder, so from anywhere: `git -C <repository> apply <package>/patches/<policy>/promote.patch` (or `rollback.patch`, as the row says), as `polscan evidence` printed it.\n");
    }
    if super::has_patches(evidence) {
        out.push_str(&format!("\n{}\n", super::CHECK_THE_BUILD));
    }
    if let Some(baseline) = evidence.baseline.as_ref() {
        let breaches = decision_breaches(decisions);
        if baseline.is_empty() {
            let _ = writeln!(
                out,
                "\nBaseline empty: no {} has severity {}, so none is required to be enforced ({}).",
                baseline.policies_judged(),
                baseline.severities.join(", "),
                baseline.empty_advice()
            );
        } else if breaches.is_empty() {
            let _ = writeln!(
                out,
                "\nBaseline held: every {} of severity {} is enforced.",
                baseline.policies_judged(),
                baseline.severities.join(", ")
            );
        } else {
            let _ = writeln!(
                out,
                "\n**Baseline breaches: {}** (severity {} must be enforced in production): {}",
                breaches.len(),
                baseline.severities.join(", "),
                cell(&breaches.join(", "))
            );
        }
    }
    out.push('\n');
}

/// What a decision's row says to do, one line each (table-safe).
fn decision_lines(decision: &PolicyDecision) -> Vec<String> {
    let mut lines: Vec<String> = decision
        .instructions
        .iter()
        .map(|i| {
            if i.starts_with("git apply ") || i.starts_with("kubectl ") {
                // As it runs from any folder, like the per-policy blocks.
                format!("`{}`", code_cell(&from_anywhere(i)))
            } else {
                cell(i)
            }
        })
        .collect();
    if let Some(statement) = decision.stays_audit_statement() {
        lines.push(format!("**stays in Audit** {}", cell(&statement)));
    }
    if let Some(soak) = &decision.soak_left {
        lines.push(format!("soak left: {}", cell(soak)));
    }
    lines.extend(decision.reasons.iter().map(|r| cell(r)));
    if !decision.contacts.is_empty() {
        lines.push(format!("contact: {}", cell(&decision.contacts.join("; "))));
    }
    if let Some(status) = &decision.rollback_status {
        lines.push(format!("rollback: {}", cell(status)));
    }
    if lines.is_empty() {
        lines.push("—".into());
    }
    lines
}

/// Diff lines shown in a pull request comment, at most, per diff.
const DIFF_LINES_SHOWN: usize = 80;

/// A fenced `diff` block of `diff`, its fence longer than any backtick
/// run inside, cut at [`DIFF_LINES_SHOWN`] lines.
fn diff_block(out: &mut String, diff: &str) {
    let longest = diff.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let lines: Vec<&str> = diff.lines().collect();
    let _ = writeln!(out, "\n{fence}diff");
    for line in lines.iter().take(DIFF_LINES_SHOWN) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{fence}");
    if lines.len() > DIFF_LINES_SHOWN {
        let _ = writeln!(
            out,
            "\n… and {} more lines: see evidence.json",
            lines.len() - DIFF_LINES_SHOWN
        );
    }
}

/// A policy whose rules changed: the summary, the rules added, removed
/// and changed, the diffs, and the violations the change removed or added.
fn rule_change_section(out: &mut String, change: &RuleChange) {
    let _ = writeln!(
        out,
        "\n### Rules changed: {} — {}\n",
        change.policy,
        change.summary()
    );
    let rules = change.rules_line();
    if !rules.is_empty() {
        let _ = writeln!(out, "- rules {}", cell(&rules));
    }
    if let Some(note) = &change.note {
        let _ = writeln!(out, "- {}", cell(note));
    }
    for (label, violations) in [
        (
            "removed by the change (not fixed)",
            &change.removed_violations,
        ),
        ("added by the change", &change.added_violations),
    ] {
        for v in violations.iter().take(CHANGES_LISTED) {
            let _ = writeln!(out, "- {label}: {}", cell(&v.describe()));
        }
        if violations.len() > CHANGES_LISTED {
            let _ = writeln!(
                out,
                "- {label}: … and {} more: see evidence.json",
                violations.len() - CHANGES_LISTED
            );
        }
    }
    if !change.diff.is_empty() {
        diff_block(out, &change.diff);
    }
    if !change.actions_diff.is_empty() {
        let _ = writeln!(out, "\nActions (shown, not a rule change):");
        diff_block(out, &change.actions_diff);
    }
}

/// The baseline's breaches, at the top: each with the command that
/// promotes it (ready) or who must fix what (not ready).
fn baseline_section(out: &mut String, baseline: &Baseline) {
    let severities = baseline.severities.join(", ");
    if baseline.is_empty() {
        let _ = writeln!(
            out,
            "## Baseline: empty\n\nNo {} has severity {severities}: the fail-closed baseline of production requires nothing to be enforced; {}.\n",
            baseline.policies_judged(),
            baseline.empty_advice()
        );
        return;
    }
    if baseline.breaches.is_empty() {
        let _ = writeln!(
            out,
            "## Baseline: held\n\nEvery {} of severity {severities} is enforced (fail-closed baseline of production).\n",
            baseline.policies_judged()
        );
        return;
    }
    let _ = writeln!(
        out,
        "## Baseline breaches: {}\n\nEvery policy of severity {severities} must be enforced in production (fail-closed baseline); these are not:\n",
        baseline.breaches.len()
    );
    for breach in &baseline.breaches {
        let _ = writeln!(
            out,
            "- **{}** ({}, severity {}, action {}): {}",
            cell(&breach.policy),
            breach.kind,
            cell(&breach.severity),
            cell(&breach.action),
            verdict_mark(breach.verdict)
        );
        for command in &breach.promote {
            let _ = writeln!(out, "  - switch to Enforce: `{command}`");
        }
        for line in capped(&breach.to_fix, LIMITS.owners, "(index.html, evidence.json)") {
            let _ = writeln!(out, "  - to fix: {}", cell(&line));
        }
    }
    out.push('\n');
}

/// A text sparkline of counts: `▁` for none, `▂`…`█` scaled to the largest.
fn sparkline(counts: &[u64]) -> String {
    const BARS: [char; 7] = ['▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let largest = counts.iter().copied().max().unwrap_or(1).max(1);
    counts
        .iter()
        .map(|&n| match n {
            0 => '▁',
            // Rounded up: the largest gets the full bar, any failure one.
            n => BARS[((n * 7).div_ceil(largest) as usize).clamp(1, 7) - 1],
        })
        .collect()
}

fn policy_section(out: &mut String, policy: &PolicyEvidence, routing: Option<&OwnerRouting>) {
    let _ = writeln!(
        out,
        "\n## {} — {}\n",
        policy.info.qualified_name(),
        verdict_mark(policy.verdict)
    );
    if let Some(title) = &policy.info.title {
        let _ = writeln!(out, "*{}*\n", title);
    }
    let _ = writeln!(
        out,
        "Kind: {}. Current action: **{}**{}.",
        policy.info.kind,
        policy.info.action,
        policy
            .info
            .action_detail
            .as_ref()
            .map(|d| format!(" ({})", cell(d)))
            .unwrap_or_default()
    );
    if policy.enforced_with_violations() {
        let _ = writeln!(out, "\n> ⚠️ {}", policy.enforced_violations_warning());
    }
    if !policy.reasons.is_empty() {
        let _ = writeln!(out, "\nReasons:");
        for reason in &policy.reasons {
            let _ = writeln!(out, "- {}", reason);
        }
    }
    if !policy.notes.is_empty() {
        let _ = writeln!(out, "\nNotes:");
        for note in &policy.notes {
            let _ = writeln!(out, "- {}", note);
        }
    }
    if let Some(soak) = &policy.soak {
        let _ = writeln!(out, "\nSoak: {}", soak.summary);
        if !soak.trend.is_empty() {
            let _ = writeln!(
                out,
                "\nFail results per scan (oldest → newest): `{}` {}",
                sparkline(&soak.trend),
                soak.trend
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    if policy.rule_evidence.len() > 1 {
        let _ = writeln!(
            out,
            "\n| Rule | Action | Verdict | Fail | Error |\n|---|---|---|---:|---:|"
        );
        for rule in &policy.rule_evidence {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&rule.name),
                cell(&policy.rule_action(rule)),
                verdict_mark(rule.verdict),
                rule.counts.fail,
                rule.counts.error
            );
        }
    }
    let coverage = super::coverage_rows(policy);
    if !coverage.is_empty() {
        let _ = writeln!(
            out,
            "\nCoverage per rule:\n\n| Rule | Kinds evaluated | Resources evaluated | Scope |\n|---|---|---:|---|"
        );
        for row in &coverage {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&row[0]),
                cell(&row[1]),
                cell(&row[2]),
                cell(&row[3])
            );
        }
    }
    if !policy.violations.is_empty() {
        let groups = policy.owner_groups();
        let _ = writeln!(
            out,
            "\nViolators ({}):\n",
            super::owners_count(groups.len())
        );
        for group in groups.iter().take(LIMITS.owners) {
            let _ = writeln!(
                out,
                "- **{}** (namespace {})",
                cell(&group.owner.to_string()),
                if group.owner.namespace.is_empty() {
                    "—".to_string()
                } else {
                    cell(&group.owner.namespace)
                }
            );
            for violation in group.violations.iter().take(LIMITS.per_owner) {
                let _ = writeln!(out, "  - {}", violation_line(violation));
            }
            if group.violations.len() > LIMITS.per_owner {
                let _ = writeln!(
                    out,
                    "  - … and {} more",
                    group.violations.len() - LIMITS.per_owner
                );
            }
        }
        if groups.len() > LIMITS.owners {
            let rest: usize = groups[LIMITS.owners..]
                .iter()
                .map(|g| g.violations.len())
                .sum();
            let _ = writeln!(
                out,
                "- … and {} more owners ({rest} violations): see index.html or evidence.json",
                groups.len() - LIMITS.owners
            );
        }
        if let Some(description) = &policy.info.description {
            let _ = writeln!(out, "\nRemediation: {}", cell(description));
        }
    }
    let admission = super::excused_at_admission(policy);
    if !admission.is_empty() {
        let _ = writeln!(
            out,
            "\nExcused at admission ({}): the scan keeps these results, Kyverno's admission skips the rule for them, so they count as skips here:\n",
            admission.len()
        );
        for violation in admission.iter().take(LIMITS.per_owner) {
            let _ = writeln!(out, "- {}", violation_line(violation));
        }
        if admission.len() > LIMITS.per_owner {
            let _ = writeln!(
                out,
                "- … and {} more: see evidence.json",
                admission.len() - LIMITS.per_owner
            );
        }
    }
    let teams = super::who_must_fix(policy, routing);
    if !teams.is_empty() {
        let _ = writeln!(
            out,
            "\n### Who must fix what: {}\n",
            policy.info.qualified_name()
        );
        for team in &teams {
            let _ = writeln!(out, "- **{}**", cell(&team.heading));
            for line in &team.lines {
                let _ = writeln!(out, "  - {}", cell(line));
            }
        }
    }
    if let Some(warning) = policy.flux_warning() {
        let _ = writeln!(out, "\n> **Warning:** {warning}");
    }
    let commands = policy.git_apply_commands();
    if let Some(change) = &policy.git_change {
        if let Some(problem) = &change.problem {
            let _ = writeln!(out, "\nIn Git (--policy-repo): no patch: {problem}");
        } else {
            let _ = writeln!(
                out,
                "\nIn Git (--policy-repo), the primary instruction: the action is set at `{}`. Run from any folder, {}:\n\n```sh",
                change.locations.join("`, `"),
                PATCHES_FROM_ANYWHERE
            );
            for (command, what) in &commands {
                let _ = writeln!(out, "{}    # {what}", from_anywhere(command));
            }
            out.push_str("```\n");
            for note in &change.notes {
                let _ = writeln!(out, "\n{note}.");
            }
        }
    }
    if !commands.is_empty() && policy.info.rollback.is_some() {
        out.push_str("\nFor a cluster without GitOps, in the cluster:\n");
    }
    if let Some(enforce) = policy.enforce_change() {
        action_change(out, "Enforce", enforce);
    }
    if let Some(rollback) = &policy.info.rollback {
        action_change(out, "Rollback", rollback);
        let _ = writeln!(out, "\nRoll back when:");
        for condition in &policy.rollback_conditions {
            let _ = writeln!(out, "- {}", condition);
        }
        let _ = writeln!(out, "- {}", super::NOT_A_ROLLBACK);
    }
}

/// A change of the policy's action (`Enforce`, `Rollback`): its fields,
/// their value and the command.
fn action_change(out: &mut String, label: &str, change: &Rollback) {
    let fields = change.fields.join("`, `");
    // A command goes in a shell block; the instruction for a policy only
    // in a file is prose (verify42: it read as a command to paste).
    if change.command.starts_with("kubectl ") {
        let _ = writeln!(
            out,
            "\n{label}: set `{fields}` to `{}`:\n\n```sh\n{}\n```",
            change.value, change.command
        );
    } else {
        let _ = writeln!(out, "\n{label}: {}", change.command);
    }
}

fn violation_line(violation: &Violation) -> String {
    let rule = if violation.rule.is_empty() {
        String::new()
    } else {
        format!(" [{}]", cell(&violation.rule))
    };
    format!(
        "{} {}{}: {}",
        cell(&violation.resource.to_string()),
        cell(&violation.result),
        rule,
        cell(&violation.message)
    )
}

/// ` (N of them enforce already)` where the decision says ENFORCED for
/// some: "ready" counts them too (walk69 W69-4: "3 of 4 ready" beside
/// "ENFORCED 3" read as a contradiction).
pub fn enforced_already(evidence: &Evidence) -> String {
    match evidence
        .decisions
        .iter()
        .filter(|d| d.decision == Decision::Enforced)
        .count()
    {
        0 => String::new(),
        n => format!(" ({n} of them enforce already)"),
    }
}
