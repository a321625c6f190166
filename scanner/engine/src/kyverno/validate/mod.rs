//! Validate rules: `pattern`, `anyPattern`, `deny` and `foreach` (nested
//! too), with preconditions and context entries at every level. A rule, the
//! resource and its evaluation context enter; at most one outcome leaves
//! (none when a foreach applied to nothing, as in Kyverno). Mirrors Kyverno's
//! `pkg/engine/handlers/validation/validate_resource.go`, messages included.

pub(crate) mod walk;

use serde_json::Value;

use self::walk::PatternOutcome;
use crate::context::ContextEntry;
use crate::context::EvalContext;
use crate::kyverno::conditions;
use crate::kyverno::pod_security;
use crate::kyverno::policy::{Deny, ForEachValidation, Rule};
use crate::variables;
use crate::{RuleOutcome, RuleStatus};

/// One level of validation: the rule itself or one foreach element.
/// The most foreach elements one rule evaluates, nested loops included:
/// three loops of 1000 were 10^9 evaluations, hours (hunt27 F5); 10^6 is
/// seconds. Kyverno sets no bound.
const MAX_FOREACH_ELEMENTS: usize = 1_000_000;

thread_local! {
    /// Elements the rule this thread evaluates has taken so far.
    static FOREACH_ELEMENTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

struct Validator<'a> {
    rule: &'a Rule,
    context_entries: &'a [ContextEntry],
    preconditions: Option<&'a Value>,
    pattern: Option<&'a Value>,
    any_pattern: Option<&'a Value>,
    deny: Option<&'a Deny>,
    foreach: Option<&'a [ForEachValidation]>,
    nesting: usize,
}

/// Evaluates a validate rule whose match, context and preconditions the
/// caller has already handled.
/// `cel_scopes` holds the resource's CEL inputs, converted once for every
/// `validate.cel` rule that sees the same.
pub(crate) fn validate_rule(
    rule: &Rule,
    ctx: &mut EvalContext,
    resource: &Value,
    cel_scopes: &crate::cel::ScopeCache,
) -> Option<RuleOutcome> {
    let validation = rule.validate.as_ref()?;
    if validation.cel.is_some() {
        return validate_cel_rule(rule, ctx, cel_scopes);
    }
    if let Some(block) = &validation.pod_security {
        // No result on a DELETE (validate_pss.go; verify44 F).
        if is_delete_request(ctx) {
            return None;
        }
        return Some(validate_pod_security(rule, block, resource));
    }
    if validation.manifests.is_some() {
        return Some(RuleOutcome::new(
            RuleStatus::Error,
            "validate.manifests (signed manifests) are not evaluated by polscan",
        ));
    }
    let validator = Validator {
        rule,
        context_entries: &[],
        preconditions: rule.preconditions.as_ref(),
        pattern: validation.pattern.as_ref(),
        any_pattern: validation.any_pattern.as_ref(),
        deny: validation.deny.as_ref(),
        foreach: validation.foreach.as_deref(),
        nesting: 0,
    };
    validator.validate(ctx, resource, None)
}

/// Whether the context's request is a DELETE (Kyverno's
/// `engineutils.IsDeleteRequest`).
fn is_delete_request(ctx: &EvalContext) -> bool {
    ctx.entry("request")
        .and_then(|request| request.get("operation"))
        .and_then(Value::as_str)
        == Some("DELETE")
}

/// A `validate.cel` rule (`None` for any other): its `celPreconditions`,
/// then its expressions, on the CEL view of the rule's context. It only
/// reads the context, so a caller may lend one shared by several rules.
pub(crate) fn validate_cel_rule(
    rule: &Rule,
    ctx: &EvalContext,
    cel_scopes: &crate::cel::ScopeCache,
) -> Option<RuleOutcome> {
    rule.validate.as_ref()?.cel.as_ref()?;
    let scope = crate::cel::rule::scope_from_context(ctx.entry("request"), cel_scopes);
    validate_cel_in_scope(rule, &scope, ctx.cluster())
}

/// [`validate_cel_rule`] on the CEL scope its context gives.
pub(crate) fn validate_cel_in_scope(
    rule: &Rule,
    scope: &crate::cel::ResourceScope,
    cluster: &std::sync::Arc<dyn crate::context::ClusterData>,
) -> Option<RuleOutcome> {
    let validation = rule.validate.as_ref()?;
    let block = validation.cel.as_ref()?;
    match crate::cel::preconditions_met(&rule.cel_preconditions, &block.variables, scope, cluster) {
        Ok(true) => {}
        Ok(false) => {
            return Some(RuleOutcome::new(
                RuleStatus::Skip,
                "cel preconditions not met",
            ))
        }
        // Kubernetes' matcher denies on a match condition's error under
        // the default failure policy (Fail), which Kyverno reports as a
        // fail (validate_cel.go: ActionDeny → RuleFail).
        Err(err) => return Some(RuleOutcome::new(RuleStatus::Fail, err)),
    }
    let message = validation.message.as_deref().unwrap_or("");
    Some(crate::cel::validate(
        &rule.name, message, block, scope, cluster,
    ))
}

/// `validate.podSecurity`: the Pod Security Standards with the rule's
/// exclusions (Kyverno's validate_pss.go; PolicyException exclusions are
/// applied afterwards by [`crate::exceptions::kyverno::apply`]).
fn validate_pod_security(rule: &Rule, block: &Value, resource: &Value) -> RuleOutcome {
    let settings: pod_security::PodSecurity = match serde_json::from_value(block.clone()) {
        Ok(settings) => settings,
        Err(err) => {
            return RuleOutcome::new(RuleStatus::Error, format!("invalid podSecurity: {err}"))
        }
    };
    if settings.level != "baseline"
        && settings.level != "restricted"
        && settings.level != "privileged"
    {
        return RuleOutcome::new(
            RuleStatus::Error,
            format!("invalid podSecurity level {:?}", settings.level),
        );
    }
    let evaluation = match pod_security::evaluate_rule(&settings, resource) {
        Ok(evaluation) => evaluation,
        Err(err) => return RuleOutcome::new(RuleStatus::Error, err.to_string()),
    };
    if evaluation.allowed() {
        return RuleOutcome::new(
            RuleStatus::Pass,
            format!("Validation rule '{}' passed.", rule.name),
        );
    }
    let (message, properties) = evaluation.failure(&rule.name, resource);
    RuleOutcome {
        status: RuleStatus::Fail,
        message,
        properties,
        before_exceptions: false,
    }
}

impl Validator<'_> {
    fn message(&self) -> &str {
        self.rule
            .validate
            .as_ref()
            .and_then(|v| v.message.as_deref())
            .unwrap_or("")
    }

    fn validate(
        &self,
        ctx: &mut EvalContext,
        resource: &Value,
        element: Option<&Value>,
    ) -> Option<RuleOutcome> {
        let name = &self.rule.name;
        if let Err(err) = ctx.add_entries(self.context_entries) {
            return Some(RuleOutcome::new(
                RuleStatus::Error,
                format!("failed to load context: {err}"),
            ));
        }
        let preconditions = match conditions::evaluate(ctx, self.preconditions) {
            Ok(outcome) => outcome,
            Err(err) => {
                return Some(RuleOutcome::new(
                    RuleStatus::Error,
                    format!("failed to evaluate preconditions: {err}"),
                ))
            }
        };
        if !preconditions.passed {
            let message = if preconditions.message.is_empty() {
                "preconditions not met".to_string()
            } else {
                format!("preconditions not met; {}", preconditions.message)
            };
            return Some(RuleOutcome::new(RuleStatus::Skip, message));
        }
        if let Some(deny) = self.deny {
            return Some(self.validate_deny(ctx, deny));
        }
        if self.pattern.is_some() || self.any_pattern.is_some() {
            // Kyverno substitutes the pattern, then gives no result for a
            // DELETE (the object gone) but on a foreach element
            // (validate_resource.go validateResourceWithRule; verify44 F:
            // a delete-protection pattern passed `polscan test`).
            let target = match element {
                Some(element) => Some(element),
                None if is_delete_request(ctx) => None,
                None => Some(resource),
            };
            return self.validate_patterns(ctx, target);
        }
        if let Some(foreach) = self.foreach {
            return self.validate_foreach(ctx, resource, foreach, element);
        }
        let _ = name;
        None
    }

    fn validate_deny(&self, ctx: &mut EvalContext, deny: &Deny) -> RuleOutcome {
        match conditions::evaluate(ctx, deny.conditions.as_ref()) {
            Err(err) => RuleOutcome::new(
                RuleStatus::Error,
                format!("failed to check deny conditions: {err}"),
            ),
            Ok(outcome) if outcome.passed => {
                RuleOutcome::new(RuleStatus::Fail, self.deny_message(ctx, &outcome.message))
            }
            Ok(_) => RuleOutcome::new(
                RuleStatus::Pass,
                format!("validation rule '{}' passed.", self.rule.name),
            ),
        }
    }

    fn deny_message(&self, ctx: &mut EvalContext, condition_message: &str) -> String {
        let rule_message = self.message();
        if rule_message.is_empty() && condition_message.is_empty() {
            return format!("validation error: rule {} failed", self.rule.name);
        }
        let joined = [rule_message, condition_message]
            .iter()
            .filter(|m| !m.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("; ");
        match variables::substitute_all(ctx, &Value::String(joined)) {
            Ok(Value::String(text)) => text,
            Ok(_) => {
                "the produced message didn't resolve to a string, check your policy definition."
                    .to_string()
            }
            // Kyverno's getDenyMessage (pkg/engine/handlers/validation/
            // validate_resource.go) keeps the fail and returns only the
            // conditions' messages — none for most rules, a fail that says
            // nothing. The status stays Kyverno's; the message says why.
            Err(err) => {
                let why = format!(
                    "validation error: rule {} failed; its message could not be substituted: {err}",
                    self.rule.name
                );
                if condition_message.is_empty() {
                    why
                } else {
                    format!("{condition_message}; {why}")
                }
            }
        }
    }

    /// The rule message with variables substituted, ending in a period.
    fn substituted_message(&self, ctx: &mut EvalContext) -> Result<String, String> {
        match variables::substitute_all(ctx, &Value::String(self.message().to_string())) {
            Ok(Value::String(text)) => Ok(text),
            Ok(other) => Ok(other.to_string()),
            Err(err) => Err(err.to_string()),
        }
    }

    fn error_message(&self, ctx: &mut EvalContext, detail: &str, path: &str) -> String {
        let name = &self.rule.name;
        if self.message().is_empty() {
            return if path.is_empty() {
                format!("validation error: rule {name} execution error: {detail}")
            } else {
                format!("validation error: rule {name} failed at path {path}")
            };
        }
        match self.substituted_message(ctx) {
            // Kyverno's buildErrorMessage text (validate_resource.go), which
            // only logs the substitution error; polscan has no such log, so
            // the result carries it.
            Err(err) => format!(
                "validation error: variables substitution error in rule {name} execution error: {detail} (the message could not be substituted: {err})"
            ),
            Ok(mut message) => {
                if !message.ends_with('.') {
                    message.push('.');
                }
                if path.is_empty() {
                    format!("validation error: {message} rule {name} execution error: {detail}")
                } else {
                    format!("validation error: {message} rule {name} failed at path {path}")
                }
            }
        }
    }

    /// The pattern (or anyPattern) substituted, then matched against
    /// `target`; no outcome without one (a DELETE), once substituted.
    fn validate_patterns(
        &self,
        ctx: &mut EvalContext,
        target: Option<&Value>,
    ) -> Option<RuleOutcome> {
        let name = &self.rule.name;
        if let Some(raw) = self.pattern {
            let pattern = match variables::substitute_borrowed(ctx, raw) {
                Ok(pattern) => pattern,
                Err(err) => {
                    return Some(RuleOutcome::new(
                        RuleStatus::Error,
                        format!("variable substitution failed: {err}"),
                    ))
                }
            };
            return Some(match walk::match_pattern(target?, &pattern) {
                PatternOutcome::Pass => RuleOutcome::new(
                    RuleStatus::Pass,
                    format!("validation rule '{name}' passed."),
                ),
                PatternOutcome::Skip(failure) => {
                    RuleOutcome::new(RuleStatus::Skip, failure.message)
                }
                PatternOutcome::Fail(failure) if failure.path.is_empty() => RuleOutcome::new(
                    RuleStatus::Error,
                    self.error_message(ctx, &failure.message, ""),
                ),
                PatternOutcome::Fail(failure) => RuleOutcome::new(
                    RuleStatus::Fail,
                    self.error_message(ctx, &failure.message, &failure.path),
                ),
            });
        }
        let Some(raw) = self.any_pattern else {
            return Some(RuleOutcome::new(
                RuleStatus::Pass,
                self.message().to_string(),
            ));
        };
        self.validate_any_pattern(ctx, raw, target)
    }

    /// [`Self::validate_patterns`] for an `anyPattern`.
    fn validate_any_pattern(
        &self,
        ctx: &mut EvalContext,
        raw: &Value,
        target: Option<&Value>,
    ) -> Option<RuleOutcome> {
        let name = &self.rule.name;
        let substituted = variables::substitute_borrowed(ctx, raw);
        let patterns = match substituted.as_deref() {
            Ok(Value::Array(patterns)) => patterns,
            Ok(_) => {
                return Some(RuleOutcome::new(
                    RuleStatus::Error,
                    "failed to deserialize anyPattern, expected type array",
                ))
            }
            Err(err) => {
                return Some(RuleOutcome::new(
                    RuleStatus::Error,
                    format!("variable substitution failed: {err}"),
                ))
            }
        };
        let target = target?;
        let mut failed = Vec::new();
        let mut skipped = Vec::new();
        for (index, pattern) in patterns.iter().enumerate() {
            match walk::match_pattern(target, pattern) {
                PatternOutcome::Pass => {
                    return Some(RuleOutcome::new(
                        RuleStatus::Pass,
                        format!("validation rule '{name}' anyPattern[{index}] passed."),
                    ))
                }
                PatternOutcome::Skip(failure) => {
                    skipped.push(format!("rule {name}[{index}] skipped: {}", failure.message))
                }
                PatternOutcome::Fail(failure) if failure.path.is_empty() => {
                    failed.push(format!("rule {name}[{index}] failed: {}", failure.message))
                }
                PatternOutcome::Fail(failure) => failed.push(format!(
                    "rule {name}[{index}] failed at path {}",
                    failure.path
                )),
            }
        }
        if !skipped.is_empty() && failed.is_empty() {
            return Some(RuleOutcome::new(RuleStatus::Skip, skipped.join(" ")));
        }
        if failed.is_empty() {
            return Some(RuleOutcome::new(
                RuleStatus::Pass,
                self.message().to_string(),
            ));
        }
        let errors = failed.join(" ");
        let message = if self.message().is_empty() {
            format!("validation error: {errors}")
        } else {
            match self.substituted_message(ctx) {
                // As buildAnyPatternErrorMessage, with the logged reason.
                Err(err) => format!(
                    "validation error: variables substitution error in rule {name} execution error: {errors} (the message could not be substituted: {err})"
                ),
                Ok(message) if message.ends_with('.') => format!("validation error: {message} {errors}"),
                Ok(message) => format!("validation error: {message}. {errors}"),
            }
        };
        Some(RuleOutcome::new(RuleStatus::Fail, message))
    }

    fn validate_foreach(
        &self,
        ctx: &mut EvalContext,
        resource: &Value,
        loops: &[ForEachValidation],
        element: Option<&Value>,
    ) -> Option<RuleOutcome> {
        // The outermost foreach of a rule counts its nested elements.
        if self.nesting == 0 {
            let outer = FOREACH_ELEMENTS.with(|count| count.replace(0));
            let outcome = self.validate_loops(ctx, resource, loops, element);
            FOREACH_ELEMENTS.with(|count| count.set(outer));
            return outcome;
        }
        self.validate_loops(ctx, resource, loops, element)
    }

    fn validate_loops(
        &self,
        ctx: &mut EvalContext,
        resource: &Value,
        loops: &[ForEachValidation],
        element: Option<&Value>,
    ) -> Option<RuleOutcome> {
        let mut applied = 0usize;
        let mut list_error = None;
        for foreach in loops {
            let elements = match ctx.query(&foreach.list) {
                Ok(Value::Array(items)) => items,
                Ok(other) => vec![other],
                Err(err) => {
                    if err.to_string().contains("Unknown key") {
                        continue;
                    }
                    list_error = Some(err.to_string());
                    continue;
                }
            };
            ctx.convert_for_queries();
            let (outcome, count) =
                self.validate_elements(ctx, resource, foreach, &elements, element);
            if outcome.status != RuleStatus::Pass {
                return Some(outcome);
            }
            applied += count;
        }
        if applied == 0 {
            // Kyverno's validateForEach: no element applied (all skipped by
            // the loop's preconditions, or none) is a skip of the rule
            // ("rule skipped"), a result in the reports (walk28 F8). Nested
            // loops' skips count as not applied in the loop around them.
            return Some(match list_error {
                Some(err) => {
                    RuleOutcome::new(RuleStatus::Error, format!("failed to evaluate list: {err}"))
                }
                None => RuleOutcome::new(RuleStatus::Skip, "rule skipped"),
            });
        }
        Some(RuleOutcome::new(RuleStatus::Pass, "rule passed"))
    }

    fn validate_elements(
        &self,
        ctx: &EvalContext,
        resource: &Value,
        foreach: &ForEachValidation,
        elements: &[Value],
        parent_element: Option<&Value>,
    ) -> (RuleOutcome, usize) {
        let mut applied = 0;
        for (index, element) in elements.iter().enumerate() {
            if element.is_null() {
                continue;
            }
            let counted = FOREACH_ELEMENTS.with(|count| {
                count.set(count.get() + 1);
                count.get()
            });
            if counted > MAX_FOREACH_ELEMENTS {
                return (
                    RuleOutcome::new(
                        RuleStatus::Error,
                        format!("failed to process foreach: more than {MAX_FOREACH_ELEMENTS} elements evaluated, nested loops included (polscan's bound; Kyverno sets none)"),
                    ),
                    applied,
                );
            }
            let mut element_ctx = ctx.clone();
            element_ctx.add_element(element.clone(), index, self.nesting);
            let scoped = match foreach.element_scope {
                Some(true) if !element.is_object() => {
                    return (
                        RuleOutcome::new(
                            RuleStatus::Error,
                            "failed to process foreach: cannot use elementScope=true foreach rules for elements that are not maps",
                        ),
                        applied,
                    )
                }
                Some(scope) => scope,
                None => element.is_object(),
            };
            let scoped_element = if scoped {
                Some(element)
            } else {
                parent_element
            };
            let nested = Validator {
                rule: self.rule,
                context_entries: &foreach.context,
                preconditions: foreach.preconditions.as_ref(),
                pattern: foreach.pattern.as_ref(),
                any_pattern: foreach.any_pattern.as_ref(),
                deny: foreach.deny.as_ref(),
                foreach: Some(foreach.foreach.as_deref().unwrap_or(&[])),
                nesting: self.nesting + 1,
            };
            let Some(outcome) = nested.validate(&mut element_ctx, resource, scoped_element) else {
                continue;
            };
            match outcome.status {
                RuleStatus::Skip => continue,
                RuleStatus::Pass => applied += 1,
                RuleStatus::Error
                    if outcome.message.contains("failed to evaluate preconditions") =>
                {
                    continue
                }
                status => {
                    return (
                        RuleOutcome::new(
                            status,
                            format!("validation failure: {}", outcome.message),
                        ),
                        applied,
                    )
                }
            }
        }
        (RuleOutcome::new(RuleStatus::Pass, ""), applied)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::context::NoClusterData;
    use crate::kyverno::policy::Policy;

    /// The outcome of the policy's one rule on `request`.
    fn outcome(validate: Value, request: Value) -> Option<(RuleStatus, String)> {
        let policy = Policy::from_document(&json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "p"},
            "spec": {"rules": [{"name": "r",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": validate}]}
        }))
        .expect("valid policy");
        let resource = request
            .get("object")
            .filter(|o| !o.is_null())
            .or_else(|| request.get("oldObject"))
            .cloned()
            .unwrap_or_default();
        let mut ctx = EvalContext::new(Arc::new(NoClusterData));
        ctx.add_variable("request", request);
        validate_rule(
            &policy.spec.rules[0],
            &mut ctx,
            &resource,
            &crate::cel::ScopeCache::default(),
        )
        .map(|o| (o.status, o.message))
    }

    /// verify44 F: Kyverno gives a pattern, an anyPattern or a podSecurity
    /// rule no result on a DELETE (validate_resource.go
    /// validateResourceWithRule, validate_pss.go), once the pattern is
    /// substituted: a substitution error still errors.
    #[test]
    fn a_pattern_or_pod_security_rule_gives_no_result_on_a_delete() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p1", "namespace": "default", "labels": {"owner": "a"}},
            "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": true}}]}});
        let delete = json!({"operation": "DELETE", "object": null, "oldObject": pod.clone()});
        let create = json!({"operation": "CREATE", "object": pod.clone()});
        let pattern = json!({"message": "m", "pattern": {"metadata": {"labels": {"owner": "b"}}}});
        let any_pattern =
            json!({"message": "m", "anyPattern": [{"metadata": {"labels": {"owner": "b"}}}]});
        let pss = json!({"podSecurity": {"level": "baseline", "version": "latest"}});
        for validate in [&pattern, &any_pattern, &pss] {
            assert_eq!(
                outcome(validate.clone(), delete.clone()),
                None,
                "{validate}"
            );
            let created = outcome(validate.clone(), create.clone());
            assert_eq!(created.map(|o| o.0), Some(RuleStatus::Fail), "{validate}");
        }
        let unresolved = json!({"pattern": {"metadata": {"labels": {"owner": "{{ request.object.metadata.missing }}"}}}});
        assert_eq!(
            outcome(unresolved, delete).map(|o| o.0),
            Some(RuleStatus::Error)
        );
    }
}
