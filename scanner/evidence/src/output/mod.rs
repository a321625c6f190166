//! What leaves as files: an [`crate::model::Evidence`] enters; index.html
//! ([`html`]), evidence.md ([`markdown`]) and the package directory that
//! holds them with evidence.json, the generated PolicyExceptions and a
//! MANIFEST ([`package`], which also verifies a package and reads a
//! previous one back) leave; a merged package's pages are [`merged`]'s.
//! The pages show long lists capped ([`ListLimits`]); evidence.json always
//! has all.

pub mod html;
pub mod markdown;
pub mod merged;
pub mod package;

/// How much of a long list a page shows; evidence.json always has all.
#[derive(Debug, Clone, Copy)]
pub struct ListLimits {
    /// Owners shown per policy.
    pub owners: usize,
    /// Violations shown per owner.
    pub per_owner: usize,
}

/// `1 owner`, `2 owners`.
pub(crate) fn owners_count(n: usize) -> String {
    if n == 1 {
        "1 owner".into()
    } else {
        format!("{n} owners")
    }
}

/// The first `limit` of `lines`, then `… and N more <elsewhere>` for the
/// rest.
pub(crate) fn capped(lines: &[String], limit: usize, elsewhere: &str) -> Vec<String> {
    let mut shown: Vec<String> = lines.iter().take(limit).cloned().collect();
    if lines.len() > limit {
        shown.push(format!("… and {} more {elsewhere}", lines.len() - limit));
    }
    shown
}
