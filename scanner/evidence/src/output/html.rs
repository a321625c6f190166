//! index.html: the evidence as one self-contained page (inline CSS and SVG
//! charts, no external resource), readable offline and printable. An
//! [`Evidence`] enters; the HTML text leaves.

use std::fmt::Write;

use super::{capped, ListLimits};
use crate::exceptions::ExceptionStatus;
use crate::ingest::policy_info::Rollback;
use crate::model::{
    applies_patches, decision_breaches, decision_summary, from_anywhere, Baseline, Counts,
    Evidence, OwnerRouting, PolicyEvidence, RuleChange, RuleChangeStatus, SoakStatus, Verdict,
    ViolationChange, PATCHES_FROM_ANYWHERE,
};
use report_model::text::{is_hostile, Shown};

/// The page stays readable (and loads fast) on a large cluster.
const LIMITS: ListLimits = ListLimits {
    owners: 200,
    per_owner: 20,
};

/// Escapes text for HTML element content and attribute values. Control
/// characters other than line breaks and tabs, and Unicode bidirectional
/// overrides (which reorder what is read), become a visible `\u{..}`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if is_hostile(c, Shown::Document) => out.push_str(&c.escape_unicode().to_string()),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub(crate) const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24;line-height:1.45}
h1{margin-bottom:.2rem}.meta{color:#57606a;margin:.1rem 0}
table{border-collapse:collapse;margin:.6rem 0;width:100%}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-weight:600;padding:.1rem .5rem;border-radius:1rem;white-space:nowrap}
.ready{background:#dafbe1;color:#116329}.not-ready{background:#ffebe9;color:#a40e26}.no-evidence{background:#eaeef2;color:#424a53}.wait{background:#fff8c5;color:#7d4e00}
.policy{border:1px solid #d0d7de;border-radius:.5rem;padding:.8rem 1rem;margin:1.2rem 0}
.warning{background:#fff8c5;border-left:4px solid #bf8700;padding:.4rem .8rem}
code,pre{background:#f6f8fa;border-radius:.3rem}pre{padding:.5rem;overflow-x:auto;white-space:pre-wrap}
.owner{margin:.4rem 0 .1rem;font-weight:600}ul{margin:.2rem 0}
.legend span{display:inline-block;margin-right:1rem}.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
#decision{border:2px solid #1b1f24;border-radius:.5rem;padding:.4rem 1rem;margin:1rem 0}#decision-summary{font-size:1.3rem;margin:.3rem 0}
.decision-badge{font-weight:700;padding:.1rem .5rem;border-radius:.3rem;white-space:nowrap}
.decision-badge.go{background:#dafbe1;color:#116329}.decision-badge.no-go{background:#ffebe9;color:#a40e26}.decision-badge.wait{background:#fff8c5;color:#7d4e00}.decision-badge.enforced{background:#ddf4ff;color:#0a3069}.decision-badge.roll-back{background:#a40e26;color:#fff}.decision-badge.rescan{background:#fff8c5;color:#7d4e00;border:1px solid #7d4e00}
.roll-back-alert{background:#ffebe9;border-left:6px solid #a40e26;padding:.5rem .8rem;font-size:1.1rem}.rescan-alert{background:#fff8c5;border-left:6px solid #7d4e00;padding:.5rem .8rem}.breach-mark{display:block;font-size:.8rem;color:#a40e26}
@media print{.policy{break-inside:avoid}}
"#;

const COLOURS: [(&str, &str); 5] = [
    ("pass", "#2da44e"),
    ("fail", "#cf222e"),
    ("warn", "#bf8700"),
    ("error", "#8250df"),
    ("skip", "#8c959f"),
];

fn count_of(counts: &Counts, status: &str) -> usize {
    match status {
        "pass" => counts.pass,
        "fail" => counts.fail,
        "warn" => counts.warn,
        "error" => counts.error,
        _ => counts.skip,
    }
}

pub(crate) fn verdict_badge(verdict: Verdict) -> String {
    let class = verdict.key();
    format!(
        "<span class=\"verdict {class}\" data-verdict=\"{class}\">{}</span>",
        verdict.label()
    )
}

/// A horizontal stacked bar per namespace: pass, fail, warn, error, skip.
/// One result of a policy's lists: resource, status, rule, message.
fn violation_item(class: &str, violation: &crate::model::Violation) -> String {
    format!(
        "<li class=\"{class}\">{} <strong>{}</strong>{}: {}</li>",
        escape(&violation.resource.to_string()),
        escape(&violation.result),
        if violation.rule.is_empty() {
            String::new()
        } else {
            format!(" [{}]", escape(&violation.rule))
        },
        escape(&violation.message)
    )
}

fn chart(policy: &PolicyEvidence) -> String {
    let rows: Vec<(&String, &Counts)> = policy.by_namespace.iter().collect();
    if rows.is_empty() {
        // The reasons say why: nothing matched, or nothing was evaluated.
        return "<p class=\"meta\">No results.</p>".into();
    }
    let label_width = 180.0;
    let bar_width = 460.0;
    let row_height = 22.0;
    // Rows, then the axes' ticks and titles below them.
    let rows_bottom = row_height * rows.len() as f64 + 4.0;
    let height = rows_bottom + 34.0;
    let largest = rows
        .iter()
        .map(|(_, c)| c.total())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" role=\"img\" aria-label=\"results of {} by namespace\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(&policy.info.qualified_name()),
        label_width + bar_width + 60.0,
        label_width + bar_width + 60.0
    );
    for (index, (namespace, counts)) in rows.iter().enumerate() {
        let y = index as f64 * row_height + 4.0;
        let label = if namespace.is_empty() {
            "(cluster-scoped)"
        } else {
            namespace.as_str()
        };
        let _ = write!(
            svg,
            "<g class=\"bar\" data-namespace=\"{}\" data-pass=\"{}\" data-fail=\"{}\"><text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>",
            escape(namespace),
            counts.pass,
            counts.fail,
            label_width - 6.0,
            y + 14.0,
            escape(label)
        );
        let mut x = label_width;
        for (status, colour) in COLOURS {
            let count = count_of(counts, status);
            if count == 0 {
                continue;
            }
            let width = (count as f64 / largest * bar_width).max(2.0);
            let _ = write!(
                svg,
                "<rect class=\"{status}\" x=\"{x:.1}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\" fill=\"{colour}\"><title>{}: {count} {status}</title></rect>",
                row_height - 6.0,
                escape(label)
            );
            x += width;
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}</text></g>",
            x + 6.0,
            y + 14.0,
            counts.total()
        );
    }
    // The axes: namespaces up the left, the result count along the
    // bottom with ticks at 0, half and the largest row.
    let _ = write!(
        svg,
        "<g class=\"axis\" font-size=\"11\" fill=\"#57606a\"><line x1=\"{label_width}\" y1=\"2\" x2=\"{label_width}\" y2=\"{rows_bottom}\" stroke=\"#8c959f\"/><line x1=\"{label_width}\" y1=\"{rows_bottom}\" x2=\"{}\" y2=\"{rows_bottom}\" stroke=\"#8c959f\"/>",
        label_width + bar_width
    );
    let mut ticks = vec![0.0, largest];
    if largest >= 4.0 {
        ticks.insert(1, (largest / 2.0).round());
    }
    for tick in ticks {
        let x = label_width + tick / largest * bar_width;
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{rows_bottom}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#8c959f\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{tick}</text>",
            rows_bottom + 4.0,
            rows_bottom + 15.0
        );
    }
    let _ = write!(
        svg,
        "<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">results</text><text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"end\">namespace</text></g>",
        label_width + bar_width / 2.0,
        rows_bottom + 29.0,
        label_width - 6.0,
        rows_bottom + 15.0
    );
    svg.push_str("</svg>");
    svg
}

fn soak_status_key(status: SoakStatus) -> &'static str {
    match status {
        SoakStatus::Met => "met",
        SoakStatus::Wait => "wait",
        SoakStatus::Unknown => "unknown",
        SoakStatus::Off => "off",
        SoakStatus::NotApplicable => "not-applicable",
    }
}

/// The fail results of each recorded scan as a small column chart, oldest
/// left: a scan without failures shows as a green tick on the axis.
fn trend_chart(policy: &str, trend: &[u64]) -> String {
    let (left, top, column, plot_height) = (34.0, 14.0, 14.0, 60.0);
    let width = left + column * trend.len() as f64 + 10.0;
    let height = top + plot_height + 30.0;
    let most = trend.iter().copied().max().unwrap_or(0);
    let largest = most.max(1) as f64;
    let base = top + plot_height;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"trend\" role=\"img\" aria-label=\"fail results of {} per scan\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(policy)
    );
    // Axes, with the largest count and 0 on the vertical one.
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"10\" font-size=\"10\">fail results per scan</text><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{base}\" stroke=\"#57606a\"/><line x1=\"{left}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\" stroke=\"#57606a\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{most}</text><text x=\"{:.1}\" y=\"{base}\" font-size=\"10\" text-anchor=\"end\">0</text><text x=\"{left}\" y=\"{:.1}\" font-size=\"10\">oldest → newest ({} scans)</text>",
        width - 10.0,
        left - 4.0,
        top + 8.0,
        left - 4.0,
        base + 22.0,
        trend.len()
    );
    for (index, &fail) in trend.iter().enumerate() {
        let x = left + 2.0 + column * index as f64;
        let (bar, colour) = if fail == 0 {
            (2.0, "#2da44e")
        } else {
            ((fail as f64 / largest * plot_height).max(3.0), "#cf222e")
        };
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"{colour}\"><title>scan {}: {fail} fail</title></rect>",
            base - bar,
            column - 4.0,
            index + 1
        );
    }
    svg.push_str("</svg>");
    svg
}

fn legend() -> String {
    let mut text = String::from("<p class=\"legend meta\">");
    for (status, colour) in COLOURS {
        let _ = write!(
            text,
            "<span><i class=\"sw\" style=\"background:{colour}\"></i>{status}</span>"
        );
    }
    text.push_str("</p>");
    text
}

/// A `ul` of `class` with an item per text; nothing when there is none.
fn list(out: &mut String, class: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = write!(out, "<ul class=\"{class}\">");
    for item in items {
        let _ = write!(out, "<li>{}</li>", escape(item));
    }
    out.push_str("</ul>");
}

fn policy_card(out: &mut String, policy: &PolicyEvidence, routing: Option<&OwnerRouting>) {
    let name = policy.info.qualified_name();
    let _ = write!(
        out,
        "<section class=\"policy\" id=\"policy-{}\" data-policy=\"{}\"><h2>{} {}</h2>",
        escape(&name.replace('/', "-")),
        escape(&name),
        escape(&name),
        verdict_badge(policy.verdict)
    );
    if let Some(title) = &policy.info.title {
        let _ = write!(out, "<p><em>{}</em></p>", escape(title));
    }
    let _ = write!(
        out,
        "<p class=\"meta\">{} · current action <strong class=\"action\">{}</strong>{}{}{}</p>",
        escape(&policy.info.kind),
        escape(&policy.info.action),
        policy
            .info
            .action_detail
            .as_ref()
            .map(|d| format!(" <span class=\"action-detail\">({})</span>", escape(d)))
            .unwrap_or_default(),
        policy
            .info
            .severity
            .as_ref()
            .map(|s| format!(" · severity {}", escape(s)))
            .unwrap_or_default(),
        policy
            .info
            .last_changed
            .map(|t| format!(" · last changed {}", t.to_rfc3339()))
            .unwrap_or_default()
    );
    if policy.enforced_with_violations() {
        out.push_str(&format!(
            "<p class=\"warning enforced-violations\">{}</p>",
            escape(&policy.enforced_violations_warning())
        ));
    }
    list(out, "reasons", &policy.reasons);
    list(out, "notes meta", &policy.notes);
    out.push_str(&chart(policy));
    if let Some(soak) = &policy.soak {
        let _ = write!(
            out,
            "<p class=\"soak\" data-soak=\"{}\">Soak: {}</p>",
            escape(soak_status_key(soak.status)),
            escape(&soak.summary)
        );
        if !soak.trend.is_empty() {
            out.push_str(&trend_chart(&name, &soak.trend));
        }
    }
    if policy.rule_evidence.len() > 1 {
        out.push_str("<table class=\"rules\"><tr><th>Rule</th><th>Action</th><th>Verdict</th><th>Pass</th><th>Fail</th><th>Error</th></tr>");
        for rule in &policy.rule_evidence {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(&rule.name),
                escape(&policy.rule_action(rule)),
                verdict_badge(rule.verdict),
                rule.counts.pass,
                rule.counts.fail,
                rule.counts.error
            );
        }
        out.push_str("</table>");
    }
    let coverage = super::coverage_rows(policy);
    if !coverage.is_empty() {
        out.push_str("<table class=\"coverage\"><tr><th>Rule</th><th>Kinds evaluated</th><th>Resources evaluated</th><th>Scope</th></tr>");
        for row in &coverage {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                escape(&row[0]),
                escape(&row[1]),
                escape(&row[2]),
                escape(&row[3])
            );
        }
        out.push_str("</table>");
    }
    if !policy.violations.is_empty() {
        let groups = policy.owner_groups();
        let _ = write!(
            out,
            "<h3>Violators ({})</h3>",
            super::owners_count(groups.len())
        );
        for group in groups.iter().take(LIMITS.owners) {
            let owner = group.owner.to_string();
            let _ = write!(
                out,
                "<p class=\"owner\" data-owner=\"{}\">{}</p><ul>",
                escape(&owner),
                escape(&owner)
            );
            for violation in group.violations.iter().take(LIMITS.per_owner) {
                out.push_str(&violation_item("violation", violation));
            }
            if group.violations.len() > LIMITS.per_owner {
                let _ = write!(
                    out,
                    "<li class=\"more\">… and {} more</li>",
                    group.violations.len() - LIMITS.per_owner
                );
            }
            out.push_str("</ul>");
        }
        if groups.len() > LIMITS.owners {
            let _ = write!(
                out,
                "<p class=\"more\">… and {} more owners: evidence.json lists every violation.</p>",
                groups.len() - LIMITS.owners
            );
        }
        if let Some(description) = &policy.info.description {
            let _ = write!(
                out,
                "<p class=\"remediation\"><strong>Remediation:</strong> {}</p>",
                escape(description)
            );
        }
    }
    let admission = super::excused_at_admission(policy);
    if !admission.is_empty() {
        let _ = write!(
            out,
            "<h3>Excused at admission ({})</h3><p class=\"meta\">The scan keeps these results; Kyverno's admission skips the rule for them, so they count as skips here.</p><ul class=\"excused-at-admission\">",
            admission.len()
        );
        for violation in admission.iter().take(LIMITS.per_owner) {
            out.push_str(&violation_item("excused", violation));
        }
        if admission.len() > LIMITS.per_owner {
            let _ = write!(
                out,
                "<li class=\"more\">… and {} more: evidence.json lists them</li>",
                admission.len() - LIMITS.per_owner
            );
        }
        out.push_str("</ul>");
    }
    let teams = super::who_must_fix(policy, routing);
    if !teams.is_empty() {
        out.push_str("<h3>Who must fix what</h3><ul class=\"teams\">");
        for team in &teams {
            let _ = write!(
                out,
                "<li class=\"team\"><strong>{}</strong><ul>",
                escape(&team.heading)
            );
            for line in &team.lines {
                let _ = write!(out, "<li>{}</li>", escape(line));
            }
            out.push_str("</ul></li>");
        }
        out.push_str("</ul>");
    }
    if let Some(warning) = policy.flux_warning() {
        let _ = write!(
            out,
            "<p class=\"warning flux\"><strong>Warning:</strong> {}</p>",
            escape(&warning)
        );
    }
    let commands = policy.git_apply_commands();
    if let Some(change) = &policy.git_change {
        out.push_str("<h3>In Git</h3>");
        if let Some(problem) = &change.problem {
            let _ = write!(
                out,
                "<p class=\"git-problem\">No patch (--policy-repo): {}</p>",
                escape(problem)
            );
        } else {
            let _ = write!(
                out,
                "<p>The primary instruction: the action is set at <code>{}</code>. Run from any folder, {}:</p><pre class=\"git-apply\">",
                escape(&change.locations.join(", ")),
                escape(PATCHES_FROM_ANYWHERE)
            );
            for (command, what) in &commands {
                let _ = writeln!(
                    out,
                    "{}    # {}",
                    escape(&from_anywhere(command)),
                    escape(what)
                );
            }
            out.push_str("</pre>");
            for note in &change.notes {
                let _ = write!(out, "<p class=\"meta\">{}.</p>", escape(note));
            }
        }
    }
    if !commands.is_empty() && policy.info.rollback.is_some() {
        out.push_str("<p class=\"meta\">For a cluster without GitOps, in the cluster:</p>");
    }
    if let Some(enforce) = policy.enforce_change() {
        action_change(out, "Enforce", enforce);
    }
    if let Some(rollback) = &policy.info.rollback {
        action_change(out, "Rollback", rollback);
        out.push_str("<p>Roll back when:</p><ul>");
        for condition in &policy.rollback_conditions {
            let _ = write!(out, "<li>{}</li>", escape(condition));
        }
        let _ = write!(out, "<li>{}</li>", escape(super::NOT_A_ROLLBACK));
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}

/// A change of the policy's action (`Enforce`, `Rollback`): its fields,
/// their value and the command (in a `pre` of the label's class).
fn action_change(out: &mut String, label: &str, change: &Rollback) {
    let _ = write!(
        out,
        "<h3>{label}</h3><p>Set <code>{}</code> to <code>{}</code>:</p><pre class=\"{}\">{}</pre>",
        escape(&change.fields.join(", ")),
        escape(&change.value),
        label.to_lowercase(),
        escape(&change.command)
    );
}

/// The decision per policy, first: the one-line count, any ROLL BACK
/// called out, a row per policy with what to do, and the baseline's
/// breaches by name.
fn decision_section(out: &mut String, evidence: &Evidence) {
    let decisions = &evidence.decisions;
    let _ = write!(
        out,
        "<section id=\"decision\"><h2>Decision</h2><p id=\"decision-summary\"><strong>{}</strong></p>",
        escape(&decision_summary(decisions))
    );
    for decision in decisions {
        let Some((headline, text)) = decision.alert() else {
            continue;
        };
        let _ = write!(
            out,
            "<p class=\"{}-alert\" data-policy=\"{}\"><strong>{headline}: {}</strong> — {}</p>",
            decision.decision.key(),
            escape(&decision.policy),
            escape(&decision.policy),
            escape(&text)
        );
    }
    if decisions.is_empty() {
        out.push_str("<p>No policy in this package.</p></section>");
        return;
    }
    out.push_str("<table id=\"decisions\"><tr><th>Decision</th><th>Policy</th><th>Action</th><th>What to do</th></tr>");
    for decision in decisions {
        let key = decision.decision.key();
        let _ = write!(
            out,
            "<tr class=\"decision\" data-decision=\"{key}\" data-policy=\"{}\"><td><span class=\"decision-badge {key}\">{}</span>{}</td><td><a href=\"#policy-{}\">{}</a> <span class=\"meta\">({})</span></td><td>{}</td><td>",
            escape(&decision.policy),
            decision.decision.label(),
            if decision.baseline_breach {
                " <span class=\"breach-mark\" title=\"baseline breach\">baseline breach</span>"
            } else {
                ""
            },
            escape(&decision.policy.replace('/', "-")),
            escape(&decision.policy),
            escape(&decision.kind),
            escape(&decision.action)
        );
        if !decision.instructions.is_empty() {
            let _ = write!(
                out,
                "<pre class=\"instruction\">{}</pre>",
                escape(
                    &decision
                        .instructions
                        .iter()
                        .map(|i| from_anywhere(i))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            );
        }
        if let Some(statement) = decision.stays_audit_statement() {
            let _ = write!(
                out,
                "<p class=\"stays-audit warning\"><strong>Stays in Audit</strong> {}</p>",
                escape(&statement)
            );
        }
        if let Some(soak) = &decision.soak_left {
            let _ = write!(out, "<p class=\"soak\">Soak left: {}</p>", escape(soak));
        }
        list(out, "decision-reasons", &decision.reasons);
        if !decision.contacts.is_empty() {
            out.push_str("<p class=\"contacts\">Contact:</p>");
            list(out, "contacts", &decision.contacts);
        }
        if let Some(status) = &decision.rollback_status {
            let _ = write!(
                out,
                "<p class=\"rollback-status meta\">Rollback: {}</p>",
                escape(status)
            );
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
    if applies_patches(decisions) {
        out.push_str("<p class=\"meta\">Run <code>git apply</code> in the policy repository's root (the top of its Git work tree); the patch paths above are relative to this package's folder, so from anywhere: <code>git -C &lt;repository&gt; apply &lt;package&gt;/patches/&lt;policy&gt;/promote.patch</code> (or <code>rollback.patch</code>, as the row says), as <code>polscan evidence</code> printed it.</p>");
    }
    if super::has_patches(evidence) {
        out.push_str(&format!(
            "<p class=\"meta\">{}</p>",
            escape(super::CHECK_THE_BUILD)
        ));
    }
    if let Some(baseline) = evidence.baseline.as_ref() {
        let breaches = decision_breaches(decisions);
        let severities = escape(&baseline.severities.join(", "));
        if baseline.is_empty() {
            let _ = write!(
                out,
                "<p id=\"decision-baseline\" data-breaches=\"0\" data-covered=\"0\">Baseline empty: no {} has severity {severities}, so none is required to be enforced ({}).</p>",
                escape(&baseline.policies_judged()),
                escape(baseline.empty_advice())
            );
        } else if breaches.is_empty() {
            let _ = write!(
                out,
                "<p id=\"decision-baseline\" data-breaches=\"0\">Baseline held: every {} of severity {severities} is enforced.</p>",
                escape(&baseline.policies_judged())
            );
        } else {
            let _ = write!(
                out,
                "<p id=\"decision-baseline\" class=\"warning\" data-breaches=\"{}\"><strong>Baseline breaches: {}</strong> (severity {severities} must be enforced in production): {}</p>",
                breaches.len(),
                breaches.len(),
                escape(&breaches.join(", "))
            );
        }
    }
    out.push_str("</section>");
}

/// The baseline's breaches, at the top: each with the command that
/// promotes it (ready) or who must fix what (not ready).
fn baseline_table(out: &mut String, baseline: &Baseline) {
    let severities = escape(&baseline.severities.join(", "));
    if baseline.is_empty() {
        let _ = write!(
            out,
            "<section id=\"baseline\" data-breaches=\"0\" data-covered=\"0\"><h2>Baseline: empty</h2><p>No {} has severity {severities}: the fail-closed baseline of production requires nothing to be enforced; {}.</p></section>",
            escape(&baseline.policies_judged()),
            escape(baseline.empty_advice())
        );
        return;
    }
    if baseline.breaches.is_empty() {
        let _ = write!(
            out,
            "<section id=\"baseline\" data-breaches=\"0\"><h2>Baseline: held</h2><p>Every {} of severity {severities} is enforced (fail-closed baseline of production).</p></section>",
            escape(&baseline.policies_judged())
        );
        return;
    }
    let _ = write!(
        out,
        "<section id=\"baseline\" class=\"warning\" data-breaches=\"{}\"><h2>Baseline breaches: {}</h2><p>Every policy of severity {severities} must be enforced in production (fail-closed baseline); these are not:</p><table id=\"baseline-breaches\"><tr><th>Policy</th><th>Severity</th><th>Action</th><th>Verdict</th><th>What to do</th></tr>",
        baseline.breaches.len(),
        baseline.breaches.len()
    );
    for breach in &baseline.breaches {
        let _ = write!(
            out,
            "<tr class=\"breach\" data-policy=\"{}\"><td><a href=\"#policy-{}\">{}</a> ({})</td><td>{}</td><td>{}</td><td>{}</td><td>",
            escape(&breach.policy),
            escape(&breach.policy.replace('/', "-")),
            escape(&breach.policy),
            escape(&breach.kind),
            escape(&breach.severity),
            escape(&breach.action),
            verdict_badge(breach.verdict)
        );
        if !breach.promote.is_empty() {
            let _ = write!(
                out,
                "Switch to Enforce:<pre class=\"promote\">{}</pre>",
                escape(&breach.promote.join("\n"))
            );
        }
        if !breach.to_fix.is_empty() {
            out.push_str("To fix:<ul>");
            for line in capped(&breach.to_fix, LIMITS.owners, "(evidence.json)") {
                let _ = write!(out, "<li>{}</li>", escape(&line));
            }
            out.push_str("</ul>");
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table></section>");
}

/// index.html: the evidence as one self-contained HTML page (inline
/// style, no script), long lists capped.
pub fn render(evidence: &Evidence) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Policy enforcement evidence</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><h1>Policy enforcement evidence</h1>");
    let cluster = &evidence.cluster;
    let _ = write!(
        out,
        "<p class=\"meta\">Generated {} by polscan {} · cluster <code id=\"cluster-uid\">{}</code> · server {}</p>",
        evidence.generated.to_rfc3339(),
        escape(&evidence.polscan_version),
        escape(cluster.kube_system_uid.as_deref().unwrap_or("unknown")),
        escape(cluster.server_version.as_deref().unwrap_or("unknown"))
    );
    if let Some(environment) = &evidence.environment {
        let _ = write!(
            out,
            "<p class=\"meta\" id=\"environment\">Environment <strong>{}</strong></p>",
            escape(environment)
        );
    }
    match &evidence.scan {
        Some(scan) => {
            let causes = scan.incomplete_because();
            let _ = write!(
                out,
                "<p class=\"meta\" id=\"scan\">Scan started {} · <strong>{}</strong>{} · recorded in {}</p>",
                scan.started.map(|t| t.to_rfc3339()).unwrap_or_else(|| "unknown".into()),
                if scan.complete { "complete" } else { "incomplete" },
                if causes.is_empty() { String::new() } else { format!(" ({})", escape(&causes.join("; "))) },
                escape(&scan.recorded_where())
            );
            let limits = scan.scope_limits();
            if !limits.is_empty() {
                let _ = write!(
                    out,
                    "<p class=\"meta\" id=\"scan-scope\">Scan scope: {}</p>",
                    escape(&limits.join("; "))
                );
            }
        }
        None => out.push_str("<p class=\"meta\" id=\"scan\">No record of the scan.</p>"),
    }
    for statement in evidence.scope_statements() {
        let _ = write!(
            out,
            "<p class=\"meta scope\"><strong>{}</strong></p>",
            escape(&statement)
        );
    }
    decision_section(&mut out, evidence);
    if let Some(baseline) = &evidence.baseline {
        baseline_table(&mut out, baseline);
    }
    let ready = evidence.ready().count();
    let _ = write!(
        out,
        "<p id=\"summary\"><strong>{ready} of {} policies ready to enforce{}.</strong></p>",
        evidence.policies.len(),
        super::markdown::enforced_already(evidence)
    );
    out.push_str("<table id=\"overview\"><tr><th>Policy</th><th>Action</th><th>Verdict</th><th>Pass</th><th>Fail</th><th>Warn</th><th>Error</th><th>Skip</th></tr>");
    for policy in &evidence.policies {
        let c = policy.counts;
        let name = policy.info.qualified_name();
        let _ = write!(
            out,
            "<tr><td><a href=\"#policy-{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&name.replace('/', "-")),
            escape(&name),
            escape(&policy.info.action),
            verdict_badge(policy.verdict),
            c.pass,
            c.fail,
            c.warn,
            c.error,
            c.skip
        );
    }
    out.push_str("</table>");
    out.push_str(&legend());
    for policy in &evidence.policies {
        policy_card(&mut out, policy, evidence.owner_routing.as_ref());
    }
    if !evidence.exceptions.is_empty() {
        out.push_str("<h2>Exceptions</h2><table id=\"exceptions\"><tr><th>Source</th><th>Name</th><th>Covers</th><th>Owner</th><th>Reason</th><th>Expires</th><th>Status</th></tr>");
        for e in &evidence.exceptions {
            let status = match e.status {
                ExceptionStatus::Active => "active",
                ExceptionStatus::Expiring => "expiring soon",
                ExceptionStatus::Expired => "expired",
                ExceptionStatus::NoExpiry => "no expiry",
                ExceptionStatus::Invalid => "ignored",
            };
            let mut detail = String::new();
            if let Some(problem) = &e.problem {
                let _ = write!(detail, ": {}", escape(problem));
            }
            if let Some(file) = &e.policy_exception_file {
                let _ = write!(
                    detail,
                    " · Kyverno ignores it: apply <code class=\"generated\">{}</code>",
                    escape(file)
                );
            }
            let _ = write!(
                out,
                "<tr data-status=\"{status}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}{detail}</td></tr>",
                escape(&e.source),
                escape(&e.name),
                escape(&e.policies.join(", ")),
                escape(e.owner.as_deref().unwrap_or("—")),
                escape(e.reason.as_deref().unwrap_or("—")),
                escape(e.expires.as_deref().unwrap_or("none"))
            );
        }
        out.push_str("</table>");
    }
    if !evidence.generated_exceptions.is_empty() {
        let _ = write!(
            out,
            "<h2 id=\"generated-exceptions\">Generated PolicyExceptions</h2><p class=\"warning\">These resources are excused only by <code>{}</code> annotations, which Kyverno's admission does not read: once the policy is enforced, it would reject them when created again (a rollout's new Pods, a re-apply) and at an update that newly violates, or at any update where the rule sets allowExistingViolations: false. Apply these files to make each bypass explicit to Kyverno; each matches the excused resources' top owner by name and what it creates, from the highest excused kind down: the objects it controls now by name and, where its label selector is known, <code>&lt;owner&gt;-*</code> carrying the selector's labels, so the next rollout stays covered. Read each one's warnings before applying it.</p><ul>",
            escape(polscan_engine::exceptions::annotation::EXCEPTION)
        );
        for generated in &evidence.generated_exceptions {
            let _ = write!(
                out,
                "<li class=\"generated-exception\" data-file=\"{}\"><code>{}</code>: matches {} ({}){}{}</li>",
                escape(&generated.file),
                escape(&generated.file),
                escape(&generated.matches.join(" and ")),
                escape(&generated.covers.join(", ")),
                generated
                    .existing_not_applied
                    .as_ref()
                    .map(|why| format!(" — {}", escape(why)))
                    .unwrap_or_default(),
                generated
                    .warnings
                    .iter()
                    .map(|w| format!("<p class=\"warning\">{}</p>", escape(w)))
                    .collect::<String>()
            );
        }
        out.push_str("</ul>");
    }
    if let Some(comparison) = &evidence.comparison {
        let _ = write!(
            out,
            "<h2 id=\"since\">Since {}</h2><ul>",
            comparison.previous_generated.to_rfc3339()
        );
        for count in comparison.counts() {
            let _ = write!(out, "<li>{}: {}</li>", count.label, count.count);
        }
        out.push_str("</ul>");
        if !comparison.removed_policies.is_empty() {
            let _ = write!(
                out,
                "<p class=\"warning\" id=\"removed-policies\"><strong>Policies removed since</strong> (deleted, or not given; nothing checks what they checked): {}</p>",
                escape(&comparison.removed_policies.join(", "))
            );
        }
        if let Some(change) = &comparison.exception_scope_change {
            let _ = write!(
                out,
                "<p class=\"warning\" id=\"exception-scope-change\"><strong>The scans applied different PolicyExceptions</strong> — before: {}; now: {}. What exceptions skip is not compared like with like: rescan with the same <code>--exception-namespace</code> as Kyverno's.</p>",
                escape(&change.previous),
                escape(&change.current)
            );
        }
        let lists: [(&str, &str, &Vec<ViolationChange>); 4] = [
            (
                "new-violations",
                "New violations",
                &comparison.new_violations,
            ),
            (
                "fixed-violations",
                "Fixed violations",
                &comparison.fixed_violations,
            ),
            (
                "excused-violations",
                "Excused, not fixed",
                &comparison.excused_violations,
            ),
            (
                "unknown-violations",
                "Not known to be fixed",
                &comparison.unknown_violations,
            ),
        ];
        for (id, title, changes) in lists {
            if changes.is_empty() {
                continue;
            }
            let _ = write!(out, "<h3>{title}</h3><table id=\"{id}\"><tr><th>Policy</th><th>Rule</th><th>Resource</th><th>Result</th><th>Why</th></tr>");
            for v in changes.iter().take(LIMITS.owners) {
                let _ = write!(
                    out,
                    "<tr class=\"change\"><td>{}</td><td>{}</td><td class=\"resource\">{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&v.policy),
                    escape(&v.rule),
                    escape(&v.resource),
                    escape(&v.result),
                    escape(v.reason.as_deref().unwrap_or(""))
                );
            }
            out.push_str("</table>");
            if changes.len() > LIMITS.owners {
                let _ = write!(
                    out,
                    "<p class=\"more\">… and {} more: evidence.json lists them all.</p>",
                    changes.len() - LIMITS.owners
                );
            }
        }
        for rule_change in &comparison.rule_changes {
            rule_change_section(&mut out, rule_change);
        }
        let exception_lists = [
            (
                "new-exceptions",
                "New exceptions",
                &comparison.new_exceptions,
            ),
            (
                "expired-exceptions",
                "Expired exceptions",
                &comparison.expired_exceptions,
            ),
            (
                "removed-exceptions",
                "Removed exceptions",
                &comparison.removed_exceptions,
            ),
        ];
        for (id, title, names) in exception_lists {
            if names.is_empty() {
                continue;
            }
            let _ = write!(out, "<h3>{title}</h3><ul id=\"{id}\">");
            for name in names {
                let _ = write!(out, "<li>{}</li>", escape(name));
            }
            out.push_str("</ul>");
        }
        for check in &comparison.rollback_checks {
            let _ = write!(
                out,
                "<h3 class=\"rollback-check\" data-roll-back=\"{}\" data-rescan=\"{}\">{} ({}): {}</h3><ul>",
                check.roll_back,
                check.needs_rescan(),
                escape(&check.policy),
                escape(&check.action),
                escape(check.outcome())
            );
            for c in &check.conditions {
                let _ = write!(
                    out,
                    "<li>{} {}: {}</li>",
                    if c.met { "MET" } else { "not met" },
                    escape(&c.condition),
                    escape(&c.detail)
                );
            }
            let _ = write!(
                out,
                "<li>scan coverage: {}</li></ul>",
                escape(&check.coverage())
            );
        }
        for check in &comparison.readiness_checks {
            let _ = write!(
                out,
                "<h3 class=\"readiness-check\" data-still-ready=\"{}\">{} ({}): {} {}</h3><ul>",
                check.still_ready,
                escape(&check.policy),
                escape(if check.action.is_empty() {
                    "Audit"
                } else {
                    &check.action
                }),
                if check.still_ready {
                    "still ready to enforce".to_string()
                } else {
                    format!("was {}, now", escape(check.previous_verdict.label()))
                },
                verdict_badge(check.verdict)
            );
            for reason in &check.reasons {
                let _ = write!(out, "<li>{}</li>", escape(reason));
            }
            out.push_str("</ul>");
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// A policy whose rules changed: the summary, the rules added, removed
/// and changed, the diffs (in full), and the violations the change removed
/// or added.
fn rule_change_section(out: &mut String, change: &RuleChange) {
    let _ = write!(
        out,
        "<h3 class=\"rule-change\" data-status=\"{}\">Rules changed: {} — {}</h3><ul>",
        match change.status {
            RuleChangeStatus::Changed => "changed",
            RuleChangeStatus::ActionsChanged => "actions-changed",
            RuleChangeStatus::NotRecorded => "not-recorded",
        },
        escape(&change.policy),
        escape(&change.summary())
    );
    let rules = change.rules_line();
    if !rules.is_empty() {
        let _ = write!(out, "<li>rules {}</li>", escape(&rules));
    }
    if let Some(note) = &change.note {
        let _ = write!(out, "<li>{}</li>", escape(note));
    }
    for (label, violations) in [
        (
            "removed by the change (not fixed)",
            &change.removed_violations,
        ),
        ("added by the change", &change.added_violations),
    ] {
        for v in violations.iter().take(LIMITS.owners) {
            let _ = write!(out, "<li>{label}: {}</li>", escape(&v.describe()));
        }
        if violations.len() > LIMITS.owners {
            let _ = write!(
                out,
                "<li>{label}: … and {} more: evidence.json lists them all</li>",
                violations.len() - LIMITS.owners
            );
        }
    }
    out.push_str("</ul>");
    if !change.diff.is_empty() {
        let _ = write!(
            out,
            "<pre class=\"rule-diff\">{}</pre>",
            escape(&change.diff)
        );
    }
    if !change.actions_diff.is_empty() {
        let _ = write!(
            out,
            "<p>Actions (shown, not a rule change):</p><pre class=\"actions-diff\">{}</pre>",
            escape(&change.actions_diff)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{super::markdown::cell, escape};

    #[test]
    fn escape_sequences_and_bidi_overrides_are_shown_not_passed_on() {
        // A message can carry what anyone creating an object wrote: a
        // title-setting OSC, a clear-screen, a right-to-left override.
        let hostile = "a\u{1b}]0;pwned\u{7}b\u{1b}[2Jc\u{202e}d\te\nf";
        let page = escape(hostile);
        assert_eq!(page, "a\\u{1b}]0;pwned\\u{7}b\\u{1b}[2Jc\\u{202e}d\te\nf");
        let row = cell(hostile);
        assert!(!row
            .chars()
            .any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202e}'));
        assert!(row.contains("\\u{1b}\\]0;pwned\\u{7}"), "{row}");
        assert!(!row.contains('\n'), "{row}");
    }
}
