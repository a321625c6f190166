//! The scan's I/O before listing: discovery, the report API, the
//! namespaces, the policies (the cluster's and the files'), Kyverno's
//! resourceFilters and the engine; the stored reports start being read.
//! A client and the [`ScanOptions`] enter; a [`Prepared`] leaves (what
//! listing and writing need), and what was found (failures, problems,
//! digests) is recorded in the [`ScanOutcome`]. What it decides without
//! I/O is in [`super::setup`].

use std::collections::BTreeSet;
use std::sync::Arc;

use kube::Client;
use polscan_engine::ValueExt;
use report_model::schema::ReportSchemas;
use serde_json::Value;

use crate::audit::{PolicySet, Problem};
use crate::cluster::discovery::{self, Discovered};
use crate::cluster::http_calls::HttpCaller;
use crate::cluster::listing;
use crate::cluster::lookups::ApiLookups;
use crate::cluster::report_store::{self, ReportStore};
use crate::cluster::{policy_source, ClusterError};
use crate::engine::matching::string_map;
use crate::engine::resource_filters::ResourceFilters;
use crate::engine::{Engine, EngineOptions, Environment};
use crate::evidence::ingest::policy_info::POLICY_DOCUMENT_KINDS;
use crate::loader::Document;
use crate::reconcile::deleted_policies::{existing_policies, ExistingPolicies};
use crate::reconcile::ExistingReport;

use super::evaluate::ReuseMode;
use super::{last_run, selection, setup, Phases, ReportShape, ScanError, ScanOptions, ScanOutcome};

/// What [`prepare`] leaves for the listing and writing.
pub(super) struct Prepared {
    pub(super) discovered: Arc<Discovered>,
    pub(super) store: ReportStore,
    pub(super) env: Arc<Environment>,
    /// The stored reports (with the CRDs' schemas), being read meanwhile.
    pub(super) existing_reports: ExistingReportsRead,
    pub(super) engine: Arc<Engine>,
    pub(super) reuse: ReuseMode,
    pub(super) selection: selection::Selection,
    /// Set only when some policy is missing: rewritten reports then carry
    /// over the stored results of every policy not in this set.
    pub(super) carry_over: Option<Arc<BTreeSet<String>>>,
    /// Keep every finding (the output needs them, or per-namespace
    /// reports are shaped from them).
    pub(super) keep_findings: bool,
    /// The policies known to exist, set only when every policy source was
    /// read completely ([`existing_policies`]): the reports this run keeps
    /// are rewritten without the results of any other.
    pub(super) existing_policies: Option<ExistingPolicies>,
}

/// The task reading the stored reports: the report CRDs' schemas (None in
/// a dry run without a report API) and the reports.
pub(super) type ExistingReportsRead =
    tokio::task::JoinHandle<Result<(Option<ReportSchemas>, Vec<ExistingReport>), ClusterError>>;

/// The names `filters` give (`--include-kinds`, `--namespace`) that match
/// nothing on the server, found before a recorded scan waits for its Lease
/// or touches its record: a mistyped CronJob otherwise waited up to the
/// lock timeout behind another scan (or failed on the Lease) before being
/// told. Only the lookups a filter needs are made (discovery, the
/// Namespaces' LIST); one that fails is left to the scan, which meets it
/// again and says so. Errors: [`ScanError::UnknownNames`].
pub async fn check_names(
    client: &Client,
    filters: &selection::ScanFilters,
) -> Result<(), ScanError> {
    if !filters.include_kinds.is_empty() {
        if let Ok(discovered) = discovery::discover(client).await {
            let unknown = filters.unknown_included_kinds(&discovered.kinds);
            // A group whose discovery failed may serve the kind.
            if !unknown.is_empty() && discovered.failed.is_empty() {
                return Err(ScanError::UnknownNames(unknown));
            }
        }
    }
    if !filters.namespaces.is_empty() {
        if let Ok(env) = namespace_environment(client).await {
            let unknown =
                filters.unknown_namespaces(env.namespace_labels.keys().map(String::as_str));
            if !unknown.is_empty() {
                return Err(ScanError::UnknownNames(unknown));
            }
        }
    }
    Ok(())
}

/// Everything before listing: discovery, the report API, the namespaces,
/// the policies (the cluster's and the files'), Kyverno's resourceFilters,
/// the engine, reuse and the kinds to list; the stored reports start being
/// read. Records in `outcome` what it found (failures, problems, digests).
/// Errors: what a scan cannot go on without, and names that match nothing.
pub(super) async fn prepare(
    client: &Client,
    options: &ScanOptions,
    outcome: &mut ScanOutcome,
    phases: &mut Phases,
) -> Result<Prepared, ScanError> {
    let discovered = Arc::new(discovery::discover(client).await?);
    phases.mark("discovered");
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
    let env = Arc::new(namespace_environment(client).await?);
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
    let mut duplicates = Vec::new();
    if options.cluster_policies {
        let mut read = policy_source::read_policies(client, &discovered).await;
        // Kyverno's admission ignores the exceptions outside its
        // --exceptionNamespace (all of them by default): so does the scan.
        outcome.exceptions_not_applied = options
            .exceptions
            .keep_applied(&mut read.documents, |d| &d.value);
        duplicates = setup::drop_files_the_cluster_holds(&mut documents, &read.documents);
        documents.extend(read.documents);
        // A policy group whose discovery failed hides its policies too.
        for (group_version, _) in &discovered.failed {
            let (group, _) = crate::kinds::split_api_version(group_version);
            if policy_source::POLICY_KINDS.iter().any(|(g, _)| *g == group) {
                outcome.failed_policy_sources.push(group_version.clone());
            }
        }
        for (source, err) in read.failed {
            // Said once, with the run's other problems (`problems`).
            tracing::debug!(%source, error = %err, "policies could not be read");
            outcome.failed_policy_sources.push(source);
            outcome.other_failures.push(err);
        }
        outcome.policies_incomplete = !outcome.failed_policy_sources.is_empty();
    }
    // Not judging the cluster's policies, the run's set is partial where
    // the cluster has some (or they cannot be listed): its stored reports
    // may hold their results (walk49 W49-7: a --no-cluster-policies scan
    // pruned the main scan's reports).
    let cluster_policies_unjudged = !options.cluster_policies && {
        let read = policy_source::read_policies(client, &discovered).await;
        !read.failed.is_empty()
            || read.documents.iter().any(|d| {
                matches!(
                    d.value.get("kind").and_then(serde_json::Value::as_str),
                    Some(
                        "ClusterPolicy"
                            | "Policy"
                            | "ValidatingPolicy"
                            | "NamespacedValidatingPolicy"
                            | "ValidatingAdmissionPolicy"
                    )
                )
            })
    };
    phases.mark("policies read");
    let mut set = PolicySet::load(&documents, false);
    // Kyverno's controllers leave expired CEL PolicyExceptions out
    // (`ListExceptions`, pkg/cel/engine/exception.go).
    // The scan's clock (a test's `POLSCAN_TEST_NOW` too: walk47 W47-2).
    let now = crate::clock::now();
    set.loaded.cel_exceptions.retain(|e| !e.is_expired(now));
    if set.loaded.is_empty() && set.loaded.problems.iter().all(|p| !p.invalid_policy) {
        // Not "no policies": those that could not be read may exist.
        if !outcome.failed_policy_sources.is_empty() {
            return Err(ScanError::PoliciesUnreadable(
                outcome.failed_policy_sources.clone(),
                outcome.other_failures.clone(),
            ));
        }
        return Err(ScanError::NoPolicies);
    }
    // A policy that could not be read (its kind's LIST or its group's
    // discovery failed) or loaded may have results in the stored reports
    // that this run cannot reproduce.
    outcome.policies_incomplete |= set.loaded.problems.iter().any(|p| p.invalid_policy);
    outcome.policy_set_partial = outcome.policies_incomplete || cluster_policies_unjudged;
    // A binding or PolicyException that did not load holds back the
    // policies it names; one whose policies cannot be read, every policy.
    for problem in set.loaded.problems.iter().filter(|p| p.invalid_policy) {
        let Some(document) = problem.document.and_then(|index| documents.get(index)) else {
            outcome.invalid_beyond_policies = true;
            continue;
        };
        if policy_name(&document.value).is_some() {
            continue;
        }
        match last_run::policies_named_by(&document.value) {
            Some(names) => {
                outcome
                    .load_error_policies
                    .insert(document_label(&document.value), names);
            }
            None => outcome.invalid_beyond_policies = true,
        }
    }
    outcome.load_errors = set
        .loaded
        .problems
        .iter()
        .filter(|p| p.invalid_policy)
        .map(|p| {
            let document = p.document.and_then(|index| documents.get(index));
            let label = document
                .map(|d| document_label(&d.value))
                .unwrap_or_else(|| "the policy set".into());
            (label, p.message.clone())
        })
        .collect();
    let policies_evaluated = set.loaded.len();

    let unknown_namespaces = options
        .filters
        .unknown_namespaces(env.namespace_labels.keys().map(String::as_str));
    if !unknown_namespaces.is_empty() {
        return Err(ScanError::UnknownNames(unknown_namespaces));
    }
    let resource_filters = match &options.kyverno_config {
        None => None,
        Some((namespace, name)) => match read_resource_filters(client, namespace, name).await {
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
                // Said once, with the run's other problems (`problems`).
                tracing::debug!(error = %err, "Kyverno's resourceFilters could not be read");
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
            set.loaded
                .cel_exceptions
                .iter()
                .map(|e| (&e.namespace, &e.name))
                .collect::<Vec<_>>()
        ),
        format!("allowHttp={}", options.allow_http),
    ];
    let mut engine_options = EngineOptions::default();
    engine_options.background_only = true;
    engine_options.equivalent_versions = true;
    engine_options.all_policies_known = !outcome.policies_incomplete;
    engine_options.resource_filters = resource_filters.map(|(_, filters)| Arc::new(filters));
    let (engine, problems) = set.into_engine(engine_options, Arc::new(lookups));
    outcome.audit.problems = problems;
    // Said once, among the problems every output prints.
    if let Some(message) = options
        .exceptions
        .held_back_message(&outcome.exceptions_not_applied)
    {
        tracing::info!("{message}");
        outcome.audit.problems.push(Problem::note(message));
    }
    let setup = setup::setup_messages(options, &discovered, &env, unknown_kinds);
    outcome.exception_namespace_missing = setup.exception_namespace_missing;
    outcome.unserved_policy_kinds = setup.unserved_policy_kinds;
    for message in duplicates.into_iter().chain(setup.messages) {
        // Printed once, with the problems (not also as a log line).
        tracing::debug!("{message}");
        outcome.audit.problems.push(Problem::note(message));
    }
    outcome.audit.policies_evaluated = policies_evaluated;
    outcome.input_digests = documents
        .iter()
        .filter_map(|doc| last_run::DocumentDigest::of(&doc.value))
        .map(|read| (read.key, read.digest))
        .collect();
    let loaded = engine.policy_names();
    outcome.invalid_policies = not_loaded(&documents, &loaded);
    outcome.soak_policies = last_run::soak_policies(documents.iter().map(|doc| &doc.value));
    // Names of every policy document read, valid or not, and the
    // engine's: a name in either exists.
    // The run's clock (a test may set it later than the results' times).
    let read_at = crate::clock::now().timestamp();
    let existing_policies = existing_policies(
        options.cluster_policies,
        outcome.policies_incomplete,
        documents
            .iter()
            .filter_map(|doc| policy_name(&doc.value))
            .chain(loaded.iter().cloned()),
    )
    .map(|names| ExistingPolicies { names, read_at });
    let carry_over = outcome.policy_set_partial.then(|| Arc::new(loaded));
    let keep_findings = options.keep_findings || options.shape == ReportShape::PerNamespace;
    // Stored reports stand for their objects' evaluation only when the
    // output needs neither every finding nor every report. A run that
    // lacks some policy reuses only reports made without them too; results
    // carried over from those policies stay in the reports as stored.
    let loaded_documents = documents.iter().map(|doc| &doc.value).filter(|value| {
        policy_name(value).is_none_or(|name| !outcome.invalid_policies.contains(&name))
    });
    let reuse = setup::reuse_mode(
        options.shape,
        loaded_documents,
        &reuse_inputs,
        engine.policy_metas(),
        keep_findings || options.keep_printed_reports || options.finding_view.is_some(),
    );
    let selection = selection::select(&discovered.kinds, &options.filters, &engine.target_kinds());
    outcome.kinds_left_out = setup::policies_missing_named_kinds(&engine, &selection);
    for message in setup::policies_matching_nothing_served(&engine, &discovered.kinds)
        .into_iter()
        .chain(setup::policies_the_scan_leaves_out(
            &engine,
            &selection,
            &options.filters,
        ))
    {
        outcome.audit.problems.push(Problem::note(message));
    }
    Ok(Prepared {
        discovered,
        store,
        env,
        existing_reports,
        engine: Arc::new(engine),
        reuse,
        selection,
        carry_over,
        keep_findings,
        existing_policies,
    })
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
/// `Kind namespace/name` (`Kind name` when cluster-scoped) of a document,
/// as the run record's load errors name it.
fn document_label(document: &Value) -> String {
    let text = |pointer: &str| document.str_at(pointer).unwrap_or("");
    match (text("/metadata/namespace"), text("/metadata/name")) {
        ("", name) => format!("{} {name}", text("/kind")),
        (namespace, name) => format!("{} {namespace}/{name}", text("/kind")),
    }
}

fn policy_name(document: &Value) -> Option<String> {
    let text = |pointer: &str| document.str_at(pointer).unwrap_or("");
    if !POLICY_DOCUMENT_KINDS.contains(&text("/kind")) {
        return None;
    }
    Some(
        match (text("/metadata/namespace"), text("/metadata/name")) {
            ("", name) => name.to_string(),
            (namespace, name) => format!("{namespace}/{name}"),
        },
    )
}

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
            .str_at("/data/resourceFilters")
            .unwrap_or_default();
        (format!("{namespace}/{name}"), ResourceFilters::parse(text))
    }))
}

/// Namespace labels (for `namespaceSelector`) and objects (for CEL's
/// `namespaceObject`), read once.
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
                let Some(name) = namespace.str_at("/metadata/name").map(str::to_string) else {
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
            .str_at("/metadata/continue")
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            return Ok(env);
        }
    }
}
