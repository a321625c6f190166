//! `polscan apply`: audit manifest files against policy files.

use std::process::ExitCode;

use anyhow::Context;

use super::output;
use super::ApplyArgs;
use crate::audit::{self, AuditInput};
use crate::engine::values::Values;
use crate::loader;

pub fn run(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
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
    Ok(output::exit_code(&outcome, args.fail_on))
}
