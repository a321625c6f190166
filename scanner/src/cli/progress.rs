//! The progress line of a scan at a terminal: a spinner on stderr that
//! redraws the scan's counters ([`ScanProgress`]) until the scan ends, then
//! disappears. It is never drawn when stderr is not a terminal or with
//! `--quiet`, so logs and CronJob output stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use polscan::scan::progress::ScanProgress;

/// A running display; [`ProgressDisplay::finish`] (or drop) clears it.
pub struct ProgressDisplay {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressDisplay {
    /// Starts drawing when stderr is a terminal and `quiet` is off.
    pub fn start(progress: Arc<ScanProgress>, quiet: bool) -> ProgressDisplay {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let stop = stop.clone();
            std::thread::spawn(move || draw(&progress, &stop))
        });
        ProgressDisplay { stop, thread }
    }

    pub fn finish(mut self) {
        self.stop_drawing();
    }

    fn stop_drawing(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.stop_drawing();
    }
}

fn draw(progress: &ScanProgress, stop: &AtomicBool) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    while !stop.load(Ordering::Relaxed) {
        bar.set_message(progress.snapshot().describe());
        bar.tick();
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
}
