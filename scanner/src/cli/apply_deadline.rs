//! `apply --timeout`: the run enters as work on a thread of its own, with
//! an [`ApplyProgress`] it keeps up to date; its result leaves, or, at the
//! deadline, an error naming what was being evaluated and saying nothing was
//! decided. The caller returns that error from `main`, which ends the
//! process with the evaluation still running: a costly CEL expression
//! (10^8 comprehension steps) cannot be interrupted from outside, and a CI
//! gate must not wait for it.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::args::deadline_text;

/// What `apply` is at, shared with the thread that waits for it.
#[derive(Debug, Default)]
pub struct ApplyProgress {
    phase: Mutex<&'static str>,
    evaluated: AtomicUsize,
    /// Resources being evaluated, by their place in the input.
    in_flight: Mutex<BTreeMap<u64, String>>,
}

impl ApplyProgress {
    /// Enters a step (`reading policies`, `evaluating resources`).
    pub fn phase(&self, phase: &'static str) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = phase;
    }

    /// A resource's evaluation starts; `what` names it.
    pub fn start(&self, ordinal: u64, what: String) {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(ordinal, what);
    }

    /// A resource's evaluation ended.
    pub fn done(&self, ordinal: u64) {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&ordinal);
        self.evaluated.fetch_add(1, Ordering::Relaxed);
    }

    /// One line: the step, the resources done, and the first resources
    /// still being evaluated.
    pub fn describe(&self) -> String {
        const NAMED: usize = 3;
        let phase = *self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        let phase = if phase.is_empty() { "starting" } else { phase };
        let evaluated = self.evaluated.load(Ordering::Relaxed);
        let in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut text = format!("{phase} ({evaluated} resource(s) evaluated");
        if !in_flight.is_empty() {
            let named: Vec<&str> = in_flight.values().take(NAMED).map(String::as_str).collect();
            text.push_str(", still evaluating ");
            text.push_str(&named.join(", "));
            if in_flight.len() > NAMED {
                text.push_str(&format!(" and {} more", in_flight.len() - NAMED));
            }
        }
        text.push(')');
        text
    }
}

/// Runs `work` on its own thread and waits at most `deadline` for it.
pub fn run_within<F>(deadline: Duration, work: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(&ApplyProgress) -> anyhow::Result<ExitCode> + Send + 'static,
{
    let progress = Arc::new(ApplyProgress::default());
    let (sender, receiver) = mpsc::channel();
    let shared = progress.clone();
    std::thread::Builder::new()
        .name("apply".into())
        .stack_size(polscan::engine::nesting::EVALUATION_STACK)
        .spawn(move || {
            // The receiver is gone only when the deadline has passed.
            let _ = sender.send(work(&shared));
        })
        .map_err(|err| anyhow::anyhow!("starting the evaluation thread: {err}"))?;
    match receiver.recv_timeout(deadline) {
        Ok(outcome) => outcome,
        // A panic on the thread drops the sender: the panic hook has
        // already reported it.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(anyhow::anyhow!("the evaluation stopped unexpectedly"))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(anyhow::anyhow!(
            "deadline {} (--timeout) reached while {}: nothing was decided and no results are given",
            deadline_text(deadline),
            progress.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_within_the_deadline_gives_its_own_result() {
        let outcome = run_within(Duration::from_secs(30), |_| Ok(ExitCode::from(1)));
        assert_eq!(outcome.ok(), Some(ExitCode::from(1)));
        let outcome = run_within(Duration::from_secs(30), |_| {
            Err(anyhow::anyhow!("bad file"))
        });
        assert_eq!(
            outcome.err().map(|e| e.to_string()),
            Some("bad file".into())
        );
    }

    #[test]
    fn the_deadline_names_the_step_and_the_resources_in_flight() {
        let (release, wait) = mpsc::channel::<()>();
        let outcome = run_within(Duration::from_millis(200), move |progress| {
            progress.phase("evaluating resources");
            progress.start(0, "Pod a".into());
            progress.done(0);
            for ordinal in 1..6 {
                progress.start(ordinal, format!("Pod p{ordinal}"));
            }
            let _ = wait.recv();
            Ok(ExitCode::SUCCESS)
        });
        let message = outcome.err().map(|e| e.to_string()).unwrap_or_default();
        drop(release);
        assert!(
            message.starts_with("deadline 200ms (--timeout) reached while evaluating resources (1 resource(s) evaluated, still evaluating Pod p1, Pod p2, Pod p3 and 2 more): nothing was decided"),
            "{message}"
        );
    }
}
