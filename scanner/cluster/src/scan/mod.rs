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

pub mod dry_run;
pub use crate::evidence::exception_scope;
mod gate;
pub mod last_run;
pub mod metrics;
pub mod progress;
pub mod reuse;
pub mod selection;
mod tally;
pub use crate::evidence::shard;
pub mod view;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use futures::StreamExt;
use kube::Client;
use rayon::prelude::*;
use report_model::meta::Timestamp;
use report_model::schema::{ReportSchemas, SchemaError};
use report_model::shape::PerNamespaceOptions;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{AuditOutcome, Finding, PolicySet, Problem};
use crate::cluster::discovery::{self, ApiKind};
use crate::cluster::http_calls::HttpCaller;
use crate::cluster::listing::{self, ListEvent};
use crate::cluster::lookups::ApiLookups;
use crate::cluster::report_store::{self, ReportApi, ReportStore};
use crate::cluster::{policy_source, ClusterError};
use crate::engine::matching::string_map;
use crate::engine::resource_filters::ResourceFilters;
use crate::engine::{Engine, EngineOptions, Environment, RuleStatus};
use crate::loader::Document;
use crate::reconcile::decide::{self, Decision, PerNamespace, PerResource, ShapeDecisions};
use crate::reconcile::wanted::{wanted_reports, Wanted, WantedReport};
use crate::reconcile::{DesiredReport, ExistingReport, ListingOutcome, Plan, ReportKey};
use crate::reports;

pub use self::exception_scope::ExceptionScope;
use self::gate::SinkGate;
use self::progress::ScanProgress;
use self::selection::{NotListed, ScanFilters};
use self::tally::Tally;

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

#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Policies from files, evaluated besides the cluster's.
    pub policy_documents: Vec<Document>,
    /// Also read the policies stored in the cluster.
    pub cluster_policies: bool,
    pub filters: ScanFilters,
    pub shape: ReportShape,
    /// `--report-api`: the report API to write to; None for `auto`
    /// (wgpolicyk8s.io when served, else openreports.io).
    pub report_api: Option<ReportApi>,
    pub dry_run: bool,
    pub page_size: u32,
    /// Let policies make HTTP calls (`--allow-http`).
    pub allow_http: bool,
    /// The cluster's PolicyExceptions applied (`--exception-namespace`);
    /// those of `--policy` files always are.
    pub exceptions: ExceptionScope,
    pub list_concurrency: usize,
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
    pub kind: ApiKind,
    pub objects: usize,
    pub error: Option<ClusterError>,
}

/// What results are counted by: policy (`namespace/name` for namespaced
/// ones), its severity annotation, and the reported status.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResultKey {
    pub policy: String,
    pub severity: String,
    pub status: RuleStatus,
}

impl ResultKey {
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

#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Findings, problems and counts, as an offline audit gives them.
    pub audit: AuditOutcome,
    /// The report API the reports went to (or, in a dry run, would go to).
    pub report_api: ReportApi,
    /// polscan's reports deleted from the other report API (a move
    /// between APIs), included in `deletes`.
    pub other_api_deleted: usize,
    pub listings: Vec<KindListing>,
    /// Discovery failures and kinds of policies that could not be read.
    pub other_failures: Vec<ClusterError>,
    pub plan: Plan,
    /// The reports the plan applies (in a dry run, every per-namespace
    /// report the scan wants, for printing).
    pub reports_to_apply: Vec<(ReportKey, WantedReport)>,
    /// `--exception-namespace` named a namespace the cluster does not have.
    pub exception_namespace_missing: bool,
    /// Kyverno's resourceFilters the scan applied: where they came from
    /// (`namespace/name` of the ConfigMap) and how many; None when none.
    pub resource_filters: Option<(String, usize)>,
    /// Every per-resource report the scan wants (changed or not), when
    /// asked for (`keep_printed_reports`).
    pub printed_reports: Option<dry_run::ReportSpill>,
    pub writes: usize,
    pub deletes: usize,
    pub write_failures: Vec<ClusterError>,
    pub dry_run: bool,
    /// Results by status (kept even when findings are not).
    pub status_counts: BTreeMap<RuleStatus, usize>,
    /// Results by policy, severity and status (for metrics and the run
    /// record; kept even when findings are not).
    pub result_counts: BTreeMap<ResultKey, usize>,
    /// Milliseconds since the start at the end of each phase.
    pub phases: Vec<(String, u64)>,
    /// Some policy could not be read or loaded: nothing was pruned, and
    /// rewritten reports kept the stored results of policies missing from
    /// this run.
    pub policies_incomplete: bool,
    /// Results of missing policies carried over from stored reports into
    /// the reports rewritten in this run.
    pub results_kept: usize,
    /// Planned writes that turned out equal to the stored report once the
    /// missing policies' results were carried over (not written).
    pub unchanged_after_carry_over: usize,
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
    /// Objects some rule gave a result, by kind display name (a scan
    /// counts them; an audit's record derives them from its findings).
    pub objects_evaluated_by_kind: BTreeMap<String, usize>,
    /// Results by policy, rule and reported status (counted as above).
    pub results_by_rule: RuleCounts,
    /// Objects not evaluated again: unchanged since their stored report,
    /// as every policy is ([`reuse`]).
    pub reused: usize,
    /// `--namespace`: the only namespaces scanned (all when empty).
    pub namespaces: Vec<String>,
    /// `--exclude-namespaces`: namespaces left out.
    pub excluded_namespaces: Vec<String>,
    /// Content digest of each policy and exception document the run loaded,
    /// by [`last_run::document_key`].
    pub input_digests: BTreeMap<String, String>,
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
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("no policies: none in the cluster and none given with --policy")]
    NoPolicies,
    /// The server serves no report API to write to (or not the one
    /// `--report-api` names): what each lacks, and how to install one.
    #[error("{0}")]
    NoReportApi(String),
    #[error("shaping reports: {0}")]
    Shape(#[from] report_model::shape::ShapeError),
    #[error("encoding a report: {0}")]
    Encode(#[from] serde_json::Error),
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
}

/// Runs a scan.
pub async fn scan(client: Client, options: ScanOptions) -> Result<ScanOutcome, ScanError> {
    let mut outcome = ScanOutcome {
        dry_run: options.dry_run,
        namespaces: options.filters.namespaces.clone(),
        excluded_namespaces: options.filters.exclude_namespaces.clone(),
        exceptions: options.exceptions.clone(),
        settings: options.settings(),
        ..ScanOutcome::default()
    };
    let started = std::time::Instant::now();
    let mut phases: Vec<(String, u64)> = Vec::new();
    let mut phase = |name: &str| {
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(elapsed_ms, "{name}");
        phases.push((name.to_string(), elapsed_ms));
        options.progress.set_phase(name);
    };
    let discovered = Arc::new(discovery::discover(&client).await?);
    phase("discovered");
    // A misspelt kind to include would list less than meant (down to
    // nothing) under a record that reads complete: refused before anything
    // is read or written. When some group's discovery failed the kind may
    // be one of its own: the failure already makes the run incomplete, and
    // the names are warned about below.
    let unknown_kinds = options.filters.unknown_included_kinds(&discovered.kinds);
    if !unknown_kinds.is_empty() && discovered.failed.is_empty() {
        return Err(ScanError::UnknownNames(unknown_kinds));
    }
    // The report API, by discovery. A dry run writes nothing: without one
    // it checks its reports against polscan's own CRDs.
    let report_api = match report_store::resolve(options.report_api, &discovered) {
        Ok(api) => Some(api),
        Err(_) if options.dry_run => None,
        Err(why) => return Err(ScanError::NoReportApi(why)),
    };
    outcome.report_api = report_api.unwrap_or(options.report_api.unwrap_or_default());
    outcome.settings.insert(
        "--report-api".into(),
        outcome.report_api.api_version().to_string(),
    );
    let store = ReportStore::new(client.clone(), outcome.report_api);
    // The namespaces first: a shard (or --namespace) reads the stored
    // reports of its own namespaces only.
    let env = Arc::new(namespace_environment(&client).await?);
    // The existing reports (from the watch cache) are read while the
    // policies are read and compiled.
    let existing_reports = {
        let client = client.clone();
        let store = store.clone();
        let namespaces = options
            .filters
            .report_namespaces(env.namespace_labels.keys().map(String::as_str));
        tokio::spawn(async move {
            let Some(api) = report_api else {
                return Ok::<_, ClusterError>((None, Vec::new()));
            };
            let schemas = report_store::schemas(&client, api).await?;
            Ok((
                Some(schemas),
                store.list_existing(namespaces.as_deref()).await?,
            ))
        })
    };
    for (group_version, err) in &discovered.failed {
        // Said once, with the run's other problems (`problems`).
        tracing::debug!(%group_version, error = %err, "API group discovery failed; its kinds are not scanned");
        outcome.other_failures.push(err.clone());
    }

    let mut documents = options.policy_documents.clone();
    if options.cluster_policies {
        let mut read = policy_source::read_policies(&client, &discovered).await;
        // Kyverno's admission ignores the exceptions outside its
        // --exceptionNamespace (all of them by default): so does the scan.
        outcome.exceptions_not_applied = options
            .exceptions
            .keep_applied(&mut read.documents, |d| &d.value);
        documents.extend(read.documents);
        // A policy group whose discovery failed hides its policies too.
        for (group_version, _) in &discovered.failed {
            let (group, _) = crate::kinds::split_api_version(group_version);
            if policy_source::POLICY_KINDS.iter().any(|(g, _)| *g == group) {
                outcome.failed_policy_sources.push(group_version.clone());
            }
        }
        for (source, err) in read.failed {
            tracing::warn!(%source, error = %err, "policies could not be read");
            outcome.failed_policy_sources.push(source);
            outcome.other_failures.push(err);
        }
        outcome.policies_incomplete = !outcome.failed_policy_sources.is_empty();
    }
    phase("policies read");
    let mut set = PolicySet::load(&documents, false);
    // Kyverno's controllers leave expired CEL PolicyExceptions out
    // (`ListExceptions`, pkg/cel/engine/exception.go).
    let now = chrono::Utc::now();
    set.cel_exceptions.retain(|e| !e.is_expired(now));
    if set.is_empty() && set.problems.iter().all(|p| !p.invalid_policy) {
        return Err(ScanError::NoPolicies);
    }
    // A policy that could not be read (its kind's LIST or its group's
    // discovery failed) or loaded may have results in the stored reports
    // that this run cannot reproduce.
    outcome.policies_incomplete |= set.problems.iter().any(|p| p.invalid_policy);
    let policies_evaluated = set.len();

    let unknown_namespaces = options
        .filters
        .unknown_namespaces(env.namespace_labels.keys().map(String::as_str));
    if !unknown_namespaces.is_empty() {
        return Err(ScanError::UnknownNames(unknown_namespaces));
    }
    let resource_filters = match &options.kyverno_config {
        None => None,
        Some((namespace, name)) => match read_resource_filters(&client, namespace, name).await {
            Ok(Some(filters)) => Some(filters),
            // Named on purpose and not there: a typo or another release
            // name; scanning without them would not be what was asked.
            Ok(None) => {
                return Err(ScanError::KyvernoConfigMissing(format!(
                    "{namespace}/{name}"
                )));
            }
            // Without them more is evaluated than asked: said, and the run
            // is incomplete.
            Err(err) => {
                tracing::warn!(error = %err, "Kyverno's resourceFilters could not be read");
                outcome.other_failures.push(err);
                None
            }
        },
    };
    outcome.resource_filters = resource_filters
        .as_ref()
        .map(|(source, filters)| (source.clone(), filters.len()));
    let mut lookups = ApiLookups::new(
        client.clone(),
        tokio::runtime::Handle::current(),
        discovered.clone(),
    );
    if options.allow_http {
        lookups = lookups.with_http(HttpCaller::default());
    }
    // Inputs of every result besides the documents, for reuse keys.
    let reuse_inputs = vec![
        format!(
            "resourceFilters={:?}",
            resource_filters.as_ref().map(|(_, filters)| filters)
        ),
        format!(
            "celExceptions={:?}",
            set.cel_exceptions
                .iter()
                .map(|e| (&e.namespace, &e.name))
                .collect::<Vec<_>>()
        ),
        format!("allowHttp={}", options.allow_http),
    ];
    let (engine, problems) = set.into_engine(
        EngineOptions {
            background_only: true,
            equivalent_versions: true,
            all_policies_known: !outcome.policies_incomplete,
            resource_filters: resource_filters.map(|(_, filters)| Arc::new(filters)),
        },
        Arc::new(lookups),
    );
    outcome.audit.problems = problems;
    // Said once, among the problems every output prints.
    if let Some(message) = options
        .exceptions
        .held_back_message(&outcome.exceptions_not_applied)
    {
        tracing::info!("{message}");
        outcome.audit.problems.push(Problem {
            origin: None,
            message,
            invalid_policy: false,
        });
    }
    // A misspelt filter scans less (or more) than meant: said, not guessed.
    let mut unmatched = unknown_kinds;
    // A policy file of a kind this cluster does not serve is evaluated (an
    // audit of what it would do) but nothing here enforces it: said now,
    // not only in the evidence.
    let unserved = discovered.unserved_policy_kinds();
    for document in &options.policy_documents {
        let kind = document
            .value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some((group, enforcer)) =
            crate::evidence::policy_kind_group(kind).filter(|_| unserved.contains(&kind))
        else {
            continue;
        };
        let name = document
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        unmatched.push(format!(
            "{kind} {name} (a --policy file): this cluster does not serve {kind} ({group}), so nothing here would enforce it — that needs {enforcer}"
        ));
    }
    unmatched.extend(options.filters.unmatched(
        &discovered.kinds,
        env.namespace_labels.keys().map(String::as_str),
    ));
    if let ExceptionScope::Namespace { namespace } = &options.exceptions {
        if namespace != "*" && !env.namespace_labels.contains_key(namespace) {
            outcome.exception_namespace_missing = true;
            unmatched.push(format!(
                "--exception-namespace {namespace}: no such namespace in the cluster, so no PolicyException is applied"
            ));
        }
    }
    for message in unmatched {
        // Printed once, with the problems (not also as a log line).
        tracing::debug!("{message}");
        outcome.audit.problems.push(Problem {
            origin: None,
            message,
            invalid_policy: false,
        });
    }
    outcome.audit.policies_evaluated = policies_evaluated;
    outcome.input_digests = documents
        .iter()
        .filter_map(|doc| last_run::DocumentDigest::of(&doc.value))
        .map(|read| (read.key, read.digest))
        .collect();
    let loaded = engine.policy_names();
    outcome.invalid_policies = not_loaded(&documents, &loaded);
    // Set only when some policy is missing: rewritten reports then carry
    // over the stored results of every policy not in this set.
    let carry_over = outcome.policies_incomplete.then(|| Arc::new(loaded));
    let keep_findings = options.keep_findings || options.shape == ReportShape::PerNamespace;
    // Stored reports stand for their objects' evaluation only when the
    // output needs neither every finding nor every report. The inputs are
    // the documents that loaded: one that did not gives no result, so
    // removing it (or adding one) changes no report. A run that lacks some
    // policy reuses only reports made without them too; results carried
    // over from those policies stay in the reports as stored.
    let loaded_documents = documents.iter().map(|doc| &doc.value).filter(|value| {
        policy_name(value).is_none_or(|name| !outcome.invalid_policies.contains(&name))
    });
    let reuse = match options.shape {
        ReportShape::PerNamespace => ReuseMode::Off,
        ReportShape::PerResource => {
            match reuse::Reuse::new(loaded_documents, &reuse_inputs, engine.policy_metas()) {
                Ok(reuse)
                    if keep_findings
                        || options.keep_printed_reports
                        || options.finding_view.is_some() =>
                {
                    ReuseMode::Label(Arc::new(reuse))
                }
                Ok(reuse) => ReuseMode::Stored(Arc::new(reuse)),
                Err(why) => {
                    tracing::info!("every object is evaluated: {why}, whose results may change without the object changing");
                    ReuseMode::Off
                }
            }
        }
    };
    let engine = Arc::new(engine);

    let selection = selection::select(&discovered.kinds, &options.filters, &engine.target_kinds());
    // A policy whose kinds the server does not serve evaluates nothing:
    // say so now, not only in the evidence.
    for (policy, targets) in engine.target_kinds_by_policy() {
        let served = discovered.kinds.iter().any(|kind| {
            targets.includes(&crate::engine::target_kinds::DiscoveredKind {
                group: &kind.group,
                version: &kind.version,
                kind: &kind.kind,
                plural: &kind.plural,
            })
        });
        if !targets.is_empty() && !served {
            outcome.audit.problems.push(Problem {
                origin: None,
                message: format!(
                    "policy {policy} matches no kind this server serves: nothing is evaluated for it"
                ),
                invalid_policy: false,
            });
        }
    }
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
    phase("existing reports read");
    options.progress.set_phase("listing and evaluating");
    // Reports outside the namespaces scanned (or another shard's) are
    // neither written nor pruned, nor can one of ours collide with them:
    // they are dropped here.
    let per_namespace_reports = options.shape == ReportShape::PerNamespace;
    let mut in_scope: Vec<ExistingReport> = existing
        .into_iter()
        .filter(|report| options.filters.covers_report(report, per_namespace_reports))
        .map(|mut report| {
            // Held for the whole scan, one per object: the annotation is
            // most of a stored report's metadata.
            if results_digested {
                report.results_by_rule = report.results_by_rule.as_deref().map(decide::digest_of);
            }
            report
        })
        .collect();
    // Sorted by key and shared with the sink, which looks reports up in it
    // instead of keeping a second map of every key and hash.
    in_scope.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let in_scope = Arc::new(in_scope);
    // A layout switch (--report-per) waits for a run that reads every
    // policy: such a run keeps the other layout's reports, and writing the
    // new layout beside them would show every result twice.
    let other_layout = in_scope
        .iter()
        .filter(|r| r.managed_by_polscan())
        .filter(|r| r.shape.as_deref() != Some(options.shape.label()))
        .count();
    outcome.layout_switch_held =
        (outcome.policies_incomplete && other_layout > 0).then_some(other_layout);
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
                let writer = tokio::spawn(write_stream(
                    store.clone(),
                    receiver,
                    options.write_concurrency,
                    options.progress.clone(),
                    carry_over.clone(),
                    schemas.clone(),
                ));
                (Some(sender), Some(writer))
            };
            let spill = if options.keep_printed_reports {
                Some(dry_run::ReportSpill::new().map_err(ScanError::DryRunSpill)?)
            } else {
                None
            };
            let sink = ReportSink::new(
                PerResource::new(in_scope.clone(), schemas.clone(), results_digested),
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
    phase("listed and evaluated");
    outcome.listings = evaluated.listings;
    outcome.audit.resources_evaluated = evaluated.resources;
    outcome.status_counts = evaluated.status_counts;
    outcome.result_counts = evaluated.result_counts;
    outcome.objects_evaluated_by_kind = evaluated.objects_evaluated_by_kind;
    outcome.results_by_rule = evaluated.results_by_rule;
    outcome.reused = evaluated.reused;
    outcome.finding_view = evaluated
        .view
        .map(|(view, error)| (view::StreamedView(view), error));
    for listing in outcome.failed_listings() {
        if let Some(err) = &listing.error {
            tracing::error!(kind = %listing.kind.display_name(), error = %err, "LIST failed; reports of this kind are left as they are");
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
    let listing = listing_outcome(&outcome, &selection.not_listed);
    match evaluated.sink {
        Some(mut sink) => {
            // The writer finishes once the last sender is gone.
            sink.writer = None;
            if let Some(err) = sink.error {
                return Err(err.into());
            }
            if let Some(err) = sink.spill_error {
                return Err(ScanError::DryRunSpill(err));
            }
            outcome.plan = sink.decisions.finish(&listing);
            outcome.printed_reports = sink.printed;
            outcome.write_failures.append(&mut sink.not_sent);
            if let Some(writer) = writer {
                match writer.await {
                    Ok(tally) => {
                        outcome.writes = tally.written;
                        outcome.results_kept = tally.results_kept;
                        outcome.unchanged_after_carry_over = tally.unchanged_after_carry_over;
                        outcome.write_failures.extend(tally.failures);
                    }
                    Err(err) => outcome.write_failures.push(ClusterError::Transport {
                        what: "writing reports".into(),
                        message: err.to_string(),
                    }),
                }
            }
        }
        None => {
            let shaped =
                reports::per_namespace(&findings, timestamp, &PerNamespaceOptions::default())?;
            let mut decisions = PerNamespace::new(
                in_scope.clone(),
                schemas.clone(),
                outcome.policies_incomplete,
            );
            for decision in decisions.on_reports(wanted_reports(shaped), Vec::new()) {
                match decision {
                    Decision::Write { key, report, .. } => {
                        outcome.reports_to_apply.push((key, report))
                    }
                    // A dry run prints every report, changed or not.
                    Decision::Unchanged { key, report } => {
                        if options.dry_run && options.keep_printed_reports {
                            outcome.reports_to_apply.push((key, report));
                        }
                    }
                    Decision::Held { .. } => outcome.rewrites_held += 1,
                    Decision::NotSent { key, error } => {
                        outcome.write_failures.push(not_sent(&key, error))
                    }
                }
            }
            outcome.plan = decisions.finish(&listing);
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
            }
        }
    }
    outcome.audit.findings = findings;
    if !options.dry_run {
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
            per_namespace_reports,
        )
        .await;
    }
    phase("written");
    outcome.phases = phases;
    Ok(outcome)
}

/// Report names (`namespace/name` for namespaced kinds) of the policy
/// documents that did not load, sorted.
fn not_loaded(documents: &[Document], loaded: &BTreeSet<String>) -> Vec<String> {
    let names: BTreeSet<String> = documents
        .iter()
        .filter_map(|doc| policy_name(&doc.value))
        .filter(|name| !loaded.contains(name))
        .collect();
    names.into_iter().collect()
}

/// The report name (`namespace/name` for namespaced kinds) of a policy
/// document; None for other documents (exceptions).
fn policy_name(document: &Value) -> Option<String> {
    const POLICY_KINDS: [&str; 5] = [
        "ClusterPolicy",
        "Policy",
        "ValidatingPolicy",
        "NamespacedValidatingPolicy",
        "ValidatingAdmissionPolicy",
    ];
    let text = |pointer: &str| {
        document
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    if !POLICY_KINDS.contains(&text("/kind")) {
        return None;
    }
    Some(
        match (text("/metadata/namespace"), text("/metadata/name")) {
            ("", name) => name.to_string(),
            (namespace, name) => format!("{namespace}/{name}"),
        },
    )
}

/// Namespace labels (for `namespaceSelector`) and objects (for CEL's
/// `namespaceObject`), read once.
/// Kyverno's `resourceFilters` from its ConfigMap (`INIT_CONFIG` in
/// Kyverno's namespace, `kyverno/kyverno` by default): the source and the
/// filters, or None when there is no such ConfigMap.
async fn read_resource_filters(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<(String, ResourceFilters)>, ClusterError> {
    let path = format!("/api/v1/namespaces/{namespace}/configmaps");
    let found =
        crate::cluster::absent_if_not_found(crate::cluster::get(client, &path, name).await)?;
    Ok(found.map(|config_map| {
        let text = config_map
            .pointer("/data/resourceFilters")
            .and_then(Value::as_str)
            .unwrap_or_default();
        (format!("{namespace}/{name}"), ResourceFilters::parse(text))
    }))
}

async fn namespace_environment(client: &Client) -> Result<Environment, ClusterError> {
    let mut env = Environment::default();
    let mut token: Option<String> = None;
    loop {
        let mut params = kube::api::ListParams::default().limit(500);
        if let Some(token) = &token {
            params = params.continue_token(token);
        }
        let mut page = listing::list_page(client, "/api/v1/namespaces", &params).await?;
        if let Some(Value::Array(items)) = page.get_mut("items").map(Value::take) {
            for mut namespace in items {
                if let Value::Object(object) = &mut namespace {
                    object.insert("apiVersion".into(), "v1".into());
                    object.insert("kind".into(), "Namespace".into());
                }
                let Some(name) = namespace
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                else {
                    continue;
                };
                env.namespace_labels.insert(
                    name.clone(),
                    string_map(namespace.pointer("/metadata/labels")),
                );
                env.namespace_objects.insert(name, namespace);
            }
        }
        token = page
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            return Ok(env);
        }
    }
}

type FindingsByKind = BTreeMap<usize, Vec<Finding>>;

/// What listing and evaluation produced.
struct Evaluated {
    findings: FindingsByKind,
    listings: Vec<KindListing>,
    resources: usize,
    status_counts: BTreeMap<RuleStatus, usize>,
    result_counts: BTreeMap<ResultKey, usize>,
    objects_evaluated_by_kind: BTreeMap<String, usize>,
    results_by_rule: RuleCounts,
    /// Objects whose stored report was reused instead of evaluating them.
    reused: usize,
    sink: Option<ReportSink>,
    /// The output view the findings went to, and the first error keeping
    /// them.
    view: Option<(Box<dyn view::FindingView>, Option<std::io::Error>)>,
}

/// An evaluated object's place in the output view's order and its
/// records there.
type ViewRecords = (u64, std::io::Result<Vec<view::ViewRecord>>);

/// Results by policy, rule and reported status.
pub type RuleCounts = BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>;

/// Per-resource reports made page by page, decided by
/// [`PerResource`] (compared with the stored ones) and carried out here:
/// changed ones are handed to the writer, and every one that fits its CRD
/// is kept for printing when asked.
struct ReportSink {
    decisions: PerResource,
    writer: Option<mpsc::Sender<Outgoing>>,
    /// Every report, kept for printing when asked.
    printed: Option<dry_run::ReportSpill>,
    error: Option<report_model::shape::ShapeError>,
    spill_error: Option<std::io::Error>,
    /// Reports not sent because they do not fit the CRD schema; their
    /// stored version is kept (they are wanted, so nothing prunes it).
    not_sent: Vec<ClusterError>,
}

impl ReportSink {
    fn new(
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
        }
    }

    /// Takes one page's reports (shaped by [`page_reports`]) and carries
    /// out what [`PerResource`] decides for each.
    fn accept(&mut self, page: PageReports) {
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
fn object_reports(
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
    let shaped = report_model::shape::per_resource_with_metadata(
        reports::scoped_results(findings, timestamp),
        &[],
        &[(report_model::shape::RESULTS_ANNOTATION, results.as_str())],
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
struct PageReports {
    wanted: Result<Wanted, report_model::shape::ShapeError>,
    reused: Vec<DesiredReport>,
}

/// A page's reports from its objects' ([`object_reports`]), equal to
/// shaping the page's `findings` at once: that is done instead when an
/// object failed (so the error names the same result) or two objects gave
/// one report key (shaping the page merges them).
fn page_reports(
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
const HELD_PAGES: usize = 2;

/// Listed pages a reusing run takes ahead while the stored reports are
/// still read (as text: about 1 MB a page of 500 objects).
const READ_AHEAD_PAGES: usize = 24;

/// What the evaluation of the pages ([`evaluate_pages`]) hands back: the
/// counts ([`Tally`]), the report sink and the output view.
#[derive(Default)]
struct EvaluationTally {
    tally: Tally,
    sink: Option<ReportSink>,
    view: Option<(Box<dyn view::FindingView>, Option<std::io::Error>)>,
}

/// Whether a run labels its per-resource reports for reuse, and also
/// reuses the stored ones ([`reuse`]).
enum ReuseMode {
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
    fn labels(&self) -> Option<&reuse::Reuse> {
        match self {
            ReuseMode::Off => None,
            ReuseMode::Label(reuse) | ReuseMode::Stored(reuse) => Some(reuse),
        }
    }
}

/// One listed object: its findings, or the stored report that stands for
/// them, with its results as decoded.
enum Object<'a> {
    Evaluated(Vec<Finding>),
    Reused(&'a ExistingReport, reuse::StoredResults<'a>),
}

/// The report in `stored` (sorted by key) that can stand for `resource`'s
/// evaluation under `inputs`, with its results, if one can.
fn reused<'a>(
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
struct PageEvaluation {
    engine: Arc<Engine>,
    env: Arc<Environment>,
    filters: ScanFilters,
    /// `--report-per namespace` (a shard's cluster-scoped objects depend
    /// on it: [`shard`]).
    per_namespace_reports: bool,
    progress: Arc<ScanProgress>,
    gate: Option<SinkGate<ReportSink, PageReports>>,
    view: Option<Box<dyn view::FindingView>>,
    timestamp: Timestamp,
    keep_findings: bool,
    reuse: ReuseMode,
    /// The kind of each LIST (its number in the scan's kinds).
    listing_kinds: Arc<Vec<usize>>,
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
fn listing_jobs<'a>(
    kinds: &[ApiKind],
    filters: &ScanFilters,
    namespaces: impl Iterator<Item = &'a str>,
) -> Vec<(usize, ApiKind, Option<String>)> {
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
fn evaluate_pages(
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
                        let text = |pointer| item.pointer(pointer).and_then(Value::as_str);
                        filters.covers_object(
                            crate::kinds::group_of(text("/apiVersion").unwrap_or_default()),
                            text("/kind").unwrap_or_default(),
                            text("/metadata/namespace").unwrap_or_default(),
                            text("/metadata/name").unwrap_or_default(),
                            per_namespace_reports,
                        )
                    })
                    .collect();
                tally.tally.on_page(listing, in_scope.len());
                progress.evaluated(in_scope.len());
                let shape = gate.is_some();
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
                        let found = evaluate(&engine, &env, resource);
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
                progress.list_finished();
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
struct Running {
    listers: tokio::task::JoinHandle<()>,
    evaluation: tokio::task::JoinHandle<EvaluationTally>,
    listings: Vec<KindListing>,
    jobs_per_kind: BTreeMap<usize, usize>,
    /// The kind (its number in `listings`) of each LIST.
    listing_kinds: Arc<Vec<usize>>,
    /// A shard counts the objects of its partition, not all it listed.
    count_owned: bool,
}

/// Starts listing the kinds (`list_concurrency` at a time) while a
/// blocking task evaluates each page in parallel as it arrives and, with a
/// `gate` (per-resource reports), shapes each object's reports there too;
/// the pages' reports go to the sink once it comes through the gate.
#[allow(clippy::too_many_arguments)]
fn start_listing(
    client: &Client,
    kinds: &[ApiKind],
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
    let listers = tokio::spawn(async move {
        futures::stream::iter(jobs.into_iter().enumerate())
            .map(|(listing, (_, kind, namespace))| {
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
    });

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
    fn abort(self) {
        self.listers.abort();
    }

    /// Waits for the lists and the evaluation to end.
    async fn finish(self) -> Evaluated {
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
                    results_by_rule: BTreeMap::new(),
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
fn fold_listings(
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
        results_by_rule: counted.results_by_rule,
        reused: counted.reused,
        sink,
        view,
    }
}

fn evaluate(engine: &Engine, env: &Environment, resource: &Value) -> Vec<Finding> {
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

/// A report that does not fit its CRD schema, as the run's failure (logged once).
fn not_sent(key: &ReportKey, err: SchemaError) -> ClusterError {
    let what = if key.cluster_scoped {
        format!("ClusterPolicyReport {}", key.name)
    } else {
        format!("PolicyReport {}/{}", key.namespace, key.name)
    };
    tracing::error!(report = %what, error = %err, "report does not fit its CRD schema; not written, the stored one is kept");
    ClusterError::NotSent {
        what,
        message: err.to_string(),
    }
}

/// Which kinds' reports may be pruned: those listed completely, and those
/// no policy can match (they are known to have no results). Kinds left out
/// by filters or whose list failed are not in the set.
fn listing_outcome(outcome: &ScanOutcome, not_listed: &[(ApiKind, NotListed)]) -> ListingOutcome {
    let mut completed: BTreeSet<(String, String)> = outcome
        .listings
        .iter()
        .filter(|l| l.error.is_none())
        .map(|l| (l.kind.group.clone(), l.kind.kind.clone()))
        .collect();
    completed.extend(
        not_listed
            .iter()
            .filter(|(_, reason)| {
                matches!(
                    reason,
                    NotListed::NotTargeted | NotListed::ExcludedByDefault
                )
            })
            .map(|(kind, _)| (kind.group.clone(), kind.kind.clone())),
    );
    // A kind listed in one group version but failing in another would be
    // ambiguous; failures win.
    for failed in outcome.failed_listings() {
        completed.remove(&(failed.kind.group.clone(), failed.kind.kind.clone()));
    }
    ListingOutcome {
        completed_kinds: completed,
        policies_incomplete: outcome.policies_incomplete,
        any_failed: !outcome.complete()
            || not_listed
                .iter()
                .any(|(_, reason)| *reason == NotListed::Filtered),
    }
}

/// A report on its way to the writer.
struct Outgoing {
    key: ReportKey,
    report: WantedReport,
    /// A polscan report of this name is stored already.
    stored: bool,
}

/// What the writers did.
#[derive(Debug, Default)]
struct WriteTally {
    written: usize,
    results_kept: usize,
    unchanged_after_carry_over: usize,
    failures: Vec<ClusterError>,
}

/// Writes one report. With `carry_over` (the policies this run has, set
/// when some policy is missing) a stored report is read first and its
/// results of every other policy are kept in the new one, so a run that
/// lacks a policy never rewrites that policy's evidence away; when the
/// merged report equals the stored one, nothing is written. Returns whether
/// it wrote and how many results it carried over.
async fn apply_one(
    store: &ReportStore,
    outgoing: Outgoing,
    progress: &ScanProgress,
    carry_over: Option<(&BTreeSet<String>, &ReportSchemas)>,
) -> Result<(bool, usize), ClusterError> {
    let Outgoing {
        key,
        mut report,
        stored,
    } = outgoing;
    let mut kept = 0;
    if let (Some((loaded, schemas)), true) = (carry_over, stored) {
        if let Some(existing) = store.get(&key).await? {
            kept = report
                .carry_over(&existing, loaded)
                .map_err(|err| ClusterError::Transport {
                    what: format!("reading the stored results of report {}", key.name),
                    message: err.to_string(),
                })?;
            if kept > 0 && report.content_hash() == stored_hash(&existing) {
                return Ok((false, kept));
            }
            report
                .check_schema(schemas)
                .map_err(|err| not_sent(&key, err))?;
        }
    }
    match &report {
        WantedReport::Namespaced(report) => store.apply(&key, report).await?,
        WantedReport::Cluster(report) => store.apply(&key, report).await?,
    }
    progress.written();
    Ok((true, kept))
}

fn stored_hash(stored: &Value) -> Option<String> {
    stored
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(report_model::CONTENT_HASH_ANNOTATION))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Applies reports as they arrive on `reports`, `concurrency` at a time.
async fn write_stream(
    store: ReportStore,
    reports: mpsc::Receiver<Outgoing>,
    concurrency: usize,
    progress: Arc<ScanProgress>,
    carry_over: Option<Arc<BTreeSet<String>>>,
    schemas: Arc<ReportSchemas>,
) -> WriteTally {
    let incoming = futures::stream::unfold(reports, |mut reports| async move {
        reports.recv().await.map(|item| (item, reports))
    });
    let results = incoming
        .map(|outgoing| {
            let store = store.clone();
            let progress = progress.clone();
            let carry_over = carry_over.clone();
            let schemas = schemas.clone();
            async move {
                let carry_over = carry_over.as_deref().map(|loaded| (loaded, &*schemas));
                apply_one(&store, outgoing, &progress, carry_over).await
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    tally(results)
}

async fn write_all(
    store: &ReportStore,
    reports: Vec<(ReportKey, WantedReport)>,
    concurrency: usize,
    progress: &ScanProgress,
) -> WriteTally {
    let results = futures::stream::iter(reports)
        .map(|(key, report)| {
            let outgoing = Outgoing {
                key,
                report,
                stored: false,
            };
            apply_one(store, outgoing, progress, None)
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    tally(results)
}

fn tally(results: Vec<Result<(bool, usize), ClusterError>>) -> WriteTally {
    let mut tally = WriteTally::default();
    for result in results {
        match result {
            Ok((written, kept)) => {
                tally.written += usize::from(written);
                tally.results_kept += kept;
                tally.unchanged_after_carry_over += usize::from(!written && kept > 0);
            }
            Err(err) => tally.failures.push(err),
        }
    }
    tally
}

async fn delete_stale(
    store: &ReportStore,
    outcome: &mut ScanOutcome,
    concurrency: usize,
    progress: &ScanProgress,
) {
    let tally = delete_all(store, &outcome.plan.delete, concurrency, progress).await;
    outcome.deletes = tally.written;
    outcome.write_failures.extend(tally.failures);
}

/// Deletes `keys` from `store`, `concurrency` at a time.
async fn delete_all(
    store: &ReportStore,
    keys: &[ReportKey],
    concurrency: usize,
    progress: &ScanProgress,
) -> WriteTally {
    let results = futures::stream::iter(keys)
        .map(|key| async move {
            store.delete(key).await?;
            progress.deleted();
            Ok((true, 0))
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    tally(results)
}

/// After a move to the other report API (`--report-api`, or `auto` once
/// the other was installed), polscan's reports left in the API no longer
/// written would be read beside the new ones. Once a complete run, with
/// every policy, has written all of its reports to the API in use, those
/// this run covers (its namespaces, its shard) are deleted from the other,
/// by the same rule as stale reports: a run that missed anything keeps
/// them.
async fn leave_the_other_api(
    client: &Client,
    discovered: &discovery::Discovered,
    options: &ScanOptions,
    outcome: &mut ScanOutcome,
    per_namespace_reports: bool,
) {
    let other = outcome.report_api.other();
    if !outcome.complete()
        || outcome.policies_incomplete
        || report_store::served(discovered, other).is_err()
    {
        return;
    }
    let store = ReportStore::new(client.clone(), other);
    // Only polscan's, selected by the server: the other API may hold many
    // reports of another producer (Kyverno's), read for nothing otherwise.
    let left = match store.list_polscan_reports().await {
        Ok(left) => left,
        Err(err) => {
            outcome.write_failures.push(err);
            return;
        }
    };
    let stale: Vec<ReportKey> = left
        .into_iter()
        // Checked again: deleting another producer's report is never right.
        .filter(|r| r.managed_by_polscan())
        .filter(|r| options.filters.covers_report(r, per_namespace_reports))
        .map(|r| r.key)
        .collect();
    if stale.is_empty() {
        return;
    }
    tracing::info!(
        count = stale.len(),
        api = other.api_version(),
        "deleting polscan's reports left in the report API no longer written to"
    );
    let tally = delete_all(&store, &stale, options.write_concurrency, &options.progress).await;
    outcome.deletes += tally.written;
    outcome.other_api_deleted = tally.written;
    outcome.write_failures.extend(tally.failures);
}

/// Problems to show besides the findings.
pub fn problems(outcome: &ScanOutcome) -> Vec<Problem> {
    let mut problems = outcome.audit.problems.clone();
    for listing in outcome.failed_listings() {
        if let Some(err) = &listing.error {
            problems.push(Problem {
                origin: None,
                message: format!("{} not scanned: {err}", listing.kind.display_name()),
                invalid_policy: false,
            });
        }
    }
    if let Some(kept) = outcome.layout_switch_held {
        problems.push(Problem {
            origin: None,
            message: format!(
                "the switch of report layout waits for a run that reads every policy: the {kept} reports of the other layout are kept and this run wrote none"
            ),
            invalid_policy: false,
        });
    }
    for err in outcome.other_failures.iter().chain(&outcome.write_failures) {
        problems.push(Problem {
            origin: None,
            message: err.to_string(),
            invalid_policy: false,
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};
    use std::sync::Arc;

    use super::*;
    use crate::engine::policy::PolicyMeta;
    use crate::engine::{ResourceRef, RuleResult};
    use crate::reconcile::decide::write_beside_foreign;

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
            result: RuleResult {
                rule: "check".into(),
                status: RuleStatus::Fail,
                message: format!("{policy} on {name}"),
                action: "Audit".into(),
                properties: BTreeMap::new(),
                skip_reason: None,
                before_exceptions: false,
            },
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
}

#[cfg(test)]
mod listing_tests {
    use serde_json::json;

    use super::*;
    use crate::cluster::listing::RawPage;
    use crate::engine::policy::Policy;

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
        let (sender, receiver) = mpsc::channel(events.len().max(1));
        for event in events {
            sender.try_send(event).unwrap_or_else(|err| panic!("{err}"));
        }
        drop(sender);
        let listing_kinds = Arc::new(vec![0, 0]);
        let pages = PageEvaluation {
            engine: Arc::new(Engine::new(vec![policy], EngineOptions::default())),
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
            kind: ApiKind::listable_for_tests("", "Pod"),
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
            page: RawPage::new(&ApiKind::listable_for_tests("", "Pod"), texts),
        }
    }

    fn finished(listing: usize, objects: usize) -> ListEvent {
        ListEvent::Finished {
            listing,
            outcome: Ok(objects),
        }
    }

    #[test]
    fn a_shard_lists_its_own_namespaces_one_at_a_time() {
        let kinds = [
            ApiKind::listable_for_tests("", "Pod"),
            ApiKind {
                namespaced: false,
                ..ApiKind::listable_for_tests("", "Namespace")
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
