//! wgpolicyk8s.io/v1alpha2 PolicyReport and ClusterPolicyReport types.
