//! The finding outputs (table, JUnit, SARIF): spilled records enter,
//! sorted; the rendered output and its counts leave.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use anyhow::Context;
use serde_json::Value;

use polscan::audit::{Finding, Problem};
use polscan::engine::RuleStatus;

use super::super::output::{self};
use super::super::spill::{encode_fields, Fields, Record as SpilledRecord, SortKey, Spill};
use super::super::{junit, sarif, OutputFormat};
use super::kyverno::{status_index, STATUS_CELLS};
use super::policy_reports::{pretty_item, JsonFrame, MARKER};
use super::{by_policy_records, finding_key, Case, Record};

/// The views whose records are findings: JUnit (cases by policy, each
/// suite's counts in its start tag), SARIF (results in the audit's order,
/// rules in order of first result) and the grouped table (a block per
/// policy, columns as wide as the policy's widest cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FindingFormat {
    Junit,
    Sarif,
    Table,
}

impl FindingFormat {
    pub(super) fn of(format: OutputFormat) -> Option<FindingFormat> {
        match format {
            OutputFormat::Junit => Some(FindingFormat::Junit),
            OutputFormat::Sarif => Some(FindingFormat::Sarif),
            OutputFormat::Table => Some(FindingFormat::Table),
            OutputFormat::Summary | OutputFormat::Yaml | OutputFormat::Json => None,
        }
    }

    /// The records of one resource's findings.
    pub(super) fn records(self, ordinal: u64, findings: &[Finding]) -> anyhow::Result<Vec<Record>> {
        match self {
            FindingFormat::Junit | FindingFormat::Table => Ok(by_policy_records(ordinal, findings)),
            FindingFormat::Sarif => sarif_records(ordinal, findings),
        }
    }
}

/// What a finding view counts before it writes its first record: JUnit's
/// totals by suite, SARIF's rules, the table's blocks and the results it
/// shows by status (its summary line). Counts of parts merge
/// ([`ViewCounts::merge`]): a scan keeps them per listed kind, so a kind
/// whose listing starts again drops only its own.
#[derive(Default)]
pub(super) struct ViewCounts {
    pub(super) suites: BTreeMap<String, junit::Counts>,
    pub(super) total: junit::Counts,
    /// Each rule's first place in the audit's order and its descriptor.
    pub(super) rules: HashMap<String, (Vec<u8>, Value)>,
    pub(super) groups: BTreeMap<String, Group>,
    pub(super) shown: BTreeMap<RuleStatus, usize>,
}

/// What a policy's block of the table needs before its first row.
pub(super) struct Group {
    /// The first row's place and its policy kind (the heading's).
    pub(super) first: (Vec<u8>, String),
    pub(super) actions: BTreeSet<String>,
    pub(super) widths: Vec<usize>,
}

impl ViewCounts {
    /// Counts one resource's findings and their records (one record per
    /// finding, in the same order, for JUnit and the table).
    pub(super) fn add(
        &mut self,
        format: FindingFormat,
        ordinal: u64,
        findings: &[Finding],
        records: &[Record],
    ) -> std::io::Result<()> {
        for finding in findings {
            *self.shown.entry(finding.reported_status()).or_default() += 1;
        }
        match format {
            FindingFormat::Junit => {
                for (_, value) in records {
                    let case = Case::read(value)?;
                    self.total.add(case.status);
                    match self.suites.get_mut(case.policy) {
                        Some(counts) => counts.add(case.status),
                        None => {
                            let mut counts = junit::Counts::default();
                            counts.add(case.status);
                            self.suites.insert(case.policy.to_string(), counts);
                        }
                    }
                }
            }
            FindingFormat::Sarif => {
                for (index, finding) in findings.iter().enumerate() {
                    let id = sarif::rule_id(finding);
                    let key = finding_key(SortKey::new(), finding, ordinal, index).into_bytes();
                    let earlier = self.rules.get(&id).is_some_and(|(first, _)| *first < key);
                    if !earlier {
                        let descriptor =
                            sarif::rule_descriptor(&id, &finding.policy, &finding.result.rule);
                        self.rules.insert(id, (key, descriptor));
                    }
                }
            }
            FindingFormat::Table => {
                for (finding, (key, value)) in findings.iter().zip(records) {
                    let case = Case::read(value)?;
                    let group = self
                        .groups
                        .entry(case.policy.to_string())
                        .or_insert_with(|| Group {
                            first: (key.clone(), finding.policy.kind.clone()),
                            actions: BTreeSet::new(),
                            widths: output::header_widths(&output::GROUP_HEADERS),
                        });
                    if *key < group.first.0 {
                        group.first = (key.clone(), finding.policy.kind.clone());
                    }
                    if !finding.result.action.is_empty() {
                        group.actions.insert(finding.result.action.clone());
                    }
                    // Colour takes no width: the plain cells measure the same.
                    let status = STATUS_CELLS[status_index(case.status)];
                    output::widen(&mut group.widths, &[case.rule, case.resource, status]);
                }
            }
        }
        Ok(())
    }

    /// Adds the counts of another part of the same view.
    pub(super) fn merge(&mut self, other: ViewCounts) {
        for (policy, counts) in other.suites {
            self.suites.entry(policy).or_default().merge(&counts);
        }
        self.total.merge(&other.total);
        for (id, (key, descriptor)) in other.rules {
            let earlier = self.rules.get(&id).is_some_and(|(first, _)| *first < key);
            if !earlier {
                self.rules.insert(id, (key, descriptor));
            }
        }
        for (policy, group) in other.groups {
            match self.groups.get_mut(&policy) {
                None => {
                    self.groups.insert(policy, group);
                }
                Some(mine) => {
                    if group.first.0 < mine.first.0 {
                        mine.first = group.first;
                    }
                    mine.actions.extend(group.actions);
                    for (width, other) in mine.widths.iter_mut().zip(group.widths) {
                        *width = (*width).max(other);
                    }
                }
            }
        }
        for (status, count) in other.shown {
            *self.shown.entry(status).or_default() += count;
        }
    }

    /// Results of this status, as shown.
    pub(super) fn shown(&self, status: RuleStatus) -> usize {
        self.shown.get(&status).copied().unwrap_or(0)
    }
}

/// A finding view's records and counts, until the end writes them.
pub(super) struct FindingSink {
    pub(super) format: FindingFormat,
    pub(super) color: bool,
    pub(super) counts: ViewCounts,
    pub(super) spill: Spill,
}

/// Records read back in the view's order.
pub(super) type SortedRecords<'a> = &'a mut dyn Iterator<Item = std::io::Result<SpilledRecord>>;

impl FindingSink {
    /// Writes the view of `records` (sorted, each counted in `counts`);
    /// `summary` ends the table.
    pub(super) fn write(
        format: FindingFormat,
        color: bool,
        counts: &ViewCounts,
        records: SortedRecords<'_>,
        problems: &[Problem],
        summary: &str,
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        match format {
            FindingFormat::Junit => write_junit(counts, records, out),
            FindingFormat::Sarif => write_sarif(counts, records, problems, out),
            FindingFormat::Table => {
                write_table(counts, records, color, out)?;
                writeln!(out, "{summary}")?;
                Ok(())
            }
        }
    }
}

pub(super) fn write_junit(
    counts: &ViewCounts,
    records: SortedRecords<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut writer = junit::writer(&mut *out);
    junit::write_head(&mut writer, &counts.total)?;
    let mut current: Option<String> = None;
    for record in records {
        let record = record?;
        let case = Case::read(record.value())?;
        if current.as_deref() != Some(case.policy) {
            if current.is_some() {
                writer.write_event(quick_xml::events::Event::End(
                    quick_xml::events::BytesEnd::new("testsuite"),
                ))?;
            }
            let suite = counts
                .suites
                .get(case.policy)
                .context("a suite was not counted")?;
            junit::write_suite_start(&mut writer, case.policy, suite)?;
            current = Some(case.policy.to_string());
        }
        junit::write_case(
            &mut writer,
            case.policy,
            case.rule,
            case.resource,
            case.status,
            case.message,
        )?;
    }
    if current.is_some() {
        writer.write_event(quick_xml::events::Event::End(
            quick_xml::events::BytesEnd::new("testsuite"),
        ))?;
    }
    writer.write_event(quick_xml::events::Event::End(
        quick_xml::events::BytesEnd::new("testsuites"),
    ))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// SARIF records: the result (its rule index is known at the end; 0 until
/// then) with its rule's id.
pub(super) fn sarif_records(ordinal: u64, findings: &[Finding]) -> anyhow::Result<Vec<Record>> {
    let mut records = Vec::new();
    for (index, finding) in findings.iter().enumerate() {
        let id = sarif::rule_id(finding);
        let Some(result) = sarif::result(finding, &id, 0) else {
            continue;
        };
        let key = finding_key(SortKey::new(), finding, ordinal, index);
        let json = serde_json::to_string(&result)?;
        records.push((key.into_bytes(), encode_fields(&[&id, &json])));
    }
    Ok(records)
}

pub(super) fn write_sarif(
    counts: &ViewCounts,
    records: SortedRecords<'_>,
    problems: &[Problem],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut rules: Vec<(&Vec<u8>, &String, &Value)> = counts
        .rules
        .iter()
        .map(|(id, (key, descriptor))| (key, id, descriptor))
        .collect();
    rules.sort_by(|a, b| a.0.cmp(b.0));
    let indexes: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(index, (_, id, _))| (id.as_str(), index))
        .collect();
    let descriptors = rules.iter().map(|(_, _, d)| (*d).clone()).collect();
    let frame = JsonFrame::new(&sarif::log(
        descriptors,
        problems,
        Value::String(MARKER.into()),
    ))?;
    out.write_all(frame.head.as_bytes())?;
    let mut items = 0usize;
    for record in records {
        let record = record?;
        let mut fields = Fields::new(record.value());
        let id = fields.next_str()?;
        let mut result: Value = serde_json::from_str(fields.next_str()?)?;
        let index = indexes.get(id).context("a result's rule was not kept")?;
        result["ruleIndex"] = Value::from(*index);
        let text = pretty_item(&result, frame.item_indent())?;
        frame.write_item(out, items, text.as_bytes())?;
        items += 1;
    }
    frame.write_end(out, items)?;
    Ok(())
}

pub(super) fn write_table(
    counts: &ViewCounts,
    records: SortedRecords<'_>,
    color: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut current: Option<&str> = None;
    let mut widths: &[usize] = &[];
    let mut text = String::new();
    for record in records {
        let record = record?;
        let case = Case::read(record.value())?;
        if current != Some(case.policy) {
            if current.is_some() {
                out.write_all(b"\n")?;
            }
            let (name, group) = counts
                .groups
                .get_key_value(case.policy)
                .context("a policy was not counted")?;
            let actions: BTreeSet<&str> = group.actions.iter().map(String::as_str).collect();
            out.write_all(output::group_heading(name, &group.first.1, &actions, color).as_bytes())?;
            out.write_all(
                output::indented(&output::table_line(&group.widths, &output::GROUP_HEADERS))
                    .as_bytes(),
            )?;
            current = Some(name.as_str());
            widths = &group.widths;
        }
        text.clear();
        // Widths were measured on the plain cells: only hostile text (an
        // escape sequence shown as `\u{1b}`) is wider than measured.
        let cells = [
            output::terminal_safe(case.rule),
            output::terminal_safe(case.resource),
            output::group_status_cell(case.status, color),
            output::terminal_safe(case.message),
        ];
        text.push_str(&output::indented(&output::table_line(widths, &cells)));
        out.write_all(text.as_bytes())?;
    }
    if current.is_some() {
        out.write_all(b"\n")?;
    }
    Ok(())
}
