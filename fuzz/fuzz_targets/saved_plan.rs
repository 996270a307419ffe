//! The saved-plan reader on arbitrary bytes: a damaged, truncated or hand-edited plan file
//! must be refused with an error naming it, never panic. The bytes are written to a file
//! because that is all `reconcile apply PLANFILE` reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("reconcile-fuzz-plan-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("plan.json");
    std::fs::write(&path, data).expect("the temporary folder is writable");
    if let Err(err) = reconcile::plan::file::load(&path) {
        let shown = reconcile::render::diagnostics::render(&err);
        assert!(shown.contains("plan.json"), "the error names the file: {shown}");
    }
});
