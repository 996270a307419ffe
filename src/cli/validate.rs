//! `reconcile validate`: load the spec and every source, run matching and merging, and say
//! what the spec yields. Never opens a database.

use std::process::ExitCode;

use super::{SpecArgs, load_spec};
use crate::error::{Result, plural};
use crate::pipeline;

pub fn run(args: SpecArgs) -> Result<ExitCode> {
    let spec = load_spec(&args)?;
    let resolved = pipeline::resolve(&spec)?;
    let records: usize =
        resolved.kept.iter().map(Vec::len).sum::<usize>() + resolved.excluded.len();
    println!(
        "{} is valid: {} read from {}, {} excluded, {} to review, {} golden.",
        spec.file.display(),
        plural(records, "record"),
        plural(spec.sources.len(), "source"),
        resolved.excluded.len(),
        resolved.matches.review.len(),
        plural(resolved.desired.len(), "record")
    );
    Ok(ExitCode::SUCCESS)
}
