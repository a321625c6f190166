//! The Kyverno CLI fidelity cases on policy validation, read in place from
//! `../shared/cases/fidelity` (or `POLSCAN_FIDELITY`): each folder runs on
//! its own, and the rows, reasons and exit code must be what its README says
//! `kyverno test` gives. Folder names enter; assertions leave.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use polscan::kyverno_test::{self, Summary, TestReport, Verdict};
use polscan_tests::fidelity_root;

fn run(folder: &str) -> (TestReport, Summary) {
    let root = fidelity_root();
    assert!(
        root.is_dir(),
        "fidelity cases not found at {} (set POLSCAN_FIDELITY)",
        root.display()
    );
    let files = kyverno_test::discover(&[root.join(folder)]).expect("folder readable");
    assert_eq!(files.len(), 1, "{folder}: one kyverno-test.yaml");
    let reports: Vec<TestReport> = files
        .iter()
        .flat_map(|f| kyverno_test::run_test_file(f))
        .collect();
    let summary = Summary::of(&reports);
    let report = reports.into_iter().next().expect("one report");
    (report, summary)
}

/// (resource, verdict, reason) per row, sorted by resource.
fn rows(report: &TestReport) -> Vec<(String, Verdict, String)> {
    let mut rows: Vec<_> = report
        .rows
        .iter()
        .map(|r| (r.resource.clone(), r.verdict, r.reason.clone()))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

#[test]
fn an_unknown_field_aborts_the_run_without_rows() {
    let (report, summary) = run("policy-validation-unknown-field");
    let error = report.error.as_deref().expect("the run stops");
    assert!(
        error.contains("failed to load policies")
            && error.contains("policy.yaml")
            && error.contains("spec.rules[0].validate.patern")
            && error.contains("unknown field"),
        "{error}"
    );
    assert!(report.rows.is_empty());
    assert_eq!(summary.aborted.as_ref().map(|a| a.0), Some(0));
    assert_eq!((summary.passed, summary.failed), (0, 0));
    assert_eq!(summary.exit_code(), 1);
}

#[test]
fn an_enum_error_drops_the_policy_and_its_rows_are_not_found() {
    let (report, summary) = run("policy-validation-bad-failure-action");
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.load_errors.len(), 1, "{:?}", report.load_errors);
    let load_error = &report.load_errors[0];
    assert!(
        load_error.contains("policy.yaml#1")
            && load_error.contains("quota-annotation-block")
            && load_error.contains("spec.validationFailureAction")
            && load_error.contains("Unsupported value: \"Block\""),
        "{load_error}"
    );
    assert!(report.invalid_policies.is_empty());
    assert_eq!(
        rows(&report),
        vec![
            (
                "v1/ConfigMap/foundry/annotated".to_string(),
                Verdict::Fail,
                "Not found".to_string()
            ),
            (
                "v1/ConfigMap/foundry/bare".to_string(),
                Verdict::Fail,
                "Not found".to_string()
            ),
        ]
    );
    assert_eq!((summary.passed, summary.failed), (0, 2));
    assert_eq!(summary.exit_code(), 1);
}

fn assert_skipped_as_invalid(folder: &str, resources: [&str; 2], reason_text: &str) {
    let (report, summary) = run(folder);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.load_errors.is_empty(), "{:?}", report.load_errors);
    assert_eq!(report.invalid_policies.len(), 1);
    assert!(
        report.invalid_policies[0].contains(reason_text),
        "{:?}",
        report.invalid_policies
    );
    let expected: Vec<_> = resources
        .iter()
        .map(|r| (r.to_string(), Verdict::Skip, "Invalid Policy".to_string()))
        .collect();
    assert_eq!(rows(&report), expected);
    assert!(report.rows.iter().all(|r| r.message.contains(reason_text)));
    assert!(report.passed());
    assert_eq!((summary.passed, summary.failed), (2, 0));
    assert_eq!(summary.exit_code(), 0);
}

#[test]
fn an_empty_match_skips_the_policy_and_counts_its_rows_as_passed() {
    assert_skipped_as_invalid(
        "policy-validation-empty-match",
        [
            "v1/ConfigMap/atlas/with-region",
            "v1/ConfigMap/atlas/without-region",
        ],
        "spec.rules[0].match.resources.: match resources not specified",
    );
}

#[test]
fn a_non_string_label_skips_the_policy_and_counts_its_rows_as_passed() {
    assert_skipped_as_invalid(
        "policy-validation-nonstring-label",
        [
            "v1/ConfigMap/ledger/shard-five",
            "v1/ConfigMap/ledger/shard-three",
        ],
        "labels and annotations supports only string values",
    );
}
