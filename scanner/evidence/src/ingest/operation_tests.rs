//! Which admission requests a condition holds for. What enters: one CEL
//! expression, or one Kyverno condition (`key`, `operator`, `value`), with
//! the names that stand for the request (context entries, CEL variables
//! reading it: [`request_aliases`]). What leaves: [`Holds`].
//!
//! Why: a scan presents every object as a CREATE with no options and no dry
//! run, as Kyverno's background scan does. Whether a condition reads what
//! else admission carries (`request.operation`, `request.options`,
//! `request.dryRun`, the request whole, an alias) is read from its parsed
//! AST ([`polscan_engine::reads`]): a list of text spellings to catch
//! always missed one (verify29 V15, verify30, verify31 F2, verify37,
//! verify38). One that reads them is then recognised for the operations it
//! holds for only in a few plain forms (`request.operation == 'UPDATE'`,
//! `!= 'DELETE'`, `in [...]`, their negations and `||` of them; a Kyverno
//! condition whose key is `{{ request.operation }}` under an `Equals`/`In`
//! operator, or its value under `Equals`); any other — a ternary, the
//! request passed whole, an alias — is [`Holds::Unknown`], the safe side.
//! Our own reading, as Kyverno has no such question: its admission simply
//! sees each request.

use std::collections::BTreeSet;

use polscan_engine::reads::{self, Step};
use serde_json::Value;

/// The operations of an admission request (Kyverno's `AdmissionOperation`).
pub(crate) const OPERATIONS: [&str; 4] = ["CONNECT", "CREATE", "DELETE", "UPDATE"];

/// The request's fields that are no admission field here: the object and
/// its namespace, which a scan presents as admission does, and what other
/// readings judge (the old object: `policy_info::reads_old_object`; the
/// requester: [`REQUESTER_FIELDS`], which a background policy may not
/// read). Every other — `operation`, `options`, `dryRun`, `uid`, `name`,
/// `kind`, `resource`, `requestKind`, … — the scan leaves out or sets
/// otherwise (verify40 N1: `request.uid`, `request.requestKind` were read
/// as nothing of admission: GO).
const SCAN_FIELDS: [&str; 6] = [
    "object",
    "namespace",
    "oldObject",
    "userInfo",
    "roles",
    "clusterRoles",
];

/// Which of the request's fields a reading looks for.
#[derive(Clone, Copy)]
enum Fields<'f> {
    /// These only.
    Only(&'f [&'f str]),
    /// Any but these.
    AllBut(&'f [&'f str]),
    /// Any but these and those: a list of fields read apart from another.
    AllButBoth(&'f [&'f str], &'f [&'f str]),
}

impl Fields<'_> {
    fn holds(self, field: &str) -> bool {
        match self {
            Fields::Only(fields) => fields.contains(&field),
            Fields::AllBut(fields) => !fields.contains(&field),
            Fields::AllButBoth(these, those) => !these.contains(&field) && !those.contains(&field),
        }
    }
}

/// What a scan gives a CEL policy's `request` as admission would for the
/// object — its `namespace`, `kind` and `resource`
/// (`cel::policies::admission::inputs`) — and the old object, judged
/// apart. Not the requester: a CEL policy may read it whatever its
/// background setting, and the scan has none (verify40 N3:
/// `… || has(request.userInfo)` was GO). Not the `name` either: the scan
/// gives the object's, while a CREATE by `generateName` (every Pod a
/// controller makes) comes to admission with `request.name` empty
/// (verify42 F4: an exception on `request.name.startsWith('web-')` was GO).
const CEL_SCAN_FIELDS: [&str; 5] = ["object", "namespace", "oldObject", "kind", "resource"];

/// The admission fields of a Kyverno text: all but [`SCAN_FIELDS`].
const ADMISSION_FIELDS: Fields<'static> = Fields::AllBut(&SCAN_FIELDS);

/// The admission fields of a CEL expression: all but [`CEL_SCAN_FIELDS`].
const CEL_ADMISSION_FIELDS: Fields<'static> = Fields::AllBut(&CEL_SCAN_FIELDS);

/// What a condition holds for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Holds {
    /// It reads nothing of the request a scan lacks.
    Independent,
    /// Its test of the request holds exactly for these operations (its
    /// other parts aside).
    For(BTreeSet<&'static str>),
    /// It reads them in a way not recognised: any operation.
    Unknown,
}

impl Holds {
    /// Whether it may hold for `operation` other than as it does for the
    /// scan's CREATE: unknown, or a test that holds for one and not the
    /// other.
    pub(crate) fn differs_from_create(&self, operation: &str) -> bool {
        match self {
            Holds::Independent => false,
            Holds::Unknown => true,
            Holds::For(ops) => ops.contains("CREATE") != ops.contains(operation),
        }
    }

    /// The operations besides CREATE it may hold for while it does not for
    /// CREATE, or may hold for differently (all of them when unknown).
    pub(crate) fn admission_only(&self) -> BTreeSet<&'static str> {
        match self {
            Holds::Independent => BTreeSet::new(),
            Holds::Unknown => others(),
            Holds::For(ops) if ops.contains("CREATE") => BTreeSet::new(),
            Holds::For(ops) => ops.clone(),
        }
    }
}

fn others() -> BTreeSet<&'static str> {
    OPERATIONS
        .into_iter()
        .filter(|op| *op != "CREATE")
        .collect()
}

fn complement(ops: &BTreeSet<&'static str>) -> BTreeSet<&'static str> {
    OPERATIONS
        .into_iter()
        .filter(|op| !ops.contains(op))
        .collect()
}

/// The names among `definitions` (`(name, text)`: context entries, CEL
/// variables) whose text reads the request's admission fields or the
/// request whole, followed through one another. `cel`: CEL texts, whose
/// variables are read as `variables.<name>`.
pub(crate) fn request_aliases(definitions: &[(&str, String)], cel: bool) -> BTreeSet<String> {
    aliases_by(definitions, |text, aliases| {
        reads_request(text, aliases, cel)
    })
}

/// The names among `definitions` whose text `reads` (given the aliases
/// found so far), followed through one another to a fixed point.
fn aliases_by(
    definitions: &[(&str, String)],
    reads: impl Fn(&str, &BTreeSet<String>) -> bool,
) -> BTreeSet<String> {
    let mut aliases = BTreeSet::new();
    // Each round adds at least one name, or ends.
    loop {
        let before = aliases.len();
        for (name, text) in definitions {
            if !aliases.contains(*name) && reads(text, &aliases) {
                aliases.insert(name.to_string());
            }
        }
        if aliases.len() == before {
            return aliases;
        }
    }
}

/// The request's fields naming the requester, which a scan never has.
pub(crate) const REQUESTER_FIELDS: [&str; 3] = ["userInfo", "roles", "clusterRoles"];

/// Kyverno's variables naming the requester's service account
/// (`{{ serviceAccountName }}`, `{{ serviceAccountNamespace }}`).
const REQUESTER_VARIABLES: [&str; 2] = ["serviceAccountName", "serviceAccountNamespace"];

/// Whether `text` reads what a scan lacks of the request: its admission
/// fields, the request whole (`lookup(request, …)`, `request.*`, a
/// computed index), or a name in `aliases`.
pub(crate) fn reads_request(text: &str, aliases: &BTreeSet<String>, cel: bool) -> bool {
    let fields = if cel {
        CEL_ADMISSION_FIELDS
    } else {
        ADMISSION_FIELDS
    };
    reads_request_fields(text, aliases, cel, fields)
}

/// [`reads_request`] for the request's `fields`, read from the
/// expression's AST ([`reads`]): a path under `request` that is one of
/// `fields` or may be (the request whole, `request.*`, a computed key),
/// the context root whole (`@`, a root `*`), or an alias (CEL:
/// `variables.<alias>`, or the variables whole when there is one). What
/// does not parse is read as reading the request.
fn reads_request_fields(
    text: &str,
    aliases: &BTreeSet<String>,
    cel: bool,
    fields: Fields<'_>,
) -> bool {
    let read = if cel {
        reads::cel(text)
    } else {
        reads::jmespath(text)
    };
    let Some(read) = read else {
        return true;
    };
    // A nested template's stand-in may be any name (verify39 F17:
    // `request."{{ t }}"` with `t` = `operation`).
    let field_may_be = |field: &str| field == SUBSTITUTED || fields.holds(field);
    let found = read.paths().any(|path| match path.split_first() {
        None | Some((Step::Any, _)) => true,
        Some((Step::Field(name), _)) if name == SUBSTITUTED => true,
        Some((Step::Field(name), rest)) if name == "request" => match rest.first() {
            Some(Step::Field(field)) => field_may_be(field),
            _ => true,
        },
        Some((Step::Field(name), rest)) if cel => {
            name == "variables"
                && match rest.first() {
                    Some(Step::Field(variable)) => aliases.contains(variable),
                    _ => !aliases.is_empty(),
                }
        }
        Some((Step::Field(name), _)) => aliases.contains(name),
    });
    found
}

/// The byte offsets of each quoted literal's opening and closing quote in
/// a CEL or JMESPath text (`'…'`, `"…"`, `` `…` ``, backslash escapes
/// skipped); an unclosed one runs to the end.
pub(crate) fn quoted_literals(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut open: Option<(usize, char)> = None;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match open {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some((start, quote)) if c == quote => {
                spans.push((start, at));
                open = None;
            }
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => open = Some((at, c)),
            None => {}
        }
    }
    if let Some((start, _)) = open {
        spans.push((start, text.len()));
    }
    spans
}

/// What a CEL expression (a precondition, a match condition) holds for.
pub(crate) fn cel_holds(text: &str, aliases: &BTreeSet<String>) -> Holds {
    if !reads_request(text, aliases, true) {
        return Holds::Independent;
    }
    let compact = compact(text);
    let mut holds: Option<BTreeSet<&'static str>> = None;
    for conjunct in split_top(strip_parens(&compact), "&&") {
        // A part that tests something else only narrows the condition.
        if !reads_request(conjunct, aliases, true) {
            continue;
        }
        let Some(ops) = disjunction(conjunct, aliases) else {
            return Holds::Unknown;
        };
        holds = Some(match holds {
            Some(so_far) => so_far.intersection(&ops).copied().collect(),
            None => ops,
        });
    }
    holds.map_or(Holds::Unknown, Holds::For)
}

/// Whether a CEL expression that must hold (a Kyverno `celPreconditions`
/// entry, a webhook `matchConditions` entry) can never hold for
/// `operation`: one of its `&&` parts is a test of the operation, or an
/// `||` of such tests only, that excludes it. Stricter than [`cel_holds`],
/// which sets aside a part reading nothing of the request: in `op !=
/// 'DELETE' || object.x` that part may hold on a DELETE.
pub(crate) fn cel_excludes(text: &str, operation: &str) -> bool {
    let compact = compact(text);
    split_top(strip_parens(&compact), "&&")
        .into_iter()
        .any(|conjunct| {
            let mut ops = BTreeSet::new();
            for part in split_top(strip_parens(conjunct), "||") {
                match operation_test(part) {
                    Some(holds) => ops.extend(holds),
                    None => return false,
                }
            }
            !ops.contains(operation)
        })
}

/// Whether a Kyverno conditions block (`preconditions`, deny `conditions`,
/// `any`/`all` or the older list) can never hold for `operation`: a test
/// of the operation excluding it is one of its `all` (or list) members, or
/// every one of its `any` members (Kyverno joins `any` as an or, `all` as
/// an and, and the two parts as an and: pkg/engine/variables/evaluate.go).
pub(crate) fn kyverno_block_excludes(
    block: &Value,
    aliases: &BTreeSet<String>,
    operation: &str,
) -> bool {
    let excludes = |item: &Value| kyverno_block_excludes(item, aliases, operation);
    match block {
        Value::Array(items) => items.iter().any(excludes),
        Value::Object(map) if map.contains_key("key") || map.contains_key("operator") => {
            matches!(kyverno_condition_holds(block, aliases), Holds::For(ops) if !ops.contains(operation))
        }
        Value::Object(map) => {
            let any = map
                .get("any")
                .and_then(Value::as_array)
                .is_some_and(|items| !items.is_empty() && items.iter().all(excludes));
            any || map.get("all").is_some_and(excludes)
        }
        _ => false,
    }
}

/// `a || b || …` of recognised tests: the union of what each holds for.
/// A part that reads nothing of the request holds for every operation
/// alike: true, the whole holds for all; false, for what the others hold
/// for. Either way it makes no operation differ from CREATE, so it adds
/// nothing (as a Kyverno `any` member reading nothing of it: [`combine`]).
/// None when a part is no recognised test, or none reads the request.
fn disjunction(text: &str, aliases: &BTreeSet<String>) -> Option<BTreeSet<&'static str>> {
    let mut ops = BTreeSet::new();
    let mut tested = false;
    for part in split_top(strip_parens(text), "||") {
        if !reads_request(part, aliases, true) {
            continue;
        }
        tested = true;
        ops.extend(operation_test(part)?);
    }
    tested.then_some(ops)
}

/// One test of the operation: `OP == 'X'`, `'X' == OP`, `!=`, `OP in
/// [...]`, a negation of one.
fn operation_test(text: &str) -> Option<BTreeSet<&'static str>> {
    let text = strip_parens(text);
    if let Some(inner) = text.strip_prefix('!') {
        let inner = inner.strip_prefix('(')?.strip_suffix(')')?;
        // `!(a) || (b)` is no negation of one whole.
        if !balanced(inner) {
            return None;
        }
        return operation_test(inner).map(|ops| complement(&ops));
    }
    const OPERATION: [&str; 2] = ["request.operation", "request['operation']"];
    let named = |literal: &str| -> BTreeSet<&'static str> {
        OPERATIONS.into_iter().filter(|op| *op == literal).collect()
    };
    for operation in OPERATION {
        for (operator, negated) in [("==", false), ("!=", true)] {
            let literal = text
                .strip_prefix(operation)
                .and_then(|rest| rest.strip_prefix(operator))
                .or_else(|| {
                    text.strip_suffix(operation)
                        .and_then(|rest| rest.strip_suffix(operator))
                })
                .and_then(single_literal);
            if let Some(literal) = literal {
                let ops = named(literal);
                return Some(if negated { complement(&ops) } else { ops });
            }
        }
        if let Some(list) = text
            .strip_prefix(operation)
            .and_then(|rest| rest.strip_prefix(" in["))
            .and_then(|rest| rest.strip_suffix(']'))
        {
            let mut ops = BTreeSet::new();
            for item in list.split(',') {
                ops.extend(named(single_literal(item)?));
            }
            return Some(ops);
        }
    }
    None
}

/// The content of `text` when it is exactly one quoted literal.
fn single_literal(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.contains('\'') && !inner.contains('\\')).then_some(inner)
}

/// `text` without whitespace outside literals (one space kept between two
/// words: `operation in`), `"` quotes as `'`.
fn compact(text: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut spaced = false;
    for c in text.chars() {
        match quote {
            Some(open) if c == open => {
                quote = None;
                out.push('\'');
            }
            Some(_) => out.push(c),
            None if c.is_whitespace() => spaced = true,
            None => {
                if spaced && word(c) && out.chars().next_back().is_some_and(word) {
                    out.push(' ');
                }
                spaced = false;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    out.push('\'');
                } else {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Whether the brackets of `text` (outside literals) pair up, never
/// closing below zero.
fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    let mut quote = false;
    for c in text.chars() {
        match c {
            '\'' => quote = !quote,
            '(' | '[' | '{' if !quote => depth += 1,
            ')' | ']' | '}' if !quote => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && !quote
}

/// `text` without parentheses around the whole of it.
fn strip_parens(mut text: &str) -> &str {
    while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        if !balanced(inner) {
            break;
        }
        text = inner;
    }
    text
}

/// `text` split at `separator` where no bracket or literal is open.
fn split_top<'t>(text: &'t str, separator: &str) -> Vec<&'t str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote = false;
    let mut from = 0;
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let Some(c) = rest.chars().next() else { break };
        match c {
            '\'' => quote = !quote,
            '(' | '[' | '{' if !quote => depth += 1,
            ')' | ']' | '}' if !quote => depth -= 1,
            _ if !quote && depth == 0 && rest.starts_with(separator) => {
                parts.push(&text[from..at]);
                at += separator.len();
                from = at;
                continue;
            }
            _ => {}
        }
        at += c.len_utf8();
    }
    parts.push(&text[from..]);
    parts
}

/// What stands for a nested `{{ … }}`'s value in the text around it: read
/// as any name ([`reads_request_fields`]).
const SUBSTITUTED: &str = "polscan_substituted";

/// The JMESPath inside each `{{ … }}` of a Kyverno text, innermost first
/// as Kyverno substitutes them (pkg/engine/variables: the variable regex
/// takes no `{{` inside): `{{ d."{{ request.namespace }}" }}` is
/// `request.namespace`, then `d."…"` with a stand-in for the inner value
/// (`0` in a JSON literal, a name elsewhere). A `{{-` (substituted once)
/// is read as `{{`; an unclosed one runs to the end, where it does not
/// parse.
fn templates(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut text = text.to_string();
    // Each turn replaces one `{{ … }}`.
    while let Some(first) = text.find("{{") {
        let Some(length) = text[first + 2..].find("}}") else {
            found.push(text[first + 2..].to_string());
            break;
        };
        let close = first + 2 + length;
        // The innermost: the last `{{` before that `}}`.
        let open = text[..close].rfind("{{").unwrap_or(first);
        let inner = text[open + 2..close].trim();
        found.push(inner.strip_prefix('-').unwrap_or(inner).trim().to_string());
        let in_json = text[..open].trim_end().ends_with('`');
        let stand_in = if in_json { "0" } else { SUBSTITUTED };
        text.replace_range(open..close + 2, stand_in);
    }
    found
}

/// Whether a Kyverno text (a condition's key or value, a context entry's
/// value) reads what a scan lacks of the request in its `{{ … }}`.
pub(crate) fn template_reads_request(text: &str, aliases: &BTreeSet<String>) -> bool {
    template_reads_fields(text, aliases, ADMISSION_FIELDS)
}

/// [`template_reads_request`] for the request's `fields`.
fn template_reads_fields(text: &str, aliases: &BTreeSet<String>, fields: Fields<'_>) -> bool {
    templates(text)
        .iter()
        .any(|inner| reads_request_fields(inner, aliases, false, fields))
}

/// Whether a PolicyException's `conditions` (Kyverno templates, with its
/// `context` entries) or `matchConditions` (CEL) read the requester:
/// `request.userInfo` in any spelling the reader knows, the request whole,
/// `serviceAccountName`/`serviceAccountNamespace`, or a context entry
/// holding one of them (verify32 G4). A scan has no requester.
pub(crate) fn reads_requester(
    conditions: Option<&Value>,
    match_conditions: Option<&Value>,
    context: &[Value],
) -> bool {
    let definitions = context_definitions(context);
    let seeds: BTreeSet<String> = REQUESTER_VARIABLES.iter().map(|v| v.to_string()).collect();
    let aliases = aliases_by(&definitions, |text, found| {
        let known: BTreeSet<String> = found.union(&seeds).cloned().collect();
        template_reads_fields(text, &known, Fields::Only(&REQUESTER_FIELDS))
    });
    let aliases: BTreeSet<String> = aliases.union(&seeds).cloned().collect();
    let mut texts = Vec::new();
    if let Some(conditions) = conditions {
        string_leaves(conditions, &mut texts);
    }
    let templated = texts
        .iter()
        .any(|text| template_reads_fields(text, &aliases, Fields::Only(&REQUESTER_FIELDS)));
    let expressions = match_conditions
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|condition| condition.get("expression")?.as_str());
    templated
        || expressions.into_iter().any(|text| {
            reads_request_fields(
                text,
                &BTreeSet::new(),
                true,
                Fields::Only(&REQUESTER_FIELDS),
            )
        })
}

/// What a Kyverno text may read of the request besides what a scan
/// presents as admission does, the operation (read apart:
/// [`kyverno_block_holds`]) and the requester ([`REQUESTER_FIELDS`]):
/// `options`, `dryRun`, `uid`, `name` (empty on a CREATE by
/// `generateName`), `kind`, `subResource`, ….
const OTHER_ADMISSION_FIELDS: Fields<'static> = Fields::AllButBoth(&SCAN_FIELDS, &["operation"]);

/// [`OTHER_ADMISSION_FIELDS`] of a CEL expression ([`CEL_SCAN_FIELDS`]; the
/// requester is read apart, [`REQUESTER_FIELDS`]).
const CEL_OTHER_ADMISSION_FIELDS: Fields<'static> =
    Fields::AllButBoth(&CEL_SCAN_FIELDS, &["operation", "userInfo"]);

/// Whether a Kyverno rule reads the requester ([`REQUESTER_FIELDS`],
/// Kyverno's `serviceAccountName`/`serviceAccountNamespace`) anywhere it
/// decides a result: [`rule_reads`].
pub(crate) fn rule_reads_requester(rule: &Value) -> bool {
    rule_reads(
        rule,
        Fields::Only(&REQUESTER_FIELDS),
        Fields::Only(&["userInfo"]),
        &REQUESTER_VARIABLES,
    )
}

/// Whether a Kyverno rule reads an admission field of the request a scan
/// leaves out or sets otherwise ([`OTHER_ADMISSION_FIELDS`]; verify44 I:
/// `request.options.fieldManager`, `request.dryRun` in a CREATE-only rule
/// were GO): [`rule_reads`].
pub(crate) fn rule_reads_other_admission_fields(rule: &Value) -> bool {
    rule_reads(
        rule,
        OTHER_ADMISSION_FIELDS,
        CEL_OTHER_ADMISSION_FIELDS,
        &[],
    )
}

/// Whether a Kyverno rule reads the request's `fields` (`cel_fields` in
/// CEL) where it decides a result: its templates (all its text but its
/// name and messages), the raw JMESPath of its context entries and of its
/// foreach lists — foreach context entries too, at any depth —, and its
/// CEL (`validate.cel`'s expressions and variables, `celPreconditions`).
/// A context entry (`seeds` among them) reading them counts wherever a
/// text reads it. Kyverno's background check reads only template spellings
/// it knows (pkg/validation/policy/background.go); admission runs every
/// one of these (validate_resource.go, validate_cel.go; verify44 A, H).
fn rule_reads(rule: &Value, fields: Fields<'_>, cel_fields: Fields<'_>, seeds: &[&str]) -> bool {
    let validate = rule.get("validate");
    let foreach = validate.map(foreach_entries).unwrap_or_default();
    let contexts = rule
        .get("context")
        .into_iter()
        .chain(foreach.iter().filter_map(|each| each.get("context")))
        .filter_map(Value::as_array)
        .flatten();
    let definitions = context_definitions(contexts);
    let seeds: BTreeSet<String> = seeds.iter().map(|v| v.to_string()).collect();
    let aliases = aliases_by(&definitions, |text, found| {
        let known: BTreeSet<String> = found.union(&seeds).cloned().collect();
        template_reads_fields(text, &known, fields)
    });
    let aliases: BTreeSet<String> = aliases.union(&seeds).cloned().collect();
    // Foreach lists are JMESPath queries (templates inside them too).
    let lists = foreach
        .iter()
        .filter_map(|each| each.get("list").and_then(Value::as_str))
        .any(|list| {
            template_reads_fields(list, &aliases, fields)
                || reads_request_fields(list, &aliases, false, fields)
        });
    // CEL: validate.cel's variables are read as `variables.<name>`.
    let cel = validate.and_then(|v| v.get("cel"));
    let cel_definitions = cel_variable_definitions(cel);
    let cel_aliases = aliases_by(&cel_definitions, |text, found| {
        reads_request_fields(text, found, true, cel_fields)
    });
    let cel_reads = cel
        .and_then(|c| c.get("expressions"))
        .into_iter()
        .chain(rule.get("celPreconditions"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|item| item.get("expression").and_then(Value::as_str))
        .chain(cel_definitions.iter().map(|(_, text)| text.as_str()))
        .any(|text| reads_request_fields(text, &cel_aliases, true, cel_fields));
    // Every other text, as templates.
    let mut read = rule.clone();
    if let Some(map) = read.as_object_mut() {
        map.remove("name");
        map.remove("context");
        map.remove("celPreconditions");
        if let Some(validate) = map.get_mut("validate") {
            strip_read_apart(validate);
        }
    }
    let mut texts = Vec::new();
    string_leaves(&read, &mut texts);
    lists
        || cel_reads
        || texts
            .iter()
            .any(|text| template_reads_fields(text, &aliases, fields))
}

/// What a CEL policy's (ValidatingPolicy, ValidatingAdmissionPolicy)
/// expressions that decide a result — `matchConditions`, `variables`,
/// `validations` — read of the request beyond a scan's: the requester
/// (`request.userInfo`), and the other admission fields
/// ([`CEL_OTHER_ADMISSION_FIELDS`]); a variable reading them counts
/// wherever `variables.<name>` is read (verify44 A, I: a validation on
/// `request.userInfo` or `request.dryRun` was GO).
pub(crate) fn cel_policy_reads(spec: &Value) -> (bool, bool) {
    let expressions = |list: &str| -> Vec<String> {
        spec.get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("expression").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    };
    let definitions = cel_variable_definitions(Some(spec));
    let texts: Vec<String> = ["matchConditions", "variables", "validations"]
        .into_iter()
        .flat_map(expressions)
        .collect();
    let reads = |fields: Fields<'_>| {
        let aliases = aliases_by(&definitions, |text, found| {
            reads_request_fields(text, found, true, fields)
        });
        texts
            .iter()
            .any(|text| reads_request_fields(text, &aliases, true, fields))
    };
    // `authorizer` is the requester's authorization (k8s.io/apiserver
    // pkg/cel/library/authz.go, bound to the request's user; Kyverno
    // compiles CEL policies with it): a scan has no requester (verify46
    // F2: a matchCondition on `authorizer…allowed()` skipped under
    // failurePolicy Ignore, and the skip read as clean).
    let authorizer_aliases = aliases_by(&definitions, reads_authorizer);
    let authorizer = texts
        .iter()
        .any(|text| reads_authorizer(text, &authorizer_aliases));
    (
        authorizer || reads(Fields::Only(&["userInfo"])),
        reads(CEL_OTHER_ADMISSION_FIELDS),
    )
}

/// Whether a CEL text reads `authorizer` (the requester's authorization),
/// directly or through one of `aliases` (`variables.<name>`); a text that
/// does not parse is read as doing so.
fn reads_authorizer(text: &str, aliases: &BTreeSet<String>) -> bool {
    let Some(read) = reads::cel(text) else {
        return true;
    };
    let found = read.paths().any(|path| match path.split_first() {
        None | Some((Step::Any, _)) => true,
        Some((Step::Field(name), _)) if name == "authorizer" => true,
        Some((Step::Field(name), rest)) if name == "variables" => match rest.first() {
            Some(Step::Field(variable)) => aliases.contains(variable),
            _ => !aliases.is_empty(),
        },
        Some(_) => false,
    });
    found
}

/// The CEL `variables` of `holder` (a CEL policy's spec, a `validate.cel`
/// block) as `(name, expression)`.
pub(crate) fn cel_variable_definitions(holder: Option<&Value>) -> Vec<(&str, String)> {
    holder
        .and_then(|h| h.get("variables"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some((
                v.get("name")?.as_str()?,
                v.get("expression")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The foreach entries of `validate`, nested ones too.
fn foreach_entries(validate: &Value) -> Vec<&Value> {
    let mut found = Vec::new();
    let mut next: Vec<&Value> = vec![validate];
    while let Some(value) = next.pop() {
        for each in value
            .get("foreach")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            found.push(each);
            next.push(each);
        }
    }
    found
}

/// `validate` (or a foreach entry) without what [`rule_reads`] reads
/// apart or not at all: messages, `cel`, foreach lists and contexts.
fn strip_read_apart(value: &mut Value) {
    without_keys(value, &["message", "cel", "list", "context"]);
}

/// `validate` (or a foreach entry) without `keys`, in its foreach entries
/// too, nested ones included.
pub(crate) fn without_keys(value: &mut Value, keys: &[&str]) {
    if let Some(map) = value.as_object_mut() {
        for key in keys {
            map.remove(*key);
        }
        for each in map
            .get_mut("foreach")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            without_keys(each, keys);
        }
    }
}

/// Every string under `value`.
fn string_leaves<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(text) => out.push(text),
        Value::Array(items) => items.iter().for_each(|item| string_leaves(item, out)),
        Value::Object(fields) => fields.values().for_each(|item| string_leaves(item, out)),
        _ => {}
    }
}

/// What a Kyverno conditions block holds for: a condition's own reading,
/// an `any` list's the union of its members', an `all` list's (and the
/// older plain list's) their intersection, a block with both their
/// intersection (verify32 G3: `any` of `Equals CREATE` and `Equals
/// UPDATE` holds for both). A member that reads nothing of the request
/// only narrows or widens what holds for every operation alike.
pub(crate) fn kyverno_block_holds(block: &Value, aliases: &BTreeSet<String>) -> Holds {
    match block {
        Value::Array(items) => items
            .iter()
            .map(|item| kyverno_block_holds(item, aliases))
            .fold(Holds::Independent, |a, b| combine(a, b, false)),
        Value::Object(map) if map.contains_key("key") || map.contains_key("operator") => {
            kyverno_condition_holds(block, aliases)
        }
        Value::Object(map) => {
            let any = map.get("any").and_then(Value::as_array).map(|items| {
                items
                    .iter()
                    .map(|item| kyverno_block_holds(item, aliases))
                    .fold(Holds::Independent, |a, b| combine(a, b, true))
            });
            let all = map
                .get("all")
                .map(|items| kyverno_block_holds(items, aliases));
            [any, all]
                .into_iter()
                .flatten()
                .fold(Holds::Independent, |a, b| combine(a, b, false))
        }
        _ => Holds::Independent,
    }
}

/// Two readings joined by `or` (`union`) or `and`.
fn combine(a: Holds, b: Holds, union: bool) -> Holds {
    match (a, b) {
        (Holds::Unknown, _) | (_, Holds::Unknown) => Holds::Unknown,
        (Holds::Independent, other) | (other, Holds::Independent) => other,
        (Holds::For(a), Holds::For(b)) => Holds::For(if union {
            a.union(&b).copied().collect()
        } else {
            a.intersection(&b).copied().collect()
        }),
    }
}

/// What one Kyverno condition (`key`, `operator`, `value`) holds for.
/// Kyverno's `Equals` and `In` families match the value as a wildcard
/// pattern (pkg/engine/variables/operator).
pub(crate) fn kyverno_condition_holds(condition: &Value, aliases: &BTreeSet<String>) -> Holds {
    let text_of = |value: Option<&Value>| -> Vec<String> {
        match value {
            Some(Value::String(text)) => vec![text.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(other) => vec![other.to_string()],
            None => Vec::new(),
        }
    };
    let keys = text_of(condition.get("key"));
    let mut values = text_of(condition.get("value"));
    // A string holding a JSON array is that array to the In family, as
    // Kyverno's operators decode it (verify39 F11: `'["UPDATE"]'` read as
    // one pattern matching no operation).
    let in_family = condition
        .get("operator")
        .and_then(Value::as_str)
        .is_some_and(|operator| operator.contains("In"));
    if let (true, Some(Value::String(text))) = (in_family, condition.get("value")) {
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) {
            values = text_of(Some(&Value::Array(items)));
        }
    }
    let reads = keys
        .iter()
        .chain(&values)
        .any(|text| template_reads_request(text, aliases));
    if !reads {
        return Holds::Independent;
    }
    // `request.operation || 'BACKGROUND'` (the library's idiom): the
    // operation is always set, in a scan (CREATE) as at admission.
    let is_operation = |text: &str| {
        let compact = compact(text);
        compact == "{{request.operation}}"
            || compact
                .strip_prefix("{{request.operation||")
                .and_then(|rest| rest.strip_suffix("}}"))
                .is_some_and(|fallback| {
                    single_literal(fallback).is_some()
                        || fallback.len() > 1
                            && fallback.starts_with('`')
                            && fallback.ends_with('`')
                            && !fallback[1..fallback.len() - 1].contains('`')
                })
    };
    fn literal(text: &str) -> Option<&str> {
        (!text.contains("{{")).then_some(text)
    }
    let operator = condition
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or("");
    let equals = matches!(operator, "Equals" | "Equal" | "In" | "AnyIn" | "AllIn");
    let not_equals = matches!(
        operator,
        "NotEquals" | "NotEqual" | "NotIn" | "AnyNotIn" | "AllNotIn"
    );
    let matched: Option<BTreeSet<&'static str>> = match (keys.as_slice(), values.as_slice()) {
        // `{{ request.operation }}` against literal patterns.
        ([key], patterns) if is_operation(key) && !patterns.is_empty() => patterns
            .iter()
            .map(String::as_str)
            .map(literal)
            .collect::<Option<Vec<&str>>>()
            .map(|patterns| {
                OPERATIONS
                    .into_iter()
                    .filter(|op| patterns.iter().any(|p| wildmatch(p, op)))
                    .collect()
            }),
        // A literal key against `{{ request.operation }}` (`Equals` only:
        // the value is then the one pattern).
        ([key], [value]) if is_operation(value) && matches!(operator, "Equals" | "NotEquals") => {
            literal(key).map(|key| OPERATIONS.into_iter().filter(|op| *op == key).collect())
        }
        _ => None,
    };
    match matched {
        Some(ops) if equals => Holds::For(ops),
        Some(ops) if not_equals => Holds::For(complement(&ops)),
        _ => Holds::Unknown,
    }
}

/// Kyverno's wildcard match (`*` any run, `?` one character).
fn wildmatch(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative glob match with one backtrack point.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    pi = star_p + 1;
                    ti = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The aliases of a Kyverno rule's (or exception's) `context` entries:
/// those whose `variable` or `apiCall` reads the request's admission
/// fields or the request whole.
pub(crate) fn context_aliases<'v>(
    entries: impl IntoIterator<Item = &'v Value>,
) -> BTreeSet<String> {
    aliases_by(&context_definitions(entries), template_reads_request)
}

/// Each context entry's name and the text it is read from: every string
/// of the entry (a `variable`'s value and default, an `apiCall`'s path and
/// data, a `configMap`'s or `imageRegistry`'s templated name — verify39
/// F6: `ops-{{ to_lower(request.operation) }}` was not read), each on a
/// line of its own; a `jmesPath` is JMESPath without braces: read as one.
fn context_definitions<'v>(entries: impl IntoIterator<Item = &'v Value>) -> Vec<(&'v str, String)> {
    entries
        .into_iter()
        .filter_map(|entry| {
            let name = entry.get("name")?.as_str()?;
            let mut texts = Vec::new();
            for (key, value) in entry.as_object()? {
                if key != "name" {
                    string_leaves(value, &mut texts);
                }
            }
            let mut text = texts.join("\n");
            if let Some(path) = entry.pointer("/variable/jmesPath").and_then(Value::as_str) {
                text.push_str(&format!("\n{{{{{path}}}}}"));
            }
            Some((name, text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(ops: &[&'static str]) -> Holds {
        Holds::For(ops.iter().copied().collect())
    }

    #[test]
    fn cel_tests_of_the_operation_are_read_or_unknown() {
        let none = BTreeSet::new();
        for (text, expected) in [
            ("request.operation == 'CREATE'", set(&["CREATE"])),
            (
                "'CREATE' != request.operation",
                set(&["CONNECT", "DELETE", "UPDATE"]),
            ),
            (
                "request.operation != 'DELETE'",
                set(&["CONNECT", "CREATE", "UPDATE"]),
            ),
            (
                "!(request.operation == 'DELETE')",
                set(&["CONNECT", "CREATE", "UPDATE"]),
            ),
            ("request[\"operation\"] == \"UPDATE\"", set(&["UPDATE"])),
            (
                "request.operation in ['CREATE', 'UPDATE']",
                set(&["CREATE", "UPDATE"]),
            ),
            (
                "!(request.operation in ['CREATE'])",
                set(&["CONNECT", "DELETE", "UPDATE"]),
            ),
            (
                "request.operation == 'CREATE' || request.operation == 'UPDATE'",
                set(&["CREATE", "UPDATE"]),
            ),
            (
                "request.operation != 'CREATE' && object.metadata.name == 'x'",
                set(&["CONNECT", "DELETE", "UPDATE"]),
            ),
            (
                "(request.operation == 'UPDATE') && has(object.spec)",
                set(&["UPDATE"]),
            ),
            ("object.metadata.name == 'operation'", Holds::Independent),
            ("request.object.metadata.name == 'x'", Holds::Independent),
            ("request.namespace == 'x'", Holds::Independent),
            // verify31 F2: forms no list of spellings caught.
            (
                "request.operation == 'CREATE' ? false : true",
                Holds::Unknown,
            ),
            ("request.?operation.orValue('') != 'CREATE'", Holds::Unknown),
            (
                "request.operation.lowerAscii().upperAscii() != 'CREATE'",
                Holds::Unknown,
            ),
            ("request.operation.startsWith('UP')", Holds::Unknown),
            // A part reading nothing of the request makes no operation
            // differ (walk34/note: a false NO-GO on a CREATE/UPDATE match).
            (
                "request.operation == 'UPDATE' || object.x == 1",
                set(&["UPDATE"]),
            ),
            (
                "object.x == 1 || request.operation == 'DELETE' || (has(object.y))",
                set(&["DELETE"]),
            ),
            (
                "request.operation == 'DELETE' || request.dryRun",
                Holds::Unknown,
            ),
            (
                "has(request.options) && request.options.kind == 'UpdateOptions'",
                Holds::Unknown,
            ),
            ("request.dryRun == true", Holds::Unknown),
            ("[request][0].operation != 'CREATE'", Holds::Unknown),
            // Not a negation of the whole: `x` reads nothing of it.
            (
                "!(request.operation == 'UPDATE') || x",
                set(&["CONNECT", "CREATE", "DELETE"]),
            ),
        ] {
            assert_eq!(cel_holds(text, &none), expected, "{text}");
        }
        let aliases = request_aliases(
            &[
                ("r", "request".to_string()),
                ("op", "variables.r.operation".to_string()),
                ("ns", "request.namespace".to_string()),
            ],
            true,
        );
        assert_eq!(aliases, BTreeSet::from(["op".to_string(), "r".to_string()]));
        assert_eq!(
            cel_holds("variables.op != 'CREATE'", &aliases),
            Holds::Unknown
        );
        assert_eq!(
            cel_holds("variables.ns != 'a'", &aliases),
            Holds::Independent
        );
    }

    #[test]
    fn kyverno_conditions_on_the_operation_are_read_or_unknown() {
        let none = BTreeSet::new();
        let holds = |key: Value, operator: &str, value: Value| {
            kyverno_condition_holds(
                &json!({"key": key, "operator": operator, "value": value}),
                &none,
            )
        };
        assert_eq!(
            holds(
                json!("{{ request.operation }}"),
                "NotEquals",
                json!("CREATE")
            ),
            set(&["CONNECT", "DELETE", "UPDATE"])
        );
        assert_eq!(
            holds(
                json!("{{request.operation}}"),
                "AnyIn",
                json!(["CREATE", "UPD*"])
            ),
            set(&["CREATE", "UPDATE"])
        );
        assert_eq!(
            holds(
                json!("{{ request.operation || 'BACKGROUND' }}"),
                "AnyIn",
                json!(["CREATE", "UPDATE", "BACKGROUND"])
            ),
            set(&["CREATE", "UPDATE"])
        );
        assert_eq!(
            holds(
                json!("CREATE"),
                "NotEquals",
                json!("{{ request.operation }}")
            ),
            set(&["CONNECT", "DELETE", "UPDATE"])
        );
        assert_eq!(
            holds(
                json!("{{ request.object.metadata.name }}"),
                "Equals",
                json!("x")
            ),
            Holds::Independent
        );
        // verify31: quoted, looked up, turned into a boolean, transformed.
        for key in [
            "{{ request.\"operation\" }}",
            "{{ lookup(request, 'operation') }}",
            "{{ request.operation == 'UPDATE' }}",
            "{{ to_lower(request.operation) }}",
            "{{ starts_with(request.operation, 'UP') }}",
            "{{ request.[operation] | [0] }}",
            "{{ request.options.kind || '' }}",
            "{{ request.dryRun }}",
        ] {
            assert_eq!(
                holds(json!(key), "Equals", json!("x")),
                Holds::Unknown,
                "{key}"
            );
        }
        let aliases = context_aliases(
            json!([
                {"name": "op", "variable": {"jmesPath": "request.operation"}},
                {"name": "r", "variable": {"value": "{{ request }}"}},
                {"name": "n", "variable": {"jmesPath": "request.object.metadata.name"}}
            ])
            .as_array()
            .into_iter()
            .flatten(),
        );
        assert_eq!(aliases, BTreeSet::from(["op".to_string(), "r".to_string()]));
        let condition = json!({"key": "{{ op }}", "operator": "NotEquals", "value": "CREATE"});
        assert_eq!(
            kyverno_condition_holds(&condition, &aliases),
            Holds::Unknown
        );
        let condition = json!({"key": "{{ n }}", "operator": "NotEquals", "value": "op"});
        assert_eq!(
            kyverno_condition_holds(&condition, &aliases),
            Holds::Independent
        );
        // verify32 G1: the current node's request, the whole context.
        for key in [
            "{{ @.request.operation }}",
            "{{ @ }}",
            "{{ @.request.options.kind || '' }}",
        ] {
            assert_eq!(
                holds(json!(key), "Equals", json!("x")),
                Holds::Unknown,
                "{key}"
            );
        }
        assert_eq!(
            holds(
                json!("{{ request.object.spec.containers[?contains(@.image, 'x')] | length(@) }}"),
                "Equals",
                json!(0)
            ),
            Holds::Independent
        );
        let aliases = context_aliases(
            json!([{"name": "all", "variable": {"jmesPath": "@"}}])
                .as_array()
                .into_iter()
                .flatten(),
        );
        assert_eq!(aliases, BTreeSet::from(["all".to_string()]));
    }

    #[test]
    fn conditions_blocks_combine_any_as_or_and_all_as_and() {
        let none = BTreeSet::new();
        let on = |op: &str, value: &str| json!({"key": "{{ request.operation }}", "operator": op, "value": value});
        let name = json!({"key": "{{ request.object.metadata.name }}", "operator": "Equals", "value": "x"});
        let block = |value: Value| kyverno_block_holds(&value, &none);
        assert_eq!(
            block(json!({"any": [on("Equals", "CREATE"), on("Equals", "UPDATE")]})),
            set(&["CREATE", "UPDATE"])
        );
        assert_eq!(
            block(json!({"all": [on("NotEquals", "DELETE"), on("NotEquals", "CONNECT")]})),
            set(&["CREATE", "UPDATE"])
        );
        assert_eq!(
            block(json!({"any": [on("Equals", "UPDATE"), name.clone()]})),
            set(&["UPDATE"])
        );
        assert_eq!(
            block(json!({"any": [on("Equals", "CREATE")], "all": [on("NotEquals", "CREATE")]})),
            set(&[])
        );
        assert_eq!(block(json!([name.clone()])), Holds::Independent);
        assert_eq!(
            block(
                json!({"any": [on("Equals", "CREATE"), {"key": "{{ request.operation == 'UPDATE' }}", "operator": "Equals", "value": true}]})
            ),
            Holds::Unknown
        );
    }

    #[test]
    fn what_differs_from_the_scan_s_create() {
        assert!(Holds::Unknown.differs_from_create("UPDATE"));
        assert!(!set(&["CREATE", "UPDATE"]).differs_from_create("UPDATE"));
        assert!(set(&["CREATE"]).differs_from_create("UPDATE"));
        assert_eq!(set(&["CREATE", "DELETE"]).admission_only(), BTreeSet::new());
        assert_eq!(
            set(&["UPDATE"]).admission_only(),
            BTreeSet::from(["UPDATE"])
        );
        assert!(wildmatch("UPD*", "UPDATE") && !wildmatch("UPD?", "UPDATE"));
    }

    #[test]
    fn the_requester_is_read_in_any_spelling_the_reader_knows() {
        let kyverno =
            |key: &str| json!({"any": [{"key": key, "operator": "Equals", "value": "x"}]});
        for key in [
            "{{ request.userInfo.username }}",
            "{{ request.\"userInfo\".username }}",
            "{{ @.request.userInfo.groups }}",
            "{{ request['userInfo'] }}",
            "{{ serviceAccountName }}",
            "{{ lookup(request, 'userInfo') }}",
            "{{ who }}",
        ] {
            let context =
                [json!({"name": "who", "variable": {"jmesPath": "request.userInfo.username"}})];
            assert!(
                reads_requester(Some(&kyverno(key)), None, &context),
                "{key}"
            );
        }
        let cel =
            |expression: &str| json!([{"name": "request-userInfo", "expression": expression}]);
        assert!(reads_requester(
            None,
            Some(&cel("request.userInfo.username == 'a'")),
            &[]
        ));
        assert!(reads_requester(
            None,
            Some(&cel("request[\"userInfo\"].username == 'a'")),
            &[]
        ));
        // Other fields, literals and names are no requester.
        for key in [
            "{{ request.object.metadata.name }}",
            "'request.userInfo'",
            "{{ request.operation }}",
        ] {
            assert!(!reads_requester(Some(&kyverno(key)), None, &[]), "{key}");
        }
        assert!(!reads_requester(
            None,
            Some(&cel("object.metadata.name == 'request.userInfo'")),
            &[]
        ));
    }

    #[test]
    fn the_request_reached_from_the_context_root_is_read() {
        let none = BTreeSet::new();
        // verify37: wrong GOs through the root, without `request` plainly.
        for text in [
            "{{ @.\"request\".operation }}",
            "{{ @.\"request\".\"operation\" }}",
            "{{ [@][0].request.operation }}",
            "{{ merge(@, `{}`).request.operation }}",
            "{{ join('', *.operation) }}",
            "{{ @.*.operation | [0] }}",
            "{{ *.operation | [0] }}",
            "{{ @ | @ }}",
            "{{ \"request\".operation }}",
            "{{ contains(*.operation, 'UPDATE') }}",
            "{{ x || *.operation }}",
            // verify38: an escape spelling `request` or `operation`, `[*`.
            "{{ request.\"\\u006fperation\" }}",
            "{{ @.\"\\u0072equest\".operation }}",
            "{{ join('', [*.operation][0]) }}",
        ] {
            assert!(template_reads_request(text, &none), "{text}");
        }
        // The library's `@` is what came before: no request read.
        for text in [
            "{{ request.object.spec.containers[] | length(@) }}",
            "{{ request.object.metadata.keys(@) }}",
            "{{ element.keys(@)[] }}",
            "{{ request.object.metadata.annotations.values(@)[].regex_match('x', @) }}",
            "{{ request.userInfo.groups[?contains(@,':') == `false`] }}",
            "{{ request.object.spec.containers[*].name }}",
            "{{ request.object.metadata.labels.* }}",
            "{{ @.object.metadata.name }}",
            "{{ \"object\".metadata.name }}",
            "{{ {a: request.object.metadata.name} }}",
            "{{ element.verbs[]  | contains(@, 'use') || contains(@, '*') }}",
        ] {
            assert!(!template_reads_request(text, &none), "{text}");
        }
    }

    #[test]
    fn an_escaped_or_built_up_operation_key_is_read_as_the_request_whole() {
        // verify38: CEL keys the reader could not see as `operation`.
        let none = BTreeSet::new();
        for text in [
            r"request['\u006fperation'] != 'UPDATE'",
            r"request['\x6fperation'] != 'UPDATE'",
            r"request['\157peration'] != 'UPDATE'",
            "request['''operation'''] != 'UPDATE'",
            "request['oper' + 'ation'] != 'UPDATE'",
        ] {
            assert!(reads_request(text, &none, true), "{text}");
        }
        // A plain key of another field is no operation test.
        assert!(!reads_request(
            "request['object'].metadata.name == 'x'",
            &none,
            true
        ));
    }

    /// Read from the AST: a comprehension's name is what it ranges over,
    /// and nested templates are read innermost first.
    #[test]
    fn expressions_are_read_from_their_ast() {
        let none = BTreeSet::new();
        for text in [
            "[request].exists(r, r.operation == 'UPDATE')",
            "request.?operation.orValue('') == 'UPDATE'",
            "has(request.operation)",
            "[request.dryRun][0]",
            "request.all(f, f != 'options')",
        ] {
            assert!(reads_request(text, &none, true), "{text}");
        }
        for text in [
            "[object].exists(request, request.operation == 'x')",
            "request.namespace == 'x' && object.metadata.name != 'operation'",
        ] {
            assert!(!reads_request(text, &none, true), "{text}");
        }
        let aliases = BTreeSet::from(["op".to_string()]);
        assert!(reads_request("variables['op'] == 'UPDATE'", &aliases, true));
        assert!(reads_request(
            "variables.exists(v, v == 'x')",
            &aliases,
            true
        ));
        assert!(!reads_request("variables.other == 'x'", &aliases, true));
        for text in [
            "{{ d.\"{{ request.operation }}\" }}",
            "{{- request.operation }}",
        ] {
            assert!(template_reads_request(text, &none), "{text}");
        }
        for text in [
            "{{ podprioritydict.data.\"{{request.namespace}}\" || \"\" }}",
            "{{ services[?label_match(spec.selector, `{{request.object.spec.selector}}`)] | length(@) }}",
        ] {
            assert!(!template_reads_request(text, &none), "{text}");
        }
    }

    /// verify39 F6: a context entry of any kind whose strings read the
    /// operation is an alias: a `configMap` named by it too.
    #[test]
    fn every_string_of_a_context_entry_is_read() {
        let entries = [
            json!({"name": "cm", "configMap": {"name": "ops-{{ to_lower(request.operation) }}", "namespace": "default"}}),
            json!({"name": "quoted", "variable": {"value": "{{ request.\"operation\" }}"}}),
            json!({"name": "plain", "configMap": {"name": "ops", "namespace": "{{ request.namespace }}"}}),
        ];
        assert_eq!(
            context_aliases(entries.iter()),
            BTreeSet::from(["cm".to_string(), "quoted".to_string()])
        );
    }
}

#[cfg(test)]
mod rule_reads_tests {
    use super::*;
    use serde_json::json;

    /// verify44 A, H, I: the requester and the other admission fields read
    /// in CEL (validate.cel, celPreconditions), in a foreach's context or
    /// list, or in a template; what a scan presents is no such read.
    #[test]
    fn a_rule_reads_the_requester_and_admission_fields_in_every_form() {
        let requester = [
            json!({"validate": {"cel": {"expressions": [{"expression": "request.userInfo.username != 'x'"}]}}}),
            json!({"validate": {"cel": {
                "variables": [{"name": "who", "expression": "request.userInfo"}],
                "expressions": [{"expression": "variables.who.username != 'x'"}]}}}),
            json!({"celPreconditions": [{"name": "p", "expression": "request.userInfo.username == 'x'"}],
                   "validate": {"pattern": {}}}),
            json!({"validate": {"foreach": [{"list": "request.object.spec.containers",
                "context": [{"name": "who", "variable": {"jmesPath": "request.userInfo.username"}}],
                "deny": {"conditions": {"any": [{"key": "{{ who }}", "operator": "Equals", "value": "x"}]}}}]}}),
            json!({"validate": {"foreach": [{"list": "request.userInfo.groups",
                "deny": {"conditions": {"any": [{"key": "{{ element }}", "operator": "Equals", "value": "x"}]}}}]}}),
            json!({"validate": {"deny": {"conditions": {"any": [{"key": "{{ serviceAccountName }}", "operator": "Equals", "value": "x"}]}}}}),
        ];
        for rule in &requester {
            assert!(rule_reads_requester(rule), "{rule}");
            assert!(!rule_reads_other_admission_fields(rule), "{rule}");
        }
        let admission = [
            json!({"validate": {"deny": {"conditions": {"any": [{"key": "{{ request.options.fieldManager }}", "operator": "Equals", "value": "x"}]}}}}),
            json!({"validate": {"cel": {"expressions": [{"expression": "request.dryRun == false"}]}}}),
            json!({"context": [{"name": "n", "variable": {"jmesPath": "request.name"}}],
                   "validate": {"pattern": {"metadata": {"labels": {"app": "{{ n }}"}}}}}),
        ];
        for rule in &admission {
            assert!(rule_reads_other_admission_fields(rule), "{rule}");
            assert!(!rule_reads_requester(rule), "{rule}");
        }
        // What a scan gives as admission does, the operation (read apart),
        // messages, and an unread context entry: no such read.
        let plain = json!({
            "context": [{"name": "unused", "variable": {"jmesPath": "request.userInfo.username"}}],
            "preconditions": {"all": [{"key": "{{ request.operation }}", "operator": "NotEquals", "value": "DELETE"}]},
            "validate": {
                "message": "{{ request.userInfo.username }} {{ request.uid }}",
                "foreach": [{"list": "request.object.spec.containers", "pattern": {"image": "!*:latest"}}],
                "cel": {"expressions": [{"expression": "object.metadata.name != '' && request.namespace != ''"}]}
            }
        });
        assert!(!rule_reads_requester(&plain));
        assert!(!rule_reads_other_admission_fields(&plain));
    }

    #[test]
    fn a_cel_policy_reads_the_requester_and_admission_fields() {
        let spec = |expression: &str| {
            json!({"variables": [{"name": "v", "expression": expression}],
                   "validations": [{"expression": "variables.v != null", "messageExpression": "request.userInfo.username"}]})
        };
        assert_eq!(
            cel_policy_reads(&spec("request.userInfo.username")),
            (true, false)
        );
        assert_eq!(cel_policy_reads(&spec("request.dryRun")), (false, true));
        assert_eq!(
            cel_policy_reads(&spec("object.metadata.name")),
            (false, false)
        );
        assert_eq!(
            cel_policy_reads(
                &json!({"matchConditions": [{"name": "m", "expression": "request.options.fieldManager == 'x'"}]})
            ),
            (false, true)
        );
        // verify46 F2: `authorizer` is the requester's authorization, in a
        // matchCondition, a validation or a variable read by them.
        let authz = "authorizer.group('').resource('secrets').check('list').allowed()";
        assert_eq!(cel_policy_reads(&spec(authz)), (true, false));
        assert_eq!(
            cel_policy_reads(&json!({"matchConditions": [{"name": "m",
                "expression": format!("object.metadata.name == 'y' || {authz}")}]})),
            (true, false)
        );
        assert_eq!(
            cel_policy_reads(
                &json!({"validations": [{"expression": "'authorizer' != object.metadata.name && object.authorizer == 1"}]})
            ),
            (false, false)
        );
    }
}
