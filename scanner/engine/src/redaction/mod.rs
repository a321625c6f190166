//! No Secret value leaves the engine. What enters: the resource evaluated
//! (a core/v1 Secret's `data` and `stringData` values) and every answer the
//! [`ClusterData`] gave during the run (a Secret, or a list of them, that an
//! `apiCall`, `resource.Get`/`List`, a GlobalContextEntry or a params lookup
//! returned), through [`SecretWatch`]. What leaves: the rule results with
//! every such value taken out of their message and property values, replaced
//! by [`REDACTED_TEXT`], and the property [`REDACTED_PROPERTY`] on a result
//! that lost something (and, [`CHECKED_VALUE`], on every other result on a
//! Secret).
//!
//! Reports are read by far more people than can read Secrets, and every
//! output (reports, tables, JSON, the evidence package) is built from these
//! results, so this is the one place values are removed.
//!
//! The rule: a value is searched for in its stored form (base64 under
//! `data`), decoded, trimmed of surrounding whitespace, JSON-escaped (as a
//! message interpolating a map shows it) and line by line. A value of at
//! least [`MIN_IN_PLACE`] characters is replaced where it occurs, in any
//! ASCII letter case (a policy's `to_upper`/`to_lower`); a shorter
//! one (`"1"`, `"yes"`) cannot be told apart from ordinary text, so a
//! message or property holding it is withheld whole. Over-redaction is safe,
//! leaking is not. The parts of a value are values too, three levels deep:
//! the strings of a JSON document (a `.dockerconfigjson`), what follows
//! `=` or `:` on a line (a `.env`, a YAML file), a base64 part decoded (its
//! `auth`). On the Secret evaluated, a part of a value is found too: a
//! text holding any [`FRAGMENT`] characters of one of its values (a
//! policy's `substring`, walk25 F4) is withheld whole. What is not
//! recognised: a value transformed by the policy otherwise (hashed,
//! re-encoded, reversed), a part shorter than [`FRAGMENT`], and a part of a
//! value some lookup returned (only whole values of those are searched).
//!
//! Beyond the values themselves: on a Secret, a message or property the
//! policy builds from the object's data ([`templates`]: a `{{ }}` variable
//! or CEL expression reading `data`, `stringData` or the whole object) is
//! withheld whole, [`DERIVED_TEXT`], whatever the policy made of the value
//! (`reverse()`, `split`/`join`, a hash: verify28 item 16).

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use serde_json::Value;

pub(crate) mod templates;

pub(crate) use templates::Readers;

use crate::context::{ApiCallRequest, ClusterData, HttpRequest, HttpResponse};
use crate::label_selector::LabelSelector;
use crate::{PolicyResponse, RuleResult, ValueExt};

/// The result property set on a result whose message or properties lost a
/// Secret value.
pub const REDACTED_PROPERTY: &str = "polscan.io/redacted";

/// The value of [`REDACTED_PROPERTY`] when something was taken out.
pub const REDACTED_VALUE: &str = "secret data";

/// The value of [`REDACTED_PROPERTY`] on a result on a Secret that held no
/// value: it says the result went through redaction, which a reader of
/// reports of other producers (the evidence) checks before showing a
/// Secret's message.
pub const CHECKED_VALUE: &str = "none found";

/// What stands where a Secret value was.
pub const REDACTED_TEXT: &str = "[redacted: Secret data]";

/// What replaces a whole message or property value that held a Secret value
/// shorter than [`MIN_IN_PLACE`].
pub const WITHHELD_TEXT: &str =
    "[redacted: Secret data; the text held a Secret value too short to remove on its own]";

/// What replaces a message or property value on a Secret that the policy
/// builds from the Secret's data ([`templates`]).
pub const DERIVED_TEXT: &str =
    "[redacted: Secret data; the policy builds this text from the Secret's data]";

/// Values at least this long (in characters) are replaced in place;
/// shorter ones withhold the whole text.
pub const MIN_IN_PLACE: usize = 4;

/// On the Secret evaluated, a text holding this many consecutive
/// characters of one of its values (in any ASCII letter case) is withheld
/// whole: what a `substring` of the value shows.
pub const FRAGMENT: usize = 6;

/// What replaces a whole message or property value that held part of a
/// Secret value.
pub const FRAGMENT_TEXT: &str = "[redacted: Secret data; the text held part of a Secret value]";

/// The automaton the values are searched with: a contiguous NFA, built
/// in time linear in the values' length. aho-corasick picks a DFA for few
/// values, and the DFA's build follows failure links per transition: a
/// value of one repeated character (base64 of zero bytes, `AAAA…`) took
/// time quadratic in its length — 17 s for 2 kB, hours for 60 kB
/// (secret56 S56-4).
const AUTOMATON: AhoCorasickKind = AhoCorasickKind::ContiguousNFA;

/// Forms of a value longer than this (in bytes) are searched for by their
/// first this many bytes; a text holding them is withheld whole.
const MAX_NEEDLE_BYTES: usize = 1024;

/// `text`'s longest prefix of at most `bytes` bytes ending on a character
/// boundary.
fn prefix_within(text: &str, bytes: usize) -> &str {
    if text.len() <= bytes {
        return text;
    }
    let mut end = bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Values longer than this (in characters) give no fragments: a key or
/// certificate, whose lines are searched for instead.
const FRAGMENT_VALUE_CHARS: usize = 4096;

/// Fragments one Secret may give; past it every text on the Secret is
/// withheld (fail closed).
const MAX_FRAGMENTS: usize = 200_000;

/// Whether `object` is to be taken as a Secret: its kind `Secret` in any
/// letter case, whatever its apiVersion. Wider than core/v1 on purpose:
/// matching reads `/v1`, `core/v1` or no apiVersion as the core group (the
/// API server accepts `/v1`), and a `kinds: ["*"]` rule meets `secret` in a
/// file; over-redaction is safe, leaking is not.
pub fn is_secret(object: &Value) -> bool {
    object
        .str_field("kind")
        .is_some_and(|kind| kind.eq_ignore_ascii_case("Secret"))
}

/// `value` decoded as a Secret's `data` value may be: standard base64,
/// with or without padding, with line breaks and other whitespace left out
/// (Go's decoder skips CR and LF, so `base64` without `-w0` makes a value
/// the API server accepts and Kyverno's `base64_decode` decodes).
fn decode_base64(value: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok()
}

/// `value` as Go's `encoding/json` quotes it, without the quotes (the form
/// in a `last-applied-configuration` annotation written by kubectl).
fn go_json_quoted(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 8);
    crate::jmespath::write_go_string(value, &mut quoted);
    quoted
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string()
}

/// The Secret values to search for, in every form they may take in a
/// message.
#[derive(Debug, Default)]
pub struct SecretValues {
    needles: BTreeSet<String>,
    /// Built on first use after the last new value.
    /// With whether a hit of each needle (in order) withholds the whole
    /// text: one shorter than [`MIN_IN_PLACE`], or searched for by its
    /// start ([`MAX_NEEDLE_BYTES`]).
    matcher: OnceLock<Option<(AhoCorasick, Vec<bool>)>>,
    /// Whether values added give [`FRAGMENT`]s ([`Self::of_secret`]).
    with_fragments: bool,
    /// Every [`FRAGMENT`]-character part of the values, lower-cased.
    fragments: BTreeSet<String>,
    /// More than [`MAX_FRAGMENTS`]: every text is withheld.
    fragments_overflow: bool,
    /// Built on first use after the last new fragment.
    fragment_matcher: OnceLock<Option<AhoCorasick>>,
}

impl SecretValues {
    /// The values of the Secret evaluated, parts of them
    /// ([`FRAGMENT`]s) included.
    pub fn of_secret(secret: &Value) -> SecretValues {
        let mut values = SecretValues {
            with_fragments: true,
            ..SecretValues::default()
        };
        values.add_secret(secret);
        values
    }

    /// The values of `secret`'s `data` (base64 and decoded) and
    /// `stringData`; nothing when it is not a map of strings.
    pub fn add_secret(&mut self, secret: &Value) {
        self.add_secret_data(secret);
        // kubectl's copy of the applied manifest: its values, which may be
        // the ones before a rotation (`kubectl patch` leaves the copy as
        // it was — walk25 F5), are values of this Secret too.
        if let Some(applied) = secret
            .pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
        {
            self.add_secret_data(&applied);
        }
    }

    /// [`Self::add_secret`] of the Secret's own `data` and `stringData`.
    fn add_secret_data(&mut self, secret: &Value) {
        if let Some(data) = secret.get("data").and_then(Value::as_object) {
            for value in data.values() {
                let Some(value) = value.as_str() else {
                    self.add_leaves(value);
                    continue;
                };
                // The stored form as it is: split at its `=` padding it
                // gave a one-character "value" that withheld every message
                // holding `=` (red22 F10). Its decoded text is looked into.
                self.add_forms(value);
                if let Some(bytes) = decode_base64(value) {
                    self.add_value(&String::from_utf8_lossy(&bytes));
                }
            }
        }
        if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
            for value in data.values() {
                match value.as_str() {
                    Some(value) => self.add_value(value),
                    None => self.add_leaves(value),
                }
            }
        }
    }

    /// Every Secret in a lookup's answer: `answer` itself, a list's items
    /// (a `SecretList`, or any list when `of_secrets` says the request named
    /// the `secrets` resource, whose items carry no kind), and Secrets
    /// nested anywhere deeper (a GlobalContextEntry's projection).
    pub fn add_found(&mut self, answer: &Value, of_secrets: bool) {
        match answer {
            Value::Object(object) => {
                if of_secrets || is_secret(answer) {
                    self.add_secret(answer);
                }
                let list_of_secrets = of_secrets || answer.str_field("kind") == Some("SecretList");
                for (key, value) in object {
                    self.add_found(value, key == "items" && list_of_secrets);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.add_found(item, of_secrets);
                }
            }
            _ => {}
        }
    }

    /// A value that is no string (an unquoted number or boolean in a
    /// manifest not yet applied, a nested map): each of its leaves.
    fn add_leaves(&mut self, value: &Value) {
        let mut leaves = Vec::new();
        // Not booleans: one bit, and "true" found in place would redact
        // the word in every message on the Secret.
        string_leaves(value, &mut leaves);
        for leaf in leaves {
            self.add_value(&leaf);
        }
    }

    fn add_value(&mut self, value: &str) {
        self.add_value_within(value, MAX_EXPANSION_DEPTH);
    }

    /// Adds `value`'s forms, then the values inside it down to `depth` more
    /// levels: a policy that parses a Secret (`parse_json(base64_decode(…))`
    /// of a `.dockerconfigjson`, a `.env` or YAML file's `key: value` lines)
    /// shows its parts, not the whole.
    fn add_value_within(&mut self, value: &str, depth: usize) {
        self.add_forms(value);
        self.add_fragments(value);
        if depth == 0 {
            return;
        }
        let mut parts = Vec::new();
        // serde_json only: it is linear with a nesting limit (YAML parsers
        // are not, on hostile input).
        if let Ok(parsed @ (Value::Object(_) | Value::Array(_))) =
            serde_json::from_str::<Value>(value.trim())
        {
            string_leaves(&parsed, &mut parts);
        }
        for line in value.lines() {
            if let Some((_, rest)) = line.split_once(['=', ':']) {
                parts.push(rest.trim().trim_matches(['"', '\'']).to_string());
            }
        }
        let trimmed = value.trim();
        if trimmed.len() >= MIN_IN_PLACE {
            if let Some(bytes) = decode_base64(trimmed) {
                if let Ok(decoded) = String::from_utf8(bytes) {
                    parts.push(decoded);
                }
            }
        }
        for part in parts {
            // A part of punctuation alone (`=` after `a==`, `:` runs) is
            // no value: it would withhold any text holding it.
            if part != value && part.chars().any(char::is_alphanumeric) {
                self.add_value_within(&part, depth - 1);
            }
        }
    }

    fn add_forms(&mut self, value: &str) {
        if value.trim().is_empty() {
            return;
        }
        let mut forms = vec![value.to_string(), value.trim().to_string()];
        // Quoted once (a message interpolating a map), and twice: the
        // annotation holding kubectl's JSON copy of the Secret quoted
        // again as part of the object (walk25 F6: a `"` or `\` in the
        // value, and Go's `\u0026` for `&`, `<`, `>`).
        let json_quoted = |text: &str| {
            serde_json::to_string(text)
                .map(|quoted| quoted[1..quoted.len() - 1].to_string())
                .unwrap_or_default()
        };
        for once in [json_quoted(value), go_json_quoted(value)] {
            forms.push(json_quoted(&once));
            forms.push(go_json_quoted(&once));
            forms.push(once);
        }
        forms.extend(
            value
                .lines()
                .map(str::trim)
                .filter(|line| line.chars().count() >= MIN_IN_PLACE)
                .map(str::to_string),
        );
        for form in forms {
            if !form.trim().is_empty() && self.needles.insert(form) {
                self.matcher = OnceLock::new();
            }
        }
    }

    /// Every [`FRAGMENT`]-character window of `value` (as text, not its
    /// stored base64), when this set keeps fragments.
    fn add_fragments(&mut self, value: &str) {
        if !self.with_fragments || self.fragments_overflow {
            return;
        }
        let chars: Vec<char> = value.trim().chars().collect();
        if chars.len() <= FRAGMENT || chars.len() > FRAGMENT_VALUE_CHARS {
            return;
        }
        for window in chars.windows(FRAGMENT) {
            // Whitespace-only or punctuation-only parts say nothing of the
            // value and would withhold ordinary text.
            if !window.iter().any(|c| c.is_alphanumeric()) {
                continue;
            }
            let fragment: String = window.iter().collect::<String>().to_ascii_lowercase();
            if self.fragments.insert(fragment) {
                self.fragment_matcher = OnceLock::new();
            }
            if self.fragments.len() > MAX_FRAGMENTS {
                self.fragments_overflow = true;
                self.fragments.clear();
                return;
            }
        }
    }

    /// Whether `text` holds a [`FRAGMENT`] of a value (always, past
    /// [`MAX_FRAGMENTS`]).
    fn holds_fragment(&self, text: &str) -> bool {
        if self.fragments_overflow {
            return true;
        }
        if self.fragments.is_empty() {
            return false;
        }
        let matcher = self.fragment_matcher.get_or_init(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(AUTOMATON))
                .build(&self.fragments)
                .ok()
        });
        match matcher {
            Some(matcher) => matcher.is_match(text),
            // No automaton: fail closed.
            None => true,
        }
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// Adds every value of `other`.
    pub fn extend(&mut self, other: &SecretValues) {
        for needle in &other.needles {
            if self.needles.insert(needle.clone()) {
                self.matcher = OnceLock::new();
            }
        }
    }

    fn matcher(&self) -> Option<&(AhoCorasick, Vec<bool>)> {
        self.matcher
            .get_or_init(|| {
                // Longest first, so a value holding another goes whole; in
                // any ASCII letter case, so `to_upper`/`to_lower` of a
                // value is found too.
                // A value past MAX_NEEDLE_BYTES is searched for by its
                // start, and a text holding that withheld whole: the
                // automaton stays small (a 1 MiB Secret of zero bytes
                // gives some 30 MB of forms), and a text holding the value
                // holds its start.
                let searched: Vec<&str> = self
                    .needles
                    .iter()
                    .map(|needle| prefix_within(needle, MAX_NEEDLE_BYTES))
                    .collect();
                let matcher = AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .ascii_case_insensitive(true)
                    .kind(Some(AUTOMATON))
                    .build(&searched)
                    .ok()?;
                let withhold = self
                    .needles
                    .iter()
                    .map(|needle| {
                        needle.chars().count() < MIN_IN_PLACE || needle.len() > MAX_NEEDLE_BYTES
                    })
                    .collect();
                Some((matcher, withhold))
            })
            .as_ref()
    }

    /// `text` with every value taken out, or None when it holds none.
    pub fn redact_text(&self, text: &str) -> Option<String> {
        let whole = self.redact_whole_values(text);
        // Parts of a value left after the whole ones went (walk25 F4).
        let rest = whole.as_deref().unwrap_or(text);
        // Our own marker is no part of a value ("Secret" in one would
        // withhold every redacted text).
        if ![WITHHELD_TEXT, DERIVED_TEXT, FRAGMENT_TEXT].contains(&rest)
            && self.holds_fragment(&rest.replace(REDACTED_TEXT, "\0"))
        {
            return Some(FRAGMENT_TEXT.to_string());
        }
        whole
    }

    /// [`Self::redact_text`] of whole values alone.
    fn redact_whole_values(&self, text: &str) -> Option<String> {
        if self.needles.is_empty() {
            return None;
        }
        let Some((matcher, short)) = self.matcher() else {
            // No automaton (too many values to build one): fail closed.
            return Some(WITHHELD_TEXT.to_string());
        };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut found = false;
        for hit in matcher.find_iter(text) {
            found = true;
            // A pattern the matcher names is one of the needles: fail
            // closed all the same.
            if short.get(hit.pattern().as_usize()).copied().unwrap_or(true) {
                return Some(WITHHELD_TEXT.to_string());
            }
            out.push_str(&text[last..hit.start()]);
            out.push_str(REDACTED_TEXT);
            last = hit.end();
        }
        if !found {
            return None;
        }
        out.push_str(&text[last..]);
        Some(out)
    }

    /// Takes every value out of `result`'s message and property values;
    /// true when something was taken out (and the note set).
    pub fn redact_result(&self, result: &mut RuleResult) -> bool {
        let mut redacted = false;
        if let Some(message) = self.redact_text(&result.message) {
            result.message = message;
            redacted = true;
        }
        for (key, value) in result.properties.iter_mut() {
            // The note a first pass left is no Secret's.
            if key == REDACTED_PROPERTY {
                continue;
            }
            if let Some(clean) = self.redact_text(value) {
                *value = clean;
                redacted = true;
            }
        }
        if redacted {
            result
                .properties
                .insert(REDACTED_PROPERTY.to_string(), REDACTED_VALUE.to_string());
        }
        redacted
    }
}

/// Takes the values of `resource` (when it is a Secret) and of every Secret
/// the run's lookups returned (`seen`) out of `responses`.
/// How many times a value is looked into (JSON, `key: value` lines,
/// base64): a `.dockerconfigjson`'s `auth` is base64 inside JSON inside
/// base64.
const MAX_EXPANSION_DEPTH: usize = 3;

/// Every string (and number) in `value`, depth-first.
fn string_leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Number(number) => out.push(number.to_string()),
        Value::Array(items) => items.iter().for_each(|item| string_leaves(item, out)),
        Value::Object(object) => object.values().for_each(|item| string_leaves(item, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

///
/// On a Secret, `readers` says for a response's policy and a result's rule
/// what of it the policy builds from the resource's data
/// ([`templates`]); that is withheld whole first.
pub(crate) fn redact_responses(
    responses: &mut [PolicyResponse],
    resource: &Value,
    seen: &RwLock<SecretValues>,
    readers: &dyn Fn(&PolicyResponse, &str) -> Readers,
) {
    // A poisoned lock still holds every value recorded: use it.
    let seen = seen.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let on_secret = is_secret(resource);
    if seen.is_empty() && !on_secret {
        return;
    }
    // The Secret's own values in a matcher of their own, then the values
    // lookups returned in theirs, built once: merged, a matcher over every
    // value seen was built again for each Secret (150 Secrets beside a
    // lookup of many did not finish in 500 s, red22 F19).
    let own = on_secret.then(|| SecretValues::of_secret(resource));
    // A text built from a Secret a lookup returned, on any resource: only
    // once some lookup of the run returned one.
    let looked_up = !seen.is_empty();
    if on_secret || looked_up {
        // Substitution runs again on what it made (Kyverno's loop while
        // the text holds a variable, which [`crate::variables`] keeps): a
        // `{{ … }}` in the resource's own text (a Secret's `type`, an
        // annotation, any field of a file) is evaluated with the Secret's
        // data and the rule's lookups in reach, whatever the rule's text
        // reads (self39: a `type` of `{{ reverse(base64_decode(
        // request.object.data.password)) }}` put the reversed password in
        // a message reading only `type`). On such a resource every built
        // message counts as built from the data; so does one whose rule
        // substituted again what a substitution made anywhere (a lookup's
        // answer, a string built from literals: verify39).
        let injectable = holds_variable(resource);
        for response in responses.iter_mut() {
            let derived: Vec<Readers> = response
                .rules
                .iter()
                .map(|rule| {
                    let mut derived = readers(response, &rule.rule);
                    if injectable || rule.resubstituted {
                        derived.message = true;
                        derived.lookup_message |= derived.lookup_any;
                        derived.pattern = true;
                        derived.lookup_pattern |= derived.lookup_any;
                    }
                    derived
                })
                .collect();
            for (rule, derived) in response.rules.iter_mut().zip(derived) {
                withhold_derived(rule, &derived, on_secret);
            }
        }
    }
    for rule in responses.iter_mut().flat_map(|r| r.rules.iter_mut()) {
        let by_own = own.as_ref().is_some_and(|own| own.redact_result(rule));
        let by_seen = seen.redact_result(rule);
        // A text withheld above set the note already.
        if !by_own && !by_seen && on_secret && !rule.properties.contains_key(REDACTED_PROPERTY) {
            rule.properties
                .insert(REDACTED_PROPERTY.to_string(), CHECKED_VALUE.to_string());
        }
    }
}

/// Whether some text of `value` (a string or a key, at any depth) holds
/// `{{`, which a substitution that reads it would evaluate in turn.
fn holds_variable(value: &Value) -> bool {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) if text.contains("{{") => return true,
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                if map.keys().any(|key| key.contains("{{")) {
                    return true;
                }
                stack.extend(map.values());
            }
            _ => {}
        }
    }
    false
}

/// Withholds what `derived` names of `rule` (what it builds from the
/// resource's data only `on_secret`): its message unless it is a pass's
/// (the engine's own words) or a skip's other than unmet preconditions
/// (whose condition messages are templates too), and the properties
/// named.
fn withhold_derived(rule: &mut RuleResult, derived: &Readers, on_secret: bool) {
    let mut withheld = false;
    let message = (on_secret && derived.message) || derived.lookup_message;
    let message_built = match rule.status {
        crate::RuleStatus::Pass => false,
        crate::RuleStatus::Skip => rule.message.starts_with("preconditions not met"),
        _ => true,
    };
    // An error's message may quote what the rule made of a value
    // (`regex_match`, `quantity()` on a reversed password: verify30 N1);
    // so may a validate.cel expression's, reported as a fail (verify32:
    // the spaced-out password of a Secret param).
    let quotes_error = rule.status == crate::RuleStatus::Error
        || (rule.status == crate::RuleStatus::Fail
            && rule.message.starts_with("expression ")
            && rule.message.contains(crate::cel::rule::EXPRESSION_ERROR));
    let error_quoting = quotes_error && (on_secret || derived.lookup_any);
    // A fail or skip of a pattern that builds a key or value from the
    // data quotes it (secret56 S56-1, S56-2).
    let pattern_quoting = rule.status != crate::RuleStatus::Pass
        && ((on_secret && derived.pattern) || derived.lookup_pattern);
    if ((message && message_built) || error_quoting || pattern_quoting) && !rule.message.is_empty()
    {
        rule.message = DERIVED_TEXT.to_string();
        withheld = true;
    }
    let own = derived.properties.iter().filter(|_| on_secret);
    for key in own.chain(&derived.lookup_properties) {
        if let Some(value) = rule.properties.get_mut(key) {
            *value = DERIVED_TEXT.to_string();
            withheld = true;
        }
    }
    if withheld {
        rule.properties
            .insert(REDACTED_PROPERTY.to_string(), REDACTED_VALUE.to_string());
    }
}

/// Whether a request names the `secrets` resource (`/api/v1/.../secrets`,
/// a CEL `resource.Get("v1", "secrets", ...)`), whose list items carry no
/// kind.
fn names_secrets(path: &str) -> bool {
    // The API server decodes `%73ecrets` (verify29 V13); letter case it
    // does not fold, but over-redaction is safe.
    percent_decoded(path)
        .split(['/', '?'])
        .any(|segment| segment.eq_ignore_ascii_case("secrets"))
}

/// `path` with its `%XX` escapes decoded (an invalid one kept as written).
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an `apiCall` path as written in a policy may read Secrets:
/// [`names_secrets`], or a template standing where the resource is named
/// (`…/{{ kind }}/…`, a path built whole by a template), which only the
/// run decides.
fn may_name_secrets(path: &str) -> bool {
    if names_secrets(path) {
        return true;
    }
    if !path.contains("{{") {
        return false;
    }
    // Split at `/` outside templates: a template may itself hold one and
    // move the resource (verify39 F12: `…/namespaces/{{ join('',
    // ['default/sec', 'rets/db']) }}` read as no lookup of Secrets).
    let mut segments: Vec<(String, bool)> = vec![(String::new(), true)];
    let mut rest = path.trim_start_matches('/');
    while !rest.is_empty() {
        let Some(last) = segments.last_mut() else {
            return true;
        };
        if let Some(after) = rest.strip_prefix("{{") {
            let Some(end) = after.find("}}") else {
                return true;
            };
            last.0.push_str("{{}}");
            last.1 &= slash_free(&after[..end]);
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('/') {
            segments.push((String::new(), true));
            rest = after;
        } else {
            let next = rest.find(['/', '{']).map_or(rest.len(), |at| at.max(1));
            last.0.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    // /api/v1/[namespaces/NS/]RESOURCE, /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE.
    let resource = match segments.first().map(|(text, _)| text.as_str()) {
        Some("api") => 2,
        Some("apis") => 3,
        _ => return true,
    };
    let resource = if segments.get(resource).map(|(text, _)| text.as_str()) == Some("namespaces") {
        resource + 2
    } else {
        resource
    };
    // A template before the resource that may hold a `/` may move it.
    if segments
        .iter()
        .take(resource)
        .any(|(_, slash_free)| !slash_free)
    {
        return true;
    }
    segments
        .get(resource)
        .is_none_or(|(text, _)| text.contains("{{}}"))
}

/// Whether a template's value holds no `/`: a plain path to a name or
/// namespace (`request.namespace`, `request.object.metadata.name`), which
/// Kubernetes' names never hold.
fn slash_free(expression: &str) -> bool {
    let expression = expression.trim();
    expression
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && matches!(expression.rsplit('.').next(), Some("namespace" | "name"))
}

/// A [`ClusterData`] that answers as `inner` does and records every Secret
/// value in its answers, for [`redact_responses`].
pub(crate) struct SecretWatch {
    inner: Arc<dyn ClusterData>,
    seen: Arc<RwLock<SecretValues>>,
}

impl SecretWatch {
    /// Watches `inner`'s answers into `seen`.
    pub(crate) fn new(inner: Arc<dyn ClusterData>, seen: Arc<RwLock<SecretValues>>) -> Self {
        SecretWatch { inner, seen }
    }

    fn record(&self, answer: &Value, of_secrets: bool) {
        // Most answers hold no Secret: look before taking the write lock.
        let mut found = SecretValues::default();
        found.add_found(answer, of_secrets);
        if found.is_empty() {
            return;
        }
        let mut seen = self
            .seen
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.extend(&found);
    }
}

impl ClusterData for SecretWatch {
    fn config_map(&self, namespace: &str, name: &str) -> Option<Value> {
        self.inner.config_map(namespace, name)
    }

    fn api_call(&self, request: &ApiCallRequest) -> Result<Option<Value>, String> {
        let answer = self.inner.api_call(request);
        if let Ok(Some(value)) = &answer {
            self.record(value, names_secrets(&request.url_path));
        }
        answer
    }

    fn http(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let answer = self.inner.http(request);
        if let Ok(response) = &answer {
            self.record(&response.body, names_secrets(&request.url));
        }
        answer
    }

    fn service_call(&self, request: &HttpRequest) -> Result<Option<HttpResponse>, String> {
        let answer = self.inner.service_call(request);
        if let Ok(Some(response)) = &answer {
            self.record(&response.body, names_secrets(&request.url));
        }
        answer
    }

    fn global_reference(&self, name: &str, projection: &str) -> Result<Option<Value>, String> {
        let answer = self.inner.global_reference(name, projection);
        if let Ok(Some(value)) = &answer {
            self.record(value, false);
        }
        answer
    }

    fn http_is_mocked(&self) -> bool {
        self.inner.http_is_mocked()
    }

    fn resolves_config_maps(&self) -> bool {
        self.inner.resolves_config_maps()
    }

    fn has_api_call_mocks(&self) -> bool {
        self.inner.has_api_call_mocks()
    }

    fn api_call_mock(&self, method: &str, url: &str) -> Option<Result<Value, String>> {
        let answer = self.inner.api_call_mock(method, url);
        if let Some(Ok(value)) = &answer {
            self.record(value, names_secrets(url));
        }
        answer
    }

    fn global_context(&self, name: &str, projection: &str) -> Result<Value, String> {
        let answer = self.inner.global_context(name, projection);
        if let Ok(value) = &answer {
            self.record(value, false);
        }
        answer
    }

    fn get_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, String> {
        let answer = self
            .inner
            .get_resource(api_version, resource, namespace, name);
        if let Ok(Some(value)) = &answer {
            self.record(value, names_secrets(resource));
        }
        answer
    }

    fn post_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        data: &Value,
    ) -> Result<Value, String> {
        let answer = self
            .inner
            .post_resource(api_version, resource, namespace, data);
        if let Ok(value) = &answer {
            self.record(value, names_secrets(resource));
        }
        answer
    }

    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<Value, String> {
        let answer = self.inner.list_resources(api_version, resource, namespace);
        if let Ok(value) = &answer {
            self.record(value, names_secrets(resource));
        }
        answer
    }

    fn params(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> Result<Vec<Value>, String> {
        let answer = self
            .inner
            .params(api_version, kind, namespace, name, selector);
        if let Ok(values) = &answer {
            // By kind alone: `/v1` is the core group as much as `v1`
            // (verify39 F4: the Secret params of such a paramKind were not
            // recorded, and leaked); over-redaction is the safe side.
            let of_secrets = kind.eq_ignore_ascii_case("Secret");
            for value in values {
                self.record(value, of_secrets);
            }
        }
        answer
    }

    fn image_data(&self, image: &str) -> Result<Value, String> {
        self.inner.image_data(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleStatus;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn secret() -> Value {
        // "hunter2-password" and "1"
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"},
               "data": {"password": "aHVudGVyMi1wYXNzd29yZA==", "flag": "MQ=="},
               "stringData": {"token": "tok-abcdef"}})
    }

    fn values_of(secret: &Value) -> SecretValues {
        let mut values = SecretValues::default();
        values.add_secret(secret);
        values
    }

    #[test]
    fn base64_decoded_and_string_data_values_are_replaced_in_place() {
        let values = values_of(&secret());
        assert_eq!(
            values.redact_text("pw aHVudGVyMi1wYXNzd29yZA== is hunter2-password; token tok-abcdef"),
            Some(format!(
                "pw {REDACTED_TEXT} is {REDACTED_TEXT}; token {REDACTED_TEXT}"
            ))
        );
        assert_eq!(values.redact_text("nothing secret here"), None);
    }

    /// A policy printing `to_upper(…)` of a value leaked it (walkthrough):
    /// values are found in any ASCII letter case.
    #[test]
    fn a_value_in_another_letter_case_is_replaced_too() {
        let values = values_of(&secret());
        assert_eq!(
            values.redact_text("HUNTER2-PASSWORD and Tok-AbcDef"),
            Some(format!("{REDACTED_TEXT} and {REDACTED_TEXT}"))
        );
    }

    #[test]
    fn a_short_value_withholds_the_whole_text() {
        let values = values_of(&secret());
        assert_eq!(
            values.redact_text("flag is 1"),
            Some(WITHHELD_TEXT.to_string())
        );
        // The base64 form "MQ==" is long enough to go in place.
        assert_eq!(
            values.redact_text("flag MQ== set"),
            Some(format!("flag {REDACTED_TEXT} set"))
        );
    }

    #[test]
    fn escaped_trimmed_and_per_line_forms_are_found() {
        let mut values = SecretValues::default();
        values.add_secret(&json!({"apiVersion": "v1", "kind": "Secret",
            "stringData": {"cert": "-----BEGIN-----\nAAAAlongline\n-----END-----\n"}}));
        // A map interpolated into a message shows the value JSON-escaped.
        let escaped = r#"{"cert":"-----BEGIN-----\nAAAAlongline\n-----END-----\n"}"#;
        assert_eq!(
            values.redact_text(escaped),
            Some(format!(r#"{{"cert":"{REDACTED_TEXT}"}}"#))
        );
        assert_eq!(
            values.redact_text("line AAAAlongline"),
            Some(format!("line {REDACTED_TEXT}"))
        );
    }

    /// red22 F1: `base64` without `-w0` wraps a value at 76 columns; the
    /// API server and Kyverno's `base64_decode` accept it, so the decoded
    /// value must be found too (it leaked through a `base64_decode`).
    #[test]
    fn a_line_wrapped_or_unpadded_base64_value_is_decoded() {
        let plain = "correct-horse-battery-staple-0123456789-abcdefghijklmnopqrstuvwxyz-XYZ";
        let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
        let wrapped = format!("{}\n{}\n", &encoded[..76], &encoded[76..]);
        let values =
            values_of(&json!({"kind": "Secret", "apiVersion": "v1", "data": {"key": wrapped}}));
        assert_eq!(
            values.redact_text(&format!("D {plain}")),
            Some(format!("D {REDACTED_TEXT}"))
        );
        let unpadded = values_of(&json!({"kind": "Secret", "apiVersion": "v1",
            "data": {"key": "aHVudGVyMi1wYXNzd29yZA"}}));
        assert_eq!(
            unpadded.redact_text("is hunter2-password"),
            Some(format!("is {REDACTED_TEXT}"))
        );
    }

    /// red22 F9: an unquoted number under `stringData` (a Helm value
    /// rendered without `quote`, in a manifest not yet applied) printed as
    /// is; red22 F10: the `=` padding of a stored value withheld every
    /// message holding `=`.
    #[test]
    fn a_number_is_a_value_and_base64_padding_is_not() {
        let values = values_of(&json!({"kind": "Secret", "apiVersion": "v1",
            "stringData": {"pin": 12345678901_u64, "nested": {"deep": "deep-secret-1"}},
            "data": {"pw": "aHVudGVyMi1zdXBlcnNlY3JldA=="}}));
        assert_eq!(
            values.redact_text(r#"M {"pin":12345678901}"#),
            Some(format!(r#"M {{"pin":{REDACTED_TEXT}}}"#))
        );
        assert_eq!(
            values.redact_text("deep deep-secret-1"),
            Some(format!("deep {REDACTED_TEXT}"))
        );
        assert_eq!(values.redact_text("label owner=<team> is required"), None);
        assert_eq!(
            values.redact_text("pw hunter2-supersecret"),
            Some(format!("pw {REDACTED_TEXT}"))
        );
    }

    /// walk25 F5 and F6: kubectl's `last-applied-configuration` copy holds
    /// the value from before a `kubectl patch` rotation, and a message
    /// interpolating the whole object quotes that copy's JSON again (a `"`
    /// or `\` in the value twice escaped, `&` as `\\u0026`).
    #[test]
    fn the_applied_copy_is_searched_and_twice_quoted_values_are_found() {
        let old = "Old-Pa$$word-Zq81";
        let new = r#"pa\"ss\\word&Long1"#;
        let applied = json!({"kind": "Secret", "apiVersion": "v1",
            "stringData": {"password": old}})
        .to_string();
        let secret = json!({"kind": "Secret", "apiVersion": "v1",
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}},
            "stringData": {"password": new}});
        let values = values_of(&secret);
        assert_eq!(
            values.redact_text(&format!("was {old}")),
            Some(format!("was {REDACTED_TEXT}"))
        );
        // The object written out, its annotation (Go's JSON of the
        // manifest) a JSON text inside JSON.
        let mut quoted = String::new();
        crate::jmespath::write_go_string(new, &mut quoted);
        let annotation = format!(r#"{{"stringData":{{"password":{quoted}}}}}"#);
        let message =
            json!({"metadata": {"annotations": {"last-applied": annotation}}}).to_string();
        assert!(message.contains(r"\u0026"), "{message}");
        let redacted = values.redact_text(&message).unwrap_or_default();
        assert!(
            redacted.contains(REDACTED_TEXT) && !redacted.contains("Long1"),
            "{redacted}"
        );
    }

    /// red22 F2: kubectl's `last-applied-configuration` holds `stringData`
    /// as Go's `encoding/json` writes it (`<`, `>`, `&`, U+2028 escaped); a
    /// policy printing the annotation leaked the value.
    #[test]
    fn a_value_as_go_json_escapes_it_is_found() {
        let values = values_of(&json!({"kind": "Secret", "apiVersion": "v1",
            "stringData": {"pw": "Pa\"ss<w>rd&ZYX1-long", "u": "uni\u{2028}code-sep-value"}}));
        let annotation = r#"{"stringData":{"pw":"Pa\"ss\u003cw\u003erd\u0026ZYX1-long","u":"uni\u2028code-sep-value"}}"#;
        let redacted = values.redact_text(annotation).unwrap_or_default();
        assert_eq!(
            redacted,
            format!(r#"{{"stringData":{{"pw":"{REDACTED_TEXT}","u":"{REDACTED_TEXT}"}}}}"#)
        );
        assert_eq!(go_json_quoted("a\u{8}<"), "a\\u0008\\u003c");
    }

    /// red22 F3: matching reads `/v1`, `core/v1` or no apiVersion as the
    /// core group, and `kinds: ["*"]` meets any case: each is a Secret here.
    /// verify30 N1: an error's message quoted what the rule made of a
    /// Secret's value (`regex_match`, CEL `quantity()` of it reversed); on
    /// a Secret, and for a rule that looks Secrets up, it is withheld.
    #[test]
    fn an_error_may_quote_a_value_and_is_withheld() {
        let error = || {
            RuleResult::new(
                "r",
                crate::RuleStatus::Error,
                "invalid quantity: 1399enohpolyX2retnuH",
                "Audit",
            )
        };
        let mut on_secret = error();
        withhold_derived(&mut on_secret, &Readers::default(), true);
        assert_eq!(on_secret.message, DERIVED_TEXT);
        let mut looking_up = error();
        let readers = Readers {
            lookup_any: true,
            ..Readers::default()
        };
        withhold_derived(&mut looking_up, &readers, false);
        assert_eq!(looking_up.message, DERIVED_TEXT);
        let mut elsewhere = error();
        withhold_derived(&mut elsewhere, &Readers::default(), false);
        assert_eq!(elsewhere.message, "invalid quantity: 1399enohpolyX2retnuH");
    }

    #[test]
    fn a_secret_is_known_by_its_kind_whatever_its_api_version() {
        for secret in [
            json!({"apiVersion": "/v1", "kind": "Secret"}),
            json!({"apiVersion": "core/v1", "kind": "Secret"}),
            json!({"kind": "Secret"}),
            json!({"apiVersion": "v1 ", "kind": "Secret"}),
            json!({"apiVersion": "v1", "kind": "secret"}),
        ] {
            assert!(is_secret(&secret), "{secret}");
        }
        assert!(!is_secret(
            &json!({"apiVersion": "v1", "kind": "ConfigMap"})
        ));
        assert!(!is_secret(
            &json!({"apiVersion": "v1", "kind": "SecretStore"})
        ));
    }

    #[test]
    fn values_parsed_out_of_a_secret_are_found() {
        // A registry policy's usual lookup: parse_json(base64_decode(…)) of
        // a .dockerconfigjson, whose auth is base64("user:password").
        let config = r#"{"auths":{"registry.example.com":{"username":"robot-user","password":"s3cr3t-pass","auth":"cm9ib3QtdXNlcjpzM2NyM3QtcGFzcw=="}}}"#;
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(config)},
            "stringData": {".env": "DB_PASSWORD=hunter2-long\nuser: app-reader"}});
        let values = values_of(&secret);
        for leaked in [
            "password s3cr3t-pass",
            "auth cm9ib3QtdXNlcjpzM2NyM3QtcGFzcw==",
            "login robot-user:s3cr3t-pass",
            "user robot-user",
            "env hunter2-long",
            "reader app-reader",
        ] {
            let redacted = values.redact_text(leaked).unwrap_or_default();
            for part in ["s3cr3t", "cm9ib3Q", "robot-user", "hunter2", "app-reader"] {
                assert!(!redacted.contains(part), "{leaked} -> {redacted}");
            }
        }
    }

    #[test]
    fn results_lose_values_in_message_and_properties_and_say_so() {
        let values = values_of(&secret());
        let mut result = RuleResult::new(
            "check",
            RuleStatus::Fail,
            "password hunter2-password is weak",
            "Audit",
        );
        result.properties = props(&[("seen", "tok-abcdef"), ("plain", "ok")]);
        assert!(values.redact_result(&mut result));
        assert_eq!(result.message, format!("password {REDACTED_TEXT} is weak"));
        assert_eq!(result.properties["seen"], REDACTED_TEXT);
        assert_eq!(result.properties["plain"], "ok");
        assert_eq!(result.properties[REDACTED_PROPERTY], REDACTED_VALUE);
        let mut clean = RuleResult::new("check", RuleStatus::Pass, "fine", "Audit");
        assert!(!values.redact_result(&mut clean));
        assert!(!clean.properties.contains_key(REDACTED_PROPERTY));
    }

    /// verify39 F4: params of `paramKind` `{apiVersion: "/v1", kind:
    /// Secret}` are Secrets the cluster returns as for `v1`: recorded.
    #[test]
    fn secret_params_are_recorded_whatever_their_api_version_spells() {
        struct Params;
        impl ClusterData for Params {
            fn config_map(&self, _: &str, _: &str) -> Option<Value> {
                None
            }
            fn api_call(&self, _: &ApiCallRequest) -> Result<Option<Value>, String> {
                Ok(None)
            }
            fn params(
                &self,
                _: &str,
                _: &str,
                _: &str,
                _: Option<&str>,
                _: Option<&LabelSelector>,
            ) -> Result<Vec<Value>, String> {
                // Listed by a selector: the items carry no kind.
                Ok(vec![json!({"metadata": {"name": "db"},
                               "data": {"password": "aHVudGVyMi1wYXNzd29yZA=="}})])
            }
        }
        for api_version in ["v1", "/v1"] {
            let seen = Arc::new(RwLock::new(SecretValues::default()));
            let watch = SecretWatch::new(Arc::new(Params), seen.clone());
            assert!(watch
                .params(api_version, "Secret", "default", None, None)
                .is_ok());
            let seen = seen.read().expect("lock");
            assert!(
                seen.redact_text("hunter2-password").is_some(),
                "{api_version}"
            );
        }
    }

    #[test]
    fn lookups_of_secrets_are_found_in_objects_and_lists() {
        let item = json!({"metadata": {"name": "s"}, "data": {"k": "c2VjcmV0LXZhbHVl"}});
        // A list answer of /api/v1/namespaces/a/secrets: items carry no kind.
        let mut values = SecretValues::default();
        values.add_found(
            &json!({"kind": "SecretList", "items": [item.clone()]}),
            false,
        );
        assert!(values.redact_text("secret-value").is_some());
        let mut values = SecretValues::default();
        values.add_found(&json!({"items": [item.clone()]}), true);
        assert!(values.redact_text("secret-value").is_some());
        // Nested in a GlobalContextEntry's projection.
        let mut values = SecretValues::default();
        values.add_found(&json!({"x": [secret()]}), false);
        assert!(values.redact_text("hunter2-password").is_some());
        // A ConfigMap is no Secret.
        let mut values = SecretValues::default();
        values.add_found(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "visible"}}),
            false,
        );
        assert!(values.is_empty());
        assert!(names_secrets("/api/v1/namespaces/a/secrets/s"));
        assert!(!names_secrets("/api/v1/namespaces/a/configmaps/secrets-cm"));
        // verify29 V13: escaped, and built by a template where the
        // resource is named.
        assert!(names_secrets("/api/v1/namespaces/a/%73ecrets/s"));
        assert!(names_secrets("/api/v1/namespaces/a/./secrets/s"));
        assert!(may_name_secrets(
            "/api/v1/namespaces/a/{{ join('', ['sec','rets']) }}/s"
        ));
        assert!(may_name_secrets(
            "{{ join('/', ['', 'api', 'v1', 'secrets']) }}"
        ));
        assert!(!may_name_secrets(
            "/api/v1/namespaces/{{ request.namespace }}/pods"
        ));
        assert!(!may_name_secrets(
            "/apis/apps/v1/namespaces/{{ request.namespace }}/deployments"
        ));
        // verify39 F12: a template holding `/` moves the resource.
        assert!(may_name_secrets(
            "/api/v1/namespaces/{{ join('', ['default/sec', 'rets/db']) }}"
        ));
        assert!(may_name_secrets(
            "/api/v1/namespaces/{{ request.object.data.ns }}/configmaps/x"
        ));
        assert!(!may_name_secrets(
            "/api/v1/namespaces/{{request.object.metadata.namespace}}/configmaps/{{ request.object.metadata.name }}"
        ));
    }
}
