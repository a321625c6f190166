//! TEMP stub
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct OperatorError;
pub fn evaluate(
    _o: &str,
    _k: &serde_json::Value,
    _v: &serde_json::Value,
) -> Result<bool, OperatorError> {
    Err(OperatorError)
}
