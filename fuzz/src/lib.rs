//! What the fuzz targets share: how a target's input bytes split into its
//! parts (the seed builder writes the same layout), and every output format
//! of `polscan apply` rendered from an audit outcome and read back.
//!
//! The renderers live in the binary's `cli` module, private to it by
//! design; this crate compiles those same source files (`#[path]`), so the
//! fuzzed code is the shipped code, not a copy.

use serde::Deserialize;
use serde_json::Value;

use polscan::audit::AuditOutcome;
use polscan::engine::{RuleStatus, SkipReason, INTERNAL_ERROR};

#[path = "../../scanner/src/cli/format.rs"]
#[allow(dead_code)]
mod format;
#[path = "../../scanner/src/cli/junit.rs"]
#[allow(dead_code)]
mod junit;
#[path = "../../scanner/src/cli/kyverno_apply.rs"]
#[allow(dead_code)]
mod kyverno_apply;
#[path = "../../scanner/src/cli/output.rs"]
#[allow(dead_code)]
mod output;
#[path = "../../scanner/src/cli/sarif.rs"]
#[allow(dead_code)]
mod sarif;

// The renderers name these as `super::...`, as in the binary's `cli`.
use format::{FailOn, OutputFormat};

/// Where a multi-part input splits: the first line that is exactly `---`.
pub const SEPARATOR: &str = "\n---\n";

/// The input's text cut at the first [`SEPARATOR`] into (head, rest);
/// `None` when the bytes are not UTF-8 (the engine only ever sees strings).
pub fn split(data: &[u8]) -> Option<(&str, &str)> {
    let text = std::str::from_utf8(data).ok()?;
    Some(text.split_once(SEPARATOR).unwrap_or((text, "")))
}

/// Runs `work` on a thread with the stack polscan compiles and evaluates
/// policies on (`polscan::engine::nesting::EVALUATION_STACK`), as the
/// binary does: the engine's expression bounds are measured against it,
/// not against libFuzzer's main thread. A panic is resumed here, so
/// libFuzzer still sees it. rayon's threads get the same stack.
pub fn on_evaluation_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    static RAYON: std::sync::Once = std::sync::Once::new();
    RAYON.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new()
            .stack_size(polscan::engine::nesting::EVALUATION_STACK)
            .build_global();
    });
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .stack_size(polscan::engine::nesting::EVALUATION_STACK)
            .spawn_scoped(scope, work)
            .expect("starting the evaluation thread");
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The YAML (or JSON) documents of `text`, as the loader would read
/// values; a document that is not valid ends the list.
pub fn yaml_values(text: &str) -> Vec<Value> {
    let mut values = Vec::new();
    if polscan::engine::yaml::check_nesting(text).is_err() {
        return values;
    }
    for document in serde_yaml::Deserializer::from_str(text) {
        match Value::deserialize(document) {
            Ok(value) => values.push(value),
            Err(_) => break,
        }
    }
    values
}

/// One YAML document, `None` when `text` is not one.
pub fn yaml_value(text: &str) -> Option<Value> {
    polscan::engine::yaml::from_str(text).ok()
}

/// A panic inside [`polscan::engine::Engine::evaluate`] is caught per
/// policy and becomes an `error` result with [`INTERNAL_ERROR`]; under
/// libFuzzer its panic hook aborts first, and this catches whatever is
/// caught some other way.
///
/// The mark is sought as the engine writes it (an `error` result opening
/// with it) and only when `input` does not hold the text
/// itself: a policy may quote it in a message, and an expression that
/// does not compile is quoted in its error (a 9 kB input did so after
/// 4M executions and was reported as a crash).
pub fn assert_no_internal_error(input: &str, outcome: &AuditOutcome) {
    if input.contains(INTERNAL_ERROR) {
        return;
    }
    for finding in &outcome.findings {
        let result = &finding.result;
        assert!(
            !(result.status == RuleStatus::Error && result.message.starts_with(INTERNAL_ERROR)),
            "{}: {}",
            finding.resource,
            result.message
        );
    }
}

/// The output in `format`, or why it could not be rendered.
fn try_render(outcome: &AuditOutcome, format: OutputFormat) -> Result<String, String> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    output::write_outcome(&mut out, &mut err, outcome, format, false)
        .map_err(|error| format!("{error:#}"))?;
    match String::from_utf8(out) {
        Ok(text) => Ok(text),
        Err(error) => panic!("{format:?} is not UTF-8: {error}"),
    }
}

/// The output in a format that renders anything it is given.
fn render(outcome: &AuditOutcome, format: OutputFormat) -> String {
    match try_render(outcome, format) {
        Ok(text) => text,
        Err(error) => panic!("{format:?} does not render: {error}"),
    }
}

/// What a table (lines on a terminal) must not send as it is: the CLI's
/// own predicate ([`report_model::text`]).
fn hostile(c: char) -> bool {
    report_model::text::is_hostile(c, report_model::text::Shown::Lines)
}

fn assert_terminal_safe(name: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| hostile(c)) {
        panic!("{name} sends {c:?} to the terminal:\n{text}");
    }
}

/// Renders `outcome` in every format `polscan apply` has (`-o table`,
/// `summary`, `junit`, `sarif`, `json`, `yaml`, and `-t` with and without
/// `--detailed-results`) and reads each back: JUnit with a strict XML 1.0
/// parser, one test case per finding; SARIF and JSON as JSON; YAML as
/// YAML with as many reports as the JSON list; the tables with no control
/// character. A bad output panics, which the fuzzer reports as a crash.
pub fn render_every_format(outcome: &AuditOutcome) {
    let findings = outcome.findings.len();

    let table = render(outcome, OutputFormat::Table);
    assert_terminal_safe("-o table", &table);
    let summary = render(outcome, OutputFormat::Summary);
    assert!(table.ends_with(&summary), "{table}");
    for detailed in [false, true] {
        let kyverno = kyverno_apply::results_table(outcome, detailed, false);
        assert_terminal_safe("-t", &kyverno);
    }

    let xml = render(outcome, OutputFormat::Junit);
    let document = match roxmltree::Document::parse(&xml) {
        Ok(document) => document,
        Err(error) => panic!("JUnit is not XML 1.0: {error}\n{xml}"),
    };
    let cases = document
        .descendants()
        .filter(|node| node.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, findings, "JUnit test cases");

    let sarif: Value = match serde_json::from_str(&render(outcome, OutputFormat::Sarif)) {
        Ok(sarif) => sarif,
        Err(error) => panic!("SARIF is not JSON: {error}"),
    };
    let attention = outcome
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.reported_status(),
                RuleStatus::Fail | RuleStatus::Warn | RuleStatus::Error
            )
        })
        .count();
    let results = sarif["runs"][0]["results"].as_array().map_or(0, Vec::len);
    assert_eq!(results, attention, "SARIF results");

    // Shaping PolicyReports may refuse a result (a resource without a
    // name): the command then fails with that error, which is no crash.
    let Ok(json) = try_render(outcome, OutputFormat::Json) else {
        return;
    };
    let list: Value = match serde_json::from_str(&json) {
        Ok(list) => list,
        Err(error) => panic!("-o json is not JSON: {error}"),
    };
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let report_results: usize = items
        .iter()
        .map(|report| report["results"].as_array().map_or(0, Vec::len))
        .sum();
    // Kyverno >= 1.19 leaves a CEL policy's matchConditions skips out of
    // reports; every other finding is one result.
    let reported = outcome
        .findings
        .iter()
        .filter(|f| f.result.skip_reason != Some(SkipReason::MatchConditions))
        .count();
    assert_eq!(report_results, reported, "PolicyReport results");

    let yaml = render(outcome, OutputFormat::Yaml);
    let mut documents = 0;
    for document in serde_yaml::Deserializer::from_str(&yaml) {
        match Value::deserialize(document) {
            // An empty stream reads as one null document.
            Ok(Value::Null) => {}
            Ok(_) => documents += 1,
            Err(error) => panic!("-o yaml is not YAML: {error}\n{yaml}"),
        }
    }
    assert_eq!(documents, items.len(), "YAML reports");
}
