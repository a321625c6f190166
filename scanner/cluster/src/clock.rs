//! The time a scan and the evidence take as "now": the system clock, or
//! for tests only the fixed time in `POLSCAN_TEST_NOW`. Nothing enters
//! but the environment; a time leaves.

use chrono::{DateTime, Utc};

/// The environment variable the tests set (RFC 3339).
const TEST_NOW: &str = "POLSCAN_TEST_NOW";

/// The current time, or — for tests only, to record scans days apart in
/// one test run — the RFC 3339 time in the environment variable
/// `POLSCAN_TEST_NOW`. It replaces a scan's recorded start and finish (and
/// so its soak history's time) and the evidence's `generated` time. Not a
/// user setting: undocumented in `--help` and the README. A value that is
/// not RFC 3339 is ignored (the system clock is used).
pub fn now() -> DateTime<Utc> {
    std::env::var(TEST_NOW)
        .ok()
        .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}
