//! The `validate.pattern` walk with its anchors: a pattern, `---`, a
//! resource, both YAML or JSON of any shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polscan_engine::fuzzing::pattern;

fuzz_target!(|data: &[u8]| {
    let Some((pattern_text, resource_text)) = polscan_fuzz::split(data) else {
        return;
    };
    let (Some(pattern_value), Some(resource)) = (
        polscan_fuzz::yaml_value(pattern_text),
        polscan_fuzz::yaml_value(resource_text),
    ) else {
        return;
    };
    // The walk keeps state (the anchors met): a second walk must give the
    // same verdict, or a scan's verdict would depend on what ran before.
    let first = pattern(&resource, &pattern_value);
    assert_eq!(first, pattern(&resource, &pattern_value));
});
