//! Live HTTP calls for `polscan scan --allow-http`: CEL `http.Get/Post`,
//! JMESPath `apiCall.service` and GlobalContextEntry `apiCall.service`.
//! An [`HttpRequest`] enters; an [`HttpResponse`] (the status and the body
//! decoded as JSON) or an [`HttpCallError`] leaves. Calls are bounded by a
//! timeout and a maximum body size, as Kyverno's reports controller bounds
//! its API calls (`--apiCallTimeout`, `--maxAPICallResponseLength`), and
//! refused for the hosts Kyverno's default `--httpBlocklist` names (cloud
//! metadata endpoints, loopback), so a policy cannot read them through the
//! scanner either.

use std::collections::HashMap;
use std::net::IpAddr;
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

/// Kyverno's default `--httpBlocklist` (pkg/toggle/toggle.go
/// `defaultPolicyHTTPBlocklist`): addresses and ranges (address, prefix),
/// plus the unspecified addresses, which Linux connects to loopback...
const BLOCKED_RANGES: [(&str, u8); 6] = [
    ("169.254.169.254", 32),
    ("169.254.169.253", 32),
    ("127.0.0.0", 8),
    ("::1", 128),
    ("0.0.0.0", 8),
    ("::", 128),
];

/// ...and host names.
const BLOCKED_HOSTS: [&str; 1] = ["metadata.google.internal"];

/// Why a call got no answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum HttpCallError {
    /// The URL, a redirect's `Location`, the JSON body or the request
    /// could not be made into a request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The address is on the blocklist (kyverno/sdk http/http.go wording).
    #[error("{0}")]
    Blocked(String),
    /// Kyverno's wording (pkg/engine/apicall/executor.go `buildHTTPClient`).
    #[error("failed to parse PEM CA bundle for APICall")]
    CaBundle,
    /// No answer: the name did not resolve, the connection, TLS or the
    /// body's read failed, or more than 10 redirects.
    #[error("failed to execute HTTP request: {0}")]
    Transport(String),
    /// The call, redirects included, took longer than the caller's
    /// timeout (carried).
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Kyverno's wording (pkg/engine/apicall/executor.go `executeServiceCall`).
    #[error("response length must be less than max allowed response length of {0}")]
    TooLong(usize),
}

type HttpsClient = Client<HttpsConnector<HttpConnector<CheckedResolver>>, Full<Bytes>>;

/// The connector's name resolver: the system's answer, without the
/// addresses the blocklist refuses when it applies. Checking the addresses
/// actually dialled (not a lookup made before) leaves no window for a name
/// that changes its answer, as Kyverno's `secureDialContext` checks them.
#[derive(Clone, Debug)]
struct CheckedResolver {
    blocklist: bool,
}

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for CheckedResolver {
    type Response = std::vec::IntoIter<std::net::SocketAddr>;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let blocklist = self.blocklist;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !blocklist {
                return Ok(found.into_iter());
            }
            let allowed: Vec<std::net::SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| blocked_range(address.ip()).is_none())
                .collect();
            if allowed.is_empty() && !found.is_empty() {
                let ip = found[0].ip();
                let range = blocked_range(ip).unwrap_or_default();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("connection to {host} blocked: IP {ip} falls in blocked range {range}"),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// Makes HTTP(S) calls; one client per CA bundle, reused for the run.
pub struct HttpCaller {
    timeout: Duration,
    max_length: usize,
    /// Refuse Kyverno's default blocklist.
    blocklist: bool,
    clients: Mutex<HashMap<Option<String>, HttpsClient>>,
}

impl Default for HttpCaller {
    /// Kyverno's bounds and blocklist.
    fn default() -> Self {
        HttpCaller::new(DEFAULT_TIMEOUT, MAX_RESPONSE_LENGTH).with_blocklist()
    }
}

impl HttpCaller {
    /// A caller with these bounds and no blocklist.
    pub fn new(timeout: Duration, max_length: usize) -> HttpCaller {
        HttpCaller {
            timeout,
            max_length,
            blocklist: false,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses the addresses of Kyverno's default `--httpBlocklist`.
    pub fn with_blocklist(mut self) -> HttpCaller {
        self.blocklist = true;
        self
    }

    /// Kyverno's checks (kyverno/sdk http/http.go `validateURL`,
    /// `secureDialContext`): the host name, then every address it resolves
    /// to, for a clear error before connecting. The connector's resolver
    /// ([`CheckedResolver`]) checks the addresses it dials again, so a name
    /// that changes its answer in between is still refused.
    async fn check_blocklist(&self, url: &str) -> Result<(), HttpCallError> {
        if !self.blocklist {
            return Ok(());
        }
        let uri: http::Uri = url
            .parse()
            .map_err(|err| HttpCallError::InvalidRequest(format!("{url}: {err}")))?;
        let host = uri.host().unwrap_or("");
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let normalized = host.trim_end_matches('.').to_ascii_lowercase();
        if BLOCKED_HOSTS.contains(&normalized.as_str()) {
            return Err(HttpCallError::Blocked(format!(
                "URL {url:?} is blocked: hostname {host:?} is on the blocklist"
            )));
        }
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("https") => 443,
            _ => 80,
        });
        let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|err| {
                    HttpCallError::Transport(format!("failed to resolve {host}: {err}"))
                })?
                .map(|address| address.ip())
                .collect(),
        };
        for ip in addresses {
            if let Some(range) = blocked_range(ip) {
                return Err(HttpCallError::Blocked(format!(
                    "connection to {host}:{port} blocked: IP {ip} falls in blocked range {range}"
                )));
            }
        }
        Ok(())
    }

    fn client(&self, ca_bundle: Option<&str>) -> Result<HttpsClient, HttpCallError> {
        let key = ca_bundle.map(str::to_string);
        if let Ok(clients) = self.clients.lock() {
            if let Some(client) = clients.get(&key) {
                return Ok(client.clone());
            }
        }
        let client = build_client(ca_bundle, self.blocklist)?;
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(key, client.clone());
        }
        Ok(client)
    }

    /// Sends `request`, following redirects as Go's `http.Client` does
    /// (at most 10; 301/302/303 turn a POST into a GET without body;
    /// credentials are not carried to another host). Any status is an
    /// answer; the body is decoded as JSON the way Go's `json.Decoder`
    /// reads it (the first value; null when it is not JSON, as kyverno/sdk
    /// http/http.go `executeRequest` leaves it).
    pub async fn call(&self, request: &HttpRequest) -> Result<HttpResponse, HttpCallError> {
        tokio::time::timeout(self.timeout, self.follow(request))
            .await
            .map_err(|_| HttpCallError::Timeout(self.timeout))?
    }

    async fn follow(&self, request: &HttpRequest) -> Result<HttpResponse, HttpCallError> {
        let client = self.client(request.ca_bundle.as_deref())?;
        let mut method = request.method.clone();
        let mut url = request.url.clone();
        let mut headers = request.headers.clone();
        let mut body = match &request.body {
            // Go's json.Encoder ends the value with a newline.
            Some(value) => {
                let mut bytes = serde_json::to_vec(value)
                    .map_err(|err| HttpCallError::InvalidRequest(err.to_string()))?;
                bytes.push(b'\n');
                bytes
            }
            None => Vec::new(),
        };
        for _ in 0..=MAX_REDIRECTS {
            self.check_blocklist(&url).await?;
            let mut builder = http::Request::builder()
                .method(method.as_str())
                .uri(url.as_str());
            for (name, value) in &headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let outgoing = builder
                .body(Full::new(Bytes::from(body.clone())))
                .map_err(|err| HttpCallError::InvalidRequest(err.to_string()))?;
            let response = client
                .request(outgoing)
                .await
                .map_err(|err| HttpCallError::Transport(error_chain(&err)))?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .filter(|_| matches!(status, 301 | 302 | 303 | 307 | 308));
            if let Some(location) = location {
                let next = resolve_location(&url, location)?;
                if host_of(&next) != host_of(&url) {
                    headers.retain(|(name, _)| {
                        !matches!(
                            name.to_ascii_lowercase().as_str(),
                            "authorization" | "www-authenticate" | "cookie" | "cookie2"
                        )
                    });
                }
                if (301..=303).contains(&status) && method != "GET" && method != "HEAD" {
                    method = "GET".to_string();
                    body.clear();
                }
                url = next;
                continue;
            }
            let bytes = Limited::new(response.into_body(), self.max_length)
                .collect()
                .await
                .map_err(|err| {
                    if err.is::<http_body_util::LengthLimitError>() {
                        HttpCallError::TooLong(self.max_length)
                    } else {
                        HttpCallError::Transport(err.to_string())
                    }
                })?
                .to_bytes();
            return Ok(HttpResponse {
                status,
                body: first_json_value(&bytes),
            });
        }
        Err(HttpCallError::Transport(format!(
            "stopped after {MAX_REDIRECTS} redirects"
        )))
    }
}

/// Go's `http.Client` redirect limit.
const MAX_REDIRECTS: usize = 10;

/// The authority of an absolute URL.
fn host_of(url: &str) -> String {
    url.parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.authority().map(|a| a.as_str().to_ascii_lowercase()))
        .unwrap_or_default()
}

/// A `Location` resolved against the URL that answered it (absolute,
/// scheme-relative, absolute-path or relative-path references).
fn resolve_location(base: &str, location: &str) -> Result<String, HttpCallError> {
    let invalid = || HttpCallError::InvalidRequest(format!("redirect to {location:?} from {base}"));
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(location.to_string());
    }
    let uri: http::Uri = base.parse().map_err(|_| invalid())?;
    let scheme = uri.scheme_str().ok_or_else(invalid)?;
    let authority = uri.authority().ok_or_else(invalid)?;
    if let Some(rest) = location.strip_prefix("//") {
        return Ok(format!("{scheme}://{rest}"));
    }
    if location.starts_with('/') {
        return Ok(format!("{scheme}://{authority}{location}"));
    }
    let path = uri.path();
    let directory = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let directory = if directory.is_empty() { "/" } else { directory };
    Ok(format!("{scheme}://{authority}{directory}{location}"))
}

/// The blocked range holding `ip`, as `address/prefix`. An IPv4 address
/// mapped into IPv6 counts as the IPv4 address, as in Go's `IPNet.Contains`.
fn blocked_range(ip: IpAddr) -> Option<String> {
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    BLOCKED_RANGES.iter().find_map(|(network, prefix)| {
        let network: IpAddr = network.parse().ok()?;
        let inside = match (ip, network) {
            (IpAddr::V4(ip), IpAddr::V4(net)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(ip) & mask == u32::from(net) & mask
            }
            (IpAddr::V6(ip), IpAddr::V6(net)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(ip) & mask == u128::from(net) & mask
            }
            _ => false,
        };
        inside.then(|| format!("{network}/{prefix}"))
    })
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
fn build_client(ca_bundle: Option<&str>, blocklist: bool) -> Result<HttpsClient, HttpCallError> {
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
    let mut http = HttpConnector::new_with_resolver(CheckedResolver { blocklist });
    http.enforce_http(false);
    let connector = builder.https_or_http().enable_http1().wrap_connector(http);
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
        let caller = HttpCaller::new(DEFAULT_TIMEOUT, MAX_RESPONSE_LENGTH);
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
        let response = HttpCaller::new(DEFAULT_TIMEOUT, MAX_RESPONSE_LENGTH)
            .call(&HttpRequest {
                url,
                ..request.clone()
            })
            .await
            .expect("answer");
        assert_eq!((response.status, response.body), (500, Value::Null));
        let bad_bundle = HttpCaller::new(DEFAULT_TIMEOUT, MAX_RESPONSE_LENGTH)
            .call(&HttpRequest {
                ca_bundle: Some("not a certificate".into()),
                ..request
            })
            .await;
        assert_eq!(bad_bundle, Err(HttpCallError::CaBundle));
    }

    #[tokio::test]
    async fn kyvernos_default_blocklist_is_refused() {
        let caller = HttpCaller::default();
        let get = |url: &str| HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            ca_bundle: None,
        };
        for (url, range) in [
            (
                "http://169.254.169.254/latest/meta-data",
                "169.254.169.254/32",
            ),
            ("http://127.0.0.2:8080/", "127.0.0.0/8"),
            ("http://[::1]/", "::1/128"),
            ("http://[::ffff:127.0.0.1]/", "127.0.0.0/8"),
            ("http://0.0.0.0:8080/", "0.0.0.0/8"),
            ("http://localhost/", ""),
        ] {
            match caller.call(&get(url)).await {
                Err(HttpCallError::Blocked(message)) => {
                    assert!(message.contains(range), "{url}: {message}")
                }
                other => panic!("{url}: want blocked, got {other:?}"),
            }
        }
        match caller
            .call(&get("https://METADATA.google.internal./computeMetadata"))
            .await
        {
            Err(HttpCallError::Blocked(message)) => {
                assert!(message.contains("is on the blocklist"), "{message}")
            }
            other => panic!("want blocked, got {other:?}"),
        }
        assert_eq!(blocked_range("10.1.2.3".parse().unwrap()), None);
        assert_eq!(blocked_range("169.254.169.1".parse().unwrap()), None);
    }

    #[tokio::test]
    async fn the_connector_refuses_blocked_addresses_it_resolves() {
        use std::str::FromStr;
        use tower_service::Service;
        let name =
            || hyper_util::client::legacy::connect::dns::Name::from_str("localhost").expect("name");
        let refused = CheckedResolver { blocklist: true }
            .call(name())
            .await
            .expect_err("loopback");
        assert!(refused.to_string().contains("blocked range"), "{refused}");
        let allowed: Vec<_> = CheckedResolver { blocklist: false }
            .call(name())
            .await
            .expect("resolved")
            .collect();
        assert!(allowed.iter().all(|a| a.ip().is_loopback()) && !allowed.is_empty());
    }

    #[test]
    fn redirect_locations_resolve_against_the_answering_url() {
        let base = "https://a.test:8443/v1/apps/x?q=1";
        for (location, want) in [
            ("https://b.test/y", "https://b.test/y"),
            ("//c.test/z", "https://c.test/z"),
            ("/root", "https://a.test:8443/root"),
            ("sibling", "https://a.test:8443/v1/apps/sibling"),
        ] {
            assert_eq!(resolve_location(base, location).as_deref(), Ok(want));
        }
        assert_eq!(host_of(base), "a.test:8443");
    }

    #[tokio::test]
    async fn a_post_redirected_by_303_is_followed_as_a_get() {
        let (target, target_server) = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}",
        );
        let answer: &'static str = Box::leak(
            format!(
                "HTTP/1.1 303 See Other\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .into_boxed_str(),
        );
        let (first, first_server) = serve_once(answer);
        let response = HttpCaller::new(DEFAULT_TIMEOUT, MAX_RESPONSE_LENGTH)
            .call(&HttpRequest {
                method: "POST".into(),
                url: first,
                headers: Vec::new(),
                body: Some(json!({"a": 1})),
                ca_bundle: None,
            })
            .await
            .expect("answer");
        assert_eq!((response.status, response.body), (200, json!({"ok": true})));
        assert!(first_server.join().expect("first").starts_with("POST "));
        assert!(target_server
            .join()
            .expect("target")
            .starts_with("GET /check"));
    }
}
