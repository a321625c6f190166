//! `write-limit`: the API server's write rate for a given set of reports, as
//! a baseline for polscan's first scan (benches/cluster-scan.sh).
//!
//! Enters: a JSON `List` of PolicyReports and ClusterPolicyReports (what
//! `polscan scan --dry-run -o json` prints: exactly the reports a first scan
//! writes), a kubeconfig (`KUBECONFIG` or `--kubeconfig`) and a concurrency.
//! Leaves: on stdout one line `written=… failed=… seconds=… per_second=…
//! bytes=…` (`apply`) or `deleted_seconds=…` (`clean`); errors on stderr.
//!
//! `apply` writes every report under a new name (`--suffix`, default `-raw`)
//! with a marker label, by polscan's method: server-side apply (PATCH
//! `application/apply-patch+yaml`, `fieldManager=polscan`, `force=true`),
//! `--concurrency` requests in flight on kube's client (the HTTP stack polscan
//! uses, keep-alive connections). Bodies are encoded before the clock starts,
//! so the time is the server's and the transport's, not the client's.
//! `--shape former` writes them as polscan did before 2026-11-30: every
//! result of a per-resource report repeating the report's `scope` in
//! `results[].resources`, and timestamps with nanoseconds (Kyverno's
//! controller writes neither); the bench compares the first scan with it.
//! `clean` deletes the marked reports (a delete-collection per namespace and
//! one for the cluster reports) and waits until none is left, so the scan that
//! follows starts from an empty store.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
use http::{Method, Request};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use polscan::engine::ValueExt;
use serde_json::Value;

const GROUP_VERSION: &str = "/apis/wgpolicyk8s.io/v1alpha2";
const USAGE: &str = "usage: write-limit apply <reports.json> [--concurrency N] [--suffix S] [--shape current|former] [--label K=V] [--kubeconfig PATH]
       write-limit clean <reports.json> [--label K=V] [--kubeconfig PATH]";

/// Command-line arguments (a handful: parsed by hand).
struct Args {
    command: String,
    reports: PathBuf,
    concurrency: usize,
    suffix: String,
    /// `--shape former`: the reports as polscan wrote them before.
    former_shape: bool,
    label: (String, String),
    kubeconfig: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1);
    let (Some(command), Some(reports)) = (args.next(), args.next()) else {
        bail!("{USAGE}");
    };
    let mut parsed = Args {
        command,
        reports: PathBuf::from(reports),
        concurrency: 8,
        suffix: "-raw".into(),
        former_shape: false,
        label: ("polscan-bench/write-limit".into(), "true".into()),
        kubeconfig: None,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--concurrency" => {
                parsed.concurrency = value
                    .parse()
                    .with_context(|| format!("--concurrency {value:?}"))?
            }
            "--suffix" => parsed.suffix = value,
            "--shape" => {
                parsed.former_shape = match value.as_str() {
                    "current" => false,
                    "former" => true,
                    _ => bail!("--shape {value:?}: expected current or former"),
                }
            }
            "--label" => {
                let (key, val) = value
                    .split_once('=')
                    .with_context(|| format!("--label {value:?}: expected KEY=VALUE"))?;
                parsed.label = (key.into(), val.into());
            }
            "--kubeconfig" => parsed.kubeconfig = Some(PathBuf::from(value)),
            _ => bail!("unknown flag {flag}\n{USAGE}"),
        }
    }
    Ok(parsed)
}

/// A report's place in the API: its namespace (`None` for a
/// ClusterPolicyReport) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    namespace: Option<String>,
    name: String,
}

impl Place {
    fn of(report: &Value) -> anyhow::Result<Place> {
        let text = |pointer: &str| report.str_at(pointer);
        let name = text("/metadata/name")
            .context("a report without metadata.name")?
            .to_string();
        let namespace = match text("/kind") {
            Some("PolicyReport") => Some(
                text("/metadata/namespace")
                    .with_context(|| format!("PolicyReport {name} without a namespace"))?
                    .to_string(),
            ),
            Some("ClusterPolicyReport") => None,
            other => bail!("{name}: not a report kind: {other:?}"),
        };
        Ok(Place { namespace, name })
    }

    fn collection(namespace: Option<&str>) -> String {
        match namespace {
            Some(namespace) => format!("{GROUP_VERSION}/namespaces/{namespace}/policyreports"),
            None => format!("{GROUP_VERSION}/clusterpolicyreports"),
        }
    }
}

/// The reports of the dry run, each renamed and marked, as apply bodies.
/// The list is read item by item (a 50,000-report dry run prints hundreds
/// of megabytes: only the encoded bodies are kept).
fn read_reports(args: &Args) -> anyhow::Result<Vec<(Place, Vec<u8>)>> {
    let file = std::fs::File::open(&args.reports)
        .with_context(|| format!("reading {}", args.reports.display()))?;
    let mut deserializer = serde_json::Deserializer::from_reader(std::io::BufReader::new(file));
    let bodies = serde::de::DeserializeSeed::deserialize(ListSeed(args), &mut deserializer)
        .with_context(|| format!("{}: expected a JSON List", args.reports.display()))?;
    bodies.into_iter().collect()
}

/// Deserializes `{"items": [...], ...}`, turning each item into its body
/// as soon as it is read.
struct ListSeed<'a>(&'a Args);

type Bodies = Vec<anyhow::Result<(Place, Vec<u8>)>>;

impl<'de> serde::de::DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Bodies;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Bodies, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ListSeed<'_> {
    type Value = Bodies;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a List object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Bodies, A::Error> {
        let mut bodies = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                bodies = map.next_value_seed(ItemsSeed(self.0))?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(bodies)
    }
}

struct ItemsSeed<'a>(&'a Args);

impl<'de> serde::de::DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = Bodies;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Bodies, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ItemsSeed<'_> {
    type Value = Bodies;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of reports")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Bodies, A::Error> {
        let mut bodies = Vec::new();
        while let Some(report) = seq.next_element::<Value>()? {
            bodies.push(body(report, self.0));
        }
        Ok(bodies)
    }
}

/// One report renamed (`--suffix`) and marked (`--label`), encoded.
fn body(mut report: Value, args: &Args) -> anyhow::Result<(Place, Vec<u8>)> {
    let metadata = report
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .context("a report without metadata")?;
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .context("a report without metadata.name")?;
    let renamed = format!("{name}{}", args.suffix);
    metadata.insert("name".into(), renamed.into());
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(labels) = labels {
        labels.insert(args.label.0.clone(), args.label.1.clone().into());
    }
    if args.former_shape {
        former_shape(&mut report);
    }
    let place = Place::of(&report)?;
    Ok((place, serde_json::to_vec(&report)?))
}

/// The shape polscan wrote before 2026-11-30: each result of a report with
/// a `scope` names it again in `resources`, and timestamps carry nanoseconds.
fn former_shape(report: &mut Value) {
    let scope = report.get("scope").cloned();
    let Some(results) = report.get_mut("results").and_then(Value::as_array_mut) else {
        return;
    };
    for result in results {
        if let (Some(scope), Some(result)) = (&scope, result.as_object_mut()) {
            result
                .entry("resources")
                .or_insert_with(|| Value::Array(vec![scope.clone()]));
        }
        if let Some(nanos) = result.pointer_mut("/timestamp/nanos") {
            *nanos = 123_456_789.into();
        }
    }
}

async fn client(kubeconfig: Option<&PathBuf>) -> anyhow::Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default()).await?
        }
        None => Config::infer().await?,
    };
    Ok(Client::try_from(config)?)
}

fn apply_request(place: &Place, body: Vec<u8>) -> anyhow::Result<Request<Vec<u8>>> {
    let uri = format!(
        "{}/{}?fieldManager=polscan&force=true",
        Place::collection(place.namespace.as_deref()),
        place.name
    );
    Ok(Request::builder()
        .method(Method::PATCH)
        .uri(uri)
        .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
        .body(body)?)
}

async fn apply(args: &Args) -> anyhow::Result<bool> {
    let reports = read_reports(args)?;
    let client = client(args.kubeconfig.as_ref()).await?;
    // One untimed write (under its own name, removed by `clean`) opens a
    // connection and lets the server build what its first apply of a
    // report kind needs, as polscan's discovery and earlier calls do
    // before its writes.
    if let Some((place, body)) = reports.first() {
        let warm = Place {
            namespace: place.namespace.clone(),
            name: format!("{}-warmup", place.name),
        };
        let mut body: Value = serde_json::from_slice(body)?;
        if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("name".into(), warm.name.clone().into());
        }
        client
            .request_text(apply_request(&warm, serde_json::to_vec(&body)?)?)
            .await
            .context("the warm-up write")?;
    }
    let bytes: usize = reports.iter().map(|(_, body)| body.len()).sum();
    let requests = reports
        .into_iter()
        .map(|(place, body)| Ok((apply_request(&place, body)?, place)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let total = requests.len();
    let started = Instant::now();
    let failures: Vec<String> = futures::stream::iter(requests)
        .map(|(request, place)| {
            let client = client.clone();
            async move {
                client
                    .request_text(request)
                    .await
                    .map_err(|err| format!("{place:?}: {err}"))
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .filter_map(|result| async move { result.err() })
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    for failure in failures.iter().take(5) {
        eprintln!("write-limit: {failure}");
    }
    let written = total - failures.len();
    println!(
        "written={written} failed={} seconds={seconds:.3} per_second={:.1} bytes={bytes} concurrency={}",
        failures.len(),
        if seconds > 0.0 { written as f64 / seconds } else { 0.0 },
        args.concurrency
    );
    Ok(failures.is_empty())
}

/// Marked reports left in one collection (at most one is fetched).
async fn any_left(client: &Client, collection: &str, selector: &str) -> anyhow::Result<bool> {
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("{collection}?labelSelector={selector}&limit=1"))
        .body(Vec::new())?;
    let page: Value = client.request(request).await?;
    Ok(page
        .get("items")
        .and_then(Value::as_array)
        .is_some_and(|items| !items.is_empty()))
}

async fn clean(args: &Args) -> anyhow::Result<bool> {
    let reports = read_reports(args)?;
    let mut namespaces: BTreeSet<Option<String>> = reports
        .into_iter()
        .map(|(place, _)| place.namespace)
        .collect();
    // The cluster collection too: the warm-up or an earlier run may have
    // left a marked report there even when this list has none.
    namespaces.insert(None);
    let client = client(args.kubeconfig.as_ref()).await?;
    let selector = format!("{}%3D{}", args.label.0, args.label.1);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    for namespace in &namespaces {
        let collection = Place::collection(namespace.as_deref());
        // A delete-collection of thousands may outlive the server's
        // request timeout while it goes on deleting: ask again until the
        // collection holds none.
        while any_left(&client, &collection, &selector).await? {
            if Instant::now() > deadline {
                bail!("{collection}: marked reports still there after 10 minutes");
            }
            let request = Request::builder()
                .method(Method::DELETE)
                .uri(format!("{collection}?labelSelector={selector}"))
                .body(Vec::new())?;
            if let Err(err) = client.request_text(request).await {
                eprintln!("write-limit: deleting in {collection}: {err} (retrying)");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    println!("deleted_seconds={:.3}", started.elapsed().as_secs_f64());
    Ok(true)
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let args = parse_args()?;
    let ok = match args.command.as_str() {
        "apply" => apply(&args).await?,
        "clean" => clean(&args).await?,
        other => bail!("unknown command {other}\n{USAGE}"),
    };
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
