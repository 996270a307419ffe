//! The diagnostics renderer on every error the spec loader can return for arbitrary text:
//! placing each problem at its line and column, underlining it and wording the help must
//! never panic, whatever the text (multi-byte characters, tabs, lines that end in `\r`,
//! positions at the very end).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(err) =
            reconcile::spec::load::load_str(text, std::path::Path::new("fuzz/spec.yaml"))
    {
        let shown = reconcile::render::diagnostics::render(&err);
        assert!(!shown.is_empty(), "an error renders as something");
    }
});
