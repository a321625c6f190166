//! `polscan completions <shell>` prints a script the shell accepts, naming
//! every command and the scan flags.

use std::process::Command;

fn completions(shell: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_polscan"))
        .args(["completions", shell])
        .output()
        .unwrap_or_else(|e| panic!("running polscan: {e}"));
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("utf-8: {e}"))
}

#[test]
fn bash_completions_parse_and_cover_the_commands() {
    let script = completions("bash");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("polscan.bash");
    std::fs::write(&path, &script).unwrap_or_else(|e| panic!("write: {e}"));
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
