//! The CEL policy kinds, built on the CEL environment of [`crate::cel`]
//! as Kyverno's pkg/cel/policies is on pkg/cel: Kyverno's
//! `ValidatingPolicy` and `NamespacedValidatingPolicy`
//! ([`validating_policy`]), Kubernetes' `ValidatingAdmissionPolicy` and its
//! bindings ([`admission_policy`]), what Kubernetes' validating admission
//! plugin does for both (`matchConstraints` and the evaluation body,
//! [`admission`]), and Kyverno's CEL `PolicyException` that bypasses
//! ValidatingPolicies ([`policy_exception`], pkg/cel/engine/exception.go).
//!
//! Policy and exception documents enter as JSON and leave as compiled
//! policies; a resource's identity and JSON enter their evaluation and rule
//! results (or "not matched") leave.

pub mod admission;
pub mod admission_policy;
pub mod policy_exception;
pub mod validating_policy;
