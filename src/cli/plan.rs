//! `reconcile plan`: resolve the spec, read the database, print the plan. Writes nothing.

use std::io::Write as _;
use std::process::ExitCode;

use super::{PlanArgs, database_url, load_spec, runtime};
use crate::db::{Database, read};
use crate::error::{Error, Result};
use crate::spec::compiled::Compiled;
use crate::{pipeline, plan, render};

/// Resolves the spec and plans it against the database, without writing anything.
pub fn make_plan(spec: &Compiled, url: &str) -> Result<plan::Plan> {
    Ok(resolve_and_plan(spec, url)?.1)
}

/// Like [`make_plan`], keeping the evidence (clusters, scores) the HTML report shows.
fn resolve_and_plan(spec: &Compiled, url: &str) -> Result<(pipeline::Resolved, plan::Plan)> {
    let resolved = pipeline::resolve(spec)?;
    let plan = plan_resolved(spec, url, &resolved)?;
    Ok((resolved, plan))
}

/// Plans an already resolved spec against the database, without writing anything.
pub fn plan_resolved(
    spec: &Compiled,
    url: &str,
    resolved: &pipeline::Resolved,
) -> Result<plan::Plan> {
    let rt = runtime()?;
    rt.block_on(async {
        let db = Database::open_read(url).await?;
        let current = read::read(&db, spec).await;
        let backend = db.dialect.backend;
        db.close().await;
        let current = current?;
        let plan = plan::plan(spec, resolved, &current);
        // The table's own rules (NOT NULL, unique constraints) are checked before any write.
        crate::db::check::check(spec, &current, &plan, backend)?;
        Ok(plan)
    })
}

pub fn run(args: PlanArgs) -> Result<ExitCode> {
    let spec = load_spec(&args.spec)?;
    let url = database_url(&args.db, &spec)?;
    let (resolved, plan, explained) = if args.explain {
        let (resolved, timings) = super::explain::resolve_timed(&spec)?;
        let plan = super::explain::plan_with(&spec, &url, &resolved)?;
        let mut text = render::explain::summary(&spec, &resolved, &timings);
        for (i, d) in resolved.desired.iter().enumerate() {
            if d.members.len() > 1 {
                text.push('\n');
                text.push_str(&render::explain::record(&spec, &resolved, &plan, i));
            }
        }
        (resolved, plan, Some(text))
    } else {
        let (resolved, plan) = resolve_and_plan(&spec, &url)?;
        (resolved, plan, None)
    };
    if let Some(path) = &args.html {
        let html = render::html::render(&spec, &resolved, &plan);
        std::fs::write(path, html)
            .map_err(|e| Error::Io(format!("cannot write the report {}: {e}", path.display())))?;
        eprintln!("Wrote the report to {}.", path.display());
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
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::Io(format!("cannot write the plan: {e}")))?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(super::exit::CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}
