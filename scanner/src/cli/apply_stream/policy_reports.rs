//! `--policy-report`'s PolicyReports (yaml or json), written as the
//! findings stream in: records enter; one YAML stream or JSON list of
//! reports leaves, ordered as the Kyverno CLI orders them.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use anyhow::Context;
use report_model::meta::Timestamp;
use serde_json::Value;

use polscan::audit::{finding_order, Finding};
use polscan::reports;

use super::super::spill::{SortKey, Spill};
use super::{identity_hash, Record};

/// PolicyReports and ClusterPolicyReports, one per resource, as YAML
/// documents or the items of a JSON `List`.
pub(super) struct ReportsSink {
    pub(super) json: bool,
    pub(super) timestamp: Timestamp,
    /// Identities of resources given more than once ([`Prepass`]).
    pub(super) shared: HashSet<u64>,
    /// Findings of such resources by report, until the end merges them.
    pub(super) held: HashMap<Vec<u8>, Vec<Finding>>,
    pub(super) spill: Spill,
}

/// The value of a report record: the report as written.
pub(super) const RENDERED: u8 = 0;
/// The value of a report record whose findings are held.
pub(super) const HELD: u8 = 1;

/// Indentation of the items of the JSON `List`.
pub(super) const LIST_ITEM_INDENT: usize = 4;

impl ReportsSink {
    pub(super) fn records(
        &self,
        ordinal: u64,
        findings: &[Finding],
    ) -> anyhow::Result<Vec<Record>> {
        let Some(first) = findings.first() else {
            return Ok(Vec::new());
        };
        let Some((group, object)) = self.report(findings)? else {
            return Ok(Vec::new());
        };
        let key = group.num(ordinal).into_bytes();
        let value = if self.shared.contains(&identity_hash(&first.resource)) {
            vec![HELD]
        } else {
            let text = self.render(&object)?;
            let mut value = Vec::with_capacity(text.len() + 1);
            value.push(RENDERED);
            value.extend_from_slice(text.as_bytes());
            value
        };
        Ok(vec![(key, value)])
    }

    /// The report of one resource's findings (none when no finding is
    /// reported): its place (group, namespace, name, identity) and object.
    pub(super) fn report(&self, findings: &[Finding]) -> anyhow::Result<Option<(SortKey, Value)>> {
        let shaped =
            reports::per_resource(findings, self.timestamp).context("shaping the reports")?;
        // As the whole outcome: PolicyReports by namespace and name, then
        // ClusterPolicyReports by name; equal names by identity.
        let (key, object) = if let Some(report) = shaped.policy_reports.first() {
            let key = SortKey::new()
                .byte(0)
                .str(report.namespace())
                .str(report.name());
            (
                identity_key(key, report.scope()),
                serde_json::to_value(report)?,
            )
        } else if let Some(report) = shaped.cluster_policy_reports.first() {
            let key = SortKey::new().byte(1).str(report.name());
            (
                identity_key(key, report.scope()),
                serde_json::to_value(report)?,
            )
        } else {
            return Ok(None);
        };
        Ok(Some((key, object)))
    }

    /// A report as written: an item of the JSON `List`, or a YAML document.
    pub(super) fn render(&self, object: &Value) -> anyhow::Result<String> {
        Ok(if self.json {
            pretty_item(object, LIST_ITEM_INDENT)?
        } else {
            format!("---\n{}", serde_yaml::to_string(object)?)
        })
    }

    pub(super) fn add(
        &mut self,
        findings: Vec<Finding>,
        records: Vec<Record>,
    ) -> std::io::Result<()> {
        for (key, value) in records {
            if value.first() == Some(&HELD) {
                let group = key[..key.len().saturating_sub(8)].to_vec();
                self.held
                    .entry(group)
                    .or_default()
                    .extend(findings.iter().cloned());
            }
            self.spill.push(&key, &value)?;
        }
        Ok(())
    }

    pub(super) fn finish(mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        let spill = std::mem::replace(&mut self.spill, Spill::new(0));
        let frame = self.json.then(list_frame).transpose()?;
        if let Some(frame) = &frame {
            out.write_all(frame.head.as_bytes())?;
        }
        let mut items = 0usize;
        for record in spill.into_sorted()? {
            let record = record?;
            let (key, value) = (record.key(), record.value());
            let merged;
            let text: &[u8] = match value.split_first() {
                Some((&HELD, _)) => {
                    let group = &key[..key.len().saturating_sub(8)];
                    // The first record of a shared report writes it.
                    let Some(mut findings) = self.held.remove(group) else {
                        continue;
                    };
                    findings.sort_by(finding_order);
                    merged = match self.report(&findings)? {
                        Some((_, object)) => self.render(&object)?,
                        None => continue,
                    };
                    merged.as_bytes()
                }
                Some((_, text)) => text,
                None => continue,
            };
            match &frame {
                Some(frame) => frame.write_item(out, items, text)?,
                None => out.write_all(text)?,
            }
            items += 1;
        }
        if let Some(frame) = &frame {
            frame.write_end(out, items)?;
        }
        Ok(())
    }
}

/// A report's identity (its scope) in `ObjectReference`'s order.
pub(super) fn identity_key(
    key: SortKey,
    scope: Option<&report_model::meta::ObjectReference>,
) -> SortKey {
    match scope {
        None => key.byte(0),
        Some(scope) => key
            .byte(1)
            .opt(scope.kind.as_deref())
            .opt(scope.namespace.as_deref())
            .opt(scope.name.as_deref())
            .opt(scope.api_version.as_deref())
            .opt(scope.uid.as_deref())
            .opt(scope.resource_version.as_deref())
            .opt(scope.field_path.as_deref()),
    }
}

/// Stands for the streamed array in a document ([`JsonFrame`]).
pub(super) const MARKER: &str = "\u{0}polscan-streamed-array\u{0}";

/// A pretty-printed JSON document whose last value, an array, is written
/// item by item: the text before the array, the indentation of the line
/// holding it, and the text after it. Byte for byte what
/// `serde_json::to_string_pretty` gives for the whole document.
pub(super) struct JsonFrame {
    pub(super) head: String,
    pub(super) indent: usize,
    pub(super) tail: String,
}

impl JsonFrame {
    /// The frame of `document`, whose last string value is [`MARKER`]
    /// where the array goes.
    pub(super) fn new(document: &Value) -> anyhow::Result<JsonFrame> {
        let text = serde_json::to_string_pretty(document)?;
        let marker = serde_json::to_string(MARKER)?;
        let at = text
            .rfind(&marker)
            .context("the streamed array has no place in its document")?;
        let head = &text[..at];
        let tail = &text[at + marker.len()..];
        anyhow::ensure!(
            tail.chars()
                .all(|c| c.is_whitespace() || c == ']' || c == '}'),
            "the streamed array is not the document's last value"
        );
        let line = head.rsplit('\n').next().unwrap_or_default();
        let indent = line.len() - line.trim_start_matches(' ').len();
        Ok(JsonFrame {
            head: head.to_string(),
            indent,
            tail: tail.to_string(),
        })
    }

    /// Indentation of the array's items.
    pub(super) fn item_indent(&self) -> usize {
        self.indent + 2
    }

    /// Writes item number `index` (from 0), rendered by [`pretty_item`].
    pub(super) fn write_item(
        &self,
        out: &mut dyn Write,
        index: usize,
        text: &[u8],
    ) -> std::io::Result<()> {
        out.write_all(if index == 0 { b"[\n" } else { b",\n" })?;
        out.write_all(text)
    }

    /// Closes the array of `items` items and the document. Left unwritten
    /// when an item failed: the output is then no valid JSON.
    pub(super) fn write_end(&self, out: &mut dyn Write, items: usize) -> std::io::Result<()> {
        if items == 0 {
            out.write_all(b"[]")?;
        } else {
            write!(out, "\n{:indent$}]", "", indent = self.indent)?;
        }
        out.write_all(self.tail.as_bytes())?;
        out.write_all(b"\n")
    }
}

/// `value` pretty-printed as an item of an array whose items are indented
/// by `indent` spaces (JSON strings hold no raw newline, so every line is
/// indented alike).
pub(super) fn pretty_item(value: &Value, indent: usize) -> serde_json::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    let pad = " ".repeat(indent);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    out.push_str(&pad);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    Ok(out)
}

/// The frame of `-o json`'s `List`.
pub(super) fn list_frame() -> anyhow::Result<JsonFrame> {
    let frame =
        JsonFrame::new(&serde_json::json!({"apiVersion": "v1", "kind": "List", "items": MARKER}))?;
    anyhow::ensure!(
        frame.item_indent() == LIST_ITEM_INDENT,
        "the List's items are indented by {}",
        frame.item_indent()
    );
    Ok(frame)
}
