//! Writes the fuzz targets' seed corpora from policy and resource files:
//! `polscan-fuzz-seeds OUT DIR...` walks each DIR for YAML files (the Kyverno policy
//! library, the shared fidelity cases), and writes under OUT/<target>/ one
//! file per seed in the layout each target reads (src/lib.rs, the
//! targets' headers). A directory's policies are paired with the
//! resources of the same directory and its subdirectories (the library
//! keeps them in `.kyverno-test/` beside the policy). Nothing is written
//! into the repository.
//!
//! A crate of its own, with serde only: the fuzz crate's binaries are
//! instrumented for libFuzzer and cannot run as a plain program, and
//! building polscan a second time without instrumentation would double
//! the fuzz step's build.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use serde::Deserialize;

/// Seeds per target at most, so that a short run gets past its corpus.
const LIMIT: usize = 400;
/// Bytes of a `documents` seed at most.
const MAX_DOCUMENT: usize = 48 * 1024;

#[derive(Default)]
struct Group {
    texts: Vec<String>,
    policies: Vec<Value>,
    resources: Vec<Value>,
}

/// Every string under `value` with its key.
fn strings<'a>(value: &'a Value, key: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(text) => out.push((key.to_string(), text)),
        Value::Array(items) => items.iter().for_each(|item| strings(item, key, out)),
        Value::Object(map) => map.iter().for_each(|(k, item)| strings(item, k, out)),
        _ => {}
    }
}

/// Every value under `value` at a key named `name`.
fn under<'a>(value: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| under(item, name, out)),
        Value::Object(map) => {
            for (key, item) in map {
                if key == name {
                    out.push(item);
                }
                under(item, name, out);
            }
        }
        _ => {}
    }
}

fn yaml(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

struct Writer {
    out: PathBuf,
    counts: BTreeMap<&'static str, usize>,
}

impl Writer {
    fn write(&mut self, target: &'static str, content: &str) {
        let count = self.counts.entry(target).or_default();
        if *count >= LIMIT || content.is_empty() {
            return;
        }
        *count += 1;
        let dir = self.out.join(target);
        let written = fs::create_dir_all(&dir)
            .and_then(|()| fs::write(dir.join(format!("seed-{count:05}")), content));
        if let Err(error) = written {
            eprintln!("seeds: {}: {error}", dir.display());
        }
    }
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((out, dirs)) = args.split_first() else {
        eprintln!("usage: seeds OUT DIR...");
        std::process::exit(64);
    };
    // Files grouped by the directory that holds the policy: a file under a
    // `.kyverno-test` (or any dot) directory belongs to its parent.
    let mut groups: BTreeMap<PathBuf, Group> = BTreeMap::new();
    for dir in dirs {
        let mut files = Vec::new();
        manifest_files(dir, &mut files);
        files.sort();
        for file in files {
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            let key = group_of(&file);
            let group = groups.entry(key).or_default();
            for document in serde_yaml::Deserializer::from_str(&text) {
                let Ok(value) = Value::deserialize(document) else {
                    break;
                };
                if is_policy(&value) {
                    group.policies.push(value);
                } else if value.is_object() {
                    group.resources.push(value);
                }
            }
            group.texts.push(text);
        }
    }
    let mut writer = Writer {
        out: out.clone(),
        counts: BTreeMap::new(),
    };
    for group in groups.values() {
        seed_group(&mut writer, group);
    }
    for (target, count) in &writer.counts {
        println!("{target}: {count} seeds");
    }
}

/// The YAML and JSON files under `dir`, as polscan's loader takes them.
fn manifest_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            manifest_files(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
}

/// A document of a kind polscan loads as a policy (Kyverno's and
/// Kubernetes' policy kinds, exceptions, bindings), told as the engine's
/// `DocumentKind` tells it: by API group.
fn is_policy(value: &Value) -> bool {
    let api_version = value["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.split('/').next().unwrap_or_default();
    matches!(
        group,
        "kyverno.io" | "policies.kyverno.io" | "admissionregistration.k8s.io"
    )
}

fn group_of(file: &Path) -> PathBuf {
    let mut dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    while dir
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with('.'))
    {
        dir.pop();
    }
    dir
}

fn seed_group(writer: &mut Writer, group: &Group) {
    if group.policies.is_empty() {
        return;
    }
    let documents = group.texts.join("\n---\n");
    if documents.len() <= MAX_DOCUMENT {
        writer.write("documents", &documents);
    }
    let resource = group.resources.first().cloned().unwrap_or(Value::Null);
    let context = json!({"request": {"operation": "CREATE", "object": resource}});
    for policy in &group.policies {
        let mut patterns = Vec::new();
        under(policy, "pattern", &mut patterns);
        let mut any = Vec::new();
        under(policy, "anyPattern", &mut any);
        patterns.extend(any.iter().filter_map(|v| v.as_array()).flatten());
        for pattern in patterns {
            writer.write(
                "pattern",
                &format!("{}---\n{}", yaml(pattern), yaml(&resource)),
            );
        }
        let mut validates = Vec::new();
        under(policy, "validate", &mut validates);
        for validate in validates {
            if yaml(validate).contains("{{") {
                writer.write(
                    "variables",
                    &format!("{}---\n{}", yaml(validate), yaml(&context)),
                );
            }
        }
        let mut texts = Vec::new();
        strings(policy, "", &mut texts);
        for (key, text) in texts {
            if key == "expression" || key == "condition" || key == "messageExpression" {
                let bindings = format!(
                    "{}---\n{}---\n{}",
                    yaml(&resource),
                    yaml(&Value::Null),
                    yaml(&context["request"])
                );
                writer.write("cel", &format!("{text}\n---\n{bindings}"));
            }
            for variable in variables(text) {
                writer.write(
                    "jmespath",
                    &format!(
                        "{variable}\n{}",
                        serde_json::to_string(&context).unwrap_or_default()
                    ),
                );
            }
        }
    }
}

/// The expressions of the `{{ }}` variables in `text`.
fn variables(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        let expression = after[..end].trim().trim_start_matches('-').trim();
        if !expression.is_empty() && !expression.contains('\n') {
            found.push(expression.to_string());
        }
        rest = &after[end + 2..];
    }
    found
}
