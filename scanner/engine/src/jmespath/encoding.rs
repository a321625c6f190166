//! Encoding, hashing and decoding functions: base64_decode, base64_encode,
//! sha256, sha1, md5, parse_json and parse_yaml.
//!
//! All take one string variable. The encoders and hashes return strings
//! (hashes as lowercase hex); the parsers return whatever JSON value the
//! text holds, converted to the crate's variables.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use jmespath::{Rcvar, Variable};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::convert::to_variable;
use super::functions::{string, Arg, KyvernoFunction};

pub(super) const FUNCTIONS: &[KyvernoFunction] = &[
    KyvernoFunction {
        name: "base64_decode",
        args: &[Arg::String],
        handler: base64_decode,
    },
    KyvernoFunction {
        name: "base64_encode",
        args: &[Arg::String],
        handler: base64_encode,
    },
    KyvernoFunction {
        name: "sha256",
        args: &[Arg::String],
        handler: sha256,
    },
    KyvernoFunction {
        name: "sha1",
        args: &[Arg::String],
        handler: sha1,
    },
    KyvernoFunction {
        name: "md5",
        args: &[Arg::String],
        handler: md5,
    },
    KyvernoFunction {
        name: "parse_json",
        args: &[Arg::String],
        handler: parse_json,
    },
    KyvernoFunction {
        name: "parse_yaml",
        args: &[Arg::String],
        handler: parse_yaml,
    },
];

/// Go's `base64.StdEncoding`: padding required, but non-zero trailing bits
/// in the last character are accepted (Go is lenient there unless Strict()).
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Decodes standard base64 text into bytes, skipping the CR/LF that Go's
/// decoder ignores.
pub(super) fn decode_base64(input: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = input.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    GO_STD
        .decode(cleaned.as_bytes())
        .map_err(|e| format!("illegal base64 data: {e}"))
}

fn base64_decode(args: &[Rcvar]) -> Result<Variable, String> {
    let bytes = decode_base64(string(args, 0)?)?;
    // Go keeps raw bytes in the string; JSON output replaces invalid UTF-8
    // with U+FFFD, which is what a lossy conversion gives.
    Ok(Variable::String(
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

fn base64_encode(args: &[Rcvar]) -> Result<Variable, String> {
    Ok(Variable::String(STANDARD.encode(string(args, 0)?)))
}

fn sha256(args: &[Rcvar]) -> Result<Variable, String> {
    Ok(Variable::String(hex::encode(Sha256::digest(
        string(args, 0)?.as_bytes(),
    ))))
}

fn sha1(args: &[Rcvar]) -> Result<Variable, String> {
    Ok(Variable::String(hex::encode(Sha1::digest(
        string(args, 0)?.as_bytes(),
    ))))
}

fn md5(args: &[Rcvar]) -> Result<Variable, String> {
    Ok(Variable::String(hex::encode(Md5::digest(
        string(args, 0)?.as_bytes(),
    ))))
}

fn parse_json(args: &[Rcvar]) -> Result<Variable, String> {
    let value: serde_json::Value =
        serde_json::from_str(string(args, 0)?).map_err(|e| e.to_string())?;
    Ok(to_variable(&value).as_ref().clone())
}

fn parse_yaml(args: &[Rcvar]) -> Result<Variable, String> {
    // A field of a cluster object can be anything: bounded before parsing.
    let value: serde_yaml::Value =
        crate::yaml::from_str(string(args, 0)?).map_err(|e| e.to_string())?;
    let json = yaml_to_json(value)?;
    Ok(to_variable(&json).as_ref().clone())
}

/// YAML to JSON as `sigs.k8s.io/yaml` does it: scalar keys become strings,
/// tags are dropped, and values JSON cannot hold (NaN, ±Inf) are errors.
fn yaml_to_json(value: serde_yaml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => J::Null,
        Y::Bool(b) => J::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(J::Number)
                    .ok_or_else(|| {
                        format!("error converting YAML to JSON: {f} is not a JSON number")
                    })?
            }
        }
        Y::String(s) => J::String(s),
        Y::Sequence(items) => J::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    Y::Null => "null".to_string(),
                    other => {
                        return Err(format!(
                            "error converting YAML to JSON: unsupported map key {other:?}"
                        ))
                    }
                };
                out.insert(key, yaml_to_json(v)?);
            }
            J::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::jmespath::test_support::{eval, fails};
    use serde_json::{json, Value};

    #[test]
    fn base64_round_trip() {
        assert_eq!(eval("base64_encode('hello')"), json!("aGVsbG8="));
        assert_eq!(eval("base64_decode('aGVsbG8=')"), json!("hello"));
        assert_eq!(eval("base64_decode(base64_encode('ä<>'))"), json!("ä<>"));
        assert_eq!(eval("base64_decode('aGVs\nbG8=')"), json!("hello"));
        assert_eq!(eval("base64_encode('')"), json!(""));
        assert!(fails("base64_decode('aGVsbG8')").contains("base64_decode"));
        assert!(fails("base64_decode('!!!!')").contains("illegal base64"));
        assert!(fails("base64_encode(`1`)").contains("argument #1"));
    }

    #[test]
    fn hashes_are_hex() {
        assert_eq!(
            eval("sha256('abc')"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            eval("sha1('abc')"),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            eval("md5('abc')"),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
    }

    #[test]
    fn parse_json_values() {
        assert_eq!(
            eval(r#"parse_json('{"a": [1, 2.5, "x"]}')"#),
            json!({"a": [1, 2.5, "x"]})
        );
        assert_eq!(eval("parse_json('\"s\"')"), json!("s"));
        assert_eq!(eval("parse_json('3').add(@, `1`)"), json!(4));
        assert_eq!(eval(r#"parse_json('{"b":1}').b"#), json!(1));
        assert!(fails("parse_json('{')").contains("parse_json"));
        assert!(fails("parse_json('1 2')").contains("parse_json"));
    }

    #[test]
    fn parse_yaml_values() {
        assert_eq!(
            eval("parse_yaml('a: 1\nb: [x, 2.5]\nc: true')"),
            json!({"a": 1, "b": ["x", 2.5], "c": true})
        );
        assert_eq!(eval("parse_yaml('1: one')"), json!({"1": "one"}));
        assert_eq!(eval("parse_yaml('- a\n- b')"), json!(["a", "b"]));
        assert_eq!(eval("parse_yaml('')"), Value::Null);
        assert!(fails("parse_yaml('a: [')").contains("parse_yaml"));
    }
}
