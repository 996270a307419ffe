//! Planning: one spec, or a folder of specs planned together, against the database, writing
//! nothing. One runtime and one connection per read; the pure stages run before it.

use std::time::Duration;

use crate::db::lock::LockRequest;
use crate::db::read::{self, Keep};
use crate::db::{Database, Engine};
use crate::error::{Error, Result};
use crate::pipeline::{self, Resolved};
use crate::plan::shortcut::{self, Miss, Record};
use crate::plan::{self, Plan, multi, schema};
use crate::spec::compiled::Compiled;
use crate::state::CurrentState;

use super::runtime;

/// What planning one spec is asked to do besides planning.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request {
    pub options: plan::Options,
    /// Read the database under the table's lock, waiting up to that long for it.
    pub lock: Option<Duration>,
    /// Read the sources even when nothing changed since the last apply.
    pub refresh: bool,
    /// The plan lists every record up to date with its values (for `--json` and a saved
    /// plan); otherwise it only counts them (the no-change shortcut), or keeps their values
    /// once (a full plan).
    pub list_all: bool,
    /// Keep what resolving found (clusters, scores, timings) for a report or an
    /// explanation; the shortcut is then never taken.
    pub evidence: bool,
}

/// How a plan of one spec was made.
pub struct Made {
    pub plan: Plan,
    /// Why the no-change shortcut was not taken; `None` when it was, or when it would have
    /// been but a full plan was asked for.
    pub miss: Option<Miss>,
    /// What resolving found, with [`Request::evidence`].
    pub resolved: Option<Resolved>,
    /// Why the plan may not be applied (a guard: `max_delete`, `prevent_destroy`, an emptied
    /// source, ...): shown after the plan, so that what is refused can be seen.
    pub refused: Option<Error>,
}

/// What the command line sets over every spec it loads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--strict`: invalid values are errors.
    pub strict: bool,
    /// `--match-memory`: matching's memory budget, in bytes.
    pub match_memory: Option<u64>,
}

impl Overrides {
    pub fn apply(&self, spec: &mut Compiled) {
        spec.strict |= self.strict;
        if let Some(bytes) = self.match_memory {
            spec.matching.memory = Some(bytes);
        }
    }
}

/// Loads every spec of the list, with what the command line sets over them.
pub fn load(paths: &[std::path::PathBuf], overrides: Overrides) -> Result<Vec<Compiled>> {
    paths
        .iter()
        .map(|p| {
            let mut spec = crate::spec::load::load(p)?;
            overrides.apply(&mut spec);
            Ok(spec)
        })
        .collect()
}

/// Whether the specs must be planned as a group: several of them, `--target`, or a spec that
/// references or depends on another resource (which then names what is missing).
pub fn needs_group(specs: &[Compiled], targets: &[String]) -> bool {
    specs.len() > 1
        || !targets.is_empty()
        || specs.iter().any(|s| !multi::dependencies(s).is_empty())
}

/// Plans one spec against the database, without writing anything. When nothing changed since
/// the last apply (see [`plan::shortcut`]) and neither `refresh` nor `evidence` is asked for,
/// the sources are not read.
pub fn one(spec: &Compiled, url: &str, req: Request) -> Result<Made> {
    // Taken before anything is read: see `inputs_fingerprint`.
    let inputs = shortcut::inputs_fingerprint(spec, req.options);
    let record = match &inputs {
        Some(_) => read_record(spec, url)?,
        None => None,
    };
    if req.evidence {
        let resolved = pipeline::resolve(spec)?;
        let (current, backend) = read_current(spec, url, req.lock)?;
        let (mut plan, refused) = finish_plan(spec, &resolved, &current, backend, req.options)?;
        // Whether the shortcut would have been taken: an apply then records the inputs of a
        // plan without writes when the next plan needs them, as without the evidence.
        let miss = match &inputs {
            Some(inputs) => shortcut::check(spec, inputs, record.as_ref(), &current).err(),
            None => Some(Miss::NoRecord),
        };
        plan.inputs = inputs;
        return Ok(Made {
            plan,
            miss,
            resolved: Some(resolved),
            refused,
        });
    }
    // The table is read first only when the shortcut may apply; otherwise after resolving,
    // as always, so the two never take memory at the same time.
    let mut early = None;
    if let (Some(inputs), Some(r), false) = (&inputs, &record, req.refresh)
        && &r.inputs == inputs
    {
        // When the last apply recorded what its rows summed to, the sums of what the table
        // and state hold now are all it takes: no row is kept, none is checked one by one.
        if !req.list_all && r.aside.rows_left.is_some() {
            // With `--lock`, in one transaction holding the lock; otherwise the table and
            // the state at the same time.
            let current = match req.lock {
                Some(_) => read_current_keeping(spec, url, req.lock, Keep::Sums)?.0,
                None => {
                    let _stage = crate::progress::stage("read table");
                    read::read_sums(url, spec)?
                }
            };
            if let Ok(plan) = shortcut::plan_from_sums(spec, inputs, r, &current) {
                return quick(spec, plan);
            }
        }
        // A plan that lists every record up to date needs their values; one that only
        // counts them needs each row's digest, a fraction of the memory and of the time.
        let keep = if req.list_all {
            Keep::Everything
        } else {
            Keep::Digests
        };
        let (mut current, backend) = read_current_keeping(spec, url, req.lock, keep)?;
        // The shortcut's plan creates, updates and deletes nothing, so the table's
        // constraints have nothing to refuse: no check is needed.
        if let Ok(plan) = shortcut::plan(spec, inputs, Some(r), &mut current, req.list_all) {
            return quick(spec, plan);
        }
        // Read again below, whole, when only digests were kept.
        if keep == Keep::Everything {
            early = Some((current, backend));
        }
    }
    // Nothing of this plan explains a link: their probabilities are enough.
    let mut resolved = pipeline::resolve_with(spec, crate::matching::Evidence::Probability)?;
    // Past the golden records, this plan reads of the source records only their names.
    resolved.keep_names_only(spec);
    let (current, backend) = match early {
        Some(read) => read,
        None => read_current(spec, url, req.lock)?,
    };
    let (mut plan, refused) = finish_plan_spending(spec, &mut resolved, &current, backend, &req)?;
    drop(resolved);
    // Why the shortcut was not (or, with `refresh`, would not have been) taken: `apply`
    // records the inputs of a plan without writes only when that helps the next plan.
    let miss = match &inputs {
        Some(inputs) => shortcut::check(spec, inputs, record.as_ref(), &current).err(),
        None => Some(Miss::NoRecord),
    };
    plan.inputs = inputs;
    Ok(Made {
        plan,
        miss,
        resolved: None,
        refused,
    })
}

/// What a plan made by the shortcut gives. `--strict` is not part of the inputs: the
/// invalid values the last apply left out are errors now.
fn quick(spec: &Compiled, plan: Plan) -> Result<Made> {
    plan::strict(spec, &plan)?;
    Ok(Made {
        plan,
        miss: None,
        resolved: None,
        refused: None,
    })
}

/// Plans an already resolved spec against the database, without writing anything. The
/// table's own rules (NOT NULL, unique constraints) and the guards (empty sources,
/// `prevent_destroy`, `max_delete`) are checked here, before anything can be written.
pub fn plan_resolved(
    spec: &Compiled,
    url: &str,
    resolved: &Resolved,
    options: plan::Options,
    lock: Option<Duration>,
) -> Result<Plan> {
    let (current, backend) = read_current(spec, url, lock)?;
    match finish_plan(spec, resolved, &current, backend, options)? {
        (_, Some(refused)) => Err(refused),
        (plan, None) => Ok(plan),
    }
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
pub fn read_current(
    spec: &Compiled,
    url: &str,
    lock: Option<Duration>,
) -> Result<(CurrentState, Engine)> {
    read_current_keeping(spec, url, lock, Keep::Everything)
}

/// [`read_current`], keeping what `keep` says of the rows and state entries.
fn read_current_keeping(
    spec: &Compiled,
    url: &str,
    lock: Option<Duration>,
    keep: Keep,
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
        let req = lock.map(|timeout| LockRequest::new(url, &spec.table, timeout, "plan"));
        let current = read::read_keeping(&db, spec, req.as_ref(), keep).await;
        let backend = db.dialect.engine;
        db.close().await;
        Ok::<_, Error>((current?, backend))
    });
    drop(stage);
    read
}

/// The plan of a resolved spec against what was read, with the table's rules checked (a
/// plan breaking them is an error), and the guards: a plan they stop comes with the
/// refusal, to be shown before it.
fn finish_plan(
    spec: &Compiled,
    resolved: &Resolved,
    current: &CurrentState,
    backend: Engine,
    options: plan::Options,
) -> Result<(Plan, Option<Error>)> {
    let stage = crate::progress::stage("diff");
    let plan = plan::plan_with(spec, resolved, current, options);
    drop(stage);
    checked(spec, resolved, current, backend, options, plan)
}

/// [`finish_plan`] for a caller that needs the golden records no more: they move into the
/// plan's changes rather than being copied, and `resolved.desired` is left empty.
fn finish_plan_spending(
    spec: &Compiled,
    resolved: &mut Resolved,
    current: &CurrentState,
    backend: Engine,
    req: &Request,
) -> Result<(Plan, Option<Error>)> {
    let stage = crate::progress::stage("diff");
    let plan = plan::plan_taking(spec, resolved, current, req.options, req.list_all);
    drop(stage);
    checked(spec, resolved, current, backend, req.options, plan)
}

/// The plan with the table's rules checked (an error) and the guards (a refusal).
fn checked(
    spec: &Compiled,
    resolved: &Resolved,
    current: &CurrentState,
    backend: Engine,
    options: plan::Options,
    plan: Plan,
) -> Result<(Plan, Option<Error>)> {
    crate::db::check::check(spec, current, &plan, backend)?;
    let refused = plan::guard::check(spec, resolved, current, &plan, options).err();
    Ok((plan, refused))
}

fn sqlite_file_exists(url: &str) -> bool {
    url.strip_prefix("sqlite:")
        .map(|r| r.trim_start_matches("//"))
        .map(|r| r.split('?').next().unwrap_or(r))
        .is_some_and(|p| std::path::Path::new(p).is_file())
}

/// The resources planned together, parents first, with their plans.
pub struct Planned {
    pub specs: Vec<Compiled>,
    pub plans: Vec<Plan>,
    /// Why the plans may not be applied, as [`Made::refused`]: the first refusal.
    pub refused: Option<Error>,
    /// What resolving found for each resource, with [`GroupRequest::evidence`]; else empty.
    pub resolved: Vec<Resolved>,
}

impl Planned {
    pub fn has_changes(&self) -> bool {
        self.plans.iter().any(Plan::has_changes)
    }

    pub fn has_writes(&self) -> bool {
        self.plans.iter().any(Plan::has_writes)
    }
}

/// What planning a folder is asked to do besides planning.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupRequest<'a> {
    pub options: plan::Options,
    /// `--target`: plan only these resources or records, with what they depend on.
    pub targets: &'a [String],
    /// Read every table under its lock, waiting up to that long for each.
    pub lock: Option<Duration>,
    /// Keep what resolving found for each resource, for a report or an explanation.
    pub evidence: bool,
}

/// Refuses two specs on one table: they would adopt each other's rows.
fn one_table_each(specs: &[Compiled]) -> Result<()> {
    for (i, a) in specs.iter().enumerate() {
        if let Some(b) = specs[i + 1..]
            .iter()
            .find(|b| b.table.eq_ignore_ascii_case(&a.table))
        {
            return Err(Error::Plan {
                message: format!(
                    "{} (resource `{}`) and {} (resource `{}`) both target table {:?}; two \
                     resources on one table would adopt each other's rows and undo each \
                     other's changes",
                    a.file.display(),
                    a.resource,
                    b.file.display(),
                    b.resource,
                    a.table
                ),
                help: Some("give each spec a table of its own (`target.table`)".into()),
            });
        }
    }
    Ok(())
}

/// Plans the specs against the database, parents first, writing nothing. Only the targeted
/// resources (and those they depend on) are planned when the request names some.
pub fn group(specs: Vec<Compiled>, url: &str, req: GroupRequest<'_>) -> Result<Planned> {
    one_table_each(&specs)?;
    let order = multi::order(&specs)?;
    let wanted = multi::targets(&specs, req.targets)?;
    let mut slots: Vec<Option<Compiled>> = specs.into_iter().map(Some).collect();
    let mut ordered: Vec<(Compiled, Option<Vec<String>>)> = Vec::new();
    for i in order {
        let (keep, keys) = wanted[i].clone();
        let spec = slots[i].take().expect("each spec once");
        if keep {
            ordered.push((spec, keys));
        }
    }
    let rt = runtime()?;
    let (db, mut locked) = match req.lock {
        Some(timeout) => {
            let (db, read) = rt.block_on(read_locked_all(&ordered, url, timeout))?;
            (db, Some(read.into_iter()))
        }
        None => (rt.block_on(Database::open_read(url))?, None),
    };
    let mut reads: Vec<CurrentState> = Vec::new();
    let mut plans: Vec<Plan> = Vec::new();
    let mut refused = None;
    let mut kept: Vec<Resolved> = Vec::new();
    for (spec, keys) in &ordered {
        let evidence = if req.evidence {
            crate::matching::Evidence::Terms
        } else {
            crate::matching::Evidence::Probability
        };
        let mut resolved = pipeline::resolve_with(spec, evidence)?;
        {
            let planned: Vec<(&Compiled, &Plan)> =
                ordered.iter().map(|(s, _)| s).zip(plans.iter()).collect();
            multi::resolve_references(spec, &mut resolved.desired, &planned)?;
        }
        let mut current = match locked.as_mut().and_then(Iterator::next) {
            Some(current) => current,
            None => rt.block_on(read::read(&db, spec))?,
        };
        // What was read, as read: a stale plan is told from what the database holds, before
        // stored keys are read back as addresses.
        let references = spec.fields.iter().any(|f| f.reference.is_some());
        let read_prints = references.then(|| plan::row_prints(&current));
        {
            let parents: Vec<(&str, &CurrentState)> = ordered
                .iter()
                .map(|(s, _)| s.resource.as_str())
                .zip(reads.iter())
                .collect();
            multi::map_current(spec, &mut current, &parents);
        }
        let mut plan = plan::plan_with(spec, &resolved, &current, req.options);
        if let Some(prints) = read_prints {
            plan.read = prints.into();
        }
        let parents: Vec<schema::Parent<'_>> = ordered
            .iter()
            .zip(plans.iter().zip(&reads))
            .map(|((spec, _), (plan, current))| schema::Parent {
                spec,
                plan,
                current,
            })
            .collect();
        schema::references(
            spec,
            &mut plan.schema,
            &current,
            &parents,
            db.dialect.engine,
        );
        crate::db::check::check(spec, &current, &plan, db.dialect.engine)?;
        let dangling = schema::dangling(spec, &plan, &current, &parents);
        drop(parents);
        let checked = match dangling_error(&dangling) {
            Some(e) => Err(e),
            None => plan::guard::check(spec, &resolved, &current, &plan, req.options),
        };
        if let (Err(e), None) = (checked, &refused) {
            refused = Some(e);
        }
        if let Some(keys) = keys {
            multi::keep_addresses(&mut plan, keys);
        }
        plans.push(plan);
        reads.push(current);
        if req.evidence {
            kept.push(resolved);
        }
    }
    rt.block_on(db.close());
    // Rows that point to others' make the apply read every managed row of the resources
    // together: their plans keep the prints of every row then.
    if ordered
        .iter()
        .any(|(s, _)| s.fields.iter().any(|f| f.reference.is_some()))
    {
        for (plan, current) in plans.iter_mut().zip(&reads) {
            if plan.decided.take().is_some() {
                plan.read = plan::row_prints(current).into();
            }
        }
    }
    Ok(Planned {
        specs: ordered.into_iter().map(|(s, _)| s).collect(),
        plans,
        refused,
        resolved: kept,
    })
}

/// The refusal of a plan that deletes rows others still refer to through a foreign key,
/// which the database would refuse mid-apply.
fn dangling_error(dangling: &[(String, String)]) -> Option<Error> {
    if dangling.is_empty() {
        return None;
    }
    let lines: Vec<String> = dangling
        .iter()
        .take(10)
        .map(|(child, parent)| format!("{child} refers to {parent}, which is to be deleted"))
        .collect();
    let more = dangling.len().saturating_sub(10);
    Some(Error::Plan {
        message: format!(
            "this plan would delete {} that other rows still refer to through a foreign key:\n  - {}{}",
            if dangling.len() == 1 { "a row" } else { "rows" },
            lines.join("\n  - "),
            if more > 0 {
                format!("\n  - and {more} more")
            } else {
                String::new()
            }
        ),
        help: Some(
            "delete or move the rows that refer to it as well (their records leave the \
             sources with `on_missing: delete`, or point elsewhere), or keep the referenced \
             record; nothing was written"
                .into(),
        ),
    })
}

/// `plan --lock` of a folder: every table read in one transaction holding each table's
/// lock, so the plan waits for a running apply of any of them. The database stays open for
/// the checks that follow.
async fn read_locked_all(
    ordered: &[(Compiled, Option<Vec<String>>)],
    url: &str,
    timeout: Duration,
) -> Result<(Database, Vec<CurrentState>)> {
    // Locking an SQLite file needs a writable connection; a file that does not exist yet has
    // nothing to lock and is not created.
    let db = if sqlite_file_exists(url) {
        Database::open_write(url).await?
    } else {
        Database::open_read(url).await?
    };
    let specs: Vec<&Compiled> = ordered.iter().map(|(s, _)| s).collect();
    let mut locks: Vec<LockRequest> = Vec::new();
    for s in &specs {
        if !locks.iter().any(|l| l.table == s.table) {
            locks.push(LockRequest::new(url, &s.table, timeout, "plan"));
        }
    }
    let read = read::read_all_locked(&db, &specs, &locks).await?;
    Ok((db, read))
}
