//! `polscan apply`: audit manifest files against policy files.

use std::process::ExitCode;

use anyhow::Context;

use super::output;
use super::ApplyArgs;
use crate::audit::{self, AuditInput};
use crate::engine::values::Values;
use crate::loader;

pub fn run(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let started = chrono::Utc::now();
    let policy_documents = loader::load_paths(&args.policies).context("reading policies")?;
    let resource_documents = loader::load_paths(&args.resources).context("reading resources")?;
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
    let context = match &args.context_file {
        Some(path) => loader::load_paths(std::slice::from_ref(path))
            .context("reading the context file")?
            .into_iter()
            .next(),
        None => None,
    };
    let outcome = audit::audit(AuditInput {
        context,
        policy_documents,
        resource_documents,
        values,
        requester: None,
        include_non_background: args.include_non_background,
    });
    output::print_outcome(&outcome, args.output)?;
    let code = output::exit_code(&outcome, args.fail_on);
    if let Some(path) = &args.run_record {
        write_run_record(path, outcome, started)?;
    }
    Ok(code)
}

/// The record a cluster scan keeps in its ConfigMap, for an audit of files:
/// complete unless a policy was invalid (a file that cannot be read stops
/// `apply` before this point).
fn write_run_record(
    path: &std::path::Path,
    outcome: crate::audit::AuditOutcome,
    started: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let mut status_counts = std::collections::BTreeMap::new();
    let mut result_counts = std::collections::BTreeMap::new();
    for finding in &outcome.findings {
        *status_counts.entry(finding.reported_status()).or_default() += 1;
        *result_counts
            .entry(crate::scan::ResultKey::of(finding))
            .or_default() += 1;
    }
    let scan_outcome = crate::scan::ScanOutcome {
        audit: outcome,
        status_counts,
        result_counts,
        ..crate::scan::ScanOutcome::default()
    };
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "polscan-last-run".into());
    let record = crate::scan::last_run::config_map(
        "polscan-apply",
        &name,
        Ok(&scan_outcome),
        started,
        chrono::Utc::now(),
    );
    let text = serde_yaml::to_string(&record).context("encoding the run record")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
