//! `reconcile apply`: plan, show the plan, ask for `yes` (unless `--auto-approve`), then
//! write it in one transaction under the table's lock. Without a terminal to ask on, it
//! refuses unless told. `reconcile apply PLANFILE` applies a saved plan as it is, without
//! asking: the saved plan is the approval, and it is refused when anything it was made from
//! changed since. A saved plan goes to the database it was made against unless one is named.
//!
//! The plan is printed as `plan` prints it (`--full` for every change, `--html FILE` for a
//! report too); `--json` prints one document instead, the plan and what was applied.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use super::output::{self, Format};
use super::{ApplyArgs, database_url};
use crate::db::Applied;
use crate::error::{Error, Result};
use crate::operation::{apply as op, plan as planning};
use crate::{plan, render};

fn io(e: std::io::Error) -> Error {
    Error::Io(format!("cannot write to the terminal: {e}"))
}

pub(super) fn run(args: ApplyArgs) -> Result<ExitCode> {
    if args.json && args.plan_file.is_none() && !args.auto_approve {
        // As Terraform: JSON output leaves no room for a prompt.
        return Err(Error::Usage {
            message: "apply --json cannot ask for confirmation".into(),
            help: Some(
                "apply a saved plan (`reconcile apply PLANFILE --json`), or pass --auto-approve"
                    .into(),
            ),
        });
    }
    if let Some(file) = &args.plan_file {
        return run_saved(&args, file);
    }
    let paths = super::find_specs(&args.spec.file)?;
    let mut specs = planning::load(&paths, args.spec.overrides())?;
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
            list_all: args.json,
            evidence: args.html.is_some(),
            ..planning::Request::default()
        },
    )?;
    if let (Some(path), Some(resolved)) = (&args.html, &made.resolved) {
        super::plan::write_html(path, &render::html::render(&spec, resolved, &made.plan))?;
    }
    let plans = std::slice::from_ref(&made.plan);
    show(&args, plans, false)?;
    if let Some(refused) = made.refused {
        return Err(refused);
    }
    plan::guard::check_replacements(&[&made.plan], args.safety.allow_replace)?;
    if made.plan.has_changes() && !args.auto_approve {
        confirm()?;
    }
    let applied = op::one(&spec, &url, &made.plan, made.miss, args.safety.lock_timeout)?;
    finish(&args, plans, false, applied)
}

/// `apply PLANFILE`: the saved plan, shown, then applied as it is.
fn run_saved(args: &ApplyArgs, file: &Path) -> Result<ExitCode> {
    if !args.target.is_empty() {
        return Err(Error::Usage {
            message: "--target does not apply to a saved plan".into(),
            help: Some("apply the saved plan as it is, or plan again with --target".into()),
        });
    }
    if args.html.is_some() {
        return Err(Error::Usage {
            message: "--html needs what resolving the sources found (clusters, scores), which \
                      a saved plan does not keep"
                .into(),
            help: Some(
                "write the report when planning: `reconcile plan --out FILE --html REPORT`".into(),
            ),
        });
    }
    let named = super::named_database(&args.db);
    let saved = op::load_saved(
        file,
        args.spec.strict,
        named.as_ref().map(|(url, from)| (url.as_str(), *from)),
        args.json,
    )?;
    super::warn_targets(&saved.targets);
    show(args, &saved.planned.plans, saved.group)?;
    let plans: Vec<&plan::Plan> = saved.planned.plans.iter().collect();
    plan::guard::check_replacements(&plans, saved.allow_replace || args.safety.allow_replace)?;
    let lock_timeout = args.safety.lock_timeout;
    let applied = if saved.group {
        op::group(&saved.planned, &saved.url, lock_timeout)?
    } else {
        let (spec, plan) = (&saved.planned.specs[0], &saved.planned.plans[0]);
        op::one(spec, &saved.url, plan, None, lock_timeout)?
    };
    finish(args, &saved.planned.plans, saved.group, applied)
}

/// `apply` of a folder of several specs (or with `--target`): one plan, one confirmation,
/// one transaction.
fn run_many(args: &ApplyArgs, specs: Vec<crate::spec::compiled::Compiled>) -> Result<ExitCode> {
    let evidence = args.html.is_some();
    super::plan::whole_resources(&args.target, evidence)?;
    let url = super::group_database_url(&args.db, &specs)?;
    super::warn_targets(&args.target);
    let planned = planning::group(
        specs,
        &url,
        planning::GroupRequest {
            options: args.safety.options(),
            targets: &args.target,
            lock: None,
            evidence,
        },
    )?;
    if let Some(path) = &args.html {
        super::plan::folder_html(path, &planned)?;
    }
    show(args, &planned.plans, true)?;
    if let Some(refused) = planned.refused {
        return Err(refused);
    }
    let plans: Vec<&plan::Plan> = planned.plans.iter().collect();
    plan::guard::check_replacements(&plans, args.safety.allow_replace)?;
    if planned.has_changes() && !args.auto_approve {
        confirm()?;
    }
    let applied = op::group(&planned, &url, args.safety.lock_timeout)?;
    finish(args, &planned.plans, true, applied)
}

/// Prints the plan before it is applied (with `--json`, nothing yet: one document follows).
fn show(args: &ApplyArgs, plans: &[plan::Plan], group: bool) -> Result<()> {
    if args.json {
        return Ok(());
    }
    let text = output::render(plans, group, Format::Text, args.full);
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes()).map_err(io)
}

/// Says what was applied: the closing line, or with `--json` the plan and what was applied.
fn finish(
    args: &ApplyArgs,
    plans: &[plan::Plan],
    group: bool,
    applied: Option<Applied>,
) -> Result<ExitCode> {
    let text = if args.json {
        let a = applied.unwrap_or_default();
        render::json::render_apply(plans, group, a.created, a.updated, a.deleted)
    } else {
        match applied {
            Some(a) => render::words::apply_complete(a.created, a.updated, a.deleted),
            None => return Ok(ExitCode::SUCCESS),
        }
    };
    super::print(&text, "the result")?;
    Ok(ExitCode::SUCCESS)
}

/// Asks for `yes` on the terminal.
pub(super) fn confirm() -> Result<()> {
    let mut out = anstream::stdout();
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
