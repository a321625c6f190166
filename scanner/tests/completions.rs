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
