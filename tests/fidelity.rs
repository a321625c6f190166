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

/// The `Kyverno exit` column of the cases' README table, by folder.
fn kyverno_exit_codes(root: &std::path::Path) -> std::collections::BTreeMap<String, u8> {
    let readme = std::fs::read_to_string(root.join("README.md")).expect("fidelity README");
    let mut lines = readme.lines().filter(|l| l.trim_start().starts_with('|'));
    let header: Vec<String> = lines
        .next()
        .expect("a table")
        .split('|')
        .map(|c| c.trim().to_lowercase())
        .collect();
    let column = header
        .iter()
        .position(|c| c == "kyverno exit")
        .expect("a Kyverno exit column");
    lines
        .filter(|l| !l.contains("---"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let exit = cells.get(column)?.parse().ok()?;
            Some((cells.get(1)?.to_string(), exit))
        })
        .collect()
}

/// Every case folder, run like the corpus: a case passes when its exit code
/// is the one the README gives for `kyverno test` and, for exit 0, every row
/// of every Test document passes. The floor (tests/fidelity-floor.txt)
/// only rises.
#[test]
fn every_fidelity_case_gives_kyverno_s_exit_code_and_rows() {
    let root = fidelity_root();
    let exits = kyverno_exit_codes(&root);
    let mut folders: Vec<_> = std::fs::read_dir(&root)
        .expect("fidelity folder")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    folders.sort();
    assert!(!folders.is_empty());
    let mut passed = 0;
    let mut failures = Vec::new();
    for folder in &folders {
        let expected_exit = *exits
            .get(folder)
            .unwrap_or_else(|| panic!("{folder} is not in the README table"));
        let files = kyverno_test::discover(&[root.join(folder)]).expect("folder readable");
        let reports: Vec<TestReport> = files
            .iter()
            .flat_map(|f| kyverno_test::run_test_file(f))
            .collect();
        let summary = Summary::of(&reports);
        let rows_pass = reports.iter().all(|r| r.error.is_none() && r.passed());
        let ok = summary.exit_code() == expected_exit && (expected_exit != 0 || rows_pass);
        if ok {
            passed += 1;
        } else {
            let detail: Vec<String> = reports
                .iter()
                .flat_map(|r| {
                    r.error.iter().cloned().chain(
                        r.rows
                            .iter()
                            .filter(|row| !row.verdict.passes())
                            .map(|row| format!("{} {}: {}", row.resource, row.reason, row.message)),
                    )
                })
                .collect();
            failures.push(format!(
                "{folder}: exit {} (Kyverno {expected_exit}) {detail:?}",
                summary.exit_code()
            ));
        }
    }
    println!("fidelity cases: {passed}/{} pass", folders.len());
    for failure in &failures {
        println!("  FAIL {failure}");
    }
    let floor: usize = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fidelity-floor.txt"),
    )
    .expect("tests/fidelity-floor.txt")
    .lines()
    .find(|l| !l.starts_with('#') && !l.trim().is_empty())
    .and_then(|l| l.trim().parse().ok())
    .expect("a floor");
    assert!(
        passed >= floor,
        "{passed} fidelity cases pass, floor {floor}: {failures:#?}"
    );
}
