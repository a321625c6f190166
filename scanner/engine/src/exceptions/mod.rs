//! The three ways a rule's result is bypassed, told apart by name:
//!
//! - [`kyverno`]: Kyverno's `PolicyException` (kyverno.io v2, v2beta1),
//!   naming rules of Kyverno policies and matching resources with `match`
//!   and `conditions` (pkg/engine/policy_exceptions.go);
//! - Kyverno's CEL `PolicyException` (policies.kyverno.io), naming CEL
//!   policies and matching with CEL `matchConditions`, lives with the CEL
//!   policy kinds in [`crate::cel::policies::policy_exception`], as
//!   Kyverno's pkg/cel/engine/exception.go does: a `ValidatingPolicy`
//!   applies it while it evaluates, and it runs in the CEL environment, so
//!   here it would make this folder and `cel/` need each other;
//! - [`annotation`]: polscan's own time-bound bypass declared on the
//!   resource (`polscan.io/exception` annotations), which Kyverno does not
//!   know: it turns a failure into a documented, expiring skip.
//!
//! Exception documents or annotations and the rule results of one resource
//! enter; the results with the bypassed ones marked leave.

pub mod annotation;
pub mod kyverno;
