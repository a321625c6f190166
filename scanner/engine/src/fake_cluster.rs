//! What a `kyverno test` run sees instead of a cluster: the objects of its
//! `clusterResources` (with the test's resources and params, as the CLI's
//! fake client holds them), its `apiCallResponses` HTTP mocks and its
//! `globalContextEntries` mocks, beside a context file's data. The parsed
//! test fields enter; a [`ClusterData`] leaves.
//!
//! Written here rather than taken from a crate because the answers must be
//! the Kyverno CLI's, down to its quirks (cmd/cli/kubectl-kyverno/
//! apis/v1alpha1/test.go, store/contextloader.go, store/gctx_resolve.go,
//! store/mock.go, commands/test/test.go; pkg/clients/dclient/client.go
//! `rawAbsPathForFakeClient`; pkg/cel/libs/fake_context.go, http_mock.go):
//! - without `clusterResources` the CLI has no client: `urlPath` and
//!   `configMap` entries and unmocked service calls are skipped (values may
//!   stand in); CEL reads the context file through the fake provider, which
//!   answers `http` from the mocks and `globalContext` from the mocks;
//! - with `clusterResources` the fake client answers `urlPath` GETs and
//!   ConfigMaps from its objects, and CEL uses the real provider over that
//!   client: the context file, the HTTP mocks and the global context mocks
//!   are not visible to CEL then (JMESPath entries still see the mocks).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};

use super::context::{ApiCallRequest, ClusterData, HttpRequest, HttpResponse};
use super::jmespath;
use super::supplied_data::SuppliedData;
use crate::kinds;
use crate::label_selector::LabelSelector;
use crate::ValueExt;

/// A test's `apiCallResponses`, indexed as the CLI indexes them: by
/// `METHOD:url` when the entry names a method, else by `url` (or
/// `urlPath`), looked up method first.
#[derive(Debug, Default, Clone)]
pub struct ApiCallMocks {
    index: HashMap<String, HttpResponse>,
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value.str_field(key).unwrap_or("")
}

/// `scheme://host...` with an http(s) scheme and a host, as Go's
/// `url.Parse` + the CLI's checks accept it.
fn check_absolute_url(index: usize, url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "apiCallResponses[{index}]: url {url:?} must be an absolute https/http URL"
        ));
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "apiCallResponses[{index}]: url {url:?} must be an absolute https/http URL"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let invalid = || format!("apiCallResponses[{index}]: url {url:?} is not a valid URL");
    // Go's url.Parse refuses what no request could be sent to: spaces and
    // control characters, an unclosed IPv6 bracket, a port not made of digits.
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(invalid)?;
        match after {
            "" => (host, ""),
            _ => (host, after.strip_prefix(':').ok_or_else(invalid)?),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, port),
            None => (host_port, ""),
        }
    };
    if !port.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    if host.is_empty() {
        return Err(format!(
            "apiCallResponses[{index}]: url {url:?} has scheme but no host"
        ));
    }
    Ok(())
}

impl ApiCallMocks {
    /// Validates and indexes the entries (`ValidateAPICallResponses`): each
    /// needs exactly one of `url` / `urlPath`, an http(s) `url` with a host
    /// or an absolute `urlPath`, method GET, POST or none, a JSON object
    /// body and a status in 100..=599 (0 or absent means 200); a
    /// method+URL given twice is an error. Errors are the CLI's messages.
    pub fn from_entries(entries: &[Value]) -> Result<ApiCallMocks, String> {
        let mut index = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let url = text(entry, "url").trim();
            let url_path = text(entry, "urlPath").trim();
            if url.is_empty() && url_path.is_empty() {
                return Err(format!(
                    "apiCallResponses[{i}]: either url or urlPath is required"
                ));
            }
            if !url.is_empty() && !url_path.is_empty() {
                return Err(format!(
                    "apiCallResponses[{i}]: url and urlPath are mutually exclusive"
                ));
            }
            if !url.is_empty() {
                check_absolute_url(i, url)?;
            }
            if !url_path.is_empty() && !url_path.starts_with('/') {
                return Err(format!(
                    "apiCallResponses[{i}]: urlPath {url_path:?} must be an absolute path starting with '/'"
                ));
            }
            let method = text(entry, "method").trim().to_uppercase();
            if !method.is_empty() && method != "GET" && method != "POST" {
                return Err(format!("apiCallResponses[{i}]: method must be GET or POST"));
            }
            let label = if url.is_empty() { url_path } else { url };
            let body = entry.pointer("/response/body").unwrap_or(&Value::Null);
            if body.is_null() {
                return Err(format!(
                    "apiCallResponses[{i}] {label:?}: response.body is required"
                ));
            }
            if !body.is_object() {
                return Err(format!(
                    "apiCallResponses[{i}] {label:?}: response.body must be a JSON object"
                ));
            }
            let status = match entry.pointer("/response/statusCode") {
                None | Some(Value::Null) => 0,
                Some(code) => code.as_i64().ok_or_else(|| {
                    format!("apiCallResponses[{i}] {label:?}: statusCode must be an integer")
                })?,
            };
            if status != 0 && !(100..=599).contains(&status) {
                return Err(format!(
                    "apiCallResponses[{i}] {label:?}: statusCode {status} must be between 100 and 599"
                ));
            }
            let key = if method.is_empty() {
                label.to_string()
            } else {
                format!("{method}:{label}")
            };
            if index.contains_key(&key) {
                return Err(format!(
                    "apiCallResponses: duplicate entry for {label:?} (key {key:?}) — each method+url combination must be unique"
                ));
            }
            let status = if status == 0 { 200 } else { status as u16 };
            index.insert(
                key,
                HttpResponse {
                    status,
                    body: body.clone(),
                },
            );
        }
        Ok(ApiCallMocks { index })
    }

    /// The mock for `method` and `url`: `METHOD:url` first, then `url`.
    pub(crate) fn lookup(&self, method: &str, url: &str) -> Option<&HttpResponse> {
        self.index
            .get(&format!("{method}:{url}"))
            .or_else(|| self.index.get(url))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// A test's `globalContextEntries`, resolved to each entry's data
/// (`ResolveGlobalContextMockData`): `resources` (or the documents of
/// `resourceFiles`) as a list, else `data`; then `fieldPath`; then, with
/// projections, an object of projection name → value.
#[derive(Debug, Default, Clone)]
pub struct GlobalContextMocks {
    entries: BTreeMap<String, Value>,
}

impl GlobalContextMocks {
    /// Validates (`ValidateGlobalContextEntries`) and resolves the entries;
    /// `load_file` reads a `resourceFiles` path (relative to the test
    /// directory, already checked not to escape it) as its documents.
    pub fn from_entries(
        entries: &[Value],
        load_file: &dyn Fn(&str) -> Result<Vec<Value>, String>,
    ) -> Result<GlobalContextMocks, String> {
        let mut resolved = BTreeMap::new();
        for entry in entries {
            let name = text(entry, "name").trim();
            if name.is_empty() {
                return Err("globalContextEntries: name is required".to_string());
            }
            if resolved.contains_key(name) {
                return Err(format!("globalContextEntries: duplicate name {name:?}"));
            }
            let projections = entry
                .get("projections")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for projection in &projections {
                let projection_name = text(projection, "name").trim();
                if projection_name.is_empty() {
                    return Err(format!(
                        "globalContextEntries entry {name:?}: projection name is required"
                    ));
                }
                if text(projection, "path").trim().is_empty() {
                    return Err(format!(
                        "globalContextEntries entry {name:?} projection {projection_name:?}: path is required"
                    ));
                }
            }
            let present = |key: &str| entry.get(key).is_some_and(|v| !v.is_null());
            let sources = ["data", "resources", "resourceFiles"]
                .iter()
                .filter(|key| present(key))
                .count();
            if sources > 1 {
                return Err(format!(
                    "globalContextEntries entry {name:?}: data, resources, and resourceFiles are mutually exclusive"
                ));
            }
            if sources == 0 {
                return Err(format!(
                    "globalContextEntries entry {name:?}: one of data, resources, or resourceFiles is required"
                ));
            }
            for key in ["resources", "resourceFiles"] {
                if present(key) && !entry.get(key).is_some_and(Value::is_array) {
                    return Err(format!(
                        "globalContextEntries entry {name:?}: {key} must be a list"
                    ));
                }
            }
            let root = if present("data") {
                let data = entry.get("data").cloned().unwrap_or(Value::Null);
                if !data.is_object() {
                    return Err(format!(
                        "globalContextEntries entry {name:?}: data must be a JSON object"
                    ));
                }
                data
            } else if present("resources") {
                let resources = entry
                    .get("resources")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (j, resource) in resources.iter().enumerate() {
                    if !resource.is_object() {
                        return Err(format!(
                            "globalContextEntries entry {name:?} resources[{j}]: must be a JSON object (Kubernetes resource manifest)"
                        ));
                    }
                }
                Value::Array(resources)
            } else {
                let files = entry
                    .get("resourceFiles")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut resources = Vec::new();
                for (j, file) in files.iter().enumerate() {
                    let path = file.as_str().unwrap_or("").trim();
                    check_relative_file(name, j, path)?;
                    let documents = load_file(path).map_err(|err| {
                        format!("globalContextEntries {name:?} resourceFiles {path:?}: {err}")
                    })?;
                    resources.extend(
                        documents
                            .into_iter()
                            .filter(|doc| doc.as_object().is_some_and(|o| !o.is_empty())),
                    );
                }
                Value::Array(resources)
            };
            let data = resolve(name, entry, root, &projections)?;
            resolved.insert(name.to_string(), data);
        }
        Ok(GlobalContextMocks { entries: resolved })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The mock store's `Entry.Get` (store/mock.go): `None` when no entry
    /// has the name.
    fn get(&self, name: &str, projection: &str) -> Option<Result<Value, String>> {
        let value = self.entries.get(name)?;
        if projection.is_empty() {
            return Some(Ok(value.clone()));
        }
        Some(match value {
            Value::Object(map) => map.get(projection).cloned().ok_or_else(|| {
                format!("global context mock: projection {projection:?} not found")
            }),
            _ => Err(format!(
                "global context mock: projection {projection:?} requested but value is not an object"
            )),
        })
    }
}

fn check_relative_file(name: &str, index: usize, path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err(format!(
            "globalContextEntries entry {name:?} resourceFiles[{index}]: file path must not be empty"
        ));
    }
    if path.starts_with('/') {
        return Err(format!(
            "globalContextEntries entry {name:?} resourceFiles[{index}]: file path must not be absolute"
        ));
    }
    let mut depth: i64 = 0;
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(format!(
                "globalContextEntries entry {name:?} resourceFiles[{index}]: file path must not escape the test directory"
            ));
        }
    }
    Ok(())
}

/// `applyFieldPathAndProjections` of store/gctx_resolve.go.
fn resolve(name: &str, entry: &Value, root: Value, projections: &[Value]) -> Result<Value, String> {
    let field_path = text(entry, "fieldPath");
    let root = if field_path.is_empty() {
        root
    } else {
        jmespath::search(field_path, &root)
            .map_err(|err| format!("globalContextEntries {name:?} fieldPath: {err}"))?
    };
    if projections.is_empty() {
        return Ok(root);
    }
    let mut out = Map::new();
    for projection in projections {
        let projection_name = text(projection, "name");
        let path = text(projection, "path");
        let value = jmespath::search(path, &root).map_err(|err| {
            format!(
                "globalContextEntries {name:?} projection {projection_name:?} path {path:?}: {err}"
            )
        })?;
        out.insert(projection_name.to_string(), value);
    }
    Ok(Value::Object(out))
}

/// The test's stand-in for a cluster.
#[derive(Debug, Default, Clone)]
pub struct FakeCluster {
    /// The context file's resources and images and the params objects: the
    /// CLI's fake CEL provider.
    supplied: SuppliedData,
    /// With `clusterResources`: the fake client's objects.
    cluster: Option<SuppliedData>,
    api_mocks: ApiCallMocks,
    global_mocks: GlobalContextMocks,
}

impl FakeCluster {
    /// A fake cluster over `supplied` (context file, params), the objects
    /// of `clusterResources` (with the test resources, and the
    /// CustomResourceDefinitions its `crds` files hold) when given, and the
    /// mocks.
    pub fn new(
        supplied: SuppliedData,
        cluster_objects: Option<Vec<Value>>,
        api_mocks: ApiCallMocks,
        global_mocks: GlobalContextMocks,
    ) -> Result<FakeCluster, String> {
        let cluster = match cluster_objects {
            Some(objects) => {
                let mut data = SuppliedData::default();
                // CRDs first: they name the plurals of their objects.
                for crd in objects
                    .iter()
                    .filter(|o| o.str_field("kind") == Some("CustomResourceDefinition"))
                {
                    data.add_crd(crd);
                }
                for object in objects {
                    data.add_resource(object)?;
                }
                Some(data)
            }
            None => None,
        };
        Ok(FakeCluster {
            supplied,
            cluster,
            api_mocks,
            global_mocks,
        })
    }

    /// Whether the test runs against a fake cluster (`clusterResources`).
    pub fn has_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// The Namespace object `name` of the fake cluster.
    pub fn namespace(&self, name: &str) -> Option<Value> {
        self.cluster
            .as_ref()?
            .get_resource("v1", "namespaces", "", name)
            .ok()
            .flatten()
    }
}

/// `rawAbsPathForFakeClient`: `/api/<v>[/namespaces/<ns>]/<resource>[/<name>]`
/// or `/apis/<g>/<v>[/namespaces/<ns>]/<resource>[/<name>]`, a GET only;
/// without a name, the list.
fn fake_raw_get(cluster: &SuppliedData, request: &ApiCallRequest) -> Result<Value, String> {
    if request.method != "GET" {
        return Err(format!(
            "method {} not supported for fake client",
            request.method
        ));
    }
    // Go's parse, index by index: `/api/v1/namespaces/<ns>` names no
    // resource (an error), and a query stays part of the last segment.
    let path = request
        .url_path
        .strip_prefix('/')
        .unwrap_or(&request.url_path);
    let parts: Vec<&str> = path.split('/').collect();
    let at = |i: usize| parts.get(i).copied().unwrap_or("");
    let (mut group, mut version, mut namespace, mut resource, mut name) = ("", "", "", "", "");
    if parts.len() >= 2 && parts[0] == "api" {
        version = at(1);
        if parts.len() >= 4 && parts[2] == "namespaces" {
            namespace = at(3);
            resource = at(4);
            name = at(5);
        } else if parts.len() >= 3 {
            resource = at(2);
            name = at(3);
        }
    } else if parts.len() >= 3 && parts[0] == "apis" {
        group = at(1);
        version = at(2);
        if parts.len() >= 5 && parts[3] == "namespaces" {
            namespace = at(4);
            resource = at(5);
            name = at(6);
        } else if parts.len() >= 4 {
            resource = at(3);
            name = at(4);
        }
    }
    if resource.is_empty() {
        return Err(format!("failed to parse path: {path}"));
    }
    if resource.contains('?') {
        // The fake client takes `pods?labelSelector=…` as a resource name
        // it does not serve: no answer, rather than an unfiltered list.
        return Err(format!(
            "failed to list resources: the fake client serves no resource {resource:?}"
        ));
    }
    let api_version = kinds::api_version_of(group, version);
    let kind = kinds::kind_of_plural(resource)
        .map(str::to_string)
        .unwrap_or_else(|| infer_kind(resource));
    if name.is_empty() {
        let mut items = listed(cluster, &api_version, resource, namespace);
        items.sort_by(|a, b| {
            let key = |o: &Value| {
                (
                    o.string_at_or_empty("/metadata/namespace"),
                    o.string_at_or_empty("/metadata/name"),
                )
            };
            key(a).cmp(&key(b))
        });
        return Ok(json!({
            "apiVersion": api_version,
            "kind": format!("{kind}List"),
            "metadata": {"resourceVersion": ""},
            "items": items,
        }));
    }
    match cluster.get_resource(&api_version, resource, namespace, name)? {
        Some(object) => Ok(object),
        None => Err(format!(
            "failed to get resource {api_version}/{kind}/{name}: {resource} {name:?} not found"
        )),
    }
}

/// The fake discovery's `inferKindFromResourceName`.
fn infer_kind(resource: &str) -> String {
    let singular = if let Some(stem) = resource.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = resource.strip_suffix("es") {
        stem.to_string()
    } else if let Some(stem) = resource.strip_suffix('s') {
        stem.to_string()
    } else {
        resource.to_string()
    };
    let mut chars = singular.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => singular,
    }
}

/// A call no mock answers: a test run never calls out.
fn unmocked(request: &HttpRequest) -> String {
    format!(
        "{} {}: no apiCallResponses entry answers it and polscan test makes no HTTP calls",
        request.method, request.url
    )
}

/// The fake dynamic client's list: the objects of one resource in
/// `namespace`, or in every namespace for `""`.
fn listed(
    cluster: &SuppliedData,
    api_version: &str,
    resource: &str,
    namespace: &str,
) -> Vec<Value> {
    cluster
        .objects(api_version, resource)
        .iter()
        .filter(|object| {
            namespace.is_empty() || object.str_at("/metadata/namespace") == Some(namespace)
        })
        .cloned()
        .collect()
}

fn mock_failure(status: u16) -> String {
    format!("HTTP {status} from apiCall mock (v1 apiCall treats non-2xx as failure)")
}

impl ClusterData for FakeCluster {
    fn config_map(&self, namespace: &str, name: &str) -> Option<Value> {
        self.cluster
            .as_ref()?
            .get_resource("v1", "configmaps", namespace, name)
            .ok()
            .flatten()
    }

    fn resolves_config_maps(&self) -> bool {
        self.cluster.is_some()
    }

    fn has_api_call_mocks(&self) -> bool {
        !self.api_mocks.is_empty()
    }

    fn api_call_mock(&self, method: &str, url: &str) -> Option<Result<Value, String>> {
        let mock = self.api_mocks.lookup(method, url)?;
        Some(if (200..300).contains(&mock.status) {
            Ok(mock.body.clone())
        } else {
            Err(mock_failure(mock.status))
        })
    }

    /// Entries no mock answered (mocked ones load before, through
    /// [`ClusterData::api_call_mock`]).
    fn api_call(&self, request: &ApiCallRequest) -> Result<Option<Value>, String> {
        match &self.cluster {
            Some(cluster) => fake_raw_get(cluster, request).map(Some).map_err(|err| {
                format!(
                    "failed to {} resource with raw url: {}: {err}",
                    request.method, request.url_path
                )
            }),
            None => Ok(None),
        }
    }

    fn service_call(&self, request: &HttpRequest) -> Result<Option<HttpResponse>, String> {
        if self.cluster.is_some() {
            // The CLI would call the URL; a test run never does.
            return Err(unmocked(request));
        }
        Ok(None)
    }

    fn http(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        if self.cluster.is_none() {
            if let Some(mock) = self.api_mocks.lookup(&request.method, &request.url) {
                return Ok(mock.clone());
            }
        }
        Err(unmocked(request))
    }

    fn global_reference(&self, name: &str, projection: &str) -> Result<Option<Value>, String> {
        if self.global_mocks.is_empty() {
            return Ok(None);
        }
        match self.global_mocks.get(name, projection) {
            Some(answer) => answer.map(Some),
            None => Err(format!("failed to fetch entry key={name}")),
        }
    }

    fn global_context(&self, name: &str, projection: &str) -> Result<Value, String> {
        if self.cluster.is_some() {
            // The real provider over an empty store: a missing entry is null.
            return Ok(Value::Null);
        }
        let Some(value) = self.global_mocks.entries.get(name) else {
            return Ok(Value::Null);
        };
        if projection.is_empty() {
            return Ok(value.clone());
        }
        match value {
            Value::Object(map) => map.get(projection).cloned().ok_or_else(|| {
                format!("projection {projection:?} not found in global context entry {name:?}")
            }),
            _ => Err(format!(
                "projection {projection:?} not found in global context entry {name:?}: stored value is not an object"
            )),
        }
    }

    fn get_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, String> {
        match &self.cluster {
            Some(cluster) => cluster.get_resource(api_version, resource, namespace, name),
            None => self
                .supplied
                .get_resource(api_version, resource, namespace, name),
        }
    }

    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<Value, String> {
        match &self.cluster {
            // The dynamic client lists every namespace for "".
            Some(cluster) => Ok(json!({
                "items": listed(cluster, api_version, resource, namespace)
            })),
            None => self
                .supplied
                .list_resources(api_version, resource, namespace),
        }
    }

    fn params(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> Result<Vec<Value>, String> {
        self.supplied
            .params(api_version, kind, namespace, name, selector)
    }

    fn image_data(&self, image: &str) -> Result<Value, String> {
        self.supplied.image_data(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mocks(entries: Value) -> Result<ApiCallMocks, String> {
        ApiCallMocks::from_entries(entries.as_array().expect("list"))
    }

    fn no_files(_: &str) -> Result<Vec<Value>, String> {
        Err("no files in this test".into())
    }

    fn gctx(entries: Value) -> Result<GlobalContextMocks, String> {
        GlobalContextMocks::from_entries(entries.as_array().expect("list"), &no_files)
    }

    fn request(method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            ca_bundle: None,
        }
    }

    #[test]
    fn api_call_mocks_are_validated_with_the_cli_s_messages() {
        let cases = [
            (
                json!([{"response": {"body": {}}}]),
                "either url or urlPath is required",
            ),
            (
                json!([{"url": "https://a.test/x", "urlPath": "/x", "response": {"body": {}}}]),
                "mutually exclusive",
            ),
            (
                json!([{"url": "ftp://a.test/x", "response": {"body": {}}}]),
                "must be an absolute https/http URL",
            ),
            (
                json!([{"url": "https:///x", "response": {"body": {}}}]),
                "has scheme but no host",
            ),
            (
                json!([{"url": "https://a.test:abc/x", "response": {"body": {}}}]),
                "is not a valid URL",
            ),
            (
                json!([{"url": "http://[::1", "response": {"body": {}}}]),
                "is not a valid URL",
            ),
            (
                json!([{"url": "https://a test/x", "response": {"body": {}}}]),
                "is not a valid URL",
            ),
            (
                json!([{"urlPath": "api/v1", "response": {"body": {}}}]),
                "must be an absolute path starting with '/'",
            ),
            (
                json!([{"url": "https://a.test", "method": "PUT", "response": {"body": {}}}]),
                "method must be GET or POST",
            ),
            (
                json!([{"url": "https://a.test"}]),
                "response.body is required",
            ),
            (
                json!([{"url": "https://a.test", "response": {"body": [1]}}]),
                "response.body must be a JSON object",
            ),
            (
                json!([{"url": "https://a.test", "response": {"body": {}, "statusCode": 700}}]),
                "statusCode 700 must be between 100 and 599",
            ),
            (
                json!([
                    {"url": "https://a.test", "method": "get", "response": {"body": {}}},
                    {"url": "https://a.test", "method": "GET", "response": {"body": {}}}
                ]),
                "duplicate entry for \"https://a.test\" (key \"GET:https://a.test\")",
            ),
        ];
        for (entries, message) in cases {
            let err = mocks(entries.clone()).expect_err("invalid");
            assert!(err.contains(message), "{entries}: {err}");
        }
    }

    #[test]
    fn a_method_entry_beats_a_plain_one_and_status_defaults_to_200() {
        let index = mocks(json!([
            {"url": "https://a.test/r", "response": {"body": {"from": "any"}}},
            {"url": "https://a.test/r", "method": "POST", "response": {"body": {"from": "post"}, "statusCode": 201}}
        ]))
        .expect("valid");
        let post = index.lookup("POST", "https://a.test/r").expect("post");
        assert_eq!((post.status, &post.body), (201, &json!({"from": "post"})));
        let get = index.lookup("GET", "https://a.test/r").expect("get");
        assert_eq!((get.status, &get.body), (200, &json!({"from": "any"})));
        assert!(index.lookup("GET", "https://a.test/other").is_none());
    }

    #[test]
    fn global_context_mocks_resolve_field_path_and_projections() {
        let store = gctx(json!([
            {"name": "teams", "data": {"list": [{"n": "a", "ok": true}, {"n": "b", "ok": false}]},
             "fieldPath": "list",
             "projections": [{"name": "allowed", "path": "[?ok].n"}]},
            {"name": "pods", "resources": [{"kind": "Pod", "metadata": {"name": "p"}}]}
        ]))
        .expect("valid");
        assert_eq!(
            store.get("teams", "allowed").expect("entry"),
            Ok(json!(["a"]))
        );
        assert_eq!(
            store.get("teams", "").expect("entry"),
            Ok(json!({"allowed": ["a"]}))
        );
        assert!(store
            .get("teams", "missing")
            .expect("entry")
            .expect_err("no projection")
            .contains("projection \"missing\" not found"));
        assert_eq!(
            store.get("pods", "").expect("entry"),
            Ok(json!([{"kind": "Pod", "metadata": {"name": "p"}}]))
        );
        assert!(store.get("absent", "").is_none());
    }

    #[test]
    fn global_context_mocks_are_validated() {
        let cases = [
            (json!([{"data": {}}]), "name is required"),
            (
                json!([{"name": "a", "data": {}}, {"name": "a", "data": {}}]),
                "duplicate name \"a\"",
            ),
            (
                json!([{"name": "a"}]),
                "one of data, resources, or resourceFiles is required",
            ),
            (
                json!([{"name": "a", "data": {}, "resources": []}]),
                "mutually exclusive",
            ),
            (
                json!([{"name": "a", "data": [1]}]),
                "data must be a JSON object",
            ),
            (
                json!([{"name": "a", "data": {}, "projections": [{"name": "p"}]}]),
                "projection \"p\": path is required",
            ),
            (
                json!([{"name": "a", "resourceFiles": ["../x.yaml"]}]),
                "must not escape the test directory",
            ),
            (
                json!([{"name": "a", "resourceFiles": ["/x.yaml"]}]),
                "must not be absolute",
            ),
            (
                json!([{"name": "a", "resourceFiles": ["x.yaml"]}]),
                "resourceFiles \"x.yaml\": no files in this test",
            ),
        ];
        for (entries, message) in cases {
            let err = gctx(entries.clone()).expect_err("invalid");
            assert!(err.contains(message), "{entries}: {err}");
        }
    }

    #[test]
    fn resource_files_are_read_as_documents() {
        let load = |path: &str| -> Result<Vec<Value>, String> {
            assert_eq!(path, "sub/../list.yaml");
            Ok(vec![json!({"kind": "A"}), json!({}), json!({"kind": "B"})])
        };
        let store = GlobalContextMocks::from_entries(
            &[json!({"name": "e", "resourceFiles": ["sub/../list.yaml"]})],
            &load,
        )
        .expect("valid");
        assert_eq!(
            store.get("e", "").expect("entry"),
            Ok(json!([{"kind": "A"}, {"kind": "B"}]))
        );
    }

    fn objects() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": {"tier": "gold"}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "a"}, "data": {"k": "v"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "b"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "a"}}),
        ]
    }

    fn cluster(objects: Option<Vec<Value>>, api: Value, global: Value) -> FakeCluster {
        FakeCluster::new(
            SuppliedData::default(),
            objects,
            mocks(api).expect("mocks"),
            gctx(global).expect("gctx"),
        )
        .expect("cluster")
    }

    fn get(path: &str) -> ApiCallRequest {
        ApiCallRequest {
            url_path: path.into(),
            method: "GET".into(),
            data: None,
        }
    }

    #[test]
    fn the_fake_client_answers_url_paths_from_its_objects() {
        let fake = cluster(Some(objects()), json!([]), json!([]));
        let cm = fake
            .api_call(&get("/api/v1/namespaces/a/configmaps/cm"))
            .expect("answer")
            .expect("object");
        assert_eq!(cm["data"]["k"], "v");
        let list = fake
            .api_call(&get("/api/v1/configmaps"))
            .expect("answer")
            .expect("list");
        assert_eq!(list["kind"], "ConfigMapList");
        assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
        let scoped = fake
            .api_call(&get("/apis/apps/v1/namespaces/a/deployments"))
            .expect("answer")
            .expect("list");
        assert_eq!(scoped["items"][0]["metadata"]["name"], "d");
        let missing = fake
            .api_call(&get("/api/v1/namespaces/a/configmaps/none"))
            .expect_err("not found");
        assert!(
            missing.contains("failed to GET resource with raw url")
                && missing.contains("not found"),
            "{missing}"
        );
        let post = fake
            .api_call(&ApiCallRequest {
                method: "POST".into(),
                ..get("/api/v1/namespaces")
            })
            .expect_err("GET only");
        assert!(
            post.contains("method POST not supported for fake client"),
            "{post}"
        );
        assert!(fake.api_call(&get("/version")).is_err());
        // Go's parse: a Namespace path names no resource; a query is not
        // understood.
        for path in [
            "/api/v1/namespaces/a",
            "/apis/apps/v1/namespaces/a",
            "/api/v1/namespaces/a/configmaps?labelSelector=x",
        ] {
            assert!(fake.api_call(&get(path)).is_err(), "{path}");
        }
        let namespaces = fake
            .api_call(&get("/api/v1/namespaces"))
            .expect("answer")
            .expect("list");
        assert_eq!(namespaces["items"][0]["metadata"]["name"], "a");
        assert_eq!(
            fake.namespace("a").expect("ns")["metadata"]["labels"]["tier"],
            "gold"
        );
        assert!(fake.config_map("a", "cm").is_some());
    }

    #[test]
    fn without_a_cluster_unmocked_calls_are_not_made() {
        let fake = cluster(
            None,
            json!([{"urlPath": "/api/v1/namespaces/a/configmaps/cm", "response": {"body": {"data": {"m": "1"}}}},
                   {"url": "https://svc.test/down", "response": {"body": {}, "statusCode": 503}}]),
            json!([]),
        );
        assert!(fake.has_api_call_mocks());
        assert_eq!(
            fake.api_call_mock("GET", "/api/v1/namespaces/a/configmaps/cm"),
            Some(Ok(json!({"data": {"m": "1"}})))
        );
        assert_eq!(
            fake.api_call_mock("GET", "/api/v1/namespaces/a/configmaps/x"),
            None
        );
        // Unmocked entries: no client, so they are skipped.
        assert_eq!(
            fake.api_call(&get("/api/v1/namespaces/a/configmaps/x")),
            Ok(None)
        );
        assert!(!fake.resolves_config_maps());
        assert_eq!(
            fake.service_call(&request("GET", "https://svc.test/other")),
            Ok(None)
        );
        let down = fake
            .api_call_mock("GET", "https://svc.test/down")
            .expect("mocked")
            .expect_err("non-2xx");
        assert!(down.contains("HTTP 503 from apiCall mock"), "{down}");
        // CEL http sees the mock as it is, status and all.
        let cel = fake
            .http(&request("GET", "https://svc.test/down"))
            .expect("mock");
        assert_eq!(cel.status, 503);
        assert!(fake
            .http(&request("GET", "https://svc.test/other"))
            .is_err());
        assert_eq!(fake.global_reference("any", ""), Ok(None));
    }

    #[test]
    fn with_a_cluster_cel_sees_neither_http_nor_global_context_mocks() {
        let fake = cluster(
            Some(objects()),
            json!([{"url": "https://svc.test/a", "response": {"body": {"x": 1}}}]),
            json!([{"name": "e", "data": {"x": 1}}]),
        );
        assert!(fake.http(&request("GET", "https://svc.test/a")).is_err());
        assert_eq!(fake.global_context("e", ""), Ok(Value::Null));
        // JMESPath entries still do.
        assert_eq!(
            fake.api_call_mock("GET", "https://svc.test/a"),
            Some(Ok(json!({"x": 1})))
        );
        assert_eq!(fake.global_reference("e", ""), Ok(Some(json!({"x": 1}))));
        assert!(fake
            .service_call(&request("GET", "https://svc.test/b"))
            .expect_err("no call")
            .contains("makes no HTTP calls"));
    }

    #[test]
    fn global_references_follow_the_mock_store() {
        let fake = cluster(
            None,
            json!([]),
            json!([{"name": "e", "data": {"p": [1]}, "projections": [{"name": "first", "path": "p[0]"}]}]),
        );
        assert_eq!(fake.global_reference("e", "first"), Ok(Some(json!(1))));
        assert_eq!(
            fake.global_reference("absent", ""),
            Err("failed to fetch entry key=absent".to_string())
        );
        // CEL's fake provider answers a missing entry with null.
        assert_eq!(fake.global_context("absent", ""), Ok(Value::Null));
        assert_eq!(fake.global_context("e", "first"), Ok(json!(1)));
        assert!(fake.global_context("e", "second").is_err());
    }

    #[test]
    fn a_crd_names_the_plural_of_its_objects() {
        let fake = cluster(
            Some(vec![
                json!({"apiVersion": "example.test/v1", "kind": "Octopus", "metadata": {"name": "o", "namespace": "a"}}),
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                       "metadata": {"name": "octopodes.example.test"},
                       "spec": {"group": "example.test", "names": {"kind": "Octopus", "plural": "octopodes"}}}),
            ]),
            json!([]),
            json!([]),
        );
        assert!(fake
            .get_resource("example.test/v1", "octopodes", "a", "o")
            .expect("answer")
            .is_some());
        assert!(fake
            .api_call(&get("/apis/example.test/v1/namespaces/a/octopodes/o"))
            .expect("answer")
            .is_some());
    }

    fn context_with(
        fake: FakeCluster,
        entries: Value,
    ) -> (super::super::context::EvalContext, Result<(), String>) {
        let mut ctx = super::super::context::EvalContext::new(std::sync::Arc::new(fake));
        ctx.add_variable("request.object", json!({"metadata": {"namespace": "a"}}));
        let entries: Vec<crate::context::ContextEntry> =
            serde_json::from_value(entries).expect("entries");
        let loaded = ctx.add_entries(&entries).map_err(|e| e.to_string());
        (ctx, loaded)
    }

    #[test]
    fn mocked_entries_load_first_without_default_or_namespace_check() {
        let mocks = json!([
            {"url": "https://svc.test/down", "response": {"body": {}, "statusCode": 503}},
            {"urlPath": "/api/v1/namespaces/other/configmaps/c", "response": {"body": {"data": {"k": "v"}}}}
        ]);
        // A non-2xx mock fails the load; its default does not apply.
        let (_, loaded) = context_with(
            cluster(None, mocks.clone(), json!([])),
            json!([{"name": "x", "apiCall": {"service": {"url": "https://svc.test/down"}, "default": "fallback"}}]),
        );
        assert!(loaded
            .expect_err("503")
            .contains("HTTP 503 from apiCall mock"));
        // A mocked path of another namespace reaches a namespaced policy.
        let (mut ctx, loaded) = {
            let mut ctx = super::super::context::EvalContext::new(std::sync::Arc::new(cluster(
                None,
                mocks.clone(),
                json!([]),
            )));
            ctx.set_policy_namespace(Some("a".into()));
            let entries: Vec<crate::context::ContextEntry> = serde_json::from_value(json!([
                {"name": "cm", "apiCall": {"urlPath": "/api/v1/namespaces/other/configmaps/c", "jmesPath": "data.k"}}
            ]))
            .expect("entries");
            let loaded = ctx.add_entries(&entries).map_err(|e| e.to_string());
            (ctx, loaded)
        };
        assert_eq!(loaded, Ok(()));
        assert_eq!(ctx.query("cm"), Ok(json!("v")));
    }

    #[test]
    fn with_mocks_every_api_call_is_substituted_before_other_entries_load() {
        let mocks = json!([{"url": "https://h.test/allowed", "response": {"body": {"ok": true}}}]);
        // `host` is a variable entry: not loaded yet when the apiCall is
        // substituted, so the load fails, as the CLI's does.
        let (_, loaded) = context_with(
            cluster(None, mocks.clone(), json!([])),
            json!([
                {"name": "host", "variable": {"value": "h.test"}},
                {"name": "answer", "apiCall": {"service": {"url": "https://{{ host }}/allowed"}}}
            ]),
        );
        let err = loaded.expect_err("substitution before load");
        assert!(
            err.contains("failed to substitute variables in apiCall context entry"),
            "{err}"
        );
        // Without mocks in the run the entries load lazily and in order.
        let (mut ctx, loaded) = context_with(
            cluster(None, json!([]), json!([])),
            json!([
                {"name": "host", "variable": {"value": "h.test"}},
                {"name": "answer", "apiCall": {"service": {"url": "https://{{ host }}/allowed"}}}
            ]),
        );
        assert_eq!(loaded, Ok(()));
        assert_eq!(ctx.query("host"), Ok(json!("h.test")));
    }

    #[test]
    fn config_maps_follow_kyverno_s_loader() {
        let with_cluster = || cluster(Some(objects()), json!([]), json!([]));
        let (mut ctx, _) = context_with(
            with_cluster(),
            json!([{"name": "cm", "configMap": {"name": "cm", "namespace": "a"}}]),
        );
        assert_eq!(ctx.query("cm.data.k"), Ok(json!("v")));
        assert!(ctx.query("cm.kind").is_err(), "only data and metadata");
        let (mut ctx, _) = context_with(
            with_cluster(),
            json!([{"name": "cm", "configMap": {"name": "none", "namespace": "a"}}]),
        );
        let missing = ctx.query("cm").expect_err("missing");
        assert!(
            missing
                .to_string()
                .contains("failed to get configmap a/none"),
            "{missing}"
        );
        let mut ctx = super::super::context::EvalContext::new(std::sync::Arc::new(with_cluster()));
        ctx.set_policy_namespace(Some("b".into()));
        let entries: Vec<crate::context::ContextEntry> = serde_json::from_value(json!([
            {"name": "cm", "configMap": {"name": "cm", "namespace": "a"}}
        ]))
        .expect("entries");
        ctx.add_entries(&entries).expect("entries");
        let cross = ctx.query("cm").expect_err("another namespace");
        assert!(
            cross
                .to_string()
                .contains("is different from policy namespace"),
            "{cross}"
        );
    }

    #[test]
    fn rules_sharing_one_context_still_load_entries_as_their_own_policy() {
        // Three policies on one Pod: a plain pattern, then a Policy in
        // namespace b and a ClusterPolicy whose foreach loads ConfigMap a/cm.
        // The first two lend the resource's one shared context; the foreach
        // entries must still see their own policy's namespace.
        use super::super::{Engine, EngineOptions, Environment, RuleStatus};
        let document = |kind: &str, namespace: Option<&str>, name: &str, rule: Value| {
            let mut metadata = json!({"name": name});
            if let Some(namespace) = namespace {
                metadata["namespace"] = json!(namespace);
            }
            crate::Policy::from_document(&json!({
                "apiVersion": "kyverno.io/v1", "kind": kind, "metadata": metadata,
                "spec": {"background": true, "rules": [rule]}
            }))
            .expect("valid policy")
        };
        let foreach = json!({
            "name": "cm", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"foreach": [{
                "list": "request.object.spec.containers",
                "context": [{"name": "cm", "configMap": {"name": "cm", "namespace": "a"}}],
                "deny": {"conditions": {"any": [{"key": "{{ cm.data.k }}", "operator": "NotEquals", "value": "v"}]}}
            }]}
        });
        let plain = json!({
            "name": "named", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"message": "needs a name", "pattern": {"metadata": {"name": "?*"}}}
        });
        let engine = Engine::new(
            vec![
                document("ClusterPolicy", None, "plain", plain),
                document("Policy", Some("b"), "namespaced", foreach.clone()),
                document("ClusterPolicy", None, "cluster-wide", foreach),
            ],
            EngineOptions::default(),
        )
        .with_cluster_data(std::sync::Arc::new(cluster(
            Some(objects()),
            json!([]),
            json!([]),
        )));
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "b"},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let outcome: Vec<(String, RuleStatus, String)> = engine
            .evaluate(&pod, &Environment::default())
            .into_iter()
            .flat_map(|r| {
                let name = r.policy.name.clone();
                r.rules
                    .into_iter()
                    .map(move |rule| (name.clone(), rule.status, rule.message))
            })
            .collect();
        assert_eq!(outcome.len(), 3, "{outcome:?}");
        assert_eq!(outcome[0].1, RuleStatus::Pass, "{outcome:?}");
        assert_eq!(outcome[1].1, RuleStatus::Error, "{outcome:?}");
        assert!(
            outcome[1].2.contains("different from policy namespace"),
            "{outcome:?}"
        );
        assert_eq!(
            outcome[2].1,
            RuleStatus::Pass,
            "the ClusterPolicy reads a/cm: {outcome:?}"
        );
    }

    #[test]
    fn resource_kinds_are_inferred_like_the_fake_discovery() {
        assert_eq!(infer_kind("policies"), "Policy");
        assert_eq!(infer_kind("widgets"), "Widget");
        assert_eq!(infer_kind("classes"), "Class");
        assert_eq!(infer_kind("data"), "Data");
    }
}
