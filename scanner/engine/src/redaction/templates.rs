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
//! from its data is therefore withheld whole, whatever it became. Each
//! expression is read from its parsed AST ([`crate::reads`]: the text
//! reading it replaced missed spellings, verify37 and verify38), and the
//! reading leans one way: a name it does not know the value of (a
//! foreach `element`, the context whole as `@` at the top or a root `*`,
//! an unknown CEL variable, what does not parse) counts as reading the
//! data.
//! Lookups are read too: a text built from an `apiCall` of `…/secrets…`
//! or a CEL `resource.Get`/`List` naming `secrets` may show a Secret a
//! lookup returned, on any resource; so does one built from a
//! GlobalContextEntry or from the `params` of a CEL policy whose
//! `paramKind` is Secret.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::cel::policies::admission::ValidationBody;
use crate::reads::{self, Step};
use kube_cel::cel::IdedExpr;

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
    /// The rule's patterns (`pattern`, `anyPattern`, a `foreach`'s) build
    /// a key or value from the resource's data: the engine's own fail and
    /// skip messages quote them (`failed at path /data/<value>/`, an
    /// anchor mismatch quoting the value: secret56 S56-1).
    pub(crate) pattern: bool,
    /// ... from a Secret a lookup returned (secret56 S56-2).
    pub(crate) lookup_pattern: bool,
}

impl Readers {
    /// The readers of a rule whose message and properties `message` and
    /// `properties` judge for each [`Of`].
    fn of_modes(
        message: impl Fn(Of) -> bool,
        properties: impl Fn(Of) -> BTreeSet<String>,
        pattern: impl Fn(Of) -> bool,
        lookup_any: bool,
    ) -> Readers {
        Readers {
            message: message(Of::Object),
            properties: properties(Of::Object),
            lookup_message: message(Of::Lookup),
            lookup_properties: properties(Of::Lookup),
            lookup_any,
            pattern: pattern(Of::Object),
            lookup_pattern: pattern(Of::Lookup),
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

/// Whether reading `rest`, a path under an object (`object`,
/// `request.object`), may reach beyond its safe fields.
fn object_path_reads_data(rest: &[Step]) -> bool {
    match rest {
        [Step::Field(field), ..] if safe_object_field(field) => false,
        [Step::Field(metadata), Step::Field(field), ..]
            if metadata == "metadata" && safe_metadata_field(field) =>
        {
            false
        }
        _ => true,
    }
}

/// Whether reading `rest`, a path under `request`, may show the data: its
/// `object` or `oldObject` beyond their safe fields, or the whole request.
fn request_reads_data(rest: &[Step]) -> bool {
    match rest.split_first() {
        Some((Step::Field(field), rest)) if field == "object" || field == "oldObject" => {
            object_path_reads_data(rest)
        }
        Some((Step::Field(_), _)) => false,
        _ => true,
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

/// Where a Kyverno rule's names come from: its context entries by name,
/// every definition of a name (a foreach's entry may share a name with
/// the rule's, and each is read where it stands: verify39 F13).
struct KyvernoScope<'a> {
    entries: HashMap<&'a str, Vec<&'a Value>>,
}

impl<'a> KyvernoScope<'a> {
    /// The context entries of `rule` and of its foreach blocks.
    fn of(rule: &'a Value) -> KyvernoScope<'a> {
        let mut entries: HashMap<&str, Vec<&Value>> = HashMap::new();
        let mut add = |list: Option<&'a Value>| {
            for entry in list.and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = entry.get("name").and_then(Value::as_str) {
                    entries.entry(name).or_default().push(entry);
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

    /// Whether a JMESPath expression may show the data, read from its AST
    /// ([`reads::jmespath`]).
    fn jmespath_reads_data(&self, expression: &str, depth: usize, of: Of) -> bool {
        // The whole context (`@` at the top, `to_string(@)`, a root `*`:
        // verify29 V1, verify37) holds the resource and the lookups: it
        // may show the resource's data, and a lookup's when the rule
        // makes one. So may what does not parse (a `{{ }}` nested in it).
        let whole = of == Of::Object || self.looks_up_secrets();
        if depth > MAX_DEPTH {
            return true;
        }
        let Some(reads) = reads::jmespath(expression) else {
            return whole;
        };
        let found = reads.paths().any(|path| match path.split_first() {
            // A context entry first: its name may be any, `elementIndexPw`
            // too (verify39 F5: read as the foreach index, it leaked).
            Some((Step::Field(name), _)) if self.entries.contains_key(name.as_str()) => self
                .entries
                .get(name.as_str())
                .into_iter()
                .flatten()
                .any(|entry| self.entry_reads_data(entry, depth + 1, of)),
            Some((Step::Field(name), rest)) => match name.as_str() {
                "request" => of == Of::Object && request_reads_data(rest),
                name if name.starts_with("elementIndex") => false,
                // A foreach element: of the resource, or of a list a
                // lookup returned.
                name if name.starts_with("element") => whole,
                _ => false,
            },
            None | Some((Step::Any, _)) => whole,
        });
        found
    }

    /// Whether some context entry of the rule reads Secrets through an
    /// `apiCall`.
    fn looks_up_secrets(&self) -> bool {
        self.entries
            .values()
            .flatten()
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

/// Whether a CEL expression may show the data, read from its AST
/// ([`reads::cel`]), its `variables.<name>` followed into `variables`. A
/// lookup of Secrets is a `resource.Get` or `resource.List` naming
/// `secrets`, or any other use of `resource` ([`may_look_up_secrets`]).
/// What does not compile is read as showing anything (it is evaluated to
/// an error, never to a text, but that is the evaluator's business).
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
    let Some(ast) = crate::cel::parse_as_written(source) else {
        return true;
    };
    if of == Of::Lookup && may_look_up_secrets(&ast) {
        return true;
    }
    let reads = reads::cel_ast(&ast);
    let found = reads.paths().any(|path| match path.split_first() {
        Some((Step::Field(name), rest)) => match name.as_str() {
            "object" | "oldObject" => of == Of::Object && object_path_reads_data(rest),
            "request" => of == Of::Object && request_reads_data(rest),
            // A GlobalContextEntry may hold any resource (verify30 N3).
            "globalContext" => of == Of::Lookup,
            // Params of `paramKind` Secret are Secrets the scan looked
            // up (verify31 F1).
            "params" => of == Of::Lookup && params_secret,
            "variables" => match rest.first() {
                Some(Step::Field(variable)) => {
                    variables.get(variable.as_str()).is_none_or(|source| {
                        cel_reads_data(source, variables, params_secret, depth + 1, of)
                    })
                }
                _ => true,
            },
            _ => false,
        },
        None | Some((Step::Any, _)) => true,
    });
    found
}

/// Whether a CEL expression may look up Secrets: a call on `resource`
/// (`Get('v1', 'secrets', …)`, `List`, `Post`) whose resource argument is
/// the literal `secrets`, or not a literal (`'secr' + 'ets'` is computed:
/// verify30 N2), or `resource` used any other way.
fn may_look_up_secrets(expr: &IdedExpr) -> bool {
    use kube_cel::cel::common::ast::{EntryExpr, Expr, LiteralValue};
    let is_resource =
        |expr: &IdedExpr| matches!(&expr.expr, Expr::Ident(name) if name == "resource");
    let mut stack = vec![expr];
    while let Some(expr) = stack.pop() {
        match &expr.expr {
            Expr::Ident(name) if name == "resource" => return true,
            Expr::Call(call) => {
                match call.target.as_deref() {
                    Some(target) if is_resource(target) => {
                        let names_other = matches!(call.args.get(1).map(|a| &a.expr),
                                Some(Expr::Literal(LiteralValue::String(resource)))
                                    if !resource.inner().eq_ignore_ascii_case("secrets"));
                        if !names_other {
                            return true;
                        }
                    }
                    Some(target) => stack.push(target),
                    None => {}
                }
                stack.extend(&call.args);
            }
            Expr::Select(select) => stack.push(&select.operand),
            Expr::Comprehension(c) => stack.extend([
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ]),
            Expr::List(list) => stack.extend(&list.elements),
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        stack.extend([&entry.key, &entry.value]);
                    }
                }
            }
            Expr::Struct(structure) => {
                for entry in &structure.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        stack.push(&field.value);
                    }
                }
            }
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    false
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
    // Every key and string of the rule's patterns, a foreach's included.
    let mut pattern_texts = Vec::new();
    for pointer in [
        "/validate/pattern",
        "/validate/anyPattern",
        "/validate/foreach",
    ] {
        if let Some(value) = rule.pointer(pointer) {
            collect_keys_and_strings(value, &mut pattern_texts);
        }
    }
    let pattern = |of: Of| {
        pattern_texts
            .iter()
            .any(|text| scope.template_reads_data(text, 0, of))
    };
    Readers::of_modes(message, properties, pattern, lookup_any)
}

/// Every string and every map key in `value`, at any depth.
fn collect_keys_and_strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) => out.push(text),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (key, item) in map {
                    out.push(key);
                    stack.push(item);
                }
            }
            _ => {}
        }
    }
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
    Readers::of_modes(message, properties, |_| false, lookup_any)
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

    /// On the AST every spelling of a path is that path, and `@` is the
    /// node it stands at, not always the root.
    #[test]
    fn expressions_are_read_from_their_ast() {
        for message in [
            "{{ [request][0].object.data }}",
            "{{ request.{o: object}.o.data }}",
            "{{ request.object | data }}",
            r#"{{ request.object.metadata."annotations" }}"#,
            "{{ values(request)[?data] }}",
            "{{ request.object.metadata.name || request.object.data }}",
        ] {
            assert!(message_reads(message), "{message}");
        }
        for message in [
            "{{ request.userInfo.groups[?contains(@, ':') == `false`] }}",
            "{{ request.userInfo | to_string(@) }}",
            "{{ request.object.metadata.labels | keys(@) }}",
            "{{ request.object.metadata.name | to_upper(@) }}",
        ] {
            assert!(!message_reads(message), "{message}");
        }
        let reading = |source: &str| cel_reads_data(source, &HashMap::new(), false, 0, Of::Object);
        for source in [
            "object[\"d\\x61ta\"]",
            "object[?'data'].orValue({})",
            "object.data.map(k, k).join(',')",
            "[object].map(o, o.data)",
            "object.metadata['annotations']",
            "object['d' + 'ata']",
        ] {
            assert!(reading(source), "{source}");
        }
        for source in [
            "object.metadata.labels.map(k, k + '=' + object.metadata.labels[k])",
            "[object.metadata.name].map(data, data)",
            "object.kind + ' ' + object.metadata.name",
        ] {
            assert!(!reading(source), "{source}");
        }
        // What does not compile shows no text, but is read as showing it.
        assert!(reading("object."));
    }

    /// A lookup's Secrets reach the message through a foreach over them,
    /// and through any call on `resource` naming `secrets` or a computed
    /// resource.
    #[test]
    fn lookups_are_followed_into_foreach_elements_and_every_call() {
        let rule = json!({"name": "r",
            "context": [{"name": "s", "apiCall": {"urlPath": "/api/v1/namespaces/default/secrets"}}],
            "validate": {"foreach": [{"list": "s.items", "deny": {}}],
                "message": "{{ element.data.pw }}"}});
        assert!(kyverno_rule(&rule).lookup_message);
        let lookup = |source: &str| cel_reads_data(source, &HashMap::new(), false, 0, Of::Lookup);
        assert!(lookup("resource.Post('v1', 'secrets', {}).data"));
        assert!(lookup("[resource][0].Get('v1', 'configmaps', 'a', 'b')"));
        assert!(!lookup(
            "resource.Post('authorization.k8s.io/v1', 'subjectaccessreviews', {}).status"
        ));
    }

    /// verify39 F5: a context entry whose name starts like the foreach
    /// index (`elementIndexPw`) is the entry, not the index.
    #[test]
    fn a_context_entry_is_read_whatever_its_name() {
        let rule = json!({"name": "r", "validate": {"foreach": [{"list": "['x']",
            "context": [{"name": "elementIndexPw",
                "variable": {"jmesPath": "reverse(base64_decode(request.object.data.password))"}}],
            "deny": {"conditions": {"any": [{"key": "a", "operator": "Equals", "value": "a",
                "message": "c {{ elementIndexPw }}"}]}}}]}});
        assert!(kyverno_rule(&rule).message);
        assert!(!message_reads("{{ elementIndex }}"));
    }

    /// verify39 F13: a foreach's entry of the same name as the rule's
    /// does not hide the rule's from the reading.
    #[test]
    fn every_definition_of_a_name_is_read() {
        let rule = json!({"name": "r",
            "context": [{"name": "pw", "variable": {"jmesPath": "reverse(base64_decode(request.object.data.password))"}}],
            "validate": {"message": "m {{ pw }}", "foreach": [
                {"list": "['x']", "deny": {}},
                {"list": "['y']", "context": [{"name": "pw", "variable": {"value": "safe"}}], "deny": {}}]}});
        assert!(kyverno_rule(&rule).message);
    }
}
