//! What cel-go refuses when it type-checks and plans an expression, found in
//! the parsed AST before the policy is used: a parsed expression enters
//! [`check`], the first such compile error (worded as cel-go words it)
//! leaves, or nothing.
//!
//! The `cel` crate has no checker: without this, a call to a function
//! nothing declares, `orValue(1)` called as a global function, or a
//! constant pattern `find` cannot compile only failed when evaluated, as an
//! `error` result on every resource, where Kyverno refuses the policy
//! (kyverno pkg/cel/compiler/compiler.go: `env.Compile` then `env.Program`,
//! each error a `field.Invalid` of the expression).

use kube_cel::cel;
use kube_cel::cel::common::ast::{operators, CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};

use super::environment;

/// The first compile error cel-go would give for `ast`, as
/// `compilation error: <cel-go's message>`.
pub(crate) fn check(ast: &IdedExpr) -> Option<String> {
    let mut found = None;
    visit(ast, &mut |call| {
        if found.is_none() {
            found = check_call(call);
        }
    });
    found.map(|message| format!("compilation error: {message}"))
}

/// Calls `each` on every call in `expr`, arguments before the call as
/// cel-go's checker visits them.
fn visit(expr: &IdedExpr, each: &mut dyn FnMut(&CallExpr)) {
    match &expr.expr {
        Expr::Call(call) => {
            for arg in &call.args {
                visit(arg, each);
            }
            if let Some(target) = &call.target {
                visit(target, each);
            }
            each(call);
        }
        Expr::Comprehension(comprehension) => {
            for child in [
                &comprehension.iter_range,
                &comprehension.accu_init,
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                visit(child, each);
            }
        }
        Expr::List(list) => {
            for element in &list.elements {
                visit(element, each);
            }
        }
        Expr::Map(map) => visit_entries(&map.entries, each),
        Expr::Struct(structure) => visit_entries(&structure.entries, each),
        Expr::Select(select) => visit(&select.operand, each),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}

/// [`visit`] with the comprehension variables in scope at each call
/// (bound in the loop's condition, step and result, not its range or
/// initial value).
fn visit_bound(
    expr: &IdedExpr,
    bound: &mut Vec<String>,
    each: &mut dyn FnMut(&CallExpr, &[String]),
) {
    match &expr.expr {
        Expr::Call(call) => {
            for arg in &call.args {
                visit_bound(arg, bound, each);
            }
            if let Some(target) = &call.target {
                visit_bound(target, bound, each);
            }
            each(call, bound);
        }
        Expr::Comprehension(comprehension) => {
            visit_bound(&comprehension.iter_range, bound, each);
            visit_bound(&comprehension.accu_init, bound, each);
            let before = bound.len();
            bound.push(comprehension.iter_var.clone());
            bound.extend(comprehension.iter_var2.clone());
            bound.push(comprehension.accu_var.clone());
            for child in [
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                visit_bound(child, bound, each);
            }
            bound.truncate(before);
        }
        Expr::List(list) => {
            for element in &list.elements {
                visit_bound(element, bound, each);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(e) = &entry.expr {
                    visit_bound(&e.key, bound, each);
                    visit_bound(&e.value, bound, each);
                }
            }
        }
        Expr::Struct(structure) => {
            for entry in &structure.entries {
                if let EntryExpr::StructField(f) = &entry.expr {
                    visit_bound(&f.value, bound, each);
                }
            }
        }
        Expr::Select(select) => visit_bound(&select.operand, bound, each),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}

fn visit_entries(
    entries: &[kube_cel::cel::common::ast::IdedEntryExpr],
    each: &mut dyn FnMut(&CallExpr),
) {
    for entry in entries {
        match &entry.expr {
            EntryExpr::MapEntry(e) => {
                visit(&e.key, each);
                visit(&e.value, each);
            }
            EntryExpr::StructField(f) => visit(&f.value, each),
        }
    }
}

/// The operators the parser writes as calls; the interpreter evaluates
/// them itself, so none is looked up as a function.
const OPERATORS: [&str; 21] = [
    operators::CONDITIONAL,
    operators::LOGICAL_AND,
    operators::LOGICAL_OR,
    operators::LOGICAL_NOT,
    operators::SUBSTRACT,
    operators::ADD,
    operators::MULTIPLY,
    operators::DIVIDE,
    operators::MODULO,
    operators::EQUALS,
    operators::NOT_EQUALS,
    operators::GREATER_EQUALS,
    operators::LESS_EQUALS,
    operators::GREATER,
    operators::LESS,
    operators::NEGATE,
    operators::INDEX,
    operators::OPT_INDEX,
    operators::OPT_SELECT,
    operators::NOT_STRICTLY_FALSE,
    operators::IN,
];

/// cel-go's optional library declares these as member functions only
/// (cel-go cel/library.go, `optionalLib`): `x.or(y)`, `x.orValue(y)`,
/// `x.value()`, `x.hasValue()`, each with that many arguments.
const OPTIONAL_MEMBERS: [(&str, usize); 4] =
    [("or", 1), ("orValue", 1), ("value", 0), ("hasValue", 0)];

/// Functions and macros cel-go, Kubernetes (k8s.io/apiserver/pkg/cel/library)
/// or Kyverno (kyverno/sdk extensions/cel/libs) declare. One polscan's
/// environment lacks is left to fail when evaluated, naming it, rather
/// than refused as if Kyverno refused it too.
const DECLARED_ELSEWHERE: &[&str] = &[
    // cel-go's standard library and macros.
    "bool",
    "type",
    "dyn",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "has",
    // cel-go: optional library (macros), bindings, lists, protos, regex,
    // two-variable comprehensions (Kubernetes' base environment).
    "optMap",
    "optFlatMap",
    "cel.bind",
    "cel.block",
    "sortBy",
    "proto.getExt",
    "proto.hasExt",
    "regex.replace",
    "regex.extract",
    "regex.extractAll",
    "existsOne",
    "transformList",
    "transformMap",
    "transformMapEntry",
    // Kubernetes: authorizer library (ValidatingAdmissionPolicy).
    "path",
    "group",
    "resource",
    "namespace",
    "name",
    "subresource",
    "check",
    "allowed",
    "reason",
    "errored",
    "error",
    "serviceAccount",
    "fieldSelector",
    "labelSelector",
    // Kyverno's libraries.
    "Apply",
    "apply",
    "gzip.compress",
    "gzip.decompress",
    "hash.md5",
    "hash.sha1",
    "hash.sha256",
    "md5",
    "sha1",
    "sha256",
    "marshal",
    "unmarshal",
    "parse",
    "math.round",
    "random",
    "random.random",
    "listObjToMap",
    "transform.listObjToMap",
    "decode",
    "x509.decode",
];

/// The compile error of one call, if any.
fn check_call(call: &CallExpr) -> Option<String> {
    let name = call.func_name.as_str();
    if OPERATORS.contains(&name) {
        return None;
    }
    // cel-go resolves `p.f(..)` as the function `p.f` when one is declared
    // (checker/checker.go checkCall), as the `cel` crate does.
    let qualified = match call.target.as_deref().map(|t| &t.expr) {
        Some(Expr::Ident(prefix)) => Some(format!("{prefix}.{name}")),
        _ => None,
    };
    if let Some(qualified) = &qualified {
        if declared(qualified) {
            return None;
        }
    }
    if !declared(name) {
        let elsewhere = DECLARED_ELSEWHERE.contains(&name)
            || qualified
                .as_deref()
                .is_some_and(|q| DECLARED_ELSEWHERE.contains(&q));
        // cel-go checker/errors.go undeclaredReference; Kyverno compiles in
        // the empty container.
        return (!elsewhere).then(|| format!("undeclared reference to '{name}' (in container '')"));
    }
    if let Some((_, arity)) = OPTIONAL_MEMBERS.iter().find(|(n, _)| *n == name) {
        if call.target.is_none() || call.args.len() != *arity {
            return Some(no_matching_overload(call));
        }
    }
    constant_regex_error(call)
}

/// cel-go checker/errors.go noMatchingOverload: the argument types as
/// `(int)`, or `T.(int)` for a member call.
fn no_matching_overload(call: &CallExpr) -> String {
    let args: Vec<String> = call.args.iter().map(type_name).collect();
    let signature = match &call.target {
        Some(target) => format!("{}.({})", type_name(target), args.join(", ")),
        None => format!("({})", args.join(", ")),
    };
    format!(
        "found no matching overload for '{}' applied to '{signature}'",
        call.func_name
    )
}

/// The CEL type of `expr` as cel-go formats it where the expression alone
/// settles it (literals, lists and maps of them); `dyn` otherwise, as
/// policy data (`object`, `variables`) is typed in Kyverno.
fn type_name(expr: &IdedExpr) -> String {
    let same = |types: Vec<String>| -> String {
        match types.split_first() {
            Some((first, rest)) if rest.iter().all(|t| t == first) => first.clone(),
            _ => "dyn".into(),
        }
    };
    match &expr.expr {
        Expr::Literal(literal) => match literal {
            LiteralValue::Int(_) => "int",
            LiteralValue::UInt(_) => "uint",
            LiteralValue::Double(_) => "double",
            LiteralValue::String(_) => "string",
            LiteralValue::Bytes(_) => "bytes",
            LiteralValue::Boolean(_) => "bool",
            LiteralValue::Null => "null_type",
        }
        .into(),
        Expr::List(list) => format!(
            "list({})",
            same(list.elements.iter().map(type_name).collect())
        ),
        Expr::Map(map) => {
            let (keys, values): (Vec<String>, Vec<String>) = map
                .entries
                .iter()
                .filter_map(|entry| match &entry.expr {
                    EntryExpr::MapEntry(e) => Some((type_name(&e.key), type_name(&e.value))),
                    EntryExpr::StructField(_) => None,
                })
                .unzip();
            format!("map({}, {})", same(keys), same(values))
        }
        _ => "dyn".into(),
    }
}

/// Kubernetes' regex library compiles a constant pattern of `find` and
/// `findAll` when the program is planned and fails it there
/// (k8s.io/apiserver/pkg/cel/library/regex.go `ProgramOptions`:
/// `cel.OptimizeRegex(FindRegexOptimization, FindAllRegexOptimization)`;
/// cel-go interpreter/decorators.go decRegexOptimizer reads a literal
/// string argument only). `matches` is not: cel-go adds its optimization
/// only under `OptOptimize` (cel/program.go), which Kyverno's compiler does
/// not set, so an invalid `matches` pattern stays an evaluation error.
fn constant_regex_error(call: &CallExpr) -> Option<String> {
    if !matches!(call.func_name.as_str(), "find" | "findAll") || call.target.is_none() {
        return None;
    }
    let Some(Expr::Literal(LiteralValue::String(pattern))) = call.args.first().map(|a| &a.expr)
    else {
        return None;
    };
    crate::go_regexp::compile(pattern).err().map(|err| {
        format!(
            "error parsing regexp {:?} of '{}': {err}",
            &**pattern, call.func_name
        )
    })
}

/// What Kubernetes' CEL environment adds at planning
/// (k8s.io/apiserver/pkg/cel/environment/base.go `ProgramOptions`:
/// `cel.EvalOptions(cel.OptOptimize, ...)`, under which cel-go compiles the
/// constant pattern of `matches` too, cel/program.go): the error for a
/// `matches` pattern that does not compile. Kyverno evaluates
/// ValidatingAdmissionPolicies and `validate.cel` rules in that environment
/// (kyverno pkg/admissionpolicy/compiler.go `environment.MustBaseEnvSet`),
/// but not ValidatingPolicies.
pub(crate) fn kubernetes_planner_error(ast: &IdedExpr) -> Option<String> {
    let mut found = None;
    visit_bound(ast, &mut Vec::new(), &mut |call, bound| {
        if found.is_some() {
            return;
        }
        if let Some(name) = kyverno_only(call, bound) {
            // cel-go checker/errors.go undeclaredReference.
            found = Some(format!(
                "compilation error: undeclared reference to '{name}' (in container '')"
            ));
            return;
        }
        if call.func_name != "matches" {
            return;
        }
        // cel-go's MatchesRegexOptimization reads the second argument, the
        // receiver counting as the first.
        let pattern = match &call.target {
            Some(_) => call.args.first(),
            None => call.args.get(1),
        };
        if let Some(Expr::Literal(LiteralValue::String(pattern))) = pattern.map(|a| &a.expr) {
            found = crate::go_regexp::compile(pattern).err().map(|err| {
                format!(
                    "compilation error: error parsing regexp {:?} of 'matches': {err}",
                    &**pattern
                )
            });
        }
    });
    found
}

/// Functions polscan's shared environment holds for Kyverno's libraries
/// (kyverno/sdk extensions/cel/libs: image, imagedata, resource, http,
/// time, user) that Kubernetes' base environment does not declare.
const KYVERNO_ONLY_FUNCTIONS: &[&str] = &[
    "GetMetadata",
    "getMetadata",
    "parseServiceAccount",
    "user.parseServiceAccount",
    "time.now",
    "time.truncate",
    "time.toCron",
    "image",
    "parseImageReference",
    "isImage",
    "registry",
    "repository",
    "identifier",
    "tag",
    "digest",
    "containsDigest",
    "Get",
    "get",
    "List",
    "list",
    "Post",
    "post",
    "Client",
    "client",
    "ToGVR",
    "toGVR",
];

/// Receivers of cel-go extension functions polscan's shared environment
/// declares but Kubernetes' base environment does not: `math.greatest`
/// (ext.Math), `base64.decode` (ext.Encoders), `cel.bind` (ext.Bindings).
/// Kyverno compiles `validate.cel` rules, their `celPreconditions` and
/// ValidatingAdmissionPolicies there (pkg/admissionpolicy/compiler.go:
/// `environment.MustBaseEnvSet`, every expression in `StoredExpressions`
/// mode, which loads every base library, so no compatibility version
/// narrows it further).
const NOT_IN_KUBERNETES_BASE: &[&str] = &["math", "base64", "cel"];

/// What a call names that only Kyverno's ValidatingPolicy environment
/// declares: the library variable it is called on (`resource.Get`: cel-go
/// reports the receiver first), else the function (`time.now`, `image`).
/// Kyverno compiles a `validate.cel` rule, as Kubernetes a
/// ValidatingAdmissionPolicy, in Kubernetes' base environment
/// (pkg/admissionpolicy/compiler.go `environment.MustBaseEnvSet`), without
/// them: the rule cannot compile there.
///
/// `bound` are the comprehension variables in scope: one of a library's
/// name (`.all(image, image.endsWith(':latest'))`) is that variable, not
/// the library (verify44 G), while a global function keeps its name.
fn kyverno_only(call: &CallExpr, bound: &[String]) -> Option<String> {
    let receiver = match call.target.as_deref().map(|t| &t.expr) {
        Some(Expr::Ident(prefix)) if !bound.contains(prefix) => Some(prefix.as_str()),
        _ => None,
    };
    let qualified = receiver.map(|prefix| format!("{prefix}.{}", call.func_name));
    if let Some(qualified) = qualified.filter(|q| KYVERNO_ONLY_FUNCTIONS.contains(&q.as_str())) {
        return Some(qualified);
    }
    if let Some(variable) = receiver.filter(|r| super::kyverno_lib::LIBRARIES.contains(r)) {
        return Some(variable.to_string());
    }
    // cel-go extensions the shared environment holds that Kubernetes'
    // base environment does not (k8s.io/apiserver v0.36.3, the version
    // Kyverno vendors: pkg/cel/environment/base.go has no ext.Math,
    // ext.Encoders or ext.Bindings): cel-go reports the receiver.
    if let Some(variable) = receiver.filter(|r| NOT_IN_KUBERNETES_BASE.contains(r)) {
        return Some(variable.to_string());
    }
    KYVERNO_ONLY_FUNCTIONS
        .contains(&call.func_name.as_str())
        .then(|| call.func_name.clone())
}

/// Whether the shared environment declares the function `name`. The `cel`
/// crate keeps its function table private, so this asks the interpreter:
/// a member call `<probe>.name()` on an unbound receiver looks `name` up
/// first and fails naming it when it is missing, and otherwise fails
/// resolving the receiver, before any function runs.
fn declared(name: &str) -> bool {
    const PROBE: &str = "@polscan.probe";
    let call = IdedExpr {
        id: 0,
        expr: Expr::Call(CallExpr {
            func_name: name.to_string(),
            target: Some(Box::new(IdedExpr {
                id: 0,
                expr: Expr::Ident(PROBE.to_string()),
            })),
            args: Vec::new(),
        }),
    };
    match cel::Value::resolve(&call, environment::shared()) {
        Err(cel::ExecutionError::UndeclaredReference(missing)) => missing.as_str() != name,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_error(source: &str) -> Option<String> {
        let ast = cel::parser::Parser::new()
            .enable_optional_syntax(true)
            .parse(source)
            .expect("parses");
        check(&ast)
    }

    /// The probe tells a registered function from a missing one, whatever
    /// the function would do with the arguments.
    #[test]
    fn the_probe_finds_what_the_environment_registers() {
        for name in [
            "size",
            "orValue",
            "matches",
            "lowerAscii",
            "optional.of",
            "base64.encode",
            "Get",
            "time.now",
            "dyn",
        ] {
            assert!(declared(name), "{name}");
        }
        for name in ["repeat", "optional", "@polscan.probe", ""] {
            assert!(!declared(name), "{name}");
        }
    }

    #[test]
    fn or_value_called_as_a_global_function_is_refused_as_cel_go_refuses_it() {
        for (source, name, applied_to) in [
            ("orValue(1) == 1", "orValue", "(int)"),
            ("or(optional.none()) == optional.none()", "or", "(dyn)"),
            ("[1].orValue() == 1", "orValue", "list(int).()"),
            ("hasValue({'a': 1})", "hasValue", "(map(string, int))"),
        ] {
            assert_eq!(
                compile_error(source),
                Some(format!(
                    "compilation error: found no matching overload for '{name}' applied to '{applied_to}'"
                )),
                "{source}"
            );
        }
    }

    #[test]
    fn an_undeclared_function_is_refused_as_cel_go_refuses_it() {
        for (source, name) in [
            ("'x'.repeat(3) == 'xxx'", "repeat"),
            ("nosuch(1)", "nosuch"),
            ("object.spec.all(c, c.frobnicate())", "frobnicate"),
            ("[1].map(x, strings.nosuch(x))", "nosuch"),
        ] {
            assert_eq!(
                compile_error(source),
                Some(format!(
                    "compilation error: undeclared reference to '{name}' (in container '')"
                )),
                "{source}"
            );
        }
    }

    /// Calls that cel-go, Kubernetes or Kyverno declare, macros, operators
    /// and optional syntax are not refused.
    #[test]
    fn declared_calls_macros_and_operators_are_not_refused() {
        for source in [
            "optional.none().orValue(7) == 7 && optional.of(1).or(optional.of(2)).hasValue()",
            "object.?spec.?replicas.orValue(1) > 0 && object.spec[?'x'].value() == 1",
            "object.spec.containers.all(c, has(c.image) && c.image.matches('^[a-z]+$'))",
            "[1, 2].exists(x, x in [2]) && [1].exists_one(x, x == 1) && [1].map(x, x * 2).filter(y, y > 1).size() == 1",
            "'A'.lowerAscii().startsWith('a') && 'a,b'.split(',').join('-') == 'a-b' && base64.encode(b'x') != ''",
            "sets.contains([1], [1]) && math.greatest(1, 2) == 2 && url('https://x').getHost() == 'x'",
            "quantity('1Gi').isGreaterThan(quantity('1Mi')) && isIP('1.1.1.1') && semver('1.0.0').major() == 1",
            "resource.Get('v1', 'pods', 'ns', 'n') != null && image('nginx').registry() != '' && time.now() != null",
            "dyn(1) == 1 && type(1) == int && bool(true) && cel.bind(x, 1, x == 1)",
            "'abc'.find('[a-z]+') == 'abc' && 'abc'.findAll('b').size() == 1 && !(1 < 0) && -1 < 0",
            "[1, 2].all(k, v, v > 0) && x509.decode('') != null",
        ] {
            assert_eq!(compile_error(source), None, "{source}");
        }
    }

    #[test]
    fn a_constant_invalid_pattern_of_find_is_refused_but_not_of_matches() {
        let error = compile_error("'abc'.find('(') == ''").unwrap_or_default();
        assert!(
            error.starts_with("compilation error: error parsing regexp \"(\" of 'find': "),
            "{error}"
        );
        let error = compile_error("'abc'.findAll('[', 2).size() == 0").unwrap_or_default();
        assert!(error.contains("of 'findAll'"), "{error}");
        assert_eq!(compile_error("'abc'.matches('(')"), None);
        assert_eq!(compile_error("matches('abc', '(')"), None);
        assert_eq!(compile_error("'abc'.find(object.pattern) == ''"), None);
    }

    /// The list of Kyverno-only functions names what the shared
    /// environment registers (kyverno_lib::register), not a guess.
    /// verify44 G: a comprehension variable named as a library is that
    /// variable; the library outside it, and a global function, are not.
    #[test]
    fn a_comprehension_variable_shadows_a_library_of_its_name() {
        let planned = |source: &str| {
            kubernetes_planner_error(&cel::parser::Parser::new().parse(source).expect("parses"))
        };
        assert_eq!(
            planned(
                "object.spec.containers.map(c, c.image).all(image, !image.endsWith(':latest'))"
            ),
            None
        );
        assert!(planned("[1].all(image, image == 1) && image.GetMetadata('x') != null").is_some());
        assert!(planned("['a'].all(image, image('a') != null)").is_some());
    }

    #[test]
    fn every_kyverno_only_function_is_registered() {
        for name in KYVERNO_ONLY_FUNCTIONS {
            assert!(declared(name), "{name}");
        }
    }

    #[test]
    fn kubernetes_planning_refuses_a_constant_invalid_matches_pattern() {
        let planned = |source: &str| {
            let ast = cel::parser::Parser::new().parse(source).expect("parses");
            kubernetes_planner_error(&ast)
        };
        for source in ["'abc'.matches('(')", "false && matches('abc', '[')"] {
            let error = planned(source).unwrap_or_default();
            assert!(
                error.starts_with("compilation error: error parsing regexp ")
                    && error.contains("of 'matches'"),
                "{source}: {error}"
            );
        }
        // verify43 F2: Kyverno's libraries are not in Kubernetes'
        // environment, where validate.cel rules and VAPs compile; nor are
        // cel-go's ext.Math, ext.Encoders and ext.Bindings.
        for (source, name) in [
            ("math.greatest([1, 2]) == 2", "math"),
            ("object.x.all(c, base64.decode(c) != b'')", "base64"),
            ("cel.bind(n, object.metadata.name, n != 'x')", "cel"),
            (
                "image(object.spec.containers[0].image).registry() != 'evil.io'",
                "image",
            ),
            ("time.now() < timestamp('2027-01-01T00:00:00Z')", "time.now"),
            (
                "object.x.all(c, time . truncate(timestamp(c), duration('1h')) != null)",
                "time.truncate",
            ),
            (
                "resource.Get('v1', 'configmaps', 'ns', 'n') != null",
                "resource",
            ),
            (
                "parseServiceAccount(request.userInfo.username).name == 'x'",
                "parseServiceAccount",
            ),
            ("'x'.isImage()", "isImage"),
        ] {
            assert_eq!(
                planned(source),
                Some(format!(
                    "compilation error: undeclared reference to '{name}' (in container '')"
                )),
                "{source}"
            );
        }
        assert_eq!(
            planned("object.metadata.name.startsWith('x') && 'a'.matches('^a')"),
            None
        );
        assert_eq!(planned("'abc'.matches('^a')"), None);
        // What Kubernetes' base environment does hold, and a comprehension
        // variable named as an extension.
        for source in [
            "sets.contains([1, 2], [1]) && lists.range(3).size() == 3",
            "strings.quote('x') != '' && optional.of(1).hasValue()",
            "object.x.exists(math, math.size() > 0)",
        ] {
            assert_eq!(planned(source), None, "{source}");
        }
        assert_eq!(planned("'abc'.matches(object.p)"), None);
        assert_eq!(planned("'abc'.find('(')"), None);
    }
}
