//! Tests for the entry point: conversion, errors, the fork's "Unknown key"
//! behaviour, Go-style `to_string`, and use from many threads.

use super::test_support::eval_on as eval;
use super::*;
use serde_json::json;

#[test]
fn searches_paths_and_builtins() {
    let data = json!({"a": {"b": [1, 2, 3]}});
    assert_eq!(eval("a.b[1]", &data), json!(2));
    assert_eq!(eval("length(a.b)", &data), json!(3));
    assert_eq!(eval("a.b[?@ > `1`]", &data), json!([2, 3]));
    assert_eq!(eval("max(a.b)", &data), json!(3));
}

#[test]
fn whole_float_results_become_integers() {
    let data = json!({"x": [1.5, 1.5], "y": 2.5});
    assert_eq!(eval("sum(x)", &data), json!(3));
    assert!(eval("sum(x)", &data).is_i64());
    assert_eq!(eval("y", &data), json!(2.5));
    assert_eq!(eval("avg(`[1, 2]`)", &data), json!(1.5));
}

#[test]
fn values_round_trip() {
    let data = json!({"s": "x", "n": null, "b": true, "f": 0.25, "i": -7,
                      "arr": [{"k": "v"}], "o": {"z": 1, "a": 2}});
    assert_eq!(eval("@", &data), data);
}

#[test]
fn missing_keys_on_a_path_are_not_found() {
    let data = json!({"request": {"object": {"metadata": {"name": "x", "labels": null}}}});
    let err = search("request.object.metadata.namespace", &data).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        err,
        JmespathError::NotFound {
            expression: "request.object.metadata.namespace".into(),
            key: "namespace".into()
        }
    );
    // The first missing key is named.
    let err = search("request.foo.bar", &data).unwrap_err();
    assert!(matches!(err, JmespathError::NotFound { ref key, .. } if key == "foo"));
    // A key present with a null value is not "unknown"; below null is null.
    assert_eq!(eval("request.object.metadata.labels", &data), Value::Null);
    assert_eq!(
        eval("request.object.metadata.labels.app", &data),
        Value::Null
    );
    // Non-objects give null, as in Go.
    assert_eq!(eval("request.object.metadata.name.x", &data), Value::Null);
    assert!(search("request.missing[0]", &data)
        .unwrap_err()
        .is_not_found());
}

#[test]
fn missing_keys_inside_functions_pipes_and_defaults_are_null() {
    let data = json!({"a": {"b": 1}});
    assert_eq!(eval("a.c || 'dflt'", &data), json!("dflt"));
    assert_eq!(eval("to_string(a.c)", &data), json!("null"));
    assert_eq!(eval("a.c == null", &data), json!(true));
    assert_eq!(eval("a | c", &data), Value::Null);
    // The pipe is found by byte offset, also after multi-byte text.
    assert_eq!(eval("\"\u{e4}\" | c", &json!({"ä": {"b": 1}})), Value::Null);
    assert_eq!(eval("[a.c]", &data), json!([null]));
    assert_eq!(eval("not_null(a.c, a.b)", &data), json!(1));
    // `&&` passes the right side's error up, as the fork does.
    assert!(search("a.b && a.c", &data).unwrap_err().is_not_found());
    assert_eq!(eval("a.c && a.b", &data), Value::Null);
}

#[test]
fn search_variable_reuses_a_converted_document() {
    let doc = to_variable(&json!({"a": [1, 2]}));
    assert_eq!(search_variable("a[0]", &doc).unwrap(), json!(1));
    assert_eq!(search_variable("length(a)", &doc).unwrap(), json!(2));
    assert!(search_variable("b.c", &doc).unwrap_err().is_not_found());
}

#[test]
fn parse_errors_name_the_expression() {
    let err = search("a.[", &json!({})).unwrap_err();
    assert!(matches!(err, JmespathError::Parse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("`a.[`"), "{text}");
    assert!(validate("a.b | length(@)").is_ok());
    assert!(validate("a.b |").is_err());
}

#[test]
fn unknown_functions_and_bad_arity_are_errors() {
    let err = search("nope(@)", &json!({})).unwrap_err();
    assert!(matches!(err, JmespathError::Runtime { .. }), "{err:?}");
    assert!(err.to_string().contains("nope"), "{err}");
    let err = search("to_upper('a', 'b')", &json!({})).unwrap_err();
    assert!(matches!(err, JmespathError::Function { .. }), "{err:?}");
    let err = search("to_upper(`1`)", &json!({})).unwrap_err();
    assert!(
        err.to_string()
            .contains("JMESPath function 'to_upper': argument #1 is not of type string"),
        "{err}"
    );
}

#[test]
fn to_string_encodes_like_go() {
    let data = json!({"n": 3, "f": 1.5, "o": {"b": "<&>", "a": [1, true, null]}});
    assert_eq!(eval("to_string(n)", &data), json!("3"));
    assert_eq!(eval("to_string(f)", &data), json!("1.5"));
    assert_eq!(eval("to_string(sum(`[1.5, 1.5]`))", &data), json!("3"));
    assert_eq!(
        eval("to_string(o)", &data),
        json!(r#"{"a":[1,true,null],"b":"\u003c\u0026\u003e"}"#)
    );
    assert_eq!(eval("to_string('x')", &data), json!("x"));
    assert!(search("to_string()", &data).is_err());
    assert_eq!(convert::go_float(1e21), "1e+21");
    assert_eq!(convert::go_float(1e-7), "1e-7");
    assert_eq!(convert::go_float(0.000001), "0.000001");
    assert_eq!(convert::go_float(-2.0), "-2");
}

#[test]
fn expression_references_are_not_results() {
    let err = search("&a", &json!({})).unwrap_err();
    assert!(matches!(err, JmespathError::Output { .. }), "{err:?}");
}

#[test]
fn kyverno_functions_are_all_registered() {
    let names = kyverno_function_names();
    for name in [
        "compare",
        "equal_fold",
        "replace",
        "replace_all",
        "to_upper",
        "to_lower",
        "trim",
        "trim_prefix",
        "split",
        "regex_replace_all",
        "regex_replace_all_literal",
        "regex_match",
        "pattern_match",
        "label_match",
        "to_boolean",
        "add",
        "sum",
        "subtract",
        "multiply",
        "divide",
        "modulo",
        "round",
        "base64_decode",
        "base64_encode",
        "time_since",
        "time_now",
        "time_now_utc",
        "path_canonicalize",
        "truncate",
        "semver_compare",
        "parse_json",
        "parse_yaml",
        "lookup",
        "items",
        "object_from_lists",
        "random",
        "x509_decode",
        "time_to_cron",
        "time_add",
        "time_parse",
        "time_utc",
        "time_diff",
        "time_before",
        "time_after",
        "time_between",
        "time_truncate",
        "image_normalize",
        "is_external_url",
        "sha256",
        "sha1",
        "md5",
    ] {
        assert!(names.contains(&name), "{name} is not registered");
    }
    assert_eq!(names.len(), 51);
}

#[test]
fn is_usable_from_many_threads() {
    use rayon::prelude::*;
    let data = json!({"items": (0..50).collect::<Vec<_>>()});
    let results: Vec<Value> = (0..200)
        .into_par_iter()
        .map(|i| {
            let expr = format!("add(items[{}], `1`)", i % 50);
            search(&expr, &data).unwrap_or(Value::Null)
        })
        .collect();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(*r, json!((i % 50) + 1));
    }
}

#[test]
fn corpus_shapes_evaluate() {
    let kubeconfig = "clusters:\n- cluster:\n    server: https://k8s.example:6443\n";
    let data = json!({
        "request": {"object": {"status": {"containerStatuses": [
            {"restartCount": 2}, {"restartCount": 3}]}}},
        "kubeconfigData": format!("value: {}", base64_encode_for_test(kubeconfig)),
    });
    assert_eq!(
        eval(
            "sum(request.object.status.containerStatuses[*].restartCount || [`0`])",
            &data
        ),
        json!(5)
    );
    assert_eq!(
        eval(
            "sum(request.object.missing[*].restartCount || [`0`])",
            &data
        ),
        json!(0)
    );
    // `|| `0`` hands sum a number, which Kyverno's signature rejects too.
    let err = search("sum(request.object.missing || `0`)", &data).unwrap_err();
    assert!(matches!(err, JmespathError::Function { .. }), "{err:?}");
    assert_eq!(eval("divide('2Gi', '1Gi')", &data), json!(2));
    assert_eq!(eval("divide('0', '1m')", &data), json!(0));
    let hour = eval(
        "time_now_utc().time_to_cron(@).split(@,' ') | [1].to_number(@)",
        &data,
    );
    assert!((0..24).contains(&hour.as_i64().unwrap()), "{hour}");
    assert_eq!(
        eval(
            "kubeconfigData | parse_yaml(@).value | base64_decode(@) | parse_yaml(@).clusters[0].cluster.server",
            &data
        ),
        json!("https://k8s.example:6443")
    );
}

fn base64_encode_for_test(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn flatten_and_filter_projections_swallow_errors_of_their_input() {
    // Kyverno's nginx-ingress restrict-annotations policy on an object
    // without annotations: the fork yields null instead of a type error.
    let data = json!({"metadata": {"name": "x"}});
    assert_eq!(
        eval(
            "metadata.annotations.values(@)[].regex_match('a', @)",
            &data
        ),
        Value::Null
    );
    assert_eq!(eval("metadata.missing[?x == `1`]", &data), Value::Null);
    assert!(search("metadata.missing.x", &data)
        .unwrap_err()
        .is_not_found());
}

/// `parse_yaml` of a field a namespace user controls: 200,000 nested
/// mappings are refused at once instead of costing serde_yaml minutes.
#[test]
fn parse_yaml_refuses_deep_nesting_at_once() {
    let depth = 200_000;
    let data = json!({"v": format!("{}{}", "{a: ".repeat(depth), "}".repeat(depth))});
    let message = super::test_support::fails_on("parse_yaml(v)", &data);
    assert!(message.contains("nested deeper than 128"), "{message}");
    assert_eq!(eval("parse_yaml('a: [1]').a[0]", &json!({})), json!(1));
}

/// An expression holding more than 256 operators is refused before it is
/// parsed: 6,000 nested filters overflowed the stack (a SIGSEGV the
/// jmespath fuzz target found after 9.2M executions, which aborts the
/// process). At the bound, on the stack polscan evaluates on, it runs.
#[test]
fn expressions_past_the_operator_bound_are_refused_and_those_at_it_run() {
    std::thread::Builder::new()
        .stack_size(crate::nesting::EVALUATION_STACK)
        .spawn(|| {
            let mut data = json!({"b": 1});
            for _ in 0..256 {
                data = json!({"a": [data]});
            }
            let filters = |n: usize| format!("{}b{}", "a[?".repeat(n), "]".repeat(n));
            let found = search(&filters(256), &data).expect("at the bound");
            assert!(found.is_array(), "{found}");
            // `b` is null at the top: an odd number of `!` gives true.
            assert_eq!(
                search(&format!("{}b", "!".repeat(255)), &data),
                Ok(json!(true))
            );
            let err = search(&filters(6000), &data).expect_err("past the bound");
            assert!(matches!(err, JmespathError::Parse { .. }), "{err:?}");
            assert!(
                err.to_string()
                    .contains("holds 6000 operators, more than the 256"),
                "{err}"
            );
            // The 24 kB expression is quoted by its first characters.
            assert!(err.to_string().len() < 300, "{err}");
            assert_eq!(err.expression(), filters(6000));
        })
        .expect("thread")
        .join()
        .expect("no panic");
}

/// red22 F6: context variables each joining the last one sixteen times
/// aborted the process a few steps on; a join, a `to_string` or a result
/// over the bound is an error of its expression instead.
#[test]
fn a_value_over_the_bound_is_an_error_not_an_abort() {
    let big = "x".repeat(2 << 20);
    let data = json!({"a": big});
    let sixteen = vec!["a"; 16].join(",");
    for expression in [
        format!("join('', [{sixteen}])"),
        format!("to_string([{sixteen}])"),
        format!("[{sixteen}]"),
        "to_upper(join('-', [a, a]))".to_string(),
    ] {
        match search(&expression, &data) {
            Err(err) => assert!(
                err.to_string().contains("larger than 16 MiB"),
                "{expression}: {err}"
            ),
            Ok(value) if expression.starts_with("to_upper") => {
                assert_eq!(value.as_str().map(str::len), Some((4 << 20) + 1))
            }
            Ok(_) => panic!("{expression}: not bounded"),
        }
    }
    // Within the bound, the same expressions answer.
    let small = json!({"a": "y".repeat(1 << 10)});
    let joined = search(&format!("join('', [{sixteen}])"), &small).expect("within");
    assert_eq!(joined.as_str().map(str::len), Some(16 << 10));
}

/// hunt27 F1, F2, F11: multi-selects of `@` build 10^9 leaves from a few
/// shared nodes; projections, flattens and `==` over them did the work of
/// every leaf (gigabytes, an abort; minutes). Each is now an error once
/// the evaluation passes its bound; ordinary expressions are untouched.
#[test]
fn work_over_shared_values_is_bounded() {
    let ten = "[@,@,@,@,@,@,@,@,@,@]";
    let tree = format!("`1` | {}", [ten; 9].join(" | "));
    let flat = format!(
        "`[1,2,3,4,5,6,7,8,9,10]` | {}",
        vec![format!("{ten}[]"); 8].join(" | ")
    );
    let started = std::time::Instant::now();
    for expression in [
        format!("length({tree} | [*][*][*][*][*][*][*][*][*].x)"),
        format!("length({flat})"),
        format!("({tree} | {ten}) == ({tree} | {ten})"),
    ] {
        let error = search(&expression, &json!({})).expect_err(&expression);
        let text = error.to_string();
        assert!(
            text.contains("passed its bound") || text.contains("larger than"),
            "{text}"
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(
        search("length(`[1,2,3]` | [@,@][])", &json!({})).expect("small"),
        json!(6)
    );
    assert_eq!(
        search("`[1,2]` == `[1,2]`", &json!({})).expect("small"),
        json!(true)
    );
}

/// hunt27 F14, F26, F27: split, replace and replace_all built results past
/// the value bound before it was checked (gigabytes, an abort), and trim
/// scanned its cutset per character (minutes); ordinary calls unchanged.
#[test]
fn string_functions_are_bounded_before_building() {
    let big = "a".repeat(4 << 20);
    let data = json!({"s": big});
    for expression in [
        "split(s, '')",
        "replace_all(s, 'a', 'aaaaaaaa')",
        "replace(s, '', 'xyz', `-1`)",
        // hunt27 F15: an empty match between every character.
        "regex_replace_all('x*', s, 'yyyyyyyy')",
        "regex_replace_all_literal('', s, 'yyyyyyyy')",
        "regex_replace_all('(a)', s, '$1$1$1$1$1')",
    ] {
        let error = search(expression, &data).expect_err(expression);
        assert!(
            error.to_string().contains("larger than"),
            "{expression}: {error}"
        );
    }
    // 4M empty matches, each given 64 KiB: 256 GB once built.
    let wide = json!({"s": data["s"].clone(), "r": "y".repeat(64 << 10)});
    for expression in [
        "regex_replace_all('x*', s, r)",
        "regex_replace_all_literal('', s, r)",
    ] {
        let error = search(expression, &wide).expect_err(expression);
        assert!(
            error.to_string().contains("larger than"),
            "{expression}: {error}"
        );
    }
    let started = std::time::Instant::now();
    let cut = json!({"s": "b".repeat(1 << 20), "c": "a".repeat(1 << 20)});
    assert_eq!(
        search("length(trim(s, c))", &cut).expect("trims"),
        json!(1 << 20)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(
        search("split('a,b', ',')", &json!({})).expect("splits"),
        json!(["a", "b"])
    );
    assert_eq!(
        search("replace_all('aXa', 'a', 'b')", &json!({})).expect("replaces"),
        json!("bXb")
    );
    // As replace_all: empty matches between characters and at the ends.
    assert_eq!(
        search("regex_replace_all('x*', 'abc', '-')", &json!({})).expect("replaces"),
        json!("-a-b-c-")
    );
    assert_eq!(
        search("regex_replace_all_literal('b+', 'abbcb', '$1')", &json!({})).expect("replaces"),
        json!("a$1c$1")
    );
    assert_eq!(
        search("replace('aaa', 'a', 'b', `2`)", &json!({})).expect("replaces"),
        json!("bba")
    );
    assert_eq!(
        search("trim('xxhixx', 'x')", &json!({})).expect("trims"),
        json!("hi")
    );
}

/// hunt27 F31: 12,001 conditions, each under one evaluation's bound, ran
/// for minutes; a rule's evaluations share a bound, and past it each one
/// fails at once. Outside a rule nothing is shared.
#[test]
fn a_rule_s_evaluations_share_a_bound() {
    let data = json!({"items": (0..100).collect::<Vec<_>>()});
    let (outcomes, after) = super::within_rule_budget(1_000, || {
        let outcomes: Vec<bool> = (0..30)
            .map(|_| search("length(items[*])", &data).is_ok())
            .collect();
        let after = search("`1`", &data);
        (outcomes, after)
    });
    assert!(outcomes[0], "the first evaluations fit");
    assert!(!outcomes[29], "{outcomes:?}");
    let error = after.expect_err("past the bound").to_string();
    assert!(
        error.contains("the rule's evaluations passed their bound of 1000 steps together"),
        "{error}"
    );
    // The bound ends with the rule.
    for _ in 0..30 {
        assert!(search("length(items[*])", &data).is_ok());
    }
}

/// A regex too large to cache is compiled for every element a projection
/// gives it: each compile counts, so the rule's bound ends the loop.
#[test]
fn large_regex_compiles_count_as_work() {
    let data = json!({"items": vec!["a"; 40]});
    let outcome = super::within_rule_budget(50_000, || {
        search(r"items[?regex_match('\pL{500}', @)]", &data)
    });
    let error = outcome.expect_err("past the rule's bound").to_string();
    assert!(
        error.contains("the rule's evaluations passed their bound of 50000 steps together"),
        "{error}"
    );
    // A small pattern is cached and counts as an ordinary step.
    let small = super::within_rule_budget(50_000, || search("items[?regex_match('a', @)]", &data));
    assert!(small.is_ok(), "{small:?}");
}
