//! Unit tests of policy validation: one document per check, sans IO. Each
//! starts from a valid policy and breaks one thing.

use serde_json::{json, Value};

use super::{check_kyverno_policy, Rejection, Stage};
use crate::cel::policies::admission_policy::AdmissionPolicy;
use crate::cel::policies::validating_policy::ValidatingPolicy;
use crate::kyverno::policy::Policy;
use crate::policy::PolicyError;

fn cluster_policy() -> Value {
    json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "require-team", "annotations": {"policies.kyverno.io/title": "Team"}},
        "spec": {
            "validationFailureAction": "Audit",
            "background": true,
            "rules": [{
                "name": "team-label",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {
                    "failureAction": "Audit",
                    "message": "a team label is required",
                    "pattern": {"metadata": {"labels": {"team": "?*"}}, "(anything)": {"goes": [1, true]}}
                }
            }]
        }
    })
}

/// The rejection of `document` after `edit`, which must exist.
fn rejected(edit: impl FnOnce(&mut Value)) -> Rejection {
    let mut document = cluster_policy();
    edit(&mut document);
    check_kyverno_policy(&document).expect_err("the edited policy is refused")
}

/// Sets (or adds) the field `pointer` names; its parent must exist.
fn set(document: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    document
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("parent object exists")
        .insert(key.to_string(), value);
}

fn rule(document: &mut Value) -> &mut serde_json::Map<String, Value> {
    document
        .pointer_mut("/spec/rules/0")
        .and_then(Value::as_object_mut)
        .expect("first rule")
}

#[test]
fn a_valid_policy_passes_and_preserved_subtrees_take_anything() {
    assert_eq!(check_kyverno_policy(&cluster_policy()), Ok(()));
    let mut document = cluster_policy();
    rule(&mut document).insert("preconditions".into(), json!({"whatever": {"x": 1}}));
    set(&mut document, "/metadata/labels", json!({"app": "x"}));
    document["status"] = json!({"ready": true, "anything": [1]});
    assert_eq!(check_kyverno_policy(&document), Ok(()));
}

#[test]
fn a_misspelled_field_is_an_unknown_field() {
    let rejection = rejected(|d| {
        let validate = d
            .pointer_mut("/spec/rules/0/validate")
            .and_then(Value::as_object_mut)
            .expect("validate");
        let pattern = validate.remove("pattern").expect("pattern");
        validate.insert("patern".into(), pattern);
    });
    assert_eq!(rejection.stage, Stage::UnknownField);
    assert_eq!(rejection.path(), "spec.rules[0].validate.patern");
    assert!(
        rejection.to_string().contains("unknown field"),
        "{rejection}"
    );
}

#[test]
fn unknown_fields_in_metadata_and_spec_are_found_too() {
    let rejection = rejected(|d| set(d, "/metadata/labelz", json!({})));
    assert_eq!(
        (rejection.stage, rejection.path()),
        (Stage::UnknownField, "metadata.labelz")
    );
    let rejection = rejected(|d| set(d, "/spec/backgrond", json!(true)));
    assert_eq!(rejection.path(), "spec.backgrond");
}

#[test]
fn match_with_a_misspelled_any_is_an_unknown_field() {
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/match",
            json!({"anyy": [{"resources": {"kinds": ["Pod"]}}]}),
        )
    });
    assert_eq!(rejection.stage, Stage::UnknownField);
    assert_eq!(rejection.path(), "spec.rules[0].match.anyy");
}

#[test]
fn a_policy_level_failure_action_outside_the_enum_is_a_schema_error() {
    let rejection = rejected(|d| set(d, "/spec/validationFailureAction", json!("Audti")));
    assert_eq!(rejection.stage, Stage::Schema);
    assert_eq!(rejection.path(), "spec.validationFailureAction");
    assert!(
        rejection
            .to_string()
            .contains("Unsupported value: \"Audti\""),
        "{rejection}"
    );
    // The policy level also takes the deprecated lower-case forms.
    let mut document = cluster_policy();
    set(
        &mut document,
        "/spec/validationFailureAction",
        json!("enforce"),
    );
    assert_eq!(check_kyverno_policy(&document), Ok(()));
}

#[test]
fn a_rule_level_failure_action_allows_only_audit_and_enforce() {
    for bad in ["Block", "audit"] {
        let rejection = rejected(|d| set(d, "/spec/rules/0/validate/failureAction", json!(bad)));
        assert_eq!(rejection.stage, Stage::Schema, "{bad}");
        assert_eq!(rejection.path(), "spec.rules[0].validate.failureAction");
    }
}

#[test]
fn wrong_types_are_schema_errors() {
    let rejection = rejected(|d| set(d, "/spec/background", json!("yes")));
    assert_eq!(
        (rejection.stage, rejection.path()),
        (Stage::Schema, "spec.background")
    );
    assert!(rejection.to_string().contains("boolean"), "{rejection}");
    let rejection = rejected(|d| set(d, "/spec/rules/0/match/any", json!("Pod")));
    assert_eq!(rejection.path(), "spec.rules[0].match.any");
}

#[test]
fn missing_required_fields_are_schema_errors() {
    let rejection = rejected(|d| {
        rule(d).remove("match");
    });
    assert_eq!(
        (rejection.stage, rejection.path()),
        (Stage::Schema, "spec.rules[0].match")
    );
    assert!(rejection.to_string().contains("Required value"));
    let rejection = rejected(|d| {
        rule(d).remove("name");
    });
    assert_eq!(rejection.path(), "spec.rules[0].name");
    let rejection = rejected(|d| {
        d.as_object_mut().expect("object").remove("spec");
    });
    assert_eq!(rejection.path(), "spec");
    let rejection = rejected(|d| {
        rule(d).insert("context".into(), json!([{"variable": {"value": 1}}]));
    });
    assert_eq!(rejection.path(), "spec.rules[0].context[0].name");
}

#[test]
fn an_empty_match_is_refused_by_policy_validation() {
    let rejection = rejected(|d| set(d, "/spec/rules/0/match", json!({})));
    assert_eq!(rejection.stage, Stage::Semantic);
    assert_eq!(rejection.path(), "spec.rules[0].match.resources.");
    assert!(rejection
        .to_string()
        .contains("match resources not specified"));
}

#[test]
fn a_match_block_without_kinds_is_refused() {
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/match",
            json!({"any": [{"resources": {"namespaces": ["prod"]}}]}),
        )
    });
    assert_eq!(rejection.stage, Stage::Semantic);
    assert_eq!(rejection.path(), "spec.rules[0].match");
    assert!(rejection.to_string().contains("kind"), "{rejection}");
}

#[test]
fn non_string_label_values_in_a_pattern_are_refused() {
    for (pointer, value) in [
        (
            "/spec/rules/0/validate/pattern/metadata/labels/team",
            json!(3),
        ),
        (
            "/spec/rules/0/validate/pattern/metadata/labels/team",
            Value::Null,
        ),
    ] {
        let rejection = rejected(|d| set(d, pointer, value.clone()));
        assert_eq!(rejection.stage, Stage::Semantic, "{value}");
        assert_eq!(
            rejection.path(),
            "spec.rules[0].validate.pattern.metadata.labels.team"
        );
        assert!(rejection
            .to_string()
            .contains("labels and annotations supports only string values"));
    }
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/validate/pattern/metadata",
            json!({"annotations": {"owner": null}}),
        )
    });
    assert_eq!(
        rejection.path(),
        "spec.rules[0].validate.pattern.metadata.annotations.owner"
    );
}

#[test]
fn non_string_values_under_the_pod_template_metadata_are_refused() {
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/validate/pattern",
            json!({"spec": {"template": {"metadata": {"labels": {"tier": 3}}}}}),
        )
    });
    assert_eq!(rejection.stage, Stage::Semantic);
    assert_eq!(
        rejection.path(),
        "spec.rules[0].validate.pattern.spec.template.metadata.labels.tier"
    );
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/validate/pattern",
            json!({"spec": {"template": {"metadata": {"annotations": {"owner": null}}}}}),
        )
    });
    assert_eq!(rejection.stage, Stage::Semantic);
    assert_eq!(
        rejection.path(),
        "spec.rules[0].validate.pattern.spec.template.metadata.annotations.owner"
    );
    let rejection = rejected(|d| {
        let validate = d
            .pointer_mut("/spec/rules/0/validate")
            .and_then(Value::as_object_mut)
            .expect("validate");
        validate.remove("pattern");
        validate.insert(
            "anyPattern".into(),
            json!([{"metadata": {"labels": {"a": "b"}}}, {"spec": {"template": {"metadata": {"annotations": {"n": 1}}}}}]),
        );
    });
    assert_eq!(
        rejection.path(),
        "spec.rules[0].validate.anyPattern[1].spec.template.metadata.annotations.n"
    );
    // Quoted numbers are strings.
    let mut document = cluster_policy();
    set(
        &mut document,
        "/spec/rules/0/validate/pattern/metadata/labels/team",
        json!("3"),
    );
    assert_eq!(check_kyverno_policy(&document), Ok(()));
}

#[test]
fn a_rule_needs_exactly_one_operation_and_one_validation_element() {
    let rejection = rejected(|d| {
        rule(d).remove("validate");
    });
    assert!(
        rejection.to_string().contains("No operation defined"),
        "{rejection}"
    );
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/validate/deny",
            json!({"conditions": {"any": []}}),
        )
    });
    assert_eq!(rejection.stage, Stage::Semantic);
    assert!(
        rejection.to_string().contains("only one of pattern"),
        "{rejection}"
    );
    let rejection = rejected(|d| set(d, "/spec/rules/0/validate", json!({"message": "m"})));
    assert!(rejection.to_string().contains("must be specified"));
}

#[test]
fn duplicate_rule_names_are_refused() {
    let rejection = rejected(|d| {
        let first = d.pointer("/spec/rules/0").cloned().expect("rule");
        d.pointer_mut("/spec/rules")
            .and_then(Value::as_array_mut)
            .expect("rules")
            .push(first);
    });
    assert_eq!(rejection.path(), "spec.rules[1].name");
    assert!(rejection.to_string().contains("Duplicate rule name"));
}

#[test]
fn background_policies_may_not_read_user_variables() {
    let with_user = |d: &mut Value| {
        set(
            d,
            "/spec/rules/0/validate/message",
            json!("{{ request.userInfo.username }} may not"),
        )
    };
    let rejection = rejected(with_user);
    assert_eq!(rejection.stage, Stage::Semantic);
    assert!(
        rejection
            .to_string()
            .contains("only select variables are allowed in background mode"),
        "{rejection}"
    );
    let mut document = cluster_policy();
    with_user(&mut document);
    set(&mut document, "/spec/background", json!(false));
    assert_eq!(check_kyverno_policy(&document), Ok(()));
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/match/any/0/subjects",
            json!([{"kind": "User", "name": "x"}]),
        )
    });
    assert!(rejection.to_string().contains("match/any[0]/subjects"));
}

#[test]
fn variables_are_not_allowed_in_match() {
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/match/any/0/resources/names",
            json!(["{{ request.object.metadata.name }}"]),
        )
    });
    assert_eq!(rejection.path(), "spec.rules[0].match");
}

#[test]
fn anchors_a_validate_pattern_may_not_use_are_refused() {
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/validate/pattern",
            json!({"metadata": {"+(labels)": {"a": "b"}}}),
        )
    });
    assert!(rejection.to_string().contains("unsupported anchor"));
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/validate/pattern",
            json!({"spec": {"^(containers)": {"name": "x"}}}),
        )
    });
    assert!(rejection.to_string().contains("existence anchor"));
}

#[test]
fn conditions_are_checked_for_operators_and_operations() {
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/validate",
            json!({"deny": {"conditions": {"any": [{"key": "a", "operator": "Equalz", "value": "b"}]}}}),
        )
    });
    assert_eq!(
        rejection.path(),
        "spec.rules[0].validate.deny.conditions.any[0].operator"
    );
    let rejection = rejected(|d| {
        rule(d).insert(
            "preconditions".into(),
            json!({"all": [{"key": "{{ request.operation }}", "operator": "In", "value": ["CREATE", "PATCH"]}]}),
        );
    });
    assert!(rejection.to_string().contains("'PATCH'"), "{rejection}");
    let rejection = rejected(|d| {
        rule(d).insert(
            "preconditions".into(),
            json!({"all": [{"key": "x", "operator": "Equals"}]}),
        );
    });
    assert!(rejection.to_string().contains("missing or misspelled"));
}

#[test]
fn context_entries_are_checked() {
    let rejection = rejected(|d| {
        rule(d).insert(
            "context".into(),
            json!([{"name": "request", "variable": {"value": 1}}]),
        );
    });
    assert!(rejection.to_string().contains("pre-defined variable"));
    let rejection = rejected(|d| {
        rule(d).insert(
            "context".into(),
            json!([{"name": "v", "variable": {"jmesPath": "a.[b"}}]),
        );
    });
    assert_eq!(rejection.path(), "spec.rules[0].context[0].jmesPath");
    let rejection = rejected(|d| {
        rule(d).insert(
            "context".into(),
            json!([{"name": "v", "variable": {"value": 1}, "configMap": {"name": "c", "namespace": "n"}}]),
        );
    });
    assert!(rejection.to_string().contains("exactly one of"));
}

#[test]
fn a_cluster_policy_with_a_namespace_is_refused() {
    let rejection = rejected(|d| set(d, "/metadata/namespace", json!("team")));
    assert_eq!(
        (rejection.stage, rejection.path()),
        (Stage::Semantic, "metadata.namespace")
    );
}

#[test]
fn policy_from_document_carries_the_stage() {
    let mut document = cluster_policy();
    set(&mut document, "/spec/rules/0/match", json!({}));
    let err = Policy::from_document(&document).expect_err("refused");
    assert_eq!(err.stage(), Stage::Semantic);
    let text = err.to_string();
    assert!(
        text.contains("require-team") && text.contains("spec.rules[0].match"),
        "{text}"
    );
    assert!(matches!(err, PolicyError::Rejected { .. }));
}

fn validating_policy() -> Value {
    json!({
        "apiVersion": "policies.kyverno.io/v1",
        "kind": "ValidatingPolicy",
        "metadata": {"name": "replicas"},
        "spec": {
            "validationActions": ["Audit"],
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["deployments"]
            }]},
            "validations": [{"expression": "object.spec.replicas <= 3", "message": "too many"}]
        }
    })
}

#[test]
fn validating_policy_schema_errors() {
    assert!(ValidatingPolicy::from_document(&validating_policy()).is_ok());
    let mut document = validating_policy();
    let validations = document["spec"]["validations"].take();
    document["spec"]["validation"] = validations;
    let err = ValidatingPolicy::from_document(&document).expect_err("typo");
    assert_eq!(err.stage(), Stage::UnknownField);
    assert!(err.to_string().contains("spec.validation"), "{err}");

    let mut document = validating_policy();
    document["spec"]["validationActions"] = json!(["Block"]);
    let err = ValidatingPolicy::from_document(&document).expect_err("enum");
    assert_eq!(err.stage(), Stage::Schema);
    assert!(
        err.to_string().contains("spec.validationActions[0]"),
        "{err}"
    );

    let mut document = validating_policy();
    document["spec"]["validations"] = json!([{"message": "no expression"}]);
    let err = ValidatingPolicy::from_document(&document).expect_err("required");
    assert!(
        err.to_string().contains("spec.validations[0].expression"),
        "{err}"
    );
}

#[test]
fn a_validating_policy_that_does_not_compile_is_refused() {
    let mut document = validating_policy();
    document["spec"]["validations"][0]["expression"] = json!("object.spec.replicas <");
    let err = ValidatingPolicy::from_document(&document).expect_err("does not compile");
    assert_eq!(err.stage(), Stage::Compile);
    let text = err.to_string();
    assert!(
        text.contains("replicas") && text.contains("spec.validations[0].expression"),
        "{text}"
    );
}

/// What cel-go's checker refuses, though the `cel` crate parses it, is
/// refused at load too (cel-go checker/errors.go), not an `error` result
/// per resource.
#[test]
fn a_validating_policy_cel_go_would_not_type_check_is_refused() {
    for (expression, message) in [
        (
            "orValue(1) == 1",
            "found no matching overload for 'orValue' applied to '(int)'",
        ),
        (
            "'x'.repeat(3) == 'xxx'",
            "undeclared reference to 'repeat' (in container '')",
        ),
        ("object.metadata.name.find('(') == ''", "of 'find'"),
    ] {
        let mut document = validating_policy();
        document["spec"]["validations"][0]["expression"] = json!(expression);
        let err = ValidatingPolicy::from_document(&document).expect_err(expression);
        assert_eq!(err.stage(), Stage::Compile, "{expression}");
        let text = err.to_string();
        assert!(
            text.contains(message) && text.contains("spec.validations[0].expression"),
            "{expression}: {text}"
        );
    }
}

fn admission_policy() -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "replicas"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["deployments"]
            }]},
            "validations": [{"expression": "object.spec.replicas <= 3"}]
        }
    })
}

#[test]
fn admission_policy_and_binding_schema_errors() {
    assert!(AdmissionPolicy::from_document(&admission_policy()).is_ok());
    let mut document = admission_policy();
    document["spec"]["failurePolicy"] = json!("Sometimes");
    let err = AdmissionPolicy::from_document(&document).expect_err("enum");
    assert_eq!(err.stage(), Stage::Schema);
    let mut document = admission_policy();
    document["spec"]["matchConstraint"] = json!({});
    let err = AdmissionPolicy::from_document(&document).expect_err("typo");
    assert_eq!(err.stage(), Stage::UnknownField);

    let binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "b"},
        "spec": {"policyName": "replicas", "validationActions": ["Deny"]}
    });
    assert!(AdmissionPolicy::binding_from_document(&binding).is_ok());
    let mut bad = binding.clone();
    bad["spec"]["validationActions"] = json!(["Reject"]);
    let err = AdmissionPolicy::binding_from_document(&bad).expect_err("enum");
    assert!(
        err.to_string().contains("spec.validationActions[0]"),
        "{err}"
    );
}

/// The compile errors of the admission policy whose one validation is
/// `expression`; it loads whatever they are.
fn admission_compile_errors(expression: &str) -> Vec<String> {
    let mut document = admission_policy();
    document["spec"]["validations"][0]["expression"] = json!(expression);
    AdmissionPolicy::from_document(&document)
        .expect("loads")
        .compile_errors()
}

#[test]
fn an_admission_policy_that_does_not_compile_still_loads_and_names_the_expression() {
    // The Kyverno CLI evaluates a VAP whose expression does not compile and
    // reports an error result (pkg/admissionpolicy/validate.go), so it is
    // not refused at load.
    let errors = admission_compile_errors("object.spec.replicas <");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("validations[0]"), "{errors:?}");
}

#[test]
fn an_admission_policy_calling_an_undeclared_function_names_it_at_load() {
    let errors = admission_compile_errors("or(optional.none()).hasValue()");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "validations[0].expression: compilation error: found no matching overload for 'or'"
        ),
        "{errors:?}"
    );
}

/// Kyverno evaluates a VAP in Kubernetes' CEL environment, which compiles
/// a constant `matches` pattern when it plans the program; a
/// ValidatingPolicy's compiler does not, and leaves it to evaluation.
#[test]
fn a_constant_invalid_matches_pattern_fails_a_vap_at_load_not_a_validating_policy() {
    let expression = "object.metadata.name.matches('(')";
    let errors = admission_compile_errors(expression);
    assert!(
        errors.len() == 1 && errors[0].contains("error parsing regexp"),
        "{errors:?}"
    );
    let mut document = validating_policy();
    document["spec"]["validations"][0]["expression"] = json!(expression);
    let policy = ValidatingPolicy::from_document(&document).expect("loads");
    assert_eq!(policy.compile_errors(), Vec::<String>::new());
}

#[test]
fn a_wildcard_kind_needs_background_off_and_metadata_only_patterns() {
    let wildcard =
        |d: &mut Value| set(d, "/spec/rules/0/match/any/0/resources/kinds", json!(["*"]));
    let rejection = rejected(wildcard);
    assert_eq!(rejection.path(), "spec.rules[0].match.any[0].kinds");
    assert!(
        rejection.to_string().contains("background mode"),
        "{rejection}"
    );

    let mut document = cluster_policy();
    wildcard(&mut document);
    set(&mut document, "/spec/background", json!(false));
    // The pattern reads more than metadata.
    let rejection = check_kyverno_policy(&document).expect_err("not metadata only");
    assert!(
        rejection.to_string().contains("metadata field"),
        "{rejection}"
    );
    set(
        &mut document,
        "/spec/rules/0/validate/pattern",
        json!({"metadata": {"labels": {"team": "?*"}}}),
    );
    assert_eq!(check_kyverno_policy(&document), Ok(()));
    set(
        &mut document,
        "/spec/rules/0/match/any/0/resources/kinds",
        json!(["*", "Pod"]),
    );
    let rejection = check_kyverno_policy(&document).expect_err("two kinds");
    assert!(rejection.to_string().contains("more than one kind"));
}

#[test]
fn a_rule_name_longer_than_63_characters_is_a_schema_error() {
    let rejection = rejected(|d| set(d, "/spec/rules/0/name", json!("r".repeat(64))));
    assert_eq!(
        (rejection.stage, rejection.path()),
        (Stage::Schema, "spec.rules[0].name")
    );
    let mut document = cluster_policy();
    set(&mut document, "/spec/rules/0/name", json!("r".repeat(63)));
    assert_eq!(check_kyverno_policy(&document), Ok(()));
}

#[test]
fn variables_must_be_defined_by_the_context_or_be_allowed() {
    let with_message = |message: &str| {
        let mut document = cluster_policy();
        set(
            &mut document,
            "/spec/rules/0/validate/message",
            json!(message),
        );
        document
    };
    let document = with_message("team {{ teams.owner }} is unknown");
    let rejection = check_kyverno_policy(&document).expect_err("undefined variable");
    assert_eq!(
        (rejection.stage, rejection.path()),
        (Stage::Semantic, "spec.rules[0]")
    );
    assert!(
        rejection
            .to_string()
            .contains("variable teams.owner must match"),
        "{rejection}"
    );
    // Defined by a context entry, or allowed in the background.
    let mut document = with_message("team {{ teams.owner }} on {{ request.object.metadata.name }}");
    rule(&mut document).insert(
        "context".into(),
        json!([{"name": "teams", "configMap": {"name": "teams", "namespace": "default"}}]),
    );
    let rejection =
        check_kyverno_policy(&document).expect_err("a ConfigMap gives data and metadata");
    assert!(rejection.to_string().contains("teams.owner"), "{rejection}");
    let mut document =
        with_message("team {{ teams.data.owner }} {{ images.containers }} {{ to_upper('x') }}");
    rule(&mut document).insert(
        "context".into(),
        json!([{"name": "teams", "configMap": {"name": "teams", "namespace": "default"}}]),
    );
    assert_eq!(check_kyverno_policy(&document), Ok(()));
    // An escaped variable is text.
    assert_eq!(
        check_kyverno_policy(&with_message("literal \\{{ nothing }}")),
        Ok(())
    );
    // A variable that is not JMESPath.
    let rejection = check_kyverno_policy(&with_message("{{ a.[ }}")).expect_err("bad JMESPath");
    assert!(
        rejection.to_string().contains("invalid JMESPath"),
        "{rejection}"
    );
    // A hostile query (filters nested 3000 deep, 12 kB) is named once,
    // cut to its first characters and its length.
    let deep = format!("{}b{}", "a[?".repeat(3000), "]".repeat(3000));
    let rejection =
        check_kyverno_policy(&with_message(&format!("{{{{ {deep} }}}}"))).expect_err("too deep");
    let said = rejection.to_string();
    assert!(said.len() < 600, "{} bytes: {said}", said.len());
    assert_eq!(said.matches("characters)").count(), 1, "{said}");
    assert!(
        said.contains("… (12001 characters)") && said.contains("holds 3000 operators"),
        "{said}"
    );
    // Outside the background, serviceAccountName is a reserved key.
    let mut document = with_message("{{ serviceAccountName }} may not");
    set(&mut document, "/spec/background", json!(false));
    assert_eq!(check_kyverno_policy(&document), Ok(()));
}

#[test]
fn element_variables_belong_inside_a_foreach() {
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/validate/message",
            json!("{{ element.name }} is wrong"),
        )
    });
    assert_eq!(rejection.path(), "spec.rules[0].validate.message");
    assert!(
        rejection.to_string().contains("outside of foreach"),
        "{rejection}"
    );
    let mut document = cluster_policy();
    set(
        &mut document,
        "/spec/rules/0/validate",
        json!({"foreach": [{"list": "request.object.spec.containers", "deny": {"conditions": {"any": [
            {"key": "{{ element.image }}", "operator": "Equals", "value": "nginx"}
        ]}}}]}),
    );
    assert_eq!(check_kyverno_policy(&document), Ok(()));
}

#[test]
fn an_explicitly_empty_kind_list_is_not_a_missing_description() {
    // Go decodes `kinds: []` to a non-nil slice: the description is not the
    // zero value, and the kinds check refuses the rule instead.
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/match/any/0/resources",
            json!({"kinds": []}),
        )
    });
    assert_eq!(rejection.path(), "spec.rules[0].match");
    let rejection = rejected(|d| {
        set(
            d,
            "/spec/rules/0/match/any/0/resources",
            json!({"name": ""}),
        )
    });
    assert_eq!(rejection.path(), "spec.rules[0].match.resources.");
}
