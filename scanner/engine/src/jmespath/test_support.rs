//! Helpers shared by the engine's JMESPath tests: evaluate an expression
//! (on an empty object or on given data) and expect a value or a function
//! error, and find the shared Kyverno policy corpus.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{search, JmespathError};

/// The value of `expression` on `{}`; panics (failing the test) on an error.
pub(crate) fn eval(expression: &str) -> Value {
    eval_on(expression, &json!({}))
}

/// The value of `expression` on `data`; panics (failing the test) on an
/// error.
pub(crate) fn eval_on(expression: &str, data: &Value) -> Value {
    match search(expression, data) {
        Ok(v) => v,
        Err(e) => panic!("{expression}: {e}"),
    }
}

/// The message of the error `expression` gives on `{}`, which must be a
/// function error ([`JmespathError::Function`]).
pub(crate) fn fails(expression: &str) -> String {
    fails_on(expression, &json!({}))
}

/// The message of the error `expression` gives on `data`, which must be a
/// function error ([`JmespathError::Function`]).
pub(crate) fn fails_on(expression: &str, data: &Value) -> String {
    match search(expression, data) {
        Ok(v) => panic!("{expression} gave {v}"),
        Err(e) => {
            assert!(matches!(e, JmespathError::Function { .. }), "{e:?}");
            e.to_string()
        }
    }
}

/// The Kyverno policy-library corpus: `POLSCAN_CORPUS`, else the first
/// `shared/corpora/kyverno-policies` found beside this crate or any folder
/// above it; `None` when there is none.
pub(crate) fn corpus_dir() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("POLSCAN_CORPUS") {
        return Some(PathBuf::from(path));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared/corpora/kyverno-policies"))
        .find(|dir| dir.is_dir())
}
