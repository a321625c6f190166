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
            // kube's own message repeats the path, quoted twice (walk69
            // W69-6): the path once, then the cause.
            let file = Kubeconfig::read_from(path).map_err(|err| {
                ClusterError::Config(match err {
                    kube::config::KubeconfigError::ReadConfig(io, _) => {
                        format!("{}: cannot read it: {io}", path.display())
                    }
                    other => format!("{}: {other}", path.display()),
                })
            })?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|err| ClusterError::Config(format!("{}: {err}", path.display())))?
        }
        None if context.is_some() => Config::from_kubeconfig(&options)
            .await
            .map_err(|err| ClusterError::Config(unreadable_env_kubeconfig(err.to_string())))?,
        None => Config::infer()
            .await
            .map_err(|err| ClusterError::Config(unreadable_env_kubeconfig(err.to_string())))?,
    };
    let server = config.cluster_url.to_string();
    tracing::debug!(%server, "connecting");
    Ok((client_of(config)?, server))
}

/// kube's message for a `KUBECONFIG` file it cannot read quotes the path
/// twice (walk78: `'"/tmp/k"'`): where a path `KUBECONFIG` lists cannot
/// be read, the path once, then the cause, as for `--kubeconfig`; else
/// kube's `message`.
fn unreadable_env_kubeconfig(message: String) -> String {
    let Some(paths) = std::env::var_os("KUBECONFIG") else {
        return message;
    };
    std::env::split_paths(&paths)
        .filter(|path| !path.as_os_str().is_empty())
        .find_map(|path| {
            std::fs::read(&path)
                .err()
                .map(|io| format!("{} (KUBECONFIG): cannot read it: {io}", path.display()))
        })
        .unwrap_or(message)
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
        .layer(tower::retry::RetryLayer::new(RefusedRetry::new(policy)))
        .layer(tower::buffer::BufferLayer::new(BUFFERED_REQUESTS));
    Ok(builder.with_layer(&layers).build())
}

/// How many times a request whose connection was refused is sent again.
const REFUSED_RETRIES: u32 = 3;

/// The wait before the first resend of a refused request; doubled each
/// time (0.2 + 0.4 + 0.8 s).
const REFUSED_FIRST_WAIT: Duration = Duration::from_millis(200);

/// kube's retry of 429/503/504 answers, plus a resend of a request whose
/// connection was refused ([`REFUSED_RETRIES`] times, within about 1.4 s):
/// an API server restarting (a rolling upgrade, a control-plane node
/// replaced) refuses connections for a moment, and each LIST or write it
/// refused failed the scan. Safe for writes too: a refused connection
/// carried no request. A connection that timed out is not resent (it
/// waited [`CONNECT_TIMEOUT`] already), nor is any other error.
#[derive(Clone)]
struct RefusedRetry {
    answers: RetryPolicy,
    refused: u32,
}

impl RefusedRetry {
    fn new(answers: RetryPolicy) -> RefusedRetry {
        RefusedRetry {
            answers,
            refused: 0,
        }
    }
}

impl<Res>
    tower::retry::Policy<http::Request<kube::client::Body>, http::Response<Res>, tower::BoxError>
    for RefusedRetry
{
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut http::Request<kube::client::Body>,
        result: &mut Result<http::Response<Res>, tower::BoxError>,
    ) -> Option<Self::Future> {
        match result {
            Err(err) if refused(err.as_ref()) && self.refused < REFUSED_RETRIES => {
                let wait = REFUSED_FIRST_WAIT * 2u32.pow(self.refused);
                self.refused += 1;
                tracing::debug!(error = %err, "connection refused; sending again");
                Some(tokio::time::sleep(wait))
            }
            _ => self.answers.retry(request, result),
        }
    }

    fn clone_request(
        &mut self,
        request: &http::Request<kube::client::Body>,
    ) -> Option<http::Request<kube::client::Body>> {
        <RetryPolicy as tower::retry::Policy<_, http::Response<Res>, _>>::clone_request(
            &mut self.answers,
            request,
        )
    }
}

/// Whether a connection refused is among `err`'s causes.
fn refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        cause = err.source();
    }
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A port nothing listens on until `after`, then a server answering
    /// every request with an empty PodList.
    async fn server_starting_after(after: Duration) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("its address")
        };
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .expect("binding the port again");
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let body = r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        address
    }

    fn client_for(address: std::net::SocketAddr) -> Client {
        let url: http::Uri = format!("http://{address}").parse().expect("a loopback URL");
        client_of(Config::new(url)).expect("a plain-HTTP client")
    }

    fn pods() -> http::Request<Vec<u8>> {
        http::Request::get("/api/v1/pods")
            .body(Vec::new())
            .expect("a GET request")
    }

    /// An API server restarting refuses connections for a moment: the
    /// request is sent again and answered (it failed the LIST before).
    #[tokio::test]
    async fn a_refused_connection_is_tried_again_while_the_server_starts() {
        let address = server_starting_after(Duration::from_millis(300)).await;
        let answer: serde_json::Value = client_for(address)
            .request(pods())
            .await
            .expect("answered once the server is up");
        assert_eq!(answer["kind"], "PodList");
    }

    /// A server that stays down fails the request after the retries, about
    /// 1.4 s, naming the refusal.
    #[tokio::test]
    async fn a_server_that_stays_down_fails_after_the_retries() {
        let address = server_starting_after(Duration::from_secs(3600)).await;
        let started = std::time::Instant::now();
        let err = client_for(address)
            .request::<serde_json::Value>(pods())
            .await
            .expect_err("nothing listens");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(1300) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        assert!(refused(&err), "{err}");
    }
}
