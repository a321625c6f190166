//! `polscan evidence --policy-repo <dir>`: the I/O around the evidence
//! crate's sans-IO `promotion`. A Git checkout of the policies enters; its
//! YAML files are read (`.git` skipped, symlinks not followed, only
//! `*.yaml` / `*.yml`) and each policy of the evidence leaves with its
//! `gitChange`: where its action is set and the promote / rollback
//! patches the package writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use polscan::evidence::promotion::{self, PolicyRef};
use polscan::evidence::Evidence;

/// Files larger than this are no policy manifests or values files.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The repository's YAML files, by path relative to `root` (`/`-separated).
fn read_files(root: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
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
            if kind.is_dir() {
                if name != ".git" {
                    pending.push(entry.path());
                }
                continue;
            }
            if !kind.is_file() || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
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
            // A file that is not UTF-8 is no manifest to edit as text.
            if let Ok(text) = std::fs::read_to_string(&path) {
                files.insert(relative.join("/"), text);
            }
        }
    }
    Ok(files)
}

/// `--policy-values` as paths relative to the repository.
fn relative_values(root: &Path, values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|value| {
            let path = Path::new(value);
            let relative = path.strip_prefix(root).unwrap_or(path);
            relative
                .to_string_lossy()
                .trim_start_matches("./")
                .replace('\\', "/")
        })
        .collect()
}

/// Gives each policy of `evidence` its Git change, from the checkout at
/// `root`. Returns warnings (a `--policy-values` file the checkout does
/// not hold).
pub fn attach(
    evidence: &mut Evidence,
    root: &Path,
    environment_values: &[String],
) -> anyhow::Result<Vec<String>> {
    let files = read_files(root)
        .with_context(|| format!("--policy-repo {}: reading the checkout", root.display()))?;
    let values = relative_values(root, environment_values);
    let warnings: Vec<String> = values
        .iter()
        .filter(|v| !files.contains_key(*v))
        .map(|v| {
            format!(
                "--policy-values {v}: no such YAML file in --policy-repo {}",
                root.display()
            )
        })
        .collect();
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
    // Parsed once for every policy.
    let repository = promotion::Repository::new(files);
    let changes: Vec<_> = policies
        .iter()
        .zip(&dirs)
        .zip(&evidence.policies)
        .map(|((policy, dir), evidence)| {
            // A policy only reports name has no kind to look for.
            evidence
                .found
                .then(|| repository.plan(policy, &values, dir))
        })
        .collect();
    for (policy, change) in evidence.policies.iter_mut().zip(changes) {
        policy.git_change = change;
    }
    Ok(warnings)
}
