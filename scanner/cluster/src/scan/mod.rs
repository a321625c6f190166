//! A cluster scan, end to end: discover → read policies → list (paginated,
//! several kinds at once, pages streamed) → evaluate each page with rayon →
//! shape reports → plan against the reports in the cluster → apply/delete.
//! A client and [`ScanOptions`] enter; a [`ScanOutcome`] leaves, recording
//! every kind that failed to list and every write that failed, so the caller
//! can report them and exit non-zero. Nothing already written is lost: stale
//! reports are deleted only for kinds listed completely in this run. The
//! stored reports are read while listing and evaluation run; nothing is
//! written before they are known. An object unchanged since its stored
//! per-resource report, under unchanged policies, is not evaluated again:
//! the report stands for it ([`reuse`]).
//!
//! [`scan`] is the driver and decides nothing itself: `prepare` reads
//! what the run needs (discovery, namespaces, policies, the engine) and
//! `setup` decides, without I/O, what that setup means (messages, reuse,
//! the stored reports in scope); pages then move from the listers through
//! `evaluate` (evaluation, the counts of `tally`, per-resource reports
//! into the sink), and `write` carries out what `reconcile::decide`
//! decides for the report shape.

pub mod dry_run;
pub use crate::evidence::run::exception_scope;
mod evaluate;
pub mod failures;
mod gate;
pub mod last_run;
pub mod metrics;
mod prepare;
pub mod progress;
pub mod reuse;
pub mod selection;
mod setup;
mod tally;
pub use crate::evidence::run::shard;
pub mod view;
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kube::Client;
use report_model::meta::Timestamp;
use report_model::schema::ReportSchemas;
use report_model::shape::PerNamespaceOptions;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{AuditOutcome, Finding, Problem};
use crate::cluster::report_store::ReportApi;
use crate::cluster::ClusterError;
use crate::engine::RuleStatus;
use crate::kinds::ApiResource;
use crate::loader::Document;
use crate::reconcile::decide::{Decision, PerNamespace, PerResource, ShapeDecisions};
use crate::reconcile::wanted::{wanted_reports, WantedReport};
use crate::reconcile::{ListingOutcome, Plan, ReportKey};
use crate::reports;

use self::evaluate::{start_listing, ReportSink, ReuseMode};
pub use self::exception_scope::ExceptionScope;
use self::gate::SinkGate;
pub use self::prepare::check_names;
use self::prepare::{prepare, Prepared};
use self::selection::{NotListed, ScanFilters};
use self::write::{
    delete_stale, drop_deleted_policies, leave_the_other_api, not_sent, write_all, write_stream,
    Outgoing,
};

/// The report layout written to the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportShape {
    /// Kyverno's: one report per resource with results.
    PerResource,
    /// One report per namespace (and one cluster report), split in parts.
    PerNamespace,
}

impl ReportShape {
    /// The report-shape label this layout's reports carry.
    fn label(self) -> &'static str {
        match self {
            ReportShape::PerResource => report_model::shape::SHAPE_PER_RESOURCE,
            ReportShape::PerNamespace => report_model::shape::SHAPE_PER_NAMESPACE,
        }
    }
}

/// What a scan reads, covers and writes. The default: the cluster's
/// policies, every kind but the default exclusions, per-resource reports
/// to the report API found (`auto`), pages of 500 objects, 4 LISTs and 8
/// writes at once, every finding and printed report kept.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Policies from files, evaluated besides the cluster's.
    pub policy_documents: Vec<Document>,
    /// Why the policy files (`--policy`) could not be read, when they
    /// could not: the scan then stops before it lists or writes anything
    /// ([`ScanError::PolicyFiles`]), after its record says it is in
    /// progress, so the record names the error (walk78: a CronJob whose
    /// file was malformed left the last good run's record standing).
    pub policy_files_error: Option<Arc<crate::loader::LoadError>>,
    /// Also read the policies stored in the cluster.
    pub cluster_policies: bool,
    /// The kinds, namespaces and shard the scan covers.
    pub filters: ScanFilters,
    /// The report layout written (`--report-per`).
    pub shape: ReportShape,
    /// `--report-api`: the report API to write to; None for `auto`
    /// (wgpolicyk8s.io when served, else openreports.io).
    pub report_api: Option<ReportApi>,
    /// Plan, but write and delete nothing (`--dry-run`).
    pub dry_run: bool,
    /// Objects per LIST page (its `limit`; at least 1).
    pub page_size: u32,
    /// Let policies make HTTP calls (`--allow-http`).
    pub allow_http: bool,
    /// The cluster's PolicyExceptions applied (`--exception-namespace`);
    /// those of `--policy` files always are.
    pub exceptions: ExceptionScope,
    /// LISTs run at once (at least 1).
    pub list_concurrency: usize,
    /// Report writes, and deletes, in flight at once (at least 1).
    pub write_concurrency: usize,
    /// Keep every finding for the output (table, yaml, json); a summary
    /// needs only the counts.
    pub keep_findings: bool,
    /// Kyverno's ConfigMap (`namespace`, `name`), whose `resourceFilters`
    /// the scan applies, as a Kyverno reports controller started with
    /// `--skipResourceFilters=false` (and Kyverno's admission) does. None
    /// (the default): no filters, as Kyverno's reports controller by
    /// default (`--skipResourceFilters=true`). A ConfigMap named here that
    /// does not exist is an error.
    pub kyverno_config: Option<(String, String)>,
    /// Keep every per-resource report the scan wants (changed or not) for
    /// printing, in a temporary file ([`dry_run::ReportSpill`]): for the
    /// yaml/json outputs, which are the reports. Other outputs keep none.
    pub keep_printed_reports: bool,
    /// Counters a progress display or metrics exporter reads while the
    /// scan runs.
    pub progress: Arc<progress::ScanProgress>,
    /// Streams the findings into an output view (table, JUnit, SARIF)
    /// instead of keeping them ([`view`]).
    pub finding_view: Option<view::ViewFactory>,
}

impl ScanOptions {
    /// The options that shape a scan's results or what it covers, by the
    /// flag that sets each (`--exclude-kinds` → `Pod,Secret`; lists
    /// sorted, "" when not given): shards of one run must agree on all of
    /// them, and `polscan evidence` checks that they did. Policy files are
    /// not here: their content digests are recorded instead.
    pub fn settings(&self) -> BTreeMap<String, String> {
        let sorted = |mut names: Vec<String>| {
            names.sort();
            names.join(",")
        };
        let kinds = |names: &[selection::KindName]| {
            sorted(names.iter().map(selection::KindName::text).collect())
        };
        let filters = &self.filters;
        BTreeMap::from([
            ("--include-kinds".into(), kinds(&filters.include_kinds)),
            ("--exclude-kinds".into(), kinds(&filters.exclude_kinds)),
            ("--namespace".into(), sorted(filters.namespaces.clone())),
            (
                "--exclude-namespaces".into(),
                sorted(filters.exclude_namespaces.clone()),
            ),
            (
                "--report-per".into(),
                match self.shape {
                    ReportShape::PerResource => "resource",
                    ReportShape::PerNamespace => "namespace",
                }
                .into(),
            ),
            (
                "--exception-namespace".into(),
                match &self.exceptions {
                    ExceptionScope::Namespace { namespace } => namespace.clone(),
                    ExceptionScope::Disabled | ExceptionScope::Given => String::new(),
                },
            ),
            (
                "--kyverno-config".into(),
                self.kyverno_config
                    .as_ref()
                    .map(|(namespace, name)| format!("{namespace}/{name}"))
                    .unwrap_or_default(),
            ),
            ("--allow-http".into(), self.allow_http.to_string()),
            (
                "--no-cluster-policies".into(),
                (!self.cluster_policies).to_string(),
            ),
        ])
    }
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            policy_documents: Vec::new(),
            policy_files_error: None,
            cluster_policies: true,
            filters: ScanFilters::default(),
            shape: ReportShape::PerResource,
            report_api: None,
            dry_run: false,
            page_size: 500,
            allow_http: false,
            exceptions: ExceptionScope::Disabled,
            list_concurrency: 4,
            write_concurrency: 8,
            keep_findings: true,
            keep_printed_reports: true,
            kyverno_config: None,
            progress: Arc::default(),
            finding_view: None,
        }
    }
}

/// How one kind's list went.
#[derive(Debug, Clone)]
pub struct KindListing {
    /// The kind.
    pub kind: ApiResource,
    /// Objects its LISTs returned (for a shard, those of its partition).
    pub objects: usize,
    /// Why it was not listed completely (a LIST failed or never finished,
    /// or a page could not be read); None when it was.
    pub error: Option<ClusterError>,
}

/// What results are counted by: policy (`namespace/name` for namespaced
/// ones), its severity annotation, and the reported status.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResultKey {
    /// The policy's name as reports give it (`namespace/name` when
    /// namespaced).
    pub policy: String,
    /// Its `policies.kyverno.io/severity` annotation; empty when none.
    pub severity: String,
    /// The status the report shows ([`Finding::reported_status`]).
    pub status: RuleStatus,
}

impl ResultKey {
    /// The key `finding`'s result is counted by.
    pub fn of(finding: &Finding) -> ResultKey {
        ResultKey::new(&finding.policy, finding.reported_status())
    }

    /// A result of `policy` with the reported `status`.
    pub fn new(policy: &crate::engine::policy::PolicyMeta, status: RuleStatus) -> ResultKey {
        ResultKey {
            policy: policy.qualified_name(),
            severity: policy.severity().unwrap_or("").to_string(),
            status,
        }
    }
}

/// What a run that read every policy removed from the reports it kept
/// (kinds it did not list): the results of policies no longer in the
/// cluster, as Kyverno's report controller removes them from every report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeletedPolicyResults {
    /// Results dropped.
    pub results_dropped: usize,
    /// Kept reports rewritten without them.
    pub reports_rewritten: usize,
    /// Kept reports deleted: they held no other result (also counted in
    /// [`ScanOutcome::deletes`], and no longer in the plan's kept reports).
    pub reports_deleted: usize,
}

/// What a scan did: the audit's findings and problems, each kind's
/// listing, the plan and what came of its writes and deletes, and the
/// counts the run record and metrics read.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Findings, problems and counts, as an offline audit gives them.
    pub audit: AuditOutcome,
    /// The report API the reports went to (or, in a dry run, would go to).
    pub report_api: ReportApi,
    /// polscan's reports deleted from the other report API (a move
    /// between APIs), included in `deletes`.
    pub other_api_deleted: usize,
    /// Each kind selected for listing, in discovery's order, with how its
    /// LISTs went.
    pub listings: Vec<KindListing>,
    /// Discovery failures and kinds of policies that could not be read.
    pub other_failures: Vec<ClusterError>,
    /// The reports to write, leave and delete.
    pub plan: Plan,
    /// The reports the plan applies (in a dry run, every per-namespace
    /// report the scan wants, for printing).
    pub reports_to_apply: Vec<(ReportKey, WantedReport)>,
    /// `--exception-namespace` named a namespace the cluster does not have.
    pub exception_namespace_missing: bool,
    /// The policy kinds the cluster does not serve (discovery).
    pub unserved_policy_kinds: Vec<String>,
    /// Kyverno's resourceFilters the scan applied: where they came from
    /// (`namespace/name` of the ConfigMap) and how many; None when none.
    pub resource_filters: Option<(String, usize)>,
    /// Every per-resource report the scan wants (changed or not), when
    /// asked for (`keep_printed_reports`).
    pub printed_reports: Option<dry_run::ReportSpill>,
    /// Reports written (0 in a dry run).
    pub writes: usize,
    /// Reports deleted: stale ones, and those left in the other report
    /// API (0 in a dry run).
    pub deletes: usize,
    /// Writes and deletes that failed, and reports not sent because they
    /// do not fit their CRD schema ([`ClusterError::NotSent`]).
    pub write_failures: Vec<ClusterError>,
    /// The reports this run wanted written that were not (their write
    /// failed, or they were not sent): stale reports in their namespace
    /// (or, for a cluster-scoped one, the cluster's) are not deleted this
    /// run, since they may be what the unwritten one was to replace
    /// (fault17 F17-3: a change of layout deleted the per-resource reports
    /// of a namespace whose new part the server refused).
    pub unwritten: BTreeSet<ReportKey>,
    /// Stale reports kept for [`Self::unwritten`].
    pub deletes_held: usize,
    /// The run was a dry run: nothing was written or deleted.
    pub dry_run: bool,
    /// Results by status (kept even when findings are not).
    pub status_counts: BTreeMap<RuleStatus, usize>,
    /// Results by policy, severity and status (for metrics and the run
    /// record; kept even when findings are not).
    pub result_counts: BTreeMap<ResultKey, usize>,
    /// Milliseconds since the start at the end of each phase.
    pub phases: Vec<(String, u64)>,
    /// Some policy could not be read or loaded: nothing was pruned but the
    /// per-resource reports of resources that are gone, and
    /// rewritten reports kept the stored results of policies missing from
    /// this run.
    pub policies_incomplete: bool,
    /// This run's policies are not all the cluster's: some could not be
    /// read or loaded ([`Self::policies_incomplete`]), or the cluster has
    /// policies this run does not judge (`--no-cluster-policies`, whose
    /// run once pruned the main scan's reports: walk49 W49-7). Then
    /// nothing is pruned but the per-resource reports of resources that
    /// are gone, and rewritten reports keep the stored results of the
    /// policies this run lacks.
    pub policy_set_partial: bool,
    /// Results of missing policies carried over from stored reports into
    /// the reports rewritten in this run.
    pub results_kept: usize,
    /// Planned writes that turned out equal to the stored report once the
    /// missing policies' results were carried over (not written).
    pub unchanged_after_carry_over: usize,
    /// The reports kept (kinds not listed) rid of deleted policies'
    /// results, in a run that read every policy.
    pub deleted_policies: DeletedPolicyResults,
    /// Stored reports not rewritten because the run lacked some policies
    /// and the layout cannot carry their results over (per-namespace).
    pub rewrites_held: usize,
    /// A `--report-per` switch held back (no report written) because the
    /// run lacked policies: the other layout's reports kept, by count.
    pub layout_switch_held: Option<usize>,
    /// Policy sources (`clusterpolicies.kyverno.io`) that could not be read.
    pub failed_policy_sources: Vec<String>,
    /// Qualified names of policies that failed to load.
    pub invalid_policies: Vec<String>,
    /// A document other than a policy failed to load (a binding, a
    /// PolicyException): what the loaded policies report may change with
    /// it (a ValidatingAdmissionPolicy's coverage, an exception's skips),
    /// so none of them was covered completely. An invalid policy alone
    /// leaves the others' coverage whole ([`last_run::soak_scans`]).
    pub invalid_beyond_policies: bool,
    /// Bindings and PolicyExceptions that did not load but name their
    /// policies (`Kind namespace/name` → the policies' qualified names):
    /// only those policies' coverage is partial (one team's broken
    /// exception held every team's soak back).
    pub load_error_policies: BTreeMap<String, Vec<String>>,
    /// Why each policy, binding or PolicyException that could not be
    /// loaded was refused, by `Kind namespace/name` (`Kind name` when
    /// cluster-scoped): the loader's message.
    pub load_errors: BTreeMap<String, String>,
    /// Objects some rule gave a result, by kind display name (a scan
    /// counts them; an audit's record derives them from its findings).
    pub objects_evaluated_by_kind: BTreeMap<String, usize>,
    /// Objects in the scan's scope by namespace and kind display name
    /// (cluster-scoped ones left out); None when not counted (an audit).
    pub objects_by_namespace: Option<last_run::ObjectsByNamespace>,
    /// Results by policy, rule and reported status (counted as above).
    pub results_by_rule: last_run::ResultsByRule,
    /// Results by policy, rule and the kind of the object evaluated
    /// (counted as above); empty when not counted.
    pub kinds_by_rule: last_run::KindsByRule,
    /// Violations excused only by the `polscan.io/exception` annotation,
    /// by policy (counted as above): the soak history counts them as the
    /// result they replaced; the run record does not hold them.
    pub annotation_excused: last_run::AnnotationExcused,
    /// Objects not evaluated again: unchanged since their stored report,
    /// as every policy is ([`reuse`]).
    pub reused: usize,
    /// Policies (qualified names) some of whose named kinds this scan's
    /// filters, or its default (Secrets), left out: not covered completely
    /// ([`last_run::soak_scans`]).
    pub kinds_left_out: BTreeSet<String>,
    /// `--namespace`: the only namespaces scanned (all when empty).
    pub namespaces: Vec<String>,
    /// `--exclude-namespaces`: namespaces left out.
    pub excluded_namespaces: Vec<String>,
    /// Content digest of each policy and exception document the run loaded,
    /// by [`last_run::document_key`].
    pub input_digests: BTreeMap<String, String>,
    /// Each policy document the run read, by qualified name: what its soak
    /// history records of it ([`last_run::soak_scans`]).
    pub soak_policies: BTreeMap<String, last_run::SoakPolicy>,
    /// The options that shaped the run ([`ScanOptions::settings`]), with
    /// `--report-api` as resolved (`group/version`).
    pub settings: BTreeMap<String, String>,
    /// The findings streamed into the output view, when the options asked
    /// for one, with the first error keeping them (then the view is not
    /// whole).
    pub finding_view: Option<(view::StreamedView, Option<std::io::Error>)>,
    /// The cluster's PolicyExceptions this run applied (an audit of files
    /// applies every one given).
    pub exceptions: ExceptionScope,
    /// The cluster's PolicyExceptions found but not applied
    /// (`namespace/name`).
    pub exceptions_not_applied: Vec<String>,
}

impl ScanOutcome {
    /// The listings with an error.
    pub fn failed_listings(&self) -> impl Iterator<Item = &KindListing> {
        self.listings.iter().filter(|l| l.error.is_some())
    }

    /// True when every kind listed, every policy loaded and every write
    /// succeeded: the reports are complete evidence.
    pub fn complete(&self) -> bool {
        self.failed_listings().next().is_none()
            && self.other_failures.is_empty()
            && self.write_failures.is_empty()
            && self.audit.invalid_policies() == 0
    }
}

/// Fatal errors: the scan could not start or could not decide what to write.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A request the scan cannot go on without failed: discovery (the
    /// server not reached), the Namespaces' LIST, or the stored reports'.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// No policy to evaluate, and none that failed to load: none in the
    /// cluster (or not read) and none in `policy_documents`.
    #[error("no policies: none in the cluster and none given with --policy")]
    NoPolicies,
    /// No policy to evaluate, and some policy sources could not be read
    /// (a LIST forbidden or failed, a policy group's discovery failed):
    /// their policies may exist, so nothing is listed, written or pruned.
    /// The sources, and each error.
    #[error("no policy could be read, so nothing was scanned or pruned: {} could not be read ({})", .0.join(", "), .1.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    PoliciesUnreadable(Vec<String>, Vec<ClusterError>),
    /// The server serves no report API to write to (or not the one
    /// `--report-api` names): what each lacks, and how to install one.
    #[error("{0}")]
    NoReportApi(String),
    /// The findings could not be shaped into reports (report-model).
    #[error("shaping reports: {0}")]
    Shape(#[from] report_model::shape::ShapeError),
    /// `--kyverno-config` names a ConfigMap that does not exist.
    #[error("--kyverno-config: no ConfigMap {0}: give the namespace/name of Kyverno's ConfigMap (a Helm release other than kyverno names it after the release)")]
    KyvernoConfigMissing(String),
    /// The temporary file keeping the reports to print failed.
    #[error("keeping the reports to print in a temporary file: {0}")]
    DryRunSpill(#[source] std::io::Error),
    /// `--include-kinds` named kinds the server does not serve, or
    /// `--namespace` namespaces the cluster does not have: one sentence
    /// each (with the nearest name). Nothing is listed or written.
    #[error("{}", .0.join("; "))]
    UnknownNames(Vec<String>),
    /// The policy files (`--policy`) could not be read
    /// ([`ScanOptions::policy_files_error`]): nothing was listed, written
    /// or pruned.
    #[error("reading policies, so nothing was scanned or pruned: {0}")]
    PolicyFiles(#[source] Arc<crate::loader::LoadError>),
}

/// Runs a scan: prepares it (discovery, the policies, the engine, what
/// to list), lists and evaluates while the stored reports are read, then
/// carries out the decisions of `reconcile::decide` for the report shape
/// and prunes.
pub async fn scan(client: Client, options: ScanOptions) -> Result<ScanOutcome, ScanError> {
    if let Some(error) = &options.policy_files_error {
        return Err(ScanError::PolicyFiles(error.clone()));
    }
    let mut outcome = ScanOutcome {
        dry_run: options.dry_run,
        namespaces: options.filters.namespaces.clone(),
        excluded_namespaces: options.filters.exclude_namespaces.clone(),
        exceptions: options.exceptions.clone(),
        settings: options.settings(),
        ..ScanOutcome::default()
    };
    let mut phases = Phases::start(options.progress.clone());
    let prepared = prepare(&client, &options, &mut outcome, &mut phases).await?;
    let Prepared {
        discovered,
        store,
        env,
        existing_reports,
        engine,
        reuse,
        selection,
        carry_over,
        keep_findings,
        existing_policies,
    } = prepared;
    let timestamp = Timestamp::now_seconds();
    // Per-resource reports go to a sink built from the stored reports;
    // pages evaluated before those are read wait for it (see `gate`).
    let (sink_sender, gate) = match options.shape {
        ReportShape::PerResource => {
            let (sender, receiver) = oneshot::channel::<ReportSink>();
            (Some(sender), Some(SinkGate::new(receiver)))
        }
        ReportShape::PerNamespace => (None, None),
    };
    tracing::info!(kinds = selection.to_list.len(), "listing");
    options.progress.set_phase("listing and evaluating");
    // A run that does not reuse stored reports only compares their
    // results annotation with the one it would write: a digest of it does.
    let results_digested = !matches!(reuse, ReuseMode::Stored(_));
    // Listing and evaluation start now, while the stored reports are read:
    // nothing is written or deleted before they are known, and a failure
    // to read them stops the listers.
    let running = start_listing(
        &client,
        &selection.to_list,
        &options,
        engine,
        env,
        gate,
        timestamp,
        keep_findings,
        reuse,
        options.finding_view.as_ref().map(view::ViewFactory::make),
    );
    let read = match existing_reports.await {
        Ok(result) => result.map_err(ScanError::from),
        Err(err) => Err(ScanError::Cluster(ClusterError::Transport {
            what: "reading the existing reports".into(),
            message: err.to_string(),
        })),
    };
    let (crds, existing) = match read {
        Ok(read) => read,
        Err(err) => {
            running.abort();
            return Err(err);
        }
    };
    // Reports are checked against the CRDs they will be written to (a dry
    // run without CRDs checks against polscan's own).
    let schemas = Arc::new(crds.unwrap_or_else(|| ReportSchemas::shipped_for(outcome.report_api)));
    // Listing and evaluating have been going on meanwhile: this phase now
    // ends while they run, not before they start.
    phases.mark("existing reports read");
    options.progress.set_phase("listing and evaluating");
    let in_scope = setup::reports_in_scope(
        existing,
        &options.filters,
        options.shape,
        results_digested,
        outcome.policy_set_partial,
    );
    outcome.layout_switch_held = in_scope.layout_switch_held;
    let hold_writes = options.dry_run || outcome.layout_switch_held.is_some();

    // Per-resource reports are complete as soon as their resource is
    // evaluated: they are compared and written while the scan goes on, so
    // memory holds the pages in flight, not every report of the cluster.
    let writer = match sink_sender {
        Some(sink_sender) => {
            let (sender, writer) = if hold_writes {
                (None, None)
            } else {
                let (sender, receiver) =
                    mpsc::channel::<Outgoing>(options.write_concurrency.max(1) * 8);
                // Aborted when dropped: a scan stopped at its deadline
                // writes no more.
                let writer = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(write_stream(
                    store.clone(),
                    receiver,
                    options.write_concurrency,
                    options.progress.clone(),
                    carry_over.clone(),
                    schemas.clone(),
                )));
                (Some(sender), Some(writer))
            };
            let spill = if options.keep_printed_reports {
                Some(dry_run::ReportSpill::new().map_err(ScanError::DryRunSpill)?)
            } else {
                None
            };
            let sink = ReportSink::new(
                PerResource::new(in_scope.reports.clone(), schemas.clone(), results_digested),
                sender,
                spill,
            );
            // Fails only when the evaluation task is gone; `finish` reports
            // that as a failed listing of every kind.
            let _ = sink_sender.send(sink);
            writer
        }
        None => None,
    };
    let evaluated = running.finish().await;
    phases.mark("listed and evaluated");
    let (findings, sink) = outcome.record_evaluated(evaluated);
    let listing = listing_outcome(&outcome, &selection.not_listed);
    match sink {
        Some(sink) => finish_per_resource(sink, writer, &listing, &mut outcome).await?,
        None => {
            let shaped =
                reports::per_namespace(&findings, timestamp, &PerNamespaceOptions::default())?;
            let decisions =
                PerNamespace::new(in_scope.reports, schemas, outcome.policy_set_partial);
            decide_per_namespace(decisions, shaped, &listing, &options, &mut outcome);
            if !hold_writes {
                let tally = write_all(
                    &store,
                    std::mem::take(&mut outcome.reports_to_apply),
                    options.write_concurrency,
                    &options.progress,
                )
                .await;
                outcome.writes = tally.written;
                outcome.write_failures.extend(tally.failures);
                outcome.unwritten.extend(tally.failed);
            }
        }
    }
    outcome.audit.findings = findings;
    if !options.dry_run {
        drop_deleted_policies(
            &store,
            &mut outcome,
            existing_policies.as_ref(),
            options.write_concurrency,
            &options.progress,
        )
        .await;
        delete_stale(
            &store,
            &mut outcome,
            options.write_concurrency,
            &options.progress,
        )
        .await;
        leave_the_other_api(
            &client,
            &discovered,
            &options,
            &mut outcome,
            options.shape == ReportShape::PerNamespace,
        )
        .await;
    }
    phases.mark("written");
    outcome.phases = phases.marks;
    Ok(outcome)
}

/// The milliseconds since the scan started at the end of each phase,
/// logged and shown by the progress display as they end.
struct Phases {
    started: std::time::Instant,
    marks: Vec<(String, u64)>,
    progress: Arc<progress::ScanProgress>,
}

impl Phases {
    fn start(progress: Arc<progress::ScanProgress>) -> Phases {
        Phases {
            started: std::time::Instant::now(),
            marks: Vec::new(),
            progress,
        }
    }

    fn mark(&mut self, name: &str) {
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        tracing::info!(elapsed_ms, "{name}");
        self.marks.push((name.to_string(), elapsed_ms));
        self.progress.set_phase(name);
    }
}

impl ScanOutcome {
    /// Records what listing and evaluation gave; the findings (sorted by
    /// policy, rule and resource) and the per-resource sink leave.
    fn record_evaluated(
        &mut self,
        evaluated: evaluate::Evaluated,
    ) -> (Vec<Finding>, Option<ReportSink>) {
        self.listings = evaluated.listings;
        self.audit.resources_evaluated = evaluated.resources;
        self.status_counts = evaluated.status_counts;
        self.result_counts = evaluated.result_counts;
        self.objects_evaluated_by_kind = evaluated.objects_evaluated_by_kind;
        self.objects_by_namespace = Some(evaluated.objects_by_namespace);
        self.results_by_rule = evaluated.results_by_rule;
        self.kinds_by_rule = evaluated.kinds_by_rule;
        self.annotation_excused = evaluated.annotation_excused;
        self.reused = evaluated.reused;
        self.finding_view = evaluated
            .view
            .map(|(view, error)| (view::StreamedView(view), error));
        for listing in self.failed_listings() {
            if let Some(err) = &listing.error {
                // Debug: the run's problems say it, once per cause.
                tracing::debug!(kind = %listing.kind.display_name(), error = %err, "LIST failed; reports of this kind are left as they are");
            }
        }
        let mut findings: Vec<Finding> = evaluated.findings.into_values().flatten().collect();
        findings.sort_by(|a, b| {
            (&a.policy.name, &a.result.rule, &a.resource).cmp(&(
                &b.policy.name,
                &b.result.rule,
                &b.resource,
            ))
        });
        (findings, evaluated.sink)
    }
}

/// The end of a per-resource run: the sink's plan, its printed reports and
/// unsent reports, and what the writer (when writes were not held) wrote.
async fn finish_per_resource(
    mut sink: ReportSink,
    writer: Option<tokio_util::task::AbortOnDropHandle<write::WriteTally>>,
    listing: &ListingOutcome,
    outcome: &mut ScanOutcome,
) -> Result<(), ScanError> {
    // The writer finishes once the last sender is gone.
    sink.writer = None;
    if let Some(err) = sink.error {
        return Err(err.into());
    }
    if let Some(err) = sink.spill_error {
        return Err(ScanError::DryRunSpill(err));
    }
    outcome.plan = sink.decisions.finish(listing);
    outcome.printed_reports = sink.printed;
    outcome.write_failures.append(&mut sink.not_sent);
    outcome.unwritten.extend(std::mem::take(&mut sink.unsent));
    if let Some(writer) = writer {
        match writer.await {
            Ok(tally) => {
                outcome.writes = tally.written;
                outcome.results_kept = tally.results_kept;
                outcome.unchanged_after_carry_over = tally.unchanged_after_carry_over;
                outcome.write_failures.extend(tally.failures);
                outcome.unwritten.extend(tally.failed);
            }
            Err(err) => outcome.write_failures.push(ClusterError::Transport {
                what: "writing reports".into(),
                message: err.to_string(),
            }),
        }
    }
    Ok(())
}

/// The per-namespace decisions, carried into `outcome`: the reports to
/// apply (a dry run that prints reports keeps the unchanged too), the
/// rewrites held, the reports not sent, and the plan.
fn decide_per_namespace(
    mut decisions: PerNamespace,
    shaped: report_model::shape::ShapedReports,
    listing: &ListingOutcome,
    options: &ScanOptions,
    outcome: &mut ScanOutcome,
) {
    for decision in decisions.on_reports(wanted_reports(shaped), Vec::new()) {
        match decision {
            Decision::Write { key, report, .. } => outcome.reports_to_apply.push((key, report)),
            Decision::Unchanged { key, report } => {
                if options.dry_run && options.keep_printed_reports {
                    outcome.reports_to_apply.push((key, report));
                }
            }
            Decision::Held { .. } => outcome.rewrites_held += 1,
            Decision::NotSent { key, error } => {
                outcome.write_failures.push(not_sent(&key, error));
                outcome.unwritten.insert(key);
            }
        }
    }
    outcome.plan = decisions.finish(listing);
}

/// Which kinds' reports may be pruned: those listed completely, and those
/// no policy can match or left out by default (they are known to have no
/// results), but Secrets ([`selection::keeps_reports_when_excluded`]).
/// Kinds left out by filters or whose list failed are not in the set.
fn listing_outcome(
    outcome: &ScanOutcome,
    not_listed: &[(ApiResource, NotListed)],
) -> ListingOutcome {
    let mut listed: BTreeSet<(String, String)> = outcome
        .listings
        .iter()
        .filter(|l| l.error.is_none())
        .map(|l| (l.kind.group.clone(), l.kind.kind.clone()))
        .collect();
    let mut completed = listed.clone();
    completed.extend(
        not_listed
            .iter()
            .filter(|(kind, reason)| match reason {
                NotListed::NotTargeted => true,
                NotListed::ExcludedByDefault => !selection::keeps_reports_when_excluded(kind),
                _ => false,
            })
            .map(|(kind, _)| (kind.group.clone(), kind.kind.clone())),
    );
    // A kind listed in one group version but failing in another would be
    // ambiguous; failures win.
    for failed in outcome.failed_listings() {
        let kind = (failed.kind.group.clone(), failed.kind.kind.clone());
        completed.remove(&kind);
        listed.remove(&kind);
    }
    let filtered = not_listed
        .iter()
        .any(|(_, reason)| *reason == NotListed::Filtered);
    ListingOutcome {
        completed_kinds: completed,
        listed_kinds: listed,
        policies_incomplete: outcome.policy_set_partial,
        any_failed: !outcome.complete() || filtered,
        only_filtered: outcome.complete() && filtered,
    }
}

/// Problems to show besides the findings.
pub fn problems(outcome: &ScanOutcome) -> Vec<Problem> {
    let mut problems = outcome.audit.problems.clone();
    problems.extend(
        failures::summarize_listings(outcome.failed_listings())
            .into_iter()
            .map(Problem::note),
    );
    if let Some(kept) = outcome.layout_switch_held {
        problems.push(Problem::note(format!(
            "the switch of report layout waits for a run that reads every policy: the {kept} reports of the other layout are kept and this run wrote none"
        )));
    }
    problems.extend(
        failures::summarize(&outcome.other_failures)
            .into_iter()
            .chain(failures::summarize(&outcome.write_failures))
            .map(Problem::note),
    );
    problems
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};
    use std::sync::Arc;

    use super::evaluate::{object_reports, page_reports};
    use super::*;
    use crate::engine::policy::PolicyMeta;
    use crate::engine::{ResourceRef, RuleResult};
    use crate::reconcile::decide::write_beside_foreign;
    use crate::reconcile::wanted::Wanted;
    use serde_json::Value;

    fn finding(policy: &str, kind: &str, namespace: &str, name: &str, uid: &str) -> Finding {
        Finding {
            policy: Arc::new(PolicyMeta {
                kind: "ClusterPolicy".into(),
                name: policy.into(),
                namespace: None,
                annotations: BTreeMap::new(),
                process: "background scan",
            }),
            resource: ResourceRef {
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: namespace.into(),
                name: name.into(),
                uid: uid.into(),
            },
            origin: None,
            result: RuleResult::new(
                "check",
                RuleStatus::Fail,
                format!("{policy} on {name}"),
                "Audit",
            ),
        }
    }

    /// A page of objects, each with its findings.
    fn page() -> Vec<Vec<Finding>> {
        vec![
            vec![
                finding(
                    "require-team",
                    "Pod",
                    "shop",
                    "web",
                    "0b9f3c2e-0000-4222-8333-000000000001",
                ),
                finding(
                    "require-limits",
                    "Pod",
                    "shop",
                    "web",
                    "0b9f3c2e-0000-4222-8333-000000000001",
                ),
            ],
            Vec::new(),
            vec![finding(
                "require-team",
                "Namespace",
                "",
                "shop",
                "0b9f3c2e-0000-4222-8333-000000000002",
            )],
            // No UID: the report name is a digest.
            vec![finding("require-team", "ConfigMap", "shop", "settings", "")],
            vec![
                finding(
                    "require-limits",
                    "Pod",
                    "bank",
                    "api",
                    "0b9f3c2e-0000-4222-8333-000000000003",
                ),
                finding(
                    "require-team",
                    "Pod",
                    "bank",
                    "api",
                    "0b9f3c2e-0000-4222-8333-000000000003",
                ),
            ],
        ]
    }

    /// Keys, hashes and report bodies, in iteration order.
    fn contents(wanted: &Wanted) -> Vec<(ReportKey, String, Value)> {
        wanted
            .iter()
            .map(|(key, (hash, report))| {
                let body = serde_json::to_value(report).unwrap();
                (key.clone(), hash.clone(), body)
            })
            .collect()
    }

    /// The reports as shaping the whole page gives them (before this
    /// change, in the sink).
    fn shaped_at_once(found: &[Finding], timestamp: Timestamp) -> Wanted {
        wanted_reports(reports::per_resource(found, timestamp).unwrap())
    }

    #[test]
    fn per_object_reports_equal_the_page_s_with_a_foreign_name_clash() {
        let timestamp = Timestamp::now_seconds();
        let objects = page();
        let found: Vec<Finding> = objects.iter().flatten().cloned().collect();
        let mut expected = shaped_at_once(&found, timestamp);
        assert_eq!(expected.len(), 4, "one report per object with findings");
        // Another producer holds the name of the bank Pod's report.
        let clash = expected
            .keys()
            .find(|key| key.namespace == "bank")
            .cloned()
            .unwrap();
        let foreign: HashSet<ReportKey> = [clash.clone()].into_iter().collect();
        write_beside_foreign(&mut expected, &foreign);

        let per_object = objects
            .iter()
            .map(|found| object_reports(found, timestamp, None))
            .collect();
        let mut got = page_reports(per_object, &found, timestamp).unwrap();
        write_beside_foreign(&mut got, &foreign);

        assert_eq!(contents(&got), contents(&expected));
        let renamed = format!("polscan-{}", clash.name);
        assert!(got.keys().any(|key| key.name == renamed));
        assert!(!got.contains_key(&clash));
    }

    #[test]
    fn objects_giving_one_report_are_merged_as_the_page_merges_them() {
        let timestamp = Timestamp::now_seconds();
        // One resource split over two entries (as no LIST gives, but the
        // result must not depend on it).
        let web = |policy: &str| {
            finding(
                policy,
                "Pod",
                "shop",
                "web",
                "0b9f3c2e-0000-4222-8333-000000000001",
            )
        };
        let objects = [vec![web("require-team")], vec![web("require-limits")]];
        let found: Vec<Finding> = objects.iter().flatten().cloned().collect();
        let per_object = objects
            .iter()
            .map(|found| object_reports(found, timestamp, None))
            .collect();
        let got = page_reports(per_object, &found, timestamp).unwrap();
        assert_eq!(contents(&got), contents(&shaped_at_once(&found, timestamp)));
        let (_, report) = got.values().next().unwrap();
        let results = serde_json::to_value(report).unwrap()["results"].clone();
        assert_eq!(results.as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn a_failing_object_fails_the_page_as_shaping_it_at_once_does() {
        let timestamp = Timestamp::now_seconds();
        let mut objects = page();
        // Nameless: a report cannot be made for it.
        objects[4][1].resource.name = String::new();
        let found: Vec<Finding> = objects.iter().flatten().cloned().collect();
        let expected = reports::per_resource(&found, timestamp).unwrap_err();
        let per_object = objects
            .iter()
            .map(|found| object_reports(found, timestamp, None))
            .collect();
        let got = page_reports(per_object, &found, timestamp).unwrap_err();
        assert_eq!(got.to_string(), expected.to_string());
    }

    /// A plain scan leaves Secrets out but keeps their reports: a scan
    /// naming them (`--include-kinds Secret`) wrote those. Events' go.
    #[test]
    fn reports_of_secrets_left_out_by_default_are_not_pruned() {
        use crate::cluster::discovery::listable_for_tests;
        let not_listed = [
            (
                listable_for_tests("", "Secret"),
                NotListed::ExcludedByDefault,
            ),
            (
                listable_for_tests("", "Event"),
                NotListed::ExcludedByDefault,
            ),
        ];
        let listing = listing_outcome(&ScanOutcome::default(), &not_listed);
        assert!(listing
            .completed_kinds
            .contains(&(String::new(), "Event".to_string())));
        assert!(!listing
            .completed_kinds
            .contains(&(String::new(), "Secret".to_string())));
        assert!(!listing.any_failed);
    }
}
