//! `reconcile validate`: load the spec and every source, run matching and merging, and say
//! what the spec yields. Never opens a database. A folder of several specs is validated spec
//! by spec, and their dependency order checked.

use std::process::ExitCode;

use super::SpecArgs;
use crate::error::{Result, plural};
use crate::pipeline;

pub(super) fn run(args: SpecArgs) -> Result<ExitCode> {
    let specs = crate::operation::plan::load(&super::find_specs(&args.file)?, args.overrides())?;
    if specs.len() > 1 {
        crate::plan::multi::order(&specs)?;
    }
    for spec in &specs {
        report(spec)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn report(spec: &crate::spec::compiled::Compiled) -> Result<()> {
    let resolved = pipeline::resolve(spec)?;
    let records: usize =
        resolved.kept.iter().map(Vec::len).sum::<usize>() + resolved.excluded.len();
    let invalid = if resolved.invalid.is_empty() {
        String::new()
    } else {
        format!(
            ", {} left out",
            plural(resolved.invalid.len(), "invalid value")
        )
    };
    println!(
        "{} is valid: {} read from {}, {} excluded{invalid}, {} to review, {} golden.",
        spec.file.display(),
        plural(records, "record"),
        plural(spec.sources.len(), "source"),
        resolved.excluded.len(),
        resolved.matches.review.len(),
        plural(resolved.desired.len(), "record")
    );
    // Each one as strict mode would report it, so that they can be fixed before CI fails.
    for v in &resolved.invalid {
        println!(
            "  ! {}",
            crate::render::safe::term(&v.problem(spec).to_string())
        );
    }
    let model = crate::plan::MatchingModel::of(&spec.matching);
    if let Some(note) = crate::render::model_note(&model) {
        println!("  {note}");
    }
    Ok(())
}
