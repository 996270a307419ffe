//! The JSON source reader on arbitrary bytes, with the first byte choosing a records pointer.
#![no_main]

use libfuzzer_sys::fuzz_target;

const POINTERS: &[&str] = &["", "/data", "/data/items", "/0", "/a~1b"];

fuzz_target!(|data: &[u8]| {
    let (pointer, body) = match data.split_first() {
        Some((b, rest)) => (POINTERS[*b as usize % POINTERS.len()], rest),
        None => ("", data),
    };
    let _ = reconcile::source::json::read_json(body, pointer);
});
