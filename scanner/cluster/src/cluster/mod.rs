//! Everything polscan does over the network with a Kubernetes API server:
//! connecting, discovery, paginated lists, reading policies, answering the
//! engine's lookups, and reading/writing reports. Requests leave through a
//! `kube::Client`; plain JSON values and [`ClusterError`]s naming what was
//! asked come back. Decisions (what to list, what to write) are made
//! elsewhere, without I/O.

pub mod connect;
pub mod discovery;
pub mod evidence_source;
pub mod http_calls;
pub mod lease;
pub mod listing;
pub mod lookups;
pub mod policy_source;
pub mod report_store;
pub mod run_record;

use std::time::Duration;

/// A failed request, naming what was asked and why it failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    /// The server answered with an error status.
    #[error("{what}: {reason} ({code}): {message}")]
    Status {
        /// What was asked (`listing /api/v1/pods`, `reading CRD …`).
        what: String,
        /// The HTTP status code (404, 403, 503, …).
        code: u16,
        /// The Status's `reason` (`NotFound`, `Forbidden`, …); for an
        /// answer that is no Kubernetes Status, what it likely is.
        reason: String,
        /// The Status's `message`; for an answer that is no Kubernetes
        /// Status, the body's first line, cut at 120 characters.
        message: String,
    },
    /// The request did not get an answer (connection, TLS, timeout, decoding).
    #[error("{what}: {message}")]
    Transport {
        /// What was asked.
        what: String,
        /// What went wrong (a kube-client error and each of its causes,
        /// `: `-joined).
        message: String,
    },
    /// The client could not be configured (`connect`): the kubeconfig
    /// (prefixed with its path when one was given), its context, or the
    /// in-cluster service account could not be read or used.
    #[error("kubeconfig: {0}")]
    Config(String),
    /// polscan did not send an object because the server would refuse it
    /// (a report that does not fit its CRD schema or the server's size
    /// limit, say).
    #[error("{what}: not written: {message}")]
    NotSent {
        /// The object (`PolicyReport <namespace>/<name>`,
        /// `ClusterPolicyReport <name>`).
        what: String,
        /// Why the server would refuse it (the schema error).
        message: String,
    },
}

/// The reason kube-client gives an error answer whose body is not a
/// Kubernetes `Status` (kube-client `client/mod.rs`).
const KUBE_UNPARSED_ERROR: &str = "Failed to parse error data";

impl ClusterError {
    /// A kube-client error as a [`ClusterError`] naming `what`: the
    /// server's Status as [`ClusterError::Status`] (an error body that is
    /// no Status explained and shortened), any other error as
    /// [`ClusterError::Transport`] with its causes.
    pub(crate) fn from_kube(what: impl Into<String>, err: kube::Error) -> ClusterError {
        let what = what.into();
        match err {
            // kube's words for an error body that is no Kubernetes Status:
            // the kubeconfig's server is likely something else (a proxy, a
            // web server, a wrong port), and its error page is no message:
            // its start will do.
            // The API server's own plain-text 503: an aggregated API
            // (an APIService) whose backend does not answer.
            kube::Error::Api(status)
                if status.reason == KUBE_UNPARSED_ERROR && status.code == 503 =>
            {
                ClusterError::Status {
                    what,
                    code: status.code,
                    reason: "ServiceUnavailable: an aggregated API (an APIService: metrics-server, reports-server, …) whose backend does not answer, or an overloaded API server".into(),
                    message: shortened(&status.message),
                }
            }
            kube::Error::Api(status) if status.reason == KUBE_UNPARSED_ERROR => {
                ClusterError::Status {
                    what,
                    code: status.code,
                    reason: "not an answer of a Kubernetes API server (check the kubeconfig's server address)".into(),
                    message: shortened(&status.message),
                }
            }
            kube::Error::Api(status) => ClusterError::Status {
                what,
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => ClusterError::Transport {
                what,
                message: timeout_named(error_chain(&other), timed_out(&other)),
            },
        }
    }

    /// The HTTP status code, when the server answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClusterError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// The first line of `text`, at most 120 characters, marked when cut.
fn shortened(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    let cut: String = line.chars().take(120).collect();
    if cut.len() < text.trim().len() {
        format!("{cut} …")
    } else {
        cut
    }
}

/// An error and its sources, `: `-joined, each said once: kube's own text
/// of a connection failure ("client error (Connect)") leaves out the cause
/// its sources give (refused, no route, DNS, a TLS certificate error).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    // rustls' words for a plain-HTTP answer to a TLS hello.
    if message.contains("InvalidContentType") {
        message.push_str(
            " (the server answered without TLS: is the kubeconfig's https:// address a plain-HTTP port?)",
        );
    }
    message
}

/// Whether an error or one of its sources is an I/O time-out (the
/// client's connect, read or write timeout).
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = err.source();
    }
    false
}

/// A transport error's message, opening with how long polscan waited when
/// it timed out: "timed out after 30s" says more than kube's chain.
fn timeout_named(message: String, timed_out: bool) -> String {
    if !timed_out {
        return message;
    }
    let waited = if message.contains("(Connect)") {
        connect::CONNECT_TIMEOUT
    } else {
        connect::READ_TIMEOUT
    };
    format!(
        "timed out after {}s without an answer (the API server, or its etcd, is not answering): {message}",
        waited.as_secs()
    )
}

/// Sends a request built by `kube::core::Request`, naming `what` in either
/// error: a request that could not be built, or the server's answer.
pub(crate) async fn send<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    what: String,
    request: Result<http::Request<Vec<u8>>, kube::core::request::Error>,
) -> Result<T, ClusterError> {
    let request = request.map_err(|err| ClusterError::Transport {
        what: what.clone(),
        message: err.to_string(),
    })?;
    request_within(client, request, ANSWER_TIMEOUT)
        .await
        .map_err(|err| ClusterError::from_kube(what, err))
}

/// How long one answer may take as a whole, from sending the request to
/// the last byte of its body (retries of 429/503/504 included).
/// [`connect::READ_TIMEOUT`] bounds silence only, so a body trickled a
/// byte at a time (a stalled proxy or link) held a LIST until the scan's
/// `--timeout`. The API server ends its own handlers at 60 s
/// (`--request-timeout`): a healthy answer never comes near this.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(90);

/// An answer not complete within its bound ([`request_within`]).
#[derive(Debug, thiserror::Error)]
#[error("no complete answer within {}: it came too slowly (the API server, its etcd or the network between is stalled)", bound_text(*.0))]
pub struct AnswerTooSlow(pub Duration);

/// `90s`, or `800ms` for a bound under a whole second.
fn bound_text(bound: Duration) -> String {
    if bound.subsec_millis() == 0 {
        format!("{}s", bound.as_secs())
    } else {
        format!("{}ms", bound.as_millis())
    }
}

/// `client.request`, the whole answer (headers and body) bounded by
/// `bound`; past it, kube's service error holding [`AnswerTooSlow`].
pub(crate) async fn request_within<T: serde::de::DeserializeOwned>(
    client: &kube::Client,
    request: http::Request<Vec<u8>>,
    bound: Duration,
) -> Result<T, kube::Error> {
    match tokio::time::timeout(bound, client.request::<T>(request)).await {
        Ok(answer) => answer,
        Err(_) => Err(kube::Error::Service(Box::new(AnswerTooSlow(bound)))),
    }
}

/// A 404 answer as `None`: the object is not there.
pub(crate) fn absent_if_not_found<T>(
    result: Result<T, ClusterError>,
) -> Result<Option<T>, ClusterError> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.code() == Some(404) => Ok(None),
        Err(err) => Err(err),
    }
}

/// One object of `collection` (a path as `ApiResource::collection_path` gives).
pub(crate) async fn get(
    client: &kube::Client,
    collection: &str,
    name: &str,
) -> Result<serde_json::Value, ClusterError> {
    send(
        client,
        format!("reading {collection}/{name}"),
        kube::core::Request::new(collection).get(name, &Default::default()),
    )
    .await
}

/// The body of a server-side apply: `value` as JSON whose every character
/// a YAML reader refuses is `\u`-escaped ([`report_model::wire`]: the API
/// server reads an apply with a YAML decoder). One such character in a
/// message (interpolated from an annotation anyone can set) made a report
/// refused on every run (fault17 F17-2). The size checks measure this same
/// form (fault18 F18-4). Errors: `value` does not serialize.
pub(crate) fn apply_body<T: serde::Serialize + ?Sized>(
    value: &T,
    what: &str,
) -> Result<Box<serde_json::value::RawValue>, ClusterError> {
    let encoding = |err: serde_json::Error| ClusterError::Transport {
        what: format!("encoding {what}"),
        message: err.to_string(),
    };
    let json = serde_json::to_string(value).map_err(encoding)?;
    serde_json::value::RawValue::from_string(report_model::wire::apply_json(json)).map_err(encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// red22 F8: a server that sends its headers at once, then the body a
    /// byte at a time, never silent for the read timeout.
    async fn trickling_server() -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port");
        let address = listener.local_addr().expect("the bound address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request).await;
                    let body = br#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}"#;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    for byte in body {
                        tokio::time::sleep(Duration::from_millis(40)).await;
                        if stream.write_all(&[*byte]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn an_answer_trickled_past_its_bound_is_an_error_naming_the_bound() {
        let address = trickling_server().await;
        let url: http::Uri = format!("http://{address}").parse().expect("a loopback URL");
        let mut config = kube::Config::new(url);
        config.read_timeout = Some(Duration::from_secs(5));
        let client = kube::Client::try_from(config).expect("a plain-HTTP client");
        let request = || {
            http::Request::get("/api/v1/pods")
                .body(Vec::new())
                .expect("a GET request")
        };
        // Never silent for 5 s, the whole answer takes about 2.5 s.
        let started = std::time::Instant::now();
        let err =
            request_within::<serde_json::Value>(&client, request(), Duration::from_millis(800))
                .await
                .expect_err("the answer outlived its bound");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let err = ClusterError::from_kube("listing /api/v1/pods", err);
        assert!(
            err.to_string().starts_with("listing /api/v1/pods: ")
                && err.to_string().contains("no complete answer within 800ms"),
            "{err}"
        );
        // Within a bound it outlasts, the same answer is read whole.
        let answer =
            request_within::<serde_json::Value>(&client, request(), Duration::from_secs(30))
                .await
                .expect("the whole answer");
        assert_eq!(answer["kind"], "PodList");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_transport_error_names_its_cause() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        assert_eq!(
            error_chain(&Outer(refused)),
            "client error (Connect): Connection refused (os error 111)"
        );
    }

    #[test]
    fn a_timed_out_request_says_how_long_it_waited() {
        let timed = Outer(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "operation timed out",
        ));
        assert!(timed_out(&timed));
        let message = timeout_named(error_chain(&timed), true);
        assert!(message.starts_with("timed out after 10s"), "{message}");
        let refused = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        assert!(!timed_out(&refused));
        assert_eq!(
            timeout_named("read: operation timed out".into(), true),
            "timed out after 30s without an answer (the API server, or its etcd, is not answering): read: operation timed out"
        );
    }

    #[test]
    fn an_answer_that_is_no_kubernetes_status_says_so() {
        let status =
            kube::core::Status::failure("404 page not found", KUBE_UNPARSED_ERROR).with_code(404);
        let err = ClusterError::from_kube("discovery", kube::Error::Api(Box::new(status)));
        assert_eq!(
            err.to_string(),
            "discovery: not an answer of a Kubernetes API server (check the kubeconfig's server address) (404): 404 page not found"
        );
        assert_eq!(err.code(), Some(404));
        // A whole HTML error page is cut to its first line.
        let page = format!(
            "<!DOCTYPE HTML>\n<html><body>{}</body></html>",
            "x".repeat(500)
        );
        let status = kube::core::Status::failure(&page, KUBE_UNPARSED_ERROR).with_code(404);
        let err = ClusterError::from_kube("discovery", kube::Error::Api(Box::new(status)));
        assert!(
            err.to_string().ends_with("(404): <!DOCTYPE HTML> …"),
            "{err}"
        );
        // The API server's plain 503 for an aggregated API that is down.
        let status = kube::core::Status::failure("service unavailable\n", KUBE_UNPARSED_ERROR)
            .with_code(503);
        let err = ClusterError::from_kube("discovery", kube::Error::Api(Box::new(status)));
        assert!(
            err.to_string()
                .starts_with("discovery: ServiceUnavailable: an aggregated API (an APIService"),
            "{err}"
        );
    }

    /// fault17 F17-2: what a YAML reader refuses raw goes escaped, and
    /// the body reads back as the same value.
    #[test]
    fn an_apply_body_escapes_what_yaml_refuses() {
        let value = serde_json::json!({"message": "a\u{7f}b\u{9b}c\u{85}d\u{fffe}e\u{ffff}\u{feff}\u{1b}é😀"});
        let body = apply_body(&value, "test").unwrap();
        let text = body.get();
        for c in ['\u{7f}', '\u{9b}', '\u{fffe}', '\u{ffff}', '\u{1b}'] {
            assert!(!text.contains(c), "{c:?} raw in {text}");
        }
        assert!(text.contains("\\u007f") && text.contains("\\u009b") && text.contains("\\ufffe"));
        // NEL, which a YAML reader folds to a space, goes escaped too; the
        // BOM and the rest it takes stay as they are.
        assert!(!text.contains('\u{85}') && text.contains("\\u0085"));
        assert!(text.contains('\u{feff}') && text.contains('😀'));
        let back: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, value);
    }
}
