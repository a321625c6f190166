//! What the LISTs gave, counted as their pages arrive: a state machine
//! with no I/O. Events enter — a page's objects ([`Tally::on_page`]), the
//! results of those evaluated ([`Tally::on_evaluated`]) or reused
//! ([`Tally::on_reused`]), a page that could not be read, a LIST that
//! starts over ([`Tally::on_list_restarted`]: it voids only what that LIST
//! gave) or ends ([`Tally::on_list_finished`]) — and [`Tally::finish`]
//! folds them into the kinds' listings and the run's counts. Maps are keyed
//! by LIST (one per kind, or per kind and namespace).

use std::collections::BTreeMap;

use crate::audit::Finding;
use crate::cluster::ClusterError;
use crate::engine::RuleStatus;

use super::evaluate::FindingsByKind;
use super::last_run::{self, ResultsByRule};
use super::{reuse, KindListing, ResultKey};

/// The counts of one scan's LISTs so far.
#[derive(Default)]
pub(super) struct Tally {
    /// Findings, when the scan keeps them.
    findings: BTreeMap<usize, Vec<Finding>>,
    /// Each LIST's end, by the kind it listed: its object count or error.
    finished: Vec<(usize, Result<usize, ClusterError>)>,
    /// Pages that could not be read, by the kind listed.
    unreadable: Vec<(usize, ClusterError)>,
    /// Objects evaluated (or reused).
    evaluated: BTreeMap<usize, usize>,
    /// The same objects by namespace (cluster-scoped ones left out).
    namespaces: BTreeMap<usize, BTreeMap<String, usize>>,
    counts: BTreeMap<usize, BTreeMap<ResultKey, usize>>,
    /// Objects some rule gave a result, and results by rule: the run
    /// record's evidence that a rule saw the objects it was meant to.
    with_results: BTreeMap<usize, usize>,
    rules: BTreeMap<usize, ResultsByRule>,
    /// Violations excused only by polscan's exception annotation.
    excused: BTreeMap<usize, last_run::AnnotationExcused>,
    /// Objects whose stored report stood for their evaluation.
    reused: BTreeMap<usize, usize>,
}

/// What [`Tally::finish`] folds the LISTs into.
pub(super) struct Counted {
    pub findings: FindingsByKind,
    pub listings: Vec<KindListing>,
    pub resources: usize,
    pub status_counts: BTreeMap<RuleStatus, usize>,
    pub result_counts: BTreeMap<ResultKey, usize>,
    pub objects_evaluated_by_kind: BTreeMap<String, usize>,
    pub objects_by_namespace: last_run::ObjectsByNamespace,
    pub results_by_rule: ResultsByRule,
    pub kinds_by_rule: last_run::KindsByRule,
    pub annotation_excused: last_run::AnnotationExcused,
    pub reused: usize,
}

impl Tally {
    /// A page of LIST `listing` with these objects in the scan's scope,
    /// by their namespace (empty when cluster-scoped).
    pub fn on_page<'a>(&mut self, listing: usize, namespaces: impl IntoIterator<Item = &'a str>) {
        let by_namespace = self.namespaces.entry(listing).or_default();
        let mut objects = 0;
        for namespace in namespaces {
            objects += 1;
            if !namespace.is_empty() {
                *by_namespace.entry(namespace.to_string()).or_default() += 1;
            }
        }
        *self.evaluated.entry(listing).or_default() += objects;
    }

    /// A page of kind `kind` that could not be read: the LIST's count
    /// includes its objects, so the kind is failed and its reports left as
    /// they were.
    pub fn on_unreadable_page(&mut self, kind: usize, err: ClusterError) {
        self.unreadable.push((kind, err));
    }

    /// An object of LIST `listing` whose stored report stood for its
    /// evaluation, with the results it holds. None of them is a skip by
    /// polscan's exception annotation: an object carrying it is never
    /// reused ([`reuse::Reuse::inputs`]), so its violations are counted
    /// by [`Tally::on_evaluated`].
    pub fn on_reused(&mut self, listing: usize, results: reuse::StoredResults<'_>) {
        *self.with_results.entry(listing).or_default() += 1;
        *self.reused.entry(listing).or_default() += 1;
        let counts = self.counts.entry(listing).or_default();
        let rules = self.rules.entry(listing).or_default();
        for (policy, rule, status) in results {
            *counts.entry(ResultKey::new(policy, status)).or_default() += 1;
            last_run::count(rules, policy.qualified_name(), rule, status);
        }
    }

    /// The findings of a page's evaluated objects (one list per object);
    /// returns them as one list. Counts are of what the reports hold:
    /// matchConditions skips are not written, so they are not counted.
    pub fn on_evaluated(&mut self, listing: usize, per_object: Vec<Vec<Finding>>) -> Vec<Finding> {
        *self.with_results.entry(listing).or_default() += per_object
            .iter()
            .filter(|found| found.iter().any(crate::reports::is_reported))
            .count();
        let found: Vec<Finding> = per_object.into_iter().flatten().collect();
        let counts = self.counts.entry(listing).or_default();
        let rules = self.rules.entry(listing).or_default();
        let excused = self.excused.entry(listing).or_default();
        for finding in found.iter().filter(|f| crate::reports::is_reported(f)) {
            *counts.entry(ResultKey::of(finding)).or_default() += 1;
            last_run::count_result(rules, finding);
            last_run::count_annotation_excused(excused, finding);
        }
        found
    }

    /// Keeps a page's findings (when the scan keeps them).
    pub fn keep_findings(&mut self, listing: usize, found: Vec<Finding>) {
        self.findings.entry(listing).or_default().extend(found);
    }

    /// LIST `listing` starts over: what it gave so far is void.
    pub fn on_list_restarted(&mut self, listing: usize) {
        self.findings.remove(&listing);
        self.evaluated.remove(&listing);
        self.namespaces.remove(&listing);
        self.counts.remove(&listing);
        self.with_results.remove(&listing);
        self.rules.remove(&listing);
        self.excused.remove(&listing);
        self.reused.remove(&listing);
    }

    /// A LIST of kind `kind` ended: its object count, or its error.
    pub fn on_list_finished(&mut self, kind: usize, outcome: Result<usize, ClusterError>) {
        self.finished.push((kind, outcome));
    }

    /// The tally folded into `listings` (one per kind), whose LISTs are
    /// `listing_kinds` (the kind of each) and `jobs_per_kind` of them per
    /// kind. A kind with a LIST that never finished is marked failed.
    /// `count_owned` (a shard): a kind's objects are those of the shard's
    /// partition, so that the shards' counts add up to the cluster's (each
    /// lists every cluster-scoped object and owns some).
    pub fn finish(
        self,
        mut listings: Vec<KindListing>,
        jobs_per_kind: &BTreeMap<usize, usize>,
        listing_kinds: &[usize],
        count_owned: bool,
    ) -> Counted {
        let Tally {
            findings: by_listing,
            finished,
            unreadable,
            evaluated: evaluated_by_listing,
            namespaces: namespaces_by_listing,
            counts: counts_by_listing,
            with_results: with_results_by_listing,
            rules: rules_by_listing,
            excused: excused_by_listing,
            reused,
        } = self;
        let kind_of = |listing: usize| listing_kinds.get(listing).copied();
        for (index, err) in unreadable {
            if let Some(listing) = listings.get_mut(index) {
                listing.error.get_or_insert(err);
            }
        }
        let mut done: BTreeMap<usize, usize> = BTreeMap::new();
        for (index, result) in finished {
            let Some(listing) = listings.get_mut(index) else {
                continue;
            };
            *done.entry(index).or_default() += 1;
            match result {
                Ok(count) => listing.objects += count,
                Err(err) => listing.error = Some(err),
            }
        }
        if count_owned {
            for listing in &mut listings {
                listing.objects = 0;
            }
            for (index, count) in &evaluated_by_listing {
                if let Some(listing) = kind_of(*index).and_then(|kind| listings.get_mut(kind)) {
                    listing.objects += count;
                }
            }
        }
        for (&index, &expected) in jobs_per_kind {
            if done.get(&index).copied().unwrap_or(0) < expected {
                if let Some(listing) = listings.get_mut(index) {
                    listing.error.get_or_insert(ClusterError::Transport {
                        what: format!("listing {}", listing.kind.display_name()),
                        message: "the list task stopped before finishing".into(),
                    });
                }
            }
        }
        let mut status_counts: BTreeMap<RuleStatus, usize> = BTreeMap::new();
        let mut result_counts: BTreeMap<ResultKey, usize> = BTreeMap::new();
        for counts in counts_by_listing.values() {
            for (key, count) in counts {
                *status_counts.entry(key.status).or_default() += count;
                *result_counts.entry(key.clone()).or_default() += count;
            }
        }
        let mut objects_evaluated_by_kind: BTreeMap<String, usize> = BTreeMap::new();
        for (index, count) in with_results_by_listing {
            if let Some(listing) = kind_of(index).and_then(|kind| listings.get(kind)) {
                *objects_evaluated_by_kind
                    .entry(listing.kind.display_name())
                    .or_default() += count;
            }
        }
        let mut objects_by_namespace = last_run::ObjectsByNamespace::new();
        for (index, by_namespace) in namespaces_by_listing {
            if let Some(listing) = kind_of(index).and_then(|kind| listings.get(kind)) {
                let kind = listing.kind.display_name();
                for (namespace, count) in by_namespace {
                    *objects_by_namespace
                        .entry(namespace)
                        .or_default()
                        .entry(kind.clone())
                        .or_default() += count;
                }
            }
        }
        let mut results_by_rule = ResultsByRule::new();
        // A rule's results by the kind its LIST was of: the coverage per
        // rule the evidence states.
        let mut kinds_by_rule = last_run::KindsByRule::new();
        for (index, rules) in rules_by_listing {
            let kind = kind_of(index)
                .and_then(|kind| listings.get(kind))
                .map(|listing| listing.kind.display_name());
            if let Some(kind) = kind {
                for (policy, by_rule) in &rules {
                    let into = kinds_by_rule.entry(policy.clone()).or_default();
                    for (rule, by_status) in by_rule {
                        *into
                            .entry(rule.clone())
                            .or_default()
                            .entry(kind.clone())
                            .or_default() += by_status.values().sum::<usize>();
                    }
                }
            }
            last_run::add_by_rule(&mut results_by_rule, &rules);
        }
        let mut annotation_excused = last_run::AnnotationExcused::new();
        for excused in excused_by_listing.values() {
            last_run::add_annotation_excused(&mut annotation_excused, excused);
        }
        // A kind's findings, its LISTs' in the order of its namespaces.
        let mut findings: FindingsByKind = BTreeMap::new();
        for (listing, found) in by_listing {
            if let Some(kind) = kind_of(listing) {
                findings.entry(kind).or_default().extend(found);
            }
        }
        Counted {
            findings,
            listings,
            resources: evaluated_by_listing.values().sum(),
            status_counts,
            result_counts,
            objects_evaluated_by_kind,
            objects_by_namespace,
            results_by_rule,
            kinds_by_rule,
            annotation_excused,
            reused: reused.values().sum(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! Events pushed in; the folded listings and counts asserted.

    use super::*;

    fn failing(name: &str) -> Finding {
        crate::audit::pod_finding("no-latest", "team", name, RuleStatus::Fail)
    }

    fn pods() -> Vec<KindListing> {
        vec![KindListing {
            kind: crate::cluster::discovery::listable_for_tests("", "Pod"),
            objects: 0,
            error: None,
        }]
    }

    /// A page of `objects` Pods of LIST `listing`, each failing once.
    fn page(tally: &mut Tally, listing: usize, names: &[&str]) {
        tally.on_page(listing, names.iter().map(|_| "team"));
        let found = tally.on_evaluated(listing, names.iter().map(|n| vec![failing(n)]).collect());
        tally.keep_findings(listing, found);
    }

    #[test]
    fn a_restarted_list_voids_only_what_it_gave() {
        let mut tally = Tally::default();
        // LISTs 0 and 1 are of kind 0 (two namespaces).
        page(&mut tally, 0, &["a", "b"]);
        page(&mut tally, 1, &["c"]);
        tally.on_list_restarted(1);
        page(&mut tally, 1, &["c", "d"]);
        tally.on_list_finished(0, Ok(2));
        tally.on_list_finished(0, Ok(2));
        let counted = tally.finish(pods(), &BTreeMap::from([(0, 2)]), &[0, 0], false);
        assert_eq!(counted.resources, 4);
        assert_eq!(counted.status_counts.get(&RuleStatus::Fail), Some(&4));
        assert_eq!(counted.objects_evaluated_by_kind.get("Pod"), Some(&4));
        assert_eq!(counted.findings[&0].len(), 4);
        assert_eq!(counted.listings[0].objects, 4);
        assert!(counted.listings[0].error.is_none());
        assert_eq!(counted.results_by_rule["no-latest"]["check"]["fail"], 4);
        // The restarted LIST's first page is not counted twice.
        assert_eq!(counted.kinds_by_rule["no-latest"]["check"]["Pod"], 4);
    }

    #[test]
    fn a_list_that_never_finished_or_an_unreadable_page_fails_its_kind() {
        let mut tally = Tally::default();
        page(&mut tally, 0, &["a"]);
        tally.on_list_finished(0, Ok(1));
        // The second LIST of the kind never ends.
        let counted = tally.finish(pods(), &BTreeMap::from([(0, 2)]), &[0, 0], false);
        let error = counted.listings[0].error.as_ref().expect("failed");
        assert!(
            error.to_string().contains("stopped before finishing"),
            "{error}"
        );

        let mut tally = Tally::default();
        tally.on_unreadable_page(
            0,
            ClusterError::Transport {
                what: "reading a listed page".into(),
                message: "bad JSON".into(),
            },
        );
        tally.on_list_finished(0, Ok(3));
        let counted = tally.finish(pods(), &BTreeMap::from([(0, 1)]), &[0], false);
        assert!(counted.listings[0].error.is_some());
    }

    #[test]
    fn violations_excused_only_by_the_annotation_are_counted_by_policy() {
        use crate::engine::exceptions::annotation::properties;
        let excused = |name: &str| {
            let mut finding =
                crate::audit::pod_finding("no-latest", "team", name, RuleStatus::Skip);
            let props = &mut finding.result.properties;
            props.insert(
                properties::EXCEPTION.into(),
                properties::RESOURCE_ANNOTATION.into(),
            );
            props.insert(properties::RESULT.into(), "fail".into());
            finding
        };
        let mut tally = Tally::default();
        tally.on_page(0, ["team", "team"]);
        tally.on_evaluated(0, vec![vec![excused("a")], vec![failing("b")]]);
        // LIST 1 starts over: its first page's count is void.
        tally.on_page(1, ["team"]);
        tally.on_evaluated(1, vec![vec![excused("c")]]);
        tally.on_list_restarted(1);
        tally.on_page(1, ["team"]);
        tally.on_evaluated(1, vec![vec![excused("c")]]);
        let counted = tally.finish(pods(), &BTreeMap::new(), &[0, 0], false);
        let counts = counted.annotation_excused["no-latest"];
        assert_eq!((counts.fail, counts.error), (2, 0));
        // The results by rule hold what the reports say: skips.
        assert_eq!(counted.results_by_rule["no-latest"]["check"]["skip"], 2);
        assert_eq!(counted.results_by_rule["no-latest"]["check"]["fail"], 1);
    }

    #[test]
    fn a_shard_counts_the_objects_it_owns() {
        let mut tally = Tally::default();
        // The LIST returned 5 objects; 2 are in the shard's partition.
        page(&mut tally, 0, &["a", "b"]);
        tally.on_list_finished(0, Ok(5));
        let counted = tally.finish(pods(), &BTreeMap::from([(0, 1)]), &[0], true);
        assert_eq!(counted.listings[0].objects, 2);
        let mut tally = Tally::default();
        page(&mut tally, 0, &["a", "b"]);
        tally.on_list_finished(0, Ok(5));
        let counted = tally.finish(pods(), &BTreeMap::from([(0, 1)]), &[0], false);
        assert_eq!(counted.listings[0].objects, 5);
    }

    #[test]
    fn objects_are_counted_by_namespace_and_a_restarted_list_voids_its_count() {
        let mut tally = Tally::default();
        tally.on_page(0, ["a", "a", "b", ""]);
        tally.on_page(1, ["b"]);
        tally.on_list_restarted(1);
        tally.on_page(1, ["c"]);
        let counted = tally.finish(pods(), &BTreeMap::from([(0, 2)]), &[0, 0], false);
        let pods_in = |namespace: &str| {
            counted
                .objects_by_namespace
                .get(namespace)
                .and_then(|kinds| kinds.get("Pod"))
                .copied()
        };
        assert_eq!(pods_in("a"), Some(2));
        // b's object of LIST 1 was voided when that LIST started over.
        assert_eq!(pods_in("b"), Some(1));
        assert_eq!(pods_in("c"), Some(1));
        // A cluster-scoped object has no namespace to count in.
        assert_eq!(pods_in(""), None);
        assert_eq!(counted.resources, 5);
    }
}
