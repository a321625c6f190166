//! The table is coloured on a terminal (run under a pseudo-terminal with
//! `script`), and plain when `NO_COLOR` is set or stdout is not a terminal.

mod common;

use std::process::Command;

use common::{polscan, stdout, BINARY};

fn demo_on_a_terminal(no_color: bool) -> String {
    let mut command = Command::new("script");
    command.args(["-qec", &format!("{BINARY} demo"), "/dev/null"]);
    command.env_remove("NO_COLOR");
    if no_color {
        command.env("NO_COLOR", "1");
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running script: {e}"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let coloured = demo_on_a_terminal(false);
    assert!(coloured.contains("\x1b[1;31mfail"), "{coloured}");
    let plain = demo_on_a_terminal(true);
    assert!(plain.contains("fail") && !plain.contains('\x1b'), "{plain}");
    let piped = polscan(["demo"]).env_remove("NO_COLOR").output();
    assert!(!stdout(&piped).contains('\x1b'));
}
