//! Which of a policy's messages and properties are built from the data of
//! the resource evaluated. What enters: a Kyverno rule as written (its
//! `message`s, `reportProperties`, context entries and `validate.cel`
//! expressions) or a CEL policy's body (its validations' message
//! expressions, audit annotations and variables). What leaves: a
//! [`Readers`]: whether the rule's message may show the resource beyond
//! its metadata, kind and type, and which property keys may.
//!
//! Why: values are searched for in what a policy wrote ([`super`]), but a
//! policy can transform a value past recognition (`reverse()`, a
//! `split`/`join`, a hash: verify28 item 16). On a Secret, a text built
//! from its data is therefore withheld whole, whatever it became. The
//! reading is of the template's text, not its meaning, and leans one way:
//! a name it does not know the value of (a foreach `element`, a bare
//! `object`, `@`, an unknown CEL variable) counts as reading the data.
//! Lookups are read too: a text built from an `apiCall` of `…/secrets…`
//! or a CEL `resource.Get`/`List` naming `secrets` may show a Secret a
//! lookup returned, on any resource; so does one built from a
//! GlobalContextEntry or from the `params` of a CEL policy whose
//! `paramKind` is Secret.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::cel::policies::admission::ValidationBody;

/// Context entries and CEL variables are followed this deep; past it a
/// name counts as reading the data.
const MAX_DEPTH: usize = 8;

/// What of one rule's (or CEL policy's) results may show the data of the
/// resource evaluated, or of a Secret a lookup returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Readers {
    /// The rule's message (and its conditions' messages) may show the
    /// resource's data.
    pub(crate) message: bool,
    /// These property keys' values may.
    pub(crate) properties: BTreeSet<String>,
    /// The message may show a Secret a lookup returned (an `apiCall` of
    /// `…/secrets…`, a CEL `resource.Get`/`List` of `secrets`), whatever
    /// the resource evaluated.
    pub(crate) lookup_message: bool,
    /// These property keys' values may.
    pub(crate) lookup_properties: BTreeSet<String>,
    /// The rule looks up something that may be a Secret: its error
    /// messages may quote what it made of one (verify30 N1).
    pub(crate) lookup_any: bool,
}

impl Readers {
    /// The readers of a rule whose message and properties `message` and
    /// `properties` judge for each [`Of`].
    fn of_modes(
        message: impl Fn(Of) -> bool,
        properties: impl Fn(Of) -> BTreeSet<String>,
        lookup_any: bool,
    ) -> Readers {
        Readers {
            message: message(Of::Object),
            properties: properties(Of::Object),
            lookup_message: message(Of::Lookup),
            lookup_properties: properties(Of::Lookup),
            lookup_any,
        }
    }
}

/// What a reading looks for: the evaluated object's data, or a Secret a
/// lookup returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Of {
    Object,
    Lookup,
}

/// The top-level fields of an object whose values say nothing of a
/// Secret's data.
fn safe_object_field(field: &str) -> bool {
    matches!(field, "kind" | "apiVersion" | "type" | "immutable")
}

/// Whether `metadata.<field>` may carry the data: annotations do
/// (`kubectl.kubernetes.io/last-applied-configuration` holds the whole
/// Secret).
fn safe_metadata_field(field: &str) -> bool {
    field != "annotations" && field != "managedFields"
}

/// A token of a JMESPath or CEL expression, as far as this reading needs.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A name, or a JMESPath quoted identifier.
    Name(String),
    /// A string literal's text (a CEL string, a JMESPath raw string or
    /// backtick literal).
    Text(String),
    /// Any other character.
    Punct(char),
}

/// Splits `source` into tokens. `quoted_names`: `"…"` is a name (JMESPath),
/// not a string (CEL).
fn tokens(source: &str, quoted_names: bool) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A CEL string prefix (r'…', b"…") is no name.
            let prefix = !quoted_names
                && word.len() <= 2
                && word.chars().all(|c| matches!(c, 'r' | 'R' | 'b' | 'B'))
                && chars.get(i).is_some_and(|c| *c == '\'' || *c == '"');
            if !prefix {
                out.push(Token::Name(word));
            }
        } else if c == '\'' || c == '"' || c == '`' {
            // Triple quotes (CEL) close on the same three.
            let triple = c != '`' && chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
            let width = if triple { 3 } else { 1 };
            i += width;
            let mut text = String::new();
            loop {
                match chars.get(i) {
                    None => break,
                    Some('\\') => {
                        if let Some(next) = chars.get(i + 1) {
                            text.push(*next);
                        }
                        i += 2;
                    }
                    Some(&d) if d == c && (!triple || chars[i..].starts_with(&[c, c, c])) => {
                        i += width;
                        break;
                    }
                    Some(&d) => {
                        text.push(d);
                        i += 1;
                    }
                }
            }
            if c == '"' && quoted_names {
                out.push(Token::Name(text));
            } else {
                out.push(Token::Text(text));
            }
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// The field selected at `tokens[at..]`: `.f`, `.?f` (CEL), `["f"]` /
/// `['f']`; with the index after it.
fn field_at(tokens: &[Token], at: usize) -> Option<(&str, usize)> {
    match tokens.get(at)? {
        Token::Punct('.') => {
            let mut next = at + 1;
            if tokens.get(next) == Some(&Token::Punct('?')) {
                next += 1;
            }
            match tokens.get(next)? {
                Token::Name(name) => Some((name, next + 1)),
                _ => None,
            }
        }
        Token::Punct('[') => match (tokens.get(at + 1)?, tokens.get(at + 2)?) {
            (Token::Text(name), Token::Punct(']')) => Some((name, at + 3)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the object path after `tokens[at..]` (what follows `object`,
/// `request.object`) may reach beyond its safe fields.
fn object_path_reads_data(tokens: &[Token], at: usize) -> bool {
    match field_at(tokens, at) {
        Some((field, _)) if safe_object_field(field) => false,
        Some(("metadata", next)) => {
            !matches!(field_at(tokens, next), Some((field, _)) if safe_metadata_field(field))
        }
        _ => true,
    }
}

/// Whether `tokens[at]`, a name, starts a path (not a field of something,
/// not a function's name).
fn is_root(tokens: &[Token], at: usize) -> bool {
    let after_dot = at > 0 && tokens.get(at - 1) == Some(&Token::Punct('.'))
        || at > 1
            && tokens.get(at - 1) == Some(&Token::Punct('?'))
            && tokens.get(at - 2) == Some(&Token::Punct('.'));
    !after_dot && tokens.get(at + 1) != Some(&Token::Punct('('))
}

/// Whether some root name of `tokens` (see [`is_root`]) may show the
/// data, as `reads` judges it at its index.
fn any_root(tokens: &[Token], reads: impl Fn(&str, usize) -> bool) -> bool {
    (0..tokens.len()).any(|at| match tokens.get(at) {
        Some(Token::Name(name)) if is_root(tokens, at) => reads(name, at),
        _ => false,
    })
}

/// Whether `request` at `tokens[at]` may show the data: its `object` or
/// `oldObject` beyond their safe fields, or the whole request.
fn request_reads_data(tokens: &[Token], at: usize) -> bool {
    match field_at(tokens, at + 1) {
        Some(("object" | "oldObject", next)) => object_path_reads_data(tokens, next),
        Some(_) => false,
        None => true,
    }
}

/// Whether a context entry may return a Secret: an `apiCall` whose path
/// may name secrets, or a `globalReference` (a GlobalContextEntry may
/// hold any resource: verify30 N3).
fn entry_looks_up_secrets(entry: &Value) -> bool {
    entry.get("globalReference").is_some()
        || entry
            .pointer("/apiCall/urlPath")
            .and_then(Value::as_str)
            .is_some_and(super::may_name_secrets)
}

/// Where a Kyverno rule's names come from: its context entries by name.
struct KyvernoScope<'a> {
    entries: HashMap<&'a str, &'a Value>,
}

impl<'a> KyvernoScope<'a> {
    /// The context entries of `rule` and of its foreach blocks.
    fn of(rule: &'a Value) -> KyvernoScope<'a> {
        let mut entries = HashMap::new();
        let mut add = |list: Option<&'a Value>| {
            for entry in list.and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = entry.get("name").and_then(Value::as_str) {
                    entries.insert(name, entry);
                }
            }
        };
        add(rule.get("context"));
        let mut stack: Vec<&Value> = rule.get("validate").into_iter().collect();
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(map) => {
                    if let Some(foreach) = map.get("foreach").and_then(Value::as_array) {
                        for block in foreach {
                            add(block.get("context"));
                        }
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        KyvernoScope { entries }
    }

    /// Whether a text holding `{{ … }}` variables may show the data.
    fn template_reads_data(&self, text: &str, depth: usize, of: Of) -> bool {
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let inner = &rest[start + 2..];
            let end = inner.find("}}").unwrap_or(inner.len());
            // A nested `{{` inside is read on the next turn as well.
            if self.jmespath_reads_data(&inner[..end], depth, of) {
                return true;
            }
            rest = inner;
        }
        false
    }

    /// Whether a JMESPath expression may show the data.
    fn jmespath_reads_data(&self, expression: &str, depth: usize, of: Of) -> bool {
        if depth > MAX_DEPTH {
            return true;
        }
        let tokens = tokens(expression, true);
        // `@` is the current node: at the top, or in a function's
        // argument (`to_string(@)`, `values(@)`, `@.request…`), the
        // whole context, the resource and the lookups with it (verify29
        // V1). Where it is an element of something already read, that
        // was judged; read as the whole context, it may show the
        // resource's data, and a lookup's when the rule makes one.
        if tokens.contains(&Token::Punct('@')) && (of == Of::Object || self.looks_up_secrets()) {
            return true;
        }
        // `*` where a path starts (`*.object.data`, `to_string(*)`) is the
        // context's values: the request and every lookup with them
        // (verify37: it showed a Secret's data). After `.` or `[` it
        // projects what came before, which is judged by its root; after
        // anything else it may be arithmetic — read as a root all the
        // same, which can only withhold more.
        // `[*]` projects; `[*.x]` is a list of the root's values
        // (verify38).
        let root_wildcard = tokens.iter().enumerate().any(|(at, token)| {
            *token == Token::Punct('*')
                && match at.checked_sub(1).and_then(|before| tokens.get(before)) {
                    Some(Token::Punct('.')) => false,
                    Some(Token::Punct('[')) => tokens.get(at + 1) != Some(&Token::Punct(']')),
                    _ => true,
                }
        });
        // An escape in a quoted name may spell `request` or `object`
        // (`"\u006fbject"`, verify38): read as reaching anything.
        let escaped = expression.contains('\\');
        if (root_wildcard || escaped) && (of == Of::Object || self.looks_up_secrets()) {
            return true;
        }
        any_root(&tokens, |name, at| match name {
            "request" => of == Of::Object && request_reads_data(&tokens, at),
            "elementIndex" => false,
            name if name.starts_with("element") => of == Of::Object,
            name => self
                .entries
                .get(name)
                .is_some_and(|entry| self.entry_reads_data(entry, depth + 1, of)),
        })
    }

    /// Whether some context entry of the rule reads Secrets through an
    /// `apiCall`.
    fn looks_up_secrets(&self) -> bool {
        self.entries
            .values()
            .any(|entry| entry_looks_up_secrets(entry))
    }

    /// Whether a context entry's value may show the data: a `variable`'s
    /// JMESPath, value and default; any variable a lookup's request holds;
    /// for [`Of::Lookup`], an `apiCall` of Secrets.
    fn entry_reads_data(&self, entry: &Value, depth: usize, of: Of) -> bool {
        if depth > MAX_DEPTH {
            return true;
        }
        if of == Of::Lookup && entry_looks_up_secrets(entry) {
            return true;
        }
        if let Some(variable) = entry.get("variable") {
            if variable
                .get("jmesPath")
                .and_then(Value::as_str)
                .is_some_and(|path| self.jmespath_reads_data(path, depth, of))
            {
                return true;
            }
        }
        let mut strings = Vec::new();
        super::string_leaves(entry, &mut strings);
        strings
            .iter()
            .any(|text| self.template_reads_data(text, depth, of))
    }
}

/// Whether a CEL expression may show the data, its `variables.<name>`
/// followed into `variables`. A lookup of Secrets is a `resource.Get` or
/// `resource.List` in an expression naming `secrets`.
fn cel_reads_data(
    source: &str,
    variables: &HashMap<&str, &str>,
    params_secret: bool,
    depth: usize,
    of: Of,
) -> bool {
    if depth > MAX_DEPTH {
        return true;
    }
    let tokens = tokens(source, false);
    // `resource.Get('v1', 'secrets', …)`: the resource as a literal; any
    // other call, or a resource computed, may be of Secrets.
    // The literal must be the whole argument: `'secr' + 'ets'` is
    // computed (verify30 N2).
    let names_secrets = |at: usize| match tokens.get(at + 1..at + 8) {
        Some(
            [Token::Punct('.'), Token::Name(_), Token::Punct('('), Token::Text(_), Token::Punct(','), Token::Text(resource), Token::Punct(',' | ')')],
        ) => resource.eq_ignore_ascii_case("secrets"),
        _ => true,
    };
    any_root(&tokens, |name, at| match name {
        "object" | "oldObject" => of == Of::Object && object_path_reads_data(&tokens, at + 1),
        "request" => of == Of::Object && request_reads_data(&tokens, at),
        "resource" => of == Of::Lookup && names_secrets(at),
        // A GlobalContextEntry may hold any resource (verify30 N3).
        "globalContext" => of == Of::Lookup,
        // Params of `paramKind` Secret are Secrets the scan looked up
        // (verify31 F1).
        "params" => of == Of::Lookup && params_secret,
        "variables" => match field_at(&tokens, at + 1) {
            Some((variable, _)) => variables.get(variable).is_none_or(|source| {
                cel_reads_data(source, variables, params_secret, depth + 1, of)
            }),
            None => true,
        },
        _ => false,
    })
}

/// What of a Kyverno rule (as written) may show the data of the resource
/// evaluated: every `message` under it (the rule's, its conditions' and
/// preconditions'), its `validate.cel` message expressions, and its
/// `reportProperties`.
pub(crate) fn kyverno_rule(rule: &Value) -> Readers {
    let scope = KyvernoScope::of(rule);
    let mut messages = Vec::new();
    collect_under_key(rule, "message", &mut messages);
    let cel = rule.pointer("/validate/cel");
    let variables: HashMap<&str, &str> = cel
        .and_then(|cel| cel.get("variables"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v.get("name")?.as_str()?, v.get("expression")?.as_str()?)))
        .collect();
    let mut expressions = Vec::new();
    if let Some(cel) = cel {
        collect_under_key(cel, "messageExpression", &mut expressions);
    }
    let params_secret = cel
        .and_then(|cel| cel.pointer("/paramKind/kind"))
        .is_some_and(|kind| kind.as_str().is_none_or(|kind| kind == "Secret"));
    let message = |of: Of| {
        messages
            .iter()
            .any(|text| scope.template_reads_data(text, 0, of))
            || expressions
                .iter()
                .any(|source| cel_reads_data(source, &variables, params_secret, 0, of))
    };
    let properties = |of: Of| -> BTreeSet<String> {
        rule.get("reportProperties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, value)| {
                value
                    .as_str()
                    .is_none_or(|text| scope.template_reads_data(text, 0, of))
            })
            .map(|(key, _)| key.clone())
            .collect()
    };
    let lookup_any = scope.looks_up_secrets() || {
        let mut cel_texts = Vec::new();
        collect_under_key(rule, "expression", &mut cel_texts);
        cel_texts
            .iter()
            .any(|source| cel_reads_data(source, &variables, params_secret, 0, Of::Lookup))
    };
    Readers::of_modes(message, properties, lookup_any)
}

/// Every string under a key named `key`, at any depth.
fn collect_under_key<'v>(value: &'v Value, key: &str, out: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            for (name, item) in map {
                match item {
                    Value::String(text) if name == key => out.push(text),
                    _ => collect_under_key(item, key, out),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_under_key(item, key, out)),
        _ => {}
    }
}

/// What of a CEL policy (a ValidatingPolicy's or a
/// ValidatingAdmissionPolicy's body) may show the data of the resource
/// evaluated: its validations' message expressions, and its audit
/// annotations (the results' properties). `params_secret`: its
/// `paramKind` is Secret.
pub(crate) fn cel_body(body: &ValidationBody, params_secret: bool) -> Readers {
    let variables: HashMap<&str, &str> = body
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.expression.source()))
        .collect();
    let message = |of: Of| {
        body.validations
            .iter()
            .filter_map(|v| v.message_expression.as_ref())
            .any(|program| cel_reads_data(program.source(), &variables, params_secret, 0, of))
    };
    let properties = |of: Of| -> BTreeSet<String> {
        body.audit_annotations
            .iter()
            .filter(|a| {
                cel_reads_data(
                    a.value_expression.source(),
                    &variables,
                    params_secret,
                    0,
                    of,
                )
            })
            .map(|a| a.key.clone())
            .collect()
    };
    let lookup_any = body
        .validations
        .iter()
        .map(|v| &v.expression)
        .chain(body.variables.iter().map(|v| &v.expression))
        .chain(body.match_conditions.iter().map(|v| &v.expression))
        .chain(body.audit_annotations.iter().map(|a| &a.value_expression))
        .any(|program| cel_reads_data(program.source(), &variables, params_secret, 0, Of::Lookup));
    Readers::of_modes(message, properties, lookup_any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message_reads(message: &str) -> bool {
        kyverno_rule(&json!({"name": "r", "validate": {"message": message, "deny": {}}})).message
    }

    #[test]
    fn kyverno_messages_reading_the_data_are_found() {
        for reading in [
            "{{ request.object.data.password }}",
            "pw {{ reverse(base64_decode(request.object.data.password)) }}",
            "{{ join(' ', split(request.object.\"data\".pw, '')) }}",
            "{{ request.object }}",
            "{{ request }}",
            "{{ @ }}",
            "{{ request.object.metadata }}",
            "{{ request.object.metadata.annotations }}",
            "{{ request.object.stringData | keys(@) }}",
            "{{ element }}",
            "{{ request.object.data.{{ key }} }}",
            // verify29 V1: the current node, the whole context.
            "pw {{ reverse(base64_decode(@.request.object.data.password)) }}",
            "{{ reverse(to_string(@)) }}",
            "{{ reverse(base64_decode(values(@)[?object].object.data.password | [0])) }}",
        ] {
            assert!(message_reads(reading), "{reading}");
        }
        for plain in [
            "Secret {{ request.object.metadata.name }} in {{ request.namespace }} needs a label",
            "{{ request.object.type }} by {{ request.userInfo.username }} ({{ request.operation }})",
            "{{ to_upper(request.object.metadata.labels.team) }} {{ elementIndex }}",
            "no variable: request.object.data",
            "{{ request.object.kind }} '{{ 'request.object.data' }}'",
        ] {
            assert!(!message_reads(plain), "{plain}");
        }
    }

    #[test]
    fn context_entries_and_conditions_are_followed() {
        let rule = |context: Value, validate: Value| json!({"name": "r", "context": context, "validate": validate});
        let via_variable = rule(
            json!([{"name": "pw", "variable": {"jmesPath": "request.object.data.pw"}},
                   {"name": "alias", "variable": {"value": "{{ pw }}"}}]),
            json!({"message": "bad {{ alias }}", "deny": {}}),
        );
        assert!(kyverno_rule(&via_variable).message);
        let harmless = rule(
            json!([{"name": "n", "variable": {"jmesPath": "request.object.metadata.name"}},
                   {"name": "cm", "configMap": {"name": "x", "namespace": "y"}}]),
            json!({"message": "bad {{ n }} {{ cm.data.limit }}", "deny": {}}),
        );
        assert!(!kyverno_rule(&harmless).message);
        // A deny condition's own message and a foreach's entries count.
        let condition = rule(
            json!([]),
            json!({"foreach": [{"list": "request.object.data",
                "context": [{"name": "v", "variable": {"jmesPath": "element"}}],
                "deny": {"conditions": {"any": [{"key": "x", "operator": "Equals", "value": "y",
                    "message": "{{ v }}"}]}}}]}),
        );
        assert!(kyverno_rule(&condition).message);
    }

    /// A text built from a Secret a lookup returned, transformed past
    /// recognition, is found on any resource; one built from a lookup of
    /// something else, or from the resource, is no lookup's.
    #[test]
    fn texts_built_from_a_looked_up_secret_are_found() {
        let rule = json!({"name": "r",
            "context": [
                {"name": "s", "apiCall": {"urlPath": "/api/v1/namespaces/{{ request.namespace }}/secrets/db"}},
                {"name": "cm", "apiCall": {"urlPath": "/api/v1/namespaces/default/configmaps/x"}},
                {"name": "pw", "variable": {"jmesPath": "base64_decode(s.data.token)"}}],
            "reportProperties": {"hint": "{{ cm.data.x }}", "token": "{{ reverse(pw) }}"},
            "validate": {"message": "token {{ reverse(pw) }} for {{ request.object.metadata.name }}", "deny": {}}});
        let readers = kyverno_rule(&rule);
        assert!(readers.lookup_message && !readers.message);
        assert_eq!(
            readers.lookup_properties,
            BTreeSet::from(["token".to_string()])
        );
        let other = json!({"name": "r",
            "context": [{"name": "cm", "apiCall": {"urlPath": "/api/v1/namespaces/default/configmaps/x"}}],
            "validate": {"message": "{{ cm.data.x }} {{ request.object.spec }} {{ element.name }}", "deny": {}}});
        let readers = kyverno_rule(&other);
        assert!(!readers.lookup_message && readers.message);
        // The whole context holds the lookups of a rule that makes one.
        let mut whole = rule.clone();
        whole["validate"]["message"] = json!("{{ to_string(@) }}");
        assert!(kyverno_rule(&whole).lookup_message);
        let mut whole = other.clone();
        whole["validate"]["message"] = json!("{{ to_string(@) }}");
        assert!(!kyverno_rule(&whole).lookup_message);
        let variables = HashMap::from([(
            "s",
            "resource.Get('v1', 'secrets', object.metadata.namespace, 'db')",
        )]);
        assert!(cel_reads_data(
            "string(variables.s.data.pw).reverse()",
            &variables,
            false,
            0,
            Of::Lookup
        ));
        assert!(!cel_reads_data(
            "resource.Get('v1', 'configmaps', 'a', 'b').data.x",
            &variables,
            false,
            0,
            Of::Lookup
        ));
        assert!(!cel_reads_data(
            "object.data.pw",
            &variables,
            false,
            0,
            Of::Lookup
        ));
        // verify30 N2, N3: a computed resource name, a global context.
        assert!(cel_reads_data(
            "resource.Get('v1', 'secr' + 'ets', 'a', 'b').data",
            &variables,
            false,
            0,
            Of::Lookup
        ));
        assert!(cel_reads_data(
            "globalContext.Get('creds', '')",
            &variables,
            false,
            0,
            Of::Lookup
        ));
        let global = json!({"name": "r",
            "context": [{"name": "g", "globalReference": {"name": "creds"}}],
            "validate": {"message": "{{ reverse(g.pw) }}", "deny": {}}});
        let readers = kyverno_rule(&global);
        assert!(readers.lookup_message && readers.lookup_any);
        // A resource computed may be Secrets.
        assert!(cel_reads_data(
            "resource.Get('v1', object.kind, 'a', 'b').data",
            &variables,
            false,
            0,
            Of::Lookup
        ));
    }

    #[test]
    fn cel_message_expressions_and_properties_are_read() {
        let rule = json!({"name": "r", "reportProperties": {
                "who": "{{ request.object.metadata.name }}",
                "what": "{{ base64_decode(request.object.data.pw) }}"},
            "validate": {"cel": {
                "variables": [{"name": "pw", "expression": "object.data['pw']"},
                              {"name": "n", "expression": "object.metadata.name"}],
                "expressions": [{"expression": "true", "messageExpression": "'x ' + variables.n"}]}}});
        let readers = kyverno_rule(&rule);
        assert!(!readers.message);
        assert_eq!(readers.properties, BTreeSet::from(["what".to_string()]));
        let reading = |source: &str| {
            let variables =
                HashMap::from([("pw", "object.data['pw']"), ("n", "object.metadata.name")]);
            cel_reads_data(source, &variables, false, 0, Of::Object)
        };
        for source in [
            "string(object)",
            "object.data.pw",
            "object['data']['pw']",
            "object.?data.orValue({})",
            "variables.pw.reverse()",
            "variables.unknown",
            "base64.decode(oldObject.data.pw)",
            "object.metadata.annotations['x']",
        ] {
            assert!(reading(source), "{source}");
        }
        for source in [
            "'Secret ' + object.metadata.name + ' has type ' + object.type",
            "variables.n + request.namespace + params.data.x",
            "\"object.data\" + r'object.data' + '''object.data'''",
            "[1].map(x, x + 1).size() == 1 ? object.kind : 'x'",
        ] {
            assert!(!reading(source), "{source}");
        }
    }

    #[test]
    fn a_wildcard_at_the_root_reads_the_data() {
        // verify37: `*.object.data` reached the Secret's data unnoticed.
        for message in [
            "m {{ join(' ', split(base64_decode(*.object.data.password | [0]), '')) }}",
            "{{ to_string(*.object.data) }}",
            "{{ *.*.data }}",
            "{{ to_string(*) }}",
        ] {
            assert!(message_reads(message), "{message}");
        }
        // A projection of something already judged is not the root.
        // verify38: `[*.x]` and an escaped name.
        for message in [
            "{{ base64_decode([*.object.data.password][0][0]) }}",
            "{{ to_string([*.object.data]) }}",
            r#"{{ request."\u006fbject".data.password }}"#,
            r#"{{ "req\u0075est".object.data }}"#,
        ] {
            assert!(message_reads(message), "{message}");
        }
        assert!(!message_reads("{{ request.object.metadata.labels.* }}"));
        assert!(!message_reads("{{ request.object.metadata.name[*] }}"));
        assert!(!message_reads("{{ request.object.metadata.name }}"));
    }
}
