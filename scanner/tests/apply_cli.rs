//! `polscan apply` with the Kyverno CLI's spellings, run as a binary:
//! policies from a piped stdin (`-p -`) and as arguments, comma lists,
//! `--policy-report`, `--table`, `--audit-warn`, `-e`, `-f`, `-u`, and the
//! exit code of a usage error against that of an incomplete audit.

mod common;

use std::path::Path;
use std::process::Output;

use common::{polscan, run, stderr, stdout, Files};

const AUDITED: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: needs-app}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: app\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {message: needs an app label, pattern: {metadata: {labels: {app: '?*'}}}}\n";

const ENFORCED: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: needs-team}\nspec:\n  validationFailureAction: Enforce\n  rules:\n  - name: team\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {message: needs a team label, pattern: {metadata: {labels: {team: '?*'}}}}\n";

const BARE_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: bare, namespace: ns}\n";

const LABELLED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: labelled, namespace: ns, labels: {app: a, team: t}}\n";

/// `polscan apply args` in `cwd`, with `stdin` (`None`: empty).
fn apply(args: &[&str], stdin: Option<&str>, cwd: &Path) -> Output {
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    run(&all, stdin, cwd)
}

/// (policy, resource name, result) of every result in `-o json` reports.
fn results(output: &Output) -> Vec<(String, String, String)> {
    let list: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(output)));
    let mut found = Vec::new();
    for report in list["items"].as_array().into_iter().flatten() {
        for result in report["results"].as_array().into_iter().flatten() {
            // Kyverno stamps results in whole seconds.
            assert_eq!(result["timestamp"]["nanos"], 0, "{result}");
            found.push((
                result["policy"].as_str().unwrap_or("").to_string(),
                // Per-resource reports name the resource in `scope` only.
                report["scope"]["name"].as_str().unwrap_or("").to_string(),
                result["result"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    found.sort();
    found
}

fn triple(policy: &str, resource: &str, result: &str) -> (String, String, String) {
    (policy.into(), resource.into(), result.into())
}

#[test]
fn helm_style_pipe_into_policy_stdin() {
    let files = Files::new();
    files.write(
        "manifests/pods.yaml",
        &format!("{BARE_POD}---\n{LABELLED_POD}"),
    );
    // Two policies in one multi-document stream on stdin.
    let output = apply(
        &["-p", "-", "-r", "manifests/", "-o", "json"],
        Some(&format!("{AUDITED}---\n{ENFORCED}")),
        files.dir(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        results(&output),
        [
            triple("needs-app", "bare", "fail"),
            triple("needs-app", "labelled", "pass"),
            triple("needs-team", "bare", "fail"),
            triple("needs-team", "labelled", "pass"),
        ]
    );
}

/// walk28 F16: `cat a.yaml b.yaml | polscan apply -p -` with files
/// without `---` is one document whose keys repeat: the last policy is
/// used (as kubectl and the Kyverno CLI read it), and the stream is named
/// with the key and line that lost the first.
#[test]
fn policies_joined_without_a_separator_are_named() {
    let files = Files::new();
    files.write(
        "manifests/pods.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bare, namespace: ns, labels: {x: a, x: b}}\n",
    );
    let output = apply(
        &["-p", "-", "-r", "manifests/", "-o", "json"],
        Some(&format!("{AUDITED}{ENFORCED}")),
        files.dir(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(results(&output), [triple("needs-team", "bare", "fail")]);
    let err = stderr(&output);
    assert!(
        err.contains(
            "key `apiVersion` is written twice in one mapping at line 10 (document 1) and 3 more"
        ) && err.contains("lose all but their last object"),
        "{err}"
    );
    // A resource file is read twice (its namespaces first): said once,
    // and a key repeated inside an object is no joined file (verify29).
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("pods.yaml: key `x`"))
        .collect();
    assert_eq!(said.len(), 1, "{err}");
    assert!(!said[0].contains("joined"), "{err}");
}

/// verify29 V14: a kyverno-test.yaml with `results:` twice tested the
/// second list alone, without a word.
#[test]
fn a_test_file_with_a_key_twice_is_named() {
    let files = Files::new();
    files.write("t/policy.yaml", AUDITED);
    files.write("t/resources.yaml", BARE_POD);
    files.write(
        "t/kyverno-test.yaml",
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\nresources: [resources.yaml]\nresults:\n- {policy: needs-app, rule: app, resources: [bare], kind: Pod, result: pass}\nresults:\n- {policy: needs-app, rule: app, resources: [bare], kind: Pod, result: fail}\n",
    );
    let output = run(&["test", "t"], None, files.dir());
    let err = stderr(&output);
    assert!(
        err.contains("kyverno-test.yaml: key `results` is written twice in one mapping at line 8 (document 1)"),
        "{err}"
    );
}

#[test]
fn resources_from_stdin() {
    let files = Files::new();
    let policy = files.write("policy.yaml", AUDITED);
    let output = apply(
        &[&policy, "-r", "-", "-o", "json"],
        Some(&format!("{BARE_POD}---\n{LABELLED_POD}")),
        files.dir(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        results(&output),
        [
            triple("needs-app", "bare", "fail"),
            triple("needs-app", "labelled", "pass"),
        ]
    );
}

#[test]
fn positional_policies_and_comma_lists() {
    let files = Files::new();
    files.write("a.yaml", AUDITED);
    files.write("more/b.yaml", ENFORCED);
    files.write("bare.yaml", BARE_POD);
    files.write("labelled.yaml", LABELLED_POD);
    let summary = |args: &[&str]| {
        let output = apply(args, None, files.dir());
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        stdout(&output)
    };
    let expected = "pass: 2  fail: 2  warn: 0  error: 0  skip: 0  (2 policies, 2 resources)\n";
    for args in [
        vec![
            "a.yaml",
            "more/",
            "-r",
            "bare.yaml,labelled.yaml",
            "-o",
            "summary",
        ],
        vec![
            "a.yaml",
            "-p",
            "more/",
            "-r",
            "bare.yaml",
            "-r",
            "labelled.yaml",
            "-o",
            "summary",
        ],
        vec![
            "-p",
            "a.yaml,more/b.yaml",
            "--resources",
            "bare.yaml,labelled.yaml",
            "-o",
            "summary",
        ],
        // A second word after -r is a policy path, as in kyverno apply.
        vec![
            "-r",
            "bare.yaml,labelled.yaml",
            "a.yaml",
            "more/",
            "-o",
            "summary",
        ],
    ] {
        assert_eq!(summary(&args), expected, "{args:?}");
    }
}

#[test]
fn policy_report_prints_the_reports() {
    let files = Files::new();
    files.write("policy.yaml", AUDITED);
    files.write("pod.yaml", BARE_POD);
    let report = apply(
        &["policy.yaml", "-r", "pod.yaml", "--policy-report"],
        None,
        files.dir(),
    );
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    let text = stdout(&report);
    let documents: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            serde::Deserialize::deserialize(doc).unwrap_or_else(|e| panic!("yaml ({e}): {text}"))
        })
        .collect();
    assert_eq!(documents.len(), 1, "{text}");
    assert_eq!(documents[0]["kind"].as_str(), Some("PolicyReport"));
    assert_eq!(documents[0]["results"][0]["result"].as_str(), Some("fail"));
    // The same as -o yaml, but for the timestamps.
    let yaml = apply(
        &["policy.yaml", "-r", "pod.yaml", "-o", "yaml"],
        None,
        files.dir(),
    );
    let without_time = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.contains("seconds:") && !line.contains("nanos:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(without_time(&text), without_time(&stdout(&yaml)));
    let json = apply(
        &[
            "policy.yaml",
            "-r",
            "pod.yaml",
            "--policy-report",
            "-o",
            "json",
        ],
        None,
        files.dir(),
    );
    assert_eq!(results(&json), [triple("needs-app", "bare", "fail")]);
}

#[test]
fn kyverno_table() {
    let files = Files::new();
    files.write("policies.yaml", &format!("{AUDITED}---\n{ENFORCED}"));
    files.write("pods.yaml", &format!("{BARE_POD}---\n{LABELLED_POD}"));
    let output = apply(
        &["policies.yaml", "-r", "pods.yaml", "--table"],
        None,
        files.dir(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON"]
    );
    assert_eq!(rows[1], ["1", "needs-app", "app", "ns/Pod/bare", "Fail"]);
    assert_eq!(rows[2], ["2", "needs-team", "team", "ns/Pod/bare", "Fail"]);
    assert_eq!(
        rows[3],
        ["3", "needs-app", "app", "ns/Pod/labelled", "Pass"]
    );
    assert_eq!(rows.len(), 5, "{text}");
    let detailed = apply(
        &[
            "policies.yaml",
            "-r",
            "pods.yaml",
            "-t",
            "--detailed-results",
        ],
        None,
        files.dir(),
    );
    let text = stdout(&detailed);
    assert!(
        text.lines().next().is_some_and(|l| l.ends_with("MESSAGE")),
        "{text}"
    );
    assert!(text.contains("needs an app label"), "{text}");
}

#[test]
fn audit_warn_turns_audit_failures_into_warnings() {
    let files = Files::new();
    files.write("audited.yaml", AUDITED);
    files.write("enforced.yaml", ENFORCED);
    files.write("pod.yaml", BARE_POD);
    let run = |args: &[&str]| apply(args, None, files.dir());
    let plain = run(&["audited.yaml", "-r", "pod.yaml", "--fail-on", "fail"]);
    assert_eq!(plain.status.code(), Some(1), "{}", stdout(&plain));
    let warned = run(&[
        "audited.yaml",
        "-r",
        "pod.yaml",
        "--fail-on",
        "fail",
        "--audit-warn",
    ]);
    assert_eq!(warned.status.code(), Some(0), "{}", stdout(&warned));
    assert!(
        stdout(&warned).contains("pass: 0  fail: 0  warn: 1"),
        "{}",
        stdout(&warned)
    );
    let report = run(&[
        "audited.yaml",
        "enforced.yaml",
        "-r",
        "pod.yaml",
        "--audit-warn",
        "-o",
        "json",
    ]);
    assert_eq!(
        results(&report),
        [
            triple("needs-app", "bare", "warn"),
            triple("needs-team", "bare", "fail"),
        ]
    );
    let table = run(&["audited.yaml", "-r", "pod.yaml", "--audit-warn", "-t"]);
    assert!(
        stdout(&table).contains("ns/Pod/bare  Warn"),
        "{}",
        stdout(&table)
    );
}

#[test]
fn exceptions_values_and_userinfo_files() {
    let files = Files::new();
    files.write("policy.yaml", AUDITED);
    files.write("pod.yaml", BARE_POD);
    files.write(
        "exception.yaml",
        "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: bare-ok, namespace: ns}\nspec:\n  exceptions: [{policyName: needs-app, ruleNames: [app]}]\n  match: {any: [{resources: {kinds: [Pod], names: [bare]}}]}\n",
    );
    let excepted = apply(
        &[
            "policy.yaml",
            "-r",
            "pod.yaml",
            "-e",
            "exception.yaml",
            "-o",
            "json",
        ],
        None,
        files.dir(),
    );
    assert_eq!(excepted.status.code(), Some(0), "{}", stderr(&excepted));
    assert_eq!(results(&excepted), [triple("needs-app", "bare", "skip")]);
    let not_an_exception = apply(
        &["policy.yaml", "-r", "pod.yaml", "-e", "policy.yaml"],
        None,
        files.dir(),
    );
    assert_eq!(not_an_exception.status.code(), Some(2));
    assert!(stderr(&not_an_exception).contains("policy exception type not supported"));

    files.write(
        "named.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: forbidden-name}\nspec:\n  rules:\n  - name: name\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate:\n      deny: {conditions: {any: [{key: '{{ request.operation }}', operator: Equals, value: DELETE}]}}\n",
    );
    files.write(
        "values.yaml",
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Values\nmetadata: {name: values}\nglobalValues: {request.operation: DELETE}\n",
    );
    for flag in ["-f", "--values-file", "--values"] {
        let output = apply(
            &[
                "named.yaml",
                "-r",
                "pod.yaml",
                flag,
                "values.yaml",
                "-o",
                "json",
            ],
            None,
            files.dir(),
        );
        assert_eq!(
            results(&output),
            [triple("forbidden-name", "bare", "fail")],
            "{flag}"
        );
    }
    // Without the values the operation is CREATE.
    let output = apply(
        &["named.yaml", "-r", "pod.yaml", "-o", "json"],
        None,
        files.dir(),
    );
    assert_eq!(results(&output), [triple("forbidden-name", "bare", "pass")]);

    files.write(
        "admins.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: admins-exempt}\nspec:\n  background: false\n  rules:\n  - name: app\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    exclude: {any: [{clusterRoles: [cluster-admin]}]}\n    validate: {pattern: {metadata: {labels: {app: '?*'}}}}\n",
    );
    files.write(
        "admin.yaml",
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: UserInfo\nmetadata: {name: admin}\nclusterRoles: [cluster-admin]\nuserInfo: {username: alice}\n",
    );
    let base = [
        "admins.yaml",
        "-r",
        "pod.yaml",
        "--include-non-background",
        "-o",
        "json",
    ];
    // Without the flag the policy is named as left out, and the flag given.
    let skipped = apply(
        &["admins.yaml", "-r", "pod.yaml", "-o", "json"],
        None,
        files.dir(),
    );
    assert!(results(&skipped).is_empty(), "{}", stdout(&skipped));
    assert!(
        stderr(&skipped).contains("admins-exempt has background: false")
            && stderr(&skipped).contains("polscan apply --include-non-background"),
        "{}",
        stderr(&skipped)
    );
    let anyone = apply(&base, None, files.dir());
    assert_eq!(results(&anyone), [triple("admins-exempt", "bare", "fail")]);
    let mut as_admin = base.to_vec();
    as_admin.extend(["-u", "admin.yaml"]);
    let admin = apply(&as_admin, None, files.dir());
    assert_eq!(admin.status.code(), Some(0), "{}", stderr(&admin));
    assert!(results(&admin).is_empty(), "{}", stdout(&admin));
}

#[test]
fn usage_errors_exit_64_apart_from_an_incomplete_audit() {
    let files = Files::new();
    files.write("policy.yaml", AUDITED);
    files.write("pod.yaml", BARE_POD);
    let run = |args: &[&str], stdin: Option<&str>| apply(args, stdin, files.dir());

    let unknown = run(&["policy.yaml", "-r", "pod.yaml", "--cluster"], None);
    assert_eq!(unknown.status.code(), Some(64));
    let text = stderr(&unknown);
    assert!(
        text.contains("'--cluster'") && !text.contains("similar"),
        "{text}"
    );

    let typo = run(&["policy.yaml", "-r", "pod.yaml", "--tabel"], None);
    assert_eq!(typo.status.code(), Some(64));
    assert!(stderr(&typo).contains("'--table'"), "{}", stderr(&typo));

    let both = run(&["-", "-r", "-"], Some(AUDITED));
    assert_eq!(both.status.code(), Some(64));
    assert!(
        stderr(&both)
            .contains("a stdin pipe can be used for either policies or resources, not both"),
        "{}",
        stderr(&both)
    );

    let missing = run(&["-r", "pod.yaml"], None);
    assert_eq!(missing.status.code(), Some(64));

    // An invalid policy: the audit ran but is incomplete.
    files.write("broken.yaml", "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: broken}\nspec: {rules: [{name: r, match: {any: nope}}]}\n");
    let incomplete = run(&["broken.yaml", "-r", "pod.yaml"], None);
    assert_eq!(incomplete.status.code(), Some(2), "{}", stderr(&incomplete));
    // Said once as an error, not only as the policy's warning.
    assert!(
        stderr(&incomplete)
            .contains("error: the audit is incomplete: 1 invalid policy was skipped"),
        "{}",
        stderr(&incomplete)
    );
    let unreadable = run(&["policy.yaml", "-r", "missing.yaml"], None);
    assert_eq!(unreadable.status.code(), Some(2));
    assert!(!files.path("missing.yaml").exists());

    let help = run(&["--help"], None);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        stdout(&help).contains("64  usage error"),
        "{}",
        stdout(&help)
    );
}

#[test]
fn audit_warn_says_why_a_shown_warning_still_fails_the_run() {
    let files = Files::new();
    files.write(
        "vpol.yaml",
        "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: needs-app-label}\nspec:\n  validationActions: [Audit]\n  matchConstraints:\n    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}]\n  validations:\n  - expression: \"has(object.metadata.labels) && 'app' in object.metadata.labels\"\n    message: the app label is missing\n",
    );
    files.write("pod.yaml", BARE_POD);
    let output = apply(
        &[
            "vpol.yaml",
            "-r",
            "pod.yaml",
            "--audit-warn",
            "--fail-on",
            "fail",
        ],
        None,
        files.dir(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("fail: 0  warn: 1"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("--fail-on counts the failures --audit-warn shows as warnings"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_malformed_scan_flag_is_a_usage_error_before_any_connection() {
    let files = Files::new();
    let scan = polscan([
        "scan",
        "--kubeconfig",
        "no-such-kubeconfig",
        "--last-run-configmap",
        "justname",
    ])
    .cwd(files.dir())
    .output();
    assert_eq!(scan.status.code(), Some(64), "{}", stderr(&scan));
    assert!(
        stderr(&scan).contains("--last-run-configmap \"justname\": expected <namespace>/<name>"),
        "{}",
        stderr(&scan)
    );
}

/// A message echoing a resource's value carries what anyone who creates
/// the object wrote: an escape sequence in it reaches the terminal as a
/// visible `\u{1b}`, in the grouped table and in the Kyverno-style
/// detailed table; the JSON report keeps the text as it is.
#[test]
fn escape_sequences_in_messages_do_not_reach_the_terminal() {
    let files = Files::new();
    files.write(
        "policy.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: echo}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: echo\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {message: 'note {{ request.object.metadata.annotations.note }}', pattern: {metadata: {labels: {app: '?*'}}}}\n",
    );
    files.write(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns, annotations: {note: \"x\\e]0;owned\\ay\\e[2J\"}}\n",
    );
    for args in [
        vec!["policy.yaml", "--resource", "pod.yaml"],
        vec![
            "policy.yaml",
            "--resource",
            "pod.yaml",
            "-t",
            "--detailed-results",
        ],
    ] {
        let output = apply(&args, None, files.dir());
        let text = stdout(&output);
        assert!(
            !text.contains('\x1b') && !text.contains('\x07'),
            "{args:?}: {text:?}"
        );
        assert!(
            text.contains("x\\u{1b}]0;owned\\u{7}y\\u{1b}[2J"),
            "{args:?}: {text}"
        );
    }
    let output = apply(
        &["policy.yaml", "--resource", "pod.yaml", "-o", "json"],
        None,
        files.dir(),
    );
    assert!(
        stdout(&output).contains("x\\u001b]0;owned\\u0007y\\u001b[2J"),
        "{}",
        stdout(&output)
    );
}

/// A policy on Secrets whose message interpolates `request.object.data`
/// (and the decoded value): no Secret value reaches any output format, and
/// the result says it was redacted.
#[test]
fn secret_values_reach_no_output() {
    let files = Files::new();
    files.write(
        "policy.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: echo-secret}\nspec:\n  validationFailureAction: Audit\n  background: true\n  rules:\n  - name: echo\n    match: {any: [{resources: {kinds: [Secret]}}]}\n    validate:\n      message: \"data {{ request.object.data }} password {{ base64_decode(request.object.data.password) }}\"\n      deny: {}\n",
    );
    // "hunter2-password"
    files.write(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: ns}\ndata: {password: aHVudGVyMi1wYXNzd29yZA==}\n",
    );
    let formats: [&[&str]; 8] = [
        &["-o", "table"],
        &["-o", "json"],
        &["-o", "yaml"],
        &["-o", "junit"],
        &["-o", "sarif"],
        &["-t", "--detailed-results"],
        &["--policy-report", "-o", "json"],
        &["-o", "summary"],
    ];
    for format in formats {
        let mut args = vec!["-p", "policy.yaml", "-r", "secret.yaml"];
        args.extend_from_slice(format);
        let output = apply(&args, None, files.dir());
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(output.status.success(), "{format:?}: {all}");
        for value in ["aHVudGVyMi1wYXNzd29yZA==", "hunter2-password"] {
            assert!(!all.contains(value), "{format:?} shows {value}: {all}");
        }
    }
    let output = apply(
        &["-p", "policy.yaml", "-r", "secret.yaml", "-o", "json"],
        None,
        files.dir(),
    );
    assert_eq!(results(&output), [triple("echo-secret", "db", "fail")]);
    let reports: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let result = &reports["items"][0]["results"][0];
    assert!(
        result["message"]
            .as_str()
            // In place, or whole: the key `password` is part of the value.
            .is_some_and(|m| m.starts_with("[redacted: Secret data")
                || m.contains("[redacted: Secret data]")),
        "{result}"
    );
    assert_eq!(result["properties"]["polscan.io/redacted"], "secret data");
}

/// A ValidatingPolicy on every Pod, its one validation `expression`.
fn validating_policy(name: &str, expression: &str) -> String {
    format!(
        "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {{name: {name}}}\nspec:\n  validationActions: [Audit]\n  matchConstraints:\n    resourceRules: [{{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}}]\n  validations:\n  - expression: \"{expression}\"\n"
    )
}

/// A ValidatingPolicy of `count` expressions of 999 + 999 × 999 steps
/// each, just under the CEL per-call cost bound, over a variable's literal
/// list (lists.range is charged its length too).
fn near_the_bound(name: &str, count: usize) -> String {
    let expression = "variables.l.all(x, variables.l.all(y, x + y >= 0))";
    let mut policy = validating_policy(name, expression);
    for _ in 1..count {
        policy.push_str(&format!("  - expression: \"{expression}\"\n"));
    }
    policy.push_str(&format!(
        "  variables:\n  - name: l\n    expression: \"[{}]\"\n",
        vec!["0"; 999].join(",")
    ));
    policy
}

/// `polscan apply -p policy.yaml -r pod.yaml args` with `policy` and
/// [`BARE_POD`] as those files.
fn apply_to_bare_pod(policy: &str, args: &[&str]) -> Output {
    let files = Files::new();
    files.write("policy.yaml", policy);
    files.write("pod.yaml", BARE_POD);
    let mut all = vec!["-p", "policy.yaml", "-r", "pod.yaml"];
    all.extend_from_slice(args);
    apply(&all, None, files.dir())
}

/// Asserts exit 2 and a stderr holding every one of `needles`; gives stderr.
fn exit_2_naming(output: &Output, needles: &[&str]) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    err
}

/// cel-go's checker refuses `orValue` called as a global function
/// (checker/errors.go noMatchingOverload), and so Kyverno refuses the
/// policy: it is refused at load, named, not evaluated into `error`s.
#[test]
fn a_validating_policy_cel_go_does_not_type_check_is_refused_at_load() {
    let output = apply_to_bare_pod(
        &validating_policy("or-value-global", "orValue(1) == 1"),
        &["-o", "json"],
    );
    exit_2_naming(
        &output,
        &[
            "or-value-global",
            "spec.validations[0].expression",
            "found no matching overload for 'orValue' applied to '(int)'",
        ],
    );
    assert_eq!(results(&output), []);
}

/// 40 CEL expressions of 998,000 steps each (just under the per-call
/// cost limit, which ends one expression of 4·10^8 steps by itself) keep
/// `apply` busy for far longer than 3 s: `--timeout` ends the run with
/// exit 2 and says what it was at.
#[test]
fn apply_timeout_ends_a_costly_evaluation_with_exit_2() {
    let started = std::time::Instant::now();
    let output = apply_to_bare_pod(&near_the_bound("costly", 40), &["--timeout", "3s"]);
    let err = exit_2_naming(
        &output,
        &[
            "deadline 3s (--timeout) reached while evaluating resources",
            "still evaluating Pod ns/bare",
            "nothing was decided",
        ],
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn apply_timeout_takes_a_duration() {
    let output = apply_to_bare_pod(AUDITED, &["--timeout", "soon"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(64), "{err}");
    assert!(err.contains("--timeout \"soon\""), "{err}");
}

/// Expressions nested deep enough to overflow a thread's stack aborted the
/// whole process (a stack overflow is not a panic that can be isolated):
/// 40 nested parentheses in CEL on apply's 2 MiB thread, 6,000 nested
/// JMESPath filters anywhere. Now the CEL one evaluates (polscan's
/// threads have the stack its bounds are measured against) and the
/// JMESPath one is refused, named, before it is parsed.
#[test]
fn deeply_nested_expressions_do_not_abort_apply() {
    let depth = 40;
    let cel = validating_policy(
        "nested-cel",
        &format!("{}true{}", "(".repeat(depth), ")".repeat(depth)),
    );
    let filters = 6000;
    let jmespath = format!(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: nested-jmespath}}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: deep\n    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}\n    validate:\n      message: deep\n      deny:\n        conditions:\n          any:\n          - key: \"{{{{ {}b{} }}}}\"\n            operator: Equals\n            value: x\n",
        "a[?".repeat(filters),
        "]".repeat(filters)
    );
    let output = apply_to_bare_pod(&format!("{cel}---\n{jmespath}"), &["-o", "json"]);
    let err = stderr(&output);
    assert!(output.status.code().is_some(), "killed by a signal: {err}");
    let everything = format!("{err}{}", stdout(&output));
    assert!(
        everything.contains("holds 6000 operators, more than the 256"),
        "{everything}"
    );
    let results = results(&output);
    assert!(
        results.contains(&triple("nested-cel", "bare", "pass")),
        "{results:?} {err}"
    );
}

/// A CI gate whose policy folder is empty passed: exit 0, "(0 policies)",
/// nothing on stderr (walkthrough). It is an incomplete audit now.
#[test]
fn apply_without_a_policy_is_refused() {
    let files = Files::new();
    files.write("pod.yaml", BARE_POD);
    files.write("empty.yaml", "");
    files.write("policies/readme.yaml", BARE_POD);
    for policies in ["empty.yaml", "policies"] {
        let output = apply(
            &["-p", policies, "-r", "pod.yaml", "--fail-on", "fail"],
            None,
            files.dir(),
        );
        exit_2_naming(
            &output,
            &[
                &format!("no policy in {policies}"),
                "nothing would be checked",
            ],
        );
    }
}

/// Kubernetes' per-call cost limit, for each kind that evaluates CEL: an
/// expression of 10^8 comprehension steps ends within seconds (it ran for
/// minutes) in a result naming cel-go's cancellation — `error` for a
/// ValidatingPolicy and a ValidatingAdmissionPolicy, `fail` for a
/// ClusterPolicy's `validate.cel`, whose evaluation errors Kyverno's
/// validator turns into a denial (failurePolicy Fail).
#[test]
fn a_cel_expression_past_the_cost_limit_is_an_error_of_every_policy_kind() {
    let ten = "[0,1,2,3,4,5,6,7,8,9]";
    let costly = format!(
        "{ten}.all(a, {ten}.all(b, {ten}.all(c, {ten}.all(d, {ten}.all(e, {ten}.all(f, {ten}.all(g, {ten}.all(h, true))))))))"
    );
    let vap = format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {{name: costly-vap}}\nspec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules: [{{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}}]\n  validations:\n  - expression: \"{costly}\"\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {{name: costly-vap}}\nspec:\n  policyName: costly-vap\n  validationActions: [Audit]\n"
    );
    let cluster_policy = format!(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: costly-cel}}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: cel\n    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}\n    validate:\n      cel:\n        expressions:\n        - expression: \"{costly}\"\n"
    );
    let started = std::time::Instant::now();
    for (name, policy, result) in [
        (
            "costly-vpol",
            validating_policy("costly-vpol", &costly),
            "error",
        ),
        ("costly-vap", vap, "error"),
        ("costly-cel", cluster_policy, "fail"),
    ] {
        let output = apply_to_bare_pod(&policy, &["-o", "json"]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        assert_eq!(
            results(&output),
            [triple(name, "bare", result)],
            "{name}: {}",
            stdout(&output)
        );
        assert!(
            stdout(&output).contains("operation cancelled: actual cost limit exceeded"),
            "{name}: {}",
            stdout(&output)
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(120));
}

/// Kubernetes' runtime cost budget per policy and resource (10^7): 20
/// expressions each just under the per-call limit end in its error after
/// about ten (hunt27 F20: 650 of them took 8 minutes on one resource).
#[test]
fn a_policys_expressions_share_the_runtime_cost_budget() {
    let output = apply_to_bare_pod(&near_the_bound("budget", 20), &["-o", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(results(&output), [triple("budget", "bare", "error")]);
    let text = stdout(&output);
    assert!(
        text.contains("validations[11]: validation failed due to running out of cost budget"),
        "{text}"
    );
}

/// walk28 F14: a manifest with `generateName` and no name (a Job or Pod
/// made with `kubectl create`) was called one the API server refuses, and
/// `-o json` stopped the whole audit with no output. Its prefix names it.
#[test]
fn a_manifest_with_generate_name_is_audited_under_its_prefix() {
    let files = Files::new();
    files.write("policy.yaml", AUDITED);
    files.write(
        "pods.yaml",
        &format!("apiVersion: v1\nkind: Pod\nmetadata: {{generateName: job-, namespace: ns}}\n---\n{LABELLED_POD}"),
    );
    let output = apply(
        &["-p", "policy.yaml", "-r", "pods.yaml", "-o", "json"],
        None,
        files.dir(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("refuse"), "{}", stderr(&output));
    assert_eq!(
        results(&output),
        [
            triple("needs-app", "job-", "fail"),
            triple("needs-app", "labelled", "pass")
        ]
    );
}

/// walk28 F9: a namespaceSelector met a resource whose Namespace was not
/// given: no result, no word, and the gate passed a violating manifest.
#[test]
fn a_namespace_selector_over_namespaces_not_given_is_warned_about() {
    let files = Files::new();
    files.write(
        "policy.yaml",
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: labelled-ns}\nspec:\n  rules:\n  - name: app\n    match: {any: [{resources: {kinds: [Pod], namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}}]}\n    validate: {message: needs an app label, pattern: {metadata: {labels: {app: '?*'}}}}\n",
    );
    files.write("pod.yaml", BARE_POD);
    files.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns, labels: {team: a}}\n",
    );
    let alone = apply(&["-p", "policy.yaml", "-r", "pod.yaml"], None, files.dir());
    assert!(
        stderr(&alone).contains("warning: ClusterPolicy labelled-ns select(s) namespaces by label (namespaceSelector), and the Namespace(s) ns are not among the resources nor in --values"),
        "{}",
        stderr(&alone)
    );
    let given = apply(
        &[
            "-p",
            "policy.yaml",
            "-r",
            "pod.yaml",
            "-r",
            "ns.yaml",
            "-o",
            "json",
        ],
        None,
        files.dir(),
    );
    assert!(
        !stderr(&given).contains("namespaceSelector"),
        "{}",
        stderr(&given)
    );
    assert_eq!(results(&given), [triple("labelled-ns", "bare", "fail")]);
}

/// walk47 W47-2: the test clock `POLSCAN_TEST_NOW` moves the engine's
/// time too: an annotation exception expired at that time is no longer
/// applied (the scan's record and the evidence already used it).
#[test]
fn the_test_clock_moves_exception_expiries() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("p.yaml"),
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: need-team}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: team\n    match: {any: [{resources: {kinds: [ConfigMap]}}]}\n    validate:\n      message: team label\n      pattern: {metadata: {labels: {team: '?*'}}}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("r.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: shop\n  annotations:\n    polscan.io/exception: need-team\n    polscan.io/exception-reason: legacy\n    polscan.io/exception-expires: '2026-12-10'\n",
    )
    .expect("write");
    let at = |now: &str| {
        let output = common::polscan(["apply", "-p", "p.yaml", "-r", "r.yaml"])
            .cwd(dir.path())
            .env("NO_COLOR", "1")
            .env("POLSCAN_TEST_NOW", now)
            .output();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let before = at("2026-12-01T00:00:00Z");
    assert!(before.contains("skip: 1"), "{before}");
    let after = at("2026-12-22T00:00:00Z");
    assert!(after.contains("fail: 1"), "{after}");
    assert!(after.contains("expired at 2026-12-10"), "{after}");
    // verify49 V49-8: the run record's times too.
    let recorded = common::polscan([
        "apply",
        "-p",
        "p.yaml",
        "-r",
        "r.yaml",
        "-o",
        "yaml",
        "--run-record",
        "rr.yaml",
    ])
    .cwd(dir.path())
    .env("POLSCAN_TEST_NOW", "2026-12-22T00:00:00Z")
    .output();
    assert!(recorded.status.success() || recorded.status.code() == Some(1));
    let record = std::fs::read_to_string(dir.path().join("rr.yaml")).expect("record");
    assert!(record.contains("started: 2026-12-22T00:00:00Z"), "{record}");
}
