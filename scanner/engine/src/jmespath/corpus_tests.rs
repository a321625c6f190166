//! Compiles every JMESPath expression found in the shared Kyverno policy
//! corpus (`shared/corpora/kyverno-policies`, beside the repository):
//! `{{ ... }}` in any string of a ClusterPolicy or Policy (innermost first,
//! as Kyverno substitutes), plus `jmesPath` and foreach `list` fields.
//! Skips when the corpus is not there.

use std::path::{Path, PathBuf};

use serde_yaml::Value as Yaml;

use super::test_support::corpus_dir;
use super::validate;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// The expressions in one string: each innermost `{{ }}` (not escaped as
/// `\{{`), then the enclosing ones with the inner replaced by a placeholder.
pub(super) fn expressions_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut text = text.to_string();
    loop {
        let mut replaced = false;
        let bytes = text.as_bytes();
        let mut start = None;
        let mut i = 0;
        while i + 1 < bytes.len() {
            if bytes[i] == b'{' && bytes[i + 1] == b'{' && (i == 0 || bytes[i - 1] != b'\\') {
                start = Some(i);
                i += 2;
                continue;
            }
            if bytes[i] == b'}' && bytes[i + 1] == b'}' {
                if let Some(s) = start {
                    // Kyverno's pattern allows one `{...}` group inside.
                    let mut end = i + 2;
                    if bytes.get(end) == Some(&b'}') {
                        end += 1;
                    }
                    let inner = &text[s + 2..end - 2];
                    found.push(inner.trim().to_string());
                    text = format!("{}placeholder{}", &text[..s], &text[end..]);
                    replaced = true;
                    break;
                }
            }
            i += 1;
        }
        if !replaced {
            return found;
        }
    }
}

fn walk(value: &Yaml, key: Option<&str>, out: &mut Vec<String>) {
    match value {
        Yaml::String(s) => {
            out.extend(expressions_in(s));
            if matches!(key, Some("jmesPath" | "list")) && !s.contains("{{") {
                out.push(s.trim().to_string());
            }
        }
        Yaml::Sequence(items) => items.iter().for_each(|v| walk(v, None, out)),
        Yaml::Mapping(map) => {
            for (k, v) in map {
                walk(v, k.as_str(), out);
            }
        }
        Yaml::Tagged(t) => walk(&t.value, key, out),
        _ => {}
    }
}

fn is_kyverno_policy(doc: &Yaml) -> bool {
    let kind = doc.get("kind").and_then(Yaml::as_str);
    let api = doc.get("apiVersion").and_then(Yaml::as_str).unwrap_or("");
    matches!(kind, Some("ClusterPolicy" | "Policy")) && api.starts_with("kyverno.io/")
}

#[test]
fn extracts_nested_and_escaped_expressions() {
    assert_eq!(
        expressions_in("a {{ x.y }} b {{z}}"),
        vec!["x.y".to_string(), "z".to_string()]
    );
    assert_eq!(
        expressions_in("{{ time_since('', '{{ a.b }}', '') }}"),
        vec![
            "a.b".to_string(),
            "time_since('', 'placeholder', '')".to_string()
        ]
    );
    assert!(expressions_in(r"\{{ not.a.variable }}").is_empty());
}

#[test]
fn corpus_expressions_compile() {
    // The corpus is part of every checkout's surroundings (and of CI); its
    // absence is a failure, never a silent skip.
    let dir = corpus_dir().expect("kyverno-policies corpus (../shared/corpora) not found; set up the workspace as README says");
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    files.sort();
    let mut expressions = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for document in serde_yaml::Deserializer::from_str(&text) {
            let Ok(doc) = <Yaml as serde::Deserialize>::deserialize(document) else {
                continue;
            };
            if is_kyverno_policy(&doc) {
                walk(&doc, None, &mut expressions);
            }
        }
    }
    expressions.sort();
    expressions.dedup();
    let mut failures = Vec::new();
    let mut unknown_functions = Vec::new();
    for expression in &expressions {
        match jmespath::parse(expression) {
            Ok(ast) => function_names(&ast, &mut |name| {
                if super::RUNTIME.get_function(name).is_none() {
                    unknown_functions.push(format!("{name} in `{expression}`"));
                }
            }),
            Err(_) => failures.push(validate(expression).err().map(|e| e.to_string())),
        }
    }
    eprintln!(
        "{} distinct expressions from {} files; {} fail to compile",
        expressions.len(),
        files.len(),
        failures.len()
    );
    for failure in failures.iter().flatten() {
        eprintln!("  {failure}");
    }
    assert!(expressions.len() > 100, "too few expressions found");
    for unknown in &unknown_functions {
        eprintln!("  unknown function {unknown}");
    }
    // One corpus policy calls Go's `time.Now()`/`time.ParseInLocation`, which
    // no Kyverno version defines; every other call must resolve.
    assert!(
        unknown_functions
            .iter()
            .all(|u| u.starts_with("Now ") || u.starts_with("ParseInLocation ")),
        "unknown functions: {unknown_functions:?}"
    );
    // Only the corpus's ternaries fail: `a ? b : c` is not JMESPath, and
    // go-jmespath rejects it too, so Kyverno cannot evaluate them either.
    let failing: Vec<&String> = expressions
        .iter()
        .filter(|e| validate(e).is_err())
        .collect();
    assert!(
        failing.iter().all(|e| e.contains(" ? ")),
        "unexpected compile failures: {failing:?}"
    );
}

fn function_names(ast: &jmespath::ast::Ast, found: &mut impl FnMut(&str)) {
    use jmespath::ast::Ast;
    match ast {
        Ast::Function { name, args, .. } => {
            found(name);
            args.iter().for_each(|a| function_names(a, found));
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            function_names(lhs, found);
            function_names(rhs, found);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            function_names(predicate, found);
            function_names(then, found);
        }
        Ast::Expref { ast, .. } => function_names(ast, found),
        Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
            function_names(node, found)
        }
        Ast::MultiList { elements, .. } => elements.iter().for_each(|a| function_names(a, found)),
        Ast::MultiHash { elements, .. } => elements
            .iter()
            .for_each(|kv| function_names(&kv.value, found)),
        _ => {}
    }
}
