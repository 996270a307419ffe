//! `reconcile show PLANFILE`: prints a plan saved with `plan --out` as `plan` printed it
//! (text, JSON or Markdown; a folder's as a folder's), without applying anything, reading a
//! source or opening the database. Without a plan file, what the state table holds, with
//! each entry's row as the table holds it now.

use std::process::ExitCode;

use super::{ShowArgs, output, print};
use crate::error::Result;
use crate::operation::show as op;

pub(super) fn run(args: ShowArgs) -> Result<ExitCode> {
    let format = args.output.format()?;
    let Some(file) = &args.plan_file else {
        // As Terraform's `show` without a plan: what the state holds.
        return super::state::show_everything(&args.spec, &args.db, format);
    };
    let shown = op::saved(file)?;
    super::warn_targets(&shown.targets);
    let text = output::render(&shown.plans, shown.group, format, args.output.full);
    print(&text, "the plan")?;
    Ok(ExitCode::SUCCESS)
}
