//! Go's `time.Parse` layouts ("2006-01-02T15:04:05Z07:00", "Jan _2 15:04",
//! "02/01/06 3:04PM MST", ...) and Go's RFC 3339 output.
//!
//! Kyverno's time functions hand policy-written layouts straight to Go, so
//! text comes in as (layout, value) and leaves as a `chrono` time with a
//! fixed offset; `rfc3339` prints it back as `Time.Format(time.RFC3339)`.
//! Omitted fields default as in Go: year 0, January, day 1, UTC.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone};

/// Go's `time.RFC3339` layout.
pub(super) const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    UpperPm,
    LowerPm,
    ZoneName,
    Iso8601,
    Iso8601Seconds,
    Iso8601Short,
    Iso8601Colon,
    Iso8601ColonSeconds,
    Num,
    NumSeconds,
    NumShort,
    NumColon,
    NumColonSeconds,
    /// `.000`: exactly this many digits.
    FracZero(usize),
    /// `.999`: optional, any number of digits.
    FracNine,
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const SHORT_DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn starts_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

fn digit_at(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// Go's `nextStdChunk`: the literal prefix, the first layout element, and
/// the rest of the layout.
fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, text: &str| b.get(i..i + text.len()) == Some(text.as_bytes());
    for i in 0..b.len() {
        let found: Option<(usize, Std, usize)> = match b[i] {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    Some((i, Std::LongMonth, i + 7))
                } else if !starts_lower(&b[i + 3..]) {
                    Some((i, Std::Month, i + 3))
                } else {
                    None
                }
            }
            b'M' if at(i, "Mon") => {
                if at(i, "Monday") {
                    Some((i, Std::LongWeekDay, i + 6))
                } else if !starts_lower(&b[i + 3..]) {
                    Some((i, Std::WeekDay, i + 3))
                } else {
                    None
                }
            }
            b'M' if at(i, "MST") => Some((i, Std::ZoneName, i + 3)),
            b'0' if b.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => {
                let std = match b[i + 1] {
                    b'1' => Std::ZeroMonth,
                    b'2' => Std::ZeroDay,
                    b'3' => Std::ZeroHour12,
                    b'4' => Std::ZeroMinute,
                    b'5' => Std::ZeroSecond,
                    _ => Std::Year,
                };
                Some((i, std, i + 2))
            }
            b'0' if at(i, "002") => Some((i, Std::ZeroYearDay, i + 3)),
            b'1' if at(i, "15") => Some((i, Std::Hour, i + 2)),
            b'1' => Some((i, Std::NumMonth, i + 1)),
            b'2' if at(i, "2006") => Some((i, Std::LongYear, i + 4)),
            b'2' => Some((i, Std::Day, i + 1)),
            // "_2006" is a literal underscore and a long year.
            b'_' if at(i, "_2006") => Some((i + 1, Std::LongYear, i + 5)),
            b'_' if at(i, "_2") => Some((i, Std::UnderDay, i + 2)),
            b'_' if at(i, "__2") => Some((i, Std::UnderYearDay, i + 3)),
            b'3' => Some((i, Std::Hour12, i + 1)),
            b'4' => Some((i, Std::Minute, i + 1)),
            b'5' => Some((i, Std::Second, i + 1)),
            b'P' if at(i, "PM") => Some((i, Std::UpperPm, i + 2)),
            b'p' if at(i, "pm") => Some((i, Std::LowerPm, i + 2)),
            b'-' => [
                ("-070000", Std::NumSeconds),
                ("-07:00:00", Std::NumColonSeconds),
                ("-0700", Std::Num),
                ("-07:00", Std::NumColon),
                ("-07", Std::NumShort),
            ]
            .into_iter()
            .find(|(text, _)| at(i, text))
            .map(|(text, std)| (i, std, i + text.len())),
            b'Z' => [
                ("Z070000", Std::Iso8601Seconds),
                ("Z07:00:00", Std::Iso8601ColonSeconds),
                ("Z0700", Std::Iso8601),
                ("Z07:00", Std::Iso8601Colon),
                ("Z07", Std::Iso8601Short),
            ]
            .into_iter()
            .find(|(text, _)| at(i, text))
            .map(|(text, std)| (i, std, i + text.len())),
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let digit = b[i + 1];
                let mut j = i + 1;
                while b.get(j) == Some(&digit) {
                    j += 1;
                }
                // Only a fractional second if the run of digits ends here.
                if digit_at(b, j) {
                    None
                } else if digit == b'0' {
                    Some((i, Std::FracZero(j - i - 1), j))
                } else {
                    Some((i, Std::FracNine, j))
                }
            }
            _ => None,
        };
        if let Some((prefix_end, std, rest)) = found {
            return (&layout[..prefix_end], Some(std), &layout[rest..]);
        }
    }
    (layout, None, "")
}

fn bad(layout: &str, value: &str) -> String {
    format!("parsing time \"{value}\" as \"{layout}\": cannot parse")
}

/// Go's `getnum`: one or two digits (exactly two when `fixed`).
fn getnum(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if !digit_at(b, 0) {
        return None;
    }
    if !digit_at(b, 1) {
        if fixed {
            return None;
        }
        return Some(((b[0] - b'0') as i64, &s[1..]));
    }
    Some((((b[0] - b'0') * 10 + (b[1] - b'0')) as i64, &s[2..]))
}

/// Go's `getnum3`: up to three digits (exactly three when `fixed`).
fn getnum3(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    let mut n = 0i64;
    let mut i = 0;
    while i < 3 && digit_at(b, i) {
        n = n * 10 + (b[i] - b'0') as i64;
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &s[i..]))
}

/// Go's `skip`: literal layout text must match; a space matches a run of spaces.
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Option<&'a str> {
    while let Some(p) = prefix.chars().next() {
        if p == ' ' {
            if value.starts_with(|c| c != ' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        let v = value.chars().next()?;
        if v != p {
            return None;
        }
        prefix = &prefix[p.len_utf8()..];
        value = &value[v.len_utf8()..];
    }
    Some(value)
}

/// Case-insensitive prefix lookup of a month or day name.
fn lookup<'a>(names: &[&str], value: &'a str) -> Option<(usize, &'a str)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let head = value.get(..name.len())?;
        head.eq_ignore_ascii_case(name)
            .then(|| (i, &value[name.len()..]))
    })
}

/// Nanoseconds from `value[..n]`, which starts with '.' or ',' then digits.
fn nanoseconds(value: &str, n: usize) -> Option<i64> {
    let digits = value.get(1..n)?;
    if !value.starts_with(['.', ',']) || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits = &digits[..digits.len().min(9)];
    let mut ns: i64 = digits.parse().ok()?;
    for _ in digits.len()..9 {
        ns *= 10;
    }
    Some(ns)
}

/// Go's `parseTimeZone`: how many bytes of `value` look like a zone name.
fn zone_name_len(value: &str) -> Option<usize> {
    let b = value.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if value.starts_with("ChST") || value.starts_with("MeST") {
        return Some(4);
    }
    if value.starts_with("GMT") {
        // "GMT" optionally followed by a signed hour offset.
        let rest = &b[3..];
        if matches!(rest.first(), Some(b'+' | b'-')) {
            let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 {
                return Some(3 + 1 + digits);
            }
        }
        return Some(3);
    }
    if matches!(b[0], b'+' | b'-') {
        let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        return (digits > 0).then_some(1 + digits);
    }
    let upper = b
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if b[3] == b'T' || value.starts_with("WITA") => Some(4),
        5 if b[4] == b'T' => Some(5),
        _ => None,
    }
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `value` with a Go layout, as `time.Parse(layout, value)` does.
pub(super) fn parse(layout_text: &str, value_text: &str) -> Result<DateTime<FixedOffset>, String> {
    let err = || bad(layout_text, value_text);
    let range = |what: &str| format!("parsing time \"{value_text}\": {what} out of range");
    let mut layout = layout_text;
    let mut value = value_text;
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut minute, mut second, mut nanos) = (0i64, 0i64, 0i64, 0i64);
    let (mut pm, mut am) = (false, false);
    let mut utc = false;
    let mut offset: Option<i64> = None;
    let mut zone: Option<&str> = None;

    loop {
        let (prefix, std, suffix) = next_chunk(layout);
        value = skip(value, prefix).ok_or_else(err)?;
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(format!(
                    "parsing time \"{value_text}\": extra text: \"{value}\""
                ));
            }
            break;
        };
        layout = suffix;
        match std {
            Std::Year => {
                let digits = value.get(..2).ok_or_else(err)?;
                let v: i64 = digits.parse().map_err(|_| err())?;
                year = if v >= 69 { v + 1900 } else { v + 2000 };
                value = &value[2..];
            }
            Std::LongYear => {
                if !digit_at(value.as_bytes(), 0) {
                    return Err(err());
                }
                let digits = value.get(..4).ok_or_else(err)?;
                year = digits.parse().map_err(|_| err())?;
                value = &value[4..];
            }
            Std::Month | Std::LongMonth => {
                let names: &[&str] = if std == Std::Month {
                    &SHORT_MONTHS
                } else {
                    &LONG_MONTHS
                };
                let (index, rest) = lookup(names, value).ok_or_else(err)?;
                month = index as i64 + 1;
                value = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (m, rest) = getnum(value, std == Std::ZeroMonth).ok_or_else(err)?;
                if !(1..=12).contains(&m) {
                    return Err(range("month"));
                }
                month = m;
                value = rest;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let names: &[&str] = if std == Std::WeekDay {
                    &SHORT_DAYS
                } else {
                    &LONG_DAYS
                };
                value = lookup(names, value).ok_or_else(err)?.1;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay {
                    value = value.strip_prefix(' ').unwrap_or(value);
                }
                let (d, rest) = getnum(value, std == Std::ZeroDay).ok_or_else(err)?;
                day = d;
                value = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                if std == Std::UnderYearDay {
                    for _ in 0..2 {
                        value = value.strip_prefix(' ').unwrap_or(value);
                    }
                }
                let (d, rest) = getnum3(value, std == Std::ZeroYearDay).ok_or_else(err)?;
                yday = d;
                value = rest;
            }
            Std::Hour => {
                let (h, rest) = getnum(value, false).ok_or_else(err)?;
                if h >= 24 {
                    return Err(range("hour"));
                }
                hour = h;
                value = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (h, rest) = getnum(value, std == Std::ZeroHour12).ok_or_else(err)?;
                if h > 12 {
                    return Err(range("hour"));
                }
                hour = h;
                value = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (m, rest) = getnum(value, std == Std::ZeroMinute).ok_or_else(err)?;
                if m >= 60 {
                    return Err(range("minute"));
                }
                minute = m;
                value = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (s, rest) = getnum(value, std == Std::ZeroSecond).ok_or_else(err)?;
                if s >= 60 {
                    return Err(range("second"));
                }
                second = s;
                value = rest;
                // Go accepts a fraction after the seconds even when the
                // layout has none, unless the layout's next element is one.
                let b = value.as_bytes();
                if b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit() {
                    let next = next_chunk(layout).1;
                    if !matches!(next, Some(Std::FracZero(_) | Std::FracNine)) {
                        let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                        nanos = nanoseconds(value, n).ok_or_else(err)?;
                        value = &value[n..];
                    }
                }
            }
            Std::UpperPm | Std::LowerPm => {
                let p = value.get(..2).ok_or_else(err)?;
                let (pm_text, am_text) = if std == Std::UpperPm {
                    ("PM", "AM")
                } else {
                    ("pm", "am")
                };
                if p == pm_text {
                    pm = true;
                } else if p == am_text {
                    am = true;
                } else {
                    return Err(err());
                }
                value = &value[2..];
            }
            Std::Iso8601
            | Std::Iso8601Seconds
            | Std::Iso8601Short
            | Std::Iso8601Colon
            | Std::Iso8601ColonSeconds
                if value.starts_with('Z') =>
            {
                value = &value[1..];
                utc = true;
            }
            Std::Iso8601
            | Std::Iso8601Seconds
            | Std::Iso8601Short
            | Std::Iso8601Colon
            | Std::Iso8601ColonSeconds
            | Std::Num
            | Std::NumSeconds
            | Std::NumShort
            | Std::NumColon
            | Std::NumColonSeconds => {
                let (parsed, rest) = numeric_offset(std, value).ok_or_else(err)?;
                offset = Some(parsed?);
                value = rest;
            }
            Std::ZoneName => {
                if let Some(rest) = value.strip_prefix("UTC") {
                    utc = true;
                    value = rest;
                } else {
                    let n = zone_name_len(value).ok_or_else(err)?;
                    zone = Some(&value[..n]);
                    value = &value[n..];
                }
            }
            Std::FracZero(digits) => {
                let n = 1 + digits;
                if value.len() < n {
                    return Err(err());
                }
                nanos = nanoseconds(value, n).ok_or_else(err)?;
                value = &value[n..];
            }
            Std::FracNine => {
                let b = value.as_bytes();
                if b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit() {
                    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nanos = nanoseconds(value, n).ok_or_else(err)?;
                    value = &value[n..];
                }
            }
        }
    }

    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let leap = days_in(2, year) == 29;
        if yday < 1 || yday > if leap { 366 } else { 365 } {
            return Err(range("day-of-year"));
        }
        let (mut m, mut remaining) = (1, yday);
        while remaining > days_in(m, year) {
            remaining -= days_in(m, year);
            m += 1;
        }
        if (month >= 0 && month != m) || (day >= 0 && day != remaining) {
            return Err(format!(
                "parsing time \"{value_text}\": day-of-year does not match month or day"
            ));
        }
        month = m;
        day = remaining;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(format!("parsing time \"{value_text}\": day out of range"));
    }

    let seconds_east = if utc {
        0
    } else if let Some(offset) = offset {
        offset
    } else if let Some(name) = zone {
        // Unknown abbreviations get a zero offset; "GMT+3" means +3h.
        name.strip_prefix("GMT")
            .and_then(|h| h.parse::<i64>().ok())
            .map(|h| h * 3600)
            .unwrap_or(0)
    } else {
        0
    };
    let tz = i32::try_from(seconds_east)
        .ok()
        .and_then(FixedOffset::east_opt)
        .ok_or_else(|| range("time zone offset"))?;
    let date = i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month as u32, day as u32))
        .ok_or_else(err)?;
    let naive = date
        .and_hms_nano_opt(hour as u32, minute as u32, second as u32, nanos as u32)
        .ok_or_else(err)?;
    tz.from_local_datetime(&naive).single().ok_or_else(err)
}

/// A numeric zone offset (`-07:00`, `-0700`, `-07`, with seconds forms) in
/// seconds east, and the text after it. The inner error is a range error.
fn numeric_offset(std: Std, value: &str) -> Option<(Result<i64, String>, &str)> {
    let b = value.as_bytes();
    let (hh, mm, ss, len) = match std {
        Std::Iso8601Colon | Std::NumColon => {
            (b.get(3) == Some(&b':')).then_some(())?;
            (value.get(1..3)?, value.get(4..6)?, "00", 6)
        }
        Std::Iso8601Short | Std::NumShort => (value.get(1..3)?, "00", "00", 3),
        Std::Iso8601ColonSeconds | Std::NumColonSeconds => {
            (b.get(3) == Some(&b':') && b.get(6) == Some(&b':')).then_some(())?;
            (value.get(1..3)?, value.get(4..6)?, value.get(7..9)?, 9)
        }
        Std::Iso8601Seconds | Std::NumSeconds => {
            (value.get(1..3)?, value.get(3..5)?, value.get(5..7)?, 7)
        }
        _ => (value.get(1..3)?, value.get(3..5)?, "00", 5),
    };
    let (h, _) = getnum(hh, true)?;
    let (m, _) = getnum(mm, true)?;
    let (s, _) = getnum(ss, true)?;
    let magnitude = (h * 60 + m) * 60 + s;
    let signed = match b.first() {
        Some(b'+') => magnitude,
        Some(b'-') => -magnitude,
        _ => return None,
    };
    // Go allows 24 hours or 60 minutes/seconds in an offset, no more.
    let checked = if h > 24 || m > 60 || s > 60 {
        Err("time zone offset out of range".to_string())
    } else {
        Ok(signed)
    };
    Some((checked, &value[len..]))
}

/// `Time.Format(time.RFC3339)`: seconds precision, `Z` for a zero offset.
pub(super) fn rfc3339(time: &DateTime<FixedOffset>) -> String {
    let offset = time.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.abs();
        format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
    };
    let year = time.year();
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        year.to_string()
    };
    format!("{year}-{}{zone}", time.format("%m-%dT%H:%M:%S"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn p(layout: &str, value: &str) -> String {
        match parse(layout, value) {
            Ok(t) => rfc3339(&t),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn rfc3339_inputs() {
        assert_eq!(p(RFC3339, "2021-01-01T00:00:00Z"), "2021-01-01T00:00:00Z");
        assert_eq!(
            p(RFC3339, "2021-01-01T00:00:00.123456789Z"),
            "2021-01-01T00:00:00Z"
        );
        assert_eq!(
            p(RFC3339, "2021-01-01T00:00:00+00:00"),
            "2021-01-01T00:00:00Z"
        );
        assert_eq!(
            p(RFC3339, "2021-06-01T12:00:00-07:00"),
            "2021-06-01T12:00:00-07:00"
        );
        for bad in [
            "2021-01-01",
            "2021-01-01T00:00:00",
            "2021-01-01 00:00:00Z",
            "2021-1-01T00:00:00Z",
            "2021-01-01T00:00:00z",
        ] {
            assert!(p(RFC3339, bad).starts_with("ERR"), "{bad}");
        }
        assert!(p(RFC3339, "2021-01-01T24:00:00Z").contains("hour out of range"));
    }

    #[test]
    fn names_fractions_and_zones() {
        assert_eq!(
            p("January 2, 2006", "march 5, 2020"),
            "2020-03-05T00:00:00Z"
        );
        assert_eq!(
            p("Jan _2 15:04:05.000", "Feb  3 04:05:06.789"),
            "0000-02-03T04:05:06Z"
        );
        assert!(p("15:04:05.000", "04:05:06.78").starts_with("ERR"));
        assert_eq!(p("15:04:05.999", "04:05:06"), "0000-01-01T04:05:06Z");
        assert_eq!(
            p("2006-01-02 15:04 MST", "2021-01-01 10:00 PST"),
            "2021-01-01T10:00:00Z"
        );
        assert_eq!(
            p("2006-01-02 15:04 MST", "2021-01-01 10:00 GMT+3"),
            "2021-01-01T10:00:00+03:00"
        );
        assert_eq!(
            p("2006-01-02 15:04 -07", "2021-01-01 10:00 +03"),
            "2021-01-01T10:00:00+03:00"
        );
        assert_eq!(
            p("2006-01-02T15:04:05Z0700", "2021-01-01T10:00:00+0130"),
            "2021-01-01T10:00:00+01:30"
        );
        assert_eq!(p("2006-002", "2020-060"), "2020-02-29T00:00:00Z");
        assert_eq!(p("06-1-2", "99-12-31"), "1999-12-31T00:00:00Z");
        assert_eq!(p("3:04pm", "12:15am"), "0000-01-01T00:15:00Z");
        assert_eq!(
            p("Monday, 02-Jan-06", "Friday, 31-Dec-21"),
            "2021-12-31T00:00:00Z"
        );
    }
}
