//! Cluster data supplied as files, for offline runs: a Kyverno CLI context
//! file (`kind: Context`, `spec.resources` and `spec.images`) answers
//! `resource.Get`/`resource.List` and `image.GetMetadata` exactly as the
//! Kyverno CLI's fake provider does, and the run's input resources answer
//! policy params lookups. Documents enter; a [`ClusterData`] leaves.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::context::{ApiCallRequest, ClusterData, HttpRequest, HttpResponse};
use super::matching::selector_matches;
use crate::kinds;
use crate::label_selector::LabelSelector;
use crate::ValueExt;

/// Data given offline instead of a cluster's: the resources and image metadata
/// of a Kyverno CLI context file (for CEL `resource.Get`/`List` and image
/// lookups) and the params objects a ValidatingAdmissionPolicy's `paramRef` may
/// select. It answers the engine as its [`ClusterData`].
#[derive(Debug, Default, Clone)]
pub struct SuppliedData {
    /// Objects by (apiVersion, plural resource name).
    resources: HashMap<(String, String), Vec<Value>>,
    images: HashMap<String, Value>,
    params: Vec<Value>,
    /// Plural names of custom kinds by (group, kind), from CRDs.
    plurals: HashMap<(String, String), String>,
}

fn text<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value.str_at(pointer).unwrap_or("")
}

impl SuppliedData {
    /// Reads a `cli.kyverno.io` Context document.
    pub fn from_context(document: &Value) -> Result<SuppliedData, String> {
        let kind = text(document, "/kind");
        if kind != "Context" {
            return Err(format!(
                "expected a kind: Context document, found kind {kind:?}"
            ));
        }
        let mut data = SuppliedData::default();
        if let Some(resources) = document
            .pointer("/spec/resources")
            .and_then(Value::as_array)
        {
            for resource in resources {
                data.add_resource(resource.clone())?;
            }
        }
        if let Some(images) = document.pointer("/spec/images").and_then(Value::as_array) {
            for (index, image) in images.iter().enumerate() {
                let name = text(image, "/image");
                if name.is_empty() {
                    return Err(format!("spec.images[{index}] has no image"));
                }
                // The CLI's ImageData struct: these fields always exist.
                let mut entry =
                    json!({"image": name, "resolvedImage": "", "registry": "", "repository": ""});
                if let (Some(entry), Some(given)) = (entry.as_object_mut(), image.as_object()) {
                    for (key, value) in given {
                        entry.insert(key.clone(), value.clone());
                    }
                }
                data.images.insert(name.to_string(), entry);
            }
        }
        Ok(data)
    }

    pub(crate) fn add_resource(&mut self, resource: Value) -> Result<(), String> {
        let api_version = text(&resource, "/apiVersion").to_string();
        let kind = text(&resource, "/kind");
        if api_version.is_empty() || kind.is_empty() {
            return Err(format!(
                "context resource {:?} needs apiVersion and kind",
                text(&resource, "/metadata/name")
            ));
        }
        let group = kinds::group_of(&api_version);
        let plural = self
            .plurals
            .get(&(group.to_string(), kind.to_string()))
            .cloned()
            .unwrap_or_else(|| kinds::plural_of(group, kind));
        self.resources
            .entry((api_version, plural))
            .or_default()
            .push(resource);
        Ok(())
    }

    /// Takes the plural resource names a CustomResourceDefinition declares
    /// (`spec.group`, `spec.names.kind`, `spec.names.plural`), for the
    /// objects added after it.
    pub(crate) fn add_crd(&mut self, crd: &Value) {
        let group = text(crd, "/spec/group");
        let kind = text(crd, "/spec/names/kind");
        let plural = text(crd, "/spec/names/plural");
        if !kind.is_empty() && !plural.is_empty() {
            self.plurals
                .insert((group.to_string(), kind.to_string()), plural.to_string());
        }
    }

    /// Objects that `paramRef`s may select.
    pub fn with_params(mut self, params: Vec<Value>) -> SuppliedData {
        self.params = params;
        self
    }

    /// Every object of one (apiVersion, plural resource), in the order given.
    pub(crate) fn objects(&self, api_version: &str, resource: &str) -> &[Value] {
        self.resources
            .get(&(api_version.to_string(), resource.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether it holds no resource, image or params object.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.images.is_empty() && self.params.is_empty()
    }
}

impl ClusterData for SuppliedData {
    fn config_map(&self, _namespace: &str, _name: &str) -> Option<Value> {
        None
    }

    fn api_call(&self, _request: &ApiCallRequest) -> Result<Option<Value>, String> {
        Ok(None)
    }

    fn service_call(&self, _request: &HttpRequest) -> Result<Option<HttpResponse>, String> {
        Ok(None)
    }

    fn resolves_config_maps(&self) -> bool {
        false
    }

    fn global_reference(&self, _name: &str, _projection: &str) -> Result<Option<Value>, String> {
        Ok(None)
    }

    fn get_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, String> {
        Ok(self
            .resources
            .get(&(api_version.to_string(), resource.to_string()))
            .and_then(|objects| {
                objects.iter().find(|object| {
                    text(object, "/metadata/namespace") == namespace
                        && text(object, "/metadata/name") == name
                })
            })
            .cloned())
    }

    /// As the Kyverno CLI: the objects whose namespace is exactly the one
    /// asked for (`""` lists cluster-scoped objects only).
    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<Value, String> {
        let objects = self
            .resources
            .get(&(api_version.to_string(), resource.to_string()))
            .ok_or_else(|| format!("{resource} ({api_version}) resource not found"))?;
        let items: Vec<Value> = objects
            .iter()
            .filter(|object| text(object, "/metadata/namespace") == namespace)
            .cloned()
            .collect();
        Ok(json!({ "items": items }))
    }

    fn params(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> Result<Vec<Value>, String> {
        let cluster_scoped = kinds::is_cluster_scoped(api_version, kind);
        Ok(self
            .params
            .iter()
            .filter(|object| {
                text(object, "/apiVersion") == api_version && text(object, "/kind") == kind
            })
            // A params object given without a namespace serves every one.
            .filter(|object| {
                let own = text(object, "/metadata/namespace");
                cluster_scoped || own.is_empty() || own == namespace
            })
            .filter(|object| match (name, selector) {
                (Some(name), _) => text(object, "/metadata/name") == name,
                (None, Some(selector)) => {
                    let labels = super::matching::string_map(object.pointer("/metadata/labels"));
                    selector_matches(selector, &labels).unwrap_or(false)
                }
                (None, None) => false,
            })
            .cloned()
            .collect())
    }

    fn image_data(&self, image: &str) -> Result<Value, String> {
        self.images
            .get(image)
            .cloned()
            .ok_or_else(|| format!("image data for {image} not found in the context"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> SuppliedData {
        SuppliedData::from_context(&json!({
            "apiVersion": "cli.kyverno.io/v1alpha1", "kind": "Context",
            "spec": {
                "resources": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "platform"}, "data": {"k": "v"}},
                    {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "default"}}
                ],
                "images": [{"image": "nginx:1", "config": {"created": "2020-01-01T00:00:00Z"}}]
            }
        }))
        .unwrap()
    }

    #[test]
    fn get_and_list_answer_as_the_kyverno_cli() {
        let data = context();
        let cm = data
            .get_resource("v1", "configmaps", "platform", "cm")
            .unwrap();
        assert_eq!(cm.unwrap()["data"]["k"], "v");
        assert_eq!(
            data.get_resource("v1", "configmaps", "other", "cm")
                .unwrap(),
            None
        );
        let list = data
            .list_resources("autoscaling/v1", "horizontalpodautoscalers", "default")
            .unwrap();
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
        let cluster_wide = data
            .list_resources("autoscaling/v1", "horizontalpodautoscalers", "")
            .unwrap();
        assert_eq!(cluster_wide["items"].as_array().map(Vec::len), Some(0));
        assert!(data.list_resources("v1", "secrets", "default").is_err());
    }

    #[test]
    fn image_metadata_has_the_cli_fields() {
        let data = context();
        let image = data.image_data("nginx:1").unwrap();
        assert_eq!(image["config"]["created"], "2020-01-01T00:00:00Z");
        assert_eq!(image["resolvedImage"], "");
        assert!(data
            .image_data("nginx:2")
            .unwrap_err()
            .contains("not found"));
    }

    #[test]
    fn params_by_name_or_selector() {
        let data = SuppliedData::default().with_params(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n", "labels": {"tier": "x"}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "n"}}),
        ]);
        assert_eq!(
            data.params("v1", "ConfigMap", "n", Some("b"), None)
                .unwrap()
                .len(),
            1
        );
        let selector: LabelSelector =
            serde_json::from_value(json!({"matchLabels": {"tier": "x"}})).unwrap();
        let picked = data
            .params("v1", "ConfigMap", "n", None, Some(&selector))
            .unwrap();
        assert_eq!(picked.len(), 1);
        assert_eq!(picked[0]["metadata"]["name"], "a");
        assert!(data
            .params("v1", "ConfigMap", "other", Some("a"), None)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_context_file_must_be_a_context() {
        assert!(SuppliedData::from_context(&json!({"kind": "Pod"})).is_err());
    }
}
