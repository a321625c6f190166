//! Rendering audit outcomes for people (an aligned table and a summary line)
//! and for machines (PolicyReports as YAML or JSON).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use report_model::meta::Timestamp;

use super::{FailOn, OutputFormat};
use polscan::audit::AuditOutcome;
use polscan::engine::RuleStatus;
use polscan::reports;

/// Characters a terminal shows: ANSI colour sequences take no room.
fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

/// Lays out rows in columns separated by two spaces; the last column is free.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths = header_widths(headers);
    for row in rows {
        widen(&mut widths, row);
    }
    let mut out = table_line(&widths, headers);
    for row in rows {
        out.push_str(&table_line(&widths, row));
    }
    out
}

/// The widths the headers alone need, to be widened by each row.
pub(super) fn header_widths(headers: &[&str]) -> Vec<usize> {
    headers.iter().map(|h| visible_width(h)).collect()
}

/// Widens the columns (all but the free last one) to fit a row's cells.
pub(super) fn widen(widths: &mut [usize], row: &[impl AsRef<str>]) {
    let columns = widths.len();
    for (i, cell) in row.iter().enumerate().take(columns.saturating_sub(1)) {
        widths[i] = widths[i].max(visible_width(cell.as_ref()));
    }
}

/// One line of a [`table`]: cells padded to the widths (the last one
/// free), trailing space trimmed, a newline.
pub(super) fn table_line(widths: &[usize], cells: &[impl AsRef<str>]) -> String {
    let mut text = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let cell = cell.as_ref();
        text.push_str(cell);
        if i + 1 < cells.len() {
            let padding = widths[i].saturating_sub(visible_width(cell)) + 2;
            text.push_str(&" ".repeat(padding));
        }
    }
    let mut line = text.trim_end().to_string();
    line.push('\n');
    line
}

/// Colour only for a terminal, and never when `NO_COLOR` is set (no-color.org).
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

pub(super) fn paint(text: &str, status: RuleStatus, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match status {
        RuleStatus::Pass => "32",
        RuleStatus::Fail => "1;31",
        RuleStatus::Warn => "33",
        RuleStatus::Error => "1;35",
        RuleStatus::Skip => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// One block per policy (its name, kind and action as a heading), rows of
/// rule, resource, result and message under it; results coloured when asked.
pub fn grouped_table(outcome: &AuditOutcome, color: bool) -> String {
    let mut by_policy: std::collections::BTreeMap<String, Vec<&polscan::audit::Finding>> =
        std::collections::BTreeMap::new();
    for finding in &outcome.findings {
        by_policy
            .entry(finding.policy.qualified_name())
            .or_default()
            .push(finding);
    }
    let mut text = String::new();
    for (policy, findings) in by_policy {
        let kind = &findings[0].policy.kind;
        // Rules and namespace overrides may differ: name every action met.
        let actions: std::collections::BTreeSet<&str> = findings
            .iter()
            .map(|f| f.result.action.as_str())
            .filter(|a| !a.is_empty())
            .collect();
        text.push_str(&group_heading(&policy, kind, &actions, color));
        let rows: Vec<[String; 4]> = findings.iter().map(|f| group_row(f, color)).collect();
        let mut widths = header_widths(&GROUP_HEADERS);
        for row in &rows {
            widen(&mut widths, row);
        }
        text.push_str(&indented(&table_line(&widths, &GROUP_HEADERS)));
        for row in &rows {
            text.push_str(&indented(&table_line(&widths, row)));
        }
        text.push('\n');
    }
    text
}

/// The columns of each policy's block in [`grouped_table`].
pub(super) const GROUP_HEADERS: [&str; 4] = ["RULE", "RESOURCE", "RESULT", "MESSAGE"];

/// The heading of a policy's block: name, kind and every action met.
pub(super) fn group_heading(
    policy: &str,
    kind: &str,
    actions: &std::collections::BTreeSet<&str>,
    color: bool,
) -> String {
    let action = match actions.len() {
        0 | 1 => actions.iter().next().copied().unwrap_or("").to_string(),
        _ => format!(
            "mixed: {}",
            actions.iter().copied().collect::<Vec<_>>().join(", ")
        ),
    };
    // A policy file's name and actions are anyone's text too (`apply` on
    // a pull request's files).
    let heading = terminal_safe(&format!("{policy} ({kind}, {action})"));
    if color {
        format!("\x1b[1m{heading}\x1b[0m\n")
    } else {
        format!("{heading}\n")
    }
}

/// `text` as a terminal shows it literally: control characters other than
/// a tab, line feeds included (an escape sequence can move the cursor, rewrite
/// lines or set the window title) and Unicode bidirectional overrides
/// (which reorder what is shown) become their `\u{..}` escape. A result's
/// message carries text from the resource and the policy, which anyone
/// who can create an object controls.
pub(super) fn terminal_safe(text: &str) -> String {
    // A line feed too: in a cell it starts what reads as another row.
    let hostile = |c: char| report_model::text::is_hostile(c, report_model::text::Shown::Line);
    if !text.chars().any(hostile) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if hostile(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A finding's row in its policy's block.
pub(super) fn group_row(finding: &polscan::audit::Finding, color: bool) -> [String; 4] {
    let status = finding.reported_status();
    [
        // A ValidatingPolicy's results have no rule name (Kyverno gives none).
        match finding.result.rule.as_str() {
            "" => "-".to_string(),
            rule => terminal_safe(rule),
        },
        terminal_safe(&finding.resource.to_string()),
        group_status_cell(status, color),
        terminal_safe(&finding.result.message),
    ]
}

/// The RESULT cell: the status padded to the widest status word.
pub(super) fn group_status_cell(status: RuleStatus, color: bool) -> String {
    let status_width = 6;
    let cell = format!("{:<status_width$}", status.to_string());
    paint(&cell, status, color)
}

/// Table lines indented under their heading (each line of a multi-line
/// message too).
pub(super) fn indented(lines: &str) -> String {
    let mut text = String::new();
    for line in lines.lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// `pass: N  fail: N  warn: N  error: N  skip: N`
pub fn summary_line(outcome: &AuditOutcome) -> String {
    counts_summary(
        |status| outcome.count(status),
        outcome.policies_evaluated,
        outcome.resources_evaluated,
    )
}

/// The summary line from counts however they were kept (a scan keeps only
/// counts, an audit its findings).
pub fn counts_summary(
    count: impl Fn(RuleStatus) -> usize,
    policies: usize,
    resources: usize,
) -> String {
    format!(
        "pass: {}  fail: {}  warn: {}  error: {}  skip: {}  ({policies} policies, {resources} resources)",
        count(RuleStatus::Pass),
        count(RuleStatus::Fail),
        count(RuleStatus::Warn),
        count(RuleStatus::Error),
        count(RuleStatus::Skip),
    )
}

/// Writes the outcome in the chosen format to `out`, problems to `err`.
pub fn write_outcome(
    out: &mut dyn Write,
    err: &mut dyn Write,
    outcome: &AuditOutcome,
    format: OutputFormat,
    color: bool,
) -> anyhow::Result<()> {
    for problem in &outcome.problems {
        writeln!(err, "warning: {problem}")?;
    }
    match format {
        OutputFormat::Table => {
            write!(out, "{}", grouped_table(outcome, color))?;
            writeln!(out, "{}", summary_line(outcome))?;
        }
        OutputFormat::Summary => writeln!(out, "{}", summary_line(outcome))?,
        OutputFormat::Junit => writeln!(out, "{}", super::junit::render(&outcome.findings)?)?,
        OutputFormat::Sarif => writeln!(out, "{}", super::sarif::render(outcome)?)?,
        OutputFormat::Yaml | OutputFormat::Json => {
            let shaped = reports::per_resource(&outcome.findings, Timestamp::now_seconds())
                .context("shaping the reports")?;
            let mut objects = Vec::new();
            for report in &shaped.policy_reports {
                objects.push(serde_json::to_value(report)?);
            }
            for report in &shaped.cluster_policy_reports {
                objects.push(serde_json::to_value(report)?);
            }
            if format == OutputFormat::Json {
                let list =
                    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                for object in objects {
                    writeln!(out, "---")?;
                    write!(out, "{}", serde_yaml::to_string(&object)?)?;
                }
            }
        }
    }
    Ok(())
}

/// The results `--fail-on` turns into exit code 1 (errors always count:
/// an unevaluated rule is no proof of compliance).
pub fn failing_statuses(fail_on: Option<FailOn>) -> &'static [RuleStatus] {
    match fail_on {
        None => &[],
        Some(FailOn::Fail) => &[RuleStatus::Fail, RuleStatus::Error],
        Some(FailOn::Warn) => &[RuleStatus::Fail, RuleStatus::Warn, RuleStatus::Error],
        Some(FailOn::Error) => &[RuleStatus::Error],
    }
}

/// The exit code: 2 when a policy was invalid (the audit is incomplete),
/// else 1 when `--fail-on` finds a result it names, else 0. Of a whole
/// outcome: the streamed audit's reference in tests.
#[cfg(test)]
pub fn exit_code(outcome: &AuditOutcome, fail_on: Option<FailOn>) -> ExitCode {
    exit_code_of_counts(
        outcome.invalid_policies(),
        |status| outcome.count(status),
        fail_on,
    )
}

/// [`exit_code`] from counts however they were kept.
pub fn exit_code_of_counts(
    invalid_policies: usize,
    count: impl Fn(RuleStatus) -> usize,
    fail_on: Option<FailOn>,
) -> ExitCode {
    if invalid_policies > 0 {
        return ExitCode::from(2);
    }
    if failing_statuses(fail_on)
        .iter()
        .any(|status| count(*status) > 0)
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use polscan::audit::{audit, AuditInput};
    use polscan::loader::parse_documents;
    use std::path::Path;

    fn outcome(policy: &str, resource: &str) -> AuditOutcome {
        audit(AuditInput {
            context: None,
            policy_documents: parse_documents(policy, Path::new("p.yaml")).expect("policy yaml"),
            resource_documents: parse_documents(resource, Path::new("r.yaml"))
                .expect("resource yaml"),
            ..AuditInput::default()
        })
    }

    const POLICY: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {pattern: {metadata: {labels: {app: '?*'}}}}\n";
    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: ns}\n";

    /// Found by the `outputs` fuzz target: the policy's name (and its
    /// rule's, in `-t`) reached the terminal as written.
    #[test]
    fn policy_and_rule_names_are_shown_literally_in_both_tables() {
        let hostile = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: \"p\\e[2J\\u202e\"}\nspec:\n  rules:\n  - name: \"r\\a\"\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {pattern: {metadata: {labels: {app: '?*'}}}}\n";
        let outcome = outcome(hostile, POD);
        assert_eq!(outcome.findings.len(), 1, "{:?}", outcome.problems);
        let grouped = grouped_table(&outcome, false);
        let kyverno = super::super::kyverno_apply::results_table(&outcome, true, false);
        for table in [grouped, kyverno] {
            assert!(
                !table
                    .chars()
                    .any(|c| c == '\x1b' || c == '\x07' || c == '\u{202e}'),
                "{table}"
            );
            assert!(table.contains("p\\u{1b}[2J\\u{202e}"), "{table}");
        }
    }

    #[test]
    fn a_policy_heading_names_every_action_its_results_have() {
        let mixed = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  validationFailureAction: Audit\n  validationFailureActionOverrides: [{action: Enforce, namespaces: [prod]}]\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {pattern: {metadata: {labels: {app: '?*'}}}}\n";
        let pods = "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: dev}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: y, namespace: prod}\n";
        let table = grouped_table(&outcome(mixed, pods), false);
        assert!(
            table.starts_with("p (ClusterPolicy, mixed: Audit, Enforce)"),
            "{table}"
        );
        let table = grouped_table(&outcome(POLICY, POD), false);
        assert!(table.starts_with("p (ClusterPolicy, Audit)"), "{table}");
    }

    #[test]
    fn fail_on_decides_the_exit_code() {
        let failing = outcome(POLICY, POD);
        assert_eq!(failing.count(RuleStatus::Fail), 1);
        assert_eq!(exit_code(&failing, None), ExitCode::SUCCESS);
        assert_eq!(exit_code(&failing, Some(FailOn::Fail)), ExitCode::from(1));
        assert_eq!(exit_code(&failing, Some(FailOn::Error)), ExitCode::SUCCESS);
    }

    #[test]
    fn an_invalid_policy_makes_the_audit_incomplete() {
        let broken = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: broken}\nspec: {rules: [{name: r, match: {any: nope}}]}\n";
        let text = format!("{POLICY}---\n{broken}");
        let result = outcome(&text, POD);
        assert_eq!(result.invalid_policies(), 1);
        // The valid policy still ran.
        assert_eq!(result.count(RuleStatus::Fail), 1);
        assert!(
            result.problems[0].to_string().contains("p.yaml#2"),
            "{}",
            result.problems[0]
        );
        assert_eq!(exit_code(&result, None), ExitCode::from(2));
    }

    #[test]
    fn every_kind_of_refused_policy_exits_2_without_results() {
        let refused = [
            (
                "validate: {patern: {metadata: {labels: {app: '?*'}}}}",
                "spec.rules[0].validate.patern",
            ),
            (
                "validate: {failureAction: Audti, pattern: {metadata: {labels: {app: '?*'}}}}",
                "spec.rules[0].validate.failureAction",
            ),
            (
                "validate: {pattern: {metadata: {labels: {app: 3}}}}",
                "spec.rules[0].validate.pattern.metadata.labels.app",
            ),
            (
                "validate: {pattern: {spec: {template: {metadata: {annotations: {a: null}}}}}}",
                "spec.rules[0].validate.pattern.spec.template.metadata.annotations.a",
            ),
        ];
        for (validate, path) in refused {
            let policy = format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: refused}}\nspec:\n  rules:\n  - name: r\n    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}\n    {validate}\n");
            let result = outcome(&format!("{POLICY}---\n{policy}"), POD);
            assert_eq!(result.invalid_policies(), 1, "{path}");
            let problem = result.problems[0].to_string();
            assert!(
                problem.contains("p.yaml#2")
                    && problem.contains("refused")
                    && problem.contains(path),
                "{problem}"
            );
            assert!(result.findings.iter().all(|f| f.policy.name != "refused"));
            assert_eq!(exit_code(&result, None), ExitCode::from(2));
        }
        let empty_match = POLICY.replace("{any: [{resources: {kinds: [Pod]}}]}", "{}");
        let result = outcome(&empty_match, POD);
        assert_eq!(result.invalid_policies(), 1);
        assert!(result.findings.is_empty());
        let vpol = "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: vp}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]}\n  validations: [{expression: 'object.metadata.name =='}]\n";
        let result = outcome(vpol, POD);
        assert_eq!(exit_code(&result, None), ExitCode::from(2));
        assert!(result.findings.is_empty());
        assert!(result.problems[0]
            .to_string()
            .contains("spec.validations[0].expression"));
    }

    #[test]
    fn table_aligns_columns() {
        let text = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(text, "A    BB\nxxx  y\n");
    }
}

#[cfg(test)]
mod colour_tests {
    use super::*;

    #[test]
    fn colour_codes_take_no_width() {
        assert_eq!(visible_width("\x1b[1;31mfail  \x1b[0m"), 6);
        let rows = vec![
            vec![paint("fail  ", RuleStatus::Fail, true), "x".into()],
            vec![paint("pass  ", RuleStatus::Pass, true), "y".into()],
        ];
        let text = table(&["RESULT", "MESSAGE"], &rows);
        let stripped: Vec<String> = text
            .lines()
            .map(|line| {
                let mut out = String::new();
                let mut in_escape = false;
                for c in line.chars() {
                    match (in_escape, c) {
                        (false, '\x1b') => in_escape = true,
                        (true, 'm') => in_escape = false,
                        (true, _) => {}
                        (false, c) => out.push(c),
                    }
                }
                out
            })
            .collect();
        // Colour or not, the message column starts at the same place.
        assert_eq!(stripped, ["RESULT  MESSAGE", "fail    x", "pass    y"]);
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(paint("fail", RuleStatus::Fail, false), "fail");
        assert!(paint("fail", RuleStatus::Fail, true).contains("\x1b[1;31m"));
    }

    /// Escape sequences, line feeds and bidi overrides in a message reach
    /// the terminal as visible escapes; tabs and other text stay.
    #[test]
    fn hostile_text_is_shown_literally() {
        assert_eq!(terminal_safe("plain ünïcode\tand"), "plain ünïcode\tand");
        // A line feed in a cell would start what reads as another row.
        assert_eq!(
            terminal_safe("ok\nFAKE  team-a/Pod/x  pass"),
            "ok\\u{a}FAKE  team-a/Pod/x  pass"
        );
        assert_eq!(
            terminal_safe("a\x1b]0;owned\x07b\x1b[2Jc"),
            "a\\u{1b}]0;owned\\u{7}b\\u{1b}[2Jc"
        );
        assert_eq!(terminal_safe("x\u{202e}y\u{9b}z"), "x\\u{202e}y\\u{9b}z");
    }
}
