//! What a scan decides before and around its listing, without I/O.
//!
//! Enter: discovery's kinds, the cluster's namespaces, the options, the
//! policy documents, the loaded engine and the stored reports. Leave: the
//! messages the setup owes the user (names matching nothing, policy files
//! of kinds this cluster does not serve, policies whose kinds it does not
//! serve), whether stored reports may stand for their objects
//! ([`ReuseMode`]), and the stored reports this run may keep, rewrite or
//! prune ([`InScope`]). The driver ([`super::scan`]) reads what these need
//! from the cluster and carries out what they decide.

use std::sync::Arc;

use polscan_engine::ValueExt;
use serde_json::Value;

use crate::cluster::discovery::Discovered;
use crate::engine::policy::PolicyMeta;
use crate::engine::{Engine, Environment};
use crate::evidence::ingest::policy_info::policy_kind_group;
use crate::kinds::ApiResource;
use crate::reconcile::decide;
use crate::reconcile::ExistingReport;

use super::evaluate::ReuseMode;
use super::reuse::Reuse;
use super::selection::ScanFilters;
use super::{ExceptionScope, ReportShape, ScanOptions};

/// What the setup owes the user, said once among the run's problems.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct SetupMessages {
    /// One sentence each: `--include-kinds` names not served (when some
    /// group's discovery failed and they may be its own), policy files of
    /// kinds this cluster does not serve, filters that match nothing, an
    /// `--exception-namespace` the cluster lacks.
    pub(super) messages: Vec<String>,
    /// `--exception-namespace` names a namespace the cluster does not
    /// have (so no PolicyException is applied).
    pub(super) exception_namespace_missing: bool,
    /// The policy kinds the cluster does not serve, for the run record
    /// (walk39 F6: evidence made offline from the record lost it).
    pub(super) unserved_policy_kinds: Vec<String>,
}

/// The messages a misspelt filter or an unserved policy kind calls for:
/// such a run scans less (or more) than meant, or audits what nothing in
/// this cluster enforces, and says so rather than guessing.
/// `unknown_kinds` are `--include-kinds` names discovery did not find.
pub(super) fn setup_messages(
    options: &ScanOptions,
    discovered: &Discovered,
    env: &Environment,
    unknown_kinds: Vec<String>,
) -> SetupMessages {
    let mut found = SetupMessages {
        messages: unknown_kinds,
        exception_namespace_missing: false,
        unserved_policy_kinds: Vec::new(),
    };
    let unserved = discovered.unserved_policy_kinds();
    found.unserved_policy_kinds = unserved.iter().map(|kind| kind.to_string()).collect();
    for document in &options.policy_documents {
        let kind = document.value.str_field("kind").unwrap_or_default();
        let Some((group, enforcer)) = policy_kind_group(kind).filter(|_| unserved.contains(&kind))
        else {
            continue;
        };
        let name = document.value.str_at("/metadata/name").unwrap_or_default();
        found.messages.push(format!(
            "{kind} {name} (a --policy file): this cluster does not serve {kind} ({group}), so nothing here would enforce it — that needs {enforcer}"
        ));
    }
    found.messages.extend(options.filters.unmatched(
        &discovered.kinds,
        env.namespace_labels.keys().map(String::as_str),
    ));
    if let ExceptionScope::Namespace { namespace } = &options.exceptions {
        if namespace != "*" && !env.namespace_labels.contains_key(namespace) {
            found.exception_namespace_missing = true;
            found.messages.push(format!(
                "--exception-namespace {namespace}: no such namespace in the cluster, so no PolicyException is applied"
            ));
        }
    }
    found
}

/// Drops the `--policy` file documents (`files`) naming an object the
/// cluster also holds (`cluster`: same apiVersion group, kind, namespace
/// and name): Kyverno enforces the cluster's, and two documents under one
/// name gave two results per rule, one pass and one fail, in one report
/// (walk28 F15). Returns a message for each dropped file document. The
/// evidence reads the same way ("the cluster's document wins").
pub(super) fn drop_files_the_cluster_holds(
    files: &mut Vec<crate::loader::Document>,
    cluster: &[crate::loader::Document],
) -> Vec<String> {
    let identity = |value: &Value| {
        let group = value
            .str_field("apiVersion")
            .and_then(|v| v.rsplit_once('/').map(|(group, _)| group.to_string()))
            .unwrap_or_default();
        (
            group,
            value.str_field("kind").unwrap_or_default().to_string(),
            value
                .str_at("/metadata/namespace")
                .unwrap_or_default()
                .to_string(),
            value
                .str_at("/metadata/name")
                .unwrap_or_default()
                .to_string(),
        )
    };
    let held: std::collections::HashSet<_> = cluster
        .iter()
        .map(|document| identity(&document.value))
        .filter(|(_, kind, _, name)| !kind.is_empty() && !name.is_empty())
        .collect();
    let mut messages = Vec::new();
    files.retain(|document| {
        let id = identity(&document.value);
        if !held.contains(&id) {
            return true;
        }
        let (_, kind, namespace, name) = id;
        let named = if namespace.is_empty() {
            name
        } else {
            format!("{namespace}/{name}")
        };
        messages.push(format!(
            "{kind} {named} is both in the cluster and in --policy file {}: the cluster's document is used (Kyverno enforces the one it holds); the file's is left out",
            document.origin
        ));
        false
    });
    messages
}

/// A message for each policy that targets kinds of which the server
/// serves none: it evaluates nothing, said now and not only in the
/// evidence. Policies without targets (they match any kind) get none.
pub(super) fn policies_matching_nothing_served(
    engine: &Engine,
    served: &[ApiResource],
) -> Vec<String> {
    engine
        .target_kinds_by_policy()
        .into_iter()
        .filter(|(_, targets)| {
            !targets.is_empty() && !served.iter().any(|kind| targets.includes(kind))
        })
        .map(|(policy, _)| {
            format!(
                "policy {policy} matches no kind this server serves: nothing is evaluated for it"
            )
        })
        .collect()
}

/// The policies (qualified names) some of whose served kinds this scan's
/// filters leave out, or its default (Secrets) leaves out where the policy
/// names the kind without a wildcard
/// ([`polscan_engine::target_kinds::TargetKinds::names`]): the scan did
/// not cover them completely, so their soak history must not count it as
/// a clean scan (a week of scans without Secrets read as a week clean for
/// a policy on Secrets).
pub(super) fn policies_missing_named_kinds(
    engine: &Engine,
    selection: &super::selection::Selection,
) -> std::collections::BTreeSet<String> {
    use super::selection::NotListed;
    engine
        .target_kinds_by_policy()
        .into_iter()
        .filter(|(_, targets)| {
            // The user's filters leave out whatever the policy reaches,
            // through a wildcard too (verify45 F8: `apps/v1/*` soaked over
            // scans without Deployments). Of the kinds left out by default,
            // Secrets whatever reaches them — a CEL `*`, a Kyverno `v1/*`
            // (verify46 F1; Kyverno refuses a background policy on the bare
            // `*`) —, the others (Events, reports) only where named.
            selection.not_listed.iter().any(|(kind, why)| match why {
                NotListed::Filtered => targets.includes(kind),
                NotListed::ExcludedByDefault => {
                    targets.names(kind)
                        || (super::selection::keeps_reports_when_excluded(kind)
                            && targets.includes(kind))
                }
                _ => false,
            })
        })
        .map(|(policy, _)| policy)
        .collect()
}

/// A message for each policy all or some of whose served kinds this scan
/// leaves out — by `--include-kinds`/`--exclude-kinds`/`--namespace`, or
/// by default (Secrets) — and for each namespaced policy whose namespace
/// `--namespace`/`--exclude-namespaces` leave out: a "complete" scan
/// evaluated nothing (or not everything) for it, said now and not only in
/// the evidence (walk28 F1, verify28 items 11 and 15).
pub(super) fn policies_the_scan_leaves_out(
    engine: &Engine,
    selection: &super::selection::Selection,
    filters: &ScanFilters,
) -> Vec<String> {
    use super::selection::NotListed;
    let namespaces_left_out = engine.policy_metas().into_iter().filter_map(|meta| {
        let namespace = meta.namespace.as_deref()?;
        let left_out = (!filters.namespaces.is_empty()
            && !filters.namespaces.iter().any(|n| n == namespace))
            || filters.exclude_namespaces.iter().any(|n| n == namespace);
        left_out.then(|| {
            format!(
                "{} {} applies only in namespace {namespace}, which this scan's --namespace or --exclude-namespaces leave out: nothing is evaluated for it in this scan",
                meta.kind,
                meta.qualified_name()
            )
        })
    });
    let soak_gaps = policies_missing_named_kinds(engine, selection);
    let kinds_left_out = engine
        .target_kinds_by_policy()
        .into_iter()
        .filter(|(_, targets)| !targets.is_empty())
        .filter_map(|(policy, targets)| {
            let partly = selection.to_list.iter().any(|kind| targets.includes(kind));
            let left_out: Vec<&(ApiResource, NotListed)> = selection
                .not_listed
                .iter()
                .filter(|(kind, why)| {
                    targets.includes(kind)
                        && matches!(why, NotListed::Filtered | NotListed::ExcludedByDefault)
                })
                .collect();
            if left_out.is_empty() {
                return None;
            }
            let kinds: Vec<&str> = left_out.iter().map(|(kind, _)| kind.kind.as_str()).collect();
            // A Secret under --namespace alone is still left out by
            // default (verify29 V3): naming it is what lists it.
            let by_default = |kind: &ApiResource, why: &NotListed| {
                *why == NotListed::ExcludedByDefault
                    || (kind.kind == "Secret"
                        && kind.group.is_empty()
                        && filters.include_kinds.is_empty())
            };
            // Which filter, in its own words: `--include-kinds` lists only
            // what it names, which a user adding Secret did not expect
            // (walk44).
            let why = if left_out.iter().all(|(kind, why)| by_default(kind, why)) {
                "listed only when --include-kinds names them (their reports are readable by more people than the objects; --include-kinds then lists only the kinds it names, so name the others too)"
            } else if !filters.include_kinds.is_empty() && filters.namespaces.is_empty() {
                "not in this scan's --include-kinds, which lists only the kinds it names"
            } else if !filters.include_kinds.is_empty() {
                "not in this scan's --include-kinds (which lists only the kinds it names), or cluster-scoped under its --namespace"
            } else if !filters.exclude_kinds.is_empty() {
                "left out by this scan's --exclude-kinds or --namespace"
            } else {
                "left out by this scan's --namespace (it lists namespaced kinds only)"
            };
            let soak = if soak_gaps.contains(&policy) {
                "; this scan does not count toward its soak"
            } else {
                ""
            };
            Some(if partly {
                format!(
                    "policy {policy} also matches {}, {why}: its rules are not evaluated on them in this scan{soak}",
                    kinds.join(", ")
                )
            } else {
                format!(
                    "policy {policy} matches only {}, {why}: nothing is evaluated for it in this scan{soak}",
                    kinds.join(", ")
                )
            })
        });
    namespaces_left_out.chain(kinds_left_out).collect()
}

/// Whether stored per-resource reports stand for their objects
/// ([`super::reuse`]). `loaded_documents` are the policy and exception
/// documents that loaded (one that did not gives no result, so adding or
/// removing it changes no report); `inputs` the run's other inputs of
/// every result; `needs_every_object` whether the output needs every
/// finding or every report (then reports are labelled, nothing reused).
/// Per-namespace reports are never reused; policies whose results may
/// change with no input changing turn reuse off.
pub(super) fn reuse_mode<'a>(
    shape: ReportShape,
    loaded_documents: impl IntoIterator<Item = &'a Value>,
    inputs: &[String],
    policies: Vec<Arc<PolicyMeta>>,
    needs_every_object: bool,
) -> ReuseMode {
    if shape == ReportShape::PerNamespace {
        return ReuseMode::Off;
    }
    match Reuse::new(loaded_documents, inputs, policies) {
        Ok(reuse) if needs_every_object => ReuseMode::Label(Arc::new(reuse)),
        Ok(reuse) => ReuseMode::Stored(Arc::new(reuse)),
        Err(why) => {
            tracing::info!("every object is evaluated: {why}, whose results may change without the object changing");
            ReuseMode::Off
        }
    }
}

/// The stored reports this run may keep, rewrite or prune.
#[derive(Debug)]
pub(super) struct InScope {
    /// Sorted by key, shared with the per-resource sink (which looks
    /// reports up here rather than keeping a second map of every key).
    pub(super) reports: Arc<Vec<ExistingReport>>,
    /// A `--report-per` switch held back: the run lacks policies and
    /// polscan's reports of the other layout (this many) stay; writing the
    /// new layout beside them would show every result twice.
    pub(super) layout_switch_held: Option<usize>,
}

/// The stored reports in the run's scope: those outside the namespaces
/// scanned (or another shard's) are neither written nor pruned, nor can
/// one of ours collide with them. With `results_digested` (a run that does
/// not reuse stored reports only compares results annotations) each
/// report's annotation is reduced to its digest, since one is held per
/// object for the whole scan.
pub(super) fn reports_in_scope(
    existing: Vec<ExistingReport>,
    filters: &ScanFilters,
    shape: ReportShape,
    results_digested: bool,
    policies_incomplete: bool,
) -> InScope {
    let per_namespace = shape == ReportShape::PerNamespace;
    let mut reports: Vec<ExistingReport> = existing
        .into_iter()
        .filter(|report| filters.covers_report(report, per_namespace))
        .map(|mut report| {
            if results_digested {
                report.results_by_rule = report.results_by_rule.as_deref().map(decide::digest_of);
            }
            report
        })
        .collect();
    reports.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let other_layout = reports
        .iter()
        .filter(|r| r.managed_by_polscan())
        .filter(|r| r.shape.as_deref() != Some(shape.label()))
        .count();
    InScope {
        reports: Arc::new(reports),
        layout_switch_held: (policies_incomplete && other_layout > 0).then_some(other_layout),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::engine::EngineOptions;
    use crate::loader::Document;
    use crate::reconcile::ReportKey;

    fn discovered(kinds: &[(&str, &str)]) -> Discovered {
        Discovered {
            kinds: kinds
                .iter()
                .map(|(group, kind)| crate::cluster::discovery::listable_for_tests(group, kind))
                .collect(),
            failed: Vec::new(),
            group_versions: Default::default(),
        }
    }

    fn env(namespaces: &[&str]) -> Environment {
        let mut env = Environment::default();
        for namespace in namespaces {
            env.namespace_labels
                .insert(namespace.to_string(), Default::default());
        }
        env
    }

    fn validating_policy(name: &str) -> Document {
        Document {
            value: json!({
                "apiVersion": "policies.kyverno.io/v1alpha1",
                "kind": "ValidatingPolicy",
                "metadata": {"name": name},
                "spec": {"validations": [{"expression": "true"}]}
            }),
            origin: crate::loader::Origin {
                path: "vp.yaml".into(),
                index: 1,
                line: 1,
            },
        }
    }

    /// walk28 F15: a `--policy` file of a policy the cluster also holds
    /// was evaluated beside it, two results per rule under one name.
    #[test]
    fn a_policy_file_the_cluster_also_holds_is_left_out_and_said() {
        let mut files = vec![validating_policy("vp"), validating_policy("only-in-git")];
        let mut older_api = validating_policy("vp");
        older_api.value["apiVersion"] = json!("policies.kyverno.io/v1");
        let cluster = vec![older_api, validating_policy("other")];
        let messages = drop_files_the_cluster_holds(&mut files, &cluster);
        let names: Vec<&str> = files
            .iter()
            .filter_map(|d| d.value.str_at("/metadata/name"))
            .collect();
        assert_eq!(names, ["only-in-git"]);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with(
                "ValidatingPolicy vp is both in the cluster and in --policy file vp.yaml"
            ),
            "{messages:?}"
        );
        // Another kind of the same name is another object.
        let mut files = vec![validating_policy("vp")];
        let mut cluster_policy = validating_policy("vp");
        cluster_policy.value["apiVersion"] = json!("kyverno.io/v1");
        cluster_policy.value["kind"] = json!("ClusterPolicy");
        assert!(drop_files_the_cluster_holds(&mut files, &[cluster_policy]).is_empty());
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn a_policy_file_of_an_unserved_kind_is_said() {
        let options = ScanOptions {
            policy_documents: vec![validating_policy("vp")],
            ..ScanOptions::default()
        };
        // The cluster serves kyverno.io's ClusterPolicy only.
        let found = setup_messages(
            &options,
            &discovered(&[("", "Pod"), ("kyverno.io", "ClusterPolicy")]),
            &env(&["default"]),
            vec!["--include-kinds Widgte: not served".into()],
        );
        assert_eq!(found.messages.len(), 2, "{:?}", found.messages);
        assert_eq!(found.messages[0], "--include-kinds Widgte: not served");
        assert!(
            found.messages[1].starts_with(
                "ValidatingPolicy vp (a --policy file): this cluster does not serve ValidatingPolicy"
            ),
            "{}",
            found.messages[1]
        );
        assert!(!found.exception_namespace_missing);
    }

    #[test]
    fn a_missing_exception_namespace_is_said_and_any_namespace_is_not() {
        let missing = ScanOptions {
            exceptions: ExceptionScope::Namespace {
                namespace: "policy-exceptions".into(),
            },
            ..ScanOptions::default()
        };
        let found = setup_messages(
            &missing,
            &discovered(&[("", "Pod")]),
            &env(&["default"]),
            vec![],
        );
        assert!(found.exception_namespace_missing);
        assert_eq!(
            found.messages,
            ["--exception-namespace policy-exceptions: no such namespace in the cluster, so no PolicyException is applied"]
        );
        for namespace in ["*", "default"] {
            let present = ScanOptions {
                exceptions: ExceptionScope::Namespace {
                    namespace: namespace.into(),
                },
                ..ScanOptions::default()
            };
            let found = setup_messages(
                &present,
                &discovered(&[("", "Pod")]),
                &env(&["default"]),
                vec![],
            );
            assert!(found.messages.is_empty(), "{namespace}: {found:?}");
            assert!(!found.exception_namespace_missing, "{namespace}");
        }
    }

    #[test]
    fn a_policy_whose_kinds_are_not_served_is_named() {
        let (engine, problems) = Engine::from_documents(
            &[
                json!({
                    "apiVersion": "kyverno.io/v1",
                    "kind": "ClusterPolicy",
                    "metadata": {"name": "widgets"},
                    "spec": {"rules": [{
                        "name": "r",
                        "match": {"any": [{"resources": {"kinds": ["example.com/v1/Widget"]}}]},
                        "validate": {"pattern": {"metadata": {"name": "?*"}}}
                    }]}
                }),
                json!({
                    "apiVersion": "kyverno.io/v1",
                    "kind": "ClusterPolicy",
                    "metadata": {"name": "pods"},
                    "spec": {"rules": [{
                        "name": "r",
                        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                        "validate": {"pattern": {"metadata": {"name": "?*"}}}
                    }]}
                }),
            ],
            {
                let mut options = EngineOptions::default();
                options.background_only = true;
                options
            },
        );
        assert!(problems.is_empty(), "{problems:?}");
        let served = discovered(&[("", "Pod")]).kinds;
        assert_eq!(
            policies_matching_nothing_served(&engine, &served),
            ["policy widgets matches no kind this server serves: nothing is evaluated for it"]
        );
    }

    /// walk28 F1: a policy on Secrets, which a scan lists only when
    /// named, was silently not evaluated by a "complete" scan.
    #[test]
    fn a_policy_whose_kinds_the_scan_leaves_out_is_named() {
        let rule = |name: &str, kind: &str| {
            json!({
                "apiVersion": "kyverno.io/v1",
                "kind": "ClusterPolicy",
                "metadata": {"name": name},
                "spec": {"rules": [{
                    "name": "r",
                    "match": {"any": [{"resources": {"kinds": [kind]}}]},
                    "validate": {"pattern": {"metadata": {"name": "?*"}}}
                }]}
            })
        };
        let (engine, problems) = Engine::from_documents(
            &[rule("secrets", "Secret"), rule("pods", "Pod")],
            EngineOptions::default(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let served = discovered(&[("", "Pod"), ("", "Secret")]).kinds;
        let plain = super::super::selection::select(
            &served,
            &ScanFilters::default(),
            &engine.target_kinds(),
        );
        assert_eq!(
            policies_the_scan_leaves_out(&engine, &plain, &ScanFilters::default()),
            ["policy secrets matches only Secret, listed only when --include-kinds names them (their reports are readable by more people than the objects; --include-kinds then lists only the kinds it names, so name the others too): nothing is evaluated for it in this scan; this scan does not count toward its soak"]
        );
        let named = ScanFilters {
            include_kinds: vec![super::super::selection::KindName::parse("Secret")],
            ..ScanFilters::default()
        };
        let with_secrets = super::super::selection::select(&served, &named, &engine.target_kinds());
        assert_eq!(
            policies_the_scan_leaves_out(&engine, &with_secrets, &named),
            ["policy pods matches only Pod, not in this scan's --include-kinds, which lists only the kinds it names: nothing is evaluated for it in this scan; this scan does not count toward its soak"]
        );
        // Their soak history does not count these scans as covering them.
        assert_eq!(
            policies_missing_named_kinds(&engine, &plain),
            BTreeSet::from(["secrets".to_string()])
        );
        assert_eq!(
            policies_missing_named_kinds(&engine, &with_secrets),
            BTreeSet::from(["pods".to_string()])
        );
        // verify45 F8: a wildcard reaches what --exclude-kinds leaves out;
        // not the Secrets left out by default.
        let (engine, problems) = Engine::from_documents(
            &[rule("apps", "apps/v1/*"), rule("pods", "Pod")],
            EngineOptions::default(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let served = discovered(&[
            ("", "Secret"),
            ("apps", "Deployment"),
            ("apps", "DaemonSet"),
        ])
        .kinds;
        let plain = super::super::selection::select(
            &served,
            &ScanFilters::default(),
            &engine.target_kinds(),
        );
        assert!(policies_missing_named_kinds(&engine, &plain).is_empty());
        let no_deployments = ScanFilters {
            exclude_kinds: vec![super::super::selection::KindName::parse("Deployment")],
            ..ScanFilters::default()
        };
        let selection =
            super::super::selection::select(&served, &no_deployments, &engine.target_kinds());
        assert_eq!(
            policies_missing_named_kinds(&engine, &selection),
            BTreeSet::from(["apps".to_string(), "pods".to_string()])
        );
        // verify28: a policy on Secrets and Pods loses its Secret part in a
        // plain scan; a namespaced policy of a namespace --namespace leaves
        // out evaluates nothing.
        let mut both = rule("both", "Pod");
        both["spec"]["rules"][0]["match"]["any"][0]["resources"]["kinds"] =
            json!(["Pod", "Secret"]);
        let mut namespaced = rule("local", "Pod");
        namespaced["kind"] = json!("Policy");
        namespaced["metadata"]["namespace"] = json!("team-a");
        let (engine, problems) =
            Engine::from_documents(&[both, namespaced], EngineOptions::default());
        assert!(problems.is_empty(), "{problems:?}");
        let plain = ScanFilters::default();
        let selection = super::super::selection::select(&served, &plain, &engine.target_kinds());
        assert_eq!(
            policies_the_scan_leaves_out(&engine, &selection, &plain),
            ["policy both also matches Secret, listed only when --include-kinds names them (their reports are readable by more people than the objects; --include-kinds then lists only the kinds it names, so name the others too): its rules are not evaluated on them in this scan; this scan does not count toward its soak"]
        );
        let team_b = ScanFilters {
            namespaces: vec!["team-b".into()],
            ..ScanFilters::default()
        };
        let selection = super::super::selection::select(&served, &team_b, &engine.target_kinds());
        assert_eq!(
            policies_the_scan_leaves_out(&engine, &selection, &team_b),
            [
                "Policy team-a/local applies only in namespace team-a, which this scan's --namespace or --exclude-namespaces leave out: nothing is evaluated for it in this scan",
                // verify29 V3: --namespace does not drop Secrets; the default does.
                "policy both also matches Secret, listed only when --include-kinds names them (their reports are readable by more people than the objects; --include-kinds then lists only the kinds it names, so name the others too): its rules are not evaluated on them in this scan; this scan does not count toward its soak",
            ]
        );
    }

    /// verify45 F3: a ValidatingPolicy on every core kind is left out by a
    /// scan that leaves out a core kind (Secrets by default too), not by
    /// one naming every kind it reaches and no other group's.
    #[test]
    fn a_cel_policy_on_every_core_kind_is_judged_by_group() {
        let every = json!({
            "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
            "metadata": {"name": "every"},
            "spec": {"validationActions": ["Audit"],
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"], "resources": ["*"]}]},
                "validations": [{"expression": "true"}]}
        });
        let (engine, problems) = Engine::from_documents(&[every], EngineOptions::default());
        assert!(problems.is_empty(), "{problems:?}");
        let served = discovered(&[
            ("", "Pod"),
            ("", "ConfigMap"),
            ("", "Secret"),
            ("apps", "Deployment"),
            ("example.com", "Widget"),
        ])
        .kinds;
        let select = |filters: &ScanFilters| {
            super::super::selection::select(&served, filters, &engine.target_kinds())
        };
        let include = |kinds: &[&str]| ScanFilters {
            include_kinds: kinds
                .iter()
                .map(|k| super::super::selection::KindName::parse(k))
                .collect(),
            ..ScanFilters::default()
        };
        let every = BTreeSet::from(["every".to_string()]);
        assert_eq!(
            policies_missing_named_kinds(&engine, &select(&ScanFilters::default())),
            every
        );
        assert_eq!(
            policies_missing_named_kinds(&engine, &select(&include(&["Pod", "Secret"]))),
            every
        );
        // verify46 F1: so does a Kyverno `v1/*` (a background policy on the
        // bare `*` is refused), not `apps/v1/*`.
        let rule = |name: &str, kind: &str| {
            json!({
                "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                "metadata": {"name": name},
                "spec": {"rules": [{"name": "r",
                    "match": {"any": [{"resources": {"kinds": [kind]}}]},
                    "validate": {"pattern": {"metadata": {"name": "?*"}}}}]}
            })
        };
        let (kyverno, problems) = Engine::from_documents(
            &[rule("v1-star", "v1/*"), rule("apps-star", "apps/v1/*")],
            EngineOptions::default(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let plain = super::super::selection::select(
            &served,
            &ScanFilters::default(),
            &kyverno.target_kinds(),
        );
        assert_eq!(
            policies_missing_named_kinds(&kyverno, &plain),
            BTreeSet::from(["v1-star".to_string()])
        );
        // Another group's kinds left out do not matter. (Pod controllers
        // are read as reached, autogen or not: the safe side.)
        assert!(policies_missing_named_kinds(
            &engine,
            &select(&include(&["Pod", "ConfigMap", "Secret", "Deployment"]))
        )
        .is_empty());
    }

    #[test]
    fn reuse_follows_the_shape_and_what_the_output_needs() {
        let policy = validating_policy("vp").value;
        let per_namespace =
            reuse_mode(ReportShape::PerNamespace, [&policy], &[], Vec::new(), false);
        assert!(matches!(per_namespace, ReuseMode::Off));
        let stored = reuse_mode(ReportShape::PerResource, [&policy], &[], Vec::new(), false);
        assert!(matches!(stored, ReuseMode::Stored(_)));
        let labelled = reuse_mode(ReportShape::PerResource, [&policy], &[], Vec::new(), true);
        assert!(matches!(labelled, ReuseMode::Label(_)));
    }

    fn stored(namespace: &str, name: &str, shape: &str) -> ExistingReport {
        ExistingReport {
            key: ReportKey {
                cluster_scoped: namespace.is_empty(),
                namespace: namespace.into(),
                name: name.into(),
            },
            managed_by: Some(report_model::shape::MANAGED_BY_VALUE.into()),
            shape: Some(shape.into()),
            content_hash: None,
            scope_kind: None,
            scope_name: None,
            inputs: None,
            results_by_rule: None,
        }
    }

    #[test]
    fn reports_in_scope_are_sorted_and_a_layout_switch_waits_for_every_policy() {
        let per_namespace = report_model::shape::SHAPE_PER_NAMESPACE;
        let per_resource = report_model::shape::SHAPE_PER_RESOURCE;
        let existing = || {
            vec![
                stored("team-b", "b", per_resource),
                stored("team-a", "a", per_namespace),
                stored("team-a", "c", per_resource),
            ]
        };
        let filters = ScanFilters {
            namespaces: vec!["team-a".into()],
            ..ScanFilters::default()
        };
        let scope = reports_in_scope(existing(), &filters, ReportShape::PerResource, false, true);
        let names: Vec<&str> = scope.reports.iter().map(|r| r.key.name.as_str()).collect();
        assert_eq!(names, ["a", "c"], "team-b is outside --namespace");
        assert_eq!(scope.layout_switch_held, Some(1));
        // Every policy read: the switch goes ahead.
        let scope = reports_in_scope(existing(), &filters, ReportShape::PerResource, false, false);
        assert_eq!(scope.layout_switch_held, None);
    }
}
