//! `-o junit` parsed back: the counts agree with the summary line of the
//! same audit, and every failing case carries a `<failure>` with a message.

mod common;

use common::{polscan, utf8_stdout};
use quick_xml::events::Event;
use quick_xml::Reader;

fn demo(format: &str) -> String {
    utf8_stdout(polscan(["demo", "-o", format]).output())
}

fn summary_count(summary: &str, label: &str) -> usize {
    summary
        .split(&format!("{label}: "))
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label} in {summary:?}"))
}

#[test]
fn junit_output_parses_and_agrees_with_the_summary() {
    let xml = demo("junit");
    let summary = demo("summary");
    let mut reader = Reader::from_str(&xml);
    let (mut cases, mut failures, mut errors, mut skipped, mut suites) = (0, 0, 0, 0, 0);
    let mut declared_total: Option<usize> = None;
    let mut in_failing_case = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let attribute = |key: &str| {
                    e.attributes()
                        .filter_map(Result::ok)
                        .find(|a| a.key.as_ref() == key)
                        .map(|a| a.value.to_string())
                };
                match e.name().as_ref() {
                    "testsuites" => {
                        declared_total = attribute("tests").and_then(|t| t.parse().ok())
                    }
                    "testsuite" => suites += 1,
                    "testcase" => {
                        cases += 1;
                        assert!(attribute("classname").is_some() && attribute("name").is_some());
                        in_failing_case = true;
                    }
                    "failure" => {
                        failures += 1;
                        assert!(in_failing_case);
                        assert!(!attribute("message").unwrap_or_default().is_empty());
                    }
                    "error" => errors += 1,
                    "skipped" => skipped += 1,
                    _ => {}
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == "testcase" => in_failing_case = false,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(err) => panic!("invalid XML at {}: {err}", reader.buffer_position()),
        }
    }
    let total: usize = ["pass", "fail", "warn", "error", "skip"]
        .iter()
        .map(|label| summary_count(&summary, label))
        .sum();
    assert_eq!(Some(cases), declared_total);
    assert_eq!(cases, total);
    assert_eq!(failures, summary_count(&summary, "fail"));
    assert_eq!(errors, summary_count(&summary, "error"));
    assert_eq!(skipped, summary_count(&summary, "skip"));
    assert!(
        failures > 0 && suites > 1,
        "the demo has failures in several policies"
    );
}
