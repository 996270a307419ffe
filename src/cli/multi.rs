//! A folder of several specs (or `--target`): every resource planned together, parents
//! first, references resolved between them; one plan, one summary, and one transaction for
//! the whole apply.

use std::time::Duration;

use super::{DbArgs, runtime};
use crate::db::lock::LockRequest;
use crate::db::{Applied, Database, Failed, WriteSet, read};
use crate::error::{Error, Result};
use crate::pipeline;
use crate::plan::{self, Plan, multi};
use crate::spec::compiled::Compiled;
use crate::state::CurrentState;

/// The resources planned together, parents first, with their plans.
pub struct Planned {
    pub specs: Vec<Compiled>,
    pub plans: Vec<Plan>,
}

impl Planned {
    pub fn has_changes(&self) -> bool {
        self.plans.iter().any(Plan::has_changes)
    }

    pub fn has_writes(&self) -> bool {
        self.plans.iter().any(Plan::has_writes)
    }
}

/// Loads every spec of the list; with `strict` (`--strict`), invalid values are errors.
pub fn load(paths: &[std::path::PathBuf], strict: bool) -> Result<Vec<Compiled>> {
    paths
        .iter()
        .map(|p| {
            let mut spec = crate::spec::load::load(p)?;
            spec.strict |= strict;
            Ok(spec)
        })
        .collect()
}

/// The database URL of a folder: as for one spec, the first spec of the folder deciding.
/// Specs naming different databases cannot be applied in one transaction.
pub fn database_url(args: &DbArgs, specs: &[Compiled]) -> Result<String> {
    if let Some(other) = specs.iter().find(|s| s.database != specs[0].database) {
        return Err(Error::Plan {
            message: format!(
                "{} and {} name different databases; the resources of a folder are written \
                 in one transaction, to one database",
                specs[0].file.display(),
                other.file.display()
            ),
            help: Some("give them the same `database:` (or none), or pass --database".into()),
        });
    }
    super::database_url(args, &specs[0])
}

/// Whether the specs must be planned as a group: several of them, `--target`, or a spec that
/// references or depends on another resource (which then names what is missing).
pub fn needs_group(specs: &[Compiled], targets: &[String]) -> bool {
    specs.len() > 1
        || !targets.is_empty()
        || specs
            .iter()
            .any(|s| !crate::plan::multi::dependencies(s).is_empty())
}

/// Prints Terraform's warning when only part of the specs is planned.
pub fn warn_targets(targets: &[String]) {
    if !targets.is_empty() {
        eprintln!(
            "Warning: resource targeting is in effect ({}).\n\n  The plan may be incomplete: \
             only the targeted resources and records, and the resources they depend on, are \
             planned. Use --target for exceptional cases such as recovering from errors, not \
             routinely.\n",
            targets.join(", ")
        );
    }
}

/// Plans the specs against the database, parents first, writing nothing.
pub fn plan_all(
    specs: Vec<Compiled>,
    url: &str,
    options: plan::Options,
    targets: &[String],
) -> Result<Planned> {
    for (i, a) in specs.iter().enumerate() {
        if let Some(b) = specs[i + 1..]
            .iter()
            .find(|b| b.table.eq_ignore_ascii_case(&a.table))
        {
            return Err(Error::Plan {
                message: format!(
                    "{} (resource `{}`) and {} (resource `{}`) both target table {:?}; two                      resources on one table would adopt each other's rows and undo each                      other's changes",
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
    let order = multi::order(&specs)?;
    let wanted = multi::targets(&specs, targets)?;
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
    let mut reads: Vec<CurrentState> = Vec::new();
    let mut plans: Vec<Plan> = Vec::new();
    let db = rt.block_on(Database::open_read(url))?;
    for (spec, keys) in &ordered {
        let mut resolved = pipeline::resolve(spec)?;
        {
            let planned: Vec<(&Compiled, &Plan)> =
                ordered.iter().map(|(s, _)| s).zip(plans.iter()).collect();
            multi::resolve_references(spec, &mut resolved.desired, &planned)?;
        }
        let mut current = rt.block_on(read::read(&db, spec))?;
        {
            let parents: Vec<(&str, &CurrentState)> = ordered
                .iter()
                .map(|(s, _)| s.resource.as_str())
                .zip(reads.iter())
                .collect();
            multi::map_current(spec, &mut current, &parents);
        }
        let mut plan = plan::plan_with(spec, &resolved, &current, options);
        crate::db::check::check(spec, &current, &plan, db.dialect.engine)?;
        plan::guard::check(spec, &resolved, &current, &plan, options)?;
        if let Some(keys) = keys {
            multi::keep_addresses(&mut plan, keys);
        }
        plans.push(plan);
        reads.push(current);
    }
    rt.block_on(db.close());
    Ok(Planned {
        specs: ordered.into_iter().map(|(s, _)| s).collect(),
        plans,
    })
}

/// Applies the plans in one transaction holding every table's lock.
pub fn apply_all(planned: &Planned, url: &str, lock_timeout: Duration) -> Result<Applied> {
    let rt = runtime()?;
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
    rt.block_on(async {
        let db = Database::open_write(url).await?;
        let result = crate::db::apply(&db, &sets, &locks).await;
        db.close().await;
        result
    })
    .map_err(|f| failed(f, &planned.plans))
}

/// The error of an apply that wrote nothing; for a stale plan, what changed since it was made.
pub fn failed(f: Failed, plans: &[Plan]) -> Error {
    match f {
        Failed::Stale { index, current } => plan::file::stale_error(&plans[index], &current),
        Failed::Error(e) => e,
    }
}
