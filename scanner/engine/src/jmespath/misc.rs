//! The functions that fit no other family: random (text matching a regex),
//! image_normalize (an image reference in full form) and is_external_url.
//!
//! Each takes one string. random and image_normalize return strings;
//! is_external_url returns a bool and, like Kyverno, resolves host names —
//! through the engine's [`host`](crate::host) port, which also seeds
//! random: this module does no I/O of its own.

use std::net::IpAddr;
use std::sync::LazyLock;

use jmespath::{Rcvar, Variable};
use rand::{Rng, SeedableRng};
use regex::Regex;

use super::functions::{string, Arg, KyvernoFunction};

pub(super) const FUNCTIONS: &[KyvernoFunction] = &[
    KyvernoFunction {
        name: "random",
        args: &[Arg::String],
        handler: random,
    },
    KyvernoFunction {
        name: "image_normalize",
        args: &[Arg::String],
        handler: image_normalize,
    },
    KyvernoFunction {
        name: "is_external_url",
        args: &[Arg::String],
        handler: is_external_url,
    },
];

/// Upper bound for `*` and `+`, as goregen's default.
const MAX_UNBOUNDED_REPEAT: u32 = 10;

fn random(args: &[Rcvar]) -> Result<Variable, String> {
    let pattern = string(args, 0)?;
    if pattern.is_empty() {
        return Err("no pattern provided".to_string());
    }
    let ast = regex_syntax::ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("error parsing regexp `{pattern}`: {e}"))?;
    // Go's regexp/syntax (goregen parses with syntax.Perl) rejects stacked
    // repetition operators (`a**`, `a{2}{3}`); regex-syntax accepts them.
    if let Some(operators) = stacked_repetition(&ast, pattern) {
        return Err(format!(
            "error parsing regexp `{pattern}`: invalid nested repetition operator: `{operators}`"
        ));
    }
    let hir = regex_syntax::hir::translate::Translator::new()
        .translate(pattern, &ast)
        .map_err(|e| format!("error parsing regexp `{pattern}`: {e}"))?;
    // rand_regex panics sampling a class that holds no character (`[a--a]`,
    // class difference): no string can be generated from it.
    if has_empty_class(&hir) {
        return Err(format!(
            "error parsing regexp `{pattern}`: a character class matches no character"
        ));
    }
    // Repetitions nested through groups (`((a*)*)*…`) multiply: the string
    // could exceed memory (found by the jmespath fuzz target).
    match max_generated_len(&hir) {
        Some(len) if len <= MAX_GENERATED_LEN => {}
        _ => {
            return Err(format!(
                "error parsing regexp `{pattern}`: it can generate strings longer than {MAX_GENERATED_LEN} characters"
            ))
        }
    }
    let generator = rand_regex::Regex::with_hir(hir, MAX_UNBOUNDED_REPEAT)
        .map_err(|e| format!("error parsing regexp `{pattern}`: {e}"))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(crate::host::current().random_seed());
    let text: String = rng.sample(&generator);
    Ok(Variable::String(text))
}

/// Longest string `random()` may generate, in characters.
const MAX_GENERATED_LEN: usize = 64 * 1024;

/// The first repetition operator applied directly to another one, as Go's
/// parser reports it (`**`), or `None`.
fn stacked_repetition(ast: &regex_syntax::ast::Ast, pattern: &str) -> Option<String> {
    use regex_syntax::ast::Ast;
    match ast {
        Ast::Repetition(repetition) => {
            if let Ast::Repetition(inner) = repetition.ast.as_ref() {
                let span = inner.op.span.start.offset..repetition.op.span.end.offset;
                return Some(pattern.get(span).unwrap_or_default().to_string());
            }
            stacked_repetition(&repetition.ast, pattern)
        }
        Ast::Group(group) => stacked_repetition(&group.ast, pattern),
        Ast::Concat(concat) => concat
            .asts
            .iter()
            .find_map(|item| stacked_repetition(item, pattern)),
        Ast::Alternation(alternation) => alternation
            .asts
            .iter()
            .find_map(|item| stacked_repetition(item, pattern)),
        _ => None,
    }
}

/// The longest string `hir` generates with unbounded repetitions capped at
/// `MAX_UNBOUNDED_REPEAT`, in characters; `None` when it overflows.
fn max_generated_len(hir: &regex_syntax::hir::Hir) -> Option<usize> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(0),
        HirKind::Literal(literal) => Some(literal.0.len()),
        HirKind::Class(_) => Some(1),
        HirKind::Repetition(repetition) => {
            let times = repetition
                .max
                .unwrap_or(repetition.min.max(MAX_UNBOUNDED_REPEAT));
            max_generated_len(&repetition.sub)?.checked_mul(usize::try_from(times).ok()?)
        }
        HirKind::Capture(capture) => max_generated_len(&capture.sub),
        HirKind::Concat(items) => items.iter().try_fold(0usize, |sum, item| {
            sum.checked_add(max_generated_len(item)?)
        }),
        HirKind::Alternation(items) => items.iter().try_fold(0usize, |longest, item| {
            Some(longest.max(max_generated_len(item)?))
        }),
    }
}

/// Whether some character class of `hir` is empty.
fn has_empty_class(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => class.ranges().is_empty(),
        HirKind::Class(Class::Bytes(class)) => class.ranges().is_empty(),
        HirKind::Repetition(repetition) => has_empty_class(&repetition.sub),
        HirKind::Capture(capture) => has_empty_class(&capture.sub),
        HirKind::Concat(items) | HirKind::Alternation(items) => items.iter().any(has_empty_class),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Look(_) => false,
    }
}

/// Kyverno's default registry, prefixed to references that name none.
const DEFAULT_REGISTRY: &str = "docker.io";

/// distribution/reference's `ReferenceRegexp`: name, optional tag, optional
/// digest. `\w` is spelled out because Go's is ASCII-only.
static REFERENCE: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| {
    let alphanumeric = "[a-z0-9]+";
    let separator = "(?:[._]|__|[-]+)";
    let component = format!("{alphanumeric}(?:{separator}{alphanumeric})*");
    let domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let host = format!(r"(?:{domain_component}(?:\.{domain_component})*|\[[a-fA-F0-9:]+\])");
    let domain = format!("{host}(?::[0-9]+)?");
    let name = format!("(?:{domain}/)?{component}(?:/{component})*");
    let tag = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    Regex::new(&format!(
        "^(?P<name>{name})(?::(?P<tag>{tag}))?(?:@(?P<digest>{digest}))?$"
    ))
});

/// Kyverno's `addDefaultRegistry`: the first path element is a registry
/// only if it has a dot or colon, is "localhost", or has upper case.
fn with_default_registry(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            image.to_string()
        }
        _ => format!("{DEFAULT_REGISTRY}/{image}"),
    }
}

/// The full reference Kyverno prints: registry/path then `@digest`, or
/// `:tag` with "latest" when neither is given.
pub(super) fn normalize_image(image: &str) -> Result<String, String> {
    let full = with_default_registry(image);
    let reference = REFERENCE.as_ref().map_err(|e| e.to_string())?;
    let captures = reference.captures(&full).ok_or_else(|| {
        let reason = if full.is_empty() {
            "repository name must have at least one component"
        } else if reference.is_match(&full.to_lowercase()) {
            "repository name must be lowercase"
        } else {
            "invalid reference format"
        };
        format!(
            "bad image: {full}, defaultRegistry: {DEFAULT_REGISTRY}, enableDefaultRegistryMutation: true: {reason}"
        )
    })?;
    let name = captures.name("name").map_or("", |m| m.as_str());
    if name.len() > 255 {
        return Err(format!(
            "bad image: {full}: repository name must not be more than 255 characters"
        ));
    }
    if let Some(digest) = captures.name("digest") {
        let digest = digest.as_str();
        // Known algorithms must have their exact hex length.
        if let Some(hex) = digest.strip_prefix("sha256:") {
            if hex.len() != 64 {
                return Err(format!("bad image: {full}: invalid checksum digest length"));
            }
        }
        return Ok(format!("{name}@{digest}"));
    }
    let tag = captures.name("tag").map_or("latest", |m| m.as_str());
    Ok(format!("{name}:{tag}"))
}

fn image_normalize(args: &[Rcvar]) -> Result<Variable, String> {
    normalize_image(string(args, 0)?).map(Variable::String)
}

/// The host of a URL as Go's `url.URL.Hostname()` gives it: empty when the
/// text has no `//authority`, brackets stripped from IPv6 literals.
fn url_host(url: &str) -> Result<String, String> {
    if url.chars().any(|c| c.is_ascii_control()) {
        return Err(format!(
            "parse {url:?}: net/url: invalid control character in URL"
        ));
    }
    let after_scheme = match url.split_once(':') {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            rest
        }
        _ => url,
    };
    let Some(rest) = after_scheme.strip_prefix("//") else {
        return Ok(String::new());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return Ok(bracketed.split(']').next().unwrap_or("").to_string());
    }
    Ok(match host_port.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.to_string(),
        _ => host_port.to_string(),
    })
}

/// Go's `IsLoopback() || IsPrivate()` (link-local is neither).
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.is_loopback() || v4.is_private();
            }
            v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00
        }
    }
}

fn is_external_url(args: &[Rcvar]) -> Result<Variable, String> {
    let host = url_host(string(args, 0)?)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Variable::Bool(!is_internal(ip)));
    }
    if host.is_empty() {
        return Err("lookup : no such host".to_string());
    }
    let addresses = crate::host::current()
        .lookup_ip(&host)
        .map_err(|e| format!("lookup {host}: {e}"))?;
    Ok(Variable::Bool(!addresses.into_iter().any(is_internal)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::jmespath::test_support::{eval, fails};
    use serde_json::json;

    #[test]
    fn random_matches_its_pattern() {
        let check = Regex::new("^[a-z0-9]{6}$").unwrap();
        for _ in 0..20 {
            let v = eval("random('[a-z0-9]{6}')");
            assert!(check.is_match(v.as_str().unwrap()), "{v}");
        }
        // Unbounded repeats stay short: at most 1 + MAX_UNBOUNDED_REPEAT.
        let unbounded = Regex::new("^x[0-9]{1,11}$").unwrap();
        for _ in 0..50 {
            let v = eval("random('x[0-9]+')");
            assert!(unbounded.is_match(v.as_str().unwrap()), "{v}");
        }
        assert!(fails("random('')").contains("no pattern"));
        assert!(fails("random('[')").contains("random"));
        // Found by the jmespath fuzz target: an empty class (class
        // difference) made rand_regex panic (`Uniform::new called with
        // low >= high`); it is an error naming the pattern.
        for empty in [
            "random('[a--a]{3}')",
            "random('x|[ab--ab]')",
            "random('([a-b&&c])+')",
        ] {
            assert!(fails(empty).contains("matches no character"), "{empty}");
        }
        // Found by the jmespath fuzz target: stacked and nested repetitions
        // (`!*****`) made the generated string exhaust memory. Go's parser
        // rejects stacked operators; nesting through groups is bounded.
        assert!(fails("random('!*****')").contains("invalid nested repetition operator: `**`"));
        assert!(fails("random('a{2}{3}')").contains("invalid nested repetition operator"));
        assert!(fails("random('((((((a*)*)*)*)*)*)*')").contains("longer than 65536"));
        assert!(fails("random('(x{1000}){1000}')").contains("longer than"));
        let v = eval("random('(ab{2}){3}c*?')");
        assert!(
            Regex::new("^(abb){3}c*$")
                .unwrap()
                .is_match(v.as_str().unwrap()),
            "{v}"
        );
    }

    #[test]
    fn image_normalize_adds_registry_and_tag() {
        assert_eq!(
            eval("image_normalize('nginx')"),
            json!("docker.io/nginx:latest")
        );
        assert_eq!(
            eval("image_normalize('library/nginx:1.25')"),
            json!("docker.io/library/nginx:1.25")
        );
        assert_eq!(
            eval("image_normalize('ghcr.io/org/app:v1')"),
            json!("ghcr.io/org/app:v1")
        );
        assert_eq!(
            eval("image_normalize('localhost:5000/app')"),
            json!("localhost:5000/app:latest")
        );
        let digest = "sha256:".to_string() + &"a".repeat(64);
        assert_eq!(
            eval(&format!("image_normalize('nginx:1.0@{digest}')")),
            json!(format!("docker.io/nginx@{digest}"))
        );
        assert!(fails("image_normalize('NGINX')").contains("must be lowercase"));
        assert!(fails("image_normalize('nginx:')").contains("invalid reference format"));
        assert!(fails("image_normalize('nginx@sha256:abc')").contains("invalid reference format"));
    }

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://user@example.com:8443/x?y").unwrap(),
            "example.com"
        );
        assert_eq!(url_host("http://[::1]:80/").unwrap(), "::1");
        assert_eq!(url_host("example.com/path").unwrap(), "");
        assert!(url_host("http://a\nb").is_err());
    }

    #[test]
    fn is_external_url_for_ip_literals() {
        assert_eq!(
            eval("is_external_url('http://127.0.0.1:8080')"),
            json!(false)
        );
        assert_eq!(eval("is_external_url('https://10.1.2.3/x')"), json!(false));
        assert_eq!(eval("is_external_url('https://192.168.0.1')"), json!(false));
        assert_eq!(eval("is_external_url('https://172.20.0.1')"), json!(false));
        assert_eq!(eval("is_external_url('https://[fd00::1]')"), json!(false));
        assert_eq!(eval("is_external_url('https://8.8.8.8')"), json!(true));
        // Go's IsPrivate does not cover link-local addresses.
        assert_eq!(
            eval("is_external_url('http://169.254.169.254')"),
            json!(true)
        );
        assert!(fails("is_external_url('no-scheme')").contains("no such host"));
    }

    /// Names resolve through the host port, never the machine's resolver.
    struct Names;
    impl crate::host::Host for Names {
        fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, String> {
            match host {
                "localhost" => Ok(vec!["127.0.0.1".parse().unwrap()]),
                "mixed.example" => Ok(vec![
                    "8.8.8.8".parse().unwrap(),
                    "10.0.0.1".parse().unwrap(),
                ]),
                "public.example" => Ok(vec!["8.8.8.8".parse().unwrap()]),
                _ => Err("no such host".to_string()),
            }
        }
        fn random_seed(&self) -> u64 {
            7
        }
    }

    #[test]
    fn is_external_url_resolves_names_through_the_host() {
        use crate::host::scoped;
        use std::sync::Arc;
        scoped(Arc::new(Names), || {
            assert_eq!(eval("is_external_url('http://localhost')"), json!(false));
            assert_eq!(
                eval("is_external_url('https://public.example/x')"),
                json!(true)
            );
            // Any internal address makes the URL internal (Kyverno's loop).
            assert_eq!(
                eval("is_external_url('https://mixed.example')"),
                json!(false)
            );
            assert!(fails("is_external_url('https://nowhere.example')")
                .contains("lookup nowhere.example: no such host"));
        });
        // Without a resolver, a name is an error that says so.
        assert!(fails("is_external_url('http://localhost')").contains("no host-name resolver"));
    }

    #[test]
    fn random_is_seeded_by_the_host() {
        use crate::host::scoped;
        use std::sync::Arc;
        let one = scoped(Arc::new(Names), || eval("random('[a-z]{12}')"));
        let two = scoped(Arc::new(Names), || eval("random('[a-z]{12}')"));
        assert_eq!(one, two);
    }
}
