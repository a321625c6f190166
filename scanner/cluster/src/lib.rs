#![warn(missing_docs)]

//! polscan's cluster side, the part that does I/O: `cluster` connects to
//! the API server, discovers what it serves, lists it page by page, answers
//! the engine's lookups, reads and writes the report store and the run
//! record, and reads back what the evidence needs; `scan` drives a scan —
//! discover → list (pages) → match → evaluate (rayon) → shape → plan →
//! write/prune — with the pieces it shares with an offline run: `loader`
//! (files and objects → documents), `audit` (documents → findings through
//! the engine), `reports` (findings → PolicyReports) and `reconcile` (the
//! stored and the desired reports → the plan of writes and deletes).
//!
//! The engine (`polscan-engine`) and the evidence (`polscan-evidence`) are
//! sans-IO crates this one feeds; they are re-exported as [`engine`] and
//! [`evidence`].

pub mod audit;
pub mod clock;
pub mod cluster;
pub use polscan_engine as engine;
pub use polscan_engine::kinds;
pub use polscan_evidence as evidence;
pub mod loader;
pub mod reconcile;
pub mod reports;
pub mod scan;
