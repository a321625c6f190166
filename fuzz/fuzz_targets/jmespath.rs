//! JMESPath with Kyverno's custom functions: the expression on the first
//! line, the data (YAML or JSON) after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polscan_engine::jmespath::search;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expression, data_text) = text.split_once('\n').unwrap_or((text, ""));
    let data = polscan_fuzz::yaml_value(data_text).unwrap_or_default();
    let _ = search(expression, &data);
});
