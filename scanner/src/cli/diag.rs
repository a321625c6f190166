//! polscan's own lines on stderr — warnings, notes, the final error — as
//! `--log-format` asks: text enters, and leaves as written (`text`) or as
//! one JSON object per event in tracing-subscriber's JSON shape (`json`:
//! `{"timestamp", "level", "fields": {"message"}, "target"}`), so a
//! CronJob's log pipeline reads them as it reads the log records beside
//! them (walk25 F16: the invalid-policy warnings and the final error were
//! plain text, a CEL error's caret lines three records).
//!
//! The level follows the line's prefix ([`LEVELS`]): `warning: ` is WARN;
//! `error: `, `TAMPERED: ` and an internal error are ERROR; anything else
//! INFO.

use std::io::{self, Write};
use std::sync::OnceLock;

use super::LogFormat;

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Sets the format of every later line; the first call wins (text until
/// then: usage errors come before the flags are read).
pub(crate) fn set_format(format: LogFormat) {
    let _ = FORMAT.set(format);
}

fn json() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

/// Writes one event (`text` may span lines) to stderr.
pub(crate) fn line(text: &str) {
    if json() {
        eprintln!("{}", record(text, chrono::Utc::now()));
    } else {
        eprintln!("{text}");
    }
}

/// `eprintln!`'s arguments, written through [`line`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::diag::line(&format!($($arg)*))
    };
}
pub(crate) use say;

/// Writes `text` and a newline to stdout, as `println!` does, but a
/// stdout closed early (`polscan test | head`) ends the run with one line
/// and exit code 2, not a panic (walk39 F15: exit 101, "internal error").
pub(crate) fn stdout_line(text: &str) {
    stdout_bytes(format!("{text}\n").as_bytes());
}

/// Writes `bytes` to stdout as [`stdout_line`] does.
pub(crate) fn stdout_bytes(bytes: &[u8]) {
    let mut stdout = io::stdout().lock();
    if let Err(err) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        line(&format!("error: writing to standard output: {err}"));
        std::process::exit(2);
    }
}

/// `println!`'s arguments, written through [`stdout_line`].
macro_rules! out {
    () => {
        $crate::cli::diag::stdout_line("")
    };
    ($($arg:tt)*) => {
        $crate::cli::diag::stdout_line(&format!($($arg)*))
    };
}
pub(crate) use out;

/// The prefixes that give a line its level, and whether the message
/// leaves the prefix out (a word the level says) or keeps it (a word the
/// reader needs: TAMPERED, an internal error).
const LEVELS: [(&str, &str, bool); 6] = [
    ("warning: ", "WARN", true),
    ("error: ", "ERROR", true),
    // `polscan test`'s failures, worded as the Kyverno CLI's.
    ("Error: ", "ERROR", true),
    ("TAMPERED: ", "ERROR", false),
    ("polscan: internal error", "ERROR", false),
    ("note: ", "INFO", true),
];

/// One event as a JSON record.
fn record(text: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let (level, message) = LEVELS
        .iter()
        .find_map(|(prefix, level, strip)| {
            let rest = text.strip_prefix(prefix)?;
            Some((*level, if *strip { rest } else { text }))
        })
        .unwrap_or(("INFO", text));
    serde_json::json!({
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "level": level,
        "fields": {"message": message},
        "target": "polscan",
    })
    .to_string()
}

/// stderr for the writers that take one (`apply`'s and the renderers'
/// warnings): bytes pass as they are in text; in JSON each line is an
/// event, a line that begins with a space, a tab or `|` (a CEL error's
/// caret lines) continuing the one before. Each event is written when
/// the next one begins, on `flush` and on drop; nothing holds stderr's
/// lock between writes.
#[derive(Default)]
pub(crate) struct Stderr {
    /// Bytes of the line not ended yet.
    partial: Vec<u8>,
    /// The event the last ended lines make up, not written yet.
    event: Option<String>,
}

impl Stderr {
    pub(crate) fn new() -> Stderr {
        Stderr::default()
    }

    /// Takes one ended line (without its newline) into the event.
    fn take_line(&mut self, line: String, out: &mut dyn FnMut(&str)) {
        let continues = line.starts_with([' ', '\t', '|']);
        match &mut self.event {
            Some(event) if continues => {
                event.push('\n');
                event.push_str(&line);
            }
            _ => {
                if let Some(done) = self.event.replace(line) {
                    out(&done);
                }
            }
        }
    }

    /// Writes `buf` as [`Write::write`] does, each completed event to `out`.
    fn write_to(&mut self, buf: &[u8], out: &mut dyn FnMut(&str)) {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let rest = self.partial.split_off(end + 1);
            let mut line = std::mem::replace(&mut self.partial, rest);
            line.pop();
            self.take_line(String::from_utf8_lossy(&line).into_owned(), out);
        }
    }

    /// Ends the event held (and a line not ended), to `out`.
    fn finish(&mut self, out: &mut dyn FnMut(&str)) {
        if !self.partial.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            self.take_line(line, out);
        }
        if let Some(event) = self.event.take() {
            out(&event);
        }
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !json() {
            return io::stderr().write(buf);
        }
        self.write_to(buf, &mut |event| line(event));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if json() {
            self.finish(&mut |event| line(event));
        }
        io::stderr().flush()
    }

    /// One `write!`/`writeln!` is one whole event (its lines continue
    /// it): written at once, not held for the next — `apply`'s deadline
    /// ends the process while its thread still holds this writer, and a
    /// held warning was lost (rev27 F10).
    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> io::Result<()> {
        if !json() {
            return io::stderr().write_fmt(args);
        }
        let text = args.to_string();
        let mut out = |event: &str| line(event);
        self.write_to(text.as_bytes(), &mut out);
        if self.partial.is_empty() {
            self.finish(&mut out);
        }
        Ok(())
    }
}

impl Drop for Stderr {
    fn drop(&mut self) {
        if json() {
            self.finish(&mut |event| line(event));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_takes_its_level_from_the_prefix_and_keeps_every_line() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T06:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let warn: serde_json::Value =
            serde_json::from_str(&record("warning: p.yaml#1: invalid\n | a.b\n | ..^", now))
                .expect("json");
        assert_eq!(warn["level"], "WARN");
        assert_eq!(
            warn["fields"]["message"],
            "p.yaml#1: invalid\n | a.b\n | ..^"
        );
        assert_eq!(warn["timestamp"], "2026-12-04T06:00:00.000000Z");
        assert_eq!(warn["target"], "polscan");
        let error: serde_json::Value =
            serde_json::from_str(&record("error: unreachable", now)).expect("json");
        assert_eq!(
            (error["level"].as_str(), error["fields"]["message"].as_str()),
            (Some("ERROR"), Some("unreachable"))
        );
        let note: serde_json::Value =
            serde_json::from_str(&record("written 3 reports", now)).expect("json");
        assert_eq!(note["level"], "INFO");
        // rev27 F2: these were INFO.
        for (line, message) in [
            ("Error: failed to run test (x)", "failed to run test (x)"),
            (
                "TAMPERED: evidence.md was modified",
                "TAMPERED: evidence.md was modified",
            ),
            (
                "polscan: internal error (a bug, please report it): boom",
                "polscan: internal error (a bug, please report it): boom",
            ),
        ] {
            let record: serde_json::Value = serde_json::from_str(&record(line, now)).expect("json");
            assert_eq!(record["level"], "ERROR", "{line}");
            assert_eq!(record["fields"]["message"], message, "{line}");
        }
        assert_eq!(record("x\u{1b}\"", now).lines().count(), 1);
    }

    #[test]
    fn written_lines_become_events_with_their_continuations() {
        let mut events = Vec::new();
        let mut stderr = Stderr::new();
        let mut out = |event: &str| events.push(event.to_string());
        stderr.write_to(b"warning: a.yaml#1: bad\n | x.", &mut out);
        stderr.write_to(b"y\n |  ^\nwarning: second\nerror: no newline", &mut out);
        stderr.finish(&mut out);
        assert_eq!(
            events,
            [
                "warning: a.yaml#1: bad\n | x.y\n |  ^",
                "warning: second",
                "error: no newline"
            ]
        );
    }
}
