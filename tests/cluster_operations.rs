//! The scanner as operators run it, against a real kube-apiserver + etcd:
//! `scan --interval` keeps scanning, serves Prometheus metrics and records
//! each run in the last-run ConfigMap until SIGTERM; a one-off scan at a
//! terminal shows a progress line (under a pseudo-terminal), which
//! `--quiet` and a pipe suppress.

#![allow(clippy::expect_used)] // test code: a failed expectation is a failed test

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use polscan_tests::cluster::{polscan_binary, TestCluster};
use serde_json::Value;

const POLICY: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-latest
  annotations: {policies.kyverno.io/severity: medium}
spec:
  rules:
  - name: no-latest
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: use a pinned tag
      pattern: {spec: {containers: [{image: '!*:latest'}]}}
";

fn prepared() -> TestCluster {
    let cluster = TestCluster::start_prepared();
    cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: polscan-system}\n");
    cluster.apply_yaml(POLICY);
    for (name, image) in [
        ("a", "nginx:latest"),
        ("b", "nginx:1.27"),
        ("c", "redis:latest"),
    ] {
        cluster.apply_yaml(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default}}\nspec: {{containers: [{{name: c, image: '{image}'}}]}}\n"
        ));
    }
    cluster
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A plain HTTP/1.0 GET; `None` while nothing listens.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line[series.len()..].trim().parse().ok())
}

#[test]
fn interval_mode_serves_metrics_records_runs_and_stops_on_sigterm() {
    let cluster = prepared();
    let port = free_port();
    let mut child = Command::new(polscan_binary())
        .args([
            "scan",
            "--kubeconfig",
            &cluster.kubeconfig().display().to_string(),
            "--interval",
            "2s",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
            "--last-run-configmap",
            "polscan-system/polscan-last-run",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("polscan");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut metrics = String::new();
    while Instant::now() < deadline {
        if let Some(text) = http_get(port, "/metrics") {
            if metric(&text, "polscan_scans_total{outcome=\"complete\"}").unwrap_or(0.0) >= 2.0 {
                metrics = text;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(!metrics.is_empty(), "two complete scans within 120 s");
    assert!(metrics.starts_with("HTTP/1.") && metrics.contains(" 200 "));
    assert_eq!(
        metric(
            &metrics,
            "polscan_results{policy=\"disallow-latest\",result=\"fail\",severity=\"medium\"}"
        ),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "polscan_objects_listed{group=\"\",kind=\"Pod\"}"),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(metric(&metrics, "polscan_last_scan_complete"), Some(1.0));
    assert!(metric(&metrics, "polscan_scan_duration_seconds").is_some_and(|s| s > 0.0));
    assert!(metrics.contains("polscan_scan_phase_duration_seconds{phase=\"listed and evaluated\"}"));
    // The first scan wrote 3 reports; later ones find them unchanged.
    assert_eq!(
        metric(&metrics, "polscan_report_writes_total"),
        Some(3.0),
        "{metrics}"
    );
    assert!(http_get(port, "/healthz").is_some_and(|r| r.ends_with("ok\n")));

    let record = cluster.config_map("polscan-system", "polscan-last-run");
    assert_eq!(record["data"]["complete"], "true");
    let by_policy: Value = serde_json::from_str(
        record["data"]["resultsByPolicy"]
            .as_str()
            .expect("resultsByPolicy"),
    )
    .expect("json");
    assert_eq!(
        by_policy,
        serde_json::json!({"disallow-latest": {"fail": 2, "pass": 1}})
    );

    let pid = child.id().to_string();
    let started = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        let _ = pipe.read_to_string(&mut stdout);
    }
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    assert!(
        stdout
            .lines()
            .filter(|l| l.contains("scan complete"))
            .count()
            >= 2,
        "{stdout}"
    );
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let cluster = prepared();
    let binary = polscan_binary().display().to_string();
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let on_terminal = |extra: &str| {
        let output = Command::new("script")
            .args([
                "-qec",
                &format!("{binary} scan --kubeconfig {kubeconfig} -o summary --dry-run {extra}"),
                "/dev/null",
            ])
            .output()
            .expect("script");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let shown = on_terminal("");
    // The progress line (the summary says "kinds listed" too, so this looks
    // for the progress line's own words).
    assert!(shown.contains("objects evaluated"), "{shown}");
    assert!(shown.contains("pass: 1  fail: 2"), "{shown}");
    let quiet = on_terminal("--quiet");
    assert!(!quiet.contains("objects evaluated"), "{quiet}");
    assert!(quiet.contains("pass: 1  fail: 2"), "{quiet}");
    let piped = polscan_tests::cluster::polscan(&[
        "scan",
        "--kubeconfig",
        &kubeconfig,
        "-o",
        "summary",
        "--dry-run",
    ]);
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("objects evaluated"));
}
