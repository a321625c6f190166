//! Reading manifests from disk: files and directories (recursively) of
//! multi-document YAML or JSON enter; documents with their file and position
//! leave, `kind: List` expanded. Errors name the file and the document.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use polscan_engine::ValueExt;
use serde::Deserialize;
use serde_json::Value;

use crate::kinds;

/// Why manifests could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A directory or file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A document is not YAML/JSON, or not a mapping.
    #[error("{path}: document {index}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based position of the document in the file.
        index: usize,
        /// The parser's error, or what was found instead of a mapping.
        message: String,
    },
    /// A path given does not exist (or its metadata cannot be read).
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file; for an object read from the cluster, `<Kind>/<name>`
    /// (`<Kind>/<namespace>/<name>` when namespaced).
    pub path: PathBuf,
    /// 1-based position of the document in its file; 0 for an object read
    /// from the cluster, whose `path` is `<Kind>/<name>`.
    pub index: usize,
    /// 1-based line where the document starts (its first content line), for
    /// locating findings in the file; 0 when unknown (cluster objects).
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Index 0 marks an object read from the cluster, named by path alone.
        if self.index == 0 {
            write!(f, "{}", self.path.display())
        } else {
            write!(f, "{}#{}", self.path.display(), self.index)
        }
    }
}

/// One manifest: a mapping read from a file (an item of a `List`
/// counting as its own), or an object read from the cluster.
#[derive(Debug, Clone)]
pub struct Document {
    /// The object, as parsed.
    pub value: Value,
    /// Where it came from (a `List`'s items share the `List`'s).
    pub origin: Origin,
}

fn is_manifest_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml") | Some("yml") | Some("json")
    )
}

/// Lists manifest files under `path` (itself if a file), sorted.
pub fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let metadata = fs::metadata(path).map_err(|_| LoadError::Missing(path.to_path_buf()))?;
    if metadata.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|source| LoadError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| LoadError::Io {
                path: dir.clone(),
                source,
            })?;
            let entry_path = entry.path();
            if entry_path.is_dir() {
                pending.push(entry_path);
            } else if is_manifest_file(&entry_path) {
                files.push(entry_path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// One line naming the keys a file writes twice in one mapping (walk28
/// F16): read as kubectl and the Kyverno CLI read them, the last one
/// wins, and what came before is lost without a word.
fn duplicate_keys_warning(
    path: &Path,
    duplicates: &[polscan_engine::yaml::DuplicateKey],
    first: &polscan_engine::yaml::DuplicateKey,
) -> String {
    let more = match duplicates.len() - 1 {
        0 => String::new(),
        n if duplicates.len() >= polscan_engine::yaml::MAX_DUPLICATE_KEYS => {
            format!(" and {n} more (at least)")
        }
        n => format!(" and {n} more"),
    };
    // Keys of a document's own repeat when files were joined.
    let joined = if duplicates.iter().any(|d| d.top_level) {
        " (files joined without `---` lose all but their last object)"
    } else {
        ""
    };
    format!(
        "{}: key `{}` is written twice in one mapping at line {} (document {}){more}; the last one is used, as kubectl and the Kyverno CLI use it, and the earlier value is lost{joined}",
        path.display(),
        first.key,
        first.line,
        first.document
    )
}

/// Parses the documents of one file's text.
pub fn parse_documents(text: &str, path: &Path) -> Result<Vec<Document>, LoadError> {
    let mut documents = Vec::new();
    visit_documents(text, path, &mut |document| documents.push(document))?;
    Ok(documents)
}

/// Hands each document of one file's text to `visit` as it is parsed, so a
/// caller that folds documents never holds them all.
pub fn visit_documents(
    text: &str,
    path: &Path,
    visit: &mut dyn FnMut(Document),
) -> Result<(), LoadError> {
    // Refused before serde_yaml spends time quadratic in the nesting on it.
    polscan_engine::yaml::check_nesting(text).map_err(|err| LoadError::Parse {
        path: path.to_path_buf(),
        index: err.document,
        message: err.to_string(),
    })?;
    let duplicates = polscan_engine::yaml::duplicate_keys(text);
    if let Some(first) = duplicates.first() {
        // `apply` reads a resource file more than once (the namespaces
        // first): said once per file and place (verify29 V2).
        static SAID: std::sync::Mutex<std::collections::BTreeSet<(PathBuf, usize)>> =
            std::sync::Mutex::new(std::collections::BTreeSet::new());
        let place = (path.to_path_buf(), first.line);
        let mut said = SAID.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if said.insert(place) {
            tracing::warn!("{}", duplicate_keys_warning(path, &duplicates, first));
        }
    }
    // JSON (one object, or several one after another) is read as JSON:
    // the YAML parser refuses some JSON that Kubernetes accepts — a
    // surrogate pair escape (`\ud83d\ude00`, Python's json.dump default),
    // a raw C1 control character. Anything else is YAML, as before.
    let json: Option<Vec<Value>> = text
        .trim_start()
        .starts_with('{')
        .then(|| {
            serde_json::Deserializer::from_str(text)
                .into_iter::<Value>()
                .collect::<Result<Vec<_>, _>>()
                .ok()
        })
        .flatten();
    let first_line = text
        .lines()
        .position(|line| !line.trim().is_empty())
        .map_or(1, |at| at + 1);
    let start_lines = match &json {
        Some(_) => vec![first_line],
        None => document_start_lines(text),
    };
    let documents: Box<dyn Iterator<Item = Result<Value, String>>> = match json {
        Some(values) => Box::new(values.into_iter().map(Ok)),
        None => Box::new(
            serde_yaml::Deserializer::from_str(text)
                .map(|deserializer| Value::deserialize(deserializer).map_err(|e| e.to_string())),
        ),
    };
    for (position, value) in documents.enumerate() {
        let index = position + 1;
        let value = value.map_err(|message| LoadError::Parse {
            path: path.to_path_buf(),
            index,
            message,
        })?;
        let origin = Origin {
            path: path.to_path_buf(),
            index,
            line: start_lines.get(position).copied().unwrap_or(first_line),
        };
        match value {
            Value::Null => {}
            Value::Object(_) => {
                if value.str_field("kind") == Some("List")
                    || value.str_field("kind").is_some_and(|k| k.ends_with("List"))
                        && value.get("items").is_some_and(Value::is_array)
                {
                    for item in value
                        .get("items")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        visit(Document {
                            value: item.clone(),
                            origin: origin.clone(),
                        });
                    }
                } else {
                    visit(Document { value, origin });
                }
            }
            other => {
                return Err(LoadError::Parse {
                    path: path.to_path_buf(),
                    index,
                    message: format!("expected a mapping, found {}", type_name(&other)),
                })
            }
        }
    }
    Ok(())
}

/// The first line of each document of a YAML stream, by splitting at `---`
/// lines as the parser does. The parser gives no positions per document, and
/// SARIF and reports want a line to point at. A document without content
/// lines (`---` alone) is located at its separator.
fn document_start_lines(text: &str) -> Vec<usize> {
    let is_separator =
        |line: &str| line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
    let is_content = |line: &str| {
        let trimmed = line.trim();
        !trimmed.is_empty() && !trimmed.starts_with('#') && !line.starts_with('%')
    };
    let mut starts = Vec::new();
    // (separator line, first content line) of the document being read.
    let mut current: (Option<usize>, Option<usize>) = (None, None);
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if is_separator(line) {
            if current.0.is_some() || current.1.is_some() {
                starts.push(current.1.or(current.0).unwrap_or(number));
            }
            let inline_content = line[3..].trim();
            let inline = !inline_content.is_empty() && !inline_content.starts_with('#');
            current = (Some(number), inline.then_some(number));
        } else if line == "..." {
            if current.0.is_some() || current.1.is_some() {
                starts.push(current.1.or(current.0).unwrap_or(number));
            }
            current = (None, None);
        } else if current.1.is_none() && is_content(line) {
            current.1 = Some(number);
        }
    }
    if current.0.is_some() || current.1.is_some() {
        starts.push(current.1.or(current.0).unwrap_or(1));
    }
    starts
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Reads every document from the given files and directories.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Document>, LoadError> {
    let mut documents = Vec::new();
    visit_paths(paths, &mut |document| documents.push(document))?;
    Ok(documents)
}

/// Hands every document of the given files and directories to `visit`,
/// one file's text in memory at a time.
pub fn visit_paths(paths: &[PathBuf], visit: &mut dyn FnMut(Document)) -> Result<(), LoadError> {
    for path in paths {
        for file in manifest_files(path)? {
            let text = fs::read_to_string(&file).map_err(|source| LoadError::Io {
                path: file.clone(),
                source,
            })?;
            visit_documents(&text, &file, visit)?;
        }
    }
    Ok(())
}

/// Prepares a resource as the Kyverno CLI does: namespaced kinds without a
/// namespace land in `default`, and empty label/annotation maps become `{}`.
pub fn normalize_resource(resource: &mut Value) {
    let api_version = resource.str_field("apiVersion").unwrap_or("").to_string();
    let kind = resource.str_field("kind").unwrap_or("").to_string();
    if let Some(metadata) = resource.get_mut("metadata").and_then(Value::as_object_mut) {
        let has_namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .is_some_and(|ns| !ns.is_empty());
        if !has_namespace && !kinds::is_cluster_scoped(&api_version, &kind) {
            metadata.insert("namespace".into(), Value::String("default".into()));
        }
    }
    normalize_nil_maps(resource);
}

fn normalize_nil_maps(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let known_map = matches!(
                    key.as_str(),
                    "annotations"
                        | "labels"
                        | "matchLabels"
                        | "nodeSelector"
                        | "data"
                        | "stringData"
                );
                if item.is_null() && known_map {
                    *item = Value::Object(Default::default());
                } else {
                    normalize_nil_maps(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_nil_maps),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// red22 F4: JSON that Kubernetes accepts and the YAML parser refused —
    /// a surrogate pair escape (Python's json.dump default), a raw C1
    /// control character — stopped the whole run; it is read as JSON.
    #[test]
    fn json_the_yaml_parser_refuses_is_read_as_json() {
        let path = Path::new("emoji.json");
        let text = "\n{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"emoji\"},\"data\":{\"k\":\"smile \\ud83d\\ude00 x\u{85}y\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"two\"}}";
        assert!(serde_yaml::from_str::<Value>(text.trim()).is_err());
        let documents = parse_documents(text, path).expect("read as JSON");
        assert_eq!(documents.len(), 2);
        assert_eq!(
            documents[0]
                .value
                .pointer("/data/k")
                .and_then(Value::as_str),
            Some("smile \u{1f600} x\u{85}y")
        );
        assert_eq!(
            (documents[0].origin.index, documents[0].origin.line),
            (1, 2)
        );
        assert_eq!(documents[1].origin.index, 2);
        // YAML that starts like JSON but is not JSON is still YAML.
        let yaml = parse_documents("{a: 1}\n", path).expect("yaml");
        assert_eq!(yaml[0].value, serde_json::json!({"a": 1}));
    }

    /// The walkthrough's 400 kB manifest of 200,000 nested sequences took
    /// 114 s to be refused ("recursion limit exceeded", after scanning it
    /// all); it is refused before parsing, naming the document.
    #[test]
    fn deeply_nested_documents_are_refused_before_parsing() {
        let depth = 20_000;
        let text = format!(
            "kind: Pod\nmetadata: {{name: a}}\n---\n{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"extra\":{}{}}}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let err = parse_documents(&text, Path::new("deep.json")).expect_err("too deep");
        let message = err.to_string();
        assert!(
            message.starts_with("deep.json: document 2: nested deeper than 128"),
            "{message}"
        );
    }

    #[test]
    fn multi_document_yaml_and_lists() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\n---\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: b}\n- kind: Pod\n  metadata: {name: c}\n";
        let docs = parse_documents(text, Path::new("x.yaml")).expect("parses");
        let names: Vec<&str> = docs
            .iter()
            .filter_map(|d| d.value.str_at("/metadata/name"))
            .collect();
        assert_eq!(names, vec!["a", "b", "c"]);
        assert_eq!(docs[1].origin.index, 3);
        assert_eq!(docs[0].origin.line, 1);
        assert_eq!(docs[1].origin.line, 7);
    }

    #[test]
    fn documents_are_located_at_their_first_content_line() {
        let text = "# header comment\n---\n# about a\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n\nkind: Pod\nmetadata: {name: b}\n--- {kind: Pod, metadata: {name: c}}\n";
        let docs = parse_documents(text, Path::new("x.yaml")).expect("parses");
        let lines: Vec<(usize, usize)> = docs
            .iter()
            .map(|d| (d.origin.index, d.origin.line))
            .collect();
        assert_eq!(lines, vec![(1, 4), (2, 9), (3, 11)]);
        assert_eq!(
            document_start_lines("a: 1\n---\n---\nb: 2\n"),
            vec![1, 2, 4]
        );
    }

    #[test]
    fn parse_errors_name_file_and_document() {
        let err = parse_documents("a: 1\n---\nb: [\n", Path::new("bad.yaml")).expect_err("invalid");
        let text = err.to_string();
        assert!(
            text.contains("bad.yaml") && text.contains("document 2"),
            "{text}"
        );
        let err = parse_documents("- 1\n", Path::new("list.yaml")).expect_err("not a mapping");
        assert!(err.to_string().contains("expected a mapping"));
    }

    #[test]
    fn json_files_parse_too() {
        let docs = parse_documents(
            "{\"kind\": \"Pod\", \"metadata\": {\"name\": \"j\"}}",
            Path::new("p.json"),
        )
        .expect("json");
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn normalization_defaults_namespace_for_namespaced_kinds() {
        let mut pod =
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": null}});
        normalize_resource(&mut pod);
        assert_eq!(pod.pointer("/metadata/namespace"), Some(&json!("default")));
        assert_eq!(pod.pointer("/metadata/labels"), Some(&json!({})));
        let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}});
        normalize_resource(&mut ns);
        assert!(ns.pointer("/metadata/namespace").is_none());
    }

    #[test]
    fn missing_paths_are_reported() {
        let err = load_paths(&[PathBuf::from("/nonexistent/polscan")]).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/polscan"));
    }
}
