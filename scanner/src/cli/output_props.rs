//! Property test of every output format: findings with arbitrary policy,
//! rule, resource and namespace names and messages (any Unicode, control
//! characters, quotes, `<>&`, `]]>`, line breaks, long text) enter
//! [`write_outcome`]; each format's output is parsed back (a strict XML 1.0
//! parser for JUnit, serde_json for SARIF and JSON, serde_yaml for YAML)
//! and must hold every name and message as given, or as the format's
//! documented replacement ([`junit::xml_text`] for XML), with the counts of
//! the findings.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use polscan::audit::{AuditOutcome, Finding};
use polscan::engine::policy::PolicyMeta;
use polscan::engine::{ResourceRef, RuleResult, RuleStatus};
use polscan::loader::Origin;

use super::junit::xml_text;
use super::output::write_outcome;
use super::OutputFormat;

/// Characters that break formats, weighted above arbitrary ones.
const TRICKY: &[char] = &[
    '<',
    '>',
    '&',
    '"',
    '\'',
    ']',
    '|',
    '\\',
    '{',
    '}',
    '\n',
    '\r',
    '\t',
    '\0',
    '\u{1}',
    '\u{8}',
    '\u{b}',
    '\u{c}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{2028}',
    '\u{feff}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{1f600}',
    'é',
    '-',
    ':',
    '#',
    ' ',
];

fn text(max: usize) -> impl Strategy<Value = String> {
    let character = prop_oneof![
        3 => any::<char>(),
        2 => proptest::sample::select(TRICKY),
        2 => proptest::char::range('a', 'z'),
    ];
    prop_oneof![
        8 => proptest::collection::vec(character, 0..max).prop_map(String::from_iter),
        // `]]>` ends a CDATA section; a long line of it.
        1 => (1..200usize).prop_map(|n| "]]>".repeat(n)),
    ]
}

fn non_empty(max: usize) -> impl Strategy<Value = String> {
    text(max).prop_map(|t| if t.is_empty() { "x".to_string() } else { t })
}

fn status() -> impl Strategy<Value = RuleStatus> {
    proptest::sample::select(vec![
        RuleStatus::Pass,
        RuleStatus::Fail,
        RuleStatus::Warn,
        RuleStatus::Error,
        RuleStatus::Skip,
    ])
}

prop_compose! {
    fn finding()(
        policy in non_empty(30),
        policy_namespace in proptest::option::of(non_empty(20)),
        rule in text(30),
        namespace in text(20),
        name in non_empty(40),
        status in status(),
        message in prop_oneof![4 => text(200), 1 => text(6000)],
        path in proptest::option::of(non_empty(40)),
    ) -> Finding {
        Finding {
            policy: Arc::new(PolicyMeta {
                kind: if policy_namespace.is_some() { "Policy" } else { "ClusterPolicy" }.into(),
                name: policy,
                namespace: policy_namespace,
                annotations: BTreeMap::new(),
                process: "background scan",
            }),
            resource: ResourceRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace,
                name,
                uid: String::new(),
            },
            origin: path.map(|path| Origin { path: PathBuf::from(path), index: 1, line: 3 }),
            result: RuleResult::new(rule, status, message, "Audit"),
        }
    }
}

fn render(outcome: &AuditOutcome, format: OutputFormat) -> String {
    let mut out = Vec::new();
    let mut err = Vec::new();
    write_outcome(&mut out, &mut err, outcome, format, false).expect("every input renders");
    String::from_utf8(out).expect("UTF-8")
}

/// (classname, name, child element, its message attribute, its text) of
/// every test case, as a strict XML 1.0 parser reads them.
fn junit_cases(xml: &str) -> (usize, Vec<[String; 5]>) {
    let document = roxmltree::Document::parse(xml).expect("well-formed XML 1.0");
    let root = document.root_element();
    let tests = root
        .attribute("tests")
        .and_then(|t| t.parse().ok())
        .expect("tests");
    let mut cases = Vec::new();
    for case in root.descendants().filter(|n| n.has_tag_name("testcase")) {
        let child = case.children().find(|n| n.is_element());
        cases.push([
            case.attribute("classname").unwrap_or_default().to_string(),
            case.attribute("name").unwrap_or_default().to_string(),
            child
                .map(|c| c.tag_name().name().to_string())
                .unwrap_or_default(),
            child
                .and_then(|c| c.attribute("message"))
                .unwrap_or_default()
                .to_string(),
            child.and_then(|c| c.text()).unwrap_or_default().to_string(),
        ]);
    }
    (tests, cases)
}

fn expected_junit(findings: &[Finding]) -> Vec<[String; 5]> {
    findings
        .iter()
        .map(|f| {
            let policy = f.policy.qualified_name();
            let classname = match f.result.rule.as_str() {
                "" => policy,
                rule => format!("{policy}.{rule}"),
            };
            let message = &f.result.message;
            let (child, attribute, text) = match f.reported_status() {
                RuleStatus::Pass => ("", String::new(), String::new()),
                RuleStatus::Fail => ("failure", message.clone(), message.clone()),
                RuleStatus::Error => ("error", message.clone(), message.clone()),
                RuleStatus::Skip => ("skipped", message.clone(), String::new()),
                RuleStatus::Warn => ("system-out", String::new(), format!("warning: {message}")),
            };
            [
                xml_text(&classname).into_owned(),
                xml_text(&f.resource.to_string()).into_owned(),
                child.to_string(),
                xml_text(&attribute).into_owned(),
                xml_text(&text).into_owned(),
            ]
        })
        .collect()
}

/// (policy, rule, resource, message) of each report result, sorted.
fn report_results(objects: &[Value]) -> Vec<[String; 4]> {
    let mut results = Vec::new();
    for report in objects {
        let scope = &report["scope"];
        let namespace = scope["namespace"].as_str().unwrap_or_default();
        let resource = match namespace {
            "" => format!(
                "{}/{}",
                scope["kind"].as_str().unwrap_or_default(),
                scope["name"].as_str().unwrap_or_default()
            ),
            namespace => format!(
                "{namespace}/{}/{}",
                scope["kind"].as_str().unwrap_or_default(),
                scope["name"].as_str().unwrap_or_default()
            ),
        };
        for result in report["results"].as_array().expect("results") {
            results.push([
                result["policy"].as_str().unwrap_or_default().to_string(),
                result["rule"].as_str().unwrap_or_default().to_string(),
                resource.clone(),
                result["message"].as_str().unwrap_or_default().to_string(),
            ]);
        }
    }
    results.sort();
    results
}

fn expected_report_results(findings: &[Finding]) -> Vec<[String; 4]> {
    let mut results: Vec<[String; 4]> = findings
        .iter()
        .map(|f| {
            [
                f.policy.qualified_name(),
                f.result.rule.clone(),
                f.resource.to_string(),
                polscan::reports::report_result(f, report_model::meta::Timestamp::new(0, 0))
                    .message
                    .unwrap_or_default(),
            ]
        })
        .collect();
    results.sort();
    results
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_format_reads_back_what_went_in(findings in proptest::collection::vec(finding(), 1..8)) {
        let outcome = AuditOutcome {
            findings: findings.clone(),
            problems: Vec::new(),
            policies_evaluated: 1,
            resources_evaluated: findings.len(),
        };
        let count = |status| findings.iter().filter(|f| f.reported_status() == status).count();

        // JUnit: a strict parser reads it; every case as given, or with
        // XML's forbidden characters replaced.
        let xml = render(&outcome, OutputFormat::Junit);
        let (tests, mut cases) = junit_cases(&xml);
        prop_assert_eq!(tests, findings.len());
        let mut expected = expected_junit(&findings);
        cases.sort();
        expected.sort();
        prop_assert_eq!(cases, expected);

        // SARIF: the findings that need attention, messages verbatim.
        let sarif: Value = serde_json::from_str(&render(&outcome, OutputFormat::Sarif)).expect("SARIF is JSON");
        let results = sarif["runs"][0]["results"].as_array().expect("results");
        prop_assert_eq!(results.len(), count(RuleStatus::Fail) + count(RuleStatus::Warn) + count(RuleStatus::Error));
        let mut messages: Vec<&str> = results.iter().map(|r| r["message"]["text"].as_str().expect("text")).collect();
        let mut wanted: Vec<String> = findings
            .iter()
            .filter(|f| matches!(f.reported_status(), RuleStatus::Fail | RuleStatus::Warn | RuleStatus::Error))
            .map(|f| if f.result.message.is_empty() { format!("{} {}", f.resource, f.reported_status()) } else { f.result.message.clone() })
            .collect();
        messages.sort();
        wanted.sort();
        prop_assert_eq!(messages, wanted);
        for result in results {
            let name = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].as_str().expect("name");
            prop_assert!(findings.iter().any(|f| f.resource.to_string() == name));
            if let Some(uri) = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str() {
                // RFC 3986: no space, control or non-ASCII character.
                prop_assert!(uri.bytes().all(|b| b.is_ascii_graphic()), "{}", uri);
            }
        }

        // PolicyReports as JSON and YAML: one result per finding.
        let list: Value = serde_json::from_str(&render(&outcome, OutputFormat::Json)).expect("JSON");
        let items = list["items"].as_array().expect("items").clone();
        let expected = expected_report_results(&findings);
        prop_assert_eq!(&report_results(&items), &expected);
        let yaml = render(&outcome, OutputFormat::Yaml);
        let documents: Vec<Value> = serde_yaml::Deserializer::from_str(&yaml)
            .map(|document| Value::deserialize(document).expect("YAML document"))
            .collect();
        prop_assert_eq!(documents.len(), items.len());
        prop_assert_eq!(&report_results(&documents), &expected);

        // The summary line counts every finding; the table renders.
        let summary = render(&outcome, OutputFormat::Summary);
        let fails = format!("fail: {}", count(RuleStatus::Fail));
        prop_assert!(summary.contains(&fails), "{}", summary);
        let table = render(&outcome, OutputFormat::Table);
        prop_assert!(table.ends_with(&summary), "{}", table);
    }
}
