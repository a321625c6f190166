//! The pages of a merged package: a [`MergedEvidence`] enters; evidence.md
//! ([`markdown`]) and index.html ([`html`]) leave, each a per-policy table
//! with one column per environment (verdict, action, counts, soak) and the
//! merged decision, then per policy not ready the reasons and each
//! environment's top violators. The HTML keeps the single package's style.

use std::fmt::Write;

use super::html::{escape, verdict_badge, STYLE};
use super::markdown::{cell, verdict_mark};
use crate::model::merged::{EnvironmentVerdict, MergedEvidence, MergedPolicy};
use crate::model::Verdict;

const TITLE: &str = "Policy enforcement evidence: every environment";

/// The merged decision in words: a ready policy every environment
/// enforces already has no promotion left to make. The pages' and the
/// terminal's (walk46 F3: the terminal said "ready for production" of
/// policies enforced everywhere).
pub fn decision(policy: &MergedPolicy) -> &'static str {
    let enforced_everywhere = !policy.environments.is_empty()
        && policy
            .environments
            .iter()
            .all(|column| column.action.as_deref() == Some("Enforce"));
    match policy.verdict {
        Verdict::Ready if enforced_everywhere => "enforced in every environment",
        Verdict::Ready => "ready for production",
        _ => "not ready for production",
    }
}

/// An environment's cell as plain text parts: verdict aside, the action,
/// the counts and the soak.
fn cell_details(column: &EnvironmentVerdict) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(action) = &column.action {
        parts.push(action.clone());
    }
    if let Some(counts) = &column.counts {
        parts.push(format!("{} fail, {} error", counts.fail, counts.error));
    }
    if let Some(soak) = column.soak_summary() {
        parts.push(format!("soak: {soak}"));
    }
    parts
}

fn violators_line(column: &EnvironmentVerdict) -> Option<String> {
    if column.violators.is_empty() {
        return None;
    }
    let shown: Vec<String> = column
        .violators
        .iter()
        .map(|v| format!("{} ({})", v.owner, v.violations))
        .collect();
    let more = column
        .violating_owners
        .saturating_sub(column.violators.len());
    Some(format!(
        "{}{}",
        shown.join(", "),
        if more > 0 {
            format!(", and {more} more owner(s)")
        } else {
            String::new()
        }
    ))
}

fn header_lines(merged: &MergedEvidence) -> Vec<[String; 5]> {
    merged
        .environments
        .iter()
        .map(|e| {
            [
                e.label.clone(),
                e.package.clone(),
                e.cluster
                    .kube_system_uid
                    .clone()
                    .or_else(|| e.cluster.server.clone())
                    .unwrap_or_else(|| e.cluster.source.clone()),
                e.scan_started
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "no record".into()),
                e.generated.to_rfc3339(),
            ]
        })
        .collect()
}

const HEADER_COLUMNS: [&str; 5] = [
    "Environment",
    "Package",
    "Cluster",
    "Scan started",
    "Package made",
];

fn not_ready(merged: &MergedEvidence) -> impl Iterator<Item = &MergedPolicy> {
    merged
        .policies
        .iter()
        .filter(|p| p.verdict != Verdict::Ready)
}

/// evidence.md of a merged package.
pub fn markdown(merged: &MergedEvidence) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {TITLE}\n");
    let _ = writeln!(
        out,
        "Generated {} by polscan {}. A policy is ready for production only when it is ready, with the same rules, in every environment below.\n",
        merged.generated.to_rfc3339(),
        merged.polscan_version
    );
    let _ = writeln!(
        out,
        "| {} |\n|---|---|---|---|---|",
        HEADER_COLUMNS.join(" | ")
    );
    for line in header_lines(merged) {
        let cells: Vec<String> = line.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    for note in &merged.notes {
        let _ = writeln!(out, "**{}**\n", cell(note));
    }
    let _ = writeln!(
        out,
        "**{} of {} policies ready in every environment.**\n",
        merged.ready().count(),
        merged.policies.len()
    );
    let labels = merged.labels();
    let _ = writeln!(
        out,
        "| Policy | {} | Decision |\n|---{}|---|",
        labels
            .iter()
            .map(|l| cell(l))
            .collect::<Vec<_>>()
            .join(" | "),
        "|---".repeat(labels.len())
    );
    for policy in &merged.policies {
        let columns: Vec<String> = policy
            .environments
            .iter()
            .map(|column| {
                let verdict = column
                    .verdict
                    .map(verdict_mark)
                    .unwrap_or("➖ not in the package");
                let details = cell_details(column);
                if details.is_empty() {
                    verdict.to_string()
                } else {
                    format!("{verdict} · {}", cell(&details.join(" · ")))
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} {} |",
            cell(&policy.name),
            columns.join(" | "),
            if policy.verdict == Verdict::Ready {
                "✅"
            } else {
                "❌"
            },
            decision(policy)
        );
    }
    for policy in not_ready(merged) {
        let _ = writeln!(out, "\n## {} — {}\n", policy.name, decision(policy));
        for reason in &policy.reasons {
            let _ = writeln!(out, "- {reason}");
        }
        for column in &policy.environments {
            if let Some(line) = violators_line(column) {
                let _ = writeln!(out, "- top violators in {}: {line}", column.environment);
            }
        }
    }
    out
}

/// index.html of a merged package.
pub fn html(merged: &MergedEvidence) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{TITLE}</title><style>{STYLE}</style></head><body><h1>{TITLE}</h1>"
    );
    let _ = write!(
        out,
        "<p class=\"meta\">Generated {} by polscan {}. A policy is ready for production only when it is ready, with the same rules, in every environment below.</p>",
        merged.generated.to_rfc3339(),
        escape(&merged.polscan_version)
    );
    out.push_str("<table id=\"environments\"><tr>");
    for column in HEADER_COLUMNS {
        let _ = write!(out, "<th>{column}</th>");
    }
    out.push_str("</tr>");
    for line in header_lines(merged) {
        out.push_str("<tr>");
        for (index, text) in line.iter().enumerate() {
            if index == 2 {
                let _ = write!(out, "<td><code>{}</code></td>", escape(text));
            } else {
                let _ = write!(out, "<td>{}</td>", escape(text));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    for note in &merged.notes {
        let _ = write!(out, "<p class=\"warning note\">{}</p>", escape(note));
    }
    let _ = write!(
        out,
        "<p id=\"summary\"><strong>{} of {} policies ready in every environment.</strong></p>",
        merged.ready().count(),
        merged.policies.len()
    );
    out.push_str("<table id=\"merged\"><tr><th>Policy</th>");
    for label in merged.labels() {
        let _ = write!(out, "<th>{}</th>", escape(label));
    }
    out.push_str("<th>Decision</th></tr>");
    for policy in &merged.policies {
        let _ = write!(
            out,
            "<tr data-policy=\"{}\"><td>{}</td>",
            escape(&policy.name),
            if policy.verdict == Verdict::Ready {
                escape(&policy.name)
            } else {
                format!(
                    "<a href=\"#policy-{}\">{}</a>",
                    escape(&policy.name.replace('/', "-")),
                    escape(&policy.name)
                )
            }
        );
        for column in &policy.environments {
            let badge = match column.verdict {
                Some(verdict) => verdict_badge(verdict),
                None => "<span class=\"verdict not-ready\" data-verdict=\"absent\">not in the package</span>".into(),
            };
            let _ = write!(
                out,
                "<td data-environment=\"{}\">{badge}",
                escape(&column.environment)
            );
            for detail in cell_details(column) {
                let _ = write!(out, "<br><span class=\"meta\">{}</span>", escape(&detail));
            }
            out.push_str("</td>");
        }
        let class = policy.verdict.key();
        let _ = write!(
            out,
            "<td><span class=\"verdict {class}\" data-decision=\"{class}\">{}</span></td></tr>",
            decision(policy)
        );
    }
    out.push_str("</table>");
    for policy in not_ready(merged) {
        let _ = write!(
            out,
            "<section class=\"policy\" id=\"policy-{}\" data-policy=\"{}\"><h2>{} <span class=\"verdict not-ready\">{}</span></h2><p class=\"meta\">{}</p><ul class=\"reasons\">",
            escape(&policy.name.replace('/', "-")),
            escape(&policy.name),
            escape(&policy.name),
            decision(policy),
            escape(&policy.kind)
        );
        for reason in &policy.reasons {
            let _ = write!(out, "<li>{}</li>", escape(reason));
        }
        out.push_str("</ul>");
        for column in &policy.environments {
            if let Some(line) = violators_line(column) {
                let _ = write!(
                    out,
                    "<p class=\"owner\">Top violators in {}</p><p>{}</p>",
                    escape(&column.environment),
                    escape(&line)
                );
            }
        }
        out.push_str("</section>");
    }
    out.push_str("</body></html>\n");
    out
}
