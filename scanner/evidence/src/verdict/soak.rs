//! How long a policy has been clean: its spans of the soak history
//! ([`crate::run::history`]), its current soak digest and the rule
//! (`--min-soak`, `--min-scans`) enter [`soak_of`]; a [`Soak`] leaves, and
//! [`apply`] turns a ready verdict into [`Verdict::Wait`] while the soak is
//! not met or not known, and [`apply_git`] when Git (`--policy-repo`) holds
//! other rules than the policy that soaked.
//!
//! The walk goes back from the newest span and stops at one whose digest
//! differs from the current one (the rules changed: the soak restarts) or
//! that holds a `fail` or `error` result (the last violation, also when
//! its scans did not cover the policy completely: a violation seen in part
//! of the cluster is one), or at a gap (a run missing from the history:
//! what it found is unknown, so it may have been a violation). Clean spans
//! that did not cover it completely do not count, and the newest scan must
//! itself be complete — and recent (`--max-scan-age` of the evidence's
//! clock): a CronJob that stopped, or fails before it evaluates anything,
//! records nothing, and its last clean scan must not read as clean today.

use chrono::{DateTime, Duration, Utc};

use crate::ingest::policy_info::PolicyInfo;
use crate::ingest::SoakInput;
use crate::model::{PolicyEvidence, Soak, SoakStatus, Verdict};
use crate::run::history::Span;

/// The soak of a policy with `background: false`: there is none to wait for.
const NO_SOAK_BACKGROUND_OFF: &str = "no soak: the policy has background: false, so no scan evaluates it and no scan history can show it clean; decide from `polscan apply --include-non-background` (--min-soak 0 judges that audit alone)";

/// The fail counts a trend shows at most.
const TREND_SCANS: usize = 30;

/// A policy's soak. `current` is its [`soak_digest`] now (None: no
/// document); None when the input judges no soak (the library default).
///
/// [`soak_digest`]: crate::run::history::soak_digest
pub(crate) fn soak_of(
    info: &PolicyInfo,
    current: Option<&str>,
    input: &SoakInput,
    now: DateTime<Utc>,
    partial_because: &[String],
) -> Option<Soak> {
    let min_soak = input.min_soak?;
    let empty = Vec::new();
    let spans = input
        .history
        .as_ref()
        .and_then(|history| history.get(&info.qualified_name()))
        .unwrap_or(&empty);
    let mut soak = Soak {
        status: SoakStatus::Wait,
        clean_since: None,
        scans: 0,
        days: 0.0,
        remaining_days: 0,
        remaining_seconds: 0,
        restarted_by: None,
        incomplete_not_counted: 0,
        trend: trend(spans),
        summary: String::new(),
    };
    if min_soak <= Duration::zero() {
        soak.status = SoakStatus::Off;
        soak.summary =
            "soak rule off (--min-soak 0): readiness is judged on the last scan alone".into();
        return Some(soak);
    }
    // Only a policy the switch would not change has no soak: one that
    // enforces in some namespaces (an Enforce override) or some rules is
    // still in Audit where the switch takes it, which needs the soak
    // (walk43: one Enforce override for an unused namespace skipped it).
    if info.enforces() && info.enforce_changes_nothing() {
        soak.status = SoakStatus::NotApplicable;
        soak.summary =
            "soak not applicable: the policy already enforces (its checks are about a rollback)"
                .into();
        return Some(soak);
    }
    // No scan evaluates a background: false policy: its history holds
    // scans that did not look at it, so neither "clean since" nor a fail
    // chart would be true. Still Wait (fail closed): a ready verdict from
    // an audit of files is not a soak either.
    if info.background_off {
        soak.trend = Vec::new();
        soak.summary = NO_SOAK_BACKGROUND_OFF.into();
        return Some(soak);
    }
    let rule = format!(
        "--min-soak {}, --min-scans {}",
        duration_text(min_soak),
        input.min_scans
    );
    if input.history.is_none() {
        soak.status = SoakStatus::Unknown;
        soak.summary = "soak unknown: offline evidence (--from) has no scan history; --min-soak 0 decides without it".into();
        return Some(soak);
    }
    let (Some(newest), Some(current)) = (spans.last(), current) else {
        soak.summary = match current {
            None => {
                "WAIT: the policy's document is not known, so its scans cannot be matched to it"
                    .into()
            }
            Some(_) => format!("WAIT: no scan history yet ({rule})"),
        };
        return Some(soak);
    };
    let mut oldest_clean: Option<&Span> = None;
    // What is left of --min-soak from now, for the words; and whether the
    // streak's scans still span less than it.
    let mut left = Duration::zero();
    let mut short_by_scans = false;
    for (index, span) in spans.iter().enumerate().rev() {
        if let Some(reason) = &span.gap {
            soak.restarted_by = Some(gap_text(span.first, reason));
            break;
        }
        if span.hash != current {
            soak.restarted_by = Some(match spans.get(index + 1) {
                Some(after) => format!("rules changed at {}", time_text(after.first)),
                None => format!(
                    "rules changed after the newest recorded scan ({}): rescan",
                    time_text(span.last)
                ),
            });
            break;
        }
        // A violation a partial scan saw (one namespace, a shard, a run
        // cut short) is one all the same: it ends the streak; only a
        // clean partial scan is left out of the count.
        if span.fail > 0 || span.error > 0 {
            let partial = if span.complete {
                ""
            } else {
                " (by a scan that did not cover the policy completely)"
            };
            soak.restarted_by = Some(format!(
                "last violation at {}{partial}",
                time_text(span.last)
            ));
            break;
        }
        // A sharded run some of whose shards never recorded, with a later
        // scan after it: those shards were killed or failed, and what they
        // found is unknown, as a gap's. (The newest may still be running.)
        if let (Some(run), true) = (&span.run, index + 1 < spans.len()) {
            soak.restarted_by = Some(format!(
                "the sharded run {} at {} recorded {} of its {} shards: what the others found is unknown",
                run.id,
                time_text(span.first),
                run.shards.len(),
                run.count
            ));
            break;
        }
        if !span.complete {
            soak.incomplete_not_counted += span.scans;
            continue;
        }
        soak.scans += span.scans;
        oldest_clean = Some(span);
    }
    let newest_ok = newest.complete && newest.hash == current;
    let dated = newest_dated(newest.last, now, input.max_scan_age);
    if let (Some(oldest), true) = (oldest_clean, newest_ok) {
        let since = oldest.first;
        let clean_for = newest.last - since;
        soak.clean_since = Some(since);
        // Rounded down: 6.96 days must not read "7 day(s)" beside a WAIT.
        soak.days = (clean_for.num_seconds() as f64 / 8640.0).floor() / 10.0;
        if clean_for < min_soak {
            short_by_scans = true;
            // Counted to now, not to the newest scan (verify26): once the
            // time has passed, a scan is all that is left.
            let remaining = (min_soak - (now - since)).max(Duration::zero());
            left = remaining;
            soak.remaining_seconds = remaining.num_seconds().max(0) as u64;
            soak.remaining_days = soak.remaining_seconds.div_ceil(86_400) as u32;
        }
    }
    let streak = format!(
        "clean since {}, {} scan(s) over {} day(s)",
        soak.clean_since.map(date_text).unwrap_or_default(),
        soak.scans,
        soak.days
    );
    let restarted = soak
        .restarted_by
        .as_deref()
        .map(|r| format!("; {r}"))
        .unwrap_or_default();
    let incomplete = match soak.incomplete_not_counted {
        0 => String::new(),
        n => format!("; {n} incomplete scan(s) not counted"),
    };
    soak.summary = if let Some(dated) = dated {
        format!("WAIT: {dated} ({rule}{restarted})")
    } else if !newest_ok {
        if newest.gap.is_some() {
            format!("WAIT: the soak restarts with the next complete scan ({rule}{restarted})")
        } else if newest.hash != current {
            format!(
                "WAIT: the rules changed after the newest recorded scan ({}): its soak restarts with the next scan ({rule})",
                time_text(newest.last)
            )
        } else {
            format!(
                "WAIT: the newest scan ({}) did not cover the policy completely{} ({rule}{restarted})",
                time_text(newest.last),
                match partial_because {
                    [] => String::new(),
                    causes => format!(": not loaded: {}", causes.join("; ")),
                }
            )
        }
    } else if soak.clean_since.is_none() {
        // Not ready now, whatever the soak: the soak starts at the first
        // clean scan (no "WAIT" beside a NO-GO).
        format!("not clean in the newest scan: the soak starts at the first clean, complete scan ({rule}{restarted})")
    } else if short_by_scans && left > Duration::zero() {
        let more_scans = input.min_scans.saturating_sub(soak.scans);
        // The soak is read from the scans: the time left must pass before
        // a scan that shows it (walk25 F7: the wait read as time alone).
        let scans = match more_scans {
            0 | 1 => " and a scan after that".to_string(),
            n => format!(" and {n} more scan(s), the last after that"),
        };
        format!(
            "WAIT: {}{scans} ({streak}; {rule}{restarted}{incomplete})",
            remaining_text(left)
        )
    } else if short_by_scans {
        let more_scans = input.min_scans.saturating_sub(soak.scans).max(1);
        format!(
            "WAIT: {more_scans} more scan(s): --min-soak has passed since the streak began, and a scan now shows it ({streak}; {rule}{restarted}{incomplete})"
        )
    } else if soak.scans < input.min_scans {
        format!(
            "WAIT: {} more scan(s) ({streak}; {rule}{restarted}{incomplete})",
            input.min_scans - soak.scans
        )
    } else {
        soak.status = SoakStatus::Met;
        format!("{streak}{incomplete}")
    };
    Some(soak)
}

/// A ready policy whose soak is not met, or not known, waits; the reason
/// says how long.
pub(crate) fn apply(policy: &mut PolicyEvidence) {
    align_autogen_rules(policy);
    let Some(soak) = &policy.soak else {
        return;
    };
    if !matches!(soak.status, SoakStatus::Wait | SoakStatus::Unknown) {
        return;
    }
    if policy.verdict == Verdict::Ready {
        policy.verdict = Verdict::Wait;
        policy.reasons.push(soak.summary.clone());
    }
    // The soak is the policy's: no rule of it is ready before it is,
    // whatever else keeps the policy from ready (walk31 F1: a rule of a
    // NO-GO policy read "ready to enforce" after one scan).
    for rule in &mut policy.rule_evidence {
        if rule.verdict == Verdict::Ready {
            rule.verdict = Verdict::Wait;
        }
    }
}

/// An `autogen-` rule is enforced with the rule it was made from (it takes
/// its action, and no Kyverno field switches it alone): it is no readier
/// than that rule (walk31 F1: a green "ready to enforce" on the Deployment
/// side of a rule not ready).
fn align_autogen_rules(policy: &mut PolicyEvidence) {
    let rank = |verdict: Verdict| match verdict {
        Verdict::Ready => 0,
        Verdict::Wait => 1,
        Verdict::NoEvidence => 2,
        Verdict::NotReady => 3,
    };
    let own: Vec<(String, Verdict)> = policy
        .rule_evidence
        .iter()
        .filter(|rule| !rule.name.starts_with("autogen-"))
        .map(|rule| (rule.name.clone(), rule.verdict))
        .collect();
    for rule in &mut policy.rule_evidence {
        let Some(written) = rule
            .name
            .strip_prefix("autogen-cronjob-")
            .or_else(|| rule.name.strip_prefix("autogen-"))
        else {
            continue;
        };
        let Some((parent, verdict)) = own.iter().find(|(name, _)| name == written) else {
            continue;
        };
        if rank(*verdict) > rank(rule.verdict) {
            rule.verdict = *verdict;
            rule.reasons.push(format!(
                "enforced together with rule {parent}, which is not ready: an autogen rule takes the action of the rule it was made from"
            ));
        }
    }
}

/// Why the newest recorded scan (at `newest`) cannot vouch for the
/// cluster `now`: older than `max_age`, or dated more than a few minutes
/// after the evidence's own clock (the clocks of the scan and of this run
/// disagree, so no age can be trusted). None when it can.
fn newest_dated(
    newest: DateTime<Utc>,
    now: DateTime<Utc>,
    max_age: Option<Duration>,
) -> Option<String> {
    let max_age = max_age.filter(|max| *max > Duration::zero())?;
    let age = now - newest;
    if age > max_age {
        return Some(format!(
            "the newest recorded scan ({}) is {} old, more than --max-scan-age {}: what was created or changed since is unknown; scan again (a CronJob that stopped, or fails before it evaluates anything, records nothing)",
            time_text(newest),
            age_text(age),
            duration_text(max_age)
        ));
    }
    (age < -Duration::minutes(5)).then(|| {
        format!(
            "the newest recorded scan ({}) is dated {} after this evidence's clock ({}): the clocks disagree, so its age is unknown",
            time_text(newest),
            age_text(-age),
            time_text(now)
        )
    })
}

/// What is left of the soak: in days, or in hours under a day, minutes
/// under an hour, seconds under a minute (`--min-soak 20s` read "1 more
/// hour(s)", walk25 F7), rounded up.
fn remaining_text(remaining: Duration) -> String {
    let seconds = remaining.num_seconds().max(1) as u64;
    if remaining < Duration::minutes(1) {
        format!("{seconds} more second(s)")
    } else if remaining < Duration::hours(1) {
        format!("{} more minute(s)", seconds.div_ceil(60))
    } else if remaining < Duration::days(1) {
        format!("{} more hour(s)", seconds.div_ceil(3_600))
    } else {
        format!(
            "{} more day(s)",
            (remaining.num_seconds() as u64).div_ceil(86_400)
        )
    }
}

/// An age in words: days and hours, or hours and minutes under a day.
fn age_text(age: Duration) -> String {
    let (days, hours, minutes) = (age.num_days(), age.num_hours() % 24, age.num_minutes() % 60);
    if days > 0 {
        format!("{days}d{hours}h")
    } else {
        format!("{hours}h{minutes}m")
    }
}

/// With `--policy-repo`: a policy whose Git version holds other rules than
/// the cluster's ([`GitChange::rules_differ`]) is not ready — its soak says
/// nothing about the rules Git would enforce — so a ready verdict waits,
/// with the Git change's problem as the reason (added to any verdict's
/// reasons once, so that calling it again changes nothing).
///
/// [`GitChange::rules_differ`]: crate::promotion::GitChange::rules_differ
pub(crate) fn apply_git(policy: &mut PolicyEvidence) {
    let Some(change) = policy.git_change.as_ref().filter(|c| c.rules_differ) else {
        return;
    };
    let reason = change
        .problem
        .clone()
        .unwrap_or_else(|| "Git holds other rules than the policy that soaked".into());
    if !policy.reasons.contains(&reason) {
        policy.reasons.insert(0, reason);
    }
    if policy.verdict == Verdict::Ready {
        policy.verdict = Verdict::Wait;
        for rule in &mut policy.rule_evidence {
            if rule.verdict == Verdict::Ready {
                rule.verdict = Verdict::Wait;
            }
        }
    }
}

/// Why a gap ends the streak: the run at `at` is not in the history.
fn gap_text(at: DateTime<Utc>, reason: &str) -> String {
    format!(
        "the scan at {} is missing from the history, so what it found is unknown: {reason}",
        time_text(at)
    )
}

/// Each scan's fail count, newest last, at most [`TREND_SCANS`].
fn trend(spans: &[Span]) -> Vec<u64> {
    let mut counts: Vec<u64> = Vec::new();
    for span in spans.iter().rev() {
        for _ in 0..span.scans {
            if counts.len() == TREND_SCANS {
                break;
            }
            counts.push(span.fail);
        }
    }
    counts.reverse();
    counts
}

fn date_text(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d").to_string()
}

fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `7d`, `36h`, `90m`, `45s`: a duration as `--min-soak` takes it.
pub(crate) fn duration_text(duration: Duration) -> String {
    let seconds = duration.num_seconds();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::history::tests::day;
    use crate::run::history::{record, History, PolicyScan, ShardCounts, ShardOf};
    use std::collections::BTreeMap;

    fn policy(action: &str) -> PolicyInfo {
        let mut info = PolicyInfo::unknown("p");
        info.kind = "ClusterPolicy".into();
        info.action = action.into();
        info
    }

    /// The history, and its newest scan's time: a package made right
    /// after it judges at that time.
    struct Scans(History, DateTime<Utc>);

    impl Scans {
        fn new() -> Scans {
            Scans(History::new(), day(0))
        }
        fn at(self, n: i64, hash: &str, action: &str, fail: u64, complete: bool) -> Scans {
            self.at_time(day(n), hash, action, fail, complete)
        }
        fn at_time(
            mut self,
            at: DateTime<Utc>,
            hash: &str,
            action: &str,
            fail: u64,
            complete: bool,
        ) -> Scans {
            let scan = PolicyScan {
                hash: hash.into(),
                legacy_hash: None,
                action: action.into(),
                counts: ShardCounts {
                    fail,
                    error: 0,
                    evaluated: 5,
                    complete,
                },
            };
            let one: BTreeMap<String, PolicyScan> = [("p".to_string(), scan)].into();
            record(&mut self.0, at, None, &one);
            self.1 = self.1.max(at);
            self
        }
        fn judge(&self, current: &str, days: i64, scans: u32) -> Soak {
            self.judge_at(current, days, scans, self.1)
        }
        fn judge_at(&self, current: &str, days: i64, scans: u32, now: DateTime<Utc>) -> Soak {
            let input = SoakInput {
                min_soak: Some(Duration::days(days)),
                min_scans: scans,
                history: Some(self.0.clone()),
                max_scan_age: None,
            };
            soak_of(&policy("Audit"), Some(current), &input, now, &[]).unwrap()
        }
    }

    #[test]
    fn clean_long_enough_over_enough_scans_is_met() {
        let scans = Scans::new()
            .at(0, "h", "Audit", 3, true)
            .at(1, "h", "Audit", 0, true)
            .at(4, "h", "Audit", 0, true);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Wait);
        assert_eq!((soak.scans, soak.days, soak.remaining_days), (2, 3.0, 4));
        assert_eq!(soak.clean_since, Some(day(1)));
        assert_eq!(
            soak.restarted_by.as_deref(),
            Some("last violation at 2026-11-20T08:00:00Z")
        );
        assert!(soak.summary.starts_with("WAIT: 4 more day(s) and a scan after that (clean since 2026-11-21, 2 scan(s) over 3 day(s); --min-soak 7d, --min-scans 2"), "{}", soak.summary);
        assert_eq!(soak.trend, vec![3, 0, 0]);
        let scans = scans.at(8, "h", "Audit", 0, true);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Met, "{}", soak.summary);
        assert_eq!(
            soak.summary,
            "clean since 2026-11-21, 3 scan(s) over 7 day(s)"
        );
        // Long enough but too few scans.
        let soak = scans.judge("h", 7, 4);
        assert_eq!(soak.status, SoakStatus::Wait);
        assert!(
            soak.summary.starts_with("WAIT: 1 more scan(s)"),
            "{}",
            soak.summary
        );
    }

    #[test]
    fn a_newest_scan_too_old_or_from_the_future_does_not_vouch_for_now() {
        let scans = Scans::new()
            .at(0, "h", "Audit", 0, true)
            .at(4, "h", "Audit", 0, true)
            .at(8, "h", "Audit", 0, true);
        let judge = |now: DateTime<Utc>, max: Option<Duration>| {
            let input = SoakInput {
                min_soak: Some(Duration::days(7)),
                min_scans: 2,
                history: Some(scans.0.clone()),
                max_scan_age: max,
            };
            soak_of(&policy("Audit"), Some("h"), &input, now, &[]).unwrap()
        };
        // A day after the newest scan: met.
        let fresh = judge(day(9), Some(Duration::days(2)));
        assert_eq!(fresh.status, SoakStatus::Met, "{}", fresh.summary);
        // Five weeks on (the CronJob stopped): not met, and why.
        let old = judge(day(8 + 35), Some(Duration::days(2)));
        assert_eq!(old.status, SoakStatus::Wait);
        assert!(
            old.summary.starts_with("WAIT: the newest recorded scan (2026-11-28T08:00:00Z) is 35d0h old, more than --max-scan-age 2d: what was created or changed since is unknown"),
            "{}",
            old.summary
        );
        // Without a bound the age is not judged.
        assert_eq!(judge(day(8 + 35), None).status, SoakStatus::Met);
        // A scan dated after this run's clock: the clocks disagree.
        let skewed = judge(day(7), Some(Duration::days(2)));
        assert_eq!(skewed.status, SoakStatus::Wait);
        assert!(
            skewed
                .summary
                .contains("is dated 1d0h after this evidence's clock"),
            "{}",
            skewed.summary
        );
    }

    /// walk25 F7: `--min-soak 20s` read "1 more hour(s)".
    #[test]
    fn a_short_wait_reads_in_minutes_or_seconds() {
        assert_eq!(remaining_text(Duration::seconds(10)), "10 more second(s)");
        assert_eq!(remaining_text(Duration::seconds(61)), "2 more minute(s)");
        assert_eq!(remaining_text(Duration::minutes(59)), "59 more minute(s)");
        assert_eq!(remaining_text(Duration::minutes(61)), "2 more hour(s)");
        assert_eq!(remaining_text(Duration::hours(30)), "2 more day(s)");
    }

    #[test]
    fn an_hour_short_of_the_soak_reads_as_hours_not_as_a_met_week() {
        let scans = Scans::new()
            .at(0, "h", "Audit", 0, true)
            .at(4, "h", "Audit", 0, true)
            .at_time(day(7) - Duration::hours(1), "h", "Audit", 0, true);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Wait);
        assert!(
            soak.summary.starts_with(
                "WAIT: 1 more hour(s) and a scan after that (clean since 2026-11-20, 3 scan(s) over 6.9 day(s)"
            ),
            "{}",
            soak.summary
        );
    }

    /// verify26: the time left was counted to the newest scan, not to
    /// now: 72 s after the only scan of a 60 s soak it read "1 more
    /// minute(s)", and `remainingDays` 1.
    #[test]
    fn the_time_left_is_counted_to_now_and_then_a_scan_is_all_that_is_left() {
        let scans = Scans::new()
            .at(0, "h", "Audit", 0, true)
            .at(4, "h", "Audit", 0, true);
        // Day 5: 2 days of the 7 left from now.
        let soak = scans.judge_at("h", 7, 2, day(5));
        assert_eq!(
            (soak.remaining_days, soak.remaining_seconds),
            (2, 2 * 86_400)
        );
        assert!(
            soak.summary
                .starts_with("WAIT: 2 more day(s) and a scan after that"),
            "{}",
            soak.summary
        );
        // Day 9: the time has passed; the scans do not show it yet.
        let soak = scans.judge_at("h", 7, 2, day(9));
        assert_eq!(soak.status, SoakStatus::Wait);
        assert_eq!((soak.remaining_days, soak.remaining_seconds), (0, 0));
        assert!(
            soak.summary.starts_with("WAIT: 1 more scan(s): --min-soak has passed since the streak began, and a scan now shows it (clean since 2026-11-20, 2 scan(s) over 4 day(s)"),
            "{}",
            soak.summary
        );
        // That scan: met.
        let soak = scans.at(9, "h", "Audit", 0, true).judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Met, "{}", soak.summary);
        // A soak of seconds: 12 s after the scan of a 60 s soak, 48 s left.
        let scans = Scans::new().at(0, "h", "Audit", 0, true);
        let input = SoakInput {
            min_soak: Some(Duration::seconds(60)),
            min_scans: 1,
            history: Some(scans.0.clone()),
            max_scan_age: None,
        };
        let soak = soak_of(
            &policy("Audit"),
            Some("h"),
            &input,
            day(0) + Duration::seconds(12),
            &[],
        )
        .unwrap();
        assert_eq!((soak.remaining_days, soak.remaining_seconds), (1, 48));
        assert!(
            soak.summary
                .starts_with("WAIT: 48 more second(s) and a scan after that"),
            "{}",
            soak.summary
        );
    }

    #[test]
    fn a_run_missing_from_the_history_ends_the_streak() {
        let clean = Scans::new()
            .at(0, "h", "Audit", 0, true)
            .at(8, "h", "Audit", 0, true);
        assert_eq!(clean.judge("h", 7, 2).status, SoakStatus::Met);
        // A run killed on day 3 (its violations, if any, never recorded),
        // then clean scans on days 4 and 8: clean since day 4 only.
        let mut scans = Scans::new().at(0, "h", "Audit", 0, true);
        crate::run::history::record_gap(&mut scans.0, day(3), "killed", day(4));
        // The newest entry a gap: nothing to count on yet.
        let soak = scans.judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Wait);
        assert!(
            soak.summary.starts_with("WAIT: the soak restarts with the next complete scan (--min-soak 7d, --min-scans 2; the scan at 2026-11-23T08:00:00Z is missing from the history, so what it found is unknown: killed)"),
            "{}",
            soak.summary
        );
        let scans = scans
            .at(4, "h", "Audit", 0, true)
            .at(8, "h", "Audit", 0, true);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Wait, "{}", soak.summary);
        assert_eq!(soak.clean_since, Some(day(4)));
        assert_eq!((soak.scans, soak.remaining_days), (2, 3));
        assert_eq!(
            soak.restarted_by.as_deref(),
            Some("the scan at 2026-11-23T08:00:00Z is missing from the history, so what it found is unknown: killed")
        );
        // The gap is no scan in the trend.
        assert_eq!(soak.trend, vec![0, 0, 0]);
        assert_eq!(
            scans.at(11, "h", "Audit", 0, true).judge("h", 7, 2).status,
            SoakStatus::Met
        );
    }

    #[test]
    fn a_sharded_run_missing_shards_ends_the_streak_once_a_later_scan_came() {
        // Shard 0 of run r3 recorded on day 3, shard 1 was killed; the
        // next scans were not sharded, so no run read shard 1's record.
        let mut scans = Scans::new().at(0, "h", "Audit", 0, true);
        let shard = ShardOf {
            run_id: "r3".into(),
            index: 0,
            count: 2,
        };
        let one: BTreeMap<String, PolicyScan> = [(
            "p".to_string(),
            PolicyScan {
                hash: "h".into(),
                legacy_hash: None,
                action: "Audit".into(),
                counts: ShardCounts {
                    fail: 0,
                    error: 0,
                    evaluated: 5,
                    complete: true,
                },
            },
        )]
        .into();
        record(&mut scans.0, day(3), Some(&shard), &one);
        // Its other shard may still be running: the newest, not yet a gap.
        let soak = scans.judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Wait);
        assert!(soak.restarted_by.is_none(), "{:?}", soak.restarted_by);
        let scans = scans
            .at(4, "h", "Audit", 0, true)
            .at(12, "h", "Audit", 0, true);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Met, "{}", soak.summary);
        assert_eq!(soak.clean_since, Some(day(4)));
        assert_eq!(
            soak.restarted_by.as_deref(),
            Some("the sharded run r3 at 2026-11-23T08:00:00Z recorded 1 of its 2 shards: what the others found is unknown")
        );
    }

    #[test]
    fn a_rule_change_restarts_the_soak_and_an_action_change_does_not() {
        let scans = Scans::new()
            .at(0, "old", "Audit", 0, true)
            .at(8, "old", "Audit", 0, true);
        assert_eq!(scans.judge("old", 7, 2).status, SoakStatus::Met);
        // The policy changed after the newest scan: nothing counts yet.
        let soak = scans.judge("new", 7, 2);
        assert_eq!((soak.status, soak.scans), (SoakStatus::Wait, 0));
        assert!(
            soak.summary
                .contains("the rules changed after the newest recorded scan"),
            "{}",
            soak.summary
        );
        let scans = scans.at(9, "new", "Audit", 0, true);
        let soak = scans.judge("new", 7, 2);
        assert_eq!(
            soak.restarted_by.as_deref(),
            Some("rules changed at 2026-11-29T08:00:00Z")
        );
        assert_eq!((soak.scans, soak.clean_since), (1, Some(day(9))));
        // The same rules switched between actions: one streak.
        let scans = Scans::new()
            .at(0, "h", "Audit", 0, true)
            .at(4, "h", "Enforce", 0, true)
            .at(8, "h", "Audit", 0, true);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(
            (soak.status, soak.scans, soak.days),
            (SoakStatus::Met, 3, 8.0)
        );
    }

    /// A `--namespace` scan (or a shard, or a run cut short) that found
    /// violations on day 3 ended no streak before: a complete clean scan
    /// on day 8 made the soak "clean since day 0", Met — a week clean that
    /// was not. Its violations end the streak now; a clean incomplete scan
    /// still does not count.
    #[test]
    fn a_violation_an_incomplete_scan_saw_ends_the_streak() {
        let scans = Scans::new()
            .at(0, "h", "Audit", 0, true)
            .at(3, "h", "Audit", 9, false)
            .at(8, "h", "Audit", 0, true);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(
            (soak.status, soak.scans, soak.clean_since),
            (SoakStatus::Wait, 1, Some(day(8)))
        );
        assert_eq!(
            soak.restarted_by.as_deref(),
            Some("last violation at 2026-11-23T08:00:00Z (by a scan that did not cover the policy completely)")
        );
    }

    #[test]
    fn clean_incomplete_scans_neither_count_nor_break_but_the_newest_must_be_complete() {
        let scans = Scans::new()
            .at(0, "h", "Audit", 0, true)
            .at(3, "h", "Audit", 0, false)
            .at(8, "h", "Audit", 0, true);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(
            (soak.status, soak.scans, soak.incomplete_not_counted),
            (SoakStatus::Met, 2, 1)
        );
        assert!(
            soak.summary.contains("1 incomplete scan(s) not counted"),
            "{}",
            soak.summary
        );
        let scans = scans.at(9, "h", "Audit", 0, false);
        let soak = scans.judge("h", 7, 2);
        assert_eq!(soak.status, SoakStatus::Wait);
        assert!(
            soak.summary.contains("did not cover the policy completely"),
            "{}",
            soak.summary
        );
    }

    #[test]
    fn a_sharded_run_missing_a_shard_is_incomplete() {
        let mut history = Scans::new().at(0, "h", "Audit", 0, true).0;
        let scan = PolicyScan {
            hash: "h".into(),
            legacy_hash: None,
            action: "Audit".into(),
            counts: ShardCounts {
                complete: true,
                ..ShardCounts::default()
            },
        };
        let one: BTreeMap<String, PolicyScan> = [("p".to_string(), scan)].into();
        let shard = ShardOf {
            run_id: "job".into(),
            index: 0,
            count: 2,
        };
        record(&mut history, day(8), Some(&shard), &one);
        let soak = Scans(history.clone(), day(8)).judge("h", 7, 1);
        assert_eq!(soak.status, SoakStatus::Wait, "{}", soak.summary);
        let shard = ShardOf { index: 1, ..shard };
        record(&mut history, day(8), Some(&shard), &one);
        assert_eq!(
            Scans(history, day(8)).judge("h", 7, 1).status,
            SoakStatus::Met
        );
    }

    #[test]
    fn a_policy_no_scan_evaluates_has_no_soak_and_no_chart() {
        let scans = Scans::new()
            .at(0, "h", "Audit", 0, true)
            .at(4, "h", "Audit", 0, true);
        let mut admission_only = policy("Audit");
        admission_only.background_off = true;
        for history in [Some(scans.0.clone()), None] {
            let input = SoakInput {
                min_soak: Some(Duration::days(7)),
                min_scans: 2,
                history,
                max_scan_age: None,
            };
            let soak = soak_of(&admission_only, Some("h"), &input, day(100), &[]).unwrap();
            // Still not met: a ready verdict must not pass as soaked.
            assert_eq!(soak.status, SoakStatus::Wait);
            assert!(soak.trend.is_empty(), "{soak:?}");
            assert!(soak.clean_since.is_none(), "{soak:?}");
            assert_eq!(soak.summary, NO_SOAK_BACKGROUND_OFF);
        }
    }

    #[test]
    fn off_unknown_not_applicable_and_no_history() {
        let mut input = SoakInput {
            min_soak: Some(Duration::zero()),
            min_scans: 2,
            history: None,
            max_scan_age: None,
        };
        let judged = |input: &SoakInput, action: &str| {
            soak_of(&policy(action), Some("h"), input, day(100), &[]).unwrap()
        };
        assert_eq!(judged(&input, "Audit").status, SoakStatus::Off);
        input.min_soak = Some(Duration::hours(36));
        assert_eq!(judged(&input, "Enforce").status, SoakStatus::NotApplicable);
        let unknown = judged(&input, "Audit");
        assert_eq!(unknown.status, SoakStatus::Unknown);
        assert!(unknown
            .summary
            .starts_with("soak unknown: offline evidence (--from)"));
        input.history = Some(History::new());
        let none = judged(&input, "Audit");
        assert_eq!(
            none.summary,
            "WAIT: no scan history yet (--min-soak 36h, --min-scans 2)"
        );
        assert!(soak_of(
            &policy("Audit"),
            Some("h"),
            &SoakInput::default(),
            day(100),
            &[]
        )
        .is_none());
    }
}
