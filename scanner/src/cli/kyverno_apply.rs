//! Two views `kyverno apply` has and polscan's own outputs lack: an audit
//! outcome and the policy documents enter; for `--audit-warn` an outcome
//! whose Audit failures are warnings leaves, for `--table` the Kyverno CLI's
//! results table as text.
//!
//! `--audit-warn` follows cmd/cli/kubectl-kyverno: a failure becomes a
//! warning when the policy's action is not Enforce, the action being
//! `EngineResponse.GetValidationFailureAction` (pkg/engine/api/
//! engineresponse.go): the first rule with an action of its own, else the
//! policy's overrides and `validationFailureAction`. Reports and the table
//! apply it to every policy kind (a CEL policy has no such action, which
//! is not Enforce: report/report.go `ComputePolicyReportResult`,
//! commands/apply/table.go); the result counts behind the exit code only to
//! ClusterPolicy and Policy (processor/result.go `addEngineResponse`).

use std::collections::{BTreeMap, HashMap};

use super::output::{paint, table};
use polscan::audit::{AuditOutcome, Finding};
use polscan::engine::kyverno::policy::{matching_override, Rule};
// The whole outcome's `--audit-warn`: the streamed audit's reference in
// tests.
#[cfg(test)]
use polscan::engine::matching::string_map;
use polscan::engine::policy::normalized_action;
#[cfg(test)]
use polscan::engine::values::Values;
use polscan::engine::Policy;
use polscan::engine::{RuleStatus, ValueExt};
use polscan::loader::Document;

/// Which results `--audit-warn` turns into warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditWarnScope {
    /// Reports and the table: failures of every policy kind whose action is
    /// not Enforce.
    Shown,
    /// The counts behind the exit code: only Kyverno's ClusterPolicy and
    /// Policy failures.
    Counted,
}

/// The Kyverno policies of an audit and the namespace labels their
/// `failureActionOverrides` selectors look at.
#[derive(Debug, Default)]
pub struct PolicyActions {
    policies: HashMap<(String, Option<String>, String), Policy>,
    namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl PolicyActions {
    /// Parses the Kyverno policies among `policies` (others, and invalid
    /// ones, have no action: the audit reports them) and takes namespace
    /// labels from Namespace resources and the values file, as the audit
    /// does. The whole outcome's (the streamed audit's reference in tests).
    #[cfg(test)]
    pub fn new(policies: &[Document], resources: &[Document], values: &Values) -> PolicyActions {
        let mut namespace_labels = BTreeMap::new();
        for doc in resources {
            if doc.value.str_field("kind") != Some("Namespace") {
                continue;
            }
            if let Some(name) = doc.value.str_at("/metadata/name") {
                namespace_labels.insert(
                    name.to_string(),
                    string_map(doc.value.pointer("/metadata/labels")),
                );
            }
        }
        namespace_labels.extend(values.namespace_labels());
        PolicyActions::with_namespace_labels(policies, namespace_labels)
    }

    /// As [`PolicyActions::new`], with the namespace labels already
    /// gathered (by an audit's resource index, which adds the values
    /// file's).
    pub fn with_namespace_labels(
        policies: &[Document],
        namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    ) -> PolicyActions {
        let mut found = HashMap::new();
        for doc in policies {
            if !Policy::is_kyverno_policy(&doc.value) {
                continue;
            }
            if let Ok(policy) = Policy::from_document(&doc.value) {
                let key = (
                    policy.kind.as_str().to_string(),
                    policy.namespace.clone(),
                    policy.name.clone(),
                );
                found.insert(key, policy);
            }
        }
        PolicyActions {
            policies: found,
            namespace_labels,
        }
    }

    fn policy(&self, finding: &Finding) -> Option<&Policy> {
        let key = (
            finding.policy.kind.clone(),
            finding.policy.namespace.clone(),
            finding.policy.name.clone(),
        );
        self.policies.get(&key)
    }

    /// Whether Kyverno sees the finding's policy enforce on its resource.
    fn enforces(&self, finding: &Finding) -> bool {
        let Some(policy) = self.policy(finding) else {
            return false;
        };
        let namespace = finding.resource.namespace.as_str();
        let empty = BTreeMap::new();
        let labels = self.namespace_labels.get(namespace).unwrap_or(&empty);
        policy_action(policy, namespace, labels) == Some("Enforce")
    }

    /// The outcome with `--audit-warn` applied for `scope` (the whole
    /// outcome's, the streamed audit's reference in tests).
    #[cfg(test)]
    pub fn audit_warned(&self, outcome: &AuditOutcome, scope: AuditWarnScope) -> AuditOutcome {
        let mut warned = outcome.clone();
        for finding in &mut warned.findings {
            self.warn(finding, scope);
        }
        warned
    }

    /// One finding with `--audit-warn` applied for `scope`.
    pub fn warn(&self, finding: &mut Finding, scope: AuditWarnScope) {
        if self.warns(finding, scope) {
            finding.result.status = RuleStatus::Warn;
        }
    }

    /// The status a finding has with `--audit-warn` applied for `scope`.
    pub fn warned_status(&self, finding: &Finding, scope: AuditWarnScope) -> RuleStatus {
        if self.warns(finding, scope) {
            RuleStatus::Warn
        } else {
            finding.reported_status()
        }
    }

    /// Whether `--audit-warn` turns this failure into a warning.
    fn warns(&self, finding: &Finding, scope: AuditWarnScope) -> bool {
        if finding.reported_status() != RuleStatus::Fail {
            return false;
        }
        let kyverno_policy = matches!(finding.policy.kind.as_str(), "ClusterPolicy" | "Policy");
        if scope == AuditWarnScope::Counted && !kyverno_policy {
            return false;
        }
        !self.enforces(finding)
    }
}

/// `GetValidationFailureAction`: the first rule with an action of its own
/// (`ruleAction`), else the policy's matching override, else its
/// `validationFailureAction`. `None` when nothing valid is set (Kyverno's
/// empty action, which is not Enforce).
fn policy_action(
    policy: &Policy,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> Option<&'static str> {
    policy
        .spec
        .rules
        .iter()
        .find_map(|rule| rule_action(rule, namespace, labels))
        .or_else(|| {
            matching_override(
                &policy.spec.validation_failure_action_overrides,
                namespace,
                labels,
            )
        })
        .or_else(|| {
            policy
                .spec
                .validation_failure_action
                .as_deref()
                .and_then(normalized_action)
        })
}

/// `ruleAction`: a validate rule's matching `failureActionOverrides`, then
/// its `failureAction`; for a verifyImages rule, Enforce if any entry
/// enforces, else the first entry's action.
fn rule_action(
    rule: &Rule,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> Option<&'static str> {
    if let Some(validate) = &rule.validate {
        return matching_override(&validate.failure_action_overrides, namespace, labels).or_else(
            || {
                validate
                    .failure_action
                    .as_deref()
                    .and_then(normalized_action)
            },
        );
    }
    let entries = rule.verify_images.as_ref()?.as_array()?;
    let actions: Vec<&'static str> = entries
        .iter()
        .filter_map(|entry| entry.str_field("failureAction"))
        .filter_map(normalized_action)
        .collect();
    if actions.contains(&"Enforce") {
        Some("Enforce")
    } else {
        actions.first().copied()
    }
}

/// The Kyverno CLI's `--table` (commands/apply/table.go, output/table):
/// ID, POLICY, RULE (empty for CEL policies), RESOURCE
/// (`namespace/Kind/name`), RESULT, REASON (empty in `apply`), and MESSAGE
/// with `--detailed-results`. Rows go resource by resource, as `kyverno
/// apply` evaluates them. Of a whole outcome: the streamed table's
/// reference in tests, and what fuzz/ renders (the binary streams it).
#[cfg_attr(not(test), allow(dead_code))]
pub fn results_table(outcome: &AuditOutcome, detailed: bool, color: bool) -> String {
    let mut findings: Vec<&Finding> = outcome.findings.iter().collect();
    // Stable: within a resource the audit's policy and rule order stays.
    findings.sort_by(|a, b| {
        let key = |f: &Finding| f.origin.as_ref().map(|o| (o.path.clone(), o.index));
        key(a).cmp(&key(b))
    });
    let rows: Vec<Vec<String>> = findings
        .iter()
        .enumerate()
        .map(|(index, finding)| {
            let status = finding.reported_status();
            let kyverno_policy = matches!(finding.policy.kind.as_str(), "ClusterPolicy" | "Policy");
            let mut row = vec![
                (index + 1).to_string(),
                super::output::terminal_safe(&finding.policy.qualified_name()),
                if kyverno_policy {
                    super::output::terminal_safe(&finding.result.rule)
                } else {
                    String::new()
                },
                super::output::terminal_safe(&finding.resource.to_string()),
                paint(result_word(status), status, color),
                String::new(),
            ];
            if detailed {
                row.push(super::output::terminal_safe(&finding.result.message));
            }
            row
        })
        .collect();
    let mut headers = vec!["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"];
    if detailed {
        headers.push("MESSAGE");
    }
    table(&headers, &rows)
}

/// The Kyverno CLI's result words (output/color: `ResultPass` ...).
pub(super) fn result_word(status: RuleStatus) -> &'static str {
    match status {
        RuleStatus::Pass => "Pass",
        RuleStatus::Fail => "Fail",
        RuleStatus::Warn => "Warn",
        RuleStatus::Error => "Error",
        RuleStatus::Skip => "Skip",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polscan::audit::{audit, AuditInput};
    use polscan::loader::parse_documents;
    use std::path::Path;

    fn docs(text: &str, name: &str) -> Vec<Document> {
        parse_documents(text, Path::new(name)).expect("yaml")
    }

    fn policy(name: &str, spec_action: &str, rule_action: &str) -> String {
        let own = if rule_action.is_empty() {
            String::new()
        } else {
            format!("failureAction: {rule_action}, ")
        };
        format!(
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: {name}}}\nspec:\n  validationFailureAction: {spec_action}\n  rules:\n  - name: needs-app\n    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}\n    validate: {{{own}pattern: {{metadata: {{labels: {{app: '?*'}}}}}}}}\n"
        )
    }

    const PODS: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: team}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: good, namespace: team, labels: {app: x}}\n";

    const VAP: &str = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: vap}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]}\n  validations: [{expression: \"has(object.metadata.labels) && 'app' in object.metadata.labels\"}]\n";

    fn run(policies: &str) -> (AuditOutcome, PolicyActions) {
        let policy_documents = docs(policies, "p.yaml");
        let resource_documents = docs(PODS, "r.yaml");
        let actions =
            PolicyActions::new(&policy_documents, &resource_documents, &Values::default());
        let outcome = audit(AuditInput {
            policy_documents,
            resource_documents,
            ..AuditInput::default()
        });
        (outcome, actions)
    }

    fn statuses(outcome: &AuditOutcome, policy: &str) -> Vec<RuleStatus> {
        outcome
            .findings
            .iter()
            .filter(|f| f.policy.name == policy)
            .map(Finding::reported_status)
            .collect()
    }

    #[test]
    fn audit_failures_become_warnings_enforce_failures_stay() {
        let text = format!(
            "{}---\n{}",
            policy("audited", "Audit", ""),
            policy("enforced", "Enforce", "")
        );
        let (outcome, actions) = run(&text);
        assert_eq!(
            statuses(&outcome, "audited"),
            [RuleStatus::Fail, RuleStatus::Pass]
        );
        let warned = actions.audit_warned(&outcome, AuditWarnScope::Shown);
        assert_eq!(
            statuses(&warned, "audited"),
            [RuleStatus::Warn, RuleStatus::Pass]
        );
        assert_eq!(
            statuses(&warned, "enforced"),
            [RuleStatus::Fail, RuleStatus::Pass]
        );
        assert_eq!(warned.count(RuleStatus::Fail), 1);
    }

    #[test]
    fn a_rule_action_is_the_policy_action() {
        // GetValidationFailureAction: the first rule with its own action
        // wins over the spec's.
        let (outcome, actions) = run(&policy("rule-enforces", "Audit", "Enforce"));
        let warned = actions.audit_warned(&outcome, AuditWarnScope::Shown);
        assert_eq!(statuses(&warned, "rule-enforces")[0], RuleStatus::Fail);
        let (outcome, actions) = run(&policy("rule-audits", "Enforce", "Audit"));
        let warned = actions.audit_warned(&outcome, AuditWarnScope::Shown);
        assert_eq!(statuses(&warned, "rule-audits")[0], RuleStatus::Warn);
    }

    #[test]
    fn overrides_follow_namespace_labels() {
        let text = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: o}\nspec:\n  validationFailureAction: Audit\n  validationFailureActionOverrides:\n  - {action: Enforce, namespaces: ['*'], namespaceSelector: {matchLabels: {tier: prod}}}\n  rules:\n  - name: needs-app\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {pattern: {metadata: {labels: {app: '?*'}}}}\n";
        let policy_documents = docs(text, "p.yaml");
        let prod = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: team, labels: {{tier: prod}}}}\n---\n{PODS}");
        let resources = docs(&prod, "r.yaml");
        let actions = PolicyActions::new(&policy_documents, &resources, &Values::default());
        let outcome = audit(AuditInput {
            policy_documents: policy_documents.clone(),
            resource_documents: resources,
            ..AuditInput::default()
        });
        let warned = actions.audit_warned(&outcome, AuditWarnScope::Shown);
        assert_eq!(
            statuses(&warned, "o")[0],
            RuleStatus::Fail,
            "enforced in prod"
        );
        let (outcome, actions) = run(text);
        let warned = actions.audit_warned(&outcome, AuditWarnScope::Shown);
        assert_eq!(
            statuses(&warned, "o")[0],
            RuleStatus::Warn,
            "no labels: audit"
        );
    }

    #[test]
    fn cel_failures_are_shown_as_warnings_but_counted_as_failures() {
        let (outcome, actions) = run(VAP);
        assert_eq!(
            statuses(&outcome, "vap"),
            [RuleStatus::Fail, RuleStatus::Pass]
        );
        let shown = actions.audit_warned(&outcome, AuditWarnScope::Shown);
        assert_eq!(
            statuses(&shown, "vap"),
            [RuleStatus::Warn, RuleStatus::Pass]
        );
        let counted = actions.audit_warned(&outcome, AuditWarnScope::Counted);
        assert_eq!(
            statuses(&counted, "vap"),
            [RuleStatus::Fail, RuleStatus::Pass]
        );
    }

    #[test]
    fn kyverno_table_columns() {
        let text = format!("{}---\n{VAP}", policy("audited", "Audit", ""));
        let (outcome, _) = run(&text);
        let compact = results_table(&outcome, false, false);
        let lines: Vec<&str> = compact.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"]
        );
        assert_eq!(lines.len(), 5, "{compact}");
        // Resource by resource; a CEL policy has no rule name.
        let cells: Vec<Vec<&str>> = lines[1..]
            .iter()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            cells[0],
            ["1", "audited", "needs-app", "team/Pod/bad", "Fail"]
        );
        assert_eq!(cells[1], ["2", "vap", "team/Pod/bad", "Fail"]);
        assert_eq!(
            cells[2],
            ["3", "audited", "needs-app", "team/Pod/good", "Pass"]
        );
        let detailed = results_table(&outcome, true, false);
        assert!(
            detailed.lines().next().unwrap_or("").ends_with("MESSAGE"),
            "{detailed}"
        );
        assert!(detailed.contains("validation error"), "{detailed}");
    }
}
