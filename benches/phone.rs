//! How fast phone numbers are read and validated, per number: the phone library's parser,
//! its own validity check, and ours (`reconcile::phone::Validator`, the same rules on
//! patterns compiled once), then our reading of plainly written numbers, parse and check
//! together. `NUMBERS` numbers (default 200,000), South African as the
//! generated lists write them, half local (`082 874 8637`), half international. Figures are
//! printed, never asserted.
//!
//! ```sh
//! cargo bench --bench phone
//! ```

use std::time::Instant;

use phonenumber::country::Id;
use reconcile::phone::Validator;

fn main() {
    let n: usize = std::env::var("NUMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let raw: Vec<String> = (0..n as u64)
        .map(|i| {
            let d = (27_100_000_000 + i * 7919 % 89_999_999).to_string();
            if i % 2 == 0 {
                format!("0{} {} {}", &d[2..4], &d[4..7], &d[7..])
            } else {
                format!("+27 {} {} {}", &d[2..4], &d[4..7], &d[7..])
            }
        })
        .collect();

    let start = Instant::now();
    let parsed: Vec<_> = raw
        .iter()
        .filter_map(|r| phonenumber::parse(Some(Id::ZA), r).ok())
        .collect();
    let parse = start.elapsed();

    let mut ours = Validator::default();
    let start = Instant::now();
    let valid_ours = parsed.iter().filter(|p| ours.is_valid(p)).count();
    let ours_time = start.elapsed();

    let start = Instant::now();
    let valid_library = parsed.iter().filter(|p| p.is_valid()).count();
    let library_time = start.elapsed();

    assert_eq!(
        valid_ours, valid_library,
        "the two validity checks disagree"
    );
    let mut reader = Validator::default();
    let start = Instant::now();
    let read_ours = raw
        .iter()
        .filter(|r| matches!(reader.read(r, Some(Id::ZA)), Some(Ok(_))))
        .count();
    let read_time = start.elapsed();
    assert_eq!(read_ours, valid_library, "the two readings disagree");

    let per = |d: std::time::Duration| d.as_nanos() as f64 / parsed.len() as f64;
    println!("{} numbers, {valid_ours} valid, one thread", parsed.len());
    println!("  parse (library)        {:>8.0} ns/number", per(parse));
    println!(
        "  is_valid (library)     {:>8.0} ns/number",
        per(library_time)
    );
    println!("  is_valid (ours)        {:>8.0} ns/number", per(ours_time));
    println!(
        "  parse + is_valid (ours, plain numbers) {:>8.0} ns/number",
        per(read_time)
    );
}
