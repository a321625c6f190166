//! What a scan run and the evidence agree on: the scan (polscan-cluster's
//! `scan`) writes by it, [`crate::ingest`] reads by it. The run record's
//! format ([`record_format`]: keys, policy document digests, results by
//! rule, kind spelling, namespace coverage), the shard partition
//! ([`shard`]), which PolicyExceptions a run applies
//! ([`exception_scope`]) and the per-policy soak history ([`history`]). Settings and values enter; keys, digests,
//! partitions and statements leave. No I/O, and nothing else of this
//! crate is used.

pub mod exception_scope;
pub mod history;
pub mod record_format;
pub mod shard;
