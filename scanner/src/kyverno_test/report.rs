//! The output of a test run: one [`Row`] per expected result and resource
//! with its [`Verdict`], a [`TestReport`] per `Test` document, and the
//! [`Summary`] that adds reports up as `kyverno test` counts them.

use std::path::{Path, PathBuf};

/// The verdict of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// The policy was refused by Kyverno's policy validation: the Kyverno
    /// CLI prints the row as Skip / "Invalid Policy" and counts it passed.
    Skip,
    /// Expectations polscan does not check (mutate, generate, verifyImages,
    /// or policy kinds it does not evaluate yet): never counted as passed.
    OutOfScope,
}

impl Verdict {
    /// Rows the Kyverno CLI counts as passed.
    pub fn passes(&self) -> bool {
        matches!(self, Verdict::Pass | Verdict::Skip)
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub policy: String,
    pub rule: String,
    pub resource: String,
    pub expected: String,
    pub actual: String,
    pub verdict: Verdict,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct TestReport {
    pub path: PathBuf,
    pub name: String,
    pub rows: Vec<Row>,
    /// A test that could not run at all (unreadable file, missing policy file).
    pub error: Option<String>,
    /// Policies that were skipped as invalid, with the reason.
    pub invalid_policies: Vec<String>,
    /// Policy documents the loader dropped (schema errors other than an
    /// unknown field), as the Kyverno CLI prints them: `<file>: <error>`.
    pub load_errors: Vec<String>,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && !self.rows.is_empty()
            && self.rows.iter().all(|r| r.verdict.passes())
    }

    pub fn failed_rows(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .count()
    }

    pub fn out_of_scope_rows(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::OutOfScope)
            .count()
    }
}

/// What a run of several test files adds up to, as `kyverno test` counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows counted as passed (Pass, and Skip for refused policies).
    pub passed: usize,
    /// Rows that failed.
    pub failed: usize,
    /// Rows polscan does not check (never counted as passed).
    pub out_of_scope: usize,
    /// The first test (in run order) that could not run, with its error:
    /// the Kyverno CLI stops there, without a summary.
    pub aborted: Option<(usize, String)>,
}

impl Summary {
    /// Counts the reports up to the first one that could not run.
    pub fn of(reports: &[TestReport]) -> Summary {
        let mut summary = Summary::default();
        for (index, report) in reports.iter().enumerate() {
            if let Some(err) = &report.error {
                summary.aborted = Some((index, err.clone()));
                break;
            }
            for row in &report.rows {
                match row.verdict {
                    Verdict::Pass | Verdict::Skip => summary.passed += 1,
                    Verdict::Fail => summary.failed += 1,
                    Verdict::OutOfScope => summary.out_of_scope += 1,
                }
            }
        }
        summary
    }

    /// 1 when the run stopped or a row failed, else 3 when expectations
    /// were out of scope, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.aborted.is_some() || self.failed > 0 {
            1
        } else if self.out_of_scope > 0 {
            3
        } else {
            0
        }
    }
}

pub(super) fn error_report(path: &Path, name: String, error: String) -> TestReport {
    TestReport {
        path: path.to_path_buf(),
        name,
        rows: Vec::new(),
        error: Some(error),
        invalid_policies: Vec::new(),
        load_errors: Vec::new(),
    }
}
