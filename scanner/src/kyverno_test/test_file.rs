//! Loading the test file: where `kyverno-test.yaml` files are found, the
//! cli.kyverno.io/v1alpha1 `Test` document and its expected results as
//! typed data, and the CLI's strict decoding of it (unknown fields stop the
//! run). A file path or a parsed document enters; a [`TestSpec`] or the
//! refusal the CLI gives leaves.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::loader;

/// The file names [`discover`] looks for: `kyverno test`'s default
/// `kyverno-test.yaml` (its `--file-name`), and the `.yml` spelling.
pub const TEST_FILE_NAMES: [&str; 2] = ["kyverno-test.yaml", "kyverno-test.yml"];

/// One cli.kyverno.io/v1alpha1 `Test` document of a test file, as
/// `kyverno test` reads it (<https://kyverno.io/docs/kyverno-cli/usage/test/>,
/// "Test File Structures"). File paths in it are relative to the test
/// file's folder. Every field may be absent (`None` or empty); the keys
/// polscan does not model (`jsonPayload`, `targetResources`, …) are accepted
/// by the strict decoding and ignored.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TestSpec {
    /// `apiVersion`: `cli.kyverno.io/v1alpha1`. Absent, with `kind`, in the
    /// deprecated schema, which the CLI refuses.
    #[serde(default)]
    pub api_version: Option<String>,
    /// `kind`: `Test`. Absent in the deprecated schema.
    #[serde(default)]
    pub kind: Option<String>,
    /// `metadata`: the test's object metadata; its `name` names the test.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// `name`: the test's name in the deprecated schema (top-level); a test
    /// that sets it is refused as deprecated.
    #[serde(default)]
    pub name: Option<String>,
    /// `policies`: files (or folders) of the policies to apply.
    #[serde(default)]
    pub policies: Vec<String>,
    /// `resources`: files (or folders) of the resources the policies are
    /// applied to.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `variables`: a cli.kyverno.io `Values` file (variable values, global
    /// values, namespace selectors, subresources); used when `values` is
    /// absent.
    #[serde(default)]
    pub variables: Option<String>,
    /// `values`: a `Values` document given inline; takes precedence over
    /// `variables`.
    #[serde(default)]
    pub values: Option<Value>,
    /// `userinfo` (one word on the wire): a cli.kyverno.io `UserInfo` file,
    /// the admission request's roles, cluster roles and user.
    #[serde(default, rename = "userinfo")]
    pub user_info: Option<String>,
    /// `results`: the expected results. A test without any is not run (its
    /// policies are not even loaded), as by the CLI.
    #[serde(default)]
    pub results: Vec<ExpectedResult>,
    /// `exceptions`: files of policy exceptions (`PolicyException`, or the
    /// CEL policies' exceptions) to apply.
    #[serde(default)]
    pub exceptions: Vec<String>,
    /// `context`: a cli.kyverno.io `Context` file (`spec.resources`,
    /// `spec.images`): what the policies' `resource.Get`/`List` and image
    /// lookups answer with, in place of a cluster.
    #[serde(default)]
    pub context: Option<String>,
    /// `paramResources`: files of the params objects for
    /// ValidatingAdmissionPolicy bindings.
    #[serde(default)]
    pub param_resources: Vec<String>,
    /// `clusterResources`: `ClusterResource` files, the objects of a fake
    /// cluster (with the test's resources and params).
    #[serde(default)]
    pub cluster_resources: Vec<String>,
    /// `apiCallResponses`: HTTP mocks (`APICallResponseEntry`: `url` or
    /// `urlPath`, `method`, `response`), validated when the test runs.
    #[serde(default)]
    pub api_call_responses: Vec<Value>,
    /// `globalContextEntries`: GlobalContextEntry mocks
    /// (`GlobalContextEntryValue`: `name`, `data` or resources, projections).
    #[serde(default)]
    pub global_context_entries: Vec<Value>,
}

/// One entry of a test's `results`: the outcome expected of a policy (and
/// rule) on the resources it names (Kyverno's `TestResult`). Absent keys
/// read as empty or `false`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedResult {
    /// `policy`: the policy's name; `<namespace>/<name>` for a namespaced
    /// policy (responses are matched on the part after the last `/`).
    /// Required.
    pub policy: String,
    /// `rule`: the rule's name (its autogen names `autogen-<rule>` and
    /// `autogen-cronjob-<rule>` match too); empty for CEL policies, which
    /// have no rules.
    #[serde(default)]
    pub rule: String,
    /// `None` when the key is absent: Kyverno then ignores `resourceSpecs`.
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    /// Resources by group/version, namespace and name (not kind), looked at
    /// only when `resources` is given, as `printTestResult` does.
    #[serde(default)]
    pub resource_specs: Vec<ResourceSpec>,
    /// `kind`: the resources' kind. Read but not compared: resources match
    /// by name whatever this says, as in `printTestResult`.
    #[serde(default)]
    pub kind: String,
    /// `result`: the expected status (`pass`, `fail`, `warn`, `error`,
    /// `skip`, in any case), compared with the policy-report result.
    #[serde(default)]
    pub result: String,
    /// `patchedResources`: the file of the resources a mutate rule should
    /// produce; when set, the expectation is out of scope.
    #[serde(default)]
    pub patched_resources: Option<String>,
    /// `generatedResource`: the file of the resource a generate rule should
    /// produce; when set, the expectation is out of scope.
    #[serde(default)]
    pub generated_resource: Option<String>,
    /// `isValidatingPolicy`: the policy is a ValidatingPolicy. Read but not
    /// needed: polscan finds the policy by name.
    #[serde(default)]
    pub is_validating_policy: bool,
    /// `isValidatingAdmissionPolicy`: the policy is a
    /// ValidatingAdmissionPolicy. Read but not needed, as
    /// `isValidatingPolicy`.
    #[serde(default)]
    pub is_validating_admission_policy: bool,
    /// `isMutatingPolicy`: the policy is a MutatingPolicy, which polscan
    /// does not evaluate: the expectation is out of scope.
    #[serde(default)]
    pub is_mutating_policy: bool,
    /// `isGeneratingPolicy`: a GeneratingPolicy; out of scope likewise.
    #[serde(default)]
    pub is_generating_policy: bool,
    /// `isImageValidatingPolicy`: an ImageValidatingPolicy; out of scope
    /// likewise.
    #[serde(default)]
    pub is_image_validating_policy: bool,
    /// `isDeletingPolicy`: a DeletingPolicy; out of scope likewise.
    #[serde(default)]
    pub is_deleting_policy: bool,
    /// `isMutatingAdmissionPolicy`: a MutatingAdmissionPolicy; out of scope
    /// likewise.
    #[serde(default)]
    pub is_mutating_admission_policy: bool,
    /// `operation`: the admission operation (`CREATE`, `UPDATE`,
    /// `DELETE`) this expectation is checked under, in a run of its own
    /// that takes precedence over the values' `request.operation`; empty
    /// is the default run. Kyverno: commands/test/test.go
    /// (`TriggerByOperation`), processor/operation.go.
    #[serde(default)]
    pub operation: String,
}

/// One `resourceSpecs` entry of an expectation.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpec {
    /// `group`: the resource's API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// `version`: the resource's API version within its group, e.g. `v1`.
    #[serde(default)]
    pub version: String,
    /// `kind`: the resource's kind. Read but not compared, as by the CLI.
    #[serde(default)]
    pub kind: String,
    /// `namespace`: the resource's namespace; empty for a cluster-scoped
    /// resource.
    #[serde(default)]
    pub namespace: String,
    /// `subresource`: a subresource of it. Read but not compared.
    #[serde(default)]
    pub subresource: String,
    /// `name`: the resource's name.
    #[serde(default)]
    pub name: String,
}

/// Finds every Kyverno test file below the given paths, sorted: a path
/// that is a file is taken as it is, a folder is searched recursively for
/// [`TEST_FILE_NAMES`] (unreadable folders are passed over).
///
/// # Errors
/// [`loader::LoadError::Missing`] for a path that does not exist.
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
