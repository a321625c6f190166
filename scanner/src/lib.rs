//! polscan's library: the sans-IO policy engine (re-exported from
//! `polscan-engine`), the loaders that turn files into policies and
//! resources, the offline audit, report conversion, the Kyverno CLI test
//! runner, the cluster side (discovery, listing, lookups, report store, scan
//! driver) and the evidence package. The command line lives in the binary.

pub mod audit;
pub mod bundled;
pub mod cluster;
pub use polscan_engine as engine;
pub use polscan_engine::kinds;
pub use polscan_evidence as evidence;
pub mod kyverno_test;
pub mod loader;
pub mod reconcile;
pub mod reports;
pub mod scan;
