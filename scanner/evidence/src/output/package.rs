//! The evidence package on disk: an [`Evidence`] enters and index.html,
//! evidence.md, evidence.json (streamed to disk, never held whole), the
//! generated PolicyExceptions
//! (`exceptions/*.yaml`), the Git patches of `--policy-repo`
//! (`patches/<policy>/promote.patch`, `rollback.patch`) and a MANIFEST (SHA-256 of each file, polscan's
//! version, the cluster's identity and the scan time) leave in a
//! directory; [`verify`] reads a directory back and says whether any file
//! was changed, added or removed since. Several environments' packages
//! merged ([`crate::merge`]) leave the same way, with merged.json in place
//! of evidence.json ([`write_merged`]); [`read_environment`] reads a
//! package back, verified, for the merge.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use serde::Deserialize;
use serde_json::Value;

use super::{html, markdown, merged as merged_pages};
use crate::error::EvidenceError;
use crate::merge::EnvironmentEvidence;
use crate::model::merged::MergedEvidence;
use crate::model::{Evidence, SCHEMA_VERSION};
use crate::promotion::{is_patch_file, PATCHES_DIR};

/// The file listing every other file's SHA-256, after `# key: value`
/// header lines.
pub const MANIFEST: &str = "MANIFEST";
/// The files every package holds besides the MANIFEST and the generated
/// PolicyExceptions.
pub const FILES: [&str; 3] = ["evidence.json", "evidence.md", "index.html"];
/// The files a merged package holds besides the MANIFEST.
pub const MERGED_FILES: [&str; 3] = ["merged.json", "evidence.md", "index.html"];
/// The MANIFEST's `format` of a package.
pub const FORMAT: &str = "polscan-evidence/v1";
/// The MANIFEST's `format` of a merged package.
pub const MERGED_FORMAT: &str = "polscan-evidence-merged/v1";
/// The directory of the generated PolicyExceptions.
pub const EXCEPTIONS_DIR: &str = "exceptions";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Header lines of the MANIFEST, from the evidence.
fn header(evidence: &Evidence) -> Vec<(String, String)> {
    let text = |value: Option<&String>| value.cloned().unwrap_or_else(|| "unknown".into());
    vec![
        ("format".into(), FORMAT.into()),
        ("polscan-version".into(), evidence.polscan_version.clone()),
        (
            "cluster-kube-system-uid".into(),
            text(evidence.cluster.kube_system_uid.as_ref()),
        ),
        (
            "cluster-server-version".into(),
            text(evidence.cluster.server_version.as_ref()),
        ),
        (
            "scan-started".into(),
            evidence
                .scan
                .as_ref()
                .and_then(|s| s.started)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "unknown".into()),
        ),
        ("generated".into(), evidence.generated.to_rfc3339()),
    ]
}

/// Header lines of a merged package's MANIFEST, from merged.json.
fn merged_header(merged: &MergedEvidence) -> Vec<(String, String)> {
    vec![
        ("format".into(), MERGED_FORMAT.into()),
        ("polscan-version".into(), merged.polscan_version.clone()),
        ("environments".into(), merged.labels().join(", ")),
        (
            "evidence-sha256".into(),
            merged
                .environments
                .iter()
                .map(|e| e.evidence_sha256.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("generated".into(), merged.generated.to_rfc3339()),
    ]
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes one file of the package (`name` relative to `dir`) through
/// `fill`, streaming: evidence.json holds every violation of the cluster
/// and is never held whole in memory. Written to a partial file that is
/// renamed when complete, so a reader never sees half a file. Returns the
/// file's SHA-256.
fn write_file(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(PathBuf, String), EvidenceError> {
    let path = dir.join(name);
    let partial = match name.rsplit_once('/') {
        Some((sub, file)) => dir.join(sub).join(format!(".{file}.partial")),
        None => dir.join(format!(".{name}.partial")),
    };
    let file = fs::File::create(&partial).map_err(io(&partial))?;
    let mut out = Hashing {
        inner: BufWriter::new(file),
        hasher: Sha256::new(),
    };
    fill(&mut out)
        .and_then(|()| out.flush())
        .map_err(io(&partial))?;
    drop(out.inner);
    fs::rename(&partial, &path).map_err(io(&path))?;
    Ok((path, hex::encode(out.hasher.finalize())))
}

/// The generated PolicyExceptions as files: their paths (checked to stay
/// inside the package) and YAML.
fn exception_files(evidence: &Evidence) -> Result<Vec<(&str, String)>, EvidenceError> {
    evidence
        .generated_exceptions
        .iter()
        .map(|generated| {
            if !is_exception_file(&generated.file) {
                return Err(EvidenceError::Invalid {
                    what: generated.file.clone(),
                    message: format!("not a file name under {EXCEPTIONS_DIR}/"),
                });
            }
            let yaml = serde_yaml::to_string(&generated.document).map_err(|err| {
                EvidenceError::Invalid {
                    what: generated.file.clone(),
                    message: err.to_string(),
                }
            })?;
            Ok((generated.file.as_str(), quote_timestamps(&yaml)))
        })
        .collect()
}

/// `yaml` with each plain `key: value` whose value a YAML 1.1 reader takes
/// for a timestamp (`2027-01-31`, PyYAML's `datetime.date`), a boolean or
/// a null (`yes`, `off`, `~`) in double quotes: annotation values are
/// strings (walk28 F12c, verify28). serde_yaml leaves
/// them plain, as YAML 1.2 has no timestamp type.
fn quote_timestamps(yaml: &str) -> String {
    let looks_like_date = |value: &str| {
        let bytes = value.as_bytes();
        bytes.len() >= 10
            && bytes[..4].iter().all(u8::is_ascii_digit)
            && bytes[4] == b'-'
            && bytes[5..7].iter().all(u8::is_ascii_digit)
            && bytes[7] == b'-'
            && bytes[8..10].iter().all(u8::is_ascii_digit)
            && !value.contains(['"', '\\', '\''])
    };
    // YAML 1.1's booleans and nulls (`yes`, `off`, `~`): kubectl's decoder
    // reads `reason: yes` as a bool and refuses the annotation (verify28).
    let yaml11_special = |value: &str| {
        matches!(
            value.to_ascii_lowercase().as_str(),
            "y" | "yes" | "n" | "no" | "on" | "off" | "true" | "false" | "null" | "~"
        )
    };
    let mut out = String::with_capacity(yaml.len() + 16);
    for line in yaml.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        match body.split_once(": ") {
            // Annotation keys (`polscan.io/…`) only: a field such as
            // `background: false` is a boolean and stays one.
            Some((key, value))
                if key.contains('/') && (looks_like_date(value) || yaml11_special(value)) =>
            {
                out.push_str(key);
                out.push_str(": \"");
                out.push_str(value);
                out.push('"');
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// The Git patches as files: their paths (checked to stay inside the
/// package) and diffs.
fn patch_files(evidence: &Evidence) -> Result<Vec<(&str, &str)>, EvidenceError> {
    evidence
        .policies
        .iter()
        .filter_map(|policy| policy.git_change.as_ref())
        .flat_map(|change| change.promote.iter().chain(&change.rollback))
        .map(|patch| {
            if is_patch_file(&patch.file) {
                Ok((patch.file.as_str(), patch.diff.as_str()))
            } else {
                Err(EvidenceError::Invalid {
                    what: patch.file.clone(),
                    message: format!("not a patch file name under {PATCHES_DIR}/"),
                })
            }
        })
        .collect()
}

/// A file a package holds besides the MANIFEST.
fn is_package_file(name: &str) -> bool {
    FILES.contains(&name)
        || MERGED_FILES.contains(&name)
        || is_exception_file(name)
        || is_patch_file(name)
}

/// `exceptions/<name>.yaml` with a plain name: nothing a crafted report
/// could use to write outside the package.
fn is_exception_file(path: &str) -> bool {
    path.strip_prefix(EXCEPTIONS_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| {
            name.ends_with(".yaml")
                && !name.starts_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
}

/// Every file of a package directory, relative to it (`exceptions/x.yaml`).
fn package_files(dir: &Path) -> Result<Vec<String>, EvidenceError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name == PATCHES_DIR && path.is_dir() {
            for policy in fs::read_dir(&path).map_err(io(&path))? {
                let policy = policy.map_err(io(&path))?;
                let policy_dir = policy.path();
                let policy_name = policy.file_name().to_string_lossy().into_owned();
                if !policy_dir.is_dir() {
                    found.push(format!("{PATCHES_DIR}/{policy_name}"));
                    continue;
                }
                for inner in fs::read_dir(&policy_dir).map_err(io(&policy_dir))? {
                    let inner = inner.map_err(io(&policy_dir))?;
                    found.push(format!(
                        "{PATCHES_DIR}/{policy_name}/{}",
                        inner.file_name().to_string_lossy()
                    ));
                }
            }
        } else if name == EXCEPTIONS_DIR && path.is_dir() {
            for inner in fs::read_dir(&path).map_err(io(&path))? {
                let inner = inner.map_err(io(&path))?;
                found.push(format!(
                    "{EXCEPTIONS_DIR}/{}",
                    inner.file_name().to_string_lossy()
                ));
            }
        } else {
            found.push(name);
        }
    }
    found.sort();
    Ok(found)
}

/// Writes the package into `dir` (created if missing). A directory holding
/// anything but a previous package is refused, so nothing else is lost; a
/// previous package is replaced only with `force` (packages are an audit
/// trail).
pub fn write(dir: &Path, evidence: &Evidence, force: bool) -> Result<Vec<PathBuf>, EvidenceError> {
    prepare_dir(dir, force)?;
    // What can be refused is refused before anything is written.
    let exceptions = exception_files(evidence)?;
    let patches = patch_files(evidence)?;
    if !exceptions.is_empty() {
        let exceptions = dir.join(EXCEPTIONS_DIR);
        fs::create_dir_all(&exceptions).map_err(io(&exceptions))?;
    }
    for (name, _) in &patches {
        if let Some((policy_dir, _)) = name.rsplit_once('/') {
            let policy_dir = dir.join(policy_dir);
            fs::create_dir_all(&policy_dir).map_err(io(&policy_dir))?;
        }
    }
    let mut manifest = String::from(
        "# polscan evidence package (check it with `polscan evidence verify <dir>`)\n",
    );
    for (key, value) in header(evidence) {
        manifest.push_str(&format!("# {key}: {value}\n"));
    }
    let mut written = Vec::new();
    let mut add = |name: &str, (path, sha): (PathBuf, String)| {
        manifest.push_str(&format!("{sha}  {name}\n"));
        written.push(path);
    };
    let [json, md, html] = FILES;
    add(
        json,
        write_file(dir, json, |out| {
            serde_json::to_writer_pretty(out, evidence).map_err(std::io::Error::from)
        })?,
    );
    // The pages show only so much of long lists: they are small.
    for (name, page) in [
        (md, markdown::render as fn(&Evidence) -> String),
        (html, html::render),
    ] {
        add(
            name,
            write_file(dir, name, |out| out.write_all(page(evidence).as_bytes()))?,
        );
    }
    for (name, text) in exceptions
        .iter()
        .map(|(name, yaml)| (*name, yaml.as_str()))
        .chain(patches.iter().copied())
    {
        add(
            name,
            write_file(dir, name, |out| out.write_all(text.as_bytes()))?,
        );
    }
    let path = dir.join(MANIFEST);
    fs::write(&path, manifest).map_err(io(&path))?;
    written.push(path);
    Ok(written)
}

/// Writes a merged package into `dir`: merged.json, its evidence.md and
/// index.html, and a MANIFEST `polscan evidence verify` checks. `dir` is
/// refused as [`write`] refuses it.
pub fn write_merged(
    dir: &Path,
    merged: &MergedEvidence,
    force: bool,
) -> Result<Vec<PathBuf>, EvidenceError> {
    prepare_dir(dir, force)?;
    let mut manifest = String::from(
        "# polscan merged evidence package (check it with `polscan evidence verify <dir>`)\n",
    );
    for (key, value) in merged_header(merged) {
        manifest.push_str(&format!("# {key}: {value}\n"));
    }
    let mut written = Vec::new();
    let [json, md, html] = MERGED_FILES;
    let pages = [
        (md, merged_pages::markdown(merged)),
        (html, merged_pages::html(merged)),
    ];
    let (path, sha) = write_file(dir, json, |out| {
        serde_json::to_writer_pretty(out, merged).map_err(std::io::Error::from)
    })?;
    manifest.push_str(&format!("{sha}  {json}\n"));
    written.push(path);
    for (name, page) in pages {
        let (path, sha) = write_file(dir, name, |out| out.write_all(page.as_bytes()))?;
        manifest.push_str(&format!("{sha}  {name}\n"));
        written.push(path);
    }
    let path = dir.join(MANIFEST);
    fs::write(&path, manifest).map_err(io(&path))?;
    written.push(path);
    Ok(written)
}

/// Readies `dir` for a package: created if missing; a directory holding
/// anything but a previous package is refused, a previous package is
/// replaced only with `force`, and its generated files are removed.
fn prepare_dir(dir: &Path, force: bool) -> Result<(), EvidenceError> {
    if dir.exists() {
        let existing = package_files(dir)?;
        for name in &existing {
            if name != MANIFEST && !is_package_file(name) {
                return Err(EvidenceError::Invalid {
                    what: dir.display().to_string(),
                    message: format!(
                        "holds {name}, which is not part of an evidence package: choose an empty or new directory"
                    ),
                });
            }
        }
        if !existing.is_empty() && !force {
            return Err(EvidenceError::Invalid {
                what: dir.display().to_string(),
                message: "holds an evidence package already: choose a new directory, or pass --force to replace it".into(),
            });
        }
        // The replaced package's generated files must not linger unlisted.
        let old_exceptions = dir.join(EXCEPTIONS_DIR);
        if old_exceptions.is_dir() {
            fs::remove_dir_all(&old_exceptions).map_err(io(&old_exceptions))?;
        }
        let old_patches = dir.join(PATCHES_DIR);
        if old_patches.is_dir() {
            fs::remove_dir_all(&old_patches).map_err(io(&old_patches))?;
        }
    } else {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    Ok(())
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Files whose SHA-256 matches the MANIFEST's.
    pub checked: Vec<String>,
    /// What is wrong, one line each: a file modified, added, unreadable or
    /// not a package's, a malformed MANIFEST line, a header that disagrees
    /// with evidence.json.
    pub problems: Vec<String>,
    /// The MANIFEST's header (`# key: value` lines), by key.
    pub header: BTreeMap<String, String>,
}

impl Verification {
    /// True when no problem was found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every file against the MANIFEST, that no file was added or
/// removed, and that the MANIFEST's header agrees with evidence.json (a
/// merged package's, `format: polscan-evidence-merged/v1`, with
/// merged.json).
pub fn verify(dir: &Path) -> Result<Verification, EvidenceError> {
    let manifest_path = dir.join(MANIFEST);
    let manifest = fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
    let mut found = Verification::default();
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for (number, line) in manifest.lines().enumerate() {
        if let Some(comment) = line.strip_prefix("# ") {
            if let Some((key, value)) = comment.split_once(": ") {
                found.header.insert(key.to_string(), value.to_string());
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        match line.split_once("  ") {
            Some((hash, name)) if hash.len() == 64 => {
                listed.insert(name.to_string(), hash.to_string());
            }
            _ => found.problems.push(format!(
                "MANIFEST line {}: not `<sha256>  <file>`",
                number + 1
            )),
        }
    }
    let merged = found.header.get("format").map(String::as_str) == Some(MERGED_FORMAT);
    let required = if merged { MERGED_FILES } else { FILES };
    for name in required {
        if !listed.contains_key(name) {
            found
                .problems
                .push(format!("{name} is not listed in the MANIFEST"));
        }
    }
    for (name, expected) in &listed {
        // A MANIFEST line is input: only the package's own file names.
        if !is_package_file(name) || (merged && !MERGED_FILES.contains(&name.as_str())) {
            found
                .problems
                .push(format!("{name}: not a file an evidence package holds"));
            continue;
        }
        let path = dir.join(name);
        match fs::read(&path) {
            Ok(bytes) => {
                let actual = sha256(&bytes);
                if &actual == expected {
                    found.checked.push(name.clone());
                } else {
                    found.problems.push(format!(
                        "{name} was modified: its SHA-256 is {actual}, the MANIFEST says {expected}"
                    ));
                }
            }
            Err(err) => found.problems.push(format!("{name}: {err}")),
        }
    }
    for name in package_files(dir)? {
        if name != MANIFEST && !listed.contains_key(&name) {
            found.problems.push(format!(
                "{name} is not in the MANIFEST (added after the package was made)"
            ));
        }
    }
    if found.problems.is_empty() && merged {
        let merged = read_merged_json(&dir.join(MERGED_FILES[0]))?;
        compare_header(&mut found, merged_header(&merged), MERGED_FILES[0]);
    } else if found.problems.is_empty() {
        let evidence = read_evidence_json(&dir.join("evidence.json"))?;
        let patches = evidence
            .policies
            .iter()
            .filter_map(|policy| policy.git_change.as_ref())
            .flat_map(|change| change.promote.iter().chain(&change.rollback))
            .map(|patch| &patch.file);
        for file in evidence
            .generated_exceptions
            .iter()
            .map(|generated| &generated.file)
            .chain(patches)
        {
            if !listed.contains_key(file) {
                found.problems.push(format!(
                    "{file} is named by evidence.json but not in the MANIFEST"
                ));
            }
        }
        compare_header(&mut found, header(&evidence), "evidence.json");
    }
    Ok(found)
}

/// Adds a problem per header line the MANIFEST does not hold as `file`
/// says it.
fn compare_header(found: &mut Verification, expected: Vec<(String, String)>, file: &str) {
    for (key, value) in expected {
        if found.header.get(&key) != Some(&value) {
            found.problems.push(format!(
                "MANIFEST says {key}: {}, {file} says {value}",
                found
                    .header
                    .get(&key)
                    .map(String::as_str)
                    .unwrap_or("nothing")
            ));
        }
    }
}

fn read_merged_json(path: &Path) -> Result<MergedEvidence, EvidenceError> {
    read_json(path)
}

/// The policies' `soak` objects of an evidence.json, whatever their shape:
/// read apart from [`Evidence`], which need not know it.
#[derive(Deserialize)]
struct SoakOnly {
    #[serde(default)]
    policies: Vec<PolicySoak>,
}

#[derive(Deserialize)]
struct PolicySoak {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    soak: Option<Value>,
}

/// Only the `schemaVersion` of an evidence.json.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaVersionOnly {
    schema_version: String,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EvidenceError> {
    let file = fs::File::open(path).map_err(io(path))?;
    serde_json::from_reader(BufReader::new(file)).map_err(|err| EvidenceError::Invalid {
        what: path.display().to_string(),
        message: err.to_string(),
    })
}

/// One environment's package for `polscan evidence merge`: `dir` must be
/// a package directory (not a merged one) that verifies, of this
/// polscan's schema version: unverified evidence is never merged.
pub fn read_environment(dir: &Path) -> Result<EnvironmentEvidence, EvidenceError> {
    let what = dir.display().to_string();
    let refuse = |message: String| EvidenceError::Invalid {
        what: what.clone(),
        message,
    };
    if !dir.is_dir() {
        return Err(refuse(
            "not a directory: give the directory of an evidence package (`polscan evidence --out <dir>`)".into(),
        ));
    }
    if !dir.join(MANIFEST).is_file() {
        return Err(refuse(format!(
            "no {MANIFEST}: not an evidence package (`polscan evidence --out <dir>` writes one)"
        )));
    }
    let verification = verify(dir)?;
    if verification.header.get("format").map(String::as_str) == Some(MERGED_FORMAT) {
        return Err(refuse(
            "a merged package: merge the environments' own packages".into(),
        ));
    }
    if !verification.ok() {
        return Err(refuse(format!(
            "does not verify, so it is not merged: {}",
            verification.problems.join("; ")
        )));
    }
    let path = dir.join("evidence.json");
    let version = read_json::<SchemaVersionOnly>(&path)?.schema_version;
    if version != SCHEMA_VERSION {
        return Err(refuse(format!(
            "its evidence.json is {version}; this polscan reads {SCHEMA_VERSION}: packages of other schema versions are not merged"
        )));
    }
    let evidence = read_evidence_json(&path)?;
    let soak = read_json::<SoakOnly>(&path)?
        .policies
        .into_iter()
        .filter_map(|policy| {
            let name = match policy.namespace {
                Some(namespace) => format!("{namespace}/{}", policy.name),
                None => policy.name,
            };
            Some((name, policy.soak?))
        })
        .collect();
    let mut hasher = Sha256::new();
    let mut file = fs::File::open(&path).map_err(io(&path))?;
    std::io::copy(&mut file, &mut hasher).map_err(io(&path))?;
    Ok(EnvironmentEvidence {
        package: what,
        evidence,
        evidence_sha256: hex::encode(hasher.finalize()),
        soak,
    })
}

/// Read as a stream: the file holds every violation of a cluster.
fn read_evidence_json(path: &Path) -> Result<Evidence, EvidenceError> {
    read_json(path)
}

/// A previous package for `--since`: a package directory (verified first:
/// a tampered baseline would make the comparison worthless) or an
/// evidence.json file. Its violations' text is shared as a built
/// evidence's is: it stays in memory while the current one is built.
pub fn read_previous(path: &Path) -> Result<Evidence, EvidenceError> {
    let mut previous = read_previous_unshared(path)?;
    previous.share_text();
    Ok(previous)
}

fn read_previous_unshared(path: &Path) -> Result<Evidence, EvidenceError> {
    if path.is_dir() {
        let verification = verify(path)?;
        if verification.header.get("format").map(String::as_str) == Some(MERGED_FORMAT) {
            return Err(EvidenceError::Invalid {
                what: path.display().to_string(),
                message: "a merged package: compare with one environment's own package".into(),
            });
        }
        if !verification.ok() {
            return Err(EvidenceError::Invalid {
                what: path.display().to_string(),
                message: format!(
                    "the previous package does not verify: {}",
                    verification.problems.join("; ")
                ),
            });
        }
        read_evidence_json(&path.join("evidence.json"))
    } else if let Some(package) = path.parent().filter(|dir| {
        dir.join(MANIFEST).is_file() && path.file_name() == Some("evidence.json".as_ref())
    }) {
        // The evidence.json of a package is verified with its package:
        // given as a file it was read unverified, an edit accepted
        // silently (walk25 F18).
        read_previous_unshared(package)
    } else {
        read_evidence_json(path)
    }
}

#[cfg(test)]
mod tests {
    /// walk28 F12c: a date annotation was written plain, which YAML 1.1
    /// readers take for a timestamp.
    #[test]
    fn dates_are_quoted_and_nothing_else_changes() {
        let yaml = "metadata:\n  annotations:\n    polscan.io/exception-expires: 2027-01-31\n    x.io/other: 2027-01-31T00:00:00Z\n    polscan.io/exception-reason: yes\n  name: a-2027-01-31\nspec:\n  background: false\n";
        assert_eq!(
            super::quote_timestamps(yaml),
            "metadata:\n  annotations:\n    polscan.io/exception-expires: \"2027-01-31\"\n    x.io/other: \"2027-01-31T00:00:00Z\"\n    polscan.io/exception-reason: \"yes\"\n  name: a-2027-01-31\nspec:\n  background: false\n"
        );
        let parsed: serde_json::Value =
            serde_yaml::from_str(&super::quote_timestamps(yaml)).expect("yaml");
        assert_eq!(
            parsed["metadata"]["annotations"]["polscan.io/exception-expires"],
            "2027-01-31"
        );
    }
}
