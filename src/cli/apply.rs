//! `reconcile apply`: plan, show the plan, ask for `yes` (unless `--auto-approve`), then
//! write it in one transaction under the table's lock. Without a terminal to ask on, it
//! refuses unless told. `reconcile apply PLANFILE` applies a saved plan as it is, without
//! asking: the saved plan is the approval, and it is refused when anything it was made from
//! changed since.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

use super::{ApplyArgs, database_url, load_spec, plan::make_plan, runtime};
use crate::db::lock::LockRequest;
use crate::db::{Database, WriteSet};
use crate::error::{Error, Result};
use crate::plan::shortcut::Miss;
use crate::{plan, render};

pub fn run(args: ApplyArgs) -> Result<ExitCode> {
    let mut out = anstream::stdout();
    let io = |e: std::io::Error| Error::Io(format!("cannot write to the terminal: {e}"));
    if args.plan_file.is_none() {
        let specs = super::multi::load(&super::find_specs(&args.spec.file)?, args.spec.strict)?;
        if super::multi::needs_group(&specs, &args.target) {
            return run_many(&args, specs);
        }
    } else if !args.target.is_empty() {
        return Err(Error::Plan {
            message: "--target does not apply to a saved plan".into(),
            help: Some("apply the saved plan as it is, or plan again with --target".into()),
        });
    }
    let (spec, url, plan, miss) = match &args.plan_file {
        Some(file) => {
            let mut saved = plan::file::load(file)?;
            let mut spec = crate::spec::load::load(&saved.spec.path)?;
            spec.strict |= args.spec.strict;
            let url = database_url(&args.db, &spec)?;
            saved.check_inputs(&spec, &url)?;
            plan::strict(&spec, &saved.plan)?;
            // The records up to date are counted in the file, not listed in it.
            let listed = saved
                .plan
                .changes
                .iter()
                .filter(|c| c.action == plan::Action::NoOp)
                .count();
            saved.plan.unlisted = saved.summary.no_op.saturating_sub(listed);
            if !saved.plan.has_writes() {
                // Nothing to write, so no transaction will find the plan stale: the table
                // is read here, and a plan made before another apply changed it is refused
                // as any stale plan is.
                check_unchanged(&spec, &url, &saved.plan)?;
            }
            out.write_all(render::human::render(&saved.plan).as_bytes())
                .map_err(io)?;
            plan::guard::check_replacements(
                &[&saved.plan],
                saved.options.allow_replace || args.safety.allow_replace,
            )?;
            (spec, url, saved.plan, None)
        }
        None => {
            let spec = load_spec(&args.spec)?;
            let url = database_url(&args.db, &spec)?;
            let made = make_plan(
                &spec,
                &url,
                args.safety.options(),
                None,
                args.refresh,
                false,
            )?;
            out.write_all(render::human::render(&made.plan).as_bytes())
                .map_err(io)?;
            plan::guard::check_replacements(&[&made.plan], args.safety.allow_replace)?;
            if made.plan.has_changes() && !args.auto_approve {
                confirm(&mut out)?;
            }
            (spec, url, made.plan, made.miss)
        }
    };
    // A plan without writes is applied only to record its inputs, when that lets the next
    // plan skip reading the sources: the database matched the spec, but no apply said so yet
    // for these sources (or with these options).
    let record_only = plan.inputs.is_some()
        && matches!(
            miss,
            Some(Miss::NoRecord | Miss::InputsChanged | Miss::StateChanged)
        );
    if !plan.has_writes() && !record_only {
        return Ok(ExitCode::SUCCESS);
    }
    let rt = runtime()?;
    let lock = LockRequest::new(&url, &spec.table, args.safety.lock_timeout, "apply");
    let stage = crate::progress::stage("apply");
    // From here, Ctrl-C rolls the apply back instead of ending the process mid-way.
    // What to write is worked out before the runtime runs: it hashes every row written.
    let set = WriteSet::new(&spec, &plan);
    let _catch = crate::db::interrupt::Catch::new();
    let applied = rt
        .block_on(async {
            let db = Database::open_write(&url).await?;
            let result = crate::db::apply(&db, std::slice::from_ref(&set), &[lock]).await;
            db.close().await;
            result
        })
        .map_err(|f| super::multi::failed(f, std::slice::from_ref(&plan)))?;
    drop(stage);
    if !plan.has_writes() {
        return Ok(ExitCode::SUCCESS);
    }
    complete(&mut out, applied)
}

/// Refuses a saved plan when the table or the state it was made against changed since.
fn check_unchanged(
    spec: &crate::spec::compiled::Compiled,
    url: &str,
    saved: &plan::Plan,
) -> Result<()> {
    let rt = runtime()?;
    let current = rt.block_on(async {
        let db = Database::open_read(url).await?;
        let current = crate::db::read::read(&db, spec).await;
        db.close().await;
        current
    })?;
    if current.fingerprint == saved.fingerprint {
        return Ok(());
    }
    Err(plan::file::stale_error(saved, &current))
}

/// `apply` of a folder of several specs (or with `--target`): one plan, one confirmation,
/// one transaction.
fn run_many(args: &ApplyArgs, specs: Vec<crate::spec::compiled::Compiled>) -> Result<ExitCode> {
    let mut out = anstream::stdout();
    let io = |e: std::io::Error| Error::Io(format!("cannot write to the terminal: {e}"));
    let url = super::multi::database_url(&args.db, &specs)?;
    super::multi::warn_targets(&args.target);
    let planned = super::multi::plan_all(specs, &url, args.safety.options(), &args.target)?;
    out.write_all(
        render::human::render_many(&planned.plans, render::human::Options::default()).as_bytes(),
    )
    .map_err(io)?;
    let plans: Vec<&plan::Plan> = planned.plans.iter().collect();
    plan::guard::check_replacements(&plans, args.safety.allow_replace)?;
    if planned.has_changes() && !args.auto_approve {
        confirm(&mut out)?;
    }
    if !planned.has_writes() {
        return Ok(ExitCode::SUCCESS);
    }
    let _catch = crate::db::interrupt::Catch::new();
    let applied = super::multi::apply_all(&planned, &url, args.safety.lock_timeout)?;
    complete(&mut out, applied)
}

/// Says what an apply did.
fn complete(out: &mut impl std::io::Write, applied: crate::db::Applied) -> Result<ExitCode> {
    writeln!(
        out,
        "\nApply complete! Resources: {} added, {} changed, {} destroyed.",
        applied.created, applied.updated, applied.deleted
    )
    .map_err(|e| Error::Io(format!("cannot write to the terminal: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// Asks for `yes` on the terminal.
fn confirm(out: &mut impl std::io::Write) -> Result<()> {
    let io = |e: std::io::Error| Error::Io(format!("cannot write to the terminal: {e}"));
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
