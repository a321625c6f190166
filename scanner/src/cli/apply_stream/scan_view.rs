//! A cluster scan's findings in `apply`'s outputs: the scan's
//! [`FindingView`] over the same spill, so `scan -o table|junit|sarif`
//! prints as `apply` does, with memory bounded by the spill.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use polscan::audit::{Finding, Problem};
use polscan::scan::view::{FindingView, ViewFactory, ViewRecord};

use super::super::output::{self};
use super::super::spill::Spill;
use super::super::OutputFormat;
use super::findings::{FindingFormat, FindingSink, ViewCounts};
use super::push_all;

/// A scan's table, JUnit or SARIF output, streamed ([`FindingView`]): the
/// records of every listed kind in one spill, each key ending in its kind
/// and the generation of that kind's listing, and the counts per kind. A
/// kind whose listing starts again drops its counts and, at the end, the
/// records of its earlier generations.
pub struct ScanView {
    pub(super) format: FindingFormat,
    pub(super) color: bool,
    pub(super) spill: Spill,
    /// By kind: the listing's generation and what its records counted.
    pub(super) kinds: BTreeMap<usize, (u64, ViewCounts)>,
}

impl ScanView {
    /// What makes each scan's streamed view of `format` (records beyond
    /// `spill_limit` bytes go to temporary files); None for outputs that
    /// are no finding view (the summary, the reports).
    pub fn factory(format: OutputFormat, color: bool, spill_limit: usize) -> Option<ViewFactory> {
        let format = FindingFormat::of(format)?;
        Some(ViewFactory(Arc::new(move || {
            Box::new(ScanView {
                format,
                color,
                spill: Spill::new(spill_limit),
                kinds: BTreeMap::new(),
            }) as Box<dyn FindingView>
        })))
    }

    pub(super) fn generation(&self, kind: usize) -> u64 {
        self.kinds
            .get(&kind)
            .map_or(0, |(generation, _)| *generation)
    }
}

/// The kind and generation a scan record's key ends with.
pub(super) const KIND_SUFFIX: usize = 16;

pub(super) fn kind_suffix(key: &[u8]) -> Option<(u64, u64)> {
    let at = key.len().checked_sub(KIND_SUFFIX)?;
    let kind = u64::from_be_bytes(key[at..at + 8].try_into().ok()?);
    let generation = u64::from_be_bytes(key[at + 8..].try_into().ok()?);
    Some((kind, generation))
}

impl FindingView for ScanView {
    fn records(
        &self,
        kind: usize,
        ordinal: u64,
        findings: &[Finding],
    ) -> std::io::Result<Vec<ViewRecord>> {
        let generation = self.generation(kind);
        let mut records = self
            .format
            .records(ordinal, findings)
            .map_err(std::io::Error::other)?;
        for (key, _) in &mut records {
            key.extend_from_slice(&(kind as u64).to_be_bytes());
            key.extend_from_slice(&generation.to_be_bytes());
        }
        Ok(records)
    }

    fn add(
        &mut self,
        kind: usize,
        ordinal: u64,
        findings: &[Finding],
        records: Vec<ViewRecord>,
    ) -> std::io::Result<()> {
        let (_, counts) = self.kinds.entry(kind).or_default();
        counts.add(self.format, ordinal, findings, &records)?;
        push_all(&mut self.spill, records)
    }

    fn restart(&mut self, kind: usize) {
        let entry = self.kinds.entry(kind).or_default();
        *entry = (entry.0 + 1, ViewCounts::default());
    }

    fn finish(
        self: Box<Self>,
        out: &mut dyn Write,
        problems: &[Problem],
        policies: usize,
        resources: usize,
    ) -> anyhow::Result<()> {
        let ScanView {
            format,
            color,
            spill,
            kinds,
        } = *self;
        let current: BTreeMap<u64, u64> = kinds
            .iter()
            .map(|(kind, (generation, _))| (*kind as u64, *generation))
            .collect();
        let mut counts = ViewCounts::default();
        for (_, part) in kinds.into_values() {
            counts.merge(part);
        }
        let summary = output::counts_summary(|status| counts.shown(status), policies, resources);
        let mut records = spill.into_sorted()?.filter(|record| match record {
            Ok(record) => kind_suffix(record.key())
                .is_some_and(|(kind, generation)| current.get(&kind) == Some(&generation)),
            Err(_) => true,
        });
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
        FindingSink::write(
            format,
            color,
            &counts,
            &mut records,
            problems,
            &summary,
            &mut out,
        )?;
        out.flush()?;
        Ok(())
    }
}
