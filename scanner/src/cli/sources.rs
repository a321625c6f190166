//! Where `apply` reads documents from: paths enter (files, directories, or
//! `-` for standard input), parsed documents leave, all at once ([`load`])
//! or one at a time on each of several passes ([`Rereadable`]). Standard
//! input is an injected reader so tests never touch the process's own.
//!
//! Follows the Kyverno CLI: `-` as a policy path reads a YAML stream from
//! stdin (cmd/cli/kubectl-kyverno/policy/load.go, `stdinLoad`), `-` as a
//! resource path likewise (utils/common/common.go,
//! `GetResourceAccordingToResourcePath`), and one stdin cannot feed both
//! (commands/apply/command.go, `checkArguments`).

use std::io::Read;
use std::path::{Path, PathBuf};

use polscan::loader::{self, Document, LoadError};

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

/// `paths` with each file or directory once, in the order given: the same
/// policy file given twice (`apply p.yaml --policy ./p.yaml`) would
/// otherwise be evaluated twice, every result duplicated (walk39 F14).
/// Paths that cannot be resolved are compared as written (reading them
/// reports the error).
pub fn unique_paths(paths: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::BTreeSet::new();
    paths
        .into_iter()
        .filter(|path| {
            let key = if path.as_os_str() == STDIN_PATH {
                path.clone()
            } else {
                std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())
            };
            seen.insert(key)
        })
        .collect()
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

/// Documents that can be read more than once, one at a time: files are
/// read again on each pass, standard input once and kept as text.
pub struct Rereadable {
    paths: Vec<PathBuf>,
    stdin_text: Option<String>,
}

impl Rereadable {
    pub fn new(paths: &[PathBuf]) -> Rereadable {
        Rereadable {
            paths: paths.to_vec(),
            stdin_text: None,
        }
    }

    /// Hands every document to `visit` in the order [`load`] gives them,
    /// holding one file's text (and standard input's) at a time. The first
    /// error of `visit` stops the pass and is returned.
    pub fn visit<E: From<SourceError>>(
        &mut self,
        stdin: &mut dyn Read,
        visit: &mut dyn FnMut(Document) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut stdin_seen = false;
        for path in &self.paths {
            if path.as_os_str() == STDIN_PATH {
                if stdin_seen {
                    continue;
                }
                stdin_seen = true;
                if self.stdin_text.is_none() {
                    let mut text = String::new();
                    stdin
                        .read_to_string(&mut text)
                        .map_err(SourceError::Stdin)?;
                    self.stdin_text = Some(text);
                }
                let text = self.stdin_text.as_deref().unwrap_or_default();
                visit_text(text, Path::new(STDIN_ORIGIN), visit)?;
            } else {
                for file in loader::manifest_files(path).map_err(SourceError::from)? {
                    let text = std::fs::read_to_string(&file).map_err(|source| {
                        SourceError::from(LoadError::Io {
                            path: file.clone(),
                            source,
                        })
                    })?;
                    visit_text(&text, &file, visit)?;
                }
            }
        }
        Ok(())
    }
}

/// The documents of one text to `visit`, stopping at its first error.
fn visit_text<E: From<SourceError>>(
    text: &str,
    path: &Path,
    visit: &mut dyn FnMut(Document) -> Result<(), E>,
) -> Result<(), E> {
    let mut failed: Option<E> = None;
    // The loader's visitor cannot fail: the first error is kept and the
    // rest of the text's documents are passed over.
    let parsed = loader::visit_documents(text, path, &mut |document| {
        if failed.is_none() {
            if let Err(err) = visit(document) {
                failed = Some(err);
            }
        }
    });
    match failed {
        Some(err) => Err(err),
        None => Ok(parsed.map_err(SourceError::from)?),
    }
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
