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
