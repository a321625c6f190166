//! `polscan completions <shell>` prints a script the shell accepts, naming
//! every command and the scan flags.

mod common;

use std::process::Command;

use common::{polscan, utf8_stdout, Files};

fn completions(shell: &str) -> String {
    let output = polscan(["completions", shell]).output();
    assert!(output.status.success(), "{output:?}");
    utf8_stdout(output)
}

#[test]
fn bash_completions_parse_and_cover_the_commands() {
    let script = completions("bash");
    let files = Files::new();
    let path = files.write("polscan.bash", &script);
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .unwrap_or_else(|e| panic!("bash: {e}"));
    assert!(syntax.success(), "bash rejects the script");
    for word in [
        "apply",
        "test",
        "scan",
        "install-crds",
        "demo",
        "--exclude-kinds",
        "--report-per",
        "--dry-run",
    ] {
        assert!(script.contains(word), "{word} missing");
    }
}

#[test]
fn zsh_and_fish_completions_name_the_commands() {
    for shell in ["zsh", "fish"] {
        let script = completions(shell);
        for word in ["scan", "install-crds", "exclude-kinds"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
}

/// walk39 F15: with stdout closed before it writes (`polscan completions
/// bash | head -0`), the command stopped with a panic (exit 101, "internal
/// error"); it ends with one line and exit code 2.
#[test]
fn a_stdout_closed_early_is_no_panic() {
    use std::process::Stdio;
    for args in [["completions", "bash"], ["completions", "fish"]] {
        // A pipe whose read end is closed before the child starts: its
        // first write fails with EPIPE, whatever the timing.
        let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("pipe: {e}"));
        drop(reader);
        let output = Command::new(common::BINARY)
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("polscan: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("internal error"), "{stderr}");
        assert!(stderr.contains("writing to standard output"), "{stderr}");
    }
}
