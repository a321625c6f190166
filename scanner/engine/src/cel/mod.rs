//! CEL for policies: expressions compiled once per policy (`Program`),
//! the environment they run in (the Kubernetes CEL libraries from
//! `kube-cel`, Kyverno's libraries, cel-go's optional semantics), the
//! per-resource `ResourceScope` that binds `object`, `oldObject`,
//! `request` and `namespaceObject` (converted to CEL once per resource and
//! shared by every policy evaluated on it, through `ScopeCache` or
//! `policies::admission::RequestFacts`), and the per-policy `Activation`
//! above it that binds `params`, `variables` and Kyverno's libraries.
//! Policy kinds build on it: `validate.cel` rules of Kyverno policies
//! (`rule`), and the CEL policy kinds in [`policies`] (Kyverno
//! ValidatingPolicies, Kubernetes ValidatingAdmissionPolicies, CEL
//! PolicyExceptions). JSON enters, CEL values and errors leave.
//!
//! The policy kinds sit in their own folder, `policies/`, rather than flat
//! beside the environment, as Kyverno's pkg/cel/policies does: the
//! environment files serve every caller of CEL (Kyverno's `validate.cel`
//! rules too), the policy files only their kind, and the folder keeps the
//! two apart at a glance.

mod accumulate;
mod arithmetic;
pub(crate) mod budget;
mod declared;
mod environment;
mod kubernetes_fixes;
mod kyverno_lib;
pub(crate) mod names;
mod optional;
mod paths;
pub mod policies;
mod program;
mod quantifiers;
pub(crate) mod rule;
mod syntax;
mod unary;

#[cfg(test)]
mod library_tests;

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::Deref;
use std::sync::Arc;

use kube_cel::cel;
use serde::Deserialize;
use serde_json::Value;

use super::context::ClusterData;

pub(crate) use program::{parse_as_written, Program};
pub(crate) use rule::{preconditions_met, validate, CelValidation};

/// A validation: a boolean expression with its message.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CelExpression {
    pub(crate) expression: Program,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) message_expression: Option<Program>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

/// A named expression: a variable, a match condition, a precondition.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CelVariable {
    /// Required for variables and match conditions; Kyverno's
    /// `celPreconditions` accept it empty.
    #[serde(default)]
    pub(crate) name: String,
    pub(crate) expression: Program,
}

/// An audit annotation: `key` and the expression giving its value.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditAnnotation {
    pub(crate) key: String,
    pub(crate) value_expression: Program,
}

/// The names a [`ResourceScope`] binds.
const RESOURCE_NAMES: [&str; 4] = ["object", "oldObject", "request", "namespaceObject"];

/// What an expression sees of the resource: the same for every policy of
/// one kind evaluated on it, so converted to CEL once ([`ResourceScope`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CelInputs {
    pub(crate) object: Value,
    pub(crate) old_object: Value,
    pub(crate) request: Value,
    pub(crate) namespace_object: Value,
}

/// What one policy evaluation adds to the resource's inputs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PolicyInputs<'a> {
    /// The params object bound as `params`; null when none.
    pub(crate) params: Option<&'a Value>,
    /// The namespace of a namespaced policy (NamespacedValidatingPolicy):
    /// Kyverno then scopes its `resource` library to it and refuses live
    /// `http` calls (kyverno/sdk resource/namespaced_impl.go,
    /// pkg/cel/compiler/http.go).
    pub(crate) policy_namespace: Option<&'a str>,
    /// The names the policy's expressions read: only those are bound.
    /// None binds every name.
    pub(crate) uses: Option<&'a Uses>,
}

/// The names a policy's expressions read ([`names`]), so that its
/// activation binds (and, for variables, evaluates) only those.
#[derive(Debug, Clone, Default)]
pub(crate) struct Uses {
    names: HashSet<String>,
}

impl Uses {
    /// The names any of `programs` reads.
    pub(crate) fn of<'p>(programs: impl IntoIterator<Item = &'p Program>) -> Uses {
        Uses {
            names: programs
                .into_iter()
                .flat_map(|program| program.names().iter().cloned())
                .collect(),
        }
    }

    /// Whether some expression reads `name`.
    pub(crate) fn reads(&self, name: &str) -> bool {
        self.names.contains(name)
    }
}

/// Whether `uses` (None: every name) reads `name`.
fn read(uses: Option<&Uses>, name: &str) -> bool {
    uses.is_none_or(|uses| uses.reads(name))
}

/// `(object, oldObject)` of a request with `operation` on `resource`, as
/// the API server binds them (and Kyverno's CLI:
/// cmd/cli/kubectl-kyverno/processor/operation.go AdmissionRequestShape):
/// a DELETE has no `object`, only the stored `oldObject`; an UPDATE, as
/// polscan presents it, both; anything else, `object` alone.
pub(crate) fn admission_shape(operation: &str, resource: &Value) -> (Value, Value) {
    match operation {
        "DELETE" => (Value::Null, resource.clone()),
        "UPDATE" => (resource.clone(), resource.clone()),
        _ => (resource.clone(), Value::Null),
    }
}

/// A resource's [`CelInputs`] converted to CEL: a child scope of the shared
/// environment holding `object`, `oldObject`, `request` and
/// `namespaceObject`. Every [`Activation`] on the resource is a child scope
/// of it, so the resource is converted once however many policies, rules
/// and expressions read it.
pub(crate) struct ResourceScope {
    inputs: CelInputs,
    ctx: cel::Context<'static>,
    /// Values of variables that read only the resource's inputs, by
    /// expression: policies on one resource often define the same one
    /// (the library's `allContainers`), evaluated here once.
    resource_variables: RefCell<HashMap<Arc<str>, Result<cel::Value, String>>>,
}

impl ResourceScope {
    pub(crate) fn new(inputs: CelInputs) -> ResourceScope {
        let mut ctx = environment::shared().new_inner_scope();
        ctx.add_variable_from_value("object", to_cel(&inputs.object));
        ctx.add_variable_from_value("oldObject", to_cel(&inputs.old_object));
        ctx.add_variable_from_value("request", to_cel(&inputs.request));
        ctx.add_variable_from_value("namespaceObject", to_cel(&inputs.namespace_object));
        ResourceScope {
            inputs,
            ctx,
            resource_variables: RefCell::default(),
        }
    }

    /// The JSON the scope was built from.
    pub(crate) fn inputs(&self) -> &CelInputs {
        &self.inputs
    }

    fn holds(
        &self,
        object: &Value,
        old_object: &Value,
        request: &Value,
        namespace_object: &Value,
    ) -> bool {
        // The small values first: they tell most differing inputs apart.
        self.inputs.request == *request
            && self.inputs.namespace_object == *namespace_object
            && same_json(&self.inputs.old_object, old_object)
            && same_json(&self.inputs.object, object)
    }
}

/// `a == b`, faster for the usual case of a copy: objects are compared
/// entry by entry in order (serde_json's equality looks each key up in the
/// other map), and by lookup only when their keys are in another order.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return false;
            }
            for ((xk, xv), (yk, yv)) in x.iter().zip(y) {
                if xk != yk {
                    return a == b;
                }
                // A value differs under the same key: unequal in any order.
                if !same_json(xv, yv) {
                    return false;
                }
            }
            true
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(xv, yv)| same_json(xv, yv))
        }
        _ => a == b,
    }
}

/// A [`ResourceScope`] lent by a [`ScopeCache`] or built for one caller.
pub(crate) enum ScopeRef<'c> {
    Shared(&'c ResourceScope),
    Own(Box<ResourceScope>),
}

impl Deref for ScopeRef<'_> {
    type Target = ResourceScope;

    fn deref(&self) -> &ResourceScope {
        match self {
            ScopeRef::Shared(scope) => scope,
            ScopeRef::Own(scope) => scope,
        }
    }
}

/// How many distinct inputs a [`ScopeCache`] keeps; more are converted per
/// use. One resource gives one set of inputs unless values files rewrite
/// the object or the operation for some policies.
const CACHED_SCOPES: usize = 4;

/// The scopes of one resource, built on first use and kept while the
/// resource is evaluated. `validate.cel` rules read their inputs from each
/// rule's JSON context, which values files may change per policy or rule,
/// so a scope is looked up by its inputs rather than assumed.
#[derive(Default)]
pub(crate) struct ScopeCache {
    slots: [OnceCell<ResourceScope>; CACHED_SCOPES],
    /// The scope of a rule context no values file changed, with its
    /// operation: its inputs follow from the resource and the request, so
    /// the engine builds it without the JSON context.
    plain: OnceCell<(String, ResourceScope)>,
}

impl ScopeCache {
    /// The scope of a rule context that no values change, for `operation`
    /// (`inputs` builds it the first time); `None` when the one cached is
    /// for another operation.
    pub(crate) fn plain(
        &self,
        operation: &str,
        inputs: impl FnOnce() -> CelInputs,
    ) -> Option<&ResourceScope> {
        let (cached, scope) = self
            .plain
            .get_or_init(|| (operation.to_string(), ResourceScope::new(inputs())));
        (cached == operation).then_some(scope)
    }

    /// The scope of these inputs: a cached one that holds the same values,
    /// else a new one (cached while there is room).
    pub(crate) fn scope(
        &self,
        object: &Value,
        old_object: &Value,
        request: Value,
        namespace_object: Value,
    ) -> ScopeRef<'_> {
        for slot in &self.slots {
            match slot.get() {
                Some(scope) if scope.holds(object, old_object, &request, &namespace_object) => {
                    return ScopeRef::Shared(scope)
                }
                Some(_) => {}
                None => {
                    let scope = ResourceScope::new(CelInputs {
                        object: object.clone(),
                        old_object: old_object.clone(),
                        request,
                        namespace_object,
                    });
                    return ScopeRef::Shared(slot.get_or_init(|| scope));
                }
            }
        }
        ScopeRef::Own(Box::new(ResourceScope::new(CelInputs {
            object: object.clone(),
            old_object: old_object.clone(),
            request,
            namespace_object,
        })))
    }
}

/// JSON to CEL as Kubernetes does it: whole numbers are `int` (serde's
/// unsigned numbers would otherwise become `uint`, which never equals an
/// `int` literal), other numbers `double`.
pub(crate) fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let out: HashMap<String, cel::Value> = map
                .iter()
                .map(|(key, item)| (key.clone(), to_cel(item)))
                .collect();
            cel::Value::from(out)
        }
    }
}

/// CEL to JSON, for messages, audit annotations and tests. Bytes become
/// base64 (cel-go's JSON form); durations and timestamps their Debug text;
/// opaque library types (a URL, a quantity) only their type name in angle
/// brackets (`<kubernetes.URL>`), never their content.
pub(crate) fn to_json(value: &cel::Value) -> Value {
    use cel::objects::Key;
    match value {
        cel::Value::Null => Value::Null,
        cel::Value::Bool(b) => Value::Bool(*b),
        cel::Value::Int(i) => Value::from(*i),
        cel::Value::UInt(u) => Value::from(*u),
        cel::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        cel::Value::String(s) => Value::String(s.to_string()),
        cel::Value::List(items) => Value::Array(items.iter().map(to_json).collect()),
        cel::Value::Map(map) => {
            let mut out = serde_json::Map::new();
            for (key, item) in map.map.iter() {
                let key = match key {
                    Key::String(s) => s.to_string(),
                    Key::Int(i) => i.to_string(),
                    Key::Uint(u) => u.to_string(),
                    Key::Bool(b) => b.to_string(),
                };
                out.insert(key, to_json(item));
            }
            Value::Object(out)
        }
        cel::Value::Opaque(opaque) => {
            if let Ok(inner) = <&cel::objects::OptionalValue>::try_from(value) {
                return inner.value().map(to_json).unwrap_or(Value::Null);
            }
            // Never the value's Debug text: a URL's shows its password
            // split out, which the redaction cannot know (red22 F14).
            Value::String(format!("<{}>", opaque.runtime_type_name()))
        }
        // As cel-go writes bytes in JSON: base64 (the redaction knows a
        // Secret's data in that form; a list of byte numbers it did not).
        cel::Value::Bytes(bytes) => {
            use base64::Engine as _;
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()))
        }
        // As cel-go writes them in JSON (proto3: `5400s`, RFC 3339), not
        // in Rust's Debug form.
        cel::Value::Duration(span) => Value::String(kubernetes_fixes::duration_seconds(span)),
        cel::Value::Timestamp(at) => Value::String(kubernetes_fixes::rfc3339_nano(at)),
        other => Value::String(format!("{other:?}")),
    }
}

/// One policy evaluation's bindings (`params`, `variables`, Kyverno's
/// libraries and any more names), a child scope of the resource's
/// [`ResourceScope`].
pub(crate) struct Activation<'s> {
    scope: &'s ResourceScope,
    ctx: cel::Context<'s>,
    /// Variables whose expression failed, with the error, so a use of one
    /// reports why rather than "no such key".
    failed_variables: HashMap<String, String>,
    variables: HashMap<String, cel::Value>,
}

impl<'s> Activation<'s> {
    pub(crate) fn new(
        scope: &'s ResourceScope,
        data: &Arc<dyn ClusterData>,
        policy: PolicyInputs<'_>,
    ) -> Activation<'s> {
        let mut ctx = scope.ctx.new_inner_scope();
        if read(policy.uses, "params") {
            ctx.add_variable_from_value("params", policy.params.map_or(cel::Value::Null, to_cel));
        }
        kyverno_lib::bind(&mut ctx, data, policy.policy_namespace, &|library| {
            read(policy.uses, library)
        });
        if read(policy.uses, names::VARIABLES) {
            ctx.add_variable_from_value(
                names::VARIABLES,
                cel::Value::from(HashMap::<String, cel::Value>::new()),
            );
        }
        Activation {
            scope,
            ctx,
            failed_variables: HashMap::new(),
            variables: HashMap::new(),
        }
    }

    /// Evaluates `variables` in order (later ones may use earlier ones) and
    /// exposes each as `variables.<name>`, each bound under its own name
    /// ([`names`]); the map `variables` is bound too when some expression
    /// reads it whole. A variable that fails stays unset; an expression
    /// that uses it then fails with its error, as in Kubernetes, where
    /// variables are evaluated when first used. With `uses`, a variable no
    /// expression reads is not evaluated (nor could its error be seen).
    pub(crate) fn bind_variables(&mut self, variables: &[CelVariable], uses: Option<&Uses>) {
        let map_read = read(uses, names::VARIABLES);
        // The map as bound lags behind the variables evaluated.
        let mut map_behind = false;
        for variable in variables {
            let name = names::variable_name(&variable.name);
            if !map_read && !read(uses, &name) {
                continue;
            }
            if map_behind
                && variable
                    .expression
                    .names()
                    .iter()
                    .any(|n| n == names::VARIABLES)
            {
                self.bind_map();
                map_behind = false;
            }
            match self.evaluate_variable(&variable.expression) {
                Ok(value) => {
                    if map_read {
                        self.variables.insert(variable.name.clone(), value.clone());
                        map_behind = true;
                    }
                    self.ctx.add_variable_from_value(name, value);
                }
                Err(err) => {
                    self.failed_variables.insert(variable.name.clone(), err);
                }
            }
        }
        if map_behind {
            self.bind_map();
        }
    }

    /// A variable's value: from the resource scope when it reads nothing
    /// but the resource's inputs (the same for every policy on it; its
    /// error reads no variable, so it is the same for every policy too).
    fn evaluate_variable(&self, program: &Program) -> Result<cel::Value, String> {
        // A variable built from the last one twice over, forty times, asks
        // for terabytes: each is bounded (the next then fails with its error).
        let bounded = |value: Result<cel::Value, String>| match value {
            Ok(value)
                if crate::value_size::cel_exceeds(&value, crate::value_size::MAX_VALUE_BYTES) =>
            {
                Err(crate::value_size::too_large("the variable's value"))
            }
            other => other,
        };
        if !program.reads_only(&RESOURCE_NAMES) {
            return bounded(program.evaluate(self));
        }
        let cache = &self.scope.resource_variables;
        if let Some(value) = cache.borrow().get(program.source()) {
            return value.clone();
        }
        let value = bounded(program.evaluate(self));
        cache
            .borrow_mut()
            .insert(program.source_arc(), value.clone());
        value
    }

    fn bind_map(&mut self) {
        self.ctx
            .add_variable_from_value(names::VARIABLES, cel::Value::from(self.variables.clone()));
    }

    /// Binds one more top-level name (Kyverno's `exceptions` for
    /// ValidatingPolicies), as JSON.
    pub(crate) fn bind_value(&mut self, name: &str, value: &Value) {
        self.ctx.add_variable_from_value(name, to_cel(value));
    }

    fn context(&self) -> &cel::Context<'s> {
        &self.ctx
    }

    /// The first failed variable (by name) as its error, as `explain`
    /// words it; None when every variable bound evaluated.
    fn failed_variable(&self) -> Option<String> {
        self.failed_variables
            .iter()
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(name, cause)| format!("variable {name:?} failed: {cause}"))
    }

    /// Rewrites cel's "Undeclared reference to 'variables.x'" (a read of
    /// one variable, [`names`]) and, in an expression that reads the map
    /// `variables` whole (`reads_map`), "No such key: x", for a failed
    /// variable `x` into the variable's own error, and a read of a
    /// variable that does not exist into "No such key: x", as the map read
    /// says it. Other errors, and those of expressions that read no
    /// variable (a missing field of the object), stay as they are.
    fn explain(&self, error: String, reads_map: bool) -> String {
        let unbound = error
            .strip_prefix("Undeclared reference to '")
            .and_then(|rest| rest.strip_suffix('\''))
            .and_then(|name| name.strip_prefix(names::VARIABLES))
            .and_then(|name| name.strip_prefix('.'));
        let missing = error.strip_prefix("No such key: ").filter(|_| reads_map);
        if let Some(name) = unbound.or(missing) {
            if let Some(cause) = self.failed_variables.get(name.trim()) {
                return format!("variable {name:?} failed: {cause}");
            }
            if unbound.is_some() {
                return format!("No such key: {name}");
            }
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::NoClusterData;
    use serde_json::json;

    fn name_of(scope: &ResourceScope) -> Value {
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let activation = Activation::new(scope, &data, PolicyInputs::default());
        to_json(
            &Program::compile("object.metadata.name + '/' + request.operation")
                .evaluate(&activation)
                .expect("evaluates"),
        )
    }

    fn variable(name: &str, source: &str) -> CelVariable {
        CelVariable {
            name: name.into(),
            expression: Program::compile(source),
        }
    }

    fn pod(name: &str) -> Value {
        json!({"kind": "Pod", "metadata": {"name": name}})
    }

    #[test]
    fn equal_inputs_share_one_scope_and_others_get_their_own() {
        let cache = ScopeCache::default();
        let create = || json!({"operation": "CREATE"});
        let first = cache.scope(&pod("a"), &Value::Null, create(), Value::Null);
        let again = cache.scope(&pod("a"), &Value::Null, create(), Value::Null);
        assert!(matches!(
            (&first, &again),
            (ScopeRef::Shared(x), ScopeRef::Shared(y)) if std::ptr::eq(*x, *y)
        ));
        let update = cache.scope(
            &pod("a"),
            &Value::Null,
            json!({"operation": "UPDATE"}),
            Value::Null,
        );
        assert!(!std::ptr::eq(&*first, &*update));
        assert_eq!(name_of(&first), json!("a/CREATE"));
        assert_eq!(name_of(&update), json!("a/UPDATE"));
    }

    #[test]
    fn inputs_beyond_the_cached_ones_are_converted_for_their_caller() {
        let cache = ScopeCache::default();
        let scopes: Vec<ScopeRef<'_>> = (0..CACHED_SCOPES + 2)
            .map(|i| {
                cache.scope(
                    &pod(&format!("p{i}")),
                    &Value::Null,
                    json!({"operation": "CREATE"}),
                    Value::Null,
                )
            })
            .collect();
        let own = scopes
            .iter()
            .filter(|s| matches!(s, ScopeRef::Own(_)))
            .count();
        assert_eq!(own, 2);
        for (i, scope) in scopes.iter().enumerate() {
            assert_eq!(name_of(scope), json!(format!("p{i}/CREATE")));
        }
    }

    #[test]
    fn same_json_is_json_equality() {
        let cases = [
            (
                json!({"a": 1, "b": [1, {"c": 2}]}),
                json!({"a": 1, "b": [1, {"c": 2}]}),
            ),
            (json!({"a": 1, "b": 2}), json!({"b": 2, "a": 1})),
            (json!({"a": 1, "b": 2}), json!({"b": 2, "a": 3})),
            (
                json!({"a": {"x": 1, "y": 2}}),
                json!({"a": {"y": 2, "x": 1}}),
            ),
            (json!({"a": 1, "b": [1, 2]}), json!({"a": 1, "b": [2, 1]})),
            (json!({"a": 1}), json!({"a": 1, "b": 2})),
            (json!({"a": 1, "b": 2}), json!({"a": 1, "c": 2})),
            (json!([1, 2.5, "x", null]), json!([1, 2.5, "x", null])),
            (json!(1), json!(1.0)),
            (json!(null), json!({})),
        ];
        for (a, b) in &cases {
            assert_eq!(same_json(a, b), a == b, "{a} vs {b}");
            assert_eq!(same_json(b, a), a == b, "{b} vs {a}");
        }
    }

    #[test]
    fn variables_of_the_resource_alone_are_shared_by_policies_and_others_are_not() {
        let scope = ResourceScope::new(CelInputs {
            object: json!({"a": 1}),
            ..CelInputs::default()
        });
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let value_of = |params: &Value, variables: &[CelVariable], read: &str| {
            let inputs = PolicyInputs {
                params: Some(params),
                ..PolicyInputs::default()
            };
            let mut activation = Activation::new(&scope, &data, inputs);
            activation.bind_variables(variables, None);
            Program::compile(read)
                .evaluate(&activation)
                .map(|v| to_json(&v))
        };
        let shared = [
            variable("sum", "object.a + 1"),
            variable("broken", "object.b.c"),
        ];
        let own = [variable("sum", "object.a + params.add")];
        // The same expression on the same resource: evaluated once, the
        // same value (or error) for each policy.
        assert_eq!(value_of(&json!({}), &shared, "variables.sum"), Ok(json!(2)));
        assert_eq!(scope.resource_variables.borrow().len(), 2);
        assert_eq!(value_of(&json!({}), &shared, "variables.sum"), Ok(json!(2)));
        let broken = value_of(&json!({}), &shared, "variables.broken");
        assert_eq!(broken, value_of(&json!({}), &shared, "variables.broken"));
        assert!(broken.is_err_and(|e| e.starts_with("variable \"broken\" failed")));
        // One that reads params differs by policy and is not kept.
        assert_eq!(
            value_of(&json!({"add": 10}), &own, "variables.sum"),
            Ok(json!(11))
        );
        assert_eq!(
            value_of(&json!({"add": 20}), &own, "variables.sum"),
            Ok(json!(21))
        );
        assert_eq!(scope.resource_variables.borrow().len(), 2);
    }

    /// red22 F6: forty variables, each the last one twice over, asked for
    /// terabytes and aborted the process; each value is bounded, so the
    /// policy's expression fails with the variable's error instead.
    #[test]
    fn a_variable_that_outgrows_the_bound_is_an_error_not_an_abort() {
        let scope = ResourceScope::new(CelInputs {
            object: json!({"seed": "0123456789abcdef0123456789abcdef"}),
            ..CelInputs::default()
        });
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let mut variables = vec![variable("v0", "object.seed")];
        for i in 1..40 {
            variables.push(variable(
                &format!("v{i}"),
                &format!("variables.v{j} + variables.v{j}", j = i - 1),
            ));
        }
        let mut activation = Activation::new(&scope, &data, PolicyInputs::default());
        activation.bind_variables(&variables, None);
        let outcome = Program::compile("variables.v20 != ''").evaluate(&activation);
        let error = outcome.expect_err("bounded");
        assert!(error.contains("larger than 16 MiB"), "{error}");
        // Through size(), as the policy read it: the variable's own error
        // (the cel crate's `This` said "Missing argument or target").
        let error = Program::compile("size(variables.v39) < 10")
            .evaluate(&activation)
            .expect_err("bounded");
        assert!(
            error.starts_with("variable \"v39\" failed: ") && error.contains("larger than 16 MiB"),
            "{error}"
        );
        // The last one within the bound still has its value.
        let within = Program::compile("size(variables.v18)").evaluate(&activation);
        assert_eq!(within.map(|v| to_json(&v)), Ok(json!(32 << 18)));
    }

    /// rev27 F1: a failed variable is missing from the map bound as
    /// `variables`, which Kubernetes binds lazily with every declared name:
    /// an expression reading the map whole is that variable's error, not
    /// a verdict on a map without it (`'broken' in variables` was false, a
    /// FAIL); one reading a single other variable is unaffected.
    #[test]
    fn an_expression_reading_the_variables_map_whole_gives_a_failed_variable_s_error() {
        let scope = ResourceScope::new(CelInputs {
            object: json!({"metadata": {"name": "cm"}}),
            ..CelInputs::default()
        });
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let variables = [
            variable("fine", "1"),
            variable("broken", "object.metadata.labels.app"),
        ];
        let mut activation = Activation::new(&scope, &data, PolicyInputs::default());
        activation.bind_variables(&variables, None);
        for whole in [
            "'broken' in variables",
            "variables.exists(k, k == 'broken')",
            "size(variables) == 1",
        ] {
            let error = Program::compile(whole)
                .evaluate(&activation)
                .expect_err(whole);
            assert!(
                error.starts_with("variable \"broken\" failed: "),
                "{whole}: {error}"
            );
        }
        assert_eq!(
            Program::compile("variables.fine == 1")
                .evaluate(&activation)
                .map(|v| to_json(&v)),
            Ok(json!(true))
        );
    }

    #[test]
    fn a_shared_variable_s_error_is_the_same_whichever_policy_met_it_first() {
        // No labels: `object.metadata.labels` fails with "No such key: labels".
        let scope = || {
            ResourceScope::new(CelInputs {
                object: json!({"metadata": {"name": "cm"}}),
                ..CelInputs::default()
            })
        };
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let error_of = |scope: &ResourceScope, variables: &[CelVariable], read: &str| {
            let mut activation = Activation::new(scope, &data, PolicyInputs::default());
            activation.bind_variables(variables, None);
            Program::compile(read)
                .evaluate(&activation)
                .expect_err("fails")
        };
        let first = [
            variable("labels", "object.metadata.labels"),
            variable("app", "object.metadata.labels.app"),
        ];
        let second = [variable("app", "object.metadata.labels.app")];
        let expected = "variable \"app\" failed: No such key: labels";
        // Alone on its resource.
        assert_eq!(
            error_of(&scope(), &second, "variables.app == 'x'"),
            expected
        );
        // After a policy whose own failed variable is named `labels`.
        let shared = scope();
        assert_eq!(error_of(&shared, &first, "variables.app == 'x'"), expected);
        assert_eq!(error_of(&shared, &second, "variables.app == 'x'"), expected);
        // An expression that reads no variable keeps its own error, even
        // with a failed variable of that name.
        assert_eq!(
            error_of(&scope(), &first, "object.metadata.labels.app == 'x'"),
            "No such key: labels"
        );
    }

    #[test]
    fn policy_inputs_sit_above_the_shared_scope() {
        let scope = ResourceScope::new(CelInputs {
            object: pod("a"),
            ..CelInputs::default()
        });
        let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
        let params = json!({"max": 2});
        let with_params = Activation::new(
            &scope,
            &data,
            PolicyInputs {
                params: Some(&params),
                ..PolicyInputs::default()
            },
        );
        let without = Activation::new(&scope, &data, PolicyInputs::default());
        let read = Program::compile("params == null ? object.metadata.name : string(params.max)");
        assert_eq!(
            read.evaluate(&with_params).map(|v| to_json(&v)),
            Ok(json!("2"))
        );
        assert_eq!(read.evaluate(&without).map(|v| to_json(&v)), Ok(json!("a")));
    }
}
