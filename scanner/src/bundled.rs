//! The default policy set and example manifests that ship inside the binary,
//! for `polscan demo`: Pod Security Standards (baseline and restricted) and
//! common best practices as Kyverno ClusterPolicies, and a handful of
//! realistic manifests that comply with some of them and break others. The
//! files under `scanner/policies/` and `scanner/examples/` enter at compile
//! time; (file name, YAML text) pairs leave.

macro_rules! bundle {
    ($dir:literal: $($file:literal),+ $(,)?) => {
        &[$(($file, include_str!(concat!("../", $dir, "/", $file)))),+]
    };
}

/// Every bundled policy file.
pub const POLICIES: &[(&str, &str)] = bundle!("policies":
    "pss-baseline-host-namespaces.yaml",
    "pss-baseline-privileged.yaml",
    "pss-baseline-capabilities.yaml",
    "pss-baseline-host-path.yaml",
    "pss-baseline-host-ports.yaml",
    "pss-baseline-seccomp-sysctls-proc.yaml",
    "pss-restricted-privilege-escalation.yaml",
    "pss-restricted-run-as-non-root.yaml",
    "pss-restricted-capabilities-seccomp.yaml",
    "best-practices-image-tags.yaml",
    "best-practices-resources.yaml",
    "best-practices-probes.yaml",
    "best-practices-namespace-and-labels.yaml",
);

/// Every bundled example manifest file.
pub const EXAMPLES: &[(&str, &str)] = bundle!("examples":
    "namespaces.yaml",
    "compliant.yaml",
    "violations.yaml",
);

#[cfg(test)]
mod tests {
    use super::*;
    use polscan::engine::Policy;
    use polscan::loader::parse_documents;
    use std::collections::BTreeSet;
    use std::path::Path;

    fn listed_in(dir: &str) -> BTreeSet<String> {
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .expect("bundled dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect()
    }

    #[test]
    fn every_file_is_bundled() {
        let policies: BTreeSet<String> = POLICIES.iter().map(|(n, _)| n.to_string()).collect();
        let examples: BTreeSet<String> = EXAMPLES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(policies, listed_in("policies"));
        assert_eq!(examples, listed_in("examples"));
    }

    #[test]
    fn policies_are_valid_audit_policies_with_metadata() {
        let mut names = BTreeSet::new();
        for (file, text) in POLICIES {
            for doc in parse_documents(text, Path::new(file)).expect("parses") {
                let policy = Policy::from_document(&doc.value).expect("valid policy");
                assert_eq!(policy.failure_action(), "Audit", "{file}");
                assert!(policy.background(), "{file}");
                for key in [
                    "policies.kyverno.io/title",
                    "policies.kyverno.io/category",
                    "policies.kyverno.io/severity",
                    "policies.kyverno.io/description",
                ] {
                    assert!(policy.annotations.contains_key(key), "{file} lacks {key}");
                }
                assert!(
                    names.insert(policy.name.clone()),
                    "duplicate {}",
                    policy.name
                );
            }
        }
    }

    #[test]
    fn demo_audit_finds_passes_and_failures() {
        use polscan::audit::{audit, AuditInput};
        use polscan::engine::RuleStatus;
        let load = |files: &[(&str, &str)]| {
            files
                .iter()
                .flat_map(|(n, t)| parse_documents(t, Path::new(n)).expect("parses"))
                .collect::<Vec<_>>()
        };
        let outcome = audit(AuditInput {
            context: None,
            policy_documents: load(POLICIES),
            resource_documents: load(EXAMPLES),
            ..AuditInput::default()
        });
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        let status = |policy: &str, rule: &str, name: &str| {
            outcome
                .findings
                .iter()
                .find(|f| {
                    f.policy.name == policy
                        && f.result.rule.ends_with(rule)
                        && f.resource.name == name
                })
                .map(|f| f.result.status)
        };
        // The compliant Deployment passes every policy it is checked against.
        let checkout: Vec<_> = outcome
            .findings
            .iter()
            .filter(|f| f.resource.name == "checkout" && f.resource.kind == "Deployment")
            .collect();
        assert!(!checkout.is_empty());
        for finding in checkout {
            assert_eq!(
                finding.result.status,
                RuleStatus::Pass,
                "{} {}: {}",
                finding.policy.name,
                finding.result.rule,
                finding.result.message
            );
        }
        assert_eq!(
            status(
                "pss-baseline-host-namespaces",
                "host-namespaces",
                "node-exporter"
            ),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status("pss-baseline-host-path", "host-path", "node-exporter"),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status("pss-baseline-privileged", "privileged-containers", "cache"),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status("pss-baseline-capabilities", "adding-capabilities", "cache"),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status("best-practices-image-tags", "require-image-tag", "cache"),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status(
                "best-practices-image-tags",
                "require-image-tag",
                "debug-shell"
            ),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status(
                "best-practices-namespace-and-labels",
                "disallow-default-namespace",
                "debug-shell"
            ),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status(
                "pss-restricted-run-as-non-root",
                "run-as-non-root-user",
                "debug-shell"
            ),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status(
                "pss-baseline-seccomp-sysctls-proc",
                "seccomp-not-unconfined",
                "debug-shell"
            ),
            Some(RuleStatus::Fail)
        );
        assert_eq!(
            status(
                "best-practices-resources",
                "requests-and-limits",
                "nightly-report"
            ),
            Some(RuleStatus::Pass)
        );
    }
}
