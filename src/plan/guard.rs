//! Guards against plans that would lose data: a source that suddenly yields nothing, any
//! delete under `prevent_destroy`, and more deletes than `max_delete` allows. A guarded plan
//! is an error before anything is shown as approvable or written.

use crate::error::{Error, Result};
use crate::pipeline::Resolved;
use crate::spec::compiled::Compiled;
use crate::state::CurrentState;

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

/// "delete", "replace" or "delete or replace", as the changes counted hold.
fn verb<'a>(changes: impl Iterator<Item = &'a super::Change>) -> &'static str {
    let (mut delete, mut replace) = (false, false);
    for c in changes {
        delete |= c.action == Action::Delete;
        replace |= c.replaces;
    }
    match (delete, replace) {
        (true, true) => "delete or replace",
        (false, true) => "replace",
        _ => "delete",
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

    unique_keys(spec, current, plan)?;

    // An update that replaces everything a row is known by destroys that row's entity as
    // surely as a delete does: the delete guards count it.
    let deletes = || {
        plan.changes
            .iter()
            .filter(|c| c.action == Action::Delete || c.replaces)
    };
    let hard = || deletes().filter(|c| c.reason != Reason::MissingSoft);
    if spec.prevent_destroy && hard().next().is_some() {
        return Err(Error::Plan {
            message: format!(
                "the spec sets `prevent_destroy: true`, but this plan would {} {}: {}",
                verb(hard()),
                crate::error::plural(hard().count(), "row"),
                some_addresses(plan, hard())
            ),
            help: Some(if hard().all(|c| c.replaces) {
                "check that each source's `id:` still names the same records, or remove \
                 `prevent_destroy`"
                    .into()
            } else {
                "bring the records back into a source, or set `on_missing: keep` (or \
                 `soft_delete`), or remove `prevent_destroy`"
                    .into()
            }),
        });
    }

    let count = deletes().count();
    if count == 0 || options.allow_mass_delete {
        return Ok(());
    }
    let managed = deletable(spec, current);
    let limit = spec.max_delete.rows(managed);
    let help = Some(
        "review the sources; if these deletes are intended, pass --allow-mass-delete or raise \
         `max_delete` in the spec"
            .into(),
    );
    if count >= managed && managed > 1 && !spec.max_delete.allows_all() {
        return Err(Error::Plan {
            message: format!(
                "this plan would {} every row `{}` manages ({count} of {managed}): {}",
                verb(deletes()),
                spec.resource,
                some_addresses(plan, deletes())
            ),
            help: Some(
                "a plan emptying the table is refused whatever `max_delete` says (unless it is \
                 \"100%\"); review the sources, and if this is intended, pass \
                 --allow-mass-delete"
                    .into(),
            ),
        });
    }
    if count > limit {
        return Err(Error::Plan {
            message: format!(
                "this plan would {} {count} of the {managed} rows `{}` manages, more than \
                 `max_delete` allows ({}: here {limit}): {}",
                verb(deletes()),
                spec.resource,
                spec.max_delete,
                some_addresses(plan, deletes())
            ),
            help,
        });
    }
    Ok(())
}

/// Two golden records with one natural key would make two rows the key cannot tell apart.
/// The records up to date that the plan counts without listing keep the key their row holds.
fn unique_keys(spec: &Compiled, current: &CurrentState, plan: &Plan) -> Result<()> {
    let Some(k) = spec.key else {
        return Ok(());
    };
    // Who holds a key: a change, or the row of a record up to date the plan does not list.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Holder {
        Change(usize),
        Row(usize),
    }
    let value_of = |h: Holder| match h {
        Holder::Change(i) => &plan.changes[i].after.as_ref().expect("a holder has values")[k],
        Holder::Row(r) => &current.rows[r].values[k],
    };
    let mut by_key: crate::collections::HashMap<&crate::value::Value, Vec<Holder>> =
        crate::collections::HashMap::default();
    for (i, c) in plan.changes.iter().enumerate() {
        if let (Action::Create | Action::Update | Action::NoOp, Some(after)) = (c.action, &c.after)
            && !after[k].is_null()
        {
            by_key.entry(&after[k]).or_default().push(Holder::Change(i));
        }
    }
    for &r in &plan.unlisted_rows {
        if let Some(row) = current.rows.get(r)
            && !row.values[k].is_null()
        {
            by_key
                .entry(&row.values[k])
                .or_default()
                .push(Holder::Row(r));
        }
    }
    let mut clashes: Vec<&Vec<Holder>> = by_key.values().filter(|v| v.len() > 1).collect();
    if clashes.is_empty() {
        return Ok(());
    }
    clashes.sort();
    let describe = |h: Holder| match h {
        Holder::Change(i) => {
            let c = &plan.changes[i];
            let members: Vec<String> = c.members.iter().map(ToString::to_string).collect();
            format!("{} (from {})", plan.address(&c.address), members.join(", "))
        }
        Holder::Row(r) => {
            let key = crate::state::key_text(&current.rows[r].key);
            match current.state.iter().find(|s| s.row_key == key) {
                Some(s) => format!(
                    "{} (from {})",
                    plan.address(&s.address),
                    s.members.join(", ")
                ),
                None => format!("the row {} = {key}", spec.primary_key),
            }
        }
    };
    let key = &plan.fields[k].0;
    let lines: Vec<String> = clashes
        .iter()
        .take(10)
        .map(|group| {
            let who: Vec<String> = group.iter().map(|&h| describe(h)).collect();
            let value = if plan.sensitive.get(k).copied().unwrap_or(false) {
                "the same value".to_string()
            } else {
                format!("{key} = {}", value_of(group[0]))
            };
            format!("{value}: {}", who.join(" and "))
        })
        .collect();
    let more = clashes.len().saturating_sub(10);
    Err(Error::Plan {
        message: format!(
            "`target.key` ({key}) must be unique, but {} golden records share a key:\n  - {}{}",
            clashes.iter().map(|g| g.len()).sum::<usize>(),
            lines.join("\n  - "),
            if more > 0 {
                format!("\n  - and {more} more keys")
            } else {
                String::new()
            }
        ),
        help: Some(
            "if they are one entity, link them with `match.same`; if not, correct the key in a \
             source or exclude one; nothing was written"
                .into(),
        ),
    })
}

/// The rows a plan could delete: those the resource manages, and with `owns_table` every
/// row of the table. `max_delete` is judged against them.
fn deletable(spec: &Compiled, current: &CurrentState) -> usize {
    if spec.owns_table {
        return current.rows.len();
    }
    let rows: crate::collections::HashSet<String> = current
        .rows
        .iter()
        .map(|r| crate::state::key_text(&r.key))
        .collect();
    current
        .state
        .iter()
        .filter(|s| rows.contains(&s.row_key))
        .count()
}

/// Refuses to apply replacements (updates that change everything a row is known by) unless
/// they were confirmed with `--allow-replace`.
pub fn check_replacements(plans: &[&Plan], allowed: bool) -> Result<()> {
    if allowed {
        return Ok(());
    }
    let replaced: Vec<String> = plans
        .iter()
        .flat_map(|p| {
            p.changes
                .iter()
                .filter(|c| c.replaces)
                .map(|c| p.address(&c.address))
        })
        .collect();
    if replaced.is_empty() {
        return Ok(());
    }
    let shown = replaced
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::Plan {
        message: format!(
            "this plan would replace everything {} known by ({shown}{}): every compared field \
             changes, which is more often a record taking over another's row than an edit",
            if replaced.len() == 1 {
                "1 row is".to_string()
            } else {
                format!("{} rows are", replaced.len())
            },
            if replaced.len() > 5 {
                format!(" and {} more", replaced.len() - 5)
            } else {
                String::new()
            }
        ),
        help: Some(
            "check that each source's `id:` still names the same records; if the changes are \
             intended, apply with --allow-replace (nothing was written)"
                .into(),
        ),
    })
}
