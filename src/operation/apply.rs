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

/// A saved plan, ready to apply: its spec, loaded again, and the database it goes to.
pub struct Saved {
    pub spec: Compiled,
    pub url: String,
    pub plan: Plan,
    /// Replacements were allowed when the plan was made.
    pub allow_replace: bool,
}

/// Loads a saved plan and refuses it when anything it was made from changed since: the spec,
/// the sources, the database named, or (for a plan without writes, which no transaction will
/// check) the table. `url` picks the database for the plan's spec.
pub fn load_saved(
    file: &Path,
    strict: bool,
    url: impl FnOnce(&Compiled) -> Result<String>,
) -> Result<Saved> {
    let mut saved = plan::file::load(file)?;
    let mut spec = crate::spec::load::load(&saved.spec.path)?;
    spec.strict |= strict;
    let url = url(&spec)?;
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
        // Nothing to write, so no transaction will find the plan stale: the table is read
        // here, and a plan made before another apply changed it is refused as any stale
        // plan is.
        check_unchanged(&spec, &url, &saved.plan)?;
    }
    Ok(Saved {
        spec,
        url,
        plan: saved.plan,
        allow_replace: saved.options.allow_replace,
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
    let stage = crate::progress::stage("apply");
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
