//! Kyverno wildcards (`*` any run, `?` one character), as used in resource
//! names, kinds, namespaces, label selectors and pattern values: a pattern
//! and a text enter, whether they match leaves.
//!
//! Ours, not the `wildmatch` crate's matcher (Kyverno's is
//! `github.com/kyverno/kyverno/ext/wildcard`, the same semantics): its
//! backtracking restarts at the last `*` for every text position, so a
//! 1 MB key against `*aaa…ab` took minutes (hunt27 F4). Here the segments
//! between `*`s are matched in order — the first at the start, the last
//! at the end, each middle one at its leftmost place — which is linear
//! for segments without `?` (`str::find`). The crate stays the tests'
//! reference.

/// True when `text` contains a wildcard character Kyverno would expand.
pub(crate) fn has_wildcard(text: &str) -> bool {
    text.contains('*') || text.contains('?')
}

/// Matches `text` against `pattern`; a pattern without wildcards must be equal.
pub fn matches(pattern: &str, text: &str) -> bool {
    if !has_wildcard(pattern) {
        return pattern == text;
    }
    let segments: Vec<&str> = pattern.split('*').collect();
    let (first, last) = match segments.as_slice() {
        [only] => return strip_prefix(text, only) == Some(""),
        [first, .., last] => (*first, *last),
        [] => return false,
    };
    let Some(rest) = strip_prefix(text, first) else {
        return false;
    };
    let Some(mut rest) = strip_suffix(rest, last) else {
        return false;
    };
    for middle in &segments[1..segments.len() - 1] {
        match find(rest, middle) {
            Some(end) => rest = &rest[end..],
            None => return false,
        }
    }
    true
}

/// `text` after `segment` (`?` any one character) at its start.
fn strip_prefix<'t>(text: &'t str, segment: &str) -> Option<&'t str> {
    let mut chars = text.char_indices();
    for wanted in segment.chars() {
        let (_, c) = chars.next()?;
        if wanted != '?' && wanted != c {
            return None;
        }
    }
    Some(chars.as_str())
}

/// `text` before `segment` (`?` any one character) at its end.
fn strip_suffix<'t>(text: &'t str, segment: &str) -> Option<&'t str> {
    let mut chars = text.chars();
    for wanted in segment.chars().rev() {
        let c = chars.next_back()?;
        if wanted != '?' && wanted != c {
            return None;
        }
    }
    Some(chars.as_str())
}

/// Where the leftmost match of `segment` in `text` ends.
fn find(text: &str, segment: &str) -> Option<usize> {
    if !segment.contains('?') {
        return text.find(segment).map(|at| at + segment.len());
    }
    text.char_indices()
        .map(|(at, _)| at)
        .chain(std::iter::once(text.len()))
        .find_map(|at| strip_prefix(&text[at..], segment).map(|rest| text.len() - rest.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question_mark() {
        assert!(matches("*", ""));
        assert!(matches("nginx*", "nginx:1.2"));
        assert!(matches("?*", "a"));
        assert!(!matches("?*", ""));
        assert!(matches("kube-?ystem", "kube-system"));
        assert!(!matches("kube-system", "kube-systems"));
        assert!(matches("*:latest", "nginx:latest"));
        assert!(!matches("*:latest", "nginx:1.0"));
    }

    /// The same answers as the `wildmatch` crate over every pattern and
    /// text of up to 5 characters from a small alphabet, and linear time
    /// where its backtracking was quadratic (hunt27 F4).
    #[test]
    fn answers_as_wildmatch_does_and_in_linear_time() {
        let alphabet = ['a', 'b', 'é', '*', '?'];
        let words = |max: usize, with_wildcards: bool| {
            let letters: Vec<char> = alphabet
                .iter()
                .copied()
                .filter(|c| with_wildcards || !matches!(c, '*' | '?'))
                .collect();
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|w| letters.iter().map(move |c| format!("{w}{c}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        };
        let texts = words(4, false);
        for pattern in words(4, true) {
            let reference = wildmatch::WildMatch::new(&pattern);
            for text in &texts {
                assert_eq!(
                    matches(&pattern, text),
                    reference.matches(text),
                    "{pattern:?} {text:?}"
                );
            }
        }
        let key = "a".repeat(1_000_000);
        let pattern = format!("*{}b", "a".repeat(500_000));
        let started = std::time::Instant::now();
        assert!(!matches(&pattern, &key));
        assert!(matches(&format!("*{}", "a".repeat(500_000)), &key));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
