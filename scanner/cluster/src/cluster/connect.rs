//! Connecting: a kubeconfig file and context, `KUBECONFIG`/`~/.kube/config`,
//! or the in-cluster service account enter; a `kube::Client` leaves.

use std::path::Path;

use std::time::Duration;

use kube::client::retry::RetryPolicy;
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::ClusterError;

/// Builds a client: an explicit kubeconfig path wins, then the usual
/// inference (`KUBECONFIG`, `~/.kube/config`, in-cluster).
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Client, ClusterError> {
    connect_with_server(kubeconfig, context)
        .await
        .map(|(client, _)| client)
}

/// [`connect`], also returning the server URL, for messages that must say
/// which cluster could not be reached.
pub async fn connect_with_server(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<(Client, String), ClusterError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|err| ClusterError::Config(format!("{}: {err}", path.display())))?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|err| ClusterError::Config(format!("{}: {err}", path.display())))?
        }
        None if context.is_some() => Config::from_kubeconfig(&options)
            .await
            .map_err(|err| ClusterError::Config(err.to_string()))?,
        None => Config::infer()
            .await
            .map_err(|err| ClusterError::Config(err.to_string()))?,
    };
    let server = config.cluster_url.to_string();
    tracing::debug!(%server, "connecting");
    Ok((client_of(config)?, server))
}

/// A client whose answers 429, 503 and 504 are retried [`RETRIES`] times,
/// within about a second and a half (or the server's `Retry-After`), not
/// kube's default 15 times over minutes: an API server throttling a burst
/// of writes (429) recovers that fast, while an aggregated API whose
/// backend is down (503: metrics-server, reports-server) stays down, and
/// the scan must say so, not wait.
///
/// Each request is bounded: [`CONNECT_TIMEOUT`] to connect,
/// [`READ_TIMEOUT`] of silence while awaiting the answer, and as long to
/// send it. kube leaves reads unbounded (for exec and watch streams, which
/// polscan does not use), so with etcd down each LIST waited for the API
/// server's own 60 s timeout, retried on its 504: a scan then hung.
fn client_of(mut config: Config) -> Result<Client, ClusterError> {
    config.default_retry = false;
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    config.write_timeout = Some(READ_TIMEOUT);
    // The read timeout counts from the request, not from when its pooled
    // connection went idle.
    config.reset_reader_on_write = true;
    let policy = RetryPolicy::new(
        Duration::from_millis(200),
        Duration::from_secs(1),
        RETRIES,
        true,
    )
    .map_err(|err| ClusterError::Config(err.to_string()))?;
    let builder =
        ClientBuilder::try_from(config).map_err(|err| ClusterError::Config(err.to_string()))?;
    // Retrying needs a service it can clone: the buffer's handle.
    let layers = tower::ServiceBuilder::new()
        .layer(tower::retry::RetryLayer::new(policy))
        .layer(tower::buffer::BufferLayer::new(BUFFERED_REQUESTS));
    Ok(builder.with_layer(&layers).build())
}

/// How long connecting to the API server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request may wait with no byte of its answer (or take to be
/// sent): below the API server's own 60 s request timeout, above what a
/// healthy server takes for a page of a LIST.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Retries of an answer 429, 503 or 504.
const RETRIES: u32 = 3;

/// Requests waiting for the client's service at once (writes, LISTs and
/// lookups in flight are far fewer).
const BUFFERED_REQUESTS: usize = 1024;
