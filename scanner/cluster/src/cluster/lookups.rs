//! The engine's lookups answered by the API server: `configMap` and
//! `apiCall` context entries, `resource.Get/List`, policy params,
//! GlobalContextEntry data (`globalReference`, CEL `globalContext`) and,
//! with `--allow-http` only, HTTP calls (CEL `http`, `apiCall.service`).
//! The engine calls synchronously from rayon threads; each call blocks on
//! the async client through the runtime's handle. Answers are cached for
//! the run, so a ConfigMap read by a policy for 10,000 Pods is fetched once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use kube::api::ListParams;
use kube::Client;
use polscan_engine::ValueExt;
use serde_json::Value;
use tokio::runtime::Handle;

use super::discovery::Discovered;
use super::http_calls::HttpCaller;
use super::listing::for_each_page;
use super::ClusterError;
use crate::engine::context::{
    is_review_resource, missing_global_entry, ApiCallRequest, ClusterData, HttpRequest,
    HttpResponse,
};
use crate::engine::jmespath;
use crate::engine::label_selector::LabelSelector;

type Answer = Result<Option<Value>, String>;

/// The engine's [`ClusterData`] for a scan: the lookups sent to the API
/// server through `client`, blocking on `runtime`, cached for the run.
pub(crate) struct ApiLookups {
    client: Client,
    runtime: Handle,
    discovered: Arc<Discovered>,
    cache: Mutex<HashMap<String, Answer>>,
    /// Set by `--allow-http`; without it HTTP calls are refused.
    http: Option<HttpCaller>,
    http_cache: Mutex<HashMap<String, Result<HttpResponse, String>>>,
    /// The cluster's GlobalContextEntry objects by name, read once.
    global_entries: OnceLock<Result<HashMap<String, Value>, String>>,
    /// Each entry's data, computed once when first used.
    global_data: Mutex<HashMap<String, Arc<Result<GlobalEntryData, EntryError>>>>,
}

impl ApiLookups {
    /// Lookups through `client` on `runtime`, resolving kinds and
    /// resources by `discovered`; HTTP calls refused.
    pub(crate) fn new(client: Client, runtime: Handle, discovered: Arc<Discovered>) -> ApiLookups {
        ApiLookups {
            client,
            runtime,
            discovered,
            cache: Mutex::new(HashMap::new()),
            http: None,
            http_cache: Mutex::new(HashMap::new()),
            global_entries: OnceLock::new(),
            global_data: Mutex::new(HashMap::new()),
        }
    }

    /// Lets HTTP calls out (`polscan scan --allow-http`).
    pub(crate) fn with_http(mut self, caller: HttpCaller) -> ApiLookups {
        self.http = Some(caller);
        self
    }

    fn cached(&self, key: String, fetch: impl FnOnce() -> Answer) -> Answer {
        if let Ok(cache) = self.cache.lock() {
            if let Some(answer) = cache.get(&key) {
                return answer.clone();
            }
        }
        let answer = fetch();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, answer.clone());
        }
        answer
    }

    /// GET of a path; a 404 is `Ok(None)`.
    fn get(&self, path: &str) -> Answer {
        self.cached(format!("GET {path}"), || {
            let request = http::Request::get(path)
                .body(Vec::new())
                .map_err(|err| err.to_string())?;
            let client = self.client.clone();
            let result = self.runtime.block_on(async move {
                super::request_within::<Value>(&client, request, super::ANSWER_TIMEOUT).await
            });
            match result {
                Ok(value) => Ok(Some(value)),
                Err(err) => {
                    let err = ClusterError::from_kube(format!("GET {path}"), err);
                    if err.code() == Some(404) {
                        Ok(None)
                    } else {
                        Err(err.to_string())
                    }
                }
            }
        })
    }

    /// A POST of a review object: the server's answer, cached per body.
    fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        let answer = self.cached(format!("POST {path} {body}"), || {
            let bytes = serde_json::to_vec(body).map_err(|err| err.to_string())?;
            let request = http::Request::post(path)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(bytes)
                .map_err(|err| err.to_string())?;
            let client = self.client.clone();
            self.runtime
                .block_on(async move {
                    super::request_within::<Value>(&client, request, super::ANSWER_TIMEOUT).await
                })
                .map(Some)
                .map_err(|err| ClusterError::from_kube(format!("POST {path}"), err).to_string())
        })?;
        Ok(answer.unwrap_or_default())
    }

    /// A whole collection (every page) as a list object.
    fn list(&self, path: &str, label_selector: Option<String>) -> Answer {
        let key = format!("LIST {path}?{}", label_selector.as_deref().unwrap_or(""));
        self.cached(key, || {
            let client = self.client.clone();
            let path = path.to_string();
            self.runtime.block_on(async move {
                let mut items = Vec::new();
                let mut params = ListParams::default().limit(500);
                if let Some(selector) = &label_selector {
                    params = params.labels(selector);
                }
                for_each_page(&client, &path, &params, |more| items.extend(more))
                    .await
                    .map_err(|err| err.to_string())?;
                Ok(Some(serde_json::json!({"items": items})))
            })
        })
    }

    /// A collection's items with `apiVersion` and `kind` set, as client-go's
    /// unstructured list decoding sets them (the server leaves them out of
    /// typed lists' items).
    fn list_items(&self, path: &str, api_version: &str, kind: &str) -> Result<Vec<Value>, String> {
        let list = self.list(path, None)?;
        let mut items = match list.and_then(|mut l| l.get_mut("items").map(Value::take)) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        for item in &mut items {
            if let Some(object) = item.as_object_mut() {
                object
                    .entry("apiVersion")
                    .or_insert_with(|| Value::from(api_version));
                object.entry("kind").or_insert_with(|| Value::from(kind));
            }
        }
        Ok(items)
    }

    /// An HTTP call, refused unless `--allow-http` was given.
    fn call_http(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let Some(caller) = &self.http else {
            return Err(format!(
                "{} {}: polscan scan makes no HTTP calls unless run with --allow-http",
                request.method, request.url
            ));
        };
        let key = serde_json::json!([
            request.method,
            request.url,
            request.headers,
            request.body,
            request.ca_bundle
        ])
        .to_string();
        if let Ok(cache) = self.http_cache.lock() {
            if let Some(answer) = cache.get(&key) {
                return answer.clone();
            }
        }
        let answer = self
            .runtime
            .block_on(caller.call(request))
            .map_err(|err| format!("{} {}: {err}", request.method, request.url));
        if let Ok(mut cache) = self.http_cache.lock() {
            cache.insert(key, answer.clone());
        }
        answer
    }

    /// The cluster's GlobalContextEntry objects by name (none when the
    /// kind is not served).
    fn global_entries(&self) -> &Result<HashMap<String, Value>, String> {
        self.global_entries.get_or_init(|| {
            let Some(kind) = self.discovered.find("kyverno.io", "GlobalContextEntry") else {
                return Ok(HashMap::new());
            };
            let items =
                self.list_items(&kind.collection_path(None), &kind.api_version(), &kind.kind)?;
            Ok(items
                .into_iter()
                .filter_map(|item| {
                    let name = item.pointer("/metadata/name")?.as_str()?.to_string();
                    Some((name, item))
                })
                .collect())
        })
    }

    /// What Kyverno's globalcontext controller would hold for `entry`.
    fn global_data(&self, name: &str) -> Result<Arc<Result<GlobalEntryData, EntryError>>, String> {
        if let Ok(cache) = self.global_data.lock() {
            if let Some(data) = cache.get(name) {
                return Ok(data.clone());
            }
        }
        let entries = self
            .global_entries()
            .as_ref()
            .map_err(|err| format!("failed to read GlobalContextEntries: {err}"))?;
        let entry = entries
            .get(name)
            .ok_or_else(|| missing_global_entry(name))?;
        let data = Arc::new(self.compute_global_data(entry));
        if let Ok(mut cache) = self.global_data.lock() {
            cache.insert(name.to_string(), data.clone());
        }
        Ok(data)
    }

    /// Kyverno: pkg/globalcontext/k8sresource (the objects of a resource,
    /// projections over that list) and pkg/globalcontext/externalapi (the
    /// call's decoded answer, projections over it).
    fn compute_global_data(&self, entry: &Value) -> Result<GlobalEntryData, EntryError> {
        let spec = entry.get("spec").cloned().unwrap_or(Value::Null);
        let projections = projections_of(&spec);
        if let Some(resource) = spec.get("kubernetesResource").filter(|r| r.is_object()) {
            let text = |key: &str| resource.str_field(key).unwrap_or("");
            let (group, version, plural) = (text("group"), text("version"), text("resource"));
            let api_version = crate::kinds::api_version_of(group, version);
            let gvr = format!("{api_version}, Resource={plural}");
            let kind = self
                .discovered
                .find_plural(group, plural)
                .map(|k| k.kind.clone())
                .ok_or_else(|| {
                    EntryError::NotStored(format!(
                        "failed to sync cache for {gvr}: the resource may not exist in the cluster"
                    ))
                })?;
            let path = self
                .kind_path(&api_version, plural, text("namespace"))
                .map_err(EntryError::NotStored)?;
            let items = self
                .list_items(&path, &api_version, &kind)
                .map_err(EntryError::NotStored)?;
            let items = Value::Array(items);
            // A projection that fails is left out (Kyverno records an
            // event); asking for it then gives "not found".
            let projected = projections
                .iter()
                .filter_map(|(name, path)| {
                    jmespath::search(path, &items)
                        .ok()
                        .map(|v| (name.clone(), v))
                })
                .collect();
            return Ok(GlobalEntryData {
                data: items,
                projected,
                external: false,
            });
        }
        let Some(call) = spec.get("apiCall").filter(|c| c.is_object()) else {
            return Err(EntryError::NotStored(
                "A global context entry should either have KubernetesResource or APICall"
                    .to_string(),
            ));
        };
        let data = self.global_api_call(call).map_err(EntryError::Failed)?;
        let mut projected = HashMap::new();
        for (name, path) in &projections {
            let value =
                jmespath::search(path, &data).map_err(|err| EntryError::Failed(err.to_string()))?;
            projected.insert(name.clone(), value);
        }
        Ok(GlobalEntryData {
            data,
            projected,
            external: true,
        })
    }

    /// An entry's `apiCall` as Kyverno's executor makes it
    /// (pkg/engine/apicall/executor.go): `urlPath` through the API server,
    /// `service` over HTTP with a non-2xx answer an error.
    fn global_api_call(&self, call: &Value) -> Result<Value, String> {
        let method = match call.str_field("method") {
            None | Some("") => "GET",
            Some(method) => method,
        };
        let data = call.get("data").and_then(Value::as_array).map(|items| {
            Value::Object(
                items
                    .iter()
                    .map(|item| {
                        (
                            item.str_field("key").unwrap_or("").to_string(),
                            item.get("value").cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            )
        });
        let url_path = call.str_field("urlPath").unwrap_or("");
        if !url_path.is_empty() {
            let request = ApiCallRequest {
                url_path: url_path.to_string(),
                method: method.to_string(),
                data: (method == "POST").then(|| data.clone().unwrap_or_default()),
            };
            return self
                .api_call(&request)
                .map(|value| value.unwrap_or(Value::Null));
        }
        let Some(service) = call.get("service").filter(|s| s.is_object()) else {
            return Err("missing service for APICall globalcontext".to_string());
        };
        if method != "GET" && method != "POST" {
            return Err(format!(
                "invalid request type {method} for APICall globalcontext"
            ));
        }
        let headers = service
            .get("headers")
            .and_then(Value::as_array)
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        let text = |k: &str| h.str_field(k).unwrap_or("").to_string();
                        (text("key"), text("value"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let request = HttpRequest {
            method: method.to_string(),
            url: service.str_field("url").unwrap_or("").to_string(),
            headers,
            body: (method == "POST")
                .then(|| data.unwrap_or_else(|| Value::Object(Default::default()))),
            ca_bundle: service
                .str_field("caBundle")
                .filter(|b| !b.is_empty())
                .map(str::to_string),
        };
        let response = self.call_http(&request)?;
        if !(200..300).contains(&response.status) {
            return Err(format!(
                "HTTP {}: {}",
                status_text(response.status),
                response.body
            ));
        }
        Ok(response.body)
    }

    fn kind_path(
        &self,
        api_version: &str,
        plural: &str,
        namespace: &str,
    ) -> Result<String, String> {
        let (group, version) = crate::kinds::split_api_version(api_version);
        let found = self
            .discovered
            .find_plural(group, plural)
            .ok_or_else(|| format!("{plural} ({api_version}) resource not found on the server"))?;
        let mut kind = found.clone();
        kind.version = version.to_string();
        let namespace = (!namespace.is_empty()).then_some(namespace);
        Ok(kind.collection_path(namespace))
    }
}

/// Why an entry has no data.
#[derive(Debug, Clone, PartialEq)]
enum EntryError {
    /// Kyverno's controller would not have stored the entry
    /// (pkg/controllers/globalcontext `makeStoreEntry` failed), so lookups
    /// find no entry of that name.
    NotStored(String),
    /// The stored entry answers this error (an externalapi call failed).
    Failed(String),
}

/// An entry's data and its projections, as Kyverno's store holds them.
#[derive(Debug, Clone, PartialEq)]
struct GlobalEntryData {
    data: Value,
    projected: HashMap<String, Value>,
    /// An `apiCall` entry (externalapi), whose `Get` words a missing
    /// projection differently from a `kubernetesResource` one.
    external: bool,
}

impl GlobalEntryData {
    /// Kyverno's `Entry.Get(projection)` (pkg/globalcontext/k8sresource,
    /// pkg/globalcontext/externalapi).
    fn get(&self, projection: &str) -> Result<Value, String> {
        if self.external {
            let value = if projection.is_empty() {
                Some(&self.data)
            } else {
                self.projected.get(projection)
            };
            return value
                .filter(|v| !v.is_null())
                .cloned()
                .ok_or_else(|| "no data available".to_string());
        }
        if projection.is_empty() {
            return Ok(self.data.clone());
        }
        self.projected
            .get(projection)
            .cloned()
            .ok_or_else(|| format!("projection {projection:?} not found"))
    }
}

/// `spec.projections` as (name, jmesPath) pairs.
fn projections_of(spec: &Value) -> Vec<(String, String)> {
    spec.get("projections")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let text = |k: &str| p.str_field(k).unwrap_or("").to_string();
            (text("name"), text("jmesPath"))
        })
        .collect()
}

/// Whether an API path names a review collection
/// (`/apis/authorization.k8s.io/v1[/namespaces/<ns>]/subjectaccessreviews`).
fn review_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["apis", group, _version, resource] => is_review_resource(group, resource),
        ["apis", group, _version, "namespaces", _, resource] => is_review_resource(group, resource),
        _ => false,
    }
}

/// `404 Not Found` as Go's `resp.Status` reads.
fn status_text(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}").trim_end().to_string()
}

fn selector_text(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    for expression in &selector.match_expressions {
        let values = expression.values.join(",");
        parts.push(match expression.operator.as_str() {
            "In" => format!("{} in ({values})", expression.key),
            "NotIn" => format!("{} notin ({values})", expression.key),
            "Exists" => expression.key.clone(),
            _ => format!("!{}", expression.key),
        });
    }
    parts.join(",")
}

impl ClusterData for ApiLookups {
    fn config_map(&self, namespace: &str, name: &str) -> Option<Value> {
        self.get(&format!("/api/v1/namespaces/{namespace}/configmaps/{name}"))
            .ok()
            .flatten()
    }

    fn api_call(&self, request: &ApiCallRequest) -> Result<Option<Value>, String> {
        if request.method == "POST" && review_path(&request.url_path) {
            let data = request.data.clone().unwrap_or_default();
            return self.post(&request.url_path, &data).map(Some);
        }
        if request.method != "GET" {
            // A scan reads; it does not create objects on the server.
            return Err(format!(
                "{} {}: polscan makes only GET API calls (and POSTs of reviews, which store nothing)",
                request.method, request.url_path
            ));
        }
        match self.get(&request.url_path)? {
            Some(value) => Ok(Some(value)),
            None => Err(format!(
                "failed to GET resource with raw url: {}: not found",
                request.url_path
            )),
        }
    }

    fn post_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        data: &Value,
    ) -> Result<Value, String> {
        if !is_review_resource(crate::kinds::group_of(api_version), resource) {
            return Err(format!(
                "{resource} ({api_version}): polscan creates no objects while auditing (only reviews such as subjectaccessreviews, which store nothing)"
            ));
        }
        let path = self.kind_path(api_version, resource, namespace)?;
        self.post(&path, data)
    }

    fn get_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, String> {
        let path = self.kind_path(api_version, resource, namespace)?;
        self.get(&format!("{path}/{name}"))
    }

    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<Value, String> {
        let path = self.kind_path(api_version, resource, namespace)?;
        let group = crate::kinds::group_of(api_version);
        let kind = self
            .discovered
            .find_plural(group, resource)
            .map(|k| k.kind.clone())
            .unwrap_or_default();
        // The list as the dynamic client's UnstructuredList reads it.
        let items = self.list_items(&path, api_version, &kind)?;
        Ok(serde_json::json!({
            "apiVersion": api_version,
            "kind": format!("{kind}List"),
            "metadata": {},
            "items": items,
        }))
    }

    fn params(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> Result<Vec<Value>, String> {
        let group = crate::kinds::group_of(api_version);
        let plural = self
            .discovered
            .find(group, kind)
            .map(|k| k.plural.clone())
            .ok_or_else(|| format!("params kind {kind} ({api_version}) is not served"))?;
        let path = self.kind_path(api_version, &plural, namespace)?;
        match name {
            Some(name) => Ok(self.get(&format!("{path}/{name}"))?.into_iter().collect()),
            None => {
                let selector = selector.map(selector_text).filter(|s| !s.is_empty());
                let list = self.list(&path, selector)?;
                Ok(list
                    .and_then(|mut l| match l.get_mut("items").map(Value::take) {
                        Some(Value::Array(items)) => Some(items),
                        _ => None,
                    })
                    .unwrap_or_default())
            }
        }
    }

    fn http(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.call_http(request)
    }

    /// Live calls: CEL sees the answer as kyverno/sdk's live `http` library
    /// shapes it.
    fn http_is_mocked(&self) -> bool {
        false
    }

    fn global_context(&self, name: &str, projection: &str) -> Result<Value, String> {
        let data = self.global_data(name)?;
        match data.as_ref() {
            Ok(data) => data.get(projection),
            Err(EntryError::NotStored(reason)) => {
                tracing::warn!(entry = name, %reason, "GlobalContextEntry could not be loaded");
                Err(missing_global_entry(name))
            }
            Err(EntryError::Failed(err)) => Err(err.clone()),
        }
    }

    fn image_data(&self, image: &str) -> Result<Value, String> {
        Err(format!(
            "image metadata for {image}: polscan does not contact image registries"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(external: bool) -> GlobalEntryData {
        GlobalEntryData {
            data: json!([{"metadata": {"name": "a"}}]),
            projected: [
                ("names".to_string(), json!(["a"])),
                ("none".to_string(), Value::Null),
            ]
            .into_iter()
            .collect(),
            external,
        }
    }

    #[test]
    fn entries_answer_as_kyvernos_store_does() {
        let resource = entry(false);
        assert_eq!(resource.get(""), Ok(json!([{"metadata": {"name": "a"}}])));
        assert_eq!(resource.get("names"), Ok(json!(["a"])));
        assert_eq!(resource.get("none"), Ok(Value::Null));
        assert_eq!(
            resource.get("other"),
            Err("projection \"other\" not found".to_string())
        );
        let external = entry(true);
        assert_eq!(external.get("names"), Ok(json!(["a"])));
        // externalapi answers "no data available" for a null or unknown
        // projection alike.
        assert_eq!(external.get("none"), Err("no data available".to_string()));
        assert_eq!(external.get("other"), Err("no data available".to_string()));
    }

    #[test]
    fn projections_and_statuses_read_as_kyverno_writes_them() {
        let spec = json!({"projections": [{"name": "hosts", "jmesPath": "items[].host"}]});
        assert_eq!(
            projections_of(&spec),
            vec![("hosts".to_string(), "items[].host".to_string())]
        );
        assert_eq!(status_text(404), "404 Not Found");
        assert!(review_path(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        ));
        assert!(review_path(
            "/apis/authorization.k8s.io/v1/namespaces/a/localsubjectaccessreviews?x=1"
        ));
        assert!(!review_path("/api/v1/namespaces/a/configmaps"));
        assert!(!review_path(
            "/apis/authorization.k8s.io/v1/namespaces/a/subjectaccessreviews/x"
        ));
        assert_eq!(status_text(599), "599");
    }
}
