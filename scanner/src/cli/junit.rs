//! JUnit XML for CI systems: findings enter; one `<testsuite>` per policy
//! and one `<testcase>` per rule and resource leave, `fail` results as
//! `<failure>`, `error` as `<error>`, `skip` as `<skipped>`, and `warn` as a
//! passing case whose message is in `<system-out>`.
//!
//! Names and messages can hold anything (a CEL `messageExpression` echoes
//! the resource): every text and attribute value goes through [`xml_text`],
//! which replaces the characters XML 1.0 forbids even as character
//! references (most C0 controls, U+FFFE, U+FFFF) with U+FFFD, the Unicode
//! replacement character; quick-xml escapes `<>&'"` and, in attributes,
//! the tab and line breaks an XML reader would otherwise normalize.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use polscan::audit::Finding;
use polscan::engine::RuleStatus;

/// `text` with every character XML 1.0 forbids (`Char` production:
/// allowed are #x9, #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD and
/// #x10000–#x10FFFF) replaced by U+FFFD.
pub(super) fn xml_text(text: &str) -> Cow<'_, str> {
    fn allowed(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    }
    if text.chars().all(allowed) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if allowed(c) {
                    c
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            })
            .collect(),
    )
}

/// Test cases by outcome, of a suite or of them all.
#[derive(Default)]
pub(super) struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    /// Adds the counts of another part of the same suite (or of them all).
    pub(super) fn merge(&mut self, other: &Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }

    pub(super) fn add(&mut self, status: RuleStatus) {
        self.tests += 1;
        match status {
            RuleStatus::Fail => self.failures += 1,
            RuleStatus::Error => self.errors += 1,
            RuleStatus::Skip => self.skipped += 1,
            RuleStatus::Pass | RuleStatus::Warn => {}
        }
    }

    fn attributes<'a>(&self, element: &mut BytesStart<'a>) {
        element.push_attribute(("tests", self.tests.to_string().as_str()));
        element.push_attribute(("failures", self.failures.to_string().as_str()));
        element.push_attribute(("errors", self.errors.to_string().as_str()));
        element.push_attribute(("skipped", self.skipped.to_string().as_str()));
    }
}

/// The writer of the document: two spaces a level.
pub(super) fn writer<W: Write>(out: W) -> Writer<W> {
    Writer::new_with_indent(out, b' ', 2)
}

/// The declaration and the `<testsuites>` start with the totals.
pub(super) fn write_head<W: Write>(writer: &mut Writer<W>, total: &Counts) -> std::io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "polscan"));
    total.attributes(&mut suites);
    writer.write_event(Event::Start(suites))
}

/// The `<testsuite>` start of one policy.
pub(super) fn write_suite_start<W: Write>(
    writer: &mut Writer<W>,
    policy: &str,
    counts: &Counts,
) -> std::io::Result<()> {
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", xml_text(policy).as_ref()));
    counts.attributes(&mut suite);
    writer.write_event(Event::Start(suite))
}

/// One `<testcase>`: a rule's result on a resource.
pub(super) fn write_case<W: Write>(
    writer: &mut Writer<W>,
    policy: &str,
    rule: &str,
    resource: &str,
    status: RuleStatus,
    message: &str,
) -> std::io::Result<()> {
    // A ValidatingPolicy's results have no rule name (Kyverno gives none).
    let classname = match rule {
        "" => policy.to_string(),
        rule => format!("{policy}.{rule}"),
    };
    let mut case = BytesStart::new("testcase");
    case.push_attribute(("classname", xml_text(&classname).as_ref()));
    case.push_attribute(("name", xml_text(resource).as_ref()));
    let child = match status {
        RuleStatus::Fail => Some(("failure", true)),
        RuleStatus::Error => Some(("error", true)),
        RuleStatus::Skip => Some(("skipped", false)),
        RuleStatus::Warn => Some(("system-out", true)),
        RuleStatus::Pass => None,
    };
    match child {
        None => {
            writer.write_event(Event::Empty(case))?;
        }
        Some((tag, with_text)) => {
            writer.write_event(Event::Start(case))?;
            let mut element = BytesStart::new(tag);
            if tag != "system-out" {
                element.push_attribute(("message", xml_text(message).as_ref()));
            }
            if with_text {
                writer.write_event(Event::Start(element))?;
                let text = if tag == "system-out" {
                    format!("warning: {message}")
                } else {
                    message.to_string()
                };
                writer.write_event(Event::Text(BytesText::new(&xml_text(&text))))?;
                writer.write_event(Event::End(BytesEnd::new(tag)))?;
            } else {
                writer.write_event(Event::Empty(element))?;
            }
            writer.write_event(Event::End(BytesEnd::new("testcase")))?;
        }
    }
    Ok(())
}

/// Renders the findings as a JUnit XML document.
pub fn render(findings: &[Finding]) -> Result<String, std::io::Error> {
    let mut by_policy: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for finding in findings {
        by_policy
            .entry(finding.policy.qualified_name())
            .or_default()
            .push(finding);
    }
    let mut total = Counts::default();
    for finding in findings {
        total.add(finding.reported_status());
    }
    let mut writer = writer(Cursor::new(Vec::new()));
    write_head(&mut writer, &total)?;
    for (policy, findings) in by_policy {
        let mut counts = Counts::default();
        for finding in &findings {
            counts.add(finding.reported_status());
        }
        write_suite_start(&mut writer, &policy, &counts)?;
        for finding in findings {
            write_case(
                &mut writer,
                &policy,
                &finding.result.rule,
                &finding.resource.to_string(),
                finding.reported_status(),
                &finding.result.message,
            )?;
        }
        writer.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    writer.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let bytes = writer.into_inner().into_inner();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_forbids_become_the_replacement_character() {
        assert_eq!(
            xml_text("a\u{0}b\u{1b}[31m\u{fffe}\tc\n"),
            "a\u{fffd}b\u{fffd}[31m\u{fffd}\tc\n"
        );
        assert!(matches!(xml_text("plain <&> ]]>"), Cow::Borrowed(_)));
        let mut writer = writer(Cursor::new(Vec::new()));
        write_case(
            &mut writer,
            "p",
            "r",
            "ns/Pod/a\u{7}\"b",
            RuleStatus::Fail,
            "line 1\r\nline\u{0}2 ]]> <x/>",
        )
        .expect("writes");
        let xml = String::from_utf8(writer.into_inner().into_inner()).expect("UTF-8");
        assert!(xml.contains("name=\"ns/Pod/a\u{fffd}&quot;b\""), "{xml}");
        assert!(
            xml.contains("message=\"line 1&#13;&#10;line\u{fffd}2 ]]&gt; &lt;x/&gt;\""),
            "{xml}"
        );
        assert!(!xml.contains('\u{0}') && !xml.contains('\u{7}'), "{xml}");
    }
}
