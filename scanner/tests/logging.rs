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
    let mut logged = 0;
    for line in stderr.lines() {
        if line.starts_with("error: ") {
            // The final error message is for people, not a log record.
            assert!(line.contains("https://127.0.0.1:1"), "{line}");
            continue;
        }
        let record: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            record["timestamp"].is_string() && record["level"].is_string(),
            "{line}"
        );
        logged += 1;
    }
    assert!(logged > 0, "debug logging produced no records:\n{stderr}");
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
