//! `reconcile plan`: resolve the spec, read the database, print the plan. Writes nothing to
//! the database; `--out FILE` saves the plan for `reconcile apply FILE`.

use std::process::ExitCode;

use super::{PlanArgs, database_url, print};
use crate::error::{Error, Result};
use crate::operation::plan::{self as op, Request};
use crate::pipeline::Resolved;
use crate::spec::compiled::Compiled;
use crate::{plan, render};

pub(super) fn run(args: PlanArgs) -> Result<ExitCode> {
    let paths = super::find_specs(&args.spec.file)?;
    let mut specs = op::load(&paths, args.spec.strict)?;
    if op::needs_group(&specs, &args.target) {
        return run_many(&args, specs);
    }
    let spec = specs.remove(0);
    let url = database_url(&args.db, &spec)?;
    let options = args.safety.options();
    let made = op::one(
        &spec,
        &url,
        Request {
            options,
            lock: args.lock.then_some(args.safety.lock_timeout),
            // A saved plan shows what resolving found: it always takes the full path.
            refresh: args.refresh || args.out.is_some(),
            list_all: args.json,
            // The report and the explanation show the evidence.
            evidence: args.explain || args.html.is_some(),
        },
    )?;
    let plan = made.plan;
    let explained = match &made.resolved {
        Some(resolved) => {
            write_html(&args, &spec, resolved, &plan)?;
            args.explain.then(|| explanation(&spec, resolved, &plan))
        }
        None => None,
    };
    // A refused plan is not saved: applying the file would pass the guards by.
    if let (Some(out), None) = (&args.out, &made.refused) {
        plan::file::save(out, &spec, &plan, &url, options)?;
    }
    let mut text = if args.json {
        render::json::render(&plan)
    } else {
        render::human::render_with(&plan, render::human::Options { full: args.full })
    };
    if let Some(explained) = explained {
        text.push('\n');
        text.push_str(&explained);
    }
    if let (Some(out), false, None) = (&args.out, args.json, &made.refused) {
        text.push_str(&format!(
            "\nSaved the plan to {}. To apply exactly this plan, run:\n    reconcile apply {}\n",
            out.display(),
            out.display()
        ));
    }
    print(&text, "the plan")?;
    if let Some(refused) = made.refused {
        return Err(refused);
    }
    Ok(exit_code(args.detailed_exitcode && plan.has_changes()))
}

/// The matching summary, then every golden record of several members explained.
fn explanation(spec: &Compiled, resolved: &Resolved, plan: &plan::Plan) -> String {
    let mut text = render::explain::summary(spec, resolved);
    for (i, d) in resolved.desired.iter().enumerate() {
        if d.members.len() > 1 {
            text.push('\n');
            text.push_str(&render::explain::record(spec, resolved, plan, i));
        }
    }
    text
}

/// `--detailed-exitcode`: 2 when the plan changes something.
fn exit_code(changes: bool) -> ExitCode {
    if changes {
        ExitCode::from(super::exit::CHANGES)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes the HTML report when one was asked for.
fn write_html(
    args: &PlanArgs,
    spec: &Compiled,
    resolved: &Resolved,
    plan: &plan::Plan,
) -> Result<()> {
    if let Some(path) = &args.html {
        let html = render::html::render(spec, resolved, plan);
        // The report shows values (not sensitive ones): owner-only, like a saved plan.
        crate::plan::file::write_private(path, |w| w.write_all(html.as_bytes()))
            .map_err(|e| Error::Io(format!("cannot write the report {}: {e}", path.display())))?;
        eprintln!("Wrote the report to {}.", path.display());
    }
    Ok(())
}

/// `plan` of a folder of several specs (or with `--target`): one plan for every resource.
fn run_many(args: &PlanArgs, specs: Vec<Compiled>) -> Result<ExitCode> {
    for (given, flag) in [
        (args.out.is_some(), "--out"),
        (args.html.is_some(), "--html"),
        (args.explain, "--explain"),
        (args.lock, "--lock"),
    ] {
        if given {
            return Err(Error::Usage {
                message: format!("{flag} works on one spec, not on a folder of several"),
                help: Some("name one spec with -f FILE, without --target".into()),
            });
        }
    }
    let url = super::group_database_url(&args.db, &specs)?;
    super::warn_targets(&args.target);
    let planned = op::group(specs, &url, args.safety.options(), &args.target)?;
    let text = if args.json {
        render::json::render_many(&planned.plans)
    } else {
        render::human::render_many(&planned.plans, render::human::Options { full: args.full })
    };
    print(&text, "the plan")?;
    if let Some(refused) = planned.refused {
        return Err(refused);
    }
    Ok(exit_code(args.detailed_exitcode && planned.has_changes()))
}
