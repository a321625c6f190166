//! Live HTTP calls for `polscan scan --allow-http`: CEL `http.Get/Post`,
//! JMESPath `apiCall.service` and GlobalContextEntry `apiCall.service`.
//! An [`HttpRequest`] enters; an [`HttpResponse`] (the status and the body
//! decoded as JSON) or an [`HttpCallError`] leaves. Calls are bounded by a
//! timeout and a maximum body size, as Kyverno's reports controller bounds
//! its API calls (`--apiCallTimeout`, `--maxAPICallResponseLength`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

use crate::engine::context::{HttpRequest, HttpResponse};

/// Kyverno's `--apiCallTimeout` default (cmd/reports-controller/main.go).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Kyverno's `--maxAPICallResponseLength` default for background scans
/// (cmd/reports-controller/main.go): 2,000,000 bytes.
pub const MAX_RESPONSE_LENGTH: usize = 2_000_000;

/// Why a call got no answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum HttpCallError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Kyverno's wording (pkg/engine/apicall/executor.go `buildHTTPClient`).
    #[error("failed to parse PEM CA bundle for APICall")]
    CaBundle,
    #[error("failed to execute HTTP request: {0}")]
    Transport(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Kyverno's wording (pkg/engine/apicall/executor.go `executeServiceCall`).
    #[error("response length must be less than max allowed response length of {0}")]
    TooLong(usize),
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Makes HTTP(S) calls; one client per CA bundle, reused for the run.
pub struct HttpCaller {
    timeout: Duration,
    max_length: usize,
    clients: Mutex<HashMap<Option<String>, HttpsClient>>,
}

impl Default for HttpCaller {
    fn default() -> Self {
        HttpCaller::new(DEFAULT_TIMEOUT, MAX_RESPONSE_LENGTH)
    }
}

impl HttpCaller {
    pub fn new(timeout: Duration, max_length: usize) -> HttpCaller {
        HttpCaller {
            timeout,
            max_length,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, ca_bundle: Option<&str>) -> Result<HttpsClient, HttpCallError> {
        let key = ca_bundle.map(str::to_string);
        if let Ok(clients) = self.clients.lock() {
            if let Some(client) = clients.get(&key) {
                return Ok(client.clone());
            }
        }
        let client = build_client(ca_bundle)?;
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(key, client.clone());
        }
        Ok(client)
    }

    /// Sends `request`. Any status is an answer; the body is decoded as
    /// JSON the way Go's `json.Decoder` reads it (the first value; null when
    /// it is not JSON, as kyverno/sdk http/http.go `executeRequest` leaves it).
    pub async fn call(&self, request: &HttpRequest) -> Result<HttpResponse, HttpCallError> {
        let client = self.client(request.ca_bundle.as_deref())?;
        let body = match &request.body {
            // Go's json.Encoder ends the value with a newline.
            Some(value) => {
                let mut bytes = serde_json::to_vec(value)
                    .map_err(|err| HttpCallError::InvalidRequest(err.to_string()))?;
                bytes.push(b'\n');
                bytes
            }
            None => Vec::new(),
        };
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let outgoing = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| HttpCallError::InvalidRequest(err.to_string()))?;
        let max_length = self.max_length;
        let exchange = async move {
            let response = client
                .request(outgoing)
                .await
                .map_err(|err| HttpCallError::Transport(error_chain(&err)))?;
            let status = response.status().as_u16();
            let bytes = Limited::new(response.into_body(), max_length)
                .collect()
                .await
                .map_err(|err| {
                    if err.is::<http_body_util::LengthLimitError>() {
                        HttpCallError::TooLong(max_length)
                    } else {
                        HttpCallError::Transport(err.to_string())
                    }
                })?
                .to_bytes();
            Ok::<_, HttpCallError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| HttpCallError::Timeout(self.timeout))??;
        Ok(HttpResponse {
            status,
            body: first_json_value(&bytes),
        })
    }
}

/// The first JSON value of `bytes`, or null.
fn first_json_value(bytes: &[u8]) -> Value {
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or(Value::Null)
}

/// The error with its causes, which hyper keeps apart ("client error
/// (Connect)" alone does not say the connection was refused).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A client trusting the system's roots, or only `ca_bundle`'s
/// certificates (TLS 1.2 at least, as Kyverno's `buildHTTPClient`).
fn build_client(ca_bundle: Option<&str>) -> Result<HttpsClient, HttpCallError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots_only = |roots: rustls::RootCertStore| {
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map(|config| config.with_root_certificates(roots).with_no_client_auth())
            .map_err(|err| HttpCallError::Transport(err.to_string()))
    };
    let builder = match ca_bundle {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|_| HttpCallError::CaBundle)?;
                roots.add(cert).map_err(|_| HttpCallError::CaBundle)?;
            }
            if roots.is_empty() {
                return Err(HttpCallError::CaBundle);
            }
            HttpsConnectorBuilder::new().with_tls_config(roots_only(roots)?)
        }
        None => match HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone())
        {
            Ok(builder) => builder,
            // No system roots (a bare container): plain HTTP still works,
            // HTTPS fails naming the unknown issuer.
            Err(_) => HttpsConnectorBuilder::new()
                .with_tls_config(roots_only(rustls::RootCertStore::empty())?),
        },
    };
    let connector = builder.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::{Read, Write};

    /// Serves one connection on a thread: records the request, answers
    /// `answer`.
    fn serve_once(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/check", listener.local_addr().expect("addr"));
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().expect("accept");
            let mut seen = Vec::new();
            let mut buffer = [0u8; 4096];
            // Read until the headers and the declared body are in.
            loop {
                let n = socket.read(&mut buffer).expect("read");
                seen.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&seen).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            socket.write_all(answer.as_bytes()).expect("write");
            String::from_utf8_lossy(&seen).to_string()
        });
        (url, server)
    }

    #[tokio::test]
    async fn posts_json_and_decodes_the_answer() {
        let (url, server) = serve_once(
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"granted\":true}",
        );
        let caller = HttpCaller::default();
        let response = caller
            .call(&HttpRequest {
                method: "POST".into(),
                url,
                headers: vec![("X-Team".into(), "a".into())],
                body: Some(json!({"user": "ann"})),
                ca_bundle: None,
            })
            .await
            .expect("answer");
        assert_eq!(response.status, 201);
        assert_eq!(response.body, json!({"granted": true}));
        let seen = server.join().expect("server");
        assert!(seen.starts_with("POST /check HTTP/1.1"), "{seen}");
        assert!(seen.to_lowercase().contains("x-team: a"), "{seen}");
        assert!(seen.ends_with("{\"user\":\"ann\"}\n"), "{seen}");
    }

    #[tokio::test]
    async fn bounds_the_answer_and_reads_non_json_as_null() {
        let (url, _server) = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"a\":\"long\"}",
        );
        let small = HttpCaller::new(DEFAULT_TIMEOUT, 5);
        let request = HttpRequest {
            method: "GET".into(),
            url,
            headers: Vec::new(),
            body: None,
            ca_bundle: None,
        };
        assert_eq!(small.call(&request).await, Err(HttpCallError::TooLong(5)));
        let (url, _server) = serve_once(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops",
        );
        let response = HttpCaller::default()
            .call(&HttpRequest {
                url,
                ..request.clone()
            })
            .await
            .expect("answer");
        assert_eq!((response.status, response.body), (500, Value::Null));
        let bad_bundle = HttpCaller::default()
            .call(&HttpRequest {
                ca_bundle: Some("not a certificate".into()),
                ..request
            })
            .await;
        assert_eq!(bad_bundle, Err(HttpCallError::CaBundle));
    }
}
