//! Go `time.Duration` text (`1h30m`, `300ms`, `-1.5h`): parsing to
//! nanoseconds and printing back as Go's `Duration.String()` does, because
//! Kyverno compares and prints durations through Go's time package.

/// Parses Go duration syntax into nanoseconds; `None` when the text is not
/// one. Go's `time.ParseDuration` (time/format.go), in its integer
/// arithmetic: a value past an int64 of nanoseconds (`9223372036854775808ns`,
/// `2562048h`) is refused, not rounded through a float into range. Leading
/// and trailing white space is trimmed first (polscan's callers' habit).
pub fn parse(text: &str) -> Option<i64> {
    const LIMIT: u64 = 1 << 63;
    let text = text.trim();
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let first = rest.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return None;
        }
        let (whole, after) = leading_int(rest)?;
        let had_whole = after.len() != rest.len();
        rest = after;
        let (mut fraction, mut scale, mut had_fraction) = (0u64, 1f64, false);
        if let Some(after_point) = rest.strip_prefix('.') {
            let (digits, digits_scale, after) = leading_fraction(after_point);
            had_fraction = after.len() != after_point.len();
            (fraction, scale, rest) = (digits, digits_scale, after);
        }
        if !had_whole && !had_fraction {
            return None;
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit: u64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        if whole > LIMIT / unit {
            return None;
        }
        let mut value = whole * unit;
        if fraction > 0 {
            // As Go: a float is nanosecond-exact for fractions of an hour.
            value = value.checked_add((fraction as f64 * (unit as f64 / scale)) as u64)?;
            if value > LIMIT {
                return None;
            }
        }
        total = total.checked_add(value).filter(|total| *total <= LIMIT)?;
    }
    if negative {
        // -2^63 is in range; 0 - total cannot underflow past it.
        Some(0i64.wrapping_sub_unsigned(total))
    } else {
        i64::try_from(total).ok()
    }
}

/// Go's `leadingInt`: the leading digits as a number and the rest; `None`
/// past 2^63.
fn leading_int(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let mut value: u64 = 0;
    for digit in text.as_bytes()[..digits].iter() {
        if value > (1 << 63) / 10 {
            return None;
        }
        value = value * 10 + u64::from(digit - b'0');
        if value > 1 << 63 {
            return None;
        }
    }
    Some((value, &text[digits..]))
}

/// Go's `leadingFraction`: the leading digits as a number, their scale
/// (10^count, as far as they were kept) and the rest; digits past what a
/// u64 holds stop adding precision, as in Go.
fn leading_fraction(text: &str) -> (u64, f64, &str) {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (mut value, mut scale, mut overflow) = (0u64, 1f64, false);
    for digit in text.as_bytes()[..digits].iter() {
        if overflow {
            continue;
        }
        if value > ((1u64 << 63) - 1) / 10 {
            overflow = true;
            continue;
        }
        let next = value * 10 + u64::from(digit - b'0');
        if next > 1 << 63 {
            overflow = true;
            continue;
        }
        value = next;
        scale *= 10.0;
    }
    (value, scale, &text[digits..])
}

/// Formats nanoseconds as Go's `Duration.String()`: `1h30m0s`, `1.5s`, `300ms`, `0s`.
pub(crate) fn format(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.unsigned_abs();
    if magnitude < 1_000_000_000 {
        // Sub-second values use the largest unit that keeps an integer part.
        let (unit, scale) = if magnitude < 1_000 {
            ("ns", 1)
        } else if magnitude < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", fraction(magnitude, scale));
    }
    let hours = magnitude / 3_600_000_000_000;
    let minutes = (magnitude / 60_000_000_000) % 60;
    let second_nanos = magnitude % 60_000_000_000;
    let seconds = fraction(second_nanos, 1_000_000_000);
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}s")
    } else {
        format!("{sign}{seconds}s")
    }
}

/// `value / scale` printed with the trailing zeros of its fraction removed.
fn fraction(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let rest = value % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let digits = scale.to_string().len() - 1;
    let fraction = format!("{rest:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("1h"), Some(3_600_000_000_000));
        assert_eq!(parse("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse("300ms"), Some(300_000_000));
        assert_eq!(parse("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse("-2s"), Some(-2_000_000_000));
        assert_eq!(parse("0"), Some(0));
        assert_eq!(parse("10us"), Some(10_000));
        assert_eq!(parse(".5s"), Some(500_000_000));
        assert_eq!(parse("1.s"), Some(1_000_000_000));
        assert_eq!(parse("2\u{b5}s"), Some(2_000));
        assert_eq!(parse("9223372036854775807ns"), Some(i64::MAX));
        assert_eq!(parse("-9223372036854775808ns"), Some(i64::MIN));
        assert_eq!(parse("2562047h"), Some(2_562_047 * 3_600_000_000_000));
        assert_eq!(parse("1.000000000000000000001s"), Some(1_000_000_000));
    }

    /// red22 F13: past an int64 of nanoseconds is no duration, as in Go
    /// (the float sum rounded 2^63 into range and saturated).
    #[test]
    fn refuses_what_overflows_as_go_does() {
        for text in [
            "9223372036854775808ns",
            "2562048h",
            "2562047h2562047h",
            "99999999999999999999ns",
            "-9223372036854775809ns",
            "9223372036.854775808s",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn rejects_non_durations() {
        for text in [
            "", "1", "h", "1x", "1h-2m", "abc", ".s", "-.s", "1..5s", "+",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(5_400_000_000_000), "1h30m0s");
        assert_eq!(format(1_500_000_000), "1.5s");
        assert_eq!(format(300_000_000), "300ms");
        assert_eq!(format(-60_000_000_000), "-1m0s");
        assert_eq!(format(42), "42ns");
    }
}
