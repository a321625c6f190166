//! Loading the test file: where `kyverno-test.yaml` files are found, the
//! cli.kyverno.io/v1alpha1 `Test` document and its expected results as
//! typed data, and the CLI's strict decoding of it (unknown fields stop the
//! run). A file path or a parsed document enters; a [`TestSpec`] or the
//! refusal the CLI gives leaves.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::engine::RuleStatus;
use crate::loader;

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

/// One document of a test file as the CLI's strict decoder takes it:
/// `None` for an empty document; the error carries the test's name (when
/// it has one) and the message.
pub(super) fn decode_test_document(value: Value) -> Result<Option<TestSpec>, (String, String)> {
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

/// Parses a status word from a test file (`pass`, `fail`, …).
pub fn parse_status(text: &str) -> Option<RuleStatus> {
    RuleStatus::parse(text)
}
