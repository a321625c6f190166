//! YAML text in, a verdict on its nesting and its aliases out, before
//! `serde_yaml` reads it.
//!
//! `serde_yaml` (libyaml) refuses a document nested deeper than 128
//! collections, but only after scanning all of it, and its scanner costs
//! time proportional to the flow depth for every token: a 400 kB file of
//! nested `[`/`{` took 114 s to be refused ("recursion limit exceeded").
//! [`check_nesting`] walks the same text with `yaml-rust2`'s event parser
//! (a port of libyaml's scanner, linear: its flow depth is bounded by 255)
//! and refuses the first document that nests deeper than [`MAX_NESTING`],
//! which `serde_yaml` would refuse too, so no document it accepts is lost.
//!
//! When `yaml-rust2` fails on the text for another reason, nothing is
//! refused here and `serde_yaml`'s own error (or acceptance) stands: the two
//! agreed on every one of the ~6,300 YAML and JSON files of the policy
//! library, the shared cases and the repository's fixtures, so the gap is a
//! text only one of them accepts, whose cost `--timeout` still bounds.

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, Parser};

/// The deepest nesting of collections (mappings and sequences, block or
/// flow) a document may have: `serde_yaml`'s recursion limit.
pub const MAX_NESTING: usize = 128;

/// A document nested deeper than [`MAX_NESTING`], or expanded by its
/// aliases past what Go's YAML decoder (which kubectl and the Kyverno CLI
/// read manifests with) or [`MAX_EXPANDED_BYTES`] allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(self))]
pub struct NestingError {
    /// Refused for its aliases, not its nesting.
    pub aliasing: bool,
    /// 1-based position of the document in the text.
    pub document: usize,
    /// 1-based line of the collection that went one level too deep.
    pub line: usize,
    /// 1-based column of it.
    pub column: usize,
}

fn describe(err: &NestingError) -> String {
    let (line, column) = (err.line, err.column);
    if err.aliasing {
        format!(
            "document contains excessive aliasing (as Go's YAML decoder says; or past {} MiB of text written out) at line {line} column {column}; refused before parsing",
            MAX_EXPANDED_BYTES >> 20
        )
    } else {
        format!(
            "nested deeper than {MAX_NESTING} mappings or sequences at line {line} column {column}; refused before parsing"
        )
    }
}

/// The most scalar text one document may expand to through its aliases:
/// 8,000 aliases of one 32 kB string in a 64 kB manifest were 256 MB of
/// text (gigabytes once evaluated; hunt27 F18, F22). Kubernetes stores no
/// object past 1.5 MiB.
pub const MAX_EXPANDED_BYTES: u64 = 64 << 20;

/// go-yaml's `allowedAliasRatio` (yaml.v2/v3 decode.go): the share of a
/// document's decoded nodes that may come from alias expansion.
fn allowed_alias_ratio(decoded: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    if decoded <= LOW {
        0.99
    } else if decoded >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decoded - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

/// What a document's aliases expand to, counted as go-yaml's decoder
/// counts (every node decoded, and those decoded through an alias) plus
/// the scalar text.
#[derive(Default)]
struct Expansion {
    decoded: u64,
    aliased: u64,
    bytes: u64,
    /// (nodes, bytes) of each anchored node, by anchor id.
    anchors: std::collections::HashMap<usize, (u64, u64)>,
    /// Per open collection: its anchor id (0: none) and the counts when
    /// it began.
    open: Vec<(usize, u64, u64)>,
}

impl Expansion {
    fn node(&mut self, anchor: usize, bytes: u64) {
        self.decoded += 1;
        self.bytes += bytes;
        if anchor > 0 {
            self.anchors.insert(anchor, (1, bytes));
        }
    }

    fn open(&mut self, anchor: usize) {
        self.open.push((anchor, self.decoded, self.bytes));
        self.decoded += 1;
    }

    fn close(&mut self) {
        if let Some((anchor, decoded, bytes)) = self.open.pop() {
            if anchor > 0 {
                self.anchors
                    .insert(anchor, (self.decoded - decoded, self.bytes - bytes));
            }
        }
    }

    fn alias(&mut self, anchor: usize) {
        let (nodes, bytes) = self.anchors.get(&anchor).copied().unwrap_or((1, 0));
        self.decoded = self.decoded.saturating_add(nodes);
        self.aliased = self.aliased.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
    }

    /// go-yaml's check (`d.aliasCount > 100 && d.decodeCount > 1000 &&
    /// ratio > allowedAliasRatio`), and the text bound.
    fn excessive(&self) -> bool {
        (self.aliased > 100
            && self.decoded > 1000
            && self.aliased as f64 / self.decoded as f64 > allowed_alias_ratio(self.decoded))
            || self.bytes > MAX_EXPANDED_BYTES
    }
}

/// Why one YAML document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// Nested too deeply to be parsed (see [`check_nesting`]).
    #[error(transparent)]
    Nesting(#[from] NestingError),
    /// `serde_yaml`'s error: not YAML, or not of the shape asked for.
    #[error(transparent)]
    Parse(#[from] serde_yaml::Error),
}

/// Refuses `text` (a YAML stream: documents separated by `---`) when one
/// of its documents nests deeper than [`MAX_NESTING`], in time linear in
/// the text's length. `Ok` says nothing else about the text: a stream
/// that is not YAML is left to `serde_yaml` to name.
///
/// # Errors
/// [`NestingError`] naming the document, line and column where the
/// nesting went past the limit.
pub fn check_nesting(text: &str) -> Result<(), NestingError> {
    let mut parser = Parser::new_from_str(text);
    let mut document = 0;
    let mut depth = 0usize;
    let mut expansion = Expansion::default();
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => return Ok(()),
            Ok((Event::DocumentStart, _)) => {
                document += 1;
                depth = 0;
                expansion = Expansion::default();
            }
            Ok((Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _), mark)) => {
                depth += 1;
                expansion.open(anchor);
                if depth > MAX_NESTING {
                    return Err(NestingError {
                        aliasing: false,
                        document: document.max(1),
                        line: mark.line(),
                        column: mark.col() + 1,
                    });
                }
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, _)) => {
                depth = depth.saturating_sub(1);
                expansion.close();
            }
            Ok((Event::Scalar(value, _, anchor, _), _)) => {
                expansion.node(anchor, value.len() as u64);
            }
            Ok((Event::Alias(anchor), mark)) => {
                expansion.alias(anchor);
                if expansion.excessive() {
                    return Err(NestingError {
                        aliasing: true,
                        document: document.max(1),
                        line: mark.line(),
                        column: mark.col() + 1,
                    });
                }
            }
            Ok(_) => {}
            // yaml-rust2's own flow limit (255) is past ours: only reached
            // when its events stopped short of it, e.g. `[[[` unclosed.
            Err(err) if err.info() == "recursion limit exceeded" => {
                return Err(NestingError {
                    aliasing: false,
                    document: document.max(1),
                    line: err.marker().line(),
                    column: err.marker().col() + 1,
                })
            }
            Err(_) => return Ok(()),
        }
    }
}

/// A mapping key written twice in one mapping: `serde_yaml` (as kubectl
/// and the Kyverno CLI, through go-yaml's non-strict decoding) keeps the
/// last, silently. Two files concatenated without `---` are one document
/// whose `apiVersion`, `kind`, `metadata` and `spec` repeat: all but the
/// last object are lost (walk28 F16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// 1-based position of the document in the text.
    pub document: usize,
    /// 1-based line, in the whole text, of the second (or later) occurrence.
    pub line: usize,
    /// The key, as written.
    pub key: String,
    /// The key is one of a document's own (`apiVersion`, `kind`, …), as
    /// when two files were joined without `---`.
    pub top_level: bool,
}

/// At most this many [`DuplicateKey`]s are found per text.
pub const MAX_DUPLICATE_KEYS: usize = 20;

/// Where the walk stands in one open collection, for [`duplicate_keys`].
enum Open {
    Sequence,
    /// A mapping: whether the next node is a key, and the keys met.
    Mapping {
        next_is_key: bool,
        keys: std::collections::HashSet<String>,
    },
}

/// The scalar mapping keys `text` writes twice in one mapping (the first
/// [`MAX_DUPLICATE_KEYS`]; `<<`, the merge key, may repeat), in one linear
/// walk of `yaml-rust2`'s events. Call it on a text [`check_nesting`]
/// accepted; it reads what `yaml-rust2` reads before an error.
pub fn duplicate_keys(text: &str) -> Vec<DuplicateKey> {
    let mut parser = Parser::new_from_str(text);
    let mut document = 0;
    let mut open: Vec<Open> = Vec::new();
    let mut duplicates = Vec::new();
    while duplicates.len() < MAX_DUPLICATE_KEYS {
        let Ok((event, mark)) = parser.next_token() else {
            break;
        };
        // A node begins in the innermost collection: in a mapping, keys
        // and values alternate.
        let key = match &event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                document += 1;
                open.clear();
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop();
                continue;
            }
            Event::Scalar(value, ..) => Some(value.as_str()),
            Event::SequenceStart(..) | Event::MappingStart(..) | Event::Alias(_) => None,
            _ => continue,
        };
        let top_level = open.len() == 1;
        if let Some(Open::Mapping { next_is_key, keys }) = open.last_mut() {
            if *next_is_key {
                if let Some(key) = key.filter(|key| *key != "<<") {
                    if !keys.insert(key.to_string()) {
                        duplicates.push(DuplicateKey {
                            document: document.max(1),
                            line: mark.line(),
                            key: key.to_string(),
                            top_level,
                        });
                    }
                }
            }
            *next_is_key = !*next_is_key;
        }
        match event {
            Event::MappingStart(..) => open.push(Open::Mapping {
                next_is_key: true,
                keys: std::collections::HashSet::new(),
            }),
            Event::SequenceStart(..) => open.push(Open::Sequence),
            _ => {}
        }
    }
    duplicates
}

/// One YAML document read as `T`, after [`check_nesting`].
///
/// # Errors
/// [`YamlError::Nesting`] for a document nested too deeply,
/// [`YamlError::Parse`] for what `serde_yaml` refuses.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    check_nesting(text)?;
    Ok(serde_yaml::from_str(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// walk28 F16: two files concatenated without `---`, and a key
    /// repeated deeper, are named with their line; keys of sibling
    /// mappings, of other documents and merge keys are not.
    #[test]
    fn keys_written_twice_in_one_mapping_are_found() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\napiVersion: v1\nkind: Secret\n---\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: x\n    image: y\n  - name: b\n    image: z\nbase: &b {k: 1}\nother:\n  <<: *b\n  <<: *b\n";
        let found = duplicate_keys(text);
        let named: Vec<(usize, usize, &str, bool)> = found
            .iter()
            .map(|d| (d.document, d.line, d.key.as_str(), d.top_level))
            .collect();
        assert_eq!(
            named,
            [
                (1, 4, "apiVersion", true),
                (1, 5, "kind", true),
                (2, 12, "image", false)
            ]
        );
        // JSON, read by the same walk.
        let json = r#"{"kind": "Pod", "metadata": {"name": "a", "name": "b"}}"#;
        assert_eq!(duplicate_keys(json)[0].key, "name");
        assert!(duplicate_keys("a: 1\nb: {a: 1, b: [a, a]}\n").is_empty());
    }

    fn nested(open: &str, close: &str, depth: usize) -> String {
        format!("{}{}", open.repeat(depth), close.repeat(depth))
    }

    /// At the limit a document reads as before; one deeper is refused
    /// by both, and the check names the place.
    #[test]
    fn the_limit_is_serde_yamls() {
        for (open, close) in [("[", "]"), ("{a: ", "}"), ("{\"]\": ", "}")] {
            let at = nested(open, close, MAX_NESTING);
            assert_eq!(check_nesting(&at), Ok(()), "{open}");
            assert!(serde_yaml::from_str::<Value>(&at).is_ok(), "{open}");
            let past = nested(open, close, MAX_NESTING + 1);
            let err = check_nesting(&past).expect_err(open);
            assert_eq!((err.document, err.line), (1, 1), "{open}");
            assert_eq!(err.column, MAX_NESTING * open.len() + 1, "{open}");
            assert!(serde_yaml::from_str::<Value>(&past).is_err(), "{open}");
        }
        let block: String = (0..=MAX_NESTING)
            .map(|level| format!("{}k{level}:\n", " ".repeat(level)))
            .collect::<String>()
            + &" ".repeat(MAX_NESTING + 1)
            + "v\n";
        assert!(check_nesting(&block).is_err());
        assert!(serde_yaml::from_str::<Value>(&block).is_err());
    }

    /// The walkthrough's file: 200,000 nested sequences (400 kB) took
    /// serde_yaml 114 s to refuse; the check refuses it at once, and
    /// names the second document when the first is fine.
    #[test]
    fn deep_flow_nesting_is_refused_in_linear_time() {
        let depth = 200_000;
        let text = format!(
            "kind: ConfigMap\n---\n{{\"kind\": \"ConfigMap\", \"extra\": {}}}\n",
            nested("[", "]", depth)
        );
        let err = check_nesting(&text).expect_err("too deep");
        assert_eq!((err.document, err.line), (2, 3));
        let err = from_str::<Value>(&nested("{a: ", "}", depth)).expect_err("too deep");
        assert!(matches!(err, YamlError::Nesting(_)), "{err}");
        assert!(err.to_string().contains("nested deeper than 128"), "{err}");
        // Unclosed: yaml-rust2 stops at its own flow limit first.
        assert!(check_nesting(&"[".repeat(depth)).is_err());
    }

    /// What yaml-rust2 cannot read is left to serde_yaml, whose error
    /// (or acceptance) stands; documents are counted across `---`.
    #[test]
    fn other_errors_are_serde_yamls_to_name() {
        assert_eq!(check_nesting("a: [1, 2\nb: ]"), Ok(()));
        assert!(matches!(
            from_str::<Value>("a: [1, 2\nb: ]"),
            Err(YamlError::Parse(_))
        ));
        let two = format!("a: 1\n---\n{}\n", nested("[", "]", MAX_NESTING));
        assert_eq!(check_nesting(&two), Ok(()));
        let value: Value = from_str("a: {b: [1, 2]}").expect("reads");
        assert_eq!(value["a"]["b"][1], 2);
    }

    /// hunt27 F18, F22: 8,000 aliases of one 32 kB string (a 64 kB file)
    /// were 256 MB of text; go-yaml refuses such a share of aliased nodes
    /// ("document contains excessive aliasing"), and past 64 MiB of text
    /// any document is refused. Ordinary anchors and merge keys read.
    #[test]
    fn excessive_aliasing_is_refused_as_go_yaml_refuses_it() {
        let mut amplified = format!("a: &s {}\nb:\n", "x".repeat(32_000));
        for _ in 0..8_000 {
            amplified.push_str("- *s\n");
        }
        let err = check_nesting(&amplified).expect_err("excessive");
        assert!(err.aliasing && err.document == 1, "{err:?}");
        assert!(err.to_string().contains("excessive aliasing"), "{err}");
        // Under go-yaml's ratio (half the nodes plain) but 2 GB of text.
        let mut wide = format!("a: &s {}\nb:\n", "x".repeat(64_000));
        for i in 0..2_000 {
            wide.push_str(&format!("- {i}\n- *s\n"));
        }
        assert!(check_nesting(&wide).is_err_and(|e| e.aliasing));
        let ordinary =
            "defaults: &d {cpu: 1, memory: 1Gi}\na:\n  <<: *d\nb:\n  <<: *d\nlist: [*d, *d, *d]\n";
        assert_eq!(check_nesting(ordinary), Ok(()));
        let mut many = String::from("a: &s short\nb:\n");
        for i in 0..3_000 {
            many.push_str(&format!("- {i}\n- *s\n"));
        }
        assert_eq!(check_nesting(&many), Ok(()));
    }
}
