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
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::policy::PolicyMeta;
use crate::{PolicyResponse, RuleResult, RuleStatus, ValueExt};

/// Annotation naming the policies or `policy/rule`s the resource is excepted
/// from (comma-separated or a JSON list).
pub const EXCEPTION: &str = "polscan.io/exception";
/// Annotation saying why the exception is granted; required.
pub const REASON: &str = "polscan.io/exception-reason";
/// Annotation saying when the exception ends (an RFC 3339 date or time);
/// required.
pub const EXPIRES: &str = "polscan.io/exception-expires";
/// Annotation naming who answers for the exception; optional.
pub const OWNER: &str = "polscan.io/exception-owner";
/// Rule name of the `warn` results this module adds.
pub const EXCEPTION_RULE: &str = "polscan-exception";

/// Result properties this module sets, read back by `polscan evidence`.
pub mod properties {
    /// `resource-annotation` on a result the annotation turned into `skip`.
    pub const EXCEPTION: &str = "exception";
    /// The value of [`EXCEPTION`] on excused results.
    pub const RESOURCE_ANNOTATION: &str = "resource-annotation";
    /// The exception's reason (annotation [`super::REASON`]).
    pub const REASON: &str = "exception-reason";
    /// The exception's expiry (annotation [`super::EXPIRES`]).
    pub const EXPIRES: &str = "exception-expires";
    /// The exception's owner (annotation [`super::OWNER`]), when given.
    pub const OWNER: &str = "exception-owner";
    /// The status the result had before the annotation excused it: a
    /// `fail` is a resource Kyverno's admission would reject.
    pub const RESULT: &str = "exception-result";
    /// On the `warn` results: `expired`, `invalid` or `unknown-target`.
    pub const STATUS: &str = "exception-status";
    /// On the `warn` results: the rules (comma-separated) the exception
    /// names or covered, so only those rules' verdicts are affected.
    pub const RULES: &str = "exception-rules";
}

/// Prefixes Kyverno gives the rules it generates for Pod controllers.
const AUTOGEN_PREFIXES: [&str; 2] = ["autogen-cronjob-", "autogen-"];

/// The rule a generated `autogen-` or `autogen-cronjob-` rule comes from
/// (the name itself for any other rule).
pub fn base_rule(rule: &str) -> &str {
    AUTOGEN_PREFIXES
        .iter()
        .find_map(|prefix| rule.strip_prefix(prefix))
        .unwrap_or(rule)
}

/// A rule and the variants Kyverno generates from it for Pod controllers.
pub fn with_autogen_variants(rule: &str) -> Vec<String> {
    let base = base_rule(rule);
    vec![
        base.to_string(),
        format!("autogen-{base}"),
        format!("autogen-cronjob-{base}"),
    ]
}

/// The policies loaded, so an annotation naming a policy or rule that does
/// not exist is reported rather than silently excusing nothing.
pub(crate) trait KnownPolicies {
    /// The rule names of the policy called `policy` (its name, or
    /// `namespace/name` for a namespaced one); None when no such policy
    /// is loaded.
    fn rules_of(&self, policy: &str) -> Option<Vec<String>>;

    /// Whether these are all the policies there are; when not (a chosen
    /// set of files, or a scan that could not read or load some policy) a
    /// name that is not known may still exist, so it is not called missing.
    fn complete(&self) -> bool {
        true
    }
}

impl KnownPolicies for crate::Engine {
    fn complete(&self) -> bool {
        self.options.all_policies_known
    }

    fn rules_of(&self, policy: &str) -> Option<Vec<String>> {
        let named = |meta: &PolicyMeta| meta.name == policy || meta.qualified_name() == policy;
        if let Some((found, _)) = self
            .policies
            .iter()
            .zip(&self.metas)
            .find(|(_, meta)| named(meta))
        {
            return Some(found.spec.rules.iter().map(|r| r.name.clone()).collect());
        }
        // CEL policies have one unnamed rule.
        self.validating
            .iter()
            .map(|(_, meta)| meta)
            .chain(self.admission.iter().map(|(_, meta)| meta))
            .any(|meta| named(meta))
            .then(|| vec![String::new()])
    }
}

impl KnownPolicies for BTreeMap<String, Vec<String>> {
    fn rules_of(&self, policy: &str) -> Option<Vec<String>> {
        self.get(policy).cloned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    policy: String,
    rule: Option<String>,
}

impl Target {
    /// A rule target also covers the rule's autogen variants: users name
    /// the rule they see in the policy.
    fn covers(&self, policy: &str, qualified_policy: &str, rule: &str) -> bool {
        (self.policy == policy || self.policy == qualified_policy)
            && self
                .rule
                .as_deref()
                .is_none_or(|r| r == rule || base_rule(r) == base_rule(rule))
    }
}

enum Validity {
    Valid { expires: DateTime<Utc> },
    Expired { expires: DateTime<Utc> },
    Invalid(String),
}

impl Validity {
    fn status(&self) -> &'static str {
        match self {
            Validity::Valid { .. } => "valid",
            Validity::Expired { .. } => "expired",
            Validity::Invalid(_) => "invalid",
        }
    }
}

struct Declared {
    /// The annotation's items as written (`policy` or `policy/rule`).
    items: Vec<String>,
    reason: String,
    owner: String,
    expires_text: String,
    validity: Validity,
}

fn parse_items(text: &str) -> Vec<String> {
    let items: Vec<String> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).unwrap_or_default()
    } else {
        text.split([',', '\n'])
            .map(|item| item.trim().to_string())
            .collect()
    };
    items
        .into_iter()
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

/// What an item names, checked against the loaded policies: a policy
/// (`name` or `namespace/name`), a rule of one (`policy/rule`), or nothing.
enum Resolved {
    Target(Target),
    UnknownRule { policy: String, rule: String },
    UnknownPolicy(String),
}

fn resolve(item: &str, known: &dyn KnownPolicies) -> Resolved {
    if known.rules_of(item).is_some() {
        return Resolved::Target(Target {
            policy: item.to_string(),
            rule: None,
        });
    }
    // The last `/` separates the rule: `namespace/policy/rule` works too.
    if let Some((policy, rule)) = item.rsplit_once('/') {
        if let Some(rules) = known.rules_of(policy) {
            let exists = rules
                .iter()
                .any(|r| r == rule || base_rule(r) == base_rule(rule));
            return if exists {
                Resolved::Target(Target {
                    policy: policy.to_string(),
                    rule: Some(rule.to_string()),
                })
            } else {
                Resolved::UnknownRule {
                    policy: policy.to_string(),
                    rule: rule.to_string(),
                }
            };
        }
        return Resolved::UnknownPolicy(policy.to_string());
    }
    Resolved::UnknownPolicy(item.to_string())
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
            .annotation(key)
            .map(str::trim)
            .unwrap_or("")
            .to_string()
    };
    let items = parse_items(&annotation(EXCEPTION));
    if items.is_empty() {
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
        items,
        reason,
        owner: annotation(OWNER),
        expires_text,
        validity,
    })
}

impl Declared {
    /// Properties every result this exception touches carries.
    fn properties(&self) -> BTreeMap<String, String> {
        let mut found = BTreeMap::new();
        if !self.reason.is_empty() {
            found.insert(properties::REASON.into(), self.reason.clone());
        }
        if !self.expires_text.is_empty() {
            found.insert(properties::EXPIRES.into(), self.expires_text.clone());
        }
        if !self.owner.is_empty() {
            found.insert(properties::OWNER.into(), self.owner.clone());
        }
        found
    }

    fn warning(
        &self,
        message: String,
        status: &str,
        rules: &[String],
        action: String,
    ) -> RuleResult {
        let mut properties = self.properties();
        properties.insert(properties::STATUS.into(), status.into());
        if !rules.is_empty() {
            properties.insert(properties::RULES.into(), rules.join(","));
        }
        RuleResult {
            rule: EXCEPTION_RULE.into(),
            status: RuleStatus::Warn,
            message,
            action,
            properties,
            skip_reason: None,
            before_exceptions: false,
            resubstituted: false,
        }
    }
}

/// Applies the resource's exception annotations to its policy responses.
/// `known` says which policies and rules exist: naming one that does not
/// adds a `warn` result saying so.
pub(crate) fn apply(
    resource: &Value,
    responses: &mut Vec<PolicyResponse>,
    now: DateTime<Utc>,
    known: &dyn KnownPolicies,
) {
    let Some(declared) = declared(resource, now) else {
        return;
    };
    let mut targets = Vec::new();
    let mut unknown_rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unknown_policies = Vec::new();
    for item in &declared.items {
        match resolve(item, known) {
            Resolved::Target(target) => targets.push(target),
            Resolved::UnknownRule { policy, rule } => {
                unknown_rules.entry(policy).or_default().push(rule)
            }
            Resolved::UnknownPolicy(policy) => unknown_policies.push(policy),
        }
    }
    for response in responses.iter_mut() {
        let policy = response.policy.name.clone();
        let qualified = response.policy.qualified_name();
        let mut covered = Vec::new();
        for result in &mut response.rules {
            if !targets
                .iter()
                .any(|t| t.covers(&policy, &qualified, &result.rule))
            {
                continue;
            }
            covered.push(result.rule.clone());
            if let Validity::Valid { expires } = &declared.validity {
                let original = result.status;
                // Skipped by a Kyverno PolicyException already (applied
                // first): the skip rests on that, which Kyverno's admission
                // honours; the annotation is no longer needed (walk25 F8).
                let by_policy_exception =
                    original == RuleStatus::Skip && result.properties.contains_key("exceptions");
                result.status = RuleStatus::Skip;
                result.message = if by_policy_exception {
                    format!(
                        "{}; the exception annotation on the resource (until {}) covers it too and is no longer needed",
                        result.message,
                        expires.to_rfc3339()
                    )
                } else {
                    format!(
                        "skipped by the exception on the resource until {}: {}",
                        expires.to_rfc3339(),
                        declared.reason
                    )
                };
                result.properties.insert(
                    properties::EXCEPTION.into(),
                    properties::RESOURCE_ANNOTATION.into(),
                );
                result
                    .properties
                    .insert(properties::RESULT.into(), original.as_str().into());
                result.properties.extend(declared.properties());
            }
        }
        let action = response
            .rules
            .first()
            .map(|r| r.action.clone())
            .unwrap_or_default();
        let warning = match &declared.validity {
            Validity::Valid { .. } => None,
            Validity::Expired { expires } => Some(format!(
                "the exception on the resource expired at {}; the policy applies again",
                expires.to_rfc3339()
            )),
            Validity::Invalid(message) => Some(message.clone()),
        };
        if let (false, Some(message)) = (covered.is_empty(), warning) {
            let warning = declared.warning(
                message,
                declared.validity.status(),
                &covered,
                action.clone(),
            );
            response.rules.push(warning);
        }
        let missing = unknown_rules
            .get(&qualified)
            .or_else(|| unknown_rules.get(&policy));
        if let Some(rules) = missing {
            let message = format!(
                "{EXCEPTION} names rule(s) {} of policy {qualified}, which has no such rule: the exception excuses nothing there",
                rules.join(", ")
            );
            response
                .rules
                .push(declared.warning(message, "unknown-target", rules, action));
        }
    }
    // A policy that does not exist has no response to carry the warning:
    // it gets one of its own, under the name the annotation gave.
    if !known.complete() {
        return;
    }
    for policy in unknown_policies {
        let message = format!(
            "{EXCEPTION} names policy {policy}, which is not loaded: the exception excuses nothing"
        );
        let reference = responses
            .first()
            .map(|r| r.resource.clone())
            .unwrap_or_else(|| crate::ResourceRef::from_resource(resource));
        let (namespace, name) = match policy.split_once('/') {
            Some((namespace, name)) => (Some(namespace.to_string()), name.to_string()),
            None => (None, policy.clone()),
        };
        responses.push(PolicyResponse {
            policy: Arc::new(PolicyMeta {
                kind: if namespace.is_some() {
                    "Policy"
                } else {
                    "ClusterPolicy"
                }
                .into(),
                name,
                namespace,
                annotations: BTreeMap::new(),
                process: "background scan",
            }),
            resource: reference,
            rules: vec![declared.warning(message, "unknown-target", &[], "Audit".into())],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyMeta;
    use crate::ResourceRef;
    use serde_json::json;
    use std::sync::Arc;

    fn response(policy: &str, rules: &[(&str, RuleStatus)]) -> PolicyResponse {
        PolicyResponse {
            policy: Arc::new(PolicyMeta {
                kind: "ClusterPolicy".into(),
                name: policy.into(),
                namespace: None,
                annotations: BTreeMap::new(),
                process: "background scan",
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
                    before_exceptions: false,
                    resubstituted: false,
                })
                .collect(),
        }
    }

    fn pod(annotations: Value) -> Value {
        json!({"kind": "Pod", "metadata": {"name": "p", "annotations": annotations}})
    }

    /// The policies loaded in these tests and their rules.
    fn known() -> BTreeMap<String, Vec<String>> {
        [
            ("require-labels", vec!["check"]),
            ("disallow-latest", vec!["validate-tag", "other"]),
            ("unrelated", vec!["r"]),
            ("team/p", vec!["check"]),
        ]
        .into_iter()
        .map(|(policy, rules)| {
            (
                policy.to_string(),
                rules.into_iter().map(str::to_string).collect(),
            )
        })
        .collect()
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
        apply(&resource, &mut responses, now(), &known());
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

    /// walk25 F8: a result a PolicyException already skipped read as
    /// skipped by the annotation; it keeps the PolicyException's message.
    #[test]
    fn a_skip_by_a_policy_exception_keeps_its_message() {
        let resource = pod(json!({
            EXCEPTION: "require-labels", REASON: "legacy", EXPIRES: "2026-12-31"
        }));
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Skip)])];
        let skipped = &mut responses[0].rules[0];
        skipped.message = "rule is skipped due to policy exceptionsops/legacy".into();
        skipped
            .properties
            .insert("exceptions".into(), "legacy".into());
        apply(&resource, &mut responses, now(), &known());
        let skipped = &responses[0].rules[0];
        assert_eq!(skipped.status, RuleStatus::Skip);
        assert!(
            skipped.message.starts_with("rule is skipped due to policy exceptionsops/legacy; the exception annotation on the resource (until 2026-12-31")
                && skipped.message.ends_with("covers it too and is no longer needed"),
            "{}",
            skipped.message
        );
    }

    #[test]
    fn an_expired_exception_keeps_the_result_and_warns() {
        let resource = pod(
            json!({EXCEPTION: "[\"require-labels\"]", REASON: "r", EXPIRES: "2026-01-01T00:00:00Z"}),
        );
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Fail)])];
        apply(&resource, &mut responses, now(), &known());
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
        apply(&resource, &mut responses, now(), &known());
        assert_eq!(responses[0].rules[0].status, RuleStatus::Fail);
        let warning = &responses[0].rules[1].message;
        assert!(
            warning.contains(REASON) && warning.contains(EXPIRES),
            "{warning}"
        );

        let bad_date = pod(json!({EXCEPTION: "require-labels", REASON: "r", EXPIRES: "next year"}));
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Fail)])];
        apply(&bad_date, &mut responses, now(), &known());
        assert!(responses[0].rules[1].message.contains("RFC 3339"));
    }

    #[test]
    fn resources_without_the_annotation_are_untouched() {
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Fail)])];
        apply(&pod(json!({})), &mut responses, now(), &known());
        assert_eq!(responses[0].rules.len(), 1);
        assert_eq!(responses[0].rules[0].status, RuleStatus::Fail);
    }

    #[test]
    fn a_rule_exception_covers_the_autogen_variants_of_the_rule() {
        let resource = pod(json!({
            EXCEPTION: "require-labels/check", REASON: "r", EXPIRES: "2026-12-31"
        }));
        let mut responses = vec![response(
            "require-labels",
            &[
                ("autogen-check", RuleStatus::Fail),
                ("autogen-cronjob-check", RuleStatus::Fail),
            ],
        )];
        apply(&resource, &mut responses, now(), &known());
        assert!(
            responses[0]
                .rules
                .iter()
                .all(|r| r.status == RuleStatus::Skip),
            "{:?}",
            responses[0].rules
        );
        assert_eq!(responses[0].rules[0].properties[properties::RESULT], "fail");
    }

    #[test]
    fn naming_a_policy_or_rule_that_does_not_exist_warns() {
        let resource = pod(json!({
            EXCEPTION: "require-lables, disallow-latest/validate-tga, team/p/check",
            REASON: "r", EXPIRES: "2026-12-31"
        }));
        let mut responses = vec![
            response("disallow-latest", &[("validate-tag", RuleStatus::Fail)]),
            response("require-labels", &[("check", RuleStatus::Fail)]),
        ];
        apply(&resource, &mut responses, now(), &known());
        // Nothing the misspelt names point at is excused.
        assert_eq!(responses[0].rules[0].status, RuleStatus::Fail);
        assert_eq!(responses[1].rules[0].status, RuleStatus::Fail);
        let rule_warning = responses[0]
            .rules
            .iter()
            .find(|r| r.rule == EXCEPTION_RULE)
            .expect("a warning for the misspelt rule");
        assert_eq!(rule_warning.status, RuleStatus::Warn);
        assert!(
            rule_warning.message.contains("validate-tga"),
            "{}",
            rule_warning.message
        );
        assert_eq!(
            rule_warning.properties[properties::STATUS],
            "unknown-target"
        );
        let policy_warning = responses
            .iter()
            .find(|r| r.policy.name == "require-lables")
            .expect("a response for the misspelt policy");
        assert_eq!(policy_warning.rules[0].status, RuleStatus::Warn);
        assert!(policy_warning.rules[0].message.contains("not loaded"));
        // `team/p/check` names a rule of the namespaced policy team/p: known.
        assert_eq!(
            responses
                .iter()
                .flat_map(|r| &r.rules)
                .filter(|r| r.rule == EXCEPTION_RULE)
                .count(),
            2
        );
    }

    /// The policies of a run that could not read or load some policy.
    struct Partial(BTreeMap<String, Vec<String>>);

    impl KnownPolicies for Partial {
        fn rules_of(&self, policy: &str) -> Option<Vec<String>> {
            self.0.rules_of(policy)
        }
        fn complete(&self) -> bool {
            false
        }
    }

    #[test]
    fn a_policy_missing_from_an_incomplete_set_is_not_called_unknown() {
        let resource = pod(json!({
            EXCEPTION: "unreadable-policy", REASON: "r", EXPIRES: "2026-12-31"
        }));
        let mut responses = vec![response("require-labels", &[("check", RuleStatus::Fail)])];
        apply(&resource, &mut responses, now(), &Partial(known()));
        assert_eq!(responses.len(), 1, "no response for the unreadable policy");
        assert!(responses[0].rules.iter().all(|r| r.rule != EXCEPTION_RULE));
    }

    #[test]
    fn an_expired_warning_keeps_reason_expiry_owner_and_the_rules_it_named() {
        let resource = pod(json!({
            EXCEPTION: "disallow-latest/validate-tag", REASON: "vendor image",
            EXPIRES: "2026-01-01", OWNER: "team-a"
        }));
        let mut responses = vec![response(
            "disallow-latest",
            &[
                ("validate-tag", RuleStatus::Fail),
                ("other", RuleStatus::Pass),
            ],
        )];
        apply(&resource, &mut responses, now(), &known());
        let warning = responses[0]
            .rules
            .iter()
            .find(|r| r.rule == EXCEPTION_RULE)
            .expect("warning");
        assert_eq!(warning.properties[properties::STATUS], "expired");
        assert_eq!(warning.properties[properties::REASON], "vendor image");
        assert_eq!(warning.properties[properties::EXPIRES], "2026-01-01");
        assert_eq!(warning.properties[properties::OWNER], "team-a");
        assert_eq!(warning.properties[properties::RULES], "validate-tag");
    }
}
