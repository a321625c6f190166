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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::engine::exceptions::kyverno::PolicyException;
use crate::engine::fake_cluster::{ApiCallMocks, FakeCluster, GlobalContextMocks};
use crate::engine::matching::RequestInfo;
use crate::engine::supplied_data::SuppliedData;
use crate::engine::values::Values;
use crate::engine::AdmissionPolicy;
use crate::engine::CelPolicyException;
use crate::engine::Policy;
use crate::engine::ValidatingPolicy;
use crate::engine::{Engine, EngineOptions, Environment, PolicyResponse, RuleStatus};
use crate::loader::{self, Document};

pub const TEST_FILE_NAMES: [&str; 2] = ["kyverno-test.yaml", "kyverno-test.yml"];

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TestSpec {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub variables: Option<String>,
    #[serde(default)]
    pub values: Option<Value>,
    #[serde(default, rename = "userinfo")]
    pub user_info: Option<String>,
    #[serde(default)]
    pub results: Vec<ExpectedResult>,
    #[serde(default)]
    pub exceptions: Vec<String>,
    #[serde(default)]
    pub context: Option<String>,
    /// Params objects for ValidatingAdmissionPolicy bindings.
    #[serde(default)]
    pub param_resources: Vec<String>,
    /// `ClusterResource` files: the objects of a fake cluster.
    #[serde(default)]
    pub cluster_resources: Vec<String>,
    /// HTTP mocks (`APICallResponseEntry`), validated when the test runs.
    #[serde(default)]
    pub api_call_responses: Vec<Value>,
    /// GlobalContextEntry mocks (`GlobalContextEntryValue`).
    #[serde(default)]
    pub global_context_entries: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedResult {
    pub policy: String,
    #[serde(default)]
    pub rule: String,
    /// `None` when the key is absent: Kyverno then ignores `resourceSpecs`.
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    /// Resources by group/version, namespace and name (not kind), looked at
    /// only when `resources` is given, as `printTestResult` does.
    #[serde(default)]
    pub resource_specs: Vec<ResourceSpec>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub patched_resources: Option<String>,
    #[serde(default)]
    pub generated_resource: Option<String>,
    #[serde(default)]
    pub is_validating_policy: bool,
    #[serde(default)]
    pub is_validating_admission_policy: bool,
    #[serde(default)]
    pub is_mutating_policy: bool,
    #[serde(default)]
    pub is_generating_policy: bool,
    #[serde(default)]
    pub is_image_validating_policy: bool,
    #[serde(default)]
    pub is_deleting_policy: bool,
    #[serde(default)]
    pub is_mutating_admission_policy: bool,
}

/// One `resourceSpecs` entry of an expectation.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpec {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub subresource: String,
    #[serde(default)]
    pub name: String,
}

/// The verdict of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// The policy was refused by Kyverno's policy validation: the Kyverno
    /// CLI prints the row as Skip / "Invalid Policy" and counts it passed.
    Skip,
    /// Expectations polscan does not check (mutate, generate, verifyImages,
    /// or policy kinds it does not evaluate yet): never counted as passed.
    OutOfScope,
}

impl Verdict {
    /// Rows the Kyverno CLI counts as passed.
    pub fn passes(&self) -> bool {
        matches!(self, Verdict::Pass | Verdict::Skip)
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub policy: String,
    pub rule: String,
    pub resource: String,
    pub expected: String,
    pub actual: String,
    pub verdict: Verdict,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct TestReport {
    pub path: PathBuf,
    pub name: String,
    pub rows: Vec<Row>,
    /// A test that could not run at all (unreadable file, missing policy file).
    pub error: Option<String>,
    /// Policies that were skipped as invalid, with the reason.
    pub invalid_policies: Vec<String>,
    /// Policy documents the loader dropped (schema errors other than an
    /// unknown field), as the Kyverno CLI prints them: `<file>: <error>`.
    pub load_errors: Vec<String>,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && !self.rows.is_empty()
            && self.rows.iter().all(|r| r.verdict.passes())
    }

    pub fn failed_rows(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .count()
    }

    pub fn out_of_scope_rows(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::OutOfScope)
            .count()
    }
}

/// What a run of several test files adds up to, as `kyverno test` counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows counted as passed (Pass, and Skip for refused policies).
    pub passed: usize,
    /// Rows that failed.
    pub failed: usize,
    /// Rows polscan does not check (never counted as passed).
    pub out_of_scope: usize,
    /// The first test (in run order) that could not run, with its error:
    /// the Kyverno CLI stops there, without a summary.
    pub aborted: Option<(usize, String)>,
}

impl Summary {
    /// Counts the reports up to the first one that could not run.
    pub fn of(reports: &[TestReport]) -> Summary {
        let mut summary = Summary::default();
        for (index, report) in reports.iter().enumerate() {
            if let Some(err) = &report.error {
                summary.aborted = Some((index, err.clone()));
                break;
            }
            for row in &report.rows {
                match row.verdict {
                    Verdict::Pass | Verdict::Skip => summary.passed += 1,
                    Verdict::Fail => summary.failed += 1,
                    Verdict::OutOfScope => summary.out_of_scope += 1,
                }
            }
        }
        summary
    }

    /// 1 when the run stopped or a row failed, else 3 when expectations
    /// were out of scope, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.aborted.is_some() || self.failed > 0 {
            1
        } else if self.out_of_scope > 0 {
            3
        } else {
            0
        }
    }
}

/// Finds every Kyverno test file below the given paths, sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, loader::LoadError> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_file() {
            found.push(path.clone());
            continue;
        }
        if !path.exists() {
            return Err(loader::LoadError::Missing(path.clone()));
        }
        let mut pending = vec![path.clone()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let entry_path = entry.path();
                if entry_path.is_dir() {
                    pending.push(entry_path);
                } else if entry_path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| TEST_FILE_NAMES.contains(&n))
                {
                    found.push(entry_path);
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

fn error_report(path: &Path, name: String, error: String) -> TestReport {
    TestReport {
        path: path.to_path_buf(),
        name,
        rows: Vec::new(),
        error: Some(error),
        invalid_policies: Vec::new(),
        load_errors: Vec::new(),
    }
}

fn load_relative(dir: &Path, files: &[String]) -> Result<Vec<Document>, String> {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    loader::load_paths(&paths).map_err(|e| e.to_string())
}

fn load_single(dir: &Path, file: &str) -> Result<Value, String> {
    let docs = load_relative(dir, &[file.to_string()])?;
    docs.into_iter()
        .next()
        .map(|d| d.value)
        .ok_or_else(|| format!("{}: empty file", dir.join(file).display()))
}

/// What the test's policies contain, for deciding what is in scope.
struct PolicyIndex {
    /// Kyverno policies by name, with the kind of each rule.
    rule_kinds: HashMap<String, HashMap<String, &'static str>>,
    /// Policies of kinds polscan does not evaluate, by name.
    other_kinds: HashMap<String, String>,
}

fn rule_kind(rule: &Value) -> &'static str {
    if rule.get("validate").is_some() {
        if rule.pointer("/validate/cel").is_some() {
            "validate.cel"
        } else if rule.pointer("/validate/podSecurity").is_some() {
            "validate.podSecurity"
        } else {
            "validate"
        }
    } else if rule.get("mutate").is_some() {
        "mutate"
    } else if rule.get("generate").is_some() {
        "generate"
    } else if rule.get("verifyImages").is_some() {
        "verifyImages"
    } else {
        "unknown"
    }
}

/// The fields of a cli.kyverno.io/v1alpha1 `Test`; the CLI unmarshals
/// strictly, so any other top-level key stops the run.
const TEST_FIELDS: [&str; 21] = [
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "policies",
    "resources",
    "jsonPayload",
    "jsonPayloads",
    "httpPayloads",
    "envoyPayloads",
    "targetResources",
    "variables",
    "paramResources",
    "userinfo",
    "results",
    "values",
    "exceptions",
    "context",
    "clusterResources",
    "apiCallResponses",
    "globalContextEntries",
];

/// The fields of an expected result (`TestResult`, test_result.go).
const RESULT_FIELDS: [&str; 19] = [
    "policy",
    "rule",
    "isValidatingAdmissionPolicy",
    "isMutatingAdmissionPolicy",
    "isValidatingPolicy",
    "isDeletingPolicy",
    "isImageValidatingPolicy",
    "isGeneratingPolicy",
    "isMutatingPolicy",
    "result",
    "kind",
    "operation",
    "patchedResources",
    "generatedResource",
    "cloneSourceResource",
    "failOnMissingResources",
    "resources",
    "resourceSpecs",
    "generatedResources",
];

/// The first field of a `Test` document that the CLI's strict decoder
/// refuses (`yaml.UnmarshalStrict` in test/load.go): at the top, in
/// results and their resourceSpecs, in apiCallResponses (and their
/// response) and in globalContextEntries (and their projections). Free
/// JSON (mock bodies, data, resources, values) is not looked into.
fn unknown_test_field(document: &Value) -> Option<String> {
    fn first_unknown(value: &Value, known: &[&str]) -> Option<String> {
        value
            .as_object()?
            .keys()
            .find(|key| !known.contains(&key.as_str()))
            .cloned()
    }
    fn each<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
        value
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }
    if let Some(unknown) = first_unknown(document, &TEST_FIELDS) {
        return Some(unknown);
    }
    for result in each(document, "results") {
        if let Some(unknown) = first_unknown(result, &RESULT_FIELDS) {
            return Some(unknown);
        }
        for spec in each(result, "resourceSpecs") {
            let known = [
                "group",
                "version",
                "kind",
                "namespace",
                "subresource",
                "name",
            ];
            if let Some(unknown) = first_unknown(spec, &known) {
                return Some(unknown);
            }
        }
    }
    for mock in each(document, "apiCallResponses") {
        let unknown =
            first_unknown(mock, &["url", "urlPath", "method", "response"]).or_else(|| {
                mock.get("response")
                    .and_then(|response| first_unknown(response, &["statusCode", "body"]))
            });
        if unknown.is_some() {
            return unknown;
        }
    }
    for entry in each(document, "globalContextEntries") {
        let known = [
            "name",
            "data",
            "resources",
            "resourceFiles",
            "fieldPath",
            "projections",
        ];
        if let Some(unknown) = first_unknown(entry, &known) {
            return Some(unknown);
        }
        for projection in each(entry, "projections") {
            if let Some(unknown) = first_unknown(projection, &["name", "path"]) {
                return Some(unknown);
            }
        }
    }
    None
}

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

/// One document of a test file as the CLI's strict decoder takes it:
/// `None` for an empty document; the error carries the test's name (when
/// it has one) and the message.
fn decode_test_document(value: Value) -> Result<Option<TestSpec>, (String, String)> {
    if value.is_null() {
        return Ok(None);
    }
    if let Some(unknown) = unknown_test_field(&value) {
        let name = value
            .pointer("/metadata/name")
            .or_else(|| value.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        return Err((
            name,
            format!(
                "error unmarshaling JSON: while decoding JSON: json: unknown field {unknown:?}"
            ),
        ));
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|err| (String::new(), err.to_string()))
}

/// Runs one `Test` document.
fn run_test_spec(path: &Path, spec: TestSpec) -> TestReport {
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = spec
        .metadata
        .as_ref()
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
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

/// Where a refused policy goes, following the Kyverno CLI: an unknown field
/// fails the policy loader (the run stops), other schema errors drop the
/// document, a policy Kyverno's policy validation refuses is skipped (its
/// rows read Skip / "Invalid Policy"), and a ValidatingPolicy that does not
/// compile stops the run when there is a resource to apply it to.
enum Refusal {
    Fatal(String),
    Dropped(String),
    Skipped(String),
    DoesNotCompile(String),
}

fn refusal(doc: &Document, err: &crate::engine::policy::PolicyError) -> Refusal {
    use crate::engine::policy_validation::Stage;
    match err.stage() {
        Stage::UnknownField => {
            Refusal::Fatal(format!("failed to load policies ({}: {err})", doc.origin))
        }
        Stage::Schema => Refusal::Dropped(format!("{}: {err}", doc.origin)),
        Stage::Semantic => Refusal::Skipped(format!("{}: {err}", doc.origin)),
        Stage::Compile => Refusal::DoesNotCompile(format!("{}: {err}", doc.origin)),
    }
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
        let name = doc
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if Policy::is_kyverno_policy(&doc.value) {
            let kinds = doc
                .value
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .map(|rules| {
                    rules
                        .iter()
                        .map(|r| {
                            (
                                r.get("name")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_string(),
                                rule_kind(r),
                            )
                        })
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
            let kind = doc
                .value
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            index.other_kinds.insert(name, kind);
        }
    }
    let values = match (&spec.values, &spec.variables) {
        (Some(inline), _) => Values::from_document(inline)?,
        (None, Some(file)) => Values::from_document(&load_single(dir, file)?)?,
        (None, None) => Values::default(),
    };
    let requester = match &spec.user_info {
        Some(file) => Some(parse_user_info(&load_single(dir, file)?)),
        None => None,
    };
    let mut resources = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for doc in load_relative(dir, &spec.resources)? {
        let mut value = doc.value;
        loader::normalize_resource(&mut value);
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let key = (
            crate::kinds::group_of(api_version).to_string(),
            value
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            value
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        );
        if seen.insert(key) {
            resources.push(value);
        }
    }
    // Kyverno compiles ValidatingPolicies when it applies them to the first
    // resource; the compile error ends the run there.
    if let (Some(message), Some(first)) = (compile_failure, resources.first()) {
        let resource = first
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
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
    let env = Environment {
        namespace_labels,
        namespace_objects,
        values,
        requester,
        now: None,
    };
    let mut responses: BTreeMap<String, Vec<PolicyResponse>> = BTreeMap::new();
    for resource in &resources {
        let r = crate::engine::ResourceRef::from_resource(resource);
        let key = format!("{},{},{},{}", r.api_version, r.kind, r.namespace, r.name);
        let mut evaluated = engine.evaluate(resource, &env);
        evaluated.retain(|response| {
            !(response.rules.is_empty()
                && ValidatingPolicy::is_kind(&response.policy.kind)
                && unlisted_when_unmatched.contains(&response.policy.name))
        });
        responses.insert(key, evaluated);
    }
    let rows = compare(&spec.results, &responses, &index, &invalid);
    Ok(SpecOutcome {
        rows,
        invalid_policies: invalid
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect(),
        load_errors,
    })
}

/// Kyverno's `hasSelector` (named for what it rules out): exactly one
/// resource rule without resource names, no exclusions, no selector terms.
fn one_plain_resource_rule(
    constraints: &crate::engine::cel::policies::admission::MatchConstraints,
) -> bool {
    let empty = |selector: &Option<crate::engine::label_selector::LabelSelector>| {
        selector
            .as_ref()
            .is_none_or(|s| s.match_labels.is_empty() && s.match_expressions.is_empty())
    };
    empty(&constraints.namespace_selector)
        && empty(&constraints.object_selector)
        && constraints.exclude_resource_rules.is_empty()
        && constraints.resource_rules.len() == 1
        && constraints
            .resource_rules
            .iter()
            .all(|rule| rule.resource_names.is_empty())
}

/// A Kyverno CLI user info document (`kind: UserInfo`: `userInfo`, `roles`,
/// `clusterRoles`) as the requester; shared with `polscan apply --userinfo`.
pub fn parse_user_info(document: &Value) -> RequestInfo {
    let strings = |pointer: &str| -> Vec<String> {
        document
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    RequestInfo {
        username: document
            .pointer("/userInfo/username")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        groups: strings("/userInfo/groups"),
        roles: strings("/roles"),
        cluster_roles: strings("/clusterRoles"),
    }
}

/// Why an expectation is out of scope, if it is.
fn out_of_scope(expected: &ExpectedResult, index: &PolicyIndex) -> Option<String> {
    let flags = [
        (expected.is_mutating_policy, "MutatingPolicy"),
        (expected.is_generating_policy, "GeneratingPolicy"),
        (expected.is_image_validating_policy, "ImageValidatingPolicy"),
        (expected.is_deleting_policy, "DeletingPolicy"),
        (
            expected.is_mutating_admission_policy,
            "MutatingAdmissionPolicy",
        ),
    ];
    if let Some((_, kind)) = flags.iter().find(|(flag, _)| *flag) {
        return Some(format!("{kind} policies are not evaluated by polscan yet"));
    }
    let policy_name = expected
        .policy
        .rsplit('/')
        .next()
        .unwrap_or(&expected.policy);
    if let Some(kind) = index.other_kinds.get(policy_name) {
        return Some(format!("{kind} policies are not evaluated by polscan yet"));
    }
    if expected.patched_resources.is_some() || expected.generated_resource.is_some() {
        return Some("mutate/generate expectations are out of scope".into());
    }
    let rules = index.rule_kinds.get(policy_name)?;
    let kind = if expected.rule.is_empty() {
        rules.values().find(|k| !k.starts_with("validate")).copied()
    } else {
        let base = expected
            .rule
            .strip_prefix("autogen-cronjob-")
            .or_else(|| expected.rule.strip_prefix("autogen-"))
            .unwrap_or(&expected.rule);
        rules
            .get(&expected.rule)
            .or_else(|| rules.get(base))
            .copied()
    };
    match kind {
        Some(k @ ("mutate" | "generate" | "verifyImages")) => {
            Some(format!("{k} rules are out of scope"))
        }
        _ => None,
    }
}

fn rule_names_match(expected: &str, actual: &str) -> bool {
    actual == expected
        || actual == format!("autogen-{expected}")
        || actual == format!("autogen-cronjob-{expected}")
}

/// Kyverno CLI's `printTestResult`, for validate rules.
fn compare(
    expectations: &[ExpectedResult],
    responses: &BTreeMap<String, Vec<PolicyResponse>>,
    index: &PolicyIndex,
    invalid: &BTreeMap<String, String>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for expected in expectations {
        let display_resource = |key: &str| key.replace(',', "/");
        if let Some(reason) = out_of_scope(expected, index) {
            let names = match &expected.resources {
                Some(names) if !names.is_empty() => names.clone(),
                _ => vec!["*".to_string()],
            };
            for name in names {
                rows.push(Row {
                    policy: expected.policy.clone(),
                    rule: expected.rule.clone(),
                    resource: name,
                    expected: expected.result.clone(),
                    actual: String::new(),
                    verdict: Verdict::OutOfScope,
                    reason: reason.clone(),
                    message: String::new(),
                });
            }
            continue;
        }
        let mut keys: Vec<&String> = Vec::new();
        for wanted in expected.resources.iter().flatten() {
            for key in responses.keys() {
                let parts: Vec<&str> = key.split(',').collect();
                let name = parts.last().copied().unwrap_or("");
                let namespace = parts
                    .get(parts.len().saturating_sub(2))
                    .copied()
                    .unwrap_or("");
                let matched = match wanted.split_once('/') {
                    None => wanted == name,
                    Some((ns, n)) => ns == namespace && n == name,
                };
                if matched {
                    keys.push(key);
                }
            }
        }
        if expected.resources.is_some() {
            for spec in &expected.resource_specs {
                let api_version = if spec.group.is_empty() {
                    spec.version.clone()
                } else {
                    format!("{}/{}", spec.group, spec.version)
                };
                keys.extend(responses.keys().filter(|key| {
                    let parts: Vec<&str> = key.split(',').collect();
                    let at = |from_end: usize| {
                        parts
                            .len()
                            .checked_sub(from_end)
                            .and_then(|i| parts.get(i))
                            .copied()
                            .unwrap_or("")
                    };
                    parts.first().copied() == Some(api_version.as_str())
                        && at(2) == spec.namespace
                        && at(1) == spec.name
                }));
            }
        }
        if keys.is_empty() {
            keys = responses.keys().collect();
        }
        let policy_name = expected
            .policy
            .rsplit('/')
            .next()
            .unwrap_or(&expected.policy);
        for key in keys {
            let mut resource_rows = Vec::new();
            for response in responses.get(key).into_iter().flatten() {
                if response.policy.name != policy_name {
                    continue;
                }
                // CEL policy kinds have no rules: Kyverno checks all their
                // results whatever rule the expectation names.
                let ruleless = !response.policy.is_kyverno_rule_policy();
                for rule in &response.rules {
                    if !expected.rule.is_empty()
                        && !ruleless
                        && !rule_names_match(&expected.rule, &rule.rule)
                    {
                        continue;
                    }
                    // The CLI compares the policy-report result
                    // (`ComputePolicyReportResult`): a failure of a policy
                    // marked `scored: "false"` reads warn.
                    let actual = if rule.status == RuleStatus::Fail && !response.policy.scored() {
                        RuleStatus::Warn
                    } else {
                        rule.status
                    };
                    let ok = actual.as_str() == expected.result.to_ascii_lowercase();
                    resource_rows.push(Row {
                        policy: expected.policy.clone(),
                        rule: rule.rule.clone(),
                        resource: display_resource(key),
                        expected: expected.result.clone(),
                        actual: actual.to_string(),
                        verdict: if ok { Verdict::Pass } else { Verdict::Fail },
                        reason: if ok {
                            "Ok".into()
                        } else {
                            format!("Want {}, got {actual}", expected.result)
                        },
                        message: rule.message.clone(),
                    });
                }
                if resource_rows.is_empty() {
                    // Kyverno: no rule response (no row yet for this resource)
                    // means the resource was excluded: a pass.
                    resource_rows.push(Row {
                        policy: expected.policy.clone(),
                        rule: expected.rule.clone(),
                        resource: display_resource(key),
                        expected: expected.result.clone(),
                        actual: "excluded".into(),
                        verdict: Verdict::Pass,
                        reason: "Excluded".into(),
                        message: "Excluded".into(),
                    });
                }
            }
            if resource_rows.is_empty() {
                let (verdict, reason, message) = match invalid.get(policy_name) {
                    Some(err) => (Verdict::Skip, "Invalid Policy".to_string(), err.clone()),
                    None => (
                        Verdict::Fail,
                        "Not found".to_string(),
                        "Not found".to_string(),
                    ),
                };
                resource_rows.push(Row {
                    policy: expected.policy.clone(),
                    rule: expected.rule.clone(),
                    resource: display_resource(key),
                    expected: expected.result.clone(),
                    actual: String::new(),
                    verdict,
                    reason,
                    message,
                });
            }
            rows.extend(resource_rows);
        }
    }
    rows
}

/// Parses a status word from a test file (`pass`, `fail`, …).
pub fn parse_status(text: &str) -> Option<RuleStatus> {
    RuleStatus::parse(text)
}

#[cfg(test)]
mod tests {
    //! The comparison, case by case, as `printTestResult` in Kyverno's
    //! `cmd/cli/kubectl-kyverno/commands/test/output.go` does it.

    use super::*;
    use crate::engine::policy::PolicyMeta;
    use crate::engine::{ResourceRef, RuleResult};

    fn meta(kind: &str, name: &str) -> Arc<PolicyMeta> {
        Arc::new(PolicyMeta {
            kind: kind.into(),
            name: name.into(),
            namespace: None,
            annotations: BTreeMap::new(),
            process: "background scan",
        })
    }

    fn key(kind: &str, namespace: &str, name: &str) -> String {
        format!("v1,{kind},{namespace},{name}")
    }

    fn response(
        policy: &Arc<PolicyMeta>,
        resource_key: &str,
        rules: &[(&str, RuleStatus)],
    ) -> PolicyResponse {
        let parts: Vec<&str> = resource_key.split(',').collect();
        PolicyResponse {
            policy: policy.clone(),
            resource: ResourceRef {
                api_version: parts[0].into(),
                kind: parts[1].into(),
                namespace: parts[2].into(),
                name: parts[3].into(),
                uid: String::new(),
            },
            rules: rules
                .iter()
                .map(|(rule, status)| RuleResult {
                    rule: rule.to_string(),
                    status: *status,
                    message: String::new(),
                    action: "Audit".into(),
                    properties: BTreeMap::new(),
                    skip_reason: None,
                    before_exceptions: false,
                })
                .collect(),
        }
    }

    fn expectation(
        policy: &str,
        rule: &str,
        kind: &str,
        resources: &[&str],
        result: &str,
    ) -> ExpectedResult {
        ExpectedResult {
            policy: policy.into(),
            rule: rule.into(),
            kind: kind.into(),
            resources: Some(resources.iter().map(|r| r.to_string()).collect()),
            result: result.into(),
            ..ExpectedResult::default()
        }
    }

    fn no_index() -> PolicyIndex {
        PolicyIndex {
            rule_kinds: HashMap::new(),
            other_kinds: HashMap::new(),
        }
    }

    /// A policy matching Services: a `cart` Service passes, the `cart`
    /// Deployment and the `web` Service give responses without rules.
    fn shop() -> BTreeMap<String, Vec<PolicyResponse>> {
        let policy = meta("ClusterPolicy", "svc-policy");
        let mut responses = BTreeMap::new();
        for (k, rules) in [
            (
                key("Service", "shop", "cart"),
                vec![("check-svc", RuleStatus::Pass)],
            ),
            (key("Deployment", "shop", "cart"), vec![]),
            (
                key("Service", "web", "front"),
                vec![("check-svc", RuleStatus::Fail)],
            ),
        ] {
            let one = response(&policy, &k, &rules);
            responses.insert(k, vec![one]);
        }
        responses
    }

    fn verdicts(rows: &[Row]) -> Vec<(String, Verdict, String)> {
        rows.iter()
            .map(|r| (r.resource.clone(), r.verdict, r.reason.clone()))
            .collect()
    }

    #[test]
    fn an_absent_policy_is_not_found_and_fails() {
        let rows = compare(
            &[expectation(
                "other-policy",
                "check-svc",
                "Service",
                &["cart"],
                "pass",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows.len(), 2, "one row per resource named cart");
        assert!(rows
            .iter()
            .all(|r| r.verdict == Verdict::Fail && r.reason == "Not found"));
    }

    #[test]
    fn the_kind_does_not_narrow_the_resources_a_name_selects() {
        // Kyverno selects by name (or namespace/name) only: the Deployment
        // named cart is judged too, and passes as excluded.
        let rows = compare(
            &[expectation(
                "svc-policy",
                "check-svc",
                "Service",
                &["cart"],
                "pass",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(
            verdicts(&rows),
            vec![
                (
                    "v1/Deployment/shop/cart".to_string(),
                    Verdict::Pass,
                    "Excluded".to_string()
                ),
                (
                    "v1/Service/shop/cart".to_string(),
                    Verdict::Pass,
                    "Ok".to_string()
                ),
            ]
        );
    }

    #[test]
    fn namespace_and_name_select_exactly() {
        let rows = compare(
            &[expectation(
                "svc-policy",
                "check-svc",
                "Service",
                &["web/front"],
                "fail",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(
            verdicts(&rows),
            vec![(
                "v1/Service/web/front".to_string(),
                Verdict::Pass,
                "Ok".to_string()
            )]
        );
        let rows = compare(
            &[expectation(
                "svc-policy",
                "check-svc",
                "Service",
                &["shop/front"],
                "fail",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        // shop/front names nothing: Kyverno then judges every resource.
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn an_absent_resource_falls_back_to_every_resource() {
        // output.go: when no resource matched, "check all results"; the
        // failing front Service then fails the expectation.
        let rows = compare(
            &[expectation(
                "svc-policy",
                "check-svc",
                "Service",
                &["ghost"],
                "pass",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows.iter().filter(|r| r.verdict == Verdict::Fail).count(),
            1
        );
        assert!(rows.iter().any(|r| r.reason == "Want pass, got fail"));
    }

    #[test]
    fn an_absent_rule_passes_as_excluded() {
        // lookupRuleResponses finds nothing, so the resource counts as
        // excluded (a pass), as the Kyverno CLI reports it.
        let rows = compare(
            &[expectation(
                "svc-policy",
                "no-such-rule",
                "Service",
                &["front"],
                "fail",
            )],
            &shop(),
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(
            verdicts(&rows),
            vec![(
                "v1/Service/web/front".to_string(),
                Verdict::Pass,
                "Excluded".to_string()
            )]
        );
    }

    #[test]
    fn autogen_rule_names_answer_for_their_pod_rule() {
        let policy = meta("ClusterPolicy", "pods");
        let k = key("Deployment", "shop", "cart");
        let mut responses = BTreeMap::new();
        responses.insert(
            k.clone(),
            vec![response(
                &policy,
                &k,
                &[("autogen-check", RuleStatus::Fail)],
            )],
        );
        let rows = compare(
            &[expectation(
                "pods",
                "check",
                "Deployment",
                &["cart"],
                "fail",
            )],
            &responses,
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].verdict, rows[0].rule.as_str()),
            (Verdict::Pass, "autogen-check")
        );
    }

    #[test]
    fn a_rule_name_does_not_filter_cel_policy_results() {
        let policy = meta("ValidatingPolicy", "vpol");
        let k = key("Pod", "shop", "p");
        let mut responses = BTreeMap::new();
        responses.insert(
            k.clone(),
            vec![response(&policy, &k, &[("", RuleStatus::Fail)])],
        );
        let rows = compare(
            &[expectation("vpol", "whatever", "Pod", &["p"], "pass")],
            &responses,
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].verdict, Verdict::Fail);
        assert_eq!(rows[0].reason, "Want pass, got fail");
    }

    #[test]
    fn rows_of_a_policy_refused_by_validation_are_skips_counted_as_passed() {
        let mut invalid = BTreeMap::new();
        invalid.insert("refused".to_string(), "p.yaml#1: refused: ...".to_string());
        let rows = compare(
            &[expectation(
                "refused",
                "r",
                "Service",
                &["cart", "front"],
                "pass",
            )],
            &shop(),
            &no_index(),
            &invalid,
        );
        assert_eq!(rows.len(), 3);
        assert!(rows
            .iter()
            .all(|r| r.verdict == Verdict::Skip && r.reason == "Invalid Policy"));
        assert!(rows.iter().all(|r| r.verdict.passes()));
    }

    #[test]
    fn a_failure_of_an_unscored_policy_is_compared_as_warn() {
        let mut annotations = BTreeMap::new();
        annotations.insert(
            crate::engine::policy::ANNOTATION_SCORED.to_string(),
            "false".to_string(),
        );
        let policy = Arc::new(PolicyMeta {
            kind: "ClusterPolicy".into(),
            name: "unscored".into(),
            namespace: None,
            annotations,
            process: "background scan",
        });
        let k = key("Pod", "shop", "p");
        let mut responses = BTreeMap::new();
        responses.insert(
            k.clone(),
            vec![response(&policy, &k, &[("r", RuleStatus::Fail)])],
        );
        let rows = compare(
            &[
                expectation("unscored", "r", "Pod", &["p"], "warn"),
                expectation("unscored", "r", "Pod", &["p"], "fail"),
            ],
            &responses,
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(rows[0].verdict, Verdict::Pass);
        assert_eq!(rows[1].reason, "Want fail, got warn");
    }

    #[test]
    fn an_excluded_row_is_written_once_per_resource() {
        let policy = meta("ClusterPolicy", "twice");
        let k = key("Pod", "shop", "p");
        let mut responses = BTreeMap::new();
        responses.insert(
            k.clone(),
            vec![response(&policy, &k, &[]), response(&policy, &k, &[])],
        );
        let rows = compare(
            &[expectation("twice", "r", "Pod", &["p"], "pass")],
            &responses,
            &no_index(),
            &BTreeMap::new(),
        );
        assert_eq!(
            verdicts(&rows),
            vec![(
                "v1/Pod/shop/p".to_string(),
                Verdict::Pass,
                "Excluded".to_string()
            )]
        );
    }
}

#[cfg(test)]
mod loading_tests {
    //! How refused policies reach a test run, from files in a temporary folder.

    use super::*;

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
mod resource_spec_tests {
    use super::*;

    fn parse(yaml: &str) -> ExpectedResult {
        serde_yaml::from_str(yaml).expect("expectation")
    }

    #[test]
    fn resource_specs_select_by_version_namespace_and_name_when_resources_are_given() {
        let with = parse("policy: p\nresult: pass\nresources: []\nresourceSpecs:\n- {version: v1, namespace: shop, name: cart, kind: Ignored}\n");
        assert!(with.resources.is_some());
        assert_eq!(with.resource_specs.len(), 1);
        let without = parse("policy: p\nresult: pass\nresourceSpecs:\n- {version: v1, namespace: shop, name: cart}\n");
        assert!(without.resources.is_none());
        let mut responses = BTreeMap::new();
        for key in [
            "v1,Service,shop,cart",
            "apps/v1,Deployment,shop,cart",
            "v1,Service,web,front",
        ] {
            responses.insert(key.to_string(), Vec::new());
        }
        let index = PolicyIndex {
            rule_kinds: HashMap::new(),
            other_kinds: HashMap::new(),
        };
        // Only v1 in shop named cart: one Not found row (no response).
        let rows = compare(&[with], &responses, &index, &BTreeMap::new());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].resource, "v1/Service/shop/cart");
        // Without `resources`, the specs are ignored: every resource.
        let rows = compare(&[without], &responses, &index, &BTreeMap::new());
        assert_eq!(rows.len(), 3);
    }
}

#[cfg(test)]
mod test_documents {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

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
