//! Kyverno's CEL libraries, as the Kyverno CLI answers them: `resource`
//! (`Get/List/Post` and, from library version 1.18 on, `get/list/post`),
//! `http` (`Get/Post/Client`, `get/post/client`), `globalContext`
//! (`Get/get`) and `image.GetMetadata` from the [`ClusterData`] of the run
//! (a cluster, a test's files, or nothing), `parseServiceAccount`, `time`,
//! and the `image()` reference library. The data source enters through
//! [`bind`] as opaque `resource`/`image`/`http`/`globalContext` variables;
//! the functions are registered once in the shared environment by
//! [`register`]; CEL values or errors leave.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use kube_cel::cel;
use kube_cel::cel::extractors::{Arguments, This};
use kube_cel::cel::objects::Opaque;
use kube_cel::cel::{ExecutionError, FunctionContext};
use serde_json::Value;

use super::super::context::{missing_global_entry, ClusterData, HttpRequest, HttpResponse};
use super::{to_cel, to_json};
use crate::value_types::images;
use crate::ValueExt;

type CelResult = Result<cel::Value, ExecutionError>;

/// The libraries bound as variables, each answered by the run's data;
/// undeclared in Kubernetes' environment ([`super::declared`]).
pub(crate) const LIBRARIES: [&str; 4] = ["resource", "image", "http", "globalContext"];

/// The run's data source, seen from CEL as one library variable.
struct DataHandle {
    library: &'static str,
    data: Arc<dyn ClusterData>,
    /// The CA bundle of an `http.Client(caBundle)`.
    ca_bundle: Option<String>,
    /// A namespaced policy's namespace.
    namespace: Option<String>,
}

impl fmt::Debug for DataHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.library)
    }
}

impl PartialEq for DataHandle {
    fn eq(&self, other: &Self) -> bool {
        self.library == other.library
            && Arc::ptr_eq(&self.data, &other.data)
            && self.ca_bundle == other.ca_bundle
            && self.namespace == other.namespace
    }
}

impl Eq for DataHandle {}

impl Opaque for DataHandle {
    fn runtime_type_name(&self) -> &str {
        match self.library {
            // cel-go's opaque type names (kyverno/sdk extensions/cel/libs/*/types.go).
            "resource" => "resource.Context",
            "http" => "http.Context",
            "globalContext" => "globalcontext.Context",
            _ => "imagedata.Context",
        }
    }
}

/// Binds the library variables of one evaluation that `wanted` names (the
/// ones its expressions read); `namespace` is a namespaced policy's.
pub(crate) fn bind(
    ctx: &mut cel::Context<'_>,
    data: &Arc<dyn ClusterData>,
    namespace: Option<&str>,
    wanted: &dyn Fn(&str) -> bool,
) {
    for library in LIBRARIES.into_iter().filter(|library| wanted(library)) {
        let handle = DataHandle {
            library,
            data: data.clone(),
            ca_bundle: None,
            namespace: namespace.map(str::to_string),
        };
        ctx.add_variable_from_value(library, cel::Value::Opaque(Arc::new(handle)));
    }
}

/// Registers Kyverno's functions in the shared environment. Kyverno
/// compiles every policy with its libraries at `Latest()` (1.18), so the
/// lower-case names (kyverno/sdk extensions/cel/libs/{resource,http,
/// globalcontext}/lib.go, "from 1.18 on") are always there.
pub(crate) fn register(ctx: &mut cel::Context<'_>) {
    for name in ["Get", "get"] {
        ctx.add_function(name, library_get);
    }
    for name in ["List", "list"] {
        ctx.add_function(name, resource_list);
    }
    for name in ["Post", "post"] {
        ctx.add_function(name, library_post);
    }
    for name in ["Client", "client"] {
        ctx.add_function(name, http_client);
    }
    for name in ["ToGVR", "toGVR"] {
        ctx.add_function(name, resource_to_gvr);
    }
    ctx.add_function("GetMetadata", image_metadata);
    ctx.add_function("getMetadata", image_metadata);
    ctx.add_function("parseServiceAccount", parse_service_account);
    ctx.add_function("user.parseServiceAccount", parse_service_account);
    ctx.add_function("time.now", || -> CelResult {
        Ok(cel::Value::Timestamp(crate::host::now().fixed_offset()))
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

/// The library handle `this` is, or an error naming the function and the
/// receiver when it is not one of `libraries`.
fn handle<'v>(
    ftx: &FunctionContext,
    this: &'v cel::Value,
    libraries: &[&str],
) -> Result<&'v DataHandle, ExecutionError> {
    match this {
        cel::Value::Opaque(opaque) => opaque
            .downcast_ref::<DataHandle>()
            .filter(|handle| libraries.contains(&handle.library))
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

fn string_arg<'a>(ftx: &FunctionContext, arg: &'a cel::Value) -> Result<&'a str, ExecutionError> {
    match arg {
        cel::Value::String(s) => Ok(s.as_str()),
        other => Err(ftx.error(format!(
            "{}: expected a string argument, got {}",
            ftx.name,
            super::program::type_name(other)
        ))),
    }
}

fn string_arguments<'a>(
    ftx: &FunctionContext,
    args: &'a [cel::Value],
    count: usize,
) -> Result<Vec<&'a str>, ExecutionError> {
    if args.len() != count {
        return Err(arity(ftx, args.len()));
    }
    args.iter().map(|arg| string_arg(ftx, arg)).collect()
}

fn arity(ftx: &FunctionContext, got: usize) -> ExecutionError {
    ftx.error(format!(
        "found no matching overload for '{}' with {got} arguments",
        ftx.name
    ))
}

/// A `map(string, string)` argument (headers, label selectors).
fn string_map(
    ftx: &FunctionContext,
    arg: &cel::Value,
) -> Result<Vec<(String, String)>, ExecutionError> {
    use cel::objects::Key;
    let cel::Value::Map(map) = arg else {
        return Err(ftx.error(format!(
            "{}: expected a map(string, string), got {}",
            ftx.name,
            super::program::type_name(arg)
        )));
    };
    let mut pairs = Vec::with_capacity(map.map.len());
    for (key, value) in map.map.iter() {
        match (key, value) {
            (Key::String(key), cel::Value::String(value)) => {
                pairs.push((key.to_string(), value.to_string()))
            }
            _ => return Err(ftx.error(format!("{}: expected a map(string, string)", ftx.name))),
        }
    }
    // A CEL map has no order; Go's range over a map neither.
    pairs.sort();
    Ok(pairs)
}

/// `Get` on any library: `resource.Get`, `http.Get`, `globalContext.Get`.
fn library_get(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    Arguments(args): Arguments,
) -> CelResult {
    let handle = handle(ftx, &this, &["resource", "http", "globalContext"])?;
    match handle.library {
        "http" => http_get(ftx, handle, &args),
        "globalContext" => global_context_get(ftx, handle, &args),
        _ => resource_get(ftx, handle, &args),
    }
}

/// `Post` on `resource` or `http`.
fn library_post(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    Arguments(args): Arguments,
) -> CelResult {
    let handle = handle(ftx, &this, &["resource", "http"])?;
    if handle.library == "http" {
        return http_post(ftx, handle, &args);
    }
    resource_post(ftx, handle, &args)
}

/// `resource.Post(apiVersion, resource[, namespace], data)`, or
/// `Post(apiVersion, resource, data)` in a namespaced policy's namespace
/// (kyverno/sdk resource/impl.go, namespaced_impl.go). The data source
/// decides what it creates ([`ClusterData::post_resource`]).
fn resource_post(ftx: &FunctionContext, handle: &DataHandle, args: &[cel::Value]) -> CelResult {
    let (strings, data) = match (&handle.namespace, args) {
        (Some(namespace), [api_version, resource, data]) => (
            vec![
                string_arg(ftx, api_version)?,
                string_arg(ftx, resource)?,
                namespace.as_str(),
            ],
            data,
        ),
        (None, [api_version, resource, data]) => (
            vec![
                string_arg(ftx, api_version)?,
                string_arg(ftx, resource)?,
                "",
            ],
            data,
        ),
        (None, [api_version, resource, namespace, data]) => (
            vec![
                string_arg(ftx, api_version)?,
                string_arg(ftx, resource)?,
                string_arg(ftx, namespace)?,
            ],
            data,
        ),
        _ => return Err(arity(ftx, args.len())),
    };
    if !matches!(data, cel::Value::Map(_)) {
        return Err(ftx.error(format!(
            "{}: expected a map as the object, got {}",
            ftx.name,
            super::program::type_name(data)
        )));
    }
    handle
        .data
        .post_resource(strings[0], strings[1], strings[2], &to_json(data))
        .map(|object| to_cel(&object))
        .map_err(|err| ftx.error(format!("failed to create resource: {err}")))
}

/// `resource.Get(apiVersion, resource, namespace, name)`: the object, or
/// null when it does not exist (kyverno/sdk resource/impl.go
/// `get_resource_string_string_string_string`). A namespaced policy's
/// library takes no namespace: `Get(apiVersion, resource, name)` in its
/// own (resource/namespaced_impl.go).
fn resource_get(ftx: &FunctionContext, handle: &DataHandle, args: &[cel::Value]) -> CelResult {
    let args = match &handle.namespace {
        Some(namespace) => {
            let args = string_arguments(ftx, args, 3)?;
            vec![args[0], args[1], namespace.as_str(), args[2]]
        }
        None => string_arguments(ftx, args, 4)?,
    };
    match handle.data.get_resource(args[0], args[1], args[2], args[3]) {
        Ok(Some(object)) => Ok(to_cel(&object)),
        Ok(None) => Ok(cel::Value::Null),
        Err(err) => Err(ftx.error(format!("failed to get resource: {err}"))),
    }
}

/// `resource.List(apiVersion, resource, namespace[, labels])`: a list
/// object; with labels only the items carrying every one of them (Kyverno
/// lists with `labels.SelectorFromSet`, kyverno/sdk resource/impl.go).
fn resource_list(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    Arguments(args): Arguments,
) -> CelResult {
    let handle = handle(ftx, &this, &["resource"])?;
    // A namespaced policy's List has no namespace argument.
    let strings_count = if handle.namespace.is_some() { 2 } else { 3 };
    if args.len() != strings_count && args.len() != strings_count + 1 {
        return Err(arity(ftx, args.len()));
    }
    let mut strings = string_arguments(ftx, &args[..strings_count], strings_count)?;
    if let Some(namespace) = &handle.namespace {
        strings.push(namespace.as_str());
    }
    let labels = match args.get(strings_count) {
        Some(arg) => string_map(ftx, arg)?,
        None => Vec::new(),
    };
    let mut list = handle
        .data
        .list_resources(strings[0], strings[1], strings[2])
        .map_err(|err| ftx.error(format!("failed to list resource: {err}")))?;
    if !labels.is_empty() {
        if let Some(Value::Array(items)) = list.get_mut("items") {
            items.retain(|item| has_labels(item, &labels));
        }
    }
    Ok(to_cel(&list))
}

fn has_labels(object: &Value, labels: &[(String, String)]) -> bool {
    labels
        .iter()
        .all(|(key, value)| object.label(key) == Some(value.as_str()))
}

/// `resource.ToGVR(apiVersion, kind)` needs the server's REST mapping,
/// which polscan's data sources do not expose (the Kyverno CLI's fake
/// context does not implement it either).
fn resource_to_gvr(ftx: &FunctionContext, This(this): This<cel::Value>) -> CelResult {
    handle(ftx, &this, &["resource"])?;
    Err(ftx.error("failed to map kind to resource: resource.ToGVR is not supported by polscan"))
}

/// `http.Get(url[, headers])` (kyverno/sdk http/impl.go).
fn http_get(ftx: &FunctionContext, handle: &DataHandle, args: &[cel::Value]) -> CelResult {
    let (url, headers) = match args {
        [url] => (string_arg(ftx, url)?, Vec::new()),
        [url, headers] => (string_arg(ftx, url)?, string_map(ftx, headers)?),
        _ => return Err(arity(ftx, args.len())),
    };
    http_call(ftx, handle, "GET", url, None, headers)
}

/// `http.Post(url, data[, headers])` (kyverno/sdk http/impl.go).
fn http_post(ftx: &FunctionContext, handle: &DataHandle, args: &[cel::Value]) -> CelResult {
    let (url, data, headers) = match args {
        [url, data] => (string_arg(ftx, url)?, data, Vec::new()),
        [url, data, headers] => (string_arg(ftx, url)?, data, string_map(ftx, headers)?),
        _ => return Err(arity(ftx, args.len())),
    };
    http_call(ftx, handle, "POST", url, Some(to_json(data)), headers)
}

fn http_call(
    ftx: &FunctionContext,
    handle: &DataHandle,
    method: &str,
    url: &str,
    body: Option<Value>,
    headers: Vec<(String, String)>,
) -> CelResult {
    let request = HttpRequest {
        method: method.to_string(),
        url: url.to_string(),
        headers,
        body,
        ca_bundle: handle.ca_bundle.clone(),
    };
    let mocked = handle.data.http_is_mocked();
    // A namespaced policy's calls are answered by mocks only: Kyverno
    // refuses the live call by default (pkg/cel/compiler/http.go
    // `namespacedHTTPContext`, behind the mock-aware context).
    let answer = if handle.namespace.is_some() && !mocked {
        Err(NAMESPACED_HTTP.to_string())
    } else {
        handle.data.http(&request)
    };
    match answer {
        Ok(response) => Ok(to_cel(&http_value(response, mocked))),
        Err(_) if handle.namespace.is_some() => {
            Err(ftx.error(format!("request failed: {NAMESPACED_HTTP}")))
        }
        Err(err) => Err(ftx.error(format!("request failed: {err}"))),
    }
}

/// Kyverno's refusal of a namespaced policy's live HTTP call, with its
/// `--allowHTTPInNamespacedPolicies` toggle off (the default).
const NAMESPACED_HTTP: &str = "http calls are not allowed in namespaced policies: set --allowHTTPInNamespacedPolicies to enable";

/// The CEL value of an HTTP answer; any status is an answer, not an error.
/// The Kyverno CLI's mocks answer `{"body": <body>, "statusCode": <code>}`
/// (`buildHTTPMockIndex` in commands/test/test.go, served by
/// pkg/cel/libs/http_mock.go); a live call answers the decoded object with
/// `statusCode` added, or that wrapper when the body is not an object
/// (kyverno/sdk http/http.go `executeRequest`).
fn http_value(response: HttpResponse, mocked: bool) -> Value {
    let status = Value::from(response.status);
    match response.body {
        Value::Object(mut object) if !mocked => {
            object.insert("statusCode".to_string(), status);
            Value::Object(object)
        }
        body => serde_json::json!({"body": body, "statusCode": status}),
    }
}

/// `http.Client(caBundle)`: an `http` that trusts the PEM bundle; an empty
/// bundle keeps the receiver (kyverno/sdk http/http.go `Client`).
fn http_client(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    ca_bundle: Arc<String>,
) -> CelResult {
    let handle = handle(ftx, &this, &["http"])?;
    if ca_bundle.is_empty() {
        return Ok(this.clone());
    }
    if !ca_bundle.contains("-----BEGIN CERTIFICATE-----") {
        return Err(ftx.error("request failed: failed to parse PEM CA bundle for APICall"));
    }
    Ok(cel::Value::Opaque(Arc::new(DataHandle {
        library: "http",
        data: handle.data.clone(),
        ca_bundle: Some(ca_bundle.to_string()),
        namespace: handle.namespace.clone(),
    })))
}

/// `globalContext.Get(name[, projection])`: the entry's data or projection;
/// null when no entry has that name (pkg/cel/libs/context.go
/// `GetGlobalReference`, kyverno/sdk globalcontext/impl.go).
fn global_context_get(
    ftx: &FunctionContext,
    handle: &DataHandle,
    args: &[cel::Value],
) -> CelResult {
    let (name, projection) = match args {
        [name] => (string_arg(ftx, name)?, ""),
        [name, projection] => (string_arg(ftx, name)?, string_arg(ftx, projection)?),
        _ => return Err(arity(ftx, args.len())),
    };
    match handle.data.global_context(name, projection) {
        Ok(value) => Ok(to_cel(&value)),
        Err(err) if err == missing_global_entry(name) => Ok(cel::Value::Null),
        Err(err) => Err(ftx.error(format!("failed to get global reference: {err}"))),
    }
}

/// `image.GetMetadata(ref)`: the image's metadata from the data source.
fn image_metadata(
    ftx: &FunctionContext,
    This(this): This<cel::Value>,
    reference: std::sync::Arc<String>,
) -> CelResult {
    let data = &handle(ftx, &this, &["image"])?.data;
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
