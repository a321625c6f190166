//! Time functions: time_since, time_now, time_now_utc, time_add,
//! time_parse, time_to_cron, time_utc, time_diff, time_before, time_after,
//! time_between and time_truncate.
//!
//! Times come in as RFC 3339 strings (or, for time_parse and time_since, a
//! Go layout plus text) and leave as RFC 3339 strings at seconds precision,
//! keeping the input's offset, or as Go duration strings ("1h0m0s") or
//! booleans. Durations come in as Go duration text.

use chrono::{DateTime, Datelike, Duration, FixedOffset, TimeZone, Timelike, Utc};
use jmespath::{Rcvar, Variable};

use super::functions::{string, Arg, KyvernoFunction};
use super::golayout::{self, RFC3339};
use crate::value_types::duration;

pub(super) const FUNCTIONS: &[KyvernoFunction] = &[
    KyvernoFunction {
        name: "time_since",
        args: &[Arg::String, Arg::String, Arg::String],
        handler: time_since,
    },
    KyvernoFunction {
        name: "time_now",
        args: &[],
        handler: time_now,
    },
    KyvernoFunction {
        name: "time_now_utc",
        args: &[],
        handler: time_now_utc,
    },
    KyvernoFunction {
        name: "time_to_cron",
        args: &[Arg::String],
        handler: time_to_cron,
    },
    KyvernoFunction {
        name: "time_add",
        args: &[Arg::String, Arg::String],
        handler: time_add,
    },
    KyvernoFunction {
        name: "time_parse",
        args: &[Arg::String, Arg::String],
        handler: time_parse,
    },
    KyvernoFunction {
        name: "time_utc",
        args: &[Arg::String],
        handler: time_utc,
    },
    KyvernoFunction {
        name: "time_diff",
        args: &[Arg::String, Arg::String],
        handler: time_diff,
    },
    KyvernoFunction {
        name: "time_before",
        args: &[Arg::String, Arg::String],
        handler: time_before,
    },
    KyvernoFunction {
        name: "time_after",
        args: &[Arg::String, Arg::String],
        handler: time_after,
    },
    KyvernoFunction {
        name: "time_between",
        args: &[Arg::String, Arg::String, Arg::String],
        handler: time_between,
    },
    KyvernoFunction {
        name: "time_truncate",
        args: &[Arg::String, Arg::String],
        handler: time_truncate,
    },
];

type Time = DateTime<FixedOffset>;

fn time_arg(args: &[Rcvar], index: usize) -> Result<Time, String> {
    golayout::parse(RFC3339, string(args, index)?)
}

fn duration_arg(args: &[Rcvar], index: usize) -> Result<i64, String> {
    let text = string(args, index)?;
    duration::parse(text).ok_or_else(|| format!("time: invalid duration \"{text}\""))
}

fn text(time: &Time) -> Result<Variable, String> {
    Ok(Variable::String(golayout::rfc3339(time)))
}

/// `t2.Sub(t1).String()`; Go saturates at the Duration bounds.
fn difference(t1: &Time, t2: &Time) -> Variable {
    let nanos = t2
        .signed_duration_since(t1)
        .num_nanoseconds()
        .unwrap_or(if t2 > t1 { i64::MAX } else { i64::MIN });
    Variable::String(duration::format(nanos))
}

fn now() -> Time {
    crate::host::now().fixed_offset()
}

fn time_since(args: &[Rcvar]) -> Result<Variable, String> {
    let layout = match string(args, 0)? {
        "" => RFC3339,
        other => other,
    };
    let start = golayout::parse(layout, string(args, 1)?)?;
    let end = match string(args, 2)? {
        "" => now(),
        other => golayout::parse(layout, other)?,
    };
    Ok(difference(&start, &end))
}

// Kyverno formats the local time; its containers run in UTC, so both of
// these give UTC.
fn time_now(_args: &[Rcvar]) -> Result<Variable, String> {
    text(&now())
}

fn time_now_utc(_args: &[Rcvar]) -> Result<Variable, String> {
    text(&now())
}

fn time_to_cron(args: &[Rcvar]) -> Result<Variable, String> {
    // The fields are read in the time's own offset, not converted to UTC.
    let t = time_arg(args, 0)?;
    Ok(Variable::String(format!(
        "{} {} {} {} {}",
        t.minute(),
        t.hour(),
        t.day(),
        t.month(),
        t.weekday().num_days_from_sunday()
    )))
}

fn time_add(args: &[Rcvar]) -> Result<Variable, String> {
    let t = time_arg(args, 0)?;
    let d = duration_arg(args, 1)?;
    let sum = t
        .checked_add_signed(Duration::nanoseconds(d))
        .ok_or_else(|| "time out of range".to_string())?;
    text(&sum)
}

fn time_parse(args: &[Rcvar]) -> Result<Variable, String> {
    let layout = string(args, 0)?;
    let value = string(args, 1)?;
    // A layout that is itself an integer means "epoch seconds".
    if parse_go_int(layout).is_some() {
        let seconds = parse_go_int(value)
            .ok_or_else(|| format!("strconv.ParseInt: parsing \"{value}\": invalid syntax"))?;
        let t = Utc
            .timestamp_opt(seconds, 0)
            .single()
            .ok_or_else(|| "time out of range".to_string())?;
        return text(&t.fixed_offset());
    }
    text(&golayout::parse(layout, value)?)
}

/// `strconv.ParseInt(s, 10, 64)`: optional sign, then ASCII digits only.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn time_utc(args: &[Rcvar]) -> Result<Variable, String> {
    text(&time_arg(args, 0)?.with_timezone(&Utc).fixed_offset())
}

fn time_diff(args: &[Rcvar]) -> Result<Variable, String> {
    Ok(difference(&time_arg(args, 0)?, &time_arg(args, 1)?))
}

fn time_before(args: &[Rcvar]) -> Result<Variable, String> {
    Ok(Variable::Bool(time_arg(args, 0)? < time_arg(args, 1)?))
}

fn time_after(args: &[Rcvar]) -> Result<Variable, String> {
    Ok(Variable::Bool(time_arg(args, 0)? > time_arg(args, 1)?))
}

fn time_between(args: &[Rcvar]) -> Result<Variable, String> {
    let (t, start, end) = (time_arg(args, 0)?, time_arg(args, 1)?, time_arg(args, 2)?);
    // Both ends are exclusive, as `t.After(start) && t.Before(end)`.
    Ok(Variable::Bool(t > start && t < end))
}

/// Seconds from Go's zero time (0001-01-01 UTC) to the Unix epoch.
const ZERO_TO_UNIX: i128 = 62_135_596_800;

fn time_truncate(args: &[Rcvar]) -> Result<Variable, String> {
    let t = time_arg(args, 0)?;
    let d = duration_arg(args, 1)?;
    if d <= 0 {
        return text(&t);
    }
    // Go truncates the absolute time since its zero time, not the wall
    // clock, so the offset does not change where the cut falls.
    let since_zero =
        (t.timestamp() as i128 + ZERO_TO_UNIX) * 1_000_000_000 + t.timestamp_subsec_nanos() as i128;
    let remainder = since_zero.rem_euclid(d as i128);
    let cut = t
        .checked_sub_signed(Duration::nanoseconds(remainder as i64))
        .ok_or_else(|| "time out of range".to_string())?;
    text(&cut)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::jmespath::test_support::{eval, fails};
    use serde_json::json;

    #[test]
    fn time_now_is_rfc3339_utc() {
        for expr in ["time_now()", "time_now_utc()"] {
            let now = eval(expr);
            let text = now.as_str().unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
            assert!(text.ends_with('Z') && text.len() == 20, "{text}");
        }
        assert!(fails("time_now('x')").contains("argument"));
    }

    #[test]
    fn the_clock_is_the_hosts() {
        use chrono::{DateTime, TimeZone, Utc};
        struct Fixed;
        impl crate::host::Host for Fixed {
            fn now(&self) -> DateTime<Utc> {
                Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
            }
        }
        crate::host::scoped(std::sync::Arc::new(Fixed), || {
            assert_eq!(eval("time_now_utc()"), json!("2026-03-01T12:00:00Z"));
            assert_eq!(
                eval("time_since('', '2026-03-01T11:00:00Z', '')"),
                json!("1h0m0s")
            );
        });
    }

    #[test]
    fn time_since_with_and_without_layout() {
        assert_eq!(
            eval("time_since('', '2021-01-01T00:00:00Z', '2021-01-02T01:30:00Z')"),
            json!("25h30m0s")
        );
        assert_eq!(
            eval("time_since('2006-01-02', '2021-01-01', '2021-01-03')"),
            json!("48h0m0s")
        );
        let since = eval("time_since('', '2000-01-01T00:00:00Z', '')");
        let hours: i64 = since
            .as_str()
            .unwrap()
            .split('h')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(hours > 200_000, "{since}");
        assert!(fails("time_since('', 'yesterday', '')").contains("cannot parse"));
    }

    #[test]
    fn time_add_keeps_offset() {
        assert_eq!(
            eval("time_add('2021-01-01T00:00:00Z', '4h30m')"),
            json!("2021-01-01T04:30:00Z")
        );
        assert_eq!(
            eval("time_add('2021-01-01T00:00:00+02:00', '-1h')"),
            json!("2020-12-31T23:00:00+02:00")
        );
        assert!(fails("time_add('2021-01-01T00:00:00Z', '4x')").contains("invalid duration"));
        assert!(fails("time_add('2021-01-01', '1h')").contains("cannot parse"));
    }

    #[test]
    fn time_parse_layouts_and_epochs() {
        assert_eq!(
            eval("time_parse('2006-01-02T15:04:05Z07:00', '2021-11-09T22:01:23-05:00')"),
            json!("2021-11-09T22:01:23-05:00")
        );
        assert_eq!(
            eval("time_parse('Mon Jan 02 2006 15:04:05 -0700', 'Sat Jul 22 2023 21:15:00 +0530')"),
            json!("2023-07-22T21:15:00+05:30")
        );
        assert_eq!(
            eval("time_parse('02/01/06 3:04PM', '25/12/21 7:05AM')"),
            json!("2021-12-25T07:05:00Z")
        );
        assert_eq!(
            eval("time_parse('1136214245', '1672531200')"),
            json!("2023-01-01T00:00:00Z")
        );
        assert_eq!(
            eval("time_parse('15:04', '09:30')"),
            json!("0000-01-01T09:30:00Z")
        );
        assert!(fails("time_parse('1136214245', 'now')").contains("invalid syntax"));
        assert!(fails("time_parse('2006-01-02', '2021-13-01')").contains("month out of range"));
        assert!(fails("time_parse('2006-01-02', '2021-02-30')").contains("day out of range"));
        assert!(fails("time_parse('2006-01-02', '2021-01-01 extra')").contains("extra text"));
    }

    #[test]
    fn time_to_cron_fields() {
        assert_eq!(
            eval("time_to_cron('2021-02-03T04:05:06Z')"),
            json!("5 4 3 2 3")
        );
        assert_eq!(
            eval("time_to_cron('2021-02-07T23:59:00-01:00')"),
            json!("59 23 7 2 0")
        );
        assert_eq!(
            eval("time_add('2021-01-01T22:00:00Z','4h') | time_to_cron(@)"),
            json!("0 2 2 1 6")
        );
    }

    #[test]
    fn utc_diff_and_comparisons() {
        assert_eq!(
            eval("time_utc('2021-01-01T05:00:00+05:30')"),
            json!("2020-12-31T23:30:00Z")
        );
        assert_eq!(
            eval("time_diff('2021-01-01T00:00:00Z', '2021-01-01T00:00:01.5Z')"),
            json!("1.5s")
        );
        assert_eq!(
            eval("time_diff('2021-01-02T00:00:00Z', '2021-01-01T00:00:00Z')"),
            json!("-24h0m0s")
        );
        assert_eq!(
            eval("time_before('2021-01-01T00:00:00Z', '2021-01-01T00:00:00+01:00')"),
            json!(false)
        );
        assert_eq!(
            eval("time_after('2021-01-01T00:00:00Z', '2021-01-01T00:00:00+01:00')"),
            json!(true)
        );
        assert_eq!(
            eval("time_between('2021-01-02T00:00:00Z', '2021-01-01T00:00:00Z', '2021-01-03T00:00:00Z')"),
            json!(true)
        );
        assert_eq!(
            eval("time_between('2021-01-01T00:00:00Z', '2021-01-01T00:00:00Z', '2021-01-03T00:00:00Z')"),
            json!(false)
        );
        assert!(fails("time_before('x', '2021-01-01T00:00:00Z')").contains("time_before"));
    }

    #[test]
    fn time_truncate_on_absolute_time() {
        assert_eq!(
            eval("time_truncate('2021-01-01T10:34:56Z', '1h')"),
            json!("2021-01-01T10:00:00Z")
        );
        assert_eq!(
            eval("time_truncate('2021-01-01T10:34:56Z', '15m')"),
            json!("2021-01-01T10:30:00Z")
        );
        // Cut on absolute time: a +05:30 offset keeps its half hour.
        assert_eq!(
            eval("time_truncate('2021-01-01T10:34:56+05:30', '1h')"),
            json!("2021-01-01T10:30:00+05:30")
        );
        assert_eq!(
            eval("time_truncate('2021-01-01T10:34:56Z', '0s')"),
            json!("2021-01-01T10:34:56Z")
        );
        assert!(fails("time_truncate('2021-01-01T10:34:56Z', 'x')").contains("invalid duration"));
    }
}
