//! Guards against plans that would lose data: a source that suddenly yields nothing, any
//! delete under `prevent_destroy`, and more deletes than `max_delete` allows. A guarded plan
//! is an error before anything is shown as approvable or written.

use crate::db::read::CurrentState;
use crate::error::{Error, Result};
use crate::pipeline::Resolved;
use crate::spec::compiled::Compiled;

use super::{Action, Options, Plan, Reason};

/// The addresses of a few changes, for messages.
fn some_addresses<'a>(plan: &Plan, changes: impl Iterator<Item = &'a super::Change>) -> String {
    let all: Vec<String> = changes.map(|c| plan.address(&c.address)).collect();
    let shown = all.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if all.len() > 5 {
        format!("{shown} and {} more", all.len() - 5)
    } else {
        shown
    }
}

/// Refuses a plan that one of the guards stops.
pub fn check(
    spec: &Compiled,
    resolved: &Resolved,
    current: &CurrentState,
    plan: &Plan,
    options: Options,
) -> Result<()> {
    // A source that yields nothing while rows built from it are managed is far more likely a
    // truncated export or a wrong path than a wish to delete everything.
    if !options.allow_mass_delete {
        for (i, source) in spec.sources.iter().enumerate() {
            let read = resolved.kept.get(i).map_or(0, Vec::len)
                + resolved.excluded.iter().filter(|e| e.source == i).count();
            let prefix = format!("{}:", source.name);
            let managed = current
                .state
                .iter()
                .filter(|s| s.members.iter().any(|m| m.starts_with(&prefix)))
                .count();
            if read == 0 && managed > 0 {
                return Err(Error::Plan {
                    message: format!(
                        "source `{}` ({}) yielded no records, but {} managed rows were built from it",
                        source.name,
                        crate::source::describe(source),
                        managed
                    ),
                    help: Some(
                        "check the file and its `records` pointer; if the source is empty on \
                         purpose, pass --allow-mass-delete"
                            .into(),
                    ),
                });
            }
        }
    }

    let deletes = || plan.changes.iter().filter(|c| c.action == Action::Delete);
    let hard = || deletes().filter(|c| c.reason == Reason::Missing);
    if spec.prevent_destroy && hard().next().is_some() {
        return Err(Error::Plan {
            message: format!(
                "the spec sets `prevent_destroy: true`, but this plan would delete {}: {}",
                crate::error::plural(hard().count(), "row"),
                some_addresses(plan, hard())
            ),
            help: Some(
                "bring the records back into a source, or set `on_missing: keep` (or \
                 `soft_delete`), or remove `prevent_destroy`"
                    .into(),
            ),
        });
    }

    let count = deletes().count();
    let limit = spec.max_delete.rows(plan.rows_read);
    if count > limit && !options.allow_mass_delete {
        return Err(Error::Plan {
            message: format!(
                "this plan would delete {count} of {} rows, more than `max_delete` allows ({}, \
                 here {limit}): {}",
                plan.rows_read,
                spec.max_delete,
                some_addresses(plan, deletes())
            ),
            help: Some(
                "review the sources; if these deletes are intended, pass --allow-mass-delete \
                 or raise `max_delete` in the spec"
                    .into(),
            ),
        });
    }
    Ok(())
}
