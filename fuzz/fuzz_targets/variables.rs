//! Variable substitution: a document holding `{{ }}` variables and
//! `$(./path)` references (YAML), `---`, the context it reads (YAML: each
//! top-level key an entry, such as `request` or `element`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use polscan_engine::fuzzing::substitute;

fuzz_target!(|data: &[u8]| {
    let Some((document_text, context_text)) = polscan_fuzz::split(data) else {
        return;
    };
    let Some(document) = polscan_fuzz::yaml_value(document_text) else {
        return;
    };
    let context = polscan_fuzz::yaml_value(context_text).unwrap_or_default();
    if let Ok(substituted) = substitute(&document, &context) {
        // Substituting again must not panic either (Kyverno substitutes
        // patterns after the context's own variables were resolved).
        let _ = substitute(&substituted, &context);
    }
});
