//! `polscan evidence`, `polscan evidence verify` and `polscan evidence
//! merge` (several environments' packages, verified, into one decision,
//! written as a merged package): gather reports,
//! policies, the scan record and the cluster's identity (from the cluster,
//! or from files with `--from`; policy files given with `--policies-from`
//! are added in either case), build the evidence, compare it with a
//! previous package, write the package, and print the verdicts. Flags the
//! chosen source would ignore are refused.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use polscan::engine::ValueExt;
use serde_json::Value;

use super::args::{deadline_text, parse_deadline, parse_duration, runtime, split_list};
use super::diag::{out, say};
use super::evidence_recheck::RecheckInput;
use super::usage::UsageError;
use super::{EvidenceArgs, EvidenceCommand};
use polscan::cluster::{connect, evidence_source};
use polscan::evidence::ingest::owner_labels::OwnerLabels;
use polscan::evidence::model::{Decision, PROMOTE};
use polscan::evidence::{
    self, ingest::SoakInput, output::package, ClusterIdentity, EvidenceInput, ObjectName,
    ScanRecord, Verdict,
};
use polscan::loader;

pub fn run(args: &EvidenceArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        Some(EvidenceCommand::Verify { dir }) => return verify(dir),
        Some(EvidenceCommand::Merge {
            packages,
            out,
            force,
            require_ready,
        }) => return merge(packages, out, *force, *require_ready),
        None => {}
    }
    let Some(out) = &args.out else {
        return Err(UsageError(
            "--out <dir> is required (or `polscan evidence verify <dir>`)".into(),
        )
        .into());
    };
    // A malformed value is a usage error (exit 64), as clap's own are.
    let expiry_window = parse_duration(&args.expiry_window).ok_or_else(|| {
        UsageError(format!(
            "--expiry-window {:?}: expected a duration such as 14d, 2w or 36h",
            args.expiry_window
        ))
    })?;
    let min_soak = parse_duration(&args.min_soak).ok_or_else(|| {
        UsageError(format!(
            "--min-soak {:?}: expected a duration such as 7d, 1w or 36h, or 0 to turn the rule off",
            args.min_soak
        ))
    })?;
    let max_scan_age = parse_duration(&args.max_scan_age).ok_or_else(|| {
        UsageError(format!(
            "--max-scan-age {:?}: expected a duration such as 2d, 36h or 1w, or 0 for no bound",
            args.max_scan_age
        ))
    })?;
    if args.policy_repo.is_none() && !args.policy_values.is_empty() {
        return Err(UsageError(
            "--policy-values names values files of --policy-repo: give the checkout with --policy-repo".into(),
        )
        .into());
    }
    // A values file that is not there is a typo: without it the package
    // would patch nothing, or another environment's file (walk49 W49-5:
    // a warning, and a package without patches).
    if let Some(repo) = &args.policy_repo {
        if let Some(missing) = args
            .policy_values
            .iter()
            .find(|v| !std::path::Path::new(v).is_file() && !repo.join(v).is_file())
        {
            return Err(UsageError(format!(
                "--policy-values {missing}: no such file, from here or from --policy-repo {}",
                repo.display()
            ))
            .into());
        }
    }
    if let Some(path) = args.since.as_ref().filter(|path| {
        path.is_file()
            && !path
                .parent()
                .is_some_and(|dir| dir.join(evidence::output::package::MANIFEST).is_file())
    }) {
        // Nothing vouches for a lone evidence.json (verify26).
        say!(
            "warning: --since {}: no MANIFEST beside it, so it is read unverified; give the package's directory to have it verified",
            path.display()
        );
    }
    let previous = match &args.since {
        Some(path) => Some(
            package::read_previous(path).with_context(|| format!("--since {}", path.display()))?,
        ),
        None => None,
    };
    let mut input = EvidenceInput {
        reports: Default::default(),
        policies: Vec::new(),
        scan: None,
        owners: Default::default(),
        owner_labels: OwnerLabels::new(
            args.owner_labels
                .iter()
                .map(|key| key.trim().to_string())
                .filter(|key| !key.is_empty())
                .collect(),
        ),
        owner_selectors: Default::default(),
        identity: ClusterIdentity::default(),
        now: polscan::clock::now(),
        expiry_window,
        policy_filter: split_list(&args.policies),
        namespace_filter: split_list(&args.namespaces),
        unserved_policy_kinds: Vec::new(),
        policy_kinds_discovered: false,
        file_only_policies: Default::default(),
        still_present: None,
        soak: SoakInput {
            min_soak: Some(min_soak),
            min_scans: args.min_scans,
            max_scan_age: Some(max_scan_age).filter(|age| *age > chrono::Duration::zero()),
            // Read from the cluster; with --from there is none (unknown).
            history: None,
        },
    };
    // The resources the previous package found violating: the cluster is
    // asked whether those no result names now still exist.
    let previously_violating: Vec<ObjectName> = previous
        .iter()
        .flat_map(|previous| &previous.policies)
        .flat_map(|policy| policy.violations.iter().chain(&policy.excused))
        .map(|violation| (*violation.resource).clone())
        .collect();
    let mut problems = if args.from.is_empty() {
        from_cluster(args, &mut input, &previously_violating)?
    } else {
        // Flags only the cluster reads would be silently ignored.
        for (flag, given) in [
            ("--kubeconfig", args.kubeconfig.is_some()),
            ("--context", args.context.is_some()),
        ] {
            if given {
                return Err(UsageError(format!(
                    "{flag} reads from the cluster; with --from nothing is read from it: drop one of them"
                ))
                .into());
            }
        }
        from_files(args, &mut input)?
    };
    // The recheck evaluates what the evidence judges: a file's policy of
    // the same name as one in the cluster is not (the cluster's is used).
    let cluster_policies: BTreeSet<(String, String, String)> =
        input.policies.iter().map(identity_of).collect();
    if !args.policy_files.is_empty() {
        let files = loader::load_paths(&args.policy_files)
            .context("reading --policies-from")?
            .into_iter()
            .map(|d| d.value)
            .collect();
        problems.extend(add_policy_files(&mut input.policies, files));
        // Beside a cluster, what only the files hold is not in it (walk39
        // F17: a `kubectl patch` for a policy the cluster does not have).
        if input.policy_kinds_discovered {
            input.file_only_policies = input
                .policies
                .iter()
                .map(identity_of)
                .filter(|identity| !cluster_policies.contains(identity))
                .collect();
        }
    }
    for problem in &problems {
        say!("warning: {problem}");
    }
    // For a "did you mean" when --policy names nothing.
    let known_policies: Vec<String> = input
        .policies
        .iter()
        .filter_map(|d| d.pointer("/metadata/name").and_then(|n| n.as_str()))
        .map(str::to_string)
        .collect();
    let mut built = evidence::build(&input);
    // A --policy name that matches nothing is a typo: a usage error,
    // before any package is written, as scan's filters (walk47 W47-6: an
    // empty package and exit 0).
    let policy_filter = split_list(&args.policies);
    let unmatched: Vec<String> = policy_filter
        .iter()
        .filter(|f| {
            !built
                .policies
                .iter()
                .any(|p| p.info.name == **f || p.info.qualified_name() == **f)
        })
        .map(|name| {
            let hint =
                polscan::scan::selection::nearest(name, known_policies.iter().map(String::as_str))
                    .map(|near| format!(" (did you mean {near}?)"))
                    .unwrap_or_default();
            format!("--policy {name}: no such policy in the cluster's policies or reports{hint}")
        })
        .collect();
    if !unmatched.is_empty() {
        return Err(super::usage::UsageError(unmatched.join("; ")).into());
    }
    // The reports are the last recorded scan's snapshot: what was created
    // or changed since is checked before anything is called ready.
    // Without a scan record the recheck cannot know the scan's settings
    // (its PolicyExceptions, namespaces, kinds): what it found would be
    // read as new against reports it cannot match (verify36: a skipped,
    // excused Pod read as a new violator, ROLL BACK).
    if args.from.is_empty() && !args.no_recheck && input.scan.is_none() {
        evidence::verdict::recheck::not_rechecked(
            &mut built,
            "no scan record: the recheck would not know the scan's settings",
        );
    } else if args.from.is_empty() && !args.no_recheck {
        // The policies that would be ready, and every enforced one: a
        // violator created since is a rollback condition (verify35).
        let ready: BTreeSet<String> = built
            .policies
            .iter()
            .filter(|p| p.verdict == Verdict::Ready || (p.info.enforces() && !p.unserved()))
            .map(|p| p.info.qualified_name())
            .collect();
        if !ready.is_empty() {
            let policy_documents = if args.policy_files.is_empty() {
                Vec::new()
            } else {
                loader::load_paths(&args.policy_files)
                    .context("reading --policies-from")?
                    .into_iter()
                    .filter(|document| !cluster_policies.contains(&identity_of(&document.value)))
                    .collect()
            };
            // A record of an older polscan keeps no settings: what it does
            // keep of them.
            let settings = input.scan.as_ref().map(|scan| {
                scan.settings.clone().unwrap_or_else(|| {
                    let mut settings = std::collections::BTreeMap::new();
                    if let Some(evidence::run::exception_scope::ExceptionScope::Namespace {
                        namespace,
                    }) = &scan.policy_exceptions
                    {
                        settings.insert("--exception-namespace".to_string(), namespace.clone());
                    }
                    settings.insert("--namespace".to_string(), scan.namespaces.join(","));
                    settings.insert(
                        "--exclude-namespaces".to_string(),
                        scan.excluded_namespaces.join(","),
                    );
                    settings
                })
            });
            let recheck = super::evidence_recheck::recheck(RecheckInput {
                kubeconfig: args.kubeconfig.as_deref(),
                context: args.context.as_deref(),
                ready,
                settings: settings.as_ref(),
                policy_documents,
                namespaces: split_list(&args.namespaces),
                deadline: parse_deadline("--timeout", &args.timeout)?,
            });
            for gap in &recheck.gaps {
                say!("warning: the recheck of the cluster did not complete: {gap}");
            }
            evidence::verdict::recheck::apply(&mut built, &recheck);
        }
    } else {
        let why = if args.no_recheck {
            "--no-recheck"
        } else {
            "the reports were read from files (--from)"
        };
        evidence::verdict::recheck::not_rechecked(&mut built, why);
    }
    if let Some(previous) = &previous {
        if let Some(problem) = evidence::compare::lineage_problem(previous, &built) {
            let path = args
                .since
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            anyhow::bail!("--since {path}: {problem}; no package was written");
        }
        built.comparison = Some(evidence::compare::compare_with(
            previous,
            &built,
            &|policy, rule, resource| {
                input
                    .reports
                    .why_not_fixed(policy, rule, resource, input.still_present.as_ref())
            },
        ));
    }
    if let Some(repo) = &args.policy_repo {
        // Git's policies are checked against the documents that soaked.
        for warning in super::policy_repo::attach(
            &mut built,
            &input.policies,
            repo,
            &args.policy_values,
            previous.as_ref(),
            !policy_filter.is_empty(),
        )? {
            say!("warning: {warning}");
        }
    }
    // The evidence keeps (shares) what it needs of the reports' results:
    // the rest is freed before the package is written.
    drop(input);
    // After the Git patches: a ready breach's instruction is its patch.
    evidence::apply_baseline(
        &mut built,
        args.environment.as_deref(),
        &args.baseline_severities,
    );
    // Last: the decisions read the comparison, the patches and the baseline.
    evidence::decide(&mut built);
    if built.baseline.is_none() && !args.baseline_severities.is_empty() {
        say!(
            "warning: --baseline-severity applies only with --environment production: no baseline judged"
        );
    }
    if let Some(baseline) = built.baseline.as_ref().filter(|b| b.is_empty()) {
        say!(
            "warning: the production baseline is empty: no {} has severity {} (policies.kyverno.io/severity), so none is required to be enforced; {}",
            baseline.policies_judged(),
            baseline.severities.join(", "),
            baseline.empty_advice()
        );
    }
    if let Some(baseline) = built.baseline.as_ref().filter(|b| !b.breaches.is_empty()) {
        say!(
            "baseline breached: {} polic(ies) of severity {} not enforced: {}",
            baseline.breaches.len(),
            baseline.severities.join(", "),
            baseline
                .breaches
                .iter()
                .map(|b| b.policy.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let missing: Vec<String> = built
        .policies
        .iter()
        .filter(|p| !p.found)
        .map(|p| p.info.qualified_name())
        .collect();
    if !missing.is_empty() {
        // The usual cause: policies scanned as files (`scan --policy`).
        say!(
            "warning: the reports name {} but no such policy was {}: give its files with --policies-from, or it stays unknown (never ready)",
            missing.join(", "),
            if args.from.is_empty() {
                "in the cluster or --policies-from"
            } else {
                "in --policies-from"
            }
        );
    }
    let written = package::write(out, &built, args.force)
        .with_context(|| format!("writing the evidence package to {}", out.display()))?;
    print_summary(&built, out);
    print_git_changes(&built, out, args.policy_repo.as_deref());
    say!(
        "evidence written to {} ({} files; check later with `polscan evidence verify {}`)",
        out.display(),
        written.len(),
        out.display()
    );
    // A misspelt --namespace would show an empty view that reads clean.
    for namespace in split_list(&args.namespaces) {
        let seen = built
            .policies
            .iter()
            .any(|p| p.by_namespace.contains_key(&namespace));
        if !seen {
            say!(
                "warning: --namespace {namespace}: the reports hold no result in that namespace (no such namespace, or nothing in it is in any policy's scope)"
            );
        }
    }
    // "No evidence" is not ready either: nothing shows what Enforce would block.
    let not_ready =
        !unmatched.is_empty() || built.policies.iter().any(|p| p.verdict != Verdict::Ready);
    // A rollback, or an enforced policy the last scan did not confirm.
    let roll_back = built.comparison.as_ref().is_some_and(|c| {
        c.rollback_checks
            .iter()
            .any(|check| check.roll_back || check.rescan.is_some())
    });
    Ok(if args.require_ready && (not_ready || roll_back) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn from_cluster(
    args: &EvidenceArgs,
    input: &mut EvidenceInput,
    previously_violating: &[ObjectName],
) -> anyhow::Result<Vec<String>> {
    let record = args
        .scan_record
        .as_deref()
        .unwrap_or("polscan-system/polscan-last-run");
    let (namespace, name) = polscan::scan::last_run::parse_target(record)
        .with_context(|| format!("--scan-record {record:?}: expected <namespace>/<name>"))?;
    let deadline = parse_deadline("--timeout", &args.timeout)?;
    let read = runtime()?.block_on(async {
        let (client, server) =
            connect::connect_with_server(args.kubeconfig.as_deref(), args.context.as_deref())
                .await?;
        // Reached, nothing is judged: a package of what was read by then
        // would miss reports, and a missing violation reads as clean.
        tokio::time::timeout(
            deadline,
            evidence_source::read(
                &client,
                &server,
                (&namespace, &name),
                previously_violating,
                input.owner_labels.clone(),
            ),
        )
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "deadline {} (--timeout) reached before the reports, policies and run record were all read; no package was written",
                deadline_text(deadline)
            )
        })
        .and_then(|read| read.map_err(anyhow::Error::from))
        .with_context(|| format!("reading evidence from the cluster at {server}"))
    })?;
    input.reports = read.reports;
    input.policies = read.policies;
    input.scan = read.scan;
    input.identity = read.identity;
    input.owners = read.owners;
    input.owner_labels = read.owner_labels;
    input.owner_selectors = read.owner_selectors;
    input.unserved_policy_kinds = read.unserved_policy_kinds;
    input.policy_kinds_discovered = true;
    input.still_present = Some(read.still_present);
    let mut history = read.soak_history;
    // Spans an older polscan recorded carry its digest of the same document.
    evidence::run::history::adopt_legacy_digests(&mut history, &input.policies);
    input.soak.history = Some(history);
    Ok(read.problems)
}

fn from_files(args: &EvidenceArgs, input: &mut EvidenceInput) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    // Folded one document at a time: report files can be large.
    let reports = &mut input.reports;
    let labels = &mut input.owner_labels;
    let mut manifests = 0usize;
    let mut report_documents = 0usize;
    loader::visit_paths(&args.from, &mut |document| {
        if reports.add_report(&document.value) {
            report_documents += 1;
            return;
        }
        let kind = document.value.str_field("kind").unwrap_or("");
        // Manifests and Namespaces given beside the reports route the
        // violations to teams by their owner labels; policies belong
        // in --policies-from.
        let policy = evidence::ingest::policy_info::POLICY_DOCUMENT_KINDS.contains(&kind)
            || kind == "PolicyException";
        if !policy && !kind.is_empty() && document.value.str_at("/metadata/name").is_some() {
            labels.add_object(&document.value);
            manifests += 1;
            return;
        }
        problems.push(format!(
            "{}: a {} is not a report{}; ignored",
            document.origin,
            if kind.is_empty() {
                "document without kind"
            } else {
                kind
            },
            if policy {
                " (give policies with --policies-from)"
            } else {
                ""
            }
        ));
    })
    .context("reading --from reports")?;
    // A gate that judges nothing must not pass (walk31 F15: a wrong file
    // gave "0 of 0 policies ready" and exit 0 under --require-ready).
    if report_documents == 0 {
        let given: Vec<String> = args.from.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!(
            "--from {}: no PolicyReport or ClusterPolicyReport in it ({manifests} other manifest(s) read): give the reports, e.g. `polscan apply … -o yaml` or `kubectl get policyreports,clusterpolicyreports -A -o yaml`",
            given.join(", ")
        );
    }
    input.owner_labels.read = manifests > 0;
    if let Some(record) = &args.scan_record {
        let path = Path::new(record);
        let document = loader::load_paths(&[path.to_path_buf()])
            .with_context(|| format!("reading --scan-record {record}"))?
            .into_iter()
            .next()
            .with_context(|| format!("{record}: empty"))?;
        input.scan = Some(ScanRecord::from_config_map(&document.value, record)?);
    }
    input.identity = ClusterIdentity {
        source: "files".into(),
        ..ClusterIdentity::default()
    };
    Ok(problems)
}

/// `kind namespace/name` of a document: what identifies it among policies.
fn identity_of(document: &Value) -> (String, String, String) {
    (
        document.string_at_or_empty("/kind"),
        document.string_at_or_empty("/metadata/namespace"),
        document.string_at_or_empty("/metadata/name"),
    )
}

/// Adds policies given as files (`--policies-from`) to those read (from
/// the cluster, or none with --from). A policy the cluster also holds
/// keeps the cluster's document: that one is what Kyverno's admission
/// uses. Returns a warning per document left out.
fn add_policy_files(policies: &mut Vec<Value>, files: Vec<Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for document in files {
        let identity = identity_of(&document);
        if policies.iter().any(|p| identity_of(p) == identity) {
            let (kind, namespace, name) = identity;
            problems.push(format!(
                "--policies-from: {kind} {}{name} is also in the cluster: the cluster's is used",
                if namespace.is_empty() {
                    String::new()
                } else {
                    format!("{namespace}/")
                }
            ));
            continue;
        }
        policies.push(document);
    }
    problems
}

fn print_summary(evidence: &evidence::Evidence, out: &Path) {
    // Paths into the package work pasted from any folder (walk46 F8).
    let package = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    let rows: Vec<Vec<String>> = evidence
        .policies
        .iter()
        .map(|p| {
            vec![
                p.info.qualified_name(),
                p.info.action_summary(),
                p.verdict_words().to_string(),
                p.counts.fail.to_string(),
                p.counts.error.to_string(),
                // One line per row: a CEL error's caret lines broke the
                // table (walk28 F12d).
                p.reasons
                    .iter()
                    .map(|reason| {
                        let line = reason
                            .lines()
                            .map(str::trim)
                            .filter(|line| !line.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ");
                        // The first violator named, as evidence.md does
                        // (walk55 W55-2: "1 failing result(s)" alone).
                        match p.violations.iter().find(|v| &*v.result == "fail") {
                            Some(first) if line.ends_with(" failing result(s)") => {
                                format!("{line} (first: {})", first.resource)
                            }
                            _ => line,
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    for statement in evidence.scope_statements() {
        out!("{statement}");
    }
    super::diag::stdout_bytes(
        super::output::table(
            &["POLICY", "ACTION", "VERDICT", "FAIL", "ERROR", "REASONS"],
            &rows,
        )
        .as_bytes(),
    );
    out!(
        "{} of {} policies ready to enforce{}",
        evidence.ready().count(),
        evidence.policies.len(),
        evidence::output::markdown::enforced_already(evidence)
    );
    out!(
        "decision: {}",
        evidence::model::decision_summary(&evidence.decisions)
    );
    for decision in &evidence.decisions {
        if !decision.stays_audit.is_empty() {
            out!(
                "{}: {} — stays in Audit in {} (an Audit override; the switch leaves it)",
                decision.policy,
                decision.decision.label(),
                decision.stays_audit.join("; ")
            );
        }
    }
    for generated in &evidence.generated_exceptions {
        let excused = generated
            .resources
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match &generated.existing_not_applied {
            Some(why) => out!(
                "{excused} excused only by a {} annotation, which Kyverno's admission ignores; {why}",
                polscan::engine::exceptions::annotation::EXCEPTION,
            ),
            None => out!(
                "{excused} excused only by a {} annotation, which Kyverno's admission ignores: commit {} to the policy repository (or kubectl apply -f it) to make the bypass explicit (it matches {})",
                polscan::engine::exceptions::annotation::EXCEPTION,
                shell_word(&package.join(&generated.file).to_string_lossy()),
                generated.matches.join(" and "),
            ),
        }
        for warning in &generated.warnings {
            out!("  warning: {} — {warning}", generated.file);
        }
    }
    if let Some(comparison) = &evidence.comparison {
        let counts: Vec<String> = comparison
            .counts()
            .iter()
            .map(|count| format!("{} {}", count.count, count.short_label))
            .collect();
        out!(
            "since {}: {}",
            comparison.previous_generated.to_rfc3339(),
            counts.join(", ")
        );
        if !comparison.removed_policies.is_empty() {
            out!(
                "policies removed since (deleted, or not given): {}",
                comparison.removed_policies.join(", ")
            );
        }
        if !comparison.not_compared.is_empty() {
            out!(
                "not compared (the earlier package was filtered with --policy): {}",
                comparison.not_compared.join(", ")
            );
        }
        for change in &comparison.rule_changes {
            let rules = change.rules_line();
            out!(
                "rules of {}: {}{}",
                change.policy,
                change.summary(),
                if rules.is_empty() {
                    String::new()
                } else {
                    format!(" ({rules})")
                }
            );
        }
        for check in &comparison.readiness_checks {
            if check.still_ready {
                out!("readiness check {}: still ready to enforce", check.policy);
            } else {
                out!(
                    "readiness check {}: {} (was {}){}",
                    check.policy,
                    check.verdict.label(),
                    check.previous_verdict.label(),
                    if check.reasons.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", check.reasons.join("; "))
                    }
                );
            }
        }
        for check in &comparison.rollback_checks {
            let met: Vec<&str> = check
                .conditions
                .iter()
                .filter(|c| c.met)
                .map(|c| c.condition.as_str())
                .collect();
            if !met.is_empty() {
                out!(
                    "rollback check {}: {} ({})",
                    check.policy,
                    check.outcome(),
                    met.join("; ")
                );
            } else if let Some(gaps) = &check.rescan {
                out!(
                    "rollback check {}: {}: {gaps}",
                    check.policy,
                    check.outcome()
                );
            } else {
                out!("rollback check {}: no condition met", check.policy);
            }
        }
    }
}

/// Per policy, the Git patches and the Flux warning: what to run instead
/// of a kubectl patch. Nothing without --policy-repo or Flux's labels.
/// A command works when pasted from any folder: the patch by its absolute
/// path, applied in the checkout's top (`git -C`), where evidence.md says
/// to run it.
fn print_git_changes(evidence: &evidence::Evidence, out: &Path, repo: Option<&Path>) {
    let package = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    let apply_in = repo.map(super::policy_repo::apply_dir);
    let pasteable = |command: &str| match command.strip_prefix("git apply ") {
        Some(patch) => {
            let patch = shell_word(&package.join(patch).to_string_lossy());
            match &apply_in {
                Some(dir) => format!(
                    "git -C {} apply {patch}",
                    shell_word(&dir.to_string_lossy())
                ),
                None => format!("git apply {patch}"),
            }
        }
        None => command.to_string(),
    };
    // The patches printed so far, with their policy's name.
    let mut printed: Vec<(String, String)> = Vec::new();
    for policy in &evidence.policies {
        let name = policy.info.qualified_name();
        if let Some(warning) = policy.flux_warning() {
            out!("{name}: warning: {warning}");
        }
        if let Some(problem) = policy.git_change.as_ref().and_then(|c| c.problem.as_ref()) {
            out!("{name}: no Git patch: {problem}");
        }
        if let Some(drift) = policy.git_drift() {
            out!("{name}: warning: {drift}");
        }
        let decision = evidence
            .decisions
            .iter()
            .find(|d| d.policy == name)
            .map(|d| d.decision);
        // Only what is to be run now is a command (walk43: two `git apply`
        // lines per NO-GO policy sat beside the GO ones, each copied on
        // its own); the patches for later are named by their folder.
        let mut later = Vec::new();
        let rolling_back = decision == Some(Decision::RollBack);
        // No Git patch to roll back with (held back, not located): the
        // kubectl command, which a reconciliation reverts (verify49
        // V49-16: nothing was printed).
        if rolling_back
            && policy
                .git_change
                .as_ref()
                .is_some_and(|c| c.rollback.is_none() && c.promote.is_none())
        {
            if let Some(command) = policy.rollback_command() {
                out!(
                    "{name}: no Git patch to roll back with: {}    # back to Audit until Git says so too (a reconciliation reverts it)",
                    pasteable(&command)
                );
            }
        }
        if rolling_back && policy.git_promote().is_some() {
            if let Some(command) = policy.rollback_command() {
                // Git says Audit while the cluster enforces: the switch is
                // not in Git yet, or something polscan does not read sets
                // the action (verify50 V50-3, V50-4).
                out!(
                    "{name}: Git says Audit while the cluster enforces (rollback.patch is for after promote.patch): either Git has not taken the switch, or something polscan does not read sets the action (an overlay's replacements, a HelmRelease post-renderer, a release's values) — find it, or this rollback is reverted at the next reconciliation: {}    # back to Audit",
                    pasteable(&command)
                );
            }
        }
        if rolling_back {
            let kept = policy.failing_rules_kept_by_rollback();
            if !kept.is_empty() && policy.info.kind == "ValidatingAdmissionPolicy" {
                out!(
                    "{name}: warning: a binding Git had in [Deny] before the switch keeps denying after rollback.patch: set it to [Audit] in Git too"
                );
            } else if !kept.is_empty() {
                out!(
                    "{name}: warning: rule(s) {} fail and stay enforced after rollback.patch (Git enforces them on their own): set their action to Audit in Git too",
                    kept.join(", ")
                );
            }
        }
        for (command, what) in policy.git_apply_commands() {
            let now = match decision {
                Some(decision) if what == PROMOTE => decision == Decision::Go,
                // Git has not taken the switch: the reverse of a promotion
                // never applied is no rollback (verify48 V48-17).
                Some(_) if what != "back to Audit" => false,
                Some(decision) => decision == Decision::RollBack,
                None => true,
            };
            // One values key promoting several policies gives each the
            // same patch: the second `git apply` would fail (walk48 W48-2).
            let diff = policy.git_change.as_ref().and_then(|c| {
                if what == PROMOTE {
                    c.promote.as_ref()
                } else {
                    c.rollback.as_ref()
                }
            });
            let same_as = diff.and_then(|d| printed.iter().find(|(text, _)| *text == d.diff));
            if let (true, Some((_, first))) = (now, same_as) {
                out!("{name}: {what} by {first}'s patch above (the same change)");
            } else if now {
                // A rollback names its ground, as the table names the first
                // violator (walk55 W55-2).
                let why = (decision == Some(Decision::RollBack) && what != PROMOTE)
                    .then(|| {
                        evidence
                            .decisions
                            .iter()
                            .find(|d| d.policy == name)
                            .and_then(|d| d.reasons.first())
                    })
                    .flatten()
                    .map(|reason| {
                        let mut cut: String = reason.chars().take(160).collect();
                        if cut.len() < reason.len() {
                            cut.push('…');
                        }
                        format!(": {cut}")
                    })
                    .unwrap_or_default();
                out!("{name}: {}    # {what}{why}", pasteable(&command));
                if let Some(diff) = diff {
                    printed.push((diff.diff.clone(), name.clone()));
                }
                // A base other overlays build switches them too: said
                // beside the command, not only on the page (verify49
                // V49-5).
                for note in policy.git_change.iter().flat_map(|c| &c.notes) {
                    // ... and a chart Flux rebuilds only on a new version.
                    if note.contains("the patch switches the policy wherever they are applied")
                        || note.starts_with("bump its version:")
                        // ... and what else a commit needs to reach it.
                        || note.contains("reaches the cluster only")
                        || note.contains("for the patch to reach the cluster")
                    {
                        out!("{name}: note: {note}");
                    }
                }
            } else {
                let file = command.strip_prefix("git apply ").unwrap_or(&command);
                let folder = Path::new(file).parent().map(|f| package.join(f));
                later.push((
                    folder,
                    if what == PROMOTE {
                        "promote.patch once GO"
                    } else {
                        "rollback.patch only when a rollback condition is met"
                    },
                ));
            }
        }
        if let (Some(decision), Some((Some(folder), _))) = (decision, later.first()) {
            let when: Vec<&str> = later.iter().map(|(_, when)| *when).collect();
            out!(
                "{name}: {}, patches for later ({}): {}",
                decision.label(),
                when.join("; "),
                shell_word(&folder.to_string_lossy())
            );
        }
    }
    // polscan reads the checkout's files, not what Flux, Argo CD, Helm or
    // kustomize build of them: each review of the patches found a layout
    // it followed wrongly (verify58..61), so the check is the user's too.
    if polscan::evidence::output::has_patches(evidence) {
        out!("{CHECK_THE_BUILD}");
    }
}

/// Said once beside the `git apply` lines (and on the pages).
const CHECK_THE_BUILD: &str = polscan::evidence::output::CHECK_THE_BUILD;

/// `text` as one POSIX shell word: as it is when it holds only characters
/// no shell treats specially, else single-quoted.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./@%+=:,-".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `polscan evidence merge`: reads each package (verified, or refused
/// naming it), merges, writes the merged package and prints the table.
fn merge(
    packages: &[PathBuf],
    out: &Path,
    force: bool,
    require_ready: bool,
) -> anyhow::Result<ExitCode> {
    let read = packages
        .iter()
        .map(|dir| {
            package::read_environment(dir)
                .with_context(|| format!("reading the evidence package {}", dir.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let merged = evidence::merge::merge(&read, chrono::Utc::now(), env!("CARGO_PKG_VERSION"))?;
    drop(read);
    let written = package::write_merged(out, &merged, force)
        .with_context(|| format!("writing the merged package to {}", out.display()))?;
    for note in &merged.notes {
        say!("note: {note}");
    }
    let mut columns = vec!["POLICY".to_string()];
    columns.extend(merged.labels().iter().map(|l| l.to_uppercase()));
    columns.extend(["DECISION".to_string(), "REASONS".to_string()]);
    let rows: Vec<Vec<String>> = merged
        .policies
        .iter()
        .map(|policy| {
            let mut row = vec![policy.name.clone()];
            row.extend(policy.environments.iter().map(|e| e.summary()));
            row.push(evidence::output::merged::decision(policy).to_string());
            row.push(policy.reasons.join("; "));
            row
        })
        .collect();
    let headers: Vec<&str> = columns.iter().map(String::as_str).collect();
    super::diag::stdout_bytes(super::output::table(&headers, &rows).as_bytes());
    out!(
        "{} of {} policies ready in every environment ({})",
        merged.ready().count(),
        merged.policies.len(),
        merged.labels().join(", ")
    );
    if merged.policies.is_empty() {
        say!("warning: no package holds any policy: nothing is ready");
    }
    say!(
        "merged evidence written to {} ({} files; check later with `polscan evidence verify {}`)",
        out.display(),
        written.len(),
        out.display()
    );
    let not_ready =
        merged.policies.is_empty() || merged.policies.iter().any(|p| p.verdict != Verdict::Ready);
    Ok(if require_ready && not_ready {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn verify(dir: &Path) -> anyhow::Result<ExitCode> {
    let verification = package::verify(dir)
        .with_context(|| format!("verifying the evidence package {}", dir.display()))?;
    for (key, value) in &verification.header {
        out!("{key}: {value}");
    }
    if verification.ok() {
        out!(
            "OK: {} files match the MANIFEST (the MANIFEST itself besides them)",
            verification.checked.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &verification.problems {
            say!("TAMPERED: {problem}");
        }
        Ok(ExitCode::from(1))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    /// A path is pasted as one shell word, whatever it holds.
    #[test]
    fn shell_words_survive_the_shell() {
        for path in [
            "/tmp/a/promote.patch",
            "/tmp/my repo",
            "/tmp/it's",
            "",
            "/tmp/$HOME;x",
        ] {
            let word = shell_word(path);
            let output = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {word}")])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
            assert_eq!(output.ok().as_deref(), Some(path), "{word}");
        }
        assert_eq!(shell_word("/tmp/a/promote.patch"), "/tmp/a/promote.patch");
    }
}
