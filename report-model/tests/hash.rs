//! Content hash: stable across runs and input order, blind to timestamps and
//! annotations, sensitive to any change in findings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use report_model::{
    content_hash, stored_content_hash, with_content_hash, ClusterPolicyReport, PolicyReport,
    PolicyResult, ReportResult, Timestamp, CONTENT_HASH_ANNOTATION,
};

fn results_at(seconds: i64) -> Vec<ReportResult> {
    vec![
        common::full_result(Some("shop")).with_timestamp(Timestamp::new(seconds, 1)),
        ReportResult::new("b", PolicyResult::Pass).with_timestamp(Timestamp::new(seconds, 2)),
        ReportResult::new("c", PolicyResult::Warn),
    ]
}

#[test]
fn hash_is_hex_sha256() {
    let hash = content_hash(&common::full_policy_report());
    assert_eq!(hash.len(), 64);
    assert!(hash
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
}

#[test]
fn hash_is_stable_across_runs_order_and_timestamps() {
    let first = PolicyReport::new("r", "ns", results_at(1_700_000_000));
    let mut later_input = results_at(1_800_000_000);
    later_input.reverse();
    let later = PolicyReport::new("r", "ns", later_input);
    assert_eq!(content_hash(&first), content_hash(&later));
    // Pinned so an accidental change to the hashed encoding is noticed: such a
    // change makes every writer rewrite every report once.
    assert_eq!(
        content_hash(&first),
        "89dd998181a350aee2e5c0dccd5a328b0a0dcd1a2a8e1368e752cad193975e30"
    );
}

#[test]
fn hash_changes_when_a_result_changes() {
    let base = PolicyReport::new("r", "ns", results_at(1));
    let base_hash = content_hash(&base);

    let mut changed_outcome = results_at(1);
    changed_outcome[1].result = PolicyResult::Fail;
    let mut changed_message = results_at(1);
    changed_message[0].message = Some("different".into());
    let mut added = results_at(1);
    added.push(ReportResult::new("d", PolicyResult::Skip));
    let mut removed = results_at(1);
    removed.pop();

    for variant in [changed_outcome, changed_message, added, removed] {
        assert_ne!(
            content_hash(&PolicyReport::new("r", "ns", variant)),
            base_hash
        );
    }
    // Identity and labels matter too.
    assert_ne!(
        content_hash(&PolicyReport::new("r2", "ns", results_at(1))),
        base_hash
    );
    assert_ne!(
        content_hash(&base.clone().with_label("team", "a")),
        base_hash
    );
    assert_ne!(
        content_hash(&ClusterPolicyReport::new("r", results_at(1))),
        base_hash
    );
}

#[test]
fn hash_ignores_annotations_uid_and_resource_version() {
    let report = common::full_policy_report();
    let base = content_hash(&report);
    let mut touched = report.with_annotation("other", "x");
    touched.metadata_mut().resource_version = Some("999".into());
    touched.metadata_mut().uid = None;
    assert_eq!(content_hash(&touched), base);
}

#[test]
fn annotation_helper_stores_the_hash() {
    let report = common::full_cluster_policy_report();
    assert_eq!(stored_content_hash(&report), None);
    let expected = content_hash(&report);
    let annotated = with_content_hash(report);
    assert_eq!(stored_content_hash(&annotated), Some(expected.as_str()));
    assert_eq!(
        annotated
            .metadata()
            .annotations
            .get(CONTENT_HASH_ANNOTATION),
        Some(&expected)
    );
    // Storing the hash does not change it.
    assert_eq!(content_hash(&annotated), expected);
}
