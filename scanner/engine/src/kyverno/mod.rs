//! Kyverno's own policy kinds, `ClusterPolicy` and `Policy` (kyverno.io),
//! laid out as Kyverno's pkg/engine: the typed model ([`policy`]), autogen
//! for Pod controllers (`autogen`), `preconditions` and `deny`
//! conditions (`conditions` with their `operators`), and validation
//! (`validate`: `pattern`/`anyPattern` through `pattern`, `foreach`,
//! `podSecurity` through `pod_security`, `validate.cel`).
//!
//! A policy document enters here as JSON and leaves as a [`policy::Policy`];
//! a rule, the resource and its evaluation context enter `validate` and a
//! rule outcome leaves. What the other policy kinds and exceptions share
//! stays at the crate root: the CEL environment ([`crate::cel`]), JMESPath
//! and variable substitution, the evaluation context, anchors (the policy
//! checks read them too) and the `match`/`exclude` block
//! (`crate::match_resources`, which Kyverno's `PolicyException` has too).

pub(crate) mod autogen;
pub(crate) mod conditions;
pub(crate) mod operators;
pub(crate) mod pattern;
pub(crate) mod pod_security;
pub mod policy;
pub(crate) mod validate;
