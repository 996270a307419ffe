//! The spec loader on arbitrary text: YAML parsing, schema validation with locations, and
//! the semantic checks must return a spec or errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = reconcile::spec::load::load_str(text, std::path::Path::new("fuzz/spec.yaml"));
    }
});
