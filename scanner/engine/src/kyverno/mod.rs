//! Kyverno's own policy kinds, `ClusterPolicy` and `Policy` (kyverno.io):
//! the typed model ([`policy`]). A policy document enters as JSON and
//! leaves as a [`policy::Policy`].

pub mod policy;
