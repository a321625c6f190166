//! A CEL expression compiled and evaluated as a ValidatingPolicy's or
//! ValidatingAdmissionPolicy's is: the expression (any number of lines),
//! `---`, then up to three YAML documents bound as `object`, `oldObject`
//! and `request` (missing ones are null), with Kyverno's libraries bound
//! and no cluster behind them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polscan_engine::fuzzing::cel;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((expression, bindings)) = polscan_fuzz::split(data) else {
        return;
    };
    let values = polscan_fuzz::yaml_values(bindings);
    let at = |index: usize| values.get(index).cloned().unwrap_or(Value::Null);
    polscan_fuzz::on_evaluation_stack(|| {
        let _ = cel(expression, &at(0), &at(1), &at(2));
    });
});
