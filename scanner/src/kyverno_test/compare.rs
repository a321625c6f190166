//! Comparing each expected result with the engine's responses, as Kyverno
//! CLI's `printTestResult` does (cmd/cli/kubectl-kyverno/commands/test/
//! output.go): which resources and rules an expectation names, what is out
//! of scope, and the verdict. An expectation and the responses enter; rows
//! leave.

use std::collections::BTreeMap;

use super::report::{Row, Verdict};
use super::resolve::PolicyIndex;
use super::test_file::ExpectedResult;
use crate::engine::{PolicyResponse, RuleStatus};

/// Why an expectation is out of scope, if it is.
pub(super) fn out_of_scope(expected: &ExpectedResult, index: &PolicyIndex) -> Option<String> {
    let flags = [
        (expected.is_mutating_policy, "MutatingPolicy"),
        (expected.is_generating_policy, "GeneratingPolicy"),
        (expected.is_image_validating_policy, "ImageValidatingPolicy"),
        (expected.is_deleting_policy, "DeletingPolicy"),
        (
            expected.is_mutating_admission_policy,
            "MutatingAdmissionPolicy",
        ),
    ];
    if let Some((_, kind)) = flags.iter().find(|(flag, _)| *flag) {
        return Some(format!("{kind} policies are not evaluated by polscan yet"));
    }
    let policy_name = expected
        .policy
        .rsplit('/')
        .next()
        .unwrap_or(&expected.policy);
    if let Some(kind) = index.other_kinds.get(policy_name) {
        return Some(format!("{kind} policies are not evaluated by polscan yet"));
    }
    if expected.patched_resources.is_some() || expected.generated_resource.is_some() {
        return Some("mutate/generate expectations are out of scope".into());
    }
    let rules = index.rule_kinds.get(policy_name)?;
    let kind = if expected.rule.is_empty() {
        rules.values().find(|k| !k.starts_with("validate")).copied()
    } else {
        let base = expected
            .rule
            .strip_prefix("autogen-cronjob-")
            .or_else(|| expected.rule.strip_prefix("autogen-"))
            .unwrap_or(&expected.rule);
        rules
            .get(&expected.rule)
            .or_else(|| rules.get(base))
            .copied()
    };
    match kind {
        Some(k @ ("mutate" | "generate" | "verifyImages")) => {
            Some(format!("{k} rules are out of scope"))
        }
        _ => None,
    }
}

fn rule_names_match(expected: &str, actual: &str) -> bool {
    actual == expected
        || actual == format!("autogen-{expected}")
        || actual == format!("autogen-cronjob-{expected}")
}

/// Kyverno CLI's `printTestResult`, for validate rules.
pub(super) fn compare(
    expectations: &[ExpectedResult],
    responses: &BTreeMap<String, Vec<PolicyResponse>>,
    index: &PolicyIndex,
    invalid: &BTreeMap<String, String>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for expected in expectations {
        let display_resource = |key: &str| key.replace(',', "/");
        if let Some(reason) = out_of_scope(expected, index) {
            let names = match &expected.resources {
                Some(names) if !names.is_empty() => names.clone(),
                _ => vec!["*".to_string()],
            };
            for name in names {
                rows.push(Row {
                    policy: expected.policy.clone(),
                    rule: expected.rule.clone(),
                    resource: name,
                    expected: expected.result.clone(),
                    actual: String::new(),
                    verdict: Verdict::OutOfScope,
                    reason: reason.clone(),
                    message: String::new(),
                });
            }
            continue;
        }
        let mut keys: Vec<&String> = Vec::new();
        for wanted in expected.resources.iter().flatten() {
            for key in responses.keys() {
                let parts: Vec<&str> = key.split(',').collect();
                let name = parts.last().copied().unwrap_or("");
                let namespace = parts
                    .get(parts.len().saturating_sub(2))
                    .copied()
                    .unwrap_or("");
                let matched = match wanted.split_once('/') {
                    None => wanted == name,
                    Some((ns, n)) => ns == namespace && n == name,
                };
                if matched {
                    keys.push(key);
                }
            }
        }
        if expected.resources.is_some() {
            for spec in &expected.resource_specs {
                let api_version = crate::kinds::api_version_of(&spec.group, &spec.version);
                keys.extend(responses.keys().filter(|key| {
                    let parts: Vec<&str> = key.split(',').collect();
                    let at = |from_end: usize| {
                        parts
                            .len()
                            .checked_sub(from_end)
                            .and_then(|i| parts.get(i))
                            .copied()
                            .unwrap_or("")
                    };
                    parts.first().copied() == Some(api_version.as_str())
                        && at(2) == spec.namespace
                        && at(1) == spec.name
                }));
            }
        }
        if keys.is_empty() {
            keys = responses.keys().collect();
        }
        let policy_name = expected
            .policy
            .rsplit('/')
            .next()
            .unwrap_or(&expected.policy);
        for key in keys {
            let mut resource_rows = Vec::new();
            for response in responses.get(key).into_iter().flatten() {
                if response.policy.name != policy_name {
                    continue;
                }
                // CEL policy kinds have no rules: Kyverno checks all their
                // results whatever rule the expectation names.
                let ruleless = !response.policy.is_kyverno_rule_policy();
                for rule in &response.rules {
                    if !expected.rule.is_empty()
                        && !ruleless
                        && !rule_names_match(&expected.rule, &rule.rule)
                    {
                        continue;
                    }
                    // The CLI compares the policy-report result
                    // (`ComputePolicyReportResult`): a failure of a policy
                    // marked `scored: "false"` reads warn.
                    let actual = if rule.status == RuleStatus::Fail && !response.policy.scored() {
                        RuleStatus::Warn
                    } else {
                        rule.status
                    };
                    let ok = actual.as_str() == expected.result.to_ascii_lowercase();
                    resource_rows.push(Row {
                        policy: expected.policy.clone(),
                        rule: rule.rule.clone(),
                        resource: display_resource(key),
                        expected: expected.result.clone(),
                        actual: actual.to_string(),
                        verdict: if ok { Verdict::Pass } else { Verdict::Fail },
                        reason: if ok {
                            "Ok".into()
                        } else {
                            format!("Want {}, got {actual}", expected.result)
                        },
                        message: rule.message.clone(),
                    });
                }
                if resource_rows.is_empty() {
                    // Kyverno: no rule response (no row yet for this resource)
                    // means the resource was excluded: a pass.
                    resource_rows.push(Row {
                        policy: expected.policy.clone(),
                        rule: expected.rule.clone(),
                        resource: display_resource(key),
                        expected: expected.result.clone(),
                        actual: "excluded".into(),
                        verdict: Verdict::Pass,
                        reason: "Excluded".into(),
                        message: "Excluded".into(),
                    });
                }
            }
            if resource_rows.is_empty() {
                let (verdict, reason, message) = match invalid.get(policy_name) {
                    Some(err) => (Verdict::Skip, "Invalid Policy".to_string(), err.clone()),
                    None => (
                        Verdict::Fail,
                        "Not found".to_string(),
                        "Not found".to_string(),
                    ),
                };
                resource_rows.push(Row {
                    policy: expected.policy.clone(),
                    rule: expected.rule.clone(),
                    resource: display_resource(key),
                    expected: expected.result.clone(),
                    actual: String::new(),
                    verdict,
                    reason,
                    message,
                });
            }
            rows.extend(resource_rows);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    //! The comparison, case by case, as `printTestResult` in Kyverno's
    //! `cmd/cli/kubectl-kyverno/commands/test/output.go` does it.

    use super::*;
    use crate::engine::policy::PolicyMeta;
    use crate::engine::{ResourceRef, RuleResult};
    use std::collections::HashMap;
    use std::sync::Arc;

    fn meta(kind: &str, name: &str) -> Arc<PolicyMeta> {
        Arc::new(PolicyMeta {
            kind: kind.into(),
            name: name.into(),
            namespace: None,
            annotations: BTreeMap::new(),
            process: "background scan",
        })
    }

    fn key(kind: &str, namespace: &str, name: &str) -> String {
        format!("v1,{kind},{namespace},{name}")
    }

    fn response(
        policy: &Arc<PolicyMeta>,
        resource_key: &str,
        rules: &[(&str, RuleStatus)],
    ) -> PolicyResponse {
        let parts: Vec<&str> = resource_key.split(',').collect();
        PolicyResponse::new(
            policy.clone(),
            ResourceRef {
                api_version: parts[0].into(),
                kind: parts[1].into(),
                namespace: parts[2].into(),
                name: parts[3].into(),
                uid: String::new(),
            },
            rules
                .iter()
                .map(|(rule, status)| RuleResult::new(*rule, *status, "", "Audit"))
                .collect(),
        )
    }

    fn expectation(
        policy: &str,
        rule: &str,
        kind: &str,
        resources: &[&str],
        result: &str,
    ) -> ExpectedResult {
        ExpectedResult {
            policy: policy.into(),
            rule: rule.into(),
            kind: kind.into(),
            resources: Some(resources.iter().map(|r| r.to_string()).collect()),
            result: result.into(),
            ..ExpectedResult::default()
        }
    }

    fn no_index() -> PolicyIndex {
        PolicyIndex {
            rule_kinds: HashMap::new(),
            other_kinds: HashMap::new(),
        }
    }

    /// A policy matching Services: a `cart` Service passes, the `cart`
    /// Deployment and the `web` Service give responses without rules.
    fn shop() -> BTreeMap<String, Vec<PolicyResponse>> {
        let policy = meta("ClusterPolicy", "svc-policy");
        let mut responses = BTreeMap::new();
        for (k, rules) in [
            (
                key("Service", "shop", "cart"),
                vec![("check-svc", RuleStatus::Pass)],
            ),
            (key("Deployment", "shop", "cart"), vec![]),
            (
                key("Service", "web", "front"),
                vec![("check-svc", RuleStatus::Fail)],
            ),
        ] {
            let one = response(&policy, &k, &rules);
            responses.insert(k, vec![one]);
        }
        responses
    }

    fn verdicts(rows: &[Row]) -> Vec<(String, Verdict, String)> {
        rows.iter()
            .map(|r| (r.resource.clone(), r.verdict, r.reason.clone()))
            .collect()
    }

    #[test]
    fn an_absent_policy_is_not_found_and_fails() {
        let rows = compare(
            &[expectation(
                "other-policy",
                "check-svc",
                "Service",
                &["cart"],
                "pass",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows.len(), 2, "one row per resource named cart");
        assert!(rows
            .iter()
            .all(|r| r.verdict == Verdict::Fail && r.reason == "Not found"));
    }

    #[test]
    fn the_kind_does_not_narrow_the_resources_a_name_selects() {
        // Kyverno selects by name (or namespace/name) only: the Deployment
        // named cart is judged too, and passes as excluded.
        let rows = compare(
            &[expectation(
                "svc-policy",
                "check-svc",
                "Service",
                &["cart"],
                "pass",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(
            verdicts(&rows),
            vec![
                (
                    "v1/Deployment/shop/cart".to_string(),
                    Verdict::Pass,
                    "Excluded".to_string()
                ),
                (
                    "v1/Service/shop/cart".to_string(),
                    Verdict::Pass,
                    "Ok".to_string()
                ),
            ]
        );
    }

    #[test]
    fn namespace_and_name_select_exactly() {
        let rows = compare(
            &[expectation(
                "svc-policy",
                "check-svc",
                "Service",
                &["web/front"],
                "fail",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(
            verdicts(&rows),
            vec![(
                "v1/Service/web/front".to_string(),
                Verdict::Pass,
                "Ok".to_string()
            )]
        );
        let rows = compare(
            &[expectation(
                "svc-policy",
                "check-svc",
                "Service",
                &["shop/front"],
                "fail",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        // shop/front names nothing: Kyverno then judges every resource.
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn an_absent_resource_falls_back_to_every_resource() {
        // output.go: when no resource matched, "check all results"; the
        // failing front Service then fails the expectation.
        let rows = compare(
            &[expectation(
                "svc-policy",
                "check-svc",
                "Service",
                &["ghost"],
                "pass",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows.iter().filter(|r| r.verdict == Verdict::Fail).count(),
            1
        );
        assert!(rows.iter().any(|r| r.reason == "Want pass, got fail"));
    }

    #[test]
    fn an_absent_rule_passes_as_excluded() {
        // lookupRuleResponses finds nothing, so the resource counts as
        // excluded (a pass), as the Kyverno CLI reports it.
        let rows = compare(
            &[expectation(
                "svc-policy",
                "no-such-rule",
                "Service",
                &["front"],
                "fail",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(
            verdicts(&rows),
            vec![(
                "v1/Service/web/front".to_string(),
                Verdict::Pass,
                "Excluded".to_string()
            )]
        );
    }

    #[test]
    fn autogen_rule_names_answer_for_their_pod_rule() {
        let policy = meta("ClusterPolicy", "pods");
        let k = key("Deployment", "shop", "cart");
        let mut responses = BTreeMap::new();
        responses.insert(
            k.clone(),
            vec![response(
                &policy,
                &k,
                &[("autogen-check", RuleStatus::Fail)],
            )],
        );
        let rows = compare(
            &[expectation(
                "pods",
                "check",
                "Deployment",
                &["cart"],
                "fail",
            )],
            &responses,
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].verdict, rows[0].rule.as_str()),
            (Verdict::Pass, "autogen-check")
        );
    }

    #[test]
    fn a_rule_name_does_not_filter_cel_policy_results() {
        let policy = meta("ValidatingPolicy", "vpol");
        let k = key("Pod", "shop", "p");
        let mut responses = BTreeMap::new();
        responses.insert(
            k.clone(),
            vec![response(&policy, &k, &[("", RuleStatus::Fail)])],
        );
        let rows = compare(
            &[expectation("vpol", "whatever", "Pod", &["p"], "pass")],
            &responses,
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].verdict, Verdict::Fail);
        assert_eq!(rows[0].reason, "Want pass, got fail");
    }

    #[test]
    fn rows_of_a_policy_refused_by_validation_are_skips_counted_as_passed() {
        let mut invalid = BTreeMap::new();
        invalid.insert("refused".to_string(), "p.yaml#1: refused: ...".to_string());
        let rows = compare(
            &[expectation(
                "refused",
                "r",
                "Service",
                &["cart", "front"],
                "pass",
            )],
            &shop(),
            &no_index(),
            &invalid,
        );
        assert_eq!(rows.len(), 3);
        assert!(rows
            .iter()
            .all(|r| r.verdict == Verdict::Skip && r.reason == "Invalid Policy"));
        assert!(rows.iter().all(|r| r.verdict.passes()));
    }

    #[test]
    fn a_failure_of_an_unscored_policy_is_compared_as_warn() {
        let mut annotations = BTreeMap::new();
        annotations.insert(
            crate::engine::policy::ANNOTATION_SCORED.to_string(),
            "false".to_string(),
        );
        let policy = Arc::new(PolicyMeta {
            kind: "ClusterPolicy".into(),
            name: "unscored".into(),
            namespace: None,
            annotations,
            process: "background scan",
        });
        let k = key("Pod", "shop", "p");
        let mut responses = BTreeMap::new();
        responses.insert(
            k.clone(),
            vec![response(&policy, &k, &[("r", RuleStatus::Fail)])],
        );
        let rows = compare(
            &[
                expectation("unscored", "r", "Pod", &["p"], "warn"),
                expectation("unscored", "r", "Pod", &["p"], "fail"),
            ],
            &responses,
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows[0].verdict, Verdict::Pass);
        assert_eq!(rows[1].reason, "Want fail, got warn");
    }

    #[test]
    fn an_excluded_row_is_written_once_per_resource() {
        let policy = meta("ClusterPolicy", "twice");
        let k = key("Pod", "shop", "p");
        let mut responses = BTreeMap::new();
        responses.insert(
            k.clone(),
            vec![response(&policy, &k, &[]), response(&policy, &k, &[])],
        );
        let rows = compare(
            &[expectation("twice", "r", "Pod", &["p"], "pass")],
            &responses,
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(
            verdicts(&rows),
            vec![(
                "v1/Pod/shop/p".to_string(),
                Verdict::Pass,
                "Excluded".to_string()
            )]
        );
    }
}

#[cfg(test)]
mod resource_spec_tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(yaml: &str) -> ExpectedResult {
        serde_yaml::from_str(yaml).expect("expectation")
    }

    #[test]
    fn resource_specs_select_by_version_namespace_and_name_when_resources_are_given() {
        let with = parse("policy: p\nresult: pass\nresources: []\nresourceSpecs:\n- {version: v1, namespace: shop, name: cart, kind: Ignored}\n");
        assert!(with.resources.is_some());
        assert_eq!(with.resource_specs.len(), 1);
        let without = parse("policy: p\nresult: pass\nresourceSpecs:\n- {version: v1, namespace: shop, name: cart}\n");
        assert!(without.resources.is_none());
        let mut responses = BTreeMap::new();
        for key in [
            "v1,Service,shop,cart",
            "apps/v1,Deployment,shop,cart",
            "v1,Service,web,front",
        ] {
            responses.insert(key.to_string(), Vec::new());
        }
        let index = PolicyIndex {
            rule_kinds: HashMap::new(),
            other_kinds: HashMap::new(),
        };
        // Only v1 in shop named cart: one Not found row (no response).
        let rows = compare(&[with], &responses, &index, &BTreeMap::new());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].resource, "v1/Service/shop/cart");
        // Without `resources`, the specs are ignored: every resource.
        let rows = compare(&[without], &responses, &index, &BTreeMap::new());
        assert_eq!(rows.len(), 3);
    }
}
