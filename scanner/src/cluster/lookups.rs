//! The engine's lookups answered by the API server: `configMap` and
//! `apiCall` context entries, `resource.Get/List` and policy params. The
//! engine calls synchronously from rayon threads; each call blocks on the
//! async client through the runtime's handle. Answers are cached for the
//! run, so a ConfigMap read by a policy for 10,000 Pods is fetched once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::api::ListParams;
use kube::Client;
use serde_json::Value;
use tokio::runtime::Handle;

use super::discovery::Discovered;
use super::listing::for_each_page;
use super::ClusterError;
use crate::engine::context::{ApiCallRequest, ClusterData};
use crate::engine::policy::LabelSelector;

type Answer = Result<Option<Value>, String>;

pub struct ApiLookups {
    client: Client,
    runtime: Handle,
    discovered: Arc<Discovered>,
    cache: Mutex<HashMap<String, Answer>>,
}

impl ApiLookups {
    pub fn new(client: Client, runtime: Handle, discovered: Arc<Discovered>) -> ApiLookups {
        ApiLookups {
            client,
            runtime,
            discovered,
            cache: Mutex::new(HashMap::new()),
        }
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
            let result = self
                .runtime
                .block_on(async move { client.request::<Value>(request).await });
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

    fn kind_path(
        &self,
        api_version: &str,
        plural: &str,
        namespace: &str,
    ) -> Result<String, String> {
        let group = crate::kinds::group_of(api_version);
        let version = api_version.rsplit('/').next().unwrap_or(api_version);
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
        if request.method != "GET" {
            // A scan reads; it does not create objects on the server.
            return Err(format!(
                "{} {}: polscan makes only GET API calls",
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
        Ok(self
            .list(&path, None)?
            .unwrap_or_else(|| serde_json::json!({"items": []})))
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

    fn image_data(&self, image: &str) -> Result<Value, String> {
        Err(format!(
            "image metadata for {image}: polscan does not contact image registries"
        ))
    }
}
