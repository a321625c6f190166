//! The output of a test run: one [`Row`] per expected result and resource
//! with its [`Verdict`], a [`TestReport`] per `Test` document, and the
//! [`Summary`] that adds reports up as `kyverno test` counts them.

use std::path::{Path, PathBuf};

/// The verdict of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The actual result is the expected one (or the resource was excluded
    /// from the policy, which the CLI counts as passed).
    Pass,
    /// The actual result differs, or no response of the policy was found.
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

/// One row of `kyverno test`'s result table: one expected result checked
/// on one resource.
#[derive(Debug, Clone)]
pub struct Row {
    /// The expectation's `policy`, as written.
    pub policy: String,
    /// The rule: the expectation's `rule`, or the response's rule name when
    /// one was compared (an autogen name, or a CEL policy's).
    pub rule: String,
    /// The resource: `apiVersion/kind/namespace/name` of a checked resource
    /// (namespace empty when cluster-scoped); for an out-of-scope
    /// expectation, a name it lists, or `*` when it lists none.
    pub resource: String,
    /// The expectation's `result`, as written.
    pub expected: String,
    /// The status found (`pass`, `fail`, `warn`, `error`, `skip`; a failure
    /// of a policy not scored reads `warn`), `excluded`, or empty when
    /// nothing was compared.
    pub actual: String,
    /// How the row counts.
    pub verdict: Verdict,
    /// The CLI's reason column: `Ok`, `Want <expected>, got <actual>`,
    /// `Excluded`, `Not found`, `Invalid Policy`, or why the expectation is
    /// out of scope.
    pub reason: String,
    /// The rule's message, `Excluded`, `Not found`, the policy's validation
    /// error, or empty.
    pub message: String,
}

/// The outcome of one `Test` document of a test file.
#[derive(Debug, Clone)]
pub struct TestReport {
    /// The test file.
    pub path: PathBuf,
    /// The test's `metadata.name` (or the deprecated top-level `name`);
    /// empty when it has none.
    pub name: String,
    /// One row per expected result and resource, in the expectations'
    /// order; empty when the test has no expected results or could not run.
    pub rows: Vec<Row>,
    /// A test that could not run at all (unreadable file, missing policy file).
    pub error: Option<String>,
    /// Policies that were skipped as invalid, as `<policy>: <reason>`.
    pub invalid_policies: Vec<String>,
    /// Policy documents the loader dropped (schema errors other than an
    /// unknown field), as the Kyverno CLI prints them: `<file>: <error>`.
    pub load_errors: Vec<String>,
}

impl TestReport {
    /// Whether the test counts as passed: it ran, has rows, and every row
    /// passes ([`Verdict::passes`]).
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && !self.rows.is_empty()
            && self.rows.iter().all(|r| r.verdict.passes())
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
