//! `reconcile plan`: resolve the spec, read the database, print the plan. Writes nothing to
//! the database; `--out FILE` saves the plan for `reconcile apply FILE`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use super::{PlanArgs, database_url, load_spec, runtime};
use crate::db::lock::{self, LockRequest};
use crate::db::{Database, read};
use crate::error::{Error, Result};
use crate::spec::compiled::Compiled;
use crate::{pipeline, plan, render};

/// Resolves the spec and plans it against the database, without writing anything. With
/// `lock`, the database is read under the table's lock (waiting up to that long for it).
pub fn make_plan(
    spec: &Compiled,
    url: &str,
    options: plan::Options,
    lock: Option<Duration>,
) -> Result<plan::Plan> {
    Ok(resolve_and_plan(spec, url, options, lock)?.1)
}

/// Like [`make_plan`], keeping the evidence (clusters, scores) the HTML report shows.
fn resolve_and_plan(
    spec: &Compiled,
    url: &str,
    options: plan::Options,
    lock: Option<Duration>,
) -> Result<(pipeline::Resolved, plan::Plan)> {
    let resolved = pipeline::resolve(spec)?;
    let plan = plan_resolved(spec, url, &resolved, options, lock)?;
    Ok((resolved, plan))
}

/// Plans an already resolved spec against the database, without writing anything. The
/// table's own rules (NOT NULL, unique constraints) and the guards (empty sources,
/// `prevent_destroy`, `max_delete`) are checked here, before anything can be written.
pub fn plan_resolved(
    spec: &Compiled,
    url: &str,
    resolved: &pipeline::Resolved,
    options: plan::Options,
    lock: Option<Duration>,
) -> Result<plan::Plan> {
    let rt = runtime()?;
    let stage = crate::progress::stage("read table");
    let (current, backend) = rt.block_on(async {
        let db = match lock {
            // Locking an SQLite file needs a writable connection; a file that does not
            // exist yet has nothing to lock and is not created.
            Some(_) if sqlite_file_exists(url) => Database::open_write(url).await?,
            _ => Database::open_read(url).await?,
        };
        let current = match lock {
            Some(timeout) => {
                let req = LockRequest::new(url, &spec.table, timeout, "plan");
                lock::read_locked(&db, spec, &req).await
            }
            None => read::read(&db, spec).await,
        };
        let backend = db.dialect.backend;
        db.close().await;
        Ok::<_, Error>((current?, backend))
    })?;
    drop(stage);
    let stage = crate::progress::stage("diff");
    let plan = plan::plan_with(spec, resolved, &current, options);
    drop(stage);
    crate::db::check::check(spec, &current, &plan, backend)?;
    plan::guard::check(spec, resolved, &current, &plan, options)?;
    Ok(plan)
}

fn sqlite_file_exists(url: &str) -> bool {
    url.strip_prefix("sqlite:")
        .map(|r| r.trim_start_matches("//"))
        .map(|r| r.split('?').next().unwrap_or(r))
        .is_some_and(|p| std::path::Path::new(p).is_file())
}

pub fn run(args: PlanArgs) -> Result<ExitCode> {
    let paths = super::find_specs(&args.spec.file)?;
    let specs = super::multi::load(&paths)?;
    if super::multi::needs_group(&specs, &args.target) {
        return run_many(&args, specs);
    }
    let spec = load_spec(&args.spec)?;
    let url = database_url(&args.db, &spec)?;
    let options = args.safety.options();
    let lock = args.lock.then_some(args.safety.lock_timeout);
    let (resolved, plan, explained) = if args.explain {
        let (resolved, timings) = super::explain::resolve_timed(&spec)?;
        let plan = plan_resolved(&spec, &url, &resolved, options, lock)?;
        let mut text = render::explain::summary(&spec, &resolved, &timings);
        for (i, d) in resolved.desired.iter().enumerate() {
            if d.members.len() > 1 {
                text.push('\n');
                text.push_str(&render::explain::record(&spec, &resolved, &plan, i));
            }
        }
        (resolved, plan, Some(text))
    } else {
        let (resolved, plan) = resolve_and_plan(&spec, &url, options, lock)?;
        (resolved, plan, None)
    };
    if let Some(path) = &args.html {
        let html = render::html::render(&spec, &resolved, &plan);
        std::fs::write(path, html)
            .map_err(|e| Error::Io(format!("cannot write the report {}: {e}", path.display())))?;
        eprintln!("Wrote the report to {}.", path.display());
    }
    if let Some(out) = &args.out {
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
    if let (Some(out), false) = (&args.out, args.json) {
        text.push_str(&format!(
            "\nSaved the plan to {}. To apply exactly this plan, run:\n    reconcile apply {}\n",
            out.display(),
            out.display()
        ));
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

/// `plan` of a folder of several specs (or with `--target`): one plan for every resource.
fn run_many(args: &PlanArgs, specs: Vec<Compiled>) -> Result<ExitCode> {
    for (given, flag) in [
        (args.out.is_some(), "--out"),
        (args.html.is_some(), "--html"),
        (args.explain, "--explain"),
        (args.lock, "--lock"),
    ] {
        if given {
            return Err(Error::Plan {
                message: format!("{flag} works on one spec, not on a folder of several"),
                help: Some("name one spec with -f FILE, without --target".into()),
            });
        }
    }
    let url = super::multi::database_url(&args.db, &specs)?;
    super::multi::warn_targets(&args.target);
    let planned = super::multi::plan_all(specs, &url, args.safety.options(), &args.target)?;
    let text = if args.json {
        render::json::render_many(&planned.plans)
    } else {
        render::human::render_many(&planned.plans, render::human::Options { full: args.full })
    };
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::Io(format!("cannot write the plan: {e}")))?;
    Ok(if args.detailed_exitcode && planned.has_changes() {
        ExitCode::from(super::exit::CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}
