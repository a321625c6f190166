//! The policy repository read once: its files' texts (path → content)
//! enter; per file its documents (split at `---`), each parsed as YAML
//! (not a Helm template's, which is no YAML until rendered), walked line by
//! line, and named by kind and name, leave — so that planning many
//! policies parses nothing twice. A change (the promotion) makes a new
//! [`Repository`] that shares every file it did not touch.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use serde_json::Value;

use super::diff;
use super::yaml_lines::{entries, unquote, Entry};

/// The YAML files of a policy repository, parsed.
#[derive(Debug, Clone)]
pub struct Repository {
    pub(super) files: BTreeMap<String, Arc<File>>,
    /// Directories holding a `Chart.yaml` (`""` for the root).
    pub(super) charts: BTreeSet<String>,
    /// Flux's `.sourceignore` files: their folder (`""` for the root) →
    /// text. Kept apart: they are no YAML.
    pub(super) source_ignores: BTreeMap<String, String>,
    /// The checkout's `origin` URL, as [`same_repository`] compares it;
    /// None when not known.
    pub(super) origin: Option<String>,
    /// Symbolic links resolving inside the checkout: link → what it
    /// resolves to (a file or folder), both repository paths.
    pub(super) links: BTreeMap<String, String>,
}

/// Whether two Git URLs name one repository: compared without scheme,
/// user, port, `.git` suffix, trailing slash and case
/// (`git@github.com:org/r.git`, `ssh://git@github.com:22/org/r` and
/// `https://github.com/org/r` are one).
pub(super) fn same_repository(a: &str, b: &str) -> bool {
    fn key(url: &str) -> String {
        let url = url.trim().trim_end_matches('/');
        let url = url.strip_suffix(".git").unwrap_or(url);
        let url = url.split_once("://").map_or(url, |(_, rest)| rest);
        let url = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
        // host, then the path: after `/`, or `:` (scp-like), past a port.
        let (host, path) = url.split_once(['/', ':']).unwrap_or((url, ""));
        let path = match path.split_once('/') {
            Some((port, rest)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => {
                rest
            }
            _ => path,
        };
        // `git@host:/org/repo` and `www.host` name the same repository
        // (verify63 V63-12).
        let path = path.trim_start_matches('/');
        let host = host.strip_prefix("www.").unwrap_or(host);
        // Azure DevOps's older host: org.visualstudio.com/proj/_git/repo
        // is dev.azure.com/org/proj/_git/repo (with an optional
        // DefaultCollection segment).
        if let Some(organisation) = host.strip_suffix(".visualstudio.com") {
            let path = path.strip_prefix("DefaultCollection/").unwrap_or(path);
            return format!("dev.azure.com/{organisation}/{path}").to_lowercase();
        }
        // Azure DevOps's SSH form names the HTTPS one's repository
        // (verify62 V62-8): ssh.dev.azure.com/v3/org/proj/repo is
        // dev.azure.com/org/proj/_git/repo.
        if host.eq_ignore_ascii_case("ssh.dev.azure.com") {
            if let Some(rest) = path.strip_prefix("v3/") {
                if let Some((project, repository)) = rest.rsplit_once('/') {
                    return format!("dev.azure.com/{project}/_git/{repository}").to_lowercase();
                }
            }
        }
        format!("{host}/{path}").to_lowercase()
    }
    key(a) == key(b)
}

/// The name of Flux source-controller's ignore file (gitignore format,
/// read in every folder of a source).
pub const SOURCE_IGNORE_FILE: &str = ".sourceignore";

/// One file: its text and documents.
#[derive(Debug)]
pub(super) struct File {
    pub text: String,
    /// The chart whose `templates/` holds it.
    pub template_of: Option<String>,
    pub documents: Vec<Document>,
}

/// What names a document: its apiVersion, kind, name, namespace and (a
/// binding's) `spec.policyName`, unquoted as written.
#[derive(Debug, Clone, Default)]
pub(super) struct Identity {
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub policy_name: Option<String>,
}

/// A document of a file.
#[derive(Debug)]
pub(super) struct Document {
    /// Its position among the file's documents.
    pub index: usize,
    /// Its lines in the file.
    pub lines: Range<usize>,
    /// As YAML; None for a template or what does not parse.
    pub value: Option<Value>,
    /// A delivery template's other renders (another values set of its
    /// chart: see `render_delivery_templates`); empty otherwise.
    pub alternates: Vec<Value>,
    /// Its keys and list items, lines relative to its first.
    pub entries: Vec<Entry>,
    /// None when it has no kind or name.
    pub identity: Option<Identity>,
}

impl Repository {
    /// Reads `files` (path relative to the repository's root,
    /// `/`-separated → text).
    /// Files named [`SOURCE_IGNORE_FILE`] are read as Flux's ignore
    /// files, not as manifests.
    pub fn new(files: BTreeMap<String, String>) -> Repository {
        let (ignores, files): (BTreeMap<String, String>, BTreeMap<String, String>) = files
            .into_iter()
            .partition(|(path, _)| path.rsplit('/').next() == Some(SOURCE_IGNORE_FILE));
        let source_ignores = ignores
            .into_iter()
            .map(|(path, text)| {
                let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
                (folder, text)
            })
            .collect();
        let charts = chart_roots(files.keys());
        let mut files: BTreeMap<String, File> = files
            .into_iter()
            .map(|(path, text)| {
                let file = File::new(&path, text, &charts);
                (path, file)
            })
            .collect();
        render_delivery_templates(&mut files);
        let files = files
            .into_iter()
            .map(|(path, file)| (path, Arc::new(file)))
            .collect();
        Repository {
            files,
            charts,
            source_ignores,
            origin: None,
            links: BTreeMap::new(),
        }
    }

    /// Every document of every file that reads as YAML, as its value.
    pub(super) fn document_values(&self) -> impl Iterator<Item = &Value> {
        self.files
            .values()
            .flat_map(|f| &f.documents)
            .filter_map(|d| d.value.as_ref())
    }

    /// This repository with its checkout's `origin` URL (`git remote
    /// get-url origin`), telling deliveries that read another repository.
    pub fn with_origin(mut self, origin: Option<String>) -> Repository {
        self.origin = origin;
        self
    }

    /// The checkout's symbolic links that resolve inside it, as `link →
    /// target` repository paths (`/`-separated): Argo CD and kustomize
    /// follow them, so a file they reach is applied through each link too
    /// (verify69 V69-2). None are known until given.
    pub fn with_links(mut self, links: BTreeMap<String, String>) -> Repository {
        self.links = links;
        self
    }

    /// Plain YAML files (not a chart's templates) with a document that
    /// does not parse, as `path (document N)`, N from 1: a policy written
    /// there is not seen, and Flux cannot apply the file either (walk46
    /// F5: skipped without a word).
    pub fn unreadable(&self) -> Vec<String> {
        self.files
            .iter()
            // Other JSON files (a tool's settings, with comments) are no
            // manifests to warn about.
            .filter(|(path, file)| file.template_of.is_none() && !path.ends_with(".json"))
            .flat_map(|(path, file)| {
                file.documents
                    .iter()
                    .filter(|document| document.value.is_none())
                    .map(move |document| format!("{path} (document {})", document.index + 1))
            })
            .collect()
    }

    /// A file's text.
    pub(super) fn text(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(|file| file.text.as_str())
    }

    /// Why Flux's source-controller leaves `file` (a repository path) out
    /// of the artifact it builds of this repository, if it may: a
    /// `.sourceignore` in its folder or above, the `spec.ignore` of a
    /// GitRepository, OCIRepository or Bucket here, or a GitRepository's
    /// `spec.sparseCheckout` not holding it (source-controller's docs:
    /// gitignore patterns, each `.sourceignore` relative to its folder,
    /// `spec.ignore` to the root, all of them in force together). A
    /// source of another repository counts too: not told apart here, and
    /// a patch refused is the safe side (verify57 V57-5: an ignored file
    /// was patched, changing nothing).
    pub(super) fn source_ignored(&self, file: &str) -> Option<String> {
        // Matched under a made-up root: the matcher reads no file.
        const ROOT: &str = "/checkout";
        if file.starts_with('/') || file.split('/').any(|part| part == "..") {
            return None;
        }
        let full = format!("{ROOT}/{file}");
        for (folder, text) in &self.source_ignores {
            if !(folder.is_empty() || file.starts_with(&format!("{folder}/"))) {
                continue;
            }
            let root = if folder.is_empty() {
                ROOT.to_string()
            } else {
                format!("{ROOT}/{folder}")
            };
            if ignores(&root, text, &full) {
                let name = if folder.is_empty() {
                    SOURCE_IGNORE_FILE.to_string()
                } else {
                    format!("{folder}/{SOURCE_IGNORE_FILE}")
                };
                return Some(format!("{name} excludes it"));
            }
        }
        for (path, entry) in &self.files {
            for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
                let source = value
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("source.toolkit.fluxcd.io/"));
                let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
                if !source || !matches!(kind, "GitRepository" | "OCIRepository" | "Bucket") {
                    continue;
                }
                if let Some(patterns) = value.pointer("/spec/ignore").and_then(Value::as_str) {
                    if ignores(ROOT, patterns, &full) {
                        return Some(format!("the {kind} in {path} ignores it (spec.ignore)"));
                    }
                }
                let sparse: Vec<&str> = value
                    .pointer("/spec/sparseCheckout")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let held = sparse.iter().any(|dir| {
                    let dir = dir.trim_start_matches("./").trim_matches('/');
                    dir.is_empty() || file.starts_with(&format!("{dir}/"))
                });
                if kind == "GitRepository" && !sparse.is_empty() && !held {
                    return Some(format!(
                        "the GitRepository in {path} checks out only {} (spec.sparseCheckout)",
                        sparse.join(", ")
                    ));
                }
            }
        }
        None
    }
}

/// Whether gitignore `patterns`, rooted at `root`, exclude `path` (under
/// `root`) or a folder holding it. A pattern that is no valid glob
/// matches nothing, as in Git.
fn ignores(root: &str, patterns: &str, path: &str) -> bool {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
    for line in patterns.lines() {
        // An invalid glob is skipped (Git ignores it too); the rest stand.
        let _ = builder.add_line(None, line);
    }
    builder
        .build()
        .is_ok_and(|matcher| matcher.matched_path_or_any_parents(path, false).is_ignore())
}

/// The kinds that deliver: what applies files to a cluster, and Flux's
/// sources they read.
pub(super) const DELIVERY_KINDS: [&str; 6] = [
    "Application",
    "ApplicationSet",
    "Kustomization",
    "HelmRelease",
    "GitRepository",
    "OCIRepository",
];

/// Gives a chart template's delivery documents (an app-of-apps chart's
/// Applications: verify63 V63-1; not HelmReleases) a value, rendered as
/// Helm would where the template only reads values (`{{ .Values.a.b }}`,
/// `| quote`, `| default "x"`, whole-line `if`/`end`): once per set of
/// values the chart may be rendered with ([`chart_value_sets`]): the
/// first is the document's value, the others its
/// [`Document::alternates`]. Where a set is not known or one render
/// fails, it stays without one (read by its lines where it matters).
/// Templates of other kinds (policies) are not touched: they are followed
/// through their values.
fn render_delivery_templates(files: &mut BTreeMap<String, File>) {
    // Not a HelmRelease: its spec.values are where a policy chart's action
    // may be set, and a template's line is no place to patch one.
    let rendered = |document: &Document| {
        document
            .identity
            .as_ref()
            .is_some_and(|i| DELIVERY_KINDS.contains(&i.kind.as_str()) && i.kind != "HelmRelease")
    };
    let paths: Vec<String> = files
        .iter()
        .filter(|(_, file)| file.template_of.is_some() && file.documents.iter().any(rendered))
        .map(|(path, _)| path.clone())
        .collect();
    for path in paths {
        let Some(root) = files.get(&path).and_then(|f| f.template_of.clone()) else {
            continue;
        };
        let Some(sets) = chart_value_sets(files, &root) else {
            continue;
        };
        let Some(file) = files.get_mut(&path) else {
            continue;
        };
        let all = diff::lines(&file.text);
        for document in &mut file.documents {
            if !rendered(document) {
                continue;
            }
            let text = all.get(document.lines.clone()).unwrap_or_default().concat();
            let text = without_conditions(&text);
            let mut renders: Vec<Value> = Vec::new();
            for values in &sets {
                match render_values(&text, values)
                    .and_then(|rendered| polscan_engine::yaml::from_str::<Value>(&rendered).ok())
                {
                    Some(value) if !renders.contains(&value) => renders.push(value),
                    Some(_) => {}
                    None => {
                        renders.clear();
                        break;
                    }
                }
            }
            let mut renders = renders.into_iter();
            document.value = renders.next();
            document.alternates = renders.collect();
        }
    }
}

/// `text` without the lines that only open or close a condition
/// (`{{- if .Values.enabled }}`, `{{- end }}`): the document is read as
/// rendered. Kept where the text has an `else` (two documents in one).
fn without_conditions(text: &str) -> String {
    static CONDITION: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\s*\{\{-?\s*(?:if\s[^}]*|end)\s*-?\}\}\s*$").ok()
    });
    let Some(condition) = CONDITION.as_ref() else {
        return text.to_string();
    };
    if text.contains("else") {
        return text.to_string();
    }
    text.split_inclusive('\n')
        .filter(|line| !condition.is_match(line.trim_end_matches(['\n', '\r'])))
        .collect()
}

/// The sets of values the chart at `root` may be rendered with: its
/// `values.yaml` with what each delivery of the checkout rendering it
/// adds (an Argo CD source's `helm.valueFiles`, `values`, `valuesObject`;
/// a Flux HelmRelease's `valuesFiles`, `spec.values`); with no such
/// delivery, `values.yaml` alone and with each other values file beside
/// it (an app of apps whose root Application is elsewhere: verify64
/// V64-8, V64-6). None where they are not known: a subchart (its parent's
/// values override: V64-2), `parameters`, `valuesFrom`, a values file not
/// in the checkout.
fn chart_value_sets(files: &BTreeMap<String, File>, root: &str) -> Option<Vec<Value>> {
    let at = |relative: &str| -> String {
        if root.is_empty() {
            relative.to_string()
        } else {
            format!("{root}/{relative}")
        }
    };
    let value_of =
        |path: &str| -> Option<Value> { files.get(path)?.documents.first()?.value.clone() };
    // A subchart: nested in another chart, or a `file://` dependency.
    let charts: Vec<&String> = files
        .keys()
        .filter(|p| p.rsplit('/').next() == Some("Chart.yaml"))
        .collect();
    for chart in &charts {
        let folder = chart.rsplit_once('/').map_or("", |(dir, _)| dir);
        if folder != root && (folder.is_empty() || root.starts_with(&format!("{folder}/"))) {
            return None;
        }
        let depends = files
            .get(chart.as_str())
            .and_then(|f| {
                f.documents
                    .first()?
                    .value
                    .as_ref()?
                    .get("dependencies")?
                    .as_array()
                    .cloned()
            })
            .unwrap_or_default();
        for dependency in depends {
            if let Some(local) = dependency
                .get("repository")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("file://"))
            {
                if super::joined(folder, local) == root {
                    return None;
                }
            }
        }
    }
    let base = ["values.yaml", "values.yml"]
        .iter()
        .find_map(|name| value_of(&at(name)))
        .unwrap_or(Value::Null);
    // A build that may reshape the deliveries rendering it (an overlay
    // adding a values file to the root Application, or patching a
    // HelmRelease's values, per cluster: verify65 V65-1): not known.
    if deliveries_reshaped(files) {
        return None;
    }
    let mut sets: Vec<Value> = Vec::new();
    for value in files
        .values()
        .flat_map(|f| &f.documents)
        .filter_map(|d| d.value.as_ref())
    {
        let api = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if api.starts_with("argoproj.io/") {
            for source in super::argo_sources(value) {
                let Some(path) = source.get("path").and_then(Value::as_str) else {
                    continue;
                };
                if super::joined("", path) != root {
                    continue;
                }
                let mut these = vec![base.clone()];
                if let Some(helm) = source.get("helm") {
                    if helm.get("parameters").is_some() || helm.get("fileParameters").is_some() {
                        return None;
                    }
                    for file in helm
                        .get("valueFiles")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        // An ApplicationSet's `values-{{cluster}}.yaml`: each
                        // file it may name (verify64 V64-6).
                        let named: Vec<Value> = if file.contains("{{") {
                            let pattern: String = super::joined(root, file)
                                .split("{{")
                                .enumerate()
                                .map(|(i, part)| match part.split_once("}}") {
                                    Some((_, rest)) if i > 0 => {
                                        format!(".*{}", regex::escape(rest))
                                    }
                                    _ => regex::escape(part),
                                })
                                .collect();
                            let matching = regex::Regex::new(&format!("^{pattern}$")).ok()?;
                            files
                                .keys()
                                .filter(|p| matching.is_match(p))
                                .filter_map(|p| value_of(p))
                                .collect()
                        } else {
                            vec![value_of(&super::joined(root, file))?]
                        };
                        if named.is_empty() {
                            return None;
                        }
                        these = these
                            .iter()
                            .flat_map(|values| {
                                named.iter().map(move |over| {
                                    let mut merged = values.clone();
                                    merge(&mut merged, over.clone());
                                    merged
                                })
                            })
                            .collect();
                    }
                    for values in &mut these {
                        if let Some(inline) = helm.get("values").and_then(Value::as_str) {
                            merge(
                                values,
                                polscan_engine::yaml::from_str::<Value>(inline).ok()?,
                            );
                        }
                        if let Some(object) = helm.get("valuesObject") {
                            merge(values, object.clone());
                        }
                    }
                }
                sets.extend(these);
            }
        } else if value.get("kind").and_then(Value::as_str) == Some("HelmRelease")
            && value
                .pointer("/spec/chart/spec/chart")
                .and_then(Value::as_str)
                .is_some_and(|chart| super::joined("", chart) == root)
        {
            if value.pointer("/spec/valuesFrom").is_some() {
                return None;
            }
            let mut values = base.clone();
            for file in value
                .pointer("/spec/chart/spec/valuesFiles")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                merge(&mut values, value_of(&super::joined("", file))?);
            }
            if let Some(inline) = value.pointer("/spec/values") {
                merge(&mut values, inline.clone());
            }
            sets.push(values);
        }
    }
    if sets.is_empty() {
        sets.push(base.clone());
        let beside = files.keys().filter(|p| {
            p.rsplit_once('/').map_or("", |(dir, _)| dir) == root
                && is_values_file(p)
                && !matches!(p.rsplit('/').next(), Some("values.yaml" | "values.yml"))
        });
        for path in beside {
            let mut values = base.clone();
            merge(&mut values, value_of(path)?);
            sets.push(values);
        }
    }
    Some(sets)
}

/// Whether a kustomize patch or replacement of the checkout (in a
/// kustomization, a Flux Kustomization's `spec.patches`, an Argo CD
/// source's `kustomize.patches`) may reach an Application,
/// ApplicationSet or HelmRelease: its target's kind is one of them or not
/// given, or the strategic-merge document it reads is one.
fn deliveries_reshaped(files: &BTreeMap<String, File>) -> bool {
    const KINDS: [&str; 3] = ["Application", "ApplicationSet", "HelmRelease"];
    for (path, file) in files {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        for value in file.documents.iter().filter_map(|d| d.value.as_ref()) {
            let mut items: Vec<&Value> = Vec::new();
            for pointer in [
                "/patches",
                "/patchesJson6902",
                "/patchesStrategicMerge",
                "/replacements",
                "/spec/patches",
            ] {
                items.extend(
                    value
                        .pointer(pointer)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            }
            for source in super::argo_sources(value) {
                items.extend(
                    source
                        .pointer("/kustomize/patches")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            }
            for item in items {
                let targets: Vec<Option<&str>> = match item.get("targets").and_then(Value::as_array)
                {
                    Some(targets) => targets
                        .iter()
                        .map(|t| t.pointer("/select/kind").and_then(Value::as_str))
                        .collect(),
                    None => vec![item.pointer("/target/kind").and_then(Value::as_str)],
                };
                let text = entry_text(
                    |path| files.get(path).map(|f| f.text.as_str()),
                    folder,
                    item,
                );
                let names_kind = KINDS.iter().any(|kind| {
                    text.contains(&format!("kind: {kind}\n"))
                        || text.contains(&format!("kind: {kind}\r"))
                });
                let reaches = targets.iter().any(|kind| match kind {
                    Some(kind) => KINDS.contains(kind),
                    // No kind: a strategic merge's own document says.
                    None => names_kind || !text.contains("kind:"),
                });
                if reaches || names_kind {
                    return true;
                }
            }
        }
    }
    false
}

/// The text of a kustomize list entry (a patch or a replacement, in a
/// kustomization, a Flux Kustomization's `spec.patches` or an Argo CD
/// source's `kustomize.patches`): the file it names (`path`, or a
/// one-line string as `patchesStrategicMerge` lists them; relative to
/// `folder`), else its inline `patch`, else the inline strategic-merge
/// string, else the entry itself as JSON (an inline replacement, whose
/// `fieldPaths` are what is looked for). One reading for every caller, so
/// that a patch is seen the same way wherever it is weighed.
pub(super) fn entry_text<'a>(
    text_at: impl Fn(&str) -> Option<&'a str>,
    folder: &str,
    item: &Value,
) -> String {
    let named = item
        .get("path")
        .and_then(Value::as_str)
        .or(item.as_str().filter(|text| !text.contains('\n')));
    if let Some(text) = named.and_then(|relative| text_at(&super::joined(folder, relative))) {
        return text.to_string();
    }
    if let Some(patch) = item.get("patch").and_then(Value::as_str) {
        return patch.to_string();
    }
    match item {
        Value::String(text) => text.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Helm's merge of values: maps key by key, anything else replaced.
fn merge(into: &mut Value, over: Value) {
    match (into, over) {
        (Value::Object(into), Value::Object(over)) => {
            for (key, value) in over {
                match into.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        into.insert(key, value);
                    }
                }
            }
        }
        (into, Value::Null) if !into.is_null() => {}
        (into, over) => *into = over,
    }
}

/// `text` with each `{{ .Values.a.b }}` (trim markers, `| quote` and
/// `| squote` allowed) replaced by that value of `values`; None where a
/// value is missing or not a scalar, or where other template text is
/// left (conditions, ranges, functions: not rendered here).
fn render_values(text: &str, values: &Value) -> Option<String> {
    static ACTION: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"\{\{-?\s*\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)((?:\s*\|\s*(?:quote|squote|default\s+"[^"]*"))*)\s*-?\}\}"#,
        )
        .ok()
    });
    static PIPE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"\|\s*(quote|squote|default\s+"([^"]*)")"#).ok()
    });
    let (action, pipe) = (ACTION.as_ref()?, PIPE.as_ref()?);
    let mut missing = false;
    let rendered = action.replace_all(text, |captures: &regex::Captures<'_>| {
        let pointer = captures[1].replace('.', "/");
        let mut scalar = match values.pointer(&pointer) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(Value::Bool(flag)) => Some(flag.to_string()),
            _ => None,
        };
        let mut quoting = None;
        for step in pipe.captures_iter(&captures[2]) {
            match (&step[1], step.get(2)) {
                (_, Some(default)) => {
                    if scalar.as_deref().is_none_or(str::is_empty) {
                        scalar = Some(default.as_str().to_string());
                    }
                }
                (how, None) => quoting = Some(how.to_string()),
            }
        }
        match (scalar, quoting.as_deref()) {
            (None, _) => {
                missing = true;
                String::new()
            }
            (Some(text), Some("quote")) => format!("{text:?}"),
            (Some(text), Some(_)) => format!("'{}'", text.replace('\'', "''")),
            (Some(text), None) => text,
        }
    });
    (!missing && !rendered.contains("{{")).then(|| rendered.into_owned())
}

impl File {
    fn new(path: &str, text: String, charts: &BTreeSet<String>) -> File {
        let template_of = chart_of_template(path, charts).cloned();
        let documents = documents(&text, template_of.is_none());
        File {
            text,
            template_of,
            documents,
        }
    }

    /// A document's lines.
    pub fn lines(&self, document: &Document) -> Vec<&str> {
        diff::lines(&self.text)
            .get(document.lines.clone())
            .map(<[&str]>::to_vec)
            .unwrap_or_default()
    }
}

/// The documents of a text, split at `---` lines; parsed as YAML when
/// `parse`.
pub(super) fn documents(text: &str, parse: bool) -> Vec<Document> {
    let all = diff::lines(text);
    let mut bounds = Vec::new();
    let mut start = 0;
    for (index, line) in all.iter().enumerate() {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            bounds.push(start..index);
            start = index + 1;
        }
    }
    bounds.push(start..all.len());
    bounds
        .into_iter()
        .enumerate()
        .map(|(index, range)| {
            // A byte-order mark opening the file is no part of its first
            // key (kustomize and kubectl read past it: verify63 V63-10);
            // the value ranges of that line are shifted back past it.
            let bom = if range.start == 0 {
                all.first()
                    .filter(|line| line.starts_with('\u{feff}'))
                    .map_or(0, |_| '\u{feff}'.len_utf8())
            } else {
                0
            };
            let unmarked: Vec<&str>;
            let lines: &[&str] = if bom > 0 {
                unmarked = all[range.clone()]
                    .iter()
                    .enumerate()
                    .map(|(i, line)| if i == 0 { &line[bom..] } else { *line })
                    .collect();
                &unmarked
            } else {
                &all[range.clone()]
            };
            let value = if parse {
                polscan_engine::yaml::from_str::<Value>(&lines.concat()).ok()
            } else {
                None
            };
            let mut found = entries(lines);
            let identity = match &value {
                // A document with no spec is no policy (a test's assertion
                // of its status, as Kyverno's library keeps beside each
                // policy: verify61 V61-6), nor a binding.
                Some(value)
                    if value.get("spec").is_none()
                        && value
                            .get("kind")
                            .and_then(Value::as_str)
                            .is_some_and(|kind| {
                                matches!(
                                    kind,
                                    "ClusterPolicy"
                                        | "Policy"
                                        | "ValidatingPolicy"
                                        | "NamespacedValidatingPolicy"
                                        | "ValidatingAdmissionPolicy"
                                        | "ValidatingAdmissionPolicyBinding"
                                )
                            }) =>
                {
                    None
                }
                Some(value) => {
                    let text = |pointer: &str| {
                        value
                            .pointer(pointer)
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    };
                    identity(
                        text("/apiVersion"),
                        text("/kind"),
                        text("/metadata/name"),
                        text("/metadata/namespace"),
                        text("/spec/policyName"),
                    )
                }
                None if !parse => {
                    let text = |path: &[&str]| scalar_at(lines, &found, path);
                    identity(
                        text(&["apiVersion"]),
                        text(&["kind"]),
                        text(&["metadata", "name"]),
                        text(&["metadata", "namespace"]),
                        text(&["spec", "policyName"]),
                    )
                }
                None => None,
            };
            for entry in found.iter_mut().filter(|e| bom > 0 && e.line == 0) {
                entry.value = entry.value.start + bom..entry.value.end + bom;
            }
            Document {
                index,
                lines: range,
                value,
                alternates: Vec::new(),
                entries: found,
                identity,
            }
        })
        .collect()
}

fn identity(
    api_version: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    policy_name: Option<String>,
) -> Option<Identity> {
    Some(Identity {
        api_version,
        kind: kind?,
        name: name?,
        namespace,
        policy_name,
    })
}

/// The scalar text of the entry at `path` (keys only), unquoted.
fn scalar_at(lines: &[&str], found: &[Entry], path: &[&str]) -> Option<String> {
    let pattern: Vec<Option<&str>> = path.iter().map(|k| Some(*k)).collect();
    found.iter().find(|e| e.path_is(&pattern)).and_then(|e| {
        let line = lines.get(e.line)?.trim_end_matches(['\n', '\r']);
        line.get(e.value.clone()).map(|v| unquote(v).to_string())
    })
}

/// The directories holding a `Chart.yaml` (`""` for the root).
fn chart_roots<'a>(paths: impl Iterator<Item = &'a String>) -> BTreeSet<String> {
    paths
        .filter(|path| path.rsplit('/').next() == Some("Chart.yaml"))
        .map(|path| parent(path).to_string())
        .collect()
}

/// The innermost chart holding `path`.
pub(super) fn longest_root<'a>(path: &str, charts: &'a BTreeSet<String>) -> Option<&'a str> {
    charts
        .iter()
        .filter(|root| root.is_empty() || path.starts_with(&format!("{root}/")))
        .max_by_key(|root| root.len())
        .map(String::as_str)
}

/// The chart whose `templates/` holds `path`.
fn chart_of_template<'a>(path: &str, charts: &'a BTreeSet<String>) -> Option<&'a String> {
    charts.iter().find(|root| {
        let prefix = if root.is_empty() {
            "templates/".to_string()
        } else {
            format!("{root}/templates/")
        };
        path.starts_with(&prefix)
    })
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("")
}

/// `values.yaml`, `values-prod.yaml`, `prod-values.yml`, `values.prod.yaml`.
pub(super) fn is_values_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"));
    stem.is_some_and(|stem| stem.starts_with("values") || stem.ends_with("values"))
}

/// Whether `document` is a Flux HelmRelease (by its kind: its file may
/// be named like a values file).
pub(super) fn is_helm_release(document: &Document) -> bool {
    document
        .value
        .as_ref()
        .and_then(|v| v.get("kind"))
        .and_then(Value::as_str)
        == Some("HelmRelease")
}
