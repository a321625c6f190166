//! The recheck of `polscan evidence`: the names of the policies that would
//! be ready, the last scan record's settings and the `--policies-from`
//! documents enter; a dry-run scan of the cluster as it is now (nothing
//! written) runs with those settings, and what it found for those
//! policies leaves as an [`evidence::verdict::recheck::Recheck`]. A scan
//! that streams into a view reuses no stored report: every object is
//! evaluated again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use polscan::audit::{Finding, Problem};
use polscan::cluster::connect;
use polscan::engine::exceptions::annotation::properties as ex_props;
use polscan::engine::RuleStatus;
use polscan::evidence::verdict::recheck::{Recheck, RecheckFinding, RecheckViolations, NAMED};
use polscan::loader::Document;
use polscan::scan::selection::{KindName, ScanFilters};
use polscan::scan::view::{FindingView, ViewFactory, ViewRecord};
use polscan::scan::{self, last_run, ReportShape, ScanOptions};

use super::args::deadline_text;

/// What the recheck needs of `polscan evidence`'s arguments.
pub struct RecheckInput<'a> {
    /// `--kubeconfig`, `--context`.
    pub kubeconfig: Option<&'a std::path::Path>,
    /// `--context`.
    pub context: Option<&'a str>,
    /// The policies that would be ready, by qualified name.
    pub ready: BTreeSet<String>,
    /// The last scan record's settings (`ScanOptions::settings`); None
    /// from an older record: the defaults.
    pub settings: Option<&'a BTreeMap<String, String>>,
    /// `--policies-from` documents.
    pub policy_documents: Vec<Document>,
    /// `--namespace` of the evidence: violations elsewhere are outside
    /// its view.
    pub namespaces: Vec<String>,
    /// `--timeout`.
    pub deadline: Duration,
}

/// Runs the dry-run scan. Failures to connect or to scan are gaps of the
/// recheck (the policies wait), not errors of the evidence.
pub fn recheck(input: RecheckInput<'_>) -> Recheck {
    let mut recheck = Recheck {
        at: Some(polscan::clock::now()),
        ..Recheck::default()
    };
    let options = match options(input.settings, input.policy_documents) {
        Ok(options) => options,
        Err(gap) => {
            recheck.gaps.push(gap);
            return recheck;
        }
    };
    let found = Arc::new(Mutex::new(Found::default()));
    let ready = Arc::new(input.ready);
    let namespaces = Arc::new(input.namespaces);
    let (view_found, view_ready, view_namespaces) =
        (found.clone(), ready.clone(), namespaces.clone());
    let options = ScanOptions {
        finding_view: Some(ViewFactory(Arc::new(move || {
            Box::new(Collect {
                found: view_found.clone(),
                ready: view_ready.clone(),
                namespaces: view_namespaces.clone(),
            }) as Box<dyn FindingView>
        }))),
        ..options
    };
    let deadline = input.deadline;
    let outcome = super::args::runtime()
        .map_err(|err| err.to_string())
        .and_then(|runtime| {
            runtime.block_on(async {
                let client = connect::connect(input.kubeconfig, input.context)
                    .await
                    .map_err(|err| err.to_string())?;
                tokio::time::timeout(deadline, scan::scan(client, options))
                    .await
                    .map_err(|_| {
                        format!("deadline {} (--timeout) reached", deadline_text(deadline))
                    })?
                    .map_err(|err| err.to_string())
            })
        });
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(gap) => {
            recheck.gaps.push(gap);
            return recheck;
        }
    };
    for listing in outcome.failed_listings() {
        let why = listing
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        recheck.gaps.push(format!("{}: {why}", listing.kind.kind));
    }
    recheck
        .gaps
        .extend(outcome.other_failures.iter().map(ToString::to_string));
    if let Some((_, Some(err))) = &outcome.finding_view {
        recheck.gaps.push(format!("keeping its findings: {err}"));
    }
    // What a background: false policy's recheck counts (no scan judges it).
    recheck.objects_by_kind = Some(
        outcome
            .listings
            .iter()
            .map(|listing| (listing.kind.display_name(), listing.objects))
            .collect(),
    );
    recheck.objects_by_namespace = outcome.objects_by_namespace.clone();
    let invalid: BTreeSet<&String> = outcome.invalid_policies.iter().collect();
    recheck.evaluated = outcome
        .soak_policies
        .keys()
        .filter(|name| !invalid.contains(name))
        .cloned()
        .collect();
    let found = std::mem::take(&mut *found.lock().unwrap_or_else(PoisonError::into_inner));
    for (_, violations) in found.by_listing {
        for (policy, found) in violations {
            let entry: &mut RecheckViolations = recheck.violations.entry(policy).or_default();
            entry.count += 1;
            if entry.first.len() < NAMED {
                entry.first.push(found.described.clone());
            }
            entry.found.push(found);
        }
    }
    recheck
}

/// The scan options of the recorded run's settings, as a dry run that
/// keeps nothing but what the view collects.
fn options(
    settings: Option<&BTreeMap<String, String>>,
    policy_documents: Vec<Document>,
) -> Result<ScanOptions, String> {
    let empty = BTreeMap::new();
    let settings = settings.unwrap_or(&empty);
    // The settings keep each list flag's values comma-joined.
    let list = |flag: &str| -> Vec<String> {
        settings
            .get(flag)
            .map(|joined| {
                joined
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let kinds = |flag: &str| list(flag).iter().map(|k| KindName::parse(k)).collect();
    let exceptions = match settings.get("--exception-namespace").map(String::as_str) {
        None | Some("") => scan::ExceptionScope::Disabled,
        Some(namespace) => scan::ExceptionScope::from_flag(Some(namespace))
            .map_err(|err| format!("the record's --exception-namespace: {err}"))?,
    };
    let kyverno_config = match settings.get("--kyverno-config").map(String::as_str) {
        None | Some("") => None,
        Some(text) => Some(last_run::parse_target(text).ok_or_else(|| {
            format!("the record's --kyverno-config {text:?} is not <namespace>/<name>")
        })?),
    };
    Ok(ScanOptions {
        policy_documents,
        cluster_policies: settings.get("--no-cluster-policies").map(String::as_str) != Some("true"),
        filters: ScanFilters {
            include_kinds: kinds("--include-kinds"),
            exclude_kinds: kinds("--exclude-kinds"),
            namespaces: list("--namespace"),
            exclude_namespaces: list("--exclude-namespaces"),
            // Every shard's partition: the record may be a sharded run's.
            shard: None,
        },
        shape: match settings.get("--report-per").map(String::as_str) {
            Some("namespace") => ReportShape::PerNamespace,
            _ => ReportShape::PerResource,
        },
        dry_run: true,
        allow_http: settings.get("--allow-http").map(String::as_str) == Some("true"),
        exceptions,
        kyverno_config,
        keep_findings: false,
        keep_printed_reports: false,
        ..ScanOptions::default()
    })
}

/// Violations of the ready policies, by the LIST that gave them (a LIST
/// that starts over voids its own).
#[derive(Default)]
struct Found {
    by_listing: BTreeMap<usize, Vec<(String, RecheckFinding)>>,
}

/// The view the dry-run scan streams its findings into: it keeps the
/// `fail`, `error` and `warn` results of the ready policies.
struct Collect {
    found: Arc<Mutex<Found>>,
    ready: Arc<BTreeSet<String>>,
    namespaces: Arc<Vec<String>>,
}

impl Collect {
    fn violation(&self, finding: &Finding) -> Option<(String, RecheckFinding)> {
        // The warning about an ignored polscan.io/exception annotation is
        // about the annotation, not a result of the policy's rules (the
        // evidence counts it nowhere): walk31 F5, a NO-GO no rescan cleared.
        if finding.result.rule == polscan::engine::exceptions::annotation::EXCEPTION_RULE {
            return None;
        }
        let status = finding.reported_status();
        if !matches!(
            status,
            RuleStatus::Fail | RuleStatus::Error | RuleStatus::Warn
        ) && !annotation_excused(finding)
        {
            return None;
        }
        // Excused at admission by a `background: false` PolicyException:
        // no violation to the Enforce question (walk28 F18).
        if finding
            .result
            .properties
            .contains_key(polscan::engine::exceptions::kyverno::ADMISSION_EXCEPTIONS)
        {
            return None;
        }
        let policy = match &finding.policy.namespace {
            Some(namespace) => format!("{namespace}/{}", finding.policy.name),
            None => finding.policy.name.clone(),
        };
        if !self.ready.contains(&policy) {
            return None;
        }
        let resource = &finding.resource;
        if !self.namespaces.is_empty() && !self.namespaces.contains(&resource.namespace) {
            return None;
        }
        let place = if resource.namespace.is_empty() {
            format!("{}/{}", resource.kind, resource.name)
        } else {
            format!("{}/{}/{}", resource.namespace, resource.kind, resource.name)
        };
        let rule = match finding.result.rule.as_str() {
            "" => String::new(),
            rule => format!("rule {rule}: "),
        };
        let status = if annotation_excused(finding) {
            "skipped only by the polscan.io/exception annotation, which Kyverno's admission ignores"
        } else {
            status.as_str()
        };
        Some((
            policy,
            RecheckFinding {
                namespace: resource.namespace.clone(),
                kind: resource.kind.clone(),
                name: resource.name.clone(),
                rule: finding.result.rule.clone(),
                described: format!("{place} ({rule}{status})"),
            },
        ))
    }
}

/// A `fail` or `error` that only polscan's `polscan.io/exception`
/// annotation turned into `skip`: Kyverno's admission does not honour it,
/// so it is a violation, as the evidence counts it
/// (`ingest::results::excused_violation`).
fn annotation_excused(finding: &Finding) -> bool {
    let properties = &finding.result.properties;
    finding.result.status == RuleStatus::Skip
        && properties.get(ex_props::EXCEPTION).map(String::as_str)
            == Some(ex_props::RESOURCE_ANNOTATION)
        && !properties.contains_key("exceptions")
        && properties
            .get(ex_props::RESULT)
            .is_none_or(|status| matches!(status.as_str(), "fail" | "error"))
}

impl FindingView for Collect {
    fn records(
        &self,
        _kind: usize,
        _ordinal: u64,
        _findings: &[Finding],
    ) -> std::io::Result<Vec<ViewRecord>> {
        Ok(Vec::new())
    }

    fn add(
        &mut self,
        kind: usize,
        _ordinal: u64,
        findings: &[Finding],
        _records: Vec<ViewRecord>,
    ) -> std::io::Result<()> {
        let violations: Vec<(String, RecheckFinding)> =
            findings.iter().filter_map(|f| self.violation(f)).collect();
        if !violations.is_empty() {
            self.found
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .by_listing
                .entry(kind)
                .or_default()
                .extend(violations);
        }
        Ok(())
    }

    fn restart(&mut self, kind: usize) {
        self.found
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_listing
            .remove(&kind);
    }

    fn finish(
        self: Box<Self>,
        _out: &mut dyn std::io::Write,
        _problems: &[Problem],
        _policies: usize,
        _resources: usize,
    ) -> anyhow::Result<()> {
        Ok(())
    }
}
