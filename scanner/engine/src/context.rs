//! The JSON evaluation context of one rule on one resource: `request.*`,
//! `images`, `serviceAccountName`, foreach `element`s, supplied values and the
//! rule's `context` entries. Data enters through `add_*` calls and context
//! entries (loaded lazily when a query first names them, as Kyverno's deferred
//! loading does); values leave through `EvalContext::query`, which keeps
//! Kyverno's distinction between a missing key (an error) and a null value.

use std::sync::Arc;

use regex::Regex;
use serde_json::{Map, Value};

use crate::ValueExt;

use super::jmespath;
use super::variables::QueryError;
use super::variables::{self, SubstitutionError};

/// A rule's `context` entry, as a Kyverno policy declares it
/// (kyverno.io/v1 `ContextEntry`): one of the sources below, named.
#[derive(Debug, Clone, serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContextEntry {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) variable: Option<VariableEntry>,
    #[serde(default)]
    pub(crate) config_map: Option<Value>,
    #[serde(default)]
    pub(crate) api_call: Option<Value>,
    // Read as Kyverno's schema has it; loading it is not supported.
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) image_registry: Option<Value>,
    #[serde(default)]
    pub(crate) global_reference: Option<Value>,
}

/// A `context` entry's `variable`: a value, or a JMESPath over the
/// context, with a default.
#[derive(Debug, Clone, serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VariableEntry {
    #[serde(default)]
    pub(crate) value: Option<Value>,
    #[serde(default, rename = "jmesPath")]
    pub(crate) jmes_path: Option<String>,
    #[serde(default)]
    pub(crate) default: Option<Value>,
}

/// One `context.apiCall` to the Kubernetes API (`urlPath`), after variable
/// substitution. Kyverno: api/kyverno/v1 `APICall`, pkg/engine/apicall.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCallRequest {
    /// The path with its query, e.g. `/api/v1/namespaces/a/configmaps/b`.
    pub url_path: String,
    /// `GET` (the default) or `POST`.
    pub method: String,
    /// The request body of a POST (`apiCall.data`, as an object).
    pub data: Option<Value>,
}

/// One HTTP request: a `context.apiCall.service` call or a CEL `http.Get` /
/// `http.Post`. Kyverno: api/kyverno/v1 `ServiceCall`, pkg/cel/libs/http.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// An absolute `http(s)://` URL.
    pub url: String,
    /// Request headers in the order given.
    pub headers: Vec<(String, String)>,
    /// The request body of a POST.
    pub body: Option<Value>,
    /// PEM CA certificates to trust instead of the system's
    /// (`service.caBundle`, CEL `http.Client(caBundle)`).
    pub ca_bundle: Option<String>,
}

/// The answer to an [`HttpRequest`]: the status code and the decoded JSON
/// body (Kyverno decodes every answer as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The HTTP status, 100..=599.
    pub status: u16,
    /// The body decoded as JSON.
    pub body: Value,
}

/// Supplies data that a cluster would answer: ConfigMaps and API calls for
/// JMESPath context entries, HTTP calls, GlobalContextEntry data, and the
/// resource and image lookups of Kyverno's CEL libraries. Offline runs use
/// `NoClusterData`, which answers nothing, as the Kyverno CLI does without
/// a cluster; a test's files supply resources, image metadata, mocked HTTP
/// answers and global context entries.
///
/// `Ok(None)` means "no data source answers this" (the caller names the
/// entry as needing cluster data); `Err` is a failed load, which Kyverno
/// reports as an error result.
pub trait ClusterData: Send + Sync {
    /// The ConfigMap `namespace/name` a `context.configMap` entry names, as the
    /// whole object (its `data` and `metadata` are read); `None` when no source
    /// has it, and the rule's result is an error naming it as not found.
    fn config_map(&self, namespace: &str, name: &str) -> Option<Value>;

    /// A `context.apiCall` with `urlPath`: the decoded answer.
    fn api_call(&self, request: &ApiCallRequest) -> Result<Option<Value>, String>;

    /// An HTTP call (`apiCall.service`, CEL `http`). The default refuses:
    /// a scanner does not call arbitrary URLs unless told to.
    fn http(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        Err(format!(
            "{} {}: HTTP calls are not made in this run",
            request.method, request.url
        ))
    }

    /// A JMESPath `context.apiCall` with `service`: `Ok(None)` when this run
    /// does not load such entries at all (the Kyverno CLI without a cluster
    /// and without a mock for the URL skips them, so values may stand in:
    /// pkg/engine/factories/contextloaderfactory.go `newLoader`).
    fn service_call(&self, request: &HttpRequest) -> Result<Option<HttpResponse>, String> {
        self.http(request).map(Some)
    }

    /// A JMESPath `globalReference` entry: `Ok(None)` when this run has no
    /// global context store (the entry is skipped, as the Kyverno CLI does
    /// without `globalContextEntries`).
    fn global_reference(&self, name: &str, projection: &str) -> Result<Option<Value>, String> {
        self.global_context(name, projection).map(Some)
    }

    /// Whether [`ClusterData::http`] answers from a test's mocks (the Kyverno
    /// CLI's `apiCallResponses`) rather than live calls. CEL's `http`
    /// library shapes the two answers differently (pkg/cel/libs/http_mock.go
    /// and kyverno/sdk extensions/cel/libs/http/http.go).
    fn http_is_mocked(&self) -> bool {
        true
    }

    /// Whether `configMap` context entries load in this run. The Kyverno
    /// CLI without a cluster has no ConfigMap resolver and skips them.
    fn resolves_config_maps(&self) -> bool {
        true
    }

    /// Whether the run has the Kyverno CLI's `apiCallResponses` mocks: then
    /// every `apiCall` entry is substituted up front and the mocked ones
    /// load at once, before any other entry (store/contextloader.go).
    fn has_api_call_mocks(&self) -> bool {
        false
    }

    /// The mock for `method` and `url` (a service URL or a `urlPath`):
    /// `Ok` with the body, `Err` for a non-2xx mock. `None`: not mocked.
    fn api_call_mock(&self, _method: &str, _url: &str) -> Option<Result<Value, String>> {
        None
    }

    /// A GlobalContextEntry's data (`globalReference`, CEL
    /// `globalContext.Get`), or one of its projections when `projection` is
    /// not empty. Kyverno: pkg/globalcontext/store `Entry.Get`. An entry
    /// that does not exist is the error [`missing_global_entry`] (CEL then
    /// answers null, as Kyverno's context provider does).
    fn global_context(&self, name: &str, projection: &str) -> Result<Value, String> {
        let _ = projection;
        Err(missing_global_entry(name))
    }

    /// `resource.Get`: `Ok(None)` when the object does not exist.
    fn get_resource(
        &self,
        _api_version: &str,
        _resource: &str,
        _namespace: &str,
        _name: &str,
    ) -> Result<Option<Value>, String> {
        Ok(None)
    }

    /// `resource.Post`: the object as the server answers its creation.
    /// The default refuses: polscan does not create objects; a cluster
    /// answers only the review kinds, which store nothing
    /// ([`is_review_resource`]).
    fn post_resource(
        &self,
        api_version: &str,
        resource: &str,
        _namespace: &str,
        _data: &Value,
    ) -> Result<Value, String> {
        Err(format!(
            "{resource} ({api_version}): polscan does not create objects in this run"
        ))
    }

    /// `resource.List`: a list object (`{"items": [...]}`); an error when
    /// the resource type is unknown, as the Kyverno CLI reports it.
    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        _namespace: &str,
    ) -> Result<Value, String> {
        Err(format!(
            "{resource} ({api_version}) resource not found: no cluster and no context data"
        ))
    }

    /// Params objects of a CEL policy (`paramKind` + `paramRef`): the one
    /// named, or those the selector picks.
    fn params(
        &self,
        _api_version: &str,
        _kind: &str,
        _namespace: &str,
        _name: Option<&str>,
        _selector: Option<&crate::label_selector::LabelSelector>,
    ) -> Result<Vec<Value>, String> {
        Ok(Vec::new())
    }

    /// `image.GetMetadata`: the image's metadata (manifest, config, ...).
    fn image_data(&self, image: &str) -> Result<Value, String> {
        Err(format!("image data for {image} not found in the context"))
    }
}

/// Whether `resource` of `group` is a review (SubjectAccessReview,
/// TokenReview, ...): the server answers its creation and stores nothing,
/// so a scan may post it without changing the cluster.
pub fn is_review_resource(group: &str, resource: &str) -> bool {
    match group {
        "authorization.k8s.io" => matches!(
            resource,
            "subjectaccessreviews"
                | "localsubjectaccessreviews"
                | "selfsubjectaccessreviews"
                | "selfsubjectrulesreviews"
        ),
        "authentication.k8s.io" => matches!(resource, "tokenreviews" | "selfsubjectreviews"),
        _ => false,
    }
}

/// The error of a GlobalContextEntry that does not exist, as Kyverno's
/// globalReference loader words it (pkg/engine/context/loaders/globalcontext.go).
pub fn missing_global_entry(name: &str) -> String {
    format!("failed to fetch entry key={name}")
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NoClusterData;

impl ClusterData for NoClusterData {
    fn config_map(&self, _namespace: &str, _name: &str) -> Option<Value> {
        None
    }
    fn api_call(&self, _request: &ApiCallRequest) -> Result<Option<Value>, String> {
        Ok(None)
    }
    fn service_call(&self, _request: &HttpRequest) -> Result<Option<HttpResponse>, String> {
        Ok(None)
    }
    fn global_reference(&self, _name: &str, _projection: &str) -> Result<Option<Value>, String> {
        Ok(None)
    }
    fn resolves_config_maps(&self) -> bool {
        false
    }
}

#[derive(Clone)]
struct DeferredEntry {
    entry: ContextEntry,
    matcher: Regex,
    loaded: bool,
}

/// Why a context entry could not be loaded.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("failed to load context entry {name}: {message}")]
pub(crate) struct ContextLoadError {
    pub(crate) name: String,
    pub(crate) message: String,
}

/// The context's top-level entries (`request`, `images`, `element`, ...),
/// each shared: copying a context — one per foreach element — copies the
/// handles, not the resource inside `request`. A write copies only the
/// entry it changes (`Arc::make_mut`). Order is insertion order, as the
/// JSON document's keys were.
#[derive(Clone, Default)]
struct Entries(Vec<(String, Arc<Value>)>);

impl Entries {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| &**v)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.0
            .iter_mut()
            .find(|(key, _)| key == name)
            .map(|(_, v)| Arc::make_mut(v))
    }

    /// Replaces an entry in place, or appends a new one.
    fn insert(&mut self, name: &str, value: Value) {
        match self.0.iter_mut().find(|(key, _)| key == name) {
            Some((_, slot)) => *slot = Arc::new(value),
            None => self.0.push((name.to_string(), Arc::new(value))),
        }
    }

    /// The whole document as one JSON object (a copy).
    fn to_value(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(key, value)| (key.clone(), (**value).clone()))
                .collect(),
        )
    }

    /// The document converted for JMESPath.
    fn to_variable(&self) -> ::jmespath::Rcvar {
        ::jmespath::Rcvar::new(::jmespath::Variable::Object(
            self.0
                .iter()
                .map(|(key, value)| (key.clone(), jmespath::to_variable(value)))
                .collect(),
        ))
    }
}

#[derive(Clone)]
pub(crate) struct EvalContext {
    document: Entries,
    deferred: Vec<DeferredEntry>,
    /// Entries at or after this index are invisible while an entry loads.
    load_limit: Option<usize>,
    /// Entries that offline runs cannot answer, named in NotFound errors.
    unanswered: Vec<(String, String)>,
    cluster: Arc<dyn ClusterData>,
    policy_namespace: Option<String>,
    /// The document converted for JMESPath, reused until the next change.
    converted: Option<::jmespath::Rcvar>,
}

impl std::fmt::Debug for EvalContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalContext")
            .field("document", &self.document.to_value())
            .finish_non_exhaustive()
    }
}

impl EvalContext {
    pub(crate) fn new(cluster: Arc<dyn ClusterData>) -> EvalContext {
        EvalContext {
            document: Entries::default(),
            deferred: Vec::new(),
            load_limit: None,
            unanswered: Vec::new(),
            cluster,
            policy_namespace: None,
            converted: None,
        }
    }

    pub(crate) fn set_policy_namespace(&mut self, namespace: Option<String>) {
        self.policy_namespace = namespace;
    }

    /// The data source for cluster lookups.
    pub(crate) fn cluster(&self) -> &Arc<dyn ClusterData> {
        &self.cluster
    }

    /// A top-level entry (`request`, `element`, a context entry's name).
    pub(crate) fn entry(&self, name: &str) -> Option<&Value> {
        self.document.get(name)
    }

    /// The whole document as one JSON object: a copy, for tests and
    /// debugging.
    #[cfg(test)]
    pub(crate) fn document(&self) -> Value {
        self.document.to_value()
    }

    /// Deep-merges `value` at the dotted path `key` (Kyverno's `AddVariable`;
    /// quoted segments may hold dots).
    pub(crate) fn add_variable(&mut self, key: &str, value: Value) {
        let path = split_dotted(key);
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let mut wrapped = value;
        for segment in rest.iter().rev() {
            let mut map = Map::new();
            map.insert(segment.clone(), wrapped);
            wrapped = Value::Object(map);
        }
        match self.document.get_mut(first) {
            Some(existing) if existing.is_object() && wrapped.is_object() => {
                merge(existing, wrapped)
            }
            _ => self.document.insert(first, wrapped),
        }
        self.converted = None;
    }

    /// Replaces a top-level entry (context entries, `images`, `element`).
    /// A JMESPath conversion already made is kept up to date by converting
    /// only the new entry: foreach element contexts are copies of their
    /// rule's, and re-converting the whole resource for each element was
    /// most of a foreach's cost.
    pub(crate) fn set_entry(&mut self, name: &str, value: Value) {
        self.converted = match self.converted.take() {
            Some(converted) => match &*converted {
                ::jmespath::Variable::Object(entries) => {
                    let mut entries = entries.clone();
                    entries.insert(name.to_string(), jmespath::to_variable(&value));
                    Some(::jmespath::Rcvar::new(::jmespath::Variable::Object(
                        entries,
                    )))
                }
                _ => None,
            },
            None => None,
        };
        self.document.insert(name, value);
    }

    /// Converts the document for JMESPath now, so that copies made next
    /// (foreach elements) share the conversion instead of each making it.
    pub(crate) fn convert_for_queries(&mut self) {
        if self.converted.is_none() {
            self.converted = Some(self.document.to_variable());
        }
    }

    /// Kyverno's `AddElement`: `element`, `elementN`, `elementIndex`, `elementIndexN`.
    pub(crate) fn add_element(&mut self, element: Value, index: usize, nesting: usize) {
        self.set_entry("element", element.clone());
        self.set_entry(&format!("element{nesting}"), element);
        self.set_entry("elementIndex", Value::from(index as u64));
        self.set_entry(&format!("elementIndex{nesting}"), Value::from(index as u64));
    }

    /// Registers context entries; each loads when a query first names it.
    /// With `apiCallResponses` mocks in the run, the Kyverno CLI first
    /// substitutes every `apiCall` entry in order and loads the mocked ones
    /// (store/contextloader.go `wrapper.Load`): a substitution that fails
    /// (say, on a variable entry not loaded yet) or a non-2xx mock fails
    /// the whole load, and a mocked entry's `default` and the namespaced
    /// policy's path check do not apply.
    ///
    /// # Errors
    /// A [`ContextLoadError`] for the entry that failed, which Kyverno
    /// reports as the rule's error ("failed to load context").
    pub(crate) fn add_entries(&mut self, entries: &[ContextEntry]) -> Result<(), ContextLoadError> {
        let mut remaining: Vec<&ContextEntry> = Vec::with_capacity(entries.len());
        if self.cluster.has_api_call_mocks() {
            for entry in entries {
                match &entry.api_call {
                    Some(api_call) => {
                        let fail = |message: String| ContextLoadError {
                            name: entry.name.clone(),
                            message,
                        };
                        let call = variables::substitute_all(self, api_call).map_err(|err| {
                            fail(format!(
                                "failed to substitute variables in apiCall context entry {:?}: {err}",
                                entry.name
                            ))
                        })?;
                        match self.mocked_api_call(&call) {
                            Some(answer) => {
                                let value = answer.map_err(fail)?;
                                self.set_entry(&entry.name, value);
                            }
                            None => remaining.push(entry),
                        }
                    }
                    None => remaining.push(entry),
                }
            }
        } else {
            remaining.extend(entries);
        }
        for entry in remaining {
            let answerable = entry.variable.is_some()
                || entry.config_map.is_some()
                || entry.api_call.is_some()
                || entry.global_reference.is_some();
            if !answerable {
                self.unanswered
                    .push((entry.name.clone(), source_hint(entry)));
                continue;
            }
            let pattern = format!(
                r"(?:\A|\z|\s|[^.0-9A-Za-z]){}\b",
                regex::escape(&entry.name)
            );
            match Regex::new(&pattern) {
                Ok(matcher) => self.deferred.push(DeferredEntry {
                    entry: entry.clone(),
                    matcher,
                    loaded: false,
                }),
                Err(_) => self
                    .unanswered
                    .push((entry.name.clone(), source_hint(entry))),
            }
        }
        Ok(())
    }

    /// The mock answering a substituted apiCall, with its `jmesPath`
    /// applied; `None` when no mock answers it.
    fn mocked_api_call(&self, call: &Value) -> Option<Result<Value, String>> {
        let service_url = call.str_at("/service/url").filter(|u| !u.is_empty());
        let url = service_url.or_else(|| call.str_field("urlPath").filter(|u| !u.is_empty()))?;
        let answer = self.cluster.api_call_mock(method_of(call), url)?;
        Some(answer.and_then(|body| {
            match call.str_field("jmesPath") {
                Some(path) if !path.is_empty() => jmespath::search(path, &body)
                    .map_err(|err| format!("failed to apply JMESPath {path:?}: {err}")),
                _ => Ok(body),
            }
        }))
    }

    /// Evaluates a JMESPath query against the context.
    pub(crate) fn query(&mut self, expression: &str) -> Result<Value, QueryError> {
        let expression = expression.trim();
        if expression.is_empty() {
            return Err(QueryError::Invalid("invalid query (nil)".into()));
        }
        self.load_matching(expression)?;
        let result = match plain_lookup(expression, &self.document) {
            Some(result) => result,
            None => {
                let converted = self
                    .converted
                    .get_or_insert_with(|| self.document.to_variable());
                jmespath::search_variable(expression, converted).map_err(from_jmespath)
            }
        };
        match result {
            Err(QueryError::NotFound { key, .. }) => {
                let hint = match self.unanswered.iter().find(|(name, _)| *name == key) {
                    Some((_, source)) => format!(
                        " (context entry {key:?} needs {source}, or its value in a values file)"
                    ),
                    None => String::new(),
                };
                Err(QueryError::NotFound { key, hint })
            }
            other => other,
        }
    }

    fn load_matching(&mut self, expression: &str) -> Result<(), QueryError> {
        let limit = self
            .load_limit
            .unwrap_or(self.deferred.len())
            .min(self.deferred.len());
        for index in 0..limit {
            let candidate = &self.deferred[index];
            if !candidate.loaded && candidate.matcher.is_match(expression) {
                self.load_at(index)
                    .map_err(|err| QueryError::Invalid(err.to_string()))?;
            }
        }
        Ok(())
    }

    /// Loads entry `index`; while it loads only earlier entries are visible,
    /// as in Kyverno's deferred loader.
    fn load_at(&mut self, index: usize) -> Result<(), ContextLoadError> {
        self.deferred[index].loaded = true;
        let entry = self.deferred[index].entry.clone();
        let saved = self.load_limit;
        self.load_limit = Some(index);
        let result = self.load_entry(&entry);
        self.load_limit = saved;
        result
    }

    fn load_entry(&mut self, entry: &ContextEntry) -> Result<(), ContextLoadError> {
        let fail = |message: String| ContextLoadError {
            name: entry.name.clone(),
            message,
        };
        if let Some(variable) = &entry.variable {
            let value = self.load_variable(&entry.name, variable).map_err(fail)?;
            self.set_entry(&entry.name, value);
            return Ok(());
        }
        if let Some(config_map) = &entry.config_map {
            // Kyverno's configMap loader (loaders/configmap.go): skipped
            // without a resolver; a namespaced policy reads only its own
            // namespace; a missing ConfigMap is an error; the entry holds
            // `data` and `metadata`.
            if !self.cluster.resolves_config_maps() {
                self.unanswered
                    .push((entry.name.clone(), source_hint(entry)));
                return Ok(());
            }
            let resolved =
                variables::substitute_all(self, config_map).map_err(|err| fail(err.to_string()))?;
            let name = resolved.str_field("name").unwrap_or("");
            let namespace = resolved
                .str_field("namespace")
                .filter(|ns| !ns.is_empty())
                .map(str::to_string)
                .or_else(|| self.policy_namespace.clone())
                .unwrap_or_else(|| "default".to_string());
            if let Some(own) = &self.policy_namespace {
                if &namespace != own {
                    return Err(fail(format!(
                        "context entry {}: configMap namespace {namespace:?} is different from policy namespace {own:?}",
                        entry.name
                    )));
                }
            }
            match self.cluster.config_map(&namespace, name) {
                Some(object) => {
                    let data = serde_json::json!({
                        "data": object.get("data").cloned().unwrap_or(Value::Null),
                        "metadata": object.get("metadata").cloned().unwrap_or(Value::Null),
                    });
                    self.set_entry(&entry.name, data);
                }
                None => {
                    return Err(fail(format!(
                        "failed to get configmap {namespace}/{name} : configmaps {name:?} not found"
                    )))
                }
            }
            return Ok(());
        }
        if let Some(api_call) = &entry.api_call {
            if let Some(value) = self.load_api_call(api_call).map_err(fail)? {
                self.set_entry(&entry.name, value);
            } else {
                // Name the URL the call would have made, variables resolved.
                let mut resolved = entry.clone();
                if let Ok(call) = variables::substitute_all(self, api_call) {
                    resolved.api_call = Some(call);
                }
                self.unanswered
                    .push((entry.name.clone(), source_hint(&resolved)));
            }
            return Ok(());
        }
        if let Some(reference) = &entry.global_reference {
            match self.load_global_reference(reference).map_err(fail)? {
                Some(value) => self.set_entry(&entry.name, value),
                None => self
                    .unanswered
                    .push((entry.name.clone(), source_hint(entry))),
            }
        }
        Ok(())
    }

    /// Kyverno's apiCall loader (pkg/engine/context/loaders/apicall.go,
    /// pkg/engine/apicall): substitute, call (`urlPath` through the cluster,
    /// `service` over HTTP, a non-2xx answer an error), fall back to
    /// `default` on a failed call, then apply `jmesPath`. `Ok(None)`: no data
    /// source answers `urlPath` in this run.
    fn load_api_call(&mut self, api_call: &Value) -> Result<Option<Value>, String> {
        // jmesPath is substituted after the call, against the context then.
        let mut call = api_call.clone();
        let jmes_path = call
            .as_object_mut()
            .and_then(|call| call.remove("jmesPath"));
        let default = call.as_object_mut().and_then(|call| call.remove("default"));
        let resolved = variables::substitute_all(self, &call)
            .map_err(|err| format!("failed to substitute variables in context entry: {err}"))?;
        let method = method_of(&resolved).to_string();
        let data = request_data(resolved.get("data"));
        let url_path = resolved.str_field("urlPath").unwrap_or("");
        // Every call of a namespaced policy, a service call too (whose
        // empty path cleans to "."), before any default applies.
        if let Some(namespace) = &self.policy_namespace {
            check_policy_namespace(url_path, namespace)?;
        }
        let answer = if !url_path.is_empty() {
            let request = ApiCallRequest {
                url_path: url_path.to_string(),
                method: method.clone(),
                data: (method == "POST").then_some(data),
            };
            self.cluster.api_call(&request)
        } else if let Some(service) = resolved.get("service") {
            let url = service.str_field("url").unwrap_or("");
            if method != "GET" && method != "POST" {
                return Err(format!("invalid request type {method} for APICall"));
            }
            let headers = service
                .get("headers")
                .and_then(Value::as_array)
                .map(|headers| {
                    headers
                        .iter()
                        .map(|header| {
                            let text = |key: &str| header.str_field(key).unwrap_or("").to_string();
                            (text("key"), text("value"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let request = HttpRequest {
                method: method.clone(),
                url: url.to_string(),
                headers,
                body: (method == "POST").then_some(data),
                ca_bundle: service
                    .str_field("caBundle")
                    .filter(|bundle| !bundle.is_empty())
                    .map(str::to_string),
            };
            match self.cluster.service_call(&request) {
                Ok(Some(response)) if (200..300).contains(&response.status) => {
                    Ok(Some(response.body))
                }
                Ok(Some(response)) => Err(format!("HTTP {}: {}", response.status, response.body)),
                Ok(None) => Ok(None),
                Err(err) => Err(err),
            }
        } else {
            return Err("missing service for APICall".to_string());
        };
        let response = match answer {
            Ok(Some(response)) => response,
            Ok(None) => return Ok(None),
            Err(err) => match default {
                // Kyverno stores the default as is: no jmesPath on it.
                Some(default) => return Ok(Some(default)),
                None => return Err(err),
            },
        };
        match jmes_path {
            Some(Value::String(path)) if !path.is_empty() => {
                let path = variables::substitute_all(self, &Value::String(path.clone())).map_err(
                    |err| format!("failed to substitute variables in JMESPath {path}: {err}"),
                )?;
                let path = path.as_str().unwrap_or_default().to_string();
                jmespath::search(&path, &response)
                    .map(Some)
                    .map_err(|err| format!("failed to apply JMESPath {path}: {err}"))
            }
            _ => Ok(Some(response)),
        }
    }

    /// Kyverno's globalReference loader
    /// (pkg/engine/context/loaders/globalcontext.go): `name` is
    /// `<entry>[.<projection>]`, then `jmesPath` applies.
    fn load_global_reference(&mut self, reference: &Value) -> Result<Option<Value>, String> {
        let resolved = variables::substitute_all(self, reference)
            .map_err(|err| format!("failed to substitute variables: {err}"))?;
        let name = resolved.str_field("name").unwrap_or("");
        let (entry, projection) = name.split_once('.').unwrap_or((name, ""));
        // Kyverno splits on every dot and reads only the first two parts.
        let projection = projection.split('.').next().unwrap_or("");
        let Some(data) = self.cluster.global_reference(entry, projection)? else {
            return Ok(None);
        };
        match resolved.str_field("jmesPath") {
            Some(path) if !path.is_empty() => jmespath::search(path, &data)
                .map(Some)
                .map_err(|err| format!("failed to apply JMESPath {path}: {err}")),
            _ => Ok(Some(data)),
        }
    }

    /// Kyverno's variable loader: `value` (substituted), optionally filtered
    /// by `jmesPath`, else `jmesPath` on the context, else `default`.
    fn load_variable(&mut self, name: &str, variable: &VariableEntry) -> Result<Value, String> {
        let path = match &variable.jmes_path {
            Some(path) if !path.is_empty() => {
                let substituted = variables::substitute_all(self, &Value::String(path.clone()))
                    .map_err(|err| {
                        format!(
                            "failed to substitute variables in context entry {name} {path}: {err}"
                        )
                    })?;
                match substituted {
                    Value::String(s) => Some(s),
                    _ => return Err(format!("jmespath value must be a string {name} {path}")),
                }
            }
            _ => None,
        };
        let default = match &variable.default {
            Some(default) => Some(variables::substitute_all(self, default).map_err(|err| {
                format!("failed to substitute variables in context entry {name}: {err}")
            })?),
            None => None,
        };
        let mut output = default.clone().unwrap_or(Value::Null);
        if let Some(value) = &variable.value {
            let substituted = variables::substitute_all(self, value).map_err(|err| {
                format!("failed to substitute variables in context entry {name}: {err}")
            })?;
            match &path {
                Some(path) => match jmespath::search(path, &substituted) {
                    Ok(found) => output = found,
                    Err(err) if default.is_none() => {
                        return Err(format!(
                            "failed to apply jmespath {path} to variable: {err}"
                        ))
                    }
                    Err(_) => {}
                },
                None => output = substituted,
            }
        } else if let Some(path) = &path {
            match self.query(path) {
                Ok(found) => {
                    if !found.is_null() {
                        output = found;
                    }
                }
                Err(err) if default.is_none() => {
                    return Err(format!(
                        "failed to apply jmespath {path} to variable: {err}"
                    ))
                }
                Err(_) => {}
            }
        }
        if output.is_null() {
            return Err(format!(
                "failed to add context entry for variable {name} since it evaluated to nil"
            ));
        }
        Ok(output)
    }
}

impl From<QueryError> for SubstitutionError {
    fn from(err: QueryError) -> Self {
        SubstitutionError::Query(err)
    }
}

/// Splits `a.b."c.d"` into segments, as Go's csv reader with `.` does.
fn split_dotted(key: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => segments.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    segments.push(current);
    segments
}

fn merge(target: &mut Value, source: Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (target, source) => *target = source,
    }
}

/// One step of a plain path expression.
enum Step {
    Field(String),
    Index(i64),
}

/// Parses `a.b[0]."c-d"` style paths; `None` for anything richer, which goes
/// to the JMESPath interpreter.
fn plain_path(expression: &str) -> Option<Vec<Step>> {
    let bytes = expression.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    let mut expect_field = true;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if expect_field {
            if c == '"' {
                let end = expression[i + 1..].find('"')? + i + 1;
                let name = &expression[i + 1..end];
                if name.contains('\\') {
                    return None;
                }
                steps.push(Step::Field(name.to_string()));
                i = end + 1;
            } else if c.is_ascii_alphabetic() || c == '_' {
                let start = i;
                while i < bytes.len()
                    && ((bytes[i] as char).is_ascii_alphanumeric() || bytes[i] == b'_')
                {
                    i += 1;
                }
                steps.push(Step::Field(expression[start..i].to_string()));
            } else {
                return None;
            }
            expect_field = false;
            continue;
        }
        match c {
            '.' => {
                expect_field = true;
                i += 1;
            }
            '[' => {
                let end = expression[i..].find(']')? + i;
                let index: i64 = expression[i + 1..end].trim().parse().ok()?;
                steps.push(Step::Index(index));
                i = end + 1;
            }
            _ => return None,
        }
    }
    if expect_field || steps.is_empty() {
        return None;
    }
    Some(steps)
}

fn from_jmespath(err: jmespath::JmespathError) -> QueryError {
    match err {
        jmespath::JmespathError::NotFound { key, .. } => QueryError::NotFound {
            key,
            hint: String::new(),
        },
        other => QueryError::Invalid(other.to_string()),
    }
}

/// Resolves plain paths (`a.b[0]."c-d"`) directly on the JSON, with
/// Kyverno's NotFound behaviour; `None` for richer expressions.
fn plain_lookup(expression: &str, document: &Entries) -> Option<Result<Value, QueryError>> {
    let steps = plain_path(expression)?;
    // plain_path starts with a field: the top-level entry.
    let Some((Step::Field(first), rest)) = steps.split_first() else {
        return None;
    };
    Some(match document.get(first) {
        Some(entry) => walk(entry, rest),
        None => Err(QueryError::NotFound {
            key: first.clone(),
            hint: String::new(),
        }),
    })
}

/// Follows plain path steps from `current`.
fn walk(mut current: &Value, steps: &[Step]) -> Result<Value, QueryError> {
    for step in steps {
        match step {
            Step::Field(name) => match current {
                Value::Object(map) => match map.get(name) {
                    Some(next) => current = next,
                    None => {
                        return Err(QueryError::NotFound {
                            key: name.clone(),
                            hint: String::new(),
                        })
                    }
                },
                _ => return Ok(Value::Null),
            },
            Step::Index(index) => match current {
                Value::Array(items) => {
                    let len = items.len() as i64;
                    let at = if *index < 0 { index + len } else { *index };
                    match usize::try_from(at).ok().and_then(|at| items.get(at)) {
                        Some(next) => current = next,
                        None => return Ok(Value::Null),
                    }
                }
                _ => return Ok(Value::Null),
            },
        }
    }
    Ok(current.clone())
}

/// Evaluates with Kyverno's NotFound behaviour.
/// An apiCall's method; `GET` when none is given (the CRD's default).
fn method_of(call: &Value) -> &str {
    match call.str_field("method") {
        None | Some("") => "GET",
        Some(method) => method,
    }
}

/// What would answer an entry this run could not load, for the error.
fn source_hint(entry: &ContextEntry) -> String {
    let text = |value: &Option<Value>, pointer: &str| {
        value
            .as_ref()
            .and_then(|v| v.str_at(pointer))
            .unwrap_or("")
            .to_string()
    };
    if entry.config_map.is_some() {
        "a cluster (kyverno-test.yaml clusterResources)".to_string()
    } else if entry.api_call.is_some() {
        let url = text(&entry.api_call, "/service/url");
        if url.is_empty() {
            format!(
                "a cluster or a mock for {} (kyverno-test.yaml clusterResources or apiCallResponses)",
                text(&entry.api_call, "/urlPath")
            )
        } else {
            format!("a mock for {url} (kyverno-test.yaml apiCallResponses)")
        }
    } else if entry.global_reference.is_some() {
        format!(
            "a GlobalContextEntry {} (kyverno-test.yaml globalContextEntries)",
            text(&entry.global_reference, "/name")
        )
    } else {
        "cluster data".to_string()
    }
}

/// `apiCall.data` (a list of `{key, value}`) as the JSON object Kyverno
/// posts (pkg/engine/apicall/executor.go `buildRequestData`).
fn request_data(data: Option<&Value>) -> Value {
    let mut object = Map::new();
    for item in data.and_then(Value::as_array).into_iter().flatten() {
        let key = item.str_field("key").unwrap_or("");
        object.insert(
            key.to_string(),
            item.get("value").cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(object)
}

/// A namespaced policy's apiCall may read only its own namespace
/// (pkg/engine/apicall/apiCall.go `Fetch`). The namespace is read from
/// the path alone, before any `?`: Kyverno's regex runs over the query
/// too, where `/api/v1/secrets?x=/namespaces/shop` named the policy's own
/// namespace while the request listed every namespace's Secrets (secret56
/// S56-3). Stricter than Kyverno on purpose: the scanner's read rights
/// are wider than a tenant's.
fn check_policy_namespace(url_path: &str, namespace: &str) -> Result<(), String> {
    let path = url_path.split('?').next().unwrap_or(url_path);
    let clean = clean_path(path);
    // Kyverno's regex: ^/api(s)?/.*?/namespaces/([^/]+)
    let api = clean.starts_with("/api/") || clean.starts_with("/apis/");
    let found = clean
        .split('/')
        .skip(2)
        .skip_while(|segment| *segment != "namespaces")
        .nth(1)
        .filter(|_| api);
    match found {
        Some(ns) if !ns.is_empty() => {
            if ns == namespace {
                Ok(())
            } else {
                Err(format!("path {clean} refers to namespace {ns}, which is different from the policy namespace {namespace}"))
            }
        }
        _ => Err(format!("path {clean} does not contain a namespace segment, which is required for namespaced policies")),
    }
}

/// Go's `path.Clean` for absolute API paths: `.` and `..` resolved, no
/// doubled or trailing slash.
fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if path.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

impl variables::Lookup for EvalContext {
    fn query(&mut self, expression: &str) -> Result<Value, QueryError> {
        EvalContext::query(self, expression)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> EvalContext {
        let mut ctx = EvalContext::new(Arc::new(NoClusterData));
        ctx.add_variable("request.object", json!({"metadata": {"name": "web", "labels": {"app": "x"}}, "spec": {"containers": [{"name": "c"}]}}));
        ctx
    }

    #[test]
    fn entries_set_after_a_conversion_are_seen_as_by_a_fresh_conversion() {
        // A copy of a converted context (a foreach element's) gets its new
        // entries converted alone; queries must answer as if the whole
        // document had been converted again.
        let mut parent = context();
        parent.set_entry("element", json!({"name": "old"}));
        parent.convert_for_queries();
        let mut copy = parent.clone();
        copy.set_entry("element", json!({"name": "c", "ports": [1, 2]}));
        copy.set_entry("elementIndex", json!(0));
        let mut fresh = EvalContext::new(Arc::new(NoClusterData));
        fresh.add_variable("request", copy.document()["request"].clone());
        fresh.set_entry("element", json!({"name": "c", "ports": [1, 2]}));
        fresh.set_entry("elementIndex", json!(0));
        for query in [
            "element.ports[] | length(@)",
            "join(',', [element.name, request.object.metadata.name])",
            "elementIndex || `7`",
            "request.object.spec.containers[].name",
        ] {
            assert_eq!(copy.query(query), fresh.query(query), "{query}");
        }
        assert_eq!(copy.query("element.name | to_upper(@)"), Ok(json!("C")));
        assert_eq!(parent.query("element.name | to_upper(@)"), Ok(json!("OLD")));
    }

    /// Records every request and answers from fixed tables.
    #[derive(Default)]
    struct Recorder {
        seen: std::sync::Mutex<Vec<String>>,
        http_status: u16,
    }

    impl ClusterData for Recorder {
        fn config_map(&self, _namespace: &str, _name: &str) -> Option<Value> {
            None
        }
        fn api_call(&self, request: &ApiCallRequest) -> Result<Option<Value>, String> {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(format!(
                    "{} {} {:?}",
                    request.method, request.url_path, request.data
                ));
            }
            if request.url_path.contains("missing") {
                return Err("not found".into());
            }
            Ok(Some(json!({"items": [{"name": "a"}, {"name": "b"}]})))
        }
        fn http(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(format!(
                    "{} {} {:?} {:?}",
                    request.method, request.url, request.headers, request.body
                ));
            }
            Ok(HttpResponse {
                status: self.http_status,
                body: json!({"host": "registry.test"}),
            })
        }
        fn global_context(&self, name: &str, projection: &str) -> Result<Value, String> {
            match (name, projection) {
                ("teams", "") => Ok(json!({"names": ["x", "y"]})),
                ("teams", "names") => Ok(json!(["x", "y"])),
                _ => Err(format!("failed to fetch entry key={name}")),
            }
        }
    }

    fn entry(value: Value) -> ContextEntry {
        serde_json::from_value(value).expect("entry")
    }

    fn with(recorder: Recorder, entries: Value) -> (EvalContext, Arc<Recorder>) {
        let recorder = Arc::new(recorder);
        let mut ctx = EvalContext::new(recorder.clone());
        ctx.add_variable("request.object", json!({"metadata": {"namespace": "shop"}}));
        let entries: Vec<ContextEntry> = entries
            .as_array()
            .expect("list")
            .iter()
            .cloned()
            .map(entry)
            .collect();
        ctx.add_entries(&entries).expect("entries");
        (ctx, recorder)
    }

    #[test]
    fn api_calls_substitute_then_apply_jmes_path() {
        let (mut ctx, recorder) = with(
            Recorder::default(),
            json!([{"name": "names", "apiCall": {
                "urlPath": "/api/v1/namespaces/{{request.object.metadata.namespace}}/pods",
                "jmesPath": "items[].name"}}]),
        );
        assert_eq!(ctx.query("names"), Ok(json!(["a", "b"])));
        assert_eq!(
            recorder.seen.lock().expect("lock").as_slice(),
            ["GET /api/v1/namespaces/shop/pods None"]
        );
    }

    #[test]
    fn a_post_sends_its_data_as_an_object() {
        let (mut ctx, recorder) = with(
            Recorder::default(),
            json!([{"name": "review", "apiCall": {
                "urlPath": "/apis/authorization.k8s.io/v1/subjectaccessreviews", "method": "POST",
                "data": [{"key": "kind", "value": "SubjectAccessReview"}, {"key": "spec", "value": {"user": "u"}}]}}]),
        );
        assert!(ctx.query("review").is_ok());
        let seen = recorder.seen.lock().expect("lock").join("");
        assert!(
            seen.contains("POST /apis/authorization.k8s.io/v1/subjectaccessreviews")
                && seen.contains("\"kind\": String(\"SubjectAccessReview\")"),
            "{seen}"
        );
    }

    #[test]
    fn a_failed_call_uses_the_default_else_errors() {
        let (mut ctx, _) = with(
            Recorder::default(),
            json!([
                {"name": "withDefault", "apiCall": {"urlPath": "/api/v1/missing", "default": {"fallback": true}, "jmesPath": "items"}},
                {"name": "without", "apiCall": {"urlPath": "/api/v1/missing"}}
            ]),
        );
        assert_eq!(ctx.query("withDefault"), Ok(json!({"fallback": true})));
        let err = ctx.query("without").expect_err("no default");
        assert!(err.to_string().contains("not found"), "{err}");
    }

    #[test]
    fn service_calls_send_headers_and_reject_non_2xx() {
        let (mut ctx, recorder) = with(
            Recorder {
                http_status: 200,
                ..Recorder::default()
            },
            json!([{"name": "host", "apiCall": {"method": "GET",
                "service": {"url": "https://catalog.test/host", "headers": [{"key": "X-Team", "value": "a"}]},
                "jmesPath": "host"}}]),
        );
        assert_eq!(ctx.query("host"), Ok(json!("registry.test")));
        let seen = recorder.seen.lock().expect("lock").join("");
        assert!(
            seen.contains("GET https://catalog.test/host [(\"X-Team\", \"a\")] None"),
            "{seen}"
        );
        let (mut ctx, _) = with(
            Recorder {
                http_status: 503,
                ..Recorder::default()
            },
            json!([{"name": "host", "apiCall": {"service": {"url": "https://catalog.test/host"}}}]),
        );
        let err = ctx.query("host").expect_err("503");
        assert!(err.to_string().contains("HTTP 503"), "{err}");
    }

    #[test]
    fn a_namespaced_policy_reads_only_its_namespace() {
        let (mut ctx, _) = with(
            Recorder::default(),
            json!([
                {"name": "own", "apiCall": {"urlPath": "/api/v1/namespaces/shop/pods"}},
                {"name": "other", "apiCall": {"urlPath": "/api/v1/namespaces/shop/../bank/pods"}},
                {"name": "cluster", "apiCall": {"urlPath": "/api/v1/nodes"}}
            ]),
        );
        ctx.set_policy_namespace(Some("shop".into()));
        assert!(ctx.query("own").is_ok());
        // secret56 S56-3: the namespace is read from the path, not the
        // query.
        for (path, allowed) in [
            ("/api/v1/namespaces/shop/pods?labelSelector=a=b", true),
            ("/api/v1/secrets?x=/namespaces/shop", false),
        ] {
            let (mut ctx, _) = with(
                Recorder::default(),
                json!([{"name": "q", "apiCall": {"urlPath": path}}]),
            );
            ctx.set_policy_namespace(Some("shop".into()));
            let got = ctx.query("q");
            assert_eq!(got.is_ok(), allowed, "{path}: {got:?}");
            if !allowed {
                assert!(
                    format!("{got:?}").contains("does not contain a namespace segment"),
                    "{got:?}"
                );
            }
        }
        let other = ctx.query("other").expect_err("other namespace");
        assert!(
            other.to_string().contains(
                "refers to namespace bank, which is different from the policy namespace shop"
            ),
            "{other}"
        );
        let cluster = ctx.query("cluster").expect_err("no namespace");
        assert!(cluster
            .to_string()
            .contains("does not contain a namespace segment"));
        // A service call has no path: it fails the check too, default or not.
        let (mut ctx, _) = with(
            Recorder {
                http_status: 200,
                ..Recorder::default()
            },
            json!([{"name": "svc", "apiCall": {"service": {"url": "https://a.test"}, "default": "x"}}]),
        );
        ctx.set_policy_namespace(Some("shop".into()));
        let svc = ctx.query("svc").expect_err("namespaced service call");
        assert!(
            svc.to_string()
                .contains("path . does not contain a namespace segment"),
            "{svc}"
        );
    }

    #[test]
    fn global_references_read_an_entry_or_its_projection() {
        let (mut ctx, _) = with(
            Recorder::default(),
            json!([
                {"name": "all", "globalReference": {"name": "teams", "jmesPath": "names[0]"}},
                {"name": "projected", "globalReference": {"name": "teams.names"}},
                {"name": "absent", "globalReference": {"name": "nothing"}}
            ]),
        );
        assert_eq!(ctx.query("all"), Ok(json!("x")));
        assert_eq!(ctx.query("projected"), Ok(json!(["x", "y"])));
        let err = ctx.query("absent").expect_err("missing entry");
        assert!(
            err.to_string()
                .contains("failed to fetch entry key=nothing"),
            "{err}"
        );
    }

    #[test]
    fn without_a_source_entries_are_skipped_and_named() {
        let mut ctx = EvalContext::new(Arc::new(NoClusterData));
        ctx.add_variable("host", json!("a.test"));
        ctx.add_entries(&[
            entry(json!({"name": "svc", "apiCall": {"service": {"url": "https://{{ host }}"}}})),
            entry(json!({"name": "global", "globalReference": {"name": "e"}})),
        ])
        .expect("entries");
        for (name, source) in [
            (
                "svc",
                "a mock for https://a.test (kyverno-test.yaml apiCallResponses)",
            ),
            (
                "global",
                "a GlobalContextEntry e (kyverno-test.yaml globalContextEntries)",
            ),
        ] {
            match ctx.query(name) {
                Err(QueryError::NotFound { key, hint }) => {
                    assert_eq!(key, name);
                    assert!(hint.contains(source), "{hint}");
                    assert!(hint.contains("values file"), "{hint}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn missing_keys_are_not_found_but_nulls_are_null() {
        let mut ctx = context();
        assert_eq!(ctx.query("request.object.metadata.name"), Ok(json!("web")));
        assert!(matches!(
            ctx.query("request.object.metadata.labels.team"),
            Err(QueryError::NotFound { key, .. }) if key == "team"
        ));
        assert_eq!(
            ctx.query("request.object.spec.containers[0].name"),
            Ok(json!("c"))
        );
        assert_eq!(
            ctx.query("request.object.spec.containers[5]"),
            Ok(Value::Null)
        );
        assert_eq!(ctx.query("request.object.metadata.name.x"), Ok(Value::Null));
    }

    #[test]
    fn add_variable_merges_dotted_paths() {
        let mut ctx = context();
        ctx.add_variable("request.object.metadata.namespace", json!("prod"));
        ctx.add_variable("request.\"a.b\"", json!(1));
        assert_eq!(ctx.query("request.object.metadata.name"), Ok(json!("web")));
        assert_eq!(
            ctx.query("request.object.metadata.namespace"),
            Ok(json!("prod"))
        );
        assert_eq!(ctx.document().pointer("/request/a.b"), Some(&json!(1)));
    }

    #[test]
    fn variable_entries_load_lazily_in_order() {
        let mut ctx = context();
        let entries: Vec<ContextEntry> = serde_json::from_value(json!([
            {"name": "first", "variable": {"jmesPath": "request.object.metadata.name"}},
            {"name": "second", "variable": {"value": "{{ first }}-suffix"}},
            {"name": "broken", "variable": {"jmesPath": "request.object.nothing"}},
            {"name": "withDefault", "variable": {"jmesPath": "request.object.nothing", "default": "d"}}
        ]))
        .expect("entries");
        ctx.add_entries(&entries).expect("entries");
        assert_eq!(ctx.query("second"), Ok(json!("web-suffix")));
        assert_eq!(ctx.query("withDefault"), Ok(json!("d")));
        // An entry that fails only matters when it is used.
        assert!(matches!(ctx.query("broken"), Err(QueryError::Invalid(_))));
    }

    #[test]
    fn unanswered_config_map_is_named_in_the_error() {
        let mut ctx = context();
        let entries: Vec<ContextEntry> = serde_json::from_value(json!([
            {"name": "allowed", "configMap": {"name": "cm", "namespace": "default"}}
        ]))
        .expect("entries");
        ctx.add_entries(&entries).expect("entries");
        let err = ctx.query("allowed.data.list").expect_err("not found");
        assert!(err.to_string().contains("values file"), "{err}");
    }
}
