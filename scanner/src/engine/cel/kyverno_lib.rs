//! Kyverno's CEL libraries, as the Kyverno CLI answers them: `resource.Get`
//! / `resource.List` and `image.GetMetadata` from the [`ClusterData`] of the
//! run (a cluster, a test's context file, or nothing), `parseServiceAccount`,
//! and the `image()` reference library. The data source enters through
//! [`bind`] as opaque `resource`/`image` variables; the functions are
//! registered once in the shared environment by [`register`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use kube_cel::cel;
use kube_cel::cel::extractors::{Arguments, This};
use kube_cel::cel::objects::Opaque;
use kube_cel::cel::{ExecutionError, FunctionContext};

use super::super::context::ClusterData;
use super::super::images;
use super::{to_cel, to_json};

type CelResult = Result<cel::Value, ExecutionError>;

/// The run's data source, seen from CEL as `resource` or `image`.
struct DataHandle {
    library: &'static str,
    data: Arc<dyn ClusterData>,
}

impl fmt::Debug for DataHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.library)
    }
}

impl PartialEq for DataHandle {
    fn eq(&self, other: &Self) -> bool {
        self.library == other.library && Arc::ptr_eq(&self.data, &other.data)
    }
}

impl Eq for DataHandle {}

impl Opaque for DataHandle {
    fn runtime_type_name(&self) -> &str {
        self.library
    }
}

/// Binds the library variables of one evaluation.
pub fn bind(ctx: &mut cel::Context<'_>, data: &Arc<dyn ClusterData>) {
    for library in ["resource", "image"] {
        let handle = DataHandle {
            library,
            data: data.clone(),
        };
        ctx.add_variable_from_value(library, cel::Value::Opaque(Arc::new(handle)));
    }
}

pub fn register(ctx: &mut cel::Context<'_>) {
    ctx.add_function("Get", resource_get);
    ctx.add_function("List", resource_list);
    ctx.add_function("Post", resource_post);
    ctx.add_function("GetMetadata", image_metadata);
    ctx.add_function("getMetadata", image_metadata);
    ctx.add_function("parseServiceAccount", parse_service_account);
    ctx.add_function("user.parseServiceAccount", parse_service_account);
    ctx.add_function("time.now", || -> CelResult {
        Ok(cel::Value::Timestamp(chrono::Utc::now().fixed_offset()))
    });
    ctx.add_function("time.truncate", time_truncate);
    ctx.add_function("time.toCron", time_to_cron);
    ctx.add_function("image", image_reference);
    ctx.add_function("parseImageReference", image_reference);
    ctx.add_function("isImage", is_image);
    ctx.add_function(
        "registry",
        |ftx: &FunctionContext, This(this): This<cel::Value>| {
            reference_field(ftx, &this, |r| r.registry.clone())
        },
    );
    ctx.add_function(
        "repository",
        |ftx: &FunctionContext, This(this): This<cel::Value>| {
            reference_field(ftx, &this, |r| r.repository.clone())
        },
    );
    ctx.add_function(
        "identifier",
        |ftx: &FunctionContext, This(this): This<cel::Value>| {
            reference_field(ftx, &this, |r| {
                if r.digest.is_empty() {
                    r.tag.clone()
                } else {
                    r.digest.clone()
                }
            })
        },
    );
    ctx.add_function(
        "tag",
        |ftx: &FunctionContext, This(this): This<cel::Value>| {
            reference_field(ftx, &this, |r| r.tag.clone())
        },
    );
    ctx.add_function(
        "digest",
        |ftx: &FunctionContext, This(this): This<cel::Value>| {
            reference_field(ftx, &this, |r| r.digest.clone())
        },
    );
    ctx.add_function(
        "containsDigest",
        |ftx: &FunctionContext, This(this): This<cel::Value>| -> CelResult {
            let reference = image_of(ftx, &this)?;
            Ok(cel::Value::Bool(!reference.digest.is_empty()))
        },
    );
}

fn handle<'v>(
    ftx: &FunctionContext,
    this: &'v cel::Value,
    library: &str,
) -> Result<&'v DataHandle, ExecutionError> {
    match this {
        cel::Value::Opaque(opaque) => opaque
            .downcast_ref::<DataHandle>()
            .filter(|handle| handle.library == library)
            .ok_or_else(|| {
                ftx.error(format!(
                    "{} is not defined on {}",
                    ftx.name,
                    opaque.runtime_type_name()
                ))
            }),
        _ => Err(ftx.error(format!("{} is not defined on this value", ftx.name))),
    }
}

fn string_arguments<'a>(
    ftx: &FunctionContext,
    args: &'a [cel::Value],
    count: usize,
) -> Result<Vec<&'a str>, ExecutionError> {
    if args.len() != count {
        return Err(ftx.error(format!("expected {count} arguments, got {}", args.len())));
    }
    args.iter()
        .map(|arg| match arg {
            cel::Value::String(s) => Ok(s.as_str()),
            other => Err(ftx.error(format!("expected a string argument, got {other:?}"))),
        })
        .collect()
}

/// `resource.Get(apiVersion, resource, namespace, name)`: the object, or
/// null when it does not exist.
fn resource_get(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    Arguments(args): Arguments,
) -> CelResult {
    let data = &handle(ftx, &this, "resource")?.data;
    let args = string_arguments(ftx, &args, 4)?;
    match data.get_resource(args[0], args[1], args[2], args[3]) {
        Ok(Some(object)) => Ok(to_cel(&object)),
        Ok(None) => Ok(cel::Value::Null),
        Err(err) => Err(ftx.error(format!("failed to get resource: {err}"))),
    }
}

/// `resource.List(apiVersion, resource, namespace)`: a list object.
fn resource_list(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    Arguments(args): Arguments,
) -> CelResult {
    let data = &handle(ftx, &this, "resource")?.data;
    let args = string_arguments(ftx, &args, 3)?;
    data.list_resources(args[0], args[1], args[2])
        .map(|list| to_cel(&list))
        .map_err(|err| ftx.error(format!("failed to list resource: {err}")))
}

/// `resource.Post` creates objects (SubjectAccessReviews); a scan never
/// writes to the cluster it audits, so it is refused.
fn resource_post(ftx: &FunctionContext, This(this): This<cel::Value>) -> CelResult {
    handle(ftx, &this, "resource")?;
    Err(ftx.error("resource.Post is not supported: polscan does not create objects while auditing"))
}

/// `image.GetMetadata(ref)`: the image's metadata from the data source.
fn image_metadata(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    reference: std::sync::Arc<String>,
) -> CelResult {
    let data = &handle(ftx, &this, "image")?.data;
    data.image_data(&reference)
        .map(|metadata| to_cel(&metadata))
        .map_err(|err| ftx.error(format!("failed to get image data: {err}")))
}

/// `parseServiceAccount(username)`: `Namespace` and `Name` of a
/// `system:serviceaccount:<ns>:<name>` user, both empty for other users.
fn parse_service_account(username: std::sync::Arc<String>) -> CelResult {
    let (namespace, name) = username
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
        .unwrap_or(("", ""));
    let fields: HashMap<String, cel::Value> = [
        (
            "Namespace".to_string(),
            cel::Value::String(Arc::new(namespace.to_string())),
        ),
        (
            "Name".to_string(),
            cel::Value::String(Arc::new(name.to_string())),
        ),
    ]
    .into_iter()
    .collect();
    Ok(cel::Value::from(fields))
}

/// `time.truncate(t, d)`: `t` rounded down to a multiple of `d`.
fn time_truncate(ftx: &FunctionContext, time: cel::Value, step: cel::Value) -> CelResult {
    use chrono::DurationRound;
    match (time, step) {
        (cel::Value::Timestamp(time), cel::Value::Duration(step)) => {
            if step <= chrono::Duration::zero() {
                return Ok(cel::Value::Timestamp(time));
            }
            time.duration_trunc(step)
                .map(cel::Value::Timestamp)
                .map_err(|err| ftx.error(err.to_string()))
        }
        _ => Err(ftx.error("expected a timestamp and a duration")),
    }
}

/// `time.toCron(t)`: "minute hour day month weekday" of `t`.
fn time_to_cron(ftx: &FunctionContext, time: cel::Value) -> CelResult {
    use chrono::{Datelike, Timelike};
    match time {
        cel::Value::Timestamp(t) => Ok(cel::Value::String(Arc::new(format!(
            "{} {} {} {} {}",
            t.minute(),
            t.hour(),
            t.day(),
            t.month(),
            t.weekday().num_days_from_sunday()
        )))),
        _ => Err(ftx.error("expected a timestamp")),
    }
}

/// An image reference as go-containerregistry parses it (what Kyverno's
/// `image()` library uses): Docker Hub is `index.docker.io` and its
/// single-name repositories live under `library/`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImageReference {
    registry: String,
    repository: String,
    tag: String,
    digest: String,
}

impl Opaque for ImageReference {
    fn runtime_type_name(&self) -> &str {
        "kyverno.image"
    }
}

fn parse_reference(text: &str) -> Option<ImageReference> {
    let info = images::parse(text)?;
    let docker_hub = info.registry == "docker.io" || info.registry == "index.docker.io";
    let registry = if docker_hub {
        "index.docker.io".to_string()
    } else {
        info.registry
    };
    let repository = if docker_hub && !info.path.contains('/') {
        format!("library/{}", info.path)
    } else {
        info.path
    };
    // A digest reference has no tag in go-containerregistry.
    let tag = if info.digest.is_empty() {
        info.tag
    } else {
        String::new()
    };
    Some(ImageReference {
        registry,
        repository,
        tag,
        digest: info.digest,
    })
}

fn image_reference(ftx: &FunctionContext, text: std::sync::Arc<String>) -> CelResult {
    parse_reference(&text)
        .map(|reference| cel::Value::Opaque(Arc::new(reference)))
        .ok_or_else(|| ftx.error(format!("could not parse reference: {text}")))
}

fn is_image(text: std::sync::Arc<String>) -> bool {
    parse_reference(&text).is_some()
}

fn image_of<'v>(
    ftx: &FunctionContext,
    this: &'v cel::Value,
) -> Result<&'v ImageReference, ExecutionError> {
    match this {
        cel::Value::Opaque(opaque) => opaque.downcast_ref::<ImageReference>().ok_or_else(|| {
            ftx.error(format!(
                "{} is not defined on {}",
                ftx.name,
                opaque.runtime_type_name()
            ))
        }),
        other => Err(ftx.error(format!(
            "{} is not defined on {:?}",
            ftx.name,
            to_json(other)
        ))),
    }
}

fn reference_field(
    ftx: &FunctionContext,
    this: &cel::Value,
    field: impl Fn(&ImageReference) -> String,
) -> CelResult {
    let reference = image_of(ftx, this)?;
    Ok(cel::Value::String(Arc::new(field(reference))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_go_containerregistry() {
        let nginx = parse_reference("nginx").unwrap();
        assert_eq!(
            (
                nginx.registry.as_str(),
                nginx.repository.as_str(),
                nginx.tag.as_str()
            ),
            ("index.docker.io", "library/nginx", "latest")
        );
        let ghcr = parse_reference("ghcr.io/kyverno/kyverno:v1.12@sha256:abc").unwrap();
        assert_eq!(ghcr.registry, "ghcr.io");
        assert_eq!(ghcr.repository, "kyverno/kyverno");
        assert_eq!(
            (ghcr.tag.as_str(), ghcr.digest.as_str()),
            ("", "sha256:abc")
        );
        assert!(parse_reference("Nginx").is_none());
    }

    #[test]
    fn service_accounts_are_split() {
        let parsed = to_json(
            &parse_service_account(Arc::new("system:serviceaccount:ns:sa".into())).unwrap(),
        );
        assert_eq!(parsed, serde_json::json!({"Namespace": "ns", "Name": "sa"}));
        let user = to_json(&parse_service_account(Arc::new("alice".into())).unwrap());
        assert_eq!(user, serde_json::json!({"Namespace": "", "Name": ""}));
    }
}
