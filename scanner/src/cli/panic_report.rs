//! The process's panic hook: a panic's message and place enter; one line
//! on stderr per place leaves, however often it repeats. The engine turns
//! a panic in one policy's evaluation into that policy's `error` result
//! and the scan goes on, so the same bug can panic once per resource:
//! without this, std's hook prints it tens of thousands of times.

use std::collections::HashSet;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};

/// Places (`file:line:column`) a panic was already reported from.
static REPORTED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// A tokio runtime of this process was shut down.
static RUNTIME_SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// What tokio panics with when a timer or I/O is used through a runtime
/// being shut down (tokio's `RUNTIME_SHUTTING_DOWN_ERROR`).
const TOKIO_SHUTTING_DOWN: &str = "A Tokio 1.x context was found, but it is being shutdown";

/// Installs the hook; call once, first thing in `main`.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        if let Some(line) = report_line(info, &REPORTED) {
            super::diag::line(&line);
        }
    }));
}

/// Says a runtime is being shut down: from now on, the panic of work it
/// leaves running (an evaluation past `--timeout` that calls the cluster
/// through it) is that work's end, not a bug to report (fault17 F17-1:
/// "internal error … it is being shutdown" after a scan's deadline).
pub fn runtime_shutting_down() {
    RUNTIME_SHUT_DOWN.store(true, Ordering::SeqCst);
}

/// The line to print for `info`, or None when a panic at the same place
/// was reported before, or it is abandoned work's end.
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
    if abandoned(&message, RUNTIME_SHUT_DOWN.load(Ordering::SeqCst)) {
        return None;
    }
    first_at(place, &message, reported)
}

/// Whether a panic with `message` is work a shut-down runtime abandoned.
fn abandoned(message: &str, runtime_shut_down: bool) -> bool {
    runtime_shut_down && message.starts_with(TOKIO_SHUTTING_DOWN)
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

    /// fault17 F17-1: tokio's shutdown panic is not reported once a
    /// runtime was shut down; before that, and any other panic, it is.
    #[test]
    fn only_a_shut_down_runtime_s_abandoned_work_is_quiet() {
        let message = format!("{TOKIO_SHUTTING_DOWN}.");
        assert!(abandoned(&message, true));
        assert!(!abandoned(&message, false));
        assert!(!abandoned("index out of bounds", true));
    }

    /// The message is tokio's own: a timer waiting when its runtime shuts
    /// down panics with it (a tokio upgrade that changes it fails here,
    /// not silently in a user's terminal).
    #[test]
    fn tokio_s_shutdown_message_is_the_one_matched() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let handle = runtime.handle().clone();
        let (started, waiting) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            handle.block_on(async {
                let sleep = tokio::time::sleep(std::time::Duration::from_secs(30));
                tokio::pin!(sleep);
                // Registered with the timer before the shutdown.
                std::future::poll_fn(|cx| {
                    let _ = std::future::Future::poll(sleep.as_mut(), cx);
                    std::task::Poll::Ready(())
                })
                .await;
                started.send(()).unwrap();
                sleep.await;
            })
        });
        waiting.recv().unwrap();
        runtime.shutdown_background();
        let payload = waiter.join().expect_err("the waiting timer panics");
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(message.starts_with(TOKIO_SHUTTING_DOWN), "{message}");
    }

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
