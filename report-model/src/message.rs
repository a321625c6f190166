//! Result messages bounded in bytes: a message enters; it leaves as it was
//! when it fits, else cut on a character boundary with a marker saying how
//! long it was (`… (truncated, 5000 bytes)`), the whole at most the bound.
//!
//! A CEL `messageExpression` or a variable can put any amount of the
//! resource into a message; unbounded, a few such results make a report
//! the API server refuses at every run. Kyverno bounds no message: its
//! reports grow until etcd refuses them.

use std::borrow::Cow;

/// The most bytes of a result message in a report polscan writes: twice
/// Kubernetes' 1 KiB limit on an Event's note, above the longest messages
/// Kyverno's own validators give (an `anyPattern` or pod-security failure
/// lists every check that failed), and 500 results of that size still fit
/// in the 1 MiB report limit ([`crate::shape::DEFAULT_MAX_REPORT_BYTES`]).
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// `message` in at most `max_bytes` bytes: as it is when it fits, else its
/// start, cut on a character boundary, and `… (truncated, N bytes)` with
/// `N` its full length. With `max_bytes` under the marker's length, the
/// marker alone.
pub fn bounded(message: &str, max_bytes: usize) -> Cow<'_, str> {
    if message.len() <= max_bytes {
        return Cow::Borrowed(message);
    }
    let marker = format!("… (truncated, {} bytes)", message.len());
    let mut cut = max_bytes.saturating_sub(marker.len());
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}{marker}", &message[..cut]))
}

/// The full length of a message [`bounded`] cut (the `N` of its marker);
/// None for a message it left whole. A marker naming a length no longer
/// than the message is no cut's.
pub fn cut_length(message: &str) -> Option<usize> {
    let rest = message.strip_suffix(" bytes)")?;
    let start = rest.rfind("… (truncated, ")?;
    let length: usize = rest[start + "… (truncated, ".len()..].parse().ok()?;
    (length > message.len()).then_some(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_message_tells_its_length_and_a_whole_one_none() {
        let huge = "z".repeat(9_000);
        assert_eq!(cut_length(&bounded(&huge, MAX_MESSAGE_BYTES)), Some(9_000));
        assert_eq!(cut_length(&bounded("short", MAX_MESSAGE_BYTES)), None);
        // A message that only looks like one: the length it names fits.
        assert_eq!(cut_length("a… (truncated, 3 bytes)"), None);
        assert_eq!(cut_length("… (truncated, many bytes)"), None);
    }

    #[test]
    fn a_message_that_fits_stays_as_it_is() {
        assert!(matches!(bounded("short", 10), Cow::Borrowed("short")));
        let exact = "x".repeat(MAX_MESSAGE_BYTES);
        assert_eq!(bounded(&exact, MAX_MESSAGE_BYTES), exact);
    }

    #[test]
    fn a_huge_message_is_cut_with_a_marker_within_the_bound() {
        let huge = "y".repeat(5_000_000);
        let cut = bounded(&huge, MAX_MESSAGE_BYTES);
        assert_eq!(cut.len(), MAX_MESSAGE_BYTES);
        assert!(cut.starts_with("yyy"));
        assert!(cut.ends_with("… (truncated, 5000000 bytes)"), "{cut}");
    }

    #[test]
    fn the_cut_falls_on_a_character_boundary() {
        // 'é' is 2 bytes, '😀' 4: every cut position inside one is tried.
        for text in [
            "é".repeat(3000),
            "😀".repeat(1000),
            format!("a{}", "😀".repeat(1000)),
        ] {
            for max in 30..40 {
                let cut = bounded(&text, max);
                assert!(cut.len() <= max, "{max}: {cut}");
                assert!(cut.ends_with(&format!("… (truncated, {} bytes)", text.len())));
                let kept = cut.trim_end_matches(&format!("… (truncated, {} bytes)", text.len()));
                assert!(text.starts_with(kept));
                assert!(max - cut.len() < 4, "cut no more than one character early");
            }
        }
        assert_eq!(bounded("abcdef", 3), "… (truncated, 6 bytes)");
    }
}
