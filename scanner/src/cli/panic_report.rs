//! The process's panic hook: a panic's message and place enter; one line
//! on stderr per place leaves, however often it repeats. The engine turns
//! a panic in one policy's evaluation into that policy's `error` result
//! and the scan goes on, so the same bug can panic once per resource:
//! without this, std's hook prints it tens of thousands of times.

use std::collections::HashSet;
use std::panic::PanicHookInfo;
use std::sync::{LazyLock, Mutex};

/// Places (`file:line:column`) a panic was already reported from.
static REPORTED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// Installs the hook; call once, first thing in `main`.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        if let Some(line) = report_line(info, &REPORTED) {
            super::diag::line(&line);
        }
    }));
}

/// The line to print for `info`, or None when a panic at the same place
/// was reported before.
fn report_line(info: &PanicHookInfo<'_>, reported: &Mutex<HashSet<String>>) -> Option<String> {
    let place = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_else(|| "an unknown place".into());
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".into());
    first_at(place, &message, reported)
}

/// The report of a panic with `message` at `place`, or None when `place`
/// is in `reported` already; records `place`.
fn first_at(place: String, message: &str, reported: &Mutex<HashSet<String>>) -> Option<String> {
    // A poisoned set still holds the places: keep using it.
    let mut seen = reported.lock().unwrap_or_else(|e| e.into_inner());
    let line = format!(
        "polscan: internal error (a bug, please report it): {message} at {place}; later panics at the same place are not printed"
    );
    seen.insert(place).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first panic at a place is reported, a repeat is not, another
    /// place is.
    #[test]
    fn a_place_is_reported_once() {
        let reported = Mutex::new(HashSet::new());
        let first = first_at("a.rs:1:1".into(), "index out of bounds", &reported);
        assert!(first.is_some_and(|l| l.contains("index out of bounds at a.rs:1:1")));
        assert_eq!(
            first_at("a.rs:1:1".into(), "index out of bounds", &reported),
            None
        );
        assert_eq!(
            first_at("a.rs:1:1".into(), "other message", &reported),
            None
        );
        assert!(first_at("b.rs:2:5".into(), "other", &reported).is_some());
    }
}
