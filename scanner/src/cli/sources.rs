//! Where `apply` reads documents from: paths enter (files, directories, or
//! `-` for standard input), parsed documents leave. Standard input is an
//! injected reader so tests never touch the process's own.
//!
//! Follows the Kyverno CLI: `-` as a policy path reads a YAML stream from
//! stdin (cmd/cli/kubectl-kyverno/policy/load.go, `stdinLoad`), `-` as a
//! resource path likewise (utils/common/common.go,
//! `GetResourceAccordingToResourcePath`), and one stdin cannot feed both
//! (commands/apply/command.go, `checkArguments`).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::loader::{self, Document, LoadError};

/// The path that stands for standard input.
pub const STDIN_PATH: &str = "-";

/// How documents read from stdin are named in messages and reports.
pub const STDIN_ORIGIN: &str = "<stdin>";

/// Why documents could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("reading standard input: {0}")]
    Stdin(#[source] std::io::Error),
    /// The Kyverno CLI's wording (`checkArguments`).
    #[error("a stdin pipe can be used for either policies or resources, not both")]
    StdinTwice,
}

/// Whether `-` is among the paths.
pub fn reads_stdin(paths: &[PathBuf]) -> bool {
    paths.iter().any(|path| path.as_os_str() == STDIN_PATH)
}

/// Refuses standard input as the source of both policies and resources.
pub fn check_stdin_use(policies: &[PathBuf], resources: &[PathBuf]) -> Result<(), SourceError> {
    if reads_stdin(policies) && reads_stdin(resources) {
        Err(SourceError::StdinTwice)
    } else {
        Ok(())
    }
}

/// Reads every document of the paths in order; `-` reads the whole of
/// `stdin` once (a second `-` adds nothing more).
pub fn load(paths: &[PathBuf], stdin: &mut dyn Read) -> Result<Vec<Document>, SourceError> {
    let mut documents = Vec::new();
    let mut stdin_read = false;
    for path in paths {
        if path.as_os_str() == STDIN_PATH {
            if stdin_read {
                continue;
            }
            stdin_read = true;
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(SourceError::Stdin)?;
            documents.extend(loader::parse_documents(&text, Path::new(STDIN_ORIGIN))?);
        } else {
            documents.extend(loader::load_paths(std::slice::from_ref(path))?);
        }
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n";

    fn names(documents: &[Document]) -> Vec<String> {
        documents
            .iter()
            .map(|d| {
                d.value["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn dash_reads_every_document_of_stdin() {
        let mut stdin = STREAM.as_bytes();
        let documents = load(&[PathBuf::from("-")], &mut stdin).expect("stdin loads");
        assert_eq!(names(&documents), ["a", "b"]);
        assert_eq!(documents[1].origin.path, Path::new(STDIN_ORIGIN));
        assert_eq!(documents[1].origin.index, 2);
        assert_eq!(documents[1].origin.line, 5);
    }

    #[test]
    fn stdin_and_files_keep_the_order_given() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\n").expect("write");
        let mut stdin = STREAM.as_bytes();
        let paths = [file.clone(), PathBuf::from("-"), PathBuf::from("-")];
        let documents = load(&paths, &mut stdin).expect("loads");
        // The second `-` finds stdin already read.
        assert_eq!(names(&documents), ["c", "a", "b"]);
        assert_eq!(documents[0].origin.path, file);
    }

    #[test]
    fn files_never_read_stdin() {
        struct Untouchable;
        impl Read for Untouchable {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                panic!("stdin was read")
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\n").expect("write");
        let documents = load(&[file], &mut Untouchable).expect("loads");
        assert_eq!(names(&documents), ["c"]);
    }

    #[test]
    fn bad_yaml_on_stdin_names_stdin() {
        let mut stdin = "kind: [unclosed".as_bytes();
        let err = load(&[PathBuf::from("-")], &mut stdin).expect_err("bad yaml");
        assert!(err.to_string().starts_with("<stdin>: document 1"), "{err}");
    }

    #[test]
    fn stdin_feeds_policies_or_resources_not_both() {
        let dash = [PathBuf::from("-")];
        let file = [PathBuf::from("r.yaml")];
        assert!(check_stdin_use(&dash, &file).is_ok());
        assert!(check_stdin_use(&file, &dash).is_ok());
        let err = check_stdin_use(&dash, &dash).expect_err("both");
        assert_eq!(
            err.to_string(),
            "a stdin pipe can be used for either policies or resources, not both"
        );
    }
}
