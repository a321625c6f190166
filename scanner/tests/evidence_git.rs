//! `polscan evidence --policy-repo`: on a Git checkout built here (a plain
//! ClusterPolicy, a ValidatingPolicy, a ValidatingAdmissionPolicy's
//! binding, and a Helm chart whose template reads the action from its
//! values, with an environment's values file), each policy's
//! promote.patch passes `git apply --check`, applies, and the files read
//! back in Enforce (`Deny` for validationActions); its rollback.patch
//! then brings them back to Audit, byte for byte. A policy Flux applied
//! carries the warning that a kubectl patch would be reverted.

#![allow(clippy::expect_used)] // test code: a failed expectation is a failed test

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{audit, repository_file, run, schema_errors, validator};
use serde_json::Value;

/// The repository's files: path → text.
const REPO: [(&str, &str); 8] = [
    (
        "policies/require-team.yaml",
        "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team
spec:
  # Audit until every team has labelled its Pods
  validationFailureAction: Audit # the evidence says when
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: the team label is missing
      pattern: {metadata: {labels: {team: '?*'}}}
",
    ),
    (
        "policies/check-app.yaml",
        "apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: check-app
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: \"has(object.metadata.labels) && 'app' in object.metadata.labels\"
    message: the app label is missing
",
    ),
    (
        "policies/pinned.yaml",
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: pinned
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: \"object.spec.containers.all(c, !c.image.endsWith(':latest'))\"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: pinned-binding
spec:
  policyName: pinned
  validationActions:
    - Audit
",
    ),
    (
        "charts/policies/Chart.yaml",
        "apiVersion: v2\nname: policies\nversion: 0.1.0\n",
    ),
    (
        "charts/policies/templates/require-owner.yaml",
        "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-owner
  labels:
    {{- include \"policies.labels\" . | nindent 4 }}
spec:
  validationFailureAction: {{ .Values.policies.requireOwner.action | quote }}
  rules:
  - name: owner
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: the owner label is missing
      pattern: {metadata: {labels: {owner: '?*'}}}
",
    ),
    (
        "charts/policies/values.yaml",
        "# Defaults: every policy audits.
policies:
  requireOwner:
    action: Audit
",
    ),
    (
        "charts/policies/values-prod.yaml",
        "policies:
  requireOwner:
    # prod follows the evidence of its own cluster
    action: 'Audit'
",
    ),
    (
        "policies/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- require-team.yaml\n- check-app.yaml\n- pinned.yaml\n",
    ),
];

/// The policies as the cluster has them (the chart's rendered), as
/// `--policies-from` gives them: Flux's labels on two of them.
fn cluster_policies() -> String {
    let rendered = REPO[4]
        .1
        .replace(
            "    {{- include \"policies.labels\" . | nindent 4 }}",
            "    helm.toolkit.fluxcd.io/name: policies\n    helm.toolkit.fluxcd.io/namespace: kyverno",
        )
        .replace("{{ .Values.policies.requireOwner.action | quote }}", "\"Audit\"");
    let require_team = REPO[0].1.replace(
        "  name: require-team\n",
        "  name: require-team\n  labels:\n    kustomize.toolkit.fluxcd.io/name: policies\n    kustomize.toolkit.fluxcd.io/namespace: flux-system\n",
    );
    [
        require_team.as_str(),
        REPO[1].1,
        REPO[2].1,
        rendered.as_str(),
    ]
    .join("---\n")
}

const PODS: &str = "apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {team: a, app: web, owner: b}}
spec: {containers: [{name: c, image: 'nginx:1.27'}]}
";

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn git(repo: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=polscan test",
            "-c",
            "user.email=test@polscan.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(repo)
        .output()
        .expect("git runs")
}

fn git_ok(repo: &Path, args: &[&str]) -> String {
    let output = git(repo, args);
    assert!(output.status.success(), "git {args:?}: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A Git checkout at `repo` holding `files` (path → text), committed
/// with `message`.
fn commit_checkout(repo: &Path, files: &[(&str, &str)], message: &str) {
    for (path, text) in files {
        let path = repo.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, text).expect("write");
    }
    git_ok(repo, &["init", "-q"]);
    git_ok(repo, &["add", "-A"]);
    git_ok(repo, &["commit", "-q", "-m", message]);
}

/// The `document`-th YAML document of a repository file, at `pointer`.
fn read_back(repo: &Path, file: &str, document: usize, pointer: &str) -> Value {
    let text = std::fs::read_to_string(repo.join(file)).expect("file");
    let docs: Vec<Value> = text
        .split("\n---\n")
        .map(|doc| serde_yaml::from_str(doc).expect("yaml"))
        .collect();
    docs[document]
        .pointer(pointer)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The checkout under `dir/repo` (committed when `commit`), the cluster's
/// policies and a Pod, audited into reports.yaml and scan.yaml.
fn fixture(dir: &Path, commit: bool) -> std::path::PathBuf {
    let repo = dir.join("repo");
    if commit {
        commit_checkout(&repo, &REPO, "policies in Audit");
    } else {
        for (path, content) in REPO {
            let path = repo.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
            std::fs::write(path, content).expect("write");
        }
    }
    std::fs::write(dir.join("policies.yaml"), cluster_policies()).expect("policies");
    std::fs::write(dir.join("pods.yaml"), PODS).expect("pods");
    let audited = audit(dir);
    assert!(audited.status.success(), "{}", text(&audited));
    repo
}

/// `polscan evidence` in `dir` on the fixture's reports and policies,
/// into `out`, with `extra` arguments.
fn evidence_in(dir: &Path, extra: &[&str]) -> Output {
    evidence_into(dir, "out", extra)
}

/// [`evidence_in`] into `out`.
fn evidence_into(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "evidence",
        "--out",
        out,
        "--from",
        "reports.yaml",
        "--policies-from",
        "policies.yaml",
    ];
    args.extend_from_slice(extra);
    run(&args, None, dir)
}

#[test]
fn promote_and_rollback_patches_apply_and_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = fixture(dir.path(), true);
    let output = evidence_in(
        dir.path(),
        &[
            "--scan-record",
            "scan.yaml",
            "--policy-repo",
            "repo",
            "--policy-values",
            "charts/policies/values-prod.yaml",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let out = dir.path().join("out");
    // The check the patches need, beside the git apply lines and on the
    // page (verify58..61: polscan reads files, not builds).
    let check = polscan::evidence::output::CHECK_THE_BUILD;
    assert!(text(&output).contains(check), "{}", text(&output));
    let page = std::fs::read_to_string(out.join("evidence.md")).expect("evidence.md");
    assert!(page.contains(check), "{page}");
    let evidence: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("evidence.json")).expect("evidence.json"),
    )
    .expect("json");
    let errors = schema_errors(
        &validator(&repository_file("docs/evidence.schema.json")),
        &evidence,
    );
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let verify = run(&["evidence", "verify", "out"], None, dir.path());
    assert!(verify.status.success(), "{}", text(&verify));

    // (policy, file, document, pointer, Enforce's word)
    let cases = [
        (
            "require-team",
            "policies/require-team.yaml",
            0,
            "/spec/validationFailureAction",
            Value::from("Enforce"),
        ),
        (
            "check-app",
            "policies/check-app.yaml",
            0,
            "/spec/validationActions",
            Value::from(vec!["Deny"]),
        ),
        (
            "pinned",
            "policies/pinned.yaml",
            1,
            "/spec/validationActions",
            Value::from(vec!["Deny"]),
        ),
        (
            "require-owner",
            "charts/policies/values-prod.yaml",
            0,
            "/policies/requireOwner/action",
            Value::from("Enforce"),
        ),
    ];
    for (name, file, document, pointer, enforce) in cases {
        let policy = evidence["policies"]
            .as_array()
            .and_then(|list| list.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("{name} in {evidence}"));
        let change = &policy["gitChange"];
        assert_eq!(change["problem"], Value::Null, "{name}: {change}");
        let promote = out.join(change["promote"]["file"].as_str().expect("promote"));
        let rollback = out.join(change["rollback"]["file"].as_str().expect("rollback"));
        assert_eq!(
            promote,
            out.join(format!("patches/{name}/promote.patch")),
            "{name}"
        );
        let audit = if enforce.is_array() {
            Value::from(vec!["Audit"])
        } else {
            Value::from("Audit")
        };
        assert_eq!(read_back(&repo, file, document, pointer), audit, "{name}");
        let promote = promote.to_string_lossy().into_owned();
        let rollback = rollback.to_string_lossy().into_owned();
        git_ok(&repo, &["apply", "--check", &promote]);
        git_ok(&repo, &["apply", &promote]);
        assert_eq!(read_back(&repo, file, document, pointer), enforce, "{name}");
        git_ok(&repo, &["apply", "--check", &rollback]);
        git_ok(&repo, &["apply", &rollback]);
        assert_eq!(read_back(&repo, file, document, pointer), audit, "{name}");
        // Comments, quoting and the chart's default values are as they were.
        assert_eq!(git_ok(&repo, &["status", "--porcelain"]), "", "{name}");
    }
    // The promotion touched only the environment's values, not the defaults.
    let owner = evidence["policies"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["name"] == "require-owner"))
        .expect("require-owner");
    let diff = owner["gitChange"]["promote"]["diff"]
        .as_str()
        .expect("diff");
    assert!(
        diff.starts_with("diff --git a/charts/policies/values-prod.yaml"),
        "{diff}"
    );
    assert!(diff.contains("+    action: 'Enforce'"), "{diff}");

    let markdown = std::fs::read_to_string(out.join("evidence.md")).expect("md");
    assert!(
        markdown.contains("git -C <repository> apply <package>/patches/require-team/promote.patch"),
        "{markdown}"
    );
    assert!(
        markdown
            .contains("Flux (Kustomization flux-system/policies) reconciles this policy from Git"),
        "{markdown}"
    );
    assert!(
        markdown.contains("Flux (HelmRelease kyverno/policies)"),
        "{markdown}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).expect("html");
    assert!(
        html.contains(
            "git -C &lt;repository&gt; apply &lt;package&gt;/patches/pinned/rollback.patch"
        ),
        "{html}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let out = out.canonicalize().expect("out");
    // Offline, the soak is unknown: WAIT. No `git apply` line is printed
    // for it (walk43: two per NO-GO or WAIT policy, each copied on its
    // own); one line names the folder of the patches for later, by its
    // absolute path.
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("require-team: ") && l.contains("git ")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "require-team: WAIT, patches for later (promote.patch once GO; rollback.patch only when a rollback condition is met): {}/patches/require-team\n",
            out.display()
        )),
        "{stdout}"
    );
}

/// The printed `git apply` line, pasted in a folder that is neither the
/// checkout nor where `polscan evidence` ran, applies the patch.
fn paste_printed_apply(stdout: &str, policy: &str, anywhere: &Path) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{policy}: ")) && l.contains("promote.patch"))
        .unwrap_or_else(|| panic!("no promote line for {policy}: {stdout}"));
    let command = line
        .split_once(": git ")
        .and_then(|(_, rest)| rest.split_once("    #"))
        .map(|(command, _)| format!("git {command}"))
        .unwrap_or_else(|| panic!("{line}"));
    let output = Command::new("sh")
        .args(["-c", &command])
        .current_dir(anywhere)
        .output()
        .expect("sh");
    assert!(output.status.success(), "{command}: {}", text(&output));
}

#[test]
fn an_environment_not_named_is_no_patch_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path(), false);
    let output = evidence_in(dir.path(), &["--policy-repo", "repo"]);
    assert!(output.status.success(), "{}", text(&output));
    let markdown = std::fs::read_to_string(dir.path().join("out/evidence.md")).expect("md");
    assert!(
        markdown.contains("In Git (--policy-repo): no patch: policies.requireOwner.action is set in several values files"),
        "{markdown}"
    );
    assert!(!dir.path().join("out/patches/require-owner").exists());
    assert!(dir
        .path()
        .join("out/patches/require-team/promote.patch")
        .exists());
    // --policy-values without the checkout is a usage error.
    let usage = run(
        &[
            "evidence",
            "--out",
            "o2",
            "--from",
            "reports.yaml",
            "--policy-values",
            "v.yaml",
        ],
        None,
        dir.path(),
    );
    assert_eq!(usage.status.code(), Some(64), "{}", text(&usage));
    // walk49 W49-5: a values file that is not there, before any package.
    let typo = evidence_into(
        dir.path(),
        "o3",
        &[
            "--policy-repo",
            "repo",
            "--policy-values",
            "repo/values-production.yaml",
        ],
    );
    assert_eq!(typo.status.code(), Some(64), "{}", text(&typo));
    assert!(
        text(&typo).contains("--policy-values repo/values-production.yaml: no such file"),
        "{}",
        text(&typo)
    );
    assert!(!dir.path().join("o3").exists());
}

#[test]
fn a_folder_of_the_checkout_gives_patches_from_its_top() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = fixture(dir.path(), true);
    // A scan record and the soak rule off: GO, so the line is printed.
    let output = evidence_in(
        dir.path(),
        &[
            "--policy-repo",
            "repo/policies",
            "--scan-record",
            "scan.yaml",
            "--min-soak",
            "0",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let patch = dir.path().join("out/patches/require-team/promote.patch");
    let diff = std::fs::read_to_string(&patch).expect("promote.patch");
    // git apply in a folder silently skips paths outside it: the patch
    // names the file from the work tree's top.
    assert!(
        diff.starts_with("diff --git a/policies/require-team.yaml"),
        "{diff}"
    );
    let patch = patch.display().to_string();
    git_ok(&repo, &["apply", "--check", &patch]);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let stdout = String::from_utf8_lossy(&output.stdout);
    paste_printed_apply(&stdout, "require-team", elsewhere.path());
    // Its rollback is for later: named by its folder, no command.
    assert!(
        stdout.lines().any(|l| l.starts_with(
            "require-team: GO, patches for later (rollback.patch only when a rollback condition is met): "
        )),
        "{stdout}"
    );
    assert_eq!(
        read_back(
            &repo,
            "policies/require-team.yaml",
            0,
            "/spec/validationFailureAction"
        ),
        Value::String("Enforce".into())
    );
}

/// verify54 V54-4: `--policy-repo` naming the chart's folder still sees
/// the HelmReleases elsewhere in the work tree: the prod values file both
/// read is no one cluster's, so it gets no patch.
#[test]
fn a_folder_of_the_checkout_still_sees_releases_outside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let release = |name: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: {name}}}\nspec:\n  chart:\n    spec: {{chart: ./charts/policies, valuesFiles: [./charts/policies/values-prod.yaml], sourceRef: {{kind: GitRepository, name: flux-system}}}}\n")
    };
    let (eu, us) = (release("prod-eu"), release("prod-us"));
    let mut files: Vec<(&str, &str)> = REPO.to_vec();
    files.push(("clusters/prod-eu/hr.yaml", &eu));
    files.push(("clusters/prod-us/hr.yaml", &us));
    commit_checkout(&dir.path().join("repo"), &files, "two clusters");
    std::fs::write(dir.path().join("policies.yaml"), cluster_policies()).expect("policies");
    std::fs::write(dir.path().join("pods.yaml"), PODS).expect("pods");
    let audited = audit(dir.path());
    assert!(audited.status.success(), "{}", text(&audited));
    let output = evidence_in(
        dir.path(),
        &[
            "--policy-repo",
            "repo/charts",
            "--policy-values",
            "repo/charts/policies/values-prod.yaml",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let markdown = std::fs::read_to_string(dir.path().join("out/evidence.md")).expect("md");
    assert!(
        markdown
            .contains("which several read (clusters/prod-eu/hr.yaml, clusters/prod-us/hr.yaml)"),
        "{markdown}"
    );
    assert!(!dir.path().join("out/patches/require-owner").exists());
}

/// Git holds stricter rules than the cluster's policy that soaked (not
/// reconciled yet; walk20 finding 1): no promote.patch, not ready, and
/// the reason said — while the same rules in Git are GO with the patch.
#[test]
fn git_rules_other_than_the_cluster_s_are_not_promoted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = fixture(dir.path(), true);
    let verdict_of = |out: &str| -> Value {
        let evidence: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(out).join("evidence.json"))
                .expect("evidence.json"),
        )
        .expect("json");
        let errors = schema_errors(
            &validator(&repository_file("docs/evidence.schema.json")),
            &evidence,
        );
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        evidence["policies"]
            .as_array()
            .and_then(|list| list.iter().find(|p| p["name"] == "require-team"))
            .cloned()
            .expect("require-team")
    };
    let evidence = |out: &str| {
        evidence_into(
            dir.path(),
            out,
            &[
                "--scan-record",
                "scan.yaml",
                "--policy",
                "require-team",
                "--min-soak",
                "0",
                "--require-ready",
                "--policy-repo",
                "repo",
            ],
        )
    };
    let same = evidence("same");
    assert!(same.status.success(), "{}", text(&same));
    assert_eq!(verdict_of("same")["verdict"], "ready");
    assert!(dir
        .path()
        .join("same/patches/require-team/promote.patch")
        .exists());

    let file = repo.join("policies/require-team.yaml");
    let stricter = std::fs::read_to_string(&file)
        .expect("policy")
        .replace("kinds: [Pod]", "kinds: [Pod, Service]");
    std::fs::write(&file, stricter).expect("write");
    git_ok(&repo, &["commit", "-qam", "stricter (not yet reconciled)"]);
    let other = evidence("other");
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    let policy = verdict_of("other");
    assert_eq!(policy["verdict"], "wait", "{policy}");
    assert_eq!(policy["gitChange"]["rulesDiffer"], true, "{policy}");
    assert!(policy["gitChange"].get("promote").is_none(), "{policy}");
    let problem = "Git's policies/require-team.yaml holds a different version of the policy than the cluster (its rules differ from those that soaked; first at spec.rules[0].match.any[0].resources.kinds[1] (only in Git)): reconcile it, let it soak, then build the evidence again";
    assert_eq!(policy["reasons"][0], problem, "{policy}");
    assert!(!dir.path().join("other/patches/require-team").exists());
    assert!(
        String::from_utf8_lossy(&other.stdout)
            .contains(&format!("require-team: no Git patch: {problem}")),
        "{}",
        text(&other)
    );
    let markdown = std::fs::read_to_string(dir.path().join("other/evidence.md")).expect("md");
    assert!(markdown.contains(problem), "{markdown}");
    assert!(!markdown.contains("| **GO** |"), "{markdown}");
}

/// walk28 F2: a git-ignored or untracked copy of a policy file made the
/// policy "written in several places" and cost it its patch; only what
/// Git tracks is read.
#[test]
fn untracked_and_ignored_copies_are_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = fixture(dir.path(), true);
    let original = std::fs::read_to_string(repo.join("policies/require-team.yaml")).expect("read");
    for copy in ["scratch/require-team.yaml", "ignored/require-team.yaml"] {
        let path = repo.join(copy);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, &original).expect("write");
    }
    std::fs::write(repo.join(".gitignore"), "ignored/\n").expect("gitignore");
    let output = evidence_in(
        dir.path(),
        &["--scan-record", "scan.yaml", "--policy-repo", "repo"],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        !text(&output).contains("written in several places"),
        "{}",
        text(&output)
    );
    assert!(
        dir.path()
            .join("out/patches/require-team/promote.patch")
            .exists(),
        "{}",
        text(&output)
    );
}

/// walk46 F2 and verify47 V47-14, through the CLI: after the switch, the
/// package built `--since` the GO one carries the switch's own
/// rollback.patch (the rule Git enforced before stays enforced); once a
/// rule is added (with its own Enforce), the carried patch would leave it
/// denying, so the rollback sets every action field to Audit, said why.
#[test]
fn the_switch_s_rollback_is_carried_until_the_rules_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let repo = root.join("repo");
    let rule = |name: &str, label: &str, own: &str| {
        format!("  - name: {name}\n    match: {{any: [{{resources: {{kinds: [ConfigMap]}}}}]}}\n    validate:\n{own}      message: the {label} label is missing\n      pattern: {{metadata: {{labels: {{{label}: '?*'}}}}}}\n")
    };
    let policy = |action: &str, rules: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  validationFailureAction: {action}\n  rules:\n{rules}")
    };
    let first = rule("app", "app", "") + &rule("team", "team", "      failureAction: Enforce\n");
    commit_checkout(&repo, &[("p.yaml", &policy("Audit", &first))], "p in Audit");
    let config_map = |labels: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: shop\n  labels: {{{labels}}}\n")
    };
    let package = |cluster: &str, resources: &str, out: &str, since: Option<&str>| {
        package_in(root, "p", cluster, resources, out, since)
    };
    let changed = |patch: &str| -> Vec<String> {
        patch
            .lines()
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('+'))
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
            })
            .map(str::to_string)
            .collect()
    };
    // GO, then the switch through Git.
    let (shown, _, _) = package(
        &policy("Audit", &first),
        &config_map("app: x, team: t"),
        "go",
        None,
    );
    assert!(shown.contains("p: git -C"), "{shown}");
    git_ok(
        &repo,
        &[
            "apply",
            root.join("go/patches/p/promote.patch")
                .to_str()
                .expect("path"),
        ],
    );
    git_ok(&repo, &["commit", "-qam", "p in Enforce"]);
    // Enforced: the switch's own rollback, one line; `team` stays enforced.
    let enforced = policy("Enforce", &first);
    let (_, rollback, markdown) =
        package(&enforced, &config_map("app: x, team: t"), "on", Some("go"));
    assert_eq!(
        changed(&rollback),
        [
            "-  validationFailureAction: Enforce",
            "+  validationFailureAction: Audit"
        ],
        "{rollback}"
    );
    assert!(
        markdown.contains("rollback.patch is the switch's own"),
        "{markdown}"
    );
    // A rule added since, with its own Enforce, fails: ROLL BACK, and the
    // rollback takes every action field back to Audit.
    let more = first.clone() + &rule("owner", "owner", "      failureAction: Enforce\n");
    std::fs::write(repo.join("p.yaml"), policy("Enforce", &more)).expect("write");
    git_ok(&repo, &["commit", "-qam", "owner rule"]);
    let (shown, rollback, markdown) = package(
        &policy("Enforce", &more),
        &config_map("app: x, team: t"),
        "back",
        Some("on"),
    );
    assert!(shown.contains("ROLL BACK"), "{shown}");
    // The rollback command names its ground (walk55 W55-2).
    assert!(
        shown
            .lines()
            .any(|l| l.contains("rollback.patch") && l.contains("# back to Audit: ")),
        "{shown}"
    );
    let lines = changed(&rollback);
    assert!(
        lines.contains(&"+  validationFailureAction: Audit".to_string()),
        "{rollback}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.as_str() == "+      failureAction: Audit")
            .count(),
        2,
        "{rollback}"
    );
    assert!(
        markdown.contains("the policy's rules (or bindings) changed since the --since package"),
        "{markdown}"
    );
}

/// verify48 V48-10: a ValidatingAdmissionPolicy's binding added since the
/// switch, in [Deny], is no part of the switch's rollback.patch: the
/// ROLL BACK's patch sets every binding back to Audit, said why.
#[test]
fn a_binding_added_since_the_switch_is_rolled_back_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let repo = root.join("repo");
    let vap = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: v\nspec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n    - apiGroups: ['']\n      apiVersions: [v1]\n      operations: [CREATE, UPDATE]\n      resources: [configmaps]\n  validations:\n  - expression: \"has(object.metadata.labels) && 'team' in object.metadata.labels\"\n";
    let binding = |name: &str, action: &str, env: &str| {
        format!("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: {name}\nspec:\n  policyName: v\n  validationActions: [{action}]\n  matchResources:\n    namespaceSelector:\n      matchLabels: {{env: {env}}}\n")
    };
    let first = format!("{vap}---\n{}", binding("v-1", "Audit", "shop"));
    commit_checkout(&repo, &[("v.yaml", &first)], "v in Audit");
    let namespaces = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {env: shop}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: dev, labels: {env: dev}}\n";
    let config_map = |namespace: &str, labels: &str| {
        format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: {namespace}\n  labels: {{{labels}}}\n")
    };
    let package = |cluster: &str, resources: &str, out: &str, since: Option<&str>| {
        package_in(root, "v", cluster, resources, out, since)
    };
    let clean = format!("{namespaces}{}", config_map("shop", "team: t"));
    let (shown, _, _) = package(
        &format!("{vap}---\n{}", binding("v-1", "Audit", "shop")),
        &clean,
        "go",
        None,
    );
    assert!(shown.contains("v: git -C"), "{shown}");
    git_ok(
        &repo,
        &[
            "apply",
            root.join("go/patches/v/promote.patch")
                .to_str()
                .expect("path"),
        ],
    );
    git_ok(&repo, &["commit", "-qam", "v in Deny"]);
    std::fs::write(repo.join("v-2.yaml"), binding("v-2", "Deny", "dev")).expect("write");
    git_ok(&repo, &["add", "-A"]);
    git_ok(&repo, &["commit", "-qm", "v-2"]);
    let cluster = format!(
        "{vap}---\n{}---\n{}",
        binding("v-1", "Deny", "shop"),
        binding("v-2", "Deny", "dev")
    );
    let dirty = format!("{clean}{}", config_map("dev", "app: a"));
    let (shown, rollback, markdown) = package(&cluster, &dirty, "back", Some("go"));
    assert!(shown.contains("ROLL BACK"), "{shown}");
    assert!(rollback.contains("+++ b/v-2.yaml"), "{rollback}");
    assert!(rollback.contains("+++ b/v.yaml"), "{rollback}");
    assert!(
        markdown.contains("the policy's rules (or bindings) changed since the --since package"),
        "{markdown}"
    );
}

/// Audits `resources` against `cluster` in `root`, then writes a package
/// into `out` with `--policy-repo repo` (and `--since`): the terminal's
/// text, `policy`'s rollback.patch (empty when none) and evidence.md.
fn package_in(
    root: &Path,
    policy: &str,
    cluster: &str,
    resources: &str,
    out: &str,
    since: Option<&str>,
) -> (String, String, String) {
    std::fs::write(root.join("policies.yaml"), cluster).expect("policies");
    std::fs::write(root.join("pods.yaml"), resources).expect("resources");
    let audited = audit(root);
    assert!(audited.status.success(), "{}", text(&audited));
    let mut extra = vec![
        "--scan-record",
        "scan.yaml",
        "--min-soak",
        "0",
        "--policy-repo",
        "repo",
    ];
    if let Some(previous) = since {
        extra.extend(["--since", previous]);
    }
    let output = evidence_into(root, out, &extra);
    let rollback = std::fs::read_to_string(
        root.join(out)
            .join(format!("patches/{policy}/rollback.patch")),
    )
    .unwrap_or_default();
    let markdown = std::fs::read_to_string(root.join(out).join("evidence.md")).expect("md");
    (text(&output), rollback, markdown)
}

/// walk48 W48-2: one values key promoting two ready policies gives each
/// the same patch; the terminal prints one `git apply` and says the other
/// policy is switched by it (a second apply of the same patch fails).
#[test]
fn one_patch_for_two_policies_is_printed_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let repo = root.join("repo");
    let template = |name: &str, label: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: {name}\nspec:\n  validationFailureAction: {{{{ .Values.policyAction }}}}\n  rules:\n  - name: r\n    match: {{any: [{{resources: {{kinds: [ConfigMap]}}}}]}}\n    validate:\n      message: the {label} label is missing\n      pattern: {{metadata: {{labels: {{{label}: '?*'}}}}}}\n")
    };
    commit_checkout(
        &repo,
        &[
            ("c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            ("c/values.yaml", "policyAction: Audit\n"),
            ("c/templates/a.yaml", &template("a", "app")),
            ("c/templates/b.yaml", &template("b", "team")),
        ],
        "chart in Audit",
    );
    let rendered = |name: &str, label: &str| {
        template(name, label).replace("{{ .Values.policyAction }}", "Audit")
    };
    let cluster = format!("{}---\n{}", rendered("a", "app"), rendered("b", "team"));
    let clean = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: shop\n  labels: {app: x, team: t}\n";
    let (shown, _, _) = package_in(root, "a", &cluster, clean, "go", None);
    assert_eq!(
        shown
            .matches("promote.patch    # switch to Enforce")
            .count(),
        1,
        "{shown}"
    );
    assert!(
        shown.contains("b: switch to Enforce by a's patch above (the same change)"),
        "{shown}"
    );
    // verify49 V49-9: with --policy a, b is left out of the package, so
    // nothing shows the key's other reader ready: no patch.
    let filtered = evidence_into(
        root,
        "only-a",
        &[
            "--scan-record",
            "scan.yaml",
            "--min-soak",
            "0",
            "--policy-repo",
            "repo",
            "--policy",
            "a",
        ],
    );
    let shown = text(&filtered);
    assert!(shown.contains("a: no Git patch: "), "{shown}");
    assert!(!root.join("only-a/patches/a/promote.patch").exists());
    // The switch, then a violates: its rollback of the shared key would
    // un-enforce b too, so it is held back, and the terminal still gives
    // a rollback command (verify49 V49-16).
    git_ok(
        &repo,
        &[
            "apply",
            root.join("go/patches/a/promote.patch")
                .to_str()
                .expect("path"),
        ],
    );
    git_ok(&repo, &["commit", "-qam", "a and b in Enforce"]);
    let enforced = cluster.replace(
        "validationFailureAction: Audit",
        "validationFailureAction: Enforce",
    );
    let dirty = format!("{clean}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n  namespace: shop\n  labels: {{team: t}}\n");
    let (shown, rollback, _) = package_in(root, "a", &enforced, &dirty, "back", Some("go"));
    assert!(shown.contains("ROLL BACK"), "{shown}");
    assert!(rollback.is_empty(), "{rollback}");
    assert!(
        shown.contains("a: no Git patch to roll back with: kubectl patch clusterpolicy/a"),
        "{shown}"
    );
}

/// verify50 V50-9: with --policy, a chart template's literal action line
/// (one template renders the Policy in every release's namespace) is no
/// patch: the copies left out of the package are not judged.
#[test]
fn a_template_line_is_no_patch_under_a_policy_filter() {
    // A chart in a folder, and one at the repository's root (verify51
    // V51-4: its locations read `templates/…`).
    for chart in ["c/", ""] {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let repo = root.join("repo");
        let template = "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata:\n  name: a\n  namespace: {{ .Release.Namespace }}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [ConfigMap]}}]}\n    validate:\n      message: the app label is missing\n      pattern: {metadata: {labels: {app: '?*'}}}\n";
        commit_checkout(
            &repo,
            &[
                (
                    &format!("{chart}Chart.yaml"),
                    "apiVersion: v2\nname: c\nversion: 0.1.0\n",
                ),
                (&format!("{chart}templates/a.yaml"), template),
            ],
            "chart",
        );
        let cluster = template.replace("{{ .Release.Namespace }}", "shop");
        let clean = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: shop\n  labels: {app: x}\n";
        std::fs::write(root.join("policies.yaml"), &cluster).expect("policies");
        std::fs::write(root.join("pods.yaml"), clean).expect("resources");
        assert!(audit(root).status.success());
        let filtered = evidence_into(
            root,
            "only",
            &[
                "--scan-record",
                "scan.yaml",
                "--min-soak",
                "0",
                "--policy-repo",
                "repo",
                "--policy",
                "shop/a",
            ],
        );
        let shown = text(&filtered);
        assert!(
            shown.contains("--policy left them out of this package"),
            "{shown}"
        );
        assert!(!root.join("only/patches/shop.a/promote.patch").exists());
    }
}
