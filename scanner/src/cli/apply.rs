//! `polscan apply`: audit manifest files against policy files. Arguments
//! (and standard input, for `-`) enter; results on stdout, problems on
//! stderr and an exit code leave. Accepts `kyverno apply`'s spellings
//! (cmd/cli/kubectl-kyverno/commands/apply/command.go): policy paths as
//! arguments, `-f` values, `-u` user info, `-e` exceptions,
//! `--policy-report`, `--table`, `--audit-warn`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;

use super::apply_deadline::{self, ApplyProgress};
use super::apply_stream::{self, View};
use super::args::parse_deadline;
use super::kyverno_apply::PolicyActions;
#[cfg(test)]
use super::kyverno_apply::{self, AuditWarnScope};
use super::usage::UsageError;
use super::{output, sources, spill};
use super::{ApplyArgs, OutputFormat};
use polscan::audit::{self, AuditInput, Auditor, ResourceIndex};
use polscan::engine::values::Values;
use polscan::engine::ValueExt;
use polscan::loader::{self, Document};

/// The view the arguments ask for. `--policy-report` wins over `--table`,
/// as in `kyverno apply`; with `-o` it takes only yaml or json.
pub fn view(args: &ApplyArgs) -> Result<View, UsageError> {
    if args.policy_report {
        return match args.output {
            None | Some(OutputFormat::Yaml) => Ok(View::Output(OutputFormat::Yaml)),
            Some(OutputFormat::Json) => Ok(View::Output(OutputFormat::Json)),
            Some(other) => Err(UsageError(format!(
                "--policy-report prints PolicyReports as yaml or json; it cannot go with -o {}",
                clap::ValueEnum::to_possible_value(&other)
                    .map(|value| value.get_name().to_string())
                    .unwrap_or_default()
            ))),
        };
    }
    if args.table {
        return Ok(View::KyvernoTable {
            detailed: args.detailed_results,
        });
    }
    Ok(View::Output(args.output.unwrap_or(OutputFormat::Table)))
}

/// Every policy path: the arguments, then `--policy` values.
pub fn policy_paths(args: &ApplyArgs) -> Vec<PathBuf> {
    sources::unique_paths(args.policy_paths.iter().chain(&args.policies).cloned())
}

pub fn run(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    let wants_stdin =
        sources::reads_stdin(&policy_paths(args)) || sources::reads_stdin(&args.resources);
    // Kyverno reads nothing from a terminal (source.IsStdin); waiting for
    // typed YAML or auditing nothing would both puzzle, so say so.
    if wants_stdin && stdin.is_terminal() {
        return Err(UsageError(
            "`-` reads YAML from standard input, which is a terminal: pipe the documents in \
             (helm template chart | polscan apply -p - -r manifests/)"
                .into(),
        )
        .into());
    }
    let deadline = parse_deadline("--timeout", &args.timeout)?;
    let args = args.clone();
    apply_deadline::run_within(deadline, move |progress| {
        let stdout = std::io::stdout();
        let streams = Streams {
            stdin: &mut std::io::stdin().lock(),
            out: &mut stdout.lock(),
            // Not locked for the run: at the deadline `main` writes the
            // error line to stderr while this thread may still be running.
            err: &mut super::diag::Stderr::new(),
            color: output::use_color(),
            spill_limit: spill::DEFAULT_LIMIT,
            progress: Some(progress),
        };
        run_to(&args, streams)
    })
}

/// `run` with standard input given and no deadline, for tests.
#[cfg(test)]
pub fn run_with_stdin(args: &ApplyArgs, stdin: &mut dyn Read) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let streams = Streams {
        stdin,
        out: &mut stdout.lock(),
        err: &mut stderr.lock(),
        color: output::use_color(),
        spill_limit: spill::DEFAULT_LIMIT,
        progress: None,
    };
    run_to(args, streams)
}

/// Where `apply` reads and writes, and how.
struct Streams<'a> {
    stdin: &'a mut dyn Read,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    color: bool,
    /// Bytes of output records held in memory before they go to disk.
    spill_limit: usize,
    /// What the run is at, for `--timeout`'s message.
    progress: Option<&'a ApplyProgress>,
}

/// `run` with its streams given. Resources are read twice: a first pass
/// checks every document and gathers what evaluating any one needs
/// (Namespaces, params); the second evaluates them a chunk at a time and
/// streams the output ([`apply_stream`]), so memory does not grow with the
/// number of manifests.
fn run_to(args: &ApplyArgs, streams: Streams<'_>) -> anyhow::Result<ExitCode> {
    let stdin = &mut *streams.stdin;
    // The run record's times follow a test's POLSCAN_TEST_NOW, as a
    // scan's do (verify49 V49-8).
    let started = polscan::clock::now();
    let phase = |phase| {
        if let Some(progress) = streams.progress {
            progress.phase(phase);
        }
    };
    phase("reading policies");
    let view = view(args)?;
    let policies = policy_paths(args);
    if let Err(err) = sources::check_stdin_use(&policies, &args.resources) {
        return Err(UsageError(err.to_string()).into());
    }
    let mut policy_documents = sources::load(&policies, stdin).context("reading policies")?;
    require_a_policy(&policies, &policy_documents)?;
    phase("reading resources");
    let mut resources = sources::Rereadable::new(&args.resources);
    let mut index = ResourceIndex::new(&policy_documents);
    let mut prepass = apply_stream::Prepass::default();
    let reports = matches!(
        view,
        View::Output(OutputFormat::Yaml) | View::Output(OutputFormat::Json)
    );
    resources
        .visit(stdin, &mut |doc| -> Result<(), sources::SourceError> {
            let admitted = audit::admit(doc);
            index.record(&admitted);
            prepass.observe(&admitted);
            Ok(())
        })
        .context("reading resources")?;
    require_a_resource(&args.resources, prepass.resources())?;
    policy_documents.extend(load_exceptions(&args.exceptions)?);
    let values = match &args.values {
        Some(path) => {
            let docs = loader::load_paths(std::slice::from_ref(path)).context("reading values")?;
            let first = docs
                .into_iter()
                .next()
                .with_context(|| format!("{}: empty values file", path.display()))?;
            Values::from_document(&first.value)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{}", path.display()))?
        }
        None => Values::default(),
    };
    let requester = match &args.user_info {
        Some(path) => {
            let first = loader::load_paths(std::slice::from_ref(path))
                .context("reading the user info file")?
                .into_iter()
                .next()
                .with_context(|| format!("{}: empty user info file", path.display()))?;
            check_user_info(&first.value)
                .with_context(|| format!("{}: failed to load request info", first.origin))?;
            Some(polscan::kyverno_test::parse_user_info(&first.value))
        }
        None => None,
    };
    let context = match &args.context_file {
        Some(path) => loader::load_paths(std::slice::from_ref(path))
            .context("reading the context file")?
            .into_iter()
            .next(),
        None => None,
    };
    let input = AuditInput {
        context,
        policy_documents,
        resource_documents: Vec::new(),
        values,
        requester,
        include_non_background: args.include_non_background,
    };
    if let Some((first, count)) = prepass.unreportable() {
        let more = match count {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        if reports {
            // red22 F5: refused when read, naming the document, where the
            // reports' shaping failed after evaluating everything.
            anyhow::bail!(
                "reading resources: {first}{more}: a PolicyReport names each resource by apiVersion, kind and name, and the API server refuses an object without them; add it (views without reports, -o table, evaluate it as Kyverno does)"
            );
        }
        writeln!(
            streams.err,
            "warning: {first}{more}: the API server would refuse it; evaluated as given, as Kyverno does"
        )?;
    }
    // A namespaceSelector reads the labels of the Namespace documents
    // given (or --values'); one not given reads as unlabelled, as in the
    // Kyverno CLI, so the selector matches nothing there — said, since a
    // gate on one team's folder passed a violating manifest (walk28 F9).
    let selecting: Vec<String> = input
        .policy_documents
        .iter()
        .filter(|d| holds_key(&d.value, "namespaceSelector"))
        .map(|d| {
            let text = |pointer: &str| d.value.pointer(pointer).and_then(|v| v.as_str());
            let name = text("/metadata/name").unwrap_or("<unnamed>");
            match (text("/kind"), text("/metadata/namespace")) {
                (Some(kind), Some(namespace)) => format!("{kind} {namespace}/{name}"),
                (Some(kind), None) => format!("{kind} {name}"),
                (None, _) => name.to_string(),
            }
        })
        .collect();
    if !selecting.is_empty() {
        let known = input.values.namespace_labels();
        let unknown: Vec<&str> = prepass
            .namespaces()
            .iter()
            .filter(|ns| !index.namespace_labels().contains_key(*ns) && !known.contains_key(*ns))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            writeln!(
                streams.err,
                "warning: {} select(s) namespaces by label (namespaceSelector), and the Namespace(s) {} are not among the resources nor in --values: their labels read as none, as the Kyverno CLI reads them, so such a selector matches nothing there; give their Namespace manifests with -r (or their labels in --values namespaceSelector)",
                some_of(&selecting),
                unknown.join(", ")
            )?;
        }
    }
    phase("loading policies");
    let actions = args.audit_warn.then(|| {
        let mut labels = index.namespace_labels().clone();
        labels.extend(input.values.namespace_labels());
        PolicyActions::with_namespace_labels(&input.policy_documents, labels)
    });
    let auditor = Auditor::new(input, index);
    phase("evaluating resources");
    let tally = apply_stream::run(
        &auditor,
        &mut resources,
        stdin,
        apply_stream::Options {
            view,
            color: streams.color,
            actions: actions.as_ref(),
            run_record: args.run_record.is_some(),
            spill_limit: streams.spill_limit,
            shared_reports: prepass.into_shared(),
            progress: streams.progress,
        },
        streams.out,
        streams.err,
    )?;
    let invalid = auditor
        .problems()
        .iter()
        .filter(|p| p.invalid_policy)
        .count();
    let code = output::exit_code_of_counts(invalid, |s| tally.counted(s), args.fail_on);
    let shown_code = output::exit_code_of_counts(invalid, |s| tally.shown(s), args.fail_on);
    note_incomplete(streams.err, invalid)?;
    note_nothing_checked(streams.err, tally.shown.values().sum(), invalid)?;
    note_audit_warn(streams.err, code, shown_code)?;
    if let Some(path) = &args.run_record {
        write_run_record(path, tally.scan_outcome(&auditor), started)?;
    }
    Ok(code)
}

/// A CI gate whose policy folder is empty (a wrong checkout, a moved
/// folder) passed with "0 policies": an audit that checks nothing is
/// refused, naming the paths.
fn require_a_policy(paths: &[PathBuf], documents: &[Document]) -> anyhow::Result<()> {
    use polscan::engine::DocumentKind;
    let evaluated = documents.iter().any(|document| {
        matches!(
            DocumentKind::of(&document.value),
            Some(
                DocumentKind::KyvernoPolicy
                    | DocumentKind::ValidatingPolicy
                    | DocumentKind::AdmissionPolicy
            )
        )
    });
    if evaluated {
        return Ok(());
    }
    let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    anyhow::bail!(
        "no policy in {} ({} document(s), none a ClusterPolicy, Policy, ValidatingPolicy or ValidatingAdmissionPolicy): nothing would be checked",
        named.join(", "),
        documents.len()
    )
}

/// The same for resources (walk25 F3): an empty `-r` file or folder, or
/// documents without a kind, passed `--fail-on fail` with "0 resources".
fn require_a_resource(paths: &[PathBuf], resources: usize) -> anyhow::Result<()> {
    if resources > 0 {
        return Ok(());
    }
    let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    anyhow::bail!(
        "no resource in {} (no document with a kind that is not a policy): nothing would be checked",
        named.join(", ")
    )
}

/// The first three of `names`, then how many more.
fn some_of(names: &[String]) -> String {
    match names.len() {
        0..=3 => names.join(", "),
        n => format!("{} and {} more", names[..3].join(", "), n - 3),
    }
}

/// Invalid policies are each a warning naming them as they are met; the
/// exit code 2 they give is said once as an error, as `scan` says an
/// incomplete scan, so a log reader does not see only warnings.
fn note_incomplete(err: &mut dyn Write, invalid: usize) -> std::io::Result<()> {
    if invalid > 0 {
        writeln!(
            err,
            "error: the audit is incomplete: {invalid} invalid polic{} skipped (named above), exit 2",
            if invalid == 1 { "y was" } else { "ies were" }
        )?;
    }
    Ok(())
}

/// Policies that match none of the resources (a misspelt kind, a
/// namespace selector no manifest meets) made a `--fail-on` gate pass
/// with "0 results" unsaid: warned, the exit code left as Kyverno's CLI
/// gives it.
fn note_nothing_checked(
    err: &mut dyn Write,
    results: usize,
    invalid: usize,
) -> std::io::Result<()> {
    if results == 0 && invalid == 0 {
        writeln!(
            err,
            "warning: no policy applied to any resource: 0 results (the policies' match — kinds, namespaces, selectors — meets none of the resources given, or their rules are ones an audit does not evaluate: see any warning above); --fail-on passes with nothing checked"
        )?;
    }
    Ok(())
}

/// --audit-warn shows some failures as warnings that still count (VAP and
/// ValidatingPolicy failures, as in Kyverno's processor/result.go): say so
/// when they alone decide the exit code.
fn note_audit_warn(err: &mut dyn Write, code: ExitCode, shown: ExitCode) -> std::io::Result<()> {
    if code != ExitCode::SUCCESS && shown == ExitCode::SUCCESS {
        writeln!(
            err,
            "note: exit 1: --fail-on counts the failures --audit-warn shows as warnings for ValidatingAdmissionPolicies and ValidatingPolicies"
        )?;
    }
    Ok(())
}

/// The audit with every resource and finding held, as `apply` ran before
/// it streamed: the reference the streamed views are tested against.
#[cfg(test)]
fn run_whole(
    args: &ApplyArgs,
    view: View,
    mut input: AuditInput,
    resource_documents: Vec<Document>,
    started: chrono::DateTime<chrono::Utc>,
    streams: Streams<'_>,
) -> anyhow::Result<ExitCode> {
    let Streams {
        out, err, color, ..
    } = streams;
    let actions = args
        .audit_warn
        .then(|| PolicyActions::new(&input.policy_documents, &resource_documents, &input.values));
    input.resource_documents = resource_documents;
    let outcome = audit::audit(input);
    let (shown, counted) = match &actions {
        Some(actions) => (
            actions.audit_warned(&outcome, AuditWarnScope::Shown),
            actions.audit_warned(&outcome, AuditWarnScope::Counted),
        ),
        None => (outcome.clone(), outcome),
    };
    match view {
        View::Output(format) => output::write_outcome(out, err, &shown, format, color)?,
        View::KyvernoTable { detailed } => {
            for problem in &shown.problems {
                writeln!(err, "warning: {problem}")?;
            }
            write!(
                out,
                "{}",
                kyverno_apply::results_table(&shown, detailed, color)
            )?;
        }
    }
    let code = output::exit_code(&counted, args.fail_on);
    note_incomplete(err, counted.invalid_policies())?;
    note_nothing_checked(err, shown.findings.len(), counted.invalid_policies())?;
    note_audit_warn(err, code, output::exit_code(&shown, args.fail_on))?;
    if let Some(path) = &args.run_record {
        write_run_record(path, scan_outcome_of(shown), started)?;
    }
    Ok(code)
}

/// Refuses fields a Kyverno CLI `UserInfo` (cmd/cli/kubectl-kyverno/apis/
/// v1alpha1/user_info.go: RequestInfo's roles, clusterRoles and
/// authentication/v1 userInfo) lacks, as its strict decoding does
/// (userinfo/userinfo.go `yaml.UnmarshalStrict`): a misspelt `clusterroles`
/// would otherwise audit as nobody.
fn check_user_info(value: &Value) -> anyhow::Result<()> {
    const TOP: [&str; 6] = [
        "apiVersion",
        "kind",
        "metadata",
        "roles",
        "clusterRoles",
        "userInfo",
    ];
    const USER: [&str; 4] = ["username", "uid", "groups", "extra"];
    let unknown = |object: Option<&serde_json::Map<String, Value>>, known: &[&str], at: &str| {
        object
            .into_iter()
            .flat_map(|map| map.keys())
            .find(|key| !known.contains(&key.as_str()))
            .map(|key| format!("unknown field \"{at}{key}\""))
    };
    let problem = unknown(value.as_object(), &TOP, "").or_else(|| {
        unknown(
            value.get("userInfo").and_then(Value::as_object),
            &USER,
            "userInfo.",
        )
    });
    match problem {
        Some(problem) => Err(anyhow::Error::msg(problem)),
        None => Ok(()),
    }
}

/// PolicyException documents from `--exception` files, for the audit's
/// exception handling. As the Kyverno CLI's exception loader
/// (cmd/cli/kubectl-kyverno/exception/load.go) a document of another kind
/// is an error.
fn load_exceptions(paths: &[PathBuf]) -> anyhow::Result<Vec<Document>> {
    let documents = loader::load_paths(paths).context("reading exceptions")?;
    for doc in &documents {
        if !is_policy_exception(&doc.value) {
            let api_version = doc.value.str_field("apiVersion");
            let kind = doc.value.str_field("kind");
            anyhow::bail!(
                "{}: policy exception type not supported: {}, Kind={}",
                doc.origin,
                api_version.unwrap_or(""),
                kind.unwrap_or("")
            );
        }
    }
    Ok(documents)
}

/// The PolicyException versions Kyverno's exception loader takes:
/// kyverno.io v2beta1 and v2, policies.kyverno.io v1alpha1, v1beta1, v1.
pub fn is_policy_exception(value: &Value) -> bool {
    value.str_field("kind") == Some("PolicyException")
        && matches!(
            value.str_field("apiVersion"),
            Some(
                "kyverno.io/v2beta1"
                    | "kyverno.io/v2"
                    | "policies.kyverno.io/v1alpha1"
                    | "policies.kyverno.io/v1beta1"
                    | "policies.kyverno.io/v1"
            )
        )
}

/// What the run record says of a whole outcome: its counts from its
/// findings.
#[cfg(test)]
fn scan_outcome_of(outcome: polscan::audit::AuditOutcome) -> polscan::scan::ScanOutcome {
    let mut status_counts = std::collections::BTreeMap::new();
    let mut result_counts = std::collections::BTreeMap::new();
    for finding in &outcome.findings {
        *status_counts.entry(finding.reported_status()).or_default() += 1;
        *result_counts
            .entry(polscan::scan::ResultKey::of(finding))
            .or_default() += 1;
    }
    polscan::scan::ScanOutcome {
        audit: outcome,
        status_counts,
        result_counts,
        // An audit applies every exception it is given.
        exceptions: polscan::scan::ExceptionScope::Given,
        ..polscan::scan::ScanOutcome::default()
    }
}

/// The record a cluster scan keeps in its ConfigMap, for an audit of files:
/// complete unless a policy was invalid (a file that cannot be read stops
/// `apply` before this point).
fn write_run_record(
    path: &std::path::Path,
    scan_outcome: polscan::scan::ScanOutcome,
    started: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "polscan-last-run".into());
    let record = polscan::scan::last_run::config_map(
        "polscan-apply",
        &name,
        Ok(&scan_outcome),
        started,
        polscan::clock::now(),
    );
    let text = serde_yaml::to_string(&record).context("encoding the run record")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Whether `value` holds `key` at any depth.
fn holds_key(value: &serde_json::Value, key: &str) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            map.contains_key(key) || map.values().any(|item| holds_key(item, key))
        }
        serde_json::Value::Array(items) => items.iter().any(|item| holds_key(item, key)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{usage, Command};

    fn apply_args(args: &[&str]) -> ApplyArgs {
        let argv = ["polscan", "apply"].iter().chain(args).copied();
        match usage::parse(argv) {
            Ok(cli) => match cli.command {
                Command::Apply(args) => args,
                other => panic!("not apply: {other:?}"),
            },
            Err(err) => panic!("{args:?}: {}", err.render()),
        }
    }

    fn parse_error(args: &[&str]) -> clap::Error {
        let argv = ["polscan", "apply"].iter().chain(args).copied();
        match usage::parse(argv) {
            Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
            Err(err) => err,
        }
    }

    fn paths(items: &[&str]) -> Vec<PathBuf> {
        items.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn policies_as_arguments_and_flags_with_comma_lists() {
        let args = apply_args(&[
            "a.yaml",
            "dir/",
            "-p",
            "c.yaml,d.yaml",
            "-r",
            "r1.yaml,r2.yaml",
            "-r",
            "r3.yaml",
        ]);
        assert_eq!(
            policy_paths(&args),
            paths(&["a.yaml", "dir/", "c.yaml", "d.yaml"])
        );
        assert_eq!(args.resources, paths(&["r1.yaml", "r2.yaml", "r3.yaml"]));
        // As with pflag's StringSlice, a flag takes one value: the next
        // word is a policy path.
        let args = apply_args(&["-r", "a.yaml", "b.yaml"]);
        assert_eq!(args.resources, paths(&["a.yaml"]));
        assert_eq!(policy_paths(&args), paths(&["b.yaml"]));
        let args = apply_args(&["--resources", "x.yaml", "-", "--policy", "p.yaml"]);
        assert_eq!(args.resources, paths(&["x.yaml"]));
        assert_eq!(policy_paths(&args), paths(&["-", "p.yaml"]));
        // walk39 F14: one file given twice is read once.
        let args = apply_args(&[
            "p.yaml",
            "--policy",
            "p.yaml,q.yaml",
            "-p",
            "-",
            "-",
            "-r",
            "r.yaml",
        ]);
        assert_eq!(policy_paths(&args), paths(&["p.yaml", "-", "q.yaml"]));
        let dir = std::env::temp_dir().join(format!("polscan-unique-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("p.yaml"), "kind: ClusterPolicy\n").expect("file");
        let same = [dir.join("p.yaml"), dir.join(".").join("p.yaml")];
        assert_eq!(sources::unique_paths(same.clone()), [same[0].clone()]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn kyverno_spellings_of_files() {
        for flag in ["-f", "--values-file", "--values"] {
            let args = apply_args(&["p.yaml", "-r", "r.yaml", flag, "v.yaml"]);
            assert_eq!(args.values, Some(PathBuf::from("v.yaml")), "{flag}");
        }
        let args = apply_args(&[
            "p.yaml",
            "-r",
            "r.yaml",
            "-u",
            "user.yaml",
            "-e",
            "e1.yaml,e2.yaml",
            "--exceptions",
            "e3.yaml",
        ]);
        assert_eq!(args.user_info, Some(PathBuf::from("user.yaml")));
        assert_eq!(args.exceptions, paths(&["e1.yaml", "e2.yaml", "e3.yaml"]));
        let args = apply_args(&[
            "p.yaml",
            "-r",
            "r.yaml",
            "--userinfo",
            "u.yaml",
            "--exception",
            "e.yaml",
        ]);
        assert_eq!(args.user_info, Some(PathBuf::from("u.yaml")));
        assert_eq!(args.exceptions, paths(&["e.yaml"]));
    }

    #[test]
    fn existing_flags_keep_their_meaning() {
        let args = apply_args(&[
            "--policy",
            "p.yaml",
            "--resource",
            "r.yaml",
            "-o",
            "sarif",
            "--fail-on",
            "warn",
            "--include-non-background",
            "--run-record",
            "rec.yaml",
            "--context-file",
            "ctx.yaml",
        ]);
        assert_eq!(policy_paths(&args), paths(&["p.yaml"]));
        assert_eq!(args.resources, paths(&["r.yaml"]));
        assert_eq!(view(&args).ok(), Some(View::Output(OutputFormat::Sarif)));
        assert_eq!(args.fail_on, Some(super::super::FailOn::Warn));
        assert!(args.include_non_background && !args.audit_warn);
        assert_eq!(args.run_record, Some(PathBuf::from("rec.yaml")));
        assert_eq!(args.context_file, Some(PathBuf::from("ctx.yaml")));
        let default = apply_args(&["-p", "p.yaml", "-r", "r.yaml"]);
        assert_eq!(view(&default).ok(), Some(View::Output(OutputFormat::Table)));
    }

    #[test]
    fn the_view_follows_kyverno_precedence() {
        let report = apply_args(&["p.yaml", "-r", "r.yaml", "--policy-report"]);
        assert_eq!(view(&report).ok(), Some(View::Output(OutputFormat::Yaml)));
        let json = apply_args(&["p.yaml", "-r", "r.yaml", "--policy-report", "-o", "json"]);
        assert_eq!(view(&json).ok(), Some(View::Output(OutputFormat::Json)));
        let both = apply_args(&["p.yaml", "-r", "r.yaml", "--policy-report", "--table"]);
        assert_eq!(view(&both).ok(), Some(View::Output(OutputFormat::Yaml)));
        let table = apply_args(&["p.yaml", "-r", "r.yaml", "-t", "--detailed-results"]);
        assert_eq!(
            view(&table).ok(),
            Some(View::KyvernoTable { detailed: true })
        );
        let wrong = apply_args(&["p.yaml", "-r", "r.yaml", "--policy-report", "-o", "junit"]);
        let err = view(&wrong).expect_err("junit is no report");
        assert!(err.to_string().contains("-o junit"), "{err}");
        let err = parse_error(&["p.yaml", "-r", "r.yaml", "--table", "-o", "yaml"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn missing_policies_or_resources_are_usage_errors() {
        let err = parse_error(&["-r", "r.yaml"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert!(
            err.render().to_string().contains("<POLICY|--policy"),
            "{}",
            err.render()
        );
        let err = parse_error(&["p.yaml"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert!(err.render().to_string().contains("--resource"));
    }

    const POLICY: &str = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: needs-app}\nspec:\n  rules:\n  - name: app\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    validate: {pattern: {metadata: {labels: {app: '?*'}}}}\n";
    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: ns}\n";

    #[test]
    fn policies_from_injected_stdin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pod = dir.path().join("pod.yaml");
        std::fs::write(&pod, POD).expect("write");
        let pod = pod.display().to_string();
        let args = apply_args(&["-p", "-", "-r", &pod, "-o", "summary", "--fail-on", "fail"]);
        let code = run_with_stdin(&args, &mut POLICY.as_bytes()).expect("runs");
        assert_eq!(
            code,
            ExitCode::from(1),
            "the pod fails the policy read from stdin"
        );
        // Nothing on stdin: no policy, so nothing would be checked.
        let err = run_with_stdin(&args, &mut "".as_bytes()).expect_err("no policy");
        assert!(
            err.to_string().contains("no policy in - (0 document(s)"),
            "{err}"
        );
    }

    #[test]
    fn stdin_for_both_is_a_usage_error() {
        let args = apply_args(&["-", "-r", "-"]);
        let err = run_with_stdin(&args, &mut POLICY.as_bytes()).expect_err("both from stdin");
        assert!(err.is::<UsageError>(), "{err:#}");
        assert!(
            err.to_string().contains("either policies or resources"),
            "{err}"
        );
    }

    #[test]
    fn user_info_fields_are_checked_as_kyverno_decodes_them() {
        let good = serde_json::json!({
            "apiVersion": "cli.kyverno.io/v1alpha1", "kind": "UserInfo",
            "metadata": {"name": "u"}, "clusterRoles": ["admin"], "roles": ["ns:dev"],
            "userInfo": {"username": "alice", "groups": ["devs"]}
        });
        assert!(check_user_info(&good).is_ok());
        let misspelt = serde_json::json!({"clusterroles": ["admin"]});
        let err = check_user_info(&misspelt).expect_err("unknown field");
        assert_eq!(err.to_string(), "unknown field \"clusterroles\"");
        let nested = serde_json::json!({"userInfo": {"name": "alice"}});
        let err = check_user_info(&nested).expect_err("unknown field");
        assert_eq!(err.to_string(), "unknown field \"userInfo.name\"");
    }

    #[test]
    fn exception_files_hold_only_exceptions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("e.yaml");
        std::fs::write(&file, format!("apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {{name: e}}\nspec: {{}}\n---\n{POLICY}")).expect("write");
        let err = load_exceptions(&[file]).expect_err("a policy is no exception");
        assert!(err.to_string().contains("e.yaml#2"), "{err}");
        assert!(err.to_string().contains("not supported"), "{err}");
        for version in [
            "kyverno.io/v2",
            "kyverno.io/v2beta1",
            "policies.kyverno.io/v1",
        ] {
            let value = serde_json::json!({"apiVersion": version, "kind": "PolicyException"});
            assert!(is_policy_exception(&value), "{version}");
        }
        let v1 = serde_json::json!({"apiVersion": "kyverno.io/v1", "kind": "PolicyException"});
        assert!(!is_policy_exception(&v1));
    }

    /// Policies whose results land in every view's order in a different
    /// place: two policies of one name (a ClusterPolicy and a namespaced
    /// Policy), an unscored one, mixed actions, multi-line messages, a
    /// ValidatingAdmissionPolicy with params and a policy on a
    /// cluster-scoped kind.
    const STREAM_POLICIES: &str = r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: labels}
spec:
  validationFailureAction: Audit
  validationFailureActionOverrides: [{action: Enforce, namespaces: [prod]}]
  rules:
  - name: app
    match: {any: [{resources: {kinds: [Pod, ConfigMap, Namespace]}}]}
    validate: {message: "needs an app label", pattern: {metadata: {labels: {app: '?*'}}}}
  - name: a-team
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate: {message: "needs a team\nlabel  ", pattern: {metadata: {labels: {team: '?*'}}}}
---
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: labels, namespace: prod}
spec:
  validationFailureAction: Enforce
  rules:
  - name: app
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate: {pattern: {metadata: {labels: {tier: '?*'}}}}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: advisory
  annotations: {policies.kyverno.io/scored: "false", policies.kyverno.io/severity: high}
spec:
  rules:
  - name: no-latest
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate: {message: "pin the image", pattern: {spec: {containers: [{image: "!*:latest"}]}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= int(params.data.max)
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-replicas}
spec:
  policyName: max-replicas
  validationActions: [Audit]
  paramRef: {name: limits, parameterNotFoundAction: Deny}
"#;

    /// Resources in two files and a List: Pods before their Namespace,
    /// the same Pods again (their reports merge), a document without a
    /// kind, params, and a resource named by uid alone in its report.
    fn stream_corpus() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut pods = String::new();
        for i in 0..40 {
            let namespace = ["prod", "dev", "team-a"][i % 3];
            let labels = match i % 4 {
                0 => "{}".to_string(),
                1 => format!("{{app: a{i}}}"),
                2 => format!("{{app: a{i}, team: t}}"),
                _ => format!("{{team: t, tier: x{i}}}"),
            };
            let image = if i % 5 == 0 {
                "nginx:latest"
            } else {
                "nginx:1"
            };
            let uid = if i % 6 == 0 {
                format!(", uid: 0000000{}-aaaa-bbbb-cccc-dddddddddddd", i % 10)
            } else {
                String::new()
            };
            pods.push_str(&format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: pod-{i}, namespace: {namespace}, labels: {labels}{uid}}}\nspec: {{containers: [{{name: c, image: '{image}'}}]}}\n"
            ));
        }
        let more = "---\nmetadata: {name: no-kind}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {app: p}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: limits, namespace: dev}\ndata: {max: '3'}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: dev}\nspec: {replicas: 5}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: small, namespace: dev}\nspec: {replicas: 1}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: lost, namespace: prod}\nspec: {replicas: 1}\n";
        std::fs::create_dir(dir.path().join("manifests")).expect("mkdir");
        std::fs::write(dir.path().join("manifests/a.yaml"), format!("{pods}{more}"))
            .expect("write");
        std::fs::write(dir.path().join("manifests/b.yaml"), &pods).expect("write");
        let list = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "listed", "namespace": "dev", "labels": {"app": "l"}}, "spec": {"containers": [{"name": "c", "image": "x:latest"}]}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod-1", "namespace": "dev"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}]}"#;
        std::fs::write(dir.path().join("manifests/c.json"), list).expect("write");
        std::fs::write(dir.path().join("policies.yaml"), STREAM_POLICIES).expect("write");
        std::fs::write(dir.path().join("empty.yaml"), "# nothing\n").expect("write");
        dir
    }

    /// Stdout, stderr and exit code of one run.
    type Run = (String, String, ExitCode);

    fn streamed(args: &ApplyArgs, color: bool, spill_limit: usize) -> Run {
        let (run, out) = try_streamed(args, color, spill_limit);
        let code = run.unwrap_or_else(|e| panic!("{args:?}: {e:#}"));
        let (out, err) = out;
        (out, err, code)
    }

    /// The run's exit code or error, and its stdout and stderr.
    fn try_streamed(
        args: &ApplyArgs,
        color: bool,
        spill_limit: usize,
    ) -> (anyhow::Result<ExitCode>, (String, String)) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let run = run_to(
            args,
            Streams {
                stdin: &mut "".as_bytes(),
                out: &mut out,
                err: &mut err,
                color,
                spill_limit,
                progress: None,
            },
        );
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("utf-8");
        (run, (text(out), text(err)))
    }

    /// The run as `apply` ran before it streamed: every resource and
    /// finding held, the whole outcome printed.
    fn whole(args: &ApplyArgs, color: bool) -> Run {
        let mut stdin = "".as_bytes();
        let input = AuditInput {
            policy_documents: sources::load(&policy_paths(args), &mut stdin).expect("policies"),
            include_non_background: args.include_non_background,
            ..AuditInput::default()
        };
        let documents = sources::load(&args.resources, &mut stdin).expect("resources");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_whole(
            args,
            view(args).expect("view"),
            input,
            documents,
            chrono::Utc::now(),
            Streams {
                stdin: &mut stdin,
                out: &mut out,
                err: &mut err,
                color,
                spill_limit: 0,
                progress: None,
            },
        )
        .unwrap_or_else(|e| panic!("{args:?}: {e:#}"));
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("utf-8");
        (text(out), text(err), code)
    }

    /// Report timestamps are the second of the run.
    fn without_time(text: &str) -> String {
        let time = regex::Regex::new(r#"seconds("?): \d+"#).expect("regex");
        time.replace_all(text, "seconds$1: X").into_owned()
    }

    #[test]
    fn every_view_streams_what_the_whole_outcome_prints() {
        let dir = stream_corpus();
        let root = dir.path().display().to_string();
        let policies = format!("{root}/policies.yaml");
        let manifests = format!("{root}/manifests");
        let views: [&[&str]; 10] = [
            &["-o", "table"],
            &["-o", "summary"],
            &["-o", "junit"],
            &["-o", "sarif"],
            &["-o", "yaml"],
            &["-o", "json"],
            &["-t"],
            &["-t", "--detailed-results"],
            &["-o", "json", "--audit-warn", "--fail-on", "fail"],
            &["-o", "table", "--audit-warn", "--fail-on", "warn"],
        ];
        for view_args in views {
            let mut argv = vec!["-p", policies.as_str(), "-r", manifests.as_str()];
            argv.extend_from_slice(view_args);
            let args = apply_args(&argv);
            for color in [false, true] {
                let (out, err, code) = whole(&args, color);
                assert!(out.len() > 60, "{view_args:?} shows results: {out}");
                // A limit of 1 byte writes every record to its own run.
                for limit in [1, spill::DEFAULT_LIMIT] {
                    let (s_out, s_err, s_code) = streamed(&args, color, limit);
                    assert_eq!(
                        without_time(&s_out),
                        without_time(&out),
                        "{view_args:?} colour {color} limit {limit}"
                    );
                    assert_eq!(s_err, err, "{view_args:?}");
                    assert_eq!(s_code, code, "{view_args:?}");
                }
            }
        }
    }

    /// walk25 F3: a gate whose resources are missing (an empty file or
    /// folder, documents without a kind) passed `--fail-on fail` with
    /// "0 resources"; it is refused, naming the paths, before any output.
    #[test]
    fn no_resources_are_refused_in_every_view() {
        let dir = stream_corpus();
        let root = dir.path().display().to_string();
        let policies = format!("{root}/policies.yaml");
        let empty = format!("{root}/empty.yaml");
        let kindless = format!("{root}/kindless.yaml");
        std::fs::write(&kindless, "metadata: {name: x}\n").expect("write");
        for resources in [&empty, &kindless] {
            for format in ["table", "summary", "junit", "sarif", "yaml", "json"] {
                let args = apply_args(&[
                    "-p",
                    &policies,
                    "-r",
                    resources,
                    "-o",
                    format,
                    "--fail-on",
                    "fail",
                ]);
                let (run, (out, _)) = try_streamed(&args, false, spill::DEFAULT_LIMIT);
                let refused = run.expect_err("no resource");
                assert!(
                    format!("{refused:#}").contains(&format!(
                        "no resource in {resources} (no document with a kind that is not a policy): nothing would be checked"
                    )),
                    "{format}: {refused:#}"
                );
                assert!(out.is_empty(), "{format}");
            }
        }
    }

    /// Policies that match none of the resources: a warning (the gate
    /// passed with "0 results" unsaid), in every view; none when a result
    /// is there.
    #[test]
    fn nothing_matched_is_warned() {
        let dir = stream_corpus();
        let root = dir.path().display().to_string();
        let policies = format!("{root}/nothing.yaml");
        std::fs::write(
            &policies,
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: only-cronjobs}\nspec:\n  rules:\n  - name: r\n    match: {any: [{resources: {kinds: [CronJob]}}]}\n    validate: {message: m, pattern: {metadata: {labels: {a: \"?*\"}}}}\n",
        )
        .expect("write");
        let pod = format!("{root}/pod.yaml");
        std::fs::write(
            &pod,
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: dev}\n",
        )
        .expect("write");
        for format in ["table", "summary", "json"] {
            let args = apply_args(&[
                "-p",
                &policies,
                "-r",
                &pod,
                "-o",
                format,
                "--fail-on",
                "fail",
            ]);
            let (run, (_, err)) = try_streamed(&args, false, spill::DEFAULT_LIMIT);
            assert_eq!(run.expect("runs"), ExitCode::SUCCESS, "{format}");
            assert!(
                err.contains("warning: no policy applied to any resource: 0 results"),
                "{format}: {err}"
            );
        }
        let args = apply_args(&[
            "-p",
            &format!("{root}/policies.yaml"),
            "-r",
            &pod,
            "-o",
            "summary",
        ]);
        let (_, (out, err)) = try_streamed(&args, false, spill::DEFAULT_LIMIT);
        assert!(!err.contains("no policy applied"), "{out}\n{err}");
    }

    /// red22 F5: a document without apiVersion is refused when read in a
    /// view of reports, naming it (it printed nothing and exited 2 with
    /// "input result #0 has a resource without `apiVersion`"), and
    /// evaluated with a warning in the others (as the table did, silently).
    #[test]
    fn a_resource_without_api_version_is_named_when_read() {
        let dir = stream_corpus();
        let root = dir.path().display().to_string();
        let bare = format!("{root}/bare.yaml");
        std::fs::write(
            &bare,
            "apiVersion: v1\nkind: Pod\nmetadata: {name: ok, namespace: dev}\n---\nkind: Pod\nmetadata: {name: noapi, namespace: dev}\n---\nkind: Pod\nmetadata: {name: other}\n",
        )
        .expect("write");
        let run = |format: &str| {
            let args = apply_args(&[
                "-p",
                &format!("{root}/policies.yaml"),
                "-r",
                &bare,
                "-o",
                format,
            ]);
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = run_to(
                &args,
                Streams {
                    stdin: &mut "".as_bytes(),
                    out: &mut out,
                    err: &mut err,
                    color: false,
                    spill_limit: spill::DEFAULT_LIMIT,
                    progress: None,
                },
            );
            let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("utf-8");
            (code, text(out), text(err))
        };
        for format in ["json", "yaml"] {
            let (code, out, _) = run(format);
            let err = format!("{:#}", code.expect_err("no report can name it"));
            assert!(
                err.contains(&format!(
                    "{bare}#2: Pod dev/noapi has no `apiVersion` (and 1 more)"
                )),
                "{err}"
            );
            assert!(out.is_empty(), "{out}");
        }
        let (code, out, err) = run("table");
        assert_eq!(code.expect("the table evaluates it"), ExitCode::SUCCESS);
        assert!(out.contains("noapi"), "{out}");
        assert!(
            err.contains(&format!("warning: {bare}#2: Pod dev/noapi has no `apiVersion` (and 1 more): the API server would refuse it")),
            "{err}"
        );
    }

    #[test]
    fn a_resource_without_a_name_gives_the_whole_outcome_s_error() {
        let dir = stream_corpus();
        let root = dir.path().display().to_string();
        let nameless = format!("{root}/nameless.yaml");
        std::fs::write(
            &nameless,
            "apiVersion: v1\nkind: Pod\nmetadata: {namespace: dev}\n",
        )
        .expect("write");
        let args = apply_args(&[
            "-p",
            &format!("{root}/policies.yaml"),
            "-r",
            &nameless,
            "-o",
            "json",
        ]);
        let err = run_to(
            &args,
            Streams {
                stdin: &mut "".as_bytes(),
                out: &mut Vec::new(),
                err: &mut Vec::new(),
                color: false,
                spill_limit: spill::DEFAULT_LIMIT,
                progress: None,
            },
        )
        .expect_err("a report needs a name");
        assert!(
            format!("{err:#}").contains(&format!("{nameless}#1: Pod has no `metadata.name`")),
            "{err:#}"
        );
        // Views without reports stream it.
        let args = apply_args(&[
            "-p",
            &format!("{root}/policies.yaml"),
            "-r",
            &nameless,
            "-o",
            "junit",
        ]);
        let (out, err, code) = streamed(&args, false, 1);
        let (whole_out, _, whole_code) = whole(&args, false);
        assert_eq!((out, code), (whole_out, whole_code));
        assert!(
            err.contains(
                "nameless.yaml#1: Pod has no `metadata.name`: the API server would refuse it"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_bad_document_stops_apply_before_any_output_naming_its_file() {
        let dir = stream_corpus();
        let root = dir.path().display().to_string();
        std::fs::write(dir.path().join("manifests/b.yaml"), "kind: [unclosed\n").expect("write");
        let args = apply_args(&[
            "-p",
            &format!("{root}/policies.yaml"),
            "-r",
            &format!("{root}/manifests"),
            "-o",
            "json",
        ]);
        let mut out = Vec::new();
        let err = run_to(
            &args,
            Streams {
                stdin: &mut "".as_bytes(),
                out: &mut out,
                err: &mut Vec::new(),
                color: false,
                spill_limit: spill::DEFAULT_LIMIT,
                progress: None,
            },
        )
        .expect_err("bad yaml");
        let message = format!("{err:#}");
        assert!(message.starts_with("reading resources: "), "{message}");
        assert!(message.contains("b.yaml: document 1"), "{message}");
        assert!(out.is_empty(), "nothing written before the error");
    }
}
