//! Time-bound exceptions declared on the resource itself, for teams that
//! must document a bypass without a cluster-wide object. Annotations:
//! `polscan.io/exception` (policies or `policy/rule`s, comma-separated or a
//! JSON list), `polscan.io/exception-reason`, `polscan.io/exception-expires`
//! (RFC 3339 date or time), `polscan.io/exception-owner`. A resource's
//! annotations, the policy responses and the current time enter; the
//! responses leave with excepted results turned into `skip` (reason, owner
//! and expiry in properties), or with a `warn` result added when the
//! exception has expired or lacks its reason or expiry.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{PolicyResponse, RuleResult, RuleStatus};

pub const EXCEPTION: &str = "polscan.io/exception";
pub const REASON: &str = "polscan.io/exception-reason";
pub const EXPIRES: &str = "polscan.io/exception-expires";
pub const OWNER: &str = "polscan.io/exception-owner";
/// Rule name of the `warn` results this module adds.
pub const EXCEPTION_RULE: &str = "polscan-exception";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    policy: String,
    rule: Option<String>,
}

impl Target {
    fn covers(&self, policy: &str, qualified_policy: &str, rule: &str) -> bool {
        (self.policy == policy || self.policy == qualified_policy)
            && self.rule.as_deref().is_none_or(|r| r == rule)
    }
}

enum Validity {
    Valid { expires: DateTime<Utc> },
    Expired { expires: DateTime<Utc> },
    Invalid(String),
}

struct Declared {
    targets: Vec<Target>,
    reason: String,
    owner: String,
    expires_text: String,
    validity: Validity,
}

fn parse_targets(text: &str) -> Vec<Target> {
    let items: Vec<String> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).unwrap_or_default()
    } else {
        text.split([',', '\n'])
            .map(|item| item.trim().to_string())
            .collect()
    };
    items
        .into_iter()
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once('/') {
            Some((policy, rule)) => Target {
                policy: policy.to_string(),
                rule: Some(rule.to_string()),
            },
            None => Target {
                policy: item,
                rule: None,
            },
        })
        .collect()
}

/// An RFC 3339 time, or a date meaning the end of that day (UTC).
fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(23, 59, 59)?.and_utc())
}

fn declared(resource: &Value, now: DateTime<Utc>) -> Option<Declared> {
    let annotation = |key: &str| {
        resource
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
            .to_string()
    };
    let targets = parse_targets(&annotation(EXCEPTION));
    if targets.is_empty() {
        return None;
    }
    let reason = annotation(REASON);
    let expires_text = annotation(EXPIRES);
    let mut missing = Vec::new();
    if reason.is_empty() {
        missing.push(REASON);
    }
    if expires_text.is_empty() {
        missing.push(EXPIRES);
    }
    let validity = if !missing.is_empty() {
        Validity::Invalid(format!(
            "exception ignored: {} missing",
            missing.join(" and ")
        ))
    } else {
        match parse_expiry(&expires_text) {
            None => Validity::Invalid(format!(
                "exception ignored: {EXPIRES} {expires_text:?} is not an RFC 3339 date or time"
            )),
            Some(expires) if expires <= now => Validity::Expired { expires },
            Some(expires) => Validity::Valid { expires },
        }
    };
    Some(Declared {
        targets,
        reason,
        owner: annotation(OWNER),
        expires_text,
        validity,
    })
}

/// Applies the resource's exception annotations to its policy responses.
pub fn apply(resource: &Value, responses: &mut [PolicyResponse], now: DateTime<Utc>) {
    let Some(declared) = declared(resource, now) else {
        return;
    };
    for response in responses.iter_mut() {
        let policy = response.policy.name.clone();
        let qualified = response.policy.qualified_name();
        let mut covered_any = false;
        for result in &mut response.rules {
            if !declared
                .targets
                .iter()
                .any(|t| t.covers(&policy, &qualified, &result.rule))
            {
                continue;
            }
            covered_any = true;
            if let Validity::Valid { expires } = &declared.validity {
                result.status = RuleStatus::Skip;
                result.message = format!(
                    "skipped by the exception on the resource until {}: {}",
                    expires.to_rfc3339(),
                    declared.reason
                );
                result
                    .properties
                    .insert("exception".into(), "resource-annotation".into());
                result
                    .properties
                    .insert("exception-reason".into(), declared.reason.clone());
                result
                    .properties
                    .insert("exception-expires".into(), declared.expires_text.clone());
                if !declared.owner.is_empty() {
                    result
                        .properties
                        .insert("exception-owner".into(), declared.owner.clone());
                }
            }
        }
        let warning = match &declared.validity {
            Validity::Valid { .. } => None,
            Validity::Expired { expires } => Some(format!(
                "the exception on the resource expired at {}; the policy applies again",
                expires.to_rfc3339()
            )),
            Validity::Invalid(message) => Some(message.clone()),
        };
        if let (true, Some(message)) = (covered_any, warning) {
            let action = response
                .rules
                .first()
                .map(|r| r.action.clone())
                .unwrap_or_default();
            let mut properties = BTreeMap::new();
            if !declared.owner.is_empty() {
                properties.insert("exception-owner".into(), declared.owner.clone());
            }
            response.rules.push(RuleResult {
                rule: EXCEPTION_RULE.into(),
                status: RuleStatus::Warn,
                message,
                action,
                properties,
                skip_reason: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::policy::PolicyMeta;
    use crate::engine::ResourceRef;
    use serde_json::json;
    use std::sync::Arc;

    fn response(policy: &str, rules: &[(&str, RuleStatus)]) -> PolicyResponse {
        PolicyResponse {
            policy: Arc::new(PolicyMeta {
                kind: "ClusterPolicy".into(),
                name: policy.into(),
                namespace: None,
                annotations: BTreeMap::new(),
            }),
            resource: ResourceRef::from_resource(&json!({})),
            rules: rules
                .iter()
                .map(|(rule, status)| RuleResult {
                    rule: rule.to_string(),
                    status: *status,
                    message: "real".into(),
                    action: "Audit".into(),
                    properties: BTreeMap::new(),
                    skip_reason: None,
                })
                .collect(),
        }
    }

    fn pod(annotations: Value) -> Value {
        json!({"kind": "Pod", "metadata": {"name": "p", "annotations": annotations}})
    }

    fn now() -> DateTime<Utc> {
        parse_expiry("2026-06-01T00:00:00Z").unwrap()
    }

    #[test]
    fn a_valid_exception_skips_the_named_policy_or_rule_only() {
        let resource = pod(json!({
            EXCEPTION: "require-labels, disallow-latest/validate-tag",
            REASON: "legacy app, ticket OPS-12", EXPIRES: "2026-12-31", OWNER: "team-a"
        }));
        let mut responses = vec![
            response("require-labels", &[("check", RuleStatus::Fail)]),
            response(
                "disallow-latest",
                &[
                    ("validate-tag", RuleStatus::Fail),
                    ("other", RuleStatus::Fail),
                ],
            ),
            response("unrelated", &[("r", RuleStatus::Fail)]),
        ];
        apply(&resource, &mut responses, now());
        let status = |i: usize, j: usize| responses[i].rules[j].status;
        assert_eq!(status(0, 0), RuleStatus::Skip);
        assert_eq!(status(1, 0), RuleStatus::Skip);
        assert_eq!(status(1, 1), RuleStatus::Fail);
        assert_eq!(status(2, 0), RuleStatus::Fail);
        let skipped = &responses[0].rules[0];
        assert_eq!(
            skipped.properties["exception-reason"],
            "legacy app, ticket OPS-12"
        );
        assert_eq!(skipped.properties["exception-owner"], "team-a");
        assert_eq!(skipped.properties["exception-expires"], "2026-12-31");
        assert!(responses
            .iter()
            .all(|r| r.rules.iter().all(|x| x.rule != EXCEPTION_RULE)));
    }

    #[test]
    fn an_expired_exception_keeps_the_result_and_warns() {
        let resource = pod(
            json!({EXCEPTION: "[\"require-labels\"]", REASON: "r", EXPIRES: "2026-01-01T00:00:00Z"}),
        );
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Fail)])];
        apply(&resource, &mut responses, now());
        assert_eq!(responses[0].rules[0].status, RuleStatus::Fail);
        let warning = &responses[0].rules[1];
        assert_eq!(
            (warning.rule.as_str(), warning.status),
            (EXCEPTION_RULE, RuleStatus::Warn)
        );
        assert!(
            warning.message.contains("expired at 2026-01-01"),
            "{}",
            warning.message
        );
    }

    #[test]
    fn an_exception_without_reason_or_expiry_is_ignored_with_a_warning() {
        let resource = pod(json!({EXCEPTION: "require-labels"}));
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Fail)])];
        apply(&resource, &mut responses, now());
        assert_eq!(responses[0].rules[0].status, RuleStatus::Fail);
        let warning = &responses[0].rules[1].message;
        assert!(
            warning.contains(REASON) && warning.contains(EXPIRES),
            "{warning}"
        );

        let bad_date = pod(json!({EXCEPTION: "require-labels", REASON: "r", EXPIRES: "next year"}));
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Fail)])];
        apply(&bad_date, &mut responses, now());
        assert!(responses[0].rules[1].message.contains("RFC 3339"));
    }

    #[test]
    fn resources_without_the_annotation_are_untouched() {
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Fail)])];
        apply(&pod(json!({})), &mut responses, now());
        assert_eq!(responses[0].rules.len(), 1);
        assert_eq!(responses[0].rules[0].status, RuleStatus::Fail);
    }
}
