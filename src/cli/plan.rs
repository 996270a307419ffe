//! `reconcile plan`: resolve the spec (or every spec of a folder), read the database, print
//! the plan. Writes nothing to the database; `--out FILE` saves the plan for
//! `reconcile apply FILE` (and `reconcile show FILE`), `--html FILE` writes a report.

use std::path::Path;
use std::process::ExitCode;

use super::output::{self, Format};
use super::{PlanArgs, database_url, print};
use crate::error::{Error, Result};
use crate::operation::plan::{self as op, GroupRequest, Request};
use crate::pipeline::Resolved;
use crate::plan::file::ToSave;
use crate::spec::compiled::Compiled;
use crate::{plan, render};

pub(super) fn run(args: PlanArgs) -> Result<ExitCode> {
    let format = args.output.format()?;
    if args.explain && format != Format::Text {
        return Err(Error::Usage {
            message: "--explain prints text and goes with the text plan only".into(),
            help: Some("leave out --format, or run `reconcile explain` apart".into()),
        });
    }
    let paths = super::find_specs(&args.spec.file)?;
    let mut specs = op::load(&paths, args.spec.overrides())?;
    if op::needs_group(&specs, &args.target) {
        return run_many(&args, specs, format);
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
            // `--json` lists the records up to date, and a saved plan keeps them for `show`.
            list_all: format == Format::Json || args.out.is_some(),
            // The report and the explanation show the evidence.
            evidence: args.explain || args.html.is_some(),
        },
    )?;
    let plan = made.plan;
    let explained = match &made.resolved {
        Some(resolved) => {
            if let Some(path) = &args.html {
                write_html(path, &render::html::render(&spec, resolved, &plan))?;
            }
            args.explain.then(|| explanation(&spec, resolved, &plan))
        }
        None => None,
    };
    let plans = std::slice::from_ref(&plan);
    // A refused plan is not saved: applying the file would pass the guards by.
    let out = args.out.as_deref().filter(|_| made.refused.is_none());
    if let Some(out) = out {
        plan::file::save(
            out,
            &ToSave {
                specs: std::slice::from_ref(&spec),
                plans,
                url: &url,
                options,
                group: false,
                targets: &[],
            },
        )?;
    }
    let mut text = output::render(plans, false, format, args.output.full);
    if let Some(explained) = explained {
        text.push('\n');
        text.push_str(&explained);
    }
    saved_note(&mut text, out, format);
    print(&text, "the plan")?;
    if let Some(refused) = made.refused {
        return Err(refused);
    }
    Ok(exit_code(args.detailed_exitcode && plan.has_changes()))
}

/// The matching summary, then every golden record of several members explained.
pub(super) fn explanation(spec: &Compiled, resolved: &Resolved, plan: &plan::Plan) -> String {
    let mut text = render::explain::summary(spec, resolved);
    let explainer = render::explain::Explainer::new(spec, resolved, plan);
    for (i, d) in resolved.desired.iter().enumerate() {
        if d.members.len() > 1 {
            text.push('\n');
            text.push_str(&explainer.record(i));
        }
    }
    text
}

/// After a text plan saved with `--out`, how to apply it.
fn saved_note(text: &mut String, out: Option<&Path>, format: Format) {
    if let (Some(out), Format::Text) = (out, format) {
        text.push_str(&format!(
            "\nSaved the plan to {}. To apply exactly this plan, run:\n    reconcile apply {}\n",
            out.display(),
            out.display()
        ));
    }
}

/// `--detailed-exitcode`: 2 when the plan changes something.
fn exit_code(changes: bool) -> ExitCode {
    if changes {
        ExitCode::from(super::exit::CHANGES)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes an HTML report.
pub(super) fn write_html(path: &Path, html: &str) -> Result<()> {
    // The report shows values (not sensitive ones): owner-only, like a saved plan.
    crate::plan::file::write_private(path, |w| w.write_all(html.as_bytes()))
        .map_err(|e| Error::Io(format!("cannot write the report {}: {e}", path.display())))?;
    eprintln!("Wrote the report to {}.", path.display());
    Ok(())
}

/// Refuses `--html` and `--explain` with a record as `--target`: they show whole resources,
/// and a plan cut down to some records no longer lines up with what resolving found.
pub(super) fn whole_resources(targets: &[String], evidence: bool) -> Result<()> {
    match targets
        .iter()
        .find(|t| plan::multi::parse_address(t).is_some())
    {
        Some(t) if evidence => Err(Error::Usage {
            message: format!(
                "--html and --explain show whole resources, and --target {t} names a record"
            ),
            help: Some("target its resource instead (e.g. --target branches)".into()),
        }),
        _ => Ok(()),
    }
}

/// The report of a folder's plans.
pub(super) fn folder_html(path: &Path, planned: &op::Planned) -> Result<()> {
    write_html(
        path,
        &render::html::render_many(&planned.specs, &planned.resolved, &planned.plans),
    )
}

/// `plan` of a folder of several specs (or with `--target`): one plan for every resource.
fn run_many(args: &PlanArgs, specs: Vec<Compiled>, format: Format) -> Result<ExitCode> {
    let evidence = args.explain || args.html.is_some();
    whole_resources(&args.target, evidence)?;
    let url = super::group_database_url(&args.db, &specs)?;
    super::warn_targets(&args.target);
    let options = args.safety.options();
    let planned = op::group(
        specs,
        &url,
        GroupRequest {
            options,
            targets: &args.target,
            lock: args.lock.then_some(args.safety.lock_timeout),
            evidence,
        },
    )?;
    if let Some(path) = &args.html {
        folder_html(path, &planned)?;
    }
    let out = args.out.as_deref().filter(|_| planned.refused.is_none());
    if let Some(out) = out {
        plan::file::save(
            out,
            &ToSave {
                specs: &planned.specs,
                plans: &planned.plans,
                url: &url,
                options,
                group: true,
                targets: &args.target,
            },
        )?;
    }
    let mut text = output::render(&planned.plans, true, format, args.output.full);
    if args.explain {
        for ((spec, resolved), plan) in planned
            .specs
            .iter()
            .zip(&planned.resolved)
            .zip(&planned.plans)
        {
            text.push_str(&format!("\n# {}\n", render::safe::term(&spec.resource)));
            text.push_str(&explanation(spec, resolved, plan));
        }
    }
    saved_note(&mut text, out, format);
    print(&text, "the plan")?;
    if let Some(refused) = planned.refused {
        return Err(refused);
    }
    Ok(exit_code(args.detailed_exitcode && planned.has_changes()))
}
