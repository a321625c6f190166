//! Container image references parsed the way Kyverno fills its `images`
//! variable: default registry `docker.io`, tag `latest` when neither tag nor
//! digest is given. A resource enters; `{containers: {name: info}, ...}`
//! leaves, for Pods and every Pod controller.

use serde_json::{json, Map, Value};

use crate::ValueExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageInfo {
    pub(crate) registry: String,
    pub(crate) path: String,
    pub(crate) name: String,
    pub(crate) tag: String,
    pub(crate) digest: String,
    pub(crate) reference: String,
    pub(crate) reference_with_tag: String,
}

const DEFAULT_REGISTRY: &str = "docker.io";

/// Parses an image reference; `None` when it is not one.
pub(crate) fn parse(image: &str) -> Option<ImageInfo> {
    let image = image.trim();
    if image.is_empty() || image.contains(char::is_whitespace) {
        return None;
    }
    let needs_default = match image.find('/') {
        None => true,
        Some(i) => {
            let first = &image[..i];
            !first.contains(['.', ':']) && first != "localhost" && first.to_lowercase() == first
        }
    };
    let full = if needs_default {
        format!("{DEFAULT_REGISTRY}/{image}")
    } else {
        image.to_string()
    };
    let (without_digest, digest) = match full.split_once('@') {
        Some((name, digest)) => (name.to_string(), digest.to_string()),
        None => (full.clone(), String::new()),
    };
    if !digest.is_empty() && !digest.contains(':') {
        return None;
    }
    let slash = without_digest.find('/')?;
    let registry = without_digest[..slash].to_string();
    let remainder = &without_digest[slash + 1..];
    let (path, tag) = match remainder.rfind(':') {
        Some(i) => (remainder[..i].to_string(), remainder[i + 1..].to_string()),
        None => (remainder.to_string(), String::new()),
    };
    if path.is_empty()
        || path != path.to_lowercase()
        || path.split('/').any(str::is_empty)
        || tag.contains('/')
    {
        return None;
    }
    let tag = if tag.is_empty() && digest.is_empty() {
        "latest".to_string()
    } else {
        tag
    };
    let name = path.rsplit('/').next().unwrap_or(&path).to_string();
    let reference_with_tag = format!("{registry}/{path}:{tag}");
    let reference = if digest.is_empty() {
        format!("{registry}/{path}:{tag}")
    } else {
        format!("{registry}/{path}@{digest}")
    };
    Some(ImageInfo {
        registry,
        path,
        name,
        tag,
        digest,
        reference,
        reference_with_tag,
    })
}

impl ImageInfo {
    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("reference".into(), json!(self.reference));
        map.insert("referenceWithTag".into(), json!(self.reference_with_tag));
        map.insert("registry".into(), json!(self.registry));
        map.insert("path".into(), json!(self.path));
        map.insert("name".into(), json!(self.name));
        map.insert("tag".into(), json!(self.tag));
        map.insert("digest".into(), json!(self.digest));
        Value::Object(map)
    }
}

/// Where a kind keeps its Pod spec.
fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "Deployment"
        | "DaemonSet"
        | "StatefulSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => Some("/spec/template/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// The `images` variable for a resource, or `None` for kinds without Pods.
pub(crate) fn images_variable(resource: &Value) -> Option<Value> {
    let kind = resource.str_field("kind")?;
    let spec = resource.pointer(pod_spec_pointer(kind)?)?;
    let mut out = Map::new();
    for (field, key) in [
        ("initContainers", "initContainers"),
        ("containers", "containers"),
        ("ephemeralContainers", "ephemeralContainers"),
    ] {
        let Some(containers) = spec.get(field).and_then(Value::as_array) else {
            continue;
        };
        let mut infos = Map::new();
        for container in containers {
            let (Some(name), Some(image)) =
                (container.str_field("name"), container.str_field("image"))
            else {
                continue;
            };
            if let Some(info) = parse(image) {
                infos.insert(name.to_string(), info.to_json());
            }
        }
        if !infos.is_empty() {
            out.insert(key.to_string(), Value::Object(infos));
        }
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_get_docker_io_and_latest() {
        let info = parse("nginx").expect("image");
        assert_eq!(info.registry, "docker.io");
        assert_eq!(info.path, "nginx");
        assert_eq!(info.name, "nginx");
        assert_eq!(info.tag, "latest");
        assert_eq!(info.reference, "docker.io/nginx:latest");
    }

    #[test]
    fn registries_ports_paths_and_digests() {
        let info = parse("ghcr.io/org/app:1.2").expect("image");
        assert_eq!(
            (
                info.registry.as_str(),
                info.path.as_str(),
                info.name.as_str(),
                info.tag.as_str()
            ),
            ("ghcr.io", "org/app", "app", "1.2")
        );
        let info = parse("localhost:5000/app").expect("image");
        assert_eq!(info.registry, "localhost:5000");
        assert_eq!(info.tag, "latest");
        let info = parse("busybox@sha256:abc").expect("image");
        assert_eq!(info.digest, "sha256:abc");
        assert_eq!(info.tag, "");
        assert_eq!(info.reference, "docker.io/busybox@sha256:abc");
        let info = parse("library/redis:7").expect("image");
        assert_eq!(info.path, "library/redis");
    }

    #[test]
    fn rejects_bad_references() {
        assert!(parse("").is_none());
        assert!(parse("Nginx/App").is_none());
        assert!(parse("a b").is_none());
    }

    #[test]
    fn images_variable_for_controllers() {
        let deploy = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "containers": [{"name": "web", "image": "nginx:1.25"}],
            "initContainers": [{"name": "init", "image": "busybox"}]}}}});
        let images = images_variable(&deploy).expect("images");
        assert_eq!(images.pointer("/containers/web/tag"), Some(&json!("1.25")));
        assert_eq!(
            images.pointer("/initContainers/init/tag"),
            Some(&json!("latest"))
        );
        assert!(images_variable(&json!({"kind": "Service"})).is_none());
    }
}
