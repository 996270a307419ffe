//! Applying: plans written in one transaction under the tables' locks, and saved plans
//! checked against what they were made from before anything is written.

use std::path::Path;
use std::time::Duration;

use crate::db::lock::LockRequest;
use crate::db::{Applied, Database, Failed, WriteSet, read};
use crate::error::{Error, Result};
use crate::plan::shortcut::Miss;
use crate::plan::{self, Plan};
use crate::spec::compiled::Compiled;

use super::plan::Planned;
use super::runtime;

/// A saved plan, ready to apply: its specs, loaded again, their plans (parents first), and
/// the database they go to.
pub struct Saved {
    pub planned: Planned,
    pub url: String,
    /// Planned as a group (a folder): applied in one transaction, shown as a folder.
    pub group: bool,
    /// The `--target`s the plan was made with.
    pub targets: Vec<String>,
    /// Replacements were allowed when the plan was made.
    pub allow_replace: bool,
}

/// Loads a saved plan and refuses it when anything it was made from changed since: a spec,
/// a source, the database named, or (for a plan without writes, which no transaction will
/// check) a table. `named` is a database named for this apply (`--database` or
/// `DATABASE_URL`) and where it came from; without one, the plan's own database is used (see
/// [`plan::file::SavedPlan::url_for`]). With `whole`, the records up to date are read too, so
/// that the plans are shown as `plan` showed them (`apply --json`); apply itself needs only
/// their count.
pub fn load_saved(
    file: &Path,
    strict: bool,
    named: Option<(&str, &str)>,
    whole: bool,
) -> Result<Saved> {
    let saved = plan::file::load(file)?;
    let mut specs = Vec::with_capacity(saved.resources.len());
    for r in &saved.resources {
        let mut spec = crate::spec::load::load(&r.spec.path)?;
        spec.strict |= strict;
        specs.push(spec);
    }
    // A password the plan could not keep may come from a spec's `database: ${VAR}`.
    let spec_urls: Vec<String> = specs
        .iter()
        .filter_map(|s| s.database.as_deref())
        .filter_map(|raw| crate::spec::load::expand_str(raw).ok())
        .collect();
    let url = saved.url_for(named, &spec_urls)?;
    for (r, spec) in saved.resources.iter().zip(&specs) {
        let label = if saved.group {
            format!("resource `{}`: ", spec.resource)
        } else {
            String::new()
        };
        r.check_inputs(spec, &label)?;
    }
    let (group, targets, allow_replace) = (
        saved.group,
        saved.targets.clone(),
        saved.options.allow_replace,
    );
    let plans = if whole {
        saved.plans_to_show(file)?
    } else {
        saved.plans_to_apply()
    };
    for (spec, plan) in specs.iter().zip(&plans) {
        plan::strict(spec, plan)?;
    }
    if !plans.iter().any(Plan::has_writes) {
        // Nothing to write, so no transaction will find the plan stale: the tables are read
        // here, and a plan made before another apply changed them is refused as any stale
        // plan is.
        for (spec, plan) in specs.iter().zip(&plans) {
            check_unchanged(spec, &url, plan)?;
        }
    }
    Ok(Saved {
        planned: Planned {
            specs,
            plans,
            refused: None,
            resolved: Vec::new(),
        },
        url,
        group,
        targets,
        allow_replace,
    })
}

/// Refuses a saved plan when the table or the state it was made against changed since.
fn check_unchanged(spec: &Compiled, url: &str, saved: &Plan) -> Result<()> {
    let current = runtime()?.block_on(async {
        let db = Database::open_read(url).await?;
        let current = read::read(&db, spec).await;
        db.close().await;
        current
    })?;
    if current.fingerprint == saved.fingerprint {
        return Ok(());
    }
    Err(plan::file::stale_error(saved, &current))
}

/// Writes one spec's plan under its table's lock, in one transaction. A plan without writes
/// is applied only to record its inputs, when that lets the next plan skip reading the
/// sources (`miss` says why the shortcut was not taken); `None` when nothing was done.
pub fn one(
    spec: &Compiled,
    url: &str,
    plan: &Plan,
    miss: Option<Miss>,
    lock_timeout: Duration,
) -> Result<Option<Applied>> {
    // The database matched the spec, but no apply said so yet for these sources (or with
    // these options).
    let record_only = plan.inputs.is_some()
        && matches!(
            miss,
            Some(Miss::NoRecord | Miss::InputsChanged | Miss::StateChanged)
        );
    if !plan.has_writes() && !record_only {
        return Ok(None);
    }
    let lock = LockRequest::new(url, &spec.table, lock_timeout, "apply");
    let stage = crate::progress::writing(rows_written(std::slice::from_ref(plan)));
    // What to write is worked out before the runtime runs: it hashes every row written.
    let set = WriteSet::new(spec, plan);
    // From here, Ctrl-C rolls the apply back instead of ending the process mid-way.
    let _catch = crate::db::interrupt::Catch::new();
    let applied = runtime()?
        .block_on(async {
            let db = Database::open_write(url).await.map_err(Failed::Error)?;
            let result = crate::db::apply(&db, std::slice::from_ref(&set), &[lock]).await;
            db.close().await;
            result
        })
        .map_err(|f| failed(f, std::slice::from_ref(plan)))?;
    drop(stage);
    Ok(plan.has_writes().then_some(applied))
}

/// The rows the plans write: created, updated (restored ones included) and deleted.
fn rows_written(plans: &[Plan]) -> u64 {
    plans
        .iter()
        .flat_map(|p| &p.changes)
        .filter(|c| c.action != plan::Action::NoOp)
        .count() as u64
}

/// Applies the plans of a group in one transaction holding every table's lock.
pub fn group(planned: &Planned, url: &str, lock_timeout: Duration) -> Result<Option<Applied>> {
    if !planned.has_writes() {
        return Ok(None);
    }
    let mut locks: Vec<LockRequest> = Vec::new();
    for s in &planned.specs {
        if !locks.iter().any(|l| l.table == s.table) {
            locks.push(LockRequest::new(url, &s.table, lock_timeout, "apply"));
        }
    }
    // What to write is worked out before the runtime runs: it hashes every row written.
    let sets: Vec<WriteSet<'_>> = planned
        .specs
        .iter()
        .zip(&planned.plans)
        .map(|(spec, plan)| WriteSet::new(spec, plan))
        .collect();
    let _stage = crate::progress::writing(rows_written(&planned.plans));
    let _catch = crate::db::interrupt::Catch::new();
    runtime()?
        .block_on(async {
            let db = Database::open_write(url).await.map_err(Failed::Error)?;
            let result = crate::db::apply(&db, &sets, &locks).await;
            db.close().await;
            result
        })
        .map(Some)
        .map_err(|f| failed(f, &planned.plans))
}

/// The error of an apply that wrote nothing; for a stale plan, what changed since it was made.
fn failed(f: Failed, plans: &[Plan]) -> Error {
    match f {
        Failed::Stale { index, current } => plan::file::stale_error(&plans[index], &current),
        Failed::Error(e) => e,
    }
}
