//! `reconcile apply`: plan, show the plan, ask for `yes` (unless `--auto-approve`), then
//! write it in one transaction under the table's lock. Without a terminal to ask on, it
//! refuses unless told. `reconcile apply PLANFILE` applies a saved plan as it is, without
//! asking: the saved plan is the approval, and it is refused when anything it was made from
//! changed since.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

use super::{ApplyArgs, database_url};
use crate::error::{Error, Result};
use crate::operation::{apply as op, plan as planning};
use crate::{plan, render};

fn io(e: std::io::Error) -> Error {
    Error::Io(format!("cannot write to the terminal: {e}"))
}

pub(super) fn run(args: ApplyArgs) -> Result<ExitCode> {
    let mut out = anstream::stdout();
    let lock_timeout = args.safety.lock_timeout;
    let (spec, url, plan, miss) = match &args.plan_file {
        Some(file) => {
            if !args.target.is_empty() {
                return Err(Error::Usage {
                    message: "--target does not apply to a saved plan".into(),
                    help: Some("apply the saved plan as it is, or plan again with --target".into()),
                });
            }
            let saved =
                op::load_saved(file, args.spec.strict, |spec| database_url(&args.db, spec))?;
            out.write_all(render::human::render(&saved.plan).as_bytes())
                .map_err(io)?;
            plan::guard::check_replacements(
                &[&saved.plan],
                saved.allow_replace || args.safety.allow_replace,
            )?;
            (saved.spec, saved.url, saved.plan, None)
        }
        None => {
            let paths = super::find_specs(&args.spec.file)?;
            let mut specs = planning::load(&paths, args.spec.strict)?;
            if planning::needs_group(&specs, &args.target) {
                return run_many(&args, specs);
            }
            let spec = specs.remove(0);
            let url = database_url(&args.db, &spec)?;
            let made = planning::one(
                &spec,
                &url,
                planning::Request {
                    options: args.safety.options(),
                    refresh: args.refresh,
                    ..planning::Request::default()
                },
            )?;
            out.write_all(render::human::render(&made.plan).as_bytes())
                .map_err(io)?;
            if let Some(refused) = made.refused {
                return Err(refused);
            }
            plan::guard::check_replacements(&[&made.plan], args.safety.allow_replace)?;
            if made.plan.has_changes() && !args.auto_approve {
                confirm(&mut out)?;
            }
            (spec, url, made.plan, made.miss)
        }
    };
    if let Some(applied) = op::one(&spec, &url, &plan, miss, lock_timeout)? {
        out.write_all(
            render::words::apply_complete(applied.created, applied.updated, applied.deleted)
                .as_bytes(),
        )
        .map_err(io)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `apply` of a folder of several specs (or with `--target`): one plan, one confirmation,
/// one transaction.
fn run_many(args: &ApplyArgs, specs: Vec<crate::spec::compiled::Compiled>) -> Result<ExitCode> {
    let mut out = anstream::stdout();
    let url = super::group_database_url(&args.db, &specs)?;
    super::warn_targets(&args.target);
    let planned = planning::group(specs, &url, args.safety.options(), &args.target)?;
    out.write_all(
        render::human::render_many(&planned.plans, render::human::Options::default()).as_bytes(),
    )
    .map_err(io)?;
    if let Some(refused) = planned.refused {
        return Err(refused);
    }
    let plans: Vec<&plan::Plan> = planned.plans.iter().collect();
    plan::guard::check_replacements(&plans, args.safety.allow_replace)?;
    if planned.has_changes() && !args.auto_approve {
        confirm(&mut out)?;
    }
    if let Some(applied) = op::group(&planned, &url, args.safety.lock_timeout)? {
        out.write_all(
            render::words::apply_complete(applied.created, applied.updated, applied.deleted)
                .as_bytes(),
        )
        .map_err(io)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks for `yes` on the terminal.
pub(super) fn confirm(out: &mut impl std::io::Write) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Cancelled(
            "there is no terminal to confirm on; review the plan and pass --auto-approve".into(),
        ));
    }
    write!(
        out,
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    )
    .and_then(|_| out.flush())
    .map_err(io)?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Io(format!("cannot read the answer: {e}")))?;
    if answer.trim() != "yes" {
        return Err(Error::Cancelled(
            "the answer was not 'yes'; nothing was written".into(),
        ));
    }
    Ok(())
}
