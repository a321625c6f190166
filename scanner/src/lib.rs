//! polscan's library, as its binary and tests use it: the policy engine
//! (`polscan-engine`, sans-IO), the evidence (`polscan-evidence`, sans-IO),
//! the cluster side and the offline pieces (`polscan-cluster`: loader,
//! audit, reports, reconcile, cluster, scan), re-exported at one place, and
//! the Kyverno CLI test runner ([`kyverno_test`]: `kyverno-test.yaml` files
//! in, per-test verdicts out). The command line lives in the binary.

#![warn(missing_docs)]

pub use polscan_cluster::{audit, clock, cluster, loader, reconcile, reports, scan};
pub use polscan_engine as engine;
pub use polscan_engine::kinds;
pub use polscan_evidence as evidence;
pub mod kyverno_test;
