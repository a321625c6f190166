//! `polscan demo`: the bundled default policy set (Pod Security Standards
//! baseline and restricted, plus common best practices) against the bundled
//! example manifests, so a fresh install shows what an audit looks like.

use std::path::Path;
use std::process::ExitCode;

use super::output;
use super::DemoArgs;
use crate::bundled;
use polscan::audit::{self, AuditInput};
use polscan::loader;

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let mut policy_documents = Vec::new();
    for (name, text) in bundled::POLICIES {
        policy_documents.extend(loader::parse_documents(text, Path::new(name))?);
    }
    let mut resource_documents = Vec::new();
    for (name, text) in bundled::EXAMPLES {
        resource_documents.extend(loader::parse_documents(text, Path::new(name))?);
    }
    let outcome = audit::audit(AuditInput {
        context: None,
        policy_documents,
        resource_documents,
        ..AuditInput::default()
    });
    output::write_outcome(
        &mut std::io::stdout().lock(),
        &mut super::diag::Stderr::new(),
        &outcome,
        args.output,
        output::use_color(),
    )?;
    Ok(ExitCode::SUCCESS)
}
