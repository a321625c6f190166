//! The Kyverno CLI test format (`kyverno-test.yaml`, cli.kyverno.io/v1alpha1
//! `Test`): discovery, loading of the policies, resources, values and user
//! info it names, evaluation through the engine, and the comparison of each
//! expected result with Kyverno CLI's own rules (`printTestResult` in
//! `cmd/cli/kubectl-kyverno/commands/test/output.go`: resources matched by
//! name or `namespace/name` whatever the expectation's kind, every resource
//! when none matched, rules by name or their autogen names (CEL policies have
//! none), `resourceSpecs` by group/version, namespace and name, a policy
//! response without the rule counting as "excluded", no response as "Not
//! found" (an unmatched ValidatingPolicy with one plain resource rule gives
//! none, as the CLI's policy processor drops it), a policy refused by
//! validation as Skip / "Invalid Policy"). Refused policies follow the CLI's loader
//! (`cmd/cli/kubectl-kyverno/policy/load.go`, `commands/test/test.go`): see
//! [`crate::engine::policy_validation::Stage`]. A test file path enters; a
//! [`TestReport`] of rows leaves, and [`Summary`] adds reports up.
//!
//! One file a step, in the order a run takes them: `test_file` (finding
//! and decoding the test file), `resolve` (the policies, resources,
//! values and user info it names), `run` (evaluation through the engine),
//! `compare` (each expectation against the responses) and `report` (the
//! rows, reports and summary that leave).

mod compare;
mod report;
mod resolve;
mod run;
mod test_file;

pub use self::report::{Row, Summary, TestReport, Verdict};
pub use self::resolve::parse_user_info;
pub use self::run::run_test_file;
pub use self::test_file::{discover, ExpectedResult, ResourceSpec, TestSpec, TEST_FILE_NAMES};
