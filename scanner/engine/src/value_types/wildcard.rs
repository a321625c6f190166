//! Kyverno wildcards (`*` any run, `?` one character), as used in resource
//! names, kinds, namespaces, label selectors and pattern values.

use wildmatch::WildMatch;

/// True when `text` contains a wildcard character Kyverno would expand.
pub(crate) fn has_wildcard(text: &str) -> bool {
    text.contains('*') || text.contains('?')
}

/// Matches `text` against `pattern`; a pattern without wildcards must be equal.
pub fn matches(pattern: &str, text: &str) -> bool {
    if !has_wildcard(pattern) {
        return pattern == text;
    }
    WildMatch::new(pattern).matches(text)
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
}
