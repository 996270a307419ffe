//! The YAML source reader on arbitrary bytes, with the first byte choosing a records pointer.
#![no_main]

use libfuzzer_sys::fuzz_target;

const POINTERS: &[&str] = &["", "/data", "/0", "/customers/list"];

fuzz_target!(|data: &[u8]| {
    let (pointer, body) = match data.split_first() {
        Some((b, rest)) => (POINTERS[*b as usize % POINTERS.len()], rest),
        None => ("", data),
    };
    let _ = reconcile::source::yaml::read(body, pointer);
});
