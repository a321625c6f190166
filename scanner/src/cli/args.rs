//! Argument values more than one command reads: comma-separated lists,
//! durations, and the async runtime the cluster commands run on. Text from
//! the command line enters; typed values leave.

use anyhow::Context;

/// Repeated and comma-separated values as one list (`-n a,b -n c`).
pub fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
        .collect()
}

/// `14d`, `2w`, `36h`, or a Go duration (`90m`, `1h30m`).
pub fn parse_duration(text: &str) -> Option<chrono::Duration> {
    let text = text.trim();
    for (suffix, hours) in [("w", 24 * 7), ("d", 24)] {
        if let Some(number) = text.strip_suffix(suffix) {
            return number
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                // Past what a duration holds: not a duration (it panicked).
                .and_then(|n| n.checked_mul(hours))
                .and_then(chrono::Duration::try_hours);
        }
    }
    polscan::engine::value_types::duration::parse(text)
        .filter(|nanos| *nanos >= 0)
        .map(chrono::Duration::nanoseconds)
}

/// A `--timeout` value: a positive duration (`30m`, `20s`, `1h`), or a
/// usage error naming `flag`.
pub fn parse_deadline(
    flag: &str,
    text: &str,
) -> Result<std::time::Duration, super::usage::UsageError> {
    parse_duration(text)
        .filter(|d| *d > chrono::Duration::zero())
        .and_then(|d| d.to_std().ok())
        .ok_or_else(|| {
            super::usage::UsageError(format!(
                "{flag} {text:?}: expected a positive duration such as 30m, 20s or 2h"
            ))
        })
}

/// A deadline as the user wrote it (`20s`, `30m`) for messages.
pub fn deadline_text(deadline: std::time::Duration) -> String {
    let seconds = deadline.as_secs();
    if deadline.subsec_nanos() != 0 {
        // `300ms` read "0s" (walk22 L1): milliseconds, as Go writes them.
        return match deadline.as_millis() {
            ms if ms < 1000 => format!("{ms}ms"),
            _ => format!(
                "{}s",
                format!("{:.3}", deadline.as_secs_f64()).trim_end_matches('0')
            ),
        };
    }
    match seconds {
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The runtime `scan`, `install-crds` and `evidence` block on.
pub fn runtime() -> anyhow::Result<CliRuntime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Its blocking threads compile and evaluate policies.
        .thread_stack_size(polscan::engine::nesting::EVALUATION_STACK)
        .build()
        .context("starting the async runtime")?;
    Ok(CliRuntime {
        handle: runtime.handle().clone(),
        runtime: Some(runtime),
    })
}

/// A tokio runtime that, dropped, does not wait for blocking work still
/// running: an evaluation past `--timeout` or SIGTERM (a costly CEL
/// expression) would otherwise keep the process alive after its answer.
pub struct CliRuntime {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl CliRuntime {
    /// Runs `future` to completion on the runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }
}

impl Drop for CliRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            super::panic_report::runtime_shutting_down();
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_commas_and_repeats() {
        let given = vec!["a, b".to_string(), "c".to_string(), ",".to_string()];
        assert_eq!(split_list(&given), ["a", "b", "c"]);
    }

    #[test]
    fn durations_in_days_weeks_and_go_form() {
        assert_eq!(parse_duration("14d"), Some(chrono::Duration::days(14)));
        assert_eq!(parse_duration("2w"), Some(chrono::Duration::days(14)));
        assert_eq!(parse_duration("36h"), Some(chrono::Duration::hours(36)));
        assert_eq!(parse_duration("1h30m"), Some(chrono::Duration::minutes(90)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(
            parse_deadline("--timeout", "20s").ok(),
            Some(std::time::Duration::from_secs(20))
        );
        assert!(parse_deadline("--timeout", "0").is_err());
        assert!(parse_deadline("--timeout", "soon").is_err());
        assert_eq!(deadline_text(std::time::Duration::from_secs(1800)), "30m");
        assert_eq!(deadline_text(std::time::Duration::from_secs(20)), "20s");
        assert_eq!(
            deadline_text(std::time::Duration::from_millis(300)),
            "300ms"
        );
        assert_eq!(
            deadline_text(std::time::Duration::from_millis(1500)),
            "1.5s"
        );
        assert_eq!(parse_duration("-1d"), None);
        // red22 F11: past what a duration holds, not a duration (a panic,
        // exit 101, and an overflowing product before).
        for past in [
            "99999999999999d",
            "107000000000d",
            "15300000000w",
            "9223372036854775807d",
        ] {
            assert_eq!(parse_duration(past), None, "{past}");
        }
        assert!(parse_duration("106751991167d").is_some());
    }
}
