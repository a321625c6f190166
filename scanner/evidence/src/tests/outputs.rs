//! The outputs: the evidence package (verification, replacing), the HTML
//! and Markdown pages (escaping, capped lists, owner counts, the header's
//! reason for an incomplete scan).

use super::*;

#[test]
fn a_package_verifies_until_a_file_is_changed_added_or_removed() {
    let evidence = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "p1")])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pkg");
    package::write(&out, &evidence, false).expect("written");
    let verified = package::verify(&out).expect("verify");
    assert!(verified.ok(), "{:?}", verified.problems);
    assert_eq!(verified.checked.len(), 3);
    assert_eq!(verified.header["cluster-kube-system-uid"], "uid-1");
    assert_eq!(package::read_previous(&out).expect("previous"), evidence);
    assert_eq!(
        package::read_previous(&out.join("evidence.json")).expect("previous"),
        evidence
    );
    // Streamed to disk, evidence.json is what serializing it whole gives.
    assert_eq!(
        std::fs::read(out.join("evidence.json")).expect("json"),
        serde_json::to_vec_pretty(&evidence).expect("serialized")
    );
    assert_eq!(
        std::fs::read_to_string(out.join("evidence.md")).expect("md"),
        markdown::render(&evidence)
    );

    let html = out.join("index.html");
    let original = std::fs::read_to_string(&html).expect("html");
    std::fs::write(&html, original.replace("not ready", "ready")).expect("tamper");
    let tampered = package::verify(&out).expect("verify");
    assert!(
        tampered
            .problems
            .iter()
            .any(|p| p.contains("index.html was modified")),
        "{:?}",
        tampered.problems
    );
    assert!(
        package::read_previous(&out).is_err(),
        "a tampered baseline is refused"
    );
    // walk25 F18: also when its evidence.json is named.
    assert!(
        package::read_previous(&out.join("evidence.json")).is_err(),
        "a tampered baseline is refused through its evidence.json"
    );
    std::fs::write(&html, original).expect("restore");
    std::fs::write(out.join("extra.txt"), "x").expect("add");
    assert!(!package::verify(&out).expect("verify").ok());
    // A directory with other files is never overwritten.
    let refused = package::write(&out, &evidence, true).expect_err("refused");
    assert!(refused.to_string().contains("extra.txt"), "{refused}");
    std::fs::remove_file(out.join("extra.txt")).expect("remove");

    // Editing the header of the MANIFEST is caught against evidence.json.
    let manifest = out.join(package::MANIFEST);
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("uid-1", "uid-2")).expect("tamper");
    let header = package::verify(&out).expect("verify");
    assert!(
        header
            .problems
            .iter()
            .any(|p| p.contains("cluster-kube-system-uid")),
        "{:?}",
        header.problems
    );
}

#[test]
fn html_escapes_what_reports_say() {
    let evidence = build(&input(
        vec![report(vec![json!({
            "policy": "dirty", "rule": "check", "result": "fail",
            "message": "<script>alert(1)</script>",
            "resources": [{"kind": "Pod", "namespace": "a", "name": "x"}]
        })])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let page = html::render(&evidence);
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// verify29 V16: a message's `*` and backticks were read as emphasis
/// and code in evidence.md.
#[test]
fn markdown_cells_escape_emphasis_and_code() {
    assert_eq!(
        crate::output::markdown::cell("use `x` or *y*"),
        "use \\`x\\` or \\*y\\*"
    );
}

#[test]
fn markdown_keeps_what_reports_say_inside_its_cell_and_line() {
    // A rule name and a message that try to end the table cell, the row
    // and the list item, and to hide the rest of the comment in raw HTML.
    let hostile = "a | b\\|c\n| x | y |\r\n<!-- hidden\\ [link](javascript:alert(1)) ![i](x)";
    let evidence = build(&input(
        vec![report(vec![
            json!({
                "policy": "dirty", "rule": hostile, "result": "fail",
                "message": hostile,
                "resources": [{"kind": "Pod", "namespace": "a", "name": "x"}]
            }),
            json!({
                "policy": "dirty", "rule": "other", "result": "pass",
                "resources": [{"kind": "Pod", "namespace": "a", "name": "x"}]
            }),
        ])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let markdown = markdown::render(&evidence);
    // Every `<` escaped but the decision table's own line breaks: no raw
    // HTML opens.
    assert!(
        !markdown
            .replace("\\<", "")
            .replace("<br>", "")
            .contains('<'),
        "{markdown}"
    );
    // No link or image from a report's text (walk25 F17).
    assert!(
        !markdown.contains("[link](") && !markdown.contains("![i]("),
        "{markdown}"
    );
    assert!(markdown.contains(r"\[link\](javascript"), "{markdown}");
    // Pipes that split cells: those after an even run of backslashes.
    let cell_pipes = |line: &str| {
        let mut backslashes = 0;
        let mut pipes = 0;
        for c in line.chars() {
            if c == '|' && backslashes % 2 == 0 {
                pipes += 1;
            }
            backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        }
        pipes
    };
    let rule_table: Vec<&str> = markdown
        .lines()
        .skip_while(|line| !line.starts_with("| Rule |"))
        .take_while(|line| line.starts_with('|'))
        .collect();
    assert_eq!(rule_table.len(), 5, "{markdown}");
    assert!(
        rule_table.iter().all(|row| cell_pipes(row) == 6),
        "{rule_table:#?}"
    );
    let violation: Vec<&str> = markdown
        .lines()
        .filter(|line| line.contains("a/Pod/x fail"))
        .collect();
    assert_eq!(violation.len(), 1, "{markdown}");
    assert!(
        violation[0].ends_with(
            ": a \\| b\\\\\\|c \\| x \\| y \\|  \\<!-- hidden\\\\ \\[link\\](javascript:alert(1)) !\\[i\\](x)"
        ),
        "{}",
        violation[0]
    );
}

#[test]
fn long_violator_lists_are_capped_in_the_pages_not_in_the_json() {
    let results: Vec<Value> = (0..30)
        .map(|i| result("dirty", "fail", "a", &format!("pod-{i:02}")))
        .collect();
    let evidence = build(&input(
        vec![report(results)],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    assert_eq!(find(&evidence, "dirty").violations.len(), 30);
    assert_eq!(find(&evidence, "dirty").owner_groups().len(), 30);
    let markdown = markdown::render(&evidence);
    assert!(markdown.contains("Violators (30 owners)"), "{markdown}");
    assert!(
        markdown.contains("… and 20 more owners (20 violations)"),
        "{markdown}"
    );
    assert!(!markdown.contains("pod-10"), "only the first ten owners");
    let page = html::render(&evidence);
    assert!(
        page.contains("a/Pod/pod-29"),
        "the page shows up to 200 owners"
    );
}

#[test]
fn an_existing_package_is_replaced_only_with_force() {
    let evidence = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "p1")])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pkg");
    package::write(&out, &evidence, false).expect("a new directory");
    let refused = package::write(&out, &evidence, false).expect_err("refused");
    assert!(refused.to_string().contains("--force"), "{refused}");
    package::write(&out, &evidence, true).expect("replaced with force");
    assert!(package::verify(&out).expect("verify").ok());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    package::write(&empty, &evidence, false).expect("an empty directory is fine");
}

#[test]
fn one_owner_is_singular() {
    let evidence = build(&input(
        vec![report(vec![result("dirty", "fail", "a", "p1")])],
        vec![policy("dirty", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    ));
    let markdown = markdown::render(&evidence);
    assert!(markdown.contains("Violators (1 owner):"), "{markdown}");
    assert!(html::render(&evidence).contains("<h3>Violators (1 owner)</h3>"));
    assert_eq!(owners_count(2), "2 owners");
}

#[test]
fn the_header_says_why_the_scan_was_incomplete() {
    let policies = vec![policy("enforced", "Enforce", "2026-11-01T00:00:00Z")];
    let mut record = scan(false, &["batch/CronJob"]);
    record.invalid_policies = vec!["misspelled".into()];
    record.write_failed_reports = 2;
    let evidence = build(&input(Vec::new(), policies.clone(), Some(record)));
    let said = "incomplete — policies that did not load: misspelled; kinds not listed completely: batch/CronJob; 2 report(s) not written or deleted";
    let markdown = markdown::render(&evidence);
    assert!(markdown.contains(said), "{markdown}");
    let html = html::render(&evidence);
    assert!(
        html.contains("<strong>incomplete</strong> (policies that did not load: misspelled;"),
        "{html}"
    );
    // A complete scan names no cause.
    let complete = build(&input(Vec::new(), policies.clone(), Some(scan(true, &[]))));
    assert!(markdown::render(&complete).contains(", complete (polscan-system/polscan-last-run)."));
    assert!(!markdown::render(&complete).contains("Scan scope"));
    // A complete scan of part of the cluster says which part.
    let mut part = scan(true, &[]);
    part.namespaces = vec!["team-a".into()];
    part.excluded_namespaces = vec!["kube-system".into()];
    let part = build(&input(Vec::new(), policies, Some(part)));
    let said = "Scan scope: only namespace(s) team-a (--namespace; no cluster-scoped objects); namespace(s) kube-system left out (--exclude-namespaces).";
    assert!(
        markdown::render(&part).contains(said),
        "{}",
        markdown::render(&part)
    );
    assert!(html::render(&part).contains("id=\"scan-scope\""));
}

/// A clean policy with a soak history: the verdict waits (and a package
/// with enough history is ready), and both pages show the soak and the
/// trend of fail results per scan.
#[test]
fn the_pages_show_the_soak_and_its_trend() {
    let document = policy("clean", "Audit", "2026-11-01T00:00:00Z");
    let history = soak_history("clean", &document, &[(1, 4), (2, 1), (3, 0), (5, 0)]);
    let mut given = with_soak(
        input(
            vec![report(vec![result("clean", "pass", "a", "p1")])],
            vec![document],
            Some(scan(true, &[])),
        ),
        history,
    );
    let evidence = build(&given);
    let clean = find(&evidence, "clean");
    assert_eq!(clean.verdict, Verdict::Wait, "{:?}", clean.reasons);
    assert_eq!(
        clean.reasons,
        vec!["WAIT: 1 more scan(s): --min-soak has passed since the streak began, and a scan now shows it (clean since 2026-11-13, 2 scan(s) over 2 day(s); --min-soak 7d, --min-scans 2; last violation at 2026-11-12T00:00:00Z)"]
    );
    // No rule of a waiting policy is ready before it.
    assert!(
        clean
            .rule_evidence
            .iter()
            .all(|r| r.verdict == Verdict::Wait),
        "{:?}",
        clean.rule_evidence
    );
    // The decision section says WAIT with the soak left, no contacts.
    let decision = evidence
        .decisions
        .iter()
        .find(|d| d.policy == "clean")
        .expect("decision");
    assert_eq!(decision.decision, crate::model::Decision::Wait);
    assert_eq!(
        decision.soak_left.as_deref(),
        Some(clean.reasons[0].as_str())
    );
    assert!(decision.contacts.is_empty() && decision.instructions.is_empty());
    let page = markdown::render(&evidence);
    assert!(page.contains("⏳ clean so far, waiting"), "{page}");
    assert!(page.contains("WAIT 1"), "{page}");
    assert!(
        page.contains("Fail results per scan (oldest → newest): `█▃▁▁` 4 1 0 0"),
        "{page}"
    );
    let page = html::render(&evidence);
    assert!(page.contains("data-soak=\"wait\""), "{page}");
    assert!(page.contains("<svg class=\"trend\""), "{page}");
    assert!(page.contains("<title>scan 1: 4 fail</title>"), "{page}");
    // Long enough: ready, and the soak is met.
    given.soak.min_soak = Some(Duration::days(2));
    let evidence = build(&given);
    let clean = find(&evidence, "clean");
    assert_eq!(clean.verdict, Verdict::Ready, "{:?}", clean.reasons);
    assert!(markdown::render(&evidence)
        .contains("Soak: clean since 2026-11-13, 2 scan(s) over 2 day(s)"));
}

/// walk34: with `--min-soak 0` only each policy's section said the soak
/// rule was off; the header, where the decisions are read, now says so.
#[test]
fn the_header_says_when_the_soak_rule_is_off() {
    let header_of = |min_soak: Option<Duration>| {
        let mut given = input(
            vec![report(vec![result("clean", "pass", "a", "p1")])],
            vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
            Some(scan(true, &[])),
        );
        given.soak.min_soak = min_soak;
        markdown::render(&build(&given))
    };
    let off = header_of(Some(Duration::zero()));
    assert!(off.contains("Soak rule off (--min-soak 0)"), "{off}");
    let on = header_of(Some(Duration::days(7)));
    assert!(!on.contains("Soak rule off"), "{on}");
    assert!(!on.contains("Soak rule shortened"), "{on}");
    // walk58 W58-2: a shortened soak is said too, and kept in
    // evidence.json.
    let short = header_of(Some(Duration::seconds(30)));
    assert!(
        short.contains("Soak rule shortened (--min-soak 30s, over at least"),
        "{short}"
    );
    let mut given = input(
        vec![report(vec![result("clean", "pass", "a", "p1")])],
        vec![policy("clean", "Audit", "2026-11-01T00:00:00Z")],
        Some(scan(true, &[])),
    );
    given.soak.min_soak = Some(Duration::hours(36));
    let json = serde_json::to_value(build(&given)).expect("serializes");
    assert_eq!(json["soakRule"]["minSoakSeconds"], 36 * 3600, "{json}");
}
