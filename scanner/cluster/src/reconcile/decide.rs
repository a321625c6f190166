//! The scan's report decisions, one place for each rule that decides what
//! is written: the stored reports in scope and the reports the scan wants
//! enter, batch by batch; a [`Decision`] per wanted report leaves (write,
//! leave as stored, hold, or not send), and at the end the [`Plan`] of
//! writes and deletions. No I/O: the scan's driver moves pages in and
//! carries the writes out.
//!
//! The rules:
//! - **foreign names**: a name another producer's report holds is written
//!   as `polscan-<name>` beside it ([`write_beside_foreign`]);
//! - **hash skip**: a report whose content hash (and, for a reused report's
//!   annotations, whose reuse annotations) equals the stored one is not
//!   written again;
//! - **held rewrites**: a per-namespace part stored already is not
//!   rewritten by a run that lacks some policy (parts are packed by size,
//!   so the missing policies' results cannot be carried into them);
//! - **schema**: a report that does not fit its CRD schema, or is larger
//!   than the API server stores, is never sent (it would fail at every run);
//!   the stored version stays (and, being wanted, is not pruned);
//! - **prune**: [`super::plan`] (deletions only of polscan's own reports,
//!   only when their kinds were listed completely and every policy was
//!   read).
//!
//! Each report shape (`--report-per`) is one [`ShapeDecisions`]: per
//! resource, decided page by page as objects are evaluated; per namespace,
//! decided once, from the whole scan's reports.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use report_model::schema::{ReportSchemas, SchemaError};

use super::wanted::{Wanted, WantedReport};
use super::{plan, DesiredReport, ExistingReport, ListingOutcome, Plan, ReportKey};

/// The keys of reports another producer wrote.
pub fn foreign_keys(existing: &[ExistingReport]) -> HashSet<ReportKey> {
    existing
        .iter()
        .filter(|report| !report.managed_by_polscan())
        .map(|report| report.key.clone())
        .collect()
}

/// Another producer may own the name polscan wants; polscan then writes
/// under `polscan-<name>` and leaves the other report alone.
pub fn write_beside_foreign(wanted: &mut Wanted, foreign: &HashSet<ReportKey>) {
    let clashing: Vec<ReportKey> = wanted
        .keys()
        .filter(|key| foreign.contains(*key))
        .cloned()
        .collect();
    for key in clashing {
        if let Some((hash, mut report)) = wanted.remove(&key) {
            let name = beside_foreign_name(&key.name);
            tracing::info!(report = %key.name, "name taken by another producer's report; writing {name}");
            report.rename(name.clone());
            wanted.insert(ReportKey { name, ..key }, (hash, report));
        }
    }
}

/// The name polscan writes under when another producer holds `name`.
fn beside_foreign_name(name: &str) -> String {
    format!("polscan-{name}").chars().take(253).collect()
}

/// What a stored report keeps of its results annotation when the run does
/// not reuse it: its SHA-256, marked as such.
pub fn digest_of(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// What to do with one report the scan wants.
#[derive(Debug)]
pub enum Decision {
    /// New or changed: write it. `stored`: the cluster holds a version of
    /// it (with a content hash), so the write replaces one.
    Write {
        /// Where it is written (`polscan-<name>` beside a foreign report).
        key: ReportKey,
        /// The report to send.
        report: WantedReport,
        /// Whether a stored version (one with a content hash) is replaced.
        stored: bool,
    },
    /// The stored version says the same: nothing to write (a run that
    /// prints every report prints it).
    Unchanged {
        /// Where it is stored.
        key: ReportKey,
        /// The report, as wanted.
        report: WantedReport,
    },
    /// Changed, but held: a per-namespace part already stored, in a run
    /// that lacks some policy. The stored version stays.
    Held {
        /// Where it is stored.
        key: ReportKey,
    },
    /// Does not fit its CRD schema or the server's size limit: never sent;
    /// the stored version stays.
    NotSent {
        /// Where it would have been written.
        key: ReportKey,
        /// The schema check's error.
        error: SchemaError,
    },
}

/// One report shape's decisions: batches of wanted reports in, a
/// [`Decision`] for each out; the [`Plan`] at the end.
pub trait ShapeDecisions {
    /// Decides a batch of wanted reports; `reused` are stored reports that
    /// stand for their objects as they are (recorded, never written).
    fn on_reports(&mut self, wanted: Wanted, reused: Vec<DesiredReport>) -> Vec<Decision>;

    /// After the last batch: what to write, leave and delete, given what
    /// the scan listed.
    fn finish(&self, listing: &ListingOutcome) -> Plan;
}

/// Per-resource reports (`--report-per resource`), decided as each page of
/// objects is evaluated.
pub struct PerResource {
    /// The stored reports in scope, sorted by key.
    existing: Arc<Vec<ExistingReport>>,
    foreign: HashSet<ReportKey>,
    schemas: Arc<ReportSchemas>,
    /// The stored reports hold the [`digest_of`] their results annotation,
    /// not the annotation.
    results_digested: bool,
    /// Every report this scan wants, with its hash: the plan's input.
    seen: Vec<DesiredReport>,
    /// The report key of every object listed in scope, results or not:
    /// a stored report outside it is of a resource that is gone.
    listed: HashSet<ReportKey>,
}

impl PerResource {
    /// `existing`: the stored reports in scope, sorted by key (with their
    /// results annotation as [`digest_of`] it when `results_digested`).
    pub fn new(
        existing: Arc<Vec<ExistingReport>>,
        schemas: Arc<ReportSchemas>,
        results_digested: bool,
    ) -> PerResource {
        PerResource {
            foreign: foreign_keys(&existing),
            existing,
            schemas,
            results_digested,
            seen: Vec::new(),
            listed: HashSet::new(),
        }
    }

    /// Records the objects of a page as listed, by the key of their
    /// per-resource report ([`super::wanted::resource_report_key`]).
    pub fn on_listed(&mut self, keys: impl IntoIterator<Item = ReportKey>) {
        for key in keys {
            // Where another producer holds the name, polscan's report of
            // the object is the `polscan-` one beside it
            // ([`write_beside_foreign`]).
            if self.foreign.contains(&key) {
                let name = beside_foreign_name(&key.name);
                self.listed.insert(ReportKey {
                    name,
                    ..key.clone()
                });
            }
            self.listed.insert(key);
        }
    }

    /// The stored reports in scope, sorted by key.
    pub fn existing(&self) -> &Arc<Vec<ExistingReport>> {
        &self.existing
    }

    /// polscan's stored report at `key`, if there is one.
    fn stored(&self, key: &ReportKey) -> Option<&ExistingReport> {
        let at = self
            .existing
            .binary_search_by(|report| report.key.cmp(key))
            .ok()?;
        let report = &self.existing[at];
        report.managed_by_polscan().then_some(report)
    }
}

impl ShapeDecisions for PerResource {
    fn on_reports(&mut self, mut wanted: Wanted, reused: Vec<DesiredReport>) -> Vec<Decision> {
        self.seen.extend(reused);
        write_beside_foreign(&mut wanted, &self.foreign);
        let mut decisions = Vec::with_capacity(wanted.len());
        for (key, (hash, report)) in wanted {
            let stored = self.stored(&key);
            // A report made for reuse is also rewritten when its reuse
            // annotations differ from the stored ones (inputs changed, or
            // edited by hand): the content hash does not cover them.
            let same_content =
                stored.is_some_and(|stored| stored.content_hash.as_deref() == Some(hash.as_str()));
            let same_reuse = stored.is_some_and(|stored| {
                report
                    .annotation(report_model::shape::INPUTS_ANNOTATION)
                    .is_none_or(|inputs| {
                        let wanted = report.annotation(report_model::shape::RESULTS_ANNOTATION);
                        stored.inputs.as_deref() == Some(inputs)
                            && if self.results_digested {
                                stored.results_by_rule == wanted.map(digest_of)
                            } else {
                                stored.results_by_rule.as_deref() == wanted
                            }
                    })
            });
            let unchanged = same_content && same_reuse;
            let stored = stored.is_some_and(|stored| stored.content_hash.is_some());
            self.seen.push(DesiredReport {
                key: key.clone(),
                // The plan compares content hashes: a rewrite for the
                // annotations alone is planned (and counted) as one.
                content_hash: if same_content && !same_reuse {
                    format!("{hash} (reuse annotations differ)")
                } else {
                    hash
                },
            });
            if unchanged {
                decisions.push(Decision::Unchanged { key, report });
                continue;
            }
            match report.check_schema(&self.schemas) {
                Ok(()) => decisions.push(Decision::Write {
                    key,
                    report,
                    stored,
                }),
                Err(error) => decisions.push(Decision::NotSent { key, error }),
            }
        }
        decisions
    }

    fn finish(&self, listing: &ListingOutcome) -> Plan {
        plan(&self.seen, &self.existing, listing, Some(&self.listed))
    }
}

/// Per-namespace reports (`--report-per namespace`), decided once, from
/// the whole scan's reports.
pub struct PerNamespace {
    existing: Arc<Vec<ExistingReport>>,
    foreign: HashSet<ReportKey>,
    schemas: Arc<ReportSchemas>,
    /// Some policy could not be read or loaded: stored parts are held.
    policies_incomplete: bool,
    seen: Vec<DesiredReport>,
}

impl PerNamespace {
    /// `existing`: the stored reports in scope.
    pub fn new(
        existing: Arc<Vec<ExistingReport>>,
        schemas: Arc<ReportSchemas>,
        policies_incomplete: bool,
    ) -> PerNamespace {
        PerNamespace {
            foreign: foreign_keys(&existing),
            existing,
            schemas,
            policies_incomplete,
            seen: Vec::new(),
        }
    }
}

impl ShapeDecisions for PerNamespace {
    fn on_reports(&mut self, mut wanted: Wanted, reused: Vec<DesiredReport>) -> Vec<Decision> {
        self.seen.extend(reused);
        write_beside_foreign(&mut wanted, &self.foreign);
        // Any report at the key, polscan's or not, as the plan compares.
        let stored: BTreeMap<&ReportKey, &ExistingReport> = self
            .existing
            .iter()
            .map(|report| (&report.key, report))
            .collect();
        let mut decisions = Vec::with_capacity(wanted.len());
        for (key, (hash, report)) in wanted {
            let found = stored.get(&key);
            let unchanged = found.is_some_and(|r| r.content_hash.as_deref() == Some(hash.as_str()));
            self.seen.push(DesiredReport {
                key: key.clone(),
                content_hash: hash,
            });
            if unchanged {
                decisions.push(Decision::Unchanged { key, report });
            } else if self.policies_incomplete && found.is_some() {
                // Parts are packed by size, so results of missing policies
                // cannot be carried over into them: a stored part is left
                // as it is until a run has every policy.
                decisions.push(Decision::Held { key });
            } else {
                match report.check_schema(&self.schemas) {
                    Ok(()) => decisions.push(Decision::Write {
                        key,
                        report,
                        stored: found.is_some_and(|r| r.content_hash.is_some()),
                    }),
                    Err(error) => decisions.push(Decision::NotSent { key, error }),
                }
            }
        }
        decisions
    }

    fn finish(&self, listing: &ListingOutcome) -> Plan {
        // A part spans objects: a gone one does not make it stale.
        let mut plan = plan(&self.seen, &self.existing, listing, None);
        // Every LIST completed and a filter left kinds out: a namespace
        // whose parts this run wrote has them all; its other parts are
        // stale (fault18 F18-2). A namespace this run wrote none for keeps
        // its reports (they hold results of the kinds left out).
        if listing.only_filtered && !listing.policies_incomplete {
            let rewritten: HashSet<(bool, &str)> = self
                .seen
                .iter()
                .map(|d| (d.key.cluster_scoped, d.key.namespace.as_str()))
                .collect();
            let per_namespace = |key: &ReportKey| {
                self.existing
                    .binary_search_by(|report| report.key.cmp(key))
                    .ok()
                    .and_then(|at| self.existing[at].shape.as_deref())
                    == Some(report_model::shape::SHAPE_PER_NAMESPACE)
            };
            let (stale, kept): (Vec<ReportKey>, Vec<ReportKey>) =
                std::mem::take(&mut plan.kept_after_failed_list)
                    .into_iter()
                    .partition(|key| {
                        per_namespace(key)
                            && rewritten.contains(&(key.cluster_scoped, key.namespace.as_str()))
                    });
            plan.delete.extend(stale);
            plan.kept_after_failed_list = kept;
        }
        plan
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! Batches of wanted reports pushed in; the decisions and the plan
    //! asserted, as kube-runtime tests its reflector store.

    use serde_json::{json, Value};

    use super::*;

    fn key(namespace: &str, name: &str) -> ReportKey {
        ReportKey {
            cluster_scoped: false,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// A wanted report with one result of `rule`; its hash is the rule's
    /// name, standing for its content.
    fn wanted(namespace: &str, name: &str, rule: &str) -> (ReportKey, (String, WantedReport)) {
        let report: report_model::PolicyReport = serde_json::from_value(json!({
            "apiVersion": "wgpolicyk8s.io/v1alpha2",
            "kind": "PolicyReport",
            "metadata": {"name": name, "namespace": namespace},
            "results": [{"policy": "p", "rule": rule, "result": "pass", "source": "polscan",
                         "timestamp": {"seconds": 1, "nanos": 0}}],
            "summary": {"pass": 1, "fail": 0, "warn": 0, "error": 0, "skip": 0},
        }))
        .expect("a report");
        (
            key(namespace, name),
            (format!("hash-{rule}"), WantedReport::Namespaced(report)),
        )
    }

    fn batch(reports: Vec<(ReportKey, (String, WantedReport))>) -> Wanted {
        reports.into_iter().collect()
    }

    /// A stored report at `namespace/name`: polscan's unless `foreign`.
    fn stored(namespace: &str, name: &str, hash: &str, foreign: bool) -> ExistingReport {
        ExistingReport {
            key: key(namespace, name),
            managed_by: Some(if foreign { "kyverno" } else { "polscan" }.into()),
            shape: None,
            content_hash: Some(hash.into()),
            scope_kind: Some(("".into(), "Pod".into())),
            scope_name: None,
            inputs: None,
            results_by_rule: None,
        }
    }

    fn sorted(mut existing: Vec<ExistingReport>) -> Arc<Vec<ExistingReport>> {
        existing.sort_by(|a, b| a.key.cmp(&b.key));
        Arc::new(existing)
    }

    fn listed_pods() -> ListingOutcome {
        ListingOutcome {
            completed_kinds: [("".to_string(), "Pod".to_string())].into_iter().collect(),
            listed_kinds: [("".to_string(), "Pod".to_string())].into_iter().collect(),
            any_failed: false,
            policies_incomplete: false,
            only_filtered: false,
        }
    }

    /// What each decision was, by key: "write", "write (replaces)",
    /// "unchanged", "held" or "not sent".
    fn summary(decisions: &[Decision]) -> Vec<(String, &'static str)> {
        decisions
            .iter()
            .map(|decision| match decision {
                Decision::Write {
                    key, stored: false, ..
                } => (key.name.clone(), "write"),
                Decision::Write { key, .. } => (key.name.clone(), "write (replaces)"),
                Decision::Unchanged { key, .. } => (key.name.clone(), "unchanged"),
                Decision::Held { key } => (key.name.clone(), "held"),
                Decision::NotSent { key, .. } => (key.name.clone(), "not sent"),
            })
            .collect()
    }

    fn names(keys: &[ReportKey]) -> Vec<&str> {
        keys.iter().map(|key| key.name.as_str()).collect()
    }

    #[test]
    fn per_resource_writes_what_changed_page_by_page_and_prunes_the_rest() {
        let existing = sorted(vec![
            stored("team", "same", "hash-a", false),
            stored("team", "changed", "hash-old", false),
            stored("team", "gone", "hash-x", false),
        ]);
        let mut decisions = PerResource::new(existing, Arc::new(ReportSchemas::shipped()), false);
        let first = decisions.on_reports(
            batch(vec![
                wanted("team", "same", "a"),
                wanted("team", "new", "b"),
            ]),
            Vec::new(),
        );
        assert_eq!(
            summary(&first),
            vec![("new".into(), "write"), ("same".into(), "unchanged")]
        );
        let second = decisions.on_reports(batch(vec![wanted("team", "changed", "c")]), Vec::new());
        assert_eq!(
            summary(&second),
            vec![("changed".into(), "write (replaces)")]
        );
        let plan = decisions.finish(&listed_pods());
        assert_eq!(names(&plan.apply), vec!["new", "changed"]);
        assert_eq!(names(&plan.unchanged), vec!["same"]);
        assert_eq!(names(&plan.delete), vec!["gone"]);
    }

    #[test]
    fn reused_reports_are_kept_and_a_failed_list_prunes_nothing() {
        let existing = sorted(vec![
            stored("team", "reused", "hash-r", false),
            stored("team", "stale", "hash-s", false),
        ]);
        let mut decisions = PerResource::new(existing, Arc::new(ReportSchemas::shipped()), false);
        let reused = vec![DesiredReport {
            key: key("team", "reused"),
            content_hash: "hash-r".into(),
        }];
        assert!(decisions.on_reports(Wanted::new(), reused).is_empty());
        let failed = ListingOutcome {
            any_failed: true,
            ..ListingOutcome::default()
        };
        let plan = decisions.finish(&failed);
        assert_eq!(names(&plan.unchanged), vec!["reused"]);
        assert!(plan.delete.is_empty());
        assert_eq!(names(&plan.kept_after_failed_list), vec!["stale"]);
    }

    #[test]
    fn a_name_another_producer_holds_is_written_beside_it_and_never_pruned() {
        let existing = sorted(vec![stored("team", "pod-a", "hash-k", true)]);
        for mut decisions in [
            Box::new(PerResource::new(
                existing.clone(),
                Arc::new(ReportSchemas::shipped()),
                false,
            )) as Box<dyn ShapeDecisions>,
            Box::new(PerNamespace::new(
                existing.clone(),
                Arc::new(ReportSchemas::shipped()),
                false,
            )),
        ] {
            let made = decisions.on_reports(batch(vec![wanted("team", "pod-a", "a")]), Vec::new());
            assert_eq!(summary(&made), vec![("polscan-pod-a".into(), "write")]);
            let Decision::Write { report, .. } = &made[0] else {
                panic!("{made:?}");
            };
            assert_eq!(
                serde_json::to_value(report).unwrap()["metadata"]["name"],
                json!("polscan-pod-a")
            );
            let plan = decisions.finish(&listed_pods());
            assert_eq!(names(&plan.apply), vec!["polscan-pod-a"]);
            assert!(plan.delete.is_empty(), "{plan:?}");
        }
    }

    #[test]
    fn per_resource_rewrites_a_report_whose_reuse_annotations_differ() {
        let mut existing = stored("team", "pod-a", "hash-a", false);
        existing.inputs = Some("inputs-old".into());
        existing.results_by_rule = Some("results".into());
        let (k, (hash, mut report)) = wanted("team", "pod-a", "a");
        report.annotate(report_model::shape::INPUTS_ANNOTATION, "inputs-new".into());
        report.annotate(report_model::shape::RESULTS_ANNOTATION, "results".into());
        let mut decisions = PerResource::new(
            sorted(vec![existing]),
            Arc::new(ReportSchemas::shipped()),
            false,
        );
        let made = decisions.on_reports(batch(vec![(k, (hash, report))]), Vec::new());
        assert_eq!(summary(&made), vec![("pod-a".into(), "write (replaces)")]);
        // Planned (and counted) as a write, not as unchanged.
        let plan = decisions.finish(&listed_pods());
        assert_eq!(names(&plan.apply), vec!["pod-a"]);
    }

    #[test]
    fn per_resource_compares_a_digested_results_annotation() {
        let mut existing = stored("team", "pod-a", "hash-a", false);
        existing.inputs = Some("inputs".into());
        existing.results_by_rule = Some(digest_of("results"));
        let (k, (hash, mut report)) = wanted("team", "pod-a", "a");
        report.annotate(report_model::shape::INPUTS_ANNOTATION, "inputs".into());
        report.annotate(report_model::shape::RESULTS_ANNOTATION, "results".into());
        let mut decisions = PerResource::new(
            sorted(vec![existing]),
            Arc::new(ReportSchemas::shipped()),
            true,
        );
        let made = decisions.on_reports(batch(vec![(k, (hash, report))]), Vec::new());
        assert_eq!(summary(&made), vec![("pod-a".into(), "unchanged")]);
    }

    /// Schemas that refuse every report: `required` names a field none has.
    fn refusing() -> Arc<ReportSchemas> {
        let crd: Value = json!({"spec": {"versions": [{"name": "v1alpha2", "schema": {
            "openAPIV3Schema": {"type": "object", "required": ["neverThere"]}}}]}});
        Arc::new(ReportSchemas::from_crds(&crd, &crd))
    }

    #[test]
    fn a_report_that_does_not_fit_its_crd_is_not_sent_and_its_stored_version_stays() {
        let existing = sorted(vec![stored("team", "pod-a", "hash-old", false)]);
        for mut decisions in [
            Box::new(PerResource::new(existing.clone(), refusing(), false))
                as Box<dyn ShapeDecisions>,
            Box::new(PerNamespace::new(existing.clone(), refusing(), false)),
        ] {
            let made = decisions.on_reports(batch(vec![wanted("team", "pod-a", "a")]), Vec::new());
            assert_eq!(summary(&made), vec![("pod-a".into(), "not sent")]);
            let plan = decisions.finish(&listed_pods());
            // Still wanted: the plan does not prune the stored version.
            assert!(plan.delete.is_empty(), "{plan:?}");
        }
        // An unchanged report is not checked again: nothing is sent anyway.
        let mut same = PerResource::new(
            sorted(vec![stored("team", "pod-a", "hash-a", false)]),
            refusing(),
            false,
        );
        let made = same.on_reports(batch(vec![wanted("team", "pod-a", "a")]), Vec::new());
        assert_eq!(summary(&made), vec![("pod-a".into(), "unchanged")]);
    }

    #[test]
    fn a_report_over_the_server_s_size_limit_is_not_sent() {
        // The server would refuse it at every run: it is never sent, and
        // the error names its size.
        let huge = "r".repeat(report_model::shape::MAX_WRITE_BYTES);
        let existing = sorted(vec![stored("team", "pod-a", "hash-old", false)]);
        let mut decisions = PerResource::new(existing, Arc::new(ReportSchemas::shipped()), false);
        let made = decisions.on_reports(batch(vec![wanted("team", "pod-a", &huge)]), Vec::new());
        match made.as_slice() {
            [Decision::NotSent {
                error: SchemaError::TooLarge { bytes, limit, .. },
                ..
            }] => assert!(bytes > limit, "{bytes} {limit}"),
            other => panic!("{other:?}"),
        }
    }

    /// While a policy is missing, a listed object's report is kept also
    /// where another producer holds its name and polscan's is the
    /// `polscan-` one beside it; a gone object's report goes.
    #[test]
    fn a_listed_object_keeps_its_report_beside_a_foreign_one_while_a_policy_is_missing() {
        let existing = sorted(vec![
            stored("team", "pod-a", "k", true),
            stored("team", "polscan-pod-a", "h", false),
            stored("team", "pod-b", "h", false),
        ]);
        let mut decisions = PerResource::new(existing, Arc::new(ReportSchemas::shipped()), false);
        decisions.on_listed([key("team", "pod-a")]);
        let listing = ListingOutcome {
            policies_incomplete: true,
            ..listed_pods()
        };
        let plan = decisions.finish(&listing);
        assert_eq!(names(&plan.delete), vec!["pod-b"]);
        assert_eq!(names(&plan.kept_policies_incomplete), vec!["polscan-pod-a"]);
    }

    #[test]
    fn per_namespace_holds_stored_parts_while_a_policy_is_missing() {
        let existing = sorted(vec![
            stored("team", "part-0", "hash-old", false),
            stored("team", "part-1", "hash-b", false),
            stored("team", "part-9", "hash-z", false),
        ]);
        let mut decisions =
            PerNamespace::new(existing.clone(), Arc::new(ReportSchemas::shipped()), true);
        let made = decisions.on_reports(
            batch(vec![
                wanted("team", "part-0", "a"),
                wanted("team", "part-1", "b"),
                wanted("team", "part-2", "c"),
            ]),
            Vec::new(),
        );
        assert_eq!(
            summary(&made),
            vec![
                ("part-0".into(), "held"),
                ("part-1".into(), "unchanged"),
                ("part-2".into(), "write"),
            ]
        );
        let listing = ListingOutcome {
            policies_incomplete: true,
            ..listed_pods()
        };
        let plan = decisions.finish(&listing);
        assert!(plan.delete.is_empty());
        assert_eq!(names(&plan.kept_policies_incomplete), vec!["part-9"]);
        // With every policy, the changed part is written and the stale one
        // pruned.
        let mut complete = PerNamespace::new(existing, Arc::new(ReportSchemas::shipped()), false);
        let made = complete.on_reports(batch(vec![wanted("team", "part-0", "a")]), Vec::new());
        assert_eq!(summary(&made), vec![("part-0".into(), "write (replaces)")]);
        let plan = complete.finish(&listed_pods());
        assert_eq!(names(&plan.delete), vec!["part-1", "part-9"]);
    }

    /// fault18 F18-2: a run whose LISTs all completed but whose filters
    /// left kinds out (the Namespace kind among them) prunes the parts a
    /// namespace it wrote no longer needs; a namespace it wrote nothing for
    /// keeps its parts, and a run with a failed LIST keeps them all.
    #[test]
    fn a_filtered_run_prunes_the_stale_parts_of_the_namespaces_it_wrote() {
        let part = |namespace: &str, name: &str| ExistingReport {
            shape: Some(report_model::shape::SHAPE_PER_NAMESPACE.into()),
            scope_kind: None,
            ..stored(namespace, name, "h", false)
        };
        let existing = sorted(vec![
            part("team", "part-0"),
            part("team", "part-1"),
            part("other", "part-0"),
        ]);
        let filtered = ListingOutcome {
            any_failed: true,
            only_filtered: true,
            ..listed_pods()
        };
        let run = |listing: &ListingOutcome| {
            let mut decisions =
                PerNamespace::new(existing.clone(), Arc::new(ReportSchemas::shipped()), false);
            decisions.on_reports(batch(vec![wanted("team", "part-0", "a")]), Vec::new());
            decisions.finish(listing)
        };
        let plan = run(&filtered);
        assert_eq!(names(&plan.delete), vec!["part-1"]);
        assert_eq!(names(&plan.kept_after_failed_list), vec!["part-0"]);
        assert_eq!(plan.kept_after_failed_list[0].namespace, "other");
        // A LIST failed: nothing pruned.
        let failed = ListingOutcome {
            only_filtered: false,
            ..filtered
        };
        assert!(run(&failed).delete.is_empty());
    }
}
