//! `polscan apply -p F -r F` on one file: the bytes are read as the loader
//! reads a manifest file (multi-document YAML or JSON, `kind: List`
//! expanded), every policy in it loads, every resource in it is evaluated
//! (policies, exceptions, bindings and all), and the outcome is rendered in
//! every output format and read back.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use polscan::audit::{audit, AuditInput};
use polscan::loader::parse_documents;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A bad document is the loader's error naming it, as `apply` says.
    let Ok(documents) = parse_documents(text, Path::new("fuzz.yaml")) else {
        return;
    };
    let outcome = polscan_fuzz::on_evaluation_stack(|| {
        audit(AuditInput {
            policy_documents: documents.clone(),
            resource_documents: documents,
            include_non_background: true,
            ..AuditInput::default()
        })
    });
    polscan_fuzz::assert_no_internal_error(text, &outcome);
    polscan_fuzz::render_every_format(&outcome);
});
