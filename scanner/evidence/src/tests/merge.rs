//! Every environment clean: packages built as data are merged; the merged
//! verdict is ready only when every environment is ready with the same
//! rules, and says which environment stands in the way. A merged package
//! verifies like a single one, and unverified packages are refused.

use super::*;
use crate::merge::{merge, EnvironmentEvidence};
use crate::model::merged::MergedEvidence;
use crate::output::merged as merged_pages;

/// A package of `environment` with `policies` and their `reports`.
fn environment(
    environment: &str,
    reports: Vec<Value>,
    policies: Vec<Value>,
) -> EnvironmentEvidence {
    let mut evidence = build(&input(reports, policies, Some(scan(true, &[]))));
    evidence.environment = Some(environment.into());
    EnvironmentEvidence {
        package: format!("evidence/{environment}"),
        evidence,
        evidence_sha256: "0".repeat(64),
        soak: BTreeMap::new(),
    }
}

fn clean(environment_name: &str, action: &str) -> EnvironmentEvidence {
    environment(
        environment_name,
        vec![report(vec![result("labels", "pass", "a", "p1")])],
        vec![policy("labels", action, "2026-11-01T00:00:00Z")],
    )
}

fn merged(packages: &[EnvironmentEvidence]) -> MergedEvidence {
    merge(packages, at("2026-11-23T00:00:00Z"), "test").expect("merged")
}

#[test]
fn ready_in_every_environment_is_ready_whatever_each_enforces_with() {
    // dev enforces already, production audits: the same rules.
    let result = merged(&[clean("dev", "Enforce"), clean("production", "Audit")]);
    let labels = &result.policies[0];
    assert_eq!(labels.verdict, Verdict::Ready, "{:?}", labels.reasons);
    assert!(labels.reasons.is_empty());
    assert_eq!(result.labels(), ["dev", "production"]);
    assert_eq!(
        labels.environments[0].action.as_deref(),
        Some("Enforce"),
        "each environment's action side by side"
    );
    assert_eq!(labels.environments[1].action.as_deref(), Some("Audit"));
    assert!(merged_pages::markdown(&result).contains("✅ ready for production |"));
    // Enforced everywhere: nothing left to promote, and the page says so.
    let enforced = merged(&[clean("dev", "Enforce"), clean("production", "Enforce")]);
    let page = merged_pages::markdown(&enforced);
    assert!(
        page.contains("✅ enforced in every environment |"),
        "{page}"
    );
}

#[test]
fn not_ready_in_one_environment_is_not_ready_naming_it() {
    let dirty = environment(
        "production",
        vec![report(vec![
            result("labels", "fail", "shop", "web"),
            result("labels", "fail", "shop", "api"),
            result("labels", "pass", "a", "p1"),
        ])],
        vec![policy("labels", "Audit", "2026-11-01T00:00:00Z")],
    );
    let result = merged(&[clean("dev", "Audit"), dirty]);
    let labels = &result.policies[0];
    assert_eq!(labels.verdict, Verdict::NotReady);
    assert_eq!(labels.reasons.len(), 1, "{:?}", labels.reasons);
    assert!(
        labels.reasons[0].starts_with("not ready in production: "),
        "{:?}",
        labels.reasons
    );
    let production = &labels.environments[1];
    assert_eq!(production.counts.map(|c| c.fail), Some(2));
    assert_eq!(production.violating_owners, 2);
    assert_eq!(production.violators[0].violations, 1);
    assert_eq!(production.violators[0].owner.to_string(), "shop/Pod/api");
    assert_eq!(labels.environments[0].verdict, Some(Verdict::Ready));
}

#[test]
fn no_evidence_elsewhere_is_not_ready_for_production() {
    let empty = environment(
        "staging",
        Vec::new(),
        vec![policy("labels", "Audit", "2026-11-01T00:00:00Z")],
    );
    assert_eq!(empty.evidence.policies[0].verdict, Verdict::NoEvidence);
    let result = merged(&[clean("dev", "Audit"), empty, clean("production", "Audit")]);
    let labels = &result.policies[0];
    assert_eq!(labels.verdict, Verdict::NotReady);
    assert!(
        labels.reasons[0].starts_with("no evidence in staging"),
        "{:?}",
        labels.reasons
    );
}

#[test]
fn waiting_elsewhere_is_not_ready_for_production_with_its_reason() {
    // A wait is not only a soak: a stale scan or an incomplete recheck is
    // one too, so the merged reason says "waiting" and gives the reason.
    let mut staging = clean("staging", "Audit");
    staging.evidence.policies[0].verdict = Verdict::Wait;
    staging.evidence.policies[0].reasons =
        vec!["the newest scan is 9 day(s) old (--max-scan-age 7d)".into()];
    let result = merged(&[clean("dev", "Audit"), staging, clean("production", "Audit")]);
    let labels = &result.policies[0];
    assert_eq!(labels.verdict, Verdict::NotReady);
    assert_eq!(
        labels.reasons[0],
        "waiting in staging: the newest scan is 9 day(s) old (--max-scan-age 7d)",
        "{:?}",
        labels.reasons
    );
    assert_eq!(Verdict::Wait.label(), "clean so far, waiting");
}

#[test]
fn a_policy_missing_from_an_environment_is_not_ready_there() {
    let two = environment(
        "dev",
        vec![report(vec![
            result("labels", "pass", "a", "p1"),
            result("extra", "pass", "a", "p1"),
        ])],
        vec![
            policy("labels", "Audit", "2026-11-01T00:00:00Z"),
            policy("extra", "Audit", "2026-11-01T00:00:00Z"),
        ],
    );
    let result = merged(&[two, clean("production", "Audit")]);
    let extra = result
        .policies
        .iter()
        .find(|p| p.name == "extra")
        .expect("extra");
    assert_eq!(extra.verdict, Verdict::NotReady);
    assert!(
        extra.reasons[0].starts_with("not in production's package"),
        "{:?}",
        extra.reasons
    );
    assert_eq!(extra.environments[1].verdict, None);
    assert_eq!(extra.environments[1].summary(), "not in the package");
    let labels = result
        .policies
        .iter()
        .find(|p| p.name == "labels")
        .expect("labels");
    assert_eq!(labels.verdict, Verdict::Ready);
}

#[test]
fn different_rules_in_two_environments_are_not_ready() {
    let mut changed = policy("labels", "Audit", "2026-11-01T00:00:00Z");
    changed["spec"]["rules"][0]["validate"]["pattern"] =
        json!({"metadata": {"labels": {"app": "?*"}}});
    let production = environment(
        "production",
        vec![report(vec![result("labels", "pass", "a", "p1")])],
        vec![changed],
    );
    let result = merged(&[clean("dev", "Audit"), production]);
    let labels = &result.policies[0];
    assert_eq!(labels.environments[1].verdict, Some(Verdict::Ready));
    assert_eq!(labels.verdict, Verdict::NotReady);
    assert_eq!(
        labels.reasons,
        ["rules differ between dev and production: dev's clean result says nothing about production's policy"]
    );

    // A package without rules digests (an older polscan's) is compared by
    // the whole document: an action change then counts too.
    let mut old_dev = clean("dev", "Enforce");
    let mut old_production = clean("production", "Audit");
    for package in [&mut old_dev, &mut old_production] {
        package.evidence.policies[0].info.rules_digest = None;
    }
    let result = merged(&[old_dev, old_production]);
    assert_eq!(result.policies[0].verdict, Verdict::NotReady);
    assert!(result.policies[0].reasons[0].contains("without rulesDigest"));

    // With no digest at all, nothing says they are the same.
    let mut bare = clean("production", "Audit");
    bare.evidence.policies[0].info.rules_digest = None;
    bare.evidence.policies[0].info.digest = None;
    let result = merged(&[clean("dev", "Audit"), bare]);
    assert_eq!(
        result.policies[0].reasons,
        ["cannot tell whether dev and production hold the same policy: production keeps no digest of it"]
    );
}

#[test]
fn two_packages_of_one_environment_or_too_few_are_refused() {
    let error = merge(
        &[clean("production", "Audit"), {
            let mut other = clean("Production", "Audit");
            other.package = "evidence/prod-2".into();
            other
        }],
        at("2026-11-23T00:00:00Z"),
        "test",
    )
    .expect_err("one environment twice");
    let text = error.to_string();
    assert!(
        text.contains("evidence/production and evidence/prod-2 are both environment Production"),
        "{text}"
    );
    let error = merge(&[clean("dev", "Audit")], at("2026-11-23T00:00:00Z"), "test")
        .expect_err("one package");
    assert!(
        error.to_string().contains("at least two packages"),
        "{error}"
    );

    let mut old = clean("dev", "Audit");
    old.evidence.schema_version = "polscan.io/evidence/v0".into();
    let error = merge(
        &[clean("production", "Audit"), old],
        at("2026-11-23T00:00:00Z"),
        "test",
    )
    .expect_err("schema versions differ");
    assert!(
        error.to_string().contains("different schema versions"),
        "{error}"
    );
}

#[test]
fn without_an_environment_the_label_is_the_cluster() {
    let mut a = clean("x", "Audit");
    a.evidence.environment = None;
    a.evidence.cluster.server = Some("https://dev.example:6443".into());
    let mut b = clean("x", "Audit");
    b.evidence.environment = None;
    b.evidence.cluster.kube_system_uid = Some("uid-2".into());
    let result = merged(&[a, b]);
    assert_eq!(result.labels(), ["https://dev.example:6443", "uid-2"]);
    assert!(result.notes.is_empty());
}

#[test]
fn the_soak_is_shown_as_the_package_has_it() {
    let mut production = clean("production", "Audit");
    production.soak.insert(
        "labels".into(),
        json!({"cleanSince": "2026-11-16T00:00:00Z", "days": 7, "history": []}),
    );
    let result = merged(&[clean("dev", "Audit"), production]);
    let column = &result.policies[0].environments[1];
    assert_eq!(
        column.soak_summary().as_deref(),
        Some("cleanSince: 2026-11-16T00:00:00Z, days: 7")
    );
    assert!(
        merged_pages::markdown(&result).contains("soak: cleanSince: 2026-11-16T00:00:00Z, days: 7")
    );
    // A soak with its summary (as polscan writes it) shows only that.
    let mut production = clean("production", "Audit");
    production.soak.insert(
        "labels".into(),
        json!({"status": "wait", "days": 2.0, "remainingDays": 5, "summary": "WAIT: 5 more day(s) (clean since 2026-11-16, 2 scan(s) over 2 day(s))"}),
    );
    let result = merged(&[clean("dev", "Audit"), production]);
    let page = merged_pages::markdown(&result);
    assert!(
        page.contains(
            "soak: WAIT: 5 more day(s) (clean since 2026-11-16, 2 scan(s) over 2 day(s))"
        ),
        "{page}"
    );
    assert!(!page.contains("remainingDays"), "{page}");
}

#[test]
fn a_merged_package_verifies_and_only_verified_packages_are_merged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dev = dir.path().join("dev");
    let production = dir.path().join("production");
    package::write(&dev, &clean("dev", "Audit").evidence, false).expect("dev");
    package::write(&production, &clean("production", "Audit").evidence, false).expect("production");
    let read = [
        package::read_environment(&dev).expect("dev"),
        package::read_environment(&production).expect("production"),
    ];
    assert_eq!(read[0].evidence_sha256.len(), 64);
    let result = merged(&read);
    assert_eq!(result.policies[0].verdict, Verdict::Ready);
    let out = dir.path().join("merged");
    package::write_merged(&out, &result, false).expect("written");
    let verified = package::verify(&out).expect("verify");
    assert!(verified.ok(), "{:?}", verified.problems);
    assert_eq!(verified.checked.len(), 3);
    assert_eq!(verified.header["environments"], "dev, production");
    let html = std::fs::read_to_string(out.join("index.html")).expect("html");
    assert!(html.contains("data-decision=\"ready\""), "{html}");

    // A merged package is not merged again, nor a previous package.
    let error = package::read_environment(&out).expect_err("merged");
    assert!(error.to_string().contains("a merged package"), "{error}");
    assert!(package::read_previous(&out).is_err());
    // Editing merged.json is caught.
    let json = out.join("merged.json");
    let text = std::fs::read_to_string(&json).expect("json");
    std::fs::write(&json, text.replace("\"ready\"", "\"not-ready\"")).expect("tamper");
    assert!(!package::verify(&out).expect("verify").ok());

    // A tampered package is refused, naming what failed.
    let page = dev.join("evidence.md");
    std::fs::write(&page, "all ready").expect("tamper");
    let error = package::read_environment(&dev).expect_err("tampered");
    let text = error.to_string();
    assert!(text.contains("does not verify"), "{text}");
    assert!(text.contains("evidence.md was modified"), "{text}");
    // Not a package at all.
    let error = package::read_environment(dir.path()).expect_err("no package");
    assert!(
        error.to_string().contains("not an evidence package"),
        "{error}"
    );
}

/// walk46 F3b: an environment whose package calls for a rollback says so
/// first in the merge, with what to run; it read as "not ready for
/// production", the opposite of what is due.
#[test]
fn a_rollback_due_in_an_environment_leads_the_merged_reasons() {
    let mut dev = environment(
        "dev",
        vec![report(vec![result("labels", "fail", "a", "p1")])],
        vec![policy("labels", "Enforce", "2026-11-01T00:00:00Z")],
    );
    let decision = dev
        .evidence
        .decisions
        .iter_mut()
        .find(|d| d.policy == "labels")
        .expect("a decision");
    decision.decision = crate::model::Decision::RollBack;
    decision.instructions = vec!["git apply patches/labels/rollback.patch".into()];
    let result = merged(&[dev, clean("production", "Enforce")]);
    let labels = &result.policies[0];
    assert_eq!(labels.verdict, Verdict::NotReady);
    assert_eq!(
        labels.reasons[0],
        "ROLL BACK in dev: git apply patches/labels/rollback.patch"
    );
}
