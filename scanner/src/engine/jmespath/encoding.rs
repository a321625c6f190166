//! Kyverno's digest, certificate, image, URL and random-string functions:
//! `sha256`, `sha1`, `md5`, `x509_decode`, `image_normalize`,
//! `is_external_url`, `random`. Strings enter; strings, booleans or (for
//! certificates) objects leave.

use jmespath::functions::ArgumentType as A;
use jmespath::Runtime;
use serde_json::{json, Value};

use super::{failure, register, text, var};
use crate::engine::images;

pub(super) fn register_all(runtime: &mut Runtime) {
    register(
        runtime,
        "sha256",
        vec![A::String],
        None,
        Box::new(|args, _| {
            use sha2::Digest;
            Ok(var(Value::String(hex::encode(sha2::Sha256::digest(
                text(args, 0).as_bytes(),
            )))))
        }),
    );
    register(
        runtime,
        "sha1",
        vec![A::String],
        None,
        Box::new(|args, _| {
            use sha1::Digest;
            Ok(var(Value::String(hex::encode(sha1::Sha1::digest(
                text(args, 0).as_bytes(),
            )))))
        }),
    );
    register(
        runtime,
        "md5",
        vec![A::String],
        None,
        Box::new(|args, _| {
            use md5::Digest;
            Ok(var(Value::String(hex::encode(md5::Md5::digest(
                text(args, 0).as_bytes(),
            )))))
        }),
    );
    register(
        runtime,
        "image_normalize",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            let image = text(args, 0);
            let info =
                images::parse(&image).ok_or_else(|| failure(ctx, format!("bad image: {image}")))?;
            Ok(var(Value::String(info.reference)))
        }),
    );
    register(
        runtime,
        "is_external_url",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            is_external_url(&text(args, 0))
                .map(|b| var(Value::Bool(b)))
                .map_err(|e| failure(ctx, e))
        }),
    );
    register(
        runtime,
        "random",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            use rand::Rng;
            let generator = rand_regex::Regex::compile(&text(args, 0), 10)
                .map_err(|e| failure(ctx, e.to_string()))?;
            let value: String = rand::thread_rng().sample(&generator);
            Ok(var(Value::String(value)))
        }),
    );
    register(
        runtime,
        "x509_decode",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            x509_decode(&text(args, 0))
                .map(var)
                .map_err(|e| failure(ctx, e))
        }),
    );
}

/// Kyverno's `is_external_url`: false for loopback and private addresses;
/// host names are resolved, as Kyverno does.
fn is_external_url(url: &str) -> Result<bool, String> {
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let internal = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        std::net::IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(!internal(ip));
    }
    use std::net::ToSocketAddrs;
    let mut addresses = (host, 0)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?;
    Ok(!addresses.any(|a| internal(a.ip())))
}

/// Decodes a PEM certificate (or certificate request) into the main fields
/// of Go's `x509.Certificate` as Kyverno's JSON shows them.
fn x509_decode(pem_text: &str) -> Result<Value, String> {
    use x509_parser::prelude::*;
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes())
        .map_err(|e| format!("failed to decode PEM: {e}"))?;
    if pem.label == "CERTIFICATE REQUEST" {
        let (_, csr) =
            X509CertificationRequest::from_der(&pem.contents).map_err(|e| e.to_string())?;
        let info = &csr.certification_request_info;
        return Ok(json!({
            "Subject": name_json(&info.subject),
            "Version": info.version.0,
            "SignatureAlgorithm": csr.signature_algorithm.algorithm.to_id_string(),
        }));
    }
    let (_, cert) = X509Certificate::from_der(&pem.contents).map_err(|e| e.to_string())?;
    let dns_names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let time = |t: &ASN1Time| {
        chrono::DateTime::from_timestamp(t.timestamp(), 0)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    Ok(json!({
        "Version": cert.version().0 + 1,
        "SerialNumber": cert.raw_serial_as_string().replace(':', ""),
        "Issuer": name_json(cert.issuer()),
        "Subject": name_json(cert.subject()),
        "NotBefore": time(&cert.validity().not_before),
        "NotAfter": time(&cert.validity().not_after),
        "IsCA": cert.is_ca(),
        "DNSNames": dns_names,
        "SignatureAlgorithm": cert.signature_algorithm.algorithm.to_id_string(),
        "PublicKeyAlgorithm": cert.public_key().algorithm.algorithm.to_id_string(),
    }))
}

fn name_json(name: &x509_parser::x509::X509Name<'_>) -> Value {
    fn strings<'a>(
        iter: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
    ) -> Vec<Value> {
        iter.filter_map(|a| a.as_str().ok())
            .map(|s| Value::String(s.to_string()))
            .collect()
    }
    json!({
        "CommonName": name.iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or(""),
        "Organization": strings(name.iter_organization()),
        "OrganizationalUnit": strings(name.iter_organizational_unit()),
        "Country": strings(name.iter_country()),
        "Locality": strings(name.iter_locality()),
        "Province": strings(name.iter_state_or_province()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::search;
    use serde_json::json;

    fn eval(expression: &str) -> serde_json::Value {
        search(expression, &json!({})).expect("evaluates")
    }

    #[test]
    fn digests() {
        assert_eq!(
            eval("sha256('abc')"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            eval("md5('abc')"),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            eval("sha1('abc')"),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
    }

    #[test]
    fn images_urls_and_random_strings() {
        assert_eq!(
            eval("image_normalize('nginx')"),
            json!("docker.io/nginx:latest")
        );
        assert_eq!(
            eval("image_normalize('ghcr.io/a/b:1')"),
            json!("ghcr.io/a/b:1")
        );
        assert!(search("image_normalize('Bad Image')", &json!({})).is_err());
        assert_eq!(eval("is_external_url('http://10.0.0.1/x')"), json!(false));
        assert_eq!(
            eval("is_external_url('https://127.0.0.1:8443')"),
            json!(false)
        );
        assert_eq!(eval("is_external_url('https://[::1]/')"), json!(false));
        assert_eq!(eval("is_external_url('https://8.8.8.8')"), json!(true));
        let generated = eval("random('[a-z0-9]{6}')");
        let text = generated.as_str().expect("string");
        assert_eq!(text.len(), 6);
        assert!(text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn x509_decode_reads_a_certificate() {
        let pem = include_str!("testdata/selfsigned.pem");
        let decoded = search("x509_decode(@)", &json!(pem)).expect("decodes");
        assert_eq!(
            decoded.pointer("/Subject/CommonName"),
            Some(&json!("polscan-test"))
        );
        assert_eq!(
            decoded.pointer("/Subject/Organization/0"),
            Some(&json!("polscan"))
        );
        assert_eq!(decoded.pointer("/IsCA"), Some(&json!(true)));
        assert!(search("x509_decode('not a cert')", &json!({})).is_err());
    }
}
