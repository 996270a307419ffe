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
    let resolved = pipeline::resolve(spec)?;
    let rt = runtime()?;
    rt.block_on(async {
        let db = Database::open_read(url).await?;
        let current = read::read(&db, spec).await;
        let backend = db.dialect.backend;
        db.close().await;
        let current = current?;
        let plan = plan::plan(spec, &resolved, &current);
        // The table's own rules (NOT NULL, unique constraints) are checked before any write.
        crate::db::check::check(spec, &current, &plan, backend)?;
        Ok(plan)
    })
}

pub fn run(args: PlanArgs) -> Result<ExitCode> {
    let spec = load_spec(&args.spec)?;
    let url = database_url(&args.db, &spec)?;
    let plan = make_plan(&spec, &url)?;
    let text = if args.json {
        render::json::render(&plan)
    } else {
        render::human::render(&plan)
    };
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::Io(format!("cannot write the plan: {e}")))?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
