//! Live counters of a running scan: the scan bumps them as kinds finish
//! listing, pages are evaluated and reports are written; a display (the
//! CLI's progress bar) or an exporter reads [`ScanProgress::snapshot`] from
//! another thread. Nothing here prints.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The counters of one scan, shared between the scan and its readers;
/// all zero and no phase at first.
#[derive(Debug, Default)]
pub struct ScanProgress {
    phase: Mutex<String>,
    lists_total: AtomicUsize,
    lists_done: AtomicUsize,
    /// The LISTs started and not finished, by number: what a stopped scan
    /// was waiting for.
    lists_open: Mutex<BTreeMap<usize, String>>,
    objects_evaluated: AtomicUsize,
    reports_written: AtomicUsize,
    reports_deleted: AtomicUsize,
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// The step the scan is at (`discovered`, `policies read`, `listing
    /// and evaluating`, …); empty before the first.
    pub phase: String,
    /// LISTs planned (one per kind, or per kind and namespace).
    pub lists_total: usize,
    /// LISTs finished, completely or not.
    pub lists_done: usize,
    /// The LISTs started and not finished (being read or their pages
    /// evaluated), in the order they were planned: `Pod`, `apps/Deployment
    /// in shop`.
    pub lists_open: Vec<String>,
    /// Objects evaluated so far.
    pub objects_evaluated: usize,
    /// Reports written so far.
    pub reports_written: usize,
    /// Reports deleted so far.
    pub reports_deleted: usize,
}

impl ScanProgress {
    /// Names the step the scan is at.
    pub(crate) fn set_phase(&self, phase: &str) {
        if let Ok(mut current) = self.phase.lock() {
            phase.clone_into(&mut current);
        }
    }

    pub(crate) fn lists_planned(&self, count: usize) {
        self.lists_total.store(count, Ordering::Relaxed);
    }

    /// LIST number `listing` (`what` it lists) started.
    pub(crate) fn list_started(&self, listing: usize, what: String) {
        if let Ok(mut open) = self.lists_open.lock() {
            open.insert(listing, what);
        }
    }

    /// LIST number `listing` finished, its pages evaluated.
    pub(crate) fn list_finished(&self, listing: usize) {
        self.lists_done.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut open) = self.lists_open.lock() {
            open.remove(&listing);
        }
    }

    pub(crate) fn evaluated(&self, objects: usize) {
        self.objects_evaluated.fetch_add(objects, Ordering::Relaxed);
    }

    pub(crate) fn written(&self) {
        self.reports_written.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn deleted(&self) {
        self.reports_deleted.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now (each read on its own: they may be a moment
    /// apart).
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            phase: self.phase.lock().map(|p| p.clone()).unwrap_or_default(),
            lists_total: self.lists_total.load(Ordering::Relaxed),
            lists_done: self.lists_done.load(Ordering::Relaxed),
            lists_open: self
                .lists_open
                .lock()
                .map(|open| open.values().cloned().collect())
                .unwrap_or_default(),
            objects_evaluated: self.objects_evaluated.load(Ordering::Relaxed),
            reports_written: self.reports_written.load(Ordering::Relaxed),
            reports_deleted: self.reports_deleted.load(Ordering::Relaxed),
        }
    }
}

impl ProgressSnapshot {
    /// One line for a terminal, e.g.
    /// `listing: 3/12 kinds listed, 1,204 objects evaluated, 17 reports written`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{}: {}/{} kinds listed, {} objects evaluated, {} reports written",
            if self.phase.is_empty() {
                "starting"
            } else {
                &self.phase
            },
            self.lists_done,
            self.lists_total,
            self.objects_evaluated,
            self.reports_written,
        );
        if self.reports_deleted > 0 {
            text.push_str(&format!(", {} deleted", self.reports_deleted));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_across_threads() {
        let progress = std::sync::Arc::new(ScanProgress::default());
        progress.set_phase("listing");
        progress.lists_planned(3);
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let progress = progress.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        progress.evaluated(2);
                        progress.written();
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker");
        }
        progress.list_started(0, "Pod".into());
        progress.list_started(1, "apps/Deployment in shop".into());
        progress.list_finished(0);
        let snapshot = progress.snapshot();
        // What a deadline message names as not done.
        assert_eq!(snapshot.lists_open, ["apps/Deployment in shop"]);
        assert_eq!(snapshot.objects_evaluated, 800);
        assert_eq!(snapshot.reports_written, 400);
        assert_eq!(
            snapshot.describe(),
            "listing: 1/3 kinds listed, 800 objects evaluated, 400 reports written"
        );
    }
}
