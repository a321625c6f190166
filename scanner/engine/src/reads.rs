//! What a JMESPath or CEL expression reads of the context it is evaluated
//! against, from its parsed AST. What enters: the expression's text (or a
//! CEL AST). What leaves: [`Reads`], the paths from the context's root
//! whose values, with everything under them, may reach the expression's
//! result; `None` when the text does not parse as polscan's evaluator
//! parses it (a caller reads that as reading everything).
//!
//! Our own, because the questions are polscan's, not Kyverno's: which of a
//! Secret's fields a message may show ([`crate::redaction`]), and whether
//! a condition reads what a scan's request lacks (polscan-evidence). They
//! were read from the text first, and each review found another spelling
//! of the same path (`*.object`, `[*.x]`, `@."request"`, `"\u006fbject"`,
//! `object['d' + 'ata']`: verify37, verify38). On the AST, every spelling
//! is one path.
//!
//! The reading leans one way. A path is followed through field selections
//! and literal keys; an index, a wildcard or a computed key is
//! [`Step::Any`]. Anything else done with a value (a function's argument,
//! an operand, an element of a list or map built, a projection's element
//! kept) reads it whole, and what is made of it is taken to hold nothing
//! but what was read: JMESPath and CEL functions see only their arguments.

use std::collections::BTreeSet;

use jmespath::ast::Ast;
use kube_cel::cel::common::ast::{operators, EntryExpr, Expr, IdedExpr, LiteralValue};

/// One step of a path from the context's root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A field or map key named plainly, however it was spelled
    /// (`.data`, `."data"`, `['data']`, `"\u0064ata"`).
    Field(String),
    /// Any field, key or element: a wildcard, an index, a computed key.
    Any,
}

/// The paths an expression reads, each from the context's root: its first
/// step is a top-level name (JMESPath: `request`, a context entry,
/// `element`; CEL: `object`, `request`, `variables`, `params`, a function's
/// receiver such as `resource`). An empty path is the root whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    paths: BTreeSet<Vec<Step>>,
}

impl Reads {
    /// Every path read, in order.
    pub fn paths(&self) -> impl Iterator<Item = &[Step]> {
        self.paths.iter().map(Vec::as_slice)
    }

    /// Whether the root itself is read whole (`@` at the top, `to_string(@)`)
    /// or through a step that may be any name (`*.object`, `[*.x]`).
    pub fn root_whole(&self) -> bool {
        self.paths
            .iter()
            .any(|path| matches!(path.first(), None | Some(Step::Any)))
    }

    /// What is read under the top-level name `name`: the rest of each path
    /// that starts with it, or with a step that may be it.
    pub fn under<'r>(&'r self, name: &'r str) -> impl Iterator<Item = &'r [Step]> + 'r {
        self.paths
            .iter()
            .filter_map(move |path| match path.split_first() {
                Some((Step::Field(first), rest)) if first == name => Some(rest),
                Some((Step::Any, rest)) => Some(rest),
                _ => None,
            })
    }
}

/// What a value is, as far as the reading follows it.
#[derive(Debug, Clone)]
enum Node {
    /// The value at this path from the root (the empty path: the root).
    At(Vec<Step>),
    /// A value made of what was already read (a literal, a function's
    /// result, a comparison's).
    Made,
}

impl Node {
    fn then(&self, step: Step) -> Node {
        match self {
            Node::At(path) => {
                let mut path = path.clone();
                path.push(step);
                Node::At(path)
            }
            Node::Made => Node::Made,
        }
    }
}

#[derive(Default)]
struct Reader {
    paths: BTreeSet<Vec<Step>>,
}

impl Reader {
    /// `node` is used whole.
    fn take(&mut self, node: Node) {
        if let Node::At(path) = node {
            self.paths.insert(path);
        }
    }

    fn done(mut self, result: Node) -> Reads {
        self.take(result);
        Reads { paths: self.paths }
    }
}

/// What the JMESPath `expression` reads of the context, parsed as the
/// engine's evaluator parses it ([`crate::jmespath`]); `None` when it does
/// not parse or holds more operators than the engine evaluates.
pub fn jmespath(expression: &str) -> Option<Reads> {
    use crate::nesting::{measure, Language, JMESPATH_MAX_OPERATORS};
    if measure(expression, Language::Jmespath).operators > JMESPATH_MAX_OPERATORS {
        return None;
    }
    let ast = jmespath::parse(expression).ok()?;
    let mut reader = Reader::default();
    let result = reader.jmespath(&ast, &Node::At(Vec::new()));
    Some(reader.done(result))
}

impl Reader {
    /// The value of `ast` evaluated against `current`, what it reads along
    /// the way recorded.
    fn jmespath(&mut self, ast: &Ast, current: &Node) -> Node {
        match ast {
            Ast::Identity { .. } => current.clone(),
            Ast::Field { name, .. } => current.then(Step::Field(name.clone())),
            Ast::Index { .. } => current.then(Step::Any),
            // A part of the list, an element list of the object, the
            // elements of nested lists: within what they are taken from.
            Ast::Slice { .. } => current.clone(),
            Ast::ObjectValues { node, .. } | Ast::Flatten { node, .. } => {
                self.jmespath(node, current)
            }
            Ast::Literal { .. } => Node::Made,
            Ast::Subexpr { lhs, rhs, .. } => {
                let left = self.jmespath(lhs, current);
                self.jmespath(rhs, &left)
            }
            Ast::Projection { lhs, rhs, .. } => {
                let left = self.jmespath(lhs, current);
                let kept = self.jmespath(rhs, &left.then(Step::Any));
                self.take(kept);
                Node::Made
            }
            Ast::Condition {
                predicate, then, ..
            } => {
                let tested = self.jmespath(predicate, current);
                self.take(tested);
                self.jmespath(then, current)
            }
            Ast::Comparison { lhs, rhs, .. }
            | Ast::And { lhs, rhs, .. }
            | Ast::Or { lhs, rhs, .. } => {
                for side in [lhs, rhs] {
                    let value = self.jmespath(side, current);
                    self.take(value);
                }
                Node::Made
            }
            Ast::Not { node, .. } => {
                let value = self.jmespath(node, current);
                self.take(value);
                Node::Made
            }
            Ast::Function { args, .. } => {
                for arg in args {
                    let value = self.jmespath(arg, current);
                    self.take(value);
                }
                Node::Made
            }
            // Applied to the elements of another argument, which that
            // argument's reading covers; read against the current node as
            // well, which can only read more.
            Ast::Expref { ast, .. } => {
                let value = self.jmespath(ast, current);
                self.take(value);
                Node::Made
            }
            Ast::MultiList { elements, .. } => {
                for element in elements {
                    let value = self.jmespath(element, current);
                    self.take(value);
                }
                Node::Made
            }
            Ast::MultiHash { elements, .. } => {
                for pair in elements {
                    let value = self.jmespath(&pair.value, current);
                    self.take(value);
                }
                Node::Made
            }
        }
    }
}

/// What the CEL expression `source` reads of its activation, parsed as the
/// engine parses it before its own rewrites ([`crate::cel`]); `None` when
/// it does not compile.
pub fn cel(source: &str) -> Option<Reads> {
    crate::cel::parse_as_written(source).map(|ast| cel_ast(&ast))
}

/// What the parsed CEL expression `expr` reads of its activation. A name a
/// comprehension binds is what it ranges over (an element, or a key, of
/// it), not a top-level name.
pub(crate) fn cel_ast(expr: &IdedExpr) -> Reads {
    let mut reader = Reader::default();
    let result = reader.cel(expr, &mut Vec::new());
    reader.done(result)
}

impl Reader {
    fn cel(&mut self, expr: &IdedExpr, bound: &mut Vec<(String, Node)>) -> Node {
        match &expr.expr {
            Expr::Ident(name) => bound
                .iter()
                .rev()
                .find(|(bound, _)| bound == name)
                .map_or_else(
                    || Node::At(vec![Step::Field(name.clone())]),
                    |(_, node)| node.clone(),
                ),
            // `has(a.b)` tests the field: read as the field.
            Expr::Select(select) => self
                .cel(&select.operand, bound)
                .then(Step::Field(select.field.clone())),
            Expr::Call(call) => {
                let name = call.func_name.as_str();
                match (call.target.as_deref(), call.args.as_slice()) {
                    (None, [operand, key])
                        if matches!(
                            name,
                            operators::INDEX | operators::OPT_INDEX | operators::OPT_SELECT
                        ) =>
                    {
                        let operand = self.cel(operand, bound);
                        match &key.expr {
                            Expr::Literal(LiteralValue::String(key)) => {
                                operand.then(Step::Field(key.inner().to_string()))
                            }
                            _ => {
                                let key = self.cel(key, bound);
                                self.take(key);
                                operand.then(Step::Any)
                            }
                        }
                    }
                    (target, args) => {
                        for part in target.into_iter().chain(args) {
                            let value = self.cel(part, bound);
                            self.take(value);
                        }
                        Node::Made
                    }
                }
            }
            Expr::Comprehension(comprehension) => {
                let range = self.cel(&comprehension.iter_range, bound);
                let initial = self.cel(&comprehension.accu_init, bound);
                self.take(initial);
                let depth = bound.len();
                // An element of a list, or a key of a map: under the range.
                bound.push((comprehension.iter_var.clone(), range.then(Step::Any)));
                if let Some(second) = &comprehension.iter_var2 {
                    bound.push((second.clone(), range.then(Step::Any)));
                }
                bound.push((comprehension.accu_var.clone(), Node::Made));
                for part in [
                    &comprehension.loop_cond,
                    &comprehension.loop_step,
                    &comprehension.result,
                ] {
                    let value = self.cel(part, bound);
                    self.take(value);
                }
                bound.truncate(depth);
                Node::Made
            }
            Expr::List(list) => {
                for element in &list.elements {
                    let value = self.cel(element, bound);
                    self.take(value);
                }
                Node::Made
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        for part in [&entry.key, &entry.value] {
                            let value = self.cel(part, bound);
                            self.take(value);
                        }
                    }
                }
                Node::Made
            }
            Expr::Struct(structure) => {
                for entry in &structure.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        let value = self.cel(&field.value, bound);
                        self.take(value);
                    }
                }
                Node::Made
            }
            Expr::Literal(_) => Node::Made,
            // Only the parser's error recovery leaves one; what it stood
            // for is not known.
            Expr::Unspecified => Node::At(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> Step {
        Step::Field(name.to_string())
    }

    fn jmespath_paths(expression: &str) -> Vec<Vec<Step>> {
        jmespath(expression)
            .unwrap_or_else(|| panic!("{expression} parses"))
            .paths()
            .map(<[Step]>::to_vec)
            .collect()
    }

    fn cel_paths(source: &str) -> Vec<Vec<Step>> {
        cel(source)
            .unwrap_or_else(|| panic!("{source} compiles"))
            .paths()
            .map(<[Step]>::to_vec)
            .collect()
    }

    #[test]
    fn jmespath_spellings_of_one_path_read_the_same() {
        let data = vec![field("request"), field("object"), field("data")];
        for spelling in [
            "request.object.data",
            r#"request."object".data"#,
            r#"request."\u006fbject".data"#,
            r#""req\u0075est".object.data"#,
            "@.request.object.data",
            "request.object | data",
            "[request][0].object.data",
        ] {
            let paths = jmespath_paths(spelling);
            assert!(
                paths
                    .iter()
                    .any(|path| path.starts_with(&data) || data.starts_with(path)),
                "{spelling}: {paths:?}"
            );
        }
        // Through any name: the root whole.
        for spelling in [
            "*.object.data",
            "[*.object.data][0][0]",
            "to_string(@)",
            "values(@)[?object].object.data | [0]",
            "@",
            "merge(@, `{}`)",
        ] {
            assert!(
                jmespath(spelling).is_some_and(|r| r.root_whole()),
                "{spelling}"
            );
        }
    }

    #[test]
    fn jmespath_reads_only_what_it_names() {
        assert_eq!(
            jmespath_paths("request.object.spec.containers[].image | length(@)"),
            vec![vec![
                field("request"),
                field("object"),
                field("spec"),
                field("containers"),
                Step::Any,
                field("image")
            ]]
        );
        assert_eq!(
            jmespath_paths("request.object.metadata.labels.* | [0]"),
            vec![vec![
                field("request"),
                field("object"),
                field("metadata"),
                field("labels"),
                Step::Any
            ]]
        );
        assert_eq!(
            jmespath_paths("contains(['CREATE', 'UPDATE'], request.operation) && `true`"),
            vec![vec![field("request"), field("operation")]]
        );
        let filtered = jmespath_paths("request.object.spec.containers[?name == 'a'].image");
        assert!(filtered.contains(&vec![
            field("request"),
            field("object"),
            field("spec"),
            field("containers"),
            Step::Any,
            field("name")
        ]));
        assert!(jmespath("request.object.data.{{ key }}").is_none());
    }

    #[test]
    fn cel_spellings_of_one_path_read_the_same() {
        let data = vec![field("object"), field("data")];
        for spelling in [
            "object.data",
            "object['data']",
            "object[\"d\\x61ta\"]",
            "object['\\u0064ata']",
            "object[r'data']",
            "object.?data.orValue({})",
            "object[?'data'].orValue({})",
            "has(object.data)",
        ] {
            let paths = cel_paths(spelling);
            assert!(
                paths.iter().any(|path| path.starts_with(&data)),
                "{spelling}: {paths:?}"
            );
        }
        // A computed key is any field.
        assert_eq!(
            cel_paths("object['d' + 'ata']"),
            vec![vec![field("object"), Step::Any]]
        );
        // A comprehension's names are under what it ranges over.
        let paths = cel_paths("object.data.map(k, object.data[k]).join(',')");
        assert!(paths.contains(&vec![field("object"), field("data"), Step::Any]));
        assert!(!paths.iter().any(|path| path.first() == Some(&field("k"))));
        assert_eq!(
            cel_paths("request.operation in ['CREATE'] ? object.kind : 'x'"),
            vec![
                vec![field("object"), field("kind")],
                vec![field("request"), field("operation")]
            ]
        );
        assert!(cel("object.").is_none());
    }
}
