//! Running a test file as `kyverno test` does: one report per `Test`
//! document; the policies and resources it names go through the engine
//! (with its mocks, values and exceptions) and every expected result is
//! compared. A test file path enters; [`TestReport`]s leave.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::compare::compare;
use super::report::{error_report, Row, TestReport};
use super::resolve::{
    load_relative, load_single, one_plain_resource_rule, parse_user_info, refusal, rule_kind,
    PolicyIndex, Refusal,
};
use super::test_file::{decode_test_document, TestSpec};
use crate::engine::exceptions::kyverno::PolicyException;
use crate::engine::fake_cluster::{ApiCallMocks, FakeCluster, GlobalContextMocks};
use crate::engine::supplied_data::SuppliedData;
use crate::engine::values::Values;
use crate::engine::AdmissionPolicy;
use crate::engine::CelPolicyException;
use crate::engine::Policy;
use crate::engine::ValidatingPolicy;
use crate::engine::{Engine, EngineOptions, Environment, PolicyResponse, ValueExt};
use crate::loader::{self, Document};

/// Runs every `Test` document of one test file as `kyverno test` does
/// (cmd/cli/kubectl-kyverno/test/load.go `LoadTest`: the file is split into
/// documents, each strictly unmarshalled into its own test; a document that
/// does not parse ends the file's list there). One report per document.
pub fn run_test_file(path: &Path) -> Vec<TestReport> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) => {
            return vec![error_report(
                path,
                String::new(),
                format!("{}: {err}", path.display()),
            )]
        }
    };
    let mut reports = Vec::new();
    if let Err(err) = polscan_engine::yaml::check_nesting(&text) {
        return vec![error_report(
            path,
            String::new(),
            format!("{}: document {}: {err}", path.display(), err.document),
        )];
    }
    // A key written twice (`results:` twice) drops what came first, as in
    // policy and resource files (verify29 V14).
    if let Some(first) = polscan_engine::yaml::duplicate_keys(&text).first() {
        tracing::warn!(
            "{}: key `{}` is written twice in one mapping at line {} (document {}); the last one is used, as the Kyverno CLI uses it, and what the first held is not tested",
            path.display(),
            first.key,
            first.line,
            first.document
        );
    }
    for document in serde_yaml::Deserializer::from_str(&text) {
        let decoded = Value::deserialize(document)
            .map_err(|err| (String::new(), err.to_string()))
            .and_then(decode_test_document);
        match decoded {
            // `---` with nothing after it: no document.
            Ok(None) => {}
            Ok(Some(spec)) => reports.push(run_test_spec(path, spec)),
            Err((name, message)) => {
                reports.push(error_report(
                    path,
                    name,
                    format!("{}: {message}", path.display()),
                ));
                return reports;
            }
        }
    }
    if reports.is_empty() {
        reports.push(error_report(
            path,
            String::new(),
            format!("{}: no Test document", path.display()),
        ));
    }
    reports
}

/// Runs one `Test` document.
fn run_test_spec(path: &Path, spec: TestSpec) -> TestReport {
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = spec
        .metadata
        .as_ref()
        .and_then(|m| m.str_field("name"))
        .map(str::to_string)
        .or_else(|| spec.name.clone())
        .unwrap_or_default();
    // A test without apiVersion/kind, or with the top-level `name`, is the
    // deprecated schema: the CLI stops there (deprecations/check.go,
    // commands/test/command.go).
    if spec.api_version.is_none() || spec.kind.is_none() || spec.name.is_some() {
        return error_report(
            path,
            name,
            format!(
                "test file {} uses a deprecated schema — please migrate to the latest format",
                path.display()
            ),
        );
    }
    // `kyverno test` does not run a test without expected results (so its
    // policies are not even loaded): nothing to report, nothing fails.
    if spec.results.is_empty() {
        return TestReport {
            path: path.to_path_buf(),
            name,
            rows: Vec::new(),
            error: None,
            invalid_policies: Vec::new(),
            load_errors: Vec::new(),
        };
    }
    match run_spec(&dir, &spec) {
        Ok(outcome) => TestReport {
            path: path.to_path_buf(),
            name,
            rows: outcome.rows,
            error: None,
            invalid_policies: outcome.invalid_policies,
            load_errors: outcome.load_errors,
        },
        Err(err) => error_report(path, name, err),
    }
}

/// What running one test gives besides a fatal error.
struct SpecOutcome {
    rows: Vec<Row>,
    invalid_policies: Vec<String>,
    load_errors: Vec<String>,
}

fn run_spec(dir: &Path, spec: &TestSpec) -> Result<SpecOutcome, String> {
    let policy_docs = load_relative(dir, &spec.policies)?;
    let mut load_errors = Vec::new();
    let mut compile_failure: Option<String> = None;
    let mut refuse = |doc: &Document,
                      name: &str,
                      err: &crate::engine::policy::PolicyError,
                      invalid: &mut BTreeMap<String, String>|
     -> Result<(), String> {
        match refusal(doc, err) {
            Refusal::Fatal(message) => return Err(message),
            Refusal::Dropped(message) => load_errors.push(message),
            Refusal::Skipped(message) => {
                invalid.insert(name.to_string(), message);
            }
            Refusal::DoesNotCompile(message) => {
                compile_failure.get_or_insert(message);
            }
        }
        Ok(())
    };
    let mut policies = Vec::new();
    let mut validating = Vec::new();
    let mut admission = Vec::new();
    let mut bindings = Vec::new();
    let mut invalid: BTreeMap<String, String> = BTreeMap::new();
    let mut index = PolicyIndex {
        rule_kinds: HashMap::new(),
        other_kinds: HashMap::new(),
    };
    for doc in &policy_docs {
        let name = doc.value.string_at_or_empty("/metadata/name");
        if Policy::is_kyverno_policy(&doc.value) {
            let kinds = doc
                .value
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .map(|rules| {
                    rules
                        .iter()
                        .map(|r| (r.str_field("name").unwrap_or("").to_string(), rule_kind(r)))
                        .collect()
                })
                .unwrap_or_default();
            index.rule_kinds.insert(name.clone(), kinds);
            match Policy::from_document(&doc.value) {
                Ok(policy) => policies.push(policy),
                Err(err) => refuse(doc, &name, &err, &mut invalid)?,
            }
        } else if ValidatingPolicy::is_validating_policy(&doc.value) {
            match ValidatingPolicy::from_document(&doc.value) {
                Ok(policy) => validating.push(policy),
                Err(err) => refuse(doc, &name, &err, &mut invalid)?,
            }
        } else if AdmissionPolicy::is_policy(&doc.value) {
            match AdmissionPolicy::from_document(&doc.value) {
                Ok(policy) => admission.push(policy),
                Err(err) => refuse(doc, &name, &err, &mut invalid)?,
            }
        } else if AdmissionPolicy::is_binding(&doc.value) {
            match AdmissionPolicy::binding_from_document(&doc.value) {
                Ok(binding) => bindings.push(binding),
                Err(err) => refuse(doc, &name, &err, &mut invalid)?,
            }
        } else {
            let kind = doc.value.str_field("kind").unwrap_or("").to_string();
            index.other_kinds.insert(name, kind);
        }
    }
    let values_document = match (&spec.values, &spec.variables) {
        (Some(inline), _) => Some(inline.clone()),
        (None, Some(file)) => Some(load_single(dir, file)?),
        (None, None) => None,
    };
    let values = match &values_document {
        Some(document) => Values::from_document(document)?,
        None => Values::default(),
    };
    // The operations results declare, each checked in a run of its own
    // (Kyverno's NormalizeOperation refuses any other).
    let mut operations = std::collections::BTreeSet::new();
    for expected in &spec.results {
        match expected.operation.as_str() {
            "" => {}
            "CREATE" | "UPDATE" | "DELETE" => {
                operations.insert(expected.operation.clone());
            }
            other => {
                return Err(format!(
                    "invalid test result for policy {}: invalid operation {other:?}, must be one of CREATE, UPDATE, DELETE",
                    expected.policy
                ))
            }
        }
    }
    let requester = match &spec.user_info {
        Some(file) => Some(parse_user_info(&load_single(dir, file)?)),
        None => None,
    };
    let mut resources = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for doc in load_relative(dir, &spec.resources)? {
        let mut value = doc.value;
        loader::normalize_resource(&mut value);
        let api_version = value.str_field("apiVersion").unwrap_or("");
        let key = (
            crate::kinds::group_of(api_version).to_string(),
            value.str_field("kind").unwrap_or("").to_string(),
            value.string_at_or_empty("/metadata/namespace"),
            value.string_at_or_empty("/metadata/name"),
        );
        if seen.insert(key) {
            resources.push(value);
        }
    }
    // Kyverno compiles ValidatingPolicies when it applies them to the first
    // resource; the compile error ends the run there.
    if let (Some(message), Some(first)) = (compile_failure, resources.first()) {
        let resource = first.str_at("/metadata/name").unwrap_or("");
        return Err(format!(
            "failed to apply policies on resource {resource} (failed to compile policy {message})"
        ));
    }
    let mut data = match &spec.context {
        Some(file) => SuppliedData::from_context(&load_single(dir, file)?)
            .map_err(|err| format!("context {file}: {err}"))?,
        None => SuppliedData::default(),
    };
    let mut params = resources.clone();
    for doc in load_relative(dir, &spec.param_resources)? {
        params.push(doc.value);
    }
    // The fake client holds the test's resources, params and the
    // clusterResources objects (commands/test/test.go).
    let cluster_objects = if spec.cluster_resources.is_empty() {
        None
    } else {
        let mut objects = params.clone();
        for doc in load_relative(dir, &spec.cluster_resources)
            .map_err(|err| format!("error: failed to load Kubernetes resources: {err}"))?
        {
            let listed = doc
                .value
                .pointer("/spec/resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for mut object in listed {
                loader::normalize_resource(&mut object);
                objects.push(object);
            }
            let crds: Vec<String> = doc
                .value
                .pointer("/spec/crds")
                .and_then(Value::as_array)
                .map(|files| {
                    files
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            for crd in load_relative(dir, &crds).map_err(|err| {
                format!(
                    "error: failed to load CRDs from path {}: {err}",
                    crds.join(", ")
                )
            })? {
                objects.push(crd.value);
            }
        }
        Some(objects)
    };
    data = data.with_params(params);
    let api_mocks = ApiCallMocks::from_entries(&spec.api_call_responses)?;
    let load_file = |file: &str| -> Result<Vec<Value>, String> {
        // The CLI reads one file (os.ReadFile): a directory is an error.
        if dir.join(file).is_dir() {
            return Err("read: is a directory".to_string());
        }
        Ok(load_relative(dir, &[file.to_string()])?
            .into_iter()
            .map(|doc| doc.value)
            .collect())
    };
    let global_mocks = GlobalContextMocks::from_entries(&spec.global_context_entries, &load_file)?;
    let fake = FakeCluster::new(data, cluster_objects, api_mocks, global_mocks)
        .map_err(|err| format!("error: failed to load Kubernetes resources: {err}"))?;
    for policy in &mut admission {
        policy.bind(&bindings);
    }
    // PolicyExceptions listed in the test, as `kyverno test` loads them.
    let mut exceptions = Vec::new();
    let mut cel_exceptions = Vec::new();
    for doc in load_relative(dir, &spec.exceptions)? {
        if PolicyException::is_policy_exception(&doc.value) {
            exceptions.push(
                PolicyException::from_document(&doc.value)
                    .map_err(|err| format!("{}: {err}", doc.origin))?,
            );
        } else if CelPolicyException::is_cel_policy_exception(&doc.value) {
            cel_exceptions.push(
                CelPolicyException::from_document(&doc.value)
                    .map_err(|err| format!("{}: {err}", doc.origin))?,
            );
        }
    }
    // commands/test/test.go refuses kyverno.io exceptions beside VAPs.
    if !admission.is_empty() && !exceptions.is_empty() {
        return Err(
            "error: use of exceptions with ValidatingAdmissionPolicies is not supported".into(),
        );
    }
    // The Kyverno CLI keeps no response of a ValidatingPolicy that did not
    // match when its constraints are one plain resource rule
    // (`hasSelector` in cmd/cli/kubectl-kyverno/processor/policy_processor.go):
    // an expectation about such a resource then reads "Not found".
    let unlisted_when_unmatched: std::collections::HashSet<String> = validating
        .iter()
        .filter(|p| p.match_constraints().is_some_and(one_plain_resource_rule))
        .map(|p| p.meta.name.clone())
        .collect();
    let engine = Engine::new(policies, EngineOptions::default())
        .with_validating_policies(validating)
        .with_admission_policies(admission)
        .with_policy_exceptions(exceptions)
        .with_cel_policy_exceptions(cel_exceptions);
    let mut namespace_labels = values.namespace_labels();
    let mut namespace_objects = values.namespace_objects();
    if fake.has_cluster() {
        // With a cluster the CLI reads each resource's Namespace for its
        // labels unless values give them, and stops when it is missing
        // (processor/policy_processor.go).
        for resource in &resources {
            let r = crate::engine::ResourceRef::from_resource(resource);
            if r.namespace.is_empty()
                || r.kind == "Namespace"
                || namespace_labels
                    .get(&r.namespace)
                    .is_some_and(|l| !l.is_empty())
            {
                continue;
            }
            let Some(namespace) = fake.namespace(&r.namespace) else {
                return Err(format!(
                    "failed to apply policies on resource {} (failed to get the resource's namespace (namespaces {:?} not found))",
                    r.name, r.namespace
                ));
            };
            namespace_labels.insert(
                r.namespace.clone(),
                crate::engine::matching::string_map(namespace.pointer("/metadata/labels")),
            );
            namespace_objects
                .entry(r.namespace.clone())
                .or_insert(namespace);
        }
    }
    let engine = engine.with_cluster_data(Arc::new(fake));
    let mut env = Environment::default();
    env.namespace_labels = namespace_labels;
    env.namespace_objects = namespace_objects;
    env.values = values;
    env.requester = requester;
    let evaluate_all = |env: &Environment| {
        let mut responses: BTreeMap<String, Vec<PolicyResponse>> = BTreeMap::new();
        for resource in &resources {
            let r = crate::engine::ResourceRef::from_resource(resource);
            let key = format!("{},{},{},{}", r.api_version, r.kind, r.namespace, r.name);
            let mut evaluated = engine.evaluate(resource, env);
            evaluated.retain(|response| {
                !(response.rules.is_empty()
                    && ValidatingPolicy::is_kind(&response.policy.kind)
                    && unlisted_when_unmatched.contains(&response.policy.name))
            });
            responses.insert(key, evaluated);
        }
        responses
    };
    let responses = evaluate_all(&env);
    let mut by_operation = BTreeMap::new();
    for operation in operations {
        let mut operation_env = env.clone();
        operation_env.values =
            Values::from_document(&with_operation(values_document.as_ref(), &operation))?;
        by_operation.insert(operation, evaluate_all(&operation_env));
    }
    // One expectation at a time, in the file's order, each against the
    // run of its operation.
    let mut rows = Vec::new();
    for expected in &spec.results {
        let against = by_operation.get(&expected.operation).unwrap_or(&responses);
        rows.extend(compare(
            std::slice::from_ref(expected),
            against,
            &index,
            &invalid,
        ));
    }
    Ok(SpecOutcome {
        rows,
        invalid_policies: invalid
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect(),
        load_errors,
    })
}

/// A values document (`kind: Values`) whose `request.operation` is
/// `operation` wherever it is set — globally and in each resource's
/// values —, as an expectation's operation takes precedence over the
/// values file (Kyverno: processor/policy_processor.go, "an explicitly
/// configured operation … takes precedence").
fn with_operation(document: Option<&Value>, operation: &str) -> Value {
    let mut document = document.cloned().unwrap_or_else(|| serde_json::json!({}));
    if let Some(map) = document.as_object_mut() {
        let global = map
            .entry("globalValues")
            .or_insert_with(|| serde_json::json!({}));
        if !global.is_object() {
            *global = serde_json::json!({});
        }
        if let Some(global) = global.as_object_mut() {
            global.insert("request.operation".into(), Value::from(operation));
        }
    }
    if let Some(policies) = document.get_mut("policies").and_then(Value::as_array_mut) {
        for resource in policies
            .iter_mut()
            .filter_map(|policy| policy.get_mut("resources").and_then(Value::as_array_mut))
            .flatten()
        {
            if let Some(values) = resource.get_mut("values").and_then(Value::as_object_mut) {
                if values.contains_key("request.operation") {
                    values.insert("request.operation".into(), Value::from(operation));
                }
            }
        }
    }
    document
}

#[cfg(test)]
mod loading_tests {
    //! How refused policies reach a test run, from files in a temporary folder.

    use super::*;
    use crate::kyverno_test::{Summary, Verdict};

    const BROKEN_VPOL: &str = "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: broken}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]}\n  validations: [{expression: 'object.metadata.name =='}]\n";
    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n";
    const TEST: &str = "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\nresources: [resources.yaml]\nresults:\n- {policy: broken, resources: [p], kind: Pod, result: pass, isValidatingPolicy: true}\n";

    fn run_with(resources: &str) -> TestReport {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("policy.yaml"), BROKEN_VPOL).expect("write");
        std::fs::write(dir.path().join("resources.yaml"), resources).expect("write");
        let test = dir.path().join("kyverno-test.yaml");
        std::fs::write(&test, TEST).expect("write");
        run_test_file(&test).remove(0)
    }

    #[test]
    fn a_validating_policy_that_does_not_compile_stops_the_test() {
        let report = run_with(POD);
        assert_eq!(
            Summary::of(std::slice::from_ref(&report)).exit_code(),
            1,
            "the run stops with exit code 1"
        );
        let error = report.error.expect("the run stops");
        assert!(
            error.contains("failed to compile policy")
                && error.contains("broken")
                && error.contains("spec.validations[0].expression"),
            "{error}"
        );
    }

    fn run_files(policy: &str, resources: &str, test: &str) -> TestReport {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("policy.yaml"), policy).expect("write");
        std::fs::write(dir.path().join("resources.yaml"), resources).expect("write");
        let file = dir.path().join("kyverno-test.yaml");
        std::fs::write(&file, test).expect("write");
        run_test_file(&file).remove(0)
    }

    #[test]
    fn an_unmatched_validating_policy_with_one_plain_rule_gives_no_response() {
        let policy = "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: pods-only}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]}\n  validations: [{expression: 'true'}]\n";
        let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n";
        let test = "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\nresources: [resources.yaml]\nresults:\n- {policy: pods-only, resources: [c], kind: ConfigMap, result: pass, isValidatingPolicy: true}\n";
        let report = run_files(policy, config_map, test);
        assert_eq!(report.rows.len(), 1);
        assert_eq!(
            (report.rows[0].verdict, report.rows[0].reason.as_str()),
            (Verdict::Fail, "Not found")
        );
        // With a selector the CLI keeps the empty response: excluded.
        let selective = policy.replace(
            "matchConstraints: {",
            "matchConstraints: {objectSelector: {matchLabels: {app: x}}, ",
        );
        let report = run_files(&selective, config_map, test);
        assert_eq!(
            (report.rows[0].verdict, report.rows[0].reason.as_str()),
            (Verdict::Pass, "Excluded")
        );
    }

    /// A result's `operation` is checked in a run of its own under that
    /// operation, over the values file's (Kyverno 1.16's
    /// `TriggerByOperation`); it used to be read and ignored, checked
    /// against the CREATE run.
    #[test]
    fn a_result_s_operation_is_checked_in_a_run_of_its_own() {
        let policy = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: no-delete}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate:\n      message: deletes refused\n      deny: {conditions: {any: [{key: '{{ request.operation }}', operator: Equals, value: DELETE}]}}\n";
        let test = |results: &str, values: &str| {
            format!("apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {{name: t}}\npolicies: [policy.yaml]\nresources: [resources.yaml]\n{values}results:\n{results}")
        };
        let results = "- {policy: no-delete, rule: r, resources: [p], kind: Pod, result: pass}\n- {policy: no-delete, rule: r, resources: [p], kind: Pod, result: fail, operation: DELETE}\n- {policy: no-delete, rule: r, resources: [p], kind: Pod, result: pass, operation: UPDATE}\n";
        let verdicts = |report: &TestReport| -> Vec<(String, Verdict)> {
            report
                .rows
                .iter()
                .map(|row| (row.expected.clone(), row.verdict))
                .collect()
        };
        let report = run_files(policy, POD, &test(results, ""));
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(
            verdicts(&report),
            [
                ("pass".to_string(), Verdict::Pass),
                ("fail".to_string(), Verdict::Pass),
                ("pass".to_string(), Verdict::Pass)
            ]
        );
        // The result's operation wins over the values' DELETE; the
        // default run keeps the values'.
        let values = "values: {globalValues: {request.operation: DELETE}}\n";
        let report = run_files(policy, POD, &test(results, values));
        assert_eq!(
            verdicts(&report),
            [
                ("pass".to_string(), Verdict::Fail),
                ("fail".to_string(), Verdict::Pass),
                ("pass".to_string(), Verdict::Pass)
            ]
        );
        // Kyverno refuses any other operation.
        let report = run_files(
            policy,
            POD,
            &test("- {policy: no-delete, rule: r, resources: [p], kind: Pod, result: pass, operation: CONNECT}\n", ""),
        );
        let error = report.error.expect("refused");
        assert!(
            error.contains(
                "invalid test result for policy no-delete: invalid operation \"CONNECT\""
            ),
            "{error}"
        );
    }

    /// verify42 F5: a ValidatingPolicy's result under `operation: DELETE`
    /// sees the resource as `oldObject` and a null `object`, as admission
    /// binds a DELETE (it saw the resource as `object`).
    #[test]
    fn a_validating_policy_under_delete_sees_the_old_object() {
        let policy = "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: keep}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE, DELETE], resources: [pods]}]}\n  validations: [{expression: \"request.operation != 'DELETE' || (object == null && oldObject.metadata.name == 'p')\"}]\n";
        let test = "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\nresources: [resources.yaml]\nresults:\n- {policy: keep, resources: [p], kind: Pod, result: pass}\n- {policy: keep, resources: [p], kind: Pod, result: pass, operation: DELETE}\n";
        let report = run_files(policy, POD, test);
        assert!(report.error.is_none(), "{:?}", report.error);
        let verdicts: Vec<_> = report.rows.iter().map(|row| row.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Pass, Verdict::Pass],
            "{:?}",
            report.rows
        );
    }

    #[test]
    fn a_test_without_results_is_not_run() {
        let test = TEST.split("results:").next().unwrap_or(TEST);
        let report = run_files(BROKEN_VPOL, POD, test);
        assert!(report.error.is_none(), "{:?}", report.error);
        assert!(report.rows.is_empty());
    }

    #[test]
    fn without_resources_the_compile_error_is_never_met() {
        // Kyverno compiles ValidatingPolicies when it applies them to a
        // resource; with none there is nothing to compare either.
        let report = run_with("");
        assert!(report.error.is_none(), "{:?}", report.error);
        assert!(report.rows.is_empty(), "{:?}", report.rows);
        assert!(!report.passed());
    }
}

#[cfg(test)]
mod test_documents {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::kyverno_test::Summary;

    const POLICY: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: tier}\nspec:\n  rules:\n  - name: tier\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    context:\n    - name: tier\n      apiCall:\n        urlPath: /api/v1/namespaces/{{request.object.metadata.namespace}}/configmaps/tier\n        jmesPath: data.tier\n    validate:\n      failureAction: Audit\n      message: wrong tier\n      pattern: {metadata: {labels: {tier: '{{ tier }}'}}}\n";
    const PODS: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: gold, namespace: a, labels: {tier: gold}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: bronze, namespace: a, labels: {tier: bronze}}\n";
    const HEAD: &str = "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\n";

    fn run(test: &str, extra: &[(&str, &str)]) -> Vec<TestReport> {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("policy.yaml"), POLICY).expect("write");
        std::fs::write(dir.path().join("resources.yaml"), PODS).expect("write");
        for (name, text) in extra {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let file = dir.path().join("kyverno-test.yaml");
        std::fs::write(&file, test).expect("write");
        run_test_file(&file)
    }

    fn results(pod: &str, result: &str) -> String {
        format!("results:\n- {{policy: tier, rule: tier, kind: Pod, resources: [{pod}], result: {result}}}\n")
    }

    const CLUSTER: &str = "apiVersion: cli.kyverno.io/v1alpha1\nkind: ClusterResource\nmetadata: {name: c}\nspec:\n  resources:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: tier, namespace: a}, data: {tier: gold}}\n";

    #[test]
    fn every_document_is_its_own_test() {
        let body = "policies: [policy.yaml]\nresources: [resources.yaml]\nclusterResources: [cluster.yaml]\n";
        let test = format!(
            "{HEAD}metadata: {{name: one}}\n{body}{}---\n{HEAD}metadata: {{name: two}}\n{body}{}",
            results("gold", "pass"),
            results("bronze", "fail")
        );
        let reports = run(&test, &[("cluster.yaml", CLUSTER)]);
        let names: Vec<_> = reports.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["one", "two"]);
        assert!(reports.iter().all(|r| r.passed()), "{reports:?}");
        assert_eq!(Summary::of(&reports).passed, 2);
    }

    #[test]
    fn a_mock_answers_the_url_path_and_a_missing_one_skips_the_entry() {
        let mock = "apiCallResponses:\n- urlPath: /api/v1/namespaces/a/configmaps/tier\n  response: {body: {data: {tier: bronze}}}\n";
        let test = format!(
            "{HEAD}metadata: {{name: m}}\npolicies: [policy.yaml]\nresources: [resources.yaml]\n{mock}{}",
            results("bronze", "pass")
        );
        let reports = run(&test, &[]);
        assert!(reports[0].passed(), "{:?}", reports[0]);
        // No mock, no cluster: the entry is skipped and the rule errors.
        let test = format!(
            "{HEAD}metadata: {{name: m}}\npolicies: [policy.yaml]\nresources: [resources.yaml]\n{}",
            results("bronze", "error")
        );
        assert!(run(&test, &[])[0].passed());
    }

    #[test]
    fn a_malformed_mock_stops_the_test() {
        let test = format!(
            "{HEAD}metadata: {{name: m}}\npolicies: [policy.yaml]\nresources: [resources.yaml]\napiCallResponses:\n- {{url: 'https://a.test/x', response: {{body: {{}}}}}}\n- {{url: 'https://a.test/x', response: {{body: {{}}}}}}\n{}",
            results("gold", "pass")
        );
        let reports = run(&test, &[]);
        let error = reports[0].error.as_deref().expect("stops");
        assert!(
            error.contains("apiCallResponses: duplicate entry"),
            "{error}"
        );
        assert_eq!(Summary::of(&reports).exit_code(), 1);
    }

    #[test]
    fn with_a_cluster_a_missing_namespace_stops_the_test() {
        let cluster = "apiVersion: cli.kyverno.io/v1alpha1\nkind: ClusterResource\nmetadata: {name: c}\nspec:\n  resources:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: tier, namespace: a}, data: {tier: gold}}\n";
        let test = format!(
            "{HEAD}metadata: {{name: c}}\npolicies: [policy.yaml]\nresources: [resources.yaml]\nclusterResources: [cluster.yaml]\n{}",
            results("gold", "pass")
        );
        let reports = run(&test, &[("cluster.yaml", cluster)]);
        let error = reports[0].error.as_deref().expect("stops");
        assert!(
            error.contains("failed to get the resource's namespace") && error.contains("\"a\""),
            "{error}"
        );
    }

    #[test]
    fn an_exception_does_not_hide_a_context_or_precondition_error() {
        let policy = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: pe}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    preconditions:\n      all: [{key: '{{ divide(`1`, `0`) }}', operator: Equals, value: 1}]\n    validate: {failureAction: Audit, message: m, deny: {}}\n  - name: ctx\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    context:\n    - {name: x, apiCall: {service: {url: 'https://a.test/x'}}}\n    validate: {failureAction: Audit, message: m, deny: {}}\n  - name: plain\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {failureAction: Audit, message: m, deny: {}}\n";
        let exception = "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: ex, namespace: a}\nspec:\n  exceptions: [{policyName: pe, ruleNames: [r, ctx, plain]}]\n  match: {any: [{resources: {kinds: [Pod]}}]}\n";
        let test = format!(
            "{HEAD}metadata: {{name: e}}\npolicies: [pe.yaml]\nresources: [resources.yaml]\nexceptions: [exception.yaml]\napiCallResponses:\n- {{url: 'https://a.test/x', response: {{body: {{}}, statusCode: 500}}}}\nresults:\n- {{policy: pe, rule: r, kind: Pod, resources: [gold], result: error}}\n- {{policy: pe, rule: ctx, kind: Pod, resources: [gold], result: error}}\n- {{policy: pe, rule: plain, kind: Pod, resources: [gold], result: skip}}\n"
        );
        let reports = run(&test, &[("pe.yaml", policy), ("exception.yaml", exception)]);
        assert!(reports[0].passed(), "{:#?}", reports[0].rows);
    }

    #[test]
    fn exceptions_beside_a_validating_admission_policy_stop_the_test() {
        let vap = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: vap}\nspec:\n  matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]}\n  validations: [{expression: 'true'}]\n";
        let exception = "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: e, namespace: a}\nspec:\n  exceptions: [{policyName: tier, ruleNames: [tier]}]\n  match: {any: [{resources: {kinds: [Pod]}}]}\n";
        let test = format!(
            "{HEAD}metadata: {{name: v}}\npolicies: [vap.yaml]\nresources: [resources.yaml]\nexceptions: [exception.yaml]\nresults:\n- {{policy: vap, kind: Pod, resources: [gold], result: pass, isValidatingAdmissionPolicy: true}}\n"
        );
        let reports = run(&test, &[("vap.yaml", vap), ("exception.yaml", exception)]);
        assert_eq!(
            reports[0].error.as_deref(),
            Some("error: use of exceptions with ValidatingAdmissionPolicies is not supported")
        );
    }

    #[test]
    fn unknown_fields_and_the_deprecated_schema_stop_the_run() {
        let unknown = format!(
            "{HEAD}metadata: {{name: u}}\npolicy: [policy.yaml]\n{}",
            results("gold", "pass")
        );
        let reports = run(&unknown, &[]);
        assert!(reports[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("unknown field \"policy\""));
        let deprecated = format!(
            "name: old\npolicies: [policy.yaml]\nresources: [resources.yaml]\n{}",
            results("gold", "pass")
        );
        let reports = run(&deprecated, &[]);
        assert!(reports[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("deprecated schema"));
        // A later document is not reached after an unparsable one.
        let broken = format!("{HEAD}metadata: {{name: a}}\npolicies: [policy.yaml]\nresources: [resources.yaml]\nclusterResources: [c.yaml]\n{}---\n{HEAD}results: 3\n---\n{HEAD}metadata: {{name: c}}\n", results("gold", "pass"));
        let reports = run(&broken, &[("c.yaml", CLUSTER)]);
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert!(reports[0].passed());
        assert!(reports[1].error.is_some());
    }
}
