//! `polscan evidence --policy-repo <dir>`: the I/O around the evidence
//! crate's sans-IO `promotion`. A Git checkout of the policies enters; its
//! YAML files are read (`.git` skipped, symlinks not followed, only
//! `*.yaml` / `*.yml`) and each policy of the evidence leaves with its
//! `gitChange`: where its action is set and the promote / rollback
//! patches the package writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use polscan::engine::ValueExt;
use polscan::evidence::promotion::{self, PolicyRef};
use polscan::evidence::Evidence;
use serde_json::Value;

/// Files larger than this are no policy manifests or values files.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// What is read of a checkout: its YAML files and its symbolic links.
struct Checkout {
    /// YAML files by path relative to the root (`/`-separated).
    files: BTreeMap<String, String>,
    /// Symbolic links resolving inside the checkout: link → what it
    /// resolves to, both relative to the root.
    links: BTreeMap<String, String>,
}

/// The repository's YAML files and in-checkout links, by path relative to
/// `root` (`/`-separated).
fn read_files(root: &Path) -> anyhow::Result<Checkout> {
    let mut files = BTreeMap::new();
    let mut links = BTreeMap::new();
    let canonical_root = root.canonicalize().ok();
    // Only what Git tracks: an ignored or untracked copy (a scratch file,
    // rendered output) is nothing Flux applies, and it made a policy
    // "written in several places", with no patch (walk28 F2).
    let tracked = tracked_files(root);
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // The entry's own type: a symlink is not followed out of the checkout.
            let kind = entry
                .file_type()
                .with_context(|| format!("reading {}", entry.path().display()))?;
            // Argo CD's repo server and kustomize follow a link that stays
            // in the checkout (Flux's artifacts leave links out): what it
            // names is applied there once more (verify69 V69-2).
            if kind.is_symlink() {
                let link = entry.path();
                let resolved = link.canonicalize().ok();
                let relative = |path: &Path, base: &Path| {
                    path.strip_prefix(base).ok().map(|relative| {
                        relative
                            .components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                };
                let target = resolved
                    .as_deref()
                    .zip(canonical_root.as_deref())
                    .and_then(|(resolved, base)| relative(resolved, base));
                let tracked_link = relative(&link, root).filter(|link| {
                    tracked
                        .as_ref()
                        .is_none_or(|tracked| tracked.contains(link))
                });
                if let (Some(link), Some(target)) = (tracked_link, target) {
                    links.insert(link, target);
                }
                continue;
            }
            if kind.is_dir() {
                if name != ".git" {
                    pending.push(entry.path());
                }
                continue;
            }
            // JSON is YAML, and Flux applies `.json` manifests too
            // (walk46 F14: a JSON copy of a policy was not seen).
            // Helm renders every file of a chart's templates/ but those
            // starting with `_` (verify49 V49-14: a `b.tpl` policy).
            let rendered_template = name.ends_with(".tpl")
                && !name.starts_with('_')
                && dir.file_name().is_some_and(|d| d == "templates");
            let manifest = [".yaml", ".yml", ".json"]
                .iter()
                .any(|extension| name.ends_with(extension))
                || rendered_template
                // kustomize's third name for its file (verify53 k4).
                || name == "Kustomization"
                // Flux's ignore file: what it names is not delivered
                // (verify57 V57-5).
                || name == polscan_evidence::promotion::SOURCE_IGNORE_FILE;
            if !kind.is_file() || !manifest {
                continue;
            }
            let path = entry.path();
            let too_large = entry
                .metadata()
                .map(|m| m.len() > MAX_FILE_BYTES)
                .unwrap_or(true);
            if too_large {
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let relative: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let relative = relative.join("/");
            if tracked
                .as_ref()
                .is_some_and(|tracked| !tracked.contains(&relative))
            {
                continue;
            }
            // A file that is not UTF-8 is no manifest to edit as text.
            if let Ok(text) = std::fs::read_to_string(&path) {
                files.insert(relative, text);
            }
        }
    }
    Ok(Checkout { files, links })
}

/// Where `root` is in its Git work tree (`/`-separated, `""` at its top
/// or outside Git). `git apply` reads a patch's paths from the top, and
/// run in a subdirectory silently skips the paths outside it: the patches
/// must name files from the top whatever folder `--policy-repo` names.
fn work_tree_prefix(root: &Path) -> String {
    let Ok(root) = root.canonicalize() else {
        return String::new();
    };
    // `.git` is a directory, or a file in a linked worktree or submodule.
    let Some(top) = root.ancestors().find(|dir| dir.join(".git").exists()) else {
        return String::new();
    };
    root.strip_prefix(top)
        .map(|relative| {
            relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

/// The folder a package's patches apply in, absolute: the top of the Git
/// work tree `root` is in (the patches name files from there), else `root`
/// itself (not in Git: the patches name files from it).
pub fn apply_dir(root: &Path) -> PathBuf {
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let resolved = root.canonicalize().unwrap_or_else(|_| root.clone());
    resolved
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or(resolved)
}

/// The files Git tracks under `root` (`git ls-files`, relative to it,
/// `/`-separated); None when `git` cannot tell (not installed, not a work
/// tree): then every file counts.
/// The URL of the checkout's `origin` remote, when Git has one.
fn origin_url(root: &Path) -> Option<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["remote", "get-url", "origin"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let url = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !url.is_empty()).then_some(url)
}

fn tracked_files(root: &Path) -> Option<std::collections::HashSet<String>> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--cached", "--", "."])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(
        output
            .stdout
            .split(|byte| *byte == 0)
            .filter(|path| !path.is_empty())
            .map(|path| String::from_utf8_lossy(path).into_owned())
            .collect(),
    )
}

/// Whether `root` is in a Git work tree (a `.git` in it or above).
fn in_work_tree(root: &Path) -> bool {
    root.canonicalize()
        .is_ok_and(|root| root.ancestors().any(|dir| dir.join(".git").exists()))
}

/// `path` (relative, `/`-separated) under `prefix`.
fn under(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_string()
    } else {
        format!("{prefix}/{path}")
    }
}

/// `--policy-values` as paths relative to the repository: given from the
/// current directory (inside `root`) or from `root`.
fn relative_values(root: &Path, values: &[String]) -> Vec<String> {
    let canonical_root = root.canonicalize().ok();
    values
        .iter()
        .map(|value| {
            let path = Path::new(value);
            let from_root = canonical_root
                .as_ref()
                .zip(path.canonicalize().ok())
                .and_then(|(root, path)| path.strip_prefix(root).ok().map(Path::to_path_buf));
            let relative =
                from_root.unwrap_or_else(|| path.strip_prefix(root).unwrap_or(path).to_path_buf());
            relative
                .to_string_lossy()
                .trim_start_matches("./")
                .replace('\\', "/")
        })
        .collect()
}

/// Gives each policy of `evidence` its Git change, from the checkout at
/// `root`, checked against the policy documents the evidence was built
/// from (`documents`, with the ValidatingAdmissionPolicyBindings): a
/// Git policy whose rules are not those that soaked gets no patch. With
/// the `--since` package (`previous`), a policy Git enforces already gets
/// the rollback.patch of the switch that package carries, where it still
/// applies ([`promotion::Repository::plan_after_switch`]).
/// Returns warnings (a `--policy-values` file the checkout does not hold).
pub fn attach(
    evidence: &mut Evidence,
    documents: &[Value],
    root: &Path,
    environment_values: &[String],
    previous: Option<&Evidence>,
    filtered: bool,
) -> anyhow::Result<Vec<String>> {
    let prefix = work_tree_prefix(root);
    // The whole work tree, whatever folder of it `root` is: what renders
    // or applies the policies' files (a HelmRelease, an Argo CD
    // Application, a kustomization) may be anywhere in it, and a folder
    // alone hid them (verify54 V54-4: a values file two clusters read was
    // patched as one's).
    let top = if in_work_tree(root) {
        apply_dir(root)
    } else {
        root.to_path_buf()
    };
    let Checkout { files, links } = read_files(&top)
        .with_context(|| format!("--policy-repo {}: reading the checkout", top.display()))?;
    let values: Vec<String> = relative_values(root, environment_values)
        .iter()
        .map(|v| under(&prefix, v))
        .collect();
    let mut warnings: Vec<String> = values
        .iter()
        .filter(|v| !files.contains_key(*v))
        .map(|v| {
            format!(
                "--policy-values {v}: no such YAML file in --policy-repo {}",
                root.display()
            )
        })
        .collect();
    if !in_work_tree(root) {
        warnings.insert(
            0,
            format!(
                "--policy-repo {}: not in a Git work tree (no .git in it or above): the patches name files from this folder, and nothing shows it is the checkout Flux reconciles",
                root.display()
            ),
        );
    }
    let policies: Vec<PolicyRef<'_>> = evidence
        .policies
        .iter()
        .map(|p| PolicyRef {
            kind: &p.info.kind,
            name: &p.info.name,
            namespace: p.info.namespace.as_deref(),
        })
        .collect();
    let dirs = promotion::patch_dirs(&policies);
    // Parsed once for every policy; the checkout's origin tells a
    // delivery reading another repository (verify61 V61-3).
    let repository = promotion::Repository::new(files)
        .with_origin(origin_url(&top))
        .with_links(links);
    let unreadable = repository.unreadable();
    if !unreadable.is_empty() {
        warnings.push(format!(
            "--policy-repo {}: not valid YAML, so not read (a policy written there is not seen, and Flux cannot apply the file either): {}",
            root.display(),
            unreadable.join(", ")
        ));
    }
    let bindings: Vec<&Value> = documents
        .iter()
        .filter(|d| d.str_at("/kind") == Some("ValidatingAdmissionPolicyBinding"))
        .collect();
    let changes: Vec<_> = policies
        .iter()
        .zip(&dirs)
        .zip(&evidence.policies)
        .map(|((policy, dir), evidence)| {
            // The document the soak judged: the verdict's.
            let soaked = documents
                .iter()
                .find(|d| {
                    d.str_at("/kind") == Some(policy.kind)
                        && d.str_at("/metadata/name") == Some(policy.name)
                        && d.str_at("/metadata/namespace") == policy.namespace
                })
                .map(|document| promotion::Soaked {
                    document,
                    bindings: &bindings,
                });
            // The switch's rollback, carried by the previous package, while
            // the policy's rules are those it was made for: a rule added
            // since (say, with its own Enforce) is no part of it, and the
            // rollback would leave it denying (verify47 V47-14).
            let carried = previous
                .and_then(|previous| {
                    previous.policies.iter().find(|p| {
                        p.info.kind == policy.kind
                            && p.info.name == policy.name
                            && p.info.namespace.as_deref() == policy.namespace
                    })
                })
                .and_then(|p| Some((p, p.git_change.as_ref()?.rollback.as_ref()?)));
            // A ValidatingAdmissionPolicy's bindings likewise: one added
            // since in [Deny] is no part of the switch (verify48 V48-10).
            let bindings = |info: &polscan::evidence::ingest::policy_info::PolicyInfo| {
                info.enforce
                    .iter()
                    .chain(&info.rollback)
                    .flat_map(|change| change.fields.iter().cloned())
                    .filter(|field| field.contains(" of binding "))
                    .collect::<std::collections::BTreeSet<String>>()
            };
            let rules_changed = carried.is_some_and(|(p, _)| {
                p.info.rules_digest.is_none()
                    || p.info.rules_digest != evidence.info.rules_digest
                    || bindings(&p.info) != bindings(&evidence.info)
            });
            let switch_rollback = carried
                .filter(|_| !rules_changed)
                .map(|(_, patch)| patch.diff.as_str());
            // A policy only reports name has no kind to look for.
            evidence.found.then(|| {
                let mut change = repository.plan_after_switch(
                    policy,
                    soaked.as_ref(),
                    &values,
                    dir,
                    switch_rollback,
                );
                if rules_changed && change.promote.is_none() && change.rollback.is_some() {
                    change.notes.push(
                        "the policy's rules (or bindings) changed since the --since package, so the switch's rollback.patch it carried may leave a new one enforced: this rollback.patch sets every action field to Audit".into(),
                    );
                }
                change
            })
        })
        .collect();
    for (policy, change) in evidence.policies.iter_mut().zip(changes) {
        policy.git_change = change;
    }
    promotion::hold_back_shared(evidence);
    // `--policy` left the other policies out of the evidence: what a
    // shared values line or base also makes cannot be judged (verify49
    // V49-9: the GO's patch enforced a NO-GO policy left out).
    if filtered {
        for policy in &mut evidence.policies {
            let Some(change) = policy.git_change.as_mut() else {
                continue;
            };
            // A values key, a template line (one template renders a policy
            // per release namespace: verify50 V50-9), a base several
            // overlays build.
            let shared = change.shared_source;
            if shared && (change.promote.is_some() || change.rollback.is_some()) {
                change.promote = None;
                change.rollback = None;
                change.problem = Some(
                    "its action is set where other policies may be made from too (a Helm values key, a kustomize base), and --policy left them out of this package: build it without --policy to have the patch".into(),
                );
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// verify69 V69-2: links resolving inside the checkout are read as
    /// `link → target` (a file's, a folder's); one leading out of it is
    /// not, and no link is read as a file.
    #[cfg(unix)]
    #[test]
    fn links_inside_the_checkout_are_read_as_links() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("envs/prod")).expect("mkdir");
        std::fs::create_dir_all(root.join("envs/staging")).expect("mkdir");
        std::fs::write(root.join("envs/prod/p.yaml"), "kind: ClusterPolicy\n").expect("write");
        std::os::unix::fs::symlink("../prod/p.yaml", root.join("envs/staging/p.yaml"))
            .expect("link");
        std::os::unix::fs::symlink("prod", root.join("envs/copy")).expect("link");
        std::os::unix::fs::symlink("/etc/hostname", root.join("envs/out.yaml")).expect("link");
        let checkout = read_files(root).expect("read");
        assert_eq!(
            checkout.files.keys().collect::<Vec<_>>(),
            ["envs/prod/p.yaml"]
        );
        assert_eq!(
            checkout.links,
            BTreeMap::from([
                ("envs/copy".to_string(), "envs/prod".to_string()),
                (
                    "envs/staging/p.yaml".to_string(),
                    "envs/prod/p.yaml".to_string()
                ),
            ])
        );
    }

    #[test]
    fn a_folder_of_a_work_tree_names_files_from_its_top() {
        let dir = tempfile::tempdir().expect("temp dir");
        let top = dir.path().join("repo");
        std::fs::create_dir_all(top.join(".git")).expect("mkdir");
        std::fs::create_dir_all(top.join("clusters/prod")).expect("mkdir");
        assert_eq!(work_tree_prefix(&top), "");
        assert_eq!(
            work_tree_prefix(&top.join("clusters/prod")),
            "clusters/prod"
        );
        assert_eq!(under("clusters/prod", "p.yaml"), "clusters/prod/p.yaml");
        assert_eq!(under("", "p.yaml"), "p.yaml");
        // A linked worktree's .git is a file.
        let linked = dir.path().join("linked");
        std::fs::create_dir_all(linked.join("sub")).expect("mkdir");
        std::fs::write(linked.join(".git"), "gitdir: elsewhere\n").expect("write");
        assert_eq!(work_tree_prefix(&linked.join("sub")), "sub");
    }

    /// A plain folder gets a warning; a folder of a work tree none.
    #[test]
    fn a_folder_outside_git_is_warned_about() {
        let dir = tempfile::tempdir().expect("temp dir");
        let plain = dir.path().join("plain");
        std::fs::create_dir_all(&plain).expect("mkdir");
        std::fs::write(
            plain.join("p.yaml"),
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec: {validationFailureAction: Audit, rules: []}\n",
        )
        .expect("write");
        assert!(!in_work_tree(&plain));
        let mut evidence: Evidence = serde_json::from_value(serde_json::json!({
            "schemaVersion": polscan::evidence::SCHEMA_VERSION,
            "generated": "2026-12-01T00:00:00Z",
            "polscanVersion": "test",
            "cluster": {"source": "files"},
            "expiryWindowDays": 30,
            "policies": [],
            "exceptions": [],
        }))
        .expect("an empty package");
        let warnings = attach(&mut evidence, &[], &plain, &[], None, false).expect("attach");
        assert!(
            warnings[0].contains("not in a Git work tree"),
            "{warnings:?}"
        );
        std::fs::create_dir_all(plain.join(".git")).expect("mkdir");
        assert!(in_work_tree(&plain));
        let warnings = attach(&mut evidence, &[], &plain, &[], None, false).expect("attach");
        assert!(warnings.is_empty(), "{warnings:?}");
        // walk46 F5: a file that is no YAML is named, not skipped quietly.
        std::fs::write(
            plain.join("broken.yaml"),
            "kind: ClusterPolicy\n---\nspec: {rules: [\n",
        )
        .expect("write");
        let warnings = attach(&mut evidence, &[], &plain, &[], None, false).expect("attach");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("not valid YAML")
                && warnings[0].ends_with("broken.yaml (document 2)"),
            "{warnings:?}"
        );
    }

    /// walk46 F14: a `.json` copy of a policy is read (Flux applies it):
    /// two copies give the reason instead of a patch of one of them.
    /// verify49 V49-14: Helm renders a `templates/b.tpl`, not a
    /// `_helpers.tpl` (nor a `.tpl` elsewhere): only the first is read.
    #[test]
    fn rendered_tpl_templates_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("c/templates")).expect("mkdir");
        for file in [
            "c/templates/b.tpl",
            "c/templates/_helpers.tpl",
            "c/notes.tpl",
        ] {
            std::fs::write(root.join(file), "kind: ClusterPolicy\n").expect("write");
        }
        let files = read_files(root).expect("read").files;
        assert!(
            files.contains_key("c/templates/b.tpl"),
            "{:?}",
            files.keys()
        );
        assert!(!files.contains_key("c/templates/_helpers.tpl"));
        assert!(!files.contains_key("c/notes.tpl"));
    }

    /// verify57 V57-5: Flux's `.sourceignore` is read, and what it
    /// excludes gets no patch; it is no manifest to warn about.
    #[test]
    fn a_sourceignore_file_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("legacy")).expect("mkdir");
        let yaml = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  validationFailureAction: Audit\n  rules: []\n";
        std::fs::write(root.join("legacy/p.yaml"), yaml).expect("write");
        std::fs::write(root.join(".sourceignore"), "# drafts\nlegacy/\n").expect("write");
        let files = read_files(root).expect("read").files;
        assert!(files.contains_key(".sourceignore"), "{:?}", files.keys());
        let change = promotion::plan(
            &files,
            &promotion::PolicyRef {
                kind: "ClusterPolicy",
                name: "p",
                namespace: None,
            },
            &[],
            "p",
        );
        assert!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains(".sourceignore excludes it")),
            "{change:?}"
        );
        assert!(promotion::Repository::new(files).unreadable().is_empty());
    }

    #[test]
    fn a_json_copy_of_a_policy_is_seen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).expect("mkdir");
        let yaml = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {pattern: {metadata: {name: '?*'}}}\n";
        std::fs::write(root.join("p.yaml"), yaml).expect("write");
        std::fs::write(
            root.join("copy.json"),
            r#"{"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"}, "spec": {"validationFailureAction": "Audit"}}"#,
        )
        .expect("write");
        std::fs::write(root.join("tool.json"), "{ // settings\n}").expect("write");
        let files = read_files(root).expect("read").files;
        assert!(files.contains_key("copy.json"), "{:?}", files.keys());
        let change = promotion::plan(
            &files,
            &promotion::PolicyRef {
                kind: "ClusterPolicy",
                name: "p",
                namespace: None,
            },
            &[],
            "p",
        );
        assert!(change.promote.is_none(), "{change:?}");
        assert!(
            change
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("copy.json")),
            "{change:?}"
        );
        // A JSON file that is no manifest is not warned about.
        assert!(promotion::Repository::new(files).unreadable().is_empty());
    }

    #[test]
    fn policy_values_are_read_from_the_root_or_the_current_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("c")).expect("mkdir");
        std::fs::write(root.join("c/values-prod.yaml"), "a: 1\n").expect("write");
        let absolute = root.join("c/values-prod.yaml").display().to_string();
        assert_eq!(
            relative_values(root, &[absolute, "c/values-prod.yaml".into()]),
            ["c/values-prod.yaml", "c/values-prod.yaml"]
        );
    }
}
