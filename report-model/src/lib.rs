//! wgpolicyk8s.io/v1alpha2 `PolicyReport` and `ClusterPolicyReport` model.
//!
//! - [`meta`]: small Kubernetes metadata types (ObjectMeta, ObjectReference, …).
//! - [`report`]: the report types polscan writes; summaries are always
//!   derived from results.
//! - [`read`]: views that read stored reports of any producer field by
//!   field, never rejecting one (the evidence folds reports in with them).
//! - [`hash`]: a timestamp-free content hash, to skip unchanged writes.
//! - [`message`]: result messages bounded in bytes, with a marker where
//!   they were cut.
//! - [`shape`]: turns scanner results into per-resource or per-namespace reports.
//! - [`text`]: the one predicate of the characters no output shows as they
//!   are (escape sequences, bidirectional overrides).
//! - [`api`]: the report APIs (wgpolicyk8s.io, openreports.io) and a
//!   report's form in each.
//! - [`schema`]: the CRDs (`deploy/crds/` at the workspace root, embedded)
//!   and the structural check every report passes before it is written.
//! - [`wire`]: the bytes a report is sent as (what a YAML reader refuses
//!   escaped), on which every size limit is measured.

#![warn(missing_docs)]

pub mod api;
pub mod hash;
pub mod message;
pub mod meta;
pub mod read;
pub mod report;
pub mod schema;
pub mod shape;
pub mod text;
pub mod wire;

pub use hash::{content_hash, stored_content_hash, with_content_hash, CONTENT_HASH_ANNOTATION};
pub use meta::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, ObjectReference, OwnerReference,
    SelectorOperator, Timestamp,
};
pub use report::{
    ClusterPolicyReport, PolicyReport, PolicyResult, Report, ReportBody, ReportError, ReportResult,
    Severity, Summary, API_VERSION, CLUSTER_POLICY_REPORT_KIND, POLICY_REPORT_KIND,
};
pub use shape::{
    per_namespace, per_resource, PerNamespaceOptions, ScopedResult, ShapeError, ShapedReports,
};
