//! TEMP stub
pub struct PatternFailure {
    pub path: String,
    pub message: String,
}
pub enum PatternOutcome {
    Pass,
    Fail(PatternFailure),
    Skip(PatternFailure),
}
pub fn match_pattern(_r: &serde_json::Value, _p: &serde_json::Value) -> PatternOutcome {
    PatternOutcome::Pass
}
