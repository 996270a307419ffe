//! `reconcile plan`: resolve the spec, read the database, print the plan. Writes nothing to
//! the database; `--out FILE` saves the plan for `reconcile apply FILE`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use super::{PlanArgs, database_url, load_spec, runtime};
use crate::db::lock::LockRequest;
use crate::db::{Database, Engine, read};
use crate::error::{Error, Result};
use crate::plan::shortcut::{self, Miss, Record};
use crate::spec::compiled::Compiled;
use crate::state::CurrentState;
use crate::{pipeline, plan, render};

/// How a plan of one spec was made.
pub struct Made {
    pub plan: plan::Plan,
    /// Why the no-change shortcut was not taken; `None` when it was, or when it would have
    /// been but a full plan was asked for.
    pub miss: Option<Miss>,
}

/// Plans one spec against the database, without writing anything. When nothing changed since
/// the last apply (see [`plan::shortcut`]) and `refresh` is false, the sources are not read.
/// With `lock`, the database is read under the table's lock (waiting up to that long for it).
/// With `list_all`, a plan made by the shortcut lists every record up to date (`--json`);
/// otherwise it only counts them.
pub fn make_plan(
    spec: &Compiled,
    url: &str,
    options: plan::Options,
    lock: Option<Duration>,
    refresh: bool,
    list_all: bool,
) -> Result<Made> {
    // Taken before anything is read: see `inputs_fingerprint`.
    let inputs = shortcut::inputs_fingerprint(spec, options);
    let record = match &inputs {
        Some(_) => read_record(spec, url)?,
        None => None,
    };
    // The table is read first only when the shortcut may apply; otherwise after resolving,
    // as always, so the two never take memory at the same time.
    let mut early = None;
    if let (Some(inputs), Some(r), false) = (&inputs, &record, refresh)
        && &r.inputs == inputs
    {
        let (mut current, backend) = read_current(spec, url, lock)?;
        // The shortcut's plan creates, updates and deletes nothing, so the table's
        // constraints have nothing to refuse: no check is needed.
        if let Ok(plan) = shortcut::plan(spec, inputs, Some(r), &mut current, list_all) {
            // `--strict` is not part of the inputs: the invalid values the last apply left
            // out are errors now.
            plan::strict(spec, &plan)?;
            return Ok(Made { plan, miss: None });
        }
        early = Some((current, backend));
    }
    let resolved = pipeline::resolve(spec)?;
    let (current, backend) = match early {
        Some(read) => read,
        None => read_current(spec, url, lock)?,
    };
    let mut plan = finish_plan(spec, &resolved, &current, backend, options)?;
    // Why the shortcut was not (or, with `refresh`, would not have been) taken: `apply`
    // records the inputs of a plan without writes only when that helps the next plan.
    let miss = match &inputs {
        Some(inputs) => shortcut::check(spec, inputs, record.as_ref(), &current).err(),
        None => Some(Miss::NoRecord),
    };
    plan.inputs = inputs;
    Ok(Made { plan, miss })
}

/// Resolves the spec and plans it, keeping the evidence (clusters, scores) the HTML report
/// shows. Never takes the shortcut; records the inputs fingerprint for a saved plan.
fn resolve_and_plan(
    spec: &Compiled,
    url: &str,
    options: plan::Options,
    lock: Option<Duration>,
) -> Result<(pipeline::Resolved, plan::Plan)> {
    let inputs = shortcut::inputs_fingerprint(spec, options);
    let resolved = pipeline::resolve(spec)?;
    let mut plan = plan_resolved(spec, url, &resolved, options, lock)?;
    plan.inputs = inputs;
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
    let (current, backend) = read_current(spec, url, lock)?;
    finish_plan(spec, resolved, &current, backend, options)
}

/// What the last apply of the spec's resource recorded, if anything.
fn read_record(spec: &Compiled, url: &str) -> Result<Option<Record>> {
    runtime()?.block_on(async {
        let db = Database::open_read(url).await?;
        let record = crate::db::inputs::read(&db, &spec.resource).await;
        db.close().await;
        record
    })
}

/// Reads the table and the state.
fn read_current(
    spec: &Compiled,
    url: &str,
    lock: Option<Duration>,
) -> Result<(CurrentState, Engine)> {
    let rt = runtime()?;
    let stage = crate::progress::stage("read table");
    let read = rt.block_on(async {
        let db = match lock {
            // Locking an SQLite file needs a writable connection; a file that does not
            // exist yet has nothing to lock and is not created.
            Some(_) if sqlite_file_exists(url) => Database::open_write(url).await?,
            _ => Database::open_read(url).await?,
        };
        let current = match lock {
            Some(timeout) => {
                let req = LockRequest::new(url, &spec.table, timeout, "plan");
                read::read_locked(&db, spec, &req).await
            }
            None => read::read(&db, spec).await,
        };
        let backend = db.dialect.engine;
        db.close().await;
        Ok::<_, Error>((current?, backend))
    });
    drop(stage);
    read
}

/// The plan of a resolved spec against what was read, with the table's rules and the guards
/// checked.
fn finish_plan(
    spec: &Compiled,
    resolved: &pipeline::Resolved,
    current: &CurrentState,
    backend: Engine,
    options: plan::Options,
) -> Result<plan::Plan> {
    let stage = crate::progress::stage("diff");
    let plan = plan::plan_with(spec, resolved, current, options);
    drop(stage);
    crate::db::check::check(spec, current, &plan, backend)?;
    plan::guard::check(spec, resolved, current, &plan, options)?;
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
    let specs = super::multi::load(&paths, args.spec.strict)?;
    if super::multi::needs_group(&specs, &args.target) {
        return run_many(&args, specs);
    }
    let spec = load_spec(&args.spec)?;
    let url = database_url(&args.db, &spec)?;
    let options = args.safety.options();
    let lock = args.lock.then_some(args.safety.lock_timeout);
    // The report, the explanation and a saved plan show what resolving found: they always
    // take the full path.
    let full = args.refresh || args.explain || args.html.is_some() || args.out.is_some();
    let (plan, explained) = if args.explain {
        let inputs = shortcut::inputs_fingerprint(&spec, options);
        let (resolved, timings) = super::explain::resolve_timed(&spec)?;
        let mut plan = plan_resolved(&spec, &url, &resolved, options, lock)?;
        plan.inputs = inputs;
        let mut text = render::explain::summary(&spec, &resolved, &timings);
        for (i, d) in resolved.desired.iter().enumerate() {
            if d.members.len() > 1 {
                text.push('\n');
                text.push_str(&render::explain::record(&spec, &resolved, &plan, i));
            }
        }
        write_html(&args, &spec, &resolved, &plan)?;
        (plan, Some(text))
    } else if args.html.is_some() {
        let (resolved, plan) = resolve_and_plan(&spec, &url, options, lock)?;
        write_html(&args, &spec, &resolved, &plan)?;
        (plan, None)
    } else {
        (
            make_plan(&spec, &url, options, lock, full, args.json)?.plan,
            None,
        )
    };
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

/// Writes the HTML report when one was asked for.
fn write_html(
    args: &PlanArgs,
    spec: &Compiled,
    resolved: &pipeline::Resolved,
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
