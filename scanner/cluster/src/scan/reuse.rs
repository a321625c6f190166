//! Reusing a stored per-resource report instead of evaluating its resource
//! again, as Kyverno's reports controller does (`needsReconcile`,
//! pkg/controllers/report/background/controller.go: a report whose resource
//! hash and policy versions are unchanged is left alone).
//!
//! Enter: the run's policy documents (policies and exceptions, as read),
//! the other inputs that shape results (Kyverno's resourceFilters, the
//! unexpired CEL PolicyExceptions, `--allow-http`), the engine's policies,
//! and then, per listed object, the object, its namespace's object and the
//! stored report's metadata. Leave: a [`Reuse`] (or why the run cannot
//! reuse anything), the `polscan.io/inputs` and `polscan.io/results-by-rule`
//! annotations a freshly written report carries, and for an object whose
//! stored report carries the `inputs` this run would write, the (policy,
//! rule, status) of its results, decoded from `results-by-rule`, so the
//! run's counts stay whole without evaluating.
//!
//! Why a reused report is the report evaluation would give: `inputs` seals
//! the report's content hash and its `results-by-rule` (an edit of either
//! breaks the seal, and the object is evaluated and its report repaired)
//! with a digest of everything a result of a background scan depends on — the
//! object as listed (its content, not its resourceVersion: a CRD default or
//! a newly served version changes what one resourceVersion reads as), its
//! namespace object (labels for `namespaceSelector`, `namespaceObject` for
//! CEL), every policy and exception document (without the metadata the
//! server changes on its own), the resourceFilters, the live CEL
//! PolicyExceptions, `--allow-http`, polscan's version and a digest of the
//! sources it was built from. A set whose results can change while all of that
//! stays — context lookups (`apiCall`, `configMap`, `globalReference`,
//! `imageRegistry`), JMESPath that reads the clock or chance (`time_now`,
//! `time_since`, `random`), Kyverno's CEL libraries that reach out or read
//! the clock (`resource`, `http`, `globalContext`, `time`, image metadata),
//! parameters (`paramKind`, `paramRef`) or the authorizer — reuses nothing
//! ([`Reuse::new`] says which document; the text is read without
//! whitespace, so `random (` or `time .now` is found too). A report
//! holding results carried over from policies a run lacked is never
//! reused (its content hash no longer matches the seal). Objects carrying polscan's own
//! time-bound exception annotation are always evaluated (the exception
//! expires with the clock). Anything the label does not cover, in doubt,
//! makes no reuse: a report is then evaluated, never guessed.

use std::collections::HashMap;
use std::sync::Arc;

use polscan_engine::ValueExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::Finding;
use crate::engine::exceptions::annotation;
use crate::engine::policy::PolicyMeta;
use crate::engine::{Environment, RuleStatus};
use crate::reconcile::{ExistingReport, ReportKey};

/// Bumped when the label's or the annotation's meaning changes.
const FORMAT: &str = "polscan-reuse-2";

/// What a run needs to reuse stored reports.
#[derive(Debug)]
pub struct Reuse {
    fingerprint: [u8; 32],
    /// The engine's policies, sorted by qualified name: the annotation's
    /// policy indexes point here.
    policies: Vec<Arc<PolicyMeta>>,
    index: HashMap<String, usize>,
}

/// A stored report's results, decoded: (policy, rule, reported status).
pub type StoredResults<'a> = Vec<(&'a Arc<PolicyMeta>, &'a str, RuleStatus)>;

impl Reuse {
    /// The run's reuse key material from its policy and exception
    /// documents (those that loaded), or why nothing can be reused: a
    /// document whose results may change without any input changing, or
    /// two policies with one name.
    ///
    /// `extra` are the run's other result-shaping inputs, each as text
    /// (resourceFilters, unexpired CEL PolicyExceptions, `--allow-http`).
    pub fn new<'a>(
        documents: impl IntoIterator<Item = &'a Value>,
        extra: &[String],
        policies: Vec<Arc<PolicyMeta>>,
    ) -> Result<Reuse, String> {
        let mut hashed: Vec<Vec<u8>> = Vec::new();
        for document in documents {
            if let Some(why) = volatile(document) {
                return Err(format!("{} {}", describe(document), why));
            }
            let value = super::last_run::judging_content(document);
            hashed.push(serde_json::to_vec(&value).map_err(|err| err.to_string())?);
        }
        // The order documents arrive in is not an input.
        hashed.sort_unstable();
        let mut hasher = Sha256::new();
        for part in [FORMAT, env!("CARGO_PKG_VERSION")] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        // The build's sources (build.rs): a rebuilt engine may judge
        // differently under one version number.
        hasher.update(env!("POLSCAN_BUILD_ID").as_bytes());
        for document in &hashed {
            hasher.update((document.len() as u64).to_le_bytes());
            hasher.update(document);
        }
        for part in extra {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let mut policies = policies;
        policies.sort_by_key(|meta| meta.qualified_name());
        let mut index = HashMap::with_capacity(policies.len());
        for (position, meta) in policies.iter().enumerate() {
            if index.insert(meta.qualified_name(), position).is_some() {
                return Err(format!("two policies are named {}", meta.qualified_name()));
            }
        }
        Ok(Reuse {
            fingerprint: hasher.finalize().into(),
            policies,
            index,
        })
    }

    /// The digest of `resource`'s inputs under this run's policies, which
    /// [`seal`] turns into the [`INPUTS_ANNOTATION`](report_model::shape::INPUTS_ANNOTATION) value: None when the
    /// object lacks a uid or resourceVersion, or carries polscan's
    /// exception annotation (its result depends on the clock).
    pub fn inputs(&self, resource: &Value, env: &Environment) -> Option<String> {
        let metadata = resource.get("metadata")?;
        let text = |field: &str| metadata.str_field(field);
        text("uid").filter(|uid| !uid.is_empty())?;
        text("resourceVersion").filter(|v| !v.is_empty())?;
        if metadata
            .get("annotations")
            .and_then(|a| a.get(annotation::EXCEPTION))
            .is_some()
        {
            return None;
        }
        let namespace = text("namespace").unwrap_or("");
        let mut hasher = Sha256::new();
        hasher.update(self.fingerprint);
        // The object as listed, not its resourceVersion: the server can
        // change what it serves at one resourceVersion (CRD defaults, a
        // newly served version, defaults of an upgraded server).
        hash_value(&mut hasher, resource)?;
        if !namespace.is_empty() {
            // A namespaced object whose namespace the run did not read:
            // its labels are unknown, so nothing is reused.
            hash_value(&mut hasher, env.namespace_objects.get(namespace)?)?;
        }
        Some(hex::encode(&hasher.finalize()[..16]))
    }

    /// The [`RESULTS_ANNOTATION`](report_model::shape::RESULTS_ANNOTATION) value for one object's reported
    /// findings; None when one cannot be written (a policy not in the
    /// engine, a rule name with a comma): the report then carries no
    /// [`INPUTS_ANNOTATION`](report_model::shape::INPUTS_ANNOTATION) either, and is evaluated next time.
    pub fn encode(&self, findings: &[&Finding]) -> Option<String> {
        let mut text = String::new();
        for finding in findings {
            let rule = finding.result.rule.as_str();
            if rule.contains(',') {
                return None;
            }
            let policy = self.index.get(&finding.policy.qualified_name())?;
            if !text.is_empty() {
                text.push(',');
            }
            text.push_str(&policy.to_string());
            text.push(status_letter(finding.reported_status()));
            text.push_str(rule);
        }
        Some(text)
    }

    /// The results of `stored` when it can stand for `resource`'s report
    /// in this run: written by polscan in the per-resource layout, under
    /// the name this run would give it, sealed ([`seal`]) with this run's
    /// `inputs` over its stored content hash and a readable
    /// [`RESULTS_ANNOTATION`](report_model::shape::RESULTS_ANNOTATION).
    pub fn stored_results<'a>(
        &'a self,
        stored: &'a ExistingReport,
        inputs: &str,
    ) -> Option<StoredResults<'a>> {
        let results = stored.results_by_rule.as_deref()?;
        let content_hash = stored.content_hash.as_deref()?;
        if !stored.managed_by_polscan()
            || stored.shape.as_deref() != Some(report_model::shape::SHAPE_PER_RESOURCE)
            || stored.inputs.as_deref() != Some(seal(inputs, results, content_hash).as_str())
        {
            return None;
        }
        self.decode(results)
    }

    fn decode<'a>(&'a self, text: &'a str) -> Option<StoredResults<'a>> {
        if text.is_empty() {
            // A stored report holds at least one result.
            return None;
        }
        text.split(',')
            .map(|entry| {
                let digits = entry.bytes().take_while(u8::is_ascii_digit).count();
                let policy = self
                    .policies
                    .get(entry.get(..digits)?.parse::<usize>().ok()?)?;
                let mut rest = entry.get(digits..)?.chars();
                let status = status_of(rest.next()?)?;
                Some((policy, rest.as_str(), status))
            })
            .collect()
    }
}

/// Feeds `value`'s JSON to `hasher` (framed by its length), without
/// building the text.
fn hash_value(hasher: &mut Sha256, value: &Value) -> Option<()> {
    struct Feed<'a> {
        hasher: &'a mut Sha256,
        bytes: u64,
    }
    impl std::io::Write for Feed<'_> {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.hasher.update(bytes);
            self.bytes += bytes.len() as u64;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut feed = Feed { hasher, bytes: 0 };
    serde_json::to_writer(&mut feed, value).ok()?;
    let bytes = feed.bytes;
    hasher.update(bytes.to_le_bytes());
    Some(())
}

/// The [`INPUTS_ANNOTATION`](report_model::shape::INPUTS_ANNOTATION) value of a report made from an object whose
/// inputs digest is `inputs` ([`Reuse::inputs`]), with `results` as its
/// [`RESULTS_ANNOTATION`](report_model::shape::RESULTS_ANNOTATION) and `content_hash` as its content hash: a change
/// of any of the three (a hand edit, results carried over from a missing
/// policy) breaks it.
pub fn seal(inputs: &str, results: &str, content_hash: &str) -> String {
    // SEAL_LEN hex digits: 16 bytes of the digest.
    let mut hasher = Sha256::new();
    for part in [inputs, results, content_hash] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

/// The length of a [`seal`], in hex digits.
pub const SEAL_LEN: usize = 32;

/// The key of the per-resource report polscan writes for `resource`, when
/// its name comes from the uid (the only reports [`Reuse`] stands for).
pub fn report_key(resource: &Value) -> Option<ReportKey> {
    let metadata = resource.get("metadata")?;
    let uid = metadata.str_field("uid")?;
    let namespace = metadata.str_field("namespace").unwrap_or("");
    let reference = report_model::ObjectReference {
        uid: Some(uid.to_string()),
        ..Default::default()
    };
    let name = report_model::shape::resource_report_name(&reference);
    // A uid that is no DNS label names the report by a digest of the whole
    // identity: left to evaluation.
    name.ends_with(uid).then(|| ReportKey {
        cluster_scoped: namespace.is_empty(),
        namespace: namespace.to_string(),
        name,
    })
}

fn status_letter(status: RuleStatus) -> char {
    match status {
        RuleStatus::Pass => 'p',
        RuleStatus::Fail => 'f',
        RuleStatus::Warn => 'w',
        RuleStatus::Error => 'e',
        RuleStatus::Skip => 's',
    }
}

fn status_of(letter: char) -> Option<RuleStatus> {
    Some(match letter {
        'p' => RuleStatus::Pass,
        'f' => RuleStatus::Fail,
        'w' => RuleStatus::Warn,
        'e' => RuleStatus::Error,
        's' => RuleStatus::Skip,
        _ => return None,
    })
}

fn describe(document: &Value) -> String {
    let text = |pointer: &str| document.str_at(pointer);
    let kind = text("/kind").unwrap_or("document");
    match (text("/metadata/namespace"), text("/metadata/name")) {
        (Some(namespace), Some(name)) => format!("{kind} {namespace}/{name}"),
        (None, Some(name)) => format!("{kind} {name}"),
        _ => kind.to_string(),
    }
}

/// Keys whose presence in a spec makes results depend on more than the
/// inputs hashed: context lookups and parameters.
const VOLATILE_KEYS: [&str; 6] = [
    "apiCall",
    "configMap",
    "globalReference",
    "imageRegistry",
    "paramKind",
    "paramRef",
];

/// Text in a spec's strings that reads the clock, chance, the cluster or
/// the network: JMESPath functions and Kyverno's CEL libraries.
const VOLATILE_TEXT: [&str; 7] = [
    "time_now",
    "time_since",
    "random(",
    "time.now",
    "etMetadata(",
    "authorizer",
    "imageData",
];

/// CEL library objects that reach the cluster or the network, or read the
/// clock; one used (called, or bound to a variable) makes results
/// volatile.
const VOLATILE_LIBRARIES: [&str; 4] = ["resource", "http", "globalContext", "time"];

/// Why a document's results may change while its inputs do not; None when
/// they cannot. Reads only `spec`: descriptions live in annotations.
fn volatile(document: &Value) -> Option<String> {
    fn walk(key: &str, value: &Value) -> Option<String> {
        match value {
            Value::Object(map) => map.iter().find_map(|(key, value)| {
                if VOLATILE_KEYS.contains(&key.as_str()) {
                    Some(format!("uses {key}"))
                } else {
                    walk(key, value)
                }
            }),
            Value::Array(items) => items.iter().find_map(|item| walk(key, item)),
            Value::String(text) => {
                // `random ('x')` and `image .GetMetadata` are calls too:
                // function tokens are looked for without whitespace,
                // library names with it as a separator (`'a' in resource`).
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                if let Some(token) = VOLATILE_TEXT.iter().find(|t| compact.contains(*t)) {
                    return Some(format!("uses {}", token.trim_end_matches('(')));
                }
                // CEL sits in `expression`, `messageExpression`,
                // `valueExpression`: only there is a library named.
                if !key.ends_with("xpression") {
                    return None;
                }
                VOLATILE_LIBRARIES
                    .iter()
                    .find(|library| uses_library(text, library))
                    .map(|library| format!("uses CEL's {library} library"))
            }
            _ => None,
        }
    }
    walk("spec", document.get("spec")?)
}

/// Whether CEL text names `library` as an identifier
/// of its own — a call on it, a value bound to a variable, or `.resource`
/// (CEL's root-scoped name) — not a field of something else
/// (`object.spec.http`, `f().http`, `a[0].http`) nor inside a string
/// literal (`'http'`).
fn uses_library(text: &str, library: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let quote = |c: char| c == '\'' || c == '"';
    text.match_indices(library).any(|(at, _)| {
        let mut before = text[..at].chars().rev();
        let field = match before.next() {
            None => false,
            Some(c) if word(c) || quote(c) => true,
            // `x.resource` is a field; `(.resource` or `&& .resource` the
            // library itself (whitespace before the dot aside).
            Some('.') => before
                .find(|c| !c.is_whitespace())
                .is_some_and(|c| word(c) || c == ')' || c == ']'),
            Some(_) => false,
        };
        let after = text[at + library.len()..].chars().next();
        !field && !after.is_some_and(|c| word(c) || quote(c))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    /// fault59 F59-3: the room held for the seal while a report is fitted
    /// is the seal's length.
    #[test]
    fn a_seal_is_seal_len_hex_digits() {
        let sealed = seal("inputs", "results", "hash");
        assert_eq!(sealed.len(), SEAL_LEN);
        assert!(sealed.chars().all(|c| c.is_ascii_hexdigit()));
    }
    use crate::engine::{ResourceRef, RuleResult};

    fn meta(name: &str) -> Arc<PolicyMeta> {
        Arc::new(PolicyMeta {
            kind: "ClusterPolicy".into(),
            name: name.into(),
            namespace: None,
            annotations: BTreeMap::new(),
            process: "background scan",
        })
    }

    fn policy(rule: Value) -> Value {
        json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
               "metadata": {"name": "p", "resourceVersion": "1",
                            "annotations": {"policies.kyverno.io/description": "calls resource.Get and time_now"}},
               "spec": {"rules": [rule]}})
    }

    fn reuse(documents: &[Value]) -> Result<Reuse, String> {
        Reuse::new(documents, &[], vec![meta("b"), meta("a")])
    }

    fn pod(version: &str, namespace: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web", "namespace": namespace, "uid": "0b9f3c2e-1111-4222-8333-444455556666",
                            "resourceVersion": version}})
    }

    fn env(namespace_version: &str) -> Environment {
        let mut env = Environment::default();
        env.namespace_objects.insert(
            "shop".into(),
            json!({"metadata": {"name": "shop", "resourceVersion": namespace_version}}),
        );
        env
    }

    fn finding(policy: &Arc<PolicyMeta>, rule: &str, status: RuleStatus) -> Finding {
        Finding {
            policy: policy.clone(),
            resource: ResourceRef::from_resource(&pod("1", "shop")),
            origin: None,
            result: RuleResult::new(rule, status, String::new(), "Audit"),
        }
    }

    #[test]
    fn pure_policies_reuse_and_descriptions_do_not_count() {
        let plain = policy(
            json!({"name": "r", "validate": {"pattern": {"metadata": {"labels": {"app": "?*"}}}}}),
        );
        assert!(reuse(&[plain]).is_ok());
    }

    #[test]
    fn lookups_clock_and_cel_libraries_reuse_nothing() {
        let cases = [
            json!({"name": "r", "context": [{"name": "c", "apiCall": {"urlPath": "/api/v1/pods"}}]}),
            json!({"name": "r", "context": [{"name": "c", "configMap": {"name": "x", "namespace": "y"}}]}),
            json!({"name": "r", "validate": {"deny": {"conditions": {"any": [{"key": "{{ time_now_utc() }}", "operator": "Equals", "value": "x"}]}}}}),
            json!({"name": "r", "context": [{"name": "coin", "variable": {"jmesPath": "random ('[01]')"}}],
                   "validate": {"deny": {"conditions": {"any": [{"key": "{{ coin }}", "operator": "Equals", "value": "1"}]}}}}),
            json!({"name": "r", "validate": {"cel": {"paramKind": {"kind": "ConfigMap"}, "expressions": [{"expression": "true"}]}}}),
        ];
        for rule in cases {
            let err = reuse(&[policy(rule.clone())]).expect_err(&rule.to_string());
            assert!(err.starts_with("ClusterPolicy p uses "), "{err}");
        }
        let vpol = |expression: &str| {
            json!({"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
                   "metadata": {"name": "v"},
                   "spec": {"matchConstraints": {"resourceRules": [{"resources": ["pods"]}]},
                            "validations": [{"expression": expression}]}})
        };
        for expression in [
            "resource.Get('v1', 'configmaps', 'ns', 'x') != null",
            "http.Get('https://x') == {}",
            "globalContext.Get('e', '') == 1",
            "variables.lib.List('v1', 'pods', '').items.size() > 0 && resource != null",
            "image.GetMetadata(object.spec.image) != null",
            // Whitespace and CEL's root-scoped names change nothing.
            "variables.x && .resource.Get('v1', 'configmaps', 'kyverno', 'flag').data.allow == 'yes'",
            "(.http.Get('https://x'))",
            "timestamp('2030-01-01T00:00:00Z') > time .now()",
            "image .GetMetadata (object.spec.image) != null",
            "variables.clock.now() > timestamp('2030-01-01T00:00:00Z') && time != null",
            "'allow' in resource.Get('v1', 'configmaps', 'kyverno', 'flags').data",
            "'a' in http.Get('https://x')",
            "'a' in\nglobalContext.Get('e', '')",
            "variables.x && . resource.Get('v1', 'pods', '', 'x') != null",
        ] {
            assert!(reuse(&[vpol(expression)]).is_err(), "{expression}");
        }
        // A field or a string named like a library is no use of it;
        // `resourceRules` names none, nor does a message.
        assert!(reuse(&[vpol(
            "object.resource.size() > 0 && has(object.spec.http) && object.spec.scheme != 'http' \
             && f().http == 1 && a[0].resource == 2 && timestamp(object.metadata.creationTimestamp) != null"
        )])
        .is_ok());
        let mut messaged = vpol("true");
        messaged["spec"]["validations"][0]["message"] = json!("set resource limits over http");
        assert!(reuse(&[messaged]).is_ok());
        let bound = json!({"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
                           "metadata": {"name": "v"},
                           "spec": {"variables": [{"name": "lib", "expression": " resource "}]}});
        assert!(reuse(&[bound]).is_err());
    }

    #[test]
    fn inputs_change_with_object_namespace_and_policies_only() {
        let plain = |message: &str| {
            policy(
                json!({"name": "r", "validate": {"message": message, "pattern": {"metadata": {"name": "?*"}}}}),
            )
        };
        let base = reuse(&[plain("a")]).unwrap();
        let key = base.inputs(&pod("1", "shop"), &env("7")).unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(Some(key.clone()), base.inputs(&pod("1", "shop"), &env("7")));
        assert_ne!(Some(key.clone()), base.inputs(&pod("2", "shop"), &env("7")));
        // What the server serves at one resourceVersion can change (a CRD
        // default, another served version): the content counts.
        let mut defaulted = pod("1", "shop");
        defaulted["spec"] = json!({"tier": "gold"});
        assert_ne!(Some(key.clone()), base.inputs(&defaulted, &env("7")));
        let mut converted = pod("1", "shop");
        converted["apiVersion"] = json!("v2");
        assert_ne!(Some(key.clone()), base.inputs(&converted, &env("7")));
        assert_ne!(Some(key.clone()), base.inputs(&pod("1", "shop"), &env("8")));
        // A namespace the run did not read: unknown labels, no key.
        assert_eq!(None, base.inputs(&pod("1", "other"), &env("7")));
        let edited = reuse(&[plain("b")]).unwrap();
        assert_ne!(
            Some(key.clone()),
            edited.inputs(&pod("1", "shop"), &env("7"))
        );
        // What the server changes on a policy by itself is no new input.
        let mut restamped = plain("a");
        restamped["metadata"]["resourceVersion"] = json!("99");
        restamped["status"] = json!({"ready": true});
        let same = reuse(&[restamped]).unwrap();
        assert_eq!(Some(key.clone()), same.inputs(&pod("1", "shop"), &env("7")));
        // Time-bound exceptions on the object follow the clock.
        let mut excused = pod("1", "shop");
        excused["metadata"]["annotations"] = json!({annotation::EXCEPTION: "p"});
        assert_eq!(None, base.inputs(&excused, &env("7")));
        // The other inputs count too.
        let filtered = Reuse::new(&[plain("a")], &["[Event,*,*]".into()], vec![meta("a")]).unwrap();
        assert_ne!(Some(key), filtered.inputs(&pod("1", "shop"), &env("7")));
    }

    #[test]
    fn results_round_trip_through_the_annotation() {
        let reuse = reuse(&[]).unwrap();
        let (a, b) = (meta("a"), meta("b"));
        let findings = [
            finding(&b, "check-probes", RuleStatus::Fail),
            finding(&a, "", RuleStatus::Pass),
            finding(&a, "7-digits", RuleStatus::Skip),
        ];
        let refs: Vec<&Finding> = findings.iter().collect();
        let text = reuse.encode(&refs).unwrap();
        assert_eq!(text, "1fcheck-probes,0p,0s7-digits");
        let stored = ExistingReport {
            key: report_key(&pod("1", "shop")).unwrap(),
            managed_by: Some(report_model::shape::MANAGED_BY_VALUE.into()),
            shape: Some(report_model::shape::SHAPE_PER_RESOURCE.into()),
            content_hash: Some("h".into()),
            scope_kind: None,
            scope_name: None,
            inputs: Some(seal("k", &text, "h")),
            results_by_rule: Some(text.clone()),
        };
        let decoded: Vec<(String, &str, RuleStatus)> = reuse
            .stored_results(&stored, "k")
            .unwrap()
            .into_iter()
            .map(|(policy, rule, status)| (policy.qualified_name(), rule, status))
            .collect();
        assert_eq!(
            decoded,
            [
                ("b".to_string(), "check-probes", RuleStatus::Fail),
                ("a".to_string(), "", RuleStatus::Pass),
                ("a".to_string(), "7-digits", RuleStatus::Skip),
            ]
        );
        // Another run's inputs, another layout or a damaged annotation:
        // evaluated again.
        assert!(reuse.stored_results(&stored, "other").is_none());
        let per_namespace = ExistingReport {
            shape: Some(report_model::shape::SHAPE_PER_NAMESPACE.into()),
            ..stored.clone()
        };
        assert!(reuse.stored_results(&per_namespace, "k").is_none());
        for damaged in ["", "9p", "0x", "p", "0"] {
            let report = ExistingReport {
                inputs: Some(seal("k", damaged, "h")),
                results_by_rule: Some(damaged.into()),
                ..stored.clone()
            };
            assert!(reuse.stored_results(&report, "k").is_none(), "{damaged}");
        }
        // The seal covers the results and the content hash: an edited
        // annotation, an edited hash (or results carried over, which change
        // it) or a missing seal make the object evaluated again.
        let edited_results = ExistingReport {
            results_by_rule: Some("0p,0p,0s7-digits".into()),
            ..stored.clone()
        };
        assert!(reuse.stored_results(&edited_results, "k").is_none());
        let edited_hash = ExistingReport {
            content_hash: Some("other".into()),
            ..stored.clone()
        };
        assert!(reuse.stored_results(&edited_hash, "k").is_none());
        let unsealed = ExistingReport {
            inputs: None,
            ..stored.clone()
        };
        assert!(reuse.stored_results(&unsealed, "k").is_none());
        let foreign = ExistingReport {
            managed_by: Some("kyverno".into()),
            ..stored.clone()
        };
        assert!(reuse.stored_results(&foreign, "k").is_none());
        // A policy the engine does not have, or a rule with a comma, has no
        // annotation (and so no label).
        let stranger = meta("c");
        assert!(reuse
            .encode(&[&finding(&stranger, "r", RuleStatus::Pass)])
            .is_none());
        assert!(reuse
            .encode(&[&finding(&a, "x,y", RuleStatus::Pass)])
            .is_none());
    }

    #[test]
    fn report_key_is_the_uid_name() {
        let key = report_key(&pod("1", "shop")).unwrap();
        assert_eq!(key.name, "polscan-0b9f3c2e-1111-4222-8333-444455556666");
        assert_eq!(key.namespace, "shop");
        assert!(!key.cluster_scoped);
        let mut node = pod("1", "");
        node["metadata"]["uid"] = json!("Not_A_Label");
        assert_eq!(None, report_key(&node));
    }
}
