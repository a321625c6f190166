//! Every output format for findings with arbitrary policy, rule, resource
//! and namespace names, messages, actions, annotations and file names
//! (structured from the bytes by `arbitrary`); what each format renders
//! must read back ([`polscan_fuzz::render_every_format`]).
#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use polscan::audit::{AuditOutcome, Finding, Problem};
use polscan::engine::policy::PolicyMeta;
use polscan::engine::{ResourceRef, RuleResult, RuleStatus};
use polscan::loader::Origin;

#[derive(Arbitrary, Debug)]
struct Input {
    findings: Vec<FindingInput>,
    problems: Vec<String>,
}

#[derive(Arbitrary, Debug)]
struct FindingInput {
    kind: u8,
    policy: String,
    policy_namespace: Option<String>,
    annotations: Vec<(String, String)>,
    rule: String,
    api_version: String,
    resource_kind: String,
    namespace: String,
    name: String,
    uid: String,
    status: u8,
    message: String,
    action: String,
    properties: Vec<(String, String)>,
    origin: Option<(String, u16, u16)>,
}

const KINDS: [&str; 5] = [
    "ClusterPolicy",
    "Policy",
    "ValidatingPolicy",
    "NamespacedValidatingPolicy",
    "ValidatingAdmissionPolicy",
];
const STATUSES: [RuleStatus; 5] = [
    RuleStatus::Pass,
    RuleStatus::Fail,
    RuleStatus::Warn,
    RuleStatus::Error,
    RuleStatus::Skip,
];

fn finding(input: FindingInput) -> Finding {
    let mut result = RuleResult::new(
        input.rule,
        STATUSES[usize::from(input.status) % STATUSES.len()],
        input.message,
        input.action,
    );
    result.properties = input.properties.into_iter().collect();
    Finding {
        policy: Arc::new(PolicyMeta {
            kind: KINDS[usize::from(input.kind) % KINDS.len()].to_string(),
            name: input.policy,
            namespace: input.policy_namespace,
            annotations: input.annotations.into_iter().collect::<BTreeMap<_, _>>(),
            process: "background scan",
        }),
        resource: ResourceRef {
            api_version: input.api_version,
            kind: input.resource_kind,
            namespace: input.namespace,
            name: input.name,
            uid: input.uid,
        },
        origin: input.origin.map(|(path, index, line)| Origin {
            path: PathBuf::from(path),
            index: usize::from(index),
            line: usize::from(line),
        }),
        result,
    }
}

fuzz_target!(|input: Input| {
    let mut findings: Vec<Finding> = input.findings.into_iter().map(finding).collect();
    // The audit hands findings over in this order; the renderers rely on it.
    findings.sort_by(polscan::audit::finding_order);
    let outcome = AuditOutcome {
        resources_evaluated: findings.len(),
        policies_evaluated: findings.len(),
        findings,
        problems: input.problems.into_iter().map(Problem::note).collect(),
    };
    polscan_fuzz::render_every_format(&outcome);
});
