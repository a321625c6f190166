//! The reports `scan -o yaml|json` prints (a dry run's, or a real run's),
//! kept for printing without holding them: each report enters as it is
//! made and leaves as one compact JSON line in an anonymous temporary file;
//! after the scan they are read back one at a time, in the order they were
//! made. Memory stays bounded by the pages in flight whatever the cluster's
//! size (a 50k-object dry run held 1.5 GiB of reports before).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};

use serde_json::Value;

use crate::reconcile::wanted::WantedReport;

/// Reports spilled to a temporary file, one JSON document per line.
#[derive(Debug)]
pub struct ReportSpill {
    file: BufWriter<File>,
    count: usize,
}

impl ReportSpill {
    /// An empty spill in a new anonymous temporary file.
    ///
    /// Errors: the temporary file cannot be created.
    pub fn new() -> io::Result<ReportSpill> {
        Ok(ReportSpill {
            file: BufWriter::new(tempfile::tempfile()?),
            count: 0,
        })
    }

    /// Appends one report.
    ///
    /// Errors: writing the temporary file failed (a full disk, say).
    pub fn push(&mut self, report: &WantedReport) -> io::Result<()> {
        serde_json::to_writer(&mut self.file, report)?;
        self.file.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    /// How many reports it holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The reports, in the order they were pushed, each parsed as it is
    /// read.
    ///
    /// Errors: flushing or rewinding the file fails now; a line that
    /// cannot be read or parsed fails its item.
    pub fn into_reports(self) -> io::Result<impl Iterator<Item = io::Result<Value>>> {
        let mut file = self.file.into_inner().map_err(|err| err.into_error())?;
        file.rewind()?;
        Ok(BufReader::new(file).lines().map(|line| {
            let line = line?;
            serde_json::from_str(&line).map_err(io::Error::from)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, results: usize) -> WantedReport {
        let results: Vec<Value> = (0..results)
            .map(|n| {
                serde_json::json!({"policy": "p", "rule": format!("r{n}"), "result": "pass",
                                   "source": "polscan", "timestamp": {"seconds": 1, "nanos": 0}})
            })
            .collect();
        let report: report_model::PolicyReport = serde_json::from_value(serde_json::json!({
            "apiVersion": "wgpolicyk8s.io/v1alpha2",
            "kind": "PolicyReport",
            "metadata": {"name": name, "namespace": "team"},
            "results": results,
            "summary": {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0},
        }))
        .expect("a report");
        WantedReport::Namespaced(report)
    }

    #[test]
    fn reports_come_back_in_order_and_equal_to_what_went_in() {
        let mut spill = ReportSpill::new().expect("spill");
        assert!(spill.is_empty());
        let sent: Vec<WantedReport> = (0..50).map(|n| report(&format!("r-{n}"), n % 4)).collect();
        for report in &sent {
            spill.push(report).expect("pushed");
        }
        assert_eq!(spill.len(), 50);
        let read: Vec<Value> = spill
            .into_reports()
            .expect("readable")
            .collect::<io::Result<_>>()
            .expect("every line parses");
        let expected: Vec<Value> = sent
            .iter()
            .map(|r| serde_json::to_value(r).expect("value"))
            .collect();
        assert_eq!(read, expected);
        // Key order is kept: the printed reports read as the written ones.
        let first = serde_json::to_string(&read[0]).expect("text");
        let direct = serde_json::to_string(&sent[0]).expect("text");
        assert_eq!(first, direct);
    }

    #[test]
    fn an_empty_spill_reads_back_nothing() {
        let spill = ReportSpill::new().expect("spill");
        assert_eq!(spill.into_reports().expect("readable").count(), 0);
    }
}
