//! semver_compare(version, range): does `version` satisfy `range`?
//!
//! Kyverno uses blang/semver v4, whose rules differ from Cargo's: versions
//! are strict `MAJOR.MINOR.PATCH[-pre][+build]` (an unparsable version
//! counts as 0.0.0), and ranges are space-separated comparisons (`>1.0.0
//! <2.0.0`), alternatives joined by `||`, with `x` wildcards ("1.2.x").
//! This is a port of those rules, quirks included, taking two strings and
//! returning a bool.

use std::cmp::Ordering;

use jmespath::{Rcvar, Variable};

use super::functions::{string, Arg, KyvernoFunction};

pub(super) const FUNCTIONS: &[KyvernoFunction] = &[KyvernoFunction {
    name: "semver_compare",
    args: &[Arg::String, Arg::String],
    handler: semver_compare,
}];

fn semver_compare(args: &[Rcvar]) -> Result<Variable, String> {
    // Kyverno ignores the version's parse error and compares 0.0.0.
    let version = Version::parse(string(args, 0)?).unwrap_or_default();
    let range = Range::parse(string(args, 1)?)?;
    Ok(Variable::Bool(range.matches(&version)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pre {
    Number(u64),
    Text(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Pre>,
}

fn only(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    s.chars().all(allowed)
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn number(s: &str, what: &str) -> Result<u64, String> {
    if !only(s, |c| c.is_ascii_digit()) {
        return Err(format!("Invalid character(s) found in {what} number {s:?}"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(format!(
            "{what} number must not contain leading zeroes {s:?}"
        ));
    }
    s.parse()
        .map_err(|_| format!("invalid {what} number {s:?}"))
}

impl Version {
    /// blang's strict `Parse`.
    pub(super) fn parse(s: &str) -> Result<Version, String> {
        if s.is_empty() {
            return Err("Version string empty".to_string());
        }
        let parts: Vec<&str> = s.splitn(3, '.').collect();
        let [major, minor, rest] = parts[..] else {
            return Err("No Major.Minor.Patch elements found".to_string());
        };
        let (rest, build) = match rest.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (rest, None),
        };
        let (patch, pre) = match rest.split_once('-') {
            Some((p, pre)) => (p, Some(pre)),
            None => (rest, None),
        };
        let mut version = Version {
            major: number(major, "major")?,
            minor: number(minor, "minor")?,
            patch: number(patch, "patch")?,
            pre: Vec::new(),
        };
        for part in pre
            .map(|p| p.split('.').collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if part.is_empty() {
                return Err("Prerelease is empty".to_string());
            }
            if only(part, |c| c.is_ascii_digit()) {
                if part.len() > 1 && part.starts_with('0') {
                    return Err(format!(
                        "Numeric PreRelease version must not contain leading zeroes {part:?}"
                    ));
                }
                let n = part
                    .parse()
                    .map_err(|_| format!("invalid prerelease {part:?}"))?;
                version.pre.push(Pre::Number(n));
            } else if only(part, is_alnum) {
                version.pre.push(Pre::Text(part.to_string()));
            } else {
                return Err(format!("Invalid character(s) found in prerelease {part:?}"));
            }
        }
        for part in build
            .map(|b| b.split('.').collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if part.is_empty() {
                return Err("Build meta data is empty".to_string());
            }
            if !only(part, is_alnum) {
                return Err(format!(
                    "Invalid character(s) found in build meta data {part:?}"
                ));
            }
        }
        Ok(version)
    }

    fn compare(&self, other: &Version) -> Ordering {
        let core =
            (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        if core != Ordering::Equal {
            return core;
        }
        // A release sorts after its pre-releases.
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        for (a, b) in self.pre.iter().zip(&other.pre) {
            let ordering = match (a, b) {
                (Pre::Number(_), Pre::Text(_)) => Ordering::Less,
                (Pre::Text(_), Pre::Number(_)) => Ordering::Greater,
                (Pre::Number(x), Pre::Number(y)) => x.cmp(y),
                (Pre::Text(x), Pre::Text(y)) => x.cmp(y),
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        self.pre.len().cmp(&other.pre.len())
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "" | "=" | "==" => Op::Eq,
            "!" | "!=" => Op::Ne,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            _ => return None,
        })
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
        }
    }
}

/// Alternatives (`||`) of conjunctions of comparisons.
#[derive(Debug)]
pub(super) struct Range(Vec<Vec<(Op, Version)>>);

impl Range {
    pub(super) fn parse(s: &str) -> Result<Range, String> {
        let parts = split_and_trim(s);
        let mut alternatives: Vec<Vec<String>> = Vec::new();
        let mut last = 0;
        for (i, part) in parts.iter().enumerate() {
            if part == "||" {
                if i == 0 {
                    return Err("First element in range is '||'".to_string());
                }
                alternatives.push(parts[last..i].to_vec());
                last = i + 1;
            }
        }
        if last == parts.len() {
            return Err("Last element in range is '||'".to_string());
        }
        alternatives.push(parts[last..].to_vec());

        let mut out = Vec::new();
        for alternative in alternatives {
            let mut all = Vec::new();
            for part in expand_wildcards(alternative)? {
                let (op, version) = split_comparator(&part)?;
                let comparator = Op::parse(op).ok_or_else(|| {
                    format!("Could not parse Range {part:?}: Could not parse comparator {op:?}")
                })?;
                let version = Version::parse(version).map_err(|e| {
                    format!(
                        "Could not parse Range {part:?}: Could not parse version {version:?}: {e}"
                    )
                })?;
                all.push((comparator, version));
            }
            out.push(all);
        }
        Ok(Range(out))
    }

    pub(super) fn matches(&self, version: &Version) -> bool {
        self.0.iter().any(|all| {
            all.iter()
                .all(|(op, bound)| op.holds(version.compare(bound)))
        })
    }
}

/// blang's `splitAndTrim`: split on spaces not following `>`, `<` or `=`,
/// dropping one-character pieces, then remove the remaining spaces.
fn split_and_trim(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut last = 0usize;
    let mut last_char = 0u8;
    for (i, &c) in b.iter().enumerate() {
        if c == b' ' && !matches!(last_char, b'>' | b'<' | b'=') {
            if last + 1 < i {
                out.push(s[last..i].to_string());
            }
            last = i + 1;
        } else if c != b' ' {
            last_char = c;
        }
    }
    if last + 1 < b.len() {
        out.push(s[last..].to_string());
    }
    out.into_iter().map(|p| p.replace(' ', "")).collect()
}

/// The operator before the first digit, and the version from there on.
fn split_comparator(s: &str) -> Result<(&str, &str), String> {
    let i = s
        .find(|c: char| c.is_ascii_digit())
        .ok_or_else(|| format!("Could not get version from string: {s:?}"))?;
    Ok((s[..i].trim(), &s[i..]))
}

fn bump(version: &str, index: usize) -> String {
    let mut parts: Vec<String> = version.split('.').map(String::from).collect();
    if let Some(n) = parts.get(index).and_then(|p| p.parse::<u64>().ok()) {
        parts[index] = (n + 1).to_string();
        parts.join(".")
    } else {
        // blang ignores the error and builds a range with no version.
        String::new()
    }
}

/// blang's `expandWildcardVersion`: "1.2.x" becomes a pair of bounds.
fn expand_wildcards(parts: Vec<String>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in parts {
        if !part.contains('x') {
            out.push(part);
            continue;
        }
        let (op, version) = split_comparator(&part)?;
        let pieces: Vec<&str> = version.split('.').collect();
        let wildcard = if pieces.last() == Some(&"x") {
            pieces.len()
        } else {
            0
        };
        let mut flat = version.replacen(".x.x", ".x", 1).replacen(".x", ".0", 1);
        if flat.split('.').count() == 2 {
            flat.push_str(".0");
        }
        let (result_op, increment) = match op {
            ">" => (">=", true),
            ">=" => (">=", false),
            "<" => ("<", false),
            "<=" => ("<", true),
            "" | "=" | "==" => {
                out.push(format!(">={flat}"));
                ("<", true)
            }
            "!=" | "!" => {
                out.push(format!("<{flat}"));
                (">=", true)
            }
            _ => ("", false),
        };
        let result_version = if increment {
            match wildcard {
                3 => bump(&flat, 1),
                2 => bump(&flat, 0),
                _ => String::new(),
            }
        } else {
            flat
        };
        out.push(format!("{result_op}{result_version}"));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::{search, JmespathError};
    use crate::jmespath::test_support::eval;
    use serde_json::json;

    fn check(version: &str, range: &str) -> bool {
        eval(&format!("semver_compare('{version}', '{range}')"))
            .as_bool()
            .unwrap()
    }

    #[test]
    fn simple_comparisons() {
        assert!(check("1.10.0", ">1.0.0"));
        assert!(!check("1.0.0", ">1.0.0"));
        assert!(check("1.0.0", "1.0.0"));
        assert!(check("1.0.0", "=1.0.0"));
        assert!(check("1.0.0", "!=1.0.1"));
        assert!(check("1.0.0", "<=1.0.0"));
        assert!(check("1.0.0", ">= 1.0.0"));
        assert!(!check("0.9.9", ">= 1.0.0"));
    }

    #[test]
    fn ranges_and_alternatives() {
        assert!(check("1.5.0", ">1.0.0 <2.0.0"));
        assert!(!check("2.5.0", ">1.0.0 <2.0.0"));
        assert!(check("3.1.0", "<2.0.0 || >=3.0.0"));
        assert!(!check("2.1.0", "<2.0.0 || >=3.0.0"));
    }

    #[test]
    fn wildcards() {
        assert!(check("1.2.9", "1.2.x"));
        assert!(!check("1.3.0", "1.2.x"));
        assert!(check("1.9.0", "1.x"));
        assert!(!check("2.0.0", "1.x"));
        assert!(check("1.3.0", ">1.2.x"));
        assert!(!check("1.2.5", ">1.2.x"));
        // blang expands "!=1.2.x" into "<1.2.0 >=1.3.0", both required,
        // so it never matches; Kyverno inherits that.
        assert!(!check("1.4.0", "!=1.2.x"));
        assert!(!check("1.1.0", "!=1.2.x"));
    }

    #[test]
    fn prereleases_sort_before_releases() {
        assert!(check("1.0.0-alpha", "<1.0.0"));
        assert!(check("1.0.0-alpha.2", ">1.0.0-alpha.1"));
        assert!(check("1.0.0-beta", ">1.0.0-alpha.9"));
        assert!(check("1.0.0-1", "<1.0.0-a"));
        assert!(check("1.0.0+build", "1.0.0"));
    }

    #[test]
    fn bad_versions_count_as_zero_and_bad_ranges_fail() {
        // blang's Parse is strict: "v1.0.0" and "1.0" are not versions.
        assert!(check("v1.0.0", "0.0.0"));
        assert!(check("1.0", "<0.0.1"));
        for range in ["", "abc", "||", ">=1.0.0 ||", "~1.0.0", ">=01.0.0"] {
            let err =
                search(&format!("semver_compare('1.0.0', '{range}')"), &json!({})).unwrap_err();
            assert!(
                matches!(err, JmespathError::Function { .. }),
                "{range}: {err:?}"
            );
        }
    }
}
