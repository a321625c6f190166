//! Listing and evaluation, page by page: the listers' pages (from
//! `cluster::listing`) enter; each page's objects are filtered to the
//! scan's scope, evaluated in parallel (rayon) — or stood for by their
//! stored report when it can be reused — shaped into per-resource reports
//! for the sink ([`ReportSink`], which carries out `reconcile::decide`'s
//! decisions), streamed to the output view, and counted ([`Tally`]). What
//! leaves is [`Evaluated`]: the kinds' listings, the counts, the findings
//! kept, the sink and the view.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use futures::StreamExt;
use kube::Client;
use polscan_engine::ValueExt;
use rayon::prelude::*;
use report_model::meta::Timestamp;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::audit::Finding;
use crate::cluster::listing::{self, ListEvent};
use crate::cluster::ClusterError;
use crate::engine::{Engine, Environment, RuleStatus};
use crate::kinds::ApiResource;
use crate::reconcile::decide::{Decision, PerResource, ShapeDecisions};
use crate::reconcile::wanted::{resource_report_key, wanted_reports, Wanted};
use crate::reconcile::{DesiredReport, ExistingReport, ReportKey};
use crate::reports;

use super::gate::SinkGate;
use super::last_run::ResultsByRule;
use super::progress::ScanProgress;
use super::selection::ScanFilters;
use super::tally::Tally;
use super::write::{not_sent, Outgoing};
use super::{dry_run, reuse, view, KindListing, ReportShape, ResultKey, ScanOptions};

pub(super) type FindingsByKind = BTreeMap<usize, Vec<Finding>>;

/// What listing and evaluation produced.
pub(super) struct Evaluated {
    pub(super) findings: FindingsByKind,
    pub(super) listings: Vec<KindListing>,
    pub(super) resources: usize,
    pub(super) status_counts: BTreeMap<RuleStatus, usize>,
    pub(super) result_counts: BTreeMap<ResultKey, usize>,
    pub(super) objects_evaluated_by_kind: BTreeMap<String, usize>,
    /// Objects in the scan's scope by namespace and kind display name.
    pub(super) objects_by_namespace: super::last_run::ObjectsByNamespace,
    pub(super) results_by_rule: ResultsByRule,
    pub(super) kinds_by_rule: super::last_run::KindsByRule,
    pub(super) annotation_excused: super::last_run::AnnotationExcused,
    /// Objects whose stored report was reused instead of evaluating them.
    pub(super) reused: usize,
    pub(super) sink: Option<ReportSink>,
    /// The output view the findings went to, and the first error keeping
    /// them.
    pub(super) view: Option<(Box<dyn view::FindingView>, Option<std::io::Error>)>,
}

/// An evaluated object's place in the output view's order and its
/// records there.
pub(super) type ViewRecords = (u64, std::io::Result<Vec<view::ViewRecord>>);

/// Per-resource reports made page by page, decided by
/// [`PerResource`] (compared with the stored ones) and carried out here:
/// changed ones are handed to the writer, and every one that fits its CRD
/// is kept for printing when asked.
pub(super) struct ReportSink {
    pub(super) decisions: PerResource,
    pub(super) writer: Option<mpsc::Sender<Outgoing>>,
    /// Every report, kept for printing when asked.
    pub(super) printed: Option<dry_run::ReportSpill>,
    pub(super) error: Option<report_model::shape::ShapeError>,
    pub(super) spill_error: Option<std::io::Error>,
    /// Reports not sent because they do not fit the CRD schema; their
    /// stored version is kept (they are wanted, so nothing prunes it).
    pub(super) not_sent: Vec<ClusterError>,
    /// The keys of [`Self::not_sent`].
    pub(super) unsent: Vec<ReportKey>,
}

impl ReportSink {
    pub(super) fn new(
        decisions: PerResource,
        writer: Option<mpsc::Sender<Outgoing>>,
        printed: Option<dry_run::ReportSpill>,
    ) -> ReportSink {
        ReportSink {
            decisions,
            writer,
            printed,
            error: None,
            spill_error: None,
            not_sent: Vec::new(),
            unsent: Vec::new(),
        }
    }

    /// Takes one page's reports (shaped by [`page_reports`]) and carries
    /// out what [`PerResource`] decides for each.
    pub(super) fn accept(&mut self, page: PageReports) {
        self.decisions.on_listed(page.listed);
        let wanted = match page.wanted {
            Ok(wanted) => wanted,
            Err(err) => {
                // The reused reports still stand for their objects.
                self.decisions.on_reports(Wanted::new(), page.reused);
                self.error.get_or_insert(err);
                return;
            }
        };
        for decision in self.decisions.on_reports(wanted, page.reused) {
            let (key, report, stored) = match decision {
                Decision::NotSent { key, error } => {
                    self.not_sent.push(not_sent(&key, error));
                    self.unsent.push(key);
                    continue;
                }
                Decision::Held { .. } => continue,
                Decision::Unchanged { key, report } => (key, report, None),
                Decision::Write {
                    key,
                    report,
                    stored,
                } => (key, report, Some(stored)),
            };
            // Printed reports are every report the store holds after the
            // run (those that fit the CRD), changed or not: the whole set,
            // not a diff.
            if let Some(spill) = &mut self.printed {
                if let Err(err) = spill.push(&report) {
                    self.spill_error.get_or_insert(err);
                }
            }
            let (Some(stored), Some(writer)) = (stored, &self.writer) else {
                continue;
            };
            // The writer stopping is reported by its own task.
            let _ = writer.blocking_send(Outgoing {
                key,
                report,
                stored,
            });
        }
    }
}

/// One object's per-resource reports, keyed and hashed: the costly part of
/// [`ReportSink::accept`]'s input, made in the per-object rayon closure.
pub(super) fn object_reports(
    findings: &[Finding],
    timestamp: Timestamp,
    reuse: Option<(&reuse::Reuse, String)>,
) -> Result<Wanted, report_model::shape::ShapeError> {
    // The annotations that let the next run reuse this report; a report
    // without them is evaluated again next time.
    let tags = reuse.and_then(|(reuse, inputs)| {
        let reported: Vec<&Finding> = findings
            .iter()
            .filter(|f| reports::is_reported(f))
            .collect();
        Some((inputs, reuse.encode(&reported)?))
    });
    let Some((inputs, results)) = tags else {
        return Ok(wanted_reports(reports::per_resource(findings, timestamp)?));
    };
    // The seal, taken after the content hash, is held open at its length
    // while the report is fitted to the size limit: added later, it pushed
    // a report fitted to the byte over it (fault59 F59-3).
    let room = "0".repeat(reuse::SEAL_LEN);
    let shaped = report_model::shape::per_resource_with_metadata(
        reports::scoped_results(findings, timestamp),
        &[],
        &[
            (report_model::shape::RESULTS_ANNOTATION, results.as_str()),
            (report_model::shape::INPUTS_ANNOTATION, room.as_str()),
        ],
    )?;
    let mut wanted = wanted_reports(shaped);
    // Sealed over the content hash, so taken after it.
    for (hash, report) in wanted.values_mut() {
        report.annotate(
            report_model::shape::INPUTS_ANNOTATION,
            reuse::seal(&inputs, &results, hash),
        );
    }
    Ok(wanted)
}

/// A page's reports on their way to the sink: those shaped from this
/// run's evaluation, and the stored ones reused as they are.
pub(super) struct PageReports {
    pub(super) wanted: Result<Wanted, report_model::shape::ShapeError>,
    pub(super) reused: Vec<DesiredReport>,
    /// The report key of every object of the page, results or not.
    pub(super) listed: Vec<ReportKey>,
}

/// A page's reports from its objects' ([`object_reports`]), equal to
/// shaping the page's `findings` at once: that is done instead when an
/// object failed (so the error names the same result) or two objects gave
/// one report key (shaping the page merges them).
pub(super) fn page_reports(
    objects: Vec<Result<Wanted, report_model::shape::ShapeError>>,
    findings: &[Finding],
    timestamp: Timestamp,
) -> Result<Wanted, report_model::shape::ShapeError> {
    let whole_page = || object_reports(findings, timestamp, None);
    let mut page = Wanted::new();
    for object in objects {
        let Ok(object) = object else {
            return whole_page();
        };
        for (key, report) in object {
            if page.insert(key, report).is_some() {
                return whole_page();
            }
        }
    }
    Ok(page)
}

/// Pages of reports held while the stored reports are read; the next one
/// waits for them. A page of 500 objects' reports takes ~7 MB (measured
/// with the bundled policies), so a few pages bound the extra memory while
/// the listers, two queued pages and the held ones overlap the read. On
/// two cores more did not pay: the read itself needs the CPU.
pub(super) const HELD_PAGES: usize = 2;

/// Listed pages a reusing run takes ahead while the stored reports are
/// still read (as text: about 1 MB a page of 500 objects).
pub(super) const READ_AHEAD_PAGES: usize = 24;

/// What the evaluation of the pages ([`evaluate_pages`]) hands back: the
/// counts ([`Tally`]), the report sink and the output view.
#[derive(Default)]
pub(super) struct EvaluationTally {
    pub(super) tally: Tally,
    pub(super) sink: Option<ReportSink>,
    pub(super) view: Option<(Box<dyn view::FindingView>, Option<std::io::Error>)>,
}

/// Whether a run labels its per-resource reports for reuse, and also
/// reuses the stored ones ([`reuse`]).
pub(super) enum ReuseMode {
    /// The run's policies make results that may change with no input
    /// changing, or the layout is per-namespace: neither.
    Off,
    /// Label what is written; evaluate every object (the output needs
    /// every finding or every report, or the run lacks policies).
    Label(Arc<reuse::Reuse>),
    /// Label, and reuse stored reports whose label matches.
    Stored(Arc<reuse::Reuse>),
}

impl ReuseMode {
    pub(super) fn labels(&self) -> Option<&reuse::Reuse> {
        match self {
            ReuseMode::Off => None,
            ReuseMode::Label(reuse) | ReuseMode::Stored(reuse) => Some(reuse),
        }
    }
}

/// One listed object: its findings, or the stored report that stands for
/// them, with its results as decoded.
pub(super) enum Object<'a> {
    Evaluated(Vec<Finding>),
    Reused(&'a ExistingReport, reuse::StoredResults<'a>),
}

/// The report in `stored` (sorted by key) that can stand for `resource`'s
/// evaluation under `inputs`, with its results, if one can.
pub(super) fn reused<'a>(
    reuse: &'a reuse::Reuse,
    stored: &'a [ExistingReport],
    resource: &Value,
    inputs: &str,
) -> Option<Object<'a>> {
    let key = reuse::report_key(resource)?;
    let at = stored
        .binary_search_by(|report| report.key.cmp(&key))
        .ok()?;
    let report = &stored[at];
    let results = reuse.stored_results(report, inputs)?;
    Some(Object::Reused(report, results))
}

/// What the evaluation of listed pages needs: see [`evaluate_pages`].
pub(super) struct PageEvaluation {
    pub(super) engine: Arc<Engine>,
    pub(super) env: Arc<Environment>,
    pub(super) filters: ScanFilters,
    /// `--report-per namespace` (a shard's cluster-scoped objects depend
    /// on it: [`shard`]).
    pub(super) per_namespace_reports: bool,
    pub(super) progress: Arc<ScanProgress>,
    pub(super) gate: Option<SinkGate<ReportSink, PageReports>>,
    pub(super) view: Option<Box<dyn view::FindingView>>,
    pub(super) timestamp: Timestamp,
    pub(super) keep_findings: bool,
    pub(super) reuse: ReuseMode,
    /// The kind of each LIST (its number in the scan's kinds).
    pub(super) listing_kinds: Arc<Vec<usize>>,
}

/// The LISTs a scan makes, `(kind's index, kind, namespace)`: one per
/// kind and namespace when the scan is restricted to namespaces; for a
/// shard, a namespaced kind is listed in each namespace the shard owns (of
/// `namespaces`, the cluster's), so N shards together list the cluster
/// once, not N times (measured in docs/scaling.md: a LIST costs what it
/// returns), and a cluster-scoped kind cluster-wide, filtered to the
/// shard's objects; one per kind otherwise. A shard owning no namespace
/// lists its namespaced kinds cluster-wide (and keeps nothing of them), so
/// that every kind still has a LIST that completes.
pub(super) fn listing_jobs<'a>(
    kinds: &[ApiResource],
    filters: &ScanFilters,
    namespaces: impl Iterator<Item = &'a str>,
) -> Vec<(usize, ApiResource, Option<String>)> {
    let owned: Vec<String> = match (filters.namespaces.is_empty(), filters.shard) {
        (false, _) => filters.namespaces.clone(),
        (true, Some(_)) => namespaces
            .filter(|namespace| filters.covers_namespace(namespace))
            .map(str::to_string)
            .collect(),
        (true, None) => Vec::new(),
    };
    let per_namespace = !filters.namespaces.is_empty() || filters.shard.is_some();
    let mut jobs = Vec::new();
    for (index, kind) in kinds.iter().enumerate() {
        if per_namespace && kind.namespaced && !owned.is_empty() {
            for namespace in &owned {
                jobs.push((index, kind.clone(), Some(namespace.clone())));
            }
        } else {
            jobs.push((index, kind.clone(), None));
        }
    }
    jobs
}

/// Evaluates the pages arriving on `receiver` until every lister is done
/// (blocking: run it on a blocking thread). Pages are evaluated in
/// parallel; their reports go through the gate to the sink, their findings
/// to the view. Counts are kept per LIST, so a LIST that starts over
/// ([`ListEvent::Restarted`]) voids only what it gave.
pub(super) fn evaluate_pages(
    mut receiver: mpsc::Receiver<ListEvent>,
    pages: PageEvaluation,
) -> EvaluationTally {
    let PageEvaluation {
        engine,
        env,
        filters,
        per_namespace_reports,
        progress,
        mut gate,
        view,
        timestamp,
        keep_findings,
        reuse,
        listing_kinds,
    } = pages;
    // Objects met so far by LIST: their places in the view's order.
    let mut ordinals: BTreeMap<usize, u64> = BTreeMap::new();
    let mut tally = EvaluationTally {
        view: view.map(|view| (view, None::<std::io::Error>)),
        ..EvaluationTally::default()
    };
    // A reusing run judges no object before the stored reports are read:
    // meanwhile pages are taken off the queue as they come, up to
    // READ_AHEAD_PAGES of them (as text), so that the listers go on
    // listing instead of waiting for the read; they are evaluated in
    // order once the reports are there.
    let mut ahead: VecDeque<ListEvent> = VecDeque::new();
    let mut pages_ahead = 0;
    loop {
        let reading = matches!(reuse, ReuseMode::Stored(_))
            && pages_ahead < READ_AHEAD_PAGES
            && gate
                .as_mut()
                .is_some_and(|gate| gate.waiting(ReportSink::accept));
        let next = if reading {
            match receiver.blocking_recv() {
                Some(event) => {
                    pages_ahead += usize::from(matches!(event, ListEvent::Page { .. }));
                    ahead.push_back(event);
                    continue;
                }
                None => ahead.pop_front(),
            }
        } else {
            match ahead.pop_front() {
                Some(event) => Some(event),
                None => receiver.blocking_recv(),
            }
        };
        let Some(event) = next else {
            break;
        };
        match event {
            ListEvent::Page { listing, page } => {
                let items = match page.parse() {
                    Ok(items) => items,
                    Err(err) => {
                        // The LIST's count includes these objects: its kind
                        // is failed, so its reports are left as they were.
                        if let Some(kind) = listing_kinds.get(listing) {
                            tally.tally.on_unreadable_page(
                                *kind,
                                ClusterError::Transport {
                                    what: "reading a listed page".into(),
                                    message: err.to_string(),
                                },
                            );
                        }
                        continue;
                    }
                };
                let in_scope: Vec<Value> = items
                    .into_iter()
                    .filter(|item| {
                        let text = |pointer| item.str_at(pointer);
                        filters.covers_object(
                            crate::kinds::group_of(text("/apiVersion").unwrap_or_default()),
                            text("/kind").unwrap_or_default(),
                            text("/metadata/namespace").unwrap_or_default(),
                            text("/metadata/name").unwrap_or_default(),
                            per_namespace_reports,
                        )
                    })
                    .collect();
                tally.tally.on_page(
                    listing,
                    in_scope
                        .iter()
                        .map(|item| item.str_at("/metadata/namespace").unwrap_or_default()),
                );
                progress.evaluated(in_scope.len());
                let shape = gate.is_some();
                let listed: Vec<ReportKey> = if shape {
                    in_scope.iter().map(resource_report_key).collect()
                } else {
                    Vec::new()
                };
                // Reusing needs the stored reports: the first page
                // waits for them (and the sink built from them).
                let stored = match (&reuse, gate.as_mut()) {
                    (ReuseMode::Stored(_), Some(gate)) => gate
                        .ready(ReportSink::accept)
                        .map(|sink| sink.decisions.existing().clone()),
                    _ => None,
                };
                let labels = reuse.labels();
                let next = ordinals.entry(listing).or_default();
                let first = *next;
                *next += in_scope.len() as u64;
                let streamed = tally.view.as_ref().map(|(view, _)| view.as_ref());
                let (per_object, shaped): (Vec<(Object, Option<ViewRecords>)>, Vec<_>) = in_scope
                    .par_iter()
                    .enumerate()
                    .map(|(place, resource)| {
                        let inputs = labels.and_then(|reuse| reuse.inputs(resource, &env));
                        if let (Some(stored), Some(inputs), Some(reuse)) =
                            (&stored, &inputs, labels)
                        {
                            if let Some(object) = reused(reuse, stored, resource, inputs) {
                                return ((object, None), None);
                            }
                        }
                        // A CEL policy's matchConditions skips are no
                        // result of the scan's (the reports leave them out,
                        // as Kyverno's background scan does): the outputs
                        // leave them out too, so `-o table` counts what
                        // `-o summary` and the reports do (walk39 F10).
                        let mut found = evaluate(&engine, &env, resource);
                        found.retain(crate::reports::is_reported);
                        // Shaped (and hashed) here, in parallel; only
                        // the comparison and sending stay serial.
                        let reports =
                            shape.then(|| object_reports(&found, timestamp, labels.zip(inputs)));
                        let ordinal = first + place as u64;
                        let records =
                            streamed.map(|view| (ordinal, view.records(listing, ordinal, &found)));
                        ((Object::Evaluated(found), records), reports)
                    })
                    .unzip();
                drop(in_scope);
                let mut kept: Vec<DesiredReport> = Vec::new();
                let mut per_found: Vec<Vec<Finding>> = Vec::with_capacity(per_object.len());
                for (object, records) in per_object {
                    match object {
                        Object::Evaluated(found) => {
                            if let (Some((view, error @ None)), Some((ordinal, records))) =
                                (tally.view.as_mut(), records)
                            {
                                if let Err(err) = records
                                    .and_then(|records| view.add(listing, ordinal, &found, records))
                                {
                                    tracing::error!(error = %err, "the output's findings could not be kept");
                                    *error = Some(err);
                                }
                            }
                            per_found.push(found);
                        }
                        Object::Reused(report, results) => {
                            tally.tally.on_reused(listing, results);
                            kept.push(DesiredReport {
                                key: report.key.clone(),
                                content_hash: report.content_hash.clone().unwrap_or_default(),
                            });
                        }
                    }
                }
                let found = tally.tally.on_evaluated(listing, per_found);
                if let Some(gate) = gate.as_mut() {
                    let objects = shaped.into_iter().flatten().collect();
                    let page = PageReports {
                        wanted: page_reports(objects, &found, timestamp),
                        reused: kept,
                        listed,
                    };
                    if !gate.offer(page, HELD_PAGES, ReportSink::accept) {
                        // The stored reports could not be read: the scan
                        // fails, and the listers are stopped.
                        break;
                    }
                }
                if keep_findings {
                    tally.tally.keep_findings(listing, found);
                }
            }
            ListEvent::Restarted { listing } => {
                if let Some((view, _)) = tally.view.as_mut() {
                    view.restart(listing);
                }
                tally.tally.on_list_restarted(listing);
            }
            ListEvent::Finished { listing, outcome } => {
                progress.list_finished(listing);
                if let Some(kind) = listing_kinds.get(listing) {
                    tally.tally.on_list_finished(*kind, outcome);
                }
            }
        }
    }
    tally.sink = gate.and_then(|gate| gate.finish(ReportSink::accept));
    tally
}

/// Listing and evaluation under way ([`start_listing`]).
pub(super) struct Running {
    /// Aborted when dropped: a scan stopped at its deadline lists no more.
    pub(super) listers: tokio_util::task::AbortOnDropHandle<()>,
    pub(super) evaluation: tokio::task::JoinHandle<EvaluationTally>,
    pub(super) listings: Vec<KindListing>,
    pub(super) jobs_per_kind: BTreeMap<usize, usize>,
    /// The kind (its number in `listings`) of each LIST.
    pub(super) listing_kinds: Arc<Vec<usize>>,
    /// A shard counts the objects of its partition, not all it listed.
    pub(super) count_owned: bool,
}

/// Starts listing the kinds (`list_concurrency` at a time) while a
/// blocking task evaluates each page in parallel as it arrives and, with a
/// `gate` (per-resource reports), shapes each object's reports there too;
/// the pages' reports go to the sink once it comes through the gate.
#[allow(clippy::too_many_arguments)]
pub(super) fn start_listing(
    client: &Client,
    kinds: &[ApiResource],
    options: &ScanOptions,
    engine: Arc<Engine>,
    env: Arc<Environment>,
    gate: Option<SinkGate<ReportSink, PageReports>>,
    timestamp: Timestamp,
    keep_findings: bool,
    reuse: ReuseMode,
    view: Option<Box<dyn view::FindingView>>,
) -> Running {
    let concurrency = options.list_concurrency.max(1);
    // Pages in flight: one being evaluated, two queued, and one arriving
    // per lister, all as text until evaluated (and, while a reusing run
    // reads the stored reports, READ_AHEAD_PAGES taken ahead). Evaluation
    // is the slower side, so more queued pages would only hold more memory.
    let (sender, receiver) = mpsc::channel::<ListEvent>(2);
    let listings: Vec<KindListing> = kinds
        .iter()
        .map(|kind| KindListing {
            kind: kind.clone(),
            objects: 0,
            error: None,
        })
        .collect();

    let jobs = listing_jobs(
        kinds,
        &options.filters,
        env.namespace_labels.keys().map(String::as_str),
    );
    options.progress.lists_planned(jobs.len());
    let mut jobs_per_kind: BTreeMap<usize, usize> = BTreeMap::new();
    for (index, _, _) in &jobs {
        *jobs_per_kind.entry(*index).or_default() += 1;
    }
    // The kind of each LIST (a job's number): events name the LIST, so a
    // namespace's restart voids that namespace's pages only.
    let listing_kinds: Arc<Vec<usize>> =
        Arc::new(jobs.iter().map(|(index, _, _)| *index).collect());
    let client = client.clone();
    let page_size = options.page_size.max(1);
    let progress = options.progress.clone();
    let listers = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
        futures::stream::iter(jobs.into_iter().enumerate())
            .map(|(listing, (_, kind, namespace))| {
                // Named where a stopped scan says what it waited for.
                progress.list_started(
                    listing,
                    match &namespace {
                        Some(namespace) => format!("{} in {namespace}", kind.display_name()),
                        None => kind.display_name(),
                    },
                );
                listing::list_kind(
                    client.clone(),
                    kind,
                    listing,
                    namespace,
                    page_size,
                    sender.clone(),
                )
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<()>>()
            .await;
    }));

    let pages = PageEvaluation {
        engine,
        env,
        filters: options.filters.clone(),
        per_namespace_reports: options.shape == ReportShape::PerNamespace,
        progress: options.progress.clone(),
        gate,
        view,
        timestamp,
        keep_findings,
        reuse,
        listing_kinds: listing_kinds.clone(),
    };
    let evaluation = tokio::task::spawn_blocking(move || evaluate_pages(receiver, pages));

    Running {
        listers,
        evaluation,
        listings,
        jobs_per_kind,
        listing_kinds,
        count_owned: options.filters.shard.is_some(),
    }
}

impl Running {
    /// Stops the listers; the evaluation task ends with the pages (and
    /// finds no sink).
    pub(super) fn abort(self) {
        self.listers.abort();
    }

    /// Waits for the lists and the evaluation to end.
    pub(super) async fn finish(self) -> Evaluated {
        let Running {
            listers,
            evaluation,
            mut listings,
            jobs_per_kind,
            listing_kinds,
            count_owned,
        } = self;
        let _ = listers.await;
        let tally = match evaluation.await {
            Ok(result) => result,
            Err(err) => {
                for listing in &mut listings {
                    listing.error = Some(ClusterError::Transport {
                        what: format!("evaluating {}", listing.kind.display_name()),
                        message: err.to_string(),
                    });
                }
                return Evaluated {
                    findings: BTreeMap::new(),
                    listings,
                    resources: 0,
                    status_counts: BTreeMap::new(),
                    result_counts: BTreeMap::new(),
                    objects_evaluated_by_kind: BTreeMap::new(),
                    objects_by_namespace: BTreeMap::new(),
                    results_by_rule: BTreeMap::new(),
                    kinds_by_rule: BTreeMap::new(),
                    annotation_excused: BTreeMap::new(),
                    reused: 0,
                    sink: None,
                    view: None,
                };
            }
        };
        fold_listings(tally, listings, &jobs_per_kind, &listing_kinds, count_owned)
    }
}

/// The kinds' listings with what the pages gave ([`Tally::finish`]), and
/// the sink and view the pages went to.
pub(super) fn fold_listings(
    tally: EvaluationTally,
    listings: Vec<KindListing>,
    jobs_per_kind: &BTreeMap<usize, usize>,
    listing_kinds: &[usize],
    count_owned: bool,
) -> Evaluated {
    let EvaluationTally { tally, sink, view } = tally;
    let counted = tally.finish(listings, jobs_per_kind, listing_kinds, count_owned);
    Evaluated {
        findings: counted.findings,
        listings: counted.listings,
        resources: counted.resources,
        status_counts: counted.status_counts,
        result_counts: counted.result_counts,
        objects_evaluated_by_kind: counted.objects_evaluated_by_kind,
        objects_by_namespace: counted.objects_by_namespace,
        results_by_rule: counted.results_by_rule,
        kinds_by_rule: counted.kinds_by_rule,
        annotation_excused: counted.annotation_excused,
        reused: counted.reused,
        sink,
        view,
    }
}

pub(super) fn evaluate(engine: &Engine, env: &Environment, resource: &Value) -> Vec<Finding> {
    engine
        .evaluate(resource, env)
        .into_iter()
        .flat_map(|response| {
            let policy = response.policy.clone();
            let resource = response.resource.clone();
            response.rules.into_iter().map(move |result| Finding {
                policy: policy.clone(),
                resource: resource.clone(),
                origin: None,
                result,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cluster::listing::RawPage;
    use crate::engine::EngineOptions;
    use crate::engine::Policy;
    use crate::scan::shard;

    fn pod(namespace: &str, name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": namespace, "uid": format!("{namespace}-{name}")},
               "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}})
    }

    /// Pages of one kind listed namespace by namespace (LISTs 0 and 1),
    /// pushed in as the listers would, through evaluation and the fold.
    fn evaluated(events: Vec<ListEvent>) -> Evaluated {
        evaluated_with(
            ScanFilters {
                namespaces: vec!["a".into(), "b".into()],
                ..ScanFilters::default()
            },
            events,
        )
    }

    fn evaluated_with(filters: ScanFilters, events: Vec<ListEvent>) -> Evaluated {
        let policy = Policy::from_document(&json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "no-latest"},
            "spec": {"validationFailureAction": "Audit", "rules": [{
                "name": "check", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}}]}
        }))
        .unwrap_or_else(|err| panic!("{err}"));
        evaluated_by(
            Engine::new(vec![policy], EngineOptions::default()),
            filters,
            events,
        )
    }

    fn evaluated_by(engine: Engine, filters: ScanFilters, events: Vec<ListEvent>) -> Evaluated {
        let (sender, receiver) = mpsc::channel(events.len().max(1));
        for event in events {
            sender.try_send(event).unwrap_or_else(|err| panic!("{err}"));
        }
        drop(sender);
        let listing_kinds = Arc::new(vec![0, 0]);
        let pages = PageEvaluation {
            engine: Arc::new(engine),
            env: Arc::new(Environment::default()),
            filters,
            per_namespace_reports: false,
            progress: Arc::default(),
            gate: None,
            view: None,
            timestamp: Timestamp::now_seconds(),
            keep_findings: true,
            reuse: ReuseMode::Off,
            listing_kinds: listing_kinds.clone(),
        };
        let count_owned = pages.filters.shard.is_some();
        let tally = evaluate_pages(receiver, pages);
        let listings = vec![KindListing {
            kind: crate::cluster::discovery::listable_for_tests("", "Pod"),
            objects: 0,
            error: None,
        }];
        fold_listings(
            tally,
            listings,
            &BTreeMap::from([(0, 2)]),
            &listing_kinds,
            count_owned,
        )
    }

    fn page(listing: usize, objects: Vec<Value>) -> ListEvent {
        let texts = objects
            .iter()
            .map(|object| {
                serde_json::value::to_raw_value(object).unwrap_or_else(|err| panic!("{err}"))
            })
            .collect();
        ListEvent::Page {
            listing,
            page: RawPage::new(
                &crate::cluster::discovery::listable_for_tests("", "Pod"),
                texts,
            ),
        }
    }

    fn finished(listing: usize, objects: usize) -> ListEvent {
        ListEvent::Finished {
            listing,
            outcome: Ok(objects),
        }
    }

    /// walk39 F10: a ValidatingPolicy's matchConditions skips, which the
    /// reports leave out, were kept for the outputs (`scan -o table`
    /// counted 611 skips where `-o summary` and the reports had 2).
    #[test]
    fn match_condition_skips_reach_no_output() {
        let (engine, problems) = Engine::from_documents(
            &[json!({
                "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
                "metadata": {"name": "only-a"},
                "spec": {"validationActions": ["Audit"],
                    "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
                    "matchConditions": [{"name": "in-a", "expression": "object.metadata.namespace == 'a'"}],
                    "validations": [{"expression": "true"}]}
            })],
            EngineOptions::default(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let found = evaluated_by(
            engine,
            ScanFilters::default(),
            vec![
                page(0, vec![pod("a", "p1"), pod("b", "p2")]),
                finished(0, 2),
            ],
        );
        let kept: Vec<(String, RuleStatus)> = found
            .findings
            .values()
            .flatten()
            .map(|f| (f.resource.namespace.clone(), f.result.status))
            .collect();
        assert_eq!(kept, [("a".to_string(), RuleStatus::Pass)]);
        assert!(
            !found.status_counts.contains_key(&RuleStatus::Skip),
            "{:?}",
            found.status_counts
        );
    }

    #[test]
    fn a_shard_lists_its_own_namespaces_one_at_a_time() {
        let kinds = [
            crate::cluster::discovery::listable_for_tests("", "Pod"),
            ApiResource {
                namespaced: false,
                ..crate::cluster::discovery::listable_for_tests("", "Namespace")
            },
        ];
        let namespaces: Vec<String> = (0..9).map(|i| format!("team-{i}")).collect();
        let mut listed = Vec::new();
        for index in 0..3 {
            let filters = ScanFilters {
                shard: Some(shard::Shard::new(index, 3).unwrap_or_else(|err| panic!("{err}"))),
                exclude_namespaces: vec!["team-0".into()],
                ..ScanFilters::default()
            };
            let jobs = listing_jobs(&kinds, &filters, namespaces.iter().map(String::as_str));
            // The cluster-scoped kind: one cluster-wide LIST.
            assert_eq!(
                jobs.iter()
                    .filter(|(i, _, ns)| *i == 1 && ns.is_none())
                    .count(),
                1
            );
            for (_, kind, namespace) in jobs.iter().filter(|(i, _, _)| *i == 0) {
                assert!(kind.namespaced);
                let namespace = namespace.clone().unwrap_or_else(|| panic!("{jobs:?}"));
                assert!(filters.covers_namespace(&namespace), "{namespace}");
                listed.push(namespace);
            }
        }
        // Together the shards list each namespace once, the excluded none.
        listed.sort();
        let expected: Vec<String> = namespaces[1..].to_vec();
        assert_eq!(listed, expected);
        // Not sharded: one LIST per kind; --namespace: per namespace.
        let plain = listing_jobs(
            &kinds,
            &ScanFilters::default(),
            namespaces.iter().map(String::as_str),
        );
        assert_eq!(plain.len(), 2);
        // A shard owning none of the namespaces still lists every kind.
        let lonely = ScanFilters {
            shard: Some(shard::Shard::new(1, 2).unwrap_or_else(|err| panic!("{err}"))),
            ..ScanFilters::default()
        };
        let none: [&str; 0] = [];
        assert_eq!(listing_jobs(&kinds, &lonely, none.into_iter()).len(), 2);
    }

    #[test]
    fn a_shard_evaluates_only_its_namespaces_and_together_they_evaluate_all() {
        // One cluster-wide LIST (0) of Pods in 12 namespaces.
        let pods: Vec<Value> = (0..12)
            .map(|i| pod(&format!("team-{i}"), &format!("p{i}")))
            .collect();
        let mut seen = Vec::new();
        for index in 0..3 {
            let shard = shard::Shard::new(index, 3).unwrap_or_else(|err| panic!("{err}"));
            let outcome = evaluated_with(
                ScanFilters {
                    shard: Some(shard),
                    ..ScanFilters::default()
                },
                vec![page(0, pods.clone()), finished(0, 12), finished(1, 0)],
            );
            let names: Vec<String> = outcome.findings[&0]
                .iter()
                .map(|f| f.resource.namespace.clone())
                .collect();
            assert!(names.iter().all(|n| shard.owns_namespace(n)), "{names:?}");
            assert_eq!(outcome.resources, names.len());
            // Its record counts its own objects: the shards' counts add up.
            assert_eq!(outcome.listings[0].objects, names.len());
            seen.extend(names);
        }
        seen.sort();
        let mut all: Vec<String> = (0..12).map(|i| format!("team-{i}")).collect();
        all.sort();
        assert_eq!(seen, all);
    }

    #[test]
    fn a_namespace_s_list_starting_over_voids_only_its_own_pages() {
        let outcome = evaluated(vec![
            page(0, vec![pod("a", "a1")]),
            page(1, vec![pod("b", "b1")]),
            // Namespace b's LIST starts over and lists b1 again, and b2.
            ListEvent::Restarted { listing: 1 },
            page(1, vec![pod("b", "b1"), pod("b", "b2")]),
            finished(0, 1),
            finished(1, 2),
        ]);
        assert_eq!(outcome.resources, 3);
        assert_eq!(outcome.status_counts.get(&RuleStatus::Fail), Some(&3));
        let names: Vec<&str> = outcome.findings[&0]
            .iter()
            .map(|f| f.resource.name.as_str())
            .collect();
        assert_eq!(names, ["a1", "b1", "b2"]);
        assert_eq!(outcome.listings[0].objects, 3);
        assert!(outcome.listings[0].error.is_none());
        assert_eq!(outcome.objects_evaluated_by_kind.get("Pod"), Some(&3));
    }

    #[test]
    fn a_kind_with_a_namespace_s_list_unfinished_is_failed() {
        let outcome = evaluated(vec![page(0, vec![pod("a", "a1")]), finished(0, 1)]);
        assert!(outcome.listings[0].error.is_some());
    }
}
