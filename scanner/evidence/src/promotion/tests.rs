use super::*;

fn repo(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(path, text)| (path.to_string(), text.to_string()))
        .collect()
}

fn cluster_policy(name: &str) -> PolicyRef<'_> {
    PolicyRef {
        kind: "ClusterPolicy",
        name,
        namespace: None,
    }
}

/// `plan` of require-team over `files` with the symbolic links `links`
/// (link → target).
fn plan_linked(files: &[(&str, &str)], links: &[(&str, &str)]) -> GitChange {
    let links = links
        .iter()
        .map(|(l, t)| (l.to_string(), t.to_string()))
        .collect();
    Repository::new(repo(files)).with_links(links).plan(
        &cluster_policy("require-team"),
        None,
        &[],
        "require-team",
    )
}

/// The `-` and `+` lines of a diff, without its headers.
fn changed(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect()
}

fn patches(change: &GitChange) -> (&str, &str) {
    assert_eq!(change.problem, None, "{change:?}");
    (
        change
            .promote
            .as_ref()
            .map(|p| p.diff.as_str())
            .unwrap_or(""),
        change
            .rollback
            .as_ref()
            .map(|p| p.diff.as_str())
            .unwrap_or(""),
    )
}

const PLAIN: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  # Audit until the teams are labelled\n  validationFailureAction: \"Audit\"   # see the evidence\n  rules:\n  - name: team\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate:\n      message: team label\n      pattern: {metadata: {labels: {team: '?*'}}}\n";

#[test]
fn a_plain_policy_wide_action_keeps_comments_and_quotes() {
    let files = repo(&[("policies/require-team.yaml", PLAIN)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let (promote, rollback) = patches(&change);
    assert_eq!(
        promote,
        "diff --git a/policies/require-team.yaml b/policies/require-team.yaml\n--- a/policies/require-team.yaml\n+++ b/policies/require-team.yaml\n@@ -4,7 +4,7 @@\n   name: require-team\n spec:\n   # Audit until the teams are labelled\n-  validationFailureAction: \"Audit\"   # see the evidence\n+  validationFailureAction: \"Enforce\"   # see the evidence\n   rules:\n   - name: team\n     match: {any: [{resources: {kinds: [Pod]}}]}\n"
    );
    assert_eq!(
        changed(rollback),
        [
            "-  validationFailureAction: \"Enforce\"   # see the evidence",
            "+  validationFailureAction: \"Audit\"   # see the evidence"
        ]
    );
    assert_eq!(
        change.locations,
        ["policies/require-team.yaml:7 spec.validationFailureAction"]
    );
    assert_eq!(
        change.promote.as_ref().map(|p| p.file.as_str()),
        Some("patches/require-team/promote.patch")
    );
}

#[test]
fn per_rule_failure_actions_each_change() {
    let text = "kind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n  - name: a\n    validate:\n      failureAction: Audit\n  - name: b\n    validate:\n      failureAction: Enforce\n  - name: c\n    validate:\n      validationFailureAction: audit\n---\nkind: ClusterPolicy\nmetadata:\n  name: other\nspec:\n  validationFailureAction: Audit\n";
    let files = repo(&[("p.yaml", text)]);
    let change = plan(&files, &cluster_policy("p"), &[], "p");
    let (promote, rollback) = patches(&change);
    assert_eq!(
        changed(promote),
        [
            "-      failureAction: Audit",
            "+      failureAction: Enforce",
            "-      validationFailureAction: audit",
            "+      validationFailureAction: Enforce"
        ]
    );
    // Back as Git had it: the rule Git enforced before stays enforced,
    // `audit` keeps its spelling (walk44).
    assert_eq!(
        changed(rollback),
        [
            "-      failureAction: Enforce",
            "+      failureAction: Audit",
            "-      validationFailureAction: Enforce",
            "+      validationFailureAction: audit"
        ]
    );
    assert_eq!(change.locations.len(), 3);
}

/// walk46 F2: after the switch, Git enforces the policy; the package of a
/// ROLL BACK set every action field to Audit, the spec-level Enforce a
/// rule inherited before the promotion too. With the switch's own
/// rollback.patch (carried by the --since packages), only what the
/// promotion changed goes back; where it no longer applies, every field,
/// said in a note.
#[test]
fn after_the_switch_the_rollback_is_the_switch_s_own() {
    let before = "kind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  validationFailureAction: Enforce\n  rules:\n  - name: already-enforced\n    validate: {}\n  - name: new-rule\n    validate:\n      failureAction: Audit\n";
    let switch = plan(&repo(&[("p.yaml", before)]), &cluster_policy("p"), &[], "p");
    let (promote, switch_rollback) = patches(&switch);
    assert_eq!(
        changed(promote),
        [
            "-      failureAction: Audit",
            "+      failureAction: Enforce"
        ]
    );
    // The rule that inherits the spec's Enforce is enforced in Git already.
    assert_eq!(switch.git_enforced_rules, ["already-enforced"]);
    let after = before.replace("failureAction: Audit", "failureAction: Enforce");
    let enforced = Repository::new(repo(&[("p.yaml", &after)]));
    // Without the switch's patch: every field.
    let alone = enforced.plan(&cluster_policy("p"), None, &[], "p");
    let (_, everything) = patches(&alone);
    assert_eq!(changed(everything).len(), 4, "{everything}");
    // With it: what the promotion changed, and this package carries it on.
    let carried =
        enforced.plan_after_switch(&cluster_policy("p"), None, &[], "p", Some(switch_rollback));
    let (none, rollback) = patches(&carried);
    assert_eq!(none, "");
    assert_eq!(
        changed(rollback),
        [
            "-      failureAction: Enforce",
            "+      failureAction: Audit"
        ]
    );
    assert!(carried
        .notes
        .iter()
        .any(|n| n.starts_with("rollback.patch is the switch's own")));
    let again = enforced.plan_after_switch(&cluster_policy("p"), None, &[], "p", Some(rollback));
    assert_eq!(patches(&again).1, rollback);
    // Git changed since where the patch reads: every field, and why.
    let edited = Repository::new(repo(&[(
        "p.yaml",
        &after.replace("name: new-rule", "name: renamed-rule"),
    )]));
    let stale =
        edited.plan_after_switch(&cluster_policy("p"), None, &[], "p", Some(switch_rollback));
    assert_eq!(changed(patches(&stale).1).len(), 4);
    assert!(
        stale.notes.iter().any(|n| n.contains("no longer applies")),
        "{:?}",
        stale.notes
    );
}

/// verify47 V47-4: two policies of one layout in one file, the file
/// reordered after the switch: the switch's patch, applied by offset,
/// fits the other policy's identical lines. It may only change what this
/// policy's own rollback changes; else every field of its own, said why.
#[test]
fn a_carried_rollback_never_lands_on_another_policy() {
    let doc = |name: &str, action: &str| {
        format!("kind: ClusterPolicy\nmetadata:\n  name: {name}\n  annotations:\n    policies.kyverno.io/title: T\n    policies.kyverno.io/category: C\nspec:\n  background: true\n  validationFailureAction: {action}\n  rules:\n  - name: r\n    validate: {{}}\n")
    };
    let before = format!("{}---\n{}", doc("a", "Audit"), doc("b", "Enforce"));
    // The switch's rollback with three lines of context, as packages
    // before V47-15 made it (its context now reaches the name).
    let promoted = format!("{}---\n{}", doc("a", "Enforce"), doc("b", "Enforce"));
    let switch_rollback = &super::diff::unified("p.yaml", &promoted, &before);
    // After the switch both enforce, and the file lists b first.
    let reordered = format!("{}---\n{}", doc("b", "Enforce"), doc("a", "Enforce"));
    let enforced = Repository::new(repo(&[("p.yaml", &reordered)]));
    let carried =
        enforced.plan_after_switch(&cluster_policy("a"), None, &[], "a", Some(switch_rollback));
    let (_, rollback) = patches(&carried);
    // `git apply`, as the user runs it.
    let applied = super::diff::tests::git_applied("p.yaml", &reordered, rollback);
    assert_eq!(
        applied,
        format!("{}---\n{}", doc("b", "Enforce"), doc("a", "Audit")),
        "b stays enforced, a goes back: {rollback}"
    );
    assert!(
        carried
            .notes
            .iter()
            .any(|n| n.contains("own rollback here does not change")),
        "{:?}",
        carried.notes
    );
}

#[test]
fn a_validating_policy_s_flow_list_becomes_deny() {
    let text = "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata:\n  name: vp\nspec:\n  validationActions: [Audit, 'Warn']  # audit first\n";
    let files = repo(&[("vp.yaml", text)]);
    let policy = PolicyRef {
        kind: "ValidatingPolicy",
        name: "vp",
        namespace: None,
    };
    let change = plan(&files, &policy, &[], "vp");
    let (promote, rollback) = patches(&change);
    assert_eq!(
        changed(promote),
        [
            "-  validationActions: [Audit, 'Warn']  # audit first",
            "+  validationActions: [Deny]  # audit first"
        ]
    );
    assert_eq!(
        changed(rollback),
        [
            "-  validationActions: [Deny]  # audit first",
            "+  validationActions: [Audit, 'Warn']  # audit first"
        ]
    );
}

#[test]
fn a_binding_s_block_list_becomes_one_item() {
    let text = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: vap-binding\nspec:\n  policyName: vap\n  validationActions:\n    - Audit\n    - Warn\n  matchResources: {}\n";
    let files = repo(&[("bindings/vap.yaml", text)]);
    let policy = PolicyRef {
        kind: "ValidatingAdmissionPolicy",
        name: "vap",
        namespace: None,
    };
    let change = plan(&files, &policy, &[], "vap");
    let (promote, rollback) = patches(&change);
    assert_eq!(
        changed(promote),
        ["-    - Audit", "-    - Warn", "+    - Deny"]
    );
    // The rollback gives back what the promotion took, Warn too.
    assert_eq!(
        changed(rollback),
        ["-    - Deny", "+    - Audit", "+    - Warn"]
    );
    // Its context reaches back to the binding's name (verify47 V47-15).
    assert!(promote.contains("@@ -3,8 +3,7 @@"), "{promote}");
}

/// verify47 V47-15: a hunk's context reaches the policy's name, so a
/// promote.patch applied after the file was reordered never lands on
/// another policy of the same layout: `git apply` refuses it (the
/// context after the change moved too), or it lands on its own.
#[test]
fn a_promote_patch_never_lands_on_another_policy_after_a_reorder() {
    let doc = |name: &str| {
        format!("kind: ClusterPolicy\nmetadata:\n  name: {name}\n  annotations:\n    policies.kyverno.io/title: T\n    policies.kyverno.io/category: C\nspec:\n  background: true\n  validationFailureAction: Audit\n  rules:\n  - name: r\n    validate: {{}}\n")
    };
    let before = format!("{}---\n{}---\n{}", doc("a"), doc("b"), doc("c"));
    let change = plan(
        &repo(&[("p.yaml", &before)]),
        &cluster_policy("b"),
        &[],
        "b",
    );
    let (promote, _) = patches(&change);
    assert!(promote.contains("   name: b\n"), "{promote}");
    for reordered in [
        format!("{}---\n{}---\n{}", doc("b"), doc("a"), doc("c")),
        format!("{}---\n{}---\n{}", doc("c"), doc("a"), doc("b")),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("p.yaml"), &reordered).expect("write");
        std::fs::write(dir.path().join("x.patch"), promote).expect("write");
        let applied = std::process::Command::new("git")
            .args(["apply", "--unsafe-paths", "--directory=.", "x.patch"])
            .current_dir(dir.path())
            .env("GIT_CEILING_DIRECTORIES", dir.path())
            .output()
            .expect("git runs");
        let after = std::fs::read_to_string(dir.path().join("p.yaml")).expect("read");
        if applied.status.success() {
            assert_eq!(
                after,
                reordered.replace(
                    &doc("b"),
                    &doc("b").replace("Action: Audit", "Action: Enforce")
                ),
                "landed elsewhere"
            );
        } else {
            assert_eq!(after, reordered, "a refused patch changes nothing");
        }
    }
    // verify48 V48-7: two Policies `a` told apart by a namespace written
    // above the name.
    let doc = |namespace: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: Policy\nmetadata:\n  namespace: {namespace}\n  name: a\n  annotations:\n    policies.kyverno.io/title: T\nspec:\n  background: true\n  validationFailureAction: Audit\n  rules:\n  - name: r\n    validate: {{}}\n")
    };
    let before = format!("{}---\n{}", doc("shop"), doc("dev"));
    let shop_a = PolicyRef {
        kind: "Policy",
        name: "a",
        namespace: Some("shop"),
    };
    let change = plan(&repo(&[("p.yaml", &before)]), &shop_a, &[], "shop.a");
    let (promote, _) = patches(&change);
    assert!(promote.contains("   namespace: shop\n"), "{promote}");
    let reordered = format!("{}---\n{}", doc("dev"), doc("shop"));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.yaml"), &reordered).expect("write");
    std::fs::write(dir.path().join("x.patch"), promote).expect("write");
    let _ = std::process::Command::new("git")
        .args(["apply", "--unsafe-paths", "--directory=.", "x.patch"])
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path())
        .output()
        .expect("git runs");
    let after = std::fs::read_to_string(dir.path().join("p.yaml")).expect("read");
    assert!(after.starts_with(&doc("dev")), "dev/a untouched: {after}");
}

const TEMPLATE: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team\n  namespace: {{ .Release.Namespace }}\nspec:\n  {{- if .Values.background }}\n  background: true\n  {{- end }}\n  validationFailureAction: {{ .Values.policies.requireTeam.action | default \"Audit\" }}\n  rules: []\n";
const CHART: &str = "apiVersion: v2\nname: policies\nversion: 0.1.0\n";
const VALUES: &str = "background: true\npolicies:\n  # per policy\n  requireTeam:\n    action: Audit # until ready\n  other:\n    action: Audit\n";
const PROD: &str = "policies:\n  requireTeam:\n    action: \"Audit\"\n";

#[test]
fn a_helm_template_is_followed_to_the_nested_values_key() {
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/require-team.yaml", TEMPLATE),
        ("charts/policies/values.yaml", VALUES),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let (promote, _) = patches(&change);
    assert_eq!(
        changed(promote),
        [
            "-    action: Audit # until ready",
            "+    action: Enforce # until ready"
        ]
    );
    assert!(promote.starts_with("diff --git a/charts/policies/values.yaml"));
    assert_eq!(change.locations, ["charts/policies/values.yaml:5 policies.requireTeam.action (read by charts/policies/templates/require-team.yaml:10 spec.validationFailureAction)"]);
}

#[test]
fn an_environment_values_file_overriding_the_default_is_the_one_patched() {
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/require-team.yaml", TEMPLATE),
        ("charts/policies/values.yaml", VALUES),
        ("environments/prod/values.yaml", PROD),
    ]);
    let policy = cluster_policy("require-team");
    // Which environment this cluster is must be said.
    let open = plan(&files, &policy, &[], "require-team");
    assert!(
        open.problem
            .as_deref()
            .is_some_and(|p| p.contains("--policy-values")),
        "{open:?}"
    );
    assert_eq!(open.promote, None);
    let change = plan(
        &files,
        &policy,
        &["environments/prod/values.yaml".to_string()],
        "require-team",
    );
    let (promote, rollback) = patches(&change);
    assert!(promote.starts_with("diff --git a/environments/prod/values.yaml"));
    assert_eq!(
        changed(promote),
        ["-    action: \"Audit\"", "+    action: \"Enforce\""]
    );
    assert_eq!(
        changed(rollback),
        ["-    action: \"Enforce\"", "+    action: \"Audit\""]
    );
}

/// verify49 V49-6: an environment's values file outside the charts
/// reaches every chart's templates; V49-2: a template's literal rule
/// action stays enforced after a rollback through the values key; V49-3:
/// metadata after spec is still in the hunk.
#[test]
fn environment_values_template_literals_and_late_metadata() {
    let template = |name: &str, spec: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: {name}\nspec:\n{spec}")
    };
    let own = template(
        "a",
        "  validationFailureAction: {{ .Values.policyAction }}\n  rules: []\n",
    );
    let helper = template(
        "b",
        "  {{- include \"pols.spec\" . | nindent 2 }}\n  rules: []\n",
    );
    let files = repo(&[
        ("x/Chart.yaml", CHART),
        ("x/values.yaml", "policyAction: Audit\n"),
        ("x/templates/a.yaml", &own),
        ("y/Chart.yaml", &CHART.replace("policies", "y")),
        ("y/values.yaml", "policyAction: Audit\n"),
        ("y/templates/b.yaml", &helper),
        ("values-prod.yaml", "policyAction: Audit\n"),
    ]);
    let change = plan(
        &files,
        &cluster_policy("a"),
        &["values-prod.yaml".to_string()],
        "a",
    );
    let found: Vec<String> = change.also_switches.iter().map(Reader::describe).collect();
    assert_eq!(
        found,
        ["ClusterPolicy b (y/templates/b.yaml:6)"],
        "{change:?}"
    );

    let literal = template(
        "p",
        "  validationFailureAction: {{ .Values.pAction }}\n  rules:\n  - name: r1\n    validate: {}\n  - name: r2\n    validate:\n      failureAction: Enforce\n",
    );
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/values.yaml", "pAction: Audit\n"),
        ("c/templates/p.yaml", &literal),
    ]);
    let change = plan(&files, &cluster_policy("p"), &[], "p");
    assert_eq!(change.enforced_after_rollback, ["r2"], "{change:?}");

    let late = |name: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: Policy\nspec:\n  background: true\n  validationFailureAction: Audit\n  rules:\n  - name: r\n    validate: {{}}\nmetadata:\n  annotations:\n    policies.kyverno.io/title: T\n  name: a\n  namespace: {name}\n")
    };
    let before = format!("{}---\n{}", late("shop"), late("dev"));
    let shop_a = PolicyRef {
        kind: "Policy",
        name: "a",
        namespace: Some("shop"),
    };
    let change = plan(&repo(&[("p.yaml", &before)]), &shop_a, &[], "shop.a");
    let (promote, _) = patches(&change);
    assert!(promote.contains("   namespace: shop\n"), "{promote}");
}

/// verify49 V49-4, verify47 V47-6: the parent chart's `sub:` values
/// override the subchart's default: the parent's line is the one patched.
#[test]
fn a_parent_chart_s_value_for_its_subchart_is_the_one_patched() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.policyAction }}\n  rules: []\n";
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/values.yaml", "sub:\n  policyAction: Audit\n"),
        ("c/charts/sub/Chart.yaml", &CHART.replace("policies", "sub")),
        ("c/charts/sub/values.yaml", "policyAction: Audit\n"),
        ("c/charts/sub/templates/a.yaml", template),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    let (promote, _) = patches(&change);
    assert!(
        promote.starts_with("diff --git a/c/values.yaml"),
        "{change:?}"
    );
    assert_eq!(
        changed(promote),
        ["-  policyAction: Audit", "+  policyAction: Enforce"]
    );
}

/// verify49 V49-13: a sibling chart the parent depends on by `file://`
/// is its subchart: the parent reads its key as `.Values.sub.k`.
#[test]
fn a_file_dependency_is_a_subchart() {
    let template = |name: &str, key: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: {name}\nspec:\n  validationFailureAction: {{{{ .Values.{key} }}}}\n  rules: []\n")
    };
    let files = repo(&[
        (
            "parent/Chart.yaml",
            &format!("{CHART}dependencies:\n- name: sub\n  version: 0.1.0\n  repository: file://../sub\n"),
        ),
        ("parent/templates/b.yaml", &template("b", "sub.policyAction")),
        ("sub/Chart.yaml", &CHART.replace("policies", "sub")),
        ("sub/values.yaml", "policyAction: Audit\n"),
        ("sub/templates/a.yaml", &template("a", "policyAction")),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    let found: Vec<String> = change.also_switches.iter().map(Reader::describe).collect();
    assert_eq!(
        found,
        ["ClusterPolicy b (parent/templates/b.yaml:6)"],
        "{change:?}"
    );
}

/// verify50 V50-5, V50-8, V50-10: the parent's values give way to a
/// named environment's file; a parent's `global` overrides the
/// subchart's; a HelmRelease of the parent sets the subchart's values
/// under its name.
#[test]
fn parent_values_environments_globals_and_releases() {
    let template = |key: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{{{ .Values.{key} }}}}\n  rules: []\n")
    };
    let umbrella = |key: &str, parent_values: &str, extra: &[(&str, &str)]| {
        let mut files = vec![
            ("c/Chart.yaml".to_string(), CHART.to_string()),
            ("c/values.yaml".to_string(), parent_values.to_string()),
            (
                "c/charts/sub/Chart.yaml".to_string(),
                CHART.replace("policies", "sub"),
            ),
            (
                "c/charts/sub/values.yaml".to_string(),
                format!("{}: Audit\n", key.replace("global.", "global:\n  ")),
            ),
            ("c/charts/sub/templates/a.yaml".to_string(), template(key)),
        ];
        files.extend(extra.iter().map(|(p, t)| (p.to_string(), t.to_string())));
        files.into_iter().collect::<BTreeMap<String, String>>()
    };
    // V50-5: an environment named, whose file does not set it: no patch.
    let files = umbrella(
        "policyAction",
        "sub:\n  policyAction: Audit\n",
        &[("c/values-prod.yaml", "x: 1\n")],
    );
    let change = plan(
        &files,
        &cluster_policy("a"),
        &["c/values-prod.yaml".to_string()],
        "a",
    );
    assert_eq!(change.promote, None, "{change:?}");
    // V50-8: the parent's global.
    let files = umbrella(
        "global.policyAction",
        "global:\n  policyAction: Audit\n",
        &[],
    );
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert!(
        patches(&change).0.starts_with("diff --git a/c/values.yaml"),
        "{change:?}"
    );
    // V50-10: a release of the parent, with sub.policyAction.
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: c\nspec:\n  chart:\n    spec:\n      chart: ./c\n  values:\n    sub:\n      policyAction: Audit\n";
    let files = umbrella(
        "policyAction",
        "x: 1\n",
        &[("clusters/prod/c.yaml", release)],
    );
    let change = plan(
        &files,
        &cluster_policy("a"),
        &["clusters/prod/c.yaml".to_string()],
        "a",
    );
    assert!(
        patches(&change)
            .0
            .starts_with("diff --git a/clusters/prod/c.yaml"),
        "{change:?}"
    );
}

/// verify50 V50-2: a templated binding Git had in Deny is read too.
#[test]
fn a_templated_binding_denying_before_the_switch_is_kept() {
    let vap = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: v\nspec:\n  validations:\n  - expression: \"true\"\n";
    let binding = |name: &str, action: &str| {
        format!("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: {name}\n  labels: {{{{- include \"c.labels\" . | nindent 4 }}}}\nspec:\n  policyName: v\n  validationActions: [{action}]\n")
    };
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/values.yaml", "v2Action: Audit\n"),
        ("c/templates/vap.yaml", vap),
        ("c/templates/v1.yaml", &binding("v-1", "Deny")),
        (
            "c/templates/v2.yaml",
            &binding("v-2", "{{ .Values.v2Action }}"),
        ),
    ]);
    let policy = PolicyRef {
        kind: "ValidatingAdmissionPolicy",
        name: "v",
        namespace: None,
    };
    let change = plan(&files, &policy, &[], "v");
    assert_eq!(change.enforced_after_rollback, ["v"], "{change:?}");
    // verify52 V52-6: a templated name does not hide the literal Deny.
    let named = binding("v-1", "Deny").replace("name: v-1", "name: \"{{ .Release.Name }}-v1\"");
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/values.yaml", "v2Action: Audit\n"),
        ("c/templates/vap.yaml", vap),
        ("c/templates/v1.yaml", &named),
        (
            "c/templates/v2.yaml",
            &binding("v-2", "{{ .Values.v2Action }}"),
        ),
    ]);
    let change = plan(&files, &policy, &[], "v");
    assert_eq!(change.enforced_after_rollback, ["v"], "{change:?}");
}

/// verify49 V49-12: a binding Git denies with before the switch stays
/// denying after the switch's rollback: the policy is named as kept.
#[test]
fn a_binding_denying_before_the_switch_is_kept_by_its_rollback() {
    let vap = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: v\nspec:\n  validations:\n  - expression: \"true\"\n";
    let binding = |name: &str, action: &str| {
        format!("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: {name}\nspec:\n  policyName: v\n  validationActions: [{action}]\n")
    };
    let text = format!(
        "{vap}---\n{}---\n{}",
        binding("v-1", "Deny"),
        binding("v-2", "Audit")
    );
    let policy = PolicyRef {
        kind: "ValidatingAdmissionPolicy",
        name: "v",
        namespace: None,
    };
    let change = plan(&repo(&[("v.yaml", &text)]), &policy, &[], "v");
    assert!(change.promote.is_some(), "{change:?}");
    assert_eq!(change.enforced_after_rollback, ["v"]);
    let audit_only = format!("{vap}---\n{}", binding("v-2", "Audit"));
    let change = plan(&repo(&[("v.yaml", &audit_only)]), &policy, &[], "v");
    assert!(change.enforced_after_rollback.is_empty(), "{change:?}");
}

/// verify49 V49-11: an action that is a Flux variable, substituted per
/// cluster, gets no patch of the shared file.
#[test]
fn a_flux_variable_action_is_not_replaced_by_a_literal() {
    let text = PLAIN.replace(
        "validationFailureAction: \"Audit\"",
        "validationFailureAction: ${POLICY_ACTION}",
    );
    let change = plan(
        &repo(&[("policies/p.yaml", &text)]),
        &cluster_policy("require-team"),
        &[],
        "p",
    );
    assert_eq!(change.promote, None);
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("the Flux variable ${POLICY_ACTION}")),
        "{change:?}"
    );
}

/// walk48 W48-2: two policies' keys two lines apart in one values file:
/// each promote.patch applies after the other.
#[test]
fn patches_of_nearby_values_keys_apply_one_after_another() {
    let template = |name: &str, key: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: {name}\nspec:\n  validationFailureAction: {{{{ .Values.{key} }}}}\n  rules: []\n")
    };
    let values = "aAction: Audit\nother: 1\nbAction: Audit\n";
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/a.yaml", &template("a", "aAction")),
        ("c/templates/b.yaml", &template("b", "bAction")),
        ("c/values.yaml", values),
    ]);
    let a = plan(&files, &cluster_policy("a"), &[], "a");
    let b = plan(&files, &cluster_policy("b"), &[], "b");
    let once = super::diff::tests::git_applied("c/values.yaml", values, patches(&a).0);
    let both = super::diff::tests::git_applied("c/values.yaml", &once, patches(&b).0);
    assert_eq!(both, "aAction: Enforce\nother: 1\nbAction: Enforce\n");
}

/// verify48 V48-9: the environment's values file does not set the key,
/// the chart's default does: patching the default would switch every
/// environment, so no patch, and how to switch this one alone.
#[test]
fn an_environment_values_file_without_the_key_patches_no_default() {
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/require-team.yaml", TEMPLATE),
        ("charts/policies/values.yaml", VALUES),
        ("environments/prod/values.yaml", "replicas: 2\n"),
    ]);
    let change = plan(
        &files,
        &cluster_policy("require-team"),
        &["environments/prod/values.yaml".to_string()],
        "require-team",
    );
    assert_eq!(change.promote, None);
    assert!(
        change.problem.as_deref().is_some_and(|p| p.contains(
            "add `policies.requireTeam.action: Enforce` to environments/prod/values.yaml"
        )),
        "{change:?}"
    );
}

#[test]
fn a_flux_helm_release_s_values_set_the_action() {
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n  values:\n    policies:\n      requireTeam:\n        action: Audit\n";
    // A release of another chart, and another chart's values, with the
    // same key: not this chart's.
    let other = release.replace("./charts/policies", "other");
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/require-team.yaml", TEMPLATE),
        ("clusters/prod/policies.yaml", release),
        ("clusters/prod/other.yaml", &other),
        ("charts/other/Chart.yaml", "name: other\n"),
        ("charts/other/values-prod.yaml", VALUES),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let (promote, _) = patches(&change);
    assert_eq!(
        changed(promote),
        ["-        action: Audit", "+        action: Enforce"]
    );
    // verify50 V50-1: a release by chartRef may be this chart's: beside
    // the chart's default it is one of several places, named with
    // --policy-values.
    let by_reference = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: policies\n  values:\n    policies:\n      requireTeam:\n        action: Enforce\n";
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/require-team.yaml", TEMPLATE),
        ("charts/policies/values.yaml", VALUES),
        ("clusters/prod/policies.yaml", by_reference),
    ]);
    let open = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        open.problem
            .as_deref()
            .is_some_and(|p| p.contains("clusters/prod/policies.yaml")),
        "{open:?}"
    );
    let named = plan(
        &files,
        &cluster_policy("require-team"),
        &["clusters/prod/policies.yaml".to_string()],
        "require-team",
    );
    assert!(
        patches(&named)
            .1
            .starts_with("diff --git a/clusters/prod/policies.yaml"),
        "{named:?}"
    );
}

#[test]
fn what_cannot_be_located_says_why_and_patches_nothing() {
    let overlay = PLAIN.replace("\"Audit\"", "Enforce");
    let cases: Vec<(BTreeMap<String, String>, &str)> = vec![
        (repo(&[("a.yaml", PLAIN)]), "no ClusterPolicy named"),
        (
            repo(&[("base/p.yaml", PLAIN), ("overlays/prod/p.yaml", &overlay)]),
            "several places",
        ),
        (
            repo(&[(
                "o.yaml",
                "kind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  validationFailureAction: Audit\n  validationFailureActionOverrides:\n  - action: Enforce\n    namespaces: [prod]\n",
            )]),
            "overrides",
        ),
        (
            repo(&[(
                "f.yaml",
                "kind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  rules:\n  - name: a\n    validate: {failureAction: Audit}\n",
            )]),
            "not edited line by line",
        ),
        (
            repo(&[
                ("c/Chart.yaml", CHART),
                (
                    "c/templates/p.yaml",
                    "kind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  validationFailureAction: {{ ternary \"Enforce\" \"Audit\" .Values.on }}\n",
                ),
            ]),
            "not followed",
        ),
        (
            repo(&[("c/Chart.yaml", CHART), ("c/templates/p.yaml", TEMPLATE)]),
            "no values file sets policies.requireTeam.action",
        ),
        (
            repo(&[(
                "n.yaml",
                "kind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  rules:\n  - name: a\n    validate:\n      message: a\n",
            )]),
            "sets no action",
        ),
        (
            repo(&[(
                "r.yaml",
                "kind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  rules:\n  - name: a\n    validate:\n      failureAction: Audit\n  - name: b\n    validate:\n      message: b\n",
            )]),
            "spec.rules[1] sets no failureAction",
        ),
        (
            repo(&[
                ("c/Chart.yaml", CHART),
                (
                    "c/templates/p.yaml",
                    "kind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  {{- if .Values.enforce }}\n  validationFailureAction: Enforce\n  {{- else }}\n  validationFailureAction: Audit\n  {{- end }}\n",
                ),
            ]),
            "more than one line",
        ),
    ];
    let names = [
        "require-nothing",
        "require-team",
        "require-team",
        "require-team",
        "require-team",
        "require-team",
        "require-team",
        "require-team",
        "require-team",
    ];
    for ((files, expected), name) in cases.iter().zip(names) {
        let change = plan(files, &cluster_policy(name), &[], name);
        assert_eq!(change.promote, None, "{expected}");
        assert_eq!(change.rollback, None, "{expected}");
        assert!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains(expected)),
            "{expected}: {change:?}"
        );
    }
}

#[test]
fn a_policy_git_has_in_enforce_has_only_a_rollback() {
    let files = repo(&[("p.yaml", &PLAIN.replace("\"Audit\"", "Enforce"))]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None);
    assert!(change.rollback.is_some());
    assert!(change.notes[0].contains("Enforce already"));
}

#[test]
fn patch_directories_do_not_collide() {
    let policies = [
        cluster_policy("a"),
        PolicyRef {
            kind: "ValidatingPolicy",
            name: "a",
            namespace: None,
        },
        PolicyRef {
            kind: "Policy",
            name: "b",
            namespace: Some("team"),
        },
    ];
    assert_eq!(
        patch_dirs(&policies),
        ["a.clusterpolicy", "a.validatingpolicy", "team.b"]
    );
    assert!(is_patch_file("patches/team.b/promote.patch"));
    assert!(!is_patch_file("patches/../rollback.patch"));
    assert!(!is_patch_file("patches/a/b/promote.patch"));
    assert!(!is_patch_file("patches/a/evil.sh"));
}

/// A package of one policy whose Git change is `change`.
fn evidence_with(change: GitChange) -> crate::Evidence {
    let counts = serde_json::json!({"pass": 1, "fail": 0, "warn": 0, "error": 0, "skip": 0});
    let mut evidence: crate::Evidence = serde_json::from_value(serde_json::json!({
        "schemaVersion": crate::SCHEMA_VERSION,
        "generated": "2026-11-20T10:00:00Z",
        "polscanVersion": "test",
        "cluster": {"source": "files"},
        "expiryWindowDays": 14,
        "policies": [{
            "kind": "ClusterPolicy", "name": "require-team", "action": "Audit",
            "rules": [], "kinds": ["Pod"], "found": true, "verdict": "ready",
            "reasons": [], "counts": counts, "byNamespace": {}, "ruleEvidence": [],
            "violations": [], "rollbackConditions": [],
            "fluxOwner": "Kustomization flux-system/apps"
        }],
        "exceptions": []
    }))
    .expect("evidence");
    evidence.policies[0].git_change = Some(change);
    evidence
}

#[test]
fn a_package_holds_the_patches_verifies_them_and_replaces_them_with_force() {
    use crate::output::{markdown, package};
    let files = repo(&[("policies/require-team.yaml", PLAIN)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let evidence = evidence_with(change.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pkg");
    package::write(&out, &evidence, false).expect("written");
    let promote = out.join("patches/require-team/promote.patch");
    assert_eq!(
        std::fs::read_to_string(&promote).expect("promote"),
        change
            .promote
            .as_ref()
            .map(|p| p.diff.clone())
            .unwrap_or_default()
    );
    let verified = package::verify(&out).expect("verify");
    assert!(verified.ok(), "{:?}", verified.problems);
    assert_eq!(verified.checked.len(), 5);
    let page = markdown::render(&evidence);
    assert!(
        page.contains(
            "> **Warning:** Flux (Kustomization flux-system/apps) reconciles this policy from Git"
        ),
        "{page}"
    );
    // Said as it runs from any folder, as the terminal and the decision
    // section say it: the patch is the package's, applied in the checkout.
    assert!(
        page.contains("git -C <repository> apply <package>/patches/require-team/promote.patch    # switch to Enforce"),
        "{page}"
    );
    assert!(
        page.contains("Run from any folder, with <repository> the policy checkout"),
        "{page}"
    );
    assert!(!page.contains("In the repository's root"), "{page}");

    std::fs::write(&promote, "tampered").expect("tamper");
    let tampered = package::verify(&out).expect("verify");
    assert!(
        tampered
            .problems
            .iter()
            .any(|p| p.contains("promote.patch was modified")),
        "{:?}",
        tampered.problems
    );
    // Replaced with --force: a package without patches leaves none behind.
    let without = evidence_with(GitChange {
        problem: Some("not found".into()),
        ..GitChange::default()
    });
    package::write(&out, &without, true).expect("replaced");
    assert!(!out.join("patches").exists());
    assert!(package::verify(&out).expect("verify").ok());
    assert!(markdown::render(&without).contains("In Git (--policy-repo): no patch: not found"));

    // A crafted file name is refused before anything is written.
    let mut crafted = evidence_with(change);
    if let Some(promote) = crafted.policies[0]
        .git_change
        .as_mut()
        .and_then(|c| c.promote.as_mut())
    {
        promote.file = "patches/../../evil.patch".into();
    }
    let fresh = dir.path().join("crafted");
    assert!(package::write(&fresh, &crafted, false).is_err());
    assert!(!fresh.join("evidence.json").exists());
}

/// `files` with `change`'s promote.patch applied by git, then its
/// rollback.patch: the file's text after each.
fn through_git(file: &str, text: &str, change: &GitChange) -> (String, String) {
    let (promote, rollback) = patches(change);
    let promoted = super::diff::tests::git_applied(file, text, promote);
    let rolled_back = super::diff::tests::git_applied(file, &promoted, rollback);
    (promoted, rolled_back)
}

#[test]
fn a_same_named_policy_of_another_namespace_kind_or_group_is_left_alone() {
    let ours = "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata:\n  name: p\n  namespace: team-a\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: r\n    validate:\n      message: m\n";
    let text = format!(
        "{}---\n{ours}---\n{}---\n{}",
        ours.replace("team-a", "team-b"),
        ours.replace("kind: Policy", "kind: ClusterPolicy")
            .replace("  namespace: team-a\n", ""),
        // NVIDIA's GPU operator has a ClusterPolicy kind of its own.
        "apiVersion: nvidia.com/v1\nkind: Policy\nmetadata:\n  name: p\n  namespace: team-a\nspec:\n  validationFailureAction: Audit\n"
    );
    let files = repo(&[("all.yaml", &text)]);
    let policy = PolicyRef {
        kind: "Policy",
        name: "p",
        namespace: Some("team-a"),
    };
    let change = plan(&files, &policy, &[], "team-a.p");
    assert_eq!(
        change.locations,
        ["all.yaml:19 spec.validationFailureAction"]
    );
    let (promoted, rolled_back) = through_git("all.yaml", &text, &change);
    assert_eq!(
        promoted,
        text.replacen(
            "team-a\nspec:\n  validationFailureAction: Audit",
            "team-a\nspec:\n  validationFailureAction: Enforce",
            1
        )
    );
    assert_eq!(rolled_back, text);
}

#[test]
fn comments_block_scalars_and_other_documents_do_not_count() {
    let text = "# validationFailureAction: Enforce\n---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: other\nspec:\n  validationFailureAction: Audit\n---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\n  annotations:\n    policies.kyverno.io/description: |\n      Set\n      validationFailureAction: Enforce\n      when ready.\nspec:\n  # validationFailureAction: Enforce\n  validationFailureAction: 'Audit'\n  rules:\n  - name: r\n    validate:\n      message: >-\n        failureAction: Enforce\n      pattern: {a: b}\n";
    let files = repo(&[("p.yaml", text)]);
    let change = plan(&files, &cluster_policy("p"), &[], "p");
    assert_eq!(change.locations, ["p.yaml:21 spec.validationFailureAction"]);
    let (promote, _) = patches(&change);
    assert_eq!(
        changed(promote),
        [
            "-  validationFailureAction: 'Audit'",
            "+  validationFailureAction: 'Enforce'"
        ]
    );
    let (_, rolled_back) = through_git("p.yaml", text, &change);
    assert_eq!(rolled_back, text);
}

#[test]
fn an_alias_of_an_anchored_rule_gives_a_reason() {
    let text = "kind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n  - &rule\n    name: a\n    validate:\n      failureAction: Audit\n  - *rule\n";
    let change = plan(&repo(&[("p.yaml", text)]), &cluster_policy("p"), &[], "p");
    assert_eq!(change.promote, None);
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("alias")),
        "{change:?}"
    );
}

#[test]
fn windows_line_endings_stay_through_promote_and_rollback() {
    let text = PLAIN.replace('\n', "\r\n");
    let files = repo(&[("p.yaml", &text)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let (promoted, rolled_back) = through_git("p.yaml", &text, &change);
    assert_eq!(promoted, text.replace("\"Audit\"", "\"Enforce\""));
    assert_eq!(rolled_back, text);
    // A carriage return ending no line feed: git and YAML disagree on
    // its lines.
    let mac = PLAIN.replace('\n', "\r");
    let change = plan(
        &repo(&[("p.yaml", &mac)]),
        &cluster_policy("require-team"),
        &[],
        "require-team",
    );
    assert_eq!(change.promote, None);
    assert!(change.problem.is_some(), "{change:?}");
}

#[test]
fn a_values_key_two_policies_read_is_said_to_promote_both() {
    let second = TEMPLATE.replace("require-team", "require-owner").replace(
        "rules: []",
        "rules: [] # {{ .Values.policies.requireTeam.actions }}",
    );
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/team.yaml", TEMPLATE),
        ("c/templates/owner.yaml", &second),
        (
            "c/templates/unrelated.yaml",
            "kind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ .Values.policies.requireTeam.actionable }}\n",
        ),
        ("c/values.yaml", VALUES),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    // verify57 V57-7: nothing in the checkout renders the chart, said.
    assert_eq!(
        change.notes,
        [
            "no HelmRelease, Argo CD Application or parent chart of c is in the checkout: the patch edits the chart's default c/values.yaml, which every release reads unless its valuesFiles, spec.values or valuesFrom set policies.requireTeam.action — check the release that deploys it (another repository?) before applying",
            "policies.requireTeam.action is also read by ClusterPolicy require-owner (c/templates/owner.yaml:10): the patch changes them too"
        ]
    );
}

/// verify46 F6: a base several overlays include is named: the patch
/// switches the policy wherever they are applied.
#[test]
fn a_base_several_overlays_include_is_named() {
    let overlay = "resources:\n- ../../base\n";
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
        ("overlays/staging/kustomization.yaml", overlay),
        ("overlays/prod/kustomization.yaml", overlay),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        change.notes.iter().any(|n| n.starts_with(
            "base/p.yaml is built by each of overlays/prod/kustomization.yaml, overlays/staging/kustomization.yaml"
        )),
        "{:?}",
        change.notes
    );
    // verify50 V50-7: a plain folder two Flux Kustomizations build.
    let flux = |cluster: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies-{cluster}\nspec:\n  path: ./policies\n")
    };
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("clusters/prod/policies.yaml", &flux("prod")),
        ("clusters/staging/policies.yaml", &flux("staging")),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change.notes.iter().any(|n| n.starts_with(
            "policies/p.yaml is built by each of clusters/prod/policies.yaml, clusters/staging/policies.yaml"
        )),
        "{:?}",
        change.notes
    );
    // verify52 V52-2: reached through a common folder, `bases:`, or a
    // Component: the overlays at the top are named.
    for (middle, key) in [
        ("envs/common", "resources"),
        ("envs/common", "bases"),
        ("components/policies", "components"),
    ] {
        let top = format!("{key}:\n- ../../{middle}\n");
        let middle_file = format!("{middle}/kustomization.yaml");
        let files = repo(&[
            ("base/p.yaml", PLAIN),
            ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
            (&middle_file, "resources:\n- ../../base\n"),
            ("overlays/staging/kustomization.yaml", &top),
            ("overlays/prod/kustomization.yaml", &top),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.shared_source, "{key}: {change:?}");
        assert!(
            change.notes.iter().any(|n| n.starts_with(
                "base/p.yaml is built by each of overlays/prod/kustomization.yaml, overlays/staging/kustomization.yaml"
            )),
            "{key}: {:?}",
            change.notes
        );
    }
    // verify53 V53-2: two Argo CD Applications of a plain folder; k4:
    // an overlay's file named `Kustomization`.
    let argo = |cluster: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies-{cluster}\nspec:\n  source:\n    path: policies\n")
    };
    let (prod, staging) = (argo("prod"), argo("staging"));
    for files in [
        repo(&[
            ("policies/p.yaml", PLAIN),
            ("apps/prod.yaml", &prod),
            ("apps/staging.yaml", &staging),
        ]),
        repo(&[
            ("policies/p.yaml", PLAIN),
            ("policies/kustomization.yaml", "resources:\n- p.yaml\n"),
            (
                "overlays/prod/kustomization.yaml",
                "resources:\n- ../../policies\n",
            ),
            (
                "overlays/staging/Kustomization",
                "resources:\n- ../../policies\n",
            ),
        ]),
    ] {
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.shared_source, "{change:?}");
    }
    // V53-1: one cluster's Flux Kustomization of its overlay is one.
    let flux_prod = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./overlays/prod\n";
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
        ("overlays/prod/kustomization.yaml", overlay),
        ("clusters/prod/policies.yaml", flux_prod),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(!change.shared_source, "{change:?}");
    let one = repo(&[
        ("base/p.yaml", PLAIN),
        ("overlays/prod/kustomization.yaml", overlay),
    ]);
    let change = plan(&one, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change.notes.iter().all(|n| !n.contains("kustomize base")),
        "{:?}",
        change.notes
    );
}

/// verify46 F3: an action set through a named template may read the key
/// too; a `global` key reaches the subcharts' templates.
#[test]
fn readers_through_include_and_globals_are_found() {
    let own = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.policyAction }}\n  rules: []\n";
    let included = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: b\nspec:\n  validationFailureAction: {{ include \"pols.action\" . }}\n  rules: []\n";
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/a.yaml", own),
        ("c/templates/b.yaml", included),
        ("c/values.yaml", "policyAction: Audit\n"),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert!(change.promote.is_some(), "{change:?}");
    assert_eq!(
        change
            .also_switches
            .iter()
            .map(Reader::describe)
            .collect::<Vec<_>>(),
        ["ClusterPolicy b (c/templates/b.yaml:6)"]
    );
    let global_own = own.replace(".Values.policyAction", ".Values.global.policyAction");
    let sub = included.replace("include \"pols.action\" .", ".Values.global.policyAction");
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/a.yaml", &global_own),
        ("c/charts/sub/Chart.yaml", &CHART.replace("policies", "sub")),
        ("c/charts/sub/templates/b.yaml", &sub),
        ("c/values.yaml", "global:\n  policyAction: Audit\n"),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert_eq!(
        change
            .also_switches
            .iter()
            .map(Reader::describe)
            .collect::<Vec<_>>(),
        ["ClusterPolicy b (c/charts/sub/templates/b.yaml:6)"],
        "{change:?}"
    );
    // verify47 V47-13: the parent's `sub.policyAction` is the subchart
    // `sub`'s own `.Values.policyAction`.
    let parent_own = own.replace(".Values.policyAction", ".Values.sub.policyAction");
    let scoped = included.replace("include \"pols.action\" .", ".Values.policyAction");
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/a.yaml", &parent_own),
        ("c/charts/sub/Chart.yaml", &CHART.replace("policies", "sub")),
        ("c/charts/sub/templates/b.yaml", &scoped),
        (
            "c/charts/other/Chart.yaml",
            &CHART.replace("policies", "other"),
        ),
        (
            "c/charts/other/templates/b.yaml",
            &scoped.replace("name: b", "name: o"),
        ),
        ("c/values.yaml", "sub:\n  policyAction: Audit\n"),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert_eq!(
        change
            .also_switches
            .iter()
            .map(Reader::describe)
            .collect::<Vec<_>>(),
        ["ClusterPolicy b (c/charts/sub/templates/b.yaml:6)"],
        "{change:?}"
    ); // verify48 V48-6: the subchart named by a dependency alias, in a
       // folder of another name.
    let files = repo(&[
        (
            "c/Chart.yaml",
            &format!(
                "{CHART}dependencies:\n- name: policies-sub\n  version: 0.1.0\n  alias: sub\n"
            ),
        ),
        ("c/templates/a.yaml", &parent_own),
        (
            "c/charts/policies-sub/Chart.yaml",
            &CHART.replace("policies", "policies-sub"),
        ),
        ("c/charts/policies-sub/templates/b.yaml", &scoped),
        ("c/values.yaml", "sub:\n  policyAction: Audit\n"),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert_eq!(
        change
            .also_switches
            .iter()
            .map(Reader::describe)
            .collect::<Vec<_>>(),
        ["ClusterPolicy b (c/charts/policies-sub/templates/b.yaml:6)"],
        "{change:?}"
    );
    // verify48 V48-5: up — the subchart's own key, read by the parent as
    // `.Values.sub.policyAction`.
    let sub_own = own;
    let parent_reads = included.replace("include \"pols.action\" .", ".Values.sub.policyAction");
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/b.yaml", &parent_reads),
        ("c/charts/sub/Chart.yaml", &CHART.replace("policies", "sub")),
        ("c/charts/sub/templates/a.yaml", sub_own),
        ("c/charts/sub/values.yaml", "policyAction: Audit\n"),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert_eq!(
        change
            .also_switches
            .iter()
            .map(Reader::describe)
            .collect::<Vec<_>>(),
        ["ClusterPolicy b (c/templates/b.yaml:6)"],
        "{change:?}"
    );
}

/// verify47 V47-3: `index .Values "k"`, sprig's `get`, `with .Values`
/// and a variable read the key as `.Values.k` does; a plain path to
/// another key does not.
#[test]
fn readers_through_index_get_with_and_variables_are_found() {
    let own = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.policyAction }}\n  rules: []\n";
    let readers = |b_action: &str| {
        let other = format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: b\nspec:\n  validationFailureAction: {b_action}\n  rules: []\n");
        let files = repo(&[
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", own),
            ("c/templates/b.yaml", &other),
            ("c/values.yaml", "policyAction: Audit\notherAction: Audit\n"),
        ]);
        plan(&files, &cluster_policy("a"), &[], "a")
            .also_switches
            .iter()
            .map(Reader::describe)
            .collect::<Vec<_>>()
    };
    for read in [
        "{{ index .Values \"policyAction\" }}",
        "{{ get .Values \"policyAction\" }}",
        "{{ with .Values }}{{ .policyAction }}{{ end }}",
        "{{ $action }}",
        "{{ .Values.policyAction | quote }}",
    ] {
        assert_eq!(
            readers(read),
            ["ClusterPolicy b (c/templates/b.yaml:6)"],
            "{read}"
        );
    }
    for other in [
        "{{ .Values.otherAction }}",
        "{{ $.Values.otherAction | default \"Audit\" }}",
        "Audit",
    ] {
        assert!(readers(other).is_empty(), "{other}");
    }
    // verify48 V48-2: a policy whose action no line shows while a helper
    // or a values map renders its spec.
    for spec in [
        "spec:\n  {{- include \"pols.spec\" . | nindent 2 }}\n",
        "spec:\n  {{- toYaml .Values.common | nindent 2 }}\n",
        "spec:\n  {{- range $k, $v := .Values.common }}\n  {{ $k }}: {{ $v }}\n  {{- end }}\n",
        // verify50 V50-11: the action line in a branch not rendered.
        "spec:\n  {{- if .Values.legacy }}\n  validationFailureAction: Audit\n  {{- else }}\n  {{- include \"pols.spec\" . | nindent 2 }}\n  {{- end }}\n",
        // verify49 V49-1: an overrides key or a comment naming the field
        // sets no action.
        "spec:\n  # validationFailureAction comes from pols.spec\n  {{- include \"pols.spec\" . | nindent 2 }}\n  validationFailureActionOverrides:\n  - {action: Audit, namespaces: [kube-system]}\n",
    ] {
        let hidden =
            format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: b\n{spec}");
        let files = repo(&[
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", own),
            ("c/templates/b.yaml", &hidden),
            ("c/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  {{- toYaml .Values.data | nindent 2 }}\n"),
            ("c/values.yaml", "policyAction: Audit\n"),
        ]);
        let found: Vec<String> = plan(&files, &cluster_policy("a"), &[], "a")
            .also_switches
            .iter()
            .map(Reader::describe)
            .collect();
        assert!(
            found.len() == 1 && found[0].starts_with("ClusterPolicy b (c/templates/b.yaml:"),
            "{spec}: {found:?}"
        );
    }
}

/// verify48 V48-11: a ValidatingAdmissionPolicy's own bindings reading
/// the key switch with it; another policy's binding stands for that
/// policy.
#[test]
fn bindings_read_as_the_policy_they_bind() {
    let binding = |name: &str, policy: &str| {
        format!("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: {name}\nspec:\n  policyName: {policy}\n  validationActions: [{{{{ .Values.vAction }}}}]\n")
    };
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/v1.yaml", &binding("v-1", "v")),
        ("c/templates/v2.yaml", &binding("v-2", "v")),
        ("c/templates/w.yaml", &binding("w-1", "w")),
        ("c/values.yaml", "vAction: Audit\n"),
    ]);
    let policy = PolicyRef {
        kind: "ValidatingAdmissionPolicy",
        name: "v",
        namespace: None,
    };
    let change = plan(&files, &policy, &[], "v");
    let found: Vec<_> = change
        .also_switches
        .iter()
        .map(|r| r.identity.clone())
        .collect();
    assert_eq!(
        found,
        [Some((
            "ValidatingAdmissionPolicy".to_string(),
            "w".to_string()
        ))],
        "{change:?}"
    );
}

#[test]
fn a_values_file_in_no_chart_is_patched_only_when_named() {
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/require-team.yaml", TEMPLATE),
        ("environments/prod/values.yaml", PROD),
    ]);
    let policy = cluster_policy("require-team");
    let open = plan(&files, &policy, &[], "require-team");
    assert_eq!(open.promote, None);
    assert!(
        open.problem
            .as_deref()
            .is_some_and(|p| p.contains("in no chart")),
        "{open:?}"
    );
    let named = plan(
        &files,
        &policy,
        &["environments/prod/values.yaml".to_string()],
        "require-team",
    );
    assert!(named.promote.is_some(), "{named:?}");
}

#[test]
fn a_kustomize_patch_of_the_action_gives_a_reason() {
    let inline = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../base\npatches:\n- target:\n    kind: ClusterPolicy\n    name: require-team\n  patch: |-\n    - op: replace\n      path: /spec/validationFailureAction\n      value: Enforce\n";
    let by_file = "resources:\n- ../../base\npatches:\n- path: enforce.yaml\n  target:\n    name: \"require-team\"\n";
    let json_patch = "- op: replace\n  path: /spec/validationFailureAction\n  value: Enforce\n";
    let policy = cluster_policy("require-team");
    for files in [
        repo(&[
            ("base/p.yaml", PLAIN),
            ("overlays/prod/kustomization.yaml", inline),
        ]),
        repo(&[
            ("base/p.yaml", PLAIN),
            ("overlays/prod/kustomization.yaml", by_file),
            ("overlays/prod/enforce.yaml", json_patch),
        ]),
        // Flux's Kustomization patches too.
        repo(&[
            ("base/p.yaml", PLAIN),
            (
                "clusters/prod/policies.yaml",
                &format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./base\n  {}", inline.split_once("patches:").map(|(_, p)| format!("patches:{}", p.replace("\n", "\n  "))).unwrap_or_default()),
            ),
        ]),
    ] {
        let change = plan(&files, &policy, &[], "require-team");
        assert_eq!(change.promote, None);
        assert!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("kustomization.yaml may patch") || p.contains("policies.yaml may patch")),
            "{change:?}"
        );
    }
    // walk46 F7: a patch that targets by label, annotation or kind alone
    // reaches the policy as well; another kind's does not.
    for target in [
        "    labelSelector: env=prod\n",
        "    kind: ClusterPolicy\n    annotationSelector: tier=1\n",
        "    kind: ClusterPolicy\n",
        // verify47 V47-5: a name pattern (kustomize's anchored regex).
        "    kind: ClusterPolicy\n    name: require-.*\n",
    ] {
        let overlay = format!(
            "resources:\n- ../base\npatches:\n- path: keep-audit.yaml\n  target:\n{target}"
        );
        let files = repo(&[
            ("base/p.yaml", PLAIN),
            ("overlay/kustomization.yaml", &overlay),
            ("overlay/keep-audit.yaml", json_patch),
        ]);
        let change = plan(&files, &policy, &[], "require-team");
        assert!(
            change.promote.is_none()
                && change
                    .problem
                    .as_deref()
                    .is_some_and(|p| p.contains("overlay/kustomization.yaml may patch")),
            "{target}: {change:?}"
        );
    }
    // verify49 V49-10: a replacement writing the action into the kind.
    let replacing = "resources:\n- ../base\nreplacements:\n- source: {kind: ConfigMap, name: env, fieldPath: data.action}\n  targets:\n  - select: {kind: ClusterPolicy}\n    fieldPaths: [spec.validationFailureAction]\n";
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("overlay/kustomization.yaml", replacing),
    ]);
    let change = plan(&files, &policy, &[], "require-team");
    assert!(
        change.promote.is_none()
            && change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("overlay/kustomization.yaml may patch")),
        "{change:?}"
    );
    // verify49 V49-15: a strategic-merge patch file, targeted by a name
    // pattern, writing the action.
    let smp = "resources:\n- ../base\npatches:\n- path: ../patches/enforce.yaml\n  target:\n    kind: ClusterPolicy\n    name: require-.*\n";
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("overlay/kustomization.yaml", smp),
        (
            "patches/enforce.yaml",
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: any\nspec:\n  validationFailureAction: Enforce\n",
        ),
    ]);
    let change = plan(&files, &policy, &[], "require-team");
    assert!(
        change.promote.is_none()
            && change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("overlay/kustomization.yaml may patch")),
        "{change:?}"
    );
    // verify50 V50-3: replacements given by file; V50-4: a HelmRelease's
    // post-renderer patch.
    let by_file = "resources:\n- ../base\nreplacements:\n- path: replacements/action.yaml\n";
    let replacement = "source: {kind: ConfigMap, name: env, fieldPath: data.action}\ntargets:\n- select: {kind: ClusterPolicy}\n  fieldPaths: [spec.validationFailureAction]\n";
    let post_renderer = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: p\nspec:\n  postRenderers:\n  - kustomize:\n      patches:\n      - target: {kind: ClusterPolicy, name: require-team}\n        patch: |\n          - op: replace\n            path: /spec/validationFailureAction\n            value: Enforce\n";
    for files in [
        repo(&[
            ("base/p.yaml", PLAIN),
            ("overlay/kustomization.yaml", by_file),
            ("overlay/replacements/action.yaml", replacement),
        ]),
        repo(&[
            ("base/p.yaml", PLAIN),
            ("clusters/prod/p.yaml", post_renderer),
        ]),
    ] {
        let change = plan(&files, &policy, &[], "require-team");
        assert!(
            change.promote.is_none()
                && change
                    .problem
                    .as_deref()
                    .is_some_and(|p| p.contains("may patch the action")),
            "{change:?}"
        );
    }
    // A name pattern that does not match the policy reaches it not.
    let other_name = "resources:\n- ../base\npatches:\n- path: keep-audit.yaml\n  target:\n    kind: ClusterPolicy\n    name: team-.*\n";
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("overlay/kustomization.yaml", other_name),
        ("overlay/keep-audit.yaml", json_patch),
    ]);
    assert!(plan(&files, &policy, &[], "require-team").promote.is_some());
    let other_kind = "resources:\n- ../base\npatches:\n- path: keep-audit.yaml\n  target:\n    kind: Deployment\n";
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("overlay/kustomization.yaml", other_kind),
        (
            "overlay/keep-audit.yaml",
            "- op: replace\n  path: /spec/replicas\n  value: 2\n",
        ),
    ]);
    assert!(plan(&files, &policy, &[], "require-team").promote.is_some());
    // A kustomization that only lists the policy's file patches nothing.
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
        (
            "other/kustomization.yaml",
            inline.replace("require-team", "other").as_str(),
        ),
    ]);
    assert!(plan(&files, &policy, &[], "require-team").promote.is_some());
}

#[test]
fn several_bindings_of_a_policy_are_said() {
    let binding = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: pinned-a\nspec:\n  policyName: pinned\n  validationActions: [Audit]\n";
    let files = repo(&[
        ("a.yaml", binding),
        ("b.yaml", &binding.replace("pinned-a", "pinned-b")),
    ]);
    let policy = PolicyRef {
        kind: "ValidatingAdmissionPolicy",
        name: "pinned",
        namespace: None,
    };
    let change = plan(&files, &policy, &[], "pinned");
    assert!(change.promote.is_some(), "{change:?}");
    assert_eq!(
        change.notes,
        [
            "the patch changes every binding of the policy in the repository: pinned-a (a.yaml:1), pinned-b (b.yaml:1)",
            // verify58 V58-2: nothing in the checkout applies them.
            "no Flux Kustomization or Argo CD Application is in the checkout to apply a.yaml, b.yaml: check what applies it to this cluster (another repository?) before applying the patch"
        ]
    );
}

/// [`PLAIN`] as the API server stores it: the defaults Kyverno's CRD sets,
/// the server's metadata, kubectl's annotation, `status`, in Enforce.
fn stored(action: &str) -> Value {
    serde_json::json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {
            "name": "require-team",
            "uid": "u-1",
            "resourceVersion": "42",
            "generation": 3,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
        },
        "spec": {
            "validationFailureAction": action,
            "background": true,
            "admission": true,
            "emitWarning": false,
            "rules": [{
                "name": "team",
                "skipBackgroundRequests": true,
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {
                    "allowExistingViolations": true,
                    "message": "team label",
                    "pattern": {"metadata": {"labels": {"team": "?*"}}}
                }
            }]
        },
        "status": {"ready": true}
    })
}

fn plan_soaked(files: &[(&str, &str)], policy: &PolicyRef<'_>, soaked: &Soaked<'_>) -> GitChange {
    Repository::new(repo(files)).plan(policy, Some(soaked), &[], "require-team")
}

/// Git's rules are stricter than those that soaked (walk20 finding 1):
/// no patch, and the problem says why; the soak judged the cluster's.
#[test]
fn git_rules_other_than_the_soaked_ones_get_no_patch() {
    let stricter = PLAIN
        .replace("kinds: [Pod]", "kinds: [Pod, Service]")
        .replace("team: '?*'", "team: '?*', tier: '?*'");
    let cluster = stored("Audit");
    let soaked = Soaked {
        document: &cluster,
        bindings: &[],
    };
    let change = plan_soaked(
        &[("policies/require-team.yaml", &stricter)],
        &cluster_policy("require-team"),
        &soaked,
    );
    assert!(change.rules_differ, "{change:?}");
    assert_eq!(change.promote, None);
    assert_eq!(change.rollback, None);
    let problem = change.problem.as_deref().unwrap_or("");
    assert!(
        problem.starts_with("Git's policies/require-team.yaml holds a different version of the policy than the cluster (its rules differ from those that soaked; first at spec.rules[0].match.any[0].resources.kinds[1] (only in Git))"),
        "{problem}"
    );
    assert!(problem.ends_with("reconcile it, let it soak, then build the evidence again"));
    // A rule removed is a difference too, not a default left out.
    let fewer = PLAIN.replace("    validate:\n      message: team label\n      pattern: {metadata: {labels: {team: '?*'}}}\n", "");
    let change = plan_soaked(
        &[("policies/require-team.yaml", &fewer)],
        &cluster_policy("require-team"),
        &soaked,
    );
    assert!(change.rules_differ, "{change:?}");
    // verify47 V47-8: an overlay patching the policy's rules is named as
    // a cause a reconciliation does not remove.
    let overlay = "resources:\n- ../policies\npatches:\n- target:\n    kind: ClusterPolicy\n    name: require-team\n  patch: |-\n    - op: add\n      path: /spec/rules/0/match/any/0/resources/kinds/-\n      value: Service\n";
    let change = plan_soaked(
        &[
            ("policies/require-team.yaml", &stricter),
            ("prod/kustomization.yaml", overlay),
        ],
        &cluster_policy("require-team"),
        &soaked,
    );
    assert!(change.rules_differ, "{change:?}");
    assert!(
        change.problem.as_deref().is_some_and(|p| p.contains(
            "prod/kustomization.yaml patch the policy, and polscan compares Git's base, not what they build"
        )),
        "{change:?}"
    );
}

/// verify48 V48-14: an overlay's strategic-merge file naming the policy
/// is no version of it: the problem says where the action is written, not
/// "a different version … reconcile it, let it soak".
#[test]
fn a_strategic_merge_file_is_no_version_of_the_policy() {
    let cluster = stored("Enforce");
    let soaked = Soaked {
        document: &cluster,
        bindings: &[],
    };
    let change = plan_soaked(
        &[
            ("base/p.yaml", PLAIN),
            ("overlays/prod/kustomization.yaml", "resources:\n- ../../base\npatchesStrategicMerge:\n- strict.yaml\n"),
            ("overlays/prod/strict.yaml", "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  validationFailureAction: Enforce\n"),
        ],
        &cluster_policy("require-team"),
        &soaked,
    );
    assert!(!change.rules_differ, "{change:?}");
    let problem = change.problem.as_deref().unwrap_or("");
    assert!(!problem.contains("a different version"), "{problem}");
    assert!(problem.contains("overlays/prod/strict.yaml"), "{problem}");
}

/// verify48 V48-21: a Flux postBuild variable in Git's rules is what
/// the cluster's value was substituted from: the same version; a literal
/// around it must still match.
#[test]
fn flux_variables_in_git_s_rules_are_the_cluster_s_values() {
    let cluster = stored("Audit");
    let soaked = Soaked {
        document: &cluster,
        bindings: &[],
    };
    for (variable, same) in [
        ("team: '${TEAM_LABEL}'", true),
        ("team: '${PREFIX}*'", true),
        ("team: 'x-${SUFFIX}'", false),
    ] {
        let text = PLAIN.replace("team: '?*'", variable);
        let change = plan_soaked(
            &[("policies/require-team.yaml", &text)],
            &cluster_policy("require-team"),
            &soaked,
        );
        assert_eq!(!change.rules_differ, same, "{variable}: {change:?}");
    }
}

/// The same rules, whatever the action on either side and the defaults
/// the server filled in: the patches as without the check.
#[test]
fn git_rules_that_soaked_are_patched_as_before() {
    let files = [("policies/require-team.yaml", PLAIN)];
    let unchecked = plan(
        &repo(&files),
        &cluster_policy("require-team"),
        &[],
        "require-team",
    );
    for action in ["Audit", "Enforce"] {
        let cluster = stored(action);
        let soaked = Soaked {
            document: &cluster,
            bindings: &[],
        };
        let change = plan_soaked(&files, &cluster_policy("require-team"), &soaked);
        assert_eq!(change, unchecked, "cluster in {action}");
        assert!(!change.rules_differ);
        assert!(change.promote.is_some());
    }
    // walk58 W58-1: the server reads an object back in another version
    // of its group (a ValidatingPolicy written as v1alpha1 is served as
    // v1): no difference.
    let mut cluster = stored("Audit");
    cluster["apiVersion"] = "kyverno.io/v2beta1".into();
    let soaked = Soaked {
        document: &cluster,
        bindings: &[],
    };
    let change = plan_soaked(&files, &cluster_policy("require-team"), &soaked);
    assert!(!change.rules_differ, "{change:?}");
    assert_eq!(change, unchecked);
}

/// A template is no YAML until rendered: where its rules are templated
/// too, no patch (walk49 W49-1: the rules in Git were not those that
/// soaked), and the problem says how to check by hand.
#[test]
fn a_templated_policy_is_said_unchecked() {
    let files = [
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/require-team.yaml", TEMPLATE),
        ("charts/policies/values.yaml", VALUES),
    ];
    let cluster = stored("Audit");
    let soaked = Soaked {
        document: &cluster,
        bindings: &[],
    };
    let change = plan_soaked(&files, &cluster_policy("require-team"), &soaked);
    assert!(!change.rules_differ);
    assert_eq!(change.promote, None, "{change:?}");
    assert_eq!(change.rollback, None, "{change:?}");
    assert!(
        change.problem.as_deref().is_some_and(|p| p.starts_with(
            "Git's policy (charts/policies/templates/require-team.yaml) is a Helm template with expressions beyond its action, labels and namespace: polscan cannot check it renders the rules that soaked, so it makes no patch"
        )),
        "{change:?}"
    );
}

/// verify47 V47-7: a template whose only expression is the action reads
/// as YAML: a rule the cluster never ran is a different version (no
/// patch); the same rules are the same.
#[test]
fn a_template_templated_only_in_its_action_is_compared() {
    let rule = "  - name: team\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n    validate:\n      message: team label\n      pattern:\n        metadata:\n          labels:\n            team: \"?*\"\n";
    let template = |extra: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  validationFailureAction: {{{{ .Values.action }}}}\n  rules:\n{rule}{extra}")
    };
    let cluster = stored("Audit");
    let soaked = Soaked {
        document: &cluster,
        bindings: &[],
    };
    let same = template("");
    let change = plan_soaked(
        &[
            ("c/Chart.yaml", CHART),
            ("c/templates/p.yaml", &same),
            ("c/values.yaml", "action: Audit\n"),
        ],
        &cluster_policy("require-team"),
        &soaked,
    );
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        change.notes.iter().all(|n| !n.contains("is a template")),
        "{:?}",
        change.notes
    );
    // verify48 V48-15: the labels nearly every chart templates do not
    // hide the rules.
    for labels in [
        "  labels: {{- include \"c.labels\" . | nindent 4 }}\n",
        "  labels:\n    {{- include \"c.labels\" . | nindent 4 }}\n",
        // walk49 W49-1: a label whose value is templated.
        "  labels:\n    app.kubernetes.io/managed-by: {{ .Release.Service }}\n    team: platform\n",
        "  labels:\n    {{- with .Values.labels }}\n    {{- toYaml . | nindent 4 }}\n    {{- end }}\n",
    ] {
        let labelled = |text: &str| {
            text.replace(
                "  name: require-team\n",
                &format!("  name: require-team\n{labels}"),
            )
        };
        let change = plan_soaked(
            &[
                ("c/Chart.yaml", CHART),
                ("c/templates/p.yaml", &labelled(&same)),
                ("c/values.yaml", "action: Audit\n"),
            ],
            &cluster_policy("require-team"),
            &soaked,
        );
        assert!(change.promote.is_some(), "{labels}: {change:?}");
        let more = labelled(&template(&rule.replace("name: team", "name: unsoaked")));
        let change = plan_soaked(
            &[
                ("c/Chart.yaml", CHART),
                ("c/templates/p.yaml", &more),
                ("c/values.yaml", "action: Audit\n"),
            ],
            &cluster_policy("require-team"),
            &soaked,
        );
        assert!(change.rules_differ, "{labels}: {change:?}");
    }
    // verify49 V49-7: a rule pattern's templated labels are no metadata
    // labels: the template is not compared (no false "different version").
    let pattern_labels = same.replace(
        "          labels:\n            team: \"?*\"\n",
        "          labels:\n            {{- toYaml .Values.requiredLabels | nindent 12 }}\n",
    );
    assert_ne!(pattern_labels, same);
    let change = plan_soaked(
        &[
            ("c/Chart.yaml", CHART),
            ("c/templates/p.yaml", &pattern_labels),
            ("c/values.yaml", "action: Audit\n"),
        ],
        &cluster_policy("require-team"),
        &soaked,
    );
    assert!(!change.rules_differ, "{change:?}");
    // …and not patched either (walk49 W49-1).
    assert_eq!(change.promote, None, "{change:?}");
    let more = template(&rule.replace("name: team", "name: unsoaked"));
    let change = plan_soaked(
        &[
            ("c/Chart.yaml", CHART),
            ("c/templates/p.yaml", &more),
            ("c/values.yaml", "action: Audit\n"),
        ],
        &cluster_policy("require-team"),
        &soaked,
    );
    assert!(change.rules_differ, "{change:?}");
    assert!(change.promote.is_none());
}

/// A ValidatingAdmissionPolicy: its document and its bindings' scope
/// (not their validationActions) must be those that soaked.
#[test]
fn a_validating_admission_policy_s_document_and_bindings_are_compared() {
    let vap = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: pinned\nspec:\n  matchConstraints:\n    resourceRules:\n    - apiGroups: ['']\n      apiVersions: [v1]\n      operations: [CREATE]\n      resources: [pods]\n  validations:\n  - expression: \"true\"\n";
    let binding = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: pinned-a\nspec:\n  policyName: pinned\n  validationActions: [Audit]\n  matchResources:\n    namespaceSelector: {matchLabels: {env: dev}}\n";
    let as_stored = |text: &str, defaults: Value| {
        let mut value: Value = serde_yaml::from_str(text).unwrap_or(Value::Null);
        if let (Some(Value::Object(spec)), Value::Object(more)) = (value.get_mut("spec"), defaults)
        {
            spec.extend(more);
        }
        value
    };
    let cluster_vap = as_stored(vap, serde_json::json!({"failurePolicy": "Fail"}));
    let cluster_binding = as_stored(&binding.replace("[Audit]", "[Deny]"), serde_json::json!({}));
    let bindings = [&cluster_binding];
    let soaked = Soaked {
        document: &cluster_vap,
        bindings: &bindings,
    };
    let policy = PolicyRef {
        kind: "ValidatingAdmissionPolicy",
        name: "pinned",
        namespace: None,
    };
    let same = plan_soaked(
        &[("vap.yaml", vap), ("binding.yaml", binding)],
        &policy,
        &soaked,
    );
    assert!(!same.rules_differ, "{same:?}");
    assert_eq!(same.problem, None);
    let wider = plan_soaked(
        &[
            ("vap.yaml", vap),
            ("binding.yaml", &binding.replace("env: dev", "env: prod")),
        ],
        &policy,
        &soaked,
    );
    assert!(wider.rules_differ, "{wider:?}");
    assert!(wider
        .problem
        .as_deref()
        .unwrap_or("")
        .starts_with("Git's bindings of the policy (binding.yaml) differ from the cluster's"));
    let other = plan_soaked(
        &[
            ("vap.yaml", &vap.replace("[CREATE]", "[CREATE, UPDATE]")),
            ("binding.yaml", binding),
        ],
        &policy,
        &soaked,
    );
    assert!(other.rules_differ, "{other:?}");
    assert_eq!(other.promote, None);
    // verify63 V63-4: a binding per environment. Git's binding this
    // cluster does not have is another environment's: neither compared
    // nor switched, and said. The cluster binding of another policy does
    // not count.
    let staging = binding
        .replace("pinned-a", "pinned-staging")
        .replace("env: dev", "env: staging");
    let unrelated = as_stored(
        &binding
            .replace("pinned-a", "other-a")
            .replace("policyName: pinned", "policyName: other"),
        serde_json::json!({}),
    );
    let with_unrelated = [&cluster_binding, &unrelated];
    let soaked = Soaked {
        document: &cluster_vap,
        bindings: &with_unrelated,
    };
    let per_environment = plan_soaked(
        &[
            ("vap.yaml", vap),
            ("prod/binding.yaml", binding),
            ("staging/binding.yaml", &staging),
        ],
        &policy,
        &soaked,
    );
    assert!(!per_environment.rules_differ, "{per_environment:?}");
    let (promote, _) = patches(&per_environment);
    assert!(promote.contains("prod/binding.yaml"), "{promote}");
    assert!(!promote.contains("staging/binding.yaml"), "{promote}");
    assert!(
        per_environment.notes.iter().any(|n| n.starts_with(
            "Git's other bindings of the policy, which this cluster does not have (pinned-staging (staging/binding.yaml:1))"
        )),
        "{per_environment:?}"
    );
}

/// verify51 V51-1: a templated binding whose action reads a values key
/// that stays Deny after the rollback keeps denying; one whose key the
/// rollback sets to Audit does not.
#[test]
fn a_binding_s_values_key_is_read_for_the_rollback() {
    let binding = |name: &str, key: &str| {
        format!("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: {name}\nspec:\n  policyName: v\n  validationActions: [{{{{ .Values.{key} }}}}]\n")
    };
    let vap = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: v\nspec:\n  validations:\n  - expression: \"true\"\n";
    let text = format!(
        "{vap}---\n{}---\n{}",
        binding("v-1", "prodAction"),
        binding("v-2", "v2Action")
    );
    let policy = PolicyRef {
        kind: "ValidatingAdmissionPolicy",
        name: "v",
        namespace: None,
    };
    let carried = "diff --git a/chart/values.yaml b/chart/values.yaml\n--- a/chart/values.yaml\n+++ b/chart/values.yaml\n@@ -1,2 +1,2 @@\n prodAction: Deny\n-v2Action: Deny\n+v2Action: Audit\n";
    let only_v2 = format!("{vap}---\n{}", binding("v-2", "v2Action"));
    for (text, kept) in [(text.as_str(), true), (only_v2.as_str(), false)] {
        let files = repo(&[
            ("chart/Chart.yaml", CHART),
            ("chart/templates/vap.yaml", text),
            ("chart/values.yaml", "prodAction: Deny\nv2Action: Deny\n"),
        ]);
        let change =
            Repository::new(files).plan_after_switch(&policy, None, &[], "v", Some(carried));
        assert!(
            change
                .notes
                .iter()
                .any(|n| n.starts_with("rollback.patch is the switch's own")),
            "{change:?}"
        );
        assert_eq!(change.enforced_after_rollback == ["v"], kept, "{change:?}");
    }
    // verify52 V52-7: the key an environment's release sets to Deny over
    // the chart's Audit keeps the binding denying.
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: c\nspec:\n  chart:\n    spec:\n      chart: ./chart\n  values:\n    prodAction: Deny\n    v2Action: Deny\n";
    let files = repo(&[
        ("chart/Chart.yaml", CHART),
        ("chart/templates/vap.yaml", &text),
        ("chart/values.yaml", "prodAction: Audit\nv2Action: Audit\n"),
        ("clusters/prod/hr.yaml", release),
    ]);
    let carried = "diff --git a/clusters/prod/hr.yaml b/clusters/prod/hr.yaml\n--- a/clusters/prod/hr.yaml\n+++ b/clusters/prod/hr.yaml\n@@ -10,2 +10,2 @@\n     prodAction: Deny\n-    v2Action: Deny\n+    v2Action: Audit\n";
    let change = Repository::new(files).plan_after_switch(
        &policy,
        None,
        &["clusters/prod/hr.yaml".to_string()],
        "v",
        Some(carried),
    );
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.starts_with("rollback.patch is the switch's own")),
        "{change:?}"
    );
    assert_eq!(change.enforced_after_rollback, ["v"], "{change:?}");
}

/// verify51 V51-2, V51-5: a chartRef release setting the key, or one of
/// this chart's several releases, is patched only when named with
/// --policy-values.
#[test]
fn a_release_by_reference_or_of_several_is_patched_only_when_named() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.action | default \"Audit\" }}\n  rules: []\n";
    let release = |name: &str, values: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\nspec:\n  chart:\n    spec:\n      chart: ./c\n{values}")
    };
    let by_reference = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: other\nspec:\n  chartRef: {kind: OCIRepository, name: other}\n  values:\n    action: Audit\n";
    let staging = release("staging", "  values:\n    action: Audit\n");
    for files in [
        repo(&[
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", template),
            ("clusters/prod/other.yaml", by_reference),
        ]),
        repo(&[
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", template),
            ("clusters/prod/c.yaml", &release("prod", "")),
            ("clusters/staging/c.yaml", &staging),
        ]),
    ] {
        let change = plan(&files, &cluster_policy("a"), &[], "a");
        assert_eq!(change.promote, None, "{change:?}");
        assert!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("with --policy-values")),
            "{change:?}"
        );
    }
}

/// verify51 V51-3: a Flux Kustomization whose path holds a
/// kustomization.yaml including the policy's folder builds it too.
#[test]
fn a_flux_path_to_a_kustomization_counts_as_including() {
    let flux = |cluster: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {cluster}\nspec:\n  path: ./apps/common\n  targetNamespace: {cluster}\n")
    };
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        // kustomize builds a folder by its kustomization file.
        ("policies/kustomization.yaml", "resources:\n- p.yaml\n"),
        (
            "apps/common/kustomization.yaml",
            "resources:\n- ../../policies\n",
        ),
        ("clusters/shop.yaml", &flux("shop")),
        ("clusters/dev.yaml", &flux("dev")),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("clusters/dev.yaml") && n.contains("clusters/shop.yaml")),
        "{:?}",
        change.notes
    );
    // verify54 V54-6: a Flux Kustomization's spec.components (relative
    // to its path) build into it too.
    let flux = |cluster: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {cluster}\nspec:\n  path: ./apps/{cluster}\n  components:\n  - ../../policies\n")
    };
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("clusters/shop.yaml", &flux("shop")),
        ("clusters/dev.yaml", &flux("dev")),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("clusters/dev.yaml") && n.contains("clusters/shop.yaml")),
        "{:?}",
        change.notes
    );
}

/// verify52 V52-3, V52-4, V52-5, walk49 W49-3: where a release's values
/// come from somewhere polscan does not read, or several releases read
/// the default, no patch is made.
#[test]
fn release_values_polscan_does_not_follow_give_no_patch() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.a.action }}\n  rules: []\n";
    let release = |name: &str, rest: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\nspec:\n  chart:\n    spec:\n      chart: ./c\n{rest}")
    };
    let problem = |extra: &[(&str, &str)], environment: &[&str]| {
        let mut files = vec![
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", template),
            ("c/values.yaml", "a:\n  action: Audit\n"),
        ];
        files.extend_from_slice(extra);
        let environment: Vec<String> = environment.iter().map(|e| e.to_string()).collect();
        let change = plan(&repo(&files), &cluster_policy("a"), &environment, "a");
        assert_eq!(change.promote, None, "{change:?}");
        change.problem.unwrap_or_default()
    };
    // V52-3: two releases, neither setting the key.
    let prod = release("prod", "");
    let staging = release("staging", "");
    let p = problem(
        &[
            ("clusters/prod/hr.yaml", &prod),
            ("clusters/staging/hr.yaml", &staging),
        ],
        &[],
    );
    assert!(
        p.contains("several render this chart (clusters/prod/hr.yaml, clusters/staging/hr.yaml)"),
        "{p}"
    );
    // verify53 V53-3: two releases in one file are two; V53-4: Argo CD
    // Applications, or one ApplicationSet, render it too; V53-8: a values
    // file one of several releases lists is no more this cluster's.
    let both = format!("{prod}---\n{staging}");
    let argo = |name: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\nspec:\n  source:\n    path: c\n")
    };
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: pols\nspec:\n  generators:\n  - clusters: {}\n  template:\n    spec:\n      source:\n        path: c\n";
    let listing = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: prod\nspec:\n  chart:\n    spec:\n      chart: ./c\n      valuesFiles: [c/values.yaml, c/values-prod.yaml]\n";
    let (prod_app, staging_app) = (argo("prod"), argo("staging"));
    let cases: [(Vec<(&str, &str)>, &str); 4] = [
        (
            vec![("clusters/mgmt/releases.yaml", both.as_str())],
            "clusters/mgmt/releases.yaml, clusters/mgmt/releases.yaml",
        ),
        (
            vec![
                ("apps/prod.yaml", &prod_app),
                ("apps/staging.yaml", &staging_app),
            ],
            "apps/prod.yaml (an Argo CD Application)",
        ),
        (
            vec![("apps/set.yaml", set)],
            "apps/set.yaml (an Argo CD ApplicationSet)",
        ),
        (
            vec![
                ("c/values-prod.yaml", "a:\n  action: Audit\n"),
                ("clusters/prod/hr.yaml", listing),
                ("clusters/staging/hr.yaml", staging.as_str()),
            ],
            "clusters/prod/hr.yaml, clusters/staging/hr.yaml",
        ),
    ];
    for (extra, said) in cases {
        let p = problem(&extra, &[]);
        assert!(
            p.contains(&format!("several render this chart ({said}")),
            "{p}"
        );
    }
    // V53-7: two umbrella charts use it.
    let umbrella = |name: &str| {
        format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\ndependencies:\n- name: policies\n  version: 0.1.0\n  repository: file://../c\n")
    };
    let (p1, p2) = (umbrella("platform-prod"), umbrella("platform-staging"));
    let p = problem(&[("p1/Chart.yaml", &p1), ("p2/Chart.yaml", &p2)], &[]);
    assert!(
        p.contains("several render this chart (p1 (a parent chart), p2 (a parent chart))"),
        "{p}"
    );
    // V52-4: valuesFrom, unless the release's spec.values set the key.
    let from = release(
        "prod",
        "  valuesFrom:\n  - kind: ConfigMap\n    name: policy-values\n",
    );
    let p = problem(&[("clusters/prod/hr.yaml", &from)], &[]);
    assert!(
        p.contains("clusters/prod/hr.yaml (a HelmRelease's valuesFrom)"),
        "{p}"
    );
    let set = release(
        "prod",
        "  valuesFrom:\n  - kind: ConfigMap\n    name: policy-values\n  values:\n    a:\n      action: Audit\n",
    );
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/a.yaml", template),
        ("c/values.yaml", "a:\n  action: Audit\n"),
        ("clusters/prod/hr.yaml", &set),
    ]);
    let change = plan(
        &files,
        &cluster_policy("a"),
        &["clusters/prod/hr.yaml".to_string()],
        "a",
    );
    assert!(
        patches(&change)
            .0
            .starts_with("diff --git a/clusters/prod/hr.yaml"),
        "{change:?}"
    );
    // V52-4: kustomize helmCharts, an Argo CD Application.
    let p = problem(
        &[(
            "clusters/prod/kustomization.yaml",
            "helmCharts:\n- name: policies\n  valuesInline:\n    a:\n      action: Enforce\n",
        )],
        &[],
    );
    assert!(
        p.contains("clusters/prod/kustomization.yaml (kustomize helmCharts)"),
        "{p}"
    );
    let p = problem(
        &[(
            "apps/policies.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    path: c\n    helm:\n      valuesObject:\n        a:\n          action: Enforce\n",
        )],
        &[],
    );
    assert!(
        p.contains("apps/policies.yaml (an Argo CD Application's helm valuesObject)"),
        "{p}"
    );
    // V52-5: an overlay's patch of the release.
    let p = problem(
        &[
            ("infra/base/hr.yaml", &release("policies", "")),
            (
                "clusters/prod/kustomization.yaml",
                "resources:\n- ../../infra/base\npatches:\n- path: values-patch.yaml\n  target:\n    kind: HelmRelease\n    name: policies\n",
            ),
            (
                "clusters/prod/values-patch.yaml",
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies\nspec:\n  values:\n    a:\n      action: Enforce\n",
            ),
        ],
        &[],
    );
    assert!(
        p.contains("clusters/prod/kustomization.yaml (a kustomize patch of a HelmRelease)"),
        "{p}"
    );
    // verify53 V53-5: an inline strategic-merge patch, or a target by
    // labels of no kind.
    for kustomization in [
        "resources:\n- ../../infra/base\npatchesStrategicMerge:\n- |-\n  apiVersion: helm.toolkit.fluxcd.io/v2\n  kind: HelmRelease\n  metadata:\n    name: policies\n  spec:\n    values:\n      a:\n        action: Audit\n",
        "resources:\n- ../../infra/base\npatches:\n- target:\n    labelSelector: app=pol\n  patch: |-\n    - op: add\n      path: /spec/values\n      value: {a: {action: Audit}}\n",
    ] {
        let p = problem(
            &[
                ("infra/base/hr.yaml", &release("policies", "")),
                ("clusters/prod/kustomization.yaml", kustomization),
            ],
            &[],
        );
        assert!(
            p.contains("clusters/prod/kustomization.yaml (a kustomize patch of a HelmRelease)"),
            "{kustomization}: {p}"
        );
    }
    // W49-3: the release's spec.values over the environment's file it
    // lists.
    let listing = release("prod", "  values:\n    a:\n      action: Audit\n").replace(
        "      chart: ./c\n",
        "      chart: ./c\n      valuesFiles: [c/values.yaml, c/values-prod.yaml]\n",
    );
    let p = problem(
        &[
            ("c/values-prod.yaml", "a:\n  action: Audit\n"),
            ("clusters/prod/hr.yaml", &listing),
        ],
        &["c/values-prod.yaml"],
    );
    assert!(p.contains("is also set in clusters/prod/hr.yaml:"), "{p}");
    // verify53 V53-6: a release that does not read the named file (no
    // valuesFiles: the default alone) is another environment's.
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/a.yaml", template),
        ("c/values.yaml", "a:\n  action: Audit\n"),
        ("c/values-prod.yaml", "a:\n  action: Audit\n"),
        (
            "clusters/staging/hr.yaml",
            &release("staging", "  values:\n    a:\n      action: Audit\n"),
        ),
    ]);
    let change = plan(
        &files,
        &cluster_policy("a"),
        &["c/values-prod.yaml".to_string()],
        "a",
    );
    assert!(
        patches(&change)
            .0
            .starts_with("diff --git a/c/values-prod.yaml"),
        "{change:?}"
    );
}

/// verify52 V52-1: a key inside a YAML anchor another key aliases (or
/// merges) is not patched: the patch would switch the copy too.
#[test]
fn a_key_inside_an_aliased_anchor_is_not_patched() {
    let template = |name: &str, key: &str| {
        format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: {name}\nspec:\n  validationFailureAction: {{{{ .Values.{key}.action }}}}\n  rules: []\n")
    };
    let a = template("a", "policyA");
    let b = template("b", "policyB");
    for values in [
        "policyA: &pa\n  action: Audit\npolicyB: *pa\n",
        // verify53 V53-9: a tag before the anchor, an anchor on its own
        // line.
        "policyA: !!map &pa\n  action: Audit\npolicyB: *pa\n",
        "policyA:\n  &pa\n  action: Audit\npolicyB: *pa\n",
        "policyA: &pa\n  action: Audit\n  severity: high\npolicyB:\n  <<: *pa\n  severity: low\n",
    ] {
        let files = repo(&[
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", &a),
            ("c/templates/b.yaml", &b),
            ("c/values.yaml", values),
        ]);
        let change = plan(&files, &cluster_policy("a"), &[], "a");
        assert_eq!(change.promote, None, "{values}: {change:?}");
        assert!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("YAML aliases copy nodes elsewhere (")),
            "{change:?}"
        );
    }
    // An anchor nothing aliases is no copy.
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/a.yaml", &a),
        ("c/values.yaml", "policyA: &pa\n  action: Audit\n"),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify54 V54-1, V54-2, V54-3, V54-5: a values patch is made only where
/// one render reads what it edits and nothing later sets the key over it.
#[test]
fn a_values_patch_reaches_this_release_alone_or_is_not_made() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.a.action }}\n  rules: []\n";
    let release = |name: &str, chart_spec: &str, rest: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\nspec:\n  chart:\n    spec: {{chart: ./c{chart_spec}, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n{rest}")
    };
    let plan_with = |extra: &[(&str, &str)], environment: &[&str]| {
        let mut files = vec![
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", template),
            ("c/values.yaml", "a:\n  action: Audit\n"),
        ];
        files.extend_from_slice(extra);
        let environment: Vec<String> = environment.iter().map(|e| e.to_string()).collect();
        plan(&repo(&files), &cluster_policy("a"), &environment, "a")
    };
    let refused = |extra: &[(&str, &str)], environment: &[&str], said: &str| {
        let change = plan_with(extra, environment);
        assert_eq!(change.promote, None, "{change:?}");
        let problem = change.problem.unwrap_or_default();
        assert!(problem.contains(said), "{said:?} not in {problem}");
    };
    let prod = release("prod", "", "");
    let staging = release("staging", "", "");
    // V54-1: the named default is read by both releases.
    refused(
        &[
            ("clusters/prod/hr.yaml", &prod),
            ("clusters/staging/hr.yaml", &staging),
        ],
        &["c/values.yaml"],
        "which several read (clusters/prod/hr.yaml, clusters/staging/hr.yaml)",
    );
    // A named environment file both releases list.
    let listing = |name: &str| release(name, ", valuesFiles: [./c/values-prod.yaml]", "");
    let (prod_eu, prod_us) = (listing("prod-eu"), listing("prod-us"));
    refused(
        &[
            ("c/values-prod.yaml", "a:\n  action: Audit\n"),
            ("clusters/prod-eu/hr.yaml", &prod_eu),
            ("clusters/prod-us/hr.yaml", &prod_us),
        ],
        &["c/values-prod.yaml"],
        "which several read (clusters/prod-eu/hr.yaml, clusters/prod-us/hr.yaml)",
    );
    // A named release file holding two releases setting the key.
    let own = |name: &str| release(name, "", "  values:\n    a:\n      action: Audit\n");
    let both = format!("{}---\n{}", own("prod"), own("staging"));
    refused(
        &[("clusters/mgmt/releases.yaml", &both)],
        &["clusters/mgmt/releases.yaml"],
        "clusters/mgmt/releases.yaml (document 1), clusters/mgmt/releases.yaml (document 2)",
    );
    // V54-2: a file listed after the named one sets the key too.
    let later = release(
        "prod",
        ", valuesFiles: [./c/values.yaml, ./c/values-prod.yaml, ./c/values-extra.yaml]",
        "",
    );
    refused(
        &[
            ("c/values-prod.yaml", "a:\n  action: Audit\n"),
            ("c/values-extra.yaml", "a:\n  action: Audit\n"),
            ("clusters/prod/hr.yaml", &later),
        ],
        &["c/values-prod.yaml"],
        "set again in c/values-extra.yaml:2 (listed after c/values-prod.yaml by clusters/prod/hr.yaml)",
    );
    // The same release without the later file: its one file is patched.
    let alone = release(
        "prod",
        ", valuesFiles: [./c/values.yaml, ./c/values-prod.yaml]",
        "",
    );
    let change = plan_with(
        &[
            ("c/values-prod.yaml", "a:\n  action: Audit\n"),
            ("clusters/prod/hr.yaml", &alone),
            ("clusters/staging/hr.yaml", &staging),
        ],
        &["c/values-prod.yaml"],
    );
    let (promote, _) = patches(&change);
    assert!(promote.contains("+++ b/c/values-prod.yaml"), "{promote}");
    // ... unless a release by chartRef (its HelmChart may list it) is there.
    let by_reference = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: other\nspec:\n  chartRef: {kind: HelmChart, name: policies-eu}\n";
    refused(
        &[
            ("c/values-prod.yaml", "a:\n  action: Audit\n"),
            ("clusters/prod/hr.yaml", &alone),
            ("clusters/eu/hr.yaml", by_reference),
        ],
        &["c/values-prod.yaml"],
        "clusters/eu/hr.yaml renders the chart by chartRef",
    );
    // V54-3: a release in a file named like a values file is a release.
    refused(
        &[
            ("clusters/prod/hr.yaml", &prod),
            ("clusters/staging/staging-values.yaml", &staging),
        ],
        &[],
        "several render this chart (clusters/prod/hr.yaml, clusters/staging/staging-values.yaml)",
    );
    // An ApplicationSet generating Applications of any folder.
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: charts\nspec:\n  generators:\n  - git: {directories: [{path: '*'}]}\n  template:\n    spec:\n      source: {path: '{{path}}'}\n";
    refused(
        &[("clusters/prod/hr.yaml", &prod), ("argo/set.yaml", set)],
        &[],
        "argo/set.yaml (an Argo CD ApplicationSet)",
    );
    // kustomize's HelmChartInflationGenerator renders it with its own values.
    let generator = "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata: {name: policies}\nname: policies\nchartHome: ../..\nvaluesInline: {a: {action: Audit}}\n";
    refused(
        &[
            ("clusters/prod/hr.yaml", &prod),
            ("clusters/staging/helm.yaml", generator),
        ],
        &[],
        "clusters/staging/helm.yaml (a kustomize HelmChartInflationGenerator)",
    );
    // V54-5: one umbrella chart (its release not here) and a release of
    // the chart itself are two renders.
    let umbrella = "apiVersion: v2\nname: platform\nversion: 0.1.0\ndependencies:\n- name: policies\n  version: 0.1.0\n  repository: file://../c\n";
    refused(
        &[
            ("platform/Chart.yaml", umbrella),
            ("clusters/prod/hr.yaml", &prod),
        ],
        &[],
        "several render this chart (clusters/prod/hr.yaml, platform (a parent chart))",
    );
    // A release of the chart from a Helm repository reads the published
    // chart's values, not Git's.
    let packaged = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: prod\nspec:\n  chart:\n    spec: {chart: policies, version: 0.1.0, sourceRef: {kind: HelmRepository, name: charts}}\n";
    refused(
        &[("clusters/prod/hr.yaml", packaged)],
        &[],
        "clusters/prod/hr.yaml reads c/values.yaml from a Helm repository",
    );
    // ... while its own spec.values are its own.
    let packaged_own = format!("{packaged}  values:\n    a:\n      action: Audit\n");
    let change = plan_with(
        &[("clusters/prod/hr.yaml", &packaged_own)],
        &["clusters/prod/hr.yaml"],
    );
    let (promote, _) = patches(&change);
    assert!(promote.contains("+++ b/clusters/prod/hr.yaml"), "{promote}");
}

/// verify55 V55-1..V55-7: the file patched is the one the release reads
/// last (Flux's order), a file it lists is a values file whatever its
/// name, a chart Flux rebuilds only on a new version says so, and what
/// Argo CD's kustomize patches or no kustomization builds is not patched.
#[test]
fn what_the_release_reads_and_builds_decides_the_patch() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.a.action | default \"Audit\" }}\n  rules: []\n";
    let release = |chart_spec: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: prod\nspec:\n  chart:\n    spec: {{chart: ./c{chart_spec}, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n")
    };
    let plan_with = |extra: &[(&str, &str)]| {
        let mut files = vec![("c/Chart.yaml", CHART), ("c/templates/a.yaml", template)];
        files.extend_from_slice(extra);
        plan(&repo(&files), &cluster_policy("a"), &[], "a")
    };
    let problem = |extra: &[(&str, &str)]| {
        let change = plan_with(extra);
        assert_eq!(change.promote, None, "{change:?}");
        change.problem.unwrap_or_default()
    };
    let audit = "a:\n  action: Audit\n";
    // V55-2: the release's valuesFiles replace the default, which sets
    // the key alone.
    let p = problem(&[
        ("c/values.yaml", audit),
        ("c/values-prod.yaml", "other: 1\n"),
        (
            "clusters/prod/hr.yaml",
            &release(", valuesFiles: [c/values-prod.yaml]"),
        ),
    ]);
    assert!(
        p.contains("clusters/prod/hr.yaml reads none of them"),
        "{p}"
    );
    // V55-3: the key is only in a file the release does not read.
    let p = problem(&[
        ("c/values.yaml", "other: 1\n"),
        ("c/values-staging.yaml", audit),
        ("clusters/prod/hr.yaml", &release("")),
    ]);
    assert!(
        p.contains("c/values-staging.yaml:2, and clusters/prod/hr.yaml reads none"),
        "{p}"
    );
    // V55-4, V55-5: a listed file not named values*, last, decides — in
    // Audit over a default in Enforce.
    let change = plan_with(&[
        ("c/values.yaml", "a:\n  action: Enforce\n"),
        ("clusters/prod/settings/prod.yaml", audit),
        (
            "clusters/prod/hr.yaml",
            &release(", valuesFiles: [c/values.yaml, clusters/prod/settings/prod.yaml]"),
        ),
    ]);
    let (promote, rollback) = patches(&change);
    assert!(
        promote.contains("+++ b/clusters/prod/settings/prod.yaml"),
        "{promote}"
    );
    assert!(!rollback.contains("c/values.yaml"), "{rollback}");
    // V55-1: the chart is built from Git on a new version only: said.
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.starts_with("bump its version:")
                && n.contains("c/Chart.yaml")
                && n.contains("clusters/prod/hr.yaml")),
        "{:?}",
        change.notes
    );
    // ... not with reconcileStrategy: Revision.
    let change = plan_with(&[
        ("c/values.yaml", audit),
        (
            "clusters/prod/hr.yaml",
            &release(", reconcileStrategy: Revision"),
        ),
    ]);
    let (promote, _) = patches(&change);
    assert!(promote.contains("+++ b/c/values.yaml"), "{promote}");
    assert!(
        !change
            .notes
            .iter()
            .any(|n| n.starts_with("bump its version:")),
        "{:?}",
        change.notes
    );
    // V55-6: an Argo CD Application's kustomize patch of the action.
    let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: prod\nspec:\n  source:\n    path: policies\n    kustomize:\n      patches:\n      - target: {kind: ClusterPolicy, name: require-team}\n        patch: |-\n          - op: replace\n            path: /spec/validationFailureAction\n            value: Audit\n";
    let files = repo(&[("policies/p.yaml", PLAIN), ("apps/prod.yaml", argo)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("apps/prod.yaml")),
        "{change:?}"
    );
    // V55-7: a file its folder's kustomization.yaml does not list.
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("policies/kustomization.yaml", "resources:\n- other.yaml\n"),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change.problem.as_deref().is_some_and(
            |p| p.contains("policies/p.yaml is not built: policies/kustomization.yaml")
        ),
        "{change:?}"
    );
}

/// verify56 V56-1..V56-8, V56-11: aliases, umbrella releases' values
/// files, charts by chartRef or by a path that is another chart's, files
/// nothing builds, v2beta1's valuesFile, and what a commit needs besides.
#[test]
fn what_a_parent_a_reference_or_a_builder_reads_decides_the_patch() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.a.action }}\n  rules: []\n";
    let audit = "a:\n  action: Audit\n";
    let umbrella_chart = |alias: &str| {
        format!("apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n- name: policies\n{alias}  version: 0.1.0\n  repository: file://../c\n")
    };
    let release = |chart: &str, extra: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: prod\nspec:\n  chart:\n    spec:\n      chart: {chart}\n      sourceRef: {{kind: GitRepository, name: flux-system}}\n      reconcileStrategy: Revision\n{extra}")
    };
    let plan_with = |extra: &[(&str, &str)], environment: &[&str]| {
        let mut files = vec![
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", template),
            ("c/values.yaml", audit),
        ];
        files.extend_from_slice(extra);
        let environment: Vec<String> = environment.iter().map(|e| e.to_string()).collect();
        plan(&repo(&files), &cluster_policy("a"), &environment, "a")
    };
    let patched = |change: &GitChange| {
        let (promote, _) = patches(change);
        promote
            .lines()
            .find_map(|l| l.strip_prefix("+++ b/"))
            .unwrap_or("")
            .to_string()
    };
    let parent_values = "policies:\n  a:\n    action: Audit\n";
    // V56-4: under an alias, the parent's block under the chart's name
    // is read by nothing: the subchart's default decides.
    let aliased = umbrella_chart("  alias: kpol\n");
    let hr = release("./u", "");
    let change = plan_with(
        &[
            ("u/Chart.yaml", &aliased),
            ("u/values.yaml", parent_values),
            ("clusters/prod/hr.yaml", &hr),
        ],
        &[],
    );
    assert_eq!(patched(&change), "c/values.yaml", "{change:?}");
    // V56-3: the umbrella's release lists values files: its values.yaml
    // is not read.
    let plain = umbrella_chart("");
    let listing = release("./u", "      valuesFiles: [./u/values-prod.yaml]\n");
    let change = plan_with(
        &[
            ("u/Chart.yaml", &plain),
            ("u/values.yaml", parent_values),
            ("u/values-prod.yaml", "replicas: 3\n"),
            ("clusters/prod/hr.yaml", &listing),
        ],
        &[],
    );
    assert_eq!(patched(&change), "c/values.yaml", "{change:?}");
    // ... while without the list the umbrella's value decides.
    let change = plan_with(
        &[
            ("u/Chart.yaml", &plain),
            ("u/values.yaml", parent_values),
            ("clusters/prod/hr.yaml", &hr),
        ],
        &[],
    );
    assert_eq!(patched(&change), "u/values.yaml", "{change:?}");
    // V56-9: the umbrella's one release setting it in spec.values decides.
    let own_values = release(
        "./u",
        "  values:\n    policies:\n      a:\n        action: Audit\n",
    );
    let change = plan_with(
        &[
            ("u/Chart.yaml", &plain),
            ("u/values.yaml", parent_values),
            ("clusters/prod/hr.yaml", &own_values),
        ],
        &[],
    );
    assert_eq!(patched(&change), "clusters/prod/hr.yaml", "{change:?}");
    // V56-1, V56-2: a release by chartRef renders a chart polscan does not
    // follow: no patch of Git's values files.
    let by_reference = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: prod\nspec:\n  chartRef: {kind: OCIRepository, name: policies}\n";
    let change = plan_with(&[("clusters/prod/hr.yaml", by_reference)], &[]);
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("renders the chart by chartRef")),
        "{change:?}"
    );
    // V56-5: a wrapper chart in a folder named like the chart is not it:
    // its release's top-level key reaches nothing.
    let wrapper = "apiVersion: v2\nname: policies\nversion: 0.1.0\ndependencies:\n- name: policies\n  version: 0.1.0\n  repository: file://../../../c\n";
    let hr_wrapper = release(
        "./clusters/prod/policies",
        "  values:\n    a:\n      action: Audit\n",
    );
    let change = plan_with(
        &[
            ("clusters/prod/policies/Chart.yaml", wrapper),
            ("clusters/prod/hr.yaml", &hr_wrapper),
        ],
        &["clusters/prod/hr.yaml"],
    );
    assert_eq!(change.promote, None, "{change:?}");
    // V56-11: v2beta1's valuesFile replaces the default too.
    let v2beta1 = release("./c", "      valuesFile: ./c/values-prod.yaml\n");
    let change = plan_with(
        &[
            ("c/values-prod.yaml", audit),
            ("clusters/prod/hr.yaml", &v2beta1),
        ],
        &[],
    );
    assert_eq!(patched(&change), "c/values-prod.yaml", "{change:?}");
    // V56-8: a suspended release says what the commit needs besides.
    let suspended = release("./c", "  suspend: true\n");
    let change = plan_with(&[("clusters/prod/hr.yaml", &suspended)], &[]);
    assert!(
        change.notes.iter().any(|n| n.contains("is suspended")),
        "{:?}",
        change.notes
    );
    // V56-6: a kustomization above the file that does not reach it; V56-7:
    // an Argo CD directory Application without recurse.
    let files = repo(&[
        ("policies/team/p.yaml", PLAIN),
        ("policies/kustomization.yaml", "resources:\n- other.yaml\n"),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change.problem.as_deref().is_some_and(
            |p| p.contains("policies/team/p.yaml is not built: policies/kustomization.yaml")
        ),
        "{change:?}"
    );
    let argo = |recurse: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: prod\nspec:\n  source:\n    path: policies\n{recurse}  syncPolicy:\n    automated: {{}}\n")
    };
    let flat = argo("");
    let files = repo(&[("policies/team/p.yaml", PLAIN), ("apps/prod.yaml", &flat)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("without directory.recurse")),
        "{change:?}"
    );
    let recursing = argo("    directory: {recurse: true}\n");
    let files = repo(&[
        ("policies/team/p.yaml", PLAIN),
        ("apps/prod.yaml", &recursing),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify57 V57-1, V57-4: a key set where polscan edits no line (a flow
/// map, JSON) gives the reason — a patch elsewhere would change nothing;
/// a file an Argo CD directory Application's globs leave out gets the
/// reason too (matched since verify69 V69-5).
#[test]
fn keys_and_files_polscan_cannot_follow_give_the_reason() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.a.action }}\n  rules: []\n";
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: prod\nspec:\n  chart:\n    spec: {chart: ./c, sourceRef: {kind: GitRepository, name: flux-system}, reconcileStrategy: Revision}\n  values: {a: {action: Audit}}\n";
    let files = repo(&[
        ("c/Chart.yaml", CHART),
        ("c/templates/a.yaml", template),
        ("c/values.yaml", "a:\n  action: Audit\n"),
        ("clusters/prod/hr.yaml", release),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change.problem.as_deref().is_some_and(|p| p.starts_with(
            "clusters/prod/hr.yaml: a.action is set there in a form polscan does not edit"
        )),
        "{change:?}"
    );
    let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: prod\nspec:\n  source:\n    path: policies\n    directory: {exclude: p.yaml}\n  syncPolicy:\n    automated: {}\n";
    let files = repo(&[("policies/p.yaml", PLAIN), ("apps/prod.yaml", argo)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change.problem.as_deref().is_some_and(
            |p| p.contains("with directory globs that leave p.yaml out (exclude p.yaml)")
        ),
        "{change:?}"
    );
    // ... nor one an ApplicationSet's git generator excludes.
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: all\nspec:\n  generators:\n  - git:\n      directories:\n      - path: policies/*\n      - path: policies/legacy\n        exclude: true\n  template:\n    spec:\n      source: {path: '{{path}}'}\n";
    let files = repo(&[("policies/legacy/p.yaml", PLAIN), ("argo/set.yaml", set)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("excludes policies/legacy from its git generator")),
        "{change:?}"
    );
}

/// verify57 V57-6: a Kustomization reading an OCIRepository, and an
/// Argo CD Application pinned to a tag, say what the commit needs besides.
#[test]
fn sources_a_commit_does_not_reach_alone_are_noted() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies\n  sourceRef: {kind: OCIRepository, name: policies}\n";
    let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: prod\nspec:\n  source:\n    path: policies\n    targetRevision: v1.2.0\n  syncPolicy:\n    automated: {}\n";
    for (file, text, said) in [
        (
            "clusters/prod/policies.yaml",
            flux,
            "reads an OCIRepository",
        ),
        (
            "argo/prod.yaml",
            argo,
            "targetRevision v1.2.0 is a tag or commit",
        ),
    ] {
        let files = repo(&[("policies/p.yaml", PLAIN), (file, text)]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.promote.is_some(), "{change:?}");
        assert!(
            change.notes.iter().any(|n| n.contains(said)),
            "{said}: {:?}",
            change.notes
        );
    }
}

/// verify57 V57-5: a file Flux's source-controller leaves out of the
/// artifact — by a `.sourceignore` in its folder or above, a source's
/// `spec.ignore` (gitignore patterns, negations included) or a
/// GitRepository's `spec.sparseCheckout` — gets the reason: a patch of it
/// changes nothing. A file they keep is patched as before.
#[test]
fn files_flux_does_not_deliver_give_the_reason() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let source = |spec: &str| {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\nspec:\n  url: https://git.example.com/p.git\n  ref: {{branch: main}}\n{spec}")
    };
    let ignore_all_but =
        source("  ignore: |\n    /*\n    !/clusters/\n    !/policies/\n    /policies/legacy/\n");
    let sparse = source("  sparseCheckout:\n  - clusters\n  - policies/current\n");
    for (extra, said) in [
        (
            (".sourceignore", "# drafts\npolicies/legacy/\n"),
            ".sourceignore excludes it",
        ),
        (
            ("policies/.sourceignore", "legacy/*.yaml\n"),
            "policies/.sourceignore excludes it",
        ),
        (
            ("clusters/source.yaml", ignore_all_but.as_str()),
            "ignores it (spec.ignore)",
        ),
        (
            ("clusters/source.yaml", sparse.as_str()),
            "checks out only clusters, policies/current",
        ),
    ] {
        let files = repo(&[
            ("policies/legacy/p.yaml", PLAIN),
            ("clusters/prod/policies.yaml", flux),
            extra,
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert_eq!(change.promote, None, "{said}: {change:?}");
        assert!(
            change.problem.as_deref().is_some_and(|p| p
                .starts_with("policies/legacy/p.yaml is not in what Flux delivers")
                && p.contains(said)),
            "{said}: {change:?}"
        );
    }
    // What the patterns keep (a negation re-includes; another folder's
    // .sourceignore is not this file's; images) is patched.
    let keep = source("  ignore: |\n    /policies/*\n    !/policies/legacy/\n");
    for extra in [
        ("clusters/source.yaml", keep.as_str()),
        ("other/.sourceignore", "*.yaml\n"),
        (".sourceignore", "*.png\n/legacy/\n"),
    ] {
        let files = repo(&[
            ("policies/legacy/p.yaml", PLAIN),
            ("clusters/prod/policies.yaml", flux),
            extra,
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.promote.is_some(), "{extra:?}: {change:?}");
    }
}

/// verify57 V57-3: a template putting a Policy in its release's namespace,
/// released into two namespaces, is each namespace's policy from its own
/// release: team-a's policy is never given team-b's release's patch, with
/// or without --policy-values; a named release whose namespace a
/// kustomization may replace gets the reason.
#[test]
fn a_policy_in_its_release_namespace_comes_from_that_release_alone() {
    let template = "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata:\n  name: a\n  namespace: {{ .Release.Namespace }}\nspec:\n  validationFailureAction: {{ .Values.a.action }}\n  rules: []\n";
    let release = |team: &str, target: bool| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies-{team}\n  namespace: {}\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n      sourceRef: {{kind: GitRepository, name: flux-system}}\n      reconcileStrategy: Revision\n{}  values:\n    a:\n      action: Audit\n",
            if target { "flux-system".to_string() } else { team.to_string() },
            if target { format!("  targetNamespace: {team}\n") } else { String::new() }
        )
    };
    let team_a = PolicyRef {
        kind: "Policy",
        name: "a",
        namespace: Some("team-a"),
    };
    let (a, b) = (release("team-a", true), release("team-b", true));
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/a.yaml", template),
        ("charts/policies/values.yaml", "a:\n  action: Audit\n"),
        ("clusters/prod/hr-team-a.yaml", &a),
        ("clusters/prod/hr-team-b.yaml", &b),
    ]);
    for named in [&[][..], &["clusters/prod/hr-team-a.yaml".to_string()][..]] {
        let change = plan(&files, &team_a, named, "team-a.a");
        let (promote, _) = patches(&change);
        assert!(
            promote.contains("diff --git a/clusters/prod/hr-team-a.yaml")
                && !promote.contains("hr-team-b"),
            "{named:?}: {promote}"
        );
    }
    let change = plan(
        &files,
        &team_a,
        &["clusters/prod/hr-team-b.yaml".to_string()],
        "team-a.a",
    );
    assert_eq!(change.promote, None, "{change:?}");
    assert!(change.problem.is_some(), "{change:?}");
    // Releases in their own namespaces, which a Flux Kustomization's
    // targetNamespace may replace: the named one may be another's.
    let (a, b) = (release("team-a", false), release("team-b", false));
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: releases\nspec:\n  path: ./clusters/prod\n  targetNamespace: team-b\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/a.yaml", template),
        ("charts/policies/values.yaml", "a:\n  action: Audit\n"),
        ("clusters/prod/hr-team-a.yaml", &a),
        ("clusters/prod/hr-team-b.yaml", &b),
        ("clusters/flux/releases.yaml", flux),
    ]);
    let change = plan(
        &files,
        &team_a,
        &["clusters/prod/hr-team-a.yaml".to_string()],
        "team-a.a",
    );
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("whose release namespace is not written here")),
        "{change:?}"
    );
}

/// verify57 V57-2: a base a renaming overlay (kustomize namePrefix /
/// nameSuffix, a Flux Kustomization's, an Argo CD source's) also builds
/// makes a second policy from the same lines: the base gets the reason
/// (a patch would switch the copy, unjudged), and the renamed policy's
/// problem says where it comes from.
#[test]
fn a_base_a_renaming_overlay_builds_gets_the_reason() {
    let policy = PLAIN.replace("require-team", "a");
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: strict\nspec:\n  path: ./base\n  namePrefix: strict-\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: strict\nspec:\n  source:\n    path: base\n    kustomize: {nameSuffix: -strict}\n";
    for (extra, file, copy) in [
        (
            "namePrefix: strict-\nresources:\n- ../../base\n",
            "overlays/strict/kustomization.yaml",
            "strict-a",
        ),
        (flux, "clusters/prod/strict.yaml", "strict-a"),
        (argo, "argo/strict.yaml", "a-strict"),
    ] {
        let files = repo(&[
            ("base/a.yaml", &policy),
            ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
            (
                "overlays/std/kustomization.yaml",
                "resources:\n- ../../base\n",
            ),
            (file, extra),
        ]);
        let change = plan(&files, &cluster_policy("a"), &[], "a");
        assert_eq!(change.promote, None, "{file}: {change:?}");
        assert!(
            change.problem.as_deref().is_some_and(|p| p
                .starts_with("base/a.yaml is also built as another policy")
                && p.contains(&format!("as {copy} by {file}"))),
            "{file}: {change:?}"
        );
        let change = plan(&files, &cluster_policy(copy), &[], copy);
        assert!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("the ClusterPolicy named a, by")),
            "{file}: {change:?}"
        );
    }
    // A renaming overlay of another base leaves this one patched.
    let files = repo(&[
        ("base/a.yaml", &policy),
        ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
        ("other/kustomization.yaml", "resources:\n- b.yaml\n"),
        ("other/b.yaml", &PLAIN.replace("require-team", "b")),
        (
            "overlays/x/kustomization.yaml",
            "namePrefix: x-\nresources:\n- ../../other\n",
        ),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify57 V57-8: a Flux Kustomization of a folder whose kustomization
/// file does not list the policy's subfolder does not build it (no note
/// naming it); a JSON policy file gets a reason saying polscan edits YAML.
#[test]
fn what_a_folder_s_kustomization_omits_is_not_built_by_it_and_json_is_not_edited() {
    let flux = |name: &str, path: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\nspec:\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n")
    };
    let (all, team) = (
        flux("policies", "./policies"),
        flux("team", "./policies/team/"),
    );
    let files = repo(&[
        ("policies/team/p.yaml", PLAIN),
        ("policies/b.yaml", &PLAIN.replace("require-team", "b")),
        ("policies/kustomization.yaml", "resources:\n- b.yaml\n"),
        ("clusters/prod/policies.yaml", &all),
        ("clusters/prod/team.yaml", &team),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(!change.shared_source, "{change:?}");
    assert!(
        change
            .notes
            .iter()
            .all(|n| !n.contains("clusters/prod/policies.yaml")),
        "{:?}",
        change.notes
    );
    let json = "{\n  \"apiVersion\": \"kyverno.io/v1\",\n  \"kind\": \"ClusterPolicy\",\n  \"metadata\": {\n    \"name\": \"require-team\"\n  },\n  \"spec\": {\n    \"validationFailureAction\": \"Audit\",\n    \"rules\": []\n  }\n}\n";
    let files = repo(&[
        ("policies/p.json", json),
        ("clusters/prod/policies.yaml", &all),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.starts_with("policies/p.json is JSON, which polscan does not edit")),
        "{change:?}"
    );
}

/// verify58 V58-1: a namespaced policy whose base writes its namespace,
/// which overlays replace (kustomize `namespace:`, a Flux Kustomization's
/// targetNamespace, an Argo CD source's kustomize.namespace): each other
/// namespace's copy is another policy from the same lines, so the base
/// gets the reason; the copy's problem says where it comes from.
#[test]
fn a_base_overlays_put_in_other_namespaces_gets_the_reason() {
    let policy = PLAIN
        .replace("kind: ClusterPolicy", "kind: Policy")
        .replace("  name: require-team\n", "  name: a\n  namespace: team-a\n");
    fn team(ns: &str) -> PolicyRef<'_> {
        PolicyRef {
            kind: "Policy",
            name: "a",
            namespace: Some(ns),
        }
    }
    for (ns_a, ns_b) in [
        (
            "namespace: team-a\nresources:\n- ../../base\n",
            "namespace: team-b\nresources:\n- ../../base\n",
        ),
        (
            "resources:\n- ../../base\n",
            "namespace: team-b\nresources:\n- ../../base\n",
        ),
    ] {
        let files = repo(&[
            ("base/a.yaml", &policy),
            ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
            ("overlays/team-a/kustomization.yaml", ns_a),
            ("overlays/team-b/kustomization.yaml", ns_b),
        ]);
        let change = plan(&files, &team("team-a"), &[], "team-a.a");
        assert_eq!(change.promote, None, "{change:?}");
        assert!(
            change.problem.as_deref().is_some_and(|p| p
                .contains("as team-b/a by overlays/team-b/kustomization.yaml (namespace team-b)")),
            "{change:?}"
        );
        let change = plan(&files, &team("team-b"), &[], "team-b.a");
        assert!(
            change.problem.as_deref().is_some_and(|p| p.contains(
                "the Policy named a, by overlays/team-b/kustomization.yaml (namespace team-b)"
            )),
            "{change:?}"
        );
    }
}

/// verify58 V58-2: a policy file none of the checkout's Flux
/// Kustomizations or Argo CD Applications applies (an example copy, a
/// folder no path reaches) gets the reason; where the checkout holds none
/// at all (applied from another repository), the patch comes with a note.
#[test]
fn a_file_nothing_here_applies_gets_the_reason_or_a_note() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra\nspec:\n  path: ./infrastructure\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let files = repo(&[
        ("docs/examples/p.yaml", PLAIN),
        (
            "infrastructure/ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
        ),
        ("clusters/prod/infra.yaml", flux),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change.problem.as_deref().is_some_and(|p| p.starts_with(
            "docs/examples/p.yaml is applied by none of the Flux Kustomizations and Argo CD Applications in the checkout (they apply infrastructure)"
        )),
        "{change:?}"
    );
    let files = repo(&[("policies/p.yaml", PLAIN)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.starts_with("no Flux Kustomization or Argo CD Application is in the checkout to apply policies/p.yaml")),
        "{:?}",
        change.notes
    );
}

/// verify58 V58-7: --policy-values naming a HelmRelease that does not set
/// the key: the advice names its spec.values, and does not send the user
/// to build without --policy-values where several releases render the
/// chart (that refuses too).
#[test]
fn a_named_release_without_the_key_is_told_its_spec_values() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: b\nspec:\n  validationFailureAction: {{ .Values.b.action }}\n  rules: []\n";
    let release = |cluster: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies-{cluster}\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n      sourceRef: {{kind: GitRepository, name: flux-system}}\n      reconcileStrategy: Revision\n  values:\n    a:\n      action: Audit\n")
    };
    let (prod, dev) = (release("prod"), release("dev"));
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/b.yaml", template),
        ("charts/policies/values.yaml", "b:\n  action: Audit\n"),
        ("clusters/prod/hr.yaml", &prod),
        ("clusters/dev/hr.yaml", &dev),
    ]);
    let change = plan(
        &files,
        &cluster_policy("b"),
        &["clusters/prod/hr.yaml".to_string()],
        "b",
    );
    let problem = change.problem.as_deref().unwrap_or("");
    assert!(
        problem.contains("add `spec.values.b.action: Enforce` to clusters/prod/hr.yaml"),
        "{problem}"
    );
    assert!(!problem.contains("without --policy-values"), "{problem}");
}

/// verify59 V59-1: an overlay that renames or moves the base's policy by a
/// JSON 6902 patch of metadata, a transformer, or a replacement of
/// metadata makes a copy polscan does not follow: the base gets the
/// reason. One whose patches touch only the rules does not.
#[test]
fn a_base_an_overlay_renames_by_patch_or_transformer_gets_the_reason() {
    let policy = PLAIN.replace("require-team", "a");
    for (overlay, what) in [
        ("resources:\n- ../../base\npatches:\n- target: {kind: ClusterPolicy, name: a}\n  patch: |-\n    - op: replace\n      path: /metadata/name\n      value: strict-a\n", "a patch of metadata.name or namespace"),
        ("resources:\n- ../../base\nreplacements:\n- source: {kind: ConfigMap, name: c, fieldPath: data.ns}\n  targets:\n  - select: {kind: ClusterPolicy}\n    fieldPaths: [metadata.namespace]\n", "replacements of metadata.name or namespace"),
    ] {
        let files = repo(&[
            ("base/a.yaml", &policy),
            ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
            ("overlays/strict/kustomization.yaml", overlay),
        ]);
        let change = plan(&files, &cluster_policy("a"), &[], "a");
        assert_eq!(change.promote, None, "{what}: {change:?}");
        assert!(
            change.problem.as_deref().is_some_and(|p| p.contains(&format!(
                "perhaps, by overlays/strict/kustomization.yaml ({what})"
            ))),
            "{what}: {change:?}"
        );
    }
    let rules_only = "resources:\n- ../../base\npatches:\n- target: {kind: ClusterPolicy, name: a}\n  patch: |-\n    - op: add\n      path: /spec/background\n      value: true\n";
    let files = repo(&[
        ("base/a.yaml", &policy),
        ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
        ("overlays/prod/kustomization.yaml", rules_only),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify60 V60-1: two copies of a policy, one per environment, where what
/// applies the second is not read literally here (an overlay patches the
/// Flux Kustomization's path; or it lives in another repository): both
/// count, and no patch is made — dropping the one "nothing applies"
/// (walk58 W58-10, reverted) patched the other environment's copy.
#[test]
fn copies_per_environment_are_never_told_apart_by_literal_paths() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies/staging\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let overlay = "resources:\n- ../../base\npatches:\n- target: {kind: Kustomization, name: policies}\n  patch: |-\n    - op: replace\n      path: /spec/path\n      value: ./policies/prod\n";
    let files = repo(&[
        ("policies/staging/p.yaml", PLAIN),
        ("policies/prod/p.yaml", PLAIN),
        ("clusters/base/policies.yaml", flux),
        (
            "clusters/base/kustomization.yaml",
            "resources:\n- policies.yaml\n",
        ),
        ("clusters/prod/kustomization.yaml", overlay),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("is written in several places")),
        "{change:?}"
    );
}

/// verify60 V60-5, V60-8: deliveries polscan does not read literally — a
/// Flux path substituted from its parent (`${cluster}`), Applications in
/// an app-of-apps chart, a kustomize patch of a delivery's path — leave
/// open what they apply: no file is said to be applied by none of them.
#[test]
fn deliveries_not_read_literally_make_no_claim_that_nothing_applies_a_file() {
    let substituted = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies/${cluster_name}\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let app_template = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    path: {{ .Values.path }}\n";
    let infra = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infra\nspec:\n  path: ./infrastructure\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    for extra in [
        vec![("clusters/prod/policies.yaml", substituted)],
        vec![
            ("clusters/prod/infra.yaml", infra),
            ("apps/Chart.yaml", CHART),
            ("apps/templates/policies.yaml", app_template),
        ],
    ] {
        let files: Vec<(&str, &str)> = [("policies/prod/p.yaml", PLAIN)]
            .into_iter()
            .chain(extra.clone())
            .collect();
        let change = plan(
            &repo(&files),
            &cluster_policy("require-team"),
            &[],
            "require-team",
        );
        assert!(change.promote.is_some(), "{extra:?}: {change:?}");
    }
}

/// verify60 V60-3: a kustomize Component transforms what the kustomization
/// listing it builds: one renaming (namePrefix, a JSON 6902 patch of the
/// name) makes another policy of the base, which gets the reason; so does
/// one a Flux Kustomization lists in spec.components.
#[test]
fn a_component_renaming_the_base_gets_the_reason() {
    let policy = PLAIN.replace("require-team", "a");
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: strict\nspec:\n  path: ./base\n  components:\n  - ../components/strict\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    for component in [
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: strict-\n",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- target: {kind: ClusterPolicy}\n  patch: |-\n    - op: replace\n      path: /metadata/name\n      value: strict-a\n",
    ] {
        for (includer, text) in [
            (
                "overlays/strict/kustomization.yaml",
                "resources:\n- ../../base\ncomponents:\n- ../../components/strict\n",
            ),
            ("clusters/strict.yaml", flux),
        ] {
            let files = repo(&[
                ("base/a.yaml", &policy),
                ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
                ("components/strict/kustomization.yaml", component),
                (includer, text),
            ]);
            let change = plan(&files, &cluster_policy("a"), &[], "a");
            assert_eq!(change.promote, None, "{includer}: {change:?}");
            assert!(
                change.problem.as_deref().is_some_and(|p| p
                    .contains("components/strict/kustomization.yaml")),
                "{includer}: {change:?}"
            );
        }
    }
}

/// verify60 V60-4: a base HelmRelease written in flux-system, which Flux
/// Kustomizations put in team namespaces (targetNamespace) through
/// overlays of its folder: its namespace is not known from the file, so
/// it still renders team-a's policy, and its spec.values (which win) are
/// patched — not the chart's default.
#[test]
fn a_release_an_overlay_moves_still_renders_the_policy() {
    let template = "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata:\n  name: a\n  namespace: {{ .Release.Namespace }}\nspec:\n  validationFailureAction: {{ .Values.a.action }}\n  rules: []\n";
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n      sourceRef: {kind: GitRepository, name: flux-system}\n      reconcileStrategy: Revision\n  values:\n    a:\n      action: Audit\n";
    let flux = |team: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {team}\nspec:\n  path: ./apps/{team}\n  targetNamespace: {team}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n")
    };
    let (a, b) = (flux("team-a"), flux("team-b"));
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/a.yaml", template),
        ("charts/policies/values.yaml", "a:\n  action: Audit\n"),
        ("apps/base/hr.yaml", release),
        ("apps/base/kustomization.yaml", "resources:\n- hr.yaml\n"),
        ("apps/team-a/kustomization.yaml", "resources:\n- ../base\n"),
        ("apps/team-b/kustomization.yaml", "resources:\n- ../base\n"),
        ("clusters/prod/team-a.yaml", &a),
        ("clusters/prod/team-b.yaml", &b),
    ]);
    let team_a = PolicyRef {
        kind: "Policy",
        name: "a",
        namespace: Some("team-a"),
    };
    let change = plan(&files, &team_a, &[], "team-a.a");
    let (promote, _) = patches(&change);
    assert!(
        promote.contains("diff --git a/apps/base/hr.yaml") && !promote.contains("values.yaml"),
        "{promote}"
    );
}

/// verify60 V60-2: a kustomization building a remote base (a Git folder
/// by URL, pinned by ref) may be where the cluster's policy comes from:
/// the local copy gets the reason, where the URL names the file or one of
/// its folders. Another project's remote resource does not count.
#[test]
fn a_remote_base_in_the_checkout_gives_the_reason() {
    for (remote, refused) in [
        ("https://github.com/org/fleet//policies?ref=v1.4.0", true),
        ("github.com/org/fleet/policies?ref=v1.4.0", true),
        (
            "https://github.com/kyverno/kyverno/releases/download/v1.13.0/install.yaml",
            false,
        ),
        // verify61 V61-1, V61-5: a remote copy of the file counts; another
        // project's remote base does not.
        (
            "https://raw.githubusercontent.com/org/fleet/v1.4.0/policies/p.yaml",
            true,
        ),
        (
            "https://github.com/kubernetes/ingress-nginx//deploy/static?ref=v1.9.0",
            false,
        ),
        // verify62 V62-9: Kyverno's policies repository is not this
        // checkout's policies folder.
        (
            "https://github.com/kyverno/policies//pod-security/baseline?ref=main",
            false,
        ),
    ] {
        let prod = format!("resources:\n- {remote}\n");
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            ("policies/kustomization.yaml", "resources:\n- p.yaml\n"),
            (
                "deploy/staging/kustomization.yaml",
                "resources:\n- ../../policies\n",
            ),
            ("deploy/prod/kustomization.yaml", &prod),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert_eq!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("builds a remote kustomize base")),
            refused,
            "{remote}: {change:?}"
        );
    }
}

/// verify60 V60-7: a delivery following a branch of its own (per
/// environment) is noted: the commit must go to that branch. main and
/// master are not noted.
#[test]
fn a_delivery_on_a_branch_of_its_own_is_noted() {
    let argo = |rev: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: prod\nspec:\n  source:\n    path: policies\n    targetRevision: {rev}\n  syncPolicy:\n    automated: {{}}\n")
    };
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: prod}\n";
    let source = |branch: &str| {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: prod\nspec:\n  url: https://git.example.com/p.git\n  ref: {{branch: {branch}}}\n")
    };
    // verify62 V62-10: ref.name refs/heads/… is a branch too.
    let by_name = source("x").replace("ref: {branch: x}", "ref: {name: refs/heads/production}");
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("clusters/prod/policies.yaml", flux),
        ("clusters/prod/source.yaml", &by_name),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("follows branch production")),
        "{:?}",
        change.notes
    );
    for (branch, noted) in [("release/prod", true), ("main", false)] {
        let app = argo(branch);
        let files = repo(&[("policies/p.yaml", PLAIN), ("argo/prod.yaml", &app)]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.promote.is_some(), "{change:?}");
        assert_eq!(
            change
                .notes
                .iter()
                .any(|n| n.contains("is a branch of its own")),
            noted,
            "{branch}: {:?}",
            change.notes
        );
        let git = source(branch);
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            ("clusters/prod/policies.yaml", flux),
            ("clusters/prod/source.yaml", &git),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert_eq!(
            change
                .notes
                .iter()
                .any(|n| n.contains(&format!("follows branch {branch}"))),
            noted,
            "{branch}: {:?}",
            change.notes
        );
    }
}

/// verify61 V61-2: an overlay patching a base HelmRelease's
/// spec.targetNamespace: the release's namespace is not known from its
/// file, so it still renders the policy — the chart's default (which its
/// spec.values override) is never the patch.
#[test]
fn a_release_an_overlay_patch_moves_still_renders_the_policy() {
    let template = "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata:\n  name: a\n  namespace: {{ .Release.Namespace }}\nspec:\n  validationFailureAction: {{ .Values.a.action }}\n  rules: []\n";
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n      sourceRef: {kind: GitRepository, name: flux-system}\n      reconcileStrategy: Revision\n  values:\n    a:\n      action: Audit\n";
    let overlay = "resources:\n- ../base\npatches:\n- target: {kind: HelmRelease, name: policies}\n  patch: |-\n    - op: add\n      path: /spec/targetNamespace\n      value: team-a\n";
    let files = repo(&[
        ("charts/policies/Chart.yaml", CHART),
        ("charts/policies/templates/a.yaml", template),
        ("charts/policies/values.yaml", "a:\n  action: Audit\n"),
        ("apps/base/hr.yaml", release),
        ("apps/base/kustomization.yaml", "resources:\n- hr.yaml\n"),
        ("apps/team-a/kustomization.yaml", overlay),
    ]);
    let team_a = PolicyRef {
        kind: "Policy",
        name: "a",
        namespace: Some("team-a"),
    };
    let change = plan(&files, &team_a, &[], "team-a.a");
    let promote = change.promote.as_ref().map_or("", |p| p.diff.as_str());
    assert!(
        !promote.contains("charts/policies/values.yaml"),
        "{change:?}"
    );
}

/// verify61 V61-6: Kyverno's policy library keeps a test assertion beside
/// each policy (`.chainsaw-test/policy-ready.yaml`: the kind, the name and
/// `status.ready`, no spec): no second copy of the policy.
#[test]
fn a_status_assertion_is_no_copy_of_the_policy() {
    let assertion = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team\nstatus:\n  ready: true\n";
    let files = repo(&[
        ("require-team/require-team.yaml", PLAIN),
        ("require-team/.chainsaw-test/policy-ready.yaml", assertion),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let (promote, _) = patches(&change);
    assert!(
        promote.contains("diff --git a/require-team/require-team.yaml"),
        "{promote}"
    );
}

/// verify61 V61-4: a substituted Flux path may be any folder under its
/// literal start, no other: a file outside it is applied by none.
#[test]
fn a_substituted_path_reaches_only_under_its_literal_start() {
    let substituted = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies/${cluster_name}\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let files = repo(&[
        ("legacy/p.yaml", PLAIN),
        ("clusters/prod/policies.yaml", substituted),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.starts_with("legacy/p.yaml is applied by none")),
        "{change:?}"
    );
}

/// verify61 V61-3: a delivery applying the policy's path from another
/// repository than the checkout's origin: the patch here does not switch
/// that cluster's copy, so the reason; the same repository by another
/// spelling of its URL is this one.
#[test]
fn a_delivery_from_another_repository_gives_the_reason() {
    let flux = |name: &str, source: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\nspec:\n  path: ./policies\n  sourceRef: {{kind: GitRepository, name: {source}}}\n")
    };
    let git = |name: &str, url: &str| {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\nspec:\n  url: {url}\n  ref: {{branch: main}}\n")
    };
    let (staging, prod) = (flux("staging", "fleet"), flux("prod", "prod-policies"));
    let (fleet, other) = (
        git("fleet", "ssh://git@github.com:22/org/fleet.git"),
        git("prod-policies", "https://github.com/org/prod-policies"),
    );
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("clusters/staging/policies.yaml", &staging),
        ("clusters/prod/policies.yaml", &prod),
        ("clusters/sources.yaml", &format!("{fleet}---\n{other}")),
    ]);
    let repository =
        Repository::new(files.clone()).with_origin(Some("https://github.com/org/fleet".into()));
    let change = repository.plan(&cluster_policy("require-team"), None, &[], "require-team");
    assert!(
        change.problem.as_deref().is_some_and(|p| p.starts_with(
            "clusters/prod/policies.yaml applies ./policies from https://github.com/org/prod-policies, not from this checkout"
        )),
        "{change:?}"
    );
    // Without the other repository's delivery, the same repository by
    // another spelling is no other.
    let mut only_fleet = files;
    only_fleet.remove("clusters/prod/policies.yaml");
    let change = Repository::new(only_fleet)
        .with_origin(Some("git@github.com:org/fleet".into()))
        .plan(&cluster_policy("require-team"), None, &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify62 V62-1..5: two GitRepositories of one name (any of another
/// repository counts), a HelmRelease's chart from another repository, a
/// GitRepository including another's files, a remote base of this very
/// repository at a pinned ref: the reason. A templated path whose
/// kustomizations reach the file with `../` does apply it.
#[test]
fn other_sources_and_upward_templated_paths() {
    let origin = Some("https://github.com/org/fleet".to_string());
    let git = |url: &str, extra: &str| {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: policies\nspec:\n  url: {url}\n  ref: {{branch: main}}\n{extra}")
    };
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: policies}\n";
    let refused = |files: Vec<(&str, String)>, said: &str| {
        let files: BTreeMap<String, String> =
            files.into_iter().map(|(p, t)| (p.to_string(), t)).collect();
        let change = Repository::new(files).with_origin(origin.clone()).plan(
            &cluster_policy("require-team"),
            None,
            &[],
            "require-team",
        );
        assert!(
            change.problem.as_deref().is_some_and(|p| p.contains(said)),
            "{said}: {change:?}"
        );
    };
    refused(
        vec![
            ("policies/p.yaml", PLAIN.into()),
            (
                "clusters/prod/policies.yaml",
                format!(
                    "{flux}---\n{}",
                    git("https://github.com/org/prod-policies", "")
                ),
            ),
            (
                "clusters/staging/policies.yaml",
                format!("{flux}---\n{}", git("https://github.com/org/fleet", "")),
            ),
        ],
        "from https://github.com/org/prod-policies, not from this checkout",
    );
    refused(
        vec![
            ("policies/p.yaml", PLAIN.into()),
            (
                "clusters/prod/policies.yaml",
                format!(
                    "{flux}---\n{}",
                    git(
                        "https://github.com/org/fleet",
                        "  include:\n  - repository: {name: other}\n    toPath: policies\n"
                    )
                ),
            ),
        ],
        "from another repository (spec.include)",
    );
    // verify63 V63-7: an include landing elsewhere (toPath, by default
    // the included GitRepository's name) is not where the file is.
    for include in [
        "  include:\n  - repository: {name: other}\n    toPath: vendor/shared\n",
        "  include:\n  - repository: {name: other}\n",
    ] {
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            (
                "clusters/prod/policies.yaml",
                &format!(
                    "{flux}---\n{}",
                    git("https://github.com/org/fleet", include)
                ),
            ),
        ]);
        let change = Repository::new(files).with_origin(origin.clone()).plan(
            &cluster_policy("require-team"),
            None,
            &[],
            "require-team",
        );
        assert!(change.promote.is_some(), "{include}: {change:?}");
    }
    refused(
        vec![
            ("policies/p.yaml", PLAIN.into()),
            (
                "policies/kustomization.yaml",
                "resources:\n- p.yaml\n".into(),
            ),
            (
                "platform/kustomization.yaml",
                "resources:\n- ../policies\n".into(),
            ),
            (
                "deploy/staging/kustomization.yaml",
                "resources:\n- ../../platform\n".into(),
            ),
            (
                "deploy/prod/kustomization.yaml",
                "resources:\n- https://github.com/org/fleet//platform?ref=v1.4.0\n".into(),
            ),
        ],
        "builds a remote kustomize base",
    );
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team\nspec:\n  validationFailureAction: {{ .Values.action }}\n  rules: []\n";
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n      sourceRef: {kind: GitRepository, name: policies}\n      reconcileStrategy: Revision\n";
    refused(
        vec![
            ("charts/policies/Chart.yaml", CHART.into()),
            ("charts/policies/templates/p.yaml", template.into()),
            ("charts/policies/values.yaml", "action: Audit\n".into()),
            (
                "clusters/prod/hr.yaml",
                format!(
                    "{release}---\n{}",
                    git("https://github.com/org/prod-charts", "")
                ),
            ),
        ],
        "from https://github.com/org/prod-charts",
    );
    // A templated path whose kustomizations reach up to the file.
    let templated = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./deploy/${cluster_name}\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("policies/kustomization.yaml", "resources:\n- p.yaml\n"),
        (
            "deploy/prod/kustomization.yaml",
            "resources:\n- ../../policies\n",
        ),
        ("clusters/prod/policies.yaml", templated),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify62 V62-8: Azure DevOps's SSH URL and its HTTPS clone URL name
/// one repository; other spellings of one URL too, another repository not.
#[test]
fn git_urls_of_one_repository_compare_equal() {
    use super::repository::same_repository;
    assert!(same_repository(
        "ssh://git@ssh.dev.azure.com/v3/org/proj/fleet",
        "https://org@dev.azure.com/org/proj/_git/fleet"
    ));
    assert!(same_repository(
        "git@github.com:org/fleet.git",
        "https://github.com/org/fleet/"
    ));
    assert!(same_repository(
        "ssh://git@gitlab.example.com:2222/org/fleet",
        "https://gitlab.example.com/org/fleet.git"
    ));
    // verify63 V63-12: Azure DevOps's older host, `www.`, a scp-like
    // path with a leading slash.
    assert!(same_repository(
        "https://org.visualstudio.com/DefaultCollection/proj/_git/fleet",
        "https://dev.azure.com/org/proj/_git/fleet"
    ));
    assert!(same_repository(
        "https://www.github.com/org/fleet",
        "git@github.com:/org/fleet.git"
    ));
    assert!(!same_repository(
        "https://github.com/org/fleet",
        "https://github.com/org/prod-policies"
    ));
    assert!(!same_repository(
        "https://other.visualstudio.com/proj/_git/fleet",
        "https://dev.azure.com/org/proj/_git/fleet"
    ));
}

/// verify61 V61-10: an ApplicationSet applying the policy's folder is
/// named once in the note (it counts as several, one per Application).
#[test]
fn an_application_set_is_named_once() {
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: all\nspec:\n  generators:\n  - list: {elements: [{env: prod}, {env: staging}]}\n  template:\n    spec:\n      source: {path: policies}\n      syncPolicy: {automated: {}}\n";
    let files = repo(&[("policies/p.yaml", PLAIN), ("argocd/set.yaml", set)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let note = change
        .notes
        .iter()
        .find(|n| n.contains("is built by each of"))
        .unwrap_or_else(|| panic!("{change:?}"));
    assert!(
        note.contains("built by each of argocd/set.yaml (each Application it generates):"),
        "{note}"
    );
}

/// A build reaching the file with a feature the planner does not read
/// (a field this version does not know, an Argo CD config management
/// plugin): the
/// policy the cluster gets may differ from the file, so the reason comes
/// instead of a patch. Fields that leave a policy's name and action alone
/// (labels, images, generators) do not refuse it; a Flux
/// Kustomization with `kubeConfig` gets a note naming the other cluster.
#[test]
fn a_build_feature_not_followed_gets_the_reason() {
    let policy = PLAIN.replace("require-team", "a");
    for (overlay, what) in [
        (
            "resources:\n- ../../base\nnewFeature: {}\n",
            "kustomize `newFeature`",
        ),
        (
            "resources:\n- ../../base\nmutators:\n- m.yaml\n",
            "kustomize `mutators`",
        ),
        // verify64 V64-14: a transformer (a LabelTransformer as much as
        // a NamespaceTransformer) is not followed; no copy is claimed.
        (
            "resources:\n- ../../base\ntransformers:\n- ns.yaml\n",
            "kustomize `transformers`",
        ),
    ] {
        let files = repo(&[
            ("base/a.yaml", &policy),
            ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
            ("overlays/prod/kustomization.yaml", overlay),
        ]);
        let change = plan(&files, &cluster_policy("a"), &[], "a");
        assert_eq!(change.promote, None, "{what}: {change:?}");
        let problem = change.problem.as_deref().unwrap_or("");
        assert!(
            problem.contains(&format!(
                "built by what polscan does not follow (overlays/prod/kustomization.yaml ({what}, not followed))"
            )),
            "{what}: {problem}"
        );
    }
    let plugin = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source:\n    repoURL: https://github.com/org/fleet.git\n    path: base\n    plugin: {name: envsubst}\n  destination: {server: https://kubernetes.default.svc}\n";
    let files = repo(&[
        ("base/a.yaml", &policy),
        ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
        ("argocd/policies.yaml", plugin),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p
                .contains("argocd/policies.yaml (an Argo CD config management plugin builds it)")),
        "{change:?}"
    );
    // Labels, images, a ConfigMap generator, KSOPS' generator, Argo
    // Rollouts' configurations: patched.
    let harmless = "resources:\n- ../../base\nconfigurations:\n- https://argoproj.github.io/argo-rollouts/features/kustomize/rollout-transform.yaml\ncommonLabels: {env: prod}\nimages:\n- {name: nginx, newTag: '1.27'}\nconfigMapGenerator:\n- name: c\n  literals: [a=b]\ngenerators:\n- secret-generator.yaml\n";
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: policies, namespace: flux-system}\nspec:\n  interval: 10m\n  path: ./overlays/prod\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  kubeConfig:\n    secretRef: {name: prod-kubeconfig}\n";
    let files = repo(&[
        ("base/a.yaml", &policy),
        ("base/kustomization.yaml", "resources:\n- a.yaml\n"),
        ("overlays/prod/kustomization.yaml", harmless),
        ("clusters/mgmt/policies.yaml", flux),
    ]);
    let change = plan(&files, &cluster_policy("a"), &[], "a");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("spec.kubeConfig (Secret prod-kubeconfig)")),
        "{change:?}"
    );
}

/// The Kyverno policy library's layout: `pod-security/enforce` patches
/// every ClusterPolicy it builds (`../restricted`, no name in the target)
/// to Enforce. A policy in another folder, which that kustomization does
/// not build, is patched; one it builds still gets the reason.
#[test]
fn a_kustomize_patch_counts_only_for_what_its_kustomization_builds() {
    let enforce = "resources:\n- ../restricted\npatches:\n- patch: |-\n    - op: replace\n      path: /spec/validationFailureAction\n      value: Enforce\n  target:\n    kind: ClusterPolicy\n";
    let files = repo(&[
        (
            "pod-security/restricted/kustomization.yaml",
            "resources:\n- p.yaml\n",
        ),
        (
            "pod-security/restricted/p.yaml",
            &PLAIN.replace("require-team", "restricted-a"),
        ),
        ("pod-security/enforce/kustomization.yaml", enforce),
        ("best-practices/require-team/p.yaml", PLAIN),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    let change = plan(&files, &cluster_policy("restricted-a"), &[], "restricted-a");
    assert_eq!(change.promote, None);
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("pod-security/enforce/kustomization.yaml may patch")),
        "{change:?}"
    );
}

/// verify63 V63-3: a remote library folder (`policy-library//baseline`)
/// of which the checkout holds a fork deeper down (`policies/baseline`)
/// is where one environment's policy may come from: the local copy gets
/// the reason, as does one whose last folder is the file's. Another
/// stays apart.
#[test]
fn a_remote_folder_a_fork_holds_deeper_gives_the_reason() {
    for (remote, refused) in [
        (
            "https://github.com/org/policy-library//baseline?ref=v1.4.0",
            true,
        ),
        // verify64 V64-5: Kyverno's `pod-security/baseline`, vendored as
        // `policies/baseline`, too; another last folder does not.
        (
            "https://github.com/kyverno/policies//pod-security/baseline?ref=main",
            true,
        ),
        (
            "https://github.com/kyverno/policies//pod-security/restricted?ref=main",
            false,
        ),
        // verify65 V65-4: a last folder alike alone is not enough.
        (
            "https://github.com/org/platform//ingress-nginx/baseline?ref=v1",
            false,
        ),
    ] {
        let prod = format!("resources:\n- {remote}\n");
        let files = repo(&[
            ("policies/baseline/p.yaml", PLAIN),
            (
                "policies/baseline/kustomization.yaml",
                "resources:\n- p.yaml\n",
            ),
            (
                "deploy/staging/kustomization.yaml",
                "resources:\n- ../../policies/baseline\n",
            ),
            ("deploy/prod/kustomization.yaml", &prod),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert_eq!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("builds a remote kustomize base")),
            refused,
            "{remote}: {change:?}"
        );
    }
}

/// verify63 V63-1: Argo CD's app of apps as a Helm chart. Its
/// Applications are rendered from the chart's values.yaml where the
/// template only reads values: one reading another repository gives the
/// reason, one reading this repository at a tag the pinned note, one
/// reading it at HEAD a patch. A template polscan cannot render (a range,
/// values the root Application gives) that may apply the file from a
/// computed or other repository gives the reason too.
#[test]
fn an_app_of_apps_chart_s_applications_are_read() {
    let template = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\n  namespace: argocd\nspec:\n  destination:\n    server: {{ .Values.spec.destination.server }}\n  project: default\n  source:\n    path: policies\n    repoURL: {{ .Values.spec.source.repoURL | quote }}\n    targetRevision: {{ .Values.spec.source.targetRevision }}\n  syncPolicy:\n    automated: {prune: true}\n";
    let values = |url: &str, revision: &str| {
        format!("spec:\n  destination:\n    server: https://kubernetes.default.svc\n  source:\n    repoURL: {url}\n    targetRevision: {revision}\n")
    };
    let root = |helm: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: root\nspec:\n  source:\n    repoURL: https://github.com/org/fleet.git\n    path: apps\n    targetRevision: HEAD\n{helm}  syncPolicy:\n    automated: {{}}\n")
    };
    let plan_with = |template: &str, values: &str, root: &str| {
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            (
                "apps/Chart.yaml",
                "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
            ),
            ("apps/values.yaml", values),
            ("apps/templates/policies.yaml", template),
            ("argocd/root.yaml", root),
        ]);
        Repository::new(files)
            .with_origin(Some("https://github.com/org/fleet.git".into()))
            .plan(&cluster_policy("require-team"), None, &[], "require-team")
    };
    let other = plan_with(
        template,
        &values("https://github.com/org/prod-policies.git", "HEAD"),
        &root(""),
    );
    assert_eq!(other.promote, None, "{other:?}");
    assert!(
        other.problem.as_deref().is_some_and(|p| p.starts_with(
            "apps/templates/policies.yaml applies policies from https://github.com/org/prod-policies.git, not from this checkout"
        )),
        "{other:?}"
    );
    let pinned = plan_with(
        template,
        &values("https://github.com/org/fleet.git", "v1.4.0"),
        &root(""),
    );
    assert!(pinned.promote.is_some(), "{pinned:?}");
    assert!(
        pinned
            .notes
            .iter()
            .any(|n| n.contains("targetRevision v1.4.0 is a tag or commit")),
        "{pinned:?}"
    );
    let same = plan_with(
        template,
        &values("https://github.com/org/fleet.git", "HEAD"),
        &root(""),
    );
    assert!(same.promote.is_some(), "{same:?}");
    // Not rendered: the root gives the chart values of its own, or the
    // template ranges over them.
    let given = plan_with(
        template,
        &values("https://github.com/org/fleet.git", "HEAD"),
        &root("    helm:\n      valueFiles: [values-prod.yaml]\n"),
    );
    assert_eq!(given.promote, None, "{given:?}");
    assert!(
        given.problem.as_deref().is_some_and(|p| p.contains(
            "apps/templates/policies.yaml (its Application, computed by the chart's template, is not rendered here) applies policies from {{ .Values.spec.source.repoURL | quote }}"
        )),
        "{given:?}"
    );
    let ranged = format!(
        "{{{{- range .Values.clusters }}}}\n---\n{}{{{{- end }}}}\n",
        template.replace(
            "{{ .Values.spec.source.repoURL | quote }}",
            "https://github.com/org/prod-policies.git"
        )
    );
    let ranged = plan_with(
        &ranged,
        &values("https://github.com/org/fleet.git", "HEAD"),
        &root(""),
    );
    assert_eq!(ranged.promote, None, "{ranged:?}");
}

/// verify63 V63-2, V63-8: an overlay per cluster patching the delivery
/// itself. Pointing it at another repository gives the reason; at a
/// revision of its own, the note. A patch of another Application (by
/// name) is not this file's.
#[test]
fn a_patch_of_what_a_delivery_reads_counts() {
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    repoURL: https://github.com/org/fleet.git\n    path: policies\n    targetRevision: HEAD\n  syncPolicy:\n    automated: {}\n";
    let overlay = |name: &str, field: &str, value: &str| {
        format!("resources:\n- ../base\npatches:\n- target: {{kind: Application, name: {name}}}\n  patch: |-\n    - op: replace\n      path: {field}\n      value: {value}\n")
    };
    let plan_with = |overlay: &str| {
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            ("argocd/base/policies.yaml", app),
            (
                "argocd/base/kustomization.yaml",
                "resources:\n- policies.yaml\n",
            ),
            ("argocd/prod/kustomization.yaml", overlay),
        ]);
        Repository::new(files)
            .with_origin(Some("https://github.com/org/fleet.git".into()))
            .plan(&cluster_policy("require-team"), None, &[], "require-team")
    };
    let other = plan_with(&overlay(
        "policies",
        "/spec/source/repoURL",
        "https://github.com/org/prod-policies.git",
    ));
    assert_eq!(other.promote, None, "{other:?}");
    assert!(
        other.problem.as_deref().is_some_and(|p| p.starts_with(
            "argocd/prod/kustomization.yaml patches Application policies, which delivers it, to read https://github.com/org/prod-policies.git, not from this checkout"
        )),
        "{other:?}"
    );
    let pinned = plan_with(&overlay(
        "policies",
        "/spec/source/targetRevision",
        "v1.4.0",
    ));
    assert!(pinned.promote.is_some(), "{pinned:?}");
    assert!(
        pinned.notes.iter().any(|n| n.starts_with(
            "argocd/prod/kustomization.yaml: it patches the revision Application policies, which delivers policies/p.yaml"
        )),
        "{pinned:?}"
    );
    // verify64 V64-3: a replacement from a cluster's ConfigMap.
    let replaced = plan_with("resources:\n- ../base\n- cluster.yaml\nreplacements:\n- source: {kind: ConfigMap, name: cluster, fieldPath: data.repo}\n  targets:\n  - select: {kind: Application, name: policies}\n    fieldPaths: [spec.source.repoURL]\n");
    assert_eq!(replaced.promote, None, "{replaced:?}");
    assert!(
        replaced.problem.as_deref().is_some_and(|p| p.starts_with(
            "argocd/prod/kustomization.yaml changes which repository Application policies, which delivers it, reads (a replacement, or a patch of its source), to a value not read here"
        )),
        "{replaced:?}"
    );
    // verify65 V65-7: a ConfigMap written here holding the value.
    for (url, patched) in [
        ("https://github.com/org/fleet.git", true),
        ("https://github.com/org/prod-policies.git", false),
    ] {
        let change = plan_with(&format!("resources:\n- ../base\nconfigMapGenerator:\n- name: cluster\n  literals: [repo={url}]\nreplacements:\n- source: {{kind: ConfigMap, name: cluster, fieldPath: data.repo}}\n  targets:\n  - select: {{kind: Application, name: policies}}\n    fieldPaths: [spec.source.repoURL]\n"));
        assert_eq!(change.promote.is_some(), patched, "{url}: {change:?}");
    }
    let elsewhere = plan_with(&overlay(
        "ingress",
        "/spec/source/repoURL",
        "https://github.com/org/ingress.git",
    ));
    assert!(elsewhere.promote.is_some(), "{elsewhere:?}");
    assert!(elsewhere.notes.is_empty(), "{elsewhere:?}");
}

/// verify63 V63-5, V63-6: a Flux Kustomization reads the GitRepository of
/// its sourceRef's name in its namespace, the one in its own file (or
/// folder) first: another cluster's GitRepository of the same name gives
/// neither its branch note nor an "another repository" reason, nor does a
/// tenant's in another namespace.
#[test]
fn a_kustomization_reads_its_own_git_repository() {
    let origin = Some("https://github.com/org/fleet".to_string());
    let git = |namespace: &str, url: &str, branch: &str| {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: policies\n  namespace: {namespace}\nspec:\n  url: {url}\n  ref: {{branch: {branch}}}\n")
    };
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\n  namespace: flux-system\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: policies}\n";
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        (
            "clusters/prod/policies.yaml",
            &format!(
                "{}---\n{flux}",
                git("flux-system", "https://github.com/org/fleet", "production")
            ),
        ),
        (
            "clusters/staging/policies.yaml",
            &format!(
                "{}---\n{flux}",
                git("flux-system", "https://github.com/org/fleet", "main")
            ),
        ),
        (
            "tenants/team-a.yaml",
            &git("team-a", "https://github.com/org/team-a", "main"),
        ),
    ]);
    let change = Repository::new(files).with_origin(origin).plan(
        &cluster_policy("require-team"),
        None,
        &[],
        "require-team",
    );
    assert!(change.promote.is_some(), "{change:?}");
    let branch_notes: Vec<&String> = change
        .notes
        .iter()
        .filter(|n| n.contains("follows branch"))
        .collect();
    assert_eq!(
        branch_notes,
        vec!["clusters/prod/policies.yaml: the GitRepository the Kustomization in clusters/prod/policies.yaml reads follows branch production: commit the patch to that branch (a commit to another does not reach the cluster)"],
        "{change:?}"
    );
}

/// verify63 V63-9: a revision a generator (or Flux) computes is not called
/// a branch of its own.
#[test]
fn a_computed_revision_is_no_branch() {
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: all\nspec:\n  generators:\n  - list: {elements: [{env: prod, revision: v1.4.0}, {env: staging, revision: HEAD}]}\n  template:\n    spec:\n      source: {path: policies, targetRevision: '{{revision}}'}\n      syncPolicy: {automated: {}}\n";
    let files = repo(&[("policies/p.yaml", PLAIN), ("argocd/set.yaml", set)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("targetRevision {{revision}} is computed per cluster")),
        "{change:?}"
    );
    assert!(
        !change.notes.iter().any(|n| n.contains("branch of its own")),
        "{change:?}"
    );
}

/// verify63 V63-10: a file opening with a byte-order mark (kubectl and
/// kustomize read past it) holds its policy.
#[test]
fn a_byte_order_mark_is_read_past() {
    let marked = format!("\u{feff}{PLAIN}");
    let files = repo(&[("policies/p.yaml", &marked)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let (promote, _) = patches(&change);
    assert!(
        changed(promote).contains(&"+  validationFailureAction: \"Enforce\"   # see the evidence"),
        "{promote}"
    );
}

/// verify64 V64-1, V64-4: a Component an Argo CD source lists in
/// `kustomize.components` transforms what it builds (its action patch
/// counts); a remote Component is not read, so the build is not followed.
#[test]
fn components_of_argo_sources_and_remote_components_count() {
    let component = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- target: {kind: ClusterPolicy}\n  patch: |-\n    - op: replace\n      path: /spec/validationFailureAction\n      value: Audit\n";
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    path: base\n    kustomize:\n      components: [../components/audit]\n  syncPolicy:\n    automated: {}\n";
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
        ("components/audit/kustomization.yaml", component),
        ("argocd/policies.yaml", app),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("components/audit/kustomization.yaml may patch")),
        "{change:?}"
    );
    let remote = "resources:\n- ../../base\ncomponents:\n- https://github.com/org/components//audit?ref=v1\n";
    let files = repo(&[
        ("base/p.yaml", PLAIN),
        ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
        ("overlays/prod/kustomization.yaml", remote),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change.problem.as_deref().is_some_and(|p| p.contains(
            "overlays/prod/kustomization.yaml (the remote Component https://github.com/org/components//audit?ref=v1, not read)"
        )),
        "{change:?}"
    );
}

/// verify64 V64-7: `flux bootstrap`'s layout, each cluster's source in
/// clusters/<cluster>/flux-system/: each Kustomization reads its own
/// cluster's.
#[test]
fn a_bootstrap_source_is_its_cluster_s() {
    let git = |branch: &str| {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://github.com/org/fleet\n  ref: {{branch: {branch}}}\n")
    };
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\n  namespace: flux-system\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        (
            "clusters/prod/flux-system/gotk-sync.yaml",
            &git("production"),
        ),
        ("clusters/prod/policies.yaml", flux),
        ("clusters/staging/flux-system/gotk-sync.yaml", &git("main")),
        ("clusters/staging/policies.yaml", flux),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    let branch_notes: Vec<&String> = change
        .notes
        .iter()
        .filter(|n| n.contains("follows branch"))
        .collect();
    assert_eq!(
        branch_notes,
        vec!["clusters/prod/flux-system/gotk-sync.yaml: the GitRepository the Kustomization in clusters/prod/policies.yaml reads follows branch production: commit the patch to that branch (a commit to another does not reach the cluster)"],
        "{change:?}"
    );
}

/// verify64 V64-10: a Flux Kustomization's kind-wide patch of the action
/// counts for what its path builds only.
#[test]
fn a_delivery_s_patch_counts_for_what_it_builds() {
    let patching = |path: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n  patches:\n  - target: {{kind: ClusterPolicy}}\n    patch: |-\n      - op: replace\n        path: /spec/validationFailureAction\n        value: Audit\n")
    };
    let plain = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    for (path, refused) in [("./apps", false), ("./policies", true), ("./${env}", true)] {
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            (
                "apps/a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            ),
            ("clusters/prod/policies.yaml", plain),
            ("clusters/prod/apps.yaml", &patching(path)),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert_eq!(change.promote.is_none(), refused, "{path}: {change:?}");
    }
}

/// verify64 V64-2, V64-6, V64-8, V64-9: an app of apps rendered with each
/// set of values it may get — the values files its root Application
/// lists, or, with no root here, each values file beside values.yaml —
/// through `| default` and a whole-line `if`; a subchart (its parent's
/// values override) is not rendered.
#[test]
fn an_app_of_apps_is_rendered_with_each_values_set() {
    let template = "{{- if .Values.enabled }}\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    path: policies\n    repoURL: {{ .Values.repoURL }}\n    targetRevision: {{ .Values.revision | default \"HEAD\" }}\n  syncPolicy:\n    automated: {prune: true}\n{{- end }}\n";
    let fleet = "https://github.com/org/fleet.git";
    let plan_with = |files: &[(&str, &str)]| {
        let mut all = vec![
            ("policies/p.yaml", PLAIN),
            (
                "apps/Chart.yaml",
                "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
            ),
            ("apps/templates/policies.yaml", template),
        ];
        all.extend_from_slice(files);
        Repository::new(repo(&all))
            .with_origin(Some(fleet.into()))
            .plan(&cluster_policy("require-team"), None, &[], "require-team")
    };
    let values = format!("enabled: true\nrepoURL: {fleet}\n");
    // One values file: rendered, HEAD by default, patched; with nothing
    // here rendering the chart, a note says its root may give other
    // values (verify65 V65-6), and no other note comes.
    let plain = plan_with(&[("apps/values.yaml", &values)]);
    assert!(plain.promote.is_some(), "{plain:?}");
    assert_eq!(
        plain.notes,
        vec!["apps/templates/policies.yaml is read as rendered with its chart's values.yaml (and the values files beside it): nothing in the checkout renders that chart, and what does may give it other values (another repository or revision for policies/p.yaml) — check the root that renders it".to_string()],
        "{plain:?}"
    );
    // A values file beside it pointing elsewhere, or pinning a tag.
    let other = plan_with(&[
        ("apps/values.yaml", &values),
        (
            "apps/values-prod.yaml",
            "repoURL: https://github.com/org/prod-policies.git\n",
        ),
    ]);
    assert_eq!(other.promote, None, "{other:?}");
    assert!(
        other
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("from https://github.com/org/prod-policies.git")),
        "{other:?}"
    );
    let pinned = plan_with(&[
        ("apps/values.yaml", &values),
        ("apps/values-prod.yaml", "revision: v1.4.0\n"),
    ]);
    assert!(pinned.promote.is_some(), "{pinned:?}");
    assert!(
        pinned
            .notes
            .iter()
            .any(|n| n.contains("targetRevision v1.4.0 is a tag or commit")),
        "{pinned:?}"
    );
    // The root lists per-cluster values files that all keep this
    // repository: patched.
    let root = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: root\nspec:\n  source:\n    repoURL: https://github.com/org/fleet.git\n    path: apps\n    helm:\n      valueFiles: [values-prod.yaml]\n  syncPolicy:\n    automated: {}\n";
    let listed = plan_with(&[
        ("apps/values.yaml", &values),
        ("apps/values-prod.yaml", "revision: main\n"),
        ("argocd/root.yaml", root),
    ]);
    assert!(listed.promote.is_some(), "{listed:?}");
    // An ApplicationSet's templated values file: each it may name.
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: root\nspec:\n  generators:\n  - list: {elements: [{cluster: prod}, {cluster: staging}]}\n  template:\n    spec:\n      source:\n        repoURL: https://github.com/org/fleet.git\n        path: apps\n        helm:\n          valueFiles: ['values-{{cluster}}.yaml']\n      syncPolicy: {automated: {}}\n";
    for (prod, patched) in [
        ("revision: main\n", true),
        ("repoURL: https://github.com/org/prod-policies.git\n", false),
    ] {
        let change = plan_with(&[
            ("apps/values.yaml", &values),
            ("apps/values-prod.yaml", prod),
            ("apps/values-staging.yaml", "revision: main\n"),
            ("argocd/root.yaml", set),
        ]);
        assert_eq!(change.promote.is_some(), patched, "{prod}: {change:?}");
    }
    // A subchart of an umbrella: not rendered, its repoURL is computed.
    let nested = Repository::new(repo(&[
        ("policies/p.yaml", PLAIN),
        (
            "umbrella/Chart.yaml",
            "apiVersion: v2\nname: umbrella\nversion: 0.1.0\n",
        ),
        (
            "umbrella/values.yaml",
            "apps:\n  repoURL: https://github.com/org/prod-policies.git\n",
        ),
        (
            "umbrella/charts/apps/Chart.yaml",
            "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
        ),
        ("umbrella/charts/apps/values.yaml", &values),
        ("umbrella/charts/apps/templates/policies.yaml", template),
    ]))
    .with_origin(Some(fleet.into()))
    .plan(&cluster_policy("require-team"), None, &[], "require-team");
    assert_eq!(nested.promote, None, "{nested:?}");
}

/// verify64 V64-13, V64-14: a Bucket source and an Argo CD OCI artifact
/// get the "pushed, not committed" note (no "another repository"
/// reason); a policy of a chart installed from a Helm repository is said
/// to come from it.
#[test]
fn buckets_oci_artifacts_and_published_charts_are_named() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies\n  sourceRef: {kind: Bucket, name: policies}\n";
    let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    repoURL: oci://ghcr.io/org/policies\n    path: policies\n    targetRevision: main\n  syncPolicy:\n    automated: {}\n";
    for (delivery, said) in [
        (flux, "reads a Bucket"),
        (argo, "reads the OCI artifact oci://ghcr.io/org/policies"),
    ] {
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            ("clusters/prod/policies.yaml", delivery),
        ]);
        let change = Repository::new(files)
            .with_origin(Some("https://github.com/org/fleet".into()))
            .plan(&cluster_policy("require-team"), None, &[], "require-team");
        assert!(change.promote.is_some(), "{change:?}");
        assert!(
            change.notes.iter().any(|n| n.contains(said)),
            "{said}: {change:?}"
        );
    }
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: kyverno-policies\nspec:\n  chart:\n    spec:\n      chart: kyverno-policies\n      sourceRef: {kind: HelmRepository, name: kyverno}\n  values:\n    validationFailureAction: Audit\n";
    let files = repo(&[("infra/kyverno/release.yaml", release)]);
    let change = plan(&files, &cluster_policy("disallow-host-path"), &[], "p");
    assert!(
        change.problem.as_deref().is_some_and(|p| p.contains(
            "it may come from a chart installed from a Helm repository, whose templates are not in the checkout (infra/kyverno/release.yaml (chart kyverno-policies))"
        )),
        "{change:?}"
    );
}

/// verify64 V64-12: an ApplicationSet's git directories generator applies
/// the folders its globs match, each as a plain directory: a file in a
/// matched folder is patched, one above them gets the reason.
#[test]
fn a_git_directories_generator_applies_its_folders() {
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: policies\nspec:\n  generators:\n  - git:\n      repoURL: https://github.com/org/fleet.git\n      revision: main\n      directories:\n      - path: policies/*\n      - path: policies/legacy\n        exclude: true\n  template:\n    metadata: {name: '{{path.basename}}'}\n    spec:\n      source: {repoURL: https://github.com/org/fleet.git, targetRevision: main, path: '{{path}}'}\n      syncPolicy: {automated: {prune: true}}\n";
    let files = repo(&[
        (
            "policies/baseline/a.yaml",
            &PLAIN.replace("require-team", "a"),
        ),
        ("policies/b.yaml", &PLAIN.replace("require-team", "b")),
        (
            "policies/legacy/c.yaml",
            &PLAIN.replace("require-team", "c"),
        ),
        ("argocd/policies.yaml", set),
    ]);
    let a = plan(&files, &cluster_policy("a"), &[], "a");
    assert!(a.promote.is_some(), "{a:?}");
    let b = plan(&files, &cluster_policy("b"), &[], "b");
    assert_eq!(b.promote, None, "{b:?}");
    assert!(
        b.problem.as_deref().is_some_and(|p| p
            .contains("is applied by none of the Flux Kustomizations and Argo CD Applications")),
        "{b:?}"
    );
    let c = plan(&files, &cluster_policy("c"), &[], "c");
    assert_eq!(c.promote, None, "{c:?}");
}

/// verify65 V65-1..3: an app of apps whose root an overlay reshapes per
/// cluster is not rendered (its repository is then computed: the
/// reason); one rendered once per cluster gets the note that the patch
/// switches each; a Flux Kustomization whose sourceRef an overlay
/// re-points reads a source not known here (the reason).
#[test]
fn reshaped_roots_fanned_out_apps_and_re_pointed_sources() {
    let template = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  destination:\n    server: {{ .Values.server }}\n  source:\n    path: policies\n    repoURL: {{ .Values.repoURL }}\n  syncPolicy:\n    automated: {prune: true}\n";
    let fleet = "https://github.com/org/fleet.git";
    let values = format!("repoURL: {fleet}\nserver: https://kubernetes.default.svc\n");
    let root = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: root\nspec:\n  source:\n    repoURL: https://github.com/org/fleet.git\n    path: apps\n  syncPolicy:\n    automated: {}\n";
    let overlay = "resources:\n- ../base\npatches:\n- target: {kind: Application, name: root}\n  patch: |-\n    - op: add\n      path: /spec/source/helm\n      value: {valueFiles: [values-prod.yaml]}\n";
    let plan_with = |files: &[(&str, &str)]| {
        let mut all = vec![
            ("policies/p.yaml", PLAIN),
            (
                "apps/Chart.yaml",
                "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
            ),
            ("apps/templates/policies.yaml", template),
            ("apps/values.yaml", values.as_str()),
        ];
        all.extend_from_slice(files);
        Repository::new(repo(&all))
            .with_origin(Some(fleet.into()))
            .plan(&cluster_policy("require-team"), None, &[], "require-team")
    };
    let reshaped = plan_with(&[
        (
            "apps/values-prod.yaml",
            "repoURL: https://github.com/org/prod-policies.git\n",
        ),
        ("argocd/base/root.yaml", root),
        (
            "argocd/base/kustomization.yaml",
            "resources:\n- root.yaml\n",
        ),
        ("argocd/prod/kustomization.yaml", overlay),
    ]);
    assert_eq!(reshaped.promote, None, "{reshaped:?}");
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: root\nspec:\n  generators:\n  - list: {elements: [{cluster: prod}, {cluster: staging}]}\n  template:\n    spec:\n      source:\n        repoURL: https://github.com/org/fleet.git\n        path: apps\n        helm:\n          valueFiles: ['values-{{cluster}}.yaml']\n      syncPolicy: {automated: {}}\n";
    let fanned = plan_with(&[
        ("apps/values-prod.yaml", "server: https://prod:6443\n"),
        ("apps/values-staging.yaml", "server: https://staging:6443\n"),
        ("argocd/root.yaml", set),
    ]);
    assert!(fanned.promote.is_some(), "{fanned:?}");
    assert!(fanned.shared_source, "{fanned:?}");
    assert!(
        fanned.notes.iter().any(|n| n.starts_with(
            "apps/templates/policies.yaml renders a delivery of policies/p.yaml once per values set (2 of them"
        )),
        "{fanned:?}"
    );
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: policies\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let repoint = "resources:\n- ../base\npatches:\n- target: {kind: Kustomization, name: policies}\n  patch: |-\n    - op: replace\n      path: /spec/sourceRef/name\n      value: prod-policies\n";
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("clusters/base/policies.yaml", flux),
        (
            "clusters/base/kustomization.yaml",
            "resources:\n- policies.yaml\n",
        ),
        ("clusters/prod/kustomization.yaml", repoint),
    ]);
    let repointed = Repository::new(files).with_origin(Some(fleet.into())).plan(
        &cluster_policy("require-team"),
        None,
        &[],
        "require-team",
    );
    assert_eq!(repointed.promote, None, "{repointed:?}");
    assert!(
        repointed.problem.as_deref().is_some_and(|p| p.starts_with(
            "clusters/prod/kustomization.yaml changes which repository Kustomization policies, which delivers it, reads"
        )),
        "{repointed:?}"
    );
}

/// verify66 V66-1, V66-2, V66-4: an Argo CD Application of an overlay
/// building the file gets its pinned note; two Applications in one file
/// are two deliveries (the note names both); an ApplicationSet whose
/// templatePatch sets the repository gives the reason, the revision a
/// note.
#[test]
fn argo_overlays_documents_and_template_patches() {
    let app = |name: &str, path: &str, revision: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\nspec:\n  source:\n    repoURL: https://github.com/org/fleet.git\n    path: {path}\n    targetRevision: {revision}\n  syncPolicy:\n    automated: {{}}\n")
    };
    let base = [
        ("policies/base/p.yaml", PLAIN),
        ("policies/base/kustomization.yaml", "resources:\n- p.yaml\n"),
        (
            "policies/overlays/prod/kustomization.yaml",
            "resources:\n- ../../base\n",
        ),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        Repository::new(repo(&all))
            .with_origin(Some("https://github.com/org/fleet.git".into()))
            .plan(&cluster_policy("require-team"), None, &[], "require-team")
    };
    let pinned = with(&[(
        "argocd/prod.yaml",
        &app("prod", "policies/overlays/prod", "v1.2.0"),
    )]);
    assert!(pinned.promote.is_some(), "{pinned:?}");
    assert!(
        pinned
            .notes
            .iter()
            .any(|n| n.contains("targetRevision v1.2.0 is a tag or commit")),
        "{pinned:?}"
    );
    let two = format!(
        "{}---\n{}",
        app("prod", "policies/overlays/prod", "HEAD"),
        app("staging", "policies/base", "HEAD")
    );
    let both = with(&[("argocd/apps.yaml", &two)]);
    assert!(both.shared_source, "{both:?}");
    assert!(
        both.notes
            .iter()
            .any(|n| n.contains("argocd/apps.yaml (Application prod)")
                && n.contains("argocd/apps.yaml (Application staging)")),
        "{both:?}"
    );
    let set = |patch: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: all\nspec:\n  generators:\n  - list: {{elements: [{{env: prod}}, {{env: staging}}]}}\n  templatePatch: |\n    spec:\n      source:\n        {patch}\n  template:\n    spec:\n      source: {{repoURL: https://github.com/org/fleet.git, path: policies/base, targetRevision: HEAD}}\n      syncPolicy: {{automated: {{}}}}\n")
    };
    let repository = with(&[(
        "argocd/set.yaml",
        &set("repoURL: '{{ if eq .env \"prod\" }}https://github.com/org/prod.git{{ end }}'"),
    )]);
    assert_eq!(repository.promote, None, "{repository:?}");
    let revision = with(&[("argocd/set.yaml", &set("targetRevision: '{{ .env }}'"))]);
    assert!(revision.promote.is_some(), "{revision:?}");
    assert!(
        revision
            .notes
            .iter()
            .any(|n| n.contains("templatePatch sets targetRevision")),
        "{revision:?}"
    );
}

/// verify66 V66-3: a chart from Git with a literal action, released in
/// two clusters: the patch of its template names both releases.
#[test]
fn a_chart_two_releases_render_is_built_by_each() {
    let release = |name: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n      sourceRef: {{kind: GitRepository, name: flux-system}}\n      reconcileStrategy: Revision\n")
    };
    let files = repo(&[
        (
            "charts/policies/Chart.yaml",
            "apiVersion: v2\nname: policies\nversion: 0.1.0\n",
        ),
        ("charts/policies/templates/p.yaml", PLAIN),
        ("clusters/prod/release.yaml", &release("prod")),
        ("clusters/staging/release.yaml", &release("staging")),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(change.shared_source, "{change:?}");
    assert!(
        change.notes.iter().any(|n| n.contains(
            "is built by each of clusters/prod/release.yaml, clusters/staging/release.yaml"
        )),
        "{change:?}"
    );
}

/// verify66 V66-5: a chart's template nothing renders from Git here (no
/// release, or one from a Helm repository) gets the note that the patch
/// reaches a cluster only once the chart is published; one a release
/// renders from Git does not.
#[test]
fn a_chart_nothing_renders_from_git_is_noted() {
    let release = |source: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n      sourceRef: {{kind: {source}, name: policies}}\n      reconcileStrategy: Revision\n")
    };
    for (release, noted) in [
        (None, true),
        (Some(release("HelmRepository")), true),
        (Some(release("GitRepository")), false),
    ] {
        let mut files = vec![
            (
                "charts/policies/Chart.yaml",
                "apiVersion: v2\nname: policies\nversion: 0.1.0\n",
            ),
            ("charts/policies/templates/p.yaml", PLAIN),
        ];
        if let Some(release) = &release {
            files.push(("clusters/prod/release.yaml", release));
        }
        let change = plan(
            &repo(&files),
            &cluster_policy("require-team"),
            &[],
            "require-team",
        );
        assert!(change.promote.is_some(), "{change:?}");
        assert_eq!(
            change.notes.iter().any(|n| n
                .starts_with("nothing in the checkout renders the chart charts/policies from Git")),
            noted,
            "{release:?}: {change:?}"
        );
    }
}

/// verify67 V67-1..4: one Application two overlays build is two
/// deliveries; an ApplicationSet whose templatePatch reshapes the source
/// gives the reason; a chart a release installs from a Helm repository is
/// noted even where another renders it from Git; a git directories
/// generator of other folders does not render the chart.
#[test]
fn overlaid_deliveries_template_patches_and_published_charts() {
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    repoURL: https://github.com/org/fleet.git\n    path: policies\n    targetRevision: HEAD\n  syncPolicy:\n    automated: {}\n";
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("argocd/base/policies.yaml", app),
        (
            "argocd/base/kustomization.yaml",
            "resources:\n- policies.yaml\n",
        ),
        ("argocd/prod/kustomization.yaml", "resources:\n- ../base\n"),
        (
            "argocd/staging/kustomization.yaml",
            "resources:\n- ../base\n",
        ),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(change.shared_source, "{change:?}");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("through argocd/prod/kustomization.yaml")
                && n.contains("through argocd/staging/kustomization.yaml")),
        "{change:?}"
    );
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: all\nspec:\n  generators:\n  - list: {elements: [{env: prod}, {env: staging}]}\n  templatePatch: |\n    {{- if eq .env \"prod\" }}\n    spec:\n      source:\n        kustomize:\n          patches:\n          - target: {kind: ClusterPolicy}\n            patch: '[{\"op\": \"replace\", \"path\": \"/spec/validationFailureAction\", \"value\": \"Audit\"}]'\n    {{- end }}\n  template:\n    spec:\n      source: {repoURL: https://github.com/org/fleet.git, path: policies, targetRevision: HEAD}\n      syncPolicy: {automated: {}}\n";
    let files = repo(&[("policies/p.yaml", PLAIN), ("argocd/set.yaml", set)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(change.promote, None, "{change:?}");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("whose templatePatch reshapes each Application's source")),
        "{change:?}"
    );
    let release = |name: &str, chart: &str, source: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\nspec:\n  chart:\n    spec:\n      chart: {chart}\n      sourceRef: {{kind: {source}, name: policies}}\n      reconcileStrategy: Revision\n")
    };
    let directories = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: apps\nspec:\n  generators:\n  - git:\n      repoURL: https://github.com/org/fleet.git\n      directories:\n      - path: apps/*\n  template:\n    spec:\n      source: {repoURL: https://github.com/org/fleet.git, path: '{{path}}'}\n";
    let chart = [
        (
            "charts/policies/Chart.yaml",
            "apiVersion: v2\nname: policies\nversion: 0.1.0\n",
        ),
        ("charts/policies/templates/p.yaml", PLAIN),
        (
            "apps/web/deploy.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
        ),
    ];
    let staging = release("staging", "./charts/policies", "GitRepository");
    let prod = release("prod", "policies", "HelmRepository");
    let mut both = chart.to_vec();
    both.extend([
        ("clusters/staging/release.yaml", staging.as_str()),
        ("clusters/prod/release.yaml", prod.as_str()),
    ]);
    let change = plan(
        &repo(&both),
        &cluster_policy("require-team"),
        &[],
        "require-team",
    );
    assert!(
        change.notes.iter().any(|n| n.starts_with(
            "the chart charts/policies is also installed from a Helm repository (by clusters/prod/release.yaml)"
        )),
        "{change:?}"
    );
    let mut published_only = chart.to_vec();
    published_only.extend([
        ("clusters/prod/release.yaml", prod.as_str()),
        ("argocd/apps.yaml", directories),
    ]);
    let change = plan(
        &repo(&published_only),
        &cluster_policy("require-team"),
        &[],
        "require-team",
    );
    assert!(
        change
            .notes
            .iter()
            .any(|n| n
                .starts_with("nothing in the checkout renders the chart charts/policies from Git")),
        "{change:?}"
    );
}

/// verify68 V68-1, V68-3: a policy file a chart bundles outside its
/// templates (read through `.Files.Glob`), released only from a Helm
/// repository, gets the publish note; an Argo CD targetRevision
/// refs/heads/main is main, no branch of its own.
#[test]
fn chart_files_and_full_branch_names() {
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: policies\nspec:\n  chart:\n    spec:\n      chart: policies\n      sourceRef: {kind: HelmRepository, name: internal}\n";
    let files = repo(&[
        ("charts/policies/Chart.yaml", "apiVersion: v2\nname: policies\nversion: 0.1.0\n"),
        ("charts/policies/files/p.yaml", PLAIN),
        (
            "charts/policies/templates/all.yaml",
            "{{ range $path, $_ := .Files.Glob \"files/*.yaml\" }}\n---\n{{ $.Files.Get $path }}\n{{ end }}\n",
        ),
        ("clusters/prod/release.yaml", release),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n
                .starts_with("nothing in the checkout renders the chart charts/policies from Git")),
        "{change:?}"
    );
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    path: policies\n    targetRevision: refs/heads/main\n  syncPolicy:\n    automated: {}\n";
    let files = repo(&[("policies/p.yaml", PLAIN), ("argocd/policies.yaml", app)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        !change.notes.iter().any(|n| n.contains("branch of its own")),
        "{change:?}"
    );
}

/// verify68 V68-2: an ApplicationSet's list generator gives each
/// Application its path: where one of them builds the file, no "each
/// Application" note; where several do, the note.
#[test]
fn a_list_generator_s_applications_are_counted_by_path() {
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: all\nspec:\n  generators:\n  - list: {elements: [{cluster: prod}, {cluster: staging}]}\n  template:\n    spec:\n      source: {path: 'deploy/{{cluster}}'}\n      syncPolicy: {automated: {}}\n";
    let one = repo(&[
        ("deploy/prod/p.yaml", PLAIN),
        (
            "deploy/staging/other.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        ),
        ("argocd/set.yaml", set),
    ]);
    let change = plan(&one, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        !change
            .notes
            .iter()
            .any(|n| n.contains("each Application it generates")),
        "{change:?}"
    );
    let both = repo(&[
        ("policies/p.yaml", PLAIN),
        ("policies/kustomization.yaml", "resources:\n- p.yaml\n"),
        (
            "deploy/prod/kustomization.yaml",
            "resources:\n- ../../policies\n",
        ),
        (
            "deploy/staging/kustomization.yaml",
            "resources:\n- ../../policies\n",
        ),
        ("argocd/set.yaml", set),
    ]);
    let change = plan(&both, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.shared_source, "{change:?}");
}

/// verify69 V69-1: a kustomize replacement copying one policy's action
/// into another makes a patch of the first switch the second too: the
/// source policy is refused as a target is, inline or from a file.
#[test]
fn a_policy_whose_action_a_replacement_copies_is_not_patched() {
    let other = PLAIN.replace("require-team", "require-owner");
    let replacement = "- source: {kind: ClusterPolicy, name: require-team, fieldPath: spec.validationFailureAction}\n  targets:\n  - select: {kind: ClusterPolicy, name: require-owner}\n    fieldPaths: [spec.validationFailureAction]\n";
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: policies, namespace: flux-system}\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let inline = format!("resources:\n- a.yaml\n- b.yaml\nreplacements:\n{replacement}");
    let from_file = "resources:\n- a.yaml\n- b.yaml\nreplacements:\n- path: copy.yaml\n";
    for (kustomization, extra) in [(inline.as_str(), None), (from_file, Some(replacement))] {
        let mut files = vec![
            ("policies/a.yaml", PLAIN),
            ("policies/b.yaml", other.as_str()),
            ("policies/kustomization.yaml", kustomization),
            ("clusters/prod/policies.yaml", flux),
        ];
        files.extend(extra.map(|text| ("policies/copy.yaml", text)));
        let change = plan(
            &repo(&files),
            &cluster_policy("require-team"),
            &[],
            "require-team",
        );
        assert!(change.promote.is_none(), "{change:?}");
        assert!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("copies its action elsewhere")),
            "{change:?}"
        );
    }
    // A replacement copying its name (no action) leaves it patchable.
    let by_name = "resources:\n- a.yaml\n- b.yaml\nreplacements:\n- source: {kind: ClusterPolicy, name: require-team}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [data.policy]\n";
    let files = repo(&[
        ("policies/a.yaml", PLAIN),
        ("policies/b.yaml", other.as_str()),
        ("policies/kustomization.yaml", by_name),
        ("clusters/prod/policies.yaml", flux),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify69 V69-2: Argo CD follows a symbolic link inside the repository,
/// so a file another environment's folder links to is applied there too:
/// a note, and the source counts as shared. Flux's artifacts leave links
/// out: no note where only Flux delivers.
#[test]
fn a_file_another_folder_links_to_is_shared_under_argo_cd() {
    let app = |name: &str, path: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}}}\nspec:\n  source: {{path: {path}}}\n  syncPolicy: {{automated: {{}}}}\n")
    };
    let (prod, staging) = (app("prod", "envs/prod"), app("staging", "envs/staging"));
    let files = repo(&[
        ("envs/prod/p.yaml", PLAIN),
        ("argocd/prod.yaml", prod.as_str()),
        ("argocd/staging.yaml", staging.as_str()),
    ]);
    // A file link in staging's folder: Argo CD reads it. A staging path
    // that is itself a link to prod's folder: Argo CD's directory walk
    // does not enter it (argo-cd#17810, verify71 V71-8).
    for (link, target, applied) in [
        ("envs/staging/p.yaml", "envs/prod/p.yaml", true),
        ("envs/staging", "envs/prod", false),
    ] {
        let links = BTreeMap::from([(link.to_string(), target.to_string())]);
        let change = Repository::new(files.clone()).with_links(links).plan(
            &cluster_policy("require-team"),
            None,
            &[],
            "require-team",
        );
        assert!(change.promote.is_some(), "{change:?}");
        assert_eq!(change.shared_source, applied, "{change:?}");
        assert_eq!(
            change.notes.iter().any(|n| n.starts_with(
                "envs/prod/p.yaml is also applied as envs/staging/p.yaml through symbolic links"
            )),
            applied,
            "{change:?}"
        );
    }
    // Only Flux: the link is not applied.
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod, namespace: flux-system}\nspec:\n  path: ./envs/prod\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let files = repo(&[("envs/prod/p.yaml", PLAIN), ("clusters/prod/ks.yaml", flux)]);
    let links = BTreeMap::from([("envs/staging".to_string(), "envs/prod".to_string())]);
    let change = Repository::new(files).with_links(links).plan(
        &cluster_policy("require-team"),
        None,
        &[],
        "require-team",
    );
    assert!(change.promote.is_some(), "{change:?}");
    assert!(!change.shared_source, "{change:?}");
}

/// verify69 V69-3: Helm never upgrades a chart's crds/, and
/// helm-controller only with `upgrade.crds: CreateReplace`: a policy
/// there under a Flux HelmRelease is refused; with CreateReplace, or
/// rendered by Argo CD (which applies the CRDs), it is patched.
#[test]
fn a_policy_in_a_chart_s_crds_folder_is_not_patched_under_a_helm_release() {
    let release = |upgrade: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: policies, namespace: flux-system}}\nspec:\n  chart:\n    spec:\n      chart: ./charts/policies\n      sourceRef: {{kind: GitRepository, name: flux-system}}\n{upgrade}")
    };
    let chart = "apiVersion: v2\nname: policies\nversion: 0.1.0\n";
    let (skip, replace) = (release(""), release("  upgrade: {crds: CreateReplace}\n"));
    for (text, refused) in [(skip.as_str(), true), (replace.as_str(), false)] {
        let files = repo(&[
            ("charts/policies/Chart.yaml", chart),
            ("charts/policies/crds/p.yaml", PLAIN),
            ("clusters/prod/release.yaml", text),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert_eq!(change.promote.is_none(), refused, "{change:?}");
        assert_eq!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("crds/ folder, which Helm installs but never upgrades")),
            refused,
            "{change:?}"
        );
    }
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source: {path: charts/policies}\n  syncPolicy: {automated: {}}\n";
    let files = repo(&[
        ("charts/policies/Chart.yaml", chart),
        ("charts/policies/crds/p.yaml", PLAIN),
        ("argocd/policies.yaml", app),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify69 V69-4, V69-6: a multi-source Application's `ref` source
/// applies nothing, so its pinned revision earns no note; a tag written
/// refs/tags/… does; a chart kustomize inflates from the checkout
/// (`helmCharts` without `repo`) is rendered from Git.
#[test]
fn revisions_that_matter_and_charts_kustomize_inflates() {
    let app = |sources: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: policies}}\nspec:\n  sources:\n{sources}  syncPolicy: {{automated: {{}}}}\n")
    };
    let pinned_note = |change: &GitChange| {
        change
            .notes
            .iter()
            .any(|n| n.contains("is a tag or commit"))
    };
    let ref_only = app(
        "  - {targetRevision: v1.0.0, ref: values}\n  - {targetRevision: main, path: policies}\n",
    );
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("argocd/app.yaml", ref_only.as_str()),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change.promote.is_some() && !pinned_note(&change),
        "{change:?}"
    );
    for revision in ["v1.0.0", "refs/tags/v1"] {
        let pinned = app(&format!(
            "  - {{targetRevision: {revision}, path: policies}}\n"
        ));
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            ("argocd/app.yaml", pinned.as_str()),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(pinned_note(&change), "{revision}: {change:?}");
        assert!(
            !change.notes.iter().any(|n| n.contains("branch of its own")),
            "{change:?}"
        );
    }
    let inflating = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source: {path: deploy}\n  syncPolicy: {automated: {}}\n";
    let files = repo(&[
        ("charts/policies/Chart.yaml", "apiVersion: v2\nname: policies\nversion: 0.1.0\n"),
        ("charts/policies/templates/p.yaml", PLAIN),
        (
            "deploy/kustomization.yaml",
            "helmCharts:\n- name: policies\n  releaseName: policies\nhelmGlobals:\n  chartHome: ../charts\n",
        ),
        ("argocd/app.yaml", inflating),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        !change
            .notes
            .iter()
            .any(|n| n.starts_with("nothing in the checkout renders the chart")),
        "{change:?}"
    );
}

/// verify69 V69-5: Argo CD directory include/exclude globs are matched as
/// Argo CD matches them (one glob over the path relative to the source's
/// path, `*` crossing `/`): a file they keep is patched, one they leave
/// out is refused, naming the glob.
#[test]
fn argo_cd_directory_globs_pick_the_files_they_match() {
    let other = PLAIN.replace("require-team", "require-owner");
    let app = |directory: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: policies}}\nspec:\n  source:\n    path: policies\n    directory: {directory}\n  syncPolicy: {{automated: {{}}}}\n")
    };
    for (directory, team_kept) in [
        ("{exclude: '*.md'}", true),
        ("{exclude: b.yaml}", true),
        ("{include: '{b.yaml}'}", false),
        ("{recurse: true, exclude: 'sub/*'}", true),
        ("{include: '*.yml'}", false),
    ] {
        let text = app(directory);
        let files = repo(&[
            ("policies/a.yaml", PLAIN),
            ("policies/b.yaml", other.as_str()),
            ("argocd/app.yaml", text.as_str()),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert_eq!(
            change.promote.is_some(),
            team_kept,
            "{directory}: {change:?}"
        );
        if !team_kept {
            assert!(
                change
                    .problem
                    .as_deref()
                    .is_some_and(|p| p.contains("with directory globs that leave a.yaml out")),
                "{directory}: {change:?}"
            );
        }
    }
}

/// verify70 V70-1, V70-2, V70-8: a folder link above an Argo CD source's
/// path, or one a kustomization it builds lists, reaches the file; a
/// folder link inside a directory source's path is not walked.
#[test]
fn links_above_a_source_path_or_through_kustomize_reach_the_file() {
    let app = |name: &str, path: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}}}\nspec:\n  source: {{path: {path}}}\n  syncPolicy: {{automated: {{}}}}\n")
    };
    let with_links = plan_linked;
    let linked = |change: &GitChange| change.notes.iter().any(|n| n.contains("symbolic link"));
    let (prod, above) = (
        app("prod", "envs/prod/policies"),
        app("staging", "envs/staging/policies"),
    );
    let change = with_links(
        &[
            ("envs/prod/policies/p.yaml", PLAIN),
            ("argocd/prod.yaml", prod.as_str()),
            ("argocd/staging.yaml", above.as_str()),
        ],
        &[("envs/staging", "envs/prod")],
    );
    assert!(linked(&change) && change.shared_source, "{change:?}");
    let (prod, staging) = (app("prod", "envs/prod"), app("staging", "envs/staging"));
    let change = with_links(
        &[
            ("envs/prod/p.yaml", PLAIN),
            (
                "envs/staging/kustomization.yaml",
                "resources:\n- ../../shared\n",
            ),
            ("argocd/prod.yaml", prod.as_str()),
            ("argocd/staging.yaml", staging.as_str()),
        ],
        &[("shared", "envs/prod")],
    );
    assert!(linked(&change) && change.shared_source, "{change:?}");
    // A folder link inside a directory source: Argo CD does not walk it.
    let root = app("all", "envs/prod");
    let change = with_links(
        &[
            ("envs/prod/p.yaml", PLAIN),
            ("argocd/all.yaml", root.as_str()),
        ],
        &[("envs/prod/loop", "envs")],
    );
    assert!(!linked(&change), "{change:?}");
}

/// verify70 V70-3, V70-4: the crds/ refusal also holds for a HelmRelease
/// of a Flux HelmChart (`chartRef`), a parent chart's release of a
/// subchart, an Argo CD source with `helm.skipCrds` and kustomize
/// `helmCharts` without `includeCRDs`; `includeCRDs: true` is patched.
#[test]
fn crds_left_alone_by_chart_refs_parents_skip_crds_and_helm_charts() {
    let chart = |name: &str| format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n");
    let (policies, umbrella) = (chart("policies"), chart("umbrella"));
    let refused = |files: &[(&str, &str)]| {
        let change = plan(
            &repo(files),
            &cluster_policy("require-team"),
            &[],
            "require-team",
        );
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("crds/ folder, which Helm installs but never upgrades"))
    };
    let chart_ref = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: policies, namespace: flux-system}\nspec:\n  chart: ./charts/policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: policies, namespace: flux-system}\nspec:\n  chartRef: {kind: HelmChart, name: policies}\n";
    assert!(refused(&[
        ("charts/policies/Chart.yaml", &policies),
        ("charts/policies/crds/p.yaml", PLAIN),
        ("clusters/prod/release.yaml", chart_ref),
    ]));
    let parent = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: all}\nspec:\n  chart:\n    spec: {chart: ./charts/umbrella, sourceRef: {kind: GitRepository, name: flux-system}}\n";
    assert!(refused(&[
        ("charts/umbrella/Chart.yaml", &umbrella),
        ("charts/umbrella/charts/policies/Chart.yaml", &policies),
        ("charts/umbrella/charts/policies/crds/p.yaml", PLAIN),
        ("clusters/prod/release.yaml", parent),
    ]));
    let skip = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source: {path: charts/policies, helm: {skipCrds: true}}\n  syncPolicy: {automated: {}}\n";
    assert!(refused(&[
        ("charts/policies/Chart.yaml", &policies),
        ("charts/policies/crds/p.yaml", PLAIN),
        ("argocd/policies.yaml", skip),
    ]));
    let inflate = |include: &str| {
        format!("helmCharts:\n- name: policies\n  releaseName: policies\n{include}helmGlobals:\n  chartHome: ../charts\n")
    };
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source: {path: deploy}\n  syncPolicy: {automated: {}}\n";
    for (include, expected) in [("", true), ("  includeCRDs: true\n", false)] {
        let kustomization = inflate(include);
        assert_eq!(
            refused(&[
                ("charts/policies/Chart.yaml", &policies),
                ("charts/policies/crds/p.yaml", PLAIN),
                ("deploy/kustomization.yaml", &kustomization),
                ("argocd/policies.yaml", app),
            ]),
            expected,
            "{include}"
        );
    }
}

/// verify70 V70-5: Argo CD's gobwas globs, as globset reads them: `**`
/// needs a `/` where `*/` stands, and `[^b]` is no negation.
#[test]
fn gobwas_globs_are_read_as_argo_cd_reads_them() {
    let pick = |include: &str, relative: &str| {
        DirectoryGlobs {
            include: Some(include.to_string()),
            exclude: None,
        }
        .pick(relative)
    };
    assert!(!pick("**/*.yaml", "a.yaml"));
    assert!(pick("**/*.yaml", "sub/a.yaml"));
    assert!(pick("*.yaml", "sub/a.yaml"));
    assert!(pick("[^b]*.yaml", "b.yaml"));
    assert!(!pick("[^b]*.yaml", "a.yaml"));
    assert!(pick("[!b]*.yaml", "a.yaml"));
    assert!(!pick("[!b]*.yaml", "b.yaml"));
    assert!(pick("{a,b}.yaml", "b.yaml"));
    assert_eq!(gobwas_pattern("x/**/[^ab]?"), "x/*/[ab^]?");
}

/// verify70 V70-6: a replacement copying a whole `spec` (or a rule)
/// copies the action too: both its source and its target are refused.
#[test]
fn a_replacement_of_a_whole_spec_carries_the_action() {
    let other = PLAIN.replace("require-team", "require-owner");
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: policies, namespace: flux-system}\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    for field in ["spec", "spec.rules.0", "spec.rules.0.validate"] {
        let kustomization = format!("resources:\n- a.yaml\n- b.yaml\nreplacements:\n- source: {{kind: ClusterPolicy, name: require-team, fieldPath: {field}}}\n  targets:\n  - select: {{kind: ClusterPolicy, name: require-owner}}\n    fieldPaths: [{field}]\n");
        let files = repo(&[
            ("policies/a.yaml", PLAIN),
            ("policies/b.yaml", other.as_str()),
            ("policies/kustomization.yaml", &kustomization),
            ("clusters/prod/policies.yaml", flux),
        ]);
        for name in ["require-team", "require-owner"] {
            let change = plan(&files, &cluster_policy(name), &[], name);
            assert!(change.promote.is_none(), "{field} {name}: {change:?}");
        }
    }
    assert!(!holds_action("spec.rules.0.validate.pattern"));
    assert!(!holds_action("metadata.name"));
}

/// verify70 V70-7: an ApplicationSet whose generated paths build the
/// file gets the pinned-revision note a plain Application gets.
#[test]
fn a_generated_application_s_pinned_revision_is_noted() {
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: all\nspec:\n  generators:\n  - git:\n      repoURL: https://example.com/r.git\n      revision: v1.2.0\n      directories:\n      - path: policies\n  template:\n    metadata: {name: '{{path.basename}}'}\n    spec:\n      source: {path: '{{path}}', targetRevision: v1.2.0}\n      syncPolicy: {automated: {}}\n";
    let files = repo(&[("policies/p.yaml", PLAIN), ("argocd/set.yaml", set)]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("targetRevision v1.2.0 is a tag or commit")),
        "{change:?}"
    );
}

/// verify71 V71-1: an overlay listing a patch or replacement file polscan
/// did not read (not YAML by its name) may write the action: refused.
#[test]
fn an_overlay_with_an_unread_patch_file_is_refused() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod, namespace: flux-system}\nspec:\n  path: ./overlays/prod\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    for overlay in [
        "resources:\n- ../../base\npatches:\n- path: audit.txt\n",
        "resources:\n- ../../base\nreplacements:\n- path: repl.txt\n",
    ] {
        let files = repo(&[
            ("base/p.yaml", PLAIN),
            ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
            ("overlays/prod/kustomization.yaml", overlay),
            ("clusters/prod/ks.yaml", flux),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.promote.is_none(), "{overlay}: {change:?}");
    }
}

/// verify71 V71-2, V71-8: chains of links are followed (a folder link
/// over file links); a directory source whose path is itself a link, or
/// a file link below a source without `recurse`, is not.
#[test]
fn chains_of_links_and_links_argo_cd_does_not_walk() {
    let app = |name: &str, path: &str, extra: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}}}\nspec:\n  source: {{path: {path}{extra}}}\n  syncPolicy: {{automated: {{}}}}\n")
    };
    let noted = |files: &[(&str, &str)], links: &[(&str, &str)]| {
        plan_linked(files, links)
            .notes
            .iter()
            .any(|n| n.contains("through symbolic links"))
    };
    let (prod, staging) = (
        app("prod", "envs/prod/policies", ""),
        app("staging", "envs/staging/policies", ""),
    );
    let common = app("common", "common", "");
    assert!(noted(
        &[
            ("common/p.yaml", PLAIN),
            ("argocd/common.yaml", &common),
            ("argocd/prod.yaml", &prod),
            ("argocd/staging.yaml", &staging)
        ],
        &[
            ("envs/prod/policies/p.yaml", "common/p.yaml"),
            ("envs/staging", "envs/prod")
        ],
    ));
    let (prod, staging) = (
        app("prod", "envs/prod", ""),
        app("staging", "envs/staging", ""),
    );
    assert!(!noted(
        &[
            ("envs/prod/p.yaml", PLAIN),
            ("argocd/prod.yaml", &prod),
            ("argocd/staging.yaml", &staging)
        ],
        &[("envs/staging", "envs/prod")],
    ));
    let flat = app("all", "policies", "");
    let deep = app("all", "policies", ", directory: {recurse: true}");
    for (text, expected) in [(flat, false), (deep, true)] {
        assert_eq!(
            noted(
                &[
                    ("common/p.yaml", PLAIN),
                    ("argocd/common.yaml", &common),
                    ("argocd/all.yaml", &text)
                ],
                &[("policies/sub/p.yaml", "common/p.yaml")],
            ),
            expected,
            "{text}"
        );
    }
}

/// verify71 V71-3..7: the crds/ refusal reaches a grandchild chart and an
/// ApplicationSet's generated path; a remote chart of the same name is
/// another chart; a chartHome through a link renders from Git; a matrix
/// ApplicationSet pinned to a tag gets the note; POSIX classes are no
/// gobwas syntax.
#[test]
fn grandchildren_generated_paths_remote_namesakes_and_linked_chart_homes() {
    let chart = |name: &str| format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n");
    let (policies, mid, umbrella) = (chart("policies"), chart("mid"), chart("umbrella"));
    let problem = plan_linked;
    let crds = |change: &GitChange| {
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("crds/ folder, which Helm installs but never upgrades"))
    };
    let umbrella_release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: all}\nspec:\n  chart:\n    spec: {chart: ./charts/umbrella, sourceRef: {kind: GitRepository, name: flux-system}}\n";
    assert!(crds(&problem(
        &[
            ("charts/umbrella/Chart.yaml", &umbrella),
            ("charts/umbrella/charts/mid/Chart.yaml", &mid),
            (
                "charts/umbrella/charts/mid/charts/policies/Chart.yaml",
                &policies
            ),
            (
                "charts/umbrella/charts/mid/charts/policies/crds/p.yaml",
                PLAIN
            ),
            ("clusters/prod/release.yaml", umbrella_release),
        ],
        &[],
    )));
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: charts}\nspec:\n  generators:\n  - git:\n      directories:\n      - path: charts/*\n  template:\n    spec:\n      source: {path: '{{path}}', helm: {skipCrds: true}}\n";
    assert!(crds(&problem(
        &[
            ("charts/policies/Chart.yaml", &policies),
            ("charts/policies/crds/p.yaml", PLAIN),
            ("argocd/set.yaml", set),
        ],
        &[],
    )));
    let replacing = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: policies}\nspec:\n  chart:\n    spec: {chart: ./charts/policies, sourceRef: {kind: GitRepository, name: flux-system}}\n  upgrade: {crds: CreateReplace}\n";
    let remote = "helmCharts:\n- name: policies\n  repo: https://charts.example.com\n  version: 9.9.9\n  releaseName: other\n";
    let change = problem(
        &[
            ("charts/policies/Chart.yaml", &policies),
            ("charts/policies/crds/p.yaml", PLAIN),
            ("clusters/prod/release.yaml", replacing),
            ("other/kustomization.yaml", remote),
        ],
        &[],
    );
    assert!(change.promote.is_some(), "{change:?}");
    let inflating = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source: {path: deploy}\n  syncPolicy: {automated: {}}\n";
    let change = problem(
        &[
            ("charts/policies/Chart.yaml", &policies),
            ("charts/policies/templates/p.yaml", PLAIN),
            (
                "deploy/kustomization.yaml",
                "helmCharts:\n- name: policies\n  releaseName: policies\nhelmGlobals:\n  chartHome: ../chartlink\n",
            ),
            ("argocd/app.yaml", inflating),
        ],
        &[("chartlink", "charts")],
    );
    assert!(
        !change
            .notes
            .iter()
            .any(|n| n.starts_with("nothing in the checkout renders the chart")),
        "{change:?}"
    );
    let matrix = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: all}\nspec:\n  generators:\n  - matrix:\n      generators:\n      - list: {elements: [{env: prod}]}\n      - list: {elements: [{tier: a}]}\n  template:\n    spec:\n      source: {path: 'envs/{{env}}', targetRevision: v1.2.0}\n      syncPolicy: {automated: {}}\n";
    let change = problem(
        &[("envs/prod/p.yaml", PLAIN), ("argocd/set.yaml", matrix)],
        &[],
    );
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("targetRevision v1.2.0 is a tag or commit")),
        "{change:?}"
    );
    let globs = DirectoryGlobs {
        include: Some("[[:alpha:]]*".into()),
        exclude: None,
    };
    assert!(!globs.pick("a.yaml"));
}

/// verify72 V72-1..6: a source whose own path runs through a link builds
/// what is there; Helm follows links in a chart; a computed path whose
/// fixed start cannot hold the file neither builds it nor pins it; a
/// kustomize helmCharts of a local chart builds the chart's templates; an
/// unread patch file targeting another policy is not this one's.
#[test]
fn source_paths_through_links_charts_computed_paths_and_scoped_unread_patches() {
    let app = |name: &str, source: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}}}\nspec:\n  source: {source}\n  syncPolicy: {{automated: {{}}}}\n")
    };
    let plan_with = plan_linked;
    let linked = |change: &GitChange| {
        change
            .notes
            .iter()
            .any(|n| n.contains("through symbolic links"))
    };
    // V72-1: staging's path is a link to prod's kustomized folder.
    let (prod, staging) = (
        app("prod", "{path: envs/prod}"),
        app("staging", "{path: envs/staging}"),
    );
    let change = plan_with(
        &[
            ("common/p.yaml", PLAIN),
            ("common/kustomization.yaml", "resources:\n- p.yaml\n"),
            (
                "envs/prod/kustomization.yaml",
                "resources:\n- ../../common\n",
            ),
            ("argocd/prod.yaml", &prod),
            ("argocd/staging.yaml", &staging),
        ],
        &[("envs/staging", "envs/prod")],
    );
    assert!(linked(&change) && change.shared_source, "{change:?}");
    // V72-2: a chart's template is a link to the file.
    let (plain, chart) = (
        app("prod", "{path: common}"),
        app("staging", "{path: charts/policies}"),
    );
    let change = plan_with(
        &[
            ("common/p.yaml", PLAIN),
            (
                "charts/policies/Chart.yaml",
                "apiVersion: v2\nname: policies\nversion: 0.1.0\n",
            ),
            ("argocd/prod.yaml", &plain),
            ("argocd/staging.yaml", &chart),
        ],
        &[("charts/policies/templates/p.yaml", "common/p.yaml")],
    );
    assert!(linked(&change), "{change:?}");
    // V72-4: `apps/{{x}}` cannot hold policies/.
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: apps}\nspec:\n  generators:\n  - list: {elements: [{name: x}, {other: 1}]}\n  template:\n    spec:\n      source: {path: 'apps/{{name}}', targetRevision: v1.2.0}\n      syncPolicy: {automated: {}}\n";
    let policies = app("policies", "{path: policies}");
    let change = plan_with(
        &[
            ("policies/p.yaml", PLAIN),
            ("argocd/policies.yaml", &policies),
            ("argocd/apps.yaml", set),
        ],
        &[],
    );
    assert!(
        change.promote.is_some() && change.notes.is_empty(),
        "{change:?}"
    );
    let empty = Repository::new(repo(&[("policies/p.yaml", PLAIN)]));
    assert!(computed_may_hold(
        &empty,
        "envs/{{env}}/policies",
        "envs/prod/policies/p.yaml"
    ));
    assert!(!computed_may_hold(
        &empty,
        "apps/{{name}}",
        "policies/p.yaml"
    ));
    assert!(computed_may_hold(&empty, "{{path}}", "policies/p.yaml"));
    // V72-3: a Flux release and an Argo CD kustomize helmCharts of one
    // local chart are two builders.
    let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: policies}\nspec:\n  chart:\n    spec: {chart: ./charts/policies, sourceRef: {kind: GitRepository, name: flux-system}}\n";
    let inflating = app("staging", "{path: deploy}");
    let change = plan_with(
        &[
            ("charts/policies/Chart.yaml", "apiVersion: v2\nname: policies\nversion: 0.1.0\n"),
            ("charts/policies/templates/p.yaml", PLAIN),
            (
                "deploy/kustomization.yaml",
                "helmCharts:\n- name: policies\n  repo: https://charts.example.com\n  releaseName: policies\nhelmGlobals:\n  chartHome: ../charts\n",
            ),
            ("argocd/staging.yaml", &inflating),
            ("clusters/prod/release.yaml", release),
        ],
        &[],
    );
    assert!(change.shared_source, "{change:?}");
    // V72-6: an unread patch file whose target names another policy.
    let other = PLAIN.replace("require-team", "require-owner");
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod, namespace: flux-system}\nspec:\n  path: ./overlays/prod\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let change = plan_with(
        &[
            ("base/p.yaml", PLAIN),
            ("base/o.yaml", &other),
            ("base/kustomization.yaml", "resources:\n- p.yaml\n- o.yaml\n"),
            (
                "overlays/prod/kustomization.yaml",
                "resources:\n- ../../base\npatches:\n- path: owner.txt\n  target: {kind: ClusterPolicy, name: require-owner}\n",
            ),
            ("clusters/prod/ks.yaml", flux),
        ],
        &[],
    );
    assert!(change.promote.is_some(), "{change:?}");
}

/// A kustomize `helmCharts` entry renders the checkout's chart folder
/// unless it is pulled: kustomize pulls a chart only when its folder is
/// missing, and a `repo` with a `version` into `<name>-<version>`.
#[test]
fn helm_charts_entries_render_the_local_chart_unless_pulled() {
    let files = repo(&[
        (
            "charts/policies/Chart.yaml",
            "apiVersion: v2\nname: policies\nversion: 0.1.0\n",
        ),
        ("deploy/kustomization.yaml", "resources: []\n"),
    ]);
    let repository = Repository::new(files);
    for (entry, local) in [
        ("{name: policies}", true),
        ("{name: policies, repo: https://charts.example.com}", true),
        (
            "{name: policies, repo: https://charts.example.com, version: 9.9.9}",
            false,
        ),
        ("{name: other}", false),
    ] {
        let value: Value = serde_yaml::from_str(&format!(
            "helmCharts:\n- {entry}\nhelmGlobals:\n  chartHome: ../charts\n"
        ))
        .expect("yaml");
        let found = local_helm_charts(&repository, &value, "deploy");
        assert_eq!(!found.is_empty(), local, "{entry}: {found:?}");
    }
}

/// verify73 V73-1..3, V73-5..8: a computed path counts where a folder
/// under its fixed start builds the file (read from the root); kustomize
/// target kinds are patterns; kustomize renders a chart's templates, and
/// its crds/ only with includeCRDs; a chart file Helm does not render is
/// refused; a Flux build through helmCharts is said to fail; a link in a
/// chart's docs/ is not rendered.
#[test]
fn computed_overlays_kind_patterns_and_what_helm_renders() {
    let set = |path: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: envs}}\nspec:\n  generators:\n  - clusters: {{}}\n  template:\n    spec:\n      source: {{path: '{path}', targetRevision: v1.2.0}}\n      syncPolicy: {{automated: {{}}}}\n")
    };
    let pinned = |change: &GitChange| {
        change
            .notes
            .iter()
            .any(|n| n.contains("is a tag or commit"))
    };
    let overlays = set("envs/{{metadata.labels.env}}");
    let change = plan_linked(
        &[
            ("policies/p.yaml", PLAIN),
            ("policies/kustomization.yaml", "resources:\n- p.yaml\n"),
            (
                "envs/prod/kustomization.yaml",
                "resources:\n- ../../policies\n",
            ),
            ("argocd/set.yaml", &overlays),
        ],
        &[],
    );
    assert!(pinned(&change), "{change:?}");
    let dotted = set("./envs/{{metadata.labels.env}}");
    let change = plan_linked(
        &[("envs/prod/p.yaml", PLAIN), ("argocd/set.yaml", &dotted)],
        &[],
    );
    assert!(pinned(&change), "{change:?}");
    // A target kind written as a pattern selects the policy.
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod, namespace: flux-system}\nspec:\n  path: ./overlays/prod\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let change = plan_linked(
        &[
            ("base/p.yaml", PLAIN),
            ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
            (
                "overlays/prod/kustomization.yaml",
                "resources:\n- ../../base\npatches:\n- path: audit.txt\n  target: {kind: 'Cluster.*', name: require-team}\n",
            ),
            ("clusters/prod/ks.yaml", flux),
        ],
        &[],
    );
    assert!(change.promote.is_none(), "{change:?}");
    assert!(chart_renders(
        "charts/p",
        "charts/p/templates/a.yaml",
        false
    ));
    assert!(chart_renders(
        "charts/p",
        "charts/p/charts/sub/templates/a.yaml",
        false
    ));
    assert!(!chart_renders("charts/p", "charts/p/crds/a.yaml", false));
    assert!(chart_renders("charts/p", "charts/p/crds/a.yaml", true));
    assert!(!chart_renders("charts/p", "charts/p/docs/a.yaml", true));
    assert!(!chart_renders("charts/p", "charts/p/files/a.yaml", true));
    // A chart file no template reads gets the note; one a template reads
    // through .Files does not, nor one a template reads by a variable;
    // one only another file's literal path names does.
    let chart = "apiVersion: v2\nname: policies\nversion: 0.1.0\n";
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source: {path: charts/policies}\n  syncPolicy: {automated: {}}\n";
    for (template, refused) in [
        ("kind: ConfigMap\n", true),
        (
            "{{ range $p, $_ := .Files.Glob \"files/*\" }}{{ $.Files.Get $p }}{{ end }}\n",
            false,
        ),
        ("{{ .Files.Get $name }}\n", false),
        ("{{ .Files.Get \"files/dash.json\" }}\n", true),
    ] {
        let change = plan_linked(
            &[
                ("charts/policies/Chart.yaml", chart),
                ("charts/policies/files/p.yaml", PLAIN),
                ("charts/policies/templates/all.yaml", template),
                ("argocd/policies.yaml", app),
            ],
            &[],
        );
        assert_eq!(
            change
                .notes
                .iter()
                .any(|n| n.contains("Helm does not render it")),
            refused,
            "{change:?}"
        );
    }
    // Flux cannot build helmCharts.
    let flux_deploy = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: deploy, namespace: flux-system}\nspec:\n  path: ./deploy\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let change = plan_linked(
        &[
            ("charts/policies/Chart.yaml", chart),
            ("charts/policies/templates/p.yaml", PLAIN),
            (
                "deploy/kustomization.yaml",
                "helmCharts:\n- name: policies\n  releaseName: policies\nhelmGlobals:\n  chartHome: ../charts\n",
            ),
            ("clusters/prod/deploy.yaml", flux_deploy),
        ],
        &[],
    );
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("Flux's kustomize-controller does not run")),
        "{change:?}"
    );
}

/// A repository whose root is a chart holds plain manifests too: a policy
/// a Flux Kustomization applies as plain YAML is no chart file Helm
/// leaves out.
#[test]
fn a_plain_policy_in_a_repository_whose_root_is_a_chart_is_patched() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: policies, namespace: flux-system}\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let change = plan_linked(
        &[
            ("Chart.yaml", "apiVersion: v2\nname: root\nversion: 0.1.0\n"),
            ("templates/cm.yaml", "kind: ConfigMap\n"),
            ("policies/p.yaml", PLAIN),
            ("clusters/prod/policies.yaml", flux),
        ],
        &[],
    );
    assert!(change.promote.is_some(), "{change:?}");
    // Nor does it get the notes of a chart's files.
    assert!(change.notes.is_empty(), "{change:?}");
}

/// verify74 V74-1..3, V74-8: the Flux helmCharts note only where a
/// kustomization on the build path (its own, or one Flux's generated
/// kustomization takes in) inflates the chart; a repo with a version
/// reads `<name>-<version>/<name>`; an ApplicationSet's list elements and
/// git directories (`{{path.basename}}`, excludes) give its paths.
#[test]
fn flux_helm_builds_versioned_charts_and_generated_basenames() {
    let chart = "apiVersion: v2\nname: policies\nversion: 0.1.0\n";
    let flux = |path: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: deploy, namespace: flux-system}}\nspec:\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n")
    };
    let fails = |change: &GitChange| {
        change
            .notes
            .iter()
            .any(|n| n.contains("Flux's kustomize-controller does not run"))
    };
    // Plain resources, no helmCharts: no note.
    let plain = flux("./deploy");
    let change = plan_linked(
        &[
            ("charts/policies/Chart.yaml", chart),
            ("charts/policies/templates/p.yaml", PLAIN),
            (
                "deploy/kustomization.yaml",
                "resources:\n- ../charts/policies/templates/p.yaml\n",
            ),
            ("clusters/prod/deploy.yaml", &plain),
        ],
        &[],
    );
    assert!(!fails(&change), "{change:?}");
    // Flux's generated kustomization takes in deploy/policies/.
    let generated = flux("./deploy");
    let change = plan_linked(
        &[
            ("charts/policies/Chart.yaml", chart),
            ("charts/policies/templates/p.yaml", PLAIN),
            (
                "deploy/policies/kustomization.yaml",
                "helmCharts:\n- name: policies\n  releaseName: policies\nhelmGlobals:\n  chartHome: ../../charts\n",
            ),
            ("clusters/prod/deploy.yaml", &generated),
        ],
        &[],
    );
    assert!(fails(&change), "{change:?}");
    // A versioned chart committed where kustomize reads it.
    let repository = Repository::new(repo(&[
        ("charts/policies-9.9.9/policies/Chart.yaml", chart),
        ("deploy/kustomization.yaml", "resources: []\n"),
    ]));
    let value: Value = serde_yaml::from_str(
        "helmCharts:\n- {name: policies, repo: https://charts.example.com, version: 9.9.9}\nhelmGlobals:\n  chartHome: ../charts\n",
    )
    .expect("yaml");
    let found = local_helm_charts(&repository, &value, "deploy");
    assert_eq!(
        found.iter().map(|(_, f)| f.as_str()).collect::<Vec<_>>(),
        ["charts/policies-9.9.9/policies"]
    );
    // Only apps/legacy builds the policy; the generator gives apps/web.
    let set = |generator: &str, path: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: apps}}\nspec:\n  generators:\n{generator}  template:\n    spec:\n      source: {{path: '{path}'}}\n      syncPolicy: {{automated: {{}}}}\n")
    };
    for text in [
        set("  - list: {elements: [{name: web}]}\n", "apps/{{name}}"),
        set(
            "  - git:\n      directories:\n      - path: apps/*\n      - {path: apps/legacy, exclude: true}\n",
            "apps/{{path.basename}}",
        ),
    ] {
        let change = plan_linked(
            &[
                ("policies/p.yaml", PLAIN),
                ("apps/legacy/kustomization.yaml", "resources:\n- ../../policies/p.yaml\n"),
                ("apps/web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"),
                ("argocd/set.yaml", &text),
            ],
            &[],
        );
        assert!(change.promote.is_none(), "{text}: {change:?}");
    }
}

/// verify75 V75-1..4, V75-6: a chart's templates a plain delivery also
/// applies keep the published-chart note; a directory source that does
/// not walk to them (no recurse) is no plain delivery; Flux's generated
/// kustomization goes no deeper than the first kustomization on a path;
/// a list generator's selector leaves its paths computed, and its
/// elementsYaml adds elements.
#[test]
fn published_charts_walks_generated_kustomizations_and_list_generators() {
    let chart = "apiVersion: v2\nname: policies\nversion: 0.1.0\n";
    let published = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: policies}\nspec:\n  chart:\n    spec: {chart: policies, sourceRef: {kind: HelmRepository, name: charts}}\n";
    let app = |source: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: dev}}\nspec:\n  source: {source}\n  syncPolicy: {{automated: {{}}}}\n")
    };
    let chart_noted =
        |change: &GitChange| change.notes.iter().any(|n| n.contains("Helm repository"));
    for source in [
        "{path: charts/policies/templates}",
        "{path: charts, directory: {recurse: false}}",
    ] {
        let dev = app(source);
        let change = plan_linked(
            &[
                ("charts/policies/Chart.yaml", chart),
                ("charts/policies/templates/p.yaml", PLAIN),
                ("argocd/dev.yaml", &dev),
                ("clusters/prod/release.yaml", published),
            ],
            &[],
        );
        assert!(chart_noted(&change), "{source}: {change:?}");
    }
    // deploy/live is taken in; deploy/live/old (helmCharts) is not.
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: deploy, namespace: flux-system}\nspec:\n  path: ./deploy\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let change = plan_linked(
        &[
            ("deploy/live/old/charts/p/Chart.yaml", chart),
            ("deploy/live/old/charts/p/templates/p.yaml", PLAIN),
            (
                "deploy/live/kustomization.yaml",
                "resources:\n- old/charts/p/templates/p.yaml\n",
            ),
            (
                "deploy/live/old/kustomization.yaml",
                "helmCharts:\n- name: p\n  releaseName: p\n",
            ),
            ("clusters/prod/deploy.yaml", flux),
        ],
        &[],
    );
    assert!(
        !change
            .notes
            .iter()
            .any(|n| n.contains("Flux's kustomize-controller does not run")),
        "{change:?}"
    );
    let set = |list: &str| {
        let value: Value = serde_yaml::from_str(&format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nspec:\n  generators:\n  - list:\n{list}  template:\n    spec:\n      source: {{path: 'apps/{{{{name}}}}'}}\n"
        ))
        .expect("yaml");
        let repository = Repository::new(repo(&[("apps/web/cm.yaml", "kind: ConfigMap\n")]));
        generated_paths(&repository, &value, "apps/{{name}}")
    };
    assert_eq!(
        set("      elements: [{name: web}]\n      elementsYaml: |\n        - name: legacy\n"),
        Some(vec!["apps/web".to_string(), "apps/legacy".to_string()])
    );
    assert_eq!(
        set("      elements: [{name: web}]\n      selector: {matchLabels: {env: prod}}\n"),
        None
    );
}

/// verify75 V75-7: a path held in a variable reads only what the
/// template's `.Files.Glob` gives (Helm's `*` stops at `/`); a `.Files`
/// call in a comment reads nothing.
#[test]
fn files_read_through_a_variable_are_bounded_by_the_glob() {
    let chart = "apiVersion: v2\nname: policies\nversion: 0.1.0\n";
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source: {path: charts/policies}\n  syncPolicy: {automated: {}}\n";
    for (template, noted) in [
        (
            "{{ range $p, $_ := .Files.Glob \"files/*.yaml\" }}{{ $.Files.Get $p }}{{ end }}\n",
            true,
        ),
        (
            "{{ range $p, $_ := .Files.Glob \"files/**\" }}{{ $.Files.Get $p }}{{ end }}\n",
            false,
        ),
        ("{{/* {{ .Files.Get $p }} */}}\nkind: ConfigMap\n", true),
    ] {
        let change = plan_linked(
            &[
                ("charts/policies/Chart.yaml", chart),
                ("charts/policies/files/sub/p.yaml", PLAIN),
                ("charts/policies/templates/all.yaml", template),
                ("argocd/policies.yaml", app),
            ],
            &[],
        );
        assert_eq!(
            change
                .notes
                .iter()
                .any(|n| n.contains("Helm does not render it")),
            noted,
            "{template}: {change:?}"
        );
    }
}

/// verify75 V75-5: a git directories generator's `{{path[n]}}`,
/// `{{index .path.segments n}}` and `{{path.basenameNormalized}}` give
/// each generated folder's path.
#[test]
fn git_directory_segments_and_normalized_basenames_are_resolved() {
    let repository = Repository::new(repo(&[
        ("apps/web/cm.yaml", "kind: ConfigMap\n"),
        ("apps/Legacy_X/cm.yaml", "kind: ConfigMap\n"),
    ]));
    let value: Value = serde_yaml::from_str(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nspec:\n  generators:\n  - git:\n      directories:\n      - path: apps/*\n",
    )
    .expect("yaml");
    for (path, expected) in [
        ("apps/{{path[1]}}", ["apps/Legacy_X", "apps/web"]),
        (
            "apps/{{index .path.segments 1}}",
            ["apps/Legacy_X", "apps/web"],
        ),
        (
            "out/{{path.basenameNormalized}}",
            ["out/legacy-x", "out/web"],
        ),
    ] {
        assert_eq!(
            generated_directories(&repository, &value, path),
            Some(expected.iter().map(|p| p.to_string()).collect()),
            "{path}"
        );
    }
}

/// verify76: raw files a plain delivery applies and no template reads
/// get no published-chart note; a post selector beside a generator
/// leaves its paths computed, and the note says an ApplicationSet whose
/// path stays computed builds the file only if one of its paths does.
#[test]
fn raw_chart_files_post_selectors_and_computed_builders() {
    let chart = "apiVersion: v2\nname: policies\nversion: 0.1.0\n";
    let published = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: policies}\nspec:\n  chart:\n    spec: {chart: policies, sourceRef: {kind: HelmRepository, name: charts}}\n";
    let raw = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: raw, namespace: flux-system}\nspec:\n  path: ./charts/policies/raw\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let change = plan_linked(
        &[
            ("charts/policies/Chart.yaml", chart),
            ("charts/policies/templates/cm.yaml", "kind: ConfigMap\n"),
            ("charts/policies/raw/p.yaml", PLAIN),
            ("clusters/dev/raw.yaml", raw),
            ("clusters/prod/release.yaml", published),
        ],
        &[],
    );
    assert!(
        change.promote.is_some() && change.notes.is_empty(),
        "{change:?}"
    );
    let value: Value = serde_yaml::from_str(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nspec:\n  generators:\n  - list: {elements: [{name: web}, {name: legacy}]}\n    selector: {matchLabels: {name: web}}\n  template:\n    spec:\n      source: {path: 'apps/{{name}}'}\n",
    )
    .expect("yaml");
    let repository = Repository::new(repo(&[("apps/web/cm.yaml", "kind: ConfigMap\n")]));
    assert_eq!(generated_paths(&repository, &value, "apps/{{name}}"), None);
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: apps}\nspec:\n  generators:\n  - list: {elements: [{name: web}, {name: legacy}]}\n    selector: {matchLabels: {name: web}}\n  template:\n    spec:\n      source: {path: 'apps/{{name}}'}\n      syncPolicy: {automated: {}}\n";
    let change = plan_linked(
        &[
            ("policies/p.yaml", PLAIN),
            (
                "apps/legacy/kustomization.yaml",
                "resources:\n- ../../policies/p.yaml\n",
            ),
            ("apps/web/cm.yaml", "kind: ConfigMap\n"),
            ("argocd/set.yaml", set),
        ],
        &[],
    );
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.contains("computed and not followed here")),
        "{change:?}"
    );
}

/// verify77 V77-1..6: Helm's Files.Glob is gobwas with `/` a separator
/// (`**` crosses folders, `raw/**/*.yaml` needs one); a variable `.Files`
/// argument is bounded only by the range over a Glob that gives it, and
/// `.Files` held as a value may read anything; a `{{path[n]}}` past the
/// end leaves the path computed; basenameNormalized trims `-` and `.`.
#[test]
fn helm_globs_ranged_variables_and_argo_name_forms() {
    let glob = |pattern: &str, path: &str| helm_glob(pattern).is_some_and(|g| g.is_match(path));
    assert!(glob("raw/**.yaml", "raw/sub/a.yaml"));
    assert!(!glob("raw/*.yaml", "raw/sub/a.yaml"));
    assert!(!glob("raw/**/*.yaml", "raw/a.yaml"));
    assert!(glob("raw/**/*.yaml", "raw/sub/a.yaml"));
    assert!(glob("{raw,files}/[!b]?.yaml", "files/ax.yaml"));
    let chart = "apiVersion: v2\nname: policies\nversion: 0.1.0\n";
    let uses = |template: &str| {
        let repository = Repository::new(repo(&[
            ("charts/policies/Chart.yaml", chart),
            ("charts/policies/templates/all.yaml", template),
            ("charts/policies/raw/a.yaml", PLAIN),
        ]));
        chart_uses(&repository, "charts/policies", "charts/policies/raw/a.yaml")
    };
    assert!(uses(
        "{{ range $p, $_ := .Files.Glob \"raw/*\" }}{{ $.Files.Get $p }}{{ end }}"
    ));
    assert!(!uses(
        "{{ range $p, $_ := .Files.Glob \"extra/*\" }}{{ $.Files.Get $p }}{{ end }}"
    ));
    assert!(uses(
        "{{ .Files.Glob \"extra/*\" }}{{ .Files.Get .Values.file }}"
    ));
    assert!(uses("{{ $f := .Files }}{{ $f.Get \"raw/a.yaml\" }}"));
    assert!(!uses("{{ .Files.Get \"raw/b.yaml\" }}"));
    let repository = Repository::new(repo(&[("apps/legacy_/cm.yaml", "kind: ConfigMap\n")]));
    let value: Value = serde_yaml::from_str(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nspec:\n  generators:\n  - git:\n      directories:\n      - path: apps/*\n",
    )
    .expect("yaml");
    assert_eq!(
        generated_directories(&repository, &value, "out/{{path.basenameNormalized}}"),
        Some(vec!["out/legacy".to_string()])
    );
    assert_eq!(
        generated_directories(&repository, &value, "apps/{{path[5]}}"),
        None
    );
}

/// verify78 F1: an overlay's patch replacing what holds a rule-level
/// action (a JSON 6902 op on the rule's `validate`; a strategic-merge
/// body restating `spec.rules`, which kustomize replaces whole in a
/// custom resource; the same in a Flux Kustomization's `spec.patches`)
/// while naming no action field drops the action: the base's patch would
/// not reach the cluster, so it is refused. Where the action is the
/// policy-wide one, those patches leave it alone: patched.
#[test]
fn an_overlay_replacing_what_holds_the_action_is_refused() {
    let rule_level = PLAIN
        .replace(
            "  validationFailureAction: \"Audit\"   # see the evidence\n",
            "",
        )
        .replace(
            "    validate:\n",
            "    validate:\n      failureAction: Audit\n",
        );
    let flux_of = |path: &str, patches: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: prod, namespace: flux-system}}\nspec:\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n{patches}")
    };
    let json_op = "- op: replace\n  path: /spec/rules/0/validate\n  value: {message: prod, pattern: {metadata: {labels: {team: '?*'}}}}\n";
    let indent = |text: &str, by: &str| {
        text.lines()
            .map(|line| format!("{by}{line}\n"))
            .collect::<String>()
    };
    let json_patch = format!(
        "resources:\n- ../../base\npatches:\n- target: {{kind: ClusterPolicy, name: require-team}}\n  patch: |-\n{}",
        indent(json_op, "    ")
    );
    let merge_patch = "resources:\n- ../../base\npatches:\n- patch: |-\n    apiVersion: kyverno.io/v1\n    kind: ClusterPolicy\n    metadata: {name: require-team}\n    spec:\n      rules:\n      - name: team\n        match: {any: [{resources: {kinds: [Pod]}}]}\n        validate: {message: prod, pattern: {metadata: {labels: {team: '?*'}}}}\n";
    let flux_patch = format!(
        "  patches:\n  - target: {{kind: ClusterPolicy, name: require-team}}\n    patch: |-\n{}",
        indent(json_op, "      ")
    );
    let layouts: [(&str, String); 3] = [
        ("overlays/prod/kustomization.yaml", json_patch),
        ("overlays/prod/kustomization.yaml", merge_patch.to_string()),
        ("overlays/prod/unused.yaml", "a: 1\n".to_string()),
    ];
    for (index, (overlay_path, overlay)) in layouts.iter().enumerate() {
        // The third builds the base itself, patched by the Flux object.
        let (path, patches) = if index == 2 {
            ("./base", flux_patch.as_str())
        } else {
            ("./overlays/prod", "")
        };
        for (policy, refused) in [(rule_level.as_str(), true), (PLAIN, false)] {
            let flux = flux_of(path, patches);
            let files = repo(&[
                ("base/p.yaml", policy),
                ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
                (overlay_path, overlay.as_str()),
                ("clusters/prod/ks.yaml", flux.as_str()),
            ]);
            let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
            assert_eq!(
                change.promote.is_none(),
                refused,
                "layout {index}, rule-level {refused}: {change:?}"
            );
            if refused {
                assert!(
                    change
                        .problem
                        .as_deref()
                        .is_some_and(|r| r.contains("may patch the action of require-team")),
                    "{change:?}"
                );
            }
        }
    }
    assert!(patch_body_holds_action(
        "- op: replace\n  path: /spec\n  value: {}\n",
        &["x"],
        false,
        false
    ));
    assert!(!patch_body_holds_action(
        "- op: replace\n  path: /spec/rules/0/validate/message\n  value: m\n",
        &["x"],
        true,
        false
    ));
    assert!(patch_body_holds_action(
        "- op: remove\n  path: /spec/rules/0/validate/failureAction\n",
        &["x"],
        false,
        false
    ));
    // A strategic-merge body of another policy holds nothing of this one.
    assert!(!patch_body_holds_action(
        "kind: ClusterPolicy\nmetadata: {name: other}\nspec:\n  rules: []\n",
        &["x"],
        true,
        false
    ));
}

/// verify78 F2: an Argo CD source's `helm` block giving no values
/// (`releaseName`, `skipCrds`, …) leaves the chart's values.yaml in
/// charge: patched. One giving values (`valueFiles`, `parameters`) is
/// refused, naming the field.
#[test]
fn an_argo_cd_helm_block_without_values_is_no_refusal() {
    let template = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  validationFailureAction: {{ .Values.action }}\n  rules: []\n";
    let app = |helm: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: policies\nspec:\n  source:\n    repoURL: https://example.com/r.git\n    path: c\n    helm:\n{helm}  syncPolicy: {{automated: {{}}}}\n")
    };
    for (helm, refused) in [
        ("      releaseName: policies\n      skipCrds: true\n", None),
        // verify79 V79-6: empty values give nothing either.
        ("      valuesObject: {}\n      values: ''\n", None),
        (
            "      releaseName: policies\n      valueFiles: [values-prod.yaml]\n",
            Some("apps/policies.yaml (an Argo CD Application's helm valueFiles)"),
        ),
        (
            "      parameters:\n      - {name: action, value: Enforce}\n",
            Some("apps/policies.yaml (an Argo CD Application's helm parameters)"),
        ),
    ] {
        let application = app(helm);
        let files = repo(&[
            ("c/Chart.yaml", CHART),
            ("c/templates/a.yaml", template),
            ("c/values.yaml", "action: Audit\n"),
            ("apps/policies.yaml", application.as_str()),
        ]);
        let change = plan(&files, &cluster_policy("a"), &[], "a");
        match refused {
            None => assert_eq!(
                change.locations,
                ["c/values.yaml:1 action (read by c/templates/a.yaml:6 spec.validationFailureAction)"],
                "{change:?}"
            ),
            Some(said) => assert!(
                change.promote.is_none()
                    && change.problem.as_deref().is_some_and(|p| p.contains(said)),
                "{change:?}"
            ),
        }
    }
}

/// verify78 F3: a policy held in a `kind: List` was "not found"; it is
/// said to be a List's item, which polscan does not edit.
#[test]
fn a_policy_in_a_list_is_named_there() {
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}",
        PLAIN.replace('\n', "\n  ").trim_end()
    );
    let files = repo(&[
        ("policies/list.yaml", list.as_str()),
        ("policies/kustomization.yaml", "resources:\n- list.yaml\n"),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_none(), "{change:?}");
    assert!(
        change.problem.as_deref().is_some_and(|p| p.starts_with(
            "ClusterPolicy require-team is an item of a List (policies/list.yaml (items[0]))"
        )),
        "{change:?}"
    );
}

/// verify79: more patches that drop a rule-level action or repoint a
/// binding, each refused — a targeted strategic-merge body of another
/// name (V79-1); an Argo CD source's patch file, relative to the source's
/// path (V79-3); Flux v1beta2's and HelmRelease v2beta's deprecated patch
/// fields, whose patch is ops or an object (V79-4); an action key spelled
/// with an escape (V79-5) — and a binding repointed to another policy
/// (V79-2).
#[test]
fn patches_dropping_a_rule_level_action_are_refused_wherever_written() {
    let rule_level = PLAIN
        .replace(
            "  validationFailureAction: \"Audit\"   # see the evidence\n",
            "",
        )
        .replace(
            "    validate:\n",
            "    validate:\n      failureAction: Audit\n",
        );
    let restated = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: placeholder}\nspec:\n  rules:\n  - name: team\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {message: prod, pattern: {metadata: {labels: {team: '?*'}}}}\n";
    let flux = |path: &str, rest: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata: {{name: prod, namespace: flux-system}}\nspec:\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n{rest}")
    };
    let targeted_body = format!(
        "resources:\n- ../../base\npatches:\n- target: {{kind: ClusterPolicy, name: require-team}}\n  patch: |-\n{}",
        restated.lines().map(|l| format!("    {l}\n")).collect::<String>()
    );
    let argo = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source:\n    repoURL: https://example.com/r.git\n    path: base\n    kustomize:\n      patches:\n      - target: {kind: ClusterPolicy, name: require-team}\n        path: prod-ops.yaml\n  syncPolicy: {automated: {}}\n";
    let ops = "- op: replace\n  path: /spec/rules/0/validate\n  value: {message: prod, pattern: {metadata: {labels: {team: '?*'}}}}\n";
    let json6902 = "  patchesJson6902:\n  - target: {group: kyverno.io, version: v1, kind: ClusterPolicy, name: require-team}\n    patch:\n    - op: replace\n      path: /spec/rules/0/validate\n      value: {message: prod}\n";
    let strategic = "  patchesStrategicMerge:\n  - apiVersion: kyverno.io/v1\n    kind: ClusterPolicy\n    metadata: {name: require-team}\n    spec:\n      rules:\n      - name: team\n        validate: {message: prod}\n";
    let escaped = "resources:\n- ../../base\npatches:\n- target: {kind: ClusterPolicy, name: require-team}\n  patch: '[{\"op\": \"add\", \"path\": \"/spec/rules/0/validate/x\", \"value\": {\"failure\\u0041ction\": \"Audit\"}}]'\n";
    let base = |policy: &str| {
        vec![
            ("base/p.yaml".to_string(), policy.to_string()),
            (
                "base/kustomization.yaml".to_string(),
                "resources:\n- p.yaml\n".to_string(),
            ),
        ]
    };
    let overlay_ks = flux("./overlays/prod", "");
    // (case, the checkout's files, what the reason says)
    type Case<'a> = (&'a str, Vec<(String, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "V79-1",
            [
                base(&rule_level),
                vec![
                    (
                        "overlays/prod/kustomization.yaml".into(),
                        targeted_body.clone(),
                    ),
                    ("clusters/prod/ks.yaml".into(), overlay_ks.clone()),
                ],
            ]
            .concat(),
            "overlays/prod/kustomization.yaml may patch",
        ),
        (
            "V79-3",
            [
                base(&rule_level),
                vec![
                    ("base/prod-ops.yaml".into(), ops.to_string()),
                    ("apps/policies.yaml".into(), argo.to_string()),
                ],
            ]
            .concat(),
            "apps/policies.yaml may patch",
        ),
        (
            "V79-4 patchesJson6902",
            [
                base(&rule_level),
                vec![("clusters/prod/ks.yaml".into(), flux("./base", json6902))],
            ]
            .concat(),
            "clusters/prod/ks.yaml may patch",
        ),
        (
            "V79-4 patchesStrategicMerge",
            [
                base(&rule_level),
                vec![("clusters/prod/ks.yaml".into(), flux("./base", strategic))],
            ]
            .concat(),
            "clusters/prod/ks.yaml may patch",
        ),
        (
            "V79-5",
            [
                base(PLAIN),
                vec![
                    (
                        "overlays/prod/kustomization.yaml".into(),
                        escaped.to_string(),
                    ),
                    ("clusters/prod/ks.yaml".into(), overlay_ks.clone()),
                ],
            ]
            .concat(),
            "overlays/prod/kustomization.yaml may patch",
        ),
    ];
    for (label, files, said) in cases {
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect();
        let change = plan(
            &repo(&borrowed),
            &cluster_policy("require-team"),
            &[],
            "require-team",
        );
        assert!(
            change.promote.is_none() && change.problem.as_deref().is_some_and(|p| p.contains(said)),
            "{label}: {change:?}"
        );
    }
    // V79-2: a binding's policyName repointed by an op, or by a body.
    assert!(patch_body_holds_action(
        "- op: replace\n  path: /spec/policyName\n  value: other\n",
        &["b"],
        false,
        true
    ));
    assert!(patch_body_holds_action(
        "kind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: other}\n",
        &["b"],
        false,
        false
    ));
}

/// verify80 V80-1: where the delivery leaves the object or its action
/// alone — Flux's `reconcile: disabled` / `ssa: IfNotPresent` on the
/// document or by a kustomization's commonAnnotations, Argo CD's
/// ignoreDifferences on a pointer holding the action — a Git patch never
/// reaches the cluster: refused. ignoreDifferences of other fields or
/// kinds is no reason.
#[test]
fn a_delivery_that_leaves_the_action_alone_gets_no_patch() {
    let annotated = |key: &str, value: &str| {
        PLAIN.replace(
            "  name: require-team\n",
            &format!("  name: require-team\n  annotations:\n    {key}: {value}\n"),
        )
    };
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod, namespace: flux-system}\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let argo = |ignore: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: policies}}\nspec:\n  source: {{repoURL: https://example.com/r.git, path: policies}}\n  syncPolicy: {{automated: {{}}, syncOptions: [RespectIgnoreDifferences=true]}}\n  ignoreDifferences:\n{ignore}")
    };
    let ssa = annotated("kustomize.toolkit.fluxcd.io/ssa", "IfNotPresent");
    let disabled = annotated("kustomize.toolkit.fluxcd.io/reconcile", "disabled");
    let common = "resources:\n- p.yaml\ncommonAnnotations:\n  kustomize.toolkit.fluxcd.io/reconcile: disabled\n";
    let pointer = argo("  - group: kyverno.io\n    kind: ClusterPolicy\n    jsonPointers: [/spec/validationFailureAction]\n");
    let jq = argo("  - kind: ClusterPolicy\n    name: require-team\n    jqPathExpressions: ['.spec.validationFailureAction']\n");
    // (case, the checkout's files, what the reason says)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let refused: [Case; 5] = [
        (
            "ssa",
            vec![
                ("policies/p.yaml", ssa.as_str()),
                ("clusters/prod/ks.yaml", flux),
            ],
            "kustomize.toolkit.fluxcd.io/ssa: IfNotPresent",
        ),
        (
            "reconcile",
            vec![
                ("policies/p.yaml", disabled.as_str()),
                ("clusters/prod/ks.yaml", flux),
            ],
            "kustomize.toolkit.fluxcd.io/reconcile: disabled",
        ),
        (
            "commonAnnotations",
            vec![
                ("policies/p.yaml", PLAIN),
                ("policies/kustomization.yaml", common),
                ("clusters/prod/ks.yaml", flux),
            ],
            "policies/kustomization.yaml gives what it builds",
        ),
        (
            "jsonPointers",
            vec![
                ("policies/p.yaml", PLAIN),
                ("apps/policies.yaml", pointer.as_str()),
            ],
            "ignores differences",
        ),
        (
            "jqPathExpressions",
            vec![
                ("policies/p.yaml", PLAIN),
                ("apps/policies.yaml", jq.as_str()),
            ],
            "ignores differences",
        ),
    ];
    for (label, files, said) in refused {
        let change = plan(
            &repo(&files),
            &cluster_policy("require-team"),
            &[],
            "require-team",
        );
        assert!(
            change.promote.is_none()
                && change
                    .problem
                    .as_deref()
                    .is_some_and(|p| p.contains(said) && p.contains("does not reach the cluster")),
            "{label}: {change:?}"
        );
    }
    // Other fields, or another kind: patched.
    for ignore in [
        "  - kind: ClusterPolicy\n    jsonPointers: [/metadata/labels]\n",
        "  - group: apps\n    kind: Deployment\n    jsonPointers: [/spec/replicas]\n",
    ] {
        let app = argo(ignore);
        let files = repo(&[
            ("policies/p.yaml", PLAIN),
            ("apps/policies.yaml", app.as_str()),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.promote.is_some(), "{ignore}: {change:?}");
    }
}

/// verify80 V80-3: a copy of the policy nothing in the checkout delivers
/// (a Kyverno CLI test's) beside the delivered one no longer refuses the
/// patch: the delivered file is patched, the copy named in a note. With
/// no delivery in the checkout, two copies still leave it open.
#[test]
fn an_undelivered_copy_beside_the_delivered_policy_is_noted_not_refused() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod, namespace: flux-system}\nspec:\n  path: ./policies\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let test = "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: require-team}\npolicies: [policy.yaml]\nresources: [resource.yaml]\n";
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("tests/require-team/policy.yaml", PLAIN),
        ("tests/require-team/kyverno-test.yaml", test),
        ("clusters/prod/ks.yaml", flux),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert_eq!(
        change.locations,
        ["policies/p.yaml:7 spec.validationFailureAction"],
        "{change:?}"
    );
    assert!(
        change
            .notes
            .iter()
            .any(|n| n.starts_with("not patched: tests/require-team/policy.yaml:1")),
        "{change:?}"
    );
    // A copy merely undelivered here may be the cluster's, delivered
    // from another repository (verify60 w1): still refused.
    let staging = flux.replace("./policies", "./policies/staging");
    let environments = repo(&[
        ("policies/prod/p.yaml", PLAIN),
        ("policies/staging/p.yaml", PLAIN),
        ("clusters/staging/ks.yaml", staging.as_str()),
    ]);
    let change = plan(
        &environments,
        &cluster_policy("require-team"),
        &[],
        "require-team",
    );
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("is written in several places")),
        "{change:?}"
    );
    let nothing_delivers = repo(&[
        ("policies/p.yaml", PLAIN),
        ("tests/require-team/policy.yaml", PLAIN),
    ]);
    let change = plan(
        &nothing_delivers,
        &cluster_policy("require-team"),
        &[],
        "require-team",
    );
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("is written in several places")),
        "{change:?}"
    );
}

/// verify81: more ways a delivery leaves the action alone — Flux's
/// marker as a label or in another case, added by an overlay's patch
/// file; Argo CD's ignoreDifferences added by an ApplicationSet's
/// templatePatch or in argocd-cm's older single key — are refused;
/// Kyverno's own autogen snippet is not. A copy beside a Kyverno test
/// with no delivery in the checkout is no test copy to set aside.
#[test]
fn more_deliveries_that_leave_the_action_alone() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod, namespace: flux-system}\nspec:\n  path: ./overlays/prod\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    let labelled = PLAIN.replace(
        "  name: require-team\n",
        "  name: require-team\n  labels:\n    kustomize.toolkit.fluxcd.io/reconcile: Disabled\n",
    );
    let overlay = "resources:\n- ../../base\npatches:\n- path: hold.yaml\n";
    let hold = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-team\n  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n";
    let base = "resources:\n- p.yaml\n";
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: policies}\nspec:\n  generators: [{list: {elements: [{env: prod}]}}]\n  template:\n    metadata: {name: 'policies-{{env}}'}\n    spec:\n      source: {repoURL: https://example.com/r.git, path: base}\n      syncPolicy: {automated: {}}\n  templatePatch: |\n    spec:\n      ignoreDifferences:\n      - kind: ClusterPolicy\n        jsonPointers: [/spec/validationFailureAction]\n";
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm, namespace: argocd}\ndata:\n  resource.customizations: |\n    kyverno.io/ClusterPolicy:\n      ignoreDifferences: |\n        jsonPointers:\n        - /spec/validationFailureAction\n";
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: policies}\nspec:\n  source: {repoURL: https://example.com/r.git, path: base}\n  syncPolicy: {automated: {}}\n";
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);
    let cases: [Case; 5] = [
        (
            "label, another case",
            vec![("base/p.yaml", labelled.as_str()), ("base/kustomization.yaml", base), ("overlays/prod/kustomization.yaml", "resources:\n- ../../base\n"), ("clusters/prod/ks.yaml", flux)],
            Some("kustomize.toolkit.fluxcd.io/reconcile: disabled"),
        ),
        (
            "a patch file",
            vec![("base/p.yaml", PLAIN), ("base/kustomization.yaml", base), ("overlays/prod/kustomization.yaml", overlay), ("overlays/prod/hold.yaml", hold), ("clusters/prod/ks.yaml", flux)],
            Some("overlays/prod/kustomization.yaml gives what it builds"),
        ),
        (
            "templatePatch",
            vec![("base/p.yaml", PLAIN), ("argocd/set.yaml", set)],
            Some("ignores differences"),
        ),
        (
            "argocd-cm's single key",
            vec![("base/p.yaml", PLAIN), ("argocd/app.yaml", app), ("argocd/cm.yaml", cm)],
            Some("argocd-cm's resource.customizations"),
        ),
        (
            "Kyverno's autogen snippet",
            vec![("base/p.yaml", PLAIN), ("argocd/app.yaml", &*Box::leak(format!("{app}  ignoreDifferences:\n  - group: kyverno.io\n    kind: ClusterPolicy\n    jqPathExpressions: ['.spec.rules[] | select(.name|test(\"autogen-.\"))']\n").into_boxed_str()))],
            None,
        ),
    ];
    for (label, files, refused) in cases {
        let change = plan(
            &repo(&files),
            &cluster_policy("require-team"),
            &[],
            "require-team",
        );
        match refused {
            Some(said) => assert!(
                change.promote.is_none()
                    && change.problem.as_deref().is_some_and(|p| p.contains(said)),
                "{label}: {change:?}"
            ),
            None => assert!(change.promote.is_some(), "{label}: {change:?}"),
        }
    }
    // verify81 T1: no delivery here; the copy beside the Kyverno test is
    // the real one, `legacy/` a stale copy: still refused.
    let test = "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [require-team.yaml]\n";
    let files = repo(&[
        ("policies/require-team.yaml", PLAIN),
        ("policies/kyverno-test.yaml", test),
        ("legacy/require-team.yaml", PLAIN),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(
        change
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("is written in several places")),
        "{change:?}"
    );
}

/// verify82: Flux's marker in any YAML form a build gives it — a quoted
/// key, a flow map in commonLabels, `labels: pairs`, a JSON 6902 path
/// with `~1` — refuses; one on another policy's patch, or on a Flux
/// Kustomization building another folder, does not. Argo CD's glob kinds
/// and argocd-cm keys set through a chart's values refuse; an
/// ApplicationSet templatePatch for another kind does not.
#[test]
fn a_delivery_leaving_the_action_alone_is_read_in_any_form() {
    let flux = |path: &str| {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: prod, namespace: flux-system}}\nspec:\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n")
    };
    let other = PLAIN.replace("require-team", "require-owner");
    let with_overlay = |overlay: &str| {
        let prod = flux("./overlays/prod");
        let files = repo(&[
            ("base/p.yaml", PLAIN),
            ("base/o.yaml", other.as_str()),
            (
                "base/kustomization.yaml",
                "resources:\n- p.yaml\n- o.yaml\n",
            ),
            ("overlays/prod/kustomization.yaml", overlay),
            ("clusters/prod/ks.yaml", prod.as_str()),
        ]);
        plan(&files, &cluster_policy("require-team"), &[], "require-team")
    };
    for overlay in [
        "resources:\n- ../../base\ncommonAnnotations:\n  \"kustomize.toolkit.fluxcd.io/reconcile\": disabled\n",
        "resources:\n- ../../base\ncommonLabels: {kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}\n",
        "resources:\n- ../../base\nlabels:\n- pairs: {kustomize.toolkit.fluxcd.io/ssa: Ignore}\n",
        "resources:\n- ../../base\npatches:\n- target: {kind: ClusterPolicy}\n  patch: |-\n    - op: add\n      path: /metadata/annotations/kustomize.toolkit.fluxcd.io~1ssa\n      value: IfNotPresent\n",
    ] {
        let change = with_overlay(overlay);
        assert!(
            change.problem.as_deref().is_some_and(|p| p.contains("so Flux does not update the object")),
            "{overlay}: {change:?}"
        );
    }
    // On the other policy only: patched.
    let change = with_overlay("resources:\n- ../../base\npatches:\n- target: {kind: ClusterPolicy, name: require-owner}\n  patch: |-\n    - op: add\n      path: /metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile\n      value: disabled\n");
    assert!(change.promote.is_some(), "{change:?}");
    // A Flux Kustomization of another folder, marked itself: patched.
    let infra = flux("./infra").replace(
        "metadata: {name: prod, namespace: flux-system}",
        "metadata:\n  name: infra\n  namespace: flux-system\n  annotations: {kustomize.toolkit.fluxcd.io/reconcile: disabled}",
    );
    let policies = flux("./policies");
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("clusters/prod/policies.yaml", policies.as_str()),
        ("clusters/prod/infra.yaml", infra.as_str()),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
    // Argo CD.
    let app = |ignore: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: policies}}\nspec:\n  source: {{repoURL: https://example.com/r.git, path: policies}}\n  syncPolicy: {{automated: {{}}}}\n{ignore}")
    };
    let glob = app("  ignoreDifferences:\n  - group: '*'\n    kind: '*'\n    jsonPointers: [/spec/validationFailureAction]\n");
    let chart = app("").replace("path: policies}", "path: policies}\n  sources:\n  - repoURL: https://argoproj.github.io/argo-helm\n    chart: argo-cd\n    helm:\n      valuesObject:\n        configs:\n          cm:\n            resource.customizations.ignoreDifferences.kyverno.io_ClusterPolicy: |\n              jsonPointers: [/spec/validationFailureAction]\n");
    for (label, app) in [("glob", glob.as_str()), ("chart values", chart.as_str())] {
        let files = repo(&[("policies/p.yaml", PLAIN), ("argocd/app.yaml", app)]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.promote.is_none(), "{label}: {change:?}");
    }
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: apps}\nspec:\n  generators: [{list: {elements: [{env: prod}]}}]\n  template:\n    metadata: {name: 'apps-{{env}}'}\n    spec:\n      source: {repoURL: https://example.com/other.git, path: apps}\n  templatePatch: |\n    spec:\n      ignoreDifferences:\n      - group: apps\n        kind: Deployment\n        jsonPointers: [/spec/replicas]\n";
    let plain = app("");
    let files = repo(&[
        ("policies/p.yaml", PLAIN),
        ("argocd/app.yaml", plain.as_str()),
        ("argocd/set.yaml", set),
    ]);
    let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
    assert!(change.promote.is_some(), "{change:?}");
}

/// verify83: an ignoreDifferences of the action wherever a document gives
/// it — an ApplicationSet generator's own template, the argocd-apps
/// chart's values — refuses; a Flux marker's key and value apart
/// (`reconcile: enabled` beside `prune: disabled`), one in
/// generatorOptions (generated objects only), or in a patch body of
/// another kind, does not.
#[test]
fn ignore_differences_anywhere_and_markers_only_as_pairs() {
    let ignore = "      ignoreDifferences:\n      - kind: ClusterPolicy\n        jsonPointers: [/spec/validationFailureAction]\n";
    let set = format!("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: policies}}\nspec:\n  generators:\n  - list:\n      elements: [{{env: prod}}]\n      template:\n        metadata: {{}}\n        spec:\n          project: default\n{}\n  template:\n    metadata: {{name: 'policies-{{{{env}}}}'}}\n    spec:\n      source: {{repoURL: https://example.com/r.git, path: policies}}\n      syncPolicy: {{automated: {{}}}}\n", ignore.lines().map(|l| format!("    {l}\n")).collect::<String>().trim_end());
    let values = "applications:\n  policies:\n    source: {repoURL: https://example.com/r.git, path: policies}\n    ignoreDifferences:\n    - kind: ClusterPolicy\n      jsonPointers: [/spec/validationFailureAction]\n";
    for (label, extra) in [
        ("generator template", ("argocd/set.yaml", set.as_str())),
        ("chart values", ("argocd/values.yaml", values)),
    ] {
        let files = repo(&[("policies/p.yaml", PLAIN), extra]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(
            change.promote.is_none()
                && change
                    .problem
                    .as_deref()
                    .is_some_and(|p| p.contains("ignore")),
            "{label}: {change:?}"
        );
    }
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: prod, namespace: flux-system}\nspec:\n  path: ./overlays/prod\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
    for overlay in [
        "resources:\n- ../../base\ncommonAnnotations:\n  kustomize.toolkit.fluxcd.io/reconcile: enabled\n  kustomize.toolkit.fluxcd.io/prune: disabled\n",
        "resources:\n- ../../base\ngeneratorOptions:\n  annotations: {kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}\nconfigMapGenerator:\n- name: settings\n  literals: [a=b]\n",
        "resources:\n- ../../base\npatches:\n- patch: |-\n    apiVersion: v1\n    kind: Namespace\n    metadata:\n      name: team-a\n      annotations: {kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}\n",
    ] {
        let files = repo(&[
            ("base/p.yaml", PLAIN),
            ("base/kustomization.yaml", "resources:\n- p.yaml\n"),
            ("overlays/prod/kustomization.yaml", overlay),
            ("clusters/prod/ks.yaml", flux),
        ]);
        let change = plan(&files, &cluster_policy("require-team"), &[], "require-team");
        assert!(change.promote.is_some(), "{overlay}: {change:?}");
    }
    assert_eq!(
        flux_marker_in(
            &serde_json::json!([{"op": "add", "path": "/metadata/labels/kustomize.toolkit.fluxcd.io~1ssa", "value": "ignore"}])
        ),
        Some("kustomize.toolkit.fluxcd.io/ssa: Ignore".to_string())
    );
}
