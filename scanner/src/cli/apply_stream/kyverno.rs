//! The Kyverno CLI's results table (`apply --table`): findings enter;
//! the table `kyverno apply` prints leaves.

use std::io::Write;

use polscan::audit::Finding;
use polscan::engine::RuleStatus;

use super::super::kyverno_apply::result_word;
use super::super::output::{self, paint};
use super::super::spill::{encode_fields, SortKey, Spill};
use super::{finding_key, push_all, Case, Record};

/// The RESULT cells of the grouped table without colour, by
/// [`status_index`] (their width is all the table needs of them).
pub(super) const STATUS_CELLS: [&str; 5] = ["pass  ", "fail  ", "warn  ", "error ", "skip  "];

pub(super) fn status_index(status: RuleStatus) -> usize {
    match status {
        RuleStatus::Pass => 0,
        RuleStatus::Fail => 1,
        RuleStatus::Warn => 2,
        RuleStatus::Error => 3,
        RuleStatus::Skip => 4,
    }
}

/// The headers of Kyverno's results table.
pub(super) fn kyverno_headers(detailed: bool) -> Vec<&'static str> {
    let mut headers = vec!["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"];
    if detailed {
        headers.push("MESSAGE");
    }
    headers
}

/// Kyverno's results table: rows by file and document, numbered.
pub(super) struct KyvernoSink {
    pub(super) color: bool,
    pub(super) detailed: bool,
    pub(super) widths: Vec<usize>,
    pub(super) rows: usize,
    pub(super) spill: Spill,
}

impl KyvernoSink {
    pub(super) fn records(&self, ordinal: u64, findings: &[Finding]) -> Vec<Record> {
        findings
            .iter()
            .enumerate()
            .map(|(index, finding)| {
                // As `results_table`: by origin, then the audit's order.
                let key = match &finding.origin {
                    None => SortKey::new().byte(0),
                    Some(origin) => SortKey::new()
                        .byte(1)
                        .path(&origin.path)
                        .num(origin.index as u64),
                };
                let key = finding_key(key, finding, ordinal, index);
                let kyverno_policy =
                    matches!(finding.policy.kind.as_str(), "ClusterPolicy" | "Policy");
                let rule = if kyverno_policy {
                    finding.result.rule.as_str()
                } else {
                    ""
                };
                let policy = finding.policy.qualified_name();
                let resource = finding.resource.to_string();
                let status = finding.reported_status().as_str();
                let message = if self.detailed {
                    finding.result.message.as_str()
                } else {
                    ""
                };
                let value = encode_fields(&[&policy, rule, &resource, status, message]);
                (key.into_bytes(), value)
            })
            .collect()
    }

    pub(super) fn add(&mut self, records: Vec<Record>) -> std::io::Result<()> {
        for (_, value) in &records {
            let case = Case::read(value)?;
            self.rows += 1;
            // Colour takes no width: the plain word measures the same; the
            // row number's column is sized at the end.
            let word = result_word(case.status);
            let row = [
                "",
                case.policy,
                case.rule,
                case.resource,
                word,
                "",
                case.message,
            ];
            let columns = self.widths.len();
            output::widen(&mut self.widths, &row[..columns]);
        }
        push_all(&mut self.spill, records)
    }

    pub(super) fn row(&self, id: String, case: &Case<'_>) -> Vec<String> {
        let mut row = vec![
            id,
            output::terminal_safe(case.policy),
            output::terminal_safe(case.rule),
            output::terminal_safe(case.resource),
            paint(result_word(case.status), case.status, self.color),
            String::new(),
        ];
        if self.detailed {
            row.push(output::terminal_safe(case.message));
        }
        row
    }

    pub(super) fn finish(mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        // Row numbers are as wide as the last one.
        let last = self.rows.to_string();
        output::widen(&mut self.widths, &[last]);
        let headers = kyverno_headers(self.detailed);
        out.write_all(output::table_line(&self.widths, &headers).as_bytes())?;
        let spill = std::mem::replace(&mut self.spill, Spill::new(0));
        for (number, record) in spill.into_sorted()?.enumerate() {
            let record = record?;
            let case = Case::read(record.value())?;
            let row = self.row((number + 1).to_string(), &case);
            out.write_all(output::table_line(&self.widths, &row).as_bytes())?;
        }
        Ok(())
    }
}
