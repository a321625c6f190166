//! The bytes a report is sent to the API server as, and their size.
//!
//! A server-side apply (`application/apply-patch+yaml`) is read with a YAML
//! decoder, which refuses DEL, the C1 controls (NEL it reads as a line
//! break, folded to a space), U+FFFE and U+FFFF raw in the stream (go-yaml:
//! "control characters are not allowed"); serde_json escapes only those
//! below U+0020. The body is therefore compact JSON with each such
//! character `\u`-escaped ([`apply_json`]), which is up to six times the
//! bytes of the character (fault17 F17-2, fault18 F18-1). Every size limit
//! a report is held to is measured on this form ([`sent_bytes`]): measured
//! on the unescaped JSON, a report under the limit could be over it as
//! sent, and refused at every run (fault18 F18-4).

use serde::Serialize;

/// Bytes of one escape, `\uXXXX`: every character [`yaml_refuses`] is in
/// the Basic Multilingual Plane.
const ESCAPE_BYTES: usize = 6;

/// Whether a YAML 1.2 reader refuses `c` raw in its stream, or changes it
/// (NEL is a line break to it, folded to a space in a quoted string), above
/// the controls serde_json escapes itself.
pub fn yaml_refuses(c: char) -> bool {
    // U+2028/U+2029: go-yaml reads them as line breaks, dropping the
    // spaces around them in a quoted string (fault59 F59-4).
    matches!(
        c,
        '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'
    )
}

/// `json` with every character [`yaml_refuses`] `\u`-escaped: the same
/// value to a JSON and a YAML reader alike. Such characters occur only
/// inside strings of serde_json's output, where the escape is valid.
pub fn apply_json(json: String) -> String {
    if !json.chars().any(yaml_refuses) {
        return json;
    }
    let mut out = String::with_capacity(escaped_len(&json));
    for c in json.chars() {
        if yaml_refuses(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// The length of [`apply_json`]`(json)`, without making it. Additive: the
/// length of a concatenation is the sum of its pieces' lengths, so parts
/// can be packed by their results' sizes.
pub fn escaped_len(json: &str) -> usize {
    let growth: usize = json
        .chars()
        .filter(|c| yaml_refuses(*c))
        .map(|c| ESCAPE_BYTES - c.len_utf8())
        .sum();
    json.len() + growth
}

/// The bytes `value` is sent as: its compact JSON, escaped by
/// [`apply_json`]. Errors: `value` does not serialize.
pub fn sent_bytes<T: Serialize + ?Sized>(value: &T) -> Result<usize, serde_json::Error> {
    Ok(escaped_len(&serde_json::to_string(value)?))
}

/// The size every report limit is held to ([`measured_bytes`]) of compact
/// JSON `json`: per character the larger of what the API server stores
/// and half of what is sent. Two limits bind a report (fault59): etcd's
/// on the object as stored, 1.5 MiB, which the API server encodes with
/// Go's `encoding/json` — `<`, `>`, `&`, U+2028 and U+2029 as six-byte
/// `\u` escapes, DEL, the C1 controls and U+FFFE/F raw — and the API
/// server's on a request body, 3 MiB, twice that, where [`apply_json`]
/// escapes what a YAML reader refuses. Additive, so parts can be packed by
/// their results' sizes; within a limit by this measure, a report is
/// within both.
pub fn measured_len(json: &str) -> usize {
    let growth: usize = json
        .chars()
        .map(|c| match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => ESCAPE_BYTES - c.len_utf8(),
            c if yaml_refuses(c) => ESCAPE_BYTES.div_ceil(2).saturating_sub(c.len_utf8()),
            _ => 0,
        })
        .sum();
    json.len() + growth
}

/// [`measured_len`] of `value`'s compact JSON. Errors: `value` does not
/// serialize.
pub fn measured_bytes<T: Serialize + ?Sized>(value: &T) -> Result<usize, serde_json::Error> {
    Ok(measured_len(&serde_json::to_string(value)?))
}

/// The bytes the API server stores compact JSON `json` as (Go's
/// `encoding/json`: HTML characters and the line separators escaped).
#[cfg(test)]
pub(crate) fn stored_len(json: &str) -> usize {
    let growth: usize = json
        .chars()
        .map(|c| match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => ESCAPE_BYTES - c.len_utf8(),
            _ => 0,
        })
        .sum();
    json.len() + growth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_measured_length_is_the_length_of_what_is_sent() {
        for text in [
            "plain",
            "a\u{7f}b\u{85}c\u{9f}d\u{fffe}e\u{ffff}",
            "\u{feff}é😀\u{1b}",
            "",
        ] {
            let json = serde_json::to_string(&serde_json::json!({ "m": text })).unwrap();
            let sent = apply_json(json.clone());
            assert_eq!(escaped_len(&json), sent.len(), "{text:?}");
            assert!(!sent.chars().any(yaml_refuses), "{sent}");
            let back: serde_json::Value = serde_json::from_str(&sent).unwrap();
            assert_eq!(back["m"], text);
        }
        // DEL is one byte raw and six escaped.
        assert_eq!(sent_bytes("\u{7f}").unwrap(), r#""\u007f""#.len());
    }

    /// fault59 F59-1, F59-2: the measure bounds both what is stored (HTML
    /// characters six bytes each) and half of what is sent (DEL six bytes
    /// sent, one stored).
    #[test]
    fn the_measure_bounds_the_stored_and_half_the_sent_size() {
        for text in [
            "a <= 3 && b > 0",
            "\u{7f}\u{85}\u{fffe}",
            "\u{2028} x \u{2029}",
            "plain é😀",
            &"<".repeat(100),
            &"\u{7f}".repeat(100),
        ] {
            let json = serde_json::to_string(&serde_json::json!({ "m": text })).unwrap();
            let measured = measured_len(&json);
            assert!(measured >= stored_len(&json), "{text:?}");
            assert!(2 * measured >= apply_json(json.clone()).len(), "{text:?}");
        }
        assert_eq!(measured_len("<"), 6);
        assert_eq!(measured_len("\u{7f}"), 3);
    }
}
