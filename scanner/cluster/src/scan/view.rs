//! Where a scan streams its findings when its output lists them (the
//! table, JUnit, SARIF): each object's findings enter, with the number of
//! the LIST that gave it (one per kind, or per kind and namespace) and the
//! object's place among that LIST's objects, as the pages are evaluated; a
//! LIST that starts again drops what it gave; the output leaves at the
//! end, written by the view. The scan
//! then holds no finding: memory is the view's counts and what its spill
//! keeps (`cli::apply_stream::ScanView`).

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use crate::audit::{Finding, Problem};

/// One output record: its place in the view's order (bytes compared) and
/// its bytes.
pub type ViewRecord = (Vec<u8>, Vec<u8>);

/// A streamed output of findings.
pub trait FindingView: Send + Sync {
    /// The records of one object's findings; called in parallel for the
    /// objects of a page. `kind`: the number of the LIST that gave the
    /// object (one per kind, or per kind and namespace); `ordinal`: the
    /// object's place among that LIST's objects.
    fn records(
        &self,
        kind: usize,
        ordinal: u64,
        findings: &[Finding],
    ) -> std::io::Result<Vec<ViewRecord>>;

    /// Keeps one object's records, objects one after the other. Fails when
    /// the spill's temporary file cannot be written.
    fn add(
        &mut self,
        kind: usize,
        ordinal: u64,
        findings: &[Finding],
        records: Vec<ViewRecord>,
    ) -> std::io::Result<()>;

    /// LIST `kind` starts over: what it gave so far is void.
    fn restart(&mut self, kind: usize);

    /// Writes the output to `out`: `problems` as the view shows them, and
    /// the counts of the summary line (policies and resources evaluated).
    fn finish(
        self: Box<Self>,
        out: &mut dyn Write,
        problems: &[Problem],
        policies: usize,
        resources: usize,
    ) -> anyhow::Result<()>;
}

/// Makes the view of one scan (a long-running scanner makes one a run).
#[derive(Clone)]
pub struct ViewFactory(pub Arc<dyn Fn() -> Box<dyn FindingView> + Send + Sync>);

impl ViewFactory {
    /// A new, empty view.
    pub fn make(&self) -> Box<dyn FindingView> {
        (self.0)()
    }
}

impl fmt::Debug for ViewFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewFactory")
    }
}

/// A scan's streamed view, as the outcome carries it to the printer.
pub struct StreamedView(pub Box<dyn FindingView>);

impl fmt::Debug for StreamedView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamedView")
    }
}
