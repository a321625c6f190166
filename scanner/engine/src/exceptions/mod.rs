//! The three ways a rule's result is bypassed, told apart by name:
//!
//! - [`kyverno`]: Kyverno's `PolicyException` (kyverno.io v2, v2beta1),
//!   naming rules of Kyverno policies and matching resources with `match`
//!   and `conditions` (pkg/engine/policy_exceptions.go);
//! - [`cel`]: Kyverno's CEL `PolicyException` (policies.kyverno.io), naming
//!   CEL policies and matching with CEL `matchConditions`
//!   (pkg/cel/engine/exception.go);
//! - [`annotation`]: polscan's own time-bound bypass declared on the
//!   resource (`polscan.io/exception` annotations), which Kyverno does not
//!   know: it turns a failure into a documented, expiring skip.
//!
//! Exception documents or annotations and the rule results of one resource
//! enter; the results with the bypassed ones marked leave.

pub mod annotation;
pub mod cel;
pub mod kyverno;

use serde_json::Value;

/// Whether `document` is a `PolicyException` of one of `api_versions`
/// (the two groups share the kind name, so the version tells them apart).
pub(crate) fn is_exception(document: &Value, api_versions: &[&str]) -> bool {
    document.get("kind").and_then(Value::as_str) == Some("PolicyException")
        && document
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| api_versions.contains(&v))
}
