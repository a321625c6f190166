//! Kyverno's time functions: `time_add`, `time_parse`, `time_utc`,
//! `time_diff`, `time_before`, `time_after`, `time_between`,
//! `time_truncate`, `time_to_cron`. Times enter and leave as RFC 3339 text,
//! durations as Go duration text, as in Kyverno.

use jmespath::functions::ArgumentType as A;
use jmespath::Runtime;
use serde_json::Value;

use super::{failure, register, text, var};
use crate::engine::duration;

type Time = chrono::DateTime<chrono::FixedOffset>;

pub(super) fn rfc3339(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Kyverno's time arguments are RFC 3339.
pub(super) fn parse_time(text: &str) -> Result<Time, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("invalid RFC 3339 time {text:?}: {e}"))
}

/// Parses with a Go reference-time layout (`2006-01-02T15:04:05Z07:00`) by
/// translating it to a chrono format; layouts without a zone mean UTC.
fn parse_with_go_layout(layout: &str, text: &str) -> Result<Time, String> {
    const TOKENS: [(&str, &str); 22] = [
        ("2006", "%Y"),
        ("Z07:00", "%:z"),
        ("-07:00", "%:z"),
        ("-0700", "%z"),
        ("Z0700", "%z"),
        ("January", "%B"),
        ("Jan", "%b"),
        ("Monday", "%A"),
        ("Mon", "%a"),
        ("MST", "%Z"),
        ("01", "%m"),
        ("02", "%d"),
        ("_2", "%e"),
        ("15", "%H"),
        ("03", "%I"),
        ("04", "%M"),
        ("05", "%S"),
        ("PM", "%p"),
        (".000000000", "%.9f"),
        (".000000", "%.6f"),
        (".000", "%.3f"),
        ("06", "%y"),
    ];
    let mut format = String::new();
    let mut rest = layout;
    'outer: while let Some(c) = rest.chars().next() {
        for (go, chrono_format) in TOKENS {
            if let Some(after) = rest.strip_prefix(go) {
                format.push_str(chrono_format);
                rest = after;
                continue 'outer;
            }
        }
        if c == '%' {
            format.push_str("%%");
        } else {
            format.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    if let Ok(t) = chrono::DateTime::parse_from_str(text, &format) {
        return Ok(t);
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, &format) {
        return Ok(t.and_utc().fixed_offset());
    }
    chrono::NaiveDate::parse_from_str(text, &format)
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().fixed_offset())
        .map_err(|e| format!("parsing time {text:?} as {layout:?}: {e}"))
}

fn two_times(args: &[jmespath::Rcvar]) -> Result<(Time, Time), String> {
    Ok((parse_time(&text(args, 0))?, parse_time(&text(args, 1))?))
}

pub(super) fn register_all(runtime: &mut Runtime) {
    register(
        runtime,
        "time_add",
        vec![A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let t = parse_time(&text(args, 0)).map_err(|e| failure(ctx, e))?;
            let nanos =
                duration::parse(&text(args, 1)).ok_or_else(|| failure(ctx, "invalid duration"))?;
            Ok(var(Value::String(rfc3339(
                t + chrono::Duration::nanoseconds(nanos),
            ))))
        }),
    );
    register(
        runtime,
        "time_parse",
        vec![A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let (layout, stamp) = (text(args, 0), text(args, 1));
            if layout.parse::<i64>().is_ok() {
                let epoch: i64 = stamp
                    .parse()
                    .map_err(|_| failure(ctx, format!("invalid epoch time {stamp:?}")))?;
                let t = chrono::DateTime::from_timestamp(epoch, 0)
                    .ok_or_else(|| failure(ctx, "epoch out of range"))?;
                return Ok(var(Value::String(rfc3339(t.fixed_offset()))));
            }
            let t = parse_with_go_layout(&layout, &stamp).map_err(|e| failure(ctx, e))?;
            Ok(var(Value::String(rfc3339(t))))
        }),
    );
    register(
        runtime,
        "time_utc",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            let t = parse_time(&text(args, 0)).map_err(|e| failure(ctx, e))?;
            Ok(var(Value::String(rfc3339(
                t.with_timezone(&chrono::Utc).fixed_offset(),
            ))))
        }),
    );
    register(
        runtime,
        "time_diff",
        vec![A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let (a, b) = two_times(args).map_err(|e| failure(ctx, e))?;
            Ok(var(Value::String(duration::format(
                (b - a).num_nanoseconds().unwrap_or(i64::MAX),
            ))))
        }),
    );
    register(
        runtime,
        "time_before",
        vec![A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let (a, b) = two_times(args).map_err(|e| failure(ctx, e))?;
            Ok(var(Value::Bool(a < b)))
        }),
    );
    register(
        runtime,
        "time_after",
        vec![A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let (a, b) = two_times(args).map_err(|e| failure(ctx, e))?;
            Ok(var(Value::Bool(a > b)))
        }),
    );
    register(
        runtime,
        "time_between",
        vec![A::String, A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let (t, start) = two_times(args).map_err(|e| failure(ctx, e))?;
            let end = parse_time(&text(args, 2)).map_err(|e| failure(ctx, e))?;
            Ok(var(Value::Bool(t > start && t < end)))
        }),
    );
    register(
        runtime,
        "time_truncate",
        vec![A::String, A::String],
        None,
        Box::new(|args, ctx| {
            let t = parse_time(&text(args, 0)).map_err(|e| failure(ctx, e))?;
            let nanos =
                duration::parse(&text(args, 1)).ok_or_else(|| failure(ctx, "invalid duration"))?;
            if nanos <= 0 {
                return Ok(var(Value::String(rfc3339(t))));
            }
            // Go truncates time since its zero time; for divisors of a day that
            // equals truncating Unix time.
            let since_epoch = t.timestamp_nanos_opt().unwrap_or_default();
            let truncated = since_epoch - since_epoch.rem_euclid(nanos);
            let result =
                chrono::DateTime::from_timestamp_nanos(truncated).with_timezone(t.offset());
            Ok(var(Value::String(rfc3339(result))))
        }),
    );
    register(
        runtime,
        "time_to_cron",
        vec![A::String],
        None,
        Box::new(|args, ctx| {
            use chrono::{Datelike, Timelike};
            let t = parse_time(&text(args, 0)).map_err(|e| failure(ctx, e))?;
            let cron = format!(
                "{} {} {} {} {}",
                t.minute(),
                t.hour(),
                t.day(),
                t.month(),
                t.weekday().num_days_from_sunday()
            );
            Ok(var(Value::String(cron)))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::super::search;
    use serde_json::json;

    fn eval(expression: &str) -> serde_json::Value {
        search(expression, &json!({})).expect("evaluates")
    }

    #[test]
    fn time_functions() {
        assert_eq!(
            eval("time_add('2024-01-01T00:00:00Z', '1h30m')"),
            json!("2024-01-01T01:30:00Z")
        );
        assert_eq!(
            eval("time_diff('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z')"),
            json!("24h0m0s")
        );
        assert_eq!(
            eval("time_before('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z')"),
            json!(true)
        );
        assert_eq!(
            eval("time_after('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z')"),
            json!(false)
        );
        assert_eq!(
            eval("time_between('2024-01-01T12:00:00Z', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z')"),
            json!(true)
        );
        assert_eq!(
            eval("time_utc('2024-01-01T02:00:00+02:00')"),
            json!("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            eval("time_truncate('2024-01-01T10:47:13Z', '1h')"),
            json!("2024-01-01T10:00:00Z")
        );
        assert_eq!(
            eval("time_to_cron('2024-01-07T10:30:00Z')"),
            json!("30 10 7 1 0")
        );
        assert_eq!(
            eval("time_parse('2006-01-02', '2024-03-05')"),
            json!("2024-03-05T00:00:00Z")
        );
        assert_eq!(
            eval("time_parse('Mon Jan _2 15:04:05 2006', 'Tue Mar  5 10:00:00 2024')"),
            json!("2024-03-05T10:00:00Z")
        );
        assert_eq!(
            eval("time_parse('1136239445', '1704067200')"),
            json!("2024-01-01T00:00:00Z")
        );
        assert!(search("time_add('yesterday', '1h')", &json!({})).is_err());
        assert!(search("time_parse('2006-01-02', 'March')", &json!({})).is_err());
    }
}
