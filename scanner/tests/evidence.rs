//! `polscan evidence` from report files: the package is written, verifies,
//! fails verification once tampered with, compares with a previous package,
//! and its index.html, rendered by a real headless Chromium (Debian's
//! package, via scripts/test-assets.sh), opens with the decision section
//! and shows the verdicts and labelled charts.

#![allow(clippy::expect_used)] // test code: a failed expectation is a failed test

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{audit, repository_file, run, schema_errors, test_asset, validator};
use serde_json::Value;

const POLICIES: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-app-label
  annotations:
    policies.kyverno.io/title: Require an app label
    policies.kyverno.io/description: Add an app label naming the application.
spec:
  validationFailureAction: Audit
  rules:
  - name: app
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: the app label is missing
      pattern: {metadata: {labels: {app: '?*'}}}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-latest
  annotations:
    policies.kyverno.io/description: Pin every image to a version.
spec:
  validationFailureAction: Audit
  rules:
  - name: no-latest
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: use a pinned tag
      pattern: {spec: {containers: [{image: '!*:latest'}]}}
";

fn pods(latest_in_shop: bool) -> String {
    let image = if latest_in_shop {
        "nginx:latest"
    } else {
        "nginx:1.27"
    };
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop, labels: {{app: web}}}}\nspec: {{containers: [{{name: c, image: '{image}'}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: api, namespace: shop, labels: {{app: api}}}}\nspec: {{containers: [{{name: c, image: 'nginx:1.27'}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: agent, namespace: ops, labels: {{app: agent}}}}\nspec: {{containers: [{{name: c, image: 'agent:2'}}]}}\n"
    )
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes the audit's inputs: policies.yaml and pods.yaml.
fn write_inputs(dir: &Path, policies: &str, pods: &str) {
    std::fs::write(dir.join("policies.yaml"), policies).expect("policies");
    std::fs::write(dir.join("pods.yaml"), pods).expect("pods");
}

/// A package from reports.yaml into `out`.
fn evidence_from_files(dir: &Path, out: &str, extra: &[&str]) -> Output {
    // Offline evidence has no soak history: these tests are about the
    // last scan's evidence (the soak: `offline_evidence_soak_is_unknown`).
    let mut args = vec!["--min-soak", "0"];
    args.extend_from_slice(extra);
    offline_evidence(dir, out, &args)
}

/// `polscan evidence` from the files `write_inputs` and `audit` wrote,
/// with the default soak rule.
fn offline_evidence(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "evidence",
        "--out",
        out,
        "--from",
        "reports.yaml",
        "--policies-from",
        "policies.yaml",
        "--scan-record",
        "scan.yaml",
    ];
    args.extend_from_slice(extra);
    run(&args, None, dir)
}

/// Audits the pods, then writes a package from the reports into `out`.
fn package(dir: &Path, latest_in_shop: bool, out: &str, since: Option<&str>) -> Output {
    package_of(dir, POLICIES, &pods(latest_in_shop), out, since)
}

/// Audits `pods` against `policies`, then writes a package into `out`.
fn package_of(dir: &Path, policies: &str, pods: &str, out: &str, since: Option<&str>) -> Output {
    write_inputs(dir, policies, pods);
    let reports = audit(dir);
    assert!(reports.status.success(), "{}", text(&reports));
    let mut extra = vec!["--require-ready"];
    if let Some(previous) = since {
        extra.extend(["--since", previous]);
    }
    evidence_from_files(dir, out, &extra)
}

fn evidence_json(dir: &Path) -> Value {
    let bytes = std::fs::read(dir.join("evidence.json")).expect("evidence.json");
    serde_json::from_slice(&bytes).expect("json")
}

fn verdict(evidence: &Value, policy: &str) -> String {
    evidence["policies"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["name"] == policy))
        .and_then(|p| p["verdict"].as_str())
        .unwrap_or_else(|| panic!("no {policy}"))
        .to_string()
}

#[test]
fn verdicts_verification_and_comparison() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = package(dir.path(), true, "first", None);
    assert_eq!(
        first.status.code(),
        Some(1),
        "--require-ready with a not-ready policy: {}",
        text(&first)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("1 of 2 policies ready to enforce"),
        "{stdout}"
    );
    // walk55 W55-2: the table names the first violator.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("disallow-latest") && l.contains("failing result(s) (first: ")),
        "{stdout}"
    );
    let evidence = evidence_json(&dir.path().join("first"));
    assert_eq!(verdict(&evidence, "require-app-label"), "ready");
    assert_eq!(verdict(&evidence, "disallow-latest"), "not-ready");
    assert_eq!(evidence["scan"]["complete"], true);

    let verified = run(&["evidence", "verify", "first"], None, dir.path());
    assert!(verified.status.success(), "{}", text(&verified));
    // walk43: "written (4 files)" beside "3 files match": the MANIFEST is
    // the fourth, said so.
    assert!(
        text(&first).contains("evidence written to first (4 files;"),
        "{}",
        text(&first)
    );
    assert!(text(&verified)
        .contains("OK: 3 files match the MANIFEST (the MANIFEST itself besides them)"));

    // The baseline is fixed in Git: the violation is gone, nothing to roll back.
    let second = package(dir.path(), false, "second", Some("first"));
    assert!(second.status.success(), "{}", text(&second));
    let evidence = evidence_json(&dir.path().join("second"));
    assert_eq!(verdict(&evidence, "disallow-latest"), "ready");
    let comparison = &evidence["comparison"];
    assert_eq!(
        comparison["fixedViolations"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        comparison["newViolations"].as_array().map(Vec::len),
        Some(0)
    );
    // Both are in Audit: nothing to roll back, only whether still ready.
    assert!(
        text(&second).contains("readiness check require-app-label: still ready to enforce"),
        "{}",
        text(&second)
    );
    assert!(
        !text(&second).contains("rollback check"),
        "{}",
        text(&second)
    );

    // Still in Audit, a new violation makes it not ready: no rollback.
    let third = package(dir.path(), true, "third", Some("second"));
    assert_eq!(third.status.code(), Some(1));
    assert!(
        text(&third).contains("readiness check disallow-latest: not ready (was ready to enforce)"),
        "{}",
        text(&third)
    );
    assert!(!text(&third).contains("ROLL BACK"), "{}", text(&third));

    // After the switch to Enforce, a new violation is a rollback condition.
    let enforced = POLICIES.replace(
        "name: disallow-latest\n  annotations:\n    policies.kyverno.io/description: Pin every image to a version.\nspec:\n  validationFailureAction: Audit",
        "name: disallow-latest\n  annotations:\n    policies.kyverno.io/description: Pin every image to a version.\nspec:\n  validationFailureAction: Enforce",
    );
    assert_ne!(enforced, POLICIES);
    let rolled = package_of(dir.path(), &enforced, &pods(true), "rolled", Some("second"));
    assert_eq!(rolled.status.code(), Some(1));
    assert!(
        text(&rolled).contains("rollback check disallow-latest: ROLL BACK TO AUDIT"),
        "{}",
        text(&rolled)
    );

    // Tampering is caught, and a tampered baseline is refused for --since.
    let markdown = dir.path().join("first/evidence.md");
    let original = std::fs::read_to_string(&markdown).expect("md");
    std::fs::write(&markdown, original.replace("not ready", "ready")).expect("tamper");
    let tampered = run(&["evidence", "verify", "first"], None, dir.path());
    assert_eq!(tampered.status.code(), Some(1));
    assert!(
        text(&tampered).contains("evidence.md was modified"),
        "{}",
        text(&tampered)
    );
    let refused = package(dir.path(), true, "fourth", Some("first"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).contains("does not verify"),
        "{}",
        text(&refused)
    );
}

#[test]
fn a_relaxed_rule_since_the_previous_package_is_diffed_and_fixes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = package(dir.path(), true, "first", None);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    // The refinement step: the rule now only refuses :nightly. The Pod
    // still runs nginx:latest, so nothing was fixed in the manifests.
    let relaxed = POLICIES.replace("image: '!*:latest'", "image: '!*:nightly'");
    assert_ne!(relaxed, POLICIES);
    let second = package_of(dir.path(), &relaxed, &pods(true), "second", Some("first"));
    assert!(second.status.success(), "{}", text(&second));
    let out = text(&second);
    assert!(
        out.contains("rules of disallow-latest: 1 violations removed, 0 added since the rules changed (not by fixes in manifests) (changed: no-latest)"),
        "{out}"
    );
    assert!(out.contains("0 fixed"), "{out}");
    let evidence = evidence_json(&dir.path().join("second"));
    assert_schema(&evidence);
    let comparison = &evidence["comparison"];
    assert_eq!(comparison["fixedViolations"], Value::Array(Vec::new()));
    let changes = comparison["ruleChanges"].as_array().expect("ruleChanges");
    assert_eq!(changes.len(), 1, "{changes:?}");
    let change = &changes[0];
    assert_eq!(change["policy"], "disallow-latest");
    assert_eq!(change["status"], "changed");
    assert_eq!(change["changedRules"][0], "no-latest");
    assert_eq!(change["removedViolations"][0]["resource"], "shop/Pod/web");
    let diff = change["diff"].as_str().expect("diff");
    assert!(diff.contains("-") && diff.contains("!*:nightly"), "{diff}");
    // Each package keeps the rules for the next comparison.
    let policy = evidence["policies"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["name"] == "disallow-latest"))
        .expect("disallow-latest");
    assert_eq!(
        policy["ruleContent"]["digest"].as_str().map(str::len),
        Some(64)
    );
    let markdown =
        std::fs::read_to_string(dir.path().join("second/evidence.md")).expect("evidence.md");
    assert!(
        markdown.contains("### Rules changed: disallow-latest"),
        "{markdown}"
    );
    assert!(markdown.contains("```diff"), "{markdown}");
    let html = std::fs::read_to_string(dir.path().join("second/index.html")).expect("index.html");
    assert!(html.contains("<pre class=\"rule-diff\">"), "{html}");
}

#[test]
fn an_audit_with_an_invalid_policy_is_no_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path(), false, "clean", None);
    let broken = format!(
        "{POLICIES}---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: broken}}\nspec: {{rules: [{{name: r, match: {{any: nope}}}}]}}\n"
    );
    std::fs::write(dir.path().join("policies.yaml"), broken).expect("policies");
    let audited = audit(dir.path());
    assert_eq!(audited.status.code(), Some(2), "{}", text(&audited));
    let record = std::fs::read_to_string(dir.path().join("scan.yaml")).expect("record");
    assert!(record.contains("complete: 'false'"), "{record}");
    let output = evidence_from_files(dir.path(), "broken", &[]);
    assert!(output.status.success(), "{}", text(&output));
    let evidence = evidence_json(&dir.path().join("broken"));
    assert_eq!(verdict(&evidence, "require-app-label"), "not-ready");
    assert!(
        text(&output).contains("the last scan was incomplete"),
        "{}",
        text(&output)
    );
}

#[test]
fn evidence_json_follows_its_documented_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path(), true, "pkg", None);
    let evidence = evidence_json(&dir.path().join("pkg"));
    assert_schema(&evidence);
    let mut broken = evidence.clone();
    broken["policies"][0]["verdict"] = Value::from("maybe");
    assert!(!evidence_schema().is_valid(&broken));
}

#[test]
fn in_production_critical_policies_not_enforced_breach_the_baseline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let critical = POLICIES.replace(
        "    policies.kyverno.io/description: Pin every image to a version.",
        "    policies.kyverno.io/description: Pin every image to a version.\n    policies.kyverno.io/severity: critical",
    );
    package_of(dir.path(), &critical, &pods(true), "pkg", None);
    let output = evidence_from_files(
        dir.path(),
        "prod",
        &[
            "--environment",
            "production",
            "--baseline-severity",
            "critical",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(
            "baseline breached: 1 polic(ies) of severity critical not enforced: disallow-latest"
        ),
        "{}",
        text(&output)
    );
    let evidence = evidence_json(&dir.path().join("prod"));
    assert_schema(&evidence);
    assert_eq!(evidence["environment"], "production");
    let breach = &evidence["baseline"]["breaches"][0];
    assert_eq!(breach["policy"], "disallow-latest");
    assert_eq!(breach["verdict"], "not-ready");
    assert!(breach["toFix"][0]
        .as_str()
        .is_some_and(|line| line.starts_with("shop/Pod/web: 1 violation(s)")));
    let markdown = std::fs::read_to_string(dir.path().join("prod/evidence.md")).expect("md");
    assert!(markdown.contains("## Baseline breaches: 1"), "{markdown}");

    // Elsewhere the environment is only recorded, and a severity flag
    // without production says it judged nothing.
    let staging = evidence_from_files(
        dir.path(),
        "staging",
        &[
            "--environment",
            "staging",
            "--baseline-severity",
            "critical",
        ],
    );
    assert!(
        text(&staging).contains("--baseline-severity applies only with --environment production")
    );
    let evidence = evidence_json(&dir.path().join("staging"));
    assert_schema(&evidence);
    assert_eq!(evidence["environment"], "staging");
    assert!(evidence.get("baseline").is_none());
}

fn headless(dir: &Path, args: &[&str], page: &Path) -> Output {
    Command::new("timeout")
        .arg("120")
        .arg(test_asset("chromium"))
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            // Offline: any attempt to load something from the network fails.
            "--proxy-server=127.0.0.1:9",
            &format!("--user-data-dir={}", dir.join("profile").display()),
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("running chromium: {e}"))
}

#[test]
fn the_page_shows_verdicts_and_charts_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path(), true, "pkg", None);
    let page = dir.path().join("pkg/index.html");
    let html = std::fs::read_to_string(&page).expect("html");
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(external), "self-contained: {external}");
    }

    let dom = headless(dir.path(), &["--dump-dom"], &page);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    // The decision section is the page's first section, before the
    // overview and every policy's card, with its one-line count and a row
    // per policy.
    let decision = dom
        .find("<section id=\"decision\">")
        .unwrap_or_else(|| panic!("no decision section in the rendered page: {dom}"));
    let first_heading = dom.find("<h2").expect("a heading");
    assert_eq!(
        dom[first_heading..].find("<h2>Decision</h2>"),
        Some(0),
        "the first heading is the decision's: {}",
        &dom[first_heading..first_heading + 200]
    );
    for later in [
        "id=\"summary\"",
        "id=\"overview\"",
        "<section class=\"policy\"",
    ] {
        let at = dom.find(later).unwrap_or_else(|| panic!("no {later}"));
        assert!(decision < at, "the decision comes before {later}");
    }
    let section = &dom[decision..dom[decision..].find("</section>").expect("its end") + decision];
    assert!(
        section.contains("<p id=\"decision-summary\"><strong>GO 1 · NO-GO 1 · WAIT 0</strong></p>"),
        "{section}"
    );
    assert!(section.contains(
        "<tr class=\"decision\" data-decision=\"go\" data-policy=\"require-app-label\">"
    ));
    assert!(section.contains(
        "<tr class=\"decision\" data-decision=\"no-go\" data-policy=\"disallow-latest\">"
    ));
    assert!(section.contains("kubectl patch clusterpolicy/require-app-label --type=merge"));
    assert!(section.contains("namespace shop: Pod/web (1)"), "{section}");
    assert!(dom.contains("1 of 2 policies ready to enforce."), "{dom}");
    assert!(dom.matches("data-verdict=\"ready\"").count() >= 2);
    // One chart per policy with a bar per namespace, from the parsed DOM.
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), 2);
    // Each chart is labelled in the SVG itself: a text element per
    // namespace and its total, and axes with titles and ticks.
    for chart in dom.split("<svg class=\"chart\"").skip(1) {
        let chart = &chart[..chart.find("</svg>").expect("the chart's end")];
        assert!(
            chart.contains(">ops</text>") && chart.contains(">shop</text>"),
            "{chart}"
        );
        assert!(chart.matches("<text").count() >= 4, "{chart}");
        // Axes with their titles and the count's ticks.
        assert!(chart.contains("<g class=\"axis\""), "{chart}");
        assert!(chart.contains(">results</text>") && chart.contains(">namespace</text>"));
        assert!(chart.contains("class=\"tick\"") && chart.contains(">0</text>"));
    }
    assert!(
        dom.contains("data-namespace=\"shop\" data-pass=\"1\" data-fail=\"1\""),
        "{dom}"
    );
    assert!(dom.contains("data-namespace=\"ops\" data-pass=\"1\" data-fail=\"0\""));
    assert!(dom.contains("shop/Pod/web"));
    assert!(dom.contains("Remediation:</strong> Pin every image to a version."));
    assert!(dom.contains("kubectl patch clusterpolicy/disallow-latest --type=merge"));

    let shot = dir.path().join("page.png");
    let screenshot = headless(
        dir.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
        ],
        &page,
    );
    assert!(screenshot.status.success());
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

/// A validator for docs/evidence.schema.json.
fn evidence_schema() -> jsonschema::Validator {
    validator(&repository_file("docs/evidence.schema.json"))
}

/// Validates a package's evidence.json against docs/evidence.schema.json.
fn assert_schema(evidence: &Value) {
    let errors = schema_errors(&evidence_schema(), evidence);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn an_out_directory_holding_a_package_needs_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path(), false, "pkg", None);
    let before = std::fs::read(dir.path().join("pkg/evidence.json")).expect("json");
    let again = evidence_from_files(dir.path(), "pkg", &[]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("--force"), "{}", text(&again));
    assert_eq!(
        std::fs::read(dir.path().join("pkg/evidence.json")).expect("json"),
        before,
        "the package is untouched"
    );
    let forced = evidence_from_files(dir.path(), "pkg", &["--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    let verified = run(&["evidence", "verify", "pkg"], None, dir.path());
    assert!(verified.status.success(), "{}", text(&verified));
}

#[test]
fn an_annotation_bypass_is_not_ready_and_comes_with_a_policy_exception() {
    let dir = tempfile::tempdir().expect("tempdir");
    let annotated = pods(true).replace(
        "metadata: {name: web, namespace: shop, labels: {app: web}}",
        "metadata: {name: web, namespace: shop, labels: {app: web}, annotations: {polscan.io/exception: 'disallow-latest/no-latest, require-app-lable', polscan.io/exception-reason: vendor image INC-42, polscan.io/exception-expires: '2099-01-01', polscan.io/exception-owner: team-shop}}",
    );
    assert_ne!(annotated, pods(true));
    let output = package_of(dir.path(), POLICIES, &annotated, "pkg", None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    // The misspelt policy name is reported, not silently ignored.
    let reports = std::fs::read_to_string(dir.path().join("reports.yaml")).expect("reports");
    assert!(
        reports.contains("names policy require-app-lable, which is not loaded"),
        "{reports}"
    );
    let pkg = dir.path().join("pkg");
    let evidence = evidence_json(&pkg);
    assert_schema(&evidence);
    assert_eq!(verdict(&evidence, "disallow-latest"), "not-ready");
    let reasons = evidence["policies"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["name"] == "disallow-latest"))
        .map(|p| p["reasons"].to_string())
        .unwrap_or_default();
    assert!(
        reasons.contains("shop/Pod/web") && reasons.contains("exceptions/shop-pod-web.yaml"),
        "{reasons}"
    );
    // A path that works pasted from any folder (walk46 F8).
    let absolute = pkg
        .canonicalize()
        .expect("package")
        .join("exceptions/shop-pod-web.yaml");
    assert!(
        text(&output).contains(&format!(
            "commit {} to the policy repository",
            absolute.display()
        )),
        "{}",
        text(&output)
    );
    let file = std::fs::read_to_string(pkg.join("exceptions/shop-pod-web.yaml")).expect("file");
    let exception: Value = serde_yaml::from_str(&file).expect("yaml");
    assert_eq!(exception["kind"], "PolicyException");
    assert_eq!(
        exception["spec"]["exceptions"][0]["policyName"],
        "disallow-latest"
    );
    assert_eq!(
        exception["spec"]["match"]["any"][0]["resources"]["names"][0],
        "web"
    );
    assert_eq!(
        exception["metadata"]["annotations"]["polscan.io/exception-owner"],
        "team-shop"
    );
    let manifest = std::fs::read_to_string(pkg.join("MANIFEST")).expect("MANIFEST");
    assert!(
        manifest.contains("  exceptions/shop-pod-web.yaml"),
        "{manifest}"
    );
    let verified = run(&["evidence", "verify", "pkg"], None, dir.path());
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(
        text(&verified).contains("OK: 4 files match"),
        "{}",
        text(&verified)
    );
    for page in ["evidence.md", "index.html"] {
        let rendered = std::fs::read_to_string(pkg.join(page)).expect("page");
        assert!(rendered.contains("exceptions/shop-pod-web.yaml"), "{page}");
    }
}

#[test]
fn fixes_after_a_scan_with_failed_writes_are_unknown() {
    let dir = tempfile::tempdir().expect("tempdir");
    package(dir.path(), true, "first", None);
    let second = package(dir.path(), false, "second-complete", Some("first"));
    assert!(second.status.success(), "{}", text(&second));
    // The same rescan, but its record says two reports were not written.
    let record = std::fs::read_to_string(dir.path().join("scan.yaml")).expect("record");
    let broken = record
        .replace("writeFailedReports: '0'", "writeFailedReports: '2'")
        .replace("complete: 'true'", "complete: 'false'");
    assert_ne!(broken, record, "{record}");
    std::fs::write(dir.path().join("scan.yaml"), broken).expect("record");
    let output = evidence_from_files(dir.path(), "second", &["--since", "first"]);
    let evidence = evidence_json(&dir.path().join("second"));
    assert_schema(&evidence);
    let comparison = &evidence["comparison"];
    assert_eq!(
        comparison["fixedViolations"].as_array().map(Vec::len),
        Some(0),
        "{comparison}"
    );
    assert_eq!(
        comparison["unknownViolations"][0]["resource"], "shop/Pod/web",
        "{comparison}"
    );
    assert!(
        text(&output)
            .contains("0 new violations in the scans' reports, 0 fixed, 0 excused (now skipped by an exception), 1 not known to be fixed"),
        "{}",
        text(&output)
    );
    assert_eq!(verdict(&evidence, "disallow-latest"), "not-ready");
}

/// Issue #17: a scan stopped by SIGTERM confirms nothing about an enforced
/// policy, but is no reason to roll it back: RESCAN, with the record's
/// reason and no rollback command; --require-ready still fails.
#[test]
fn a_stopped_scan_after_the_switch_is_rescan_not_roll_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let enforced = POLICIES.replace(
        "validationFailureAction: Audit",
        "validationFailureAction: Enforce",
    );
    assert_ne!(enforced, POLICIES);
    let switch = package_of(dir.path(), &enforced, &pods(false), "switch", None);
    assert!(switch.status.success(), "{}", text(&switch));
    // The same scan, recorded as one SIGTERM stopped.
    let record = std::fs::read_to_string(dir.path().join("scan.yaml")).expect("record");
    let stopped = record.replace(
        "complete: 'true'",
        "complete: 'false'\n  error: stopped by SIGTERM (or Ctrl-C) before the scan finished",
    );
    assert_ne!(stopped, record, "{record}");
    std::fs::write(dir.path().join("scan.yaml"), stopped).expect("record");
    let output = evidence_from_files(
        dir.path(),
        "stopped",
        &["--since", "switch", "--require-ready"],
    );
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(!shown.contains("ROLL BACK"), "{shown}");
    assert!(
        shown.contains("rollback check disallow-latest: RESCAN: not confirmed since the previous package (no rollback condition known): the scan failed: stopped by SIGTERM"),
        "{shown}"
    );
    assert!(
        shown.contains("decision: RESCAN 2 · GO 0 · NO-GO 0 · WAIT 0"),
        "{shown}"
    );
    let evidence = evidence_json(&dir.path().join("stopped"));
    assert_schema(&evidence);
    let decision = &evidence["decisions"][0];
    assert_eq!(decision["decision"], "rescan", "{decision}");
    assert!(
        !decision["instructions"]
            .to_string()
            .contains("kubectl patch"),
        "{decision}"
    );
    let check = &evidence["comparison"]["rollbackChecks"][0];
    assert_eq!(check["rollBack"], false, "{check}");
    assert!(
        check["rescan"]
            .as_str()
            .is_some_and(|r| r.contains("stopped by SIGTERM")),
        "{check}"
    );
}

#[test]
fn a_policy_that_evaluated_nothing_is_no_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = format!(
        "{POLICIES}---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: configmap-owner}}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: owner\n    match: {{any: [{{resources: {{kinds: [ConfigMap]}}}}]}}\n    validate: {{message: owner, pattern: {{metadata: {{labels: {{owner: '?*'}}}}}}}}\n"
    );
    let output = package_of(dir.path(), &policies, &pods(false), "pkg", None);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let evidence = evidence_json(&dir.path().join("pkg"));
    assert_schema(&evidence);
    assert_eq!(verdict(&evidence, "configmap-owner"), "no-evidence");
    assert_eq!(verdict(&evidence, "disallow-latest"), "ready");
    assert!(
        text(&output).contains("2 of 3 policies ready to enforce"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_cluster_flag_with_from_is_refused_not_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_inputs(dir.path(), POLICIES, &pods(false));
    assert!(audit(dir.path()).status.success());
    let output = evidence_from_files(dir.path(), "out", &["--kubeconfig", "nowhere.yaml"]);
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("--kubeconfig"), "{}", text(&output));
    assert!(!dir.path().join("out").exists(), "nothing written");
}

/// A ValidatingAdmissionPolicy given as files acts as its binding says.
#[test]
fn a_validating_admission_policy_from_files_takes_its_binding_s_action() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: pinned}
spec:
  matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}]}
  validations: [{expression: \"object.spec.containers.all(c, !c.image.endsWith(':latest'))\"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: pinned-binding}
spec: {policyName: pinned, validationActions: [Audit]}
";
    let output = package_of(dir.path(), policies, &pods(true), "out", None);
    let evidence = evidence_json(&dir.path().join("out"));
    let pinned = evidence["policies"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["name"] == "pinned"))
        .unwrap_or_else(|| panic!("pinned in {evidence}: {}", text(&output)));
    assert_eq!(pinned["kind"], "ValidatingAdmissionPolicy", "{pinned}");
    assert_eq!(pinned["action"], "Audit", "{pinned}");
    assert_eq!(pinned["violations"][0]["action"], "Audit", "{pinned}");
    assert_schema(&evidence);
    let markdown = std::fs::read_to_string(dir.path().join("out/evidence.md")).expect("md");
    assert!(!markdown.contains("Enforced while"), "{markdown}");
    // Its one rule is named as its results name it (the policy): once every
    // Pod complies, it is ready, not "no evidence" for an unnamed rule.
    let clean = tempfile::tempdir().expect("tempdir");
    package_of(clean.path(), policies, &pods(false), "out", None);
    let evidence = evidence_json(&clean.path().join("out"));
    assert_eq!(verdict(&evidence, "pinned"), "ready", "{evidence}");
}

/// A ClusterPolicy in Audit that an override enforces in namespace `shop`:
/// a new violation in `ops`, which Kyverno only audits, is no reason to roll
/// back; one in `shop` is, and the rollback changes the override.
#[test]
fn an_action_override_enforces_only_where_it_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: disallow-latest}
spec:
  validationFailureAction: Audit
  validationFailureActionOverrides: [{action: Enforce, namespaces: [shop]}]
  rules:
  - name: no-latest
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: use a pinned tag
      pattern: {spec: {containers: [{image: '!*:latest'}]}}
";
    let clean = pods(false);
    package_of(dir.path(), policies, &clean, "first", None);
    let first = evidence_json(&dir.path().join("first"));
    let policy = &first["policies"][0];
    assert_eq!(policy["action"], "Mixed", "{policy}");
    assert_eq!(
        policy["actionDetail"],
        "Enforce in namespace(s) shop; Audit elsewhere"
    );
    assert_schema(&first);

    let in_ops = clean.replace("image: 'agent:2'", "image: 'agent:latest'");
    let output = package_of(dir.path(), policies, &in_ops, "ops", Some("first"));
    let ops = evidence_json(&dir.path().join("ops"));
    let check = &ops["comparison"]["rollbackChecks"][0];
    assert_eq!(check["rollBack"], false, "{check}\n{}", text(&output));
    assert_eq!(ops["comparison"]["newViolations"][0]["action"], "Audit");
    assert_schema(&ops);

    let output = package_of(dir.path(), policies, &pods(true), "shop", Some("first"));
    let shop = evidence_json(&dir.path().join("shop"));
    let check = &shop["comparison"]["rollbackChecks"][0];
    assert_eq!(check["rollBack"], true, "{check}");
    assert!(
        text(&output).contains("ROLL BACK TO AUDIT"),
        "{}",
        text(&output)
    );
    let command = shop["policies"][0]["rollback"]["command"]
        .as_str()
        .expect("a rollback command");
    assert!(
        command.contains("/spec/validationFailureActionOverrides/0/action"),
        "{command}"
    );
    // The decision calls it out, with that command.
    let decision = &shop["decisions"][0];
    assert_eq!(decision["decision"], "roll-back", "{decision}");
    assert_eq!(decision["instructions"][0], command);
    assert!(text(&output).contains("decision: ROLL BACK 1 · GO 0 · NO-GO 0 · WAIT 0"));
    assert_schema(&shop);
}

/// M1: an Audit override keeps its namespace in Audit whatever the
/// policy's own action — before the switch the decision says so, after it
/// no Enforce command (a no-op) is printed.
#[test]
fn an_audit_override_is_named_and_no_no_op_command_follows_the_switch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let override_ops = "  validationFailureAction: Audit
  validationFailureActionOverrides: [{action: Audit, namespaces: [ops]}]
  rules:
  - name: app
";
    let policies = POLICIES.replacen(
        "  validationFailureAction: Audit\n  rules:\n  - name: app\n",
        override_ops,
        1,
    );
    assert_ne!(policies, POLICIES);
    let before = package_of(dir.path(), &policies, &pods(false), "before", None);
    assert!(before.status.success(), "{}", text(&before));
    assert!(
        text(&before).contains(
            "require-app-label: GO — stays in Audit in namespace(s) ops (an Audit override; the switch leaves it)"
        ),
        "{}",
        text(&before)
    );
    let evidence = evidence_json(&dir.path().join("before"));
    assert_schema(&evidence);
    let decision = evidence["decisions"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["policy"] == "require-app-label"))
        .expect("a decision");
    assert_eq!(decision["decision"], "go");
    assert_eq!(decision["staysAudit"][0], "namespace(s) ops");

    let enforce = "kubectl patch clusterpolicy/require-app-label --type=merge -p '{\"spec\":{\"validationFailureAction\":\"Enforce\"}}'";
    let switched = policies.replacen(
        override_ops,
        &override_ops.replacen("Audit", "Enforce", 1),
        1,
    );
    let after = package_of(dir.path(), &switched, &pods(false), "after", Some("before"));
    assert!(after.status.success(), "{}", text(&after));
    let evidence = evidence_json(&dir.path().join("after"));
    assert_schema(&evidence);
    let decision = evidence["decisions"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["policy"] == "require-app-label"))
        .expect("a decision");
    assert_eq!(decision["decision"], "enforced", "{decision}");
    assert_eq!(decision["staysAudit"][0], "namespace(s) ops");
    assert!(decision.get("instructions").is_none(), "{decision}");
    for page in ["after/evidence.md", "after/index.html"] {
        let text = std::fs::read_to_string(dir.path().join(page)).expect(page);
        assert!(!text.contains(enforce), "{page} prints the no-op command");
    }
    let md = std::fs::read_to_string(dir.path().join("before/evidence.md")).expect("md");
    assert!(md.contains(enforce), "before the switch, the command: {md}");
}

#[test]
fn usage_errors_of_evidence_exit_64() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing_out = run(&["evidence"], None, dir.path());
    assert_eq!(missing_out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&missing_out.stderr).contains("--out <dir> is required"));
    let both = run(
        &[
            "evidence",
            "--out",
            "pkg",
            "--from",
            "reports.yaml",
            "--kubeconfig",
            "kc",
        ],
        None,
        dir.path(),
    );
    assert_eq!(both.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&both.stderr).contains("drop one of them"));
}

/// `--require-ready --policy <name>` for a name no policy has must not
/// pass on an empty package: a typo is never "ready".
#[test]
fn require_ready_for_a_policy_that_does_not_exist_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_inputs(dir.path(), POLICIES, &pods(false));
    assert!(audit(dir.path()).status.success());
    let ready = evidence_from_files(
        dir.path(),
        "known",
        &["--require-ready", "--policy", "require-app-label"],
    );
    assert_eq!(ready.status.code(), Some(0), "{}", text(&ready));
    let typo = evidence_from_files(
        dir.path(),
        "typo",
        &["--require-ready", "--policy", "require-app-lable"],
    );
    // A usage error, with the nearest name, and no package (walk47 W47-6).
    assert_eq!(typo.status.code(), Some(64), "{}", text(&typo));
    assert!(
        text(&typo).contains(
            "--policy require-app-lable: no such policy in the cluster's policies or reports (did you mean require-app-label?)"
        ),
        "{}",
        text(&typo)
    );
    assert!(!dir.path().join("typo").exists());
}

#[test]
fn policy_files_and_report_files_may_be_comma_separated() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_inputs(dir.path(), POLICIES, &pods(true));
    let reports = audit(dir.path());
    assert!(reports.status.success(), "{}", text(&reports));
    // The two policies in two files, the reports twice over in two files.
    let (first, second) = POLICIES.split_once("\n---\n").expect("two documents");
    std::fs::write(dir.path().join("a.yaml"), first).expect("a");
    std::fs::write(dir.path().join("b.yaml"), second).expect("b");
    std::fs::copy(
        dir.path().join("reports.yaml"),
        dir.path().join("copy.yaml"),
    )
    .expect("copy");
    let output = run(
        &[
            "evidence",
            "--out",
            "split",
            "--from",
            "reports.yaml,copy.yaml",
            "--policies-from",
            "a.yaml,b.yaml",
            "--scan-record",
            "scan.yaml",
            "--min-soak",
            "0",
        ],
        None,
        dir.path(),
    );
    assert!(output.status.success(), "{}", text(&output));
    let evidence = evidence_json(&dir.path().join("split"));
    assert_eq!(verdict(&evidence, "require-app-label"), "ready");
    assert_eq!(verdict(&evidence, "disallow-latest"), "not-ready");
}

/// A validator for docs/evidence-merged.schema.json.
fn merged_schema() -> jsonschema::Validator {
    validator(&repository_file("docs/evidence-merged.schema.json"))
}

#[test]
fn merged_environments_are_ready_only_where_every_environment_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    // dev is clean; production still runs a latest image.
    for (environment, latest) in [("dev", false), ("production", true)] {
        write_inputs(dir.path(), POLICIES, &pods(latest));
        assert!(audit(dir.path()).status.success());
        let built = evidence_from_files(dir.path(), environment, &["--environment", environment]);
        assert!(built.status.success(), "{}", text(&built));
    }
    let merge = |args: &[&str]| {
        let mut all = vec!["evidence", "merge"];
        all.extend_from_slice(args);
        run(&all, None, dir.path())
    };
    let merged = merge(&["dev", "production", "--out", "merged", "--require-ready"]);
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged));
    assert!(
        text(&merged).contains("1 of 2 policies ready in every environment (dev, production)"),
        "{}",
        text(&merged)
    );
    // The terminal's decision is the pages' (walk46 F3).
    let row = |name: &str| {
        text(&merged)
            .lines()
            .find(|l| l.starts_with(name))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(
        row("require-app-label").contains("ready for production"),
        "{}",
        text(&merged)
    );
    assert!(
        row("disallow-latest").contains("not ready for production"),
        "{}",
        text(&merged)
    );
    let bytes = std::fs::read(dir.path().join("merged/merged.json")).expect("merged.json");
    let json: Value = serde_json::from_slice(&bytes).expect("json");
    let errors = schema_errors(&merged_schema(), &json);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let policy = |name: &str| {
        json["policies"]
            .as_array()
            .and_then(|list| list.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    assert_eq!(policy("require-app-label")["verdict"], "ready");
    let latest = policy("disallow-latest");
    assert_eq!(latest["verdict"], "not-ready");
    assert!(
        latest["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("not ready in production: ")),
        "{latest}"
    );
    assert_eq!(latest["environments"][0]["verdict"], "ready");
    assert_eq!(latest["environments"][1]["counts"]["fail"], 1);
    assert_eq!(
        latest["environments"][1]["violators"][0]["owner"]["name"],
        "web"
    );
    assert_eq!(json["environments"][1]["environment"], "production");
    let mut broken = json.clone();
    broken["policies"][0]["verdict"] = Value::from("no-evidence");
    assert!(!merged_schema().is_valid(&broken), "merged: ready or not");

    let verified = run(&["evidence", "verify", "merged"], None, dir.path());
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).contains("OK: 3 files match"));
    let markdown = std::fs::read_to_string(dir.path().join("merged/evidence.md")).expect("md");
    assert!(
        markdown.contains("| Policy | dev | production | Decision |"),
        "{markdown}"
    );

    // Without --require-ready the decision is only reported.
    let reported = merge(&["dev", "production", "--out", "again"]);
    assert!(reported.status.success(), "{}", text(&reported));
    // One environment twice, a file that is no package, a tampered
    // package: refused, naming the package.
    let twice = merge(&["dev", "dev", "--out", "twice"]);
    assert!(!twice.status.success());
    assert!(
        text(&twice).contains("dev and dev are both environment dev"),
        "{}",
        text(&twice)
    );
    let not_package = merge(&["dev", "pods.yaml", "--out", "no"]);
    assert!(!not_package.status.success());
    assert!(
        text(&not_package).contains("pods.yaml: not a directory"),
        "{}",
        text(&not_package)
    );
    std::fs::write(dir.path().join("production/evidence.md"), "all ready").expect("tamper");
    let tampered = merge(&["dev", "production", "--out", "tampered"]);
    assert!(!tampered.status.success());
    assert!(
        text(&tampered).contains("production: does not verify, so it is not merged"),
        "{}",
        text(&tampered)
    );
    assert!(!dir.path().join("tampered").exists(), "nothing written");
    let one = merge(&["dev", "--out", "one"]);
    assert_eq!(one.status.code(), Some(64), "{}", text(&one));
}

/// Offline evidence (`--from`) has no soak history: a clean policy waits,
/// said so, and `--require-ready` fails; `--min-soak 0` turns the rule off
/// explicitly, and the package says that too.
#[test]
fn offline_evidence_soak_is_unknown() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_inputs(dir.path(), POLICIES, &pods(false));
    assert!(audit(dir.path()).status.success());
    let offline = |out: &str, extra: &[&str]| {
        let mut args = vec!["--require-ready", "--policy", "require-app-label"];
        args.extend_from_slice(extra);
        offline_evidence(dir.path(), out, &args)
    };
    let waits = offline("default", &[]);
    assert_eq!(waits.status.code(), Some(1), "{}", text(&waits));
    let evidence = evidence_json(&dir.path().join("default"));
    assert_schema(&evidence);
    assert_eq!(verdict(&evidence, "require-app-label"), "wait");
    let policy = &evidence["policies"][0];
    assert_eq!(policy["soak"]["status"], "unknown");
    let reason = policy["reasons"][0].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("soak unknown: offline evidence (--from) has no scan history"),
        "{reason}"
    );
    let markdown = std::fs::read_to_string(dir.path().join("default/evidence.md")).expect("md");
    assert!(markdown.contains("soak unknown"), "{markdown}");

    let off = offline("off", &["--min-soak", "0"]);
    assert_eq!(off.status.code(), Some(0), "{}", text(&off));
    let evidence = evidence_json(&dir.path().join("off"));
    assert_eq!(verdict(&evidence, "require-app-label"), "ready");
    assert_eq!(evidence["policies"][0]["soak"]["status"], "off");

    // A usage error: exit 64, as clap's own.
    let wrong = offline("wrong", &["--min-soak", "a week"]);
    assert_eq!(wrong.status.code(), Some(64), "{}", text(&wrong));
    assert!(
        text(&wrong).contains("--min-soak \"a week\""),
        "{}",
        text(&wrong)
    );
}

/// Pods `web` (namespace shop) and `agent`, `lone` (namespace ops), all on
/// a latest tag; `agent` carries an `owner` label.
const LATEST_PODS: &str = "apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: 'nginx:latest'}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops, labels: {app: agent, owner: sre}}
spec: {containers: [{name: c, image: 'agent:latest'}]}
---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: ops, labels: {app: lone}}
spec: {containers: [{name: c, image: 'lone:latest'}]}
";

/// Namespace shop, owned by team storefront; ops without a team label.
const NAMESPACES: &str = "apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: storefront}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops}
";

/// `disallow-latest`'s violators in evidence.json: resource name → team
/// (`team@label/from`, or `-`).
fn routed(evidence: &Value) -> Vec<(String, String)> {
    let policy = evidence["policies"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["name"] == "disallow-latest"))
        .expect("disallow-latest");
    let mut routed: Vec<(String, String)> = policy["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            let team = &v["team"];
            (
                v["resource"]["name"].as_str().unwrap_or("").to_string(),
                if team.is_null() {
                    "-".to_string()
                } else {
                    format!(
                        "{}@{}/{}",
                        team["team"].as_str().unwrap_or(""),
                        team["label"].as_str().unwrap_or(""),
                        team["from"].as_str().unwrap_or("")
                    )
                },
            )
        })
        .collect();
    routed.sort();
    routed
}

#[test]
fn violators_are_routed_to_teams_by_the_labels_of_manifests_given_with_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = format!(
        "{POLICIES}---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: configmap-owner}}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: owner\n    match: {{any: [{{resources: {{kinds: [ConfigMap]}}}}]}}\n    validate: {{message: owner, pattern: {{metadata: {{labels: {{owner: '?*'}}}}}}}}\n"
    );
    write_inputs(dir.path(), &policies, LATEST_PODS);
    std::fs::write(dir.path().join("namespaces.yaml"), NAMESPACES).expect("namespaces");
    let reports = audit(dir.path());
    assert!(
        reports.status.success() || reports.status.code() == Some(1),
        "{}",
        text(&reports)
    );
    let record = std::fs::read_to_string(dir.path().join("scan.yaml")).expect("scan.yaml");
    assert!(record.contains("kindsByRule"), "{record}");

    // Reports only: no labels, every team unknown.
    let output = evidence_from_files(dir.path(), "bare", &[]);
    assert!(output.status.success(), "{}", text(&output));
    let evidence = evidence_json(&dir.path().join("bare"));
    assert_schema(&evidence);
    assert_eq!(evidence["ownerRouting"]["labelsRead"], false);
    assert!(routed(&evidence).iter().all(|(_, team)| team == "-"));
    let page = std::fs::read_to_string(dir.path().join("bare/evidence.md")).expect("md");
    assert!(page.contains("team unknown: no labels were read"), "{page}");

    // With the manifests and Namespaces: resource label, then namespace.
    let output = evidence_from_files(
        dir.path(),
        "routed",
        &["--from", "pods.yaml,namespaces.yaml"],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        !text(&output).contains("is not a report"),
        "{}",
        text(&output)
    );
    let evidence = evidence_json(&dir.path().join("routed"));
    assert_schema(&evidence);
    assert_eq!(
        routed(&evidence),
        vec![
            ("agent".to_string(), "sre@owner/resource".to_string()),
            ("lone".to_string(), "-".to_string()),
            ("web".to_string(), "storefront@team/namespace".to_string()),
        ]
    );
    let page = std::fs::read_to_string(dir.path().join("routed/evidence.md")).expect("md");
    assert!(
        page.contains("### Who must fix what: disallow-latest"),
        "{page}"
    );
    assert!(
        page.contains("**storefront: 1 violation(s), 1 owner (label team on the namespace)**"),
        "{page}"
    );
    assert!(
        page.contains("**no owner label (looked for: team, owner, app.kubernetes.io/part-of): 1 violation(s), 1 owner**"),
        "{page}"
    );
    let html = std::fs::read_to_string(dir.path().join("routed/index.html")).expect("html");
    assert!(
        html.contains("Who must fix what"),
        "no routing in index.html"
    );

    // Coverage per rule: the kinds evaluated, and a rule with nothing in
    // scope says so (and is no evidence, never ready).
    let coverage = |policy: &str| {
        evidence["policies"]
            .as_array()
            .and_then(|list| list.iter().find(|p| p["name"] == policy))
            .map(|p| p["ruleEvidence"][0]["coverage"].clone())
            .expect("coverage")
    };
    assert_eq!(
        coverage("disallow-latest")["kinds"],
        serde_json::json!({"Pod": 3})
    );
    assert_eq!(coverage("disallow-latest")["evaluated"], 3);
    let idle = coverage("configmap-owner");
    assert_eq!(idle["evaluated"], 0);
    assert!(
        idle["noResourceInScope"]
            .as_str()
            .unwrap_or("")
            .starts_with("no resource in scope"),
        "{idle}"
    );
    assert_eq!(verdict(&evidence, "configmap-owner"), "no-evidence");
    assert!(
        page.contains("| owner | — | 0 | no resource in scope"),
        "{page}"
    );

    // --owner-label owner: the namespace's team label is not looked for.
    let output = evidence_from_files(
        dir.path(),
        "by-owner",
        &[
            "--from",
            "pods.yaml,namespaces.yaml",
            "--owner-label",
            "owner",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let evidence = evidence_json(&dir.path().join("by-owner"));
    assert_eq!(
        evidence["ownerRouting"]["labels"],
        serde_json::json!(["owner"])
    );
    assert_eq!(
        routed(&evidence),
        vec![
            ("agent".to_string(), "sre@owner/resource".to_string()),
            ("lone".to_string(), "-".to_string()),
            ("web".to_string(), "-".to_string()),
        ]
    );
}

/// walk31 F15: `--from` a file or folder holding no report wrote an empty
/// package and passed `--require-ready` with exit 0: a gate that judges
/// nothing. It is an error naming what was given.
#[test]
fn evidence_from_files_without_reports_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_inputs(dir.path(), POLICIES, LATEST_PODS);
    std::fs::create_dir(dir.path().join("empty")).expect("empty dir");
    for from in ["pods.yaml", "empty"] {
        let output = run(
            &[
                "evidence",
                "--out",
                "out",
                "--from",
                from,
                "--require-ready",
            ],
            None,
            dir.path(),
        );
        assert_eq!(output.status.code(), Some(2), "{from}: {}", text(&output));
        assert!(
            text(&output).contains(&format!(
                "--from {from}: no PolicyReport or ClusterPolicyReport"
            )),
            "{}",
            text(&output)
        );
        assert!(
            !dir.path().join("out").exists(),
            "{from}: a package was written"
        );
    }
}
