//! x509_decode: a PEM certificate or certificate request as an object.
//!
//! Kyverno parses with Go's crypto/x509 and JSON-encodes the Go struct, so
//! the object has Go's field names (`Subject.CommonName`, `NotAfter`,
//! `PublicKey.N`, ...), byte fields as base64, enums as Go's integers, and
//! absent lists as null. The input is one string (PEM text); only RSA keys
//! are accepted, as in Kyverno.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jmespath::{Rcvar, Variable};
use serde_json::{json, Map, Value};
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::time::ASN1Time;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo, X509Name};

use super::convert::to_variable;
use super::functions::{string, Arg, KyvernoFunction};

pub(super) const FUNCTIONS: &[KyvernoFunction] = &[KyvernoFunction {
    name: "x509_decode",
    args: &[Arg::String],
    handler: x509_decode,
}];

fn x509_decode(args: &[Rcvar]) -> Result<Variable, String> {
    let decoded = decode(string(args, 0)?)?;
    Ok(to_variable(&decoded).as_ref().clone())
}

/// Decodes the first PEM block of `input`.
pub(super) fn decode(input: &str) -> Result<Value, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(input.as_bytes())
        .map_err(|_| "failed to decode PEM block".to_string())?;
    match pem.label.as_str() {
        "CERTIFICATE" => {
            let (_, cert) = X509Certificate::from_der(&pem.contents)
                .map_err(|e| format!("x509: malformed certificate: {e}"))?;
            certificate(&pem.contents, &cert)
        }
        "CERTIFICATE REQUEST" => {
            let (_, csr) = X509CertificationRequest::from_der(&pem.contents)
                .map_err(|e| format!("x509: malformed certificate request: {e}"))?;
            request(&pem.contents, &csr)
        }
        _ => Err("PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST".to_string()),
    }
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(STANDARD.encode(bytes))
}

fn oid_array(oid: &Oid) -> Value {
    match oid.iter() {
        Some(arcs) => Value::Array(arcs.map(Value::from).collect()),
        None => Value::Null,
    }
}

fn oid_text(oid: &Oid) -> String {
    oid.to_id_string()
}

/// Go's `SignatureAlgorithm` constants.
fn signature_algorithm(algorithm: &AlgorithmIdentifier) -> i64 {
    match oid_text(&algorithm.algorithm).as_str() {
        "1.2.840.113549.1.1.2" => 1,
        "1.2.840.113549.1.1.4" => 2,
        "1.2.840.113549.1.1.5" => 3,
        "1.2.840.113549.1.1.11" => 4,
        "1.2.840.113549.1.1.12" => 5,
        "1.2.840.113549.1.1.13" => 6,
        "1.2.840.10040.4.3" => 7,
        "2.16.840.1.101.3.4.3.2" => 8,
        "1.2.840.10045.4.1" => 9,
        "1.2.840.10045.4.3.2" => 10,
        "1.2.840.10045.4.3.3" => 11,
        "1.2.840.10045.4.3.4" => 12,
        // RSASSA-PSS: the hash is in the parameters; SHA-256 is the usual one.
        "1.2.840.113549.1.1.10" => 13,
        "1.3.101.112" => 16,
        _ => 0,
    }
}

/// Big-endian unsigned bytes as decimal text (`big.Int.String()`).
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &byte in bytes {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            let v = *d as u32 * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// The RSA key as Kyverno replaces it: `{"N": "<decimal>", "E": <int>}`.
fn rsa_key(spki: &SubjectPublicKeyInfo) -> Result<Value, String> {
    if oid_text(&spki.algorithm.algorithm) != "1.2.840.113549.1.1.1" {
        return Err("certificate should use rsa algorithm".to_string());
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(key)) => {
            let exponent = key.exponent.iter().fold(0i64, |acc, b| {
                acc.saturating_mul(256).saturating_add(*b as i64)
            });
            Ok(json!({"N": decimal(key.modulus), "E": exponent}))
        }
        _ => Err("failed to parse subject public key info".to_string()),
    }
}

/// `pkix.Name` after `FillFromRDNSequence`.
fn name(name: &X509Name) -> Value {
    let mut lists: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut common_name = String::new();
    let mut serial_number = String::new();
    let mut names = Vec::new();
    for attribute in name.iter_attributes() {
        let value = attribute
            .as_str()
            .map(|s| Value::String(s.to_string()))
            .unwrap_or_else(|_| b64(attribute.attr_value().data));
        names.push(json!({"Type": oid_array(attribute.attr_type()), "Value": value}));
        let Value::String(text) = value else {
            continue;
        };
        let field = match oid_text(attribute.attr_type()).as_str() {
            "2.5.4.3" => {
                common_name = text;
                continue;
            }
            "2.5.4.5" => {
                serial_number = text;
                continue;
            }
            "2.5.4.6" => "Country",
            "2.5.4.7" => "Locality",
            "2.5.4.8" => "Province",
            "2.5.4.9" => "StreetAddress",
            "2.5.4.10" => "Organization",
            "2.5.4.11" => "OrganizationalUnit",
            "2.5.4.17" => "PostalCode",
            _ => continue,
        };
        lists.entry(field).or_default().push(Value::String(text));
    }
    let mut out = Map::new();
    for field in [
        "Country",
        "Organization",
        "OrganizationalUnit",
        "Locality",
        "Province",
        "StreetAddress",
        "PostalCode",
    ] {
        out.insert(
            field.to_string(),
            lists.remove(field).map_or(Value::Null, Value::Array),
        );
    }
    out.insert("SerialNumber".into(), Value::String(serial_number));
    out.insert("CommonName".into(), Value::String(common_name));
    out.insert("Names".into(), Value::Array(names));
    out.insert("ExtraNames".into(), Value::Null);
    Value::Object(out)
}

/// Go's `time.Time` JSON (RFC 3339 with nanoseconds, UTC here).
fn time(t: &ASN1Time) -> Value {
    match chrono::DateTime::from_timestamp(t.timestamp(), 0) {
        Some(dt) => Value::String(dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => Value::Null,
    }
}

fn extensions(list: &[X509Extension]) -> Value {
    if list.is_empty() {
        return Value::Null;
    }
    Value::Array(
        list.iter()
            .map(
                |e| json!({"Id": oid_array(&e.oid), "Critical": e.critical, "Value": b64(e.value)}),
            )
            .collect(),
    )
}

fn list_or_null(items: Vec<Value>) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items)
    }
}

/// Go's `url.URL` JSON for a SAN URI (only the parts a SAN carries).
fn url_object(uri: &str) -> Value {
    let (scheme, rest) = uri.split_once(':').unwrap_or(("", uri));
    let (host, path) = match rest.strip_prefix("//") {
        Some(r) => match r.find('/') {
            Some(i) => (&r[..i], &r[i..]),
            None => (r, ""),
        },
        None => ("", rest),
    };
    json!({"Scheme": scheme, "Opaque": "", "User": null, "Host": host, "Path": path,
           "RawPath": "", "OmitHost": false, "ForceQuery": false, "RawQuery": "",
           "Fragment": "", "RawFragment": ""})
}

fn ip_text(bytes: &[u8]) -> Value {
    match bytes.len() {
        4 => Value::String(
            std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        ),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            Value::String(std::net::Ipv6Addr::from(octets).to_string())
        }
        _ => Value::Null,
    }
}

/// DNSNames, EmailAddresses, IPAddresses and URIs from the SAN extension.
fn alternative_names<'a>(
    parsed: impl Iterator<Item = &'a ParsedExtension<'a>>,
    out: &mut Map<String, Value>,
) {
    let (mut dns, mut email, mut ips, mut uris) = (vec![], vec![], vec![], vec![]);
    for extension in parsed {
        if let ParsedExtension::SubjectAlternativeName(san) = extension {
            for general in &san.general_names {
                match general {
                    GeneralName::DNSName(s) => dns.push(Value::from(*s)),
                    GeneralName::RFC822Name(s) => email.push(Value::from(*s)),
                    GeneralName::IPAddress(b) => ips.push(ip_text(b)),
                    GeneralName::URI(s) => uris.push(url_object(s)),
                    _ => {}
                }
            }
        }
    }
    out.insert("DNSNames".into(), list_or_null(dns));
    out.insert("EmailAddresses".into(), list_or_null(email));
    out.insert("IPAddresses".into(), list_or_null(ips));
    out.insert("URIs".into(), list_or_null(uris));
}

fn certificate(raw: &[u8], cert: &X509Certificate) -> Result<Value, String> {
    let tbs = &cert.tbs_certificate;
    let public_key = rsa_key(&tbs.subject_pki)?;
    let mut out = Map::new();
    out.insert("Raw".into(), b64(raw));
    out.insert("RawTBSCertificate".into(), b64(tbs.as_ref()));
    out.insert("RawSubjectPublicKeyInfo".into(), b64(tbs.subject_pki.raw));
    out.insert("RawSubject".into(), b64(tbs.subject.as_raw()));
    out.insert("RawIssuer".into(), b64(tbs.issuer.as_raw()));
    out.insert("Signature".into(), b64(&cert.signature_value.data));
    out.insert(
        "SignatureAlgorithm".into(),
        json!(signature_algorithm(&cert.signature_algorithm)),
    );
    out.insert("PublicKeyAlgorithm".into(), json!(1));
    out.insert("PublicKey".into(), public_key);
    out.insert("Version".into(), json!(tbs.version.0 + 1));
    // Kyverno round-trips through map[string]any, so the serial is a float64.
    let serial = decimal(&tbs.serial.to_bytes_be());
    out.insert(
        "SerialNumber".into(),
        serial
            .parse::<i64>()
            .ok()
            .filter(|n| n.unsigned_abs() < (1 << 53))
            .map(Value::from)
            .or_else(|| {
                serial
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or(Value::Null),
    );
    out.insert("Issuer".into(), name(&tbs.issuer));
    out.insert("Subject".into(), name(&tbs.subject));
    out.insert("NotBefore".into(), time(&tbs.validity.not_before));
    out.insert("NotAfter".into(), time(&tbs.validity.not_after));

    let key_usage = tbs
        .key_usage()
        .ok()
        .flatten()
        .map_or(0, |k| k.value.flags as i64);
    out.insert("KeyUsage".into(), json!(key_usage));
    out.insert("Extensions".into(), extensions(tbs.extensions()));
    out.insert("ExtraExtensions".into(), Value::Null);
    out.insert("UnhandledCriticalExtensions".into(), Value::Null);

    let (mut ext_usage, mut unknown_usage) = (vec![], vec![]);
    if let Ok(Some(eku)) = tbs.extended_key_usage() {
        let e = eku.value;
        for (set, code) in [
            (e.any, 0),
            (e.server_auth, 1),
            (e.client_auth, 2),
            (e.code_signing, 3),
            (e.email_protection, 4),
            (e.time_stamping, 8),
            (e.ocsp_signing, 9),
        ] {
            if set {
                ext_usage.push(json!(code));
            }
        }
        unknown_usage.extend(e.other.iter().map(oid_array));
    }
    out.insert("ExtKeyUsage".into(), list_or_null(ext_usage));
    out.insert("UnknownExtKeyUsage".into(), list_or_null(unknown_usage));

    let constraints = tbs.basic_constraints().ok().flatten();
    out.insert("BasicConstraintsValid".into(), json!(constraints.is_some()));
    out.insert(
        "IsCA".into(),
        json!(constraints.as_ref().is_some_and(|c| c.value.ca)),
    );
    let path_len = constraints
        .as_ref()
        .and_then(|c| c.value.path_len_constraint);
    // Go uses -1 for "no limit" once basic constraints are present.
    out.insert(
        "MaxPathLen".into(),
        json!(match (constraints.is_some(), path_len) {
            (_, Some(n)) => n as i64,
            (true, None) => -1,
            (false, None) => 0,
        }),
    );
    out.insert("MaxPathLenZero".into(), json!(path_len == Some(0)));

    let mut subject_key_id = Value::Null;
    let mut authority_key_id = Value::Null;
    let mut ocsp = vec![];
    let mut issuing = vec![];
    let mut crl = vec![];
    let mut policies = vec![];
    for extension in tbs.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = b64(id.0),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                if let Some(id) = &aki.key_identifier {
                    authority_key_id = b64(id.0);
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for access in &aia.accessdescs {
                    if let GeneralName::URI(uri) = access.access_location {
                        match oid_text(&access.access_method).as_str() {
                            "1.3.6.1.5.5.7.48.1" => ocsp.push(Value::from(uri)),
                            "1.3.6.1.5.5.7.48.2" => issuing.push(Value::from(uri)),
                            _ => {}
                        }
                    }
                }
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    if let Some(x509_parser::extensions::DistributionPointName::FullName(names)) =
                        &point.distribution_point
                    {
                        for n in names {
                            if let GeneralName::URI(uri) = n {
                                crl.push(Value::from(*uri));
                            }
                        }
                    }
                }
            }
            ParsedExtension::CertificatePolicies(list) => {
                policies.extend(list.iter().map(|p| oid_array(&p.policy_id)));
            }
            _ => {}
        }
    }
    out.insert("SubjectKeyId".into(), subject_key_id);
    out.insert("AuthorityKeyId".into(), authority_key_id);
    out.insert("OCSPServer".into(), list_or_null(ocsp));
    out.insert("IssuingCertificateURL".into(), list_or_null(issuing));
    alternative_names(
        tbs.extensions().iter().map(|e| e.parsed_extension()),
        &mut out,
    );
    out.insert("PermittedDNSDomainsCritical".into(), json!(false));
    for field in [
        "PermittedDNSDomains",
        "ExcludedDNSDomains",
        "PermittedIPRanges",
        "ExcludedIPRanges",
        "PermittedEmailAddresses",
        "ExcludedEmailAddresses",
        "PermittedURIDomains",
        "ExcludedURIDomains",
    ] {
        out.insert(field.into(), Value::Null);
    }
    out.insert("CRLDistributionPoints".into(), list_or_null(crl));
    out.insert("PolicyIdentifiers".into(), list_or_null(policies));
    Ok(Value::Object(out))
}

fn request(raw: &[u8], csr: &X509CertificationRequest) -> Result<Value, String> {
    let info = &csr.certification_request_info;
    let public_key = rsa_key(&info.subject_pki)?;
    let mut out = Map::new();
    out.insert("Raw".into(), b64(raw));
    out.insert("RawTBSCertificateRequest".into(), b64(info.raw));
    out.insert("RawSubjectPublicKeyInfo".into(), b64(info.subject_pki.raw));
    out.insert("RawSubject".into(), b64(info.subject.as_raw()));
    out.insert("Version".into(), json!(info.version.0));
    out.insert("Signature".into(), b64(&csr.signature_value.data));
    out.insert(
        "SignatureAlgorithm".into(),
        json!(signature_algorithm(&csr.signature_algorithm)),
    );
    out.insert("PublicKeyAlgorithm".into(), json!(1));
    out.insert("PublicKey".into(), public_key);
    out.insert("Subject".into(), name(&info.subject));

    let mut attributes = vec![];
    let mut requested: Vec<X509Extension> = vec![];
    for attribute in info.attributes() {
        if let ParsedCriAttribute::ExtensionRequest(request) = attribute.parsed_attribute() {
            // Go lists each requested extension as a {Type, Value} pair.
            let pairs: Vec<Value> = request
                .extensions
                .iter()
                .map(|e| json!({"Type": oid_array(&e.oid), "Value": b64(e.value)}))
                .collect();
            attributes.push(json!({"Type": oid_array(&attribute.oid), "Value": [pairs]}));
            requested.extend(request.extensions.iter().cloned());
        }
    }
    out.insert("Attributes".into(), list_or_null(attributes));
    out.insert("Extensions".into(), extensions(&requested));
    out.insert("ExtraExtensions".into(), Value::Null);
    alternative_names(requested.iter().map(|e| e.parsed_extension()), &mut out);
    Ok(Value::Object(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::{search, JmespathError};
    use super::*;
    use crate::jmespath::test_support::eval_on;

    const CERT: &str = include_str!("testdata/rsa-cert.pem");
    const CSR: &str = include_str!("testdata/rsa-csr.pem");
    const EC_CERT: &str = include_str!("testdata/ec-cert.pem");
    const MODULUS: &str = "140753515652853665292742603524769979907340209725957362406740721311994228046589801670407869479776065155731270108267552499557414395033686946478008045608912267716611637974679622890168406472490596713610899869467461773406739172105271042697135260400835410862408627164055165733038633798969587897075936278316935414707";

    fn eval(expression: &str, pem: &str) -> Value {
        eval_on(
            expression,
            &json!({"pem": pem, "b64": STANDARD.encode(pem)}),
        )
    }

    #[test]
    fn decodes_a_certificate() {
        let cert = eval("x509_decode(pem)", CERT);
        assert_eq!(cert["Subject"]["CommonName"], json!("test.example.com"));
        assert_eq!(cert["Subject"]["Organization"], json!(["Acme"]));
        assert_eq!(cert["Subject"]["Country"], json!(["US"]));
        assert_eq!(cert["Subject"]["Locality"], Value::Null);
        assert_eq!(cert["Issuer"]["CommonName"], json!("test.example.com"));
        assert_eq!(cert["Subject"]["Names"][0]["Type"], json!([2, 5, 4, 6]));
        assert_eq!(cert["PublicKey"], json!({"N": MODULUS, "E": 65537}));
        assert_eq!(cert["SerialNumber"], json!(4660));
        assert_eq!(cert["Version"], json!(3));
        assert_eq!(cert["SignatureAlgorithm"], json!(4));
        assert_eq!(cert["NotBefore"], json!("2026-11-22T11:54:58Z"));
        assert_eq!(cert["NotAfter"], json!("2036-11-19T11:54:58Z"));
        assert_eq!(cert["DNSNames"], json!(["a.example.com"]));
        assert_eq!(cert["IPAddresses"], json!(["10.0.0.1"]));
        assert_eq!(cert["EmailAddresses"], json!(["x@example.com"]));
        // digitalSignature | keyEncipherment
        assert_eq!(cert["KeyUsage"], json!(5));
        assert_eq!(cert["ExtKeyUsage"], json!([1, 2]));
        assert_eq!(cert["IsCA"], json!(true));
        assert!(cert["Raw"].as_str().unwrap().starts_with("MII"));
    }

    #[test]
    fn decodes_a_request_after_base64_decode() {
        assert_eq!(
            eval("x509_decode(base64_decode(b64)).Subject.CommonName", CSR),
            json!("system:node:worker-1")
        );
        let subject = eval("x509_decode(pem).Subject | to_string(@)", CSR);
        let text = subject.as_str().unwrap();
        assert!(
            text.starts_with(r#"{"CommonName":"system:node:worker-1","Country":null"#),
            "{text}"
        );
        assert!(
            text.contains(r#""Organization":["system:nodes"]"#),
            "{text}"
        );
        assert_eq!(eval("x509_decode(pem).DNSNames", CSR), json!(["worker-1"]));
        assert_eq!(eval("x509_decode(pem).PublicKey.N", CSR), json!(MODULUS));
    }

    #[test]
    fn rejects_non_rsa_and_garbage() {
        for (input, message) in [
            (EC_CERT, "should use rsa"),
            ("not pem", "failed to decode PEM"),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                "neither",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "malformed",
            ),
        ] {
            let err = search("x509_decode(pem)", &json!({"pem": input})).unwrap_err();
            assert!(matches!(err, JmespathError::Function { .. }), "{err:?}");
            assert!(err.to_string().contains(message), "{err}");
        }
    }

    #[test]
    fn decimal_conversion() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0xff; 8]), u64::MAX.to_string());
    }
}
