//! Field paths without copies. The `cel` crate evaluates a field selection
//! `a.b` by copying the selected value out of `a` (and `a.b.c` copies
//! `a.b`, then `c` from that copy), so `object.spec.containers` copies the
//! whole Pod spec on every evaluation: the largest single cost of policy
//! expressions. An index with a literal key (`a['b']`) borrows instead.
//! [`rewrite`] takes a compiled AST and turns every path of selections from
//! a name (`object.spec.containers`, `c.securityContext.privileged`) into
//!
//! ```text
//! has(object.spec) && has(object['spec'].containers)
//!     ? object['spec']['containers']
//!     : object.spec.containers
//! ```
//!
//! which gives the same value, the same errors and the same `false` a
//! selection on a non-map gives in the `cel` crate: the test only reads
//! maps, the borrowed branch is taken only when every step is a map that
//! has the field, and every other case runs the original selection.
//!
//! One difference remains between a borrowed and a copied value: an index
//! with a key of a type maps cannot have (a double, null, a computed key)
//! fails with another error on a copy than on a borrow. Paths whose value
//! flows (through `?:` branches and further indexes) into such an index
//! are therefore left as they are; their prefix is still rewritten, since
//! the last selection copies again.

use kube_cel::cel::common::ast::{
    operators, CallExpr, EntryExpr, Expr, IdedEntryExpr, IdedExpr, LiteralValue, SelectExpr,
};

/// Rewrites every rewritable field path of `expr` (see the module doc).
pub(crate) fn rewrite(expr: &mut IdedExpr) {
    visit(expr, false);
}

/// `copy_sensitive`: the node's value flows into an index whose error
/// depends on whether the value is borrowed or copied.
fn visit(expr: &mut IdedExpr, copy_sensitive: bool) {
    if !copy_sensitive {
        if let Some((root, fields)) = path(expr) {
            *expr = borrowed_path(expr.id, root, fields, expr.clone());
            return;
        }
    }
    match &mut expr.expr {
        // A selection copies its result whatever its operand is.
        Expr::Select(select) => visit(&mut select.operand, false),
        Expr::Call(call) => visit_call(call, copy_sensitive),
        Expr::Comprehension(comprehension) => {
            for child in [
                &mut comprehension.iter_range,
                &mut comprehension.accu_init,
                &mut comprehension.loop_cond,
                &mut comprehension.loop_step,
                &mut comprehension.result,
            ] {
                visit(child, false);
            }
        }
        Expr::List(list) => {
            for element in &mut list.elements {
                visit(element, false);
            }
        }
        Expr::Map(map) => visit_entries(&mut map.entries),
        Expr::Struct(structure) => visit_entries(&mut structure.entries),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}

fn visit_call(call: &mut CallExpr, copy_sensitive: bool) {
    let builtin = call.target.is_none();
    if builtin && call.func_name == operators::CONDITIONAL && call.args.len() == 3 {
        // The chosen branch's value is the conditional's, borrowed or not.
        visit(&mut call.args[0], false);
        visit(&mut call.args[1], copy_sensitive);
        visit(&mut call.args[2], copy_sensitive);
        return;
    }
    if builtin && call.func_name == operators::INDEX && call.args.len() == 2 {
        // An index of a borrowed value is borrowed, of a copy a copy.
        let sensitive = copy_sensitive || !same_on_copies(&call.args[1]);
        visit(&mut call.args[1], false);
        visit(&mut call.args[0], sensitive);
        return;
    }
    // Every other call reads its operands or converts them to values.
    if let Some(target) = call.target.as_deref_mut() {
        visit(target, false);
    }
    for arg in &mut call.args {
        visit(arg, false);
    }
}

fn visit_entries(entries: &mut [IdedEntryExpr]) {
    for entry in entries {
        match &mut entry.expr {
            EntryExpr::MapEntry(e) => {
                visit(&mut e.key, false);
                visit(&mut e.value, false);
            }
            EntryExpr::StructField(f) => visit(&mut f.value, false),
        }
    }
}

/// A key with which a list or map index behaves alike on a borrowed value
/// and on a copy (cel's `Indexer::get` and `steal`): a string, int, uint or
/// bool literal.
fn same_on_copies(key: &IdedExpr) -> bool {
    matches!(
        key.expr,
        Expr::Literal(
            LiteralValue::String(_)
                | LiteralValue::Int(_)
                | LiteralValue::UInt(_)
                | LiteralValue::Boolean(_)
        )
    )
}

/// `name.f1.….fn` (plain selections only): the name and the fields.
fn path(expr: &IdedExpr) -> Option<(String, Vec<String>)> {
    let mut fields = Vec::new();
    let mut node = expr;
    loop {
        match &node.expr {
            Expr::Select(select) if !select.test => {
                fields.push(select.field.clone());
                node = &select.operand;
            }
            Expr::Ident(name) if !fields.is_empty() => {
                fields.reverse();
                return Some((name.clone(), fields));
            }
            _ => return None,
        }
    }
}

/// `has(p0.f1) && … && has(p(n-1).fn) ? pn : original`, where `p0` is the
/// name and `pk` is `p(k-1)['fk']`.
fn borrowed_path(id: u64, root: String, fields: Vec<String>, original: IdedExpr) -> IdedExpr {
    let node = |expr: Expr| IdedExpr { id, expr };
    let call = |func: &str, args: Vec<IdedExpr>| {
        node(Expr::Call(CallExpr {
            func_name: func.to_string(),
            target: None,
            args,
        }))
    };
    let mut prefix = node(Expr::Ident(root));
    let mut guard: Option<IdedExpr> = None;
    for field in fields {
        let has = node(Expr::Select(SelectExpr {
            operand: Box::new(prefix.clone()),
            field: field.clone(),
            test: true,
        }));
        guard = Some(match guard {
            None => has,
            Some(earlier) => call(operators::LOGICAL_AND, vec![earlier, has]),
        });
        let key = node(Expr::Literal(LiteralValue::String(field.as_str().into())));
        prefix = call(operators::INDEX, vec![prefix, key]);
    }
    match guard {
        Some(guard) => call(operators::CONDITIONAL, vec![guard, prefix, original]),
        None => original,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{to_json, Activation, CelInputs, PolicyInputs, Program, ResourceScope};
    use crate::context::{ClusterData, NoClusterData};
    use kube_cel::cel;
    use serde_json::{json, Value};
    use std::sync::Arc;

    /// The expression's result (or error text) evaluated as parsed, with
    /// only the optional rewrite, and as [`super::rewrite`] leaves it.
    fn both_ways(source: &str, object: &Value) -> (Result<Value, String>, Result<Value, String>) {
        let scope = ResourceScope::new(CelInputs {
            object: object.clone(),
            ..CelInputs::default()
        });
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let mut activation = Activation::new(&scope, &data, PolicyInputs::default());
        activation.bind_variables(
            &[super::super::CelVariable {
                name: "spec".into(),
                expression: Program::compile("object.spec"),
            }],
            None,
        );
        let mut plain = cel::parser::Parser::new()
            .enable_optional_syntax(true)
            .parse(source)
            .expect("parses");
        super::super::optional::rewrite(&mut plain);
        let mut rewritten = plain.clone();
        super::rewrite(&mut rewritten);
        let run = |ast: &cel::IdedExpr| {
            cel::Value::resolve(ast, activation.context())
                .map(|v| to_json(&v))
                .map_err(|e| e.to_string())
        };
        (run(&plain), run(&rewritten))
    }

    #[test]
    fn paths_give_what_selections_give() {
        let object = json!({
            "metadata": {"name": "web", "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], "n": 3, "text": "s",
                     "nested": {"m": {"k": 1.5}}, "nothing": null}
        });
        let expressions = [
            "object.metadata.name",
            "object.spec.containers",
            "object.spec.containers[0].image",
            "object.spec.containers.all(c, c.image.startsWith('n'))",
            "object.spec.containers.map(c, c.name)",
            "has(object.spec.nested.m) && object.spec.nested.m.k == 1.5",
            "object.spec.missing.field",
            "object.spec.missing",
            "object.spec.text.length",
            "object.spec.n.value",
            "object.spec.containers.name",
            "object.spec.nothing.field",
            "undeclared.field.other",
            "variables.spec.containers[0].name",
            "variables.missing.field",
            "object.spec.nested.m[1.5]",
            "object.spec.nested.m[null]",
            "(true ? object.spec.nested.m : {})[2.5]",
            "object.spec.nested['m'][1.5]",
            "object.spec.containers[0.5]",
            "object.spec.containers['x']",
            "object.spec.containers[7]",
            "object.spec.nested.m['k']",
            "object.spec.?nested.m.orValue(0)",
            "object.spec.?nested.?m.?k.orValue(0)",
            "object.metadata.labels[?'app'].orValue('')",
            "object.spec.nested.m.k > 1.0 ? object.metadata.name : object.spec.text",
            "[object.metadata.name, object.spec.n]",
            "{'a': object.spec.nested.m}",
            "size(object.spec.containers) == 1",
            "object.metadata == {'name': 'web', 'labels': {'app': 'x'}}",
        ];
        let mut differ = Vec::new();
        for expression in expressions {
            let (plain, rewritten) = both_ways(expression, &object);
            if plain != rewritten {
                differ.push(format!("{expression}: {plain:?} became {rewritten:?}"));
            }
        }
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }

    #[test]
    fn paths_become_borrowing_indexes() {
        let mut ast = cel::parser::Parser::new()
            .parse("object.spec.containers")
            .expect("parses");
        super::rewrite(&mut ast);
        let text = format!("{ast:?}");
        assert!(text.contains("_?_:_") && text.contains("_[_]"), "{text}");
        // A path flowing into an index by a computed key keeps its last
        // selection, which copies.
        let mut ast = cel::parser::Parser::new()
            .parse("object.spec.m[object.spec.k]")
            .expect("parses");
        super::rewrite(&mut ast);
        let cel::common::ast::Expr::Call(index) = &ast.expr else {
            panic!("an index: {ast:?}")
        };
        assert!(
            matches!(index.args[0].expr, cel::common::ast::Expr::Select(_)),
            "{:?}",
            index.args[0]
        );
    }
}
