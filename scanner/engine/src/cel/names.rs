//! Which names an expression reads, so that an activation binds only
//! those. A compiled AST enters; [`rewrite`] renames each read of one
//! variable (`variables.<name>`, `variables['<name>']`) to the single name
//! `variables.<name>`, and [`free_names`] gives the names the AST reads that
//! no comprehension binds.
//!
//! Why: the `cel` crate converts a bound value whole each time it is bound,
//! so binding `variables` as one map, again after each variable as Kubernetes'
//! lazy evaluation requires of an eager one, converts every variable's value
//! once per variable. Bound one by one, each is converted once; and a name
//! no expression reads (a Kyverno library, `exceptions`, an unused variable)
//! is neither bound nor, for a variable, evaluated, which no expression can
//! tell: CEL has no lookup of a name computed at run time.

use std::collections::BTreeSet;

use kube_cel::cel::common::ast::{
    operators, CallExpr, EntryExpr, Expr, IdedExpr, ListExpr, LiteralValue,
};

/// The name of the variables map.
pub(crate) const VARIABLES: &str = "variables";

/// The name one variable is bound under.
pub(crate) fn variable_name(name: &str) -> String {
    format!("{VARIABLES}.{name}")
}

/// Renames every read of one variable to [`variable_name`], except where a
/// comprehension binds `variables` itself. A presence test of one variable
/// (`has(variables.x)`, `variables.?x`) reads it too: Kubernetes' lazy
/// variables map evaluates a variable to answer it, so a failing variable
/// fails the test (apiserver `lazy.MapValue`), where a test of a map
/// without the failed variable would say "absent".
pub(crate) fn rewrite(expr: &mut IdedExpr) {
    visit(expr, &mut Vec::new(), &mut |expr, bound| {
        if bound.iter().any(|name| name == VARIABLES) {
            return false;
        }
        let id = expr.id;
        let node = |expr: Expr| IdedExpr { id, expr };
        let read = |name: &str| node(Expr::Ident(variable_name(name)));
        if let Some(name) = variable_read(expr) {
            expr.expr = Expr::Ident(variable_name(&name));
            return true;
        }
        if let Some(name) = variable_test(expr) {
            // `[variables.x] != []`: true once the variable evaluates.
            expr.expr = Expr::Call(CallExpr {
                func_name: operators::NOT_EQUALS.to_string(),
                target: None,
                args: vec![
                    node(Expr::List(ListExpr {
                        elements: vec![read(&name)],
                        optional_indices: Vec::new(),
                    })),
                    node(Expr::List(ListExpr {
                        elements: Vec::new(),
                        optional_indices: Vec::new(),
                    })),
                ],
            });
            return true;
        }
        if let Some(name) = variable_optional_read(expr) {
            // `optional.of(variables.x)`.
            expr.expr = Expr::Call(CallExpr {
                func_name: "of".to_string(),
                target: Some(Box::new(node(Expr::Ident("optional".to_string())))),
                args: vec![read(&name)],
            });
            return true;
        }
        false
    });
}

/// `has(variables.<name>)`: the variable's name.
fn variable_test(expr: &IdedExpr) -> Option<String> {
    selected_variable(expr, true)
}

/// `variables.?<name>` or `variables[?'<name>']` (as [`super::optional`]
/// rewrote them): the variable's name.
fn variable_optional_read(expr: &IdedExpr) -> Option<String> {
    keyed_variable(expr, super::optional::OPTIONAL_INDEX)
}

/// `variables.<name>` or `variables['<name>']`: the variable's name.
fn variable_read(expr: &IdedExpr) -> Option<String> {
    selected_variable(expr, false).or_else(|| keyed_variable(expr, operators::INDEX))
}

/// `variables.<name>` (a presence test when `test`): the name.
fn selected_variable(expr: &IdedExpr, test: bool) -> Option<String> {
    match &expr.expr {
        Expr::Select(select) if select.test == test && is_variables(&select.operand) => {
            Some(select.field.clone())
        }
        _ => None,
    }
}

/// `func(variables, '<name>')`, a built-in index: the name.
fn keyed_variable(expr: &IdedExpr, func: &str) -> Option<String> {
    match &expr.expr {
        Expr::Call(call)
            if call.target.is_none()
                && call.func_name == func
                && call.args.len() == 2
                && is_variables(&call.args[0]) =>
        {
            match &call.args[1].expr {
                Expr::Literal(LiteralValue::String(name)) => Some(name.to_string()),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_variables(operand: &IdedExpr) -> bool {
    matches!(&operand.expr, Expr::Ident(name) if name == VARIABLES)
}

/// The names `expr` reads that no enclosing comprehension binds.
pub(crate) fn free_names(expr: &IdedExpr) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut copy = expr.clone();
    visit(&mut copy, &mut Vec::new(), &mut |expr, bound| {
        if let Expr::Ident(name) = &expr.expr {
            if !bound.iter().any(|b| b == name) {
                names.insert(name.clone());
            }
        }
        false
    });
    names
}

/// The type name of the first message literal (`Object{...}`) in `expr`,
/// or of a node the parser left unspecified: what the `cel` crate cannot
/// evaluate (it panics on either).
pub(crate) fn unevaluable(expr: &IdedExpr) -> Option<String> {
    let mut found = None;
    let mut copy = expr.clone();
    visit(&mut copy, &mut Vec::new(), &mut |expr, _| {
        if found.is_none() {
            match &expr.expr {
                Expr::Struct(structure) => found = Some(format!("{}{{...}}", structure.type_name)),
                Expr::Unspecified => found = Some("an unspecified expression".to_string()),
                _ => {}
            }
        }
        false
    });
    found
}

/// Walks `expr` depth first with the names comprehensions bind around each
/// node; `at` sees each node first and returns true when it replaced it
/// (its children are then not visited).
fn visit(
    expr: &mut IdedExpr,
    bound: &mut Vec<String>,
    at: &mut dyn FnMut(&mut IdedExpr, &[String]) -> bool,
) {
    if at(expr, bound) {
        return;
    }
    match &mut expr.expr {
        Expr::Select(select) => visit(&mut select.operand, bound, at),
        Expr::Call(call) => {
            if let Some(target) = call.target.as_deref_mut() {
                visit(target, bound, at);
            }
            for arg in &mut call.args {
                visit(arg, bound, at);
            }
        }
        Expr::Comprehension(comprehension) => {
            // The range and the initial value are outside the loop's names.
            visit(&mut comprehension.iter_range, bound, at);
            visit(&mut comprehension.accu_init, bound, at);
            let depth = bound.len();
            bound.push(comprehension.iter_var.clone());
            bound.extend(comprehension.iter_var2.clone());
            bound.push(comprehension.accu_var.clone());
            visit(&mut comprehension.loop_cond, bound, at);
            visit(&mut comprehension.loop_step, bound, at);
            visit(&mut comprehension.result, bound, at);
            bound.truncate(depth);
        }
        Expr::List(list) => {
            for element in &mut list.elements {
                visit(element, bound, at);
            }
        }
        Expr::Map(map) => visit_entries(&mut map.entries, bound, at),
        Expr::Struct(structure) => visit_entries(&mut structure.entries, bound, at),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}

fn visit_entries(
    entries: &mut [kube_cel::cel::common::ast::IdedEntryExpr],
    bound: &mut Vec<String>,
    at: &mut dyn FnMut(&mut IdedExpr, &[String]) -> bool,
) {
    for entry in entries {
        match &mut entry.expr {
            EntryExpr::MapEntry(e) => {
                visit(&mut e.key, bound, at);
                visit(&mut e.value, bound, at);
            }
            EntryExpr::StructField(f) => visit(&mut f.value, bound, at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        to_json, Activation, CelInputs, CelVariable, PolicyInputs, Program, ResourceScope, Uses,
    };
    use crate::context::{ClusterData, NoClusterData};
    use serde_json::{json, Value};
    use std::sync::Arc;

    fn names(source: &str) -> Vec<String> {
        Program::compile(source).names().to_vec()
    }

    #[test]
    fn a_variable_read_is_one_name_and_comprehension_names_are_not_free() {
        assert_eq!(
            names("variables.a.b + variables['c'] + object.x"),
            ["object", "variables.a", "variables.c"]
        );
        assert_eq!(
            names("object.items.all(i, i.name == variables.n)"),
            ["object", "variables.n"]
        );
        // A presence test reads the variable.
        assert_eq!(names("has(variables.a)"), ["variables.a"]);
        assert_eq!(
            names("variables.?a.orValue(1)"),
            ["optional", "variables.a"]
        );
        // Read whole: by a computed key, as a value.
        assert_eq!(names("variables[object.key]"), ["object", "variables"]);
        assert_eq!(names("size(variables)"), ["variables"]);
        // A comprehension that binds `variables` reads no variable.
        assert_eq!(
            names("[{'a': 1}].all(variables, variables.a == 1)"),
            Vec::<String>::new()
        );
        assert_eq!(names("time.now()"), ["time"]);
        assert_eq!(names("resource.Get('v1', 'pods', 'ns', 'n')"), ["resource"]);
    }

    /// What a body of `variables` and `expression` gives on `object`, its
    /// activation binding only the names they read.
    fn run(variables: &[(&str, &str)], expression: &str) -> Result<Value, String> {
        let scope = ResourceScope::new(CelInputs {
            object: json!({"a": 1, "b": "x", "key": "one"}),
            ..CelInputs::default()
        });
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let variables: Vec<CelVariable> = variables
            .iter()
            .map(|(name, source)| CelVariable {
                name: name.to_string(),
                expression: Program::compile(source),
            })
            .collect();
        let program = Program::compile(expression);
        let uses = Uses::of(variables.iter().map(|v| &v.expression).chain([&program]));
        let policy = PolicyInputs {
            uses: Some(&uses),
            ..PolicyInputs::default()
        };
        let mut activation = Activation::new(&scope, &data, policy);
        activation.bind_variables(&variables, Some(&uses));
        program.evaluate(&activation).map(|v| to_json(&v))
    }

    #[test]
    fn variables_read_one_by_one_or_whole_give_what_kubernetes_gives() {
        let two = [("one", "object.a + 1"), ("two", "variables.one * 2")];
        assert_eq!(run(&two, "variables.two"), Ok(json!(4)));
        assert_eq!(run(&two, "variables['one'] + variables.two"), Ok(json!(6)));
        assert_eq!(
            run(&two, "has(variables.two) && variables.two == 4"),
            Ok(json!(true))
        );
        assert_eq!(run(&two, "variables[object.key]"), Ok(json!(2)));
        assert_eq!(run(&two, "size(variables)"), Ok(json!(2)));
        // A later variable read whole by an earlier one sees only earlier ones.
        let whole = [
            ("first", "size(variables)"),
            ("second", "variables.first + 10"),
        ];
        assert_eq!(run(&whole, "variables.second"), Ok(json!(10)));
        // A failing variable fails the expressions that read it, naming it;
        // one that nothing reads is no error.
        let failing = [("bad", "object.missing.field"), ("good", "object.b")];
        let err = run(&failing, "variables.bad == 1").expect_err("reads bad");
        assert!(err.starts_with("variable \"bad\" failed: "), "{err}");
        let err = run(&failing, "variables['bad'] == 1").expect_err("reads bad");
        assert!(err.starts_with("variable \"bad\" failed: "), "{err}");
        assert_eq!(run(&failing, "variables.good"), Ok(json!("x")));
        assert_eq!(
            run(&failing, "variables.nothing"),
            Err("No such key: nothing".to_string())
        );
        // A presence test of a failing variable fails as reading it does
        // (Kubernetes' lazy map evaluates it to answer); of a good one, it
        // holds.
        for test in [
            "has(variables.bad)",
            "!has(variables.bad)",
            "variables.?bad.orValue('d') == 'd'",
            "variables[?'bad'].hasValue()",
        ] {
            let err = run(&failing, test).expect_err(test);
            assert!(
                err.starts_with("variable \"bad\" failed: "),
                "{test}: {err}"
            );
        }
        assert_eq!(run(&failing, "has(variables.good)"), Ok(json!(true)));
        assert_eq!(
            run(&failing, "variables.?good.orValue('d')"),
            Ok(json!("x"))
        );
        // A variable read before it is defined is not there yet.
        let order = [("early", "variables.late"), ("late", "1")];
        assert_eq!(
            run(&order, "variables.early"),
            Err("variable \"early\" failed: No such key: late".to_string())
        );
    }

    /// Found by the `cel` fuzz target: a message literal (a MutatingPolicy's
    /// `Object{...}` in a validation) made the cel crate panic (`todo!`),
    /// which the engine turned into an internal error; it is a compile
    /// error, named, and every evaluation gives that error.
    #[test]
    fn a_message_literal_is_a_compile_error_not_a_panic() {
        for source in [
            "Object{metadata: Object.metadata{labels: {'a': 'b'}}}",
            "[1].all(x, Object{spec: x} != null)",
        ] {
            let program = Program::compile(source);
            let error = program.compile_error().unwrap_or_default();
            assert!(
                error.contains("object construction is not supported"),
                "{source}: {error}"
            );
            let result = run(&[], source);
            assert!(
                result
                    .as_ref()
                    .is_err_and(|e| e.contains("Object{...} cannot be evaluated")),
                "{source}: {result:?}"
            );
        }
    }
}
