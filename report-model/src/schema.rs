//! The report CRDs polscan ships (`deploy/crds/`) and a structural check of
//! a report against them, run before a report leaves the process; the
//! check also refuses a report larger than the API server stores
//! ([`crate::shape::MAX_WRITE_BYTES`]), which would fail at every run.
//!
//! A serialized report (JSON) enters; the list of schema violations leaves
//! (empty when the API server would accept the object's body). The checks
//! are the structural subset of OpenAPI v3 that these CRDs use, as the API
//! server applies it: `type`, `nullable`, `enum`, `format` int32/int64,
//! `required`, `properties` / `additionalProperties` /
//! `x-kubernetes-preserve-unknown-fields` (unknown fields are errors here,
//! since the server would silently prune them) and the keys of ObjectMeta;
//! and one rule of the server's own: an optional string field must not be
//! empty (server-side apply on a 1.20 server turns `""` into null and
//! refuses the object; Kyverno's Go types omit empty fields).
//! A report that fails the check is never sent: writing it would be refused
//! (422) or lose fields, and the evidence it carries would be missing.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{json, Value};

use crate::report::{ClusterPolicyReport, PolicyReport};

/// The PolicyReport CRD, as `kubectl apply` takes it.
pub const POLICY_REPORTS_CRD_YAML: &str =
    include_str!("../../deploy/crds/wgpolicyk8s.io_policyreports.yaml");
/// The ClusterPolicyReport CRD, as `kubectl apply` takes it.
pub const CLUSTER_POLICY_REPORTS_CRD_YAML: &str =
    include_str!("../../deploy/crds/wgpolicyk8s.io_clusterpolicyreports.yaml");

/// Keys Kubernetes accepts in `metadata`; the CRD schema leaves `metadata`
/// to the API server, so the check compares against this list instead.
pub const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "ownerReferences",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "managedFields",
];

/// A report that would not be accepted as written.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The report does not fit its CRD; `errors` are `path: problem` lines.
    #[error("{kind} {name:?} does not match its CRD schema: {}", errors.join("; "))]
    Invalid {
        /// `PolicyReport` or `ClusterPolicyReport`.
        kind: &'static str,
        /// The report's `metadata.name` (`""` when unnamed).
        name: String,
        /// Every violation found, as `path: problem` lines (see
        /// [`violations`]); never empty.
        errors: Vec<String>,
    },
    /// The report is larger than the API server takes in one object
    /// ([`crate::shape::MAX_WRITE_BYTES`]): sending it would fail at
    /// every run.
    #[error(
        "{kind} {name:?} is {bytes} bytes of JSON, over the {limit} bytes the API server takes in one object"
    )]
    TooLarge {
        /// `PolicyReport` or `ClusterPolicyReport`.
        kind: &'static str,
        /// The report's `metadata.name` (`""` when unnamed).
        name: String,
        /// Its size as measured ([`crate::wire::measured_bytes`]: as the
        /// API server stores it, and half of what is sent).
        bytes: usize,
        /// [`crate::shape::MAX_WRITE_BYTES`].
        limit: usize,
    },
    /// The report could not be serialized for the check.
    #[error("serializing {kind} {name:?} for the schema check: {source}")]
    Serialize {
        /// `PolicyReport` or `ClusterPolicyReport`.
        kind: &'static str,
        /// The report's `metadata.name` (`""` when unnamed).
        name: String,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
}

/// The `openAPIV3Schema` of the `v1alpha2` version of a CRD (as JSON);
/// `None` when the CRD has no such version or schema.
pub fn v1alpha2_schema(crd: &Value) -> Option<Value> {
    version_schema(crd, "v1alpha2")
}

/// The `openAPIV3Schema` of version `version` of a CRD (as JSON); `None`
/// when the CRD has no such version or schema.
pub fn version_schema(crd: &Value, version: &str) -> Option<Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v["name"] == version)?
        .pointer("/schema/openAPIV3Schema")
        .cloned()
}

/// The `openAPIV3Schema` of the v1alpha2 version of a CRD in YAML;
/// `Value::Null` when the text is not such a CRD.
pub fn openapi_schema(crd_yaml: &str) -> Value {
    serde_yaml::from_str::<Value>(crd_yaml)
        .ok()
        .and_then(|crd| v1alpha2_schema(&crd))
        .unwrap_or(Value::Null)
}

/// The schemas reports are checked against: the ones of the CRDs the
/// cluster serves (perhaps Kyverno's or Policy Reporter's, not polscan's),
/// or polscan's own when none are installed.
#[derive(Debug, Clone)]
pub struct ReportSchemas {
    policy_report: Value,
    cluster_policy_report: Value,
}

impl ReportSchemas {
    /// The schemas of the CRDs polscan ships.
    pub fn shipped() -> ReportSchemas {
        ReportSchemas {
            policy_report: policy_report_schema().clone(),
            cluster_policy_report: cluster_policy_report_schema().clone(),
        }
    }

    /// The schemas of the CRDs polscan ships for `api`. An OpenReports
    /// report is checked in its wgpolicyk8s.io form (the fields are the
    /// same; `source` is added when it is written).
    pub fn shipped_for(api: crate::api::ReportApi) -> ReportSchemas {
        match api {
            crate::api::ReportApi::Wgpolicy => ReportSchemas::shipped(),
            crate::api::ReportApi::OpenReports => {
                let [(_, namespaced), (_, cluster)] = api.crds();
                let schema = |yaml: &str| {
                    serde_yaml::from_str::<Value>(yaml)
                        .ok()
                        .and_then(|crd| version_schema(&crd, api.version()))
                        .unwrap_or(Value::Null)
                };
                ReportSchemas {
                    policy_report: schema(namespaced),
                    cluster_policy_report: schema(cluster),
                }
            }
        }
    }

    /// The schemas of installed CRD objects of `api` (JSON as the API
    /// server returns them); a CRD without a schema for the version polscan
    /// writes falls back to the shipped one.
    pub fn from_crds_of(
        api: crate::api::ReportApi,
        namespaced: &Value,
        cluster: &Value,
    ) -> ReportSchemas {
        let shipped = ReportSchemas::shipped_for(api);
        ReportSchemas {
            policy_report: version_schema(namespaced, api.version())
                .unwrap_or(shipped.policy_report),
            cluster_policy_report: version_schema(cluster, api.version())
                .unwrap_or(shipped.cluster_policy_report),
        }
    }

    /// The schemas of installed CRD objects (JSON as the API server returns
    /// them); a CRD without a v1alpha2 schema falls back to the shipped one.
    pub fn from_crds(policy_reports: &Value, cluster_policy_reports: &Value) -> ReportSchemas {
        ReportSchemas {
            policy_report: v1alpha2_schema(policy_reports)
                .unwrap_or_else(|| policy_report_schema().clone()),
            cluster_policy_report: v1alpha2_schema(cluster_policy_reports)
                .unwrap_or_else(|| cluster_policy_report_schema().clone()),
        }
    }

    /// Checks a PolicyReport. Errors: [`SchemaError::TooLarge`],
    /// [`SchemaError::Invalid`] listing every violation, or
    /// [`SchemaError::Serialize`].
    pub fn check_policy_report(&self, report: &PolicyReport) -> Result<(), SchemaError> {
        check(report, "PolicyReport", report.name(), &self.policy_report)
    }

    /// Checks a ClusterPolicyReport; errors as
    /// [`ReportSchemas::check_policy_report`].
    pub fn check_cluster_policy_report(
        &self,
        report: &ClusterPolicyReport,
    ) -> Result<(), SchemaError> {
        check(
            report,
            "ClusterPolicyReport",
            report.name(),
            &self.cluster_policy_report,
        )
    }
}

fn policy_report_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| openapi_schema(POLICY_REPORTS_CRD_YAML))
}

fn cluster_policy_report_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| openapi_schema(CLUSTER_POLICY_REPORTS_CRD_YAML))
}

/// Checks a PolicyReport against the shipped CRD.
///
/// Errors: [`SchemaError::TooLarge`], [`SchemaError::Invalid`] listing
/// every violation, or [`SchemaError::Serialize`].
pub fn check_policy_report(report: &PolicyReport) -> Result<(), SchemaError> {
    check(
        report,
        "PolicyReport",
        report.name(),
        policy_report_schema(),
    )
}

/// Checks a ClusterPolicyReport against the shipped CRD; errors as
/// [`check_policy_report`].
pub fn check_cluster_policy_report(report: &ClusterPolicyReport) -> Result<(), SchemaError> {
    check(
        report,
        "ClusterPolicyReport",
        report.name(),
        cluster_policy_report_schema(),
    )
}

fn check<R: Serialize>(
    report: &R,
    kind: &'static str,
    name: &str,
    schema: &Value,
) -> Result<(), SchemaError> {
    let value = serde_json::to_value(report).map_err(|source| SchemaError::Serialize {
        kind,
        name: name.to_owned(),
        source,
    })?;
    // As sent: what a YAML reader refuses goes escaped (fault18 F18-4).
    let bytes = crate::wire::measured_bytes(&value).map_err(|source| SchemaError::Serialize {
        kind,
        name: name.to_owned(),
        source,
    })?;
    if bytes > crate::shape::MAX_WRITE_BYTES {
        return Err(SchemaError::TooLarge {
            kind,
            name: name.to_owned(),
            bytes,
            limit: crate::shape::MAX_WRITE_BYTES,
        });
    }
    let errors = violations(schema, &value);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Invalid {
            kind,
            name: name.to_owned(),
            errors,
        })
    }
}

/// Every violation of `schema` by `value`, as `path: problem` lines (paths
/// like `.results[].rule`).
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut walker = Walker::default();
    if schema.is_null() {
        walker.errors.push("no schema to check against".into());
    } else {
        walker.walk(schema, value, "");
    }
    walker.errors
}

/// The schema paths `value` reaches (for coverage checks in tests), in the
/// notation of [`violations`].
pub fn visited_paths(schema: &Value, value: &Value) -> BTreeSet<String> {
    let mut walker = Walker::default();
    walker.walk(schema, value, "");
    walker.visited
}

/// Every path `schema` declares, in the notation of [`violations`].
pub fn schema_paths(schema: &Value) -> BTreeSet<String> {
    fn collect(schema: &Value, path: &str, out: &mut BTreeSet<String>) {
        out.insert(path.to_owned());
        if let Some(properties) = schema["properties"].as_object() {
            for (key, child) in properties {
                collect(child, &format!("{path}.{key}"), out);
            }
        }
        if schema["additionalProperties"].is_object() {
            collect(&schema["additionalProperties"], &format!("{path}.*"), out);
        }
        if schema["items"].is_object() {
            collect(&schema["items"], &format!("{path}[]"), out);
        }
    }
    let mut out = BTreeSet::new();
    collect(schema, "", &mut out);
    out
}

#[derive(Default)]
struct Walker {
    errors: Vec<String>,
    visited: BTreeSet<String>,
}

impl Walker {
    fn walk(&mut self, schema: &Value, value: &Value, path: &str) {
        self.visited.insert(path.to_owned());
        if value.is_null() {
            if schema["nullable"] != json!(true) {
                self.errors.push(format!("{path}: null is not allowed"));
            }
            return;
        }
        if let Some(expected) = schema["type"].as_str() {
            let matches = match expected {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => {
                    self.errors
                        .push(format!("{path}: unknown schema type {other}"));
                    return;
                }
            };
            if !matches {
                self.errors
                    .push(format!("{path}: expected {expected}, got {value}"));
                return;
            }
        }
        if let Some(allowed) = schema["enum"].as_array() {
            if !allowed.contains(value) {
                self.errors
                    .push(format!("{path}: {value} is not one of {allowed:?}"));
            }
        }
        match schema["format"].as_str() {
            Some("int32") if value.as_i64().and_then(|v| i32::try_from(v).ok()).is_none() => {
                self.errors.push(format!("{path}: {value} is not an int32"));
            }
            Some("int64") if value.as_i64().is_none() => {
                self.errors.push(format!("{path}: {value} is not an int64"));
            }
            _ => {}
        }
        if let Some(items) = value.as_array() {
            let item_schema = &schema["items"];
            for item in items {
                self.walk(item_schema, item, &format!("{path}[]"));
            }
        }
        if let Some(object) = value.as_object() {
            self.walk_object(schema, object, path);
        }
    }

    fn walk_object(&mut self, schema: &Value, object: &serde_json::Map<String, Value>, path: &str) {
        if path == ".metadata" {
            // The API server validates ObjectMeta itself (the CRD only says
            // `type: object`), so check the keys against ObjectMeta instead.
            for key in object.keys() {
                if !OBJECT_META_FIELDS.contains(&key.as_str()) {
                    self.errors
                        .push(format!("{path}.{key}: not an ObjectMeta field"));
                }
            }
            return;
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let required = required.as_str().unwrap_or_default();
            if !object.contains_key(required) {
                self.errors
                    .push(format!("{path}: required field {required} is missing"));
            }
        }
        let preserves_unknown = schema["x-kubernetes-preserve-unknown-fields"] == json!(true);
        let required = |key: &str| {
            schema["required"]
                .as_array()
                .is_some_and(|list| list.iter().any(|r| r == key))
        };
        for (key, child) in object {
            let child_path = format!("{path}.{key}");
            if let Some(child_schema) = schema["properties"].get(key) {
                // Not OpenAPI, but what the API server does with it: a
                // 1.20 server's server-side apply turns an empty optional
                // string into null and refuses the whole object (422).
                // Kyverno's types omit empty ones (`omitempty`).
                if child.as_str() == Some("") && !required(key) {
                    self.errors.push(format!(
                        "{child_path}: empty optional string (leave the field out)"
                    ));
                }
                self.walk(child_schema, child, &child_path);
            } else if schema["additionalProperties"].is_object() {
                self.walk(&schema["additionalProperties"], child, &format!("{path}.*"));
            } else if schema["additionalProperties"] == json!(true) || preserves_unknown {
                // Accepted as-is, like the API server does.
            } else {
                self.errors.push(format!(
                    "{child_path}: field is not in the schema (would be pruned)"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{PolicyResult, ReportResult};

    /// fault18 F18-4: the size checked is the size sent, with what a
    /// YAML reader refuses escaped (DEL: one byte raw, six sent). A report
    /// of 0.4 MB of JSON that is 2.4 MB as sent was let through, and the
    /// server refused it at every run.
    #[test]
    fn a_report_over_the_limit_as_sent_is_too_large() {
        let report_of = |dels: usize| {
            let result = ReportResult::new("p", PolicyResult::Fail)
                .with_rule("r")
                .with_message("\u{7f}".repeat(dels));
            PolicyReport::new("r", "ns", vec![result])
        };
        let report = report_of(600_000);
        assert!(serde_json::to_vec(&report).unwrap().len() < crate::shape::MAX_WRITE_BYTES);
        match check_policy_report(&report) {
            Err(SchemaError::TooLarge { bytes, limit, .. }) => {
                assert_eq!(bytes, crate::wire::measured_bytes(&report).unwrap());
                assert_eq!(limit, crate::shape::MAX_WRITE_BYTES);
            }
            other => panic!("{other:?}"),
        }
        // One that fits as sent (twice the stored limit) passes.
        check_policy_report(&report_of(400_000)).expect("2.4 MB as sent");
    }

    #[test]
    fn the_shipped_crds_parse() {
        assert!(policy_report_schema().is_object());
        assert!(cluster_policy_report_schema().is_object());
    }

    #[test]
    fn an_empty_optional_string_is_refused() {
        let mut report =
            PolicyReport::new("r", "ns", vec![ReportResult::new("p", PolicyResult::Pass)]);
        assert!(check_policy_report(&report).is_ok());
        let mut value = serde_json::to_value(&report).unwrap();
        value["results"][0]["rule"] = json!("");
        assert_eq!(
            violations(policy_report_schema(), &value),
            vec![".results[].rule: empty optional string (leave the field out)"]
        );
        // The builders leave empty fields out.
        report = PolicyReport::new(
            "r",
            "ns",
            vec![ReportResult::new("p", PolicyResult::Pass)
                .with_rule("")
                .with_message("")],
        );
        assert!(check_policy_report(&report).is_ok());
    }

    #[test]
    fn installed_crds_are_what_reports_are_checked_against() {
        // Another producer's CRD that allows fewer result values.
        let mut crd: Value = serde_yaml::from_str(POLICY_REPORTS_CRD_YAML).unwrap();
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["results"]["items"]
            ["properties"]["result"]["enum"] = json!(["pass", "fail"]);
        let schemas = ReportSchemas::from_crds(&crd, &Value::Null);
        let skip = PolicyReport::new("r", "ns", vec![ReportResult::new("p", PolicyResult::Skip)]);
        assert!(ReportSchemas::shipped().check_policy_report(&skip).is_ok());
        let err = schemas.check_policy_report(&skip).unwrap_err().to_string();
        assert!(err.contains(".results[].result"), "{err}");
    }

    #[test]
    fn a_report_with_a_null_rule_is_refused() {
        let report = PolicyReport::new(
            "r",
            "ns",
            vec![ReportResult::new("p", PolicyResult::Pass).with_rule("check")],
        );
        assert!(check_policy_report(&report).is_ok());
        let mut value = serde_json::to_value(&report).unwrap();
        value["results"][0]["rule"] = Value::Null;
        let errors = violations(policy_report_schema(), &value);
        assert_eq!(errors, vec![".results[].rule: null is not allowed"]);
    }
}
