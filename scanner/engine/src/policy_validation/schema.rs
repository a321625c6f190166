//! The schemas a policy document is decoded against, written as compact
//! tables, and the walk that checks a document with them. A document
//! (`serde_json::Value`) and a schema enter; the unknown fields and the
//! schema errors (type, enum, required) leave, each with its field path.
//!
//! Sources: the field names, types, enums and `required` lists follow the
//! CRDs the Kyverno CLI validates policies with
//! (`cmd/cli/kubectl-kyverno/data/crds/kyverno.io_clusterpolicies.yaml`,
//! `policies.kyverno.io_validatingpolicies.yaml`, v1 versions) and, for
//! ValidatingAdmissionPolicy and its binding, the Kubernetes 1.32 OpenAPI
//! the CLI hard-codes (`openapiclient.NewHardcodedBuiltins("1.32")` in
//! `cmd/cli/kubectl-kyverno/policy/load.go`). Subtrees the CRDs mark
//! `x-kubernetes-preserve-unknown-fields` (patterns, conditions, data) are
//! [`Node::Any`]. The error texts imitate kubectl-validate's.

use serde_json::Value;

/// One place in a schema.
#[derive(Clone, Copy)]
pub(crate) enum Node {
    /// Anything goes (a preserve-unknown-fields subtree, or `status`).
    Any,
    Str,
    /// A string of at most this many characters (`maxLength`).
    StrMax(usize),
    Bool,
    Int,
    /// A string from a fixed list.
    Enum(&'static [&'static str]),
    List(&'static Node),
    /// A map whose values are strings (labels, annotations).
    StrMap,
    /// A map whose values follow a schema.
    MapOf(&'static Node),
    Obj(&'static Obj),
}

/// An object with known fields.
pub(crate) struct Obj {
    /// Known fields and their schemas.
    pub(crate) fields: &'static [(&'static str, Node)],
    /// Fields that must be present and not null.
    pub(crate) required: &'static [&'static str],
    /// Known fields are typed, others are kept (preserve-unknown-fields on
    /// an object that also lists properties).
    pub(crate) open: bool,
}

/// A schema finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// Dotted field path (`spec.rules[0].name`).
    pub(crate) path: String,
    /// kubectl-validate's wording of the error.
    pub(crate) message: String,
    /// An unknown field (kubectl-validate's strict decode), as opposed to a
    /// type, enum or required error.
    pub(crate) unknown_field: bool,
}

/// Checks `value` against `node`, appending findings; `path` names `value`.
pub(crate) fn check(node: &Node, value: &Value, path: &str, out: &mut Vec<Finding>) {
    // Kubernetes decoding treats an explicit null like an absent field.
    if value.is_null() {
        return;
    }
    let type_error = |expected: &str, out: &mut Vec<Finding>| {
        out.push(Finding {
            path: path.to_string(),
            message: format!(
                "Invalid value: \"{}\": {path} in body must be of type {expected}: \"{}\"",
                type_word(value),
                type_word(value)
            ),
            unknown_field: false,
        })
    };
    match node {
        Node::Any => {}
        Node::Str => {
            if !value.is_string() {
                type_error("string", out);
            }
        }
        Node::StrMax(max) => match value.as_str() {
            Some(text) if text.chars().count() > *max => out.push(Finding {
                path: path.to_string(),
                message: format!("Too long: may not be more than {max} bytes"),
                unknown_field: false,
            }),
            Some(_) => {}
            None => type_error("string", out),
        },
        Node::Bool => {
            if !value.is_boolean() {
                type_error("boolean", out);
            }
        }
        Node::Int => {
            if !(value.is_i64() || value.is_u64()) {
                type_error("integer", out);
            }
        }
        Node::Enum(allowed) => match value.as_str() {
            Some(text) if allowed.contains(&text) => {}
            Some(text) => out.push(Finding {
                path: path.to_string(),
                message: format!(
                    "Unsupported value: \"{text}\": supported values: {}",
                    allowed
                        .iter()
                        .map(|a| format!("\"{a}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                unknown_field: false,
            }),
            None => type_error("string", out),
        },
        Node::List(item) => match value.as_array() {
            Some(items) => {
                for (index, element) in items.iter().enumerate() {
                    check(item, element, &format!("{path}[{index}]"), out);
                }
            }
            None => type_error("array", out),
        },
        Node::StrMap => check(&Node::MapOf(&Node::Str), value, path, out),
        Node::MapOf(item) => match value.as_object() {
            Some(map) => {
                for (key, element) in map {
                    check(item, element, &format!("{path}.{key}"), out);
                }
            }
            None => type_error("object", out),
        },
        Node::Obj(obj) => check_object(obj, value, path, out),
    }
}

fn check_object(obj: &Obj, value: &Value, path: &str, out: &mut Vec<Finding>) {
    let Some(map) = value.as_object() else {
        out.push(Finding {
            path: path.to_string(),
            message: format!(
                "Invalid value: \"{}\": {path} in body must be of type object: \"{}\"",
                type_word(value),
                type_word(value)
            ),
            unknown_field: false,
        });
        return;
    };
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    for (key, element) in map {
        match obj.fields.iter().find(|(name, _)| name == key) {
            Some((_, node)) => check(node, element, &child(key), out),
            None if obj.open => {}
            None => out.push(Finding {
                path: child(key),
                message: "Invalid value: value provided for unknown field".into(),
                unknown_field: true,
            }),
        }
    }
    for required in obj.required {
        if map.get(*required).is_none_or(Value::is_null) {
            out.push(Finding {
                path: child(required),
                message: "Required value".into(),
                unknown_field: false,
            });
        }
    }
}

fn type_word(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

const STRINGS: Node = Node::List(&Node::Str);

const fn obj(fields: &'static [(&'static str, Node)]) -> Obj {
    Obj {
        fields,
        required: &[],
        open: false,
    }
}

const fn obj_req(
    fields: &'static [(&'static str, Node)],
    required: &'static [&'static str],
) -> Obj {
    Obj {
        fields,
        required,
        open: false,
    }
}

// ---- Kubernetes building blocks -------------------------------------------

static OWNER_REFERENCE: Obj = obj_req(
    &[
        ("apiVersion", Node::Str),
        ("blockOwnerDeletion", Node::Bool),
        ("controller", Node::Bool),
        ("kind", Node::Str),
        ("name", Node::Str),
        ("uid", Node::Str),
    ],
    &["apiVersion", "kind", "name", "uid"],
);

/// `metav1.ObjectMeta`; `managedFields` entries are free-form here.
pub(crate) static OBJECT_META: Obj = obj(&[
    ("annotations", Node::StrMap),
    ("creationTimestamp", Node::Any),
    ("deletionGracePeriodSeconds", Node::Int),
    ("deletionTimestamp", Node::Any),
    ("finalizers", STRINGS),
    ("generateName", Node::Str),
    ("generation", Node::Int),
    ("labels", Node::StrMap),
    ("managedFields", Node::List(&Node::Any)),
    ("name", Node::Str),
    ("namespace", Node::Str),
    ("ownerReferences", Node::List(&Node::Obj(&OWNER_REFERENCE))),
    ("resourceVersion", Node::Str),
    ("selfLink", Node::Str),
    ("uid", Node::Str),
]);

static LABEL_SELECTOR_REQUIREMENT: Obj = obj_req(
    &[
        ("key", Node::Str),
        ("operator", Node::Str),
        ("values", STRINGS),
    ],
    &["key", "operator"],
);

static LABEL_SELECTOR: Obj = obj(&[
    (
        "matchExpressions",
        Node::List(&Node::Obj(&LABEL_SELECTOR_REQUIREMENT)),
    ),
    ("matchLabels", Node::StrMap),
]);

/// `{name, expression}` pairs: CEL match conditions and variables.
static NAMED_EXPRESSION: Obj = obj_req(
    &[("expression", Node::Str), ("name", Node::Str)],
    &["expression", "name"],
);

static AUDIT_ANNOTATION: Obj = obj_req(
    &[("key", Node::Str), ("valueExpression", Node::Str)],
    &["key", "valueExpression"],
);

static CEL_VALIDATION: Obj = obj_req(
    &[
        ("expression", Node::Str),
        ("message", Node::Str),
        ("messageExpression", Node::Str),
        ("reason", Node::Str),
    ],
    &["expression"],
);

// ---- Kyverno ClusterPolicy / Policy (kyverno.io/v1) -----------------------

const OPERATIONS: Node = Node::List(&Node::Enum(&["CREATE", "CONNECT", "UPDATE", "DELETE"]));

static RESOURCE_DESCRIPTION: Obj = obj(&[
    ("annotations", Node::StrMap),
    ("kinds", STRINGS),
    ("name", Node::Str),
    ("names", STRINGS),
    ("namespaceSelector", Node::Obj(&LABEL_SELECTOR)),
    ("namespaces", STRINGS),
    ("operations", OPERATIONS),
    ("selector", Node::Obj(&LABEL_SELECTOR)),
]);

static SUBJECT: Obj = obj_req(
    &[
        ("apiGroup", Node::Str),
        ("kind", Node::Str),
        ("name", Node::Str),
        ("namespace", Node::Str),
    ],
    &["kind", "name"],
);

static RESOURCE_FILTER: Obj = obj(&[
    ("clusterRoles", STRINGS),
    ("resources", Node::Obj(&RESOURCE_DESCRIPTION)),
    ("roles", STRINGS),
    ("subjects", Node::List(&Node::Obj(&SUBJECT))),
]);

static MATCH_RESOURCES: Obj = obj(&[
    ("all", Node::List(&Node::Obj(&RESOURCE_FILTER))),
    ("any", Node::List(&Node::Obj(&RESOURCE_FILTER))),
    ("clusterRoles", STRINGS),
    ("resources", Node::Obj(&RESOURCE_DESCRIPTION)),
    ("roles", STRINGS),
    ("subjects", Node::List(&Node::Obj(&SUBJECT))),
]);

static KEY_VALUE_ANY: Obj = obj_req(
    &[("key", Node::Str), ("value", Node::Any)],
    &["key", "value"],
);
static KEY_VALUE_STR: Obj = obj_req(
    &[("key", Node::Str), ("value", Node::Str)],
    &["key", "value"],
);

static SERVICE_CALL: Obj = obj_req(
    &[
        ("caBundle", Node::Str),
        ("headers", Node::List(&Node::Obj(&KEY_VALUE_STR))),
        ("url", Node::Str),
    ],
    &["url"],
);

static API_CALL: Obj = obj(&[
    ("data", Node::List(&Node::Obj(&KEY_VALUE_ANY))),
    ("default", Node::Any),
    ("jmesPath", Node::Str),
    ("method", Node::Enum(&["GET", "POST"])),
    ("service", Node::Obj(&SERVICE_CALL)),
    ("urlPath", Node::Str),
]);

static CONFIG_MAP_REFERENCE: Obj =
    obj_req(&[("name", Node::Str), ("namespace", Node::Str)], &["name"]);

static GLOBAL_REFERENCE: Obj = obj_req(&[("jmesPath", Node::Str), ("name", Node::Str)], &["name"]);

static REGISTRY_CREDENTIALS: Obj = obj(&[
    ("allowInsecureRegistry", Node::Bool),
    (
        "providers",
        Node::List(&Node::Enum(&[
            "default", "amazon", "azure", "google", "github",
        ])),
    ),
    ("secrets", STRINGS),
]);

static IMAGE_REGISTRY: Obj = obj_req(
    &[
        ("imageRegistryCredentials", Node::Obj(&REGISTRY_CREDENTIALS)),
        ("jmesPath", Node::Str),
        ("reference", Node::Str),
    ],
    &["reference"],
);

static VARIABLE: Obj = obj(&[
    ("default", Node::Any),
    ("jmesPath", Node::Str),
    ("value", Node::Any),
]);

static CONTEXT_ENTRY: Obj = obj_req(
    &[
        ("apiCall", Node::Obj(&API_CALL)),
        ("configMap", Node::Obj(&CONFIG_MAP_REFERENCE)),
        ("globalReference", Node::Obj(&GLOBAL_REFERENCE)),
        ("imageRegistry", Node::Obj(&IMAGE_REGISTRY)),
        ("name", Node::Str),
        ("variable", Node::Obj(&VARIABLE)),
    ],
    &["name"],
);

const CONTEXT: Node = Node::List(&Node::Obj(&CONTEXT_ENTRY));

const CONDITION_OPERATORS: &[&str] = &[
    "Equals",
    "NotEquals",
    "In",
    "AnyIn",
    "AllIn",
    "NotIn",
    "AnyNotIn",
    "AllNotIn",
    "GreaterThanOrEquals",
    "GreaterThan",
    "LessThanOrEquals",
    "LessThan",
    "DurationGreaterThanOrEquals",
    "DurationGreaterThan",
    "DurationLessThanOrEquals",
    "DurationLessThan",
];

static CONDITION: Obj = obj(&[
    ("key", Node::Any),
    ("message", Node::Str),
    ("operator", Node::Enum(CONDITION_OPERATORS)),
    ("value", Node::Any),
]);

static ANY_ALL_CONDITIONS: Obj = obj(&[
    ("all", Node::List(&Node::Obj(&CONDITION))),
    ("any", Node::List(&Node::Obj(&CONDITION))),
]);

/// Foreach preconditions: typed any/all, other keys kept.
static OPEN_ANY_ALL_CONDITIONS: Obj = Obj {
    fields: ANY_ALL_CONDITIONS.fields,
    required: &[],
    open: true,
};

static DENY: Obj = obj(&[("conditions", Node::Any)]);

static CTLOG: Obj = obj(&[
    ("ignoreSCT", Node::Bool),
    ("pubkey", Node::Str),
    ("tsaCertChain", Node::Str),
]);

static REKOR: Obj = obj(&[
    ("ignoreTlog", Node::Bool),
    ("pubkey", Node::Str),
    ("url", Node::Str),
]);

static CERTIFICATES: Obj = obj(&[
    ("cert", Node::Str),
    ("certChain", Node::Str),
    ("ctlog", Node::Obj(&CTLOG)),
    ("rekor", Node::Obj(&REKOR)),
]);

static KEYLESS: Obj = obj(&[
    ("additionalExtensions", Node::StrMap),
    ("ctlog", Node::Obj(&CTLOG)),
    ("issuer", Node::Str),
    ("issuerRegExp", Node::Str),
    ("rekor", Node::Obj(&REKOR)),
    ("roots", Node::Str),
    ("subject", Node::Str),
    ("subjectRegExp", Node::Str),
]);

static SECRET_REFERENCE: Obj = obj_req(
    &[("name", Node::Str), ("namespace", Node::Str)],
    &["name", "namespace"],
);

static STATIC_KEYS: Obj = obj(&[
    ("ctlog", Node::Obj(&CTLOG)),
    ("kms", Node::Str),
    ("publicKeys", Node::Str),
    ("rekor", Node::Obj(&REKOR)),
    ("secret", Node::Obj(&SECRET_REFERENCE)),
    ("signatureAlgorithm", Node::Str),
]);

static ATTESTOR: Obj = obj(&[
    ("annotations", Node::StrMap),
    ("attestor", Node::Any),
    ("certificates", Node::Obj(&CERTIFICATES)),
    ("keyless", Node::Obj(&KEYLESS)),
    ("keys", Node::Obj(&STATIC_KEYS)),
    ("repository", Node::Str),
    ("signatureAlgorithm", Node::Str),
]);

static ATTESTOR_SET: Obj = obj(&[
    ("count", Node::Int),
    ("entries", Node::List(&Node::Obj(&ATTESTOR))),
]);

const ATTESTORS: Node = Node::List(&Node::Obj(&ATTESTOR_SET));

static IGNORE_OBJECT: Obj = obj(&[
    ("group", Node::Str),
    ("kind", Node::Str),
    ("name", Node::Str),
    ("namespace", Node::Str),
    ("version", Node::Str),
]);

static IGNORE_FIELDS: Obj = obj(&[
    ("fields", STRINGS),
    ("objects", Node::List(&Node::Obj(&IGNORE_OBJECT))),
]);

static DRY_RUN: Obj = obj(&[("enable", Node::Bool), ("namespace", Node::Str)]);

static MANIFESTS: Obj = obj(&[
    ("annotationDomain", Node::Str),
    ("attestors", ATTESTORS),
    ("dryRun", Node::Obj(&DRY_RUN)),
    ("ignoreFields", Node::List(&Node::Obj(&IGNORE_FIELDS))),
    ("repository", Node::Str),
]);

static PARAM_KIND: Obj = obj(&[("apiVersion", Node::Str), ("kind", Node::Str)]);

static RULE_PARAM_REF: Obj = obj(&[
    ("name", Node::Str),
    ("namespace", Node::Str),
    ("parameterNotFoundAction", Node::Str),
    ("selector", Node::Obj(&LABEL_SELECTOR)),
]);

static RULE_CEL: Obj = obj(&[
    (
        "auditAnnotations",
        Node::List(&Node::Obj(&AUDIT_ANNOTATION)),
    ),
    ("expressions", Node::List(&Node::Obj(&CEL_VALIDATION))),
    ("generate", Node::Bool),
    ("paramKind", Node::Obj(&PARAM_KIND)),
    ("paramRef", Node::Obj(&RULE_PARAM_REF)),
    ("variables", Node::List(&Node::Obj(&NAMED_EXPRESSION))),
]);

const FAILURE_ACTIONS_ANY_CASE: &[&str] = &["audit", "enforce", "Audit", "Enforce"];

static FAILURE_ACTION_OVERRIDE: Obj = obj(&[
    ("action", Node::Enum(FAILURE_ACTIONS_ANY_CASE)),
    ("namespaceSelector", Node::Obj(&LABEL_SELECTOR)),
    ("namespaces", STRINGS),
]);

static POD_SECURITY_EXCLUDE: Obj = obj_req(
    &[
        (
            "controlName",
            Node::Enum(&[
                "HostProcess",
                "Host Namespaces",
                "Privileged Containers",
                "Capabilities",
                "HostPath Volumes",
                "Host Ports",
                "AppArmor",
                "SELinux",
                "/proc Mount Type",
                "Seccomp",
                "Sysctls",
                "Volume Types",
                "Privilege Escalation",
                "Running as Non-root",
                "Running as Non-root user",
            ]),
        ),
        ("images", STRINGS),
        ("restrictedField", Node::Str),
        ("values", STRINGS),
    ],
    &["controlName"],
);

static POD_SECURITY: Obj = obj(&[
    ("exclude", Node::List(&Node::Obj(&POD_SECURITY_EXCLUDE))),
    (
        "level",
        Node::Enum(&["privileged", "baseline", "restricted"]),
    ),
    (
        "version",
        Node::Enum(&[
            "v1.19", "v1.20", "v1.21", "v1.22", "v1.23", "v1.24", "v1.25", "v1.26", "v1.27",
            "v1.28", "v1.29", "v1.30", "v1.31", "v1.32", "latest",
        ]),
    ),
]);

static VALIDATE_FOREACH: Obj = obj(&[
    ("anyPattern", Node::Any),
    ("context", CONTEXT),
    ("deny", Node::Obj(&DENY)),
    ("elementScope", Node::Bool),
    ("foreach", Node::Any),
    ("list", Node::Str),
    ("pattern", Node::Any),
    ("preconditions", Node::Obj(&OPEN_ANY_ALL_CONDITIONS)),
]);

static VALIDATION: Obj = obj(&[
    ("allowExistingViolations", Node::Bool),
    ("anyPattern", Node::Any),
    ("assert", Node::Any),
    ("cel", Node::Obj(&RULE_CEL)),
    ("deny", Node::Obj(&DENY)),
    ("failureAction", Node::Enum(&["Audit", "Enforce"])),
    (
        "failureActionOverrides",
        Node::List(&Node::Obj(&FAILURE_ACTION_OVERRIDE)),
    ),
    ("foreach", Node::List(&Node::Obj(&VALIDATE_FOREACH))),
    ("manifests", Node::Obj(&MANIFESTS)),
    ("message", Node::Str),
    ("pattern", Node::Any),
    ("podSecurity", Node::Obj(&POD_SECURITY)),
]);

static MUTATE_FOREACH: Obj = obj(&[
    ("context", CONTEXT),
    ("foreach", Node::Any),
    ("list", Node::Str),
    ("order", Node::Enum(&["Ascending", "Descending"])),
    ("patchStrategicMerge", Node::Any),
    ("patchesJson6902", Node::Str),
    ("preconditions", Node::Obj(&OPEN_ANY_ALL_CONDITIONS)),
]);

static MUTATE_TARGET: Obj = obj(&[
    ("apiVersion", Node::Str),
    ("context", CONTEXT),
    ("kind", Node::Str),
    ("name", Node::Str),
    ("namespace", Node::Str),
    ("preconditions", Node::Any),
    ("selector", Node::Obj(&LABEL_SELECTOR)),
    ("uid", Node::Str),
]);

static MUTATION: Obj = obj(&[
    ("foreach", Node::List(&Node::Obj(&MUTATE_FOREACH))),
    ("mutateExistingOnPolicyUpdate", Node::Bool),
    ("patchStrategicMerge", Node::Any),
    ("patchesJson6902", Node::Str),
    ("targets", Node::List(&Node::Obj(&MUTATE_TARGET))),
]);

static CLONE_FROM: Obj = obj(&[("name", Node::Str), ("namespace", Node::Str)]);

static CLONE_LIST: Obj = obj(&[
    ("kinds", STRINGS),
    ("namespace", Node::Str),
    ("selector", Node::Obj(&LABEL_SELECTOR)),
]);

static GENERATE_FOREACH: Obj = obj(&[
    ("apiVersion", Node::Str),
    ("clone", Node::Obj(&CLONE_FROM)),
    ("cloneList", Node::Obj(&CLONE_LIST)),
    ("context", CONTEXT),
    ("data", Node::Any),
    ("kind", Node::Str),
    ("list", Node::Str),
    ("name", Node::Str),
    ("namespace", Node::Str),
    ("preconditions", Node::Obj(&OPEN_ANY_ALL_CONDITIONS)),
    ("uid", Node::Str),
]);

static GENERATION: Obj = obj(&[
    ("apiVersion", Node::Str),
    ("clone", Node::Obj(&CLONE_FROM)),
    ("cloneList", Node::Obj(&CLONE_LIST)),
    ("data", Node::Any),
    ("foreach", Node::List(&Node::Obj(&GENERATE_FOREACH))),
    ("generateExisting", Node::Bool),
    ("kind", Node::Str),
    ("name", Node::Str),
    ("namespace", Node::Str),
    ("orphanDownstreamOnPolicyDelete", Node::Bool),
    ("synchronize", Node::Bool),
    ("uid", Node::Str),
]);

static ATTESTATION_CONDITIONS: Obj = obj(&[
    ("all", Node::List(&Node::Obj(&CONDITION))),
    ("any", Node::List(&Node::Obj(&CONDITION))),
]);

static ATTESTATION: Obj = obj(&[
    ("attestors", ATTESTORS),
    (
        "conditions",
        Node::List(&Node::Obj(&ATTESTATION_CONDITIONS)),
    ),
    ("name", Node::Str),
    ("predicateType", Node::Str),
    ("type", Node::Str),
]);

static IMAGE_VALIDATION: Obj = obj(&[("deny", Node::Obj(&DENY)), ("message", Node::Str)]);

static IMAGE_VERIFICATION: Obj = obj(&[
    ("additionalExtensions", Node::StrMap),
    ("annotations", Node::StrMap),
    ("attestations", Node::List(&Node::Obj(&ATTESTATION))),
    ("attestors", ATTESTORS),
    ("cosignOCI11", Node::Bool),
    ("failureAction", Node::Enum(&["Audit", "Enforce"])),
    ("image", Node::Str),
    ("imageReferences", STRINGS),
    ("imageRegistryCredentials", Node::Obj(&REGISTRY_CREDENTIALS)),
    ("issuer", Node::Str),
    ("key", Node::Str),
    ("mutateDigest", Node::Bool),
    ("repository", Node::Str),
    ("required", Node::Bool),
    ("roots", Node::Str),
    ("skipImageReferences", STRINGS),
    ("subject", Node::Str),
    ("type", Node::Enum(&["Cosign", "SigstoreBundle", "Notary"])),
    ("useCache", Node::Bool),
    ("validate", Node::Obj(&IMAGE_VALIDATION)),
    ("verifyDigest", Node::Bool),
]);

static IMAGE_EXTRACTOR: Obj = obj_req(
    &[
        ("jmesPath", Node::Str),
        ("key", Node::Str),
        ("name", Node::Str),
        ("path", Node::Str),
        ("value", Node::Str),
    ],
    &["path"],
);

static RULE: Obj = obj_req(
    &[
        (
            "celPreconditions",
            Node::List(&Node::Obj(&NAMED_EXPRESSION)),
        ),
        ("context", CONTEXT),
        ("exclude", Node::Obj(&MATCH_RESOURCES)),
        ("generate", Node::Obj(&GENERATION)),
        (
            "imageExtractors",
            Node::MapOf(&Node::List(&Node::Obj(&IMAGE_EXTRACTOR))),
        ),
        ("match", Node::Obj(&MATCH_RESOURCES)),
        ("mutate", Node::Obj(&MUTATION)),
        ("name", Node::StrMax(63)),
        ("preconditions", Node::Any),
        ("reportProperties", Node::StrMap),
        ("skipBackgroundRequests", Node::Bool),
        ("validate", Node::Obj(&VALIDATION)),
        ("verifyImages", Node::List(&Node::Obj(&IMAGE_VERIFICATION))),
    ],
    &["match", "name"],
);

static WEBHOOK_CONFIGURATION: Obj = obj(&[
    ("failurePolicy", Node::Enum(&["Ignore", "Fail"])),
    ("matchConditions", Node::List(&Node::Obj(&NAMED_EXPRESSION))),
    ("timeoutSeconds", Node::Int),
]);

static KYVERNO_SPEC: Obj = obj(&[
    ("admission", Node::Bool),
    ("applyRules", Node::Enum(&["All", "One"])),
    ("background", Node::Bool),
    ("emitWarning", Node::Bool),
    ("failurePolicy", Node::Enum(&["Ignore", "Fail"])),
    ("generateExisting", Node::Bool),
    ("generateExistingOnPolicyUpdate", Node::Bool),
    ("mutateExistingOnPolicyUpdate", Node::Bool),
    ("rules", Node::List(&Node::Obj(&RULE))),
    ("schemaValidation", Node::Bool),
    ("useServerSideApply", Node::Bool),
    (
        "validationFailureAction",
        Node::Enum(FAILURE_ACTIONS_ANY_CASE),
    ),
    (
        "validationFailureActionOverrides",
        Node::List(&Node::Obj(&FAILURE_ACTION_OVERRIDE)),
    ),
    ("webhookConfiguration", Node::Obj(&WEBHOOK_CONFIGURATION)),
    ("webhookTimeoutSeconds", Node::Int),
]);

/// A kyverno.io ClusterPolicy or Policy document.
pub(crate) static KYVERNO_POLICY: Obj = obj_req(
    &[
        ("apiVersion", Node::Str),
        ("kind", Node::Str),
        ("metadata", Node::Obj(&OBJECT_META)),
        ("spec", Node::Obj(&KYVERNO_SPEC)),
        ("status", Node::Any),
    ],
    &["spec"],
);

// ---- Kyverno ValidatingPolicy (policies.kyverno.io) -----------------------

static VPOL_RULE_WITH_OPERATIONS: Obj = obj(&[
    ("apiGroups", STRINGS),
    ("apiVersions", STRINGS),
    ("operations", STRINGS),
    ("resourceNames", STRINGS),
    ("resources", STRINGS),
    ("scope", Node::Str),
]);

static VPOL_MATCH_CONSTRAINTS: Obj = obj(&[
    (
        "excludeResourceRules",
        Node::List(&Node::Obj(&VPOL_RULE_WITH_OPERATIONS)),
    ),
    ("matchPolicy", Node::Str),
    ("namespaceSelector", Node::Obj(&LABEL_SELECTOR)),
    ("objectSelector", Node::Obj(&LABEL_SELECTOR)),
    (
        "resourceRules",
        Node::List(&Node::Obj(&VPOL_RULE_WITH_OPERATIONS)),
    ),
]);

static VPOL_POD_CONTROLLERS: Obj = obj(&[("controllers", STRINGS)]);
static ENABLED: Obj = obj(&[("enabled", Node::Bool)]);

static VPOL_AUTOGEN: Obj = obj(&[
    ("podControllers", Node::Obj(&VPOL_POD_CONTROLLERS)),
    ("validatingAdmissionPolicy", Node::Obj(&ENABLED)),
]);

static VPOL_EVALUATION: Obj = obj(&[
    ("admission", Node::Obj(&ENABLED)),
    ("background", Node::Obj(&ENABLED)),
    ("mode", Node::Str),
]);

static VPOL_WEBHOOK: Obj = obj(&[("timeoutSeconds", Node::Int)]);

static VPOL_SPEC: Obj = obj(&[
    (
        "auditAnnotations",
        Node::List(&Node::Obj(&AUDIT_ANNOTATION)),
    ),
    ("autogen", Node::Obj(&VPOL_AUTOGEN)),
    ("evaluation", Node::Obj(&VPOL_EVALUATION)),
    ("failurePolicy", Node::Enum(&["Ignore", "Fail"])),
    ("matchConditions", Node::List(&Node::Obj(&NAMED_EXPRESSION))),
    ("matchConstraints", Node::Obj(&VPOL_MATCH_CONSTRAINTS)),
    (
        "validationActions",
        Node::List(&Node::Enum(&["Deny", "Audit", "Warn"])),
    ),
    ("validations", Node::List(&Node::Obj(&CEL_VALIDATION))),
    ("variables", Node::List(&Node::Obj(&NAMED_EXPRESSION))),
    ("webhookConfiguration", Node::Obj(&VPOL_WEBHOOK)),
]);

/// A ValidatingPolicy or NamespacedValidatingPolicy document.
pub(crate) static VALIDATING_POLICY: Obj = obj_req(
    &[
        ("apiVersion", Node::Str),
        ("kind", Node::Str),
        ("metadata", Node::Obj(&OBJECT_META)),
        ("spec", Node::Obj(&VPOL_SPEC)),
        ("status", Node::Any),
    ],
    &["spec"],
);

// ---- Kubernetes ValidatingAdmissionPolicy and binding ---------------------

static VAP_RULE_WITH_OPERATIONS: Obj = obj(&[
    ("apiGroups", STRINGS),
    ("apiVersions", STRINGS),
    (
        "operations",
        Node::List(&Node::Enum(&["*", "CONNECT", "CREATE", "DELETE", "UPDATE"])),
    ),
    ("resourceNames", STRINGS),
    ("resources", STRINGS),
    ("scope", Node::Enum(&["*", "Cluster", "Namespaced"])),
]);

static VAP_MATCH_RESOURCES: Obj = obj(&[
    (
        "excludeResourceRules",
        Node::List(&Node::Obj(&VAP_RULE_WITH_OPERATIONS)),
    ),
    ("matchPolicy", Node::Enum(&["Equivalent", "Exact"])),
    ("namespaceSelector", Node::Obj(&LABEL_SELECTOR)),
    ("objectSelector", Node::Obj(&LABEL_SELECTOR)),
    (
        "resourceRules",
        Node::List(&Node::Obj(&VAP_RULE_WITH_OPERATIONS)),
    ),
]);

static VAP_SPEC: Obj = obj(&[
    (
        "auditAnnotations",
        Node::List(&Node::Obj(&AUDIT_ANNOTATION)),
    ),
    ("failurePolicy", Node::Enum(&["Fail", "Ignore"])),
    ("matchConditions", Node::List(&Node::Obj(&NAMED_EXPRESSION))),
    ("matchConstraints", Node::Obj(&VAP_MATCH_RESOURCES)),
    ("paramKind", Node::Obj(&PARAM_KIND)),
    ("validations", Node::List(&Node::Obj(&CEL_VALIDATION))),
    ("variables", Node::List(&Node::Obj(&NAMED_EXPRESSION))),
]);

/// A ValidatingAdmissionPolicy document (admissionregistration.k8s.io).
pub(crate) static ADMISSION_POLICY: Obj = obj(&[
    ("apiVersion", Node::Str),
    ("kind", Node::Str),
    ("metadata", Node::Obj(&OBJECT_META)),
    ("spec", Node::Obj(&VAP_SPEC)),
    ("status", Node::Any),
]);

static VAP_PARAM_REF: Obj = obj(&[
    ("name", Node::Str),
    ("namespace", Node::Str),
    ("parameterNotFoundAction", Node::Enum(&["Allow", "Deny"])),
    ("selector", Node::Obj(&LABEL_SELECTOR)),
]);

static VAP_BINDING_SPEC: Obj = obj(&[
    ("matchResources", Node::Obj(&VAP_MATCH_RESOURCES)),
    ("paramRef", Node::Obj(&VAP_PARAM_REF)),
    ("policyName", Node::Str),
    (
        "validationActions",
        Node::List(&Node::Enum(&["Audit", "Deny", "Warn"])),
    ),
]);

/// A ValidatingAdmissionPolicyBinding document.
pub(crate) static ADMISSION_BINDING: Obj = obj(&[
    ("apiVersion", Node::Str),
    ("kind", Node::Str),
    ("metadata", Node::Obj(&OBJECT_META)),
    ("spec", Node::Obj(&VAP_BINDING_SPEC)),
]);
