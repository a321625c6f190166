//! Many failures of one cause, said once: the run's [`ClusterError`]s (and
//! the kinds whose LIST failed, and the evidence's per-object look-ups)
//! enter; one line per cause leaves, with how
//! many objects it hit and the first one's whole error. A dead server or a
//! missing RBAC verb fails every write alike: a line per report would bury
//! the one thing to fix under thousands of copies of it. Each failure is
//! still logged at debug level (`-v`, `POLSCAN_LOG=debug`) with its object.

use std::fmt::Write as _;

use crate::cluster::ClusterError;

use super::KindListing;

/// What groups failures: what was done (`applying`), to what kind
/// (`PolicyReport`), and why ([`cause`]).
#[derive(PartialEq, Eq)]
struct Group<'a> {
    action: &'a str,
    kind: &'a str,
    cause: String,
}

/// The part of an error that does not depend on the object: the status
/// reason and code of an answer (its message names the object), the whole
/// text of a transport failure (a refused connection reads the same for
/// every object), or why a report was not sent.
fn cause(err: &ClusterError) -> String {
    match err {
        ClusterError::Status { code, reason, .. } => format!("{reason} ({code})"),
        ClusterError::Transport { message, .. } => message.clone(),
        ClusterError::Config(message) => message.clone(),
        ClusterError::NotSent { .. } => {
            "it does not fit its CRD schema or the server's size limit (not sent; the stored one is kept)".into()
        }
    }
}

/// The action and kind an error's `what` starts with (`applying
/// PolicyReport ns/name` → `applying`, `PolicyReport`); a report not sent
/// (`PolicyReport ns/name`) is a `sending`. Empty when `what` has no such
/// start: such errors are grouped by their whole `what` only.
fn action_and_kind(err: &ClusterError) -> (&str, &str) {
    let what = match err {
        ClusterError::Status { what, .. } | ClusterError::Transport { what, .. } => what,
        ClusterError::NotSent { what, .. } => {
            return (
                "sending",
                what.split_whitespace().next().unwrap_or_default(),
            );
        }
        ClusterError::Config(_) => return ("", ""),
    };
    let mut words = what.split_whitespace();
    match (words.next(), words.next()) {
        // A kind, as the report store names objects (`applying
        // PolicyReport …`): an upper-case word.
        (Some(action), Some(kind)) if kind.starts_with(|c: char| c.is_ascii_uppercase()) => {
            (action, kind)
        }
        _ => ("", ""),
    }
}

/// `n` with thousands separators (`2,650`), as the lines give counts.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// One line per cause of `errors`, in the order each cause first failed:
/// an error alone in its group as it is; a group of several as `applying
/// 2,650 PolicyReports failed: <cause> (first: <its whole error>)`.
pub fn summarize(errors: &[ClusterError]) -> Vec<String> {
    let mut groups: Vec<(Group<'_>, Vec<&ClusterError>)> = Vec::new();
    for err in errors {
        let (action, kind) = action_and_kind(err);
        let group = Group {
            action,
            kind,
            // Without an action and kind, only identical errors group.
            cause: if kind.is_empty() {
                err.to_string()
            } else {
                cause(err)
            },
        };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push(err),
            None => groups.push((group, vec![err])),
        }
    }
    groups
        .into_iter()
        .map(|(group, members)| match members.as_slice() {
            [one] => one.to_string(),
            [first, ..] if group.kind.is_empty() => {
                format!("{first} ({} times)", count(members.len()))
            }
            [first, ..] => format!(
                "{} {} {}s failed: {} (first: {first}; -v names each)",
                group.action,
                count(members.len()),
                group.kind,
                group.cause
            ),
            [] => String::new(),
        })
        .collect()
}

/// The kinds that did not list, one line per cause: a kind alone as
/// `Pod not scanned: <error>`; several as `3 kinds not scanned (Pod,
/// Deployment, Service): <cause> (first: <its whole error>)`, naming at
/// most [`NAMED_KINDS`] of them.
pub fn summarize_listings<'a>(failed: impl Iterator<Item = &'a KindListing>) -> Vec<String> {
    by_cause(failed.filter(|l| l.error.is_some()), |listing| {
        listing.error.as_ref().map(cause).unwrap_or_default()
    })
    .into_iter()
    .filter_map(|(cause, members)| {
        let first = members.first()?;
        let first_error = first.error.as_ref()?;
        if members.len() == 1 {
            return Some(format!(
                "{} not scanned: {first_error}",
                first.kind.display_name()
            ));
        }
        let mut names = String::new();
        for (i, listing) in members.iter().take(NAMED_KINDS).enumerate() {
            if i > 0 {
                names.push_str(", ");
            }
            names.push_str(&listing.kind.display_name());
        }
        if members.len() > NAMED_KINDS {
            let _ = write!(names, ", … {} more", count(members.len() - NAMED_KINDS));
        }
        Some(format!(
            "{} kinds not scanned ({names}): {cause} (first: {first_error})",
            count(members.len())
        ))
    })
    .collect()
}

/// Per-object look-ups that failed (`(object, error)`), one line per
/// cause: alone as `<what> <object>: <error>` (`owner of Pod ns/web: …`),
/// several as `<what> 2,650 objects failed: <cause> (first: <object>:
/// <error>; …)`.
pub fn summarize_lookups(
    what: &str,
    failures: &[(impl std::fmt::Display, ClusterError)],
) -> Vec<String> {
    for (object, err) in failures {
        tracing::debug!(%object, error = %err, "{what} failed");
    }
    by_cause(failures, |(_, err)| cause(err))
        .into_iter()
        .filter_map(|(cause, members)| {
            let (object, err) = members.first()?;
            Some(if members.len() == 1 {
                format!("{what} {object}: {err}")
            } else {
                format!(
                    "{what} {} objects failed: {cause} (first: {object}: {err}; -v names each)",
                    count(members.len())
                )
            })
        })
        .collect()
}

/// `items` grouped by `key`, each group in the order its key first came.
fn by_cause<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
) -> Vec<(String, Vec<T>)> {
    let mut groups: Vec<(String, Vec<T>)> = Vec::new();
    for item in items {
        let cause = key(&item);
        match groups.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, members)) => members.push(item),
            None => groups.push((cause, vec![item])),
        }
    }
    groups
}

/// How many kinds a line of [`summarize_listings`] names.
pub const NAMED_KINDS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(namespace: &str) -> ClusterError {
        ClusterError::Status {
            what: format!("applying PolicyReport {namespace}/polscan-ns-{namespace}-1"),
            code: 403,
            reason: "Forbidden".into(),
            message: format!("policyreports.wgpolicyk8s.io \"polscan-ns-{namespace}-1\" is forbidden: User \"polscan-limited\" cannot patch resource \"policyreports\" in the namespace \"{namespace}\""),
        }
    }

    fn refused(what: String) -> ClusterError {
        ClusterError::Transport {
            what,
            message: "client error (Connect): tcp connect error: Connection refused (os error 111)"
                .into(),
        }
    }

    #[test]
    fn many_failures_of_one_cause_are_one_line_with_the_count_and_the_first() {
        let mut errors: Vec<ClusterError> =
            (0..2650).map(|i| forbidden(&format!("ns-{i}"))).collect();
        errors.extend((0..40).map(|i| refused(format!("deleting PolicyReport old/r-{i}"))));
        errors.push(refused("applying PolicyReport x/y".into()));
        let lines = summarize(&errors);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with("applying 2,650 PolicyReports failed: Forbidden (403) (first: applying PolicyReport ns-0/polscan-ns-ns-0-1: Forbidden (403): "),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("cannot patch resource"), "{}", lines[0]);
        assert!(
            lines[1].starts_with("deleting 40 PolicyReports failed: client error (Connect): tcp connect error: Connection refused (os error 111) (first: deleting PolicyReport old/r-0: "),
            "{}",
            lines[1]
        );
        // Alone in its group (another action): as it is.
        assert_eq!(lines[2], errors[2690].to_string());
    }

    #[test]
    fn an_error_alone_reads_as_before() {
        let errors = vec![forbidden("a"), refused("reading CRD x".into())];
        let lines = summarize(&errors);
        assert_eq!(
            lines,
            vec![errors[0].to_string(), errors[1].to_string()],
            "one failure of each cause is said whole"
        );
    }

    #[test]
    fn errors_without_an_object_kind_group_only_when_identical() {
        let a = refused("listing policies".into());
        let b = refused("reading Kyverno's resourceFilters".into());
        let lines = summarize(&[a.clone(), a.clone(), b.clone()]);
        assert_eq!(lines, vec![format!("{a} (2 times)"), b.to_string()]);
    }

    #[test]
    fn reports_not_sent_are_grouped_as_sends() {
        let not_sent = |name: &str| ClusterError::NotSent {
            what: format!("PolicyReport ns/{name}"),
            message: format!("{name} is 2000000 bytes"),
        };
        let lines = summarize(&[not_sent("a"), not_sent("b")]);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("sending 2 PolicyReports failed: it does not fit"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn kinds_that_did_not_list_alike_are_one_line() {
        let listing = |group: &str, name: &str, err: ClusterError| KindListing {
            kind: crate::cluster::discovery::listable_for_tests(group, name),
            objects: 0,
            error: Some(err),
        };
        let mut listings: Vec<KindListing> = (0..12)
            .map(|i| {
                listing(
                    "example.com",
                    &format!("Kind{i}"),
                    refused(format!("listing /apis/example.com/v1/kind{i}s")),
                )
            })
            .collect();
        listings.push(listing("apps", "Deployment", forbidden("x")));
        listings.push(KindListing {
            error: None,
            ..listing("", "Pod", forbidden("y"))
        });
        let lines = summarize_listings(listings.iter());
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].starts_with("12 kinds not scanned (example.com/Kind0, example.com/Kind1, ")
                && lines[0].contains(", … 2 more): client error (Connect): ")
                && lines[0].contains("(first: listing /apis/example.com/v1/kind0s: "),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("apps/Deployment not scanned: applying"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn lookups_of_one_cause_are_one_line() {
        let failures: Vec<(String, ClusterError)> = (0..300)
            .map(|i| (format!("Pod ns/web-{i}"), forbidden(&format!("ns-{i}"))))
            .chain([("Pod ns/db".to_string(), refused("reading Pod ns/db".into()))])
            .collect();
        let lines = summarize_lookups("owner of", &failures);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].starts_with(
                "owner of 300 objects failed: Forbidden (403) (first: Pod ns/web-0: applying"
            ),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            format!("owner of Pod ns/db: {}", failures[300].1),
            "alone: as before"
        );
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(2650), "2,650");
        assert_eq!(count(1234567), "1,234,567");
    }
}
