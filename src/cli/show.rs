//! `reconcile show PLANFILE`: prints a plan saved with `plan --out` as `plan` printed it
//! (text, JSON or Markdown; a folder's as a folder's), without applying anything, reading a
//! source or opening the database.

use std::process::ExitCode;

use super::{ShowArgs, output, print};
use crate::error::{Error, Result};
use crate::operation::show as op;

pub(super) fn run(args: ShowArgs) -> Result<ExitCode> {
    let format = args.output.format()?;
    let Some(file) = &args.plan_file else {
        return Err(Error::Usage {
            message: "`reconcile show` needs a plan file; what the state table holds is listed \
                      by `reconcile state list`"
                .into(),
            help: Some(
                "pass a plan saved with `reconcile plan --out FILE`, or run `reconcile state list`"
                    .into(),
            ),
        });
    };
    let shown = op::saved(file)?;
    super::warn_targets(&shown.targets);
    let text = output::render(&shown.plans, shown.group, format, args.output.full);
    print(&text, "the plan")?;
    Ok(ExitCode::SUCCESS)
}
