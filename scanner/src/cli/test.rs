//! `polscan test`: run kyverno-test.yaml files as `kyverno test` does and
//! print a table per test and `Test Summary: N tests passed and M tests failed`.
//! As in the Kyverno CLI, a test that cannot run (a policy file with an
//! unknown field, a ValidatingPolicy that does not compile, a missing file)
//! stops the run: its error is printed, no summary follows, the exit code is 1.

use std::process::ExitCode;

use rayon::prelude::*;

use super::diag::{out, say};
use super::output::table;
use super::TestArgs;
use polscan::kyverno_test::{self, Verdict};

pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let files = kyverno_test::discover(&args.paths)?;
    if files.is_empty() {
        out!("No test yamls available");
        return Ok(ExitCode::from(1));
    }
    let reports: Vec<_> = files
        .par_iter()
        .map(|f| kyverno_test::run_test_file(f))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    let summary = kyverno_test::Summary::of(&reports);
    for (index, report) in reports.iter().enumerate() {
        out!(
            "Loading test {} ({}) ...",
            report.name,
            report.path.display()
        );
        if let Some((aborted, err)) = &summary.aborted {
            if *aborted == index {
                say!("Error: failed to run test ({err})");
                return Ok(ExitCode::from(summary.exit_code()));
            }
        }
        for error in &report.load_errors {
            out!("  ERROR: {error}");
        }
        for invalid in &report.invalid_policies {
            out!("  skipped invalid policy {invalid}");
        }
        let rows: Vec<Vec<String>> = report
            .rows
            .iter()
            .enumerate()
            .filter(|(_, row)| !args.fail_only || row.verdict == Verdict::Fail)
            .map(|(i, row)| {
                let verdict = match row.verdict {
                    Verdict::Pass => "Pass",
                    Verdict::Fail => "Fail",
                    Verdict::Skip => "Skip",
                    Verdict::OutOfScope => "Out of scope",
                };
                let mut cells = vec![
                    (i + 1).to_string(),
                    row.policy.clone(),
                    row.rule.clone(),
                    row.resource.clone(),
                    verdict.to_string(),
                    row.reason.clone(),
                ];
                if args.detailed_results {
                    cells.push(row.message.clone());
                }
                cells
            })
            .collect();
        let mut headers = vec!["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"];
        if args.detailed_results {
            headers.push("MESSAGE");
        }
        if !rows.is_empty() {
            out!("{}", table(&headers, &rows));
        }
    }
    out!();
    out!(
        "Test Summary: {} tests passed and {} tests failed",
        summary.passed,
        summary.failed
    );
    if summary.out_of_scope > 0 {
        out!("{} expectations are out of scope (mutate, generate, verifyImages or policy kinds polscan does not evaluate yet) and were not checked", summary.out_of_scope);
    }
    Ok(ExitCode::from(summary.exit_code()))
}
