//! polscan's library: the sans-IO policy engine, the loaders that turn files
//! into policies and resources, the offline audit, report conversion, the
//! Kyverno CLI test runner, and the command implementations the `polscan`
//! binary dispatches to.

pub mod audit;
pub mod bundled;
pub mod cli;
pub mod cluster;
pub use polscan_engine as engine;
pub mod evidence;
pub use polscan_engine::kinds;
pub mod kyverno_test;
pub mod loader;
pub mod reconcile;
pub mod reports;
pub mod scan;
