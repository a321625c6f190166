//! `apply`'s audit streamed: an [`Auditor`] (built from a first pass over
//! the resources) and the resource documents, read again, enter; the chosen
//! view leaves on `out` byte for byte as printing the whole outcome gives
//! it, problems on `err`, and the counts behind the exit code and the run
//! record. Memory holds one chunk of resources and their findings at a
//! time, the output records of a [`Spill`] up to its limit, and counts.
//!
//! Every view's order needs all findings first: reports go by namespace
//! and report name, JUnit, SARIF and the tables by policy, Kyverno's table
//! by file. Each finding (or report) becomes a record keyed by its place in
//! that order; the spill sorts them, on disk beyond its limit, and the view
//! is written from the sorted records with the counts kept on the way
//! (JUnit's per-suite totals, table widths, SARIF's rule indexes).
//!
//! A scan's table, JUnit and SARIF outputs go the same way ([`ScanView`]):
//! each object's findings enter as its page is evaluated, counted per
//! listed kind so that a kind whose listing starts again drops its own.

mod findings;
mod kyverno;
mod policy_reports;
mod scan_view;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};

use anyhow::Context;
use rayon::prelude::*;
use report_model::meta::Timestamp;

use super::apply_deadline::ApplyProgress;
use super::kyverno_apply::{AuditWarnScope, PolicyActions};
use super::output::{self};
use super::sources::{Rereadable, SourceError};
use super::spill::{encode_fields, Fields, SortKey, Spill};
use super::OutputFormat;
use polscan::audit::{admit, Admitted, Auditor, Finding, Problem};
use polscan::engine::{ResourceRef, RuleStatus};
use polscan::loader::Origin;
use polscan::reports;
use polscan::scan::last_run::{
    count_result, count_result_kind, kind_display_name, KindsByRule, ResultsByRule,
};
use polscan::scan::view::ViewRecord;
use polscan::scan::{ResultKey, ScanOutcome};

/// How `apply` prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// One of polscan's formats (`--policy-report` is yaml or json).
    Output(OutputFormat),
    /// The Kyverno CLI's results table.
    KyvernoTable { detailed: bool },
}

/// Resources evaluated together (in parallel) before their records are
/// kept: enough to keep every core busy, few enough to hold.
const CHUNK: usize = 256;

/// One output record as built: its place in the view's order and its
/// bytes (the spill keeps a copy); the scan's views use the same.
type Record = ViewRecord;

/// How the streamed audit is shown and counted.
pub struct Options<'a> {
    pub view: View,
    pub color: bool,
    /// `--audit-warn`: failures shown as warnings.
    pub actions: Option<&'a PolicyActions>,
    /// Keep what `--run-record` writes.
    pub run_record: bool,
    /// Bytes of output records held before they go to a temporary file.
    pub spill_limit: usize,
    /// Report identities met more than once ([`Prepass::into_shared`]).
    pub shared_reports: HashSet<u64>,
    /// Told which resources are being evaluated (`apply --timeout`).
    pub progress: Option<&'a ApplyProgress>,
}

/// What the first pass over the resources learns for the views: which
/// per-resource reports merge several documents (a resource given twice),
/// and whether some resource lacks what a report needs.
#[derive(Debug, Default)]
pub struct Prepass {
    seen: HashSet<u64>,
    shared: HashSet<u64>,
    unreportable: Option<String>,
    unreportable_count: usize,
    resources: usize,
    namespaces: std::collections::BTreeSet<String>,
}

impl Prepass {
    /// Notes one admitted document.
    pub fn observe(&mut self, admitted: &Admitted) {
        if let Admitted::Resource(value, origin) = admitted {
            self.resources += 1;
            let resource = ResourceRef::from_resource(value);
            if !resource.namespace.is_empty() && !self.namespaces.contains(&resource.namespace) {
                self.namespaces.insert(resource.namespace.clone());
            }
            let missing = if resource.api_version.is_empty() {
                Some("apiVersion")
            } else if resource.name.is_empty() {
                Some("metadata.name")
            } else {
                None
            };
            if let Some(missing) = missing {
                self.unreportable_count += 1;
                self.unreportable.get_or_insert_with(|| {
                    let name = match (resource.namespace.as_str(), resource.name.as_str()) {
                        (_, "") => String::new(),
                        ("", name) => format!(" {name}"),
                        (namespace, name) => format!(" {namespace}/{name}"),
                    };
                    format!("{origin}: {}{name} has no `{missing}`", resource.kind)
                });
            }
            let hash = identity_hash(&resource);
            if !self.seen.insert(hash) {
                self.shared.insert(hash);
            }
        }
    }

    /// The first resource without apiVersion or name (`file#N: Pod
    /// ns/name has no `apiVersion``) and how many there are: no report can
    /// name it (and the API server would refuse it).
    pub fn unreportable(&self) -> Option<(&str, usize)> {
        self.unreportable
            .as_deref()
            .map(|first| (first, self.unreportable_count))
    }

    /// The namespaces the namespaced resources seen are in.
    pub fn namespaces(&self) -> &std::collections::BTreeSet<String> {
        &self.namespaces
    }

    /// How many resource documents (neither policies nor without a kind)
    /// were seen.
    pub fn resources(&self) -> usize {
        self.resources
    }

    /// The hashed identities of resources given more than once.
    pub fn into_shared(self) -> HashSet<u64> {
        self.shared
    }
}

/// A resource's report identity, hashed. Two resources of one hash share
/// a report only if they are equal; a collision merely holds findings.
fn identity_hash(resource: &ResourceRef) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    resource.hash(&mut hasher);
    hasher.finish()
}

/// The counts a streamed audit ends with.
#[derive(Debug, Default)]
pub struct Tally {
    /// Results by the status shown (`--audit-warn` applied).
    pub shown: BTreeMap<RuleStatus, usize>,
    /// Results by the status the exit code counts.
    pub counted: BTreeMap<RuleStatus, usize>,
    record: Option<RecordTally>,
}

/// What the run record derives from the findings (as
/// `scan::last_run::config_map` derives it from an outcome's findings).
#[derive(Debug, Default)]
struct RecordTally {
    result_counts: BTreeMap<ResultKey, usize>,
    results_by_rule: ResultsByRule,
    kinds_by_rule: KindsByRule,
    objects: BTreeSet<(String, String, String)>,
    /// One finding, so that a record of findings that are all left out of
    /// the counts still says "nothing" rather than "unknown".
    sample: Option<Finding>,
}

impl Tally {
    fn add(&mut self, findings: &[Finding], counted: Option<&[RuleStatus]>) {
        for finding in findings {
            *self.shown.entry(finding.reported_status()).or_default() += 1;
        }
        match counted {
            Some(statuses) => {
                for status in statuses {
                    *self.counted.entry(*status).or_default() += 1;
                }
            }
            None => {
                for finding in findings {
                    *self.counted.entry(finding.reported_status()).or_default() += 1;
                }
            }
        }
        let Some(record) = &mut self.record else {
            return;
        };
        for finding in findings {
            *record
                .result_counts
                .entry(ResultKey::of(finding))
                .or_default() += 1;
            if record.sample.is_none() {
                record.sample = Some(finding.clone());
            }
            if finding.result.rule == polscan::engine::exceptions::annotation::EXCEPTION_RULE
                || !reports::is_reported(finding)
            {
                continue;
            }
            let resource = &finding.resource;
            record.objects.insert((
                kind_display_name(&resource.api_version, &resource.kind),
                resource.namespace.clone(),
                resource.name.clone(),
            ));
            count_result(&mut record.results_by_rule, finding);
            count_result_kind(&mut record.kinds_by_rule, finding);
        }
    }

    /// Results of this status, as shown.
    pub fn shown(&self, status: RuleStatus) -> usize {
        self.shown.get(&status).copied().unwrap_or(0)
    }

    /// Results of this status, as the exit code counts them.
    pub fn counted(&self, status: RuleStatus) -> usize {
        self.counted.get(&status).copied().unwrap_or(0)
    }

    /// What `--run-record` writes of this audit, as
    /// `apply`'s record of a whole outcome gives it.
    pub fn scan_outcome(self, auditor: &Auditor) -> ScanOutcome {
        let record = self.record.unwrap_or_default();
        let mut objects_evaluated_by_kind: BTreeMap<String, usize> = BTreeMap::new();
        for (kind, _, _) in record.objects {
            *objects_evaluated_by_kind.entry(kind).or_default() += 1;
        }
        ScanOutcome {
            audit: polscan::audit::AuditOutcome {
                findings: record.sample.into_iter().collect(),
                problems: auditor.problems().to_vec(),
                policies_evaluated: auditor.policies_evaluated(),
                resources_evaluated: auditor.resources_evaluated(),
            },
            status_counts: self.shown,
            result_counts: record.result_counts,
            objects_evaluated_by_kind,
            results_by_rule: record.results_by_rule,
            kinds_by_rule: record.kinds_by_rule,
            // An audit applies every exception it is given.
            exceptions: polscan::scan::ExceptionScope::Given,
            ..ScanOutcome::default()
        }
    }
}

/// Evaluates every resource of `resources` and writes the view.
pub fn run(
    auditor: &Auditor,
    resources: &mut Rereadable,
    stdin: &mut dyn Read,
    mut options: Options<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Tally> {
    let mut sink = Sink::new(&mut options);
    let mut tally = Tally {
        record: options.run_record.then(RecordTally::default),
        ..Tally::default()
    };
    let mut chunk: Vec<(u64, serde_json::Value, Origin)> = Vec::with_capacity(CHUNK);
    let mut ordinal: u64 = 0;
    let pass = resources.visit(stdin, &mut |doc| -> Result<(), PassError> {
        if let Admitted::Resource(value, origin) = admit(doc) {
            chunk.push((ordinal, value, origin));
            ordinal += 1;
            if chunk.len() == CHUNK {
                evaluate_chunk(&mut chunk, auditor, &options, &mut sink, &mut tally)
                    .map_err(PassError::Evaluate)?;
            }
        }
        Ok(())
    });
    match pass {
        Ok(()) => {}
        Err(PassError::Read(err)) => {
            return Err(anyhow::Error::new(err).context("reading resources"))
        }
        Err(PassError::Evaluate(err)) => return Err(err),
    }
    evaluate_chunk(&mut chunk, auditor, &options, &mut sink, &mut tally)?;
    write_problems(err, auditor.problems())?;
    sink.finish(out, &tally, auditor)?;
    Ok(tally)
}

/// A resource as `--timeout`'s message names it: `Kind namespace/name
/// (file#document)`.
fn describe(value: &serde_json::Value, origin: &Origin) -> String {
    use polscan::engine::ValueExt;
    let kind = value.str_field("kind").unwrap_or("<no kind>");
    let name = value
        .pointer("/metadata/name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("<no name>");
    match value
        .pointer("/metadata/namespace")
        .and_then(serde_json::Value::as_str)
    {
        Some(namespace) => format!("{kind} {namespace}/{name} ({origin})"),
        None => format!("{kind} {name} ({origin})"),
    }
}

/// Why the second pass stopped: a document could not be read (a file
/// changed since the first pass) or its findings could not be kept.
enum PassError {
    Read(SourceError),
    Evaluate(anyhow::Error),
}

impl From<SourceError> for PassError {
    fn from(err: SourceError) -> PassError {
        PassError::Read(err)
    }
}

/// The problems of the audit, as warnings.
fn write_problems(err: &mut dyn Write, problems: &[Problem]) -> std::io::Result<()> {
    for problem in problems {
        writeln!(err, "warning: {problem}")?;
    }
    Ok(())
}

/// One resource's findings (shown) and records.
struct Evaluated {
    ordinal: u64,
    findings: Vec<Finding>,
    /// The statuses the exit code counts, when they differ from those shown.
    counted: Option<Vec<RuleStatus>>,
    records: Vec<Record>,
}

fn evaluate_chunk(
    chunk: &mut Vec<(u64, serde_json::Value, Origin)>,
    auditor: &Auditor,
    options: &Options<'_>,
    sink: &mut Sink,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let shared_sink: &Sink = sink;
    let evaluated: Vec<anyhow::Result<Evaluated>> = chunk
        .par_iter()
        .map(|(ordinal, value, origin)| {
            if let Some(progress) = options.progress {
                progress.start(*ordinal, describe(value, origin));
            }
            let mut findings = auditor.evaluate(value, origin);
            if let Some(progress) = options.progress {
                progress.done(*ordinal);
            }
            let counted = options.actions.map(|actions| {
                findings
                    .iter()
                    .map(|f| actions.warned_status(f, AuditWarnScope::Counted))
                    .collect()
            });
            if let Some(actions) = options.actions {
                for finding in &mut findings {
                    actions.warn(finding, AuditWarnScope::Shown);
                }
            }
            let records = shared_sink.records(*ordinal, &findings)?;
            Ok(Evaluated {
                ordinal: *ordinal,
                findings,
                counted,
                records,
            })
        })
        .collect();
    chunk.clear();
    for evaluated in evaluated {
        let evaluated = evaluated?;
        tally.add(&evaluated.findings, evaluated.counted.as_deref());
        sink.add(evaluated.ordinal, evaluated.findings, evaluated.records)?;
    }
    Ok(())
}

/// A finding's place in the audit's order ([`finding_order`], then the
/// order of evaluation), after what `key` holds already.
fn finding_key(key: SortKey, finding: &Finding, ordinal: u64, index: usize) -> SortKey {
    let resource = &finding.resource;
    key.str(&finding.policy.name)
        .str(&finding.result.rule)
        .str(&resource.api_version)
        .str(&resource.kind)
        .str(&resource.namespace)
        .str(&resource.name)
        .str(&resource.uid)
        .num(ordinal)
        .num(index as u64)
}

/// Where each view keeps what it writes at the end.
enum Sink {
    Summary,
    Reports(ReportsSink),
    Findings(FindingSink),
    Kyverno(KyvernoSink),
}

impl Sink {
    fn new(options: &mut Options<'_>) -> Sink {
        let spill = || Spill::new(options.spill_limit);
        match options.view {
            View::Output(OutputFormat::Summary) => Sink::Summary,
            View::Output(format @ (OutputFormat::Yaml | OutputFormat::Json)) => {
                Sink::Reports(ReportsSink {
                    json: format == OutputFormat::Json,
                    timestamp: Timestamp::now_seconds(),
                    shared: std::mem::take(&mut options.shared_reports),
                    held: HashMap::new(),
                    spill: spill(),
                })
            }
            View::Output(
                format @ (OutputFormat::Junit | OutputFormat::Sarif | OutputFormat::Table),
            ) => match FindingFormat::of(format) {
                Some(format) => Sink::Findings(FindingSink {
                    format,
                    color: options.color,
                    counts: ViewCounts::default(),
                    spill: spill(),
                }),
                None => Sink::Summary,
            },
            View::KyvernoTable { detailed } => Sink::Kyverno(KyvernoSink {
                color: options.color,
                detailed,
                widths: output::header_widths(&kyverno_headers(detailed)),
                rows: 0,
                spill: spill(),
            }),
        }
    }

    /// The records of one resource's findings (in parallel with others).
    fn records(&self, ordinal: u64, findings: &[Finding]) -> anyhow::Result<Vec<Record>> {
        match self {
            Sink::Summary => Ok(Vec::new()),
            Sink::Reports(sink) => sink.records(ordinal, findings),
            Sink::Findings(sink) => sink.format.records(ordinal, findings),
            Sink::Kyverno(sink) => Ok(sink.records(ordinal, findings)),
        }
    }

    /// Keeps one resource's records and counts what the view needs of its
    /// findings (one resource after the other, in input order).
    fn add(
        &mut self,
        ordinal: u64,
        findings: Vec<Finding>,
        records: Vec<Record>,
    ) -> anyhow::Result<()> {
        self.keep(ordinal, findings, records)
            .context("keeping output records in a temporary file")
    }

    fn keep(
        &mut self,
        ordinal: u64,
        findings: Vec<Finding>,
        records: Vec<Record>,
    ) -> anyhow::Result<()> {
        match self {
            Sink::Summary => {}
            Sink::Reports(sink) => sink.add(findings, records)?,
            Sink::Findings(sink) => {
                sink.counts.add(sink.format, ordinal, &findings, &records)?;
                push_all(&mut sink.spill, records)?;
            }
            Sink::Kyverno(sink) => sink.add(records)?,
        }
        Ok(())
    }

    fn finish(self, out: &mut dyn Write, tally: &Tally, auditor: &Auditor) -> anyhow::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
        let summary = || {
            output::counts_summary(
                |status| tally.shown(status),
                auditor.policies_evaluated(),
                auditor.resources_evaluated(),
            )
        };
        match self {
            Sink::Summary => writeln!(out, "{}", summary())?,
            Sink::Reports(sink) => sink.finish(&mut out)?,
            Sink::Findings(sink) => FindingSink::write(
                sink.format,
                sink.color,
                &sink.counts,
                &mut sink.spill.into_sorted()?,
                auditor.problems(),
                &summary(),
                &mut out,
            )?,
            Sink::Kyverno(sink) => sink.finish(&mut out)?,
        }
        out.flush()?;
        Ok(())
    }
}

fn push_all(spill: &mut Spill, records: Vec<Record>) -> std::io::Result<()> {
    for (key, value) in records {
        spill.push(&key, &value)?;
    }
    Ok(())
}

/// Records of findings grouped by policy (qualified name, as JUnit's
/// suites and the table's blocks), each group in the audit's order; the
/// value holds policy, rule, resource, status and message.
fn by_policy_records(ordinal: u64, findings: &[Finding]) -> Vec<Record> {
    findings
        .iter()
        .enumerate()
        .map(|(index, finding)| {
            let policy = finding.policy.qualified_name();
            let key = finding_key(SortKey::new().str(&policy), finding, ordinal, index);
            let value = encode_fields(&[
                &policy,
                &finding.result.rule,
                &finding.resource.to_string(),
                finding.reported_status().as_str(),
                &finding.result.message,
            ]);
            (key.into_bytes(), value)
        })
        .collect()
}

/// The fields of a record of [`by_policy_records`] (or Kyverno's table)
/// read back.
struct Case<'a> {
    policy: &'a str,
    rule: &'a str,
    resource: &'a str,
    status: RuleStatus,
    message: &'a str,
}

impl<'a> Case<'a> {
    fn read(bytes: &'a [u8]) -> std::io::Result<Case<'a>> {
        let mut fields = Fields::new(bytes);
        let policy = fields.next_str()?;
        let rule = fields.next_str()?;
        let resource = fields.next_str()?;
        let status = RuleStatus::parse(fields.next_str()?).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "spilled status unknown")
        })?;
        let message = fields.next_str()?;
        Ok(Case {
            policy,
            rule,
            resource,
            status,
            message,
        })
    }
}

use self::findings::{FindingFormat, FindingSink, ViewCounts};
use self::kyverno::{kyverno_headers, KyvernoSink};
use self::policy_reports::ReportsSink;
pub use self::scan_view::ScanView;

#[cfg(test)]
mod tests {
    use super::kyverno::{status_index, STATUS_CELLS};
    use super::policy_reports::{list_frame, pretty_item, JsonFrame, LIST_ITEM_INDENT, MARKER};
    use super::*;
    use polscan::audit::{AuditInput, ResourceIndex};
    use polscan::loader::parse_documents;
    use polscan::scan::view::FindingView;
    use serde_json::json;
    use serde_json::Value;
    use std::path::{Path, PathBuf};

    fn framed(document: impl Fn(Value) -> Value, items: &[Value]) -> String {
        let frame = JsonFrame::new(&document(Value::String(MARKER.into()))).expect("frame");
        let mut out = Vec::new();
        out.extend_from_slice(frame.head.as_bytes());
        for (index, item) in items.iter().enumerate() {
            let text = pretty_item(item, frame.item_indent()).expect("item");
            frame
                .write_item(&mut out, index, text.as_bytes())
                .expect("write");
        }
        frame.write_end(&mut out, items.len()).expect("end");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_streamed_array_is_what_serde_json_writes_whole() {
        let items = [
            json!({"kind": "PolicyReport", "results": [{"message": "a\nb", "n": 1.5}], "empty": {}}),
            json!([]),
            json!("text"),
            json!({"nested": {"deeper": [[], {}, [1, 2]]}}),
        ];
        let list = |items: Value| json!({"apiVersion": "v1", "kind": "List", "items": items});
        let sarif = |results: Value| json!({"$schema": "s", "runs": [{"tool": {"rules": [{"id": "r"}]}, "results": results}]});
        for count in [0, 1, 2, 4] {
            let some = &items[..count];
            for document in [&list as &dyn Fn(Value) -> Value, &sarif] {
                let whole = serde_json::to_string_pretty(&document(json!(some))).expect("json");
                let streamed = framed(document, some);
                assert_eq!(streamed, format!("{whole}\n"), "{count} items");
                let parsed: Value = serde_json::from_str(&streamed).expect("valid json");
                assert_eq!(parsed, document(json!(some)));
            }
        }
        assert_eq!(list_frame().expect("frame").item_indent(), LIST_ITEM_INDENT);
    }

    #[test]
    fn status_cells_are_the_table_s() {
        for status in [
            RuleStatus::Pass,
            RuleStatus::Fail,
            RuleStatus::Warn,
            RuleStatus::Error,
            RuleStatus::Skip,
        ] {
            assert_eq!(
                STATUS_CELLS[status_index(status)],
                output::group_status_cell(status, false)
            );
        }
    }

    #[test]
    fn the_array_must_be_the_last_value() {
        let misplaced = json!({"items": MARKER, "kind": "List"});
        assert!(JsonFrame::new(&misplaced).is_err());
        assert!(JsonFrame::new(&json!({"items": []})).is_err());
    }

    const POLICY: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: needs-app}\nspec:\n  rules:\n  - name: app\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {pattern: {metadata: {labels: {app: '?*'}}}}\n";

    fn pods(count: usize) -> String {
        (0..count)
            .map(|i| {
                format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns}}\n")
            })
            .collect()
    }

    /// An auditor of `POLICY` over the resources at `paths` (first pass).
    fn first_pass(paths: &[PathBuf]) -> (Auditor, Rereadable) {
        let policy_documents = parse_documents(POLICY, Path::new("p.yaml")).expect("policy");
        let mut index = ResourceIndex::new(&policy_documents);
        let mut resources = Rereadable::new(paths);
        resources
            .visit(&mut "".as_bytes(), &mut |doc| -> Result<(), SourceError> {
                index.record(&admit(doc));
                Ok(())
            })
            .expect("first pass");
        let input = AuditInput {
            policy_documents,
            ..AuditInput::default()
        };
        (Auditor::new(input, index), resources)
    }

    /// Findings of `POLICY` on a Pod, as a scan gives them (no origin).
    fn scanned(auditor: &Auditor, name: &str, labelled: bool) -> Vec<Finding> {
        let labels = if labelled {
            json!({"app": "a"})
        } else {
            json!({})
        };
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "labels": labels}});
        let mut findings = auditor.evaluate(
            &pod,
            &Origin {
                path: PathBuf::from(format!("Pod/{name}")),
                index: 0,
                line: 0,
            },
        );
        for finding in &mut findings {
            finding.origin = None;
        }
        findings
    }

    #[test]
    fn a_scan_view_streams_what_the_whole_outcome_prints_and_drops_a_restarted_kind() {
        let (auditor, _) = first_pass(&[]);
        for format in [
            OutputFormat::Table,
            OutputFormat::Junit,
            OutputFormat::Sarif,
        ] {
            let mut view = ScanView::factory(format, false, 1)
                .expect("a finding view")
                .make();
            let mut kept: Vec<Finding> = Vec::new();
            let give = |view: &mut Box<dyn FindingView>,
                        kind: usize,
                        ordinal: u64,
                        name: &str,
                        labelled: bool|
             -> Vec<Finding> {
                let findings = scanned(&auditor, name, labelled);
                let records = view.records(kind, ordinal, &findings).expect("records");
                view.add(kind, ordinal, &findings, records).expect("kept");
                findings
            };
            kept.extend(give(&mut view, 0, 0, "p0", true));
            kept.extend(give(&mut view, 0, 1, "p1", false));
            // Kind 1's first listing: a long name (wider columns) and a
            // rule of its own that must not survive the restart.
            give(
                &mut view,
                1,
                0,
                "p3-a-name-long-enough-to-widen-the-resource-column",
                false,
            );
            give(&mut view, 1, 1, "p4", false);
            view.restart(1);
            kept.extend(give(&mut view, 0, 2, "p2", false));
            kept.extend(give(&mut view, 1, 2, "p4", false));
            kept.extend(give(&mut view, 1, 3, "p5", true));
            let mut streamed = Vec::new();
            view.finish(&mut streamed, &[], 1, 5).expect("written");

            // The scan's whole outcome: findings sorted by policy, rule and
            // resource, printed at once.
            kept.sort_by(|a, b| {
                (&a.policy.name, &a.result.rule, &a.resource).cmp(&(
                    &b.policy.name,
                    &b.result.rule,
                    &b.resource,
                ))
            });
            let outcome = polscan::audit::AuditOutcome {
                findings: kept,
                problems: Vec::new(),
                policies_evaluated: 1,
                resources_evaluated: 5,
            };
            let (mut whole, mut err) = (Vec::new(), Vec::new());
            output::write_outcome(&mut whole, &mut err, &outcome, format, false).expect("whole");
            let streamed = String::from_utf8(streamed).expect("utf-8");
            assert_eq!(
                streamed,
                String::from_utf8(whole).expect("utf-8"),
                "{format:?}"
            );
            assert!(!streamed.contains("p3-a-name"), "{format:?}: {streamed}");
            // p4, listed twice, shows as often as p1, listed once alike.
            assert_eq!(
                streamed.matches("p4").count(),
                streamed.matches("p1").count(),
                "{format:?}: {streamed}"
            );
        }
    }

    fn options(format: OutputFormat) -> Options<'static> {
        Options {
            view: View::Output(format),
            color: false,
            actions: None,
            run_record: false,
            spill_limit: 1,
            shared_reports: HashSet::new(),
            progress: None,
        }
    }

    #[test]
    fn a_file_changed_between_the_passes_stops_before_any_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pods.yaml");
        std::fs::write(&file, pods(3)).expect("write");
        let (auditor, mut resources) = first_pass(std::slice::from_ref(&file));
        std::fs::write(&file, format!("{}---\nkind: [unclosed\n", pods(CHUNK + 1)))
            .expect("rewrite");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let error = run(
            &auditor,
            &mut resources,
            &mut "".as_bytes(),
            options(OutputFormat::Json),
            &mut out,
            &mut err,
        )
        .expect_err("the second pass meets the bad document");
        let message = format!("{error:#}");
        assert!(message.starts_with("reading resources: "), "{message}");
        assert!(message.contains("pods.yaml: document"), "{message}");
        assert!(
            out.is_empty(),
            "no output: {}",
            String::from_utf8_lossy(&out)
        );
    }

    /// Takes `room` bytes, then fails.
    struct Full {
        taken: Vec<u8>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.taken.len() >= self.room {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.room - self.taken.len());
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn output_cut_short_is_an_error_and_no_valid_document() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pods.yaml");
        std::fs::write(&file, pods(20)).expect("write");
        for format in [OutputFormat::Json, OutputFormat::Sarif, OutputFormat::Junit] {
            let (auditor, mut resources) = first_pass(std::slice::from_ref(&file));
            let mut out = Full {
                taken: Vec::new(),
                room: 3000,
            };
            let error = run(
                &auditor,
                &mut resources,
                &mut "".as_bytes(),
                options(format),
                &mut out,
                &mut Vec::new(),
            )
            .expect_err("the output is full");
            assert!(format!("{error:#}").contains("disk full"), "{error:#}");
            let text = String::from_utf8_lossy(&out.taken);
            assert_eq!(text.len(), 3000, "{format:?}");
            match format {
                OutputFormat::Junit => assert!(!text.contains("</testsuites>")),
                _ => assert!(serde_json::from_str::<Value>(&text).is_err()),
            }
        }
    }

    #[test]
    fn counts_follow_the_findings_shown_and_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pods.yaml");
        std::fs::write(&file, pods(CHUNK + 3)).expect("write");
        let (auditor, mut resources) = first_pass(std::slice::from_ref(&file));
        let mut out = Vec::new();
        let tally = run(
            &auditor,
            &mut resources,
            &mut "".as_bytes(),
            options(OutputFormat::Summary),
            &mut out,
            &mut Vec::new(),
        )
        .expect("runs");
        assert_eq!(tally.shown(RuleStatus::Fail), CHUNK + 3);
        assert_eq!(tally.counted(RuleStatus::Fail), CHUNK + 3);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            format!(
                "pass: 0  fail: {}  warn: 0  error: 0  skip: 0  (1 policies, {} resources)\n",
                CHUNK + 3,
                CHUNK + 3
            )
        );
    }
}
