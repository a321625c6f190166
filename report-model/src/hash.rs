//! Content hash of a report, so a writer can skip updates that change nothing.
//!
//! A report goes in; a lowercase SHA-256 hex digest comes out. The digest
//! covers what a reader of the report would see change — kind, name,
//! namespace, labels, owner references, scope, scope selector and the results
//! with their timestamps removed — and excludes annotations (where the hash
//! itself is stored), `uid`, `resourceVersion` and result timestamps, which
//! change on every scan without changing the findings.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::meta::{LabelSelector, ObjectReference, OwnerReference};
use crate::report::{PolicyResult, Report, Severity};
use std::collections::BTreeMap;

/// Annotation under which [`with_content_hash`] stores the digest.
pub const CONTENT_HASH_ANNOTATION: &str = "polscan.io/content-sha256";

/// The hashed view of a report. Results are already in canonical order and
/// maps are `BTreeMap`s, so the JSON encoding is identical across runs.
#[derive(Serialize)]
struct HashInput<'a> {
    kind: &'static str,
    name: Option<&'a str>,
    namespace: Option<&'a str>,
    labels: &'a BTreeMap<String, String>,
    owner_references: &'a [OwnerReference],
    scope: Option<&'a ObjectReference>,
    scope_selector: Option<&'a LabelSelector>,
    results: Vec<HashedResult<'a>>,
}

/// A [`crate::ReportResult`] without its timestamp, borrowed: the same
/// fields in the same order with the same serde attributes, so its JSON is
/// that of the result with `timestamp: None` (the pinned hash in
/// tests/hash.rs checks it), without copying every result of every report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HashedResult<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    policy: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<Severity>,
    result: PolicyResult,
    #[serde(skip_serializing_if = "is_false")]
    scored: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    resources: &'a [ObjectReference],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_selector: Option<&'a LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    properties: &'a BTreeMap<String, String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Lowercase hex SHA-256 of the report's content, ignoring timestamps.
pub fn content_hash<R: Report>(report: &R) -> String {
    let metadata = report.metadata();
    let body = report.body();
    let results = body
        .results()
        .iter()
        .map(|result| HashedResult {
            source: result.source.as_deref(),
            policy: &result.policy,
            rule: result.rule.as_deref(),
            category: result.category.as_deref(),
            severity: result.severity,
            result: result.result,
            scored: result.scored,
            resources: &result.resources,
            resource_selector: result.resource_selector.as_ref(),
            message: result.message.as_deref(),
            properties: &result.properties,
        })
        .collect();
    let input = HashInput {
        kind: R::KIND,
        name: metadata.name.as_deref(),
        namespace: metadata.namespace.as_deref(),
        labels: &metadata.labels,
        owner_references: &metadata.owner_references,
        scope: body.scope(),
        scope_selector: body.scope_selector(),
        results,
    };
    let mut hasher = Sha256::new();
    // Serializing plain structs and string maps to a Vec cannot fail; the
    // fallback only keeps this function total.
    match serde_json::to_vec(&input) {
        Ok(bytes) => hasher.update(&bytes),
        Err(err) => hasher.update(err.to_string().as_bytes()),
    }
    to_hex(&hasher.finalize())
}

/// Sets [`CONTENT_HASH_ANNOTATION`] to the report's current content hash.
pub fn with_content_hash<R: Report>(mut report: R) -> R {
    let digest = content_hash(&report);
    report
        .metadata_mut()
        .annotations
        .insert(CONTENT_HASH_ANNOTATION.to_owned(), digest);
    report
}

/// The digest stored in a report's annotations, if any — for comparing an
/// object read from the cluster with a freshly computed [`content_hash`].
pub fn stored_content_hash<R: Report>(report: &R) -> Option<&str> {
    report
        .metadata()
        .annotations
        .get(CONTENT_HASH_ANNOTATION)
        .map(String::as_str)
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}
