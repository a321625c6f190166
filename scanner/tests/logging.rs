//! `--log-format json` writes one JSON object per log line on stderr; the
//! default is human-readable text.

mod common;

use common::{polscan, stderr, Files};

const UNREACHABLE: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: x}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";

fn scan_stderr(format: &str) -> (String, Option<i32>) {
    let files = Files::new();
    let kubeconfig = files.write("kubeconfig", UNREACHABLE);
    let output = polscan(["scan", "--log-format", format, "--kubeconfig", &kubeconfig])
        .env("POLSCAN_LOG", "debug")
        .output();
    (stderr(&output), output.status.code())
}

#[test]
fn json_logs_are_one_object_per_line() {
    let (stderr, code) = scan_stderr("json");
    assert_eq!(code, Some(2), "an unreachable server is an error");
    let records = json_records(&stderr);
    assert!(
        records.len() > 1,
        "debug logging produced no records:\n{stderr}"
    );
    // The final error is a record too (walk25 F16: it was plain text).
    let last = records.last().expect("records");
    assert_eq!(last["level"], "ERROR", "{stderr}");
    assert!(
        last["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("https://127.0.0.1:1") && !m.starts_with("error:")),
        "{stderr}"
    );
}

/// Every line of `stderr` as a JSON log record (a panic names the line
/// that is not one).
fn json_records(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|line| {
            let record: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(
                record["timestamp"].is_string() && record["level"].is_string(),
                "{line}"
            );
            record
        })
        .collect()
}

/// `apply`'s warnings — an invalid CEL policy, whose error quotes the
/// expression with caret lines — are one record each under JSON, as the
/// deploy manifests' `--log-format=json` expects.
#[test]
fn json_warnings_of_apply_are_one_record_each() {
    let files = Files::new();
    let policy = files.write(
        "bad.yaml",
        "apiVersion: policies.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: {name: bad}\nspec:\n  validationActions: [Audit]\n  matchConstraints:\n    resourceRules:\n    - {apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}\n  validations:\n  - expression: \"object.data.a ==\"\n---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: good}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [ConfigMap]}}]}\n    validate: {message: m, pattern: {data: {a: \"?*\"}}}\n",
    );
    let resource = files.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: default}\ndata: {a: \"1\"}\n",
    );
    for format in ["json", "text"] {
        let output = polscan([
            "apply",
            "--log-format",
            format,
            "-p",
            &policy,
            "-r",
            &resource,
            "-o",
            "summary",
        ])
        .output();
        let stderr = stderr(&output);
        if format == "text" {
            assert!(stderr.contains("warning: "), "{stderr}");
            assert!(!stderr.lines().any(|l| l.starts_with('{')), "{stderr}");
            continue;
        }
        let records = json_records(&stderr);
        let warnings: Vec<&str> = records
            .iter()
            .filter(|r| r["level"] == "WARN")
            .filter_map(|r| r["fields"]["message"].as_str())
            .collect();
        assert!(
            warnings
                .iter()
                .any(|m| m.contains("bad") && m.contains("object.data.a ==")),
            "{stderr}"
        );
    }
}

#[test]
fn text_logs_are_the_default() {
    let (stderr, _) = scan_stderr("text");
    assert!(stderr.lines().count() > 1);
    assert!(
        !stderr.lines().any(|line| line.starts_with('{')),
        "{stderr}"
    );
    // Written to a pipe (a file, a collector): no terminal colour codes.
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

/// A usage error under `--log-format json` is one ERROR record holding
/// clap's whole message (rev27 F3: five plain lines); exit 64 as before.
#[test]
fn a_usage_error_is_one_json_record() {
    for args in [
        ["--log-format", "json", "apply", "--bogus"].as_slice(),
        ["apply", "--log-format=json", "-p", "x.yaml"].as_slice(),
    ] {
        let output = polscan(args).output();
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(64), "{args:?}: {stderr}");
        let records = json_records(&stderr);
        assert_eq!(records.len(), 1, "{args:?}: {stderr}");
        assert_eq!(records[0]["level"], "ERROR", "{stderr}");
        assert!(
            records[0]["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Usage:")),
            "{stderr}"
        );
    }
    // Text stays clap's own.
    let output = polscan(["apply", "--bogus"]).output();
    assert!(
        stderr(&output).starts_with("error: "),
        "{}",
        stderr(&output)
    );
}

/// A warning written before `--timeout` ends `apply` is a record too
/// (rev27 F10: JSON held it for a continuation line, and the deadline
/// ended the process first).
#[test]
fn a_warning_before_the_deadline_is_not_lost() {
    let files = Files::new();
    // 999 + 999 × 999 steps, just under the CEL cost bound, over a
    // variable's literal list (lists.range is charged its length too).
    let expression = "variables.l.all(x, variables.l.all(y, x + y >= 0))";
    let mut policy = String::from(
        "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: slow}\nspec:\n  validationActions: [Audit]\n  matchConstraints:\n    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}]\n  validations:\n",
    );
    for _ in 0..40 {
        policy.push_str(&format!("  - expression: \"{expression}\"\n"));
    }
    policy.push_str(&format!(
        "  variables:\n  - name: l\n    expression: \"[{}]\"\n",
        vec!["0"; 999].join(",")
    ));
    let policy = files.write("slow.yaml", &policy);
    let resources = files.write(
        "pods.yaml",
        "kind: Pod\nmetadata: {name: noapi, namespace: default}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: slow, namespace: default}\n",
    );
    let output = polscan([
        "--log-format",
        "json",
        "apply",
        "-p",
        &policy,
        "-r",
        &resources,
        "--timeout",
        "2s",
    ])
    .output();
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let records = json_records(&stderr);
    let levels: Vec<&str> = records.iter().filter_map(|r| r["level"].as_str()).collect();
    assert_eq!(levels, ["WARN", "ERROR"], "{stderr}");
    assert!(
        records[0]["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("has no `apiVersion`")),
        "{stderr}"
    );
}

/// walk69 W69-6: a --kubeconfig that cannot be read is named once, plainly,
/// with the cause (kube's own message quoted the path twice).
#[test]
fn an_unreadable_kubeconfig_is_named_once() {
    let files = Files::new();
    let missing = format!(
        "{}/absent/kubeconfig",
        files.write("x", "").trim_end_matches("/x")
    );
    let output = polscan(["scan", "--kubeconfig", &missing]).output();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!(
            "{missing}: cannot read it: No such file or directory"
        )),
        "{text}"
    );
    assert_eq!(text.matches(&missing).count(), 1, "{text}");
}

/// walk78: a `KUBECONFIG` file that cannot be read is named once too
/// (kube's message quoted it twice: `'"/path"'`).
#[test]
fn an_unreadable_kubeconfig_from_the_environment_is_named_once() {
    let files = Files::new();
    let missing = format!(
        "{}/absent/kubeconfig",
        files.write("x", "").trim_end_matches("/x")
    );
    let output = polscan(["scan"]).env("KUBECONFIG", &missing).output();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!(
            "{missing} (KUBECONFIG): cannot read it: No such file or directory"
        )),
        "{text}"
    );
    assert_eq!(text.matches(&missing).count(), 1, "{text}");
}
