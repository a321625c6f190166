//! Shared by the tests that run the polscan binary as users do: the runner
//! (arguments, optional stdin, working directory, environment), its output
//! as text, fixture files in a temporary folder, the assets of
//! scripts/test-assets.sh and JSON-schema checks.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The polscan binary built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_polscan");

/// One run of the binary: the arguments given to [`polscan`], then
/// optional stdin, working directory and environment; [`Polscan::output`]
/// runs it, capturing stdout and stderr.
pub struct Polscan {
    command: Command,
    stdin: Option<String>,
}

/// `polscan args`, inheriting this process's folder and environment, with
/// an empty stdin until [`Polscan::stdin`] gives one.
pub fn polscan<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Polscan {
    let mut command = Command::new(BINARY);
    command.args(args);
    Polscan {
        command,
        stdin: None,
    }
}

/// Audits pods.yaml against policies.yaml in `dir` into reports.yaml,
/// recording the run in scan.yaml as a cluster scan does in its ConfigMap
/// (the inputs of `polscan evidence --from`).
pub fn audit(dir: &Path) -> Output {
    let output = run(
        &[
            "apply",
            "-p",
            "policies.yaml",
            "-r",
            "pods.yaml",
            "-o",
            "yaml",
            "--run-record",
            "scan.yaml",
        ],
        None,
        dir,
    );
    if let Err(err) = std::fs::write(dir.join("reports.yaml"), &output.stdout) {
        panic!("reports.yaml: {err}");
    }
    output
}

/// `polscan args` in `cwd` with `stdin` (`None`: empty) and `NO_COLOR`
/// set, as a script runs it.
pub fn run(args: &[&str], stdin: Option<&str>, cwd: &Path) -> Output {
    polscan(args)
        .stdin(stdin)
        .cwd(cwd)
        .env("NO_COLOR", "1")
        .output()
}

impl Polscan {
    /// Pipes `text` into the run's stdin (`None`: an empty stdin).
    pub fn stdin(mut self, text: Option<&str>) -> Polscan {
        self.stdin = text.map(str::to_string);
        self
    }

    /// Runs in `dir`.
    pub fn cwd(mut self, dir: &Path) -> Polscan {
        self.command.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Polscan {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Polscan {
        self.command.env_remove(key);
        self
    }

    /// Runs to the end; panics (failing the test) when it cannot run.
    pub fn output(mut self) -> Output {
        let mut child = self
            .command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running polscan: {e}"));
        if let Some(text) = self.stdin {
            let mut pipe = child
                .stdin
                .take()
                .unwrap_or_else(|| panic!("no stdin pipe"));
            pipe.write_all(text.as_bytes())
                .unwrap_or_else(|e| panic!("writing stdin: {e}"));
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for polscan: {e}"))
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The run's stdout, which must be UTF-8.
pub fn utf8_stdout(output: Output) -> String {
    String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("utf-8: {e}"))
}

/// Fixture files in a temporary folder, removed when dropped.
pub struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    pub fn new() -> Files {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        Files { dir }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` at `name` (directories created) and gives its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {name}: {e}"));
        path.display().to_string()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `path` in the repository (the parent of the scanner crate).
pub fn repository_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// The path scripts/test-assets.sh gives for `asset` (it fetches and caches
/// what it names); panics (failing the test) when it cannot.
pub fn test_asset(asset: &str) -> PathBuf {
    let output = Command::new("bash")
        .arg(repository_file("scripts/test-assets.sh"))
        .arg(asset)
        .output()
        .unwrap_or_else(|e| panic!("running test-assets.sh: {e}"));
    assert!(
        output.status.success(),
        "test-assets.sh {asset} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// A validator for the JSON schema in the file `schema`.
pub fn validator(schema: &Path) -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema)
        .unwrap_or_else(|e| panic!("schema {}: {e}", schema.display()));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("schema: {e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema: {e}"))
}

/// What `validator` finds wrong with `instance`, one line a fault (none:
/// valid).
pub fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}
