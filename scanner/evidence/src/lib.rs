//! The go/no-go evidence for moving policies from Audit to Enforce.
//!
//! Data flows one way, sans-IO (the cluster and file reading live in
//! polscan's `cluster::evidence_source` and its CLI):
//!
//! - what enters, [`ingest`]: the PolicyReports' results, the policy and
//!   PolicyException documents, the last scan's record (one, or a sharded
//!   run's merged), the owners of violating resources and the cluster's
//!   identity, as one [`EvidenceInput`];
//! - [`exceptions`]: the exceptions the documents and the reports show,
//!   and a Kyverno PolicyException generated for each bypass only
//!   polscan's annotations make;
//! - [`verdict`]: [`build`] judges per policy and rule — ready to enforce,
//!   not ready, or no evidence when nothing was evaluated — with reasons
//!   naming every gap of the scan that affects it, the violators grouped
//!   by namespace and owner, and the rollback change and conditions;
//!   [`verdict::recheck`] what a dry-run scan at evidence time found
//!   for the policies that would be ready;
//!   [`decide`], once the comparison, patches and baseline are in, the
//!   decision per policy the pages open with (GO, NO-GO, WAIT);
//! - what leaves, [`model`]: the [`Evidence`] (evidence.json, whose shape
//!   docs/evidence.schema.json gives), which [`compare`] compares with a
//!   previous package, and [`merge`] merges several environments'
//!   packages into one decision ([`model::merged`]);
//! - [`promotion`]: with a Git checkout of the policies, where each
//!   policy's action is set and the unified diffs that promote it to
//!   Enforce and roll it back, as line edits of the files' texts;
//! - [`output`]: the pages and the package on disk (the crate's only I/O).
//!
//! [`run`] holds what the scan that writes a run record and the evidence
//! that reads it agree on: the record's format, the shard partition and
//! the exception scope; [`error`] the one error type. Modules use only
//! those below them, never back: run and error; ingest; exceptions and
//! promotion; model; then verdict, compare, merge and output.

#![warn(missing_docs)]

pub mod compare;
pub mod error;
pub mod exceptions;
pub mod ingest;
pub mod merge;
pub mod model;
pub mod output;
pub mod promotion;
pub mod run;
pub mod verdict;

pub use error::EvidenceError;
pub use ingest::record::ScanRecord;
pub use ingest::{ClusterIdentity, EvidenceInput, ObjectName, ReportResults};
pub use model::{Evidence, PolicyEvidence, Verdict, SCHEMA_VERSION};
pub use verdict::baseline::apply as apply_baseline;
pub use verdict::build;
pub use verdict::decision::apply as decide;

#[cfg(test)]
mod tests;
