//! SARIF 2.1.0 for code-scanning tools: findings and the audit's problems
//! enter; one SARIF log leaves, whose rules are the policies' rules (with
//! their title, description and severity) and whose results are the
//! findings that need attention, located at the manifest's file and line
//! when the resource came from a file, and by name otherwise.
//!
//! `pass` and `skip` results are left out: code-scanning tools list every
//! result as an alert. An `error` result (the rule could not be evaluated)
//! has kind `review`, SARIF's "manual review is required".

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use polscan::audit::{AuditOutcome, Finding, Problem};
use polscan::engine::policy::PolicyMeta;
use polscan::engine::RuleStatus;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF's level for a failing rule, from the policy's severity.
fn level_for_severity(severity: Option<&str>) -> &'static str {
    match severity.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") | Some("high") => "error",
        Some("medium") => "warning",
        Some("low") | Some("info") => "note",
        _ => "warning",
    }
}

/// The numeric `security-severity` GitHub code scanning sorts alerts by.
fn security_severity(severity: Option<&str>) -> Option<&'static str> {
    match severity.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => Some("9.5"),
        Some("high") => Some("8.0"),
        Some("medium") => Some("5.5"),
        Some("low") => Some("3.0"),
        Some("info") => Some("0.0"),
        _ => None,
    }
}

/// `policy/rule`, or the policy alone for a result without a rule name
/// (a ValidatingPolicy's: Kyverno names none).
pub(super) fn rule_id(finding: &Finding) -> String {
    match finding.result.rule.as_str() {
        "" => finding.policy.qualified_name(),
        rule => format!("{}/{rule}", finding.policy.qualified_name()),
    }
}

pub(super) fn rule_descriptor(id: &str, policy: &PolicyMeta, rule: &str) -> Value {
    let title = policy.title().unwrap_or(&policy.name);
    let description = policy.description().unwrap_or(title);
    let mut properties = Map::new();
    properties.insert("policy".into(), json!(policy.qualified_name()));
    properties.insert("policyKind".into(), json!(policy.kind));
    if let Some(category) = policy.category() {
        let tags: Vec<&str> = category
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        properties.insert("tags".into(), json!(tags));
    }
    if let Some(severity) = policy.severity() {
        properties.insert("severity".into(), json!(severity));
    }
    if let Some(score) = security_severity(policy.severity()) {
        properties.insert("security-severity".into(), json!(score));
    }
    json!({
        "id": id,
        "name": rule,
        "shortDescription": {"text": format!("{title}: {rule}")},
        "fullDescription": {"text": description},
        "help": {"text": description},
        "defaultConfiguration": {"level": level_for_severity(policy.severity())},
        "properties": properties,
    })
}

/// A relative path stays relative (to the directory polscan ran in, which
/// is `%SRCROOT%` for code scanning); an absolute one becomes a file URI.
/// Characters a URI may not hold are percent-encoded.
fn artifact_uri(path: &Path) -> (String, bool) {
    let text = path.to_string_lossy().replace('\\', "/");
    let relative = !path.is_absolute();
    let mut encoded = String::with_capacity(text.len());
    for byte in text.trim_start_matches("./").bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if keep {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if relative {
        (encoded, true)
    } else {
        (format!("file://{encoded}"), false)
    }
}

fn location(finding: &Finding) -> Value {
    let logical = json!([{
        "fullyQualifiedName": finding.resource.to_string(),
        "name": finding.resource.name,
        "kind": "resource",
    }]);
    match &finding.origin {
        // Index 0: the object was read from a cluster; no file to point at.
        Some(origin) if origin.index > 0 => {
            let (uri, relative) = artifact_uri(&origin.path);
            let mut artifact = json!({"uri": uri});
            if relative {
                artifact["uriBaseId"] = json!("%SRCROOT%");
            }
            let mut physical = json!({"artifactLocation": artifact});
            if origin.line > 0 {
                physical["region"] = json!({"startLine": origin.line});
            }
            json!({"physicalLocation": physical, "logicalLocations": logical})
        }
        _ => json!({"logicalLocations": logical}),
    }
}

pub(super) fn result(finding: &Finding, rule_id: &str, rule_index: usize) -> Option<Value> {
    let (kind, level) = match finding.reported_status() {
        RuleStatus::Pass | RuleStatus::Skip => return None,
        RuleStatus::Fail => ("fail", level_for_severity(finding.policy.severity())),
        RuleStatus::Warn => ("fail", "warning"),
        RuleStatus::Error => ("review", "none"),
    };
    let message = if finding.result.message.is_empty() {
        format!("{} {}", finding.resource, finding.reported_status())
    } else {
        finding.result.message.clone()
    };
    Some(json!({
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": {"text": message},
        "locations": [location(finding)],
        "properties": {
            "result": finding.reported_status().as_str(),
            "action": finding.result.action,
            "resource": finding.resource.to_string(),
        },
    }))
}

/// Renders the outcome as a SARIF log (pretty JSON).
pub fn render(outcome: &AuditOutcome) -> Result<String, serde_json::Error> {
    // Rules in order of first appearance; each result points at its rule.
    let mut rule_indexes: BTreeMap<String, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for finding in &outcome.findings {
        let id = rule_id(finding);
        let index = *rule_indexes.entry(id.clone()).or_insert_with(|| {
            rules.push(rule_descriptor(&id, &finding.policy, &finding.result.rule));
            rules.len() - 1
        });
        results.extend(result(finding, &id, index));
    }
    serde_json::to_string_pretty(&log(rules, &outcome.problems, json!(results)))
}

/// The SARIF log of these rules and results, the audit's problems as
/// notifications.
pub(super) fn log(rules: Vec<Value>, problems: &[Problem], results: Value) -> Value {
    let notifications: Vec<Value> = problems
        .iter()
        .map(|problem| {
            json!({
                "level": if problem.invalid_policy { "error" } else { "warning" },
                "message": {"text": problem.to_string()},
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "polscan",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://kyverno.io/policies/",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": !problems.iter().any(|problem| problem.invalid_policy),
                "toolConfigurationNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use polscan::audit::{audit, AuditInput};
    use polscan::loader::parse_documents;

    const POLICY: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-app\n  annotations:\n    policies.kyverno.io/title: Require app label\n    policies.kyverno.io/severity: high\n    policies.kyverno.io/category: Best Practices, Labels\n    policies.kyverno.io/description: Every Pod needs an app label.\nspec:\n  rules:\n  - name: app\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate:\n      message: the app label is missing\n      pattern: {metadata: {labels: {app: '?*'}}}\n";
    const PODS: &str = "# two pods\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: good, namespace: ns, labels: {app: a}}\n---\n\napiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: ns}\n";

    fn sarif() -> Value {
        let outcome = audit(AuditInput {
            policy_documents: parse_documents(POLICY, Path::new("policies/p.yaml"))
                .expect("policy"),
            resource_documents: parse_documents(PODS, Path::new("./apps/my pods.yaml"))
                .expect("pods"),
            ..AuditInput::default()
        });
        serde_json::from_str(&render(&outcome).expect("renders")).expect("json")
    }

    #[test]
    fn a_validating_policy_result_is_named_by_its_policy() {
        // Kyverno gives a ValidatingPolicy's results no rule name: the
        // policy alone names them, with no dangling separator.
        const CEL: &str = "apiVersion: policies.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: {name: require-app-cel}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}]\n  validations:\n  - expression: \"has(object.metadata.labels) && 'app' in object.metadata.labels\"\n    message: the app label is missing\n";
        let outcome = audit(AuditInput {
            policy_documents: parse_documents(CEL, Path::new("vp.yaml")).expect("policy"),
            resource_documents: parse_documents(PODS, Path::new("pods.yaml")).expect("pods"),
            ..AuditInput::default()
        });
        let log: Value = serde_json::from_str(&render(&outcome).expect("renders")).expect("json");
        let results = log["runs"][0]["results"].as_array().expect("results");
        assert_eq!(results.len(), 1, "{results:#?}");
        assert_eq!(results[0]["ruleId"], "require-app-cel");
        let junit = crate::cli::junit::render(&outcome.findings).expect("junit");
        assert!(junit.contains("classname=\"require-app-cel\""), "{junit}");
        assert!(!junit.contains("require-app-cel."), "{junit}");
        let row = crate::cli::output::group_row(&outcome.findings[0], false);
        assert_eq!(row[0], "-");
    }

    #[test]
    fn rules_come_from_the_policies() {
        let log = sarif();
        let rule = &log["runs"][0]["tool"]["driver"]["rules"][0];
        assert_eq!(rule["id"], "require-app/app");
        assert_eq!(
            rule["fullDescription"]["text"],
            "Every Pod needs an app label."
        );
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
        assert_eq!(rule["properties"]["security-severity"], "8.0");
        assert_eq!(
            rule["properties"]["tags"],
            json!(["Best Practices", "Labels"])
        );
    }

    #[test]
    fn only_violations_are_results_located_at_file_and_line() {
        let log = sarif();
        let results = log["runs"][0]["results"].as_array().expect("results");
        assert_eq!(results.len(), 1, "{results:#?}");
        let found = &results[0];
        assert_eq!(found["ruleId"], "require-app/app");
        assert_eq!(found["ruleIndex"], 0);
        assert_eq!(found["level"], "error");
        assert_eq!(found["kind"], "fail");
        let physical = &found["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "apps/my%20pods.yaml");
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(physical["region"]["startLine"], 8);
        assert_eq!(
            found["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "ns/Pod/bad"
        );
        assert!(found["message"]["text"]
            .as_str()
            .is_some_and(|m| m.contains("the app label is missing")));
    }

    #[test]
    fn levels_follow_severity_and_status() {
        assert_eq!(level_for_severity(Some("Medium")), "warning");
        assert_eq!(level_for_severity(Some("low")), "note");
        assert_eq!(level_for_severity(None), "warning");
        assert_eq!(
            artifact_uri(Path::new("/abs/a b.yaml")),
            ("file:///abs/a%20b.yaml".to_string(), false)
        );
    }
}
